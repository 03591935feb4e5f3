/* Conduix store, dashboard side (see cx_store_admin.h). */
#include "cx_store_admin.h"

#include <apr_strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NCOLS(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define ROW(t, i) APR_ARRAY_IDX((t).rows, (i), const char **)

static int64_t to_i64(const char *s, int64_t dflt)
{
    return s ? strtoll(s, NULL, 10) : dflt;
}

static uint64_t to_u64(const char *s)
{
    return s ? strtoull(s, NULL, 10) : 0;
}

/* Names the columns of a list query's result (rv is cx_db_query's return value). */
static int named(cx_table_t *out, const char *const *cols, int ncols, int rv, const cx_rows_t *rows)
{
    out->ncols = ncols;
    out->cols = cols;
    out->rows = rows->rows;
    if (rv == 0 && rows->ncols && rows->ncols != ncols)
        return -1;   /* the SQL and its column names disagree: a programming error */
    return rv;
}

const char *cx_table_get(const cx_table_t *t, int row, const char *col)
{
    if (!t->rows || row < 0 || row >= t->rows->nelts)
        return NULL;
    for (int c = 0; c < t->ncols; c++)
        if (!strcmp(t->cols[c], col))
            return APR_ARRAY_IDX(t->rows, row, const char **)[c];
    return NULL;
}

/* ------------------------------------------------------------------ roles */

static const char *const role_names[] = {"viewer", "member", "admin", "owner"};

cx_role_t cx_role_parse(const char *s)
{
    for (int i = 0; s && i < NCOLS(role_names); i++)
        if (!strcmp(s, role_names[i]))
            return (cx_role_t)i;
    return CX_ROLE_NONE;
}

const char *cx_role_name(cx_role_t r)
{
    return (r >= CX_ROLE_VIEWER && r <= CX_ROLE_OWNER) ? role_names[r] : "none";
}

/* ------------------------------------------------------------------ users */

#define USER_COLUMNS "u.id, u.org_id, u.email, u.password_hash, u.role, u.is_operator, " \
                     "u.disabled_at IS NOT NULL, o.name, o.plan "

static void fill_user(const char **r, cx_admin_user_t *out)
{
    memset(out, 0, sizeof *out);
    out->id = to_u64(r[0]);
    out->org_id = to_u64(r[1]);
    out->email = r[2];
    out->password_hash = r[3];
    out->role = cx_role_parse(r[4]);
    out->is_operator = (int)to_i64(r[5], 0);
    out->disabled = (int)to_i64(r[6], 0);
    out->org_name = r[7];
    out->org_plan = r[8];
}

int cx_admin_user_by_email(cx_db *db, apr_pool_t *p, const char *email, cx_admin_user_t *out)
{
    cx_rows_t rows;
    if (cx_db_query(db, p,
                    "SELECT " USER_COLUMNS "FROM users u JOIN orgs o ON o.id = u.org_id "
                    "WHERE LOWER(u.email) = LOWER(?)",
                    "s", &rows, email))
        return -1;
    if (rows.rows->nelts == 0)
        return 0;
    fill_user(ROW(rows, 0), out);
    return 1;
}

int cx_admin_user_by_id(cx_db *db, apr_pool_t *p, uint64_t user_id, cx_admin_user_t *out)
{
    cx_rows_t rows;
    if (cx_db_query(db, p,
                    "SELECT " USER_COLUMNS "FROM users u JOIN orgs o ON o.id = u.org_id "
                    "WHERE u.id = ?",
                    "u", &rows, user_id))
        return -1;
    if (rows.rows->nelts == 0)
        return 0;
    fill_user(ROW(rows, 0), out);
    return 1;
}

