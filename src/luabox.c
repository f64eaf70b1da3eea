/* luabox.c - a sandboxed LuaJIT state per function call slot.
 *
 * Limits, and why they hold:
 * - Time: a count hook every LUABOX_HOOK_COUNT VM instructions compares
 *   the clock with the call's deadline and raises an error once it is
 *   past. LuaJIT calls hooks from the interpreter only: a loop compiled to
 *   machine code never sees one (measured: a `while true do end` under
 *   luaL_openlibs ran past its deadline forever once traced). Boxes never
 *   open the jit library, which is what switches the compiler on in
 *   LuaJIT 2.1, and turn the engine off with luaJIT_setmode() as well.
 *   Once past the deadline every hook raises again, and pcall/xpcall are
 *   sluice's own versions that re-raise, so Lua code cannot catch its way
 *   out. Left unbounded: a single C function running long on one call
 *   (a pathological string.find pattern over a large string); its input
 *   is bounded by the memory cap.
 * - Memory: lua_newstate() with an allocator that counts every byte the
 *   state holds and refuses growth past the cap (LuaJIT 2.1 in GC64 mode,
 *   as Debian's amd64 build is, takes custom allocators; the non-GC64 x64
 *   build refuses them). The refusal is an ordinary "not enough memory"
 *   Lua error, the state is marked doomed and the call fails. Garbage not
 *   yet collected counts too: the cap is on what the process really holds.
 *   When a LuaJIT refuses the allocator, boxes fall back to luaL_newstate()
 *   and the hook compares the GC's count with the cap: a soft cap, which a
 *   state can overshoot by what it allocates in LUABOX_HOOK_COUNT
 *   instructions or in one C call (string.rep) before the next check.
 * - Reach: the code runs in an environment table of its own that holds
 *   only allow-listed functions (luabox.h); the state's real globals are
 *   emptied once the environment is built, and the string metatable (the
 *   one shared table every string reaches) is locked and points at the
 *   sandbox's string table.
 *
 * Every Lua API call that may allocate runs inside lua_cpcall or a
 * protected call: an error outside one would end in LuaJIT's panic, that
 * is exit(). C memory (jansson values) that a Lua error could strand is
 * only held across protected calls that free it when they fail. */
#include "luabox.h"

#include <lauxlib.h>
#include <lua.h>
#include <luajit.h>
#include <lualib.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "luabox_internal.h"
#include "util.h"

/* VM instructions between two deadline checks. The hook's cost does not
 * depend on it (in hook mode the interpreter counts every instruction
 * anyway, measured: +30 % on a tight arithmetic loop, +0 % on string and
 * table work, for 1,000 and 1,000,000 alike); 10,000 instructions take
 * tens of microseconds, the precision a timeout needs. */
#define LUABOX_HOOK_COUNT 10000
/* Bytes past the cap allowed while the message handler builds a traceback:
 * a call that failed at its cap still gets its error message. */
#define LUABOX_ERR_HEADROOM (256 * 1024)

_Thread_local struct luabox *luabox_running;

/* 1 once a lua_newstate() with our allocator failed: later boxes go
 * straight to the fallback (a failing attempt may leak, LuaJIT #1393). */
static atomic_int alloc_refused;
/* Tests only: force the fallback. */
static atomic_int force_fallback;

/* ------------------------------------------------------------ allocator */

static void *box_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct luabox *b = ud;
    size_t old = ptr ? osize : 0;
    void *q;

    if (nsize == 0) {
        free(ptr);
        b->used -= old;
        return NULL;
    }
    if (nsize > old) {
        size_t cap = b->limit + (b->headroom ? LUABOX_ERR_HEADROOM : 0);
        if (b->used - old + nsize > cap) {
            if (!b->doomed)
                b->doomed = LUABOX_MEMORY;
            return NULL;
        }
    }
    q = realloc(ptr, nsize);
    if (!q) {
        if (nsize <= old)
            return ptr; /* a shrink that failed: the old block still fits */
        return NULL;    /* the process is out of memory: a Lua error */
    }
    b->used = b->used - old + nsize;
    return q;
}

