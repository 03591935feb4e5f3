/* Unit tests for cx_price: exact integer money. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include <apr_general.h>
#include <apr_pools.h>

#include "cx_unit.h"
#include "cx_price.h"

/* Deterministic PRNG (xorshift64*) so failures reproduce. */
static uint64_t rng_state;
static uint64_t rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}

/* gpt-4o-mini-like catalog price: 0.165 credits per 1M prompt tokens,
 * 0.66 per 1M completion tokens. */
static const cx_price_t mini = { 165000000, 660000000 };

START_TEST(test_catalog_example_per_token)
{
    ck_assert_int_eq(cx_price_cost(&mini, 1, 0, CX_PPM_LIST), 165);
    ck_assert_int_eq(cx_price_cost(&mini, 0, 1, CX_PPM_LIST), 660);
    ck_assert_int_eq(cx_price_cost(&mini, 1000000, 0, CX_PPM_LIST), 165000000);
    ck_assert_int_eq(cx_price_cost(&mini, 1200, 350, CX_PPM_LIST), 1200 * 165 + 350 * 660);
    ck_assert_int_eq(cx_price_cost(&mini, 0, 0, CX_PPM_LIST), 0);
    ck_assert_int_eq(cx_price_cost(NULL, 10, 10, CX_PPM_LIST), 0);
}
END_TEST

/* A million small requests charged one by one must add up to exactly what the
 * summed tokens cost: no drift from per-request rounding at list price. */
START_TEST(test_million_requests_sum_exactly_at_list_price)
{
    rng_state = 0x9E3779B97F4A7C15ULL;
    int64_t charged = 0;
    uint64_t prompt_total = 0, completion_total = 0;
    for (int i = 0; i < 1000000; i++) {
        uint64_t prompt = rng_next() % 40;       /* tiny: often 0-cost requests */
        uint64_t completion = rng_next() % 7;
        charged += cx_price_cost(&mini, prompt, completion, CX_PPM_LIST);
        prompt_total += prompt;
        completion_total += completion;
    }
    ck_assert_int_eq(charged, cx_price_cost(&mini, prompt_total, completion_total, CX_PPM_LIST));
    ck_assert_int_eq(charged, (int64_t)(prompt_total * 165 + completion_total * 660));
}
END_TEST

/* With a discount the per-request cost is fractional and rounds once per
 * request; check the sum against a rounding computed independently in plain
 * uint64 arithmetic (per-token price x ppm, then / 1e6). */
START_TEST(test_million_requests_with_discount_match_independent_rounding)
{
    rng_state = 0xD1B54A32D192ED03ULL;
    const uint32_t ppm = 850000;             /* 15 % volume discount */
    int64_t charged = 0;
    uint64_t expected = 0;
    for (int i = 0; i < 1000000; i++) {
        uint64_t prompt = rng_next() % 40;
        uint64_t completion = rng_next() % 7;
        charged += cx_price_cost(&mini, prompt, completion, ppm);
        uint64_t micro = (prompt * 165 + completion * 660) * ppm;   /* nano x 1e6 */
        expected += micro / 1000000 + (micro % 1000000 >= 500000 ? 1 : 0);
    }
    ck_assert_int_eq(charged, (int64_t)expected);
}
END_TEST

START_TEST(test_multiplier_rounds_half_up)
{
    const cx_price_t one_nano_per_token = { 1000000, 1000000 };
    ck_assert_int_eq(cx_price_cost(&one_nano_per_token, 1, 0, 500000), 1);   /* 0.5 -> 1 */
    ck_assert_int_eq(cx_price_cost(&one_nano_per_token, 1, 0, 499999), 0);   /* 0.499999 -> 0 */
    ck_assert_int_eq(cx_price_cost(&one_nano_per_token, 1, 0, 1500000), 2);  /* 1.5 -> 2 */
    ck_assert_int_eq(cx_price_cost(&one_nano_per_token, 1, 0, 2500000), 3);  /* not banker's */
    ck_assert_int_eq(cx_price_cost(&one_nano_per_token, 3, 0, 500000), 2);   /* 1.5 -> 2 */
    ck_assert_int_eq(cx_price_cost(&one_nano_per_token, 1, 1, 0), 0);        /* free */

    /* Sub-nanocredit list prices: 1 nano per 1M tokens. */
    const cx_price_t tiny = { 1, 1 };
    ck_assert_int_eq(cx_price_cost(&tiny, 499999, 0, CX_PPM_LIST), 0);
    ck_assert_int_eq(cx_price_cost(&tiny, 500000, 0, CX_PPM_LIST), 1);
    ck_assert_int_eq(cx_price_cost(&tiny, 250000, 250000, CX_PPM_LIST), 1);
    ck_assert_int_eq(cx_price_cost(&tiny, 1499999, 0, CX_PPM_LIST), 1);

    /* 0.165/M at 90 %: 148.5 nano per token -> 149; two tokens exactly 297. */
    ck_assert_int_eq(cx_price_cost(&mini, 1, 0, 900000), 149);
    ck_assert_int_eq(cx_price_cost(&mini, 2, 0, 900000), 297);
}
END_TEST

