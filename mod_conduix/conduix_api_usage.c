/* Usage analytics with an API key (account:read):
 *   GET /v1/account/usage?from=&to=&bucket=day|hour&group_by=model|key|provider&key_id=
 *   GET /v1/account/usage/{request_id}   what one call was charged (eventually consistent)
 * The report itself (conduix_usage_report) is shared with /api/usage, which the
 * dashboard calls with its JWT, so both answer from the same cx_usage_query. */
#include "mod_conduix.h"
#include "cx_json.h"
#include "cx_price.h"
#include "cx_scopes.h"
#include "cx_usage.h"

#include <apr_strings.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

APLOG_USE_MODULE(conduix);

#define SECONDS_PER_DAY 86400LL
#define DEFAULT_RANGE_DAYS 30
#define MAX_RANGE_DAYS 400
#define MAX_HOURLY_RANGE_DAYS 31
#define REQUEST_ID_MAX 48

static json_t *usage_numbers(apr_pool_t *p, json_t *o, const cx_usage_row_t *row)
{
    json_object_set_new(o, "requests", json_integer((json_int_t)row->requests));
    json_object_set_new(o, "prompt_tokens", json_integer((json_int_t)row->prompt_tokens));
    json_object_set_new(o, "completion_tokens", json_integer((json_int_t)row->completion_tokens));
    json_object_set_new(o, "total_tokens",
                        json_integer((json_int_t)(row->prompt_tokens + row->completion_tokens)));
    /* Money as exact decimal strings of credits (nine decimals), never floats. */
    json_object_set_new(o, "spend", json_string(cx_nano_format(p, row->spend_nano)));
    json_object_set_new(o, "cost", json_string(cx_nano_format(p, row->cost_nano)));
    return o;
}

static const char *group_name(cx_group_t g)
{
    return g == CX_GROUP_MODEL ? "model" : g == CX_GROUP_KEY ? "key" : g == CX_GROUP_PROVIDER ? "provider" : NULL;
}

static int bad_param(request_rec *r, const char *param, const char *message)
{
    return conduix_send_error(r, CX_E_INVALID_REQUEST, message, param);
}

