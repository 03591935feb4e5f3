/* Conduix governance in the database: the org settings rows the gateway reads,
 * and the audited changes of key policies and org settings.
 *
 * Every change runs in one transaction with its audit row (actor, IP, request id,
 * before and after values), so a change is never recorded without its audit entry
 * nor the other way round. audit_log itself is append-only (triggers in
 * sql/001_core.sql refuse UPDATE and DELETE). */
#ifndef CX_GOVSTORE_H
#define CX_GOVSTORE_H

#include <stdint.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include "cx_governance.h"
#include "cx_store.h"

/* Who made a change. actor_type is an audit_log.actor_type value: user, key,
 * system or operator. */
typedef struct {
    const char *actor_type;
    uint64_t actor_id;            /* 0 = none */
    const char *actor_label;
    const char *ip;
    const char *request_id;
} cx_actor_t;

typedef struct {
    uint64_t org_id;
    const char *before;           /* stored text, NULL = SQL NULL / unset */
    const char *after;
    int changed;                  /* 0: the value was already that; nothing written */
} cx_change_t;

typedef struct {
    const char *name;
    const char *value;
} cx_setting_row_t;

/* Every settings row of an org (array of cx_setting_row_t). 0 or -1. */
int cx_store_org_settings(cx_db *db, apr_pool_t *p, uint64_t org_id, apr_array_header_t **rows);

/* Set one key field to a value already validated by cx_key_field_validate
 * (NULL = SQL NULL) and audit it as "key.update". Returns 0, 1 when there is no
 * such key, -1 on a database error (*err). */
int cx_store_key_set(cx_db *db, apr_pool_t *p, uint64_t key_id, cx_key_field_t field,
                     const char *value, const cx_actor_t *actor, cx_change_t *change,
                     const char **err);

/* Set (value) or reset to the default (value NULL: the row is deleted) one org
 * setting, validated by cx_org_setting_validate, and audit it as
 * "org.setting.update". Returns 0, 1 when there is no such org, -1 (*err). */
int cx_store_org_setting_set(cx_db *db, apr_pool_t *p, uint64_t org_id, const char *name,
                             const char *value, const cx_actor_t *actor, cx_change_t *change,
                             const char **err);

/* The audit detail document {"field": name, "before": v, "after": v}, where v is
 * the value as JSON: arrays for allowlists and id lists, integers for rate limits,
 * spend caps as credit amounts ("25.000000000", stored in nanocredits), strings
 * otherwise, null when unset. */
const char *cx_audit_change_detail(apr_pool_t *p, const char *field_key, const char *field,
                                   const char *before, const char *after);

#endif
