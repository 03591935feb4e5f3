/* Conduix provider budgets: thresholds, alert payloads and their records. */
#include "cx_budget.h"
#include "cx_utcdate.h"
#include "cx_json.h"

#include <apr_strings.h>
#include <apr_uri.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const int cx_budget_thresholds[CX_BUDGET_NTHRESHOLDS] = {70, 80, 90, 100};

const char *cx_budget_month(apr_pool_t *p, apr_time_t t)
{
    return cx_utc_month_label(apr_palloc(p, CX_UTC_MONTH_LEN + 1), t);
}

void cx_budget_month_bounds(apr_pool_t *p, apr_time_t t, const char **from, const char **to)
{
    apr_time_exp_t tm;
    apr_time_exp_gmt(&tm, t);
    int y = tm.tm_year + 1900, m = tm.tm_mon + 1;
    *from = apr_psprintf(p, "%04d-%02d-01 00:00:00", y, m);
    *to = m == 12 ? apr_psprintf(p, "%04d-01-01 00:00:00", y + 1)
                  : apr_psprintf(p, "%04d-%02d-01 00:00:00", y, m + 1);
}

int cx_budget_thresholds_reached(cx_nano_t spend, cx_nano_t budget)
{
    if (budget <= 0 || spend <= 0)
        return 0;
    int n = 0;
    for (int i = 0; i < CX_BUDGET_NTHRESHOLDS; i++) {
        /* spend / budget >= pct / 100, in 128 bits so nothing overflows */
        if ((__int128)spend * 100 >= (__int128)budget * cx_budget_thresholds[i])
            n = i + 1;
    }
    return n;
}

int cx_budget_capped(const cx_provider_budget_t *b, cx_nano_t spend)
{
    return b && b->hard_cap && b->budget_nano > 0 && spend >= b->budget_nano;
}

int cx_alert_format_parse(const char *s, cx_alert_format_t *out)
{
    if (!strcasecmp(s, "slack"))
        *out = CX_ALERT_SLACK;
    else if (!strcasecmp(s, "teams"))
        *out = CX_ALERT_TEAMS;
    else
        return 0;
    return 1;
}

const char *cx_alert_format_name(cx_alert_format_t f)
{
    return f == CX_ALERT_TEAMS ? "teams" : "slack";
}

const char *cx_alert_url_check(apr_pool_t *p, const char *url)
{
    apr_uri_t uri;
    if (!url || !*url || apr_uri_parse(p, url, &uri) != APR_SUCCESS)
        return "not a URL";
    if (!uri.scheme || (strcasecmp(uri.scheme, "http") && strcasecmp(uri.scheme, "https")))
        return "only http and https URLs may receive alerts";
    if (!uri.hostname || !*uri.hostname)
        return "the URL has no host";
    if (uri.user || uri.password)
        return "the URL must not carry credentials";
    for (const char *c = url; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == 0x7f)
            return "the URL contains whitespace or control characters";
    return NULL;
}

static const char *summary(apr_pool_t *p, const cx_budget_alert_t *a)
{
    return apr_psprintf(p, "Conduix: provider %s has used %d%% of its monthly budget for %s "
                        "(%s of %s credits).%s", a->provider, a->threshold_pct, a->month,
                        cx_nano_format_short(p, a->spend_nano), cx_nano_format_short(p, a->budget_nano),
                        a->hard_cap ? (a->threshold_pct >= 100
                                       ? " Hard cap reached: routing now skips this provider."
                                       : " A hard cap is set: routing skips it at 100%.")
                                    : "");
}

static json_t *fact(const char *title, const char *value)
{
    json_t *f = json_object();
    json_object_set_new(f, "title", json_string(title));
    json_object_set_new(f, "value", json_string(value));
    return f;
}

static json_t *text_block(const char *text, int heading)
{
    json_t *b = json_object();
    json_object_set_new(b, "type", json_string("TextBlock"));
    json_object_set_new(b, "text", json_string(text));
    json_object_set_new(b, "wrap", json_true());
    if (heading) {
        json_object_set_new(b, "size", json_string("Medium"));
        json_object_set_new(b, "weight", json_string("Bolder"));
    }
    return b;
}

char *cx_budget_alert_payload(apr_pool_t *p, cx_alert_format_t format, const cx_budget_alert_t *a,
                              apr_size_t *len)
{
    const char *text = summary(p, a);
    json_t *doc = cx_json_own(p, json_object());
    if (format == CX_ALERT_SLACK) {
        /* Slack incoming webhooks: a JSON object whose "text" is the message. */
        json_object_set_new(doc, "text", json_string(text));
        return cx_json_dump(p, doc, len);
    }
    /* Microsoft Teams incoming webhooks: a "message" carrying one Adaptive Card. */
    json_t *body = json_array();
    json_array_append_new(body, text_block(apr_psprintf(p, "Provider budget: %s at %d%%", a->provider,
                                                        a->threshold_pct), 1));
    json_array_append_new(body, text_block(text, 0));
    json_t *facts = json_array();
    json_array_append_new(facts, fact("Provider", a->provider));
    json_array_append_new(facts, fact("Month (UTC)", a->month));
    json_array_append_new(facts, fact("Threshold", apr_psprintf(p, "%d%%", a->threshold_pct)));
    json_array_append_new(facts, fact("Spend (credits)", cx_nano_format_short(p, a->spend_nano)));
    json_array_append_new(facts, fact("Budget (credits)", cx_nano_format_short(p, a->budget_nano)));
    json_array_append_new(facts, fact("Hard cap", a->hard_cap ? "on" : "off"));
    json_t *factset = json_object();
    json_object_set_new(factset, "type", json_string("FactSet"));
    json_object_set_new(factset, "facts", facts);
    json_array_append_new(body, factset);

    json_t *card = json_object();
    json_object_set_new(card, "$schema", json_string("http://adaptivecards.io/schemas/adaptive-card.json"));
    json_object_set_new(card, "type", json_string("AdaptiveCard"));
    json_object_set_new(card, "version", json_string("1.2"));
    json_object_set_new(card, "body", body);
    json_t *att = json_object();
    json_object_set_new(att, "contentType", json_string("application/vnd.microsoft.card.adaptive"));
    json_object_set_new(att, "contentUrl", json_null());
    json_object_set_new(att, "content", card);
    json_t *atts = json_array();
    json_array_append_new(atts, att);
    json_object_set_new(doc, "type", json_string("message"));
    json_object_set_new(doc, "attachments", atts);
    return cx_json_dump(p, doc, len);
}

