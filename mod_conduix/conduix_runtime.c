/* mod_conduix per-child runtime: database connection pool, catalog snapshots, the
 * key lookup cache and the upstream handle pool. Created in child_init from the
 * child's pool, never inherited across fork; every structure is thread-safe for the
 * event and worker MPMs. */
#include "mod_conduix.h"

#include <ap_mpm.h>
#include <apr_reslist.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <string.h>

APLOG_USE_MODULE(conduix);

/* A catalog snapshot lives in its own pool. Requests hold a reference; a newer
 * snapshot replaces it and the old one is destroyed when the last holder lets go. */
typedef struct catalog_ref {
    apr_pool_t *pool;
    cx_catalog_t *catalog;
    apr_time_t loaded;
    int holders;
    int retired;
    /* Credentials resolved for catalog providers (env:/file:), by name. */
    apr_hash_t *credentials;
    /* Key allowlists compiled against this snapshot, by their JSON text: compiling
     * one (a JSON parse and a catalog lookup per entry) on every request cost more
     * than any other governance check. They live and die with the snapshot. */
    apr_hash_t *allowlists;
} catalog_ref_t;

#define ALLOWLIST_CACHE_MAX 4096   /* distinct allowlists per snapshot; more compile per request */

/* Cached key lookups, keyed by the key's SHA-256. Each entry owns a subpool so a
 * refresh frees the previous copy; readers copy out under the lock. */
typedef struct {
    apr_pool_t *pool;
    apr_time_t expires;
    int found;
    cx_key_record_t rec;
    cx_nano_t org_charged_at_read;   /* the org's org_charge_t.charged when rec was read */
} key_entry_t;

/* What this child has charged an org since its key entries were read: a cached key
 * record's balance is lowered by the growth of this figure, so the child does not
 * keep spending money it already spent before the entry expires. One entry per org
 * (not a walk over every cached key per charge). Lives in keys_pool with the keys. */
typedef struct {
    uint64_t org_id;
    cx_nano_t charged;
} org_charge_t;

#define KEY_CACHE_MAX 20000

struct conduix_runtime {
    apr_pool_t *pool;
    server_rec *server;
    conduix_server_conf_t *conf;
    apr_reslist_t *dbs;
    /* Two locks, not one: every request takes each once or twice, and with 16 or
     * more threads per child one lock for both was the most contended in the child. */
    apr_thread_mutex_t *catalog_lock;   /* guards the catalog snapshots and their caches */
    apr_thread_mutex_t *keys_lock;      /* guards the key cache and the spool schedule */
    catalog_ref_t *catalog;
    int catalog_loading;
    apr_hash_t *keys;                   /* hash bytes -> key_entry_t */
    apr_hash_t *org_charges;            /* org id -> org_charge_t, in keys_pool */
    int db_max;                         /* connections the pool may hold */
    apr_pool_t *keys_pool;
    cx_http_pool *http;
    apr_time_t spool_next_check;        /* guarded by lock */
    struct conduix_settings_cache *settings;   /* org governance settings */
    conduix_usage_queue_t *usage_queue; /* NULL: request threads write usage rows */
};

/* ------------------------------------------------------------ database pool */

static apr_status_t db_construct(void **resource, void *params, apr_pool_t *pool)
{
    conduix_runtime_t *rt = params;
    const char *err;
    apr_pool_t *p;
    apr_pool_create(&p, pool);
    cx_db *db = cx_db_open(p, rt->conf->dsn, &err);
    if (!db) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, rt->server, "CX0101: %s", err);
        apr_pool_destroy(p);
        return APR_EGENERAL;
    }
    *resource = db;
    return APR_SUCCESS;
}

static apr_status_t db_destruct(void *resource, void *params, apr_pool_t *pool)
{
    cx_db_close(resource);
    return APR_SUCCESS;
}

/* How many pooled connections one acquire may find dead (after a database restart
 * every idle connection of the pool is) before it gives up. */
#define DB_ACQUIRE_TRIES 8

