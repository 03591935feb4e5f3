#include "cx_store.h"
#include "cx_log.h"
#include "cx_usage.h"

#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_time.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <errmsg.h>
#include <mysql.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PARAMS 32

struct cx_db {
    apr_pool_t *pool;
    MYSQL *conn;
    apr_hash_t *stmts;       /* SQL text -> MYSQL_STMT*, prepared once per connection */
    apr_hash_t *row_stmts;   /* rows_key_t -> MYSQL_STMT*: multi-row statements */
    struct cx_db_params *scratch;   /* cx_db_params_scratch's, grown as needed */
    int broken;
    apr_time_t last_used;    /* last statement that reached the server */
    char error[512];
};

static void set_error(cx_db *db, const char *what, unsigned int code, const char *msg)
{
    snprintf(db->error, sizeof db->error, "%s: %s (%u)", what, msg ? msg : "", code);
    /* Client-side errors in the 2000 range mean the connection itself is gone or
     * unusable; the pool must not hand it out again. */
    if (code == CR_SERVER_GONE_ERROR || code == CR_SERVER_LOST || code == CR_CONNECTION_ERROR ||
        code == CR_CONN_HOST_ERROR || code == CR_COMMANDS_OUT_OF_SYNC || code == CR_UNKNOWN_ERROR)
        db->broken = 1;
}

static apr_status_t db_cleanup(void *data)
{
    cx_db *db = data;
    if (db->conn) {
        for (apr_hash_index_t *hi = apr_hash_first(NULL, db->stmts); hi; hi = apr_hash_next(hi)) {
            void *v;
            apr_hash_this(hi, NULL, NULL, &v);
            mysql_stmt_close((MYSQL_STMT *)v);
        }
        mysql_close(db->conn);
        db->conn = NULL;
    }
    return APR_SUCCESS;
}

