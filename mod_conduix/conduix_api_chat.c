/* POST /v1/chat/completions: authenticate, validate, resolve the model, apply the
 * governance levers (allowlist, rate limit, region, spend caps, wallet), then walk
 * the model's candidates until one answers. Non-streamed answers are rewritten
 * (model echoes the request) and sent whole; streamed answers are relayed event by
 * event with a flush after each, never buffered. Usage is recorded after the
 * response, in log_transaction. */
#include "mod_conduix.h"
#include "conduix_governance.h"
#include "conduix_pipeline.h"
#include "conduix_resilience.h"
#include "cx_json.h"
#include "cx_price.h"
#include "cx_sched.h"
#include "cx_sse.h"
#include "cx_validate.h"

#include <http_protocol.h>
#include <apr_strings.h>
#include <string.h>

APLOG_USE_MODULE(conduix);

typedef enum {
    ATTEMPT_SERVED = 0,     /* the client got its answer (or a committed stream ended) */
    ATTEMPT_RETRY,          /* failed in a way another provider may not: try the next */
    ATTEMPT_CLIENT_ERROR,   /* the upstream refused the request itself: relay, stop */
    ATTEMPT_BAD_RESPONSE    /* the upstream answered 2xx with something unusable */
} attempt_outcome_t;

typedef struct {
    request_rec *r;
    conduix_req_t *ctx;
    const char *requested_model;
    const json_t *req;
    int stream;
    /* the attempt in progress */
    const cx_deployment_t *dep;
    int fallback;
    const conduix_gov_t *gov;   /* what the fallback flag and the swap header depend on */
    conduix_client_t *client;   /* NULL: the client speaks chat completions */
    conduix_upstream_t *up;     /* the attempt's wire-format adapter */
    /* streaming state */
    cx_sse_parser *parser;
    apr_pool_t *event_pool;
    apr_bucket_brigade *out;    /* one event at a time to the client, reused */
    int committed;          /* response headers went to the client */
    int first_event_out;    /* an event reached the client's connection */
    cx_sched_saved_t slice; /* while it holds a slice, the relay runs with the short one */
    int done;               /* [DONE] forwarded */
    int error_event;        /* upstream sent an error event, forwarded */
    int client_gone;
    /* result */
    cx_usage_t usage;
    int status;
    const char *failure;    /* last failure, for logs and the final error */
} chat_t;

static void set_route_headers(chat_t *c)
{
    request_rec *r = c->r;
    apr_table_setn(r->headers_out, "x-conduix-provider", c->dep->provider->name);
    apr_table_setn(r->headers_out, "x-conduix-model-served", c->dep->model->id);
    apr_table_setn(r->headers_out, "x-conduix-fallback", c->fallback ? "true" : "false");
    /* A swap is reported only when its target answered: when the target failed and
     * the requested model served, nothing was swapped. */
    if (c->gov->swapped_to && c->dep->model != c->gov->swapped_to)
        apr_table_unset(r->headers_out, "x-gateway-routed-from");
    apr_table_setn(r->headers_out, "x-conduix-latency-ms",
                   apr_psprintf(r->pool, "%" APR_TIME_T_FMT,
                                apr_time_as_msec(apr_time_now() - c->ctx->start)));
}

/* ---------------------------------------------------------------- streaming */

static void stream_commit(chat_t *c)
{
    if (c->committed)
        return;
    request_rec *r = c->r;
    r->status = 200;
    ap_set_content_type(r, "text/event-stream; charset=utf-8");
    apr_table_setn(r->headers_out, "Cache-Control", "no-cache");
    apr_table_setn(r->headers_out, "X-Accel-Buffering", "no");
    /* Compression filters would hold events back to fill their buffers. */
    apr_table_setn(r->subprocess_env, "no-gzip", "1");
    set_route_headers(c);
    c->committed = 1;
}

/* While a thread relays a stream it runs with a short scheduler slice: an event that
 * wakes it on a busy CPU then goes out at once instead of after that CPU's current
 * run (cx_sched.h). Its work is short bursts between socket waits, which a 200 us
 * slice rarely cuts. The kernel's slice comes back when the stream ends: kept for
 * the plain requests the thread serves next, it cost throughput under load. Three
 * system calls a stream. Measured in docs/performance.md. */
