#include "cx_cursor.h"

#include <apr_base64.h>
#include <apr_strings.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CURSOR_MAX 128

const char *cx_cursor_encode(apr_pool_t *p, const char *kind, uint64_t id)
{
    const char *plain = apr_psprintf(p, "cx1:%s:%" APR_UINT64_T_FMT, kind, (apr_uint64_t)id);
    int n = (int)strlen(plain);
    char *b = apr_palloc(p, (apr_size_t)apr_base64_encode_len(n));
    apr_base64_encode(b, plain, n);
    char *w = b;
    for (char *c = b; *c; c++) {
        if (*c != '=')
            *w++ = *c == '+' ? '-' : *c == '/' ? '_' : *c;
    }
    *w = '\0';
    return b;
}

int cx_cursor_decode(apr_pool_t *p, const char *cursor, const char *kind, uint64_t *id)
{
    size_t n = cursor ? strlen(cursor) : 0;
    if (n == 0 || n > CURSOR_MAX)
        return 0;
    char *b = apr_palloc(p, n + 4);
    for (size_t i = 0; i < n; i++) {
        char c = cursor[i];
        if (c == '-')
            c = '+';
        else if (c == '_')
            c = '/';
        else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
            return 0;
        b[i] = c;
    }
    while (n % 4)
        b[n++] = '=';
    b[n] = '\0';
    char *plain = apr_palloc(p, (apr_size_t)apr_base64_decode_len(b) + 1);
    int len = apr_base64_decode(plain, b);
    if (len <= 0)
        return 0;
    plain[len] = '\0';
    const char *prefix = apr_pstrcat(p, "cx1:", kind, ":", NULL);
    size_t plen = strlen(prefix);
    if (strncmp(plain, prefix, plen) || plain[plen] < '0' || plain[plen] > '9')
        return 0;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(plain + plen, &end, 10);
    if (errno || *end)
        return 0;
    *id = v;
    return 1;
}
