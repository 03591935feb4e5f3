/* Tests for the upstream HTTP client (cx_http) and its framing (cx_http_wire).
 * The framing is fed byte by byte and whole; the client talks to a scripted HTTP/1.1
 * server on 127.0.0.1 in a thread of this process, in plain TCP and in TLS with a
 * certificate made here, and the tests check what a gateway user would notice: the
 * bytes that reach the provider, kept connections, streams that arrive as they are
 * sent, and every way an upstream can fail mapped to its result. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* strcasestr */
#endif
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>

#include "cx_unit.h"
#include "cx_http.h"
#include "cx_http_wire.h"

/* ------------------------------------------------------------------ framing */

static const char HEAD[] = "HTTP/1.1 200 OK\r\n"
                           "Content-Type: application/json\r\n"
                           "Content-Length: 2\r\n"
                           "Retry-After:  7 \r\n"
                           "X-Other: a:b\r\n"
                           "\r\n{}";

START_TEST(test_head_needs_every_byte_then_parses)
{
    size_t total = strlen(HEAD) - 2;
    cx_http_head_t h;
    const char *why;
    for (size_t n = 0; n < total; n++)
        ck_assert_int_eq(cx_http_head_parse(pool, HEAD, n, &h, &why), 0);
    ck_assert_int_eq(cx_http_head_parse(pool, HEAD, strlen(HEAD), &h, &why), (long)total);
    ck_assert_int_eq(h.status, 200);
    ck_assert_int_eq(h.minor_version, 1);
    ck_assert_int_eq(h.keep_alive, 1);
    ck_assert_int_eq(h.chunked, 0);
    ck_assert_int_eq(h.content_length, 2);
    ck_assert_str_eq(h.content_type, "application/json");
    ck_assert_str_eq(h.retry_after, "7");
    ck_assert_ptr_null(h.content_encoding);
}
END_TEST

START_TEST(test_head_connection_rules)
{
    cx_http_head_t h;
    const char *why;
    const char *close11 = "HTTP/1.1 503 Busy\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n";
    ck_assert_int_gt(cx_http_head_parse(pool, close11, strlen(close11), &h, &why), 0);
    ck_assert_int_eq(h.status, 503);
    ck_assert_int_eq(h.keep_alive, 0);
    const char *old = "HTTP/1.0 200 OK\nContent-Length: 3\n\n";   /* bare LF lines */
    ck_assert_int_eq(cx_http_head_parse(pool, old, strlen(old), &h, &why), (long)strlen(old));
    ck_assert_int_eq(h.keep_alive, 0);
    const char *old_keep = "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\n\r\n";
    ck_assert_int_gt(cx_http_head_parse(pool, old_keep, strlen(old_keep), &h, &why), 0);
    ck_assert_int_eq(h.keep_alive, 1);
    /* both framings: chunked wins and the connection is not trusted again */
    const char *both = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n";
    ck_assert_int_gt(cx_http_head_parse(pool, both, strlen(both), &h, &why), 0);
    ck_assert_int_eq(h.chunked, 1);
    ck_assert_int_eq(h.content_length, -1);
    ck_assert_int_eq(h.keep_alive, 0);
    const char *gz = "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: gzip, chunked\r\n\r\n";
    ck_assert_int_gt(cx_http_head_parse(pool, gz, strlen(gz), &h, &why), 0);
    ck_assert_str_eq(h.content_encoding, "gzip");
    ck_assert_int_eq(h.chunked, 1);
}
END_TEST

START_TEST(test_head_refuses_what_is_not_http)
{
    cx_http_head_t h;
    const char *why;
    const char *bad[] = {
        "SSH-2.0-OpenSSH_9.2\r\n\r\n",
        "HTTP/2 200\r\n\r\n",
        "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\n\r\n",
        "HTTP/1.1 200 OK\r\nBad Name: 1\r\n\r\n",
        "HTTP/1.1 200 OK\r\n: empty\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_msg(cx_http_head_parse(pool, bad[i], strlen(bad[i]), &h, &why) == -1, "accepted %s", bad[i]);
        ck_assert_ptr_nonnull(why);
    }
    /* a head that never ends is refused at 64 KB instead of growing */
    size_t big = CX_HTTP_HEAD_MAX + 10;
    char *huge = apr_palloc(pool, big);
    memcpy(huge, "HTTP/1.1 200 OK\r\n", 17);
    memset(huge + 17, 'a', big - 17);
    ck_assert_int_eq(cx_http_head_parse(pool, huge, big, &h, &why), -1);
}
END_TEST

