/* stream.c - buffered non-blocking sockets on raw libevent events, plain
 * or TLS.
 *
 * TLS lives here, not in libevent's bufferevent_openssl (which issue 7
 * names): sluice replaced bufferevents with these streams for speed, and
 * a TLS stream is the same stream with an SSL * on the same fd, so conn.c
 * and every limit, timeout and framing check apply to TLS connections
 * unchanged. SSL_read fills the input evbuffer, SSL_write drains the
 * output; the handshake runs inside the first reads. When OpenSSL needs
 * the other direction (a read that must write first: WANT_WRITE; a write
 * that must read first: WANT_READ) the matching event waits for the
 * socket and the interrupted operation is retried from the loop. The
 * plain path pays one test of s->ssl per read and per write. A client
 * stream (an https upstream) is the same, its handshake driven by the
 * first write of the request and the reads that answer it. */
#include "stream.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

/* Bytes asked of the kernel per read: a request head or a good slice of
 * a body in one call. */
#define READ_CHUNK 16384
/* A read this size or smaller is copied into a small chain (see
 * small_read()); libevent's smallest chain is 1 KiB with its header. */
#define SMALL_READ 900
/* Plaintext handed to SSL_write at once: one full TLS record. */
#define TLS_WRITE_CHUNK 16384

struct stream {
    struct event_base *base;
    int fd;
    struct event rev, wev; /* embedded: no allocation per event */
    struct evbuffer *in, *out;
    stream_cb *readcb, *writecb;
    stream_event_cb *eventcb;
    void *arg;
    size_t read_high, write_low;
    uint32_t read_ms, write_ms;
    int err;
    unsigned reading : 1;    /* the owner wants input */
    unsigned rev_added : 1;  /* the read event is in the loop */
    unsigned wev_added : 1;  /* the write event is in the loop */
    unsigned connecting : 1; /* connect() under way */
    unsigned kick : 1;       /* run the read callback without reading */
    unsigned failed : 1;     /* a write failed: report it from the loop */
    unsigned tls_rw : 1;     /* SSL_read wants the socket writable first */
    unsigned tls_wr : 1;     /* SSL_write wants the socket readable first */
    unsigned tls_dead : 1;   /* a fatal TLS error: no close_notify */
    unsigned hs_timed : 1;   /* the handshake has a deadline: hs_end */
    unsigned bulk : 1;       /* the last read was large: read into s->in in place */
    SSL *ssl;                /* NULL: plain TCP */
    struct timeval hs_end;
};

static void on_read(evutil_socket_t fd, short what, void *arg);
static void on_write(evutil_socket_t fd, short what, void *arg);

/* Empty evbuffers, per thread, for streams that become active: an
 * evbuffer is about 150 bytes, twice per connection, which idle
 * keep-alive connections need not hold. */
#define BUF_POOL_MAX 1024
static _Thread_local struct evbuffer *buf_pool[BUF_POOL_MAX];
static _Thread_local unsigned buf_pool_len;

static struct evbuffer *buf_get(void)
{
    return buf_pool_len ? buf_pool[--buf_pool_len] : evbuffer_new();
}

static void buf_put(struct evbuffer *b)
{
    if (!b)
        return;
    if (buf_pool_len < BUF_POOL_MAX && evbuffer_get_length(b) == 0)
        buf_pool[buf_pool_len++] = b;
    else
        evbuffer_free(b);
}

void stream_thread_exit(void)
{
    while (buf_pool_len)
        evbuffer_free(buf_pool[--buf_pool_len]);
}

int stream_buffers(struct stream *s)
{
    if (!s->in)
        s->in = buf_get();
    if (!s->out)
        s->out = buf_get();
    return s->in && s->out ? 0 : -1;
}

size_t stream_input_length(const struct stream *s)
{
    return s->in ? evbuffer_get_length(s->in) : 0;
}

size_t stream_output_length(const struct stream *s)
{
    return s->out ? evbuffer_get_length(s->out) : 0;
}

void stream_idle(struct stream *s)
{
    if (s->in && evbuffer_get_length(s->in) == 0) {
        buf_put(s->in);
        s->in = NULL;
    }
    if (s->out && evbuffer_get_length(s->out) == 0) {
        buf_put(s->out);
        s->out = NULL;
    }
}

