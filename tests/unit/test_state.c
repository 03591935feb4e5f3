/* Unit tests for the shared state table behind the `shm` backend: counters with
 * limits and TTLs, compare-and-set records, key/values with eviction, the
 * pointer-free layout (a copy at another address works), a randomized comparison
 * against a simple model, and exact atomicity across forked processes. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_shm.h>
#include <apr_strings.h>

#include "cx_unit.h"
#include "cx_shmlock.h"
#include "cx_state_table.h"

static apr_time_t fake_now;

static apr_time_t fake_clock(void)
{
    return fake_now;
}

static void setup(void)
{
    cx_unit_pool_setup();
    fake_now = apr_time_from_sec(1700000000);
}

/* A formatted region of size bytes on the heap (garbage first: format must not
 * rely on zeroed memory) with the fake clock. */
static cx_state *make_state(apr_size_t size, void **base_out)
{
    void *base = apr_palloc(pool, size);
    memset(base, 0xA5, size);
    ck_assert_int_eq(cx_state_table_format(base, size), 0);
    ck_assert(cx_state_table_valid(base, size));
    cx_state_table *t = cx_state_table_attach(pool, base, size, NULL, NULL, NULL);
    ck_assert_ptr_nonnull(t);
    cx_state_table_set_clock(t, fake_clock);
    cx_state *st = apr_pcalloc(pool, sizeof *st);
    st->ops = &cx_state_table_ops;
    st->inst = t;
    if (base_out)
        *base_out = base;
    return st;
}

START_TEST(test_format_and_validation)
{
    void *base = apr_palloc(pool, 1 << 20);
    ck_assert_int_eq(cx_state_table_format(base, 1024), -1);
    ck_assert_int_eq(cx_state_table_format(base, 1 << 20), 0);
    ck_assert(cx_state_table_valid(base, 1 << 20));
    ck_assert(!cx_state_table_valid(base, (1 << 20) - 64));   /* size must match */
    ((unsigned char *)base)[0] ^= 1;
    ck_assert(!cx_state_table_valid(base, 1 << 20));          /* magic */
    uint32_t nslots, nblocks;
    apr_size_t slot, block;
    cx_state_table_geometry(16 * 1024 * 1024, &nslots, &nblocks, &slot, &block);
    ck_assert_uint_eq(slot, 208);
    ck_assert_uint_eq(block, 256);
    ck_assert_uint_gt(nslots, 20000);
    ck_assert_uint_gt(nblocks, 48000);
    /* everything fits */
    ck_assert_uint_le((uint64_t)nslots * slot + (uint64_t)nblocks * (block + 4), 16 * 1024 * 1024);
}
END_TEST

START_TEST(test_counters)
{
    cx_state *st = make_state(256 * 1024, NULL);
    int64_t v = -1;
    ck_assert_int_eq(cx_state_counter_get(st, "c", &v), CX_STATE_NOTFOUND);
    ck_assert_int_eq(cx_state_counter_add(st, "c", 5, CX_STATE_NO_LIMIT, 0, CX_STATE_NOCREATE, &v),
                     CX_STATE_NOTFOUND);
    ck_assert_int_eq(cx_state_counter_get(st, "c", &v), CX_STATE_NOTFOUND);
    ck_assert_int_eq(cx_state_counter_add(st, "c", 5, CX_STATE_NO_LIMIT, 0, 0, &v), CX_STATE_OK);
    ck_assert_int_eq(v, 5);
    ck_assert_int_eq(cx_state_counter_add(st, "c", -2, CX_STATE_NO_LIMIT, 0, CX_STATE_NOCREATE, &v),
                     CX_STATE_OK);
    ck_assert_int_eq(v, 3);
    /* add if the result stays within the limit */
    ck_assert_int_eq(cx_state_counter_add(st, "c", 7, 10, 0, 0, &v), CX_STATE_OK);
    ck_assert_int_eq(v, 10);
    ck_assert_int_eq(cx_state_counter_add(st, "c", 1, 10, 0, 0, &v), CX_STATE_CONFLICT);
    ck_assert_int_eq(v, 10);
    ck_assert_int_eq(cx_state_counter_get(st, "c", &v), CX_STATE_OK);
    ck_assert_int_eq(v, 10);
    /* a new counter over the limit is not created */
    ck_assert_int_eq(cx_state_counter_add(st, "d", 11, 10, 0, 0, &v), CX_STATE_CONFLICT);
    ck_assert_int_eq(cx_state_counter_get(st, "d", &v), CX_STATE_NOTFOUND);
    /* overflow is refused, not wrapped */
    ck_assert_int_eq(cx_state_counter_add(st, "big", INT64_MAX - 1, CX_STATE_NO_LIMIT, 0, 0, &v),
                     CX_STATE_OK);
    ck_assert_int_eq(cx_state_counter_add(st, "big", 5, CX_STATE_NO_LIMIT, 0, 0, &v), CX_STATE_CONFLICT);
    ck_assert_int_eq(v, INT64_MAX - 1);
    /* seed only when absent */
    ck_assert_int_eq(cx_state_counter_seed(st, "s", 42, 0, &v), CX_STATE_OK);
    ck_assert_int_eq(v, 42);
    ck_assert_int_eq(cx_state_counter_seed(st, "s", 7, 0, &v), CX_STATE_CONFLICT);
    ck_assert_int_eq(v, 42);
}
END_TEST

