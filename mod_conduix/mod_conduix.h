/* mod_conduix: httpd glue for the Conduix gateway. Everything that can be decided
 * without a request_rec lives in lib/; these files turn HTTP into calls of lib/. */
#ifndef MOD_CONDUIX_H
#define MOD_CONDUIX_H

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <apr_hash.h>
#include <apr_time.h>

#include "cx_allowlist.h"
#include "cx_audit.h"
#include "cx_catalog.h"
#include "cx_dsn.h"
#include "cx_error.h"
#include "cx_http.h"
#include "cx_openai.h"
#include "cx_ssrf.h"
#include "cx_store.h"
#include "cx_usage.h"

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
    int stream_slice;             /* microseconds a stream relay asks for; 0: none */
    int key_cache_ttl;            /* seconds */
    int catalog_refresh;          /* seconds */
    int db_pool_max;
    const char *spool_dir;        /* usage rows wait here while the database is down */
    cx_ssrf_policy_t *byo_allow;  /* ConduixByoAllowNetworks; NULL = none */
    /* resilience: shared state, breakers, cache, budget alerts (conduix_resilience.h) */
    const char *shared_state;     /* "shm" */
    apr_off_t shared_state_size;  /* bytes; only the main server's value counts */
    int breaker_threshold;
    int breaker_open_seconds;
    int cache_enabled;
    int cache_ttl;                /* seconds */
    int cache_max_entry;          /* bytes */
    apr_array_header_t *budget_alerts;   /* conduix_alert_conf_t */
    conduix_runtime_t *runtime;   /* per child, set in child_init */
    const char *jwt_secret_file;  /* ConduixJWTSecretFile; NULL = /api/usage disabled */
    const unsigned char *jwt_secret;  /* read in post_config (as root), never logged */
    apr_size_t jwt_secret_len;
    const char *secret_key_file;  /* ConduixSecretKeyFile: opens sealed BYO credentials */
    const struct cx_seal_key_t *seal_key;   /* read in post_config (as root); NULL = none */
} conduix_server_conf_t;

/* Effective values after defaults. */
#define CONDUIX_DEFAULT_MAX_BODY        (8 * 1024 * 1024)
#define CONDUIX_DEFAULT_UPSTREAM_TIMEOUT 120
#define CONDUIX_DEFAULT_CONNECT_TIMEOUT 10
#define CONDUIX_DEFAULT_STREAM_SLICE    200   /* microseconds; 0: the kernel's default */
#define CONDUIX_DEFAULT_KEY_CACHE_TTL   5
#define CONDUIX_DEFAULT_CATALOG_REFRESH 30

extern const command_rec conduix_cmds[];
void *conduix_create_server_conf(apr_pool_t *p, server_rec *s);
void *conduix_merge_server_conf(apr_pool_t *p, void *base, void *add);
/* Resolve credentials (env:/file:) for every ConduixProvider; NULL or an error. */
const char *conduix_resolve_credential(apr_pool_t *p, const char *ref, const char **out);
int conduix_conf_int(int v, int dflt);

/* ---- per-child runtime (conduix_runtime.c) ---- */
/* The pool every per-child structure of Conduix lives in (a child of pchild, the same
 * one for every call in a process). The MPMs give pchild an allocator without a mutex
 * (prefork also draws every connection and request pool from it), while Conduix's own
 * threads (usage writer, alert sender) and the request threads allocate from its
 * per-child pools at the same time: those pools must hang under an allocator that
 * locks. */
apr_pool_t *conduix_child_pool(apr_pool_t *pchild);
conduix_runtime_t *conduix_runtime_create(apr_pool_t *pchild, server_rec *s,
                                          conduix_server_conf_t *conf);
/* r may be NULL (threads without a request log against the server). */
#define CONDUIX_DB_STALE_RETRIES 32   /* more than a child's pool holds */
cx_db *conduix_db_acquire(conduix_runtime_t *rt, request_rec *r);
void conduix_db_release(conduix_runtime_t *rt, cx_db *db);
int conduix_db_pool_size(conduix_runtime_t *rt);   /* connections the child's pool may hold */
/* The current catalog snapshot, held until r's pool is cleaned up. */
const cx_catalog_t *conduix_catalog(conduix_runtime_t *rt, request_rec *r);
/* A key's allowlist compiled against cat (the snapshot r holds): cx_allowlist_compile,
 * kept with the snapshot so each distinct list is compiled once per snapshot. */