static const struct timeval *ms_tv(uint32_t ms, struct timeval *tv)
{
    if (!ms)
        return NULL;
    tv->tv_sec = ms / 1000;
    tv->tv_usec = (ms % 1000) * 1000;
    return tv;
}

/* with_buffers: a connecting stream writes before it reads and needs its
 * buffers now; an accepted one takes them at its first read. */
static struct stream *stream_alloc(struct event_base *base, int fd, int with_buffers)
{
    struct stream *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    s->base = base;
    s->fd = fd;
    if ((with_buffers && stream_buffers(s) < 0) ||
        event_assign(&s->rev, base, fd, EV_READ | EV_PERSIST, on_read, s) < 0 ||
        event_assign(&s->wev, base, fd, EV_WRITE | EV_PERSIST, on_write, s) < 0) {
        buf_put(s->in);
        buf_put(s->out);
        free(s);
        return NULL;
    }
    return s;
}

struct stream *stream_new(struct event_base *base, int fd)
{
    return stream_alloc(base, fd, 0);
}

struct stream *stream_connect(struct event_base *base, const struct sockaddr *sa, socklen_t salen)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1, e;
    struct stream *s;

    if (fd < 0)
        return NULL;
    /* request heads are small and written whole: Nagle would hold them */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    s = stream_alloc(base, fd, 1);
    if (!s) {
        close(fd);
        errno = ENOMEM;
        return NULL;
    }
    s->connecting = 1;
    if (connect(fd, sa, salen) == 0 || errno == EINPROGRESS) {
        /* writable means connected (or failed): on_write finds out which */
        event_add(&s->wev, NULL);
        s->wev_added = 1;
        return s;
    }
    e = errno;
    /* refused at once (loopback): report it from the loop like any other */
    s->err = e;
    s->failed = 1;
    event_active(&s->wev, EV_WRITE, 1);
    return s;
}

void stream_free(struct stream *s)
{
    if (!s)
        return;
    event_del(&s->rev);
    event_del(&s->wev);
    if (s->ssl) {
        /* close_notify, once and best effort: the socket is closed next */
        if (!s->tls_dead && SSL_is_init_finished(s->ssl) &&
            !(SSL_get_shutdown(s->ssl) & SSL_SENT_SHUTDOWN))
            SSL_shutdown(s->ssl);
        ERR_clear_error();
        SSL_free(s->ssl);
    }
    buf_put(s->in);
    buf_put(s->out);
    close(s->fd);
    free(s);
}

void stream_setcb(struct stream *s, stream_cb *readcb, stream_cb *writecb, stream_event_cb *eventcb,
                  void *arg)
{
    s->readcb = readcb;
    s->writecb = writecb;
    s->eventcb = eventcb;
    s->arg = arg;
}

struct evbuffer *stream_input(struct stream *s)
{
    return s->in;
}

struct evbuffer *stream_output(struct stream *s)
{
    return s->out;
}

int stream_fd(const struct stream *s)
{
    return s->fd;
}

int stream_error(const struct stream *s)
{
    return s->err;
}

/* Puts the handshake's deadline on the read event, which a persistent
 * event would otherwise push back at every byte. Returns -1 when the
 * deadline has passed. */
static int hs_arm(struct stream *s)
{
    struct timeval now, left;

    event_base_gettimeofday_cached(s->base, &now);
    if (!timercmp(&now, &s->hs_end, <))
        return -1;
    timersub(&s->hs_end, &now, &left);
    if (s->rev_added)
        event_add(&s->rev, &left);
    return 0;
}

int stream_start_tls(struct stream *s, struct ssl_ctx_st *ctx, uint32_t handshake_ms)
{
    struct timeval now, tv;

    s->ssl = SSL_new(ctx);
    if (!s->ssl || SSL_set_fd(s->ssl, s->fd) != 1) {
        SSL_free(s->ssl);
        s->ssl = NULL;
        ERR_clear_error();
        return -1;
    }
    SSL_set_accept_state(s->ssl);
    if (handshake_ms) {
        event_base_gettimeofday_cached(s->base, &now);
        timeradd(&now, ms_tv(handshake_ms, &tv), &s->hs_end);
        s->hs_timed = 1;
        hs_arm(s);
    }
    return 0;
}

