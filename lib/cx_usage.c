/* Conduix usage analytics over rollups (see cx_usage.h and sql/040_usage_rollups.sql).
 *
 * A range [from, to) is cut into pieces each answered by the cheapest exact source:
 *   whole UTC days              -> usage_rollup_day   (only when not bucketing by hour)
 *   whole hours                 -> usage_rollup_hour_org when the query spans every key
 *                                  and does not group by key, else usage_rollup_hour
 *   minutes left at an end      -> usage_events
 * One statement sums the sources (UNION ALL) and groups the result, so a 30-day query
 * reads about (30 x combinations) day rows plus at most two partial hours of raw rows,
 * however many requests the month held. Sources group by their own time column (in
 * index order, no per-row formatting); only the grouped result is formatted. Every
 * statement shape is fixed text chosen by (bucket, group, key filter); values are
 * bound parameters. */
#include "cx_usage.h"
#include "cx_utcdate.h"

#include <apr_strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECONDS_PER_HOUR 3600LL
#define SECONDS_PER_DAY 86400LL
#define MAX_RAW_SEGMENTS 4
#define MAX_HOUR_SEGMENTS 2

/* ------------------------------------------------------------------ parsing */

int cx_bucket_parse(const char *s, cx_bucket_t *out)
{
    if (!s)
        return 0;
    if (!strcmp(s, "day"))
        *out = CX_BUCKET_DAY;
    else if (!strcmp(s, "hour"))
        *out = CX_BUCKET_HOUR;
    else
        return 0;
    return 1;
}

int cx_group_parse(const char *s, cx_group_t *out)
{
    if (!s)
        return 0;
    if (!strcmp(s, "model"))
        *out = CX_GROUP_MODEL;
    else if (!strcmp(s, "key"))
        *out = CX_GROUP_KEY;
    else if (!strcmp(s, "provider"))
        *out = CX_GROUP_PROVIDER;
    else
        return 0;
    return 1;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm):
 * no timegm(), no TZ environment, no locale. */
static long long days_from_civil(long long y, unsigned m, unsigned d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

static void civil_from_days(long long z, int *y, unsigned *m, unsigned *d)
{
    z += 719468;
    long long era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long long yy = (long long)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yy + (*m <= 2));
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

int cx_usage_parse_time(const char *s, long long *epoch, int *date_only)
{
    int y, mo, d, h = 0, mi = 0, se = 0;
    if (!s || strlen(s) < 10 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
        s[7] != '-' || !digits(s + 8, 2, &d))
        return 0;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap))
        return 0;
    const char *t = s + 10;
    int only_date = *t == '\0';
    if (!only_date) {
        if ((*t != 'T' && *t != ' ') || !digits(t + 1, 2, &h) || t[3] != ':' ||
            !digits(t + 4, 2, &mi) || t[6] != ':' || !digits(t + 7, 2, &se))
            return 0;
        t += 9;
        if (*t == 'Z')
            t++;
        if (*t || h > 23 || mi > 59 || se > 59)
            return 0;
    }
    *epoch = days_from_civil(y, (unsigned)mo, (unsigned)d) * SECONDS_PER_DAY + h * SECONDS_PER_HOUR +
             mi * 60LL + se;
    if (date_only)
        *date_only = only_date;
    return 1;
}

static void format_parts(long long epoch, char *buf, size_t n, const char *fmt)
{
    long long days = epoch / SECONDS_PER_DAY, rem = epoch % SECONDS_PER_DAY;
    int y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    snprintf(buf, n, fmt, y, m, d, (int)(rem / 3600), (int)(rem % 3600 / 60), (int)(rem % 60));
}

