#include "cx_spool.h"
#include "cx_json.h"

#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <jansson.h>
#include <string.h>
#include <unistd.h>

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

const char *cx_spool_encode(apr_pool_t *p, const cx_usage_record_t *u)
{
    json_t *o = cx_json_own(p, json_object());
    json_object_set_new(o, "request_id", str_or_null(u->request_id));
    json_object_set_new(o, "org_id", json_integer((json_int_t)u->org_id));
    json_object_set_new(o, "key_id", json_integer((json_int_t)u->key_id));
    json_object_set_new(o, "mode", json_string(u->mode == CX_KEY_TEST ? "test" : "live"));
    json_object_set_new(o, "endpoint", str_or_null(u->endpoint));
    json_object_set_new(o, "requested_model", str_or_null(u->requested_model));
    json_object_set_new(o, "served_model", str_or_null(u->served_model));
    json_object_set_new(o, "provider", str_or_null(u->provider));
    json_object_set_new(o, "status", json_integer(u->status));
    json_object_set_new(o, "stream", json_integer(u->stream));
    json_object_set_new(o, "fallback", json_integer(u->fallback));
    json_object_set_new(o, "cache_hit", json_integer(u->cache_hit));
    json_object_set_new(o, "prompt_tokens", json_integer((json_int_t)u->prompt_tokens));
    json_object_set_new(o, "completion_tokens", json_integer((json_int_t)u->completion_tokens));
    /* Money travels as integers of nanocredits, never as floating point. */
    json_object_set_new(o, "cost_nano", json_integer(u->cost_nano));
    json_object_set_new(o, "charged_nano", json_integer(u->charged_nano));
    json_object_set_new(o, "latency_ms", json_integer((json_int_t)u->latency_ms));
    if (u->created_at > 0)
        json_object_set_new(o, "created_us", json_integer((json_int_t)u->created_at));
    if (u->provider_cost_nano)
        json_object_set_new(o, "provider_cost_nano", json_integer(u->provider_cost_nano));
    char *s = cx_json_dump(p, o, NULL);
    return s ? apr_pstrcat(p, s, "\n", NULL) : NULL;
}

static const char *get_str(apr_pool_t *p, json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? apr_pstrdup(p, json_string_value(v)) : NULL;
}

static int get_int(json_t *o, const char *k, json_int_t *out)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_integer(v))
        return -1;
    *out = json_integer_value(v);
    return 0;
}

int cx_spool_decode(apr_pool_t *p, const char *line, apr_size_t len, cx_usage_record_t *u)
{
    json_t *o = cx_json_parse(p, line, len, NULL);
    json_int_t org, key, status, stream, fallback, cache, pt, ct, cost, charged, latency;
    if (!json_is_object(o) ||
        get_int(o, "org_id", &org) || get_int(o, "key_id", &key) || get_int(o, "status", &status) ||
        get_int(o, "stream", &stream) || get_int(o, "fallback", &fallback) ||
        get_int(o, "cache_hit", &cache) || get_int(o, "prompt_tokens", &pt) ||
        get_int(o, "completion_tokens", &ct) || get_int(o, "cost_nano", &cost) ||
        get_int(o, "charged_nano", &charged) || get_int(o, "latency_ms", &latency))
        return -1;
    memset(u, 0, sizeof *u);
    u->request_id = get_str(p, o, "request_id");
    u->endpoint = get_str(p, o, "endpoint");
    u->requested_model = get_str(p, o, "requested_model");
    const char *mode = get_str(p, o, "mode");
    if (!u->request_id || !u->endpoint || !u->requested_model || !mode || org <= 0 || key <= 0 ||
        pt < 0 || ct < 0 || charged < 0)
        return -1;
    u->mode = !strcmp(mode, "test") ? CX_KEY_TEST : CX_KEY_LIVE;
    u->served_model = get_str(p, o, "served_model");
    u->provider = get_str(p, o, "provider");
    u->org_id = (uint64_t)org;
    u->key_id = (uint64_t)key;
    u->status = (int)status;
    u->stream = (int)stream;
    u->fallback = (int)fallback;
    u->cache_hit = (int)cache;
    u->prompt_tokens = (uint64_t)pt;
    u->completion_tokens = (uint64_t)ct;
    u->cost_nano = cost;
    u->charged_nano = charged;
    u->latency_ms = (unsigned long)latency;
    /* Lines written before rows carried their time have none: dated at replay. */
    json_int_t created, provider_cost;
    if (get_int(o, "created_us", &created) == 0 && created > 0)
        u->created_at = (apr_time_t)created;
    if (get_int(o, "provider_cost_nano", &provider_cost) == 0 && provider_cost > 0)
        u->provider_cost_nano = provider_cost;
    return 0;
}