static void shorten_slice(chat_t *c)
{
    cx_sched_slice_shorten(
        (unsigned)conduix_conf_int(c->ctx->conf->stream_slice, CONDUIX_DEFAULT_STREAM_SLICE), &c->slice);
}

/* The short slice's other side: the client woken by the first event cannot preempt
 * the relay on a shared CPU, and would read that event only after the relay had
 * passed on the provider's whole backlog. One yield per stream lets it read now. */
static void relay_first_event_sent(chat_t *c)
{
    if (c->slice.slice_ns)
        cx_sched_step_aside();
}

/* One event, then a flush: the event leaves in a write of its own, now. The buckets
 * point at the caller's bytes (transient: a filter that must keep them copies them),
 * and go down the chain in one pass, without ap_rwrite's buffering copy. */
static int sse_write(chat_t *c, const char *event, const char *data, apr_size_t len)
{
    if (c->client_gone)
        return -1;
    request_rec *r = c->r;
    apr_bucket_alloc_t *ba = r->connection->bucket_alloc;
    if (!c->out)
        c->out = apr_brigade_create(r->pool, ba);
    apr_bucket_brigade *bb = c->out;
    if (event) {
        APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_immortal_create("event: ", 7, ba));
        APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_transient_create(event, strlen(event), ba));
        APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_immortal_create("\n", 1, ba));
    }
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_immortal_create("data: ", 6, ba));
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_transient_create(data, len, ba));
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_immortal_create("\n\n", 2, ba));
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_flush_create(ba));
    apr_status_t rv = ap_pass_brigade(r->output_filters, bb);
    apr_brigade_cleanup(bb);
    if (rv != APR_SUCCESS || r->connection->aborted) {
        c->client_gone = 1;
        return -1;
    }
    if (!c->first_event_out) {
        c->first_event_out = 1;
        relay_first_event_sent(c);
    }
    return 0;
}

static int write_events(chat_t *c, const apr_array_header_t *evs)
{
    for (int i = 0; i < evs->nelts; i++) {
        const cx_msg_event_t *e = &APR_ARRAY_IDX(evs, i, cx_msg_event_t);
        if (sse_write(c, e->event, e->data, e->len) < 0)
            return -1;
    }
    return 0;
}

/* One chat.completion.chunk (or an error envelope) in the client's format. */
static int stream_write(chat_t *c, const char *data, apr_size_t len)
{
    if (!c->client)
        return sse_write(c, NULL, data, len);
    apr_array_header_t *evs = apr_array_make(c->event_pool, 4, sizeof(cx_msg_event_t));
    cx_msgstream_chunk(c->event_pool, &c->client->msg, data, len, evs);
    return write_events(c, evs);
}

/* An error envelope that ends a stream (no [DONE] follows). */
static int stream_write_error(chat_t *c, const char *body, apr_size_t len)
{
    if (!c->client)
        return sse_write(c, NULL, body, len);
    const char *ab = cx_messages_error_body(c->event_pool, 502, body);
    return sse_write(c, "error", ab, strlen(ab));
}

/* The end of a complete answer: [DONE], or Anthropic's closing events. */
static int stream_done(chat_t *c)
{
    c->done = 1;
    if (!c->client)
        return sse_write(c, NULL, "[DONE]", 6);
    apr_array_header_t *evs = apr_array_make(c->event_pool, 4, sizeof(cx_msg_event_t));
    cx_msgstream_done(c->event_pool, &c->client->msg, evs);
    return write_events(c, evs);
}

static int forward_chunks(chat_t *c, const apr_array_header_t *out)
{
    for (int i = 0; i < out->nelts; i++) {
        const cx_chunk_t *ch = &APR_ARRAY_IDX(out, i, cx_chunk_t);
        stream_commit(c);
        if (stream_write(c, ch->data, ch->len) < 0)
            return -1;
    }
    return 0;
}