int cx_admin_members(cx_db *db, apr_pool_t *p, uint64_t org_id, cx_table_t *out)
{
    static const char *const cols[] = {"id", "email", "role", "is_operator", "created_at",
                                       "disabled_at"};
    cx_rows_t rows;
    int rv = cx_db_query(db, p, "SELECT id, email, role, is_operator, "
                       "DATE_FORMAT(created_at, '%Y-%m-%d %H:%i'), "
                       "DATE_FORMAT(disabled_at, '%Y-%m-%d %H:%i') "
                       "FROM users WHERE org_id = ? "
                       "ORDER BY disabled_at IS NOT NULL, FIELD(role,'owner','admin','member','viewer'), email", "u", &rows, org_id);
    return named(out, cols, NCOLS(cols), rv, &rows);
}

int cx_admin_count_owners(cx_db *db, uint64_t org_id, uint64_t *count)
{
    cx_rows_t rows;
    apr_pool_t *p;
    apr_pool_create(&p, NULL);
    int rv = cx_db_query(db, p, "SELECT COUNT(*) FROM users WHERE org_id = ? AND role = 'owner' "
                                "AND disabled_at IS NULL", "u", &rows, org_id);
    if (rv == 0)
        *count = rows.rows->nelts ? to_u64(ROW(rows, 0)[0]) : 0;
    apr_pool_destroy(p);
    return rv;
}

int cx_admin_set_role(cx_db *db, uint64_t org_id, uint64_t user_id, cx_role_t role)
{
    uint64_t affected = 0;
    if (cx_db_exec(db, "UPDATE users SET role = ? WHERE id = ? AND org_id = ? AND disabled_at IS NULL",
                   &affected, NULL, "suu", cx_role_name(role), user_id, org_id))
        return -1;
    return affected ? 1 : 0;
}

int cx_admin_disable_member(cx_db *db, uint64_t org_id, uint64_t user_id)
{
    uint64_t affected = 0;
    if (cx_db_begin(db))
        return -1;
    if (cx_db_exec(db, "UPDATE users SET disabled_at = NOW(6) WHERE id = ? AND org_id = ? "
                       "AND disabled_at IS NULL", &affected, NULL, "uu", user_id, org_id) ||
        cx_db_exec(db, "DELETE FROM dashboard_sessions WHERE user_id = ?", NULL, NULL, "u", user_id)) {
        cx_db_rollback(db);
        return -1;
    }
    if (cx_db_commit(db))
        return -1;
    return affected ? 1 : 0;
}

/* ------------------------------------------------------------------ sessions */

int cx_admin_session_create(cx_db *db, const unsigned char hash[CX_SHA256_LEN], uint64_t user_id,
                            uint64_t org_id, const char *ip, const char *user_agent,
                            long ttl_seconds)
{
    char ua[256];
    snprintf(ua, sizeof ua, "%s", user_agent ? user_agent : "");
    /* Expired sessions of anyone are swept here: logins are rare enough for that. */
    cx_db_exec(db, "DELETE FROM dashboard_sessions WHERE expires_at < NOW(6)", NULL, NULL, "");
    return cx_db_exec(db,
                      "INSERT INTO dashboard_sessions (token_hash, user_id, org_id, ip, user_agent, "
                      "expires_at) VALUES (?, ?, ?, ?, ?, NOW(6) + INTERVAL ? SECOND)",
                      NULL, NULL, "buussi", (const void *)hash, (size_t)CX_SHA256_LEN, user_id,
                      org_id, ip, ua, (int64_t)ttl_seconds);
}

int cx_admin_session_lookup(cx_db *db, apr_pool_t *p, const unsigned char hash[CX_SHA256_LEN],
                            long idle_seconds, cx_admin_user_t *out)
{
    cx_rows_t rows;
    if (cx_db_query(db, p,
                    "SELECT " USER_COLUMNS "FROM dashboard_sessions s "
                    "JOIN users u ON u.id = s.user_id JOIN orgs o ON o.id = u.org_id "
                    "WHERE s.token_hash = ? AND s.expires_at > NOW(6) "
                    "AND s.last_seen_at > NOW(6) - INTERVAL ? SECOND AND u.disabled_at IS NULL "
                    "AND u.org_id = s.org_id",
                    "bi", &rows, (const void *)hash, (size_t)CX_SHA256_LEN, (int64_t)idle_seconds))
        return -1;
    if (rows.rows->nelts == 0)
        return 0;
    fill_user(ROW(rows, 0), out);
    if (cx_db_exec(db, "UPDATE dashboard_sessions SET last_seen_at = NOW(6) WHERE token_hash = ?",
                   NULL, NULL, "b", (const void *)hash, (size_t)CX_SHA256_LEN))
        return -1;
    return 1;
}

