/* conduix-admin: the model catalog (filters by provider and tier) and the
 * organization's BYO endpoints. Adding an endpoint applies the SSRF rules
 * (cx_urlguard: literal and resolved addresses must be public unless the operator set
 * byo_allow_private_addresses=on) and stores the credential either as a reference
 * (env:NAME, file:/path) or sealed with AES-256-GCM (cx_secretbox); it is never shown
 * back or written to the audit log. */
#include "admin.h"
#include "cx_json.h"
#include "cx_secretbox.h"
#include "cx_urlguard.h"

#include <apr_strings.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const char *const tiers[] = {"frontier", "premium", "mid", "budget"};

static const char *context_label(apr_pool_t *p, unsigned int n)
{
    if (n >= 1000000 && n % 1000000 == 0)
        return apr_psprintf(p, "%uM", n / 1000000);
    if (n >= 1000000)
        return apr_psprintf(p, "%.2gM", n / 1e6);
    if (n >= 1000)
        return apr_psprintf(p, "%uK", (n + 500) / 1000);
    return apr_psprintf(p, "%u", n);
}

static int load_byo(cxa_t *c)
{
    cx_table_t byo;
    if (cx_admin_byo_list(c->db, c->pool, c->user.org_id, &byo))
        return -1;
    cxa_set_table(c, "Byo", &byo);
    for (int i = 0; i < byo.rows->nelts; i++) {
        const char *models = cx_table_get(&byo, i, "models"), *err;
        json_t *arr = models ? cx_json_parse(c->pool, models, strlen(models), &err) : NULL;
        size_t k;
        json_t *v;
        if (arr && json_is_array(arr)) {
            json_array_foreach(arr, k, v) {
                if (json_is_string(v))
                    cxa_set(c, apr_psprintf(c->pool, "Byo.%d.model.%d", i, (int)k), json_string_value(v));
            }
        }
    }
    return 0;
}

static int render(cxa_t *c, int status)
{
    cx_catalog_t *cat = cxa_catalog(c);
    if (!cat)
        return -1;
    const char *want_provider = cxa_param(c, "provider");
    const char *want_tier = cxa_param(c, "tier");
    if (want_provider && !cx_catalog_provider(cat, want_provider)) {
        cxa_flash(c, "error", "Unknown provider filter; showing every provider.");
        want_provider = NULL;
    }
    int tier_ok = !want_tier;
    for (int i = 0; i < 4 && want_tier; i++)
        tier_ok |= !strcmp(want_tier, tiers[i]);
    if (!tier_ok) {
        cxa_flash(c, "error", "Unknown tier filter; showing every tier.");
        want_tier = NULL;
    }
    cxa_set(c, "Filter.provider", want_provider);
    cxa_set(c, "Filter.tier", want_tier);
    for (int i = 0; i < 4; i++)
        cxa_set(c, apr_psprintf(c->pool, "Tiers.%d", i), tiers[i]);

    /* Providers menu, sorted by name as the model list is. */
    int np = 0;
    for (int i = 0; i < cat->model_list->nelts; i++) {
        const cx_model_t *m = APR_ARRAY_IDX(cat->model_list, i, const cx_model_t *);
        int seen = 0;
        for (int k = 0; k < np && !seen; k++)
            seen = !strcmp(hdf_get_valuef(c->hdf, "ProviderList.%d.name", k), m->provider->name);
        if (!seen) {
            cxa_set(c, apr_psprintf(c->pool, "ProviderList.%d.name", np), m->provider->name);
            cxa_set(c, apr_psprintf(c->pool, "ProviderList.%d.label", np), m->provider->display_name);
            np++;
        }
    }

    int n = 0;
    for (int i = 0; i < cat->model_list->nelts; i++) {
        const cx_model_t *m = APR_ARRAY_IDX(cat->model_list, i, const cx_model_t *);
        if (!m->enabled || (want_provider && strcmp(m->provider->name, want_provider)) ||
            (want_tier && strcmp(m->tier, want_tier)))
            continue;
        const char *pfx = apr_psprintf(c->pool, "Models.%d.", n++);
#define SET(k, v) cxa_set(c, apr_pstrcat(c->pool, pfx, k, NULL), (v))
        SET("id", m->id);
        SET("name", m->display_name);
        SET("provider", m->provider->name);
        SET("provider_label", m->provider->display_name);
        SET("tier", m->tier);
        SET("swap_band", m->swap_band);
        SET("region", m->provider->region);
        SET("context", context_label(c->pool, m->context_window));
        SET("vision", m->vision ? "1" : "0");
        SET("input_price", cx_nano_format_short(c->pool, m->price.input_per_m));
        SET("output_price", cx_nano_format_short(c->pool, m->price.output_per_m));
        SET("deployments", apr_psprintf(c->pool, "%d", m->deployments ? m->deployments->nelts : 1));
#undef SET
    }
    cxa_set_int(c, "ModelCount", n);
    if (load_byo(c))
        return -1;
    return cxa_render(c, status, "models.cs", "Models");
}