static int box_panic(lua_State *L)
{
    /* Unreachable by design (everything runs protected); LuaJIT exits
     * after this returns, so at least say why. */
    const char *m = lua_tostring(L, -1);
    log_error("lua: unprotected error, exiting: %s", m ? m : "?");
    return 0;
}

/* ------------------------------------------------------------ hook */

static void box_hook(lua_State *L, lua_Debug *ar)
{
    struct luabox *b = luabox_running;

    (void)ar;
    if (!b)
        return;
    if (!b->doomed && !b->exact &&
        (size_t)lua_gc(L, LUA_GCCOUNT, 0) * 1024u + (size_t)lua_gc(L, LUA_GCCOUNTB, 0) > b->limit)
        b->doomed = LUABOX_MEMORY;
    if (!b->doomed && b->deadline_us && now_us() >= b->deadline_us)
        b->doomed = LUABOX_TIMEOUT;
    if (b->doomed == LUABOX_TIMEOUT)
        luaL_error(L, "timed out");
    else if (b->doomed)
        luaL_error(L, "memory limit reached");
}

/* ------------------------------------------------------------ messages */

/* Copies s into out (capacity cap, terminated), newlines as " | ", tabs
 * as spaces (dropped at the start of a line) and other control bytes as
 * '?', so that a traceback stays one log line. */
void luabox_fold_lines(char *out, size_t cap, const char *s, size_t len)
{
    size_t o = 0;

    if (cap == 0)
        return;
    for (size_t i = 0; i < len && o + 1 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\t') {
            if (o >= 3 && memcmp(out + o - 3, " | ", 3) == 0)
                continue;
            c = ' ';
        }
        if (c == '\n') {
            if (o + 4 >= cap)
                break;
            memcpy(out + o, " | ", 3);
            o += 3;
            continue;
        }
        out[o++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    out[o] = '\0';
}

/* Puts p in front of the text in err (capacity errlen), cutting its end. */
static void prefix(char *err, size_t errlen, const char *p)
{
    size_t pl = strlen(p), el = strlen(err);

    if (errlen <= pl + 1)
        return;
    if (el > errlen - pl - 1)
        el = errlen - pl - 1;
    memmove(err + pl, err, el);
    memcpy(err, p, pl);
    err[pl + el] = '\0';
}

/* The error value at the top of L into err, folded. */
static void take_error(lua_State *L, char *err, size_t errlen)
{
    size_t len;
    const char *m = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;

    if (m)
        luabox_fold_lines(err, errlen, m, len);
    else
        fmt_buf(err, errlen, "(error object is a %s value)", luaL_typename(L, -1));
}

/* The message handler of every protected call of Lua code: the message
 * with a traceback. Runs with headroom over the cap so that a call which
 * failed at its cap still explains itself. */
static int box_msgh(lua_State *L)
{
    struct luabox *b = luabox_running;
    const char *msg;

    if (b)
        b->headroom = 1;
    if (lua_type(L, 1) == LUA_TSTRING || lua_type(L, 1) == LUA_TNUMBER)
        msg = lua_tostring(L, 1);
    else
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    luaL_traceback(L, L, msg, 1);
    return 1;
}

/* ------------------------------------------------------------ base replacements */

/* print(...): the arguments, tab-separated, as an info line (Lambda sends
 * a function's stdout to its log the same way). Upvalue 1: tostring. */
static int l_print(lua_State *L)
{
    int n = lua_gettop(L);
    luaL_Buffer buf;
    size_t len;
    const char *s;

    luaL_buffinit(L, &buf);
    for (int i = 1; i <= n; i++) {
        /* the separator first: luaL_addvalue wants the value on top */
        if (i > 1)
            luaL_addchar(&buf, '\t');
        lua_pushvalue(L, lua_upvalueindex(1));
        lua_pushvalue(L, i);
        lua_call(L, 1, 1);
        if (!lua_isstring(L, -1))
            return luaL_error(L, "'tostring' must return a string to 'print'");
        luaL_addvalue(&buf);
    }
    luaL_pushresult(&buf);
    s = lua_tolstring(L, -1, &len);
    luabox_log(luabox_running, LOG_LEVEL_INFO, s, len);
    return 0;
}

static int box_is_doomed(void)
{
    return luabox_running && luabox_running->doomed;
}

/* pcall(f, ...): as Lua's, except that a timeout or the memory cap goes
 * on up: the call is over, whatever the code wanted. */
static int l_pcall(lua_State *L)
{
    int st;

    luaL_checkany(L, 1);
    st = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
    if (box_is_doomed())
        return lua_error(L);
    luaL_checkstack(L, 1, NULL);
    lua_pushboolean(L, st == 0);
    lua_insert(L, 1);
    return lua_gettop(L);
}

/* xpcall(f, msgh, ...): same rule. */
static int l_xpcall(lua_State *L)
{
    int st, n = lua_gettop(L);

    luaL_checktype(L, 2, LUA_TFUNCTION);
    /* [f, msgh, args...] -> [msgh, f, args...] */
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 2);
    lua_replace(L, 1);
    lua_replace(L, 2);
    st = lua_pcall(L, n - 2, LUA_MULTRET, 1);
    if (box_is_doomed())
        return lua_error(L);
    lua_pushboolean(L, st == 0);
    lua_replace(L, 1);
    return lua_gettop(L);
}

