/* config_parse.h - inside the config module only: the table-driven walker
 * that fills structs from JSON objects and collects every error with its
 * path and line. config.c, config_auth.c, config_handler.c,
 * config_route.c and config_throttle.c hold the tables; a new config
 * section adds a table and, where a key needs more than a bound, a parse
 * function. */
#ifndef SLUICE_CONFIG_PARSE_H
#define SLUICE_CONFIG_PARSE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "json_lines.h"

/* A message is cut at this many bytes. */
#define CONFIG_MSG_MAX 1024
/* User text quoted in a message is cut to CONFIG_SHOW_LIMIT bytes; a
 * buffer for config_show() holds CONFIG_SHOW_BUF (escapes take up to 4
 * bytes a byte, plus quotes and "..."). */
#define CONFIG_SHOW_LIMIT 64
#define CONFIG_SHOW_BUF (CONFIG_SHOW_LIMIT * 4 + 8)

/* The state of one load. */
struct config_loader {
    const char *file;
    struct config_errors *errs;
    size_t first_err;            /* errs->n when this load started */
    struct json_lines *lines;    /* NULL: errors get line 0 */
    struct json_lines_path path; /* of the value being parsed */
    struct config *c;            /* being built */
    unsigned char *route_added;  /* per route: 1 once the router holds it */
    int oom;                     /* stop walking, report "out of memory" once */
};

struct config_field;

/* Parses v (present, of any JSON type) into the struct at obj. Reports
 * problems with config_error() at the current path (the field's). */
typedef void config_parse_fn(struct config_loader *ld, const struct config_field *f, json_t *v,
                             void *obj);

enum config_field_kind {
    FIELD_U32,         /* integer in [min, max] into a uint32_t */
    FIELD_U64,         /* same, into a uint64_t */
    FIELD_STRING,      /* strdup'ed into a char *; check() may refuse it */
    FIELD_ENUM,        /* one of names[] into an int-sized enum: its index */
    FIELD_OBJECT,      /* a nested table filling a member struct */
    FIELD_CUSTOM,      /* parse() does everything */
    FIELD_UNSUPPORTED, /* a key we know but refuse, with msg */
};

#define FIELD_REQUIRED 1u /* absent: an error */
#define FIELD_INHERIT 2u  /* absent: keep what the caller put there */

struct config_field {
    const char *name; /* NULL ends a table */
    enum config_field_kind kind;
    unsigned flags;
    size_t offset; /* of the member, for the typed kinds */
    uint64_t min, max, def;
    const char *def_str;                 /* FIELD_STRING; FIELD_CUSTOM: JSON text */
    const char *const *names;            /* FIELD_ENUM, NULL-terminated */
    const struct config_field *sub;      /* FIELD_OBJECT */
    config_parse_fn *parse;              /* FIELD_CUSTOM */
    const char *(*check)(const char *s); /* FIELD_STRING: why s is refused, or NULL */
    const char *msg;                     /* FIELD_UNSUPPORTED */
};

/* offsetof, made to fail to compile when the member is not of type t: the
 * walker writes through a t *. */
#define FIELD_MEMBER(T, m, t) (offsetof(T, m) + 0 * sizeof(&((T *)0)->m == (t *)0))

#define F_U32(key, T, m, lo, hi, d)                                                                \
    {                                                                                              \
        .name = key, .kind = FIELD_U32, .offset = FIELD_MEMBER(T, m, uint32_t), .min = lo,         \
        .max = hi, .def = d                                                                        \
    }
#define F_U32_INHERIT(key, T, m, lo, hi)                                                           \
    {                                                                                              \
        .name = key, .kind = FIELD_U32, .flags = FIELD_INHERIT,                                    \
        .offset = FIELD_MEMBER(T, m, uint32_t), .min = lo, .max = hi                               \
    }
#define F_U64(key, T, m, lo, hi, d)                                                                \
    {                                                                                              \
        .name = key, .kind = FIELD_U64, .offset = FIELD_MEMBER(T, m, uint64_t), .min = lo,         \
        .max = hi, .def = d                                                                        \
    }
