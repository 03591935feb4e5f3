/* Conduix: the Anthropic Messages API on the upstream side (POST {base}/messages,
 * x-api-key + anthropic-version headers). A validated OpenAI chat request becomes a
 * Messages request; the Message, its SSE events (message_start, content_block_*,
 * message_delta, message_stop, ping, error) and error bodies come back as OpenAI
 * chat.completion / chat.completion.chunk / error envelopes. */
#ifndef CX_ANTHROPIC_H
#define CX_ANTHROPIC_H

#include "cx_translate.h"

#define CX_ANTHROPIC_VERSION "2023-06-01"

/* The Messages request body. default_max_tokens (the catalog's output limit) is
 * sent when the client set none: Anthropic requires max_tokens. Returns NULL with
 * *err and *err_param (the client's field) when the request cannot be expressed
 * for Anthropic; that is the client's error, nothing is sent. */
char *cx_anthropic_request(apr_pool_t *p, const json_t *req, const char *upstream_model,
                           unsigned int default_max_tokens, int stream, apr_size_t *len,
                           const char **err, const char **err_param);

/* A Message as an OpenAI chat.completion whose model is requested_model and whose
 * id is "chatcmpl-<id_suffix>". NULL when body is not a Message. */
char *cx_anthropic_response(apr_pool_t *p, const char *body, apr_size_t len,
                            const char *requested_model, const char *id_suffix,
                            long long created, cx_usage_t *usage, apr_size_t *out_len);

/* One SSE event of a streamed Message. Chunks to forward are appended to out.
 * Returns CX_CHUNK_FORWARD (forward out, continue), CX_CHUNK_DONE (forward out, then
 * end the stream with [DONE]) or CX_CHUNK_ERROR (out holds one error envelope to
 * forward; the stream ends without [DONE]). st->usage is kept current. */
cx_chunk_action_t cx_anthropic_stream_event(apr_pool_t *p, cx_xstream_t *st, const char *event,
                                            const char *data, apr_size_t len,
                                            apr_array_header_t *out);

/* Classify an error answer ({"type":"error","error":{"type","message"}}). */
void cx_anthropic_error(apr_pool_t *p, long status, const char *body, apr_size_t len,
                        cx_upstream_error_t *e);

/* stop_reason -> finish_reason (end_turn/stop_sequence/pause_turn -> stop,
 * max_tokens/model_context_window_exceeded -> length, tool_use -> tool_calls,
 * refusal -> content_filter). */
const char *cx_anthropic_finish_reason(const char *stop_reason);

#endif
