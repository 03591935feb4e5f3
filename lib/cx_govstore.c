#include "cx_govstore.h"
#include "cx_json.h"
#include "cx_spendcap.h"

#include <apr_strings.h>
#include <stdlib.h>
#include <string.h>

#define ROW(result, i) APR_ARRAY_IDX((result).rows, (i), const char **)

int cx_store_org_settings(cx_db *db, apr_pool_t *p, uint64_t org_id, apr_array_header_t **rows)
{
    cx_rows_t r;
    *rows = apr_array_make(p, 4, sizeof(cx_setting_row_t));
    if (cx_db_query(db, p, "SELECT name, value FROM settings WHERE org_id = ?", "u", &r, org_id))
        return -1;
    for (int i = 0; i < r.rows->nelts; i++) {
        cx_setting_row_t *s = apr_array_push(*rows);
        s->name = ROW(r, i)[0];
        s->value = ROW(r, i)[1];
    }
    return 0;
}

static json_t *typed_value(apr_pool_t *p, const char *field, const char *v)
{
    if (!v)
        return json_null();
    if (!strcmp(field, "allowed_models") || !strcmp(field, CX_SETTING_SWAP_NEVER_FROM) ||
        !strcmp(field, CX_SETTING_SWAP_NEVER_TO)) {
        json_t *j = json_loads(v, 0, NULL);
        if (j)
            return j;
    }
    if (!strcmp(field, "spend_cap_daily") || !strcmp(field, "spend_cap_monthly")) {
        /* Stored in nanocredits, audited in credits as the keys API shows them. */
        int malformed;
        cx_nano_t nano = cx_cap_parse_stored(v, &malformed);
        if (!malformed)
            return json_string(cx_nano_format(p, nano));
    }
    if (!strcmp(field, "rate_limit")) {
        char *end;
        long long n = strtoll(v, &end, 10);
        if (*v && !*end)
            return json_integer(n);
    }
    return json_string(v);
}

const char *cx_audit_change_detail(apr_pool_t *p, const char *field_key, const char *field,
                                   const char *before, const char *after)
{
    json_t *doc = cx_json_own(p, json_object());
    json_object_set_new(doc, field_key, json_string(field));
    json_object_set_new(doc, "before", typed_value(p, field, before));
    json_object_set_new(doc, "after", typed_value(p, field, after));
    return cx_json_dump(p, doc, NULL);
}

static int same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static int audit(cx_db *db, apr_pool_t *p, uint64_t org_id, const cx_actor_t *actor,
                 const char *action, const char *target, const char *detail)
{
    return cx_store_audit(db, org_id, actor->actor_type ? actor->actor_type : "system",
                          actor->actor_id, actor->actor_label, actor->ip, actor->request_id,
                          action, target, detail);
}

/* Column names cannot be statement parameters, so each field has its own fixed
 * statements (never text built from input). */
static const struct {
    const char *select;
    const char *update;
} key_sql[CX_KEY_FIELD__COUNT] = {
    [CX_KEY_FIELD_ALLOWED_MODELS] = {
        "SELECT org_id, allowed_models FROM api_keys WHERE id = ? FOR UPDATE",
        "UPDATE api_keys SET allowed_models = ? WHERE id = ?" },
    [CX_KEY_FIELD_RATE_LIMIT] = {
        "SELECT org_id, rate_limit_rpm FROM api_keys WHERE id = ? FOR UPDATE",
        "UPDATE api_keys SET rate_limit_rpm = ? WHERE id = ?" },
    [CX_KEY_FIELD_REGION] = {
        "SELECT org_id, region FROM api_keys WHERE id = ? FOR UPDATE",
        "UPDATE api_keys SET region = ? WHERE id = ?" },
    [CX_KEY_FIELD_PII_MODE] = {
        "SELECT org_id, pii_mode FROM api_keys WHERE id = ? FOR UPDATE",
        "UPDATE api_keys SET pii_mode = ? WHERE id = ?" },
    [CX_KEY_FIELD_SWAP_MODE] = {
        "SELECT org_id, swap_mode FROM api_keys WHERE id = ? FOR UPDATE",
        "UPDATE api_keys SET swap_mode = ? WHERE id = ?" },
    [CX_KEY_FIELD_SPEND_CAP_DAILY] = {
        "SELECT org_id, spend_cap_daily_nano FROM api_keys WHERE id = ? FOR UPDATE",
        "UPDATE api_keys SET spend_cap_daily_nano = ? WHERE id = ?" },
    [CX_KEY_FIELD_SPEND_CAP_MONTHLY] = {
        "SELECT org_id, spend_cap_monthly_nano FROM api_keys WHERE id = ? FOR UPDATE",
        "UPDATE api_keys SET spend_cap_monthly_nano = ? WHERE id = ?" },
};

