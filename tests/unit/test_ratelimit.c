/* Unit tests for the sliding-window rate limiter (lib/cx_ratelimit.c): the window
 * math against an exact log of admission times, Retry-After and reset times that
 * are exact to the slot bounds (never early, never later than needed), the record
 * encoding, OpenAI-style durations, and exactness of the compare-and-set loop
 * across forked processes sharing one state segment, as httpd children do. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_proc_mutex.h>
#include <apr_shm.h>

#include "cx_unit.h"
#include "cx_ratelimit.h"
#include "cx_state_table.h"

#define SEC(s) ((apr_time_t)((s) * 1000000.0 + 0.5))
#define T0 1700000000.0   /* an arbitrary second boundary */

START_TEST(test_burst_admits_exactly_the_limit)
{
    cx_rl_window_t w;
    cx_rl_window_init(&w);
    cx_rl_decision_t d;
    for (int i = 1; i <= 20; i++) {
        cx_rl_decide(&w, SEC(T0 + 0.25), 20, &d);
        ck_assert(d.admitted);
        ck_assert_uint_eq(d.used, (uint64_t)i);
        ck_assert_uint_eq(d.remaining, (uint64_t)(20 - i));
        ck_assert_uint_eq(d.limit, 20);
        /* everything admitted in second T0 is gone at T0+61 */
        ck_assert_int_eq(d.reset, SEC(61 - 0.25));
    }
    for (int i = 0; i < 40; i++) {
        cx_rl_decide(&w, SEC(T0 + 0.5), 20, &d);
        ck_assert(!d.admitted);
        ck_assert_uint_eq(d.remaining, 0);
        ck_assert_uint_eq(d.used, 20);
        ck_assert_int_eq(d.retry_after, SEC(60.5));
        ck_assert_int_eq(cx_rl_seconds_ceil(d.retry_after), 61);
    }
    ck_assert_uint_eq(cx_rl_window_used(&w), 20);   /* refusals are not counted */
}
END_TEST

START_TEST(test_window_slides_by_the_second)
{
    cx_rl_window_t w;
    cx_rl_window_init(&w);
    cx_rl_decision_t d;
    for (int i = 0; i < 5; i++) {
        cx_rl_decide(&w, SEC(T0 + 0.3), 5, &d);
        ck_assert(d.admitted);
    }
    /* 60.6 s later the admissions of second T0 still count (slot bound) ... */
    cx_rl_decide(&w, SEC(T0 + 60.9), 5, &d);
    ck_assert(!d.admitted);
    ck_assert_int_eq(d.retry_after, SEC(0.1));
    ck_assert_int_eq(cx_rl_seconds_ceil(d.retry_after), 1);
    /* ... and from T0+61 on they do not. */
    for (int i = 0; i < 5; i++) {
        cx_rl_decide(&w, SEC(T0 + 61.0), 5, &d);
        ck_assert(d.admitted);
    }
    cx_rl_decide(&w, SEC(T0 + 61.0), 5, &d);
    ck_assert(!d.admitted);
}
END_TEST

START_TEST(test_spread_admissions_free_one_by_one)
{
    /* One request every 6 s: the 11th waits for the first to leave the window. */
    cx_rl_window_t w;
    cx_rl_window_init(&w);
    cx_rl_decision_t d;
    for (int i = 0; i < 10; i++) {
        cx_rl_decide(&w, SEC(T0 + 6 * i), 10, &d);
        ck_assert(d.admitted);
    }
    cx_rl_decide(&w, SEC(T0 + 59), 10, &d);
    ck_assert(!d.admitted);
    ck_assert_int_eq(d.retry_after, SEC(2));        /* second T0 frees at T0+61 */
    ck_assert_int_eq(d.reset, SEC(54 + 61 - 59));   /* the newest, second T0+54, frees at T0+115 */
    ck_assert_str_eq(cx_rl_duration(pool, d.reset), "56s");
    cx_rl_decide(&w, SEC(T0 + 61), 10, &d);
    ck_assert(d.admitted);
    ck_assert_uint_eq(d.remaining, 0);
    cx_rl_decide(&w, SEC(T0 + 61.5), 10, &d);
    ck_assert(!d.admitted);
    ck_assert_int_eq(d.retry_after, SEC(67 - 61.5));  /* next to leave: second T0+6 */
}
END_TEST

