#include "cx_messages.h"
#include "cx_json.h"

#include <apr_strings.h>
#include <string.h>

/* ------------------------------------------------------------------ request */

typedef struct {
    apr_pool_t *p;
    cx_verr_t *err;
} mctx_t;

static int fail(mctx_t *m, const char *param, const char *problem)
{
    m->err->param = param;
    m->err->message = apr_psprintf(m->p, "%s: %s", param, problem);
    return 0;
}

static const char *block_text(const json_t *content)
{
    if (json_is_string(content))
        return json_string_value(content);
    return NULL;
}

/* Text of a string or an array of text blocks. */
static const char *joined_text(apr_pool_t *p, const json_t *content)
{
    const char *s = block_text(content);
    if (s)
        return s;
    const char *out = "";
    size_t i;
    json_t *b;
    json_array_foreach(content, i, b) {
        const char *t = json_string_value(json_object_get(b, "text"));
        if (t)
            out = *out ? apr_pstrcat(p, out, "\n", t, NULL) : t;
    }
    return out;
}

static json_t *image_part(mctx_t *m, const json_t *block, const char *at)
{
    json_t *src = json_object_get(block, "source");
    const char *type = json_string_value(json_object_get(src, "type"));
    const char *url = NULL;
    if (type && !strcmp(type, "base64")) {
        const char *mime = json_string_value(json_object_get(src, "media_type"));
        const char *data = json_string_value(json_object_get(src, "data"));
        if (!mime || !data) {
            fail(m, apr_pstrcat(m->p, at, ".source", NULL), "a base64 image needs media_type and data");
            return NULL;
        }
        url = apr_pstrcat(m->p, "data:", mime, ";base64,", data, NULL);
    }
    else if (type && !strcmp(type, "url")) {
        url = json_string_value(json_object_get(src, "url"));
    }
    if (!url) {
        fail(m, apr_pstrcat(m->p, at, ".source", NULL), "must be {\"type\":\"base64\",...} or {\"type\":\"url\",\"url\":...}");
        return NULL;
    }
    json_t *iu = json_object();
    json_object_set_new(iu, "url", json_string(url));
    json_t *part = json_object();
    json_object_set_new(part, "type", json_string("image_url"));
    json_object_set_new(part, "image_url", iu);
    return part;
}

