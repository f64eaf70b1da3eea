/* addr.c - checks and resolves the listening and upstream addresses the
 * config names, so that a typo fails the config check rather than the
 * first bind or request. */
#include "addr.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

#include "util.h"

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Splits "host:port", "[v6]:port" (and, when !need_port, "host" and
 * "[v6]") into host (capacity ADDR_HOST_MAX, without brackets) and *port
 * (80 when absent). Returns NULL, or why it is malformed. */
static const char *split_host_port(struct slice s, int need_port, char *host, int *bracketed,
                                   uint16_t *port)
{
    struct slice h = s, p = SLICE_NULL;
    const char *colon = NULL;
    uint64_t n;

    *bracketed = s.len > 0 && s.ptr[0] == '[';
    if (*bracketed) {
        const char *close = memchr(s.ptr, ']', s.len);
        if (!close)
            return "missing ']' after an IPv6 address";
        h = (struct slice){ s.ptr + 1, (size_t)(close - s.ptr - 1) };
        if (close + 1 < s.ptr + s.len) {
            if (close[1] != ':')
                return "expected ':' and a port after ']'";
            colon = close + 1;
        }
    } else {
        for (size_t i = s.len; i > 0 && !colon; i--)
            if (s.ptr[i - 1] == ':')
                colon = s.ptr + i - 1;
        if (colon)
            h.len = (size_t)(colon - s.ptr);
        if (memchr(h.ptr, ':', h.len))
            return "IPv6 addresses go in brackets, as in [::1]:8080";
    }
    if (colon)
        p = (struct slice){ colon + 1, (size_t)(s.ptr + s.len - colon - 1) };
    else if (need_port)
        return "missing \":port\"";
    if (h.len >= ADDR_HOST_MAX)
        return "host name too long";
    if (*bracketed && h.len == 0)
        return "empty IPv6 address";
    for (size_t i = 0; i < h.len; i++)
        if ((unsigned char)h.ptr[i] <= 0x20 || (unsigned char)h.ptr[i] >= 0x7f)
            return "invalid character in the host";
    memcpy(host, h.ptr, h.len);
    host[h.len] = '\0';
    *port = 80;
    if (colon) {
        if (parse_u64(p, 65535, &n) < 0 || n == 0)
            return "the port must be a number from 1 to 65535";
        *port = (uint16_t)n;
    }
    return NULL;
}

#define RESOLVE_PASSIVE 1u /* for bind(): NULL host is every local address */
#define RESOLVE_NUMERIC 2u /* host must be a literal address */
#define RESOLVE_V6 4u      /* host must be an IPv6 one */

/* Resolves host and port into *ss: the first answer, in the resolver's
 * order of preference (RFC 6724). Returns 0, or -1 with why written. */
static int resolve(const char *host, uint16_t port, unsigned flags, struct sockaddr_storage *ss,
                   socklen_t *len, char *why, size_t whylen)
{
    struct addrinfo hints = { 0 }, *res = NULL;
    const char *shown = host ? host : "*";
    char portstr[8];
    int rc;

    fmt_buf(portstr, sizeof(portstr), "%u", (unsigned)port);
    hints.ai_family = (flags & RESOLVE_V6) ? AF_INET6 : AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | ((flags & RESOLVE_PASSIVE) ? AI_PASSIVE : 0) |
                     ((flags & RESOLVE_NUMERIC) ? AI_NUMERICHOST : 0);
    rc = getaddrinfo(host, portstr, &hints, &res);
    if (rc != 0) {
        if (flags & RESOLVE_V6)
            fmt_buf(why, whylen, "\"%s\" is not an IPv6 address", shown);
        else if (rc == EAI_SYSTEM) /* %m: no strerror() buffer shared between threads */
            fmt_buf(why, whylen, "cannot resolve \"%s\": %m", shown);
        else
            fmt_buf(why, whylen, "cannot resolve \"%s\": %s", shown, gai_strerror(rc));
        return -1;
    }
    if (res->ai_addrlen > sizeof(*ss)) {
        freeaddrinfo(res);
        fmt_buf(why, whylen, "cannot resolve \"%s\": address too long", shown);
        return -1;
    }
    memset(ss, 0, sizeof(*ss));
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

int addr_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len, char *why,
                      size_t whylen)
{
    char host[ADDR_HOST_MAX];
    const char *bad;
    int bracketed;
    uint16_t port;

    bad = split_host_port((struct slice){ s, strlen(s) }, 1, host, &bracketed, &port);
    if (bad) {
        fmt_buf(why, whylen, "%s", bad);
        return -1;
    }
    /* "*:port" and ":port" mean every local address. */
    if (!bracketed && (strcmp(host, "*") == 0 || host[0] == '\0'))
        return resolve(NULL, port, RESOLVE_PASSIVE, ss, len, why, whylen);
    return resolve(host, port, RESOLVE_PASSIVE | (bracketed ? RESOLVE_NUMERIC | RESOLVE_V6 : 0), ss,
                   len, why, whylen);
}

