/* Conduix audit trail: append-only org events (key mints, policy edits, revocations,
 * refused requests, ...) with who did it, from where and under which request id.
 * Shared by mod_conduix (GET /v1/account/audit, key changes made with an API key)
 * and the dashboard (changes made by a signed-in user, the audit page and export). */
#ifndef CX_AUDIT_H
#define CX_AUDIT_H

#include <stdint.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include "cx_store.h"

/* Who made a change. */
typedef struct {
    const char *type;         /* user | key | system | operator */
    uint64_t id;              /* user or key id; 0 = none */
    const char *label;        /* e-mail, key prefix and name, ... */
    const char *ip;
    const char *request_id;
} cx_audit_actor_t;

/* Append one event. detail_json may be NULL. 0 or -1 (cx_db_error). */
int cx_audit_record(cx_db *db, uint64_t org_id, const cx_audit_actor_t *actor,
                    const char *action, const char *target, const char *detail_json);

typedef struct {
    uint64_t org_id;
    const char *from;         /* inclusive; "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SSZ"; NULL = any */
    const char *to;           /* exclusive; NULL = any */
    const char *action;       /* exact action, or "key.*" for a family; NULL = any */
    const char *request_id;   /* NULL = any */
    uint64_t after_id;        /* cursor: entries with a larger id */
    int limit;                /* 1..1000 */
} cx_audit_filter_t;

typedef struct {
    uint64_t id;
    const char *created_at;   /* "2026-11-21T13:05:09.123456Z" */
    const char *actor_type;
    uint64_t actor_id;        /* 0 = none */
    const char *actor_label;
    const char *ip;
    const char *request_id;
    const char *action;
    const char *target;
    const char *detail;       /* JSON text or NULL */
} cx_audit_entry_t;

/* NULL when the filter's values are acceptable, else a message naming the field
 * (*param gets the field name). */
const char *cx_audit_filter_check(apr_pool_t *p, const cx_audit_filter_t *f, const char **param);

/* Entries matching f in id order (oldest first), at most f->limit; *has_more when
 * further entries match. 0, or -1 with *err. */
int cx_audit_list(cx_db *db, apr_pool_t *p, const cx_audit_filter_t *f,
                  apr_array_header_t **out /* cx_audit_entry_t */, int *has_more,
                  const char **err);

/* The CSV columns, in order. */
#define CX_AUDIT_CSV_HEADER "id,created_at,actor_type,actor_id,actor_label,ip,request_id,action,target,detail"

/* RFC 4180 CSV (CRLF line ends) of entries, with the header line when header is set.
 * A cell starting with = + - @ (or tab/CR) gets a leading apostrophe so spreadsheet
 * programs do not run it as a formula. */
const char *cx_audit_csv(apr_pool_t *p, const apr_array_header_t *entries, int header);

#endif
