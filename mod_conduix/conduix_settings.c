/* Per-child cache of org governance settings (the settings table), so a request
 * does not query the database for them. Entries live ConduixKeyCacheTTL seconds,
 * like key records: a change made by an administrator applies within seconds. When
 * the database is unreachable, the last known rows keep serving; an org this child
 * never saw gets the fail-safe values (PII redaction on, swaps off): sending an
 * unredacted prompt because a setting could not be read is the one failure that
 * cannot be undone. */
#include "conduix_governance.h"
#include "cx_govstore.h"

#include <apr_strings.h>
#include <apr_thread_mutex.h>

APLOG_USE_MODULE(conduix);

#define SETTINGS_CACHE_MAX 20000

typedef struct {
    apr_pool_t *pool;
    apr_time_t expires;
    apr_array_header_t *rows;     /* cx_setting_row_t, copied into pool */
} settings_entry_t;

struct conduix_settings_cache {
    apr_thread_mutex_t *lock;
    apr_pool_t *pool;             /* parent of the entries' pools; cleared when full */
    apr_hash_t *orgs;             /* uint64_t org id -> settings_entry_t */
};

conduix_settings_cache_t *conduix_settings_cache_create(apr_pool_t *pool)
{
    conduix_settings_cache_t *c = apr_pcalloc(pool, sizeof *c);
    apr_thread_mutex_create(&c->lock, APR_THREAD_MUTEX_DEFAULT, pool);
    apr_pool_create(&c->pool, pool);
    apr_pool_tag(c->pool, "conduix-settings");
    c->orgs = apr_hash_make(c->pool);
    return c;
}

static apr_array_header_t *copy_rows(apr_pool_t *p, const apr_array_header_t *rows)
{
    apr_array_header_t *out = apr_array_make(p, rows->nelts + 1, sizeof(cx_setting_row_t));
    for (int i = 0; i < rows->nelts; i++) {
        const cx_setting_row_t *s = &APR_ARRAY_IDX(rows, i, cx_setting_row_t);
        cx_setting_row_t *d = apr_array_push(out);
        d->name = s->name ? apr_pstrdup(p, s->name) : NULL;
        d->value = s->value ? apr_pstrdup(p, s->value) : NULL;
    }
    return out;
}

static void apply_rows(request_rec *r, uint64_t org_id, const apr_array_header_t *rows,
                       cx_org_settings_t *out)
{
    cx_org_settings_init(r->pool, out);
    for (int i = 0; i < rows->nelts; i++) {
        const cx_setting_row_t *s = &APR_ARRAY_IDX(rows, i, cx_setting_row_t);
        const char *why = cx_org_settings_apply(r->pool, out, s->name, s->value);
        if (why)
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                          "[%s] CX0510: org %" APR_UINT64_T_FMT ": %s",
                          conduix_req(r)->request_id, (apr_uint64_t)org_id, why);
    }
}

/* A copy of the cached rows (fresh ones when fresh_only), or NULL. */
static apr_array_header_t *cached(conduix_settings_cache_t *c, request_rec *r, uint64_t org_id,
                                  int fresh_only)
{
    apr_array_header_t *rows = NULL;
    apr_thread_mutex_lock(c->lock);
    settings_entry_t *e = apr_hash_get(c->orgs, &org_id, sizeof org_id);
    if (e && (!fresh_only || e->expires > apr_time_now()))
        rows = copy_rows(r->pool, e->rows);
    apr_thread_mutex_unlock(c->lock);
    return rows;
}

static void store(conduix_settings_cache_t *c, uint64_t org_id, const apr_array_header_t *rows,
                  int ttl)
{
    apr_thread_mutex_lock(c->lock);
    settings_entry_t *old = apr_hash_get(c->orgs, &org_id, sizeof org_id);
    if (old) {
        apr_hash_set(c->orgs, &org_id, sizeof org_id, NULL);
        apr_pool_destroy(old->pool);
    }
    else if (apr_hash_count(c->orgs) >= SETTINGS_CACHE_MAX) {
        /* Bounded memory: start over rather than track recency per entry. */
        apr_pool_clear(c->pool);
        c->orgs = apr_hash_make(c->pool);
    }
    apr_pool_t *ep;
    apr_pool_create(&ep, c->pool);
    settings_entry_t *e = apr_palloc(ep, sizeof *e);
    e->pool = ep;
    e->expires = apr_time_now() + apr_time_from_sec(ttl);
    e->rows = copy_rows(ep, rows);
    apr_hash_set(c->orgs, apr_pmemdup(ep, &org_id, sizeof org_id), sizeof org_id, e);
    apr_thread_mutex_unlock(c->lock);
}

int conduix_org_settings(conduix_runtime_t *rt, request_rec *r, uint64_t org_id,
                         cx_org_settings_t *out)
{
    conduix_settings_cache_t *c = conduix_runtime_settings(rt);
    int ttl = conduix_conf_int(conduix_runtime_conf(rt)->key_cache_ttl, CONDUIX_DEFAULT_KEY_CACHE_TTL);
    apr_array_header_t *rows = ttl > 0 ? cached(c, r, org_id, 1) : NULL;
    if (rows) {
        apply_rows(r, org_id, rows, out);
        return 1;
    }
    cx_db *db = conduix_db_acquire(rt, r);
    int rv = db ? cx_store_org_settings(db, r->pool, org_id, &rows) : -1;
    if (rv && db)
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "[%s] CX0511: reading org settings failed: %s",
                      conduix_req(r)->request_id, cx_db_error(db));
    conduix_db_release(rt, db);
    if (rv == 0) {
        if (ttl > 0)
            store(c, org_id, rows, ttl);
        apply_rows(r, org_id, rows, out);
        return 1;
    }
    rows = cached(c, r, org_id, 0);
    if (rows) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "[%s] CX0512: database unavailable; using "
                      "this child's last known settings of org %" APR_UINT64_T_FMT,
                      conduix_req(r)->request_id, (apr_uint64_t)org_id);
        apply_rows(r, org_id, rows, out);
        return 1;
    }
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "[%s] CX0513: database unavailable and org %"
                  APR_UINT64_T_FMT " settings unknown: redacting PII, no swaps",
                  conduix_req(r)->request_id, (apr_uint64_t)org_id);
    cx_org_settings_init(r->pool, out);
    out->pii_default = 1;
    out->swaps_enabled = 0;
    return 0;
}
