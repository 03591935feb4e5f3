/* mod_conduix: httpd glue for the Conduix gateway. Everything that can be decided
 * without a request_rec lives in lib/; these files turn HTTP into calls of lib/. */
#ifndef MOD_CONDUIX_H
#define MOD_CONDUIX_H

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <apr_hash.h>
#include <apr_time.h>

#include "cx_catalog.h"
#include "cx_dsn.h"
#include "cx_error.h"
#include "cx_http.h"
#include "cx_openai.h"
#include "cx_store.h"

extern module AP_MODULE_DECLARE_DATA conduix_module;

#define CONDUIX_UNSET (-1)

/* One ConduixProvider line. url NULL = keep the catalog's base URL. */
typedef struct {
    const char *name;
    const char *base_url;
    const char *credential_ref;   /* env:NAME or file:/path */
    const char *credential;       /* resolved in post_config; never logged */
} conduix_provider_conf_t;

typedef struct conduix_runtime conduix_runtime_t;

typedef struct {
    int engine;
    const char *dsn_text;
    cx_dsn_t *dsn;
    apr_hash_t *providers;        /* name -> conduix_provider_conf_t */
    apr_off_t max_body;
    int upstream_timeout;         /* seconds */
    int connect_timeout;          /* seconds */
    int key_cache_ttl;            /* seconds */
    int catalog_refresh;          /* seconds */
    int db_pool_max;
    const char *spool_dir;        /* usage rows wait here while the database is down */
    conduix_runtime_t *runtime;   /* per child, set in child_init */
} conduix_server_conf_t;

/* Effective values after defaults. */
#define CONDUIX_DEFAULT_MAX_BODY        (8 * 1024 * 1024)
#define CONDUIX_DEFAULT_UPSTREAM_TIMEOUT 120
#define CONDUIX_DEFAULT_CONNECT_TIMEOUT 10
#define CONDUIX_DEFAULT_KEY_CACHE_TTL   5
#define CONDUIX_DEFAULT_CATALOG_REFRESH 30

extern const command_rec conduix_cmds[];
void *conduix_create_server_conf(apr_pool_t *p, server_rec *s);
void *conduix_merge_server_conf(apr_pool_t *p, void *base, void *add);
/* Resolve credentials (env:/file:) for every ConduixProvider; NULL or an error. */
const char *conduix_resolve_credential(apr_pool_t *p, const char *ref, const char **out);
int conduix_conf_int(int v, int dflt);

/* ---- per-child runtime (conduix_runtime.c) ---- */
conduix_runtime_t *conduix_runtime_create(apr_pool_t *pchild, server_rec *s,
                                          conduix_server_conf_t *conf);
/* r may be NULL (threads without a request log against the server). */
#define CONDUIX_DB_STALE_RETRIES 32   /* more than a child's pool holds */
cx_db *conduix_db_acquire(conduix_runtime_t *rt, request_rec *r);
void conduix_db_release(conduix_runtime_t *rt, cx_db *db);
/* The current catalog snapshot, held until r's pool is cleaned up. */
const cx_catalog_t *conduix_catalog(conduix_runtime_t *rt, request_rec *r);
/* 1 key found (copied into r->pool), 0 unknown, -1 database unavailable. */
int conduix_key_lookup(conduix_runtime_t *rt, request_rec *r, const char *secret,
                       cx_key_record_t *out);
/* Lower the cached org balance after a charge so a child does not keep spending a
 * balance it already used up before the cache entry expires. */
void conduix_key_cache_charge(conduix_runtime_t *rt, uint64_t org_id, cx_nano_t amount);
cx_http_pool *conduix_http_pool(conduix_runtime_t *rt);
/* Record a usage row after the response: to the database, or to the spool when the
 * database cannot take it; replays the spool once the database is back. */
void conduix_usage_record(conduix_runtime_t *rt, request_rec *r, const cx_usage_record_t *u);
/* The per-child usage queue and its writer thread (conduix_usage.c); NULL when no
 * thread could be started. */
typedef struct conduix_usage_queue conduix_usage_queue_t;
conduix_usage_queue_t *conduix_usage_queue_create(apr_pool_t *pchild, server_rec *s,
                                                  conduix_runtime_t *rt);
conduix_usage_queue_t *conduix_runtime_usage_queue(conduix_runtime_t *rt);
conduix_server_conf_t *conduix_runtime_conf(conduix_runtime_t *rt);
/* Spool bookkeeping: "due" is true at most every few seconds, and at once after this
 * child spooled a row, so healthy children look for spool files rarely. */
int conduix_runtime_spool_due(conduix_runtime_t *rt);
void conduix_runtime_spool_dirty(conduix_runtime_t *rt);
/* Upstream base URL and credential for a provider (directive first, then catalog). */
void conduix_provider_endpoint(conduix_runtime_t *rt, const cx_provider_t *prov,
                               const char **base_url, const char **credential);

/* ---- request helpers (conduix_request.c) ---- */
typedef struct {
    const char *request_id;
    apr_time_t start;
    conduix_server_conf_t *conf;
    cx_key_record_t key;
    int have_key;
    int record_usage;             /* write cx_usage_record_t in log_transaction */
    cx_usage_record_t usage;
} conduix_req_t;

conduix_req_t *conduix_req(request_rec *r);
int conduix_send_json(request_rec *r, int status, const char *body, apr_size_t len);
int conduix_send_error(request_rec *r, cx_error_kind_t kind, const char *message, const char *param);
int conduix_send_error_raw(request_rec *r, int status, const char *body);
/* Authenticate from Authorization: Bearer (or x-api-key); sends the error itself and
 * returns non-OK when the key is refused. */
int conduix_authenticate(request_rec *r, conduix_req_t *ctx);
/* Read the whole body up to the configured limit. Sends 413/400 itself on failure. */
int conduix_read_body(request_rec *r, conduix_req_t *ctx, char **body, apr_size_t *len);
void conduix_set_common_headers(request_rec *r, conduix_req_t *ctx);

/* ---- endpoints ---- */
int conduix_api_models(request_rec *r, conduix_req_t *ctx);
int conduix_api_chat(request_rec *r, conduix_req_t *ctx);
int conduix_api_balance(request_rec *r, conduix_req_t *ctx);

#define CX_RLOG(level, r, ctx, msgid, fmt, ...) \
    ap_log_rerror(APLOG_MARK, level, 0, r, "[%s] " msgid ": " fmt, (ctx)->request_id, ##__VA_ARGS__)

#endif
