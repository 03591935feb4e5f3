/* Conduix database DSN: space-separated key=value pairs, values optionally in
 * single quotes, in the style of mod_dbd:
 *   "unix_socket=/run/mysqld/mysqld.sock user=conduix dbname=conduix"
 *   "host=db.internal port=3306 user=conduix password_file=/etc/conduix/db.pw dbname=conduix"
 * Keys: host, port, user, password, password_file, dbname, unix_socket, connect_timeout. */
#ifndef CX_DSN_H
#define CX_DSN_H

#include <apr_pools.h>

typedef struct {
    const char *host;
    unsigned int port;
    const char *user;
    const char *password;       /* resolved from password_file when given */
    const char *password_file;
    const char *dbname;
    const char *unix_socket;
    unsigned int connect_timeout;  /* seconds */
} cx_dsn_t;

/* Parse (and read password_file). Returns NULL on success, else an error message
 * naming the offending key. Never echoes a password in the message. */
const char *cx_dsn_parse(apr_pool_t *p, const char *text, cx_dsn_t *out);

/* A loggable description: everything but the password. */
const char *cx_dsn_describe(apr_pool_t *p, const cx_dsn_t *dsn);

#endif
