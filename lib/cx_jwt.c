/* Conduix dashboard tokens on libjwt (HS256 only).
 *
 * libjwt 1.10 verifies whatever algorithm the token's own header names: it accepts
 * "alg":"none" with an empty signature, and an HS512 token signed with our secret.
 * So the header is read and checked here first (exactly "HS256", nothing else), and
 * the algorithm libjwt settled on is checked again after it verified the signature.
 * Expiry is checked here too: libjwt 1.10 does not validate claims. */
#include "cx_jwt.h"

#include <apr_base64.h>
#include <apr_file_io.h>
#include <apr_strings.h>
#include <errno.h>
#include <jansson.h>
#include <jwt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define JWT_ISSUER "conduix"
#define JWT_MIN_SECRET 32
#define JWT_MAX_SECRET 4096
#define JWT_MAX_TOKEN 4096
/* Tolerated clock difference between the dashboard host and this one. */
#define JWT_LEEWAY_SECONDS 60

static int valid_role(const char *role)
{
    return role && (!strcmp(role, "owner") || !strcmp(role, "admin") || !strcmp(role, "member") ||
                    !strcmp(role, "viewer"));
}

const char *cx_jwt_issue(apr_pool_t *p, const unsigned char *secret, apr_size_t secret_len,
                         uint64_t user_id, uint64_t org_id, const char *role, long ttl_seconds)
{
    if (!secret || secret_len < JWT_MIN_SECRET || secret_len > JWT_MAX_SECRET || ttl_seconds <= 0 ||
        !valid_role(role) || user_id == 0 || org_id == 0 || org_id > (uint64_t)LONG_MAX)
        return NULL;
    jwt_t *jwt = NULL;
    char *encoded = NULL;
    const char *out = NULL;
    long now = (long)time(NULL);
    if (jwt_new(&jwt))
        return NULL;
    if (jwt_add_grant(jwt, "iss", JWT_ISSUER) ||
        jwt_add_grant(jwt, "sub", apr_psprintf(p, "%" APR_UINT64_T_FMT, (apr_uint64_t)user_id)) ||
        jwt_add_grant_int(jwt, "org", (long)org_id) || jwt_add_grant(jwt, "role", role) ||
        jwt_add_grant_int(jwt, "iat", now) || jwt_add_grant_int(jwt, "exp", now + ttl_seconds) ||
        jwt_set_alg(jwt, JWT_ALG_HS256, secret, (int)secret_len))
        goto done;
    encoded = jwt_encode_str(jwt);
    if (encoded)
        out = apr_pstrdup(p, encoded);
done:
    free(encoded);
    jwt_free(jwt);
    return out;
}

/* The decoded JSON of the token's first segment, or NULL. */
static json_t *decode_header(apr_pool_t *p, const char *token)
{
    const char *dot = strchr(token, '.');
    if (!dot || dot == token)
        return NULL;
    apr_size_t n = (apr_size_t)(dot - token);
    /* base64url -> base64 with padding, for apr_base64_decode */
    char *b64 = apr_palloc(p, n + 4);
    for (apr_size_t i = 0; i < n; i++) {
        char c = token[i];
        if (c == '-')
            c = '+';
        else if (c == '_')
            c = '/';
        else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
            return NULL;
        b64[i] = c;
    }
    apr_size_t len = n;
    while (len % 4)
        b64[len++] = '=';
    b64[len] = '\0';
    char *plain = apr_palloc(p, (apr_size_t)apr_base64_decode_len(b64) + 1);
    int plain_len = apr_base64_decode(plain, b64);
    if (plain_len <= 0)
        return NULL;
    json_error_t jerr;
    return json_loadb(plain, (size_t)plain_len, JSON_REJECT_DUPLICATES, &jerr);
}

static int header_is_hs256(apr_pool_t *p, const char *token)
{
    json_t *h = decode_header(p, token);
    if (!h)
        return 0;
    const char *alg = json_string_value(json_object_get(h, "alg"));
    int ok = alg && !strcmp(alg, "HS256");
    json_decref(h);
    return ok;
}

