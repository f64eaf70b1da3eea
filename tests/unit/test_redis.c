/* test_redis.c - the Redis client against real redis-servers (killed, stopped) and a fake. */
#include "redis.h"
#include "log.h"
#include "unit.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#define TIMEOUT_MS 200
#define MAX_SERVERS 4

static struct event_base *base;
static pid_t servers[MAX_SERVERS]; /* process groups still to kill */

/* ------------------------------------------------------------ processes */

static int in_path(const char *prog)
{
    const char *path = getenv("PATH");
    char dir[4096], full[4200];

    while (path && *path) {
        size_t n = strcspn(path, ":");
        if (n > 0 && n < sizeof(dir)) {
            memcpy(dir, path, n);
            dir[n] = '\0';
            if (fmt_buf(full, sizeof(full), "%s/%s", dir, prog) >= 0 && access(full, X_OK) == 0)
                return 1;
        }
        path += n;
        if (*path == ':')
            path++;
    }
    return 0;
}

static void server_kill(pid_t pid)
{
    int i;

    if (pid <= 0)
        return;
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    for (i = 0; i < MAX_SERVERS; i++)
        if (servers[i] == pid)
            servers[i] = 0;
}

static void kill_all(void)
{
    int i;

    for (i = 0; i < MAX_SERVERS; i++)
        server_kill(servers[i]);
}

/* A port nobody listens on right now (the kernel's pick, then closed). */
static int free_port(void)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static int port_accepts(int port)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

    if (fd < 0)
        return 0;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return ok;
}

/* Starts redis-server on port in its own process group, killed with us
 * if we die (PDEATHSIG), and waits until it listens. Returns its pid. */
static pid_t server_start(int port, const char *password)
{
    char portstr[16];
    const char *argv[16];
    int n = 0, i;
    pid_t parent = getpid(), pid;
    uint64_t end;

    fmt_buf(portstr, sizeof(portstr), "%d", port);
    argv[n++] = "redis-server";
    argv[n++] = "--save";
    argv[n++] = "";
    argv[n++] = "--appendonly";
    argv[n++] = "no";
    argv[n++] = "--port";
    argv[n++] = portstr;
    argv[n++] = "--bind";
    argv[n++] = "127.0.0.1";
    argv[n++] = "--daemonize";
    argv[n++] = "no";
    if (password) {
        argv[n++] = "--requirepass";
        argv[n++] = password;
    }
    argv[n] = NULL;
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDWR);
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        if (devnull >= 0) {
            dup2(devnull, STDIN_FILENO);
            dup2(devnull, STDOUT_FILENO);
            dup2(devnull, STDERR_FILENO);
        }
        if (chdir("/tmp") != 0)
            _exit(127);
        execvp("redis-server", (char *const *)argv);
        _exit(127);
    }
    setpgid(pid, pid);
    for (i = 0; i < MAX_SERVERS; i++)
        if (servers[i] == 0) {
            servers[i] = pid;
            break;
        }
    end = now_ms() + 5000;
    while (now_ms() < end) {
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            for (i = 0; i < MAX_SERVERS; i++)
                if (servers[i] == pid)
                    servers[i] = 0;
            return -1;
        }
        if (port_accepts(port))
            return pid;
        usleep(20000);
    }
    server_kill(pid);
    return -1;
}

/* ------------------------------------------------------------ the loop */

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
}

/* Runs the loop until *flag is non-zero (when flag is given) or ms pass. */
static int run_until(const int *flag, unsigned ms)
{
    uint64_t end = now_ms() + ms;
    struct event *tick = event_new(base, -1, EV_PERSIST, on_tick, NULL);
    struct timeval tv = { 0, 5000 };

    if (!tick)
        return 0;
    event_add(tick, &tv);
    while (!(flag && *flag) && now_ms() < end)
        event_base_loop(base, EVLOOP_ONCE);
    event_free(tick);
    return flag ? *flag : 0;
}

