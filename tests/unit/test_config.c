/* test_config.c - config loading: a full valid config resolved field by
 * field, one case per kind of error (exact path and line, message), the
 * JSON line index, file loading and reference counting. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alias.h"
#include "config.h"
#include "json_lines.h"
#include "jose.h"
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
/* A jwt authorizer "a" on line 4 with the given keys. */
#define JWKS_URL "\"jwks_url\": \"https://issuer.test/jwks.json\""
#define DOC_AUTHZ(body) DOC("  \"authorizers\": {\"a\": {\"type\": \"jwt\", " body "}},\n")
/* A valid secret key: SLUICE_TEST_HS_SECRET is set by main(). */
#define HS_KEY(extra) "{\"secret_env\": \"SLUICE_TEST_HS_SECRET\", \"algorithms\": [\"HS256\"]" extra "}"
#define DOC_KEYS(keys) DOC_AUTHZ("\"keys\": [" keys "]")
/* Authorizers on line 3, routes on line 4. */
#define DOC_AUTH_ROUTES(auth, routes)                                                         \
    "{\n" L_LISTEN "  \"authorizers\": " auth ",\n  \"routes\": " routes ",\n" L_FUNCS "}\n"
#define AUTH_A "{\"a\": {\"type\": \"jwt\", " JWKS_URL "}}"
#define DOC_REDIS(body) DOC("  \"redis\": " body ",\n")

/* An invoke handler with the given members ("\"key\": value, ..."). */
#define INV(members) "{\"type\": \"invoke\", " members "}"
#define INV_EP(u) "{\"type\": \"invoke\", \"endpoint\": \"" u "\", \"function_name\": \"f\"}"
#define INV_FN(n)                                                                             \
    "{\"type\": \"invoke\", \"endpoint\": \"http://127.0.0.1:3002\", \"function_name\": \"" n "\"}"
/* 170 characters: the longest function name. */
#define S10 "abcdefghij"
#define S170 S10 S10 S10 S10 S10 S10 S10 S10 S10 S10 S10 S10 S10 S10 S10 S10 S10

struct err_case {
    const char *name;
    const char *json;
    const char *path; /* of the (first) error */
    int line;
    const char *msg;  /* a substring of its message */
    size_t nerr;      /* how many errors the document has */
};

