/* mod_conduix provider budgets: spend counters, hard caps and webhook alerts.
 *
 * Each child keeps a snapshot of the budgets (providers.monthly_budget_nano,
 * hard_cap) and of the webhook rows, reloaded like the catalog. Spend per provider
 * per UTC month is a shared counter ("cx:spend:<provider>:<YYYY-MM>") raised in
 * log_transaction by what the provider bills for the request (tokens at the
 * deployment's list price, usage_events.provider_cost_nano; cache hits cost nothing);
 * when the counter is absent (first use since the shared state was created) it is
 * rebuilt from the provider rollup (sql/070).
 *
 * Alerts: after each raise, every threshold (70/80/90/100 %) the spend has reached
 * is claimed once in the shared state ("cx:alert:<provider>:<month>:<pct>") and
 * then recorded in provider_budget_alerts (unique per provider, month and
 * threshold, so a restart that lost the shared state does not resend). Only the
 * request that recorded the row queues the webhook posts. A background thread per
 * child sends them: nothing here ever waits for a webhook.
 *
 * The same thread writes circuit-breaker transitions to the database
 * (provider_breaker_state, for the dashboard): conduix_breaker.c queues them, so
 * no request waits for that write either. */
#include "conduix_resilience.h"
#include "cx_breaker_store.h"
#include "cx_budget.h"
#include "cx_dbcounter.h"

#include <http_protocol.h>
#include <http_request.h>
#include <apr_queue.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>
#include <stdlib.h>
#include <string.h>

APLOG_USE_MODULE(conduix);

#define SPEND_TTL apr_time_from_sec(40 * 86400)     /* a month key outlives its month */
#define ALERT_QUEUE_SIZE 256
#define ALERT_ATTEMPTS 3

typedef struct {
    apr_pool_t *pool;
    apr_time_t loaded;
    apr_hash_t *budgets;                  /* provider name -> cx_provider_budget_t */
    apr_array_header_t *targets;          /* cx_alert_target_t from the database */
} snapshot_t;

typedef struct {
    char *url;
    char *body;
    size_t body_len;
    char *what;                           /* for logs: "openai 80% (slack)" */
    /* A breaker transition to record instead (url and body NULL). */
    conduix_runtime_t *rt;
    char *provider;
    cx_breaker_state_t from;
    cx_breaker_t to;
    apr_time_t at;
} alert_job_t;

static struct {
    server_rec *server;
    apr_thread_mutex_t *lock;             /* guards snap and loading */
    snapshot_t *snap;
    int loading;
    apr_queue_t *queue;
    apr_thread_t *thread;
    volatile int stopping;                /* the child is exiting: no more retries */
} B;

/* ------------------------------------------------------------ snapshot */

static snapshot_t *snapshot_load(request_rec *r, conduix_req_t *ctx)
{
    conduix_runtime_t *rt = ctx->conf->runtime;
    cx_db *db = conduix_db_acquire(rt, r);
    if (!db)
        return NULL;
    apr_pool_t *p;
    if (apr_pool_create_unmanaged(&p) != APR_SUCCESS)   /* freed whole when replaced */
        return NULL;
    apr_array_header_t *budgets, *targets, *skipped;
    const char *err;
    int rv = cx_budget_load(db, p, &budgets, &targets, &skipped, &err);
    if (rv)
        err = apr_pstrdup(r->pool, err);   /* the text lives in the connection */
    conduix_db_release(rt, db);
    if (rv) {
        CX_RLOG(APLOG_ERR, r, ctx, "CX0710", "provider budgets not loaded: %s", err);
        apr_pool_destroy(p);
        return NULL;
    }
    for (int i = 0; i < skipped->nelts; i++)
        CX_RLOG(APLOG_WARNING, r, ctx, "CX0711", "%s", APR_ARRAY_IDX(skipped, i, const char *));
    snapshot_t *s = apr_pcalloc(p, sizeof *s);
    s->pool = p;
    s->loaded = apr_time_now();
    s->budgets = apr_hash_make(p);
    for (int i = 0; i < budgets->nelts; i++) {
        cx_provider_budget_t *b = &APR_ARRAY_IDX(budgets, i, cx_provider_budget_t);
        apr_hash_set(s->budgets, b->provider, APR_HASH_KEY_STRING, b);
    }
    s->targets = targets;
    return s;
}

