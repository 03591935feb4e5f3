/* Conduix response cache entries (see cx_cache_entry.h). */
#include "cx_cache_entry.h"
#include "cx_json.h"
#include "cx_sse.h"

#include <apr_strings.h>
#include <string.h>

#define ENTRY_VERSION 1

static char *dump(apr_pool_t *p, const json_t *j, apr_size_t *len)
{
    return cx_json_dump_flags(p, j, JSON_COMPACT | JSON_REAL_PRECISION(17), len);
}

static char *make_entry(apr_pool_t *p, const char *provider, const char *served_model,
                        uint64_t prompt_tokens, uint64_t completion_tokens, json_t *response,
                        apr_size_t *out_len)
{
    json_t *e = cx_json_own(p, json_object());
    json_object_set_new(e, "v", json_integer(ENTRY_VERSION));
    json_object_set_new(e, "provider", json_string(provider ? provider : ""));
    json_object_set_new(e, "served_model", json_string(served_model ? served_model : ""));
    json_object_set_new(e, "prompt_tokens", json_integer((json_int_t)prompt_tokens));
    json_object_set_new(e, "completion_tokens", json_integer((json_int_t)completion_tokens));
    json_object_set(e, "response", response);
    return dump(p, e, out_len);
}

char *cx_cache_entry_from_response(apr_pool_t *p, const char *provider, const char *served_model,
                                   uint64_t prompt_tokens, uint64_t completion_tokens,
                                   const char *body, apr_size_t len, apr_size_t *out_len)
{
    json_t *doc = cx_json_own(p, json_loadb(body, len, JSON_ALLOW_NUL, NULL));
    if (!json_is_object(doc))
        return NULL;
    json_t *choices = json_object_get(doc, "choices");
    if (!json_is_array(choices) || json_array_size(choices) != 1 ||
        !json_is_object(json_object_get(json_array_get(choices, 0), "message")))
        return NULL;
    return make_entry(p, provider, served_model, prompt_tokens, completion_tokens, doc, out_len);
}

/* ---------------------------------------------------------------- stream assembly */

typedef struct {
    apr_pool_t *p;
    json_t *first;            /* the first chunk: id, created, system_fingerprint */
    char *content;
    apr_size_t content_len, content_cap;
    int have_content;
    json_t *tool_calls;       /* array of {id,type,function:{name,arguments}} */
    const char *finish;
    json_t *usage;
    int done;
    int bad;
} assembly_t;

static void append_content(assembly_t *a, const char *s, apr_size_t n)
{
    if (a->content_len + n + 1 > a->content_cap) {
        apr_size_t cap = a->content_cap ? a->content_cap * 2 : 1024;
        while (cap < a->content_len + n + 1)
            cap *= 2;
        char *fresh = apr_palloc(a->p, cap);
        if (a->content_len)
            memcpy(fresh, a->content, a->content_len);
        a->content = fresh;
        a->content_cap = cap;
    }
    memcpy(a->content + a->content_len, s, n);
    a->content_len += n;
    a->content[a->content_len] = '\0';
    a->have_content = 1;
}

static void append_string_member(apr_pool_t *p, json_t *obj, const char *key, json_t *more)
{
    if (!json_is_string(more))
        return;
    json_t *cur = json_object_get(obj, key);
    const char *before = json_is_string(cur) ? json_string_value(cur) : "";
    json_object_set_new(obj, key, json_string(apr_pstrcat(p, before, json_string_value(more), NULL)));
}

static void merge_tool_calls(assembly_t *a, json_t *deltas)
{
    size_t pos;
    json_t *d;
    json_array_foreach(deltas, pos, d) {
        if (!json_is_object(d))
            continue;
        json_t *jidx = json_object_get(d, "index");
        size_t idx = json_is_integer(jidx) && json_integer_value(jidx) >= 0
                         ? (size_t)json_integer_value(jidx) : pos;
        if (idx > 127) {
            a->bad = 1;
            return;
        }
        while (json_array_size(a->tool_calls) <= idx) {
            json_t *tc = json_object();
            json_object_set_new(tc, "id", json_string(""));
            json_object_set_new(tc, "type", json_string("function"));
            json_t *fn = json_object();
            json_object_set_new(fn, "name", json_string(""));
            json_object_set_new(fn, "arguments", json_string(""));
            json_object_set_new(tc, "function", fn);
            json_array_append_new(a->tool_calls, tc);
        }
        json_t *tc = json_array_get(a->tool_calls, idx);
        json_t *v;
        if (json_is_string(v = json_object_get(d, "id")))
            json_object_set(tc, "id", v);
        if (json_is_string(v = json_object_get(d, "type")))
            json_object_set(tc, "type", v);
        json_t *fn = json_object_get(d, "function");
        if (json_is_object(fn)) {
            json_t *acc = json_object_get(tc, "function");
            append_string_member(a->p, acc, "name", json_object_get(fn, "name"));
            append_string_member(a->p, acc, "arguments", json_object_get(fn, "arguments"));
        }
    }
}

