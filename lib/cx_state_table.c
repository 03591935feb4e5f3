/* Conduix shared state in one flat, pointer-free memory region (see the header
 * for the layout). Every public operation takes the caller's lock, works on
 * offsets from the region's base and releases the lock before returning. */
#include "cx_state_table.h"

#include <apr_strings.h>
#include <string.h>

#define MAGIC          UINT64_C(0x3145544154535843)   /* "CXSTATE1" */
#define LAYOUT_VERSION 1u
#define SLOT_INLINE    48u
#define BLOCK_SIZE     256u
#define REGION_ALIGN   64u

enum { KIND_FREE = 0, KIND_COUNTER = 1, KIND_RECORD = 2, KIND_KV = 3 };

typedef struct {
    uint64_t hash;            /* 0 = empty slot */
    int64_t expires;          /* apr_time_t; 0 = never */
    uint64_t version;         /* CAS version, unique over the region's life */
    int64_t counter;
    uint32_t value_len;
    uint32_t first_block;     /* block index + 1; 0 = the value is inline */
    uint16_t key_len;
    uint8_t kind;
    uint8_t pad[5];
    char key[CX_STATE_KEY_MAX];
    unsigned char inline_value[SLOT_INLINE];
} slot_t;

_Static_assert(sizeof(slot_t) == 208, "slot_t is part of the shared layout");

typedef struct {
    uint64_t magic;
    uint32_t layout;
    uint32_t slot_size;
    uint64_t size;
    uint64_t slots_off;
    uint64_t next_off;
    uint64_t blocks_off;
    uint32_t nslots;
    uint32_t nblocks;
    uint32_t block_size;
    uint32_t max_used;        /* load limit: 7/8 of nslots */
    uint32_t used;
    uint32_t free_blocks;
    uint32_t free_head;       /* block index + 1; 0 = none free */
    uint32_t hand;            /* where the next eviction scan starts */
    uint64_t next_version;
    uint64_t evictions;
    uint64_t reuses;
} header_t;

struct cx_state_table {
    unsigned char *base;
    apr_size_t size;
    header_t *h;
    slot_t *slots;
    uint32_t *next;
    unsigned char *blocks;
    cx_state_lock_fn lock;
    cx_state_unlock_fn unlock;
    void *baton;
    cx_state_clock_fn clock;
};

static uint64_t align_up(uint64_t v)
{
    return (v + REGION_ALIGN - 1) & ~(uint64_t)(REGION_ALIGN - 1);
}

/* ------------------------------------------------------------------ geometry */

typedef struct {
    uint64_t slots_off, next_off, blocks_off;
    uint32_t nslots, nblocks;
} geometry_t;

static int compute_geometry(apr_size_t size, geometry_t *g)
{
    if (size < CX_STATE_TABLE_MIN_SIZE)
        return -1;
    uint64_t hdr = align_up(sizeof(header_t));
    uint64_t avail = size - hdr;
    uint64_t ns = (avail / 4) / sizeof(slot_t);
    if (ns > UINT32_MAX / 2)
        ns = UINT32_MAX / 2;
    g->nslots = (uint32_t)ns;
    g->slots_off = hdr;
    uint64_t after_slots = align_up(hdr + ns * sizeof(slot_t));
    uint64_t rest = size > after_slots + 2 * REGION_ALIGN ? size - after_slots - 2 * REGION_ALIGN : 0;
    uint64_t nb = rest / (BLOCK_SIZE + sizeof(uint32_t));
    if (nb > UINT32_MAX - 1)
        nb = UINT32_MAX - 1;
    for (;;) {
        g->next_off = after_slots;
        g->blocks_off = align_up(after_slots + nb * sizeof(uint32_t));
        if (g->blocks_off + nb * BLOCK_SIZE <= size || nb == 0)
            break;
        nb--;
    }
    g->nblocks = (uint32_t)nb;
    return g->nslots >= 16 && g->nblocks >= 16 ? 0 : -1;
}

