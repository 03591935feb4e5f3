/* Unit tests for spend caps (lib/cx_spendcap.c): UTC periods and their bounds,
 * counter keys, when a cap is reached, the overshoot bound, amounts typed in
 * credits and stored in nanocredits (key fields and org settings, with their
 * audit values), and the database-mirrored counters (lib/cx_dbcounter.c) that
 * hold live spend: rebuilt once when absent, and never losing a charge when a
 * rebuild races with it; the wallet figure net of charges counted since it was read. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_time.h>

#include "cx_unit.h"
#include "cx_dbcounter.h"
#include "cx_governance.h"
#include "cx_govstore.h"
#include "cx_spendcap.h"
#include "cx_state_table.h"
#include "cx_utcdate.h"

static apr_time_t utc(int y, int mon, int d, int h, int mi, int s)
{
    apr_time_exp_t tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    apr_time_t t;
    ck_assert_int_eq(apr_time_exp_gmt_get(&t, &tm), APR_SUCCESS);
    return t;
}

START_TEST(test_periods)
{
    apr_time_t t = utc(2026, 11, 21, 23, 59, 59) + 999999;
    ck_assert_str_eq(cx_cap_period_label(pool, CX_CAP_DAILY, t), "2026-11-21");
    ck_assert_str_eq(cx_cap_period_label(pool, CX_CAP_MONTHLY, t), "2026-11");
    const char *from, *to;
    apr_time_t end;
    cx_cap_period_bounds(pool, CX_CAP_DAILY, t, &from, &to, &end);
    ck_assert_str_eq(from, "2026-11-21 00:00:00");
    ck_assert_str_eq(to, "2026-11-22 00:00:00");
    ck_assert_int_eq(end, utc(2026, 11, 22, 0, 0, 0));
    ck_assert_int_eq(end - t, 1);   /* one microsecond before midnight */
    /* the next microsecond is the next day */
    ck_assert_str_eq(cx_cap_period_label(pool, CX_CAP_DAILY, t + 1), "2026-11-22");

    cx_cap_period_bounds(pool, CX_CAP_MONTHLY, t, &from, &to, &end);
    ck_assert_str_eq(from, "2026-11-01 00:00:00");
    ck_assert_str_eq(to, "2026-12-01 00:00:00");
    /* year end, month end, leap day */
    t = utc(2026, 12, 31, 12, 0, 0);
    cx_cap_period_bounds(pool, CX_CAP_DAILY, t, &from, &to, &end);
    ck_assert_str_eq(to, "2027-01-01 00:00:00");
    cx_cap_period_bounds(pool, CX_CAP_MONTHLY, t, &from, &to, &end);
    ck_assert_str_eq(from, "2026-12-01 00:00:00");
    ck_assert_str_eq(to, "2027-01-01 00:00:00");
    ck_assert_int_eq(end, utc(2027, 1, 1, 0, 0, 0));
    t = utc(2028, 2, 28, 8, 0, 0);
    cx_cap_period_bounds(pool, CX_CAP_DAILY, t, &from, &to, &end);
    ck_assert_str_eq(to, "2028-02-29 00:00:00");
    cx_cap_period_bounds(pool, CX_CAP_MONTHLY, t, &from, &to, &end);
    ck_assert_str_eq(to, "2028-03-01 00:00:00");
    ck_assert_int_eq(end - utc(2028, 2, 1, 0, 0, 0), apr_time_from_sec(29 * 86400));
    /* counters outlive their period */
    ck_assert_int_gt(cx_cap_counter_ttl(CX_CAP_DAILY), apr_time_from_sec(86400));
    ck_assert_int_gt(cx_cap_counter_ttl(CX_CAP_MONTHLY), apr_time_from_sec(31 * 86400));
}
END_TEST

