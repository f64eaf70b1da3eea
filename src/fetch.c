/* fetch.c - one-shot HTTP/1.1 GETs over http:// and https:// (JWKS). */
#include "fetch.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_parser.h"
#include "tls.h"
#include "util.h"

/* A timeout of 0 would mean a fetch that can hang forever on a silent
 * server; callers that pass 0 get this instead. */
#define FETCH_DEFAULT_TIMEOUT_MS 30000
/* Longest response head accepted; JWKS servers send a few hundred bytes. */
#define FETCH_MAX_HEAD 32768
/* Trailers after a chunked body are read and dropped, up to this much. */
#define FETCH_MAX_TRAILERS 8192
/* URLs longer than this are refused: they would only come from a typo or
 * an attack on the config. */
#define FETCH_MAX_URL 4096

enum fetch_state {
    FS_RESOLVE, /* waiting for the start event */
    FS_CONNECT, /* non-blocking connect() in progress */
    FS_HEAD,    /* request sent (or queued behind the TLS handshake) */
    FS_BODY,
};

enum body_mode { BODY_LENGTH, BODY_CHUNKED, BODY_CLOSE };

struct fetch {
    struct event_base *base;
    fetch_done_cb *cb;
    void *arg;

    /* the parsed url */
    int https;
    int host_is_ip;  /* SNI is not sent for address literals */
    char *host;      /* without brackets: what getaddrinfo and the cert check get */
    char *port;      /* decimal */
    char *authority; /* Host header: host (bracketed for IPv6) and a non-default port */
    char *target;    /* path and query */

    uint32_t timeout_ms;
    size_t max_body;
    char *ca_file;

    enum fetch_state state;
    struct event *ev_start;   /* runs the blocking resolve outside fetch_get() */
    struct event *ev_timeout; /* the whole exchange */
    struct event *ev_connect; /* write readiness of fd while connecting */
    int fd;                   /* owned here until a bufferevent takes it */
    struct addrinfo *ai, *ai_next;
    int connect_errno;

    struct bufferevent *bev;
    SSL *ssl; /* owned by bev */

    size_t head_scan;
    int status;
    enum body_mode mode;
    uint64_t remaining; /* BODY_LENGTH */
    struct http_chunked chunked;
    struct evbuffer *body;
    struct evbuffer *req_body; /* NULL for a GET */

    char err[256];
};

/* ------------------------------------------------------------ TLS contexts */

/* ------------------------------------------------------------ url */

static int is_host_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_';
}

