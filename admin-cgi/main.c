/* conduix-admin: the Conduix dashboard, a CGI mounted at /dashboard (ScriptAlias).
 *
 * Environment (httpd SetEnv):
 *   CONDUIX_DB_DSN            database DSN (cx_dsn syntax; use password_file=)
 *   CONDUIX_TEMPLATE_DIR      the templates/ directory
 *   CONDUIX_JWT_SECRET_FILE   HS256 secret for the dashboard JWT (optional)
 *
 * One request: parse (query, cookies, urlencoded POST body up to 64 KiB), open the
 * database, load the session, find the route, then enforce in this order: signed in
 * (GET: redirect to the login page; POST: 403), CSRF token on every POST (403, nothing
 * runs), role and operator flag (403). Only then does the page handler run. */
#include "admin.h"
#include "cx_dsn.h"
#include "cx_keys.h"
#include "cx_log.h"

#include <apr_general.h>
#include <apr_strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_BODY (64 * 1024)

typedef struct {
    const char *path;
    const char *method;
    int needs_session;
    cx_role_t min_role;
    int operator_only;
    cxa_handler_fn *fn;
} route_t;

static int page_root(cxa_t *c)
{
    return cxa_redirect(c, "/usage");
}

/* Reading is open to every role, with two exceptions: the audit log (IP addresses of
 * members) needs admin, and the Providers page is for platform operators. Members may
 * mint keys (and edit or revoke the keys they minted: checked in page_keys.c). */
static const route_t routes[] = {
    {"/login", "GET", 0, CX_ROLE_VIEWER, 0, cxa_page_login},
    {"/login", "POST", 0, CX_ROLE_VIEWER, 0, cxa_page_login_post},
    {"/accept", "GET", 0, CX_ROLE_VIEWER, 0, cxa_page_accept},
    {"/accept", "POST", 0, CX_ROLE_VIEWER, 0, cxa_page_accept_post},
    {"/logout", "POST", 1, CX_ROLE_VIEWER, 0, cxa_page_logout},
    {"/", "GET", 1, CX_ROLE_VIEWER, 0, page_root},
    {"/usage", "GET", 1, CX_ROLE_VIEWER, 0, cxa_page_usage},
    {"/usage.csv", "GET", 1, CX_ROLE_VIEWER, 0, cxa_page_usage_csv},
    {"/models", "GET", 1, CX_ROLE_VIEWER, 0, cxa_page_models},
    {"/models/byo/add", "POST", 1, CX_ROLE_ADMIN, 0, cxa_page_byo_add},
    {"/models/byo/remove", "POST", 1, CX_ROLE_ADMIN, 0, cxa_page_byo_remove},
    {"/keys", "GET", 1, CX_ROLE_VIEWER, 0, cxa_page_keys},
    {"/keys/mint", "POST", 1, CX_ROLE_MEMBER, 0, cxa_page_key_mint},
    {"/keys/edit", "GET", 1, CX_ROLE_MEMBER, 0, cxa_page_key_edit},
    {"/keys/edit", "POST", 1, CX_ROLE_MEMBER, 0, cxa_page_key_edit_post},
    {"/keys/revoke", "POST", 1, CX_ROLE_MEMBER, 0, cxa_page_key_revoke},
    {"/settings", "GET", 1, CX_ROLE_VIEWER, 0, cxa_page_settings},
    {"/settings", "POST", 1, CX_ROLE_ADMIN, 0, cxa_page_settings_post},
    {"/audit", "GET", 1, CX_ROLE_ADMIN, 0, cxa_page_audit},
    {"/audit/export", "GET", 1, CX_ROLE_ADMIN, 0, cxa_page_audit_export},
    {"/billing", "GET", 1, CX_ROLE_VIEWER, 0, cxa_page_billing},
    {"/billing/grant", "POST", 1, CX_ROLE_VIEWER, 1, cxa_page_billing_grant},
    {"/members", "GET", 1, CX_ROLE_VIEWER, 0, cxa_page_members},
    {"/members/invite", "POST", 1, CX_ROLE_ADMIN, 0, cxa_page_member_invite},
    {"/members/role", "POST", 1, CX_ROLE_ADMIN, 0, cxa_page_member_role},
    {"/members/remove", "POST", 1, CX_ROLE_ADMIN, 0, cxa_page_member_remove},
    {"/members/invite/revoke", "POST", 1, CX_ROLE_ADMIN, 0, cxa_page_invite_revoke},
    {"/providers", "GET", 1, CX_ROLE_VIEWER, 1, cxa_page_providers},
    {"/providers/update", "POST", 1, CX_ROLE_VIEWER, 1, cxa_page_provider_update},
    {"/providers/webhooks/add", "POST", 1, CX_ROLE_VIEWER, 1, cxa_page_webhook_add},
    {"/providers/webhooks/remove", "POST", 1, CX_ROLE_VIEWER, 1, cxa_page_webhook_remove},
};

