/* Usage recording after the response. A row goes to the database in one transaction
 * with its ledger debit; when the database cannot take it, the row is spooled to disk
 * (never dropped) and replayed by the first child that finds the database healthy
 * again. Replays are idempotent: usage_events.request_id is unique. */
#include "mod_conduix.h"
#include "cx_spool.h"

#include <apr_strings.h>

APLOG_USE_MODULE(conduix);

static void replay_spool(conduix_runtime_t *rt, request_rec *r, cx_db *db, const char *dir)
{
    apr_pool_t *p;
    apr_pool_create(&p, r->pool);
    if (cx_spool_pending(p, dir)) {
        cx_spool_stats_t st;
        apr_status_t rv = cx_spool_replay(p, dir, db, &st);
        ap_log_rerror(APLOG_MARK, rv == APR_SUCCESS && !st.failed ? APLOG_NOTICE : APLOG_WARNING, rv, r,
                      "[%s] CX0403: usage spool replayed: %u recorded, %u already present, "
                      "%u put back, %u unreadable", conduix_req(r)->request_id,
                      st.recorded, st.duplicates, st.failed, st.malformed);
    }
    apr_pool_destroy(p);
}

void conduix_usage_record(conduix_runtime_t *rt, request_rec *r, const cx_usage_record_t *u)
{
    const char *dir = conduix_runtime_conf(rt)->spool_dir;
    const char *err = "no database connection";
    int duplicate = 0;
    cx_db *db = conduix_db_acquire(rt, r);
    if (db && cx_store_record_usage(db, u, &duplicate, &err) == 0) {
        if (!duplicate && u->charged_nano > 0)
            conduix_key_cache_charge(rt, u->org_id, u->charged_nano);
        if (dir && conduix_runtime_spool_due(rt))
            replay_spool(rt, r, db, dir);
        conduix_db_release(rt, db);
        return;
    }
    if (db)
        err = apr_pstrdup(r->pool, err);
    conduix_db_release(rt, db);

    apr_status_t rv = dir ? cx_spool_append(r->pool, dir, u) : APR_ENOENT;
    if (rv == APR_SUCCESS) {
        /* The charge is owed: this child stops spending money the wallet no longer has. */
        if (u->charged_nano > 0)
            conduix_key_cache_charge(rt, u->org_id, u->charged_nano);
        conduix_runtime_spool_dirty(rt);
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "[%s] CX0402: database unavailable (%s); usage row spooled to %s",
                      u->request_id, err, dir);
        return;
    }
    ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                  "[%s] CX0401: usage row NOT recorded (org %" APR_UINT64_T_FMT ", cost %s): "
                  "database: %s; spool %s failed", u->request_id, (apr_uint64_t)u->org_id,
                  cx_nano_format(r->pool, u->charged_nano), err, dir ? dir : "(none)");
}
