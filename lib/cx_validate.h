/* Conduix: validation of inbound OpenAI Chat Completions requests.
 * Runs before any routing so that a bad request costs nothing; the error
 * message names the offending field (e.g. "messages[2].role"). */
#ifndef CX_VALIDATE_H
#define CX_VALIDATE_H

#include <apr_pools.h>
#include <jansson.h>

typedef struct {
    const char *message;   /* human readable, names the field */
    const char *param;     /* the field path, e.g. "messages[0].content"; may be NULL */
} cx_verr_t;

/* Returns 1 when req is a valid chat completion request, else 0 with err filled
 * (strings allocated from p). */
int cx_validate_chat(apr_pool_t *p, const json_t *req, cx_verr_t *err);

#endif
