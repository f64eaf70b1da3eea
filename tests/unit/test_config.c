/* test_config.c - config loading: a full valid config resolved field by
 * field, one case per kind of error (exact path and line, message), the
 * JSON line index, file loading and reference counting. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alias.h"
#include "config.h"
#include "json_lines.h"
#include "router.h"
#include "unit.h"

/* The documents below are laid out line by line, as their line numbers matter. */
/* clang-format off */
/* Building blocks: a valid document is DOC(""), line by line:
 *   1 {
 *   2   "listen": ...
 *   3   "routes": ...
 *   4   (the inserted line, when there is one)
 *   4/5 "functions": ...
 * so each case below knows the line of what it breaks. */
#define H(url) "{\"type\": \"http\", \"url\": \"" url "\"}"
#define L_LISTEN "  \"listen\": [{\"address\": \"127.0.0.1:8080\"}],\n"
#define L_ROUTES "  \"routes\": [{\"route\": \"GET /a\", \"target\": \"f:1\"}],\n"
#define FUNCS_F "{\"f\": {\"versions\": {\"1\": {\"handler\": " H("http://127.0.0.1:9001") "}}}}"
#define L_FUNCS "  \"functions\": " FUNCS_F "\n"

/* A valid document with one more top-level line (line 4, ending in ","). */
#define DOC(line4) "{\n" L_LISTEN L_ROUTES line4 L_FUNCS "}\n"
/* The listen array on line 2. */
#define DOC_LISTEN(x) "{\n  \"listen\": " x ",\n" L_ROUTES L_FUNCS "}\n"
/* The routes array on line 3. */
#define DOC_ROUTES(x) "{\n" L_LISTEN "  \"routes\": " x ",\n" L_FUNCS "}\n"
/* The functions object from line 4 on. */
#define DOC_FUNCS(x) "{\n" L_LISTEN L_ROUTES "  \"functions\": " x "\n}\n"
/* Function f with versions 1 and 2 on line 5 and the given aliases on 6. */
#define DOC_ALIASES(x)                                                                        \
    DOC_FUNCS("{\"f\": {\n"                                                                   \
              "    \"versions\": {\"1\": {\"handler\": " H("http://127.0.0.1:9001") "}, "      \
              "\"2\": {\"handler\": " H("http://127.0.0.1:9002") "}},\n"                       \
              "    \"aliases\": " x "\n"                                                      \
              "  }}")
/* Function f's version 1 (line 4) with the given handler. */
#define DOC_HANDLER(h) DOC_FUNCS("{\"f\": {\"versions\": {\"1\": {\"handler\": " h "}}}}")
#define DOC_URL(u) DOC_HANDLER(H(u))

struct err_case {
    const char *name;
    const char *json;
    const char *path; /* of the (first) error */
    int line;
    const char *msg;  /* a substring of its message */
    size_t nerr;      /* how many errors the document has */
};

