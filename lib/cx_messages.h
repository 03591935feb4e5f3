/* Conduix: the Anthropic Messages API on the client side (POST /v1/messages), so
 * Anthropic SDKs can use the gateway. The request is turned into the OpenAI chat
 * request the pipeline runs (any catalog model may serve it); the OpenAI-shaped
 * answer, stream chunks and errors are turned back into a Message, Anthropic SSE
 * events (event: lines included: the SDKs dispatch on them) and Anthropic error
 * bodies. */
#ifndef CX_MESSAGES_H
#define CX_MESSAGES_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <jansson.h>

#include "cx_validate.h"

/* The chat request for a Messages request. Returns NULL with err filled (the
 * message names the Anthropic field) when the request is not a valid Messages
 * request. The result still goes through cx_validate_chat. */
json_t *cx_messages_to_chat(apr_pool_t *p, const json_t *msgreq, cx_verr_t *err);

/* A chat.completion as a Message ("msg_<id>"). NULL when body is not one. */
char *cx_messages_from_chat(apr_pool_t *p, const char *body, apr_size_t len, apr_size_t *out_len);

/* One Anthropic SSE event to send. */
typedef struct {
    const char *event;
    const char *data;
    apr_size_t len;
} cx_msg_event_t;

typedef struct {
    apr_pool_t *pool;
    const char *requested_model;
    const char *id;
    int started;            /* message_start sent */
    int block;              /* index of the open content block, -1 none */
    int block_is_tool;
    int tool_block[64];     /* OpenAI tool index -> block index + 1 */
    int next_block;
    const char *stop_reason;
    long long input_tokens, output_tokens, cache_read;
} cx_msgstream_t;

void cx_msgstream_init(cx_msgstream_t *st, apr_pool_t *pool, const char *requested_model,
                       const char *id);

/* One chat.completion.chunk (data) -> events appended to out (cx_msg_event_t). */
void cx_msgstream_chunk(apr_pool_t *p, cx_msgstream_t *st, const char *data, apr_size_t len,
                        apr_array_header_t *out);
/* The chat stream ended with [DONE]: close the open block, message_delta, message_stop. */
void cx_msgstream_done(apr_pool_t *p, cx_msgstream_t *st, apr_array_header_t *out);

/* An OpenAI error envelope (and its HTTP status) as an Anthropic error body
 * {"type":"error","error":{"type","message"}}; the Conduix code, when there is
 * one, is kept in error.code. */
const char *cx_messages_error_body(apr_pool_t *p, int status, const char *openai_body);

#endif
