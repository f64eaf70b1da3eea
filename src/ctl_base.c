/* ctl_base.c - sluicectl's basics: the Ctrl-C flag, messages on stderr,
 * and allocation that ends the program rather than failing. */
#include "ctl_base.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

volatile sig_atomic_t interrupted;

void say(const char *fmt, ...)
{
    va_list ap;

    fputs("sluicectl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* A CLI that cannot allocate a few kilobytes can do nothing useful: one
 * clear message and out, instead of a cleanup path through every caller. */
_Noreturn void out_of_memory(void)
{
    say("out of memory");
    exit(EXIT_REFUSED);
}

char *xstrdup(const char *s)
{
    char *d = strdup(s);

    if (!d)
        out_of_memory();
    return d;
}

int same(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}
