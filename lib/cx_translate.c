#include "cx_translate.h"
#include "cx_error.h"
#include "cx_json.h"

#include <apr_strings.h>
#include <string.h>
#include <strings.h>

void cx_xstream_init(cx_xstream_t *st, apr_pool_t *pool, const char *requested_model,
                     int client_wants_usage, const char *call_id_prefix, long long created)
{
    memset(st, 0, sizeof *st);
    st->pool = pool;
    st->requested_model = requested_model;
    st->client_wants_usage = client_wants_usage;
    st->call_id_prefix = call_id_prefix ? call_id_prefix : "0";
    st->created = created;
    st->id = apr_pstrcat(pool, "chatcmpl-", st->call_id_prefix, NULL);
    st->block_tool = apr_hash_make(pool);
}

apr_array_header_t *cx_chunks_make(apr_pool_t *p)
{
    return apr_array_make(p, 4, sizeof(cx_chunk_t));
}

void cx_chunk_push(apr_array_header_t *out, const char *data, apr_size_t len)
{
    cx_chunk_t *c = apr_array_push(out);
    c->data = data;
    c->len = len;
}

static json_t *chunk_skeleton(const cx_xstream_t *st)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(st->id));
    json_object_set_new(o, "object", json_string("chat.completion.chunk"));
    json_object_set_new(o, "created", json_integer(st->created));
    json_object_set_new(o, "model", json_string(st->requested_model));
    return o;
}

static void push_json(apr_pool_t *p, apr_array_header_t *out, json_t *doc)
{
    apr_size_t len;
    char *s = cx_json_dump(p, cx_json_own(p, doc), &len);
    if (s)
        cx_chunk_push(out, s, len);
}

static void push_delta(apr_pool_t *p, const cx_xstream_t *st, apr_array_header_t *out,
                       json_t *delta, const char *finish_reason)
{
    json_t *doc = chunk_skeleton(st);
    json_t *choice = json_object();
    json_object_set_new(choice, "index", json_integer(0));
    json_object_set_new(choice, "delta", delta);
    json_object_set_new(choice, "logprobs", json_null());
    json_object_set_new(choice, "finish_reason", finish_reason ? json_string(finish_reason) : json_null());
    json_t *choices = json_array();
    json_array_append_new(choices, choice);
    json_object_set_new(doc, "choices", choices);
    push_json(p, out, doc);
}

void cx_xstream_start(apr_pool_t *p, cx_xstream_t *st, apr_array_header_t *out)
{
    if (st->started)
        return;
    /* OpenAI opens every stream with the role; SDKs build the message from it. */
    st->started = 1;
    json_t *role = json_object();
    json_object_set_new(role, "role", json_string("assistant"));
    json_object_set_new(role, "content", json_string(""));
    push_delta(p, st, out, role, NULL);
}

void cx_xstream_delta(apr_pool_t *p, cx_xstream_t *st, apr_array_header_t *out, json_t *delta,
                      const char *finish_reason)
{
    cx_xstream_start(p, st, out);
    if (finish_reason) {
        st->finished = 1;
        st->finish_reason = apr_pstrdup(st->pool, finish_reason);
    }
    push_delta(p, st, out, delta, finish_reason);
}

json_t *cx_usage_to_json(const cx_usage_t *u)
{
    json_t *o = json_object();
    json_object_set_new(o, "prompt_tokens", json_integer((json_int_t)u->prompt_tokens));
    json_object_set_new(o, "completion_tokens", json_integer((json_int_t)u->completion_tokens));
    json_object_set_new(o, "total_tokens",
                        json_integer((json_int_t)(u->prompt_tokens + u->completion_tokens)));
    json_t *details = json_object();
    json_object_set_new(details, "cached_tokens", json_integer((json_int_t)u->cache_read_tokens));
    json_object_set_new(o, "prompt_tokens_details", details);
    return o;
}

void cx_xstream_usage(apr_pool_t *p, cx_xstream_t *st, apr_array_header_t *out)
{
    if (!st->client_wants_usage)
        return;
    json_t *doc = chunk_skeleton(st);
    json_object_set_new(doc, "choices", json_array());
    json_object_set_new(doc, "usage", cx_usage_to_json(&st->usage));
    push_json(p, out, doc);
}

const char *cx_tool_call_id(apr_pool_t *p, const char *prefix, int n)
{
    return apr_psprintf(p, "call_%s_%d", prefix ? prefix : "0", n);
}

