/* Conduix: validation of inbound OpenAI Chat Completions requests.
 *
 * The rules follow the OpenAI API reference for POST /v1/chat/completions. The
 * goal is to reject what every upstream would reject anyway, before it costs
 * anything, with a message that names the field. Two deliberate leniencies:
 * unknown fields pass through untouched (new upstream parameters must not need
 * a gateway release), and an explicit JSON null on an optional field counts as
 * absent, because several SDKs serialise unset options as null. */
#include "cx_validate.h"

#include <stdarg.h>
#include <string.h>

#include <apr_strings.h>

typedef struct {
    apr_pool_t *pool;
    cx_verr_t *err;
} vctx;

/* An array index inside a field path. APR's formatter has no %zu. */
#define IDX "%" APR_SIZE_T_FMT

/* Paths are formatted on error paths (and for the rarer nested structures
 * such as image parts and tool calls), so a valid plain-text conversation
 * with thousands of messages allocates nothing here. */
static const char *path_fmt(vctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static const char *path_fmt(vctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    const char *s = apr_pvsprintf(c->pool, fmt, ap);
    va_end(ap);
    return s;
}

/* "<param> <problem>", e.g. "temperature must be a number between 0 and 2". */
static int fail(vctx *c, const char *param, const char *problem)
{
    c->err->param = param;
    c->err->message = apr_pstrcat(c->pool, param, " ", problem, NULL);
    return 0;
}

static int fail_required(vctx *c, const char *param)
{
    c->err->param = param;
    c->err->message = apr_psprintf(c->pool, "'%s' is required", param);
    return 0;
}

/* An optional member: NULL when absent or explicitly null. */
static const json_t *optional(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return v && !json_is_null(v) ? v : NULL;
}

static int is_one_of(const char *s, const char *const *allowed)
{
    for (; *allowed; allowed++)
        if (strcmp(s, *allowed) == 0)
            return 1;
    return 0;
}

static int string_in(const json_t *v, const char *const *allowed)
{
    return json_is_string(v) && is_one_of(json_string_value(v), allowed);
}

static int string_is(const json_t *v, const char *expected)
{
    return json_is_string(v) && strcmp(json_string_value(v), expected) == 0;
}

/* OpenAI's rule for tool and schema names: ^[a-zA-Z0-9_-]{1,64}$. */
static int is_valid_name(const json_t *v)
{
    if (!json_is_string(v))
        return 0;
    size_t len = json_string_length(v);
    const char *s = json_string_value(v);
    if (len < 1 || len > 64)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
                 || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
        if (!ok)
            return 0;
    }
    return 1;
}

#define NAME_RULE "must be 1 to 64 characters of a-z, A-Z, 0-9, underscores and dashes"

/* ---- top-level scalar options ------------------------------------------ */

static int check_bool(vctx *c, const json_t *obj, const char *key, const char *param)
{
    const json_t *v = optional(obj, key);
    if (v && !json_is_boolean(v))
        return fail(c, param, "must be a boolean");
    return 1;
}

static int check_string(vctx *c, const json_t *obj, const char *key, const char *param)
{
    const json_t *v = optional(obj, key);
    if (v && !json_is_string(v))
        return fail(c, param, "must be a string");
    return 1;
}

static int check_number_range(vctx *c, const json_t *obj, const char *key,
                              double lo, double hi)
{
    const json_t *v = optional(obj, key);
    if (!v)
        return 1;
    double d = json_is_number(v) ? json_number_value(v) : 0;
    if (!json_is_number(v) || d < lo || d > hi)
        return fail(c, key, apr_psprintf(c->pool, "must be a number between %g and %g", lo, hi));
    return 1;
}

/* Integers must be JSON integers: a 1.0 would read as 0 through
 * json_integer_value() in every later stage of the pipeline. */
static int check_integer(vctx *c, const json_t *obj, const char *key)
{
    const json_t *v = optional(obj, key);
    if (v && !json_is_integer(v))
        return fail(c, key, "must be an integer");
    return 1;
}

static int check_integer_range(vctx *c, const json_t *obj, const char *key, int lo, int hi)
{
    const json_t *v = optional(obj, key);
    if (!v)
        return 1;
    json_int_t n = json_is_integer(v) ? json_integer_value(v) : 0;
    if (!json_is_integer(v) || n < lo || n > hi)
        return fail(c, key, apr_psprintf(c->pool, "must be an integer between %d and %d", lo, hi));
    return 1;
}

