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
    json_t *msgreq;
    int rc = conduix_inference_request(r, ctx, "Use POST on /v1/messages.", &msgreq);
    if (rc != OK || !msgreq)
        return rc;
    cx_verr_t verr;
    json_t *req = cx_messages_to_chat(r->pool, msgreq, &verr);
    if (!req || !cx_validate_chat(r->pool, req, &verr))
        return conduix_send_error(r, CX_E_INVALID_REQUEST, verr.message, verr.param);

    conduix_client_t *client = apr_pcalloc(r->pool, sizeof *client);
    client->kind = CONDUIX_CLIENT_MESSAGES;
    cx_msgstream_init(&client->msg, r->pool, json_string_value(json_object_get(req, "model")), NULL);
    return conduix_chat_run(r, ctx, req, client);
}
