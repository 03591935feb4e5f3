#include "cx_scopes.h"

#include <apr_strings.h>
#include <string.h>

static const char *const all_scopes[] = {CX_SCOPE_INFERENCE, CX_SCOPE_ACCOUNT_READ,
                                         CX_SCOPE_KEYS_WRITE};
#define NSCOPES (sizeof all_scopes / sizeof all_scopes[0])

int cx_scope_known(const char *scope)
{
    for (size_t i = 0; scope && i < NSCOPES; i++)
        if (!strcmp(scope, all_scopes[i]))
            return 1;
    return 0;
}

/* Calls fn for each trimmed, non-empty item of a comma list; stops when fn returns
 * non-zero and returns that value. */
static int each_item(const char *list, int (*fn)(void *baton, const char *item, size_t len),
                     void *baton)
{
    const char *s = list ? list : "";
    while (*s) {
        while (*s == ' ' || *s == ',')
            s++;
        const char *start = s;
        while (*s && *s != ',')
            s++;
        const char *end = s;
        while (end > start && end[-1] == ' ')
            end--;
        if (end > start) {
            int rv = fn(baton, start, (size_t)(end - start));
            if (rv)
                return rv;
        }
    }
    return 0;
}

typedef struct {
    const char *scope;
} find_t;

static int match_item(void *baton, const char *item, size_t len)
{
    find_t *f = baton;
    return strlen(f->scope) == len && !strncmp(item, f->scope, len);
}

int cx_scopes_has(const char *list, const char *scope)
{
    find_t f = {scope};
    return scope && each_item(list, match_item, &f);
}

typedef struct {
    apr_pool_t *p;
    int seen[NSCOPES];
    int count;
    const char *bad;
} norm_t;

static int collect_item(void *baton, const char *item, size_t len)
{
    norm_t *n = baton;
    for (size_t i = 0; i < NSCOPES; i++) {
        if (strlen(all_scopes[i]) == len && !strncmp(item, all_scopes[i], len)) {
            n->seen[i] = 1;
            n->count++;
            return 0;
        }
    }
    n->bad = apr_pstrndup(n->p, item, len);
    return 1;
}

const char *cx_scopes_normalize(apr_pool_t *p, const char *list, const char **bad)
{
    norm_t n = {.p = p};
    *bad = NULL;
    if (each_item(list, collect_item, &n)) {
        *bad = n.bad;
        return NULL;
    }
    if (n.count == 0) {
        *bad = "";
        return NULL;
    }
    const char *out = NULL;
    for (size_t i = 0; i < NSCOPES; i++)
        if (n.seen[i])
            out = out ? apr_pstrcat(p, out, ",", all_scopes[i], NULL) : all_scopes[i];
    return out;
}

const char *cx_scopes_missing(apr_pool_t *p, const char *wanted, const char *held,
                              const char *already)
{
    for (size_t i = 0; i < NSCOPES; i++)
        if (cx_scopes_has(wanted, all_scopes[i]) && !cx_scopes_has(held, all_scopes[i]) &&
            !cx_scopes_has(already, all_scopes[i]))
            return all_scopes[i];
    return NULL;
}
