#include "cx_openai.h"
#include "cx_jscan.h"
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
    /* Only top-level members change: written with the new values in place, without
     * copying the request. */
    cx_json_override_t ov[2];
    int n = 0;
    json_t *model = cx_json_own(p, json_string(upstream_model));
    if (!model)
        return NULL;
    ov[n++] = (cx_json_override_t){"model", model};
    if (stream) {
        json_t *opts = json_object_get(req, "stream_options");
        json_t *fresh = cx_json_own(p, json_is_object(opts) ? json_copy(opts) : json_object());
        if (!fresh)
            return NULL;
        json_object_set_new(fresh, "include_usage", json_true());
        ov[n++] = (cx_json_override_t){"stream_options", fresh};
    }
    char *body = cx_json_dump_with(p, req, ov, n, len);
    if (body)
        return body;
    /* Deeper than the fast writer goes: a copy and jansson's writer. */
    json_t *out = cx_json_own(p, json_copy((json_t *)req));
    if (!out)
        return NULL;
    for (int i = 0; i < n; i++)
        json_object_set(out, ov[i].key, (json_t *)ov[i].value);
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

char *cx_openai_rewrite_response_tree(apr_pool_t *p, const char *body, apr_size_t len,
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

cx_chunk_action_t cx_openai_stream_chunk_tree(apr_pool_t *p, cx_openai_stream_t *st,
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

/* ------------------------------------------------------------------ fast paths
 * An answer is relayed as the upstream wrote it, with only the bytes that change
 * spliced: the "model" value, and in streams the "usage" member the client did not
 * ask for. cx_jscan validates the whole document first and declines anything jansson
 * might judge differently; then the tree versions above run, so both paths accept,
 * reject and mean the same. Numbers and strings are relayed byte for byte. */

typedef struct {
    apr_size_t start, end;      /* bytes of the input replaced... */
    const char *with;           /* ...by these */
    apr_size_t with_len;
} edit_t;

static char *apply_edits(apr_pool_t *p, const char *in, apr_size_t len, edit_t *e, int n,
                         apr_size_t *out_len)
{
    if (n == 2 && e[1].start < e[0].start) {
        edit_t t = e[0];
        e[0] = e[1];
        e[1] = t;
    }
    apr_size_t total = len;
    for (int i = 0; i < n; i++)
        total = total - (e[i].end - e[i].start) + e[i].with_len;
    char *out = apr_palloc(p, total + 1);
    char *o = out;
    apr_size_t at = 0;
    for (int i = 0; i < n; i++) {
        memcpy(o, in + at, e[i].start - at);
        o += e[i].start - at;
        memcpy(o, e[i].with, e[i].with_len);
        o += e[i].with_len;
        at = e[i].end;
    }
    memcpy(o, in + at, len - at);
    o += len - at;
    *o = '\0';
    *out_len = total;
    return out;
}

static void read_usage_scanned(const cx_jdoc_t *doc, const char *buf, cx_usage_t *out)
{
    const cx_jmember_t *pt = cx_jdoc_inner_get(doc, buf, "prompt_tokens");
    const cx_jmember_t *ct = cx_jdoc_inner_get(doc, buf, "completion_tokens");
    unsigned long long v;
    if (cx_jmember_uint(pt, buf, &v))
        out->prompt_tokens = v;
    if (cx_jmember_uint(ct, buf, &v))
        out->completion_tokens = v;
    out->have = (pt && pt->type == CX_JV_NUMBER && pt->is_integer) ||
                (ct && ct->type == CX_JV_NUMBER && ct->is_integer);
}

/* The edit that sets "model": replace its value, or append the member. remaining is
 * the number of members left after the other edit. */
static edit_t model_edit(apr_pool_t *p, const cx_jdoc_t *doc, const char *buf, const char *model,
                         int remaining)
{
    edit_t e;
    apr_size_t qlen;
    char *q = cx_jscan_quote(p, model, &qlen);
    const cx_jmember_t *m = cx_jdoc_get(doc, buf, "model");
    if (m) {
        e.start = m->value_start;
        e.end = m->value_end;
        e.with = q;
        e.with_len = qlen;
    }
    else {
        e.start = e.end = doc->close;
        e.with = apr_pstrcat(p, remaining ? "," : "", "\"model\":", q, NULL);
        e.with_len = strlen(e.with);
    }
    return e;
}

char *cx_openai_rewrite_response(apr_pool_t *p, const char *body, apr_size_t len,
                                 const char *requested_model, cx_usage_t *usage,
                                 apr_size_t *out_len)
{
    cx_jdoc_t *doc = apr_palloc(p, sizeof *doc);
    if (!cx_jscan_object(body, len, "usage", doc))
        return cx_openai_rewrite_response_tree(p, body, len, requested_model, usage, out_len);
    const cx_jmember_t *u = cx_jdoc_get(doc, body, "usage");
    if (u && u->type == CX_JV_OBJECT)
        read_usage_scanned(doc, body, usage);
    edit_t e = model_edit(p, doc, body, requested_model, doc->n);
    return apply_edits(p, body, len, &e, 1, out_len);
}

cx_chunk_action_t cx_openai_stream_chunk(apr_pool_t *p, cx_openai_stream_t *st,
                                         const char *data, apr_size_t len,
                                         const char **out, apr_size_t *out_len)
{
    *out = data;
    *out_len = len;
    if (len == 6 && !memcmp(data, "[DONE]", 6))
        return CX_CHUNK_DONE;
    cx_jdoc_t *doc = apr_palloc(p, sizeof *doc);
    if (!cx_jscan_object(data, len, "usage", doc))
        return cx_openai_stream_chunk_tree(p, st, data, len, out, out_len);
    const cx_jmember_t *error = cx_jdoc_get(doc, data, "error");
    if (error && (error->type == CX_JV_OBJECT || error->type == CX_JV_STRING))
        return CX_CHUNK_ERROR;
    st->chunks++;
    const cx_jmember_t *usage = cx_jdoc_get(doc, data, "usage");
    if (usage && usage->type == CX_JV_OBJECT)
        read_usage_scanned(doc, data, &st->usage);
    edit_t e[2];
    int n = 0, remaining = doc->n;
    if (!st->client_wants_usage && usage) {
        const cx_jmember_t *choices = cx_jdoc_get(doc, data, "choices");
        /* The dedicated usage chunk has an empty choices array. */
        if (usage->type == CX_JV_OBJECT && choices && choices->type == CX_JV_ARRAY &&
            choices->count == 0)
            return CX_CHUNK_DROP;
        /* Remove the member with one of its commas. */
        int k = (int)(usage - doc->m);
        if (k > 0) {
            e[n].start = doc->m[k - 1].value_end;
            e[n].end = usage->value_end;
        }
        else if (doc->n > 1) {
            e[n].start = usage->key_start;
            e[n].end = doc->m[1].key_start;
        }
        else {
            e[n].start = usage->key_start;
            e[n].end = usage->value_end;
        }
        e[n].with = "";
        e[n].with_len = 0;
        n++;
        remaining--;
    }
    e[n++] = model_edit(p, doc, data, st->requested_model, remaining);
    *out = apply_edits(p, data, len, e, n, out_len);
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