int cx_admin_session_delete(cx_db *db, const unsigned char hash[CX_SHA256_LEN])
{
    return cx_db_exec(db, "DELETE FROM dashboard_sessions WHERE token_hash = ?", NULL, NULL, "b",
                      (const void *)hash, (size_t)CX_SHA256_LEN);
}

/* ------------------------------------------------------------------ login throttling */

int cx_admin_login_failures(cx_db *db, const char *email, const char *ip, long window_seconds,
                            uint64_t *by_account, uint64_t *by_ip)
{
    cx_rows_t rows;
    apr_pool_t *p;
    apr_pool_create(&p, NULL);
    int rv = cx_db_query(
        db, p,
        "SELECT "
        " (SELECT COUNT(*) FROM login_attempts a WHERE a.email = ? AND a.success = 0 "
        "   AND a.created_at > NOW(6) - INTERVAL ? SECOND "
        "   AND a.created_at > COALESCE((SELECT MAX(b.created_at) FROM login_attempts b "
        "                                WHERE b.email = a.email AND b.success = 1), '1970-01-01')), "
        " (SELECT COUNT(*) FROM login_attempts c WHERE c.ip = ? AND c.success = 0 "
        "   AND c.created_at > NOW(6) - INTERVAL ? SECOND)",
        "sisi", &rows, email, (int64_t)window_seconds, ip, (int64_t)window_seconds);
    if (rv == 0 && rows.rows->nelts) {
        *by_account = to_u64(ROW(rows, 0)[0]);
        *by_ip = to_u64(ROW(rows, 0)[1]);
    }
    apr_pool_destroy(p);
    return rv;
}

int cx_admin_login_record(cx_db *db, const char *email, const char *ip, int success)
{
    return cx_db_exec(db, "INSERT INTO login_attempts (email, ip, success) VALUES (?, ?, ?)",
                      NULL, NULL, "ssi", email, ip, (int64_t)(success ? 1 : 0));
}

/* ------------------------------------------------------------------ settings */

int cx_admin_setting_get(cx_db *db, apr_pool_t *p, uint64_t org_id, const char *name,
                         const char **value)
{
    cx_rows_t rows;
    if (cx_db_query(db, p, "SELECT value FROM settings WHERE org_id = ? AND name = ?", "us", &rows,
                    org_id, name))
        return -1;
    if (rows.rows->nelts == 0)
        return 0;
    *value = ROW(rows, 0)[0];
    return 1;
}

long cx_admin_platform_long(cx_db *db, apr_pool_t *p, const char *name, long dflt)
{
    const char *v;
    if (cx_admin_setting_get(db, p, 0, name, &v) != 1 || !v || !*v)
        return dflt;
    char *end;
    long n = strtol(v, &end, 10);
    return (*end || n < 0) ? dflt : n;
}

int cx_admin_setting_put(cx_db *db, uint64_t org_id, const char *name, const char *value)
{
    if (!value)
        return cx_db_exec(db, "DELETE FROM settings WHERE org_id = ? AND name = ?", NULL, NULL,
                          "us", org_id, name);
    return cx_db_exec(db,
                      "INSERT INTO settings (org_id, name, value) VALUES (?, ?, ?) "
                      "ON DUPLICATE KEY UPDATE value = VALUES(value)",
                      NULL, NULL, "uss", org_id, name, value);
}

/* ------------------------------------------------------------------ orgs and billing */

