#include "cx_anthropic.h"
#include "cx_json.h"

#include <apr_strings.h>
#include <string.h>

/* ------------------------------------------------------------------ request */

typedef struct {
    apr_pool_t *p;
    const char *err;
    const char *param;
} xerr_t;

static int fail(xerr_t *x, const char *param, const char *msg)
{
    x->param = param;
    x->err = apr_psprintf(x->p, "%s: %s", param, msg);
    return 0;
}

/* Messages alternate between user and assistant; consecutive turns of one role
 * (several tool results, a tool result followed by a user remark) are merged. */
static void append_blocks(json_t *messages, const char *role, json_t *blocks)
{
    cx_translate_append_turn(messages, role, "content", blocks);
}

static json_t *text_block(const char *text)
{
    json_t *b = json_object();
    json_object_set_new(b, "type", json_string("text"));
    json_object_set_new(b, "text", json_string(text));
    return b;
}

static json_t *image_block(apr_pool_t *p, const char *url)
{
    const char *mime, *data;
    json_t *src = json_object();
    if (cx_parse_data_url(p, url, &mime, &data)) {
        json_object_set_new(src, "type", json_string("base64"));
        json_object_set_new(src, "media_type", json_string(mime));
        json_object_set_new(src, "data", json_string(data));
    }
    else {
        json_object_set_new(src, "type", json_string("url"));
        json_object_set_new(src, "url", json_string(url));
    }
    json_t *b = json_object();
    json_object_set_new(b, "type", json_string("image"));
    json_object_set_new(b, "source", src);
    return b;
}

/* Content of a user or assistant message as blocks. Empty text is left out:
 * Anthropic refuses empty text blocks. */
static int content_blocks(xerr_t *x, const json_t *content, size_t mi, json_t *blocks)
{
    static const cx_part_writer_t writer = {text_block, image_block, "Anthropic"};
    const char *param = NULL;
    const char *why = cx_translate_content(x->p, content, mi, &writer, blocks, &param);
    return why ? fail(x, param, why) : 1;
}

static int tool_use_blocks(xerr_t *x, const json_t *calls, size_t mi, json_t *blocks)
{
    size_t k;
    json_t *call;
    json_array_foreach(calls, k, call) {
        json_t *fn = json_object_get(call, "function");
        json_t *input = cx_translate_call_arguments(call);
        if (!input)
            return fail(x, apr_psprintf(x->p, "messages[%" APR_SIZE_T_FMT "].tool_calls[%" APR_SIZE_T_FMT "].function.arguments", mi, k),
                        "must be a JSON object to be sent to Anthropic models");
        json_t *b = json_object();
        json_object_set_new(b, "type", json_string("tool_use"));
        json_object_set(b, "id", json_object_get(call, "id"));
        json_object_set(b, "name", json_object_get(fn, "name"));
        json_object_set_new(b, "input", input);
        json_array_append_new(blocks, b);
    }
    return 1;
}

static int translate_messages(xerr_t *x, const json_t *msgs, json_t *out, json_t *messages)
{
    const char *system = NULL;
    size_t i;
    json_t *m;
    json_array_foreach(msgs, i, m) {
        const char *role = json_string_value(json_object_get(m, "role"));
        json_t *content = json_object_get(m, "content");
        if (!strcmp(role, "system") || !strcmp(role, "developer")) {
            const char *t = cx_content_text(x->p, content);
            if (*t)
                system = system ? apr_pstrcat(x->p, system, "\n\n", t, NULL) : t;
            continue;
        }
        json_t *blocks = json_array();
        if (!strcmp(role, "tool")) {
            json_t *b = json_object();
            json_object_set_new(b, "type", json_string("tool_result"));
            json_object_set(b, "tool_use_id", json_object_get(m, "tool_call_id"));
            const char *t = cx_content_text(x->p, content);
            if (*t)
                json_object_set_new(b, "content", json_string(t));
            json_array_append_new(blocks, b);
            append_blocks(messages, "user", blocks);
            continue;
        }
        if (!strcmp(role, "function")) {
            json_decref(blocks);
            return fail(x, apr_psprintf(x->p, "messages[%" APR_SIZE_T_FMT "].role", i),
                        "the deprecated function role cannot be sent to Anthropic models; use tool");
        }
        int assistant = !strcmp(role, "assistant");
        if (!content_blocks(x, content, i, blocks)) {
            json_decref(blocks);
            return 0;
        }
        if (assistant) {
            json_t *calls = json_object_get(m, "tool_calls");
            if (json_is_array(calls) && !tool_use_blocks(x, calls, i, blocks)) {
                json_decref(blocks);
                return 0;
            }
            if (json_object_get(m, "function_call") && !json_is_null(json_object_get(m, "function_call"))) {
                json_decref(blocks);
                return fail(x, apr_psprintf(x->p, "messages[%" APR_SIZE_T_FMT "].function_call", i),
                            "is deprecated and cannot be sent to Anthropic models; use tool_calls");
            }
        }
        append_blocks(messages, assistant ? "assistant" : "user", blocks);
    }
    if (system)
        json_object_set_new(out, "system", json_string(system));
    if (json_array_size(messages) == 0)
        return fail(x, "messages", "at least one user or assistant message with content is required");
    return 1;
}