static int check_integer_min(vctx *c, const json_t *obj, const char *key, int lo)
{
    const json_t *v = optional(obj, key);
    if (!v)
        return 1;
    if (!json_is_integer(v) || json_integer_value(v) < lo)
        return fail(c, key, apr_psprintf(c->pool, "must be an integer of at least %d", lo));
    return 1;
}

/* ---- messages ----------------------------------------------------------- */

static const char *const message_roles[] = {
    "system", "developer", "user", "assistant", "tool", "function", NULL
};

static const char *const part_types[] = { "text", "image_url", "input_audio", "file", NULL };
/* Assistant history may carry the refusal parts the model itself produced. */
static const char *const assistant_part_types[] = {
    "text", "image_url", "input_audio", "file", "refusal", NULL
};

static const char *const image_details[] = { "auto", "low", "high", NULL };

/* A required string member of a content part or nested object. */
static int need_string(vctx *c, const json_t *obj, const char *key, const char *param_prefix)
{
    const json_t *v = json_object_get(obj, key);
    if (!v)
        return fail_required(c, apr_pstrcat(c->pool, param_prefix, ".", key, NULL));
    if (!json_is_string(v))
        return fail(c, apr_pstrcat(c->pool, param_prefix, ".", key, NULL), "must be a string");
    return 1;
}

/* A required object member; sets *out. */
static int need_object(vctx *c, const json_t *obj, const char *key, const char *param_prefix,
                       const json_t **out)
{
    const json_t *v = json_object_get(obj, key);
    if (!v)
        return fail_required(c, apr_pstrcat(c->pool, param_prefix, ".", key, NULL));
    if (!json_is_object(v))
        return fail(c, apr_pstrcat(c->pool, param_prefix, ".", key, NULL), "must be an object");
    *out = v;
    return 1;
}

static int optional_string_member(vctx *c, const json_t *obj, const char *key,
                                  const char *param_prefix)
{
    const json_t *v = optional(obj, key);
    if (v && !json_is_string(v))
        return fail(c, apr_pstrcat(c->pool, param_prefix, ".", key, NULL), "must be a string");
    return 1;
}

static const char *part_path(vctx *c, size_t mi, size_t pi)
{
    return path_fmt(c, "messages[" IDX "].content[" IDX "]", mi, pi);
}

/* Text parts, by far the most common, are checked without formatting a path;
 * the other types nest their payload under a member named like the type. */
static int validate_content_part(vctx *c, const json_t *part, int is_assistant,
                                 size_t mi, size_t pi)
{
    if (!json_is_object(part))
        return fail(c, part_path(c, mi, pi), "must be an object");
    const json_t *type = json_object_get(part, "type");
    if (!type)
        return fail_required(c, apr_pstrcat(c->pool, part_path(c, mi, pi), ".type", NULL));
    const char *const *allowed = is_assistant ? assistant_part_types : part_types;
    if (!string_in(type, allowed))
        return fail(c, apr_pstrcat(c->pool, part_path(c, mi, pi), ".type", NULL),
                    is_assistant ? "must be one of text, image_url, input_audio, file, refusal"
                                 : "must be one of text, image_url, input_audio, file");

    const char *t = json_string_value(type);
    if (strcmp(t, "text") == 0 || strcmp(t, "refusal") == 0) {
        if (!json_is_string(json_object_get(part, t)))
            return need_string(c, part, t, part_path(c, mi, pi));
        return 1;
    }

    const char *at = part_path(c, mi, pi);
    const json_t *inner;
    if (!need_object(c, part, t, at, &inner))   /* {"type":"X","X":{...}} */
        return 0;
    const char *inner_at = apr_pstrcat(c->pool, at, ".", t, NULL);
    if (strcmp(t, "image_url") == 0) {
        if (!need_string(c, inner, "url", inner_at))
            return 0;
        const json_t *detail = optional(inner, "detail");
        if (detail && !string_in(detail, image_details))
            return fail(c, apr_pstrcat(c->pool, inner_at, ".detail", NULL),
                        "must be one of auto, low, high");
    } else if (strcmp(t, "input_audio") == 0) {
        if (!need_string(c, inner, "data", inner_at) || !need_string(c, inner, "format", inner_at))
            return 0;
    } else { /* file: inline data or a previously uploaded file id */
        if (!optional_string_member(c, inner, "file_data", inner_at)
            || !optional_string_member(c, inner, "file_id", inner_at)
            || !optional_string_member(c, inner, "filename", inner_at))
            return 0;
        if (!optional(inner, "file_data") && !optional(inner, "file_id"))
            return fail(c, inner_at, "must contain file_id or file_data");
    }
    return 1;
}