/* ------------------------------------------------------------------ dates */

int cxa_valid_date(const char *s)
{
    int y, m, d;
    char extra;
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-' ||
        sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &extra) != 3)
        return 0;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return 0;
    if (y < 2000 || y > 2999 || m < 1 || m > 12 || d < 1 || d > 31)
        return 0;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_hour = 12};
    time_t t = timegm(&tm);
    struct tm back;
    gmtime_r(&t, &back);
    return back.tm_mday == d && back.tm_mon == m - 1;   /* 2026-02-30 is refused */
}

const char *cxa_date_add(apr_pool_t *p, const char *date, int days)
{
    int y, m, d;
    if (sscanf(date, "%4d-%2d-%2d", &y, &m, &d) != 3)
        return NULL;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d + days, .tm_hour = 12};
    time_t t = timegm(&tm);
    struct tm out;
    gmtime_r(&t, &out);
    return apr_psprintf(p, "%04d-%02d-%02d", out.tm_year + 1900, out.tm_mon + 1, out.tm_mday);
}

const char *cxa_today(apr_pool_t *p)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    return apr_psprintf(p, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

/* ------------------------------------------------------------------ request */

static const char *env_or(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return (v && *v) ? v : dflt;
}

/* A minimal response before the CGI kit is set up (or when it cannot be). */
/* httpd's cgid breaks the connection when a CGI exits without reading the request
 * body it was sent: consume what is left (bounded; bigger bodies are refused by httpd's
 * LimitRequestBody before the CGI starts). */
static void drain_body(void)
{
    char buf[8192];
    size_t total = 0, n;
    const char *clen = getenv("CONTENT_LENGTH");
    if (!clen || !*clen || !strcmp(clen, "0"))
        return;
    while (total < 4 * MAX_BODY && (n = fread(buf, 1, sizeof buf, stdin)) > 0)
        total += n;
}

static int early_fail_with(int status, const char *header, const char *text)
{
    drain_body();
    printf("Status: %d\r\nContent-Type: text/plain; charset=utf-8\r\nCache-Control: no-store\r\n"
           "X-Content-Type-Options: nosniff\r\n%s%s\r\n%s\n", status, header ? header : "",
           header ? "\r\n" : "", text);
    return 0;
}

static int early_fail(int status, const char *text)
{
    return early_fail_with(status, NULL, text);
}

static int dispatch(cxa_t *c)
{
    const route_t *route = NULL;
    int path_known = 0;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (strcmp(routes[i].path, c->path))
            continue;
        path_known = 1;
        if (!strcmp(routes[i].method, c->method) ||
            (!strcmp(routes[i].method, "GET") && !strcmp(c->method, "HEAD"))) {
            route = &routes[i];
            break;
        }
    }

    if (!route && !path_known) {
        if (cxa_session_load(c))
            return cxa_fail(c, 500, "The session store is unavailable.");
        return cxa_fail(c, 404, "There is no such page in the dashboard.");
    }
    if (!route) {
        cxa_header(c, "Allow: GET, POST");
        return cxa_fail(c, 405, "This page does not accept that method.");
    }

    int is_post = !strcmp(c->method, "POST");
    if (!route->needs_session) {
        cxa_prelogin_csrf(c);
        if (is_post && !cxa_csrf_ok(c))
            return cxa_fail(c, 403, "The form has expired or did not come from this dashboard. "
                                    "Reload the page and try again.");
        return route->fn(c);
    }

    if (cxa_session_load(c))
        return cxa_fail(c, 500, "The session store is unavailable.");
    if (!c->authenticated) {
        if (is_post)
            return cxa_fail(c, 403, "You are not signed in.");
        return cxa_redirect(c, "/login");
    }
    if (is_post && !cxa_csrf_ok(c)) {
        cx_log(CX_LOG_WARN, c->request_id, "CXA0101", "CSRF token missing or wrong on POST %s "
               "(user %llu)", c->path, (unsigned long long)c->user.id);
        return cxa_fail(c, 403, "The form has expired or did not come from this dashboard. "
                                "Reload the page and try again.");
    }
    if (route->operator_only && !c->user.is_operator)
        return cxa_fail(c, 403, "This page is for Conduix platform operators.");
    if (c->user.role < route->min_role)
        return cxa_fail(c, 403, apr_psprintf(c->pool, "Your role (%s) does not allow this; it "
                                             "needs %s or above.", cx_role_name(c->user.role),
                                             cx_role_name(route->min_role)));
    return route->fn(c);
}

