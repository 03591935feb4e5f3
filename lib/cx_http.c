/* Conduix's own HTTP/1.1 client for upstream calls.
 *
 * Why not libcurl for every call: on the gateway's hot path libcurl cost ~83,000
 * instructions per request (URL parsing, its printf formatting of every header, the
 * sscanf of the status line, the multi interface's five poll() calls), more than
 * Apache's mod_proxy spends on a whole proxied request. What an upstream call needs is
 * narrow: one POST (or GET), HTTP/1.1 over TCP or TLS, keep-alive, a streamed or
 * buffered answer, timeouts. That is this file: a request is one write, an answer is
 * usually one poll() and one read, a body with a Content-Length is read straight into
 * its final buffer.
 *
 * Connections are kept per child process, keyed by scheme, host and port, and reused
 * last-in first-out. One that sat idle for over a second is peeked at before use (a
 * closed or chattering connection is dropped); one that dies before any byte of the
 * answer, having been reused, is replaced by a fresh connection and the request sent
 * once more, as any HTTP/1.1 client does when a server closes a keep-alive race.
 * Calls with an SSRF guard (customer-chosen URLs) never share connections: each
 * address is checked before its connect, and the connection is closed after.
 *
 * TLS is OpenSSL's, with peer verification against the system's trust store
 * (SSL_CERT_FILE / SSL_CERT_DIR honoured), SNI, host name checks and TLS 1.2 at least.
 *
 * When the environment names an egress proxy (http_proxy, https_proxy, all_proxy),
 * every call goes through libcurl instead (cx_http_curl.c), which implements the
 * proxy flavours and no_proxy exactly as operators expect from curl. */
#include "cx_http.h"
#include "cx_http_curl.h"
#include "cx_http_wire.h"

#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define IDLE_MAX 64                 /* idle connections kept per process */
#define IDLE_PEEK_US 1000000        /* idle longer than this: peeked at before use */
#define IDLE_DROP_US 60000000       /* idle longer than this: closed, not reused */
#define ONE_WRITE_MAX (16 * 1024)   /* request head and body up to this go in one write */
#define READ_SIZE (16 * 1024)
#define MAX_ADDRS 16
#define DEFAULT_IDLE_US (60 * 1000000LL)

typedef struct conn {
    struct conn *next;
    int fd;
    SSL *ssl;
    int64_t idle_since;
    char key[];   /* "https://host:port": which requests may reuse it */
} conn_t;

struct cx_http_pool {
    apr_thread_mutex_t *lock;
    conn_t *idle;
    int n_idle;
    SSL_CTX *tls;           /* made at the first https connection */
    cx_http_curl *curl;     /* set when an egress proxy is configured */
};

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void conn_close(conn_t *c)
{
    if (!c)
        return;
    if (c->ssl)
        SSL_free(c->ssl);
    if (c->fd >= 0)
        close(c->fd);
    free(c);
}

static apr_status_t pool_cleanup(void *data)
{
    cx_http_pool *hp = data;
    while (hp->idle) {
        conn_t *c = hp->idle;
        hp->idle = c->next;
        conn_close(c);
    }
    hp->n_idle = 0;
    if (hp->tls)
        SSL_CTX_free(hp->tls);
    hp->tls = NULL;
    return APR_SUCCESS;
}

int cx_http_global_init(void)
{
    if (!OPENSSL_init_ssl(0, NULL))
        return -1;
    return cx_http_curl_global_init();
}

/* libcurl's own reading of the environment: lower-case http_proxy only (the
 * upper-case one can be set by a CGI client's Proxy: header), either case for the
 * others. */
static int proxy_configured(void)
{
    static const char *const names[] = {"http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy",
                                        "ALL_PROXY"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        const char *v = getenv(names[i]);
        if (v && *v)
            return 1;
    }
    return 0;
}

cx_http_pool *cx_http_pool_create(apr_pool_t *p)
{
    cx_http_pool *hp = apr_pcalloc(p, sizeof *hp);
    apr_thread_mutex_create(&hp->lock, APR_THREAD_MUTEX_DEFAULT, p);
    if (proxy_configured())
        hp->curl = cx_http_curl_create(p);
    apr_pool_cleanup_register(p, hp, pool_cleanup, apr_pool_cleanup_null);
    return hp;
}

int cx_http_pool_uses_proxy(const cx_http_pool *hp)
{
    return hp->curl != NULL;
}

/* ---------------------------------------------------------------- the target */

