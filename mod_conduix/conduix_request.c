/* mod_conduix request plumbing shared by every endpoint: request ids, JSON and
 * error responses, authentication and bounded body reading. */
#include "mod_conduix.h"
#include "cx_keys.h"
#include "cx_messages.h"

#include <http_protocol.h>
#include <http_request.h>
#include <apr_strings.h>
#include <string.h>
#include <strings.h>

APLOG_USE_MODULE(conduix);

conduix_req_t *conduix_req(request_rec *r)
{
    conduix_req_t *ctx = ap_get_module_config(r->request_config, &conduix_module);
    if (!ctx) {
        ctx = apr_pcalloc(r->pool, sizeof *ctx);
        ctx->request_id = cx_request_id_new(r->pool);
        ctx->start = r->request_time ? r->request_time : apr_time_now();
        ctx->conf = ap_get_module_config(r->server->module_config, &conduix_module);
        ap_set_module_config(r->request_config, &conduix_module, ctx);
        /* Available to LogFormat as %{CONDUIX_REQUEST_ID}e and to other modules. */
        apr_table_setn(r->subprocess_env, "CONDUIX_REQUEST_ID", ctx->request_id);
        apr_table_setn(r->headers_out, "x-conduix-request-id", ctx->request_id);
    }
    return ctx;
}

void conduix_set_common_headers(request_rec *r, conduix_req_t *ctx)
{
    apr_table_setn(r->headers_out, "x-conduix-request-id", ctx->request_id);
}

int conduix_send_json(request_rec *r, int status, const char *body, apr_size_t len)
{
    r->status = status;
    ap_set_content_type(r, "application/json");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    ap_set_content_length(r, len);
    if (!r->header_only)
        ap_rwrite(body, (int)len, r);
    return OK;
}

/* Errors return DONE rather than OK so that a helper which sends one (authentication,
 * body reading) can tell its caller to stop: "if (rc != OK) return rc". httpd treats
 * DONE from a handler as a completed request. */
int conduix_send_error_raw(request_rec *r, int status, const char *body)
{
    conduix_req_t *ctx = ap_get_module_config(r->request_config, &conduix_module);
    if (ctx && ctx->anthropic_errors)   /* /v1/messages: what Anthropic SDKs parse */
        body = cx_messages_error_body(r->pool, status, body);
    conduix_send_json(r, status, body, strlen(body));
    return DONE;
}

int conduix_send_error(request_rec *r, cx_error_kind_t kind, const char *message, const char *param)
{
    const cx_error_info_t *info = cx_error_info(kind);
    conduix_req_t *ctx = conduix_req(r);
    ap_log_rerror(APLOG_MARK, info->status >= 500 ? APLOG_ERR : APLOG_INFO, 0, r,
                  "[%s] CX0200: %d %s: %s", ctx->request_id, info->status,
                  info->code ? info->code : info->type, message);
    if (kind == CX_E_INVALID_API_KEY)
        apr_table_setn(r->err_headers_out, "WWW-Authenticate", "Bearer realm=\"conduix\"");
    return conduix_send_error_raw(r, info->status, cx_error_body(r->pool, kind, message, param));
}

/* The key from "Authorization: Bearer <key>" or, for Anthropic SDKs, "x-api-key". */
static const char *presented_key(request_rec *r)
{
    const char *auth = apr_table_get(r->headers_in, "Authorization");
    if (auth) {
        while (*auth == ' ')
            auth++;
        if (strncasecmp(auth, "Bearer ", 7))
            return "";
        auth += 7;
        while (*auth == ' ')
            auth++;
        return auth;
    }
    return apr_table_get(r->headers_in, "x-api-key");
}

int conduix_authenticate(request_rec *r, conduix_req_t *ctx)
{
    const char *secret = presented_key(r);
    cx_key_mode_t mode;
    if (!secret || !*secret)
        return conduix_send_error(r, CX_E_INVALID_API_KEY,
                                  "You didn't provide an API key. Send it as 'Authorization: Bearer cx_live_...'.",
                                  NULL);
    /* The secret is never logged; only its display prefix, when it has a key's shape. */
    if (!cx_key_parse(secret, &mode))
        return conduix_send_error(r, CX_E_INVALID_API_KEY,
                                  "Malformed API key: Conduix keys start with cx_live_ or cx_test_.",
                                  NULL);
    conduix_runtime_t *rt = ctx->conf->runtime;
    int found = conduix_key_lookup(rt, r, secret, &ctx->key);
    if (found < 0)
        return conduix_send_error(r, CX_E_INTERNAL,
                                  "The key store is unavailable; please retry shortly.", NULL);
    if (!found || ctx->key.revoked || ctx->key.mode != mode)
        return conduix_send_error(r, CX_E_INVALID_API_KEY,
                                  apr_psprintf(r->pool, "Incorrect API key provided: %s****. "
                                               "The key is unknown or has been revoked.",
                                               cx_key_display_prefix(r->pool, secret)),
                                  NULL);
    ctx->have_key = 1;
    apr_table_setn(r->subprocess_env, "CONDUIX_KEY_ID",
                   apr_psprintf(r->pool, "%" APR_UINT64_T_FMT, (apr_uint64_t)ctx->key.key_id));
    return OK;
}

int conduix_read_body(request_rec *r, conduix_req_t *ctx, char **body, apr_size_t *len)
{
    apr_off_t limit = ctx->conf->max_body == CONDUIX_UNSET ? CONDUIX_DEFAULT_MAX_BODY
                                                           : ctx->conf->max_body;
    const char *too_large = apr_psprintf(r->pool, "Request body is larger than the %"
                                         APR_OFF_T_FMT " bytes this gateway accepts.", limit);
    *body = NULL;
    *len = 0;
    int rc = ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK);
    if (rc != OK)
        return conduix_send_error(r, CX_E_INVALID_REQUEST, "Could not read the request body.", NULL);
    if (r->remaining > limit) {
        /* Refuse without reading what we will not use; the connection cannot be
         * reused since the body is left unread. */
        r->connection->keepalive = AP_CONN_CLOSE;
        return conduix_send_error(r, CX_E_REQUEST_TOO_LARGE, too_large, NULL);
    }
    if (!ap_should_client_block(r))
        return conduix_send_error(r, CX_E_INVALID_REQUEST, "A JSON request body is required.", NULL);
    apr_size_t cap = r->remaining > 0 ? (apr_size_t)r->remaining + 1 : 16384;
    char *buf = apr_palloc(r->pool, cap);
    apr_size_t used = 0;
    for (;;) {
        if (used + 8192 + 1 > cap) {
            apr_size_t ncap = cap * 2;
            char *nb = apr_palloc(r->pool, ncap);
            memcpy(nb, buf, used);
            buf = nb;
            cap = ncap;
        }
        long n = ap_get_client_block(r, buf + used, cap - used - 1);
        if (n < 0) {
            r->connection->keepalive = AP_CONN_CLOSE;
            return conduix_send_error(r, CX_E_INVALID_REQUEST, "Could not read the request body.", NULL);
        }
        if (n == 0)
            break;
        used += (apr_size_t)n;
        if ((apr_off_t)used > limit) {
            r->connection->keepalive = AP_CONN_CLOSE;
            return conduix_send_error(r, CX_E_REQUEST_TOO_LARGE, too_large, NULL);
        }
    }
    buf[used] = '\0';
    *body = buf;
    *len = used;
    return OK;
}