static int translate_tools(xerr_t *x, const json_t *req, json_t *out)
{
    json_t *tools = json_object_get(req, "tools");
    if (!json_is_array(tools) || json_array_size(tools) == 0)
        return 1;
    json_t *atools = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t) {
        json_t *fn = json_object_get(t, "function");
        json_t *at = json_object();
        json_object_set(at, "name", json_object_get(fn, "name"));
        json_t *desc = json_object_get(fn, "description");
        if (json_is_string(desc))
            json_object_set(at, "description", desc);
        json_t *params = json_object_get(fn, "parameters");
        if (json_is_object(params)) {
            json_object_set(at, "input_schema", params);
        }
        else {
            json_t *schema = json_object();
            json_object_set_new(schema, "type", json_string("object"));
            json_object_set_new(schema, "properties", json_object());
            json_object_set_new(at, "input_schema", schema);
        }
        json_array_append_new(atools, at);
    }
    json_object_set_new(out, "tools", atools);

    json_t *choice = NULL;
    json_t *tc = json_object_get(req, "tool_choice");
    if (json_is_string(tc)) {
        const char *s = json_string_value(tc);
        choice = json_object();
        json_object_set_new(choice, "type", json_string(!strcmp(s, "required") ? "any"
                                                        : !strcmp(s, "none") ? "none" : "auto"));
    }
    else if (json_is_object(tc)) {
        const char *name = json_string_value(json_object_get(json_object_get(tc, "function"), "name"));
        if (!name)
            return fail(x, "tool_choice", "must name a function: {\"type\":\"function\",\"function\":{\"name\":...}}");
        choice = json_object();
        json_object_set_new(choice, "type", json_string("tool"));
        json_object_set_new(choice, "name", json_string(name));
    }
    if (json_is_false(json_object_get(req, "parallel_tool_calls"))) {
        if (!choice) {
            choice = json_object();
            json_object_set_new(choice, "type", json_string("auto"));
        }
        if (strcmp(json_string_value(json_object_get(choice, "type")), "none"))
            json_object_set_new(choice, "disable_parallel_tool_use", json_true());
    }
    if (choice)
        json_object_set_new(out, "tool_choice", choice);
    (void)x;
    return 1;
}

char *cx_anthropic_request(apr_pool_t *p, const json_t *req, const char *upstream_model,
                           unsigned int default_max_tokens, int stream, apr_size_t *len,
                           const char **err, const char **err_param)
{
    xerr_t x = {.p = p};
    json_t *out = cx_json_own(p, json_object());
    json_object_set_new(out, "model", json_string(upstream_model));
    json_t *n = json_object_get(req, "n");
    if (json_is_integer(n) && json_integer_value(n) > 1) {
        fail(&x, "n", "Anthropic models return one choice; n must be 1");
        goto fail;
    }
    json_t *messages = json_array();
    json_object_set_new(out, "messages", messages);
    if (!translate_messages(&x, json_object_get(req, "messages"), out, messages))
        goto fail;

    json_int_t max_tokens = cx_request_max_tokens(req);
    if (max_tokens <= 0)
        max_tokens = default_max_tokens ? default_max_tokens : 4096;
    json_object_set_new(out, "max_tokens", json_integer(max_tokens));

    json_t *stop = json_object_get(req, "stop");
    if (json_is_string(stop)) {
        json_t *a = json_array();
        json_array_append(a, stop);
        json_object_set_new(out, "stop_sequences", a);
    }
    else if (json_is_array(stop) && json_array_size(stop) > 0) {
        json_object_set(out, "stop_sequences", stop);
    }
    json_t *temp = json_object_get(req, "temperature");
    if (json_is_number(temp)) {
        /* OpenAI allows 0..2, Anthropic 0..1: the top of the scale maps to 1. */
        double t = json_number_value(temp);
        json_object_set_new(out, "temperature", t > 1.0 ? json_real(1.0) : json_deep_copy(temp));
    }
    json_t *top_p = json_object_get(req, "top_p");
    if (json_is_number(top_p))
        json_object_set(out, "top_p", top_p);
    if (!translate_tools(&x, req, out))
        goto fail;
    json_t *user = json_object_get(req, "user");
    if (json_is_string(user)) {
        json_t *meta = json_object();
        json_object_set(meta, "user_id", user);
        json_object_set_new(out, "metadata", meta);
    }
    if (stream)
        json_object_set_new(out, "stream", json_true());
    return cx_json_dump_flags(p, out, JSON_COMPACT | JSON_REAL_PRECISION(17), len);

fail:
    *err = x.err;
    *err_param = x.param;
    return NULL;
}

