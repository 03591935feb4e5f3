/* mod_conduix upstream adapters: one attempt at one deployment, in the wire format
 * of its provider. The translation itself lives in lib/ (cx_openai, cx_anthropic,
 * cx_gemini); this file picks the translator, the URL and the auth headers:
 *   openai     {base}/chat/completions             Authorization: Bearer
 *   anthropic  {base}/messages                     x-api-key, anthropic-version
 *   google     {base}/models/{m}:generateContent   x-goog-api-key
 *              (:streamGenerateContent?alt=sse when streaming)
 * BYO endpoints speak the OpenAI format and are reached only past the SSRF guard. */
#include "conduix_pipeline.h"
#include "cx_anthropic.h"
#include "cx_byo.h"
#include "cx_gemini.h"
#include "cx_ssrf.h"

#include <apr_strings.h>
#include <string.h>

APLOG_USE_MODULE(conduix);

struct conduix_upstream {
    const cx_deployment_t *dep;
    cx_api_format_t format;
    const char *url;
    const char *body;
    apr_size_t body_len;
    apr_array_header_t *headers;
    const cx_ssrf_policy_t *guard;
    const char *resolve;
    const char *requested_model;
    const char *id_suffix;          /* chatcmpl-<id_suffix>, call_<id_suffix>_<n> */
    cx_openai_stream_t openai;      /* OPENAI streams */
    cx_xstream_t xs;                /* ANTHROPIC and GOOGLE streams */
};

/* ------------------------------------------------------------------ resolution */

int conduix_resolve_model(request_rec *r, conduix_req_t *ctx, const cx_catalog_t *cat,
                          const char *requested, cx_resolved_t *res)
{
    const char *slug, *model;
    if (!cx_byo_parse_id(r->pool, requested, &slug, &model))
        return cx_catalog_resolve(cat, requested, res);
    conduix_runtime_t *rt = ctx->conf->runtime;
    cx_db *db = conduix_db_acquire(rt, r);
    if (!db)
        return -1;
    cx_byo_t byo;
    int found = cx_byo_lookup(db, r->pool, ctx->key.org_id, slug, &byo);
    if (found < 0)
        CX_RLOG(APLOG_ERR, r, ctx, "CX0320", "BYO endpoint lookup failed: %s", cx_db_error(db));
    conduix_db_release(rt, db);
    if (found <= 0)
        return found;
    if (!byo.enabled || !cx_byo_serves(r->pool, &byo, model))
        return 0;
    cx_byo_resolved(r->pool, &byo, model, res);
    return 1;
}

void conduix_upstream_endpoint(conduix_runtime_t *rt, const cx_deployment_t *dep,
                               const char **base_url, const char **credential)
{
    if (dep->provider->byo) {
        *base_url = dep->provider->base_url;
        /* An endpoint without a credential (a private model server) gets a
         * placeholder so the attempt is made; it sends no Authorization then. */
        *credential = dep->provider->byo_credential ? dep->provider->byo_credential : "";
        return;
    }
    conduix_provider_endpoint(rt, dep->provider, base_url, credential);
}

/* ------------------------------------------------------------------ prepare */

static void refuse(cx_upstream_error_t *e, int status, const char *type, const char *code,
                   const char *message, const char *param)
{
    memset(e, 0, sizeof *e);
    e->status = status;
    e->type = type;
    e->code = code;
    e->message = message;
    e->param = param;
}

static const cx_ssrf_policy_t *byo_policy(conduix_req_t *ctx, apr_pool_t *p)
{
    /* No ConduixByoAllowNetworks: an empty policy, every forbidden class refused. */
    return ctx->conf->byo_allow ? ctx->conf->byo_allow : cx_ssrf_policy_create(p);
}

