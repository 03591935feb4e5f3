/* Conduix API keys: generation, syntax, hashing, constant-time compare. */
#include "cx_keys.h"
#include <pthread.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <apr_time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

static const char base62_alphabet[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

#define BASE62 62u
/* The largest multiple of 62 that fits in a byte: bytes at or above it are
 * dropped, so every accepted byte maps to each character equally often
 * (248 = 4 x 62; a plain `byte % 62` would favour the first 8 characters). */
#define BASE62_ACCEPT_BELOW (256u - 256u % BASE62)

static int is_base62(char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z');
}

apr_status_t cx_key_generate(apr_pool_t *p, cx_key_mode_t mode, const char **secret)
{
    if (secret == NULL || (mode != CX_KEY_LIVE && mode != CX_KEY_TEST))
        return APR_EINVAL;
    *secret = NULL;

    char *key = apr_palloc(p, CX_KEY_LEN + 1);
    memcpy(key, mode == CX_KEY_LIVE ? CX_KEY_LIVE_PREFIX : CX_KEY_TEST_PREFIX, 8);

    /* 64 bytes usually suffice for 40 characters (3 % of bytes are rejected);
     * refill when a long run of rejections drains the batch. */
    unsigned char random_bytes[64];
    size_t used = sizeof random_bytes;
    size_t filled = 0;
    apr_status_t rv = APR_SUCCESS;
    while (filled < CX_KEY_BODY_LEN) {
        if (used == sizeof random_bytes) {
            rv = apr_generate_random_bytes(random_bytes, sizeof random_bytes);
            if (rv != APR_SUCCESS)
                goto cleanup;
            used = 0;
        }
        unsigned char b = random_bytes[used++];
        if (b < BASE62_ACCEPT_BELOW)
            key[8 + filled++] = base62_alphabet[b % BASE62];
    }
    key[CX_KEY_LEN] = '\0';
    *secret = key;

cleanup:
    /* Neither the raw entropy nor a half-built key should linger in memory. */
    OPENSSL_cleanse(random_bytes, sizeof random_bytes);
    if (rv != APR_SUCCESS)
        OPENSSL_cleanse(key, CX_KEY_LEN + 1);
    return rv;
}

int cx_key_parse(const char *s, cx_key_mode_t *mode)
{
    if (s == NULL)
        return 0;
    cx_key_mode_t found;
    if (strncmp(s, CX_KEY_LIVE_PREFIX, 8) == 0)
        found = CX_KEY_LIVE;
    else if (strncmp(s, CX_KEY_TEST_PREFIX, 8) == 0)
        found = CX_KEY_TEST;
    else
        return 0;
    /* The terminating NUL fails the charset test, so a short key stops the
     * loop before reading past its end, and a long one is caught right after
     * without scanning the rest of a possibly huge header. */
    for (size_t i = 8; i < CX_KEY_LEN; i++)
        if (!is_base62(s[i]))
            return 0;
    if (s[CX_KEY_LEN] != '\0')
        return 0;
    if (mode)
        *mode = found;
    return 1;
}

/* SHA-256 fetched from the provider once per process: EVP_sha256() would make
 * every EVP_Digest look the implementation up again (half the cost of a hash). */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void cx_key_hash(const char *secret, unsigned char out[CX_SHA256_LEN])
{
    unsigned int out_len = 0;
    pthread_once(&sha256_once, sha256_fetch);
    if (EVP_Digest(secret, strlen(secret), out, &out_len,
                   sha256_md ? sha256_md : EVP_sha256(), NULL) != 1
        || out_len != CX_SHA256_LEN) {
        /* Only possible when libcrypto itself is broken (allocation failure
         * inside OpenSSL). Returning any fixed bytes could make unrelated keys
         * hash alike, so there is no safe answer to give. */
        abort();
    }
}

const char *cx_hex(apr_pool_t *p, const unsigned char *bytes, apr_size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char *out = apr_palloc(p, n * 2 + 1);
    for (apr_size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 0x0f];
    }
    out[n * 2] = '\0';
    return out;
}

const char *cx_key_display_prefix(apr_pool_t *p, const char *secret)
{
    /* apr_pstrndup stops at a shorter string's end, so a malformed input still
     * yields at most its own length, never bytes beyond it. */
    return apr_pstrndup(p, secret ? secret : "", CX_KEY_DISPLAY_LEN);
}

int cx_ct_equal(const void *a, const void *b, apr_size_t n)
{
    if (n == 0)
        return 1;
    return CRYPTO_memcmp(a, b, n) == 0;
}

#define REQUEST_ID_RANDOM_BYTES 12

const char *cx_request_id_new(apr_pool_t *p)
{
    unsigned char id[REQUEST_ID_RANDOM_BYTES];
    if (apr_generate_random_bytes(id, sizeof id) != APR_SUCCESS) {
        /* Request ids are not secrets, but they must stay unique (the usage
         * spool replays idempotently by request id). Without the CSPRNG, mix
         * the clock, the process and a per-process counter instead. */
        static unsigned long counter;
        unsigned long n = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
        apr_uint64_t now = (apr_uint64_t)apr_time_now();
        apr_uint32_t mixed = (apr_uint32_t)(n * 2654435761u) ^ (apr_uint32_t)getpid();
        for (int i = 0; i < 8; i++)
            id[i] = (unsigned char)(now >> (8 * i));
        for (int i = 0; i < 4; i++)
            id[8 + i] = (unsigned char)(mixed >> (8 * i));
    }
    return apr_pstrcat(p, "cx-req-", cx_hex(p, id, sizeof id), NULL);
}
