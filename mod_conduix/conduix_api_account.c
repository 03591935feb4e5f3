/* The account endpoints (/v1/account/...): what the dashboard shows, readable with an API key. */
#include "mod_conduix.h"
#include "cx_json.h"

#include <apr_strings.h>
#include <stdlib.h>

APLOG_USE_MODULE(conduix);

int conduix_api_balance(request_rec *r, conduix_req_t *ctx)
{
    if (r->method_number != M_GET)
        return conduix_send_error(r, CX_E_METHOD_NOT_ALLOWED, "Use GET on /v1/account/balance.", NULL);
    int rc = conduix_authenticate(r, ctx);
    if (rc != OK)
        return rc;
    if ((rc = conduix_require_scope(r, ctx, "account:read")) != OK)
        return rc;
    cx_db *db = conduix_db_acquire(ctx->conf->runtime, r);
    if (!db)
        return conduix_send_error(r, CX_E_INTERNAL, "The account store is unavailable; please retry shortly.", NULL);
    cx_nano_t balance = 0;
    int found = cx_store_balance(db, ctx->key.org_id, &balance);
    conduix_db_release(ctx->conf->runtime, db);
    if (found != 0)
        return conduix_send_error(r, CX_E_INTERNAL, "The account store is unavailable; please retry shortly.", NULL);
    const char *exact = cx_nano_format(r->pool, balance);
    json_t *doc = cx_json_own(r->pool, json_object());
    json_object_set_new(doc, "object", json_string("balance"));
    json_object_set_new(doc, "org_id", json_integer((json_int_t)ctx->key.org_id));
    json_object_set_new(doc, "balance", json_string(exact));
    json_object_set_new(doc, "balance_credits", json_real(strtod(exact, NULL)));
    json_object_set_new(doc, "currency", json_string("credits"));
    apr_size_t len;
    char *body = cx_json_dump(r->pool, doc, &len);
    return conduix_send_json(r, 200, body, len);
}
