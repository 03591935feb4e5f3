/* Conduix SSRF guard (see cx_urlguard.h). */
#include "cx_urlguard.h"

#include <apr_strings.h>
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

typedef struct {
    uint32_t net;
    int bits;
    const char *why;
} v4_range_t;

/* IANA IPv4 special-purpose registry, minus what is globally reachable unicast. */
static const v4_range_t v4_refused[] = {
    {0x00000000u, 8, "is in 0.0.0.0/8 (this network)"},
    {0x0A000000u, 8, "is a private address (10.0.0.0/8)"},
    {0x64400000u, 10, "is a shared address (100.64.0.0/10, carrier-grade NAT)"},
    {0x7F000000u, 8, "is a loopback address (127.0.0.0/8)"},
    {0xA9FE0000u, 16, "is a link-local address (169.254.0.0/16)"},
    {0xAC100000u, 12, "is a private address (172.16.0.0/12)"},
    {0xC0000000u, 24, "is reserved (192.0.0.0/24, IETF protocol assignments)"},
    {0xC0000200u, 24, "is reserved for documentation (192.0.2.0/24)"},
    {0xC0586300u, 24, "is reserved (192.88.99.0/24, 6to4 relay anycast)"},
    {0xC0A80000u, 16, "is a private address (192.168.0.0/16)"},
    {0xC6120000u, 15, "is reserved for benchmarking (198.18.0.0/15)"},
    {0xC6336400u, 24, "is reserved for documentation (198.51.100.0/24)"},
    {0xCB007100u, 24, "is reserved for documentation (203.0.113.0/24)"},
    {0xE0000000u, 4, "is a multicast address (224.0.0.0/4)"},
    {0xF0000000u, 4, "is reserved (240.0.0.0/4, including broadcast)"},
};

static const char *check_v4(uint32_t a)
{
    for (size_t i = 0; i < sizeof v4_refused / sizeof v4_refused[0]; i++) {
        uint32_t mask = v4_refused[i].bits ? 0xFFFFFFFFu << (32 - v4_refused[i].bits) : 0;
        if ((a & mask) == v4_refused[i].net)
            return v4_refused[i].why;
    }
    return NULL;
}

static uint32_t v4_at(const unsigned char *b)
{
    return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
}

static int prefix_is(const unsigned char *a, const unsigned char *prefix, int bits)
{
    int bytes = bits / 8, rest = bits % 8;
    if (memcmp(a, prefix, (size_t)bytes))
        return 0;
    if (rest) {
        unsigned char mask = (unsigned char)(0xFF << (8 - rest));
        return (a[bytes] & mask) == (prefix[bytes] & mask);
    }
    return 1;
}

static const char *check_v6(const unsigned char *a)
{
    static const unsigned char zero[16] = {0};
    /* Prefixes are full 16-byte addresses; prefix_is compares the first bits. */
    static const unsigned char mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    static const unsigned char nat64[16] = {0x00, 0x64, 0xFF, 0x9B};
    static const unsigned char sixtofour[16] = {0x20, 0x02};
    static const unsigned char doc[16] = {0x20, 0x01, 0x0D, 0xB8};
    static const unsigned char ietf[16] = {0x20, 0x01};
    static const unsigned char discard[16] = {0x01, 0x00};

    if (!memcmp(a, zero, 15) && a[15] == 0)
        return "is the unspecified address (::)";
    if (!memcmp(a, zero, 15) && a[15] == 1)
        return "is the loopback address (::1)";
    if (!memcmp(a, mapped, 12)) {
        const char *why = check_v4(v4_at(a + 12));
        return why ? why : NULL;
    }
    if (prefix_is(a, nat64, 96))
        return check_v4(v4_at(a + 12));
    if (!memcmp(a, zero, 12))
        return "is reserved (::/96, IPv4-compatible addresses)";
    if (prefix_is(a, sixtofour, 16))
        return check_v4(v4_at(a + 2));
    if (prefix_is(a, discard, 64))
        return "is reserved (100::/64, discard prefix)";
    if (prefix_is(a, doc, 32))
        return "is reserved for documentation (2001:db8::/32)";
    if (prefix_is(a, ietf, 23))
        return "is reserved (2001::/23, IETF protocol assignments incl. Teredo)";
    if ((a[0] & 0xFE) == 0xFC)
        return "is a private address (fc00::/7, unique local)";
    if (a[0] == 0xFE && (a[1] & 0xC0) == 0x80)
        return "is a link-local address (fe80::/10)";
    if (a[0] == 0xFE && (a[1] & 0xC0) == 0xC0)
        return "is reserved (fec0::/10, site-local)";
    if (a[0] == 0xFF)
        return "is a multicast address (ff00::/8)";
    return NULL;
}

