/* sluicectl.c - the command-line client of sluice's admin API.
 *
 * One small program in one file: a blocking HTTP/1.1 client (a CLI makes
 * one request at a time, so it needs neither libevent nor the gateway's
 * objects), the commands, and what people read: aligned tables, "key:
 * value" blocks and a live view of a deployment. --json prints the
 * server's own JSON instead, for scripts.
 *
 * Exit codes: 0 done, 1 the server said no (its status and message are
 * printed), 2 usage error, 3 the admin API could not be reached (and why),
 * 130 watching was interrupted by Ctrl-C (the deployment goes on).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

enum {
    EXIT_DONE = 0,
    EXIT_REFUSED = 1,
    EXIT_USAGE = 2,
    EXIT_UNREACHABLE = 3,
    EXIT_INTERRUPTED = 130, /* the shell's convention for SIGINT */
};
/* parse_args(): go on with the command (any other value is an exit code). */
#define PROCEED (-1)

#define DEFAULT_ADMIN "http://127.0.0.1:9901"
#define CONNECT_TIMEOUT_MS 3000
#define IO_TIMEOUT_MS 5000
#define MAX_REPLY_BYTES (32u << 20) /* /metrics of a big config stays far below */
#define MAX_FILE_BYTES (4u << 20)   /* definitions, pins, token files */
#define MAX_TOKEN_BYTES 4096
#define MAX_PATH_BYTES 2048
#define MAX_HEAD_BYTES 8192
#define MAX_LIST 32     /* repeated options (--weight) */
#define MAX_VERSIONS 32 /* versions shown in a deployment's figures */
#define WATCH_INTERVAL_MS 1000
#define WATCH_GIVE_UP_S 30 /* a restarting gateway is back well within this */
#define WATCH_PLAIN_EVERY_S 10.0
#define BAR_WIDTH 20

/* Everything a command needs: where the admin API is, how to talk to it,
 * how to print. Filled in once by main(). */
struct ctl {
    const char *url;    /* the admin URL as given, for messages */
    char host[256];     /* for getaddrinfo(): IPv6 without brackets */
    char hostport[300]; /* for the Host header: brackets kept */
    char port[8];
    char base[256]; /* path prefix from the URL: "" or "/prefix" */
    char *token;    /* bearer token, or NULL */
    int json;       /* --json: print the server's JSON as is */
    int tty;        /* stdout is a terminal we may redraw */
    int utf8;       /* the terminal takes UTF-8 (arrows, bars) */
    char err[512];  /* why the last request got no answer */
};

/* An answer from the admin API. */
struct reply {
    int status;
    char reason[64];
    char *body;   /* NUL-terminated, "" without one; owned */
    size_t len;   /* bytes in body */
    json_t *json; /* body parsed, or NULL when it is not JSON; owned */
};

/* A growable byte buffer with a hard cap; p is NUL-terminated when set. */
struct buf {
    char *p;
    size_t len, cap;
};

/* A bounded text block for what is printed: a line that does not fit is
 * cut, which is harmless for display and keeps every write bounded. */
struct text {
    char s[16384];
    size_t len;
    int lines;
};

/* Repeated option values, in order. */
struct strlist {
    const char *v[MAX_LIST];
    size_t n;
};

enum opt_kind { OPT_FLAG, OPT_VALUE, OPT_LIST };

/* One option a command takes; dest is an int * (flag), a const char **
 * (value) or a struct strlist * (list). */
struct opt {
    const char *name;
    enum opt_kind kind;
    void *dest;
};

struct command {
    const char *name; /* "deploy" */
    const char *sub;  /* "start", or NULL */
    int (*run)(struct ctl *c, const struct command *cmd, int argc, char **argv);
    const char *usage;   /* arguments after the name */
    const char *summary; /* one line for the list of commands */
    const char *help;    /* what it does, its options */
};

static volatile sig_atomic_t interrupted;

static const struct command *find_command(const char *name, const char *sub);

/* ------------------------------------------------------------------ basics */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;

    fputs("sluicectl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* A CLI that cannot allocate a few kilobytes can do nothing useful: one
 * clear message and out, instead of a cleanup path through every caller. */
_Noreturn static void out_of_memory(void)
{
    say("out of memory");
    exit(EXIT_REFUSED);
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s);

    if (!d)
        out_of_memory();
    return d;
}

