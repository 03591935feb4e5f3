/* conduixctl: the operator's command line for Conduix. It uses libconduix's store,
 * so keys, prices and migrations are the same code the module and dashboard run.
 *
 *   conduixctl [--db DSN] COMMAND [options]      (DSN also from $CONDUIX_DB)
 *
 * Results go to stdout, one value per line; errors to stderr with exit status 1. */
#include "cx_byo.h"
#include "cx_dsn.h"
#include "cx_jwt.h"
#include "cx_governance.h"
#include "cx_govstore.h"
#include "cx_json.h"
#include "cx_keys.h"
#include "cx_password.h"
#include "cx_price.h"
#include "cx_spendcap.h"
#include "cx_store.h"
#include "cx_usage.h"

#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_time.h>
#include <mysql.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: conduixctl [--db DSN] COMMAND [options]\n"
    "  migrate --dir DIR\n"
    "  org-create --name NAME [--credits AMOUNT]\n"
    "  user-create --org ID --email EMAIL (--password-file F | --password-env VAR)\n"
    "              --role owner|admin|member|viewer [--operator]\n"
    "  key-create --org ID --name NAME [--test] [--scopes a,b] [--allowed-models JSON]\n"
    "             [--rate-limit N]\n"
    "  key-revoke --id ID\n"
    "  credits-grant --org ID --amount AMOUNT [--note TEXT]\n"
    "  balance --org ID\n"
    "  key-set --id ID [--allowed-models JSON|null] [--region US|EU|APAC|none]\n"
    "          [--pii-mode inherit|redact|off] [--swap-mode inherit|on|off]\n"
    "          [--rate-limit N|none] [--spend-cap-daily CREDITS|none]\n"
    "          [--spend-cap-monthly CREDITS|none]\n"
    "  org-set --org ID --name pii_default|swaps_enabled|swap_never_from|swap_never_to|\n"
    "                         spend_cap_daily|spend_cap_monthly (--value VALUE | --reset)\n"
    "  byo-add --org ID --slug SLUG --base-url URL [--credential-env VAR | --credential-file F]\n"
    "          [--region US|EU|APAC] [--models JSON]\n"
    "  byo-list --org ID\n"
    "  byo-remove --org ID --slug SLUG\n"
    "  byo-reseal   (encrypts credentials stored before sealing)\n"
    "    byo-add and byo-reseal need the 32-byte key: --secret-key-file PATH or\n"
    "    CONDUIX_SECRET_KEY_FILE (the gateway's ConduixSecretKeyFile)\n"
    "  usage --org ID [--from T] [--to T] [--bucket day|hour] [--group-by model|key|provider]\n"
    "        [--key ID] [--direct] [--repeat N]   (T: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)\n"
    "  usage-rebuild-rollups [--org ID]\n"
    "  dashboard-token --user ID --secret-file PATH [--ttl SECONDS]\n";

