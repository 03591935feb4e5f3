/* Conduix store, dashboard side: the queries behind conduix-admin's pages (members,
 * invites, sessions, login throttling, settings, keys policies, ledger, audit search,
 * providers, BYO endpoints). Everything goes through cx_store's prepared statements;
 * key minting, revocation, credits and audit rows reuse cx_store itself.
 *
 * List queries return a cx_table_t: string cells plus the column names the templates
 * use, so the names live next to the SQL that produces them. Single-row lookups used
 * in decisions (users, sessions, keys, invites) return typed structs.
 * Return values: 0 ok / -1 database error (cx_db_error), unless said otherwise. */
#ifndef CX_STORE_ADMIN_H
#define CX_STORE_ADMIN_H

#include <stdint.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include "cx_govstore.h"
#include "cx_keys.h"
#include "cx_price.h"
#include "cx_store.h"

typedef struct {
    int ncols;
    const char *const *cols;   /* column names as the templates see them */
    apr_array_header_t *rows;  /* const char ** (ncols each; NULL = SQL NULL) */
} cx_table_t;

/* Cell by column name (NULL when the column does not exist or the value is NULL). */
const char *cx_table_get(const cx_table_t *t, int row, const char *col);

/* ---- roles ---- */
typedef enum { CX_ROLE_NONE = -1, CX_ROLE_VIEWER = 0, CX_ROLE_MEMBER, CX_ROLE_ADMIN,
               CX_ROLE_OWNER } cx_role_t;
cx_role_t cx_role_parse(const char *s);     /* CX_ROLE_NONE when unknown */
const char *cx_role_name(cx_role_t r);

/* ---- users ---- */
typedef struct {
    uint64_t id;
    uint64_t org_id;
    const char *email;
    const char *password_hash;
    cx_role_t role;
    int is_operator;
    int disabled;
    const char *org_name;
    const char *org_plan;
} cx_admin_user_t;

/* 1 found, 0 not found, -1 error. Email compare is case-insensitive. */
int cx_admin_user_by_email(cx_db *db, apr_pool_t *p, const char *email, cx_admin_user_t *out);
int cx_admin_user_by_id(cx_db *db, apr_pool_t *p, uint64_t user_id, cx_admin_user_t *out);
/* Members of an org: id, email, role, is_operator, created_at, disabled_at. */
int cx_admin_members(cx_db *db, apr_pool_t *p, uint64_t org_id, cx_table_t *out);
/* Owners still active in the org. */
int cx_admin_count_owners(cx_db *db, uint64_t org_id, uint64_t *count);
/* Changes the role of a member of org_id (1 changed, 0 no such member). */
int cx_admin_set_role(cx_db *db, uint64_t org_id, uint64_t user_id, cx_role_t role);
/* Disables a member and ends every session of theirs (1 done, 0 no such member). */
int cx_admin_disable_member(cx_db *db, uint64_t org_id, uint64_t user_id);

/* ---- sessions ---- */
int cx_admin_session_create(cx_db *db, const unsigned char hash[CX_SHA256_LEN], uint64_t user_id,
                            uint64_t org_id, const char *ip, const char *user_agent,
                            long ttl_seconds);
/* The user of a live session (unexpired, seen within idle_seconds, user enabled); touches
 * last_seen_at. 1 found, 0 none, -1 error. */
int cx_admin_session_lookup(cx_db *db, apr_pool_t *p, const unsigned char hash[CX_SHA256_LEN],
                            long idle_seconds, cx_admin_user_t *out);
int cx_admin_session_delete(cx_db *db, const unsigned char hash[CX_SHA256_LEN]);

/* ---- login throttling ---- */
/* Failures within the last window_seconds: for the account since its last success, and
 * from the address. */
int cx_admin_login_failures(cx_db *db, const char *email, const char *ip, long window_seconds,
                            uint64_t *by_account, uint64_t *by_ip);