int main(int argc, const char *const *argv)
{
    apr_pool_t *pool;
    HDF *hdf = NULL;
    CGI *cgi = NULL;
    NEOERR *nerr;
    const char *err;

    if (apr_app_initialize(&argc, &argv, NULL) != APR_SUCCESS || apr_pool_create(&pool, NULL))
        return early_fail(500, "initialisation failed");

    cxa_t ctx;
    cxa_t *c = &ctx;
    memset(c, 0, sizeof *c);
    c->pool = pool;
    c->headers = apr_array_make(pool, 8, sizeof(const char *));
    c->request_id = cx_request_id_new(pool);
    c->template_dir = env_or("CONDUIX_TEMPLATE_DIR", NULL);
    const char *dsn_text = env_or("CONDUIX_DB_DSN", NULL);
    if (!c->template_dir || !dsn_text) {
        cx_log(CX_LOG_ERR, c->request_id, "CXA0001",
               "CONDUIX_TEMPLATE_DIR and CONDUIX_DB_DSN must be set (httpd SetEnv)");
        return early_fail(500, "The dashboard is not configured.");
    }

    const char *clen = env_or("CONTENT_LENGTH", "0");
    if (strtol(clen, NULL, 10) > MAX_BODY || strlen(clen) > 9)
        return early_fail(413, "The request body is too large.");
    c->method = env_or("REQUEST_METHOD", "GET");
    if (strcmp(c->method, "GET") && strcmp(c->method, "HEAD") && strcmp(c->method, "POST")) {
        return early_fail_with(405, "Allow: GET, HEAD, POST", "The dashboard accepts GET and POST only.");
    }
    if (!strcmp(c->method, "POST")) {
        const char *ctype = env_or("CONTENT_TYPE", "");
        if (strncmp(ctype, "application/x-www-form-urlencoded", 33))
            return early_fail(415, "Forms must be sent as application/x-www-form-urlencoded.");
    }

    if ((nerr = hdf_init(&hdf)) != STATUS_OK)
        goto neo_fail;
    cxa_hdf_config(hdf, c->template_dir);
    if ((nerr = cgi_init(&cgi, hdf)) != STATUS_OK)
        goto neo_fail;
    if ((nerr = cgi_parse(cgi)) != STATUS_OK)
        goto neo_fail;
    c->cgi = cgi;
    c->hdf = cgi->hdf;

    c->base = env_or("SCRIPT_NAME", "/dashboard");
    const char *path = env_or("PATH_INFO", "/");
    size_t plen = strlen(path);
    /* "/keys/" and "/keys" are the same page. */
    c->path = (plen > 1 && path[plen - 1] == '/') ? apr_pstrndup(pool, path, plen - 1) : path;
    c->ip = env_or("REMOTE_ADDR", "unknown");
    c->user_agent = env_or("HTTP_USER_AGENT", "");
    const char *https = env_or("HTTPS", "");
    c->https = !strcasecmp(https, "on") || !strcmp(https, "1");

    cx_dsn_t dsn;
    if ((err = cx_dsn_parse(pool, dsn_text, &dsn))) {
        cx_log(CX_LOG_ERR, c->request_id, "CXA0002", "bad CONDUIX_DB_DSN: %s", err);
        cxa_fail(c, 500, "The dashboard's database setting is invalid.");
        goto done;
    }
    c->db = cx_db_open(pool, &dsn, &err);
    if (!c->db) {
        cx_log(CX_LOG_ERR, c->request_id, "CXA0003", "%s", err);
        cxa_fail(c, 503, "The database is unavailable. Try again in a moment.");
        goto done;
    }
    if (dispatch(c) != 0) {
        cx_log(CX_LOG_ERR, c->request_id, "CXA0004", "%s %s failed: %s", c->method, c->path,
               cx_db_error(c->db));
        cxa_fail(c, 500, "Something went wrong; nothing was changed.");
    }

done:
    fflush(stdout);
    cgi_destroy(&cgi);
    apr_pool_destroy(pool);
    apr_terminate();
    return 0;

neo_fail: {
        STRING s;
        string_init(&s);
        nerr_error_string(nerr, &s);
        cx_log(CX_LOG_ERR, c->request_id, "CXA0005", "request parsing failed: %s",
               s.buf ? s.buf : "?");
        string_clear(&s);
        nerr_ignore(&nerr);
        if (cgi)
            cgi_destroy(&cgi);
        else if (hdf)
            hdf_destroy(&hdf);
        return early_fail(400, "The request could not be parsed.");
    }
}
