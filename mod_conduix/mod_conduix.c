/* mod_conduix: the Conduix LLM gateway inside Apache httpd.
 *
 * Process model: OpenSSL, libcurl and the MySQL client library are initialised once
 * in the parent (second post_config pass); database connections, upstream
 * connections and caches are created per child in child_init and never cross a fork. The handler serves
 * /v1/...; usage rows are written in log_transaction, after the client has its
 * answer. */
#include "mod_conduix.h"
#include "conduix_governance.h"
#include "conduix_resilience.h"
#include "cx_log.h"
#include "cx_price.h"
#include "cx_seal.h"

#include <ap_mpm.h>
#include <http_core.h>
#include <http_protocol.h>
#include <http_request.h>
#include <apr_strings.h>
#include <apr_file_io.h>
#include <mysql.h>
#include <errno.h>
#include <unistd.h>
#include <unixd.h>
#include <string.h>


static server_rec *log_server;

/* lib/ logs through this sink so its messages land in the error log with ids. */
static void lib_log_sink(void *baton, cx_log_level_t level, const char *request_id,
                         const char *msgid, const char *message)
{
    static const int levels[] = {APLOG_ERR, APLOG_WARNING, APLOG_INFO, APLOG_DEBUG};
    ap_log_error(APLOG_MARK, levels[level], 0, log_server, "%s%s%s: %s",
                 request_id ? "[" : "", request_id ? request_id : "", request_id ? "] " : "",
                 message ? message : msgid);
}

static apr_status_t mysql_library_cleanup(void *data)
{
    mysql_library_end();
    return APR_SUCCESS;
}

static int conduix_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    /* The first pass only checks the configuration; do real work once. */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG)
        return OK;
    log_server = s;
    cx_log_set_sink(lib_log_sink, NULL);

    static int libraries_ready = 0;
    if (!libraries_ready) {
        if (cx_http_global_init() != 0) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "CX0001: the upstream HTTP libraries (OpenSSL, libcurl) failed to initialise");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        if (mysql_library_init(0, NULL, NULL)) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "CX0002: mysql_library_init failed");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        apr_pool_cleanup_register(pconf, NULL, mysql_library_cleanup, apr_pool_cleanup_null);
        libraries_ready = 1;
    }

    for (server_rec *vs = s; vs; vs = vs->next) {
        conduix_server_conf_t *conf = ap_get_module_config(vs->module_config, &conduix_module);
        if (conf->engine != 1)
            continue;
        if (!conf->dsn) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, vs,
                         "CX0003: ConduixEngine is On but ConduixDatabase is not set");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        /* Credentials are read here, while still root, so a root-only file works.
         * Only their presence is logged, never the value. */
        for (apr_hash_index_t *hi = apr_hash_first(ptemp, conf->providers); hi; hi = apr_hash_next(hi)) {
            void *v;
            apr_hash_this(hi, NULL, NULL, &v);
            conduix_provider_conf_t *pc = v;
            const char *err = conduix_resolve_credential(pconf, pc->credential_ref, &pc->credential);
            if (err) {
                ap_log_error(APLOG_MARK, APLOG_CRIT, 0, vs, "CX0004: ConduixProvider %s: %s", pc->name, err);
                return HTTP_INTERNAL_SERVER_ERROR;
            }
            if (!pc->credential)
                ap_log_error(APLOG_MARK, APLOG_WARNING, 0, vs,
                             "CX0005: ConduixProvider %s: %s is empty; the provider is skipped",
                             pc->name, pc->credential_ref);
        }
        if (!conf->spool_dir)
            conf->spool_dir = ap_runtime_dir_relative(pconf, "conduix-spool");
        apr_status_t rv = apr_dir_make_recursive(conf->spool_dir, APR_FPROT_OS_DEFAULT, ptemp);
        if (rv != APR_SUCCESS && !APR_STATUS_IS_EEXIST(rv)) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, vs, "CX0006: cannot create ConduixSpoolDir %s",
                         conf->spool_dir);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        /* Children write the spool after dropping root. */
        if (geteuid() == 0 && chown(conf->spool_dir, ap_unixd_config.user_id, ap_unixd_config.group_id))
            ap_log_error(APLOG_MARK, APLOG_WARNING, errno, vs, "CX0007: cannot hand %s to the httpd user",
                         conf->spool_dir);
        const char *jwt_err = conduix_jwt_post_config(pconf, conf);
        if (jwt_err) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, vs, "CX0008: ConduixJWTSecretFile: %s", jwt_err);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        if (conf->secret_key_file) {
            cx_seal_key_t *key;
            const char *key_err;
            if (cx_seal_key_load(pconf, conf->secret_key_file, &key, &key_err)) {
                ap_log_error(APLOG_MARK, APLOG_CRIT, 0, vs, "CX0009: ConduixSecretKeyFile: %s", key_err);
                return HTTP_INTERNAL_SERVER_ERROR;
            }
            conf->seal_key = key;
        }
    }
    ap_add_version_component(pconf, "mod_conduix/" CONDUIX_VERSION);
    return OK;
}

