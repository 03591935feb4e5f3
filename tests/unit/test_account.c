/* Unit tests for the account API's core: key scopes, key policy
 * parsing, pagination cursors, audit CSV and the usage time format. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_tables.h>

#include "cx_unit.h"
#include "cx_audit.h"
#include "cx_catalog.h"
#include "cx_cursor.h"
#include "cx_json.h"
#include "cx_key_policy.h"
#include "cx_scopes.h"
#include "cx_usage.h"

/* ------------------------------------------------------------------ scopes */

START_TEST(test_scopes_has_and_normalize)
{
    ck_assert(cx_scopes_has("inference,account:read", "account:read"));
    ck_assert(cx_scopes_has(" inference , keys:write ", "keys:write"));
    ck_assert(!cx_scopes_has("inference", "account:read"));
    ck_assert(!cx_scopes_has("account:readx", "account:read"));
    ck_assert(!cx_scopes_has("account", "account:read"));
    ck_assert(!cx_scopes_has(NULL, "inference"));
    const char *bad;
    ck_assert_str_eq(cx_scopes_normalize(pool, "keys:write, inference,inference", &bad),
                     "inference,keys:write");
    ck_assert_ptr_null(cx_scopes_normalize(pool, "inference,admin", &bad));
    ck_assert_str_eq(bad, "admin");
    ck_assert_ptr_null(cx_scopes_normalize(pool, " , ", &bad));
    ck_assert_str_eq(bad, "");
}
END_TEST

START_TEST(test_scopes_missing_is_the_escalation_rule)
{
    /* a key can grant what it holds, keep what the target had, nothing else */
    ck_assert_ptr_null(cx_scopes_missing(pool, "inference", "inference,keys:write", NULL));
    ck_assert_str_eq(cx_scopes_missing(pool, "inference,account:read", "inference,keys:write", NULL),
                     "account:read");
    ck_assert_ptr_null(cx_scopes_missing(pool, "inference,account:read", "inference,keys:write",
                                         "account:read"));
    ck_assert_str_eq(cx_scopes_missing(pool, "keys:write", "inference", "inference"), "keys:write");
}
END_TEST

/* ------------------------------------------------------------------ key policy */

/* A small catalog for allowlist entries (the allowlist rules themselves are tested
 * in test_allowlist.c). */
static cx_catalog_t *catalog(void)
{
    cx_catalog_t *c = cx_catalog_create(pool);
    const char *provs[] = {"openai", "groq", "together"};
    for (int i = 0; i < 3; i++) {
        cx_provider_t p = {.name = provs[i], .region = "US", .api_format = CX_API_OPENAI,
                           .base_url = "https://example.invalid/v1", .enabled = 1};
        ck_assert_ptr_null(cx_catalog_add_provider(c, &p));
    }
    cx_price_t price = {1000, 2000};
    ck_assert_ptr_null(cx_catalog_add_model(c, "gpt-4o-mini", "GPT-4o mini", "openai", "mid", "cheap-fast",
                                            128000, 4096, 1, price, 1, 1));
    ck_assert_ptr_null(cx_catalog_add_model(c, "gpt-5-nano", "GPT-5 nano", "openai", "budget", "cheap-fast",
                                            128000, 4096, 0, price, 1, 1));
    ck_assert_ptr_null(cx_catalog_add_model(c, "llama-4-maverick", "Maverick", "groq", "budget", "flagship",
                                            128000, 4096, 0, price, 1, 1));
    ck_assert_ptr_null(cx_catalog_add_deployment(c, "gpt-4o-mini", "openai", "gpt-4o-mini", price));
    ck_assert_ptr_null(cx_catalog_add_deployment(c, "gpt-5-nano", "openai", "gpt-5-nano", price));
    ck_assert_ptr_null(cx_catalog_add_deployment(c, "llama-4-maverick", "groq", "mav-groq", price));
    ck_assert_ptr_null(cx_catalog_add_deployment(c, "llama-4-maverick", "together", "mav-together", price));
    ck_assert_ptr_null(cx_catalog_add_alias(c, "mini", "gpt-4o-mini", NULL));
    ck_assert_ptr_null(cx_catalog_add_alias(c, "together/llama-4-maverick", "llama-4-maverick", "together"));
    cx_catalog_finalize(c);
    return c;
}

static int parse(const char *json, int create, cx_key_policy_t *pol, cx_verr_t *verr)
{
    const char *err;
    json_t *doc = cx_json_parse(pool, json, strlen(json), &err);
    ck_assert_ptr_nonnull(doc);
    cx_key_policy_defaults(pol);
    return cx_key_policy_parse(pool, doc, catalog(), create, pol, verr);
}