/* Fills the url fields of f from url. Returns 0, or -1 with a reason. */
static int url_parse(struct fetch *f, const char *url, char *err, size_t errlen)
{
    size_t len = strlen(url);
    const char *p, *end, *auth_end, *host_start, *host_end, *port_start = NULL;
    struct slice path;
    char hostbuf[256], portbuf[8], authbuf[300], targetbuf[FETCH_MAX_URL + 2];
    unsigned char addr[sizeof(struct in6_addr)];
    uint64_t port;
    int default_port, bracketed = 0;

    if (len > FETCH_MAX_URL) {
        fmt_buf(err, errlen, "url longer than %d bytes", FETCH_MAX_URL);
        return -1;
    }
    if (strncasecmp(url, "https://", 8) == 0) {
        f->https = 1;
        p = url + 8;
    } else if (strncasecmp(url, "http://", 7) == 0) {
        p = url + 7;
    } else {
        fmt_buf(err, errlen, "url must start with http:// or https://");
        return -1;
    }
    end = url + len;
    /* A fragment is never sent. */
    for (const char *q = p; q < end; q++)
        if (*q == '#') {
            end = q;
            break;
        }
    auth_end = p + strcspn(p, "/?#");
    if (auth_end > end)
        auth_end = end;
    if (memchr(p, '@', (size_t)(auth_end - p))) {
        /* Credentials in a url end up in logs; nothing here needs them. */
        fmt_buf(err, errlen, "user information in a url is not supported");
        return -1;
    }

    if (p < auth_end && *p == '[') {
        host_start = p + 1;
        host_end = memchr(host_start, ']', (size_t)(auth_end - host_start));
        if (!host_end) {
            fmt_buf(err, errlen, "unterminated [ in the url's host");
            return -1;
        }
        if (host_end + 1 < auth_end) {
            if (host_end[1] != ':') {
                fmt_buf(err, errlen, "junk after ] in the url's host");
                return -1;
            }
            port_start = host_end + 2;
        }
        if ((size_t)(host_end - host_start) >= sizeof(hostbuf)) {
            fmt_buf(err, errlen, "bad IPv6 address in the url");
            return -1;
        }
        memcpy(hostbuf, host_start, (size_t)(host_end - host_start));
        hostbuf[host_end - host_start] = '\0';
        /* Zone ids ("%25eth0") are refused by inet_pton too. */
        if (inet_pton(AF_INET6, hostbuf, addr) != 1) {
            fmt_buf(err, errlen, "bad IPv6 address in the url");
            return -1;
        }
        f->host_is_ip = 1;
        bracketed = 1;
    } else {
        host_start = p;
        host_end = host_start;
        while (host_end < auth_end && *host_end != ':')
            host_end++;
        if (host_end < auth_end)
            port_start = host_end + 1;
        if (host_end == host_start || (size_t)(host_end - host_start) >= sizeof(hostbuf)) {
            fmt_buf(err, errlen, "missing or overlong host in the url");
            return -1;
        }
        for (const char *q = host_start; q < host_end; q++)
            if (!is_host_char((unsigned char)*q)) {
                fmt_buf(err, errlen, "bad character in the url's host");
                return -1;
            }
        memcpy(hostbuf, host_start, (size_t)(host_end - host_start));
        hostbuf[host_end - host_start] = '\0';
        f->host_is_ip = inet_pton(AF_INET, hostbuf, addr) == 1;
    }

    default_port = f->https ? 443 : 80;
    port = (uint64_t)default_port;
    if (port_start && (parse_u64((struct slice){ port_start, (size_t)(auth_end - port_start) },
                                 65535, &port) < 0 ||
                       port == 0)) {
        fmt_buf(err, errlen, "bad port in the url");
        return -1;
    }

    /* The request line cannot carry spaces or control bytes; the url must
     * already be percent-encoded. */
    path = (struct slice){ auth_end, (size_t)(end - auth_end) };
    for (size_t i = 0; i < path.len; i++) {
        unsigned char c = (unsigned char)path.ptr[i];
        if (c <= 0x20 || c >= 0x7f) {
            fmt_buf(err, errlen, "bad character in the url's path");
            return -1;
        }
    }

    if (fmt_buf(portbuf, sizeof(portbuf), "%u", (unsigned)port) < 0 ||
        fmt_buf(authbuf, sizeof(authbuf), "%s%s%s%s%s", bracketed ? "[" : "", hostbuf,
                bracketed ? "]" : "", port == (uint64_t)default_port ? "" : ":",
                port == (uint64_t)default_port ? "" : portbuf) < 0 ||
        fmt_buf(targetbuf, sizeof(targetbuf), "%s%.*s", path.len && path.ptr[0] == '/' ? "" : "/",
                (int)path.len, path.ptr) < 0) {
        fmt_buf(err, errlen, "url too long");
        return -1;
    }
    f->host = strdup(hostbuf);
    f->port = strdup(portbuf);
    f->authority = strdup(authbuf);
    f->target = strdup(targetbuf);
    if (!f->host || !f->port || !f->authority || !f->target) {
        fmt_buf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ lifetime */

/* Closes the connection side (socket, TLS, events) but keeps the body. */
static void fetch_drop_conn(struct fetch *f)
{
    if (f->ev_connect) {
        event_free(f->ev_connect);
        f->ev_connect = NULL;
    }
    if (f->fd >= 0) {
        close(f->fd);
        f->fd = -1;
    }
    if (f->bev) {
        /* BEV_OPT_CLOSE_ON_FREE: this frees the SSL and closes the socket */
        bufferevent_free(f->bev);
        f->bev = NULL;
        f->ssl = NULL;
    }
}

static void fetch_free(struct fetch *f)
{
    fetch_drop_conn(f);
    if (f->ev_start)
        event_free(f->ev_start);
    if (f->ev_timeout)
        event_free(f->ev_timeout);
    if (f->ai)
        freeaddrinfo(f->ai);
    if (f->body)
        evbuffer_free(f->body);
    if (f->req_body)
        evbuffer_free(f->req_body);
    free(f->host);
    free(f->port);
    free(f->authority);
    free(f->target);
    free(f->ca_file);
    free(f);
}

void fetch_cancel(struct fetch *f)
{
    if (f)
        fetch_free(f);
}

/* Ends the fetch: calls back with the status and body (status > 0) or the
 * error (status 0), then frees everything. Only ever called from an event
 * callback, so cb never runs inside fetch_get(). */
static void fetch_finish(struct fetch *f, int status, const char *error)
{
    const char *body = NULL;
    size_t len = 0;

    fetch_drop_conn(f);
    if (status > 0) {
        len = evbuffer_get_length(f->body);
        /* A NUL after the body is a convenience for callers that parse
         * text; len does not count it. */
        if (evbuffer_add(f->body, "", 1) < 0 ||
            !(body = (const char *)evbuffer_pullup(f->body, -1))) {
            status = 0;
            error = "out of memory";
            len = 0;
        }
    }
    f->cb(f->arg, status, status > 0 ? body : NULL, len, status > 0 ? NULL : error);
    fetch_free(f);
}

/* printf-style failure; the message lives in f->err until the end. */
static void fetch_fail(struct fetch *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fetch_fail(struct fetch *f, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    if (vsnprintf(f->err, sizeof(f->err), fmt, ap) < 0)
        fmt_buf(f->err, sizeof(f->err), "fetch failed");
    va_end(ap);
    fetch_finish(f, 0, f->err);
}

/* ------------------------------------------------------------ response */

/* Reads the response head from in. Returns 1 when it is complete (the
 * status and framing are set), 0 when more bytes are needed, -1 on
 * failure with f->err set. */
static int read_head(struct fetch *f, struct evbuffer *in)
{
    for (;;) {
        size_t avail = evbuffer_get_length(in);
        size_t n = avail < FETCH_MAX_HEAD ? avail : FETCH_MAX_HEAD;
        struct http_response_head h;
        const char *p;
        size_t end;

        if (n == 0)
            return 0;
        p = (const char *)evbuffer_pullup(in, (ev_ssize_t)n);
        if (!p) {
            fmt_buf(f->err, sizeof(f->err), "out of memory");
            return -1;
        }
        end = http_head_end(p, n, &f->head_scan);
        if (end == 0) {
            if (avail >= FETCH_MAX_HEAD) {
                fmt_buf(f->err, sizeof(f->err), "response head larger than %d bytes",
                        FETCH_MAX_HEAD);
                return -1;
            }
            return 0;
        }
        if (http_parse_response(p, end, &h) < 0) {
            fmt_buf(f->err, sizeof(f->err), "malformed response head");
            return -1;
        }
        if (h.status == 101) {
            fmt_buf(f->err, sizeof(f->err), "unexpected 101 Switching Protocols");
            return -1;
        }
        if (h.status < 200) {
            /* An interim response (100, 103): the real one follows. */
            evbuffer_drain(in, end);
            f->head_scan = 0;
            continue;
        }
        f->status = h.status;
        if (h.chunked) {
            f->mode = BODY_CHUNKED;
            http_chunked_init(&f->chunked, FETCH_MAX_TRAILERS);
        } else if (h.until_close) {
            f->mode = BODY_CLOSE;
        } else {
            if (h.content_length < 0 || (uint64_t)h.content_length > f->max_body) {
                fmt_buf(f->err, sizeof(f->err), "body too large (over %zu bytes)", f->max_body);
                return -1;
            }
            f->mode = BODY_LENGTH;
            f->remaining = (uint64_t)h.content_length;
        }
        evbuffer_drain(in, end);
        return 1;
    }
}

/* Moves body bytes from in to f->body. Returns 1 when the body is
 * complete, 0 when more is needed, -1 on failure with f->err set. eof:
 * the peer has closed the connection. */
static int read_body(struct fetch *f, struct evbuffer *in, int eof)
{
    size_t have = evbuffer_get_length(f->body), avail = evbuffer_get_length(in);

    switch (f->mode) {
    case BODY_LENGTH:
        if (avail > f->remaining)
            avail = (size_t)f->remaining; /* anything after the body is ignored */
        if (avail) {
            int moved = evbuffer_remove_buffer(in, f->body, avail);
            if (moved < 0 || (size_t)moved != avail) {
                fmt_buf(f->err, sizeof(f->err), "out of memory");
                return -1;
            }
            f->remaining -= avail;
        }
        if (f->remaining == 0)
            return 1;
        break;
    case BODY_CHUNKED: {
        /* One byte more than allowed tells "too large" from "exactly
         * max_body". */
        size_t room = f->max_body - have;
        int rc =
            http_chunked_decode(&f->chunked, in, f->body, room < SIZE_MAX ? room + 1 : room, NULL);
        if (evbuffer_get_length(f->body) > f->max_body) {
            fmt_buf(f->err, sizeof(f->err), "body too large (over %zu bytes)", f->max_body);
            return -1;
        }
        if (rc < 0) {
            fmt_buf(f->err, sizeof(f->err), "bad chunked encoding in the response");
            return -1;
        }
        if (rc == 1)
            return 1;
        break;
    }
    case BODY_CLOSE:
        if (avail > f->max_body - have) {
            fmt_buf(f->err, sizeof(f->err), "body too large (over %zu bytes)", f->max_body);
            return -1;
        }
        if (avail && evbuffer_add_buffer(f->body, in) < 0) {
            fmt_buf(f->err, sizeof(f->err), "out of memory");
            return -1;
        }
        if (eof)
            return 1;
        return 0;
    }
    if (eof) {
        fmt_buf(f->err, sizeof(f->err), "connection closed before the end of the body");
        return -1;
    }
    return 0;
}

/* Consumes what has arrived. Returns 1 when the fetch ended (f is freed),
 * 0 when it goes on. */
static int fetch_progress(struct fetch *f, int eof)
{
    struct evbuffer *in = bufferevent_get_input(f->bev);
    int rc;

    if (f->state == FS_HEAD) {
        rc = read_head(f, in);
        if (rc < 0) {
            fetch_finish(f, 0, f->err);
            return 1;
        }
        if (rc == 0) {
            if (!eof)
                return 0;
            fetch_fail(f, "connection closed before a complete response head");
            return 1;
        }
        f->state = FS_BODY;
    }
    rc = read_body(f, in, eof);
    if (rc == 0)
        return 0;
    fetch_finish(f, rc > 0 ? f->status : 0, f->err);
    return 1;
}

static void on_read(struct bufferevent *bev, void *arg)
{
    fetch_progress(arg, 0);
}

/* Describes why a TLS connection failed: a certificate that did not
 * verify is named as such, since that is what an operator can fix. */
static void tls_failure(struct fetch *f, int sock_errno)
{
    long vr = f->ssl ? SSL_get_verify_result(f->ssl) : X509_V_OK;
    unsigned long e, first = 0;
    char why[200];

    while ((e = bufferevent_get_openssl_error(f->bev)) != 0)
        if (!first)
            first = e; /* the earliest queued error is the root cause */
    if (vr != X509_V_OK) {
        fetch_fail(f, "certificate verify failed: %s", X509_verify_cert_error_string(vr));
        return;
    }
    if (first) {
        ERR_error_string_n(first, why, sizeof(why));
        fetch_fail(f, "TLS error: %s", why);
        return;
    }
    if (sock_errno)
        fetch_fail(f, "connection error: %s", strerror(sock_errno));
    else
        fetch_fail(f, "TLS connection closed by the server");
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    struct fetch *f = arg;
    int sock_errno = EVUTIL_SOCKET_ERROR();

    if (what & BEV_EVENT_CONNECTED)
        return; /* the TLS handshake is done; the queued request goes out */
    /* Bytes that came with the close still count. */
    if (fetch_progress(f, 0))
        return;
    if (what & BEV_EVENT_EOF) {
        fetch_progress(f, 1);
        return;
    }
    if (f->https) {
        tls_failure(f, sock_errno);
        return;
    }
    fetch_fail(f, "connection error: %s", sock_errno ? strerror(sock_errno) : "unknown");
}

/* ------------------------------------------------------------ connect */

static void try_connect(struct fetch *f);

/* The socket is connected: wrap it (in TLS for https) and send the
 * request. */
static void connected(struct fetch *f)
{
    struct evbuffer *out;
    int fd = f->fd;

    event_free(f->ev_connect);
    f->ev_connect = NULL;
    if (f->https) {
        SSL_CTX *ctx = tls_client_ctx_get(f->ca_file, f->err, sizeof(f->err));
        SSL *ssl;
        int ok;

        if (!ctx) {
            fetch_finish(f, 0, f->err);
            return;
        }
        ssl = SSL_new(ctx);
        SSL_CTX_free(ctx); /* ssl holds its own reference */
        if (!ssl) {
            fetch_fail(f, "cannot create a TLS connection: out of memory");
            return;
        }
        /* The shared client context is tuned for stream.c; a fetch keeps
         * OpenSSL's defaults: a body read until close must not end at an
         * EOF without close_notify, and libevent sets its own modes. */
        SSL_clear_options(ssl, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
        SSL_clear_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                SSL_MODE_RELEASE_BUFFERS);
        /* SNI is only defined for host names (RFC 6066 section 3); the
         * certificate must name the host, or hold the address literal. */
        SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        if (f->host_is_ip)
            ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), f->host) == 1;
        else
            ok = SSL_set_tlsext_host_name(ssl, f->host) == 1 && SSL_set1_host(ssl, f->host) == 1;
        if (!ok) {
            SSL_free(ssl);
            fetch_fail(f, "cannot set the TLS host name");
            return;
        }
        f->fd = -1; /* from here the bufferevent owns it (or it is closed below) */
        f->bev = bufferevent_openssl_socket_new(f->base, fd, ssl, BUFFEREVENT_SSL_CONNECTING,
                                                BEV_OPT_CLOSE_ON_FREE);
        if (!f->bev) {
            /* libevent has freed ssl but leaves the socket to us */
            close(fd);
            fetch_fail(f, "cannot create a TLS connection: out of memory");
            return;
        }
        f->ssl = ssl;
    } else {
        f->fd = -1;
        f->bev = bufferevent_socket_new(f->base, fd, BEV_OPT_CLOSE_ON_FREE);
        if (!f->bev) {
            close(fd);
            fetch_fail(f, "out of memory");
            return;
        }
    }
    f->state = FS_HEAD;
    bufferevent_setcb(f->bev, on_read, NULL, on_event, f);
    out = bufferevent_get_output(f->bev);
    if (f->req_body &&
        (evbuffer_add_printf(out,
                             "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: sluice\r\n"
                             "Accept: application/json\r\nContent-Type: application/json\r\n"
                             "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                             f->target, f->authority, evbuffer_get_length(f->req_body)) < 0 ||
         evbuffer_add_buffer(out, f->req_body) < 0)) {
        fetch_fail(f, "out of memory");
        return;
    }
    if ((!f->req_body &&
         evbuffer_add_printf(out,
                             "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: sluice\r\n"
                             "Accept: application/json\r\nConnection: close\r\n\r\n",
                             f->target, f->authority) < 0) ||
        bufferevent_enable(f->bev, EV_READ | EV_WRITE) < 0) {
        fetch_fail(f, "out of memory");
        return;
    }
}

static void on_connect(evutil_socket_t fd, short what, void *arg)
{
    struct fetch *f = arg;
    int soerr = 0;
    socklen_t sl = sizeof(soerr);

    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
        soerr = errno;
    if (soerr == 0) {
        connected(f);
        return;
    }
    f->connect_errno = soerr;
    event_free(f->ev_connect);
    f->ev_connect = NULL;
    close(f->fd);
    f->fd = -1;
    try_connect(f); /* "localhost" may be ::1 first while the server is on 127.0.0.1 */
}

/* Connects to the next address of f->ai; fails the fetch when none is
 * left, with the last address's error. */
static void try_connect(struct fetch *f)
{
    while (f->ai_next) {
        struct addrinfo *a = f->ai_next;

        f->ai_next = a->ai_next;
        f->fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (f->fd < 0) {
            f->connect_errno = errno;
            continue;
        }
        if (connect(f->fd, a->ai_addr, a->ai_addrlen) == 0 || errno == EINPROGRESS) {
            f->ev_connect = event_new(f->base, f->fd, EV_WRITE, on_connect, f);
            if (!f->ev_connect || event_add(f->ev_connect, NULL) < 0) {
                fetch_fail(f, "out of memory");
                return;
            }
            return;
        }
        f->connect_errno = errno;
        close(f->fd);
        f->fd = -1;
    }
    fetch_fail(f, "cannot connect to %s port %s: %s", f->host, f->port,
               strerror(f->connect_errno ? f->connect_errno : ECONNREFUSED));
}

/* Runs right after fetch_get() returns. getaddrinfo() blocks: acceptable
 * because fetches run on the main thread, which serves no requests (and
 * the overall timer cannot interrupt it; the resolver's own timeouts
 * apply). Doing it here rather than in fetch_get() keeps the promise that
 * the callback never runs inside fetch_get(). */
static void on_start(evutil_socket_t fd, short what, void *arg)
{
    struct fetch *f = arg;
    struct addrinfo hints = { 0 };
    int rc;

    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    /* No AI_ADDRCONFIG: it hides 127.0.0.1 on a host whose only interface
     * is loopback; an address of an unusable family just fails to connect
     * and the next one is tried. */
    hints.ai_flags = AI_NUMERICSERV | (f->host_is_ip ? AI_NUMERICHOST : 0);
    rc = getaddrinfo(f->host, f->port, &hints, &f->ai);
    if (rc != 0) {
        f->ai = NULL;
        fetch_fail(f, "cannot resolve %s: %s", f->host,
                   rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        return;
    }
    f->ai_next = f->ai;
    f->state = FS_CONNECT;
    try_connect(f);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct fetch *f = arg;

    fetch_fail(f, "timed out after %u ms", (unsigned)f->timeout_ms);
}

/* ------------------------------------------------------------ start */

struct fetch *fetch_get(struct event_base *base, const char *url, const struct fetch_opts *o,
                        fetch_done_cb *cb, void *arg, char *err, size_t errlen)
{
    struct fetch *f = calloc(1, sizeof(*f));
    struct timeval tv;

    if (!f) {
        fmt_buf(err, errlen, "out of memory");
        return NULL;
    }
    f->base = base;
    f->cb = cb;
    f->arg = arg;
    f->fd = -1;
    f->timeout_ms = o->timeout_ms ? o->timeout_ms : FETCH_DEFAULT_TIMEOUT_MS;
    f->max_body = o->max_body;
    if (url_parse(f, url, err, errlen) < 0)
        goto fail;
    if (o->ca_file && !(f->ca_file = strdup(o->ca_file))) {
        fmt_buf(err, errlen, "out of memory");
        goto fail;
    }
    if (o->body && (!(f->req_body = evbuffer_new()) ||
                    evbuffer_add(f->req_body, o->body, o->body_len) < 0)) {
        fmt_buf(err, errlen, "out of memory");
        goto fail;
    }
    f->body = evbuffer_new();
    f->ev_start = event_new(base, -1, 0, on_start, f);
    f->ev_timeout = evtimer_new(base, on_timeout, f);
    tv.tv_sec = f->timeout_ms / 1000;
    tv.tv_usec = (suseconds_t)(f->timeout_ms % 1000) * 1000;
    if (!f->body || !f->ev_start || !f->ev_timeout || evtimer_add(f->ev_timeout, &tv) < 0) {
        fmt_buf(err, errlen, "out of memory");
        goto fail;
    }
    event_active(f->ev_start, EV_TIMEOUT, 1);
    return f;
fail:
    fetch_free(f);
    return NULL;
}
