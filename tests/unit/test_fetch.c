/* test_fetch.c - fetch.c against a real HTTP/HTTPS server (fetch_server.py,
 * certificates made with the openssl command line), then jwks.c on top:
 * first fetch, last good set kept, refetch rate limit, oct keys refused. */
#include "unit.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fetch.h"
#include "jwks.h"
#include "jose.h"
#include "util.h"

/* Where fetch_server.py lives when SLUICE_SRCDIR is not in the
 * environment: the build passes the source tree in. */
#ifdef SLUICE_SRCDIR
#define TEST_SRCDIR SLUICE_SRCDIR
#else
#define TEST_SRCDIR "/work/main"
#endif

/* The whole run takes about ten seconds; past this something hangs. */
#define TEST_ALARM_S 60

static struct {
    pid_t pid; /* also its process group: the python3 shim may fork */
    FILE *in, *out;
    int http, https, wrong, closed;
    char ca[4096];
} srv = { .pid = -1 };

static struct event_base *base;

/* ------------------------------------------------------------ the server */

static void server_stop(void)
{
    if (srv.pid <= 0)
        return;
    if (srv.in)
        fclose(srv.in); /* end of input: it removes its files and exits */
    srv.in = NULL;
    for (int i = 0; i < 100; i++) {
        if (waitpid(srv.pid, NULL, WNOHANG) == srv.pid)
            break;
        usleep(20000);
        if (i == 99) {
            kill(-srv.pid, SIGKILL);
            waitpid(srv.pid, NULL, 0);
        }
    }
    /* Whatever else is left in the group (a shim's child). */
    kill(-srv.pid, SIGKILL);
    srv.pid = -1;
    if (srv.out)
        fclose(srv.out);
    srv.out = NULL;
}

static void on_alarm(int sig)
{
    static const char msg[] = "test_fetch: timed out\n";

    if (srv.pid > 0)
        kill(-srv.pid, SIGKILL);
    if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
        _exit(1);
    _exit(1);
}