static const struct err_case err_cases[] = {
    /* unknown keys */
    { "unknown top-level key", DOC("  \"extra\": true,\n"), "extra", 4,
      "unknown key \"extra\"", 1 },
    { "unknown key in limits", DOC("  \"limits\": {\"max_header_byte\": 2048},\n"),
      "limits.max_header_byte", 4, "unknown key \"max_header_byte\"", 1 },
    { "unknown key in log", DOC("  \"log\": {\"format\": \"json\"},\n"), "log.format", 4,
      "unknown key \"format\"", 1 },
    { "unknown key in a route",
      DOC_ROUTES("[{\"route\": \"GET /a\", \"target\": \"f:1\", \"authorizer\": \"users\"}]"),
      "routes[0].authorizer", 3, "unknown key \"authorizer\"", 1 },
    { "unknown key in a version",
      DOC_FUNCS("{\"f\": {\"versions\": {\"1\": {\"handler\": " H("http://127.0.0.1:9001")
                ", \"payload\": \"2.0\"}}}}"),
      "functions.f.versions.1.payload", 4, "unknown key \"payload\"", 1 },
    { "unknown key in a handler",
      DOC_HANDLER("{\"type\": \"http\", \"url\": \"http://127.0.0.1:1\", \"file\": \"x\"}"),
      "functions.f.versions.1.handler.file", 4, "unknown key \"file\"", 1 },
    { "unknown key in an alias", DOC_ALIASES("{\"live\": {\"version\": \"1\", \"pins\": []}}"),
      "functions.f.aliases.live.pins", 6, "unknown key \"pins\"", 1 },
    { "unknown key with a dot", DOC("  \"log.level\": \"info\",\n"), "[\"log.level\"]", 4,
      "unknown key \"log.level\"", 1 },
    { "tls listener", DOC_LISTEN("[{\"address\": \"127.0.0.1:8443\", \"tls\": {}}]"),
      "listen[0].tls", 2, "TLS listeners are not supported yet", 1 },

    /* wrong types */
    { "workers as a string", DOC("  \"workers\": \"4\",\n"), "workers", 4,
      "expected an integer, not a string", 1 },
    { "workers as a real", DOC("  \"workers\": 1.5,\n"), "workers", 4,
      "expected an integer, not a number with a fraction", 1 },
    { "listen as an object", DOC_LISTEN("{}"), "listen", 2, "expected an array, not an object", 1 },
    { "listen entry as a string", DOC_LISTEN("[\"127.0.0.1:80\"]"), "listen[0]", 2,
      "expected an object, not a string", 1 },
    { "address as a number", DOC_LISTEN("[{\"address\": 8080}]"), "listen[0].address", 2,
      "expected a string, not an integer", 1 },
    { "limits as an array", DOC("  \"limits\": [],\n"), "limits", 4,
      "expected an object, not an array", 1 },
    { "log level as a number", DOC("  \"log\": {\"level\": 3},\n"), "log.level", 4,
      "expected a string", 1 },
    { "functions as an array", DOC_FUNCS("[]"), "functions", 4, "expected an object",
      2 /* and routes[0].target names an unknown function */ },
    { "routes as an object", DOC_ROUTES("{}"), "routes", 3, "expected an array", 1 },
    { "route as null", DOC_ROUTES("[null]"), "routes[0]", 3, "expected an object, not null", 1 },
    { "target as a boolean", DOC_ROUTES("[{\"route\": \"GET /a\", \"target\": true}]"),
      "routes[0].target", 3, "expected a string, not a boolean", 1 },
    { "handler as a string", DOC_HANDLER("\"http\""), "functions.f.versions.1.handler", 4,
      "expected an object", 1 },
    { "weight as a string",
      DOC_ALIASES("{\"live\": {\"version\": \"1\", \"weights\": {\"2\": \"0.1\"}}}"),
      "functions.f.aliases.live.weights.2", 6, "expected a number, not a string", 1 },

    /* missing required keys */
    { "no listen", "{\n" L_ROUTES L_FUNCS "}\n", "listen", 1,
      "missing required key \"listen\"", 1 },
    { "no functions", "{\n" L_LISTEN "  \"routes\": []\n}\n", "functions", 1,
      "missing required key \"functions\"", 1 },
    { "no routes", "{\n" L_LISTEN L_FUNCS "}\n", "routes", 1,
      "missing required key \"routes\"", 1 },
    { "no address", DOC_LISTEN("[{}]"), "listen[0].address", 2,
      "missing required key \"address\"", 1 },
    { "no versions", DOC_FUNCS("{\"f\": {\"timeout_ms\": 10}}"), "functions.f.versions", 4,
      "missing required key \"versions\"",
      2 /* and routes[0].target names a version f lacks */ },
    { "no handler", DOC_FUNCS("{\"f\": {\"versions\": {\"1\": {}}}}"),
      "functions.f.versions.1.handler", 4, "missing required key \"handler\"", 1 },
    { "no handler type", DOC_HANDLER("{\"url\": \"http://127.0.0.1:1\"}"),
      "functions.f.versions.1.handler.type", 4, "missing required key \"type\"", 1 },
    { "no url", DOC_HANDLER("{\"type\": \"http\"}"), "functions.f.versions.1.handler.url", 4,
      "missing required key \"url\"", 1 },
    { "no alias version", DOC_ALIASES("{\"live\": {}}"), "functions.f.aliases.live.version", 6,
      "missing required key \"version\"", 1 },
    { "no route", DOC_ROUTES("[{\"target\": \"f:1\"}]"), "routes[0].route", 3,
      "missing required key \"route\"", 1 },
    { "no target", DOC_ROUTES("[{\"route\": \"GET /a\"}]"), "routes[0].target", 3,
      "missing required key \"target\"", 1 },
    { "empty listen", DOC_LISTEN("[]"), "listen", 2, "at least one", 1 },
    { "empty versions", DOC_FUNCS("{\"f\": {\"versions\": {}}}"), "functions.f.versions", 4,
      "at least one version",
      2 /* and routes[0].target names a version f lacks */ },

    /* out of range */
    { "workers too many", DOC("  \"workers\": 257,\n"), "workers", 4,
      "must be between 0 and 256, not 257", 1 },
    { "workers negative", DOC("  \"workers\": -1,\n"), "workers", 4,
      "must be between 0 and 256", 1 },
    { "header limit too small", DOC("  \"limits\": {\"max_header_bytes\": 1023},\n"),
      "limits.max_header_bytes", 4, "must be between 1024 and 1048576", 1 },
    { "body limit too big", DOC("  \"limits\": {\"max_body_bytes\": 1099511627777},\n"),
      "limits.max_body_bytes", 4, "must be between 0 and 1099511627776", 1 },
    { "idle timeout too big", DOC("  \"limits\": {\"idle_timeout_ms\": 86400001},\n"),
      "limits.idle_timeout_ms", 4, "must be between 100 and 86400000", 1 },
    { "no connections", DOC("  \"limits\": {\"max_connections\": 0},\n"),
      "limits.max_connections", 4, "must be between 1 and 1000000", 1 },
    { "function timeout zero",
      DOC_FUNCS("{\"f\": {\"timeout_ms\": 0, \"versions\": {\"1\": {\"handler\": "
                H("http://127.0.0.1:1") "}}}}"),
      "functions.f.timeout_ms", 4, "must be between 1 and 900000", 1 },
    { "version memory too big",
      DOC_FUNCS("{\"f\": {\"versions\": {\"1\": {\"memory_mb\": 10241, \"handler\": "
                H("http://127.0.0.1:1") "}}}}"),
      "functions.f.versions.1.memory_mb", 4, "must be between 1 and 10240", 1 },
    { "route timeout too big",
      DOC_ROUTES("[{\"route\": \"GET /a\", \"target\": \"f:1\", \"timeout_ms\": 900001}]"),
      "routes[0].timeout_ms", 3, "must be between 0 and 900000", 1 },
    { "bad log level", DOC("  \"log\": {\"level\": \"verbose\"},\n"), "log.level", 4,
      "expected one of \"error\", \"warn\", \"info\", \"debug\"", 1 },
    { "error log off", DOC("  \"log\": {\"error\": \"off\"},\n"), "log.error", 4,
      "cannot be \"off\"", 1 },

    /* names */
    { "bad function name",
      DOC_FUNCS("{\"a b\": {\"versions\": {\"1\": {\"handler\": " H("http://127.0.0.1:1") "}}},"
                " \"f\": {\"versions\": {\"1\": {\"handler\": " H("http://127.0.0.1:1") "}}}}"),
      "functions.a b", 4, "invalid function name \"a b\"", 1 },
    { "bad version name",
      DOC_FUNCS("{\"f\": {\"versions\": {\"1\": {\"handler\": " H("http://127.0.0.1:1") "},"
                " \"01\": {\"handler\": " H("http://127.0.0.1:1") "}}}}"),
      "functions.f.versions.01", 4, "invalid version name \"01\"", 1 },
    { "alias name like a version", DOC_ALIASES("{\"2x\": {\"version\": \"1\"}}"),
      "functions.f.aliases.2x", 6, "invalid alias name \"2x\"", 1 },

    /* dangling targets */
    { "unknown function", DOC_ROUTES("[{\"route\": \"GET /a\", \"target\": \"g:1\"}]"),
      "routes[0].target", 3, "unknown function \"g\"", 1 },
    { "unknown alias", DOC_ROUTES("[{\"route\": \"GET /a\", \"target\": \"f:live\"}]"),
      "routes[0].target", 3, "function \"f\" has no alias \"live\"", 1 },
    { "unknown version", DOC_ROUTES("[{\"route\": \"GET /a\", \"target\": \"f:2\"}]"),
      "routes[0].target", 3, "function \"f\" has no version \"2\"", 1 },
    { "no $LATEST", DOC_ROUTES("[{\"route\": \"GET /a\", \"target\": \"f:$LATEST\"}]"),
      "routes[0].target", 3, "function \"f\" has no version \"$LATEST\"", 1 },
    { "target without a colon", DOC_ROUTES("[{\"route\": \"GET /a\", \"target\": \"f\"}]"),
      "routes[0].target", 3, "expected \"function:alias\"", 1 },
    { "alias to an unknown version", DOC_ALIASES("{\"live\": {\"version\": \"3\"}}"),
      "functions.f.aliases.live.version", 6, "function \"f\" has no version \"3\"", 1 },

    /* weights */
    { "weight for an unknown version",
      DOC_ALIASES("{\"live\": {\"version\": \"1\", \"weights\": {\"9\": 0.1}}}"),
      "functions.f.aliases.live.weights.9", 6, "function \"f\" has no version \"9\"", 1 },
    { "weight below 0", DOC_ALIASES("{\"live\": {\"version\": \"1\", \"weights\": {\"2\": -0.1}}}"),
      "functions.f.aliases.live.weights.2", 6, "must be between 0 and 1, not -0.1", 1 },
    { "weight above 1", DOC_ALIASES("{\"live\": {\"version\": \"1\", \"weights\": {\"2\": 1.5}}}"),
      "functions.f.aliases.live.weights.2", 6, "must be between 0 and 1, not 1.5", 1 },
    { "weights over 1",
      DOC_FUNCS("{\"f\": {\n"
                "    \"versions\": {\"1\": {\"handler\": " H("http://127.0.0.1:1") "}, \"2\": "
                "{\"handler\": " H("http://127.0.0.1:2") "}, \"3\": {\"handler\": "
                H("http://127.0.0.1:3") "}},\n"
                "    \"aliases\": {\"live\": {\"version\": \"1\",\n"
                "      \"weights\": {\"2\": 0.6, \"3\": 0.5}}}\n"
                "  }}"),
      "functions.f.aliases.live.weights", 7, "weights sum to 1.1, more than 1", 1 },
    { "$LATEST with a weight",
      DOC_FUNCS("{\"f\": {\n"
                "    \"versions\": {\"1\": {\"handler\": " H("http://127.0.0.1:1") "},"
                " \"$LATEST\": {\"handler\": " H("http://127.0.0.1:2") "}},\n"
                "    \"aliases\": {\"live\": {\"version\": \"1\","
                " \"weights\": {\"$LATEST\": 0.1}}}\n"
                "  }}"),
      "functions.f.aliases.live.weights.$LATEST", 6, "\"$LATEST\" cannot carry a weight", 1 },
    { "primary in weights",
      DOC_ALIASES("{\"live\": {\"version\": \"1\", \"weights\": {\"1\": 0.1, \"2\": 0.1}}}"),
      "functions.f.aliases.live.weights.1", 6, "primary version", 1 },

    /* routes */
    { "duplicate route",
      DOC_ROUTES("[{\"route\": \"GET /o/{id}\", \"target\": \"f:1\"},\n"
                 "    {\"route\": \"GET /o/{key}\", \"target\": \"f:1\"}]"),
      "routes[1].route", 4, "duplicate route: routes[0] is already \"GET /o/{id}\"", 1 },
    { "malformed template", DOC_ROUTES("[{\"route\": \"GET /a/{b\", \"target\": \"f:1\"}]"),
      "routes[0].route", 3, "invalid route \"GET /a/{b\"", 1 },
    { "template without a slash", DOC_ROUTES("[{\"route\": \"GET a\", \"target\": \"f:1\"}]"),
      "routes[0].route", 3, "invalid route", 1 },
    { "lower-case method", DOC_ROUTES("[{\"route\": \"get /a\", \"target\": \"f:1\"}]"),
      "routes[0].route", 3, "invalid method \"get\"", 1 },
    { "no space in route", DOC_ROUTES("[{\"route\": \"GET/a\", \"target\": \"f:1\"}]"),
      "routes[0].route", 3, "expected \"METHOD /path\"", 1 },

    /* listen addresses */
    { "listen without port", DOC_LISTEN("[{\"address\": \"127.0.0.1\"}]"), "listen[0].address",
      2, "missing \":port\"", 1 },
    { "listen port 0", DOC_LISTEN("[{\"address\": \"127.0.0.1:0\"}]"), "listen[0].address", 2,
      "port must be a number from 1 to 65535", 1 },
    { "listen port too big", DOC_LISTEN("[{\"address\": \"*:65536\"}]"), "listen[0].address", 2,
      "port must be a number from 1 to 65535", 1 },
    { "listen v6 without brackets", DOC_LISTEN("[{\"address\": \"::1:8080\"}]"),
      "listen[0].address", 2, "brackets", 1 },
    { "listen v4 in brackets", DOC_LISTEN("[{\"address\": \"[127.0.0.1]:8080\"}]"),
      "listen[0].address", 2, "\"127.0.0.1\" is not an IPv6 address", 1 },
    { "listen name that does not resolve",
      DOC_LISTEN("[{\"address\": \"no-such-host.invalid:8080\"}]"), "listen[0].address", 2,
      "cannot resolve \"no-such-host.invalid\"", 1 },
    { "duplicate listen",
      DOC_LISTEN("[{\"address\": \"127.0.0.1:8080\"},\n"
                 "    {\"address\": \"127.0.0.1:08080\"}]"),
      "listen[1].address", 3, "duplicate listen address (same as listen[0])", 1 },

    /* upstream urls and handler types */
    { "url with another scheme", DOC_URL("ftp://127.0.0.1/"), "functions.f.versions.1.handler.url",
      4, "invalid url \"ftp://127.0.0.1/\": expected \"http://host[:port][/path]\"", 1 },
    { "https url", DOC_URL("https://127.0.0.1/"), "functions.f.versions.1.handler.url", 4,
      "https upstreams are not supported yet", 1 },
    { "url with user info", DOC_URL("http://u:p@127.0.0.1/"), "functions.f.versions.1.handler.url",
      4, "user info", 1 },
    { "url with a query", DOC_URL("http://127.0.0.1/a?b=1"), "functions.f.versions.1.handler.url",
      4, "query", 1 },
    { "url with a fragment", DOC_URL("http://127.0.0.1/a#b"), "functions.f.versions.1.handler.url",
      4, "fragment", 1 },
    { "url without host", DOC_URL("http:///a"), "functions.f.versions.1.handler.url", 4,
      "empty host", 1 },
    { "url with bad port", DOC_URL("http://127.0.0.1:99999"), "functions.f.versions.1.handler.url",
      4, "port must be a number", 1 },
    { "url host that does not resolve", DOC_URL("http://no-such-host.invalid:81"),
      "functions.f.versions.1.handler.url", 4, "cannot resolve \"no-such-host.invalid\"", 1 },
    { "lua handler", DOC_HANDLER("{\"type\": \"lua\", \"file\": \"lua/h.lua\"}"),
      "functions.f.versions.1.handler.type", 4, "handler type \"lua\" is not supported yet", 1 },
    { "invoke handler", DOC_HANDLER("{\"type\": \"invoke\"}"),
      "functions.f.versions.1.handler.type", 4, "handler type \"invoke\" is not supported yet", 1 },
    { "unknown handler type", DOC_HANDLER("{\"type\": \"grpc\"}"),
      "functions.f.versions.1.handler.type", 4, "unknown handler type \"grpc\"", 1 },

    /* JSON itself */
    { "syntax error", "{\n  \"listen\": [\n    ,\n  ]\n}\n", "", 3, "unexpected token", 1 },
    { "duplicate key", "{\n" L_LISTEN L_ROUTES L_FUNCS ",\n  \"listen\": []\n}\n", "", 6,
      "duplicate object key", 1 },
    { "not an object", "[1, 2]", "", 1, "expected an object, not an array", 1 },
    { "empty text", "", "", 1, "expected", 1 },
};

