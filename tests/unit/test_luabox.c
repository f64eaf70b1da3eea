/* test_luabox.c - the Lua sandbox: what code can and cannot reach (one
 * probe per escape route), the deadline against runaway loops (also ones
 * that try to catch it), the memory cap (exact and fallback), errors with
 * tracebacks and recovery, JSON and base64 helpers, events and results. */
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "luabox.h"
#include "unit.h"
#include "util.h"

/* luabox.c's switch for the GC-count fallback (tests only). */
void luabox_test_force_fallback(int on);

#define MB (1024u * 1024u)

static char log_path[] = "/tmp/test_luabox_log_XXXXXX";

/* A box running src, handler "handler", cap_mb MiB; NULL with a message
 * on failure (reported as a failed check). */
static struct luabox *box(const char *src, size_t cap_mb)
{
    struct luabox_spec spec = { .source = src,
                                .source_len = strlen(src),
                                .path = "t.lua",
                                .handler = "handler",
                                .memory_limit = cap_mb * MB,
                                .label = "test:1" };
    enum luabox_status st;
    char err[2048];
    struct luabox *b = luabox_new(&spec, now_us() + 2000000, &st, err, sizeof(err));

    CHECKF(b != NULL, "luabox_new: status %d: %s\n--- source:\n%s", (int)st, err, src);
    return b;
}

/* Calls b with event (JSON text, or NULL) and timeout_ms; returns the
 * status and sets *out (JSON text of the result, caller frees; NULL if none). */
static enum luabox_status call(struct luabox *b, const char *event, unsigned timeout_ms, char **out,
                               char *err, size_t errlen)
{
    struct luabox_call c = { .request_id = "req-123",
                             .function_name = "fn",
                             .function_version = "7",
                             .memory_mb = 16,
                             .deadline_us = now_us() + timeout_ms * 1000ull };
    json_t *ev = event ? json_loads(event, JSON_DECODE_ANY, NULL) : NULL;
    json_t *res = NULL;
    enum luabox_status st;

    if (event)
        CHECKF(ev != NULL, "bad test event %s", event);
    st = luabox_call(b, ev, &c, &res, err, errlen);
    json_decref(ev);
    *out = NULL;
    if (res) {
        *out = json_dumps(res, JSON_ENCODE_ANY | JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(res);
    }
    return st;
}

/* Runs "function handler(event, context) return EXPR end" and checks that
 * the result is the JSON want. */
static void expect(const char *name, const char *body, const char *event, const char *want)
{
    char src[4096], err[2048];
    struct luabox *b;
    char *out = NULL;
    enum luabox_status st;

    fmt_buf(src, sizeof(src), "function handler(event, context)\n%s\nend\n", body);
    b = box(src, 16);
    if (!b)
        return;
    st = call(b, event, 2000, &out, err, sizeof(err));
    CHECKF(st == LUABOX_OK, "%s: status %d: %s", name, (int)st, err);
    if (st == LUABOX_OK)
        CHECKF(out && strcmp(out, want) == 0, "%s: got %s, want %s", name, out ? out : "(none)",
               want);
    free(out);
    luabox_free(b);
}

/* ------------------------------------------------------------ escapes */

/* Each expression must be true inside the sandbox. */
static const struct {
    const char *name;
    const char *expr;
} probes[] = {
    { "no io", "io == nil" },
    { "no os.execute", "os.execute == nil" },
    { "no os.exit", "os.exit == nil and os.getenv == nil and os.remove == nil" },
    { "os.time/clock/date", "type(os.time()) == 'number' and type(os.clock()) == 'number' and "
                            "type(os.date('!%Y')) == 'string'" },
    { "no load family", "load == nil and loadstring == nil and loadfile == nil and dofile == nil" },
    { "no string.dump", "string.dump == nil" },
    { "no dump through the string metatable", "(''):len() == 0 and ('').dump == nil" },
    { "string metatable locked", "getmetatable('') == false" },
    { "string metatable cannot be replaced", "not pcall(setmetatable, '', {})" },
    { "no debug", "debug == nil" },
    { "no ffi", "ffi == nil" },
    { "no jit", "jit == nil" },
    { "no package", "package == nil and module == nil" },
    { "no getfenv/setfenv", "getfenv == nil and setfenv == nil" },
    { "no coroutine, no newproxy", "coroutine == nil and newproxy == nil and gcinfo == nil" },
    { "require io refused", "not pcall(require, 'io')" },
    { "require ffi refused", "not pcall(require, 'ffi')" },
    { "require debug refused", "not pcall(require, 'debug')" },
    { "require os refused", "not pcall(require, 'os')" },
    { "require of a file refused", "not pcall(require, 'lua.handlers.hello')" },
    { "require refusal says why",
      "select(2, pcall(require, 'io')):find('not available in the sandbox', 1, true) ~= nil" },
    { "require sluice", "require('sluice') == sluice and require('sluice.json') == sluice.json" },
    { "require string", "require('string') == string and require('bit') == bit" },
    { "collectgarbage stop refused", "not pcall(collectgarbage, 'stop')" },
    { "collectgarbage count", "type(collectgarbage('count')) == 'number'" },
    { "_G is the sandbox", "_G.string == string and _G._G == _G" },
    { "allowed base", "type(pairs) == 'function' and type(ipairs) == 'function' and "
                      "type(select) == 'function' and type(unpack) == 'function' and "
                      "type(tostring) == 'function' and type(rawget) == 'function'" },
    { "table, math, bit", "table.concat({1, 2}, ',') == '1,2' and math.floor(2.5) == 2 and "
                          "bit.band(6, 3) == 2" },
    { "no string.gfind alias or other extras", "string.gfind == nil" },
};

static void test_escapes(void)
{
    for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
        char body[1024];
        fmt_buf(body, sizeof(body), "return (%s) == true", probes[i].expr);
        expect(probes[i].name, body, NULL, "true");
    }
}

