/* mod_conduix governance glue: the per-key and per-org levers of SPEC §6, applied
 * to a chat request in the order of SPEC §4. Each step is one call from the
 * endpoint; the decisions themselves live in lib/ (cx_allowlist, cx_governance,
 * cx_pii, cx_swap) and are unit-tested there.
 *
 *   request id -> auth -> body limits and validation (+ conduix_gov_begin: the
 *   governance request headers) -> model resolution -> conduix_gov_allowlist ->
 *   conduix_gov_rate_limit -> conduix_gov_candidates (allowlist on fallbacks, region
 *   filter) -> conduix_gov_spend_caps -> conduix_gov_credits -> conduix_gov_redact ->
 *   [cache] -> conduix_gov_swap -> upstream with the fallback chain.
 *
 * Every rejection here happens before any upstream call and costs nothing. */
#ifndef CONDUIX_GOVERNANCE_H
#define CONDUIX_GOVERNANCE_H

#include "mod_conduix.h"
#include "cx_allowlist.h"
#include "cx_governance.h"
#include "cx_spendcap.h"

#include <jansson.h>

typedef struct {
    /* per-request headers */
    int pii_header;                 /* x-conduix-pii-redact: -1 absent, 0, 1 */
    int explicit_routing;           /* X-Gateway-Routing: explicit */
    /* model and key policy */
    const cx_catalog_t *cat;
    const cx_resolved_t *res;
    const char *requested;          /* the model id as the client sent it */
    cx_allowlist_t *allowlist;      /* NULL = every model */
    /* org settings, loaded on first use */
    int org_loaded;
    cx_org_settings_t org;
    /* outcomes */
    int pii_ran;
    unsigned int pii_redacted;
    const cx_model_t *swapped_to;
    /* what x-conduix-fallback compares with: the first deployment of the model's
     * full chain (before any filter) and, after a swap, the target's first one */
    const cx_deployment_t *first_choice;
    const cx_deployment_t *swap_first;
} conduix_gov_t;

/* Parse the governance request headers; 400 (sent) on a malformed value. */
int conduix_gov_begin(request_rec *r, conduix_req_t *ctx, const char *requested, conduix_gov_t *gov);

/* The key's allowlist against the resolved model: 403 model_not_allowed (sent). */
int conduix_gov_allowlist(request_rec *r, conduix_req_t *ctx, const cx_catalog_t *cat,
                          const cx_resolved_t *res, conduix_gov_t *gov);

/* Per-key requests per minute (api_keys.rate_limit_rpm) over the shared sliding
 * window of lib/cx_ratelimit.h: sets the x-ratelimit-*-requests headers; 429
 * rate_limit_exceeded with Retry-After (sent) when the window is full. */
int conduix_gov_rate_limit(request_rec *r, conduix_req_t *ctx, conduix_gov_t *gov);

/* The deployments the request may be sent to: the model's candidates without
 * models the allowlist refuses (fallbacks included) and without providers
 * outside the key's region. None left in the region: 403 provider_not_permitted. */
int conduix_gov_candidates(request_rec *r, conduix_req_t *ctx, conduix_gov_t *gov,
                           apr_array_header_t **candidates);

/* Spend caps of the org (settings) and of the key, per UTC day and month: 402
 * spend_cap_exceeded (sent) when one is reached. Not for test keys. Arranges
 * for the request's charge to be counted against every cap after the response. */
int conduix_gov_spend_caps(request_rec *r, conduix_req_t *ctx, conduix_gov_t *gov);

/* The wallet: 402 insufficient_credits (sent) when a live key's org has no
 * credit left. The balance seen is net of every charge counted by any child
 * (conduix_wallet_balance), so requests admitted together overshoot it by at most
 * what they cost, as with spend caps. */
int conduix_gov_credits(request_rec *r, conduix_req_t *ctx);

/* PII redaction of req in place when the header, the key or the org asks for it;
 * sets x-conduix-pii-redacted when it ran. */
void conduix_gov_redact(request_rec *r, conduix_req_t *ctx, json_t *req, conduix_gov_t *gov);

/* Cheaper-model swap: may put a cheaper model of the same band first in
 * *candidates and set x-gateway-routed-from. */
void conduix_gov_swap(request_rec *r, conduix_req_t *ctx, const json_t *req, conduix_gov_t *gov,
                      apr_array_header_t **candidates);

/* x-conduix-fallback: 1 when served is neither the first choice of the model's
 * full chain nor the deployment a swap chose (swaps are reported by
 * x-gateway-routed-from, not as fallbacks). */
int conduix_gov_is_fallback(const conduix_gov_t *gov, const cx_deployment_t *served);

/* Does this request count toward spend caps? Test keys (cx_test_) run the whole
 * governance path but never charge and never count toward caps (or get refused
 * by one). */
int conduix_gov_counts_toward_caps(const conduix_req_t *ctx);

/* ---- spend counters (conduix_spend.c) ---- */
/* What the cap's org or key has spent in the period holding now: the shared
 * counter, rebuilt from usage_events when absent (straight from the database
 * when there is no shared state). 0, or -1 when it cannot be known. */
int conduix_spend_current(request_rec *r, conduix_req_t *ctx, const cx_cap_t *cap, apr_time_t now,
                          cx_nano_t *spend);
/* After the response, add the request's charge to the counters of these caps
 * (cx_cap_t, copied). */
void conduix_spend_track(request_rec *r, const apr_array_header_t *caps);
/* The org's balance now: this child's cached database figure minus what the
 * shared charge counter grew since it was read (cx_spendcap.h, the wallet); read
 * again after ConduixKeyCacheTTL, on a new UTC day or when the counter was lost.
 * Without shared state, the database every time; with neither, the key record's. */
cx_nano_t conduix_wallet_balance(request_rec *r, conduix_req_t *ctx);
/* The charge of a usage row handed to the usage writer: pending until the writer
 * is done with the row (written, or spooled when the database cannot take it). */
void conduix_wallet_pending_add(apr_pool_t *p, const cx_usage_record_t *u);
void conduix_wallet_pending_settle(apr_pool_t *p, const cx_usage_record_t *const *rows, int n);
void conduix_spend_register_hooks(apr_pool_t *p);

/* ---- per-child org settings cache (conduix_settings.c) ---- */
typedef struct conduix_settings_cache conduix_settings_cache_t;
/* The org's governance settings: cached per child for ConduixKeyCacheTTL seconds
 * (a change applies within that time). Returns 1, or 0 when the database is
 * unavailable and this child never saw the org: *out then holds the fail-safe
 * values (redact on, swaps off). */
int conduix_org_settings(conduix_runtime_t *rt, request_rec *r, uint64_t org_id,
                         cx_org_settings_t *out);

#endif