static int have_program(const char *name)
{
    char cmd[256];

    if (fmt_buf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", name) < 0)
        return 0;
    return system(cmd) == 0;
}

/* Starts fetch_server.py and reads its ready line. Returns 0, or -1. */
static int server_start(void)
{
    const char *srcdir = getenv("SLUICE_SRCDIR");
    char script[4096], line[8192];
    int to_child[2], from_child[2];

    if (!srcdir || !*srcdir)
        srcdir = TEST_SRCDIR;
    if (fmt_buf(script, sizeof(script), "%s/tests/unit/fetch_server.py", srcdir) < 0)
        return -1;
    if (pipe(to_child) < 0 || pipe(from_child) < 0)
        return -1;
    srv.pid = fork();
    if (srv.pid < 0)
        return -1;
    if (srv.pid == 0) {
        setpgid(0, 0);
        if (dup2(to_child[0], STDIN_FILENO) < 0 || dup2(from_child[1], STDOUT_FILENO) < 0)
            _exit(127);
        close(to_child[0]);
        close(to_child[1]);
        close(from_child[0]);
        close(from_child[1]);
        execlp("python3", "python3", script, (char *)NULL);
        _exit(127);
    }
    setpgid(srv.pid, srv.pid); /* both sides, so kill(-pid) works at once */
    close(to_child[0]);
    close(from_child[1]);
    srv.in = fdopen(to_child[1], "w");
    srv.out = fdopen(from_child[0], "r");
    if (!srv.in || !srv.out || !fgets(line, sizeof(line), srv.out))
        return -1;
    if (sscanf(line, "ready http=%d https=%d wrong=%d closed=%d ca=%4095s", &srv.http, &srv.https,
               &srv.wrong, &srv.closed, srv.ca) != 5) {
        fprintf(stderr, "fetch_server said: %s", line);
        return -1;
    }
    return 0;
}

/* Sends one command line, returns the reply line (static buffer). */
static const char *server_cmd(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *server_cmd(const char *fmt, ...)
{
    static char reply[256];
    va_list ap;

    va_start(ap, fmt);
    vfprintf(srv.in, fmt, ap);
    va_end(ap);
    fputc('\n', srv.in);
    if (fflush(srv.in) != 0 || !fgets(reply, sizeof(reply), srv.out))
        return "";
    reply[strcspn(reply, "\n")] = '\0';
    return reply;
}

static long server_count(const char *target)
{
    return strtol(server_cmd("count %s", target), NULL, 10);
}

/* ------------------------------------------------------------ loop helpers */

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
}

/* Runs b until *flag reaches want or max_ms pass. Returns 1 when it did. */
static int run_until(struct event_base *b, const int *flag, int want, unsigned max_ms)
{
    uint64_t deadline = now_ms() + max_ms;
    /* a ticker so the loop wakes to look at the clock */
    struct event *tick = event_new(b, -1, EV_PERSIST, tick_cb, NULL);
    struct timeval tv = { 0, 20000 };
    int ok;

    if (!tick || event_add(tick, &tv) < 0)
        abort();
    while (*flag < want && now_ms() < deadline)
        event_base_loop(b, EVLOOP_ONCE);
    ok = *flag >= want;
    event_free(tick);
    return ok;
}

static void run_for(struct event_base *b, unsigned ms)
{
    int never = 0;

    run_until(b, &never, 1, ms);
}

/* ------------------------------------------------------------ fetches */

struct result {
    int done;
    int status;
    char *body;
    size_t len;
    char err[512];
};

static void on_done(void *arg, int status, const char *body, size_t len, const char *error)
{
    struct result *r = arg;

    r->done++;
    r->status = status;
    free(r->body);
    r->body = NULL;
    r->len = len;
    if (body) {
        r->body = malloc(len + 1);
        if (!r->body)
            abort();
        memcpy(r->body, body, len);
        r->body[len] = '\0';
    }
    fmt_buf(r->err, sizeof(r->err), "%s", error ? error : "");
    if (getenv("TEST_VERBOSE"))
        fprintf(stderr, "  -> %d, %zu bytes, %s\n", status, len, error ? error : "");
}

/* Fetches url and waits for the answer; returns the elapsed milliseconds. */
static uint64_t do_fetch(const char *url, uint32_t timeout_ms, size_t max_body, const char *ca,
                         struct result *r)
{
    struct fetch_opts o = { .timeout_ms = timeout_ms, .max_body = max_body, .ca_file = ca };
    char err[256] = "";
    uint64_t t0 = now_ms();
    struct fetch *f;

    free(r->body);
    memset(r, 0, sizeof(*r));
    if (getenv("TEST_VERBOSE"))
        fprintf(stderr, "GET %s\n", url);
    f = fetch_get(base, url, &o, on_done, r, err, sizeof(err));
    CHECKF(f != NULL, "%s: %s", url, err);
    if (!f)
        return 0;
    CHECK_INT(r->done, 0); /* never called back from inside fetch_get */
    CHECKF(run_until(base, &r->done, 1, timeout_ms + 3000), "%s: no answer", url);
    CHECK_INT(r->done, 1);
    return now_ms() - t0;
}

static const char *url_of(char *buf, size_t cap, const char *scheme, const char *host, int port,
                          const char *target)
{
    if (fmt_buf(buf, cap, "%s://%s:%d%s", scheme, host, port, target) < 0)
        abort();
    return buf;
}

static int has(const char *hay, const char *needle)
{
    return hay && strcasestr(hay, needle) != NULL;
}

static void test_bad_urls(void)
{
    static const char *const bad[] = {
        "ftp://example.com/",
        "example.com/x",
        "http://",
        "http:///path",
        "http://:80/",
        "http://host:0/",
        "http://host:65536/",
        "http://host:8x/",
        "http://user:pw@host/",
        "http://[::1/",
        "http://[::1]x/",
        "http://[zz::1]/",
        "http://[fe80::1%25eth0]/",
        "http://ho st/",
        "http://host/a b",
        "http://host/\x01",
        "http://h\xc3\xa9.com/",
    };
    struct fetch_opts o = { .timeout_ms = 1000, .max_body = 1024 };
    struct result r = { 0 };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[256] = "";
        struct fetch *f = fetch_get(base, bad[i], &o, on_done, &r, err, sizeof(err));
        CHECKF(f == NULL && err[0], "%s accepted", bad[i]);
        fetch_cancel(f);
    }
    /* good ones parse (and are cancelled before they go anywhere) */
    static const char *const good[] = {
        "http://example.com",     "HTTPS://example.com:8443?q=1", "http://[::1]:8080/x?y#frag",
        "http://127.0.0.1/a/b/c", "https://a-b.example_x.com/p",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char err[256] = "";
        struct fetch *f = fetch_get(base, good[i], &o, on_done, &r, err, sizeof(err));
        CHECKF(f != NULL, "%s refused: %s", good[i], err);
        fetch_cancel(f);
    }
    run_for(base, 50);
    CHECK_INT(r.done, 0);
}

