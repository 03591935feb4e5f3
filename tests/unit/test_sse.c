/* Unit tests for cx_sse: the incremental SSE parser must produce the same
 * events however the upstream bytes are chunked. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_tables.h>

#include "cx_unit.h"
#include "cx_sse.h"

typedef struct {
    const char *name;       /* NULL when the event had no (or an empty) event: field */
    const char *data;
    apr_size_t data_len;
} seen_event;

typedef struct {
    apr_pool_t *pool;
    apr_array_header_t *events;   /* of seen_event */
    int abort_at;                 /* return non-zero on this event (1-based), 0 = never */
} collector;

static int collect(void *baton, const char *event_name, const char *data, apr_size_t data_len)
{
    collector *c = baton;
    ck_assert_msg(data[data_len] == '\0', "data must be NUL-terminated");
    seen_event *e = apr_array_push(c->events);
    /* The parser reuses its buffers, so keep copies. */
    e->name = event_name ? apr_pstrdup(c->pool, event_name) : NULL;
    e->data = apr_pmemdup(c->pool, data, data_len + 1);
    e->data_len = data_len;
    if (c->abort_at && c->events->nelts == c->abort_at)
        return 7;
    return 0;
}

static collector *collector_new(apr_pool_t *p)
{
    collector *c = apr_pcalloc(p, sizeof *c);
    c->pool = p;
    c->events = apr_array_make(p, 8, sizeof(seen_event));
    return c;
}

/* A stream exercising every rule: leading BOM, CRLF / LF / CR endings, LF+CR as
 * two endings, comments, a blank line with no data, multi-line data, the
 * optional space after the colon, "data" without a colon, an event with only a
 * name (not dispatched), id/retry/unknown fields, colons inside the value and
 * the terminating [DONE]. */
static const char stream[] =
    "\xEF\xBB\xBF"
    ": welcome comment\r\n"
    "\r\n"
    "data: {\"id\":1,\"choices\":[]}\r\n"
    "\r\n"
    "event: ping\n"
    "data: first line\n"
    "data:second line no space\n"
    "data:  two spaces\n"
    "\n"
    ": keep-alive\r"
    "id: 7\r"
    "retry: 1000\r"
    "data\r"
    "\r"
    "event: only-name\n"
    "\n"
    "data: cr\r"
    "data: mixed\r\n"
    "event: message\r\n"
    "\r\n"
    "field-without-colon\n"
    "data: a:b: c\n"
    "\n\r"
    "event:\n"
    "data: lf then cr\n"
    "\r\n"
    "data: [DONE]\n"
    "\n";

static const seen_event expected[] = {
    { NULL, "{\"id\":1,\"choices\":[]}", 21 },
    { "ping", "first line\nsecond line no space\n two spaces", 43 },
    { NULL, "", 0 },
    { "message", "cr\nmixed", 8 },
    { NULL, "a:b: c", 6 },
    { NULL, "lf then cr", 10 },
    { NULL, "[DONE]", 6 },
};
#define N_EXPECTED (sizeof expected / sizeof expected[0])

static void assert_expected_events(const collector *c, const char *how)
{
    ck_assert_msg((size_t)c->events->nelts == N_EXPECTED, "%s: got %d events, want %zu",
                  how, c->events->nelts, N_EXPECTED);
    for (size_t i = 0; i < N_EXPECTED; i++) {
        const seen_event *got = &APR_ARRAY_IDX(c->events, i, seen_event);
        const seen_event *want = &expected[i];
        ck_assert_msg(got->data_len == want->data_len
                      && memcmp(got->data, want->data, want->data_len) == 0,
                      "%s: event %zu data \"%s\", want \"%s\"", how, i, got->data, want->data);
        if (want->name == NULL)
            ck_assert_msg(got->name == NULL, "%s: event %zu name \"%s\", want none",
                          how, i, got->name);
        else
            ck_assert_msg(got->name && strcmp(got->name, want->name) == 0,
                          "%s: event %zu name %s, want %s", how, i,
                          got->name ? got->name : "(none)", want->name);
    }
}

