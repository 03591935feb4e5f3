/* mod_conduix `shm` shared state backend: one shared memory segment for every
 * child of this httpd, laid out by lib/cx_state_table.c (pointer-free records).
 *
 * Lifecycle, the httpd way (mod_socache_shmcb, mod_slotmem_shm):
 *  - post_config (in the parent, real pass only) creates the segment, anonymous
 *    where the platform has it (else a file in the runtime directory), and formats
 *    it: the lock first, then the table;
 *  - child_init marks the state usable; the segment is inherited.
 *
 * The lock is a process-shared, robust pthread mutex in the segment's first bytes,
 * not an APR global mutex. Every request takes it several times (rate window, cap
 * counters, breaker, cache), each time for a few hundred instructions: an APR global
 * mutex is a thread mutex plus a process lock whose mechanism the `Mutex` directive
 * picks, and Debian's stock `Mutex file:${APACHE_LOCK_DIR} default` makes that an
 * fcntl() lock, two system calls per operation and a sleeping wait under contention.
 * A pthread mutex costs two atomic instructions when uncontended. Robust, because a
 * child may die holding it: the next locker is told, marks it consistent and goes
 * on (see table_lock).
 *
 * Graceful restarts: breakers, spend counters and cached answers must not be
 * forgotten because an operator reloaded the configuration. The segment is
 * therefore allocated from the process pool (which lives as long as the parent)
 * and remembered in that pool's userdata, like mod_slotmem_shm keeps its slots:
 * the next generation's post_config finds it and reuses it as long as
 * the configured size is unchanged. The lock lives in the segment, so it outlives
 * the generation with it: an old child and a new child serving side by side during
 * the graceful overlap take the same lock. */
#include "conduix_resilience.h"
#include "cx_shmlock.h"
#include "cx_state_table.h"

#include <http_core.h>
#include <http_main.h>
#include <util_mutex.h>
#include <apr_shm.h>
#include <apr_strings.h>

APLOG_USE_MODULE(conduix);

/* Versioned: a parent that loaded an earlier mod_conduix kept a differently laid out
 * record (and segment, without the lock) under the old name; a graceful restart into
 * this version starts a segment of its own rather than misreading that one. */
#define KEEP_KEY "conduix-state-shm-2"
/* The segment starts with the lock, padded to a cache line pair so that the table's
 * header does not share a line with it. */
#define LOCK_AREA CX_SHMLOCK_SIZE

/* Lives in the process pool across generations. */
typedef struct {
    apr_shm_t *shm;
    apr_size_t size;                /* of the whole segment, lock area included */
    const char *file;               /* NULL for an anonymous segment */
    int reused;                     /* generations that kept this segment */
} shm_keep_t;

static shm_keep_t *keep;            /* this generation's view */
static cx_state_table *table;
static cx_state state;
static int state_ready;             /* set in child_init */

const cx_state *conduix_shared_state(void)
{
    return state_ready ? &state : NULL;
}

static void *segment_lock(shm_keep_t *k)
{
    return apr_shm_baseaddr_get(k->shm);
}

static void *segment_table(shm_keep_t *k)
{
    return (char *)apr_shm_baseaddr_get(k->shm) + LOCK_AREA;
}

static int table_lock(void *baton)
{
    int recovered = 0;
    int rc = cx_shmlock_lock(baton, &recovered);
    if (recovered)
        /* A child died inside a table operation (a few hundred instructions of plain
         * memory work, so in practice only when it was killed). Whatever entry it was
         * writing may be half-written; the alternative, every child blocked on the
         * lock for good, is worse. Said loudly so an operator can restart if in doubt. */
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, NULL, "CX0809: a child died holding the shared "
                     "state lock; the lock was recovered");
    return rc == 0 ? 0 : -1;
}

static void table_unlock(void *baton)
{
    cx_shmlock_unlock(baton);
}

/* The mutex type "conduix-state" is still registered, though no APR mutex is created
 * from it any more: configurations written for earlier versions (`Mutex …
 * conduix-state`, once documented) keep passing `apachectl configtest`. */
