/* mod_conduix directives: parsing, validation, defaults and vhost merging.
 * A bad value fails `apachectl configtest` with a message naming the directive. */
#include "mod_conduix.h"
#include "conduix_directives.h"
#include "conduix_resilience.h"

#include <apr_file_io.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>
#include <apr_strings.h>
#include <apr_uri.h>
#include <ctype.h>
#include <stdlib.h>

APLOG_USE_MODULE(conduix);

int conduix_conf_int(int v, int dflt)
{
    return v == CONDUIX_UNSET ? dflt : v;
}

void *conduix_create_server_conf(apr_pool_t *p, server_rec *s)
{
    conduix_server_conf_t *c = apr_pcalloc(p, sizeof *c);
    c->engine = CONDUIX_UNSET;
    c->providers = apr_hash_make(p);
    c->max_body = CONDUIX_UNSET;
    c->upstream_timeout = CONDUIX_UNSET;
    c->connect_timeout = CONDUIX_UNSET;
    c->stream_slice = CONDUIX_UNSET;
    c->key_cache_ttl = CONDUIX_UNSET;
    c->catalog_refresh = CONDUIX_UNSET;
    c->db_pool_max = CONDUIX_UNSET;
    c->shared_state_size = CONDUIX_UNSET;
    c->breaker_threshold = CONDUIX_UNSET;
    c->breaker_open_seconds = CONDUIX_UNSET;
    c->cache_enabled = CONDUIX_UNSET;
    c->cache_ttl = CONDUIX_UNSET;
    c->cache_max_entry = CONDUIX_UNSET;
    c->budget_alerts = apr_array_make(p, 2, sizeof(conduix_alert_conf_t));
    return c;
}

#define MERGE(field) (add->field == CONDUIX_UNSET ? base->field : add->field)

void *conduix_merge_server_conf(apr_pool_t *p, void *basev, void *addv)
{
    conduix_server_conf_t *base = basev, *add = addv;
    conduix_server_conf_t *c = apr_pcalloc(p, sizeof *c);
    c->engine = MERGE(engine);
    c->dsn_text = add->dsn_text ? add->dsn_text : base->dsn_text;
    c->dsn = add->dsn ? add->dsn : base->dsn;
    /* A vhost's ConduixProvider lines override the main server's, name by name. */
    c->providers = apr_hash_overlay(p, add->providers, base->providers);
    c->max_body = MERGE(max_body);
    c->upstream_timeout = MERGE(upstream_timeout);
    c->connect_timeout = MERGE(connect_timeout);
    c->stream_slice = MERGE(stream_slice);
    c->key_cache_ttl = MERGE(key_cache_ttl);
    c->catalog_refresh = MERGE(catalog_refresh);
    c->db_pool_max = MERGE(db_pool_max);
    c->spool_dir = add->spool_dir ? add->spool_dir : base->spool_dir;
    c->byo_allow = add->byo_allow ? add->byo_allow : base->byo_allow;
    c->shared_state = add->shared_state ? add->shared_state : base->shared_state;
    c->shared_state_size = MERGE(shared_state_size);
    c->breaker_threshold = MERGE(breaker_threshold);
    c->breaker_open_seconds = MERGE(breaker_open_seconds);
    c->cache_enabled = MERGE(cache_enabled);
    c->cache_ttl = MERGE(cache_ttl);
    c->cache_max_entry = MERGE(cache_max_entry);
    /* A vhost's ConduixBudgetAlert lines replace the main server's. */
    c->budget_alerts = add->budget_alerts->nelts ? add->budget_alerts : base->budget_alerts;
    c->jwt_secret_file = add->jwt_secret_file ? add->jwt_secret_file : base->jwt_secret_file;
    c->secret_key_file = add->secret_key_file ? add->secret_key_file : base->secret_key_file;
    return c;
}

static conduix_server_conf_t *sconf(cmd_parms *cmd)
{
    return ap_get_module_config(cmd->server->module_config, &conduix_module);
}

static const char *set_engine(cmd_parms *cmd, void *dummy, int on)
{
    sconf(cmd)->engine = on;
    return NULL;
}

