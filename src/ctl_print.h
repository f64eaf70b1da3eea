/* ctl_print.h - what sluicectl prints for people: values of the admin
 * API's JSON formatted for display (shares, durations, times, weights,
 * pins, lists), bounded text blocks, and aligned tables. Formatting into a
 * caller's buffer cuts what does not fit, which is harmless for display. */
#ifndef SLUICE_CTL_PRINT_H
#define SLUICE_CTL_PRINT_H

#include <jansson.h>
#include <stddef.h>

#include "ctl_base.h"

#define MAX_VERSIONS 32 /* versions shown in a deployment's figures */

/* A bounded text block for what is printed: a line that does not fit is
 * cut, which is harmless for display and keeps every write bounded. */
struct text {
    char s[16384];
    size_t len;
    int lines;
};

/* Appends the formatted text to t (cut when t is full) and counts its
 * newlines in t->lines. Cannot fail. */
void text_add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The fmt_*() functions write into out[n] and return out (fmt_json may
 * return a string of v instead), so they can be used as printf arguments.
 * None fails: what does not fit is cut. */

/* A share as "10%", or "12.5%" when a whole number would hide the
 * difference. */
const char *fmt_pct(double w, char *out, size_t n);

/* Seconds as "42 s", "3 min 5 s" or "2 h 10 min" (negative or NaN: 0). */
const char *fmt_duration(double s, char *out, size_t n);

/* A unix time as local "YYYY-MM-DD HH:MM:SS (12 s ago)". */
const char *fmt_time(double t, char *out, size_t n);

/* Any JSON value as one short string for a table cell: strings as they
 * are, NULL or null as "-", containers compact. May return into v. */
const char *fmt_json(const json_t *v, char *out, size_t n);

/* weights {"2":0.1} as "2=10%", "-" when there are none. */
const char *fmt_weights(const json_t *weights, char *out, size_t n);

/* One pin {"when":{"$claim.tenant":"acme"},"version":"2"} as
 * "$claim.tenant=acme -> 2" (a list of values as "a|b"; the arrow is
 * U+2192 when c->utf8). */
const char *fmt_pin(const struct ctl *c, const json_t *pin, char *out, size_t n);

/* A JSON array of names as "a, b, c", sorted as versions are (names
 * sort alphabetically), "-" when empty. */
const char *fmt_list(const json_t *arr, char *out, size_t n);

/* The string member key of o, or NULL when it is absent or not a string
 * (o may be NULL). Owned by o. */
const char *jstr(const json_t *o, const char *key);

/* jstr() for display: "-" instead of NULL. */
const char *jtext(const json_t *o, const char *key);

/* The number member key of o, or dflt when it is absent, null or not a
 * number. */
double jnum(const json_t *o, const char *key, double dflt);

/* qsort() comparison of two const char * versions, in the order people
 * count them: 1, 2, 10, then names such as $LATEST. */
int version_qsort_cmp(const void *a, const void *b);

/* Puts up to max keys of object o into keys, sorted as versions. The keys
 * are owned by o. Returns how many. */
size_t sorted_keys(const json_t *o, const char **keys, size_t max);

/* Rows of cells printed in aligned columns; the first row is usually the
 * header. Cells are copies, owned by the table. Set ncols (at most 12
 * are printed) and zero the rest before the first row: { .ncols = 3 }. */
struct table {
    size_t ncols, nrows, cap;
    char **cells; /* row-major */
};

/* Adds a row of t->ncols cells, each a const char * (NULL shows "-"),
 * copied. Out of memory exits. */
void table_row(struct table *t, ...);

/* Prints the table to stdout, each row after indent: columns as wide as
 * their widest cell (in UTF-8 code points), two spaces apart, no trailing
 * blanks. */
void table_print(const struct table *t, const char *indent);

/* Frees the cells; t can take rows again afterwards. */
void table_free(struct table *t);

/* Adds a "key:" / value row (key "" leaves the first cell empty) to a
 * two-column table; the value is formatted, cut at 2 KiB. Out of memory
 * exits. */
void kv(struct table *t, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
