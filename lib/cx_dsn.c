#include "cx_dsn.h"

#include <apr_file_io.h>
#include <apr_strings.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const char *read_secret_file(apr_pool_t *p, const char *path, const char **out)
{
    apr_file_t *f;
    char buf[512];
    apr_size_t n = sizeof buf - 1;
    if (apr_file_open(&f, path, APR_FOPEN_READ, APR_FPROT_OS_DEFAULT, p) != APR_SUCCESS)
        return apr_psprintf(p, "password_file %s cannot be read", path);
    apr_status_t rv = apr_file_read(f, buf, &n);
    apr_file_close(f);
    if (rv != APR_SUCCESS && rv != APR_EOF)
        return apr_psprintf(p, "password_file %s cannot be read", path);
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    *out = apr_pstrdup(p, buf);
    return NULL;
}

static const char *parse_uint(apr_pool_t *p, const char *key, const char *v, unsigned int max,
                              unsigned int *out)
{
    char *end;
    if (!*v || !isdigit((unsigned char)*v))
        return apr_psprintf(p, "%s must be a number", key);
    unsigned long n = strtoul(v, &end, 10);
    if (*end || n > max)
        return apr_psprintf(p, "%s must be a number up to %u", key, max);
    *out = (unsigned int)n;
    return NULL;
}

const char *cx_dsn_parse(apr_pool_t *p, const char *text, cx_dsn_t *out)
{
    memset(out, 0, sizeof *out);
    out->connect_timeout = 5;
    if (!text || !*text)
        return "the DSN is empty";
    const char *s = text;
    while (*s) {
        while (isspace((unsigned char)*s))
            s++;
        if (!*s)
            break;
        const char *eq = strchr(s, '=');
        if (!eq)
            return apr_psprintf(p, "expected key=value near '%.20s'", s);
        char *key = apr_pstrmemdup(p, s, eq - s);
        const char *v = eq + 1;
        char *value;
        if (*v == '\'') {
            const char *close = strchr(v + 1, '\'');
            if (!close)
                return apr_psprintf(p, "unterminated quote in value of %s", key);
            value = apr_pstrmemdup(p, v + 1, close - v - 1);
            s = close + 1;
        }
        else {
            const char *e = v;
            while (*e && !isspace((unsigned char)*e))
                e++;
            value = apr_pstrmemdup(p, v, e - v);
            s = e;
        }
        const char *err = NULL;
        if (!strcmp(key, "host"))
            out->host = value;
        else if (!strcmp(key, "port"))
            err = parse_uint(p, key, value, 65535, &out->port);
        else if (!strcmp(key, "user"))
            out->user = value;
        else if (!strcmp(key, "password") || !strcmp(key, "pass"))
            out->password = value;
        else if (!strcmp(key, "password_file"))
            out->password_file = value;
        else if (!strcmp(key, "dbname") || !strcmp(key, "database"))
            out->dbname = value;
        else if (!strcmp(key, "unix_socket") || !strcmp(key, "sock"))
            out->unix_socket = value;
        else if (!strcmp(key, "connect_timeout"))
            err = parse_uint(p, key, value, 600, &out->connect_timeout);
        else
            err = apr_psprintf(p, "unknown key '%s' (expected host, port, user, password, "
                                  "password_file, dbname, unix_socket, connect_timeout)", key);
        if (err)
            return err;
    }
    if (!out->dbname)
        return "dbname is required";
    if (!out->host && !out->unix_socket)
        out->host = "localhost";
    if (out->password_file) {
        const char *err = read_secret_file(p, out->password_file, &out->password);
        if (err)
            return err;
    }
    return NULL;
}

const char *cx_dsn_describe(apr_pool_t *p, const cx_dsn_t *dsn)
{
    if (dsn->unix_socket)
        return apr_psprintf(p, "%s@unix:%s/%s", dsn->user ? dsn->user : "", dsn->unix_socket,
                            dsn->dbname);
    return apr_psprintf(p, "%s@%s:%u/%s", dsn->user ? dsn->user : "", dsn->host,
                        dsn->port ? dsn->port : 3306, dsn->dbname);
}
