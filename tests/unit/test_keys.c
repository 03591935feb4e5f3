/* Unit tests for cx_keys: key generation, syntax, hashing, request ids. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_hash.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "cx_unit.h"
#include "cx_keys.h"

static const char base62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static const char *generate(cx_key_mode_t mode)
{
    const char *secret = NULL;
    ck_assert_int_eq(cx_key_generate(pool, mode, &secret), APR_SUCCESS);
    ck_assert_ptr_nonnull(secret);
    return secret;
}

START_TEST(test_generated_keys_parse_with_their_mode)
{
    const char *live = generate(CX_KEY_LIVE);
    const char *test = generate(CX_KEY_TEST);
    ck_assert_uint_eq(strlen(live), CX_KEY_LEN);
    ck_assert_uint_eq(strlen(test), CX_KEY_LEN);
    ck_assert_int_eq(strncmp(live, "cx_live_", 8), 0);
    ck_assert_int_eq(strncmp(test, "cx_test_", 8), 0);

    cx_key_mode_t mode = CX_KEY_TEST;
    ck_assert_int_eq(cx_key_parse(live, &mode), 1);
    ck_assert_int_eq(mode, CX_KEY_LIVE);
    ck_assert_int_eq(cx_key_parse(test, &mode), 1);
    ck_assert_int_eq(mode, CX_KEY_TEST);
    ck_assert_int_eq(cx_key_parse(live, NULL), 1);

    const char *secret = NULL;
    ck_assert_int_eq(cx_key_generate(pool, (cx_key_mode_t)7, &secret), APR_EINVAL);
    ck_assert_ptr_null(secret);
    ck_assert_int_eq(cx_key_generate(pool, CX_KEY_LIVE, NULL), APR_EINVAL);
}
END_TEST

/* 1000 keys: all distinct, all well-formed, and the 40,000 body characters
 * spread evenly over the 62 symbols. A `byte % 62` generator makes the first 8
 * symbols 25 % more likely, which pushes chi-square to about 300; uniform
 * output averages 61 (the degrees of freedom). */
START_TEST(test_keys_distinct_and_uniform)
{
    enum { DRAWS = 1000 };
    apr_hash_t *seen = apr_hash_make(pool);
    unsigned counts[62] = { 0 };
    for (int i = 0; i < DRAWS; i++) {
        const char *key = generate(i % 2 ? CX_KEY_TEST : CX_KEY_LIVE);
        cx_key_mode_t mode;
        ck_assert_int_eq(cx_key_parse(key, &mode), 1);
        ck_assert_int_eq(mode, i % 2 ? CX_KEY_TEST : CX_KEY_LIVE);
        /* Bodies must differ regardless of mode. */
        ck_assert_msg(apr_hash_get(seen, key + 8, CX_KEY_BODY_LEN) == NULL, "duplicate key body");
        apr_hash_set(seen, key + 8, CX_KEY_BODY_LEN, "");
        for (int j = 8; j < CX_KEY_LEN; j++)
            counts[strchr(base62, key[j]) - base62]++;
    }
    ck_assert_uint_eq(apr_hash_count(seen), DRAWS);

    double expected = DRAWS * CX_KEY_BODY_LEN / 62.0;
    double chi_square = 0;
    for (int c = 0; c < 62; c++) {
        ck_assert_msg(counts[c] > expected * 0.7 && counts[c] < expected * 1.3,
                      "symbol '%c' drawn %u times, expected about %.0f", base62[c], counts[c],
                      expected);
        double d = counts[c] - expected;
        chi_square += d * d / expected;
    }
    ck_assert_msg(chi_square < 150, "chi-square %.1f over 61 degrees of freedom", chi_square);
}
END_TEST

