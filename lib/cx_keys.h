/* Conduix API keys: generation, syntax, hashing, constant-time compare.
 * A key is "cx_live_" or "cx_test_" followed by 40 base62 characters (238 bits
 * of entropy). Only its SHA-256 and a display prefix are ever stored. */
#ifndef CX_KEYS_H
#define CX_KEYS_H

#include <apr_pools.h>
#include <apr_errno.h>

#define CX_KEY_LIVE_PREFIX "cx_live_"
#define CX_KEY_TEST_PREFIX "cx_test_"
#define CX_KEY_BODY_LEN 40
#define CX_KEY_LEN (8 + CX_KEY_BODY_LEN)
#define CX_KEY_DISPLAY_LEN 12          /* "cx_live_AbCd" */
#define CX_SHA256_LEN 32

typedef enum { CX_KEY_LIVE = 0, CX_KEY_TEST = 1 } cx_key_mode_t;

/* New random secret from the system CSPRNG (apr_generate_random_bytes). */
apr_status_t cx_key_generate(apr_pool_t *p, cx_key_mode_t mode, const char **secret);

/* 1 when s has the exact shape of a key (prefix, length, charset), setting *mode. */
int cx_key_parse(const char *s, cx_key_mode_t *mode);

/* SHA-256 of the secret (OpenSSL EVP). */
void cx_key_hash(const char *secret, unsigned char out[CX_SHA256_LEN]);

/* Lowercase hex of a byte string, allocated from p. */
const char *cx_hex(apr_pool_t *p, const unsigned char *bytes, apr_size_t n);

/* The first CX_KEY_DISPLAY_LEN characters, safe to show and store. */
const char *cx_key_display_prefix(apr_pool_t *p, const char *secret);

/* Constant-time equality of two byte strings of length n (1 = equal). */
int cx_ct_equal(const void *a, const void *b, apr_size_t n);

/* Random request id "cx-req-" + 24 lowercase hex chars. */
const char *cx_request_id_new(apr_pool_t *p);

#endif