apr_status_t cx_spool_append(apr_pool_t *p, const char *dir, const cx_usage_record_t *u)
{
    const char *line = cx_spool_encode(p, u);
    if (!line)
        return APR_ENOMEM;
    const char *path = apr_psprintf(p, "%s/usage-%" APR_PID_T_FMT ".jsonl", dir, getpid());
    apr_size_t n = strlen(line);
    /* A replayer may rename and remove the file between our open and our write. Writers
     * and the replayer both take an exclusive lock; after locking, a writer checks that
     * its descriptor is still the file at `path`, and reopens otherwise, so no line ever
     * lands in a file that is being (or has been) replayed. */
    for (int attempt = 0; attempt < 8; attempt++) {
        apr_file_t *f;
        apr_status_t rv = apr_file_open(&f, path, APR_FOPEN_WRITE | APR_FOPEN_CREATE | APR_FOPEN_APPEND,
                                        APR_FPROT_UREAD | APR_FPROT_UWRITE, p);
        if (rv != APR_SUCCESS)
            return rv;
        rv = apr_file_lock(f, APR_FLOCK_EXCLUSIVE);
        if (rv != APR_SUCCESS) {
            apr_file_close(f);
            return rv;
        }
        apr_finfo_t open_info, path_info;
        if (apr_file_info_get(&open_info, APR_FINFO_INODE | APR_FINFO_DEV, f) != APR_SUCCESS ||
            apr_stat(&path_info, path, APR_FINFO_INODE | APR_FINFO_DEV, p) != APR_SUCCESS ||
            open_info.inode != path_info.inode || open_info.device != path_info.device) {
            apr_file_unlock(f);
            apr_file_close(f);
            continue;
        }
        rv = apr_file_write_full(f, line, n, NULL);
        if (rv == APR_SUCCESS)
            rv = apr_file_flush(f);
        apr_file_unlock(f);
        apr_status_t crv = apr_file_close(f);
        return rv != APR_SUCCESS ? rv : crv;
    }
    return APR_EAGAIN;
}

static int is_spool_name(const char *name)
{
    size_t n = strlen(name);
    return !strncmp(name, "usage-", 6) && n > 12 && !strcmp(name + n - 6, ".jsonl");
}

int cx_spool_pending(apr_pool_t *p, const char *dir)
{
    apr_dir_t *d;
    apr_finfo_t fi;
    int found = 0;
    if (!dir || apr_dir_open(&d, dir, p) != APR_SUCCESS)
        return 0;
    while (!found && apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, d) == APR_SUCCESS)
        found = fi.filetype == APR_REG && is_spool_name(fi.name);
    apr_dir_close(d);
    return found;
}

/* Read a claimed spool file while holding its lock, so that a writer that opened it
 * before the rename has either finished its line or will notice the rename. */
