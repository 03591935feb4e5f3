#include "cx_governance.h"
#include "cx_allowlist.h"
#include "cx_json.h"
#include "cx_spendcap.h"

#include <apr_strings.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void cx_org_settings_init(apr_pool_t *p, cx_org_settings_t *s)
{
    s->pii_default = 0;
    s->swaps_enabled = 0;
    s->swap_never_from = apr_array_make(p, 2, sizeof(const char *));
    s->swap_never_to = apr_array_make(p, 2, sizeof(const char *));
    s->spend_cap_daily_nano = CX_SPEND_CAP_NONE;
    s->spend_cap_monthly_nano = CX_SPEND_CAP_NONE;
}

static int is_cap_setting(const char *name)
{
    return !strcmp(name, CX_SETTING_SPEND_CAP_DAILY) || !strcmp(name, CX_SETTING_SPEND_CAP_MONTHLY);
}

int cx_org_setting_known(const char *name)
{
    return name && (!strcmp(name, CX_SETTING_PII_DEFAULT) || !strcmp(name, CX_SETTING_SWAPS_ENABLED) ||
                    !strcmp(name, CX_SETTING_SWAP_NEVER_FROM) || !strcmp(name, CX_SETTING_SWAP_NEVER_TO) ||
                    is_cap_setting(name));
}

static int parse_on_off(const char *v)
{
    if (!v)
        return -1;
    if (!strcasecmp(v, "on") || !strcasecmp(v, "true") || !strcmp(v, "1"))
        return 1;
    if (!strcasecmp(v, "off") || !strcasecmp(v, "false") || !strcmp(v, "0"))
        return 0;
    return -1;
}

/* A JSON array of non-empty strings into ids; NULL or the problem. */
static const char *parse_id_list(apr_pool_t *p, const char *value, apr_array_header_t *ids,
                                 const cx_catalog_t *cat)
{
    const char *perr;
    json_t *doc = value ? cx_json_parse(p, value, strlen(value), &perr) : NULL;
    if (!doc)
        return "must be a JSON array of model ids";
    if (!json_is_array(doc))
        return "must be a JSON array of model ids";
    for (size_t i = 0; i < json_array_size(doc); i++) {
        json_t *v = json_array_get(doc, i);
        if (!json_is_string(v) || !*json_string_value(v))
            return apr_psprintf(p, "entry %" APR_SIZE_T_FMT " must be a model id", (apr_size_t)i);
        cx_resolved_t res;
        if (cat && !cx_catalog_resolve(cat, json_string_value(v), &res))
            return apr_psprintf(p, "entry '%s' is not a model id or alias in the catalog",
                                json_string_value(v));
        APR_ARRAY_PUSH(ids, const char *) = apr_pstrdup(p, json_string_value(v));
    }
    return NULL;
}

const char *cx_org_settings_apply(apr_pool_t *p, cx_org_settings_t *s, const char *name,
                                  const char *value)
{
    if (!name)
        return NULL;
    if (!strcmp(name, CX_SETTING_PII_DEFAULT) || !strcmp(name, CX_SETTING_SWAPS_ENABLED)) {
        int v = parse_on_off(value);
        if (v < 0)
            return apr_psprintf(p, "setting %s has the value '%s'; expected on or off; "
                                "using the default", name, value ? value : "");
        if (!strcmp(name, CX_SETTING_PII_DEFAULT))
            s->pii_default = v;
        else
            s->swaps_enabled = v;
        return NULL;
    }
    if (is_cap_setting(name)) {
        int malformed;
        int64_t cap = cx_cap_parse_stored(value, &malformed);
        if (malformed)
            /* The cap is not lost silently: the org is refused until it is fixed. */
            cap = 0;
        if (!strcmp(name, CX_SETTING_SPEND_CAP_DAILY))
            s->spend_cap_daily_nano = cap;
        else
            s->spend_cap_monthly_nano = cap;
        return malformed ? apr_psprintf(p, "setting %s has the value '%s'; expected nanocredits; "
                                        "treated as a cap of 0 until it is fixed", name,
                                        value ? value : "")
                         : NULL;
    }
    apr_array_header_t *list = !strcmp(name, CX_SETTING_SWAP_NEVER_FROM) ? s->swap_never_from
                             : !strcmp(name, CX_SETTING_SWAP_NEVER_TO) ? s->swap_never_to : NULL;
    if (!list)
        return NULL;
    apr_array_header_t *ids = apr_array_make(p, 4, sizeof(const char *));
    const char *why = parse_id_list(p, value, ids, NULL);
    if (why)
        return apr_psprintf(p, "setting %s %s; using the default", name, why);
    apr_array_clear(list);
    apr_array_cat(list, ids);
    return NULL;
}