START_TEST(test_ttl)
{
    cx_state *st = make_state(256 * 1024, NULL);
    int64_t v;
    ck_assert_int_eq(cx_state_counter_add(st, "w", 1, CX_STATE_NO_LIMIT, apr_time_from_sec(10), 0, &v),
                     CX_STATE_OK);
    fake_now += apr_time_from_sec(5);
    /* adding keeps the original expiry (fixed windows) */
    ck_assert_int_eq(cx_state_counter_add(st, "w", 1, CX_STATE_NO_LIMIT, apr_time_from_sec(10), 0, &v),
                     CX_STATE_OK);
    ck_assert_int_eq(v, 2);
    fake_now += apr_time_from_sec(5);
    ck_assert_int_eq(cx_state_counter_get(st, "w", &v), CX_STATE_NOTFOUND);
    ck_assert_int_eq(cx_state_counter_add(st, "w", 1, CX_STATE_NO_LIMIT, 0, 0, &v), CX_STATE_OK);
    ck_assert_int_eq(v, 1);

    ck_assert_int_eq(cx_state_kv_set(st, "k", "value", 5, apr_time_from_sec(3)), CX_STATE_OK);
    char *out;
    apr_size_t len;
    ck_assert_int_eq(cx_state_kv_get(st, pool, "k", &out, &len), CX_STATE_OK);
    fake_now += apr_time_from_sec(3);
    ck_assert_int_eq(cx_state_kv_get(st, pool, "k", &out, &len), CX_STATE_NOTFOUND);
}
END_TEST

