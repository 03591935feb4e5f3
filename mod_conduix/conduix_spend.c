/* Spend counters behind the org and key spend caps, and the wallet read behind
 * the credit check.
 *
 * One shared counter per capped org or key and UTC period
 * ("cx:cap:org:12:d:2026-11-21", cx_spendcap.h) holds what it has spent. The
 * check before a request reads it (rebuilding it from usage_events when absent);
 * after the response, log_transaction adds what the wallet paid, once the usage
 * row is written (mod_conduix's own log_transaction runs first). Counters are
 * kept only for periods that have a cap, so orgs without caps cost nothing. */
#include "conduix_governance.h"
#include "conduix_resilience.h"
#include "cx_dbcounter.h"

#include <http_protocol.h>
#include <http_request.h>
#include <apr_strings.h>

APLOG_USE_MODULE(conduix);

#define TRACK_KEY "conduix-spend-caps"

typedef struct {
    request_rec *r;
    conduix_req_t *ctx;
    const cx_cap_t *cap;
    apr_time_t t;
} seed_baton_t;

static const char *cap_what(apr_pool_t *p, const cx_cap_t *c)
{
    return apr_psprintf(p, "%s %s %" APR_UINT64_T_FMT, cx_cap_period_name(c->period),
                        c->scope == CX_CAP_KEY ? "key" : "org", (apr_uint64_t)c->id);
}

static int seed_from_usage(void *baton, int64_t *value)
{
    seed_baton_t *b = baton;
    conduix_runtime_t *rt = b->ctx->conf->runtime;
    cx_db *db = conduix_db_acquire(rt, b->r);
    if (!db)
        return -1;
    const char *err;
    cx_nano_t spend = 0;
    int rv = cx_cap_spend_from_usage(db, b->cap, b->t, &spend, &err);
    if (rv)
        CX_RLOG(APLOG_ERR, b->r, b->ctx, "CX0530", "%s spend not read from usage: %s",
                cap_what(b->r->pool, b->cap), err);
    conduix_db_release(rt, db);
    *value = spend;
    return rv ? -1 : 0;
}

int conduix_spend_current(request_rec *r, conduix_req_t *ctx, const cx_cap_t *cap, apr_time_t now,
                          cx_nano_t *spend)
{
    seed_baton_t b = {r, ctx, cap, now};
    const cx_state *st = conduix_shared_state();
    if (!st)
        return seed_from_usage(&b, spend);   /* exact, one query per capped period */
    int seeded = 0;
    int64_t v = 0;
    const char *key = cx_cap_counter_key(r->pool, cap, now);
    cx_state_rc rc = cx_dbcounter_get(st, key, cx_cap_counter_ttl(cap->period), seed_from_usage, &b,
                                      &v, &seeded);
    if (rc != CX_STATE_OK) {
        CX_RLOG(APLOG_ERR, r, ctx, "CX0531", "%s spend unknown (%s)", cap_what(r->pool, cap),
                cx_state_rc_name(rc));
        return -1;
    }
    if (seeded)
        CX_RLOG(APLOG_INFO, r, ctx, "CX0532", "%s spend rebuilt from usage: %s credits",
                cap_what(r->pool, cap), cx_nano_format(r->pool, v));
    *spend = v;
    return 0;
}

void conduix_spend_track(request_rec *r, const apr_array_header_t *caps)
{
    if (caps && caps->nelts)
        apr_pool_userdata_setn(apr_array_copy(r->pool, caps), TRACK_KEY, NULL, r->pool);
}

cx_nano_t conduix_wallet_balance(request_rec *r, conduix_req_t *ctx)
{
    conduix_runtime_t *rt = ctx->conf->runtime;
    cx_db *db = conduix_db_acquire(rt, r);
    cx_nano_t balance = 0;
    int rv = db ? cx_store_balance(db, ctx->key.org_id, &balance) : -1;
    if (rv < 0 && db)
        CX_RLOG(APLOG_ERR, r, ctx, "CX0533", "balance not read: %s", cx_db_error(db));
    conduix_db_release(rt, db);
    if (rv == 0)
        return balance;
    /* The database is down: this child's figure, lowered by every charge it made
     * or spooled since it was read. */
    return ctx->key.org_balance_nano;
}

static int spend_log_transaction(request_rec *r)
{
    conduix_req_t *ctx = ap_get_module_config(r->request_config, &conduix_module);
    void *v = NULL;
    apr_pool_userdata_get(&v, TRACK_KEY, r->pool);
    apr_array_header_t *caps = v;
    if (!ctx || !caps || !ctx->record_usage || ctx->usage.charged_nano <= 0 || !ctx->conf->runtime)
        return DECLINED;
    const cx_state *st = conduix_shared_state();
    if (!st)
        return DECLINED;   /* without shared state every check reads the database */
    /* The charge belongs to the period in which its usage row was written: now. */
    apr_time_t now = apr_time_now();
    for (int i = 0; i < caps->nelts; i++) {
        const cx_cap_t *cap = &APR_ARRAY_IDX(caps, i, cx_cap_t);
        seed_baton_t b = {r, ctx, cap, now};
        int64_t after = 0;
        int seeded = 0;
        cx_state_rc rc = cx_dbcounter_add(st, cx_cap_counter_key(r->pool, cap, now),
                                          ctx->usage.charged_nano, cx_cap_counter_ttl(cap->period),
                                          seed_from_usage, &b, &after, &seeded);
        if (rc != CX_STATE_OK)
            CX_RLOG(APLOG_WARNING, r, ctx, "CX0534", "%s spend not counted: %s (the next check "
                    "rebuilds it from usage)", cap_what(r->pool, cap), cx_state_rc_name(rc));
        else if (cx_cap_reached(after, cap->cap))
            CX_RLOG(APLOG_INFO, r, ctx, "CX0535", "%s cap of %s credits reached: %s spent",
                    cap_what(r->pool, cap), cx_nano_format(r->pool, cap->cap),
                    cx_nano_format(r->pool, after));
    }
    return DECLINED;
}

void conduix_spend_register_hooks(apr_pool_t *p)
{
    (void)p;
    /* After mod_conduix's own log_transaction (APR_HOOK_MIDDLE) wrote the row. */
    ap_hook_log_transaction(spend_log_transaction, NULL, NULL, APR_HOOK_LAST);
}
