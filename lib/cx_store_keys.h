/* Conduix key management in the store: mint, read, list, edit and revoke the keys of
 * one organization. Every change writes its audit row in the same transaction, so
 * there is no change without its record. Used by /v1/keys and the dashboard. */
#ifndef CX_STORE_KEYS_H
#define CX_STORE_KEYS_H

#include "cx_audit.h"
#include "cx_key_policy.h"
#include "cx_store.h"

typedef enum {
    CX_KEYS_OK = 0,
    CX_KEYS_NOT_FOUND,        /* no such key in this organization */
    CX_KEYS_REVOKED,          /* the key is revoked; it cannot be edited */
    CX_KEYS_ESCALATION,       /* the change would grant a scope the grantor lacks */
    CX_KEYS_ERROR = -1        /* database error (*err) */
} cx_keys_rc_t;

#define CX_KEYS_PAGE_MAX 100

/* Mint a key of org_id with pol (mode, scopes, policy). grantor_scopes is the
 * scope list of whoever mints (NULL = no restriction: a signed-in owner or admin).
 * *secret is shown once and stored only as its SHA-256. Audited as key.create. */
cx_keys_rc_t cx_keys_mint(cx_db *db, apr_pool_t *p, uint64_t org_id, const cx_key_policy_t *pol,
                          const char *grantor_scopes, uint64_t created_by_user_id,
                          const cx_audit_actor_t *actor, const char **secret, cx_api_key_t *out,
                          const char **err);

cx_keys_rc_t cx_keys_get(cx_db *db, apr_pool_t *p, uint64_t org_id, uint64_t key_id,
                         cx_api_key_t *out, const char **err);

/* Keys of org_id with id > after_id, in id order, at most limit (1..100). */
cx_keys_rc_t cx_keys_list(cx_db *db, apr_pool_t *p, uint64_t org_id, uint64_t after_id, int limit,
                          apr_array_header_t **out /* cx_api_key_t */, int *has_more,
                          const char **err);

/* Apply the fields of patch (patch->set) to a key. Scopes the key does not hold yet
 * must be held by grantor_scopes (NULL = no restriction). Audited as key.update with
 * {"before": {...}, "after": {...}} of the fields that changed; a patch that changes
 * nothing is not audited. *out is the key after the change. */
cx_keys_rc_t cx_keys_update(cx_db *db, apr_pool_t *p, uint64_t org_id, uint64_t key_id,
                            const cx_key_policy_t *patch, const char *grantor_scopes,
                            const cx_audit_actor_t *actor, cx_api_key_t *out, const char **err);

/* Revoke a key (refused everywhere within the key cache TTL). Revoking a revoked key
 * changes nothing and sets *already. Audited as key.revoke. */
cx_keys_rc_t cx_keys_revoke(cx_db *db, apr_pool_t *p, uint64_t org_id, uint64_t key_id,
                            const cx_audit_actor_t *actor, cx_api_key_t *out, int *already,
                            const char **err);

#endif
