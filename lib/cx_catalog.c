#include "cx_catalog.h"

#include <apr_strings.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const cx_model_t *model;
    const cx_provider_t *provider;   /* pinned provider, or NULL */
} cx_alias_t;

static const char *dup_or_null(apr_pool_t *p, const char *s)
{
    return s ? apr_pstrdup(p, s) : NULL;
}

cx_catalog_t *cx_catalog_create(apr_pool_t *p)
{
    cx_catalog_t *c = apr_pcalloc(p, sizeof *c);
    c->pool = p;
    c->providers = apr_hash_make(p);
    c->models = apr_hash_make(p);
    c->aliases = apr_hash_make(p);
    c->model_list = apr_array_make(p, 64, sizeof(cx_model_t *));
    return c;
}

const char *cx_catalog_add_provider(cx_catalog_t *c, const cx_provider_t *prov)
{
    if (!prov->name || !*prov->name)
        return "provider without a name";
    cx_provider_t *copy = apr_palloc(c->pool, sizeof *copy);
    copy->name = apr_pstrdup(c->pool, prov->name);
    copy->display_name = dup_or_null(c->pool, prov->display_name ? prov->display_name : prov->name);
    copy->region = dup_or_null(c->pool, prov->region ? prov->region : "US");
    copy->api_format = prov->api_format;
    copy->base_url = dup_or_null(c->pool, prov->base_url);
    copy->credential_ref = dup_or_null(c->pool, prov->credential_ref);
    copy->enabled = prov->enabled;
    copy->byo = 0;                  /* catalog providers never are */
    copy->byo_credential = NULL;
    apr_hash_set(c->providers, copy->name, APR_HASH_KEY_STRING, copy);
    return NULL;
}

const cx_provider_t *cx_catalog_provider(const cx_catalog_t *c, const char *name)
{
    return name ? apr_hash_get(c->providers, name, APR_HASH_KEY_STRING) : NULL;
}

const char *cx_catalog_add_model(cx_catalog_t *c, const char *id, const char *display_name,
                                 const char *provider, const char *tier, const char *swap_band,
                                 unsigned int context_window, unsigned int max_output_tokens,
                                 int vision, cx_price_t price, int enabled,
                                 long long created)
{
    const cx_provider_t *prov = cx_catalog_provider(c, provider);
    if (!prov)
        return apr_psprintf(c->pool, "model %s names unknown provider %s", id, provider);
    cx_model_t *m = apr_pcalloc(c->pool, sizeof *m);
    m->id = apr_pstrdup(c->pool, id);
    m->display_name = apr_pstrdup(c->pool, display_name ? display_name : id);
    m->provider = prov;
    m->tier = apr_pstrdup(c->pool, tier ? tier : "mid");
    m->swap_band = apr_pstrdup(c->pool, swap_band ? swap_band : "none");
    m->context_window = context_window;
    m->max_output_tokens = max_output_tokens;
    m->vision = vision;
    m->price = price;
    m->enabled = enabled;
    m->created = created;
    m->deployments = apr_array_make(c->pool, 2, sizeof(cx_deployment_t *));
    m->chain = apr_array_make(c->pool, 4, sizeof(cx_deployment_t *));
    apr_hash_set(c->models, m->id, APR_HASH_KEY_STRING, m);
    APR_ARRAY_PUSH(c->model_list, cx_model_t *) = m;
    return NULL;
}

const cx_deployment_t *cx_catalog_deployment(const cx_model_t *m, const char *provider)
{
    for (int i = 0; i < m->deployments->nelts; i++) {
        const cx_deployment_t *d = APR_ARRAY_IDX(m->deployments, i, const cx_deployment_t *);
        if (!strcmp(d->provider->name, provider))
            return d;
    }
    return NULL;
}

const char *cx_catalog_add_deployment(cx_catalog_t *c, const char *model_id,
                                      const char *provider, const char *upstream_model,
                                      cx_price_t price)
{
    cx_model_t *m = apr_hash_get(c->models, model_id, APR_HASH_KEY_STRING);
    const cx_provider_t *prov = cx_catalog_provider(c, provider);
    if (!m || !prov)
        return apr_psprintf(c->pool, "deployment %s on %s references an unknown %s", model_id,
                            provider, m ? "provider" : "model");
    cx_deployment_t *d = apr_palloc(c->pool, sizeof *d);
    d->model = m;
    d->provider = prov;
    d->upstream_model = apr_pstrdup(c->pool, upstream_model ? upstream_model : model_id);
    d->price = price;
    APR_ARRAY_PUSH(m->deployments, const cx_deployment_t *) = d;
    return NULL;
}