START_TEST(test_idle_window_empties_and_clock_steps_back)
{
    cx_rl_window_t w;
    cx_rl_window_init(&w);
    cx_rl_decision_t d;
    cx_rl_decide(&w, SEC(T0), 1, &d);
    ck_assert(d.admitted);
    /* a clock stepping back counts in the newest slot: still refused */
    cx_rl_decide(&w, SEC(T0 - 30), 1, &d);
    ck_assert(!d.admitted);
    ck_assert_int_eq(d.retry_after, SEC(91));
    /* long idle: everything expired at once */
    cx_rl_decide(&w, SEC(T0 + 1000), 1, &d);
    ck_assert(d.admitted);
    ck_assert_uint_eq(cx_rl_window_used(&w), 1);
    ck_assert_int_eq(w.head, (int64_t)T0 + 1000);
    /* a limit of zero admits nothing and still says when to come back */
    cx_rl_window_init(&w);
    cx_rl_decide(&w, SEC(T0 + 0.5), 0, &d);
    ck_assert(!d.admitted);
    ck_assert_int_gt(d.retry_after, 0);
    ck_assert_int_eq(d.reset, 0);
    ck_assert_str_eq(cx_rl_duration(pool, d.reset), "0s");
}
END_TEST

/* ---- against an exact log: invariants that define "sliding window" ---- */

static uint64_t rng = 88172645463325252ULL;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

START_TEST(test_against_exact_log)
{
    enum { N = 6000 };
    static apr_time_t admitted[N];
    for (int round = 0; round < 12; round++) {
        uint64_t limit = 1 + next_rand() % 40;
        cx_rl_window_t w;
        cx_rl_window_init(&w);
        int na = 0;
        apr_time_t now = SEC(T0);
        for (int i = 0; i < N; i++) {
            /* bursts and gaps: 0..2 s between requests, sometimes none at all */
            uint64_t r = next_rand();
            now += (r % 4 == 0) ? 0 : (apr_time_t)(next_rand() % 2000000);
            cx_rl_window_t before = w;
            cx_rl_decision_t d;
            cx_rl_decide(&w, now, limit, &d);
            /* admissions in the exact windows (now-60, now] and (now-61, now] */
            uint64_t in60 = 0, in61 = 0;
            for (int k = na - 1; k >= 0 && admitted[k] > now - SEC(61); k--) {
                in61++;
                if (admitted[k] > now - SEC(60))
                    in60++;
            }
            if (d.admitted) {
                admitted[na++] = now;
                /* never more than limit in any 60 s interval ending now */
                ck_assert_uint_le(in60 + 1, limit);
            }
            else {
                /* refused only when the last 61 s already hold the limit */
                ck_assert_uint_ge(in61, limit);
                /* Retry-After is exact: refused an instant before, admitted at it */
                cx_rl_window_t a = before, b = before;
                cx_rl_decision_t da, db;
                cx_rl_decide(&a, now + d.retry_after, limit, &da);
                ck_assert(da.admitted);
                if (d.retry_after > 1) {
                    cx_rl_decide(&b, now + d.retry_after - 1, limit, &db);
                    ck_assert(!db.admitted);
                }
            }
            /* reset: the window is empty exactly then */
            cx_rl_window_t e = w;
            cx_rl_window_slide(&e, now + d.reset);
            ck_assert_uint_eq(cx_rl_window_used(&e), 0);
            if (d.reset > 1) {
                cx_rl_window_t f = w;
                cx_rl_window_slide(&f, now + d.reset - 1);
                ck_assert_uint_gt(cx_rl_window_used(&f), 0);
            }
            ck_assert_uint_eq(d.remaining, d.used < limit ? limit - d.used : 0);
            if (na == N)
                break;
        }
    }
}
END_TEST

