/* conduix-admin: sessions and CSRF tokens.
 *
 * The session cookie holds 32 random bytes (base64url); the database keeps only their
 * SHA-256, so neither a database dump nor a log can be turned into a session. The CSRF
 * token of a session is SHA-256("conduix-csrf:" + cookie value): it changes with every
 * session, needs no storage, and cannot be computed by a page that cannot read the
 * HttpOnly cookie. Before login (login and invitation forms) a separate random
 * "prelogin" cookie plays the same role, so a login form cannot be submitted cross-site
 * either. A new session token is minted at every login (no fixation). */
#include "admin.h"
#include "cx_jwt.h"
#include "cx_keys.h"
#include "cx_log.h"

#include <apr_general.h>
#include <apr_strings.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#define SESSION_COOKIE "cx_session"
#define PRELOGIN_COOKIE "cx_prelogin"
#define JWT_COOKIE "cx_dashboard_jwt"
#define TOKEN_CHARS 43   /* base64url of 32 bytes, unpadded */

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

const char *cxa_random_token(apr_pool_t *p)
{
    unsigned char raw[32];
    if (apr_generate_random_bytes(raw, sizeof raw) != APR_SUCCESS)
        return NULL;
    char *out = apr_palloc(p, TOKEN_CHARS + 1);
    unsigned acc = 0;
    int bits = 0, o = 0;
    for (size_t i = 0; i < sizeof raw; i++) {
        acc = ((acc << 8) | raw[i]) & 0xFFFFu;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[o++] = b64url[(acc >> bits) & 63];
        }
    }
    if (bits > 0)
        out[o++] = b64url[(acc << (6 - bits)) & 63];
    out[o] = '\0';
    OPENSSL_cleanse(raw, sizeof raw);
    return out;
}

static int token_shape_ok(const char *t)
{
    if (!t || strlen(t) != TOKEN_CHARS)
        return 0;
    for (const char *s = t; *s; s++)
        if (!strchr(b64url, *s))
            return 0;
    return 1;
}

void cxa_token_hash(const char *token, unsigned char out[32])
{
    cx_key_hash(token, out);
}

static const char *csrf_for(apr_pool_t *p, const char *token)
{
    unsigned char h[CX_SHA256_LEN];
    cx_key_hash(apr_pstrcat(p, "conduix-csrf:", token, NULL), h);
    return cx_hex(p, h, CX_SHA256_LEN);
}

int cxa_session_load(cxa_t *c)
{
    const char *token = cxa_cookie_value(c, SESSION_COOKIE);
    if (!token_shape_ok(token))
        return 0;
    unsigned char hash[CX_SHA256_LEN];
    cxa_token_hash(token, hash);
    long idle = cx_admin_platform_long(c->db, c->pool, "dashboard_session_idle_seconds", 7200);
    int rv = cx_admin_session_lookup(c->db, c->pool, hash, idle, &c->user);
    if (rv < 0) {
        cx_log(CX_LOG_ERR, c->request_id, "CXA0201", "session lookup failed: %s", cx_db_error(c->db));
        return -1;
    }
    if (rv == 1) {
        c->authenticated = 1;
        c->csrf_token = csrf_for(c->pool, token);
    }
    return 0;
}

void cxa_prelogin_csrf(cxa_t *c)
{
    const char *token = cxa_cookie_value(c, PRELOGIN_COOKIE);
    if (!token_shape_ok(token)) {
        token = cxa_random_token(c->pool);
        if (!token)
            return;
        cxa_cookie(c, PRELOGIN_COOKIE, token, c->base, -1);
    }
    c->csrf_token = csrf_for(c->pool, token);
}

int cxa_csrf_ok(cxa_t *c)
{
    const char *sent = cxa_param(c, "csrf");
    if (!sent || !c->csrf_token || strlen(sent) != strlen(c->csrf_token))
        return 0;
    return cx_ct_equal(sent, c->csrf_token, strlen(sent));
}

/* The dashboard JWT for GET /api/usage (Authorization: Bearer), issued at sign-in for
 * the session's lifetime. It is kept in an HttpOnly cookie of the dashboard so that
 * the usage page can hand it to its user for programmatic access; no script reads it. */
static void issue_jwt(cxa_t *c, const cx_admin_user_t *user, long ttl)
{
    const char *path = getenv("CONDUIX_JWT_SECRET_FILE");
    const unsigned char *secret;
    apr_size_t len;
    if (!path || !*path)
        return;
    const char *err = cx_jwt_read_secret(c->pool, path, &secret, &len);
    if (err) {
        cx_log(CX_LOG_WARN, c->request_id, "CXA0202", "no dashboard JWT issued: %s", err);
        return;
    }
    const char *jwt = cx_jwt_issue(c->pool, secret, len, user->id, user->org_id,
                                   cx_role_name(user->role), ttl);
    OPENSSL_cleanse((void *)secret, len);
    if (!jwt) {
        cx_log(CX_LOG_WARN, c->request_id, "CXA0203", "cx_jwt_issue failed");
        return;
    }
    cxa_cookie(c, JWT_COOKIE, jwt, c->base, ttl);
}

int cxa_session_start(cxa_t *c, const cx_admin_user_t *user)
{
    const char *token = cxa_random_token(c->pool);
    if (!token)
        return -1;
    unsigned char hash[CX_SHA256_LEN];
    cxa_token_hash(token, hash);
    long ttl = cx_admin_platform_long(c->db, c->pool, "dashboard_session_ttl_seconds", 43200);
    if (cx_admin_session_create(c->db, hash, user->id, user->org_id, c->ip, c->user_agent, ttl)) {
        cx_log(CX_LOG_ERR, c->request_id, "CXA0204", "session not stored: %s", cx_db_error(c->db));
        return -1;
    }
    /* Session cookie without Max-Age: it ends with the browser as well as server-side. */
    cxa_cookie(c, SESSION_COOKIE, token, c->base, -1);
    cxa_cookie(c, PRELOGIN_COOKIE, "", c->base, 0);
    issue_jwt(c, user, ttl);
    return 0;
}

void cxa_session_end(cxa_t *c)
{
    const char *token = cxa_cookie_value(c, SESSION_COOKIE);
    if (token_shape_ok(token)) {
        unsigned char hash[CX_SHA256_LEN];
        cxa_token_hash(token, hash);
        if (cx_admin_session_delete(c->db, hash))
            cx_log(CX_LOG_ERR, c->request_id, "CXA0205", "session not deleted: %s",
                   cx_db_error(c->db));
    }
    cxa_cookie(c, SESSION_COOKIE, "", c->base, 0);
    cxa_cookie(c, JWT_COOKIE, "", c->base, 0);
}

const char *cxa_dashboard_jwt(cxa_t *c)
{
    const char *jwt = cxa_cookie_value(c, JWT_COOKIE);
    if (!jwt || strlen(jwt) > 2048)
        return NULL;
    for (const char *s = jwt; *s; s++)
        if (!strchr(b64url, *s) && *s != '.')
            return NULL;
    return jwt;
}