static int validate_tool_call(vctx *c, const json_t *call, size_t mi, size_t ti)
{
    const char *at = path_fmt(c, "messages[" IDX "].tool_calls[" IDX "]", mi, ti);
    if (!json_is_object(call))
        return fail(c, at, "must be an object");
    if (!need_string(c, call, "id", at))
        return 0;
    const json_t *type = json_object_get(call, "type");
    if (!type)
        return fail_required(c, apr_pstrcat(c->pool, at, ".type", NULL));
    if (!string_is(type, "function"))
        return fail(c, apr_pstrcat(c->pool, at, ".type", NULL), "must be \"function\"");
    const json_t *fn;
    if (!need_object(c, call, "function", at, &fn))
        return 0;
    const char *fn_at = apr_pstrcat(c->pool, at, ".function", NULL);
    if (!need_string(c, fn, "name", fn_at))
        return 0;
    /* Arguments travel as a JSON-encoded string; an object here is the most
     * common client mistake, so say what is expected. */
    const json_t *args = json_object_get(fn, "arguments");
    if (!args)
        return fail_required(c, apr_pstrcat(c->pool, fn_at, ".arguments", NULL));
    if (!json_is_string(args))
        return fail(c, apr_pstrcat(c->pool, fn_at, ".arguments", NULL),
                    "must be a string (the JSON-encoded arguments)");
    return 1;
}

/* The legacy single function_call of an assistant message. */
static int validate_function_call(vctx *c, const json_t *fc, size_t mi)
{
    const char *at = path_fmt(c, "messages[" IDX "].function_call", mi);
    if (!json_is_object(fc))
        return fail(c, at, "must be an object");
    return need_string(c, fc, "name", at) && need_string(c, fc, "arguments", at);
}

/* Validates the tool calls of an assistant message; *has_calls tells whether
 * it actually asks for any (which is what makes a null content legal). */
static int validate_assistant_calls(vctx *c, const json_t *msg, size_t mi, int *has_calls)
{
    *has_calls = 0;
    const json_t *calls = optional(msg, "tool_calls");
    if (calls) {
        if (!json_is_array(calls))
            return fail(c, path_fmt(c, "messages[" IDX "].tool_calls", mi), "must be an array");
        for (size_t ti = 0; ti < json_array_size(calls); ti++)
            if (!validate_tool_call(c, json_array_get(calls, ti), mi, ti))
                return 0;
        if (json_array_size(calls) > 0)
            *has_calls = 1;
    }
    const json_t *fc = optional(msg, "function_call");
    if (fc) {
        if (!validate_function_call(c, fc, mi))
            return 0;
        *has_calls = 1;
    }
    return 1;
}

static int validate_message(vctx *c, const json_t *msg, size_t mi)
{
    if (!json_is_object(msg))
        return fail(c, path_fmt(c, "messages[" IDX "]", mi), "must be an object");

    const json_t *role_v = json_object_get(msg, "role");
    if (!role_v)
        return fail_required(c, path_fmt(c, "messages[" IDX "].role", mi));
    if (!string_in(role_v, message_roles))
        return fail(c, path_fmt(c, "messages[" IDX "].role", mi),
                    "must be one of system, developer, user, assistant, tool, function");
    const char *role = json_string_value(role_v);
    int is_assistant = strcmp(role, "assistant") == 0;
    int is_function = strcmp(role, "function") == 0;

    if (strcmp(role, "tool") == 0) {
        const json_t *id = json_object_get(msg, "tool_call_id");
        if (!id)
            return fail_required(c, path_fmt(c, "messages[" IDX "].tool_call_id", mi));
        if (!json_is_string(id))
            return fail(c, path_fmt(c, "messages[" IDX "].tool_call_id", mi), "must be a string");
    }

    /* The deprecated function role names the function whose result it carries. */
    const json_t *name = json_object_get(msg, "name");
    if (is_function && !name)
        return fail_required(c, path_fmt(c, "messages[" IDX "].name", mi));
    if (name && !json_is_null(name) && !json_is_string(name))
        return fail(c, path_fmt(c, "messages[" IDX "].name", mi), "must be a string");

    int has_calls = 0;
    if (is_assistant && !validate_assistant_calls(c, msg, mi, &has_calls))
        return 0;

    const json_t *content = json_object_get(msg, "content");
    if (!content || json_is_null(content)) {
        /* The reference allows a missing content only when the assistant asks
         * for tool calls; a function result may be null by its own schema. */
        if ((is_assistant && has_calls) || (is_function && content))
            return 1;
        if (!content)
            return fail_required(c, path_fmt(c, "messages[" IDX "].content", mi));
        return fail(c, path_fmt(c, "messages[" IDX "].content", mi),
                    "may be null only in an assistant message with tool_calls");
    }
    if (json_is_string(content))
        return 1;
    if (!json_is_array(content))
        return fail(c, path_fmt(c, "messages[" IDX "].content", mi),
                    "must be a string or an array of content parts");
    if (json_array_size(content) == 0)
        return fail(c, path_fmt(c, "messages[" IDX "].content", mi), "must not be an empty array");
    for (size_t pi = 0; pi < json_array_size(content); pi++)
        if (!validate_content_part(c, json_array_get(content, pi), is_assistant, mi, pi))
            return 0;
    return 1;
}

