/* Conduix store: the MySQL/MariaDB system of record, through prepared statements
 * only. One cx_db is one connection with its own statement cache; it is used by one
 * thread at a time (mod_conduix keeps them in an apr_reslist per child, the CLI and
 * the CGI use one). Money is BIGINT nanocredits throughout. */
#ifndef CX_STORE_H
#define CX_STORE_H

#include <stdint.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include "cx_catalog.h"
#include "cx_dsn.h"
#include "cx_keys.h"
#include "cx_price.h"

typedef struct cx_db cx_db;

/* Connect. On failure returns NULL and *err (never containing the password). The
 * connection is closed when p is destroyed or by cx_db_close. */
cx_db *cx_db_open(apr_pool_t *p, const cx_dsn_t *dsn, const char **err);
void cx_db_close(cx_db *db);
/* 1 while the connection is usable; a failed query on a lost connection marks it
 * broken so pools can replace it. */
int cx_db_ok(cx_db *db);
const char *cx_db_error(cx_db *db);
/* Round trip to the server (mysql_ping); a connection that fails it is marked broken.
 * 0 when usable. */
int cx_db_ping(cx_db *db);   /* skipped (0) when the connection was used in the last 2 s */

/* Generic prepared-statement access, used by every store function. Parameters are
 * given as a format string: 's' string (NULL = SQL NULL), 'i' int64_t, 'u' uint64_t.
 * Result cells are strings (NULL for SQL NULL). */
typedef struct {
    int ncols;
    apr_array_header_t *rows;   /* const char ** (ncols each) */
} cx_rows_t;
int cx_db_query(cx_db *db, apr_pool_t *p, const char *sql, const char *fmt, cx_rows_t *out, ...);
/* Statement without a result set; *affected (may be NULL) and *insert_id (may be NULL). */
int cx_db_exec(cx_db *db, const char *sql, uint64_t *affected, uint64_t *insert_id,
               const char *fmt, ...);
/* Multi-row statements: parameters collected one by one into a list made for at most
 * cap of them, then executed with cx_db_exec_list. cx_db_rows_sql writes
 * "<head><row>,<row>,...<tail>" for k rows; callers keep k to a few distinct values
 * (cx_db_rows_chunk) so a connection prepares a handful of texts. */
typedef struct cx_db_params cx_db_params;
cx_db_params *cx_db_params_make(apr_pool_t *p, unsigned cap);
/* The same, owned by the connection and reused: valid until its next call. For the
 * usage writer's statements, which would otherwise allocate kilobytes per batch. */
cx_db_params *cx_db_params_scratch(cx_db *db, unsigned cap);
void cx_db_params_str(cx_db_params *ps, const char *s);           /* NULL = SQL NULL */
void cx_db_params_int(cx_db_params *ps, int64_t v, int is_unsigned);
int cx_db_exec_list(cx_db *db, const char *sql, cx_db_params *ps, uint64_t *affected);
/* The same for the statement cx_db_rows_sql(head, row, k, tail) would write. head, row
 * and tail must be static text (string constants): the prepared statement is found
 * again by their addresses and k. p holds the text when it is first prepared. */
int cx_db_exec_rows(cx_db *db, apr_pool_t *p, const char *head, const char *row, int k,
                    const char *tail, cx_db_params *ps, uint64_t *affected);
const char *cx_db_rows_sql(apr_pool_t *p, const char *head, const char *row, int k,
                           const char *tail);
#define CX_DB_ROWS_MAX 64
#define CX_DB_ROWS_EXACT 8
/* Rows for the next statement: left itself up to CX_DB_ROWS_EXACT, else the largest
 * power of two <= min(left, CX_DB_ROWS_MAX). */
int cx_db_rows_chunk(int left);
int cx_db_begin(cx_db *db);
int cx_db_commit(cx_db *db);
void cx_db_rollback(cx_db *db);

/* ---- catalog ---- */
int cx_store_load_catalog(cx_db *db, apr_pool_t *p, cx_catalog_t **out, const char **err);

/* ---- keys ---- */
typedef struct {
    uint64_t key_id;
    uint64_t org_id;
    const char *name;
    cx_key_mode_t mode;
    const char *scopes;
    const char *allowed_models;   /* JSON text or NULL */
    int64_t rate_limit_rpm;       /* -1 = none */
    const char *region;           /* NULL = any */
    const char *pii_mode;
    int64_t spend_cap_daily_nano; /* -1 = none */
    int64_t spend_cap_monthly_nano;
    int revoked;
    cx_nano_t org_balance_nano;
    uint32_t org_multiplier_ppm;
    unsigned char hash[CX_SHA256_LEN];
    const char *swap_mode;        /* inherit | on | off (sql/030_governance.sql) */
} cx_key_record_t;