int cxa_page_models(cxa_t *c)
{
    const char *done = cxa_param(c, "done");
    if (done && !strcmp(done, "byo-added"))
        cxa_flash(c, "ok", "BYO endpoint added. Call it as byo:<slug>/<model>.");
    else if (done && !strcmp(done, "byo-removed"))
        cxa_flash(c, "ok", "BYO endpoint removed.");
    return render(c, 200);
}

static int slug_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 32 || !isalnum((unsigned char)s[0]))
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
            return 0;
    return 1;
}

static int model_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 128)
        return 0;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || strchr("._:/-", *s)))
            return 0;
    return 1;
}

static int byo_fail(cxa_t *c, int status, const char *message)
{
    static const char *const fields[] = {"slug", "base_url", "region", "models"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        cxa_set(c, apr_pstrcat(c->pool, "ByoForm.", fields[i], NULL), cxa_param(c, fields[i]));
    cxa_flash(c, "error", message);
    return render(c, status);
}

/* Credential as stored: a reference kept as typed, a secret sealed; *kind for the audit. */
static const char *store_credential(cxa_t *c, const char *cred, const char *slug,
                                    const char **kind, const char **error)
{
    *kind = "none";
    if (!cred)
        return NULL;
    if (!strncmp(cred, "env:", 4)) {
        for (const char *s = cred + 4; *s; s++)
            if (!(isupper((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '_'))
                *error = "Credential: env: references name an environment variable (A-Z, 0-9, _).";
        if (!cred[4])
            *error = "Credential: env: needs a variable name.";
        *kind = "reference";
        return cred;
    }
    if (!strncmp(cred, "file:", 5)) {
        if (cred[5] != '/' || strstr(cred, ".."))
            *error = "Credential: file: references need an absolute path.";
        *kind = "reference";
        return cred;
    }
    if (strlen(cred) > 1024) {
        *error = "Credential: at most 1024 characters.";
        return NULL;
    }
    const char *keyfile = getenv("CONDUIX_SECRET_KEY_FILE");
    unsigned char key[CX_SECRETBOX_KEY_LEN];
    if (!keyfile || !*keyfile || cx_secretbox_read_key(c->pool, keyfile, key)) {
        *error = "Credential: this server has no encryption key for stored secrets; give a "
                 "reference instead (env:NAME or file:/path).";
        return NULL;
    }
    const char *sealed = cx_secretbox_seal(c->pool, key,
                                           cred, apr_psprintf(c->pool, "byo:%" APR_UINT64_T_FMT ":%s",
                                                              (apr_uint64_t)c->user.org_id, slug));
    memset(key, 0, sizeof key);
    if (!sealed)
        *error = "Credential: encryption failed.";
    *kind = "encrypted";
    return sealed;
}

int cxa_page_byo_add(cxa_t *c)
{
    const char *slug = cxa_param(c, "slug"), *url = cxa_param(c, "base_url");
    const char *region = cxa_param(c, "region"), *models_in = cxa_param(c, "models");
    const char *cred_in = cxa_param(c, "credential");
    if (!slug || !slug_ok(slug))
        return byo_fail(c, 422, "Slug: 1 to 32 characters, lowercase letters, digits and '-', "
                                "starting with a letter or digit.");
    if (!region || (strcmp(region, "US") && strcmp(region, "EU") && strcmp(region, "APAC")))
        return byo_fail(c, 422, "Region must be US, EU or APAC.");
    const char *allow = NULL;
    if (cx_admin_setting_get(c->db, c->pool, 0, "byo_allow_private_addresses", &allow) < 0)
        return -1;
    cx_urlguard_opts_t opts = {.allow_private = allow && !strcmp(allow, "on"), .resolve = 1};
    const char *why = cx_urlguard_check(c->pool, url, &opts, NULL);
    if (why)
        return byo_fail(c, 422, apr_psprintf(c->pool, "Base URL refused: %s.", why));

    json_t *models = cx_json_own(c->pool, json_array());
    char *copy = apr_pstrdup(c->pool, models_in ? models_in : ""), *save = NULL;
    for (char *tok = apr_strtok(copy, ", \r\n\t", &save); tok; tok = apr_strtok(NULL, ", \r\n\t", &save)) {
        if (!model_name_ok(tok))
            return byo_fail(c, 422, "Models: names of up to 128 characters (letters, digits, . _ : / -), "
                                    "separated by commas.");
        if (json_array_size(models) >= 50)
            return byo_fail(c, 422, "Models: at most 50 per endpoint.");
        json_array_append_new(models, json_string(tok));
    }
    if (json_array_size(models) == 0)
        return byo_fail(c, 422, "Models: name at least one model served by this endpoint.");

    const char *kind, *error = NULL;
    const char *cred = store_credential(c, cred_in, slug, &kind, &error);
    if (error)
        return byo_fail(c, 422, error);
    const char *models_json = cx_json_dump(c->pool, models, NULL);
    uint64_t id = 0;
    if (cx_db_begin(c->db))
        return -1;
    int rv = cx_admin_byo_add(c->db, c->user.org_id, slug, url, cred, region, models_json, &id);
    if (rv == 1) {
        cx_db_rollback(c->db);
        return byo_fail(c, 409, "An endpoint with this slug exists already.");
    }
    json_t *detail = cx_json_own(c->pool, json_pack("{s:s,s:s,s:s,s:O,s:s}", "slug", slug,
                                                    "base_url", url, "region", region,
                                                    "models", models, "credential", kind));
    if (rv || cxa_audit(c, "byo.add", apr_pstrcat(c->pool, "byo:", slug, NULL),
                        cx_json_dump(c->pool, detail, NULL)) ||
        cx_db_commit(c->db)) {
        cx_db_rollback(c->db);
        return -1;
    }
    return cxa_redirect(c, "/models?done=byo-added");
}

int cxa_page_byo_remove(cxa_t *c)
{
    uint64_t id = cxa_param_id(c, "id");
    const char *slug = NULL;
    if (cx_db_begin(c->db))
        return -1;
    int rv = id ? cx_admin_byo_remove(c->db, c->pool, c->user.org_id, id, &slug) : 0;
    if (rv == 0) {
        cx_db_rollback(c->db);
        return cxa_fail(c, 404, "There is no such BYO endpoint in your organization.");
    }
    if (rv < 0 || cxa_audit(c, "byo.remove", apr_pstrcat(c->pool, "byo:", slug, NULL),
                            apr_psprintf(c->pool, "{\"slug\":%s}", cx_json_quote(c->pool, slug))) ||
        cx_db_commit(c->db)) {
        cx_db_rollback(c->db);
        return -1;
    }
    return cxa_redirect(c, "/models?done=byo-removed");
}
