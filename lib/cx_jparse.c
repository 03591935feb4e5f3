#include "cx_jparse.h"
#include "cx_utf8.h"
#include "cx_jchars.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 512
#define MAX_INT_DIGITS 18
#define MAX_REAL_CHARS 60

typedef struct {
    const unsigned char *s;
    apr_size_t len, i;
    char *scratch;          /* decoded strings with escapes (malloc'd, grows) */
    apr_size_t scratch_cap;
} parser_t;

static json_t *value(parser_t *ps, int depth);


static void skip_ws(parser_t *ps)
{
    while (ps->i < ps->len) {
        unsigned char c = ps->s[ps->i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        ps->i++;
    }
}

static int hex4(const unsigned char *h, unsigned *out)
{
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        unsigned char c = h[k];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return 0;
        v = (v << 4) | d;
    }
    *out = v;
    return 1;
}

/* One UTF-8 sequence at the cursor (a byte >= 0x80); see cx_utf8.h. */
static int utf8_seq(parser_t *ps)
{
    int n = cx_utf8_sequence(ps->s + ps->i, ps->len - ps->i);
    ps->i += (apr_size_t)n;
    return n != 0;
}

static int scratch_put(parser_t *ps, apr_size_t *n, const void *bytes, apr_size_t k)
{
    if (*n + k + 1 > ps->scratch_cap) {
        apr_size_t cap = ps->scratch_cap ? ps->scratch_cap * 2 : 256;
        while (cap < *n + k + 1)
            cap *= 2;
        char *nb = realloc(ps->scratch, cap);
        if (!nb)
            return 0;
        ps->scratch = nb;
        ps->scratch_cap = cap;
    }
    memcpy(ps->scratch + *n, bytes, k);
    *n += k;
    ps->scratch[*n] = '\0';
    return 1;
}

/* A string at ps->i (its opening quote). On success *out and *out_len point either into
 * the input (no escapes) or into ps->scratch (decoded), and contain no NUL. */