static int wait_ready(struct redis_client *c, unsigned ms)
{
    uint64_t end = now_ms() + ms;

    while (!redis_client_ready(c) && now_ms() < end)
        run_until(NULL, 10);
    return redis_client_ready(c);
}

struct result {
    int done, calls, found;
    char val[64];
    size_t len;
    struct redis_client *free_me;  /* freed from inside the callback */
    struct redis_client *get_more; /* a new GET from inside the callback */
    struct result *next_result;
};

static void on_result(void *arg, int found, const char *val, size_t len)
{
    struct result *r = arg;

    r->calls++;
    r->done = 1;
    r->found = found;
    r->len = len;
    if (found == 1 && len <= sizeof(r->val))
        memcpy(r->val, val, len);
    if (found == 1)
        CHECK(val != NULL);
    if (r->get_more)
        CHECK(redis_get(r->get_more, "chained", 7, on_result, r->next_result) != NULL);
    if (r->free_me)
        redis_client_free(r->free_me);
}

/* GET and wait. Returns found, or -2 when the callback never came. */
static int get_wait(struct redis_client *c, const char *key, size_t keylen, struct result *r,
                    unsigned ms)
{
    struct redis_op *op;

    memset(r, 0, sizeof(*r));
    op = redis_get(c, key, keylen, on_result, r);
    CHECK(op != NULL);
    CHECK_INT(r->calls, 0); /* never from inside redis_get() */
    if (!op)
        return -2;
    run_until(&r->done, ms);
    CHECK_INT(r->calls, 1);
    return r->done ? r->found : -2;
}

static int get_str(struct redis_client *c, const char *key, struct result *r)
{
    return get_wait(c, key, strlen(key), r, 2000);
}

static struct redis_client *client(int port, const char *password, unsigned db, const char *prefix)
{
    struct redis_conf rc;

    memset(&rc, 0, sizeof(rc));
    rc.enabled = 1;
    rc.host = (char *)"127.0.0.1";
    rc.port = (uint16_t)port;
    rc.password = (char *)password;
    rc.db = db;
    rc.prefix = (char *)prefix;
    rc.timeout_ms = TIMEOUT_MS;
    return redis_client_new(base, &rc);
}

/* ------------------------------------------------------------ tests */

static void test_get_set(int port)
{
    struct redis_client *c = client(port, NULL, 0, "t:"), *other, *bare;
    struct redis_stats st;
    struct result r;
    static const char bin[] = { 'a', '\0', 'b' };
    static const char binkey[] = { 'k', ' ', '\0', 'x' };

    CHECK(c != NULL);
    if (!c)
        return;
    CHECK(wait_ready(c, 3000));
    CHECK_INT(get_str(c, "missing", &r), 0);
    CHECK_INT(r.len, 0);

    /* a NUL inside the value, spaces and a NUL inside the key */
    redis_setex(c, "k1", 2, bin, sizeof(bin), 60);
    CHECK_INT(get_str(c, "k1", &r), 1);
    CHECK_INT(r.len, 3);
    CHECK(memcmp(r.val, bin, 3) == 0);
    redis_setex(c, binkey, sizeof(binkey), "v", 1, 60);
    CHECK_INT(get_wait(c, binkey, sizeof(binkey), &r, 2000), 1);
    CHECK_INT(get_wait(c, binkey, 2, &r, 2000), 0);

    /* the prefix is applied: another prefix misses, none sees "t:k1" */
    other = client(port, NULL, 0, "other:");
    bare = client(port, NULL, 0, "");
    CHECK(wait_ready(other, 3000) && wait_ready(bare, 3000));
    CHECK_INT(get_str(other, "k1", &r), 0);
    CHECK_INT(get_str(bare, "t:k1", &r), 1);
    CHECK_INT(r.len, 3);
    CHECK_INT(get_str(bare, "k1", &r), 0);
    redis_client_free(other);
    redis_client_free(bare);

    /* the TTL is applied */
    redis_setex(c, "short", 5, "x", 1, 1);
    CHECK_INT(get_str(c, "short", &r), 1);
    run_until(NULL, 1200);
    CHECK_INT(get_str(c, "short", &r), 0);

    /* a TTL of 0 stores nothing (Redis would refuse EX 0) */
    redis_setex(c, "zero", 4, "x", 1, 0);
    CHECK_INT(get_str(c, "zero", &r), 0);

    redis_client_stats(c, &st);
    CHECK_INT(st.connects, 1);
    CHECK_INT(st.disconnects, 0);
    CHECK_INT(st.gets, 7);
    CHECK_INT(st.hits, 3);
    CHECK_INT(st.misses, 4);
    CHECK_INT(st.unavailable, 0);
    redis_client_free(c);
}