START_TEST(test_sha256_known_vectors)
{
    unsigned char digest[CX_SHA256_LEN];
    cx_key_hash("abc", digest);
    ck_assert_str_eq(cx_hex(pool, digest, sizeof digest),
                     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    cx_key_hash("", digest);
    ck_assert_str_eq(cx_hex(pool, digest, sizeof digest),
                     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    cx_key_hash("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", digest);
    ck_assert_str_eq(cx_hex(pool, digest, sizeof digest),
                     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");

    /* Same secret, same hash; different secret, different hash. */
    const char *key = generate(CX_KEY_LIVE);
    unsigned char again[CX_SHA256_LEN], other[CX_SHA256_LEN];
    cx_key_hash(key, digest);
    cx_key_hash(apr_pstrdup(pool, key), again);
    cx_key_hash(generate(CX_KEY_LIVE), other);
    ck_assert_int_eq(cx_ct_equal(digest, again, CX_SHA256_LEN), 1);
    ck_assert_int_eq(cx_ct_equal(digest, other, CX_SHA256_LEN), 0);
}
END_TEST

START_TEST(test_hex)
{
    static const unsigned char bytes[] = { 0x00, 0xff, 0x0a, 0xb1, 0x7c };
    ck_assert_str_eq(cx_hex(pool, bytes, sizeof bytes), "00ff0ab17c");
    ck_assert_str_eq(cx_hex(pool, bytes, 0), "");
}
END_TEST

START_TEST(test_malformed_keys_rejected)
{
    const char *good = "cx_live_0123456789abcdefghijABCDEFGHIJklmnopqrst";
    ck_assert_uint_eq(strlen(good), CX_KEY_LEN);
    ck_assert_int_eq(cx_key_parse(good, NULL), 1);

    const char *bad[] = {
        NULL, "", "cx_live_", "cx_test",
        "cx_prod_0123456789abcdefghijABCDEFGHIJklmnopqrst",   /* unknown mode */
        "CX_LIVE_0123456789abcdefghijABCDEFGHIJklmnopqrst",   /* prefix is case-sensitive */
        "cx-live-0123456789abcdefghijABCDEFGHIJklmnopqrst",
        "sk-proj-0123456789abcdefghijABCDEFGHIJklmnopqrst",
        " cx_live_0123456789abcdefghijABCDEFGHIJklmnopqrs",   /* leading space */
        "cx_live_0123456789abcdefghijABCDEFGHIJklmnopqrs",    /* 47: one short */
        "cx_live_0123456789abcdefghijABCDEFGHIJklmnopqrstu",  /* 49: one long */
        "cx_live_0123456789abcdefghijABCDEFGHIJklmnopqrst\n", /* trailing newline */
        "cx_live_0123456789abcdefghijABCDEFGHIJklmnopqrst ",
        "cx_live_0123456789abcdefghij-BCDEFGHIJklmnopqrst",   /* bad characters */
        "cx_live_0123456789abcdefghij_BCDEFGHIJklmnopqrst",
        "cx_live_0123456789abcdefghij+BCDEFGHIJklmnopqrst",
        "cx_live_0123456789abcdefghijABCDEFGHIJklmnopqrs=",
        "cx_live_ 123456789abcdefghijABCDEFGHIJklmnopqrst",
        "cx_live_0123456789abcdefghijABCDEFGHIJklmn\xc3\xa9pqrs", /* UTF-8 é, right length */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cx_key_mode_t mode = (cx_key_mode_t)99;
        ck_assert_msg(cx_key_parse(bad[i], &mode) == 0, "accepted bad key #%zu", i);
        ck_assert_msg(mode == (cx_key_mode_t)99, "mode written for bad key #%zu", i);
    }

    /* An embedded NUL anywhere makes the C string a key prefix, never a key:
     * e.g. a header decoded with a %00 in it. */
    for (size_t pos = 0; pos < CX_KEY_LEN; pos++) {
        char buf[CX_KEY_LEN + 1];
        memcpy(buf, good, sizeof buf);
        buf[pos] = '\0';
        ck_assert_msg(cx_key_parse(buf, NULL) == 0, "accepted key with NUL at %zu", pos);
    }
}
END_TEST

START_TEST(test_display_prefix)
{
    const char *key = generate(CX_KEY_LIVE);
    const char *shown = cx_key_display_prefix(pool, key);
    ck_assert_uint_eq(strlen(shown), CX_KEY_DISPLAY_LEN);
    ck_assert_int_eq(strncmp(shown, key, CX_KEY_DISPLAY_LEN), 0);
    ck_assert_str_eq(cx_key_display_prefix(pool, "cx_live_AbCdEfGh"), "cx_live_AbCd");
    ck_assert_str_eq(cx_key_display_prefix(pool, "cx_li"), "cx_li");
    ck_assert_str_eq(cx_key_display_prefix(pool, NULL), "");
}
END_TEST

START_TEST(test_ct_equal)
{
    unsigned char a[CX_SHA256_LEN], b[CX_SHA256_LEN];
    cx_key_hash("abc", a);
    cx_key_hash("abc", b);
    ck_assert_int_eq(cx_ct_equal(a, b, sizeof a), 1);
    b[0] ^= 1;
    ck_assert_int_eq(cx_ct_equal(a, b, sizeof a), 0);
    b[0] ^= 1;
    b[CX_SHA256_LEN - 1] ^= 0x80;
    ck_assert_int_eq(cx_ct_equal(a, b, sizeof a), 0);
    ck_assert_int_eq(cx_ct_equal(a, b, CX_SHA256_LEN - 1), 1);   /* only the prefix compared */
    ck_assert_int_eq(cx_ct_equal(a, b, 0), 1);
    ck_assert_int_eq(cx_ct_equal("secret", "secreT", 6), 0);
}
END_TEST

START_TEST(test_request_id_shape_and_uniqueness)
{
    apr_hash_t *seen = apr_hash_make(pool);
    for (int i = 0; i < 1000; i++) {
        const char *id = cx_request_id_new(pool);
        ck_assert_uint_eq(strlen(id), 7 + 24);
        ck_assert_int_eq(strncmp(id, "cx-req-", 7), 0);
        for (int j = 7; j < 31; j++)
            ck_assert_msg(strchr("0123456789abcdef", id[j]) != NULL && id[j] != '\0',
                          "bad character in %s", id);
        ck_assert_msg(apr_hash_get(seen, id, APR_HASH_KEY_STRING) == NULL, "duplicate id %s", id);
        apr_hash_set(seen, id, APR_HASH_KEY_STRING, "");
    }
}
END_TEST

static Suite *keys_suite(void)
{
    Suite *s = suite_create("cx_keys");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, cx_unit_pool_setup, cx_unit_pool_teardown);
    tcase_add_test(tc, test_generated_keys_parse_with_their_mode);
    tcase_add_test(tc, test_keys_distinct_and_uniform);
    tcase_add_test(tc, test_sha256_known_vectors);
    tcase_add_test(tc, test_hex);
    tcase_add_test(tc, test_malformed_keys_rejected);
    tcase_add_test(tc, test_display_prefix);
    tcase_add_test(tc, test_ct_equal);
    tcase_add_test(tc, test_request_id_shape_and_uniqueness);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return cx_unit_run(keys_suite());
}
