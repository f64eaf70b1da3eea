/* json_lines.h - JSON paths, and the line each value of a JSON text starts
 * on: jansson keeps no positions, so config errors find their line here.
 *
 * A path names a value from the root. An object member is ".key" (no dot
 * before a top-level key), an array element "[i]":
 *     routes[2].target    functions.orders.versions.$LATEST.handler
 * A key that is empty or holds '.', '[', ']', '"', '\\' or a control
 * character is written as a JSON string in brackets, so every path reads
 * back unambiguously:  functions["a.b"].versions
 * The root is "". */
#ifndef SLUICE_JSON_LINES_H
#define SLUICE_JSON_LINES_H

#include <stddef.h>

struct json_lines;

/* Indexes the JSON text (len bytes, not necessarily NUL-terminated; not
 * kept). Meant for text a parser has accepted: on malformed text it keeps
 * what it indexed before the fault. Returns NULL only when out of memory;
 * the caller frees with json_lines_free(). */
struct json_lines *json_lines_build(const char *text, size_t len);

/* Frees the index; NULL is a no-op. */
void json_lines_free(struct json_lines *jl);

/* Returns the 1-based line where the value at path starts (for an object
 * member, the line of its key). When the text holds no such value, returns
 * the line of its nearest ancestor that exists; 0 when jl is NULL or
 * empty. Costs one hash probe per path component; never fails. */
int json_lines_line(const struct json_lines *jl, const char *path);

/* Returns the number of values indexed (the root included). */
size_t json_lines_count(const struct json_lines *jl);

/* A path built while walking a document: push a component, recurse, cut
 * back to the mark the push returned. Zero-initialise it ({0}); release
 * with json_lines_path_release(). When an append runs out of memory the
 * path stops growing and failed is set: the caller reports that once. */
struct json_lines_path {
    char *buf; /* NUL-terminated when cap > 0 */
    size_t len, cap;
    int failed;
};

/* Append ".key" (or the bracket form) / "[i]"; return the length before
 * the append, to pass to json_lines_path_cut(). */
size_t json_lines_path_key(struct json_lines_path *p, const char *key);
size_t json_lines_path_index(struct json_lines_path *p, size_t i);

/* Cuts the path back to mark bytes. */
void json_lines_path_cut(struct json_lines_path *p, size_t mark);

/* Returns the path as a string ("" for the root); valid until the next
 * change to p. */
const char *json_lines_path_str(const struct json_lines_path *p);

/* Frees the buffer and resets p to empty. */
void json_lines_path_release(struct json_lines_path *p);

#endif
