/* Conduix cheaper-model swaps (seeds/002-model-tiers, SPEC §5).
 *
 * When swaps are on for a request, the gateway may serve the cheapest model of the
 * requested model's swap_band instead of the model asked for. The rules, all
 * enforced here:
 *  - never across bands, and never for a model whose band is "none";
 *  - never when the request sets tools (or the legacy functions);
 *  - never from a vision-bearing request (any image content part) to a model
 *    without vision;
 *  - never from a model the org lists in swap_never_from, never to one it lists in
 *    swap_never_to;
 *  - only to a model the key's allowlist admits, with a deployment in the key's
 *    region on an enabled provider that the gateway can route to right now;
 *  - only when strictly cheaper than what would be served without the swap (the
 *    first routable candidate).
 *
 * "Cheapest" compares a blended price per token with input and output weighted
 * 3:1 (CX_SWAP_BLEND_INPUT : CX_SWAP_BLEND_OUTPUT): chat traffic sends several
 * prompt tokens per completion token, and 3:1 is the blend public price
 * comparisons use. A model's price is that of its cheapest permitted deployment.
 * Ties go to the lexically smaller model id, so the choice is deterministic. */
#ifndef CX_SWAP_H
#define CX_SWAP_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <jansson.h>
#include "cx_allowlist.h"
#include "cx_catalog.h"

#define CX_SWAP_BLEND_INPUT 3
#define CX_SWAP_BLEND_OUTPUT 1

typedef enum {
    CX_SWAP_SWAPPED = 0,
    CX_SWAP_BAND_NONE,        /* the requested model's band is "none" */
    CX_SWAP_TOOLS,            /* the request sets tools */
    CX_SWAP_NEVER_FROM,       /* the org pinned the requested model */
    CX_SWAP_NO_BASELINE,      /* nothing routable to compare with */
    CX_SWAP_NOTHING_CHEAPER   /* no permitted model of the band is cheaper */
} cx_swap_outcome_t;

typedef struct {
    const cx_catalog_t *cat;
    const cx_model_t *requested;            /* the resolved requested model */
    const apr_array_header_t *candidates;   /* after allowlist and region filters */
    const cx_allowlist_t *allowlist;        /* NULL = every model */
    const char *region;                     /* NULL = any */
    int has_tools;
    int has_vision;
    const apr_array_header_t *never_from;   /* const char *; may be NULL */
    const apr_array_header_t *never_to;
    /* Can the gateway send to this deployment now (adapter and credential)? NULL =
     * every enabled provider. */
    int (*routable)(void *baton, const cx_deployment_t *d);
    void *baton;
} cx_swap_input_t;

typedef struct {
    cx_swap_outcome_t outcome;
    const cx_model_t *target;               /* set when swapped */
    /* When swapped: the target's permitted deployments, cheapest first, followed by
     * the original candidates (so a failing target falls back to what the caller
     * asked for). Otherwise the original candidates. */
    apr_array_header_t *candidates;
} cx_swap_result_t;

/* 3*input + 1*output, in nanocredits per 1M tokens (x4). */
long long cx_swap_blend(cx_price_t price);

/* Request features the rules look at. */
int cx_swap_request_has_tools(const json_t *req);
int cx_swap_request_has_vision(const json_t *req);

/* Decide. Always fills out (outcome explains a refusal). */
void cx_swap_choose(apr_pool_t *p, const cx_swap_input_t *in, cx_swap_result_t *out);

const char *cx_swap_outcome_name(cx_swap_outcome_t o);

#endif