const char *cx_usage_format_time(apr_pool_t *p, long long epoch)
{
    char buf[32];
    format_parts(epoch, buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ");
    return apr_pstrdup(p, buf);
}

/* The SQL DATETIME literal of an epoch second. */
static const char *sql_time(apr_pool_t *p, long long epoch)
{
    char buf[32];
    format_parts(epoch, buf, sizeof buf, "%04d-%02u-%02u %02d:%02d:%02d");
    return apr_pstrdup(p, buf);
}

/* ------------------------------------------------------------------ the range plan */

typedef struct {
    long long from, to;
} segment_t;

typedef struct {
    segment_t raw[MAX_RAW_SEGMENTS];
    int nraw;
    segment_t hour[MAX_HOUR_SEGMENTS];
    int nhour;
    segment_t day;
    int nday;
} plan_t;

static long long floor_to(long long t, long long unit)
{
    return t - t % unit;
}

static long long ceil_to(long long t, long long unit)
{
    return t % unit ? t - t % unit + unit : t;
}

static void plan_hours(plan_t *pl, long long a, long long b)
{
    if (a >= b)
        return;
    long long hs = ceil_to(a, SECONDS_PER_HOUR), he = floor_to(b, SECONDS_PER_HOUR);
    if (hs < he) {
        if (a < hs)
            pl->raw[pl->nraw++] = (segment_t){a, hs};
        pl->hour[pl->nhour++] = (segment_t){hs, he};
        if (he < b)
            pl->raw[pl->nraw++] = (segment_t){he, b};
    }
    else {
        pl->raw[pl->nraw++] = (segment_t){a, b};
    }
}

static void plan_range(plan_t *pl, long long from, long long to, cx_bucket_t bucket, int direct)
{
    memset(pl, 0, sizeof *pl);
    if (direct) {
        pl->raw[pl->nraw++] = (segment_t){from, to};
        return;
    }
    long long ds = ceil_to(from, SECONDS_PER_DAY), de = floor_to(to, SECONDS_PER_DAY);
    if (bucket != CX_BUCKET_HOUR && ds < de) {
        plan_hours(pl, from, ds);
        pl->day = (segment_t){ds, de};
        pl->nday = 1;
        plan_hours(pl, de, to);
    }
    else {
        plan_hours(pl, from, to);
    }
}

/* ------------------------------------------------------------------ the statement */

/* The bucket of a row in its source's own time column: a DATE for days, a DATETIME
 * (whole hour) for hours, NULL without buckets. */
static const char *bucket_expr(cx_bucket_t b, const char *source)
{
    int raw = !strcmp(source, "usage_events"), day = !strcmp(source, "usage_rollup_day");
    switch (b) {
    case CX_BUCKET_DAY:
        return raw ? "DATE(created_at)" : day ? "day" : "DATE(hour)";
    case CX_BUCKET_HOUR:
        /* (the day table never holds a piece of an hourly plan; the text must still parse) */
        return raw ? "CAST(DATE_FORMAT(created_at, '%Y-%m-%d %H:00:00') AS DATETIME)"
                   : day ? "CAST(day AS DATETIME)" : "hour";
    default:
        return "NULL";
    }
}

static const char *group_expr(cx_group_t g, int raw)
{
    switch (g) {
    case CX_GROUP_MODEL:
        return raw ? "COALESCE(served_model, requested_model)" : "model";
    case CX_GROUP_KEY:
        return "key_id";
    case CX_GROUP_PROVIDER:
        return raw ? "COALESCE(provider, '')" : "provider";
    default:
        return "NULL";
    }
}

/* The hour-level table: the key-less one is ~keys times smaller. */
static const char *hour_table(const cx_usage_query_t *q)
{
    return q->key_id || q->group_by == CX_GROUP_KEY ? "usage_rollup_hour" : "usage_rollup_hour_org";
}

static const char *build_sql(apr_pool_t *p, const cx_usage_query_t *q)
{
    const char *key = q->key_id ? " AND key_id = ?" : "";
    const char *hours = hour_table(q);
    const char *gr = group_expr(q->group_by, 1), *gu = group_expr(q->group_by, 0);
    const char *sums = "SUM(requests), SUM(prompt_tokens), SUM(completion_tokens), "
                       "SUM(charged_nano), SUM(cost_nano)";
    const char *label = q->group_by == CX_GROUP_KEY
                            ? "(SELECT k.name FROM api_keys k WHERE k.id = x.g)"
                        : q->group_by == CX_GROUP_PROVIDER
                            ? "(SELECT pr.display_name FROM providers pr WHERE pr.name = x.g)"
                            : "NULL";
    const char *format = q->bucket == CX_BUCKET_DAY ? "DATE_FORMAT(x.b, '%Y-%m-%d')"
                         : q->bucket == CX_BUCKET_HOUR ? "DATE_FORMAT(x.b, '%Y-%m-%dT%H:00:00Z')"
                                                       : "NULL";
    return apr_pstrcat(p,
        "SELECT ", format, ", x.g, SUM(x.n), SUM(x.pt), SUM(x.ct), SUM(x.charged), SUM(x.cost), ", label,
        " FROM ("
        "SELECT ", bucket_expr(q->bucket, "usage_events"), " AS b, ", gr, " AS g, COUNT(*) AS n, "
        "SUM(prompt_tokens) AS pt, SUM(completion_tokens) AS ct, SUM(charged_nano) AS charged, "
        "SUM(cost_nano) AS cost FROM usage_events WHERE org_id = ?", key,
        " AND ((created_at >= ? AND created_at < ?) OR (created_at >= ? AND created_at < ?) OR "
        "(created_at >= ? AND created_at < ?) OR (created_at >= ? AND created_at < ?)) GROUP BY 1, 2"
        " UNION ALL "
        "SELECT ", bucket_expr(q->bucket, hours), ", ", gu, ", ", sums, " FROM ", hours,
        " WHERE org_id = ?", key,
        " AND ((hour >= ? AND hour < ?) OR (hour >= ? AND hour < ?)) GROUP BY 1, 2"
        " UNION ALL "
        "SELECT ", bucket_expr(q->bucket, "usage_rollup_day"), ", ", gu, ", ", sums,
        " FROM usage_rollup_day WHERE org_id = ?", key,
        " AND day >= ? AND day < ? GROUP BY 1, 2"
        ") x GROUP BY x.b, x.g ORDER BY x.b, x.g", NULL);
}

static uint64_t to_u64(const char *s)
{
    return s ? strtoull(s, NULL, 10) : 0;
}

static int64_t to_i64(const char *s)
{
    return s ? strtoll(s, NULL, 10) : 0;
}

static int run_query(cx_db *db, apr_pool_t *p, const cx_usage_query_t *q, int direct,
                     apr_array_header_t **rows, const char **err)
{
    long long from, to;
    *rows = apr_array_make(p, 16, sizeof(cx_usage_row_t));
    if (!q->org_id) {
        *err = "no organization given";
        return -1;
    }
    if (!cx_usage_parse_time(q->from, &from, NULL)) {
        *err = "from is not a date (YYYY-MM-DD) or UTC time (YYYY-MM-DDTHH:MM:SSZ)";
        return -1;
    }
    if (!cx_usage_parse_time(q->to, &to, NULL)) {
        *err = "to is not a date (YYYY-MM-DD) or UTC time (YYYY-MM-DDTHH:MM:SSZ)";
        return -1;
    }
    if (from >= to) {
        *err = "from must be earlier than to";
        return -1;
    }
    plan_t pl;
    plan_range(&pl, from, to, q->bucket, direct);

    /* Unused slots get an empty range so every shape has a fixed parameter list. */
    const char *raw[2 * MAX_RAW_SEGMENTS], *hour[2 * MAX_HOUR_SEGMENTS], *day[2];
    const char *empty = "1970-01-01 00:00:00";
    for (int i = 0; i < MAX_RAW_SEGMENTS; i++) {
        raw[2 * i] = i < pl.nraw ? sql_time(p, pl.raw[i].from) : empty;
        raw[2 * i + 1] = i < pl.nraw ? sql_time(p, pl.raw[i].to) : empty;
    }
    for (int i = 0; i < MAX_HOUR_SEGMENTS; i++) {
        hour[2 * i] = i < pl.nhour ? sql_time(p, pl.hour[i].from) : empty;
        hour[2 * i + 1] = i < pl.nhour ? sql_time(p, pl.hour[i].to) : empty;
    }
    day[0] = pl.nday ? apr_pstrndup(p, sql_time(p, pl.day.from), 10) : "1970-01-01";
    day[1] = pl.nday ? apr_pstrndup(p, sql_time(p, pl.day.to), 10) : "1970-01-01";

    const char *sql = build_sql(p, q);
    cx_rows_t res;
    int rv;
    if (q->key_id)
        rv = cx_db_query(db, p, sql, "uussssssssuussssuuss", &res,
                         q->org_id, q->key_id, raw[0], raw[1], raw[2], raw[3], raw[4], raw[5], raw[6], raw[7],
                         q->org_id, q->key_id, hour[0], hour[1], hour[2], hour[3],
                         q->org_id, q->key_id, day[0], day[1]);
    else
        rv = cx_db_query(db, p, sql, "ussssssssussssuss", &res,
                         q->org_id, raw[0], raw[1], raw[2], raw[3], raw[4], raw[5], raw[6], raw[7],
                         q->org_id, hour[0], hour[1], hour[2], hour[3],
                         q->org_id, day[0], day[1]);
    if (rv) {
        *err = apr_psprintf(p, "usage query failed: %s", cx_db_error(db));
        return -1;
    }
    for (int i = 0; i < res.rows->nelts; i++) {
        const char **r = APR_ARRAY_IDX(res.rows, i, const char **);
        cx_usage_row_t *row = apr_array_push(*rows);
        row->bucket_start = q->bucket != CX_BUCKET_NONE ? r[0] : NULL;
        row->group = q->group_by != CX_GROUP_NONE ? r[1] : NULL;
        row->group_label = r[7];
        row->requests = to_u64(r[2]);
        row->prompt_tokens = to_u64(r[3]);
        row->completion_tokens = to_u64(r[4]);
        row->spend_nano = to_i64(r[5]);
        row->cost_nano = to_i64(r[6]);
    }
    return 0;
}

int cx_usage_query(cx_db *db, apr_pool_t *p, const cx_usage_query_t *q,
                   apr_array_header_t **rows, const char **err)
{
    return run_query(db, p, q, 0, rows, err);
}

int cx_usage_query_direct(cx_db *db, apr_pool_t *p, const cx_usage_query_t *q,
                          apr_array_header_t **rows, const char **err)
{
    return run_query(db, p, q, 1, rows, err);
}

int cx_usage_totals(cx_db *db, apr_pool_t *p, const cx_usage_query_t *q, cx_usage_row_t *out,
                    const char **err)
{
    cx_usage_query_t t = *q;
    t.bucket = CX_BUCKET_NONE;
    t.group_by = CX_GROUP_NONE;
    apr_array_header_t *rows;
    memset(out, 0, sizeof *out);
    if (run_query(db, p, &t, 0, &rows, err))
        return -1;
    if (rows->nelts > 0)
        *out = APR_ARRAY_IDX(rows, 0, cx_usage_row_t);
    out->bucket_start = out->group = out->group_label = NULL;
    return 0;
}

/* ------------------------------------------------------------------ maintenance */

void cx_usage_time_labels(apr_time_t t, char datetime[27], char hour[20], char day[11])
{
    apr_time_exp_t x;
    apr_time_exp_gmt(&x, t);
    char *o = datetime;
    o = cx_put_fixed(o, (unsigned)(x.tm_year + 1900), 4);
    *o++ = '-';
    o = cx_put_fixed(o, (unsigned)(x.tm_mon + 1), 2);
    *o++ = '-';
    o = cx_put_fixed(o, (unsigned)x.tm_mday, 2);
    *o++ = ' ';
    o = cx_put_fixed(o, (unsigned)x.tm_hour, 2);
    *o++ = ':';
    o = cx_put_fixed(o, (unsigned)x.tm_min, 2);
    *o++ = ':';
    o = cx_put_fixed(o, (unsigned)x.tm_sec, 2);
    *o++ = '.';
    o = cx_put_fixed(o, (unsigned)x.tm_usec, 6);
    *o = '\0';
    memcpy(hour, datetime, 13);
    memcpy(hour + 13, ":00:00", 7);
    memcpy(day, datetime, 10);
    day[10] = '\0';
}

/* One rollup row being summed: the rows of a batch that share its key. */
typedef struct {
    uint64_t org_id, key_id;      /* key_id 0 in the key-less hour table */
    const char *bucket;           /* hour or day label */
    const char *model, *provider;
    uint64_t requests, prompt_tokens, completion_tokens;
    int64_t cost_nano, charged_nano, provider_cost_nano;
} rollup_sum_t;

static int rollup_cmp(const void *a, const void *b)
{
    const rollup_sum_t *x = a, *y = b;
    int c;
    if (x->org_id != y->org_id)
        return x->org_id < y->org_id ? -1 : 1;
    if ((c = strcmp(x->bucket, y->bucket)))
        return c;
    if (x->key_id != y->key_id)
        return x->key_id < y->key_id ? -1 : 1;
    if ((c = strcmp(x->model, y->model)))
        return c;
    return strcmp(x->provider, y->provider);
}

/* Sort the n sums by the rollup's primary key and merge equal keys: the rows are then
 * locked in one order by every writer. Returns the number left. */
static int rollup_merge(rollup_sum_t *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, rollup_cmp);
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (m > 0 && rollup_cmp(&v[m - 1], &v[i]) == 0) {
            rollup_sum_t *d = &v[m - 1];
            d->requests += v[i].requests;
            d->prompt_tokens += v[i].prompt_tokens;
            d->completion_tokens += v[i].completion_tokens;
            d->cost_nano += v[i].cost_nano;
            d->charged_nano += v[i].charged_nano;
            d->provider_cost_nano += v[i].provider_cost_nano;
        }
        else {
            v[m++] = v[i];
        }
    }
    return m;
}

