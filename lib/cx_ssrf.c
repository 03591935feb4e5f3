#include "cx_ssrf.h"

#include <apr_strings.h>
#include <apr_uri.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct {
    int family;              /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    int prefix;              /* bits */
} cidr_t;

struct cx_ssrf_policy {
    apr_array_header_t *allow;   /* cidr_t */
};

cx_ssrf_policy_t *cx_ssrf_policy_create(apr_pool_t *p)
{
    cx_ssrf_policy_t *pol = apr_pcalloc(p, sizeof *pol);
    pol->allow = apr_array_make(p, 4, sizeof(cidr_t));
    return pol;
}

const char *cx_ssrf_policy_allow(cx_ssrf_policy_t *pol, const char *text)
{
    char buf[128];
    if (!text || strlen(text) >= sizeof buf)
        return "a network is an address with an optional /prefix";
    strcpy(buf, text);
    char *slash = strchr(buf, '/');
    if (slash)
        *slash++ = '\0';
    cidr_t c = {0};
    int max;
    if (inet_pton(AF_INET, buf, c.addr) == 1) {
        c.family = AF_INET;
        max = 32;
    }
    else if (inet_pton(AF_INET6, buf, c.addr) == 1) {
        c.family = AF_INET6;
        max = 128;
    }
    else {
        return "not an IPv4 or IPv6 address";
    }
    c.prefix = max;
    if (slash) {
        char *end;
        long n = strtol(slash, &end, 10);
        if (!*slash || *end || n < 0 || n > max)
            return "the prefix length is out of range";
        c.prefix = (int)n;
    }
    *(cidr_t *)apr_array_push(pol->allow) = c;
    return NULL;
}

static int prefix_match(const unsigned char *a, const unsigned char *net, int bits)
{
    int full = bits / 8, rest = bits % 8;
    if (memcmp(a, net, (size_t)full))
        return 0;
    if (!rest)
        return 1;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (a[full] & mask) == (net[full] & mask);
}

static const char *classify_v4(const unsigned char *a)
{
    uint32_t v = ((uint32_t)a[0] << 24) | ((uint32_t)a[1] << 16) | ((uint32_t)a[2] << 8) | a[3];
    static const struct { uint32_t net; int bits; const char *what; } ranges[] = {
        {0x00000000, 8, "unspecified"},      /* 0.0.0.0/8 "this network" */
        {0x0A000000, 8, "private"},          /* 10/8 */
        {0x64400000, 10, "shared"},          /* 100.64/10 carrier-grade NAT */
        {0x7F000000, 8, "loopback"},         /* 127/8 */
        {0xA9FE0000, 16, "link-local"},      /* 169.254/16 (cloud metadata lives here) */
        {0xAC100000, 12, "private"},         /* 172.16/12 */
        {0xC0000000, 24, "reserved"},        /* 192.0.0/24 IETF protocol assignments */
        {0xC0000200, 24, "reserved"},        /* 192.0.2/24 TEST-NET-1 */
        {0xC0586300, 24, "reserved"},        /* 192.88.99/24 6to4 relay anycast */
        {0xC0A80000, 16, "private"},         /* 192.168/16 */
        {0xC6120000, 15, "reserved"},        /* 198.18/15 benchmarking */
        {0xC6336400, 24, "reserved"},        /* 198.51.100/24 TEST-NET-2 */
        {0xCB007100, 24, "reserved"},        /* 203.0.113/24 TEST-NET-3 */
        {0xE0000000, 4, "multicast"},        /* 224/4 */
        {0xFFFFFFFF, 32, "broadcast"},
        {0xF0000000, 4, "reserved"},         /* 240/4 */
    };
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        uint32_t mask = ranges[i].bits ? 0xFFFFFFFFu << (32 - ranges[i].bits) : 0;
        if ((v & mask) == ranges[i].net)
            return ranges[i].what;
    }
    return NULL;
}

static const char *classify_v6(const unsigned char *a)
{
    static const unsigned char zero[16] = {0};
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    static const unsigned char nat64_local[6] = {0, 0x64, 0xff, 0x9b, 0, 1};
    static const unsigned char discard[8] = {0x01, 0, 0, 0, 0, 0, 0, 0};
    static const unsigned char doc[4] = {0x20, 0x01, 0x0d, 0xb8};
    static const unsigned char ietf[3] = {0x20, 0x01, 0x00};
    if (!memcmp(a, zero, 15))
        return a[15] == 0 ? "unspecified" : a[15] == 1 ? "loopback" : "reserved";
    /* IPv4 embedded: judged by the IPv4 address the packets would really reach. */
    if (!memcmp(a, mapped, 12) || !memcmp(a, nat64, 12)) {
        const char *c = classify_v4(a + 12);
        return c;
    }
    if (!memcmp(a, zero, 12))
        return "reserved";                    /* ::/96 IPv4-compatible (deprecated) */
    if (a[0] == 0x20 && a[1] == 0x02) {       /* 2002::/16 6to4: v4 in bits 16..47 */
        const char *c = classify_v4(a + 2);
        return c;
    }
    if (prefix_match(a, nat64_local, 48))
        return "reserved";
    if (prefix_match(a, discard, 64))
        return "reserved";
    if (prefix_match(a, doc, 32))
        return "reserved";
    if (prefix_match(a, ietf, 23))
        return "reserved";                    /* 2001::/23, incl. Teredo */
    if ((a[0] & 0xfe) == 0xfc)
        return "private";                     /* fc00::/7 unique local */
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
        return "link-local";                  /* fe80::/10 */
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0)
        return "private";                     /* fec0::/10 site-local (deprecated) */
    if (a[0] == 0xff)
        return "multicast";
    return NULL;
}

