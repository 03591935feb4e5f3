/* conduix-admin: API keys — list, mint (the secret is shown exactly once, in the
 * response to the POST, and never stored), edit policies, revoke. Governance fields
 * (allowlist, rate limit, region, PII and swap modes) are validated by
 * cx_key_field_validate and changed through cx_store_key_set, like conduixctl key-set;
 * every change is one transaction with its audit row (before and after values).
 * Members may mint keys and manage the keys they minted; admins and owners manage every
 * key of the organization and alone may grant keys:write. */
#include "admin.h"
#include "cx_governance.h"
#include "cx_govstore.h"
#include "cx_json.h"
#include "cx_log.h"

#include <apr_strings.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ALLOWED 64

static const char *const scope_names[] = {"inference", "account:read", "keys:write"};

typedef struct {
    cx_admin_key_policy_t pol;
    cx_key_mode_t mode;
    const char *error;
} key_form_t;

/* "a, b" as typed -> JSON array text; NULL when empty (every model). */
static const char *allowlist_json(cxa_t *c, const char *text)
{
    if (!text)
        return NULL;
    if (text[0] == '[')
        return text;                      /* already JSON */
    json_t *arr = cx_json_own(c->pool, json_array());
    char *copy = apr_pstrdup(c->pool, text), *save = NULL;
    for (char *tok = apr_strtok(copy, ", \n\r\t", &save); tok; tok = apr_strtok(NULL, ", \n\r\t", &save))
        json_array_append_new(arr, json_string(tok));
    return json_array_size(arr) ? cx_json_dump(c->pool, arr, NULL) : NULL;
}

/* A governance field through the gateway's own validator; "" means none. */
static int validate_field(cxa_t *c, cx_key_field_t f, const char *label, const char *in,
                          const char **out, const char **error)
{
    const char *why = cx_key_field_validate(c->pool, cxa_catalog(c), f, in ? in : "none", out);
    if (why) {
        *error = apr_psprintf(c->pool, "%s: %s.", label, why);
        return -1;
    }
    return 0;
}

/* JSON array text -> "a, b" for display and the edit form. */
static const char *allowlist_display(cxa_t *c, const char *json)
{
    if (!json)
        return NULL;
    const char *err;
    json_t *arr = cx_json_parse(c->pool, json, strlen(json), &err);
    if (!arr || !json_is_array(arr))
        return json;
    const char *out = NULL;
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        if (json_is_string(v))
            out = out ? apr_pstrcat(c->pool, out, ", ", json_string_value(v), NULL)
                      : apr_pstrdup(c->pool, json_string_value(v));
    }
    return out;
}

