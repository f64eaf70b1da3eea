/* admin.c - the admin API's HTTP side: listener, token, paths, JSON in
 * and out. What each endpoint does lives in control.c and deploy.c. */
#include "admin.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "deploy.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

#define ADMIN_MAX_BODY (1u << 20)
#define ADMIN_MAX_HEADERS 16384
#define ADMIN_TIMEOUT_S 30
#define ADMIN_MAX_SEGMENTS 6
#define ADMIN_MAX_PATH 512

struct admin {
    struct evhttp *http;
    struct admin_ops ops;
    int has_token;
    unsigned char token_hash[SHA256_DIGEST_LENGTH];
};

/* ------------------------------------------------------------ answers */

static void send_json(struct evhttp_request *req, int status, json_t *body /* stolen */)
{
    struct evbuffer *out = evbuffer_new();
    char *text = body ? json_dumps(body, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;

    json_decref(body);
    if (!out || !text || evbuffer_add(out, text, strlen(text)) < 0 ||
        evbuffer_add(out, "\n", 1) < 0) {
        free(text);
        if (out)
            evbuffer_free(out);
        evhttp_send_error(req, 500, "out of memory");
        return;
    }
    free(text);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "application/json");
    evhttp_send_reply(req, status, NULL, out);
    evbuffer_free(out);
}

static void send_message(struct evhttp_request *req, int status, const char *msg)
{
    send_json(req, status, json_pack("{s:s}", "message", msg));
}

static void send_answer(struct evhttp_request *req, struct control_answer *a)
{
    if (a->status == 204) {
        json_decref(a->body);
        evhttp_send_reply(req, 204, NULL, NULL);
    } else if (a->body) {
        send_json(req, a->status, a->body);
    } else {
        send_message(req, a->status, a->message);
    }
    a->body = NULL;
}

static void method_not_allowed(struct evhttp_request *req, const char *allow)
{
    evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
    send_message(req, 405, "method not allowed for this path");
}

/* ------------------------------------------------------------ requests */

static void hash_token(const char *t, size_t n, unsigned char out[SHA256_DIGEST_LENGTH])
{
    SHA256((const unsigned char *)t, n, out);
}

/* Compares hashes, so neither the token's length nor its bytes leak
 * through timing. */
static int authorized(struct admin *ad, struct evhttp_request *req)
{
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    unsigned char got[SHA256_DIGEST_LENGTH];

    if (!ad->has_token)
        return 1;
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return 0;
    h += 7;
    while (*h == ' ')
        h++;
    hash_token(h, strlen(h), got);
    return CRYPTO_memcmp(got, ad->token_hash, sizeof(got)) == 0;
}

/* The request body as JSON; NULL after answering 400. An empty body is {}. */
static json_t *read_body(struct evhttp_request *req)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    json_error_t jerr;
    json_t *v;
    char msg[256];

    if (len == 0)
        return json_object();
    v = json_loadb((const char *)evbuffer_pullup(in, -1), len, JSON_REJECT_DUPLICATES, &jerr);
    if (!v) {
        fmt_buf(msg, sizeof(msg), "invalid JSON at line %d: %s", jerr.line, jerr.text);
        send_message(req, 400, msg);
    }
    return v;
}

/* "3", "\"3\"" or W/"3": the generation, or 0 when unusable. */
static uint64_t parse_if_match(const char *h)
{
    size_t n;
    uint64_t g;

    if (!h)
        return 0;
    if (strncmp(h, "W/", 2) == 0)
        h += 2;
    n = strlen(h);
    if (n >= 2 && h[0] == '"' && h[n - 1] == '"') {
        h++;
        n -= 2;
    }
    return parse_u64((struct slice){ h, n }, UINT64_MAX, &g) == 0 ? g : UINT64_MAX;
}

/* Splits path into at most ADMIN_MAX_SEGMENTS segments (in buf). Returns
 * the count, or -1 for a path that cannot be one of ours. */
static int split_path(const char *path, char *buf, size_t cap, char **seg)
{
    int n = 0;
    char *p;

    if (!path || path[0] != '/' || fmt_buf(buf, cap, "%s", path + 1) < 0)
        return -1;
    for (p = buf; *p;) {
        char *slash = strchr(p, '/');
        if (n == ADMIN_MAX_SEGMENTS)
            return -1;
        seg[n++] = p;
        if (!slash)
            break;
        *slash = '\0';
        p = slash + 1;
        if (!*p)
            break; /* a trailing slash */
    }
    for (int i = 0; i < n; i++)
        if (!seg[i][0] || strchr(seg[i], '%'))
            return -1;
    return n;
}

