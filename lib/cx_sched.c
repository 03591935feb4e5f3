/* See cx_sched.h. glibc 2.36 has no wrapper for sched_getattr/sched_setattr, so the
 * system calls are made directly with the kernel's struct sched_attr. */
#include "cx_sched.h"

#include <string.h>

#if defined(__linux__)
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#if defined(__linux__) && defined(SYS_sched_getattr) && defined(SYS_sched_setattr)

/* The kernel's struct sched_attr (include/uapi/linux/sched/types.h), version 1. */
typedef struct {
    uint32_t size;
    uint32_t sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime;     /* SCHED_OTHER: the slice, in ns (6.12+) */
    uint64_t sched_deadline;
    uint64_t sched_period;
    uint32_t sched_util_min;
    uint32_t sched_util_max;
} kernel_sched_attr_t;

static int get_attr(kernel_sched_attr_t *a)
{
    memset(a, 0, sizeof *a);
    return (int)syscall(SYS_sched_getattr, 0, a, (unsigned)sizeof *a, 0u);
}

uint64_t cx_sched_slice_current(void)
{
    kernel_sched_attr_t a;
    if (get_attr(&a) != 0 || a.sched_policy != SCHED_OTHER)
        return 0;
    return a.sched_runtime;
}

int cx_sched_slice_shorten(unsigned slice_us, cx_sched_saved_t *saved)
{
    saved->slice_ns = 0;
    saved->nice = 0;
    if (!slice_us)
        return 0;
    kernel_sched_attr_t a;
    /* Only ordinary threads: a real-time or batch policy was the operator's choice.
     * A kernel that reports no slice (runtime 0 for SCHED_OTHER) has none to shorten. */
    if (get_attr(&a) != 0 || a.sched_policy != SCHED_OTHER || a.sched_runtime == 0)
        return 0;
    uint64_t want = (uint64_t)slice_us * 1000u;
    if (want >= a.sched_runtime)
        return 0;   /* already as short */
    uint64_t before = a.sched_runtime;
    /* The policy, nice value and utilisation hints read above are written back as
     * they were; only the slice changes. */
    a.size = sizeof a;
    a.sched_flags = 0;
    a.sched_runtime = want;
    if (syscall(SYS_sched_setattr, 0, &a, 0u) != 0)
        return 0;
    saved->slice_ns = before;
    saved->nice = a.sched_nice;
    return 1;
}

void cx_sched_slice_restore(cx_sched_saved_t *saved)
{
    if (!saved->slice_ns)
        return;
    /* No read first: the shortening read the attributes a moment ago, and only the
     * slice (and the nice value, which sched_setattr always sets) matter here. */
    kernel_sched_attr_t a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.sched_policy = SCHED_OTHER;
    a.sched_nice = saved->nice;
    a.sched_runtime = saved->slice_ns;
    (void)syscall(SYS_sched_setattr, 0, &a, 0u);
    saved->slice_ns = 0;
}

void cx_sched_step_aside(void)
{
    sched_yield();
}

#else

void cx_sched_step_aside(void)
{
}

uint64_t cx_sched_slice_current(void)
{
    return 0;
}

int cx_sched_slice_shorten(unsigned slice_us, cx_sched_saved_t *saved)
{
    (void)slice_us;
    saved->slice_ns = 0;
    saved->nice = 0;
    return 0;
}

void cx_sched_slice_restore(cx_sched_saved_t *saved)
{
    saved->slice_ns = 0;
}

#endif