typedef struct {
    int tls;
    char host[256];        /* as in the URL, without IPv6 brackets */
    char port[6];
    int literal;           /* the host is an IP address */
    const char *authority; /* for Host: host[:port], brackets kept */
    const char *path;      /* "/..." with the query */
} target_t;

static const char *parse_url(apr_pool_t *p, const char *url, target_t *t)
{
    memset(t, 0, sizeof *t);
    if (!url)
        return "no URL";
    const char *s;
    if (!strncasecmp(url, "https://", 8)) {
        t->tls = 1;
        s = url + 8;
    }
    else if (!strncasecmp(url, "http://", 7))
        s = url + 7;
    else
        return apr_psprintf(p, "'%s' is not an http or https URL", url);
    size_t alen = strcspn(s, "/?#");
    const char *aend = s + alen;
    if (memchr(s, '@', alen))
        return "credentials in the URL are not allowed";
    const char *h = s, *hend, *port = NULL;
    if (*s == '[') {
        hend = memchr(s, ']', alen);
        if (!hend)
            return apr_psprintf(p, "'%s' has an unterminated IPv6 address", url);
        h = s + 1;
        if (hend + 1 < aend) {
            if (hend[1] != ':')
                return apr_psprintf(p, "'%s' is not a valid URL", url);
            port = hend + 2;
        }
    }
    else {
        hend = memchr(s, ':', alen);
        if (hend)
            port = hend + 1;
        else
            hend = aend;
    }
    if (hend == h || (size_t)(hend - h) >= sizeof t->host)
        return apr_psprintf(p, "'%s' has no usable host", url);
    memcpy(t->host, h, hend - h);
    t->host[hend - h] = '\0';
    if (port && port < aend) {
        size_t pl = aend - port;
        long v = 0;
        for (const char *c = port; c < aend; c++) {
            if (*c < '0' || *c > '9')
                return apr_psprintf(p, "'%s' has an invalid port", url);
            v = v * 10 + (*c - '0');
            if (v > 65535)
                break;
        }
        if (pl > 5 || v < 1 || v > 65535)
            return apr_psprintf(p, "'%s' has an invalid port", url);
        memcpy(t->port, port, pl);
        t->port[pl] = '\0';
    }
    else
        strcpy(t->port, t->tls ? "443" : "80");
    unsigned char addr[16];
    t->literal = inet_pton(AF_INET, t->host, addr) == 1 || inet_pton(AF_INET6, t->host, addr) == 1;
    t->authority = apr_pstrmemdup(p, s, aend - s);
    const char *rest = aend;
    size_t plen = strcspn(rest, "#");
    if (!plen)
        t->path = "/";
    else if (*rest == '?')
        t->path = apr_pstrcat(p, "/", apr_pstrmemdup(p, rest, plen), NULL);
    else
        t->path = apr_pstrmemdup(p, rest, plen);
    return NULL;
}

/* ----------------------------------------------------------------- addresses */

typedef struct {
    int n;
    struct {
        struct sockaddr_storage sa;
        socklen_t len;
    } a[MAX_ADDRS];
} addrs_t;

static void add_addrinfo(addrs_t *out, const struct addrinfo *ai)
{
    for (; ai && out->n < MAX_ADDRS; ai = ai->ai_next) {
        if (ai->ai_addrlen > sizeof out->a[0].sa)
            continue;
        memcpy(&out->a[out->n].sa, ai->ai_addr, ai->ai_addrlen);
        out->a[out->n].len = ai->ai_addrlen;
        out->n++;
    }
}

/* Addresses of the target: the pinned, already-checked ones when the caller gave
 * "host:port:a[,b]" for this host and port, otherwise the resolver's. */
static const char *resolve(apr_pool_t *p, const target_t *t, const char *pins, addrs_t *out)
{
    out->n = 0;
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_STREAM;
    if (pins) {
        size_t hl = strlen(t->host), pl = strlen(t->port);
        if (!strncasecmp(pins, t->host, hl) && pins[hl] == ':' && !strncmp(pins + hl + 1, t->port, pl) &&
            pins[hl + 1 + pl] == ':') {
            hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
            for (const char *s = pins + hl + pl + 2; *s;) {
                size_t n = strcspn(s, ",");
                const char *a = s, *e = s + n;
                if (n >= 2 && *a == '[' && e[-1] == ']') {
                    a++;
                    e--;
                }
                char *one = apr_pstrmemdup(p, a, e - a);
                if (getaddrinfo(one, t->port, &hints, &res) == 0) {
                    add_addrinfo(out, res);
                    freeaddrinfo(res);
                }
                s += n;
                if (*s == ',')
                    s++;
            }
            if (out->n)
                return NULL;
        }
    }
    hints.ai_family = AF_UNSPEC;
    hints.ai_flags = t->literal ? AI_NUMERICHOST | AI_NUMERICSERV : AI_NUMERICSERV;
    int rc = getaddrinfo(t->host, t->port, &hints, &res);
    if (rc != 0 || !res)
        return apr_psprintf(p, "Could not resolve host: %s (%s)", t->host, gai_strerror(rc));
    add_addrinfo(out, res);
    freeaddrinfo(res);
    return NULL;
}

