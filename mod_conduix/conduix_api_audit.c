/* GET /v1/account/audit?from=&to=&action=&request_id=&format=json|csv&limit=&cursor=
 * (account:read): the organization's audit trail, oldest first, cursor paginated
 * (the cursor is opaque and stable: entries are ordered by id). format=csv gives the
 * same entries as an RFC 4180 file, the next cursor in x-conduix-next-cursor.
 * With request_id, the JSON also carries "usage": what that request was charged
 * (SPEC §3: the charged cost per request is readable here too), null until recorded. */
#include "mod_conduix.h"
#include "cx_audit.h"
#include "cx_cursor.h"
#include "cx_json.h"
#include "cx_price.h"
#include "cx_scopes.h"
#include "cx_usage.h"

#include <http_protocol.h>
#include <apr_strings.h>
#include <string.h>

APLOG_USE_MODULE(conduix);

#define CURSOR_KIND "audit"

static int unavailable(request_rec *r)
{
    return conduix_send_error(r, CX_E_INTERNAL, "The audit log is unavailable; please retry shortly.", NULL);
}

static json_t *entry_json(const cx_audit_entry_t *e)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer((json_int_t)e->id));
    json_object_set_new(o, "object", json_string("audit_event"));
    json_object_set_new(o, "created_at", json_string(e->created_at ? e->created_at : ""));
    json_object_set_new(o, "actor_type", json_string(e->actor_type ? e->actor_type : ""));
    json_object_set_new(o, "actor_id", e->actor_id ? json_integer((json_int_t)e->actor_id) : json_null());
    json_object_set_new(o, "actor_label", e->actor_label ? json_string(e->actor_label) : json_null());
    json_object_set_new(o, "ip", e->ip ? json_string(e->ip) : json_null());
    json_object_set_new(o, "request_id", e->request_id ? json_string(e->request_id) : json_null());
    json_object_set_new(o, "action", json_string(e->action ? e->action : ""));
    json_object_set_new(o, "target", e->target ? json_string(e->target) : json_null());
    json_t *detail = NULL;
    if (e->detail) {
        json_error_t jerr;
        detail = json_loads(e->detail, JSON_DECODE_ANY, &jerr);
        if (!detail)
            detail = json_string(e->detail);
    }
    json_object_set_new(o, "detail", detail ? detail : json_null());
    return o;
}

static json_t *request_usage_json(apr_pool_t *p, const cx_usage_event_t *ev)
{
    json_t *o = json_object();
    json_object_set_new(o, "request_id", json_string(ev->request_id));
    json_object_set_new(o, "created_at", json_string(ev->created_at));
    json_object_set_new(o, "key_id", json_integer((json_int_t)ev->key_id));
    json_object_set_new(o, "model", ev->served_model ? json_string(ev->served_model) : json_null());
    json_object_set_new(o, "provider", ev->provider ? json_string(ev->provider) : json_null());
    json_object_set_new(o, "status", json_integer(ev->status));
    json_object_set_new(o, "prompt_tokens", json_integer((json_int_t)ev->prompt_tokens));
    json_object_set_new(o, "completion_tokens", json_integer((json_int_t)ev->completion_tokens));
    json_object_set_new(o, "charged", json_string(cx_nano_format(p, ev->charged_nano)));
    json_object_set_new(o, "cost", json_string(cx_nano_format(p, ev->cost_nano)));
    return o;
}