static int on_event(void *baton, const char *event_name, const char *data, apr_size_t len)
{
    chat_t *c = baton;
    apr_pool_clear(c->event_pool);
    apr_array_header_t *out = cx_chunks_make(c->event_pool);
    cx_chunk_action_t action = conduix_upstream_stream_event(c->up, c->event_pool, event_name,
                                                             data, len, out);
    switch (action) {
    case CX_CHUNK_DONE:
        if (forward_chunks(c, out) < 0)
            return -1;
        stream_commit(c);
        return stream_done(c);
    case CX_CHUNK_ERROR:
        c->error_event = 1;
        if (!c->committed) {
            /* Nothing reached the client yet: the next provider may still answer. */
            const char *msg = NULL, *type, *param, *code;
            if (out->nelts)
                cx_openai_parse_error(c->event_pool, APR_ARRAY_IDX(out, 0, cx_chunk_t).data,
                                      APR_ARRAY_IDX(out, 0, cx_chunk_t).len, &msg, &type, &param, &code);
            c->failure = apr_psprintf(c->r->pool, "%s sent an error event before any output: %s",
                                      c->dep->provider->name, msg ? msg : "(no message)");
            return 1;
        }
        if (out->nelts)
            stream_write_error(c, APR_ARRAY_IDX(out, 0, cx_chunk_t).data, APR_ARRAY_IDX(out, 0, cx_chunk_t).len);
        return 1;   /* an error event ends the stream */
    case CX_CHUNK_FORWARD:
    default:
        return forward_chunks(c, out);
    }
}

static int on_stream_data(void *baton, const char *buf, apr_size_t len)
{
    chat_t *c = baton;
    if (c->done)
        return 0;   /* ignore anything after [DONE] */
    return cx_sse_feed(c->parser, buf, len);
}

/* A stream that already reached the client cannot fall over: end it with an error
 * event and no [DONE], so SDKs raise instead of treating a cut answer as complete. */
static void stream_fail(chat_t *c, const char *why)
{
    const char *body = cx_error_body(c->r->pool, CX_E_UPSTREAM,
                                     apr_psprintf(c->r->pool, "The upstream stream from %s ended "
                                                  "early: %s", c->dep->provider->name, why), NULL);
    stream_write_error(c, body, strlen(body));
}

/* ---------------------------------------------------------------- one attempt */