#define F_STR(key, T, m, d, chk)                                                                   \
    {                                                                                              \
        .name = key, .kind = FIELD_STRING, .offset = FIELD_MEMBER(T, m, char *), .def_str = d,     \
        .check = chk                                                                               \
    }
#define F_ENUM(key, T, m, list, d)                                                                 \
    {                                                                                              \
        .name = key, .kind = FIELD_ENUM, .offset = offsetof(T, m), .names = list, .def = d         \
    }
#define F_OBJ(key, T, m, table)                                                                    \
    {                                                                                              \
        .name = key, .kind = FIELD_OBJECT, .offset = offsetof(T, m), .sub = table                  \
    }
#define F_CUSTOM(key, fl, fn)                                                                      \
    {                                                                                              \
        .name = key, .kind = FIELD_CUSTOM, .flags = fl, .parse = fn                                \
    }
/* A custom field that, when absent, is parsed as if the JSON text def had
 * been written. */
#define F_CUSTOM_DEF(key, fn, def)                                                                 \
    {                                                                                              \
        .name = key, .kind = FIELD_CUSTOM, .parse = fn, .def_str = def                             \
    }
#define F_UNSUPPORTED(key, text)                                                                   \
    {                                                                                              \
        .name = key, .kind = FIELD_UNSUPPORTED, .msg = text                                        \
    }
#define F_END                                                                                      \
    {                                                                                              \
        .name = NULL                                                                               \
    }

/* Fills the struct at dst from the JSON object obj by the table tab, in
 * the table's order: unknown keys, missing required keys and each field's
 * own problems are reported; absent fields get their defaults. Returns 0,
 * or -1 when obj is not an object (reported too). */
int config_parse_fields(struct config_loader *ld, json_t *obj, const struct config_field *tab,
                        void *dst);

/* Reports a problem with the value at the current path. */
__attribute__((format(printf, 2, 3))) void config_error(struct config_loader *ld, const char *fmt,
                                                        ...);

/* Reports "expected WANT, not <v's type>" (want: "an object", ...). */
void config_type_error(struct config_loader *ld, const json_t *v, const char *want);

/* Appends an error with an explicit path and line; on failure marks the
 * load out of memory. */
void config_error_add(struct config_loader *ld, const char *path, int line, const char *msg);

/* Orders errs from index first on by line, keeping the order of equal
 * lines, so errors come out in file order whatever the walk's order. */
void config_errors_sort(struct config_errors *errs, size_t first);

/* The string in v, or NULL with a type error reported. */
const char *config_want_string(struct config_loader *ld, json_t *v);

/* The integer in v when it lies in [min, max]: returns 0, or -1 with the
 * error reported. */
int config_want_uint(struct config_loader *ld, json_t *v, uint64_t min, uint64_t max,
                     uint64_t *out);

/* Parses v, an array of strings, into *out (a new array of copies, *n
 * entries; the caller frees both, also after a failure). check (may be
 * NULL) returns why a string is refused, reported at its element; refused
 * strings are left out. An empty array is refused, "expected at least one
 * WHAT", when what is not NULL. Returns 0 when nothing was refused, else -1. */
int config_parse_strings(struct config_loader *ld, json_t *v, const char *what,
                         const char *(*check)(const char *s), char ***out, size_t *n);

/* Reads the whole file at path, at most cap bytes. Returns the text
 * (NUL-terminated, caller frees) and its length in *len, or NULL with a
 * one-line reason in why ("cannot open: ...", "file is larger than
 * 64 KiB"). Nothing of the content ever goes into why. */
char *config_read_file(const char *path, size_t cap, size_t *len, char *why, size_t whylen);

/* strdup that marks the load out of memory when it fails. */
char *config_strdup(struct config_loader *ld, const char *s);

/* Pushes a key / an index on the current path; returns the mark to cut
 * back to. */
size_t config_path_key(struct config_loader *ld, const char *key);
size_t config_path_index(struct config_loader *ld, size_t i);
void config_path_cut(struct config_loader *ld, size_t mark);

/* Quotes s (or len bytes of it) for a message: escaped, cut at
 * CONFIG_SHOW_LIMIT bytes. Returns buf (CONFIG_SHOW_BUF bytes). */
