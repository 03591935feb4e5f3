/* conduix-admin: organization settings — daily and monthly spend caps, the PII
 * redaction default, cheaper-model swaps and their pinning rules, auto-reload. Values
 * live in the settings table where the gateway reads them: the governance settings
 * (pii_default, swaps_enabled, swap_never_from, swap_never_to) are validated by
 * cx_org_setting_validate, the others here (names in sql/050_dashboard.sql). Every
 * field is validated before anything is written; then each changed setting is stored
 * by cx_store_org_setting_set together with its "org.setting.update" audit row (before
 * and after), exactly as conduixctl org-set records it. */
#include "admin.h"
#include "cx_governance.h"
#include "cx_govstore.h"
#include "cx_json.h"
#include "cx_spendcap.h"

#include <apr_strings.h>
#include <stdlib.h>
#include <string.h>

typedef enum { T_CREDITS, T_ONOFF, T_MODELS } setting_type_t;

typedef struct {
    const char *name;     /* settings.name */
    const char *field;    /* form field and Settings.<field> in the template */
    setting_type_t type;
    const char *label;    /* for error messages */
} setting_def_t;

static const setting_def_t defs[] = {
    {CX_SETTING_SPEND_CAP_DAILY, "cap_daily", T_CREDITS, "Daily spend cap"},
    {CX_SETTING_SPEND_CAP_MONTHLY, "cap_monthly", T_CREDITS, "Monthly spend cap"},
    {CX_SETTING_PII_DEFAULT, "pii_default", T_ONOFF, "PII redaction"},
    {CX_SETTING_SWAPS_ENABLED, "swaps", T_ONOFF, "Cheaper-model swaps"},
    {CX_SETTING_SWAP_NEVER_FROM, "never_from", T_MODELS, "Never swap from"},
    {CX_SETTING_SWAP_NEVER_TO, "never_to", T_MODELS, "Never swap to"},
    {"auto_reload_enabled", "auto_reload", T_ONOFF, "Auto-reload"},
    {"auto_reload_threshold_nano", "reload_threshold", T_CREDITS, "Auto-reload threshold"},
    {"auto_reload_amount_nano", "reload_amount", T_CREDITS, "Auto-reload amount"},
};
#define NDEFS (sizeof defs / sizeof defs[0])

/* Stored value -> what the form shows. */
static const char *display_value(cxa_t *c, const setting_def_t *d, const char *stored)
{
    switch (d->type) {
    case T_CREDITS:
        return stored ? cxa_credits(c, stored) : "";
    case T_ONOFF:
        return (stored && !strcmp(stored, "on")) ? "on" : "off";
    case T_MODELS: {
        const char *err;
        json_t *arr = stored ? cx_json_parse(c->pool, stored, strlen(stored), &err) : NULL;
        const char *out = "";
        size_t i;
        json_t *v;
        if (arr && json_is_array(arr)) {
            json_array_foreach(arr, i, v) {
                if (json_is_string(v))
                    out = *out ? apr_pstrcat(c->pool, out, ", ", json_string_value(v), NULL)
                               : apr_pstrdup(c->pool, json_string_value(v));
            }
        }
        return out;
    }
    }
    return "";
}

/* Form value -> stored value (NULL = unset). Sets *error on bad input. */
static const char *stored_value(cxa_t *c, const setting_def_t *d, const char **error)
{
    const char *in = cxa_param(c, d->field), *value = NULL;
    switch (d->type) {
    case T_CREDITS: {
        cx_nano_t v;
        if (cxa_parse_credits_opt(in, &v)) {
            *error = apr_psprintf(c->pool, "%s: enter a credit amount such as 50 or 12.5, or "
                                  "leave it empty.", d->label);
            return NULL;
        }
        return v < 0 ? NULL : apr_psprintf(c->pool, "%" APR_INT64_T_FMT, (apr_int64_t)v);
    }
    case T_ONOFF:
        value = (in && !strcmp(in, "on")) ? "on" : "off";
        break;
    case T_MODELS: {
        /* "a, b" as typed -> the JSON array the gateway reads. */
        json_t *arr = cx_json_own(c->pool, json_array());
        char *copy = apr_pstrdup(c->pool, in ? in : ""), *save = NULL;
        for (char *tok = apr_strtok(copy, ", \n\r\t", &save); tok;
             tok = apr_strtok(NULL, ", \n\r\t", &save))
            json_array_append_new(arr, json_string(tok));
        if (json_array_size(arr) == 0)
            return NULL;
        value = cx_json_dump(c->pool, arr, NULL);
        break;
    }
    }
    if (!cx_org_setting_known(d->name))
        return value;                       /* auto_reload_enabled: on/off as above */
    const char *normalized = NULL;
    const char *why = cx_org_setting_validate(c->pool, cxa_catalog(c), d->name, value, &normalized);
    if (why) {
        *error = apr_psprintf(c->pool, "%s: %s.", d->label, why);
        return NULL;
    }
    return normalized;
}

