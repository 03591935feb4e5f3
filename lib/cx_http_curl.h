/* Upstream HTTP through libcurl, for when the environment names an egress proxy
 * (cx_http decides; nothing else calls this). A stack of easy handles per process,
 * each keeping its connection cache between requests. */
#ifndef CX_HTTP_CURL_H
#define CX_HTTP_CURL_H

#include "cx_http.h"

typedef struct cx_http_curl cx_http_curl;

int cx_http_curl_global_init(void);
cx_http_curl *cx_http_curl_create(apr_pool_t *p);
cx_http_result_t cx_http_curl_perform(cx_http_curl *hc, apr_pool_t *p, const cx_http_request_t *req,
                                      cx_http_response_t *resp);

#endif