static attempt_outcome_t attempt(chat_t *c, const char *base_url, const char *credential)
{
    request_rec *r = c->r;
    conduix_req_t *ctx = c->ctx;
    /* The client's stream gets usage only when it asked; /v1/messages always needs it. */
    int wants_usage = c->client ? 1 : cx_openai_client_wants_usage(c->req);
    cx_upstream_error_t refusal;
    c->up = conduix_upstream_prepare(r, ctx, c->dep, base_url, credential, c->req,
                                     c->requested_model, c->stream, wants_usage, &refusal);
    if (!c->up) {
        /* Nothing was sent: the request cannot go to this deployment at all. */
        c->status = refusal.status;
        c->usage = (cx_usage_t){0};
        set_route_headers(c);
        conduix_send_error_raw(r, refusal.status, cx_upstream_error_body(r->pool, &refusal));
        return ATTEMPT_CLIENT_ERROR;
    }

    int timeout = conduix_conf_int(ctx->conf->upstream_timeout, CONDUIX_DEFAULT_UPSTREAM_TIMEOUT);
    cx_http_request_t req = {
        .connect_timeout_ms = 1000L * conduix_conf_int(ctx->conf->connect_timeout, CONDUIX_DEFAULT_CONNECT_TIMEOUT),
        .timeout_ms = 1000L * timeout,
        .idle_timeout_ms = 1000L * timeout,
        .max_response = 64 * 1024 * 1024,
        .stream = c->stream,
        .on_data = on_stream_data,
        .baton = c,
    };
    conduix_upstream_fill(c->up, &req);
    if (c->stream) {
        c->parser = cx_sse_parser_create(r->pool, on_event, c, 0);
        c->done = c->error_event = 0;
    }
    if (c->stream)
        shorten_slice(c);
    cx_http_response_t resp;
    cx_http_result_t res = cx_http_perform(conduix_http_pool(ctx->conf->runtime), r->pool, &req, &resp);
    cx_sched_slice_restore(&c->slice);   /* nothing when nothing was shortened */
    CX_RLOG(APLOG_DEBUG, r, ctx, "CX0301", "upstream %s %s -> result %d status %ld",
            c->dep->provider->name, c->dep->upstream_model, (int)res, resp.status);

    if (c->stream && c->committed) {
        /* The client has seen bytes from this attempt: it is final either way. */
        c->status = 200;
        if (!c->done && !c->error_event && !c->client_gone) {
            int cut = cx_sse_finish(c->parser);
            apr_array_header_t *tail = cx_chunks_make(c->event_pool);
            if (res == CX_HTTP_OK && !cut && conduix_upstream_stream_end(c->up, c->event_pool, tail)) {
                /* a format without a terminator event (Gemini) ended complete */
                if (forward_chunks(c, tail) == 0)
                    stream_done(c);
            }
            else {
                const char *why = res != CX_HTTP_OK ? (resp.error ? resp.error : "transfer failed")
                                  : cut ? "the connection closed mid-event" : "no [DONE] was sent";
                CX_RLOG(APLOG_WARNING, r, ctx, "CX0302", "stream from %s cut: %s", c->dep->provider->name, why);
                stream_fail(c, why);
                c->status = 502;
            }
        }
        c->usage = conduix_upstream_stream_usage(c->up);
        if (c->client_gone)
            c->status = 499;   /* client closed the connection */
        return ATTEMPT_SERVED;
    }
    if (res == CX_HTTP_OK && resp.status >= 200 && resp.status < 300) {
        if (c->stream) {
            c->failure = "the upstream stream ended before sending any event";
            return ATTEMPT_RETRY;
        }
        apr_size_t out_len;
        cx_usage_t usage = {0};
        char *out = conduix_upstream_response(c->up, r->pool, resp.body, resp.body_len, &usage, &out_len);
        if (out && c->client)
            out = cx_messages_from_chat(r->pool, out, out_len, &out_len);
        if (!out) {
            c->failure = apr_psprintf(r->pool, "%s answered with a body that is not JSON",
                                      c->dep->provider->name);
            return ATTEMPT_BAD_RESPONSE;
        }
        c->usage = usage;
        c->status = 200;
        set_route_headers(c);
        cx_price_t price = c->dep->price;
        cx_nano_t cost = cx_price_cost(&price, usage.prompt_tokens, usage.completion_tokens,
                                       ctx->key.org_multiplier_ppm ? ctx->key.org_multiplier_ppm : CX_PPM_LIST);
        apr_table_setn(r->headers_out, "x-conduix-cost-credits", cx_nano_format(r->pool, cost));
        conduix_send_json(r, 200, out, out_len);
        return ATTEMPT_SERVED;
    }
    if (res == CX_HTTP_OK) {
        cx_upstream_error_t e;
        conduix_upstream_error(c->up, r->pool, resp.status, resp.body, resp.body_len, &e);
        if (e.retry || resp.status < 400) {
            c->failure = apr_psprintf(r->pool, "%s answered HTTP %ld", c->dep->provider->name, resp.status);
            return ATTEMPT_RETRY;
        }
        /* The provider judged the request itself invalid: the caller must hear it,
         * in the OpenAI envelope, and no other provider will think differently. */
        c->status = (int)resp.status;
        set_route_headers(c);
        conduix_send_error_raw(r, (int)resp.status, cx_upstream_error_body(r->pool, &e));
        return ATTEMPT_CLIENT_ERROR;
    }
    if (!(c->stream && c->error_event))   /* else c->failure says what the event said */
        c->failure = apr_psprintf(r->pool, "%s: %s", c->dep->provider->name,
                                  resp.error ? resp.error : "transfer failed");
    return ATTEMPT_RETRY;
}

/* ---------------------------------------------------------------- the endpoint */

