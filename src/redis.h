/* redis.h - an asynchronous Redis client on one worker's event loop
 * (hiredis with its libevent adapter). It connects by itself, reconnects
 * with backoff when the connection drops, and never makes a caller wait
 * longer than the configured timeout: while Redis is away every operation
 * answers "unavailable" at once, so nothing depends on Redis being up. */
#ifndef SLUICE_REDIS_H
#define SLUICE_REDIS_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct event_base;
struct redis_client;
struct redis_op;

/* found: 1 = value (val/len valid only during the call), 0 = no such key,
 * -1 = Redis unavailable, timed out or answered an error. */
typedef void redis_get_cb(void *arg, int found, const char *val, size_t len);

struct redisReply;
/* A command's answer: the reply (valid only during the call; it may be an
 * error reply), or NULL when Redis is unavailable or timed out. */
typedef void redis_reply_cb(void *arg, const struct redisReply *reply);

/* Starts a client on base for rc (copied). Returns it (connecting in the
 * background), or NULL when out of memory. */
struct redis_client *redis_client_new(struct event_base *base, const struct redis_conf *rc);

/* Closes the connection; pending operations are answered -1 first. NULL
 * does nothing. */
void redis_client_free(struct redis_client *c);

/* 1 while connected and ready for commands. */
int redis_client_ready(const struct redis_client *c);

/* GET prefix+key. cb is called exactly once, later (never from inside this
 * call), unless the operation is cancelled first. Returns a handle for
 * redis_op_cancel(), or NULL when out of memory (cb not called). */
struct redis_op *redis_get(struct redis_client *c, const char *key, size_t keylen,
                           redis_get_cb *cb, void *arg);

/* Sends a command as it is (argv; no prefix is added: build keys with
 * redis_client_prefix()). cb is called exactly once, later, unless the
 * operation is cancelled first. Returns a handle for redis_op_cancel(),
 * or NULL when out of memory or cb is NULL (cb not called). */
struct redis_op *redis_command(struct redis_client *c, redis_reply_cb *cb, void *arg, int argc,
                               const char **argv, const size_t *argvlen);

/* The key prefix the client was configured with ("sluice:" by default). */
const char *redis_client_prefix(const struct redis_client *c);

/* The caller no longer wants the answer: cb will not be called. The
 * handle is invalid afterwards. */
void redis_op_cancel(struct redis_op *op);

/* SET prefix+key val EX ttl_s, fire and forget; dropped when unavailable. */
void redis_setex(struct redis_client *c, const char *key, size_t keylen, const char *val,
                 size_t vallen, unsigned ttl_s);

/* Counters for tests and metrics. */
struct redis_stats {
    unsigned long connects, disconnects, gets, hits, misses, unavailable;
};
void redis_client_stats(const struct redis_client *c, struct redis_stats *out);

#endif
