/* The stream relay's scheduling hint (cx_sched): a shorter slice for the calling
 * thread only, and nothing at all where the kernel has no slices to shorten. Each
 * test runs in its own forked process (Check), so a slice set here does not leak. */
#include "cx_sched.h"
#include "cx_unit.h"

#include <pthread.h>

START_TEST(test_zero_asks_for_nothing)
{
    uint64_t before = cx_sched_slice_current();
    ck_assert_int_eq(cx_sched_slice_set(0), 0);
    ck_assert_uint_eq(cx_sched_slice_current(), before);
}
END_TEST

START_TEST(test_a_shorter_slice_is_set)
{
    uint64_t before = cx_sched_slice_current();
    int applied = cx_sched_slice_set(200);
    if (before > 200000) {
        /* a kernel with EEVDF slices (6.12+): the thread now runs with 200 us */
        ck_assert_int_eq(applied, 1);
        ck_assert_uint_eq(cx_sched_slice_current(), 200000);
        /* asking again for the same changes nothing */
        ck_assert_int_eq(cx_sched_slice_set(200), 0);
        ck_assert_uint_eq(cx_sched_slice_current(), 200000);
    }
    else {
        /* no slices reported: nothing is changed */
        ck_assert_int_eq(applied, 0);
        ck_assert_uint_eq(cx_sched_slice_current(), before);
    }
}
END_TEST

START_TEST(test_a_slice_no_shorter_than_the_current_one_is_left_alone)
{
    uint64_t before = cx_sched_slice_current();
    /* 100 ms: longer than any default slice */
    ck_assert_int_eq(cx_sched_slice_set(100000), 0);
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
    o->applied = cx_sched_slice_set(200);
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
    tcase_add_test(tc, test_a_shorter_slice_is_set);
    tcase_add_test(tc, test_a_slice_no_shorter_than_the_current_one_is_left_alone);
    tcase_add_test(tc, test_only_the_calling_thread_changes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return cx_unit_run(sched_suite());
}