const char *config_show(char *buf, const char *s);
const char *config_show_n(char *buf, const char *s, size_t len);

/* ------------------------------------------- shared by the section parsers */

/* The longest name of a function, an alias or an authorizer. */
#define CONFIG_MAX_NAME 64

/* Kinds of handler or authorizer by their "type". A kind without fields
 * is one the design has but this build does not run yet: refused with a
 * message saying so. A table ends with a NULL name. */
struct config_kind {
    const char *name;
    int kind; /* enum handler_kind, enum authorizer_type */
    const struct config_field *fields;
};

/* Reads the "type" of the object v (what: "handler", "authorizer") and
 * returns its entry in kinds when this build runs it; else NULL, with the
 * problem reported. Without a usable type the other keys cannot be judged,
 * so the caller leaves them alone. */
const struct config_kind *config_pick_kind(struct config_loader *ld, json_t *v,
                                           const struct config_kind *kinds, const char *what);

/* Returns 1 when s is 1..max of [A-Za-z0-9_-], the first a letter when
 * letter_first; else 0. */
int config_name_ok(const char *s, size_t max, int letter_first);

/* A parse function that does nothing: for a key the caller has already
 * looked at (a handler's or an authorizer's "type"). */
config_parse_fn config_parse_checked_elsewhere;

/* Frees the n strings of v, then v (as config_parse_strings() makes
 * them). v may be NULL when n is 0. */
void config_free_strings(char **v, size_t n);

/* ------------------------------------------ config_auth.c: authorizers, redis */

/* Parses "authorizers" (obj: the struct config) into c->authorizers, a
 * key set each for jwt ones, then gathers every claims_to_headers header
 * once into c->claim_headers, refusing one that is an identity source.
 * Problems are reported; what was parsed stays in c for config_auth_free(). */
config_parse_fn config_parse_authorizers;

/* Parses "redis" (obj: the struct config) into c->redis; sets
 * c->redis.enabled when the value is an object. */
config_parse_fn config_parse_redis;

/* Frees what the two above put in c (authorizers, their key-set
 * references, claim headers, redis settings, the password wiped first);
 * not c itself. Safe on a partly parsed config. */
void config_auth_free(struct config *c);

/* -------------------------------------------------- config_route.c: routes */

/* Parses "routes" (obj: the struct config; usage plans, functions and
 * authorizers parsed already) into c->routes, adding each to a new
 * c->router; ld->route_added gets one byte a route (the caller frees it).
 * Problems are reported; what was parsed stays in c for
 * config_route_free(). */
config_parse_fn config_parse_routes;

/* Frees what config_parse_routes() put in c (the router, the routes and
 * their strings; a route's series array, not the series); not c itself.
 * Safe on a partly parsed config. */
void config_route_free(struct config *c);

/* ------------------------------- config_throttle.c: throttles, usage plans */

/* Parses "throttle" (obj: a struct route, a struct alias) into its
 * throttle_conf, enabled when the object is good. */
config_parse_fn config_parse_route_throttle, config_parse_alias_throttle;

/* Parses a route's "usage_plan_required" (obj: the struct route); refuses
 * true when the config has no usage plans (so "usage_plans" comes first). */
config_parse_fn config_parse_usage_plan_required;

/* Parses "usage_plans" (obj: the struct config) into c->usage_plans, each
 * with its API keys read from its file or environment variable; then
 * refuses a key that two plans share. Keys never appear in a message.
 * Problems are reported; what was parsed stays in c for
 * config_throttle_free(). */
config_parse_fn config_parse_usage_plans;

/* Frees what config_parse_usage_plans() put in c, every key wiped first
 * (a plan's buckets array, not the buckets); not c itself. Safe on a
 * partly parsed config. */
void config_throttle_free(struct config *c);

/* ---------------------------------------------- config_handler.c: handlers */

/* Parses a version's "handler" (obj: the struct fn_version, its fn and
 * name set) by its "type": an http url (resolved, an https one given its
 * client TLS context now), an Invoke endpoint and function name, or a Lua
 * file read and compiled. Problems are reported; what was parsed stays in
 * the version for config.c to free. */
