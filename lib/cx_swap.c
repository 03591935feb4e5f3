#include "cx_swap.h"
#include "cx_governance.h"

#include <string.h>

long long cx_swap_blend(cx_price_t price)
{
    return CX_SWAP_BLEND_INPUT * (long long)price.input_per_m +
           CX_SWAP_BLEND_OUTPUT * (long long)price.output_per_m;
}

int cx_swap_request_has_tools(const json_t *req)
{
    json_t *tools = json_object_get(req, "tools");
    json_t *functions = json_object_get(req, "functions");
    return (tools && !json_is_null(tools)) || (functions && !json_is_null(functions));
}

int cx_swap_request_has_vision(const json_t *req)
{
    json_t *messages = json_object_get(req, "messages");
    for (size_t m = 0; m < json_array_size(messages); m++) {
        json_t *content = json_object_get(json_array_get(messages, m), "content");
        for (size_t k = 0; k < json_array_size(content); k++) {
            const char *type = json_string_value(json_object_get(json_array_get(content, k), "type"));
            if (type && !strcmp(type, "image_url"))
                return 1;
        }
    }
    return 0;
}

/* May the request be sent to d at all (provider on, region, routable now)? */
static int deployment_permitted(const cx_swap_input_t *in, const cx_deployment_t *d)
{
    if (!d->provider->enabled)
        return 0;
    if (in->region && (!d->provider->region || strcmp(d->provider->region, in->region)))
        return 0;
    return in->routable ? in->routable(in->baton, d) : 1;
}

/* The cheapest permitted deployment of m, or NULL. */
static const cx_deployment_t *cheapest_deployment(const cx_swap_input_t *in, const cx_model_t *m)
{
    const cx_deployment_t *best = NULL;
    for (int i = 0; i < m->deployments->nelts; i++) {
        const cx_deployment_t *d = APR_ARRAY_IDX(m->deployments, i, const cx_deployment_t *);
        if (deployment_permitted(in, d) && (!best || cx_swap_blend(d->price) < cx_swap_blend(best->price)))
            best = d;
    }
    return best;
}

/* Cheapest first; a stable insertion sort (a model has a handful of deployments),
 * so equal prices keep the catalog's order. */
static void sort_by_blend(apr_array_header_t *a)
{
    const cx_deployment_t **d = (const cx_deployment_t **)a->elts;
    for (int i = 1; i < a->nelts; i++) {
        const cx_deployment_t *x = d[i];
        int j = i;
        while (j > 0 && cx_swap_blend(d[j - 1]->price) > cx_swap_blend(x->price)) {
            d[j] = d[j - 1];
            j--;
        }
        d[j] = x;
    }
}

static apr_array_header_t *copy_candidates(apr_pool_t *p, const apr_array_header_t *c)
{
    apr_array_header_t *out = apr_array_make(p, c->nelts + 4, sizeof(const cx_deployment_t *));
    apr_array_cat(out, c);
    return out;
}

void cx_swap_choose(apr_pool_t *p, const cx_swap_input_t *in, cx_swap_result_t *out)
{
    const cx_model_t *req = in->requested;
    out->target = NULL;
    out->candidates = copy_candidates(p, in->candidates);
    if (!req->swap_band || !strcmp(req->swap_band, "none")) {
        out->outcome = CX_SWAP_BAND_NONE;
        return;
    }
    if (in->has_tools) {
        out->outcome = CX_SWAP_TOOLS;
        return;
    }
    if (cx_model_listed(in->cat, in->never_from, req)) {
        out->outcome = CX_SWAP_NEVER_FROM;
        return;
    }
    /* What the request would be served by without a swap. */
    const cx_deployment_t *baseline = NULL;
    for (int i = 0; i < in->candidates->nelts && !baseline; i++) {
        const cx_deployment_t *d = APR_ARRAY_IDX(in->candidates, i, const cx_deployment_t *);
        if (deployment_permitted(in, d))
            baseline = d;
    }
    if (!baseline) {
        out->outcome = CX_SWAP_NO_BASELINE;
        return;
    }

    const cx_model_t *best = NULL;
    long long best_blend = 0;
    /* model_list is sorted by id, so a strict < keeps the smallest id on ties. */
    for (int i = 0; i < in->cat->model_list->nelts; i++) {
        const cx_model_t *m = APR_ARRAY_IDX(in->cat->model_list, i, const cx_model_t *);
        if (!m->enabled || !m->swap_band || strcmp(m->swap_band, req->swap_band))
            continue;
        if (in->has_vision && !m->vision)
            continue;
        if (cx_model_listed(in->cat, in->never_to, m))
            continue;
        if (!cx_allowlist_admits_model(in->allowlist, m))
            continue;
        const cx_deployment_t *d = cheapest_deployment(in, m);
        if (!d)
            continue;
        long long blend = cx_swap_blend(d->price);
        if (!best || blend < best_blend) {
            best = m;
            best_blend = blend;
        }
    }
    if (!best || best == baseline->model || best_blend >= cx_swap_blend(baseline->price)) {
        out->outcome = CX_SWAP_NOTHING_CHEAPER;
        return;
    }

    apr_array_header_t *mine = apr_array_make(p, best->deployments->nelts + 1,
                                              sizeof(const cx_deployment_t *));
    for (int i = 0; i < best->deployments->nelts; i++) {
        const cx_deployment_t *d = APR_ARRAY_IDX(best->deployments, i, const cx_deployment_t *);
        if (deployment_permitted(in, d))
            APR_ARRAY_PUSH(mine, const cx_deployment_t *) = d;
    }
    sort_by_blend(mine);
    for (int i = 0; i < in->candidates->nelts; i++) {
        const cx_deployment_t *d = APR_ARRAY_IDX(in->candidates, i, const cx_deployment_t *);
        int dup = 0;
        for (int k = 0; k < mine->nelts && !dup; k++)
            dup = APR_ARRAY_IDX(mine, k, const cx_deployment_t *) == d;
        if (!dup)
            APR_ARRAY_PUSH(mine, const cx_deployment_t *) = d;
    }
    out->outcome = CX_SWAP_SWAPPED;
    out->target = best;
    out->candidates = mine;
}

const char *cx_swap_outcome_name(cx_swap_outcome_t o)
{
    switch (o) {
    case CX_SWAP_SWAPPED: return "swapped";
    case CX_SWAP_BAND_NONE: return "band none";
    case CX_SWAP_TOOLS: return "tools set";
    case CX_SWAP_NEVER_FROM: return "org pins the requested model (swap_never_from)";
    case CX_SWAP_NO_BASELINE: return "nothing routable";
    case CX_SWAP_NOTHING_CHEAPER: return "no permitted cheaper model in the band";
    }
    return "?";
}