static apr_pool_t *pool;

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("conduixctl: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

/* Options are "--name value" pairs or bare flags; looked up by name. */
typedef struct {
    int argc;
    char **argv;
} opts_t;

static const char *opt(const opts_t *o, const char *name)
{
    for (int i = 0; i < o->argc; i++)
        if (!strcmp(o->argv[i], name))
            return (i + 1 < o->argc) ? o->argv[i + 1] : NULL;
    return NULL;
}

static int flag(const opts_t *o, const char *name)
{
    for (int i = 0; i < o->argc; i++)
        if (!strcmp(o->argv[i], name))
            return 1;
    return 0;
}

static const char *need(const opts_t *o, const char *name)
{
    const char *v = opt(o, name);
    if (!v || !*v)
        die("%s is required\n%s", name, usage_text);
    return v;
}

static uint64_t need_id(const opts_t *o, const char *name)
{
    const char *v = need(o, name);
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    if (*end || n == 0)
        die("%s must be a positive integer", name);
    return n;
}

static cx_db *connect_db(const char *dsn_text)
{
    if (!dsn_text)
        dsn_text = getenv("CONDUIX_DB");
    if (!dsn_text)
        die("no database: pass --db DSN or set CONDUIX_DB");
    cx_dsn_t dsn;
    const char *err = cx_dsn_parse(pool, dsn_text, &dsn);
    if (err)
        die("bad DSN: %s", err);
    cx_db *db = cx_db_open(pool, &dsn, &err);
    if (!db)
        die("%s", err);
    return db;
}

static void print_applied(void *baton, const char *name)
{
    (void)baton;
    printf("applied %s\n", name);
}

static const char *read_password_file(const char *path)
{
    char *buf;
    apr_file_t *f;
    if (apr_file_open(&f, path, APR_FOPEN_READ, APR_FPROT_OS_DEFAULT, pool) != APR_SUCCESS)
        die("cannot read %s", path);
    buf = apr_pcalloc(pool, 1024);
    apr_size_t n = 1023;
    apr_file_read(f, buf, &n);
    apr_file_close(f);
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    return buf;
}

static int cmd_migrate(cx_db *db, const opts_t *o)
{
    const char *err;
    if (cx_store_migrate(db, pool, need(o, "--dir"), print_applied, NULL, &err))
        die("%s", err);
    return 0;
}

static cx_nano_t parse_amount(const char *text)
{
    cx_nano_t v;
    if (cx_nano_parse(text, &v))
        die("'%s' is not a credit amount (decimal, up to 9 fractional digits)", text);
    return v;
}

static int cmd_org_create(cx_db *db, const opts_t *o)
{
    const char *err;
    uint64_t org_id;
    if (cx_store_create_org(db, need(o, "--name"), &org_id, &err))
        die("%s", err);
    const char *credits = opt(o, "--credits");
    if (credits) {
        cx_nano_t amount = parse_amount(credits);
        if (amount > 0 && cx_store_credit(db, org_id, "grant", amount, "initial credits",
                                          "conduixctl", NULL, &err))
            die("%s", err);
    }
    printf("%llu\n", (unsigned long long)org_id);
    return 0;
}

static int cmd_user_create(cx_db *db, const opts_t *o)
{
    const char *password = NULL, *err;
    if (opt(o, "--password-file"))
        password = read_password_file(opt(o, "--password-file"));
    else if (opt(o, "--password-env"))
        password = getenv(opt(o, "--password-env"));
    if (!password || strlen(password) < 8)
        die("a password of at least 8 characters is required (--password-file or --password-env)");
    const char *role = need(o, "--role");
    if (strcmp(role, "owner") && strcmp(role, "admin") && strcmp(role, "member") && strcmp(role, "viewer"))
        die("--role must be owner, admin, member or viewer");
    const char *hash = cx_password_hash(pool, password);
    if (!hash)
        die("libcrypt could not hash the password");
    uint64_t user_id;
    if (cx_store_create_user(db, need_id(o, "--org"), need(o, "--email"), hash, role,
                             flag(o, "--operator"), &user_id, &err))
        die("%s", err);
    printf("%llu\n", (unsigned long long)user_id);
    return 0;
}

static int cmd_key_create(cx_db *db, const opts_t *o)
{
    cx_key_spec_t spec = {0};
    spec.org_id = need_id(o, "--org");
    spec.name = need(o, "--name");
    spec.mode = flag(o, "--test") ? CX_KEY_TEST : CX_KEY_LIVE;
    spec.scopes = opt(o, "--scopes");
    spec.allowed_models = opt(o, "--allowed-models");
    if (spec.allowed_models) {
        /* The same check as key-set: a key is never minted with an allowlist the
         * gateway would have to refuse as malformed. */
        cx_catalog_t *cat;
        const char *cerr;
        if (cx_store_load_catalog(db, pool, &cat, &cerr))
            die("cannot load the model catalog: %s", cerr);
        const char *why = cx_key_field_validate(pool, cat, CX_KEY_FIELD_ALLOWED_MODELS,
                                                spec.allowed_models, &spec.allowed_models);
        if (why)
            die("--allowed-models: %s", why);
    }
    spec.rate_limit_rpm = -1;
    if (opt(o, "--rate-limit")) {
        /* The same bounds as key-set. */
        const char *n;
        const char *why = cx_key_field_validate(pool, NULL, CX_KEY_FIELD_RATE_LIMIT,
                                                opt(o, "--rate-limit"), &n);
        if (why)
            die("--rate-limit: %s", why);
        spec.rate_limit_rpm = n ? strtoll(n, NULL, 10) : -1;
    }
    const char *secret, *err;
    uint64_t key_id;
    if (cx_store_create_key(db, pool, &spec, &secret, &key_id, &err))
        die("%s", err);
    cx_store_audit(db, spec.org_id, "operator", 0, "conduixctl", NULL, NULL, "key.create",
                   apr_psprintf(pool, "key:%" APR_UINT64_T_FMT, (apr_uint64_t)key_id), NULL);
    printf("%s\n%llu\n", secret, (unsigned long long)key_id);
    return 0;
}

static int cmd_key_revoke(cx_db *db, const opts_t *o)
{
    const char *err;
    if (cx_store_revoke_key(db, need_id(o, "--id"), &err))
        die("%s", err);
    printf("revoked\n");
    return 0;
}

static int cmd_credits_grant(cx_db *db, const opts_t *o)
{
    const char *err;
    cx_nano_t balance;
    uint64_t org_id = need_id(o, "--org");
    cx_nano_t amount = parse_amount(need(o, "--amount"));
    if (cx_store_credit(db, org_id, amount >= 0 ? "grant" : "adjustment", amount,
                        opt(o, "--note"), "conduixctl", &balance, &err))
        die("%s", err);
    cx_store_audit(db, org_id, "operator", 0, "conduixctl", NULL, NULL, "credits.grant",
                   apr_psprintf(pool, "org:%" APR_UINT64_T_FMT, (apr_uint64_t)org_id),
                   apr_psprintf(pool, "{\"amount\":\"%s\"}", cx_nano_format(pool, amount)));
    printf("%s\n", cx_nano_format(pool, balance));
    return 0;
}

static int cmd_balance(cx_db *db, const opts_t *o)
{
    cx_nano_t balance;
    int rv = cx_store_balance(db, need_id(o, "--org"), &balance);
    if (rv < 0)
        die("%s", cx_db_error(db));
    if (rv > 0)
        die("no such organization");
    printf("%s\n", cx_nano_format(pool, balance));
    return 0;
}

/* The actor of a governance change made from this CLI: the operator at this
 * terminal. IP: the SSH client's address when run over SSH, else "local". One
 * request id per invocation ties its audit rows together. */
static cx_actor_t cli_actor(void)
{
    const char *ssh = getenv("SSH_CLIENT");
    const char *ip = "local";
    if (ssh && *ssh) {
        const char *sp = strchr(ssh, ' ');
        ip = sp ? apr_pstrndup(pool, ssh, (apr_size_t)(sp - ssh)) : ssh;
    }
    cx_actor_t a = { "operator", 0, "conduixctl", ip, cx_request_id_new(pool) };
    return a;
}

static const cx_catalog_t *load_catalog(cx_db *db)
{
    cx_catalog_t *cat;
    const char *err;
    if (cx_store_load_catalog(db, pool, &cat, &err))
        die("cannot load the model catalog: %s", err);
    return cat;
}

/* Spend caps are stored in nanocredits and shown in credits, as they were typed. */
static const char *shown(const char *name, const char *stored)
{
    if (!stored)
        return "null";
    if (!strcmp(name, CX_SETTING_SPEND_CAP_DAILY) || !strcmp(name, CX_SETTING_SPEND_CAP_MONTHLY)) {
        int malformed;
        cx_nano_t nano = cx_cap_parse_stored(stored, &malformed);
        if (!malformed)
            return cx_nano_format(pool, nano);
    }
    return stored;
}

static void print_change(const char *name, const cx_change_t *ch)
{
    if (ch->changed)
        printf("%s: %s -> %s\n", name, shown(name, ch->before), shown(name, ch->after));
    else
        printf("%s: unchanged (%s)\n", name, shown(name, ch->before));
}

static int cmd_key_set(cx_db *db, const opts_t *o)
{
    static const struct {
        const char *option;
        cx_key_field_t field;
    } options[] = {
        {"--allowed-models", CX_KEY_FIELD_ALLOWED_MODELS}, {"--rate-limit", CX_KEY_FIELD_RATE_LIMIT},
        {"--region", CX_KEY_FIELD_REGION}, {"--pii-mode", CX_KEY_FIELD_PII_MODE},
        {"--swap-mode", CX_KEY_FIELD_SWAP_MODE},
        {"--spend-cap-daily", CX_KEY_FIELD_SPEND_CAP_DAILY},
        {"--spend-cap-monthly", CX_KEY_FIELD_SPEND_CAP_MONTHLY},
    };
    enum { NOPT = sizeof options / sizeof options[0] };
    uint64_t key_id = need_id(o, "--id");
    const char *values[NOPT];
    const cx_catalog_t *cat = NULL;
    int any = 0;
    /* Validate every value before changing anything. */
    for (int i = 0; i < NOPT; i++) {
        values[i] = NULL;
        if (!flag(o, options[i].option))
            continue;
        const char *v = opt(o, options[i].option);
        if (!v)
            die("%s needs a value", options[i].option);
        if (options[i].field == CX_KEY_FIELD_ALLOWED_MODELS && !cat)
            cat = load_catalog(db);
        const char *why = cx_key_field_validate(pool, cat, options[i].field, v, &values[i]);
        if (why)
            die("%s: %s", options[i].option, why);
        any = 1;
    }
    if (!any)
        die("key-set needs at least one of --allowed-models, --region, --pii-mode, --swap-mode, "
            "--rate-limit, --spend-cap-daily, --spend-cap-monthly\n%s", usage_text);
    cx_actor_t actor = cli_actor();
    for (int i = 0; i < NOPT; i++) {
        if (!flag(o, options[i].option))
            continue;
        cx_change_t ch;
        const char *err;
        int rv = cx_store_key_set(db, pool, key_id, options[i].field, values[i], &actor, &ch, &err);
        if (rv > 0)
            die("no such key");
        if (rv < 0)
            die("%s", err);
        print_change(cx_key_field_name(options[i].field), &ch);
    }
    return 0;
}

static int cmd_org_set(cx_db *db, const opts_t *o)
{
    uint64_t org_id = need_id(o, "--org");
    const char *name = need(o, "--name");
    const char *value = NULL;
    if (flag(o, "--reset")) {
        if (flag(o, "--value"))
            die("give either --value or --reset");
        if (!cx_org_setting_known(name))
            die("%s", cx_org_setting_validate(pool, NULL, name, "", NULL));
    }
    else {
        const char *why = cx_org_setting_validate(pool, load_catalog(db), name, need(o, "--value"),
                                                  &value);
        if (why)
            die("%s", why);
    }
    cx_actor_t actor = cli_actor();
    cx_change_t ch;
    const char *err;
    int rv = cx_store_org_setting_set(db, pool, org_id, name, value, &actor, &ch, &err);
    if (rv > 0)
        die("no such organization");
    if (rv < 0)
        die("%s", err);
    print_change(name, &ch);
    return 0;
}

/* The key that seals BYO credentials: --secret-key-file, else CONDUIX_SECRET_KEY_FILE. */
static const cx_seal_key_t *seal_key(const opts_t *o)
{
    const char *path = opt(o, "--secret-key-file");
    if (!path)
        path = getenv("CONDUIX_SECRET_KEY_FILE");
    if (!path || !*path)
        die("no secret key: give --secret-key-file PATH or set CONDUIX_SECRET_KEY_FILE");
    cx_seal_key_t *key;
    const char *err;
    if (cx_seal_key_load(pool, path, &key, &err))
        die("%s", err);
    return key;
}

/* BYO endpoints. The credential is read from a variable or a file, never from the
 * command line (where ps and shell history would show it), and never printed. It is
 * stored sealed (lib/cx_seal.h). */
static int cmd_byo_add(cx_db *db, const opts_t *o)
{
    cx_byo_t b = {0};
    b.org_id = need_id(o, "--org");
    b.slug = need(o, "--slug");
    b.base_url = need(o, "--base-url");
    b.region = opt(o, "--region");
    b.models = opt(o, "--models");
    if (opt(o, "--credential-env")) {
        b.credential = getenv(opt(o, "--credential-env"));
        if (!b.credential || !*b.credential)
            die("the variable %s is empty", opt(o, "--credential-env"));
    }
    else if (opt(o, "--credential-file")) {
        b.credential = read_password_file(opt(o, "--credential-file"));
    }
    const char *err;
    uint64_t id;
    if (cx_byo_add(db, pool, &b, b.credential && *b.credential ? seal_key(o) : NULL, &id, &err))
        die("%s", err);
    cx_store_audit(db, b.org_id, "operator", 0, "conduixctl", NULL, NULL, "byo.create",
                   apr_psprintf(pool, "byo:%s", b.slug),
                   apr_psprintf(pool, "{\"base_url\":%s}", cx_json_quote(pool, b.base_url)));
    printf("%llu\n", (unsigned long long)id);
    return 0;
}

static int cmd_byo_reseal(cx_db *db, const opts_t *o)
{
    const cx_seal_key_t *key = seal_key(o);
    int count = 0;
    const char *err;
    if (cx_byo_reseal(db, pool, key, &count, &err))
        die("%s", err);
    if (count)
        cx_store_audit(db, 0, "operator", 0, "conduixctl", NULL, NULL, "byo.reseal", "byo_endpoints",
                       apr_psprintf(pool, "{\"sealed\":%d}", count));
    printf("%d credential(s) sealed\n", count);
    return 0;
}

static int cmd_byo_list(cx_db *db, const opts_t *o)
{
    apr_array_header_t *list;
    const char *err;
    if (cx_byo_list(db, pool, need_id(o, "--org"), &list, &err))
        die("%s", err);
    for (int i = 0; i < list->nelts; i++) {
        const cx_byo_t *b = &APR_ARRAY_IDX(list, i, cx_byo_t);
        printf("byo:%s\t%s\t%s\t%s\t%s\n", b->slug, b->base_url, b->region,
               b->models ? b->models : "*", b->enabled ? "enabled" : "disabled");
    }
    return 0;
}

static int cmd_byo_remove(cx_db *db, const opts_t *o)
{
    const char *err;
    uint64_t org = need_id(o, "--org");
    const char *slug = need(o, "--slug");
    int rv = cx_byo_remove(db, org, slug, &err);
    if (rv < 0)
        die("%s", err);
    if (rv == 0)
        die("the organization has no BYO endpoint '%s'", slug);
    cx_store_audit(db, org, "operator", 0, "conduixctl", NULL, NULL, "byo.remove",
                   apr_psprintf(pool, "byo:%s", slug), NULL);
    printf("removed\n");
    return 0;
}

static int compare_times(const void *a, const void *b)
{
    apr_time_t x = *(const apr_time_t *)a, y = *(const apr_time_t *)b;
    return x < y ? -1 : x > y;
}

/* The usage report the API gives (cx_usage_query, from the rollups), or with
 * --direct the same computed from usage_events only. Rows go to stdout as tab-separated
 * bucket, group, label, requests, prompt_tokens, completion_tokens, spend, cost; the
 * median query time of --repeat runs to stderr. */
static int cmd_usage(cx_db *db, const opts_t *o)
{
    cx_usage_query_t q = {.org_id = need_id(o, "--org")};
    long long now = (long long)apr_time_sec(apr_time_now());
    long long to = now - now % 86400 + 86400;
    q.to = opt(o, "--to") ? opt(o, "--to") : cx_usage_format_time(pool, to);
    q.from = opt(o, "--from") ? opt(o, "--from") : cx_usage_format_time(pool, to - 30 * 86400LL);
    if (opt(o, "--bucket") && !cx_bucket_parse(opt(o, "--bucket"), &q.bucket))
        die("--bucket must be day or hour");
    if (opt(o, "--group-by") && !cx_group_parse(opt(o, "--group-by"), &q.group_by))
        die("--group-by must be model, key or provider");
    if (opt(o, "--key"))
        q.key_id = need_id(o, "--key");
    int repeat = opt(o, "--repeat") ? atoi(opt(o, "--repeat")) : 1;
    if (repeat < 1 || repeat > 1000)
        die("--repeat must be from 1 to 1000");
    apr_time_t *times = apr_palloc(pool, sizeof(apr_time_t) * (apr_size_t)repeat);
    apr_array_header_t *rows = NULL;
    const char *err;
    for (int i = 0; i < repeat; i++) {
        apr_time_t t0 = apr_time_now();
        int rv = flag(o, "--direct") ? cx_usage_query_direct(db, pool, &q, &rows, &err)
                                     : cx_usage_query(db, pool, &q, &rows, &err);
        times[i] = apr_time_now() - t0;
        if (rv)
            die("%s", err);
    }
    for (int i = 0; i < rows->nelts; i++) {
        const cx_usage_row_t *r = &APR_ARRAY_IDX(rows, i, cx_usage_row_t);
        printf("%s\t%s\t%s\t%llu\t%llu\t%llu\t%s\t%s\n", r->bucket_start ? r->bucket_start : "-",
               r->group ? r->group : "-", r->group_label ? r->group_label : "-",
               (unsigned long long)r->requests, (unsigned long long)r->prompt_tokens,
               (unsigned long long)r->completion_tokens, cx_nano_format(pool, r->spend_nano),
               cx_nano_format(pool, r->cost_nano));
    }
    qsort(times, (size_t)repeat, sizeof(apr_time_t), compare_times);
    fprintf(stderr, "query_ms median %.3f min %.3f max %.3f (%d runs, %s)\n",
            (double)times[repeat / 2] / 1000.0, (double)times[0] / 1000.0,
            (double)times[repeat - 1] / 1000.0, repeat, flag(o, "--direct") ? "usage_events" : "rollups");
    return 0;
}

static int cmd_usage_rebuild(cx_db *db, const opts_t *o)
{
    uint64_t org = opt(o, "--org") ? need_id(o, "--org") : 0;
    if (cx_usage_rollup_rebuild(db, org))
        die("%s", cx_db_error(db));
    printf("rebuilt\n");
    return 0;
}

/* A dashboard token for a user (what conduix-admin issues at sign-in), for scripts
 * and for trying /api/usage by hand. */
static int cmd_dashboard_token(cx_db *db, const opts_t *o)
{
    uint64_t user = need_id(o, "--user");
    long ttl = opt(o, "--ttl") ? atol(opt(o, "--ttl")) : 3600;
    if (ttl < 1 || ttl > 7 * 86400)
        die("--ttl must be from 1 to 604800 seconds");
    const unsigned char *secret;
    apr_size_t len;
    const char *err = cx_jwt_read_secret(pool, need(o, "--secret-file"), &secret, &len);
    if (err)
        die("%s", err);
    cx_rows_t rows;
    if (cx_db_query(db, pool, "SELECT org_id, role FROM users WHERE id = ? AND disabled_at IS NULL", "u",
                    &rows, user))
        die("%s", cx_db_error(db));
    if (rows.rows->nelts == 0)
        die("no active user %llu", (unsigned long long)user);
    const char **r = APR_ARRAY_IDX(rows.rows, 0, const char **);
    const char *token = cx_jwt_issue(pool, secret, len, user, strtoull(r[0], NULL, 10), r[1], ttl);
    if (!token)
        die("could not sign the token");
    printf("%s\n", token);
    return 0;
}

int main(int argc, char **argv)
{
    apr_app_initialize(&argc, (const char *const **)&argv, NULL);
    atexit(apr_terminate);
    apr_pool_create(&pool, NULL);
    if (mysql_library_init(0, NULL, NULL))
        die("mysql_library_init failed");

    int i = 1;
    const char *dsn = NULL;
    if (i + 1 < argc && !strcmp(argv[i], "--db")) {
        dsn = argv[i + 1];
        i += 2;
    }
    if (i >= argc || !strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
        fputs(usage_text, i >= argc ? stderr : stdout);
        return i >= argc ? 2 : 0;
    }
    const char *cmd = argv[i];
    opts_t o = {argc - i - 1, argv + i + 1};
    static const struct {
        const char *name;
        int (*fn)(cx_db *, const opts_t *);
    } commands[] = {
        {"migrate", cmd_migrate},           {"org-create", cmd_org_create},
        {"user-create", cmd_user_create},   {"key-create", cmd_key_create},
        {"key-revoke", cmd_key_revoke},     {"credits-grant", cmd_credits_grant},
        {"balance", cmd_balance},
        {"key-set", cmd_key_set},           {"org-set", cmd_org_set},
        {"byo-add", cmd_byo_add},
        {"byo-list", cmd_byo_list},         {"byo-remove", cmd_byo_remove},
        {"byo-reseal", cmd_byo_reseal},
        {"usage", cmd_usage},
        {"usage-rebuild-rollups", cmd_usage_rebuild},
        {"dashboard-token", cmd_dashboard_token},
    };
    for (size_t c = 0; c < sizeof commands / sizeof commands[0]; c++) {
        if (!strcmp(cmd, commands[c].name)) {
            cx_db *db = connect_db(dsn);
            int rv = commands[c].fn(db, &o);
            cx_db_close(db);
            mysql_library_end();
            return rv;
        }
    }
    die("unknown command '%s'\n%s", cmd, usage_text);
}
