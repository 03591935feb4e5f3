#include "cx_allowlist.h"
#include "cx_json.h"

#include <apr_strings.h>
#include <string.h>

static int valid_tier(const char *t)
{
    return !strcmp(t, "frontier") || !strcmp(t, "premium") || !strcmp(t, "mid") ||
           !strcmp(t, "budget");
}

static int valid_slug(const char *s, size_t n)
{
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

const char *cx_allowlist_entry_check(apr_pool_t *p, const cx_catalog_t *cat, const char *entry)
{
    if (!entry || !*entry)
        return "an entry is empty";
    if (strlen(entry) > 200)
        return "an entry is longer than 200 characters";
    if (!strncmp(entry, "tier:", 5)) {
        if (!valid_tier(entry + 5))
            return apr_psprintf(p, "'%s' names no tier (frontier, premium, mid, budget)", entry);
        return NULL;
    }
    if (!strncmp(entry, "byo:", 4)) {
        const char *rest = entry + 4;
        if (!strcmp(rest, "*"))
            return NULL;
        const char *slash = strchr(rest, '/');
        if (!slash || !valid_slug(rest, (size_t)(slash - rest)) || !slash[1])
            return apr_psprintf(p, "'%s' is not byo:*, byo:<slug>/* or byo:<slug>/<model>", entry);
        return NULL;
    }
    cx_resolved_t res;
    if (!cx_catalog_resolve(cat, entry, &res))
        return apr_psprintf(p, "'%s' is not a model id or alias of the catalog (GET /v1/models)",
                            entry);
    return NULL;
}

static int entry_permits(const cx_catalog_t *cat, const char *entry, const char *requested,
                         const cx_resolved_t *res)
{
    if (!strncmp(entry, "byo:", 4)) {
        if (strncmp(requested, "byo:", 4))
            return 0;
        size_t n = strlen(entry);
        if (entry[n - 1] == '*')   /* byo:* or one endpoint's wildcard: a prefix */
            return !strncmp(requested, entry, n - 1);
        return !strcmp(requested, entry);
    }
    if (!res || !res->model)
        return 0;
    if (!strncmp(entry, "tier:", 5))
        return !strcmp(res->model->tier, entry + 5);
    cx_resolved_t allowed;
    if (!cx_catalog_resolve(cat, entry, &allowed))
        return 0;   /* an entry for a model since removed allows nothing */
    if (allowed.model != res->model)
        return 0;
    /* An entry pinned to one provider does not allow routing to the others. */
    return !allowed.pinned || allowed.pinned == res->pinned;
}

int cx_allowlist_permits(apr_pool_t *p, const cx_catalog_t *cat, const char *allowed_json,
                         const char *requested, const cx_resolved_t *res)
{
    if (!allowed_json)
        return 1;
    const char *err;
    json_t *list = cx_json_parse(p, allowed_json, strlen(allowed_json), &err);
    if (!json_is_array(list))
        return -1;
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
        if (!json_is_string(v))
            return -1;
    }
    json_array_foreach(list, i, v) {
        if (entry_permits(cat, json_string_value(v), requested ? requested : "", res))
            return 1;
    }
    return 0;
}
