/* Tests for cx_ssrf (every forbidden address class, IPv4 and IPv6, embedded IPv4,
 * allowlists, URL checks and address pinning) and for BYO model ids (cx_byo).
 * Nothing here opens a connection: addresses are classified, names resolved. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "cx_unit.h"
#include "cx_byo.h"
#include "cx_ssrf.h"

/* The class of a numeric address ("public" when none). */
static const char *cls(const char *text)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (strchr(text, ':')) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        ck_assert_int_eq(inet_pton(AF_INET6, text, &s6->sin6_addr), 1);
    }
    else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        ck_assert_int_eq(inet_pton(AF_INET, text, &s4->sin_addr), 1);
    }
    const char *c = cx_ssrf_classify((struct sockaddr *)&ss);
    return c ? c : "public";
}

START_TEST(test_ipv4_classes)
{
    struct { const char *addr, *want; } cases[] = {
        {"127.0.0.1", "loopback"}, {"127.255.255.254", "loopback"},
        {"10.0.0.1", "private"}, {"10.255.255.255", "private"},
        {"172.16.0.1", "private"}, {"172.31.255.255", "private"}, {"172.32.0.1", "public"},
        {"172.15.255.255", "public"},
        {"192.168.1.1", "private"}, {"192.169.0.1", "public"},
        {"100.64.0.1", "shared"}, {"100.127.255.255", "shared"}, {"100.128.0.1", "public"},
        {"169.254.169.254", "link-local"}, {"169.254.0.1", "link-local"},
        {"0.0.0.0", "unspecified"}, {"0.1.2.3", "unspecified"},
        {"224.0.0.1", "multicast"}, {"239.255.255.250", "multicast"},
        {"240.0.0.1", "reserved"}, {"255.255.255.255", "broadcast"},
        {"192.0.2.1", "reserved"}, {"198.51.100.7", "reserved"}, {"203.0.113.9", "reserved"},
        {"198.18.0.1", "reserved"}, {"198.19.255.255", "reserved"}, {"192.0.0.8", "reserved"},
        {"192.88.99.1", "reserved"},
        {"8.8.8.8", "public"}, {"1.1.1.1", "public"}, {"93.184.216.34", "public"},
        {"11.0.0.1", "public"}, {"126.255.255.255", "public"}, {"128.0.0.1", "public"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ck_assert_msg(!strcmp(cls(cases[i].addr), cases[i].want), "%s: got %s, want %s",
                      cases[i].addr, cls(cases[i].addr), cases[i].want);
}
END_TEST

START_TEST(test_ipv6_classes)
{
    struct { const char *addr, *want; } cases[] = {
        {"::1", "loopback"}, {"::", "unspecified"},
        {"fe80::1", "link-local"}, {"febf::1", "link-local"},
        {"fc00::1", "private"}, {"fd12:3456::1", "private"}, {"fec0::1", "private"},
        {"ff02::1", "multicast"}, {"ff05::2", "multicast"},
        {"2001:db8::1", "reserved"}, {"2001::1", "reserved"}, {"100::1", "reserved"},
        {"64:ff9b:1::1", "reserved"}, {"::2", "reserved"},
        /* IPv4 inside IPv6: judged by the IPv4 address */
        {"::ffff:127.0.0.1", "loopback"}, {"::ffff:10.1.2.3", "private"},
        {"::ffff:169.254.169.254", "link-local"}, {"::ffff:0.0.0.0", "unspecified"},
        {"::ffff:8.8.8.8", "public"},
        {"::127.0.0.1", "reserved"},                      /* IPv4-compatible (deprecated) */
        {"64:ff9b::a00:1", "private"}, {"64:ff9b::7f00:1", "loopback"},   /* NAT64 */
        {"64:ff9b::808:808", "public"},
        {"2002:a00:1::1", "private"}, {"2002:7f00:1::", "loopback"},      /* 6to4 */
        {"2002:808:808::1", "public"},
        {"2606:4700:4700::1111", "public"}, {"2a00:1450:4001::200e", "public"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ck_assert_msg(!strcmp(cls(cases[i].addr), cases[i].want), "%s: got %s, want %s",
                      cases[i].addr, cls(cases[i].addr), cases[i].want);
}
END_TEST

START_TEST(test_policy_allowlist)
{
    cx_ssrf_policy_t *pol = cx_ssrf_policy_create(pool);
    ck_assert_ptr_null(cx_ssrf_policy_allow(pol, "10.20.0.0/16"));
    ck_assert_ptr_null(cx_ssrf_policy_allow(pol, "127.0.0.1"));
    ck_assert_ptr_null(cx_ssrf_policy_allow(pol, "fd00:1234::/32"));
    ck_assert_ptr_nonnull(cx_ssrf_policy_allow(pol, "10.0.0.0/33"));
    ck_assert_ptr_nonnull(cx_ssrf_policy_allow(pol, "fd00::/129"));
    ck_assert_ptr_nonnull(cx_ssrf_policy_allow(pol, "not-an-address"));
    ck_assert_ptr_nonnull(cx_ssrf_policy_allow(pol, "10.0.0.0/"));

    struct { const char *addr; int allowed; } cases[] = {
        {"10.20.3.4", 1}, {"10.21.0.1", 0}, {"127.0.0.1", 1}, {"127.0.0.2", 0},
        {"::ffff:127.0.0.1", 1}, {"::ffff:10.20.0.9", 1}, {"::1", 0},
        {"fd00:1234:5::1", 1}, {"fd00:1235::1", 0}, {"8.8.8.8", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sockaddr_storage ss;
        memset(&ss, 0, sizeof ss);
        if (strchr(cases[i].addr, ':')) {
            ((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
            inet_pton(AF_INET6, cases[i].addr, &((struct sockaddr_in6 *)&ss)->sin6_addr);
        }
        else {
            ((struct sockaddr_in *)&ss)->sin_family = AF_INET;
            inet_pton(AF_INET, cases[i].addr, &((struct sockaddr_in *)&ss)->sin_addr);
        }
        ck_assert_msg(cx_ssrf_allowed(pol, (struct sockaddr *)&ss, NULL) == cases[i].allowed,
                      "%s", cases[i].addr);
        /* without the policy only public addresses pass */
        ck_assert_int_eq(cx_ssrf_allowed(NULL, (struct sockaddr *)&ss, NULL),
                         !strcmp(cases[i].addr, "8.8.8.8"));
    }
}
END_TEST

/* Every forbidden class through the URL check the gateway runs before a BYO call. */
START_TEST(test_check_url_refuses_every_class)
{
    const char *urls[] = {
        "http://127.0.0.1:8080/v1", "http://127.1.2.3/v1", "http://[::1]:9000/v1",
        "http://10.0.0.1/v1", "http://172.16.5.4/v1", "http://192.168.0.10/v1",
        "http://100.64.1.1/v1", "http://169.254.169.254/latest/meta-data",
        "http://0.0.0.0:80/v1", "http://[::]/v1", "http://224.0.0.251/v1",
        "http://255.255.255.255/v1", "http://240.1.1.1/v1", "http://192.0.2.10/v1",
        "https://[fe80::1]/v1", "https://[fd00::5]/v1", "https://[ff02::1]/v1",
        "https://[2001:db8::1]/v1", "http://[::ffff:127.0.0.1]/v1", "http://[::ffff:a00:1]/v1",
        "http://[64:ff9b::a9fe:a9fe]/v1", "http://[2002:c0a8:1::1]/v1",
        "http://localhost:8080/v1",        /* a name: resolved first, then judged */
        "http://2130706433/v1",            /* 127.0.0.1 written as one number */
        "http://0x7f.1/v1",
    };
    cx_ssrf_policy_t *pol = cx_ssrf_policy_create(pool);
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        const char *pin = "unset";
        const char *why = cx_ssrf_check_url(pool, pol, urls[i], &pin);
        ck_assert_msg(why != NULL, "%s was allowed", urls[i]);
        ck_assert_msg(strstr(why, "address") != NULL, "%s: unclear refusal: %s", urls[i], why);
        ck_assert_ptr_null(pin);
    }
}
END_TEST

START_TEST(test_check_url_form)
{
    const char *pin;
    cx_ssrf_policy_t *pol = cx_ssrf_policy_create(pool);
    ck_assert_ptr_nonnull(strstr(cx_ssrf_check_url(pool, pol, "ftp://8.8.8.8/x", &pin), "scheme"));
    ck_assert_ptr_nonnull(strstr(cx_ssrf_check_url(pool, pol, "file:///etc/passwd", &pin), "URL"));
    ck_assert_ptr_nonnull(strstr(cx_ssrf_check_url(pool, pol, "http://u:p@8.8.8.8/", &pin), "credentials"));
    ck_assert_ptr_nonnull(cx_ssrf_check_url(pool, pol, "not a url", &pin));
    /* a public literal passes, with nothing to pin */
    ck_assert_ptr_null(cx_ssrf_check_url(pool, pol, "https://8.8.8.8/v1", &pin));
    ck_assert_ptr_null(pin);
    ck_assert_ptr_null(cx_ssrf_check_url(pool, pol, "https://[2606:4700:4700::1111]:8443/v1", &pin));
}
END_TEST

START_TEST(test_check_url_pins_resolved_addresses)
{
    cx_ssrf_policy_t *pol = cx_ssrf_policy_create(pool);
    ck_assert_ptr_null(cx_ssrf_policy_allow(pol, "127.0.0.0/8"));
    ck_assert_ptr_null(cx_ssrf_policy_allow(pol, "::1"));
    const char *pin = NULL;
    const char *why = cx_ssrf_check_url(pool, pol, "http://localhost:8080/v1", &pin);
    ck_assert_msg(why == NULL, "%s", why);
    ck_assert_ptr_nonnull(pin);
    /* curl's CURLOPT_RESOLVE form: name:port:addresses, only checked ones */
    ck_assert_msg(!strncmp(pin, "localhost:8080:", 15), "%s", pin);
    ck_assert_msg(strstr(pin, "127.0.0.1") || strstr(pin, "[::1]"), "%s", pin);
    why = cx_ssrf_check_url(pool, pol, "https://localhost/v1", &pin);
    ck_assert_msg(why == NULL, "%s", why);
    ck_assert_msg(!strncmp(pin, "localhost:443:", 14), "%s", pin);
}
END_TEST

/* ------------------------------------------------------------------ BYO ids */

START_TEST(test_byo_ids)
{
    const char *slug, *model;
    ck_assert(cx_byo_parse_id(pool, "byo:acme/llama-3.1-8b", &slug, &model));
    ck_assert_str_eq(slug, "acme");
    ck_assert_str_eq(model, "llama-3.1-8b");
    ck_assert(cx_byo_parse_id(pool, "byo:my-lab_2/org/model:tag", &slug, &model));
    ck_assert_str_eq(slug, "my-lab_2");
    ck_assert_str_eq(model, "org/model:tag");
    const char *bad[] = {"byo:", "byo:acme", "byo:acme/", "byo:/m", "byo:Acme/m", "byo:-x/m",
                         "byo:a b/m", "gpt-4o-mini", "openai/gpt-4o", "BYO:acme/m", NULL};
    for (int i = 0; bad[i]; i++)
        ck_assert_msg(!cx_byo_parse_id(pool, bad[i], &slug, &model), "%s parsed", bad[i]);
    ck_assert(cx_byo_valid_slug("a"));
    ck_assert(!cx_byo_valid_slug("_a"));
    ck_assert(!cx_byo_valid_slug("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}
END_TEST

START_TEST(test_byo_serves_and_resolved)
{
    cx_byo_t b = {.slug = "acme", .base_url = "https://llm.acme.example/v1", .credential = "s3cret",
                  .region = "EU", .models = "[\"llama-3.1-8b\",\"qwen\"]", .enabled = 1};
    ck_assert(cx_byo_serves(pool, &b, "qwen"));
    ck_assert(!cx_byo_serves(pool, &b, "gpt-4o"));
    b.models = NULL;
    ck_assert(cx_byo_serves(pool, &b, "anything"));
    b.models = "[]";
    ck_assert(cx_byo_serves(pool, &b, "anything"));
    cx_resolved_t res;
    cx_byo_resolved(pool, &b, "llama-3.1-8b", &res);
    ck_assert_str_eq(res.model->id, "byo:acme/llama-3.1-8b");
    ck_assert_ptr_null(res.pinned);
    apr_array_header_t *cands = cx_catalog_candidates(pool, &res);
    ck_assert_int_eq(cands->nelts, 1);
    const cx_deployment_t *d = APR_ARRAY_IDX(cands, 0, const cx_deployment_t *);
    ck_assert_str_eq(d->provider->name, "byo:acme");
    ck_assert(d->provider->byo);
    ck_assert_int_eq(d->provider->api_format, CX_API_OPENAI);
    ck_assert_str_eq(d->provider->byo_credential, "s3cret");
    ck_assert_str_eq(d->provider->region, "EU");
    ck_assert_str_eq(d->upstream_model, "llama-3.1-8b");
    ck_assert_int_eq(cx_price_cost(&d->price, 1000000, 1000000, CX_PPM_LIST), 0);
}
END_TEST

static Suite *ssrf_suite(void)
{
    Suite *s = suite_create("cx_ssrf");
    TCase *tc = tcase_create("ssrf");
    tcase_add_checked_fixture(tc, cx_unit_pool_setup, cx_unit_pool_teardown);
    tcase_add_test(tc, test_ipv4_classes);
    tcase_add_test(tc, test_ipv6_classes);
    tcase_add_test(tc, test_policy_allowlist);
    tcase_add_test(tc, test_check_url_refuses_every_class);
    tcase_add_test(tc, test_check_url_form);
    tcase_add_test(tc, test_check_url_pins_resolved_addresses);
    suite_add_tcase(s, tc);
    TCase *byo = tcase_create("byo");
    tcase_add_checked_fixture(byo, cx_unit_pool_setup, cx_unit_pool_teardown);
    tcase_add_test(byo, test_byo_ids);
    tcase_add_test(byo, test_byo_serves_and_resolved);
    suite_add_tcase(s, byo);
    return s;
}

int main(void)
{
    return cx_unit_run(ssrf_suite());
}