static int on_chunk(void *baton, const char *event_name, const char *data, apr_size_t len)
{
    assembly_t *a = baton;
    if (a->done) {
        a->bad = 1;           /* anything after [DONE] */
        return 1;
    }
    if (len == 6 && !memcmp(data, "[DONE]", 6)) {
        a->done = 1;
        return 0;
    }
    json_t *doc = cx_json_own(a->p, json_loadb(data, len, JSON_ALLOW_NUL, NULL));
    if (!json_is_object(doc) || json_object_get(doc, "error")) {
        a->bad = 1;
        return 1;
    }
    if (!a->first)
        a->first = doc;
    json_t *usage = json_object_get(doc, "usage");
    if (json_is_object(usage))
        a->usage = usage;
    json_t *choices = json_object_get(doc, "choices");
    size_t i;
    json_t *ch;
    json_array_foreach(choices, i, ch) {
        json_t *idx = json_object_get(ch, "index");
        if (json_is_integer(idx) && json_integer_value(idx) != 0) {
            a->bad = 1;       /* n > 1 is never cached */
            return 1;
        }
        json_t *delta = json_object_get(ch, "delta");
        if (json_is_object(delta)) {
            json_t *content = json_object_get(delta, "content");
            if (json_is_string(content))
                append_content(a, json_string_value(content), json_string_length(content));
            json_t *tcs = json_object_get(delta, "tool_calls");
            if (json_is_array(tcs))
                merge_tool_calls(a, tcs);
        }
        json_t *fr = json_object_get(ch, "finish_reason");
        if (json_is_string(fr))
            a->finish = json_string_value(fr);
    }
    return a->bad;
}

char *cx_cache_entry_from_sse(apr_pool_t *p, const char *provider, const char *served_model,
                              uint64_t prompt_tokens, uint64_t completion_tokens,
                              const char *sse, apr_size_t len, apr_size_t *out_len)
{
    assembly_t a = {.p = p};
    a.tool_calls = cx_json_own(p, json_array());
    cx_sse_parser *sp = cx_sse_parser_create(p, on_chunk, &a, 0);
    if (cx_sse_feed(sp, sse, len) != 0 || cx_sse_finish(sp) || a.bad || !a.done || !a.first ||
        !a.finish)
        return NULL;

    json_t *resp = cx_json_own(p, json_object());
    json_t *v;
    json_object_set_new(resp, "id", json_is_string(v = json_object_get(a.first, "id"))
                                        ? json_copy(v) : json_string(""));
    json_object_set_new(resp, "object", json_string("chat.completion"));
    json_object_set_new(resp, "created", json_is_integer(v = json_object_get(a.first, "created"))
                                             ? json_copy(v) : json_integer(0));
    json_object_set_new(resp, "model", json_is_string(v = json_object_get(a.first, "model"))
                                           ? json_copy(v) : json_string(""));
    json_t *msg = json_object();
    json_object_set_new(msg, "role", json_string("assistant"));
    json_object_set_new(msg, "content", a.have_content ? json_stringn(a.content, a.content_len)
                                                       : json_null());
    if (json_array_size(a.tool_calls))
        json_object_set(msg, "tool_calls", a.tool_calls);
    json_t *choice = json_object();
    json_object_set_new(choice, "index", json_integer(0));
    json_object_set_new(choice, "message", msg);
    json_object_set_new(choice, "logprobs", json_null());
    json_object_set_new(choice, "finish_reason", json_string(a.finish));
    json_t *choices = json_array();
    json_array_append_new(choices, choice);
    json_object_set_new(resp, "choices", choices);
    if (a.usage) {
        json_object_set_new(resp, "usage", json_deep_copy(a.usage));
    }
    else {
        json_t *u = json_object();
        json_object_set_new(u, "prompt_tokens", json_integer((json_int_t)prompt_tokens));
        json_object_set_new(u, "completion_tokens", json_integer((json_int_t)completion_tokens));
        json_object_set_new(u, "total_tokens", json_integer((json_int_t)(prompt_tokens + completion_tokens)));
        json_object_set_new(resp, "usage", u);
    }
    if (json_is_string(v = json_object_get(a.first, "system_fingerprint")))
        json_object_set_new(resp, "system_fingerprint", json_copy(v));
    return make_entry(p, provider, served_model, prompt_tokens, completion_tokens, resp, out_len);
}

/* ---------------------------------------------------------------- hits */

