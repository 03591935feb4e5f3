/* /v1/keys: an organization's API keys, managed with an API key.
 *   POST   /v1/keys        mint (keys:write); the secret is in this answer only
 *   GET    /v1/keys        list, cursor paginated (account:read or keys:write)
 *   GET    /v1/keys/{id}   one key (account:read or keys:write)
 *   PATCH  /v1/keys/{id}   edit policies (keys:write)
 *   DELETE /v1/keys/{id}   revoke (keys:write)
 * A key only ever sees and changes keys of its own organization (another org's key
 * id answers 404, like a missing one), never grants a scope it lacks, and every
 * change is written to the audit log in the transaction that makes it. */
#include "mod_conduix.h"
#include "cx_cursor.h"
#include "cx_json.h"
#include "cx_key_policy.h"
#include "cx_scopes.h"
#include "cx_store_keys.h"

#include <apr_strings.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

APLOG_USE_MODULE(conduix);

#define CURSOR_KIND "keys"

static int store_unavailable(request_rec *r)
{
    return conduix_send_error(r, CX_E_INTERNAL, "The key store is unavailable; please retry shortly.", NULL);
}

static int send_doc(request_rec *r, int status, json_t *doc)
{
    apr_size_t len;
    char *body = cx_json_dump(r->pool, cx_json_own(r->pool, doc), &len);
    return conduix_send_json(r, status, body, len);
}

static int key_not_found(request_rec *r, const char *id_text)
{
    return conduix_send_error(r, CX_E_NOT_FOUND,
                              apr_psprintf(r->pool, "No API key with id %s in your organization.", id_text),
                              NULL);
}

/* Reading the key list is account data; key managers need it too. */
static int require_read(request_rec *r, conduix_req_t *ctx)
{
    if (cx_scopes_has(ctx->key.scopes, CX_SCOPE_ACCOUNT_READ) ||
        cx_scopes_has(ctx->key.scopes, CX_SCOPE_KEYS_WRITE))
        return OK;
    return conduix_send_error(r, CX_E_INSUFFICIENT_SCOPE,
                              apr_psprintf(r->pool, "This API key lacks the 'account:read' (or "
                                           "'keys:write') scope needed to read keys (it has: %s).",
                                           ctx->key.scopes ? ctx->key.scopes : "none"),
                              NULL);
}

/* The JSON body of a POST/PATCH, parsed and checked against the catalog. */
static int read_policy(request_rec *r, conduix_req_t *ctx, int create, cx_key_policy_t *pol)
{
    char *body;
    apr_size_t len;
    int rc = conduix_read_body(r, ctx, &body, &len);
    if (rc != OK)
        return rc;
    const char *perr;
    json_t *doc = cx_json_parse(r->pool, body, len, &perr);
    if (!doc)
        return conduix_send_error(r, CX_E_INVALID_REQUEST,
                                  apr_psprintf(r->pool, "We could not parse the JSON body of your "
                                               "request (%s).", perr), NULL);
    const cx_catalog_t *cat = conduix_catalog(ctx->conf->runtime, r);
    if (!cat)
        return conduix_send_error(r, CX_E_INTERNAL, "The model catalog is unavailable; please retry shortly.", NULL);
    cx_verr_t verr;
    if (!cx_key_policy_parse(r->pool, doc, cat, create, pol, &verr))
        return conduix_send_error(r, CX_E_INVALID_REQUEST, verr.message, verr.param);
    return OK;
}

static int escalation(request_rec *r, const char *why)
{
    return conduix_send_error(r, CX_E_INSUFFICIENT_SCOPE,
                              apr_psprintf(r->pool, "Not allowed: %s. A key can only grant the scopes "
                                           "it holds itself.", why),
                              "scopes");
}

