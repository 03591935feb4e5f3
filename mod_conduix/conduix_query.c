/* Query string parameters of the account endpoints: strict, so a misspelt filter
 * (?group=model for ?group_by=model) is an error rather than a silently wider answer. */
#include "mod_conduix.h"

#include <apr_strings.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <httpd.h>
#include <util_script.h>

APLOG_USE_MODULE(conduix);

typedef struct {
    const char *const *allowed;
    apr_table_t *seen;
    const char *unknown;
    const char *repeated;
} args_check_t;

static int check_arg(void *baton, const char *key, const char *value)
{
    args_check_t *c = baton;
    int known = 0;
    for (const char *const *a = c->allowed; *a; a++)
        known |= !strcmp(*a, key);
    if (!known) {
        c->unknown = key;
        return 0;
    }
    if (apr_table_get(c->seen, key)) {
        c->repeated = key;
        return 0;
    }
    apr_table_setn(c->seen, key, "1");
    return 1;
}

int conduix_query_args(request_rec *r, const char *const *allowed, apr_table_t **out)
{
    /* ap_args_to_table keeps only the last of repeated parameters, so the raw names
     * are checked first (unknown and repeated ones), then the values are decoded. */
    args_check_t c = {allowed, apr_table_make(r->pool, 8), NULL, NULL};
    char *rest = apr_pstrdup(r->pool, r->args ? r->args : ""), *last;
    for (char *pair = apr_strtok(rest, "&", &last); pair && !c.unknown && !c.repeated;
         pair = apr_strtok(NULL, "&", &last)) {
        char *eq = strchr(pair, '=');
        if (eq)
            *eq = '\0';
        ap_unescape_urlencoded(pair);
        check_arg(&c, pair, NULL);
    }
    ap_args_to_table(r, out);
    if (c.unknown) {
        const char *names = "";
        for (const char *const *a = allowed; *a; a++)
            names = apr_pstrcat(r->pool, names, *names ? ", " : "", *a, NULL);
        return conduix_send_error(r, CX_E_INVALID_REQUEST,
                                  apr_psprintf(r->pool, "Unknown query parameter '%s' (this endpoint "
                                               "takes: %s).", c.unknown, names), c.unknown);
    }
    if (c.repeated)
        return conduix_send_error(r, CX_E_INVALID_REQUEST,
                                  apr_psprintf(r->pool, "Query parameter '%s' is given more than once.",
                                               c.repeated), c.repeated);
    return OK;
}

int conduix_query_int(request_rec *r, apr_table_t *args, const char *name, long long min,
                      long long max, long long dflt, long long *out)
{
    const char *v = apr_table_get(args, name);
    if (!v) {
        *out = dflt;
        return OK;
    }
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (!*v || errno || *end || n < min || n > max)
        return conduix_send_error(r, CX_E_INVALID_REQUEST,
                                  apr_psprintf(r->pool, "%s must be a whole number from %" APR_INT64_T_FMT
                                               " to %" APR_INT64_T_FMT ".", name, (apr_int64_t)min,
                                               (apr_int64_t)max), name);
    *out = n;
    return OK;
}