int cx_admin_org(cx_db *db, apr_pool_t *p, uint64_t org_id, cx_admin_org_t *out)
{
    cx_rows_t rows;
    if (cx_db_query(db, p, "SELECT id, name, plan, balance_nano, price_multiplier_ppm FROM orgs "
                           "WHERE id = ?", "u", &rows, org_id))
        return -1;
    if (rows.rows->nelts == 0)
        return 0;
    const char **r = ROW(rows, 0);
    out->id = to_u64(r[0]);
    out->name = r[1];
    out->plan = r[2];
    out->balance_nano = to_i64(r[3], 0);
    out->multiplier_ppm = (uint32_t)to_u64(r[4]);
    return 1;
}

int cx_admin_ledger(cx_db *db, apr_pool_t *p, uint64_t org_id, long limit, long offset,
                    cx_table_t *out, uint64_t *total)
{
    static const char *const cols[] = {"id", "created_at", "kind", "amount_nano",
                                       "balance_after_nano", "request_id", "note", "actor"};
    cx_rows_t rows;
    if (cx_db_query(db, p, "SELECT COUNT(*) FROM credit_ledger WHERE org_id = ?", "u", &rows,
                    org_id))
        return -1;
    *total = rows.rows->nelts ? to_u64(ROW(rows, 0)[0]) : 0;
    int rv = cx_db_query(db, p, "SELECT id, DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s'), kind, amount_nano, "
                       "balance_after_nano, request_id, note, actor FROM credit_ledger "
                       "WHERE org_id = ? ORDER BY id DESC LIMIT ? OFFSET ?", "uii", &rows, org_id, (int64_t)limit, (int64_t)offset);
    return named(out, cols, NCOLS(cols), rv, &rows);
}

/* ------------------------------------------------------------------ keys */

static const char *const key_cols[] = {
    "id", "name", "prefix", "mode", "scopes", "allowed_models", "rate_limit_rpm", "region",
    "pii_mode", "swap_mode", "spend_cap_daily_nano", "spend_cap_monthly_nano", "created_at", "last_used_at",
    "revoked_at", "created_by_user_id", "created_by_email"};

#define KEY_SELECT                                                                         \
    "SELECT k.id, k.name, k.prefix, k.mode, k.scopes, k.allowed_models, k.rate_limit_rpm, " \
    "k.region, k.pii_mode, k.swap_mode, k.spend_cap_daily_nano, k.spend_cap_monthly_nano, " \
    "DATE_FORMAT(k.created_at, '%Y-%m-%d %H:%i'), DATE_FORMAT(k.last_used_at, '%Y-%m-%d %H:%i'), " \
    "DATE_FORMAT(k.revoked_at, '%Y-%m-%d %H:%i'), k.created_by_user_id, u.email "           \
    "FROM api_keys k LEFT JOIN users u ON u.id = k.created_by_user_id "

int cx_admin_keys(cx_db *db, apr_pool_t *p, uint64_t org_id, cx_table_t *out)
{
    cx_rows_t rows;
    int rv = cx_db_query(db, p, KEY_SELECT "WHERE k.org_id = ? ORDER BY k.revoked_at IS NOT NULL, k.id DESC", "u", &rows, org_id);
    return named(out, key_cols, NCOLS(key_cols), rv, &rows);
}

int cx_admin_key(cx_db *db, apr_pool_t *p, uint64_t org_id, uint64_t key_id, cx_table_t *out)
{
    cx_rows_t rows;
    int rv = cx_db_query(db, p, KEY_SELECT "WHERE k.org_id = ? AND k.id = ?", "uu", &rows, org_id, key_id);
    return named(out, key_cols, NCOLS(key_cols), rv, &rows);
}

static const char *opt_i64(apr_pool_t *p, int64_t v)
{
    return v < 0 ? NULL : apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)v);
}

