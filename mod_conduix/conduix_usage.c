/* Usage recording after the response. A row goes to the database in one transaction
 * with its ledger debit; when the database cannot take it, the row is spooled to disk
 * (never dropped) and replayed by the first child that finds the database healthy
 * again. Replays are idempotent: usage_events.request_id is unique.
 *
 * The request thread does not wait for the database: log_transaction copies the row
 * into this child's queue and returns, and one writer thread per child drains the
 * queue in batches, one transaction per batch (every row still with its own balance
 * update and ledger debit, all or nothing), so a busy child pays one commit and one
 * log flush for many rows and a keep-alive client's next request is read at once.
 * A batch the database refuses is retried row by row, so one bad row cannot sink
 * the others; rows the database cannot take are spooled. A full queue (the database
 * slower than the traffic) makes the request thread write its own row: back-pressure,
 * never loss. At child exit the queue is drained before the database pool closes. */
#include "mod_conduix.h"
#include "conduix_governance.h"
#include "cx_spool.h"

#include <apr_strings.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>
#include <signal.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

APLOG_USE_MODULE(conduix);

#define QUEUE_MAX 4096      /* rows waiting per child (about 1 MB at most) */
#define BATCH_MAX 256       /* rows per transaction */
/* The writer lingers up to LINGER for LINGER_ROWS rows before a transaction: fewer,
 * fuller commits (one log flush each) for the same rows. A quiet child writes its row
 * after LINGER at most; the client has its answer already. 50 ms rather than a few:
 * at a request a millisecond or two, a short linger meant a transaction (a dozen
 * round trips to the database) after nearly every request, competing for the CPU
 * with the next one: streamed first events came 60-150 us later (docs/performance.md). */
#define LINGER_ROWS 32
#define LINGER apr_time_from_msec(50)
/* api_keys.last_used_at is set by the first row of a key, then at most this often. */
#define TOUCH_INTERVAL apr_time_from_sec(60)

typedef struct queued_row {
    struct queued_row *next;
    cx_usage_record_t u;    /* its strings live in the same allocation */
} queued_row_t;

struct conduix_usage_queue {
    conduix_runtime_t *rt;
    server_rec *s;
    apr_pool_t *writer_pool;     /* used only by the writer thread */
    cx_touch_memo *touched;      /* keys whose last_used_at the writer set lately; its own */
    cx_db *db;                   /* the writer's connection between batches, or NULL */
    apr_thread_mutex_t *lock;
    apr_thread_cond_t *wake;
    queued_row_t *head, *tail;
    unsigned len;
    int stopping;
    apr_thread_t *thread;
};

/* ------------------------------------------------------------ spool */

static void replay_spool(apr_pool_t *parent, server_rec *s, cx_db *db, const char *dir)
{
    apr_pool_t *p;
    apr_pool_create(&p, parent);
    if (cx_spool_pending(p, dir)) {
        cx_spool_stats_t st;
        apr_status_t rv = cx_spool_replay(p, dir, db, &st);
        ap_log_error(APLOG_MARK, rv == APR_SUCCESS && !st.failed ? APLOG_NOTICE : APLOG_WARNING, rv, s,
                     "CX0403: usage spool replayed: %u recorded, %u already present, "
                     "%u put back, %u unreadable", st.recorded, st.duplicates, st.failed, st.malformed);
    }
    apr_pool_destroy(p);
}

/* The database could not take the row: spool it, or say loudly that it is lost. */
static void spool_row(conduix_runtime_t *rt, apr_pool_t *p, server_rec *s,
                      const cx_usage_record_t *u, const char *err)
{
    const char *dir = conduix_runtime_conf(rt)->spool_dir;
    apr_status_t rv = dir ? cx_spool_append(p, dir, u) : APR_ENOENT;
    if (rv == APR_SUCCESS) {
        conduix_runtime_spool_dirty(rt);
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "[%s] CX0402: database unavailable (%s); usage row spooled to %s",
                     u->request_id, err, dir);
        return;
    }
    ap_log_error(APLOG_MARK, APLOG_ERR, rv, s,
                 "[%s] CX0401: usage row NOT recorded (org %" APR_UINT64_T_FMT ", cost %s): "
                 "database: %s; spool %s failed", u->request_id, (apr_uint64_t)u->org_id,
                 cx_nano_format(p, u->charged_nano), err, dir ? dir : "(none)");
}

/* ------------------------------------------------------------ writing */

/* Rows one at a time, each in its own transaction (the synchronous path, and the
 * retry of a batch the database refused). */