int conduix_allowlist(conduix_runtime_t *rt, request_rec *r, const cx_catalog_t *cat,
                      const char *json_text, cx_allowlist_t **out, const char **err);
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
conduix_usage_queue_t *conduix_usage_queue_create(apr_pool_t *pool, server_rec *s,
                                                  conduix_runtime_t *rt);
conduix_usage_queue_t *conduix_runtime_usage_queue(conduix_runtime_t *rt);
conduix_server_conf_t *conduix_runtime_conf(conduix_runtime_t *rt);
/* Spool bookkeeping: "due" is true at most every few seconds, and at once after this
 * child spooled a row, so healthy children look for spool files rarely. */
int conduix_runtime_spool_due(conduix_runtime_t *rt);
void conduix_runtime_spool_dirty(conduix_runtime_t *rt);
/* Per-child cache of org governance settings (conduix_settings.c). */
struct conduix_settings_cache *conduix_settings_cache_create(apr_pool_t *pool);
struct conduix_settings_cache *conduix_runtime_settings(conduix_runtime_t *rt);
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
    int anthropic_errors;         /* /v1/messages: errors in Anthropic's envelope */
    const char *denied_code;      /* a policy refusal to audit after the response */
    const char *denied_model;
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
int conduix_api_messages(request_rec *r, conduix_req_t *ctx);
int conduix_api_keys(request_rec *r, conduix_req_t *ctx);            /* /v1/keys[/{id}] */
int conduix_api_usage(request_rec *r, conduix_req_t *ctx);           /* /v1/account/usage[/{request_id}] */
int conduix_api_audit(request_rec *r, conduix_req_t *ctx);           /* /v1/account/audit */
int conduix_api_dashboard_usage(request_rec *r, conduix_req_t *ctx); /* /api/usage (dashboard JWT) */
/* The usage report of /v1/account/usage and /api/usage (from, to, bucket, group_by,
 * key_id in args), answered from cx_usage_query. */
int conduix_usage_report(request_rec *r, conduix_req_t *ctx, uint64_t org_id, apr_table_t *args,
                         cx_bucket_t default_bucket);
/* Read ConduixJWTSecretFile in post_config, while still root. NULL or an error. */
const char *conduix_jwt_post_config(apr_pool_t *pconf, conduix_server_conf_t *conf);

/* ---- query strings (conduix_query.c) ---- */
/* Parse r->args into *out. Parameters not in allowed (NULL-terminated) and repeated
 * parameters are refused with 400 naming them (a typo must not be silently ignored). */
int conduix_query_args(request_rec *r, const char *const *allowed, apr_table_t **out);
/* A whole number parameter within [min, max] (dflt when absent); sends 400 otherwise. */
int conduix_query_int(request_rec *r, apr_table_t *args, const char *name, long long min,
                      long long max, long long dflt, long long *out);

/* ---- key scopes and the audit actor (conduix_scope.c) ---- */
/* OK when the authenticated key holds scope; else sends 403 insufficient_scope. */
int conduix_require_scope(request_rec *r, conduix_req_t *ctx, const char *scope);
/* The authenticated key as the actor of an audit row (IP, request id, prefix and name). */
cx_audit_actor_t conduix_key_actor(request_rec *r, conduix_req_t *ctx);
/* Note a request refused by the key's policy (code: model_not_allowed, ...); the
 * request.denied audit row is written after the response, in log_transaction, so a
 * refusal never waits for the database. Best effort: a failure is logged, never sent. */
void conduix_audit_refusal(request_rec *r, conduix_req_t *ctx, const char *code, const char *model);
void conduix_audit_refusal_write(request_rec *r, conduix_req_t *ctx);

#define CX_RLOG(level, r, ctx, msgid, fmt, ...) \
    ap_log_rerror(APLOG_MARK, level, 0, r, "[%s] " msgid ": " fmt, (ctx)->request_id, ##__VA_ARGS__)

#endif