typedef struct {
    char out[256];
    size_t len;
    int calls;
} sink_t;

static int sink(void *baton, const char *data, size_t len)
{
    sink_t *s = baton;
    ck_assert_uint_le(s->len + len, sizeof s->out);
    memcpy(s->out + s->len, data, len);
    s->len += len;
    s->calls++;
    return 0;
}

static const char CHUNKED[] = "4\r\nWiki\r\n5;name=value\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n"
                              "0\r\nExpires: never\r\n\r\nNEXT";

START_TEST(test_chunked_whole_and_byte_by_byte)
{
    size_t body_end = strlen(CHUNKED) - 4;
    for (int bytewise = 0; bytewise < 2; bytewise++) {
        cx_chunked_t d;
        cx_chunked_init(&d);
        sink_t s = {0};
        size_t at = 0, used = 0;
        cx_chunked_result_t r = CX_CHUNKED_MORE;
        while (at < strlen(CHUNKED) && r == CX_CHUNKED_MORE) {
            size_t n = bytewise ? 1 : strlen(CHUNKED) - at;
            r = cx_chunked_feed(&d, CHUNKED + at, n, &used, sink, &s);
            at += used;
        }
        ck_assert_int_eq(r, CX_CHUNKED_DONE);
        ck_assert_uint_eq(at, body_end);   /* "NEXT" is not the body's */
        ck_assert_uint_eq(s.len, 23);
        ck_assert(!memcmp(s.out, "Wikipedia in\r\n\r\nchunks.", 23));
    }
}
END_TEST

START_TEST(test_chunked_refuses_bad_sizes)
{
    const char *bad[] = {"x\r\n", "\r\n", "4\r\nWikiX", "1234567890abcdef0\r\n", "4\rX"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cx_chunked_t d;
        cx_chunked_init(&d);
        sink_t s = {0};
        size_t used;
        ck_assert_msg(cx_chunked_feed(&d, bad[i], strlen(bad[i]), &used, sink, &s) == CX_CHUNKED_BAD,
                      "accepted %s", bad[i]);
    }
}
END_TEST

/* --------------------------------------------------------- a scripted server */

#define MAX_STEPS 8

typedef struct {
    const char *parts[4];   /* written one after another */
    int pause_ms;           /* between parts */
    int close_after;        /* close the connection after answering */
    int silent;             /* read the request, answer nothing, wait */
} step_t;

typedef struct {
    int lfd;
    int port;
    SSL_CTX *tls;
    step_t steps[MAX_STEPS];
    int nsteps;
    volatile int stop;
    int accepts;
    int requests;
    char request[MAX_STEPS][2048];
    pthread_t thread;
} server_t;

typedef struct {
    int fd;
    SSL *ssl;
} sconn_t;

static int s_read(sconn_t *c, char *buf, size_t n)
{
    return c->ssl ? SSL_read(c->ssl, buf, (int)n) : (int)recv(c->fd, buf, n, 0);
}

static void s_write(sconn_t *c, const char *buf, size_t n)
{
    if (c->ssl)
        SSL_write(c->ssl, buf, (int)n);
    else if (send(c->fd, buf, n, MSG_NOSIGNAL) < 0)
        return;
}

/* One request: its head and the body its Content-Length announces. */
static int read_request(server_t *sv, sconn_t *c, char *buf, size_t cap)
{
    size_t len = 0;
    for (;;) {
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        if (!(c->ssl && SSL_pending(c->ssl)) && poll(&pfd, 1, 3000) <= 0)
            return -1;
        if (sv->stop)
            return -1;
        int r = s_read(c, buf + len, cap - 1 - len);
        if (r <= 0)
            return -1;
        len += (size_t)r;
        buf[len] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (!end)
            continue;
        const char *cl = strcasestr(buf, "\r\nContent-Length:");
        size_t body = cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0;
        if (len >= (size_t)(end + 4 - buf) + body)
            return (int)len;
    }
}