START_TEST(test_records_cas)
{
    cx_state *st = make_state(256 * 1024, NULL);
    uint64_t v1 = 0, v2 = 0, cur = 0;
    char buf[CX_STATE_RECORD_MAX];
    apr_size_t len;
    ck_assert_int_eq(cx_state_record_get(st, "r", buf, sizeof buf, &len, &cur), CX_STATE_NOTFOUND);
    ck_assert_int_eq(cx_state_record_cas(st, "r", 5, "x", 1, 0, &v1), CX_STATE_CONFLICT);
    ck_assert_int_eq(cx_state_record_cas(st, "r", 0, "one", 3, 0, &v1), CX_STATE_OK);
    ck_assert_uint_ne(v1, 0);
    /* only the first of two writers expecting "absent" wins */
    ck_assert_int_eq(cx_state_record_cas(st, "r", 0, "two", 3, 0, &v2), CX_STATE_CONFLICT);
    ck_assert_uint_eq(v2, v1);
    ck_assert_int_eq(cx_state_record_get(st, "r", buf, sizeof buf, &len, &cur), CX_STATE_OK);
    ck_assert_uint_eq(len, 3);
    ck_assert(!memcmp(buf, "one", 3));
    ck_assert_uint_eq(cur, v1);
    /* a longer value goes to blocks; the version moves on */
    char big[CX_STATE_RECORD_MAX];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)('a' + i % 26);
    ck_assert_int_eq(cx_state_record_cas(st, "r", v1, big, sizeof big, 0, &v2), CX_STATE_OK);
    ck_assert_uint_gt(v2, v1);
    ck_assert_int_eq(cx_state_record_cas(st, "r", v1, "stale", 5, 0, NULL), CX_STATE_CONFLICT);
    ck_assert_int_eq(cx_state_record_get(st, "r", buf, sizeof buf, &len, &cur), CX_STATE_OK);
    ck_assert_uint_eq(len, sizeof big);
    ck_assert(!memcmp(buf, big, sizeof big));
    /* a shorter value again gives its blocks back */
    ck_assert_int_eq(cx_state_record_cas(st, "r", v2, "s", 1, 0, &v1), CX_STATE_OK);
    ck_assert_int_eq(cx_state_record_get(st, "r", buf, sizeof buf, &len, NULL), CX_STATE_OK);
    ck_assert_uint_eq(len, 1);
    ck_assert_int_eq(cx_state_record_cas(st, "r", v1, big, CX_STATE_RECORD_MAX + 1, 0, NULL),
                     CX_STATE_TOOBIG);
    /* kinds do not mix */
    int64_t c;
    ck_assert_int_eq(cx_state_counter_get(st, "r", &c), CX_STATE_CONFLICT);
    ck_assert_int_eq(cx_state_kv_set(st, "r", "x", 1, 0), CX_STATE_CONFLICT);
    ck_assert_int_eq(cx_state_del(st, "r"), CX_STATE_OK);
    ck_assert_int_eq(cx_state_record_get(st, "r", buf, sizeof buf, &len, NULL), CX_STATE_NOTFOUND);
}
END_TEST

START_TEST(test_keys_bounds)
{
    cx_state *st = make_state(256 * 1024, NULL);
    char key[CX_STATE_KEY_MAX + 2];
    memset(key, 'k', sizeof key);
    key[CX_STATE_KEY_MAX] = '\0';
    int64_t v;
    ck_assert_int_eq(cx_state_counter_add(st, key, 1, CX_STATE_NO_LIMIT, 0, 0, &v), CX_STATE_OK);
    key[CX_STATE_KEY_MAX] = 'k';
    key[CX_STATE_KEY_MAX + 1] = '\0';
    ck_assert_int_eq(cx_state_counter_add(st, key, 1, CX_STATE_NO_LIMIT, 0, 0, &v), CX_STATE_TOOBIG);
    ck_assert_int_eq(cx_state_counter_add(st, "", 1, CX_STATE_NO_LIMIT, 0, 0, &v), CX_STATE_TOOBIG);
    /* keys that share a prefix are different keys */
    ck_assert_int_eq(cx_state_counter_add(st, "ab", 1, CX_STATE_NO_LIMIT, 0, 0, &v), CX_STATE_OK);
    ck_assert_int_eq(cx_state_counter_add(st, "abc", 2, CX_STATE_NO_LIMIT, 0, 0, &v), CX_STATE_OK);
    ck_assert_int_eq(cx_state_counter_get(st, "ab", &v), CX_STATE_OK);
    ck_assert_int_eq(v, 1);
}
END_TEST

