/* Scheduling hint for the threads that relay streams.
 *
 * Linux's EEVDF scheduler (6.6+) lets a thread ask for a shorter time slice
 * (sched_setattr's sched_runtime for SCHED_OTHER, honoured from 6.12). A thread with
 * a shorter slice gets an earlier deadline when it wakes, so it can preempt a task
 * that is in the middle of a longer run on the CPU it is woken on. For a relay that
 * matters: a provider's event wakes the relay, often on the very CPU that is still
 * busy (the provider's process writing more events, another request), and with the
 * default slice the event waits for that run to end before it goes out.
 *
 * On kernels without slices (CFS, or sched_getattr reporting no runtime) and on
 * other systems these calls change nothing. */
#ifndef CX_SCHED_H
#define CX_SCHED_H

#include <stdint.h>

/* What cx_sched_slice_shorten changed, for cx_sched_slice_restore. */
typedef struct {
    uint64_t slice_ns;          /* the slice before; 0 when nothing was changed */
    int32_t nice;               /* written back with it: sched_setattr sets both */
} cx_sched_saved_t;

/* Asks for a slice of slice_us microseconds (the kernel keeps it within 100 us -
 * 100 ms) for the calling thread, when that is shorter than its current one and the
 * thread is an ordinary (SCHED_OTHER) one; 0 asks for nothing. Returns 1 when the
 * slice was changed; *saved then holds what cx_sched_slice_restore gives back. */
int cx_sched_slice_shorten(unsigned slice_us, cx_sched_saved_t *saved);

/* Gives the calling thread back the slice *saved holds (by value) and empties *saved;
 * nothing when the shortening changed nothing. While *saved holds a slice
 * (slice_ns != 0) the thread runs with the short one. A relay holds the short slice
 * only while it relays: kept for the plain requests a thread serves afterwards, it
 * made every thread preempt its neighbours (MariaDB, nginx, the other workers) more
 * often, which cost throughput under load (docs/performance.md, sixth round). */
void cx_sched_slice_restore(cx_sched_saved_t *saved);

/* The calling thread's current slice in nanoseconds; 0 when the kernel reports none. */
uint64_t cx_sched_slice_current(void);

/* Steps aside once for whatever else is runnable on this CPU (sched_yield). A relay
 * holding a short slice calls it after a stream's first event: that event's write
 * woke the client, often onto this very CPU, where the relay's earlier deadline would
 * otherwise keep the client waiting until the relay has handed on everything the
 * provider already sent. Under EEVDF a yield moves only the caller's deadline back by
 * one slice, so the relay runs again right after the client's read. */
void cx_sched_step_aside(void);

#endif