static void snapshot_refresh(request_rec *r, conduix_req_t *ctx)
{
    apr_time_t refresh = apr_time_from_sec(conduix_conf_int(ctx->conf->catalog_refresh,
                                                            CONDUIX_DEFAULT_CATALOG_REFRESH));
    apr_thread_mutex_lock(B.lock);
    int need = !B.loading && (!B.snap || apr_time_now() - B.snap->loaded > refresh);
    if (need)
        B.loading = 1;
    apr_thread_mutex_unlock(B.lock);
    if (!need)
        return;
    snapshot_t *fresh = snapshot_load(r, ctx);
    apr_thread_mutex_lock(B.lock);
    B.loading = 0;
    if (fresh) {
        /* Readers copy what they need under the lock, so the old one can go now. */
        if (B.snap)
            apr_pool_destroy(B.snap->pool);
        B.snap = fresh;
    }
    else if (B.snap) {
        B.snap->loaded = apr_time_now();   /* keep the old figures; retry later */
    }
    apr_thread_mutex_unlock(B.lock);
}

/* Copy of the provider's budget into p; NULL when it has none. */
static cx_provider_budget_t *budget_of(request_rec *r, conduix_req_t *ctx, const char *provider)
{
    if (!B.lock)
        return NULL;
    snapshot_refresh(r, ctx);
    cx_provider_budget_t *out = NULL;
    apr_thread_mutex_lock(B.lock);
    const cx_provider_budget_t *b = B.snap ? apr_hash_get(B.snap->budgets, provider, APR_HASH_KEY_STRING)
                                           : NULL;
    if (b) {
        out = apr_pmemdup(r->pool, b, sizeof *b);
        out->provider = apr_pstrdup(r->pool, b->provider);
    }
    apr_thread_mutex_unlock(B.lock);
    return out;
}

/* Webhook targets: the directive's, then the database's (copied into p). */
static apr_array_header_t *alert_targets(request_rec *r, conduix_req_t *ctx)
{
    apr_array_header_t *out = apr_array_make(r->pool, 2, sizeof(cx_alert_target_t));
    apr_array_header_t *conf = ctx->conf->budget_alerts;
    for (int i = 0; conf && i < conf->nelts; i++) {
        conduix_alert_conf_t *a = &APR_ARRAY_IDX(conf, i, conduix_alert_conf_t);
        cx_alert_target_t t = {a->format, a->url};
        APR_ARRAY_PUSH(out, cx_alert_target_t) = t;
    }
    apr_thread_mutex_lock(B.lock);
    for (int i = 0; B.snap && i < B.snap->targets->nelts; i++) {
        cx_alert_target_t t = APR_ARRAY_IDX(B.snap->targets, i, cx_alert_target_t);
        t.url = apr_pstrdup(r->pool, t.url);
        APR_ARRAY_PUSH(out, cx_alert_target_t) = t;
    }
    apr_thread_mutex_unlock(B.lock);
    return out;
}

/* ------------------------------------------------------------ spend */

static const char *spend_key(apr_pool_t *p, const char *provider, const char *month)
{
    return apr_pstrcat(p, "cx:spend:", provider, ":", month, NULL);
}

/* The provider's month spend as the database has it: the seed of an absent
 * counter, kept by lib/cx_dbcounter.h like the counters of spend caps. */
typedef struct {
    request_rec *r;
    conduix_req_t *ctx;
    const char *provider;
    apr_time_t now;
    const char *exclude;   /* the request adding its own cost: left out of a rebuild */
} spend_seed_t;

static int spend_from_usage(void *baton, int64_t *value)
{
    spend_seed_t *b = baton;
    conduix_runtime_t *rt = b->ctx->conf->runtime;
    cx_db *db = conduix_db_acquire(rt, b->r);
    if (!db)
        return -1;
    const char *err;
    cx_nano_t from_db = 0;
    int rv = cx_budget_spend_from_usage(db, b->provider, b->now, b->exclude, &from_db, &err);
    if (rv)
        CX_RLOG(APLOG_ERR, b->r, b->ctx, "CX0712", "spend of %s not rebuilt from usage: %s",
                b->provider, err);
    conduix_db_release(rt, db);
    *value = from_db;
    return rv ? -1 : 0;
}

static void note_seeded(spend_seed_t *b, int seeded, int64_t spend)
{
    if (seeded)
        CX_RLOG(APLOG_INFO, b->r, b->ctx, "CX0713", "spend of %s this month rebuilt from usage: "
                "%s credits", b->provider, cx_nano_format(b->r->pool, spend));
}