static void test_http(void)
{
    struct result r = { 0 };
    char url[256], want[256];
    uint64_t ms;

    do_fetch(url_of(url, sizeof(url), "http", "127.0.0.1", srv.http, "/body"), 3000, 1024, NULL,
             &r);
    CHECK_INT(r.status, 200);
    CHECK_STR(r.body, "hello, sluice\n");

    /* what goes on the wire; "localhost" may resolve to ::1 first, where
     * nothing listens: the next address is tried */
    do_fetch(url_of(url, sizeof(url), "http", "localhost", srv.http, "/headers?x=1#frag"), 3000,
             4096, NULL, &r);
    CHECK_INT(r.status, 200);
    CHECKF(has(r.body, "GET /headers?x=1 HTTP/1.1\r\n"), "%s", r.body);
    fmt_buf(want, sizeof(want), "Host: localhost:%d\r\n", srv.http);
    CHECKF(has(r.body, want), "%s", r.body);
    CHECK(has(r.body, "User-Agent: sluice\r\n"));
    CHECK(has(r.body, "Accept: application/json\r\n"));
    CHECK(has(r.body, "Connection: close\r\n"));

    do_fetch(url_of(url, sizeof(url), "http", "127.0.0.1", srv.http, "/status/404"), 3000, 1024,
             NULL, &r);
    CHECK_INT(r.status, 404);
    CHECK_STR(r.body, "status 404");

    /* redirects are not followed */
    do_fetch(url_of(url, sizeof(url), "http", "127.0.0.1", srv.http, "/redirect"), 3000, 1024, NULL,
             &r);
    CHECK_INT(r.status, 302);
    CHECK_INT(r.len, 0);

    do_fetch(url_of(url, sizeof(url), "http", "127.0.0.1", srv.http, "/chunked"), 3000, 1024, NULL,
             &r);
    CHECK_INT(r.status, 200);
    CHECK_STR(r.body, "chunk-one,chunk-two,end");

    do_fetch(url_of(url, sizeof(url), "http", "127.0.0.1", srv.http, "/close"), 3000, 1024, NULL,
             &r);
    CHECK_INT(r.status, 200);
    CHECK_STR(r.body, "until the end");

    /* bodies: exactly the cap passes, one byte more fails, however framed */
    do_fetch(url_of(url, sizeof(url), "http", "127.0.0.1", srv.http, "/huge?n=1048576"), 5000,
             1048576, NULL, &r);
    CHECK_INT(r.status, 200);
    CHECK_INT(r.len, 1048576);
    do_fetch(url_of(url, sizeof(url), "http", "127.0.0.1", srv.http, "/huge?n=1048577"), 5000,
             1048576, NULL, &r);
    CHECK_INT(r.status, 0);
    CHECKF(has(r.err, "too large"), "%s", r.err);
    ms = do_fetch(url_of(url, sizeof(url), "http", "127.0.0.1", srv.http, "/huge?n=50000000"), 5000,
                  1048576, NULL, &r);
    CHECK_INT(r.status, 0);
    CHECKF(has(r.err, "too large"), "%s", r.err);
    CHECKF(ms < 1000, "refusing a huge body took %llu ms", (unsigned long long)ms);
    do_fetch(url_of(url, sizeof(url), "http", "127.0.0.1", srv.http, "/huge-chunked?n=200000"),
             5000, 200000, NULL, &r);
    CHECK_INT(r.status, 200);
    CHECK_INT(r.len, 200000);
    do_fetch(url_of(url, sizeof(url), "http", "127.0.0.1", srv.http, "/huge-chunked?n=200001"),
             5000, 200000, NULL, &r);
    CHECK_INT(r.status, 0);
    CHECKF(has(r.err, "too large"), "%s", r.err);

    /* the whole exchange is bounded */
    ms = do_fetch(url_of(url, sizeof(url), "http", "127.0.0.1", srv.http, "/slow?ms=3000"), 500,
                  1024, NULL, &r);
    CHECK_INT(r.status, 0);
    CHECKF(has(r.err, "timed out"), "%s", r.err);
    CHECKF(ms >= 450 && ms < 1500, "timeout after %llu ms", (unsigned long long)ms);

    do_fetch(url_of(url, sizeof(url), "http", "127.0.0.1", srv.closed, "/"), 3000, 1024, NULL, &r);
    CHECK_INT(r.status, 0);
    CHECKF(has(r.err, "refused"), "%s", r.err);
    free(r.body);
}

