/* Unit tests for the circuit breaker state machine and its record encoding. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>

#include "cx_unit.h"
#include "cx_breaker.h"

static const cx_breaker_conf_t conf = {
    .threshold = 3,
    .open_for = APR_USEC_PER_SEC * 30,
    .probe_timeout = APR_USEC_PER_SEC * 130,
};

static const apr_time_t T0 = APR_USEC_PER_SEC * (apr_time_t)1700000000;

static cx_breaker_t after_failure(cx_breaker_t b, apr_time_t now)
{
    cx_breaker_t next;
    cx_breaker_on_failure(&b, &conf, now, &next);
    return next;
}

START_TEST(test_opens_after_threshold_consecutive_failures)
{
    cx_breaker_t b = {CX_BREAKER_CLOSED, 0, 0}, next;
    b = after_failure(b, T0);
    b = after_failure(b, T0);
    ck_assert_int_eq(b.state, CX_BREAKER_CLOSED);
    ck_assert_int_eq(cx_breaker_admit(&b, &conf, T0, &next), CX_BREAKER_ALLOW);
    b = after_failure(b, T0 + 5);
    ck_assert_int_eq(b.state, CX_BREAKER_OPEN);
    ck_assert_int_eq(b.until, T0 + 5 + conf.open_for);
    ck_assert_int_eq(cx_breaker_admit(&b, &conf, T0 + 6, &next), CX_BREAKER_SKIP);
    ck_assert_int_eq(cx_breaker_admit(&b, &conf, b.until - 1, &next), CX_BREAKER_SKIP);
    /* late failures of requests admitted before it opened do not extend it */
    cx_breaker_t same;
    ck_assert_int_eq(cx_breaker_on_failure(&b, &conf, T0 + 10, &same), 0);
}
END_TEST

START_TEST(test_success_resets_the_count)
{
    cx_breaker_t b = {CX_BREAKER_CLOSED, 0, 0}, next;
    b = after_failure(b, T0);
    b = after_failure(b, T0);
    ck_assert_int_eq(cx_breaker_on_success(&b, &next), 1);
    b = next;
    ck_assert_int_eq(b.failures, 0);
    ck_assert_int_eq(cx_breaker_on_success(&b, &next), 0);   /* nothing to write */
    b = after_failure(b, T0);
    b = after_failure(b, T0);
    ck_assert_int_eq(b.state, CX_BREAKER_CLOSED);
}
END_TEST

START_TEST(test_single_probe_then_close_or_reopen)
{
    cx_breaker_t b = {CX_BREAKER_OPEN, 3, T0}, probe, next;
    ck_assert_int_eq(cx_breaker_admit(&b, &conf, T0, &probe), CX_BREAKER_PROBE);
    ck_assert_int_eq(probe.state, CX_BREAKER_HALF_OPEN);
    ck_assert_int_eq(probe.until, T0 + conf.probe_timeout);
    /* while the probe is out, everyone else skips */
    ck_assert_int_eq(cx_breaker_admit(&probe, &conf, T0 + 1, &next), CX_BREAKER_SKIP);
    /* probe succeeded */
    ck_assert_int_eq(cx_breaker_on_success(&probe, &next), 1);
    ck_assert_int_eq(next.state, CX_BREAKER_CLOSED);
    ck_assert_int_eq(next.failures, 0);
    /* probe failed: open again for a full period */
    cx_breaker_t reopened = after_failure(probe, T0 + 2);
    ck_assert_int_eq(reopened.state, CX_BREAKER_OPEN);
    ck_assert_int_eq(reopened.until, T0 + 2 + conf.open_for);
    /* a probe that never reports is replaced after its deadline */
    ck_assert_int_eq(cx_breaker_admit(&probe, &conf, probe.until, &next), CX_BREAKER_PROBE);
    ck_assert_int_eq(next.until, probe.until + conf.probe_timeout);
}
END_TEST

START_TEST(test_threshold_one)
{
    cx_breaker_conf_t one = conf;
    one.threshold = 1;
    cx_breaker_t b = {CX_BREAKER_CLOSED, 0, 0}, next;
    cx_breaker_on_failure(&b, &one, T0, &next);
    ck_assert_int_eq(next.state, CX_BREAKER_OPEN);
}
END_TEST

START_TEST(test_encoding_round_trip_and_garbage)
{
    cx_breaker_t states[] = {
        {CX_BREAKER_CLOSED, 0, 0},
        {CX_BREAKER_CLOSED, 2, 0},
        {CX_BREAKER_OPEN, 3, T0 + conf.open_for},
        {CX_BREAKER_HALF_OPEN, 3, T0 + conf.probe_timeout},
    };
    for (size_t i = 0; i < sizeof states / sizeof *states; i++) {
        char buf[CX_BREAKER_ENCODED_MAX];
        int n = cx_breaker_encode(&states[i], buf);
        ck_assert_int_gt(n, 0);
        cx_breaker_t back;
        ck_assert_int_eq(cx_breaker_decode(buf, (apr_size_t)n, &back), 0);
        ck_assert_int_eq(back.state, states[i].state);
        ck_assert_uint_eq(back.failures, states[i].failures);
        ck_assert_int_eq(back.until, states[i].until);
    }
    static const char *bad[] = {"", "X 1 2", "C", "C 1", "C x 2", "C 1 y", "C 1 2 3", "O -1 5",
                                "C  1 2", "C 99999999999 0"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cx_breaker_t b = {CX_BREAKER_OPEN, 9, 9};
        ck_assert_msg(cx_breaker_decode(bad[i], strlen(bad[i]), &b) == -1, "accepted '%s'", bad[i]);
        ck_assert_int_eq(b.state, CX_BREAKER_CLOSED);   /* unreadable = closed */
    }
    ck_assert_str_eq(cx_breaker_state_name(CX_BREAKER_HALF_OPEN), "half-open");
}
END_TEST

static Suite *breaker_suite(void)
{
    Suite *s = suite_create("cx_breaker");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_opens_after_threshold_consecutive_failures);
    tcase_add_test(tc, test_success_resets_the_count);
    tcase_add_test(tc, test_single_probe_then_close_or_reopen);
    tcase_add_test(tc, test_threshold_one);
    tcase_add_test(tc, test_encoding_round_trip_and_garbage);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return cx_unit_run(breaker_suite());
}