static void *serve(void *data)
{
    server_t *sv = data;
    while (!sv->stop && sv->requests < sv->nsteps) {
        struct pollfd pfd = {.fd = sv->lfd, .events = POLLIN};
        if (poll(&pfd, 1, 100) <= 0)
            continue;
        sconn_t c = {.fd = accept(sv->lfd, NULL, NULL)};
        if (c.fd < 0)
            continue;
        sv->accepts++;
        if (sv->tls) {
            c.ssl = SSL_new(sv->tls);
            SSL_set_fd(c.ssl, c.fd);
            if (SSL_accept(c.ssl) != 1) {
                SSL_free(c.ssl);
                close(c.fd);
                continue;
            }
        }
        while (!sv->stop && sv->requests < sv->nsteps) {
            int i = sv->requests;
            if (read_request(sv, &c, sv->request[i], sizeof sv->request[i]) < 0)
                break;
            sv->requests++;
            const step_t *st = &sv->steps[i];
            if (st->silent) {
                while (!sv->stop)
                    usleep(10000);
                break;
            }
            for (int k = 0; k < 4 && st->parts[k]; k++) {
                if (k && st->pause_ms)
                    usleep(st->pause_ms * 1000);
                s_write(&c, st->parts[k], strlen(st->parts[k]));
            }
            if (st->close_after)
                break;
        }
        if (c.ssl) {
            SSL_shutdown(c.ssl);
            SSL_free(c.ssl);
        }
        close(c.fd);
    }
    return NULL;
}