static int parse_form(cxa_t *c, key_form_t *f)
{
    memset(f, 0, sizeof *f);
    f->pol.name = cxa_param(c, "name");
    if (!f->pol.name || strlen(f->pol.name) > 200) {
        f->error = "Give the key a name (up to 200 characters).";
        return -1;
    }
    const char *mode = cxa_param(c, "mode");
    f->mode = (mode && !strcmp(mode, "test")) ? CX_KEY_TEST : CX_KEY_LIVE;

    apr_array_header_t *scopes = cxa_param_all(c, "scopes");
    const char *joined = NULL;
    for (size_t s = 0; s < sizeof scope_names / sizeof scope_names[0]; s++) {
        for (int i = 0; i < scopes->nelts; i++) {
            if (!strcmp(APR_ARRAY_IDX(scopes, i, const char *), scope_names[s])) {
                joined = joined ? apr_pstrcat(c->pool, joined, ",", scope_names[s], NULL)
                                : scope_names[s];
                break;
            }
        }
    }
    for (int i = 0; i < scopes->nelts; i++) {
        const char *s = APR_ARRAY_IDX(scopes, i, const char *);
        if (strcmp(s, "inference") && strcmp(s, "account:read") && strcmp(s, "keys:write")) {
            f->error = "Unknown scope.";
            return -1;
        }
    }
    f->pol.scopes = joined ? joined : "inference";
    if (strstr(f->pol.scopes, "keys:write") && c->user.role < CX_ROLE_ADMIN) {
        f->error = "Only admins and owners can grant the keys:write scope.";
        return -1;
    }

    const char *allowed = allowlist_json(c, cxa_param(c, "allowed_models"));
    const char *rate = NULL;
    if (validate_field(c, CX_KEY_FIELD_ALLOWED_MODELS, "Allowed models", allowed,
                       &f->pol.allowed_models, &f->error) ||
        validate_field(c, CX_KEY_FIELD_RATE_LIMIT, "Rate limit", cxa_param(c, "rate_limit"), &rate,
                       &f->error) ||
        validate_field(c, CX_KEY_FIELD_REGION, "Region", cxa_param(c, "region"), &f->pol.region,
                       &f->error))
        return -1;
    f->pol.rate_limit_rpm = rate ? strtoll(rate, NULL, 10) : -1;
    const char *pii = cxa_param(c, "pii_mode"), *swap = cxa_param(c, "swap_mode");
    if (validate_field(c, CX_KEY_FIELD_PII_MODE, "PII mode", pii ? pii : "inherit", &f->pol.pii_mode,
                       &f->error) ||
        validate_field(c, CX_KEY_FIELD_SWAP_MODE, "Swaps", swap ? swap : "inherit", &f->pol.swap_mode,
                       &f->error))
        return -1;

    if (cxa_parse_credits_opt(cxa_param(c, "cap_daily"), &f->pol.spend_cap_daily_nano) ||
        cxa_parse_credits_opt(cxa_param(c, "cap_monthly"), &f->pol.spend_cap_monthly_nano)) {
        f->error = "Spend caps are credit amounts such as 25 or 2.50 (or empty for none).";
        return -1;
    }
    return 0;
}

static json_t *policy_json(cxa_t *c, const cx_admin_key_policy_t *p)
{
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(p->name));
    json_object_set_new(o, "scopes", json_string(p->scopes));
    json_object_set_new(o, "allowed_models", p->allowed_models ? json_string(p->allowed_models) : json_null());
    json_object_set_new(o, "rate_limit_rpm", p->rate_limit_rpm >= 0 ? json_integer(p->rate_limit_rpm) : json_null());
    json_object_set_new(o, "region", p->region ? json_string(p->region) : json_null());
    json_object_set_new(o, "pii_mode", json_string(p->pii_mode ? p->pii_mode : "inherit"));
    json_object_set_new(o, "swap_mode", json_string(p->swap_mode ? p->swap_mode : "inherit"));
    json_object_set_new(o, "spend_cap_daily", p->spend_cap_daily_nano >= 0
                        ? json_string(cx_nano_format_short(c->pool, p->spend_cap_daily_nano)) : json_null());
    json_object_set_new(o, "spend_cap_monthly", p->spend_cap_monthly_nano >= 0
                        ? json_string(cx_nano_format_short(c->pool, p->spend_cap_monthly_nano)) : json_null());
    return o;
}

static int64_t opt_num(const char *s)
{
    return s ? strtoll(s, NULL, 10) : -1;
}

/* The policy of a key row as cx_admin_key returns it. */
static void policy_of_row(const cx_table_t *t, int i, cx_admin_key_policy_t *p)
{
    p->name = cx_table_get(t, i, "name");
    p->scopes = cx_table_get(t, i, "scopes");
    p->allowed_models = cx_table_get(t, i, "allowed_models");
    p->rate_limit_rpm = opt_num(cx_table_get(t, i, "rate_limit_rpm"));
    p->region = cx_table_get(t, i, "region");
    p->pii_mode = cx_table_get(t, i, "pii_mode");
    p->swap_mode = cx_table_get(t, i, "swap_mode");
    p->spend_cap_daily_nano = opt_num(cx_table_get(t, i, "spend_cap_daily_nano"));
    p->spend_cap_monthly_nano = opt_num(cx_table_get(t, i, "spend_cap_monthly_nano"));
}

