/* conduix-admin: writing CGI responses (headers, cookies, pages, redirects, downloads)
 * and reading request parameters. Every response carries the same security headers:
 * no caching, no framing, no sniffing, no referrer, and a CSP that allows only the
 * dashboard's own stylesheet and script (templates use no inline script or style). */
#include "admin.h"
#include "cx_json.h"
#include "cx_log.h"

#include <apr_strings.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 303: return "See Other";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 503: return "Service Unavailable";
    default: return "Internal Server Error";
    }
}

void cxa_header(cxa_t *c, const char *line)
{
    APR_ARRAY_PUSH(c->headers, const char *) = apr_pstrdup(c->pool, line);
}

static void write_headers(cxa_t *c, int status, const char *content_type)
{
    printf("Status: %d %s\r\n", status, reason(status));
    printf("Content-Type: %s\r\n", content_type);
    fputs("Cache-Control: no-store\r\n"
          "X-Content-Type-Options: nosniff\r\n"
          "X-Frame-Options: DENY\r\n"
          "Referrer-Policy: no-referrer\r\n"
          "Content-Security-Policy: default-src 'none'; style-src 'self'; img-src 'self' data:; "
          "script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'\r\n",
          stdout);
    printf("X-Conduix-Request-Id: %s\r\n", c->request_id);
    for (int i = 0; i < c->headers->nelts; i++)
        printf("%s\r\n", APR_ARRAY_IDX(c->headers, i, const char *));
    fputs("\r\n", stdout);
}

void cxa_cookie(cxa_t *c, const char *name, const char *value, const char *path, long max_age)
{
    char age[48] = "";
    if (max_age >= 0)
        snprintf(age, sizeof age, "; Max-Age=%ld", max_age);
    cxa_header(c, apr_psprintf(c->pool, "Set-Cookie: %s=%s; Path=%s%s; HttpOnly; SameSite=Strict%s",
                               name, value ? value : "", path, age, c->https ? "; Secure" : ""));
}

/* The values every page (and the layout) can use. */
static void set_common(cxa_t *c, const char *title)
{
    cxa_set(c, "Base", c->base);
    cxa_set(c, "RequestId", c->request_id);
    cxa_set(c, "Page.Title", title);
    cxa_set(c, "Page.Path", c->path);
    cxa_set(c, "CSRF", c->csrf_token);
    if (c->authenticated) {
        cxa_set(c, "User.Email", c->user.email);
        cxa_set(c, "User.Role", cx_role_name(c->user.role));
        cxa_set_int(c, "User.IsOperator", c->user.is_operator);
        cxa_set_int(c, "User.CanEdit", c->user.role >= CX_ROLE_ADMIN);
        cxa_set_int(c, "User.CanMint", c->user.role >= CX_ROLE_MEMBER);
        cxa_set_int(c, "User.CanAudit", c->user.role >= CX_ROLE_ADMIN);
        cxa_set_int(c, "User.IsOwner", c->user.role == CX_ROLE_OWNER);
        cxa_set(c, "Org.Name", c->user.org_name);
        cxa_set(c, "Org.Plan", c->user.org_plan);
        cxa_setf(c, "Org.Id", "%" APR_UINT64_T_FMT, (apr_uint64_t)c->user.org_id);
    }
}

int cxa_render(cxa_t *c, int status, const char *page_template, const char *title)
{
    STRING out;
    string_init(&out);
    set_common(c, title);
    char *err = cxa_render_to_string(c->hdf, c->template_dir, page_template, &out);
    if (err) {
        cx_log(CX_LOG_ERR, c->request_id, "CXA0501", "rendering %s failed: %s", page_template, err);
        free(err);
        string_clear(&out);
        write_headers(c, 500, "text/plain; charset=utf-8");
        printf("The page could not be rendered (request %s).\n", c->request_id);
        return 0;
    }
    write_headers(c, status, "text/html; charset=utf-8");
    fwrite(out.buf, 1, (size_t)out.len, stdout);
    string_clear(&out);
    return 0;
}

int cxa_redirect(cxa_t *c, const char *path_and_query)
{
    /* Only paths inside the dashboard: never an absolute or scheme-relative URL. */
    const char *target = (path_and_query[0] == '/' && path_and_query[1] != '/' &&
                          !strchr(path_and_query, '\\') && !strpbrk(path_and_query, "\r\n"))
                             ? path_and_query : "/";
    cxa_header(c, apr_pstrcat(c->pool, "Location: ", c->base, target, NULL));
    write_headers(c, 303, "text/plain; charset=utf-8");
    fputs("See Other\n", stdout);
    return 0;
}

int cxa_fail(cxa_t *c, int status, const char *message)
{
    cxa_set_int(c, "Error.Status", status);
    cxa_set(c, "Error.Reason", reason(status));
    cxa_set(c, "Error.Message", message);
    return cxa_render(c, status, "error.cs", reason(status));
}

int cxa_download(cxa_t *c, const char *content_type, const char *filename, const char *body,
                 apr_size_t len)
{
    cxa_header(c, apr_psprintf(c->pool, "Content-Disposition: attachment; filename=\"%s\"", filename));
    write_headers(c, 200, content_type);
    fwrite(body, 1, len, stdout);
    return 0;
}

/* CSV cell: quoted, quotes doubled; a leading = + - @ is prefixed with ' so that a
 * spreadsheet never evaluates audit data as a formula. */
