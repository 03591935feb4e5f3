#include "cx_gemini.h"
#include "cx_json.h"

#include <apr_strings.h>
#include <string.h>
#include <stdlib.h>
#include <strings.h>

const char *cx_gemini_url(apr_pool_t *p, const char *base_url, const char *model, int stream)
{
    return apr_pstrcat(p, base_url, "/models/", model,
                       stream ? ":streamGenerateContent?alt=sse" : ":generateContent", NULL);
}

/* ------------------------------------------------------------------ request */

typedef struct {
    apr_pool_t *p;
    const char *err;
    const char *param;
    apr_hash_t *call_names;   /* tool_call_id -> function name */
} xctx_t;

static int fail(xctx_t *x, const char *param, const char *msg)
{
    x->param = param;
    x->err = apr_psprintf(x->p, "%s: %s", param, msg);
    return 0;
}

static void append_parts(json_t *contents, const char *role, json_t *parts)
{
    cx_translate_append_turn(contents, role, "parts", parts);
}

static json_t *text_part(const char *text)
{
    json_t *o = json_object();
    json_object_set_new(o, "text", json_string(text));
    return o;
}

/* Image type from a URL's extension; Gemini needs one for fileData. */
static const char *guess_image_mime(const char *url)
{
    const char *end = url + strcspn(url, "?#");
    static const struct { const char *ext, *mime; } map[] = {
        {".png", "image/png"}, {".gif", "image/gif"}, {".webp", "image/webp"},
        {".heic", "image/heic"}, {".heif", "image/heif"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        size_t n = strlen(map[i].ext);
        if ((size_t)(end - url) > n && !strncasecmp(end - n, map[i].ext, n))
            return map[i].mime;
    }
    return "image/jpeg";
}

static json_t *image_part(apr_pool_t *p, const char *url)
{
    const char *mime, *data;
    json_t *inner = json_object();
    json_t *part = json_object();
    if (cx_parse_data_url(p, url, &mime, &data)) {
        json_object_set_new(inner, "mimeType", json_string(mime));
        json_object_set_new(inner, "data", json_string(data));
        json_object_set_new(part, "inlineData", inner);
    }
    else {
        /* The gateway never fetches client URLs itself (SSRF): Gemini reads them. */
        json_object_set_new(inner, "mimeType", json_string(guess_image_mime(url)));
        json_object_set_new(inner, "fileUri", json_string(url));
        json_object_set_new(part, "fileData", inner);
    }
    return part;
}

static int content_parts(xctx_t *x, const json_t *content, size_t mi, json_t *parts)
{
    static const cx_part_writer_t writer = {text_part, image_part, "Gemini"};
    const char *param = NULL;
    const char *why = cx_translate_content(x->p, content, mi, &writer, parts, &param);
    return why ? fail(x, param, why) : 1;
}

static int call_parts(xctx_t *x, const json_t *calls, size_t mi, json_t *parts)
{
    size_t k;
    json_t *call;
    json_array_foreach(calls, k, call) {
        json_t *fn = json_object_get(call, "function");
        json_t *obj = cx_translate_call_arguments(call);
        if (!obj)
            return fail(x, apr_psprintf(x->p, "messages[%" APR_SIZE_T_FMT "].tool_calls[%" APR_SIZE_T_FMT "].function.arguments", mi, k),
                        "must be a JSON object to be sent to Gemini models");
        const char *name = json_string_value(json_object_get(fn, "name"));
        const char *id = json_string_value(json_object_get(call, "id"));
        if (id && name)
            apr_hash_set(x->call_names, id, APR_HASH_KEY_STRING, name);
        json_t *fc = json_object();
        json_object_set_new(fc, "name", json_string(name ? name : ""));
        json_object_set_new(fc, "args", obj);
        json_t *part = json_object();
        json_object_set_new(part, "functionCall", fc);
        json_array_append_new(parts, part);
    }
    return 1;
}

/* A tool result: Gemini wants the function's name and an object. JSON objects pass
 * as they are; anything else is wrapped as {"output": text}, the key Gemini's
 * reference names for a function's output. */
static json_t *response_part(xctx_t *x, const json_t *m)
{
    const char *id = json_string_value(json_object_get(m, "tool_call_id"));
    const char *name = id ? apr_hash_get(x->call_names, id, APR_HASH_KEY_STRING) : NULL;
    if (!name)
        name = json_string_value(json_object_get(m, "name"));
    const char *text = cx_content_text(x->p, json_object_get(m, "content"));
    json_t *obj = json_loads(text, 0, NULL);
    if (!json_is_object(obj)) {
        json_decref(obj);
        obj = json_object();
        json_object_set_new(obj, "output", json_string(text));
    }
    json_t *fr = json_object();
    json_object_set_new(fr, "name", json_string(name ? name : (id ? id : "tool")));
    json_object_set_new(fr, "response", obj);
    json_t *part = json_object();
    json_object_set_new(part, "functionResponse", fr);
    return part;
}

static int translate_messages(xctx_t *x, const json_t *msgs, json_t *out)
{
    json_t *contents = json_array();
    json_object_set_new(out, "contents", contents);
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
        json_t *parts = json_array();
        if (!strcmp(role, "tool")) {
            json_array_append_new(parts, response_part(x, m));
            append_parts(contents, "user", parts);
            continue;
        }
        if (!strcmp(role, "function")) {
            json_decref(parts);
            return fail(x, apr_psprintf(x->p, "messages[%" APR_SIZE_T_FMT "].role", i),
                        "the deprecated function role cannot be sent to Gemini models; use tool");
        }
        int assistant = !strcmp(role, "assistant");
        if (!content_parts(x, content, i, parts)) {
            json_decref(parts);
            return 0;
        }
        if (assistant) {
            json_t *calls = json_object_get(m, "tool_calls");
            if (json_is_array(calls) && !call_parts(x, calls, i, parts)) {
                json_decref(parts);
                return 0;
            }
            json_t *fc = json_object_get(m, "function_call");
            if (fc && !json_is_null(fc)) {
                json_decref(parts);
                return fail(x, apr_psprintf(x->p, "messages[%" APR_SIZE_T_FMT "].function_call", i),
                            "is deprecated and cannot be sent to Gemini models; use tool_calls");
            }
        }
        append_parts(contents, assistant ? "model" : "user", parts);
    }
    if (system) {
        json_t *si = json_object();
        json_t *parts = json_array();
        json_array_append_new(parts, text_part(system));
        json_object_set_new(si, "parts", parts);
        json_object_set_new(out, "systemInstruction", si);
    }
    if (json_array_size(contents) == 0)
        return fail(x, "messages", "at least one user or assistant message with content is required");
    return 1;
}