static void write_rows(conduix_runtime_t *rt, apr_pool_t *p, server_rec *s, cx_db *db,
                       const cx_usage_record_t *const *rows, int n)
{
    for (int i = 0; i < n; i++) {
        const char *err = "no database connection";
        int duplicate = 0;
        if (cx_db_ok(db) && cx_store_record_usage(db, rows[i], &duplicate, &err) == 0)
            continue;
        if (db)
            err = apr_pstrdup(p, err);
        spool_row(rt, p, s, rows[i], err);
    }
}

/* Hand the connection back: to the writer's keeping (held) while it is healthy, else to
 * the pool. */
static void done_with(conduix_runtime_t *rt, cx_db *db, cx_db **held)
{
    if (held && db && cx_db_ok(db))
        *held = db;
    else
        conduix_db_release(rt, db);
}

/* held: the writer thread's own connection, kept from one batch to the next (NULL for
 * a request thread writing its own row). One connection prepares the writer's
 * statements once; drawn from the pool for every batch, each pooled connection of the
 * child ended up preparing all of them (a few dozen multi-row statements, megabytes
 * per child in MariaDB's client library). */
static void write_batch(conduix_runtime_t *rt, apr_pool_t *p, server_rec *s,
                        const cx_usage_record_t *const *rows, int n, cx_touch_memo *memo,
                        cx_db **held)
{
    const char *dir = conduix_runtime_conf(rt)->spool_dir;
    cx_db *db = held ? *held : NULL;
    if (held)
        *held = NULL;
    if (db && cx_db_ping(db) != 0) {
        conduix_db_release(rt, db);   /* dropped while idle: the pool replaces it */
        db = NULL;
    }
    if (!db)
        db = conduix_db_acquire(rt, NULL);
    int written = 0;
    if (db) {
        int *duplicate = apr_pcalloc(p, n * sizeof *duplicate);
        const char *err;
        int rv = cx_store_record_usage_batch(db, rows, n, memo, duplicate, &err);
        /* Stale connections (the server restarted): drop each, try a fresh one. */
        for (int retry = 0; rv != 0 && db && !cx_db_ok(db) && retry < CONDUIX_DB_STALE_RETRIES; retry++) {
            conduix_db_release(rt, db);
            db = conduix_db_acquire(rt, NULL);
            rv = db ? cx_store_record_usage_batch(db, rows, n, memo, duplicate, &err) : -1;
            if (!db)
                err = "no database connection";
        }
        if (rv == 0) {
            written = 1;
            if (dir && conduix_runtime_spool_due(rt))
                replay_spool(p, s, db, dir);
        }
        else if (n > 1) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         "CX0404: a batch of %d usage rows failed (%s); writing them one by one",
                         n, err);
        }
    }
    if (!written)
        write_rows(rt, p, s, db, rows, n);
    /* Written or spooled: either way no longer pending. A spooled charge reaches the
     * balance when the spool is replayed; until then (the database is down) it is
     * not seen by a fresh read, as before pending charges were counted. */
    conduix_wallet_pending_settle(p, rows, n);
    done_with(rt, db, held);
}

static void *APR_THREAD_FUNC writer_main(apr_thread_t *thread, void *data)
{
    conduix_usage_queue_t *q = data;
    const cx_usage_record_t *rows[BATCH_MAX];
    queued_row_t *taken[BATCH_MAX];
    for (;;) {
        apr_thread_mutex_lock(q->lock);
        while (!q->head && !q->stopping)
            apr_thread_cond_wait(q->wake, q->lock);
        apr_time_t deadline = apr_time_now() + LINGER;
        while (q->len < LINGER_ROWS && !q->stopping) {
            apr_interval_time_t left = deadline - apr_time_now();
            if (left <= 0)
                break;
            apr_thread_cond_timedwait(q->wake, q->lock, left);
        }
        int n = 0;
        while (q->head && n < BATCH_MAX) {
            queued_row_t *e = q->head;
            q->head = e->next;
            taken[n] = e;
            rows[n] = &e->u;
            n++;
        }
        if (!q->head)
            q->tail = NULL;
        q->len -= n;
        int stop = q->stopping && n == 0;
        apr_thread_mutex_unlock(q->lock);
        if (stop)
            break;
        /* With a pool of one connection (prefork: one thread, one connection), holding
         * it would starve the request thread. */
        int keep = conduix_db_pool_size(q->rt) > 1;
        write_batch(q->rt, q->writer_pool, q->s, rows, n, q->touched, keep ? &q->db : NULL);
        for (int i = 0; i < n; i++)
            free(taken[i]);
        apr_pool_clear(q->writer_pool);
    }
    apr_thread_exit(thread, APR_SUCCESS);
    return NULL;
}

