/* Conduix shared state in one flat memory region: the engine of the `shm` backend.
 *
 * The region holds no pointers, only offsets and indexes, so every process may map
 * it at a different address and a segment kept across `apachectl graceful` stays
 * valid. Layout (all offsets from the start of the region, 64-byte aligned):
 *
 *   header   magic, layout version, geometry, free-block list head, the next
 *            CAS version, statistics
 *   slots    nslots x 208-byte slots: an open-addressing hash table with linear
 *            probing and backward-shift deletion (no tombstones). A slot holds the
 *            64-bit key hash, kind, expiry, version, counter, the key (<= 112 bytes)
 *            and up to 48 value bytes inline
 *   next     nblocks x uint32: the chain of value blocks (0 = end of chain)
 *   blocks   nblocks x 256-byte value blocks for values longer than 48 bytes
 *
 * About a quarter of the region goes to slots and the rest to blocks. The table
 * is at most 7/8 full; when a key/value needs room, expired entries are reaped
 * first, then other key/values (never counters or records) are evicted in table
 * order from a moving hand.
 *
 * The caller supplies the lock (the global mutex in httpd, nothing in unit
 * tests); every public operation holds it for its whole duration. */
#ifndef CX_STATE_TABLE_H
#define CX_STATE_TABLE_H

#include "cx_state.h"

#define CX_STATE_TABLE_MIN_SIZE (64 * 1024)

typedef struct cx_state_table cx_state_table;

typedef int (*cx_state_lock_fn)(void *baton);      /* 0 on success */
typedef void (*cx_state_unlock_fn)(void *baton);
typedef apr_time_t (*cx_state_clock_fn)(void);

/* Initialise a fresh region of size bytes (the memory need not be zeroed).
 * Returns 0, or -1 when size is below CX_STATE_TABLE_MIN_SIZE. */
int cx_state_table_format(void *base, apr_size_t size);

/* 1 when base holds a formatted region of exactly this size and layout. */
int cx_state_table_valid(const void *base, apr_size_t size);

/* A process-local handle on a formatted region. lock/unlock may be NULL. */
cx_state_table *cx_state_table_attach(apr_pool_t *p, void *base, apr_size_t size,
                                      cx_state_lock_fn lock, cx_state_unlock_fn unlock,
                                      void *baton);

/* Tests: replace apr_time_now. */
void cx_state_table_set_clock(cx_state_table *t, cx_state_clock_fn clock);

/* Count one reuse of the region across a restart (shown in stats). */
void cx_state_table_note_reuse(cx_state_table *t);

/* Geometry of a region of this size, for logs and docs. */
void cx_state_table_geometry(apr_size_t size, uint32_t *nslots, uint32_t *nblocks,
                             apr_size_t *slot_size, apr_size_t *block_size);

/* The backend: pass the table as the instance. */
extern const cx_state_ops cx_state_table_ops;

#endif