static void test_https(void)
{
    struct result r = { 0 };
    char url[256];

    do_fetch(url_of(url, sizeof(url), "https", "localhost", srv.https, "/body"), 3000, 1024, srv.ca,
             &r);
    CHECKF(r.status == 200, "%d %s", r.status, r.err);
    CHECK_STR(r.body, "hello, sluice\n");
    CHECK_STR(server_cmd("sni"), "localhost");

    /* the certificate holds IP:127.0.0.1: checked as an address, no SNI */
    do_fetch(url_of(url, sizeof(url), "https", "127.0.0.1", srv.https, "/chunked"), 3000, 1024,
             srv.ca, &r);
    CHECKF(r.status == 200, "%d %s", r.status, r.err);
    CHECK_STR(r.body, "chunk-one,chunk-two,end");
    CHECK_STR(server_cmd("sni"), "-");

    /* the system store does not know the test CA */
    do_fetch(url_of(url, sizeof(url), "https", "localhost", srv.https, "/body"), 3000, 1024, NULL,
             &r);
    CHECK_INT(r.status, 0);
    CHECKF(has(r.err, "certificate verify failed"), "%s", r.err);

    /* a good chain for another name */
    do_fetch(url_of(url, sizeof(url), "https", "localhost", srv.wrong, "/body"), 3000, 1024, srv.ca,
             &r);
    CHECK_INT(r.status, 0);
    CHECKF(has(r.err, "certificate verify failed") && has(r.err, "hostname mismatch"), "%s", r.err);
    do_fetch(url_of(url, sizeof(url), "https", "127.0.0.1", srv.wrong, "/body"), 3000, 1024, srv.ca,
             &r);
    CHECK_INT(r.status, 0);
    CHECKF(has(r.err, "certificate verify failed") && has(r.err, "IP address mismatch"), "%s",
           r.err);

    /* TLS to a plain http port fails quickly instead of hanging */
    do_fetch(url_of(url, sizeof(url), "https", "127.0.0.1", srv.http, "/body"), 3000, 1024, srv.ca,
             &r);
    CHECK_INT(r.status, 0);
    CHECKF(r.err[0] && !has(r.err, "timed out"), "%s", r.err);

    do_fetch(url_of(url, sizeof(url), "https", "localhost", srv.https, "/body"), 3000, 1024,
             "/nonexistent/ca.pem", &r);
    CHECK_INT(r.status, 0);
    CHECKF(has(r.err, "CA file"), "%s", r.err);
    free(r.body);
}

static void test_cancel(void)
{
    struct fetch_opts o = { .timeout_ms = 3000, .max_body = 1024 };
    struct result r = { 0 };
    char url[256], err[256];
    struct fetch *f;

    /* before it started */
    f = fetch_get(base, url_of(url, sizeof(url), "http", "127.0.0.1", srv.http, "/body"), &o,
                  on_done, &r, err, sizeof(err));
    CHECK(f != NULL);
    fetch_cancel(f);
    /* while the server is still thinking */
    f = fetch_get(base, url_of(url, sizeof(url), "http", "127.0.0.1", srv.http, "/slow?ms=300"), &o,
                  on_done, &r, err, sizeof(err));
    CHECK(f != NULL);
    run_for(base, 100);
    fetch_cancel(f);
    /* while TLS is set up */
    o.ca_file = srv.ca;
    f = fetch_get(base, url_of(url, sizeof(url), "https", "localhost", srv.https, "/body"), &o,
                  on_done, &r, err, sizeof(err));
    CHECK(f != NULL);
    run_for(base, 1);
    fetch_cancel(f);
    fetch_cancel(NULL);
    run_for(base, 500);
    CHECK_INT(r.done, 0);
}

