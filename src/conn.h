/* conn.h - a client connection: reads request heads and bodies, enforces
 * the limits and timeouts, writes responses in order, keeps the connection
 * alive between requests. One request is active at a time; pipelined
 * requests wait in the input buffer until the previous response is done.
 *
 * The functions taking a request are how the pipeline and handlers answer.
 * conn_respond(), conn_response_done() and conn_abort() end the request:
 * the caller must not touch req (nor the connection) after them. */
#ifndef SLUICE_CONN_H
#define SLUICE_CONN_H

#include <sys/socket.h>

struct conn;
struct worker;
struct request;
struct evbuffer;

/* Takes ownership of the accepted socket fd. Returns the connection, or
 * NULL (fd closed) when out of memory. */
struct conn *conn_new(struct worker *w, int fd, const struct sockaddr *sa, socklen_t salen);

struct ssl_ctx_st;

/* Makes c, just made by conn_new() (before the loop ran its first read),
 * a TLS connection with ctx (an SSL_CTX, borrowed: the connection takes
 * its own reference). The handshake runs inside the first reads and must
 * end within the header timeout; the first request's header timeout then
 * starts with its first byte, as on a plain connection. Returns 0, or -1
 * when out of memory (the caller then closes c). */
int conn_start_tls(struct conn *c, struct ssl_ctx_st *ctx);

/* The worker is stopping: closes the connection now when it is idle,
 * otherwise after its current response. */
void conn_shutdown(struct conn *c);

/* A worker thread ends: frees the thread's pooled requests. */
void conn_thread_exit(void);

/* Closes the connection at once, aborting its request. */
void conn_close(struct conn *c);

/* Worker shutdown: conn_shutdown() on every connection of the worker. */
void conn_shutdown_all(struct conn **list);

/* The client's output buffer, where a handler writes the response. */
struct evbuffer *conn_output(struct request *req);

/* Answers with a response sluice makes itself (JSON error body). Ends the
 * request. The connection closes afterwards when the request body was not
 * read whole or the client asked for it. */
void conn_respond(struct request *req, int status, const char *message, const char *extra_headers);

/* A handler wrote the response head with this status to conn_output(). */
void conn_response_started(struct request *req, int status);

/* Writes what the handler queued to the client now (what the socket does
 * not take goes out when it can). Call after adding response bytes. */
void conn_flush(struct request *req);

/* A handler queued the last response byte. Ends the request. */
void conn_response_done(struct request *req);

/* 1 when the client's output holds so much that a handler should stop
 * producing until its writable() operation is called. */
int conn_output_full(struct request *req);

/* A handler cannot take more request body now / can again. */
void conn_body_pause(struct request *req);
void conn_body_resume(struct request *req);

/* The handler has started: request body bytes now flow to it. */
void conn_begin_body(struct request *req);

/* Sends 100 Continue when the client asked for it and the body has not
 * started arriving yet. */
void conn_send_continue(struct request *req);

/* Something broke after the response started (or the request cannot go
 * on): logs why, closes the client connection. Ends the request. */
void conn_abort(struct request *req, const char *why);

/* 1 when req arrived over TLS (a listener with "tls"). */
int conn_is_tls(const struct request *req);

#endif
