#include "cx_jscan.h"
#include "cx_utf8.h"
#include "cx_jchars.h"

#include <apr_strings.h>
#include <string.h>

#define MAX_DEPTH 64
#define MAX_INT_DIGITS 18       /* below 2^63: jansson's integers never overflow */
#define MAX_NUMBER_LEN 300      /* without an exponent a double cannot overflow */

typedef struct {
    const unsigned char *s;
    apr_size_t len, i;
    int off_path;               /* valid maybe, but not for the fast path */
} scan_t;

/* Returns 1 on success; 0 on invalid input or (off_path set) on a fast-path refusal. */
static int value(scan_t *sc, int depth, cx_jmember_t *out, cx_jdoc_t *inner_doc);

static void skip_ws(scan_t *sc)
{
    while (sc->i < sc->len) {
        unsigned char c = sc->s[sc->i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        sc->i++;
    }
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* One UTF-8 sequence at the cursor (a byte >= 0x80); see cx_utf8.h. */
static int utf8_seq(scan_t *sc)
{
    int n = cx_utf8_sequence(sc->s + sc->i, sc->len - sc->i);
    sc->i += (apr_size_t)n;
    return n != 0;
}


/* A string at sc->i (the opening quote). *escaped tells whether it had escapes. */
static int string(scan_t *sc, int *escaped)
{
    *escaped = 0;
    sc->i++;
    while (sc->i < sc->len) {
        sc->i = cx_json_plain_run(sc->s, sc->i, sc->len);
        if (sc->i >= sc->len)
            break;
        unsigned char c = sc->s[sc->i];
        if (c == '"') {
            sc->i++;
            return 1;
        }
        if (c < 0x20)
            return 0;
        if (c == '\\') {
            *escaped = 1;
            if (sc->i + 1 >= sc->len)
                return 0;
            unsigned char e = sc->s[sc->i + 1];
            if (e == 'u') {
                if (sc->i + 6 > sc->len)
                    return 0;
                int v = 0;
                for (int k = 2; k < 6; k++) {
                    int h = hexval(sc->s[sc->i + k]);
                    if (h < 0)
                        return 0;
                    v = (v << 4) | h;
                }
                if (v >= 0xD800 && v <= 0xDFFF) {
                    sc->off_path = 1;   /* surrogate pairs: jansson's rules apply */
                    return 0;
                }
                sc->i += 6;
            }
            else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' ||
                     e == 'r' || e == 't') {
                sc->i += 2;
            }
            else {
                return 0;
            }
            continue;
        }
        if (c >= 0x80) {
            if (!utf8_seq(sc))
                return 0;
            continue;
        }
        sc->i++;
    }
    return 0;
}

static int number(scan_t *sc, cx_jmember_t *out)
{
    apr_size_t start = sc->i;
    int integer = 1;
    if (sc->i < sc->len && sc->s[sc->i] == '-')
        sc->i++;
    if (sc->i >= sc->len)
        return 0;
    if (sc->s[sc->i] == '0') {
        sc->i++;
    }
    else if (sc->s[sc->i] >= '1' && sc->s[sc->i] <= '9') {
        while (sc->i < sc->len && sc->s[sc->i] >= '0' && sc->s[sc->i] <= '9')
            sc->i++;
    }
    else {
        return 0;
    }
    if (sc->i < sc->len && sc->s[sc->i] == '.') {
        integer = 0;
        sc->i++;
        apr_size_t d = sc->i;
        while (sc->i < sc->len && sc->s[sc->i] >= '0' && sc->s[sc->i] <= '9')
            sc->i++;
        if (sc->i == d)
            return 0;
    }
    if (sc->i < sc->len && (sc->s[sc->i] == 'e' || sc->s[sc->i] == 'E')) {
        sc->off_path = 1;   /* exponents can overflow a double: jansson decides */
        return 0;
    }
    apr_size_t n = sc->i - start;
    if ((integer && n > MAX_INT_DIGITS) || n > MAX_NUMBER_LEN) {
        sc->off_path = 1;
        return 0;
    }
    out->type = CX_JV_NUMBER;
    out->is_integer = integer;
    return 1;
}

static int literal(scan_t *sc, const char *word, cx_jv_type_t type, cx_jmember_t *out)
{
    apr_size_t n = strlen(word);
    if (sc->len - sc->i < n || memcmp(sc->s + sc->i, word, n))
        return 0;
    sc->i += n;
    out->type = type;
    return 1;
}

/* Members of an object (sc->i at its '{'). When `list` is given, members are recorded
 * there (list->n / list->m) with duplicate keys refused; when `inner` is given, the
 * members of the object value of key `inner_key` go to inner->inner. */
typedef struct {
    cx_jdoc_t *top;             /* recording the top level */
    const char *inner_key;
    cx_jdoc_t *inner;           /* recording an inner object's members */
} record_t;

static int object(scan_t *sc, int depth, cx_jmember_t *out, record_t *rec)
{
    if (depth > MAX_DEPTH) {
        sc->off_path = 1;
        return 0;
    }
    apr_size_t count = 0;
    sc->i++;
    skip_ws(sc);
    if (sc->i < sc->len && sc->s[sc->i] == '}') {
        sc->i++;
        out->type = CX_JV_OBJECT;
        out->count = 0;
        return 1;
    }
    for (;;) {
        skip_ws(sc);
        if (sc->i >= sc->len || sc->s[sc->i] != '"')
            return 0;
        cx_jmember_t m = {0};
        int escaped;
        m.key_start = sc->i;
        if (!string(sc, &escaped))
            return 0;
        m.key_end = sc->i;
        if (escaped) {
            sc->off_path = 1;   /* jansson refuses \u0000 in keys; compare decoded keys */
            return 0;
        }
        skip_ws(sc);
        if (sc->i >= sc->len || sc->s[sc->i] != ':')
            return 0;
        sc->i++;
        skip_ws(sc);
        m.value_start = sc->i;
        const char *key = (const char *)sc->s + m.key_start + 1;
        apr_size_t key_len = m.key_end - m.key_start - 2;
        cx_jdoc_t *inner_doc = NULL;
        if (rec && rec->top && rec->inner_key && strlen(rec->inner_key) == key_len &&
            !memcmp(rec->inner_key, key, key_len)) {
            inner_doc = rec->top;
            inner_doc->inner_n = 0;   /* a later occurrence replaces an earlier one */
        }
        if (!value(sc, depth + 1, &m, inner_doc))
            return 0;
        m.value_end = sc->i;
        if (rec && rec->top) {
            cx_jdoc_t *d = rec->top;
            for (int k = 0; k < d->n; k++) {
                const cx_jmember_t *o = &d->m[k];
                if (o->key_end - o->key_start == m.key_end - m.key_start &&
                    !memcmp(sc->s + o->key_start, sc->s + m.key_start, m.key_end - m.key_start)) {
                    sc->off_path = 1;   /* duplicate top-level key */
                    return 0;
                }
            }
            if (d->n >= CX_JSCAN_MAX_MEMBERS) {
                sc->off_path = 1;
                return 0;
            }
            d->m[d->n++] = m;
        }
        else if (rec && rec->inner) {
            cx_jdoc_t *d = rec->inner;
            if (d->inner_n >= CX_JSCAN_MAX_MEMBERS) {
                sc->off_path = 1;
                return 0;
            }
            d->inner[d->inner_n++] = m;
        }
        count++;
        skip_ws(sc);
        if (sc->i >= sc->len)
            return 0;
        if (sc->s[sc->i] == ',') {
            sc->i++;
            continue;
        }
        if (sc->s[sc->i] == '}') {
            sc->i++;
            out->type = CX_JV_OBJECT;
            out->count = count;
            return 1;
        }
        return 0;
    }
}

static int array(scan_t *sc, int depth, cx_jmember_t *out)
{
    if (depth > MAX_DEPTH) {
        sc->off_path = 1;
        return 0;
    }
    apr_size_t count = 0;
    sc->i++;
    skip_ws(sc);
    if (sc->i < sc->len && sc->s[sc->i] == ']') {
        sc->i++;
        out->type = CX_JV_ARRAY;
        out->count = 0;
        return 1;
    }
    for (;;) {
        skip_ws(sc);
        cx_jmember_t el = {0};
        if (!value(sc, depth + 1, &el, NULL))
            return 0;
        count++;
        skip_ws(sc);
        if (sc->i >= sc->len)
            return 0;
        if (sc->s[sc->i] == ',') {
            sc->i++;
            continue;
        }
        if (sc->s[sc->i] == ']') {
            sc->i++;
            out->type = CX_JV_ARRAY;
            out->count = count;
            return 1;
        }
        return 0;
    }
}

static int value(scan_t *sc, int depth, cx_jmember_t *out, cx_jdoc_t *inner_doc)
{
    if (sc->i >= sc->len)
        return 0;
    out->is_integer = 0;
    out->count = 0;
    switch (sc->s[sc->i]) {
    case '{':
        if (inner_doc) {
            record_t rec = {.inner = inner_doc};
            return object(sc, depth, out, &rec);
        }
        return object(sc, depth, out, NULL);
    case '[':
        return array(sc, depth, out);
    case '"': {
        int escaped;
        out->type = CX_JV_STRING;
        return string(sc, &escaped);
    }
    case 't':
        return literal(sc, "true", CX_JV_TRUE, out);
    case 'f':
        return literal(sc, "false", CX_JV_FALSE, out);
    case 'n':
        return literal(sc, "null", CX_JV_NULL, out);
    default:
        return number(sc, out);
    }
}

int cx_jscan_object(const char *buf, apr_size_t len, const char *inner_key, cx_jdoc_t *doc)
{
    scan_t sc = {.s = (const unsigned char *)buf, .len = len};
    doc->n = 0;
    doc->inner_n = 0;
    skip_ws(&sc);
    if (sc.i >= sc.len || sc.s[sc.i] != '{')
        return 0;
    doc->open = sc.i;
    record_t rec = {.top = doc, .inner_key = inner_key};
    cx_jmember_t top = {0};
    if (!object(&sc, 1, &top, &rec))
        return 0;
    doc->close = sc.i - 1;
    skip_ws(&sc);
    return sc.i == sc.len;
}

static const cx_jmember_t *find(const cx_jmember_t *m, int n, const char *buf, const char *key,
                                int last)
{
    apr_size_t kl = strlen(key);
    const cx_jmember_t *found = NULL;
    for (int i = 0; i < n; i++) {
        if (m[i].key_end - m[i].key_start == kl + 2 && !memcmp(buf + m[i].key_start + 1, key, kl)) {
            found = &m[i];
            if (!last)
                break;
        }
    }
    return found;
}

const cx_jmember_t *cx_jdoc_get(const cx_jdoc_t *doc, const char *buf, const char *key)
{
    return find(doc->m, doc->n, buf, key, 0);
}

const cx_jmember_t *cx_jdoc_inner_get(const cx_jdoc_t *doc, const char *buf, const char *key)
{
    return find(doc->inner, doc->inner_n, buf, key, 1);
}

int cx_jmember_uint(const cx_jmember_t *m, const char *buf, unsigned long long *out)
{
    if (!m || m->type != CX_JV_NUMBER || !m->is_integer || buf[m->value_start] == '-')
        return 0;
    unsigned long long v = 0;
    for (apr_size_t i = m->value_start; i < m->value_end; i++)
        v = v * 10 + (unsigned)(buf[i] - '0');   /* at most 18 digits: no overflow */
    *out = v;
    return 1;
}

char *cx_jscan_quote(apr_pool_t *p, const char *s, apr_size_t *len)
{
    apr_size_t n = strlen(s);
    char *out = apr_palloc(p, n * 6 + 3);
    char *o = out;
    *o++ = '"';
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        switch (*c) {
        case '"': *o++ = '\\'; *o++ = '"'; break;
        case '\\': *o++ = '\\'; *o++ = '\\'; break;
        case '\b': *o++ = '\\'; *o++ = 'b'; break;
        case '\f': *o++ = '\\'; *o++ = 'f'; break;
        case '\n': *o++ = '\\'; *o++ = 'n'; break;
        case '\r': *o++ = '\\'; *o++ = 'r'; break;
        case '\t': *o++ = '\\'; *o++ = 't'; break;
        default:
            if (*c < 0x20) {
                static const char hex[] = "0123456789abcdef";
                memcpy(o, "\\u00", 4);
                o[4] = hex[*c >> 4];
                o[5] = hex[*c & 15];
                o += 6;
            }
            else {
                *o++ = (char)*c;
            }
        }
    }
    *o++ = '"';
    *o = '\0';
    if (len)
        *len = (apr_size_t)(o - out);
    return out;
}
