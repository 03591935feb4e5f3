/* mod_conduix: the inference pipeline shared by /v1/chat/completions and
 * /v1/messages, and the upstream adapters it dispatches to by wire format.
 *
 * The pipeline always works on an OpenAI-shaped chat request. conduix_upstream_*
 * turns it into what the chosen deployment's provider speaks (OpenAI-compatible,
 * Anthropic Messages, Gemini, or an org's BYO endpoint behind the SSRF guard) and
 * the answer back into OpenAI shapes; a conduix_client_t turns those into what the
 * client speaks (nothing to do for chat completions; Anthropic shapes for
 * /v1/messages). */
#ifndef CONDUIX_PIPELINE_H
#define CONDUIX_PIPELINE_H

#include "mod_conduix.h"
#include "cx_messages.h"
#include "cx_translate.h"

#include <jansson.h>

/* ---- the client's wire format ---- */
typedef enum { CONDUIX_CLIENT_CHAT = 0, CONDUIX_CLIENT_MESSAGES } conduix_client_kind_t;

typedef struct {
    conduix_client_kind_t kind;
    cx_msgstream_t msg;           /* MESSAGES: stream translation state */
} conduix_client_t;

/* The steps every inference endpoint takes before its own: POST only (use_hint names
 * the endpoint in the 405 message), an authenticated key with the "inference" scope,
 * the body read within the limits and parsed as JSON. OK with *doc set, or the status
 * of the error already sent. */
int conduix_inference_request(request_rec *r, conduix_req_t *ctx, const char *use_hint,
                              json_t **doc);

/* Run a validated chat request (resolution, credits, routing with fallback,
 * response, usage recording) and answer in the client's format (NULL = chat). */
int conduix_chat_run(request_rec *r, conduix_req_t *ctx, json_t *req, conduix_client_t *client);

/* ---- model resolution and endpoints (conduix_upstream.c) ---- */

/* Resolve the requested id: "byo:<slug>/<model>" from the org's BYO endpoints, the
 * rest from the catalog. 1 found, 0 unknown, -1 the store is unavailable. */
int conduix_resolve_model(request_rec *r, conduix_req_t *ctx, const cx_catalog_t *cat,
                          const char *requested, cx_resolved_t *res);

/* Base URL and credential for a deployment (BYO: its own; else the provider's). */
void conduix_upstream_endpoint(conduix_runtime_t *rt, const cx_deployment_t *dep,
                               const char **base_url, const char **credential);

/* ---- one upstream attempt (conduix_upstream.c) ---- */
typedef struct conduix_upstream conduix_upstream_t;

/* Prepare the call of dep for req. NULL when the request cannot go there; *refusal
 * then holds the error for the client (a request the provider's format cannot
 * express: 400; a BYO address the SSRF guard refuses: 403). Nothing was sent. */
conduix_upstream_t *conduix_upstream_prepare(request_rec *r, conduix_req_t *ctx,
                                             const cx_deployment_t *dep, const char *base_url,
                                             const char *credential, const json_t *req,
                                             const char *requested_model, int stream,
                                             int client_wants_usage, cx_upstream_error_t *refusal);

/* Set url, body, headers and (BYO) the SSRF guard and pinned addresses of hr. */
void conduix_upstream_fill(conduix_upstream_t *u, cx_http_request_t *hr);

/* One upstream SSE event -> OpenAI chunks in out (see cx_chunk_action_t). */
cx_chunk_action_t conduix_upstream_stream_event(conduix_upstream_t *u, apr_pool_t *p,
                                                const char *event, const char *data,
                                                apr_size_t len, apr_array_header_t *out);
/* The upstream body ended without a terminator the caller recognised: 1 when the
 * answer was nevertheless complete (formats without one, e.g. Gemini), with the
 * closing chunks in out ([DONE] follows); 0 when the stream was cut. */
int conduix_upstream_stream_end(conduix_upstream_t *u, apr_pool_t *p, apr_array_header_t *out);
cx_usage_t conduix_upstream_stream_usage(const conduix_upstream_t *u);

/* A 2xx non-streamed body as an OpenAI chat.completion; NULL when unusable. */
char *conduix_upstream_response(conduix_upstream_t *u, apr_pool_t *p, const char *body,
                                apr_size_t len, cx_usage_t *usage, apr_size_t *out_len);

/* Classify a non-2xx answer. */
void conduix_upstream_error(conduix_upstream_t *u, apr_pool_t *p, long status, const char *body,
                            apr_size_t len, cx_upstream_error_t *e);

#endif
