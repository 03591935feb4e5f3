/* conduix-admin: usage — a date range (UTC days, both ends inclusive), totals, a
 * breakdown by model (with the provider badge) and by key, a chart of spend and
 * requests per day, and a CSV download. Every number comes from cx_usage (the queries
 * shared with /v1/account/usage and /api/usage), so the page, the API and the CSV agree. */
#include "admin.h"
#include "cx_usage.h"

#include <apr_strings.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DAYS 366

typedef struct {
    const char *from, *to;       /* inclusive days as shown */
    cx_usage_query_t q;          /* to exclusive */
    int days;
} range_t;

static const char *parse_range(cxa_t *c, range_t *r)
{
    const char *error = NULL;
    const char *today = cxa_today(c->pool);
    r->to = cxa_param(c, "to");
    r->from = cxa_param(c, "from");
    if (r->to && !cxa_valid_date(r->to)) {
        error = "To must be a date (YYYY-MM-DD); showing the last 30 days.";
        r->to = r->from = NULL;
    }
    if (r->from && !cxa_valid_date(r->from)) {
        error = "From must be a date (YYYY-MM-DD); showing the last 30 days.";
        r->to = r->from = NULL;
    }
    if (!r->to)
        r->to = today;
    if (!r->from)
        r->from = cxa_date_add(c->pool, r->to, -29);
    if (strcmp(r->from, r->to) > 0) {
        error = "From is after To; the two were swapped.";
        const char *t = r->from;
        r->from = r->to;
        r->to = t;
    }
    r->days = 1;
    for (const char *d = r->from; strcmp(d, r->to) < 0 && r->days <= MAX_DAYS; d = cxa_date_add(c->pool, d, 1))
        r->days++;
    if (r->days > MAX_DAYS) {
        error = "Ranges are limited to 366 days; showing the last 366 days of the range.";
        r->from = cxa_date_add(c->pool, r->to, -(MAX_DAYS - 1));
        r->days = MAX_DAYS;
    }
    memset(&r->q, 0, sizeof r->q);
    r->q.org_id = c->user.org_id;
    r->q.from = r->from;
    r->q.to = cxa_date_add(c->pool, r->to, 1);
    return error;
}

static const char *u64s(apr_pool_t *p, uint64_t v)
{
    return apr_psprintf(p, "%" APR_UINT64_T_FMT, (apr_uint64_t)v);
}

/* Thousands separators for counts ("1,234,567"). */
static const char *count(apr_pool_t *p, uint64_t v)
{
    const char *plain = u64s(p, v);
    size_t n = strlen(plain), commas = (n - 1) / 3;
    char *out = apr_palloc(p, n + commas + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0)
            *o++ = ',';
        *o++ = plain[i];
    }
    *o = '\0';
    return out;
}

static void provider_of(cxa_t *c, const char *model, const char **name, const char **label)
{
    cx_catalog_t *cat = cxa_catalog(c);
    cx_resolved_t res;
    *name = *label = NULL;
    if (model && !strncmp(model, "byo:", 4)) {
        *name = "byo";
        *label = "BYO";
    }
    else if (cat && model && cx_catalog_resolve(cat, model, &res)) {
        *name = res.model->provider->name;
        *label = res.model->provider->display_name;
    }
}

static void set_row(cxa_t *c, const char *pfx, const cx_usage_row_t *u)
{
    cxa_set(c, apr_pstrcat(c->pool, pfx, "requests", NULL), count(c->pool, u->requests));
    cxa_set(c, apr_pstrcat(c->pool, pfx, "prompt_tokens", NULL), count(c->pool, u->prompt_tokens));
    cxa_set(c, apr_pstrcat(c->pool, pfx, "completion_tokens", NULL), count(c->pool, u->completion_tokens));
    cxa_set(c, apr_pstrcat(c->pool, pfx, "tokens", NULL),
            count(c->pool, u->prompt_tokens + u->completion_tokens));
    cxa_set(c, apr_pstrcat(c->pool, pfx, "spend", NULL), cx_nano_format_short(c->pool, u->spend_nano));
    cxa_set(c, apr_pstrcat(c->pool, pfx, "cost", NULL), cx_nano_format_short(c->pool, u->cost_nano));
}

