/* mod_conduix resilience glue: shared state (shm now, Redis later), per-provider
 * circuit breakers and budgets, and the response cache. The chat handler calls
 * the few functions below; everything else hooks itself into httpd. */
#ifndef CONDUIX_RESILIENCE_H
#define CONDUIX_RESILIENCE_H

#include "mod_conduix.h"
#include "cx_state.h"
#include "cx_breaker.h"
#include "cx_budget.h"

#include <jansson.h>

/* ---- shared state (conduix_state_shm.c) ---- */
#define CONDUIX_DEFAULT_STATE_SIZE (16 * 1024 * 1024)
/* The shared state of this server, or NULL when it is unavailable (then breakers
 * admit everything, budgets are not tracked and nothing is cached). */
const cx_state *conduix_shared_state(void);
void conduix_state_register_hooks(apr_pool_t *p);

/* ---- circuit breakers and hard caps (conduix_breaker.c) ---- */
#define CONDUIX_DEFAULT_BREAKER_THRESHOLD 3
#define CONDUIX_DEFAULT_BREAKER_OPEN_SECONDS 30
/* 1 when the provider may be called now: its breaker is closed (or this request
 * is its half-open probe) and it is not over a hard budget cap. 0 = skip it
 * without a network call. Every 1 must be followed by conduix_provider_report. */
int conduix_provider_admit(request_rec *r, conduix_req_t *ctx, const cx_provider_t *prov);
/* Outcome of the call: healthy = the provider answered (2xx, or a client error
 * that is the request's fault); 0 = connect error, timeout, 5xx, 429, bad body,
 * a stream cut mid-way. */
void conduix_provider_report(request_rec *r, conduix_req_t *ctx, const cx_provider_t *prov,
                             int healthy);

/* ---- provider budgets and alerts (conduix_budget.c) ---- */
typedef struct {
    cx_alert_format_t format;
    const char *url;
} conduix_alert_conf_t;
/* 1 when prov has a hard cap and this month's spend reached its budget. */
int conduix_budget_capped(request_rec *r, conduix_req_t *ctx, const cx_provider_t *prov);
/* Queue a breaker transition (made at `at`) for the background thread, which writes
 * it to provider_breaker_state; never waits for the database. */
void conduix_budget_queue_breaker(request_rec *r, conduix_req_t *ctx, const char *provider,
                                  cx_breaker_state_t from, const cx_breaker_t *to, apr_time_t at);
void conduix_budget_register_hooks(apr_pool_t *p);

/* ---- response cache (conduix_cache.c) ---- */
#define CONDUIX_DEFAULT_CACHE_TTL 300
#define CONDUIX_DEFAULT_CACHE_MAX_ENTRY (256 * 1024)
/* Before the provider walk: answers a cacheable request from the cache (returns
 * OK, usage recorded as a cache hit) or arranges for its answer to be stored and
 * returns DECLINED, as it does for requests that are not cacheable. */
int conduix_cache_chat(request_rec *r, conduix_req_t *ctx, const json_t *req,
                       const cx_resolved_t *res, const char *requested);
void conduix_cache_register_hooks(apr_pool_t *p);

#endif