int cx_admin_key_set_policy(cx_db *db, uint64_t org_id, uint64_t key_id,
                            const cx_admin_key_policy_t *pol)
{
    apr_pool_t *p;
    uint64_t affected = 0;
    apr_pool_create(&p, NULL);
    /* Nullable integers travel as strings so that NULL is expressible. */
    int rv = cx_db_exec(db,
                        "UPDATE api_keys SET name = ?, scopes = ?, allowed_models = ?, "
                        "rate_limit_rpm = ?, region = ?, pii_mode = ?, swap_mode = ?, "
                        "spend_cap_daily_nano = ?, spend_cap_monthly_nano = ? "
                        "WHERE id = ? AND org_id = ? AND revoked_at IS NULL",
                        &affected, NULL, "sssssssssuu", pol->name, pol->scopes, pol->allowed_models,
                        opt_i64(p, pol->rate_limit_rpm), pol->region,
                        pol->pii_mode ? pol->pii_mode : "inherit",
                        pol->swap_mode ? pol->swap_mode : "inherit",
                        opt_i64(p, pol->spend_cap_daily_nano),
                        opt_i64(p, pol->spend_cap_monthly_nano), key_id, org_id);
    apr_pool_destroy(p);
    if (rv)
        return -1;
    /* CLIENT_FOUND_ROWS: a matched row counts even when nothing changed. */
    return affected ? 1 : 0;
}

/* Fixed statements per column: column names are never built from input. */
static const struct {
    const char *name, *select, *update;
} key_col_sql[CX_ADMIN_KEY__COUNT] = {
    [CX_ADMIN_KEY_NAME] = {"name",
        "SELECT name FROM api_keys WHERE id = ? AND org_id = ? AND revoked_at IS NULL FOR UPDATE",
        "UPDATE api_keys SET name = ? WHERE id = ?"},
    [CX_ADMIN_KEY_SCOPES] = {"scopes",
        "SELECT scopes FROM api_keys WHERE id = ? AND org_id = ? AND revoked_at IS NULL FOR UPDATE",
        "UPDATE api_keys SET scopes = ? WHERE id = ?"},
    [CX_ADMIN_KEY_CAP_DAILY] = {"spend_cap_daily",
        "SELECT spend_cap_daily_nano FROM api_keys WHERE id = ? AND org_id = ? AND revoked_at IS NULL "
        "FOR UPDATE",
        "UPDATE api_keys SET spend_cap_daily_nano = ? WHERE id = ?"},
    [CX_ADMIN_KEY_CAP_MONTHLY] = {"spend_cap_monthly",
        "SELECT spend_cap_monthly_nano FROM api_keys WHERE id = ? AND org_id = ? AND revoked_at IS NULL "
        "FOR UPDATE",
        "UPDATE api_keys SET spend_cap_monthly_nano = ? WHERE id = ?"},
};

const char *cx_admin_key_col_name(cx_admin_key_col_t col)
{
    return (col >= 0 && col < CX_ADMIN_KEY__COUNT) ? key_col_sql[col].name : "?";
}

int cx_admin_key_set(cx_db *db, apr_pool_t *p, uint64_t org_id, uint64_t key_id,
                     cx_admin_key_col_t col, const char *value, const cx_actor_t *actor,
                     int *changed)
{
    cx_rows_t rows;
    *changed = 0;
    if (col < 0 || col >= CX_ADMIN_KEY__COUNT || cx_db_begin(db))
        return -1;
    if (cx_db_query(db, p, key_col_sql[col].select, "uu", &rows, key_id, org_id))
        goto fail;
    if (rows.rows->nelts == 0) {
        cx_db_rollback(db);
        return 1;
    }
    const char *before = ROW(rows, 0)[0];
    if ((!before && !value) || (before && value && !strcmp(before, value))) {
        cx_db_rollback(db);
        return 0;
    }
    if (cx_db_exec(db, key_col_sql[col].update, NULL, NULL, "su", value, key_id) ||
        cx_store_audit(db, org_id, actor->actor_type, actor->actor_id, actor->actor_label, actor->ip,
                       actor->request_id, "key.update",
                       apr_psprintf(p, "key:%" APR_UINT64_T_FMT, (apr_uint64_t)key_id),
                       cx_audit_change_detail(p, "field", key_col_sql[col].name, before, value)) ||
        cx_db_commit(db))
        goto fail;
    *changed = 1;
    return 0;
fail:
    cx_db_rollback(db);
    return -1;
}

/* ------------------------------------------------------------------ invites */

