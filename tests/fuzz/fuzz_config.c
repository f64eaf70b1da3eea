/* fuzz_config.c - config loading (config_load_string) on fuzzed JSON.
 *
 * Input: the text of a config file. It is loaded, and then:
 *   - a config comes back exactly when no error was reported, with its
 *     router holding every route;
 *   - a refusal carries at least one error, each with a message;
 *   - errors print (to /dev/null) and free, the config unrefs, nothing leaks.
 *
 * What a config reads from outside is made harmless and deterministic:
 *   - addresses: getaddrinfo() is replaced (in this program only) by one
 *     that takes numeric addresses and "localhost" only, so no input ever
 *     makes a DNS query;
 *   - files: the seeds name files under FUZZ_FILES_DIR, written at start-up
 *     (an RSA public key, a JWKS document, an HMAC secret);
 *   - the environment: SLUICE_FUZZ_HS_SECRET holds a secret for
 *     "secret_env" keys. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <dlfcn.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "fuzz.h"
#include "fuzz_keys.h"
#include "router.h"

#define FUZZ_FILES_DIR "/tmp/sluice-fuzz-config"

typedef int (*gai_fn)(const char *, const char *, const struct addrinfo *, struct addrinfo **);

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                struct addrinfo **res)
{
    static gai_fn real;
    struct addrinfo h;

    if (!real) {
        void *sym = dlsym(RTLD_NEXT, "getaddrinfo");
        if (!sym)
            return EAI_FAIL;
        memcpy(&real, &sym, sizeof(real));
    }
    memset(&h, 0, sizeof(h));
    if (hints)
        h = *hints;
    if (node && strcmp(node, "localhost") == 0)
        node = "127.0.0.1";
    h.ai_flags |= AI_NUMERICHOST; /* never a name lookup */
    return real(node, service, &h, res);
}

static const char rsa_pub_pem[] = FUZZ_RSA_PUB_PEM;
static const char jwks_json[] = FUZZ_JWKS_JSON;
static const char hs_secret[] = FUZZ_HS_SECRET;

static FILE *devnull;

/* Writes path atomically (the same bytes every time, so two programs
 * starting at once agree). */
static void put_file(const char *name, const char *text)
{
    char path[256], tmp[300];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", FUZZ_FILES_DIR, name);
    snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
    f = fopen(tmp, "w");
    if (!f)
        return;
    fputs(text, f);
    if (fclose(f) == 0)
        rename(tmp, path);
    else
        unlink(tmp);
}

static void init(void)
{
    if (mkdir(FUZZ_FILES_DIR, 0755) < 0 && errno != EEXIST)
        fprintf(stderr, "fuzz_config: %s: %s\n", FUZZ_FILES_DIR, strerror(errno));
    put_file("rsa.pub.pem", rsa_pub_pem);
    put_file("jwks.json", jwks_json);
    put_file("hs.secret", hs_secret);
    setenv("SLUICE_FUZZ_HS_SECRET", hs_secret, 1);
    devnull = fopen("/dev/null", "w");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    struct config_errors errs = { 0 };
    struct config *c;
    char *text;

    if (!ready) {
        init();
        ready = 1;
    }
    /* config_load_string() takes a C string: the input up to a NUL */
    text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    c = config_load_string(text, "fuzz.json", &errs);
    if (c) {
        FUZZ_CHECK(errs.n == 0);
        FUZZ_CHECK(c->router && router_count(c->router) == c->nroutes);
        for (size_t i = 0; i < c->nroutes; i++)
            FUZZ_CHECK(c->routes[i].fn != NULL && c->routes[i].tmpl && c->routes[i].method);
        config_unref(config_ref(c));
        config_unref(c);
    } else {
        FUZZ_CHECK(errs.n > 0);
        for (size_t i = 0; i < errs.n; i++)
            FUZZ_CHECK(errs.v[i].message && errs.v[i].file);
        if (devnull)
            config_errors_print(devnull, &errs);
    }
    config_errors_clear(&errs);
    free(text);
    return 0;
}
