/* Conduix: incremental Server-Sent Events parser (WHATWG EventSource rules).
 *
 * Upstream streams arrive in arbitrary chunks; the parser keeps partial lines
 * between feeds and dispatches one callback per complete event. Lines may end
 * in CRLF, LF or CR (a CR at the end of one chunk followed by LF at the start of
 * the next is one line ending). Comment lines (":...") are ignored, multiple
 * "data:" lines are joined with "\n", one space after the colon is stripped,
 * and an event is dispatched on a blank line. An event with no data field is
 * not dispatched. */
#ifndef CX_SSE_H
#define CX_SSE_H

#include <apr_pools.h>

typedef struct cx_sse_parser cx_sse_parser;

/* Called once per complete event. event_name is NULL when no "event:" field
 * was given; data is NUL-terminated (data_len excludes the NUL). Return 0 to
 * continue, non-zero to abort parsing (cx_sse_feed then returns that value). */
typedef int (*cx_sse_event_fn)(void *baton, const char *event_name,
                               const char *data, apr_size_t data_len);

/* max_event_bytes bounds the memory one event may take (0 = 1 MiB). */
cx_sse_parser *cx_sse_parser_create(apr_pool_t *p, cx_sse_event_fn fn, void *baton,
                                    apr_size_t max_event_bytes);

/* Feed bytes. Returns 0, the callback's non-zero value, or CX_SSE_TOO_BIG when an
 * event exceeds the bound. */
#define CX_SSE_TOO_BIG (-2)
int cx_sse_feed(cx_sse_parser *sp, const char *buf, apr_size_t len);

/* End of stream. Returns 1 when an unterminated event or partial line was
 * pending (the stream was cut mid-event; it is discarded, as EventSource does),
 * 0 when the stream ended cleanly on an event boundary. */
int cx_sse_finish(cx_sse_parser *sp);

/* Number of events dispatched so far. */
apr_size_t cx_sse_event_count(const cx_sse_parser *sp);

#endif
