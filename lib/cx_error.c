#include "cx_error.h"
#include "cx_json.h"

#include <jansson.h>

/* Types follow OpenAI's envelope so that SDK error classes line up: the SDKs pick
 * the class from the HTTP status, and client code reads "code". */
static const cx_error_info_t error_table[CX_E__COUNT] = {
    [CX_E_INVALID_API_KEY]        = {401, "invalid_request_error", "invalid_api_key"},
    [CX_E_INVALID_REQUEST]        = {400, "invalid_request_error", NULL},
    [CX_E_REQUEST_TOO_LARGE]      = {413, "invalid_request_error", "request_too_large"},
    [CX_E_MODEL_NOT_FOUND]        = {404, "invalid_request_error", "model_not_found"},
    [CX_E_MODEL_NOT_ALLOWED]      = {403, "permission_error", "model_not_allowed"},
    [CX_E_PROVIDER_NOT_PERMITTED] = {403, "permission_error", "provider_not_permitted"},
    [CX_E_INSUFFICIENT_SCOPE]     = {403, "permission_error", "insufficient_scope"},
    [CX_E_RATE_LIMIT]             = {429, "requests", "rate_limit_exceeded"},
    [CX_E_SPEND_CAP]              = {402, "insufficient_quota", "spend_cap_exceeded"},
    [CX_E_INSUFFICIENT_CREDITS]   = {402, "insufficient_quota", "insufficient_credits"},
    [CX_E_PROVIDER_UNAVAILABLE]   = {503, "server_error", "provider_unavailable"},
    [CX_E_UPSTREAM]               = {502, "server_error", "upstream_error"},
    [CX_E_NOT_FOUND]              = {404, "invalid_request_error", "not_found"},
    [CX_E_METHOD_NOT_ALLOWED]     = {405, "invalid_request_error", "method_not_allowed"},
    [CX_E_INTERNAL]               = {500, "server_error", "internal_error"},
};

const cx_error_info_t *cx_error_info(cx_error_kind_t kind)
{
    if ((unsigned)kind >= CX_E__COUNT)
        kind = CX_E_INTERNAL;
    return &error_table[kind];
}

const char *cx_error_body_raw(apr_pool_t *p, const char *message, const char *type,
                              const char *param, const char *code)
{
    json_t *inner = json_object();
    json_object_set_new(inner, "message", json_string(message ? message : ""));
    json_object_set_new(inner, "type", type ? json_string(type) : json_null());
    json_object_set_new(inner, "param", param ? json_string(param) : json_null());
    json_object_set_new(inner, "code", code ? json_string(code) : json_null());
    json_t *outer = cx_json_own(p, json_object());
    json_object_set_new(outer, "error", inner);
    const char *body = cx_json_dump(p, outer, NULL);
    return body ? body : "{\"error\":{\"message\":\"internal error\",\"type\":\"server_error\",\"param\":null,\"code\":null}}";
}

const char *cx_error_body(apr_pool_t *p, cx_error_kind_t kind, const char *message,
                          const char *param)
{
    const cx_error_info_t *info = cx_error_info(kind);
    return cx_error_body_raw(p, message, info->type, param, info->code);
}