cx_db *conduix_db_acquire(conduix_runtime_t *rt, request_rec *r)
{
    void *res = NULL;
    if (!rt->dbs)
        return NULL;
    for (int i = 0; i < DB_ACQUIRE_TRIES; i++) {
        apr_status_t rv = apr_reslist_acquire(rt->dbs, &res);
        if (rv != APR_SUCCESS) {
            /* r is NULL when the usage writer thread asks. */
            if (r)
                ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, "CX0102: no database connection available");
            else
                ap_log_error(APLOG_MARK, APLOG_ERR, rv, rt->server, "CX0102: no database connection available");
            return NULL;
        }
        cx_db *db = res;
        /* Check on acquire, as mod_dbd does: a connection the server dropped (restart,
         * failover, wait_timeout) is replaced here rather than failing the request
         * that drew it from the pool. */
        if (cx_db_ping(db) == 0)
            return db;
        apr_reslist_invalidate(rt->dbs, db);
    }
    if (r)
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "CX0104: every pooled database connection was dead");
    else
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, rt->server, "CX0104: every pooled database connection was dead");
    return NULL;
}

int conduix_db_pool_size(conduix_runtime_t *rt)
{
    return rt->db_max;
}

void conduix_db_release(conduix_runtime_t *rt, cx_db *db)
{
    if (!db)
        return;
    if (cx_db_ok(db))
        apr_reslist_release(rt->dbs, db);
    else
        apr_reslist_invalidate(rt->dbs, db);
}

/* ------------------------------------------------------------ catalog */

static void catalog_unref_locked(conduix_runtime_t *rt, catalog_ref_t *ref)
{
    ref->holders--;
    if (ref->retired && ref->holders == 0)
        apr_pool_destroy(ref->pool);
}

typedef struct {
    conduix_runtime_t *rt;
    catalog_ref_t *ref;
} catalog_hold_t;

static apr_status_t catalog_hold_release(void *data)
{
    catalog_hold_t *h = data;
    apr_thread_mutex_lock(h->rt->catalog_lock);
    catalog_unref_locked(h->rt, h->ref);
    apr_thread_mutex_unlock(h->rt->catalog_lock);
    return APR_SUCCESS;
}

static catalog_ref_t *catalog_load(conduix_runtime_t *rt, request_rec *r)
{
    cx_db *db = conduix_db_acquire(rt, r);
    if (!db)
        return NULL;
    apr_pool_t *p;
    apr_pool_create(&p, rt->pool);
    apr_pool_tag(p, "conduix-catalog");
    cx_catalog_t *cat;
    const char *err;
    if (cx_store_load_catalog(db, p, &cat, &err)) {
        conduix_db_release(rt, db);
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, rt->server, "CX0110: %s", err);
        apr_pool_destroy(p);
        return NULL;
    }
    conduix_db_release(rt, db);
    catalog_ref_t *ref = apr_pcalloc(p, sizeof *ref);
    ref->pool = p;
    ref->catalog = cat;
    ref->loaded = apr_time_now();
    ref->credentials = apr_hash_make(p);
    ref->allowlists = apr_hash_make(p);
    for (apr_hash_index_t *hi = apr_hash_first(p, cat->providers); hi; hi = apr_hash_next(hi)) {
        const void *name;
        void *v;
        apr_hash_this(hi, &name, NULL, &v);
        const cx_provider_t *prov = v;
        const char *cred = NULL;
        const char *cerr = conduix_resolve_credential(p, prov->credential_ref, &cred);
        if (cerr)
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, rt->server, "CX0111: provider %s: %s",
                         prov->name, cerr);
        if (cred)
            apr_hash_set(ref->credentials, name, APR_HASH_KEY_STRING, cred);
    }
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, rt->server, "CX0112: catalog loaded: %d models",
                 cat->model_list->nelts);
    return ref;
}

const cx_catalog_t *conduix_catalog(conduix_runtime_t *rt, request_rec *r)
{
    apr_time_t refresh = apr_time_from_sec(conduix_conf_int(rt->conf->catalog_refresh,
                                                            CONDUIX_DEFAULT_CATALOG_REFRESH));
    catalog_ref_t *ref = NULL;
    apr_thread_mutex_lock(rt->catalog_lock);
    int need = !rt->catalog || (!rt->catalog_loading && apr_time_now() - rt->catalog->loaded > refresh);
    if (need) {
        rt->catalog_loading = 1;
    }
    else {
        ref = rt->catalog;     /* the usual case: one lock section per request */
        ref->holders++;
    }
    apr_thread_mutex_unlock(rt->catalog_lock);

    if (need) {
        /* Loaded outside the lock: other requests keep using the current snapshot. */
        catalog_ref_t *fresh = catalog_load(rt, r);
        apr_thread_mutex_lock(rt->catalog_lock);
        rt->catalog_loading = 0;
        if (fresh) {
            catalog_ref_t *old = rt->catalog;
            rt->catalog = fresh;
            fresh->holders = 1;   /* the runtime's own reference */
            if (old) {
                old->retired = 1;
                catalog_unref_locked(rt, old);
            }
        }
        else if (rt->catalog) {
            /* Keep serving the old snapshot; try again after another interval. */
            rt->catalog->loaded = apr_time_now();
        }
        ref = rt->catalog;
        if (ref)
            ref->holders++;
        apr_thread_mutex_unlock(rt->catalog_lock);
    }
    if (!ref)
        return NULL;
    catalog_hold_t *hold = apr_palloc(r->pool, sizeof *hold);
    hold->rt = rt;
    hold->ref = ref;
    apr_pool_cleanup_register(r->pool, hold, catalog_hold_release, apr_pool_cleanup_null);
    apr_table_setn(r->notes, "conduix-catalog", (const char *)ref);
    return ref->catalog;
}

