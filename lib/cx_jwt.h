/* Conduix dashboard tokens: HS256 JWTs issued at dashboard login (conduix-admin) and
 * accepted by GET /api/usage (mod_conduix). Built on libjwt (Debian libjwt-dev);
 * only HS256 is accepted — "none" and every other algorithm are refused.
 * (Contract shared by the dashboard and the account API: implemented in cx_jwt.c.) */
#ifndef CX_JWT_H
#define CX_JWT_H

#include <stdint.h>
#include <apr_pools.h>

typedef struct {
    uint64_t user_id;
    uint64_t org_id;
    const char *role;       /* owner | admin | member | viewer */
    long long issued_at;
    long long expires_at;
} cx_jwt_claims_t;

/* Sign claims (iat = now, exp = now + ttl_seconds). NULL on failure. */
const char *cx_jwt_issue(apr_pool_t *p, const unsigned char *secret, apr_size_t secret_len,
                         uint64_t user_id, uint64_t org_id, const char *role, long ttl_seconds);

/* 1 when token is a valid, unexpired HS256 token signed with secret; else 0 and *err. */
int cx_jwt_verify(apr_pool_t *p, const char *token, const unsigned char *secret,
                  apr_size_t secret_len, cx_jwt_claims_t *out, const char **err);

/* Read a secret file (at least 32 bytes; trailing newline stripped). NULL on success. */
const char *cx_jwt_read_secret(apr_pool_t *p, const char *path, const unsigned char **secret,
                               apr_size_t *len);

#endif
