/* conduix-admin: the dashboard CGI. One process per request: main.c parses the
 * request with the ClearSilver CGI kit, loads the session, enforces CSRF and roles from
 * the route table, and calls one page handler; the handler fills the HDF and renders
 * its template inside layout.cs (or redirects, or streams a download). */
#ifndef CXA_ADMIN_H
#define CXA_ADMIN_H

#include <ClearSilver.h>
#include <apr_pools.h>
#include <apr_tables.h>

#include "cx_catalog.h"
#include "cx_price.h"
#include "cx_store.h"
#include "cx_store_admin.h"

typedef struct {
    apr_pool_t *pool;
    CGI *cgi;
    HDF *hdf;
    cx_db *db;
    const char *request_id;
    const char *method;          /* GET | POST | ... */
    const char *path;            /* PATH_INFO, "/" when empty */
    const char *base;            /* SCRIPT_NAME: where the dashboard is mounted */
    const char *ip;
    const char *user_agent;
    int https;
    const char *template_dir;

    int authenticated;
    cx_admin_user_t user;
    const char *csrf_token;      /* of the session, or of the pre-login cookie */

    apr_array_header_t *headers; /* extra response header lines */
    cx_catalog_t *catalog;       /* loaded on first use */
} cxa_t;

typedef int cxa_handler_fn(cxa_t *c);

/* ---- render.c: templates (also used by the golden tests) ---- */
/* Render layout.cs with Page.Template = page_template into out. NULL on success, else
 * an error message (malloc'ed; caller frees). */
char *cxa_render_to_string(HDF *hdf, const char *template_dir, const char *page_template,
                           STRING *out);
/* Set the ClearSilver configuration every render uses (escaping, no debug, no footer). */
void cxa_hdf_config(HDF *hdf, const char *template_dir);

/* ---- http.c: responses and request parameters ---- */
int cxa_render(cxa_t *c, int status, const char *page_template, const char *title);
int cxa_redirect(cxa_t *c, const char *path_and_query);
/* An error page (403, 404, 405, 413, 429, 500) with a short message. */
int cxa_fail(cxa_t *c, int status, const char *message);
/* A download: content type, file name, body. */
int cxa_download(cxa_t *c, const char *content_type, const char *filename, const char *body,
                 apr_size_t len);
void cxa_header(cxa_t *c, const char *line);
/* A CSV cell: always quoted; formula-looking text is defused with a leading '. */
const char *cxa_csv_cell(apr_pool_t *p, const char *s);
/* Set-Cookie with HttpOnly, SameSite=Strict, Path, Secure over TLS; max_age < 0 = session
 * cookie, 0 = delete. */
void cxa_cookie(cxa_t *c, const char *name, const char *value, const char *path, long max_age);

const char *cxa_param(cxa_t *c, const char *name);        /* trimmed; NULL when absent/empty */
const char *cxa_param_raw(cxa_t *c, const char *name);    /* untrimmed (passwords) */
/* Every value of a repeated parameter (checkboxes). */
apr_array_header_t *cxa_param_all(cxa_t *c, const char *name);
/* Positive id parameter; 0 when absent or malformed. */
uint64_t cxa_param_id(cxa_t *c, const char *name);
const char *cxa_cookie_value(cxa_t *c, const char *name);

/* HDF helpers: value NULL sets "". */
void cxa_set(cxa_t *c, const char *name, const char *value);
void cxa_setf(cxa_t *c, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void cxa_set_int(cxa_t *c, const char *name, long long v);
/* prefix.N.col for every row and column of t. */
void cxa_set_table(cxa_t *c, const char *prefix, const cx_table_t *t);
/* A page-level message: kind "ok" or "error". */
void cxa_flash(cxa_t *c, const char *kind, const char *message);
/* Credits for display ("12.50"); NULL/"" for NULL. */
const char *cxa_credits(cxa_t *c, const char *nano_text);
/* The catalog (loaded once per request). NULL on database error. */
cx_catalog_t *cxa_catalog(cxa_t *c);
/* Audit row for an action of the signed-in user (detail: JSON text or NULL). */
int cxa_audit(cxa_t *c, const char *action, const char *target, const char *detail_json);
/* Same with an explicit actor type ("operator" for platform-operator actions). */
int cxa_audit_as(cxa_t *c, const char *actor_type, const char *action, const char *target,
                 const char *detail_json);
/* Parse a credits amount typed by a user: "" -> *out = -1 (none). 0 ok, -1 malformed. */
int cxa_parse_credits_opt(const char *text, cx_nano_t *out);

/* ---- session.c ---- */
/* Load the session from the cookie (sets c->authenticated, c->user, c->csrf_token). */
int cxa_session_load(cxa_t *c);
/* Make sure a pre-login CSRF cookie exists (login and invite pages); sets csrf_token. */
void cxa_prelogin_csrf(cxa_t *c);
/* 1 when the request's csrf parameter matches (constant time). */
int cxa_csrf_ok(cxa_t *c);
/* Start a session for user (after a successful login or invite acceptance). */
int cxa_session_start(cxa_t *c, const cx_admin_user_t *user);
void cxa_session_end(cxa_t *c);
/* The dashboard JWT issued at sign-in (for GET /api/usage), NULL when none. */
const char *cxa_dashboard_jwt(cxa_t *c);
/* Random URL-safe token (32 bytes of entropy) and its SHA-256. */
const char *cxa_random_token(apr_pool_t *p);
void cxa_token_hash(const char *token, unsigned char out[32]);

/* ---- pages ---- */
cxa_handler_fn cxa_page_login, cxa_page_login_post, cxa_page_logout, cxa_page_accept,
    cxa_page_accept_post;
cxa_handler_fn cxa_page_models, cxa_page_byo_add, cxa_page_byo_remove;
cxa_handler_fn cxa_page_usage, cxa_page_usage_csv;
cxa_handler_fn cxa_page_keys, cxa_page_key_mint, cxa_page_key_edit, cxa_page_key_edit_post,
    cxa_page_key_revoke;
cxa_handler_fn cxa_page_settings, cxa_page_settings_post;
cxa_handler_fn cxa_page_audit, cxa_page_audit_export;
cxa_handler_fn cxa_page_billing, cxa_page_billing_grant;
cxa_handler_fn cxa_page_members, cxa_page_member_invite, cxa_page_member_role,
    cxa_page_member_remove, cxa_page_invite_revoke;
cxa_handler_fn cxa_page_providers, cxa_page_provider_update, cxa_page_webhook_add,
    cxa_page_webhook_remove;

/* ---- usage_chart.c ---- */
typedef struct {
    const char *day;          /* YYYY-MM-DD */
    cx_nano_t spend_nano;
    unsigned long long requests;
} cxa_chart_day_t;
/* Fill Chart.* (bars for spend, a polyline for requests, axis labels) for days. */
void cxa_chart(cxa_t *c, const apr_array_header_t *days /* cxa_chart_day_t */);

/* ---- shared small parsers (main.c) ---- */
/* "YYYY-MM-DD" that is a real calendar date. */
int cxa_valid_date(const char *s);
/* date + n days as "YYYY-MM-DD" (from p). */
const char *cxa_date_add(apr_pool_t *p, const char *date, int days);
const char *cxa_today(apr_pool_t *p);

#endif
