/* Conduix response cache entries: what is stored and how a hit is replayed.
 *
 * An entry is one JSON document:
 *   {"v":1, "provider":"…", "served_model":"…", "prompt_tokens":N,
 *    "completion_tokens":M, "response":{…a complete chat.completion…}}
 * built either from a non-streamed answer as the client received it, or by
 * assembling a streamed answer's chunks (content, tool calls, finish reason,
 * usage) into the equivalent chat.completion. A hit is replayed either as that
 * JSON or, for a streaming request, as synthesized chat.completion.chunk events
 * (role, content, tool calls, finish, and usage when the client asked for it),
 * always with `model` set to what the new request asked for. */
#ifndef CX_CACHE_ENTRY_H
#define CX_CACHE_ENTRY_H

#include <stdint.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include <jansson.h>

typedef struct {
    const char *provider;
    const char *served_model;
    uint64_t prompt_tokens;
    uint64_t completion_tokens;
    json_t *response;          /* chat.completion, owned by the pool it was parsed into */
} cx_cache_hit_t;

/* Entry from a non-streamed response body (a chat.completion). NULL when the body
 * is not a chat.completion with one choice. */
char *cx_cache_entry_from_response(apr_pool_t *p, const char *provider, const char *served_model,
                                   uint64_t prompt_tokens, uint64_t completion_tokens,
                                   const char *body, apr_size_t len, apr_size_t *out_len);

/* Entry from the SSE bytes of a streamed response as the client received it.
 * NULL unless the stream is complete: chunks then exactly one [DONE], no error
 * event, a finish_reason. The token counts fill in usage when the stream carried
 * none (the client did not ask for it). */
char *cx_cache_entry_from_sse(apr_pool_t *p, const char *provider, const char *served_model,
                              uint64_t prompt_tokens, uint64_t completion_tokens,
                              const char *sse, apr_size_t len, apr_size_t *out_len);

/* Parse a stored entry; 0 on success, -1 when it is not one. */
int cx_cache_entry_parse(apr_pool_t *p, const char *buf, apr_size_t len, cx_cache_hit_t *out);

/* The hit as a non-streamed response body with `model` = requested_model. */
char *cx_cache_replay_json(apr_pool_t *p, const cx_cache_hit_t *hit, const char *requested_model,
                           apr_size_t *out_len);

/* The hit as the data of SSE events (const char *, without "data: " framing and
 * without the final [DONE], which the caller sends). */
apr_array_header_t *cx_cache_replay_chunks(apr_pool_t *p, const cx_cache_hit_t *hit,
                                           const char *requested_model, int include_usage);

#endif
