/* Spend counters behind the org and key spend caps, and the wallet figure behind
 * the credit check (cx_spendcap.h explains both).
 *
 * One shared counter per capped org or key and UTC period
 * ("cx:cap:org:12:d:2026-11-21", cx_spendcap.h) holds what it has spent. The
 * check before a request reads it (rebuilding it from usage_events when absent);
 * after the response, log_transaction adds what the wallet paid, once the usage
 * row is written (mod_conduix's own log_transaction runs first). Counters are
 * kept only for periods that have a cap, so orgs without caps cost nothing.
 *
 * The wallet: each child caches an org's balance with the day's charge counter
 * ("cx:wallet:<org>:<day>") as it was when the balance was read; the balance now
 * is the cached one minus what the counter grew since, so a check never needs a
 * query and still sees every charge of every child. Charges whose usage rows are
 * still queued in some child's writer are counted apart ("cx:wallet-pending:") and
 * taken off a balance read from the database, which does not have them yet. */
#include "conduix_governance.h"
#include "conduix_resilience.h"
#include "cx_dbcounter.h"

#include <http_protocol.h>
#include <http_request.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <string.h>

APLOG_USE_MODULE(conduix);

#define TRACK_KEY "conduix-spend-caps"

typedef struct {
    request_rec *r;
    conduix_req_t *ctx;
    const cx_cap_t *cap;
    apr_time_t t;
    const char *exclude;   /* the request adding its own charge: left out of a rebuild */
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
    int rv = cx_cap_spend_from_usage(db, b->cap, b->t, b->exclude, &spend, &err);
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
    seed_baton_t b = {r, ctx, cap, now, NULL};
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

/* ------------------------------------------------------------ the wallet */

#define WALLET_CACHE_MAX 20000

typedef struct {
    uint64_t org_id;
    cx_nano_t balance;            /* orgs.balance_nano when read */
    int64_t counter;              /* the day's charge counter just before that read */
    const char *day;              /* whose counter */
    apr_time_t expires;
} wallet_entry_t;

static struct {
    apr_thread_mutex_t *lock;
    apr_pool_t *pool;             /* entries; cleared when the cache is full */
    apr_hash_t *orgs;             /* org id -> wallet_entry_t */
} W;

static int64_t counter_value(const cx_state *st, const char *key, int *ok)
{
    int64_t v = 0;
    cx_state_rc rc = cx_state_counter_get(st, key, &v);
    *ok = rc == CX_STATE_OK || rc == CX_STATE_NOTFOUND;
    return rc == CX_STATE_OK ? v : 0;
}

static int balance_from_db(request_rec *r, conduix_req_t *ctx, cx_nano_t *balance)
{
    conduix_runtime_t *rt = ctx->conf->runtime;
    cx_db *db = conduix_db_acquire(rt, r);
    int rv = db ? cx_store_balance(db, ctx->key.org_id, balance) : -1;
    if (rv < 0 && db)
        CX_RLOG(APLOG_ERR, r, ctx, "CX0533", "balance not read: %s", cx_db_error(db));
    conduix_db_release(rt, db);
    return rv == 0 ? 0 : -1;
}

void conduix_wallet_pending_add(apr_pool_t *p, const cx_usage_record_t *u)
{
    const cx_state *st = conduix_shared_state();
    if (!st || u->charged_nano <= 0)
        return;
    int64_t after;
    /* Failing, the balance read meanwhile misses this charge until the row is
     * written: what it was before pending charges were counted. */
    cx_state_counter_add(st, cx_wallet_pending_key(p, u->org_id, u->created_at), u->charged_nano,
                         CX_STATE_NO_LIMIT, cx_wallet_pending_ttl(), 0, &after);
}

void conduix_wallet_pending_settle(apr_pool_t *p, const cx_usage_record_t *const *rows, int n)
{
    const cx_state *st = conduix_shared_state();
    if (!st)
        return;
    /* One decrement per counter (org and day) of the batch: a batch is mostly a few orgs. */
    const char **keys = apr_palloc(p, (apr_size_t)n * sizeof *keys);
    for (int i = 0; i < n; i++)
        keys[i] = rows[i]->charged_nano > 0
                      ? cx_wallet_pending_key(p, rows[i]->org_id, rows[i]->created_at) : NULL;
    for (int i = 0; i < n; i++) {
        const char *key = keys[i];
        if (!key)
            continue;
        int64_t sum = 0;
        for (int j = i; j < n; j++) {
            if (keys[j] && !strcmp(keys[j], key)) {
                sum += rows[j]->charged_nano;
                keys[j] = NULL;   /* counted */
            }
        }
        int64_t after;
        /* NOCREATE: a counter that expired or was lost stays absent rather than
         * going negative. */
        cx_state_counter_add(st, key, -sum, CX_STATE_NO_LIMIT, cx_wallet_pending_ttl(),
                             CX_STATE_NOCREATE, &after);
    }
}

/* Charges queued and not yet in the database, of the days whose rows can still be
 * waiting: today's and yesterday's. *ok = 0 when the shared state cannot tell. */
static int64_t pending_now(apr_pool_t *p, const cx_state *st, uint64_t org, apr_time_t now, int *ok)
{
    int ok_today, ok_yesterday;
    int64_t today = counter_value(st, cx_wallet_pending_key(p, org, now), &ok_today);
    int64_t yesterday = counter_value(st, cx_wallet_pending_key(p, org, now - apr_time_from_sec(86400)),
                                      &ok_yesterday);
    *ok = ok_today && ok_yesterday;
    return (today > 0 ? today : 0) + (yesterday > 0 ? yesterday : 0);
}

cx_nano_t conduix_wallet_balance(request_rec *r, conduix_req_t *ctx)
{
    const cx_state *st = conduix_shared_state();
    cx_nano_t balance = 0;
    if (!st || !W.lock) {
        /* No shared counter: only the database knows what the other children spent. */
        return balance_from_db(r, ctx, &balance) == 0 ? balance : ctx->key.org_balance_nano;
    }
    apr_time_t now = apr_time_now();
    const char *key = cx_wallet_counter_key(r->pool, ctx->key.org_id, now);
    const char *day = cx_cap_period_label(r->pool, CX_CAP_DAILY, now);
    uint64_t org = ctx->key.org_id;

    wallet_entry_t cached = {0};
    apr_thread_mutex_lock(W.lock);
    wallet_entry_t *e = apr_hash_get(W.orgs, &org, sizeof org);
    if (e && e->expires > now && !strcmp(e->day, day)) {
        cached = *e;
        cached.day = NULL;
    }
    apr_thread_mutex_unlock(W.lock);
    int ok;
    if (cached.expires) {
        int64_t counter_now = counter_value(st, key, &ok);
        if (ok && cx_wallet_balance_now(cached.balance, cached.counter, counter_now, &balance) == 0)
            return balance;
    }

    /* Read the counter, the pending charges, then the database (cx_spendcap.h: a
     * charge counted meanwhile is subtracted twice, none is missed). */
    int64_t counter = counter_value(st, key, &ok);
    int pending_ok = 0;
    int64_t pending = ok ? pending_now(r->pool, st, org, now, &pending_ok) : 0;
    if (!ok || !pending_ok || balance_from_db(r, ctx, &balance) != 0)
        return ctx->key.org_balance_nano;   /* this child's figure, lowered by its own charges */
    balance = cx_wallet_balance_at_read(balance, pending);
    int ttl = conduix_conf_int(ctx->conf->key_cache_ttl, CONDUIX_DEFAULT_KEY_CACHE_TTL);
    if (ttl <= 0)
        return balance;
    apr_thread_mutex_lock(W.lock);
    e = apr_hash_get(W.orgs, &org, sizeof org);
    if (!e) {
        if (apr_hash_count(W.orgs) >= WALLET_CACHE_MAX) {
            /* Bounded memory: start over rather than track recency per entry. */
            apr_pool_clear(W.pool);
            W.orgs = apr_hash_make(W.pool);
        }
        e = apr_pcalloc(W.pool, sizeof *e);
        e->org_id = org;
        e->day = apr_pcalloc(W.pool, 11);
        apr_hash_set(W.orgs, &e->org_id, sizeof e->org_id, e);
    }
    e->balance = balance;
    e->counter = counter;
    apr_cpystrn((char *)e->day, day, 11);
    e->expires = now + apr_time_from_sec(ttl);
    apr_thread_mutex_unlock(W.lock);
    return balance;
}

static void wallet_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_pool_t *pool = conduix_child_pool(pchild);
    (void)s;
    apr_thread_mutex_create(&W.lock, APR_THREAD_MUTEX_DEFAULT, pool);
    apr_pool_create(&W.pool, pool);
    apr_pool_tag(W.pool, "conduix-wallet");
    W.orgs = apr_hash_make(W.pool);
}

