/* luabox_lib.c - the Lua sandbox's data side: JSON values to Lua and
 * back (events in, results out), and the helper module `sluice` its code
 * sees: sluice.json (through jansson: the one JSON implementation of the
 * process, strict about UTF-8, and C speed for the event of every call),
 * sluice.base64 and sluice.log. Runs only inside the protected calls of
 * luabox.c; C memory a Lua error could strand is only held across
 * protected calls that free it when they fail. */
#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "luabox_internal.h"
#include "util.h"

/* ------------------------------------------------------------ JSON <-> Lua */

/* Pushes v as a Lua value. null_as_nil: object members that are null are
 * left out (for events: `if event.body then` works as it reads); else and
 * in arrays null is the sluice.json.null sentinel. Raises on a Lua error
 * (memory); v stays the caller's. */
void luabox_push_json(lua_State *L, struct luabox *b, const json_t *v, int null_as_nil, int depth)
{
    if (depth > LUABOX_MAX_DEPTH)
        luaL_error(L, "JSON nested deeper than %d levels", LUABOX_MAX_DEPTH);
    luaL_checkstack(L, 4, "JSON nested too deeply");
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *m;
        lua_createtable(L, 0, (int)json_object_size(v));
        json_object_foreach((json_t *)v, key, m)
        {
            if (null_as_nil && json_is_null(m))
                continue;
            lua_pushstring(L, key);
            luabox_push_json(L, b, m, null_as_nil, depth + 1);
            lua_rawset(L, -3);
        }
        break;
    }
    case JSON_ARRAY: {
        size_t n = json_array_size(v);
        lua_createtable(L, (int)n, 0);
        for (size_t i = 0; i < n; i++) {
            const json_t *e = json_array_get(v, i);
            if (json_is_null(e))
                LUABOX_PUSH_NULL(L);
            else
                luabox_push_json(L, b, e, null_as_nil, depth + 1);
            lua_rawseti(L, -2, (int)(i + 1));
        }
        /* marked, so that an empty array goes back out as [] */
        lua_rawgeti(L, LUA_REGISTRYINDEX, b->array_mt_ref);
        lua_setmetatable(L, -2);
        break;
    }
    case JSON_STRING:
        lua_pushlstring(L, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        lua_pushnumber(L, (lua_Number)json_integer_value(v));
        break;
    case JSON_REAL:
        lua_pushnumber(L, json_real_value(v));
        break;
    case JSON_TRUE:
        lua_pushboolean(L, 1);
        break;
    case JSON_FALSE:
        lua_pushboolean(L, 0);
        break;
    case JSON_NULL:
    default:
        if (null_as_nil)
            lua_pushnil(L);
        else
            LUABOX_PUSH_NULL(L);
        break;
    }
}

/* Attaches v under parent (object member key, or appended to an array
 * when key is NULL), or makes it the root. Raises when jansson fails. */
static void attach(lua_State *L, struct luabox_to_json *tj, json_t *parent, const char *key,
                   json_t *v)
{
    int rc = 0;

    if (!v) {
        tj->internal = 1;
        luaL_error(L, "out of memory");
    }
    if (!parent)
        tj->root = v;
    else if (key)
        rc = json_object_set_new(parent, key, v);
    else
        rc = json_array_append_new(parent, v);
    if (rc < 0) {
        /* set_new refuses keys that are not UTF-8; either way v is freed */
        if (key && !json_object_get(parent, key))
            luaL_error(L, "table key is not valid UTF-8");
        tj->internal = 1;
        luaL_error(L, "out of memory");
    }
}

/* 1 when the table at idx is a JSON array: marked by sluice.json (decoded
 * or sluice.json.array), or keys exactly 1..n with n >= 1. *n is its length. */
