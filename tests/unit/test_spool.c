/* Unit tests for the usage spool: the line codec round-trips every field exactly
 * (money stays integer), malformed lines are refused, and appends go to one file per
 * process that cx_spool_pending sees. Replay needs a database and is covered by
 * tests/integration/test_spool.py. */
#include <check.h>
#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cx_unit.h"
#include "cx_spool.h"

static cx_usage_record_t sample(void)
{
    cx_usage_record_t u = {0};
    u.request_id = "cx-req-0123456789abcdef01234567";
    u.org_id = 42;
    u.key_id = 7;
    u.mode = CX_KEY_LIVE;
    u.endpoint = "chat.completions";
    u.requested_model = "together/llama-4-maverick";
    u.served_model = "llama-4-maverick";
    u.provider = "together";
    u.status = 200;
    u.stream = 1;
    u.fallback = 1;
    u.cache_hit = 0;
    u.prompt_tokens = 123456789012ULL;
    u.completion_tokens = 3;
    u.cost_nano = 9007199254740993LL;   /* beyond double precision: must stay exact */
    u.charged_nano = 9007199254740993LL;
    u.latency_ms = 87;
    return u;
}

START_TEST(test_roundtrip)
{
    cx_usage_record_t u = sample(), back;
    const char *line = cx_spool_encode(pool, &u);
    ck_assert_ptr_nonnull(line);
    /* exactly one newline, at the end: one record per line */
    ck_assert_ptr_eq(strchr(line, '\n'), line + strlen(line) - 1);
    ck_assert_int_eq(cx_spool_decode(pool, line, strlen(line) - 1, &back), 0);
    ck_assert_str_eq(back.request_id, u.request_id);
    ck_assert_uint_eq(back.org_id, 42);
    ck_assert_uint_eq(back.key_id, 7);
    ck_assert_int_eq(back.mode, CX_KEY_LIVE);
    ck_assert_str_eq(back.endpoint, "chat.completions");
    ck_assert_str_eq(back.requested_model, "together/llama-4-maverick");
    ck_assert_str_eq(back.served_model, "llama-4-maverick");
    ck_assert_str_eq(back.provider, "together");
    ck_assert_int_eq(back.status, 200);
    ck_assert_int_eq(back.stream, 1);
    ck_assert_int_eq(back.fallback, 1);
    ck_assert_uint_eq(back.prompt_tokens, 123456789012ULL);
    ck_assert_uint_eq(back.completion_tokens, 3);
    ck_assert(back.cost_nano == 9007199254740993LL);
    ck_assert(back.charged_nano == 9007199254740993LL);
    ck_assert_uint_eq(back.latency_ms, 87);
}
END_TEST

START_TEST(test_test_mode_and_nulls)
{
    cx_usage_record_t u = sample(), back;
    u.mode = CX_KEY_TEST;
    u.served_model = NULL;
    u.provider = NULL;
    u.charged_nano = 0;
    const char *line = cx_spool_encode(pool, &u);
    ck_assert_int_eq(cx_spool_decode(pool, line, strlen(line), &back), 0);
    ck_assert_int_eq(back.mode, CX_KEY_TEST);
    ck_assert_ptr_null(back.served_model);
    ck_assert_ptr_null(back.provider);
    ck_assert(back.charged_nano == 0);
}
END_TEST

START_TEST(test_malformed_lines_refused)
{
    static const char *const bad[] = {
        "", "not json", "[]", "{}",
        "{\"request_id\":\"x\",\"org_id\":1}",   /* missing fields */
        /* a negative charge would turn a replay into a credit */
        "{\"request_id\":\"r\",\"org_id\":1,\"key_id\":1,\"mode\":\"live\",\"endpoint\":\"e\","
        "\"requested_model\":\"m\",\"served_model\":null,\"provider\":null,\"status\":200,"
        "\"stream\":0,\"fallback\":0,\"cache_hit\":0,\"prompt_tokens\":1,\"completion_tokens\":1,"
        "\"cost_nano\":1,\"charged_nano\":-5,\"latency_ms\":1}",
        /* money as a float is not accepted */
        "{\"request_id\":\"r\",\"org_id\":1,\"key_id\":1,\"mode\":\"live\",\"endpoint\":\"e\","
        "\"requested_model\":\"m\",\"served_model\":null,\"provider\":null,\"status\":200,"
        "\"stream\":0,\"fallback\":0,\"cache_hit\":0,\"prompt_tokens\":1,\"completion_tokens\":1,"
        "\"cost_nano\":1.5,\"charged_nano\":1,\"latency_ms\":1}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cx_usage_record_t u;
        ck_assert_msg(cx_spool_decode(pool, bad[i], strlen(bad[i]), &u) != 0, "accepted: %s", bad[i]);
    }
}
END_TEST

START_TEST(test_append_and_pending)
{
    char tmpl[] = "/tmp/cx-spool-XXXXXX";
    char *dir = mkdtemp(tmpl);
    ck_assert_ptr_nonnull(dir);
    ck_assert_int_eq(cx_spool_pending(pool, dir), 0);
    cx_usage_record_t u = sample();
    for (int i = 0; i < 3; i++) {
        u.request_id = apr_psprintf(pool, "cx-req-%024d", i);
        ck_assert_int_eq(cx_spool_append(pool, dir, &u), APR_SUCCESS);
    }
    ck_assert_int_eq(cx_spool_pending(pool, dir), 1);
    /* One file for this process, three lines, each decodable. */
    const char *path = apr_psprintf(pool, "%s/usage-%ld.jsonl", dir, (long)getpid());
    apr_file_t *f;
    ck_assert_int_eq(apr_file_open(&f, path, APR_FOPEN_READ, APR_FPROT_OS_DEFAULT, pool), APR_SUCCESS);
    char line[4096];
    int n = 0;
    while (apr_file_gets(line, sizeof line, f) == APR_SUCCESS) {
        cx_usage_record_t back;
        ck_assert_int_eq(cx_spool_decode(pool, line, strlen(line) - 1, &back), 0);
        ck_assert_str_eq(back.request_id, apr_psprintf(pool, "cx-req-%024d", n));
        n++;
    }
    apr_file_close(f);
    ck_assert_int_eq(n, 3);
    apr_file_remove(path, pool);
    ck_assert_int_eq(cx_spool_pending(pool, dir), 0);
    apr_dir_remove(dir, pool);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cx_spool");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, cx_unit_pool_setup, cx_unit_pool_teardown);
    tcase_add_test(tc, test_roundtrip);
    tcase_add_test(tc, test_test_mode_and_nulls);
    tcase_add_test(tc, test_malformed_lines_refused);
    tcase_add_test(tc, test_append_and_pending);
    suite_add_tcase(s, tc);
    return cx_unit_run(s);
}
