#include "cx_key_policy.h"
#include "cx_allowlist.h"
#include "cx_json.h"
#include "cx_price.h"
#include "cx_scopes.h"

#include <apr_strings.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define NAME_MAX_CHARS 200
#define RATE_LIMIT_MAX 1000000
#define ALLOWLIST_MAX_ENTRIES 200
/* A cap above a billion credits is a typo, not a budget. */
#define SPEND_CAP_MAX_NANO (1000000000LL * CX_NANO_PER_CREDIT)

void cx_key_policy_defaults(cx_key_policy_t *pol)
{
    memset(pol, 0, sizeof *pol);
    pol->scopes = "inference";
    pol->rate_limit_rpm = -1;
    pol->pii_mode = "inherit";
    pol->swap_mode = "inherit";
    pol->spend_cap_daily_nano = -1;
    pol->spend_cap_monthly_nano = -1;
    pol->mode = CX_KEY_LIVE;
}

static int fail(cx_verr_t *verr, const char *param, const char *message)
{
    verr->param = param;
    verr->message = message;
    return 0;
}

/* UTF-8 characters in s (the byte length bounds nothing a user sees). */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static int parse_name(apr_pool_t *p, const json_t *v, cx_key_policy_t *out, cx_verr_t *verr)
{
    if (!json_is_string(v))
        return fail(verr, "name", "name must be a string.");
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (len == 0 || strlen(s) != len)
        return fail(verr, "name", "name must not be empty (and must not contain NUL).");
    if (utf8_chars(s) > NAME_MAX_CHARS)
        return fail(verr, "name", "name must be at most 200 characters.");
    for (const unsigned char *c = (const unsigned char *)s; *c; c++)
        if (*c < 0x20 || *c == 0x7f)
            return fail(verr, "name", "name must not contain control characters.");
    out->name = apr_pstrdup(p, s);
    return 1;
}

static int parse_allowed(apr_pool_t *p, const json_t *v, const cx_catalog_t *cat,
                         cx_key_policy_t *out, cx_verr_t *verr)
{
    if (json_is_null(v)) {
        out->allowed_models = NULL;
        return 1;
    }
    if (!json_is_array(v))
        return fail(verr, "allowed_models", "allowed_models must be an array of model ids "
                                            "(or null to allow every model).");
    if (json_array_size(v) > ALLOWLIST_MAX_ENTRIES)
        return fail(verr, "allowed_models", "allowed_models holds at most 200 entries.");
    json_t *clean = cx_json_own(p, json_array());
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
        const char *param = apr_psprintf(p, "allowed_models[%" APR_SIZE_T_FMT "]", i);
        if (!json_is_string(e))
            return fail(verr, param, apr_psprintf(p, "%s must be a string.", param));
        /* One entry at a time, so the error can name its index. The rules are the
         * gateway's own (cx_allowlist_validate), so what is accepted here is what
         * the request path enforces. */
        const char *why = cx_allowlist_validate(p, cx_json_dump(p, cx_json_own(p, json_pack("[O]", e)), NULL),
                                                cat);
        if (why)
            return fail(verr, param, apr_psprintf(p, "%s: %s", param, why));
        int dup = 0;
        size_t j;
        json_t *seen;
        json_array_foreach(clean, j, seen) {
            dup |= !strcmp(json_string_value(seen), json_string_value(e));
        }
        if (!dup)
            json_array_append_new(clean, json_string(json_string_value(e)));
    }
    out->allowed_models = cx_json_dump(p, clean, NULL);
    return 1;
}

static int parse_rate(const json_t *v, cx_key_policy_t *out, cx_verr_t *verr)
{
    if (json_is_null(v)) {
        out->rate_limit_rpm = -1;
        return 1;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > RATE_LIMIT_MAX)
        return fail(verr, "rate_limit", "rate_limit must be a whole number of requests per minute "
                                        "from 1 to 1000000, or null for no limit.");
    out->rate_limit_rpm = json_integer_value(v);
    return 1;
}