START_TEST(test_kv_values_and_pointer_free_copy)
{
    void *base;
    apr_size_t size = 512 * 1024;
    cx_state *st = make_state(size, &base);
    apr_size_t n = 10000;
    char *val = apr_palloc(pool, n);
    for (apr_size_t i = 0; i < n; i++)
        val[i] = (char)(i * 7 + 3);
    ck_assert_int_eq(cx_state_kv_set(st, "big", val, n, 0), CX_STATE_OK);
    ck_assert_int_eq(cx_state_kv_set(st, "small", "tiny", 4, 0), CX_STATE_OK);
    ck_assert_int_eq(cx_state_kv_set(st, "empty", "", 0, 0), CX_STATE_OK);
    char *out;
    apr_size_t len;
    ck_assert_int_eq(cx_state_kv_get(st, pool, "big", &out, &len), CX_STATE_OK);
    ck_assert_uint_eq(len, n);
    ck_assert(!memcmp(out, val, n));
    ck_assert_int_eq(cx_state_kv_get(st, pool, "empty", &out, &len), CX_STATE_OK);
    ck_assert_uint_eq(len, 0);

    /* The region holds offsets only: a byte copy at another address is the same state. */
    void *copy = apr_palloc(pool, size);
    memcpy(copy, base, size);
    memset(base, 0, size);
    cx_state_table *t2 = cx_state_table_attach(pool, copy, size, NULL, NULL, NULL);
    ck_assert_ptr_nonnull(t2);
    cx_state_table_set_clock(t2, fake_clock);
    cx_state st2 = {&cx_state_table_ops, t2};
    ck_assert_int_eq(cx_state_kv_get(&st2, pool, "big", &out, &len), CX_STATE_OK);
    ck_assert_uint_eq(len, n);
    ck_assert(!memcmp(out, val, n));
    ck_assert_int_eq(cx_state_kv_get(&st2, pool, "small", &out, &len), CX_STATE_OK);
    ck_assert_str_eq(out, "tiny");

    /* overwrite with a shorter value, delete */
    ck_assert_int_eq(cx_state_kv_set(&st2, "big", "short", 5, 0), CX_STATE_OK);
    ck_assert_int_eq(cx_state_kv_get(&st2, pool, "big", &out, &len), CX_STATE_OK);
    ck_assert_str_eq(out, "short");
    ck_assert_int_eq(cx_state_del(&st2, "big"), CX_STATE_OK);
    ck_assert_int_eq(cx_state_del(&st2, "big"), CX_STATE_NOTFOUND);
    /* one entry may not take more than its share */
    apr_size_t max = cx_state_kv_max(&st2);
    char *huge = apr_pcalloc(pool, max + 1);
    ck_assert_int_eq(cx_state_kv_set(&st2, "huge", huge, max + 1, 0), CX_STATE_TOOBIG);
    ck_assert_int_eq(cx_state_kv_set(&st2, "huge", huge, max, 0), CX_STATE_OK);
}
END_TEST

START_TEST(test_eviction_spares_counters_and_records)
{
    cx_state *st = make_state(CX_STATE_TABLE_MIN_SIZE * 2, NULL);
    int64_t v;
    ck_assert_int_eq(cx_state_counter_add(st, "keep:counter", 9, CX_STATE_NO_LIMIT, 0, 0, &v), CX_STATE_OK);
    ck_assert_int_eq(cx_state_record_cas(st, "keep:record", 0, "state", 5, 0, NULL), CX_STATE_OK);
    char blob[3000];
    memset(blob, 'z', sizeof blob);
    /* far more than fits: older entries make room for newer ones */
    for (int i = 0; i < 400; i++) {
        const char *k = apr_psprintf(pool, "kv:%d", i);
        ck_assert_int_eq(cx_state_kv_set(st, k, blob, sizeof blob, 0), CX_STATE_OK);
    }
    cx_state_stats_t stats;
    ck_assert_int_eq(cx_state_stats(st, &stats), CX_STATE_OK);
    ck_assert_uint_gt(stats.evictions, 0);
    char *out;
    apr_size_t len;
    ck_assert_int_eq(cx_state_kv_get(st, pool, "kv:399", &out, &len), CX_STATE_OK);
    ck_assert_int_eq(cx_state_counter_get(st, "keep:counter", &v), CX_STATE_OK);
    ck_assert_int_eq(v, 9);
    char buf[16];
    ck_assert_int_eq(cx_state_record_get(st, "keep:record", buf, sizeof buf, &len, NULL), CX_STATE_OK);
    ck_assert_uint_eq(len, 5);
}
END_TEST

START_TEST(test_full_of_counters)
{
    cx_state *st = make_state(CX_STATE_TABLE_MIN_SIZE, NULL);
    int64_t v;
    int ok = 0;
    cx_state_rc rc = CX_STATE_OK;
    for (int i = 0; i < 100000 && rc == CX_STATE_OK; i++) {
        rc = cx_state_counter_add(st, apr_psprintf(pool, "c%d", i), 1, CX_STATE_NO_LIMIT, 0, 0, &v);
        if (rc == CX_STATE_OK)
            ok++;
    }
    ck_assert_int_eq(rc, CX_STATE_FULL);       /* counters are never evicted */
    ck_assert_int_gt(ok, 10);
    for (int i = 0; i < ok; i++)
        ck_assert_int_eq(cx_state_counter_get(st, apr_psprintf(pool, "c%d", i), &v), CX_STATE_OK);
    /* a removed counter makes room again */
    ck_assert_int_eq(cx_state_del(st, "c0"), CX_STATE_OK);
    ck_assert_int_eq(cx_state_counter_add(st, "again", 1, CX_STATE_NO_LIMIT, 0, 0, &v), CX_STATE_OK);
}
END_TEST

