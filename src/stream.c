/* stream.c - buffered non-blocking sockets on raw libevent events. */
#include "stream.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

/* Bytes asked of the kernel per read: a request head or a good slice of
 * a body in one call. */
#define READ_CHUNK 16384

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
    int want = s->reading && !input_full(s);

    if (want && !s->rev_added) {
        event_add(&s->rev, ms_tv(s->read_ms, &tv));
        s->rev_added = 1;
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
    if (!s->reading || input_full(s)) {
        rev_update(s);
        return;
    }
    /* an idle stream takes its buffers back when it has something to do */
    if (stream_buffers(s) < 0 || (nv = evbuffer_reserve_space(s->in, READ_CHUNK, v, 2)) <= 0) {
        s->err = ENOMEM;
        s->eventcb(s, STREAM_ERROR | STREAM_READING, s->arg);
        return;
    }
    do
        n = readv(s->fd, (struct iovec *)v, nv);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        evbuffer_commit_space(s->in, v, 0);
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return;
        s->err = errno;
        s->eventcb(s, STREAM_ERROR | STREAM_READING, s->arg);
        return;
    }
    if (n == 0) {
        evbuffer_commit_space(s->in, v, 0);
        s->reading = 0;
        rev_update(s);
        s->eventcb(s, STREAM_EOF | STREAM_READING, s->arg);
        return;
    }
    if ((size_t)n <= v[0].iov_len) {
        v[0].iov_len = (size_t)n;
        nv = 1;
    } else {
        v[1].iov_len = (size_t)n - v[0].iov_len;
    }
    evbuffer_commit_space(s->in, v, nv);
    if (input_full(s))
        rev_update(s);
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

/* Writes what the socket takes. Returns 1 when the output is empty, 0
 * when some is left, -1 on an error (s->err set). */
static int write_out(struct stream *s)
{
    int n;

    if (stream_output_length(s) == 0)
        return 1;
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
        wev_del(s);
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
    rc = write_out(s);
    if (rc < 0) {
        wev_del(s);
        s->eventcb(s, STREAM_ERROR | STREAM_WRITING, s->arg);
        return;
    }
    if (rc == 1)
        wev_del(s);
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
    return shutdown(s->fd, SHUT_WR);
}