/* Weights summing to 1 in decimal but a hair above it in binary. */
static const char weights_doc[] =
    DOC_FUNCS("{\"f\": {\"versions\": {"
              "\"1\": {\"handler\": " H("http://127.0.0.1:1") "}, "
              "\"2\": {\"handler\": " H("http://127.0.0.1:2") "}, "
              "\"3\": {\"handler\": " H("http://127.0.0.1:3") "}, "
              "\"4\": {\"handler\": " H("http://127.0.0.1:4") "}},\n"
              "  \"aliases\": {\"live\": {\"version\": \"1\","
              " \"weights\": {\"2\": 0.33, \"3\": 0.56, \"4\": 0.11}}}}}");

static const char many_errors_doc[] =
    "{\n"
    /* line 2: a bad port, an unknown key, a missing address */
    "  \"listen\": [{\"address\": \"127.0.0.1:70000\"}, {\"addr\": \"x\"}],\n"
    "  \"workers\": 1000,\n"                                /* 3: out of range */
    "  \"limits\": {\"max_uri_bytes\": 1, \"bogus\": 1},\n" /* 4: two */
    "  \"functions\": {\n"
    "    \"f\": {\"versions\": {\"1\": {\"handler\": {\"type\": \"lua\"}},\n" /* 6 */
    "      \"2\": {\"handler\": {\"type\": \"http\", \"url\": \"https://x\"}}},\n" /* 7 */
    /* line 8: a weight above 1, an unknown version */
    "      \"aliases\": {\"a\": {\"version\": \"1\", \"weights\": {\"2\": 2, \"7\": 0.1}}}}\n"
    "  },\n"
    "  \"routes\": [{\"route\": \"GET /a\", \"target\": \"g:1\"},\n" /* 10: no g */
    "             {\"route\": \"GET /a\", \"target\": \"f:a\"}]\n" /* 11: duplicate */
    "}\n";

