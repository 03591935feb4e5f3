/* Conduix: incremental Server-Sent Events parser.
 *
 * Implements "parsing an event stream" and "interpreting an event stream" of the
 * WHATWG HTML standard (section 9.2.5/9.2.6), minus the parts that only matter
 * to a browser (id/retry are recognised and ignored). Bytes are passed through
 * unchanged; the proxy forwards what upstream sent and does not re-encode it. */
#include "cx_sse.h"

#include <string.h>

#define CX_SSE_DEFAULT_MAX_EVENT (1024 * 1024)

/* A growable byte buffer living in the parser's pool. Capacity doubles and is
 * never released, but the event bound caps it, so a long stream of many events
 * reuses the same memory instead of allocating per event. */
typedef struct {
    char *data;
    apr_size_t len;
    apr_size_t cap;
} sse_buf;

struct cx_sse_parser {
    apr_pool_t *pool;
    cx_sse_event_fn fn;
    void *baton;
    apr_size_t max_event_bytes;

    sse_buf line;         /* bytes of a line not yet terminated */
    sse_buf data;         /* the event's data buffer, each value followed by LF */
    sse_buf event_name;   /* NUL-terminated when len > 0 */

    int after_cr;         /* last byte was CR: a following LF belongs to it */
    int bom_matched;      /* UTF-8 BOM bytes matched at stream start; -1 when done */
    int event_open;       /* a field line was seen since the last blank line */
    int sticky_rv;        /* once aborted or over the bound, every feed says so */
    apr_size_t dispatched;
};

static const unsigned char utf8_bom[3] = { 0xEF, 0xBB, 0xBF };

cx_sse_parser *cx_sse_parser_create(apr_pool_t *p, cx_sse_event_fn fn, void *baton,
                                    apr_size_t max_event_bytes)
{
    cx_sse_parser *sp = apr_pcalloc(p, sizeof *sp);
    sp->pool = p;
    sp->fn = fn;
    sp->baton = baton;
    sp->max_event_bytes = max_event_bytes ? max_event_bytes : CX_SSE_DEFAULT_MAX_EVENT;
    sp->bom_matched = 0;
    return sp;
}

/* The bound covers what the pending event holds: its data and name buffers
 * plus any partial line, and `extra` bytes about to be added. */
static int fits(const cx_sse_parser *sp, apr_size_t used, apr_size_t extra)
{
    return used <= sp->max_event_bytes && extra <= sp->max_event_bytes - used;
}

static int within_bound(const cx_sse_parser *sp, apr_size_t extra)
{
    return fits(sp, sp->line.len + sp->data.len + sp->event_name.len, extra);
}

/* While a complete line is being interpreted it is released right afterwards,
 * so the line buffer does not count twice against the event's fields. */
static int fields_within_bound(const cx_sse_parser *sp, apr_size_t extra)
{
    return fits(sp, sp->data.len + sp->event_name.len, extra);
}

/* Make room for `extra` more bytes plus a NUL. The caller has already checked
 * the event bound, so the sizes here cannot overflow. */
static void buf_reserve(apr_pool_t *p, sse_buf *b, apr_size_t extra)
{
    apr_size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return;
    apr_size_t cap = b->cap ? b->cap : 128;
    while (cap < need)
        cap *= 2;
    char *grown = apr_palloc(p, cap);
    if (b->len)
        memcpy(grown, b->data, b->len);
    b->data = grown;
    b->cap = cap;
}

