/* Conduix usage spool: when the database cannot take a usage row (down, failing
 * over), the row is appended to a spool file instead of being lost, and replayed
 * later. Replays are idempotent because usage_events.request_id is unique: a row
 * recorded twice is charged once.
 *
 * Files are "<dir>/usage-<pid>.jsonl", one JSON object per line, appended with
 * O_APPEND. A replayer claims a file by renaming it to "<name>.replay-<pid>" (rename
 * is atomic, so two children never replay the same file), records every line, and
 * writes lines it could not record back into a fresh spool file. */
#ifndef CX_SPOOL_H
#define CX_SPOOL_H

#include <apr_pools.h>
#include "cx_store.h"

/* One record as a single JSON line (with the trailing newline). */
const char *cx_spool_encode(apr_pool_t *p, const cx_usage_record_t *u);

/* Parse a line written by cx_spool_encode; strings are allocated from p. 0 on success. */
int cx_spool_decode(apr_pool_t *p, const char *line, apr_size_t len, cx_usage_record_t *u);

/* Append a record to this process's spool file. APR_SUCCESS or the I/O error. */
apr_status_t cx_spool_append(apr_pool_t *p, const char *dir, const cx_usage_record_t *u);

/* 1 when dir holds spool files waiting for a replay. */
int cx_spool_pending(apr_pool_t *p, const char *dir);

typedef struct {
    unsigned recorded;      /* rows written now */
    unsigned duplicates;    /* rows already present (replayed before) */
    unsigned failed;        /* rows put back for a later replay */
    unsigned malformed;     /* lines that could not be parsed (kept in a .bad file) */
} cx_spool_stats_t;

/* Replay every spool file in dir into db. */
apr_status_t cx_spool_replay(apr_pool_t *p, const char *dir, cx_db *db, cx_spool_stats_t *stats);

#endif