int conduix_api_audit(request_rec *r, conduix_req_t *ctx)
{
    if (r->method_number != M_GET)
        return conduix_send_error(r, CX_E_METHOD_NOT_ALLOWED, "Use GET on /v1/account/audit.", NULL);
    int rc = conduix_authenticate(r, ctx);
    if (rc != OK)
        return rc;
    if ((rc = conduix_require_scope(r, ctx, CX_SCOPE_ACCOUNT_READ)) != OK)
        return rc;
    static const char *const allowed[] = {"from", "to", "action", "request_id", "format", "limit",
                                          "cursor", NULL};
    apr_table_t *args;
    long long limit;
    if ((rc = conduix_query_args(r, allowed, &args)) != OK ||
        (rc = conduix_query_int(r, args, "limit", 1, 1000, 100, &limit)) != OK)
        return rc;
    const char *format = apr_table_get(args, "format");
    int csv = format && !strcmp(format, "csv");
    if (format && !csv && strcmp(format, "json"))
        return conduix_send_error(r, CX_E_INVALID_REQUEST, "format must be json or csv.", "format");
    cx_audit_filter_t f = {
        .org_id = ctx->key.org_id,
        .from = apr_table_get(args, "from"),
        .to = apr_table_get(args, "to"),
        .action = apr_table_get(args, "action"),
        .request_id = apr_table_get(args, "request_id"),
        .limit = (int)limit,
    };
    const char *cursor = apr_table_get(args, "cursor");
    if (cursor && !cx_cursor_decode(r->pool, cursor, CURSOR_KIND, &f.after_id))
        return conduix_send_error(r, CX_E_INVALID_REQUEST,
                                  "cursor is not a cursor of the audit log (use next_cursor from the "
                                  "previous page).", "cursor");
    const char *param;
    const char *bad = cx_audit_filter_check(r->pool, &f, &param);
    if (bad)
        return conduix_send_error(r, CX_E_INVALID_REQUEST, bad, param);

    conduix_runtime_t *rt = ctx->conf->runtime;
    cx_db *db = conduix_db_acquire(rt, r);
    if (!db)
        return unavailable(r);
    apr_array_header_t *entries;
    int has_more = 0, found = 0;
    const char *err = NULL;
    cx_usage_event_t ev;
    int rv = cx_audit_list(db, r->pool, &f, &entries, &has_more, &err);
    if (rv == 0 && f.request_id && !csv) {
        found = cx_usage_lookup(db, r->pool, ctx->key.org_id, f.request_id, &ev, &err);
        rv = found < 0 ? -1 : 0;
    }
    conduix_db_release(rt, db);
    if (rv) {
        CX_RLOG(APLOG_ERR, r, ctx, "CX0640", "%s", err);
        return unavailable(r);
    }
    const cx_audit_entry_t *last = entries->nelts ? &APR_ARRAY_IDX(entries, entries->nelts - 1, cx_audit_entry_t)
                                                  : NULL;
    const char *next = has_more && last ? cx_cursor_encode(r->pool, CURSOR_KIND, last->id) : NULL;

    if (csv) {
        const char *body = cx_audit_csv(r->pool, entries, 1);
        r->status = 200;
        ap_set_content_type(r, "text/csv; charset=utf-8");
        apr_table_setn(r->headers_out, "Content-Disposition", "attachment; filename=\"conduix-audit.csv\"");
        apr_table_setn(r->headers_out, "Cache-Control", "no-store");
        if (next)
            apr_table_setn(r->headers_out, "x-conduix-next-cursor", next);
        size_t len = strlen(body);
        ap_set_content_length(r, (apr_off_t)len);
        if (!r->header_only)
            ap_rwrite(body, (int)len, r);
        return OK;
    }
    json_t *data = json_array();
    for (int i = 0; i < entries->nelts; i++)
        json_array_append_new(data, entry_json(&APR_ARRAY_IDX(entries, i, cx_audit_entry_t)));
    json_t *doc = cx_json_own(r->pool, json_object());
    json_object_set_new(doc, "object", json_string("list"));
    json_object_set_new(doc, "data", data);
    json_object_set_new(doc, "has_more", json_boolean(has_more));
    json_object_set_new(doc, "next_cursor", next ? json_string(next) : json_null());
    if (f.request_id)
        json_object_set_new(doc, "usage", found == 1 ? request_usage_json(r->pool, &ev) : json_null());
    apr_size_t len;
    char *body = cx_json_dump(r->pool, doc, &len);
    return conduix_send_json(r, 200, body, len);
}