const char *cxa_csv_cell(apr_pool_t *p, const char *s)
{
    if (!s)
        return "";
    const char *guard = (*s == '=' || *s == '+' || *s == '-' || *s == '@' || *s == '\t' ||
                         *s == '\r') ? "'" : "";
    size_t n = strlen(s);
    char *out = apr_palloc(p, 2 * n + 4), *o = out;
    *o++ = '"';
    for (const char *g = guard; *g; g++)
        *o++ = *g;
    for (; *s; s++) {
        if (*s == '"')
            *o++ = '"';
        *o++ = *s;
    }
    *o++ = '"';
    *o = '\0';
    return out;
}

/* ------------------------------------------------------------------ parameters */

static const char *param_value(cxa_t *c, const char *name)
{
    /* Query.* holds both the query string and the urlencoded POST body. */
    return hdf_get_value(c->hdf, apr_pstrcat(c->pool, "Query.", name, NULL), NULL);
}

const char *cxa_param_raw(cxa_t *c, const char *name)
{
    const char *v = param_value(c, name);
    return (v && *v) ? v : NULL;
}

const char *cxa_param(cxa_t *c, const char *name)
{
    const char *v = param_value(c, name);
    if (!v)
        return NULL;
    while (*v && isspace((unsigned char)*v))
        v++;
    size_t n = strlen(v);
    while (n > 0 && isspace((unsigned char)v[n - 1]))
        n--;
    return n ? apr_pstrndup(c->pool, v, n) : NULL;
}

apr_array_header_t *cxa_param_all(cxa_t *c, const char *name)
{
    apr_array_header_t *vals = apr_array_make(c->pool, 4, sizeof(const char *));
    HDF *obj = hdf_get_obj(c->hdf, apr_pstrcat(c->pool, "Query.", name, NULL));
    if (!obj)
        return vals;
    HDF *child = hdf_obj_child(obj);
    if (!child) {
        const char *v = hdf_obj_value(obj);
        if (v && *v)
            APR_ARRAY_PUSH(vals, const char *) = v;
        return vals;
    }
    for (; child; child = hdf_obj_next(child)) {
        const char *v = hdf_obj_value(child);
        if (v && *v)
            APR_ARRAY_PUSH(vals, const char *) = v;
    }
    return vals;
}

uint64_t cxa_param_id(cxa_t *c, const char *name)
{
    const char *v = cxa_param(c, name);
    if (!v || strlen(v) > 18)
        return 0;
    uint64_t n = 0;
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        n = n * 10 + (uint64_t)(*p - '0');
    }
    return n;
}

const char *cxa_cookie_value(cxa_t *c, const char *name)
{
    return hdf_get_value(c->hdf, apr_pstrcat(c->pool, "Cookie.", name, NULL), NULL);
}

/* ------------------------------------------------------------------ HDF helpers */

void cxa_set(cxa_t *c, const char *name, const char *value)
{
    hdf_set_value(c->hdf, name, value ? value : "");
}

void cxa_setf(cxa_t *c, const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *v = apr_pvsprintf(c->pool, fmt, ap);
    va_end(ap);
    hdf_set_value(c->hdf, name, v);
}

void cxa_set_int(cxa_t *c, const char *name, long long v)
{
    cxa_setf(c, name, "%" APR_INT64_T_FMT, (apr_int64_t)v);
}

void cxa_set_table(cxa_t *c, const char *prefix, const cx_table_t *t)
{
    for (int i = 0; t->rows && i < t->rows->nelts; i++) {
        const char **r = APR_ARRAY_IDX(t->rows, i, const char **);
        for (int col = 0; col < t->ncols; col++)
            cxa_set(c, apr_psprintf(c->pool, "%s.%d.%s", prefix, i, t->cols[col]), r[col]);
    }
}

void cxa_flash(cxa_t *c, const char *kind, const char *message)
{
    cxa_set(c, "Flash.Kind", kind);
    cxa_set(c, "Flash.Message", message);
}

const char *cxa_credits(cxa_t *c, const char *nano_text)
{
    if (!nano_text || !*nano_text)
        return "";
    return cx_nano_format_short(c->pool, (cx_nano_t)strtoll(nano_text, NULL, 10));
}

cx_catalog_t *cxa_catalog(cxa_t *c)
{
    const char *err;
    if (!c->catalog && cx_store_load_catalog(c->db, c->pool, &c->catalog, &err)) {
        cx_log(CX_LOG_ERR, c->request_id, "CXA0502", "%s", err);
        c->catalog = NULL;
    }
    return c->catalog;
}

int cxa_audit(cxa_t *c, const char *action, const char *target, const char *detail_json)
{
    return cxa_audit_as(c, "user", action, target, detail_json);
}

int cxa_audit_as(cxa_t *c, const char *actor_type, const char *action, const char *target,
                 const char *detail_json)
{
    int rv = cx_store_audit(c->db, c->user.org_id, actor_type, c->user.id, c->user.email, c->ip, c->request_id, action, target,
                            detail_json);
    if (rv)
        cx_log(CX_LOG_ERR, c->request_id, "CXA0503", "audit row for %s not written: %s", action,
               cx_db_error(c->db));
    return rv;
}

int cxa_parse_credits_opt(const char *text, cx_nano_t *out)
{
    if (!text || !*text) {
        *out = -1;
        return 0;
    }
    if (cx_nano_parse(text, out) || *out < 0)
        return -1;
    return 0;
}