conduix_upstream_t *conduix_upstream_prepare(request_rec *r, conduix_req_t *ctx,
                                             const cx_deployment_t *dep, const char *base_url,
                                             const char *credential, const json_t *req,
                                             const char *requested_model, int stream,
                                             int client_wants_usage, cx_upstream_error_t *refusal)
{
    apr_pool_t *p = r->pool;
    conduix_upstream_t *u = apr_pcalloc(p, sizeof *u);
    u->dep = dep;
    u->format = dep->provider->api_format;
    u->requested_model = requested_model;
    /* cx-req-<hex>: the hex part names the completion and its tool calls */
    u->id_suffix = strncmp(ctx->request_id, "cx-req-", 7) ? ctx->request_id : ctx->request_id + 7;
    u->headers = apr_array_make(p, 6, sizeof(const char *));
    APR_ARRAY_PUSH(u->headers, const char *) = "Content-Type: application/json";
    /* No headers beyond what the provider needs. A plain answer goes with the
     * client's default Accept (any type); a stream asks for SSE. */
    if (stream)
        APR_ARRAY_PUSH(u->headers, const char *) = "Accept: text/event-stream";

    if (dep->provider->byo && credential && *credential) {
        /* Sealed at rest: opened here, for this request's header only. */
        cx_byo_t view = {.org_id = ctx->key.org_id, .slug = dep->provider->name + 4,
                         .credential = credential};
        const char *why;
        if (cx_byo_open_credential(p, ctx->conf->seal_key, &view, &credential, &why) == CX_SEAL_REFUSED) {
            CX_RLOG(APLOG_ERR, r, ctx, "CX0322", "credential of BYO endpoint %s cannot be opened: %s",
                    dep->provider->name, why);
            refuse(refusal, 500, "api_error", "byo_credential_unavailable",
                   apr_psprintf(p, "The credential of the BYO endpoint '%s' cannot be decrypted by "
                                "this gateway; the operator must configure its secret key.",
                                dep->provider->name), NULL);
            return NULL;
        }
    }

    const char *err = NULL, *param = NULL;
    char *body = NULL;
    switch (u->format) {
    case CX_API_ANTHROPIC:
        body = cx_anthropic_request(p, req, dep->upstream_model, dep->model->max_output_tokens, stream,
                                    &u->body_len, &err, &param);
        u->url = apr_pstrcat(p, base_url, "/messages", NULL);
        APR_ARRAY_PUSH(u->headers, const char *) = apr_pstrcat(p, "x-api-key: ", credential, NULL);
        APR_ARRAY_PUSH(u->headers, const char *) = "anthropic-version: " CX_ANTHROPIC_VERSION;
        break;
    case CX_API_GOOGLE:
        body = cx_gemini_request(p, req, stream, &u->body_len, &err, &param);
        u->url = cx_gemini_url(p, base_url, dep->upstream_model, stream);
        APR_ARRAY_PUSH(u->headers, const char *) = apr_pstrcat(p, "x-goog-api-key: ", credential, NULL);
        break;
    case CX_API_OPENAI:
    default:
        body = cx_openai_upstream_body(p, req, dep->upstream_model, stream, &u->body_len);
        if (!body)
            err = "the request could not be encoded for the provider";
        u->url = apr_pstrcat(p, base_url, "/chat/completions", NULL);
        if (credential && *credential)
            APR_ARRAY_PUSH(u->headers, const char *) = apr_pstrcat(p, "Authorization: Bearer ", credential, NULL);
        break;
    }
    if (!body) {
        refuse(refusal, 400, "invalid_request_error", NULL,
               apr_psprintf(p, "The model '%s' (served by %s) cannot take this request: %s",
                            requested_model, dep->provider->name, err), param);
        return NULL;
    }
    u->body = body;

    if (dep->provider->byo) {
        u->guard = byo_policy(ctx, p);
        const char *why = cx_ssrf_check_url(p, u->guard, u->url, &u->resolve);
        if (why) {
            CX_RLOG(APLOG_WARNING, r, ctx, "CX0321", "BYO endpoint %s refused by the SSRF guard: %s",
                    dep->provider->name, why);
            refuse(refusal, 403, "permission_error", "upstream_address_forbidden",
                   apr_psprintf(p, "The BYO endpoint '%s' cannot be used: %s.", dep->provider->name, why),
                   "model");
            return NULL;
        }
    }

    if (stream) {
        memset(&u->openai, 0, sizeof u->openai);
        u->openai.requested_model = requested_model;
        u->openai.client_wants_usage = client_wants_usage;
        cx_xstream_init(&u->xs, p, requested_model, client_wants_usage, u->id_suffix,
                        (long long)apr_time_sec(apr_time_now()));
    }
    return u;
}