START_TEST(test_policy_parse_accepts_and_normalizes)
{
    cx_key_policy_t pol;
    cx_verr_t verr;
    ck_assert_int_eq(parse("{\"name\":\"acme\",\"allowed_models\":[\"mini\",\"tier:mid\",\"mini\"],"
                           "\"rate_limit\":120,\"pii_mode\":\"redact\",\"region\":\"EU\","
                           "\"spend_cap\":{\"daily\":\"1.5\",\"monthly\":2},"
                           "\"scopes\":[\"account:read\",\"inference\"],\"mode\":\"test\",\"swap_mode\":\"off\"}", 1, &pol, &verr), 1);
    ck_assert_str_eq(pol.swap_mode, "off");
    ck_assert_str_eq(pol.name, "acme");
    ck_assert_str_eq(pol.allowed_models, "[\"mini\",\"tier:mid\"]");
    ck_assert_int_eq(pol.rate_limit_rpm, 120);
    ck_assert_str_eq(pol.pii_mode, "redact");
    ck_assert_str_eq(pol.region, "EU");
    ck_assert_int_eq(pol.spend_cap_daily_nano, 1500000000LL);
    ck_assert_int_eq(pol.spend_cap_monthly_nano, 2000000000LL);
    ck_assert_str_eq(pol.scopes, "inference,account:read");
    ck_assert_int_eq(pol.mode, CX_KEY_TEST);
    /* one amount is a monthly cap; a float is taken to the nearest nanocredit */
    ck_assert_int_eq(parse("{\"spend_cap\": 0.1}", 0, &pol, &verr), 1);
    ck_assert_int_eq(pol.spend_cap_monthly_nano, 100000000LL);
    ck_assert(pol.set & CX_KP_SPEND_CAP_MONTHLY);
    ck_assert(!(pol.set & CX_KP_SPEND_CAP_DAILY));
    ck_assert_int_eq(parse("{\"spend_cap\": null, \"region\": null}", 0, &pol, &verr), 1);
    ck_assert_int_eq(pol.spend_cap_daily_nano, -1);
    ck_assert_ptr_null(pol.region);
    /* policy JSON shows money exactly */
    json_t *j = cx_json_own(pool, cx_key_policy_json(pool, &pol, CX_KP_SPEND_CAP_MONTHLY));
    ck_assert(json_is_null(json_object_get(json_object_get(j, "spend_cap"), "monthly")));
}
END_TEST

