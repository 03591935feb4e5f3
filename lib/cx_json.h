/* Conduix: jansson tied to APR pools. A json_t handed to cx_json_own is released
 * when the pool is cleared, so no error path can leak it. json_t values are never
 * shared between threads: each request builds its own. */
#ifndef CX_JSON_H
#define CX_JSON_H

#include <apr_pools.h>
#include <jansson.h>

/* Register json_decref(j) as a cleanup of p; returns j (NULL passes through). */
json_t *cx_json_own(apr_pool_t *p, json_t *j);

/* Parse len bytes; on failure returns NULL and sets *err (from p) to
 * "line L column C: text". The result is owned by p. */
json_t *cx_json_parse(apr_pool_t *p, const char *buf, apr_size_t len, const char **err);

/* Serialize compactly into p; *len gets the length (may be NULL). Reals print with
 * 15 significant digits, so decimal prices such as 0.15 come out as written. */
char *cx_json_dump(apr_pool_t *p, const json_t *j, apr_size_t *len);
/* cx_json_dump of the object obj as if json_object_set had been called with each
 * override on a copy of it first: an existing member keeps its place with the new
 * value, a new one goes at the end, in the order given. Saves copying the object to
 * change a member or two (the upstream body of every request). */
typedef struct {
    const char *key;
    const json_t *value;
} cx_json_override_t;
char *cx_json_dump_with(apr_pool_t *p, const json_t *obj, const cx_json_override_t *ov, int n,
                        apr_size_t *len);

/* Same with explicit jansson flags. */
char *cx_json_dump_flags(apr_pool_t *p, const json_t *j, size_t flags, apr_size_t *len);

/* The same through json_dumps (any flags); the reference the unit tests compare the
 * fast writer of cx_json_dump_flags to. */
char *cx_json_dump_jansson(apr_pool_t *p, const json_t *j, size_t flags, apr_size_t *len);

/* Quote s as a JSON string literal (with the quotes), allocated from p. */
const char *cx_json_quote(apr_pool_t *p, const char *s);

#endif
