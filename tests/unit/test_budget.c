/* Unit tests for provider budgets: thresholds, hard caps, months, the webhook URL
 * check and the Slack / Teams payloads. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_time.h>

#include "cx_unit.h"
#include "cx_budget.h"
#include "cx_json.h"

START_TEST(test_thresholds)
{
    const cx_nano_t budget = 1000;
    ck_assert_int_eq(cx_budget_thresholds_reached(0, budget), 0);
    ck_assert_int_eq(cx_budget_thresholds_reached(699, budget), 0);
    ck_assert_int_eq(cx_budget_thresholds_reached(700, budget), 1);
    ck_assert_int_eq(cx_budget_thresholds_reached(799, budget), 1);
    ck_assert_int_eq(cx_budget_thresholds_reached(800, budget), 2);
    ck_assert_int_eq(cx_budget_thresholds_reached(900, budget), 3);
    ck_assert_int_eq(cx_budget_thresholds_reached(999, budget), 3);
    ck_assert_int_eq(cx_budget_thresholds_reached(1000, budget), 4);
    ck_assert_int_eq(cx_budget_thresholds_reached(5000, budget), 4);
    ck_assert_int_eq(cx_budget_thresholds_reached(100, 0), 0);
    /* no overflow near the top of the range */
    ck_assert_int_eq(cx_budget_thresholds_reached(INT64_MAX, INT64_MAX), 4);
    ck_assert_int_eq(cx_budget_thresholds_reached(INT64_MAX / 10 * 7, INT64_MAX), 0);
    ck_assert_int_eq(cx_budget_thresholds[0], 70);
    ck_assert_int_eq(cx_budget_thresholds[3], 100);
}
END_TEST

START_TEST(test_hard_cap)
{
    cx_provider_budget_t capped = {"openai", 1000, 1}, soft = {"openai", 1000, 0};
    ck_assert(!cx_budget_capped(&capped, 999));
    ck_assert(cx_budget_capped(&capped, 1000));
    ck_assert(!cx_budget_capped(&soft, 5000));
    ck_assert(!cx_budget_capped(NULL, 5000));
}
END_TEST

START_TEST(test_months)
{
    apr_time_t t;
    apr_time_exp_t tm = {0};
    tm.tm_year = 2026 - 1900;
    tm.tm_mon = 11;          /* December */
    tm.tm_mday = 31;
    tm.tm_hour = 23;
    tm.tm_min = 59;
    ck_assert_int_eq(apr_time_exp_gmt_get(&t, &tm), APR_SUCCESS);
    ck_assert_str_eq(cx_budget_month(pool, t), "2026-12");
    const char *from, *to;
    cx_budget_month_bounds(pool, t, &from, &to);
    ck_assert_str_eq(from, "2026-12-01 00:00:00");
    ck_assert_str_eq(to, "2027-01-01 00:00:00");
    tm.tm_mon = 1;
    tm.tm_mday = 3;
    ck_assert_int_eq(apr_time_exp_gmt_get(&t, &tm), APR_SUCCESS);
    cx_budget_month_bounds(pool, t, &from, &to);
    ck_assert_str_eq(cx_budget_month(pool, t), "2026-02");
    ck_assert_str_eq(to, "2026-03-01 00:00:00");
}
END_TEST