int conduix_inference_request(request_rec *r, conduix_req_t *ctx, const char *use_hint,
                              json_t **doc)
{
    *doc = NULL;
    if (r->method_number != M_POST)
        return conduix_send_error(r, CX_E_METHOD_NOT_ALLOWED, use_hint, NULL);
    int rc = conduix_authenticate(r, ctx);
    if (rc != OK)
        return rc;
    if ((rc = conduix_require_scope(r, ctx, "inference")) != OK)
        return rc;
    char *body;
    apr_size_t body_len;
    if ((rc = conduix_read_body(r, ctx, &body, &body_len)) != OK || !body)
        return rc;
    const char *perr;
    *doc = cx_json_parse(r->pool, body, body_len, &perr);
    if (!*doc)
        return conduix_send_error(r, CX_E_INVALID_REQUEST,
                                  apr_psprintf(r->pool, "We could not parse the JSON body of your "
                                               "request (%s).", perr), NULL);
    return OK;
}

int conduix_api_chat(request_rec *r, conduix_req_t *ctx)
{
    json_t *req;
    int rc = conduix_inference_request(r, ctx, "Use POST on /v1/chat/completions.", &req);
    if (rc != OK || !req)
        return rc;
    cx_verr_t verr;
    if (!cx_validate_chat(r->pool, req, &verr))
        return conduix_send_error(r, CX_E_INVALID_REQUEST, verr.message, verr.param);
    return conduix_chat_run(r, ctx, req, NULL);
}