/* NULL when an unbracketed url host is made of name or IPv4 characters,
 * else why not. */
static const char *check_url_host(const char *host)
{
    if (!*host)
        return "empty host";
    for (const char *p = host; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_'))
            return "invalid character in the host";
    }
    return NULL;
}

/* NULL when the url path is printable ASCII with well-formed %-escapes,
 * else why not: it is sent upstream as is. */
static const char *check_url_path(const char *path)
{
    for (const char *p = path; *p; p++) {
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return "invalid character in the path";
        if (*p == '%' && !(is_hex(p[1]) && is_hex(p[2])))
            return "'%' in the path must be followed by two hex digits";
    }
    return NULL;
}

int addr_parse_http_url(const char *url, struct addr_url *out, char *why, size_t whylen)
{
    const char *auth, *path, *bad;
    size_t auth_len;
    int bracketed = 0, rc;

    out->tls = strncasecmp(url, "https://", 8) == 0;
    if (!out->tls && strncasecmp(url, "http://", 7) != 0) {
        fmt_buf(why, whylen, "%s", "expected \"http://host[:port][/path]\"");
        return -1;
    }
    auth = url + (out->tls ? 8 : 7);
    auth_len = strcspn(auth, "/?#");
    path = auth + auth_len;
    bad = strchr(path, '?')             ? "a url cannot carry a query"
          : strchr(path, '#')           ? "a url cannot carry a fragment"
          : memchr(auth, '@', auth_len) ? "a url cannot carry user info"
                                        : split_host_port((struct slice){ auth, auth_len }, 0,
                                                          out->host, &bracketed, &out->port);
    if (!bad && out->tls) {
        /* no port after the host (or after "]"): https's own */
        const char *close = bracketed ? memchr(auth, ']', auth_len) : auth;
        if (!memchr(close, ':', auth_len - (size_t)(close - auth)))
            out->port = 443;
    }
    if (!bad && !bracketed)
        bad = check_url_host(out->host);
    if (!bad)
        bad = check_url_path(path);
    if (bad) {
        fmt_buf(why, whylen, "%s", bad);
        return -1;
    }
    /* A literal address first, so that a numeric host never reaches DNS. */
    rc = resolve(out->host, out->port, RESOLVE_NUMERIC | (bracketed ? RESOLVE_V6 : 0), &out->addr,
                 &out->addrlen, why, whylen);
    if (rc < 0 && !bracketed)
        rc = resolve(out->host, out->port, 0, &out->addr, &out->addrlen, why, whylen);
    if (rc < 0)
        return -1;
    out->path = path;
    out->path_len = strlen(path);
    while (out->path_len > 0 && path[out->path_len - 1] == '/')
        out->path_len--;
    /* Cannot be cut: host is shorter than ADDR_HOST_MAX, and the rest is
     * at most "[]:65535" beside it. */
    if (out->port == (out->tls ? 443 : 80))
        fmt_buf(out->authority, sizeof(out->authority), bracketed ? "[%s]" : "%s", out->host);
    else
        fmt_buf(out->authority, sizeof(out->authority), bracketed ? "[%s]:%u" : "%s:%u", out->host,
                (unsigned)out->port);
    return 0;
}

int addr_split(const char *s, char *host, uint16_t *port, char *why, size_t whylen)
{
    struct in6_addr v6;
    const char *bad;
    int bracketed;

    bad = split_host_port((struct slice){ s, strlen(s) }, 1, host, &bracketed, port);
    if (!bad && !bracketed && (host[0] == '\0' || strcmp(host, "*") == 0))
        bad = "expected a host before the port";
    if (!bad && !bracketed)
        bad = check_url_host(host);
    if (!bad && bracketed && inet_pton(AF_INET6, host, &v6) != 1)
        bad = "expected an IPv6 address in the brackets";
    if (bad) {
        fmt_buf(why, whylen, "%s", bad);
        return -1;
    }
    return 0;
}

int addr_check_fetch_url(const char *url, char *why, size_t whylen)
{
    char host[ADDR_HOST_MAX];
    const char *auth, *bad = NULL;
    size_t auth_len;
    int bracketed = 0;
    uint16_t port;

    if (strncasecmp(url, "https://", 8) == 0)
        auth = url + 8;
    else if (strncasecmp(url, "http://", 7) == 0)
        auth = url + 7;
    else
        auth = NULL;
    if (!auth)
        bad = "expected \"http://\" or \"https://\" followed by a host";
    else {
        auth_len = strcspn(auth, "/?#");
        bad = strchr(auth, '#') ? "a url cannot carry a fragment"
              : memchr(auth, '@', auth_len)
                  ? "a url cannot carry user info"
                  : split_host_port((struct slice){ auth, auth_len }, 0, host, &bracketed, &port);
        if (!bad && !bracketed)
            bad = check_url_host(host);
        if (!bad)
            bad = check_url_path(auth + auth_len);
    }
    if (bad) {
        fmt_buf(why, whylen, "%s", bad);
        return -1;
    }
    return 0;
}
