#include "cx_utcdate.h"

#include <string.h>

#define USEC_PER_DAY INT64_C(86400000000)

/* Days since 1970-01-01 to a proleptic Gregorian date: Howard Hinnant's
 * civil_from_days (eras of 400 years, March-based years so that the leap day ends
 * the year). Exact for every int64 day count apr_time_t can reach. */
cx_utc_date_t cx_utc_date(apr_time_t t)
{
    int64_t days = t / USEC_PER_DAY;
    if (t % USEC_PER_DAY < 0)
        days--;                                  /* floor, not truncation */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);                           /* [0, 146096] */
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;   /* [0, 399] */
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                /* [0, 365] */
    unsigned mp = (5 * doy + 2) / 153;                                     /* [0, 11] */
    cx_utc_date_t d;
    d.day = doy - (153 * mp + 2) / 5 + 1;
    d.month = mp < 10 ? mp + 3 : mp - 9;
    d.year = (int64_t)yoe + era * 400 + (d.month <= 2);
    return d;
}

char *cx_put_fixed(char *o, unsigned v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        o[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return o + width;
}

static char *put_year_month(char *o, const cx_utc_date_t *d)
{
    unsigned y = d->year < 0 ? 0 : d->year > 9999 ? 9999 : (unsigned)d->year;
    o = cx_put_fixed(o, y, 4);
    *o++ = '-';
    return cx_put_fixed(o, d->month, 2);
}

/* A request asks for the labels of the same day about ten times (caps, wallet,
 * budgets), and a thread serves one request at a time: each thread keeps the labels
 * of the last day it was asked about. */
static _Thread_local struct {
    int64_t day;                  /* days since the epoch, plus one (0: empty) */
    char day_label[CX_UTC_DAY_LEN + 1];
} last;

static const char *day_label_cached(apr_time_t t)
{
    int64_t days = t / USEC_PER_DAY;
    if (t % USEC_PER_DAY < 0)
        days--;
    if (last.day != days + 1) {
        cx_utc_date_t d = cx_utc_date(t);
        char *o = put_year_month(last.day_label, &d);
        *o++ = '-';
        o = cx_put_fixed(o, d.day, 2);
        *o = '\0';
        last.day = days + 1;
    }
    return last.day_label;
}

char *cx_utc_day_label(char out[CX_UTC_DAY_LEN + 1], apr_time_t t)
{
    memcpy(out, day_label_cached(t), CX_UTC_DAY_LEN + 1);
    return out;
}

char *cx_utc_month_label(char out[CX_UTC_MONTH_LEN + 1], apr_time_t t)
{
    memcpy(out, day_label_cached(t), CX_UTC_MONTH_LEN);   /* "2026-11" of "2026-11-21" */
    out[CX_UTC_MONTH_LEN] = '\0';
    return out;
}

char *cx_put_u64(char *out, uint64_t v)
{
    char tmp[20];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (int i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return out + n;
}