int cx_admin_invite_create(cx_db *db, uint64_t org_id, const char *email, cx_role_t role,
                           const unsigned char hash[CX_SHA256_LEN], uint64_t by_user_id,
                           long ttl_seconds, uint64_t *invite_id)
{
    return cx_db_exec(db,
                      "INSERT INTO invites (org_id, email, role, token_hash, invited_by_user_id, "
                      "expires_at) VALUES (?, ?, ?, ?, ?, NOW(6) + INTERVAL ? SECOND)",
                      NULL, invite_id, "ussbui", org_id, email, cx_role_name(role),
                      (const void *)hash, (size_t)CX_SHA256_LEN, by_user_id, (int64_t)ttl_seconds);
}

int cx_admin_invite_lookup(cx_db *db, apr_pool_t *p, const unsigned char hash[CX_SHA256_LEN],
                           cx_admin_invite_t *out)
{
    cx_rows_t rows;
    if (cx_db_query(db, p,
                    "SELECT i.id, i.org_id, i.email, i.role, o.name FROM invites i "
                    "JOIN orgs o ON o.id = i.org_id WHERE i.token_hash = ? "
                    "AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > NOW(6)",
                    "b", &rows, (const void *)hash, (size_t)CX_SHA256_LEN))
        return -1;
    if (rows.rows->nelts == 0)
        return 0;
    const char **r = ROW(rows, 0);
    out->id = to_u64(r[0]);
    out->org_id = to_u64(r[1]);
    out->email = r[2];
    out->role = cx_role_parse(r[3]);
    out->org_name = r[4];
    return 1;
}

int cx_admin_invite_accept(cx_db *db, apr_pool_t *p, const cx_admin_invite_t *inv,
                           const char *password_hash, uint64_t *user_id, const char **err)
{
    uint64_t affected = 0;
    cx_rows_t rows;
    if (cx_db_begin(db))
        return -1;
    /* Claim the invite first: of two concurrent accepts only one matches. */
    if (cx_db_exec(db, "UPDATE invites SET accepted_at = NOW(6) WHERE id = ? AND accepted_at IS NULL "
                       "AND revoked_at IS NULL AND expires_at > NOW(6)",
                   &affected, NULL, "u", inv->id))
        goto fail;
    if (affected == 0) {
        cx_db_rollback(db);
        *err = "This invitation has already been used, was revoked or has expired.";
        return 1;
    }
    if (cx_db_query(db, p, "SELECT id FROM users WHERE LOWER(email) = LOWER(?)", "s", &rows,
                    inv->email))
        goto fail;
    if (rows.rows->nelts) {
        cx_db_rollback(db);
        *err = "An account with this email address exists already.";
        return 1;
    }
    if (cx_db_exec(db, "INSERT INTO users (org_id, email, password_hash, role) VALUES (?, ?, ?, ?)",
                   NULL, user_id, "usss", inv->org_id, inv->email, password_hash,
                   cx_role_name(inv->role)))
        goto fail;
    if (cx_db_exec(db, "UPDATE invites SET accepted_user_id = ? WHERE id = ?", NULL, NULL, "uu",
                   *user_id, inv->id))
        goto fail;
    if (cx_db_commit(db))
        goto fail;
    return 0;
fail:
    *err = cx_db_error(db);
    cx_db_rollback(db);
    return -1;
}

int cx_admin_invites_pending(cx_db *db, apr_pool_t *p, uint64_t org_id, cx_table_t *out)
{
    static const char *const cols[] = {"id", "email", "role", "created_at", "expires_at",
                                       "invited_by"};
    cx_rows_t rows;
    int rv = cx_db_query(db, p, "SELECT i.id, i.email, i.role, DATE_FORMAT(i.created_at, '%Y-%m-%d %H:%i'), "
                       "DATE_FORMAT(i.expires_at, '%Y-%m-%d %H:%i'), u.email FROM invites i "
                       "LEFT JOIN users u ON u.id = i.invited_by_user_id "
                       "WHERE i.org_id = ? AND i.accepted_at IS NULL AND i.revoked_at IS NULL "
                       "AND i.expires_at > NOW(6) ORDER BY i.id DESC", "u", &rows, org_id);
    return named(out, cols, NCOLS(cols), rv, &rows);
}

