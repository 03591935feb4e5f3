/* Upstream HTTP through libcurl: the path taken when the environment names an egress
 * proxy (http_proxy, https_proxy, all_proxy, no_proxy), which libcurl implements in
 * every flavour. Without one, cx_http uses its own client (cx_http.c). */
#include "cx_http_curl.h"
#include "cx_http_wire.h"

#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <curl/curl.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

/* Handles are recycled through a simple stack; at most one per concurrent request
 * exists, which under httpd is bounded by the worker threads of the child. */
struct cx_http_curl {
    apr_thread_mutex_t *lock;
    apr_array_header_t *idle;    /* CURL * */
};

static apr_status_t pool_cleanup(void *data)
{
    cx_http_curl *hp = data;
    for (int i = 0; i < hp->idle->nelts; i++)
        curl_easy_cleanup(APR_ARRAY_IDX(hp->idle, i, CURL *));
    hp->idle->nelts = 0;
    return APR_SUCCESS;
}

int cx_http_curl_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

cx_http_curl *cx_http_curl_create(apr_pool_t *p)
{
    cx_http_curl *hp = apr_pcalloc(p, sizeof *hp);
    apr_thread_mutex_create(&hp->lock, APR_THREAD_MUTEX_DEFAULT, p);
    hp->idle = apr_array_make(p, 16, sizeof(CURL *));
    apr_pool_cleanup_register(p, hp, pool_cleanup, apr_pool_cleanup_null);
    return hp;
}

/* Well under libcurl's own 100-continue threshold (1 MiB since 7.38). */
#define EXPECT_THRESHOLD (64 * 1024)

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata);
static size_t on_header(char *line, size_t size, size_t nmemb, void *userdata);

/* Options every transfer shares are set once per handle; cx_http_perform sets every
 * per-request option on every call (so nothing leaks from one request to the next)
 * instead of curl_easy_reset, which would drop and rebuild all of them. */
static CURL *new_handle(void)
{
    CURL *h = curl_easy_init();
    if (!h)
        return NULL;
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    return h;
}

static CURL *take_handle(cx_http_curl *hp)
{
    CURL *h = NULL;
    apr_thread_mutex_lock(hp->lock);
    if (hp->idle->nelts > 0)
        h = *(CURL **)apr_array_pop(hp->idle);
    apr_thread_mutex_unlock(hp->lock);
    return h ? h : new_handle();   /* a reused handle keeps its live connections */
}

static void give_handle(cx_http_curl *hp, CURL *h)
{
    apr_thread_mutex_lock(hp->lock);
    APR_ARRAY_PUSH(hp->idle, CURL *) = h;
    apr_thread_mutex_unlock(hp->lock);
}

typedef struct {
    CURL *h;
    int forbidden;    /* the guard refused a socket */
    apr_pool_t *p;
    const cx_http_request_t *req;
    cx_http_response_t *resp;
    cx_http_body_t body;
    int decided;      /* whether this response streams, decided at the first byte */
    int streaming;
    int aborted;
    const char *encoded;   /* why: a content coding we did not ask for */
} transfer_t;

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    transfer_t *t = userdata;
    size_t n = size * nmemb;
    if (!t->decided) {
        long status = 0;
        curl_easy_getinfo(t->h, CURLINFO_RESPONSE_CODE, &status);
        t->streaming = t->req->stream && t->req->on_data && status >= 200 && status < 300;
        t->decided = 1;
    }
    if (t->streaming) {
        if (t->req->on_data(t->req->baton, data, n) != 0) {
            t->aborted = 1;
            return 0;
        }
        t->resp->streamed_bytes += n;
        return n;
    }
    return cx_http_body_append(&t->body, data, n) == 0 ? n : 0;
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *userdata)
{
    transfer_t *t = userdata;
    size_t n = size * nmemb;
    static const char ct[] = "content-type:";
    static const char ra[] = "retry-after:";
    static const char ce[] = "content-encoding:";
    const char **target = NULL;
    size_t skip = 0;
    if (n > sizeof ce - 1 && !strncasecmp(line, ce, sizeof ce - 1)) {
        /* Conduix sends no Accept-Encoding (libcurl's decoding costs 7,700 instructions
         * a request, compressed or not), and servers compress only when asked. One that
         * compresses anyway is refused rather than its bytes passed on as JSON. */
        const char *v = line + sizeof ce - 1;
        const char *end = line + n;
        while (v < end && (*v == ' ' || *v == '\t'))
            v++;
        while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
            end--;
        if (end > v && !(end - v == 8 && !strncasecmp(v, "identity", 8))) {
            t->encoded = apr_psprintf(t->p, "the provider answered with Content-Encoding: %.*s, "
                                          "which was not asked for", (int)(end - v), v);
            return 0;   /* abort the transfer */
        }
        return n;
    }
    if (n > sizeof ct - 1 && !strncasecmp(line, ct, sizeof ct - 1)) {
        target = &t->resp->content_type;
        skip = sizeof ct - 1;
    }
    else if (n > sizeof ra - 1 && !strncasecmp(line, ra, sizeof ra - 1)) {
        target = &t->resp->retry_after;
        skip = sizeof ra - 1;
    }
    if (target) {
        const char *v = line + skip;
        const char *end = line + n;
        while (v < end && (*v == ' ' || *v == '\t'))
            v++;
        while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
            end--;
        *target = apr_pstrmemdup(t->p, v, end - v);
    }
    return n;
}