static int translate_message(mctx_t *m, const json_t *msg, size_t i, json_t *out)
{
    const char *at = apr_psprintf(m->p, "messages[%" APR_SIZE_T_FMT "]", i);
    if (!json_is_object(msg))
        return fail(m, at, "must be an object");
    const char *role = json_string_value(json_object_get(msg, "role"));
    if (!role || (strcmp(role, "user") && strcmp(role, "assistant")))
        return fail(m, apr_pstrcat(m->p, at, ".role", NULL), "must be \"user\" or \"assistant\"");
    int assistant = !strcmp(role, "assistant");
    json_t *content = json_object_get(msg, "content");
    if (json_is_string(content)) {
        json_t *o = json_object();
        json_object_set_new(o, "role", json_string(role));
        json_object_set(o, "content", content);
        json_array_append_new(out, o);
        return 1;
    }
    if (!json_is_array(content))
        return fail(m, apr_pstrcat(m->p, at, ".content", NULL), "must be a string or an array of content blocks");

    json_t *parts = json_array();       /* user text and images */
    const char *text = NULL;            /* assistant text */
    json_t *calls = json_array();
    size_t j;
    json_t *b;
    json_array_foreach(content, j, b) {
        const char *bat = apr_psprintf(m->p, "%s.content[%" APR_SIZE_T_FMT "]", at, j);
        const char *type = json_string_value(json_object_get(b, "type"));
        if (!type) {
            json_decref(parts);
            json_decref(calls);
            return fail(m, apr_pstrcat(m->p, bat, ".type", NULL), "is required");
        }
        if (!strcmp(type, "text")) {
            const char *t = json_string_value(json_object_get(b, "text"));
            if (!t) {
                json_decref(parts);
                json_decref(calls);
                return fail(m, apr_pstrcat(m->p, bat, ".text", NULL), "must be a string");
            }
            if (assistant) {
                text = text ? apr_pstrcat(m->p, text, t, NULL) : t;
            }
            else {
                json_t *part = json_object();
                json_object_set_new(part, "type", json_string("text"));
                json_object_set_new(part, "text", json_string(t));
                json_array_append_new(parts, part);
            }
        }
        else if (!strcmp(type, "image") && !assistant) {
            json_t *part = image_part(m, b, bat);
            if (!part) {
                json_decref(parts);
                json_decref(calls);
                return 0;
            }
            json_array_append_new(parts, part);
        }
        else if (!strcmp(type, "tool_use") && assistant) {
            const char *id = json_string_value(json_object_get(b, "id"));
            const char *name = json_string_value(json_object_get(b, "name"));
            if (!id || !name) {
                json_decref(parts);
                json_decref(calls);
                return fail(m, bat, "a tool_use block needs id and name");
            }
            json_t *input = json_object_get(b, "input");
            char *args = json_is_object(input) ? cx_json_dump(m->p, input, NULL) : "{}";
            json_t *fn = json_object();
            json_object_set_new(fn, "name", json_string(name));
            json_object_set_new(fn, "arguments", json_string(args));
            json_t *call = json_object();
            json_object_set_new(call, "id", json_string(id));
            json_object_set_new(call, "type", json_string("function"));
            json_object_set_new(call, "function", fn);
            json_array_append_new(calls, call);
        }
        else if (!strcmp(type, "tool_result") && !assistant) {
            const char *id = json_string_value(json_object_get(b, "tool_use_id"));
            if (!id) {
                json_decref(parts);
                json_decref(calls);
                return fail(m, apr_pstrcat(m->p, bat, ".tool_use_id", NULL), "is required");
            }
            const char *t = joined_text(m->p, json_object_get(b, "content"));
            if (json_is_true(json_object_get(b, "is_error")))
                t = apr_pstrcat(m->p, "Error: ", t, NULL);
            /* Tool results answer the previous assistant turn: they go first. */
            json_t *o = json_object();
            json_object_set_new(o, "role", json_string("tool"));
            json_object_set_new(o, "tool_call_id", json_string(id));
            json_object_set_new(o, "content", json_string(t));
            json_array_append_new(out, o);
        }
        else if (!strcmp(type, "thinking") || !strcmp(type, "redacted_thinking")) {
            continue;   /* earlier reasoning: not part of a chat transcript */
        }
        else {
            json_decref(parts);
            json_decref(calls);
            return fail(m, apr_pstrcat(m->p, bat, ".type", NULL),
                        apr_psprintf(m->p, "'%s' blocks are not supported in %s messages", type, role));
        }
    }
    if (assistant) {
        if (text || json_array_size(calls)) {
            json_t *o = json_object();
            json_object_set_new(o, "role", json_string("assistant"));
            json_object_set_new(o, "content", text ? json_string(text) : json_null());
            if (json_array_size(calls))
                json_object_set(o, "tool_calls", calls);
            json_array_append_new(out, o);
        }
        json_decref(parts);
    }
    else if (json_array_size(parts)) {
        json_t *o = json_object();
        json_object_set_new(o, "role", json_string("user"));
        json_object_set_new(o, "content", parts);
        json_array_append_new(out, o);
    }
    else {
        json_decref(parts);
    }
    json_decref(calls);
    return 1;
}

static int translate_tool_choice(mctx_t *m, const json_t *req, json_t *out);