static void test_db(int port)
{
    struct redis_client *c3 = client(port, NULL, 3, "d:"), *c0 = client(port, NULL, 0, "d:");
    struct redis_client *again;
    struct result r;

    CHECK(c3 && c0);
    if (!c3 || !c0)
        goto out;
    CHECK(wait_ready(c3, 3000) && wait_ready(c0, 3000));
    redis_setex(c3, "k", 1, "three", 5, 60);
    CHECK_INT(get_str(c3, "k", &r), 1);
    CHECK_INT(get_str(c0, "k", &r), 0);
    again = client(port, NULL, 3, "d:");
    CHECK(wait_ready(again, 3000));
    CHECK_INT(get_str(again, "k", &r), 1);
    CHECK(r.len == 5 && memcmp(r.val, "three", 5) == 0);
    redis_client_free(again);
out:
    redis_client_free(c3);
    redis_client_free(c0);
}

static void test_password(int port)
{
    struct redis_client *good = client(port, "s3cret pw", 0, "p:");
    struct redis_client *bad = client(port, "wrong", 0, "p:");
    struct redis_client *none = client(port, NULL, 0, "p:");
    struct redis_stats st;
    struct result r;

    CHECK(good && bad && none);
    if (!good || !bad || !none)
        goto out;
    CHECK(wait_ready(good, 3000));
    redis_setex(good, "k", 1, "v", 1, 60);
    CHECK_INT(get_str(good, "k", &r), 1);
    /* refused handshakes: never ready, every GET answers -1, no crash */
    run_until(NULL, 300);
    CHECK(!redis_client_ready(bad));
    CHECK(!redis_client_ready(none));
    CHECK_INT(get_str(bad, "k", &r), -1);
    CHECK_INT(get_str(none, "k", &r), -1);
    redis_client_stats(bad, &st);
    CHECK_INT(st.connects, 0);
    CHECK_INT(st.unavailable, 1);
out:
    redis_client_free(good);
    redis_client_free(bad);
    redis_client_free(none);
}

/* Nobody listens: GETs answer -1 at once, but from the loop. */
static void test_no_server(void)
{
    int port = free_port();
    struct redis_client *c = client(port, NULL, 0, "x:");
    struct redis_stats st;
    struct result r;
    uint64_t t0;

    CHECK(c != NULL);
    if (!c)
        return;
    t0 = now_ms();
    CHECK_INT(get_str(c, "k", &r), -1);
    CHECK(now_ms() - t0 < 100);
    run_until(NULL, 250); /* a few reconnect attempts */
    CHECK(!redis_client_ready(c));
    CHECK_INT(get_str(c, "k", &r), -1);
    redis_setex(c, "k", 1, "v", 1, 10); /* dropped, harmless */
    redis_client_stats(c, &st);
    CHECK_INT(st.gets, 2);
    CHECK_INT(st.unavailable, 2);
    CHECK_INT(st.connects, 0);
    redis_client_free(c);
}

