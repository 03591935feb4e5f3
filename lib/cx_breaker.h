/* Conduix circuit breaker: the per-provider state machine, without storage.
 *
 *   closed     requests flow; each upstream failure counts, a success resets
 *              the count; `threshold` consecutive failures open the breaker
 *   open       requests skip the provider without a network call until
 *              `open_for` has passed since it opened
 *   half-open  exactly one request (the probe) goes through: success closes
 *              the breaker, failure opens it again for another `open_for`.
 *              A probe that never reports (its process died) is replaced
 *              after `probe_timeout`.
 *
 * The state is shared by every httpd child through cx_state records; each
 * transition is applied with compare-and-set, so of two children racing to
 * become the probe exactly one wins. The record is a short text
 * ("<state> <failures> <until-usec>") so that any backend, on any architecture,
 * stores the same bytes. */
#ifndef CX_BREAKER_H
#define CX_BREAKER_H

#include <stdint.h>
#include <apr_pools.h>
#include <apr_time.h>

typedef enum {
    CX_BREAKER_CLOSED = 0,
    CX_BREAKER_OPEN,
    CX_BREAKER_HALF_OPEN
} cx_breaker_state_t;

typedef struct {
    cx_breaker_state_t state;
    uint32_t failures;        /* consecutive failures while closed */
    apr_time_t until;         /* open: when a probe may go; half-open: probe deadline */
} cx_breaker_t;

typedef struct {
    uint32_t threshold;                 /* consecutive failures that open it (>= 1) */
    apr_interval_time_t open_for;       /* how long it stays open */
    apr_interval_time_t probe_timeout;  /* how long a probe may take before another goes */
} cx_breaker_conf_t;

typedef enum {
    CX_BREAKER_ALLOW = 0,     /* closed: go ahead */
    CX_BREAKER_PROBE,         /* go ahead as the half-open probe (after the CAS succeeds) */
    CX_BREAKER_SKIP           /* open, or a probe is already out: do not call */
} cx_breaker_verdict_t;

#define CX_BREAKER_ENCODED_MAX 64

/* Decide whether a request may call the provider. When the verdict is PROBE,
 * *next is the state to write (half-open with a probe deadline). */
cx_breaker_verdict_t cx_breaker_admit(const cx_breaker_t *cur, const cx_breaker_conf_t *conf,
                                      apr_time_t now, cx_breaker_t *next);

/* Outcome of a call: the state to write into *next. Returns 1 when it differs
 * from *cur (a write is needed), 0 otherwise. */
int cx_breaker_on_success(const cx_breaker_t *cur, cx_breaker_t *next);
int cx_breaker_on_failure(const cx_breaker_t *cur, const cx_breaker_conf_t *conf, apr_time_t now,
                          cx_breaker_t *next);

/* Record encoding. encode writes at most CX_BREAKER_ENCODED_MAX bytes (with NUL)
 * and returns the length; decode returns 0, or -1 for bytes it does not know
 * (the caller then treats the breaker as closed). */
int cx_breaker_encode(const cx_breaker_t *b, char *buf);
int cx_breaker_decode(const char *buf, apr_size_t len, cx_breaker_t *out);

const char *cx_breaker_state_name(cx_breaker_state_t s);

#endif