int cx_admin_login_record(cx_db *db, const char *email, const char *ip, int success);

/* ---- settings (org 0 = platform) ---- */
/* 1 found, 0 absent, -1 error. */
int cx_admin_setting_get(cx_db *db, apr_pool_t *p, uint64_t org_id, const char *name,
                         const char **value);
/* Integer setting of org 0 (platform), dflt when absent or malformed. */
long cx_admin_platform_long(cx_db *db, apr_pool_t *p, const char *name, long dflt);
/* Upsert; value NULL deletes the setting. */
int cx_admin_setting_put(cx_db *db, uint64_t org_id, const char *name, const char *value);

/* ---- orgs and billing ---- */
typedef struct {
    uint64_t id;
    const char *name;
    const char *plan;
    cx_nano_t balance_nano;
    uint32_t multiplier_ppm;
} cx_admin_org_t;
int cx_admin_org(cx_db *db, apr_pool_t *p, uint64_t org_id, cx_admin_org_t *out); /* 1/0/-1 */
/* Ledger page, newest first: id, created_at, kind, amount_nano, balance_after_nano,
 * request_id, note, actor. */
int cx_admin_ledger(cx_db *db, apr_pool_t *p, uint64_t org_id, long limit, long offset,
                    cx_table_t *out, uint64_t *total);

/* ---- keys ---- */
/* id, name, prefix, mode, scopes, allowed_models, rate_limit_rpm, region, pii_mode,
 * swap_mode, spend_cap_daily_nano, spend_cap_monthly_nano, created_at, last_used_at,
 * revoked_at, created_by_user_id, created_by_email. Active keys first, newest first. */
int cx_admin_keys(cx_db *db, apr_pool_t *p, uint64_t org_id, cx_table_t *out);
int cx_admin_key(cx_db *db, apr_pool_t *p, uint64_t org_id, uint64_t key_id, cx_table_t *out);

typedef struct {
    const char *name;
    const char *scopes;
    const char *allowed_models;    /* JSON array text, NULL = every model */
    int64_t rate_limit_rpm;        /* -1 = none */
    const char *region;            /* NULL = any */
    const char *pii_mode;          /* inherit | redact | off */
    const char *swap_mode;         /* inherit | on | off */
    int64_t spend_cap_daily_nano;  /* -1 = none */
    int64_t spend_cap_monthly_nano;
} cx_admin_key_policy_t;
/* Sets every policy field of an unrevoked key of org_id at once (a key being minted;
 * 1 changed, 0 no such key). */
int cx_admin_key_set_policy(cx_db *db, uint64_t org_id, uint64_t key_id,
                            const cx_admin_key_policy_t *pol);

/* The key columns that are not governance levers (those go through cx_store_key_set). */
typedef enum { CX_ADMIN_KEY_NAME = 0, CX_ADMIN_KEY_SCOPES, CX_ADMIN_KEY_CAP_DAILY,
               CX_ADMIN_KEY_CAP_MONTHLY, CX_ADMIN_KEY__COUNT } cx_admin_key_col_t;
/* "name", "scopes", "spend_cap_daily", "spend_cap_monthly" (nanocredits). */
const char *cx_admin_key_col_name(cx_admin_key_col_t col);
/* Set one of them on an unrevoked key of org_id, in one transaction with its
 * "key.update" audit row {"field", "before", "after"} (the shape cx_store_key_set
 * writes). value NULL = SQL NULL. 0 ok (*changed 0 when it already had that value),
 * 1 no such key, -1 database error. */
int cx_admin_key_set(cx_db *db, apr_pool_t *p, uint64_t org_id, uint64_t key_id,
                     cx_admin_key_col_t col, const char *value, const cx_actor_t *actor,
                     int *changed);

