#include "cx_json.h"
#include "cx_utcdate.h"
#include "cx_jparse.h"

#include <apr_strings.h>
#include <stdio.h>
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
    /* The fast parser gives jansson's tree for ordinary documents; jansson parses
     * whatever it declines, errors included (see cx_jparse.h). */
    json_t *j = cx_jparse(buf, len);
    if (j)
        return cx_json_own(p, j);
    /* Reject duplicate keys so that what we validate is what the upstream sees. */
    j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
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

/* ---------------------------------------------------------------- fast dump
 * jansson's encoder costs about a hundred instructions per output byte (a callback
 * and a copy per token, a UTF-8 decode per character). For the flags Conduix uses
 * (JSON_COMPACT with a real precision) this writer produces the same bytes directly
 * into one growing buffer; tests/unit compares the two on many documents. */

typedef struct {
    char *buf;
    apr_size_t len, cap;
    apr_pool_t *p;
} out_t;

static void grow(out_t *o, apr_size_t n)
{
    if (o->len + n + 1 <= o->cap)
        return;
    apr_size_t cap = o->cap ? o->cap * 2 : 1024;
    while (cap < o->len + n + 1)
        cap *= 2;
    char *nb = apr_palloc(o->p, cap);
    if (o->len)
        memcpy(nb, o->buf, o->len);
    o->buf = nb;
    o->cap = cap;
}

static void put(out_t *o, const char *s, apr_size_t n)
{
    grow(o, n);
    memcpy(o->buf + o->len, s, n);
    o->len += n;
}

static void put_string(out_t *o, const char *s, apr_size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    grow(o, n * 6 + 2);
    char *w = o->buf + o->len;
    *w++ = '"';
    for (apr_size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            *w++ = (char)c;
            continue;
        }
        *w++ = '\\';
        switch (c) {
        case '"': *w++ = '"'; break;
        case '\\': *w++ = '\\'; break;
        case '\b': *w++ = 'b'; break;
        case '\f': *w++ = 'f'; break;
        case '\n': *w++ = 'n'; break;
        case '\r': *w++ = 'r'; break;
        case '\t': *w++ = 't'; break;
        default:
            *w++ = 'u';
            *w++ = '0';
            *w++ = '0';
            *w++ = hex[c >> 4];
            *w++ = hex[c & 15];
        }
    }
    *w++ = '"';
    o->len = (apr_size_t)(w - o->buf);
}

static void put_int(out_t *o, json_int_t v)
{
    char tmp[24];
    char *w = tmp;
    if (v < 0)
        *w++ = '-';
    /* negated as unsigned: INT64_MIN has no positive counterpart */
    w = cx_put_u64(w, v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v);
    put(o, tmp, (apr_size_t)(w - tmp));
}

/* The reals a request carries are short decimals (temperature 0.2, top_p 0.95). When
 * v is the double nearest to m / 10^k for an integer m < 10^9 and k <= 6, %.*g with a
 * precision of 9 to 15 digits prints exactly that decimal (the double is within 2^-53
 * of it, less than half a unit of the 15th digit; at 16 or 17 digits the binary
 * error shows: 0.2 is 0.20000000000000001), so it is written from m without snprintf
 * (thousands of instructions). 1e-4 <= |v| < 1e9 keeps %g out of exponent form.
 * Anything else takes the snprintf path. */
static int put_short_decimal(out_t *o, double v, int precision)
{
    static const double pow10[] = {1, 10, 100, 1000, 10000, 100000, 1000000};
    if (precision < 9 || precision > 15)
        return -1;
    double a = v < 0 ? -v : v;
    if (!(a >= 1e-4 && a < 1e9))
        return -1;
    for (int k = 0; k <= 6; k++) {
        double scaled = a * pow10[k];
        if (scaled >= 1e9)
            return -1;
        double m = (double)(long long)(scaled + 0.5);
        if (m / pow10[k] != a)
            continue;
        unsigned long long mi = (unsigned long long)m, ip = mi, fp = 0;
        for (int i = 0; i < k; i++)
            ip /= 10;
        fp = mi - ip * (unsigned long long)pow10[k];
        char tmp[32];
        char *w = tmp;
        if (v < 0)
            *w++ = '-';
        w = cx_put_u64(w, ip);
        *w++ = '.';
        if (k == 0 || fp == 0) {
            *w++ = '0';           /* jansson's ".0" for a real that reads as an integer */
        }
        else {
            char frac[8];
            cx_put_fixed(frac, (unsigned)fp, k);
            int len = k;
            while (len > 1 && frac[len - 1] == '0')
                len--;
            memcpy(w, frac, (size_t)len);
            w += len;
        }
        put(o, tmp, (apr_size_t)(w - tmp));
        return 0;
    }
    return -1;
}

/* jansson's jsonp_dtostr: %.*g, a '.' whatever the locale, ".0" when it would read
 * as an integer, no '+' and no leading zeros in the exponent. */
