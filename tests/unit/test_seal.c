/* Unit tests for sealed secrets (lib/cx_seal.c): AES-256-GCM round trips, refusals of
 * altered values, wrong keys and wrong rows, fresh nonces, legacy plaintext, key files. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_base64.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "cx_unit.h"
#include "cx_seal.h"

static apr_pool_t *p;

static cx_seal_key_t key_of(unsigned char fill)
{
    cx_seal_key_t k;
    memset(k.bytes, fill, sizeof k.bytes);
    k.bytes[0] = 0x42;
    return k;
}

static void setup(void) { apr_pool_create(&p, NULL); }
static void teardown(void) { apr_pool_destroy(p); }

START_TEST(test_round_trip_and_format)
{
    cx_seal_key_t k = key_of(7);
    const char *err = NULL, *plain = NULL;
    const char *secrets[] = {"sk-live-abc123", "x", "unicode ✓ secret", ""};
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++) {
        const char *s = cx_seal(p, &k, "byo_endpoints:1:lab", secrets[i], &err);
        ck_assert_ptr_nonnull(s);
        ck_assert(cx_seal_is_sealed(s));
        ck_assert_int_eq(strncmp(s, "v1:", 3), 0);
        /* The plaintext never shows through. Only meaningful for secrets longer than a
         * few characters: a one-letter secret turns up in random base64 about half the
         * time by chance. */
        if (strlen(secrets[i]) >= 6)
            ck_assert_ptr_null(strstr(s, secrets[i]));
        /* nonce 12 + ciphertext + tag 16 */
        ck_assert_int_eq(apr_base64_decode_len(s + 3) >= (int)(28 + strlen(secrets[i])), 1);
        ck_assert_int_eq(cx_unseal(p, &k, "byo_endpoints:1:lab", s, &plain, &err), CX_SEAL_OPENED);
        ck_assert_str_eq(plain, secrets[i]);
    }
}
END_TEST

START_TEST(test_tampering_is_refused)
{
    cx_seal_key_t k = key_of(7);
    const char *err = NULL, *plain = "unchanged";
    const char *s = cx_seal(p, &k, NULL, "sk-secret-value", &err);
    ck_assert_ptr_nonnull(s);
    /* flip one bit in every byte of the blob in turn: none may open */
    unsigned char blob[256];
    int n = apr_base64_decode_binary(blob, s + 3);
    for (int i = 0; i < n; i++) {
        blob[i] ^= 0x01;
        char *b64 = apr_palloc(p, apr_base64_encode_len(n));
        apr_base64_encode(b64, (const char *)blob, n);
        ck_assert_int_eq(cx_unseal(p, &k, NULL, apr_pstrcat(p, "v1:", b64, NULL), &plain, &err),
                         CX_SEAL_REFUSED);
        ck_assert_ptr_null(plain);
        blob[i] ^= 0x01;
    }
    /* truncated, garbage, empty */
    ck_assert_int_eq(cx_unseal(p, &k, NULL, apr_pstrndup(p, s, strlen(s) - 4), &plain, &err), CX_SEAL_REFUSED);
    ck_assert_int_eq(cx_unseal(p, &k, NULL, "v1:!!!!", &plain, &err), CX_SEAL_REFUSED);
    ck_assert_int_eq(cx_unseal(p, &k, NULL, "v1:", &plain, &err), CX_SEAL_REFUSED);
    ck_assert_int_eq(cx_unseal(p, &k, NULL, "v1:AAAA", &plain, &err), CX_SEAL_REFUSED);
    ck_assert_ptr_nonnull(err);
}
END_TEST

