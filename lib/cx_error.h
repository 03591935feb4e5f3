/* Conduix errors: every rejection the gateway makes, with its HTTP status and the
 * OpenAI envelope {"error":{"message","type","param","code"}} it is sent in. */
#ifndef CX_ERROR_H
#define CX_ERROR_H

#include <apr_pools.h>

typedef enum {
    CX_E_INVALID_API_KEY = 0,
    CX_E_INVALID_REQUEST,
    CX_E_REQUEST_TOO_LARGE,
    CX_E_MODEL_NOT_FOUND,
    CX_E_MODEL_NOT_ALLOWED,
    CX_E_PROVIDER_NOT_PERMITTED,
    CX_E_INSUFFICIENT_SCOPE,
    CX_E_RATE_LIMIT,
    CX_E_SPEND_CAP,
    CX_E_INSUFFICIENT_CREDITS,
    CX_E_PROVIDER_UNAVAILABLE,
    CX_E_UPSTREAM,
    CX_E_NOT_FOUND,
    CX_E_METHOD_NOT_ALLOWED,
    CX_E_INTERNAL,
    CX_E__COUNT
} cx_error_kind_t;

typedef struct {
    int status;           /* HTTP status */
    const char *type;     /* envelope "type" */
    const char *code;     /* envelope "code" */
} cx_error_info_t;

const cx_error_info_t *cx_error_info(cx_error_kind_t kind);

/* The envelope as a JSON document allocated from p. param may be NULL. */
const char *cx_error_body(apr_pool_t *p, cx_error_kind_t kind, const char *message,
                          const char *param);

/* Envelope with explicit fields, for errors relayed from an upstream. */
const char *cx_error_body_raw(apr_pool_t *p, const char *message, const char *type,
                              const char *param, const char *code);

#endif
