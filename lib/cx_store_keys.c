#include "cx_store_keys.h"
#include "cx_json.h"
#include "cx_scopes.h"

#include <apr_strings.h>
#include <stdlib.h>
#include <string.h>

#define KEY_COLUMNS                                                                           \
    "SELECT id, org_id, prefix, name, mode, scopes, allowed_models, rate_limit_rpm, pii_mode, " \
    "region, spend_cap_daily_nano, spend_cap_monthly_nano, created_by_user_id, "               \
    "DATE_FORMAT(created_at, '%Y-%m-%dT%H:%i:%s.%fZ'), "                                       \
    "DATE_FORMAT(last_used_at, '%Y-%m-%dT%H:%i:%s.%fZ'), "                                     \
    "DATE_FORMAT(revoked_at, '%Y-%m-%dT%H:%i:%s.%fZ'), swap_mode FROM api_keys "

static int64_t nullable_i64(const char *s)
{
    return s ? strtoll(s, NULL, 10) : -1;
}

static const char *i64_or_null(apr_pool_t *p, int64_t v)
{
    return v < 0 ? NULL : apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)v);
}

static void key_from_row(const char **r, cx_api_key_t *k)
{
    memset(k, 0, sizeof *k);
    k->id = strtoull(r[0], NULL, 10);
    k->org_id = strtoull(r[1], NULL, 10);
    k->prefix = r[2];
    cx_key_policy_t *pol = &k->policy;
    pol->set = CX_KP_EDITABLE | CX_KP_MODE;
    pol->name = r[3];
    pol->mode = r[4] && !strcmp(r[4], "test") ? CX_KEY_TEST : CX_KEY_LIVE;
    pol->scopes = r[5] ? r[5] : "inference";
    pol->allowed_models = r[6];
    pol->rate_limit_rpm = nullable_i64(r[7]);
    pol->pii_mode = r[8] ? r[8] : "inherit";
    pol->region = r[9];
    pol->spend_cap_daily_nano = nullable_i64(r[10]);
    pol->spend_cap_monthly_nano = nullable_i64(r[11]);
    k->created_by_user_id = r[12] ? strtoull(r[12], NULL, 10) : 0;
    k->created_at = r[13];
    k->last_used_at = r[14];
    k->revoked_at = r[15];
    pol->swap_mode = r[16] ? r[16] : "inherit";
}

static cx_keys_rc_t fetch(cx_db *db, apr_pool_t *p, uint64_t org_id, uint64_t key_id, int lock,
                          cx_api_key_t *out, const char **err)
{
    cx_rows_t rows;
    const char *sql = lock ? KEY_COLUMNS "WHERE org_id = ? AND id = ? FOR UPDATE"
                           : KEY_COLUMNS "WHERE org_id = ? AND id = ?";
    if (cx_db_query(db, p, sql, "uu", &rows, org_id, key_id)) {
        *err = apr_pstrdup(p, cx_db_error(db));
        return CX_KEYS_ERROR;
    }
    if (rows.rows->nelts == 0)
        return CX_KEYS_NOT_FOUND;
    key_from_row(APR_ARRAY_IDX(rows.rows, 0, const char **), out);
    return CX_KEYS_OK;
}

cx_keys_rc_t cx_keys_get(cx_db *db, apr_pool_t *p, uint64_t org_id, uint64_t key_id,
                         cx_api_key_t *out, const char **err)
{
    return fetch(db, p, org_id, key_id, 0, out, err);
}

cx_keys_rc_t cx_keys_list(cx_db *db, apr_pool_t *p, uint64_t org_id, uint64_t after_id, int limit,
                          apr_array_header_t **out, int *has_more, const char **err)
{
    cx_rows_t rows;
    *out = apr_array_make(p, limit > 0 ? limit : 1, sizeof(cx_api_key_t));
    *has_more = 0;
    if (limit < 1 || limit > CX_KEYS_PAGE_MAX) {
        *err = "limit must be from 1 to 100";
        return CX_KEYS_ERROR;
    }
    if (cx_db_query(db, p, KEY_COLUMNS "WHERE org_id = ? AND id > ? ORDER BY id LIMIT ?", "uuu",
                    &rows, org_id, after_id, (uint64_t)limit + 1)) {
        *err = apr_pstrdup(p, cx_db_error(db));
        return CX_KEYS_ERROR;
    }
    int n = rows.rows->nelts;
    if (n > limit) {
        *has_more = 1;
        n = limit;
    }
    for (int i = 0; i < n; i++)
        key_from_row(APR_ARRAY_IDX(rows.rows, i, const char **), apr_array_push(*out));
    return CX_KEYS_OK;
}

static const char *audit_detail(apr_pool_t *p, json_t *before, json_t *after)
{
    json_t *d = cx_json_own(p, json_object());
    if (before)
        json_object_set_new(d, "before", before);
    if (after)
        json_object_set_new(d, "after", after);
    return cx_json_dump(p, d, NULL);
}

