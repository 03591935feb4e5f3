/* Conduix BYO endpoints: an organization's own OpenAI-compatible servers, addressed
 * as "byo:<slug>/<model>" (the only Conduix-namespaced model id). Rows live in
 * byo_endpoints (sql/010_byo_endpoints.sql); the gateway reads one per request, the
 * CLI (and later the dashboard and keys API) manage them. */
#ifndef CX_BYO_H
#define CX_BYO_H

#include <stdint.h>
#include <apr_pools.h>
#include <apr_tables.h>

#include "cx_catalog.h"
#include "cx_seal.h"
#include "cx_store.h"

typedef struct {
    uint64_t id;
    uint64_t org_id;
    const char *slug;
    const char *base_url;       /* no trailing slash */
    const char *credential;     /* as stored: sealed (cx_seal.h) or legacy plaintext;
                                 * NULL when the endpoint needs none. Opened only by
                                 * cx_byo_open_credential, when the request is built. */
    const char *region;
    const char *models;         /* JSON array text, or NULL = any model id */
    int enabled;
} cx_byo_t;

/* Split "byo:<slug>/<model>". Returns 1 and sets *slug, *model (from p) when id has
 * that form with a valid slug and a non-empty model; 0 otherwise. */
int cx_byo_parse_id(apr_pool_t *p, const char *id, const char **slug, const char **model);

/* Slugs: 1-64 of [a-z0-9_-], starting with a letter or digit. */
int cx_byo_valid_slug(const char *slug);

/* Whether the endpoint serves model (its models list is empty or names it). */
int cx_byo_serves(apr_pool_t *p, const cx_byo_t *b, const char *model);

/* 1 found (enabled or not), 0 not found, -1 database error. */
int cx_byo_lookup(cx_db *db, apr_pool_t *p, uint64_t org_id, const char *slug, cx_byo_t *out);

/* Add one; base_url must be http(s) without credentials, models NULL or a JSON array
 * of strings, region US/EU/APAC. b->credential is the plaintext secret: it is stored
 * sealed with key (required when there is a credential; an empty one is none).
 * Returns 0, or -1 with *err. */
int cx_byo_add(cx_db *db, apr_pool_t *p, const cx_byo_t *b, const cx_seal_key_t *key, uint64_t *id,
               const char **err);

/* The plaintext credential of b (as cx_byo_lookup read it), for the upstream request
 * only: never log or show it. CX_SEAL_LEGACY for a row stored before sealing. */
cx_seal_rc cx_byo_open_credential(apr_pool_t *p, const cx_seal_key_t *key, const cx_byo_t *b,
                                  const char **plain, const char **err);

/* Seal every legacy plaintext credential with key (conduixctl byo-reseal). *count is
 * how many rows were sealed. Returns 0, or -1 with *err. */
int cx_byo_reseal(cx_db *db, apr_pool_t *p, const cx_seal_key_t *key, int *count, const char **err);

/* Every endpoint of the org (credentials left out), by slug. */
int cx_byo_list(cx_db *db, apr_pool_t *p, uint64_t org_id, apr_array_header_t **out /* cx_byo_t */,
                const char **err);

/* Returns 1 removed, 0 no such endpoint, -1 error. */
int cx_byo_remove(cx_db *db, uint64_t org_id, const char *slug, const char **err);

/* The request-scoped catalog entries for a BYO model: an OpenAI-format provider
 * named "byo:<slug>" carrying the endpoint's URL and credential, a model
 * "byo:<slug>/<model>" with zero list price (the org pays its own provider), and one
 * deployment, which is also the whole chain. */
void cx_byo_resolved(apr_pool_t *p, const cx_byo_t *b, const char *model, cx_resolved_t *out);

#endif
