#include "cx_spendcap.h"
#include "cx_budget.h"
#include "cx_utcdate.h"

#include <apr_strings.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *cx_cap_period_label(apr_pool_t *p, cx_cap_period_t period, apr_time_t t)
{
    char *out = apr_palloc(p, CX_UTC_DAY_LEN + 1);
    return period == CX_CAP_MONTHLY ? cx_utc_month_label(out, t) : cx_utc_day_label(out, t);
}

/* "<prefix><id>:<label>" built by hand: these keys are made several times per request. */
static const char *id_period_key(apr_pool_t *p, const char *prefix, uint64_t id, const char *mid,
                                 cx_cap_period_t period, apr_time_t t)
{
    size_t pl = strlen(prefix), ml = strlen(mid);
    char *key = apr_palloc(p, pl + 20 + ml + CX_UTC_DAY_LEN + 2);
    char *o = key;
    memcpy(o, prefix, pl);
    o = cx_put_u64(o + pl, id);
    memcpy(o, mid, ml);
    o += ml;
    if (period == CX_CAP_MONTHLY)
        cx_utc_month_label(o, t);
    else
        cx_utc_day_label(o, t);
    return key;
}

void cx_cap_period_bounds(apr_pool_t *p, cx_cap_period_t period, apr_time_t t, const char **from,
                          const char **to, apr_time_t *end)
{
    apr_time_exp_t tm;
    apr_time_exp_gmt(&tm, t);
    tm.tm_usec = tm.tm_sec = tm.tm_min = tm.tm_hour = 0;
    tm.tm_gmtoff = 0;
    tm.tm_isdst = 0;
    if (period == CX_CAP_MONTHLY)
        tm.tm_mday = 1;
    apr_time_t start;
    apr_time_exp_gmt_get(&start, &tm);
    apr_time_exp_t next = tm;
    if (period == CX_CAP_MONTHLY) {
        if (++next.tm_mon == 12) {
            next.tm_mon = 0;
            next.tm_year++;
        }
    }
    apr_time_t stop;
    if (period == CX_CAP_MONTHLY)
        apr_time_exp_gmt_get(&stop, &next);
    else
        stop = start + apr_time_from_sec(86400);   /* UTC days have no DST */
    apr_time_exp_t a, b;
    apr_time_exp_gmt(&a, start);
    apr_time_exp_gmt(&b, stop);
    *from = apr_psprintf(p, "%04d-%02d-%02d 00:00:00", a.tm_year + 1900, a.tm_mon + 1, a.tm_mday);
    *to = apr_psprintf(p, "%04d-%02d-%02d 00:00:00", b.tm_year + 1900, b.tm_mon + 1, b.tm_mday);
    if (end)
        *end = stop;
}

const char *cx_cap_counter_key(apr_pool_t *p, const cx_cap_t *c, apr_time_t t)
{
    return id_period_key(p, c->scope == CX_CAP_KEY ? "cx:cap:key:" : "cx:cap:org:", c->id,
                         c->period == CX_CAP_MONTHLY ? ":m:" : ":d:", c->period, t);
}

apr_interval_time_t cx_cap_counter_ttl(cx_cap_period_t period)
{
    return apr_time_from_sec(period == CX_CAP_MONTHLY ? 40 * 86400 : 2 * 86400);
}

int cx_cap_reached(cx_nano_t spend, cx_nano_t cap)
{
    return cap >= 0 && spend >= cap;
}

cx_nano_t cx_cap_overshoot_bound(cx_nano_t cap, uint64_t inflight, cx_nano_t cost)
{
    if (cap < 0)
        return INT64_MAX;
    __int128 v = (__int128)cap + (__int128)inflight * (cost > 0 ? cost : 0);
    return v > INT64_MAX ? INT64_MAX : (cx_nano_t)v;
}

const char *cx_cap_parse_credits(apr_pool_t *p, const char *text, cx_nano_t *nano)
{
    if (!text)
        return "a value is required";
    if (!strcasecmp(text, "none") || !strcasecmp(text, "null")) {
        *nano = CX_SPEND_CAP_NONE;
        return NULL;
    }
    cx_nano_t v;
    if (cx_nano_parse(text, &v) != 0 || v < 0)
        return apr_psprintf(p, "'%s' is not an amount of credits (0 or more, at most nine "
                            "decimals, e.g. 25 or 2.50), or none", text);
    *nano = v;
    return NULL;
}

cx_nano_t cx_cap_parse_stored(const char *text, int *malformed)
{
    if (malformed)
        *malformed = 0;
    if (!text)
        return CX_SPEND_CAP_NONE;
    char *end;
    long long v = strtoll(text, &end, 10);
    if (!*text || *end || v < 0) {
        if (malformed)
            *malformed = 1;
        return CX_SPEND_CAP_NONE;
    }
    return (cx_nano_t)v;
}

