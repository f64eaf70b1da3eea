/* ctl_print.c - sluicectl's formatting of the admin API's JSON for
 * people, its bounded text blocks and its aligned tables. */
#include "ctl_print.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TABLE_MAX_COLS 12

void text_add(struct text *t, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (t->len >= sizeof t->s - 1)
        return;
    va_start(ap, fmt);
    n = vsnprintf(t->s + t->len, sizeof t->s - t->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    for (const char *p = t->s + t->len; *p; p++)
        t->lines += *p == '\n';
    t->len += (size_t)n < sizeof t->s - t->len ? (size_t)n : sizeof t->s - t->len - 1;
}

/* "10%", or "12.5%" when a whole number would hide the difference. */
const char *fmt_pct(double w, char *out, size_t n)
{
    double p = w * 100.0;

    snprintf(out, n, fabs(p - round(p)) < 0.05 ? "%.0f%%" : "%.1f%%", p);
    return out;
}

const char *fmt_duration(double s, char *out, size_t n)
{
    if (!(s >= 0)) /* also NaN */
        s = 0;
    if (s < 120)
        snprintf(out, n, "%.0f s", s);
    else if (s < 7200)
        snprintf(out, n, "%d min %d s", (int)s / 60, (int)s % 60);
    else
        snprintf(out, n, "%d h %d min", (int)(s / 3600), (int)s % 3600 / 60);
    return out;
}

/* A unix time as local "YYYY-MM-DD HH:MM:SS (12 s ago)". */
const char *fmt_time(double t, char *out, size_t n)
{
    time_t tt = (time_t)t;
    struct tm tm;
    char when[64], ago[48];

    if (!localtime_r(&tt, &tm) || !strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm))
        snprintf(when, sizeof when, "%.0f", t);
    snprintf(out, n, "%s (%s ago)", when, fmt_duration(difftime(time(NULL), tt), ago, sizeof ago));
    return out;
}

/* Any JSON value as one short string for a table cell: strings as they
 * are, null as "-", containers compact. May return into v or into out. */
const char *fmt_json(const json_t *v, char *out, size_t n)
{
    char *d;

    if (!v || json_is_null(v))
        return "-";
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(out, n, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    } else if (json_is_real(v)) {
        snprintf(out, n, "%g", json_real_value(v));
    } else if (json_is_boolean(v)) {
        snprintf(out, n, "%s", json_is_true(v) ? "true" : "false");
    } else {
        d = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
        if (!d)
            out_of_memory();
        snprintf(out, n, "%s", d);
        free(d);
    }
    return out;
}

