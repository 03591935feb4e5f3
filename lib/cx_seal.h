/* Conduix sealed secrets: values kept in the database encrypted at rest (BYO
 * endpoint credentials), with AES-256-GCM under a 32-byte key read from a file
 * (ConduixSecretKeyFile, conduixctl --secret-key-file / CONDUIX_SECRET_KEY_FILE,
 * the dashboard's CONDUIX_SECRET_KEY_FILE).
 *
 * Stored text: "v1:" + base64(nonce[12] | ciphertext | tag[16]), a fresh random
 * nonce per value. The associated data (e.g. "byo:<org id>:<slug>") binds a sealed
 * value to its row, so it cannot be copied into another row and still open.
 * Values without the "v1:" prefix are legacy plaintext from before sealing: they
 * open as themselves (reported as legacy) until re-sealed. */
#ifndef CX_SEAL_H
#define CX_SEAL_H

#include <apr_pools.h>

#define CX_SEAL_KEY_LEN 32
#define CX_SEAL_PREFIX "v1:"

typedef struct cx_seal_key_t {
    unsigned char bytes[CX_SEAL_KEY_LEN];
} cx_seal_key_t;

/* Read the key file: exactly 32 raw bytes, or 64 hex digits (a trailing newline is
 * allowed). Returns 0, or -1 with *err (never containing key material). */
int cx_seal_key_load(apr_pool_t *p, const char *path, cx_seal_key_t **out, const char **err);

/* Seal plain (NUL-terminated) with aad (may be NULL). Returns the stored text, or
 * NULL with *err. */
const char *cx_seal(apr_pool_t *p, const cx_seal_key_t *key, const char *aad, const char *plain,
                    const char **err);

typedef enum {
    CX_SEAL_OPENED = 0,    /* a sealed value, authenticated and decrypted */
    CX_SEAL_LEGACY = 1,    /* legacy plaintext, returned as it is */
    CX_SEAL_REFUSED = -1   /* malformed, tampered, wrong key or aad, or no key: *err */
} cx_seal_rc;

/* Open a stored value into *plain. key may be NULL (only legacy values open). */
cx_seal_rc cx_unseal(apr_pool_t *p, const cx_seal_key_t *key, const char *aad, const char *stored,
                     const char **plain, const char **err);

/* 1 when stored is in the sealed format (whatever its key). */
int cx_seal_is_sealed(const char *stored);

#endif