static const char json_lines_doc[] =
    "{\n"
    "  \"a\": {\"b\": [10,\n"
    "               {\"c\": true}],\n"
    "         \"x.y\": 1, \"q\\\"\": 2, \"\\u0041\\n\": 3},\n"
    "  \"d\":\n"
    "    \"s\\\"[]{}\",\n"
    "  \"e\": [], \"f\": {}\n"
    "}\n";

/* clang-format on */

static const struct config_error *error_at(const struct config_errors *errs, const char *path)
{
    for (size_t i = 0; i < errs->n; i++)
        if (strcmp(errs->v[i].path, path) == 0)
            return &errs->v[i];
    return NULL;
}

static void dump_errors(const char *name, const struct config_errors *errs)
{
    fprintf(stderr, "  errors for \"%s\":\n", name);
    for (size_t i = 0; i < errs->n; i++)
        fprintf(stderr, "    %d: %s: %s\n", errs->v[i].line, errs->v[i].path, errs->v[i].message);
}

static void test_error_cases(void)
{
    for (size_t i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++) {
        const struct err_case *ec = &err_cases[i];
        struct config_errors errs = { 0 };
        struct config *c = config_load_string(ec->json, "test.json", &errs);
        const struct config_error *e = error_at(&errs, ec->path);
        size_t want = ec->nerr;
        int before = unit_failures;

        CHECKF(c == NULL, "%s: the config loaded", ec->name);
        config_unref(c);
        CHECKF(errs.n == want, "%s: %zu errors, expected %zu", ec->name, errs.n, want);
        CHECKF(e != NULL, "%s: no error at path \"%s\"", ec->name, ec->path);
        if (e) {
            CHECKF(e->line == ec->line, "%s: line %d, expected %d", ec->name, e->line, ec->line);
            CHECKF(strstr(e->message, ec->msg) != NULL, "%s: message \"%s\" lacks \"%s\"", ec->name,
                   e->message, ec->msg);
            CHECK_STR(e->file, "test.json");
        }
        if (unit_failures != before)
            dump_errors(ec->name, &errs);
        config_errors_clear(&errs);
    }
}