int conduix_usage_report(request_rec *r, conduix_req_t *ctx, uint64_t org_id, apr_table_t *args,
                         cx_bucket_t default_bucket)
{
    cx_usage_query_t q = {.org_id = org_id, .bucket = default_bucket};
    const char *v;
    if ((v = apr_table_get(args, "bucket")) && strcmp(v, "none") && !cx_bucket_parse(v, &q.bucket))
        return bad_param(r, "bucket", "bucket must be day, hour or none.");
    if (v && !strcmp(v, "none"))
        q.bucket = CX_BUCKET_NONE;
    if ((v = apr_table_get(args, "group_by")) && !cx_group_parse(v, &q.group_by))
        return bad_param(r, "group_by", "group_by must be model, key or provider.");
    if ((v = apr_table_get(args, "key_id"))) {
        char *end;
        errno = 0;
        unsigned long long id = *v >= '1' && *v <= '9' ? strtoull(v, &end, 10) : 0;
        if (!id || errno || *end)
            return bad_param(r, "key_id", "key_id must be the id of one of your keys.");
        q.key_id = id;
    }
    /* Default range: the 30 UTC days up to and including today. */
    long long now = (long long)apr_time_sec(apr_time_now());
    long long to = now - now % SECONDS_PER_DAY + SECONDS_PER_DAY, from;
    if ((v = apr_table_get(args, "to")) && !cx_usage_parse_time(v, &to, NULL))
        return bad_param(r, "to", "to must be a date (YYYY-MM-DD) or a UTC time (YYYY-MM-DDTHH:MM:SSZ); "
                                  "it is exclusive.");
    from = to - DEFAULT_RANGE_DAYS * SECONDS_PER_DAY;
    if ((v = apr_table_get(args, "from")) && !cx_usage_parse_time(v, &from, NULL))
        return bad_param(r, "from", "from must be a date (YYYY-MM-DD) or a UTC time (YYYY-MM-DDTHH:MM:SSZ).");
    if (from >= to)
        return bad_param(r, "to", "to must be later than from.");
    if (to - from > MAX_RANGE_DAYS * SECONDS_PER_DAY)
        return bad_param(r, "from", "A usage report covers at most 400 days.");
    if (q.bucket == CX_BUCKET_HOUR && to - from > MAX_HOURLY_RANGE_DAYS * SECONDS_PER_DAY)
        return bad_param(r, "bucket", "Hourly buckets cover at most 31 days; use bucket=day for longer ranges.");
    q.from = cx_usage_format_time(r->pool, from);
    q.to = cx_usage_format_time(r->pool, to);

    conduix_runtime_t *rt = ctx->conf->runtime;
    cx_db *db = conduix_db_acquire(rt, r);
    if (!db)
        return conduix_send_error(r, CX_E_INTERNAL, "The usage store is unavailable; please retry shortly.", NULL);
    apr_array_header_t *rows;
    cx_usage_row_t totals;
    const char *err = NULL;
    apr_time_t t0 = apr_time_now();
    int rv = cx_usage_query(db, r->pool, &q, &rows, &err);
    if (rv == 0)
        rv = cx_usage_totals(db, r->pool, &q, &totals, &err);
    apr_time_t spent = apr_time_now() - t0;
    conduix_db_release(rt, db);
    if (rv) {
        CX_RLOG(APLOG_ERR, r, ctx, "CX0620", "%s", err);
        return conduix_send_error(r, CX_E_INTERNAL, "The usage store is unavailable; please retry shortly.", NULL);
    }
    /* How long the database took, for bench/usage_scale.sh and for operators. */
    apr_table_setn(r->headers_out, "x-conduix-db-ms",
                   apr_psprintf(r->pool, "%.3f", (double)spent / 1000.0));

    json_t *data = json_array();
    for (int i = 0; i < rows->nelts; i++) {
        const cx_usage_row_t *row = &APR_ARRAY_IDX(rows, i, cx_usage_row_t);
        json_t *o = json_object();
        if (row->bucket_start)
            json_object_set_new(o, "bucket", json_string(row->bucket_start));
        switch (q.group_by) {
        case CX_GROUP_MODEL:
            json_object_set_new(o, "model", json_string(row->group ? row->group : ""));
            break;
        case CX_GROUP_KEY:
            json_object_set_new(o, "key_id", json_integer((json_int_t)strtoull(row->group ? row->group : "0", NULL, 10)));
            json_object_set_new(o, "key_name", row->group_label ? json_string(row->group_label) : json_null());
            break;
        case CX_GROUP_PROVIDER:
            /* '' is the provider of requests that reached none */
            json_object_set_new(o, "provider", row->group && *row->group ? json_string(row->group) : json_null());
            json_object_set_new(o, "provider_name", row->group_label ? json_string(row->group_label) : json_null());
            break;
        default:
            break;
        }
        json_array_append_new(data, usage_numbers(r->pool, o, row));
    }
    json_t *doc = cx_json_own(r->pool, json_object());
    json_object_set_new(doc, "object", json_string("usage"));
    json_object_set_new(doc, "org_id", json_integer((json_int_t)org_id));
    json_object_set_new(doc, "from", json_string(q.from));
    json_object_set_new(doc, "to", json_string(q.to));
    json_object_set_new(doc, "bucket", q.bucket == CX_BUCKET_DAY ? json_string("day")
                                       : q.bucket == CX_BUCKET_HOUR ? json_string("hour") : json_null());
    json_object_set_new(doc, "group_by", group_name(q.group_by) ? json_string(group_name(q.group_by)) : json_null());
    json_object_set_new(doc, "key_id", q.key_id ? json_integer((json_int_t)q.key_id) : json_null());
    json_object_set_new(doc, "data", data);
    json_object_set_new(doc, "totals", usage_numbers(r->pool, json_object(), &totals));
    apr_size_t len;
    char *body = cx_json_dump(r->pool, doc, &len);
    return conduix_send_json(r, 200, body, len);
}

