#include "cx_dbcounter.h"

/* Absent: rebuild from the database and try to be the one value let in. */
static cx_state_rc seed_or_read(const cx_state *st, const char *key, apr_interval_time_t ttl,
                                cx_dbcounter_seed_fn seed, void *baton, int64_t *value,
                                int *seeded, int *lost_race)
{
    int64_t from_db = 0;
    if (seed(baton, &from_db) != 0)
        return CX_STATE_NOTFOUND;
    int64_t current = 0;
    cx_state_rc rc = cx_state_counter_seed(st, key, from_db, ttl, &current);
    if (rc == CX_STATE_OK) {
        *seeded = 1;
        *value = from_db;
        return CX_STATE_OK;
    }
    if (rc != CX_STATE_CONFLICT)
        return rc;
    *lost_race = 1;   /* another request seeded first: its value stands */
    return cx_state_counter_get(st, key, value);
}

cx_state_rc cx_dbcounter_get(const cx_state *st, const char *key, apr_interval_time_t ttl,
                             cx_dbcounter_seed_fn seed, void *baton, int64_t *value, int *seeded)
{
    int dummy, lost = 0;
    if (!seeded)
        seeded = &dummy;
    *seeded = 0;
    *value = 0;
    cx_state_rc rc = cx_state_counter_get(st, key, value);
    if (rc != CX_STATE_NOTFOUND)
        return rc;
    return seed_or_read(st, key, ttl, seed, baton, value, seeded, &lost);
}

cx_state_rc cx_dbcounter_add(const cx_state *st, const char *key, int64_t delta,
                             apr_interval_time_t ttl, cx_dbcounter_seed_fn seed, void *baton,
                             int64_t *value, int *seeded)
{
    int dummy, lost = 0;
    if (!seeded)
        seeded = &dummy;
    *seeded = 0;
    *value = 0;
    cx_state_rc rc = cx_state_counter_add(st, key, delta, CX_STATE_NO_LIMIT, ttl,
                                          CX_STATE_NOCREATE, value);
    if (rc != CX_STATE_NOTFOUND)
        return rc;
    rc = seed_or_read(st, key, ttl, seed, baton, value, seeded, &lost);
    if (rc != CX_STATE_OK)
        return rc;
    /* Our own seed left our row out; whether another request's rebuild saw it is
     * unknowable. Count it either way (see header). */
    return cx_state_counter_add(st, key, delta, CX_STATE_NO_LIMIT, ttl, 0, value);
}