static void conduix_child_init(apr_pool_t *pchild, server_rec *s)
{
    conduix_runtime_t *shared = NULL;
    conduix_server_conf_t *main_conf = ap_get_module_config(s->module_config, &conduix_module);
    for (server_rec *vs = s; vs; vs = vs->next) {
        conduix_server_conf_t *conf = ap_get_module_config(vs->module_config, &conduix_module);
        if (conf->engine != 1)
            continue;
        /* Virtual hosts that inherit the main server's database share its runtime. */
        if (conf->dsn == main_conf->dsn && main_conf->engine == 1) {
            if (!shared)
                shared = conduix_runtime_create(pchild, s, main_conf);
            conf->runtime = shared;
        }
        else {
            conf->runtime = conduix_runtime_create(pchild, vs, conf);
        }
    }
}

static int conduix_map_to_storage(request_rec *r)
{
    conduix_server_conf_t *conf = ap_get_module_config(r->server->module_config, &conduix_module);
    /* API paths never map to files: skip the filesystem walk for them. */
    if (conf->engine == 1 && (!strncmp(r->uri, "/v1/", 4) || !strcmp(r->uri, "/api/usage")))
        return OK;
    return DECLINED;
}

static int conduix_handler(request_rec *r)
{
    conduix_server_conf_t *conf = ap_get_module_config(r->server->module_config, &conduix_module);
    if (conf->engine == 1 && !strcmp(r->uri, "/api/usage"))
        return conduix_api_dashboard_usage(r, conduix_req(r));
    if (conf->engine != 1 || strncmp(r->uri, "/v1/", 4))
        return DECLINED;
    conduix_req_t *ctx = conduix_req(r);
    if (!conf->runtime)
        return conduix_send_error(r, CX_E_INTERNAL, "The gateway is not initialised.", NULL);
    const char *path = r->uri + 3;
    if (!strcmp(path, "/chat/completions"))
        return conduix_api_chat(r, ctx);
    if (!strcmp(path, "/messages"))
        return conduix_api_messages(r, ctx);
    if (!strcmp(path, "/models") || !strncmp(path, "/models/", 8))
        return conduix_api_models(r, ctx);
    if (!strcmp(path, "/account/balance"))
        return conduix_api_balance(r, ctx);
    if (!strcmp(path, "/keys") || !strncmp(path, "/keys/", 6))
        return conduix_api_keys(r, ctx);
    if (!strcmp(path, "/account/usage") || !strncmp(path, "/account/usage/", 15))
        return conduix_api_usage(r, ctx);
    if (!strcmp(path, "/account/audit"))
        return conduix_api_audit(r, ctx);
    return conduix_send_error(r, CX_E_NOT_FOUND,
                              apr_psprintf(r->pool, "Unknown endpoint %s %s.", r->method, r->uri), NULL);
}

static int conduix_log_transaction(request_rec *r)
{
    conduix_req_t *ctx = ap_get_module_config(r->request_config, &conduix_module);
    if (!ctx)
        return DECLINED;
    if (ctx->denied_code)
        conduix_audit_refusal_write(r, ctx);
    if (ctx->record_usage)
        conduix_usage_record(ctx->conf->runtime, r, &ctx->usage);
    return OK;
}

static void conduix_register_hooks(apr_pool_t *p)
{
    ap_hook_post_config(conduix_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(conduix_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_map_to_storage(conduix_map_to_storage, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_handler(conduix_handler, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_log_transaction(conduix_log_transaction, NULL, NULL, APR_HOOK_MIDDLE);
    conduix_state_register_hooks(p);
    conduix_cache_register_hooks(p);
    conduix_budget_register_hooks(p);
    conduix_spend_register_hooks(p);
}

AP_DECLARE_MODULE(conduix) = {
    STANDARD20_MODULE_STUFF,
    NULL,                        /* per-directory config */
    NULL,
    conduix_create_server_conf,
    conduix_merge_server_conf,
    conduix_cmds,
    conduix_register_hooks,
#if defined(AP_MODULE_FLAG_ALWAYS_MERGE)
    AP_MODULE_FLAG_ALWAYS_MERGE
#endif
};