START_TEST(test_record_encoding)
{
    ck_assert_int_le(CX_RL_RECORD_LEN, CX_STATE_RECORD_MAX);
    cx_rl_window_t w, back;
    cx_rl_window_init(&w);
    w.head = 1700000123;
    for (int i = 0; i < CX_RL_SLOTS; i++)
        w.count[i] = (uint32_t)(i * 65537u + 3u);
    w.count[5] = 1000000;
    unsigned char buf[CX_RL_RECORD_LEN];
    cx_rl_window_encode(&w, buf);
    ck_assert_int_eq(buf[0], 1700000123 & 0xff);   /* little-endian on every host */
    ck_assert_int_eq(buf[1], (1700000123 >> 8) & 0xff);
    ck_assert_int_eq(buf[8 + 4 * 5], 1000000 & 0xff);
    ck_assert_int_eq(buf[8 + 4 * 5 + 2], (1000000 >> 16) & 0xff);
    ck_assert_int_eq(cx_rl_window_decode(&back, buf, sizeof buf), 0);
    ck_assert_int_eq(back.head, w.head);
    ck_assert_mem_eq(back.count, w.count, sizeof w.count);
    /* anything else decodes to an empty window */
    ck_assert_int_eq(cx_rl_window_decode(&back, "garbage", 7), -1);
    ck_assert_int_eq(back.head, 0);
    ck_assert_uint_eq(cx_rl_window_used(&back), 0);
}
END_TEST

START_TEST(test_durations)
{
    ck_assert_str_eq(cx_rl_duration(pool, 0), "0s");
    ck_assert_str_eq(cx_rl_duration(pool, -5), "0s");
    ck_assert_str_eq(cx_rl_duration(pool, 1), "1ms");              /* rounded up */
    ck_assert_str_eq(cx_rl_duration(pool, 12000), "12ms");
    ck_assert_str_eq(cx_rl_duration(pool, 999001), "1s");
    ck_assert_str_eq(cx_rl_duration(pool, SEC(1)), "1s");
    ck_assert_str_eq(cx_rl_duration(pool, SEC(8.64)), "8.64s");
    ck_assert_str_eq(cx_rl_duration(pool, SEC(17.005)), "17.005s");
    ck_assert_str_eq(cx_rl_duration(pool, SEC(60)), "1m0s");
    ck_assert_str_eq(cx_rl_duration(pool, SEC(61.5)), "1m1.5s");
    ck_assert_str_eq(cx_rl_duration(pool, SEC(360)), "6m0s");
    ck_assert_str_eq(cx_rl_duration(pool, SEC(3600)), "1h0m0s");
    ck_assert_str_eq(cx_rl_duration(pool, SEC(3723.25)), "1h2m3.25s");
    ck_assert_int_eq(cx_rl_seconds_ceil(1), 1);
    ck_assert_int_eq(cx_rl_seconds_ceil(SEC(1)), 1);
    ck_assert_int_eq(cx_rl_seconds_ceil(SEC(1) + 1), 2);
    ck_assert_int_eq(cx_rl_seconds_ceil(0), 1);
}
END_TEST

/* ---- the shared record ---- */

static cx_state *heap_state(apr_size_t size)
{
    void *base = apr_palloc(pool, size);
    ck_assert_int_eq(cx_state_table_format(base, size), 0);
    cx_state_table *t = cx_state_table_attach(pool, base, size, NULL, NULL, NULL);
    cx_state *st = apr_pcalloc(pool, sizeof *st);
    st->ops = &cx_state_table_ops;
    st->inst = t;
    return st;
}

START_TEST(test_admit_in_shared_state)
{
    cx_state *st = heap_state(1 << 20);
    cx_rl_decision_t d;
    apr_time_t now = apr_time_now();
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(cx_rl_admit(st, "cx:rl:7", 3, now, &d), CX_STATE_OK);
        ck_assert(d.admitted);
    }
    ck_assert_int_eq(cx_rl_admit(st, "cx:rl:7", 3, now, &d), CX_STATE_OK);
    ck_assert(!d.admitted);
    ck_assert_int_gt(d.retry_after, 0);
    /* other keys have their own windows */
    ck_assert_int_eq(cx_rl_admit(st, "cx:rl:8", 3, now, &d), CX_STATE_OK);
    ck_assert(d.admitted);
    ck_assert_uint_eq(d.remaining, 2);
    /* a lower limit applies at once to what the window holds */
    ck_assert_int_eq(cx_rl_admit(st, "cx:rl:8", 1, now, &d), CX_STATE_OK);
    ck_assert(!d.admitted);
    /* a foreign value under the key is replaced by a fresh window */
    ck_assert_int_eq(cx_state_record_cas(st, "cx:rl:9", 0, "xyz", 3, 0, NULL), CX_STATE_OK);
    ck_assert_int_eq(cx_rl_admit(st, "cx:rl:9", 2, now, &d), CX_STATE_OK);
    ck_assert(d.admitted);
    ck_assert_uint_eq(d.used, 1);
    /* the stored record is the window */
    unsigned char buf[CX_STATE_RECORD_MAX];
    apr_size_t len;
    ck_assert_int_eq(cx_state_record_get(st, "cx:rl:7", buf, sizeof buf, &len, NULL), CX_STATE_OK);
    cx_rl_window_t w;
    ck_assert_int_eq(cx_rl_window_decode(&w, buf, len), 0);
    ck_assert_uint_eq(cx_rl_window_used(&w), 3);
}
END_TEST

