/* Conduix shared counters that mirror a sum kept in the database: what a provider
 * billed this month (provider budgets), what an org or a key spent this UTC day
 * or month (spend caps). The database (usage_events) is the record; the counter
 * in the shared state is the copy every child reads and raises without a query.
 *
 * A counter is absent the first time it is needed (a new period, a new shared
 * state after a restart, a counter that expired); it is then rebuilt from the
 * database by a seed function, once: counter_seed lets exactly one rebuilt
 * value in, and everyone else reads that one.
 *
 * Adding follows the record: the caller has handed its usage row to the writer
 * (which may or may not have committed it yet), then adds the amount. When the
 * counter is absent at that moment, the caller's seed leaves its own row out and
 * the amount is added on top. When another request rebuilt the counter in the
 * meantime, nobody can tell whether its query saw the row, so the amount is added
 * anyway: while a counter is being rebuilt a charge may be counted twice, never
 * lost. Caps and budgets stay on the safe side. */
#ifndef CX_DBCOUNTER_H
#define CX_DBCOUNTER_H

#include <stdint.h>
#include <apr_time.h>
#include "cx_state.h"

/* The sum as the database has it now: 0, or -1 when it could not be read. */
typedef int (*cx_dbcounter_seed_fn)(void *baton, int64_t *value);

/* The counter's value; an absent counter is rebuilt with seed (and gets ttl).
 * *seeded = 1 when this call's seed became the value. Returns CX_STATE_OK,
 * CX_STATE_NOTFOUND when it was absent and the seed failed, or the state's error. */
cx_state_rc cx_dbcounter_get(const cx_state *st, const char *key, apr_interval_time_t ttl,
                             cx_dbcounter_seed_fn seed, void *baton, int64_t *value, int *seeded);

/* Add delta, already recorded in the database, to the counter (see above). Same
 * returns as cx_dbcounter_get; *value is the value after the addition. */
cx_state_rc cx_dbcounter_add(const cx_state *st, const char *key, int64_t delta,
                             apr_interval_time_t ttl, cx_dbcounter_seed_fn seed, void *baton,
                             int64_t *value, int *seeded);

#endif