int conduix_budget_capped(request_rec *r, conduix_req_t *ctx, const cx_provider_t *prov)
{
    const cx_state *st = conduix_shared_state();
    if (!st)
        return 0;
    cx_provider_budget_t *b = budget_of(r, ctx, prov->name);
    if (!b || !b->hard_cap)
        return 0;
    spend_seed_t seed = {r, ctx, prov->name, apr_time_now(), NULL};
    const char *key = spend_key(r->pool, prov->name, cx_budget_month(r->pool, seed.now));
    int64_t spend = 0;
    int seeded = 0;
    if (cx_dbcounter_get(st, key, SPEND_TTL, spend_from_usage, &seed, &spend, &seeded) != CX_STATE_OK)
        return 0;   /* unknown spend: do not take a provider out on a guess */
    note_seeded(&seed, seeded, spend);
    return cx_budget_capped(b, spend);
}

/* ------------------------------------------------------------ alerts */

static void free_job(alert_job_t *job)
{
    free(job->url);
    free(job->body);
    free(job->what);
    free(job->provider);
    free(job);
}

void conduix_budget_queue_breaker(request_rec *r, conduix_req_t *ctx, const char *provider,
                                  cx_breaker_state_t from, const cx_breaker_t *to, apr_time_t at)
{
    alert_job_t *job = calloc(1, sizeof *job);
    if (job) {
        job->rt = ctx->conf->runtime;
        job->provider = strdup(provider);
        job->from = from;
        job->to = *to;
        job->at = at;
    }
    if (!job || !job->provider || !job->rt || !B.queue ||
        apr_queue_trypush(B.queue, job) != APR_SUCCESS) {
        CX_RLOG(APLOG_WARNING, r, ctx, "CX0707", "breaker of %s now %s: not reported to the "
                "database (the background queue is full or stopped)", provider,
                cx_breaker_state_name(to->state));
        if (job)
            free_job(job);
    }
}

static void queue_alert(request_rec *r, conduix_req_t *ctx, const cx_alert_target_t *t,
                        const cx_budget_alert_t *a)
{
    apr_size_t len;
    const char *what = apr_psprintf(r->pool, "%s %d%% for %s (%s)", a->provider, a->threshold_pct,
                                    a->month, cx_alert_format_name(t->format));
    char *body = cx_budget_alert_payload(r->pool, t->format, a, &len);
    alert_job_t *job = calloc(1, sizeof *job);
    if (job && body) {
        job->url = strdup(t->url);
        job->what = strdup(what);
        job->body = malloc(len);
        job->body_len = len;
        if (job->body)
            memcpy(job->body, body, len);
    }
    if (!job || !job->url || !job->what || !job->body || !B.queue ||
        apr_queue_trypush(B.queue, job) != APR_SUCCESS) {
        CX_RLOG(APLOG_ERR, r, ctx, "CX0720", "budget alert %s dropped: the alert queue is full "
                "or stopped", what);
        if (job)
            free_job(job);
    }
}

