/* ctl_http.c - sluicectl's side of the admin API: the admin URL, request
 * paths, the token file, and a blocking HTTP/1.1 client. Every socket is
 * non-blocking so that connecting, sending and reading each time out; the
 * answer is capped in size. */
#include "ctl_http.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define CONNECT_TIMEOUT_MS 3000
#define IO_TIMEOUT_MS 5000
#define MAX_REPLY_BYTES (32u << 20) /* /metrics of a big config stays far below */
#define MAX_FILE_BYTES (4u << 20)   /* token files */
#define MAX_TOKEN_BYTES 4096
#define MAX_HEAD_BYTES 8192

/* A growable byte buffer with a hard cap; p is NUL-terminated when set. */
struct buf {
    char *p;
    size_t len, cap;
};

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

/* Splits "http://HOST[:PORT][/PREFIX]" (the scheme may be left out) into
 * c->host, c->port, c->base. Returns 0, or -1 after saying why. */
int parse_admin_url(struct ctl *c, const char *url)
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
 * of args percent-encoded (names and ids are path segments: a '/' or a
 * '?' in one must not change the path). Returns 0, or -1 when too long. */
int make_path(const struct ctl *c, char *out, size_t cap, const char *tmpl, const char *const *args)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0, next = 0;
    int rc = 0;

    for (const char *t = tmpl; *t; t++)
        if (*t == '%' && !args[next++][0]) {
            /* "/v1/functions/" would name the list, not a function */
            say("an empty name was given");
            return -1;
        }
    next = 0;
    n = (size_t)snprintf(out, cap, "%s", c->base);
    for (const char *t = tmpl; *t && rc == 0; t++) {
        const char *seg = *t == '%' ? args[next++] : NULL;
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
    if (rc == 0)
        out[n] = '\0';
    else
        say("a name given is too long for a request path");
    return rc;
}

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

void reply_free(struct reply *r)
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
int call_raw(struct ctl *c, const char *method, const char *path, const char *if_match,
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
int unreachable(const struct ctl *c)
{
    if (interrupted)
        return EXIT_INTERRUPTED;
    say("cannot reach the admin API at %s: %s", c->url, c->err);
    return EXIT_UNREACHABLE;
}

/* Says what the server refused and why; returns the exit code. With
 * --json the server's body goes to stdout as well, for scripts. */
int refused(const struct ctl *c, const struct reply *r)
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
int call(struct ctl *c, const char *method, const char *path, const char *body, struct reply *r)
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

int call_json(struct ctl *c, const char *method, const char *path, const json_t *body,
              struct reply *r)
{
    char *text = json_dumps(body, JSON_COMPACT);
    int rc;

    if (!text)
        out_of_memory();
    rc = call(c, method, path, text, r);
    free(text);
    return rc;
}

/* The JSON object a 2xx answer must carry. Returns it, or NULL after
 * saying the server answered something else. */
json_t *reply_object(const struct reply *r)
{
    if (json_is_object(r->json))
        return r->json;
    say("the admin API answered %d with a body that is not a JSON object: %.200s", r->status,
        r->body ? r->body : "");
    return NULL;
}

/* GETs path and checks the answer is a JSON object. Returns EXIT_DONE
 * (r filled in: free it) or an exit code (r freed). */
int get_object(struct ctl *c, const char *path, struct reply *r)
{
    int rc = call(c, "GET", path, NULL, r);

    if (rc == EXIT_DONE && !c->json && !reply_object(r)) {
        reply_free(r);
        return EXIT_REFUSED;
    }
    return rc;
}

/* With --json, prints the server's body as it is and returns 1. */
int print_raw(const struct ctl *c, const struct reply *r)
{
    if (!c->json)
        return 0;
    fwrite(r->body, 1, r->len, stdout);
    if (r->len && r->body[r->len - 1] != '\n')
        fputc('\n', stdout);
    return 1;
}

/* Reads the token: the file's content, surrounding whitespace trimmed.
 * Returns 0, or -1 after saying what is wrong with the file. */
int load_token(struct ctl *c, const char *path)
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
