/* Conduix store: circuit-breaker transitions (see cx_breaker_store.h). */
#include "cx_breaker_store.h"

#include <apr_strings.h>

const char *cx_breaker_store_time(apr_pool_t *p, apr_time_t t)
{
    apr_time_exp_t x;
    apr_time_exp_gmt(&x, t);
    return apr_psprintf(p, "%04d-%02d-%02d %02d:%02d:%02d.%06d", x.tm_year + 1900, x.tm_mon + 1,
                        x.tm_mday, x.tm_hour, x.tm_min, x.tm_sec, x.tm_usec);
}

int cx_breaker_store_transition(cx_db *db, const char *provider, cx_breaker_state_t from,
                                const cx_breaker_t *to, apr_time_t at, const char **err)
{
    apr_pool_t *p;
    if (apr_pool_create(&p, NULL) != APR_SUCCESS) {
        *err = "out of memory";
        return -1;
    }
    const char *at_s = cx_breaker_store_time(p, at);
    const char *until = to->state == CX_BREAKER_CLOSED ? NULL : cx_breaker_store_time(p, to->until);
    const char *opened = to->state == CX_BREAKER_OPEN ? at_s : NULL;
    const char *state = cx_breaker_state_name(to->state);
    int rv = cx_db_begin(db);
    if (rv == 0)
        rv = cx_db_exec(db, "INSERT INTO provider_breaker_events (provider, from_state, to_state, "
                        "failures, open_until, at) VALUES (?, ?, ?, ?, ?, ?)", NULL, NULL, "sssiss",
                        provider, cx_breaker_state_name(from), state, (int64_t)to->failures, until,
                        at_s);
    /* Assignments apply left to right and later ones see earlier results, so
     * updated_at (the guard of the others) is assigned last. opened_at keeps the
     * last opening when the new state is not an opening. */
    if (rv == 0)
        rv = cx_db_exec(db, "INSERT INTO provider_breaker_state (provider, state, failures, opened_at, "
                        "open_until, updated_at) VALUES (?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE "
                        "state = IF(VALUES(updated_at) >= updated_at, VALUES(state), state), "
                        "failures = IF(VALUES(updated_at) >= updated_at, VALUES(failures), failures), "
                        "opened_at = IF(VALUES(updated_at) >= updated_at, "
                        "               COALESCE(VALUES(opened_at), opened_at), opened_at), "
                        "open_until = IF(VALUES(updated_at) >= updated_at, VALUES(open_until), open_until), "
                        "updated_at = GREATEST(updated_at, VALUES(updated_at))",
                        NULL, NULL, "ssisss", provider, state, (int64_t)to->failures, opened, until,
                        at_s);
    if (rv == 0)
        rv = cx_db_commit(db);
    if (rv) {
        *err = cx_db_error(db);
        cx_db_rollback(db);
    }
    apr_pool_destroy(p);
    return rv ? -1 : 0;
}

int cx_admin_breaker_states(cx_db *db, apr_pool_t *p, cx_table_t *out)
{
    static const char *const cols[] = {"provider", "state", "failures", "opened_at", "open_until",
                                       "updated_at", "reported_at", "open_over"};
    cx_rows_t rows;
    int rv = cx_db_query(db, p, "SELECT provider, state, failures, "
                         "DATE_FORMAT(opened_at, '%Y-%m-%d %H:%i:%s'), "
                         "DATE_FORMAT(open_until, '%Y-%m-%d %H:%i:%s'), "
                         "DATE_FORMAT(updated_at, '%Y-%m-%d %H:%i:%s'), "
                         "DATE_FORMAT(reported_at, '%Y-%m-%d %H:%i:%s'), "
                         "state = 'open' AND open_until <= UTC_TIMESTAMP(6) "
                         "FROM provider_breaker_state ORDER BY provider", "", &rows);
    out->ncols = (int)(sizeof cols / sizeof cols[0]);
    out->cols = cols;
    out->rows = rows.rows;
    if (rv == 0 && rows.ncols && rows.ncols != out->ncols)
        return -1;
    return rv;
}
