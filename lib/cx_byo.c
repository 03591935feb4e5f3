#include "cx_byo.h"
#include "cx_json.h"

#include <apr_strings.h>
#include <apr_uri.h>
#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int cx_byo_valid_slug(const char *s)
{
    if (!s || !*s || strlen(s) > 64 || !isalnum((unsigned char)*s))
        return 0;
    for (; *s; s++)
        if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '-' && *s != '_')
            return 0;
    return 1;
}

int cx_byo_parse_id(apr_pool_t *p, const char *id, const char **slug, const char **model)
{
    if (!id || strncmp(id, "byo:", 4))
        return 0;
    const char *rest = id + 4;
    const char *slash = strchr(rest, '/');
    if (!slash || !slash[1])
        return 0;
    const char *s = apr_pstrmemdup(p, rest, (apr_size_t)(slash - rest));
    if (!cx_byo_valid_slug(s))
        return 0;
    *slug = s;
    *model = apr_pstrdup(p, slash + 1);
    return 1;
}

int cx_byo_serves(apr_pool_t *p, const cx_byo_t *b, const char *model)
{
    if (!b->models || !*b->models)
        return 1;
    json_t *arr = cx_json_own(p, json_loads(b->models, 0, NULL));
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return 1;
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
        if (json_is_string(v) && !strcmp(json_string_value(v), model))
            return 1;
    return 0;
}

static const char *const columns =
    "SELECT id, org_id, slug, base_url, credential, region, models, enabled FROM byo_endpoints ";

static void read_row(apr_pool_t *p, const char **row, cx_byo_t *b, int with_secret)
{
    b->id = strtoull(row[0], NULL, 10);
    b->org_id = strtoull(row[1], NULL, 10);
    b->slug = apr_pstrdup(p, row[2]);
    b->base_url = apr_pstrdup(p, row[3]);
    b->credential = with_secret && row[4] && *row[4] ? apr_pstrdup(p, row[4]) : NULL;
    b->region = apr_pstrdup(p, row[5]);
    b->models = row[6] ? apr_pstrdup(p, row[6]) : NULL;
    b->enabled = row[7] && atoi(row[7]) != 0;
}

int cx_byo_lookup(cx_db *db, apr_pool_t *p, uint64_t org_id, const char *slug, cx_byo_t *out)
{
    cx_rows_t rows;
    if (cx_db_query(db, p, apr_pstrcat(p, columns, "WHERE org_id = ? AND slug = ?", NULL), "us",
                    &rows, org_id, slug))
        return -1;
    if (rows.rows->nelts == 0)
        return 0;
    read_row(p, APR_ARRAY_IDX(rows.rows, 0, const char **), out, 1);
    return 1;
}

/* Binds a sealed credential to its row: copied into another row it does not open. */
static const char *credential_aad(apr_pool_t *p, uint64_t org_id, const char *slug)
{
    return apr_psprintf(p, "byo_endpoints:%" APR_UINT64_T_FMT ":%s", (apr_uint64_t)org_id, slug);
}

cx_seal_rc cx_byo_open_credential(apr_pool_t *p, const cx_seal_key_t *key, const cx_byo_t *b,
                                  const char **plain, const char **err)
{
    return cx_unseal(p, key, credential_aad(p, b->org_id, b->slug), b->credential, plain, err);
}

int cx_byo_reseal(cx_db *db, apr_pool_t *p, const cx_seal_key_t *key, int *count, const char **err)
{
    cx_rows_t rows;
    *count = 0;
    if (cx_db_query(db, p, "SELECT id, org_id, slug, credential FROM byo_endpoints "
                    "WHERE credential IS NOT NULL AND credential <> '' AND credential NOT LIKE 'v1:%' "
                    "ORDER BY id", "", &rows)) {
        *err = apr_pstrdup(p, cx_db_error(db));
        return -1;
    }
    for (int i = 0; i < rows.rows->nelts; i++) {
        const char **row = APR_ARRAY_IDX(rows.rows, i, const char **);
        const char *sealed = cx_seal(p, key, credential_aad(p, strtoull(row[1], NULL, 10), row[2]),
                                     row[3], err);
        if (!sealed)
            return -1;
        uint64_t affected = 0;
        /* Only if the row still holds what was read (no race with a change). */
        if (cx_db_exec(db, "UPDATE byo_endpoints SET credential = ? WHERE id = ? AND credential = ?",
                       &affected, NULL, "sus", sealed, strtoull(row[0], NULL, 10), row[3])) {
            *err = apr_pstrdup(p, cx_db_error(db));
            return -1;
        }
        *count += (int)affected;
    }
    return 0;
}

