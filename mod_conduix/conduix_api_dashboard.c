/* GET /api/usage?bucket=day|hour&from=&to=&group_by= for the dashboard's charts,
 * authenticated by the dashboard's JWT (Authorization: Bearer <jwt>, HS256, issued
 * at dashboard login with the secret of ConduixJWTSecretFile). It answers exactly
 * what /v1/account/usage answers for the token's organization: same query, same
 * JSON (conduix_usage_report). */
#include "mod_conduix.h"
#include "cx_json.h"
#include "cx_jwt.h"

#include <apr_strings.h>
#include <string.h>
#include <strings.h>

APLOG_USE_MODULE(conduix);

const char *conduix_jwt_post_config(apr_pool_t *pconf, conduix_server_conf_t *conf)
{
    if (!conf->jwt_secret_file)
        return NULL;
    return cx_jwt_read_secret(pconf, conf->jwt_secret_file, &conf->jwt_secret, &conf->jwt_secret_len);
}

static int token_refused(request_rec *r, conduix_req_t *ctx, const char *why)
{
    CX_RLOG(APLOG_INFO, r, ctx, "CX0630", "dashboard token refused: %s", why);
    apr_table_setn(r->err_headers_out, "WWW-Authenticate",
                   "Bearer realm=\"conduix-dashboard\", error=\"invalid_token\"");
    return conduix_send_error_raw(r, 401,
                                  cx_error_body_raw(r->pool,
                                                    apr_psprintf(r->pool, "The dashboard token was "
                                                                 "refused: %s. Sign in to the dashboard "
                                                                 "again for a new one.", why),
                                                    "invalid_request_error", NULL, "invalid_token"));
}

int conduix_api_dashboard_usage(request_rec *r, conduix_req_t *ctx)
{
    if (r->method_number != M_GET)
        return conduix_send_error(r, CX_E_METHOD_NOT_ALLOWED, "Use GET on /api/usage.", NULL);
    if (!ctx->conf->jwt_secret)
        return conduix_send_error(r, CX_E_NOT_FOUND,
                                  "The dashboard API is not enabled on this server "
                                  "(ConduixJWTSecretFile is not set).", NULL);
    const char *auth = apr_table_get(r->headers_in, "Authorization");
    if (!auth || strncasecmp(auth, "Bearer ", 7))
        return token_refused(r, ctx, "send it as 'Authorization: Bearer <token>'");
    const char *token = auth + 7;
    while (*token == ' ')
        token++;
    if (!strncmp(token, "cx_live_", 8) || !strncmp(token, "cx_test_", 8))
        return token_refused(r, ctx, "this endpoint takes the dashboard's token, not an API key "
                                     "(API keys read the same data at /v1/account/usage)");
    cx_jwt_claims_t claims;
    const char *why = NULL;
    if (!cx_jwt_verify(r->pool, token, ctx->conf->jwt_secret, ctx->conf->jwt_secret_len, &claims, &why))
        return token_refused(r, ctx, why);

    /* The token outlives nothing: a user removed or disabled since sign-in is refused. */
    conduix_runtime_t *rt = ctx->conf->runtime;
    if (!rt)
        return conduix_send_error(r, CX_E_INTERNAL, "The gateway is not initialised.", NULL);
    cx_db *db = conduix_db_acquire(rt, r);
    if (!db)
        return conduix_send_error(r, CX_E_INTERNAL, "The usage store is unavailable; please retry shortly.", NULL);
    cx_rows_t rows;
    int rv = cx_db_query(db, r->pool, "SELECT id FROM users WHERE id = ? AND org_id = ? AND disabled_at IS NULL",
                         "uu", &rows, claims.user_id, claims.org_id);
    conduix_db_release(rt, db);
    if (rv)
        return conduix_send_error(r, CX_E_INTERNAL, "The usage store is unavailable; please retry shortly.", NULL);
    if (rows.rows->nelts == 0)
        return token_refused(r, ctx, "its user no longer belongs to the organization");
    apr_table_setn(r->subprocess_env, "CONDUIX_USER_ID",
                   apr_psprintf(r->pool, "%" APR_UINT64_T_FMT, (apr_uint64_t)claims.user_id));

    static const char *const allowed[] = {"from", "to", "bucket", "group_by", "key_id", NULL};
    apr_table_t *args;
    int rc = conduix_query_args(r, allowed, &args);
    if (rc != OK)
        return rc;
    return conduix_usage_report(r, ctx, claims.org_id, args, CX_BUCKET_DAY);
}
