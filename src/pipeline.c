/* pipeline.c - route, authorize, pick a version, start the handler, record. */
#include "pipeline.h"

#include <string.h>

#include "accesslog.h"
#include "alias.h"
#include "authz.h"
#include "conn.h"
#include "handler.h"
#include "metrics.h"
#include "request.h"
#include "router.h"
#include "throttle.h"
#include "worker.h"

static int request_id_sane(struct slice v)
{
    if (v.len == 0 || v.len > REQUEST_ID_MAX)
        return 0;
    for (size_t i = 0; i < v.len; i++) {
        unsigned char c = (unsigned char)v.ptr[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == ':'))
            return 0;
    }
    return 1;
}

void pipeline_new_request_id(struct worker *w, const struct http_request_head *h, char *out,
                             size_t cap)
{
    /* byte -> its two lowercase hex digits */
    static const char hex2[513] =
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
        "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
        "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
        "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
        "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
        "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
        "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
        "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
    uint64_t a, b;
    char tmp[37];
    char *id;

    if (h) {
        for (size_t i = 0; i < h->nheaders; i++) {
            const struct http_header *hd = &h->headers[i];
            if (hd->name.len == 12 && ascii_eq_lc(hd->name.ptr, "x-request-id", 12) &&
                request_id_sane(hd->value) && hd->value.len < cap) {
                memcpy(out, hd->value.ptr, hd->value.len);
                out[hd->value.len] = '\0';
                return;
            }
        }
    }
    /* a version 4 UUID, the form Lambda and API Gateway use for ids */
    a = worker_random(w);
    b = worker_random(w);
    if (cap == 0)
        return;
    a = (a & ~0xf000ull) | 0x4000ull;
    b = (b & ~(3ull << 62)) | (2ull << 62);
    id = cap >= sizeof(tmp) ? out : tmp;
    /* xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx: a's 8 bytes, then b's, high first */
    memcpy(id + 0, hex2 + 2 * ((a >> 56) & 0xff), 2);
    memcpy(id + 2, hex2 + 2 * ((a >> 48) & 0xff), 2);
    memcpy(id + 4, hex2 + 2 * ((a >> 40) & 0xff), 2);
    memcpy(id + 6, hex2 + 2 * ((a >> 32) & 0xff), 2);
    id[8] = '-';
    memcpy(id + 9, hex2 + 2 * ((a >> 24) & 0xff), 2);
    memcpy(id + 11, hex2 + 2 * ((a >> 16) & 0xff), 2);
    id[13] = '-';
    memcpy(id + 14, hex2 + 2 * ((a >> 8) & 0xff), 2);
    memcpy(id + 16, hex2 + 2 * (a & 0xff), 2);
    id[18] = '-';
    memcpy(id + 19, hex2 + 2 * ((b >> 56) & 0xff), 2);
    memcpy(id + 21, hex2 + 2 * ((b >> 48) & 0xff), 2);
    id[23] = '-';
    memcpy(id + 24, hex2 + 2 * ((b >> 40) & 0xff), 2);
    memcpy(id + 26, hex2 + 2 * ((b >> 32) & 0xff), 2);
    memcpy(id + 28, hex2 + 2 * ((b >> 24) & 0xff), 2);
    memcpy(id + 30, hex2 + 2 * ((b >> 16) & 0xff), 2);
    memcpy(id + 32, hex2 + 2 * ((b >> 8) & 0xff), 2);
    memcpy(id + 34, hex2 + 2 * (b & 0xff), 2);
    id[36] = '\0';
    if (id == tmp) {
        /* too small: truncated but terminated, as fmt_buf() did */
        memcpy(out, tmp, cap - 1);
        out[cap - 1] = '\0';
    }
}

/* route: which route, or 404 / 405 */
static int stage_route(struct request *req)
{
    char allow[256], extra[300];
    enum router_result rr;

    rr = router_match(req->cfg->router, req->head.method, req->head.path, &req->match, allow,
                      sizeof(allow));
    if (rr == ROUTER_NOT_FOUND) {
        conn_respond(req, 404, "no route for this path", NULL);
        return -1;
    }
    if (rr == ROUTER_METHOD_NOT_ALLOWED) {
        fmt_buf(extra, sizeof(extra), "Allow: %s\r\n", allow);
        conn_respond(req, 405, "method not allowed for this path", extra);
        return -1;
    }
    req->route = req->match.data;
    return 0;
}


/* pick version: the route's fixed version, or the alias's choice */
static int stage_pick(struct request *req)
{
    const struct route *rt = req->route;
    enum pick_reason why = PICK_FIXED;

    req->alias = rt->alias;
    req->version =
        rt->version ? rt->version : alias_choose(rt->alias, req, worker_random(req->worker), &why);
    req->pick = (uint8_t)why;
    req->timeout_ms = rt->timeout_ms ? rt->timeout_ms : req->version->timeout_ms;
    return 0;
}

/* invoke handler */
static void stage_invoke(struct request *req)
{
    const struct handler_kind_ops *ops = handler_ops(req->version->kind);

    if (req->head.content_length >= 0 &&
        (uint64_t)req->head.content_length > req->cfg->limits.max_body_bytes) {
        conn_respond(req, 413, "request body too large", NULL);
        return;
    }
    conn_send_continue(req);
    if (ops->start(req) < 0) {
        conn_respond(req, req->status ? req->status : 502,
                     req->error ? req->error : "handler failed to start", NULL);
        return;
    }
    conn_begin_body(req);
}

void pipeline_authorized(struct request *req)
{
    if (stage_pick(req) < 0)
        return;
    stage_invoke(req);
}

/* authorize: may answer (401/403/500), or continue now or later */
static void stage_authorize(struct request *req)
{
    if (authz_run(req) != AUTHZ_PASS)
        return;
    pipeline_authorized(req);
}

void pipeline_start(struct request *req)
{
    pipeline_new_request_id(req->worker, &req->head, req->request_id, sizeof(req->request_id));
    if (stage_route(req) < 0)
        return;
    /* throttle, before authorize as API Gateway does: a flood is refused
     * for the price of an atomic (or one Redis script) instead of a
     * signature check or an authorizer function call each, so throttling
     * also shields authorizers. It needs only the route and, for usage
     * plans, the x-api-key header (API keys identify, authorizers
     * authenticate). May answer 403/429, or continue now or later. */
    if (throttle_run(req, stage_authorize) != THROTTLE_PASS)
        return;
    stage_authorize(req);
}

void pipeline_record(const struct request *req)
{
    accesslog_write(req);
    metrics_record(req);
}