/* collectgarbage("count"|"collect"|"step"): the harmless options; "stop"
 * and the tuning ones would only let a state hit its cap sooner. */
static int l_collectgarbage(lua_State *L)
{
    static const char *const opts[] = { "collect", "count", "step", NULL };
    int o = luaL_checkoption(L, 1, "collect", opts);

    switch (o) {
    case 1:
        lua_pushnumber(L, lua_gc(L, LUA_GCCOUNT, 0) + lua_gc(L, LUA_GCCOUNTB, 0) / 1024.0);
        return 1;
    case 2:
        lua_pushboolean(L, lua_gc(L, LUA_GCSTEP, (int)luaL_optinteger(L, 2, 0)));
        return 1;
    default:
        lua_gc(L, LUA_GCCOLLECT, 0);
        lua_pushinteger(L, 0);
        return 1;
    }
}

/* require(name): the helper module and the libraries the box already has,
 * nothing from files. Upvalue 1: name -> module. */
static int l_require(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);

    lua_settop(L, 1);
    lua_rawget(L, lua_upvalueindex(1));
    if (lua_isnil(L, -1))
        return luaL_error(L,
                          "module '%s' is not available in the sandbox (there are sluice, "
                          "sluice.json, sluice.base64, string, table, math, bit)",
                          name);
    return 1;
}

/* context.get_remaining_time_in_millis() */
static int l_remaining(lua_State *L)
{
    struct luabox *b = luabox_running;
    uint64_t now, left_ms;

    if (!b || !b->call || !b->call->deadline_us) {
        lua_pushnumber(L, HUGE_VAL);
        return 1;
    }
    now = now_us();
    left_ms = now >= b->call->deadline_us ? 0 : (b->call->deadline_us - now) / 1000;
    lua_pushnumber(L, (lua_Number)left_ms);
    return 1;
}

/* ------------------------------------------------------------ building the sandbox */

/* Copies the listed fields of the table at src into a new table, pushed. */
static void copy_fields(lua_State *L, int src, const char *const *names)
{
    lua_newtable(L);
    for (; *names; names++) {
        lua_getfield(L, src, *names);
        lua_setfield(L, -2, *names);
    }
}

/* Opens a standard library (through lua_call, as Lua 5.1 wants) and
 * leaves its table on the stack. */
static void open_lib(lua_State *L, lua_CFunction open, const char *name)
{
    lua_pushcfunction(L, open);
    lua_pushstring(L, name);
    lua_call(L, 1, 1);
}

/* Builds the environment table and leaves it on the stack; fills the
 * registry references of b. */
