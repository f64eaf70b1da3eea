/* selector.h - "$request.header.NAME" and its kin: where in a request (or
 * in its verified identity) a value comes from. Authorizers read their
 * identity sources with them, aliases their pins and sticky_by. Parsing
 * happens at config load; evaluation is per request, allocation-free, and
 * returns slices into the request or its auth result. */
#ifndef SLUICE_SELECTOR_H
#define SLUICE_SELECTOR_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct request;
struct http_request_head;

enum selector_kind {
    SELECTOR_HEADER = 0, /* $request.header.NAME: the first such header */
    SELECTOR_QUERY,      /* $request.querystring.NAME: the first NAME=, as sent */
    SELECTOR_COOKIE,     /* $request.cookie.NAME: the first such cookie */
    SELECTOR_IP,         /* $request.ip: the client's address as text */
    SELECTOR_CLAIM,      /* $claim.NAME: a verified token's claim */
    SELECTOR_PRINCIPAL,  /* $principal: the authorizer's principal */
};

/* Sets of kinds a caller accepts, for selector_parse(). */
#define SELECTOR_KIND_BIT(k) (1u << (k))
#define SELECTOR_REQUEST_KINDS                                                                     \
    (SELECTOR_KIND_BIT(SELECTOR_HEADER) | SELECTOR_KIND_BIT(SELECTOR_QUERY) |                      \
     SELECTOR_KIND_BIT(SELECTOR_COOKIE))
#define SELECTOR_ALL_KINDS                                                                         \
    (SELECTOR_REQUEST_KINDS | SELECTOR_KIND_BIT(SELECTOR_IP) | SELECTOR_KIND_BIT(SELECTOR_CLAIM) | \
     SELECTOR_KIND_BIT(SELECTOR_PRINCIPAL))

struct selector {
    enum selector_kind kind;
    char *name;      /* header names lower-cased, others as written; NULL for ip, principal */
    size_t name_len; /* strlen(name), 0 without one */
};

/* A claim that is an integer or a boolean is given as its JSON text,
 * written into a buffer of this many bytes the caller provides. */
#define SELECTOR_VALUE_BUF 24

/* An address range: "10.0.0.0/8", "::1/128", or one address (a full
 * prefix). IPv4-mapped IPv6 ranges are kept as IPv4. */
struct selector_range {
    uint8_t family; /* 4 or 6 */
    uint8_t bits;   /* prefix length, at most 32 or 128 */
    uint8_t addr[16];
};

/* Checks the selector text s against the kinds in the mask kinds
 * (SELECTOR_KIND_BIT()s). Returns 0 with *kind set and *name a slice of s
 * (empty for ip and principal), or -1 with a one-line reason in why
 * (capacity whylen) that does not quote s. Allocates nothing. */
int selector_parse(const char *s, unsigned kinds, enum selector_kind *kind, struct slice *name,
                   char *why, size_t whylen);

/* Fills sel with kind and a copy of name (lower-cased for a header).
 * Returns 0, or -1 when out of memory (sel is then empty). The copy is
 * released by selector_clear(). */
int selector_init(struct selector *sel, enum selector_kind kind, struct slice name);

/* Frees what selector_init() made and empties sel. An empty sel is a no-op. */
void selector_clear(struct selector *sel);

/* Returns 1 when a and b select the same thing, else 0. */
int selector_same(const struct selector *a, const struct selector *b);

/* The value sel takes in req: returns 1 and sets *out, or 0 when there is
 * none (absent header, parameter, cookie or claim; a claim that is not a
 * string, an integer or a boolean; no auth result). A present but empty
 * value returns 1 with an empty *out. *out points into the request, its
 * auth result or buf (SELECTOR_VALUE_BUF bytes), valid while they live. */
int selector_value(const struct selector *sel, const struct request *req, char *buf,
                   struct slice *out);

/* The pieces selector_value() is made of, for callers holding only a head
 * or a query string. Each returns the value, or SLICE_NULL (ptr NULL) when
 * absent. header: name_len bytes of name, compared ASCII case-insensitively. */
struct slice selector_header(const struct http_request_head *h, const char *name, size_t name_len);
struct slice selector_query(struct slice query, const char *name, size_t name_len);
struct slice selector_cookie(const struct http_request_head *h, const char *name, size_t name_len);

/* Parses "ADDR" or "ADDR/BITS" (IPv4 or IPv6, no zone) into *r. Returns 0,
 * or -1 with a reason in why. */
int selector_range_parse(const char *s, struct selector_range *r, char *why, size_t whylen);

/* Parses the address text ip (len bytes, e.g. a request's client_ip) into
 * *r as a full-prefix range. Returns 0, or -1 when it is not an address. */
int selector_addr_parse(struct slice ip, struct selector_range *r);

/* Returns 1 when the address addr (a full-prefix range from
 * selector_addr_parse()) lies in range, else 0. */
int selector_range_has(const struct selector_range *range, const struct selector_range *addr);

#endif