/* A positive integer claim (libjwt returns -1/ENOENT when absent or not an integer). */
static int int_claim(jwt_t *jwt, const char *name, long long *out)
{
    errno = 0;
    long v = jwt_get_grant_int(jwt, name);
    if (errno || v <= 0)
        return 0;
    *out = v;
    return 1;
}

int cx_jwt_verify(apr_pool_t *p, const char *token, const unsigned char *secret,
                  apr_size_t secret_len, cx_jwt_claims_t *out, const char **err)
{
    memset(out, 0, sizeof *out);
    *err = NULL;
    if (!secret || secret_len < JWT_MIN_SECRET || secret_len > JWT_MAX_SECRET) {
        *err = "the server has no usable token secret";
        return 0;
    }
    if (!token || !*token) {
        *err = "no token";
        return 0;
    }
    if (strlen(token) > JWT_MAX_TOKEN) {
        *err = "the token is too long";
        return 0;
    }
    if (!header_is_hs256(p, token)) {
        *err = "the token is not an HS256 JWT";
        return 0;
    }
    jwt_t *jwt = NULL;
    int ok = 0;
    if (jwt_decode(&jwt, token, secret, (int)secret_len) || !jwt) {
        *err = "the token signature does not verify";
        goto done;
    }
    if (jwt_get_alg(jwt) != JWT_ALG_HS256) {
        *err = "the token is not an HS256 JWT";
        goto done;
    }
    const char *iss = jwt_get_grant(jwt, "iss");
    if (!iss || strcmp(iss, JWT_ISSUER)) {
        *err = "the token was not issued by Conduix";
        goto done;
    }
    const char *sub = jwt_get_grant(jwt, "sub");
    char *end = NULL;
    errno = 0;
    unsigned long long uid = sub && *sub >= '1' && *sub <= '9' ? strtoull(sub, &end, 10) : 0;
    long long org, iat, exp;
    if (!uid || errno || !end || *end || !int_claim(jwt, "org", &org) ||
        !int_claim(jwt, "iat", &iat) || !int_claim(jwt, "exp", &exp)) {
        *err = "the token lacks its subject, organization or times";
        goto done;
    }
    const char *role = jwt_get_grant(jwt, "role");
    if (!valid_role(role)) {
        *err = "the token carries no valid role";
        goto done;
    }
    long long now = (long long)time(NULL);
    if (exp <= now) {
        *err = "the token has expired";
        goto done;
    }
    if (iat > now + JWT_LEEWAY_SECONDS || exp <= iat) {
        *err = "the token's times are not valid";
        goto done;
    }
    out->user_id = (uint64_t)uid;
    out->org_id = (uint64_t)org;
    out->role = apr_pstrdup(p, role);
    out->issued_at = iat;
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
    *secret = NULL;
    *len = 0;
    if (!path || !*path)
        return "no secret file given";
    apr_status_t rv = apr_file_open(&f, path, APR_FOPEN_READ, APR_FPROT_OS_DEFAULT, p);
    if (rv != APR_SUCCESS)
        return apr_psprintf(p, "cannot open %s: %pm", path, &rv);
    if (apr_file_info_get(&fi, APR_FINFO_SIZE, f) != APR_SUCCESS || fi.size > JWT_MAX_SECRET + 2) {
        apr_file_close(f);
        return apr_psprintf(p, "%s is not a secret file (larger than %d bytes)", path, JWT_MAX_SECRET);
    }
    unsigned char *buf = apr_palloc(p, (apr_size_t)fi.size + 1);
    apr_size_t n = (apr_size_t)fi.size;
    rv = n ? apr_file_read_full(f, buf, n, &n) : APR_SUCCESS;
    apr_file_close(f);
    if (rv != APR_SUCCESS)
        return apr_psprintf(p, "cannot read %s", path);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    if (n < JWT_MIN_SECRET)
        return apr_psprintf(p, "%s holds %" APR_SIZE_T_FMT " bytes; a token secret needs at least %d",
                            path, n, JWT_MIN_SECRET);
    buf[n] = '\0';
    *secret = buf;
    *len = n;
    return NULL;
}