static int translate_tools(mctx_t *m, const json_t *req, json_t *out)
{
    json_t *tools = json_object_get(req, "tools");
    if (!tools)
        return translate_tool_choice(m, req, out);
    if (!json_is_array(tools))
        return fail(m, "tools", "must be an array");
    json_t *otools = json_array();
    json_object_set_new(out, "tools", otools);
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t) {
        const char *at = apr_psprintf(m->p, "tools[%" APR_SIZE_T_FMT "]", i);
        const char *type = json_string_value(json_object_get(t, "type"));
        if (type && strcmp(type, "custom"))
            return fail(m, apr_pstrcat(m->p, at, ".type", NULL),
                        apr_psprintf(m->p, "server tool '%s' is not available through Conduix", type));
        const char *name = json_string_value(json_object_get(t, "name"));
        if (!name)
            return fail(m, apr_pstrcat(m->p, at, ".name", NULL), "is required");
        json_t *fn = json_object();
        json_object_set_new(fn, "name", json_string(name));
        json_t *desc = json_object_get(t, "description");
        if (json_is_string(desc))
            json_object_set(fn, "description", desc);
        json_t *schema = json_object_get(t, "input_schema");
        if (!json_is_object(schema))
            return fail(m, apr_pstrcat(m->p, at, ".input_schema", NULL), "must be a JSON Schema object");
        json_object_set(fn, "parameters", schema);
        json_t *ot = json_object();
        json_object_set_new(ot, "type", json_string("function"));
        json_object_set_new(ot, "function", fn);
        json_array_append_new(otools, ot);
    }
    return translate_tool_choice(m, req, out);
}

static int translate_tool_choice(mctx_t *m, const json_t *req, json_t *out)
{
    json_t *tc = json_object_get(req, "tool_choice");
    if (!tc)
        return 1;
    const char *type = json_string_value(json_object_get(tc, "type"));
    if (!type)
        return fail(m, "tool_choice.type", "must be auto, any, tool or none");
    if (!strcmp(type, "auto") || !strcmp(type, "none")) {
        json_object_set_new(out, "tool_choice", json_string(type));
    }
    else if (!strcmp(type, "any")) {
        json_object_set_new(out, "tool_choice", json_string("required"));
    }
    else if (!strcmp(type, "tool")) {
        const char *name = json_string_value(json_object_get(tc, "name"));
        if (!name)
            return fail(m, "tool_choice.name", "is required when type is tool");
        json_t *fn = json_object();
        json_object_set_new(fn, "name", json_string(name));
        json_t *o = json_object();
        json_object_set_new(o, "type", json_string("function"));
        json_object_set_new(o, "function", fn);
        json_object_set_new(out, "tool_choice", o);
    }
    else {
        return fail(m, "tool_choice.type", "must be auto, any, tool or none");
    }
    if (json_is_true(json_object_get(tc, "disable_parallel_tool_use")))
        json_object_set_new(out, "parallel_tool_calls", json_false());
    return 1;
}

json_t *cx_messages_to_chat(apr_pool_t *p, const json_t *req, cx_verr_t *err)
{
    mctx_t m = {.p = p, .err = err};
    if (!json_is_object(req)) {
        fail(&m, "body", "must be a JSON object");
        return NULL;
    }
    json_t *out = cx_json_own(p, json_object());
    json_t *model = json_object_get(req, "model");
    if (!json_is_string(model)) {
        fail(&m, "model", model ? "must be a string" : "is required");
        return NULL;
    }
    json_object_set(out, "model", model);
    json_t *max = json_object_get(req, "max_tokens");
    if (!json_is_integer(max) || json_integer_value(max) < 1) {
        fail(&m, "max_tokens", max ? "must be an integer of at least 1" : "is required");
        return NULL;
    }
    json_object_set(out, "max_tokens", max);
    json_t *messages = json_array();
    json_object_set_new(out, "messages", messages);
    json_t *system = json_object_get(req, "system");
    if (system) {
        if (!json_is_string(system) && !json_is_array(system)) {
            fail(&m, "system", "must be a string or an array of text blocks");
            return NULL;
        }
        const char *t = joined_text(p, system);
        if (*t) {
            json_t *o = json_object();
            json_object_set_new(o, "role", json_string("system"));
            json_object_set_new(o, "content", json_string(t));
            json_array_append_new(messages, o);
        }
    }
    json_t *in = json_object_get(req, "messages");
    if (!json_is_array(in) || json_array_size(in) == 0) {
        fail(&m, "messages", in ? "must be a non-empty array" : "is required");
        return NULL;
    }
    size_t i;
    json_t *msg;
    json_array_foreach(in, i, msg)
        if (!translate_message(&m, msg, i, messages))
            return NULL;
    json_t *stop = json_object_get(req, "stop_sequences");
    if (json_is_array(stop) && json_array_size(stop))
        json_object_set(out, "stop", stop);
    else if (stop && !json_is_array(stop)) {
        fail(&m, "stop_sequences", "must be an array of strings");
        return NULL;
    }
    json_t *v;
    if ((v = json_object_get(req, "temperature")))
        json_object_set(out, "temperature", v);
    if ((v = json_object_get(req, "top_p")))
        json_object_set(out, "top_p", v);
    if ((v = json_object_get(req, "stream"))) {
        json_object_set(out, "stream", v);
        if (json_is_true(v)) {
            /* the closing message_delta carries the usage */
            json_t *so = json_object();
            json_object_set_new(so, "include_usage", json_true());
            json_object_set_new(out, "stream_options", so);
        }
    }
    json_t *user = json_object_get(json_object_get(req, "metadata"), "user_id");
    if (json_is_string(user))
        json_object_set(out, "user", user);
    if (!translate_tools(&m, req, out))
        return NULL;
    return out;
}

