/* POST /v1/messages: the Anthropic Messages API, so Anthropic SDKs work with a
 * Conduix key (x-api-key or Bearer). The request becomes the chat request the
 * pipeline runs, so any catalog model serves it with the same governance, billing
 * and headers; the answer, its stream events and every error come back in
 * Anthropic's shapes. */
#include "conduix_pipeline.h"
#include "cx_json.h"
#include "cx_messages.h"
#include "cx_validate.h"

#include <http_protocol.h>
#include <apr_strings.h>

APLOG_USE_MODULE(conduix);

int conduix_api_messages(request_rec *r, conduix_req_t *ctx)
{
    ctx->anthropic_errors = 1;
    if (r->method_number != M_POST)
        return conduix_send_error(r, CX_E_METHOD_NOT_ALLOWED, "Use POST on /v1/messages.", NULL);
    int rc = conduix_authenticate(r, ctx);
    if (rc != OK)
        return rc;
    if ((rc = conduix_require_scope(r, ctx, "inference")) != OK)
        return rc;
    char *body;
    apr_size_t body_len;
    if ((rc = conduix_read_body(r, ctx, &body, &body_len)) != OK || !body)
        return rc;
    const char *perr;
    json_t *msgreq = cx_json_parse(r->pool, body, body_len, &perr);
    if (!msgreq)
        return conduix_send_error(r, CX_E_INVALID_REQUEST,
                                  apr_psprintf(r->pool, "We could not parse the JSON body of your "
                                               "request (%s).", perr), NULL);
    cx_verr_t verr;
    json_t *req = cx_messages_to_chat(r->pool, msgreq, &verr);
    if (!req || !cx_validate_chat(r->pool, req, &verr))
        return conduix_send_error(r, CX_E_INVALID_REQUEST, verr.message, verr.param);

    conduix_client_t *client = apr_pcalloc(r->pool, sizeof *client);
    client->kind = CONDUIX_CLIENT_MESSAGES;
    cx_msgstream_init(&client->msg, r->pool, json_string_value(json_object_get(req, "model")), NULL);
    return conduix_chat_run(r, ctx, req, client);
}