#define ROLLUP_SUMS "requests = requests + VALUES(requests), " \
    "prompt_tokens = prompt_tokens + VALUES(prompt_tokens), " \
    "completion_tokens = completion_tokens + VALUES(completion_tokens), " \
    "cost_nano = cost_nano + VALUES(cost_nano), charged_nano = charged_nano + VALUES(charged_nano)"

static const char rollup_upsert_tail[] = " ON DUPLICATE KEY UPDATE " ROLLUP_SUMS;

/* The provider table has no org, key or model: its rows are summed under org 0, key
 * 0 and model "" so that one merge serves all four. */
#define ROLLUP_PROVIDER_SUMS "requests = requests + VALUES(requests), " \
    "provider_cost_nano = provider_cost_nano + VALUES(provider_cost_nano)"
static const char rollup_provider_tail[] = " ON DUPLICATE KEY UPDATE " ROLLUP_PROVIDER_SUMS;

enum { ROLLUP_HOUR, ROLLUP_DAY, ROLLUP_HOUR_ORG, ROLLUP_PROVIDER_HOUR, ROLLUPS };

static const struct {
    const char *head, *row;
    int with_key, by_day;
} rollup_tables[ROLLUPS] = {
    {"INSERT INTO usage_rollup_hour (org_id, hour, key_id, model, provider, requests, "
     "prompt_tokens, completion_tokens, cost_nano, charged_nano) VALUES ",
     "(?,?,?,?,?,?,?,?,?,?)", 1, 0},
    {"INSERT INTO usage_rollup_day (org_id, day, key_id, model, provider, requests, "
     "prompt_tokens, completion_tokens, cost_nano, charged_nano) VALUES ",
     "(?,?,?,?,?,?,?,?,?,?)", 1, 1},
    {"INSERT INTO usage_rollup_hour_org (org_id, hour, model, provider, requests, "
     "prompt_tokens, completion_tokens, cost_nano, charged_nano) VALUES ",
     "(?,?,?,?,?,?,?,?,?)", 0, 0},
    {"INSERT INTO usage_rollup_provider_hour (provider, hour, requests, provider_cost_nano) VALUES ",
     "(?,?,?,?)", 0, 0},
};

