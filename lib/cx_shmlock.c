#include "cx_shmlock.h"

#include <errno.h>
#include <pthread.h>

_Static_assert(sizeof(pthread_mutex_t) <= CX_SHMLOCK_SIZE, "the lock area holds a pthread mutex");

int cx_shmlock_init(void *mem)
{
    pthread_mutexattr_t a;
    int rc = pthread_mutexattr_init(&a);
    if (rc != 0)
        return rc;
    rc = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    if (rc == 0)
        rc = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    if (rc == 0)
        rc = pthread_mutex_init((pthread_mutex_t *)mem, &a);
    pthread_mutexattr_destroy(&a);
    return rc;
}

int cx_shmlock_lock(void *mem, int *recovered)
{
    pthread_mutex_t *m = mem;
    int rc = pthread_mutex_lock(m);
    if (recovered)
        *recovered = rc == EOWNERDEAD;
    if (rc == EOWNERDEAD)
        rc = pthread_mutex_consistent(m);
    return rc;
}

void cx_shmlock_unlock(void *mem)
{
    pthread_mutex_unlock((pthread_mutex_t *)mem);
}
