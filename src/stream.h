/* stream.h - a socket with an input and an output buffer on one event
 * loop: what libevent's bufferevent does, without its per-request cost.
 * Reading uses one persistent read event (no epoll_ctl per request) and
 * reads without asking the kernel how much is there first; writing goes
 * straight to the socket when stream_flush() is called and waits for the
 * socket to become writable only when it is full. Callbacks never run from
 * inside stream_flush() or the other setters: errors found while writing
 * are reported from the event loop. */
#ifndef SLUICE_STREAM_H
#define SLUICE_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct event_base;
struct evbuffer;
struct stream;
struct ssl_ctx_st;

/* Event bits for the event callback. */
#define STREAM_READING 0x01
#define STREAM_WRITING 0x02
#define STREAM_EOF 0x10
#define STREAM_ERROR 0x20
#define STREAM_TIMEOUT 0x40

typedef void stream_cb(struct stream *s, void *arg);
typedef void stream_event_cb(struct stream *s, short what, void *arg);

/* Wraps the connected, non-blocking socket fd (owned: closed by
 * stream_free). Reading starts disabled; the buffers come with the first
 * read (see stream_buffers()). Returns NULL when out of memory
 * (fd is not closed then). */
struct stream *stream_new(struct event_base *base, int fd);

/* Makes a stream connecting to sa. Output written before the connection
 * is up waits for it; a failed connect arrives as STREAM_ERROR (errno in
 * stream_error()). Returns NULL with errno set when no socket could be
 * made. */
struct stream *stream_connect(struct event_base *base, const struct sockaddr *sa, socklen_t salen);

/* Makes s, a stream from stream_new() that has not read yet, the server
 * side of TLS with ctx (an SSL_CTX; the stream takes its own reference):
 * the handshake runs inside the first reads, and the buffers, callbacks,
 * limits and timeouts then carry plaintext as for a plain stream. The
 * handshake must end within handshake_ms of this call (0 = no limit but
 * the read timeout), however slowly its bytes trickle in: else
 * STREAM_TIMEOUT|STREAM_READING. A failed handshake arrives as
 * STREAM_ERROR (EPROTO), the peer's close_notify as STREAM_EOF;
 * stream_shutdown_write() and stream_free() send close_notify. Returns 0,
 * or -1 when out of memory (s is still a plain stream). */
int stream_start_tls(struct stream *s, struct ssl_ctx_st *ctx, uint32_t handshake_ms);
/* Makes s, a stream from stream_connect() that has not connected yet,
 * the client side of TLS with ctx (a client SSL_CTX that verifies its
 * peer; the stream takes its own reference): host (a name, or an address
 * literal without brackets) goes out as SNI when it is a name and must be
 * what the server's certificate names. The handshake runs inside the
 * first write (a stream that connects has a request to send) and read; a
 * failed one, a certificate that does not verify included, arrives as
 * STREAM_ERROR (EPROTO; see stream_tls_verify_error()). Returns 0, or -1
 * when out of memory (s is still a plain stream). */
int stream_start_tls_client(struct stream *s, struct ssl_ctx_st *ctx, const char *host);
/* Why the peer's certificate was refused (a static string), or NULL when
 * it was not (or s is plain). */
const char *stream_tls_verify_error(const struct stream *s);
/* 1 for a TLS stream, else 0. */
int stream_is_tls(const struct stream *s);

/* Closes the socket and frees the stream and its buffers. NULL: no-op.
 * May be called from inside any of the stream's callbacks. */
void stream_free(struct stream *s);

void stream_setcb(struct stream *s, stream_cb *readcb, stream_cb *writecb, stream_event_cb *eventcb,
                  void *arg);

/* The buffers. An idle stream may hold none (see stream_idle()): they are
 * there inside the stream's callbacks and after stream_buffers() returned
 * 0, which is when these may be called. */
struct evbuffer *stream_input(struct stream *s);
struct evbuffer *stream_output(struct stream *s);
/* Makes sure both buffers are there. Returns 0, or -1 when out of memory. */
int stream_buffers(struct stream *s);
/* Bytes waiting in the input / output (0 for a buffer not held). */
size_t stream_input_length(const struct stream *s);
size_t stream_output_length(const struct stream *s);
/* The stream has nothing to do for a while (a kept-alive connection
 * between requests): its buffers, when empty, go back to the thread's pool
 * so that thousands of idle connections hold none. */
void stream_idle(struct stream *s);
/* A thread ends: frees its pool of buffers. */
void stream_thread_exit(void);
int stream_fd(const struct stream *s);
/* The errno of the last STREAM_ERROR. */
int stream_error(const struct stream *s);

/* Reading: the read callback runs after new bytes were appended to the
 * input. Reading pauses by itself while the input holds read_high bytes
 * or more (0 = no limit) and resumes when the owner drains it and calls
 * stream_read_resume() (or enables reading again). */
void stream_enable_read(struct stream *s);
void stream_disable_read(struct stream *s);
void stream_set_read_high(struct stream *s, size_t high);
void stream_read_resume(struct stream *s);

/* Runs the read callback from the event loop soon, for bytes already in
 * the input (pipelined requests), without reading the socket. */
void stream_trigger_read(struct stream *s);

/* Writing: stream_flush() writes what the output holds now; what the
 * socket does not take is written when it becomes writable. The write
 * callback runs after such a deferred write left write_low bytes or fewer
 * in the output. */
void stream_flush(struct stream *s);
void stream_set_write_low(struct stream *s, size_t low);

/* Timeouts in milliseconds, 0 = none: read_ms while reading is enabled and
 * nothing arrives; write_ms while output waits and the socket takes none
 * of it. The event callback gets STREAM_TIMEOUT|STREAM_READING or
 * STREAM_TIMEOUT|STREAM_WRITING. */
void stream_set_timeouts(struct stream *s, uint32_t read_ms, uint32_t write_ms);

/* Shuts the write side (after the output was flushed). Returns 0 or -1. */
int stream_shutdown_write(struct stream *s);

#endif
