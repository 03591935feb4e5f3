#include "cx_http_wire.h"

#include <apr_strings.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------ the head */

static int is_token_char(unsigned char ch)
{
    return ch > 32 && ch < 127 && !strchr("\"(),/:;<=>?@[\\]{}", ch);
}

static const char *trim_copy(apr_pool_t *p, const char *v, const char *end)
{
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    return apr_pstrmemdup(p, v, end - v);
}

/* Whether the comma-separated list in [v, end) holds token (case-insensitive). */
static int list_has(const char *v, const char *end, const char *token)
{
    size_t tl = strlen(token);
    while (v < end) {
        while (v < end && (*v == ' ' || *v == '\t' || *v == ','))
            v++;
        const char *s = v;
        while (v < end && *v != ',')
            v++;
        const char *e = v;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if ((size_t)(e - s) == tl && !strncasecmp(s, token, tl))
            return 1;
    }
    return 0;
}

/* The last element of the comma-separated list in [v, end). */
static int list_ends_with(const char *v, const char *end, const char *token)
{
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    const char *s = end;
    while (s > v && s[-1] != ',')
        s--;
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    size_t tl = strlen(token);
    return (size_t)(end - s) == tl && !strncasecmp(s, token, tl);
}

static int name_is(const char *name, size_t n, const char *want)
{
    return strlen(want) == n && !strncasecmp(name, want, n);
}

long cx_http_head_parse(apr_pool_t *p, const char *buf, size_t len, cx_http_head_t *head,
                        const char **why)
{
    *why = NULL;
    /* Find the blank line first: nothing is parsed twice while the head trickles in. */
    size_t limit = len < CX_HTTP_HEAD_MAX ? len : CX_HTTP_HEAD_MAX;
    size_t end = 0;
    for (const char *nl = memchr(buf, '\n', limit); nl; nl = memchr(nl + 1, '\n', limit - (nl + 1 - buf))) {
        const char *after = nl + 1;
        if (after < buf + limit && *after == '\n') {
            end = after + 1 - buf;
            break;
        }
        if (after + 1 < buf + limit && after[0] == '\r' && after[1] == '\n') {
            end = after + 2 - buf;
            break;
        }
        if (after >= buf + limit)
            break;
    }
    if (!end) {
        if (len >= CX_HTTP_HEAD_MAX) {
            *why = "the response head is larger than 64 KB";
            return -1;
        }
        if (len >= 5 && memcmp(buf, "HTTP/", 5)) {
            *why = "the answer is not HTTP/1.x";
            return -1;
        }
        return 0;
    }

    memset(head, 0, sizeof *head);
    head->content_length = -1;
    /* "HTTP/1.x SSS[ reason]" */
    if (end < 13 || memcmp(buf, "HTTP/1.", 7) || buf[7] < '0' || buf[7] > '9' || buf[8] != ' ' ||
        buf[9] < '1' || buf[9] > '5' || buf[10] < '0' || buf[10] > '9' || buf[11] < '0' ||
        buf[11] > '9' || (buf[12] != ' ' && buf[12] != '\r' && buf[12] != '\n')) {
        *why = "the status line is not HTTP/1.x";
        return -1;
    }
    head->minor_version = buf[7] - '0';
    head->status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
    int conn_close = 0, conn_keep = 0, te_seen = 0;
    const char *line = memchr(buf, '\n', end) + 1;
    const char *stop = buf + end;
    while (line < stop) {
        const char *nl = memchr(line, '\n', stop - line);
        const char *le = nl > line && nl[-1] == '\r' ? nl - 1 : nl;
        if (le == line)
            break;   /* the blank line */
        if (*line == ' ' || *line == '\t') {
            *why = "the response uses obsolete header line folding";
            return -1;
        }
        const char *colon = memchr(line, ':', le - line);
        if (!colon || colon == line) {
            *why = "a response header line has no name";
            return -1;
        }
        for (const char *c = line; c < colon; c++) {
            if (!is_token_char((unsigned char)*c)) {
                *why = "a response header name is not a token";
                return -1;
            }
        }
        size_t nlen = colon - line;
        const char *v = colon + 1;
        if (name_is(line, nlen, "content-length")) {
            const char *s = v, *e = le;
            while (s < e && (*s == ' ' || *s == '\t'))
                s++;
            while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
                e--;
            if (s == e || e - s > 18) {
                *why = "the response's Content-Length is not a number";
                return -1;
            }
            long long n = 0;
            for (const char *c = s; c < e; c++) {
                if (*c < '0' || *c > '9') {
                    *why = "the response's Content-Length is not a number";
                    return -1;
                }
                n = n * 10 + (*c - '0');
            }
            if (head->content_length >= 0 && head->content_length != n) {
                *why = "the response has two different Content-Length headers";
                return -1;
            }
            head->content_length = n;
        }
        else if (name_is(line, nlen, "transfer-encoding")) {
            te_seen = 1;
            head->chunked = list_ends_with(v, le, "chunked");
        }
        else if (name_is(line, nlen, "connection")) {
            conn_close |= list_has(v, le, "close");
            conn_keep |= list_has(v, le, "keep-alive");
        }
        else if (name_is(line, nlen, "content-type"))
            head->content_type = trim_copy(p, v, le);
        else if (name_is(line, nlen, "retry-after"))
            head->retry_after = trim_copy(p, v, le);
        else if (name_is(line, nlen, "content-encoding"))
            head->content_encoding = trim_copy(p, v, le);
        line = nl + 1;
    }
    head->keep_alive = head->minor_version >= 1 ? !conn_close : (conn_keep && !conn_close);
    if (te_seen) {
        /* Transfer-Encoding overrides Content-Length; a message with both may be an
         * attempt at request smuggling, so its connection is not used again. Any
         * coding but a final chunked leaves the body delimited by the close. */
        if (head->content_length >= 0 || !head->chunked)
            head->keep_alive = 0;
        head->content_length = -1;
    }
    return (long)end;
}