/* ------------------------------------------------------------------ response */

const char *cx_anthropic_finish_reason(const char *stop_reason)
{
    if (!stop_reason)
        return "stop";
    if (!strcmp(stop_reason, "max_tokens") || !strcmp(stop_reason, "model_context_window_exceeded"))
        return "length";
    if (!strcmp(stop_reason, "tool_use"))
        return "tool_calls";
    if (!strcmp(stop_reason, "refusal"))
        return "content_filter";
    return "stop";
}

static uint64_t uint_member(const json_t *o, const char *key, uint64_t dflt)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) && json_integer_value(v) >= 0 ? (uint64_t)json_integer_value(v) : dflt;
}

/* Anthropic's input_tokens leaves out cached tokens; OpenAI's prompt_tokens counts
 * them all, with the cached share in prompt_tokens_details. Fields a later event
 * does not repeat keep their earlier values (message_delta counts are cumulative). */
static void read_usage(const json_t *u, cx_usage_t *out)
{
    if (!json_is_object(u))
        return;
    uint64_t in_plain = uint_member(u, "input_tokens", out->prompt_tokens - out->cache_read_tokens -
                                                           out->cache_write_tokens);
    out->cache_read_tokens = uint_member(u, "cache_read_input_tokens", out->cache_read_tokens);
    out->cache_write_tokens = uint_member(u, "cache_creation_input_tokens", out->cache_write_tokens);
    out->prompt_tokens = in_plain + out->cache_read_tokens + out->cache_write_tokens;
    out->completion_tokens = uint_member(u, "output_tokens", out->completion_tokens);
    out->have = 1;
}

static const char *dump_args(apr_pool_t *p, const json_t *input)
{
    if (!input || json_is_null(input))
        return "{}";
    char *s = cx_json_dump_flags(p, input, JSON_COMPACT | JSON_REAL_PRECISION(17), NULL);
    return s ? s : "{}";
}