int cx_store_key_set(cx_db *db, apr_pool_t *p, uint64_t key_id, cx_key_field_t field,
                     const char *value, const cx_actor_t *actor, cx_change_t *change,
                     const char **err)
{
    memset(change, 0, sizeof *change);
    if ((unsigned)field >= CX_KEY_FIELD__COUNT) {
        *err = "unknown key field";
        return -1;
    }
    if (cx_db_begin(db))
        goto fail;
    cx_rows_t r;
    if (cx_db_query(db, p, key_sql[field].select, "u", &r, key_id))
        goto fail;
    if (r.rows->nelts == 0) {
        cx_db_rollback(db);
        return 1;
    }
    change->org_id = strtoull(ROW(r, 0)[0], NULL, 10);
    change->before = ROW(r, 0)[1];
    change->after = value;
    if (same(change->before, value)) {
        cx_db_rollback(db);
        return 0;
    }
    const char *name = cx_key_field_name(field);
    if (cx_db_exec(db, key_sql[field].update, NULL, NULL, "su", value, key_id) ||
        audit(db, p, change->org_id, actor, "key.update",
              apr_psprintf(p, "key:%" APR_UINT64_T_FMT, (apr_uint64_t)key_id),
              cx_audit_change_detail(p, "field", name, change->before, value)) ||
        cx_db_commit(db))
        goto fail;
    change->changed = 1;
    return 0;
fail:
    *err = apr_pstrdup(p, cx_db_error(db));
    cx_db_rollback(db);
    return -1;
}

int cx_store_org_setting_set(cx_db *db, apr_pool_t *p, uint64_t org_id, const char *name,
                             const char *value, const cx_actor_t *actor, cx_change_t *change,
                             const char **err)
{
    memset(change, 0, sizeof *change);
    change->org_id = org_id;
    if (cx_db_begin(db))
        goto fail;
    cx_rows_t r;
    /* Locking the org row serialises concurrent changes of one org's settings,
     * including the first insert of a setting (a missing row cannot be locked). */
    if (cx_db_query(db, p, "SELECT id FROM orgs WHERE id = ? FOR UPDATE", "u", &r, org_id))
        goto fail;
    if (r.rows->nelts == 0) {
        cx_db_rollback(db);
        return 1;
    }
    if (cx_db_query(db, p, "SELECT value FROM settings WHERE org_id = ? AND name = ?", "us", &r,
                    org_id, name))
        goto fail;
    change->before = r.rows->nelts ? ROW(r, 0)[0] : NULL;
    change->after = value;
    if (same(change->before, value)) {
        cx_db_rollback(db);
        return 0;
    }
    int rv = value ? cx_db_exec(db, "INSERT INTO settings (org_id, name, value) VALUES (?, ?, ?) "
                                "ON DUPLICATE KEY UPDATE value = VALUES(value)",
                                NULL, NULL, "uss", org_id, name, value)
                   : cx_db_exec(db, "DELETE FROM settings WHERE org_id = ? AND name = ?",
                                NULL, NULL, "us", org_id, name);
    if (rv || audit(db, p, org_id, actor, "org.setting.update",
                    apr_psprintf(p, "org:%" APR_UINT64_T_FMT, (apr_uint64_t)org_id),
                    cx_audit_change_detail(p, "setting", name, change->before, value)) ||
        cx_db_commit(db))
        goto fail;
    change->changed = 1;
    return 0;
fail:
    *err = apr_pstrdup(p, cx_db_error(db));
    cx_db_rollback(db);
    return -1;
}
