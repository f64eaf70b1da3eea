/* config_parse.c - the table-driven walker behind config.c: fills structs
 * from JSON objects by tables of fields and collects every problem found,
 * with its JSON path and line, instead of stopping at the first. */
#include "config_parse.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

_Static_assert(sizeof(enum log_level) == sizeof(int), "FIELD_ENUM writes an int");

/* Quotes len bytes of s for a message: escaped, cut at CONFIG_SHOW_LIMIT bytes
 * (on a UTF-8 boundary). Returns buf (CONFIG_SHOW_BUF bytes). */
const char *config_show_n(char *buf, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0, n = len;

    if (n > CONFIG_SHOW_LIMIT) {
        n = CONFIG_SHOW_LIMIT;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    buf[o++] = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            buf[o++] = '\\';
            buf[o++] = 'x';
            buf[o++] = hex[c >> 4];
            buf[o++] = hex[c & 15];
        } else {
            buf[o++] = (char)c;
        }
    }
    if (n < len) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

const char *config_show(char *buf, const char *s)
{
    return config_show_n(buf, s, strlen(s));
}

/* Appends one error to errs; on failure marks the load out of memory. */
void config_error_add(struct config_loader *ld, const char *path, int line, const char *msg)
{
    struct config_errors *errs = ld->errs;
    struct config_error e = { 0 };

    /* The array has room for n entries when n is 0 or a power of two >= 8
     * is reached: grow by doubling then, so appends stay amortised O(1)
     * without a capacity field in the public struct. */
    if (errs->n == 0 || (errs->n >= 8 && (errs->n & (errs->n - 1)) == 0)) {
        size_t cap = errs->n ? errs->n * 2 : 8;
        struct config_error *v = realloc(errs->v, cap * sizeof(*v));
        if (!v) {
            ld->oom = 1;
            return;
        }
        errs->v = v;
    }
    e.file = strdup(ld->file);
    e.path = strdup(path);
    e.message = strdup(msg);
    e.line = line > 0 ? line : 0;
    if (!e.file || !e.path || !e.message) {
        free(e.file);
        free(e.path);
        free(e.message);
        ld->oom = 1;
        return;
    }
    errs->v[errs->n++] = e;
}

/* Reports a problem with the value at the current path. */
void config_error(struct config_loader *ld, const char *fmt, ...)
{
    char msg[CONFIG_MSG_MAX];
    const char *path = json_lines_path_str(&ld->path);
    va_list ap;

    va_start(ap, fmt);
    if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
        msg[0] = '\0';
    va_end(ap);
    config_error_add(ld, path, json_lines_line(ld->lines, path), msg);
}

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number with a fraction";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "something else";
}

void config_type_error(struct config_loader *ld, const json_t *v, const char *want)
{
    config_error(ld, "expected %s, not %s", want, json_kind(v));
}

char *config_strdup(struct config_loader *ld, const char *s)
{
    char *copy = strdup(s);

    if (!copy)
        ld->oom = 1;
    return copy;
}

size_t config_path_key(struct config_loader *ld, const char *key)
{
    return json_lines_path_key(&ld->path, key);
}

size_t config_path_index(struct config_loader *ld, size_t i)
{
    return json_lines_path_index(&ld->path, i);
}

void config_path_cut(struct config_loader *ld, size_t mark)
{
    json_lines_path_cut(&ld->path, mark);
}

/* Orders this load's errors by line, keeping the order of equal lines. */
void config_errors_sort(struct config_errors *errs, size_t first)
{
    struct config_error *v;
    size_t n;

    /* no errors at all: v is NULL, and NULL + 0 is undefined in C */
    if (!errs->v || errs->n <= first)
        return;
    v = errs->v + first;
    n = errs->n - first;

    /* Insertion sort: stable, and the list is nearly sorted already. */
    for (size_t i = 1; i < n; i++) {
        struct config_error e = v[i];
        size_t j = i;
        while (j > 0 && v[j - 1].line > e.line) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = e;
    }
}

const char *config_want_string(struct config_loader *ld, json_t *v)
{
    if (!json_is_string(v)) {
        config_type_error(ld, v, "a string");
        return NULL;
    }
    return json_string_value(v);
}

