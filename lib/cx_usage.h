/* Conduix usage analytics: the one set of queries behind /v1/account/usage,
 * /api/usage and the dashboard's usage page, so the three can never disagree.
 * Answers come from rollup tables maintained as usage is recorded (per org, day or
 * hour, model, provider and key); a direct SUM over usage_events gives the same
 * numbers. Times are UTC; from is inclusive, to is exclusive.
 * (Contract shared by the account API and the dashboard: implemented in cx_usage.c.) */
#ifndef CX_USAGE_H
#define CX_USAGE_H

#include <stdint.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include "cx_price.h"
#include "cx_store.h"

typedef enum { CX_BUCKET_NONE = 0, CX_BUCKET_DAY, CX_BUCKET_HOUR } cx_bucket_t;
typedef enum { CX_GROUP_NONE = 0, CX_GROUP_MODEL, CX_GROUP_KEY, CX_GROUP_PROVIDER } cx_group_t;

typedef struct {
    const char *bucket_start;     /* "2026-11-21" or "2026-11-21T13:00:00Z"; NULL without bucket */
    const char *group;            /* model id, provider name or key id as text; NULL without group */
    const char *group_label;      /* key name or provider display name when grouping by them */
    uint64_t requests;
    uint64_t prompt_tokens;
    uint64_t completion_tokens;
    cx_nano_t spend_nano;         /* what the wallet paid (charged) */
    cx_nano_t cost_nano;          /* list cost incl. test keys and cache hits at zero */
} cx_usage_row_t;

typedef struct {
    uint64_t org_id;
    const char *from;             /* "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SSZ" */
    const char *to;
    cx_bucket_t bucket;
    cx_group_t group_by;
    uint64_t key_id;              /* 0 = every key of the org */
} cx_usage_query_t;

/* Rows ordered by bucket then group. Returns 0, or -1 with *err. */
int cx_usage_query(cx_db *db, apr_pool_t *p, const cx_usage_query_t *q,
                   apr_array_header_t **rows /* cx_usage_row_t */, const char **err);

/* Totals over the range (one row, no bucket or group). */
int cx_usage_totals(cx_db *db, apr_pool_t *p, const cx_usage_query_t *q, cx_usage_row_t *out,
                    const char **err);

/* Parse "day"/"hour" and "model"/"key"/"provider"; 0 when unknown. */
int cx_bucket_parse(const char *s, cx_bucket_t *out);
int cx_group_parse(const char *s, cx_group_t *out);

/* ---- additions (the functions above are the contract; these extend it) ---- */

/* Same answer computed only from usage_events, bypassing the rollups: what the
 * rollups are checked against (tests, bench/, conduixctl usage --direct). */
int cx_usage_query_direct(cx_db *db, apr_pool_t *p, const cx_usage_query_t *q,
                          apr_array_header_t **rows /* cx_usage_row_t */, const char **err);

/* Add n usage rows (all just inserted; now stands for a created_at of 0) to the rollups.
 * Called by cx_store_record_usage and cx_store_record_usage_batch inside the
 * transaction that inserts the rows, so both commit or neither. The rows are summed
 * in memory by each rollup's key and every rollup gets one multi-row upsert: a batch
 * of one key, model and hour costs three one-row statements, whatever its size. */
int cx_usage_rollup_add(cx_db *db, const cx_usage_record_t *const *u, int n, apr_time_t now);

/* The DATETIME(6) text of t ("2026-11-21 13:05:09.123456", UTC), the text the usage
 * row is stored with, and the hour and day it is rolled up under. */
void cx_usage_time_labels(apr_time_t t, char datetime[27], char hour[20], char day[11]);

/* Recompute the rollups of org_id (0 = every organization) from usage_events, in one
 * transaction: for repairs, and to build rollups for rows loaded in bulk (bench/).
 * 0 or -1 (cx_db_error). */
int cx_usage_rollup_rebuild(cx_db *db, uint64_t org_id);

/* Parse "YYYY-MM-DD" (midnight UTC) or "YYYY-MM-DDTHH:MM:SS[Z]" (UTC; a space may
 * replace the T) into seconds since the epoch. 1 when valid. *date_only tells which
 * form it was (may be NULL). */
int cx_usage_parse_time(const char *s, long long *epoch, int *date_only);
/* "YYYY-MM-DDTHH:MM:SSZ" for epoch seconds, from p. */
const char *cx_usage_format_time(apr_pool_t *p, long long epoch);

/* One recorded request, as /v1/account/usage/{request_id} reports it. */
typedef struct {
    const char *request_id;
    const char *created_at;       /* "2026-11-21T13:05:09.123456Z" */
    uint64_t key_id;
    const char *key_name;
    const char *mode;             /* live | test */
    const char *endpoint;
    const char *requested_model;
    const char *served_model;     /* NULL when nothing served */
    const char *provider;
    int status;
    int stream;
    int fallback;
    int cache_hit;
    uint64_t prompt_tokens;
    uint64_t completion_tokens;
    cx_nano_t cost_nano;
    cx_nano_t charged_nano;
    uint64_t latency_ms;
} cx_usage_event_t;

/* 1 found (in org_id), 0 not recorded (yet), -1 database error with *err. */
int cx_usage_lookup(cx_db *db, apr_pool_t *p, uint64_t org_id, const char *request_id,
                    cx_usage_event_t *out, const char **err);

#endif
