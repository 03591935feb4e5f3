/* conduix-admin: providers (platform operators only) — month-to-date list cost and
 * requests per provider against its monthly budget, the hard-cap switch, alert webhooks
 * (Slack or Teams payloads; stored as platform settings provider_alert_webhooks.<name>)
 * and the circuit breaker. Breaker state lives in the gateway's shared memory inside
 * httpd, which a CGI process cannot read, so the page shows a labelled placeholder
 * instead of guessing. Changes are audited. */
#include "admin.h"
#include "cx_json.h"

#include <apr_strings.h>
#include <apr_uri.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_WEBHOOKS 5

static const char *webhook_setting(apr_pool_t *p, const char *provider)
{
    return apr_pstrcat(p, "provider_alert_webhooks.", provider, NULL);
}

/* Stored JSON -> "format url" lines. */
static const char *webhook_lines(cxa_t *c, const char *json, int *count)
{
    const char *err;
    json_t *arr = json ? cx_json_parse(c->pool, json, strlen(json), &err) : NULL;
    const char *out = "";
    size_t i;
    json_t *v;
    *count = 0;
    if (!arr || !json_is_array(arr))
        return out;
    json_array_foreach(arr, i, v) {
        const char *url = json_string_value(json_object_get(v, "url"));
        const char *fmt = json_string_value(json_object_get(v, "format"));
        if (!url || !fmt)
            continue;
        out = apr_pstrcat(c->pool, out, *out ? "\n" : "", fmt, " ", url, NULL);
        (*count)++;
    }
    return out;
}

int cxa_page_providers(cxa_t *c)
{
    cx_table_t prov;
    if (cx_admin_providers(c->db, c->pool, &prov))
        return -1;
    cxa_set_table(c, "Providers", &prov);
    cx_nano_t total_cost = 0;
    for (int i = 0; i < prov.rows->nelts; i++) {
        const char *pfx = apr_psprintf(c->pool, "Providers.%d.", i);
        const char *name = cx_table_get(&prov, i, "name");
        const char *budget_s = cx_table_get(&prov, i, "monthly_budget_nano");
        cx_nano_t cost = strtoll(cx_table_get(&prov, i, "month_cost_nano") ? cx_table_get(&prov, i, "month_cost_nano") : "0", NULL, 10);
        total_cost += cost;
        cxa_set(c, apr_pstrcat(c->pool, pfx, "cost", NULL), cx_nano_format_short(c->pool, cost));
        cxa_set(c, apr_pstrcat(c->pool, pfx, "budget", NULL), cxa_credits(c, budget_s));
        if (budget_s) {
            cx_nano_t budget = strtoll(budget_s, NULL, 10);
            long pct = budget > 0 ? (long)((double)cost * 100.0 / (double)budget) : 100;
            cxa_set_int(c, apr_pstrcat(c->pool, pfx, "pct", NULL), pct);
            cxa_set_int(c, apr_pstrcat(c->pool, pfx, "pct_meter", NULL), pct > 100 ? 100 : pct);
            cxa_set(c, apr_pstrcat(c->pool, pfx, "level", NULL),
                    pct >= 100 ? "over" : pct >= 90 ? "high" : pct >= 70 ? "warn" : "ok");
        }
        const char *hooks = NULL;
        if (cx_admin_setting_get(c->db, c->pool, 0, webhook_setting(c->pool, name), &hooks) < 0)
            return -1;
        int count = 0;
        cxa_set(c, apr_pstrcat(c->pool, pfx, "webhooks", NULL), webhook_lines(c, hooks, &count));
        cxa_set_int(c, apr_pstrcat(c->pool, pfx, "webhook_count", NULL), count);
    }
    cxa_set(c, "ProvidersTotalCost", cx_nano_format_short(c->pool, total_cost));
    cxa_set(c, "Month", apr_pstrndup(c->pool, cxa_today(c->pool), 7));
    const char *done = cxa_param(c, "done");
    if (done && !strcmp(done, "saved"))
        cxa_flash(c, "ok", "Provider settings saved.");
    return cxa_render(c, 200, "providers.cs", "Providers");
}