/* ------------------------------------------------------------ after the response */

static int spend_log_transaction(request_rec *r)
{
    conduix_req_t *ctx = ap_get_module_config(r->request_config, &conduix_module);
    if (!ctx || !ctx->record_usage || ctx->usage.charged_nano <= 0 || !ctx->conf->runtime)
        return DECLINED;
    const cx_state *st = conduix_shared_state();
    if (!st)
        return DECLINED;   /* without shared state every check reads the database */
    /* The charge belongs to the period in which its usage row was written: now. */
    apr_time_t now = apr_time_now();
    int64_t charged_today = 0;
    cx_state_rc wrc = cx_state_counter_add(st, cx_wallet_counter_key(r->pool, ctx->usage.org_id, now),
                                           ctx->usage.charged_nano, CX_STATE_NO_LIMIT,
                                           cx_wallet_counter_ttl(), 0, &charged_today);
    if (wrc != CX_STATE_OK)
        CX_RLOG(APLOG_WARNING, r, ctx, "CX0536", "charge not counted for the wallet check: %s "
                "(children see it when they next read the balance)", cx_state_rc_name(wrc));

    void *v = NULL;
    apr_pool_userdata_get(&v, TRACK_KEY, r->pool);
    apr_array_header_t *caps = v;
    for (int i = 0; caps && i < caps->nelts; i++) {
        const cx_cap_t *cap = &APR_ARRAY_IDX(caps, i, cx_cap_t);
        seed_baton_t b = {r, ctx, cap, now, ctx->request_id};
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
    ap_hook_child_init(wallet_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    /* After mod_conduix's own log_transaction (APR_HOOK_MIDDLE) queued the row. */
    ap_hook_log_transaction(spend_log_transaction, NULL, NULL, APR_HOOK_LAST);
}