char *cx_anthropic_response(apr_pool_t *p, const char *body, apr_size_t len,
                            const char *requested_model, const char *id_suffix,
                            long long created, cx_usage_t *usage, apr_size_t *out_len)
{
    json_t *doc = cx_json_own(p, json_loadb(body, len, JSON_ALLOW_NUL, NULL));
    json_t *content = json_object_get(doc, "content");
    if (!json_is_object(doc) || !json_is_array(content))
        return NULL;
    const char *text = NULL;
    json_t *calls = json_array();
    size_t i;
    json_t *b;
    json_array_foreach(content, i, b) {
        const char *type = json_string_value(json_object_get(b, "type"));
        if (!type)
            continue;
        if (!strcmp(type, "text")) {
            const char *t = json_string_value(json_object_get(b, "text"));
            if (t)
                text = text ? apr_pstrcat(p, text, t, NULL) : apr_pstrdup(p, t);
        }
        else if (!strcmp(type, "tool_use")) {
            json_t *fn = json_object();
            json_object_set(fn, "name", json_object_get(b, "name"));
            json_object_set_new(fn, "arguments", json_string(dump_args(p, json_object_get(b, "input"))));
            json_t *call = json_object();
            json_object_set(call, "id", json_object_get(b, "id"));
            json_object_set_new(call, "type", json_string("function"));
            json_object_set_new(call, "function", fn);
            json_array_append_new(calls, call);
        }
        /* thinking and server-tool blocks have no Chat Completions counterpart */
    }
    json_t *message = json_object();
    json_object_set_new(message, "role", json_string("assistant"));
    json_object_set_new(message, "content", text ? json_string(text)
                                            : json_array_size(calls) ? json_null() : json_string(""));
    if (json_array_size(calls))
        json_object_set_new(message, "tool_calls", calls);
    else
        json_decref(calls);
    json_object_set_new(message, "refusal", json_null());

    json_t *choice = json_object();
    json_object_set_new(choice, "index", json_integer(0));
    json_object_set_new(choice, "message", message);
    json_object_set_new(choice, "logprobs", json_null());
    json_object_set_new(choice, "finish_reason", json_string(cx_anthropic_finish_reason(
                            json_string_value(json_object_get(doc, "stop_reason")))));
    json_t *choices = json_array();
    json_array_append_new(choices, choice);

    cx_usage_t u = {0};
    read_usage(json_object_get(doc, "usage"), &u);
    u.have = json_is_object(json_object_get(doc, "usage"));
    *usage = u;

    json_t *out = cx_json_own(p, json_object());
    json_object_set_new(out, "id", json_string(apr_pstrcat(p, "chatcmpl-", id_suffix ? id_suffix : "0", NULL)));
    json_object_set_new(out, "object", json_string("chat.completion"));
    json_object_set_new(out, "created", json_integer(created));
    json_object_set_new(out, "model", json_string(requested_model));
    json_object_set_new(out, "choices", choices);
    json_object_set_new(out, "usage", cx_usage_to_json(&u));
    return cx_json_dump_flags(p, out, JSON_COMPACT | JSON_REAL_PRECISION(17), out_len);
}

/* ------------------------------------------------------------------ stream */

static json_t *tool_delta(int index, const char *id, const char *name, const char *args)
{
    json_t *fn = json_object();
    if (name)
        json_object_set_new(fn, "name", json_string(name));
    json_object_set_new(fn, "arguments", json_string(args ? args : ""));
    json_t *call = json_object();
    json_object_set_new(call, "index", json_integer(index));
    if (id) {
        json_object_set_new(call, "id", json_string(id));
        json_object_set_new(call, "type", json_string("function"));
    }
    json_object_set_new(call, "function", fn);
    json_t *calls = json_array();
    json_array_append_new(calls, call);
    json_t *delta = json_object();
    json_object_set_new(delta, "tool_calls", calls);
    return delta;
}

static int block_tool_index(const cx_xstream_t *st, json_int_t block)
{
    const char *k = apr_psprintf(st->pool, "%" APR_INT64_T_FMT, (apr_int64_t)block);
    intptr_t v = (intptr_t)apr_hash_get(st->block_tool, k, APR_HASH_KEY_STRING);
    return (int)v - 1;
}

static cx_chunk_action_t stream_error(apr_pool_t *p, const json_t *doc, apr_array_header_t *out)
{
    json_t *err = json_object_get(doc, "error");
    const char *type = json_string_value(json_object_get(err, "type"));
    const char *msg = json_string_value(json_object_get(err, "message"));
    cx_upstream_error_t e = {
        .status = 502,
        .message = msg ? msg : "The provider reported an error in the middle of the stream.",
        .type = "server_error",
        .code = type,
        .retry = 1,
    };
    const char *body = cx_upstream_error_body(p, &e);
    cx_chunk_push(out, body, strlen(body));
    return CX_CHUNK_ERROR;
}

