/* respond.c - sluice's own responses with JSON error bodies. */
#include "respond.h"

#include <event2/buffer.h>
#include <string.h>

#include "http_parser.h"

int respond_json_escape(struct evbuffer *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t run = 0;
    int rc = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        rc |= evbuffer_add(out, s + run, i - run);
        if (c == '"' || c == '\\') {
            char esc[2] = { '\\', (char)c };
            rc |= evbuffer_add(out, esc, 2);
        } else {
            char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
            rc |= evbuffer_add(out, esc, 6);
        }
        run = i + 1;
    }
    rc |= evbuffer_add(out, s + run, len - run);
    return rc ? -1 : 0;
}

long respond_write(struct evbuffer *out, const struct respond_info *ri)
{
    struct evbuffer *body = evbuffer_new();
    size_t before = evbuffer_get_length(out);
    int rc = 0;

    if (!body)
        return -1;
    rc |= evbuffer_add(body, "{\"message\":\"", 12);
    rc |= respond_json_escape(body, ri->message, strlen(ri->message));
    rc |= evbuffer_add(body, "\",\"request_id\":\"", 16);
    rc |= respond_json_escape(body, ri->request_id, strlen(ri->request_id));
    rc |= evbuffer_add(body, "\"}\n", 3);

    rc |= evbuffer_add_printf(out,
                              "HTTP/1.%d %d %s\r\n"
                              "Content-Type: application/json\r\n"
                              "Content-Length: %zu\r\n"
                              "x-request-id: %s\r\n",
                              ri->client_minor ? 1 : 0, ri->status, http_status_reason(ri->status),
                              evbuffer_get_length(body), ri->request_id) < 0;
    if (ri->date)
        rc |= evbuffer_add_printf(out, "Date: %s\r\n", ri->date) < 0;
    if (ri->version)
        rc |= evbuffer_add_printf(out, "x-sluice-function-version: %s\r\n", ri->version) < 0;
    if (ri->extra_headers)
        rc |= evbuffer_add(out, ri->extra_headers, strlen(ri->extra_headers));
    if (!ri->keep_alive)
        rc |= evbuffer_add(out, "Connection: close\r\n", 19);
    else if (ri->client_minor == 0)
        rc |= evbuffer_add(out, "Connection: keep-alive\r\n", 24);
    rc |= evbuffer_add(out, "\r\n", 2);
    if (!ri->head_only)
        rc |= evbuffer_add_buffer(out, body);
    evbuffer_free(body);
    if (rc)
        return -1;
    return (long)(evbuffer_get_length(out) - before);
}