static void test_cancel(int port)
{
    struct redis_client *c = client(port, NULL, 0, "c:");
    struct redis_client *down = client(free_port(), NULL, 0, "c:");
    struct redis_op *op;
    struct result r, r2;

    memset(&r, 0, sizeof(r));
    memset(&r2, 0, sizeof(r2));
    r2.calls = 1; /* as expected, should the clients be missing */
    r2.found = -1;
    CHECK(c && down);
    if (!c || !down)
        goto out;
    CHECK(wait_ready(c, 3000));

    /* sent, then cancelled: the reply is ignored */
    memset(&r, 0, sizeof(r));
    op = redis_get(c, "k", 1, on_result, &r);
    CHECK(op != NULL);
    redis_op_cancel(op);
    run_until(NULL, 100);
    CHECK_INT(r.calls, 0);
    /* the connection still works, and its answers still match */
    redis_setex(c, "k", 1, "v", 1, 60);
    CHECK_INT(get_str(c, "k", &r), 1);

    /* deferred "unavailable", cancelled before it ran */
    memset(&r, 0, sizeof(r));
    op = redis_get(down, "k", 1, on_result, &r);
    CHECK(op != NULL);
    redis_op_cancel(op);
    run_until(NULL, 50);
    CHECK_INT(r.calls, 0);

    /* cancelled while hiredis still holds it, then the client goes */
    memset(&r, 0, sizeof(r));
    memset(&r2, 0, sizeof(r2));
    op = redis_get(c, "k", 1, on_result, &r);
    CHECK(redis_get(c, "k", 1, on_result, &r2) != NULL);
    redis_op_cancel(op);
out:
    redis_client_free(c);
    redis_client_free(down);
    CHECK_INT(r.calls, 0);
    CHECK_INT(r2.calls, 1);
    CHECK_INT(r2.found, -1);
}

static void test_free_pending(int port)
{
    struct redis_client *c = client(port, NULL, 0, "f:");
    struct redis_client *down = client(free_port(), NULL, 0, "f:");
    struct result r[5], a, b, chained;
    int i;

    CHECK(c && down);
    if (!c || !down) {
        redis_client_free(c);
        redis_client_free(down);
        return;
    }
    CHECK(wait_ready(c, 3000));
    memset(r, 0, sizeof(r));
    for (i = 0; i < 3; i++)
        CHECK(redis_get(c, "k", 1, on_result, &r[i]) != NULL);
    for (i = 3; i < 5; i++)
        CHECK(redis_get(down, "k", 1, on_result, &r[i]) != NULL);
    redis_client_free(c);
    redis_client_free(down);
    for (i = 0; i < 5; i++) {
        CHECK_INT(r[i].calls, 1);
        CHECK_INT(r[i].found, -1);
    }
    run_until(NULL, 50); /* nothing left to fire */
    for (i = 0; i < 5; i++)
        CHECK_INT(r[i].calls, 1);

    /* freed from inside a reply callback, with another GET pending */
    c = client(port, NULL, 0, "f:");
    CHECK(wait_ready(c, 3000));
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    a.free_me = c;
    CHECK(redis_get(c, "k", 1, on_result, &a) != NULL);
    CHECK(redis_get(c, "k", 1, on_result, &b) != NULL);
    run_until(&a.done, 2000);
    CHECK_INT(a.calls, 1);
    CHECK_INT(a.found, 0);
    CHECK_INT(b.calls, 1);
    CHECK_INT(b.found, -1);
    run_until(NULL, 50);

    /* a GET issued from inside a callback works */
    c = client(port, NULL, 0, "f:");
    CHECK(wait_ready(c, 3000));
    memset(&a, 0, sizeof(a));
    memset(&chained, 0, sizeof(chained));
    a.get_more = c;
    a.next_result = &chained;
    CHECK(redis_get(c, "k", 1, on_result, &a) != NULL);
    run_until(&chained.done, 2000);
    CHECK_INT(chained.calls, 1);
    CHECK_INT(chained.found, 0);
    redis_client_free(c);
}

