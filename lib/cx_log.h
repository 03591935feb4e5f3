/* Conduix core logging. lib/ never includes httpd.h: it logs through a callback
 * the host installs (mod_conduix routes it to ap_log_error, the CLI to stderr).
 * Every message carries a stable id ("CX0123") so tests and operators can match it,
 * and the request id when there is one. */
#ifndef CX_LOG_H
#define CX_LOG_H

typedef enum { CX_LOG_ERR = 0, CX_LOG_WARN, CX_LOG_INFO, CX_LOG_DEBUG } cx_log_level_t;

typedef void cx_log_fn(void *baton, cx_log_level_t level, const char *request_id,
                       const char *msgid, const char *message);

/* Install the sink; NULL restores the default (stderr). Call before threads start. */
void cx_log_set_sink(cx_log_fn *fn, void *baton);

void cx_log(cx_log_level_t level, const char *request_id, const char *msgid,
            const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