/* ------------------------------------------------------------------- waiting */

/* 1 when fd is ready (or in error: the next call says which), 0 when the deadline
 * (absolute, 0 = none) or the idle limit (relative, 0 = none) passed first. */
static int wait_fd(int fd, short events, int64_t deadline, int64_t idle_us)
{
    for (;;) {
        int64_t left = -1;
        if (deadline) {
            left = deadline - now_us();
            if (left <= 0)
                return 0;
        }
        if (idle_us && (left < 0 || idle_us < left))
            left = idle_us;
        int ms = left < 0 ? -1 : (int)((left + 999) / 1000);
        struct pollfd pfd = {.fd = fd, .events = events};
        int r = poll(&pfd, 1, ms);
        if (r > 0)
            return 1;
        if (r == 0)
            return 0;
        if (errno != EINTR)
            return 1;
    }
}

/* ------------------------------------------------------------------- the TLS */

static SSL_CTX *tls_context(cx_http_pool *hp, const char **err)
{
    apr_thread_mutex_lock(hp->lock);
    if (!hp->tls) {
        SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
        if (ctx) {
            SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
            SSL_CTX_set_default_verify_paths(ctx);
            SSL_CTX_set_alpn_protos(ctx, (const unsigned char *)"\x08http/1.1", 9);
            /* The framing of every answer is checked here (Content-Length, chunked),
             * so a peer that closes without close_notify is an ordinary EOF. */
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
            SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
            SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
        }
        hp->tls = ctx;
    }
    SSL_CTX *ctx = hp->tls;
    apr_thread_mutex_unlock(hp->lock);
    if (!ctx)
        *err = "the TLS library could not be initialised";
    return ctx;
}

static const char *tls_error_text(apr_pool_t *p)
{
    unsigned long e = ERR_get_error();
    ERR_clear_error();
    if (!e)
        return "the connection closed during the handshake";
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    return apr_pstrdup(p, buf);
}

static int tls_handshake(cx_http_pool *hp, apr_pool_t *p, conn_t *c, const target_t *t,
                         int64_t deadline, const char **err)
{
    SSL_CTX *ctx = tls_context(hp, err);
    if (!ctx)
        return -1;
    c->ssl = SSL_new(ctx);
    if (!c->ssl || !SSL_set_fd(c->ssl, c->fd)) {
        *err = "the TLS library could not make a connection";
        return -1;
    }
    if (t->literal)
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), t->host);
    else {
        SSL_set_tlsext_host_name(c->ssl, t->host);
        SSL_set1_host(c->ssl, t->host);
    }
    ERR_clear_error();
    for (;;) {
        int r = SSL_connect(c->ssl);
        if (r == 1)
            return 0;
        int e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            if (!wait_fd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline, 0)) {
                *err = apr_psprintf(p, "TLS handshake with %s timed out", t->host);
                return -1;
            }
            continue;
        }
        long v = SSL_get_verify_result(c->ssl);
        if (v != X509_V_OK)
            *err = apr_psprintf(p, "the certificate of %s could not be verified: %s", t->host,
                                X509_verify_cert_error_string(v));
        else
            *err = apr_psprintf(p, "TLS handshake with %s failed: %s", t->host, tls_error_text(p));
        ERR_clear_error();
        return -1;
    }
}

/* --------------------------------------------------------------- connections */

static conn_t *conn_new(const char *key)
{
    size_t kl = strlen(key);
    conn_t *c = malloc(sizeof *c + kl + 1);
    if (!c)
        return NULL;
    c->next = NULL;
    c->fd = -1;
    c->ssl = NULL;
    c->idle_since = 0;
    memcpy(c->key, key, kl + 1);
    return c;
}

typedef enum { OPEN_OK, OPEN_FAILED, OPEN_TIMEOUT, OPEN_FORBIDDEN } open_result_t;