static int one_request(request_rec *r, conduix_req_t *ctx, const char *request_id)
{
    if (!*request_id || strlen(request_id) > REQUEST_ID_MAX)
        return conduix_send_error(r, CX_E_INVALID_REQUEST,
                                  "Give a request id from an x-conduix-request-id header, e.g. "
                                  "/v1/account/usage/cx-req-0123456789abcdef01234567.", "request_id");
    conduix_runtime_t *rt = ctx->conf->runtime;
    cx_db *db = conduix_db_acquire(rt, r);
    if (!db)
        return conduix_send_error(r, CX_E_INTERNAL, "The usage store is unavailable; please retry shortly.", NULL);
    cx_usage_event_t ev;
    const char *err = NULL;
    int found = cx_usage_lookup(db, r->pool, ctx->key.org_id, request_id, &ev, &err);
    conduix_db_release(rt, db);
    if (found < 0) {
        CX_RLOG(APLOG_ERR, r, ctx, "CX0621", "%s", err);
        return conduix_send_error(r, CX_E_INTERNAL, "The usage store is unavailable; please retry shortly.", NULL);
    }
    if (!found)
        return conduix_send_error(r, CX_E_NOT_FOUND,
                                  apr_psprintf(r->pool, "No usage is recorded for request %s (yet). Usage "
                                               "is written just after a response is sent, so a request "
                                               "made moments ago may take a few seconds to appear; ids "
                                               "of other organizations are never shown.", request_id),
                                  "request_id");
    json_t *doc = cx_json_own(r->pool, json_object());
    json_object_set_new(doc, "object", json_string("usage.request"));
    json_object_set_new(doc, "request_id", json_string(ev.request_id));
    json_object_set_new(doc, "created_at", json_string(ev.created_at));
    json_object_set_new(doc, "key_id", json_integer((json_int_t)ev.key_id));
    json_object_set_new(doc, "key_name", ev.key_name ? json_string(ev.key_name) : json_null());
    json_object_set_new(doc, "mode", json_string(ev.mode ? ev.mode : "live"));
    json_object_set_new(doc, "endpoint", json_string(ev.endpoint ? ev.endpoint : ""));
    json_object_set_new(doc, "requested_model", json_string(ev.requested_model ? ev.requested_model : ""));
    json_object_set_new(doc, "model", ev.served_model ? json_string(ev.served_model) : json_null());
    json_object_set_new(doc, "provider", ev.provider ? json_string(ev.provider) : json_null());
    json_object_set_new(doc, "status", json_integer(ev.status));
    json_object_set_new(doc, "stream", json_boolean(ev.stream));
    json_object_set_new(doc, "fallback", json_boolean(ev.fallback));
    json_object_set_new(doc, "cache_hit", json_boolean(ev.cache_hit));
    json_object_set_new(doc, "prompt_tokens", json_integer((json_int_t)ev.prompt_tokens));
    json_object_set_new(doc, "completion_tokens", json_integer((json_int_t)ev.completion_tokens));
    json_object_set_new(doc, "total_tokens", json_integer((json_int_t)(ev.prompt_tokens + ev.completion_tokens)));
    /* charged: what the wallet paid, exact; cost: list cost after org pricing. */
    json_object_set_new(doc, "charged", json_string(cx_nano_format(r->pool, ev.charged_nano)));
    json_object_set_new(doc, "cost", json_string(cx_nano_format(r->pool, ev.cost_nano)));
    json_object_set_new(doc, "latency_ms", json_integer((json_int_t)ev.latency_ms));
    apr_size_t len;
    char *body = cx_json_dump(r->pool, doc, &len);
    return conduix_send_json(r, 200, body, len);
}

int conduix_api_usage(request_rec *r, conduix_req_t *ctx)
{
    if (r->method_number != M_GET)
        return conduix_send_error(r, CX_E_METHOD_NOT_ALLOWED, "Use GET on /v1/account/usage.", NULL);
    int rc = conduix_authenticate(r, ctx);
    if (rc != OK)
        return rc;
    if ((rc = conduix_require_scope(r, ctx, CX_SCOPE_ACCOUNT_READ)) != OK)
        return rc;
    const char *rest = r->uri + strlen("/v1/account/usage");
    if (*rest == '/' && rest[1])
        return one_request(r, ctx, rest + 1);
    static const char *const allowed[] = {"from", "to", "bucket", "group_by", "key_id", NULL};
    apr_table_t *args;
    if ((rc = conduix_query_args(r, allowed, &args)) != OK)
        return rc;
    return conduix_usage_report(r, ctx, ctx->key.org_id, args, CX_BUCKET_NONE);
}
