/* pipeline.h - the request path as one explicit sequence:
 *   parse (conn.c) -> route -> authorize -> pick version -> invoke handler
 *   -> respond (handler / conn.c) -> record.
 * Each stage either passes the request on or answers it. */
#ifndef SLUICE_PIPELINE_H
#define SLUICE_PIPELINE_H

#include <stddef.h>

struct request;
struct worker;
struct http_request_head;

/* Runs a parsed request through route, authorize, pick and handler start.
 * The request is answered now (404, 405, 413, ...) or by the handler later;
 * either way the caller must not touch req after this returns. */
void pipeline_start(struct request *req);

/* The authorize stage finished later (it had to wait) and let the
 * request on: continue with pick and handler. */
void pipeline_authorized(struct request *req);

/* The last stage: writes the access log line (and, later, metrics) for a
 * finished request. Called once per request by conn.c. */
void pipeline_record(const struct request *req);

/* Writes the request id to out: the client's x-request-id when h has a
 * sane one (1-64 of [A-Za-z0-9._:-]), else a new random UUID. */
void pipeline_new_request_id(struct worker *w, const struct http_request_head *h, char *out,
                             size_t cap);

#endif