/* SIGSTOP: answers stop, GETs time out, three in a row drop the
 * connection; SIGCONT: it comes back by itself. */
static void test_stalled(int port, pid_t pid)
{
    struct redis_client *c = client(port, NULL, 0, "s:");
    struct redis_stats st;
    struct result r;
    uint64_t t0, dt;
    int i;

    CHECK(c != NULL);
    if (!c)
        return;
    CHECK(wait_ready(c, 3000));
    redis_setex(c, "k", 1, "v", 1, 60);
    CHECK_INT(get_str(c, "k", &r), 1);
    kill(pid, SIGSTOP);
    for (i = 0; i < 3; i++) {
        t0 = now_ms();
        CHECK_INT(get_str(c, "k", &r), -1);
        dt = now_ms() - t0;
        CHECKF(dt >= TIMEOUT_MS - 20 && dt <= TIMEOUT_MS + 150, "timeout took %llu ms",
               (unsigned long long)dt);
    }
    CHECK(!redis_client_ready(c)); /* dropped after three */
    t0 = now_ms();
    CHECK_INT(get_str(c, "k", &r), -1);
    CHECK(now_ms() - t0 < 50);
    run_until(NULL, 300); /* reconnects to a silent server: stays not ready */
    CHECK(!redis_client_ready(c));
    kill(pid, SIGCONT);
    CHECK(wait_ready(c, 6000));
    CHECK_INT(get_str(c, "k", &r), 1);
    redis_client_stats(c, &st);
    CHECK_INT(st.disconnects, 1);
    CHECK_INT(st.connects, 2);
    redis_client_free(c);
}

/* SIGKILL: answers -1 at once; restarted: back by itself. */
static pid_t test_kill_restart(int port, pid_t pid)
{
    struct redis_client *c = client(port, NULL, 0, "r:");
    struct result r, many[10];
    uint64_t t0, dt;
    int i;

    CHECK(c != NULL);
    if (!c)
        return pid;
    CHECK(wait_ready(c, 3000));
    redis_setex(c, "k", 1, "v", 1, 60);
    CHECK_INT(get_str(c, "k", &r), 1);
    server_kill(pid);
    for (i = 0; i < 3; i++) {
        t0 = now_ms();
        CHECK_INT(get_str(c, "k", &r), -1);
        dt = now_ms() - t0;
        CHECKF(dt <= TIMEOUT_MS + 100, "down answer took %llu ms", (unsigned long long)dt);
    }
    CHECK(!redis_client_ready(c));
    memset(many, 0, sizeof(many));
    for (i = 0; i < 10; i++)
        CHECK(redis_get(c, "k", 1, on_result, &many[i]) != NULL);
    run_until(&many[9].done, TIMEOUT_MS + 100);
    for (i = 0; i < 10; i++)
        CHECK(many[i].calls == 1 && many[i].found == -1);

    run_until(NULL, 300);
    pid = server_start(port, NULL);
    CHECK(pid > 0);
    t0 = now_ms();
    CHECK(wait_ready(c, 6000));
    CHECKF(now_ms() - t0 <= 6000, "reconnect took %llu ms", (unsigned long long)(now_ms() - t0));
    CHECK_INT(get_str(c, "k", &r), 0); /* a fresh server */
    redis_setex(c, "k", 1, "w", 1, 60);
    CHECK_INT(get_str(c, "k", &r), 1);
    redis_client_free(c);
    return pid;
}

/* ------------------------------------------------------------ a fake server */

/* Answers each chunk it reads with the next scripted reply; NULL = say
 * nothing. Enough to play a server that talks nonsense or not at all. */
struct fake {
    int lfd, cfd, port, step, closed_seen;
    const char *const *script;
    struct event *lev, *cev;
};