void cx_state_table_geometry(apr_size_t size, uint32_t *nslots, uint32_t *nblocks,
                             apr_size_t *slot_size, apr_size_t *block_size)
{
    geometry_t g = {0};
    compute_geometry(size, &g);
    *nslots = g.nslots;
    *nblocks = g.nblocks;
    *slot_size = sizeof(slot_t);
    *block_size = BLOCK_SIZE;
}

int cx_state_table_format(void *base, apr_size_t size)
{
    geometry_t g;
    if (compute_geometry(size, &g) != 0)
        return -1;
    unsigned char *b = base;
    header_t *h = base;
    memset(h, 0, sizeof *h);
    /* Empty slots are all-zero; blocks need no initialising, only the free list. */
    memset(b + g.slots_off, 0, (size_t)g.nslots * sizeof(slot_t));
    uint32_t *next = (uint32_t *)(b + g.next_off);
    for (uint32_t i = 0; i < g.nblocks; i++)
        next[i] = i + 1 < g.nblocks ? i + 2 : 0;
    h->layout = LAYOUT_VERSION;
    h->slot_size = sizeof(slot_t);
    h->size = size;
    h->slots_off = g.slots_off;
    h->next_off = g.next_off;
    h->blocks_off = g.blocks_off;
    h->nslots = g.nslots;
    h->nblocks = g.nblocks;
    h->block_size = BLOCK_SIZE;
    h->max_used = g.nslots - g.nslots / 8;
    h->free_blocks = g.nblocks;
    h->free_head = g.nblocks ? 1 : 0;
    h->next_version = 1;
    /* The magic goes in last: a half-formatted region never validates. */
    h->magic = MAGIC;
    return 0;
}

int cx_state_table_valid(const void *base, apr_size_t size)
{
    const header_t *h = base;
    geometry_t g;
    if (!base || compute_geometry(size, &g) != 0)
        return 0;
    return h->magic == MAGIC && h->layout == LAYOUT_VERSION && h->slot_size == sizeof(slot_t) &&
           h->size == size && h->slots_off == g.slots_off && h->next_off == g.next_off &&
           h->blocks_off == g.blocks_off && h->nslots == g.nslots && h->nblocks == g.nblocks &&
           h->block_size == BLOCK_SIZE;
}

cx_state_table *cx_state_table_attach(apr_pool_t *p, void *base, apr_size_t size,
                                      cx_state_lock_fn lock, cx_state_unlock_fn unlock,
                                      void *baton)
{
    if (!cx_state_table_valid(base, size))
        return NULL;
    cx_state_table *t = apr_pcalloc(p, sizeof *t);
    t->base = base;
    t->size = size;
    t->h = base;
    t->slots = (slot_t *)(t->base + t->h->slots_off);
    t->next = (uint32_t *)(t->base + t->h->next_off);
    t->blocks = t->base + t->h->blocks_off;
    t->lock = lock;
    t->unlock = unlock;
    t->baton = baton;
    t->clock = apr_time_now;
    return t;
}

void cx_state_table_set_clock(cx_state_table *t, cx_state_clock_fn clock)
{
    t->clock = clock ? clock : apr_time_now;
}

/* ------------------------------------------------------------------ locking */

static int lock(cx_state_table *t)
{
    return t->lock ? t->lock(t->baton) : 0;
}

static void unlock(cx_state_table *t)
{
    if (t->unlock)
        t->unlock(t->baton);
}

void cx_state_table_note_reuse(cx_state_table *t)
{
    if (lock(t) == 0) {
        t->h->reuses++;
        unlock(t);
    }
}

/* ------------------------------------------------------------------ hashing */

static uint64_t key_hash(const char *key, apr_size_t len)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);           /* FNV-1a ... */
    for (apr_size_t i = 0; i < len; i++) {
        h ^= (unsigned char)key[i];
        h *= UINT64_C(0x100000001b3);
    }
    h ^= h >> 33;                                        /* ... with a murmur finaliser */
    h *= UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 33;
    h *= UINT64_C(0xc4ceb9fe1a85ec53);
    h ^= h >> 33;
    return h ? h : 1;                                    /* 0 marks an empty slot */
}

/* ------------------------------------------------------------------ values */

static uint32_t blocks_for(apr_size_t len)
{
    return len <= SLOT_INLINE ? 0 : (uint32_t)((len + BLOCK_SIZE - 1) / BLOCK_SIZE);
}

