/* ctl_base.h - what every part of sluicectl (the admin API's command-line
 * client) shares: the exit codes, the context a command runs in, the
 * Ctrl-C flag, and messages on stderr. */
#ifndef SLUICE_CTL_BASE_H
#define SLUICE_CTL_BASE_H

#include <signal.h>

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

enum {
    EXIT_DONE = 0,
    EXIT_REFUSED = 1,
    EXIT_USAGE = 2,
    EXIT_UNREACHABLE = 3,
    EXIT_INTERRUPTED = 130, /* the shell's convention for SIGINT */
};

/* Everything a command needs: where the admin API is, how to talk to it,
 * how to print. Filled in once by main(). */
struct ctl {
    const char *url;    /* the admin URL as given, for messages */
    char host[256];     /* for getaddrinfo(): IPv6 without brackets */
    char hostport[300]; /* for the Host header: brackets kept */
    char port[8];
    char base[256]; /* path prefix from the URL: "" or "/prefix" */
    char *token;    /* bearer token, or NULL */
    int json;       /* --json: print the server's JSON as is */
    int tty;        /* stdout is a terminal we may redraw */
    int utf8;       /* the terminal takes UTF-8 (arrows, bars) */
    char err[512];  /* why the last request got no answer */
};

/* Set by the SIGINT handler while a deployment is watched; requests and
 * sleeps give up as soon as it is set. */
extern volatile sig_atomic_t interrupted;

/* Prints "sluicectl: " and the formatted message, with a newline, to
 * stderr. Cannot fail in a way the caller could act on. */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Says "out of memory" and exits with EXIT_REFUSED: a CLI that cannot
 * allocate a few kilobytes can do nothing useful. Never returns. */
_Noreturn void out_of_memory(void);

/* strdup(s); the copy is the caller's to free. Never returns NULL (out of
 * memory exits). */
char *xstrdup(const char *s);

/* 1 when a and b are both set and equal, else 0 (NULL matches nothing). */
int same(const char *a, const char *b);

#endif