/* Parse `stream` split at the given offsets (ascending, within the stream). */
static void parse_split(const apr_size_t *cuts, size_t n_cuts, const char *how)
{
    apr_pool_t *sub;
    apr_pool_create(&sub, pool);
    collector *c = collector_new(sub);
    cx_sse_parser *sp = cx_sse_parser_create(sub, collect, c, 0);
    apr_size_t len = sizeof stream - 1, from = 0;
    for (size_t i = 0; i <= n_cuts; i++) {
        apr_size_t to = i < n_cuts ? cuts[i] : len;
        ck_assert_int_eq(cx_sse_feed(sp, stream + from, to - from), 0);
        from = to;
    }
    ck_assert_msg(cx_sse_finish(sp) == 0, "%s: clean end reported as cut", how);
    assert_expected_events(c, how);
    ck_assert_uint_eq(cx_sse_event_count(sp), N_EXPECTED);
    apr_pool_destroy(sub);
}

START_TEST(test_whole_stream)
{
    parse_split(NULL, 0, "one chunk");
}
END_TEST

START_TEST(test_every_single_split_point)
{
    for (apr_size_t cut = 0; cut <= sizeof stream - 1; cut++) {
        char how[48];
        snprintf(how, sizeof how, "split at %zu", (size_t)cut);
        parse_split(&cut, 1, how);
    }
}
END_TEST

START_TEST(test_byte_by_byte)
{
    apr_size_t len = sizeof stream - 1;
    apr_size_t *cuts = apr_palloc(pool, len * sizeof *cuts);
    for (apr_size_t i = 0; i < len; i++)
        cuts[i] = i + 1;
    parse_split(cuts, len - 1, "byte by byte");
}
END_TEST

START_TEST(test_random_chunk_sizes)
{
    uint64_t rng = 0x2545F4914F6CDD1DULL;          /* fixed seed: reproducible */
    apr_size_t len = sizeof stream - 1;
    apr_size_t *cuts = apr_palloc(pool, len * sizeof *cuts);
    for (int round = 0; round < 500; round++) {
        size_t n = 0;
        apr_size_t at = 0;
        for (;;) {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            at += 1 + (apr_size_t)(rng % 24);
            if (at >= len)
                break;
            cuts[n++] = at;
        }
        char how[48];
        snprintf(how, sizeof how, "random round %d", round);
        parse_split(cuts, n, how);
    }
}
END_TEST

/* Feed a C string in one go and return the collector. */
static collector *parse_text(const char *text, int *feed_rv, int *finish_rv)
{
    collector *c = collector_new(pool);
    cx_sse_parser *sp = cx_sse_parser_create(pool, collect, c, 0);
    *feed_rv = cx_sse_feed(sp, text, strlen(text));
    *finish_rv = cx_sse_finish(sp);
    return c;
}

