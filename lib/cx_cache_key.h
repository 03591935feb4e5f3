/* Conduix response cache: which requests are cacheable and under which key.
 *
 * Only deterministic requests are cached: `temperature` present and 0, and `n`
 * absent or at most 1. The key is the SHA-256 of a canonical form of the request
 * (keys sorted, compact, numbers normalised so 0 and 0.0 agree, without the
 * members that do not change the answer: `stream`, `stream_options`, `user`, and
 * `model`, which is replaced by the resolved canonical model and pinned provider)
 * together with the organization, so one org never sees another's answers and a
 * streamed and a non-streamed request share one entry. */
#ifndef CX_CACHE_KEY_H
#define CX_CACHE_KEY_H

#include <stdint.h>
#include <apr_pools.h>
#include <jansson.h>

/* 1 when the (validated) chat request may be answered from the cache. */
int cx_cache_cacheable(const json_t *req);

/* The canonical text the key is computed over (also useful in tests). */
char *cx_cache_canonical(apr_pool_t *p, const json_t *req, apr_size_t *len);

/* "cx:cache:<64 hex>"; pinned_provider may be NULL. NULL when the request cannot
 * be serialised. */
const char *cx_cache_key(apr_pool_t *p, uint64_t org_id, const char *model_id,
                         const char *pinned_provider, const json_t *req);

#endif