static void on_fake_read(evutil_socket_t fd, short what, void *arg)
{
    struct fake *f = arg;
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof(buf));

    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        f->closed_seen = 1;
        event_free(f->cev);
        f->cev = NULL;
        close(f->cfd);
        f->cfd = -1;
        return;
    }
    if (n > 0 && f->script && f->script[f->step]) {
        const char *s = f->script[f->step++];
        if (write(fd, s, strlen(s)) < 0)
            f->closed_seen = -1;
    }
}

static void on_fake_accept(evutil_socket_t fd, short what, void *arg)
{
    struct fake *f = arg;
    int cfd = accept(fd, NULL, NULL);

    if (cfd < 0)
        return;
    if (f->cfd >= 0) { /* one client at a time */
        close(cfd);
        return;
    }
    fcntl(cfd, F_SETFL, O_NONBLOCK);
    f->cfd = cfd;
    f->step = 0;
    f->cev = event_new(base, cfd, EV_READ | EV_PERSIST, on_fake_read, f);
    if (f->cev)
        event_add(f->cev, NULL);
}

static int fake_start(struct fake *f, const char *const *script)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int one = 1;

    memset(f, 0, sizeof(*f));
    f->cfd = -1;
    f->script = script;
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (f->lfd < 0)
        return -1;
    setsockopt(f->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(f->lfd, 16) != 0 ||
        getsockname(f->lfd, (struct sockaddr *)&sa, &len) != 0) {
        close(f->lfd);
        return -1;
    }
    f->port = ntohs(sa.sin_port);
    f->lev = event_new(base, f->lfd, EV_READ | EV_PERSIST, on_fake_accept, f);
    if (!f->lev) {
        close(f->lfd);
        return -1;
    }
    event_add(f->lev, NULL);
    return 0;
}

static void fake_stop(struct fake *f)
{
    if (f->cev)
        event_free(f->cev);
    if (f->cfd >= 0)
        close(f->cfd);
    event_free(f->lev);
    close(f->lfd);
}

static void test_garbage(void)
{
    static const char *const talker[] = {
        "+PONG\r\n",  ":42\r\n", "-ERR nope\r\n", "$3\r\nabc\r\n", "*1\r\n$1\r\nx\r\n",
        "!!junk\r\n", NULL
    };
    static const char *const wrong_pong[] = { "+HELLO\r\n", NULL };
    static const char *const silent[] = { NULL };
    /* hiredis 0.14 would abort on any of these replies nobody asked for */
    static const char *const extra_pong[] = { "+PONG\r\n+EXTRA\r\n", NULL };
    static const char *const extra_get[] = { "+PONG\r\n", "$1\r\nv\r\n", "$1\r\nv\r\n:1\r\n",
                                             NULL };
    struct fake f;
    struct redis_client *c;
    struct result r;
    uint64_t t0;

    /* wrong types and errors answer -1; a protocol error drops the line */
    if (fake_start(&f, talker) != 0) {
        CHECK(0);
        return;
    }
    c = client(f.port, NULL, 0, "");
    CHECK(wait_ready(c, 3000));
    CHECK_INT(get_str(c, "k", &r), -1);
    CHECK_INT(get_str(c, "k", &r), -1);
    CHECK_INT(get_str(c, "k", &r), 1);
    CHECK(r.len == 3 && memcmp(r.val, "abc", 3) == 0);
    CHECK_INT(get_str(c, "k", &r), -1);
    CHECK_INT(get_str(c, "k", &r), -1);
    CHECK(!redis_client_ready(c));
    redis_client_free(c);
    fake_stop(&f);

    /* a handshake answered wrongly: never ready */
    if (fake_start(&f, wrong_pong) != 0) {
        CHECK(0);
        return;
    }
    c = client(f.port, NULL, 0, "");
    run_until(&f.closed_seen, 1000);
    CHECK(f.closed_seen);
    CHECK(!redis_client_ready(c));
    redis_client_free(c);
    fake_stop(&f);

    /* an extra reply after the handshake: never ready, no abort */
    if (fake_start(&f, extra_pong) != 0) {
        CHECK(0);
        return;
    }
    c = client(f.port, NULL, 0, "");
    run_until(&f.closed_seen, 1000);
    CHECK(f.closed_seen);
    CHECK(!redis_client_ready(c));
    redis_client_free(c);
    fake_stop(&f);

    /* an extra reply behind a GET's, then one out of the blue */
    if (fake_start(&f, extra_get) != 0) {
        CHECK(0);
        return;
    }
    c = client(f.port, NULL, 0, "");
    CHECK(wait_ready(c, 3000));
    CHECK_INT(get_str(c, "k", &r), 1);
    CHECK_INT(get_str(c, "k", &r), -1);
    CHECK(!redis_client_ready(c));
    CHECK(f.closed_seen || run_until(&f.closed_seen, 1000));
    f.closed_seen = 0;
    CHECK(wait_ready(c, 3000)); /* reconnected: the script starts over */
    CHECK_INT(get_str(c, "k", &r), 1);
    CHECK(write(f.cfd, "+SURPRISE\r\n", 11) == 11);
    run_until(&f.closed_seen, 1000);
    CHECK(f.closed_seen);
    CHECK(!redis_client_ready(c));
    redis_client_free(c);
    fake_stop(&f);

    /* accepts, never answers: the connect deadline gives the attempt up */
    if (fake_start(&f, silent) != 0) {
        CHECK(0);
        return;
    }
    c = client(f.port, NULL, 0, "");
    t0 = now_ms();
    CHECK_INT(get_str(c, "k", &r), -1);
    run_until(&f.closed_seen, 2000);
    CHECK(f.closed_seen);
    CHECKF(now_ms() - t0 >= 900, "gave up after %llu ms", (unsigned long long)(now_ms() - t0));
    CHECK(!redis_client_ready(c));
    redis_client_free(c);
    fake_stop(&f);
}