/* Globals set by the code (plainly, through _G, with rawset) land in the
 * box's environment; the state's real globals stay empty. */
static void test_real_globals(void)
{
    struct luabox *b = box("top = 1\n"
                           "function handler()\n"
                           "  x = 1; _G.y = 2; rawset(_G, 'z', 3)\n"
                           "  return x + y + z + top\n"
                           "end\n",
                           16);
    char err[512], *out = NULL;
    lua_State *L;
    int n = 0;

    if (!b)
        return;
    CHECK_INT(call(b, NULL, 1000, &out, err, sizeof(err)), LUABOX_OK);
    CHECK_STR(out, "7");
    free(out);
    L = luabox_lua(b);
    lua_pushnil(L);
    while (lua_next(L, LUA_GLOBALSINDEX)) {
        CHECKF(0, "the real globals hold %s",
               lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?");
        lua_pop(L, 1);
        n++;
    }
    CHECK_INT(n, 0);
    /* and a second call still sees its own globals (a warm state) */
    CHECK_INT(call(b, NULL, 1000, &out, err, sizeof(err)), LUABOX_OK);
    CHECK_STR(out, "7");
    free(out);
    luabox_free(b);
}

/* ------------------------------------------------------------ time */

static void expect_timeout(const char *name, const char *src)
{
    struct luabox *b = box(src, 16);
    char err[2048], *out = NULL;
    uint64_t t0;
    enum luabox_status st;

    if (!b)
        return;
    t0 = now_us();
    st = call(b, NULL, 100, &out, err, sizeof(err));
    CHECKF(st == LUABOX_TIMEOUT, "%s: status %d: %s", name, (int)st, err);
    /* stopped at all, long before the harness would give up */
    CHECKF(now_us() - t0 < 5000000, "%s: took %llu us", name, (unsigned long long)(now_us() - t0));
    CHECKF(strstr(err, "timed out") != NULL, "%s: message %s", name, err);
    CHECK(out == NULL);
    free(out);
    luabox_free(b);
}

static void test_timeouts(void)
{
    expect_timeout("empty loop", "function handler() while true do end end");
    expect_timeout("counting loop",
                   "function handler() local i = 0 while true do i = i + 1 end end");
    expect_timeout(
        "pcall swallowing",
        "function handler() while true do pcall(function() while true do end end) end end");
    expect_timeout("xpcall swallowing",
                   "function handler() while true do\n"
                   "  xpcall(function() while true do end end, function(e) return e end)\n"
                   "end end");
    expect_timeout("error handler looping",
                   "function handler() while true do\n"
                   "  xpcall(function() error('x') end, function(e) while true do end end)\n"
                   "end end");
    expect_timeout(
        "loop in a gsub callback",
        "function handler() return (('x'):gsub('x', function() while true do end end)) end");
    expect_timeout(
        "recursion in a sort comparator",
        "function handler() table.sort({3, 2, 1}, function(a, b) while true do end end) end");

    /* the top level has the same deadline when a state is made */
    {
        struct luabox_spec spec = { .source = "while true do end",
                                    .source_len = 17,
                                    .path = "top.lua",
                                    .handler = "handler",
                                    .memory_limit = 16 * MB };
        enum luabox_status st;
        char err[512];
        struct luabox *b = luabox_new(&spec, now_us() + 50000, &st, err, sizeof(err));
        CHECK(b == NULL);
        CHECK_INT(st, LUABOX_TIMEOUT);
        luabox_free(b);
    }
    /* remaining time is what is left of the call's timeout */
    expect("remaining time",
           "local r = context.get_remaining_time_in_millis()\n"
           "return r > 0 and r <= 2000",
           NULL, "true");
}

/* ------------------------------------------------------------ memory */

static void expect_memory(const char *name, const char *src)
{
    struct luabox *b = box(src, 8);
    char err[2048], *out = NULL;
    enum luabox_status st;

    if (!b)
        return;
    st = call(b, NULL, 5000, &out, err, sizeof(err));
    CHECKF(st == LUABOX_MEMORY, "%s: status %d: %s", name, (int)st, err);
    if (luabox_exact_memory())
        CHECKF(luabox_memory(b) <= 8 * MB + 256 * 1024, "%s: %zu bytes held", name,
               luabox_memory(b));
    free(out);
    luabox_free(b);
}

static const char *const hogs[][2] = {
    { "table of strings",
      "function handler() local t = {} for i = 1, 1e8 do t[i] = ('x'):rep(100) .. i end end" },
    { "one huge string", "function handler() return ('x'):rep(1e9) end" },
    { "doubling concat", "function handler() local s = 'x' while true do s = s .. s end end" },
    { "swallowed by pcall", "function handler() local t = {} while true do\n"
                            "  pcall(function() for i = 1, 1e6 do t[#t + 1] = {i} end end)\n"
                            "end end" },
    { "table.concat", "function handler() local t = {} for i = 1, 1e6 do t[i] = ('y'):rep(64) end\n"
                      "  return table.concat(t) end" },
};

static void test_memory(void)
{
    char err[512], *out = NULL;
    struct luabox *b;

    for (size_t i = 0; i < sizeof(hogs) / sizeof(hogs[0]); i++)
        expect_memory(hogs[i][0], hogs[i][1]);

    /* a top level that needs more than the cap fails to load */
    {
        const char *src = "big = ('z'):rep(20 * 1024 * 1024)\nfunction handler() end";
        struct luabox_spec spec = { .source = src,
                                    .source_len = strlen(src),
                                    .path = "big.lua",
                                    .handler = "handler",
                                    .memory_limit = 4 * MB };
        enum luabox_status st;
        CHECK(luabox_new(&spec, now_us() + 2000000, &st, err, sizeof(err)) == NULL);
        CHECK_INT(st, LUABOX_MEMORY);
    }

    /* garbage is collected: a call that makes 8 MiB of garbage again and
     * again under a 4 MiB cap keeps working */
    b = box("function handler() local s = 0 for i = 1, 2000 do s = s + #(('q'):rep(4096) .. i) end "
            "return s end",
            4);
    if (b) {
        for (int i = 0; i < 5; i++) {
            enum luabox_status st = call(b, NULL, 5000, &out, err, sizeof(err));
            CHECKF(st == LUABOX_OK, "garbage run %d: status %d: %s", i, (int)st, err);
            free(out);
        }
        luabox_free(b);
    }

    /* the fallback: the hook watches the GC's count */
    luabox_test_force_fallback(1);
    CHECK(!luabox_exact_memory());
    expect_memory("fallback: table of strings", hogs[0][1]);
    /* (not the doubling concat: 31 concatenations are fewer instructions
     * than one hook interval, so under the soft cap that one reaches
     * LuaJIT's 2 GiB string limit first: see luabox.c) */
    expect("fallback: ordinary call", "return 1 + 1", NULL, "2");
    luabox_test_force_fallback(0);
    CHECK(luabox_exact_memory());
}

/* ------------------------------------------------------------ errors */

static void test_errors(void)
{
    struct luabox *b;
    char err[2048], *out = NULL;
    enum luabox_status st;
    static const char src[] = "local function inner(x)\n"
                              "  if x.fail then error('boom: ' .. x.fail) end\n" /* line 2 */
                              "  return {ok = true}\n"
                              "end\n"
                              "function handler(event)\n"
                              "  if event.bad_result then return function() end end\n"
                              "  return inner(event)\n"
                              "end\n";

    b = box(src, 16);
    if (!b)
        return;
    st = call(b, "{\"fail\": \"now\"}", 1000, &out, err, sizeof(err));
    CHECK_INT(st, LUABOX_ERROR);
    CHECKF(strstr(err, "t.lua:2: boom: now") != NULL, "message: %s", err);
    CHECKF(strstr(err, "stack traceback:") != NULL, "no traceback: %s", err);
    CHECK(strchr(err, '\n') == NULL);
    CHECK(out == NULL);
    /* a failed box refuses further calls */
    CHECK_INT(call(b, "{}", 1000, &out, err, sizeof(err)), LUABOX_INTERNAL);
    CHECKF(strstr(err, "cannot be called again") != NULL, "message: %s", err);
    free(out);
    luabox_free(b);

    /* a fresh box after the failed one works */
    b = box(src, 16);
    if (!b)
        return;
    st = call(b, "{}", 1000, &out, err, sizeof(err));
    CHECK_INT(st, LUABOX_OK);
    CHECK_STR(out, "{\"ok\":true}");
    free(out);

    /* a result JSON cannot hold: the box stays usable */
    st = call(b, "{\"bad_result\": true}", 1000, &out, err, sizeof(err));
    CHECK_INT(st, LUABOX_BAD_RESULT);
    CHECKF(strstr(err, "cannot convert a function") != NULL, "message: %s", err);
    st = call(b, "{}", 1000, &out, err, sizeof(err));
    CHECK_INT(st, LUABOX_OK);
    free(out);
    luabox_free(b);

    /* runaway recursion: Lua's stack limit (or the cap), then a fresh box */
    b = box("local function f(n) return 1 + f(n + 1) end\nfunction handler() return f(1) end", 16);
    if (b) {
        st = call(b, NULL, 2000, &out, err, sizeof(err));
        CHECKF(st == LUABOX_ERROR || st == LUABOX_MEMORY, "recursion: status %d: %s", (int)st, err);
        CHECKF(strstr(err, "stack overflow") != NULL || st == LUABOX_MEMORY, "recursion: %s", err);
        luabox_free(b);
    }

    /* error objects that are not strings */
    b = box("function handler() error({code = 1}) end", 16);
    if (b) {
        CHECK_INT(call(b, NULL, 1000, &out, err, sizeof(err)), LUABOX_ERROR);
        CHECKF(strstr(err, "error object is a table value") != NULL, "message: %s", err);
        luabox_free(b);
    }
}

static void test_loading(void)
{
    char err[512];
    enum luabox_status st;
    struct luabox_spec spec = { .path = "x.lua", .handler = "handler", .memory_limit = 16 * MB };
    struct luabox *b;

    /* syntax errors name the file and line */
    CHECK(luabox_check("local x = 1\nfunction (\n", 23, "dir/x.lua", err, sizeof(err)) < 0);
    CHECKF(strstr(err, "dir/x.lua:2:") != NULL, "message: %s", err);
    CHECK(luabox_check("return 1", 8, "ok.lua", err, sizeof(err)) == 0);
    /* a shebang line is skipped and lines still count from it */
    CHECK(luabox_check("#!/usr/bin/luajit\nreturn 1", 26, "sb.lua", err, sizeof(err)) == 0);
    CHECK(luabox_check("#!/usr/bin/luajit\n)", 19, "sb.lua", err, sizeof(err)) < 0);
    CHECKF(strstr(err, "sb.lua:2:") != NULL, "message: %s", err);
    /* bytecode is refused: LuaJIT does not verify it */
    CHECK(luabox_check("\033LJ\002\000", 5, "bc.lua", err, sizeof(err)) < 0);
    CHECKF(strstr(err, "bc.lua: precompiled bytecode is not accepted") != NULL, "message: %s", err);
    /* and a box refuses it too (mode "t") */
    spec.source = "\033LJ\002\000";
    spec.source_len = 5;
    CHECK(luabox_new(&spec, 0, &st, err, sizeof(err)) == NULL);
    CHECK_INT(st, LUABOX_ERROR);

    /* no handler function */
    spec.source = "x = 1";
    spec.source_len = 5;
    b = luabox_new(&spec, 0, &st, err, sizeof(err));
    CHECK(b == NULL);
    CHECK_INT(st, LUABOX_ERROR);
    CHECKF(strstr(err, "no function 'handler'") != NULL, "message: %s", err);
    /* the top level raising */
    spec.source = "error('at load')";
    spec.source_len = strlen(spec.source);
    CHECK(luabox_new(&spec, 0, &st, err, sizeof(err)) == NULL);
    CHECK_INT(st, LUABOX_ERROR);
    CHECKF(strstr(err, "x.lua:1: at load") != NULL, "message: %s", err);
    /* module style: the handler is a field of the returned table; another name */
    spec.source = "local M = {}\nfunction M.go(e) return 'module' end\nreturn M";
    spec.source_len = strlen(spec.source);
    spec.handler = "go";
    b = luabox_new(&spec, 0, &st, err, sizeof(err));
    CHECKF(b != NULL, "module style: %s", err);
    if (b) {
        char *out = NULL;
        CHECK_INT(call(b, NULL, 1000, &out, err, sizeof(err)), LUABOX_OK);
        CHECK_STR(out, "\"module\"");
        free(out);
        luabox_free(b);
    }
    luabox_free(NULL);
}

/* ------------------------------------------------------------ data */

static void test_event_and_result(void)
{
    /* null members of the event read as nil; arrays keep their order */
    expect("null is nil", "return event.body == nil and event.q == nil and #event.list == 3",
           "{\"body\": null, \"q\": null, \"list\": [1, \"a\", true]}", "true");
    expect("event fields", "return {m = event.requestContext.http.method, n = event.n}",
           "{\"requestContext\": {\"http\": {\"method\": \"POST\"}}, \"n\": 1.5}",
           "{\"m\":\"POST\",\"n\":1.5}");
    expect("context",
           "return {context.request_id, context.function_name, "
           "context.function_version, context.memory_limit_in_mb}",
           NULL, "[\"req-123\",\"fn\",\"7\",16]");
    expect("integers stay integers", "return {statusCode = 200, x = 2^53, y = 0.5}", NULL,
           "{\"statusCode\":200,\"x\":9007199254740992.0,\"y\":0.5}");
    expect("nil result", "return nil", NULL, "null");
    expect("string result", "return 'hi'", NULL, "\"hi\"");
    expect("empty table is an object", "return {}", NULL, "{}");
    expect("empty event array stays an array", "return event.a", "{\"a\": []}", "[]");
    expect("number keys of a mixed table", "return {[1] = 'a', b = 'c'}", NULL,
           "{\"1\":\"a\",\"b\":\"c\"}");
}

static void test_json_helpers(void)
{
    expect("encode", "return sluice.json.encode({1, 2, {a = 'b'}})", NULL,
           "\"[1,2,{\\\"a\\\":\\\"b\\\"}]\"");
    expect("decode",
           "local v = sluice.json.decode('{\"a\": [1, null, \"x\"], \"b\": false}')\n"
           "return v.a[1] == 1 and v.a[2] == sluice.json.null and v.a[3] == 'x' and "
           "v.b == false",
           NULL, "true");
    expect("round trip", "return sluice.json.decode(sluice.json.encode({k = {1.25, 'v'}}))", NULL,
           "{\"k\":[1.25,\"v\"]}");
    expect("null encodes", "return sluice.json.encode(sluice.json.null)", NULL, "\"null\"");
    expect("array marker", "return sluice.json.encode(sluice.json.array({}))", NULL, "\"[]\"");
    expect("decode scalar", "return sluice.json.decode('12')", NULL, "12");
    expect("invalid JSON",
           "local v, e = sluice.json.decode('{') return v == nil and "
           "e:find('invalid JSON', 1, true) ~= nil",
           NULL, "true");
    expect("cycle refused", "local t = {} t.t = t return not pcall(sluice.json.encode, t)", NULL,
           "true");
    expect("function refused",
           "return (select(2, pcall(sluice.json.encode, {f = print})))"
           ":find('cannot convert a function', 1, true) ~= nil",
           NULL, "true");
    expect("bad UTF-8 refused", "return not pcall(sluice.json.encode, '\\255')", NULL, "true");
    expect("NaN refused", "return not pcall(sluice.json.encode, 0/0)", NULL, "true");
    expect("unicode", "return sluice.json.decode('\"\\\\u00e9\"') == '\\195\\169'", NULL, "true");
}

static void test_base64(void)
{
    /* RFC 4648 section 10 */
    static const char *const v[][2] = {
        { "", "" },
        { "f", "Zg==" },
        { "fo", "Zm8=" },
        { "foo", "Zm9v" },
        { "foob", "Zm9vYg==" },
        { "fooba", "Zm9vYmE=" },
        { "foobar", "Zm9vYmFy" },
    };
    char body[512], want[64];

    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        fmt_buf(body, sizeof(body),
                "return {sluice.base64.encode('%s'), sluice.base64.decode('%s')}", v[i][0],
                v[i][1]);
        fmt_buf(want, sizeof(want), "[\"%s\",\"%s\"]", v[i][1], v[i][0]);
        expect(v[i][0], body, NULL, want);
    }
    expect("binary round trip",
           "local s = '' for i = 0, 255 do s = s .. string.char(i) end\n"
           "return sluice.base64.decode(sluice.base64.encode(s)) == s",
           NULL, "true");
    expect("long input",
           "local s = ('ab'):rep(5000) return #sluice.base64.encode(s) == 13336 and "
           "sluice.base64.decode(sluice.base64.encode(s)) == s",
           NULL, "true");
    expect("no padding accepted", "return sluice.base64.decode('Zm8')", NULL, "\"fo\"");
    expect("bad character", "return sluice.base64.decode('Zm9v!') == nil", NULL, "true");
    expect("bad padding",
           "return sluice.base64.decode('Zg=') == nil and "
           "sluice.base64.decode('Z===') == nil and sluice.base64.decode('Zg==Zg==') == nil",
           NULL, "true");
}