/* Random operations against a trivially correct model: catches any slip in the
 * probing or the backward-shift deletion. */
START_TEST(test_random_against_model)
{
    cx_state *st = make_state(4 << 20, NULL);   /* room for every key at once */
    enum { NKEYS = 3000 };
    static int64_t model[NKEYS];
    static unsigned char present[NKEYS];
    memset(present, 0, sizeof present);
    uint64_t rng = 0x9E3779B97F4A7C15ULL;
    for (int step = 0; step < 60000; step++) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        int k = (int)(rng % NKEYS);
        int op = (int)((rng >> 32) % 3);
        char key[32];
        snprintf(key, sizeof key, "key-%d", k);
        int64_t v;
        if (op == 0) {
            ck_assert_int_eq(cx_state_counter_add(st, key, k + 1, CX_STATE_NO_LIMIT, 0, 0, &v), CX_STATE_OK);
            model[k] = present[k] ? model[k] + k + 1 : k + 1;
            present[k] = 1;
            ck_assert_int_eq(v, model[k]);
        }
        else if (op == 1) {
            ck_assert_int_eq(cx_state_del(st, key), present[k] ? CX_STATE_OK : CX_STATE_NOTFOUND);
            present[k] = 0;
        }
        else {
            cx_state_rc rc = cx_state_counter_get(st, key, &v);
            ck_assert_int_eq(rc, present[k] ? CX_STATE_OK : CX_STATE_NOTFOUND);
            if (present[k])
                ck_assert_int_eq(v, model[k]);
        }
    }
    for (int k = 0; k < NKEYS; k++) {
        char key[32];
        snprintf(key, sizeof key, "key-%d", k);
        int64_t v;
        ck_assert_int_eq(cx_state_counter_get(st, key, &v), present[k] ? CX_STATE_OK : CX_STATE_NOTFOUND);
    }
}
END_TEST

/* ---- several processes on one anonymous shared segment, as httpd children are */

/* The lock the gateway uses (lib/cx_shmlock.c): in the segment, before the table. */
static int shm_lock(void *baton)
{
    return cx_shmlock_lock(baton, NULL) == 0 ? 0 : -1;
}

static void shm_unlock(void *baton)
{
    cx_shmlock_unlock(baton);
}

