/* Conduix API key policies: what a key may do (scopes, models, rate, region, PII,
 * spend caps), how a JSON request body sets them (POST/PATCH /v1/keys, the
 * dashboard's keys page) and how a key is shown (never its secret or hash). */
#ifndef CX_KEY_POLICY_H
#define CX_KEY_POLICY_H

#include <stdint.h>
#include <apr_pools.h>
#include <jansson.h>
#include "cx_catalog.h"
#include "cx_keys.h"
#include "cx_validate.h"

/* Which fields a policy (or a PATCH) sets. */
enum {
    CX_KP_NAME = 1 << 0,
    CX_KP_SCOPES = 1 << 1,
    CX_KP_ALLOWED_MODELS = 1 << 2,
    CX_KP_RATE_LIMIT = 1 << 3,
    CX_KP_PII_MODE = 1 << 4,
    CX_KP_REGION = 1 << 5,
    CX_KP_SPEND_CAP_DAILY = 1 << 6,
    CX_KP_SPEND_CAP_MONTHLY = 1 << 7,
    CX_KP_MODE = 1 << 8,
    CX_KP_SWAP_MODE = 1 << 9,
};
#define CX_KP_EDITABLE (CX_KP_NAME | CX_KP_SCOPES | CX_KP_ALLOWED_MODELS | CX_KP_RATE_LIMIT | \
                        CX_KP_PII_MODE | CX_KP_REGION | CX_KP_SPEND_CAP_DAILY | CX_KP_SPEND_CAP_MONTHLY | \
                        CX_KP_SWAP_MODE)

typedef struct {
    unsigned set;                    /* CX_KP_* given */
    const char *name;
    const char *scopes;              /* canonical comma list (cx_scopes_normalize) */
    const char *allowed_models;      /* compact JSON array text; NULL = every model */
    int64_t rate_limit_rpm;          /* -1 = unlimited */
    const char *pii_mode;            /* inherit | redact | off */
    const char *swap_mode;           /* inherit | on | off (cheaper-model swaps, sql/030) */
    const char *region;              /* US | EU | APAC; NULL = any */
    int64_t spend_cap_daily_nano;    /* -1 = none */
    int64_t spend_cap_monthly_nano;  /* -1 = none */
    cx_key_mode_t mode;              /* mint only */
} cx_key_policy_t;

/* A stored key as the API shows it. */
typedef struct {
    uint64_t id;
    uint64_t org_id;
    const char *prefix;              /* "cx_live_AbCd" */
    cx_key_policy_t policy;          /* every field set */
    uint64_t created_by_user_id;     /* 0 = none */
    const char *created_at;          /* "2026-11-21T13:05:09.123456Z" */
    const char *last_used_at;        /* NULL = never */
    const char *revoked_at;          /* NULL = active */
} cx_api_key_t;

/* Defaults of a new key: scopes "inference", every model, no limits, pii and swaps
 * inherit, live. */
void cx_key_policy_defaults(cx_key_policy_t *pol);

/* Read a POST (create = 1: name required, mode allowed) or PATCH (create = 0) body
 * into out (fields not given keep out's values; out->set says which were given).
 * Unknown fields are refused. Returns 1, or 0 with verr naming the field:
 *   name             string, 1-200 characters
 *   allowed_models   null (every model) or an array of allowlist entries (cx_allowlist.h;
 *                    [] allows no model)
 *   rate_limit       null (unlimited) or requests per minute, 1-1000000
 *   pii_mode         "inherit" | "redact" | "off"
 *   swap_mode        "inherit" | "on" | "off" (cheaper-model swaps)
 *   region           null | "US" | "EU" | "APAC"
 *   spend_cap        null (none), an amount (monthly cap), or {"daily": a|null, "monthly": a|null}
 *                    with a = credits as a decimal string or number, at least 0
 *   scopes           array (or comma string) of inference, account:read, keys:write
 *   mode             "live" | "test" (create only) */
int cx_key_policy_parse(apr_pool_t *p, const json_t *body, const cx_catalog_t *cat, int create,
                        cx_key_policy_t *out, cx_verr_t *verr);

/* The JSON object of the given fields of a policy, as the API shows them (used for
 * keys and for the before/after of audit details). New reference. */
json_t *cx_key_policy_json(apr_pool_t *p, const cx_key_policy_t *pol, unsigned fields);

/* The API's key object: id, object, prefix, created/used/revoked times and the
 * whole policy. New reference. */
json_t *cx_api_key_json(apr_pool_t *p, const cx_api_key_t *key);

#endif