static int table_is_array(lua_State *L, struct luabox *b, int idx, size_t *n)
{
    size_t count = 0;
    lua_Number max = 0;

    if (lua_getmetatable(L, idx)) {
        int marked;
        lua_rawgeti(L, LUA_REGISTRYINDEX, b->array_mt_ref);
        marked = lua_rawequal(L, -1, -2);
        lua_pop(L, 2);
        if (marked) {
            *n = lua_objlen(L, idx);
            return 1;
        }
    }
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_Number k;
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TNUMBER) {
            lua_pop(L, 1);
            return 0;
        }
        k = lua_tonumber(L, -1);
        if (k < 1 || k != floor(k)) {
            lua_pop(L, 1);
            return 0;
        }
        if (k > max)
            max = k;
        count++;
    }
    *n = count;
    return count > 0 && (lua_Number)count == max;
}

static void to_json(lua_State *L, struct luabox_to_json *tj, int idx, int depth, json_t *parent,
                    const char *key);

static void table_to_json(lua_State *L, struct luabox_to_json *tj, int idx, int depth,
                          json_t *parent, const char *key)
{
    size_t n;
    json_t *v;

    if (depth > LUABOX_MAX_DEPTH)
        luaL_error(L, "table nested deeper than %d levels (or a table that contains itself)",
                   LUABOX_MAX_DEPTH);
    luaL_checkstack(L, 6, "table nested too deeply");
    if (table_is_array(L, tj->b, idx, &n)) {
        v = json_array();
        attach(L, tj, parent, key, v);
        for (size_t i = 1; i <= n; i++) {
            lua_rawgeti(L, idx, (int)i);
            to_json(L, tj, lua_gettop(L), depth + 1, v, NULL);
            lua_pop(L, 1);
        }
        return;
    }
    v = json_object();
    attach(L, tj, parent, key, v);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        char num[64];
        const char *k;
        /* key at -2, value at -1 */
        if (lua_type(L, -2) == LUA_TSTRING) {
            size_t klen;
            k = lua_tolstring(L, -2, &klen);
            if (strlen(k) != klen)
                luaL_error(L, "table key holds a NUL byte");
        } else if (lua_type(L, -2) == LUA_TNUMBER) {
            /* formatted here: lua_tostring would change the key in place
             * and break lua_next */
            lua_Number d = lua_tonumber(L, -2);
            if (d == floor(d) && fabs(d) < 9007199254740992.0)
                fmt_buf(num, sizeof(num), "%lld", (long long)d);
            else
                fmt_buf(num, sizeof(num), "%.14g", (double)d);
            k = num;
        } else {
            luaL_error(L, "cannot convert a table key of type %s to JSON", luaL_typename(L, -2));
            return;
        }
        to_json(L, tj, lua_gettop(L), depth + 1, v, k);
        lua_pop(L, 1);
    }
}

/* Converts the Lua value at idx (absolute) and attaches it (see attach).
 * Raises for what JSON cannot hold. */
static void to_json(lua_State *L, struct luabox_to_json *tj, int idx, int depth, json_t *parent,
                    const char *key)
{
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        attach(L, tj, parent, key, json_null());
        return;
    case LUA_TBOOLEAN:
        attach(L, tj, parent, key, json_boolean(lua_toboolean(L, idx)));
        return;
    case LUA_TNUMBER: {
        lua_Number d = lua_tonumber(L, idx);
        if (!isfinite(d))
            luaL_error(L, "cannot convert %s to JSON", isnan(d) ? "NaN" : "an infinite number");
        /* whole numbers stay integers ("statusCode": 200, not 200.0) */
        if (d == floor(d) && fabs(d) < 9007199254740992.0)
            attach(L, tj, parent, key, json_integer((json_int_t)d));
        else
            attach(L, tj, parent, key, json_real(d));
        return;
    }
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        json_t *v = json_stringn(s, len);
        if (!v)
            luaL_error(L, "string is not valid UTF-8 (send binary data base64-encoded)");
        attach(L, tj, parent, key, v);
        return;
    }
    case LUA_TTABLE:
        table_to_json(L, tj, idx, depth, parent, key);
        return;
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) == NULL) {
            attach(L, tj, parent, key, json_null());
            return;
        }
        /* fall through */
    default:
        luaL_error(L, "cannot convert a %s to JSON", luaL_typename(L, idx));
    }
}

