/* The stream relay's scheduling hint (cx_sched): a shorter slice for the calling
 * thread only, given back afterwards, and nothing at all where the kernel has no
 * slices to shorten. Each test runs in its own forked process (Check), so a slice set
 * here does not leak. */
#include "cx_sched.h"
#include "cx_unit.h"

#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

START_TEST(test_zero_asks_for_nothing)
{
    uint64_t before = cx_sched_slice_current();
    cx_sched_saved_t saved;
    ck_assert_int_eq(cx_sched_slice_shorten(0, &saved), 0);
    ck_assert_uint_eq(saved.slice_ns, 0);
    ck_assert_uint_eq(cx_sched_slice_current(), before);
    cx_sched_slice_restore(&saved);   /* nothing to give back */
    ck_assert_uint_eq(cx_sched_slice_current(), before);
}
END_TEST

START_TEST(test_a_shorter_slice_is_set_and_given_back)
{
    uint64_t before = cx_sched_slice_current();
    cx_sched_saved_t saved;
    int applied = cx_sched_slice_shorten(200, &saved);
    if (before > 200000) {
        /* a kernel with EEVDF slices (6.12+): the thread now runs with 200 us */
        ck_assert_int_eq(applied, 1);
        ck_assert_uint_eq(saved.slice_ns, before);
        ck_assert_uint_eq(cx_sched_slice_current(), 200000);
        /* asking again for the same changes nothing and has nothing to give back */
        cx_sched_saved_t again;
        ck_assert_int_eq(cx_sched_slice_shorten(200, &again), 0);
        ck_assert_uint_eq(again.slice_ns, 0);
        cx_sched_slice_restore(&again);
        ck_assert_uint_eq(cx_sched_slice_current(), 200000);
        /* the first shortening's record gives the slice back */
        cx_sched_slice_restore(&saved);
        ck_assert_uint_eq(cx_sched_slice_current(), before);
        /* ...and is empty after: the relay reads from it whether it holds the slice */
        ck_assert_uint_eq(saved.slice_ns, 0);
    }
    else {
        /* no slices reported: nothing is changed */
        ck_assert_int_eq(applied, 0);
        ck_assert_uint_eq(cx_sched_slice_current(), before);
    }
}
END_TEST

START_TEST(test_the_nice_value_survives_a_round_trip)
{
    /* sched_setattr sets the nice value with the slice: it must come back as it was */
    ck_assert_int_eq(setpriority(PRIO_PROCESS, 0, 3), 0);
    int nice_before = getpriority(PRIO_PROCESS, 0);
    ck_assert_int_eq(nice_before, 3);
    uint64_t before = cx_sched_slice_current();
    cx_sched_saved_t saved;
    if (cx_sched_slice_shorten(200, &saved)) {
        ck_assert_int_eq(getpriority(PRIO_PROCESS, 0), nice_before);
        cx_sched_slice_restore(&saved);
    }
    ck_assert_int_eq(getpriority(PRIO_PROCESS, 0), nice_before);
    ck_assert_uint_eq(cx_sched_slice_current(), before);
}
END_TEST

START_TEST(test_a_slice_no_shorter_than_the_current_one_is_left_alone)
{
    uint64_t before = cx_sched_slice_current();
    cx_sched_saved_t saved;
    /* 100 ms: longer than any default slice */
    ck_assert_int_eq(cx_sched_slice_shorten(100000, &saved), 0);
    ck_assert_uint_eq(cx_sched_slice_current(), before);
}
END_TEST

typedef struct {
    uint64_t seen;
    int applied;
} other_t;

static void *other_thread(void *arg)
{
    other_t *o = arg;
    cx_sched_saved_t saved;
    o->applied = cx_sched_slice_shorten(200, &saved);
    o->seen = cx_sched_slice_current();
    return NULL;
}

START_TEST(test_only_the_calling_thread_changes)
{
    uint64_t before = cx_sched_slice_current();
    other_t o = {0};
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, other_thread, &o), 0);
    pthread_join(t, NULL);
    if (before > 200000) {
        ck_assert_int_eq(o.applied, 1);
        ck_assert_uint_eq(o.seen, 200000);
    }
    /* the other thread ran with its short slice; this one still has its own */
    ck_assert_uint_eq(cx_sched_slice_current(), before);
}
END_TEST

static Suite *sched_suite(void)
{
    Suite *s = suite_create("sched");
    TCase *tc = tcase_create("slice");
    tcase_add_test(tc, test_zero_asks_for_nothing);
    tcase_add_test(tc, test_a_shorter_slice_is_set_and_given_back);
    tcase_add_test(tc, test_the_nice_value_survives_a_round_trip);
    tcase_add_test(tc, test_a_slice_no_shorter_than_the_current_one_is_left_alone);
    tcase_add_test(tc, test_only_the_calling_thread_changes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return cx_unit_run(sched_suite());
}