/* ------------------------------------------------------------------ store */

static const char *cell(const cx_rows_t *rows, int row, int col)
{
    const char **r = APR_ARRAY_IDX(rows->rows, row, const char **);
    return r[col];
}

int cx_budget_load(cx_db *db, apr_pool_t *p, apr_array_header_t **budgets,
                   apr_array_header_t **targets, apr_array_header_t **skipped, const char **err)
{
    cx_rows_t rows;
    *budgets = apr_array_make(p, 4, sizeof(cx_provider_budget_t));
    *targets = apr_array_make(p, 2, sizeof(cx_alert_target_t));
    if (skipped)
        *skipped = apr_array_make(p, 1, sizeof(const char *));
    if (cx_db_query(db, p, "SELECT name, monthly_budget_nano, hard_cap FROM providers "
                    "WHERE monthly_budget_nano IS NOT NULL AND monthly_budget_nano > 0", "", &rows)) {
        *err = cx_db_error(db);
        return -1;
    }
    for (int i = 0; i < rows.rows->nelts; i++) {
        cx_provider_budget_t *b = apr_array_push(*budgets);
        b->provider = cell(&rows, i, 0);
        b->budget_nano = strtoll(cell(&rows, i, 1), NULL, 10);
        b->hard_cap = atoi(cell(&rows, i, 2)) != 0;
    }
    if (cx_db_query(db, p, "SELECT format, url FROM budget_alert_webhooks WHERE enabled = 1 "
                    "ORDER BY id", "", &rows)) {
        *err = cx_db_error(db);
        return -1;
    }
    for (int i = 0; i < rows.rows->nelts; i++) {
        cx_alert_target_t t;
        const char *url = cell(&rows, i, 1);
        const char *why = cx_alert_url_check(p, url);
        if (why || !cx_alert_format_parse(cell(&rows, i, 0), &t.format)) {
            if (skipped)
                APR_ARRAY_PUSH(*skipped, const char *) =
                    apr_psprintf(p, "budget_alert_webhooks row %d: %s", i + 1, why ? why : "bad format");
            continue;
        }
        t.url = url;
        APR_ARRAY_PUSH(*targets, cx_alert_target_t) = t;
    }
    return 0;
}

int cx_budget_spend_from_usage(cx_db *db, const char *provider, apr_time_t t,
                               const char *exclude_request_id, cx_nano_t *spend, const char **err)
{
    apr_pool_t *p;
    if (apr_pool_create_unmanaged(&p) != APR_SUCCESS) {
        *err = "out of memory";
        return -1;
    }
    const char *from, *to;
    cx_budget_month_bounds(p, t, &from, &to);
    cx_rows_t rows;
    /* The month's hours from the provider rollup (sql/070), less the excluded row if
     * it is already written; one statement, so one snapshot. */
    int rv = cx_db_query(db, p,
        "SELECT CAST((SELECT COALESCE(SUM(provider_cost_nano), 0) FROM usage_rollup_provider_hour"
        " WHERE provider = ? AND hour >= ? AND hour < ?) -"
        " (SELECT COALESCE(SUM(provider_cost_nano), 0) FROM usage_events WHERE request_id = ?"
        " AND provider = ? AND created_at >= ? AND created_at < ?) AS CHAR)",
        "sssssss", &rows, provider, from, to, exclude_request_id ? exclude_request_id : "",
        provider, from, to);
    if (rv || rows.rows->nelts != 1 || !cell(&rows, 0, 0)) {
        *err = rv ? cx_db_error(db) : "no result";
        apr_pool_destroy(p);
        return -1;
    }
    *spend = strtoll(cell(&rows, 0, 0), NULL, 10);
    apr_pool_destroy(p);
    return 0;
}

int cx_budget_alert_record(cx_db *db, const cx_budget_alert_t *a, int *inserted, const char **err)
{
    uint64_t affected = 0;
    if (cx_db_exec(db, "INSERT IGNORE INTO provider_budget_alerts "
                   "(provider, month, threshold_pct, spend_nano, budget_nano) VALUES (?, ?, ?, ?, ?)",
                   &affected, NULL, "ssiii", a->provider, a->month, (int64_t)a->threshold_pct,
                   (int64_t)a->spend_nano, (int64_t)a->budget_nano)) {
        *err = cx_db_error(db);
        return -1;
    }
    *inserted = affected == 1;
    return 0;
}

int cx_budget_alert_unrecord(cx_db *db, const cx_budget_alert_t *a)
{
    return cx_db_exec(db, "DELETE FROM provider_budget_alerts WHERE provider = ? AND month = ? "
                      "AND threshold_pct = ?", NULL, NULL, "ssi", a->provider, a->month,
                      (int64_t)a->threshold_pct);
}