static void do_metrics(struct admin *ad, struct evhttp_request *req)
{
    struct evbuffer *out = evbuffer_new();

    if (!out || metrics_render(out) < 0 ||
        control_render_metrics(ad->ops.ctl, out) < 0 ||
        deploy_render_metrics(ad->ops.deploy, out) < 0) {
        if (out)
            evbuffer_free(out);
        evhttp_send_error(req, 500, "out of memory");
        return;
    }
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; version=0.0.4; charset=utf-8");
    evhttp_send_reply(req, 200, NULL, out);
    evbuffer_free(out);
}

static void do_reload(struct admin *ad, struct evhttp_request *req)
{
    struct config_errors errs = { 0 };
    const struct config *c;
    json_t *list;

    if (ad->ops.reload(ad->ops.arg, &errs) == 0) {
        c = control_config(ad->ops.ctl);
        send_json(req, 200, json_pack("{s:s, s:I, s:I}", "status", "reloaded", "routes",
                                      (json_int_t)c->nroutes, "functions",
                                      (json_int_t)c->nfunctions));
        return;
    }
    list = json_array();
    for (size_t i = 0; list && i < errs.n; i++) {
        char line[1536];
        const struct config_error *e = &errs.v[i];
        if (e->path && e->path[0])
            fmt_buf(line, sizeof(line), "%s:%d: %s: %s", e->file, e->line, e->path, e->message);
        else
            fmt_buf(line, sizeof(line), "%s:%d: %s", e->file, e->line, e->message);
        json_array_append_new(list, json_string(line));
    }
    config_errors_clear(&errs);
    send_json(req, 400, json_pack("{s:s, s:o*}", "message",
                                  "config has errors; the running config is kept", "errors",
                                  list));
}

static void do_alias(struct admin *ad, struct evhttp_request *req, enum evhttp_cmd_type m,
                     const char *fn, const char *alias)
{
    struct control_answer a = { 0 };
    json_t *body;

    if (m == EVHTTP_REQ_GET) {
        a.body = control_alias_state(ad->ops.ctl, fn, alias);
        if (a.body) {
            send_json(req, 200, a.body);
            return;
        }
        fmt_buf(a.message, sizeof(a.message), "no alias %s:%s", fn, alias);
        send_message(req, 404, a.message);
        return;
    }
    if (m != EVHTTP_REQ_PUT) {
        method_not_allowed(req, "GET, PUT");
        return;
    }
    if (!(body = read_body(req)))
        return;
    if (deploy_running_on(ad->ops.deploy, fn, alias)) {
        json_decref(body);
        fmt_buf(a.message, sizeof(a.message),
                "a deployment is running on %s:%s: stop or roll it back first", fn, alias);
        send_message(req, 409, a.message);
        return;
    }
    control_alias_set(ad->ops.ctl, fn, alias, body,
                      parse_if_match(evhttp_find_header(evhttp_request_get_input_headers(req),
                                                        "If-Match")),
                      &a);
    json_decref(body);
    send_answer(req, &a);
}

static void do_deployments(struct admin *ad, struct evhttp_request *req, enum evhttp_cmd_type m,
                           char **seg, int n)
{
    struct control_answer a = { 0 };
    json_t *body;

    if (n == 2) {
        if (m == EVHTTP_REQ_GET) {
            deploy_list(ad->ops.deploy, &a);
        } else if (m == EVHTTP_REQ_POST) {
            if (!(body = read_body(req)))
                return;
            deploy_start(ad->ops.deploy, body, &a);
            json_decref(body);
        } else {
            method_not_allowed(req, "GET, POST");
            return;
        }
    } else if (n == 3) {
        if (m != EVHTTP_REQ_GET) {
            method_not_allowed(req, "GET");
            return;
        }
        deploy_get(ad->ops.deploy, seg[2], &a);
    } else if (n == 4 && (strcmp(seg[3], "rollback") == 0 || strcmp(seg[3], "stop") == 0 ||
                          strcmp(seg[3], "promote") == 0)) {
        if (m != EVHTTP_REQ_POST) {
            method_not_allowed(req, "POST");
            return;
        }
        deploy_action(ad->ops.deploy, seg[2], seg[3], &a);
    } else {
        send_message(req, 404, "no such admin endpoint");
        return;
    }
    send_answer(req, &a);
}

static void do_functions(struct admin *ad, struct evhttp_request *req, enum evhttp_cmd_type m,
                         char **seg, int n)
{
    struct control_answer a = { 0 };
    json_t *body;

    if (n == 5 && strcmp(seg[3], "aliases") == 0) {
        do_alias(ad, req, m, seg[2], seg[4]);
        return;
    }
    if (n == 4 && strcmp(seg[3], "versions") == 0) {
        if (m != EVHTTP_REQ_POST) {
            method_not_allowed(req, "POST");
            return;
        }
        if (!(body = read_body(req)))
            return;
        control_publish(ad->ops.ctl, seg[2], body, &a);
        json_decref(body);
        send_answer(req, &a);
        return;
    }
    if (n > 3) {
        send_message(req, 404, "no such admin endpoint");
        return;
    }
    if (m != EVHTTP_REQ_GET) {
        method_not_allowed(req, "GET");
        return;
    }
    if (n == 2)
        control_functions(ad->ops.ctl, &a);
    else
        control_function(ad->ops.ctl, seg[2], &a);
    send_answer(req, &a);
}