static const struct err_case err_cases[] = {
    /* admin and state_file */
    { "admin on all addresses without a token", DOC("  \"admin\": {\"address\": \"0.0.0.0:9901\"},\n"),
      "admin.token_file", 4, "needs a token_file", 1 },
    { "admin address", DOC("  \"admin\": {\"address\": \"127.0.0.1:99999\"},\n"),
      "admin.address", 4, "invalid address", 1 },
    { "admin without address", DOC("  \"admin\": {},\n"), "admin.address", 4, "", 1 },
    { "admin unknown key", DOC("  \"admin\": {\"address\": \"127.0.0.1:1\", \"tokn\": 1},\n"),
      "admin.tokn", 4, "unknown key", 1 },
    { "empty state_file", DOC("  \"state_file\": \"\",\n"), "state_file", 4, "expected a path", 1 },
    { "token file missing", DOC("  \"admin\": {\"address\": \"127.0.0.1:1\", "
                                "\"token_file\": \"/nonexistent/sluice.token\"},\n"),
      "admin.token_file", 4, "cannot read token file", 1 },
    /* unknown keys */
    { "unknown top-level key", DOC("  \"extra\": true,\n"), "extra", 4,
      "unknown key \"extra\"", 1 },
    { "unknown key in limits", DOC("  \"limits\": {\"max_header_byte\": 2048},\n"),
      "limits.max_header_byte", 4, "unknown key \"max_header_byte\"", 1 },
    { "unknown key in log", DOC("  \"log\": {\"format\": \"json\"},\n"), "log.format", 4,
      "unknown key \"format\"", 1 },
    { "unknown key in a route",
      DOC_ROUTES("[{\"route\": \"GET /a\", \"target\": \"f:1\", \"rate_limit\": 10}]"),
      "routes[0].rate_limit", 3, "unknown key \"rate_limit\"", 1 },
    { "unknown key in a version",
      DOC_FUNCS("{\"f\": {\"versions\": {\"1\": {\"handler\": " H("http://127.0.0.1:9001")
                ", \"payload\": \"2.0\"}}}}"),
      "functions.f.versions.1.payload", 4, "unknown key \"payload\"", 1 },
    { "unknown key in a handler",
      DOC_HANDLER("{\"type\": \"http\", \"url\": \"http://127.0.0.1:1\", \"file\": \"x\"}"),
      "functions.f.versions.1.handler.file", 4, "unknown key \"file\"", 1 },
    { "unknown key in an alias", DOC_ALIASES("{\"live\": {\"version\": \"1\", \"sticky\": []}}"),
      "functions.f.aliases.live.sticky", 6, "unknown key \"sticky\"", 1 },
    { "unknown key with a dot", DOC("  \"log.level\": \"info\",\n"), "[\"log.level\"]", 4,
      "unknown key \"log.level\"", 1 },
    { "tls listener without cert",
      DOC_LISTEN("[{\"address\": \"127.0.0.1:8443\", \"tls\": {\"key\": \"k.pem\"}}]"),
      "listen[0].tls.cert", 2, "missing required key \"cert\"", 1 },
    { "tls listener with a missing file",
      DOC_LISTEN("[{\"address\": \"127.0.0.1:8443\", \"tls\": {\"cert\": \"/nonexistent/c.pem\", "
                 "\"key\": \"/nonexistent/k.pem\"}}]"),
      "listen[0].tls", 2, "cannot load certificate /nonexistent/c.pem", 1 },

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
    { "route payload not a version",
      DOC_ROUTES("[{\"route\": \"GET /a\", \"target\": \"f:1\", \"payload\": \"3.0\"}]"),
      "routes[0].payload", 3, "expected one of \"2.0\", \"1.0\"", 1 },
    { "route payload as a number",
      DOC_ROUTES("[{\"route\": \"GET /a\", \"target\": \"f:1\", \"payload\": 2.0}]"),
      "routes[0].payload", 3, "expected a string, not a number", 1 },
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

    /* pins and sticky_by */
    { "pins as an object", DOC_ALIASES("{\"live\": {\"version\": \"1\", \"pins\": {}}}"),
      "functions.f.aliases.live.pins", 6, "expected an array, not an object", 1 },
    { "pin as a string", DOC_ALIASES("{\"live\": {\"version\": \"1\", \"pins\": [\"2\"]}}"),
      "functions.f.aliases.live.pins[0]", 6, "expected an object, not a string", 1 },
    { "pin to an unknown version",
      DOC_ALIASES("{\"live\": {\"version\": \"1\", \"pins\": [\n"
                  "      {\"when\": {\"$request.header.x-canary\": \"yes\"}, \"version\": \"2\"},\n"
                  "      {\"when\": {\"$claim.tenant\": \"acme\"}, \"version\": \"9\"}]}}"),
      "functions.f.aliases.live.pins[1].version", 8, "function \"f\" has no version \"9\"", 1 },
    { "pin without a version",
      DOC_ALIASES("{\"live\": {\"version\": \"1\", \"pins\": [{\"when\": {\"$principal\": \"u\"}}]}}"),
      "functions.f.aliases.live.pins[0].version", 6, "missing required key \"version\"", 1 },
    { "pin without when",
      DOC_ALIASES("{\"live\": {\"version\": \"1\", \"pins\": [{\"version\": \"2\"}]}}"),
      "functions.f.aliases.live.pins[0].when", 6, "missing required key \"when\"", 1 },
    { "pin with an empty when",
      DOC_ALIASES("{\"live\": {\"version\": \"1\", \"pins\": [{\"when\": {}, \"version\": \"2\"}]}}"),
      "functions.f.aliases.live.pins[0].when", 6, "expected 1 to 8 conditions", 1 },
    { "pin with when as an array",
      DOC_ALIASES("{\"live\": {\"version\": \"1\", \"pins\": [{\"when\": [], \"version\": \"2\"}]}}"),
      "functions.f.aliases.live.pins[0].when", 6, "expected an object, not an array", 1 },
    { "unknown key in a pin",
      DOC_ALIASES("{\"live\": {\"version\": \"1\", \"pins\": [{\"when\": {\"$principal\": \"u\"}, "
                  "\"version\": \"2\", \"weight\": 1}]}}"),
      "functions.f.aliases.live.pins[0].weight", 6, "unknown key \"weight\"", 1 },
    { "pin with a bad selector",
      DOC_ALIASES("{\"live\": {\"version\": \"1\", \"pins\": [{\"when\": {\"$request.body.x\": \"y\"}, "
                  "\"version\": \"2\"}]}}"),
      "functions.f.aliases.live.pins[0].when[\"$request.body.x\"]", 6,
      "invalid selector \"$request.body.x\": expected $request.header.NAME, "
      "$request.querystring.NAME, $request.cookie.NAME, $request.ip, $claim.NAME or $principal", 1 },
    { "pin on $request.ip with a name",
      DOC_ALIASES("{\"live\": {\"version\": \"1\", \"pins\": [{\"when\": {\"$request.ip.v4\": \"y\"}, "
                  "\"version\": \"2\"}]}}"),
      "functions.f.aliases.live.pins[0].when[\"$request.ip.v4\"]", 6,
      "invalid selector \"$request.ip.v4\": expected", 1 },
    { "pin on a bad header name",
      DOC_ALIASES("{\"live\": {\"version\": \"1\", \"pins\": [{\"when\": {\"$request.header.x y\": \"1\"}, "
                  "\"version\": \"2\"}]}}"),
      "functions.f.aliases.live.pins[0].when[\"$request.header.x y\"]", 6,
      "invalid selector \"$request.header.x y\": a header name is letters, digits", 1 },
    { "pin on an empty claim name",
      DOC_ALIASES("{\"live\": {\"version\": \"1\", \"pins\": [{\"when\": {\"$claim.\": \"1\"}, "
                  "\"version\": \"2\"}]}}"),
      "functions.f.aliases.live.pins[0].when[\"$claim.\"]", 6,
      "invalid selector \"$claim.\": a claim name is 1 to 256 printable characters", 1 },
    { "pin value as a number",
      DOC_ALIASES("{\"live\": {\"version\": \"1\", \"pins\": [{\"when\": {\"$request.header.x\": 1}, "
                  "\"version\": \"2\"}]}}"),
      "functions.f.aliases.live.pins[0].when[\"$request.header.x\"]", 6,
      "expected a string or an array of strings, not an integer", 1 },
    { "pin value in a list as a boolean",
      DOC_ALIASES("{\"live\": {\"version\": \"1\", \"pins\": [{\"when\": {\"$request.header.x\": "
                  "[\"a\", true]}, \"version\": \"2\"}]}}"),
      "functions.f.aliases.live.pins[0].when[\"$request.header.x\"][1]", 6,
      "expected a string, not a boolean", 1 },
    { "pin with an empty list",
      DOC_ALIASES("{\"live\": {\"version\": \"1\", \"pins\": [{\"when\": {\"$request.header.x\": []}, "
                  "\"version\": \"2\"}]}}"),
      "functions.f.aliases.live.pins[0].when[\"$request.header.x\"]", 6,
      "expected 1 to 64 values, not 0", 1 },
    { "pin selector twice",
      DOC_ALIASES("{\"live\": {\"version\": \"1\", \"pins\": [{\"when\": {\"$request.header.X-T\": \"a\", "
                  "\"$request.header.x-t\": \"b\"}, \"version\": \"2\"}]}}"),
      "functions.f.aliases.live.pins[0].when[\"$request.header.x-t\"]", 6,
      "selector \"$request.header.x-t\" is already in this pin", 1 },
    { "pin on a bad prefix length",
      DOC_ALIASES("{\"live\": {\"version\": \"1\", \"pins\": [{\"when\": {\"$request.ip\": "
                  "[\"::1/128\", \"10.0.0.0/33\"]}, \"version\": \"2\"}]}}"),
      "functions.f.aliases.live.pins[0].when[\"$request.ip\"][1]", 6,
      "invalid address or range \"10.0.0.0/33\": the prefix length after '/' must be 0 to 32", 1 },
    { "pin on a range with host bits",
      DOC_ALIASES("{\"live\": {\"version\": \"1\", \"pins\": [{\"when\": {\"$request.ip\": "
                  "\"10.1.0.0/8\"}, \"version\": \"2\"}]}}"),
      "functions.f.aliases.live.pins[0].when[\"$request.ip\"]", 6,
      "bits set past its /8 prefix", 1 },
    { "pin on something not an address",
      DOC_ALIASES("{\"live\": {\"version\": \"1\", \"pins\": [{\"when\": {\"$request.ip\": "
                  "\"localhost\"}, \"version\": \"2\"}]}}"),
      "functions.f.aliases.live.pins[0].when[\"$request.ip\"]", 6,
      "invalid address or range \"localhost\": expected an address or a range", 1 },
    { "sticky_by as a number", DOC_ALIASES("{\"live\": {\"version\": \"1\", \"sticky_by\": 5}}"),
      "functions.f.aliases.live.sticky_by", 6, "expected a string, not an integer", 1 },
    { "sticky_by a bad selector",
      DOC_ALIASES("{\"live\": {\"version\": \"1\", \"sticky_by\": \"sub\"}}"),
      "functions.f.aliases.live.sticky_by", 6,
      "invalid selector \"sub\": expected $request.header.NAME", 1 },
    { "sticky_by a bad query name",
      DOC_ALIASES("{\"live\": {\"version\": \"1\", \"sticky_by\": \"$request.querystring.a&b\"}}"),
      "functions.f.aliases.live.sticky_by", 6,
      "invalid selector \"$request.querystring.a&b\": a query parameter name is printable", 1 },

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
    { "https url, missing ca_file",
      DOC_HANDLER("{\"type\": \"http\", \"url\": \"https://127.0.0.1/\", "
                  "\"ca_file\": \"/nonexistent/ca.pem\"}"),
      "functions.f.versions.1.handler.ca_file", 4, "cannot read CA file /nonexistent/ca.pem", 1 },
    { "ca_file on an http url",
      DOC_HANDLER("{\"type\": \"http\", \"url\": \"http://127.0.0.1/\", "
                  "\"ca_file\": \"/dev/null\"}"),
      "functions.f.versions.1.handler.ca_file", 4, "a ca_file needs an https url", 1 },
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
    /* lua handlers (more with real files in test_lua_handlers) */
    { "lua without file", DOC_HANDLER("{\"type\": \"lua\"}"),
      "functions.f.versions.1.handler.file", 4, "missing required key \"file\"", 1 },
    { "lua file missing", DOC_HANDLER("{\"type\": \"lua\", \"file\": \"/nonexistent/h.lua\"}"),
      "functions.f.versions.1.handler.file", 4,
      "Lua file \"/nonexistent/h.lua\": cannot open: No such file", 1 },
    { "lua file empty path", DOC_HANDLER("{\"type\": \"lua\", \"file\": \"\"}"),
      "functions.f.versions.1.handler.file", 4, "expected the path of a Lua file", 1 },
    { "lua file as a number", DOC_HANDLER("{\"type\": \"lua\", \"file\": 1}"),
      "functions.f.versions.1.handler.file", 4, "expected a string, not an integer", 1 },
    { "lua handler name", DOC_HANDLER("{\"type\": \"lua\", \"handler\": \"on.call\", "
                                      "\"file\": \"/nonexistent/h.lua\"}"),
      "functions.f.versions.1.handler.handler", 4, "expected a Lua name", 2 },
    { "lua handler name with a digit first", DOC_HANDLER("{\"type\": \"lua\", \"handler\": \"1h\", "
                                                        "\"file\": \"/nonexistent/h.lua\"}"),
      "functions.f.versions.1.handler.handler", 4, "not starting with a digit", 2 },
    { "lua warm_states too many", DOC_HANDLER("{\"type\": \"lua\", \"warm_states\": 1025, "
                                              "\"file\": \"/nonexistent/h.lua\"}"),
      "functions.f.versions.1.handler.warm_states", 4, "must be between 0 and 1024", 2 },
    { "lua idle_s zero", DOC_HANDLER("{\"type\": \"lua\", \"idle_s\": 0, "
                                     "\"file\": \"/nonexistent/h.lua\"}"),
      "functions.f.versions.1.handler.idle_s", 4, "must be between 1 and 86400, not 0", 2 },
    { "lua unknown key", DOC_HANDLER("{\"type\": \"lua\", \"url\": \"http://x\", "
                                     "\"file\": \"/nonexistent/h.lua\"}"),
      "functions.f.versions.1.handler.url", 4, "unknown key \"url\"", 2 },
    /* invoke handlers */
    { "invoke without endpoint", DOC_HANDLER(INV("\"function_name\": \"f\"")),
      "functions.f.versions.1.handler.endpoint", 4, "missing required key \"endpoint\"", 1 },
    { "invoke without function_name", DOC_HANDLER(INV("\"endpoint\": \"http://127.0.0.1:3002\"")),
      "functions.f.versions.1.handler.function_name", 4,
      "missing required key \"function_name\"", 1 },
    { "invoke with neither", DOC_HANDLER("{\"type\": \"invoke\"}"),
      "functions.f.versions.1.handler.endpoint", 4, "missing required key \"endpoint\"", 2 },
    { "invoke endpoint https", DOC_HANDLER(INV_EP("https://127.0.0.1:3002")),
      "functions.f.versions.1.handler.endpoint", 4,
      "invalid endpoint \"https://127.0.0.1:3002\": https upstreams are not supported yet", 1 },
    { "invoke endpoint with a query", DOC_HANDLER(INV_EP("http://127.0.0.1:3002/?a=1")),
      "functions.f.versions.1.handler.endpoint", 4, "query", 1 },
    { "invoke endpoint bad port", DOC_HANDLER(INV_EP("http://127.0.0.1:0")),
      "functions.f.versions.1.handler.endpoint", 4, "invalid endpoint", 1 },
    { "invoke endpoint that does not resolve",
      DOC_HANDLER(INV_EP("http://no-such-host.invalid:3002")),
      "functions.f.versions.1.handler.endpoint", 4, "cannot resolve \"no-such-host.invalid\"", 1 },
    { "invoke endpoint not a string",
      DOC_HANDLER(INV("\"endpoint\": 3002, \"function_name\": \"f\"")),
      "functions.f.versions.1.handler.endpoint", 4, "expected a string, not an integer", 1 },
    { "invoke function_name empty", DOC_HANDLER(INV_FN("")),
      "functions.f.versions.1.handler.function_name", 4,
      "invalid function name \"\": expected 1 to 170 characters", 1 },
    { "invoke function_name with a slash", DOC_HANDLER(INV_FN("a/b")),
      "functions.f.versions.1.handler.function_name", 4, "invalid function name \"a/b\"", 1 },
    { "invoke function_name with a space", DOC_HANDLER(INV_FN("a b")),
      "functions.f.versions.1.handler.function_name", 4, "invalid function name", 1 },
    { "invoke function_name empty qualifier", DOC_HANDLER(INV_FN("hello:")),
      "functions.f.versions.1.handler.function_name", 4, "qualifier", 1 },
    { "invoke function_name two qualifiers", DOC_HANDLER(INV_FN("hello:1:2")),
      "functions.f.versions.1.handler.function_name", 4, "qualifier", 1 },
    { "invoke function_name qualifier only", DOC_HANDLER(INV_FN(":live")),
      "functions.f.versions.1.handler.function_name", 4, "before any ':'", 1 },
    { "invoke function_name too long", DOC_HANDLER(INV_FN(S170 "x")),
      "functions.f.versions.1.handler.function_name", 4, "expected 1 to 170 characters", 1 },
    { "invoke function_name not a string",
      DOC_HANDLER(INV("\"endpoint\": \"http://127.0.0.1:3002\", \"function_name\": [\"f\"]")),
      "functions.f.versions.1.handler.function_name", 4, "expected a string, not an array", 1 },
    { "invoke with a url",
      DOC_HANDLER(INV("\"url\": \"http://127.0.0.1:1\", \"endpoint\": \"http://127.0.0.1:3002\", "
                      "\"function_name\": \"f\"")),
      "functions.f.versions.1.handler.url", 4, "unknown key \"url\"", 1 },
    { "unknown handler type", DOC_HANDLER("{\"type\": \"grpc\"}"),
      "functions.f.versions.1.handler.type", 4, "unknown handler type \"grpc\"", 1 },

    /* authorizers */
    { "authorizers as an array", DOC("  \"authorizers\": [],\n"), "authorizers", 4,
      "expected an object, not an array", 1 },
    { "authorizer as a string", DOC("  \"authorizers\": {\"a\": \"jwt\"},\n"), "authorizers.a", 4,
      "expected an object, not a string", 1 },
    { "bad authorizer name", DOC("  \"authorizers\": {\"a b\": {\"type\": \"jwt\", " JWKS_URL "}},\n"),
      "authorizers.a b", 4, "invalid authorizer name \"a b\"", 1 },
    { "no authorizer type", DOC("  \"authorizers\": {\"a\": {" JWKS_URL "}},\n"),
      "authorizers.a.type", 4, "missing required key \"type\"", 1 },
    { "unknown authorizer type", DOC("  \"authorizers\": {\"a\": {\"type\": \"saml\"}},\n"),
      "authorizers.a.type", 4, "unknown authorizer type \"saml\" (expected \"jwt\", \"function\", \"lua\")", 1 },
    { "lua authorizer, missing file",
      DOC("  \"authorizers\": {\"a\": {\"type\": \"lua\", \"file\": \"lua/a.lua\"}},\n"),
      "authorizers.a.file", 4, "cannot open", 1 },
    { "lua authorizer, bad handler name",
      DOC("  \"authorizers\": {\"a\": {\"type\": \"lua\", \"file\": \"lua/a.lua\", "
          "\"handler\": \"1x\"}},\n"),
      "authorizers.a.handler", 4, "expected a Lua name", 2 },
    { "function authorizer, unknown function",
      DOC("  \"authorizers\": {\"a\": {\"type\": \"function\", \"target\": \"g:1\"}},\n"),
      "authorizers.a.target", 4, "unknown function", 1 },
    { "function authorizer, unknown version",
      DOC("  \"authorizers\": {\"a\": {\"type\": \"function\", \"target\": \"f:live\"}},\n"),
      "authorizers.a.target", 4, "has no version or alias", 1 },
    { "function authorizer, no colon",
      DOC("  \"authorizers\": {\"a\": {\"type\": \"function\", \"target\": \"f\"}},\n"),
      "authorizers.a.target", 4, "expected \"function:alias\"", 1 },
    { "function authorizer, no target",
      DOC("  \"authorizers\": {\"a\": {\"type\": \"function\"}},\n"),
      "authorizers.a.target", 4, "", 1 },
    { "function authorizer, bad event",
      DOC("  \"authorizers\": {\"a\": {\"type\": \"function\", \"target\": \"f:1\", "
          "\"event\": \"cookie\"}},\n"),
      "authorizers.a.event", 4, "", 1 },
    { "unknown key in an authorizer", DOC_AUTHZ(JWKS_URL ", \"audience\": \"x\""),
      "authorizers.a.audience", 4, "unknown key \"audience\"", 1 },
    { "no key source", DOC_AUTHZ("\"issuer\": \"https://i.test/\""), "authorizers.a", 4,
      "a jwt authorizer needs keys, jwks_file or jwks_url", 1 },
    { "bad identity source", DOC_AUTHZ(JWKS_URL ", \"identity_source\": [\"$request.body.token\"]"),
      "authorizers.a.identity_source[0]", 4,
      "invalid identity source \"$request.body.token\": expected \"$request.header.NAME\", "
      "\"$request.querystring.NAME\" or \"$request.cookie.NAME\"", 1 },
    { "identity source without a name",
      DOC_AUTHZ(JWKS_URL ", \"identity_source\": [\"$request.header.Authorization\", "
                "\"$request.cookie.\"]"),
      "authorizers.a.identity_source[1]", 4, "invalid identity source \"$request.cookie.\"", 1 },
    { "identity source twice",
      DOC_AUTHZ(JWKS_URL ", \"identity_source\": [\"$request.header.X-Key\", "
                "\"$request.header.x-key\"]"),
      "authorizers.a.identity_source[1]", 4, "listed twice", 1 },
    { "no identity source", DOC_AUTHZ(JWKS_URL ", \"identity_source\": []"),
      "authorizers.a.identity_source", 4, "expected at least one identity source", 1 },
    { "cache ttl too long", DOC_AUTHZ(JWKS_URL ", \"cache_ttl_s\": 3601"),
      "authorizers.a.cache_ttl_s", 4, "must be between 0 and 3600, not 3601", 1 },
    { "clock skew too long", DOC_AUTHZ(JWKS_URL ", \"clock_skew_s\": 601"),
      "authorizers.a.clock_skew_s", 4, "must be between 0 and 600, not 601", 1 },
    { "jwks refresh too short", DOC_AUTHZ(JWKS_URL ", \"jwks_refresh_s\": 59"),
      "authorizers.a.jwks_refresh_s", 4, "must be between 60 and 86400, not 59", 1 },
    { "bad claims header name", DOC_AUTHZ(JWKS_URL ", \"claims_to_headers\": {\"sub\": \"x user\"}"),
      "authorizers.a.claims_to_headers.sub", 4, "invalid header name \"x user\"", 1 },
    { "hop-by-hop claims header",
      DOC_AUTHZ(JWKS_URL ", \"claims_to_headers\": {\"sub\": \"x-user\", \"t\": \"Connection\"}"),
      "authorizers.a.claims_to_headers.t", 4,
      "header \"connection\" cannot carry a claim: it is hop-by-hop", 1 },
    { "claims header x-forwarded-*",
      DOC_AUTHZ(JWKS_URL ", \"claims_to_headers\": {\"sub\": \"X-Forwarded-User\"}"),
      "authorizers.a.claims_to_headers.sub", 4,
      "header \"x-forwarded-user\" cannot carry a claim: sluice sets it itself", 1 },
    { "claims header x-sluice-*",
      DOC_AUTHZ(JWKS_URL ", \"claims_to_headers\": {\"sub\": \"x-sluice-function-version\"}"),
      "authorizers.a.claims_to_headers.sub", 4, "sluice sets it itself", 1 },
    { "claims header host", DOC_AUTHZ(JWKS_URL ", \"claims_to_headers\": {\"sub\": \"host\"}"),
      "authorizers.a.claims_to_headers.sub", 4, "sluice sets it itself", 1 },
    { "claims header x-request-id",
      DOC_AUTHZ(JWKS_URL ", \"claims_to_headers\": {\"sub\": \"X-Request-Id\"}"),
      "authorizers.a.claims_to_headers.sub", 4, "sluice sets it itself", 1 },
    { "claims header authorization",
      DOC_AUTHZ(JWKS_URL ", \"claims_to_headers\": {\"sub\": \"Authorization\"}"),
      "authorizers.a.claims_to_headers.sub", 4, "it carries the caller's credentials", 1 },
    { "claims header used twice",
      DOC_AUTHZ(JWKS_URL ", \"claims_to_headers\": {\"sub\": \"x-user\", \"uid\": \"X-User\"}"),
      "authorizers.a.claims_to_headers.uid", 4,
      "header \"x-user\" already carries claim \"sub\"", 1 },
    { "claims header is an identity source",
      DOC("  \"authorizers\": {\n"
          "    \"a\": {\"type\": \"jwt\", " JWKS_URL ", \"claims_to_headers\": {\"sub\": \"x-api-key\"}},\n"
          "    \"k\": {\"type\": \"jwt\", " JWKS_URL ", \"identity_source\": [\"$request.header.X-Api-Key\"]}\n"
          "  },\n"),
      "authorizers.a.claims_to_headers.sub", 5,
      "header \"x-api-key\" cannot carry a claim: it is the identity source of authorizer \"k\"", 1 },
    { "empty issuer", DOC_AUTHZ(JWKS_URL ", \"issuer\": \"\""), "authorizers.a.issuer", 4,
      "expected a non-empty string", 1 },
    { "no audiences", DOC_AUTHZ(JWKS_URL ", \"audiences\": []"), "authorizers.a.audiences", 4,
      "expected at least one audience", 1 },
    { "empty audience", DOC_AUTHZ(JWKS_URL ", \"audiences\": [\"api\", \"\"]"),
      "authorizers.a.audiences[1]", 4, "expected a non-empty string", 1 },
    { "bad jwks url", DOC_AUTHZ("\"jwks_url\": \"ftp://issuer.test/jwks\""), "authorizers.a.jwks_url",
      4, "invalid url \"ftp://issuer.test/jwks\": expected \"http://\" or \"https://\"", 1 },
    { "jwks url with user info", DOC_AUTHZ("\"jwks_url\": \"https://u:p@issuer.test/jwks\""),
      "authorizers.a.jwks_url", 4, "user info", 1 },
    { "jwks ca file missing",
      DOC_AUTHZ(JWKS_URL ", \"jwks_ca_file\": \"/nonexistent/ca.pem\""), "authorizers.a.jwks_ca_file",
      4, "CA file \"/nonexistent/ca.pem\": cannot open: No such file", 1 },
    { "jwks ca file is a directory", DOC_AUTHZ(JWKS_URL ", \"jwks_ca_file\": \"/\""),
      "authorizers.a.jwks_ca_file", 4, "CA file \"/\" is not a regular file", 1 },
    { "jwks file missing", DOC_AUTHZ("\"jwks_file\": \"/nonexistent/jwks.json\""),
      "authorizers.a.jwks_file", 4,
      "JWKS file \"/nonexistent/jwks.json\": cannot open: No such file", 1 },

    /* keys */
    { "keys empty", DOC_KEYS(""), "authorizers.a.keys", 4, "expected at least one key", 1 },
    { "key as a string", DOC_KEYS("\"k\""), "authorizers.a.keys[0]", 4,
      "expected an object, not a string", 1 },
    { "unknown key in a key", DOC_KEYS(HS_KEY(", \"alg\": \"HS256\"")), "authorizers.a.keys[0].alg",
      4, "unknown key \"alg\"", 1 },
    { "key without a source", DOC_KEYS("{\"kid\": \"k1\", \"algorithms\": [\"RS256\"]}"),
      "authorizers.a.keys[0]", 4,
      "a key needs one of \"file\", \"secret_file\" or \"secret_env\"", 1 },
    { "key with two sources",
      DOC_KEYS(HS_KEY(", \"file\": \"/etc/hostname\"")), "authorizers.a.keys[0]", 4,
      "a key takes only one of \"file\", \"secret_file\" or \"secret_env\"", 1 },
    { "key without algorithms", DOC_KEYS("{\"secret_env\": \"SLUICE_TEST_HS_SECRET\"}"),
      "authorizers.a.keys[0].algorithms", 4, "missing required key \"algorithms\"", 1 },
    { "key with no algorithm",
      DOC_KEYS("{\"secret_env\": \"SLUICE_TEST_HS_SECRET\", \"algorithms\": []}"),
      "authorizers.a.keys[0].algorithms", 4, "expected at least one algorithm", 1 },
    { "none algorithm",
      DOC_KEYS("{\"secret_env\": \"SLUICE_TEST_HS_SECRET\", \"algorithms\": [\"HS256\", \"none\"]}"),
      "authorizers.a.keys[0].algorithms[1]", 4, "the \"none\" algorithm is never accepted", 1 },
    { "None algorithm",
      DOC_KEYS("{\"secret_env\": \"SLUICE_TEST_HS_SECRET\", \"algorithms\": [\"NoNe\"]}"),
      "authorizers.a.keys[0].algorithms[0]", 4, "the \"none\" algorithm is never accepted", 1 },
    { "algorithm in lower case",
      DOC_KEYS("{\"file\": \"/x.pem\", \"algorithms\": [\"rs256\"]}"),
      "authorizers.a.keys[0].algorithms[0]", 4,
      "unknown algorithm \"rs256\" (expected one of HS256, HS384, HS512, RS256, RS384, RS512, "
      "ES256, ES384, ES512, PS256, PS384, PS512, EdDSA)", 1 },
    { "unset variable",
      DOC_KEYS("{\"secret_env\": \"SLUICE_TEST_UNSET\", \"algorithms\": [\"HS256\"]}"),
      "authorizers.a.keys[0].secret_env", 4, "environment variable SLUICE_TEST_UNSET is not set", 1 },
    { "empty variable",
      DOC_KEYS("{\"secret_env\": \"SLUICE_TEST_EMPTY\", \"algorithms\": [\"HS256\"]}"),
      "authorizers.a.keys[0].secret_env", 4, "environment variable SLUICE_TEST_EMPTY is not set", 1 },
    { "bad variable name",
      DOC_KEYS("{\"secret_env\": \"1SECRET\", \"algorithms\": [\"HS256\"]}"),
      "authorizers.a.keys[0].secret_env", 4, "expected an environment variable name", 1 },
    { "bad encoding", DOC_KEYS(HS_KEY(", \"encoding\": \"base32\"")), "authorizers.a.keys[0].encoding",
      4, "expected one of \"raw\", \"base64url\", \"hex\"", 1 },
    { "encoding of a file",
      DOC_KEYS("{\"file\": \"/x.pem\", \"encoding\": \"hex\", \"algorithms\": [\"RS256\"]}"),
      "authorizers.a.keys[0].encoding", 4,
      "\"encoding\" applies to \"secret_file\" and \"secret_env\" only", 1 },
    { "secret not hex",
      DOC_KEYS("{\"secret_env\": \"SLUICE_TEST_BAD_HEX\", \"encoding\": \"hex\", "
               "\"algorithms\": [\"HS256\"]}"),
      "authorizers.a.keys[0].secret_env", 4, "the secret is not valid hex", 1 },
    { "secret not base64url",
      DOC_KEYS("{\"secret_env\": \"SLUICE_TEST_BAD_B64\", \"encoding\": \"base64url\", "
               "\"algorithms\": [\"HS256\"]}"),
      "authorizers.a.keys[0].secret_env", 4, "the secret is not valid base64url", 1 },
    { "secret file missing",
      DOC_KEYS("{\"secret_file\": \"/nonexistent/secret\", \"algorithms\": [\"HS256\"]}"),
      "authorizers.a.keys[0].secret_file", 4,
      "secret file \"/nonexistent/secret\": cannot open: No such file", 1 },
    /* Refused by the key set (jwt.c's words), reported at the key. */
    { "secret too short",
      DOC_KEYS("{\"secret_env\": \"SLUICE_TEST_SHORT\", \"algorithms\": [\"HS256\"]}"),
      "authorizers.a.keys[0]", 4, "too short", 1 },
    { "secret for RS256",
      DOC_KEYS("{\"secret_env\": \"SLUICE_TEST_HS_SECRET\", \"algorithms\": [\"RS256\"]}"),
      "authorizers.a.keys[0]", 4, "a secret verifies only HS256, HS384 and HS512", 1 },
    { "key errors on their lines",
      DOC("  \"authorizers\": {\"a\": {\"type\": \"jwt\",\n"
          "    \"keys\": [\n"
          "      " HS_KEY("") ",\n"
          "      {\"kid\": \"k2\", \"algorithms\": [\"HS256\"]}\n"
          "    ]}},\n"),
      "authorizers.a.keys[1]", 7, "a key needs one of", 1 },

    /* routes with authorizers */
    { "route with an unknown authorizer",
      DOC_ROUTES("[{\"route\": \"GET /a\", \"target\": \"f:1\", \"authorizer\": \"users\"}]"),
      "routes[0].authorizer", 3, "authorizer \"users\" does not exist", 1 },
    { "route with another unknown authorizer",
      DOC_AUTH_ROUTES(AUTH_A, "[{\"route\": \"GET /a\", \"target\": \"f:1\", \"authorizer\": \"b\"}]"),
      "routes[0].authorizer", 4, "authorizer \"b\" does not exist", 1 },
    { "scopes without an authorizer",
      DOC_AUTH_ROUTES(AUTH_A, "[{\"route\": \"GET /a\", \"target\": \"f:1\", \"scopes\": [\"read\"]}]"),
      "routes[0].scopes", 4, "scopes need an authorizer", 1 },
    { "scope with a space",
      DOC_AUTH_ROUTES(AUTH_A, "[{\"route\": \"GET /a\", \"target\": \"f:1\", \"authorizer\": \"a\", "
                      "\"scopes\": [\"read\", \"read write\"]}]"),
      "routes[0].scopes[1]", 4, "a scope cannot hold spaces", 1 },
    { "empty scope",
      DOC_AUTH_ROUTES(AUTH_A, "[{\"route\": \"GET /a\", \"target\": \"f:1\", \"authorizer\": \"a\", "
                      "\"scopes\": [\"\"]}]"),
      "routes[0].scopes[0]", 4, "a scope cannot be empty", 1 },
    { "scopes as a string",
      DOC_AUTH_ROUTES(AUTH_A, "[{\"route\": \"GET /a\", \"target\": \"f:1\", \"authorizer\": \"a\", "
                      "\"scopes\": \"read\"}]"),
      "routes[0].scopes", 4, "expected an array, not a string", 1 },

    /* redis */
    { "redis as an array", DOC_REDIS("[]"), "redis", 4, "expected an object, not an array", 1 },
    { "redis without address", DOC_REDIS("{\"db\": 1}"), "redis.address", 4,
      "missing required key \"address\"", 1 },
    { "redis bad db", DOC_REDIS("{\"address\": \"127.0.0.1:6379\", \"db\": 16}"), "redis.db", 4,
      "must be between 0 and 15, not 16", 1 },
    { "unknown key in redis", DOC_REDIS("{\"address\": \"127.0.0.1:6379\", \"host\": \"x\"}"),
      "redis.host", 4, "unknown key \"host\"", 1 },
    { "redis address without port", DOC_REDIS("{\"address\": \"127.0.0.1\"}"), "redis.address", 4,
      "invalid address \"127.0.0.1\": missing \":port\"", 1 },
    { "redis address without host", DOC_REDIS("{\"address\": \"*:6379\"}"), "redis.address", 4,
      "expected a host before the port", 1 },
    { "redis address bad v6", DOC_REDIS("{\"address\": \"[redis]:6379\"}"), "redis.address", 4,
      "expected an IPv6 address", 1 },
    { "redis password unset",
      DOC_REDIS("{\"address\": \"127.0.0.1:6379\", \"password_env\": \"SLUICE_TEST_UNSET\"}"),
      "redis.password_env", 4, "environment variable SLUICE_TEST_UNSET is not set", 1 },
    { "redis empty prefix", DOC_REDIS("{\"address\": \"127.0.0.1:6379\", \"prefix\": \"\"}"),
      "redis.prefix", 4, "expected 1 to 64 characters", 1 },
    { "redis timeout zero", DOC_REDIS("{\"address\": \"127.0.0.1:6379\", \"timeout_ms\": 0}"),
      "redis.timeout_ms", 4, "must be between 1 and 10000, not 0", 1 },

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

/* clang-format off */
static const char pins_doc[] = DOC_FUNCS(
    "{\"f\": {\n"
    "    \"versions\": {\"1\": {\"handler\": " H("http://127.0.0.1:9001") "},\n"
    "                 \"2\": {\"handler\": " H("http://127.0.0.1:9002") "},\n"
    "                 \"$LATEST\": {\"handler\": " H("http://127.0.0.1:9003") "}},\n"
    "    \"aliases\": {\"live\": {\"version\": \"1\", \"weights\": {\"2\": 0.1},\n"
    "      \"sticky_by\": \"$request.header.X-User\",\n"
    "      \"pins\": [\n"
    "        {\"when\": {\"$claim.tenant\": \"acme\", \"$request.ip\": [\"10.0.0.0/8\", \"::1\"]},\n"
    "         \"version\": \"$LATEST\"},\n"
    "        {\"when\": {\"$request.header.X-Canary\": [\"always\", \"yes\"]}, \"version\": \"1\"}\n"
    "      ]}}\n"
    "  }}");
/* clang-format on */

/* Pins and sticky_by as parsed: selectors, values, ranges; a pin may name
 * $LATEST and the primary, which weights may not. */
static void test_pins_config(void)
{
    struct config_errors errs = { 0 };
    struct config *c = config_load_string(pins_doc, "pins.json", &errs);
    const struct alias *a;
    const struct alias_pin *p;

    CHECK(c != NULL);
    if (!c) {
        dump_errors("pins", &errs);
        config_errors_clear(&errs);
        return;
    }
    a = function_alias(&c->functions[0], "live");
    CHECK(a != NULL);
    if (!a)
        goto out;
    CHECK_INT(a->sticky, 1);
    CHECK_INT(a->sticky_by.kind, SELECTOR_HEADER);
    CHECK_STR(a->sticky_by.name, "x-user");
    CHECK_INT(a->npins, 2);
    if (a->npins != 2)
        goto out;
    p = &a->pins[0];
    CHECK(p->version == function_version(&c->functions[0], "$LATEST"));
    CHECK_INT(p->nconds, 2);
    if (p->nconds == 2) {
        CHECK_INT(p->conds[0].sel.kind, SELECTOR_CLAIM);
        CHECK_STR(p->conds[0].sel.name, "tenant");
        CHECK_INT(p->conds[0].nvalues, 1);
        CHECK_STR(p->conds[0].values[0].text, "acme");
        CHECK_INT(p->conds[1].sel.kind, SELECTOR_IP);
        CHECK(p->conds[1].sel.name == NULL);
        CHECK_INT(p->conds[1].nvalues, 2);
        CHECK_INT(p->conds[1].values[0].range.family, 4);
        CHECK_INT(p->conds[1].values[0].range.bits, 8);
        CHECK_INT(p->conds[1].values[1].range.family, 6);
        CHECK_INT(p->conds[1].values[1].range.bits, 128);
    }
    p = &a->pins[1];
    CHECK(p->version == a->primary);
    CHECK_INT(p->nconds, 1);
    CHECK_INT(p->conds[0].sel.kind, SELECTOR_HEADER);
    CHECK_STR(p->conds[0].sel.name, "x-canary");
    CHECK_INT(p->conds[0].nvalues, 2);
    CHECK_STR(p->conds[0].values[1].text, "yes");
    CHECK_INT(p->conds[0].values[1].len, 3);
out:
    config_unref(c);
    config_errors_clear(&errs);
}

/* An alias with n pins, each with nconds conditions of nvalues values. */
static char *pins_text(size_t n, size_t nconds, size_t nvalues)
{
    size_t cap = 4096 + n * (64 + nconds * (48 + nvalues * 8));
    char *doc = malloc(cap), *alias = malloc(cap - 1024);

    if (!doc || !alias) {
        free(doc);
        free(alias);
        return NULL;
    }
    fmt_buf(alias, cap - 1024, "{\"live\": {\"version\": \"1\", \"pins\": [");
    for (size_t i = 0; i < n; i++) {
        str_append(alias, cap - 1024, i ? ", {\"when\": {" : "{\"when\": {");
        for (size_t j = 0; j < nconds; j++) {
            char key[64];
            fmt_buf(key, sizeof(key), "%s\"$request.header.x-%zu\": [", j ? ", " : "", j);
            str_append(alias, cap - 1024, key);
            for (size_t k = 0; k < nvalues; k++) {
                char val[32];
                fmt_buf(val, sizeof(val), "%s\"v%zu\"", k ? ", " : "", k);
                str_append(alias, cap - 1024, val);
            }
            str_append(alias, cap - 1024, "]");
        }
        str_append(alias, cap - 1024, "}, \"version\": \"2\"}");
    }
    str_append(alias, cap - 1024, "]}}");
    fmt_buf(doc, cap, DOC_ALIASES("%s"), alias);
    free(alias);
    return doc;
}

/* The caps on pins, conditions and values: at the cap loads, past it not. */
static void test_pin_limits(void)
{
    static const struct {
        size_t n, nconds, nvalues;
        const char *path, *msg; /* NULL: loads */
    } cases[] = {
        { ALIAS_MAX_PINS, 1, 1, NULL, NULL },
        { ALIAS_MAX_PINS + 1, 1, 1, "functions.f.aliases.live.pins", "at most 64 pins, not 65" },
        { 1, ALIAS_MAX_PIN_CONDS, ALIAS_MAX_PIN_VALUES, NULL, NULL },
        { 1, ALIAS_MAX_PIN_CONDS + 1, 1, "functions.f.aliases.live.pins[0].when",
          "expected 1 to 8 conditions" },
        { 1, 1, ALIAS_MAX_PIN_VALUES + 1,
          "functions.f.aliases.live.pins[0].when[\"$request.header.x-0\"]",
          "expected 1 to 64 values, not 65" },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *doc = pins_text(cases[i].n, cases[i].nconds, cases[i].nvalues);
        struct config_errors errs = { 0 };
        struct config *c;
        const struct config_error *e;

        CHECK(doc != NULL);
        if (!doc)
            return;
        c = config_load_string(doc, "limits.json", &errs);
        if (!cases[i].path) {
            CHECKF(c != NULL, "limits case %zu did not load", i);
            if (c)
                CHECK_INT(c->functions[0].aliases[0].npins, cases[i].n);
        } else {
            CHECKF(c == NULL, "limits case %zu loaded", i);
            CHECK_INT(errs.n, 1);
            e = error_at(&errs, cases[i].path);
            CHECKF(e != NULL, "limits case %zu: no error at %s", i, cases[i].path);
            if (e) {
                CHECK_INT(e->line, 6);
                CHECKF(strstr(e->message, cases[i].msg) != NULL, "message \"%s\"", e->message);
            }
        }
        if (unit_failures)
            dump_errors("limits", &errs);
        config_unref(c);
        config_errors_clear(&errs);
        free(doc);
    }
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

/* ------------------------------------------------------- authorizer files */

/* Key material made for these tests, in a directory of their own. */
static char key_dir[] = "/tmp/test_config_keys_XXXXXX";
static int keys_made;

static void b64url(const unsigned char *in, size_t len, char *out)
{
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;

    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (i + 1 < len ? (unsigned)in[i + 1] << 8 : 0) |
                     (i + 2 < len ? in[i + 2] : 0);
        out[o++] = al[v >> 18 & 63];
        out[o++] = al[v >> 12 & 63];
        if (i + 1 < len)
            out[o++] = al[v >> 6 & 63];
        if (i + 2 < len)
            out[o++] = al[v & 63];
    }
    out[o] = '\0';
}

static void hex(const unsigned char *in, size_t len, char *out)
{
    for (size_t i = 0; i < len; i++)
        snprintf(out + 2 * i, 3, "%02x", in[i]);
}

static int write_text(const char *name, const void *data, size_t len)
{
    char path[256];
    FILE *f;
    int ok;

    snprintf(path, sizeof(path), "%s/%s", key_dir, name);
    f = fopen(path, "w");
    if (!f)
        return -1;
    ok = fwrite(data, 1, len, f) == len;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    return system(cmd) == 0 ? 0 : -1;
}

/* The RSA public key's modulus and exponent as JWK "n" and "e", read from
 * what `openssl rsa -text` prints. Returns 0, or -1. */
static int rsa_n_e(const char *pem, char *n, size_t ncap, char *e)
{
    unsigned char mod[1024], ex[8];
    size_t nmod = 0, nex = 0;
    unsigned long expo = 0;
    char cmd[512], line[256];
    int in_mod = 0;
    FILE *p;

    if (fmt_buf(cmd, sizeof(cmd), "openssl rsa -pubin -in '%s' -text -noout 2>/dev/null", pem) < 0)
        return -1;
    if (!(p = popen(cmd, "r")))
        return -1;
    while (fgets(line, sizeof(line), p)) {
        if (strncmp(line, "Modulus:", 8) == 0) {
            in_mod = 1;
        } else if (strncmp(line, "Exponent:", 9) == 0) {
            in_mod = 0;
            expo = strtoul(line + 9, NULL, 10);
        } else if (in_mod) {
            for (char *q = line; *q;) {
                unsigned b;
                int used;
                if (sscanf(q, " %2x%n", &b, &used) != 1)
                    break;
                if (nmod < sizeof(mod))
                    mod[nmod++] = (unsigned char)b;
                q += used;
                if (*q == ':')
                    q++;
            }
        }
    }
    if (pclose(p) != 0 || nmod < 2 || expo == 0)
        return -1;
    /* Unsigned big-endian without the sign byte openssl prints. */
    if (mod[0] == 0) {
        memmove(mod, mod + 1, --nmod);
    }
    for (int sh = 24; sh >= 0; sh -= 8)
        if ((expo >> sh & 0xff) || nex)
            ex[nex++] = (unsigned char)(expo >> sh);
    if (nmod * 4 / 3 + 4 > ncap)
        return -1;
    b64url(mod, nmod, n);
    b64url(ex, nex, e);
    return 0;
}

/* The bytes of the test secrets: 48 for base64url, 64 for hex. */
static void test_secret(unsigned char *out, size_t len, unsigned char seed)
{
    for (size_t i = 0; i < len; i++)
        out[i] = (unsigned char)(seed + i * 7);
}

/* Makes the keys, secrets, JWKS and CA file under key_dir. */
static int make_keys(void)
{
    static const char raw[] = "0123456789abcdef0123456789abcdef-raw\n";
    unsigned char oct[32], s48[48], s64[64];
    char n[1024], e[16], koct[64], jwks[2048], b64[80], hx[160];

    if (!mkdtemp(key_dir))
        return -1;
    if (run("cd '%s' && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 "
            "-out rsa.key 2>/dev/null && openssl pkey -in rsa.key -pubout -out rsa.pub.pem && "
            "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.key "
            "2>/dev/null && openssl pkey -in ec.key -pubout -out ec.pub.pem && "
            "cp rsa.pub.pem ca.pem",
            key_dir) < 0)
        return -1;
    snprintf(n, sizeof(n), "%s/rsa.pub.pem", key_dir);
    if (rsa_n_e(n, n, sizeof(n), e) < 0)
        return -1;
    test_secret(oct, sizeof(oct), 3);
    b64url(oct, sizeof(oct), koct);
    snprintf(jwks, sizeof(jwks),
             "{\"keys\": [\n"
             "  {\"kty\": \"oct\", \"kid\": \"oct-1\", \"alg\": \"HS256\", \"k\": \"%s\"},\n"
             "  {\"kty\": \"RSA\", \"kid\": \"rsa-2\", \"use\": \"sig\", \"alg\": \"RS256\",\n"
             "   \"n\": \"%s\", \"e\": \"%s\"}\n"
             "]}\n",
             koct, n, e);
    if (write_text("jwks.json", jwks, strlen(jwks)) < 0 ||
        write_text("secret.txt", raw, sizeof(raw) - 1) < 0 ||
        write_text("bad-jwks.json", "{\"keys\": [", 10) < 0 ||
        write_text("empty-jwks.json", "{\"keys\": []}", 12) < 0)
        return -1;
    test_secret(s48, sizeof(s48), 11);
    test_secret(s64, sizeof(s64), 200);
    b64url(s48, sizeof(s48), b64);
    hex(s64, sizeof(s64), hx);
    setenv("SLUICE_TEST_B64", b64, 1);
    setenv("SLUICE_TEST_HEX", hx, 1);
    setenv("SLUICE_TEST_REDIS_PW", "redis-secret", 1);
    return 0;
}

static void remove_keys(void)
{
    if (keys_made)
        run("rm -rf '%s'", key_dir);
}

/* Loads text with every "@" replaced by key_dir. */
static struct config *load_with_dir(const char *text, const char *name, struct config_errors *errs)
{
    size_t n = 1, dl = strlen(key_dir);
    char *buf, *o;
    struct config *c;

    for (const char *p = text; *p; p++)
        n += *p == '@' ? dl : 1;
    if (!(buf = malloc(n)))
        return NULL;
    o = buf;
    for (const char *p = text; *p; p++) {
        if (*p == '@') {
            memcpy(o, key_dir, dl);
            o += dl;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    c = config_load_string(buf, name, errs);
    free(buf);
    return c;
}

/* An HS token for kid signed with key: what the key set must accept when
 * the config decoded the secret right. */
static void hs_token(const char *alg, const EVP_MD *md, const char *kid, const void *key,
                     size_t keylen, char *out, size_t cap)
{
    char header[128], payload[128], h64[192], p64[192], s64[100];
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned maclen = 0;

    snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"%s\"}", alg, kid);
    snprintf(payload, sizeof(payload), "{\"sub\":\"u1\",\"exp\":%lld}",
             (long long)time(NULL) + 3600);
    b64url((const unsigned char *)header, strlen(header), h64);
    b64url((const unsigned char *)payload, strlen(payload), p64);
    snprintf(out, cap, "%s.%s", h64, p64);
    HMAC(md, key, (int)keylen, (const unsigned char *)out, strlen(out), mac, &maclen);
    b64url(mac, maclen, s64);
    snprintf(out + strlen(out), cap - strlen(out), ".%s", s64);
}

/* The secrets as decoded verify tokens made with the original bytes. */
static void check_secrets_verify(const struct authorizer *a)
{
    static const char raw[] = "0123456789abcdef0123456789abcdef-raw\n";
    const struct jose_keyset *sets[1] = { a->keys };
    struct jose_policy pol = { .max_token_bytes = 8192 };
    unsigned char oct[32], s48[48], s64[64];
    char tok[1024];
    json_t *claims = NULL;

    test_secret(oct, sizeof(oct), 3);
    test_secret(s48, sizeof(s48), 11);
    test_secret(s64, sizeof(s64), 200);
    hs_token("HS256", EVP_sha256(), "hs-raw", raw, sizeof(raw) - 2, tok, sizeof(tok));
    CHECK_INT(jose_verify(sets, 1, tok, strlen(tok), &pol, time(NULL), &claims), JOSE_OK);
    json_decref(claims);
    claims = NULL;
    /* With the file's newline it is another secret. */
    hs_token("HS256", EVP_sha256(), "hs-raw", raw, sizeof(raw) - 1, tok, sizeof(tok));
    CHECK_INT(jose_verify(sets, 1, tok, strlen(tok), &pol, time(NULL), &claims), JOSE_BAD_SIGNATURE);
    json_decref(claims);
    claims = NULL;
    hs_token("HS384", EVP_sha384(), "hs-b64", s48, sizeof(s48), tok, sizeof(tok));
    CHECK_INT(jose_verify(sets, 1, tok, strlen(tok), &pol, time(NULL), &claims), JOSE_OK);
    json_decref(claims);
    claims = NULL;
    hs_token("HS512", EVP_sha512(), "hs-hex", s64, sizeof(s64), tok, sizeof(tok));
    CHECK_INT(jose_verify(sets, 1, tok, strlen(tok), &pol, time(NULL), &claims), JOSE_OK);
    json_decref(claims);
    claims = NULL;
    hs_token("HS256", EVP_sha256(), "oct-1", oct, sizeof(oct), tok, sizeof(tok));
    CHECK_INT(jose_verify(sets, 1, tok, strlen(tok), &pol, time(NULL), &claims), JOSE_OK);
    json_decref(claims);
}

/* clang-format off */
static const char auth_config[] =
    "{\n"
    "  \"listen\": [{\"address\": \"127.0.0.1:8080\"}],\n"
    "  \"redis\": {\"address\": \"127.0.0.1:6380\", \"password_env\": \"SLUICE_TEST_REDIS_PW\",\n"
    "            \"db\": 3, \"timeout_ms\": 500},\n"
    "  \"authorizers\": {\n"
    "    \"users\": {\n"
    "      \"type\": \"jwt\",\n"
    "      \"issuer\": \"https://issuer.test/\",\n"
    "      \"audiences\": [\"orders-api\", \"admin-api\"],\n"
    "      \"keys\": [\n"
    "        {\"kid\": \"rsa-1\", \"file\": \"@/rsa.pub.pem\", \"algorithms\": [\"RS256\", \"PS256\"]},\n"
    "        {\"kid\": \"ec-1\", \"file\": \"@/ec.pub.pem\", \"algorithms\": [\"ES256\"]},\n"
    "        {\"kid\": \"hs-raw\", \"secret_file\": \"@/secret.txt\", \"algorithms\": [\"HS256\"]},\n"
    "        {\"kid\": \"hs-b64\", \"secret_env\": \"SLUICE_TEST_B64\", \"encoding\": \"base64url\",\n"
    "         \"algorithms\": [\"HS384\"]},\n"
    "        {\"kid\": \"hs-hex\", \"secret_env\": \"SLUICE_TEST_HEX\", \"encoding\": \"hex\",\n"
    "         \"algorithms\": [\"HS512\", \"HS256\"]}\n"
    "      ],\n"
    "      \"jwks_file\": \"@/jwks.json\",\n"
    "      \"jwks_url\": \"https://issuer.test/.well-known/jwks.json?v=1\",\n"
    "      \"jwks_ca_file\": \"@/ca.pem\",\n"
    "      \"jwks_refresh_s\": 120,\n"
    "      \"clock_skew_s\": 30,\n"
    "      \"identity_source\": [\"$request.header.Authorization\",\n"
    "                          \"$request.querystring.access_token\", \"$request.cookie.Session\"],\n"
    "      \"cache_ttl_s\": 0,\n"
    "      \"claims_to_headers\": {\"sub\": \"X-User-Id\", \"tenant\": \"x-tenant\"}\n"
    "    },\n"
    "    \"partners\": {\"type\": \"jwt\", \"jwks_url\": \"http://127.0.0.1:9999/jwks\",\n"
    "                   \"claims_to_headers\": {\"sub\": \"x-user-id\", \"org\": \"X-Org\"}}\n"
    "  },\n"
    "  \"functions\": " FUNCS_F ",\n"
    "  \"routes\": [\n"
    "    {\"route\": \"GET /orders/{id}\", \"target\": \"f:1\", \"authorizer\": \"users\",\n"
    "     \"scopes\": [\"read:orders\", \"openid\"]},\n"
    "    {\"route\": \"GET /p\", \"target\": \"f:1\", \"authorizer\": \"partners\", \"scopes\": []},\n"
    "    {\"route\": \"GET /open\", \"target\": \"f:1\"}\n"
    "  ]\n"
    "}\n";
/* clang-format on */

static void test_authorizers(void)
{
    struct config_errors errs = { 0 };
    struct config *c = load_with_dir(auth_config, "auth.json", &errs);
    const struct authorizer *users, *partners;

    CHECK(c != NULL);
    if (!c) {
        dump_errors("authorizers", &errs);
        config_errors_clear(&errs);
        return;
    }
    CHECK_INT(c->nauthorizers, 2);
    users = config_authorizer(c, "users");
    partners = config_authorizer(c, "partners");
    CHECK(users == &c->authorizers[0] && partners == &c->authorizers[1]);
    CHECK(config_authorizer(c, "nope") == NULL);
    if (!users || !partners)
        goto out;
    CHECK_STR(users->name, "users");
    CHECK_INT(users->id, 0);
    CHECK_INT(partners->id, 1);
    CHECK_INT(users->type, AUTHORIZER_JWT);
    CHECK_INT(users->nids, 3);
    if (users->nids == 3) {
        CHECK_INT(users->ids[0].kind, SELECTOR_HEADER);
        CHECK_STR(users->ids[0].name, "authorization");
        CHECK_INT(users->ids[1].kind, SELECTOR_QUERY);
        CHECK_STR(users->ids[1].name, "access_token");
        CHECK_INT(users->ids[2].kind, SELECTOR_COOKIE);
        CHECK_STR(users->ids[2].name, "Session");
    }
    CHECK_INT(users->cache_ttl_s, 0);
    CHECK_INT(users->nclaims_to_headers, 2);
    if (users->nclaims_to_headers == 2) {
        CHECK_STR(users->claims_to_headers[0].claim, "sub");
        CHECK_STR(users->claims_to_headers[0].header, "x-user-id");
        CHECK_STR(users->claims_to_headers[1].claim, "tenant");
        CHECK_STR(users->claims_to_headers[1].header, "x-tenant");
    }
    CHECK_STR(users->issuer, "https://issuer.test/");
    CHECK_INT(users->naudiences, 2);
    if (users->naudiences == 2) {
        CHECK_STR(users->audiences[0], "orders-api");
        CHECK_STR(users->audiences[1], "admin-api");
    }
    CHECK_INT(users->clock_skew_s, 30);
    CHECK(users->keys != NULL);
    if (users->keys) {
        /* five from "keys", two from the JWKS file */
        CHECK_INT(jose_keyset_count(users->keys), 7);
        CHECK(jose_keyset_has_kid(users->keys, "rsa-1", 5));
        CHECK(jose_keyset_has_kid(users->keys, "hs-hex", 6));
        CHECK(jose_keyset_has_kid(users->keys, "oct-1", 5));
        CHECK(jose_keyset_has_kid(users->keys, "rsa-2", 5));
        check_secrets_verify(users);
    }
    CHECK_STR(users->jwks_url, "https://issuer.test/.well-known/jwks.json?v=1");
    CHECK(users->jwks_ca_file && strstr(users->jwks_ca_file, "/ca.pem"));
    CHECK_INT(users->jwks_refresh_s, 120);
    CHECK(users->jwks == NULL);

    /* Defaults. */
    CHECK_INT(partners->nids, 1);
    if (partners->nids == 1) {
        CHECK_INT(partners->ids[0].kind, SELECTOR_HEADER);
        CHECK_STR(partners->ids[0].name, "authorization");
    }
    CHECK_INT(partners->cache_ttl_s, 300);
    CHECK_INT(partners->clock_skew_s, 60);
    CHECK_INT(partners->jwks_refresh_s, 600);
    CHECK(partners->issuer == NULL);
    CHECK_INT(partners->naudiences, 0);
    CHECK(partners->keys != NULL && jose_keyset_count(partners->keys) == 0);
    CHECK_STR(partners->jwks_url, "http://127.0.0.1:9999/jwks");
    CHECK(partners->jwks_ca_file == NULL);

    /* Every claim header once. */
    CHECK_INT(c->nclaim_headers, 3);
    if (c->nclaim_headers == 3) {
        CHECK_STR(c->claim_headers[0], "x-user-id");
        CHECK_STR(c->claim_headers[1], "x-tenant");
        CHECK_STR(c->claim_headers[2], "x-org");
    }

    CHECK_INT(c->nroutes, 3);
    CHECK(c->routes[0].authorizer == users);
    CHECK_INT(c->routes[0].nscopes, 2);
    if (c->routes[0].nscopes == 2) {
        CHECK_STR(c->routes[0].scopes[0], "read:orders");
        CHECK_STR(c->routes[0].scopes[1], "openid");
    }
    CHECK(c->routes[1].authorizer == partners);
    CHECK_INT(c->routes[1].nscopes, 0);
    CHECK(c->routes[2].authorizer == NULL);
    CHECK_INT(c->routes[2].nscopes, 0);

    CHECK_INT(c->redis.enabled, 1);
    CHECK_STR(c->redis.address, "127.0.0.1:6380");
    CHECK_STR(c->redis.host, "127.0.0.1");
    CHECK_INT(c->redis.port, 6380);
    CHECK_STR(c->redis.password, "redis-secret");
    CHECK_INT(c->redis.db, 3);
    CHECK_STR(c->redis.prefix, "sluice:");
    CHECK_INT(c->redis.timeout_ms, 500);
out:
    config_unref(c);
    config_errors_clear(&errs);
}

/* Without authorizers or redis nothing is set. */
static void test_no_authorizers(void)
{
    struct config_errors errs = { 0 };
    struct config *c =
        config_load_string(DOC("  \"redis\": {\"address\": \"[::1]:6379\"},\n"), "r.json", &errs);

    CHECK(c != NULL);
    if (c) {
        CHECK_INT(c->nauthorizers, 0);
        CHECK(c->authorizers == NULL);
        CHECK_INT(c->nclaim_headers, 0);
        CHECK(c->routes[0].authorizer == NULL);
        CHECK_INT(c->redis.enabled, 1);
        CHECK_STR(c->redis.host, "::1");
        CHECK_INT(c->redis.port, 6379);
        CHECK(c->redis.password == NULL);
        CHECK_INT(c->redis.db, 0);
        CHECK_STR(c->redis.prefix, "sluice:");
        CHECK_INT(c->redis.timeout_ms, 200);
    }
    config_unref(c);
    c = config_load_string(DOC(""), "r.json", &errs);
    CHECK(c != NULL);
    if (c) {
        CHECK_INT(c->redis.enabled, 0);
        CHECK(c->redis.prefix == NULL);
    }
    config_unref(c);
    config_errors_clear(&errs);
}

/* A secret shorter than 32 bytes is refused by the key set (jwt.h): so
 * where 31 fails and 32 passes, the decoding gave the right length. A
 * secret file's final newline is not part of it. */
static void test_secret_lengths(void)
{
    static const struct {
        const char *name, *enc, *value; /* value: written to the variable */
        int ok;
    } cases[] = {
        { "hex 32", "hex", "000102030405060708090a0b0c0d0e0f101112131415161718191A1B1C1D1E1F", 1 },
        { "hex 31", "hex", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e", 0 },
        { "b64 32", "base64url", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", 1 },
        { "b64 32 padded", "base64url", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", 1 },
        { "b64 31", "base64url", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg", 0 },
        { "raw 32", "raw", "0123456789abcdef0123456789abcdef", 1 },
        { "raw 31", "raw", "0123456789abcdef0123456789abcde", 0 },
    };
    char doc[1024];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct config_errors errs = { 0 };
        struct config *c;

        setenv("SLUICE_TEST_LEN", cases[i].value, 1);
        snprintf(
            doc, sizeof(doc),
            DOC("  \"authorizers\": {\"a\": {\"type\": \"jwt\", \"keys\": [{\"secret_env\": "
                "\"SLUICE_TEST_LEN\", \"encoding\": \"%s\", \"algorithms\": [\"HS256\"]}]}},\n"),
            cases[i].enc);
        c = config_load_string(doc, "len.json", &errs);
        CHECKF((c != NULL) == cases[i].ok, "%s: loaded %d", cases[i].name, c != NULL);
        if (!cases[i].ok)
            CHECKF(error_at(&errs, "authorizers.a.keys[0]") != NULL, "%s: error elsewhere",
                   cases[i].name);
        config_unref(c);
        config_errors_clear(&errs);
    }
    unsetenv("SLUICE_TEST_LEN");

    /* 31 bytes and a newline: 31. 32 and a newline: 32. */
    for (int ok = 0; ok < 2; ok++) {
        struct config_errors errs = { 0 };
        struct config *c;
        const char *text =
            ok ? "0123456789abcdef0123456789abcdef\n" : "0123456789abcdef0123456789abcde\n";

        CHECK(write_text("nl-secret", text, strlen(text)) == 0);
        c = load_with_dir(
            DOC("  \"authorizers\": {\"a\": {\"type\": \"jwt\", \"keys\": [{\"secret_file\": "
                "\"@/nl-secret\", \"algorithms\": [\"HS256\"]}]}},\n"),
            "nl.json", &errs);
        CHECKF((c != NULL) == ok, "secret file with a newline, %d: loaded %d", ok, c != NULL);
        config_unref(c);
        config_errors_clear(&errs);
    }
}

struct file_case {
    const char *name;
    const char *json; /* "@" is the key directory */
    const char *path;
    int line;
    const char *msg;
};

/* clang-format off */
static const struct file_case file_cases[] = {
    { "HS with a PEM file",
      DOC_KEYS("{\"file\": \"@/rsa.pub.pem\", \"algorithms\": [\"HS256\"]}"),
      "authorizers.a.keys[0].file", 4, "an HMAC algorithm cannot use a public key" },
    { "ES256 with an RSA file",
      DOC_KEYS("{\"file\": \"@/rsa.pub.pem\", \"algorithms\": [\"ES256\"]}"),
      "authorizers.a.keys[0].file", 4, "cannot verify ES256" },
    { "private key file",
      DOC_KEYS("{\"file\": \"@/rsa.key\", \"algorithms\": [\"RS256\"]}"),
      "authorizers.a.keys[0].file", 4, "holds a private key" },
    { "PEM file that is not one",
      DOC_KEYS("{\"file\": \"@/jwks.json\", \"algorithms\": [\"RS256\"]}"),
      "authorizers.a.keys[0].file", 4, "no PUBLIC KEY or CERTIFICATE" },
    { "jwks ca file without a url",
      DOC_AUTHZ("\"keys\": [" HS_KEY("") "], \"jwks_ca_file\": \"@/ca.pem\""),
      "authorizers.a.jwks_ca_file", 4, "jwks_ca_file is only used with jwks_url" },
    { "bad jwks file", DOC_AUTHZ("\"jwks_file\": \"@/bad-jwks.json\""), "authorizers.a.jwks_file", 4,
      "invalid JWKS file" },
    { "jwks file without keys", DOC_AUTHZ("\"jwks_file\": \"@/empty-jwks.json\""),
      "authorizers.a.jwks_file", 4, "holds no usable key (0 skipped)" },
    { "secret file too large",
      DOC_KEYS("{\"secret_file\": \"@/big\", \"algorithms\": [\"HS256\"]}"),
      "authorizers.a.keys[0].secret_file", 4, "file is larger than 64 KiB" },
    { "jwks file too large", DOC_AUTHZ("\"jwks_file\": \"@/huge\""), "authorizers.a.jwks_file", 4,
      "file is larger than 1 MiB" },
};
/* clang-format on */

/* An admin token is read at load, trimmed, and must not be short. */
static void test_admin_token(void)
{
    static const char doc[] = DOC("  \"admin\": {\"address\": \"127.0.0.1:9901\", "
                                  "\"token_file\": \"@/admin.token\"},\n");
    struct config_errors errs = { 0 };
    struct config *c;

    CHECK(write_text("admin.token", "  0123456789abcdef-token\n\n", 26) == 0);
    c = load_with_dir(doc, "admin.json", &errs);
    CHECK(c != NULL);
    if (c) {
        CHECK(c->admin.enabled);
        CHECK_STR(c->admin.token, "0123456789abcdef-token");
        CHECK(c->state_file == NULL);
    }
    config_unref(c);
    config_errors_clear(&errs);
    CHECK(write_text("admin.token", "short\n", 6) == 0);
    c = load_with_dir(doc, "admin.json", &errs);
    CHECK(c == NULL);
    CHECK(errs.n == 1 && strstr(errs.v[0].message, "shorter than 16") != NULL &&
          strstr(errs.v[0].message, "short\n") == NULL);
    config_unref(c);
    config_errors_clear(&errs);
    /* loopback without a token is fine */
    c = config_load_string(DOC("  \"admin\": {\"address\": \"[::1]:9901\"},\n"), "a.json", &errs);
    CHECK(c != NULL && c->admin.enabled && c->admin.token == NULL);
    config_unref(c);
    config_errors_clear(&errs);
}

static void test_authorizer_file_errors(void)
{
    char *big = calloc(1, (1u << 20) + 1);

    CHECK(big != NULL);
    if (!big)
        return;
    memset(big, 'a', (1u << 20) + 1);
    CHECK(write_text("big", big, (64u << 10) + 1) == 0);
    CHECK(write_text("huge", big, (1u << 20) + 1) == 0);
    free(big);
    for (size_t i = 0; i < sizeof(file_cases) / sizeof(file_cases[0]); i++) {
        const struct file_case *fc = &file_cases[i];
        struct config_errors errs = { 0 };
        struct config *c = load_with_dir(fc->json, "files.json", &errs);
        const struct config_error *e = error_at(&errs, fc->path);
        int before = unit_failures;

        CHECKF(c == NULL, "%s: the config loaded", fc->name);
        config_unref(c);
        CHECKF(errs.n == 1, "%s: %zu errors, expected 1", fc->name, errs.n);
        CHECKF(e != NULL, "%s: no error at path \"%s\"", fc->name, fc->path);
        if (e) {
            CHECKF(e->line == fc->line, "%s: line %d, expected %d", fc->name, e->line, fc->line);
            CHECKF(strstr(e->message, fc->msg) != NULL, "%s: message \"%s\" lacks \"%s\"", fc->name,
                   e->message, fc->msg);
            CHECKF(e->message[0] != '\0', "%s: empty message", fc->name);
        }
        if (unit_failures != before)
            dump_errors(fc->name, &errs);
        config_errors_clear(&errs);
    }
}

/* ------------------------------------------------------------ lua handlers */

static char lua_dir[] = "/tmp/test_config_lua_XXXXXX";

static int lua_file(const char *name, const char *text, size_t len)
{
    char path[256];
    FILE *f;
    int ok;

    snprintf(path, sizeof(path), "%s/%s", lua_dir, name);
    f = fopen(path, "w");
    if (!f)
        return -1;
    ok = fwrite(text, 1, len, f) == len;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* text with every "%" replaced by lua_dir; the caller frees it. */
static char *with_lua_dir(const char *text)
{
    size_t n = 1, dl = strlen(lua_dir);
    char *buf, *o;

    for (const char *p = text; *p; p++)
        n += *p == '%' ? dl : 1;
    if (!(buf = malloc(n)))
        return NULL;
    o = buf;
    for (const char *p = text; *p; p++) {
        if (*p == '%') {
            memcpy(o, lua_dir, dl);
            o += dl;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return buf;
}

static struct config *load_lua(const char *text, struct config_errors *errs)
{
    char *doc = with_lua_dir(text);
    struct config *c = doc ? config_load_string(doc, "lua.json", errs) : NULL;

    free(doc);
    return c;
}

#define LUA_H(file, extra) "{\"type\": \"lua\", \"file\": \"%/" file "\"" extra "}"

/* clang-format off */
static const struct err_case lua_cases[] = {
    { "syntax error", DOC_HANDLER(LUA_H("syntax.lua", "")), "functions.f.versions.1.handler.file",
      4, "Lua file does not compile: ", 1 },
    { "syntax error names the Lua line", DOC_HANDLER(LUA_H("syntax.lua", "")),
      "functions.f.versions.1.handler.file", 4, "syntax.lua:3: ", 1 },
    { "bytecode", DOC_HANDLER(LUA_H("bytecode.lua", "")), "functions.f.versions.1.handler.file", 4,
      "bytecode.lua: precompiled bytecode is not accepted", 1 },
    { "a directory", DOC_HANDLER(LUA_H("", "")), "functions.f.versions.1.handler.file", 4,
      "Lua file", 1 },
    { "too large", DOC_HANDLER(LUA_H("big.lua", "")), "functions.f.versions.1.handler.file", 4,
      "larger than 4 MiB", 1 },
    { "bad file and bad handler name", DOC_HANDLER(LUA_H("syntax.lua", ", \"handler\": \"a b\"")),
      "functions.f.versions.1.handler.handler", 4, "expected a Lua name", 2 },
};
/* clang-format on */

static void test_lua_handlers(void)
{
    static const char ok_src[] = "function handler(event, context)\n  return 'ok'\nend\n";
    static const char syntax_src[] = "function handler(event)\n  local x = \n  end end\n";
    char *big;
    struct config_errors errs = { 0 };
    struct config *c, *c2;

    if (!mkdtemp(lua_dir)) {
        CHECKF(0, "cannot make %s", lua_dir);
        return;
    }
    big = malloc((4u << 20) + 2);
    CHECK(big != NULL);
    if (big) {
        memset(big, ' ', (4u << 20) + 1);
        CHECK(lua_file("big.lua", big, (4u << 20) + 1) == 0);
        free(big);
    }
    CHECK(lua_file("ok.lua", ok_src, sizeof(ok_src) - 1) == 0);
    CHECK(lua_file("other.lua", "function handler() return 2 end", 31) == 0);
    CHECK(lua_file("syntax.lua", syntax_src, sizeof(syntax_src) - 1) == 0);
    CHECK(lua_file("bytecode.lua", "\033LJ\002\012\000", 6) == 0);

    for (size_t i = 0; i < sizeof(lua_cases) / sizeof(lua_cases[0]); i++) {
        const struct err_case *ec = &lua_cases[i];
        const struct config_error *e;
        int before = unit_failures;

        c = load_lua(ec->json, &errs);
        e = error_at(&errs, ec->path);
        CHECKF(c == NULL, "%s: the config loaded", ec->name);
        config_unref(c);
        CHECKF(errs.n == ec->nerr, "%s: %zu errors, expected %zu", ec->name, errs.n, ec->nerr);
        CHECKF(e != NULL, "%s: no error at path \"%s\"", ec->name, ec->path);
        if (e) {
            CHECKF(e->line == ec->line, "%s: line %d, expected %d", ec->name, e->line, ec->line);
            CHECKF(strstr(e->message, ec->msg) != NULL, "%s: message \"%s\" lacks \"%s\"",
                   ec->name, e->message, ec->msg);
        }
        if (unit_failures != before)
            dump_errors(ec->name, &errs);
        config_errors_clear(&errs);
    }

    /* a good one: defaults, settings inherited, the text kept */
    c = load_lua(DOC_FUNCS("{\"f\": {\"timeout_ms\": 250, \"memory_mb\": 32, \"versions\": {\"1\": "
                           "{\"handler\": " LUA_H("ok.lua", "") ", \"max_concurrency\": 2}}}}"),
                 &errs);
    CHECK(c != NULL);
    if (!c) {
        dump_errors("good lua", &errs);
        config_errors_clear(&errs);
    } else {
        const struct fn_version *v = &c->functions[0].versions[0];
        static const unsigned char zero[32];
        CHECK_INT(v->kind, HANDLER_LUA);
        CHECK(v->lua.file && strstr(v->lua.file, "/ok.lua") != NULL);
        CHECK_STR(v->lua.handler, "handler");
        CHECK_INT(v->lua.warm_states, 4);
        CHECK_INT(v->lua.idle_s, 300);
        CHECK_INT(v->lua.source_len, sizeof(ok_src) - 1);
        CHECK(v->lua.source && memcmp(v->lua.source, ok_src, sizeof(ok_src) - 1) == 0);
        CHECK(memcmp(v->lua.key, zero, sizeof(zero)) != 0);
        CHECK_INT(v->timeout_ms, 250);
        CHECK_INT(v->memory_mb, 32);
        CHECK_INT(v->max_concurrency, 2);

        /* the same again: the same state key (warm states survive a reload) */
        c2 = load_lua(DOC_FUNCS("{\"f\": {\"versions\": {\"1\": {\"handler\": "
                                LUA_H("ok.lua", ", \"warm_states\": 0, \"idle_s\": 5") "}}}}"),
                      &errs);
        CHECK(c2 != NULL);
        if (c2) {
            const struct fn_version *v2 = &c2->functions[0].versions[0];
            CHECK_INT(v2->lua.warm_states, 0);
            CHECK_INT(v2->lua.idle_s, 5);
            CHECK(memcmp(v->lua.key, v2->lua.key, 32) == 0);
        }
        config_unref(c2);
        /* another file, another handler name, another version: other keys */
        c2 = load_lua(DOC_FUNCS("{\"f\": {\"versions\": {"
                                "\"1\": {\"handler\": " LUA_H("other.lua", "") "}, "
                                "\"2\": {\"handler\": " LUA_H("ok.lua", "") "}, "
                                "\"3\": {\"handler\": " LUA_H("ok.lua", ", \"handler\": \"h2\"") "}}}}"),
                      &errs);
        CHECK(c2 != NULL);
        if (c2) {
            for (size_t i = 0; i < 3; i++)
                CHECKF(memcmp(v->lua.key, c2->functions[0].versions[i].lua.key, 32) != 0,
                       "version %zu has the same key", i);
            CHECK_STR(c2->functions[0].versions[2].lua.handler, "h2");
        }
        config_unref(c2);
        config_errors_clear(&errs);
        /* the text was read at load: changing the file changes nothing */
        CHECK(lua_file("ok.lua", "garbage(", 8) == 0);
        CHECK(memcmp(v->lua.source, ok_src, sizeof(ok_src) - 1) == 0);
    }
    config_unref(c);
    run("rm -rf '%s'", lua_dir);
}

/* Secrets never reach an error message. */
static void test_secrets_not_shown(void)
{
    struct config_errors errs = { 0 };
    struct config *c;

    setenv("SLUICE_TEST_LEAK", "topsecret-zz-not-hex", 1);
    c = config_load_string(DOC_KEYS("{\"secret_env\": \"SLUICE_TEST_LEAK\", \"encoding\": \"hex\", "
                                    "\"algorithms\": [\"HS256\"]}"),
                           "leak.json", &errs);
    CHECK(c == NULL);
    CHECK_INT(errs.n, 1);
    for (size_t i = 0; i < errs.n; i++)
        CHECK(strstr(errs.v[i].message, "topsecret") == NULL);
    config_unref(c);
    config_errors_clear(&errs);
    unsetenv("SLUICE_TEST_LEAK");
}

/* An invoke handler: the endpoint resolved, the invocation path built
 * once, names with qualifiers and the longest name taken. */
#define EP_3002 "\"endpoint\": \"http://127.0.0.1:3002\", "
static void test_invoke_handler(void)
{
    static const struct {
        const char *doc, *authority, *path, *name;
    } ok[] = {
        { DOC_HANDLER(INV(EP_3002 "\"function_name\": \"svc-dev-hello\"")), "127.0.0.1:3002",
          "/2015-03-31/functions/svc-dev-hello/invocations", "svc-dev-hello" },
        { DOC_HANDLER(INV("\"endpoint\": \"http://127.0.0.1/emu/\", "
                          "\"function_name\": \"h_1:$LATEST\"")),
          "127.0.0.1", "/emu/2015-03-31/functions/h_1:$LATEST/invocations", "h_1:$LATEST" },
        { DOC_HANDLER(INV("\"function_name\": \"a:live\", \"endpoint\": \"http://[::1]:9000\"")),
          "[::1]:9000", "/2015-03-31/functions/a:live/invocations", "a:live" },
        { DOC_HANDLER(INV_FN(S170)), "127.0.0.1:3002", "/2015-03-31/functions/" S170 "/invocations",
          S170 },
    };

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        struct config_errors errs = { 0 };
        struct config *c = config_load_string(ok[i].doc, "test.json", &errs);
        const struct fn_version *v;

        CHECKF(c != NULL, "invoke case %zu did not load", i);
        if (!c) {
            dump_errors(ok[i].name, &errs);
            config_errors_clear(&errs);
            continue;
        }
        v = function_version(config_function(c, "f"), "1");
        CHECK(v != NULL);
        if (v) {
            CHECK_INT(v->kind, HANDLER_INVOKE);
            CHECK_STR(v->invoke.authority, ok[i].authority);
            CHECK_STR(v->invoke.path, ok[i].path);
            CHECK_STR(v->invoke.function_name, ok[i].name);
            CHECK(v->invoke.addrlen > 0);
            CHECK(v->limit == NULL); /* attached by the runtime, not by loading */
        }
        config_unref(c);
    }
}

int main(void)
{
    /* For the error cases: a good secret (40 bytes), bad encodings, a
     * short one, unset and empty variables. */
    setenv("SLUICE_TEST_HS_SECRET", "0123456789abcdef0123456789abcdef01234567", 1);
    setenv("SLUICE_TEST_BAD_HEX", "0g", 1);
    setenv("SLUICE_TEST_BAD_B64", "ab+/cd", 1);
    setenv("SLUICE_TEST_SHORT", "0123456789", 1);
    setenv("SLUICE_TEST_EMPTY", "", 1);
    unsetenv("SLUICE_TEST_UNSET");

    test_json_lines();
    test_full_config();
    test_defaults();
    test_error_cases();
    test_invoke_handler();
    test_weights_sum_to_one();
    test_pins_config();
    test_pin_limits();
    test_many_errors();
    test_errors_print();
    test_load_file();
    test_refcount();
    test_lua_handlers();
    test_no_authorizers();
    test_secrets_not_shown();
    keys_made = make_keys() == 0;
    CHECKF(keys_made, "cannot make the test keys in %s (is openssl installed?)", key_dir);
    if (keys_made) {
        test_authorizers();
        test_secret_lengths();
        test_authorizer_file_errors();
        test_admin_token();
    }
    remove_keys();
    return unit_done("test_config");
}
