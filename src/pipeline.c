/* pipeline.c - route, authorize, pick a version, start the handler, record. */
#include "pipeline.h"

#include <string.h>

#include "accesslog.h"
#include "alias.h"
#include "authz.h"
#include "conn.h"
#include "handler.h"
#include "request.h"
#include "router.h"
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
    static const char hex[] = "0123456789abcdef";
    uint64_t a, b;
    char id[37];
    int j = 0;

    if (h) {
        for (size_t i = 0; i < h->nheaders; i++) {
            if (slice_eq_cstr_nocase(h->headers[i].name, "x-request-id") &&
                request_id_sane(h->headers[i].value) && h->headers[i].value.len < cap) {
                memcpy(out, h->headers[i].value.ptr, h->headers[i].value.len);
                out[h->headers[i].value.len] = '\0';
                return;
            }
        }
    }
    /* a version 4 UUID, the form Lambda and API Gateway use for ids */
    a = worker_random(w);
    b = worker_random(w);
    a = (a & ~0xf000ull) | 0x4000ull;
    b = (b & ~(3ull << 62)) | (2ull << 62);
    for (int i = 0; i < 32; i++) {
        uint64_t word = i < 16 ? a : b;
        unsigned nib = (unsigned)(word >> ((15 - (i & 15)) * 4)) & 15;
        if (i == 8 || i == 12 || i == 16 || i == 20)
            id[j++] = '-';
        id[j++] = hex[nib];
    }
    id[j] = '\0';
    fmt_buf(out, cap, "%s", id);
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

    req->alias = rt->alias;
    req->version = rt->version ? rt->version : alias_pick(rt->alias, worker_random(req->worker));
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

void pipeline_start(struct request *req)
{
    pipeline_new_request_id(req->worker, &req->head, req->request_id, sizeof(req->request_id));
    if (stage_route(req) < 0)
        return;
    /* authorize: may answer (401/403/500), or continue now or later */
    if (authz_run(req) != AUTHZ_PASS)
        return;
    pipeline_authorized(req);
}

void pipeline_record(const struct request *req)
{
    accesslog_write(req);
}
