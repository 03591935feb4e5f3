/* GET /v1/models and GET /v1/models/{id}: the catalog in OpenAI's list format, each
 * entry with the "conduix" extension (provider, tier, swap band, region, context,
 * vision and the per-1M-token prices in credits). */
#include "mod_conduix.h"
#include "cx_json.h"

#include <apr_strings.h>
#include <string.h>

APLOG_USE_MODULE(conduix);

/* Prices go out as JSON numbers in credits (0.15), built from the exact integer so
 * the decimal printed is the one stored. */
static json_t *credits_number(apr_pool_t *p, cx_nano_t nano)
{
    return json_real(strtod(cx_nano_format(p, nano), NULL));
}

static json_t *model_entry(apr_pool_t *p, const cx_model_t *m)
{
    json_t *ext = json_object();
    json_object_set_new(ext, "display_name", json_string(m->display_name));
    json_object_set_new(ext, "provider", json_string(m->provider->name));
    json_object_set_new(ext, "tier", json_string(m->tier));
    json_object_set_new(ext, "swap_band", json_string(m->swap_band));
    json_object_set_new(ext, "region", json_string(m->provider->region));
    json_object_set_new(ext, "context_window", json_integer(m->context_window));
    json_object_set_new(ext, "max_output_tokens", json_integer(m->max_output_tokens));
    json_object_set_new(ext, "vision", json_boolean(m->vision));
    json_object_set_new(ext, "input_price_per_m_credits", credits_number(p, m->price.input_per_m));
    json_object_set_new(ext, "output_price_per_m_credits", credits_number(p, m->price.output_per_m));
    json_t *providers = json_array();
    for (int i = 0; i < m->deployments->nelts; i++) {
        const cx_deployment_t *d = APR_ARRAY_IDX(m->deployments, i, const cx_deployment_t *);
        json_array_append_new(providers, json_string(d->provider->name));
    }
    json_object_set_new(ext, "providers", providers);
    json_t *chain = json_array();
    for (int i = 0; i < m->chain->nelts; i++) {
        const cx_deployment_t *d = APR_ARRAY_IDX(m->chain, i, const cx_deployment_t *);
        json_array_append_new(chain, json_string(apr_pstrcat(p, d->provider->name, "/", d->model->id, NULL)));
    }
    json_object_set_new(ext, "fallback_chain", chain);

    json_t *e = json_object();
    json_object_set_new(e, "id", json_string(m->id));
    json_object_set_new(e, "object", json_string("model"));
    json_object_set_new(e, "created", json_integer(m->created));
    json_object_set_new(e, "owned_by", json_string(m->provider->name));
    json_object_set_new(e, "conduix", ext);
    return e;
}

int conduix_api_models(request_rec *r, conduix_req_t *ctx)
{
    if (r->method_number != M_GET)
        return conduix_send_error(r, CX_E_METHOD_NOT_ALLOWED, "Use GET on /v1/models.", NULL);
    int rc = conduix_authenticate(r, ctx);
    if (rc != OK)
        return rc;
    const cx_catalog_t *cat = conduix_catalog(ctx->conf->runtime, r);
    if (!cat)
        return conduix_send_error(r, CX_E_INTERNAL, "The model catalog is unavailable; please retry shortly.", NULL);

    const char *id = r->uri + strlen("/v1/models");
    json_t *doc;
    if (*id == '\0' || !strcmp(id, "/")) {
        doc = cx_json_own(r->pool, json_object());
        json_t *data = json_array();
        for (int i = 0; i < cat->model_list->nelts; i++) {
            const cx_model_t *m = APR_ARRAY_IDX(cat->model_list, i, const cx_model_t *);
            if (m->enabled)
                json_array_append_new(data, model_entry(r->pool, m));
        }
        json_object_set_new(doc, "object", json_string("list"));
        json_object_set_new(doc, "data", data);
    }
    else {
        /* Ids may contain '/' (meta-llama/..., provider/model pins): everything after
         * /v1/models/ is the id, percent-decoded by httpd already in r->uri. */
        cx_resolved_t res;
        id++;
        if (!cx_catalog_resolve(cat, id, &res))
            return conduix_send_error(r, CX_E_MODEL_NOT_FOUND,
                                      apr_psprintf(r->pool, "The model '%s' does not exist.", id),
                                      "model");
        doc = cx_json_own(r->pool, model_entry(r->pool, res.model));
    }
    apr_size_t len;
    char *body = cx_json_dump(r->pool, doc, &len);
    return conduix_send_json(r, 200, body, len);
}