const char *cx_catalog_add_alias(cx_catalog_t *c, const char *alias, const char *model_id,
                                 const char *provider)
{
    const cx_model_t *m = apr_hash_get(c->models, model_id, APR_HASH_KEY_STRING);
    if (!m)
        return apr_psprintf(c->pool, "alias %s points to unknown model %s", alias, model_id);
    cx_alias_t *a = apr_palloc(c->pool, sizeof *a);
    a->model = m;
    a->provider = NULL;
    if (provider && *provider) {
        a->provider = cx_catalog_provider(c, provider);
        if (!a->provider || !cx_catalog_deployment(m, provider))
            return apr_psprintf(c->pool, "alias %s pins %s, which does not serve %s", alias,
                                provider, model_id);
    }
    apr_hash_set(c->aliases, apr_pstrdup(c->pool, alias), APR_HASH_KEY_STRING, a);
    return NULL;
}

const char *cx_catalog_add_chain_entry(cx_catalog_t *c, const char *model_id,
                                       const char *target_model, const char *target_provider)
{
    cx_model_t *m = apr_hash_get(c->models, model_id, APR_HASH_KEY_STRING);
    const cx_model_t *t = apr_hash_get(c->models, target_model, APR_HASH_KEY_STRING);
    const cx_deployment_t *d = t ? cx_catalog_deployment(t, target_provider) : NULL;
    if (!m || !d)
        return apr_psprintf(c->pool, "fallback chain of %s references %s on %s, which is not "
                            "a deployment", model_id, target_model, target_provider);
    APR_ARRAY_PUSH(m->chain, const cx_deployment_t *) = d;
    return NULL;
}

static int compare_models(const void *a, const void *b)
{
    const cx_model_t *ma = *(const cx_model_t *const *)a;
    const cx_model_t *mb = *(const cx_model_t *const *)b;
    return strcmp(ma->id, mb->id);
}

void cx_catalog_finalize(cx_catalog_t *c)
{
    qsort(c->model_list->elts, c->model_list->nelts, sizeof(cx_model_t *), compare_models);
    for (int i = 0; i < c->model_list->nelts; i++) {
        cx_model_t *m = APR_ARRAY_IDX(c->model_list, i, cx_model_t *);
        if (m->chain->nelts == 0)
            apr_array_cat(m->chain, m->deployments);
    }
}

int cx_catalog_resolve(const cx_catalog_t *c, const char *requested, cx_resolved_t *out)
{
    out->model = NULL;
    out->pinned = NULL;
    if (!requested || !*requested)
        return 0;
    const cx_model_t *m = apr_hash_get(c->models, requested, APR_HASH_KEY_STRING);
    if (m) {
        out->model = m;
    }
    else {
        const cx_alias_t *a = apr_hash_get(c->aliases, requested, APR_HASH_KEY_STRING);
        if (a) {
            out->model = a->model;
            out->pinned = a->provider;
        }
        else {
            /* "provider/model": the prefix pins the provider when it serves the model.
             * Canonical ids may themselves contain '/' (meta-llama/...), so only the
             * first segment is tried as a provider. */
            const char *slash = strchr(requested, '/');
            if (!slash)
                return 0;
            char prefix[64];
            apr_size_t n = (apr_size_t)(slash - requested);
            if (n == 0 || n >= sizeof prefix)
                return 0;
            memcpy(prefix, requested, n);
            prefix[n] = '\0';
            const cx_provider_t *prov = cx_catalog_provider(c, prefix);
            cx_resolved_t inner;
            if (!prov || !cx_catalog_resolve(c, slash + 1, &inner))
                return 0;
            if (inner.pinned && inner.pinned != prov)
                return 0;
            if (!cx_catalog_deployment(inner.model, prov->name))
                return 0;
            out->model = inner.model;
            out->pinned = prov;
        }
    }
    if (!out->model->enabled) {
        out->model = NULL;
        out->pinned = NULL;
        return 0;
    }
    return 1;
}

apr_array_header_t *cx_catalog_candidates(apr_pool_t *p, const cx_resolved_t *res)
{
    apr_array_header_t *out = apr_array_make(p, 4, sizeof(const cx_deployment_t *));
    if (!res->model)
        return out;
    if (res->pinned) {
        const cx_deployment_t *d = cx_catalog_deployment(res->model, res->pinned->name);
        if (d && d->provider->enabled)
            APR_ARRAY_PUSH(out, const cx_deployment_t *) = d;
        return out;
    }
    for (int i = 0; i < res->model->chain->nelts; i++) {
        const cx_deployment_t *d = APR_ARRAY_IDX(res->model->chain, i, const cx_deployment_t *);
        if (d->provider->enabled && d->model->enabled)
            APR_ARRAY_PUSH(out, const cx_deployment_t *) = d;
    }
    return out;
}

const char *cx_api_format_name(cx_api_format_t f)
{
    switch (f) {
    case CX_API_ANTHROPIC: return "anthropic";
    case CX_API_GOOGLE: return "google";
    default: return "openai";
    }
}

int cx_api_format_parse(const char *s, cx_api_format_t *out)
{
    if (!s)
        return 0;
    if (!strcmp(s, "openai")) *out = CX_API_OPENAI;
    else if (!strcmp(s, "anthropic")) *out = CX_API_ANTHROPIC;
    else if (!strcmp(s, "google")) *out = CX_API_GOOGLE;
    else return 0;
    return 1;
}
