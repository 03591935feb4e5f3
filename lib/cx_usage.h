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

#endif
