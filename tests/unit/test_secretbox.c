/* Unit tests for cx_secretbox: round trip, distinct nonces, tampering, wrong key or
 * associated data, key files. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_pools.h>

#include "cx_secretbox.h"

static apr_pool_t *pool;
static unsigned char key[CX_SECRETBOX_KEY_LEN], other[CX_SECRETBOX_KEY_LEN];

static void setup(void)
{
    ck_assert_int_eq(apr_pool_create(&pool, NULL), APR_SUCCESS);
    for (int i = 0; i < CX_SECRETBOX_KEY_LEN; i++) {
        key[i] = (unsigned char)i;
        other[i] = (unsigned char)(i + 1);
    }
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

START_TEST(round_trip)
{
    const char *secret = "sk-live-0123456789 with spaces & ünïcode";
    const char *a = cx_secretbox_seal(pool, key, secret, "byo:7:my-vllm");
    const char *b = cx_secretbox_seal(pool, key, secret, "byo:7:my-vllm");
    ck_assert_ptr_nonnull(a);
    ck_assert(strncmp(a, CX_SECRETBOX_PREFIX, strlen(CX_SECRETBOX_PREFIX)) == 0);
    ck_assert_ptr_null(strstr(a, "sk-live"));
    ck_assert_str_ne(a, b);   /* fresh nonce each time */
    ck_assert_str_eq(cx_secretbox_open(pool, key, a, "byo:7:my-vllm"), secret);
    ck_assert_str_eq(cx_secretbox_open(pool, key, b, "byo:7:my-vllm"), secret);
    ck_assert_str_eq(cx_secretbox_open(pool, key, cx_secretbox_seal(pool, key, "", NULL), NULL), "");
}
END_TEST

START_TEST(tampering_wrong_key_wrong_owner)
{
    const char *a = cx_secretbox_seal(pool, key, "secret-value", "byo:7:x");
    ck_assert_ptr_null(cx_secretbox_open(pool, other, a, "byo:7:x"));
    ck_assert_ptr_null(cx_secretbox_open(pool, key, a, "byo:8:x"));
    char *t = strdup(a);
    size_t n = strlen(t);
    t[n - 6] = t[n - 6] == 'A' ? 'B' : 'A';
    ck_assert_ptr_null(cx_secretbox_open(pool, key, t, "byo:7:x"));
    free(t);
    ck_assert_ptr_null(cx_secretbox_open(pool, key, "enc:v1:AAAA", "byo:7:x"));
    ck_assert_ptr_null(cx_secretbox_open(pool, key, "enc:v1:!!!!", "byo:7:x"));
    ck_assert_ptr_null(cx_secretbox_open(pool, key, "plain", "byo:7:x"));
}
END_TEST

START_TEST(key_files)
{
    char path[] = "/tmp/cx-secretbox-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    const char *hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
    ck_assert_int_eq(write(fd, hex, strlen(hex)), (int)strlen(hex));
    close(fd);
    unsigned char got[CX_SECRETBOX_KEY_LEN];
    ck_assert_ptr_null(cx_secretbox_read_key(pool, path, got));
    ck_assert_mem_eq(got, key, CX_SECRETBOX_KEY_LEN);
    FILE *f = fopen(path, "w");
    fputs("too short\n", f);
    fclose(f);
    ck_assert_ptr_nonnull(cx_secretbox_read_key(pool, path, got));
    unlink(path);
    ck_assert_ptr_nonnull(cx_secretbox_read_key(pool, "/nonexistent/key", got));
}
END_TEST

static Suite *secretbox_suite(void)
{
    Suite *s = suite_create("cx_secretbox");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, round_trip);
    tcase_add_test(tc, tampering_wrong_key_wrong_owner);
    tcase_add_test(tc, key_files);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    apr_initialize();
    SRunner *sr = srunner_create(secretbox_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    apr_terminate();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
