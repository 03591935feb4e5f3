/* Conduix dashboard passwords: libcrypt's yescrypt (the Debian default), salted by
 * crypt_gensalt_ra from the system CSPRNG. Verification is constant-time. */
#ifndef CX_PASSWORD_H
#define CX_PASSWORD_H

#include <apr_pools.h>

/* Returns the "$y$..." hash, or NULL when libcrypt refuses. */
const char *cx_password_hash(apr_pool_t *p, const char *password);

/* 1 when password matches hash. */
int cx_password_verify(const char *password, const char *hash);

#endif
