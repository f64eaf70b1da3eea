/* addr.h - network addresses as the config writes them ("host:port",
 * "[v6]:port", "*:port", "http://host[:port][/path]"), checked and
 * resolved to socket addresses. Resolving blocks: start-up and reload
 * only. */
#ifndef SLUICE_ADDR_H
#define SLUICE_ADDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Longest host name kept, NUL included (DNS names stop at 253). */
#define ADDR_HOST_MAX 256

/* Parses a listening address: "host:port", "[v6]:port", or "*:port" and
 * ":port" for every local address; port 1..65535; a name is resolved.
 * Fills *ss and *len with the resolver's first answer and returns 0, or
 * returns -1 with a one-line reason in why (capacity whylen). */
int addr_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len, char *why,
                      size_t whylen);

/* An upstream url taken apart. path points into the url given. */
struct addr_url {
    char host[ADDR_HOST_MAX];          /* without brackets */
    char authority[ADDR_HOST_MAX + 8]; /* "host:port"; "[v6]" bracketed; no default port */
    const char *path;                  /* the url's path without trailing '/' */
    size_t path_len;                   /* 0 when there is none */
    uint16_t port;                     /* 80 (https: 443) unless given */
    int tls;                           /* an https url */
    struct sockaddr_storage addr;
    socklen_t addrlen;
};

/* Parses "http://host[:port][/path]" or "https://..." (no user info,
 * query or fragment; out->tls says which) and resolves host, a literal address
 * first, then a name. Returns 0, or -1 with a one-line reason in why. */
int addr_parse_http_url(const char *url, struct addr_url *out, char *why, size_t whylen);

/* Splits "host:port" or "[v6]:port" (port 1..65535 required) into host
 * (capacity ADDR_HOST_MAX, without brackets) and *port, without resolving
 * (for addresses another library resolves, as hiredis does). "*" and an
 * empty host are refused. Returns 0, or -1 with a one-line reason in why. */
int addr_split(const char *s, char *host, uint16_t *port, char *why, size_t whylen);

/* Checks a url sluice will fetch later: "http://" or "https://", a host
 * with an optional port, an optional path and query; no user info or
 * fragment. Nothing is resolved. Returns 0, or -1 with a reason in why. */
int addr_check_fetch_url(const char *url, char *why, size_t whylen);

#endif