int cx_admin_invite_revoke(cx_db *db, uint64_t org_id, uint64_t invite_id)
{
    uint64_t affected = 0;
    if (cx_db_exec(db, "UPDATE invites SET revoked_at = NOW(6) WHERE id = ? AND org_id = ? "
                       "AND accepted_at IS NULL AND revoked_at IS NULL",
                   &affected, NULL, "uu", invite_id, org_id))
        return -1;
    return affected ? 1 : 0;
}

/* ------------------------------------------------------------------ audit search */

/* The WHERE clause is fixed text: absent filters are NULL parameters that the clause
 * turns into "no restriction", so user input only ever travels as a bound value. */
#define AUDIT_WHERE                                                                   \
    "WHERE org_id = ? "                                                               \
    "AND (? IS NULL OR created_at >= ?) "                                             \
    "AND (? IS NULL OR created_at < ?) "                                              \
    "AND (? IS NULL OR action = ?) "                                                  \
    "AND (? IS NULL OR actor_label LIKE CONCAT('%', ?, '%') ESCAPE '!') "             \
    "AND (? IS NULL OR request_id = ?) "

/* Escape LIKE wildcards so that "%" and "_" typed in the actor filter match literally. */
static const char *like_literal(apr_pool_t *p, const char *s)
{
    if (!s)
        return NULL;
    char *out = apr_palloc(p, strlen(s) * 2 + 1), *o = out;
    for (; *s; s++) {
        if (*s == '%' || *s == '_' || *s == '!')
            *o++ = '!';
        *o++ = *s;
    }
    *o = '\0';
    return out;
}

int cx_admin_audit_search(cx_db *db, apr_pool_t *p, const cx_admin_audit_filter_t *f,
                          cx_table_t *out, uint64_t *total)
{
    static const char *const cols[] = {"id", "created_at", "actor_type", "actor_id", "actor_label",
                                       "ip", "request_id", "action", "target", "detail"};
    const char *actor = like_literal(p, f->actor);
    cx_rows_t rows;
    if (cx_db_query(db, p, "SELECT COUNT(*) FROM audit_log " AUDIT_WHERE, "ussssssssss", &rows,
                    f->org_id, f->from, f->from, f->to, f->to, f->action, f->action, actor, actor,
                    f->request_id, f->request_id))
        return -1;
    *total = rows.rows->nelts ? to_u64(ROW(rows, 0)[0]) : 0;
    if (cx_db_query(db, p,
                    "SELECT id, DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s'), actor_type, actor_id, "
                    "actor_label, ip, request_id, action, target, detail FROM audit_log "
                    AUDIT_WHERE "ORDER BY id DESC LIMIT ? OFFSET ?",
                    "ussssssssssii", &rows, f->org_id, f->from, f->from, f->to, f->to, f->action,
                    f->action, actor, actor, f->request_id, f->request_id, (int64_t)f->limit,
                    (int64_t)f->offset))
        return -1;
    out->ncols = NCOLS(cols);
    out->cols = cols;
    out->rows = rows.rows;
    return 0;
}

int cx_admin_audit_actions(cx_db *db, apr_pool_t *p, uint64_t org_id, cx_table_t *out)
{
    static const char *const cols[] = {"action"};
    cx_rows_t rows;
    int rv = cx_db_query(db, p, "SELECT DISTINCT action FROM audit_log WHERE org_id = ? ORDER BY action", "u", &rows, org_id);
    return named(out, cols, NCOLS(cols), rv, &rows);
}

/* ------------------------------------------------------------------ providers */