/* One allocation for the row and its strings: the queue owns it, not the request. */
static queued_row_t *copy_row(const cx_usage_record_t *u)
{
    const char *src[] = {u->request_id, u->endpoint, u->requested_model, u->served_model, u->provider};
    size_t lens[5], total = sizeof(queued_row_t);
    for (int i = 0; i < 5; i++) {
        lens[i] = src[i] ? strlen(src[i]) + 1 : 0;
        total += lens[i];
    }
    queued_row_t *e = malloc(total);
    if (!e)
        return NULL;
    e->next = NULL;
    e->u = *u;
    char *at = (char *)(e + 1);
    const char **dst[] = {&e->u.request_id, &e->u.endpoint, &e->u.requested_model,
                          &e->u.served_model, &e->u.provider};
    for (int i = 0; i < 5; i++) {
        if (!src[i]) {
            *dst[i] = NULL;
            continue;
        }
        memcpy(at, src[i], lens[i]);
        *dst[i] = at;
        at += lens[i];
    }
    return e;
}

static int enqueue(conduix_usage_queue_t *q, const cx_usage_record_t *u)
{
    queued_row_t *e = copy_row(u);
    if (!e)
        return 0;
    apr_thread_mutex_lock(q->lock);
    if (q->stopping || q->len >= QUEUE_MAX) {
        apr_thread_mutex_unlock(q->lock);
        free(e);
        return 0;
    }
    if (q->tail)
        q->tail->next = e;
    else
        q->head = e;
    q->tail = e;
    q->len++;
    /* The writer waits for the first row, then for LINGER_ROWS of them. */
    if (q->len == 1 || q->len == LINGER_ROWS)
        apr_thread_cond_signal(q->wake);
    apr_thread_mutex_unlock(q->lock);
    return 1;
}

void conduix_usage_record(conduix_runtime_t *rt, request_rec *r, const cx_usage_record_t *given)
{
    /* The row is dated when its request ended, not when the writer gets to it: the
     * rollups are computed from the same time, so both land in the same hour. */
    cx_usage_record_t row = *given;
    if (row.created_at <= 0)
        row.created_at = apr_time_now();
    const cx_usage_record_t *u = &row;
    /* The charge is owed from now on (recorded or spooled): this child stops spending
     * money the wallet no longer has. */
    if (u->charged_nano > 0) {
        conduix_key_cache_charge(rt, u->org_id, u->charged_nano);
        /* ...and the other children, which read the balance from the database, take
         * it off until the row is there (write_batch settles it). */
        conduix_wallet_pending_add(r->pool, u);
    }
    conduix_usage_queue_t *q = conduix_runtime_usage_queue(rt);
    if (q && enqueue(q, u))
        return;
    const cx_usage_record_t *rows[1] = {u};
    write_batch(rt, r->pool, r->server, rows, 1, NULL, NULL);
}

/* ------------------------------------------------------------ lifecycle */

static apr_status_t queue_stop(void *data)
{
    conduix_usage_queue_t *q = data;
    apr_thread_mutex_lock(q->lock);
    q->stopping = 1;
    apr_thread_cond_signal(q->wake);
    apr_thread_mutex_unlock(q->lock);
    apr_status_t rv;
    apr_thread_join(&rv, q->thread);
    conduix_db_release(q->rt, q->db);   /* before the pool it came from goes */
    q->db = NULL;
    return APR_SUCCESS;
}

conduix_usage_queue_t *conduix_usage_queue_create(apr_pool_t *pool, server_rec *s,
                                                  conduix_runtime_t *rt)
{
    conduix_usage_queue_t *q = apr_pcalloc(pool, sizeof *q);
    q->rt = rt;
    q->s = s;
    apr_status_t rv = apr_pool_create(&q->writer_pool, pool);
    q->touched = cx_touch_memo_create(pool, TOUCH_INTERVAL);
    if (rv == APR_SUCCESS)
        rv = apr_thread_mutex_create(&q->lock, APR_THREAD_MUTEX_DEFAULT, pool);
    if (rv == APR_SUCCESS)
        rv = apr_thread_cond_create(&q->wake, pool);
    if (rv == APR_SUCCESS) {
        /* The writer never handles signals: it is created with all of them blocked,
         * so none meant for the MPM's threads ends up in it. */
        sigset_t all, saved;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &saved);
        rv = apr_thread_create(&q->thread, NULL, writer_main, q, pool);
        pthread_sigmask(SIG_SETMASK, &saved, NULL);
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                     "CX0405: no usage writer thread; request threads write usage rows themselves");
        return NULL;
    }
    /* A pre-cleanup: it runs before its subpools (the database pool among them)
     * are destroyed, so the queue drains into a live database. */
    apr_pool_pre_cleanup_register(pool, q, queue_stop);
    return q;
}
