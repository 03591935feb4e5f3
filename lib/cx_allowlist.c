#include "cx_allowlist.h"
#include "cx_json.h"

#include <apr_strings.h>
#include <string.h>
#include <strings.h>

typedef enum {
    ENTRY_MODEL = 0,     /* a resolved catalog model */
    ENTRY_LITERAL,       /* an id the catalog does not know (compared as text) */
    ENTRY_TIER,
    ENTRY_BYO_ALL,
    ENTRY_BYO_SLUG,      /* byo:<slug>/ followed by a star */
    ENTRY_BYO_MODEL      /* byo:<slug>/<model> */
} entry_kind_t;

typedef struct {
    entry_kind_t kind;
    const cx_model_t *model;
    const char *text;    /* literal id, tier name, slug, or the whole byo id */
} entry_t;

struct cx_allowlist {
    apr_array_header_t *entries;   /* entry_t */
};

static const char *const tiers[] = { "frontier", "premium", "mid", "budget", NULL };

static const char *known_tier(const char *name)
{
    for (int i = 0; tiers[i]; i++)
        if (!strcasecmp(name, tiers[i]))
            return tiers[i];
    return NULL;
}

/* Slugs are what the BYO registry accepts: lowercase letters, digits, '-', '_'. */
static int slug_ok(const char *s, apr_size_t n)
{
    if (n == 0 || n > 64)
        return 0;
    for (apr_size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

/* Parse a "byo:..." entry; returns NULL or what is wrong with it. */
static const char *parse_byo(apr_pool_t *p, const char *s, entry_t *e)
{
    const char *rest = s + 4;
    if (!strcmp(rest, "*")) {
        e->kind = ENTRY_BYO_ALL;
        return NULL;
    }
    const char *slash = strchr(rest, '/');
    if (!slash || !slug_ok(rest, (apr_size_t)(slash - rest)) || !slash[1])
        return "must be byo:*, byo:<slug>/* or byo:<slug>/<model>";
    if (!strcmp(slash + 1, "*")) {
        e->kind = ENTRY_BYO_SLUG;
        e->text = apr_pstrndup(p, rest, (apr_size_t)(slash - rest));
    }
    else {
        e->kind = ENTRY_BYO_MODEL;
        e->text = apr_pstrdup(p, s);
    }
    return NULL;
}

/* Turn one entry into its compiled form. strict: unknown ids are an error. */
static const char *compile_entry(apr_pool_t *p, const char *s, const cx_catalog_t *cat,
                                 int strict, entry_t *e)
{
    memset(e, 0, sizeof *e);
    if (!*s)
        return "is empty";
    if (!strncmp(s, "tier:", 5)) {
        e->kind = ENTRY_TIER;
        e->text = known_tier(s + 5);
        return e->text ? NULL : "names an unknown tier (frontier, premium, mid, budget)";
    }
    if (!strncmp(s, "byo:", 4))
        return parse_byo(p, s, e);
    cx_resolved_t res;
    if (cat && cx_catalog_resolve(cat, s, &res)) {
        e->kind = ENTRY_MODEL;
        e->model = res.model;
        return NULL;
    }
    if (strict)
        return "is not a model id or alias in the catalog";
    e->kind = ENTRY_LITERAL;
    e->text = apr_pstrdup(p, s);
    return NULL;
}

static const char *compile(apr_pool_t *p, const char *json_text, const cx_catalog_t *cat,
                           int strict, cx_allowlist_t **out)
{
    *out = NULL;
    if (!json_text)
        return NULL;
    const char *t = json_text;
    while (*t == ' ' || *t == '\t' || *t == '\n' || *t == '\r')
        t++;
    if (!strncmp(t, "null", 4)) {
        t += 4;
        while (*t == ' ' || *t == '\t' || *t == '\n' || *t == '\r')
            t++;
        if (!*t)
            return NULL;   /* JSON null: every model */
    }
    const char *perr;
    json_t *doc = cx_json_parse(p, json_text, strlen(json_text), &perr);
    if (!doc)
        return apr_psprintf(p, "allowed_models is not valid JSON (%s)", perr);
    if (!json_is_array(doc))
        return "allowed_models must be a JSON array of strings, or null for every model";
    cx_allowlist_t *al = apr_pcalloc(p, sizeof *al);
    al->entries = apr_array_make(p, (int)json_array_size(doc) + 1, sizeof(entry_t));
    for (size_t i = 0; i < json_array_size(doc); i++) {
        json_t *v = json_array_get(doc, i);
        if (!json_is_string(v))
            return apr_psprintf(p, "allowed_models[%" APR_SIZE_T_FMT "] must be a string",
                                (apr_size_t)i);
        entry_t e;
        const char *why = compile_entry(p, json_string_value(v), cat, strict, &e);
        if (why)
            return apr_psprintf(p, "allowed_models[%" APR_SIZE_T_FMT "] '%s' %s", (apr_size_t)i,
                                json_string_value(v), why);
        APR_ARRAY_PUSH(al->entries, entry_t) = e;
    }
    *out = al;
    return NULL;
}

int cx_allowlist_compile(apr_pool_t *p, const char *json_text, const cx_catalog_t *cat,
                         cx_allowlist_t **out, const char **err)
{
    const char *why = compile(p, json_text, cat, 0, out);
    if (why) {
        if (err)
            *err = why;
        *out = NULL;
        return -1;
    }
    return 0;
}

const char *cx_allowlist_validate(apr_pool_t *p, const char *json_text, const cx_catalog_t *cat)
{
    cx_allowlist_t *al;
    if (!json_text)
        return NULL;
    return compile(p, json_text, cat, 1, &al);
}

int cx_allowlist_admits_model(const cx_allowlist_t *al, const cx_model_t *m)
{
    if (!al)
        return 1;
    /* A BYO model (byo:<slug>/<model>) is judged only by the byo: patterns. */
    if (m->provider && m->provider->byo)
        return cx_allowlist_admits_byo(al, m->id);
    for (int i = 0; i < al->entries->nelts; i++) {
        const entry_t *e = &APR_ARRAY_IDX(al->entries, i, entry_t);
        switch (e->kind) {
        case ENTRY_MODEL:
            if (e->model == m || !strcmp(e->model->id, m->id))
                return 1;
            break;
        case ENTRY_LITERAL:
            if (!strcmp(e->text, m->id))
                return 1;
            break;
        case ENTRY_TIER:
            if (m->tier && !strcmp(e->text, m->tier))
                return 1;
            break;
        default:
            break;   /* byo entries never admit a catalog model */
        }
    }
    return 0;
}

int cx_allowlist_admits_byo(const cx_allowlist_t *al, const char *byo_id)
{
    if (!al)
        return 1;
    if (!byo_id || strncmp(byo_id, "byo:", 4))
        return 0;
    const char *slug = byo_id + 4;
    const char *slash = strchr(slug, '/');
    if (!slash)
        return 0;
    apr_size_t slug_len = (apr_size_t)(slash - slug);
    for (int i = 0; i < al->entries->nelts; i++) {
        const entry_t *e = &APR_ARRAY_IDX(al->entries, i, entry_t);
        if (e->kind == ENTRY_BYO_ALL)
            return 1;
        if (e->kind == ENTRY_BYO_SLUG && strlen(e->text) == slug_len &&
            !strncmp(e->text, slug, slug_len))
            return 1;
        if (e->kind == ENTRY_BYO_MODEL && !strcmp(e->text, byo_id))
            return 1;
    }
    return 0;
}

apr_array_header_t *cx_allowlist_filter(apr_pool_t *p, const cx_allowlist_t *al,
                                        const apr_array_header_t *candidates)
{
    apr_array_header_t *out = apr_array_make(p, candidates->nelts + 1, sizeof(const cx_deployment_t *));
    for (int i = 0; i < candidates->nelts; i++) {
        const cx_deployment_t *d = APR_ARRAY_IDX(candidates, i, const cx_deployment_t *);
        if (cx_allowlist_admits_model(al, d->model))
            APR_ARRAY_PUSH(out, const cx_deployment_t *) = d;
    }
    return out;
}

int cx_allowlist_size(const cx_allowlist_t *al)
{
    return al ? al->entries->nelts : 0;
}