static unsigned char *block_at(cx_state_table *t, uint32_t idx1)
{
    return t->blocks + (apr_size_t)(idx1 - 1) * BLOCK_SIZE;
}

/* Caller checked that enough blocks are free. */
static void value_store(cx_state_table *t, slot_t *s, const void *value, apr_size_t len)
{
    s->value_len = (uint32_t)len;
    s->first_block = 0;
    if (len <= SLOT_INLINE) {
        if (len)
            memcpy(s->inline_value, value, len);
        return;
    }
    uint32_t nb = blocks_for(len);
    header_t *h = t->h;
    const unsigned char *src = value;
    uint32_t first = h->free_head, cur = first, last = 0;
    for (uint32_t i = 0; i < nb; i++) {
        apr_size_t n = len > BLOCK_SIZE ? BLOCK_SIZE : len;
        memcpy(block_at(t, cur), src, n);
        src += n;
        len -= n;
        last = cur;
        cur = t->next[cur - 1];
    }
    h->free_head = cur;
    t->next[last - 1] = 0;
    h->free_blocks -= nb;
    s->first_block = first;
}

static void value_free(cx_state_table *t, slot_t *s)
{
    if (!s->first_block)
        return;
    header_t *h = t->h;
    uint32_t cur = s->first_block, n = 1;
    while (t->next[cur - 1]) {
        cur = t->next[cur - 1];
        n++;
    }
    t->next[cur - 1] = h->free_head;
    h->free_head = s->first_block;
    h->free_blocks += n;
    s->first_block = 0;
}

static void value_copy(cx_state_table *t, const slot_t *s, unsigned char *dst, apr_size_t cap)
{
    apr_size_t len = s->value_len < cap ? s->value_len : cap;
    if (!s->first_block) {
        memcpy(dst, s->inline_value, len);
        return;
    }
    uint32_t cur = s->first_block;
    while (len > 0 && cur) {
        apr_size_t n = len > BLOCK_SIZE ? BLOCK_SIZE : len;
        memcpy(dst, block_at(t, cur), n);
        dst += n;
        len -= n;
        cur = t->next[cur - 1];
    }
}

/* ------------------------------------------------------------------ table */

static int expired(const slot_t *s, apr_time_t now)
{
    return s->expires != 0 && s->expires <= now;
}

/* Index of the slot holding key, or -1 with *empty = where it would go
 * (UINT32_MAX when the probe went all the way round). */
static long find(cx_state_table *t, const char *key, uint16_t klen, uint64_t hash, uint32_t *empty)
{
    uint32_t n = t->h->nslots;
    uint32_t i = (uint32_t)(hash % n);
    for (uint32_t step = 0; step < n; step++) {
        slot_t *s = &t->slots[i];
        if (!s->hash) {
            *empty = i;
            return -1;
        }
        if (s->hash == hash && s->key_len == klen && !memcmp(s->key, key, klen))
            return (long)i;
        i = i + 1 == n ? 0 : i + 1;
    }
    *empty = UINT32_MAX;
    return -1;
}

/* Linear-probing deletion without tombstones: pull later members of the probe
 * run back into the hole so that every lookup still stops at the first empty
 * slot. Slots are moved by value; nothing refers to a slot's position. */
static void remove_at(cx_state_table *t, uint32_t i)
{
    uint32_t n = t->h->nslots;
    value_free(t, &t->slots[i]);
    memset(&t->slots[i], 0, sizeof(slot_t));
    t->h->used--;
    uint32_t j = i;
    for (;;) {
        j = j + 1 == n ? 0 : j + 1;
        slot_t *s = &t->slots[j];
        if (!s->hash)
            return;
        uint32_t home = (uint32_t)(s->hash % n);
        int stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (stays)
            continue;
        t->slots[i] = *s;
        memset(s, 0, sizeof(slot_t));
        i = j;
    }
}