static void check_thresholds(request_rec *r, conduix_req_t *ctx, const cx_state *st,
                             const cx_provider_budget_t *b, const char *month, cx_nano_t spend)
{
    int reached = cx_budget_thresholds_reached(spend, b->budget_nano);
    if (!reached)
        return;
    apr_array_header_t *targets = NULL;
    for (int i = 0; i < reached; i++) {
        int pct = cx_budget_thresholds[i];
        const char *flag = apr_psprintf(r->pool, "cx:alert:%s:%s:%d", b->provider, month, pct);
        char seen[4];
        apr_size_t seen_len;
        if (cx_state_record_get(st, flag, seen, sizeof seen, &seen_len, NULL) == CX_STATE_OK)
            continue;   /* the common case once a threshold is behind us */
        if (!targets) {
            targets = alert_targets(r, ctx);
            if (targets->nelts == 0)
                return;   /* nowhere to send: thresholds stay open until a target exists */
        }
        if (cx_state_record_cas(st, flag, 0, "1", 1, SPEND_TTL, NULL) != CX_STATE_OK)
            continue;   /* another request claimed it */
        cx_budget_alert_t a = {.provider = b->provider, .month = month, .threshold_pct = pct,
                               .spend_nano = spend, .budget_nano = b->budget_nano,
                               .hard_cap = b->hard_cap};
        conduix_runtime_t *rt = ctx->conf->runtime;
        cx_db *db = conduix_db_acquire(rt, r);
        const char *err = "no database connection";
        int inserted = 0;
        int rv = db ? cx_budget_alert_record(db, &a, &inserted, &err) : -1;
        if (rv)
            err = apr_pstrdup(r->pool, err);
        conduix_db_release(rt, db);
        if (rv) {
            /* Let a later request try again rather than lose the alert. */
            cx_state_del(st, flag);
            CX_RLOG(APLOG_ERR, r, ctx, "CX0721", "budget alert %s %d%% not recorded: %s",
                    b->provider, pct, err);
            return;
        }
        if (!inserted)
            continue;   /* sent before the shared state was (re)created */
        CX_RLOG(APLOG_WARNING, r, ctx, "CX0722", "provider %s reached %d%% of its monthly budget "
                "(%s of %s credits): alerting %d webhook(s)", b->provider, pct,
                cx_nano_format_short(r->pool, spend), cx_nano_format_short(r->pool, b->budget_nano),
                targets->nelts);
        for (int j = 0; j < targets->nelts; j++)
            queue_alert(r, ctx, &APR_ARRAY_IDX(targets, j, cx_alert_target_t), &a);
    }
}

/* After the usage row is written (conduix_log_transaction runs first). */
static int budget_log_transaction(request_rec *r)
{
    conduix_req_t *ctx = ap_get_module_config(r->request_config, &conduix_module);
    const cx_state *st = conduix_shared_state();
    if (!ctx || !ctx->record_usage || !st || ctx->usage.cache_hit || !ctx->usage.provider ||
        !ctx->usage.served_model || !ctx->conf->runtime)
        return DECLINED;
    cx_usage_record_t *u = &ctx->usage;
    cx_nano_t cost = u->provider_cost_nano;   /* priced when the answer came */
    if (cost <= 0)
        return DECLINED;

    spend_seed_t seed = {r, ctx, u->provider, apr_time_now(), ctx->request_id};
    const char *month = cx_budget_month(r->pool, seed.now);
    const char *key = spend_key(r->pool, u->provider, month);
    int64_t spend = 0;
    int seeded = 0;
    /* A rebuild leaves this request's row out (the usage writer may not have written
     * it yet); cx_dbcounter_add then adds the cost itself. */
    cx_state_rc rc = cx_dbcounter_add(st, key, cost, SPEND_TTL, spend_from_usage, &seed, &spend,
                                      &seeded);
    if (rc != CX_STATE_OK) {
        CX_RLOG(APLOG_WARNING, r, ctx, "CX0714", "spend of %s not counted: %s", u->provider,
                cx_state_rc_name(rc));
        return DECLINED;
    }
    note_seeded(&seed, seeded, spend);
    cx_provider_budget_t *b = budget_of(r, ctx, u->provider);
    if (b)
        check_thresholds(r, ctx, st, b, month, spend);
    return DECLINED;
}

/* ------------------------------------------------------------ sender thread */

static void send_job(apr_pool_t *p, cx_http_pool *hp, const alert_job_t *job)
{
    apr_array_header_t *headers = apr_array_make(p, 2, sizeof(const char *));
    APR_ARRAY_PUSH(headers, const char *) = "Content-Type: application/json";
    APR_ARRAY_PUSH(headers, const char *) = "User-Agent: conduix/" CONDUIX_VERSION;
    cx_http_request_t req = {
        .url = job->url,
        .body = job->body,
        .body_len = job->body_len,
        .headers = headers,
        .connect_timeout_ms = 5000,
        .timeout_ms = 10000,
        .idle_timeout_ms = 10000,
        .max_response = 64 * 1024,
    };
    for (int attempt = 1; attempt <= ALERT_ATTEMPTS; attempt++) {
        cx_http_response_t resp;
        cx_http_result_t res = cx_http_perform(hp, p, &req, &resp);
        if (res == CX_HTTP_OK && resp.status >= 200 && resp.status < 300) {
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, B.server, "CX0723: budget alert %s delivered",
                         job->what);
            return;
        }
        /* The URL may carry a secret token (Slack, Teams): never log it. */
        ap_log_error(APLOG_MARK, attempt == ALERT_ATTEMPTS ? APLOG_ERR : APLOG_WARNING, 0, B.server,
                     "CX0724: budget alert %s not delivered (attempt %d of %d): %s", job->what,
                     attempt, ALERT_ATTEMPTS,
                     res == CX_HTTP_OK ? apr_psprintf(p, "HTTP %ld", resp.status)
                                       : (resp.error ? resp.error : "transfer failed"));
        if (attempt < ALERT_ATTEMPTS && !B.stopping)
            apr_sleep(apr_time_from_sec(attempt));
        if (B.stopping)
            return;
    }
}