static void build_env(lua_State *L, struct luabox *b)
{
    static const char *const base_names[] = {
        "assert",   "error",  "ipairs", "next",         "pairs",        "rawequal",
        "rawget",   "rawset", "select", "getmetatable", "setmetatable", "tonumber",
        "tostring", "type",   "unpack", "_VERSION",     NULL,
    };
    static const char *const string_names[] = { "byte",    "char", "find",  "format", "gmatch",
                                                "gsub",    "len",  "lower", "match",  "rep",
                                                "reverse", "sub",  "upper", NULL };
    static const char *const table_names[] = { "concat", "insert", "maxn", "remove", "sort", NULL };
    static const char *const math_names[] = {
        "abs",        "acos", "asin",  "atan", "atan2", "ceil", "cos",   "cosh",
        "deg",        "exp",  "floor", "fmod", "frexp", "huge", "ldexp", "log",
        "log10",      "max",  "min",   "modf", "pi",    "pow",  "rad",   "random",
        "randomseed", "sin",  "sinh",  "sqrt", "tan",   "tanh", NULL,
    };
    static const char *const bit_names[] = { "tobit", "tohex",  "bnot",   "band",    "bor",
                                             "bxor",  "lshift", "rshift", "arshift", "rol",
                                             "ror",   "bswap",  NULL };
    static const char *const os_names[] = { "time", "clock", "date", NULL };
    int env;

    lua_newtable(L);
    env = lua_gettop(L);

    /* base: opened into the real globals, copied from there */
    open_lib(L, luaopen_base, "");
    lua_pop(L, 1);
    lua_pushvalue(L, LUA_GLOBALSINDEX);
    {
        int g = lua_gettop(L);
        for (const char *const *n = base_names; *n; n++) {
            lua_getfield(L, g, *n);
            lua_setfield(L, env, *n);
        }
        lua_getfield(L, g, "tostring");
        lua_pushcclosure(L, l_print, 1);
        lua_setfield(L, env, "print");
    }
    lua_pop(L, 1);
    lua_pushcfunction(L, l_pcall);
    lua_setfield(L, env, "pcall");
    lua_pushcfunction(L, l_xpcall);
    lua_setfield(L, env, "xpcall");
    lua_pushcfunction(L, l_collectgarbage);
    lua_setfield(L, env, "collectgarbage");
    lua_pushvalue(L, env);
    lua_setfield(L, env, "_G");

    /* string: a copy without dump; the string metatable (reachable from
     * any string) is pointed at the copy and locked */
    open_lib(L, luaopen_string, LUA_STRLIBNAME);
    copy_fields(L, lua_gettop(L), string_names);
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    lua_pushvalue(L, -3);
    lua_setfield(L, -2, "__index");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 2);
    lua_setfield(L, env, "string");
    lua_pop(L, 1);

    open_lib(L, luaopen_table, LUA_TABLIBNAME);
    copy_fields(L, lua_gettop(L), table_names);
    lua_setfield(L, env, "table");
    lua_pop(L, 1);

    open_lib(L, luaopen_math, LUA_MATHLIBNAME);
    copy_fields(L, lua_gettop(L), math_names);
    /* states created together must not share a random sequence */
    lua_getfield(L, -1, "randomseed");
    lua_pushnumber(L, (lua_Number)((now_us() ^ (uintptr_t)b) & 0x7fffffff));
    lua_call(L, 1, 0);
    lua_setfield(L, env, "math");
    lua_pop(L, 1);

    open_lib(L, luaopen_bit, LUA_BITLIBNAME);
    copy_fields(L, lua_gettop(L), bit_names);
    lua_setfield(L, env, "bit");
    lua_pop(L, 1);

    open_lib(L, luaopen_os, LUA_OSLIBNAME);
    copy_fields(L, lua_gettop(L), os_names);
    lua_setfield(L, env, "os");
    lua_pop(L, 1);

    /* the helper module (luabox_lib.c) */
    luabox_lib_push(L, b);
    lua_setfield(L, env, "sluice");

    /* require's table of what it may return */
    lua_newtable(L);
    lua_getfield(L, env, "sluice");
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "sluice");
    lua_getfield(L, -1, "json");
    lua_setfield(L, -3, "sluice.json");
    lua_getfield(L, -1, "base64");
    lua_setfield(L, -3, "sluice.base64");
    lua_pop(L, 1);
    for (const char *const *n = (const char *const[]){ "string", "table", "math", "bit", NULL }; *n;
         n++) {
        lua_getfield(L, env, *n);
        lua_setfield(L, -2, *n);
    }
    lua_pushcclosure(L, l_require, 1);
    lua_setfield(L, env, "require");

    lua_pushcfunction(L, l_remaining);
    b->remaining_ref = luaL_ref(L, LUA_REGISTRYINDEX);

    /* Nothing is left where code could find it: the real globals are
     * emptied (the library tables opened above go with them). */
    lua_pushvalue(L, LUA_GLOBALSINDEX);
    {
        int g = lua_gettop(L);
        lua_pushnil(L);
        while (lua_next(L, g)) {
            /* clearing a field being traversed is allowed */
            lua_pop(L, 1);
            lua_pushvalue(L, -1);
            lua_pushnil(L);
            lua_rawset(L, g);
        }
    }
    lua_settop(L, env);
}