/* ------------------------------------------------------------------ response */

static const char *stop_reason(const char *finish)
{
    if (!finish)
        return "end_turn";
    if (!strcmp(finish, "length"))
        return "max_tokens";
    if (!strcmp(finish, "tool_calls") || !strcmp(finish, "function_call"))
        return "tool_use";
    if (!strcmp(finish, "content_filter"))
        return "refusal";
    return "end_turn";
}

static const char *message_id(apr_pool_t *p, const char *chat_id)
{
    if (!chat_id)
        return "msg_0";
    if (!strncmp(chat_id, "chatcmpl-", 9))
        chat_id += 9;
    return apr_pstrcat(p, "msg_", chat_id, NULL);
}

static json_t *input_of(const char *args)
{
    json_t *o = args && *args ? json_loads(args, 0, NULL) : NULL;
    if (!json_is_object(o)) {
        json_decref(o);
        o = json_object();
    }
    return o;
}

static json_t *usage_json(long long input, long long output, long long cache_read)
{
    json_t *u = json_object();
    json_object_set_new(u, "input_tokens", json_integer(input - cache_read > 0 ? input - cache_read : 0));
    json_object_set_new(u, "output_tokens", json_integer(output));
    json_object_set_new(u, "cache_creation_input_tokens", json_integer(0));
    json_object_set_new(u, "cache_read_input_tokens", json_integer(cache_read));
    return u;
}

static long long int_at(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : 0;
}

char *cx_messages_from_chat(apr_pool_t *p, const char *body, apr_size_t len, apr_size_t *out_len)
{
    json_t *doc = cx_json_own(p, json_loadb(body, len, JSON_ALLOW_NUL, NULL));
    json_t *choice = json_array_get(json_object_get(doc, "choices"), 0);
    if (!json_is_object(doc) || !json_is_object(choice))
        return NULL;
    json_t *msg = json_object_get(choice, "message");
    json_t *content = json_array();
    const char *text = json_string_value(json_object_get(msg, "content"));
    if (text && *text) {
        json_t *b = json_object();
        json_object_set_new(b, "type", json_string("text"));
        json_object_set_new(b, "text", json_string(text));
        json_array_append_new(content, b);
    }
    size_t i;
    json_t *call;
    json_array_foreach(json_object_get(msg, "tool_calls"), i, call) {
        json_t *fn = json_object_get(call, "function");
        json_t *b = json_object();
        json_object_set_new(b, "type", json_string("tool_use"));
        json_object_set(b, "id", json_object_get(call, "id"));
        json_object_set(b, "name", json_object_get(fn, "name"));
        json_object_set_new(b, "input", input_of(json_string_value(json_object_get(fn, "arguments"))));
        json_array_append_new(content, b);
    }
    json_t *usage = json_object_get(doc, "usage");
    json_t *out = cx_json_own(p, json_object());
    json_object_set_new(out, "id", json_string(message_id(p, json_string_value(json_object_get(doc, "id")))));
    json_object_set_new(out, "type", json_string("message"));
    json_object_set_new(out, "role", json_string("assistant"));
    json_object_set(out, "model", json_object_get(doc, "model"));
    json_object_set_new(out, "content", content);
    json_object_set_new(out, "stop_reason", json_string(stop_reason(
                            json_string_value(json_object_get(choice, "finish_reason")))));
    json_object_set_new(out, "stop_sequence", json_null());
    json_object_set_new(out, "usage", usage_json(int_at(usage, "prompt_tokens"),
                                                 int_at(usage, "completion_tokens"),
                                                 int_at(json_object_get(usage, "prompt_tokens_details"),
                                                        "cached_tokens")));
    return cx_json_dump_flags(p, out, JSON_COMPACT | JSON_REAL_PRECISION(17), out_len);
}