static int put_real(out_t *o, double v, int precision)
{
    if (put_short_decimal(o, v, precision) == 0)
        return 0;
    char tmp[64];
    int n = snprintf(tmp, sizeof tmp, "%.*g", precision ? precision : 17, v);
    if (n <= 0 || n >= (int)sizeof tmp)
        return -1;
    for (char *c = tmp; *c; c++)
        if (*c == ',')
            *c = '.';
    char *e = strchr(tmp, 'e');
    if (!strchr(tmp, '.') && !e) {
        if (n + 2 >= (int)sizeof tmp)
            return -1;
        memcpy(tmp + n, ".0", 3);
        n += 2;
    }
    if (e) {
        char *start = e + 1, *end = start;
        if (*start == '-')
            start++;
        end = start;
        if (*end == '+')
            end++;
        while (*end == '0' && end[1])
            end++;
        if (end != start) {
            memmove(start, end, strlen(end) + 1);
            n = (int)strlen(tmp);
        }
    }
    put(o, tmp, (apr_size_t)n);
    return 0;
}

static int put_value(out_t *o, const json_t *j, int precision, int depth)
{
    if (depth > 2048)
        return -1;
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        put(o, "{", 1);
        const char *key;
        json_t *v;
        int first = 1;
        json_object_foreach((json_t *)j, key, v) {
            if (!first)
                put(o, ",", 1);
            first = 0;
            put_string(o, key, strlen(key));
            put(o, ":", 1);
            if (put_value(o, v, precision, depth + 1))
                return -1;
        }
        put(o, "}", 1);
        return 0;
    }
    case JSON_ARRAY: {
        put(o, "[", 1);
        size_t n = json_array_size(j);
        for (size_t i = 0; i < n; i++) {
            if (i)
                put(o, ",", 1);
            if (put_value(o, json_array_get(j, i), precision, depth + 1))
                return -1;
        }
        put(o, "]", 1);
        return 0;
    }
    case JSON_STRING:
        put_string(o, json_string_value(j), json_string_length(j));
        return 0;
    case JSON_INTEGER:
        put_int(o, json_integer_value(j));
        return 0;
    case JSON_REAL:
        return put_real(o, json_real_value(j), precision);
    case JSON_TRUE:
        put(o, "true", 4);
        return 0;
    case JSON_FALSE:
        put(o, "false", 5);
        return 0;
    case JSON_NULL:
        put(o, "null", 4);
        return 0;
    }
    return -1;
}

char *cx_json_dump_flags(apr_pool_t *p, const json_t *j, size_t flags, apr_size_t *len)
{
    /* The fast writer knows JSON_COMPACT with a precision and nothing else; jansson
     * refuses non-containers at the top unless JSON_ENCODE_ANY. */
    if ((flags & ~(size_t)(JSON_COMPACT | JSON_REAL_PRECISION(31))) == 0 && (flags & JSON_COMPACT) &&
        (json_is_object(j) || json_is_array(j))) {
        out_t o = {.p = p};
        if (put_value(&o, j, (int)((flags >> 11) & 0x1F), 0) == 0) {
            grow(&o, 0);
            o.buf[o.len] = '\0';
            if (len)
                *len = o.len;
            return o.buf;
        }
    }
    return cx_json_dump_jansson(p, j, flags, len);
}

char *cx_json_dump_with(apr_pool_t *p, const json_t *obj, const cx_json_override_t *ov, int n,
                        apr_size_t *len)
{
    enum { PRECISION = 15 };   /* cx_json_dump's */
    if (!json_is_object(obj) || n > 8)
        return NULL;
    int used[8] = {0};
    out_t o = {.p = p};
    put(&o, "{", 1);
    const char *key;
    json_t *v;
    int first = 1;
    json_object_foreach((json_t *)obj, key, v) {
        const json_t *value = v;
        for (int i = 0; i < n; i++)
            if (!used[i] && !strcmp(ov[i].key, key)) {
                value = ov[i].value;
                used[i] = 1;
                break;
            }
        if (!first)
            put(&o, ",", 1);
        first = 0;
        put_string(&o, key, strlen(key));
        put(&o, ":", 1);
        if (put_value(&o, value, PRECISION, 1))
            return NULL;
    }
    for (int i = 0; i < n; i++) {
        if (used[i])
            continue;
        if (!first)
            put(&o, ",", 1);
        first = 0;
        put_string(&o, ov[i].key, strlen(ov[i].key));
        put(&o, ":", 1);
        if (put_value(&o, ov[i].value, PRECISION, 1))
            return NULL;
    }
    put(&o, "}", 1);
    grow(&o, 0);
    o.buf[o.len] = '\0';
    if (len)
        *len = o.len;
    return o.buf;
}

char *cx_json_dump_jansson(apr_pool_t *p, const json_t *j, size_t flags, apr_size_t *len)
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
