/* Unit tests for cx_jwt: only unexpired HS256 tokens signed with the secret pass.
 * Forged tokens are built independently of cx_jwt (libjwt directly, or by hand with
 * OpenSSL's HMAC) so the tests do not trust the code they test. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <apr_base64.h>
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "cx_unit.h"
#include "cx_jwt.h"

static const unsigned char SECRET[] = "0123456789abcdef0123456789abcdef-conduix-test";
#define SECRET_LEN (sizeof SECRET - 1)

/* A token made by libjwt itself with the given algorithm, key and times. */
static const char *libjwt_token(jwt_alg_t alg, const unsigned char *key, int key_len, long iat,
                                long exp, const char *iss)
{
    jwt_t *jwt;
    ck_assert_int_eq(jwt_new(&jwt), 0);
    if (iss)
        jwt_add_grant(jwt, "iss", iss);
    jwt_add_grant(jwt, "sub", "7");
    jwt_add_grant_int(jwt, "org", 3);
    jwt_add_grant(jwt, "role", "admin");
    jwt_add_grant_int(jwt, "iat", iat);
    jwt_add_grant_int(jwt, "exp", exp);
    ck_assert_int_eq(jwt_set_alg(jwt, alg, key, key_len), 0);
    char *s = jwt_encode_str(jwt);
    ck_assert_ptr_nonnull(s);
    const char *out = apr_pstrdup(pool, s);
    free(s);
    jwt_free(jwt);
    return out;
}

static const char *b64url(const void *data, int len)
{
    char *b = apr_palloc(pool, (apr_size_t)apr_base64_encode_len(len));
    apr_base64_encode(b, data, len);
    char *w = b;
    for (char *c = b; *c; c++) {
        if (*c == '=')
            continue;
        *w++ = *c == '+' ? '-' : *c == '/' ? '_' : *c;
    }
    *w = '\0';
    return b;
}

/* header.payload signed by hand with HMAC (md = EVP_sha256() ...), or unsigned. */
static const char *hand_token(const char *header_json, const char *payload_json, const EVP_MD *md,
                              const unsigned char *key, int key_len)
{
    const char *signing = apr_pstrcat(pool, b64url(header_json, (int)strlen(header_json)), ".",
                                      b64url(payload_json, (int)strlen(payload_json)), NULL);
    if (!md)
        return apr_pstrcat(pool, signing, ".", NULL);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    HMAC(md, key, key_len, (const unsigned char *)signing, strlen(signing), mac, &mac_len);
    return apr_pstrcat(pool, signing, ".", b64url(mac, (int)mac_len), NULL);
}

static const char *valid_payload(void)
{
    long now = (long)time(NULL);
    return apr_psprintf(pool, "{\"iss\":\"conduix\",\"sub\":\"7\",\"org\":3,\"role\":\"admin\","
                        "\"iat\":%ld,\"exp\":%ld}", now, now + 600);
}

static int verify(const char *token, const char **err)
{
    cx_jwt_claims_t claims;
    return cx_jwt_verify(pool, token, SECRET, SECRET_LEN, &claims, err);
}

START_TEST(test_issued_token_verifies_with_its_claims)
{
    const char *tok = cx_jwt_issue(pool, SECRET, SECRET_LEN, 42, 9, "viewer", 900);
    ck_assert_ptr_nonnull(tok);
    cx_jwt_claims_t c;
    const char *err = NULL;
    ck_assert_int_eq(cx_jwt_verify(pool, tok, SECRET, SECRET_LEN, &c, &err), 1);
    ck_assert_ptr_null(err);
    ck_assert_uint_eq(c.user_id, 42);
    ck_assert_uint_eq(c.org_id, 9);
    ck_assert_str_eq(c.role, "viewer");
    long long now = (long long)time(NULL);
    ck_assert(c.issued_at <= now && c.issued_at >= now - 5);
    ck_assert(c.expires_at == c.issued_at + 900);
}
END_TEST

START_TEST(test_hand_signed_hs256_is_accepted)
{
    /* Interoperability: a token any HS256 implementation would produce. */
    const char *tok = hand_token("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", valid_payload(), EVP_sha256(),
                                 SECRET, (int)SECRET_LEN);
    const char *err = NULL;
    ck_assert_msg(verify(tok, &err) == 1, "refused: %s", err);
}
END_TEST

START_TEST(test_expired_token_is_refused)
{
    long now = (long)time(NULL);
    const char *tok = libjwt_token(JWT_ALG_HS256, SECRET, (int)SECRET_LEN, now - 3600, now - 1, "conduix");
    const char *err = NULL;
    ck_assert_int_eq(verify(tok, &err), 0);
    ck_assert_str_eq(err, "the token has expired");
}
END_TEST