static open_result_t conn_open(cx_http_pool *hp, apr_pool_t *p, const cx_http_request_t *req,
                               const target_t *t, const char *key, int64_t deadline, conn_t **out,
                               const char **err)
{
    *out = NULL;
    addrs_t addrs;
    *err = resolve(p, t, req->guard ? req->resolve : NULL, &addrs);
    if (*err)
        return OPEN_FAILED;
    int forbidden = 0, timed_out = 0;
    const char *last = NULL;
    for (int i = 0; i < addrs.n; i++) {
        const struct sockaddr *sa = (const struct sockaddr *)&addrs.a[i].sa;
        if (req->guard && !cx_ssrf_allowed(req->guard, sa, NULL)) {
            forbidden = 1;
            continue;
        }
        int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            last = strerror(errno);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
        /* An address that swallows SYNs (an IPv6 route that goes nowhere) must not take
         * the whole connect budget from the addresses after it: each gets its share. */
        int64_t until = deadline;
        if (addrs.n - i > 1) {
            int64_t now = now_us();
            until = now + (deadline - now) / (addrs.n - i);
        }
        int rc = connect(fd, sa, addrs.a[i].len);
        if (rc != 0 && errno == EINPROGRESS) {
            if (!wait_fd(fd, POLLOUT, until, 0)) {
                close(fd);
                timed_out = 1;
                last = "Connection timed out";
                continue;
            }
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
            rc = soerr ? -1 : 0;
            errno = soerr;
        }
        if (rc != 0) {
            last = strerror(errno);
            close(fd);
            continue;
        }
        conn_t *c = conn_new(key);
        if (!c) {
            close(fd);
            *err = "out of memory";
            return OPEN_FAILED;
        }
        c->fd = fd;
        if (t->tls && tls_handshake(hp, p, c, t, deadline, err) != 0) {
            conn_close(c);
            return OPEN_FAILED;
        }
        *out = c;
        return OPEN_OK;
    }
    if (forbidden && !last) {
        *err = "the upstream address is not permitted (SSRF guard)";
        return OPEN_FORBIDDEN;
    }
    if (timed_out && !strcmp(last, "Connection timed out")) {
        *err = apr_psprintf(p, "Connection to %s port %s timed out", t->host, t->port);
        return OPEN_TIMEOUT;
    }
    *err = apr_psprintf(p, "Failed to connect to %s port %s: %s", t->host, t->port,
                        last ? last : "no address");
    return OPEN_FAILED;
}

/* A kept connection that is still good to send on: nothing to read on it (an idle
 * HTTP/1.1 connection has nothing to say; EOF or bytes mean the server is done). */
static int conn_still_open(conn_t *c)
{
    if (c->ssl && SSL_pending(c->ssl) > 0)
        return 0;
    char b;
    ssize_t r = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

static conn_t *take_idle(cx_http_pool *hp, const char *key)
{
    for (;;) {
        apr_thread_mutex_lock(hp->lock);
        conn_t **pp = &hp->idle, *c = NULL;
        for (; *pp; pp = &(*pp)->next) {
            if (!strcmp((*pp)->key, key)) {
                c = *pp;
                *pp = c->next;
                hp->n_idle--;
                break;
            }
        }
        apr_thread_mutex_unlock(hp->lock);
        if (!c)
            return NULL;
        int64_t idle = now_us() - c->idle_since;
        if (idle <= IDLE_PEEK_US || (idle <= IDLE_DROP_US && conn_still_open(c))) {
            c->next = NULL;
            return c;
        }
        conn_close(c);
    }
}

static void give_idle(cx_http_pool *hp, conn_t *c)
{
    c->idle_since = now_us();
    apr_thread_mutex_lock(hp->lock);
    if (hp->n_idle < IDLE_MAX) {
        c->next = hp->idle;
        hp->idle = c;
        hp->n_idle++;
        c = NULL;
    }
    apr_thread_mutex_unlock(hp->lock);
    conn_close(c);   /* more idle connections than any burst needs */
}

/* ------------------------------------------------------------------ the I/O */

typedef enum { IO_OK = 0, IO_EOF, IO_TIMEOUT, IO_FAILED } io_result_t;

/* Write all of the n parts. */
static io_result_t conn_write(conn_t *c, struct iovec *iov, int n, int64_t deadline, const char **err,
                              apr_pool_t *p)
{
    if (c->ssl) {
        for (int i = 0; i < n; i++) {
            ERR_clear_error();
            while (iov[i].iov_len) {
                int w = SSL_write(c->ssl, iov[i].iov_base, (int)iov[i].iov_len);
                if (w > 0) {
                    iov[i].iov_base = (char *)iov[i].iov_base + w;
                    iov[i].iov_len -= (size_t)w;
                    continue;
                }
                int e = SSL_get_error(c->ssl, w);
                if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
                    if (!wait_fd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline, 0))
                        return IO_TIMEOUT;
                    continue;
                }
                *err = apr_psprintf(p, "Send failure: %s",
                                    e == SSL_ERROR_SYSCALL && errno ? strerror(errno) : tls_error_text(p));
                ERR_clear_error();
                return IO_FAILED;
            }
        }
        return IO_OK;
    }
    int i = 0;
    while (i < n) {
        struct msghdr mh = {.msg_iov = iov + i, .msg_iovlen = (size_t)(n - i)};
        ssize_t w = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (!wait_fd(c->fd, POLLOUT, deadline, 0))
                    return IO_TIMEOUT;
                continue;
            }
            *err = apr_psprintf(p, "Send failure: %s", strerror(errno));
            return IO_FAILED;
        }
        while (i < n && (size_t)w >= iov[i].iov_len) {
            w -= (ssize_t)iov[i].iov_len;
            i++;
        }
        if (i < n) {
            iov[i].iov_base = (char *)iov[i].iov_base + w;
            iov[i].iov_len -= (size_t)w;
        }
    }
    return IO_OK;
}