/* ------------------------------------------------------------ sluice.json */

/* lua_pcall'ed by l_json_encode: (value, struct luabox_to_json *) */
static int json_encode_inner(lua_State *L)
{
    struct luabox_to_json *tj = lua_touserdata(L, 2);

    to_json(L, tj, 1, 0, NULL, NULL);
    return 0;
}

/* lua_pcall'ed: (char **) -> the string */
static int push_cstring_inner(lua_State *L)
{
    char **s = lua_touserdata(L, 1);

    lua_pushstring(L, *s);
    return 1;
}

/* sluice.json.encode(value) -> compact JSON text. Tables with keys 1..n
 * are arrays, other tables objects (number keys written as strings),
 * sluice.json.null is null; a function, a cycle, NaN or non-UTF-8 text
 * raises an error. */
static int l_json_encode(lua_State *L)
{
    struct luabox_to_json tj = { .b = luabox_running };
    char *text;
    int st;

    lua_settop(L, 1);
    luaL_checkstack(L, 4, NULL);
    lua_pushcfunction(L, json_encode_inner);
    lua_pushvalue(L, 1);
    lua_pushlightuserdata(L, &tj);
    st = lua_pcall(L, 2, 0, 0);
    if (st) {
        json_decref(tj.root);
        return lua_error(L);
    }
    /* the pushing function exists before the text does, so that nothing
     * can raise between the text's malloc and the protected push */
    lua_pushcfunction(L, push_cstring_inner);
    text = json_dumps(tj.root, JSON_ENCODE_ANY | JSON_COMPACT);
    json_decref(tj.root);
    if (!text)
        return luaL_error(L, "out of memory");
    lua_pushlightuserdata(L, &text);
    st = lua_pcall(L, 1, 1, 0);
    free(text);
    if (st)
        return lua_error(L);
    return 1;
}

struct push_args {
    struct luabox *b;
    json_t *v;
};

/* lua_pcall'ed by l_json_decode: (struct push_args *) -> the value */
static int json_push_inner(lua_State *L)
{
    struct push_args *pa = lua_touserdata(L, 1);

    luabox_push_json(L, pa->b, pa->v, 0, 0);
    return 1;
}

/* sluice.json.decode(text) -> value, or nil and a message when text is
 * not JSON. null decodes as sluice.json.null; arrays come marked so they
 * encode back as arrays even when empty. */
static int l_json_decode(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    struct push_args pa = { .b = luabox_running };
    json_error_t jerr;
    int st;

    lua_settop(L, 1);
    luaL_checkstack(L, 4, NULL);
    lua_pushcfunction(L, json_push_inner);
    pa.v = json_loadb(s, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!pa.v) {
        lua_pushnil(L);
        lua_pushfstring(L, "invalid JSON at line %d column %d: %s", jerr.line, jerr.column,
                        jerr.text);
        return 2;
    }
    lua_pushlightuserdata(L, &pa);
    st = lua_pcall(L, 1, 1, 0);
    json_decref(pa.v);
    if (st)
        return lua_error(L);
    return 1;
}

/* sluice.json.array(t) -> t, marked to encode as an array (even empty). */
static int l_json_array(lua_State *L)
{
    struct luabox *b = luabox_running;

    if (lua_isnoneornil(L, 1)) {
        lua_settop(L, 0);
        lua_newtable(L);
    }
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    lua_rawgeti(L, LUA_REGISTRYINDEX, b->array_mt_ref);
    lua_setmetatable(L, 1);
    return 1;
}

/* ------------------------------------------------------------ sluice.base64 */

/* The codec is base64.c's (the one events and results use): here it
 * only meets Lua. Its buffers are malloc'ed outside the state's cap,
 * for as long as one call, and bounded by a string the state holds. */