static int mint(request_rec *r, conduix_req_t *ctx, cx_db *db, const cx_key_policy_t *pol_in)
{
    cx_key_policy_t pol = *pol_in;
    /* A test key must not become a way to spend real credits. */
    if (ctx->key.mode == CX_KEY_TEST && pol.mode == CX_KEY_LIVE)
        return conduix_send_error(r, CX_E_INSUFFICIENT_SCOPE,
                                  "A test key can only mint test keys (send \"mode\": \"test\").", "mode");
    cx_audit_actor_t actor = conduix_key_actor(r, ctx);
    const char *secret, *err = NULL;
    cx_api_key_t key;
    cx_keys_rc_t krc = cx_keys_mint(db, r->pool, ctx->key.org_id, &pol, ctx->key.scopes, 0, &actor,
                                    &secret, &key, &err);
    if (krc == CX_KEYS_ESCALATION)
        return escalation(r, err);
    if (krc != CX_KEYS_OK) {
        CX_RLOG(APLOG_ERR, r, ctx, "CX0610", "minting a key failed: %s", err);
        return store_unavailable(r);
    }
    CX_RLOG(APLOG_INFO, r, ctx, "CX0611", "key %" APR_UINT64_T_FMT " (%s) minted by key %" APR_UINT64_T_FMT,
            (apr_uint64_t)key.id, key.prefix, (apr_uint64_t)ctx->key.key_id);
    json_t *doc = cx_api_key_json(r->pool, &key);
    json_object_set_new(doc, "secret", json_string(secret));
    apr_table_setn(r->headers_out, "Location",
                   apr_psprintf(r->pool, "/v1/keys/%" APR_UINT64_T_FMT, (apr_uint64_t)key.id));
    return send_doc(r, 201, doc);
}

static int list(request_rec *r, conduix_req_t *ctx, cx_db *db)
{
    static const char *const allowed[] = {"limit", "cursor", NULL};
    apr_table_t *args;
    long long limit;
    int rc = conduix_query_args(r, allowed, &args);
    if (rc != OK || (rc = conduix_query_int(r, args, "limit", 1, CX_KEYS_PAGE_MAX, 20, &limit)) != OK)
        return rc;
    uint64_t after = 0;
    const char *cursor = apr_table_get(args, "cursor");
    if (cursor && !cx_cursor_decode(r->pool, cursor, CURSOR_KIND, &after))
        return conduix_send_error(r, CX_E_INVALID_REQUEST,
                                  "cursor is not a cursor of this list (use next_cursor from the "
                                  "previous page).", "cursor");
    apr_array_header_t *keys;
    int has_more;
    const char *err = NULL;
    if (cx_keys_list(db, r->pool, ctx->key.org_id, after, (int)limit, &keys, &has_more, &err) != CX_KEYS_OK) {
        CX_RLOG(APLOG_ERR, r, ctx, "CX0612", "listing keys failed: %s", err);
        return store_unavailable(r);
    }
    json_t *data = json_array();
    for (int i = 0; i < keys->nelts; i++)
        json_array_append_new(data, cx_api_key_json(r->pool, &APR_ARRAY_IDX(keys, i, cx_api_key_t)));
    json_t *doc = json_object();
    json_object_set_new(doc, "object", json_string("list"));
    json_object_set_new(doc, "data", data);
    json_object_set_new(doc, "has_more", json_boolean(has_more));
    const cx_api_key_t *last = keys->nelts ? &APR_ARRAY_IDX(keys, keys->nelts - 1, cx_api_key_t) : NULL;
    json_object_set_new(doc, "next_cursor", has_more && last
                                                ? json_string(cx_cursor_encode(r->pool, CURSOR_KIND, last->id))
                                                : json_null());
    return send_doc(r, 200, doc);
}