int cx_http_status_has_no_body(int status)
{
    return status < 200 || status == 204 || status == 304;
}

/* ------------------------------------------------------------ buffered body */

int cx_http_body_reserve(cx_http_body_t *b, apr_size_t more)
{
    if (b->len + more > b->max) {
        b->too_large = 1;
        return -1;
    }
    if (b->len + more + 1 > b->cap) {
        apr_size_t cap = b->cap ? b->cap * 2 : 8192;
        while (cap < b->len + more + 1)
            cap *= 2;
        char *nb = apr_palloc(b->p, cap);
        if (b->len)
            memcpy(nb, b->buf, b->len);
        b->buf = nb;
        b->cap = cap;
    }
    return 0;
}

int cx_http_body_append(cx_http_body_t *b, const char *data, apr_size_t n)
{
    if (cx_http_body_reserve(b, n) != 0)
        return -1;
    memcpy(b->buf + b->len, data, n);
    b->len += n;
    b->buf[b->len] = '\0';
    return 0;
}

/* ---------------------------------------------------------- chunked coding */

enum {
    S_SIZE = 0,
    S_EXT,
    S_SIZE_LF,
    S_DATA,
    S_DATA_CR,
    S_DATA_LF,
    S_TRAILER,
    S_TRAILER_LF,
    S_DONE
};

void cx_chunked_init(cx_chunked_t *d)
{
    memset(d, 0, sizeof *d);
}

static int hex_value(unsigned char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch |= 0x20;
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

cx_chunked_result_t cx_chunked_feed(cx_chunked_t *d, const char *in, size_t len, size_t *used,
                                    cx_chunked_emit_fn emit, void *baton)
{
    size_t i = 0;
    *used = 0;
    while (i < len) {
        unsigned char ch = (unsigned char)in[i];
        switch (d->state) {
        case S_SIZE: {
            int h = hex_value(ch);
            if (h >= 0) {
                if (++d->size_digits > 15)
                    return CX_CHUNKED_BAD;   /* beyond any size we would read anyway */
                d->remaining = d->remaining * 16 + (unsigned)h;
                i++;
                continue;
            }
            if (!d->size_digits)
                return CX_CHUNKED_BAD;
            if (ch == ';' || ch == ' ' || ch == '\t')
                d->state = S_EXT;
            else if (ch == '\r')
                d->state = S_SIZE_LF;
            else if (ch == '\n')
                goto size_line_done;
            else
                return CX_CHUNKED_BAD;
            i++;
            continue;
        }
        case S_EXT:
            if (ch == '\r')
                d->state = S_SIZE_LF;
            else if (ch == '\n')
                goto size_line_done;
            else if (++d->line_bytes > 4096)
                return CX_CHUNKED_BAD;
            i++;
            continue;
        case S_SIZE_LF:
            if (ch != '\n')
                return CX_CHUNKED_BAD;
        size_line_done:
            i++;
            d->line_bytes = 0;
            d->state = d->remaining ? S_DATA : S_TRAILER;
            continue;
        case S_DATA: {
            size_t n = len - i;
            if (n > d->remaining)
                n = (size_t)d->remaining;
            if (emit(baton, in + i, n) != 0) {
                *used = i + n;
                d->remaining -= n;
                return CX_CHUNKED_STOPPED;
            }
            d->remaining -= n;
            i += n;
            if (!d->remaining)
                d->state = S_DATA_CR;
            continue;
        }
        case S_DATA_CR:
            if (ch == '\r')
                d->state = S_DATA_LF;
            else if (ch == '\n') {
                d->state = S_SIZE;
                d->size_digits = 0;
            }
            else
                return CX_CHUNKED_BAD;
            i++;
            continue;
        case S_DATA_LF:
            if (ch != '\n')
                return CX_CHUNKED_BAD;
            d->state = S_SIZE;
            d->size_digits = 0;
            i++;
            continue;
        case S_TRAILER:
            if (ch == '\r')
                d->state = S_TRAILER_LF;
            else if (ch == '\n')
                goto trailer_line_done;
            else if (++d->line_bytes > CX_HTTP_HEAD_MAX)
                return CX_CHUNKED_BAD;
            i++;
            continue;
        case S_TRAILER_LF:
            if (ch != '\n')
                return CX_CHUNKED_BAD;
        trailer_line_done:
            i++;
            if (!d->line_bytes) {
                d->state = S_DONE;
                *used = i;
                return CX_CHUNKED_DONE;
            }
            d->line_bytes = 0;
            d->state = S_TRAILER;
            continue;
        case S_DONE:
        default:
            *used = i;
            return CX_CHUNKED_DONE;
        }
    }
    *used = i;
    return d->state == S_DONE ? CX_CHUNKED_DONE : CX_CHUNKED_MORE;
}