void conduix_upstream_fill(conduix_upstream_t *u, cx_http_request_t *hr)
{
    hr->url = u->url;
    hr->body = u->body;
    hr->body_len = u->body_len;
    hr->headers = u->headers;
    hr->guard = u->guard;
    hr->resolve = u->resolve;
}

/* ------------------------------------------------------------------ answers */

cx_chunk_action_t conduix_upstream_stream_event(conduix_upstream_t *u, apr_pool_t *p,
                                                const char *event, const char *data,
                                                apr_size_t len, apr_array_header_t *out)
{
    switch (u->format) {
    case CX_API_ANTHROPIC:
        return cx_anthropic_stream_event(p, &u->xs, event, data, len, out);
    case CX_API_GOOGLE:
        return cx_gemini_stream_event(p, &u->xs, data, len, out);
    case CX_API_OPENAI:
    default: {
        const char *o;
        apr_size_t olen;
        cx_chunk_action_t a = cx_openai_stream_chunk(p, &u->openai, data, len, &o, &olen);
        if (a == CX_CHUNK_FORWARD || a == CX_CHUNK_ERROR)
            cx_chunk_push(out, o, olen);
        return a == CX_CHUNK_DROP ? CX_CHUNK_FORWARD : a;
    }
    }
}

int conduix_upstream_stream_end(conduix_upstream_t *u, apr_pool_t *p, apr_array_header_t *out)
{
    return u->format == CX_API_GOOGLE ? cx_gemini_stream_end(p, &u->xs, out) : 0;
}

cx_usage_t conduix_upstream_stream_usage(const conduix_upstream_t *u)
{
    return u->format == CX_API_OPENAI ? u->openai.usage : u->xs.usage;
}

char *conduix_upstream_response(conduix_upstream_t *u, apr_pool_t *p, const char *body,
                                apr_size_t len, cx_usage_t *usage, apr_size_t *out_len)
{
    long long now = (long long)apr_time_sec(apr_time_now());
    switch (u->format) {
    case CX_API_ANTHROPIC:
        return cx_anthropic_response(p, body, len, u->requested_model, u->id_suffix, now, usage, out_len);
    case CX_API_GOOGLE:
        return cx_gemini_response(p, body, len, u->requested_model, u->id_suffix, now, usage, out_len);
    case CX_API_OPENAI:
    default:
        return cx_openai_rewrite_response(p, body, len, u->requested_model, usage, out_len);
    }
}

void conduix_upstream_error(conduix_upstream_t *u, apr_pool_t *p, long status, const char *body,
                            apr_size_t len, cx_upstream_error_t *e)
{
    switch (u->format) {
    case CX_API_ANTHROPIC:
        cx_anthropic_error(p, status, body, len, e);
        return;
    case CX_API_GOOGLE:
        cx_gemini_error(p, status, body, len, e);
        return;
    case CX_API_OPENAI:
    default: {
        cx_upstream_error_default(p, status, u->dep->provider->name, e);
        const char *msg, *type, *param, *code;
        cx_openai_parse_error(p, body, len, &msg, &type, &param, &code);
        if (msg)
            e->message = msg;
        if (type)
            e->type = type;
        e->param = param;
        e->code = code;
        return;
    }
    }
}
