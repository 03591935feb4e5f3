/* conduix-admin: organization settings — daily and monthly spend caps, the PII
 * redaction default, cheaper-model swaps and their pinning rules, auto-reload. Values
 * live in the settings table (names in sql/050_dashboard.sql) where the gateway reads
 * them. A save writes only what changed, in one transaction with one audit row that
 * lists every change with its before and after value. */
#include "admin.h"
#include "cx_json.h"

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
    {"spend_cap_daily_nano", "cap_daily", T_CREDITS, "Daily spend cap"},
    {"spend_cap_monthly_nano", "cap_monthly", T_CREDITS, "Monthly spend cap"},
    {"pii_redact_default", "pii_default", T_ONOFF, "PII redaction"},
    {"swaps_enabled", "swaps", T_ONOFF, "Cheaper-model swaps"},
    {"swap_never_from", "never_from", T_MODELS, "Never swap from"},
    {"swap_never_to", "never_to", T_MODELS, "Never swap to"},
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
    const char *in = cxa_param(c, d->field);
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
        return (in && !strcmp(in, "on")) ? "on" : "off";
    case T_MODELS: {
        if (!in)
            return NULL;
        cx_catalog_t *cat = cxa_catalog(c);
        json_t *arr = cx_json_own(c->pool, json_array());
        char *copy = apr_pstrdup(c->pool, in), *save = NULL;
        for (char *tok = apr_strtok(copy, ", \n\r\t", &save); tok;
             tok = apr_strtok(NULL, ", \n\r\t", &save)) {
            cx_resolved_t res;
            if (!cat || strlen(tok) > 200 || !cx_catalog_resolve(cat, tok, &res)) {
                *error = apr_psprintf(c->pool, "%s: \"%s\" is not a model of the catalog.",
                                      d->label, tok);
                return NULL;
            }
            /* Store canonical ids so that aliases of one model cannot dodge a pin. */
            int dup = 0;
            for (size_t i = 0; i < json_array_size(arr); i++)
                dup |= !strcmp(json_string_value(json_array_get(arr, i)), res.model->id);
            if (!dup)
                json_array_append_new(arr, json_string(res.model->id));
        }
        return json_array_size(arr) ? cx_json_dump(c->pool, arr, NULL) : NULL;
    }
    }
    return NULL;
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

    json_t *changes = cx_json_own(c->pool, json_object());
    for (size_t i = 0; i < NDEFS; i++) {
        if (same(effective(&defs[i], current[i]), effective(&defs[i], next[i])))
            continue;
        json_t *ch = json_object();
        const char *b = display_value(c, &defs[i], current[i]), *a = display_value(c, &defs[i], next[i]);
        json_object_set_new(ch, "before", *b ? json_string(b) : json_null());
        json_object_set_new(ch, "after", *a ? json_string(a) : json_null());
        json_object_set_new(changes, defs[i].name, ch);
    }
    if (json_object_size(changes) == 0)
        return cxa_redirect(c, "/settings?done=unchanged");

    if (cx_db_begin(c->db))
        return -1;
    for (size_t i = 0; i < NDEFS; i++) {
        if (!json_object_get(changes, defs[i].name))
            continue;
        if (cx_admin_setting_put(c->db, c->user.org_id, defs[i].name, next[i]))
            goto fail;
    }
    json_t *detail = cx_json_own(c->pool, json_pack("{s:O}", "changes", changes));
    if (cxa_audit(c, "settings.update", apr_psprintf(c->pool, "org:%" APR_UINT64_T_FMT,
                                                    (apr_uint64_t)c->user.org_id),
                  cx_json_dump(c->pool, detail, NULL)) ||
        cx_db_commit(c->db))
        goto fail;
    return cxa_redirect(c, "/settings?done=saved");
fail:
    cx_db_rollback(c->db);
    return -1;
}