/* A name, not an address, resolved once when the client is made. */
static void test_hostname(int port)
{
    struct redis_conf rc;
    struct redis_client *c;
    struct result r;

    memset(&rc, 0, sizeof(rc));
    rc.enabled = 1;
    rc.host = (char *)"localhost";
    rc.port = (uint16_t)port;
    rc.prefix = (char *)"h:";
    c = redis_client_new(base, &rc);
    CHECK(c != NULL);
    CHECK(wait_ready(c, 3000));
    CHECK_INT(get_str(c, "k", &r), 0);
    redis_client_free(c);
    CHECK(redis_client_ready(NULL) == 0);
    redis_client_free(NULL);
}

int main(void)
{
    int port, pport;
    pid_t pid, ppid;
    struct log_conf lc = { (char *)"off", (char *)"stderr",
                           getenv("TEST_VERBOSE") ? LOG_LEVEL_DEBUG : LOG_LEVEL_ERROR };
    char err[256];

    if (!in_path("redis-server")) {
        fprintf(stderr, "test_redis: redis-server not in PATH, skipped\n");
        return 77;
    }
    signal(SIGPIPE, SIG_IGN);
    alarm(60); /* a hang ends the run; PDEATHSIG takes the servers along */
    atexit(kill_all);
    log_open(&lc, err, sizeof(err));
    base = event_base_new();
    if (!base)
        return 1;

    port = free_port();
    pid = server_start(port, NULL);
    pport = free_port();
    ppid = server_start(pport, "s3cret pw");
    CHECK(pid > 0 && ppid > 0);
    if (pid > 0 && ppid > 0) {
        test_get_set(port);
        test_db(port);
        test_password(pport);
        test_no_server();
        test_cancel(port);
        test_free_pending(port);
        test_hostname(port);
        test_garbage();
        test_stalled(port, pid);
        pid = test_kill_restart(port, pid);
    }
    kill_all();
    run_until(NULL, 20);
    event_base_free(base);
    return unit_done("test_redis");
}