int conduix_allowlist(conduix_runtime_t *rt, request_rec *r, const cx_catalog_t *cat,
                      const char *json_text, cx_allowlist_t **out, const char **err)
{
    /* Compiled in the request first: a malformed list (an error message) and the
     * lists that admit everything (NULL) are not worth keeping. */
    catalog_ref_t *ref = (catalog_ref_t *)apr_table_get(r->notes, "conduix-catalog");
    if (!json_text || !ref || ref->catalog != cat)
        return cx_allowlist_compile(r->pool, json_text, cat, out, err);
    apr_thread_mutex_lock(rt->catalog_lock);
    cx_allowlist_t *al = apr_hash_get(ref->allowlists, json_text, APR_HASH_KEY_STRING);
    apr_thread_mutex_unlock(rt->catalog_lock);
    if (al) {
        *out = al;
        return 0;
    }
    int rv = cx_allowlist_compile(r->pool, json_text, cat, out, err);
    if (rv != 0 || !*out)
        return rv;
    apr_thread_mutex_lock(rt->catalog_lock);
    if (!apr_hash_get(ref->allowlists, json_text, APR_HASH_KEY_STRING) &&
        apr_hash_count(ref->allowlists) < ALLOWLIST_CACHE_MAX) {
        const char *unused;
        cx_allowlist_t *kept = NULL;
        /* The snapshot's pool is shared by this child's threads: only under the lock. */
        if (cx_allowlist_compile(ref->pool, json_text, cat, &kept, &unused) == 0 && kept)
            apr_hash_set(ref->allowlists, apr_pstrdup(ref->pool, json_text), APR_HASH_KEY_STRING, kept);
    }
    apr_thread_mutex_unlock(rt->catalog_lock);
    return 0;
}

void conduix_provider_endpoint(conduix_runtime_t *rt, const cx_provider_t *prov,
                               const char **base_url, const char **credential)
{
    const conduix_provider_conf_t *pc = apr_hash_get(rt->conf->providers, prov->name,
                                                     APR_HASH_KEY_STRING);
    *base_url = (pc && pc->base_url) ? pc->base_url : prov->base_url;
    *credential = pc ? pc->credential : NULL;
    if (!*credential) {
        apr_thread_mutex_lock(rt->catalog_lock);
        if (rt->catalog)
            *credential = apr_hash_get(rt->catalog->credentials, prov->name, APR_HASH_KEY_STRING);
        apr_thread_mutex_unlock(rt->catalog_lock);
    }
}

/* ------------------------------------------------------------ keys */

static void copy_record(apr_pool_t *p, const cx_key_record_t *src, cx_key_record_t *dst)
{
    *dst = *src;
    dst->name = src->name ? apr_pstrdup(p, src->name) : NULL;
    dst->scopes = src->scopes ? apr_pstrdup(p, src->scopes) : NULL;
    dst->allowed_models = src->allowed_models ? apr_pstrdup(p, src->allowed_models) : NULL;
    dst->region = src->region ? apr_pstrdup(p, src->region) : NULL;
    dst->pii_mode = src->pii_mode ? apr_pstrdup(p, src->pii_mode) : NULL;
    dst->swap_mode = src->swap_mode ? apr_pstrdup(p, src->swap_mode) : NULL;
}