static const char *target_of(apr_pool_t *p, uint64_t key_id)
{
    return apr_psprintf(p, "key:%" APR_UINT64_T_FMT, (apr_uint64_t)key_id);
}

static cx_keys_rc_t db_fail(cx_db *db, apr_pool_t *p, const char **err)
{
    *err = apr_pstrdup(p, cx_db_error(db));
    cx_db_rollback(db);
    return CX_KEYS_ERROR;
}

cx_keys_rc_t cx_keys_mint(cx_db *db, apr_pool_t *p, uint64_t org_id, const cx_key_policy_t *pol,
                          const char *grantor_scopes, uint64_t created_by_user_id,
                          const cx_audit_actor_t *actor, const char **secret, cx_api_key_t *out,
                          const char **err)
{
    if (grantor_scopes && cx_scopes_missing(p, pol->scopes, grantor_scopes, NULL)) {
        *err = apr_psprintf(p, "scope '%s' cannot be granted by a key that does not hold it",
                            cx_scopes_missing(p, pol->scopes, grantor_scopes, NULL));
        return CX_KEYS_ESCALATION;
    }
    if (cx_key_generate(p, pol->mode, secret) != APR_SUCCESS) {
        *err = "no randomness available to mint a key";
        return CX_KEYS_ERROR;
    }
    unsigned char hash[CX_SHA256_LEN];
    cx_key_hash(*secret, hash);
    uint64_t key_id = 0;
    if (cx_db_begin(db))
        return db_fail(db, p, err);
    if (cx_db_exec(db,
                   "INSERT INTO api_keys (org_id, name, key_hash, prefix, mode, scopes, allowed_models, "
                   "rate_limit_rpm, pii_mode, region, spend_cap_daily_nano, spend_cap_monthly_nano, "
                   "created_by_user_id, swap_mode) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   NULL, &key_id, "usbsssssssssss", org_id, pol->name, (const void *)hash,
                   (size_t)CX_SHA256_LEN, cx_key_display_prefix(p, *secret),
                   pol->mode == CX_KEY_TEST ? "test" : "live", pol->scopes ? pol->scopes : "inference",
                   pol->allowed_models, i64_or_null(p, pol->rate_limit_rpm),
                   pol->pii_mode ? pol->pii_mode : "inherit", pol->region,
                   i64_or_null(p, pol->spend_cap_daily_nano), i64_or_null(p, pol->spend_cap_monthly_nano),
                   created_by_user_id ? apr_psprintf(p, "%" APR_UINT64_T_FMT, (apr_uint64_t)created_by_user_id)
                                      : NULL,
                   pol->swap_mode ? pol->swap_mode : "inherit"))
        return db_fail(db, p, err);
    if (fetch(db, p, org_id, key_id, 0, out, err) != CX_KEYS_OK) {
        cx_db_rollback(db);
        *err = *err ? *err : "the new key vanished";
        return CX_KEYS_ERROR;
    }
    json_t *after = cx_key_policy_json(p, &out->policy, CX_KP_EDITABLE | CX_KP_MODE);
    json_object_set_new(after, "prefix", json_string(out->prefix));
    if (cx_audit_record(db, org_id, actor, "key.create", target_of(p, key_id),
                        audit_detail(p, NULL, after)) ||
        cx_db_commit(db))
        return db_fail(db, p, err);
    return CX_KEYS_OK;
}

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

/* The fields whose values differ between two policies. */
static unsigned changed_fields(const cx_key_policy_t *a, const cx_key_policy_t *b)
{
    unsigned c = 0;
    if (!same_str(a->name, b->name))
        c |= CX_KP_NAME;
    if (!same_str(a->scopes, b->scopes))
        c |= CX_KP_SCOPES;
    if (!same_str(a->allowed_models, b->allowed_models))
        c |= CX_KP_ALLOWED_MODELS;
    if (a->rate_limit_rpm != b->rate_limit_rpm)
        c |= CX_KP_RATE_LIMIT;
    if (!same_str(a->pii_mode, b->pii_mode))
        c |= CX_KP_PII_MODE;
    if (!same_str(a->region, b->region))
        c |= CX_KP_REGION;
    if (!same_str(a->swap_mode, b->swap_mode))
        c |= CX_KP_SWAP_MODE;
    if (a->spend_cap_daily_nano != b->spend_cap_daily_nano)
        c |= CX_KP_SPEND_CAP_DAILY;
    if (a->spend_cap_monthly_nano != b->spend_cap_monthly_nano)
        c |= CX_KP_SPEND_CAP_MONTHLY;
    return c;
}

/* Start a transaction holding the key's row locked, its current state in *before. On
 * anything but CX_KEYS_OK nothing is left open. */
static cx_keys_rc_t begin_on_key(cx_db *db, apr_pool_t *p, uint64_t org_id, uint64_t key_id,
                                 cx_api_key_t *before, const char **err)
{
    if (cx_db_begin(db))
        return db_fail(db, p, err);
    cx_keys_rc_t rc = fetch(db, p, org_id, key_id, 1, before, err);
    if (rc != CX_KEYS_OK)
        cx_db_rollback(db);
    return rc;
}