/* The live slot for key (expired entries are reaped on the way), or -1. */
static long lookup(cx_state_table *t, const char *key, uint16_t klen, uint64_t hash,
                   apr_time_t now, uint32_t *empty)
{
    long idx = find(t, key, klen, hash, empty);
    if (idx >= 0 && expired(&t->slots[idx], now)) {
        remove_at(t, (uint32_t)idx);
        idx = find(t, key, klen, hash, empty);
    }
    return idx;
}

static int room_ok(cx_state_table *t, uint32_t need_blocks, int need_slot)
{
    return t->h->free_blocks >= need_blocks && (!need_slot || t->h->used < t->h->max_used);
}

/* Reap expired entries, then (when allowed) evict key/values, from the hand on,
 * until the room is there or every slot was looked at. */
static int make_room(cx_state_table *t, uint32_t need_blocks, int need_slot, apr_time_t now,
                     int evict_kv)
{
    header_t *h = t->h;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1 && !evict_kv)
            break;
        for (uint32_t steps = 0; steps < h->nslots && !room_ok(t, need_blocks, need_slot); steps++) {
            uint32_t i = h->hand % h->nslots;
            slot_t *s = &t->slots[i];
            if (s->hash && (expired(s, now) || (pass == 1 && s->kind == KIND_KV))) {
                if (!expired(s, now))
                    h->evictions++;
                remove_at(t, i);   /* a later slot may now sit at i: look again */
                continue;
            }
            h->hand = i + 1 == h->nslots ? 0 : i + 1;
        }
        if (room_ok(t, need_blocks, need_slot))
            return 1;
    }
    return room_ok(t, need_blocks, need_slot);
}

static cx_state_rc insert(cx_state_table *t, const char *key, uint16_t klen, uint64_t hash,
                          int kind, const void *value, apr_size_t vlen, int64_t counter,
                          apr_interval_time_t ttl, apr_time_t now, slot_t **out)
{
    uint32_t nb = blocks_for(vlen);
    if (nb > t->h->nblocks)
        return CX_STATE_TOOBIG;
    if (!room_ok(t, nb, 1) && !make_room(t, nb, 1, now, 1))
        return CX_STATE_FULL;
    uint32_t empty;
    if (find(t, key, klen, hash, &empty) >= 0 || empty == UINT32_MAX)
        return CX_STATE_ERROR;   /* callers looked the key up first */
    slot_t *s = &t->slots[empty];
    memset(s, 0, sizeof *s);
    s->hash = hash;
    s->kind = (uint8_t)kind;
    s->key_len = klen;
    memcpy(s->key, key, klen);
    s->expires = ttl > 0 ? now + ttl : 0;
    s->version = t->h->next_version++;
    s->counter = counter;
    value_store(t, s, value, vlen);
    t->h->used++;
    if (out)
        *out = s;
    return CX_STATE_OK;
}

/* ------------------------------------------------------------------ operations */