static void test_log(void)
{
    struct log_conf lc = { .access = "off", .error = log_path, .level = LOG_LEVEL_INFO };
    char err[256], buf[8192];
    FILE *f;
    size_t n;
    int fd = mkstemp(log_path);

    CHECK(fd >= 0);
    if (fd < 0)
        return;
    close(fd);
    CHECK(log_open(&lc, err, sizeof(err)) == 0);
    expect("sluice.log", "sluice.log('warn', 'hello\\nworld') print('printed', 42, nil) return 1",
           NULL, "1");
    expect("bad level", "return not pcall(sluice.log, 'loud', 'x')", NULL, "true");
    lc.error = "stderr";
    log_open(&lc, err, sizeof(err));
    f = fopen(log_path, "r");
    CHECK(f != NULL);
    if (!f)
        return;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    unlink(log_path);
    CHECKF(strstr(buf, "[warn] lua test:1: request req-123: hello | world") != NULL, "log: %s",
           buf);
    CHECKF(strstr(buf, "[info] lua test:1: request req-123: printed 42 nil") != NULL, "log: %s",
           buf);
}

int main(void)
{
    test_escapes();
    test_real_globals();
    test_timeouts();
    test_memory();
    test_errors();
    test_loading();
    test_event_and_result();
    test_json_helpers();
    test_base64();
    test_log();
    return unit_done("test_luabox");
}
