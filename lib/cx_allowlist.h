/* Conduix per-key model allowlists (SPEC §6). A key's allowed_models is a JSON array
 * of entries; NULL (no list) allows every model. An entry is
 *   an exact model id or alias      "gpt-4o-mini", "claude-haiku-4-5"
 *                                   (an alias that pins a provider, "together/llama-4-maverick",
 *                                   allows the model only when pinned the same way)
 *   a tier                          "tier:frontier" | "tier:premium" | "tier:mid" | "tier:budget"
 *   any BYO endpoint                "byo:*"
 *   one BYO endpoint                "byo:<slug>/" followed by "*"
 *   one BYO model                   "byo:<slug>/<model>"
 * The check runs before any upstream call; a refusal is 403 model_not_allowed. */
#ifndef CX_ALLOWLIST_H
#define CX_ALLOWLIST_H

#include <apr_pools.h>
#include "cx_catalog.h"

#define CX_ALLOWLIST_MAX_ENTRIES 200

/* NULL when entry is a valid allowlist entry for this catalog, else why not. */
const char *cx_allowlist_entry_check(apr_pool_t *p, const cx_catalog_t *cat, const char *entry);

/* Does the allowlist permit the request? requested is the id the client sent; res
 * its resolution (NULL for ids the catalog does not resolve, such as byo:...).
 * Returns 1 permitted, 0 refused, -1 when allowed_json is not a JSON array of
 * strings (refused: a damaged policy never opens access). */
int cx_allowlist_permits(apr_pool_t *p, const cx_catalog_t *cat, const char *allowed_json,
                         const char *requested, const cx_resolved_t *res);

#endif