const char *cx_ssrf_classify(const struct sockaddr *sa)
{
    if (!sa)
        return "unspecified";
    if (sa->sa_family == AF_INET)
        return classify_v4((const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr);
    if (sa->sa_family == AF_INET6)
        return classify_v6(((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr);
    return "reserved";                        /* unix sockets and the like */
}

static int allowlisted(const cx_ssrf_policy_t *pol, const struct sockaddr *sa)
{
    if (!pol)
        return 0;
    const unsigned char *a4 = NULL, *a6 = NULL;
    if (sa->sa_family == AF_INET) {
        a4 = (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr;
    }
    else if (sa->sa_family == AF_INET6) {
        a6 = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (!memcmp(a6, mapped, 12))
            a4 = a6 + 12;   /* an IPv4 allowance covers the mapped form too */
    }
    for (int i = 0; i < pol->allow->nelts; i++) {
        const cidr_t *c = &APR_ARRAY_IDX(pol->allow, i, cidr_t);
        if (c->family == AF_INET && a4 && prefix_match(a4, c->addr, c->prefix))
            return 1;
        if (c->family == AF_INET6 && a6 && prefix_match(a6, c->addr, c->prefix))
            return 1;
    }
    return 0;
}

int cx_ssrf_allowed(const cx_ssrf_policy_t *pol, const struct sockaddr *sa, const char **why)
{
    const char *cls = cx_ssrf_classify(sa);
    if (why)
        *why = cls;
    if (!cls)
        return 1;
    return sa && allowlisted(pol, sa);
}

const char *cx_ssrf_addr_text(apr_pool_t *p, const struct sockaddr *sa)
{
    char buf[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, sizeof buf);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf, sizeof buf);
    return apr_pstrdup(p, buf);
}

const char *cx_ssrf_check_url(apr_pool_t *p, const cx_ssrf_policy_t *pol, const char *url,
                              const char **resolve)
{
    *resolve = NULL;
    apr_uri_t uri;
    if (!url || apr_uri_parse(p, url, &uri) != APR_SUCCESS || !uri.scheme || !uri.hostname ||
        !*uri.hostname)
        return apr_psprintf(p, "'%s' is not an http(s) URL", url ? url : "");
    if (strcasecmp(uri.scheme, "http") && strcasecmp(uri.scheme, "https"))
        return apr_psprintf(p, "the URL scheme '%s' is not allowed (http or https only)", uri.scheme);
    if (uri.user || uri.password)
        return "credentials in the URL are not allowed";
    const char *port = uri.port_str && *uri.port_str ? uri.port_str
                                                      : (!strcasecmp(uri.scheme, "https") ? "443" : "80");
    /* An IP literal is judged as written: no lookup, nothing to pin. */
    unsigned char lit[16];
    int literal = inet_pton(AF_INET, uri.hostname, lit) == 1 || inet_pton(AF_INET6, uri.hostname, lit) == 1;

    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = literal ? AI_NUMERICHOST : 0;
    int rc = getaddrinfo(uri.hostname, port, &hints, &res);
    if (rc != 0 || !res)
        return apr_psprintf(p, "the host '%s' could not be resolved (%s)", uri.hostname,
                            gai_strerror(rc));
    const char *addrs = NULL;
    const char *refusal = NULL;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        const char *why;
        const char *text = cx_ssrf_addr_text(p, ai->ai_addr);
        if (!cx_ssrf_allowed(pol, ai->ai_addr, &why)) {
            refusal = apr_psprintf(p, "the host '%s' resolves to %s, a %s address; BYO endpoints "
                                   "must be publicly routable (an operator can allow networks "
                                   "with ConduixByoAllowNetworks)", uri.hostname, text, why);
            break;
        }
        const char *entry = ai->ai_family == AF_INET6 ? apr_pstrcat(p, "[", text, "]", NULL) : text;
        if (!addrs || !strstr(addrs, entry))
            addrs = addrs ? apr_pstrcat(p, addrs, ",", entry, NULL) : entry;
    }
    freeaddrinfo(res);
    if (refusal)
        return refusal;
    if (!literal)
        *resolve = apr_psprintf(p, "%s:%s:%s", uri.hostname, port, addrs);
    return NULL;
}