cx_chunk_action_t cx_anthropic_stream_event(apr_pool_t *p, cx_xstream_t *st, const char *event,
                                            const char *data, apr_size_t len,
                                            apr_array_header_t *out)
{
    json_t *doc = cx_json_own(p, json_loadb(data, len, JSON_ALLOW_NUL, NULL));
    const char *type = json_string_value(json_object_get(doc, "type"));
    if (!type)
        type = event;
    if (!type || !json_is_object(doc))
        return CX_CHUNK_FORWARD;   /* nothing we understand: ignore */

    if (!strcmp(type, "message_start")) {
        json_t *msg = json_object_get(doc, "message");
        read_usage(json_object_get(msg, "usage"), &st->usage);
        /* The role chunk waits for the first content: an error event that comes
         * before any (overloaded) can then still fall over to another provider. */
        return CX_CHUNK_FORWARD;
    }
    if (!strcmp(type, "content_block_start")) {
        json_t *block = json_object_get(doc, "content_block");
        json_int_t index = json_integer_value(json_object_get(doc, "index"));
        const char *btype = json_string_value(json_object_get(block, "type"));
        if (btype && !strcmp(btype, "tool_use")) {
            int tool = st->tools++;
            apr_hash_set(st->block_tool, apr_psprintf(st->pool, "%" APR_INT64_T_FMT, (apr_int64_t)index),
                         APR_HASH_KEY_STRING, (void *)(intptr_t)(tool + 1));
            cx_xstream_delta(p, st, out,
                             tool_delta(tool, json_string_value(json_object_get(block, "id")),
                                        json_string_value(json_object_get(block, "name")), ""),
                             NULL);
        }
        else if (btype && !strcmp(btype, "text")) {
            const char *t = json_string_value(json_object_get(block, "text"));
            if (t && *t) {
                json_t *delta = json_object();
                json_object_set_new(delta, "content", json_string(t));
                cx_xstream_delta(p, st, out, delta, NULL);
            }
        }
        return CX_CHUNK_FORWARD;
    }
    if (!strcmp(type, "content_block_delta")) {
        json_t *d = json_object_get(doc, "delta");
        const char *dtype = json_string_value(json_object_get(d, "type"));
        if (!dtype)
            return CX_CHUNK_FORWARD;
        if (!strcmp(dtype, "text_delta")) {
            const char *t = json_string_value(json_object_get(d, "text"));
            if (t && *t) {
                json_t *delta = json_object();
                json_object_set_new(delta, "content", json_string(t));
                cx_xstream_delta(p, st, out, delta, NULL);
            }
        }
        else if (!strcmp(dtype, "input_json_delta")) {
            const char *frag = json_string_value(json_object_get(d, "partial_json"));
            int tool = block_tool_index(st, json_integer_value(json_object_get(doc, "index")));
            if (tool >= 0 && frag && *frag)
                cx_xstream_delta(p, st, out, tool_delta(tool, NULL, NULL, frag), NULL);
        }
        /* thinking_delta, signature_delta, citations_delta: no counterpart */
        return CX_CHUNK_FORWARD;
    }
    if (!strcmp(type, "message_delta")) {
        read_usage(json_object_get(doc, "usage"), &st->usage);
        const char *stop = json_string_value(json_object_get(json_object_get(doc, "delta"), "stop_reason"));
        if (stop && !st->finished)
            cx_xstream_delta(p, st, out, json_object(), cx_anthropic_finish_reason(stop));
        return CX_CHUNK_FORWARD;
    }
    if (!strcmp(type, "message_stop")) {
        st->completed = 1;
        if (!st->finished)
            cx_xstream_delta(p, st, out, json_object(), "stop");
        cx_xstream_usage(p, st, out);
        return CX_CHUNK_DONE;
    }
    if (!strcmp(type, "error"))
        return stream_error(p, doc, out);
    /* ping, content_block_stop and event types added later carry nothing for us */
    return CX_CHUNK_FORWARD;
}

/* ------------------------------------------------------------------ errors */

void cx_anthropic_error(apr_pool_t *p, long status, const char *body, apr_size_t len,
                        cx_upstream_error_t *e)
{
    cx_upstream_error_default(p, status, "anthropic", e);
    json_t *doc = body && len ? cx_json_own(p, json_loadb(body, len, JSON_ALLOW_NUL, NULL)) : NULL;
    json_t *err = json_object_get(doc, "error");
    const char *type = json_string_value(json_object_get(err, "type"));
    const char *msg = json_string_value(json_object_get(err, "message"));
    if (msg)
        e->message = apr_pstrdup(p, msg);
    if (!type)
        return;
    e->code = apr_pstrdup(p, type);
    if (!strcmp(type, "overloaded_error") || !strcmp(type, "api_error") ||
        !strcmp(type, "rate_limit_error") || !strcmp(type, "authentication_error") ||
        !strcmp(type, "permission_error") || !strcmp(type, "not_found_error") ||
        !strcmp(type, "timeout_error") || !strcmp(type, "billing_error")) {
        /* the provider's trouble or ours (credential, deployment): never the client's */
        e->retry = 1;
        e->type = "server_error";
    }
    else if (!strcmp(type, "request_too_large")) {
        e->retry = 0;
        e->type = "invalid_request_error";
        e->code = "request_too_large";
    }
    else if (!strcmp(type, "invalid_request_error")) {
        e->retry = 0;
        e->type = "invalid_request_error";
        e->code = NULL;
    }
}