static void copy_number(json_t *dst, const char *dkey, const json_t *src, const char *skey)
{
    json_t *v = json_object_get(src, skey);
    if (json_is_number(v))
        json_object_set(dst, dkey, v);
}

static int translate_config(xctx_t *x, const json_t *req, int stream, json_t *out)
{
    json_t *cfg = json_object();
    copy_number(cfg, "temperature", req, "temperature");
    copy_number(cfg, "topP", req, "top_p");
    copy_number(cfg, "presencePenalty", req, "presence_penalty");
    copy_number(cfg, "frequencyPenalty", req, "frequency_penalty");
    copy_number(cfg, "seed", req, "seed");
    json_int_t max = cx_request_max_tokens(req);
    if (max > 0)
        json_object_set_new(cfg, "maxOutputTokens", json_integer(max));
    json_t *n = json_object_get(req, "n");
    if (json_is_integer(n) && json_integer_value(n) > 1) {
        if (stream) {
            json_decref(cfg);
            return fail(x, "n", "streamed answers from Gemini models have one choice; n must be 1");
        }
        json_object_set(cfg, "candidateCount", n);
    }
    json_t *stop = json_object_get(req, "stop");
    if (json_is_string(stop)) {
        json_t *a = json_array();
        json_array_append(a, stop);
        json_object_set_new(cfg, "stopSequences", a);
    }
    else if (json_is_array(stop) && json_array_size(stop)) {
        json_object_set(cfg, "stopSequences", stop);
    }
    json_t *rf = json_object_get(req, "response_format");
    const char *rft = json_string_value(json_object_get(rf, "type"));
    if (rft && (!strcmp(rft, "json_object") || !strcmp(rft, "json_schema"))) {
        json_object_set_new(cfg, "responseMimeType", json_string("application/json"));
        json_t *schema = json_object_get(json_object_get(rf, "json_schema"), "schema");
        if (json_is_object(schema))
            json_object_set(cfg, "responseJsonSchema", schema);
    }
    if (json_object_size(cfg))
        json_object_set_new(out, "generationConfig", cfg);
    else
        json_decref(cfg);
    return 1;
}