START_TEST(test_counter_keys)
{
    apr_time_t t = utc(2026, 3, 5, 10, 0, 0);
    cx_cap_t org_day = {CX_CAP_ORG, CX_CAP_DAILY, 12, 0, 12};
    cx_cap_t key_month = {CX_CAP_KEY, CX_CAP_MONTHLY, 7, 0, 12};
    ck_assert_str_eq(cx_cap_counter_key(pool, &org_day, t), "cx:cap:org:12:d:2026-03-05");
    ck_assert_str_eq(cx_cap_counter_key(pool, &key_month, t), "cx:cap:key:7:m:2026-03");
    /* a new day is a new counter; the month's stays */
    ck_assert_str_eq(cx_cap_counter_key(pool, &org_day, t + apr_time_from_sec(86400)),
                     "cx:cap:org:12:d:2026-03-06");
    ck_assert_str_eq(cx_cap_counter_key(pool, &key_month, t + apr_time_from_sec(86400)),
                     "cx:cap:key:7:m:2026-03");
    cx_cap_t big = {CX_CAP_KEY, CX_CAP_DAILY, UINT64_MAX, 0, 1};
    ck_assert_str_eq(cx_cap_counter_key(pool, &big, t), "cx:cap:key:18446744073709551615:d:2026-03-05");
    ck_assert_int_le(strlen(cx_cap_counter_key(pool, &big, t)), CX_STATE_KEY_MAX);
    cx_cap_t zero = {CX_CAP_ORG, CX_CAP_MONTHLY, 0, 0, 0};
    ck_assert_str_eq(cx_cap_counter_key(pool, &zero, t), "cx:cap:org:0:m:2026-03");
}
END_TEST

/* The hand-made UTC labels (lib/cx_utcdate.c) against APR's calendar over 1970-2400
 * (leap years, the 2000/2100 rules), every half second around each month change of
 * 1999-2001, and times before 1970. */
static void check_labels_at(apr_time_t t)
{
    apr_time_exp_t x;
    ck_assert_int_eq(apr_time_exp_gmt(&x, t), APR_SUCCESS);
    char want_day[32], want_month[32], day[CX_UTC_DAY_LEN + 1], month[CX_UTC_MONTH_LEN + 1];
    snprintf(want_day, sizeof want_day, "%04d-%02d-%02d", x.tm_year + 1900, x.tm_mon + 1, x.tm_mday);
    snprintf(want_month, sizeof want_month, "%04d-%02d", x.tm_year + 1900, x.tm_mon + 1);
    ck_assert_str_eq(cx_utc_day_label(day, t), want_day);
    ck_assert_str_eq(cx_utc_month_label(month, t), want_month);
}

START_TEST(test_utc_labels_agree_with_apr)
{
    apr_time_t from = utc(1970, 1, 1, 0, 0, 0), to = utc(2400, 1, 1, 0, 0, 0);
    /* 2 days 3 hours 7 seconds: lands on every hour and weekday over the span */
    for (apr_time_t t = from; t < to; t += apr_time_from_sec(2 * 86400 + 3 * 3600 + 7))
        check_labels_at(t);
    for (int y = 1999; y <= 2001; y++)
        for (int m = 1; m <= 12; m++) {
            apr_time_t first = utc(y, m, 1, 0, 0, 0);
            for (apr_time_t d = -apr_time_from_sec(2); d <= apr_time_from_sec(2); d += apr_time_from_sec(1) / 2)
                check_labels_at(first + d);
        }
    /* Before the epoch at whole seconds (APR truncates fractions toward zero there;
     * a calendar does not: a microsecond before 1970 is still 1969). */
    for (apr_time_t t = -apr_time_from_sec(1); t > -apr_time_from_sec(200LL * 366 * 86400);
         t -= apr_time_from_sec(86400 * 37 + 11))
        check_labels_at(t);
    char day[CX_UTC_DAY_LEN + 1];
    ck_assert_str_eq(cx_utc_day_label(day, -1), "1969-12-31");
    check_labels_at(0);
    check_labels_at(utc(2000, 2, 29, 23, 59, 59));
    check_labels_at(utc(2100, 3, 1, 0, 0, 0));
    char buf[24];
    *cx_put_u64(buf, 0) = '\0';
    ck_assert_str_eq(buf, "0");
    *cx_put_u64(buf, UINT64_MAX) = '\0';
    ck_assert_str_eq(buf, "18446744073709551615");
}
END_TEST

