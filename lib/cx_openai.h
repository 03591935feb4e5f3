/* Conduix: the OpenAI Chat Completions wire format on the upstream side.
 * The client's validated request is forwarded nearly as is (the model id becomes
 * the provider's id; streams always ask for usage so billing never guesses), and
 * the upstream's answer is rewritten so the client sees the model it asked for and
 * never sees a usage chunk it did not request. */
#ifndef CX_OPENAI_H
#define CX_OPENAI_H

#include <stdint.h>
#include <apr_pools.h>
#include <jansson.h>

typedef struct {
    int have;                    /* upstream reported usage */
    uint64_t prompt_tokens;      /* every input token, cached ones included */
    uint64_t completion_tokens;
    uint64_t cache_read_tokens;  /* of prompt_tokens: served from the provider's prompt cache */
    uint64_t cache_write_tokens; /* of prompt_tokens: written to it (Anthropic cache creation) */
} cx_usage_t;

/* Body to send upstream. req is not modified. */
char *cx_openai_upstream_body(apr_pool_t *p, const json_t *req, const char *upstream_model,
                              int stream, apr_size_t *len);

/* 1 when the client asked for stream_options.include_usage. */
int cx_openai_client_wants_usage(const json_t *req);

/* Rewrite a non-streaming upstream response: "model" becomes requested_model and
 * usage is extracted. Returns NULL when the body is not a JSON object. The rest of
 * the document is relayed byte for byte (see cx_jscan.h). */
char *cx_openai_rewrite_response(apr_pool_t *p, const char *body, apr_size_t len,
                                 const char *requested_model, cx_usage_t *usage,
                                 apr_size_t *out_len);

typedef enum {
    CX_CHUNK_FORWARD = 0,   /* send *out to the client as one SSE event */
    CX_CHUNK_DROP,          /* swallow (a usage chunk the client did not ask for) */
    CX_CHUNK_DONE,          /* the terminating [DONE] */
    CX_CHUNK_ERROR          /* an error object from the upstream: forward, then stop */
} cx_chunk_action_t;

typedef struct {
    const char *requested_model;
    int client_wants_usage;
    cx_usage_t usage;          /* filled from the usage chunk */
    unsigned long chunks;      /* data chunks seen */
} cx_openai_stream_t;

/* Rewrite the data of one upstream SSE event. *out and *out_len receive the data to
 * forward (without the "data: " framing); allocated from p. */
cx_chunk_action_t cx_openai_stream_chunk(apr_pool_t *p, cx_openai_stream_t *st,
                                         const char *data, apr_size_t len,
                                         const char **out, apr_size_t *out_len);

/* The jansson versions of the two rewrites above: the fallback the fast paths take
 * for documents off their path, and the reference the unit tests compare them to. */
char *cx_openai_rewrite_response_tree(apr_pool_t *p, const char *body, apr_size_t len,
                                      const char *requested_model, cx_usage_t *usage,
                                      apr_size_t *out_len);
cx_chunk_action_t cx_openai_stream_chunk_tree(apr_pool_t *p, cx_openai_stream_t *st,
                                              const char *data, apr_size_t len,
                                              const char **out, apr_size_t *out_len);

/* Pull message/type/param/code from an upstream error body (any shape). Fields the
 * body does not carry are set to NULL; the caller supplies its own fallback. */
void cx_openai_parse_error(apr_pool_t *p, const char *body, apr_size_t len,
                           const char **message, const char **type, const char **param,
                           const char **code);

#endif