int cx_cache_entry_parse(apr_pool_t *p, const char *buf, apr_size_t len, cx_cache_hit_t *out)
{
    json_t *e = cx_json_own(p, json_loadb(buf, len, JSON_ALLOW_NUL, NULL));
    if (!json_is_object(e))
        return -1;
    json_t *v = json_object_get(e, "v");
    json_t *prov = json_object_get(e, "provider");
    json_t *served = json_object_get(e, "served_model");
    json_t *pt = json_object_get(e, "prompt_tokens");
    json_t *ct = json_object_get(e, "completion_tokens");
    json_t *resp = json_object_get(e, "response");
    if (!json_is_integer(v) || json_integer_value(v) != ENTRY_VERSION || !json_is_string(prov) ||
        !json_is_string(served) || !json_is_integer(pt) || json_integer_value(pt) < 0 ||
        !json_is_integer(ct) || json_integer_value(ct) < 0 || !json_is_object(resp))
        return -1;
    json_t *choices = json_object_get(resp, "choices");
    if (!json_is_array(choices) || json_array_size(choices) != 1 ||
        !json_is_object(json_object_get(json_array_get(choices, 0), "message")))
        return -1;
    out->provider = apr_pstrdup(p, json_string_value(prov));
    out->served_model = apr_pstrdup(p, json_string_value(served));
    out->prompt_tokens = (uint64_t)json_integer_value(pt);
    out->completion_tokens = (uint64_t)json_integer_value(ct);
    out->response = resp;
    return 0;
}

char *cx_cache_replay_json(apr_pool_t *p, const cx_cache_hit_t *hit, const char *requested_model,
                           apr_size_t *out_len)
{
    json_t *resp = cx_json_own(p, json_deep_copy(hit->response));
    json_object_set_new(resp, "model", json_string(requested_model));
    return dump(p, resp, out_len);
}

static json_t *chunk_base(const json_t *resp, const char *model)
{
    json_t *c = json_object();
    json_t *v;
    json_object_set_new(c, "id", json_is_string(v = json_object_get(resp, "id")) ? json_copy(v)
                                                                                 : json_string(""));
    json_object_set_new(c, "object", json_string("chat.completion.chunk"));
    json_object_set_new(c, "created", json_is_integer(v = json_object_get(resp, "created"))
                                          ? json_copy(v) : json_integer(0));
    json_object_set_new(c, "model", json_string(model));
    if (json_is_string(v = json_object_get(resp, "system_fingerprint")))
        json_object_set_new(c, "system_fingerprint", json_copy(v));
    return c;
}

static void push_choice_chunk(apr_pool_t *p, apr_array_header_t *out, const json_t *resp,
                              const char *model, json_t *delta, json_t *finish)
{
    json_t *c = cx_json_own(p, chunk_base(resp, model));
    json_t *choice = json_object();
    json_object_set_new(choice, "index", json_integer(0));
    json_object_set_new(choice, "delta", delta);
    json_object_set_new(choice, "logprobs", json_null());
    json_object_set_new(choice, "finish_reason", finish ? finish : json_null());
    json_t *choices = json_array();
    json_array_append_new(choices, choice);
    json_object_set_new(c, "choices", choices);
    APR_ARRAY_PUSH(out, const char *) = dump(p, c, NULL);
}

apr_array_header_t *cx_cache_replay_chunks(apr_pool_t *p, const cx_cache_hit_t *hit,
                                           const char *requested_model, int include_usage)
{
    apr_array_header_t *out = apr_array_make(p, 6, sizeof(const char *));
    const json_t *resp = hit->response;
    json_t *choice = json_array_get(json_object_get(resp, "choices"), 0);
    json_t *msg = json_object_get(choice, "message");

    json_t *first = json_object();
    json_object_set_new(first, "role", json_string("assistant"));
    json_object_set_new(first, "content", json_string(""));
    push_choice_chunk(p, out, resp, requested_model, first, NULL);

    json_t *content = json_object_get(msg, "content");
    if (json_is_string(content) && json_string_length(content) > 0) {
        json_t *d = json_object();
        json_object_set(d, "content", content);
        push_choice_chunk(p, out, resp, requested_model, d, NULL);
    }
    json_t *tcs = json_object_get(msg, "tool_calls");
    size_t i;
    json_t *tc;
    json_array_foreach(tcs, i, tc) {
        json_t *one = json_deep_copy(tc);
        json_object_set_new(one, "index", json_integer((json_int_t)i));
        json_t *arr = json_array();
        json_array_append_new(arr, one);
        json_t *d = json_object();
        json_object_set_new(d, "tool_calls", arr);
        push_choice_chunk(p, out, resp, requested_model, d, NULL);
    }
    json_t *fr = json_object_get(choice, "finish_reason");
    push_choice_chunk(p, out, resp, requested_model, json_object(),
                      json_is_string(fr) ? json_copy(fr) : json_string("stop"));

    if (include_usage) {
        json_t *c = cx_json_own(p, chunk_base(resp, requested_model));
        json_object_set_new(c, "choices", json_array());
        json_t *usage = json_object_get(resp, "usage");
        if (!json_is_object(usage)) {
            usage = json_object();
            json_object_set_new(usage, "prompt_tokens", json_integer((json_int_t)hit->prompt_tokens));
            json_object_set_new(usage, "completion_tokens",
                                json_integer((json_int_t)hit->completion_tokens));
            json_object_set_new(usage, "total_tokens",
                                json_integer((json_int_t)(hit->prompt_tokens + hit->completion_tokens)));
            json_object_set_new(c, "usage", usage);
        }
        else {
            json_object_set_new(c, "usage", json_deep_copy(usage));
        }
        APR_ARRAY_PUSH(out, const char *) = dump(p, c, NULL);
    }
    return out;
}
