/* Conduix: where a plain run inside a JSON string ends, shared by the request parser
 * (cx_jparse) and the upstream scanner (cx_jscan). A run stops at the closing quote,
 * a backslash, a control character (invalid in JSON) or a non-ASCII byte (checked as
 * UTF-8 by the caller). Strings are most of every document, so the run is skipped
 * eight bytes at a time (SWAR: a word is looked at whole, and only a word that holds
 * a stop byte is looked at byte by byte). Inline: it is the inner loop of both. */
#ifndef CX_JCHARS_H
#define CX_JCHARS_H

#include <apr.h>
#include <stdint.h>
#include <string.h>

static const unsigned char cx_json_string_stop[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

/* The index of the first stop byte of s[i..len), or len. */
static inline apr_size_t cx_json_plain_run(const unsigned char *s, apr_size_t i, apr_size_t len)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    while (i + 8 <= len) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
        /* a zero byte in q or b; a byte below 0x20; a byte with its high bit set. Each
         * term is nonzero exactly when such a byte exists (the positions it marks may
         * be off after a borrow, so the word is then searched byte by byte). */
        uint64_t stop = ((q - ones) & ~q) | ((b - ones) & ~b) | ((w - ones * 0x20) & ~w) | w;
        if (stop & highs)
            break;
        i += 8;
    }
    while (i < len && !cx_json_string_stop[s[i]])
        i++;
    return i;
}

#endif
