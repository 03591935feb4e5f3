#include "cx_ratelimit.h"

#include <apr_strings.h>
#include <stddef.h>
#include <string.h>

/* Enough for any realistic contention: each failed attempt means another request
 * got its update in, so the loop only ends here if the state misbehaves. */
#define CAS_ATTEMPTS 100000

static int64_t second_of(apr_time_t t)
{
    /* floor, also for times before the epoch (tests) */
    return t >= 0 ? (int64_t)(t / APR_USEC_PER_SEC) : -(int64_t)((-t + APR_USEC_PER_SEC - 1) / APR_USEC_PER_SEC);
}

static unsigned slot_of(int64_t second)
{
    int64_t m = second % CX_RL_SLOTS;
    return (unsigned)(m < 0 ? m + CX_RL_SLOTS : m);
}

void cx_rl_window_init(cx_rl_window_t *w)
{
    memset(w, 0, sizeof *w);
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

/* The record is little-endian. On a little-endian machine that is the struct's own
 * layout, copied whole (the byte loops below cost 2,000 instructions a request). */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define RL_NATIVE_LAYOUT 1
_Static_assert(offsetof(cx_rl_window_t, count) == 8 &&
               offsetof(cx_rl_window_t, count) + sizeof(((cx_rl_window_t *)0)->count) == CX_RL_RECORD_LEN,
               "the record is the window's first CX_RL_RECORD_LEN bytes");
#else
#define RL_NATIVE_LAYOUT 0
#endif

void cx_rl_window_encode(const cx_rl_window_t *w, unsigned char out[CX_RL_RECORD_LEN])
{
    if (RL_NATIVE_LAYOUT) {
        memcpy(out, w, CX_RL_RECORD_LEN);
        return;
    }
    uint64_t head = (uint64_t)w->head;
    put_u32(out, (uint32_t)head);
    put_u32(out + 4, (uint32_t)(head >> 32));
    for (int i = 0; i < CX_RL_SLOTS; i++)
        put_u32(out + 8 + 4 * i, w->count[i]);
}

int cx_rl_window_decode(cx_rl_window_t *w, const void *buf, apr_size_t len)
{
    cx_rl_window_init(w);
    if (len != CX_RL_RECORD_LEN)
        return -1;
    if (RL_NATIVE_LAYOUT) {
        memcpy(w, buf, CX_RL_RECORD_LEN);   /* the tail padding stays zero from init */
        return 0;
    }
    const unsigned char *p = buf;
    w->head = (int64_t)((uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32);
    for (int i = 0; i < CX_RL_SLOTS; i++)
        w->count[i] = get_u32(p + 8 + 4 * i);
    return 0;
}

void cx_rl_window_slide(cx_rl_window_t *w, apr_time_t now)
{
    int64_t s = second_of(now);
    if (w->head == 0 && cx_rl_window_used(w) == 0) {
        w->head = s;
        return;
    }
    if (s <= w->head)
        return;   /* same second, or a clock that stepped back: count in the newest slot */
    if (s - w->head >= CX_RL_SLOTS) {
        memset(w->count, 0, sizeof w->count);
    }
    else {
        for (int64_t j = w->head + 1; j <= s; j++)
            w->count[slot_of(j)] = 0;   /* the slot of second j held second j-61 */
    }
    w->head = s;
}

uint64_t cx_rl_window_used(const cx_rl_window_t *w)
{
    uint64_t n = 0;
    for (int i = 0; i < CX_RL_SLOTS; i++)
        n += w->count[i];
    return n;
}

/* Time from now until the start of second `second`. */
static apr_interval_time_t until_second(int64_t second, apr_time_t now)
{
    apr_time_t at = (apr_time_t)second * APR_USEC_PER_SEC;
    return at > now ? at - now : 0;
}

void cx_rl_decide(cx_rl_window_t *w, apr_time_t now, uint64_t limit, cx_rl_decision_t *d)
{
    memset(d, 0, sizeof *d);
    d->limit = limit;
    cx_rl_window_slide(w, now);
    uint64_t used = cx_rl_window_used(w);
    if (used < limit) {
        w->count[slot_of(w->head)]++;
        used++;
        d->admitted = 1;
    }
    d->used = used;
    d->remaining = used < limit ? limit - used : 0;

    /* Second j counts for decisions in seconds j .. j+60, so it frees at j+61. */
    int64_t oldest = w->head - CX_RL_WINDOW_SECONDS;
    if (!d->admitted) {
        uint64_t left = used;
        int64_t free_at = w->head + CX_RL_SLOTS;   /* limit 0: a window from now */
        if (limit > 0) {
            for (int64_t j = oldest; j <= w->head; j++) {
                left -= w->count[slot_of(j)];
                if (left < limit) {
                    free_at = j + CX_RL_SLOTS;
                    break;
                }
            }
        }
        d->retry_after = until_second(free_at, now);
        if (d->retry_after <= 0)
            d->retry_after = 1;
    }
    for (int64_t j = w->head; j >= oldest; j--) {
        if (w->count[slot_of(j)]) {
            d->reset = until_second(j + CX_RL_SLOTS, now);
            break;
        }
    }
}

cx_state_rc cx_rl_admit(const cx_state *st, const char *key, uint64_t limit, apr_time_t now,
                        cx_rl_decision_t *d)
{
    for (int attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
        unsigned char buf[CX_STATE_RECORD_MAX];
        apr_size_t len = 0;
        uint64_t version = 0;
        cx_rl_window_t w;
        cx_state_rc rc = cx_state_record_get(st, key, buf, sizeof buf, &len, &version);
        if (rc == CX_STATE_NOTFOUND) {
            cx_rl_window_init(&w);
            version = 0;   /* create it, unless another request does first */
        }
        else if (rc == CX_STATE_OK) {
            /* Anything else under the key is replaced by a fresh window. */
            cx_rl_window_decode(&w, buf, len > sizeof buf ? 0 : len);
        }
        else {
            return rc;
        }
        cx_rl_decide(&w, now, limit, d);
        if (!d->admitted)
            return CX_STATE_OK;   /* a refusal changes nothing */
        unsigned char out[CX_RL_RECORD_LEN];
        cx_rl_window_encode(&w, out);
        rc = cx_state_record_cas(st, key, version, out, sizeof out, CX_RL_RECORD_TTL, NULL);
        if (rc == CX_STATE_OK)
            return CX_STATE_OK;
        if (rc != CX_STATE_CONFLICT)
            return rc;
        /* another request changed the window since we read it: decide again */
    }
    return CX_STATE_ERROR;
}

long cx_rl_seconds_ceil(apr_interval_time_t d)
{
    if (d <= 0)
        return 1;
    long s = (long)((d + APR_USEC_PER_SEC - 1) / APR_USEC_PER_SEC);
    return s < 1 ? 1 : s;
}

const char *cx_rl_duration(apr_pool_t *p, apr_interval_time_t d)
{
    if (d <= 0)
        return "0s";
    int64_t ms = (int64_t)((d + 999) / 1000);   /* rounded up: never early */
    if (ms < 1000)
        return apr_psprintf(p, "%" APR_INT64_T_FMT "ms", (apr_int64_t)ms);
    int64_t h = ms / 3600000, m = (ms / 60000) % 60, sec_ms = ms % 60000;
    char secs[32];
    if (sec_ms % 1000 == 0) {
        apr_snprintf(secs, sizeof secs, "%" APR_INT64_T_FMT, (apr_int64_t)(sec_ms / 1000));
    }
    else {
        apr_snprintf(secs, sizeof secs, "%" APR_INT64_T_FMT ".%03" APR_INT64_T_FMT,
                     (apr_int64_t)(sec_ms / 1000), (apr_int64_t)(sec_ms % 1000));
        apr_size_t n = strlen(secs);
        while (secs[n - 1] == '0')
            secs[--n] = '\0';
    }
    if (h)
        return apr_psprintf(p, "%" APR_INT64_T_FMT "h%" APR_INT64_T_FMT "m%ss", (apr_int64_t)h,
                            (apr_int64_t)m, secs);
    if (m)
        return apr_psprintf(p, "%" APR_INT64_T_FMT "m%ss", (apr_int64_t)m, secs);
    return apr_psprintf(p, "%ss", secs);
}