START_TEST(test_tampered_payload_or_signature_is_refused)
{
    const char *tok = cx_jwt_issue(pool, SECRET, SECRET_LEN, 42, 9, "member", 900);
    ck_assert_ptr_nonnull(tok);
    const char *err;
    /* payload: org 9 -> a forged payload claiming another org, old signature kept */
    const char *dot1 = strchr(tok, '.');
    const char *dot2 = strchr(dot1 + 1, '.');
    long now = (long)time(NULL);
    const char *forged = apr_psprintf(pool, "{\"iss\":\"conduix\",\"sub\":\"42\",\"org\":1,"
                                      "\"role\":\"owner\",\"iat\":%ld,\"exp\":%ld}", now, now + 900);
    const char *t1 = apr_pstrcat(pool, apr_pstrndup(pool, tok, (apr_size_t)(dot1 - tok)), ".",
                                 b64url(forged, (int)strlen(forged)), dot2, NULL);
    ck_assert_int_eq(verify(t1, &err), 0);
    /* one flipped character in the signature */
    char *t2 = apr_pstrdup(pool, tok);
    char *last = t2 + strlen(t2) - 2;
    *last = *last == 'A' ? 'B' : 'A';
    ck_assert_int_eq(verify(t2, &err), 0);
    /* signature removed */
    ck_assert_int_eq(verify(apr_pstrndup(pool, tok, (apr_size_t)(dot2 - tok) + 1), &err), 0);
    /* the original still passes */
    ck_assert_int_eq(verify(tok, &err), 1);
}
END_TEST

START_TEST(test_alg_none_is_refused)
{
    const char *err;
    const char *tok = libjwt_token(JWT_ALG_NONE, NULL, 0, (long)time(NULL), (long)time(NULL) + 600,
                                   "conduix");
    ck_assert_int_eq(verify(tok, &err), 0);
    ck_assert_int_eq(verify(hand_token("{\"alg\":\"none\",\"typ\":\"JWT\"}", valid_payload(), NULL,
                                       NULL, 0), &err), 0);
    ck_assert_int_eq(verify(hand_token("{\"alg\":\"None\"}", valid_payload(), NULL, NULL, 0), &err), 0);
    /* none, but carrying a valid HS256 signature of the same content */
    ck_assert_int_eq(verify(hand_token("{\"alg\":\"none\"}", valid_payload(), EVP_sha256(), SECRET,
                                       (int)SECRET_LEN), &err), 0);
    /* a duplicated alg member must not smuggle another algorithm past the check */
    ck_assert_int_eq(verify(hand_token("{\"alg\":\"HS256\",\"alg\":\"none\"}", valid_payload(), NULL,
                                       NULL, 0), &err), 0);
}
END_TEST

START_TEST(test_other_algorithms_are_refused)
{
    const char *err;
    long now = (long)time(NULL);
    /* HS512 and HS384 signed with the right secret: right key, wrong algorithm */
    ck_assert_int_eq(verify(libjwt_token(JWT_ALG_HS512, SECRET, (int)SECRET_LEN, now, now + 600,
                                         "conduix"), &err), 0);
    ck_assert_str_eq(err, "the token is not an HS256 JWT");
    ck_assert_int_eq(verify(libjwt_token(JWT_ALG_HS384, SECRET, (int)SECRET_LEN, now, now + 600,
                                         "conduix"), &err), 0);
    /* RS256 header over an HMAC made with the secret (key-confusion attack) */
    ck_assert_int_eq(verify(hand_token("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", valid_payload(),
                                       EVP_sha256(), SECRET, (int)SECRET_LEN), &err), 0);
    ck_assert_int_eq(verify(hand_token("{\"alg\":\"hs256\"}", valid_payload(), EVP_sha256(), SECRET,
                                       (int)SECRET_LEN), &err), 0);
}
END_TEST

START_TEST(test_wrong_secret_is_refused)
{
    static const unsigned char other[] = "another-secret-of-at-least-32-bytes!!";
    const char *tok = cx_jwt_issue(pool, other, sizeof other - 1, 42, 9, "owner", 900);
    ck_assert_ptr_nonnull(tok);
    const char *err;
    ck_assert_int_eq(verify(tok, &err), 0);
    ck_assert_str_eq(err, "the token signature does not verify");
}
END_TEST