const char *cx_org_setting_validate(apr_pool_t *p, const cx_catalog_t *cat, const char *name,
                                    const char *value, const char **normalized)
{
    if (!cx_org_setting_known(name))
        return apr_psprintf(p, "unknown setting '%s' (pii_default, swaps_enabled, "
                            "swap_never_from, swap_never_to, spend_cap_daily, spend_cap_monthly)",
                            name ? name : "");
    if (!value)
        return "a value is required";
    if (!strcmp(name, CX_SETTING_PII_DEFAULT) || !strcmp(name, CX_SETTING_SWAPS_ENABLED)) {
        int v = parse_on_off(value);
        if (v < 0)
            return apr_psprintf(p, "%s must be on or off", name);
        if (normalized)
            *normalized = v ? "on" : "off";
        return NULL;
    }
    if (is_cap_setting(name)) {
        cx_nano_t cap;
        const char *why = cx_cap_parse_credits(p, value, &cap);
        if (why)
            return apr_psprintf(p, "%s: %s", name, why);
        if (cap == CX_SPEND_CAP_NONE)
            return apr_psprintf(p, "%s: use --reset to remove the cap", name);
        if (normalized)
            *normalized = apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)cap);
        return NULL;
    }
    apr_array_header_t *ids = apr_array_make(p, 4, sizeof(const char *));
    const char *why = parse_id_list(p, value, ids, cat);
    if (why)
        return apr_psprintf(p, "%s %s", name, why);
    if (normalized) {
        json_t *arr = cx_json_own(p, json_array());
        for (int i = 0; i < ids->nelts; i++)
            json_array_append_new(arr, json_string(APR_ARRAY_IDX(ids, i, const char *)));
        *normalized = cx_json_dump(p, arr, NULL);
    }
    return NULL;
}

int cx_parse_bool_header(const char *value)
{
    if (!value)
        return -1;
    while (*value == ' ' || *value == '\t')
        value++;
    apr_size_t n = strlen(value);
    while (n && (value[n - 1] == ' ' || value[n - 1] == '\t'))
        n--;
    if (n == 4 && !strncasecmp(value, "true", 4))
        return 1;
    if (n == 5 && !strncasecmp(value, "false", 5))
        return 0;
    return -2;
}

int cx_pii_decide(int header, const char *key_pii_mode, int org_default)
{
    if (header == 0 || header == 1)
        return header;
    if (key_pii_mode && !strcmp(key_pii_mode, "redact"))
        return 1;
    if (key_pii_mode && !strcmp(key_pii_mode, "off"))
        return 0;
    return org_default ? 1 : 0;
}

int cx_swap_decide(int explicit_routing, const char *key_swap_mode, int org_enabled)
{
    if (explicit_routing)
        return 0;
    if (key_swap_mode && !strcmp(key_swap_mode, "on"))
        return 1;
    if (key_swap_mode && !strcmp(key_swap_mode, "off"))
        return 0;
    return org_enabled ? 1 : 0;
}

int cx_region_valid(const char *region)
{
    return region && (!strcmp(region, "US") || !strcmp(region, "EU") || !strcmp(region, "APAC"));
}

int cx_pii_mode_valid(const char *mode)
{
    return mode && (!strcmp(mode, "inherit") || !strcmp(mode, "redact") || !strcmp(mode, "off"));
}

int cx_swap_mode_valid(const char *mode)
{
    return mode && (!strcmp(mode, "inherit") || !strcmp(mode, "on") || !strcmp(mode, "off"));
}

static const char *const key_field_names[CX_KEY_FIELD__COUNT] = {
    [CX_KEY_FIELD_ALLOWED_MODELS] = "allowed_models",
    [CX_KEY_FIELD_RATE_LIMIT] = "rate_limit",
    [CX_KEY_FIELD_REGION] = "region",
    [CX_KEY_FIELD_PII_MODE] = "pii_mode",
    [CX_KEY_FIELD_SWAP_MODE] = "swap_mode",
    [CX_KEY_FIELD_SPEND_CAP_DAILY] = "spend_cap_daily",
    [CX_KEY_FIELD_SPEND_CAP_MONTHLY] = "spend_cap_monthly",
};