/* clang-format off */
static const char full_config[] =
    "{\n"
    "  \"listen\": [ { \"address\": \"127.0.0.1:8080\" },\n"
    "              { \"address\": \"[::1]:8081\" },\n"
    "              { \"address\": \"*:8082\" } ],\n"
    "  \"workers\": 4,\n"
    "  \"limits\": { \"max_header_bytes\": 32768, \"max_body_bytes\": 1099511627776,\n"
    "              \"idle_timeout_ms\": 5000 },\n"
    "  \"log\": { \"access\": \"off\", \"level\": \"debug\" },\n"
    "  \"functions\": {\n"
    "    \"orders\": {\n"
    "      \"timeout_ms\": 3000, \"memory_mb\": 256,\n"
    "      \"versions\": {\n"
    "        \"1\": { \"handler\": { \"type\": \"http\", \"url\": \"http://127.0.0.1:9001\" } },\n"
    "        \"2\": { \"handler\": { \"type\": \"http\", \"url\": \"http://127.0.0.1/v2/api/\" },\n"
    "               \"timeout_ms\": 500, \"max_concurrency\": 7 },\n"
    "        \"$LATEST\": { \"handler\": { \"type\": \"http\",\n"
    "                                   \"url\": \"http://[::1]:9003/x\" } }\n"
    "      },\n"
    "      \"aliases\": {\n"
    "        \"live\": { \"version\": \"1\", \"weights\": { \"2\": 0.25 } },\n"
    "        \"beta\": { \"version\": \"$LATEST\" }\n"
    "      }\n"
    "    },\n"
    "    \"hello\": { \"versions\": { \"1\": { \"handler\": { \"type\": \"http\",\n"
    "                                   \"url\": \"http://localhost:3002/\" } } } }\n"
    "  },\n"
    "  \"routes\": [\n"
    "    { \"route\": \"GET /orders/{id}\", \"target\": \"orders:live\" },\n"
    "    { \"route\": \"ANY /hello/{proxy+}\", \"target\": \"hello:1\", \"timeout_ms\": 5000 },\n"
    "    { \"route\": \"POST /orders\", \"target\": \"orders:$LATEST\" },\n"
    "    { \"route\": \"GET /orders/{id}/beta\", \"target\": \"orders:beta\" }\n"
    "  ]\n"
    "}\n";

/* clang-format on */