/* ------------------------------------------------------------------ stream */

void cx_msgstream_init(cx_msgstream_t *st, apr_pool_t *pool, const char *requested_model,
                       const char *id)
{
    memset(st, 0, sizeof *st);
    st->pool = pool;
    st->requested_model = requested_model;
    st->id = id;
    st->block = -1;
}

static void emit(apr_pool_t *p, apr_array_header_t *out, const char *event, json_t *doc)
{
    json_object_set_new(doc, "type", json_string(event));
    /* "type" first, as Anthropic sends it */
    json_t *ordered = json_object();
    json_object_set_new(ordered, "type", json_string(event));
    json_object_update(ordered, doc);
    json_decref(doc);
    cx_msg_event_t *e = apr_array_push(out);
    e->event = event;
    e->data = cx_json_dump(p, cx_json_own(p, ordered), &e->len);
    if (!e->data) {
        e->data = "{}";
        e->len = 2;
    }
}

static void start_message(apr_pool_t *p, cx_msgstream_t *st, apr_array_header_t *out)
{
    if (st->started)
        return;
    st->started = 1;
    json_t *msg = json_object();
    json_object_set_new(msg, "id", json_string(message_id(p, st->id)));
    json_object_set_new(msg, "type", json_string("message"));
    json_object_set_new(msg, "role", json_string("assistant"));
    json_object_set_new(msg, "model", json_string(st->requested_model));
    json_object_set_new(msg, "content", json_array());
    json_object_set_new(msg, "stop_reason", json_null());
    json_object_set_new(msg, "stop_sequence", json_null());
    json_object_set_new(msg, "usage", usage_json(0, 0, 0));
    json_t *doc = json_object();
    json_object_set_new(doc, "message", msg);
    emit(p, out, "message_start", doc);
}

static void close_block(apr_pool_t *p, cx_msgstream_t *st, apr_array_header_t *out)
{
    if (st->block < 0)
        return;
    json_t *doc = json_object();
    json_object_set_new(doc, "index", json_integer(st->block));
    emit(p, out, "content_block_stop", doc);
    st->block = -1;
}

static void open_block(apr_pool_t *p, cx_msgstream_t *st, apr_array_header_t *out, json_t *block,
                       int is_tool)
{
    close_block(p, st, out);
    st->block = st->next_block++;
    st->block_is_tool = is_tool;
    json_t *doc = json_object();
    json_object_set_new(doc, "index", json_integer(st->block));
    json_object_set_new(doc, "content_block", block);
    emit(p, out, "content_block_start", doc);
}

static void block_delta(apr_pool_t *p, apr_array_header_t *out, int index, json_t *delta)
{
    json_t *doc = json_object();
    json_object_set_new(doc, "index", json_integer(index));
    json_object_set_new(doc, "delta", delta);
    emit(p, out, "content_block_delta", doc);
}