/* A breaker transition into provider_breaker_state; a lost one is logged, never
 * retried for long: the next transition overwrites it anyway. */
static void record_breaker(apr_pool_t *p, const alert_job_t *job)
{
    const char *err = "no database connection";
    int rv = -1;
    for (int attempt = 0; rv != 0 && attempt < CONDUIX_DB_STALE_RETRIES; attempt++) {
        cx_db *db = conduix_db_acquire(job->rt, NULL);
        if (!db)
            break;
        rv = cx_breaker_store_transition(db, job->provider, job->from, &job->to, job->at, &err);
        if (rv)
            err = apr_pstrdup(p, err);
        int stale = rv != 0 && !cx_db_ok(db);
        conduix_db_release(job->rt, db);
        if (!stale)
            break;   /* only a dead pooled connection is worth another one */
    }
    if (rv)
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, B.server, "CX0708: breaker of %s (%s -> %s) not "
                     "recorded in the database: %s", job->provider, cx_breaker_state_name(job->from),
                     cx_breaker_state_name(job->to.state), err);
}

static void *APR_THREAD_FUNC alert_sender(apr_thread_t *thd, void *data)
{
    /* An unmanaged pool: this thread never allocates from the child's pools,
     * whose allocator is not thread-safe under prefork. */
    apr_pool_t *tp;
    if (apr_pool_create_unmanaged(&tp) != APR_SUCCESS)
        return NULL;
    cx_http_pool *hp = cx_http_pool_create(tp);
    for (;;) {
        void *v = NULL;
        apr_status_t rv = apr_queue_pop(B.queue, &v);
        if (rv == APR_EINTR)
            continue;
        if (rv != APR_SUCCESS)
            break;   /* APR_EOF: the child is exiting */
        alert_job_t *job = v;
        apr_pool_t *jp;
        apr_pool_create(&jp, tp);
        if (job->provider)
            record_breaker(jp, job);
        else
            send_job(jp, hp, job);
        apr_pool_destroy(jp);
        free_job(job);
    }
    apr_pool_destroy(tp);
    return NULL;
}

static apr_status_t stop_sender(void *data)
{
    B.stopping = 1;
    if (B.queue)
        apr_queue_term(B.queue);
    if (B.thread) {
        apr_status_t trv;
        apr_thread_join(&trv, B.thread);
    }
    B.thread = NULL;
    B.queue = NULL;
    if (B.snap) {
        apr_pool_destroy(B.snap->pool);
        B.snap = NULL;
    }
    return APR_SUCCESS;
}

static void budget_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_pool_t *pool = conduix_child_pool(pchild);
    B.server = s;
    B.snap = NULL;
    B.loading = 0;
    B.stopping = 0;
    apr_thread_mutex_create(&B.lock, APR_THREAD_MUTEX_DEFAULT, pool);
    if (apr_queue_create(&B.queue, ALERT_QUEUE_SIZE, pool) != APR_SUCCESS) {
        B.queue = NULL;
        return;
    }
    apr_status_t rv = apr_thread_create(&B.thread, NULL, alert_sender, NULL, pool);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, "CX0725: no budget alert thread in this child: "
                     "alerts cannot be sent");
        B.thread = NULL;
        return;
    }
    /* Registered after the thread exists, so it runs before the pool frees what
     * the thread uses; a pre-cleanup, so it also runs before its subpools (the
     * database pool the breaker reports use) are destroyed. */
    apr_pool_pre_cleanup_register(pool, NULL, stop_sender);
}

void conduix_budget_register_hooks(apr_pool_t *p)
{
    ap_hook_child_init(budget_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    /* After mod_conduix's own log_transaction (APR_HOOK_MIDDLE) wrote the row. */
    ap_hook_log_transaction(budget_log_transaction, NULL, NULL, APR_HOOK_LAST);
}
