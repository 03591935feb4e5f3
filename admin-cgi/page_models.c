/* conduix-admin: the model catalog (filters by provider and tier) and the
 * organization's BYO endpoints. Adding one goes through the gateway's own code: the
 * SSRF guard the gateway applies before every BYO call (cx_ssrf_check_url: every
 * literal or resolved address must be public unless the platform setting
 * byo_allow_networks names its network, the dashboard's mirror of the
 * ConduixByoAllowNetworks directive) and cx_byo_add. The credential is stored sealed
 * (AES-256-GCM, lib/cx_seal.h, key from CONDUIX_SECRET_KEY_FILE) and is never shown
 * back, logged or audited. */
#include "admin.h"
#include "cx_byo.h"
#include "cx_json.h"
#include "cx_log.h"
#include "cx_ssrf.h"

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
    static const char *const fields[] = {"slug", "base_url", "region", "models"};   /* never the credential */
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        cxa_set(c, apr_pstrcat(c->pool, "ByoForm.", fields[i], NULL), cxa_param(c, fields[i]));
    cxa_flash(c, "error", message);
    return render(c, status);
}

/* The SSRF policy: nothing private allowed, except the networks an operator listed in
 * the platform setting byo_allow_networks (CIDRs separated by spaces or commas). */
static const cx_ssrf_policy_t *byo_policy(cxa_t *c)
{
    cx_ssrf_policy_t *pol = cx_ssrf_policy_create(c->pool);
    const char *nets = NULL;
    if (cx_admin_setting_get(c->db, c->pool, 0, "byo_allow_networks", &nets) == 1 && nets) {
        char *copy = apr_pstrdup(c->pool, nets), *save = NULL;
        for (char *n = apr_strtok(copy, ", \t\r\n", &save); n; n = apr_strtok(NULL, ", \t\r\n", &save))
            if (cx_ssrf_policy_allow(pol, n))
                cxa_flash(c, "error", "The platform setting byo_allow_networks has an invalid entry.");
    }
    return pol;
}

int cxa_page_byo_add(cxa_t *c)
{
    const char *slug = cxa_param(c, "slug"), *url = cxa_param(c, "base_url");
    const char *region = cxa_param(c, "region"), *models_in = cxa_param(c, "models");
    const char *credential = cxa_param(c, "credential");
    if (!slug || !cx_byo_valid_slug(slug))
        return byo_fail(c, 422, "Slug: 1 to 64 characters of a-z, 0-9, '-' and '_', starting with "
                                "a letter or digit.");
    if (!region || (strcmp(region, "US") && strcmp(region, "EU") && strcmp(region, "APAC")))
        return byo_fail(c, 422, "Region must be US, EU or APAC.");
    const char *resolve = NULL;
    const char *why = url ? cx_ssrf_check_url(c->pool, byo_policy(c), url, &resolve)
                          : "a base URL is required";
    if (why)
        return byo_fail(c, 422, apr_psprintf(c->pool, "Base URL refused: %s.", why));
    if (credential && strlen(credential) > 4096)
        return byo_fail(c, 422, "Credential: at most 4096 characters.");

    /* Models: "a, b" -> JSON array; none = any model id the client names. */
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

    cx_byo_t existing;
    int rv = cx_byo_lookup(c->db, c->pool, c->user.org_id, slug, &existing);
    if (rv < 0)
        return -1;
    if (rv == 1)
        return byo_fail(c, 409, "An endpoint with this slug exists already.");
    cx_byo_t b = {.org_id = c->user.org_id, .slug = slug, .base_url = url, .credential = credential,
                  .region = region,
                  .models = json_array_size(models) ? cx_json_dump(c->pool, models, NULL) : NULL};
    json_t *detail = cx_json_own(c->pool, json_pack("{s:s,s:s,s:s,s:O,s:b}", "slug", slug,
                                                    "base_url", url, "region", region, "models", models,
                                                    "credential", credential != NULL));
    uint64_t id = 0;
    const char *err;
    if (cx_db_begin(c->db))
        return -1;
    /* The credential is stored sealed with the gateway's key (CONDUIX_SECRET_KEY_FILE,
     * set by SetEnv; the same file as ConduixSecretKeyFile). */
    cx_seal_key_t *key = NULL;
    const char *key_path = getenv("CONDUIX_SECRET_KEY_FILE");
    if (credential && *credential && (!key_path || !*key_path || cx_seal_key_load(c->pool, key_path, &key, &err))) {
        cx_log(CX_LOG_ERR, c->request_id, "CXA0310", "BYO credential cannot be sealed: %s",
               key_path && *key_path ? err : "CONDUIX_SECRET_KEY_FILE is not set");
        cx_db_rollback(c->db);
        return byo_fail(c, 503, "The endpoint was not added: the dashboard has no key to encrypt its "
                                "credential with. Ask the operator to configure CONDUIX_SECRET_KEY_FILE.");
    }
    if (cx_byo_add(c->db, c->pool, &b, key, &id, &err)) {
        cx_db_rollback(c->db);
        return byo_fail(c, 422, apr_psprintf(c->pool, "The endpoint was not added: %s.", err));
    }
    if (cxa_audit(c, "byo.add", apr_pstrcat(c->pool, "byo:", slug, NULL),
                  cx_json_dump(c->pool, detail, NULL)) ||
        cx_db_commit(c->db)) {
        cx_db_rollback(c->db);
        return -1;
    }
    return cxa_redirect(c, "/models?done=byo-added");
}

int cxa_page_byo_remove(cxa_t *c)
{
    const char *slug = cxa_param(c, "slug"), *err;
    if (!slug || !cx_byo_valid_slug(slug))
        return cxa_fail(c, 404, "There is no such BYO endpoint in your organization.");
    if (cx_db_begin(c->db))
        return -1;
    int rv = cx_byo_remove(c->db, c->user.org_id, slug, &err);
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
