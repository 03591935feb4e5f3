/* Conduix API key scopes. A key holds a comma list of scopes (api_keys.scopes):
 *   inference     call the model endpoints (/v1/chat/completions, ...) — the default
 *   account:read  read the account: balance, usage, audit log, the key list
 *   keys:write    mint, edit and revoke the organization's keys
 * A key can never hand out a scope it does not hold itself. */
#ifndef CX_SCOPES_H
#define CX_SCOPES_H

#include <apr_pools.h>

#define CX_SCOPE_INFERENCE "inference"
#define CX_SCOPE_ACCOUNT_READ "account:read"
#define CX_SCOPE_KEYS_WRITE "keys:write"

/* 1 when scope is one of the three above. */
int cx_scope_known(const char *scope);

/* 1 when the comma list holds scope (exact, whitespace around items ignored). */
int cx_scopes_has(const char *list, const char *scope);

/* Canonical form of a comma list: known scopes only, each once, in the order above.
 * NULL when an item is unknown or the list is empty; *bad names the offending item
 * ("" for an empty list). */
const char *cx_scopes_normalize(apr_pool_t *p, const char *list, const char **bad);

/* The first scope of wanted held by neither held nor already (may be NULL), or NULL
 * when every scope of wanted is covered: the no-escalation rule for minting/editing. */
const char *cx_scopes_missing(apr_pool_t *p, const char *wanted, const char *held,
                              const char *already);

#endif