/* Under keys_lock. */
static org_charge_t *org_charge(conduix_runtime_t *rt, uint64_t org_id, int create)
{
    org_charge_t *c = apr_hash_get(rt->org_charges, &org_id, sizeof org_id);
    if (!c && create) {
        c = apr_pcalloc(rt->keys_pool, sizeof *c);
        c->org_id = org_id;
        apr_hash_set(rt->org_charges, &c->org_id, sizeof c->org_id, c);
    }
    return c;
}

/* Under keys_lock: the entry's record with the balance net of this child's charges. */
static void copy_entry(conduix_runtime_t *rt, apr_pool_t *p, const key_entry_t *e, cx_key_record_t *out)
{
    copy_record(p, &e->rec, out);
    const org_charge_t *c = org_charge(rt, e->rec.org_id, 0);
    if (c)
        out->org_balance_nano -= c->charged - e->org_charged_at_read;
}

int conduix_key_lookup(conduix_runtime_t *rt, request_rec *r, const char *secret,
                       cx_key_record_t *out)
{
    unsigned char hash[CX_SHA256_LEN];
    cx_key_hash(secret, hash);
    apr_time_t now = apr_time_now();
    int ttl = conduix_conf_int(rt->conf->key_cache_ttl, CONDUIX_DEFAULT_KEY_CACHE_TTL);

    if (ttl > 0) {
        apr_thread_mutex_lock(rt->keys_lock);
        key_entry_t *e = apr_hash_get(rt->keys, hash, CX_SHA256_LEN);
        if (e && e->expires > now) {
            int found = e->found;
            if (found)
                copy_entry(rt, r->pool, e, out);
            apr_thread_mutex_unlock(rt->keys_lock);
            return found;
        }
        apr_thread_mutex_unlock(rt->keys_lock);
    }

    cx_db *db = conduix_db_acquire(rt, r);
    cx_key_record_t rec;
    int found = db ? cx_store_lookup_key(db, r->pool, hash, &rec) : -1;
    /* Pooled connections the server closed (restart, wait_timeout) are only found out
     * by using them: drop each and ask again, until a connection answers. After a
     * restart every idle connection of the pool is stale, hence the bound. */
    for (int retry = 0; found < 0 && db && !cx_db_ok(db) && retry < CONDUIX_DB_STALE_RETRIES; retry++) {
        conduix_db_release(rt, db);
        db = conduix_db_acquire(rt, r);
        found = db ? cx_store_lookup_key(db, r->pool, hash, &rec) : -1;
    }
    if (found < 0 && db)
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "CX0120: key lookup failed: %s", cx_db_error(db));
    conduix_db_release(rt, db);
    if (found < 0) {
        /* The database is unreachable. A key this child has seen keeps working on its
         * last known record (revocations cannot happen while the database is down
         * anyway); usage is spooled and charged when the database is back. */
        int stale = -1;
        apr_thread_mutex_lock(rt->keys_lock);
        key_entry_t *e = apr_hash_get(rt->keys, hash, CX_SHA256_LEN);
        if (e) {
            stale = e->found;
            if (stale)
                copy_entry(rt, r->pool, e, out);
        }
        apr_thread_mutex_unlock(rt->keys_lock);
        if (stale >= 0)
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                          "CX0121: database unavailable; using this child's last known key record");
        return stale;
    }
    if (found)
        *out = rec;

    if (ttl > 0) {
        apr_thread_mutex_lock(rt->keys_lock);
        key_entry_t *old = apr_hash_get(rt->keys, hash, CX_SHA256_LEN);
        if (old) {
            apr_hash_set(rt->keys, hash, CX_SHA256_LEN, NULL);
            apr_pool_destroy(old->pool);
        }
        else if (apr_hash_count(rt->keys) >= KEY_CACHE_MAX) {
            /* Bounded memory: start over rather than track recency per entry. */
            apr_pool_clear(rt->keys_pool);
            rt->keys = apr_hash_make(rt->keys_pool);
            rt->org_charges = apr_hash_make(rt->keys_pool);
        }
        apr_pool_t *ep;
        apr_pool_create(&ep, rt->keys_pool);
        key_entry_t *e = apr_palloc(ep, sizeof *e);
        e->pool = ep;
        e->expires = now + apr_time_from_sec(ttl);
        e->found = found;
        e->org_charged_at_read = 0;
        if (found) {
            copy_record(ep, &rec, &e->rec);
            const org_charge_t *c = org_charge(rt, rec.org_id, 0);
            e->org_charged_at_read = c ? c->charged : 0;
        }
        apr_hash_set(rt->keys, apr_pmemdup(ep, hash, CX_SHA256_LEN), CX_SHA256_LEN, e);
        apr_thread_mutex_unlock(rt->keys_lock);
    }
    return found;
}

