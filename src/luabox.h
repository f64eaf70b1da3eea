/* luabox.h - one sandboxed LuaJIT state running one function file: an
 * allow-listed environment, a byte cap on everything the state allocates,
 * a deadline enforced by an instruction-count hook, and JSON values
 * (jansson) in and out. No event loop and no I/O: handler_lua.c keeps the
 * warm boxes and the Lua authorizers may share it.
 *
 * What code in a box can reach: the base functions assert, error, ipairs,
 * next, pairs, rawequal, rawget, rawset, select, getmetatable,
 * setmetatable, tonumber, tostring, type, unpack, _VERSION; pcall and
 * xpcall (which cannot swallow a timeout or the memory cap); print and
 * collectgarbage("count"|"collect"|"step") in sluice's versions; string
 * (without dump), table, math, bit, os.time, os.clock, os.date; _G (the
 * box's own globals); require for the helper module only; and the helper
 * module `sluice`: sluice.json.encode/decode/null/array,
 * sluice.base64.encode/decode, sluice.log(level, msg). Nothing else: no
 * io, os.execute, load*, dofile, require of files, getfenv/setfenv,
 * debug, ffi, jit, package, coroutine, newproxy, string.dump.
 *
 * Threads: a box is used by one thread at a time (the one that made it,
 * in sluice: its worker). Boxes on different threads are independent. */
#ifndef SLUICE_LUABOX_H
#define SLUICE_LUABOX_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct luabox;
struct lua_State;

/* How a box operation ended. */
enum luabox_status {
    LUABOX_OK = 0,
    LUABOX_ERROR,      /* the Lua code raised an error (or the file/handler is unusable) */
    LUABOX_TIMEOUT,    /* the deadline passed while Lua code ran */
    LUABOX_MEMORY,     /* the state reached its memory cap */
    LUABOX_BAD_RESULT, /* the handler returned something JSON cannot hold */
    LUABOX_INTERNAL,   /* sluice itself ran out of memory (not the box's cap) */
};

/* What to load into a new box. Every string is only read during the call. */
struct luabox_spec {
    const char *source; /* the file's text (not bytecode: refused) */
    size_t source_len;
    const char *path;    /* the file name, for error messages ("@path" chunk name) */
    const char *handler; /* the global (or returned table's field) to call */
    size_t memory_limit; /* bytes the state may hold, everything included */
    const char *label;   /* "function:version", prefixed to the box's log lines */
};

/* One call's particulars. Strings are borrowed for the call only. */
struct luabox_call {
    const char *request_id;
    const char *function_name;
    const char *function_version;
    unsigned memory_mb;   /* context.memory_limit_in_mb */
    uint64_t deadline_us; /* util.h now_us() clock; 0 = none */
};

/* Compiles source (never runs it), for config checks: a syntax error, a
 * bytecode file or a state that cannot be created is refused. Returns 0,
 * or -1 with Lua's message ("path:LINE: ...") in err (capacity errlen). */
int luabox_check(const char *source, size_t len, const char *path, char *err, size_t errlen);

/* Makes a box: a fresh state with the sandbox, the file loaded and its top
 * level run under deadline_us (now_us() clock, 0 = none), the handler
 * function found. Returns the box (the caller owns it: luabox_free), or
 * NULL with *status (LUABOX_ERROR, _TIMEOUT, _MEMORY, _INTERNAL) and a
 * one-line reason in err (the Lua traceback for errors, newlines turned
 * into " | "). */
struct luabox *luabox_new(const struct luabox_spec *spec, uint64_t deadline_us,
                          enum luabox_status *status, char *err, size_t errlen);

/* Calls handler(event, context) with event converted to Lua (JSON null
 * becomes nil, so absent and null fields read the same; numbers are Lua
 * numbers, doubles: integers beyond 2^53 lose precision; the converted
 * event counts against the state's cap) and context
 * {request_id, function_name, function_version, memory_limit_in_mb,
 * get_remaining_time_in_millis()}. On LUABOX_OK *result is a new reference
 * (the caller's) to the return value as JSON (nil: JSON null). Otherwise
 * *result is NULL and err holds a one-line reason (with the traceback
 * for LUABOX_ERROR and LUABOX_TIMEOUT). After anything but LUABOX_OK and
 * LUABOX_BAD_RESULT the box must be freed, not called again: its state
 * may be half-way through anything. event is only read. */
enum luabox_status luabox_call(struct luabox *b, const json_t *event,
                               const struct luabox_call *call, json_t **result, char *err,
                               size_t errlen);

/* Bytes the box's state holds now (garbage not yet collected included). */
size_t luabox_memory(const struct luabox *b);

/* Runs a full garbage collection: after a call that left much garbage,
 * so that garbage never counts against the next call's cap. */
void luabox_collect(struct luabox *b);

/* 1 when boxes count their bytes with their own allocator (an exact,
 * hard cap); 0 when this LuaJIT refused a custom allocator and boxes fall
 * back to watching the GC's count from the hook (a soft cap: see
 * luabox.c). Known after the first luabox_new() or luabox_check(). */
int luabox_exact_memory(void);

/* The box's Lua state, for tests and diagnostics only: running code on
 * it directly bypasses the deadline and the error handling. */
struct lua_State *luabox_lua(struct luabox *b);

/* Frees the box and everything its state holds. NULL is a no-op. */
void luabox_free(struct luabox *b);

#endif