/* Read up to n bytes. wait_first: the caller knows nothing can be there yet (the
 * request was just sent), so it polls before the read instead of after a failed one. */
static io_result_t conn_read(conn_t *c, char *buf, size_t n, size_t *got, int wait_first,
                             int64_t deadline, int64_t idle_us, const char **err, apr_pool_t *p)
{
    *got = 0;
    if (c->ssl) {
        ERR_clear_error();
        for (;;) {
            int r = SSL_read(c->ssl, buf, (int)n);
            if (r > 0) {
                *got = (size_t)r;
                return IO_OK;
            }
            int e = SSL_get_error(c->ssl, r);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
                if (!wait_fd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline, idle_us))
                    return IO_TIMEOUT;
                continue;
            }
            if (e == SSL_ERROR_ZERO_RETURN)
                return IO_EOF;
            *err = apr_psprintf(p, "Recv failure: %s",
                                e == SSL_ERROR_SYSCALL && errno ? strerror(errno) : tls_error_text(p));
            ERR_clear_error();
            return IO_FAILED;
        }
    }
    if (wait_first && !wait_fd(c->fd, POLLIN, deadline, idle_us))
        return IO_TIMEOUT;
    for (;;) {
        ssize_t r = recv(c->fd, buf, n, 0);
        if (r > 0) {
            *got = (size_t)r;
            return IO_OK;
        }
        if (r == 0)
            return IO_EOF;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (!wait_fd(c->fd, POLLIN, deadline, idle_us))
                return IO_TIMEOUT;
            continue;
        }
        *err = apr_psprintf(p, "Recv failure: %s", strerror(errno));
        return IO_FAILED;
    }
}

/* ------------------------------------------------------------- one exchange */

typedef struct {
    apr_pool_t *p;
    const cx_http_request_t *req;
    cx_http_response_t *resp;
    int64_t deadline;         /* whole transfer (non-streaming), 0 = none */
    int64_t idle_us;          /* streaming: longest silence, 0 = none */
    int streaming;
    int aborted;
    cx_http_body_t body;      /* what is not streamed */
} xfer_t;

static int deliver(void *baton, const char *data, size_t n)
{
    xfer_t *x = baton;
    if (!n)
        return 0;
    if (x->streaming) {
        if (x->req->on_data(x->req->baton, data, n) != 0) {
            x->aborted = 1;
            return -1;
        }
        x->resp->streamed_bytes += n;
        return 0;
    }
    return cx_http_body_append(&x->body, data, n);
}

typedef enum {
    EX_KEEP,      /* complete; the connection may carry another request */
    EX_CLOSE,     /* complete; the connection is done */
    EX_STALE,     /* a reused connection died before any byte of the answer */
    EX_FAILED     /* resp->result and resp->error say why */
} exchange_t;

static exchange_t fail(xfer_t *x, cx_http_result_t result, const char *error)
{
    x->resp->result = result;
    x->resp->error = error;
    return EX_FAILED;
}