/* sluice.base64.encode(s) -> standard base64 with padding. */
static int l_b64_encode(lua_State *L)
{
    size_t len, n;
    const char *s = luaL_checklstring(L, 1, &len);
    char *out = base64_encode((const unsigned char *)s, len, &n);

    if (!out)
        return luaL_error(L, "not enough memory");
    lua_pushlstring(L, out, n);
    free(out);
    return 1;
}

/* sluice.base64.decode(s) -> bytes, or nil and a message. Standard
 * alphabet; the padding may be left out; nothing else is accepted. */
static int l_b64_decode(lua_State *L)
{
    size_t len, n;
    const char *s = luaL_checklstring(L, 1, &len);
    char *padded = NULL;
    unsigned char *out;
    int rc;

    if (len % 4 && memchr(s, '=', len) == NULL) {
        /* complete the last group the way the strict decoder wants it */
        size_t full = len + (4 - len % 4);
        if (!(padded = malloc(full)))
            return luaL_error(L, "not enough memory");
        memcpy(padded, s, len);
        memset(padded + len, '=', full - len);
        s = padded;
        len = full;
    }
    rc = base64_decode_alloc(BASE64_STD, s, len, &out, &n);
    free(padded);
    if (rc == -2)
        return luaL_error(L, "not enough memory");
    if (rc < 0) {
        lua_pushnil(L);
        lua_pushliteral(L, "invalid base64");
        return 2;
    }
    lua_pushlstring(L, (const char *)out, n);
    free(out);
    return 1;
}

/* ------------------------------------------------------------ sluice.log, print */

/* Writes msg to the error log at level with the box and request id. */
void luabox_log(struct luabox *b, enum log_level level, const char *msg, size_t len)
{
    char text[LUABOX_LOG_MAX + 4];

    if (!log_enabled(level))
        return;
    luabox_fold_lines(text, sizeof(text), msg, len);
    log_msg(level, "lua %s: request %s: %s", b ? b->label : "?",
            b && b->call && b->call->request_id ? b->call->request_id : "-", text);
}

/* sluice.log(level, msg): level "error", "warn", "info" or "debug". */
static int l_log(lua_State *L)
{
    static const char *const levels[] = { "error", "warn", "info", "debug", NULL };
    int level = luaL_checkoption(L, 1, NULL, levels);
    size_t len;
    const char *msg = luaL_checklstring(L, 2, &len);

    luabox_log(luabox_running, (enum log_level)level, msg, len);
    return 0;
}

/* ------------------------------------------------------------ the module */

void luabox_to_json(lua_State *L, struct luabox_to_json *tj, int idx)
{
    to_json(L, tj, idx, 0, NULL, NULL);
}

void luabox_lib_push(lua_State *L, struct luabox *b)
{
    /* the array marker of sluice.json */
    lua_newtable(L);
    lua_pushliteral(L, "array");
    lua_setfield(L, -2, "__jsontype");
    b->array_mt_ref = luaL_ref(L, LUA_REGISTRYINDEX);

    /* sluice = { json = {...}, base64 = {...}, log = f } */
    lua_newtable(L);
    lua_newtable(L);
    lua_pushcfunction(L, l_json_encode);
    lua_setfield(L, -2, "encode");
    lua_pushcfunction(L, l_json_decode);
    lua_setfield(L, -2, "decode");
    lua_pushcfunction(L, l_json_array);
    lua_setfield(L, -2, "array");
    LUABOX_PUSH_NULL(L);
    lua_setfield(L, -2, "null");
    lua_setfield(L, -2, "json");
    lua_newtable(L);
    lua_pushcfunction(L, l_b64_encode);
    lua_setfield(L, -2, "encode");
    lua_pushcfunction(L, l_b64_decode);
    lua_setfield(L, -2, "decode");
    lua_setfield(L, -2, "base64");
    lua_pushcfunction(L, l_log);
    lua_setfield(L, -2, "log");
}