START_TEST(test_reached_and_bound)
{
    ck_assert(!cx_cap_reached(0, 1));
    ck_assert(!cx_cap_reached(999999999, 1000000000));
    ck_assert(cx_cap_reached(1000000000, 1000000000));   /* the cap itself leaves no room */
    ck_assert(cx_cap_reached(1000000001, 1000000000));
    ck_assert(cx_cap_reached(0, 0));                     /* a cap of 0 admits nothing */
    ck_assert(!cx_cap_reached(INT64_MAX, CX_SPEND_CAP_NONE));
    ck_assert(!cx_cap_reached(-5, 1));

    /* The bound: admitted while spend < cap, so at the last admission at most
     * cap - 1 nano was recorded, plus what the requests in flight cost. */
    ck_assert_int_eq(cx_cap_overshoot_bound(5000, 4, 300), 6200);
    ck_assert_int_eq(cx_cap_overshoot_bound(5000, 0, 300), 5000);
    ck_assert_int_eq(cx_cap_overshoot_bound(INT64_MAX - 10, 3, 1000), INT64_MAX);
    ck_assert_int_eq(cx_cap_overshoot_bound(CX_SPEND_CAP_NONE, 3, 1000), INT64_MAX);
    /* a simulation of the rule: N requests of cost c admitted P at a time */
    for (int p = 1; p <= 8; p++) {
        cx_nano_t cap = 10000, cost = 700, spent = 0;
        int admitted = 0;
        while (!cx_cap_reached(spent, cap)) {
            /* P requests pass the check before any of them is recorded */
            admitted += p;
            spent += (cx_nano_t)p * cost;
        }
        ck_assert_int_ge(spent, cap);
        ck_assert_int_lt(spent, cx_cap_overshoot_bound(cap, (uint64_t)p, cost));
        ck_assert_int_eq(admitted * cost, spent);
    }
}
END_TEST

