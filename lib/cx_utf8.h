/* Conduix: one UTF-8 sequence check, shared by the request parser (cx_jparse) and
 * the upstream scanner (cx_jscan). The rules are jansson's utf8_check_full: no
 * overlong forms, no surrogates, nothing above U+10FFFF — so both accept exactly
 * what jansson would. Inline: it sits in the inner loop of both. */
#ifndef CX_UTF8_H
#define CX_UTF8_H

#include <apr.h>

/* Length (2-4) of the valid sequence starting at s (s[0] >= 0x80) within left bytes,
 * or 0 when it is not valid UTF-8. */
static inline int cx_utf8_sequence(const unsigned char *s, apr_size_t left)
{
    unsigned char c = s[0];
    int n;
    unsigned cp;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    }
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    }
    else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    }
    else {
        return 0;
    }
    if (left < (apr_size_t)n)
        return 0;
    for (int k = 1; k < n; k++) {
        if ((s[k] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[k] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

#endif
