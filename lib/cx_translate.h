/* Conduix: what every provider translator shares. The gateway speaks the OpenAI
 * Chat Completions format to its clients; translators for other wire formats
 * (cx_anthropic, cx_gemini) turn the client's request into the provider's, and the
 * provider's answer, stream events and errors back into OpenAI shapes, so a client
 * gets the same answer whichever provider served it. */
#ifndef CX_TRANSLATE_H
#define CX_TRANSLATE_H

#include <apr_hash.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include <jansson.h>

#include "cx_openai.h"

/* Append items (a JSON array, reference stolen) as a turn of role to turns, where
 * each turn is {"role": role, member: [...]}. Providers want roles to alternate, so
 * consecutive turns of one role are merged; an empty items array adds nothing.
 * Anthropic's messages use member "content", Gemini's contents use "parts". */
void cx_translate_append_turn(json_t *turns, const char *role, const char *member, json_t *items);

/* How a provider format writes the parts of a message: a text part and an image part
 * (from an OpenAI image_url: a data: URL or a link), and the family named in errors. */
typedef struct {
    json_t *(*text)(const char *text);
    json_t *(*image)(apr_pool_t *p, const char *url);
    const char *family;           /* "Anthropic", "Gemini" */
} cx_part_writer_t;

/* The content of OpenAI message mi (a string, an array of text, refusal and image_url
 * parts, or null) appended to parts in the provider's shape; empty texts are left out.
 * NULL when done, else the message for a part the provider cannot take, with *param
 * naming it ("messages[2].content[1]"). */
const char *cx_translate_content(apr_pool_t *p, const json_t *content, size_t mi,
                                 const cx_part_writer_t *w, json_t *parts, const char **param);

/* The arguments of an OpenAI tool call ({"function":{"arguments":"<JSON text>"}}) as
 * the JSON object native formats want (Anthropic "input", Gemini "args"): a new
 * reference, an empty object for empty arguments, NULL when they are not an object. */
json_t *cx_translate_call_arguments(const json_t *call);

/* One SSE data payload to send to the client (without "data: " framing). */
typedef struct {
    const char *data;
    apr_size_t len;
} cx_chunk_t;

/* An upstream error, classified. */
typedef struct {
    int status;            /* HTTP status to relay to the client */
    const char *message;
    const char *type;      /* OpenAI envelope type */
    const char *param;
    const char *code;
    int retry;             /* 1: another provider may well succeed (overload, rate limit,
                            * our credential or deployment); 0: the request itself is bad */
} cx_upstream_error_t;

/* State of one streamed answer being translated into chat.completion.chunk events.
 * Allocations that must outlive one event come from pool. */
typedef struct {
    apr_pool_t *pool;
    const char *requested_model;
    int client_wants_usage;
    const char *call_id_prefix;   /* tool call ids are "call_<prefix>_<n>" when the
                                   * provider does not give its own */
    const char *id;               /* chatcmpl-... shared by every chunk */
    long long created;
    cx_usage_t usage;
    int started;                  /* the role chunk went out */
    int finished;                 /* the finish_reason chunk went out */
    int completed;                /* the provider said the message is complete */
    const char *finish_reason;
    int tools;                    /* tool calls started so far */
    apr_hash_t *block_tool;       /* provider block index -> tool index + 1 */
} cx_xstream_t;

void cx_xstream_init(cx_xstream_t *st, apr_pool_t *pool, const char *requested_model,
                     int client_wants_usage, const char *call_id_prefix, long long created);

/* The role chunk that opens a stream (once). */
void cx_xstream_start(apr_pool_t *p, cx_xstream_t *st, apr_array_header_t *out);
/* Append one chunk with choices[0].delta = delta (reference stolen) and the given
 * finish_reason (NULL = null) to out. The first chunk of a stream is preceded by
 * the role chunk automatically. */
void cx_xstream_delta(apr_pool_t *p, cx_xstream_t *st, apr_array_header_t *out, json_t *delta,
                      const char *finish_reason);
/* The closing usage chunk (choices: []), only when the client asked for it. */
void cx_xstream_usage(apr_pool_t *p, cx_xstream_t *st, apr_array_header_t *out);

void cx_chunk_push(apr_array_header_t *out, const char *data, apr_size_t len);
apr_array_header_t *cx_chunks_make(apr_pool_t *p);

/* OpenAI "usage" object for u (prompt_tokens_details.cached_tokens included). */
json_t *cx_usage_to_json(const cx_usage_t *u);

/* Tool call id for the n-th call of an answer whose provider gave none. */
const char *cx_tool_call_id(apr_pool_t *p, const char *prefix, int n);

/* 5xx and 429 are the provider's trouble; 401/403/404/408/409 mean our credential,
 * deployment or connection is wrong for this provider, not that the request is. */
int cx_retryable_status(long status);

/* Fill e from status alone (the body said nothing usable). */
void cx_upstream_error_default(apr_pool_t *p, long status, const char *provider_word,
                               cx_upstream_error_t *e);

/* The OpenAI error envelope for e. */
const char *cx_upstream_error_body(apr_pool_t *p, const cx_upstream_error_t *e);

/* Text of an OpenAI message content (string, or the text parts joined). */
const char *cx_content_text(apr_pool_t *p, const json_t *content);

/* The request's output limit: max_completion_tokens, else max_tokens, else 0. */
json_int_t cx_request_max_tokens(const json_t *req);

/* Split "data:<mime>;base64,<data>"; 1 when url is such a data URL. */
int cx_parse_data_url(apr_pool_t *p, const char *url, const char **mime, const char **data);

#endif