static void test_full_config(void)
{
    struct config_errors errs = { 0 };
    struct config *c = config_load_string(full_config, "full.json", &errs);
    const struct function *orders, *hello;
    const struct fn_version *v1, *v2, *latest;
    const struct alias *live, *beta;
    const struct sockaddr_in *sin;
    const struct sockaddr_in6 *sin6;
    struct router_match m;

    CHECK(c != NULL);
    CHECK_INT(errs.n, 0);
    if (!c) {
        dump_errors("full config", &errs);
        config_errors_clear(&errs);
        return;
    }
    CHECK_INT(atomic_load(&c->refs), 1);
    CHECK_STR(c->path, "full.json");

    CHECK_INT(c->nlisten, 3);
    CHECK_STR(c->listen[0].address, "127.0.0.1:8080");
    sin = (const struct sockaddr_in *)&c->listen[0].addr;
    CHECK_INT(sin->sin_family, AF_INET);
    CHECK_INT(ntohs(sin->sin_port), 8080);
    CHECK_INT(ntohl(sin->sin_addr.s_addr), INADDR_LOOPBACK);
    CHECK_INT(c->listen[0].addrlen, sizeof(struct sockaddr_in));
    sin6 = (const struct sockaddr_in6 *)&c->listen[1].addr;
    CHECK_INT(sin6->sin6_family, AF_INET6);
    CHECK_INT(ntohs(sin6->sin6_port), 8081);
    CHECK(memcmp(&sin6->sin6_addr, &in6addr_loopback, sizeof(in6addr_loopback)) == 0);
    /* "*" is every address: the wildcard of whichever family comes first. */
    CHECK(c->listen[2].addr.ss_family == AF_INET || c->listen[2].addr.ss_family == AF_INET6);
    if (c->listen[2].addr.ss_family == AF_INET) {
        sin = (const struct sockaddr_in *)&c->listen[2].addr;
        CHECK_INT(ntohl(sin->sin_addr.s_addr), INADDR_ANY);
        CHECK_INT(ntohs(sin->sin_port), 8082);
    }

    CHECK_INT(c->workers, 4);
    CHECK_INT(c->limits.max_header_bytes, 32768);
    CHECK_INT(c->limits.max_uri_bytes, CONFIG_DEFAULT_MAX_URI_BYTES);
    CHECK_INT(c->limits.max_body_bytes, 1ull << 40);
    CHECK_INT(c->limits.header_timeout_ms, CONFIG_DEFAULT_HEADER_TIMEOUT_MS);
    CHECK_INT(c->limits.body_timeout_ms, CONFIG_DEFAULT_BODY_TIMEOUT_MS);
    CHECK_INT(c->limits.idle_timeout_ms, 5000);
    CHECK_INT(c->limits.max_connections, CONFIG_DEFAULT_MAX_CONNECTIONS);
    CHECK_INT(c->limits.shutdown_timeout_ms, CONFIG_DEFAULT_SHUTDOWN_TIMEOUT_MS);
    CHECK_STR(c->log.access, "off");
    CHECK_STR(c->log.error, "stderr");
    CHECK_INT(c->log.level, LOG_LEVEL_DEBUG);

    CHECK_INT(c->nfunctions, 2);
    orders = config_function(c, "orders");
    hello = config_function(c, "hello");
    CHECK(orders != NULL && hello != NULL);
    CHECK(config_function(c, "nope") == NULL);
    if (!orders || !hello)
        goto out;
    CHECK_INT(orders->timeout_ms, 3000);
    CHECK_INT(orders->memory_mb, 256);
    CHECK_INT(orders->max_concurrency, 0);
    CHECK_INT(hello->timeout_ms, CONFIG_DEFAULT_TIMEOUT_MS);
    CHECK_INT(hello->memory_mb, CONFIG_DEFAULT_MEMORY_MB);
    CHECK_INT(orders->nversions, 3);
    v1 = function_version(orders, "1");
    v2 = function_version(orders, "2");
    latest = function_version(orders, "$LATEST");
    CHECK(v1 && v2 && latest);
    CHECK(function_version(orders, "3") == NULL);
    if (!v1 || !v2 || !latest)
        goto out;
    CHECK(v1->fn == orders);
    CHECK_INT(v1->kind, HANDLER_HTTP);
    /* Settings are the function's unless the version has its own. */
    CHECK_INT(v1->timeout_ms, 3000);
    CHECK_INT(v1->memory_mb, 256);
    CHECK_INT(v2->timeout_ms, 500);
    CHECK_INT(v2->memory_mb, 256);
    CHECK_INT(v2->max_concurrency, 7);

    CHECK_STR(v1->http.url, "http://127.0.0.1:9001");
    CHECK_STR(v1->http.host, "127.0.0.1");
    CHECK_STR(v1->http.authority, "127.0.0.1:9001");
    CHECK_STR(v1->http.base_path, "");
    CHECK_INT(v1->http.port, 9001);
    sin = (const struct sockaddr_in *)&v1->http.addr;
    CHECK_INT(sin->sin_family, AF_INET);
    CHECK_INT(ntohs(sin->sin_port), 9001);
    CHECK_INT(v1->http.addrlen, sizeof(struct sockaddr_in));
    CHECK_STR(v2->http.authority, "127.0.0.1");
    CHECK_STR(v2->http.base_path, "/v2/api");
    CHECK_INT(v2->http.port, 80);
    CHECK_STR(latest->http.host, "::1");
    CHECK_STR(latest->http.authority, "[::1]:9003");
    CHECK_STR(latest->http.base_path, "/x");
    CHECK_INT(latest->http.addr.ss_family, AF_INET6);
    CHECK_STR(hello->versions[0].http.host, "localhost");
    CHECK_STR(hello->versions[0].http.authority, "localhost:3002");
    CHECK_STR(hello->versions[0].http.base_path, "");
    CHECK(hello->versions[0].http.addrlen > 0);

    CHECK_INT(orders->naliases, 2);
    live = function_alias(orders, "live");
    beta = function_alias(orders, "beta");
    CHECK(live && beta);
    CHECK(function_alias(orders, "gamma") == NULL);
    if (!live || !beta)
        goto out;
    CHECK(live->fn == orders);
    CHECK(live->primary == v1);
    CHECK_INT(live->nweights, 1);
    CHECK(live->weights[0].version == v2);
    CHECK(live->weights[0].weight == 0.25);
    /* The pick table is built: extras first, the primary last. */
    CHECK_INT(live->npick, 2);
    CHECK(live->pick_version && live->pick_version[1] == v1);
    CHECK(alias_pick(live, 0) == v2);
    CHECK(alias_pick(live, UINT64_MAX) == v1);
    CHECK(beta->primary == latest);
    CHECK_INT(beta->npick, 1);

    CHECK_INT(c->nroutes, 4);
    CHECK_STR(c->routes[0].spec, "GET /orders/{id}");
    CHECK_STR(c->routes[0].method, "GET");
    CHECK_STR(c->routes[0].tmpl, "/orders/{id}");
    CHECK_STR(c->routes[0].target, "orders:live");
    CHECK(c->routes[0].fn == orders);
    CHECK(c->routes[0].alias == live);
    CHECK(c->routes[0].version == NULL);
    CHECK_INT(c->routes[0].timeout_ms, 0);
    CHECK(c->routes[1].fn == hello);
    CHECK(c->routes[1].alias == NULL);
    CHECK(c->routes[1].version == &hello->versions[0]);
    CHECK_INT(c->routes[1].timeout_ms, 5000);
    CHECK_INT(c->routes[1].index, 1);
    CHECK(c->routes[2].version == latest);
    CHECK(c->routes[3].alias == beta);

    CHECK(c->router != NULL);
    CHECK_INT(router_count(c->router), 4);
    CHECK_INT(router_match(c->router, SLICE_LIT("GET"), SLICE_LIT("/orders/42"), &m, NULL, 0),
              ROUTER_FOUND);
    CHECK(m.data == &c->routes[0]);
    CHECK_INT(router_match(c->router, SLICE_LIT("DELETE"), SLICE_LIT("/hello/a/b"), &m, NULL, 0),
              ROUTER_FOUND);
    CHECK(m.data == &c->routes[1]);
    CHECK_INT(router_match(c->router, SLICE_LIT("POST"), SLICE_LIT("/orders"), &m, NULL, 0),
              ROUTER_FOUND);
    CHECK(m.data == &c->routes[2]);
out:
    config_unref(c);
    config_errors_clear(&errs);
}

