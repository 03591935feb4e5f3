/* conduix-admin: the audit log — filters (date range, action, actor, request id),
 * pagination and CSV/JSON export of the filtered rows. Filters are validated and then
 * only ever bound as statement parameters (cx_admin_audit_search). */
#include "admin.h"
#include "cx_json.h"

#include <apr_strings.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_SIZE 50
#define EXPORT_LIMIT 10000

typedef struct {
    cx_admin_audit_filter_t f;
    long page;
    const char *from_day, *to_day;   /* as typed (to inclusive) */
    const char *error;
} audit_query_t;

static int plain_text(const char *s, size_t max)
{
    if (strlen(s) > max)
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7F)
            return 0;
    return 1;
}

static void parse_filters(cxa_t *c, audit_query_t *q)
{
    memset(q, 0, sizeof *q);
    q->f.org_id = c->user.org_id;
    q->from_day = cxa_param(c, "from");
    q->to_day = cxa_param(c, "to");
    if (q->from_day && !cxa_valid_date(q->from_day)) {
        q->error = "From must be a date (YYYY-MM-DD).";
        q->from_day = NULL;
    }
    if (q->to_day && !cxa_valid_date(q->to_day)) {
        q->error = "To must be a date (YYYY-MM-DD).";
        q->to_day = NULL;
    }
    q->f.from = q->from_day;
    q->f.to = q->to_day ? cxa_date_add(c->pool, q->to_day, 1) : NULL;   /* inclusive day */
    q->f.action = cxa_param(c, "action");
    q->f.actor = cxa_param(c, "actor");
    q->f.request_id = cxa_param(c, "request_id");
    if ((q->f.action && !plain_text(q->f.action, 64)) || (q->f.actor && !plain_text(q->f.actor, 320)) ||
        (q->f.request_id && !plain_text(q->f.request_id, 64))) {
        q->error = "Filters must be single-line text (action up to 64, actor up to 320 characters).";
        q->f.action = q->f.actor = q->f.request_id = NULL;
    }
    const char *page = cxa_param(c, "page");
    q->page = page ? strtol(page, NULL, 10) : 1;
    if (q->page < 1 || q->page > 100000)
        q->page = 1;
}

/* The filter as a query string, for pagination and export links. */
static const char *filter_query(cxa_t *c, const audit_query_t *q)
{
    const char *names[] = {"from", "to", "action", "actor", "request_id"};
    const char *vals[] = {q->from_day, q->to_day, q->f.action, q->f.actor, q->f.request_id};
    const char *out = "";
    for (int i = 0; i < 5; i++) {
        if (!vals[i])
            continue;
        char *esc = NULL;
        if (cgi_url_escape(vals[i], &esc) != STATUS_OK)
            continue;
        out = apr_pstrcat(c->pool, out, *out ? "&" : "", names[i], "=", esc, NULL);
        free(esc);
    }
    return out;
}

int cxa_page_audit(cxa_t *c)
{
    audit_query_t q;
    parse_filters(c, &q);
    if (q.error)
        cxa_flash(c, "error", q.error);
    q.f.limit = PAGE_SIZE;
    q.f.offset = (q.page - 1) * PAGE_SIZE;
    cx_table_t rows, actions;
    uint64_t total = 0;
    if (cx_admin_audit_search(c->db, c->pool, &q.f, &rows, &total) ||
        cx_admin_audit_actions(c->db, c->pool, c->user.org_id, &actions))
        return -1;
    cxa_set_table(c, "Audit", &rows);
    cxa_set_table(c, "Actions", &actions);
    cxa_set(c, "Filter.from", q.from_day);
    cxa_set(c, "Filter.to", q.to_day);
    cxa_set(c, "Filter.action", q.f.action);
    cxa_set(c, "Filter.actor", q.f.actor);
    cxa_set(c, "Filter.request_id", q.f.request_id);
    cxa_set(c, "Filter.query", filter_query(c, &q));
    long pages = (long)((total + PAGE_SIZE - 1) / PAGE_SIZE);
    cxa_set_int(c, "Pager.total", (long long)total);
    cxa_set_int(c, "Pager.page", q.page);
    cxa_set_int(c, "Pager.pages", pages ? pages : 1);
    cxa_set_int(c, "Pager.first", total ? q.f.offset + 1 : 0);
    cxa_set_int(c, "Pager.last", q.f.offset + rows.rows->nelts);
    if (q.page > 1)
        cxa_set_int(c, "Pager.prev", q.page - 1);
    if (q.page < pages)
        cxa_set_int(c, "Pager.next", q.page + 1);
    return cxa_render(c, q.error ? 400 : 200, "audit.cs", "Audit log");
}