static void server_start(server_t *sv, SSL_CTX *tls)
{
    sv->tls = tls;
    sv->lfd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(sv->lfd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(sv->lfd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(sv->lfd, 16), 0);
    socklen_t sl = sizeof a;
    getsockname(sv->lfd, (struct sockaddr *)&a, &sl);
    sv->port = ntohs(a.sin_port);
    ck_assert_int_eq(pthread_create(&sv->thread, NULL, serve, sv), 0);
}

static void server_stop(server_t *sv)
{
    sv->stop = 1;
    pthread_join(sv->thread, NULL);
    close(sv->lfd);
}

static const char *url(const server_t *sv, const char *scheme, const char *host, const char *path)
{
    return apr_psprintf(pool, "%s://%s:%d%s", scheme, host, sv->port, path);
}

static cx_http_request_t post(const char *u, const char *body)
{
    apr_array_header_t *h = apr_array_make(pool, 2, sizeof(const char *));
    APR_ARRAY_PUSH(h, const char *) = "Content-Type: application/json";
    APR_ARRAY_PUSH(h, const char *) = "Authorization: Bearer sk-test";
    return (cx_http_request_t){
        .url = u, .body = body, .body_len = strlen(body), .headers = h,
        .connect_timeout_ms = 2000, .timeout_ms = 3000, .idle_timeout_ms = 3000,
        .max_response = 1 << 20,
    };
}

/* cx_http_perform, with what went wrong in the failure message */
#define ck_assert_perform(hp, req, resp, want)                                                   \
    do {                                                                                          \
        cx_http_result_t got_ = cx_http_perform((hp), pool, (req), (resp));                      \
        ck_assert_msg(got_ == (want), "result %d, wanted %d: %s", (int)got_, (int)(want),         \
                      (resp)->error ? (resp)->error : "");                                        \
    } while (0)

static const char OK_JSON[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                              "Content-Length: 11\r\n\r\n{\"ok\":true}";

START_TEST(test_request_bytes_and_connection_reuse)
{
    server_t sv = {.nsteps = 3};
    for (int i = 0; i < 3; i++)
        sv.steps[i].parts[0] = OK_JSON;
    server_start(&sv, NULL);
    cx_http_pool *hp = cx_http_pool_create(pool);
    ck_assert(!cx_http_pool_uses_proxy(hp));
    for (int i = 0; i < 3; i++) {
        cx_http_request_t req = post(url(&sv, "http", "127.0.0.1", "/v1/chat/completions?x=1"), "{\"a\":1}");
        cx_http_response_t resp;
        ck_assert_perform(hp, &req, &resp, CX_HTTP_OK);
        ck_assert_int_eq(resp.status, 200);
        ck_assert_str_eq(resp.body, "{\"ok\":true}");
        ck_assert_uint_eq(resp.body_len, 11);
        ck_assert_str_eq(resp.content_type, "application/json");
    }
    server_stop(&sv);
    ck_assert_int_eq(sv.requests, 3);
    ck_assert_int_eq(sv.accepts, 1);   /* one connection carried all three */
    const char *want = apr_psprintf(pool,
        "POST /v1/chat/completions?x=1 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
        "Content-Type: application/json\r\nAuthorization: Bearer sk-test\r\nAccept: */*\r\n"
        "Content-Length: 7\r\n\r\n{\"a\":1}", sv.port);
    ck_assert_str_eq(sv.request[2], want);
}
END_TEST

typedef struct {
    char data[4096];
    size_t len;
    int calls;
    int stop_after;
} stream_sink_t;

static int on_data(void *baton, const char *buf, apr_size_t len)
{
    stream_sink_t *s = baton;
    ck_assert_uint_le(s->len + len, sizeof s->data - 1);
    memcpy(s->data + s->len, buf, len);
    s->len += len;
    s->data[s->len] = '\0';
    s->calls++;
    return s->stop_after && s->calls >= s->stop_after;
}

/* A streaming POST whose body bytes go to sink. */
static cx_http_request_t stream_post(const server_t *sv, stream_sink_t *sink)
{
    cx_http_request_t req = post(url(sv, "http", "127.0.0.1", "/v1/chat/completions"), "{}");
    req.stream = 1;
    req.on_data = on_data;
    req.baton = sink;
    return req;
}

START_TEST(test_chunked_stream_arrives_as_sent)
{
    server_t sv = {.nsteps = 2};
    sv.steps[0] = (step_t){.parts = {"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                                     "Transfer-Encoding: chunked\r\n\r\n",
                                     "f\r\ndata: {\"a\":1}\n\n\r\n", "f\r\ndata: {\"b\":2}\n\n\r\n",
                                     "e\r\ndata: [DONE]\n\n\r\n0\r\n\r\n"},
                             .pause_ms = 30};
    sv.steps[1].parts[0] = OK_JSON;
    server_start(&sv, NULL);
    cx_http_pool *hp = cx_http_pool_create(pool);
    stream_sink_t s = {0};
    cx_http_request_t req = stream_post(&sv, &s);
    cx_http_response_t resp;
    ck_assert_perform(hp, &req, &resp, CX_HTTP_OK);
    ck_assert_str_eq(s.data, "data: {\"a\":1}\n\ndata: {\"b\":2}\n\ndata: [DONE]\n\n");
    ck_assert_int_ge(s.calls, 3);   /* each event handed on when it came, not at the end */
    ck_assert_uint_eq(resp.streamed_bytes, s.len);
    /* the chunked answer ended cleanly: the connection serves the next request */
    cx_http_request_t plain = post(url(&sv, "http", "127.0.0.1", "/v1/x"), "{}");
    ck_assert_perform(hp, &plain, &resp, CX_HTTP_OK);
    server_stop(&sv);
    ck_assert_int_eq(sv.accepts, 1);
}
END_TEST

START_TEST(test_an_error_answer_is_buffered_even_when_streaming)
{
    server_t sv = {.nsteps = 1};
    sv.steps[0].parts[0] = "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\nContent-Type: application/json\r\n"
                           "Content-Length: 13\r\n\r\n{\"error\":\"x\"}";
    server_start(&sv, NULL);
    cx_http_pool *hp = cx_http_pool_create(pool);
    stream_sink_t s = {0};
    cx_http_request_t req = stream_post(&sv, &s);
    cx_http_response_t resp;
    ck_assert_perform(hp, &req, &resp, CX_HTTP_OK);
    ck_assert_int_eq(resp.status, 429);
    ck_assert_str_eq(resp.retry_after, "3");
    ck_assert_str_eq(resp.body, "{\"error\":\"x\"}");
    ck_assert_int_eq(s.calls, 0);
    server_stop(&sv);
}
END_TEST

START_TEST(test_a_kept_connection_the_server_closed_is_replaced)
{
    server_t sv = {.nsteps = 2};
    sv.steps[0] = (step_t){.parts = {OK_JSON}, .close_after = 1};   /* closes without saying so */
    sv.steps[1].parts[0] = OK_JSON;
    server_start(&sv, NULL);
    cx_http_pool *hp = cx_http_pool_create(pool);
    cx_http_response_t resp;
    cx_http_request_t req = post(url(&sv, "http", "127.0.0.1", "/v1/x"), "{}");
    ck_assert_perform(hp, &req, &resp, CX_HTTP_OK);
    usleep(50000);   /* the close reaches this side before the next request */
    ck_assert_perform(hp, &req, &resp, CX_HTTP_OK);
    ck_assert_int_eq(resp.status, 200);
    server_stop(&sv);
    ck_assert_int_eq(sv.requests, 2);   /* sent once to the live connection, not twice */
    ck_assert_int_eq(sv.accepts, 2);
}
END_TEST

START_TEST(test_failures_map_to_results)
{
    server_t sv = {.nsteps = 5};
    sv.steps[0] = (step_t){.parts = {"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"cut"}, .close_after = 1};
    sv.steps[1] = (step_t){.parts = {"HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n"}, .close_after = 1};
    sv.steps[2] = (step_t){.parts = {"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 2\r\n\r\n{}"}};
    sv.steps[3] = (step_t){.parts = {"garbage\r\n\r\n"}, .close_after = 1};
    sv.steps[4] = (step_t){.silent = 1};
    server_start(&sv, NULL);
    cx_http_pool *hp = cx_http_pool_create(pool);
    cx_http_response_t resp;
    cx_http_request_t req = post(url(&sv, "http", "127.0.0.1", "/v1/x"), "{}");
    ck_assert_perform(hp, &req, &resp, CX_HTTP_TRUNCATED);
    ck_assert_msg(strstr(resp.error, "95 bytes remaining") != NULL, "%s", resp.error);
    req.max_response = 1000;
    ck_assert_perform(hp, &req, &resp, CX_HTTP_TOO_LARGE);
    req.max_response = 1 << 20;
    ck_assert_perform(hp, &req, &resp, CX_HTTP_FAILED);
    ck_assert_ptr_nonnull(strstr(resp.error, "Content-Encoding: gzip"));
    ck_assert_perform(hp, &req, &resp, CX_HTTP_FAILED);
    ck_assert_ptr_nonnull(strstr(resp.error, "not HTTP"));
    req.timeout_ms = 200;
    ck_assert_perform(hp, &req, &resp, CX_HTTP_TIMEOUT);
    server_stop(&sv);
    ck_assert_int_eq(sv.requests, 5);

    /* nobody listening */
    int port = sv.port;
    cx_http_request_t gone = post(apr_psprintf(pool, "http://127.0.0.1:%d/v1/x", port), "{}");
    ck_assert_perform(hp, &gone, &resp, CX_HTTP_CONNECT_FAILED);
    ck_assert_ptr_nonnull(strstr(resp.error, "Failed to connect"));
    cx_http_request_t nonsense = post("ftp://127.0.0.1/x", "{}");
    ck_assert_perform(hp, &nonsense, &resp, CX_HTTP_FAILED);
}
END_TEST

START_TEST(test_a_connect_that_hangs_times_out)
{
    /* A listener whose accept queue is full drops further SYNs: connect() hangs. */
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(lfd, 0), 0);
    socklen_t sl = sizeof a;
    getsockname(lfd, (struct sockaddr *)&a, &sl);
    int fill[4];
    for (int i = 0; i < 4; i++) {
        fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (connect(fill[i], (struct sockaddr *)&a, sizeof a) != 0 && errno != EINPROGRESS)
            ck_abort_msg("connect: %s", strerror(errno));
    }
    usleep(50000);
    cx_http_pool *hp = cx_http_pool_create(pool);
    cx_http_request_t req = post(apr_psprintf(pool, "http://127.0.0.1:%d/v1/x", ntohs(a.sin_port)), "{}");
    req.connect_timeout_ms = 300;
    cx_http_response_t resp;
    ck_assert_perform(hp, &req, &resp, CX_HTTP_TIMEOUT);
    /* the connect's own limit, not the 3 s of the whole transfer */
    ck_assert_msg(strstr(resp.error, "Connection to 127.0.0.1") != NULL, "%s", resp.error);
    for (int i = 0; i < 4; i++)
        close(fill[i]);
    close(lfd);
}
END_TEST

START_TEST(test_the_receiver_can_stop_a_stream)
{
    server_t sv = {.nsteps = 1};
    sv.steps[0] = (step_t){.parts = {"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n",
                                     "data: 1\n\n", "data: 2\n\n", "data: 3\n\n"},
                           .pause_ms = 20};
    server_start(&sv, NULL);
    cx_http_pool *hp = cx_http_pool_create(pool);
    stream_sink_t s = {.stop_after = 1};
    cx_http_request_t req = stream_post(&sv, &s);
    cx_http_response_t resp;
    ck_assert_perform(hp, &req, &resp, CX_HTTP_ABORTED);
    ck_assert_str_eq(s.data, "data: 1\n\n");
    server_stop(&sv);
}
END_TEST

START_TEST(test_the_ssrf_guard_refuses_before_connecting)
{
    server_t sv = {.nsteps = 1};
    sv.steps[0].parts[0] = OK_JSON;
    server_start(&sv, NULL);
    cx_http_pool *hp = cx_http_pool_create(pool);
    cx_ssrf_policy_t *guard = cx_ssrf_policy_create(pool);
    cx_http_request_t req = post(url(&sv, "http", "127.0.0.1", "/v1/x"), "{}");
    req.guard = guard;
    cx_http_response_t resp;
    ck_assert_perform(hp, &req, &resp, CX_HTTP_FORBIDDEN);
    /* allowed by the operator: served, on a connection of its own that is not kept */
    ck_assert_ptr_null(cx_ssrf_policy_allow(guard, "127.0.0.1"));
    ck_assert_perform(hp, &req, &resp, CX_HTTP_OK);
    server_stop(&sv);
    ck_assert_int_eq(sv.accepts, 1);
    ck_assert_int_eq(sv.requests, 1);
}
END_TEST

/* ---------------------------------------------------------------------- TLS */

static char *ca_file;

/* A self-signed certificate for the given subjectAltName, its key in *key. */
static X509 *make_cert(const char *san, EVP_PKEY **key)
{
    EVP_PKEY *pk = EVP_EC_gen("P-256");
    ck_assert_ptr_nonnull(pk);
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, pk);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"conduix test", -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    ck_assert_int_gt(X509_sign(x, pk, EVP_sha256()), 0);
    *key = pk;
    return x;
}

static SSL_CTX *server_tls(X509 *cert, EVP_PKEY *key)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    ck_assert_int_eq(SSL_CTX_use_certificate(ctx, cert), 1);
    ck_assert_int_eq(SSL_CTX_use_PrivateKey(ctx, key), 1);
    return ctx;
}

START_TEST(test_tls_verified_by_ip_and_by_name)
{
    EVP_PKEY *key;
    X509 *cert = make_cert("DNS:localhost,IP:127.0.0.1", &key);
    FILE *f = fopen(ca_file, "w");
    PEM_write_X509(f, cert);
    fclose(f);
    SSL_CTX *tls = server_tls(cert, key);
    server_t sv = {.nsteps = 3};
    for (int i = 0; i < 3; i++)
        sv.steps[i].parts[0] = OK_JSON;
    sv.steps[1].close_after = 1;   /* one connection at a time: let the next one in */
    server_start(&sv, tls);
    cx_http_pool *hp = cx_http_pool_create(pool);
    cx_http_response_t resp;
    for (int i = 0; i < 2; i++) {
        cx_http_request_t req = post(url(&sv, "https", "127.0.0.1", "/v1/x"), "{\"tls\":1}");
        ck_assert_perform(hp, &req, &resp, CX_HTTP_OK);
        ck_assert_str_eq(resp.body, "{\"ok\":true}");
    }
    cx_http_request_t named = post(url(&sv, "https", "localhost", "/v1/x"), "{}");
    ck_assert_perform(hp, &named, &resp, CX_HTTP_OK);
    server_stop(&sv);
    ck_assert_int_eq(sv.requests, 3);
    ck_assert_int_eq(sv.accepts, 2);   /* kept per host: 127.0.0.1 twice, localhost once */
    ck_assert_ptr_nonnull(strstr(sv.request[0], "{\"tls\":1}"));
    SSL_CTX_free(tls);
    X509_free(cert);
    EVP_PKEY_free(key);
}
END_TEST

START_TEST(test_tls_refuses_a_certificate_it_cannot_verify)
{
    /* first a certificate for the right address that nobody trusts, then a trusted
     * one for another name */
    const char *served_san[] = {"IP:127.0.0.1", "DNS:elsewhere.example"};
    for (int i = 0; i < 2; i++) {
        EVP_PKEY *key;
        X509 *cert = make_cert(served_san[i], &key);
        EVP_PKEY *other_key;
        X509 *other = make_cert("IP:127.0.0.1", &other_key);
        FILE *f = fopen(ca_file, "w");
        PEM_write_X509(f, i == 0 ? other : cert);
        fclose(f);
        SSL_CTX *tls = server_tls(cert, key);
        server_t sv = {.nsteps = 1};
        sv.steps[0].parts[0] = OK_JSON;
        server_start(&sv, tls);
        cx_http_pool *hp = cx_http_pool_create(pool);
        cx_http_response_t resp;
        cx_http_request_t req = post(url(&sv, "https", "127.0.0.1", "/v1/x"), "{}");
        ck_assert_perform(hp, &req, &resp, CX_HTTP_CONNECT_FAILED);
        ck_assert_msg(strstr(resp.error, "could not be verified") != NULL, "%s", resp.error);
        server_stop(&sv);
        ck_assert_int_eq(sv.requests, 0);   /* nothing was sent */
        SSL_CTX_free(tls);
        X509_free(cert);
        X509_free(other);
        EVP_PKEY_free(key);
        EVP_PKEY_free(other_key);
    }
}
END_TEST

static Suite *http_suite(void)
{
    Suite *s = suite_create("cx_http");
    TCase *wire = tcase_create("wire");
    tcase_add_checked_fixture(wire, cx_unit_pool_setup, cx_unit_pool_teardown);
    tcase_add_test(wire, test_head_needs_every_byte_then_parses);
    tcase_add_test(wire, test_head_connection_rules);
    tcase_add_test(wire, test_head_refuses_what_is_not_http);
    tcase_add_test(wire, test_chunked_whole_and_byte_by_byte);
    tcase_add_test(wire, test_chunked_refuses_bad_sizes);
    suite_add_tcase(s, wire);
    TCase *client = tcase_create("client");
    tcase_add_checked_fixture(client, cx_unit_pool_setup, cx_unit_pool_teardown);
    tcase_set_timeout(client, 30);
    tcase_add_test(client, test_request_bytes_and_connection_reuse);
    tcase_add_test(client, test_chunked_stream_arrives_as_sent);
    tcase_add_test(client, test_an_error_answer_is_buffered_even_when_streaming);
    tcase_add_test(client, test_a_kept_connection_the_server_closed_is_replaced);
    tcase_add_test(client, test_failures_map_to_results);
    tcase_add_test(client, test_a_connect_that_hangs_times_out);
    tcase_add_test(client, test_the_receiver_can_stop_a_stream);
    tcase_add_test(client, test_the_ssrf_guard_refuses_before_connecting);
    tcase_add_test(client, test_tls_verified_by_ip_and_by_name);
    tcase_add_test(client, test_tls_refuses_a_certificate_it_cannot_verify);
    suite_add_tcase(s, client);
    return s;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);   /* as httpd does in its children */
    /* No proxy from the caller's environment: these calls go to 127.0.0.1. */
    unsetenv("http_proxy");
    unsetenv("https_proxy");
    unsetenv("HTTPS_PROXY");
    unsetenv("all_proxy");
    unsetenv("ALL_PROXY");
    char tmpl[] = "/tmp/conduix-test-ca-XXXXXX";
    int fd = mkstemp(tmpl);
    if (fd < 0)
        return EXIT_FAILURE;
    close(fd);
    ca_file = tmpl;
    setenv("SSL_CERT_FILE", ca_file, 1);   /* the trust store the client's TLS reads */
    setenv("SSL_CERT_DIR", "/nonexistent", 1);
    cx_http_global_init();
    int rc = cx_unit_run(http_suite());
    unlink(ca_file);
    return rc;
}
