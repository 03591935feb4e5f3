/* Conduix dashboard tokens (contract: cx_jwt.h), on libjwt.
 *
 * PLACEHOLDER written by the dashboard branch so it can issue tokens at login; the
 * account API branch replaces this file with its own implementation at merge. */
#include "cx_jwt.h"

#include <apr_file_io.h>
#include <apr_strings.h>
#include <jwt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *cx_jwt_issue(apr_pool_t *p, const unsigned char *secret, apr_size_t secret_len,
                         uint64_t user_id, uint64_t org_id, const char *role, long ttl_seconds)
{
    jwt_t *jwt = NULL;
    const char *result = NULL;
    char *enc = NULL;
    long now = (long)time(NULL);
    if (!secret || secret_len < 32 || jwt_new(&jwt))
        return NULL;
    char sub[32], org[32];
    snprintf(sub, sizeof sub, "%llu", (unsigned long long)user_id);
    snprintf(org, sizeof org, "%llu", (unsigned long long)org_id);
    if (jwt_add_grant(jwt, "sub", sub) || jwt_add_grant(jwt, "org", org) ||
        jwt_add_grant(jwt, "role", role ? role : "viewer") ||
        jwt_add_grant_int(jwt, "iat", now) || jwt_add_grant_int(jwt, "exp", now + ttl_seconds) ||
        jwt_set_alg(jwt, JWT_ALG_HS256, secret, (int)secret_len))
        goto done;
    enc = jwt_encode_str(jwt);
    if (enc)
        result = apr_pstrdup(p, enc);
done:
    free(enc);
    jwt_free(jwt);
    return result;
}

int cx_jwt_verify(apr_pool_t *p, const char *token, const unsigned char *secret,
                  apr_size_t secret_len, cx_jwt_claims_t *out, const char **err)
{
    jwt_t *jwt = NULL;
    int ok = 0;
    if (!token || !secret || secret_len < 32) {
        *err = "no token or no secret";
        return 0;
    }
    /* libjwt verifies the signature with the key for the algorithm the header names;
     * "none" and anything but HS256 are refused explicitly. */
    if (jwt_decode(&jwt, token, secret, (int)secret_len) || !jwt) {
        *err = "invalid token signature or format";
        return 0;
    }
    if (jwt_get_alg(jwt) != JWT_ALG_HS256) {
        *err = "token algorithm is not HS256";
        goto done;
    }
    long exp = jwt_get_grant_int(jwt, "exp");
    if (exp <= 0 || exp <= (long)time(NULL)) {
        *err = "token expired";
        goto done;
    }
    const char *sub = jwt_get_grant(jwt, "sub"), *org = jwt_get_grant(jwt, "org");
    const char *role = jwt_get_grant(jwt, "role");
    if (!sub || !org || !role) {
        *err = "token lacks sub, org or role";
        goto done;
    }
    out->user_id = strtoull(sub, NULL, 10);
    out->org_id = strtoull(org, NULL, 10);
    out->role = apr_pstrdup(p, role);
    out->issued_at = jwt_get_grant_int(jwt, "iat");
    out->expires_at = exp;
    ok = 1;
done:
    jwt_free(jwt);
    return ok;
}

const char *cx_jwt_read_secret(apr_pool_t *p, const char *path, const unsigned char **secret,
                               apr_size_t *len)
{
    apr_file_t *f;
    apr_finfo_t fi;
    if (!path || apr_file_open(&f, path, APR_FOPEN_READ, APR_FPROT_OS_DEFAULT, p) != APR_SUCCESS)
        return apr_psprintf(p, "cannot open the JWT secret file %s", path ? path : "(unset)");
    if (apr_file_info_get(&fi, APR_FINFO_SIZE, f) != APR_SUCCESS || fi.size > 4096) {
        apr_file_close(f);
        return "the JWT secret file is unreadable or too large";
    }
    apr_size_t n = (apr_size_t)fi.size;
    unsigned char *buf = apr_palloc(p, n + 1);
    apr_status_t rv = n ? apr_file_read_full(f, buf, n, &n) : APR_SUCCESS;
    apr_file_close(f);
    if (rv != APR_SUCCESS)
        return "cannot read the JWT secret file";
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    if (n < 32)
        return "the JWT secret must be at least 32 bytes";
    buf[n] = '\0';
    *secret = buf;
    *len = n;
    return NULL;
}