static int parse_pii(const json_t *v, cx_key_policy_t *out, cx_verr_t *verr)
{
    const char *s = json_string_value(v);
    if (!s || (strcmp(s, "inherit") && strcmp(s, "redact") && strcmp(s, "off")))
        return fail(verr, "pii_mode", "pii_mode must be \"inherit\" (the organization's default), "
                                      "\"redact\" or \"off\".");
    out->pii_mode = !strcmp(s, "inherit") ? "inherit" : !strcmp(s, "redact") ? "redact" : "off";
    return 1;
}

static int parse_swap(const json_t *v, cx_key_policy_t *out, cx_verr_t *verr)
{
    const char *s = json_string_value(v);
    if (!s || (strcmp(s, "inherit") && strcmp(s, "on") && strcmp(s, "off")))
        return fail(verr, "swap_mode", "swap_mode must be \"inherit\" (the organization's setting), "
                                       "\"on\" or \"off\".");
    out->swap_mode = !strcmp(s, "inherit") ? "inherit" : !strcmp(s, "on") ? "on" : "off";
    return 1;
}

static int parse_region(const json_t *v, cx_key_policy_t *out, cx_verr_t *verr)
{
    if (json_is_null(v)) {
        out->region = NULL;
        return 1;
    }
    const char *s = json_string_value(v);
    if (!s || (strcmp(s, "US") && strcmp(s, "EU") && strcmp(s, "APAC")))
        return fail(verr, "region", "region must be \"US\", \"EU\", \"APAC\" or null (any region).");
    out->region = !strcmp(s, "US") ? "US" : !strcmp(s, "EU") ? "EU" : "APAC";
    return 1;
}

/* A credit amount: decimal string ("12.50") or JSON number; -1 for null. */
static int parse_amount(apr_pool_t *p, const json_t *v, const char *param, int64_t *out,
                        cx_verr_t *verr)
{
    cx_nano_t nano;
    if (json_is_null(v)) {
        *out = -1;
        return 1;
    }
    const char *text = NULL;
    if (json_is_string(v))
        text = json_string_value(v);
    else if (json_is_integer(v))
        text = apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)json_integer_value(v));
    else if (json_is_real(v) && isfinite(json_real_value(v)) && fabs(json_real_value(v)) < 1e15)
        /* JSON numbers are binary floats: take the nearest nanocredit. */
        text = apr_psprintf(p, "%.9f", json_real_value(v));
    if (!text || cx_nano_parse(text, &nano) || nano < 0 || nano > SPEND_CAP_MAX_NANO)
        return fail(verr, param, apr_psprintf(p, "%s must be an amount of credits of at least 0 "
                                              "(e.g. \"25.00\"), or null for no cap.", param));
    *out = nano;
    return 1;
}

static int parse_spend_cap(apr_pool_t *p, const json_t *v, cx_key_policy_t *out, cx_verr_t *verr)
{
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x) {
            if (strcmp(k, "daily") && strcmp(k, "monthly"))
                return fail(verr, apr_pstrcat(p, "spend_cap.", k, NULL),
                            apr_psprintf(p, "spend_cap has no field '%s' (use daily and monthly).", k));
        }
        json_t *d = json_object_get(v, "daily"), *m = json_object_get(v, "monthly");
        if (d) {
            if (!parse_amount(p, d, "spend_cap.daily", &out->spend_cap_daily_nano, verr))
                return 0;
            out->set |= CX_KP_SPEND_CAP_DAILY;
        }
        if (m) {
            if (!parse_amount(p, m, "spend_cap.monthly", &out->spend_cap_monthly_nano, verr))
                return 0;
            out->set |= CX_KP_SPEND_CAP_MONTHLY;
        }
        return 1;
    }
    if (json_is_null(v)) {
        out->spend_cap_daily_nano = out->spend_cap_monthly_nano = -1;
        out->set |= CX_KP_SPEND_CAP_DAILY | CX_KP_SPEND_CAP_MONTHLY;
        return 1;
    }
    /* One amount: a monthly cap (the budget period people mean by "a cap"). */
    if (!parse_amount(p, v, "spend_cap", &out->spend_cap_monthly_nano, verr))
        return 0;
    out->set |= CX_KP_SPEND_CAP_MONTHLY;
    return 1;
}