/* ------------------------------------------------------------ jwks */

struct jw {
    struct jwks_source *a, *b;
    int na, nb;         /* notifications */
    int last_a, last_b; /* their "changed" */
};

static void on_notify(void *arg, struct jwks_source *src, int changed)
{
    struct jw *j = arg;

    if (src == j->a) {
        j->na++;
        j->last_a = changed;
    } else if (src == j->b) {
        j->nb++;
        j->last_b = changed;
    } else {
        CHECK(!"notify for an unknown source");
    }
}

static int kid_in(struct jwks_source *src, const char *kid)
{
    struct jose_keyset *ks = jwks_source_keys(src);
    int rc = ks && jose_keyset_has_kid(ks, kid, strlen(kid));

    jose_keyset_unref(ks);
    return rc;
}

struct refresh_call {
    struct jwks_source *src;
    int rc;
};

static void *refresh_thread(void *arg)
{
    struct refresh_call *c = arg;

    c->rc = jwks_source_request_refresh(c->src);
    return NULL;
}

/* Asks for a refetch from another thread, as a worker does. */
static int refresh_from_thread(struct jwks_source *src)
{
    struct refresh_call c = { src, -1 };
    pthread_t t;

    if (pthread_create(&t, NULL, refresh_thread, &c) != 0 || pthread_join(t, NULL) != 0)
        abort();
    return c.rc;
}

static int keep_a(void *arg, struct jwks_source *s)
{
    return s == ((struct jw *)arg)->a;
}

/* Phase one: first fetches and the rate limit. Leaves source b failing so
 * the fetch tests can run while its refresh comes due. */
static void jwks_begin(struct event_base *jb, struct jwks_registry *reg, struct jw *j,
                       uint64_t *t_first)
{
    char url_a[256], url_b[256];
    struct jose_keyset *ks;
    unsigned long fetches, failures;

    url_of(url_a, sizeof(url_a), "http", "127.0.0.1", srv.http, "/jwks?s=a");
    url_of(url_b, sizeof(url_b), "http", "127.0.0.1", srv.http, "/jwks?s=b");
    CHECK_STR(server_cmd("mode a good"), "ok");
    CHECK_STR(server_cmd("mode b good"), "ok");

    *t_first = now_ms();
    j->a = jwks_registry_source(reg, url_a, NULL, 60);
    j->b = jwks_registry_source(reg, url_b, NULL, 2);
    CHECK(j->a && j->b && j->a != j->b);
    CHECK(jwks_registry_source(reg, url_a, NULL, 600) == j->a);
    CHECK_STR(jwks_source_url(j->a), url_a);
    CHECK(jwks_source_keys(j->a) == NULL);           /* nothing before the first fetch */
    CHECK_INT(jwks_source_request_refresh(j->a), 1); /* the first fetch is under way */
    CHECK_INT(j->na, 0);

    CHECK(run_until(jb, &j->na, 1, 5000));
    CHECK(run_until(jb, &j->nb, 1, 5000));
    CHECK_INT(j->last_a, 1);
    CHECK_INT(j->last_b, 1);
    ks = jwks_source_keys(j->a);
    CHECK(ks != NULL);
    if (ks) {
        CHECK_INT(jose_keyset_count(ks), 1);
        CHECK(jose_keyset_has_kid(ks, "k1", 2));
    }
    jose_keyset_unref(ks);
    CHECK_INT(server_count("/jwks?s=a"), 1);

    /* a second request within JWKS_MIN_REFETCH_S: refused, nothing fetched */
    CHECK_INT(refresh_from_thread(j->a), 0);
    run_for(jb, 300);
    CHECK_INT(server_count("/jwks?s=a"), 1);
    CHECK_INT(j->na, 1);
    jwks_source_stats(j->a, &fetches, &failures);
    CHECK_INT(fetches, 1);
    CHECK_INT(failures, 0);

    /* b (refreshed every 2 s) will fail next */
    CHECK_STR(server_cmd("mode b 500"), "ok");
}

