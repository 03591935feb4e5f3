/* Conduix governance decisions that need no request_rec: organisation settings
 * (the settings table), how the org default, the key's override and a request
 * header combine, and region pinning of candidate deployments.
 *
 * Governance settings (settings table, one row per org and name; a missing row
 * means the default):
 *   pii_default      "on" | "off"              default off
 *   swaps_enabled    "on" | "off"              default off (swaps are opt-in)
 *   swap_never_from  JSON array of model ids   requests for these are never swapped
 *   swap_never_to    JSON array of model ids   these are never chosen as a swap
 *   spend_cap_daily    nanocredits (integer)   org spend per UTC day (cx_spendcap.h)
 *   spend_cap_monthly  nanocredits (integer)   org spend per UTC month
 * Model ids in the two lists may be any id or alias the catalog resolves. Caps are
 * typed in credits (cx_org_setting_validate) and stored in nanocredits. */
#ifndef CX_GOVERNANCE_H
#define CX_GOVERNANCE_H

#include <apr_pools.h>
#include <apr_tables.h>
#include "cx_catalog.h"

#define CX_SETTING_PII_DEFAULT "pii_default"
#define CX_SETTING_SWAPS_ENABLED "swaps_enabled"
#define CX_SETTING_SWAP_NEVER_FROM "swap_never_from"
#define CX_SETTING_SWAP_NEVER_TO "swap_never_to"
/* CX_SETTING_SPEND_CAP_DAILY, CX_SETTING_SPEND_CAP_MONTHLY: cx_spendcap.h */

typedef struct {
    int pii_default;                       /* 1 = redact by default */
    int swaps_enabled;
    apr_array_header_t *swap_never_from;   /* const char * */
    apr_array_header_t *swap_never_to;     /* const char * */
    int64_t spend_cap_daily_nano;          /* -1 = none */
    int64_t spend_cap_monthly_nano;
} cx_org_settings_t;

/* Defaults: everything off, empty lists (arrays allocated from p). */
void cx_org_settings_init(apr_pool_t *p, cx_org_settings_t *s);

/* Apply one stored row. Unknown names are ignored (other features keep their
 * settings in the same table). Returns NULL, or a message when the stored value is
 * malformed (the setting then keeps its default). */
const char *cx_org_settings_apply(apr_pool_t *p, cx_org_settings_t *s, const char *name,
                                  const char *value);

/* 1 when name is one of the governance settings above. */
int cx_org_setting_known(const char *name);

/* Validate a value before it is stored. *normalized (may be NULL) receives the
 * canonical text to store ("on"/"off", compact JSON). cat (may be NULL) is used to
 * check that listed model ids exist. Returns NULL when valid. */
const char *cx_org_setting_validate(apr_pool_t *p, const cx_catalog_t *cat, const char *name,
                                    const char *value, const char **normalized);

/* Per-request header values: -1 absent, 0 false, 1 true; -2 malformed. */
int cx_parse_bool_header(const char *value);

/* Should this request be redacted? header (-1 absent / 0 / 1) beats the key's
 * pii_mode ("redact" | "off" | "inherit"), which beats the org default. */
int cx_pii_decide(int header, const char *key_pii_mode, int org_default);

/* Are swaps on for this request? X-Gateway-Routing: explicit turns them off;
 * otherwise the key's swap_mode ("on" | "off" | "inherit") beats the org setting. */
int cx_swap_decide(int explicit_routing, const char *key_swap_mode, int org_enabled);

/* Key enum columns: 1 when the value is one the schema accepts. */
int cx_region_valid(const char *region);         /* US | EU | APAC */
int cx_pii_mode_valid(const char *mode);         /* inherit | redact | off */
int cx_swap_mode_valid(const char *mode);        /* inherit | on | off */

/* Governance fields of a key that operators (and later the keys API and the
 * dashboard) change; each change is audited with its before and after values. */
typedef enum {
    CX_KEY_FIELD_ALLOWED_MODELS = 0,   /* api_keys.allowed_models, JSON or NULL */
    CX_KEY_FIELD_RATE_LIMIT,           /* api_keys.rate_limit_rpm, integer or NULL */
    CX_KEY_FIELD_REGION,               /* api_keys.region, US|EU|APAC or NULL */
    CX_KEY_FIELD_PII_MODE,             /* api_keys.pii_mode */
    CX_KEY_FIELD_SWAP_MODE,            /* api_keys.swap_mode */
    CX_KEY_FIELD_SPEND_CAP_DAILY,      /* api_keys.spend_cap_daily_nano, credits in, nano stored */
    CX_KEY_FIELD_SPEND_CAP_MONTHLY,    /* api_keys.spend_cap_monthly_nano */
    CX_KEY_FIELD__COUNT
} cx_key_field_t;

/* "allowed_models", "rate_limit", "region", "pii_mode", "swap_mode",
 * "spend_cap_daily", "spend_cap_monthly". */
const char *cx_key_field_name(cx_key_field_t f);
int cx_key_field_parse(const char *name, cx_key_field_t *out);

/* Validate a new value and give the text to store (*normalized; NULL = SQL NULL,
 * from "null" / "none" on the fields that allow it). cat checks allowlist entries.
 * Spend caps are given in credits ("25", "2.50") and stored as nanocredits.
 * Returns NULL when valid, else a message. */
const char *cx_key_field_validate(apr_pool_t *p, const cx_catalog_t *cat, cx_key_field_t f,
                                  const char *value, const char **normalized);

/* The candidates (const cx_deployment_t *) served from region, in order; a NULL
 * region keeps them all. Fallbacks are candidates like any other, so a pinned key
 * never silently leaves its region. */
apr_array_header_t *cx_region_filter(apr_pool_t *p, const apr_array_header_t *candidates,
                                     const char *region);

/* Does a list of ids/aliases (swap_never_from / swap_never_to) name model m? */
int cx_model_listed(const cx_catalog_t *cat, const apr_array_header_t *ids, const cx_model_t *m);

#endif