static const char *set_database(cmd_parms *cmd, void *dummy, const char *arg)
{
    conduix_server_conf_t *c = sconf(cmd);
    cx_dsn_t *dsn = apr_pcalloc(cmd->pool, sizeof *dsn);
    const char *err = cx_dsn_parse(cmd->pool, arg, dsn);
    if (err)
        return apr_psprintf(cmd->pool, "%s: %s", cmd->cmd->name, err);
    c->dsn_text = arg;
    c->dsn = dsn;
    return NULL;
}

static int valid_provider_name(const char *s)
{
    if (!*s || strlen(s) > 32)
        return 0;
    for (; *s; s++)
        if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '-' && *s != '_')
            return 0;
    return 1;
}

const char *conduix_resolve_credential(apr_pool_t *p, const char *ref, const char **out)
{
    *out = NULL;
    if (!ref)
        return NULL;
    if (!strncmp(ref, "env:", 4)) {
        const char *v = getenv(ref + 4);
        if (v && *v)
            *out = apr_pstrdup(p, v);
        return NULL;
    }
    if (!strncmp(ref, "file:", 5)) {
        apr_file_t *f;
        char buf[4096];
        apr_size_t n = sizeof buf - 1;
        if (apr_file_open(&f, ref + 5, APR_FOPEN_READ, APR_FPROT_OS_DEFAULT, p) != APR_SUCCESS)
            return apr_psprintf(p, "credential file %s cannot be read", ref + 5);
        apr_status_t rv = apr_file_read(f, buf, &n);
        apr_file_close(f);
        if (rv != APR_SUCCESS && rv != APR_EOF)
            return apr_psprintf(p, "credential file %s cannot be read", ref + 5);
        buf[n] = '\0';
        while (n > 0 && isspace((unsigned char)buf[n - 1]))
            buf[--n] = '\0';
        *out = apr_pstrdup(p, buf);
        return NULL;
    }
    return "credential must be env:NAME or file:/path";
}

/* ConduixProvider <name> <base-url|default> [env:NAME|file:/path] */
static const char *set_provider(cmd_parms *cmd, void *dummy, int argc, char *const argv[])
{
    if (argc < 2 || argc > 3)
        return apr_psprintf(cmd->pool, "%s takes a provider name, a base URL (or 'default') "
                            "and optionally env:NAME or file:/path", cmd->cmd->name);
    conduix_provider_conf_t *pc = apr_pcalloc(cmd->pool, sizeof *pc);
    pc->name = argv[0];
    if (!valid_provider_name(pc->name))
        return apr_psprintf(cmd->pool, "%s: '%s' is not a provider name (lowercase letters, "
                            "digits, - and _)", cmd->cmd->name, pc->name);
    if (strcmp(argv[1], "default")) {
        apr_uri_t uri;
        if (apr_uri_parse(cmd->pool, argv[1], &uri) != APR_SUCCESS || !uri.scheme ||
            !uri.hostname || (strcasecmp(uri.scheme, "http") && strcasecmp(uri.scheme, "https")))
            return apr_psprintf(cmd->pool, "%s %s: '%s' is not an http(s) URL", cmd->cmd->name,
                                pc->name, argv[1]);
        if (uri.password)
            return apr_psprintf(cmd->pool, "%s %s: put credentials in env: or file:, not in the URL",
                                cmd->cmd->name, pc->name);
        size_t n = strlen(argv[1]);
        pc->base_url = apr_pstrndup(cmd->pool, argv[1], argv[1][n - 1] == '/' ? n - 1 : n);
    }
    pc->credential_ref = argc == 3 ? argv[2]
                                   : apr_psprintf(cmd->pool, "env:%s_API_KEY", pc->name);
    if (strncmp(pc->credential_ref, "env:", 4) && strncmp(pc->credential_ref, "file:", 5))
        return apr_psprintf(cmd->pool, "%s %s: credential must be env:NAME or file:/path "
                            "(never the secret itself)", cmd->cmd->name, pc->name);
    if (!strncmp(pc->credential_ref, "env:", 4)) {
        for (char *c = (char *)pc->credential_ref + 4; *c; c++)
            *c = (char)toupper((unsigned char)*c);
    }
    apr_hash_set(sconf(cmd)->providers, pc->name, APR_HASH_KEY_STRING, pc);
    return NULL;
}

