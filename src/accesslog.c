/* accesslog.c - the access log's JSON lines. */
#include "accesslog.h"

#include <string.h>

#include "alias.h"
#include "authz_cache.h"
#include "log.h"
#include "request.h"

/* A bounded writer over a fixed buffer; once full it stays full and the
 * caller closes the line with what fits. */
struct lbuf {
    char *p;
    size_t len, cap;
    size_t mark; /* end of the last complete field */
    int full;
};

static void lb_raw(struct lbuf *b, const char *s, size_t n)
{
    if (b->full || n > b->cap - b->len) {
        b->full = 1;
        return;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void lb_str(struct lbuf *b, const char *s)
{
    lb_raw(b, s, strlen(s));
}

/* A JSON string value (with quotes), at most max input bytes of s. */
static void lb_json(struct lbuf *b, const char *s, size_t n, size_t max)
{
    static const char hex[] = "0123456789abcdef";

    if (!s) {
        lb_str(b, "null");
        return;
    }
    if (n > max)
        n = max;
    lb_raw(b, "\"", 1);
    for (size_t i = 0; i < n && !b->full; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            char e[2] = { '\\', (char)c };
            lb_raw(b, e, 2);
        } else if (c < 0x20 || c >= 0x7f) {
            /* bytes are logged, not interpreted: escape anything not ASCII */
            char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
            lb_raw(b, e, 6);
        } else {
            lb_raw(b, (const char *)&s[i], 1);
        }
    }
    lb_raw(b, "\"", 1);
}

static void lb_key(struct lbuf *b, const char *key)
{
    if (!b->full)
        b->mark = b->len;
    lb_raw(b, ",\"", 2);
    lb_str(b, key);
    lb_raw(b, "\":", 2);
}

static void lb_u64(struct lbuf *b, uint64_t v)
{
    char num[24];
    int n = fmt_buf(num, sizeof(num), "%llu", (unsigned long long)v);
    if (n > 0)
        lb_raw(b, num, (size_t)n);
}

/* microseconds as milliseconds with three decimals */
static void lb_ms(struct lbuf *b, uint64_t us)
{
    char num[32];
    int n = fmt_buf(num, sizeof(num), "%llu.%03u", (unsigned long long)(us / 1000),
                    (unsigned)(us % 1000));
    if (n > 0)
        lb_raw(b, num, (size_t)n);
}

size_t accesslog_format(const struct request *req, char *buf, size_t cap)
{
    struct lbuf b = { buf, 0, cap > 2 ? cap - 2 : 0, 0, 0 };
    char ts[40];
    const struct http_request_head *h = &req->head;
    uint64_t end = now_us();

    if (cap < 64)
        return 0;
    lb_str(&b, "{\"time\":\"");
    lb_str(&b, log_time_iso(ts, sizeof(ts)));
    lb_raw(&b, "\"", 1);
    lb_key(&b, "request_id");
    lb_json(&b, req->request_id, strlen(req->request_id), REQUEST_ID_MAX);
    lb_key(&b, "client");
    lb_json(&b, req->client_ip, strlen(req->client_ip), sizeof(req->client_ip));
    lb_key(&b, "method");
    lb_json(&b, h->method.len ? h->method.ptr : NULL, h->method.len, 32);
    lb_key(&b, "path");
    lb_json(&b, h->path.len ? h->path.ptr : NULL, h->path.len, 1024);
    lb_key(&b, "route");
    lb_json(&b, req->route ? req->route->spec : NULL, req->route ? strlen(req->route->spec) : 0, 512);
    lb_key(&b, "function");
    lb_json(&b, req->route ? req->route->fn->name : NULL,
            req->route ? strlen(req->route->fn->name) : 0, 128);
    lb_key(&b, "alias");
    lb_json(&b, req->alias ? req->alias->name : NULL, req->alias ? strlen(req->alias->name) : 0, 128);
    lb_key(&b, "version");
    lb_json(&b, req->version ? req->version->name : NULL,
            req->version ? strlen(req->version->name) : 0, 32);
    if (req->version) {
        const char *pick = alias_reason_name((enum pick_reason)req->pick);
        lb_key(&b, "pick");
        lb_json(&b, pick, strlen(pick), 16);
    }
    if (req->cold_start) {
        lb_key(&b, "cold_start");
        lb_raw(&b, "true", 4);
    }
    if (req->function_error) {
        lb_key(&b, "function_error");
        lb_raw(&b, "true", 4);
    }
    lb_key(&b, "auth_cache");
    lb_json(&b, req->auth_cache, req->auth_cache ? strlen(req->auth_cache) : 0, 16);
    if (req->auth_source) {
        lb_key(&b, "auth_cache_source");
        lb_json(&b, req->auth_source, strlen(req->auth_source), 16);
    }
    if (req->authz_start_us && req->authz_end_us >= req->authz_start_us) {
        lb_key(&b, "authorizer_ms");
        lb_ms(&b, req->authz_end_us - req->authz_start_us);
    }
    if (req->auth && req->auth->principal) {
        lb_key(&b, "principal");
        lb_json(&b, req->auth->principal, strlen(req->auth->principal), 128);
    }
    if (req->plan) {
        lb_key(&b, "usage_plan");
        lb_json(&b, req->plan->name, strlen(req->plan->name), 128);
    }
    if (req->throttled) {
        lb_key(&b, "throttled");
        lb_json(&b, req->throttled, strlen(req->throttled), 16);
    }
    lb_key(&b, "status");
    lb_u64(&b, (uint64_t)req->status);
    lb_key(&b, "bytes_in");
    lb_u64(&b, req->bytes_in);
    lb_key(&b, "bytes_out");
    lb_u64(&b, req->bytes_out);
    lb_key(&b, "total_ms");
    lb_ms(&b, end - req->start_us);
    lb_key(&b, "upstream_ms");
    if (req->upstream_start_us && req->upstream_end_us >= req->upstream_start_us)
        lb_ms(&b, req->upstream_end_us - req->upstream_start_us);
    else
        lb_str(&b, "null");
    if (req->error) {
        lb_key(&b, "error");
        lb_json(&b, req->error, strlen(req->error), 256);
    }
    if (b.full)
        b.len = b.mark; /* drop the unfinished field: the line stays valid JSON */
    buf[b.len++] = '}';
    buf[b.len++] = '\n';
    return b.len;
}

void accesslog_write(const struct request *req)
{
    char line[4096];
    size_t n;

    if (log_access_fd() < 0)
        return;
    n = accesslog_format(req, line, sizeof(line));
    if (n)
        log_access_write(line, n);
}