START_TEST(test_claims_are_required)
{
    const char *err;
    long now = (long)time(NULL);
    /* signed correctly but without our issuer */
    ck_assert_int_eq(verify(libjwt_token(JWT_ALG_HS256, SECRET, (int)SECRET_LEN, now, now + 600, NULL),
                            &err), 0);
    /* signed correctly, org missing / role unknown / sub not a number */
    const char *payloads[] = {
        "{\"iss\":\"conduix\",\"sub\":\"7\",\"role\":\"admin\",\"iat\":%ld,\"exp\":%ld}",
        "{\"iss\":\"conduix\",\"sub\":\"7\",\"org\":3,\"role\":\"root\",\"iat\":%ld,\"exp\":%ld}",
        "{\"iss\":\"conduix\",\"sub\":\"7x\",\"org\":3,\"role\":\"admin\",\"iat\":%ld,\"exp\":%ld}",
        "{\"iss\":\"conduix\",\"sub\":\"7\",\"org\":\"3\",\"role\":\"admin\",\"iat\":%ld,\"exp\":%ld}",
    };
    for (size_t i = 0; i < sizeof payloads / sizeof payloads[0]; i++) {
        const char *pl = apr_psprintf(pool, payloads[i], now, now + 600);
        ck_assert_msg(verify(hand_token("{\"alg\":\"HS256\"}", pl, EVP_sha256(), SECRET,
                                        (int)SECRET_LEN), &err) == 0, "accepted %s", pl);
    }
    /* issued far in the future */
    const char *future = apr_psprintf(pool, "{\"iss\":\"conduix\",\"sub\":\"7\",\"org\":3,"
                                      "\"role\":\"admin\",\"iat\":%ld,\"exp\":%ld}", now + 3600, now + 7200);
    ck_assert_int_eq(verify(hand_token("{\"alg\":\"HS256\"}", future, EVP_sha256(), SECRET,
                                       (int)SECRET_LEN), &err), 0);
    ck_assert_int_eq(verify("not-a-token", &err), 0);
    ck_assert_int_eq(verify("", &err), 0);
    ck_assert_int_eq(verify("..", &err), 0);
}
END_TEST

START_TEST(test_short_secrets_are_refused)
{
    static const unsigned char shorty[] = "too-short";
    ck_assert_ptr_null(cx_jwt_issue(pool, shorty, sizeof shorty - 1, 1, 1, "owner", 60));
    const char *tok = cx_jwt_issue(pool, SECRET, SECRET_LEN, 1, 1, "owner", 60);
    cx_jwt_claims_t c;
    const char *err;
    ck_assert_int_eq(cx_jwt_verify(pool, tok, shorty, sizeof shorty - 1, &c, &err), 0);
    ck_assert_ptr_null(cx_jwt_issue(pool, SECRET, SECRET_LEN, 1, 1, "superuser", 60));
}
END_TEST

static const char *write_temp(const char *content)
{
    char *path = apr_pstrdup(pool, "/tmp/cx-jwt-secret-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, content, strlen(content)), (int)strlen(content));
    close(fd);
    return path;
}

START_TEST(test_read_secret_file)
{
    const unsigned char *s;
    apr_size_t n;
    const char *path = write_temp("abcdefghijklmnopqrstuvwxyz0123456789\n");
    ck_assert_ptr_null(cx_jwt_read_secret(pool, path, &s, &n));
    ck_assert_uint_eq(n, 36);
    ck_assert(memcmp(s, "abcdefghijklmnopqrstuvwxyz0123456789", 36) == 0);
    unlink(path);
    path = write_temp("short\n");
    ck_assert_ptr_nonnull(cx_jwt_read_secret(pool, path, &s, &n));
    unlink(path);
    ck_assert_ptr_nonnull(cx_jwt_read_secret(pool, "/nonexistent/secret", &s, &n));
}
END_TEST

static Suite *jwt_suite(void)
{
    Suite *s = suite_create("cx_jwt");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, cx_unit_pool_setup, cx_unit_pool_teardown);
    tcase_add_test(tc, test_issued_token_verifies_with_its_claims);
    tcase_add_test(tc, test_hand_signed_hs256_is_accepted);
    tcase_add_test(tc, test_expired_token_is_refused);
    tcase_add_test(tc, test_tampered_payload_or_signature_is_refused);
    tcase_add_test(tc, test_alg_none_is_refused);
    tcase_add_test(tc, test_other_algorithms_are_refused);
    tcase_add_test(tc, test_wrong_secret_is_refused);
    tcase_add_test(tc, test_claims_are_required);
    tcase_add_test(tc, test_short_secrets_are_refused);
    tcase_add_test(tc, test_read_secret_file);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return cx_unit_run(jwt_suite());
}