static const char *parse_positive(cmd_parms *cmd, const char *arg, long long min, long long max,
                                  long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(arg, &end, 10);
    if (errno || end == arg || *end || v < min || v > max)
        return apr_psprintf(cmd->pool, "%s: '%s' must be a whole number from %" APR_INT64_T_FMT
                            " to %" APR_INT64_T_FMT, cmd->cmd->name, arg, (apr_int64_t)min,
                            (apr_int64_t)max);
    *out = v;
    return NULL;
}

static const char *set_spool_dir(cmd_parms *cmd, void *dummy, const char *arg)
{
    const char *dir = ap_server_root_relative(cmd->pool, arg);
    if (!dir)
        return apr_psprintf(cmd->pool, "%s: invalid path '%s'", cmd->cmd->name, arg);
    sconf(cmd)->spool_dir = dir;
    return NULL;
}

static const char *set_max_body(cmd_parms *cmd, void *dummy, const char *arg)
{
    long long v;
    const char *err = parse_positive(cmd, arg, 1024, 1LL << 30, &v);
    if (!err)
        sconf(cmd)->max_body = (apr_off_t)v;
    return err;
}

/* Integer directives share one setter; the field offset and bounds ride in cmd_data. */
typedef struct {
    size_t offset;
    long long min, max;
} int_setting_t;

static const int_setting_t upstream_timeout_setting = {offsetof(conduix_server_conf_t, upstream_timeout), 1, 3600};
static const int_setting_t connect_timeout_setting = {offsetof(conduix_server_conf_t, connect_timeout), 1, 300};
static const int_setting_t stream_slice_setting = {offsetof(conduix_server_conf_t, stream_slice), 0, 100000};
static const int_setting_t key_cache_ttl_setting = {offsetof(conduix_server_conf_t, key_cache_ttl), 0, 5};
static const int_setting_t catalog_refresh_setting = {offsetof(conduix_server_conf_t, catalog_refresh), 1, 86400};
static const int_setting_t db_pool_max_setting = {offsetof(conduix_server_conf_t, db_pool_max), 1, 1024};
static const int_setting_t breaker_threshold_setting = {offsetof(conduix_server_conf_t, breaker_threshold), 1, 1000000};
static const int_setting_t breaker_open_setting = {offsetof(conduix_server_conf_t, breaker_open_seconds), 1, 86400};
static const int_setting_t cache_ttl_setting = {offsetof(conduix_server_conf_t, cache_ttl), 1, 30 * 86400};
static const int_setting_t cache_max_entry_setting = {offsetof(conduix_server_conf_t, cache_max_entry), 1024, 64 * 1024 * 1024};

static const char *set_int(cmd_parms *cmd, void *dummy, const char *arg)
{
    const int_setting_t *s = cmd->info;
    long long v;
    const char *err = parse_positive(cmd, arg, s->min, s->max, &v);
    if (!err)
        *(int *)((char *)sconf(cmd) + s->offset) = (int)v;
    return err;
}

/* ConduixByoAllowNetworks <cidr> [<cidr> ...]: networks BYO endpoints may reach
 * although the SSRF guard would refuse them (loopback, private, ...). */
static const char *set_byo_allow(cmd_parms *cmd, void *dummy, int argc, char *const argv[])
{
    if (argc < 1)
        return apr_psprintf(cmd->pool, "%s takes one or more networks, e.g. 10.0.0.0/8 fd00::/8",
                            cmd->cmd->name);
    conduix_server_conf_t *c = sconf(cmd);
    if (!c->byo_allow)
        c->byo_allow = cx_ssrf_policy_create(cmd->pool);
    for (int i = 0; i < argc; i++) {
        const char *err = cx_ssrf_policy_allow(c->byo_allow, argv[i]);
        if (err)
            return apr_psprintf(cmd->pool, "%s: '%s': %s", cmd->cmd->name, argv[i], err);
    }
    return NULL;
}