static void buf_append(apr_pool_t *p, sse_buf *b, const char *bytes, apr_size_t n)
{
    buf_reserve(p, b, n);
    if (n)
        memcpy(b->data + b->len, bytes, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static int dispatch_event(cx_sse_parser *sp)
{
    sp->event_open = 0;
    if (sp->data.len == 0) {
        /* No data field: per the standard the event is dropped, name included. */
        sp->event_name.len = 0;
        return 0;
    }
    /* Every data line appended a LF; the last one is not part of the data, and
     * overwriting it gives the NUL terminator for free. */
    apr_size_t data_len = sp->data.len - 1;
    sp->data.data[data_len] = '\0';
    /* An empty event name means the default type, same as none at all. */
    const char *name = sp->event_name.len ? sp->event_name.data : NULL;

    sp->dispatched++;
    int rv = sp->fn ? sp->fn(sp->baton, name, sp->data.data, data_len) : 0;
    sp->data.len = 0;
    sp->event_name.len = 0;
    return rv;
}

static int field_is(const char *field, apr_size_t len, const char *name)
{
    return len == strlen(name) && memcmp(field, name, len) == 0;
}

static int process_line(cx_sse_parser *sp, const char *line, apr_size_t len)
{
    if (len == 0)
        return dispatch_event(sp);
    if (line[0] == ':')
        return 0;                       /* comment, e.g. a keep-alive */

    const char *colon = memchr(line, ':', len);
    apr_size_t field_len = colon ? (apr_size_t)(colon - line) : len;
    const char *value = colon ? colon + 1 : line + len;
    apr_size_t value_len = (apr_size_t)(line + len - value);
    if (value_len > 0 && value[0] == ' ') {
        value++;
        value_len--;
    }

    sp->event_open = 1;
    if (field_is(line, field_len, "data")) {
        if (!fields_within_bound(sp, value_len + 1))
            return CX_SSE_TOO_BIG;
        buf_append(sp->pool, &sp->data, value, value_len);
        buf_append(sp->pool, &sp->data, "\n", 1);
    } else if (field_is(line, field_len, "event")) {
        apr_size_t old = sp->event_name.len;
        sp->event_name.len = 0;
        if (!fields_within_bound(sp, value_len)) {
            sp->event_name.len = old;
            return CX_SSE_TOO_BIG;
        }
        buf_append(sp->pool, &sp->event_name, value, value_len);
    }
    /* "id", "retry" and unknown fields: nothing a proxy needs to act on. */
    return 0;
}

/* A complete line: either straight from the caller's buffer (the common case,
 * no copy) or, when it started in an earlier chunk, from the line buffer. */
static int finish_line(cx_sse_parser *sp, const char *tail, apr_size_t tail_len)
{
    /* Checked on the whole raw line whether or not it was buffered, so the
     * outcome does not depend on where the chunks happened to split. A line
     * that passes here can never push the data buffer past the bound either:
     * the value plus its LF is never longer than the raw line. */
    if (!within_bound(sp, tail_len))
        return CX_SSE_TOO_BIG;
    if (sp->line.len == 0)
        return process_line(sp, tail, tail_len);
    buf_append(sp->pool, &sp->line, tail, tail_len);
    int rv = process_line(sp, sp->line.data, sp->line.len);
    sp->line.len = 0;
    return rv;
}

/* The standard strips one leading UTF-8 BOM. It may arrive split across feeds,
 * so the matched prefix is remembered; on a mismatch the held-back bytes are
 * ordinary line content. Returns how many bytes of buf were consumed. */
static apr_size_t skip_bom(cx_sse_parser *sp, const char *buf, apr_size_t len)
{
    apr_size_t used = 0;
    while (sp->bom_matched >= 0 && used < len) {
        if ((unsigned char)buf[used] == utf8_bom[sp->bom_matched]) {
            used++;
            if (++sp->bom_matched == (int)sizeof utf8_bom)
                sp->bom_matched = -1;
        } else {
            /* None of the BOM bytes is a line terminator, so a partial match
             * simply starts the first line (at most two bytes). */
            buf_append(sp->pool, &sp->line, (const char *)utf8_bom, (apr_size_t)sp->bom_matched);
            sp->bom_matched = -1;
        }
    }
    return used;
}

int cx_sse_feed(cx_sse_parser *sp, const char *buf, apr_size_t len)
{
    if (sp->sticky_rv)
        return sp->sticky_rv;

    apr_size_t pos = skip_bom(sp, buf, len);
    int rv = 0;

    while (pos < len && rv == 0) {
        if (sp->after_cr) {
            sp->after_cr = 0;
            if (buf[pos] == '\n') {
                pos++;
                continue;
            }
        }
        const char *start = buf + pos;
        apr_size_t remaining = len - pos;
        const char *lf = memchr(start, '\n', remaining);
        const char *cr = memchr(start, '\r', lf ? (apr_size_t)(lf - start) : remaining);
        const char *eol = cr ? cr : lf;

        if (eol == NULL) {
            /* Partial line: keep it for the next feed. */
            if (!within_bound(sp, remaining)) {
                rv = CX_SSE_TOO_BIG;
                break;
            }
            buf_append(sp->pool, &sp->line, start, remaining);
            pos = len;
            break;
        }
        rv = finish_line(sp, start, (apr_size_t)(eol - start));
        pos += (apr_size_t)(eol - start) + 1;
        if (*eol == '\r')
            sp->after_cr = 1;
    }

    if (rv != 0)
        sp->sticky_rv = rv;
    return rv;
}

int cx_sse_finish(cx_sse_parser *sp)
{
    /* A held-back partial BOM is a partial first line too. */
    int cut = sp->line.len > 0 || sp->event_open || sp->bom_matched > 0
              || sp->data.len > 0;
    /* EventSource discards the incomplete event at end of stream. */
    sp->line.len = 0;
    sp->data.len = 0;
    sp->event_name.len = 0;
    sp->event_open = 0;
    sp->after_cr = 0;
    sp->bom_matched = -1;
    return cut ? 1 : 0;
}

apr_size_t cx_sse_event_count(const cx_sse_parser *sp)
{
    return sp->dispatched;
}
