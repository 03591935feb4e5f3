/* Key scopes on the request path; the calling key as an audit actor, and the audit
 * row of a request its policy refused. */
#include "mod_conduix.h"
#include "cx_json.h"
#include "cx_keys.h"
#include "cx_scopes.h"

#include <apr_strings.h>
#include <string.h>
#include <strings.h>

APLOG_USE_MODULE(conduix);

int conduix_require_scope(request_rec *r, conduix_req_t *ctx, const char *scope)
{
    if (ctx->have_key && cx_scopes_has(ctx->key.scopes, scope))
        return OK;
    return conduix_send_error(r, CX_E_INSUFFICIENT_SCOPE,
                              apr_psprintf(r->pool, "This API key lacks the '%s' scope needed for "
                                           "%s %s (it has: %s). Mint a key with that scope.",
                                           scope, r->method, r->uri,
                                           ctx->key.scopes && *ctx->key.scopes ? ctx->key.scopes : "none"),
                              NULL);
}

/* The display prefix of the key this request authenticated with (never the secret). */
static const char *presented_prefix(request_rec *r)
{
    const char *auth = apr_table_get(r->headers_in, "Authorization");
    const char *secret = NULL;
    if (auth) {
        while (*auth == ' ')
            auth++;
        if (!strncasecmp(auth, "Bearer ", 7)) {
            secret = auth + 7;
            while (*secret == ' ')
                secret++;
        }
    }
    else {
        secret = apr_table_get(r->headers_in, "x-api-key");
    }
    cx_key_mode_t mode;
    return secret && cx_key_parse(secret, &mode) ? cx_key_display_prefix(r->pool, secret) : NULL;
}

cx_audit_actor_t conduix_key_actor(request_rec *r, conduix_req_t *ctx)
{
    const char *prefix = presented_prefix(r);
    cx_audit_actor_t a = {
        .type = "key",
        .id = ctx->key.key_id,
        .label = prefix ? apr_psprintf(r->pool, "%s (%s)", prefix, ctx->key.name ? ctx->key.name : "")
                        : ctx->key.name,
        .ip = r->useragent_ip,
        .request_id = ctx->request_id,
    };
    return a;
}

void conduix_audit_refusal(request_rec *r, conduix_req_t *ctx, const char *code, const char *model)
{
    ctx->denied_code = code;
    ctx->denied_model = model;
}

void conduix_audit_refusal_write(request_rec *r, conduix_req_t *ctx)
{
    /* A refused request is a governance event the organization can review; the
     * refusal itself never depends on this row being written. */
    const char *code = ctx->denied_code, *model = ctx->denied_model;
    conduix_runtime_t *rt = ctx->conf->runtime;
    cx_db *db = rt ? conduix_db_acquire(rt, r) : NULL;
    if (!db)
        return;
    cx_audit_actor_t actor = conduix_key_actor(r, ctx);
    json_t *detail = cx_json_own(r->pool, json_pack("{s:s, s:s}", "code", code, "model",
                                                    model ? model : ""));
    if (cx_audit_record(db, ctx->key.org_id, &actor, "request.denied",
                        apr_psprintf(r->pool, "key:%" APR_UINT64_T_FMT, (apr_uint64_t)ctx->key.key_id),
                        cx_json_dump(r->pool, detail, NULL)))
        CX_RLOG(APLOG_WARNING, r, ctx, "CX0602", "audit row for a refused request not written: %s",
                cx_db_error(db));
    conduix_db_release(rt, db);
}