/* A leading "#!" line is skipped as luaL_loadfile would, keeping the
 * newline so that line numbers stay right. */
static const char *skip_shebang(const char *s, size_t *len)
{
    if (*len > 0 && s[0] == '#') {
        const char *nl = memchr(s, '\n', *len);
        size_t skip = nl ? (size_t)(nl - s) : *len;
        *len -= skip;
        return s + skip;
    }
    return s;
}

/* Loads the chunk text only (mode "t": bytecode is not verified by
 * LuaJIT, so a bytecode file could do anything). */
static int load_source(lua_State *L, const char *src, size_t len, const char *path)
{
    char name[512];

    src = skip_shebang(src, &len);
    fmt_buf(name, sizeof(name), "@%s", path ? path : "?");
    return luaL_loadbufferx(L, src, len, name, "t");
}

/* ------------------------------------------------------------ creating */

static lua_State *box_state(struct luabox *b)
{
    lua_State *L = NULL;

    b->exact = 0;
    if (!atomic_load(&alloc_refused) && !atomic_load(&force_fallback)) {
        L = lua_newstate(box_alloc, b);
        if (L)
            b->exact = 1;
        else
            atomic_store(&alloc_refused, 1);
    }
    if (!L)
        L = luaL_newstate();
    if (!L)
        return NULL;
    lua_atpanic(L, box_panic);
    /* the compiler off: hooks only run in the interpreter (see the top) */
    luaJIT_setmode(L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);
    return L;
}

struct init_args {
    struct luabox *b;
    const struct luabox_spec *spec;
    enum luabox_status status;
    char *err;
    size_t errlen;
};

static int box_init(lua_State *L)
{
    struct init_args *a = lua_touserdata(L, 1);
    struct luabox *b = a->b;
    int env, st;

    lua_settop(L, 0);
    build_env(L, b);
    env = lua_gettop(L);
    if (load_source(L, a->spec->source, a->spec->source_len, a->spec->path) != 0) {
        a->status = b->doomed ? b->doomed : LUABOX_ERROR;
        take_error(L, a->err, a->errlen);
        return 0;
    }
    lua_pushvalue(L, env);
    lua_setfenv(L, -2);
    lua_pushcfunction(L, box_msgh);
    lua_insert(L, -2);
    st = lua_pcall(L, 0, 1, env + 1);
    b->headroom = 0;
    if (st != 0) {
        a->status = b->doomed ? b->doomed : LUABOX_ERROR;
        take_error(L, a->err, a->errlen);
        return 0;
    }
    /* the handler: a field of a returned table ("return M" modules), else
     * a global of the file */
    if (lua_istable(L, -1))
        lua_getfield(L, -1, a->spec->handler);
    else
        lua_pushnil(L);
    if (!lua_isfunction(L, -1)) {
        lua_pop(L, 1);
        lua_getfield(L, env, a->spec->handler);
    }
    if (!lua_isfunction(L, -1)) {
        a->status = LUABOX_ERROR;
        fmt_buf(a->err, a->errlen,
                "%s: no function '%s' (a global function, or a field of the "
                "table the file returns)",
                a->spec->path, a->spec->handler);
        return 0;
    }
    b->handler_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    a->status = LUABOX_OK;
    lua_settop(L, 0);
    return 0;
}

