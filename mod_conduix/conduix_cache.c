/* mod_conduix response cache for deterministic chat requests (temperature 0,
 * n <= 1), kept in the shared state as key/values with a TTL.
 *
 * Lookup happens in the chat handler once the request is authenticated, valid,
 * resolved and funded, before any provider is called. A hit is answered from the
 * entry (as JSON or, for stream requests, as synthesized SSE chunks), makes no
 * upstream call and is recorded as a usage row with cache_hit = 1 and nothing
 * charged. On a miss an output filter copies the answer as the client receives
 * it; after the response, in log_transaction, a complete 200 answer (for streams:
 * through [DONE], no error event) becomes the entry. Nothing of this touches how
 * the provider walk itself works. */
#include "conduix_resilience.h"
#include "cx_cache_entry.h"
#include "cx_cache_key.h"
#include "cx_price.h"

#include <http_protocol.h>
#include <http_request.h>
#include <util_filter.h>
#include <apr_strings.h>
#include <string.h>

APLOG_USE_MODULE(conduix);

#define CAPTURE_FILTER "CONDUIX_CACHE_CAPTURE"
#define CAPTURE_KEY "conduix-cache-capture"

typedef struct {
    const char *key;
    const char *model_id;     /* the resolved model: only its own answers are kept */
    int stream;
    apr_size_t max;           /* stop copying beyond this: the entry would not be kept */
    char *buf;
    apr_size_t len, cap;
    int skip;                 /* too large, or not a 200 */
} capture_t;

static int cache_on(conduix_req_t *ctx)
{
    return conduix_conf_int(ctx->conf->cache_enabled, 1) == 1;
}

/* ------------------------------------------------------------ hit */

static void record_hit(request_rec *r, conduix_req_t *ctx, const cx_cache_hit_t *hit,
                       const char *requested, int stream)
{
    cx_usage_record_t *u = &ctx->usage;
    u->request_id = ctx->request_id;
    u->org_id = ctx->key.org_id;
    u->key_id = ctx->key.key_id;
    u->mode = ctx->key.mode;
    u->endpoint = "chat.completions";
    u->requested_model = requested;
    u->served_model = hit->served_model;
    u->provider = hit->provider;
    u->status = 200;
    u->stream = stream;
    u->fallback = 0;
    u->cache_hit = 1;
    u->prompt_tokens = hit->prompt_tokens;
    u->completion_tokens = hit->completion_tokens;
    u->cost_nano = 0;        /* a hit costs nobody anything */
    u->charged_nano = 0;
    u->provider_cost_nano = 0;
    u->latency_ms = (unsigned long)apr_time_as_msec(apr_time_now() - ctx->start);
    ctx->record_usage = 1;
}

static int serve_hit(request_rec *r, conduix_req_t *ctx, const json_t *req, const cx_cache_hit_t *hit,
                     const char *requested, int stream)
{
    apr_table_setn(r->headers_out, "x-conduix-cache", "HIT");
    apr_table_setn(r->headers_out, "x-conduix-provider", hit->provider);
    apr_table_setn(r->headers_out, "x-conduix-model-served", hit->served_model);
    apr_table_setn(r->headers_out, "x-conduix-fallback", "false");
    apr_table_setn(r->headers_out, "x-conduix-cost-credits", cx_nano_format(r->pool, 0));
    apr_table_setn(r->headers_out, "x-conduix-latency-ms",
                   apr_psprintf(r->pool, "%" APR_TIME_T_FMT,
                                apr_time_as_msec(apr_time_now() - ctx->start)));
    record_hit(r, ctx, hit, requested, stream);
    CX_RLOG(APLOG_INFO, r, ctx, "CX0731", "%s answered from the cache (%s/%s, %" APR_UINT64_T_FMT
            "+%" APR_UINT64_T_FMT " tokens, not charged)", requested, hit->provider, hit->served_model,
            (apr_uint64_t)hit->prompt_tokens, (apr_uint64_t)hit->completion_tokens);
    if (!stream) {
        apr_size_t len;
        char *body = cx_cache_replay_json(r->pool, hit, requested, &len);
        return conduix_send_json(r, 200, body, len);
    }
    r->status = 200;
    ap_set_content_type(r, "text/event-stream; charset=utf-8");
    apr_table_setn(r->headers_out, "Cache-Control", "no-cache");
    apr_table_setn(r->headers_out, "X-Accel-Buffering", "no");
    apr_table_setn(r->subprocess_env, "no-gzip", "1");
    apr_array_header_t *chunks = cx_cache_replay_chunks(r->pool, hit, requested,
                                                        cx_openai_client_wants_usage(req));
    for (int i = 0; i < chunks->nelts; i++)
        ap_rvputs(r, "data: ", APR_ARRAY_IDX(chunks, i, const char *), "\n\n", NULL);
    ap_rputs("data: [DONE]\n\n", r);
    ap_rflush(r);
    return OK;
}

/* ------------------------------------------------------------ miss: capture */