static void do_cache_flush(struct admin *ad, struct evhttp_request *req, enum evhttp_cmd_type m,
                           const char *name)
{
    const struct authorizer *az = config_authorizer(control_config(ad->ops.ctl), name);
    char msg[160];

    if (m != EVHTTP_REQ_DELETE) {
        method_not_allowed(req, "DELETE");
        return;
    }
    if (!az) {
        fmt_buf(msg, sizeof(msg), "no authorizer %s", name);
        send_message(req, 404, msg);
        return;
    }
    ad->ops.flush(ad->ops.arg, az);
    log_info("admin: flushed the result cache of authorizer %s", name);
    evhttp_send_reply(req, 204, NULL, NULL);
}

static void handle(struct evhttp_request *req, void *arg)
{
    struct admin *ad = arg;
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    char buf[ADMIN_MAX_PATH], *seg[ADMIN_MAX_SEGMENTS];
    int n = split_path(path, buf, sizeof(buf), seg);

    if (n == 1 && strcmp(seg[0], "healthz") == 0) {
        if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD)
            method_not_allowed(req, "GET");
        else
            send_json(req, 200, json_pack("{s:s}", "status", "ok"));
        return;
    }
    if (!authorized(ad, req)) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
                          "Bearer realm=\"sluice-admin\"");
        send_message(req, 401, "a valid admin token is required (Authorization: Bearer ...)");
        return;
    }
    if (n == 1 && strcmp(seg[0], "metrics") == 0) {
        if (m != EVHTTP_REQ_GET)
            method_not_allowed(req, "GET");
        else
            do_metrics(ad, req);
    } else if (n >= 2 && strcmp(seg[0], "v1") == 0 && strcmp(seg[1], "functions") == 0) {
        do_functions(ad, req, m, seg, n);
    } else if (n >= 2 && strcmp(seg[0], "v1") == 0 && strcmp(seg[1], "deployments") == 0) {
        do_deployments(ad, req, m, seg, n);
    } else if (n == 4 && strcmp(seg[0], "v1") == 0 && strcmp(seg[1], "authorizers") == 0 &&
               strcmp(seg[3], "cache") == 0) {
        do_cache_flush(ad, req, m, seg[2]);
    } else if (n == 2 && strcmp(seg[0], "v1") == 0 && strcmp(seg[1], "reload") == 0) {
        if (m != EVHTTP_REQ_POST)
            method_not_allowed(req, "POST");
        else
            do_reload(ad, req);
    } else {
        send_message(req, 404, "no such admin endpoint");
    }
}

/* ------------------------------------------------------------ lifecycle */

void admin_set_token(struct admin *ad, const char *token)
{
    ad->has_token = token != NULL;
    if (token)
        hash_token(token, strlen(token), ad->token_hash);
}

struct admin *admin_new(struct event_base *base, const struct admin_conf *conf,
                        const struct admin_ops *ops, char *err, size_t errlen)
{
    struct admin *ad = calloc(1, sizeof(*ad));
    struct evconnlistener *lev;

    if (!ad || !(ad->http = evhttp_new(base))) {
        fmt_buf(err, errlen, "admin API: out of memory");
        free(ad);
        return NULL;
    }
    ad->ops = *ops;
    admin_set_token(ad, conf->token);
    evhttp_set_allowed_methods(ad->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
                                             EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
    evhttp_set_max_body_size(ad->http, ADMIN_MAX_BODY);
    evhttp_set_max_headers_size(ad->http, ADMIN_MAX_HEADERS);
    evhttp_set_timeout(ad->http, ADMIN_TIMEOUT_S);
    evhttp_set_gencb(ad->http, handle, ad);
    lev = evconnlistener_new_bind(base, NULL, NULL,
                                  LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
                                  64, (const struct sockaddr *)&conf->addr, (int)conf->addrlen);
    if (!lev || !evhttp_bind_listener(ad->http, lev)) {
        fmt_buf(err, errlen, "admin API: cannot listen on %s: %s", conf->address,
                evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        if (lev)
            evconnlistener_free(lev);
        admin_free(ad);
        return NULL;
    }
    return ad;
}

void admin_free(struct admin *ad)
{
    if (!ad)
        return;
    if (ad->http)
        evhttp_free(ad->http);
    OPENSSL_cleanse(ad->token_hash, sizeof(ad->token_hash));
    free(ad);
}