/* What an absent setting means, for comparisons. */
static const char *effective(const setting_def_t *d, const char *stored)
{
    if (d->type == T_ONOFF && !stored)
        return "off";
    return stored;
}

static int same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static int load(cxa_t *c, const char *current[NDEFS])
{
    for (size_t i = 0; i < NDEFS; i++) {
        current[i] = NULL;
        if (cx_admin_setting_get(c->db, c->pool, c->user.org_id, defs[i].name, &current[i]) < 0)
            return -1;
    }
    return 0;
}

static int render(cxa_t *c, int status, const char *current[NDEFS], int from_form)
{
    for (size_t i = 0; i < NDEFS; i++) {
        const char *v = from_form ? cxa_param(c, defs[i].field)
                                  : display_value(c, &defs[i], current[i]);
        if (from_form && defs[i].type == T_ONOFF)
            v = (v && !strcmp(v, "on")) ? "on" : "off";
        cxa_set(c, apr_pstrcat(c->pool, "Settings.", defs[i].field, NULL), v);
    }
    return cxa_render(c, status, "settings.cs", "Settings");
}

int cxa_page_settings(cxa_t *c)
{
    const char *current[NDEFS];
    if (load(c, current))
        return -1;
    const char *done = cxa_param(c, "done");
    if (done && !strcmp(done, "saved"))
        cxa_flash(c, "ok", "Settings saved. The gateway applies them within seconds.");
    else if (done && !strcmp(done, "unchanged"))
        cxa_flash(c, "ok", "Nothing changed.");
    return render(c, 200, current, 0);
}

int cxa_page_settings_post(cxa_t *c)
{
    const char *current[NDEFS], *next[NDEFS];
    const char *error = NULL;
    if (load(c, current))
        return -1;
    for (size_t i = 0; i < NDEFS && !error; i++)
        next[i] = stored_value(c, &defs[i], &error);
    /* auto-reload needs both numbers; the monthly cap cannot be below the daily one. */
    if (!error && !strcmp(next[6], "on") && (!next[7] || !next[8] || strtoll(next[8], NULL, 10) <= 0))
        error = "Auto-reload needs a threshold and an amount above zero.";
    if (!error && next[0] && next[1] && strtoll(next[1], NULL, 10) < strtoll(next[0], NULL, 10))
        error = "The monthly cap cannot be lower than the daily cap.";
    if (error) {
        cxa_flash(c, "error", error);
        return render(c, 422, current, 1);
    }

    cx_actor_t actor = {.actor_type = "user", .actor_id = c->user.id, .actor_label = c->user.email,
                        .ip = c->ip, .request_id = c->request_id};
    int changed = 0;
    for (size_t i = 0; i < NDEFS; i++) {
        if (same(effective(&defs[i], current[i]), effective(&defs[i], next[i])))
            continue;
        cx_change_t change;
        const char *err;
        /* One transaction per setting with its audit row; every value was validated
         * above, so only a database failure can stop the loop half-way. */
        if (cx_store_org_setting_set(c->db, c->pool, c->user.org_id, defs[i].name, next[i], &actor,
                                     &change, &err) != 0)
            return -1;
        changed += change.changed;
    }
    return cxa_redirect(c, changed ? "/settings?done=saved" : "/settings?done=unchanged");
}