static int string(parser_t *ps, const char **out, apr_size_t *out_len)
{
    apr_size_t start = ++ps->i;
    apr_size_t run = start;  /* first byte not yet copied to scratch (once escaped) */
    apr_size_t n = 0;        /* bytes decoded into scratch */
    int escaped = 0;
    for (;;) {
        ps->i = cx_json_plain_run(ps->s, ps->i, ps->len);
        if (ps->i >= ps->len)
            return 0;
        unsigned char c = ps->s[ps->i];
        if (c >= 0x80) {
            if (!utf8_seq(ps))
                return 0;
            continue;           /* still part of the run */
        }
        if (escaped && !scratch_put(ps, &n, ps->s + run, ps->i - run))
            return 0;
        if (c == '"') {
            ps->i++;
            if (escaped) {
                *out = ps->scratch;
                *out_len = n;
            }
            else {
                *out = (const char *)ps->s + start;
                *out_len = ps->i - 1 - start;
            }
            return 1;
        }
        if (c != '\\')
            return 0;           /* a control character */
        if (!escaped) {
            escaped = 1;
            if (!scratch_put(ps, &n, ps->s + start, ps->i - start))
                return 0;
        }
        if (ps->i + 1 >= ps->len)
            return 0;
        unsigned char e = ps->s[ps->i + 1];
        char one;
        switch (e) {
        case '"': one = '"'; break;
        case '\\': one = '\\'; break;
        case '/': one = '/'; break;
        case 'b': one = '\b'; break;
        case 'f': one = '\f'; break;
        case 'n': one = '\n'; break;
        case 'r': one = '\r'; break;
        case 't': one = '\t'; break;
        case 'u': {
            unsigned cp;
            if (ps->i + 6 > ps->len || !hex4(ps->s + ps->i + 2, &cp) || cp == 0)
                return 0;
            ps->i += 6;
            if (cp >= 0xDC00 && cp <= 0xDFFF)
                return 0;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned lo;
                if (ps->i + 6 > ps->len || ps->s[ps->i] != '\\' || ps->s[ps->i + 1] != 'u' ||
                    !hex4(ps->s + ps->i + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                    return 0;
                ps->i += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            unsigned char u[4];
            apr_size_t k;
            if (cp < 0x80) {
                u[0] = (unsigned char)cp;
                k = 1;
            }
            else if (cp < 0x800) {
                u[0] = (unsigned char)(0xC0 | (cp >> 6));
                u[1] = (unsigned char)(0x80 | (cp & 0x3F));
                k = 2;
            }
            else if (cp < 0x10000) {
                u[0] = (unsigned char)(0xE0 | (cp >> 12));
                u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
                u[2] = (unsigned char)(0x80 | (cp & 0x3F));
                k = 3;
            }
            else {
                u[0] = (unsigned char)(0xF0 | (cp >> 18));
                u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
                u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
                u[3] = (unsigned char)(0x80 | (cp & 0x3F));
                k = 4;
            }
            if (!scratch_put(ps, &n, u, k))
                return 0;
            run = ps->i;
            continue;
        }
        default:
            return 0;
        }
        if (!scratch_put(ps, &n, &one, 1))
            return 0;
        ps->i += 2;
        run = ps->i;
    }
}

static json_t *number(parser_t *ps)
{
    apr_size_t start = ps->i;
    int integer = 1;
    if (ps->s[ps->i] == '-')
        ps->i++;
    if (ps->i >= ps->len)
        return NULL;
    if (ps->s[ps->i] == '0')
        ps->i++;
    else if (ps->s[ps->i] >= '1' && ps->s[ps->i] <= '9')
        while (ps->i < ps->len && ps->s[ps->i] >= '0' && ps->s[ps->i] <= '9')
            ps->i++;
    else
        return NULL;
    if (ps->i < ps->len && ps->s[ps->i] == '.') {
        integer = 0;
        apr_size_t d = ++ps->i;
        while (ps->i < ps->len && ps->s[ps->i] >= '0' && ps->s[ps->i] <= '9')
            ps->i++;
        if (ps->i == d)
            return NULL;
    }
    if (ps->i < ps->len && (ps->s[ps->i] == 'e' || ps->s[ps->i] == 'E')) {
        integer = 0;
        ps->i++;
        if (ps->i < ps->len && (ps->s[ps->i] == '+' || ps->s[ps->i] == '-'))
            ps->i++;
        apr_size_t d = ps->i;
        while (ps->i < ps->len && ps->s[ps->i] >= '0' && ps->s[ps->i] <= '9')
            ps->i++;
        if (ps->i == d)
            return NULL;
    }
    apr_size_t n = ps->i - start;
    if (integer) {
        const unsigned char *d = ps->s + start;
        int neg = *d == '-';
        if (n - neg > MAX_INT_DIGITS)
            return NULL;
        json_int_t v = 0;
        for (apr_size_t k = neg; k < n; k++)
            v = v * 10 + (d[k] - '0');
        return json_integer(neg ? -v : v);
    }
    if (n > MAX_REAL_CHARS || localeconv()->decimal_point[0] != '.')
        return NULL;
    char tmp[MAX_REAL_CHARS + 1];
    memcpy(tmp, ps->s + start, n);
    tmp[n] = '\0';
    errno = 0;
    double v = strtod(tmp, NULL);
    if ((v == HUGE_VAL || v == -HUGE_VAL) && errno == ERANGE)
        return NULL;
    return json_real(v);
}

static int literal(parser_t *ps, const char *word)
{
    apr_size_t n = strlen(word);
    if (ps->len - ps->i < n || memcmp(ps->s + ps->i, word, n))
        return 0;
    ps->i += n;
    return 1;
}

static json_t *object(parser_t *ps, int depth)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    ps->i++;
    skip_ws(ps);
    if (ps->i < ps->len && ps->s[ps->i] == '}') {
        ps->i++;
        return o;
    }
    for (;;) {
        skip_ws(ps);
        const char *k;
        apr_size_t kl;
        if (ps->i >= ps->len || ps->s[ps->i] != '"' || !string(ps, &k, &kl))
            goto fail;
        /* The key must be NUL-terminated for jansson: copy it out of the input. */
        char keybuf[128];
        char *key = kl < sizeof keybuf ? keybuf : malloc(kl + 1);
        if (!key)
            goto fail;
        memcpy(key, k, kl);
        key[kl] = '\0';
        int ok = json_object_get(o, key) == NULL;   /* duplicates: jansson's error */
        json_t *v = NULL;
        if (ok) {
            skip_ws(ps);
            ok = ps->i < ps->len && ps->s[ps->i] == ':';
        }
        if (ok) {
            ps->i++;
            skip_ws(ps);
            v = value(ps, depth + 1);
            ok = v && json_object_set_new_nocheck(o, key, v) == 0;
        }
        if (key != keybuf)
            free(key);
        if (!ok)
            goto fail;
        skip_ws(ps);
        if (ps->i >= ps->len)
            goto fail;
        if (ps->s[ps->i] == ',') {
            ps->i++;
            continue;
        }
        if (ps->s[ps->i] == '}') {
            ps->i++;
            return o;
        }
        goto fail;
    }
fail:
    json_decref(o);
    return NULL;
}

static json_t *array(parser_t *ps, int depth)
{
    json_t *a = json_array();
    if (!a)
        return NULL;
    ps->i++;
    skip_ws(ps);
    if (ps->i < ps->len && ps->s[ps->i] == ']') {
        ps->i++;
        return a;
    }
    for (;;) {
        skip_ws(ps);
        json_t *v = value(ps, depth + 1);
        if (!v || json_array_append_new(a, v))
            goto fail;
        skip_ws(ps);
        if (ps->i >= ps->len)
            goto fail;
        if (ps->s[ps->i] == ',') {
            ps->i++;
            continue;
        }
        if (ps->s[ps->i] == ']') {
            ps->i++;
            return a;
        }
        goto fail;
    }
fail:
    json_decref(a);
    return NULL;
}

static json_t *value(parser_t *ps, int depth)
{
    if (ps->i >= ps->len || depth > MAX_DEPTH)
        return NULL;
    switch (ps->s[ps->i]) {
    case '{':
        return object(ps, depth);
    case '[':
        return array(ps, depth);
    case '"': {
        const char *s;
        apr_size_t n;
        if (!string(ps, &s, &n))
            return NULL;
        return json_stringn_nocheck(s, n);
    }
    case 't':
        return literal(ps, "true") ? json_true() : NULL;
    case 'f':
        return literal(ps, "false") ? json_false() : NULL;
    case 'n':
        return literal(ps, "null") ? json_null() : NULL;
    default:
        return number(ps);
    }
}

json_t *cx_jparse(const char *buf, apr_size_t len)
{
    parser_t ps = {.s = (const unsigned char *)buf, .len = len};
    skip_ws(&ps);
    json_t *j = NULL;
    if (ps.i < ps.len && (ps.s[ps.i] == '{' || ps.s[ps.i] == '['))
        j = value(&ps, 1);
    if (j) {
        skip_ws(&ps);
        if (ps.i != ps.len) {
            json_decref(j);
            j = NULL;
        }
    }
    free(ps.scratch);
    return j;
}
