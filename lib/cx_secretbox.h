/* Conduix secret box: credentials that must be stored (a BYO endpoint's API key) are
 * sealed with AES-256-GCM under a 32-byte key kept in a file outside the database, so a
 * database dump alone reveals nothing. Text form: "enc:v1:" + base64(nonce[12] ||
 * ciphertext || tag[16]). The associated data binds a sealed value to its owner (for
 * example "byo:<org>:<slug>"), so it cannot be copied onto another record. */
#ifndef CX_SECRETBOX_H
#define CX_SECRETBOX_H

#include <apr_pools.h>

#define CX_SECRETBOX_KEY_LEN 32
#define CX_SECRETBOX_PREFIX "enc:v1:"

/* Read a key file: 32 raw bytes, or 64 hex digits (trailing newline allowed).
 * NULL on success, else an error message. */
const char *cx_secretbox_read_key(apr_pool_t *p, const char *path,
                                  unsigned char key[CX_SECRETBOX_KEY_LEN]);

/* Seal plaintext; NULL on failure. */
const char *cx_secretbox_seal(apr_pool_t *p, const unsigned char key[CX_SECRETBOX_KEY_LEN],
                              const char *plaintext, const char *aad);

/* Open a sealed value; NULL when malformed, tampered, or sealed with another key/aad. */
const char *cx_secretbox_open(apr_pool_t *p, const unsigned char key[CX_SECRETBOX_KEY_LEN],
                              const char *sealed, const char *aad);

#endif