static exchange_t timed_out(xfer_t *x, int64_t started, unsigned long long got)
{
    return fail(x, CX_HTTP_TIMEOUT,
                apr_psprintf(x->p, "Operation timed out after %" APR_INT64_T_FMT " milliseconds with %"
                                APR_UINT64_T_FMT " bytes received",
                             (apr_int64_t)((now_us() - started) / 1000), (apr_uint64_t)got));
}

static exchange_t exchange(xfer_t *x, conn_t *c, int reused, struct iovec *out, int nout,
                           int64_t started)
{
    apr_pool_t *p = x->p;
    const char *err = NULL;
    struct iovec iov[2];
    memcpy(iov, out, nout * sizeof *iov);   /* conn_write advances its copy */
    io_result_t io = conn_write(c, iov, nout, x->deadline, &err, p);
    if (io == IO_TIMEOUT)
        return timed_out(x, started, 0);
    if (io != IO_OK)
        return reused ? EX_STALE : fail(x, CX_HTTP_TRUNCATED, err);

    /* The head: usually all of it, and often the whole answer, in the first read. */
    char stack[READ_SIZE];
    char *hb = stack;
    size_t hcap = sizeof stack, hlen = 0;
    cx_http_head_t head;
    long head_len = 0;
    int wait_first = 1;
    for (;;) {
        if (hlen == hcap) {
            size_t ncap = hcap * 2;
            if (ncap > CX_HTTP_HEAD_MAX + READ_SIZE)
                return fail(x, CX_HTTP_FAILED, "the response head is larger than 64 KB");
            char *nb = apr_palloc(p, ncap);
            memcpy(nb, hb, hlen);
            hb = nb;
            hcap = ncap;
        }
        size_t got;
        io = conn_read(c, hb + hlen, hcap - hlen, &got, wait_first, x->deadline, x->idle_us, &err, p);
        wait_first = 0;
        if (io == IO_TIMEOUT)
            return timed_out(x, started, 0);
        if (io != IO_OK) {
            if (!hlen && reused)
                return EX_STALE;
            return fail(x, CX_HTTP_TRUNCATED, io == IO_EOF ? (hlen ? "the connection closed in the response head"
                                                                   : "Empty reply from server")
                                                           : err);
        }
        hlen += got;
        for (;;) {
            const char *why;
            head_len = cx_http_head_parse(p, hb, hlen, &head, &why);
            if (head_len < 0)
                return fail(x, CX_HTTP_FAILED, apr_psprintf(p, "bad answer from the upstream: %s", why));
            if (head_len == 0 || head.status >= 200)
                break;
            if (head.status == 101)
                return fail(x, CX_HTTP_FAILED, "the upstream switched protocols");
            /* 100 Continue, 103 Early Hints: an interim head, the real one follows. */
            memmove(hb, hb + head_len, hlen - (size_t)head_len);
            hlen -= (size_t)head_len;
            head_len = 0;
        }
        if (head_len > 0)
            break;
    }

    cx_http_response_t *resp = x->resp;
    resp->status = head.status;
    resp->content_type = head.content_type;
    resp->retry_after = head.retry_after;
    if (head.content_encoding && strcasecmp(head.content_encoding, "identity"))
        /* Conduix sends no Accept-Encoding, and servers compress only when asked. One
         * that compresses anyway is refused rather than its bytes passed on as JSON. */
        return fail(x, CX_HTTP_FAILED,
                    apr_psprintf(p, "the provider answered with Content-Encoding: %s, which was not "
                                    "asked for", head.content_encoding));
    x->streaming = x->req->stream && x->req->on_data && head.status >= 200 && head.status < 300;

    const char *rest = hb + head_len;
    size_t rest_len = hlen - (size_t)head_len;
    int keep = head.keep_alive;
    unsigned long long got_body = 0;

    if (cx_http_status_has_no_body(head.status) || head.content_length == 0)
        return rest_len || !keep ? EX_CLOSE : EX_KEEP;

    if (head.chunked) {
        cx_chunked_t dec;
        cx_chunked_init(&dec);
        char rbuf[READ_SIZE];
        for (;;) {
            size_t used;
            cx_chunked_result_t cr = cx_chunked_feed(&dec, rest, rest_len, &used, deliver, x);
            got_body += used;
            if (cr == CX_CHUNKED_DONE)
                return used < rest_len || !keep ? EX_CLOSE : EX_KEEP;
            if (cr == CX_CHUNKED_STOPPED)
                return fail(x, x->body.too_large ? CX_HTTP_TOO_LARGE : CX_HTTP_ABORTED,
                            x->body.too_large ? "the answer is larger than allowed" : "the receiver stopped the transfer");
            if (cr == CX_CHUNKED_BAD)
                return fail(x, CX_HTTP_TRUNCATED, "bad answer from the upstream: malformed chunked encoding");
            size_t got;
            io = conn_read(c, rbuf, sizeof rbuf, &got, 0, x->deadline, x->idle_us, &err, p);
            if (io == IO_TIMEOUT)
                return timed_out(x, started, got_body);
            if (io == IO_EOF)
                return fail(x, CX_HTTP_TRUNCATED, "transfer closed with outstanding read data remaining");
            if (io != IO_OK)
                return fail(x, CX_HTTP_TRUNCATED, err);
            rest = rbuf;
            rest_len = got;
        }
    }

    long long want = head.content_length;   /* -1: until the connection closes */
    if (want > 0 && !x->streaming) {
        /* Known length, buffered: read straight into the body's own buffer. */
        if ((unsigned long long)want > x->body.max || cx_http_body_reserve(&x->body, (apr_size_t)want) != 0)
            return fail(x, CX_HTTP_TOO_LARGE, "the answer is larger than allowed");
        size_t first = rest_len < (size_t)want ? rest_len : (size_t)want;
        memcpy(x->body.buf, rest, first);
        x->body.len = first;
        while (x->body.len < (apr_size_t)want) {
            size_t got;
            io = conn_read(c, x->body.buf + x->body.len, (size_t)want - x->body.len, &got, 0, x->deadline,
                           x->idle_us, &err, p);
            if (io == IO_TIMEOUT)
                return timed_out(x, started, x->body.len);
            if (io == IO_EOF)
                return fail(x, CX_HTTP_TRUNCATED,
                            apr_psprintf(p, "transfer closed with %" APR_UINT64_T_FMT " bytes remaining to read",
                                         (apr_uint64_t)((unsigned long long)want - x->body.len)));
            if (io != IO_OK)
                return fail(x, CX_HTTP_TRUNCATED, err);
            x->body.len += got;
        }
        x->body.buf[x->body.len] = '\0';
        return rest_len > first || !keep ? EX_CLOSE : EX_KEEP;
    }

    char rbuf[READ_SIZE];
    for (;;) {
        size_t take = rest_len;
        if (want >= 0 && take > (unsigned long long)want - got_body)
            take = (size_t)((unsigned long long)want - got_body);
        if (deliver(x, rest, take) != 0)
            return fail(x, x->body.too_large ? CX_HTTP_TOO_LARGE : CX_HTTP_ABORTED,
                        x->body.too_large ? "the answer is larger than allowed" : "the receiver stopped the transfer");
        got_body += take;
        if (want >= 0 && got_body == (unsigned long long)want)
            return take < rest_len || !keep ? EX_CLOSE : EX_KEEP;
        size_t got;
        io = conn_read(c, rbuf, sizeof rbuf, &got, 0, x->deadline, x->idle_us, &err, p);
        if (io == IO_TIMEOUT)
            return timed_out(x, started, got_body);
        if (io == IO_EOF) {
            if (want < 0)
                return EX_CLOSE;   /* delimited by the close */
            return fail(x, CX_HTTP_TRUNCATED,
                        apr_psprintf(p, "transfer closed with %" APR_UINT64_T_FMT " bytes remaining to read",
                                     (apr_uint64_t)((unsigned long long)want - got_body)));
        }
        if (io != IO_OK)
            return fail(x, CX_HTTP_TRUNCATED, err);
        rest = rbuf;
        rest_len = got;
    }
}