int stream_start_tls_client(struct stream *s, struct ssl_ctx_st *ctx, const char *host)
{
    struct in6_addr a6;
    struct in_addr a4;
    int is_ip = inet_pton(AF_INET, host, &a4) == 1 || inet_pton(AF_INET6, host, &a6) == 1;
    int ok;

    s->ssl = SSL_new(ctx);
    if (!s->ssl || SSL_set_fd(s->ssl, s->fd) != 1)
        goto fail;
    /* SNI only for host names (RFC 6066 section 3); the certificate must
     * name the host, or hold the address literal */
    SSL_set_hostflags(s->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (is_ip)
        ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s->ssl), host) == 1;
    else
        ok = SSL_set_tlsext_host_name(s->ssl, host) == 1 && SSL_set1_host(s->ssl, host) == 1;
    if (!ok)
        goto fail;
    SSL_set_connect_state(s->ssl);
    return 0;
fail:
    SSL_free(s->ssl);
    s->ssl = NULL;
    ERR_clear_error();
    return -1;
}

const char *stream_tls_verify_error(const struct stream *s)
{
    long r;

    if (!s->ssl || (r = SSL_get_verify_result(s->ssl)) == X509_V_OK)
        return NULL;
    return X509_verify_cert_error_string(r);
}

int stream_is_tls(const struct stream *s)
{
    return s->ssl != NULL;
}

/* ------------------------------------------------------------ reading */

static int input_full(const struct stream *s)
{
    return s->read_high && stream_input_length(s) >= s->read_high;
}

/* Puts the read event in the loop when the owner wants input and there is
 * room for it; takes it out otherwise. epoll is touched only on a change. */
static void rev_update(struct stream *s)
{
    struct timeval tv;
    int want = ((s->reading && !input_full(s)) || s->tls_wr) && !s->tls_rw;

    if (want && !s->rev_added) {
        event_add(&s->rev, ms_tv(s->read_ms, &tv));
        s->rev_added = 1;
        if (s->ssl) {
            /* plaintext OpenSSL holds already: the socket will not say so */
            if (SSL_pending(s->ssl) > 0)
                event_active(&s->rev, EV_READ, 1);
            if (s->hs_timed)
                hs_arm(s); /* past the deadline: the next turn finds out */
        }
    } else if (!want && s->rev_added) {
        event_del(&s->rev);
        s->rev_added = 0;
    }
}

void stream_enable_read(struct stream *s)
{
    s->reading = 1;
    rev_update(s);
}

void stream_disable_read(struct stream *s)
{
    s->reading = 0;
    rev_update(s);
}

void stream_set_read_high(struct stream *s, size_t high)
{
    s->read_high = high;
    rev_update(s);
}

void stream_read_resume(struct stream *s)
{
    rev_update(s);
}

void stream_trigger_read(struct stream *s)
{
    s->kick = 1;
    event_active(&s->rev, EV_READ, 1);
}

static void tls_on_read(struct stream *s);
static void wev_add(struct stream *s);

/* After bytes came in: stop reading when the input is full, then tell
 * the owner. */
static void read_done(struct stream *s)
{
    if (input_full(s))
        rev_update(s);
    if (s->readcb)
        s->readcb(s, s->arg);
}

/* After a plain read that brought nothing: e is its errno, 0 for the
 * peer's EOF. Reports the error or the end to the owner; EAGAIN is
 * neither (the loop says when to read again). */
static void read_nothing(struct stream *s, int e)
{
    if (e == EAGAIN || e == EWOULDBLOCK)
        return;
    if (e) {
        s->err = e;
        s->eventcb(s, STREAM_ERROR | STREAM_READING, s->arg);
        return;
    }
    s->reading = 0;
    rev_update(s);
    s->eventcb(s, STREAM_EOF | STREAM_READING, s->arg);
}

