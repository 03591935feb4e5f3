/* Conduix SSRF guard for upstreams a customer chose (BYO endpoints).
 *
 * A customer-supplied URL must not turn the gateway into a way into the operator's
 * network. Before any byte is sent, the URL's host is resolved and every address is
 * classified; loopback, private, shared (CGNAT), link-local, multicast, unspecified
 * and reserved ranges are refused, for IPv4 and IPv6 alike, with IPv4-mapped,
 * IPv4-compatible, NAT64 and 6to4 IPv6 addresses judged by the IPv4 address inside.
 * The addresses that passed are pinned for the connection, and cx_http checks each
 * address again right before its connect, so a DNS answer that changes between the
 * check and the connect (rebinding) cannot get past. Redirects are never followed by
 * cx_http, so a 3xx cannot lead elsewhere. An operator may allow specific networks (ConduixByoAllowNetworks), e.g.
 * a self-hosted model server on 10.0.0.0/8. */
#ifndef CX_SSRF_H
#define CX_SSRF_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <sys/socket.h>

typedef struct cx_ssrf_policy cx_ssrf_policy_t;

cx_ssrf_policy_t *cx_ssrf_policy_create(apr_pool_t *p);

/* Allow a network that would otherwise be refused: "10.1.0.0/16", "127.0.0.1",
 * "fd00::/8", "::1". Returns NULL, or an error message. */
const char *cx_ssrf_policy_allow(cx_ssrf_policy_t *pol, const char *cidr);

/* The forbidden class of an address ("loopback", "private", "shared", "link-local",
 * "multicast", "unspecified", "reserved", "broadcast"), or NULL when it is public. */
const char *cx_ssrf_classify(const struct sockaddr *sa);

/* 1 when sa may be connected to under pol; else 0 and *why (may be NULL) names the
 * class. */
int cx_ssrf_allowed(const cx_ssrf_policy_t *pol, const struct sockaddr *sa, const char **why);

/* Check url (http or https only, no credentials in it): resolve its host and
 * require every address to be allowed. On success returns NULL and sets *resolve to
 * the entry pinning the checked addresses for cx_http ("host:port:a,b"), or to
 * NULL when the host is an IP literal (nothing to resolve). On refusal returns a
 * message naming the host, the address and its class. */
const char *cx_ssrf_check_url(apr_pool_t *p, const cx_ssrf_policy_t *pol, const char *url,
                              const char **resolve);

/* Format an address for messages ("10.0.0.1", "::1"). */
const char *cx_ssrf_addr_text(apr_pool_t *p, const struct sockaddr *sa);

#endif
