/* Conduix per-key model allowlists (api_keys.allowed_models, a JSON array of
 * strings; NULL admits every model, [] admits none).
 *
 * Entries:
 *   "<model id or alias>"   exact model. Matching is on the resolved canonical
 *                           model, so "claude-haiku-4-5-20251001", its alias
 *                           "claude-haiku-4-5" and a pin such as
 *                           "anthropic/claude-haiku-4-5" all name one model and
 *                           each admits a request for any of the others. (A pin in
 *                           an allowlist admits the model, not only that provider:
 *                           restricting providers is what region pinning is for.)
 *   "tier:<tier>"           every model of that governance tier
 *                           (frontier | premium | mid | budget)
 *   "byo:*"                 every BYO endpoint model of the org
 *   "byo:<slug>/ *"         (no space; a C comment cannot spell it) every model of one
 *                           BYO endpoint
 *   "byo:<slug>/<model>"    one BYO model
 * An entry that no longer resolves (a model since removed from the catalog) still
 * matches a model of exactly that id, so a catalog change never widens a list.
 *
 * The compiled form is tied to one catalog snapshot (entries are resolved when
 * compiled), so compile per request against the snapshot the request holds. */
#ifndef CX_ALLOWLIST_H
#define CX_ALLOWLIST_H

#include <apr_pools.h>
#include <apr_tables.h>
#include "cx_catalog.h"

typedef struct cx_allowlist cx_allowlist_t;

/* Compile json_text (NULL or "null" -> *out = NULL, which admits everything).
 * Returns 0, or -1 with *err for text that is not an array of strings. Entries
 * that do not resolve are kept as literal ids (see above). */
int cx_allowlist_compile(apr_pool_t *p, const char *json_text, const cx_catalog_t *cat,
                         cx_allowlist_t **out, const char **err);

/* Strict check for whoever edits an allowlist (CLI, keys API, dashboard): an
 * array of strings, each a known model id or alias, a known tier or a well-formed
 * byo: pattern. Returns NULL when valid, else a message naming the bad entry. */
const char *cx_allowlist_validate(apr_pool_t *p, const char *json_text, const cx_catalog_t *cat);

/* 1 when the allowlist admits the model (al NULL admits everything). */
int cx_allowlist_admits_model(const cx_allowlist_t *al, const cx_model_t *m);

/* 1 when the allowlist admits a BYO id "byo:<slug>/<model>". */
int cx_allowlist_admits_byo(const cx_allowlist_t *al, const char *byo_id);

/* The candidates (const cx_deployment_t *) whose model the allowlist admits, in
 * order: fallbacks never route to a model the key may not call. */
apr_array_header_t *cx_allowlist_filter(apr_pool_t *p, const cx_allowlist_t *al,
                                        const apr_array_header_t *candidates);

/* Number of entries (for logs); 0 for NULL. */
int cx_allowlist_size(const cx_allowlist_t *al);

#endif