const char *cx_urlguard_address(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return check_v4(ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr));
    if (sa->sa_family == AF_INET6)
        return check_v6(((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr);
    return "is not an IPv4 or IPv6 address";
}

const char *cx_urlguard_literal(const char *text)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, text, &a4) == 1)
        return check_v4(ntohl(a4.s_addr));
    if (inet_pton(AF_INET6, text, &a6) == 1)
        return check_v6(a6.s6_addr);
    return "not an IP address literal";
}

static void url_cleanup(CURLU *u, char *a, char *b, char *c, char *d)
{
    curl_free(a);
    curl_free(b);
    curl_free(c);
    curl_free(d);
    if (u)
        curl_url_cleanup(u);
}

const char *cx_urlguard_check(apr_pool_t *p, const char *url, const cx_urlguard_opts_t *opts,
                              const char **host_out)
{
    char *scheme = NULL, *host = NULL, *user = NULL, *password = NULL;
    const char *why = NULL;
    if (!url || !*url)
        return "the URL is empty";
    if (strlen(url) > 512)
        return "the URL is longer than 512 characters";
    for (const char *c = url; *c; c++)
        if ((unsigned char)*c <= 0x20 || *c == 0x7F)
            return "the URL contains spaces or control characters";

    CURLU *u = curl_url();
    if (!u)
        return "out of memory";
    /* Only absolute URLs; curl must not guess a scheme for "example.com". */
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
        url_cleanup(u, NULL, NULL, NULL, NULL);
        return "the URL is not a valid absolute URL";
    }
    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
    curl_url_get(u, CURLUPART_HOST, &host, 0);
    curl_url_get(u, CURLUPART_USER, &user, 0);
    curl_url_get(u, CURLUPART_PASSWORD, &password, 0);
    if (!scheme || (strcasecmp(scheme, "https") && strcasecmp(scheme, "http"))) {
        why = "only http:// and https:// URLs are accepted";
        goto done;
    }
    if (user || password) {
        why = "credentials in the URL are not accepted (use the credential field)";
        goto done;
    }
    if (!host || !*host) {
        why = "the URL has no host";
        goto done;
    }
    /* Literal addresses: curl keeps IPv6 in brackets and normalises IPv4 shorthand
     * such as 0x7f.1 or 2130706433 to dotted quads. */
    char *h = apr_pstrdup(p, host);
    size_t hl = strlen(h);
    if (hl > 2 && h[0] == '[' && h[hl - 1] == ']') {
        h[hl - 1] = '\0';
        h++;
        char *zone = strchr(h, '%');
        if (zone)
            *zone = '\0';
    }
    if (host_out)
        *host_out = h;
    if (opts && opts->allow_private)
        goto done;
    struct in_addr a4;
    struct in6_addr a6;
    int is_v4 = inet_pton(AF_INET, h, &a4) == 1;
    int is_v6 = !is_v4 && inet_pton(AF_INET6, h, &a6) == 1;
    if (is_v4 || is_v6) {
        const char *bad = is_v4 ? check_v4(ntohl(a4.s_addr)) : check_v6(a6.s6_addr);
        if (bad)
            why = apr_psprintf(p, "the address %s %s", h, bad);
        goto done;
    }
    if (!strcasecmp(h, "localhost") || (hl > 10 && !strcasecmp(h + strlen(h) - 10, ".localhost"))) {
        why = apr_psprintf(p, "the host %s is a loopback name", h);
        goto done;
    }
    if (opts && opts->resolve) {
        struct addrinfo hints, *res = NULL;
        memset(&hints, 0, sizeof hints);
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        int rc = getaddrinfo(h, NULL, &hints, &res);
        if (rc != 0 || !res) {
            why = apr_psprintf(p, "the host %s cannot be resolved", h);
            goto done;
        }
        /* Every address must pass: a name with one private address among public
         * ones could be steered to the private one. */
        for (struct addrinfo *ai = res; ai && !why; ai = ai->ai_next) {
            const char *bad = cx_urlguard_address(ai->ai_addr);
            if (bad) {
                char buf[INET6_ADDRSTRLEN] = "?";
                if (ai->ai_family == AF_INET)
                    inet_ntop(AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, buf, sizeof buf);
                else if (ai->ai_family == AF_INET6)
                    inet_ntop(AF_INET6, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, buf, sizeof buf);
                why = apr_psprintf(p, "the host %s resolves to %s, which %s", h, buf, bad);
            }
        }
        freeaddrinfo(res);
    }
done:
    url_cleanup(u, scheme, host, user, password);
    return why;
}