const char *jstr(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* A string member for display: "-" when it is absent or not a string. */
const char *jtext(const json_t *o, const char *key)
{
    const char *s = jstr(o, key);

    return s ? s : "-";
}

/* A number member, or dflt when it is absent, null or not a number. */
double jnum(const json_t *o, const char *key, double dflt)
{
    const json_t *v = json_object_get(o, key);

    return json_is_number(v) ? json_number_value(v) : dflt;
}

static int is_number_text(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

/* Versions in the order people count them: 1, 2, 10, then $LATEST. */
static int version_cmp(const char *a, const char *b)
{
    int an = is_number_text(a), bn = is_number_text(b);
    size_t al = strlen(a), bl = strlen(b);

    if (an != bn)
        return an ? -1 : 1;
    if (an && al != bl)
        return al < bl ? -1 : 1;
    return strcmp(a, b);
}

int version_qsort_cmp(const void *a, const void *b)
{
    return version_cmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of an object, sorted as versions, into keys[max]. */
size_t sorted_keys(const json_t *o, const char **keys, size_t max)
{
    const char *k;
    json_t *v;
    size_t n = 0;

    json_object_foreach((json_t *)o, k, v)
    {
        if (n < max)
            keys[n++] = k;
    }
    qsort(keys, n, sizeof *keys, version_qsort_cmp);
    return n;
}

/* weights {"2":0.1} as "2=10%", "-" when there are none. */
const char *fmt_weights(const json_t *weights, char *out, size_t n)
{
    const char *keys[MAX_VERSIONS];
    size_t nk = json_is_object(weights) ? sorted_keys(weights, keys, MAX_VERSIONS) : 0;
    size_t len = 0;
    char pct[32];

    snprintf(out, n, "-");
    for (size_t i = 0; i < nk && len < n; i++) {
        double w = jnum(weights, keys[i], 0);
        int k = snprintf(out + len, n - len, "%s%s=%s", i ? ", " : "", keys[i],
                         fmt_pct(w, pct, sizeof pct));
        if (k < 0)
            break;
        len += (size_t)k;
    }
    return out;
}

/* One pin {"when":{"$claim.tenant":"acme"},"version":"2"} as
 * "$claim.tenant=acme -> 2" (a list of values as "a|b"). */
const char *fmt_pin(const struct ctl *c, const json_t *pin, char *out, size_t n)
{
    const json_t *when = json_object_get(pin, "when"), *v;
    const char *sel;
    size_t len = 0;
    char tmp[256];

    out[0] = '\0';
    json_object_foreach((json_t *)when, sel, v)
    {
        int k;
        if (json_is_array(v)) {
            size_t i, tl = 0;
            const json_t *e;
            tmp[0] = '\0';
            json_array_foreach(v, i, e)
            {
                char one[128];
                int m = snprintf(tmp + tl, sizeof tmp - tl, "%s%s", i ? "|" : "",
                                 fmt_json(e, one, sizeof one));
                if (m < 0 || (size_t)m >= sizeof tmp - tl)
                    break;
                tl += (size_t)m;
            }
            k = snprintf(out + len, n - len, "%s%s=%s", len ? " and " : "", sel, tmp);
        } else {
            k = snprintf(out + len, n - len, "%s%s=%s", len ? " and " : "", sel,
                         fmt_json(v, tmp, sizeof tmp));
        }
        if (k < 0 || (size_t)k >= n - len)
            return out;
        len += (size_t)k;
    }
    snprintf(out + len, n - len, " %s %s", c->utf8 ? "\u2192" : "->",
             fmt_json(json_object_get(pin, "version"), tmp, sizeof tmp));
    return out;
}

/* A JSON array of names as "a, b, c", sorted as versions are (names
 * sort alphabetically), "-" when empty. */
const char *fmt_list(const json_t *arr, char *out, size_t n)
{
    const char *names[256];
    size_t i, count = 0, len = 0;
    const json_t *v;

    json_array_foreach(arr, i, v)
    {
        if (json_is_string(v) && count < sizeof names / sizeof names[0])
            names[count++] = json_string_value(v);
    }
    qsort(names, count, sizeof names[0], version_qsort_cmp);
    snprintf(out, n, "-");
    for (i = 0; i < count; i++) {
        int k = snprintf(out + len, n - len, "%s%s", i ? ", " : "", names[i]);
        if (k < 0 || (size_t)k >= n - len)
            break;
        len += (size_t)k;
    }
    return out;
}

/* Display width of a UTF-8 string: code points, not bytes, so an arrow
 * in a cell does not shift its column. */
static size_t text_width(const char *s)
{
    size_t w = 0;

    for (; *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

void table_row(struct table *t, ...)
{
    va_list ap;

    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **cells = realloc(t->cells, cap * t->ncols * sizeof *cells);
        if (!cells)
            out_of_memory();
        t->cells = cells;
        t->cap = cap;
    }
    va_start(ap, t);
    for (size_t i = 0; i < t->ncols; i++) {
        const char *s = va_arg(ap, const char *);
        t->cells[t->nrows * t->ncols + i] = xstrdup(s ? s : "-");
    }
    va_end(ap);
    t->nrows++;
}

/* Prints the table: columns as wide as their widest cell, two spaces
 * apart, no trailing blanks. */
void table_print(const struct table *t, const char *indent)
{
    size_t w[TABLE_MAX_COLS] = { 0 };

    for (size_t r = 0; r < t->nrows; r++)
        for (size_t i = 0; i < t->ncols && i < TABLE_MAX_COLS; i++) {
            size_t cw = text_width(t->cells[r * t->ncols + i]);
            w[i] = cw > w[i] ? cw : w[i];
        }
    for (size_t r = 0; r < t->nrows; r++) {
        fputs(indent, stdout);
        for (size_t i = 0; i < t->ncols && i < TABLE_MAX_COLS; i++) {
            const char *cell = t->cells[r * t->ncols + i];
            fputs(cell, stdout);
            if (i + 1 < t->ncols)
                printf("%*s", (int)(w[i] - text_width(cell) + 2), "");
        }
        fputc('\n', stdout);
    }
}

void table_free(struct table *t)
{
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
    t->nrows = t->cap = 0;
}

/* A "key: value" row of a two-column table. */
void kv(struct table *t, const char *key, const char *fmt, ...)
{
    char k[64], v[2048];
    va_list ap;

    snprintf(k, sizeof k, "%s%s", key, key[0] ? ":" : "");
    va_start(ap, fmt);
    vsnprintf(v, sizeof v, fmt, ap);
    va_end(ap);
    table_row(t, k, v);
}