const char *cx_key_field_name(cx_key_field_t f)
{
    return (unsigned)f < CX_KEY_FIELD__COUNT ? key_field_names[f] : "?";
}

int cx_key_field_parse(const char *name, cx_key_field_t *out)
{
    for (int f = 0; name && f < CX_KEY_FIELD__COUNT; f++)
        if (!strcmp(name, key_field_names[f])) {
            *out = (cx_key_field_t)f;
            return 1;
        }
    return 0;
}

#define CX_RATE_LIMIT_MAX 1000000

const char *cx_key_field_validate(apr_pool_t *p, const cx_catalog_t *cat, cx_key_field_t f,
                                  const char *value, const char **normalized)
{
    const char *dummy;
    if (!normalized)
        normalized = &dummy;
    *normalized = NULL;
    if (!value)
        return "a value is required";
    int clear = !strcasecmp(value, "null") || !strcasecmp(value, "none");
    switch (f) {
    case CX_KEY_FIELD_ALLOWED_MODELS: {
        if (clear)
            return NULL;   /* every model */
        const char *why = cx_allowlist_validate(p, value, cat);
        if (why)
            return why;
        const char *perr;
        json_t *doc = cx_json_parse(p, value, strlen(value), &perr);
        *normalized = doc ? cx_json_dump(p, doc, NULL) : value;
        return NULL;
    }
    case CX_KEY_FIELD_RATE_LIMIT: {
        if (clear)
            return NULL;   /* unlimited */
        char *end;
        long long n = strtoll(value, &end, 10);
        if (!*value || *end || n < 1 || n > CX_RATE_LIMIT_MAX)
            return apr_psprintf(p, "rate_limit must be a whole number of requests per minute "
                                "between 1 and %d, or none", CX_RATE_LIMIT_MAX);
        *normalized = apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)n);
        return NULL;
    }
    case CX_KEY_FIELD_REGION: {
        if (clear)
            return NULL;   /* any region */
        char *up = apr_pstrdup(p, value);
        for (char *c = up; *c; c++)
            if (*c >= 'a' && *c <= 'z')
                *c = (char)(*c - 32);
        if (!cx_region_valid(up))
            return "region must be US, EU, APAC or none";
        *normalized = up;
        return NULL;
    }
    case CX_KEY_FIELD_PII_MODE:
        if (!cx_pii_mode_valid(value))
            return "pii_mode must be inherit, redact or off";
        *normalized = value;
        return NULL;
    case CX_KEY_FIELD_SWAP_MODE:
        if (!cx_swap_mode_valid(value))
            return "swap_mode must be inherit, on or off";
        *normalized = value;
        return NULL;
    case CX_KEY_FIELD_SPEND_CAP_DAILY:
    case CX_KEY_FIELD_SPEND_CAP_MONTHLY: {
        cx_nano_t cap;
        const char *why = cx_cap_parse_credits(p, value, &cap);
        if (why)
            return apr_psprintf(p, "%s: %s", cx_key_field_name(f), why);
        if (cap != CX_SPEND_CAP_NONE)
            *normalized = apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)cap);
        return NULL;   /* none: no cap */
    }
    default:
        return "unknown key field";
    }
}

apr_array_header_t *cx_region_filter(apr_pool_t *p, const apr_array_header_t *candidates,
                                     const char *region)
{
    apr_array_header_t *out = apr_array_make(p, candidates->nelts + 1, sizeof(const cx_deployment_t *));
    for (int i = 0; i < candidates->nelts; i++) {
        const cx_deployment_t *d = APR_ARRAY_IDX(candidates, i, const cx_deployment_t *);
        if (!region || (d->provider->region && !strcmp(d->provider->region, region)))
            APR_ARRAY_PUSH(out, const cx_deployment_t *) = d;
    }
    return out;
}

int cx_model_listed(const cx_catalog_t *cat, const apr_array_header_t *ids, const cx_model_t *m)
{
    if (!ids || !m)
        return 0;
    for (int i = 0; i < ids->nelts; i++) {
        const char *id = APR_ARRAY_IDX(ids, i, const char *);
        if (!strcmp(id, m->id))
            return 1;
        cx_resolved_t res;
        if (cat && cx_catalog_resolve(cat, id, &res) && res.model == m)
            return 1;
    }
    return 0;
}
