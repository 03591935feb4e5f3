/* Key scopes on the request path, and the calling key as an audit actor. */
#include "mod_conduix.h"
#include "cx_keys.h"
#include "cx_scopes.h"

#include <apr_strings.h>
#include <string.h>
#include <strings.h>

APLOG_USE_MODULE(conduix);

int conduix_require_scope(request_rec *r, conduix_req_t *ctx, const char *scope)
{
    if (ctx->have_key && cx_scopes_has(ctx->key.scopes, scope))
        return OK;
    return conduix_send_error(r, CX_E_INSUFFICIENT_SCOPE,
                              apr_psprintf(r->pool, "This API key lacks the '%s' scope needed for "
                                           "%s %s (it has: %s). Mint a key with that scope.",
                                           scope, r->method, r->uri,
                                           ctx->key.scopes && *ctx->key.scopes ? ctx->key.scopes : "none"),
                              NULL);
}

/* The display prefix of the key this request authenticated with (never the secret). */
static const char *presented_prefix(request_rec *r)
{
    const char *auth = apr_table_get(r->headers_in, "Authorization");
    const char *secret = NULL;
    if (auth) {
        while (*auth == ' ')
            auth++;
        if (!strncasecmp(auth, "Bearer ", 7)) {
            secret = auth + 7;
            while (*secret == ' ')
                secret++;
        }
    }
    else {
        secret = apr_table_get(r->headers_in, "x-api-key");
    }
    cx_key_mode_t mode;
    return secret && cx_key_parse(secret, &mode) ? cx_key_display_prefix(r->pool, secret) : NULL;
}

cx_audit_actor_t conduix_key_actor(request_rec *r, conduix_req_t *ctx)
{
    const char *prefix = presented_prefix(r);
    cx_audit_actor_t a = {
        .type = "key",
        .id = ctx->key.key_id,
        .label = prefix ? apr_psprintf(r->pool, "%s (%s)", prefix, ctx->key.name ? ctx->key.name : "")
                        : ctx->key.name,
        .ip = r->useragent_ip,
        .request_id = ctx->request_id,
    };
    return a;
}