int config_want_uint(struct config_loader *ld, json_t *v, uint64_t min, uint64_t max, uint64_t *out)
{
    json_int_t i;

    if (!json_is_integer(v)) {
        config_type_error(ld, v, "an integer");
        return -1;
    }
    i = json_integer_value(v);
    if (i < 0 || (uint64_t)i < min || (uint64_t)i > max) {
        config_error(ld, "must be between %llu and %llu, not %lld", (unsigned long long)min,
                     (unsigned long long)max, (long long)i);
        return -1;
    }
    *out = (uint64_t)i;
    return 0;
}

int config_parse_strings(struct config_loader *ld, json_t *v, const char *what,
                         const char *(*check)(const char *s), char ***out, size_t *n)
{
    size_t i;
    json_t *item;
    int rc = 0;

    if (!json_is_array(v)) {
        config_type_error(ld, v, "an array");
        return -1;
    }
    if (json_array_size(v) == 0) {
        if (!what)
            return 0;
        config_error(ld, "expected at least one %s", what);
        return -1;
    }
    *out = calloc(json_array_size(v), sizeof(**out));
    if (!*out) {
        ld->oom = 1;
        return -1;
    }
    json_array_foreach(v, i, item)
    {
        size_t mark = config_path_index(ld, i);
        const char *s = config_want_string(ld, item), *why = NULL;

        if (s && check)
            why = check(s);
        if (why)
            config_error(ld, "%s", why);
        if (!s || why)
            rc = -1;
        else if (((*out)[*n] = config_strdup(ld, s)) != NULL)
            (*n)++;
        config_path_cut(ld, mark);
    }
    return ld->oom ? -1 : rc;
}

/* "64 KiB", "16 MiB", "100 bytes". */
static void size_text(char *buf, size_t cap, size_t n)
{
    if (n >= (1u << 20) && n % (1u << 20) == 0)
        fmt_buf(buf, cap, "%zu MiB", n >> 20);
    else if (n >= 1024 && n % 1024 == 0)
        fmt_buf(buf, cap, "%zu KiB", n >> 10);
    else
        fmt_buf(buf, cap, "%zu bytes", n);
}

