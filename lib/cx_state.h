/* Conduix shared state: the one interface behind circuit breakers, provider spend
 * counters, alert flags, the response cache and (later) rate-limit windows.
 *
 * State must be shared by every httpd child (and, with Redis, every node), so it
 * never lives in a child's memory. A backend is a function table plus an opaque
 * instance, in the manner of mod_auth_openidc's cache backends: the `shm` backend
 * (one segment inside one httpd, lib/cx_state_table.c behind
 * mod_conduix/conduix_state_shm.c) now, a Redis backend later. Callers only use the
 * cx_state_* wrappers below, so adding a backend never touches them.
 *
 * Three kinds of entry, all addressed by a string key of at most
 * CX_STATE_KEY_MAX bytes, all with an optional time to live:
 *  - counters: signed 64-bit, atomic add with an optional ceiling ("add if the
 *    result stays within limit"), the building block for rate windows and caps;
 *  - records: small values (<= CX_STATE_RECORD_MAX bytes) with a version number
 *    for compare-and-set, for state machines shared between processes;
 *  - key/values: larger blobs (the response cache). Only these may be evicted
 *    to make room; counters and records go away only when they expire.
 * Every operation is atomic with respect to every other on the same backend. */
#ifndef CX_STATE_H
#define CX_STATE_H

#include <stdint.h>
#include <apr_pools.h>
#include <apr_time.h>

#define CX_STATE_KEY_MAX    112      /* bytes, without the terminating NUL */
#define CX_STATE_RECORD_MAX 256      /* bytes of one record value */
#define CX_STATE_NO_LIMIT   INT64_MAX

typedef enum {
    CX_STATE_OK = 0,
    CX_STATE_NOTFOUND,    /* no live entry under the key */
    CX_STATE_CONFLICT,    /* CAS version mismatch, seed on an existing counter,
                             limit reached, or the key holds another kind */
    CX_STATE_TOOBIG,      /* key or value larger than the backend takes */
    CX_STATE_FULL,        /* no room, even after evicting cache entries */
    CX_STATE_ERROR        /* the backend failed (lock, connection) */
} cx_state_rc;

/* counter_add flags */
#define CX_STATE_NOCREATE 0x1    /* an absent counter stays absent: NOTFOUND */

typedef struct {
    const char *backend;
    uint64_t capacity_bytes;     /* memory the backend may use for entries */
    uint64_t entries;            /* live or not yet reaped */
    uint64_t max_entries;
    uint64_t value_bytes_free;   /* room left for key/value blobs */
    uint64_t evictions;          /* key/values dropped to make room */
    uint64_t generation_reuses;  /* times the state was kept across a restart */
} cx_state_stats_t;

/* ttl: 0 = never expires. Times are relative, so a backend may use its own clock. */
typedef struct cx_state_ops {
    const char *name;
    /* *value receives the new value (OK) or the unchanged current one (CONFLICT
     * when limit would be exceeded). An absent counter starts at 0 and gets ttl;
     * an existing one keeps its expiry. limit = CX_STATE_NO_LIMIT for none. */
    cx_state_rc (*counter_add)(void *inst, const char *key, int64_t delta, int64_t limit,
                               apr_interval_time_t ttl, unsigned flags, int64_t *value);
    cx_state_rc (*counter_get)(void *inst, const char *key, int64_t *value);
    /* Set when absent (OK); else CONFLICT with *current = the existing value. */
    cx_state_rc (*counter_seed)(void *inst, const char *key, int64_t value,
                                apr_interval_time_t ttl, int64_t *current);
    /* Copies at most cap bytes; *len gets the full length, *version its version. */
    cx_state_rc (*record_get)(void *inst, const char *key, void *buf, apr_size_t cap,
                              apr_size_t *len, uint64_t *version);
    /* Replace the record when its version is `expected` (0 = only when absent).
     * *version receives the new version (never 0, never reused). */
    cx_state_rc (*record_cas)(void *inst, const char *key, uint64_t expected, const void *value,
                              apr_size_t len, apr_interval_time_t ttl, uint64_t *version);
    /* The value is copied into p (NUL-terminated for convenience). */
    cx_state_rc (*kv_get)(void *inst, apr_pool_t *p, const char *key, char **value,
                          apr_size_t *len);
    cx_state_rc (*kv_set)(void *inst, const char *key, const void *value, apr_size_t len,
                          apr_interval_time_t ttl);
    /* Removes an entry of any kind. */
    cx_state_rc (*del)(void *inst, const char *key);
    cx_state_rc (*stats)(void *inst, cx_state_stats_t *out);
    /* Largest key/value blob this backend stores. */
    apr_size_t (*kv_max)(void *inst);
} cx_state_ops;

typedef struct {
    const cx_state_ops *ops;
    void *inst;
} cx_state;

static inline cx_state_rc cx_state_counter_add(const cx_state *s, const char *key, int64_t delta,
                                               int64_t limit, apr_interval_time_t ttl,
                                               unsigned flags, int64_t *value)
{
    return s->ops->counter_add(s->inst, key, delta, limit, ttl, flags, value);
}

static inline cx_state_rc cx_state_counter_get(const cx_state *s, const char *key, int64_t *value)
{
    return s->ops->counter_get(s->inst, key, value);
}

static inline cx_state_rc cx_state_counter_seed(const cx_state *s, const char *key, int64_t value,
                                                apr_interval_time_t ttl, int64_t *current)
{
    return s->ops->counter_seed(s->inst, key, value, ttl, current);
}

static inline cx_state_rc cx_state_record_get(const cx_state *s, const char *key, void *buf,
                                              apr_size_t cap, apr_size_t *len, uint64_t *version)
{
    return s->ops->record_get(s->inst, key, buf, cap, len, version);
}

static inline cx_state_rc cx_state_record_cas(const cx_state *s, const char *key, uint64_t expected,
                                              const void *value, apr_size_t len,
                                              apr_interval_time_t ttl, uint64_t *version)
{
    return s->ops->record_cas(s->inst, key, expected, value, len, ttl, version);
}

static inline cx_state_rc cx_state_kv_get(const cx_state *s, apr_pool_t *p, const char *key,
                                          char **value, apr_size_t *len)
{
    return s->ops->kv_get(s->inst, p, key, value, len);
}

static inline cx_state_rc cx_state_kv_set(const cx_state *s, const char *key, const void *value,
                                          apr_size_t len, apr_interval_time_t ttl)
{
    return s->ops->kv_set(s->inst, key, value, len, ttl);
}

static inline cx_state_rc cx_state_del(const cx_state *s, const char *key)
{
    return s->ops->del(s->inst, key);
}

static inline cx_state_rc cx_state_stats(const cx_state *s, cx_state_stats_t *out)
{
    return s->ops->stats(s->inst, out);
}

static inline apr_size_t cx_state_kv_max(const cx_state *s)
{
    return s->ops->kv_max(s->inst);
}

const char *cx_state_rc_name(cx_state_rc rc);

#endif
