/* luabox_internal.h - what luabox.c (the state, its limits, calls) and
 * luabox_lib.c (JSON <-> Lua, the `sluice` helper module) share; nothing
 * else includes it. */
#ifndef SLUICE_LUABOX_INTERNAL_H
#define SLUICE_LUABOX_INTERNAL_H

#include <jansson.h>
#include <lua.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "luabox.h"

/* Nesting of JSON values converted either way; deeper is refused (a table
 * that contains itself ends here too). */
#define LUABOX_MAX_DEPTH 128
/* A sluice.log or print message is cut to this many bytes. */
#define LUABOX_LOG_MAX 1500
/* The JSON null sentinel in Lua: a NULL light userdata (as lua-cjson). */
#define LUABOX_PUSH_NULL(L) lua_pushlightuserdata((L), NULL)

struct luabox {
    lua_State *L;
    size_t used;                    /* bytes held (custom allocator only) */
    size_t limit;                   /* the cap */
    int exact;                      /* 1: our allocator counts; 0: the hook watches the GC */
    int headroom;                   /* 1 while an error message is being built */
    enum luabox_status doomed;      /* set once the call must end: TIMEOUT or MEMORY */
    int broken;                     /* a call failed: the state may not be called again */
    uint64_t deadline_us;           /* 0 = none */
    const struct luabox_call *call; /* during a call, for context and logs */
    int handler_ref;                /* registry: the handler function */
    int remaining_ref;              /* registry: context.get_remaining_time_in_millis */
    int array_mt_ref;               /* registry: the metatable marking JSON arrays */
    char label[96];
};

/* The box whose Lua code this thread runs now: hooks and library
 * functions find it here (one box runs at a time per thread, and boxes
 * offer no coroutines, so it is always the state's main thread). Set by
 * luabox.c around every run of Lua code, NULL otherwise. */
extern _Thread_local struct luabox *luabox_running;

/* Copies s[0..len) into out (capacity cap, always terminated when cap > 0)
 * on one line: newlines as " | ", tabs as spaces (dropped at the start of
 * a line), other control bytes as '?'. */
void luabox_fold_lines(char *out, size_t cap, const char *s, size_t len);

/* Pushes v (the caller's, only read) as a Lua value. null_as_nil: null
 * object members are left out (events: `if event.body then` reads as it
 * should); elsewhere null is the sentinel. Arrays get b's array marker.
 * Raises a Lua error on the box's cap or beyond LUABOX_MAX_DEPTH; call it
 * protected. depth: 0 at the top. */
void luabox_push_json(lua_State *L, struct luabox *b, const json_t *v, int null_as_nil, int depth);

/* One Lua -> JSON conversion. The root is set as soon as it exists and
 * every value is attached to its parent before it is filled, so whatever
 * a raised error leaves is reachable from root: the caller frees root
 * (json_decref) after a failure, owns it after success. */
struct luabox_to_json {
    struct luabox *b;
    json_t *root;
    int internal; /* jansson ran out of memory (not the box's cap) */
};

/* Converts the Lua value at absolute index idx into tj->root. Tables with
 * keys 1..n or the array marker are arrays, others objects (number keys
 * written as strings); nil and the sentinel are null. Raises a Lua error
 * for functions, userdata, cycles, NaN, text that is not UTF-8, and sets
 * tj->internal first when jansson itself ran out of memory. */
void luabox_to_json(lua_State *L, struct luabox_to_json *tj, int idx);

/* Writes msg[0..len) as one error-log line at level, with b's label and
 * the request id of its call (b may be NULL). */
void luabox_log(struct luabox *b, enum log_level level, const char *msg, size_t len);

/* Pushes a new `sluice` module table (json, base64, log) and sets
 * b->array_mt_ref. Raises on the box's cap; call it protected. */
void luabox_lib_push(lua_State *L, struct luabox *b);

#endif