/* ConduixSharedState shm: where breakers, spend counters and the cache live. */
static const char *set_shared_state(cmd_parms *cmd, void *dummy, const char *arg)
{
    if (!strcasecmp(arg, "shm")) {
        sconf(cmd)->shared_state = "shm";
        return NULL;
    }
    if (!strncasecmp(arg, "redis://", 8) || !strncasecmp(arg, "rediss://", 9))
        return apr_psprintf(cmd->pool, "%s: the Redis backend is not part of this build; use shm",
                            cmd->cmd->name);
    return apr_psprintf(cmd->pool, "%s: '%s' is not a shared state backend (shm)", cmd->cmd->name, arg);
}

static const char *set_shared_state_size(cmd_parms *cmd, void *dummy, const char *arg)
{
    long long v;
    const char *err = parse_positive(cmd, arg, 1024 * 1024, 1LL << 32, &v);
    if (!err)
        sconf(cmd)->shared_state_size = (apr_off_t)v;
    return err;
}

static const char *set_cache(cmd_parms *cmd, void *dummy, int on)
{
    sconf(cmd)->cache_enabled = on;
    return NULL;
}

/* ConduixBudgetAlert slack|teams <url> (repeatable) */
static const char *set_budget_alert(cmd_parms *cmd, void *dummy, const char *format, const char *url)
{
    conduix_alert_conf_t a;
    if (!cx_alert_format_parse(format, &a.format))
        return apr_psprintf(cmd->pool, "%s: the format must be slack or teams, not '%s'",
                            cmd->cmd->name, format);
    const char *why = cx_alert_url_check(cmd->pool, url);
    /* The URL is not echoed: webhook URLs embed their secret token. */
    if (why)
        return apr_psprintf(cmd->pool, "%s %s: the URL is not accepted: %s", cmd->cmd->name,
                            format, why);
    a.url = url;
    APR_ARRAY_PUSH(sconf(cmd)->budget_alerts, conduix_alert_conf_t) = a;
    return NULL;
}

/* Read in post_config, while httpd is root (lib/cx_seal.h). */
static const char *set_secret_key_file(cmd_parms *cmd, void *dummy, const char *arg)
{
    if (!*arg)
        return apr_psprintf(cmd->pool, "%s needs the path of the 32-byte key file", cmd->cmd->name);
    sconf(cmd)->secret_key_file = ap_server_root_relative(cmd->pool, arg);
    if (!sconf(cmd)->secret_key_file)
        return apr_psprintf(cmd->pool, "%s: '%s' is not a valid path", cmd->cmd->name, arg);
    return NULL;
}

/* The file is read in post_config (conduix_jwt_post_config), while httpd is root. */
static const char *set_jwt_secret_file(cmd_parms *cmd, void *dummy, const char *arg)
{
    if (!*arg)
        return apr_psprintf(cmd->pool, "%s needs the path of a file holding the secret", cmd->cmd->name);
    sconf(cmd)->jwt_secret_file = ap_server_root_relative(cmd->pool, arg);
    if (!sconf(cmd)->jwt_secret_file)
        return apr_psprintf(cmd->pool, "%s: '%s' is not a valid path", cmd->cmd->name, arg);
    return NULL;
}