cx_keys_rc_t cx_keys_update(cx_db *db, apr_pool_t *p, uint64_t org_id, uint64_t key_id,
                            const cx_key_policy_t *patch, const char *grantor_scopes,
                            const cx_audit_actor_t *actor, cx_api_key_t *out, const char **err)
{
    cx_api_key_t before;
    cx_keys_rc_t rc = begin_on_key(db, p, org_id, key_id, &before, err);
    if (rc != CX_KEYS_OK)
        return rc;
    if (before.revoked_at) {
        cx_db_rollback(db);
        *err = "the key is revoked";
        return CX_KEYS_REVOKED;
    }
    cx_key_policy_t after = before.policy;
    unsigned set = patch->set;
    if (set & CX_KP_NAME)
        after.name = patch->name;
    if (set & CX_KP_SCOPES)
        after.scopes = patch->scopes;
    if (set & CX_KP_ALLOWED_MODELS)
        after.allowed_models = patch->allowed_models;
    if (set & CX_KP_RATE_LIMIT)
        after.rate_limit_rpm = patch->rate_limit_rpm;
    if (set & CX_KP_PII_MODE)
        after.pii_mode = patch->pii_mode;
    if (set & CX_KP_REGION)
        after.region = patch->region;
    if (set & CX_KP_SWAP_MODE)
        after.swap_mode = patch->swap_mode;
    if (set & CX_KP_SPEND_CAP_DAILY)
        after.spend_cap_daily_nano = patch->spend_cap_daily_nano;
    if (set & CX_KP_SPEND_CAP_MONTHLY)
        after.spend_cap_monthly_nano = patch->spend_cap_monthly_nano;
    const char *missing = grantor_scopes ? cx_scopes_missing(p, after.scopes, grantor_scopes,
                                                             before.policy.scopes) : NULL;
    if (missing) {
        cx_db_rollback(db);
        *err = apr_psprintf(p, "scope '%s' cannot be granted by a key that does not hold it", missing);
        return CX_KEYS_ESCALATION;
    }
    unsigned changed = changed_fields(&before.policy, &after);
    if (!changed) {
        cx_db_rollback(db);
        *out = before;
        return CX_KEYS_OK;
    }
    if (cx_db_exec(db,
                   "UPDATE api_keys SET name = ?, scopes = ?, allowed_models = ?, rate_limit_rpm = ?, "
                   "pii_mode = ?, region = ?, spend_cap_daily_nano = ?, spend_cap_monthly_nano = ?, "
                   "swap_mode = ? WHERE org_id = ? AND id = ?",
                   NULL, NULL, "sssssssssuu", after.name, after.scopes, after.allowed_models,
                   i64_or_null(p, after.rate_limit_rpm), after.pii_mode, after.region,
                   i64_or_null(p, after.spend_cap_daily_nano),
                   i64_or_null(p, after.spend_cap_monthly_nano), after.swap_mode, org_id, key_id))
        return db_fail(db, p, err);
    const char *detail = audit_detail(p, cx_key_policy_json(p, &before.policy, changed),
                                      cx_key_policy_json(p, &after, changed));
    if (cx_audit_record(db, org_id, actor, "key.update", target_of(p, key_id), detail))
        return db_fail(db, p, err);
    if (fetch(db, p, org_id, key_id, 0, out, err) != CX_KEYS_OK || cx_db_commit(db))
        return db_fail(db, p, err);
    return CX_KEYS_OK;
}

cx_keys_rc_t cx_keys_revoke(cx_db *db, apr_pool_t *p, uint64_t org_id, uint64_t key_id,
                            const cx_audit_actor_t *actor, cx_api_key_t *out, int *already,
                            const char **err)
{
    cx_api_key_t before;
    *already = 0;
    cx_keys_rc_t rc = begin_on_key(db, p, org_id, key_id, &before, err);
    if (rc != CX_KEYS_OK)
        return rc;
    if (before.revoked_at) {
        cx_db_rollback(db);
        *already = 1;
        *out = before;
        return CX_KEYS_OK;
    }
    if (cx_db_exec(db, "UPDATE api_keys SET revoked_at = NOW(6) WHERE org_id = ? AND id = ?", NULL,
                   NULL, "uu", org_id, key_id))
        return db_fail(db, p, err);
    json_t *b = json_pack("{s:b}", "revoked", 0), *a = json_pack("{s:b}", "revoked", 1);
    json_t *d = cx_json_own(p, json_pack("{s:o, s:o, s:s, s:s}", "before", b, "after", a, "prefix",
                                         before.prefix ? before.prefix : "", "name",
                                         before.policy.name ? before.policy.name : ""));
    if (cx_audit_record(db, org_id, actor, "key.revoke", target_of(p, key_id),
                        cx_json_dump(p, d, NULL)) ||
        fetch(db, p, org_id, key_id, 0, out, err) != CX_KEYS_OK || cx_db_commit(db))
        return db_fail(db, p, err);
    return CX_KEYS_OK;
}