static int translate_tools(xctx_t *x, const json_t *req, json_t *out)
{
    json_t *tools = json_object_get(req, "tools");
    if (!json_is_array(tools) || !json_array_size(tools))
        return 1;
    json_t *decls = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t) {
        json_t *fn = json_object_get(t, "function");
        json_t *d = json_object();
        json_object_set(d, "name", json_object_get(fn, "name"));
        json_t *desc = json_object_get(fn, "description");
        if (json_is_string(desc))
            json_object_set(d, "description", desc);
        json_t *params = json_object_get(fn, "parameters");
        /* parametersJsonSchema takes the client's JSON Schema as written; the older
         * "parameters" field accepts only an OpenAPI subset. */
        if (json_is_object(params))
            json_object_set(d, "parametersJsonSchema", params);
        json_array_append_new(decls, d);
    }
    json_t *tool = json_object();
    json_object_set_new(tool, "functionDeclarations", decls);
    json_t *arr = json_array();
    json_array_append_new(arr, tool);
    json_object_set_new(out, "tools", arr);

    json_t *tc = json_object_get(req, "tool_choice");
    const char *mode = NULL;
    json_t *allowed = NULL;
    if (json_is_string(tc)) {
        const char *s = json_string_value(tc);
        mode = !strcmp(s, "required") ? "ANY" : !strcmp(s, "none") ? "NONE" : "AUTO";
    }
    else if (json_is_object(tc)) {
        const char *name = json_string_value(json_object_get(json_object_get(tc, "function"), "name"));
        if (!name)
            return fail(x, "tool_choice", "must name a function: {\"type\":\"function\",\"function\":{\"name\":...}}");
        mode = "ANY";
        allowed = json_array();
        json_array_append_new(allowed, json_string(name));
    }
    if (mode) {
        json_t *fcc = json_object();
        json_object_set_new(fcc, "mode", json_string(mode));
        if (allowed)
            json_object_set_new(fcc, "allowedFunctionNames", allowed);
        json_t *cfg = json_object();
        json_object_set_new(cfg, "functionCallingConfig", fcc);
        json_object_set_new(out, "toolConfig", cfg);
    }
    return 1;
}

char *cx_gemini_request(apr_pool_t *p, const json_t *req, int stream, apr_size_t *len,
                        const char **err, const char **err_param)
{
    xctx_t x = {.p = p, .call_names = apr_hash_make(p)};
    json_t *out = cx_json_own(p, json_object());
    if (!translate_messages(&x, json_object_get(req, "messages"), out) ||
        !translate_config(&x, req, stream, out) || !translate_tools(&x, req, out)) {
        *err = x.err;
        *err_param = x.param;
        return NULL;
    }
    return cx_json_dump_flags(p, out, JSON_COMPACT | JSON_REAL_PRECISION(17), len);
}

/* ------------------------------------------------------------------ response */

const char *cx_gemini_finish_reason(const char *reason, int called_tools)
{
    if (!reason || !strcmp(reason, "STOP") || !strcmp(reason, "FINISH_REASON_UNSPECIFIED"))
        return called_tools ? "tool_calls" : "stop";
    if (!strcmp(reason, "MAX_TOKENS"))
        return "length";
    static const char *const filtered[] = {
        "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION", "LANGUAGE", NULL
    };
    for (int i = 0; filtered[i]; i++)
        if (!strcmp(reason, filtered[i]))
            return "content_filter";
    return called_tools ? "tool_calls" : "stop";
}

/* promptTokenCount counts cached content too; thinking tokens are output the
 * provider bills, so they count as completion tokens (as OpenAI's reasoning tokens). */
static void read_usage(const json_t *u, cx_usage_t *out)
{
    if (!json_is_object(u))
        return;
    json_t *pt = json_object_get(u, "promptTokenCount");
    json_t *ct = json_object_get(u, "candidatesTokenCount");
    json_t *th = json_object_get(u, "thoughtsTokenCount");
    json_t *cc = json_object_get(u, "cachedContentTokenCount");
    if (json_is_integer(pt))
        out->prompt_tokens = (uint64_t)json_integer_value(pt);
    out->completion_tokens = (json_is_integer(ct) ? (uint64_t)json_integer_value(ct) : 0) +
                             (json_is_integer(th) ? (uint64_t)json_integer_value(th) : 0);
    if (json_is_integer(cc))
        out->cache_read_tokens = (uint64_t)json_integer_value(cc);
    out->have = 1;
}

