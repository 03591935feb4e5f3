/* conduix-admin: providers (platform operators only) — each provider's spend this UTC
 * month against its monthly budget (cx_budget_spend_from_usage: tokens at list price,
 * cache hits excluded, the figure the gateway rebuilds its shared counter from), the
 * budget alerts already sent (provider_budget_alerts), the hard-cap switch, and the
 * alert webhooks of budget_alert_webhooks (checked by cx_alert_url_check, as the
 * gateway checks them), and each provider's circuit breaker as the gateway last
 * reported it (provider_breaker_state: the live breakers are in httpd's shared
 * memory, which a CGI cannot read, so the gateway writes every transition there).
 * Changes are audited as operator actions. */
#include "admin.h"
#include "cx_breaker_store.h"
#include "cx_budget.h"
#include "cx_json.h"

#include <apr_strings.h>
#include <apr_time.h>
#include <stdlib.h>
#include <string.h>

int cxa_page_providers(cxa_t *c)
{
    cx_table_t prov, sent, hooks, breakers;
    const char *month = cx_budget_month(c->pool, apr_time_now());
    if (cx_admin_providers(c->db, c->pool, &prov) ||
        cx_admin_breaker_states(c->db, c->pool, &breakers) ||
        cx_admin_budget_alerts_sent(c->db, c->pool, month, &sent) ||
        cx_admin_alert_webhooks(c->db, c->pool, &hooks))
        return -1;
    cxa_set_table(c, "Providers", &prov);
    cx_nano_t total = 0;
    for (int i = 0; i < prov.rows->nelts; i++) {
        const char *pfx = apr_psprintf(c->pool, "Providers.%d.", i);
        const char *name = cx_table_get(&prov, i, "name");
        const char *budget_s = cx_table_get(&prov, i, "monthly_budget_nano"), *err;
        cx_nano_t spend = 0;
        if (cx_budget_spend_from_usage(c->db, name, apr_time_now(), NULL, &spend, &err))
            return -1;
        total += spend;
        cxa_set(c, apr_pstrcat(c->pool, pfx, "spend", NULL), cx_nano_format_short(c->pool, spend));
        cxa_set(c, apr_pstrcat(c->pool, pfx, "budget", NULL), cxa_credits(c, budget_s));
        cx_nano_t budget = budget_s ? strtoll(budget_s, NULL, 10) : 0;
        if (budget > 0) {
            long pct = (long)((double)spend * 100.0 / (double)budget);
            cxa_set_int(c, apr_pstrcat(c->pool, pfx, "pct", NULL), pct);
            cxa_set_int(c, apr_pstrcat(c->pool, pfx, "pct_meter", NULL), pct > 100 ? 100 : pct);
            cxa_set_int(c, apr_pstrcat(c->pool, pfx, "capped", NULL),
                        cx_budget_capped(&(cx_provider_budget_t){name, budget,
                                         atoi(cx_table_get(&prov, i, "hard_cap") ? cx_table_get(&prov, i, "hard_cap") : "0")},
                                         spend));
        }
        /* Alerts sent this month, e.g. "70 % · 80 %". */
        const char *alerts = NULL;
        for (int k = 0; k < sent.rows->nelts; k++) {
            if (strcmp(cx_table_get(&sent, k, "provider"), name))
                continue;
            const char *one = apr_pstrcat(c->pool, cx_table_get(&sent, k, "threshold_pct"), " %", NULL);
            alerts = alerts ? apr_pstrcat(c->pool, alerts, " · ", one, NULL) : one;
        }
        cxa_set(c, apr_pstrcat(c->pool, pfx, "alerts_sent", NULL), alerts);
        /* The breaker as last reported; no row = no transition since the table
         * exists, i.e. closed. */
        for (int k = 0; k < breakers.rows->nelts; k++) {
            if (strcmp(cx_table_get(&breakers, k, "provider"), name))
                continue;
            static const char *const fields[] = {"state", "failures", "opened_at", "open_until",
                                                 "updated_at", "reported_at", "open_over"};
            for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++)
                cxa_set(c, apr_pstrcat(c->pool, pfx, "breaker.", fields[f], NULL),
                        cx_table_get(&breakers, k, fields[f]));
        }
    }
    cxa_set_table(c, "Webhooks", &hooks);
    cxa_set(c, "ProvidersTotalSpend", cx_nano_format_short(c->pool, total));
    cxa_set(c, "Month", month);
    const char *done = cxa_param(c, "done");
    if (done && !strcmp(done, "saved"))
        cxa_flash(c, "ok", "Provider budget saved. The gateway re-reads budgets every catalog refresh.");
    else if (done && !strcmp(done, "hook-added"))
        cxa_flash(c, "ok", "Webhook added: budget alerts go to it from the next threshold on.");
    else if (done && !strcmp(done, "hook-removed"))
        cxa_flash(c, "ok", "Webhook removed.");
    return cxa_render(c, 200, "providers.cs", "Providers");
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
    if (cxa_parse_credits_opt(cxa_param(c, "budget"), &budget) || budget == 0)
        error = "Budget: enter a credit amount above zero, such as 5000, or leave it empty for none.";
    int hard_cap = cxa_param(c, "hard_cap") && !strcmp(cxa_param(c, "hard_cap"), "on");
    if (!error && hard_cap && budget < 0)
        error = "A hard cap needs a monthly budget.";
    if (error) {
        cxa_flash(c, "error", apr_psprintf(c->pool, "%s: %s", name, error));
        return cxa_page_providers(c);
    }
    const char *old_budget = cx_table_get(&prov, idx, "monthly_budget_nano");
    const char *old_cap = cx_table_get(&prov, idx, "hard_cap");
    json_t *detail = cx_json_own(c->pool, json_pack("{s:{s:s?,s:s?},s:{s:b,s:b}}",
        "budget", "before", old_budget ? cxa_credits(c, old_budget) : NULL,
                  "after", budget >= 0 ? cx_nano_format_short(c->pool, budget) : NULL,
        "hard_cap", "before", old_cap && atoi(old_cap), "after", hard_cap));
    if (cx_db_begin(c->db))
        return -1;
    if (cx_admin_provider_set_budget(c->db, name, budget, hard_cap) != 1 ||
        cxa_audit_as(c, "operator", "provider.update", apr_pstrcat(c->pool, "provider:", name, NULL),
                     cx_json_dump(c->pool, detail, NULL)) ||
        cx_db_commit(c->db)) {
        cx_db_rollback(c->db);
        return -1;
    }
    return cxa_redirect(c, "/providers?done=saved");
}