START_TEST(test_saturates_instead_of_overflowing)
{
    const cx_price_t one_nano_per_token = { 1000000, 1000000 };
    ck_assert_int_eq(cx_price_cost(&one_nano_per_token, (uint64_t)INT64_MAX, 0, CX_PPM_LIST),
                     INT64_MAX);
    ck_assert_int_eq(cx_price_cost(&one_nano_per_token, (uint64_t)INT64_MAX - 1, 1, CX_PPM_LIST),
                     INT64_MAX);
    ck_assert_int_eq(cx_price_cost(&one_nano_per_token, (uint64_t)INT64_MAX, 1, CX_PPM_LIST),
                     INT64_MAX);
    ck_assert_int_eq(cx_price_cost(&one_nano_per_token, UINT64_MAX, UINT64_MAX, CX_PPM_LIST),
                     INT64_MAX);

    /* Largest inputs everywhere: the 128-bit product with the multiplier overflows. */
    const cx_price_t huge = { INT64_MAX, INT64_MAX };
    ck_assert_int_eq(cx_price_cost(&huge, UINT64_MAX, UINT64_MAX, UINT32_MAX), INT64_MAX);
    ck_assert_int_eq(cx_price_cost(&huge, UINT64_MAX, 0, CX_PPM_LIST), INT64_MAX);
    ck_assert_int_eq(cx_price_cost(&huge, 1, 0, CX_PPM_LIST), INT64_MAX / 1000000 + 1);
}
END_TEST

START_TEST(test_negative_price_never_credits)
{
    const cx_price_t broken = { -165000000, -1 };
    ck_assert_int_eq(cx_price_cost(&broken, 1000, 1000, CX_PPM_LIST), 0);
    const cx_price_t half = { -165000000, 660000000 };
    ck_assert_int_eq(cx_price_cost(&half, 1000, 1, CX_PPM_LIST), 660);
}
END_TEST

START_TEST(test_format)
{
    ck_assert_str_eq(cx_nano_format(pool, 165), "0.000000165");
    ck_assert_str_eq(cx_nano_format(pool, -1500000000), "-1.500000000");
    ck_assert_str_eq(cx_nano_format(pool, 0), "0.000000000");
    ck_assert_str_eq(cx_nano_format(pool, -1), "-0.000000001");
    ck_assert_str_eq(cx_nano_format(pool, 12 * CX_NANO_PER_CREDIT), "12.000000000");
    ck_assert_str_eq(cx_nano_format(pool, INT64_MAX), "9223372036.854775807");
    ck_assert_str_eq(cx_nano_format(pool, INT64_MIN), "-9223372036.854775808");
}
END_TEST

START_TEST(test_format_short)
{
    ck_assert_str_eq(cx_nano_format_short(pool, 165000000), "0.165");
    ck_assert_str_eq(cx_nano_format_short(pool, 12500000000LL), "12.50");
    ck_assert_str_eq(cx_nano_format_short(pool, 0), "0.00");
    ck_assert_str_eq(cx_nano_format_short(pool, CX_NANO_PER_CREDIT), "1.00");
    ck_assert_str_eq(cx_nano_format_short(pool, 165), "0.000000165");
    ck_assert_str_eq(cx_nano_format_short(pool, -1), "-0.000000001");
    ck_assert_str_eq(cx_nano_format_short(pool, -1500000000), "-1.50");
    ck_assert_str_eq(cx_nano_format_short(pool, 1230000000), "1.23");
    ck_assert_str_eq(cx_nano_format_short(pool, 1234000000), "1.234");
    ck_assert_str_eq(cx_nano_format_short(pool, INT64_MIN), "-9223372036.854775808");
}
END_TEST