struct luabox *luabox_new(const struct luabox_spec *spec, uint64_t deadline_us,
                          enum luabox_status *status, char *err, size_t errlen)
{
    struct luabox *b = calloc(1, sizeof(*b));
    struct init_args a = {
        .b = b, .spec = spec, .status = LUABOX_INTERNAL, .err = err, .errlen = errlen
    };
    int st;

    if (errlen)
        err[0] = '\0';
    if (!b) {
        *status = LUABOX_INTERNAL;
        fmt_buf(err, errlen, "out of memory");
        return NULL;
    }
    b->limit = spec->memory_limit;
    b->handler_ref = b->remaining_ref = b->array_mt_ref = LUA_NOREF;
    fmt_buf(b->label, sizeof(b->label), "%s", spec->label ? spec->label : spec->path);
    b->L = box_state(b);
    if (!b->L) {
        free(b);
        *status = LUABOX_INTERNAL;
        fmt_buf(err, errlen, "cannot create a Lua state (out of memory)");
        return NULL;
    }
    lua_sethook(b->L, box_hook, LUA_MASKCOUNT, LUABOX_HOOK_COUNT);
    luabox_running = b;
    b->deadline_us = deadline_us;
    st = lua_cpcall(b->L, box_init, &a);
    b->deadline_us = 0;
    b->headroom = 0;
    luabox_running = NULL;
    if (st != 0) {
        /* raised outside the user's code: building or loading ran out */
        a.status = b->doomed ? b->doomed : LUABOX_MEMORY;
        take_error(b->L, err, errlen);
    }
    if (a.status != LUABOX_OK) {
        *status = a.status;
        if (a.status == LUABOX_MEMORY && errlen && !strstr(err, "memory"))
            fmt_buf(err, errlen, "memory limit of %zu bytes reached while loading", b->limit);
        luabox_free(b);
        return NULL;
    }
    lua_settop(b->L, 0);
    *status = LUABOX_OK;
    return b;
}

/* ------------------------------------------------------------ calling */

struct call_args {
    struct luabox *b;
    const json_t *event;
    int phase; /* 0 event and context, 1 the handler runs, 2 its result */
    enum luabox_status status;
    struct luabox_to_json tj;
    char *err;
    size_t errlen;
};

static void push_context(lua_State *L, struct luabox *b, const struct luabox_call *c)
{
    lua_createtable(L, 0, 5);
    lua_pushstring(L, c->request_id ? c->request_id : "");
    lua_setfield(L, -2, "request_id");
    lua_pushstring(L, c->function_name ? c->function_name : "");
    lua_setfield(L, -2, "function_name");
    lua_pushstring(L, c->function_version ? c->function_version : "");
    lua_setfield(L, -2, "function_version");
    lua_pushnumber(L, c->memory_mb);
    lua_setfield(L, -2, "memory_limit_in_mb");
    lua_rawgeti(L, LUA_REGISTRYINDEX, b->remaining_ref);
    lua_setfield(L, -2, "get_remaining_time_in_millis");
}

static int box_call(lua_State *L)
{
    struct call_args *a = lua_touserdata(L, 1);
    struct luabox *b = a->b;
    int st;

    lua_settop(L, 0);
    luaL_checkstack(L, 8, NULL);
    lua_pushcfunction(L, box_msgh);
    lua_rawgeti(L, LUA_REGISTRYINDEX, b->handler_ref);
    if (a->event)
        luabox_push_json(L, b, a->event, 1, 0);
    else
        lua_pushnil(L);
    push_context(L, b, b->call);
    a->phase = 1;
    b->deadline_us = b->call->deadline_us;
    st = lua_pcall(L, 2, 1, 1);
    b->deadline_us = 0;
    b->headroom = 0;
    if (st != 0) {
        a->status = b->doomed ? b->doomed : LUABOX_ERROR;
        take_error(L, a->err, a->errlen);
        return 0;
    }
    a->phase = 2;
    luabox_to_json(L, &a->tj, lua_gettop(L));
    a->status = LUABOX_OK;
    return 0;
}

