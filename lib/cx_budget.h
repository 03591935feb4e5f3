/* Conduix provider budgets (operator side): a monthly budget per provider, alerts
 * at 70/80/90/100 % to Slack and Microsoft Teams incoming webhooks, and an
 * optional hard cap that makes routing skip the provider.
 *
 * Spend is what the provider bills the operator: the request's tokens at the
 * deployment's list price (no org discount), cache hits excluded, counted per
 * UTC month. The live figure is a shared counter; cx_budget_spend_from_usage
 * rebuilds it from the provider rollup (sql/070) when the shared state was lost. */
#ifndef CX_BUDGET_H
#define CX_BUDGET_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include "cx_price.h"
#include "cx_store.h"

#define CX_BUDGET_NTHRESHOLDS 4
extern const int cx_budget_thresholds[CX_BUDGET_NTHRESHOLDS];   /* 70, 80, 90, 100 */

typedef struct {
    const char *provider;
    cx_nano_t budget_nano;     /* > 0 */
    int hard_cap;
} cx_provider_budget_t;

typedef enum { CX_ALERT_SLACK = 0, CX_ALERT_TEAMS } cx_alert_format_t;

typedef struct {
    cx_alert_format_t format;
    const char *url;
} cx_alert_target_t;

typedef struct {
    const char *provider;
    const char *month;         /* "2026-05" */
    int threshold_pct;
    cx_nano_t spend_nano;
    cx_nano_t budget_nano;
    int hard_cap;
} cx_budget_alert_t;

/* "YYYY-MM" of t in UTC, and the month's bounds as "YYYY-MM-01 00:00:00" (UTC). */
const char *cx_budget_month(apr_pool_t *p, apr_time_t t);
void cx_budget_month_bounds(apr_pool_t *p, apr_time_t t, const char **from, const char **to);

/* How many thresholds spend has reached (0..4): thresholds[0..n-1] are reached. */
int cx_budget_thresholds_reached(cx_nano_t spend, cx_nano_t budget);

/* 1 when a hard-capped provider has used its whole budget. */
int cx_budget_capped(const cx_provider_budget_t *b, cx_nano_t spend);

int cx_alert_format_parse(const char *s, cx_alert_format_t *out);
const char *cx_alert_format_name(cx_alert_format_t f);

/* NULL when url may receive alerts (http or https with a host, no credentials in
 * it), else the reason. Alerts never go to file:, gopher: or any other scheme. */
const char *cx_alert_url_check(apr_pool_t *p, const char *url);

/* JSON body for the webhook: Slack {"text": …}; Teams an Adaptive Card message. */
char *cx_budget_alert_payload(apr_pool_t *p, cx_alert_format_t format, const cx_budget_alert_t *a,
                              apr_size_t *len);

/* ---- store ---- */
/* Providers with a budget, and enabled webhook rows (URLs that fail the check are
 * left out and reported through *skipped, which may be NULL). */
int cx_budget_load(cx_db *db, apr_pool_t *p, apr_array_header_t **budgets /* cx_provider_budget_t */,
                   apr_array_header_t **targets /* cx_alert_target_t */,
                   apr_array_header_t **skipped /* const char * */, const char **err);

/* The provider's spend in t's month (each request's usage_events.provider_cost_nano,
 * summed by usage_rollup_provider_hour), leaving out the row of exclude_request_id
 * (NULL: none; see cx_cap_spend_from_usage). */
int cx_budget_spend_from_usage(cx_db *db, const char *provider, apr_time_t t,
                               const char *exclude_request_id, cx_nano_t *spend, const char **err);

/* Record that an alert goes out; *inserted = 0 when it was already sent. */
int cx_budget_alert_record(cx_db *db, const cx_budget_alert_t *a, int *inserted, const char **err);

/* Undo a record whose sending could not even be queued. */
int cx_budget_alert_unrecord(cx_db *db, const cx_budget_alert_t *a);

#endif