/* ---- structured options -------------------------------------------------- */

static int validate_stop(vctx *c, const json_t *req)
{
    const json_t *stop = optional(req, "stop");
    if (!stop || json_is_string(stop))
        return 1;
    if (!json_is_array(stop) || json_array_size(stop) > 4)
        return fail(c, "stop", "must be a string or an array of at most 4 strings");
    for (size_t i = 0; i < json_array_size(stop); i++)
        if (!json_is_string(json_array_get(stop, i)))
            return fail(c, path_fmt(c, "stop[" IDX "]", i), "must be a string");
    return 1;
}

static int validate_stream_options(vctx *c, const json_t *req)
{
    const json_t *opts = optional(req, "stream_options");
    if (!opts)
        return 1;
    if (!json_is_true(json_object_get(req, "stream")))
        return fail(c, "stream_options", "is only allowed when stream is true");
    if (!json_is_object(opts))
        return fail(c, "stream_options", "must be an object");
    return check_bool(c, opts, "include_usage", "stream_options.include_usage");
}

static int validate_tool(vctx *c, const json_t *tool, size_t i)
{
    const char *at = path_fmt(c, "tools[" IDX "]", i);
    if (!json_is_object(tool))
        return fail(c, at, "must be an object");
    const json_t *type = json_object_get(tool, "type");
    if (!type)
        return fail_required(c, apr_pstrcat(c->pool, at, ".type", NULL));
    if (!string_is(type, "function"))
        return fail(c, apr_pstrcat(c->pool, at, ".type", NULL), "must be \"function\"");
    const json_t *fn;
    if (!need_object(c, tool, "function", at, &fn))
        return 0;
    const char *fn_at = apr_pstrcat(c->pool, at, ".function", NULL);
    const json_t *name = json_object_get(fn, "name");
    if (!name)
        return fail_required(c, apr_pstrcat(c->pool, fn_at, ".name", NULL));
    if (!is_valid_name(name))
        return fail(c, apr_pstrcat(c->pool, fn_at, ".name", NULL), NAME_RULE);
    if (!optional_string_member(c, fn, "description", fn_at))
        return 0;
    const json_t *params = optional(fn, "parameters");
    if (params && !json_is_object(params))
        return fail(c, apr_pstrcat(c->pool, fn_at, ".parameters", NULL), "must be an object");
    return check_bool(c, fn, "strict", apr_pstrcat(c->pool, fn_at, ".strict", NULL));
}

static int validate_tools(vctx *c, const json_t *req)
{
    const json_t *tools = optional(req, "tools");
    if (!tools)
        return 1;
    if (!json_is_array(tools))
        return fail(c, "tools", "must be an array");
    for (size_t i = 0; i < json_array_size(tools); i++)
        if (!validate_tool(c, json_array_get(tools, i), i))
            return 0;
    return 1;
}

static const char *const tool_choice_modes[] = { "none", "auto", "required", NULL };

static int validate_tool_choice(vctx *c, const json_t *req)
{
    const json_t *choice = optional(req, "tool_choice");
    if (!choice)
        return 1;
    if (json_is_string(choice)) {
        if (!is_one_of(json_string_value(choice), tool_choice_modes))
            return fail(c, "tool_choice",
                        "must be \"none\", \"auto\", \"required\" or an object naming a function");
        return 1;
    }
    if (!json_is_object(choice))
        return fail(c, "tool_choice",
                    "must be \"none\", \"auto\", \"required\" or an object naming a function");
    const json_t *type = json_object_get(choice, "type");
    if (!type)
        return fail_required(c, "tool_choice.type");
    if (!string_is(type, "function"))
        return fail(c, "tool_choice.type", "must be \"function\"");
    const json_t *fn;
    if (!need_object(c, choice, "function", "tool_choice", &fn))
        return 0;
    return need_string(c, fn, "name", "tool_choice.function");
}