static int one(request_rec *r, conduix_req_t *ctx, cx_db *db, uint64_t id, const char *id_text,
               const cx_key_policy_t *patch)
{
    cx_api_key_t key;
    const char *err = NULL;
    cx_keys_rc_t krc;
    int already = 0;
    cx_audit_actor_t actor = conduix_key_actor(r, ctx);
    switch (r->method_number) {
    case M_GET:
        krc = cx_keys_get(db, r->pool, ctx->key.org_id, id, &key, &err);
        break;
    case M_PATCH: {
        krc = cx_keys_update(db, r->pool, ctx->key.org_id, id, patch, ctx->key.scopes, &actor, &key, &err);
        if (krc == CX_KEYS_ESCALATION)
            return escalation(r, err);
        if (krc == CX_KEYS_REVOKED)
            return conduix_send_error(r, CX_E_INVALID_REQUEST,
                                      apr_psprintf(r->pool, "API key %s is revoked; a revoked key "
                                                   "cannot be edited.", id_text), NULL);
        if (krc == CX_KEYS_OK)
            CX_RLOG(APLOG_INFO, r, ctx, "CX0613", "key %s edited by key %" APR_UINT64_T_FMT, id_text,
                    (apr_uint64_t)ctx->key.key_id);
        break;
    }
    case M_DELETE:
        krc = cx_keys_revoke(db, r->pool, ctx->key.org_id, id, &actor, &key, &already, &err);
        if (krc == CX_KEYS_OK && !already)
            CX_RLOG(APLOG_INFO, r, ctx, "CX0614", "key %s revoked by key %" APR_UINT64_T_FMT, id_text,
                    (apr_uint64_t)ctx->key.key_id);
        break;
    default:
        return DECLINED;   /* refused by conduix_api_keys before the database is touched */
    }
    if (krc == CX_KEYS_NOT_FOUND)
        return key_not_found(r, id_text);
    if (krc != CX_KEYS_OK) {
        CX_RLOG(APLOG_ERR, r, ctx, "CX0615", "key %s: %s failed: %s", id_text, r->method, err);
        return store_unavailable(r);
    }
    return send_doc(r, 200, cx_api_key_json(r->pool, &key));
}

int conduix_api_keys(request_rec *r, conduix_req_t *ctx)
{
    const char *rest = r->uri + strlen("/v1/keys");
    int collection = *rest == '\0' || !strcmp(rest, "/");
    int m = r->method_number;
    if (collection && m != M_GET && m != M_POST) {
        apr_table_setn(r->headers_out, "Allow", "GET, POST");
        return conduix_send_error(r, CX_E_METHOD_NOT_ALLOWED, "Use GET or POST on /v1/keys.", NULL);
    }
    if (!collection && m != M_GET && m != M_PATCH && m != M_DELETE) {
        apr_table_setn(r->headers_out, "Allow", "GET, PATCH, DELETE");
        return conduix_send_error(r, CX_E_METHOD_NOT_ALLOWED,
                                  "Use GET, PATCH or DELETE on /v1/keys/{id}.", NULL);
    }
    int rc = conduix_authenticate(r, ctx);
    if (rc != OK)
        return rc;
    rc = m == M_GET ? require_read(r, ctx) : conduix_require_scope(r, ctx, CX_SCOPE_KEYS_WRITE);
    if (rc != OK)
        return rc;
    uint64_t id = 0;
    const char *id_text = rest + 1;
    if (!collection) {
        char *end;
        errno = 0;
        unsigned long long v = (*id_text >= '1' && *id_text <= '9') ? strtoull(id_text, &end, 10) : 0;
        if (!v || errno || *end)
            return key_not_found(r, apr_pstrndup(r->pool, id_text, 64));
        id = v;
    }
    /* The body is read before a database connection is taken, so a slow client
     * never holds one. */
    cx_key_policy_t pol;
    cx_key_policy_defaults(&pol);
    if ((m == M_POST || m == M_PATCH) && (rc = read_policy(r, ctx, m == M_POST, &pol)) != OK)
        return rc;
    cx_db *db = conduix_db_acquire(ctx->conf->runtime, r);
    if (!db)
        return store_unavailable(r);
    if (collection)
        rc = m == M_POST ? mint(r, ctx, db, &pol) : list(r, ctx, db);
    else
        rc = one(r, ctx, db, id, id_text, &pol);
    conduix_db_release(ctx->conf->runtime, db);
    return rc;
}