START_TEST(test_finish_detects_cut_streams)
{
    static const struct { const char *text; int cut; } cases[] = {
        { "", 0 },
        { "data: a\n\n", 0 },
        { "data: a\r\n\r\n", 0 },
        { "data: a\r\r", 0 },
        { "data: a\n\r", 0 },
        { "data: a\n\n: trailing comment\n", 0 },   /* a comment opens no event */
        { "data: a\n\n\n\n", 0 },
        { "data: partial", 1 },                       /* partial line */
        { "data: a\n", 1 },                           /* no blank line yet */
        { "data: a\r", 1 },
        { "data: a\n\ndata: b\ndata: c\n", 1 },
        { "event: x\n", 1 },                          /* an event was opened */
        { "id: 3\n", 1 },
        { ": partial comm", 1 },
        { "\xEF\xBB", 1 },                            /* half a BOM is half a line */
        { "\xEF\xBB\xBF", 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int feed_rv, finish_rv;
        parse_text(cases[i].text, &feed_rv, &finish_rv);
        ck_assert_int_eq(feed_rv, 0);
        ck_assert_msg(finish_rv == cases[i].cut, "case %zu: finish %d, want %d",
                      i, finish_rv, cases[i].cut);
    }
}
END_TEST

START_TEST(test_cut_event_is_discarded)
{
    int feed_rv, finish_rv;
    collector *c = parse_text("data: done\n\ndata: cut off mid-", &feed_rv, &finish_rv);
    ck_assert_int_eq(finish_rv, 1);
    ck_assert_int_eq(c->events->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(c->events, 0, seen_event).data, "done");

    c = parse_text("data: done\n\ndata: whole line but no blank\n", &feed_rv, &finish_rv);
    ck_assert_int_eq(finish_rv, 1);
    ck_assert_int_eq(c->events->nelts, 1);
}
END_TEST

START_TEST(test_binary_safe_data_and_partial_bom)
{
    collector *c = collector_new(pool);
    cx_sse_parser *sp = cx_sse_parser_create(pool, collect, c, 0);
    static const char nul_inside[] = "data: a\0b\n\n";
    ck_assert_int_eq(cx_sse_feed(sp, nul_inside, sizeof nul_inside - 1), 0);
    ck_assert_int_eq(c->events->nelts, 1);
    ck_assert_uint_eq(APR_ARRAY_IDX(c->events, 0, seen_event).data_len, 3);
    ck_assert_int_eq(memcmp(APR_ARRAY_IDX(c->events, 0, seen_event).data, "a\0b", 4), 0);

    /* Only a complete BOM is stripped: a stray 0xEF belongs to the field name,
     * which then is not "data". */
    int feed_rv, finish_rv;
    c = parse_text("\xEF" "data: x\n\ndata: y\n\n", &feed_rv, &finish_rv);
    ck_assert_int_eq(c->events->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(c->events, 0, seen_event).data, "y");

    /* A second BOM is not stripped either. */
    c = parse_text("\xEF\xBB\xBF\xEF\xBB\xBF" "data: x\n\ndata: y\n\n", &feed_rv, &finish_rv);
    ck_assert_int_eq(c->events->nelts, 1);
}
END_TEST

START_TEST(test_callback_abort_stops_parsing)
{
    collector *c = collector_new(pool);
    c->abort_at = 2;
    cx_sse_parser *sp = cx_sse_parser_create(pool, collect, c, 0);
    const char *text = "data: 1\n\ndata: 2\n\ndata: 3\n\n";
    ck_assert_int_eq(cx_sse_feed(sp, text, strlen(text)), 7);
    ck_assert_int_eq(c->events->nelts, 2);
    ck_assert_uint_eq(cx_sse_event_count(sp), 2);
    /* Further input is refused the same way rather than half-parsed. */
    ck_assert_int_eq(cx_sse_feed(sp, "data: 4\n\n", 9), 7);
    ck_assert_int_eq(c->events->nelts, 2);
}
END_TEST

/* Feed `text` with the given bound, whole or byte by byte; returns the first
 * non-zero feed result (or 0) and the number of events dispatched. */
static int feed_bounded(const char *text, apr_size_t bound, int bytewise, int *n_events)
{
    collector *c = collector_new(pool);
    cx_sse_parser *sp = cx_sse_parser_create(pool, collect, c, bound);
    apr_size_t len = strlen(text);
    int rv = 0;
    if (bytewise) {
        for (apr_size_t i = 0; i < len && rv == 0; i++)
            rv = cx_sse_feed(sp, text + i, 1);
    } else {
        rv = cx_sse_feed(sp, text, len);
    }
    *n_events = c->events->nelts;
    if (rv == CX_SSE_TOO_BIG)   /* the error sticks */
        ck_assert_int_eq(cx_sse_feed(sp, "\n\n", 2), CX_SSE_TOO_BIG);
    return rv;
}

START_TEST(test_event_bound)
{
    const apr_size_t bound = 64;
    /* "data: " + 58 bytes = a 64-byte line: exactly at the bound. */
    char *fits = apr_pstrcat(pool, "data: ", apr_psprintf(pool, "%058d", 0), "\n\n", NULL);
    char *over = apr_pstrcat(pool, "data: ", apr_psprintf(pool, "%059d", 0), "\n\n", NULL);
    /* Several lines that are each small but together exceed the bound. */
    const char *accumulates = "data: 0123456789012345678901234567890123456789\n"
                              "data: 0123456789012345678901234567890123456789\n\n";
    /* A line that never ends must not grow without limit. */
    char *endless = apr_pstrcat(pool, "data: ", apr_psprintf(pool, "%0100d", 0), NULL);

    for (int bytewise = 0; bytewise <= 1; bytewise++) {
        int n;
        ck_assert_int_eq(feed_bounded(fits, bound, bytewise, &n), 0);
        ck_assert_int_eq(n, 1);
        ck_assert_int_eq(feed_bounded(over, bound, bytewise, &n), CX_SSE_TOO_BIG);
        ck_assert_int_eq(n, 0);
        ck_assert_int_eq(feed_bounded(accumulates, bound, bytewise, &n), CX_SSE_TOO_BIG);
        ck_assert_int_eq(n, 0);
        ck_assert_int_eq(feed_bounded(endless, bound, bytewise, &n), CX_SSE_TOO_BIG);
    }

    /* The bound is per event: many events each under it are fine. */
    collector *c = collector_new(pool);
    cx_sse_parser *sp = cx_sse_parser_create(pool, collect, c, bound);
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(cx_sse_feed(sp, fits, strlen(fits)), 0);
    ck_assert_int_eq(c->events->nelts, 1000);
    ck_assert_int_eq(cx_sse_finish(sp), 0);
}
END_TEST

START_TEST(test_default_bound_is_one_mib)
{
    const apr_size_t mib = 1024 * 1024;
    char *text = apr_palloc(pool, mib + 8);
    memcpy(text, "data: ", 6);

    /* A raw line of exactly 1 MiB fits. */
    memset(text + 6, 'x', mib - 6);
    memcpy(text + mib, "\n\n", 2);
    collector *c = collector_new(pool);
    cx_sse_parser *sp = cx_sse_parser_create(pool, collect, c, 0);
    ck_assert_int_eq(cx_sse_feed(sp, text, mib + 2), 0);
    ck_assert_int_eq(c->events->nelts, 1);
    ck_assert_uint_eq(APR_ARRAY_IDX(c->events, 0, seen_event).data_len, mib - 6);

    /* One byte more does not. */
    memset(text + 6, 'x', mib - 5);
    memcpy(text + mib + 1, "\n\n", 2);
    c = collector_new(pool);
    sp = cx_sse_parser_create(pool, collect, c, 0);
    ck_assert_int_eq(cx_sse_feed(sp, text, mib + 3), CX_SSE_TOO_BIG);
    ck_assert_int_eq(c->events->nelts, 0);
}
END_TEST

static Suite *sse_suite(void)
{
    Suite *s = suite_create("cx_sse");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, cx_unit_pool_setup, cx_unit_pool_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_whole_stream);
    tcase_add_test(tc, test_every_single_split_point);
    tcase_add_test(tc, test_byte_by_byte);
    tcase_add_test(tc, test_random_chunk_sizes);
    tcase_add_test(tc, test_finish_detects_cut_streams);
    tcase_add_test(tc, test_cut_event_is_discarded);
    tcase_add_test(tc, test_binary_safe_data_and_partial_bom);
    tcase_add_test(tc, test_callback_abort_stops_parsing);
    tcase_add_test(tc, test_event_bound);
    tcase_add_test(tc, test_default_bound_is_one_mib);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return cx_unit_run(sse_suite());
}