START_TEST(test_wrong_key_or_row_is_refused)
{
    cx_seal_key_t k = key_of(7), other = key_of(8);
    const char *err = NULL, *plain = NULL;
    const char *s = cx_seal(p, &k, "byo_endpoints:1:lab", "sk-secret", &err);
    ck_assert_int_eq(cx_unseal(p, &other, "byo_endpoints:1:lab", s, &plain, &err), CX_SEAL_REFUSED);
    ck_assert_ptr_null(plain);
    /* copied into another organization's row */
    ck_assert_int_eq(cx_unseal(p, &k, "byo_endpoints:2:lab", s, &plain, &err), CX_SEAL_REFUSED);
    ck_assert_int_eq(cx_unseal(p, &k, NULL, s, &plain, &err), CX_SEAL_REFUSED);
    /* no key at all */
    ck_assert_int_eq(cx_unseal(p, NULL, "byo_endpoints:1:lab", s, &plain, &err), CX_SEAL_REFUSED);
    ck_assert_ptr_null(cx_seal(p, NULL, NULL, "x", &err));
}
END_TEST

START_TEST(test_every_seal_has_a_fresh_nonce)
{
    cx_seal_key_t k = key_of(7);
    const char *err;
    enum { N = 200 };
    char *nonces[N];
    for (int i = 0; i < N; i++) {
        const char *s = cx_seal(p, &k, NULL, "same secret", &err);
        unsigned char blob[128];
        apr_base64_decode_binary(blob, s + 3);
        nonces[i] = apr_pstrmemdup(p, (const char *)blob, 12);
        for (int j = 0; j < i; j++)
            ck_assert_int_ne(memcmp(nonces[i], nonces[j], 12), 0);
    }
}
END_TEST

START_TEST(test_legacy_plaintext_opens_as_itself)
{
    cx_seal_key_t k = key_of(7);
    const char *err = NULL, *plain = NULL;
    ck_assert(!cx_seal_is_sealed("sk-legacy-plain"));
    ck_assert_int_eq(cx_unseal(p, &k, "byo_endpoints:1:lab", "sk-legacy-plain", &plain, &err),
                     CX_SEAL_LEGACY);
    ck_assert_str_eq(plain, "sk-legacy-plain");
    ck_assert_int_eq(cx_unseal(p, NULL, NULL, "sk-legacy-plain", &plain, &err), CX_SEAL_LEGACY);
    ck_assert_str_eq(plain, "sk-legacy-plain");
}
END_TEST

static const char *write_file(const void *data, size_t len)
{
    char *path = apr_pstrdup(p, "/tmp/cx-seal-key-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
    close(fd);
    return path;
}

START_TEST(test_key_files)
{
    cx_seal_key_t *a, *b;
    const char *err;
    unsigned char raw[32];
    for (int i = 0; i < 32; i++)
        raw[i] = (unsigned char)(i * 7 + 1);
    const char *f1 = write_file(raw, 32);
    ck_assert_int_eq(cx_seal_key_load(p, f1, &a, &err), 0);
    char hex[66];
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    hex[64] = '\n';
    const char *f2 = write_file(hex, 65);
    ck_assert_int_eq(cx_seal_key_load(p, f2, &b, &err), 0);
    ck_assert_int_eq(memcmp(a->bytes, b->bytes, 32), 0);
    /* what one seals, the other opens */
    const char *plain;
    ck_assert_int_eq(cx_unseal(p, b, NULL, cx_seal(p, a, NULL, "s", &err), &plain, &err), CX_SEAL_OPENED);
    const char *short_file = write_file(raw, 31);
    ck_assert_int_eq(cx_seal_key_load(p, short_file, &a, &err), -1);
    ck_assert_ptr_nonnull(strstr(err, "32 bytes"));
    ck_assert_int_eq(cx_seal_key_load(p, "/nonexistent/key", &a, &err), -1);
    unlink(f1);
    unlink(f2);
    unlink(short_file);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cx_seal");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_round_trip_and_format);
    tcase_add_test(tc, test_tampering_is_refused);
    tcase_add_test(tc, test_wrong_key_or_row_is_refused);
    tcase_add_test(tc, test_every_seal_has_a_fresh_nonce);
    tcase_add_test(tc, test_legacy_plaintext_opens_as_itself);
    tcase_add_test(tc, test_key_files);
    suite_add_tcase(s, tc);
    return cx_unit_run(s);
}