int cxa_page_audit_export(cxa_t *c)
{
    audit_query_t q;
    parse_filters(c, &q);
    if (q.error)
        return cxa_fail(c, 400, q.error);
    const char *format = cxa_param(c, "format");
    int csv = !format || !strcmp(format, "csv");
    if (!csv && strcmp(format, "json"))
        return cxa_fail(c, 400, "format must be csv or json.");
    q.f.limit = EXPORT_LIMIT;
    q.f.offset = 0;
    cx_table_t rows;
    uint64_t total = 0;
    if (cx_admin_audit_search(c->db, c->pool, &q.f, &rows, &total))
        return -1;
    cxa_audit(c, "audit.export", csv ? "csv" : "json",
              apr_psprintf(c->pool, "{\"rows\":%d,\"filter\":%s}", rows.rows->nelts,
                           cx_json_quote(c->pool, filter_query(c, &q))));
    const char *name = apr_psprintf(c->pool, "conduix-audit-%s.%s", cxa_today(c->pool),
                                    csv ? "csv" : "json");
    if (csv) {
        apr_array_header_t *parts = apr_array_make(c->pool, rows.rows->nelts + 1, sizeof(const char *));
        const char *line = "";
        for (int col = 0; col < rows.ncols; col++)
            line = apr_pstrcat(c->pool, line, col ? "," : "", rows.cols[col], NULL);
        APR_ARRAY_PUSH(parts, const char *) = apr_pstrcat(c->pool, line, "\r\n", NULL);
        for (int i = 0; i < rows.rows->nelts; i++) {
            const char **r = APR_ARRAY_IDX(rows.rows, i, const char **);
            line = "";
            for (int col = 0; col < rows.ncols; col++)
                line = apr_pstrcat(c->pool, line, col ? "," : "", cxa_csv_cell(c->pool, r[col]), NULL);
            APR_ARRAY_PUSH(parts, const char *) = apr_pstrcat(c->pool, line, "\r\n", NULL);
        }
        const char *body = apr_array_pstrcat(c->pool, parts, 0);
        return cxa_download(c, "text/csv; charset=utf-8", name, body, strlen(body));
    }
    json_t *arr = cx_json_own(c->pool, json_array());
    for (int i = 0; i < rows.rows->nelts; i++) {
        const char **r = APR_ARRAY_IDX(rows.rows, i, const char **);
        json_t *o = json_object();
        for (int col = 0; col < rows.ncols; col++) {
            const char *name_c = rows.cols[col];
            json_t *v;
            if (!r[col])
                v = json_null();
            else if (!strcmp(name_c, "id"))
                v = json_integer(strtoll(r[col], NULL, 10));
            else if (!strcmp(name_c, "detail")) {
                json_error_t jerr;
                v = json_loads(r[col], 0, &jerr);     /* detail is JSON; keep it structured */
                if (!v)
                    v = json_string(r[col]);
            }
            else
                v = json_string(r[col]);
            json_object_set_new(o, name_c, v ? v : json_null());
        }
        json_array_append_new(arr, o);
    }
    json_t *doc = cx_json_own(c->pool, json_pack("{s:O,s:I}", "data", arr, "total", (json_int_t)total));
    apr_size_t len = 0;
    char *body = cx_json_dump_flags(c->pool, doc, JSON_INDENT(1), &len);
    return cxa_download(c, "application/json", name, body, len);
}
