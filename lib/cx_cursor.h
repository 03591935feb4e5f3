/* Conduix pagination cursors: opaque to clients, stable across inserts (they carry
 * the id of the last row returned; lists are ordered by id). A cursor is tied to
 * its list kind, so a keys cursor is refused by the audit list. */
#ifndef CX_CURSOR_H
#define CX_CURSOR_H

#include <stdint.h>
#include <apr_pools.h>

/* URL-safe text (no padding) encoding kind and id. */
const char *cx_cursor_encode(apr_pool_t *p, const char *kind, uint64_t id);

/* 1 and *id when cursor was made by cx_cursor_encode for kind, else 0. */
int cx_cursor_decode(apr_pool_t *p, const char *cursor, const char *kind, uint64_t *id);

#endif