cx_db *cx_db_open(apr_pool_t *p, const cx_dsn_t *dsn, const char **err)
{
    cx_db *db = apr_pcalloc(p, sizeof *db);
    db->pool = p;
    db->stmts = apr_hash_make(p);
    db->row_stmts = apr_hash_make(p);
    db->conn = mysql_init(NULL);
    if (!db->conn) {
        *err = "mysql_init failed (out of memory)";
        return NULL;
    }
    unsigned int timeout = dsn->connect_timeout ? dsn->connect_timeout : 5;
    my_bool off = 0;
    mysql_options(db->conn, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    mysql_options(db->conn, MYSQL_OPT_RECONNECT, &off);   /* reconnects would lose prepared statements */
    mysql_options(db->conn, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    mysql_options(db->conn, MYSQL_INIT_COMMAND, "SET time_zone = '+00:00'");
    if (!mysql_real_connect(db->conn, dsn->unix_socket ? NULL : dsn->host, dsn->user,
                            dsn->password, dsn->dbname, dsn->port, dsn->unix_socket,
                            CLIENT_MULTI_STATEMENTS | CLIENT_FOUND_ROWS)) {
        *err = apr_psprintf(p, "cannot connect to %s: %s", cx_dsn_describe(p, dsn),
                            mysql_error(db->conn));
        mysql_close(db->conn);
        db->conn = NULL;
        return NULL;
    }
    apr_pool_cleanup_register(p, db, db_cleanup, apr_pool_cleanup_null);
    return db;
}

void cx_db_close(cx_db *db)
{
    if (db) {
        apr_pool_cleanup_kill(db->pool, db, db_cleanup);
        db_cleanup(db);
    }
}

int cx_db_ok(cx_db *db)
{
    return db && db->conn && !db->broken;
}

const char *cx_db_error(cx_db *db)
{
    return db->error;
}

int cx_db_ping(cx_db *db)
{
    if (!cx_db_ok(db))
        return -1;
    /* A connection used moments ago is alive; only an idle one may have been dropped
     * by a server restart, failover or wait_timeout. This keeps the check off the
     * hot path of a busy child. */
    if (db->last_used && apr_time_now() - db->last_used < apr_time_from_sec(2))
        return 0;
    if (mysql_ping(db->conn)) {
        set_error(db, "ping", mysql_errno(db->conn), mysql_error(db->conn));
        db->broken = 1;
        return -1;
    }
    db->last_used = apr_time_now();
    return 0;
}

static MYSQL_STMT *prepare(cx_db *db, const char *sql)
{
    MYSQL_STMT *st = apr_hash_get(db->stmts, sql, APR_HASH_KEY_STRING);
    if (st)
        return st;
    st = mysql_stmt_init(db->conn);
    if (!st) {
        set_error(db, "mysql_stmt_init", mysql_errno(db->conn), mysql_error(db->conn));
        return NULL;
    }
    if (mysql_stmt_prepare(st, sql, strlen(sql))) {
        set_error(db, "prepare", mysql_stmt_errno(st), mysql_stmt_error(st));
        mysql_stmt_close(st);
        return NULL;
    }
    apr_hash_set(db->stmts, apr_pstrdup(db->pool, sql), APR_HASH_KEY_STRING, st);
    return st;
}

typedef struct {
    MYSQL_BIND bind[MAX_PARAMS];
    int64_t ints[MAX_PARAMS];
    unsigned long lengths[MAX_PARAMS];
    my_bool nulls[MAX_PARAMS];
} params_t;

static int bind_params(cx_db *db, MYSQL_STMT *st, params_t *pb, const char *fmt, va_list ap)
{
    size_t n = strlen(fmt);
    if (n > MAX_PARAMS || n != mysql_stmt_param_count(st)) {
        snprintf(db->error, sizeof db->error, "parameter count mismatch (%zu vs %lu)", n,
                 mysql_stmt_param_count(st));
        return -1;
    }
    memset(pb, 0, sizeof *pb);
    for (size_t i = 0; i < n; i++) {
        MYSQL_BIND *b = &pb->bind[i];
        switch (fmt[i]) {
        case 's': {
            const char *s = va_arg(ap, const char *);
            b->buffer_type = MYSQL_TYPE_STRING;
            if (!s) {
                pb->nulls[i] = 1;
                b->is_null = &pb->nulls[i];
            }
            else {
                b->buffer = (void *)s;
                pb->lengths[i] = strlen(s);
                b->buffer_length = pb->lengths[i];
                b->length = &pb->lengths[i];
            }
            break;
        }
        case 'b': {   /* binary: pointer + length */
            const void *v = va_arg(ap, const void *);
            size_t len = va_arg(ap, size_t);
            b->buffer_type = MYSQL_TYPE_BLOB;
            b->buffer = (void *)v;
            pb->lengths[i] = len;
            b->buffer_length = len;
            b->length = &pb->lengths[i];
            break;
        }
        case 'i':
            pb->ints[i] = va_arg(ap, int64_t);
            b->buffer_type = MYSQL_TYPE_LONGLONG;
            b->buffer = &pb->ints[i];
            break;
        case 'u':
            pb->ints[i] = (int64_t)va_arg(ap, uint64_t);
            b->buffer_type = MYSQL_TYPE_LONGLONG;
            b->buffer = &pb->ints[i];
            b->is_unsigned = 1;
            break;
        default:
            snprintf(db->error, sizeof db->error, "bad parameter format '%c'", fmt[i]);
            return -1;
        }
    }
    if (n && mysql_stmt_bind_param(st, pb->bind)) {
        set_error(db, "bind", mysql_stmt_errno(st), mysql_stmt_error(st));
        return -1;
    }
    return 0;
}

static int run(cx_db *db, const char *sql, const char *fmt, va_list ap, MYSQL_STMT **out)
{
    if (!cx_db_ok(db)) {
        snprintf(db->error, sizeof db->error, "connection is not usable");
        return -1;
    }
    MYSQL_STMT *st = prepare(db, sql);
    if (!st)
        return -1;
    params_t pb;
    if (bind_params(db, st, &pb, fmt, ap))
        return -1;
    if (mysql_stmt_execute(st)) {
        set_error(db, "execute", mysql_stmt_errno(st), mysql_stmt_error(st));
        return -1;
    }
    db->last_used = apr_time_now();
    *out = st;
    return 0;
}

int cx_db_query(cx_db *db, apr_pool_t *p, const char *sql, const char *fmt, cx_rows_t *out, ...)
{
    MYSQL_STMT *st;
    va_list ap;
    va_start(ap, out);
    int rv = run(db, sql, fmt, ap, &st);
    va_end(ap);
    out->ncols = 0;
    out->rows = apr_array_make(p, 8, sizeof(const char **));
    if (rv)
        return -1;
    MYSQL_RES *meta = mysql_stmt_result_metadata(st);
    if (!meta) {
        mysql_stmt_free_result(st);
        return 0;
    }
    my_bool update_max = 1;
    mysql_stmt_attr_set(st, STMT_ATTR_UPDATE_MAX_LENGTH, &update_max);
    if (mysql_stmt_store_result(st)) {
        set_error(db, "store_result", mysql_stmt_errno(st), mysql_stmt_error(st));
        mysql_free_result(meta);
        return -1;
    }
    int ncols = (int)mysql_num_fields(meta);
    MYSQL_FIELD *fields = mysql_fetch_fields(meta);
    MYSQL_BIND *binds = apr_pcalloc(p, sizeof(MYSQL_BIND) * ncols);
    unsigned long *lengths = apr_pcalloc(p, sizeof(unsigned long) * ncols);
    my_bool *nulls = apr_pcalloc(p, sizeof(my_bool) * ncols);
    for (int c = 0; c < ncols; c++) {
        /* Every column is fetched as text: the server converts numbers and dates,
         * and max_length (computed by store_result) sizes the buffers exactly. */
        unsigned long cap = fields[c].max_length + 1;
        if (cap < 32)
            cap = 32;
        binds[c].buffer_type = MYSQL_TYPE_STRING;
        binds[c].buffer = apr_palloc(p, cap);
        binds[c].buffer_length = cap;
        binds[c].length = &lengths[c];
        binds[c].is_null = &nulls[c];
    }
    out->ncols = ncols;
    if (mysql_stmt_bind_result(st, binds)) {
        set_error(db, "bind_result", mysql_stmt_errno(st), mysql_stmt_error(st));
        mysql_free_result(meta);
        mysql_stmt_free_result(st);
        return -1;
    }
    int frv;
    while ((frv = mysql_stmt_fetch(st)) == 0 || frv == MYSQL_DATA_TRUNCATED) {
        const char **row = apr_palloc(p, sizeof(const char *) * ncols);
        for (int c = 0; c < ncols; c++)
            row[c] = nulls[c] ? NULL : apr_pstrmemdup(p, binds[c].buffer, lengths[c]);
        APR_ARRAY_PUSH(out->rows, const char **) = row;
    }
    mysql_free_result(meta);
    mysql_stmt_free_result(st);
    if (frv == 1) {
        set_error(db, "fetch", mysql_stmt_errno(st), mysql_stmt_error(st));
        return -1;
    }
    return 0;
}

int cx_db_exec(cx_db *db, const char *sql, uint64_t *affected, uint64_t *insert_id,
               const char *fmt, ...)
{
    MYSQL_STMT *st;
    va_list ap;
    va_start(ap, fmt);
    int rv = run(db, sql, fmt, ap, &st);
    va_end(ap);
    if (rv)
        return -1;
    if (affected)
        *affected = mysql_stmt_affected_rows(st);
    if (insert_id)
        *insert_id = mysql_stmt_insert_id(st);
    mysql_stmt_free_result(st);
    return 0;
}

static int simple(cx_db *db, const char *what, int rc)
{
    if (rc) {
        set_error(db, what, mysql_errno(db->conn), mysql_error(db->conn));
        return -1;
    }
    return 0;
}

/* START TRANSACTION rather than turning autocommit off and on again: the session
 * stays in autocommit mode, and a transaction costs two round trips, not three. */
int cx_db_begin(cx_db *db)
{
    if (!cx_db_ok(db))
        return -1;
    static const char begin[] = "START TRANSACTION";
    return simple(db, "begin", mysql_real_query(db->conn, begin, sizeof begin - 1));
}

int cx_db_commit(cx_db *db)
{
    return simple(db, "commit", mysql_commit(db->conn));
}

void cx_db_rollback(cx_db *db)
{
    if (db->conn)
        mysql_rollback(db->conn);
}

/* ------------------------------------------------------------------ helpers */

static int64_t to_i64(const char *s, int64_t dflt)
{
    return s ? strtoll(s, NULL, 10) : dflt;
}

static uint64_t to_u64(const char *s)
{
    return s ? strtoull(s, NULL, 10) : 0;
}

#define ROW(rows, i) APR_ARRAY_IDX((rows).rows, (i), const char **)

/* ------------------------------------------------------------------ catalog */

int cx_store_load_catalog(cx_db *db, apr_pool_t *p, cx_catalog_t **out, const char **err)
{
    cx_catalog_t *cat = cx_catalog_create(p);
    cx_rows_t rows;
    const char *e;
    *err = NULL;

    if (cx_db_query(db, p, "SELECT name, display_name, region, api_format, base_url, "
                           "credential_ref, enabled FROM providers", "", &rows))
        goto db_error;
    for (int i = 0; i < rows.rows->nelts; i++) {
        const char **r = ROW(rows, i);
        cx_provider_t prov = {.name = r[0], .display_name = r[1], .region = r[2],
                              .base_url = r[4], .credential_ref = r[5],
                              .enabled = (int)to_i64(r[6], 1)};
        if (!cx_api_format_parse(r[3], &prov.api_format))
            prov.api_format = CX_API_OPENAI;
        if ((e = cx_catalog_add_provider(cat, &prov)))
            goto catalog_error;
    }

    if (cx_db_query(db, p, "SELECT id, display_name, provider, tier, swap_band, context_window, "
                           "max_output_tokens, vision, input_price_nano, output_price_nano, enabled, "
                           "UNIX_TIMESTAMP(created_at) "
                           "FROM models", "", &rows))
        goto db_error;
    for (int i = 0; i < rows.rows->nelts; i++) {
        const char **r = ROW(rows, i);
        cx_price_t price = {to_i64(r[8], 0), to_i64(r[9], 0)};
        if ((e = cx_catalog_add_model(cat, r[0], r[1], r[2], r[3], r[4],
                                      (unsigned)to_u64(r[5]), (unsigned)to_u64(r[6]),
                                      (int)to_i64(r[7], 0), price, (int)to_i64(r[10], 1),
                                      (long long)to_i64(r[11], 0))))
            goto catalog_error;
    }

    if (cx_db_query(db, p, "SELECT model_id, provider, upstream_model, input_price_nano, "
                           "output_price_nano FROM model_deployments "
                           "ORDER BY model_id, provider", "", &rows))
        goto db_error;
    for (int i = 0; i < rows.rows->nelts; i++) {
        const char **r = ROW(rows, i);
        cx_price_t price = {to_i64(r[3], 0), to_i64(r[4], 0)};
        if ((e = cx_catalog_add_deployment(cat, r[0], r[1], r[2], price)))
            goto catalog_error;
    }

    if (cx_db_query(db, p, "SELECT alias, model_id, provider FROM model_aliases", "", &rows))
        goto db_error;
    for (int i = 0; i < rows.rows->nelts; i++) {
        const char **r = ROW(rows, i);
        if ((e = cx_catalog_add_alias(cat, r[0], r[1], r[2])))
            goto catalog_error;
    }

    if (cx_db_query(db, p, "SELECT model_id, target_model_id, target_provider FROM fallback_chains "
                           "ORDER BY model_id, position", "", &rows))
        goto db_error;
    for (int i = 0; i < rows.rows->nelts; i++) {
        const char **r = ROW(rows, i);
        if ((e = cx_catalog_add_chain_entry(cat, r[0], r[1], r[2])))
            goto catalog_error;
    }
    cx_catalog_finalize(cat);
    *out = cat;
    return 0;

db_error:
    *err = apr_psprintf(p, "loading the catalog: %s", db->error);
    return -1;
catalog_error:
    *err = apr_psprintf(p, "catalog is inconsistent: %s", e);
    return -1;
}

/* ------------------------------------------------------------------ keys */

int cx_store_lookup_key(cx_db *db, apr_pool_t *p, const unsigned char hash[CX_SHA256_LEN],
                        cx_key_record_t *out)
{
    cx_rows_t rows;
    if (cx_db_query(db, p,
                    "SELECT k.id, k.org_id, k.name, k.mode, k.scopes, k.allowed_models, "
                    "k.rate_limit_rpm, k.region, k.pii_mode, k.spend_cap_daily_nano, "
                    "k.spend_cap_monthly_nano, k.revoked_at IS NOT NULL, o.balance_nano, "
                    "o.price_multiplier_ppm, HEX(k.key_hash), k.swap_mode "
                    "FROM api_keys k JOIN orgs o ON o.id = k.org_id WHERE k.key_hash = ?",
                    "b", &rows, (const void *)hash, (size_t)CX_SHA256_LEN))
        return -1;
    if (rows.rows->nelts == 0)
        return 0;
    const char **r = ROW(rows, 0);
    /* The index lookup already matched; compare again in constant time so the
     * decision never rests on a non-constant-time comparison of secret material. */
    const char *want = cx_hex(p, hash, CX_SHA256_LEN);
    const char *got = apr_pstrdup(p, r[14] ? r[14] : "");
    for (char *c = (char *)got; *c; c++)
        if (*c >= 'A' && *c <= 'F')
            *c = (char)(*c - 'A' + 'a');
    if (strlen(got) != strlen(want) || !cx_ct_equal(got, want, strlen(want)))
        return 0;
    memset(out, 0, sizeof *out);
    out->key_id = to_u64(r[0]);
    out->org_id = to_u64(r[1]);
    out->name = r[2];
    out->mode = (r[3] && !strcmp(r[3], "test")) ? CX_KEY_TEST : CX_KEY_LIVE;
    out->scopes = r[4] ? r[4] : "inference";
    out->allowed_models = r[5];
    out->rate_limit_rpm = to_i64(r[6], -1);
    out->region = r[7];
    out->pii_mode = r[8] ? r[8] : "inherit";
    out->spend_cap_daily_nano = to_i64(r[9], -1);
    out->spend_cap_monthly_nano = to_i64(r[10], -1);
    out->revoked = (int)to_i64(r[11], 0);
    out->org_balance_nano = to_i64(r[12], 0);
    out->org_multiplier_ppm = (uint32_t)to_u64(r[13]);
    memcpy(out->hash, hash, CX_SHA256_LEN);
    out->swap_mode = r[15] ? r[15] : "inherit";
    return 1;
}

int cx_store_create_key(cx_db *db, apr_pool_t *p, const cx_key_spec_t *spec,
                        const char **secret, uint64_t *key_id, const char **err)
{
    if (cx_key_generate(p, spec->mode, secret) != APR_SUCCESS) {
        *err = "no randomness available to mint a key";
        return -1;
    }
    unsigned char hash[CX_SHA256_LEN];
    cx_key_hash(*secret, hash);
    char rate[32];
    snprintf(rate, sizeof rate, "%lld", (long long)spec->rate_limit_rpm);
    if (cx_db_exec(db,
                   "INSERT INTO api_keys (org_id, name, key_hash, prefix, mode, scopes, "
                   "allowed_models, rate_limit_rpm, created_by_user_id) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   NULL, key_id, "usbssssss", spec->org_id, spec->name, (const void *)hash,
                   (size_t)CX_SHA256_LEN, cx_key_display_prefix(p, *secret),
                   spec->mode == CX_KEY_TEST ? "test" : "live",
                   spec->scopes ? spec->scopes : "inference", spec->allowed_models,
                   spec->rate_limit_rpm >= 0 ? rate : NULL,
                   spec->created_by_user_id ? apr_psprintf(p, "%" APR_UINT64_T_FMT, (apr_uint64_t)spec->created_by_user_id) : NULL)) {
        *err = apr_pstrdup(p, db->error);
        return -1;
    }
    return 0;
}

int cx_store_revoke_key(cx_db *db, uint64_t key_id, const char **err)
{
    uint64_t affected = 0;
    if (cx_db_exec(db, "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, NOW(6)) WHERE id = ?",
                   &affected, NULL, "u", key_id)) {
        *err = db->error;
        return -1;
    }
    if (affected == 0) {
        *err = "no such key";
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ billing */

/* The time a row is stored with: when its request ended, or now for rows that do not
 * say (the rollups are computed from the same value, so the two always agree). */
static apr_time_t row_time(const cx_usage_record_t *u, apr_time_t now)
{
    return u->created_at > 0 ? u->created_at : now;
}

/* The statements of one usage row inside an open transaction: the row, and when it
 * is new and charged, the balance update and the ledger debit. 0 or -1. */
static int record_usage_in_tx(cx_db *db, const cx_usage_record_t *u, apr_time_t at, int *duplicate)
{
    uint64_t affected = 0;
    char stamp[27], hour[20], day[11];
    cx_usage_time_labels(at, stamp, hour, day);
    *duplicate = 0;
    if (cx_db_exec(db,
                   "INSERT IGNORE INTO usage_events (request_id, org_id, key_id, mode, endpoint, "
                   "requested_model, served_model, provider, status, stream, fallback, cache_hit, "
                   "prompt_tokens, completion_tokens, cost_nano, charged_nano, latency_ms, "
                   "provider_cost_nano, created_at) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   &affected, NULL, "suusssssiiiiuuiiuis", u->request_id, u->org_id, u->key_id,
                   u->mode == CX_KEY_TEST ? "test" : "live", u->endpoint, u->requested_model,
                   u->served_model, u->provider, (int64_t)u->status, (int64_t)u->stream,
                   (int64_t)u->fallback, (int64_t)u->cache_hit, u->prompt_tokens,
                   u->completion_tokens, (int64_t)u->cost_nano, (int64_t)u->charged_nano,
                   (uint64_t)u->latency_ms, (int64_t)u->provider_cost_nano, stamp))
        return -1;
    if (affected == 0) {      /* already recorded: replay of a spooled entry */
        *duplicate = 1;
        return 0;
    }
    if (u->charged_nano > 0) {
        if (cx_db_exec(db, "UPDATE orgs SET balance_nano = balance_nano - ? WHERE id = ?",
                       NULL, NULL, "iu", (int64_t)u->charged_nano, u->org_id))
            return -1;
        if (cx_db_exec(db,
                       "INSERT INTO credit_ledger (org_id, kind, amount_nano, balance_after_nano, "
                       "request_id, actor, created_at) SELECT id, 'charge', ?, balance_nano, ?, ?, ? "
                       "FROM orgs WHERE id = ?",
                       NULL, NULL, "isusu", -(int64_t)u->charged_nano, u->request_id, u->key_id,
                       stamp, u->org_id))
            return -1;
    }
    return 0;
}

static int touch_key(cx_db *db, uint64_t key_id)
{
    return cx_db_exec(db, "UPDATE api_keys SET last_used_at = NOW(6) WHERE id = ?", NULL, NULL, "u",
                      key_id);
}

int cx_store_record_usage(cx_db *db, const cx_usage_record_t *u, int *duplicate, const char **err)
{
    apr_time_t now = apr_time_now();
    if (cx_db_begin(db) || record_usage_in_tx(db, u, row_time(u, now), duplicate))
        goto fail;
    if (*duplicate) {
        cx_db_rollback(db);
        return 0;
    }
    /* Usage rollups (sql/040): added in this transaction so they always equal the rows. */
    if (cx_usage_rollup_add(db, &u, 1, now) || touch_key(db, u->key_id) || cx_db_commit(db))
        goto fail;
    return 0;
fail:
    *err = db->error;
    cx_db_rollback(db);
    return -1;
}

/* The batch row by row inside one transaction: the path for batches with rows that
 * are already recorded (replays), whose charges must be skipped. */
static int record_usage_rowwise(cx_db *db, apr_pool_t *p, const cx_usage_record_t *const *u, int n,
                                apr_time_t now, int *duplicate)
{
    const cx_usage_record_t **fresh = apr_palloc(p, (n > 0 ? (apr_size_t)n : 1) * sizeof *fresh);
    int nfresh = 0;
    for (int i = 0; i < n; i++) {
        if (record_usage_in_tx(db, u[i], row_time(u[i], now), &duplicate[i]))
            return -1;
        if (!duplicate[i])
            fresh[nfresh++] = u[i];
    }
    if (nfresh && cx_usage_rollup_add(db, fresh, nfresh, now))
        return -1;
    for (int i = 0; i < n; i++) {
        if (duplicate[i])
            continue;
        int seen = 0;
        for (int j = i + 1; j < n && !seen; j++)
            seen = !duplicate[j] && u[j]->key_id == u[i]->key_id;
        if (!seen && touch_key(db, u[i]->key_id))
            return -1;
    }
    return 0;
}

/* ---- multi-row statements: parameters from arrays, row counts in powers of two so
 * that a connection prepares at most a handful of statement texts. */

struct cx_db_params {
    MYSQL_BIND *b;
    unsigned long *len;
    int64_t *ints;
    unsigned n, cap;
};

cx_db_params *cx_db_params_make(apr_pool_t *p, unsigned cap)
{
    cx_db_params *ps = apr_palloc(p, sizeof *ps);
    if (cap == 0)
        cap = 1;
    ps->b = apr_pcalloc(p, cap * sizeof *ps->b);
    ps->len = apr_pcalloc(p, cap * sizeof *ps->len);
    ps->ints = apr_pcalloc(p, cap * sizeof *ps->ints);
    ps->n = 0;
    ps->cap = cap;
    return ps;
}

cx_db_params *cx_db_params_scratch(cx_db *db, unsigned cap)
{
    if (cap == 0)
        cap = 1;
    cx_db_params *ps = db->scratch;
    if (!ps || ps->cap < cap) {
        /* Grown in the connection's pool, for its lifetime: at most the largest
         * statement's parameters (about 150 KB for 64 usage rows of 19 each). */
        unsigned want = ps && ps->cap * 2 > cap ? ps->cap * 2 : cap;
        ps = cx_db_params_make(db->pool, want);
        db->scratch = ps;
    }
    else {
        memset(ps->b, 0, cap * sizeof *ps->b);
    }
    ps->n = 0;
    return ps;
}

void cx_db_params_str(cx_db_params *ps, const char *s)
{
    static my_bool is_null = 1;
    if (ps->n >= ps->cap) {
        ps->n++;     /* counted, so that cx_db_exec_list reports the mismatch */
        return;
    }
    MYSQL_BIND *b = &ps->b[ps->n];
    b->buffer_type = MYSQL_TYPE_STRING;
    if (!s) {
        b->is_null = &is_null;
    }
    else {
        b->buffer = (void *)s;
        ps->len[ps->n] = strlen(s);
        b->buffer_length = ps->len[ps->n];
        b->length = &ps->len[ps->n];
    }
    ps->n++;
}

void cx_db_params_int(cx_db_params *ps, int64_t v, int is_unsigned)
{
    if (ps->n >= ps->cap) {
        ps->n++;
        return;
    }
    MYSQL_BIND *b = &ps->b[ps->n];
    ps->ints[ps->n] = v;
    b->buffer_type = MYSQL_TYPE_LONGLONG;
    b->buffer = &ps->ints[ps->n];
    b->is_unsigned = is_unsigned;
    ps->n++;
}

/* The multi-row statements are found by their static parts and row count, not by
 * their text: hashing and comparing a kilobyte of SQL on every execution cost more
 * than the execution's own client-side work. */
typedef struct {
    const char *head, *row, *tail;
    int k;
} rows_key_t;

static MYSQL_STMT *prepare_rows(cx_db *db, apr_pool_t *p, const char *head, const char *row, int k,
                                const char *tail)
{
    rows_key_t key;
    memset(&key, 0, sizeof key);    /* padding too: the bytes are the hash key */
    key.head = head;
    key.row = row;
    key.tail = tail;
    key.k = k;
    MYSQL_STMT *st = apr_hash_get(db->row_stmts, &key, sizeof key);
    if (st)
        return st;
    st = prepare(db, cx_db_rows_sql(p, head, row, k, tail));
    if (st)
        apr_hash_set(db->row_stmts, apr_pmemdup(db->pool, &key, sizeof key), sizeof key, st);
    return st;
}

static int exec_prepared(cx_db *db, MYSQL_STMT *st, cx_db_params *ps, uint64_t *affected)
{
    if (!st)
        return -1;
    if (ps->n > ps->cap || mysql_stmt_param_count(st) != ps->n) {
        snprintf(db->error, sizeof db->error, "parameter count mismatch (%u vs %lu)", ps->n,
                 mysql_stmt_param_count(st));
        return -1;
    }
    if (mysql_stmt_bind_param(st, ps->b)) {
        set_error(db, "bind", mysql_stmt_errno(st), mysql_stmt_error(st));
        return -1;
    }
    if (mysql_stmt_execute(st)) {
        set_error(db, "execute", mysql_stmt_errno(st), mysql_stmt_error(st));
        return -1;
    }
    db->last_used = apr_time_now();
    if (affected)
        *affected = mysql_stmt_affected_rows(st);
    mysql_stmt_free_result(st);
    return 0;
}

int cx_db_exec_list(cx_db *db, const char *sql, cx_db_params *ps, uint64_t *affected)
{
    if (!cx_db_ok(db)) {
        snprintf(db->error, sizeof db->error, "connection is not usable");
        return -1;
    }
    return exec_prepared(db, prepare(db, sql), ps, affected);
}

int cx_db_exec_rows(cx_db *db, apr_pool_t *p, const char *head, const char *row, int k,
                    const char *tail, cx_db_params *ps, uint64_t *affected)
{
    if (!cx_db_ok(db)) {
        snprintf(db->error, sizeof db->error, "connection is not usable");
        return -1;
    }
    return exec_prepared(db, prepare_rows(db, p, head, row, k, tail), ps, affected);
}

const char *cx_db_rows_sql(apr_pool_t *p, const char *head, const char *row, int k,
                           const char *tail)
{
    apr_size_t hl = strlen(head), rl = strlen(row), tl = tail ? strlen(tail) : 0;
    char *sql = apr_palloc(p, hl + (rl + 1) * (apr_size_t)k + tl + 1);
    char *o = sql;
    memcpy(o, head, hl);
    o += hl;
    for (int i = 0; i < k; i++) {
        if (i)
            *o++ = ',';
        memcpy(o, row, rl);
        o += rl;
    }
    if (tl)
        memcpy(o, tail, tl);
    o[tl] = '\0';
    return sql;
}

int cx_db_rows_chunk(int left)
{
    /* Small batches (the usual case below full load) go in one statement of their
     * exact size; larger ones in powers of two. At most 8 + 3 texts per statement
     * kind, so a connection keeps a few dozen prepared statements, not hundreds. */
    if (left <= CX_DB_ROWS_EXACT)
        return left;
    int k = CX_DB_ROWS_MAX;
    while (k > left)
        k /= 2;
    return k;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The ids (orgs or keys) of the batch, each once, ascending: locks are always taken
 * in the same order, so two children's batches cannot deadlock each other. */
static int distinct_ids(apr_pool_t *p, const cx_usage_record_t *const *u, int n, int org,
                        int charged_only, uint64_t **out)
{
    uint64_t *ids = apr_palloc(p, (apr_size_t)(n ? n : 1) * sizeof *ids);
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (charged_only && u[i]->charged_nano <= 0)
            continue;
        ids[m++] = org ? u[i]->org_id : u[i]->key_id;
    }
    qsort(ids, (size_t)m, sizeof *ids, cmp_u64);
    int d = 0;
    for (int i = 0; i < m; i++)
        if (d == 0 || ids[d - 1] != ids[i])
            ids[d++] = ids[i];
    *out = ids;
    return d;
}

struct cx_touch_memo {
    apr_pool_t *pool;             /* entries; cleared when there are too many */
    apr_hash_t *keys;             /* key id -> apr_time_t of the last touch */
    apr_interval_time_t interval;
};

#define TOUCH_MEMO_MAX 10000

cx_touch_memo *cx_touch_memo_create(apr_pool_t *p, apr_interval_time_t interval)
{
    cx_touch_memo *m = apr_pcalloc(p, sizeof *m);
    apr_pool_create(&m->pool, p);
    m->keys = apr_hash_make(m->pool);
    m->interval = interval;
    return m;
}

static int touch_due(const cx_touch_memo *m, uint64_t key_id, apr_time_t now)
{
    if (!m)
        return 1;
    const apr_time_t *at = apr_hash_get(m->keys, &key_id, sizeof key_id);
    return !at || now - *at >= m->interval || now < *at;
}

/* After the commit only: a rolled-back touch did not happen. */
static void touch_note(cx_touch_memo *m, const uint64_t *keys, int n, apr_time_t now)
{
    if (!m)
        return;
    if (apr_hash_count(m->keys) + (unsigned)n > TOUCH_MEMO_MAX) {
        apr_pool_clear(m->pool);
        m->keys = apr_hash_make(m->pool);
    }
    for (int i = 0; i < n; i++) {
        apr_time_t *at = apr_hash_get(m->keys, &keys[i], sizeof keys[i]);
        if (!at) {
            uint64_t *k = apr_pmemdup(m->pool, &keys[i], sizeof keys[i]);
            at = apr_palloc(m->pool, sizeof *at);
            apr_hash_set(m->keys, k, sizeof *k, at);
        }
        *at = now;
    }
}

/* Multi-row statements inside the open transaction. 1 when done, 0 when some request
 * id was already recorded (the caller rolls back and goes row by row), -1 on error. */
static int record_usage_multirow(cx_db *db, apr_pool_t *p, const cx_usage_record_t *const *u, int n,
                                 apr_time_t now, cx_touch_memo *memo, uint64_t **touched, int *ntouched)
{
    static const char usage_head[] =
        "INSERT IGNORE INTO usage_events (request_id, org_id, key_id, mode, endpoint, "
        "requested_model, served_model, provider, status, stream, fallback, cache_hit, "
        "prompt_tokens, completion_tokens, cost_nano, charged_nano, latency_ms, provider_cost_nano, "
        "created_at) VALUES ";
    static const char usage_row[] = "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
    static const char ledger_head[] =
        "INSERT INTO credit_ledger (org_id, kind, amount_nano, balance_after_nano, request_id, "
        "actor, created_at) VALUES ";
    static const char ledger_row[] = "(?,'charge',?,?,?,?,?)";

    char (*stamp)[27] = apr_palloc(p, (apr_size_t)(n ? n : 1) * sizeof *stamp);
    for (int i = 0; i < n; i++) {
        char hour[20], day[11];
        cx_usage_time_labels(row_time(u[i], now), stamp[i], hour, day);
    }
    uint64_t inserted = 0;
    for (int at = 0; at < n;) {
        int k = cx_db_rows_chunk(n - at);
        cx_db_params *ps = cx_db_params_scratch(db, 19 * (unsigned)k);
        for (int i = at; i < at + k; i++) {
            cx_db_params_str(ps, u[i]->request_id);
            cx_db_params_int(ps, (int64_t)u[i]->org_id, 1);
            cx_db_params_int(ps, (int64_t)u[i]->key_id, 1);
            cx_db_params_str(ps, u[i]->mode == CX_KEY_TEST ? "test" : "live");
            cx_db_params_str(ps, u[i]->endpoint);
            cx_db_params_str(ps, u[i]->requested_model);
            cx_db_params_str(ps, u[i]->served_model);
            cx_db_params_str(ps, u[i]->provider);
            cx_db_params_int(ps, u[i]->status, 0);
            cx_db_params_int(ps, u[i]->stream, 0);
            cx_db_params_int(ps, u[i]->fallback, 0);
            cx_db_params_int(ps, u[i]->cache_hit, 0);
            cx_db_params_int(ps, (int64_t)u[i]->prompt_tokens, 1);
            cx_db_params_int(ps, (int64_t)u[i]->completion_tokens, 1);
            cx_db_params_int(ps, u[i]->cost_nano, 0);
            cx_db_params_int(ps, u[i]->charged_nano, 0);
            cx_db_params_int(ps, (int64_t)u[i]->latency_ms, 1);
            cx_db_params_int(ps, u[i]->provider_cost_nano, 0);
            cx_db_params_str(ps, stamp[i]);
        }
        uint64_t affected = 0;
        if (cx_db_exec_rows(db, p, usage_head, usage_row, k, NULL, ps, &affected))
            return -1;
        inserted += affected;
        at += k;
    }
    if (inserted != (uint64_t)n)
        return 0;

    /* Charges per org: the row is locked, each ledger row gets the balance after its
     * own debit (what one transaction per request would have written), and the
     * balance moves once. */
    uint64_t *orgs;
    int norgs = distinct_ids(p, u, n, 1, 1, &orgs);
    const cx_usage_record_t **mine = apr_palloc(p, (apr_size_t)(n ? n : 1) * sizeof *mine);
    const char **mine_stamp = apr_palloc(p, (apr_size_t)(n ? n : 1) * sizeof *mine_stamp);
    for (int o = 0; o < norgs; o++) {
        cx_rows_t rows;
        if (cx_db_query(db, p, "SELECT balance_nano FROM orgs WHERE id = ? FOR UPDATE", "u", &rows,
                        orgs[o]))
            return -1;
        if (rows.rows->nelts == 0)
            continue;   /* no such org: no balance to move, as in the one-row path */
        int64_t balance = to_i64(ROW(rows, 0)[0], 0), total = 0;
        int m = 0;
        for (int i = 0; i < n; i++)
            if (u[i]->org_id == orgs[o] && u[i]->charged_nano > 0) {
                mine_stamp[m] = stamp[i];
                mine[m++] = u[i];
            }
        for (int at = 0; at < m;) {
            int k = cx_db_rows_chunk(m - at);
            cx_db_params *ps = cx_db_params_scratch(db, 6 * (unsigned)k);
            for (int i = at; i < at + k; i++) {
                total += mine[i]->charged_nano;
                cx_db_params_int(ps, (int64_t)orgs[o], 1);
                cx_db_params_int(ps, -(int64_t)mine[i]->charged_nano, 0);
                cx_db_params_int(ps, balance - total, 0);
                cx_db_params_str(ps, mine[i]->request_id);
                cx_db_params_int(ps, (int64_t)mine[i]->key_id, 1);
                cx_db_params_str(ps, mine_stamp[i]);
            }
            if (cx_db_exec_rows(db, p, ledger_head, ledger_row, k, NULL, ps, NULL))
                return -1;
            at += k;
        }
        if (cx_db_exec(db, "UPDATE orgs SET balance_nano = balance_nano - ? WHERE id = ?", NULL, NULL,
                       "iu", total, orgs[o]))
            return -1;
    }
    /* After the org locks: every writer takes orgs first, then rollup rows in the
     * rollups' key order, so two children's batches cannot deadlock each other. */
    if (cx_usage_rollup_add(db, u, n, now))
        return -1;
    uint64_t *keys;
    int nkeys = distinct_ids(p, u, n, 0, 0, &keys);
    *touched = keys;
    *ntouched = 0;
    for (int k = 0; k < nkeys; k++) {
        if (!touch_due(memo, keys[k], now))
            continue;
        if (touch_key(db, keys[k]))
            return -1;
        keys[(*ntouched)++] = keys[k];
    }
    return 1;
}

int cx_store_record_usage_batch(cx_db *db, const cx_usage_record_t *const *u, int n,
                                cx_touch_memo *memo, int *duplicate, const char **err)
{
    apr_pool_t *p;
    apr_pool_create(&p, db->pool);
    memset(duplicate, 0, (size_t)n * sizeof *duplicate);
    apr_time_t now = apr_time_now();
    uint64_t *touched = NULL;
    int ntouched = 0;
    if (cx_db_begin(db))
        goto fail;
    int rv = record_usage_multirow(db, p, u, n, now, memo, &touched, &ntouched);
    if (rv < 0)
        goto fail;
    if (rv == 0) {
        /* Replayed rows among them: start over row by row, skipping their charges. */
        cx_db_rollback(db);
        ntouched = 0;   /* row by row touches every key: nothing to remember */
        if (cx_db_begin(db) || record_usage_rowwise(db, p, u, n, now, duplicate))
            goto fail;
    }
    if (cx_db_commit(db))
        goto fail;
    touch_note(memo, touched, ntouched, now);
    apr_pool_destroy(p);
    return 0;
fail:
    *err = db->error;
    cx_db_rollback(db);
    apr_pool_destroy(p);
    return -1;
}

int cx_store_balance(cx_db *db, uint64_t org_id, cx_nano_t *balance)
{
    cx_rows_t rows;
    apr_pool_t *p;
    apr_pool_create(&p, db->pool);
    int rv = cx_db_query(db, p, "SELECT balance_nano FROM orgs WHERE id = ?", "u", &rows, org_id);
    if (rv == 0) {
        if (rows.rows->nelts == 0)
            rv = 1;
        else
            *balance = to_i64(ROW(rows, 0)[0], 0);
    }
    apr_pool_destroy(p);
    return rv;
}

int cx_store_credit(cx_db *db, uint64_t org_id, const char *kind, cx_nano_t amount,
                    const char *note, const char *actor, cx_nano_t *balance_after,
                    const char **err)
{
    uint64_t affected = 0;
    if (cx_db_begin(db))
        goto fail;
    if (cx_db_exec(db, "UPDATE orgs SET balance_nano = balance_nano + ? WHERE id = ?", &affected,
                   NULL, "iu", (int64_t)amount, org_id))
        goto fail;
    if (affected == 0) {
        cx_db_rollback(db);
        *err = "no such organization";
        return -1;
    }
    if (cx_db_exec(db,
                   "INSERT INTO credit_ledger (org_id, kind, amount_nano, balance_after_nano, note, actor) "
                   "SELECT id, ?, ?, balance_nano, ?, ? FROM orgs WHERE id = ?",
                   NULL, NULL, "sissu", kind, (int64_t)amount, note, actor, org_id))
        goto fail;
    if (cx_db_commit(db))
        goto fail;
    if (balance_after && cx_store_balance(db, org_id, balance_after))
        goto fail;
    return 0;
fail:
    *err = db->error;
    cx_db_rollback(db);
    return -1;
}

/* ------------------------------------------------------------------ orgs, users, audit */

int cx_store_create_org(cx_db *db, const char *name, uint64_t *org_id, const char **err)
{
    if (cx_db_exec(db, "INSERT INTO orgs (name) VALUES (?)", NULL, org_id, "s", name)) {
        *err = db->error;
        return -1;
    }
    return 0;
}

int cx_store_create_user(cx_db *db, uint64_t org_id, const char *email,
                         const char *password_hash, const char *role, int operator_flag,
                         uint64_t *user_id, const char **err)
{
    if (cx_db_exec(db,
                   "INSERT INTO users (org_id, email, password_hash, role, is_operator) "
                   "VALUES (?, ?, ?, ?, ?)",
                   NULL, user_id, "usssi", org_id, email, password_hash, role,
                   (int64_t)(operator_flag ? 1 : 0))) {
        *err = db->error;
        return -1;
    }
    return 0;
}

int cx_store_audit(cx_db *db, uint64_t org_id, const char *actor_type, uint64_t actor_id,
                   const char *actor_label, const char *ip, const char *request_id,
                   const char *action, const char *target, const char *detail_json)
{
    char idbuf[32];
    snprintf(idbuf, sizeof idbuf, "%llu", (unsigned long long)actor_id);
    return cx_db_exec(db,
                      "INSERT INTO audit_log (org_id, actor_type, actor_id, actor_label, ip, "
                      "request_id, action, target, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      NULL, NULL, "usssssss" "s", org_id, actor_type, actor_id ? idbuf : NULL,
                      actor_label, ip, request_id, action, target, detail_json);
}

/* ------------------------------------------------------------------ migrations */

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int read_file(apr_pool_t *p, const char *path, char **out, apr_size_t *len)
{
    apr_file_t *f;
    apr_finfo_t fi;
    if (apr_file_open(&f, path, APR_FOPEN_READ, APR_FPROT_OS_DEFAULT, p) != APR_SUCCESS)
        return -1;
    if (apr_file_info_get(&fi, APR_FINFO_SIZE, f) != APR_SUCCESS) {
        apr_file_close(f);
        return -1;
    }
    *len = (apr_size_t)fi.size;
    *out = apr_palloc(p, *len + 1);
    apr_size_t got = *len;
    apr_status_t rv = *len ? apr_file_read_full(f, *out, *len, &got) : APR_SUCCESS;
    apr_file_close(f);
    (*out)[got] = '\0';
    return rv == APR_SUCCESS ? 0 : -1;
}

/* Run a file of several statements (migrations are trusted files from sql/, the one
 * place where text SQL is sent rather than a prepared statement). */
static int run_script(cx_db *db, const char *sql, apr_size_t len)
{
    if (mysql_real_query(db->conn, sql, len)) {
        set_error(db, "migration", mysql_errno(db->conn), mysql_error(db->conn));
        return -1;
    }
    int status;
    do {
        MYSQL_RES *res = mysql_store_result(db->conn);
        if (res)
            mysql_free_result(res);
        if (mysql_errno(db->conn)) {
            set_error(db, "migration", mysql_errno(db->conn), mysql_error(db->conn));
            return -1;
        }
        status = mysql_next_result(db->conn);
        if (status > 0) {
            set_error(db, "migration", mysql_errno(db->conn), mysql_error(db->conn));
            return -1;
        }
    } while (status == 0);
    return 0;
}

int cx_store_migrate(cx_db *db, apr_pool_t *p, const char *dir,
                     void (*applied)(void *baton, const char *name), void *baton,
                     const char **err)
{
    if (cx_db_exec(db, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                       "name VARCHAR(255) NOT NULL PRIMARY KEY, "
                       "applied_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)"
                       ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
                   NULL, NULL, "")) {
        *err = db->error;
        return -1;
    }
    apr_dir_t *d;
    if (apr_dir_open(&d, dir, p) != APR_SUCCESS) {
        *err = apr_psprintf(p, "cannot open migrations directory %s", dir);
        return -1;
    }
    apr_array_header_t *names = apr_array_make(p, 16, sizeof(const char *));
    apr_finfo_t fi;
    while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, d) == APR_SUCCESS) {
        size_t n = strlen(fi.name);
        if (fi.filetype == APR_REG && n > 8 && fi.name[0] >= '0' && fi.name[0] <= '9' &&
            !strcmp(fi.name + n - 4, ".sql"))
            APR_ARRAY_PUSH(names, const char *) = apr_pstrdup(p, fi.name);
    }
    apr_dir_close(d);
    qsort(names->elts, names->nelts, sizeof(const char *), compare_names);

    for (int i = 0; i < names->nelts; i++) {
        const char *name = APR_ARRAY_IDX(names, i, const char *);
        cx_rows_t rows;
        if (cx_db_query(db, p, "SELECT name FROM schema_migrations WHERE name = ?", "s", &rows, name)) {
            *err = db->error;
            return -1;
        }
        if (rows.rows->nelts > 0)
            continue;
        char *sql;
        apr_size_t len;
        const char *path = apr_pstrcat(p, dir, "/", name, NULL);
        if (read_file(p, path, &sql, &len)) {
            *err = apr_psprintf(p, "cannot read %s", path);
            return -1;
        }
        /* DDL commits implicitly in MySQL, so a failed file is reported with its name
         * and must be fixed by hand; the runner never records a partial file. */
        if (run_script(db, sql, len)) {
            *err = apr_psprintf(p, "%s: %s", name, db->error);
            return -1;
        }
        if (cx_db_exec(db, "INSERT INTO schema_migrations (name) VALUES (?)", NULL, NULL, "s", name)) {
            *err = db->error;
            return -1;
        }
        if (applied)
            applied(baton, name);
    }
    return 0;
}
