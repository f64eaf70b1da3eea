/* lua_bench.c - what the Lua sandbox costs, measured on luabox.c directly
 * (no HTTP): the cold start of a function (a new state, the file loaded,
 * its top level run), a warm call of a trivial handler with a small event
 * (JSON in and out included), and a CPU-bound loop in a sandbox state
 * (interpreter only, count hook armed) against plain LuaJIT states with
 * the compiler on and off. Built and run by `make bench-lua`; prints
 * figures, asserts nothing. Argument: a Lua file for the cold start
 * (default: lua/handlers/hello.lua of the source tree). */
#include <lauxlib.h>
#include <lua.h>
#include <luajit.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "luabox.h"
#include "util.h"

#define MB (1024u * 1024u)

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n + 1)) != NULL) {
        *len = fread(buf, 1, (size_t)n, f);
        buf[*len] = '\0';
    }
    fclose(f);
    return buf;
}

static void cold_starts(const char *path)
{
    enum { N = 2000 };
    static uint64_t ns[N];
    size_t len = 0, mem = 0;
    char *src = read_all(path, &len);
    struct luabox_spec spec = { .source = src,
                                .source_len = len,
                                .path = path,
                                .handler = "handler",
                                .memory_limit = 128 * MB,
                                .label = "bench:1" };
    enum luabox_status st;
    char err[512];

    if (!src) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(1);
    }
    for (int i = 0; i < N; i++) {
        uint64_t t0 = now_ns();
        struct luabox *b = luabox_new(&spec, 0, &st, err, sizeof(err));
        ns[i] = now_ns() - t0;
        if (!b) {
            fprintf(stderr, "luabox_new: %s\n", err);
            exit(1);
        }
        mem = luabox_memory(b);
        luabox_free(b);
    }
    qsort(ns, N, sizeof(ns[0]), cmp_u64);
    printf("cold start (%s): median %.1f us, p90 %.1f us, p99 %.1f us; state holds %zu KiB\n", path,
           ns[N / 2] / 1e3, ns[N * 9 / 10] / 1e3, ns[N * 99 / 100] / 1e3, mem / 1024);
    free(src);
}

static void warm_calls(void)
{
    enum { N = 200000 };
    static const char src[] = "function handler(event, context)\n"
                              "  return {statusCode = 200, body = 'hello ' .. event.rawPath}\n"
                              "end\n";
    struct luabox_spec spec = { .source = src,
                                .source_len = sizeof(src) - 1,
                                .path = "t.lua",
                                .handler = "handler",
                                .memory_limit = 128 * MB };
    struct luabox_call c = {
        .request_id = "r", .function_name = "f", .function_version = "1", .memory_mb = 128
    };
    json_t *ev = json_pack("{s:s, s:s, s:s, s:{s:s, s:s}, s:{s:{s:s, s:s}}, s:b}", "version", "2.0",
                           "routeKey", "GET /hello", "rawPath", "/hello", "headers", "host",
                           "localhost", "user-agent", "bench", "requestContext", "http", "method",
                           "GET", "path", "/hello", "isBase64Encoded", 0);
    enum luabox_status st;
    char err[512];
    struct luabox *b = luabox_new(&spec, 0, &st, err, sizeof(err));
    uint64_t t0;

    if (!b || !ev) {
        fprintf(stderr, "setup: %s\n", err);
        exit(1);
    }
    t0 = now_ns();
    for (int i = 0; i < N; i++) {
        json_t *res = NULL;
        c.deadline_us = now_us() + 1000000;
        if (luabox_call(b, ev, &c, &res, err, sizeof(err)) != LUABOX_OK) {
            fprintf(stderr, "call: %s\n", err);
            exit(1);
        }
        json_decref(res);
    }
    printf("warm call (a 9-field event in, a 2-field result out): %.2f us per call\n",
           (now_ns() - t0) / 1e3 / N);
    json_decref(ev);
    luabox_free(b);
}

static const char *const loops[][2] = {
    { "arithmetic loop", "local s = 0 for i = 1, 30000000 do s = s + i % 7 end return s" },
    { "strings and tables",
      "local t = {} for i = 1, 300000 do t[#t + 1] = string.format('%d:%s', i, 'x') end "
      "local n = 0 for w in table.concat(t, ','):gmatch('[^,]+') do n = n + #w end return n" },
};

/* Seconds for code in a plain state: jit 1 = luaL_openlibs (compiler on). */
static double plain(const char *code, int jit)
{
    lua_State *L = luaL_newstate();
    uint64_t t0;

    luaL_openlibs(L);
    if (!jit)
        luaJIT_setmode(L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);
    t0 = now_ns();
    if (luaL_dostring(L, code) != 0)
        fprintf(stderr, "plain: %s\n", lua_tostring(L, -1));
    lua_close(L);
    return (now_ns() - t0) / 1e9;
}

static double sandboxed(const char *code)
{
    char src[1024];
    struct luabox_spec spec = {
        .source = src, .path = "loop.lua", .handler = "handler", .memory_limit = 512 * MB
    };
    struct luabox_call c = { .request_id = "r", .memory_mb = 512 };
    enum luabox_status st;
    char err[512];
    struct luabox *b;
    json_t *res = NULL;
    uint64_t t0;

    spec.source_len = (size_t)fmt_buf(src, sizeof(src), "function handler() %s end", code);
    b = luabox_new(&spec, 0, &st, err, sizeof(err));
    if (!b) {
        fprintf(stderr, "sandbox: %s\n", err);
        exit(1);
    }
    c.deadline_us = now_us() + 60000000;
    t0 = now_ns();
    if (luabox_call(b, NULL, &c, &res, err, sizeof(err)) != LUABOX_OK)
        fprintf(stderr, "sandbox call: %s\n", err);
    json_decref(res);
    luabox_free(b);
    return (now_ns() - t0) / 1e9;
}

static void loop_costs(void)
{
    for (size_t i = 0; i < sizeof(loops) / sizeof(loops[0]); i++) {
        double best[3] = { 1e9, 1e9, 1e9 };
        for (int r = 0; r < 3; r++) {
            double v;
            if ((v = plain(loops[i][1], 1)) < best[0])
                best[0] = v;
            if ((v = plain(loops[i][1], 0)) < best[1])
                best[1] = v;
            if ((v = sandboxed(loops[i][1])) < best[2])
                best[2] = v;
        }
        printf("%-19s JIT on %.3f s, JIT off %.3f s (x%.2f), sandbox: JIT off + hook %.3f s "
               "(x%.2f of JIT on)\n",
               loops[i][0], best[0], best[1], best[1] / best[0], best[2], best[2] / best[0]);
    }
}

int main(int argc, char **argv)
{
    const char *file = argc > 1 ? argv[1] : SLUICE_SRCDIR "/lua/handlers/hello.lua";

    cold_starts(file);
    warm_calls();
    loop_costs();
    return 0;
}
