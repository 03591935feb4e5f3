/* Conduix model catalog: an immutable in-memory snapshot of providers, models,
 * deployments, aliases and fallback chains, loaded from the database by cx_store
 * and replaced wholesale on refresh. Everything hangs off one pool, so a snapshot
 * is freed in one step once no request holds it. */
#ifndef CX_CATALOG_H
#define CX_CATALOG_H

#include <apr_pools.h>
#include <apr_hash.h>
#include <apr_tables.h>
#include "cx_price.h"

typedef enum { CX_API_OPENAI = 0, CX_API_ANTHROPIC, CX_API_GOOGLE } cx_api_format_t;

typedef struct {
    const char *name;
    const char *display_name;
    const char *region;          /* US | EU | APAC */
    cx_api_format_t api_format;
    const char *base_url;        /* catalog default; a directive may override */
    const char *credential_ref;  /* env:NAME or file:/path */
    int enabled;
    /* BYO endpoints (an org's own OpenAI-compatible server, "byo:<slug>/<model>") are
     * not in the catalog: they are built per request from the org's row, carry the
     * org's credential (never logged) and are reached only past the SSRF guard. */
    int byo;
    const char *byo_credential;
} cx_provider_t;

typedef struct cx_model cx_model_t;

typedef struct {
    const cx_model_t *model;
    const cx_provider_t *provider;
    const char *upstream_model;  /* the id the provider's API expects */
    cx_price_t price;
} cx_deployment_t;

struct cx_model {
    const char *id;
    const char *display_name;
    const cx_provider_t *provider;   /* primary */
    const char *tier;
    const char *swap_band;
    unsigned int context_window;
    unsigned int max_output_tokens;
    int vision;
    cx_price_t price;                /* primary deployment's list price */
    int enabled;
    long long created;               /* unix time the row was created */
    apr_array_header_t *deployments; /* const cx_deployment_t * */
    apr_array_header_t *chain;       /* const cx_deployment_t *, position order */
};

typedef struct {
    apr_pool_t *pool;
    apr_hash_t *providers;     /* name -> cx_provider_t */
    apr_hash_t *models;        /* id -> cx_model_t */
    apr_hash_t *aliases;       /* alias -> cx_alias_t */
    apr_array_header_t *model_list;  /* cx_model_t *, sorted by id */
} cx_catalog_t;

typedef struct {
    const cx_model_t *model;
    const cx_provider_t *pinned;   /* NULL unless the id pinned a provider */
} cx_resolved_t;

cx_catalog_t *cx_catalog_create(apr_pool_t *p);

/* Builders (strings are copied into the catalog's pool). Return NULL on success or
 * an error message naming the bad reference. */
const char *cx_catalog_add_provider(cx_catalog_t *c, const cx_provider_t *prov);
const char *cx_catalog_add_model(cx_catalog_t *c, const char *id, const char *display_name,
                                 const char *provider, const char *tier, const char *swap_band,
                                 unsigned int context_window, unsigned int max_output_tokens,
                                 int vision, cx_price_t price, int enabled,
                                 long long created);
const char *cx_catalog_add_deployment(cx_catalog_t *c, const char *model_id,
                                      const char *provider, const char *upstream_model,
                                      cx_price_t price);
const char *cx_catalog_add_alias(cx_catalog_t *c, const char *alias, const char *model_id,
                                 const char *provider);
/* Chain entries must be added in position order. */
const char *cx_catalog_add_chain_entry(cx_catalog_t *c, const char *model_id,
                                       const char *target_model, const char *target_provider);
/* Sort the model list; give models without a chain their deployments as chain. */
void cx_catalog_finalize(cx_catalog_t *c);

const cx_provider_t *cx_catalog_provider(const cx_catalog_t *c, const char *name);
const cx_deployment_t *cx_catalog_deployment(const cx_model_t *m, const char *provider);

/* Resolve a requested id: canonical id, alias, or "provider/model" (pins the
 * provider). Disabled models do not resolve. Returns 1 when found. */
int cx_catalog_resolve(const cx_catalog_t *c, const char *requested, cx_resolved_t *out);

/* Deployments to try, in order: the pinned deployment alone when pinned, else the
 * model's fallback chain. Disabled providers are left out. */
apr_array_header_t *cx_catalog_candidates(apr_pool_t *p, const cx_resolved_t *res);

const char *cx_api_format_name(cx_api_format_t f);
int cx_api_format_parse(const char *s, cx_api_format_t *out);

#endif