int cx_byo_add(cx_db *db, apr_pool_t *p, const cx_byo_t *b, const cx_seal_key_t *key, uint64_t *id,
               const char **err)
{
    if (!cx_byo_valid_slug(b->slug)) {
        *err = "the slug must be 1-64 characters of a-z, 0-9, - and _";
        return -1;
    }
    apr_uri_t uri;
    if (!b->base_url || apr_uri_parse(p, b->base_url, &uri) != APR_SUCCESS || !uri.scheme ||
        !uri.hostname || (strcasecmp(uri.scheme, "http") && strcasecmp(uri.scheme, "https"))) {
        *err = "the base URL must be an http(s) URL";
        return -1;
    }
    if (uri.user || uri.password) {
        *err = "put the credential in --credential-file or --credential-env, not in the URL";
        return -1;
    }
    const char *region = b->region ? b->region : "US";
    if (strcmp(region, "US") && strcmp(region, "EU") && strcmp(region, "APAC")) {
        *err = "the region must be US, EU or APAC";
        return -1;
    }
    if (b->models) {
        json_t *arr = cx_json_own(p, json_loads(b->models, 0, NULL));
        size_t i;
        json_t *v;
        int ok = json_is_array(arr);
        json_array_foreach(arr, i, v)
            ok = ok && json_is_string(v) && *json_string_value(v);
        if (!ok) {
            *err = "models must be a JSON array of model ids, e.g. [\"llama-3.1-8b\"]";
            return -1;
        }
    }
    const char *sealed = NULL;
    if (b->credential && *b->credential) {
        if (!key) {
            *err = "no secret key to encrypt the credential with (ConduixSecretKeyFile / "
                   "CONDUIX_SECRET_KEY_FILE)";
            return -1;
        }
        sealed = cx_seal(p, key, credential_aad(p, b->org_id, b->slug), b->credential, err);
        if (!sealed)
            return -1;
    }
    size_t n = strlen(b->base_url);
    const char *url = apr_pstrndup(p, b->base_url, b->base_url[n - 1] == '/' ? n - 1 : n);
    if (cx_db_exec(db, "INSERT INTO byo_endpoints (org_id, slug, base_url, credential, region, models) "
                       "VALUES (?, ?, ?, ?, ?, ?)", NULL, id, "ussss" "s",
                   b->org_id, b->slug, url, sealed, region, b->models)) {
        const char *dberr = cx_db_error(db);
        *err = strstr(dberr, "Duplicate") ? apr_psprintf(p, "the organization already has an endpoint '%s'", b->slug)
             : strstr(dberr, "foreign key") ? "no such organization"
             : apr_pstrdup(p, dberr);
        return -1;
    }
    return 0;
}

int cx_byo_list(cx_db *db, apr_pool_t *p, uint64_t org_id, apr_array_header_t **out,
                const char **err)
{
    cx_rows_t rows;
    if (cx_db_query(db, p, apr_pstrcat(p, columns, "WHERE org_id = ? ORDER BY slug", NULL), "u",
                    &rows, org_id)) {
        *err = apr_pstrdup(p, cx_db_error(db));
        return -1;
    }
    *out = apr_array_make(p, rows.rows->nelts, sizeof(cx_byo_t));
    for (int i = 0; i < rows.rows->nelts; i++)
        read_row(p, APR_ARRAY_IDX(rows.rows, i, const char **), apr_array_push(*out), 0);
    return 0;
}

int cx_byo_remove(cx_db *db, uint64_t org_id, const char *slug, const char **err)
{
    uint64_t affected = 0;
    if (cx_db_exec(db, "DELETE FROM byo_endpoints WHERE org_id = ? AND slug = ?", &affected, NULL,
                   "us", org_id, slug)) {
        *err = cx_db_error(db);
        return -1;
    }
    return affected ? 1 : 0;
}

void cx_byo_resolved(apr_pool_t *p, const cx_byo_t *b, const char *model, cx_resolved_t *out)
{
    cx_provider_t *prov = apr_pcalloc(p, sizeof *prov);
    prov->name = apr_pstrcat(p, "byo:", b->slug, NULL);
    prov->display_name = prov->name;
    prov->region = b->region;
    prov->api_format = CX_API_OPENAI;
    prov->base_url = b->base_url;
    prov->enabled = b->enabled;
    prov->byo = 1;
    prov->byo_credential = b->credential;

    cx_model_t *m = apr_pcalloc(p, sizeof *m);
    m->id = apr_pstrcat(p, prov->name, "/", model, NULL);
    m->display_name = m->id;
    m->provider = prov;
    m->tier = "byo";
    m->swap_band = "none";
    m->enabled = 1;
    m->deployments = apr_array_make(p, 1, sizeof(cx_deployment_t *));
    m->chain = apr_array_make(p, 1, sizeof(cx_deployment_t *));

    cx_deployment_t *d = apr_pcalloc(p, sizeof *d);
    d->model = m;
    d->provider = prov;
    d->upstream_model = apr_pstrdup(p, model);
    APR_ARRAY_PUSH(m->deployments, const cx_deployment_t *) = d;
    APR_ARRAY_PUSH(m->chain, const cx_deployment_t *) = d;
    out->model = m;
    out->pinned = NULL;
}
