/* Conduix pricing: integer money, exact sums.
 *
 * Money is a signed 64-bit count of nanocredits (1 credit = 1e9 nano, about 1 USD).
 * Prices are nanocredits per 1,000,000 tokens. A request's cost is the exact rational
 * tokens x price x multiplier / 1e12, rounded half-up to a whole nanocredit once per
 * request; for every catalog price (at most three decimals per 1M tokens) and the
 * list multiplier the division is exact, so no rounding happens at all. */
#ifndef CX_PRICE_H
#define CX_PRICE_H

#include <stdint.h>
#include <apr_pools.h>

typedef int64_t cx_nano_t;

#define CX_NANO_PER_CREDIT 1000000000LL
#define CX_PPM_LIST 1000000u     /* multiplier meaning "list price" */

typedef struct {
    cx_nano_t input_per_m;   /* nanocredits per 1M prompt tokens */
    cx_nano_t output_per_m;  /* nanocredits per 1M completion tokens */
} cx_price_t;

/* Cost of one request. multiplier_ppm scales the list price (volume discounts);
 * CX_PPM_LIST for list price. Saturates at INT64_MAX instead of overflowing. */
cx_nano_t cx_price_cost(const cx_price_t *price, uint64_t prompt_tokens,
                        uint64_t completion_tokens, uint32_t multiplier_ppm);

/* Decimal credits with exactly nine fractional digits, e.g. 165 -> "0.000000165",
 * -1500000000 -> "-1.500000000". Allocated from p. */
const char *cx_nano_format(apr_pool_t *p, cx_nano_t v);

/* Same as cx_nano_format but trims trailing zeros down to at least two decimals
 * ("0.165", "12.50"): for display and JSON numbers that must stay exact. */
const char *cx_nano_format_short(apr_pool_t *p, cx_nano_t v);

/* Parse a decimal credit amount ("12", "0.5", "-3.000000001"). At most nine
 * fractional digits, optional leading '-', no exponent, no junk, no overflow.
 * Returns 0 on success, -1 on any malformed input. */
int cx_nano_parse(const char *s, cx_nano_t *out);

#endif