static int parse_scopes(apr_pool_t *p, const json_t *v, cx_key_policy_t *out, cx_verr_t *verr)
{
    const char *list = NULL;
    if (json_is_string(v)) {
        list = json_string_value(v);
    }
    else if (json_is_array(v)) {
        size_t i;
        json_t *e;
        list = "";
        json_array_foreach(v, i, e) {
            if (!json_is_string(e))
                return fail(verr, "scopes", "scopes must be an array of scope names.");
            const char *s = json_string_value(e);
            if (strchr(s, ',') || !cx_scope_known(s))
                return fail(verr, "scopes", apr_psprintf(p, "scopes: '%s' is not a scope (inference, "
                                                        "account:read, keys:write).", s));
            list = apr_pstrcat(p, list, ",", s, NULL);
        }
    }
    else {
        return fail(verr, "scopes", "scopes must be an array such as [\"inference\", \"account:read\"].");
    }
    const char *bad;
    const char *norm = cx_scopes_normalize(p, list, &bad);
    if (!norm)
        return fail(verr, "scopes", *bad ? apr_psprintf(p, "scopes: '%s' is not a scope (inference, "
                                                        "account:read, keys:write).", bad)
                                         : "scopes must name at least one scope.");
    out->scopes = norm;
    return 1;
}

int cx_key_policy_parse(apr_pool_t *p, const json_t *body, const cx_catalog_t *cat, int create,
                        cx_key_policy_t *out, cx_verr_t *verr)
{
    verr->param = NULL;
    verr->message = NULL;
    out->set = 0;
    if (!json_is_object(body))
        return fail(verr, NULL, "The request body must be a JSON object.");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)body, k, v) {
        int ok = 1;
        if (!strcmp(k, "name")) {
            ok = parse_name(p, v, out, verr);
            out->set |= CX_KP_NAME;
        }
        else if (!strcmp(k, "allowed_models")) {
            ok = parse_allowed(p, v, cat, out, verr);
            out->set |= CX_KP_ALLOWED_MODELS;
        }
        else if (!strcmp(k, "rate_limit")) {
            ok = parse_rate(v, out, verr);
            out->set |= CX_KP_RATE_LIMIT;
        }
        else if (!strcmp(k, "pii_mode")) {
            ok = parse_pii(v, out, verr);
            out->set |= CX_KP_PII_MODE;
        }
        else if (!strcmp(k, "swap_mode")) {
            ok = parse_swap(v, out, verr);
            out->set |= CX_KP_SWAP_MODE;
        }
        else if (!strcmp(k, "region")) {
            ok = parse_region(v, out, verr);
            out->set |= CX_KP_REGION;
        }
        else if (!strcmp(k, "spend_cap")) {
            ok = parse_spend_cap(p, v, out, verr);
        }
        else if (!strcmp(k, "scopes")) {
            ok = parse_scopes(p, v, out, verr);
            out->set |= CX_KP_SCOPES;
        }
        else if (!strcmp(k, "mode")) {
            const char *s = json_string_value(v);
            if (!create)
                return fail(verr, "mode", "mode cannot be changed: mint a new key instead.");
            if (!s || (strcmp(s, "live") && strcmp(s, "test")))
                return fail(verr, "mode", "mode must be \"live\" or \"test\".");
            out->mode = !strcmp(s, "test") ? CX_KEY_TEST : CX_KEY_LIVE;
            out->set |= CX_KP_MODE;
        }
        else {
            return fail(verr, apr_pstrdup(p, k),
                        apr_psprintf(p, "Unknown field '%s'. Keys have name, allowed_models, "
                                        "rate_limit, pii_mode, swap_mode, region, spend_cap, scopes%s.",
                                     k, create ? " and mode" : ""));
        }
        if (!ok)
            return 0;
    }
    if (create && !(out->set & CX_KP_NAME))
        return fail(verr, "name", "name is required: give the key a name you will recognise.");
    if (!create && !(out->set & CX_KP_EDITABLE))
        return fail(verr, NULL, "Nothing to change: send at least one of name, allowed_models, "
                                "rate_limit, pii_mode, swap_mode, region, spend_cap, scopes.");
    return 1;
}