const command_rec conduix_cmds[] = {
    AP_INIT_FLAG(CONDUIX_ENGINE, set_engine, NULL, RSRC_CONF,
                 "On to serve the Conduix API (/v1/...) on this server"),
    AP_INIT_TAKE1(CONDUIX_DATABASE, set_database, NULL, RSRC_CONF,
                  "MySQL/MariaDB DSN: 'unix_socket=... user=... password_file=... dbname=...'"),
    AP_INIT_TAKE_ARGV(CONDUIX_PROVIDER, set_provider, NULL, RSRC_CONF,
                      "Provider name, base URL (or 'default') and credential env:NAME|file:/path"),
    AP_INIT_TAKE1(CONDUIX_MAX_BODY_SIZE, set_max_body, NULL, RSRC_CONF,
                  "Largest request body accepted, in bytes (default 8 MiB)"),
    AP_INIT_TAKE1(CONDUIX_UPSTREAM_TIMEOUT, set_int, (void *)&upstream_timeout_setting, RSRC_CONF,
                  "Seconds an upstream call may take (streams: seconds without data), default 120"),
    AP_INIT_TAKE1(CONDUIX_CONNECT_TIMEOUT, set_int, (void *)&connect_timeout_setting, RSRC_CONF,
                  "Seconds to connect to an upstream, default 10"),
    AP_INIT_TAKE1(CONDUIX_STREAM_SLICE, set_int, (void *)&stream_slice_setting, RSRC_CONF,
                  "Scheduler slice in microseconds a thread runs with while a stream's upstream "
                  "call relays (0: the kernel's default), default 200"),
    AP_INIT_TAKE1(CONDUIX_KEY_CACHE_TTL, set_int, (void *)&key_cache_ttl_setting, RSRC_CONF,
                  "Seconds a key lookup is cached per child (0-5, default 5)"),
    AP_INIT_TAKE1(CONDUIX_CATALOG_REFRESH, set_int, (void *)&catalog_refresh_setting, RSRC_CONF,
                  "Seconds between catalog reloads from the database, default 30"),
    AP_INIT_TAKE1(CONDUIX_DB_POOL_MAX, set_int, (void *)&db_pool_max_setting, RSRC_CONF,
                  "Database connections per child (default: threads per child)"),
    AP_INIT_TAKE1(CONDUIX_SPOOL_DIR, set_spool_dir, NULL, RSRC_CONF,
                  "Directory where usage rows wait while the database is unavailable "
                  "(default: conduix-spool under DefaultRuntimeDir)"),
    AP_INIT_TAKE_ARGV(CONDUIX_BYO_ALLOW_NETWORKS, set_byo_allow, NULL, RSRC_CONF,
                      "Networks (CIDR) BYO endpoints may reach although private, loopback or reserved"),
    AP_INIT_TAKE1(CONDUIX_SHARED_STATE, set_shared_state, NULL, RSRC_CONF,
                  "Where state shared by every child lives: shm (default)"),
    AP_INIT_TAKE1(CONDUIX_SHARED_STATE_SIZE, set_shared_state_size, NULL, RSRC_CONF,
                  "Bytes of the shared memory segment (default 16 MiB)"),
    AP_INIT_TAKE1(CONDUIX_BREAKER_THRESHOLD, set_int, (void *)&breaker_threshold_setting, RSRC_CONF,
                  "Consecutive upstream failures that open a provider's breaker (default 3)"),
    AP_INIT_TAKE1(CONDUIX_BREAKER_OPEN_SECONDS, set_int, (void *)&breaker_open_setting, RSRC_CONF,
                  "Seconds an open breaker skips its provider before one probe (default 30)"),
    AP_INIT_FLAG(CONDUIX_CACHE, set_cache, NULL, RSRC_CONF,
                 "On to answer repeated temperature-0 requests from the response cache (default On)"),
    AP_INIT_TAKE1(CONDUIX_CACHE_TTL, set_int, (void *)&cache_ttl_setting, RSRC_CONF,
                  "Seconds a cached response is served (default 300)"),
    AP_INIT_TAKE1(CONDUIX_CACHE_MAX_ENTRY_SIZE, set_int, (void *)&cache_max_entry_setting, RSRC_CONF,
                  "Largest response stored in the cache, in bytes (default 262144)"),
    AP_INIT_TAKE2(CONDUIX_BUDGET_ALERT, set_budget_alert, NULL, RSRC_CONF,
                  "slack|teams and an http(s) webhook URL for provider budget alerts (repeatable)"),
    AP_INIT_TAKE1(CONDUIX_JWT_SECRET_FILE, set_jwt_secret_file, NULL, RSRC_CONF,
                  "File with the dashboard JWT secret (at least 32 bytes); enables /api/usage"),
    AP_INIT_TAKE1(CONDUIX_SECRET_KEY_FILE, set_secret_key_file, NULL, RSRC_CONF,
                  "File with the 32-byte key that seals BYO endpoint credentials"),
    {NULL}
};