static int may_manage(cxa_t *c, const cx_table_t *t, int i)
{
    if (c->user.role >= CX_ROLE_ADMIN)
        return 1;
    const char *by = cx_table_get(t, i, "created_by_user_id");
    return c->user.role == CX_ROLE_MEMBER && by && strtoull(by, NULL, 10) == c->user.id;
}

/* Keys.N.* plus display fields. */
static int load_list(cxa_t *c)
{
    cx_table_t keys;
    if (cx_admin_keys(c->db, c->pool, c->user.org_id, &keys))
        return -1;
    cxa_set_table(c, "Keys", &keys);
    int active = 0;
    for (int i = 0; i < keys.rows->nelts; i++) {
        const char *pfx = apr_psprintf(c->pool, "Keys.%d.", i);
        const char *revoked = cx_table_get(&keys, i, "revoked_at");
        active += !revoked;
        cxa_set(c, apr_pstrcat(c->pool, pfx, "cap_daily", NULL),
                cxa_credits(c, cx_table_get(&keys, i, "spend_cap_daily_nano")));
        cxa_set(c, apr_pstrcat(c->pool, pfx, "cap_monthly", NULL),
                cxa_credits(c, cx_table_get(&keys, i, "spend_cap_monthly_nano")));
        cxa_set(c, apr_pstrcat(c->pool, pfx, "allowed", NULL),
                allowlist_display(c, cx_table_get(&keys, i, "allowed_models")));
        cxa_set_int(c, apr_pstrcat(c->pool, pfx, "can_manage", NULL), !revoked && may_manage(c, &keys, i));
    }
    cxa_set_int(c, "KeysActive", active);
    cxa_set_int(c, "KeysTotal", keys.rows->nelts);
    return 0;
}

/* Form.scope_<scope> with ':' as '_' (HDF names cannot hold ':'). */
static void mark_scope(cxa_t *c, const char *scope)
{
    char *name = apr_pstrcat(c->pool, "Form.scope_", scope, NULL);
    for (char *p = name; *p; p++)
        if (*p == ':')
            *p = '_';
    cxa_set(c, name, "1");
}