const char *cx_cap_period_name(cx_cap_period_t period)
{
    return period == CX_CAP_MONTHLY ? "monthly" : "daily";
}

const char *cx_cap_scope_name(cx_cap_scope_t scope)
{
    return scope == CX_CAP_KEY ? "API key" : "organization";
}

int cx_cap_spend_from_usage(cx_db *db, const cx_cap_t *c, apr_time_t t,
                            const char *exclude_request_id, cx_nano_t *spend, const char **err)
{
    apr_pool_t *p;
    if (apr_pool_create_unmanaged(&p) != APR_SUCCESS) {
        *err = "out of memory";
        return -1;
    }
    const char *from, *to;
    cx_cap_period_bounds(p, c->period, t, &from, &to, NULL);
    cx_rows_t rows;
    const char *ex = exclude_request_id ? exclude_request_id : "";
    int rv;
    /* Rollup hour tables: (org_id, key_id, hour) is an index of usage_rollup_hour,
     * (org_id, hour) leads usage_rollup_hour_org's key. The excluded row, if it is
     * already written, is found by its unique request id. */
    if (c->scope == CX_CAP_KEY && c->org_id)
        rv = cx_db_query(db, p,
            "SELECT CAST((SELECT COALESCE(SUM(charged_nano), 0) FROM usage_rollup_hour "
            "WHERE org_id = ? AND key_id = ? AND hour >= ? AND hour < ?) - "
            "(SELECT COALESCE(SUM(charged_nano), 0) FROM usage_events WHERE request_id = ? "
            "AND key_id = ? AND created_at >= ? AND created_at < ?) AS CHAR)",
            "uusssuss", &rows, c->org_id, c->id, from, to, ex, c->id, from, to);
    else if (c->scope == CX_CAP_ORG)
        rv = cx_db_query(db, p,
            "SELECT CAST((SELECT COALESCE(SUM(charged_nano), 0) FROM usage_rollup_hour_org "
            "WHERE org_id = ? AND hour >= ? AND hour < ?) - "
            "(SELECT COALESCE(SUM(charged_nano), 0) FROM usage_events WHERE request_id = ? "
            "AND org_id = ? AND created_at >= ? AND created_at < ?) AS CHAR)",
            "usssuss", &rows, c->id, from, to, ex, c->id, from, to);
    else    /* a key cap without its org: the rows themselves, through (key_id, created_at) */
        rv = cx_db_query(db, p, "SELECT CAST(COALESCE(SUM(charged_nano), 0) AS CHAR) FROM usage_events "
                         "WHERE key_id = ? AND created_at >= ? AND created_at < ? AND request_id <> ?",
                         "usss", &rows, c->id, from, to, ex);
    const char **row = rv == 0 && rows.rows->nelts == 1 ? APR_ARRAY_IDX(rows.rows, 0, const char **) : NULL;
    if (!row || !row[0]) {
        *err = rv ? cx_db_error(db) : "no result";
        apr_pool_destroy(p);
        return -1;
    }
    *spend = strtoll(row[0], NULL, 10);
    apr_pool_destroy(p);
    return 0;
}

const char *cx_wallet_counter_key(apr_pool_t *p, uint64_t org_id, apr_time_t t)
{
    return id_period_key(p, "cx:wallet:", org_id, ":", CX_CAP_DAILY, t);
}

apr_interval_time_t cx_wallet_counter_ttl(void)
{
    return apr_time_from_sec(2 * 86400);
}

const char *cx_wallet_pending_key(apr_pool_t *p, uint64_t org_id, apr_time_t t)
{
    return id_period_key(p, "cx:wallet-pending:", org_id, ":", CX_CAP_DAILY, t);
}

apr_interval_time_t cx_wallet_pending_ttl(void)
{
    /* The day it counts, the next (when yesterday's rows are read back), and a margin:
     * it expires only after its last use, so a late decrement never lands on a newer
     * counter of the same name. */
    return apr_time_from_sec(3 * 86400);
}

cx_nano_t cx_wallet_balance_at_read(cx_nano_t balance_in_db, int64_t pending)
{
    if (pending <= 0)
        return balance_in_db;
    __int128 v = (__int128)balance_in_db - pending;
    return v < INT64_MIN ? INT64_MIN : (cx_nano_t)v;
}

int cx_wallet_balance_now(cx_nano_t balance_at_read, int64_t counter_at_read, int64_t counter_now,
                          cx_nano_t *out)
{
    if (counter_now < counter_at_read)
        return -1;
    __int128 v = (__int128)balance_at_read - ((__int128)counter_now - counter_at_read);
    *out = v < INT64_MIN ? INT64_MIN : (cx_nano_t)v;
    return 0;
}
