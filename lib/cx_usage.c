/* Conduix usage analytics (contract: cx_usage.h).
 *
 * PLACEHOLDER written by the dashboard branch so it can build and test against the
 * shared contract: it sums usage_events directly (the header allows it: "a direct SUM
 * over usage_events gives the same numbers"). The account API branch replaces this
 * file with the rollup-backed implementation at merge. */
#include "cx_usage.h"

#include <apr_strings.h>
#include <stdlib.h>
#include <string.h>

/* Accepts "YYYY-MM-DD" and "YYYY-MM-DDTHH:MM:SSZ"; returns the MySQL DATETIME text. */
static const char *sql_time(apr_pool_t *p, const char *s)
{
    static const char day_shape[] = "dddd-dd-dd";
    static const char full_shape[] = "dddd-dd-ddTdd:dd:ddZ";
    if (!s)
        return NULL;
    size_t n = strlen(s);
    const char *shape = n == sizeof day_shape - 1 ? day_shape
                      : n == sizeof full_shape - 1 ? full_shape : NULL;
    if (!shape)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
            return NULL;
    }
    if (shape == day_shape)
        return apr_pstrcat(p, s, " 00:00:00", NULL);
    char *t = apr_pstrndup(p, s, n - 1);   /* drop Z */
    t[10] = ' ';
    return t;
}

static const char *bucket_expr(cx_bucket_t b)
{
    switch (b) {
    case CX_BUCKET_DAY:
        return "DATE_FORMAT(ue.created_at, '%Y-%m-%d')";
    case CX_BUCKET_HOUR:
        return "DATE_FORMAT(ue.created_at, '%Y-%m-%dT%H:00:00Z')";
    default:
        return "NULL";
    }
}

static void group_exprs(cx_group_t g, const char **expr, const char **label, const char **join)
{
    *join = "";
    switch (g) {
    case CX_GROUP_MODEL:
        *expr = "COALESCE(ue.served_model, ue.requested_model)";
        *label = "NULL";
        break;
    case CX_GROUP_KEY:
        *expr = "CAST(ue.key_id AS CHAR)";
        *label = "MAX(k.name)";
        *join = "LEFT JOIN api_keys k ON k.id = ue.key_id ";
        break;
    case CX_GROUP_PROVIDER:
        *expr = "ue.provider";
        *label = "MAX(pr.display_name)";
        *join = "LEFT JOIN providers pr ON pr.name = ue.provider ";
        break;
    default:
        *expr = "NULL";
        *label = "NULL";
        break;
    }
}

static int run(cx_db *db, apr_pool_t *p, const cx_usage_query_t *q, cx_bucket_t bucket,
               cx_group_t group, apr_array_header_t **rows, const char **err)
{
    const char *from = sql_time(p, q->from), *to = sql_time(p, q->to);
    if (!from || !to) {
        *err = "from and to must be YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ";
        return -1;
    }
    const char *gexpr, *glabel, *gjoin, *bexpr = bucket_expr(bucket);
    group_exprs(group, &gexpr, &glabel, &gjoin);
    /* Only fixed fragments chosen by enum values are pasted into the SQL text. */
    const char *sql = apr_pstrcat(
        p, "SELECT ", bexpr, ", ", gexpr, ", ", glabel, ", COUNT(*), ",
        "COALESCE(SUM(ue.prompt_tokens), 0), COALESCE(SUM(ue.completion_tokens), 0), ",
        "COALESCE(SUM(ue.charged_nano), 0), COALESCE(SUM(ue.cost_nano), 0) ",
        "FROM usage_events ue ", gjoin,
        "WHERE ue.org_id = ? AND ue.created_at >= ? AND ue.created_at < ? ",
        "AND (? = 0 OR ue.key_id = ?) ",
        (bucket || group) ? apr_pstrcat(p, "GROUP BY ", bexpr, ", ", gexpr, " ORDER BY ", bexpr,
                                        ", ", gexpr, NULL) : "",
        NULL);
    cx_rows_t res;
    if (cx_db_query(db, p, sql, "ussuu", &res, q->org_id, from, to, q->key_id, q->key_id)) {
        *err = apr_pstrdup(p, cx_db_error(db));
        return -1;
    }
    *rows = apr_array_make(p, res.rows->nelts, sizeof(cx_usage_row_t));
    for (int i = 0; i < res.rows->nelts; i++) {
        const char **r = APR_ARRAY_IDX(res.rows, i, const char **);
        cx_usage_row_t *u = apr_array_push(*rows);
        u->bucket_start = bucket ? r[0] : NULL;
        u->group = group ? r[1] : NULL;
        u->group_label = group ? r[2] : NULL;
        u->requests = r[3] ? strtoull(r[3], NULL, 10) : 0;
        u->prompt_tokens = r[4] ? strtoull(r[4], NULL, 10) : 0;
        u->completion_tokens = r[5] ? strtoull(r[5], NULL, 10) : 0;
        u->spend_nano = r[6] ? strtoll(r[6], NULL, 10) : 0;
        u->cost_nano = r[7] ? strtoll(r[7], NULL, 10) : 0;
    }
    return 0;
}

int cx_usage_query(cx_db *db, apr_pool_t *p, const cx_usage_query_t *q,
                   apr_array_header_t **rows, const char **err)
{
    return run(db, p, q, q->bucket, q->group_by, rows, err);
}

int cx_usage_totals(cx_db *db, apr_pool_t *p, const cx_usage_query_t *q, cx_usage_row_t *out,
                    const char **err)
{
    apr_array_header_t *rows;
    if (run(db, p, q, CX_BUCKET_NONE, CX_GROUP_NONE, &rows, err))
        return -1;
    memset(out, 0, sizeof *out);
    if (rows->nelts)
        *out = APR_ARRAY_IDX(rows, 0, cx_usage_row_t);
    return 0;
}

int cx_bucket_parse(const char *s, cx_bucket_t *out)
{
    if (s && !strcmp(s, "day"))
        *out = CX_BUCKET_DAY;
    else if (s && !strcmp(s, "hour"))
        *out = CX_BUCKET_HOUR;
    else
        return 0;
    return 1;
}

int cx_group_parse(const char *s, cx_group_t *out)
{
    if (s && !strcmp(s, "model"))
        *out = CX_GROUP_MODEL;
    else if (s && !strcmp(s, "key"))
        *out = CX_GROUP_KEY;
    else if (s && !strcmp(s, "provider"))
        *out = CX_GROUP_PROVIDER;
    else
        return 0;
    return 1;
}