static json_t *amount_json(apr_pool_t *p, int64_t nano)
{
    return nano < 0 ? json_null() : json_string(cx_nano_format(p, nano));
}

json_t *cx_key_policy_json(apr_pool_t *p, const cx_key_policy_t *pol, unsigned fields)
{
    json_t *o = json_object();
    if (fields & CX_KP_NAME)
        json_object_set_new(o, "name", json_string(pol->name ? pol->name : ""));
    if (fields & CX_KP_MODE)
        json_object_set_new(o, "mode", json_string(pol->mode == CX_KEY_TEST ? "test" : "live"));
    if (fields & CX_KP_SCOPES) {
        json_t *a = json_array();
        const char *s = pol->scopes ? pol->scopes : "";
        while (*s) {
            const char *c = strchr(s, ',');
            size_t n = c ? (size_t)(c - s) : strlen(s);
            if (n)
                json_array_append_new(a, json_stringn(s, n));
            s += n + (c ? 1 : 0);
        }
        json_object_set_new(o, "scopes", a);
    }
    if (fields & CX_KP_ALLOWED_MODELS) {
        json_t *a = NULL;
        if (pol->allowed_models) {
            json_error_t jerr;
            a = json_loads(pol->allowed_models, 0, &jerr);
        }
        json_object_set_new(o, "allowed_models", a ? a : json_null());
    }
    if (fields & CX_KP_RATE_LIMIT)
        json_object_set_new(o, "rate_limit", pol->rate_limit_rpm < 0 ? json_null()
                                                                    : json_integer(pol->rate_limit_rpm));
    if (fields & CX_KP_PII_MODE)
        json_object_set_new(o, "pii_mode", json_string(pol->pii_mode ? pol->pii_mode : "inherit"));
    if (fields & CX_KP_SWAP_MODE)
        json_object_set_new(o, "swap_mode", json_string(pol->swap_mode ? pol->swap_mode : "inherit"));
    if (fields & CX_KP_REGION)
        json_object_set_new(o, "region", pol->region ? json_string(pol->region) : json_null());
    if (fields & (CX_KP_SPEND_CAP_DAILY | CX_KP_SPEND_CAP_MONTHLY)) {
        json_t *cap = json_object();
        json_object_set_new(cap, "daily", amount_json(p, pol->spend_cap_daily_nano));
        json_object_set_new(cap, "monthly", amount_json(p, pol->spend_cap_monthly_nano));
        json_object_set_new(o, "spend_cap", cap);
    }
    return o;
}

json_t *cx_api_key_json(apr_pool_t *p, const cx_api_key_t *key)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer((json_int_t)key->id));
    json_object_set_new(o, "object", json_string("api_key"));
    json_object_set_new(o, "prefix", json_string(key->prefix ? key->prefix : ""));
    json_t *pol = cx_key_policy_json(p, &key->policy, CX_KP_EDITABLE | CX_KP_MODE);
    json_object_update(o, pol);
    json_decref(pol);
    json_object_set_new(o, "created_at", key->created_at ? json_string(key->created_at) : json_null());
    json_object_set_new(o, "last_used_at", key->last_used_at ? json_string(key->last_used_at) : json_null());
    json_object_set_new(o, "revoked_at", key->revoked_at ? json_string(key->revoked_at) : json_null());
    json_object_set_new(o, "revoked", json_boolean(key->revoked_at != NULL));
    return o;
}