/* Last line of the SSRF guard: whatever name resolution said, a socket to an address
 * the policy refuses is never opened. */
static curl_socket_t guarded_socket(void *userdata, curlsocktype purpose, struct curl_sockaddr *addr)
{
    transfer_t *t = userdata;
    if (purpose != CURLSOCKTYPE_IPCXN || !cx_ssrf_allowed(t->req->guard, &addr->addr, NULL)) {
        t->forbidden = 1;
        return CURL_SOCKET_BAD;
    }
    return socket(addr->family, addr->socktype, addr->protocol);
}

cx_http_result_t cx_http_curl_perform(cx_http_curl *hp, apr_pool_t *p, const cx_http_request_t *req,
                                      cx_http_response_t *resp)
{
    memset(resp, 0, sizeof *resp);
    CURL *h = take_handle(hp);
    if (!h) {
        resp->result = CX_HTTP_FAILED;
        resp->error = "curl_easy_init failed";
        return resp->result;
    }
    transfer_t t = {.h = h, .p = p, .req = req, .resp = resp, .body = {.p = p, .max = req->max_response}};
    struct curl_slist *hdrs = NULL;
    for (int i = 0; req->headers && i < req->headers->nelts; i++)
        hdrs = curl_slist_append(hdrs, APR_ARRAY_IDX(req->headers, i, const char *));
    /* libcurl sends "Expect: 100-continue" for bodies over 1 MiB and waits for the
     * answer; an empty Expect turns that off. Only added where it can matter: each
     * custom header costs libcurl about 4,500 instructions to format. */
    if (req->body && req->body_len > EXPECT_THRESHOLD)
        hdrs = curl_slist_append(hdrs, "Expect:");
    char errbuf[CURL_ERROR_SIZE] = "";

    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms > 0 ? req->connect_timeout_ms : 10000L);
    if (req->stream) {
        /* A stream may legitimately run for minutes; what matters is that it keeps moving. */
        long idle_s = req->idle_timeout_ms > 0 ? (req->idle_timeout_ms + 999) / 1000 : 60;
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 0L);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, idle_s);
    }
    else {
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, req->timeout_ms > 0 ? req->timeout_ms : 0L);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 0L);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 0L);
    }
    struct curl_slist *pins = NULL;
    if (req->guard) {
        curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, guarded_socket);
        curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &t);
        /* a pooled connection was opened for someone else, unchecked */
        curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
        if (req->resolve) {
            pins = curl_slist_append(NULL, req->resolve);
            curl_easy_setopt(h, CURLOPT_RESOLVE, pins);
        }
    }
    if (req->body) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    }
    else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }

    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
    curl_easy_getinfo(h, CURLINFO_CONNECT_TIME, &resp->connect_seconds);
    resp->body = t.body.buf ? t.body.buf : "";
    resp->body_len = t.body.len;

    switch (rc) {
    case CURLE_OK:
        resp->result = CX_HTTP_OK;
        break;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
        resp->result = CX_HTTP_CONNECT_FAILED;
        break;
    case CURLE_OPERATION_TIMEDOUT:
        resp->result = CX_HTTP_TIMEOUT;
        break;
    case CURLE_WRITE_ERROR:
        resp->result = t.body.too_large ? CX_HTTP_TOO_LARGE : t.aborted ? CX_HTTP_ABORTED : CX_HTTP_FAILED;
        break;
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
        resp->result = CX_HTTP_TRUNCATED;
        break;
    default:
        resp->result = CX_HTTP_FAILED;
        break;
    }
    if (rc != CURLE_OK)
        resp->error = apr_pstrdup(p, errbuf[0] ? errbuf : curl_easy_strerror(rc));
    if (rc != CURLE_OK && t.encoded) {
        resp->result = CX_HTTP_FAILED;
        resp->error = t.encoded;
    }
    if (rc != CURLE_OK && t.forbidden) {
        resp->result = CX_HTTP_FORBIDDEN;
        resp->error = "the upstream address is not permitted (SSRF guard)";
    }

    /* Nothing of this request may outlive it in the handle. */
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, NULL);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, NULL);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
    curl_slist_free_all(hdrs);
    if (pins) {
        curl_easy_setopt(h, CURLOPT_RESOLVE, NULL);
        curl_slist_free_all(pins);
    }
    give_handle(hp, h);
    return resp->result;
}
