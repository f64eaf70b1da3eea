/* replay.c - main() for a fuzz target without libFuzzer: runs
 * LLVMFuzzerTestOneInput over every file of the directories (or files)
 * named on the command line, or of FUZZ_CORPUS (compiled in by the
 * Makefile) when there are none. This is how `make check` replays the
 * committed corpora with gcc, in the normal and the sanitizer builds.
 *
 * Each input is handed over in a buffer of exactly its size, as libFuzzer
 * does, so AddressSanitizer sees a read one byte past it. Files are run in
 * name order; a directory with no file is an error (a corpus that went
 * missing must not pass silently). Exits 0 when every input ran; a finding
 * aborts the process (FUZZ_CHECK, or a sanitizer report). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* The target may define it (libFuzzer calls it once before any input). */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t cap = 0, len = 0;

    if (!f) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    for (;;) {
        size_t got;
        if (len == cap) {
            unsigned char *nb;
            cap = cap ? cap * 2 : 4096;
            nb = realloc(buf, cap);
            if (!nb) {
                fprintf(stderr, "replay: %s: out of memory\n", path);
                free(buf);
                fclose(f);
                return -1;
            }
            buf = nb;
        }
        got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        fprintf(stderr, "replay: %s: read error\n", path);
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    /* An exact-size copy: no slack after the input for a bad read to hit. */
    {
        unsigned char *exact = malloc(len ? len : 1);
        if (!exact) {
            free(buf);
            return -1;
        }
        if (len)
            memcpy(exact, buf, len);
        free(buf);
        LLVMFuzzerTestOneInput(exact, len);
        free(exact);
    }
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file of dir (not recursive). Returns the number run,
 * or -1 on an error. */
static long run_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, cap = 0;
    long ran = 0;

    if (!d) {
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            char **nn;
            cap = cap ? cap * 2 : 64;
            nn = realloc(names, cap * sizeof(*names));
            if (!nn)
                break;
            names = nn;
        }
        if (!(names[n] = strdup(e->d_name)))
            break;
        n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof(*names), cmp_names);
    for (size_t i = 0; i < n; i++) {
        size_t plen = strlen(dir) + strlen(names[i]) + 2;
        char *path = malloc(plen);
        struct stat st;

        if (path) {
            snprintf(path, plen, "%s/%s", dir, names[i]);
            if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                if (run_file(path) < 0)
                    ran = -1;
                else if (ran >= 0)
                    ran++;
            }
            free(path);
        }
        free(names[i]);
    }
    free(names);
    return ran;
}

int main(int argc, char **argv)
{
#ifdef FUZZ_CORPUS
    char *deflt[] = { argv[0], (char *)FUZZ_CORPUS, NULL };
#endif
    int failed = 0;
    long total = 0;

    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    if (argc < 2) {
#ifdef FUZZ_CORPUS
        argc = 2;
        argv = deflt;
#else
        fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
        return 2;
#endif
    }
    for (int i = 1; i < argc; i++) {
        struct stat st;
        long n;

        if (stat(argv[i], &st) < 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            failed = 1;
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            n = run_dir(argv[i]);
            if (n == 0)
                fprintf(stderr, "replay: %s: no input in it\n", argv[i]);
            if (n <= 0)
                failed = 1;
            else
                total += n;
        } else if (run_file(argv[i]) < 0) {
            failed = 1;
        } else {
            total++;
        }
        printf("replay: %s\n", argv[i]);
    }
    printf("replay: %ld input(s) ran%s\n", total, failed ? ", with errors" : "");
    return failed ? 1 : 0;
}
