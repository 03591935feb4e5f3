#include "cx_audit.h"
#include "cx_usage.h"

#include <apr_strings.h>
#include <stdlib.h>
#include <string.h>

int cx_audit_record(cx_db *db, uint64_t org_id, const cx_audit_actor_t *actor,
                    const char *action, const char *target, const char *detail_json)
{
    return cx_store_audit(db, org_id, actor->type, actor->id, actor->label, actor->ip,
                          actor->request_id, action, target, detail_json);
}

/* Actions are lowercase words joined by dots (key.create); a family is "key.*". */
static int valid_action(const char *a)
{
    size_t n = strlen(a);
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = a[i];
        if (c == '*' && i == n - 1 && i > 0 && a[i - 1] == '.')
            continue;
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

const char *cx_audit_filter_check(apr_pool_t *p, const cx_audit_filter_t *f, const char **param)
{
    long long from = 0, to = 0;
    *param = NULL;
    if (f->from && !cx_usage_parse_time(f->from, &from, NULL)) {
        *param = "from";
        return "from must be a date (YYYY-MM-DD) or a UTC time (YYYY-MM-DDTHH:MM:SSZ).";
    }
    if (f->to && !cx_usage_parse_time(f->to, &to, NULL)) {
        *param = "to";
        return "to must be a date (YYYY-MM-DD) or a UTC time (YYYY-MM-DDTHH:MM:SSZ).";
    }
    if (f->from && f->to && from >= to) {
        *param = "to";
        return "to must be later than from.";
    }
    if (f->action && !valid_action(f->action)) {
        *param = "action";
        return "action must be an action name such as key.update, or a family such as key.*.";
    }
    if (f->request_id && (!*f->request_id || strlen(f->request_id) > 48)) {
        *param = "request_id";
        return "request_id must be a request id such as cx-req-0123456789abcdef01234567.";
    }
    if (f->limit < 1 || f->limit > 1000) {
        *param = "limit";
        return "limit must be a whole number from 1 to 1000.";
    }
    return NULL;
}

static const char *sql_time_of(apr_pool_t *p, const char *text, const char *dflt)
{
    long long t;
    if (!text || !cx_usage_parse_time(text, &t, NULL))
        return dflt;
    const char *iso = cx_usage_format_time(p, t);   /* 2026-11-21T13:05:09Z */
    char *s = apr_pstrndup(p, iso, 19);
    s[10] = ' ';
    return s;
}

int cx_audit_list(cx_db *db, apr_pool_t *p, const cx_audit_filter_t *f,
                  apr_array_header_t **out, int *has_more, const char **err)
{
    *out = apr_array_make(p, 16, sizeof(cx_audit_entry_t));
    *has_more = 0;
    const char *param;
    const char *bad = cx_audit_filter_check(p, f, &param);
    if (bad) {
        *err = bad;
        return -1;
    }
    const char *from = sql_time_of(p, f->from, "1970-01-01 00:00:00");
    const char *to = sql_time_of(p, f->to, "9999-12-31 23:59:59");
    /* The action is matched exactly, or as a prefix for a family ("key.*" -> "key.%";
     * valid_action admits no LIKE wildcard of its own). */
    const char *action = NULL, *action_sql = "";
    if (f->action) {
        size_t n = strlen(f->action);
        if (f->action[n - 1] == '*') {
            action = apr_pstrcat(p, apr_pstrndup(p, f->action, n - 1), "%", NULL);
            action_sql = " AND action LIKE ?";
        }
        else {
            action = f->action;
            action_sql = " AND action = ?";
        }
    }
    const char *rid_sql = f->request_id ? " AND request_id = ?" : "";
    const char *sql = apr_pstrcat(p,
        "SELECT id, DATE_FORMAT(created_at, '%Y-%m-%dT%H:%i:%s.%fZ'), actor_type, actor_id, "
        "actor_label, ip, request_id, action, target, detail FROM audit_log "
        "WHERE org_id = ? AND id > ? AND created_at >= ? AND created_at < ?", action_sql, rid_sql,
        " ORDER BY id LIMIT ?", NULL);
    /* One more than asked tells whether another page exists. */
    uint64_t limit = (uint64_t)f->limit + 1;
    cx_rows_t rows;
    int rv;
    if (action && f->request_id)
        rv = cx_db_query(db, p, sql, "uusssu", &rows, f->org_id, f->after_id, from, to, action,
                         f->request_id, limit);
    else if (action)
        rv = cx_db_query(db, p, sql, "uusssu", &rows, f->org_id, f->after_id, from, to, action, limit);
    else if (f->request_id)
        rv = cx_db_query(db, p, sql, "uusssu", &rows, f->org_id, f->after_id, from, to,
                         f->request_id, limit);
    else
        rv = cx_db_query(db, p, sql, "uussu", &rows, f->org_id, f->after_id, from, to, limit);
    if (rv) {
        *err = apr_psprintf(p, "audit query failed: %s", cx_db_error(db));
        return -1;
    }
    int n = rows.rows->nelts;
    if (n > f->limit) {
        *has_more = 1;
        n = f->limit;
    }
    for (int i = 0; i < n; i++) {
        const char **r = APR_ARRAY_IDX(rows.rows, i, const char **);
        cx_audit_entry_t *e = apr_array_push(*out);
        e->id = strtoull(r[0], NULL, 10);
        e->created_at = r[1];
        e->actor_type = r[2];
        e->actor_id = r[3] ? strtoull(r[3], NULL, 10) : 0;
        e->actor_label = r[4];
        e->ip = r[5];
        e->request_id = r[6];
        e->action = r[7];
        e->target = r[8];
        e->detail = r[9];
    }
    return 0;
}

static const char *csv_cell(apr_pool_t *p, const char *v)
{
    if (!v)
        return "";
    if (*v == '=' || *v == '+' || *v == '-' || *v == '@' || *v == '\t' || *v == '\r')
        v = apr_pstrcat(p, "'", v, NULL);
    if (!strpbrk(v, ",\"\r\n"))
        return v;
    size_t n = strlen(v), quotes = 0;
    for (size_t i = 0; i < n; i++)
        quotes += v[i] == '"';
    char *out = apr_palloc(p, n + quotes + 3), *w = out;
    *w++ = '"';
    for (size_t i = 0; i < n; i++) {
        if (v[i] == '"')
            *w++ = '"';
        *w++ = v[i];
    }
    *w++ = '"';
    *w = '\0';
    return out;
}

const char *cx_audit_csv(apr_pool_t *p, const apr_array_header_t *entries, int header)
{
    apr_array_header_t *lines = apr_array_make(p, entries->nelts + 1, sizeof(const char *));
    if (header)
        APR_ARRAY_PUSH(lines, const char *) = CX_AUDIT_CSV_HEADER "\r\n";
    for (int i = 0; i < entries->nelts; i++) {
        const cx_audit_entry_t *e = &APR_ARRAY_IDX(entries, i, cx_audit_entry_t);
        APR_ARRAY_PUSH(lines, const char *) = apr_pstrcat(p,
            apr_psprintf(p, "%" APR_UINT64_T_FMT, (apr_uint64_t)e->id), ",",
            csv_cell(p, e->created_at), ",", csv_cell(p, e->actor_type), ",",
            e->actor_id ? apr_psprintf(p, "%" APR_UINT64_T_FMT, (apr_uint64_t)e->actor_id) : "", ",",
            csv_cell(p, e->actor_label), ",", csv_cell(p, e->ip), ",", csv_cell(p, e->request_id), ",",
            csv_cell(p, e->action), ",", csv_cell(p, e->target), ",", csv_cell(p, e->detail), "\r\n",
            NULL);
    }
    return apr_array_pstrcat(p, lines, 0);
}
