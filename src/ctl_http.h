/* ctl_http.h - how sluicectl talks to the admin API: the admin URL and
 * request paths, the bearer token, and a blocking HTTP/1.1 client (one
 * request per connection, every step bounded in time and size; a CLI makes
 * one request at a time, so it needs neither libevent nor the gateway's
 * objects). Failures to get an answer are reported as exit codes. */
#ifndef SLUICE_CTL_HTTP_H
#define SLUICE_CTL_HTTP_H

#include <jansson.h>
#include <stddef.h>

#include "ctl_base.h"

#define DEFAULT_ADMIN "http://127.0.0.1:9901"
#define MAX_PATH_BYTES 2048 /* a request path, from make_path() */

/* An answer from the admin API. */
struct reply {
    int status;
    char reason[64];
    char *body;   /* NUL-terminated, "" without one; owned */
    size_t len;   /* bytes in body */
    json_t *json; /* body parsed, or NULL when it is not JSON; owned */
};

/* Splits url, "http://HOST[:PORT][/PREFIX]" (the scheme may be left out),
 * into c->host, c->port, c->hostport, c->base, and keeps url (not copied:
 * it must outlive c) as c->url. Returns 0, or -1 after saying why. */
int parse_admin_url(struct ctl *c, const char *url);

/* Builds c->base + tmpl into out[cap], each '%' of tmpl replaced by the
 * next string of args (as many as tmpl has '%'; NULL for none),
 * percent-encoded (names and ids are path segments: a '/' or a '?' in one
 * must not change the path). Returns 0, or -1 after saying why: a name
 * is empty (the path would name something else), or the result does not
 * fit. */
int make_path(const struct ctl *c, char *out, size_t cap, const char *tmpl,
              const char *const *args);

/* call() with body as compact JSON text (body is not consumed). */
int call_json(struct ctl *c, const char *method, const char *path, const json_t *body,
              struct reply *r);

/* Reads the bearer token from the file at path: its content, surrounding
 * whitespace trimmed, at most 4096 bytes. Sets c->token (the caller frees
 * it). Returns 0, or -1 after saying what is wrong with the file. */
int load_token(struct ctl *c, const char *path);

/* Sends one request (if_match: an If-Match value or NULL; body: JSON text
 * or NULL) and reads the answer, whatever its status. Returns 0 (r filled
 * in; the caller frees it with reply_free), or -1 when no answer came
 * (c->err says why; r holds nothing). */
int call_raw(struct ctl *c, const char *method, const char *path, const char *if_match,
             const char *body, struct reply *r);

/* call_raw() for the usual case: a 2xx answer gives EXIT_DONE (r filled
 * in: free it); anything else is reported and gives its exit code (r
 * freed). */
int call(struct ctl *c, const char *method, const char *path, const char *body, struct reply *r);

/* GETs path and checks the answer is a JSON object (unless --json).
 * Returns EXIT_DONE (r filled in: free it) or an exit code after saying
 * why (r freed). */
int get_object(struct ctl *c, const char *path, struct reply *r);

/* Frees what r owns and clears it; r itself is the caller's. */
void reply_free(struct reply *r);

/* Says why the admin API could not be reached (c->err); returns the exit
 * code: EXIT_UNREACHABLE, or EXIT_INTERRUPTED after Ctrl-C. */
int unreachable(const struct ctl *c);

/* Says what the server refused and why (with --json its body goes to
 * stdout as well, for scripts); returns EXIT_REFUSED. */
int refused(const struct ctl *c, const struct reply *r);

/* The JSON object a 2xx answer must carry. Returns it (owned by r), or
 * NULL after saying the server answered something else. */
json_t *reply_object(const struct reply *r);

/* With --json, prints the server's body as it is (newline-terminated)
 * and returns 1; otherwise prints nothing and returns 0. */
int print_raw(const struct ctl *c, const struct reply *r);

#endif