void cx_msgstream_chunk(apr_pool_t *p, cx_msgstream_t *st, const char *data, apr_size_t len,
                        apr_array_header_t *out)
{
    json_t *doc = cx_json_own(p, json_loadb(data, len, JSON_ALLOW_NUL, NULL));
    if (!json_is_object(doc))
        return;
    if (!st->id && json_is_string(json_object_get(doc, "id")))
        st->id = apr_pstrdup(st->pool, json_string_value(json_object_get(doc, "id")));
    start_message(p, st, out);
    json_t *usage = json_object_get(doc, "usage");
    if (json_is_object(usage)) {
        st->input_tokens = int_at(usage, "prompt_tokens");
        st->output_tokens = int_at(usage, "completion_tokens");
        st->cache_read = int_at(json_object_get(usage, "prompt_tokens_details"), "cached_tokens");
    }
    json_t *choice = json_array_get(json_object_get(doc, "choices"), 0);
    json_t *delta = json_object_get(choice, "delta");
    const char *text = json_string_value(json_object_get(delta, "content"));
    if (text && *text) {
        if (st->block < 0 || st->block_is_tool) {
            json_t *b = json_object();
            json_object_set_new(b, "type", json_string("text"));
            json_object_set_new(b, "text", json_string(""));
            open_block(p, st, out, b, 0);
        }
        json_t *d = json_object();
        json_object_set_new(d, "type", json_string("text_delta"));
        json_object_set_new(d, "text", json_string(text));
        block_delta(p, out, st->block, d);
    }
    size_t i;
    json_t *call;
    json_array_foreach(json_object_get(delta, "tool_calls"), i, call) {
        json_int_t k = json_integer_value(json_object_get(call, "index"));
        if (k < 0 || k >= (json_int_t)(sizeof st->tool_block / sizeof st->tool_block[0]))
            continue;
        json_t *fn = json_object_get(call, "function");
        const char *id = json_string_value(json_object_get(call, "id"));
        if (id) {
            json_t *b = json_object();
            json_object_set_new(b, "type", json_string("tool_use"));
            json_object_set_new(b, "id", json_string(id));
            json_object_set(b, "name", json_object_get(fn, "name"));
            json_object_set_new(b, "input", json_object());
            open_block(p, st, out, b, 1);
            st->tool_block[k] = st->block + 1;
        }
        const char *args = json_string_value(json_object_get(fn, "arguments"));
        if (args && *args && st->tool_block[k]) {
            json_t *d = json_object();
            json_object_set_new(d, "type", json_string("input_json_delta"));
            json_object_set_new(d, "partial_json", json_string(args));
            block_delta(p, out, st->tool_block[k] - 1, d);
        }
    }
    const char *finish = json_string_value(json_object_get(choice, "finish_reason"));
    if (finish)
        st->stop_reason = apr_pstrdup(st->pool, stop_reason(finish));
}

void cx_msgstream_done(apr_pool_t *p, cx_msgstream_t *st, apr_array_header_t *out)
{
    start_message(p, st, out);
    close_block(p, st, out);
    json_t *d = json_object();
    json_object_set_new(d, "stop_reason", json_string(st->stop_reason ? st->stop_reason : "end_turn"));
    json_object_set_new(d, "stop_sequence", json_null());
    json_t *doc = json_object();
    json_object_set_new(doc, "delta", d);
    json_object_set_new(doc, "usage", usage_json(st->input_tokens, st->output_tokens, st->cache_read));
    emit(p, out, "message_delta", doc);
    emit(p, out, "message_stop", json_object());
}

/* ------------------------------------------------------------------ errors */

static const char *anthropic_type(int status)
{
    switch (status) {
    case 400: return "invalid_request_error";
    case 401: return "authentication_error";
    case 402: return "billing_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 413: return "request_too_large";
    case 429: return "rate_limit_error";
    case 503: return "overloaded_error";
    case 504: return "timeout_error";
    default: return status >= 500 ? "api_error" : "invalid_request_error";
    }
}

const char *cx_messages_error_body(apr_pool_t *p, int status, const char *openai_body)
{
    json_t *doc = openai_body ? cx_json_own(p, json_loads(openai_body, 0, NULL)) : NULL;
    json_t *err = json_object_get(doc, "error");
    const char *msg = json_string_value(json_object_get(err, "message"));
    json_t *code = json_object_get(err, "code");
    json_t *inner = json_object();
    json_object_set_new(inner, "type", json_string(anthropic_type(status)));
    json_object_set_new(inner, "message", json_string(msg ? msg : "The request failed."));
    if (json_is_string(code))
        json_object_set(inner, "code", code);
    json_t *out = cx_json_own(p, json_object());
    json_object_set_new(out, "type", json_string("error"));
    json_object_set_new(out, "error", inner);
    const char *s = cx_json_dump(p, out, NULL);
    return s ? s : "{\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"internal error\"}}";
}