char *config_read_file(const char *path, size_t cap, size_t *len, char *why, size_t whylen)
{
    /* Room for one byte past the cap tells "exactly cap" from "more". A
     * small cap (a secret) gets its whole buffer at once: no realloc
     * leaves copies of the text behind. */
    size_t bufcap = cap <= 65536 ? cap + 1 : 65536, n = 0;
    char *buf = NULL, sz[32];
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        /* %m rather than strerror(): no buffer shared between threads. */
        fmt_buf(why, whylen, "cannot open: %m");
        return NULL;
    }
    buf = malloc(bufcap + 1);
    if (!buf)
        goto nomem;
    while (n <= cap) {
        ssize_t got;
        if (n == bufcap) {
            size_t ncap = bufcap * 2 > cap + 1 ? cap + 1 : bufcap * 2;
            char *nb = realloc(buf, ncap + 1);
            if (!nb)
                goto nomem;
            buf = nb;
            bufcap = ncap;
        }
        got = read(fd, buf + n, bufcap - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            fmt_buf(why, whylen, "cannot read: %m");
            goto fail;
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    if (n > cap) {
        size_text(sz, sizeof(sz), cap);
        fmt_buf(why, whylen, "file is larger than %s", sz);
        goto fail;
    }
    close(fd);
    buf[n] = '\0';
    *len = n;
    return buf;
nomem:
    fmt_buf(why, whylen, "out of memory");
fail:
    close(fd);
    if (buf)
        explicit_bzero(buf, n);
    free(buf);
    return NULL;
}

static void field_default(struct config_loader *ld, const struct config_field *f, void *obj)
{
    char *at = (char *)obj + f->offset;

    if (f->flags & FIELD_INHERIT)
        return;
    switch (f->kind) {
    case FIELD_U32:
        *(uint32_t *)(void *)at = (uint32_t)f->def;
        break;
    case FIELD_U64:
        *(uint64_t *)(void *)at = f->def;
        break;
    case FIELD_STRING:
        if (f->def_str)
            *(char **)(void *)at = config_strdup(ld, f->def_str);
        break;
    case FIELD_ENUM:
        *(int *)(void *)at = (int)f->def;
        break;
    case FIELD_OBJECT:
        for (const struct config_field *sf = f->sub; sf->name; sf++)
            field_default(ld, sf, at);
        break;
    case FIELD_CUSTOM:
        if (f->def_str) {
            json_t *d = json_loads(f->def_str, 0, NULL);
            if (!d) { /* the tables' own text: only memory can fail */
                ld->oom = 1;
                break;
            }
            f->parse(ld, f, d, obj);
            json_decref(d);
        }
        break;
    case FIELD_UNSUPPORTED:
        break;
    }
}

static void field_enum(struct config_loader *ld, const struct config_field *f, json_t *v, int *out)
{
    const char *s = config_want_string(ld, v);
    char list[CONFIG_MSG_MAX / 2] = "";

    if (!s)
        return;
    for (int i = 0; f->names[i]; i++) {
        if (strcmp(s, f->names[i]) == 0) {
            *out = i;
            return;
        }
        str_append(list, sizeof(list), i ? ", \"" : "\"");
        str_append(list, sizeof(list), f->names[i]);
        str_append(list, sizeof(list), "\"");
    }
    config_error(ld, "expected one of %s", list);
}

static void field_value(struct config_loader *ld, const struct config_field *f, json_t *v,
                        void *obj)
{
    char *at = (char *)obj + f->offset;
    const char *s, *why;
    uint64_t u;

    switch (f->kind) {
    case FIELD_U32:
        if (config_want_uint(ld, v, f->min, f->max, &u) == 0)
            *(uint32_t *)(void *)at = (uint32_t)u;
        break;
    case FIELD_U64:
        if (config_want_uint(ld, v, f->min, f->max, &u) == 0)
            *(uint64_t *)(void *)at = u;
        break;
    case FIELD_STRING:
        if (!(s = config_want_string(ld, v)))
            break;
        if (f->check && (why = f->check(s))) {
            config_error(ld, "%s", why);
            break;
        }
        *(char **)(void *)at = config_strdup(ld, s);
        break;
    case FIELD_ENUM:
        field_enum(ld, f, v, (int *)(void *)at);
        break;
    case FIELD_OBJECT:
        config_parse_fields(ld, v, f->sub, at);
        break;
    case FIELD_CUSTOM:
        f->parse(ld, f, v, obj);
        break;
    case FIELD_UNSUPPORTED:
        config_error(ld, "%s", f->msg);
        break;
    }
}

static const struct config_field *field_find(const struct config_field *tab, const char *name)
{
    for (; tab->name; tab++)
        if (strcmp(tab->name, name) == 0)
            return tab;
    return NULL;
}

/* Fills the struct at dst from the JSON object obj by the table tab:
 * unknown keys, missing required keys and every field's own problems are
 * reported; absent fields get their defaults. Returns 0, or -1 when obj is
 * not an object (reported too). */
int config_parse_fields(struct config_loader *ld, json_t *obj, const struct config_field *tab,
                        void *dst)
{
    const char *key;
    json_t *v;

    if (!json_is_object(obj)) {
        config_type_error(ld, obj, "an object");
        return -1;
    }
    json_object_foreach(obj, key, v)
    {
        if (!field_find(tab, key)) {
            char b[CONFIG_SHOW_BUF];
            size_t mark = config_path_key(ld, key);
            config_error(ld, "unknown key %s", config_show(b, key));
            config_path_cut(ld, mark);
        }
    }
    for (const struct config_field *f = tab; f->name && !ld->oom; f++) {
        size_t mark = config_path_key(ld, f->name);
        v = json_object_get(obj, f->name);
        if (v)
            field_value(ld, f, v, dst);
        else if (f->flags & FIELD_REQUIRED)
            config_error(ld, "missing required key \"%s\"", f->name);
        else
            field_default(ld, f, dst);
        config_path_cut(ld, mark);
    }
    return 0;
}

/* ------------------------------------------- shared by the section parsers */

/* A key the caller has already looked at (a handler's "type"). */
void config_parse_checked_elsewhere(struct config_loader *ld, const struct config_field *f,
                                    json_t *v, void *obj)
{
}

/* Returns 1 when s is 1..max of [A-Za-z0-9_-], the first a letter when
 * letter_first. */
int config_name_ok(const char *s, size_t max, int letter_first)
{
    size_t n = 0;

    for (; s[n]; n++) {
        unsigned char c = (unsigned char)s[n];
        int letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
        if (n == 0 && letter_first && !letter)
            return 0;
        if (!letter && !(c >= '0' && c <= '9') && c != '_' && c != '-')
            return 0;
        if (n >= max)
            return 0;
    }
    return n > 0;
}

/* Writes the supported kinds' names, quoted, into buf; returns buf. */
static const char *kinds_supported(const struct config_kind *kinds, char *buf, size_t cap)
{
    buf[0] = '\0';
    for (; kinds->name; kinds++) {
        if (!kinds->fields)
            continue;
        str_append(buf, cap, buf[0] ? ", \"" : "\"");
        str_append(buf, cap, kinds->name);
        str_append(buf, cap, "\"");
    }
    return buf;
}

/* Reads the "type" of the object v (what: "handler", "authorizer") and
 * returns its kind when this build runs it; else NULL, with the problem
 * reported. Without a usable type the other keys cannot be judged, so the
 * caller leaves them alone. */
const struct config_kind *config_pick_kind(struct config_loader *ld, json_t *v,
                                           const struct config_kind *kinds, const char *what)
{
    const struct config_kind *kind = NULL;
    const char *name;
    char b[CONFIG_SHOW_BUF], list[128];
    json_t *type;
    size_t mark;

    if (!json_is_object(v)) {
        config_type_error(ld, v, "an object");
        return NULL;
    }
    type = json_object_get(v, "type");
    mark = config_path_key(ld, "type");
    if (!type)
        config_error(ld, "missing required key \"type\"");
    else if ((name = config_want_string(ld, type)) != NULL) {
        for (const struct config_kind *k = kinds; k->name && !kind; k++)
            if (strcmp(name, k->name) == 0)
                kind = k;
        if (!kind)
            config_error(ld, "unknown %s type %s (expected %s)", what, config_show(b, name),
                         kinds_supported(kinds, list, sizeof(list)));
        else if (!kind->fields)
            config_error(ld, "%s type %s is not supported yet", what, config_show(b, name));
    }
    config_path_cut(ld, mark);
    return kind && kind->fields ? kind : NULL;
}

void config_free_strings(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* count zeroed structs of size bytes, *n set to count; NULL with ld->oom
 * set when memory ran out. */
static void *zeroed_array(struct config_loader *ld, size_t count, size_t size, size_t *n)
{
    void *arr = calloc(count, size);

    if (!arr) {
        ld->oom = 1;
        return NULL;
    }
    *n = count;
    return arr;
}

void *config_object_array(struct config_loader *ld, json_t *v, size_t size, size_t *n)
{
    *n = 0;
    if (!json_is_object(v)) {
        config_type_error(ld, v, "an object");
        return NULL;
    }
    if (json_object_size(v) == 0)
        return NULL;
    return zeroed_array(ld, json_object_size(v), size, n);
}

void *config_array_array(struct config_loader *ld, json_t *v, const char *what, size_t size,
                         size_t *n)
{
    *n = 0;
    if (!config_want_array(ld, v, what))
        return NULL;
    return zeroed_array(ld, json_array_size(v), size, n);
}

const char *config_name_any(const char *name)
{
    return config_name_ok(name, CONFIG_MAX_NAME, 0)
               ? NULL
               : "expected 1 to 64 letters, digits, '_' or '-'";
}

const char *config_name_letter_first(const char *name)
{
    return config_name_ok(name, CONFIG_MAX_NAME, 1)
               ? NULL
               : "expected a letter, then up to 63 letters, digits, '_' or '-'";
}

int config_parse_named(struct config_loader *ld, json_t *v, void *arr,
                       const struct config_named *spec, void *arg)
{
    const char *key;
    json_t *mv;
    size_t i = 0;

    if (!arr)
        return -1;
    json_object_foreach(v, key, mv)
    {
        void *elem = (char *)arr + i * spec->size;
        char **name = (char **)(void *)((char *)elem + spec->name);
        char b[CONFIG_SHOW_BUF];
        const char *why;
        size_t mark;

        if (!(*name = config_strdup(ld, key)))
            return -1;
        mark = config_path_key(ld, key);
        if ((why = spec->rule(key)) != NULL)
            config_error(ld, "invalid %s name %s: %s", spec->kind, config_show(b, key), why);
        if (spec->parse)
            spec->parse(ld, mv, elem, i, arg);
        else
            config_parse_fields(ld, mv, spec->fields, elem);
        config_path_cut(ld, mark);
        if (ld->oom)
            return -1;
        i++;
    }
    return 0;
}

size_t config_want_array(struct config_loader *ld, json_t *v, const char *what)
{
    if (!json_is_array(v)) {
        config_type_error(ld, v, "an array");
        return 0;
    }
    if (json_array_size(v) == 0) {
        config_error(ld, "expected at least one %s", what);
        return 0;
    }
    return json_array_size(v);
}