static apr_status_t read_all(apr_pool_t *p, const char *path, char **buf, apr_size_t *len)
{
    apr_file_t *f;
    apr_finfo_t fi;
    apr_status_t rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_WRITE, APR_FPROT_OS_DEFAULT, p);
    if (rv != APR_SUCCESS)
        return rv;
    rv = apr_file_lock(f, APR_FLOCK_EXCLUSIVE);
    if (rv == APR_SUCCESS)
        rv = apr_file_info_get(&fi, APR_FINFO_SIZE, f);
    if (rv == APR_SUCCESS) {
        *len = (apr_size_t)fi.size;
        *buf = apr_palloc(p, *len + 1);
        rv = *len ? apr_file_read_full(f, *buf, *len, len) : APR_SUCCESS;
        (*buf)[*len] = '\0';
    }
    apr_file_unlock(f);
    apr_file_close(f);
    return rv;
}

static apr_status_t replay_file(apr_pool_t *p, const char *dir, const char *claimed, cx_db *db,
                                cx_spool_stats_t *stats)
{
    char *buf;
    apr_size_t len;
    apr_status_t rv = read_all(p, claimed, &buf, &len);
    if (rv != APR_SUCCESS)
        return rv;
    apr_pool_t *lp;
    apr_pool_create(&lp, p);
    char *line = buf, *end = buf + len;
    while (line < end) {
        char *nl = memchr(line, '\n', (size_t)(end - line));
        apr_size_t n = nl ? (apr_size_t)(nl - line) : (apr_size_t)(end - line);
        apr_pool_clear(lp);
        if (n > 0) {
            cx_usage_record_t u;
            const char *err;
            int duplicate = 0;
            if (cx_spool_decode(lp, line, n, &u)) {
                stats->malformed++;
                apr_file_t *bad;
                /* Keep what we cannot read for a human, never drop it silently. */
                if (apr_file_open(&bad, apr_pstrcat(lp, dir, "/usage.bad", NULL),
                                  APR_FOPEN_WRITE | APR_FOPEN_CREATE | APR_FOPEN_APPEND,
                                  APR_FPROT_UREAD | APR_FPROT_UWRITE, lp) == APR_SUCCESS) {
                    apr_file_write_full(bad, line, n, NULL);
                    apr_file_putc('\n', bad);
                    apr_file_close(bad);
                }
            }
            else if (cx_store_record_usage(db, &u, &duplicate, &err) == 0) {
                if (duplicate)
                    stats->duplicates++;
                else
                    stats->recorded++;
            }
            else {
                stats->failed++;
                cx_spool_append(lp, dir, &u);
            }
        }
        line += n + (nl ? 1 : 0);
    }
    apr_pool_destroy(lp);
    return apr_file_remove(claimed, p);
}

apr_status_t cx_spool_replay(apr_pool_t *p, const char *dir, cx_db *db, cx_spool_stats_t *stats)
{
    memset(stats, 0, sizeof *stats);
    apr_dir_t *d;
    apr_finfo_t fi;
    apr_status_t rv = apr_dir_open(&d, dir, p);
    if (rv != APR_SUCCESS)
        return rv;
    apr_array_header_t *names = apr_array_make(p, 4, sizeof(const char *));
    while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, d) == APR_SUCCESS)
        if (fi.filetype == APR_REG && is_spool_name(fi.name))
            APR_ARRAY_PUSH(names, const char *) = apr_pstrdup(p, fi.name);
    apr_dir_close(d);
    for (int i = 0; i < names->nelts; i++) {
        const char *name = APR_ARRAY_IDX(names, i, const char *);
        const char *from = apr_pstrcat(p, dir, "/", name, NULL);
        const char *claimed = apr_psprintf(p, "%s.replay-%" APR_PID_T_FMT, from, getpid());
        /* Whoever renames first owns the file; a child still appending to it keeps
         * writing to the renamed inode until it reopens, which it does per line. */
        if (apr_file_rename(from, claimed, p) != APR_SUCCESS)
            continue;
        rv = replay_file(p, dir, claimed, db, stats);
        if (rv != APR_SUCCESS)
            return rv;
    }
    return APR_SUCCESS;
}
