/* Unit tests for cx_urlguard: every refused address class, public addresses, URL
 * shapes, embedded IPv4 in IPv6 forms, and the literal-without-DNS path. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>

#include "cx_urlguard.h"

static apr_pool_t *pool;

static void setup(void)
{
    ck_assert_int_eq(apr_pool_create(&pool, NULL), APR_SUCCESS);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static const char *refused_literals[] = {
    "0.0.0.0", "0.1.2.3", "10.0.0.1", "10.255.255.255", "100.64.0.1", "100.127.255.254",
    "127.0.0.1", "127.1.2.3", "169.254.169.254", "172.16.0.1", "172.31.255.255", "192.0.0.8",
    "192.0.2.10", "192.88.99.1", "192.168.1.1", "198.18.0.1", "198.19.255.255",
    "198.51.100.7", "203.0.113.9", "224.0.0.1", "239.255.255.250", "240.0.0.1",
    "255.255.255.255", "::", "::1", "::ffff:127.0.0.1", "::ffff:10.1.2.3", "::ffff:169.254.169.254",
    "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "::127.0.0.1", "100::1", "2001:db8::1", "2001::1",
    "2002:7f00:1::", "2002:c0a8:0101::1", "fc00::1", "fd12:3456::1", "fe80::1", "febf::1",
    "fec0::1", "ff02::1",
};

static const char *public_literals[] = {
    "8.8.8.8", "1.1.1.1", "93.184.216.34", "100.63.255.255", "100.128.0.0", "172.15.255.255",
    "172.32.0.0", "192.169.0.1", "198.17.255.255", "198.20.0.0", "223.255.255.255",
    "2606:4700:4700::1111", "2a00:1450:4001:80b::200e", "::ffff:8.8.8.8", "64:ff9b::808:808",
    "2002:808:808::1",
};

START_TEST(refused_address_classes)
{
    for (size_t i = 0; i < sizeof refused_literals / sizeof refused_literals[0]; i++) {
        const char *why = cx_urlguard_literal(refused_literals[i]);
        ck_assert_msg(why != NULL, "%s was accepted", refused_literals[i]);
        ck_assert_msg(strcmp(why, "not an IP address literal"), "%s not parsed", refused_literals[i]);
    }
}
END_TEST

START_TEST(public_addresses_pass)
{
    for (size_t i = 0; i < sizeof public_literals / sizeof public_literals[0]; i++)
        ck_assert_msg(cx_urlguard_literal(public_literals[i]) == NULL, "%s refused: %s",
                      public_literals[i], cx_urlguard_literal(public_literals[i]));
}
END_TEST

START_TEST(urls_with_literal_hosts)
{
    cx_urlguard_opts_t opts = {.allow_private = 0, .resolve = 0};
    static const char *bad[] = {
        "http://127.0.0.1/v1", "https://[::1]:8443/v1", "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.5:8000/v1", "http://0x7f.1/v1", "http://2130706433/v1", "http://127.1/",
        "http://[::ffff:127.0.0.1]/", "http://[fe80::1%25eth0]/", "http://localhost:8000/v1",
        "http://api.localhost/v1", "ftp://8.8.8.8/", "file:///etc/passwd", "gopher://8.8.8.8/",
        "http://user:pw@8.8.8.8/", "8.8.8.8/v1", "", "http://8.8.8.8/a b",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(cx_urlguard_check(pool, bad[i], &opts, NULL) != NULL, "%s accepted", bad[i]);
    const char *host = NULL;
    ck_assert_ptr_null(cx_urlguard_check(pool, "https://8.8.8.8:8443/v1", &opts, &host));
    ck_assert_str_eq(host, "8.8.8.8");
    ck_assert_ptr_null(cx_urlguard_check(pool, "https://[2606:4700:4700::1111]/v1", &opts, &host));
    ck_assert_str_eq(host, "2606:4700:4700::1111");
    /* A name is not resolved unless asked: syntax only. */
    ck_assert_ptr_null(cx_urlguard_check(pool, "https://llm.example.com/v1", &opts, &host));
    ck_assert_str_eq(host, "llm.example.com");
}
END_TEST

START_TEST(operator_override_and_resolution)
{
    cx_urlguard_opts_t allow = {.allow_private = 1, .resolve = 1};
    ck_assert_ptr_null(cx_urlguard_check(pool, "http://127.0.0.1:9000/v1", &allow, NULL));
    /* Names resolving to loopback are refused after resolution ("localhost" is also
     * refused by name; a numeric name goes through getaddrinfo). */
    cx_urlguard_opts_t resolve = {.allow_private = 0, .resolve = 1};
    const char *why = cx_urlguard_check(pool, "http://localhost/", &resolve, NULL);
    ck_assert_ptr_nonnull(why);
    why = cx_urlguard_check(pool, "http://no-such-host.invalid/", &resolve, NULL);
    ck_assert_ptr_nonnull(why);
    ck_assert_ptr_nonnull(strstr(why, "cannot be resolved"));
}
END_TEST

static Suite *urlguard_suite(void)
{
    Suite *s = suite_create("cx_urlguard");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, refused_address_classes);
    tcase_add_test(tc, public_addresses_pass);
    tcase_add_test(tc, urls_with_literal_hosts);
    tcase_add_test(tc, operator_override_and_resolution);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    apr_initialize();
    SRunner *sr = srunner_create(urlguard_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    apr_terminate();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