START_TEST(test_policy_parse_names_the_field)
{
    static const struct {
        const char *json;
        int create;
        const char *param;
    } cases[] = {
        {"{}", 1, "name"},
        {"{\"name\":\"a\\u0001b\"}", 1, "name"},
        {"{\"name\":\"k\",\"allowed_models\":[\"mini\",\"nope\"]}", 1, "allowed_models[1]"},
        {"{\"name\":\"k\",\"allowed_models\":[\"mini\",7]}", 1, "allowed_models[1]"},
        {"{\"name\":\"k\",\"rate_limit\":1.5}", 1, "rate_limit"},
        {"{\"name\":\"k\",\"rate_limit\":1000001}", 1, "rate_limit"},
        {"{\"name\":\"k\",\"spend_cap\":\"1.0000000001\"}", 1, "spend_cap"},
        {"{\"name\":\"k\",\"spend_cap\":{\"monthly\":-2}}", 1, "spend_cap.monthly"},
        {"{\"name\":\"k\",\"spend_cap\":true}", 1, "spend_cap"},
        {"{\"name\":\"k\",\"scopes\":\"inference,root\"}", 1, "scopes"},
        {"{\"name\":\"k\",\"region\":\"us\"}", 1, "region"},
        {"{\"swap_mode\":\"sometimes\"}", 0, "swap_mode"},
        {"{\"name\":\"k\",\"allowed_models\":[\"tier:cheap\"]}", 1, "allowed_models[0]"},
        {"{\"name\":\"k\",\"allowed_models\":[\"byo:\"]}", 1, "allowed_models[0]"},
        {"{\"mode\":\"live\"}", 0, "mode"},
        {"{\"secret\":\"cx_live_x\"}", 0, "secret"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cx_key_policy_t pol;
        cx_verr_t verr;
        ck_assert_msg(parse(cases[i].json, cases[i].create, &pol, &verr) == 0, "accepted %s", cases[i].json);
        ck_assert_msg(verr.param && !strcmp(verr.param, cases[i].param), "%s: param %s, want %s",
                      cases[i].json, verr.param ? verr.param : "(null)", cases[i].param);
        ck_assert_ptr_nonnull(verr.message);
    }
    cx_key_policy_t pol;
    cx_verr_t verr;
    ck_assert_int_eq(parse("{}", 0, &pol, &verr), 0);            /* a PATCH that sets nothing */
}
END_TEST

/* ------------------------------------------------------------------ cursors */

START_TEST(test_cursor_round_trip_and_kind)
{
    uint64_t id = 0;
    const char *c = cx_cursor_encode(pool, "keys", 18446744073709551615ULL);
    ck_assert(strspn(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == strlen(c));
    ck_assert_int_eq(cx_cursor_decode(pool, c, "keys", &id), 1);
    ck_assert(id == 18446744073709551615ULL);
    ck_assert_int_eq(cx_cursor_decode(pool, c, "audit", &id), 0);
    ck_assert_int_eq(cx_cursor_decode(pool, "garbage!", "keys", &id), 0);
    ck_assert_int_eq(cx_cursor_decode(pool, "", "keys", &id), 0);
    ck_assert_int_eq(cx_cursor_decode(pool, cx_cursor_encode(pool, "keys", 42), "keys", &id), 1);
    ck_assert_uint_eq(id, 42);
}
END_TEST

/* ------------------------------------------------------------------ audit CSV */

START_TEST(test_audit_csv_quotes_and_defuses_formulas)
{
    apr_array_header_t *a = apr_array_make(pool, 2, sizeof(cx_audit_entry_t));
    cx_audit_entry_t *e = apr_array_push(a);
    memset(e, 0, sizeof *e);
    e->id = 7;
    e->created_at = "2026-01-02T03:04:05.000006Z";
    e->actor_type = "key";
    e->actor_id = 3;
    e->actor_label = "=cmd|' /C calc'!A0";
    e->action = "key.update";
    e->target = "key:9";
    e->detail = "{\"a\":\"x, \\\"y\\\"\"}";
    const char *csv = cx_audit_csv(pool, a, 1);
    ck_assert_str_eq(csv, CX_AUDIT_CSV_HEADER "\r\n"
                     "7,2026-01-02T03:04:05.000006Z,key,3,'=cmd|' /C calc'!A0,,,key.update,key:9,"
                     "\"{\"\"a\"\":\"\"x, \\\"\"y\\\"\"\"\"}\"\r\n");
    ck_assert_str_eq(cx_audit_csv(pool, apr_array_make(pool, 1, sizeof(cx_audit_entry_t)), 0), "");
}
END_TEST

/* ------------------------------------------------------------------ usage times */

START_TEST(test_usage_times)
{
    long long t;
    int date_only;
    ck_assert(cx_usage_parse_time("1970-01-01", &t, &date_only) && t == 0 && date_only);
    ck_assert(cx_usage_parse_time("2024-02-29T23:59:59Z", &t, &date_only) && !date_only);
    ck_assert_int_eq(t, 1709251199LL);
    ck_assert(cx_usage_parse_time("2024-02-29 23:59:59", &t, NULL) && t == 1709251199LL);
    ck_assert_str_eq(cx_usage_format_time(pool, 1709251199LL), "2024-02-29T23:59:59Z");
    ck_assert_str_eq(cx_usage_format_time(pool, 4102444800LL), "2100-01-01T00:00:00Z");
    ck_assert(!cx_usage_parse_time("2023-02-29", &t, NULL));
    ck_assert(!cx_usage_parse_time("2100-02-29", &t, NULL));     /* not a leap year */
    ck_assert(cx_usage_parse_time("2000-02-29", &t, NULL));      /* a leap year */
    ck_assert(!cx_usage_parse_time("2024-13-01", &t, NULL));
    ck_assert(!cx_usage_parse_time("2024-01-01T24:00:00Z", &t, NULL));
    ck_assert(!cx_usage_parse_time("2024-01-01T10:00Z", &t, NULL));
    ck_assert(!cx_usage_parse_time("2024-01-01T10:00:00+02:00", &t, NULL));
    ck_assert(!cx_usage_parse_time("1969-12-31", &t, NULL));
    ck_assert(!cx_usage_parse_time("yesterday", &t, NULL));
    ck_assert(!cx_usage_parse_time(NULL, &t, NULL));
    cx_bucket_t b;
    cx_group_t g;
    ck_assert(cx_bucket_parse("hour", &b) && b == CX_BUCKET_HOUR);
    ck_assert(!cx_bucket_parse("week", &b));
    ck_assert(cx_group_parse("provider", &g) && g == CX_GROUP_PROVIDER);
    ck_assert(!cx_group_parse("team", &g));
}
END_TEST

static Suite *account_suite(void)
{
    Suite *s = suite_create("account");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, cx_unit_pool_setup, cx_unit_pool_teardown);
    tcase_add_test(tc, test_scopes_has_and_normalize);
    tcase_add_test(tc, test_scopes_missing_is_the_escalation_rule);
    tcase_add_test(tc, test_policy_parse_accepts_and_normalizes);
    tcase_add_test(tc, test_policy_parse_names_the_field);
    tcase_add_test(tc, test_cursor_round_trip_and_kind);
    tcase_add_test(tc, test_audit_csv_quotes_and_defuses_formulas);
    tcase_add_test(tc, test_usage_times);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return cx_unit_run(account_suite());
}
