/* Conduix: the lock of a shared memory segment used by several processes (httpd's
 * children): a process-shared, robust pthread mutex placed in the segment itself.
 *
 * Robust, because a process may die holding it (killed, or crashed elsewhere in its
 * threads): the next locker is told, marks the mutex consistent and carries on, rather
 * than every process waiting for ever. Uncontended, locking costs two atomic
 * instructions and no system call (an fcntl() lock costs two system calls per
 * lock/unlock pair). */
#ifndef CX_SHMLOCK_H
#define CX_SHMLOCK_H

#define CX_SHMLOCK_SIZE 128   /* bytes the lock takes at the start of its memory */

/* Initialise the lock at mem (CX_SHMLOCK_SIZE bytes, shared between the processes,
 * suitably aligned). 0, or an errno value. */
int cx_shmlock_init(void *mem);

/* 0 once held; *recovered (may be NULL) is set when the previous holder died holding
 * it (whatever it was writing may be half-written). An errno value on failure. */
int cx_shmlock_lock(void *mem, int *recovered);
void cx_shmlock_unlock(void *mem);

#endif