int cx_admin_providers(cx_db *db, apr_pool_t *p, cx_table_t *out)
{
    static const char *const cols[] = {"name", "display_name", "region", "api_format", "enabled",
                                       "monthly_budget_nano", "hard_cap", "month_requests"};
    cx_rows_t rows;
    int rv = cx_db_query(db, p, "SELECT pr.name, pr.display_name, pr.region, pr.api_format, pr.enabled, "
                       "pr.monthly_budget_nano, pr.hard_cap, "
                       "(SELECT COUNT(*) FROM usage_events ue WHERE ue.provider = pr.name "
                       " AND ue.created_at >= DATE_FORMAT(UTC_TIMESTAMP(), '%Y-%m-01')) "
                       "FROM providers pr ORDER BY pr.name", "", &rows);
    return named(out, cols, NCOLS(cols), rv, &rows);
}

int cx_admin_provider_set_budget(cx_db *db, const char *provider, int64_t budget_nano, int hard_cap)
{
    apr_pool_t *p;
    uint64_t affected = 0;
    apr_pool_create(&p, NULL);
    int rv = cx_db_exec(db, "UPDATE providers SET monthly_budget_nano = ?, hard_cap = ? WHERE name = ?",
                        &affected, NULL, "sis", opt_i64(p, budget_nano), (int64_t)(hard_cap ? 1 : 0),
                        provider);
    apr_pool_destroy(p);
    if (rv)
        return -1;
    return affected ? 1 : 0;
}

/* ------------------------------------------------------------------ BYO endpoints */

int cx_admin_byo_list(cx_db *db, apr_pool_t *p, uint64_t org_id, cx_table_t *out)
{
    static const char *const cols[] = {"id", "slug", "base_url", "region", "models", "enabled",
                                       "created_at", "has_credential"};
    cx_rows_t rows;
    int rv = cx_db_query(db, p, "SELECT id, slug, base_url, region, models, enabled, "
                       "DATE_FORMAT(created_at, '%Y-%m-%d %H:%i'), "
                       "credential IS NOT NULL AND credential <> '' "
                       "FROM byo_endpoints WHERE org_id = ? ORDER BY slug", "u", &rows, org_id);
    return named(out, cols, NCOLS(cols), rv, &rows);
}

/* ------------------------------------------------------------------ budget alerts */

int cx_admin_budget_alerts_sent(cx_db *db, apr_pool_t *p, const char *month, cx_table_t *out)
{
    static const char *const cols[] = {"provider", "threshold_pct", "sent_at"};
    cx_rows_t rows;
    int rv = cx_db_query(db, p, "SELECT provider, threshold_pct, DATE_FORMAT(sent_at, '%Y-%m-%d %H:%i') "
                         "FROM provider_budget_alerts WHERE month = ? ORDER BY provider, threshold_pct",
                         "s", &rows, month);
    return named(out, cols, NCOLS(cols), rv, &rows);
}

int cx_admin_alert_webhooks(cx_db *db, apr_pool_t *p, cx_table_t *out)
{
    static const char *const cols[] = {"id", "format", "url", "enabled", "created_at"};
    cx_rows_t rows;
    int rv = cx_db_query(db, p, "SELECT id, format, url, enabled, DATE_FORMAT(created_at, '%Y-%m-%d %H:%i') "
                         "FROM budget_alert_webhooks ORDER BY id", "", &rows);
    return named(out, cols, NCOLS(cols), rv, &rows);
}

int cx_admin_alert_webhook_add(cx_db *db, const char *format, const char *url, uint64_t *id)
{
    return cx_db_exec(db, "INSERT INTO budget_alert_webhooks (format, url) VALUES (?, ?)", NULL, id,
                      "ss", format, url);
}

int cx_admin_alert_webhook_remove(cx_db *db, apr_pool_t *p, uint64_t id, const char **url)
{
    cx_rows_t rows;
    uint64_t affected = 0;
    if (cx_db_query(db, p, "SELECT url FROM budget_alert_webhooks WHERE id = ?", "u", &rows, id))
        return -1;
    if (rows.rows->nelts == 0)
        return 0;
    *url = ROW(rows, 0)[0];
    if (cx_db_exec(db, "DELETE FROM budget_alert_webhooks WHERE id = ?", &affected, NULL, "u", id))
        return -1;
    return affected ? 1 : 0;
}
