/* Conduix SSRF guard for customer-supplied upstream URLs (BYO endpoints): only
 * http(s) URLs without embedded credentials whose host is, literally and after DNS
 * resolution, a public unicast address. Loopback, unspecified, private (RFC 1918,
 * ULA), shared (CGNAT), link-local, multicast, documentation, benchmarking and other
 * reserved ranges are refused, IPv4-mapped/NAT64/6to4 IPv6 forms by the IPv4 address
 * they embed. A URL checked at registration must be checked again when it is used
 * (DNS can change); this is the one function both sides call. */
#ifndef CX_URLGUARD_H
#define CX_URLGUARD_H

#include <apr_pools.h>
#include <sys/socket.h>

/* Why an address is refused, or NULL when it is a public unicast address. */
const char *cx_urlguard_address(const struct sockaddr *sa);

/* Same for an address literal ("10.0.0.1", "::1"); "not an IP address literal" when
 * text is not one. */
const char *cx_urlguard_literal(const char *text);

typedef struct {
    int allow_private;   /* operator override: skip the address checks */
    int resolve;         /* also resolve the host name and check every address */
} cx_urlguard_opts_t;

/* Check url; returns NULL when acceptable, else a message for the user (from p).
 * *host_out (may be NULL) receives the host name. */
const char *cx_urlguard_check(apr_pool_t *p, const char *url, const cx_urlguard_opts_t *opts,
                              const char **host_out);

#endif
