/* Conduix HTTP/1.1 response framing, apart from any socket: the status line and
 * headers of a response head, and the chunked transfer coding. cx_http reads bytes
 * from a connection and hands them here; the unit tests feed the same functions
 * byte by byte. */
#ifndef CX_HTTP_WIRE_H
#define CX_HTTP_WIRE_H

#include <apr_pools.h>
#include <stddef.h>

/* A head longer than this is refused: no provider sends one, and the bound keeps a
 * hostile endpoint from growing a buffer without end. */
#define CX_HTTP_HEAD_MAX (64 * 1024)

typedef struct {
    int status;                   /* 100-599 */
    int minor_version;            /* HTTP/1.<minor> */
    int keep_alive;               /* the connection may carry another request after this one */
    int chunked;                  /* Transfer-Encoding: chunked */
    long long content_length;     /* -1 when absent */
    const char *content_type;     /* NULL when absent; copies in the pool */
    const char *retry_after;
    const char *content_encoding;
} cx_http_head_t;

/* Parse the response head at the start of buf. Returns the head's length (through
 * the blank line) when buf holds all of it, 0 when more bytes are needed, -1 when
 * the bytes are not an HTTP/1.x response head (*why says what is wrong). */
long cx_http_head_parse(apr_pool_t *p, const char *buf, size_t len, cx_http_head_t *head,
                        const char **why);

/* Whether a response with this status to a request carries no body at all (1xx,
 * 204, 304). */
int cx_http_status_has_no_body(int status);

/* Decoder of the chunked transfer coding (RFC 9112 section 7.1). Chunk extensions
 * and trailer fields are read and dropped. */
typedef struct {
    int state;
    unsigned long long remaining;   /* payload bytes left in the current chunk */
    int size_digits;
    int line_bytes;                 /* bytes of the current size or trailer line */
} cx_chunked_t;

typedef int (*cx_chunked_emit_fn)(void *baton, const char *data, size_t len);

typedef enum {
    CX_CHUNKED_MORE = 0,   /* all input consumed, the body goes on */
    CX_CHUNKED_DONE,       /* the last chunk and trailers were read; *used says how far */
    CX_CHUNKED_BAD,        /* not the chunked coding */
    CX_CHUNKED_STOPPED     /* emit returned non-zero */
} cx_chunked_result_t;

void cx_chunked_init(cx_chunked_t *d);

/* Decode len bytes of in, handing each run of payload bytes to emit (pointers into
 * in, no copies). *used is set to the bytes consumed (all of them unless DONE). */
cx_chunked_result_t cx_chunked_feed(cx_chunked_t *d, const char *in, size_t len, size_t *used,
                                    cx_chunked_emit_fn emit, void *baton);

/* A buffered response body: grown in a pool by doubling, NUL-terminated, refused
 * (too_large set) past max bytes. Both upstream clients gather answers in one. */
typedef struct {
    apr_pool_t *p;
    apr_size_t max;
    char *buf;
    apr_size_t len, cap;
    int too_large;
} cx_http_body_t;

/* Room for more bytes after len (and the NUL). 0, or -1 when that would pass max. */
int cx_http_body_reserve(cx_http_body_t *b, apr_size_t more);

/* Append n bytes. 0, or -1 when that would pass max. */
int cx_http_body_append(cx_http_body_t *b, const char *data, apr_size_t n);

#endif