int cxa_page_usage(cxa_t *c)
{
    range_t r;
    const char *warning = parse_range(c, &r);
    if (warning)
        cxa_flash(c, "error", warning);
    const char *err;
    cx_usage_row_t totals;
    apr_array_header_t *by_model, *by_day, *by_key;
    cx_usage_query_t q = r.q;
    if (cx_usage_totals(c->db, c->pool, &q, &totals, &err))
        goto fail;
    q.group_by = CX_GROUP_MODEL;
    if (cx_usage_query(c->db, c->pool, &q, &by_model, &err))
        goto fail;
    q.group_by = CX_GROUP_KEY;
    if (cx_usage_query(c->db, c->pool, &q, &by_key, &err))
        goto fail;
    q.group_by = CX_GROUP_NONE;
    q.bucket = CX_BUCKET_DAY;
    if (cx_usage_query(c->db, c->pool, &q, &by_day, &err))
        goto fail;

    cxa_set(c, "Range.from", r.from);
    cxa_set(c, "Range.to", r.to);
    cxa_set_int(c, "Range.days", r.days);
    set_row(c, "Totals.", &totals);
    cxa_set(c, "Totals.avg_cost", totals.requests
            ? cx_nano_format_short(c->pool, totals.spend_nano / (cx_nano_t)totals.requests) : "0.00");

    for (int i = 0; i < by_model->nelts; i++) {
        const cx_usage_row_t *u = &APR_ARRAY_IDX(by_model, i, cx_usage_row_t);
        const char *pfx = apr_psprintf(c->pool, "ByModel.%d.", i), *pname, *plabel;
        provider_of(c, u->group, &pname, &plabel);
        cxa_set(c, apr_pstrcat(c->pool, pfx, "model", NULL), u->group);
        cxa_set(c, apr_pstrcat(c->pool, pfx, "provider", NULL), pname);
        cxa_set(c, apr_pstrcat(c->pool, pfx, "provider_label", NULL), plabel);
        set_row(c, pfx, u);
        /* Share of spend, for the inline bar. */
        long share = totals.spend_nano > 0 ? (long)(u->spend_nano * 100 / totals.spend_nano) : 0;
        cxa_set_int(c, apr_pstrcat(c->pool, pfx, "share", NULL), share);
    }
    for (int i = 0; i < by_key->nelts; i++) {
        const cx_usage_row_t *u = &APR_ARRAY_IDX(by_key, i, cx_usage_row_t);
        const char *pfx = apr_psprintf(c->pool, "ByKey.%d.", i);
        cxa_set(c, apr_pstrcat(c->pool, pfx, "key_id", NULL), u->group);
        cxa_set(c, apr_pstrcat(c->pool, pfx, "name", NULL), u->group_label ? u->group_label : u->group);
        set_row(c, pfx, u);
    }

    /* One chart entry per day of the range, zero where nothing happened. */
    apr_array_header_t *days = apr_array_make(c->pool, r.days, sizeof(cxa_chart_day_t));
    int k = 0;
    for (const char *d = r.from; strcmp(d, r.to) <= 0; d = cxa_date_add(c->pool, d, 1)) {
        cxa_chart_day_t *day = apr_array_push(days);
        day->day = d;
        day->spend_nano = 0;
        day->requests = 0;
        while (k < by_day->nelts && strcmp(APR_ARRAY_IDX(by_day, k, cx_usage_row_t).bucket_start, d) < 0)
            k++;
        if (k < by_day->nelts && !strcmp(APR_ARRAY_IDX(by_day, k, cx_usage_row_t).bucket_start, d)) {
            day->spend_nano = APR_ARRAY_IDX(by_day, k, cx_usage_row_t).spend_nano;
            day->requests = APR_ARRAY_IDX(by_day, k, cx_usage_row_t).requests;
        }
    }
    cxa_chart(c, days);
    /* The same numbers as JSON: GET /api/usage with the dashboard JWT. */
    cxa_set(c, "Api.Token", cxa_dashboard_jwt(c));
    cxa_set(c, "Api.Query", apr_psprintf(c->pool, "bucket=day&from=%s&to=%s", r.from,
                                         cxa_date_add(c->pool, r.to, 1)));
    return cxa_render(c, 200, "usage.cs", "Usage");
fail:
    cxa_set(c, "Error.Detail", err);
    return -1;
}

int cxa_page_usage_csv(cxa_t *c)
{
    range_t r;
    const char *warning = parse_range(c, &r);
    if (warning)
        return cxa_fail(c, 400, warning);
    const char *err;
    apr_array_header_t *rows;
    cx_usage_query_t q = r.q;
    q.bucket = CX_BUCKET_DAY;
    q.group_by = CX_GROUP_MODEL;
    if (cx_usage_query(c->db, c->pool, &q, &rows, &err))
        return -1;
    apr_array_header_t *lines = apr_array_make(c->pool, rows->nelts + 1, sizeof(const char *));
    APR_ARRAY_PUSH(lines, const char *) =
        "day,model,provider,requests,prompt_tokens,completion_tokens,spend_credits,list_cost_credits\r\n";
    for (int i = 0; i < rows->nelts; i++) {
        const cx_usage_row_t *u = &APR_ARRAY_IDX(rows, i, cx_usage_row_t);
        const char *pname, *plabel;
        provider_of(c, u->group, &pname, &plabel);
        APR_ARRAY_PUSH(lines, const char *) = apr_psprintf(
            c->pool, "%s,%s,%s,%s,%s,%s,%s,%s\r\n", u->bucket_start,
            cxa_csv_cell(c->pool, u->group), pname ? pname : "", u64s(c->pool, u->requests),
            u64s(c->pool, u->prompt_tokens), u64s(c->pool, u->completion_tokens),
            cx_nano_format(c->pool, u->spend_nano), cx_nano_format(c->pool, u->cost_nano));
    }
    const char *body = apr_array_pstrcat(c->pool, lines, 0);
    return cxa_download(c, "text/csv; charset=utf-8",
                        apr_psprintf(c->pool, "conduix-usage-%s-to-%s.csv", r.from, r.to), body,
                        strlen(body));
}
