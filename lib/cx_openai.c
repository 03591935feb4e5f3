#include "cx_openai.h"
#include "cx_json.h"

#include <apr_strings.h>
#include <string.h>

/* Upstream documents are parsed leniently about embedded NULs (valid JSON) and
 * re-serialised with full double precision so relayed numbers stay exact. */
static json_t *parse_upstream(apr_pool_t *p, const char *buf, apr_size_t len)
{
    json_t *j = json_loadb(buf, len, JSON_ALLOW_NUL, NULL);
    return cx_json_own(p, j);
}

static char *dump_upstream(apr_pool_t *p, const json_t *j, apr_size_t *len)
{
    return cx_json_dump_flags(p, j, JSON_COMPACT | JSON_REAL_PRECISION(17), len);
}

char *cx_openai_upstream_body(apr_pool_t *p, const json_t *req, const char *upstream_model,
                              int stream, apr_size_t *len)
{
    /* A shallow copy is enough: only top-level members change. */
    json_t *out = cx_json_own(p, json_copy((json_t *)req));
    if (!out)
        return NULL;
    json_object_set_new(out, "model", json_string(upstream_model));
    if (stream) {
        json_t *opts = json_object_get(out, "stream_options");
        json_t *fresh = json_is_object(opts) ? json_copy(opts) : json_object();
        json_object_set_new(fresh, "include_usage", json_true());
        json_object_set_new(out, "stream_options", fresh);
    }
    return cx_json_dump(p, out, len);
}

int cx_openai_client_wants_usage(const json_t *req)
{
    json_t *opts = json_object_get(req, "stream_options");
    return json_is_object(opts) && json_is_true(json_object_get(opts, "include_usage"));
}

static void read_usage(const json_t *usage, cx_usage_t *out)
{
    if (!json_is_object(usage))
        return;
    json_t *pt = json_object_get(usage, "prompt_tokens");
    json_t *ct = json_object_get(usage, "completion_tokens");
    if (json_is_integer(pt) && json_integer_value(pt) >= 0)
        out->prompt_tokens = (uint64_t)json_integer_value(pt);
    if (json_is_integer(ct) && json_integer_value(ct) >= 0)
        out->completion_tokens = (uint64_t)json_integer_value(ct);
    out->have = json_is_integer(pt) || json_is_integer(ct);
    json_t *cached = json_object_get(json_object_get(usage, "prompt_tokens_details"), "cached_tokens");
    if (json_is_integer(cached) && json_integer_value(cached) >= 0)
        out->cache_read_tokens = (uint64_t)json_integer_value(cached);
}

char *cx_openai_rewrite_response(apr_pool_t *p, const char *body, apr_size_t len,
                                 const char *requested_model, cx_usage_t *usage,
                                 apr_size_t *out_len)
{
    json_t *doc = parse_upstream(p, body, len);
    if (!json_is_object(doc))
        return NULL;
    json_object_set_new(doc, "model", json_string(requested_model));
    read_usage(json_object_get(doc, "usage"), usage);
    return dump_upstream(p, doc, out_len);
}

cx_chunk_action_t cx_openai_stream_chunk(apr_pool_t *p, cx_openai_stream_t *st,
                                         const char *data, apr_size_t len,
                                         const char **out, apr_size_t *out_len)
{
    *out = data;
    *out_len = len;
    if (len == 6 && !memcmp(data, "[DONE]", 6))
        return CX_CHUNK_DONE;
    json_t *doc = parse_upstream(p, data, len);
    if (!json_is_object(doc))
        return CX_CHUNK_FORWARD;   /* not ours to judge: pass through untouched */
    json_t *error = json_object_get(doc, "error");
    if (json_is_object(error) || json_is_string(error))
        return CX_CHUNK_ERROR;
    st->chunks++;
    json_t *usage = json_object_get(doc, "usage");
    if (json_is_object(usage))
        read_usage(usage, &st->usage);
    if (!st->client_wants_usage) {
        json_t *choices = json_object_get(doc, "choices");
        /* The dedicated usage chunk has an empty choices array. */
        if (json_is_object(usage) && json_is_array(choices) && json_array_size(choices) == 0)
            return CX_CHUNK_DROP;
        json_object_del(doc, "usage");
    }
    json_object_set_new(doc, "model", json_string(st->requested_model));
    char *s = dump_upstream(p, doc, out_len);
    if (s)
        *out = s;
    return CX_CHUNK_FORWARD;
}

void cx_openai_parse_error(apr_pool_t *p, const char *body, apr_size_t len,
                           const char **message, const char **type, const char **param,
                           const char **code)
{
    *message = NULL;
    *type = NULL;
    *param = NULL;
    *code = NULL;
    json_t *doc = body && len ? parse_upstream(p, body, len) : NULL;
    json_t *err = json_is_object(doc) ? json_object_get(doc, "error") : NULL;
    if (json_is_object(err)) {
        json_t *v;
        if (json_is_string(v = json_object_get(err, "message")))
            *message = apr_pstrdup(p, json_string_value(v));
        if (json_is_string(v = json_object_get(err, "type")))
            *type = apr_pstrdup(p, json_string_value(v));
        if (json_is_string(v = json_object_get(err, "param")))
            *param = apr_pstrdup(p, json_string_value(v));
        if (json_is_string(v = json_object_get(err, "code")))
            *code = apr_pstrdup(p, json_string_value(v));
        else if (json_is_integer(v))
            *code = apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)json_integer_value(v));
    }
    else if (json_is_string(err)) {
        *message = apr_pstrdup(p, json_string_value(err));
    }
    else if (json_is_object(doc) && json_is_string(json_object_get(doc, "message"))) {
        *message = apr_pstrdup(p, json_string_value(json_object_get(doc, "message")));
    }
}
