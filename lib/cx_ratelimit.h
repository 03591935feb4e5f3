/* Conduix per-key rate limits: requests per minute over a sliding window, exact
 * across every httpd child and thread because the whole window of a key is one
 * shared-state record changed only by compare-and-set.
 *
 * Method: a sliding window of one-second slots. The record of a key holds the
 * newest second it counted (head) and the admissions of each of the 61 seconds
 * head-60 .. head. A request at time t (second s = floor(t)) slides the window to
 * s (slots older than s-60 are dropped) and is admitted when the 61 slots hold
 * fewer than L admissions; then it is counted in slot s.
 *
 * Exactness: the slots s-60 .. s cover [s-60, s+1), which contains the exact
 * window (t-60, t], so no 60-second interval ever holds more than L admissions,
 * whatever the number of children, threads or racing clients (the record changes
 * only by compare-and-set, so no two admissions can both see the last free place).
 * The price of one-second slots is at most one second of extra wait: an
 * admission in second j stops counting at j+61 s, where an exact log would free
 * it 60 s after its own instant, somewhere in [j+60, j+61). Retry-After and the
 * reset time are computed from the slot bounds, so they are never early.
 *
 * The record is 252 bytes (little-endian, so backends on other hosts read it the
 * same) and fits one state record (CX_STATE_RECORD_MAX). */
#ifndef CX_RATELIMIT_H
#define CX_RATELIMIT_H

#include <stdint.h>
#include <apr_pools.h>
#include <apr_time.h>
#include "cx_state.h"

#define CX_RL_WINDOW_SECONDS 60
#define CX_RL_SLOTS (CX_RL_WINDOW_SECONDS + 1)    /* the current second and the 60 before it */
#define CX_RL_RECORD_LEN (8 + 4 * CX_RL_SLOTS)    /* 252 bytes */
/* An idle key's record expires once nothing in it can count any more. */
#define CX_RL_RECORD_TTL apr_time_from_sec(2 * CX_RL_WINDOW_SECONDS)

typedef struct {
    int64_t head;                    /* newest second counted (Unix time); 0 = empty */
    uint32_t count[CX_RL_SLOTS];     /* count[s % CX_RL_SLOTS]: admissions in second s */
} cx_rl_window_t;

typedef struct {
    int admitted;
    uint64_t limit;
    uint64_t used;                       /* admissions in the window, this one included */
    uint64_t remaining;                  /* admissions still possible in the window now */
    apr_interval_time_t retry_after;     /* refused: until the window has room (> 0) */
    apr_interval_time_t reset;           /* until the window is empty again (0 = it is) */
} cx_rl_decision_t;

void cx_rl_window_init(cx_rl_window_t *w);

/* Record bytes <-> window. decode returns -1 (and an empty window) for bytes that
 * are not a window record. */
int cx_rl_window_decode(cx_rl_window_t *w, const void *buf, apr_size_t len);
void cx_rl_window_encode(const cx_rl_window_t *w, unsigned char out[CX_RL_RECORD_LEN]);

/* Slide w to now (a clock that went backwards counts in the newest slot). */
void cx_rl_window_slide(cx_rl_window_t *w, apr_time_t now);

/* Admissions in the window (after sliding it to its head). */
uint64_t cx_rl_window_used(const cx_rl_window_t *w);

/* Decide one request at now against limit: slides w and, when admitted, counts
 * the request in it. A limit of 0 refuses everything. */
void cx_rl_decide(cx_rl_window_t *w, apr_time_t now, uint64_t limit, cx_rl_decision_t *d);

/* cx_rl_decide on the record under key in the shared state, with a
 * compare-and-set loop: exact across processes. Returns CX_STATE_OK with *d
 * filled, or the state's error (the caller then decides without a limit). */
cx_state_rc cx_rl_admit(const cx_state *st, const char *key, uint64_t limit, apr_time_t now,
                        cx_rl_decision_t *d);

/* Whole seconds for Retry-After: rounded up, at least 1. */
long cx_rl_seconds_ceil(apr_interval_time_t d);

/* A duration the way OpenAI's x-ratelimit-reset-* headers (Go durations) spell
 * it, to the millisecond and rounded up: "0s", "12ms", "1s", "8.64s", "6m0s",
 * "1h0m0s". */
const char *cx_rl_duration(apr_pool_t *p, apr_interval_time_t d);

#endif