void conduix_key_cache_charge(conduix_runtime_t *rt, uint64_t org_id, cx_nano_t amount)
{
    apr_thread_mutex_lock(rt->keys_lock);
    org_charge(rt, org_id, 1)->charged += amount;
    apr_thread_mutex_unlock(rt->keys_lock);
}

conduix_usage_queue_t *conduix_runtime_usage_queue(conduix_runtime_t *rt)
{
    return rt->usage_queue;
}

cx_http_pool *conduix_http_pool(conduix_runtime_t *rt)
{
    return rt->http;
}

struct conduix_settings_cache *conduix_runtime_settings(conduix_runtime_t *rt)
{
    return rt->settings;
}

conduix_server_conf_t *conduix_runtime_conf(conduix_runtime_t *rt)
{
    return rt->conf;
}

#define SPOOL_CHECK_INTERVAL apr_time_from_sec(5)

int conduix_runtime_spool_due(conduix_runtime_t *rt)
{
    apr_time_t now = apr_time_now();
    int due = 0;
    apr_thread_mutex_lock(rt->keys_lock);
    if (now >= rt->spool_next_check) {
        rt->spool_next_check = now + SPOOL_CHECK_INTERVAL;
        due = 1;
    }
    apr_thread_mutex_unlock(rt->keys_lock);
    return due;
}

void conduix_runtime_spool_dirty(conduix_runtime_t *rt)
{
    apr_thread_mutex_lock(rt->keys_lock);
    rt->spool_next_check = 0;
    apr_thread_mutex_unlock(rt->keys_lock);
}

/* ------------------------------------------------------------ lifecycle */

apr_pool_t *conduix_child_pool(apr_pool_t *pchild)
{
    /* child_init hooks run in the child's main thread, before any other thread */
    static apr_pool_t *made_for, *pool;
    if (pool && made_for == pchild)
        return pool;
    apr_allocator_t *allocator;
    apr_thread_mutex_t *mutex;
    if (apr_allocator_create(&allocator) != APR_SUCCESS)
        return pchild;
    apr_pool_create_ex(&pool, pchild, NULL, allocator);
    apr_allocator_owner_set(allocator, pool);
    apr_pool_tag(pool, "conduix_child");
    if (apr_thread_mutex_create(&mutex, APR_THREAD_MUTEX_DEFAULT, pool) == APR_SUCCESS)
        apr_allocator_mutex_set(allocator, mutex);
    made_for = pchild;
    return pool;
}

conduix_runtime_t *conduix_runtime_create(apr_pool_t *pchild, server_rec *s,
                                          conduix_server_conf_t *conf)
{
    apr_pool_t *pool = conduix_child_pool(pchild);
    conduix_runtime_t *rt = apr_pcalloc(pool, sizeof *rt);
    rt->pool = pool;
    rt->server = s;
    rt->conf = conf;
    apr_thread_mutex_create(&rt->catalog_lock, APR_THREAD_MUTEX_DEFAULT, pool);
    apr_thread_mutex_create(&rt->keys_lock, APR_THREAD_MUTEX_DEFAULT, pool);
    apr_pool_create(&rt->keys_pool, pool);
    rt->keys = apr_hash_make(rt->keys_pool);
    rt->org_charges = apr_hash_make(rt->keys_pool);
    rt->http = cx_http_pool_create(pool);
    rt->settings = conduix_settings_cache_create(pool);

    int threads = 1;
    ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads);
    if (threads < 1)
        threads = 1;
    int max = conduix_conf_int(conf->db_pool_max, threads);
    rt->db_max = max;
    if (conf->dsn) {
        /* Connections open lazily (min 0) so a child starts even while the database
         * is down; the pool keeps up to max, one per concurrently busy thread. */
        apr_status_t rv = apr_reslist_create(&rt->dbs, 0, max, max,
                                             apr_time_from_sec(300), db_construct, db_destruct,
                                             rt, pool);
        if (rv != APR_SUCCESS)
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "CX0103: cannot create the database pool");
        else
            apr_reslist_timeout_set(rt->dbs, apr_time_from_sec(10));
    }
    /* Last, so that its exit-time drain runs while the database pool still exists. */
    rt->usage_queue = conduix_usage_queue_create(pool, s, rt);
    return rt;
}