/* Reads into this thread's bounce buffer and copies what came into s->in.
 * Why: a read straight into s->in must reserve READ_CHUNK bytes, a 16 KiB
 * chain that malloc serves from its bins and that is freed once drained;
 * a request or response head is a few hundred bytes, which evbuffer_add()
 * puts in a 1 KiB chain from malloc's per-thread cache, for the price of
 * copying those bytes. A read that fills more than SMALL_READ switches the
 * stream to reading in place (s->bulk): bodies are not copied. */
static void small_read(struct stream *s)
{
    static _Thread_local unsigned char bounce[READ_CHUNK];
    ssize_t n;

    do
        n = read(s->fd, bounce, sizeof(bounce));
    while (n < 0 && errno == EINTR);
    if (n <= 0) {
        read_nothing(s, n < 0 ? errno : 0);
        return;
    }
    if (evbuffer_add(s->in, bounce, (size_t)n) < 0) {
        s->err = ENOMEM;
        s->eventcb(s, STREAM_ERROR | STREAM_READING, s->arg);
        return;
    }
    if ((size_t)n > SMALL_READ)
        s->bulk = 1;
    read_done(s);
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
    struct stream *s = arg;
    struct evbuffer_iovec v[2];
    ssize_t n;
    int nv;

    if (s->kick) {
        /* bytes already buffered; the socket is read when it says so. The
         * callback may answer at once, so it gets both buffers, like any
         * read callback. */
        s->kick = 0;
        if (stream_buffers(s) < 0) {
            s->err = ENOMEM;
            s->eventcb(s, STREAM_ERROR | STREAM_READING, s->arg);
            return;
        }
        if (s->readcb)
            s->readcb(s, s->arg);
        return;
    }
    if (what & EV_TIMEOUT) {
        s->eventcb(s, STREAM_TIMEOUT | STREAM_READING, s->arg);
        return;
    }
    if (s->ssl) {
        tls_on_read(s);
        return;
    }
    if (!s->reading || input_full(s)) {
        rev_update(s);
        return;
    }
    /* an idle stream takes its buffers back when it has something to do */
    if (stream_buffers(s) < 0) {
        s->err = ENOMEM;
        s->eventcb(s, STREAM_ERROR | STREAM_READING, s->arg);
        return;
    }
    if (!s->bulk) {
        small_read(s);
        return;
    }
    if ((nv = evbuffer_reserve_space(s->in, READ_CHUNK, v, 2)) <= 0) {
        s->err = ENOMEM;
        s->eventcb(s, STREAM_ERROR | STREAM_READING, s->arg);
        return;
    }
    do
        n = readv(s->fd, (struct iovec *)v, nv);
    while (n < 0 && errno == EINTR);
    if (n <= 0) {
        int e = n < 0 ? errno : 0;
        evbuffer_commit_space(s->in, v, 0);
        read_nothing(s, e);
        return;
    }
    if ((size_t)n <= v[0].iov_len) {
        v[0].iov_len = (size_t)n;
        nv = 1;
    } else {
        v[1].iov_len = (size_t)n - v[0].iov_len;
    }
    evbuffer_commit_space(s->in, v, nv);
    if ((size_t)n <= SMALL_READ)
        s->bulk = 0;
    read_done(s);
}

/* The errno for a failed SSL call (ret from it), or 0 when it only wants
 * the socket: then *want is SSL_ERROR_WANT_READ / _WRITE, or
 * SSL_ERROR_ZERO_RETURN at the peer's close_notify (or a plain EOF). */
static int tls_failure(struct stream *s, int ret, int *want)
{
    int saved = errno; /* of the failed read or write, before anything else runs */
    int e = SSL_get_error(s->ssl, ret);

    *want = e;
    switch (e) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    case SSL_ERROR_SYSCALL:
        s->tls_dead = 1;
        ERR_clear_error();
        return saved ? saved : ECONNRESET;
    default: /* a bad handshake (old version, no shared cipher), a bad record */
        s->tls_dead = 1;
        ERR_clear_error();
        return EPROTO;
    }
}

