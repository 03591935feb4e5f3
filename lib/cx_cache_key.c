/* Conduix response cache keys (see cx_cache_key.h). */
#include "cx_cache_key.h"
#include "cx_json.h"
#include "cx_keys.h"

#include <apr_strings.h>
#include <openssl/evp.h>
#include <string.h>

#define CACHE_KEY_FORMAT "v1"

int cx_cache_cacheable(const json_t *req)
{
    if (!json_is_object(req))
        return 0;
    json_t *t = json_object_get(req, "temperature");
    if (!json_is_number(t) || json_number_value(t) != 0.0)
        return 0;
    json_t *n = json_object_get(req, "n");
    if (n && !json_is_null(n) && !(json_is_integer(n) && json_integer_value(n) <= 1))
        return 0;
    return 1;
}

/* Reals with an integral value become integers, recursively, so that 1 and 1.0
 * (equal in JSON) give one key. */
static json_t *normalise(json_t *v)
{
    if (json_is_real(v)) {
        double d = json_real_value(v);
        /* NaN fails both comparisons; beyond 2^53 doubles are not exact integers. */
        if (d >= -9007199254740992.0 && d <= 9007199254740992.0 && (double)(json_int_t)d == d)
            return json_integer((json_int_t)d);
        return json_incref(v);
    }
    if (json_is_object(v)) {
        json_t *out = json_object();
        const char *k;
        json_t *m;
        json_object_foreach(v, k, m)
            json_object_set_new(out, k, normalise(m));
        return out;
    }
    if (json_is_array(v)) {
        json_t *out = json_array();
        size_t i;
        json_t *m;
        json_array_foreach(v, i, m)
            json_array_append_new(out, normalise(m));
        return out;
    }
    return json_incref(v);
}

char *cx_cache_canonical(apr_pool_t *p, const json_t *req, apr_size_t *len)
{
    json_t *c = cx_json_own(p, normalise((json_t *)req));
    if (!json_is_object(c))
        return NULL;
    static const char *const ignored[] = {"stream", "stream_options", "user", "model"};
    for (size_t i = 0; i < sizeof ignored / sizeof *ignored; i++)
        json_object_del(c, ignored[i]);
    return cx_json_dump_flags(p, c, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17), len);
}

const char *cx_cache_key(apr_pool_t *p, uint64_t org_id, const char *model_id,
                         const char *pinned_provider, const json_t *req)
{
    apr_size_t len;
    char *canon = cx_cache_canonical(p, req, &len);
    if (!canon || !model_id)
        return NULL;
    /* Length-prefixed fields: no two different tuples hash the same input. */
    const char *head = apr_psprintf(p, CACHE_KEY_FORMAT "\n%" APR_UINT64_T_FMT "\n%" APR_SIZE_T_FMT
                                    ":%s\n%" APR_SIZE_T_FMT ":%s\n", (apr_uint64_t)org_id,
                                    strlen(model_id), model_id,
                                    pinned_provider ? strlen(pinned_provider) : 0,
                                    pinned_provider ? pinned_provider : "");
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md)
        return NULL;
    int ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) &&
             EVP_DigestUpdate(md, head, strlen(head)) &&
             EVP_DigestUpdate(md, canon, len) &&
             EVP_DigestFinal_ex(md, digest, &dlen);
    EVP_MD_CTX_free(md);
    if (!ok || dlen != CX_SHA256_LEN)
        return NULL;
    return apr_pstrcat(p, "cx:cache:", cx_hex(p, digest, dlen), NULL);
}
