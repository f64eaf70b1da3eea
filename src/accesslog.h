/* accesslog.h - one JSON line per finished request. */
#ifndef SLUICE_ACCESSLOG_H
#define SLUICE_ACCESSLOG_H

#include <stddef.h>

struct request;

/* Formats the access log line for req into buf (cap bytes), ending in
 * '\n'. Returns its length (fields too long are cut, the line stays valid
 * JSON), or 0 when cap is too small for even the fixed part. */
size_t accesslog_format(const struct request *req, char *buf, size_t cap);

/* Formats and writes the line when the access log is on. */
void accesslog_write(const struct request *req);

#endif