static const char *const response_format_types[] = { "text", "json_object", "json_schema", NULL };

static int validate_response_format(vctx *c, const json_t *req)
{
    const json_t *rf = optional(req, "response_format");
    if (!rf)
        return 1;
    if (!json_is_object(rf))
        return fail(c, "response_format", "must be an object");
    const json_t *type = json_object_get(rf, "type");
    if (!type)
        return fail_required(c, "response_format.type");
    if (!string_in(type, response_format_types))
        return fail(c, "response_format.type", "must be one of text, json_object, json_schema");
    if (strcmp(json_string_value(type), "json_schema") != 0)
        return 1;

    const json_t *js;
    if (!need_object(c, rf, "json_schema", "response_format", &js))
        return 0;
    const json_t *name = json_object_get(js, "name");
    if (!name)
        return fail_required(c, "response_format.json_schema.name");
    if (!is_valid_name(name))
        return fail(c, "response_format.json_schema.name", NAME_RULE);
    const json_t *schema = optional(js, "schema");
    if (schema && !json_is_object(schema))
        return fail(c, "response_format.json_schema.schema", "must be an object");
    return optional_string_member(c, js, "description", "response_format.json_schema")
           && check_bool(c, js, "strict", "response_format.json_schema.strict");
}

static int validate_logit_bias(vctx *c, const json_t *req)
{
    const json_t *bias = optional(req, "logit_bias");
    if (!bias)
        return 1;
    if (!json_is_object(bias))
        return fail(c, "logit_bias", "must be an object mapping token ids to numbers");
    const char *key;
    json_t *value;
    /* jansson's iterator API takes a non-const object but does not modify it. */
    json_object_foreach((json_t *)bias, key, value) {
        double d = json_is_number(value) ? json_number_value(value) : 0;
        if (!json_is_number(value) || d < -100 || d > 100)
            return fail(c, apr_pstrcat(c->pool, "logit_bias.", key, NULL),
                        "must be a number between -100 and 100");
    }
    return 1;
}

/* ---- entry point ---------------------------------------------------------- */

int cx_validate_chat(apr_pool_t *p, const json_t *req, cx_verr_t *err)
{
    cx_verr_t scratch;
    vctx c = { p, err ? err : &scratch };
    c.err->message = NULL;
    c.err->param = NULL;

    if (!json_is_object(req)) {
        c.err->message = "the request body must be a JSON object";
        return 0;
    }

    const json_t *model = json_object_get(req, "model");
    if (!model)
        return fail_required(&c, "model");
    if (!json_is_string(model) || json_string_length(model) == 0)
        return fail(&c, "model", "must be a non-empty string");

    const json_t *messages = json_object_get(req, "messages");
    if (!messages)
        return fail_required(&c, "messages");
    if (!json_is_array(messages) || json_array_size(messages) == 0)
        return fail(&c, "messages", "must be a non-empty array");
    for (size_t i = 0; i < json_array_size(messages); i++)
        if (!validate_message(&c, json_array_get(messages, i), i))
            return 0;

    return check_bool(&c, req, "stream", "stream")
        && validate_stream_options(&c, req)
        && check_number_range(&c, req, "temperature", 0, 2)
        && check_number_range(&c, req, "top_p", 0, 1)
        && check_integer_range(&c, req, "n", 1, 128)
        && check_integer_min(&c, req, "max_tokens", 1)
        && check_integer_min(&c, req, "max_completion_tokens", 1)
        && validate_stop(&c, req)
        && check_number_range(&c, req, "presence_penalty", -2, 2)
        && check_number_range(&c, req, "frequency_penalty", -2, 2)
        && check_integer(&c, req, "seed")
        && check_string(&c, req, "user", "user")
        && validate_tools(&c, req)
        && validate_tool_choice(&c, req)
        && validate_response_format(&c, req)
        && validate_logit_bias(&c, req)
        && check_bool(&c, req, "logprobs", "logprobs")
        && check_integer_range(&c, req, "top_logprobs", 0, 20)
        && check_bool(&c, req, "parallel_tool_calls", "parallel_tool_calls");
}