static void tls_on_read(struct stream *s)
{
    struct evbuffer_iovec v[2];
    size_t got[2] = { 0, 0 }, n;
    int nv, i = 0, want = 0, err = 0;

    if (s->tls_wr) {
        /* a write waited for this: retry it from the loop */
        s->tls_wr = 0;
        event_active(&s->wev, EV_WRITE, 1);
        rev_update(s);
    }
    if (!s->reading || input_full(s)) {
        rev_update(s);
        return;
    }
    if (stream_buffers(s) < 0 || (nv = evbuffer_reserve_space(s->in, READ_CHUNK, v, 2)) <= 0) {
        s->err = ENOMEM;
        s->eventcb(s, STREAM_ERROR | STREAM_READING, s->arg);
        return;
    }
    ERR_clear_error(); /* SSL_get_error reads this thread's queue */
    while (i < nv) {
        int ret = SSL_read_ex(s->ssl, (char *)v[i].iov_base + got[i], v[i].iov_len - got[i], &n);
        if (ret == 1) {
            got[i] += n;
            if (got[i] == v[i].iov_len)
                i++;
            continue;
        }
        err = tls_failure(s, ret, &want);
        break;
    }
    if (want == SSL_ERROR_WANT_WRITE) {
        /* the handshake or a key update must write first */
        s->tls_rw = 1;
        rev_update(s);
        wev_add(s);
    }
    v[0].iov_len = got[0];
    v[1].iov_len = got[1];
    evbuffer_commit_space(s->in, v, got[0] + got[1] == 0 ? 0 : got[1] ? 2 : 1);
    if (s->hs_timed && !err) {
        if (SSL_is_init_finished(s->ssl)) {
            /* done: back to the owner's read timeout */
            struct timeval tv;
            s->hs_timed = 0;
            if (s->rev_added && s->read_ms)
                event_add(&s->rev, ms_tv(s->read_ms, &tv));
            else if (s->rev_added)
                event_remove_timer(&s->rev);
        } else if (hs_arm(s) < 0) {
            s->eventcb(s, STREAM_TIMEOUT | STREAM_READING, s->arg);
            return;
        }
    }
    if (got[0] + got[1] == 0) {
        if (err) {
            s->err = err;
            s->eventcb(s, STREAM_ERROR | STREAM_READING, s->arg);
        } else if (want == SSL_ERROR_ZERO_RETURN) {
            s->reading = 0;
            rev_update(s);
            s->eventcb(s, STREAM_EOF | STREAM_READING, s->arg);
        }
        return; /* else the handshake went on, or a record is incomplete */
    }
    if (input_full(s))
        rev_update(s);
    /* the bytes first; an end or error, or plaintext OpenSSL holds beyond
     * the chunk, comes on the next turn of the loop */
    if (err || want == SSL_ERROR_ZERO_RETURN || (SSL_pending(s->ssl) > 0 && !input_full(s)))
        event_active(&s->rev, EV_READ, 1);
    if (s->readcb)
        s->readcb(s, s->arg);
}

/* ------------------------------------------------------------ writing */

static void wev_add(struct stream *s)
{
    struct timeval tv;

    /* (re)adding also restarts the write timeout after progress */
    event_add(&s->wev, ms_tv(s->write_ms, &tv));
    s->wev_added = 1;
}

static void wev_del(struct stream *s)
{
    if (s->wev_added) {
        event_del(&s->wev);
        s->wev_added = 0;
    }
}

/* write_out() for TLS: one record's worth of plaintext at a time, made
 * contiguous (a copy that costs little beside the encryption) so that
 * small chunks do not each become a record and a system call. A retry
 * after WANT_WRITE passes at least as many bytes, as OpenSSL requires. */
static int tls_write_out(struct stream *s)
{
    size_t len, n;
    int ret, want, err;

    ERR_clear_error();
    while ((len = evbuffer_get_length(s->out)) > 0) {
        if (len > TLS_WRITE_CHUNK)
            len = TLS_WRITE_CHUNK;
        ret = SSL_write_ex(s->ssl, evbuffer_pullup(s->out, (ssize_t)len), len, &n);
        if (ret == 1) {
            evbuffer_drain(s->out, n);
            continue;
        }
        err = tls_failure(s, ret, &want);
        if (err) {
            s->err = err;
            return -1;
        }
        if (want == SSL_ERROR_WANT_READ) {
            s->tls_wr = 1;
            rev_update(s);
            /* a client's handshake waits for the server: writability says
             * nothing until then (after the handshake, as before: 0) */
            return SSL_is_init_finished(s->ssl) ? 0 : 2;
        } else if (want == SSL_ERROR_ZERO_RETURN) {
            s->err = EPIPE;
            return -1;
        }
        return 0;
    }
    return 1;
}