static cx_nano_t parse_ok(const char *s)
{
    cx_nano_t v = 12345;
    ck_assert_msg(cx_nano_parse(s, &v) == 0, "expected \"%s\" to parse", s);
    return v;
}

START_TEST(test_parse_accepts)
{
    ck_assert_int_eq(parse_ok("12"), 12 * CX_NANO_PER_CREDIT);
    ck_assert_int_eq(parse_ok("0.5"), 500000000);
    ck_assert_int_eq(parse_ok("-3.000000001"), -3000000001LL);
    ck_assert_int_eq(parse_ok("0"), 0);
    ck_assert_int_eq(parse_ok("-0"), 0);
    ck_assert_int_eq(parse_ok("-0.000000001"), -1);
    ck_assert_int_eq(parse_ok("0.165"), 165000000);
    ck_assert_int_eq(parse_ok("0.000000165"), 165);
    ck_assert_int_eq(parse_ok("007.10"), 7100000000LL);
    ck_assert_int_eq(parse_ok("9223372036.854775807"), INT64_MAX);
    ck_assert_int_eq(parse_ok("-9223372036.854775808"), INT64_MIN);
}
END_TEST

START_TEST(test_parse_rejects)
{
    static const char *const bad[] = {
        "", "-", "1e5", "1.0000000001", "abc", "1.2.3", "99999999999",
        "9223372036.854775808", "-9223372036.854775809", "9223372037",
        ".5", "5.", " 1", "1 ", "+1", "--1", "1,5", "0x10", "1.-5", "-.5",
        "12abc", "184467440737095516160",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cx_nano_t v = 777;
        ck_assert_msg(cx_nano_parse(bad[i], &v) == -1, "\"%s\" should be rejected", bad[i]);
        ck_assert_msg(v == 777, "\"%s\": output written on failure", bad[i]);
    }
    cx_nano_t v;
    ck_assert_int_eq(cx_nano_parse(NULL, &v), -1);
}
END_TEST

static void assert_round_trip(cx_nano_t v)
{
    cx_nano_t back = 0;
    const char *full = cx_nano_format(pool, v);
    ck_assert_msg(cx_nano_parse(full, &back) == 0 && back == v, "round trip of %s", full);
    const char *shorter = cx_nano_format_short(pool, v);
    back = 0;
    ck_assert_msg(cx_nano_parse(shorter, &back) == 0 && back == v, "round trip of %s", shorter);
}

START_TEST(test_format_parse_round_trip)
{
    static const cx_nano_t fixed[] = {
        0, 1, -1, 165, -165, 999999999, -999999999, 1000000000, -1000000000,
        1500000000, -1500000000, 12500000000LL, INT64_MAX, INT64_MIN, INT64_MAX - 1,
        INT64_MIN + 1,
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        assert_round_trip(fixed[i]);

    rng_state = 42;
    for (int i = 0; i < 20000; i++) {
        uint64_t r = rng_next();
        /* Mix full-range values with small ones that have trailing zeros. */
        cx_nano_t v = (i % 2) ? (cx_nano_t)r : (cx_nano_t)(r % 100000) * 10000 * ((r >> 63) ? -1 : 1);
        assert_round_trip(v);
    }
}
END_TEST

static Suite *price_suite(void)
{
    Suite *s = suite_create("cx_price");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, cx_unit_pool_setup, cx_unit_pool_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_catalog_example_per_token);
    tcase_add_test(tc, test_million_requests_sum_exactly_at_list_price);
    tcase_add_test(tc, test_million_requests_with_discount_match_independent_rounding);
    tcase_add_test(tc, test_multiplier_rounds_half_up);
    tcase_add_test(tc, test_saturates_instead_of_overflowing);
    tcase_add_test(tc, test_negative_price_never_credits);
    tcase_add_test(tc, test_format);
    tcase_add_test(tc, test_format_short);
    tcase_add_test(tc, test_parse_accepts);
    tcase_add_test(tc, test_parse_rejects);
    tcase_add_test(tc, test_format_parse_round_trip);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return cx_unit_run(price_suite());
}