static void jwks_end(struct event_base *jb, struct jwks_registry *reg, struct jw *j,
                     uint64_t t_first)
{
    unsigned long fetches, failures;
    uint64_t since;

    /* a failed refresh keeps the last good set */
    CHECK(run_until(jb, &j->nb, 2, 5000));
    CHECK_INT(j->last_b, 0);
    CHECK(kid_in(j->b, "k1"));
    jwks_source_stats(j->b, &fetches, &failures);
    CHECK_INT(fetches, 2);
    CHECK_INT(failures, 1);

    /* an oct key from a URL is never trusted: a set of only that is no
     * set; the retry comes after the first backoff (1 s) */
    CHECK_STR(server_cmd("mode b oct"), "ok");
    CHECK(run_until(jb, &j->nb, 3, 3000));
    CHECK_INT(j->last_b, 0);
    CHECK(kid_in(j->b, "k1"));
    CHECK(!kid_in(j->b, "h1"));

    /* beside a public key the oct key is dropped (or the document refused) */
    CHECK_STR(server_cmd("mode b mixed"), "ok");
    CHECK(run_until(jb, &j->nb, 4, 4000));
    CHECK(!kid_in(j->b, "h1"));
    if (j->last_b)
        CHECK(kid_in(j->b, "k2") && !kid_in(j->b, "k1"));
    else
        CHECK(kid_in(j->b, "k1"));

    /* after JWKS_MIN_REFETCH_S an unknown kid gets one refetch, however
     * many ask */
    since = now_ms() - t_first;
    if (since < JWKS_MIN_REFETCH_S * 1000 + 200)
        run_for(jb, (unsigned)(JWKS_MIN_REFETCH_S * 1000 + 200 - since));
    CHECK_STR(server_cmd("mode a rotated"), "ok");
    CHECK_INT(refresh_from_thread(j->a), 1);
    CHECK_INT(refresh_from_thread(j->a), 1); /* under way: no second fetch */
    CHECK_INT(jwks_source_request_refresh(j->a), 1);
    CHECK(run_until(jb, &j->na, 2, 5000));
    CHECK_INT(j->last_a, 1);
    CHECK(kid_in(j->a, "k2"));
    CHECK(!kid_in(j->a, "k1"));
    CHECK_INT(jwks_source_request_refresh(j->a), 0);
    run_for(jb, 200);
    CHECK_INT(server_count("/jwks?s=a"), 2);
    CHECK_INT(j->na, 2);

    /* prune frees b (and its pending timer); a goes on */
    jwks_registry_prune(reg, keep_a, j);
    j->b = NULL;
    run_for(jb, 100);
    CHECK(kid_in(j->a, "k2"));
    jwks_source_stats(j->a, &fetches, &failures);
    CHECK_INT(fetches, 2);
    CHECK_INT(failures, 0);

    /* a source whose first fetch is still running when the registry goes:
     * the fetch is cancelled (no notify, no leak) */
    char url_c[256];
    url_of(url_c, sizeof(url_c), "http", "127.0.0.1", srv.http, "/slow?ms=2000");
    CHECK(jwks_registry_source(reg, url_c, NULL, 60) != NULL);
    run_for(jb, 200);
    CHECK_INT(server_count("/slow?ms=2000"), 1);
}

int main(void)
{
    struct event_base *jb;
    struct jwks_registry *reg;
    struct jw j = { 0 };
    uint64_t t_first = 0;

    if (!have_program("python3") || !have_program("openssl")) {
        printf("test_fetch: python3 or openssl missing, skipped\n");
        return 77;
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGALRM, on_alarm);
    alarm(TEST_ALARM_S);
    atexit(server_stop);
    if (server_start() < 0) {
        fprintf(stderr, "test_fetch: fetch_server.py did not start (see above)\n");
        return 1;
    }

    /* The registry has a loop of its own, so its timers wait while the
     * fetch tests run on the other one. */
    base = event_base_new();
    jb = event_base_new();
    reg = jb ? jwks_registry_new(jb, on_notify, &j) : NULL;
    if (!base || !jb || !reg)
        abort();

    jwks_begin(jb, reg, &j, &t_first);
    test_bad_urls();
    test_http();
    test_https();
    test_cancel();
    jwks_end(jb, reg, &j, t_first);

    jwks_registry_free(reg);
    event_base_free(jb);
    event_base_free(base);
    server_stop();
    return unit_done("test_fetch");
}