/* Writes what the socket takes. Returns 1 when the output is empty, 0
 * when some is left, 2 when some is left but TLS must read first (a
 * client's handshake waiting for the server), -1 on an error (s->err
 * set). */
static int write_out(struct stream *s)
{
    int n;

    if (stream_output_length(s) == 0)
        return 1;
    if (s->ssl)
        return tls_write_out(s);
    do
        n = evbuffer_write(s->out, s->fd);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        s->err = errno;
        return -1;
    }
    return evbuffer_get_length(s->out) == 0;
}

void stream_flush(struct stream *s)
{
    int rc;

    if (s->connecting || s->failed)
        return;
    rc = write_out(s);
    if (rc < 0) {
        /* the owner hears of it from the loop, not from inside this call */
        s->failed = 1;
        event_active(&s->wev, EV_WRITE, 1);
    } else if (rc == 0) {
        wev_add(s);
    } else {
        wev_del(s); /* done, or tls_on_read retries it */
    }
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
    struct stream *s = arg;
    int rc;

    if (s->failed) {
        s->failed = 0;
        wev_del(s);
        s->eventcb(s, STREAM_ERROR | STREAM_WRITING, s->arg);
        return;
    }
    if (what & EV_TIMEOUT) {
        s->eventcb(s, STREAM_TIMEOUT | STREAM_WRITING, s->arg);
        return;
    }
    if (s->connecting) {
        int err = 0;
        socklen_t len = sizeof(err);
        if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            err = errno;
        if (err == EINPROGRESS)
            return;
        if (err) {
            s->err = err;
            wev_del(s);
            s->eventcb(s, STREAM_ERROR | STREAM_WRITING, s->arg);
            return;
        }
        s->connecting = 0;
    }
    if (s->tls_rw) {
        /* a read waited for this: retry it from the loop */
        s->tls_rw = 0;
        rev_update(s);
        event_active(&s->rev, EV_READ, 1);
        if (stream_output_length(s) == 0) {
            wev_del(s);
            return;
        }
    }
    rc = write_out(s);
    if (rc < 0) {
        wev_del(s);
        s->eventcb(s, STREAM_ERROR | STREAM_WRITING, s->arg);
        return;
    }
    if (rc == 1 || rc == 2)
        wev_del(s); /* done, or tls_on_read retries it */
    else
        wev_add(s);
    if (s->writecb && stream_output_length(s) <= s->write_low)
        s->writecb(s, s->arg);
}

void stream_set_write_low(struct stream *s, size_t low)
{
    s->write_low = low;
}

void stream_set_timeouts(struct stream *s, uint32_t read_ms, uint32_t write_ms)
{
    struct timeval tv;

    /* event_add with a NULL timeout would keep an old one: remove it */
    if (s->read_ms != read_ms) {
        s->read_ms = read_ms;
        if (s->rev_added && read_ms)
            event_add(&s->rev, ms_tv(read_ms, &tv)); /* new timeout, no epoll change */
        else if (s->rev_added)
            event_remove_timer(&s->rev);
    }
    if (s->write_ms != write_ms) {
        s->write_ms = write_ms;
        if (s->wev_added && write_ms)
            event_add(&s->wev, ms_tv(write_ms, &tv));
        else if (s->wev_added)
            event_remove_timer(&s->wev);
    }
}

int stream_shutdown_write(struct stream *s)
{
    if (s->ssl && !s->tls_dead && SSL_is_init_finished(s->ssl)) {
        /* close_notify before the FIN; best effort, like the FIN itself */
        SSL_shutdown(s->ssl);
        ERR_clear_error();
    }
    return shutdown(s->fd, SHUT_WR);
}
