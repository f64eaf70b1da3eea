/* fuzz_admin.c - the JSON bodies of the admin API: alias PUTs, version
 * publishing and deployment starts, run through the control plane and the
 * deployment manager as admin.c would (a fresh pair per input, on a fixed
 * config file written at start-up).
 *
 * Input: one byte choosing the call (mod 3: alias PUT with If-Match from
 * the second byte, publish, deployment start), then the body's JSON text.
 * Checks:
 *   - the answer's status is one the API documents for that call, with a
 *     body or a message;
 *   - after a 200 alias PUT the alias reads back with the version sent
 *     and a higher generation; after a refusal it is unchanged;
 *   - a snapshot is always in force, and everything frees (ASan). */
#include <event2/event.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control.h"
#include "deploy.h"
#include "fuzz.h"

#define FUZZ_DIR "/tmp/sluice-fuzz-admin"
#define FUZZ_CONFIG FUZZ_DIR "/sluice.json"

static const char config_text[] =
    "{\"listen\": [{\"address\": \"127.0.0.1:18999\"}],\n"
    " \"log\": {\"access\": \"off\"},\n"
    " \"functions\": {\"orders\": {\"versions\": {\n"
    "    \"1\": {\"handler\": {\"type\": \"http\", \"url\": \"http://127.0.0.1:9001\"}},\n"
    "    \"2\": {\"handler\": {\"type\": \"http\", \"url\": \"http://127.0.0.1:9002\"}},\n"
    "    \"$LATEST\": {\"handler\": {\"type\": \"http\", \"url\": \"http://127.0.0.1:9003\"}}},\n"
    "  \"aliases\": {\"live\": {\"version\": \"1\", \"weights\": {\"2\": 0.1}}}}},\n"
    " \"routes\": [{\"route\": \"GET /o/{id}\", \"target\": \"orders:live\"}]}\n";

static int accept_install(void *arg, struct config *cfg, int reload)
{
    (void)arg;
    (void)cfg;
    (void)reload;
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char tmp[128];
    FILE *f;

    (void)argc;
    (void)argv;
    mkdir(FUZZ_DIR, 0700);
    snprintf(tmp, sizeof(tmp), "%s.%ld", FUZZ_CONFIG, (long)getpid());
    f = fopen(tmp, "w");
    FUZZ_CHECK(f != NULL);
    fputs(config_text, f);
    FUZZ_CHECK(fclose(f) == 0);
    FUZZ_CHECK(rename(tmp, FUZZ_CONFIG) == 0);
    return 0;
}

static int status_ok(int op, int status)
{
    switch (op) {
    case 0: /* PUT alias */
        return status == 200 || status == 400 || status == 404 || status == 412;
    case 1: /* publish */
        return status == 200 || status == 201 || status == 400 || status == 404;
    default: /* deployment */
        return status == 201 || status == 400 || status == 404 || status == 409;
    }
}

static json_int_t generation(struct control *ctl)
{
    json_t *st = control_alias_state(ctl, "orders", "live");
    json_int_t g;

    FUZZ_CHECK(st != NULL);
    g = json_integer_value(json_object_get(st, "generation"));
    json_decref(st);
    return g;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config_errors errs = { 0 };
    struct control_answer a = { 0 };
    struct event_base *base;
    struct control *ctl;
    struct deploy_mgr *dm;
    json_t *body;
    json_int_t before, after;
    int op;

    if (size < 2)
        return 0;
    op = data[0] % 3;
    body = json_loadb((const char *)data + 2, size - 2, JSON_REJECT_DUPLICATES, NULL);
    if (!body)
        return 0;
    base = event_base_new();
    ctl = control_new(FUZZ_CONFIG, accept_install, NULL);
    FUZZ_CHECK(base && ctl);
    FUZZ_CHECK(control_load(ctl, &errs) != NULL);
    dm = deploy_new(base, ctl);
    FUZZ_CHECK(dm != NULL);
    before = generation(ctl);

    if (op == 0)
        control_alias_set(ctl, "orders", "live", body, data[1] % 4, &a);
    else if (op == 1)
        control_publish(ctl, "orders", body, &a);
    else
        deploy_start(dm, body, &a);

    FUZZ_CHECK(status_ok(op, a.status));
    FUZZ_CHECK(a.body != NULL || a.message[0] != '\0');
    FUZZ_CHECK(control_config(ctl) != NULL);
    after = generation(ctl);
    if (op == 0 && a.status == 200) {
        json_t *st = control_alias_state(ctl, "orders", "live");
        FUZZ_CHECK(json_equal(json_object_get(st, "version"), json_object_get(body, "version")));
        FUZZ_CHECK(after >= before);
        json_decref(st);
    } else if (op == 0) {
        FUZZ_CHECK(after == before);
    }
    json_decref(a.body);
    json_decref(body);
    deploy_free(dm);
    control_free(ctl);
    config_errors_clear(&errs);
    event_base_free(base);
    return 0;
}