static int state_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    (void)ptemp;
    apr_status_t rv = ap_mutex_register(pconf, "conduix-state", NULL, APR_LOCK_DEFAULT, 0);
    if (rv != APR_SUCCESS) {
        ap_log_perror(APLOG_MARK, APLOG_CRIT, rv, plog,
                      "CX0801: cannot register the conduix-state mutex type");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

static int engine_on_anywhere(server_rec *s)
{
    for (server_rec *vs = s; vs; vs = vs->next) {
        conduix_server_conf_t *conf = ap_get_module_config(vs->module_config, &conduix_module);
        if (conf->engine == 1)
            return 1;
    }
    return 0;
}

static apr_status_t create_segment(server_rec *s, apr_pool_t *pconf, apr_pool_t *pproc,
                                   apr_size_t size, shm_keep_t *k)
{
    apr_status_t rv = apr_shm_create(&k->shm, size, NULL, pproc);
    k->file = NULL;
    if (rv == APR_ENOTIMPL) {
        /* No anonymous shared memory here: a name-based segment in the runtime dir. */
        k->file = ap_runtime_dir_relative(pproc, "conduix-state.shm");
        apr_shm_remove(k->file, pconf);
        rv = apr_shm_create(&k->shm, size, k->file, pproc);
    }
    return rv;
}

static int state_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG)
        return OK;
    state_ready = 0;
    table = NULL;
    if (!engine_on_anywhere(s))
        return OK;
    conduix_server_conf_t *conf = ap_get_module_config(s->module_config, &conduix_module);
    apr_size_t size = (conf->shared_state_size == CONDUIX_UNSET ? CONDUIX_DEFAULT_STATE_SIZE
                                                                : (apr_size_t)conf->shared_state_size)
                      + LOCK_AREA;
    apr_pool_t *pproc = s->process->pool;
    apr_status_t rv;
    void *data = NULL;
    apr_pool_userdata_get(&data, KEEP_KEY, pproc);
    shm_keep_t *k = data;

    if (k && k->shm && k->size == size && cx_state_table_valid(segment_table(k), size - LOCK_AREA)) {
        k->reused++;
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, "CX0802: shared state kept across the restart "
                     "(%" APR_SIZE_T_FMT " bytes, generation %d)", size - LOCK_AREA, k->reused);
    }
    else {
        if (!k) {
            k = apr_pcalloc(pproc, sizeof *k);
            apr_pool_userdata_set(k, KEEP_KEY, apr_pool_cleanup_null, pproc);
        }
        else if (k->shm) {
            /* The size changed: children of the old generation keep their mapping
             * until they exit; the parent lets go of it now. */
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, "CX0803: %s changed from %" APR_SIZE_T_FMT
                         " to %" APR_SIZE_T_FMT " bytes: shared state starts empty", "ConduixSharedStateSize",
                         k->size - LOCK_AREA, size - LOCK_AREA);
            apr_shm_destroy(k->shm);
            k->shm = NULL;
        }
        rv = create_segment(s, pconf, pproc, size, k);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "CX0804: cannot create the shared state "
                         "segment (%" APR_SIZE_T_FMT " bytes)", size);
            k->shm = NULL;
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        k->size = size;
        k->reused = 0;
        int rc = cx_shmlock_init(segment_lock(k));
        if (rc != 0) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rc, s, "CX0807: cannot create the shared state lock");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        if (cx_state_table_format(segment_table(k), size - LOCK_AREA) != 0) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "CX0805: the shared state segment is too small");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        uint32_t nslots, nblocks;
        apr_size_t slot_size, block_size;
        cx_state_table_geometry(size - LOCK_AREA, &nslots, &nblocks, &slot_size, &block_size);
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, "CX0806: shared state: %" APR_SIZE_T_FMT " bytes "
                     "%s, %u slots of %" APR_SIZE_T_FMT " bytes, %u value blocks of %" APR_SIZE_T_FMT
                     " bytes", size - LOCK_AREA, k->file ? k->file : "anonymous", nslots, slot_size, nblocks,
                     block_size);
    }

    keep = k;
    table = cx_state_table_attach(pconf, segment_table(k), size - LOCK_AREA, table_lock, table_unlock,
                                  segment_lock(k));
    if (!table) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "CX0808: the shared state segment is not valid");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (k->reused)
        cx_state_table_note_reuse(table);
    state.ops = &cx_state_table_ops;
    state.inst = table;
    return OK;
}

static void state_child_init(apr_pool_t *pchild, server_rec *s)
{
    (void)pchild;
    (void)s;
    if (!keep || !table)
        return;
    state_ready = 1;
}

void conduix_state_register_hooks(apr_pool_t *p)
{
    ap_hook_pre_config(state_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(state_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    /* Before the other child_init hooks, which may already use the state. */
    ap_hook_child_init(state_child_init, NULL, NULL, APR_HOOK_FIRST);
}