int cx_usage_rollup_add(cx_db *db, const cx_usage_record_t *const *u, int n, apr_time_t now)
{
    if (n <= 0)
        return 0;
    apr_pool_t *p;
    if (apr_pool_create_unmanaged(&p) != APR_SUCCESS)
        return -1;
    char (*hours)[20] = apr_palloc(p, (apr_size_t)n * sizeof *hours);
    char (*days)[11] = apr_palloc(p, (apr_size_t)n * sizeof *days);
    for (int i = 0; i < n; i++) {
        char stamp[27];
        cx_usage_time_labels(u[i]->created_at > 0 ? u[i]->created_at : now, stamp, hours[i], days[i]);
    }
    rollup_sum_t *v = apr_palloc(p, (apr_size_t)n * sizeof *v);
    int rv = 0;
    for (int r = 0; r < ROLLUPS && rv == 0; r++) {
        int nv = 0;
        for (int i = 0; i < n; i++) {
            if (r == ROLLUP_PROVIDER_HOUR) {
                if (!u[i]->provider)
                    continue;   /* no provider was reached: nothing billed */
                v[nv++] = (rollup_sum_t){.bucket = hours[i], .model = "", .provider = u[i]->provider,
                                         .requests = 1, .provider_cost_nano = u[i]->provider_cost_nano};
                continue;
            }
            /* The model rule of the migration's backfill: served, else requested. */
            v[nv++] = (rollup_sum_t){
                .org_id = u[i]->org_id,
                .key_id = rollup_tables[r].with_key ? u[i]->key_id : 0,
                .bucket = rollup_tables[r].by_day ? days[i] : hours[i],
                .model = u[i]->served_model ? u[i]->served_model : u[i]->requested_model,
                .provider = u[i]->provider ? u[i]->provider : "",
                .requests = 1,
                .prompt_tokens = u[i]->prompt_tokens,
                .completion_tokens = u[i]->completion_tokens,
                .cost_nano = u[i]->cost_nano,
                .charged_nano = u[i]->charged_nano,
            };
        }
        int m = rollup_merge(v, nv);
        for (int at = 0; at < m && rv == 0;) {
            int k = cx_db_rows_chunk(m - at);
            cx_db_params *ps = cx_db_params_scratch(db, 10 * (unsigned)k);
            if (r == ROLLUP_PROVIDER_HOUR) {
                for (int i = at; i < at + k; i++) {
                    cx_db_params_str(ps, v[i].provider);
                    cx_db_params_str(ps, v[i].bucket);
                    cx_db_params_int(ps, (int64_t)v[i].requests, 1);
                    cx_db_params_int(ps, v[i].provider_cost_nano, 0);
                }
                rv = cx_db_exec_rows(db, p, rollup_tables[r].head, rollup_tables[r].row, k,
                                     rollup_provider_tail, ps, NULL);
                at += k;
                continue;
            }
            for (int i = at; i < at + k; i++) {
                cx_db_params_int(ps, (int64_t)v[i].org_id, 1);
                cx_db_params_str(ps, v[i].bucket);
                if (rollup_tables[r].with_key)
                    cx_db_params_int(ps, (int64_t)v[i].key_id, 1);
                cx_db_params_str(ps, v[i].model);
                cx_db_params_str(ps, v[i].provider);
                cx_db_params_int(ps, (int64_t)v[i].requests, 1);
                cx_db_params_int(ps, (int64_t)v[i].prompt_tokens, 1);
                cx_db_params_int(ps, (int64_t)v[i].completion_tokens, 1);
                cx_db_params_int(ps, v[i].cost_nano, 0);
                cx_db_params_int(ps, v[i].charged_nano, 0);
            }
            rv = cx_db_exec_rows(db, p, rollup_tables[r].head, rollup_tables[r].row, k,
                                 rollup_upsert_tail, ps, NULL);
            at += k;
        }
    }
    apr_pool_destroy(p);
    return rv;
}

