/* Conduix: the Google Gemini API on the upstream side
 * (POST {base}/models/{model}:generateContent, or :streamGenerateContent?alt=sse,
 * x-goog-api-key header). A validated OpenAI chat request becomes a
 * GenerateContentRequest (contents with user/model roles, systemInstruction,
 * generationConfig, functionDeclarations, inline image data); GenerateContentResponse
 * documents, streamed or not, and error bodies come back in OpenAI shapes. */
#ifndef CX_GEMINI_H
#define CX_GEMINI_H

#include "cx_translate.h"

/* The endpoint for model under base_url (".../v1beta"). */
const char *cx_gemini_url(apr_pool_t *p, const char *base_url, const char *model, int stream);

/* The GenerateContentRequest body (the model is in the URL). Returns NULL with *err
 * and *err_param when the request cannot be expressed for Gemini (the client's
 * error; nothing is sent). */
char *cx_gemini_request(apr_pool_t *p, const json_t *req, int stream, apr_size_t *len,
                        const char **err, const char **err_param);

/* A GenerateContentResponse as an OpenAI chat.completion ("chatcmpl-<id_suffix>",
 * tool call ids "call_<id_suffix>_<n>" unless Gemini gave ids). A blocked prompt
 * (promptFeedback.blockReason, no candidates) is one empty choice with
 * finish_reason content_filter. NULL when body is not such a document. */
char *cx_gemini_response(apr_pool_t *p, const char *body, apr_size_t len,
                         const char *requested_model, const char *id_suffix, long long created,
                         cx_usage_t *usage, apr_size_t *out_len);

/* One SSE event of streamGenerateContent (each is a GenerateContentResponse).
 * Chunks to forward are appended to out. Returns CX_CHUNK_FORWARD, or
 * CX_CHUNK_ERROR with one error envelope in out. Gemini has no terminator event:
 * call cx_gemini_stream_end when the body ends. */
cx_chunk_action_t cx_gemini_stream_event(apr_pool_t *p, cx_xstream_t *st, const char *data,
                                         apr_size_t len, apr_array_header_t *out);

/* End of the upstream body. Returns 1 when the answer was complete (a finishReason
 * or a blocked prompt was seen; the closing usage chunk, if asked for, is appended
 * to out and [DONE] follows), 0 when the stream was cut. */
int cx_gemini_stream_end(apr_pool_t *p, cx_xstream_t *st, apr_array_header_t *out);

/* Classify an error answer ({"error":{"code","message","status","details"}}).
 * An invalid API key is 400 INVALID_ARGUMENT at Google, but it is our credential,
 * not the client's request: it is retried elsewhere. */
void cx_gemini_error(apr_pool_t *p, long status, const char *body, apr_size_t len,
                     cx_upstream_error_t *e);

/* finishReason -> finish_reason (STOP -> stop, or tool_calls when the answer called
 * tools; MAX_TOKENS -> length; SAFETY, RECITATION, BLOCKLIST, PROHIBITED_CONTENT,
 * SPII, IMAGE_SAFETY, ... -> content_filter). */
const char *cx_gemini_finish_reason(const char *reason, int called_tools);

#endif