START_TEST(test_amounts)
{
    cx_nano_t n;
    ck_assert_ptr_null(cx_cap_parse_credits(pool, "25", &n));
    ck_assert_int_eq(n, 25000000000LL);
    ck_assert_ptr_null(cx_cap_parse_credits(pool, "2.5", &n));
    ck_assert_int_eq(n, 2500000000LL);
    ck_assert_ptr_null(cx_cap_parse_credits(pool, "0.000000001", &n));
    ck_assert_int_eq(n, 1);
    ck_assert_ptr_null(cx_cap_parse_credits(pool, "0", &n));
    ck_assert_int_eq(n, 0);
    ck_assert_ptr_null(cx_cap_parse_credits(pool, "none", &n));
    ck_assert_int_eq(n, CX_SPEND_CAP_NONE);
    ck_assert_ptr_null(cx_cap_parse_credits(pool, "NULL", &n));
    ck_assert_int_eq(n, CX_SPEND_CAP_NONE);
    const char *bad[] = {"-1", "1e3", "abc", "", "1.0000000001", "12 ", "$5", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(cx_cap_parse_credits(pool, bad[i], &n) != NULL, "accepted '%s'", bad[i]);
    ck_assert_ptr_nonnull(cx_cap_parse_credits(pool, NULL, &n));

    int malformed;
    ck_assert_int_eq(cx_cap_parse_stored("25000000000", &malformed), 25000000000LL);
    ck_assert(!malformed);
    ck_assert_int_eq(cx_cap_parse_stored(NULL, &malformed), CX_SPEND_CAP_NONE);
    ck_assert(!malformed);
    ck_assert_int_eq(cx_cap_parse_stored("2.5", &malformed), CX_SPEND_CAP_NONE);
    ck_assert(malformed);
    ck_assert_int_eq(cx_cap_parse_stored("-3", &malformed), CX_SPEND_CAP_NONE);
    ck_assert(malformed);
}
END_TEST

START_TEST(test_key_fields_and_org_settings)
{
    const char *norm = "x";
    cx_key_field_t f;
    ck_assert(cx_key_field_parse("spend_cap_daily", &f) && f == CX_KEY_FIELD_SPEND_CAP_DAILY);
    ck_assert(cx_key_field_parse("spend_cap_monthly", &f) && f == CX_KEY_FIELD_SPEND_CAP_MONTHLY);
    ck_assert_ptr_null(cx_key_field_validate(pool, NULL, CX_KEY_FIELD_SPEND_CAP_DAILY, "12.25", &norm));
    ck_assert_str_eq(norm, "12250000000");
    ck_assert_ptr_null(cx_key_field_validate(pool, NULL, CX_KEY_FIELD_SPEND_CAP_MONTHLY, "none", &norm));
    ck_assert_ptr_null(norm);   /* SQL NULL: no cap */
    const char *why = cx_key_field_validate(pool, NULL, CX_KEY_FIELD_SPEND_CAP_DAILY, "-2", &norm);
    ck_assert_ptr_nonnull(why);
    ck_assert_ptr_nonnull(strstr(why, "spend_cap_daily"));
    /* rate limits keep their bounds */
    ck_assert_ptr_nonnull(cx_key_field_validate(pool, NULL, CX_KEY_FIELD_RATE_LIMIT, "0", &norm));
    ck_assert_ptr_null(cx_key_field_validate(pool, NULL, CX_KEY_FIELD_RATE_LIMIT, "20", &norm));
    ck_assert_str_eq(norm, "20");

    ck_assert(cx_org_setting_known(CX_SETTING_SPEND_CAP_DAILY));
    ck_assert(cx_org_setting_known(CX_SETTING_SPEND_CAP_MONTHLY));
    ck_assert_ptr_null(cx_org_setting_validate(pool, NULL, "spend_cap_monthly", "1000", &norm));
    ck_assert_str_eq(norm, "1000000000000");
    ck_assert_ptr_nonnull(cx_org_setting_validate(pool, NULL, "spend_cap_daily", "lots", &norm));
    ck_assert_ptr_nonnull(cx_org_setting_validate(pool, NULL, "spend_cap_daily", "none", &norm));

    cx_org_settings_t s;
    cx_org_settings_init(pool, &s);
    ck_assert_int_eq(s.spend_cap_daily_nano, CX_SPEND_CAP_NONE);
    ck_assert_int_eq(s.spend_cap_monthly_nano, CX_SPEND_CAP_NONE);
    ck_assert_ptr_null(cx_org_settings_apply(pool, &s, "spend_cap_daily", "5000000000"));
    ck_assert_int_eq(s.spend_cap_daily_nano, 5000000000LL);
    /* a stored value nobody can read stops spending rather than lifting the cap */
    ck_assert_ptr_nonnull(cx_org_settings_apply(pool, &s, "spend_cap_monthly", "5 credits"));
    ck_assert_int_eq(s.spend_cap_monthly_nano, 0);

    /* audited in credits, as the keys API shows caps */
    ck_assert_str_eq(cx_audit_change_detail(pool, "field", "spend_cap_daily", NULL, "12250000000"),
                     "{\"field\":\"spend_cap_daily\",\"before\":null,\"after\":\"12.250000000\"}");
    ck_assert_str_eq(cx_audit_change_detail(pool, "setting", "spend_cap_monthly", "1000000000000", NULL),
                     "{\"setting\":\"spend_cap_monthly\",\"before\":\"1000.000000000\",\"after\":null}");
}
END_TEST

/* ---- counters mirrored from the database ---- */

static cx_state *heap_state(void)
{
    apr_size_t size = 1 << 20;
    void *base = apr_palloc(pool, size);
    ck_assert_int_eq(cx_state_table_format(base, size), 0);
    cx_state *st = apr_pcalloc(pool, sizeof *st);
    st->ops = &cx_state_table_ops;
    st->inst = cx_state_table_attach(pool, base, size, NULL, NULL, NULL);
    return st;
}

typedef struct {
    int calls;
    int fail;
    int64_t db_sum;              /* what "usage_events" holds */
    const cx_state *race;        /* set: another child seeds this first, with race_value */
    const char *race_key;
    int64_t race_value;
} fake_db_t;

static int fake_seed(void *baton, int64_t *value)
{
    fake_db_t *db = baton;
    db->calls++;
    if (db->fail)
        return -1;
    if (db->race) {
        int64_t cur;
        ck_assert_int_eq(cx_state_counter_seed(db->race, db->race_key, db->race_value, 0, &cur),
                         CX_STATE_OK);
        db->race = NULL;
    }
    *value = db->db_sum;
    return 0;
}

START_TEST(test_dbcounter_seeds_once)
{
    cx_state *st = heap_state();
    fake_db_t db = {.db_sum = 4200};
    int64_t v;
    int seeded;
    ck_assert_int_eq(cx_dbcounter_get(st, "c", 0, fake_seed, &db, &v, &seeded), CX_STATE_OK);
    ck_assert_int_eq(v, 4200);
    ck_assert(seeded);
    db.db_sum = 999999;   /* later rows are counted by adds, not by re-reading */
    ck_assert_int_eq(cx_dbcounter_get(st, "c", 0, fake_seed, &db, &v, &seeded), CX_STATE_OK);
    ck_assert_int_eq(v, 4200);
    ck_assert(!seeded);
    ck_assert_int_eq(db.calls, 1);
    ck_assert_int_eq(cx_dbcounter_add(st, "c", 300, 0, fake_seed, &db, &v, &seeded), CX_STATE_OK);
    ck_assert_int_eq(v, 4500);
    ck_assert_int_eq(db.calls, 1);

    /* absent at add time: the seed leaves the adding request's own row out (the usage
     * writer may not have committed it), and the amount is added on top */
    fake_db_t db2 = {.db_sum = 800};
    ck_assert_int_eq(cx_dbcounter_add(st, "d", 300, 0, fake_seed, &db2, &v, &seeded), CX_STATE_OK);
    ck_assert_int_eq(v, 1100);
    ck_assert(seeded);

    /* an unreadable database: NOTFOUND, nothing stored */
    fake_db_t down = {.fail = 1};
    ck_assert_int_eq(cx_dbcounter_get(st, "e", 0, fake_seed, &down, &v, &seeded), CX_STATE_NOTFOUND);
    ck_assert_int_eq(cx_dbcounter_add(st, "e", 5, 0, fake_seed, &down, &v, &seeded), CX_STATE_NOTFOUND);
    ck_assert_int_eq(cx_state_counter_get(st, "e", &v), CX_STATE_NOTFOUND);
}
END_TEST

START_TEST(test_dbcounter_race_never_loses_a_charge)
{
    cx_state *st = heap_state();
    int64_t v;
    int seeded;
    /* A check in another child read the database before our row (1000) was written
     * and seeds its figure while we rebuild: our 250 must still be counted. */
    fake_db_t db = {.db_sum = 1250, .race = st, .race_key = "k", .race_value = 1000};
    ck_assert_int_eq(cx_dbcounter_add(st, "k", 250, 0, fake_seed, &db, &v, &seeded), CX_STATE_OK);
    ck_assert(!seeded);
    ck_assert_int_eq(v, 1250);
    /* If its read did see our row, the charge counts twice: on the safe side. */
    fake_db_t db2 = {.db_sum = 1250, .race = st, .race_key = "k2", .race_value = 1250};
    ck_assert_int_eq(cx_dbcounter_add(st, "k2", 250, 0, fake_seed, &db2, &v, &seeded), CX_STATE_OK);
    ck_assert_int_eq(v, 1500);
    ck_assert_int_ge(v, 1250);
    /* A reader that loses the race reads the winner's value. */
    fake_db_t db3 = {.db_sum = 70, .race = st, .race_key = "k3", .race_value = 60};
    ck_assert_int_eq(cx_dbcounter_get(st, "k3", 0, fake_seed, &db3, &v, &seeded), CX_STATE_OK);
    ck_assert(!seeded);
    ck_assert_int_eq(v, 60);
}
END_TEST

START_TEST(test_wallet)
{
    apr_time_t t = utc(2026, 11, 21, 23, 59, 59);
    ck_assert_str_eq(cx_wallet_counter_key(pool, 42, t), "cx:wallet:42:2026-11-21");
    ck_assert_str_eq(cx_wallet_counter_key(pool, 42, t + apr_time_from_sec(1)), "cx:wallet:42:2026-11-22");
    ck_assert_int_gt(cx_wallet_counter_ttl(), apr_time_from_sec(86400));
    cx_nano_t b;
    /* read 10 credits when the counter stood at 3; 4 more charged since, by any child */
    ck_assert_int_eq(cx_wallet_balance_now(10000000000LL, 3000000000LL, 7000000000LL, &b), 0);
    ck_assert_int_eq(b, 6000000000LL);
    ck_assert_int_eq(cx_wallet_balance_now(500, 0, 0, &b), 0);
    ck_assert_int_eq(b, 500);
    ck_assert_int_eq(cx_wallet_balance_now(500, 100, 700, &b), 0);
    ck_assert_int_eq(b, -100);   /* overdrawn by requests that were in flight */
    /* a counter behind its value at read was lost: the cached figure is unusable */
    ck_assert_int_eq(cx_wallet_balance_now(500, 100, 99, &b), -1);
    ck_assert_int_eq(cx_wallet_balance_now(INT64_MIN + 5, 0, 100, &b), 0);
    ck_assert_int_eq(b, INT64_MIN);   /* saturates */
}
END_TEST

START_TEST(test_wallet_pending)
{
    apr_time_t t = utc(2026, 11, 21, 23, 59, 59);
    ck_assert_str_eq(cx_wallet_pending_key(pool, 42, t), "cx:wallet-pending:42:2026-11-21");
    ck_assert_str_eq(cx_wallet_pending_key(pool, 42, t + apr_time_from_sec(1)),
                     "cx:wallet-pending:42:2026-11-22");
    /* read back the day after its own, so it must outlive two days */
    ck_assert_int_gt(cx_wallet_pending_ttl(), apr_time_from_sec(2 * 86400));
    /* 10 credits in the database, 3 charged and not yet written: 7 to spend */
    ck_assert_int_eq(cx_wallet_balance_at_read(10000000000LL, 3000000000LL), 7000000000LL);
    ck_assert_int_eq(cx_wallet_balance_at_read(500, 0), 500);
    ck_assert_int_eq(cx_wallet_balance_at_read(500, 800), -300);
    /* a counter that went below zero (its increments were lost) adds nothing */
    ck_assert_int_eq(cx_wallet_balance_at_read(500, -200), 500);
    ck_assert_int_eq(cx_wallet_balance_at_read(INT64_MIN + 5, 100), INT64_MIN);   /* saturates */
}
END_TEST

static Suite *spendcap_suite(void)
{
    Suite *s = suite_create("cx_spendcap");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, cx_unit_pool_setup, cx_unit_pool_teardown);
    tcase_add_test(tc, test_periods);
    tcase_add_test(tc, test_counter_keys);
    tcase_add_test(tc, test_utc_labels_agree_with_apr);
    tcase_add_test(tc, test_reached_and_bound);
    tcase_add_test(tc, test_amounts);
    tcase_add_test(tc, test_key_fields_and_org_settings);
    tcase_add_test(tc, test_dbcounter_seeds_once);
    tcase_add_test(tc, test_dbcounter_race_never_loses_a_charge);
    tcase_add_test(tc, test_wallet);
    tcase_add_test(tc, test_wallet_pending);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return cx_unit_run(spendcap_suite());
}
