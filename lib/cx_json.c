#include "cx_json.h"

#include <apr_strings.h>
#include <stdlib.h>
#include <string.h>

static apr_status_t json_cleanup(void *data)
{
    json_decref((json_t *)data);
    return APR_SUCCESS;
}

json_t *cx_json_own(apr_pool_t *p, json_t *j)
{
    if (j)
        apr_pool_cleanup_register(p, j, json_cleanup, apr_pool_cleanup_null);
    return j;
}

json_t *cx_json_parse(apr_pool_t *p, const char *buf, apr_size_t len, const char **err)
{
    json_error_t jerr;
    /* Reject duplicate keys so that what we validate is what the upstream sees. */
    json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j) {
        if (err)
            *err = apr_psprintf(p, "line %d column %d: %s", jerr.line, jerr.column, jerr.text);
        return NULL;
    }
    return cx_json_own(p, j);
}

char *cx_json_dump(apr_pool_t *p, const json_t *j, apr_size_t *len)
{
    return cx_json_dump_flags(p, j, JSON_COMPACT | JSON_REAL_PRECISION(15), len);
}

char *cx_json_dump_flags(apr_pool_t *p, const json_t *j, size_t flags, apr_size_t *len)
{
    char *s = json_dumps(j, flags);
    if (!s) {
        if (len)
            *len = 0;
        return NULL;
    }
    apr_size_t n = strlen(s);
    char *copy = apr_pmemdup(p, s, n + 1);
    free(s);
    if (len)
        *len = n;
    return copy;
}

const char *cx_json_quote(apr_pool_t *p, const char *s)
{
    json_t *str = json_string(s ? s : "");
    if (!str)   /* not valid UTF-8: quote a lossy placeholder rather than fail */
        return "\"\"";
    char *out = json_dumps(str, JSON_ENCODE_ANY);
    json_decref(str);
    if (!out)
        return "\"\"";
    char *copy = apr_pstrdup(p, out);
    free(out);
    return copy;
}