START_TEST(test_atomic_across_processes)
{
    apr_size_t size = 1 << 20;
    apr_shm_t *shm;
    ck_assert_int_eq(apr_shm_create(&shm, size + CX_SHMLOCK_SIZE, NULL, pool), APR_SUCCESS);
    void *lock = apr_shm_baseaddr_get(shm);
    void *base = (char *)lock + CX_SHMLOCK_SIZE;
    ck_assert_int_eq(cx_shmlock_init(lock), 0);
    ck_assert_int_eq(cx_state_table_format(base, size), 0);

    enum { CHILDREN = 4, ROUNDS = 500, LIMIT = 700 };
    pid_t pids[CHILDREN];
    for (int c = 0; c < CHILDREN; c++) {
        pids[c] = fork();
        ck_assert_int_ge(pids[c], 0);
        if (pids[c] == 0) {
            apr_pool_t *cp;
            apr_pool_create(&cp, NULL);
            cx_state_table *t = cx_state_table_attach(cp, base, size, shm_lock, shm_unlock, lock);
            cx_state st = {&cx_state_table_ops, t};
            int granted = 0;
            for (int i = 0; i < ROUNDS; i++) {
                int64_t v;
                cx_state_counter_add(&st, "total", 1, CX_STATE_NO_LIMIT, 0, 0, &v);
                if (cx_state_counter_add(&st, "capped", 1, LIMIT, 0, 0, &v) == CX_STATE_OK)
                    granted++;
                /* CAS increments: lost updates would show in the final value */
                for (;;) {
                    char buf[32];
                    apr_size_t len = 0;
                    uint64_t ver = 0;
                    long n = 0;
                    if (cx_state_record_get(&st, "cas", buf, sizeof buf - 1, &len, &ver) == CX_STATE_OK) {
                        buf[len] = '\0';
                        n = strtol(buf, NULL, 10);
                    }
                    int w = snprintf(buf, sizeof buf, "%ld", n + 1);
                    if (cx_state_record_cas(&st, "cas", ver, buf, (apr_size_t)w, 0, NULL) == CX_STATE_OK)
                        break;
                }
            }
            int64_t v;
            cx_state_counter_add(&st, "granted", granted, CX_STATE_NO_LIMIT, 0, 0, &v);
            _exit(0);
        }
    }
    for (int c = 0; c < CHILDREN; c++) {
        int status;
        ck_assert_int_eq(waitpid(pids[c], &status, 0), pids[c]);
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    cx_state_table *t = cx_state_table_attach(pool, base, size, NULL, NULL, NULL);
    cx_state st = {&cx_state_table_ops, t};
    int64_t v;
    ck_assert_int_eq(cx_state_counter_get(&st, "total", &v), CX_STATE_OK);
    ck_assert_int_eq(v, CHILDREN * ROUNDS);
    ck_assert_int_eq(cx_state_counter_get(&st, "capped", &v), CX_STATE_OK);
    ck_assert_int_eq(v, LIMIT);
    ck_assert_int_eq(cx_state_counter_get(&st, "granted", &v), CX_STATE_OK);
    ck_assert_int_eq(v, LIMIT);        /* exactly LIMIT adds were granted, over all processes */
    char buf[32];
    apr_size_t len;
    ck_assert_int_eq(cx_state_record_get(&st, "cas", buf, sizeof buf - 1, &len, NULL), CX_STATE_OK);
    buf[len] = '\0';
    ck_assert_int_eq(atoi(buf), CHILDREN * ROUNDS);
    apr_shm_destroy(shm);
}
END_TEST

/* A child that dies holding the lock (killed mid-operation) does not lock the others
 * out: the next locker is told and gets the lock; after that it is a plain lock again. */
START_TEST(test_lock_survives_a_dead_holder)
{
    apr_shm_t *shm;
    ck_assert_int_eq(apr_shm_create(&shm, CX_SHMLOCK_SIZE, NULL, pool), APR_SUCCESS);
    void *lock = apr_shm_baseaddr_get(shm);
    ck_assert_int_eq(cx_shmlock_init(lock), 0);
    int recovered = -1;
    ck_assert_int_eq(cx_shmlock_lock(lock, &recovered), 0);
    ck_assert_int_eq(recovered, 0);
    cx_shmlock_unlock(lock);

    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        cx_shmlock_lock(lock, NULL);
        _exit(0);                     /* dies holding it */
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(cx_shmlock_lock(lock, &recovered), 0);
    ck_assert_int_eq(recovered, 1);
    cx_shmlock_unlock(lock);
    ck_assert_int_eq(cx_shmlock_lock(lock, &recovered), 0);
    ck_assert_int_eq(recovered, 0);

    /* held here: another process waits until it is let go */
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int r = 0;
        cx_shmlock_lock(lock, &r);
        cx_shmlock_unlock(lock);
        _exit(r == 0 ? 0 : 3);
    }
    usleep(100 * 1000);
    ck_assert_int_eq(waitpid(pid, &status, WNOHANG), 0);   /* still waiting for the lock */
    cx_shmlock_unlock(lock);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    apr_shm_destroy(shm);
}
END_TEST

static Suite *state_suite(void)
{
    Suite *s = suite_create("cx_state_table");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, cx_unit_pool_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_format_and_validation);
    tcase_add_test(tc, test_counters);
    tcase_add_test(tc, test_ttl);
    tcase_add_test(tc, test_records_cas);
    tcase_add_test(tc, test_keys_bounds);
    tcase_add_test(tc, test_kv_values_and_pointer_free_copy);
    tcase_add_test(tc, test_eviction_spares_counters_and_records);
    tcase_add_test(tc, test_full_of_counters);
    tcase_add_test(tc, test_random_against_model);
    tcase_add_test(tc, test_atomic_across_processes);
    tcase_add_test(tc, test_lock_survives_a_dead_holder);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return cx_unit_run(state_suite());
}
