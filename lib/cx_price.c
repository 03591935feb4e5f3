/* Conduix pricing: integer money, exact sums. See cx_price.h for the model. */
#include "cx_price.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <apr_strings.h>

/* __extension__ keeps -pedantic builds quiet: the 128-bit type is a GCC/Clang
 * extension, and it is what lets us keep every intermediate product exact. */
__extension__ typedef unsigned __int128 cx_u128;

/* price (nano per 1M tokens) x ppm multiplier: the two scale factors we divide out. */
#define CX_TOKENS_PER_PRICE_UNIT 1000000u
#define CX_PPM_ONE 1000000u
#define CX_COST_DIVISOR ((cx_u128)CX_TOKENS_PER_PRICE_UNIT * CX_PPM_ONE) /* 1e12 */

/* A negative catalog price is a data error; charging nothing is the only answer
 * that can never turn a charge into a credit for the caller. */
static uint64_t price_magnitude(cx_nano_t per_m)
{
    return per_m > 0 ? (uint64_t)per_m : 0;
}

cx_nano_t cx_price_cost(const cx_price_t *price, uint64_t prompt_tokens,
                        uint64_t completion_tokens, uint32_t multiplier_ppm)
{
    if (price == NULL)
        return 0;

    /* Each product is < 2^64 * 2^63 = 2^127, so the sum of two fits in 128 bits
     * without overflow; only the multiplier step can overflow. */
    cx_u128 list = (cx_u128)prompt_tokens * price_magnitude(price->input_per_m)
                 + (cx_u128)completion_tokens * price_magnitude(price->output_per_m);

    cx_u128 scaled;
    if (__builtin_mul_overflow(list, (cx_u128)multiplier_ppm, &scaled))
        return INT64_MAX;

    cx_u128 whole = scaled / CX_COST_DIVISOR;
    cx_u128 rest = scaled % CX_COST_DIVISOR;
    /* Half-up: a remainder of exactly half a nanocredit rounds away from zero. */
    if (rest * 2 >= CX_COST_DIVISOR)
        whole += 1;

    if (whole > (cx_u128)INT64_MAX)
        return INT64_MAX;
    return (cx_nano_t)whole;
}

/* |v| as unsigned, so INT64_MIN (whose magnitude is not an int64_t) formats too. */
static uint64_t nano_magnitude(cx_nano_t v)
{
    return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
}

/* "-" + 11 integer digits + "." + 9 fraction digits + NUL fits easily. */
#define CX_NANO_TEXT_MAX 32

static void format_fixed9(char buf[CX_NANO_TEXT_MAX], cx_nano_t v)
{
    uint64_t mag = nano_magnitude(v);
    snprintf(buf, CX_NANO_TEXT_MAX, "%s%" PRIu64 ".%09" PRIu64,
             v < 0 ? "-" : "",
             mag / (uint64_t)CX_NANO_PER_CREDIT,
             mag % (uint64_t)CX_NANO_PER_CREDIT);
}

const char *cx_nano_format(apr_pool_t *p, cx_nano_t v)
{
    char buf[CX_NANO_TEXT_MAX];
    format_fixed9(buf, v);
    return apr_pstrdup(p, buf);
}

const char *cx_nano_format_short(apr_pool_t *p, cx_nano_t v)
{
    char buf[CX_NANO_TEXT_MAX];
    format_fixed9(buf, v);

    /* Trailing zeros carry no value; keep two decimals so amounts still read
     * like money ("12.50", "0.00"). */
    char *dot = strchr(buf, '.');
    size_t len = strlen(buf);
    size_t min_len = (size_t)(dot - buf) + 3;
    while (len > min_len && buf[len - 1] == '0')
        buf[--len] = '\0';
    return apr_pstrdup(p, buf);
}

int cx_nano_parse(const char *s, cx_nano_t *out)
{
    if (s == NULL || out == NULL)
        return -1;

    const char *c = s;
    int negative = 0;
    if (*c == '-') {
        negative = 1;
        c++;
    }

    /* Integer part: at least one digit. Anything above the largest whole credit
     * count an int64 can hold is rejected here, which also keeps the
     * accumulator far from uint64 overflow. */
    const uint64_t max_whole = (uint64_t)INT64_MAX / (uint64_t)CX_NANO_PER_CREDIT + 1;
    uint64_t whole = 0;
    const char *digits_start = c;
    while (*c >= '0' && *c <= '9') {
        whole = whole * 10 + (uint64_t)(*c - '0');
        if (whole > max_whole)
            return -1;
        c++;
    }
    if (c == digits_start)
        return -1;

    uint64_t frac = 0;
    if (*c == '.') {
        c++;
        const char *frac_start = c;
        while (*c >= '0' && *c <= '9') {
            if (c - frac_start >= 9)
                return -1;          /* finer than a nanocredit */
            frac = frac * 10 + (uint64_t)(*c - '0');
            c++;
        }
        size_t frac_digits = (size_t)(c - frac_start);
        if (frac_digits == 0)
            return -1;              /* "5." is a typo more often than a number */
        for (size_t i = frac_digits; i < 9; i++)
            frac *= 10;
    }
    if (*c != '\0')
        return -1;                  /* exponent, second dot, spaces, junk */

    /* whole <= 9223372037, so whole * 1e9 + frac < 2^64. */
    uint64_t mag = whole * (uint64_t)CX_NANO_PER_CREDIT + frac;
    if (negative) {
        if (mag > (uint64_t)INT64_MAX + 1)
            return -1;
        *out = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(cx_nano_t)mag;
    } else {
        if (mag > (uint64_t)INT64_MAX)
            return -1;
        *out = (cx_nano_t)mag;
    }
    return 0;
}
