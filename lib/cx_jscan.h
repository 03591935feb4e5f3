/* Conduix JSON scanner: validates a JSON object document without building a tree and
 * tells where its top-level members (and the members of one chosen inner object) are,
 * as byte offsets into the caller's buffer. The upstream answer rewriting uses it to
 * splice the few bytes it changes instead of parsing and re-serialising whole
 * documents, which is most of what a relayed request costs.
 *
 * It says yes only for documents jansson (JSON_ALLOW_NUL) accepts too: strict RFC 8259
 * syntax and UTF-8. For anything outside its fast path it says no and the caller uses
 * jansson, which then accepts or rejects exactly as before: invalid JSON, a top level
 * that is not an object, more than CX_JSCAN_MAX_MEMBERS top-level members, duplicate
 * top-level keys (jansson keeps the last), keys with escapes, \u surrogates, integers
 * of more than 18 digits, numbers with an exponent or nesting deeper than 64. */
#ifndef CX_JSCAN_H
#define CX_JSCAN_H

#include <apr_pools.h>

#define CX_JSCAN_MAX_MEMBERS 48

typedef enum {
    CX_JV_OBJECT = 1, CX_JV_ARRAY, CX_JV_STRING, CX_JV_NUMBER, CX_JV_TRUE, CX_JV_FALSE, CX_JV_NULL
} cx_jv_type_t;

typedef struct {
    apr_size_t key_start;      /* the key's opening quote */
    apr_size_t key_end;        /* after its closing quote */
    apr_size_t value_start;
    apr_size_t value_end;      /* after the value's last byte */
    cx_jv_type_t type;
    apr_size_t count;          /* elements of an array, members of an object */
    int is_integer;            /* a number without fraction or exponent */
} cx_jmember_t;

typedef struct {
    int n;
    cx_jmember_t m[CX_JSCAN_MAX_MEMBERS];        /* top-level members, in order */
    apr_size_t open, close;                      /* offsets of the outer { and } */
    int inner_n;                                 /* members of the inner object */
    cx_jmember_t inner[CX_JSCAN_MAX_MEMBERS];
} cx_jdoc_t;

/* 1 when buf is a JSON object on the fast path (doc filled in), 0 otherwise.
 * inner_key (or NULL): a top-level key whose object value's members are listed too
 * (the last occurrence wins there, as in jansson). */
int cx_jscan_object(const char *buf, apr_size_t len, const char *inner_key, cx_jdoc_t *doc);

/* The top-level member named key, or NULL. */
const cx_jmember_t *cx_jdoc_get(const cx_jdoc_t *doc, const char *buf, const char *key);
/* The inner object's member named key (its last occurrence), or NULL. */
const cx_jmember_t *cx_jdoc_inner_get(const cx_jdoc_t *doc, const char *buf, const char *key);

/* A non-negative integer member's value; 0 when it is not one (negative, too big). */
int cx_jmember_uint(const cx_jmember_t *m, const char *buf, unsigned long long *out);

/* s as a JSON string literal with its quotes (jansson's escaping: quote, backslash
 * and control characters; UTF-8 left as is). */
char *cx_jscan_quote(apr_pool_t *p, const char *s, apr_size_t *len);

#endif