int cx_usage_rollup_rebuild(cx_db *db, uint64_t org_id)
{
    /* org_id 0 matches every organization: "org_id = ? OR ? = 0". */
    if (cx_db_begin(db))
        return -1;
    if (cx_db_exec(db, "DELETE FROM usage_rollup_hour WHERE org_id = ? OR ? = 0", NULL, NULL, "uu",
                   org_id, org_id) ||
        cx_db_exec(db, "DELETE FROM usage_rollup_day WHERE org_id = ? OR ? = 0", NULL, NULL, "uu",
                   org_id, org_id) ||
        cx_db_exec(db, "DELETE FROM usage_rollup_hour_org WHERE org_id = ? OR ? = 0", NULL, NULL, "uu",
                   org_id, org_id) ||
        cx_db_exec(db,
                   "INSERT INTO usage_rollup_hour (org_id, hour, key_id, model, provider, requests, "
                   "prompt_tokens, completion_tokens, cost_nano, charged_nano) "
                   "SELECT org_id, DATE_FORMAT(created_at, '%Y-%m-%d %H:00:00'), key_id, "
                   "COALESCE(served_model, requested_model), COALESCE(provider, ''), COUNT(*), "
                   "SUM(prompt_tokens), SUM(completion_tokens), SUM(cost_nano), SUM(charged_nano) "
                   "FROM usage_events WHERE org_id = ? OR ? = 0 "
                   "GROUP BY org_id, DATE_FORMAT(created_at, '%Y-%m-%d %H:00:00'), key_id, "
                   "COALESCE(served_model, requested_model), COALESCE(provider, '')",
                   NULL, NULL, "uu", org_id, org_id) ||
        cx_db_exec(db,
                   "INSERT INTO usage_rollup_day (org_id, day, key_id, model, provider, requests, "
                   "prompt_tokens, completion_tokens, cost_nano, charged_nano) "
                   "SELECT org_id, DATE(hour), key_id, model, provider, SUM(requests), "
                   "SUM(prompt_tokens), SUM(completion_tokens), SUM(cost_nano), SUM(charged_nano) "
                   "FROM usage_rollup_hour WHERE org_id = ? OR ? = 0 "
                   "GROUP BY org_id, DATE(hour), key_id, model, provider",
                   NULL, NULL, "uu", org_id, org_id) ||
        cx_db_exec(db,
                   "INSERT INTO usage_rollup_hour_org (org_id, hour, model, provider, requests, "
                   "prompt_tokens, completion_tokens, cost_nano, charged_nano) "
                   "SELECT org_id, hour, model, provider, SUM(requests), SUM(prompt_tokens), "
                   "SUM(completion_tokens), SUM(cost_nano), SUM(charged_nano) "
                   "FROM usage_rollup_hour WHERE org_id = ? OR ? = 0 "
                   "GROUP BY org_id, hour, model, provider",
                   NULL, NULL, "uu", org_id, org_id) ||
        /* Provider totals span every organization: always rebuilt whole. */
        cx_db_exec(db, "DELETE FROM usage_rollup_provider_hour", NULL, NULL, "") ||
        cx_db_exec(db,
                   "INSERT INTO usage_rollup_provider_hour (provider, hour, requests, provider_cost_nano) "
                   "SELECT provider, DATE_FORMAT(created_at, '%Y-%m-%d %H:00:00'), COUNT(*), "
                   "SUM(provider_cost_nano) FROM usage_events WHERE provider IS NOT NULL "
                   "GROUP BY provider, DATE_FORMAT(created_at, '%Y-%m-%d %H:00:00')",
                   NULL, NULL, "") ||
        cx_db_commit(db)) {
        cx_db_rollback(db);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ one request */

int cx_usage_lookup(cx_db *db, apr_pool_t *p, uint64_t org_id, const char *request_id,
                    cx_usage_event_t *out, const char **err)
{
    cx_rows_t res;
    memset(out, 0, sizeof *out);
    if (cx_db_query(db, p,
                    "SELECT u.request_id, DATE_FORMAT(u.created_at, '%Y-%m-%dT%H:%i:%s.%fZ'), u.key_id, "
                    "k.name, u.mode, u.endpoint, u.requested_model, u.served_model, u.provider, "
                    "u.status, u.stream, u.fallback, u.cache_hit, u.prompt_tokens, "
                    "u.completion_tokens, u.cost_nano, u.charged_nano, u.latency_ms "
                    "FROM usage_events u LEFT JOIN api_keys k ON k.id = u.key_id "
                    "WHERE u.request_id = ? AND u.org_id = ?",
                    "su", &res, request_id, org_id)) {
        *err = apr_psprintf(p, "usage lookup failed: %s", cx_db_error(db));
        return -1;
    }
    if (res.rows->nelts == 0)
        return 0;
    const char **r = APR_ARRAY_IDX(res.rows, 0, const char **);
    out->request_id = r[0];
    out->created_at = r[1];
    out->key_id = to_u64(r[2]);
    out->key_name = r[3];
    out->mode = r[4];
    out->endpoint = r[5];
    out->requested_model = r[6];
    out->served_model = r[7];
    out->provider = r[8];
    out->status = (int)to_i64(r[9]);
    out->stream = (int)to_i64(r[10]);
    out->fallback = (int)to_i64(r[11]);
    out->cache_hit = (int)to_i64(r[12]);
    out->prompt_tokens = to_u64(r[13]);
    out->completion_tokens = to_u64(r[14]);
    out->cost_nano = to_i64(r[15]);
    out->charged_nano = to_i64(r[16]);
    out->latency_ms = to_u64(r[17]);
    return 1;
}