static apr_status_t capture_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    capture_t *cap = f->ctx;
    if (!cap->skip && f->r->status != HTTP_OK)
        cap->skip = 1;
    for (apr_bucket *b = APR_BRIGADE_FIRST(bb); !cap->skip && b != APR_BRIGADE_SENTINEL(bb);
         b = APR_BUCKET_NEXT(b)) {
        if (APR_BUCKET_IS_METADATA(b))
            continue;
        const char *data;
        apr_size_t n;
        if (apr_bucket_read(b, &data, &n, APR_BLOCK_READ) != APR_SUCCESS || cap->len + n > cap->max) {
            cap->skip = 1;
            break;
        }
        if (cap->len + n > cap->cap) {
            apr_size_t sz = cap->cap ? cap->cap * 2 : 4096;
            while (sz < cap->len + n)
                sz *= 2;
            char *fresh = apr_palloc(f->r->pool, sz);
            if (cap->len)
                memcpy(fresh, cap->buf, cap->len);
            cap->buf = fresh;
            cap->cap = sz;
        }
        memcpy(cap->buf + cap->len, data, n);
        cap->len += n;
    }
    if (cap->skip) {
        /* Nothing more to keep: step out of the way. */
        ap_remove_output_filter(f);
    }
    return ap_pass_brigade(f->next, bb);
}

int conduix_cache_chat(request_rec *r, conduix_req_t *ctx, const json_t *req,
                       const cx_resolved_t *res, const char *requested)
{
    const cx_state *st = conduix_shared_state();
    if (!st || !cache_on(ctx) || !cx_cache_cacheable(req))
        return DECLINED;
    const char *key = cx_cache_key(r->pool, ctx->key.org_id, res->model->id,
                                   res->pinned ? res->pinned->name : NULL, req);
    if (!key)
        return DECLINED;
    int stream = json_is_true(json_object_get(req, "stream"));

    char *val;
    apr_size_t len;
    cx_state_rc rc = cx_state_kv_get(st, r->pool, key, &val, &len);
    if (rc == CX_STATE_OK) {
        cx_cache_hit_t hit;
        if (cx_cache_entry_parse(r->pool, val, len, &hit) == 0)
            return serve_hit(r, ctx, req, &hit, requested, stream);
        CX_RLOG(APLOG_WARNING, r, ctx, "CX0732", "unreadable cache entry dropped");
        cx_state_del(st, key);
    }
    apr_table_setn(r->headers_out, "x-conduix-cache", "MISS");
    capture_t *cap = apr_pcalloc(r->pool, sizeof *cap);
    cap->key = key;
    cap->model_id = res->model->id;
    cap->stream = stream;
    apr_size_t max = (apr_size_t)conduix_conf_int(ctx->conf->cache_max_entry, CONDUIX_DEFAULT_CACHE_MAX_ENTRY);
    apr_size_t room = cx_state_kv_max(st);
    cap->max = max < room ? max : room;
    ap_add_output_filter(CAPTURE_FILTER, cap, r, r->connection);
    apr_pool_userdata_setn(cap, CAPTURE_KEY, NULL, r->pool);
    return DECLINED;
}

/* ------------------------------------------------------------ miss: store */

static int cache_log_transaction(request_rec *r)
{
    void *data = NULL;
    apr_pool_userdata_get(&data, CAPTURE_KEY, r->pool);
    capture_t *cap = data;
    conduix_req_t *ctx = ap_get_module_config(r->request_config, &conduix_module);
    const cx_state *st = conduix_shared_state();
    if (!cap || cap->skip || !cap->len || !ctx || !st || !ctx->record_usage ||
        ctx->usage.status != HTTP_OK || r->status != HTTP_OK || ctx->usage.cache_hit)
        return DECLINED;
    cx_usage_record_t *u = &ctx->usage;
    /* A fallback's or a cheaper swap's answer stands in for the model asked for
     * only while that choice holds; a hit must always be the model itself. */
    if (u->fallback || !u->served_model || strcmp(u->served_model, cap->model_id)) {
        CX_RLOG(APLOG_DEBUG, r, ctx, "CX0736", "answer not cached: served by %s instead of %s",
                u->served_model ? u->served_model : "nothing", cap->model_id);
        return DECLINED;
    }
    apr_size_t len;
    char *entry = cap->stream
        ? cx_cache_entry_from_sse(r->pool, u->provider, u->served_model, u->prompt_tokens,
                                  u->completion_tokens, cap->buf, cap->len, &len)
        : cx_cache_entry_from_response(r->pool, u->provider, u->served_model, u->prompt_tokens,
                                       u->completion_tokens, cap->buf, cap->len, &len);
    if (!entry) {
        CX_RLOG(APLOG_DEBUG, r, ctx, "CX0733", "answer not cached: incomplete or not a completion");
        return DECLINED;
    }
    if (len > cap->max)
        return DECLINED;
    int ttl = conduix_conf_int(ctx->conf->cache_ttl, CONDUIX_DEFAULT_CACHE_TTL);
    cx_state_rc rc = cx_state_kv_set(st, cap->key, entry, len, apr_time_from_sec(ttl));
    if (rc != CX_STATE_OK)
        CX_RLOG(APLOG_WARNING, r, ctx, "CX0734", "answer not cached: %s", cx_state_rc_name(rc));
    else
        CX_RLOG(APLOG_DEBUG, r, ctx, "CX0735", "answer cached for %d s (%" APR_SIZE_T_FMT " bytes)",
                ttl, len);
    return DECLINED;
}

void conduix_cache_register_hooks(apr_pool_t *p)
{
    ap_register_output_filter(CAPTURE_FILTER, capture_filter, NULL, AP_FTYPE_RESOURCE);
    /* Before the usage row is written: once a request's row is visible, its answer
     * is in the cache. */
    ap_hook_log_transaction(cache_log_transaction, NULL, NULL, APR_HOOK_FIRST);
}
