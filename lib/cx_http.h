/* Conduix upstream HTTP: HTTP/1.1 over TCP or TLS with its own client (cx_http.c),
 * or through libcurl when the environment names an egress proxy (cx_http_curl.c).
 * A cx_http_pool belongs to a process (child) and keeps its upstream connections
 * alive between requests; any thread may call cx_http_perform on it.
 * Only http and https are allowed, redirects are not followed, the response size is
 * capped, and streamed bodies are handed to the caller as they arrive. A TLS write
 * to a peer that went away raises SIGPIPE, which httpd ignores in its children;
 * other hosts of this code must ignore it too. */
#ifndef CX_HTTP_H
#define CX_HTTP_H

#include <apr_pools.h>
#include <apr_tables.h>

#include "cx_ssrf.h"

typedef struct cx_http_pool cx_http_pool;

/* Called with body bytes of a 2xx streaming response as they arrive. Return 0 to
 * continue, non-zero to abort the transfer (e.g. the client went away). */
typedef int (*cx_http_data_fn)(void *baton, const char *buf, apr_size_t len);

typedef struct {
    const char *url;
    const char *body;                 /* POST body; NULL for GET */
    apr_size_t body_len;
    apr_array_header_t *headers;      /* const char * "Name: value" */
    long connect_timeout_ms;
    long timeout_ms;                  /* whole transfer, non-streaming */
    long idle_timeout_ms;             /* streaming: abort when nothing arrives this long */
    apr_size_t max_response;          /* bytes buffered for non-streamed bodies */
    int stream;                       /* 2xx bodies go to on_data instead of a buffer */
    cx_http_data_fn on_data;
    void *baton;
    /* Upstreams a customer chose (BYO): connect only to addresses the policy allows
     * (checked before every connect) and to the pinned, already-checked addresses
     * ("host:port:addr[,addr]"); such calls never share connections. NULL for
     * catalog providers. */
    const cx_ssrf_policy_t *guard;
    const char *resolve;
} cx_http_request_t;

typedef enum {
    CX_HTTP_OK = 0,          /* got an HTTP response (any status) */
    CX_HTTP_CONNECT_FAILED,  /* DNS, refused, TLS: nothing was sent */
    CX_HTTP_TIMEOUT,
    CX_HTTP_TRUNCATED,       /* connection died mid-body */
    CX_HTTP_TOO_LARGE,
    CX_HTTP_ABORTED,         /* on_data asked to stop */
    CX_HTTP_FORBIDDEN,       /* the SSRF guard refused the address: nothing was sent */
    CX_HTTP_FAILED           /* anything else */
} cx_http_result_t;

typedef struct {
    cx_http_result_t result;
    long status;                /* HTTP status, 0 when none */
    const char *body;           /* buffered body (non-2xx always buffered) */
    apr_size_t body_len;
    const char *content_type;
    const char *retry_after;    /* upstream Retry-After, if any */
    apr_size_t streamed_bytes;  /* bytes handed to on_data */
    const char *error;          /* what went wrong when result != OK */
    double connect_seconds;
} cx_http_response_t;

/* Process-wide init: call once in the parent before forking (curl_global_init). */
int cx_http_global_init(void);

cx_http_pool *cx_http_pool_create(apr_pool_t *p);

/* 1 when the pool was made with an egress proxy in the environment (libcurl path). */
int cx_http_pool_uses_proxy(const cx_http_pool *hp);

cx_http_result_t cx_http_perform(cx_http_pool *hp, apr_pool_t *p, const cx_http_request_t *req,
                                 cx_http_response_t *resp);

#endif