/* "slack https://…" lines -> JSON array; NULL for none; *error on bad input. */
static const char *parse_webhooks(cxa_t *c, const char *text, const char **error)
{
    if (!text)
        return NULL;
    json_t *arr = cx_json_own(c->pool, json_array());
    char *copy = apr_pstrdup(c->pool, text), *save = NULL;
    for (char *line = apr_strtok(copy, "\r\n", &save); line; line = apr_strtok(NULL, "\r\n", &save)) {
        char *lsave = NULL;
        char *fmt = apr_strtok(line, " \t", &lsave);
        char *url = fmt ? apr_strtok(NULL, " \t", &lsave) : NULL;
        if (!fmt)
            continue;
        if (!url || apr_strtok(NULL, " \t", &lsave) || (strcmp(fmt, "slack") && strcmp(fmt, "teams"))) {
            *error = "Webhooks: one per line as \"slack <url>\" or \"teams <url>\".";
            return NULL;
        }
        /* Operators may point alerts at internal receivers: the URL's form is checked,
         * not its address class. */
        apr_uri_t uri;
        if (strlen(url) > 512 || apr_uri_parse(c->pool, url, &uri) != APR_SUCCESS || !uri.scheme ||
            (strcasecmp(uri.scheme, "https") && strcasecmp(uri.scheme, "http")) || !uri.hostname ||
            !*uri.hostname || uri.user || uri.password) {
            *error = "Webhooks: each URL must be an http(s) URL without credentials.";
            return NULL;
        }
        if (json_array_size(arr) >= MAX_WEBHOOKS) {
            *error = "Webhooks: at most 5 per provider.";
            return NULL;
        }
        json_array_append_new(arr, json_pack("{s:s,s:s}", "url", url, "format", fmt));
    }
    return json_array_size(arr) ? cx_json_dump(c->pool, arr, NULL) : NULL;
}

int cxa_page_provider_update(cxa_t *c)
{
    const char *name = cxa_param(c, "provider");
    cx_table_t prov;
    if (cx_admin_providers(c->db, c->pool, &prov))
        return -1;
    int idx = -1;
    for (int i = 0; name && i < prov.rows->nelts; i++)
        if (!strcmp(cx_table_get(&prov, i, "name"), name))
            idx = i;
    if (idx < 0)
        return cxa_fail(c, 404, "There is no such provider.");
    cx_nano_t budget;
    const char *error = NULL;
    if (cxa_parse_credits_opt(cxa_param(c, "budget"), &budget))
        error = "Budget: enter a credit amount such as 5000, or leave it empty for none.";
    int hard_cap = cxa_param(c, "hard_cap") && !strcmp(cxa_param(c, "hard_cap"), "on");
    if (!error && hard_cap && budget < 0)
        error = "A hard cap needs a monthly budget.";
    const char *hooks = error ? NULL : parse_webhooks(c, cxa_param(c, "webhooks"), &error);
    if (error) {
        cxa_flash(c, "error", apr_psprintf(c->pool, "%s: %s", name, error));
        return cxa_page_providers(c);
    }
    const char *old_hooks = NULL;
    if (cx_admin_setting_get(c->db, c->pool, 0, webhook_setting(c->pool, name), &old_hooks) < 0)
        return -1;
    json_t *detail = cx_json_own(c->pool, json_object());
    const char *old_budget = cx_table_get(&prov, idx, "monthly_budget_nano");
    json_object_set_new(detail, "budget", json_pack("{s:s?,s:s?}",
        "before", old_budget ? cxa_credits(c, old_budget) : NULL,
        "after", budget >= 0 ? cx_nano_format_short(c->pool, budget) : NULL));
    json_object_set_new(detail, "hard_cap", json_pack("{s:b,s:b}",
        "before", atoi(cx_table_get(&prov, idx, "hard_cap") ? cx_table_get(&prov, idx, "hard_cap") : "0"),
        "after", hard_cap));
    json_object_set_new(detail, "webhooks", json_pack("{s:s?,s:s?}", "before", old_hooks, "after", hooks));

    if (cx_db_begin(c->db))
        return -1;
    if (cx_admin_provider_set_budget(c->db, name, budget, hard_cap) != 1 ||
        cx_admin_setting_put(c->db, 0, webhook_setting(c->pool, name), hooks) ||
        cxa_audit_as(c, "operator", "provider.update", apr_pstrcat(c->pool, "provider:", name, NULL),
                  cx_json_dump(c->pool, detail, NULL)) ||
        cx_db_commit(c->db)) {
        cx_db_rollback(c->db);
        return -1;
    }
    return cxa_redirect(c, "/providers?done=saved");
}
