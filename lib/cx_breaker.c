/* Conduix circuit breaker state machine (see cx_breaker.h). */
#include "cx_breaker.h"

#include <apr_strings.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cx_breaker_verdict_t cx_breaker_admit(const cx_breaker_t *cur, const cx_breaker_conf_t *conf,
                                      apr_time_t now, cx_breaker_t *next)
{
    *next = *cur;
    switch (cur->state) {
    case CX_BREAKER_CLOSED:
        return CX_BREAKER_ALLOW;
    case CX_BREAKER_OPEN:
    case CX_BREAKER_HALF_OPEN:
        if (now < cur->until)
            return CX_BREAKER_SKIP;
        /* Open long enough, or the last probe never reported: send one probe. */
        next->state = CX_BREAKER_HALF_OPEN;
        next->until = now + conf->probe_timeout;
        return CX_BREAKER_PROBE;
    }
    return CX_BREAKER_ALLOW;
}

int cx_breaker_on_success(const cx_breaker_t *cur, cx_breaker_t *next)
{
    next->state = CX_BREAKER_CLOSED;
    next->failures = 0;
    next->until = 0;
    return cur->state != CX_BREAKER_CLOSED || cur->failures != 0 || cur->until != 0;
}

int cx_breaker_on_failure(const cx_breaker_t *cur, const cx_breaker_conf_t *conf, apr_time_t now,
                          cx_breaker_t *next)
{
    *next = *cur;
    switch (cur->state) {
    case CX_BREAKER_CLOSED:
        next->failures = cur->failures + 1;
        if (next->failures >= (conf->threshold ? conf->threshold : 1)) {
            next->state = CX_BREAKER_OPEN;
            next->until = now + conf->open_for;
        }
        return 1;
    case CX_BREAKER_HALF_OPEN:
        /* The probe (or a request admitted before the breaker opened) failed. */
        next->state = CX_BREAKER_OPEN;
        next->until = now + conf->open_for;
        return 1;
    case CX_BREAKER_OPEN:
        /* A straggler admitted before the breaker opened: the window stands. */
        return 0;
    }
    return 0;
}

static const char state_letter[] = {'C', 'O', 'H'};

int cx_breaker_encode(const cx_breaker_t *b, char *buf)
{
    int n = snprintf(buf, CX_BREAKER_ENCODED_MAX, "%c %u %" APR_INT64_T_FMT,
                     state_letter[b->state], (unsigned)b->failures, (apr_int64_t)b->until);
    return n < 0 ? 0 : n >= CX_BREAKER_ENCODED_MAX ? CX_BREAKER_ENCODED_MAX - 1 : n;
}

int cx_breaker_decode(const char *buf, apr_size_t len, cx_breaker_t *out)
{
    char tmp[CX_BREAKER_ENCODED_MAX];
    out->state = CX_BREAKER_CLOSED;
    out->failures = 0;
    out->until = 0;
    if (!buf || len < 5 || len >= sizeof tmp)
        return -1;
    memcpy(tmp, buf, len);
    tmp[len] = '\0';
    const char *letter = memchr(state_letter, tmp[0], sizeof state_letter);
    if (!letter || tmp[1] != ' ' || !isdigit((unsigned char)tmp[2]))
        return -1;
    char *end;
    errno = 0;
    unsigned long failures = strtoul(tmp + 2, &end, 10);
    if (errno || end == tmp + 2 || *end != ' ' || failures > UINT32_MAX)
        return -1;
    const char *u = end + 1;
    if (!isdigit((unsigned char)*u))
        return -1;
    long long until = strtoll(u, &end, 10);
    if (errno || end == u || *end)
        return -1;
    out->state = (cx_breaker_state_t)(letter - state_letter);
    out->failures = (uint32_t)failures;
    out->until = (apr_time_t)until;
    return 0;
}

const char *cx_breaker_state_name(cx_breaker_state_t s)
{
    switch (s) {
    case CX_BREAKER_CLOSED: return "closed";
    case CX_BREAKER_OPEN: return "open";
    case CX_BREAKER_HALF_OPEN: return "half-open";
    }
    return "unknown";
}