enum luabox_status luabox_call(struct luabox *b, const json_t *event,
                               const struct luabox_call *call, json_t **result, char *err,
                               size_t errlen)
{
    struct call_args a = {
        .b = b, .event = event, .status = LUABOX_INTERNAL, .err = err, .errlen = errlen
    };
    int st;

    *result = NULL;
    if (errlen)
        err[0] = '\0';
    if (b->broken) {
        /* a caller's mistake, refused rather than run on a state that
         * stopped half-way through something */
        fmt_buf(err, errlen, "this Lua state failed before and cannot be called again");
        return LUABOX_INTERNAL;
    }
    a.tj.b = b;
    b->call = call;
    b->doomed = 0;
    luabox_running = b;
    st = lua_cpcall(b->L, box_call, &a);
    luabox_running = NULL;
    b->call = NULL;
    if (st != 0) {
        /* raised outside the handler: the event did not fit under the
         * cap, or the result is not JSON */
        if (b->doomed)
            a.status = b->doomed;
        else if (a.tj.internal)
            a.status = LUABOX_INTERNAL;
        else if (a.phase == 2)
            a.status = LUABOX_BAD_RESULT;
        else
            a.status = LUABOX_MEMORY;
        take_error(b->L, err, errlen);
    }
    lua_settop(b->L, 0);
    if (a.status == LUABOX_TIMEOUT && !strstr(err, "timed out"))
        prefix(err, errlen, "timed out: ");
    if (a.status == LUABOX_OK && !b->exact && luabox_memory(b) > b->limit) {
        /* the soft cap: what the hook did not catch is caught here */
        lua_gc(b->L, LUA_GCCOLLECT, 0);
        if (luabox_memory(b) > b->limit) {
            a.status = LUABOX_MEMORY;
            fmt_buf(err, errlen, "memory limit reached");
        }
    }
    if (a.status != LUABOX_OK) {
        json_decref(a.tj.root);
        if (a.status != LUABOX_BAD_RESULT)
            b->broken = 1;
        return a.status;
    }
    *result = a.tj.root;
    return LUABOX_OK;
}

/* ------------------------------------------------------------ the rest */

int luabox_check(const char *source, size_t len, const char *path, char *err, size_t errlen)
{
    lua_State *L = luaL_newstate();
    int rc = 0;

    if (!L) {
        fmt_buf(err, errlen, "cannot create a Lua state (out of memory)");
        return -1;
    }
    if (len > 0 && source[0] == '\033') {
        /* what mode "t" refuses, said plainly */
        fmt_buf(err, errlen,
                "%s: precompiled bytecode is not accepted (LuaJIT does not verify "
                "it): give the Lua source",
                path);
        rc = -1;
    } else if (load_source(L, source, len, path) != 0) {
        /* loading never runs code, and a failed load returns its message
         * (even "not enough memory"): no protected call needed */
        size_t mlen;
        const char *m = lua_tolstring(L, -1, &mlen);
        luabox_fold_lines(err, errlen, m ? m : "cannot load", m ? mlen : 11);
        rc = -1;
    }
    lua_close(L);
    return rc;
}

size_t luabox_memory(const struct luabox *b)
{
    if (b->exact)
        return b->used;
    return (size_t)lua_gc(b->L, LUA_GCCOUNT, 0) * 1024u + (size_t)lua_gc(b->L, LUA_GCCOUNTB, 0);
}

void luabox_collect(struct luabox *b)
{
    lua_gc(b->L, LUA_GCCOLLECT, 0);
}

int luabox_exact_memory(void)
{
    return !atomic_load(&alloc_refused) && !atomic_load(&force_fallback);
}

/* Tests only (declared in the unit test): boxes made after this use the
 * GC-count fallback when on is 1. */
void luabox_test_force_fallback(int on);
void luabox_test_force_fallback(int on)
{
    atomic_store(&force_fallback, on);
}

struct lua_State *luabox_lua(struct luabox *b)
{
    return b->L;
}

void luabox_free(struct luabox *b)
{
    if (!b)
        return;
    if (b->L)
        lua_close(b->L);
    free(b);
}