/* 1 found, 0 not found, -1 database error. */
int cx_store_lookup_key(cx_db *db, apr_pool_t *p, const unsigned char hash[CX_SHA256_LEN],
                        cx_key_record_t *out);

typedef struct {
    uint64_t org_id;
    const char *name;
    cx_key_mode_t mode;
    const char *scopes;           /* NULL = "inference" */
    const char *allowed_models;   /* JSON text or NULL */
    int64_t rate_limit_rpm;       /* -1 = none */
    uint64_t created_by_user_id;  /* 0 = none */
} cx_key_spec_t;
/* Mint a key: returns its secret (shown once) and id. */
int cx_store_create_key(cx_db *db, apr_pool_t *p, const cx_key_spec_t *spec,
                        const char **secret, uint64_t *key_id, const char **err);
int cx_store_revoke_key(cx_db *db, uint64_t key_id, const char **err);

/* ---- usage and billing ---- */
typedef struct {
    const char *request_id;
    uint64_t org_id;
    uint64_t key_id;
    cx_key_mode_t mode;
    const char *endpoint;
    const char *requested_model;
    const char *served_model;
    const char *provider;
    int status;
    int stream;
    int fallback;
    int cache_hit;
    uint64_t prompt_tokens;
    uint64_t completion_tokens;
    cx_nano_t cost_nano;
    cx_nano_t charged_nano;
    unsigned long latency_ms;
    cx_nano_t provider_cost_nano; /* what the provider bills, at list price (budgets) */
    apr_time_t created_at;        /* when the request ended; 0 = when the row is written */
} cx_usage_record_t;

/* One transaction: the usage row, and when charged_nano > 0 the balance update and
 * the ledger debit. A request id already recorded is a no-op (returns 0, *duplicate
 * set). Returns 0 on success, -1 on error (rolled back). */
int cx_store_record_usage(cx_db *db, const cx_usage_record_t *u, int *duplicate,
                          const char **err);

/* Which keys' last_used_at a usage writer set lately. A writer that passes one to
 * cx_store_record_usage_batch touches a key at most once per interval (its first use
 * always), not in every batch: one statement less per transaction, and last use is
 * still known to the interval. Owned by one thread. */
typedef struct cx_touch_memo cx_touch_memo;
cx_touch_memo *cx_touch_memo_create(apr_pool_t *p, apr_interval_time_t interval);

/* Several usage rows in ONE transaction (one commit, one log flush for all), with
 * multi-row INSERTs: every row gets its own ledger debit whose balance_after is what
 * one transaction per row would have written; each org's balance moves once (locked
 * in org id order). Rows already recorded (replays) are detected and the batch is
 * redone row by row without their charges, duplicate[i] set. All or nothing: -1 with
 * *err means nothing of the batch was written (rolled back). memo may be NULL (every
 * batch touches its keys). */
int cx_store_record_usage_batch(cx_db *db, const cx_usage_record_t *const *u, int n,
                                cx_touch_memo *memo, int *duplicate, const char **err);

int cx_store_balance(cx_db *db, uint64_t org_id, cx_nano_t *balance);

/* Credit movement (grant, topup, refund, adjustment) with a ledger row. */
int cx_store_credit(cx_db *db, uint64_t org_id, const char *kind, cx_nano_t amount,
                    const char *note, const char *actor, cx_nano_t *balance_after,
                    const char **err);

/* ---- orgs, users ---- */
int cx_store_create_org(cx_db *db, const char *name, uint64_t *org_id, const char **err);
int cx_store_create_user(cx_db *db, uint64_t org_id, const char *email,
                         const char *password_hash, const char *role, int operator_flag,
                         uint64_t *user_id, const char **err);

/* ---- audit ---- */
int cx_store_audit(cx_db *db, uint64_t org_id, const char *actor_type, uint64_t actor_id,
                   const char *actor_label, const char *ip, const char *request_id,
                   const char *action, const char *target, const char *detail_json);

/* ---- migrations ---- */
/* Apply dir/NNN_*.sql files not yet recorded in schema_migrations, in order. Calls
 * applied(name) for each file applied. */
int cx_store_migrate(cx_db *db, apr_pool_t *p, const char *dir,
                     void (*applied)(void *baton, const char *name), void *baton,
                     const char **err);

#endif