static apr_proc_mutex_t *pmutex;

static int proc_lock(void *baton)
{
    (void)baton;
    return apr_proc_mutex_lock(pmutex) == APR_SUCCESS ? 0 : -1;
}

static void proc_unlock(void *baton)
{
    (void)baton;
    apr_proc_mutex_unlock(pmutex);
}

START_TEST(test_exact_across_processes)
{
    apr_size_t size = 1 << 20;
    apr_shm_t *shm;
    ck_assert_int_eq(apr_shm_create(&shm, size, NULL, pool), APR_SUCCESS);
    void *base = apr_shm_baseaddr_get(shm);
    ck_assert_int_eq(cx_state_table_format(base, size), 0);
    ck_assert_int_eq(apr_proc_mutex_create(&pmutex, NULL, APR_LOCK_DEFAULT, pool), APR_SUCCESS);

    enum { CHILDREN = 6, TRIES = 120, LIMIT = 250 };
    /* every child decides at the same instant: all TRIES x CHILDREN race for LIMIT */
    apr_time_t now = apr_time_now();
    pid_t pids[CHILDREN];
    for (int c = 0; c < CHILDREN; c++) {
        pids[c] = fork();
        ck_assert_int_ge(pids[c], 0);
        if (pids[c] == 0) {
            apr_pool_t *cp;
            apr_pool_create(&cp, NULL);
            apr_proc_mutex_child_init(&pmutex, NULL, cp);
            cx_state_table *t = cx_state_table_attach(cp, base, size, proc_lock, proc_unlock, NULL);
            cx_state st = {&cx_state_table_ops, t};
            int64_t admitted = 0;
            for (int i = 0; i < TRIES; i++) {
                cx_rl_decision_t d;
                if (cx_rl_admit(&st, "cx:rl:1", LIMIT, now, &d) != CX_STATE_OK)
                    _exit(2);
                admitted += d.admitted;
            }
            int64_t v;
            cx_state_counter_add(&st, "admitted", admitted, CX_STATE_NO_LIMIT, 0, 0, &v);
            _exit(0);
        }
    }
    for (int c = 0; c < CHILDREN; c++) {
        int status;
        ck_assert_int_eq(waitpid(pids[c], &status, 0), pids[c]);
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    cx_state_table *t = cx_state_table_attach(pool, base, size, NULL, NULL, NULL);
    cx_state st = {&cx_state_table_ops, t};
    int64_t v;
    ck_assert_int_eq(cx_state_counter_get(&st, "admitted", &v), CX_STATE_OK);
    ck_assert_int_eq(v, LIMIT);
    unsigned char buf[CX_STATE_RECORD_MAX];
    apr_size_t len;
    ck_assert_int_eq(cx_state_record_get(&st, "cx:rl:1", buf, sizeof buf, &len, NULL), CX_STATE_OK);
    cx_rl_window_t w;
    ck_assert_int_eq(cx_rl_window_decode(&w, buf, len), 0);
    ck_assert_uint_eq(cx_rl_window_used(&w), LIMIT);
    apr_shm_destroy(shm);
}
END_TEST

static Suite *ratelimit_suite(void)
{
    Suite *s = suite_create("cx_ratelimit");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, cx_unit_pool_setup, cx_unit_pool_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_burst_admits_exactly_the_limit);
    tcase_add_test(tc, test_window_slides_by_the_second);
    tcase_add_test(tc, test_spread_admissions_free_one_by_one);
    tcase_add_test(tc, test_idle_window_empties_and_clock_steps_back);
    tcase_add_test(tc, test_against_exact_log);
    tcase_add_test(tc, test_record_encoding);
    tcase_add_test(tc, test_durations);
    tcase_add_test(tc, test_admit_in_shared_state);
    tcase_add_test(tc, test_exact_across_processes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return cx_unit_run(ratelimit_suite());
}