/* A minimal config takes every default. */
static void test_defaults(void)
{
    struct config_errors errs = { 0 };
    struct config *c = config_load_string(DOC(""), "min.json", &errs);

    CHECK(c != NULL);
    if (!c) {
        dump_errors("defaults", &errs);
        config_errors_clear(&errs);
        return;
    }
    CHECK_INT(c->workers, 0);
    CHECK_INT(c->limits.max_header_bytes, CONFIG_DEFAULT_MAX_HEADER_BYTES);
    CHECK_INT(c->limits.max_body_bytes, CONFIG_DEFAULT_MAX_BODY_BYTES);
    CHECK_INT(c->limits.idle_timeout_ms, CONFIG_DEFAULT_IDLE_TIMEOUT_MS);
    CHECK_STR(c->log.access, "stdout");
    CHECK_STR(c->log.error, "stderr");
    CHECK_INT(c->log.level, LOG_LEVEL_INFO);
    CHECK_INT(c->functions[0].naliases, 0);
    CHECK_INT(c->functions[0].versions[0].timeout_ms, CONFIG_DEFAULT_TIMEOUT_MS);
    CHECK_INT(c->functions[0].versions[0].memory_mb, CONFIG_DEFAULT_MEMORY_MB);
    CHECK_INT(c->functions[0].versions[0].max_concurrency, 0);
    CHECK_INT(router_count(c->router), 1);
    config_unref(c);
}

/* Weights summing to 1 in decimal but a hair above it in binary pass. */
static void test_weights_sum_to_one(void)
{
    struct config_errors errs = { 0 };
    struct config *c = config_load_string(weights_doc, "sum.json", &errs);

    CHECK(0.33 + 0.56 + 0.11 > 1.0); /* in the order the weights are summed */
    CHECK(c != NULL);
    if (!c) {
        dump_errors("weights sum to one", &errs);
        config_errors_clear(&errs);
        return;
    }
    CHECK_INT(c->functions[0].aliases[0].nweights, 3);
    CHECK_INT(c->functions[0].aliases[0].npick, 4);
    config_unref(c);
}

/* Every problem in one file is reported, in file order. */
static void test_many_errors(void)
{
    static const int lines[] = { 2, 2, 2, 3, 4, 4, 6, 7, 8, 8, 10, 11 };
    struct config_errors errs = { 0 };
    struct config *c = config_load_string(many_errors_doc, "many.json", &errs);
    int before = unit_failures;

    CHECK(c == NULL);
    CHECK_INT(errs.n, sizeof(lines) / sizeof(lines[0]));
    for (size_t i = 0; i < errs.n && i < sizeof(lines) / sizeof(lines[0]); i++)
        CHECKF(errs.v[i].line == lines[i], "error %zu (%s: %s) on line %d, expected %d", i,
               errs.v[i].path, errs.v[i].message, errs.v[i].line, lines[i]);
    CHECK(error_at(&errs, "listen[0].address") != NULL);
    CHECK(error_at(&errs, "listen[1].addr") != NULL);
    CHECK(error_at(&errs, "listen[1].address") != NULL);
    CHECK(error_at(&errs, "limits.bogus") != NULL);
    CHECK(error_at(&errs, "functions.f.aliases.a.weights.7") != NULL);
    CHECK(error_at(&errs, "routes[1].route") != NULL);
    if (unit_failures != before)
        dump_errors("many", &errs);
    config_errors_clear(&errs);
}

/* Errors append to what errs already holds; the printed form. */
static void test_errors_print(void)
{
    struct config_errors errs = { 0 };
    char *out = NULL;
    size_t outlen = 0;
    FILE *f;

    CHECK(config_load_string(DOC("  \"workers\": 300,\n"), "a.json", &errs) == NULL);
    CHECK(config_load_string("{\n  \"listen\": [,]\n}", "b.json", &errs) == NULL);
    CHECK(config_load("/nonexistent/dir/sluice.json", &errs) == NULL);
    CHECK_INT(errs.n, 3);
    f = open_memstream(&out, &outlen);
    CHECK(f != NULL);
    if (f) {
        config_errors_print(f, &errs);
        fclose(f);
        CHECK_STR(out, "a.json:4: workers: must be between 0 and 256, not 300\n"
                       "b.json:2: unexpected token near ','\n"
                       "/nonexistent/dir/sluice.json: cannot open: No such file or directory\n");
        free(out);
    }
    config_errors_clear(&errs);
    CHECK_INT(errs.n, 0);
    CHECK(errs.v == NULL);
}