static json_t *openai_call(const json_t *fc, const char *id)
{
    json_t *fn = json_object();
    json_object_set(fn, "name", json_object_get(fc, "name"));
    json_t *args = json_object_get(fc, "args");
    char *s = json_is_object(args) ? json_dumps(args, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    json_object_set_new(fn, "arguments", json_string(s ? s : "{}"));
    free(s);
    json_t *call = json_object();
    const char *gid = json_string_value(json_object_get(fc, "id"));
    json_object_set_new(call, "id", json_string(gid ? gid : id));
    json_object_set_new(call, "type", json_string("function"));
    json_object_set_new(call, "function", fn);
    return call;
}

/* Thought summaries ("thought": true) are not part of the answer. */
static int is_thought(const json_t *part)
{
    return json_is_true(json_object_get(part, "thought"));
}

char *cx_gemini_response(apr_pool_t *p, const char *body, apr_size_t len,
                         const char *requested_model, const char *id_suffix, long long created,
                         cx_usage_t *usage, apr_size_t *out_len)
{
    json_t *doc = cx_json_own(p, json_loadb(body, len, JSON_ALLOW_NUL, NULL));
    if (!json_is_object(doc))
        return NULL;
    json_t *cands = json_object_get(doc, "candidates");
    const char *blocked = json_string_value(json_object_get(json_object_get(doc, "promptFeedback"),
                                                            "blockReason"));
    if (!json_is_array(cands) && !blocked && !json_is_object(json_object_get(doc, "usageMetadata")))
        return NULL;
    const char *prefix = id_suffix ? id_suffix : "0";
    json_t *choices = json_array();
    int ncalls = 0;
    size_t i;
    json_t *c;
    json_array_foreach(cands, i, c) {
        const char *text = NULL;
        json_t *calls = json_array();
        size_t j;
        json_t *part;
        json_array_foreach(json_object_get(json_object_get(c, "content"), "parts"), j, part) {
            if (is_thought(part))
                continue;
            const char *t = json_string_value(json_object_get(part, "text"));
            json_t *fc = json_object_get(part, "functionCall");
            if (t)
                text = text ? apr_pstrcat(p, text, t, NULL) : apr_pstrdup(p, t);
            else if (json_is_object(fc))
                json_array_append_new(calls, openai_call(fc, cx_tool_call_id(p, prefix, ncalls++)));
        }
        json_t *msg = json_object();
        json_object_set_new(msg, "role", json_string("assistant"));
        json_object_set_new(msg, "content", text ? json_string(text)
                                            : json_array_size(calls) ? json_null() : json_string(""));
        if (json_array_size(calls))
            json_object_set(msg, "tool_calls", calls);
        json_object_set_new(msg, "refusal", json_null());
        json_t *choice = json_object();
        json_t *idx = json_object_get(c, "index");
        json_object_set_new(choice, "index", json_integer(json_is_integer(idx) ? json_integer_value(idx) : (json_int_t)i));
        json_object_set_new(choice, "message", msg);
        json_object_set_new(choice, "logprobs", json_null());
        json_object_set_new(choice, "finish_reason", json_string(cx_gemini_finish_reason(
            json_string_value(json_object_get(c, "finishReason")), json_array_size(calls) > 0)));
        json_decref(calls);
        json_array_append_new(choices, choice);
    }
    if (json_array_size(choices) == 0) {
        /* A blocked prompt: no candidate at all. */
        json_t *msg = json_object();
        json_object_set_new(msg, "role", json_string("assistant"));
        json_object_set_new(msg, "content", json_string(""));
        json_object_set_new(msg, "refusal", json_null());
        json_t *choice = json_object();
        json_object_set_new(choice, "index", json_integer(0));
        json_object_set_new(choice, "message", msg);
        json_object_set_new(choice, "logprobs", json_null());
        json_object_set_new(choice, "finish_reason", json_string(blocked ? "content_filter" : "stop"));
        json_array_append_new(choices, choice);
    }
    cx_usage_t u = {0};
    read_usage(json_object_get(doc, "usageMetadata"), &u);
    *usage = u;
    json_t *out = cx_json_own(p, json_object());
    json_object_set_new(out, "id", json_string(apr_pstrcat(p, "chatcmpl-", prefix, NULL)));
    json_object_set_new(out, "object", json_string("chat.completion"));
    json_object_set_new(out, "created", json_integer(created));
    json_object_set_new(out, "model", json_string(requested_model));
    json_object_set_new(out, "choices", choices);
    json_object_set_new(out, "usage", cx_usage_to_json(&u));
    return cx_json_dump_flags(p, out, JSON_COMPACT | JSON_REAL_PRECISION(17), out_len);
}

/* ------------------------------------------------------------------ stream */

static cx_chunk_action_t error_event(apr_pool_t *p, const json_t *err, apr_array_header_t *out)
{
    const char *msg = json_string_value(json_object_get(err, "message"));
    const char *status = json_string_value(json_object_get(err, "status"));
    cx_upstream_error_t e = {
        .status = 502,
        .message = msg ? msg : "The provider reported an error in the middle of the stream.",
        .type = "server_error",
        .code = status ? apr_pstrdup(p, status) : NULL,
    };
    const char *body = cx_upstream_error_body(p, &e);
    cx_chunk_push(out, body, strlen(body));
    return CX_CHUNK_ERROR;
}

cx_chunk_action_t cx_gemini_stream_event(apr_pool_t *p, cx_xstream_t *st, const char *data,
                                         apr_size_t len, apr_array_header_t *out)
{
    json_t *doc = cx_json_own(p, json_loadb(data, len, JSON_ALLOW_NUL, NULL));
    if (!json_is_object(doc))
        return CX_CHUNK_FORWARD;
    json_t *err = json_object_get(doc, "error");
    if (json_is_object(err))
        return error_event(p, err, out);
    read_usage(json_object_get(doc, "usageMetadata"), &st->usage);

    json_t *cand = json_array_get(json_object_get(doc, "candidates"), 0);
    size_t j;
    json_t *part;
    json_array_foreach(json_object_get(json_object_get(cand, "content"), "parts"), j, part) {
        if (is_thought(part))
            continue;
        const char *t = json_string_value(json_object_get(part, "text"));
        json_t *fc = json_object_get(part, "functionCall");
        if (t && *t) {
            json_t *delta = json_object();
            json_object_set_new(delta, "content", json_string(t));
            cx_xstream_delta(p, st, out, delta, NULL);
        }
        else if (json_is_object(fc)) {
            /* Gemini sends each call whole: one delta carries id, name and arguments. */
            json_t *call = openai_call(fc, cx_tool_call_id(p, st->call_id_prefix, st->tools));
            json_object_set_new(call, "index", json_integer(st->tools++));
            json_t *calls = json_array();
            json_array_append_new(calls, call);
            json_t *delta = json_object();
            json_object_set_new(delta, "tool_calls", calls);
            cx_xstream_delta(p, st, out, delta, NULL);
        }
    }
    const char *reason = json_string_value(json_object_get(cand, "finishReason"));
    const char *blocked = json_string_value(json_object_get(json_object_get(doc, "promptFeedback"),
                                                            "blockReason"));
    if (!st->finished && (reason || blocked))
        cx_xstream_delta(p, st, out, json_object(),
                         reason ? cx_gemini_finish_reason(reason, st->tools > 0) : "content_filter");
    return CX_CHUNK_FORWARD;
}

int cx_gemini_stream_end(apr_pool_t *p, cx_xstream_t *st, apr_array_header_t *out)
{
    if (!st->finished)
        return 0;
    st->completed = 1;
    cx_xstream_usage(p, st, out);
    return 1;
}

/* ------------------------------------------------------------------ errors */

static int says_api_key_invalid(const json_t *err)
{
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(err, "details"), i, d) {
        const char *reason = json_string_value(json_object_get(d, "reason"));
        if (reason && !strcmp(reason, "API_KEY_INVALID"))
            return 1;
    }
    return 0;
}

void cx_gemini_error(apr_pool_t *p, long status, const char *body, apr_size_t len,
                     cx_upstream_error_t *e)
{
    cx_upstream_error_default(p, status, "google", e);
    json_t *doc = body && len ? cx_json_own(p, json_loadb(body, len, JSON_ALLOW_NUL, NULL)) : NULL;
    json_t *err = json_object_get(doc, "error");
    if (!json_is_object(err))
        return;
    const char *msg = json_string_value(json_object_get(err, "message"));
    const char *gstatus = json_string_value(json_object_get(err, "status"));
    if (msg)
        e->message = apr_pstrdup(p, msg);
    if (gstatus)
        e->code = apr_pstrdup(p, gstatus);
    if (says_api_key_invalid(err)) {
        e->retry = 1;
        e->type = "server_error";
    }
}