/* Everything after validation, shared with /v1/messages. */
int conduix_chat_run(request_rec *r, conduix_req_t *ctx, json_t *req, conduix_client_t *client)
{
    conduix_runtime_t *rt = ctx->conf->runtime;
    const cx_catalog_t *cat = conduix_catalog(rt, r);
    if (!cat)
        return conduix_send_error(r, CX_E_INTERNAL, "The model catalog is unavailable; please retry shortly.", NULL);
    int rc;
    const char *requested = json_string_value(json_object_get(req, "model"));
    conduix_gov_t gov;
    if ((rc = conduix_gov_begin(r, ctx, requested, &gov)) != OK)
        return rc;
    cx_resolved_t res;
    int found = conduix_resolve_model(r, ctx, cat, requested, &res);
    if (found < 0)
        return conduix_send_error(r, CX_E_INTERNAL, "The model store is unavailable; please retry shortly.", NULL);
    if (!found)
        return conduix_send_error(r, CX_E_MODEL_NOT_FOUND,
                                  apr_psprintf(r->pool, "The model '%s' does not exist or you do not "
                                               "have access to it. GET /v1/models lists the catalog.",
                                               requested), "model");

    /* Governance, in the order of SPEC §4 (conduix_governance.c). */
    if ((rc = conduix_gov_allowlist(r, ctx, cat, &res, &gov)) != OK)
        return rc;
    if ((rc = conduix_gov_rate_limit(r, ctx, &gov)) != OK)
        return rc;
    apr_array_header_t *candidates;
    if ((rc = conduix_gov_candidates(r, ctx, &gov, &candidates)) != OK)
        return rc;
    /* Caps and credits are checked before anything leaves: refusals cost nothing. */
    if ((rc = conduix_gov_spend_caps(r, ctx, &gov)) != OK)
        return rc;
    if ((rc = conduix_gov_credits(r, ctx)) != OK)
        return rc;

    conduix_gov_redact(r, ctx, req, &gov);
    /* A deterministic request answered before is served from the cache: after
     * redaction (the key is over what would leave), before the swap. Entries are
     * chat completions; /v1/messages answers are not cached. */
    if (!client && (rc = conduix_cache_chat(r, ctx, req, &res, requested)) != DECLINED)
        return rc;
    conduix_gov_swap(r, ctx, req, &gov, &candidates);

    chat_t c = {.r = r, .ctx = ctx, .requested_model = requested, .req = req, .client = client,
                .stream = json_is_true(json_object_get(req, "stream")), .gov = &gov};
    apr_pool_create(&c.event_pool, r->pool);

    attempt_outcome_t outcome = ATTEMPT_RETRY;
    int tried = 0;
    for (int i = 0; i < candidates->nelts; i++) {
        const cx_deployment_t *dep = APR_ARRAY_IDX(candidates, i, const cx_deployment_t *);
        const char *base_url, *credential;
        conduix_upstream_endpoint(rt, dep, &base_url, &credential);
        if (!base_url || !credential) {
            CX_RLOG(APLOG_DEBUG, r, ctx, "CX0304", "skipping %s: no %s configured", dep->provider->name,
                    base_url ? "credential" : "base URL");
            continue;
        }
        /* Open breakers and hard-capped budgets are skipped without a call. */
        if (!conduix_provider_admit(r, ctx, dep->provider))
            continue;
        c.dep = dep;
        /* Anything but the first choice of the model's whole chain (or the swap's
         * choice) is a fallback, also when filters or breakers removed the first. */
        c.fallback = conduix_gov_is_fallback(&gov, dep);
        tried++;
        outcome = attempt(&c, base_url, credential);
        conduix_provider_report(r, ctx, dep->provider, outcome == ATTEMPT_CLIENT_ERROR ||
                                (outcome == ATTEMPT_SERVED && c.status != 502));
        if (outcome == ATTEMPT_SERVED || outcome == ATTEMPT_CLIENT_ERROR)
            break;
        CX_RLOG(APLOG_WARNING, r, ctx, "CX0305", "attempt %d failed: %s", tried, c.failure);
    }

    if (tried > 0) {
        /* Record what happened (served or not) once the response is out. */
        cx_usage_record_t *u = &ctx->usage;
        u->request_id = ctx->request_id;
        u->org_id = ctx->key.org_id;
        u->key_id = ctx->key.key_id;
        u->mode = ctx->key.mode;
        u->endpoint = client ? "messages" : "chat.completions";
        u->requested_model = requested;
        u->served_model = c.dep ? c.dep->model->id : NULL;
        u->provider = c.dep ? c.dep->provider->name : NULL;
        u->stream = c.stream;
        u->fallback = c.fallback;
        if (outcome == ATTEMPT_SERVED || outcome == ATTEMPT_CLIENT_ERROR) {
            u->status = c.status;
            u->prompt_tokens = c.usage.prompt_tokens;
            u->completion_tokens = c.usage.completion_tokens;
            cx_price_t price = c.dep->price;
            u->cost_nano = cx_price_cost(&price, u->prompt_tokens, u->completion_tokens,
                                         ctx->key.org_multiplier_ppm ? ctx->key.org_multiplier_ppm : CX_PPM_LIST);
            u->charged_nano = ctx->key.mode == CX_KEY_LIVE ? u->cost_nano : 0;
            /* What the provider bills us, whatever the org pays: the budgets' figure. */
            u->provider_cost_nano = cx_price_cost(&price, u->prompt_tokens, u->completion_tokens,
                                                  CX_PPM_LIST);
        }
        else {
            u->status = outcome == ATTEMPT_BAD_RESPONSE ? 502 : 503;
        }
        ctx->record_usage = 1;
    }

    if (outcome == ATTEMPT_SERVED || outcome == ATTEMPT_CLIENT_ERROR) {
        ctx->usage.latency_ms = (unsigned long)apr_time_as_msec(apr_time_now() - ctx->start);
        CX_RLOG(APLOG_INFO, r, ctx, "CX0306", "%s -> %s/%s status %d tokens %" APR_UINT64_T_FMT "+%" APR_UINT64_T_FMT "%s",
                requested, c.dep->provider->name, c.dep->model->id, c.status,
                (apr_uint64_t)c.usage.prompt_tokens, (apr_uint64_t)c.usage.completion_tokens,
                c.fallback ? " (fallback)" : "");
        return OK;
    }
    ctx->usage.latency_ms = (unsigned long)apr_time_as_msec(apr_time_now() - ctx->start);
    if (tried == 0)
        return conduix_send_error(r, CX_E_PROVIDER_UNAVAILABLE,
                                  apr_psprintf(r->pool, "No configured provider can serve '%s' right now.",
                                               requested), NULL);
    if (outcome == ATTEMPT_BAD_RESPONSE && tried == 1)
        return conduix_send_error(r, CX_E_UPSTREAM,
                                  apr_psprintf(r->pool, "The upstream provider failed: %s", c.failure), NULL);
    return conduix_send_error(r, CX_E_PROVIDER_UNAVAILABLE,
                              apr_psprintf(r->pool, "Every provider able to serve '%s' failed (last: %s).",
                                           requested, c.failure), NULL);
}