/* ---- invites ---- */
typedef struct {
    uint64_t id;
    uint64_t org_id;
    const char *email;
    cx_role_t role;
    const char *org_name;
} cx_admin_invite_t;
int cx_admin_invite_create(cx_db *db, uint64_t org_id, const char *email, cx_role_t role,
                           const unsigned char hash[CX_SHA256_LEN], uint64_t by_user_id,
                           long ttl_seconds, uint64_t *invite_id);
/* A pending (unaccepted, unrevoked, unexpired) invite. 1/0/-1. */
int cx_admin_invite_lookup(cx_db *db, apr_pool_t *p, const unsigned char hash[CX_SHA256_LEN],
                           cx_admin_invite_t *out);
/* One transaction: the user is created and the invite marked accepted (only if it is
 * still pending). 0 ok; 1 the invite is no longer pending or the email is taken (*err);
 * -1 database error. */
int cx_admin_invite_accept(cx_db *db, apr_pool_t *p, const cx_admin_invite_t *inv,
                           const char *password_hash, uint64_t *user_id, const char **err);
/* Pending invites: id, email, role, created_at, expires_at, invited_by. */
int cx_admin_invites_pending(cx_db *db, apr_pool_t *p, uint64_t org_id, cx_table_t *out);
int cx_admin_invite_revoke(cx_db *db, uint64_t org_id, uint64_t invite_id); /* 1/0/-1 */

/* ---- audit search ---- */
typedef struct {
    uint64_t org_id;
    const char *from;          /* "YYYY-MM-DD" inclusive, NULL = open */
    const char *to;            /* "YYYY-MM-DD" exclusive, NULL = open */
    const char *action;        /* exact, NULL = any */
    const char *actor;         /* substring of the actor label, NULL = any */
    const char *request_id;    /* exact, NULL = any */
    long limit;
    long offset;
} cx_admin_audit_filter_t;
/* id, created_at, actor_type, actor_id, actor_label, ip, request_id, action, target,
 * detail. Newest first. *total counts every match. */
int cx_admin_audit_search(cx_db *db, apr_pool_t *p, const cx_admin_audit_filter_t *f,
                          cx_table_t *out, uint64_t *total);
/* Distinct actions recorded for the org (for the filter menu). */
int cx_admin_audit_actions(cx_db *db, apr_pool_t *p, uint64_t org_id, cx_table_t *out);

/* ---- providers (operator) ---- */
/* name, display_name, region, api_format, enabled, monthly_budget_nano, hard_cap,
 * month_requests (every org's requests this UTC month). Spend comes from
 * cx_budget_spend_from_usage, the figure the gateway rebuilds its counter from. */
int cx_admin_providers(cx_db *db, apr_pool_t *p, cx_table_t *out);
/* 1 changed, 0 no such provider. budget_nano -1 = no budget. */
int cx_admin_provider_set_budget(cx_db *db, const char *provider, int64_t budget_nano,
                                 int hard_cap);
/* Budget alerts sent in month ("YYYY-MM"): provider, threshold_pct, sent_at. */
int cx_admin_budget_alerts_sent(cx_db *db, apr_pool_t *p, const char *month, cx_table_t *out);
/* Alert webhooks (budget_alert_webhooks): id, format, url, enabled, created_at. */
int cx_admin_alert_webhooks(cx_db *db, apr_pool_t *p, cx_table_t *out);
int cx_admin_alert_webhook_add(cx_db *db, const char *format, const char *url, uint64_t *id);
/* Removes one; *url gets what it pointed at (for the audit). 1/0/-1. */
int cx_admin_alert_webhook_remove(cx_db *db, apr_pool_t *p, uint64_t id, const char **url);

/* ---- BYO endpoints (added and removed through cx_byo) ---- */
/* id, slug, base_url, region, models, enabled, created_at, has_credential ("1"/"0"):
 * the dashboard's view, which tells whether a credential is stored without reading it. */
int cx_admin_byo_list(cx_db *db, apr_pool_t *p, uint64_t org_id, cx_table_t *out);

#endif