static void keep_form(cxa_t *c)
{
    static const char *const fields[] = {"name", "mode", "allowed_models", "rate_limit", "region",
                                         "pii_mode", "swap_mode", "cap_daily", "cap_monthly"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        cxa_set(c, apr_pstrcat(c->pool, "Form.", fields[i], NULL), cxa_param(c, fields[i]));
    apr_array_header_t *scopes = cxa_param_all(c, "scopes");
    for (int i = 0; i < scopes->nelts; i++)
        for (size_t k = 0; k < sizeof scope_names / sizeof scope_names[0]; k++)
            if (!strcmp(APR_ARRAY_IDX(scopes, i, const char *), scope_names[k]))
                mark_scope(c, scope_names[k]);
}

static int render_keys(cxa_t *c, int status)
{
    if (load_list(c))
        return -1;
    if (!hdf_get_obj(c->hdf, "Form.name"))
        cxa_set(c, "Form.scope_inference", "1");
    return cxa_render(c, status, "keys.cs", "API keys");
}

int cxa_page_keys(cxa_t *c)
{
    const char *done = cxa_param(c, "done");
    if (done && !strcmp(done, "revoked"))
        cxa_flash(c, "ok", "The key is revoked. Requests with it are refused within seconds.");
    else if (done && !strcmp(done, "updated"))
        cxa_flash(c, "ok", "The key's policy is saved.");
    return render_keys(c, 200);
}

int cxa_page_key_mint(cxa_t *c)
{
    key_form_t f;
    if (parse_form(c, &f)) {
        cxa_flash(c, "error", f.error);
        keep_form(c);
        return render_keys(c, 422);
    }
    cx_key_spec_t spec = {.org_id = c->user.org_id, .name = f.pol.name, .mode = f.mode,
                          .scopes = f.pol.scopes, .allowed_models = f.pol.allowed_models,
                          .rate_limit_rpm = f.pol.rate_limit_rpm, .created_by_user_id = c->user.id};
    const char *secret = NULL, *err;
    uint64_t key_id = 0;
    if (cx_db_begin(c->db))
        return -1;
    json_t *detail = cx_json_own(c->pool, policy_json(c, &f.pol));
    json_object_set_new(detail, "mode", json_string(f.mode == CX_KEY_TEST ? "test" : "live"));
    if (cx_store_create_key(c->db, c->pool, &spec, &secret, &key_id, &err) ||
        cx_admin_key_set_policy(c->db, c->user.org_id, key_id, &f.pol) != 1 ||
        cxa_audit(c, "key.create", apr_psprintf(c->pool, "key:%" APR_UINT64_T_FMT, (apr_uint64_t)key_id),
                  cx_json_dump(c->pool, detail, NULL)) ||
        cx_db_commit(c->db)) {
        cx_db_rollback(c->db);
        return -1;
    }
    cx_log(CX_LOG_INFO, c->request_id, "CXA0401", "key %llu minted by user %llu",
           (unsigned long long)key_id, (unsigned long long)c->user.id);
    cxa_set(c, "NewKey.Secret", secret);
    cxa_set(c, "NewKey.Name", f.pol.name);
    cxa_setf(c, "NewKey.Id", "%" APR_UINT64_T_FMT, (apr_uint64_t)key_id);
    cxa_flash(c, "ok", "Key created. Copy the secret now: it will not be shown again.");
    return render_keys(c, 200);
}

/* Loads key id of the caller's org into *t; renders 404/403 itself and returns 1 when
 * the caller may not manage it. */
static int load_managed_key(cxa_t *c, uint64_t id, cx_table_t *t)
{
    if (cx_admin_key(c->db, c->pool, c->user.org_id, id, t))
        return -1;
    if (!id || t->rows->nelts == 0) {
        cxa_fail(c, 404, "There is no such key in your organization.");
        return 1;
    }
    if (cx_table_get(t, 0, "revoked_at")) {
        cxa_fail(c, 409, "This key is revoked; revoked keys cannot be changed.");
        return 1;
    }
    if (!may_manage(c, t, 0)) {
        cxa_fail(c, 403, "Members can only change the keys they minted.");
        return 1;
    }
    return 0;
}

static void set_edit_form(cxa_t *c, const cx_table_t *t)
{
    cxa_set_table(c, "Key", t);
    cxa_set(c, "Form.name", cx_table_get(t, 0, "name"));
    cxa_set(c, "Form.allowed_models", allowlist_display(c, cx_table_get(t, 0, "allowed_models")));
    cxa_set(c, "Form.rate_limit", cx_table_get(t, 0, "rate_limit_rpm"));
    cxa_set(c, "Form.region", cx_table_get(t, 0, "region"));
    cxa_set(c, "Form.pii_mode", cx_table_get(t, 0, "pii_mode"));
    cxa_set(c, "Form.swap_mode", cx_table_get(t, 0, "swap_mode"));
    cxa_set(c, "Form.cap_daily", cxa_credits(c, cx_table_get(t, 0, "spend_cap_daily_nano")));
    cxa_set(c, "Form.cap_monthly", cxa_credits(c, cx_table_get(t, 0, "spend_cap_monthly_nano")));
    const char *scopes = cx_table_get(t, 0, "scopes");
    for (size_t s = 0; s < sizeof scope_names / sizeof scope_names[0]; s++)
        if (scopes && strstr(scopes, scope_names[s]))
            mark_scope(c, scope_names[s]);
}

int cxa_page_key_edit(cxa_t *c)
{
    cx_table_t t;
    int rv = load_managed_key(c, cxa_param_id(c, "id"), &t);
    if (rv)
        return rv > 0 ? 0 : -1;
    set_edit_form(c, &t);
    return cxa_render(c, 200, "key_edit.cs", "Edit key");
}

int cxa_page_key_edit_post(cxa_t *c)
{
    uint64_t id = cxa_param_id(c, "id");
    cx_table_t t;
    int rv = load_managed_key(c, id, &t);
    if (rv)
        return rv > 0 ? 0 : -1;
    key_form_t f;
    if (parse_form(c, &f)) {
        cxa_set_table(c, "Key", &t);
        keep_form(c);
        cxa_flash(c, "error", f.error);
        return cxa_render(c, 422, "key_edit.cs", "Edit key");
    }
    cx_admin_key_policy_t before;
    policy_of_row(&t, 0, &before);
    cx_actor_t actor = {.actor_type = "user", .actor_id = c->user.id, .actor_label = c->user.email,
                        .ip = c->ip, .request_id = c->request_id};
    /* Governance fields: the gateway's store function, one audited change each. */
    const struct { cx_key_field_t f; const char *before, *after; } gov[] = {
        {CX_KEY_FIELD_ALLOWED_MODELS, before.allowed_models, f.pol.allowed_models},
        {CX_KEY_FIELD_RATE_LIMIT, cx_table_get(&t, 0, "rate_limit_rpm"),
         f.pol.rate_limit_rpm >= 0 ? apr_psprintf(c->pool, "%" APR_INT64_T_FMT, (apr_int64_t)f.pol.rate_limit_rpm) : NULL},
        {CX_KEY_FIELD_REGION, before.region, f.pol.region},
        {CX_KEY_FIELD_PII_MODE, before.pii_mode, f.pol.pii_mode},
        {CX_KEY_FIELD_SWAP_MODE, before.swap_mode, f.pol.swap_mode},
    };
    for (size_t i = 0; i < sizeof gov / sizeof gov[0]; i++) {
        const char *b = gov[i].before, *a = gov[i].after;
        if ((!b && !a) || (b && a && !strcmp(b, a)))
            continue;
        cx_change_t change;
        const char *err;
        if (cx_store_key_set(c->db, c->pool, id, gov[i].f, a, &actor, &change, &err) != 0)
            return -1;
    }
    /* The other columns: same shape of audit row, through cx_admin_key_set. */
    const struct { cx_admin_key_col_t col; const char *value; } basic[] = {
        {CX_ADMIN_KEY_NAME, f.pol.name},
        {CX_ADMIN_KEY_SCOPES, f.pol.scopes},
        {CX_ADMIN_KEY_CAP_DAILY, f.pol.spend_cap_daily_nano >= 0
            ? apr_psprintf(c->pool, "%" APR_INT64_T_FMT, (apr_int64_t)f.pol.spend_cap_daily_nano) : NULL},
        {CX_ADMIN_KEY_CAP_MONTHLY, f.pol.spend_cap_monthly_nano >= 0
            ? apr_psprintf(c->pool, "%" APR_INT64_T_FMT, (apr_int64_t)f.pol.spend_cap_monthly_nano) : NULL},
    };
    for (size_t i = 0; i < sizeof basic / sizeof basic[0]; i++) {
        int changed;
        if (cx_admin_key_set(c->db, c->pool, c->user.org_id, id, basic[i].col, basic[i].value, &actor,
                             &changed) != 0)
            return -1;
    }
    return cxa_redirect(c, "/keys?done=updated");
}

int cxa_page_key_revoke(cxa_t *c)
{
    uint64_t id = cxa_param_id(c, "id");
    cx_table_t t;
    int rv = load_managed_key(c, id, &t);
    if (rv)
        return rv > 0 ? 0 : -1;
    const char *err;
    if (cx_db_begin(c->db))
        return -1;
    if (cx_store_revoke_key(c->db, id, &err) ||
        cxa_audit(c, "key.revoke", apr_psprintf(c->pool, "key:%" APR_UINT64_T_FMT, (apr_uint64_t)id),
                  apr_psprintf(c->pool, "{\"name\":%s,\"prefix\":%s}",
                               cx_json_quote(c->pool, cx_table_get(&t, 0, "name")),
                               cx_json_quote(c->pool, cx_table_get(&t, 0, "prefix")))) ||
        cx_db_commit(c->db)) {
        cx_db_rollback(c->db);
        return -1;
    }
    return cxa_redirect(c, "/keys?done=revoked");
}
