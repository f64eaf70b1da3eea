/* json_lines.c - a second, position-keeping pass over a JSON text mapping
 * each value's path to its line, and the path syntax shared with config.c.
 *
 * Nodes are stored as (parent, key or index) rather than as whole path
 * strings: memory stays linear in the text even when long keys nest deep,
 * and a lookup walks the path one component at a time, which is also what
 * finding the nearest existing ancestor needs. */
#include "json_lines.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NO_PARENT UINT32_MAX

struct jl_node {
    uint32_t parent; /* NO_PARENT for the root */
    uint32_t line;
    uint32_t is_key;
    uint32_t key_off; /* into keys, when is_key */
    uint32_t key_len; /* the key's length, or the element's index */
};

struct json_lines {
    struct jl_node *nodes;
    size_t n, ncap;
    char *keys; /* decoded member names, back to back */
    size_t keys_len, keys_cap;
    uint32_t *slots; /* open addressing: node id + 1, 0 = empty */
    size_t nslots;   /* a power of two, at least twice n */
};

/* A growable byte buffer for decoded strings. */
struct bytes {
    char *p;
    size_t len, cap;
};

/* One open container while scanning. */
struct frame {
    uint32_t node;
    uint32_t count;
    int is_array;
};

struct scan {
    const char *p, *end;
    uint32_t line;
    struct frame *stack;
    size_t depth, cap;
    struct bytes key;
};

/* Returns p with room for need elements (capacity *cap, doubled as
 * needed), or NULL when out of memory (p is then still valid). */
static void *grow(void *p, size_t *cap, size_t need, size_t elem)
{
    size_t ncap = *cap ? *cap : 16;
    void *np;

    if (need <= *cap)
        return p;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2 / elem)
            return NULL;
        ncap *= 2;
    }
    np = realloc(p, ncap * elem);
    if (np)
        *cap = ncap;
    return np;
}

static int bytes_put(struct bytes *b, const char *s, size_t len)
{
    char *np = grow(b->p, &b->cap, b->len + len + 1, 1);

    if (!np)
        return -1;
    b->p = np;
    memcpy(b->p + b->len, s, len);
    b->len += len;
    b->p[b->len] = '\0';
    return 0;
}

/* FNV-1a over the parent, the component's kind and its bytes or index. */
static uint64_t node_hash(uint32_t parent, int is_key, const char *key, size_t len)
{
    uint64_t h = 14695981039346656037ull;
    uint64_t head = (uint64_t)parent << 33 | (uint64_t)(is_key != 0) << 32 | (uint32_t)len;

    for (int i = 0; i < 64; i += 8)
        h = (h ^ ((head >> i) & 0xFF)) * 1099511628211ull;
    for (size_t i = 0; is_key && i < len; i++)
        h = (h ^ (unsigned char)key[i]) * 1099511628211ull;
    return h;
}

static uint64_t stored_hash(const struct json_lines *jl, const struct jl_node *nd)
{
    /* a document without any key has no key storage: NULL + 0 is
     * undefined in C, so index nodes hash no key bytes */
    const char *key = jl->keys ? jl->keys + nd->key_off : "";
    return node_hash(nd->parent, (int)nd->is_key, key, nd->key_len);
}

/* Returns the id of the child of parent named key (is_key) or at index
 * len (!is_key), or -1. */
static long child_find(const struct json_lines *jl, uint32_t parent, int is_key, const char *key,
                       size_t len)
{
    size_t mask, i;

    if (!jl->nslots || len > UINT32_MAX)
        return -1;
    mask = jl->nslots - 1;
    for (i = node_hash(parent, is_key, key, len) & mask; jl->slots[i]; i = (i + 1) & mask) {
        const struct jl_node *nd = &jl->nodes[jl->slots[i] - 1];
        if (nd->parent == parent && (int)nd->is_key == is_key && nd->key_len == len &&
            (!is_key || memcmp(jl->keys + nd->key_off, key, len) == 0))
            return (long)(jl->slots[i] - 1);
    }
    return -1;
}

/* Adds a node; key is NULL for an array element (index in len). Returns
 * its id, or -1 when out of memory or past what 32-bit ids hold. */