/* The request head: "METHOD path HTTP/1.1", Host, the caller's headers, Accept when
 * the caller gave none, Content-Length for a body. */
static char *request_head(apr_pool_t *p, const target_t *t, const cx_http_request_t *req, size_t *len)
{
    size_t n = 64 + strlen(t->path) + strlen(t->authority);
    int has_accept = 0;
    int nh = req->headers ? req->headers->nelts : 0;
    for (int i = 0; i < nh; i++) {
        const char *h = APR_ARRAY_IDX(req->headers, i, const char *);
        n += strlen(h) + 2;
        if (!strncasecmp(h, "accept:", 7))
            has_accept = 1;
    }
    char *buf = apr_palloc(p, n + 64), *w = buf;
#define PUT(s, l) (memcpy(w, (s), (l)), w += (l))
#define PUTS(s) PUT(s, strlen(s))
    if (req->body)
        PUT("POST ", 5);
    else
        PUT("GET ", 4);
    PUTS(t->path);
    PUT(" HTTP/1.1\r\nHost: ", 17);
    PUTS(t->authority);
    PUT("\r\n", 2);
    for (int i = 0; i < nh; i++) {
        PUTS(APR_ARRAY_IDX(req->headers, i, const char *));
        PUT("\r\n", 2);
    }
    if (!has_accept)
        PUT("Accept: */*\r\n", 13);
    if (req->body) {
        char num[24];
        int l = snprintf(num, sizeof num, "%lu", (unsigned long)req->body_len);
        PUT("Content-Length: ", 16);
        PUT(num, (size_t)l);
        PUT("\r\n", 2);
    }
    PUT("\r\n", 2);
#undef PUT
#undef PUTS
    *len = (size_t)(w - buf);
    return buf;
}