int cxa_page_webhook_add(cxa_t *c)
{
    const char *format = cxa_param(c, "format"), *url = cxa_param(c, "url");
    cx_alert_format_t f;
    if (!format || !cx_alert_format_parse(format, &f) || !url) {
        cxa_flash(c, "error", "Webhook: choose Slack or Teams and give the incoming-webhook URL.");
        return cxa_page_providers(c);
    }
    const char *why = strlen(url) > 2048 ? "the URL is longer than 2048 characters"
                                         : cx_alert_url_check(c->pool, url);
    if (why) {
        cxa_set(c, "HookForm.url", url);
        cxa_flash(c, "error", apr_psprintf(c->pool, "Webhook refused: %s.", why));
        return cxa_page_providers(c);
    }
    uint64_t id = 0;
    if (cx_db_begin(c->db))
        return -1;
    if (cx_admin_alert_webhook_add(c->db, cx_alert_format_name(f), url, &id) ||
        cxa_audit_as(c, "operator", "alert_webhook.add",
                     apr_psprintf(c->pool, "webhook:%" APR_UINT64_T_FMT, (apr_uint64_t)id),
                     apr_psprintf(c->pool, "{\"format\":\"%s\",\"url\":%s}", cx_alert_format_name(f),
                                  cx_json_quote(c->pool, url))) ||
        cx_db_commit(c->db)) {
        cx_db_rollback(c->db);
        return -1;
    }
    return cxa_redirect(c, "/providers?done=hook-added");
}

int cxa_page_webhook_remove(cxa_t *c)
{
    uint64_t id = cxa_param_id(c, "id");
    const char *url = NULL;
    if (cx_db_begin(c->db))
        return -1;
    int rv = id ? cx_admin_alert_webhook_remove(c->db, c->pool, id, &url) : 0;
    if (rv == 0) {
        cx_db_rollback(c->db);
        return cxa_fail(c, 404, "There is no such webhook.");
    }
    if (rv < 0 ||
        cxa_audit_as(c, "operator", "alert_webhook.remove",
                     apr_psprintf(c->pool, "webhook:%" APR_UINT64_T_FMT, (apr_uint64_t)id),
                     apr_psprintf(c->pool, "{\"url\":%s}", cx_json_quote(c->pool, url))) ||
        cx_db_commit(c->db)) {
        cx_db_rollback(c->db);
        return -1;
    }
    return cxa_redirect(c, "/providers?done=hook-removed");
}
