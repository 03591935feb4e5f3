/* Per-key model allowlists on the request path (SPEC §4: after model resolution,
 * before rate limits, caps and any upstream call). The rules live in lib/cx_allowlist.c. */
#include "mod_conduix.h"
#include "cx_allowlist.h"
#include "cx_json.h"

#include <apr_strings.h>

APLOG_USE_MODULE(conduix);

int conduix_check_allowlist(request_rec *r, conduix_req_t *ctx, const cx_catalog_t *cat,
                            const char *requested, const cx_resolved_t *res)
{
    int permitted = cx_allowlist_permits(r->pool, cat, ctx->key.allowed_models, requested, res);
    if (permitted == 1)
        return OK;
    if (permitted < 0)
        CX_RLOG(APLOG_ERR, r, ctx, "CX0601", "key %" APR_UINT64_T_FMT " has a malformed "
                "allowed_models list; refusing every model", (apr_uint64_t)ctx->key.key_id);
    /* A refused request is a governance event the organization can review. */
    conduix_runtime_t *rt = ctx->conf->runtime;
    cx_db *db = conduix_db_acquire(rt, r);
    if (db) {
        cx_audit_actor_t actor = conduix_key_actor(r, ctx);
        json_t *detail = cx_json_own(r->pool, json_pack("{s:s, s:s}", "code", "model_not_allowed",
                                                        "model", requested));
        if (cx_audit_record(db, ctx->key.org_id, &actor, "request.denied",
                            apr_psprintf(r->pool, "key:%" APR_UINT64_T_FMT, (apr_uint64_t)ctx->key.key_id),
                            cx_json_dump(r->pool, detail, NULL)))
            CX_RLOG(APLOG_WARNING, r, ctx, "CX0602", "audit row for a refused request not written: %s",
                    cx_db_error(db));
        conduix_db_release(rt, db);
    }
    return conduix_send_error(r, CX_E_MODEL_NOT_ALLOWED,
                              apr_psprintf(r->pool, "This API key is not allowed to use the model '%s'. "
                                           "Its allowed_models list is set when the key is minted "
                                           "or edited (PATCH /v1/keys/{id}).", requested),
                              "model");
}