int cx_retryable_status(long status)
{
    return status >= 500 || status == 429 || status == 401 || status == 403 || status == 404 ||
           status == 408 || status == 409;
}

void cx_upstream_error_default(apr_pool_t *p, long status, const char *provider_word,
                               cx_upstream_error_t *e)
{
    memset(e, 0, sizeof *e);
    e->status = status >= 400 && status < 600 ? (int)status : 502;
    e->retry = cx_retryable_status(status);
    e->type = status >= 500 ? "server_error" : "invalid_request_error";
    e->message = apr_psprintf(p, "The provider%s%s rejected the request (HTTP %ld).",
                              provider_word ? " " : "", provider_word ? provider_word : "", status);
}

const char *cx_upstream_error_body(apr_pool_t *p, const cx_upstream_error_t *e)
{
    return cx_error_body_raw(p, e->message, e->type, e->param, e->code);
}

const char *cx_content_text(apr_pool_t *p, const json_t *content)
{
    if (json_is_string(content))
        return json_string_value(content);
    if (!json_is_array(content))
        return "";
    const char *out = NULL;
    size_t i;
    json_t *part;
    json_array_foreach(content, i, part) {
        const char *t = json_string_value(json_object_get(part, "text"));
        if (!t)
            continue;
        out = out ? apr_pstrcat(p, out, "\n", t, NULL) : t;
    }
    return out ? out : "";
}

json_int_t cx_request_max_tokens(const json_t *req)
{
    json_t *v = json_object_get(req, "max_completion_tokens");
    if (json_is_integer(v))
        return json_integer_value(v);
    v = json_object_get(req, "max_tokens");
    return json_is_integer(v) ? json_integer_value(v) : 0;
}

int cx_parse_data_url(apr_pool_t *p, const char *url, const char **mime, const char **data)
{
    if (!url || strncasecmp(url, "data:", 5))
        return 0;
    const char *comma = strchr(url, ',');
    if (!comma)
        return 0;
    const char *meta = url + 5;
    const char *semi = memchr(meta, ';', (size_t)(comma - meta));
    if (!semi || (size_t)(comma - semi) != 7 || strncasecmp(semi, ";base64", 7))
        return 0;
    *mime = apr_pstrmemdup(p, meta, (apr_size_t)(semi - meta));
    *data = comma + 1;
    return 1;
}

void cx_translate_append_turn(json_t *turns, const char *role, const char *member, json_t *items)
{
    if (json_array_size(items) == 0) {
        json_decref(items);
        return;
    }
    size_t n = json_array_size(turns);
    json_t *last = n ? json_array_get(turns, n - 1) : NULL;
    const char *last_role = last ? json_string_value(json_object_get(last, "role")) : NULL;
    if (last_role && !strcmp(last_role, role)) {
        json_array_extend(json_object_get(last, member), items);
        json_decref(items);
        return;
    }
    json_t *turn = json_object();
    json_object_set_new(turn, "role", json_string(role));
    json_object_set_new(turn, member, items);
    json_array_append_new(turns, turn);
}

json_t *cx_translate_call_arguments(const json_t *call)
{
    const char *args = json_string_value(json_object_get(json_object_get(call, "function"), "arguments"));
    json_t *obj = args && *args ? json_loads(args, 0, NULL) : json_object();
    if (!json_is_object(obj)) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

const char *cx_translate_content(apr_pool_t *p, const json_t *content, size_t mi,
                                 const cx_part_writer_t *w, json_t *parts, const char **param)
{
    if (json_is_string(content)) {
        if (*json_string_value(content))
            json_array_append_new(parts, w->text(json_string_value(content)));
        return NULL;
    }
    if (!json_is_array(content))
        return NULL;   /* null content (assistant with tool calls) */
    size_t j;
    json_t *part;
    json_array_foreach(content, j, part) {
        const char *type = json_string_value(json_object_get(part, "type"));
        if (!strcmp(type, "text") || !strcmp(type, "refusal")) {
            const char *t = json_string_value(json_object_get(part, type));
            if (t && *t)
                json_array_append_new(parts, w->text(t));
        }
        else if (!strcmp(type, "image_url")) {
            const char *url = json_string_value(json_object_get(json_object_get(part, "image_url"), "url"));
            json_array_append_new(parts, w->image(p, url));
        }
        else {
            *param = apr_psprintf(p, "messages[%" APR_SIZE_T_FMT "].content[%" APR_SIZE_T_FMT "]", mi, j);
            return apr_psprintf(p, "%s parts cannot be sent to %s models", type, w->family);
        }
    }
    return NULL;
}