static long node_add(struct json_lines *jl, uint32_t parent, const char *key, size_t len,
                     uint32_t line)
{
    struct jl_node *nd, *nodes;

    if (jl->n >= UINT32_MAX - 1 || len > UINT32_MAX || jl->keys_len + len > UINT32_MAX)
        return -1;
    if (!(nodes = grow(jl->nodes, &jl->ncap, jl->n + 1, sizeof(*jl->nodes))))
        return -1;
    jl->nodes = nodes;
    nd = &jl->nodes[jl->n];
    nd->parent = parent;
    nd->line = line;
    nd->is_key = key != NULL;
    nd->key_off = (uint32_t)jl->keys_len;
    nd->key_len = (uint32_t)len;
    if (key) {
        char *keys = grow(jl->keys, &jl->keys_cap, jl->keys_len + len + 1, 1);
        if (!keys)
            return -1;
        jl->keys = keys;
        memcpy(jl->keys + jl->keys_len, key, len);
        jl->keys_len += len;
    }
    return (long)jl->n++;
}

static int hash_build(struct json_lines *jl)
{
    size_t cap = 8;

    while (cap < jl->n * 2)
        cap *= 2;
    jl->slots = calloc(cap, sizeof(*jl->slots));
    if (!jl->slots)
        return -1;
    jl->nslots = cap;
    /* The root has no parent and is never looked up as a child. */
    for (size_t id = 1; id < jl->n; id++) {
        size_t i = stored_hash(jl, &jl->nodes[id]) & (cap - 1);
        while (jl->slots[i])
            i = (i + 1) & (cap - 1);
        jl->slots[i] = (uint32_t)id + 1;
    }
    return 0;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reads the 4 hex digits at p; returns the code unit or -1. */
static long hex4(const char *p, const char *end)
{
    long v = 0;

    if (end - p < 4)
        return -1;
    for (int i = 0; i < 4; i++) {
        int d = hex_value(p[i]);
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

static int put_utf8(struct bytes *out, unsigned long cp)
{
    char u[4];
    size_t n;

    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return bytes_put(out, u, n);
}

/* Decodes the JSON string whose opening quote is at *pp into out (reset
 * first), the way jansson decodes it, and moves *pp past the closing
 * quote. Returns 0, -1 on malformed text, -2 when out of memory. */
static int string_decode(const char **pp, const char *end, struct bytes *out)
{
    const char *p = *pp + 1;

    out->len = 0;
    if (bytes_put(out, "", 0) < 0)
        return -2;
    while (p < end && *p != '"') {
        const char *run = p;
        unsigned long cp;
        long u, lo;
        char c;

        while (p < end && *p != '"' && *p != '\\')
            p++;
        if (p > run && bytes_put(out, run, (size_t)(p - run)) < 0)
            return -2;
        if (p >= end || *p == '"')
            break;
        if (end - p < 2)
            return -1;
        c = p[1];
        p += 2;
        switch (c) {
        case '"':
        case '\\':
        case '/':
            if (bytes_put(out, &c, 1) < 0)
                return -2;
            continue;
        case 'b':
            c = '\b';
            break;
        case 'f':
            c = '\f';
            break;
        case 'n':
            c = '\n';
            break;
        case 'r':
            c = '\r';
            break;
        case 't':
            c = '\t';
            break;
        case 'u':
            if ((u = hex4(p, end)) < 0)
                return -1;
            p += 4;
            cp = (unsigned long)u;
            /* A high surrogate pairs with the \u escape that follows. */
            if (u >= 0xD800 && u <= 0xDBFF && end - p >= 6 && p[0] == '\\' && p[1] == 'u' &&
                (lo = hex4(p + 2, end)) >= 0xDC00 && lo <= 0xDFFF) {
                cp = 0x10000 + (((unsigned long)u - 0xD800) << 10) + ((unsigned long)lo - 0xDC00);
                p += 6;
            }
            if (put_utf8(out, cp) < 0)
                return -2;
            continue;
        default:
            return -1;
        }
        if (bytes_put(out, &c, 1) < 0)
            return -2;
    }
    if (p >= end)
        return -1;
    *pp = p + 1;
    return 0;
}

static void skip_ws(struct scan *s)
{
    while (s->p < s->end) {
        char c = *s->p;
        if (c == '\n')
            s->line++;
        else if (c != ' ' && c != '\t' && c != '\r')
            return;
        s->p++;
    }
}

/* Skips a string value: its contents do not matter here. Returns 0, or -1
 * when it does not end. */
static int skip_string(struct scan *s)
{
    for (s->p++; s->p < s->end; s->p++) {
        if (*s->p == '\\' && s->end - s->p > 1)
            s->p++;
        else if (*s->p == '"')
            break;
    }
    if (s->p >= s->end)
        return -1;
    s->p++;
    return 0;
}

/* Skips a number or a literal (true, false, null). Returns 0, or -1 when
 * there is nothing there. */
static int skip_scalar(struct scan *s)
{
    const char *start = s->p;

    while (s->p < s->end && (strchr("+-.eE", *s->p) || (*s->p >= '0' && *s->p <= '9') ||
                             (*s->p >= 'a' && *s->p <= 'z')))
        s->p++;
    return s->p > start ? 0 : -1;
}

static int push(struct scan *s, uint32_t node, int is_array)
{
    struct frame *stack = grow(s->stack, &s->cap, s->depth + 1, sizeof(*s->stack));

    if (!stack)
        return -1;
    s->stack = stack;
    s->stack[s->depth++] = (struct frame){ node, 0, is_array };
    return 0;
}

enum scan_state { SCAN_VALUE, SCAN_FIRST, SCAN_NEXT, SCAN_AFTER };

/* Walks the text once, adding a node per value. Returns 0 when it reached
 * the end or a syntax fault (the index holds what came before), -1 when
 * out of memory. Iterative, so nesting depth costs heap, not stack. */
static int scan_text(struct json_lines *jl, struct scan *s)
{
    enum scan_state st = SCAN_VALUE;
    uint32_t cur;
    long id;

    skip_ws(s);
    if (s->p >= s->end)
        return 0;
    if ((id = node_add(jl, NO_PARENT, NULL, 0, s->line)) < 0)
        return -1;
    cur = (uint32_t)id;
    for (;;) {
        struct frame *top = s->depth ? &s->stack[s->depth - 1] : NULL;
        uint32_t line;
        int rc;

        skip_ws(s);
        switch (st) {
        case SCAN_VALUE:
            if (s->p >= s->end)
                return 0;
            if (*s->p == '{' || *s->p == '[') {
                if (push(s, cur, *s->p == '[') < 0)
                    return -1;
                s->p++;
                st = SCAN_FIRST;
            } else if (*s->p == '"') {
                if (skip_string(s) < 0)
                    return 0;
                st = SCAN_AFTER;
            } else {
                if (skip_scalar(s) < 0)
                    return 0;
                st = SCAN_AFTER;
            }
            break;
        case SCAN_FIRST:
        case SCAN_NEXT:
            if (s->p >= s->end)
                return 0;
            if (st == SCAN_FIRST && *s->p == (top->is_array ? ']' : '}')) {
                s->p++;
                s->depth--;
                st = SCAN_AFTER;
                break;
            }
            line = s->line;
            if (top->is_array) {
                id = node_add(jl, top->node, NULL, top->count, line);
            } else {
                if (*s->p != '"')
                    return 0;
                if ((rc = string_decode(&s->p, s->end, &s->key)) < 0)
                    return rc == -2 ? -1 : 0;
                skip_ws(s);
                if (s->p >= s->end || *s->p != ':')
                    return 0;
                s->p++;
                id = node_add(jl, top->node, s->key.p, s->key.len, line);
            }
            if (id < 0)
                return -1;
            top->count++;
            cur = (uint32_t)id;
            st = SCAN_VALUE;
            break;
        case SCAN_AFTER:
            if (!top || s->p >= s->end)
                return 0;
            if (*s->p == ',') {
                s->p++;
                st = SCAN_NEXT;
            } else if (*s->p == (top->is_array ? ']' : '}')) {
                s->p++;
                s->depth--;
            } else {
                return 0;
            }
            break;
        }
    }
}

struct json_lines *json_lines_build(const char *text, size_t len)
{
    struct json_lines *jl = calloc(1, sizeof(*jl));
    struct scan s = { 0 };
    int rc;

    if (!jl)
        return NULL;
    s.p = text;
    s.end = text + len;
    s.line = 1;
    rc = scan_text(jl, &s);
    free(s.stack);
    free(s.key.p);
    if (rc < 0 || hash_build(jl) < 0) {
        json_lines_free(jl);
        return NULL;
    }
    return jl;
}

void json_lines_free(struct json_lines *jl)
{
    if (!jl)
        return;
    free(jl->nodes);
    free(jl->keys);
    free(jl->slots);
    free(jl);
}

size_t json_lines_count(const struct json_lines *jl)
{
    return jl ? jl->n : 0;
}

/* A character that forces the bracket form of a key. */
static int key_special(unsigned char c)
{
    return c < 0x20 || c == 0x7f || c == '.' || c == '[' || c == ']' || c == '"' || c == '\\';
}

int json_lines_line(const struct json_lines *jl, const char *path)
{
    const char *p = path, *end;
    struct bytes key = { 0 };
    uint32_t cur = 0;

    if (!jl || jl->n == 0)
        return 0;
    end = path + strlen(path);
    while (p < end) {
        long child;

        if (*p == '[' && p + 1 < end && p[1] == '"') {
            const char *q = p + 1;
            if (string_decode(&q, end, &key) < 0 || q >= end || *q != ']')
                break;
            child = child_find(jl, cur, 1, key.p, key.len);
            p = q + 1;
        } else if (*p == '[') {
            uint64_t idx = 0;
            const char *q = p + 1;
            while (q < end && *q >= '0' && *q <= '9' && idx < UINT32_MAX)
                idx = idx * 10 + (uint64_t)(*q++ - '0');
            if (q == p + 1 || q >= end || *q != ']')
                break;
            if (idx > UINT32_MAX)
                break;
            child = child_find(jl, cur, 0, NULL, (size_t)idx);
            p = q + 1;
        } else {
            const char *q;
            if (p != path && *p++ != '.')
                break;
            for (q = p; q < end && *q != '.' && *q != '['; q++)
                ;
            child = child_find(jl, cur, 1, p, (size_t)(q - p));
            p = q;
        }
        if (child < 0)
            break;
        cur = (uint32_t)child;
    }
    free(key.p);
    return (int)jl->nodes[cur].line;
}

static int path_reserve(struct json_lines_path *p, size_t more)
{
    char *buf;

    if (p->failed)
        return -1;
    buf = more > SIZE_MAX - p->len - 1 ? NULL : grow(p->buf, &p->cap, p->len + more + 1, 1);
    if (!buf) {
        p->failed = 1;
        return -1;
    }
    p->buf = buf;
    return 0;
}

size_t json_lines_path_key(struct json_lines_path *p, const char *key)
{
    size_t mark = p->len, klen = strlen(key), need = 0;
    int plain = klen > 0;
    char *o;

    for (size_t i = 0; i < klen; i++) {
        unsigned char c = (unsigned char)key[i];
        if (key_special(c))
            plain = 0;
        need += c < 0x20 || c == 0x7f ? 6 : (c == '"' || c == '\\') ? 2 : 1;
    }
    if (path_reserve(p, plain ? klen + 1 : need + 4) < 0)
        return mark;
    o = p->buf + p->len;
    if (plain) {
        if (p->len)
            *o++ = '.';
        memcpy(o, key, klen);
        o += klen;
    } else {
        *o++ = '[';
        *o++ = '"';
        for (size_t i = 0; i < klen; i++) {
            unsigned char c = (unsigned char)key[i];
            if (c < 0x20 || c == 0x7f) {
                static const char hex[] = "0123456789abcdef";
                memcpy(o, "\\u00", 4);
                o[4] = hex[c >> 4];
                o[5] = hex[c & 15];
                o += 6;
                continue;
            }
            if (c == '"' || c == '\\')
                *o++ = '\\';
            *o++ = (char)c;
        }
        *o++ = '"';
        *o++ = ']';
    }
    *o = '\0';
    p->len = (size_t)(o - p->buf);
    return mark;
}

size_t json_lines_path_index(struct json_lines_path *p, size_t i)
{
    size_t mark = p->len;
    char digits[24];
    int n = 0;

    /* Written backwards: the digits of i, least significant first. */
    do {
        digits[n++] = (char)('0' + i % 10);
        i /= 10;
    } while (i);
    if (path_reserve(p, (size_t)n + 2) < 0)
        return mark;
    p->buf[p->len++] = '[';
    while (n)
        p->buf[p->len++] = digits[--n];
    p->buf[p->len++] = ']';
    p->buf[p->len] = '\0';
    return mark;
}

void json_lines_path_cut(struct json_lines_path *p, size_t mark)
{
    if (mark < p->len) {
        p->len = mark;
        p->buf[mark] = '\0';
    }
}

const char *json_lines_path_str(const struct json_lines_path *p)
{
    return p->buf ? p->buf : "";
}

void json_lines_path_release(struct json_lines_path *p)
{
    free(p->buf);
    *p = (struct json_lines_path){ 0 };
}
