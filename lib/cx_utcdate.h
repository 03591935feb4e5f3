/* UTC calendar dates and the short texts built from them, without apr_time_exp_gmt
 * and a printf: the spend caps, the wallet check and the provider budgets name their
 * shared counters by UTC day or month ("cx:cap:key:7:d:2026-11-21") several times per
 * request, and formatting those labels through apr_psprintf was about 7 % of a
 * request's instructions (docs/performance.md). The decimal writers they are built
 * with serve the other hand-made texts of the hot path too (JSON numbers, usage
 * timestamps). */
#ifndef CX_UTCDATE_H
#define CX_UTCDATE_H

#include <stdint.h>
#include <apr_time.h>

typedef struct {
    int64_t year;
    unsigned month;   /* 1-12 */
    unsigned day;     /* 1-31 */
} cx_utc_date_t;

/* The UTC calendar date holding t (any t, before 1970 included). */
cx_utc_date_t cx_utc_date(apr_time_t t);

/* "2026-11-21" (10 bytes + NUL) and "2026-11" (7 bytes + NUL); years 0-9999. */
#define CX_UTC_DAY_LEN 10
#define CX_UTC_MONTH_LEN 7
char *cx_utc_day_label(char out[CX_UTC_DAY_LEN + 1], apr_time_t t);
char *cx_utc_month_label(char out[CX_UTC_MONTH_LEN + 1], apr_time_t t);

/* Writes v in decimal at out (no NUL) and returns the end: at most 20 bytes. */
char *cx_put_u64(char *out, uint64_t v);
/* Writes the last `width` decimal digits of v, zero-padded (no NUL); returns the end. */
char *cx_put_fixed(char *out, unsigned v, int width);

#endif