/* Sets c->err (why a request got no answer). */
static void set_err(struct ctl *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(struct ctl *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
}

/* strerror(e) with a lower-case first letter, to read well mid-sentence
 * ("cannot reach ...: connection refused"). */
static void set_err_errno(struct ctl *c, const char *what, int e)
{
    char msg[200];

    snprintf(msg, sizeof msg, "%s", strerror(e));
    msg[0] = (char)tolower((unsigned char)msg[0]);
    if (what)
        set_err(c, "%s: %s", what, msg);
    else
        set_err(c, "%s", msg);
}

static void text_add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_add(struct text *t, const char *fmt, ...)
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

/* Makes room for more bytes plus a NUL. Returns 0, or -1 beyond
 * MAX_REPLY_BYTES (the caller says what was too large). */
static int buf_reserve(struct buf *b, size_t more)
{
    size_t need, cap;
    char *p;

    if (more > MAX_REPLY_BYTES - b->len)
        return -1;
    need = b->len + more + 1;
    if (need <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 1024;
    while (cap < need)
        cap *= 2;
    p = realloc(b->p, cap);
    if (!p)
        out_of_memory();
    b->p = p;
    b->cap = cap;
    return 0;
}

static int buf_add(struct buf *b, const void *data, size_t n)
{
    if (buf_reserve(b, n))
        return -1;
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

static void buf_free(struct buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* Reads a whole file (at most MAX_FILE_BYTES) into a NUL-terminated
 * string the caller frees. Returns NULL after saying why. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct buf b = { 0 };
    char chunk[8192];
    size_t n;

    if (!f) {
        say("cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b.len + n > MAX_FILE_BYTES || buf_add(&b, chunk, n)) {
            say("%s: larger than %u bytes", path, MAX_FILE_BYTES);
            fclose(f);
            buf_free(&b);
            return NULL;
        }
    }
    if (ferror(f)) {
        say("cannot read %s: %s", path, strerror(errno));
        fclose(f);
        buf_free(&b);
        return NULL;
    }
    fclose(f);
    if (!b.p && buf_add(&b, "", 0))
        out_of_memory();
    if (len)
        *len = b.len;
    return b.p;
}

/* ------------------------------------------------------------------ admin URL */

/* Splits "http://HOST[:PORT][/PREFIX]" (the scheme may be left out) into
 * c->host, c->port, c->base. Returns 0, or -1 after saying why. */
static int parse_admin_url(struct ctl *c, const char *url)
{
    const char *p = url, *h, *hend;
    size_t hlen;

    if (strncasecmp(p, "https://", 8) == 0) {
        say("%s: https is not supported: the admin API speaks plain HTTP; keep it on a "
            "loopback address, or reach it through a tunnel (ssh -L 9901:127.0.0.1:9901 HOST)",
            url);
        return -1;
    }
    if (strncasecmp(p, "http://", 7) == 0)
        p += 7;
    else if (strstr(p, "://")) {
        say("%s: only http:// URLs are supported", url);
        return -1;
    }
    if (*p == '[') { /* an IPv6 literal */
        h = p + 1;
        hend = strchr(h, ']');
        if (!hend)
            goto bad;
        p = hend + 1;
    } else {
        h = p;
        hend = p + strcspn(p, ":/");
        p = hend;
    }
    hlen = (size_t)(hend - h);
    if (hlen == 0 || hlen >= sizeof c->host || memchr(h, '@', hlen))
        goto bad;
    memcpy(c->host, h, hlen);
    c->host[hlen] = '\0';
    snprintf(c->port, sizeof c->port, "80");
    if (*p == ':') {
        char *end;
        long port = strtol(p + 1, &end, 10);
        if (end == p + 1 || port < 1 || port > 65535 || (*end && *end != '/'))
            goto bad;
        snprintf(c->port, sizeof c->port, "%ld", port);
        p = end;
    }
    if (*p && *p != '/')
        goto bad;
    if (strlen(p) >= sizeof c->base || strpbrk(p, "?# \t\r\n"))
        goto bad;
    snprintf(c->base, sizeof c->base, "%s", p);
    while (c->base[0] && c->base[strlen(c->base) - 1] == '/')
        c->base[strlen(c->base) - 1] = '\0';
    snprintf(c->hostport, sizeof c->hostport, strchr(c->host, ':') ? "[%s]:%s" : "%s:%s", c->host,
             c->port);
    c->url = url;
    return 0;
bad:
    say("bad admin URL %s (want http://HOST:PORT, e.g. %s)", url, DEFAULT_ADMIN);
    return -1;
}

/* Builds c->base + tmpl into out, each '%' of tmpl replaced by the next
 * argument percent-encoded (names and ids are path segments: a '/' or a
 * '?' in one must not change the path). Returns 0, or -1 when too long. */
static int make_path(const struct ctl *c, char *out, size_t cap, const char *tmpl, ...)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    va_list ap;
    int rc = 0;

    n = (size_t)snprintf(out, cap, "%s", c->base);
    va_start(ap, tmpl);
    for (const char *t = tmpl; *t && rc == 0; t++) {
        const char *seg = *t == '%' ? va_arg(ap, const char *) : NULL;
        char lit[2] = { *t, '\0' };
        /* "." and ".." encoded, so no server or proxy takes them as steps up */
        int dots = seg && (strcmp(seg, ".") == 0 || strcmp(seg, "..") == 0);
        for (const unsigned char *s = (const unsigned char *)(seg ? seg : lit); *s; s++) {
            int plain = !seg || (!dots && (isalnum(*s) || strchr("-._~$", *s)));
            if (n + (plain ? 1 : 3) >= cap) {
                rc = -1;
                break;
            }
            if (plain) {
                out[n++] = (char)*s;
            } else {
                out[n++] = '%';
                out[n++] = hex[*s >> 4];
                out[n++] = hex[*s & 15];
            }
        }
    }
    va_end(ap);
    if (rc == 0)
        out[n] = '\0';
    else
        say("a name given is too long for a request path");
    return rc;
}

/* ------------------------------------------------------------------ HTTP client */

/* Waits until fd is ready for events. Returns 1 ready, 0 timed out, -1
 * interrupted by Ctrl-C or poll() failing (c->err set). */
static int wait_fd(struct ctl *c, int fd, short events, int timeout_ms)
{
    struct timespec start, now;
    struct pollfd pfd = { .fd = fd, .events = events };

    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        int left, rc;
        clock_gettime(CLOCK_MONOTONIC, &now);
        left = timeout_ms -
               (int)((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
        if (left <= 0)
            return 0;
        rc = poll(&pfd, 1, left);
        if (rc > 0)
            return 1;
        if (rc == 0)
            return 0;
        if (errno != EINTR) {
            set_err_errno(c, "poll", errno);
            return -1;
        }
        if (interrupted) {
            set_err(c, "interrupted");
            return -1;
        }
    }
}

/* Connects to one address, bounded by CONNECT_TIMEOUT_MS. Returns a
 * non-blocking socket, or -1 (c->err says why). */
static int connect_one(struct ctl *c, const struct addrinfo *ai)
{
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    int soerr = 0, w, flags;
    socklen_t len = sizeof soerr;

    if (fd < 0) {
        set_err_errno(c, "socket", errno);
        return -1;
    }
    /* non-blocking, so that connect and every read and write can time out */
    flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        set_err_errno(c, "fcntl", errno);
        close(fd);
        return -1;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return fd;
    if (errno != EINPROGRESS) {
        set_err_errno(c, NULL, errno);
        close(fd);
        return -1;
    }
    w = wait_fd(c, fd, POLLOUT, CONNECT_TIMEOUT_MS);
    if (w == 0)
        set_err(c, "connection timed out after %d s", CONNECT_TIMEOUT_MS / 1000);
    else if (w > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
        soerr = errno;
    if (w > 0 && soerr)
        set_err_errno(c, NULL, soerr);
    if (w <= 0 || soerr) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Connects to the admin API, trying every address of its host in turn
 * (IPv6 and IPv4 alike). Returns a socket, or -1 (c->err says why). */
static int admin_connect(struct ctl *c)
{
    struct addrinfo hints, *res = NULL;
    int fd = -1, rc;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(c->host, c->port, &hints, &res);
    if (rc) {
        set_err(c, "cannot resolve %s: %s", c->host, gai_strerror(rc));
        return -1;
    }
    for (const struct addrinfo *ai = res; ai && fd < 0 && !interrupted; ai = ai->ai_next)
        fd = connect_one(c, ai);
    freeaddrinfo(res);
    return fd;
}

static int send_all(struct ctl *c, int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL); /* a closed peer is an error, not a signal */
        if (k > 0) {
            p += k;
            n -= (size_t)k;
            continue;
        }
        if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            set_err_errno(c, "sending the request", errno);
            return -1;
        }
        k = wait_fd(c, fd, POLLOUT, IO_TIMEOUT_MS);
        if (k == 0)
            set_err(c, "timed out after %d s sending the request", IO_TIMEOUT_MS / 1000);
        if (k <= 0)
            return -1;
    }
    return 0;
}

static const char *find_crlf(const char *p, const char *end)
{
    for (; p + 1 < end; p++)
        if (p[0] == '\r' && p[1] == '\n')
            return p;
    return NULL;
}

/* What the head of a response says about its body. */
struct head {
    size_t head_len; /* bytes up to and including the blank line */
    int chunked;
    int has_length;
    unsigned long long length;
};

/* One header line of a response: notes the framing headers. Returns 0,
 * or -1 when they are malformed. */
static int head_field(struct ctl *c, const char *p, const char *end, struct head *h)
{
    const char *colon = memchr(p, ':', (size_t)(end - p)), *v;
    size_t nlen, vlen;

    if (!colon)
        return -1;
    nlen = (size_t)(colon - p);
    for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
        ;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    vlen = (size_t)(end - v);
    if (nlen == 14 && strncasecmp(p, "content-length", 14) == 0) {
        unsigned long long n = 0;
        if (vlen == 0 || vlen > 15 || h->has_length)
            return -1;
        for (size_t i = 0; i < vlen; i++) {
            if (!isdigit((unsigned char)v[i]))
                return -1;
            n = n * 10 + (unsigned)(v[i] - '0');
        }
        h->has_length = 1;
        h->length = n;
    } else if (nlen == 17 && strncasecmp(p, "transfer-encoding", 17) == 0) {
        if (vlen != 7 || strncasecmp(v, "chunked", 7) != 0) {
            set_err(c, "the admin API answered with an unsupported transfer-encoding");
            return -1;
        }
        h->chunked = 1;
    }
    return 0;
}

/* Parses the status line and headers in p[0..n). Returns 1 when the head
 * is complete, 0 when more bytes are needed, -1 when it is malformed. */
static int parse_head(struct ctl *c, const char *p, size_t n, struct reply *r, struct head *h)
{
    const char *end = p + n, *line = p, *eol;

    memset(h, 0, sizeof *h);
    eol = find_crlf(line, end);
    if (!eol)
        return n > MAX_HEAD_BYTES ? -1 : 0;
    if (eol - line < 12 || strncmp(line, "HTTP/1.", 7) != 0 || line[8] != ' ' ||
        !isdigit((unsigned char)line[9]) || !isdigit((unsigned char)line[10]) ||
        !isdigit((unsigned char)line[11]))
        return -1;
    r->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    if (eol - line > 13)
        snprintf(r->reason, sizeof r->reason, "%.*s", (int)(eol - line - 13), line + 13);
    for (line = eol + 2;; line = eol + 2) {
        eol = find_crlf(line, end);
        if (!eol)
            return n > 16 * MAX_HEAD_BYTES ? -1 : 0;
        if (eol == line)
            break;
        if (head_field(c, line, eol, h))
            return -1;
    }
    h->head_len = (size_t)(eol + 2 - p);
    return 1;
}

/* Decodes a chunked body from p[0..n) into out. Returns 1 when the last
 * chunk and the trailers are in, 0 when more bytes are needed, -1 when it
 * is malformed or too large. */
static int dechunk(const char *p, size_t n, struct buf *out)
{
    const char *s = p, *end = p + n, *eol;

    out->len = 0;
    for (;;) {
        size_t size = 0;
        int digits = 0;
        for (; s < end && isxdigit((unsigned char)*s); s++, digits++) {
            if (digits >= 12)
                return -1;
            size = size * 16 +
                   (size_t)(isdigit((unsigned char)*s) ? *s - '0' : (tolower(*s) - 'a' + 10));
        }
        eol = find_crlf(s, end);
        if (!eol)
            return 0;
        if (!digits)
            return -1;
        s = eol + 2; /* past chunk extensions, which nobody needs */
        if (size == 0)
            break;
        if ((size_t)(end - s) < size + 2)
            return 0;
        if (s[size] != '\r' || s[size + 1] != '\n' || buf_add(out, s, size))
            return -1;
        s += size + 2;
    }
    for (;;) { /* trailers, up to the blank line */
        eol = find_crlf(s, end);
        if (!eol)
            return 0;
        if (eol == s)
            return 1;
        s = eol + 2;
    }
}

/* Takes the body out of in once it is complete. Returns 1 done (r->body
 * set), 0 when more bytes are needed, -1 malformed (c->err set). at_eof:
 * the server closed the connection, which ends a body without a length. */
static int take_reply(struct ctl *c, struct buf *in, int at_eof, struct reply *r)
{
    struct head h;
    struct buf body = { 0 };
    const char *b;
    size_t avail;
    int rc = parse_head(c, in->p ? in->p : "", in->len, r, &h);

    if (rc <= 0) {
        if (rc < 0 && !c->err[0])
            set_err(c, "the admin API sent a malformed response");
        return rc;
    }
    b = in->p + h.head_len;
    avail = in->len - h.head_len;
    if (r->status == 204 || r->status == 304) {
        rc = buf_add(&body, "", 0) ? -1 : 1;
    } else if (h.chunked) {
        rc = dechunk(b, avail, &body);
    } else if (h.has_length) {
        rc = avail < h.length ? 0 : buf_add(&body, b, (size_t)h.length) ? -1 : 1;
    } else { /* the body runs to the end of the connection */
        rc = at_eof ? (buf_add(&body, b, avail) ? -1 : 1) : 0;
    }
    if (rc == 1) {
        r->body = body.p;
        r->len = body.len;
        return 1;
    }
    buf_free(&body);
    if (rc < 0)
        set_err(c, "the admin API sent a malformed or oversized response");
    return rc;
}

/* Reads one response from fd. Returns 0 (r filled in) or -1 (c->err). */
static int read_reply(struct ctl *c, int fd, struct reply *r)
{
    struct buf in = { 0 };
    int rc;

    for (;;) {
        ssize_t k;
        if ((rc = take_reply(c, &in, 0, r)) != 0)
            break;
        if (buf_reserve(&in, 65536)) {
            set_err(c, "the admin API's answer is larger than %u MiB", MAX_REPLY_BYTES >> 20);
            rc = -1;
            break;
        }
        k = recv(fd, in.p + in.len, in.cap - in.len - 1, 0);
        if (k > 0) {
            in.len += (size_t)k;
            in.p[in.len] = '\0';
        } else if (k == 0) {
            rc = take_reply(c, &in, 1, r);
            if (rc == 0)
                set_err(c, "the admin API closed the connection before a complete answer");
            break;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            int w = wait_fd(c, fd, POLLIN, IO_TIMEOUT_MS);
            if (w == 0)
                set_err(c, "no answer within %d s", IO_TIMEOUT_MS / 1000);
            if (w <= 0) {
                rc = -1;
                break;
            }
        } else {
            set_err_errno(c, "reading the answer", errno);
            rc = -1;
            break;
        }
    }
    buf_free(&in);
    return rc == 1 ? 0 : -1;
}

static void reply_free(struct reply *r)
{
    free(r->body);
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

/* Writes the request head for call() into out. Returns 0, or -1 when it
 * does not fit (a path or token far beyond what a person types). */
static int request_head(const struct ctl *c, char *out, size_t cap, const char *method,
                        const char *path, const char *if_match, const char *body)
{
    /* a POST or PUT without a body still says so; a GET says nothing */
    int has_length = body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0;
    char length[64] = "";
    int n;

    if (has_length)
        snprintf(length, sizeof length, "Content-Length: %zu\r\n", body ? strlen(body) : 0);
    n = snprintf(out, cap,
                 "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: sluicectl/%s\r\n"
                 "Accept: application/json\r\nConnection: close\r\n"
                 "%s%s%s%s%s%s%s%s\r\n",
                 method, path, c->hostport, PACKAGE_VERSION,
                 c->token ? "Authorization: Bearer " : "", c->token ? c->token : "",
                 c->token ? "\r\n" : "", if_match ? "If-Match: " : "", if_match ? if_match : "",
                 if_match ? "\r\n" : "", length, body ? "Content-Type: application/json\r\n" : "");
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* Sends one request (body: JSON text or NULL) and reads the answer,
 * whatever its status. Returns 0 (r filled in; the caller frees it with
 * reply_free), or -1 when no answer came (c->err says why). */
static int call_raw(struct ctl *c, const char *method, const char *path, const char *if_match,
                    const char *body, struct reply *r)
{
    char head[MAX_HEAD_BYTES];
    int fd, rc;

    memset(r, 0, sizeof *r);
    c->err[0] = '\0';
    if (request_head(c, head, sizeof head, method, path, if_match, body)) {
        set_err(c, "request too large");
        return -1;
    }
    fd = admin_connect(c);
    if (fd < 0)
        return -1;
    rc = send_all(c, fd, head, strlen(head));
    if (rc == 0 && body)
        rc = send_all(c, fd, body, strlen(body));
    if (rc == 0)
        rc = read_reply(c, fd, r);
    close(fd);
    if (rc == 0 && r->len > 0)
        r->json = json_loadb(r->body, r->len, 0, NULL);
    if (rc)
        reply_free(r);
    return rc;
}

/* Says why the admin API could not be reached; returns the exit code. */
static int unreachable(const struct ctl *c)
{
    if (interrupted)
        return EXIT_INTERRUPTED;
    say("cannot reach the admin API at %s: %s", c->url, c->err);
    return EXIT_UNREACHABLE;
}

/* Says what the server refused and why; returns the exit code. With
 * --json the server's body goes to stdout as well, for scripts. */
static int refused(const struct ctl *c, const struct reply *r)
{
    const char *msg = json_string_value(json_object_get(r->json, "message"));

    if (c->json && r->len)
        printf("%s\n", r->body);
    if (msg)
        say("%d %s: %s", r->status, r->reason, msg);
    else if (r->len && r->len < 500)
        say("%d %s: %s", r->status, r->reason, r->body);
    else
        say("%d %s", r->status, r->reason);
    if (r->status == 401 && !c->token)
        say("the admin API wants a token: --token-file FILE or SLUICE_ADMIN_TOKEN_FILE");
    else if (r->status == 401)
        say("the token given was refused: is it the one in the gateway's admin.token_file?");
    return EXIT_REFUSED;
}

/* call_raw() for the usual case: a 2xx answer gives EXIT_DONE (r filled
 * in); anything else is reported and gives its exit code (r freed). */
static int call(struct ctl *c, const char *method, const char *path, const char *body,
                struct reply *r)
{
    int rc;

    if (call_raw(c, method, path, NULL, body, r))
        return unreachable(c);
    if (r->status >= 200 && r->status < 300)
        return EXIT_DONE;
    rc = refused(c, r);
    reply_free(r);
    return rc;
}

/* The JSON object a 2xx answer must carry. Returns it, or NULL after
 * saying the server answered something else. */
static json_t *reply_object(const struct reply *r)
{
    if (json_is_object(r->json))
        return r->json;
    say("the admin API answered %d with a body that is not a JSON object: %.200s", r->status,
        r->body ? r->body : "");
    return NULL;
}

/* ------------------------------------------------------------------ formatting */

/* "10%", or "12.5%" when a whole number would hide the difference. */
static const char *fmt_pct(double w, char *out, size_t n)
{
    double p = w * 100.0;

    snprintf(out, n, fabs(p - round(p)) < 0.05 ? "%.0f%%" : "%.1f%%", p);
    return out;
}

static const char *fmt_duration(double s, char *out, size_t n)
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
static const char *fmt_time(double t, char *out, size_t n)
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
static const char *fmt_json(const json_t *v, char *out, size_t n)
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

static const char *jstr(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* A string member for display: "-" when it is absent or not a string. */
static const char *jtext(const json_t *o, const char *key)
{
    const char *s = jstr(o, key);

    return s ? s : "-";
}

/* A number member, or dflt when it is absent, null or not a number. */
static double jnum(const json_t *o, const char *key, double dflt)
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

static int version_qsort_cmp(const void *a, const void *b)
{
    return version_cmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of an object, sorted as versions, into keys[max]. */
static size_t sorted_keys(const json_t *o, const char **keys, size_t max)
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
static const char *fmt_weights(const json_t *weights, char *out, size_t n)
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
static const char *fmt_pin(const struct ctl *c, const json_t *pin, char *out, size_t n)
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

/* Display width of a UTF-8 string: code points, not bytes, so an arrow
 * in a cell does not shift its column. */
static size_t text_width(const char *s)
{
    size_t w = 0;

    for (; *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

/* ------------------------------------------------------------------ tables */

#define TABLE_MAX_COLS 12

/* Rows of cells printed in aligned columns; the first row is usually the
 * header. Cells are copies, owned by the table. */
struct table {
    size_t ncols, nrows, cap;
    char **cells; /* row-major */
};

static void table_row(struct table *t, ...)
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
static void table_print(const struct table *t, const char *indent)
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

static void table_free(struct table *t)
{
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
    t->nrows = t->cap = 0;
}

/* A "key: value" row of a two-column table. */
static void kv(struct table *t, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void kv(struct table *t, const char *key, const char *fmt, ...)
{
    char k[64], v[2048];
    va_list ap;

    snprintf(k, sizeof k, "%s%s", key, key[0] ? ":" : "");
    va_start(ap, fmt);
    vsnprintf(v, sizeof v, fmt, ap);
    va_end(ap);
    table_row(t, k, v);
}

/* ------------------------------------------------------------------ arguments */

static void print_command_help(const struct command *cmd, FILE *f)
{
    fprintf(f, "usage: sluicectl [--admin URL] [--token-file F] %s%s%s %s\n\n%s", cmd->name,
            cmd->sub ? " " : "", cmd->sub ? cmd->sub : "", cmd->usage, cmd->help);
}

static int usage_error(const struct command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int usage_error(const struct command *cmd, const char *fmt, ...)
{
    va_list ap;

    fputs("sluicectl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (cmd)
        fprintf(stderr, "\nusage: sluicectl %s%s%s %s\n(sluicectl help %s%s%s tells more)\n",
                cmd->name, cmd->sub ? " " : "", cmd->sub ? cmd->sub : "", cmd->usage, cmd->name,
                cmd->sub ? " " : "", cmd->sub ? cmd->sub : "");
    else
        fputs("\n(sluicectl --help lists the commands)\n", stderr);
    return EXIT_USAGE;
}

/* Takes the option at argv[*i] ("--name VALUE" or "--name=VALUE"),
 * advancing *i past its value. Returns PROCEED or EXIT_USAGE. */
static int take_option(const struct command *cmd, const struct opt *opts, int argc, char **argv,
                       int *i)
{
    const char *a = argv[*i], *eq = strchr(a, '='), *v;
    size_t nlen = eq ? (size_t)(eq - a) : strlen(a);

    for (const struct opt *o = opts; o && o->name; o++) {
        if (strlen(o->name) != nlen || strncmp(o->name, a, nlen) != 0)
            continue;
        if (o->kind == OPT_FLAG) {
            if (eq)
                return usage_error(cmd, "%s takes no value", o->name);
            *(int *)o->dest = 1;
            return PROCEED;
        }
        v = eq ? eq + 1 : *i + 1 < argc ? argv[++*i] : NULL;
        if (!v)
            return usage_error(cmd, "%s needs a value", o->name);
        if (o->kind == OPT_VALUE) {
            *(const char **)o->dest = v;
        } else {
            struct strlist *l = o->dest;
            if (l->n >= MAX_LIST)
                return usage_error(cmd, "%s given more than %d times", o->name, MAX_LIST);
            l->v[l->n++] = v;
        }
        return PROCEED;
    }
    return usage_error(cmd, "unknown option %s", a);
}

/* Splits a command's arguments into its options (opts, plus --json and
 * --help, which every command takes, anywhere) and exactly npos
 * positional arguments. Returns PROCEED, EXIT_DONE after --help, or
 * EXIT_USAGE after saying what was wrong. */
static int parse_args(struct ctl *c, const struct command *cmd, int argc, char **argv,
                      const struct opt *opts, const char **pos, size_t npos)
{
    size_t got = 0;
    int only_positional = 0;

    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int rc;
        if (only_positional || a[0] != '-' || a[1] == '\0') {
            if (got >= npos)
                return usage_error(cmd, "unexpected argument %s", a);
            pos[got++] = a;
        } else if (strcmp(a, "--") == 0) {
            only_positional = 1;
        } else if (strcmp(a, "--json") == 0) {
            c->json = 1;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            print_command_help(cmd, stdout);
            return EXIT_DONE;
        } else if ((rc = take_option(cmd, opts, argc, argv, &i)) != PROCEED) {
            return rc;
        }
    }
    if (got < npos)
        return usage_error(cmd, "missing argument%s", npos - got > 1 ? "s" : "");
    return PROCEED;
}

/* A whole number in [0, max]. Returns 0, or -1 when s is not one. */
static int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    unsigned long long v;

    if (!isdigit((unsigned char)s[0]))
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        return -1;
    *out = v;
    return 0;
}

/* A share in [0, 1], written "0.1" or "10%". Returns 0 or -1. */
static int parse_share(const char *s, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (end == s || errno || !isfinite(v))
        return -1;
    if (*end == '%' && end[1] == '\0')
        v /= 100.0;
    else if (*end)
        return -1;
    if (v < 0 || v > 1)
        return -1;
    *out = v;
    return 0;
}

/* ------------------------------------------------------------------ simple commands */

/* With --json, prints the server's body as it is and returns 1. */
static int print_raw(const struct ctl *c, const struct reply *r)
{
    if (!c->json)
        return 0;
    fwrite(r->body, 1, r->len, stdout);
    if (r->len && r->body[r->len - 1] != '\n')
        fputc('\n', stdout);
    return 1;
}

/* GETs path and checks the answer is a JSON object. Returns EXIT_DONE
 * (r filled in: free it) or an exit code (r freed). */
static int get_object(struct ctl *c, const char *path, struct reply *r)
{
    int rc = call(c, "GET", path, NULL, r);

    if (rc == EXIT_DONE && !c->json && !reply_object(r)) {
        reply_free(r);
        return EXIT_REFUSED;
    }
    return rc;
}

static int cmd_health(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
    struct reply r;
    char path[MAX_PATH_BYTES];
    int rc = parse_args(c, cmd, argc, argv, NULL, NULL, 0);

    if (rc != PROCEED)
        return rc;
    if (make_path(c, path, sizeof path, "/healthz"))
        return EXIT_USAGE;
    if ((rc = call(c, "GET", path, NULL, &r)) != EXIT_DONE)
        return rc;
    if (!print_raw(c, &r))
        printf("%s: %s\n", c->url, jstr(r.json, "status") ? jstr(r.json, "status") : r.body);
    reply_free(&r);
    return EXIT_DONE;
}

static int cmd_metrics(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
    struct reply r;
    char path[MAX_PATH_BYTES];
    int rc = parse_args(c, cmd, argc, argv, NULL, NULL, 0);

    if (rc != PROCEED)
        return rc;
    if (make_path(c, path, sizeof path, "/metrics"))
        return EXIT_USAGE;
    if ((rc = call(c, "GET", path, NULL, &r)) != EXIT_DONE)
        return rc;
    fwrite(r.body, 1, r.len, stdout); /* Prometheus text is for people and tools alike */
    reply_free(&r);
    return EXIT_DONE;
}

/* A JSON array of names as "a, b, c", sorted as versions are (names
 * sort alphabetically), "-" when empty. */
static const char *fmt_list(const json_t *arr, char *out, size_t n)
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

static int cmd_functions(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
    struct reply r;
    struct table t = { .ncols = 3 };
    char path[MAX_PATH_BYTES], vs[1024], as[1024];
    const json_t *fn;
    size_t i;
    int rc = parse_args(c, cmd, argc, argv, NULL, NULL, 0);

    if (rc != PROCEED)
        return rc;
    if (make_path(c, path, sizeof path, "/v1/functions"))
        return EXIT_USAGE;
    if ((rc = get_object(c, path, &r)) != EXIT_DONE)
        return rc;
    if (print_raw(c, &r)) {
        reply_free(&r);
        return EXIT_DONE;
    }
    table_row(&t, "FUNCTION", "VERSIONS", "ALIASES");
    json_array_foreach(json_object_get(r.json, "functions"), i, fn)
    {
        table_row(&t, jstr(fn, "name"), fmt_list(json_object_get(fn, "versions"), vs, sizeof vs),
                  fmt_list(json_object_get(fn, "aliases"), as, sizeof as));
    }
    table_print(&t, "");
    table_free(&t);
    reply_free(&r);
    return EXIT_DONE;
}

/* A version's handler as "http http://127.0.0.1:9001" and its other
 * settings as "timeout_ms=5000 max_concurrency=10". */
static void fmt_version(const json_t *def, char *handler, size_t hn, char *settings, size_t sn)
{
    const json_t *hd = json_object_get(def, "handler"), *v;
    const char *where = jstr(hd, "url"), *k;
    size_t len = 0;
    char tmp[256];

    if (!where)
        where = jstr(hd, "endpoint") ? jstr(hd, "endpoint") : jstr(hd, "file");
    snprintf(handler, hn, "%s %s%s%s", jstr(hd, "type") ? jstr(hd, "type") : "?",
             where ? where : "", jstr(hd, "function_name") ? " " : "",
             jstr(hd, "function_name") ? jstr(hd, "function_name") : "");
    snprintf(settings, sn, "-");
    json_object_foreach((json_t *)def, k, v)
    {
        int m;
        if (strcmp(k, "handler") == 0)
            continue;
        m = snprintf(settings + len, sn - len, "%s%s=%s", len ? " " : "", k,
                     fmt_json(v, tmp, sizeof tmp));
        if (m < 0 || (size_t)m >= sn - len)
            break;
        len += (size_t)m;
    }
}

static void print_function_tables(const struct ctl *c, const json_t *f)
{
    const json_t *versions = json_object_get(f, "versions"),
                 *aliases = json_object_get(f, "aliases");
    const char *keys[256];
    size_t n = json_is_object(versions) ? sorted_keys(versions, keys, 256) : 0;
    struct table t = { .ncols = 3 }, a = { .ncols = 6 };
    char h[512], s[512], w[512], pins[16], gen[32];

    table_row(&t, "VERSION", "HANDLER", "SETTINGS");
    for (size_t i = 0; i < n; i++) {
        fmt_version(json_object_get(versions, keys[i]), h, sizeof h, s, sizeof s);
        table_row(&t, keys[i], h, s);
    }
    printf("\n");
    table_print(&t, "");
    table_free(&t);
    n = json_is_object(aliases) ? sorted_keys(aliases, keys, 256) : 0;
    if (n == 0)
        return;
    table_row(&a, "ALIAS", "VERSION", "WEIGHTS", "STICKY_BY", "PINS", "GENERATION");
    for (size_t i = 0; i < n; i++) {
        const json_t *al = json_object_get(aliases, keys[i]);
        snprintf(pins, sizeof pins, "%zu", json_array_size(json_object_get(al, "pins")));
        table_row(&a, keys[i], jstr(al, "version"),
                  fmt_weights(json_object_get(al, "weights"), w, sizeof w), jstr(al, "sticky_by"),
                  pins, fmt_json(json_object_get(al, "generation"), gen, sizeof gen));
    }
    printf("\n");
    table_print(&a, "");
    table_free(&a);
}

static int cmd_function(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
    struct reply r;
    struct table t = { .ncols = 2 };
    char path[MAX_PATH_BYTES], tmp[64];
    const char *pos[1];
    static const char *const settings[] = { "timeout_ms", "memory_mb", "max_concurrency" };
    int rc = parse_args(c, cmd, argc, argv, NULL, pos, 1);

    if (rc != PROCEED)
        return rc;
    if (make_path(c, path, sizeof path, "/v1/functions/%", pos[0]))
        return EXIT_USAGE;
    if ((rc = get_object(c, path, &r)) != EXIT_DONE)
        return rc;
    if (print_raw(c, &r)) {
        reply_free(&r);
        return EXIT_DONE;
    }
    kv(&t, "function", "%s", jstr(r.json, "name") ? jstr(r.json, "name") : pos[0]);
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++)
        kv(&t, settings[i], "%s", fmt_json(json_object_get(r.json, settings[i]), tmp, sizeof tmp));
    table_print(&t, "");
    table_free(&t);
    print_function_tables(c, r.json);
    reply_free(&r);
    return EXIT_DONE;
}

/* Who gets what share of an alias's traffic: "1 90%, 2 10%". */
static const char *fmt_traffic(const json_t *a, char *out, size_t n)
{
    const json_t *weights = json_object_get(a, "weights");
    const char *keys[MAX_VERSIONS];
    size_t nk = json_is_object(weights) ? sorted_keys(weights, keys, MAX_VERSIONS) : 0, len;
    double rest = 1.0;
    char pct[32];

    for (size_t i = 0; i < nk; i++)
        rest -= jnum(weights, keys[i], 0);
    snprintf(out, n, "%s %s", jstr(a, "version") ? jstr(a, "version") : "?",
             fmt_pct(rest < 0 ? 0 : rest, pct, sizeof pct));
    len = strlen(out);
    for (size_t i = 0; i < nk && len < n; i++) {
        int k = snprintf(out + len, n - len, ", %s %s", keys[i],
                         fmt_pct(jnum(weights, keys[i], 0), pct, sizeof pct));
        if (k < 0)
            break;
        len += (size_t)k;
    }
    return out;
}

static void print_alias(const struct ctl *c, const json_t *a)
{
    struct table t = { .ncols = 2 };
    const json_t *pins = json_object_get(a, "pins"), *pin;
    char buf[1024], tmp[64];
    size_t i;

    kv(&t, "function", "%s", fmt_json(json_object_get(a, "function"), tmp, sizeof tmp));
    kv(&t, "alias", "%s", fmt_json(json_object_get(a, "alias"), tmp, sizeof tmp));
    kv(&t, "version", "%s", fmt_json(json_object_get(a, "version"), tmp, sizeof tmp));
    kv(&t, "weights", "%s", fmt_weights(json_object_get(a, "weights"), buf, sizeof buf));
    kv(&t, "traffic", "%s", fmt_traffic(a, buf, sizeof buf));
    kv(&t, "sticky_by", "%s", fmt_json(json_object_get(a, "sticky_by"), tmp, sizeof tmp));
    if (json_array_size(pins) == 0)
        kv(&t, "pins", "-");
    json_array_foreach(pins, i, pin)
    {
        kv(&t, i ? "" : "pins", "%s", fmt_pin(c, pin, buf, sizeof buf));
    }
    kv(&t, "generation", "%s", fmt_json(json_object_get(a, "generation"), tmp, sizeof tmp));
    kv(&t, "source", "%s", fmt_json(json_object_get(a, "source"), tmp, sizeof tmp));
    table_print(&t, "");
    table_free(&t);
}

static int cmd_alias_get(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
    struct reply r;
    char path[MAX_PATH_BYTES];
    const char *pos[2];
    int rc = parse_args(c, cmd, argc, argv, NULL, pos, 2);

    if (rc != PROCEED)
        return rc;
    if (make_path(c, path, sizeof path, "/v1/functions/%/aliases/%", pos[0], pos[1]))
        return EXIT_USAGE;
    if ((rc = get_object(c, path, &r)) != EXIT_DONE)
        return rc;
    if (!print_raw(c, &r))
        print_alias(c, r.json);
    reply_free(&r);
    return EXIT_DONE;
}

/* What `alias set` was asked to change. */
struct alias_edit {
    const char *version;
    struct strlist weights; /* "V=W" */
    int no_weights;
    const char *sticky_by;
    int no_sticky;
    const char *pins_file;
    json_t *pins; /* loaded from pins_file; owned */
};

/* Checks the options and loads the pins file, before anything is read
 * from the server. Returns PROCEED or EXIT_USAGE. */
static int alias_edit_check(const struct command *cmd, struct alias_edit *e)
{
    json_error_t jerr;

    if (e->sticky_by && e->no_sticky)
        return usage_error(cmd, "--sticky-by and --no-sticky contradict each other");
    if (!e->version && !e->weights.n && !e->no_weights && !e->sticky_by && !e->no_sticky &&
        !e->pins_file)
        return usage_error(cmd, "nothing to change");
    for (size_t i = 0; i < e->weights.n; i++) {
        const char *eq = strrchr(e->weights.v[i], '=');
        double w;
        if (!eq || eq == e->weights.v[i] || parse_share(eq + 1, &w))
            return usage_error(cmd,
                               "--weight %s: want VERSION=SHARE, SHARE in [0,1] or a "
                               "percentage (2=0.1, 2=10%%)",
                               e->weights.v[i]);
    }
    if (e->pins_file) {
        e->pins = json_load_file(e->pins_file, JSON_REJECT_DUPLICATES, &jerr);
        if (e->pins && json_is_object(e->pins) && json_is_array(json_object_get(e->pins, "pins"))) {
            json_t *inner = json_incref(json_object_get(e->pins, "pins"));
            json_decref(e->pins);
            e->pins = inner; /* {"pins":[...]} as written by alias get --json */
        }
        if (!json_is_array(e->pins)) {
            usage_error(cmd, "%s: %s", e->pins_file,
                        e->pins ? "want a JSON array of pins" : jerr.text);
            json_decref(e->pins);
            e->pins = NULL;
            return EXIT_USAGE;
        }
    }
    return PROCEED;
}

/* Sets weights[version] = share for each --weight (0 removes it). */
static void apply_weights(const struct alias_edit *e, json_t *weights)
{
    for (size_t i = 0; i < e->weights.n; i++) {
        const char *spec = e->weights.v[i], *eq = strrchr(spec, '=');
        char ver[128];
        double w = 0;
        snprintf(ver, sizeof ver, "%.*s", (int)(eq - spec), spec);
        parse_share(eq + 1, &w); /* checked by alias_edit_check() */
        if (w == 0)
            json_object_del(weights, ver);
        else if (json_object_set_new(weights, ver, json_real(w)))
            out_of_memory();
    }
}

/* The alias state to PUT: what was read, with the edits applied. */
static json_t *alias_edit_body(const struct alias_edit *e, const json_t *cur)
{
    json_t *body = json_object(), *weights;
    const json_t *cw = json_object_get(cur, "weights"), *cp = json_object_get(cur, "pins");
    const char *version = e->version ? e->version : jstr(cur, "version");
    const char *sticky = e->no_sticky ? NULL : e->sticky_by ? e->sticky_by : jstr(cur, "sticky_by");

    weights = !e->no_weights && json_is_object(cw) ? json_deep_copy(cw) : json_object();
    if (!body || !weights || !version)
        out_of_memory();
    apply_weights(e, weights);
    if (e->version && json_object_get(weights, version)) {
        /* the new primary gets the rest of the traffic, it cannot also carry a weight */
        json_object_del(weights, version);
        say("note: version %s is now the primary; its weight was dropped", version);
    }
    if (json_object_set_new(body, "version", json_string(version)) ||
        (json_object_size(weights) && json_object_set(body, "weights", weights)) ||
        (sticky && json_object_set_new(body, "sticky_by", json_string(sticky))))
        out_of_memory();
    json_decref(weights);
    if (e->pins ? json_object_set(body, "pins", e->pins)
                : json_array_size(cp) && json_object_set(body, "pins", (json_t *)cp))
        out_of_memory();
    return body;
}

/* PUTs body with If-Match: the generation read. Returns the exit code. */
static int alias_put(struct ctl *c, const char *path, const json_t *cur, json_t *body)
{
    struct reply r;
    char gen[32], now[32], *text = json_dumps(body, JSON_COMPACT);
    const json_t *g = json_object_get(cur, "generation");
    int rc;

    if (!text)
        out_of_memory();
    snprintf(gen, sizeof gen, "%" JSON_INTEGER_FORMAT, json_integer_value(g));
    rc = call_raw(c, "PUT", path, json_is_integer(g) ? gen : NULL, text, &r);
    free(text);
    if (rc)
        return unreachable(c);
    if (r.status == 412) {
        say("%s:%s was changed by someone else since it was read (generation %s, now %s): "
            "nothing was written; read it again and retry",
            jtext(cur, "function"), jtext(cur, "alias"), gen,
            fmt_json(json_object_get(r.json, "generation"), now, sizeof now));
        rc = EXIT_REFUSED;
    } else if (r.status < 200 || r.status > 299) {
        rc = refused(c, &r);
    } else if (!print_raw(c, &r)) {
        if (reply_object(&r))
            print_alias(c, r.json);
        rc = json_is_object(r.json) ? EXIT_DONE : EXIT_REFUSED;
    }
    reply_free(&r);
    return rc;
}

static int cmd_alias_set(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
    struct alias_edit e = { 0 };
    const struct opt opts[] = {
        { "--version", OPT_VALUE, &e.version },
        { "--weight", OPT_LIST, &e.weights },
        { "--no-weights", OPT_FLAG, &e.no_weights },
        { "--sticky-by", OPT_VALUE, &e.sticky_by },
        { "--no-sticky", OPT_FLAG, &e.no_sticky },
        { "--pins-file", OPT_VALUE, &e.pins_file },
        { NULL, OPT_FLAG, NULL },
    };
    struct reply r;
    char path[MAX_PATH_BYTES];
    const char *pos[2];
    json_t *body;
    int rc = parse_args(c, cmd, argc, argv, opts, pos, 2), json = c->json;

    if (rc != PROCEED || (rc = alias_edit_check(cmd, &e)) != PROCEED)
        return rc;
    if (make_path(c, path, sizeof path, "/v1/functions/%/aliases/%", pos[0], pos[1])) {
        json_decref(e.pins);
        return EXIT_USAGE;
    }
    c->json = 0; /* the read is ours; --json applies to the answer of the PUT */
    rc = get_object(c, path, &r);
    c->json = json;
    if (rc != EXIT_DONE) {
        json_decref(e.pins);
        return rc;
    }
    body = alias_edit_body(&e, r.json);
    rc = alias_put(c, path, r.json, body);
    json_decref(body);
    json_decref(e.pins);
    reply_free(&r);
    return rc;
}

static int cmd_publish(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
    const char *file = NULL, *pos[1];
    const struct opt opts[] = { { "--file", OPT_VALUE, &file }, { NULL, OPT_FLAG, NULL } };
    struct reply r;
    char path[MAX_PATH_BYTES], *body;
    json_t *def = NULL;
    json_error_t jerr;
    int rc = parse_args(c, cmd, argc, argv, opts, pos, 1);

    if (rc != PROCEED)
        return rc;
    if (file) { /* checked here, so a typo in the file is a usage error with a line number */
        def = json_load_file(file, JSON_REJECT_DUPLICATES, &jerr);
        if (!json_is_object(def)) {
            json_decref(def);
            if (!def)
                return usage_error(cmd, "%s:%d: %s", file, jerr.line, jerr.text);
            return usage_error(cmd, "%s: want a JSON object (a version definition)", file);
        }
    }
    body = def ? json_dumps(def, JSON_COMPACT) : xstrdup("{}");
    json_decref(def);
    if (!body)
        out_of_memory();
    rc = make_path(c, path, sizeof path, "/v1/functions/%/versions", pos[0])
             ? EXIT_USAGE
             : call(c, "POST", path, body, &r);
    free(body);
    if (rc != EXIT_DONE)
        return rc;
    if (!print_raw(c, &r) && reply_object(&r)) {
        if (r.status == 201)
            printf("published %s version %s (new)\n", pos[0], jtext(r.json, "version"));
        else
            printf("%s version %s: already published with this definition (not new)\n", pos[0],
                   jtext(r.json, "version"));
    }
    rc = c->json || json_is_object(r.json) ? EXIT_DONE : EXIT_REFUSED;
    reply_free(&r);
    return rc;
}

static int cmd_reload(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
    struct reply r;
    char path[MAX_PATH_BYTES], tmp[32], tmp2[32];
    const json_t *e;
    size_t i;
    int rc = parse_args(c, cmd, argc, argv, NULL, NULL, 0);

    if (rc != PROCEED)
        return rc;
    if (make_path(c, path, sizeof path, "/v1/reload"))
        return EXIT_USAGE;
    if (call_raw(c, "POST", path, NULL, NULL, &r))
        return unreachable(c);
    rc = EXIT_DONE;
    if (r.status < 200 || r.status > 299) {
        rc = refused(c, &r);
        json_array_foreach(json_object_get(r.json, "errors"), i, e)
        {
            fprintf(stderr, "  %s\n", json_string_value(e) ? json_string_value(e) : "?");
        }
        if (r.status == 400)
            say("the running config keeps serving");
    } else if (!print_raw(c, &r)) {
        printf("reloaded: %s routes, %s functions\n",
               fmt_json(json_object_get(r.json, "routes"), tmp, sizeof tmp),
               fmt_json(json_object_get(r.json, "functions"), tmp2, sizeof tmp2));
    }
    reply_free(&r);
    return rc;
}

static int cmd_cache_flush(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
    struct reply r;
    char path[MAX_PATH_BYTES];
    const char *pos[1];
    int rc = parse_args(c, cmd, argc, argv, NULL, pos, 1);

    if (rc != PROCEED)
        return rc;
    if (make_path(c, path, sizeof path, "/v1/authorizers/%/cache", pos[0]))
        return EXIT_USAGE;
    if ((rc = call(c, "DELETE", path, NULL, &r)) != EXIT_DONE)
        return rc;
    if (!c->json)
        printf("flushed the result cache of authorizer %s\n", pos[0]);
    reply_free(&r);
    return EXIT_DONE;
}

/* ------------------------------------------------------------------ deployments */

/* One version's figures in a deployment, over its alarm window. */
struct vfig {
    const char *version; /* points into the deployment's JSON */
    double weight, requests, errors, rate, p99;
    int has_p99;
};

static int same(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* The versions of a deployment in the order a person reads them: the one
 * it moves from, the target, then any other that has figures. */
static size_t dep_figures(const json_t *d, struct vfig *v, size_t max)
{
    const json_t *figs = json_object_get(d, "figures"), *f;
    const char *from = jstr(d, "from_version"), *to = jstr(d, "target_version");
    const char *keys[MAX_VERSIONS], *order[MAX_VERSIONS + 2];
    size_t n = 0, nk = json_is_object(figs) ? sorted_keys(figs, keys, MAX_VERSIONS) : 0;
    double w = jnum(d, "weight", 0);

    if (from)
        order[n++] = from;
    if (to && !same(to, from))
        order[n++] = to;
    for (size_t i = 0; i < nk; i++)
        if (!same(keys[i], from) && !same(keys[i], to))
            order[n++] = keys[i];
    n = n < max ? n : max;
    for (size_t i = 0; i < n; i++) {
        f = json_object_get(figs, order[i]);
        v[i].version = order[i];
        v[i].weight = jnum(f, "weight", same(order[i], to) ? w : same(order[i], from) ? 1 - w : 0);
        v[i].requests = jnum(f, "requests", 0);
        v[i].errors = jnum(f, "errors", 0);
        v[i].rate = jnum(f, "error_rate", v[i].requests > 0 ? v[i].errors / v[i].requests : 0);
        v[i].p99 = jnum(f, "p99_ms", 0);
        v[i].has_p99 = json_is_number(json_object_get(f, "p99_ms"));
    }
    return n;
}

static const char *fmt_strategy(const json_t *s, char *out, size_t n)
{
    const json_t *step;
    size_t i, len = 0;
    char pct[32], dur[32];

    if (!json_is_object(s))
        return fmt_json(s, out, n);
    snprintf(out, n, "steps:");
    len = strlen(out);
    json_array_foreach(json_object_get(s, "steps"), i, step)
    {
        int k = snprintf(out + len, n - len, "%s %s for %s", i ? "," : "",
                         fmt_pct(jnum(step, "weight", 0), pct, sizeof pct),
                         fmt_duration(jnum(step, "hold_s", 0), dur, sizeof dur));
        if (k < 0 || (size_t)k >= n - len)
            break;
        len += (size_t)k;
    }
    return out;
}

/* alarms as "error rate > 5%, p99 > 800 ms, over 30 s, from 20 requests". */
static const char *fmt_alarms(const json_t *a, char *out, size_t n)
{
    char pct[32];
    int k = 0;

    if (!json_is_object(a))
        return "none";
    out[0] = '\0';
    if (json_is_number(json_object_get(a, "max_error_rate")))
        k += snprintf(out + k, n - (size_t)k, "error rate > %s, ",
                      fmt_pct(jnum(a, "max_error_rate", 0), pct, sizeof pct));
    if (json_is_number(json_object_get(a, "max_p99_ms")) && (size_t)k < n)
        k += snprintf(out + k, n - (size_t)k, "p99 > %g ms, ", jnum(a, "max_p99_ms", 0));
    if (json_is_number(json_object_get(a, "window_s")) && (size_t)k < n)
        k += snprintf(out + k, n - (size_t)k, "over %g s, ", jnum(a, "window_s", 0));
    if (json_is_number(json_object_get(a, "min_requests")) && (size_t)k < n)
        k += snprintf(out + k, n - (size_t)k, "from %g requests, ", jnum(a, "min_requests", 0));
    if (k >= 2 && (size_t)k < n)
        out[k - 2] = '\0'; /* the last ", " */
    return out;
}

static void print_figures(const json_t *d, const char *indent)
{
    struct vfig v[MAX_VERSIONS];
    size_t n = dep_figures(d, v, MAX_VERSIONS);
    struct table t = { .ncols = 6 };
    char w[32], req[32], err[32], rate[32], p99[32];

    table_row(&t, "VERSION", "WEIGHT", "REQUESTS", "ERRORS", "ERROR RATE", "P99 MS");
    for (size_t i = 0; i < n; i++) {
        snprintf(req, sizeof req, "%.0f", v[i].requests);
        snprintf(err, sizeof err, "%.0f", v[i].errors);
        snprintf(rate, sizeof rate, v[i].requests > 0 ? "%.2f%%" : "-", v[i].rate * 100);
        snprintf(p99, sizeof p99, v[i].has_p99 ? "%.1f" : "-", v[i].p99);
        table_row(&t, v[i].version, fmt_pct(v[i].weight, w, sizeof w), req, err, rate, p99);
    }
    table_print(&t, indent);
    table_free(&t);
}

static void print_deployment(const struct ctl *c, const json_t *d)
{
    struct table t = { .ncols = 2 };
    const json_t *hooks = json_object_get(d, "hooks");
    const char *arrow = c->utf8 ? "\u2192" : "->";
    char a[512], b[64];
    double next = jnum(d, "next_step_in_s", NAN);

    kv(&t, "id", "%s", fmt_json(json_object_get(d, "id"), b, sizeof b));
    kv(&t, "alias", "%s:%s", jtext(d, "function"), jtext(d, "alias"));
    kv(&t, "versions", "%s %s %s", jtext(d, "from_version"), arrow, jtext(d, "target_version"));
    kv(&t, "strategy", "%s", fmt_strategy(json_object_get(d, "strategy"), a, sizeof a));
    kv(&t, "state", "%s", jtext(d, "state"));
    kv(&t, "step", "%.0f/%.0f%s%s", jnum(d, "step", 0), jnum(d, "steps", 0),
       isfinite(next) ? ", next in " : "", isfinite(next) ? fmt_duration(next, b, sizeof b) : "");
    kv(&t, "weight", "%s on %s", fmt_pct(jnum(d, "weight", 0), b, sizeof b),
       jtext(d, "target_version"));
    kv(&t, "reason", "%s", fmt_json(json_object_get(d, "reason"), a, sizeof a));
    kv(&t, "created", "%s", fmt_time(jnum(d, "created_at", 0), a, sizeof a));
    if (json_is_number(json_object_get(d, "ended_at")))
        kv(&t, "ended", "%s", fmt_time(jnum(d, "ended_at", 0), a, sizeof a));
    kv(&t, "alarms", "%s", fmt_alarms(json_object_get(d, "alarms"), a, sizeof a));
    if (json_is_object(hooks))
        kv(&t, "hooks", "pre-traffic %s, post-traffic %s",
           jstr(hooks, "pre_traffic") ? jstr(hooks, "pre_traffic") : "-",
           jstr(hooks, "post_traffic") ? jstr(hooks, "post_traffic") : "-");
    table_print(&t, "");
    table_free(&t);
    printf("figures over the last %.0f s:\n", jnum(json_object_get(d, "alarms"), "window_s", 30));
    print_figures(d, "  ");
}

static int ended(const char *state)
{
    return same(state, "succeeded") || same(state, "rolled_back") || same(state, "stopped");
}

/* ------------------------------------------------------------------ watching */

/* What a watch remembers between two polls. */
struct watch {
    const char *id;
    int header_done;
    int drawn;         /* tty: lines of the live block now on screen */
    int outage_shown;  /* plain: the unreachable note was printed */
    struct text key;   /* plain: state, step, weights, reason last printed */
    struct text figs;  /* plain: request and error counts last printed */
    double printed_at; /* plain: when the last line was printed (monotonic) */
    char *last_json;   /* --json: the last body printed */
};

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

static double now_mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleeps until the monotonic time until; returns -1 when Ctrl-C cut it. */
static int sleep_until(double until)
{
    for (;;) {
        double left = until - now_mono();
        struct timespec ts;
        if (interrupted)
            return -1;
        if (left <= 0)
            return 0;
        ts.tv_sec = (time_t)left;
        ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
        nanosleep(&ts, NULL); /* EINTR: the loop looks at the flag */
    }
}

/* A weight as a bar of BAR_WIDTH cells (3 bytes each in UTF-8). */
static const char *bar(const struct ctl *c, double w, char *out, size_t n)
{
    int full = (int)lround((w < 0 ? 0 : w > 1 ? 1 : w) * BAR_WIDTH);
    size_t len = 0;

    for (int i = 0; i < BAR_WIDTH; i++) {
        const char *cell = i < full ? (c->utf8 ? "\u2588" : "#") : (c->utf8 ? "\u2591" : ".");
        size_t cl = strlen(cell);
        if (len + cl >= n)
            break;
        memcpy(out + len, cell, cl);
        len += cl;
    }
    out[len] = '\0';
    return out;
}

/* Seconds the deployment has run (to its end, once it ended). */
static double dep_elapsed(const json_t *d)
{
    double end = jnum(d, "ended_at", NAN);
    struct timespec ts;

    if (!isfinite(end)) {
        clock_gettime(CLOCK_REALTIME, &ts);
        end = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    }
    return end - jnum(d, "created_at", end);
}

/* The live block for a terminal: state, then a row per version. */
static void watch_block(const struct ctl *c, const json_t *d, struct text *t)
{
    struct vfig v[MAX_VERSIONS];
    size_t n = dep_figures(d, v, MAX_VERSIONS);
    double next = jnum(d, "next_step_in_s", NAN);
    char a[32], b[32], pct[32], cells[BAR_WIDTH * 3 + 1]; /* see bar() */
    int vw = 7;

    text_add(t, "state: %s   step %.0f/%.0f", jtext(d, "state"), jnum(d, "step", 0),
             jnum(d, "steps", 0));
    if (isfinite(next))
        text_add(t, "   next step in %.1f s", next);
    text_add(t, "   elapsed %s\n", fmt_duration(dep_elapsed(d), a, sizeof a));
    for (size_t i = 0; i < n; i++)
        vw = (int)strlen(v[i].version) > vw ? (int)strlen(v[i].version) : vw;
    text_add(t, "  %-*s  %6s  %-*s  %8s  %6s  %10s  %8s\n", vw, "VERSION", "WEIGHT", BAR_WIDTH, "",
             "REQUESTS", "ERRORS", "ERROR RATE", "P99 MS");
    for (size_t i = 0; i < n; i++) {
        snprintf(a, sizeof a, v[i].requests > 0 ? "%.2f%%" : "-", v[i].rate * 100);
        snprintf(b, sizeof b, v[i].has_p99 ? "%.1f" : "-", v[i].p99);
        text_add(t, "  %-*s  %6s  %s  %8.0f  %6.0f  %10s  %8s\n", vw, v[i].version,
                 fmt_pct(v[i].weight, pct, sizeof pct), bar(c, v[i].weight, cells, sizeof cells),
                 v[i].requests, v[i].errors, a, b);
    }
    if (jstr(d, "reason"))
        text_add(t, "reason: %s\n", jstr(d, "reason"));
}

/* One line for a log or a pipe: what changed, with the figures then. */
static void watch_line(const json_t *d, struct text *t)
{
    struct vfig v[MAX_VERSIONS];
    size_t n = dep_figures(d, v, MAX_VERSIONS);
    double next = jnum(d, "next_step_in_s", NAN);
    char a[32];

    text_add(t, "[+%s] %s step %.0f/%.0f  weights", fmt_duration(dep_elapsed(d), a, sizeof a),
             jtext(d, "state"), jnum(d, "step", 0), jnum(d, "steps", 0));
    for (size_t i = 0; i < n; i++)
        text_add(t, " %s=%s", v[i].version, fmt_pct(v[i].weight, a, sizeof a));
    text_add(t, "  requests");
    for (size_t i = 0; i < n; i++)
        text_add(t, " %s=%.0f", v[i].version, v[i].requests);
    text_add(t, "  errors");
    for (size_t i = 0; i < n; i++)
        text_add(t, " %s=%.0f", v[i].version, v[i].errors);
    text_add(t, "  p99");
    for (size_t i = 0; i < n; i++) {
        snprintf(a, sizeof a, v[i].has_p99 ? "%.1fms" : "-", v[i].p99);
        text_add(t, " %s=%s", v[i].version, a);
    }
    if (isfinite(next))
        text_add(t, "  next step in %.1f s", next);
    if (jstr(d, "reason"))
        text_add(t, "  reason: %s", jstr(d, "reason"));
    text_add(t, "\n");
}

/* Plain output: a line when the state, step, weights or reason change,
 * and every WATCH_PLAIN_EVERY_S while only the figures move. */
static void watch_plain(struct watch *w, const json_t *d)
{
    struct vfig v[MAX_VERSIONS];
    size_t n = dep_figures(d, v, MAX_VERSIONS);
    struct text key = { .len = 0 }, figs = { .len = 0 }, line = { .len = 0 };
    char a[32];

    text_add(&key, "%s %.0f %s", jtext(d, "state"), jnum(d, "step", 0),
             jstr(d, "reason") ? jstr(d, "reason") : "");
    for (size_t i = 0; i < n; i++) {
        text_add(&key, " %s=%s", v[i].version, fmt_pct(v[i].weight, a, sizeof a));
        text_add(&figs, " %.0f/%.0f", v[i].requests, v[i].errors);
    }
    if (strcmp(key.s, w->key.s) == 0 &&
        (strcmp(figs.s, w->figs.s) == 0 || now_mono() - w->printed_at < WATCH_PLAIN_EVERY_S))
        return;
    w->key = key;
    w->figs = figs;
    w->printed_at = now_mono();
    watch_line(d, &line);
    fputs(line.s, stdout);
    fflush(stdout);
}

/* --json: the deployment's JSON, one line each time it changes. */
static void watch_json(struct watch *w, const json_t *d)
{
    char *s = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);

    if (!s)
        out_of_memory();
    if (w->last_json && strcmp(s, w->last_json) == 0) {
        free(s);
        return;
    }
    printf("%s\n", s);
    fflush(stdout);
    free(w->last_json);
    w->last_json = s;
}

/* Replaces the live block on a terminal: cursor up over the last one,
 * clear to the end of the screen, draw. */
static void watch_redraw(struct watch *w, const struct text *t)
{
    if (w->drawn > 0)
        printf("\033[%dA\r", w->drawn);
    printf("\033[J%s", t->s);
    fflush(stdout);
    w->drawn = t->lines;
}

static void watch_show(const struct ctl *c, struct watch *w, const json_t *d)
{
    struct text t = { .len = 0 };
    char strategy[256];

    w->outage_shown = 0;
    if (c->json) {
        watch_json(w, d);
        return;
    }
    if (!w->header_done) {
        printf("deployment %s  %s:%s  %s %s %s  %s\n", w->id, jtext(d, "function"),
               jtext(d, "alias"), jtext(d, "from_version"), c->utf8 ? "\u2192" : "->",
               jtext(d, "target_version"),
               fmt_strategy(json_object_get(d, "strategy"), strategy, sizeof strategy));
        w->header_done = 1;
    }
    if (!c->tty) {
        watch_plain(w, d);
        return;
    }
    watch_block(c, d, &t);
    watch_redraw(w, &t);
}

/* The admin API did not answer a poll: say so (once in plain output). */
static void watch_outage(const struct ctl *c, struct watch *w)
{
    struct text t = { .len = 0 };

    if (c->json || (!c->tty && w->outage_shown))
        return;
    text_add(&t, "admin API unreachable (%s); retrying for up to %d s\n", c->err, WATCH_GIVE_UP_S);
    w->outage_shown = 1;
    w->key.s[0] = '\0'; /* plain: a line once it answers again, changed or not */
    if (c->tty) {
        watch_redraw(w, &t);
    } else {
        fputs(t.s, stdout);
        fflush(stdout);
    }
}

/* Polls the deployment, riding out a gateway that restarts. Returns
 * EXIT_DONE with *d set (the caller decrefs it), or an exit code. */
static int watch_fetch(struct ctl *c, struct watch *w, const char *path, json_t **d)
{
    struct reply r;
    double first_failure = 0;
    int rc;

    for (;;) {
        if (call_raw(c, "GET", path, NULL, NULL, &r) == 0) {
            if (r.status == 200 && json_is_object(r.json)) {
                *d = json_incref(r.json);
                reply_free(&r);
                return EXIT_DONE;
            }
            rc = r.status == 200 ? (reply_object(&r), EXIT_REFUSED) : refused(c, &r);
            reply_free(&r);
            return rc;
        }
        if (interrupted)
            return EXIT_INTERRUPTED;
        if (first_failure == 0)
            first_failure = now_mono();
        if (now_mono() - first_failure > WATCH_GIVE_UP_S)
            return unreachable(c);
        watch_outage(c, w);
        if (sleep_until(now_mono() + WATCH_INTERVAL_MS / 1000.0))
            return EXIT_INTERRUPTED;
    }
}

/* The last words: how it ended, and the exit code that goes with it. */
static int watch_outcome(const struct ctl *c, const json_t *d)
{
    const char *state = jstr(d, "state"), *reason = jstr(d, "reason");
    char a[32];

    if (same(state, "succeeded")) {
        if (!c->json)
            printf("succeeded in %s\n", fmt_duration(dep_elapsed(d), a, sizeof a));
        return EXIT_DONE;
    }
    if (c->json)
        return EXIT_REFUSED;
    if (same(state, "rolled_back"))
        printf("rolled back: %s\n", reason ? reason : "no reason given");
    else
        printf("stopped: %s (the weights stay as they are)\n", reason ? reason : "by request");
    return EXIT_REFUSED;
}

/* Shows a deployment live, once a second, until it ends or Ctrl-C.
 * Ctrl-C stops the watching only: the deployment goes on in sluice. */
static int watch_deployment(struct ctl *c, const char *id)
{
    struct watch w = { .id = id };
    struct sigaction sa;
    char path[MAX_PATH_BYTES];
    json_t *d = NULL;
    int rc = EXIT_DONE;

    if (make_path(c, path, sizeof path, "/v1/deployments/%", id))
        return EXIT_USAGE;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint; /* no SA_RESTART: a poll or a sleep must end at once */
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) != 0) /* then Ctrl-C simply ends sluicectl: still fine */
        say("note: cannot catch Ctrl-C (%s)", strerror(errno));
    while (!interrupted) {
        double started = now_mono();
        if ((rc = watch_fetch(c, &w, path, &d)) != EXIT_DONE)
            break;
        watch_show(c, &w, d);
        if (ended(jstr(d, "state"))) {
            rc = watch_outcome(c, d);
            break;
        }
        json_decref(d);
        d = NULL;
        sleep_until(started + WATCH_INTERVAL_MS / 1000.0);
    }
    json_decref(d);
    free(w.last_json);
    if (interrupted) {
        fflush(stdout);
        say("stopped watching; deployment %s goes on (sluicectl deploy status %s --watch "
            "to watch it again)",
            id, id);
        rc = EXIT_INTERRUPTED;
    }
    return rc;
}

/* ------------------------------------------------------------------ deploy commands */

/* The options of deploy start. */
struct deploy_opts {
    const char *strategy, *max_error_rate, *max_p99_ms, *window_s, *min_requests;
    const char *pre_hook, *post_hook;
    int watch;
};

/* Sets key to a number parsed from s (NULL: nothing). Returns 0 or -1. */
static int set_number(json_t *o, const char *key, const char *s, int share)
{
    unsigned long long u;
    double d;
    char *end;

    if (!s)
        return 0;
    if (share) {
        if (parse_share(s, &d))
            return -1;
    } else if (parse_uint(s, 1000000000ull, &u) == 0) {
        d = (double)u;
    } else {
        errno = 0;
        d = strtod(s, &end);
        if (end == s || *end || errno || !(d > 0) || !isfinite(d))
            return -1;
    }
    if (json_object_set_new(o, key,
                            d == floor(d) && !share ? json_integer((json_int_t)d) : json_real(d)))
        out_of_memory();
    return 0;
}

/* The strategy as given: a name, or explicit steps as JSON. */
static json_t *strategy_json(const char *s)
{
    json_error_t jerr;
    json_t *j;

    if (s[0] != '{')
        return json_string(s);
    j = json_loads(s, JSON_REJECT_DUPLICATES, &jerr);
    if (j && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

/* The body of POST /v1/deployments. Returns it, or NULL after a usage error. */
static json_t *deploy_body(const struct command *cmd, const char **pos, const struct deploy_opts *o)
{
    json_t *b = json_object(), *alarms = json_object(), *hooks = json_object(), *st = NULL;

    if (!b || !alarms || !hooks || json_object_set_new(b, "function", json_string(pos[0])) ||
        json_object_set_new(b, "alias", json_string(pos[1])) ||
        json_object_set_new(b, "target_version", json_string(pos[2])))
        out_of_memory();
    if (o->strategy &&
        (!(st = strategy_json(o->strategy)) || json_object_set_new(b, "strategy", st))) {
        usage_error(cmd,
                    "--strategy %s: want a name (Canary10Percent5Minutes, ...) or "
                    "{\"steps\":[{\"weight\":0.1,\"hold_s\":30}]}",
                    o->strategy);
        goto fail;
    }
    if (set_number(alarms, "max_error_rate", o->max_error_rate, 1) ||
        set_number(alarms, "max_p99_ms", o->max_p99_ms, 0) ||
        set_number(alarms, "window_s", o->window_s, 0) ||
        set_number(alarms, "min_requests", o->min_requests, 0)) {
        usage_error(cmd, "bad alarm value: --max-error-rate takes 0.05 or 5%%, the others a "
                         "positive number");
        goto fail;
    }
    if ((o->pre_hook && json_object_set_new(hooks, "pre_traffic", json_string(o->pre_hook))) ||
        (o->post_hook && json_object_set_new(hooks, "post_traffic", json_string(o->post_hook))) ||
        (json_object_size(alarms) && json_object_set(b, "alarms", alarms)) ||
        (json_object_size(hooks) && json_object_set(b, "hooks", hooks)))
        out_of_memory();
    json_decref(alarms);
    json_decref(hooks);
    return b;
fail:
    json_decref(alarms);
    json_decref(hooks);
    json_decref(b);
    return NULL;
}

static int cmd_deploy_start(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
    struct deploy_opts o = { 0 };
    const struct opt opts[] = {
        { "--strategy", OPT_VALUE, &o.strategy },
        { "--max-error-rate", OPT_VALUE, &o.max_error_rate },
        { "--max-p99-ms", OPT_VALUE, &o.max_p99_ms },
        { "--window-s", OPT_VALUE, &o.window_s },
        { "--min-requests", OPT_VALUE, &o.min_requests },
        { "--pre-hook", OPT_VALUE, &o.pre_hook },
        { "--post-hook", OPT_VALUE, &o.post_hook },
        { "--watch", OPT_FLAG, &o.watch },
        { NULL, OPT_FLAG, NULL },
    };
    const char *pos[3];
    char path[MAX_PATH_BYTES], *text;
    struct reply r;
    json_t *body;
    int rc = parse_args(c, cmd, argc, argv, opts, pos, 3);

    if (rc != PROCEED)
        return rc;
    if (!(body = deploy_body(cmd, pos, &o)) || make_path(c, path, sizeof path, "/v1/deployments")) {
        json_decref(body);
        return EXIT_USAGE;
    }
    text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text)
        out_of_memory();
    rc = call(c, "POST", path, text, &r);
    free(text);
    if (rc != EXIT_DONE)
        return rc;
    if (!reply_object(&r) || !jstr(r.json, "id")) {
        reply_free(&r);
        return EXIT_REFUSED;
    }
    if (o.watch)
        rc = watch_deployment(c, jstr(r.json, "id"));
    else if (!print_raw(c, &r)) {
        print_deployment(c, r.json);
        printf("\nwatch it: sluicectl deploy status %s --watch\n", jstr(r.json, "id"));
    }
    reply_free(&r);
    return rc;
}

static int cmd_deploy_status(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
    int watch = 0;
    const struct opt opts[] = { { "--watch", OPT_FLAG, &watch }, { NULL, OPT_FLAG, NULL } };
    const char *pos[1];
    char path[MAX_PATH_BYTES];
    struct reply r;
    int rc = parse_args(c, cmd, argc, argv, opts, pos, 1);

    if (rc != PROCEED)
        return rc;
    if (watch)
        return watch_deployment(c, pos[0]);
    if (make_path(c, path, sizeof path, "/v1/deployments/%", pos[0]))
        return EXIT_USAGE;
    if ((rc = get_object(c, path, &r)) != EXIT_DONE)
        return rc;
    if (!print_raw(c, &r))
        print_deployment(c, r.json);
    reply_free(&r);
    return EXIT_DONE;
}

static int cmd_deploy_list(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
    struct table t = { .ncols = 9 };
    char path[MAX_PATH_BYTES], al[256], st[256], step[32], w[32], age[32];
    const json_t *d;
    struct reply r;
    size_t i;
    int rc = parse_args(c, cmd, argc, argv, NULL, NULL, 0);

    if (rc != PROCEED)
        return rc;
    if (make_path(c, path, sizeof path, "/v1/deployments"))
        return EXIT_USAGE;
    if ((rc = get_object(c, path, &r)) != EXIT_DONE)
        return rc;
    if (print_raw(c, &r)) {
        reply_free(&r);
        return EXIT_DONE;
    }
    table_row(&t, "ID", "ALIAS", "FROM", "TARGET", "STRATEGY", "STATE", "STEP", "WEIGHT", "AGE");
    json_array_foreach(json_object_get(r.json, "deployments"), i, d)
    {
        snprintf(al, sizeof al, "%s:%s", jtext(d, "function"), jtext(d, "alias"));
        snprintf(step, sizeof step, "%.0f/%.0f", jnum(d, "step", 0), jnum(d, "steps", 0));
        fmt_duration(difftime(time(NULL), (time_t)jnum(d, "created_at", 0)), age, sizeof age);
        table_row(&t, jstr(d, "id"), al, jstr(d, "from_version"), jstr(d, "target_version"),
                  fmt_strategy(json_object_get(d, "strategy"), st, sizeof st), jstr(d, "state"),
                  step, fmt_pct(jnum(d, "weight", 0), w, sizeof w), age);
    }
    if (t.nrows == 1)
        printf("no deployments\n");
    else
        table_print(&t, "");
    table_free(&t);
    reply_free(&r);
    return EXIT_DONE;
}

/* deploy rollback|promote|stop ID: the subcommand is the action's path. */
static int cmd_deploy_action(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
    const char *pos[1];
    char path[MAX_PATH_BYTES];
    struct reply r;
    int rc = parse_args(c, cmd, argc, argv, NULL, pos, 1);

    if (rc != PROCEED)
        return rc;
    if (make_path(c, path, sizeof path, "/v1/deployments/%/", pos[0]) ||
        strlen(path) + strlen(cmd->sub) >= sizeof path)
        return EXIT_USAGE;
    memcpy(path + strlen(path), cmd->sub, strlen(cmd->sub) + 1);
    if ((rc = call(c, "POST", path, NULL, &r)) != EXIT_DONE)
        return rc;
    if (!print_raw(c, &r) && reply_object(&r))
        print_deployment(c, r.json);
    rc = c->json || json_is_object(r.json) ? EXIT_DONE : EXIT_REFUSED;
    reply_free(&r);
    return rc;
}

/* ------------------------------------------------------------------ commands */

static const struct command commands[] = {
    { "functions", NULL, cmd_functions, "", "list functions, their versions and aliases",
      "Lists every function with its versions and aliases.\n" },
    { "function", NULL, cmd_function, "FN", "one function: settings, versions, aliases",
      "Shows a function's settings, each version's handler and settings, and its\n"
      "aliases.\n" },
    { "alias", "get", cmd_alias_get, "FN ALIAS", "an alias: versions, weights, pins",
      "Shows an alias: its primary version, the weights of other versions, the\n"
      "resulting traffic shares, stickiness, pins and generation.\n" },
    { "alias", "set", cmd_alias_set, "FN ALIAS [options]", "change an alias (safely)",
      "Reads the alias, applies the changes, and writes it back only if nobody\n"
      "changed it in between (If-Match: the generation read). When someone did,\n"
      "nothing is written and the exit code is 1: read it again and retry.\n\n"
      "  --version V       the primary version (it gets the traffic no weight takes)\n"
      "  --weight V=W      give version V the share W: 0.1 or 10%; 0 removes it;\n"
      "                    repeatable; other weights stay\n"
      "  --no-weights      remove every weight first (all traffic to the primary,\n"
      "                    plus any --weight given)\n"
      "  --sticky-by SEL   keep each caller on one version: $claim.sub,\n"
      "                    $request.header.NAME, $request.cookie.NAME, $request.ip ...\n"
      "  --no-sticky       a random pick per request\n"
      "  --pins-file F     replace the pins with F's JSON array\n"
      "                    ([{\"when\":{\"$claim.tenant\":\"acme\"},\"version\":\"2\"}])\n" },
    { "publish", NULL, cmd_publish, "FN [--file DEF.json]", "publish a version",
      "Publishes a new numbered version. Without --file, $LATEST's definition is\n"
      "published; with it, the version definition in the file ({\"handler\":{...},\n"
      "\"timeout_ms\":...}). Publishing a definition identical to a published version\n"
      "gives that version's number back (\"not new\").\n" },
    { "deploy", "start", cmd_deploy_start, "FN ALIAS TARGET_VERSION [options]",
      "move an alias to a version, step by step",
      "Starts moving ALIAS's traffic to TARGET_VERSION.\n\n"
      "  --strategy S          AllAtOnce (default), Canary{N}Percent{M}Minutes,\n"
      "                        Linear{N}PercentEvery{M}Minutes (also ...Seconds), or\n"
      "                        explicit steps: '{\"steps\":[{\"weight\":0.1,\"hold_s\":30}]}'\n"
      "  --max-error-rate R    roll back when the target's error rate exceeds R\n"
      "                        (0.05 or 5%)\n"
      "  --max-p99-ms N        roll back when the target's p99 latency exceeds N ms\n"
      "  --window-s N          the alarms' sliding window (default 30)\n"
      "  --min-requests N      no alarm before the target served N requests in it\n"
      "  --pre-hook FN:Q       a function that must succeed before traffic moves\n"
      "  --post-hook FN:Q      a function that must succeed once all traffic moved\n"
      "  --watch               show its progress live until it ends (see deploy status)\n" },
    { "deploy", "status", cmd_deploy_status, "ID [--watch]", "a deployment's progress",
      "Shows a deployment: state, step, weights, and per version the requests,\n"
      "errors, error rate and p99 latency over the alarm window.\n\n"
      "  --watch   poll once a second and show the progress live (redrawn in place on\n"
      "            a terminal, one line per change otherwise) until the deployment\n"
      "            ends. Exit code 0 when it succeeded, 1 when it was rolled back or\n"
      "            stopped. Ctrl-C stops the watching only (exit code 130): the\n"
      "            deployment goes on.\n" },
    { "deploy", "list", cmd_deploy_list, "", "deployments, newest first",
      "Lists the deployments, running and ended, newest first.\n" },
    { "deploy", "rollback", cmd_deploy_action, "ID", "roll a deployment back now",
      "Rolls a running deployment back: the alias returns to where it was.\n" },
    { "deploy", "promote", cmd_deploy_action, "ID", "give the target all traffic now",
      "Ends a running deployment at once: the target version gets all traffic.\n" },
    { "deploy", "stop", cmd_deploy_action, "ID", "stop a deployment where it is",
      "Stops a running deployment: the weights stay as they are.\n" },
    { "reload", NULL, cmd_reload, "", "reload the config file",
      "Reloads the gateway's config file. A config with errors is refused (they\n"
      "are printed, exit code 1) and the running one keeps serving.\n" },
    { "cache", "flush", cmd_cache_flush, "AUTHORIZER", "forget an authorizer's results",
      "Empties an authorizer's result cache: every token is verified again.\n" },
    { "metrics", NULL, cmd_metrics, "", "Prometheus metrics",
      "Prints the gateway's metrics in the Prometheus text format.\n" },
    { "health", NULL, cmd_health, "", "is the admin API up?",
      "Asks the admin API whether it is up (no token needed).\n" },
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static const struct command *find_command(const char *name, const char *sub)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0 && (!commands[i].sub || same(commands[i].sub, sub)))
            return &commands[i];
    return NULL;
}

/* "get, set" for "alias": the subcommands of name, or "" without any. */
static const char *subcommands(const char *name, char *out, size_t n)
{
    size_t len = 0;

    out[0] = '\0';
    for (size_t i = 0; i < NCOMMANDS; i++) {
        int k;
        if (strcmp(commands[i].name, name) != 0 || !commands[i].sub)
            continue;
        k = snprintf(out + len, n - len, "%s%s", len ? ", " : "", commands[i].sub);
        if (k < 0 || (size_t)k >= n - len)
            break;
        len += (size_t)k;
    }
    return out;
}

static void usage(FILE *f)
{
    char left[96];

    fprintf(f, "usage: sluicectl [--admin URL] [--token-file F] [--json] COMMAND ...\n\n"
               "Drives a running sluice through its admin API.\n\ncommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++) {
        snprintf(left, sizeof left, "%s%s%s %s", commands[i].name, commands[i].sub ? " " : "",
                 commands[i].sub ? commands[i].sub : "", commands[i].usage);
        fprintf(f, "  %-46s %s\n", left, commands[i].summary);
    }
    fprintf(f, "  %-46s %s\n\n", "help COMMAND", "more about a command");
    fprintf(f,
            "options:\n"
            "  --admin URL       the admin API (default: $SLUICE_ADMIN, else %s);\n"
            "                    plain http:// only\n"
            "  --token-file F    a file holding the bearer token (default:\n"
            "                    $SLUICE_ADMIN_TOKEN_FILE; none without either)\n"
            "  --json            print the server's JSON instead of tables\n"
            "  --version, --help\n\n"
            "exit codes: 0 done, 1 the server said no, 2 usage error, 3 the admin API\n"
            "cannot be reached, 130 watching interrupted by Ctrl-C\n",
            DEFAULT_ADMIN);
}

/* help [COMMAND [SUB]] */
static int cmd_help(int argc, char **argv)
{
    const struct command *cmd;
    char subs[128];

    if (argc == 0) {
        usage(stdout);
        return EXIT_DONE;
    }
    cmd = find_command(argv[0], argc > 1 ? argv[1] : NULL);
    if (cmd) {
        print_command_help(cmd, stdout);
        return EXIT_DONE;
    }
    if (subcommands(argv[0], subs, sizeof subs)[0]) { /* help deploy: all of them */
        for (size_t i = 0; i < NCOMMANDS; i++)
            if (strcmp(commands[i].name, argv[0]) == 0) {
                print_command_help(&commands[i], stdout);
                fputc('\n', stdout);
            }
        return EXIT_DONE;
    }
    return usage_error(NULL, "no command %s", argv[0]);
}

/* Reads the token: the file's content, surrounding whitespace trimmed.
 * Returns 0, or -1 after saying what is wrong with the file. */
static int load_token(struct ctl *c, const char *path)
{
    size_t len;
    char *s = read_file(path, &len), *start;

    if (!s)
        return -1;
    start = s;
    while (len && isspace((unsigned char)s[len - 1]))
        s[--len] = '\0';
    while (*start && isspace((unsigned char)*start))
        start++;
    len = strlen(start);
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)start[i] < 0x21 || start[i] == 0x7f) {
            say("%s: the token has a space or a control character inside", path);
            free(s);
            return -1;
        }
    }
    if (len == 0 || len > MAX_TOKEN_BYTES) {
        say("%s: %s", path, len ? "the token is too long" : "the file is empty");
        free(s);
        return -1;
    }
    memmove(s, start, len + 1);
    c->token = s;
    return 0;
}

/* The options before the command. Returns PROCEED with *next at the
 * command, or an exit code (after --help, --version or a usage error). */
static int parse_globals(struct ctl *c, int argc, char **argv, const char **admin,
                         const char **token_file, int *next)
{
    int i;

    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        const char **dest = NULL;
        if (strcmp(a, "--json") == 0) {
            c->json = 1;
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return EXIT_DONE;
        }
        if (strcmp(a, "--version") == 0) {
            printf("sluicectl %s\n", PACKAGE_VERSION);
            return EXIT_DONE;
        }
        if (strncmp(a, "--admin", 7) == 0 && (a[7] == '\0' || a[7] == '='))
            dest = admin;
        else if (strncmp(a, "--token-file", 12) == 0 && (a[12] == '\0' || a[12] == '='))
            dest = token_file;
        if (!dest)
            return usage_error(NULL, "unknown option %s", a);
        if (strchr(a, '='))
            *dest = strchr(a, '=') + 1;
        else if (i + 1 < argc)
            *dest = argv[++i];
        else
            return usage_error(NULL, "%s needs a value", a);
    }
    *next = i;
    return PROCEED;
}

int main(int argc, char **argv)
{
    struct ctl c;
    const char *admin = getenv("SLUICE_ADMIN"), *token_file = getenv("SLUICE_ADMIN_TOKEN_FILE");
    const char *term = getenv("TERM");
    const struct command *cmd;
    char subs[128];
    int i = 1, rc;

    memset(&c, 0, sizeof c);
    if ((rc = parse_globals(&c, argc, argv, &admin, &token_file, &i)) != PROCEED)
        return rc;
    if (i >= argc)
        return usage_error(NULL, "no command given");
    if (strcmp(argv[i], "help") == 0)
        return cmd_help(argc - i - 1, argv + i + 1);
    cmd = find_command(argv[i], i + 1 < argc ? argv[i + 1] : NULL);
    if (!cmd && subcommands(argv[i], subs, sizeof subs)[0])
        return usage_error(NULL, "%s wants one of: %s", argv[i], subs);
    if (!cmd)
        return usage_error(NULL, "no command %s", argv[i]);
    if (parse_admin_url(&c, admin && admin[0] ? admin : DEFAULT_ADMIN) ||
        (token_file && token_file[0] && load_token(&c, token_file)))
        return EXIT_USAGE;
    setlocale(LC_CTYPE, ""); /* only to learn whether the terminal takes UTF-8 */
    c.utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
    c.tty = isatty(STDOUT_FILENO) && !(term && strcmp(term, "dumb") == 0);
    i += cmd->sub ? 2 : 1;
    rc = cmd->run(&c, cmd, argc - i, argv + i);
    free(c.token);
    /* output that did not reach its file (a full disk) must not pass as done */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        say("cannot write the output: %s", strerror(errno));
        rc = rc ? rc : EXIT_REFUSED;
    }
    return rc;
}
