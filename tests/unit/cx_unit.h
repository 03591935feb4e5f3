/* What the Check unit tests share: `pool`, a fresh APR pool per test (the checked
 * fixture cx_unit_pool_setup / cx_unit_pool_teardown, run inside each test's forked
 * process), and cx_unit_run, which runs a suite with APR initialised and turns its
 * failures into the exit status make check reads. */
#ifndef CX_UNIT_H
#define CX_UNIT_H

#include <check.h>
#include <stdlib.h>

#include <apr_general.h>
#include <apr_pools.h>

static apr_pool_t *pool __attribute__((unused));

static inline void cx_unit_pool_setup(void)
{
    ck_assert_int_eq(apr_pool_create(&pool, NULL), APR_SUCCESS);
}

static inline void cx_unit_pool_teardown(void)
{
    apr_pool_destroy(pool);
    pool = NULL;
}

static inline int cx_unit_run(Suite *s)
{
    apr_initialize();
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    apr_terminate();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
