#include "cx_log.h"

#include <stdarg.h>
#include <stdio.h>

static cx_log_fn *log_sink;
static void *log_baton;

void cx_log_set_sink(cx_log_fn *fn, void *baton)
{
    log_sink = fn;
    log_baton = baton;
}

void cx_log(cx_log_level_t level, const char *request_id, const char *msgid,
            const char *fmt, ...)
{
    /* Messages are short; a fixed buffer avoids allocating on error paths. */
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    if (log_sink) {
        log_sink(log_baton, level, request_id, msgid, message);
        return;
    }
    static const char *const names[] = {"error", "warn", "info", "debug"};
    fprintf(stderr, "[%s] %s: %s%s%s\n", names[level], msgid,
            request_id ? request_id : "", request_id ? " " : "", message);
}