static void test_load_file(void)
{
    char path[] = "/tmp/test_config_XXXXXX";
    struct config_errors errs = { 0 };
    struct config *c;
    int fd = mkstemp(path);
    static const char text[] = DOC("  \"workers\": 2,\n");

    CHECK(fd >= 0);
    if (fd < 0)
        return;
    CHECK(write(fd, text, sizeof(text) - 1) == (ssize_t)(sizeof(text) - 1));
    c = config_load(path, &errs);
    CHECK(c != NULL);
    if (c) {
        CHECK_STR(c->path, path);
        CHECK_INT(c->workers, 2);
    }
    config_unref(c);

    /* Over the size cap: refused before parsing. */
    CHECK(ftruncate(fd, (16 << 20) + 1) == 0);
    CHECK(config_load(path, &errs) == NULL);
    CHECK_INT(errs.n, 1);
    if (errs.n == 1) {
        CHECK_STR(errs.v[0].file, path);
        CHECK(strstr(errs.v[0].message, "larger than 16 MiB") != NULL);
    }
    config_errors_clear(&errs);
    close(fd);
    unlink(path);

    CHECK(config_load("/nonexistent/sluice.json", &errs) == NULL);
    CHECK_INT(errs.n, 1);
    if (errs.n == 1) {
        CHECK_STR(errs.v[0].file, "/nonexistent/sluice.json");
        CHECK_INT(errs.v[0].line, 0);
        CHECK(strstr(errs.v[0].message, "No such file") != NULL);
    }
    config_errors_clear(&errs);
}

/* Run under ASan: a leak or a double free fails the run. */
static void test_refcount(void)
{
    struct config_errors errs = { 0 };
    struct config *c = config_load_string(DOC(""), "ref.json", &errs);

    CHECK(c != NULL);
    if (!c)
        return;
    CHECK(config_ref(c) == c);
    CHECK_INT(atomic_load(&c->refs), 2);
    config_unref(c);
    CHECK_INT(atomic_load(&c->refs), 1);
    config_unref(c);
    config_unref(NULL);
}

static void test_json_lines(void)
{
    struct json_lines *jl = json_lines_build(json_lines_doc, sizeof(json_lines_doc) - 1);
    struct json_lines_path p = { 0 };
    size_t m1, m2;

    CHECK(jl != NULL);
    CHECK_INT(json_lines_count(jl), 12);
    CHECK_INT(json_lines_line(jl, ""), 1);
    CHECK_INT(json_lines_line(jl, "a"), 2);
    CHECK_INT(json_lines_line(jl, "a.b"), 2);
    CHECK_INT(json_lines_line(jl, "a.b[0]"), 2);
    CHECK_INT(json_lines_line(jl, "a.b[1]"), 3);
    CHECK_INT(json_lines_line(jl, "a.b[1].c"), 3);
    CHECK_INT(json_lines_line(jl, "a[\"x.y\"]"), 4);
    CHECK_INT(json_lines_line(jl, "a[\"q\\\"\"]"), 4);
    CHECK_INT(json_lines_line(jl, "a[\"A\\n\"]"), 4);
    CHECK_INT(json_lines_line(jl, "d"), 5); /* a member is on its key's line */
    CHECK_INT(json_lines_line(jl, "e"), 7);
    CHECK_INT(json_lines_line(jl, "f"), 7);
    /* Missing: the nearest ancestor that exists. */
    CHECK_INT(json_lines_line(jl, "a.b[1].zz"), 3);
    CHECK_INT(json_lines_line(jl, "a.b[7].c"), 2);
    CHECK_INT(json_lines_line(jl, "f.g.h"), 7);
    CHECK_INT(json_lines_line(jl, "nope"), 1);
    CHECK_INT(json_lines_line(jl, "a.b[x"), 2);
    CHECK_INT(json_lines_line(NULL, "a"), 0);
    json_lines_free(jl);
    json_lines_free(NULL);

    /* The builder writes what the index reads. */
    json_lines_path_key(&p, "functions");
    m1 = json_lines_path_key(&p, "a.b");
    m2 = json_lines_path_index(&p, 12);
    json_lines_path_key(&p, "$LATEST");
    json_lines_path_key(&p, "q\"\x01");
    CHECK_STR(json_lines_path_str(&p), "functions[\"a.b\"][12].$LATEST[\"q\\\"\\u0001\"]");
    json_lines_path_cut(&p, m2);
    CHECK_STR(json_lines_path_str(&p), "functions[\"a.b\"]");
    json_lines_path_cut(&p, m1);
    json_lines_path_key(&p, "");
    CHECK_STR(json_lines_path_str(&p), "functions[\"\"]");
    json_lines_path_release(&p);
    CHECK_STR(json_lines_path_str(&p), "");
    CHECK_INT(json_lines_path_index(&p, 0), 0);
    CHECK_STR(json_lines_path_str(&p), "[0]");
    json_lines_path_release(&p);

    /* Malformed text: what came before the fault is kept. */
    jl = json_lines_build("{\"a\": 1,\n \"b\": [1, @", strlen("{\"a\": 1,\n \"b\": [1, @"));
    CHECK(jl != NULL);
    CHECK_INT(json_lines_line(jl, "b"), 2);
    json_lines_free(jl);
    jl = json_lines_build("", 0);
    CHECK_INT(json_lines_count(jl), 0);
    CHECK_INT(json_lines_line(jl, "a"), 0);
    json_lines_free(jl);
}

int main(void)
{
    test_json_lines();
    test_full_config();
    test_defaults();
    test_error_cases();
    test_weights_sum_to_one();
    test_many_errors();
    test_errors_print();
    test_load_file();
    test_refcount();
    return unit_done("test_config");
}