config_parse_fn config_parse_handler;

/* --------------------------------------------------------- section helpers */

/* Returns 1 when s names a version: "$LATEST", or a published version
 * number (no sign, no leading zero); else 0. */
int config_version_name_ok(const char *s);

/* The function of c named by the len bytes at name (not NUL-terminated),
 * or NULL. c keeps it. */
const struct function *config_find_function(const struct config *c, const char *name, size_t len);

/* Checks that v is an array with at least one element; reports "expected
 * an array" or "expected at least one WHAT" otherwise. Returns the number
 * of elements, 0 after reporting. */
size_t config_want_array(struct config_loader *ld, json_t *v, const char *what);

/* The members of object v become an array of zeroed structs of size
 * bytes each (functions, versions, aliases, authorizers...). Returns the
 * array (the config owns it) and sets *n to the member count; returns NULL
 * with *n = 0 when v is not an object (reported), is empty (not an error
 * here: the caller decides) or memory ran out (ld->oom set). */
void *config_object_array(struct config_loader *ld, json_t *v, size_t size, size_t *n);

/* The elements of array v become an array of zeroed structs of size bytes
 * each (listen addresses, SNI certificates). Returns the array (the config
 * owns it) and sets *n to the element count; returns NULL with *n = 0 when
 * v is not an array or is empty (both reported, "expected at least one
 * WHAT") or memory ran out (ld->oom set). */
void *config_array_array(struct config_loader *ld, json_t *v, const char *what, size_t size,
                         size_t *n);

/* A name rule for config_parse_named(): why name cannot name a member,
 * as the end of "invalid KIND name NAME: ..." ("expected ..."), or NULL
 * when it can. */
typedef const char *config_name_rule(const char *name);

/* The usual rules: 1 to 64 of [A-Za-z0-9_-] (functions, authorizers);
 * the same with a letter first (aliases, usage plans). */
config_name_rule config_name_any, config_name_letter_first;

/* Parses the member v into elem, the i-th element of the array (its name
 * set, the path at its key); arg is config_parse_named()'s. Reports
 * problems with config_error(). */
typedef void config_named_fn(struct config_loader *ld, json_t *v, void *elem, size_t i, void *arg);

/* How config_parse_named() walks one kind of named object. */
struct config_named {
    const char *kind;       /* in "invalid KIND name ...": "function" */
    size_t size;            /* of an element */
    size_t name;            /* offset of the element's char *name */
    config_name_rule *rule; /* which names are good */
    /* Each member is parsed by parse when set, else by config_parse_fields()
     * with fields. */
    const struct config_field *fields;
    config_named_fn *parse;
};

/* The config_named of the struct T, whose names are in its member name. */
#define CONFIG_NAMED(T, what, r, tab, fn)                                                          \
    {                                                                                              \
        .kind = what, .size = sizeof(T), .name = FIELD_MEMBER(T, name, char *), .rule = r,         \
        .fields = tab, .parse = fn                                                                 \
    }

/* Walks an object of named objects (functions, versions, aliases, usage
 * plans, authorizers): arr is what config_object_array() made of v, with
 * spec->size bytes an element. For each member, in the object's order:
 * copies its key into the element's name (the element owns the copy),
 * reports a name spec->rule refuses, then parses the member into the
 * element (spec->parse, given arg, or spec->fields); problems are reported
 * at the member's path. Returns 0 when every member was walked; -1 when arr
 * is NULL (nothing done) or memory ran out (ld->oom set, the walk stopped
 * there). */
int config_parse_named(struct config_loader *ld, json_t *v, void *arr,
                       const struct config_named *spec, void *arg);

/* Why s is not a Lua function name (1 to 64 letters, digits and '_', no
 * digit first), or NULL. */
const char *config_check_lua_name(const char *s);

/* Reads and compiles (never runs) the Lua file named by v into t (file,
 * source, key; t->handler must be set already), reporting problems at the
 * current path. owner names what runs it, for the warm-state key. Returns
 * 0 or -1. */
int config_lua_file(struct config_loader *ld, json_t *v, struct lua_target *t, const char *owner);

#endif
