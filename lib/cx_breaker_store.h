/* Conduix store: circuit-breaker transitions as the gateway reports them
 * (sql/060_provider_breaker_state.sql). The gateway writes each transition from a
 * background thread (mod_conduix/conduix_budget.c); the dashboard reads the latest
 * state per provider. Return values: 0 ok / -1 database error (*err). */
#ifndef CX_BREAKER_STORE_H
#define CX_BREAKER_STORE_H

#include <apr_pools.h>
#include <apr_time.h>
#include "cx_breaker.h"
#include "cx_store.h"
#include "cx_store_admin.h"

/* Record provider's transition from -> to, made at `at` (the gateway's clock): one
 * history row, and the provider's current state unless a newer transition is there
 * already (reports of several children may arrive out of order). One transaction. */
int cx_breaker_store_transition(cx_db *db, const char *provider, cx_breaker_state_t from,
                                const cx_breaker_t *to, apr_time_t at, const char **err);

/* "YYYY-MM-DD HH:MM:SS.uuuuuu" in UTC, as DATETIME(6) columns take it. */
const char *cx_breaker_store_time(apr_pool_t *p, apr_time_t t);

/* Latest reported state of every provider that has one: columns provider, state,
 * failures, opened_at, open_until, updated_at, reported_at (UTC, to the second) and
 * open_over ("1" when an open breaker's open period has passed). */
int cx_admin_breaker_states(cx_db *db, apr_pool_t *p, cx_table_t *out);

#endif