#define BEGIN(t, key, klen, hash)                                   \
    apr_size_t klen##_full = key ? strlen(key) : 0;                 \
    if (!key || klen##_full == 0 || klen##_full > CX_STATE_KEY_MAX) \
        return CX_STATE_TOOBIG;                                     \
    uint16_t klen = (uint16_t)klen##_full;                          \
    uint64_t hash = key_hash(key, klen);                            \
    apr_time_t now = t->clock();                                    \
    if (lock(t) != 0)                                               \
        return CX_STATE_ERROR;

/* The live entry under key when it holds a value of this kind; otherwise NULL, with
 * *rc NOTFOUND (no such entry) or CONFLICT (an entry of another kind). */
static slot_t *entry_of_kind(cx_state_table *t, const char *key, uint16_t klen, uint64_t hash,
                             apr_time_t now, int kind, cx_state_rc *rc)
{
    uint32_t empty;
    long idx = lookup(t, key, klen, hash, now, &empty);
    if (idx < 0) {
        *rc = CX_STATE_NOTFOUND;
        return NULL;
    }
    if (t->slots[idx].kind != kind) {
        *rc = CX_STATE_CONFLICT;
        return NULL;
    }
    *rc = CX_STATE_OK;
    return &t->slots[idx];
}

static cx_state_rc tbl_counter_add(void *inst, const char *key, int64_t delta, int64_t limit,
                                   apr_interval_time_t ttl, unsigned flags, int64_t *value)
{
    cx_state_table *t = inst;
    BEGIN(t, key, klen, hash);
    cx_state_rc rc;
    uint32_t empty;
    long idx = lookup(t, key, klen, hash, now, &empty);
    if (idx >= 0) {
        slot_t *s = &t->slots[idx];
        int64_t sum;
        if (s->kind != KIND_COUNTER) {
            rc = CX_STATE_CONFLICT;
        }
        else if (__builtin_add_overflow(s->counter, delta, &sum) || sum > limit) {
            if (value)
                *value = s->counter;
            rc = CX_STATE_CONFLICT;
        }
        else {
            s->counter = sum;
            if (value)
                *value = sum;
            rc = CX_STATE_OK;
        }
    }
    else if (flags & CX_STATE_NOCREATE) {
        rc = CX_STATE_NOTFOUND;
    }
    else if (delta > limit) {
        if (value)
            *value = 0;
        rc = CX_STATE_CONFLICT;
    }
    else {
        rc = insert(t, key, klen, hash, KIND_COUNTER, NULL, 0, delta, ttl, now, NULL);
        if (rc == CX_STATE_OK && value)
            *value = delta;
    }
    unlock(t);
    return rc;
}

static cx_state_rc tbl_counter_get(void *inst, const char *key, int64_t *value)
{
    cx_state_table *t = inst;
    BEGIN(t, key, klen, hash);
    cx_state_rc rc;
    const slot_t *s = entry_of_kind(t, key, klen, hash, now, KIND_COUNTER, &rc);
    if (s)
        *value = s->counter;
    unlock(t);
    return rc;
}

static cx_state_rc tbl_counter_seed(void *inst, const char *key, int64_t value,
                                    apr_interval_time_t ttl, int64_t *current)
{
    cx_state_table *t = inst;
    BEGIN(t, key, klen, hash);
    cx_state_rc rc;
    uint32_t empty;
    long idx = lookup(t, key, klen, hash, now, &empty);
    if (idx >= 0) {
        if (current && t->slots[idx].kind == KIND_COUNTER)
            *current = t->slots[idx].counter;
        rc = CX_STATE_CONFLICT;
    }
    else {
        rc = insert(t, key, klen, hash, KIND_COUNTER, NULL, 0, value, ttl, now, NULL);
        if (rc == CX_STATE_OK && current)
            *current = value;
    }
    unlock(t);
    return rc;
}

static cx_state_rc tbl_record_get(void *inst, const char *key, void *buf, apr_size_t cap,
                                  apr_size_t *len, uint64_t *version)
{
    cx_state_table *t = inst;
    BEGIN(t, key, klen, hash);
    cx_state_rc rc;
    slot_t *s = entry_of_kind(t, key, klen, hash, now, KIND_RECORD, &rc);
    if (s) {
        value_copy(t, s, buf, cap);
        if (len)
            *len = s->value_len;
        if (version)
            *version = s->version;
    }
    unlock(t);
    return rc;
}

static cx_state_rc tbl_record_cas(void *inst, const char *key, uint64_t expected, const void *value,
                                  apr_size_t len, apr_interval_time_t ttl, uint64_t *version)
{
    cx_state_table *t = inst;
    if (len > CX_STATE_RECORD_MAX)
        return CX_STATE_TOOBIG;
    BEGIN(t, key, klen, hash);
    cx_state_rc rc;
    uint32_t empty;
    long idx = lookup(t, key, klen, hash, now, &empty);
    if (idx < 0) {
        if (expected != 0) {
            if (version)
                *version = 0;
            rc = CX_STATE_CONFLICT;
        }
        else {
            slot_t *s = NULL;
            rc = insert(t, key, klen, hash, KIND_RECORD, value, len, 0, ttl, now, &s);
            if (rc == CX_STATE_OK && version)
                *version = s->version;
        }
        unlock(t);
        return rc;
    }
    slot_t *s = &t->slots[idx];
    if (s->kind != KIND_RECORD || s->version != expected) {
        if (version)
            *version = s->kind == KIND_RECORD ? s->version : 0;
        unlock(t);
        return CX_STATE_CONFLICT;
    }
    uint32_t have = s->first_block ? blocks_for(s->value_len) : 0;
    uint32_t need = blocks_for(len);
    if (need > have && t->h->free_blocks < need - have) {
        /* Making room moves slots around: find the record again afterwards. */
        if (!make_room(t, need - have, 0, now, 1)) {
            unlock(t);
            return CX_STATE_FULL;
        }
        idx = lookup(t, key, klen, hash, now, &empty);
        if (idx < 0) {
            unlock(t);
            return CX_STATE_ERROR;   /* records are never evicted: cannot happen */
        }
        s = &t->slots[idx];
    }
    value_free(t, s);
    value_store(t, s, value, len);
    s->expires = ttl > 0 ? now + ttl : 0;
    s->version = t->h->next_version++;
    if (version)
        *version = s->version;
    unlock(t);
    return CX_STATE_OK;
}

static apr_size_t tbl_kv_max(void *inst)
{
    cx_state_table *t = inst;
    /* One entry may take at most a quarter of the value space. */
    return (apr_size_t)t->h->nblocks * BLOCK_SIZE / 4;
}

static cx_state_rc tbl_kv_get(void *inst, apr_pool_t *p, const char *key, char **value,
                              apr_size_t *len)
{
    cx_state_table *t = inst;
    BEGIN(t, key, klen, hash);
    cx_state_rc rc;
    slot_t *s = entry_of_kind(t, key, klen, hash, now, KIND_KV, &rc);
    if (s) {
        char *buf = apr_palloc(p, (apr_size_t)s->value_len + 1);
        value_copy(t, s, (unsigned char *)buf, s->value_len);
        buf[s->value_len] = '\0';
        *value = buf;
        if (len)
            *len = s->value_len;
    }
    unlock(t);
    return rc;
}

static cx_state_rc tbl_kv_set(void *inst, const char *key, const void *value, apr_size_t len,
                              apr_interval_time_t ttl)
{
    cx_state_table *t = inst;
    if (len > tbl_kv_max(inst))
        return CX_STATE_TOOBIG;
    BEGIN(t, key, klen, hash);
    cx_state_rc rc;
    uint32_t empty;
    long idx = lookup(t, key, klen, hash, now, &empty);
    if (idx >= 0 && t->slots[idx].kind != KIND_KV) {
        rc = CX_STATE_CONFLICT;
    }
    else {
        if (idx >= 0)
            remove_at(t, (uint32_t)idx);
        rc = insert(t, key, klen, hash, KIND_KV, value, len, 0, ttl, now, NULL);
    }
    unlock(t);
    return rc;
}

static cx_state_rc tbl_del(void *inst, const char *key)
{
    cx_state_table *t = inst;
    BEGIN(t, key, klen, hash);
    uint32_t empty;
    long idx = lookup(t, key, klen, hash, now, &empty);
    if (idx >= 0)
        remove_at(t, (uint32_t)idx);
    unlock(t);
    return idx >= 0 ? CX_STATE_OK : CX_STATE_NOTFOUND;
}

static cx_state_rc tbl_stats(void *inst, cx_state_stats_t *out)
{
    cx_state_table *t = inst;
    if (lock(t) != 0)
        return CX_STATE_ERROR;
    header_t *h = t->h;
    out->backend = "shm";
    out->capacity_bytes = h->size;
    out->entries = h->used;
    out->max_entries = h->max_used;
    out->value_bytes_free = (uint64_t)h->free_blocks * BLOCK_SIZE;
    out->evictions = h->evictions;
    out->generation_reuses = h->reuses;
    unlock(t);
    return CX_STATE_OK;
}

const cx_state_ops cx_state_table_ops = {
    .name = "shm",
    .counter_add = tbl_counter_add,
    .counter_get = tbl_counter_get,
    .counter_seed = tbl_counter_seed,
    .record_get = tbl_record_get,
    .record_cas = tbl_record_cas,
    .kv_get = tbl_kv_get,
    .kv_set = tbl_kv_set,
    .del = tbl_del,
    .stats = tbl_stats,
    .kv_max = tbl_kv_max,
};