cx_http_result_t cx_http_perform(cx_http_pool *hp, apr_pool_t *p, const cx_http_request_t *req,
                                 cx_http_response_t *resp)
{
    if (hp->curl)
        return cx_http_curl_perform(hp->curl, p, req, resp);
    memset(resp, 0, sizeof *resp);
    resp->body = "";
    target_t t;
    const char *err = parse_url(p, req->url, &t);
    if (err) {
        resp->result = CX_HTTP_FAILED;
        resp->error = err;
        return resp->result;
    }
    for (int i = 0; req->headers && i < req->headers->nelts; i++) {
        if (strpbrk(APR_ARRAY_IDX(req->headers, i, const char *), "\r\n")) {
            resp->result = CX_HTTP_FAILED;
            resp->error = "a request header holds a line break";
            return resp->result;
        }
    }
    int64_t started = now_us();
    xfer_t x = {.p = p, .req = req, .resp = resp, .body = {.p = p, .max = req->max_response}};
    if (!req->stream && req->timeout_ms > 0)
        x.deadline = started + (int64_t)req->timeout_ms * 1000;
    if (req->stream)
        x.idle_us = req->idle_timeout_ms > 0 ? (int64_t)req->idle_timeout_ms * 1000 : DEFAULT_IDLE_US;
    int64_t connect_us = (req->connect_timeout_ms > 0 ? req->connect_timeout_ms : 10000L) * 1000LL;

    char key[300];
    snprintf(key, sizeof key, "%s://%s:%s", t.tls ? "https" : "http", t.host, t.port);
    size_t head_len;
    char *head = request_head(p, &t, req, &head_len);
    struct iovec out[2];
    int nout = 1;
    if (req->body && req->body_len && head_len + req->body_len <= ONE_WRITE_MAX) {
        char *one = apr_palloc(p, head_len + req->body_len);
        memcpy(one, head, head_len);
        memcpy(one + head_len, req->body, req->body_len);
        out[0] = (struct iovec){one, head_len + req->body_len};
    }
    else {
        out[0] = (struct iovec){head, head_len};
        if (req->body && req->body_len)
            out[nout++] = (struct iovec){(void *)req->body, req->body_len};
    }

    /* At most one more try, and only for a reused connection that died unanswered. */
    for (int attempt = 0; attempt < 2; attempt++) {
        conn_t *c = req->guard || attempt ? NULL : take_idle(hp, key);
        int reused = c != NULL;
        if (!c) {
            int64_t t0 = now_us();
            int64_t cdl = t0 + connect_us;
            if (x.deadline && x.deadline < cdl)
                cdl = x.deadline;
            open_result_t o = conn_open(hp, p, req, &t, key, cdl, &c, &err);
            resp->connect_seconds = (double)(now_us() - t0) / 1e6;
            if (o != OPEN_OK) {
                resp->result = o == OPEN_FORBIDDEN ? CX_HTTP_FORBIDDEN
                               : o == OPEN_TIMEOUT ? CX_HTTP_TIMEOUT : CX_HTTP_CONNECT_FAILED;
                resp->error = err;
                return resp->result;
            }
        }
        exchange_t ex = exchange(&x, c, reused, out, nout, started);
        if (ex == EX_STALE) {
            conn_close(c);
            continue;
        }
        if (ex == EX_KEEP && !req->guard)
            give_idle(hp, c);
        else
            conn_close(c);
        if (ex != EX_FAILED)
            resp->result = CX_HTTP_OK;
        break;
    }
    resp->body = x.body.buf ? x.body.buf : "";
    resp->body_len = x.body.len;
    return resp->result;
}