START_TEST(test_url_check)
{
    ck_assert_ptr_null(cx_alert_url_check(pool, "https://hooks.slack.com/services/T0/B0/XYZ"));
    ck_assert_ptr_null(cx_alert_url_check(pool, "http://127.0.0.1:8080/hook?x=1"));
    ck_assert_ptr_null(cx_alert_url_check(pool, "HTTPS://example.webhook.office.com/webhookb2/abc"));
    const char *bad[] = {"", "hooks.slack.com/services/x", "file:///etc/passwd", "gopher://h/x",
                         "ftp://h/x", "javascript:alert(1)", "dict://127.0.0.1:11211/", "http://",
                         "https://user:pw@example.com/hook", "https://example.com/a b",
                         "https://example.com/\r\nX-Injected: 1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(cx_alert_url_check(pool, bad[i]) != NULL, "accepted '%s'", bad[i]);
}
END_TEST

static const cx_budget_alert_t ALERT = {
    .provider = "openai", .month = "2026-11", .threshold_pct = 80,
    .spend_nano = 8200000000LL, .budget_nano = 10000000000LL, .hard_cap = 1,
};

START_TEST(test_slack_payload)
{
    apr_size_t len;
    char *body = cx_budget_alert_payload(pool, CX_ALERT_SLACK, &ALERT, &len);
    const char *err;
    json_t *j = cx_json_parse(pool, body, len, &err);
    ck_assert_ptr_nonnull(j);
    ck_assert_int_eq(json_object_size(j), 1);
    const char *text = json_string_value(json_object_get(j, "text"));
    ck_assert_ptr_nonnull(text);
    ck_assert_ptr_nonnull(strstr(text, "openai"));
    ck_assert_ptr_nonnull(strstr(text, "80%"));
    ck_assert_ptr_nonnull(strstr(text, "2026-11"));
    ck_assert_ptr_nonnull(strstr(text, "8.20 of 10.00 credits"));
}
END_TEST

START_TEST(test_teams_payload)
{
    apr_size_t len;
    char *body = cx_budget_alert_payload(pool, CX_ALERT_TEAMS, &ALERT, &len);
    const char *err;
    json_t *j = cx_json_parse(pool, body, len, &err);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(json_string_value(json_object_get(j, "type")), "message");
    json_t *atts = json_object_get(j, "attachments");
    ck_assert_int_eq(json_array_size(atts), 1);
    json_t *att = json_array_get(atts, 0);
    ck_assert_str_eq(json_string_value(json_object_get(att, "contentType")),
                     "application/vnd.microsoft.card.adaptive");
    ck_assert(json_is_null(json_object_get(att, "contentUrl")));
    json_t *card = json_object_get(att, "content");
    ck_assert_str_eq(json_string_value(json_object_get(card, "type")), "AdaptiveCard");
    ck_assert_str_eq(json_string_value(json_object_get(card, "version")), "1.2");
    ck_assert_str_eq(json_string_value(json_object_get(card, "$schema")),
                     "http://adaptivecards.io/schemas/adaptive-card.json");
    json_t *bodyarr = json_object_get(card, "body");
    int factset = 0;
    size_t i;
    json_t *el;
    json_array_foreach(bodyarr, i, el) {
        const char *type = json_string_value(json_object_get(el, "type"));
        ck_assert(!strcmp(type, "TextBlock") || !strcmp(type, "FactSet"));
        if (!strcmp(type, "FactSet")) {
            factset = 1;
            json_t *f0 = json_array_get(json_object_get(el, "facts"), 0);
            ck_assert_str_eq(json_string_value(json_object_get(f0, "title")), "Provider");
            ck_assert_str_eq(json_string_value(json_object_get(f0, "value")), "openai");
        }
    }
    ck_assert(factset);
}
END_TEST

START_TEST(test_formats)
{
    cx_alert_format_t f;
    ck_assert(cx_alert_format_parse("slack", &f) && f == CX_ALERT_SLACK);
    ck_assert(cx_alert_format_parse("Teams", &f) && f == CX_ALERT_TEAMS);
    ck_assert(!cx_alert_format_parse("discord", &f));
    ck_assert_str_eq(cx_alert_format_name(CX_ALERT_TEAMS), "teams");
}
END_TEST

static Suite *budget_suite(void)
{
    Suite *s = suite_create("cx_budget");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, cx_unit_pool_setup, cx_unit_pool_teardown);
    tcase_add_test(tc, test_thresholds);
    tcase_add_test(tc, test_hard_cap);
    tcase_add_test(tc, test_months);
    tcase_add_test(tc, test_url_check);
    tcase_add_test(tc, test_slack_payload);
    tcase_add_test(tc, test_teams_payload);
    tcase_add_test(tc, test_formats);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return cx_unit_run(budget_suite());
}
