/* mod_conduix circuit breakers: one per provider, shared by every child through
 * the shared state (record "cx:breaker:<provider>"), driven by lib/cx_breaker.c.
 *
 * Admission runs before each upstream attempt: a provider over a hard budget cap
 * or with an open breaker is skipped without a network call; when the open
 * period is over, compare-and-set lets exactly one request through as the
 * half-open probe. The attempt's outcome then updates the record. When the shared
 * state is unavailable, everything is admitted (no breaker beats a wrong one). */
#include "conduix_resilience.h"
#include "cx_breaker.h"

#include <apr_strings.h>

APLOG_USE_MODULE(conduix);

#define CAS_ATTEMPTS 16

static const char *breaker_key(apr_pool_t *p, const cx_provider_t *prov)
{
    return apr_pstrcat(p, "cx:breaker:", prov->name, NULL);
}

static void breaker_conf(conduix_req_t *ctx, cx_breaker_conf_t *bc)
{
    conduix_server_conf_t *conf = ctx->conf;
    bc->threshold = (uint32_t)conduix_conf_int(conf->breaker_threshold, CONDUIX_DEFAULT_BREAKER_THRESHOLD);
    bc->open_for = apr_time_from_sec(conduix_conf_int(conf->breaker_open_seconds,
                                                      CONDUIX_DEFAULT_BREAKER_OPEN_SECONDS));
    /* A probe may legitimately take as long as any upstream call. */
    bc->probe_timeout = apr_time_from_sec(
        conduix_conf_int(conf->upstream_timeout, CONDUIX_DEFAULT_UPSTREAM_TIMEOUT) +
        conduix_conf_int(conf->connect_timeout, CONDUIX_DEFAULT_CONNECT_TIMEOUT));
}

/* Current record; an absent or unreadable one is a closed breaker (version 0). */
static cx_state_rc load(const cx_state *st, const char *key, cx_breaker_t *b, uint64_t *version)
{
    char buf[CX_BREAKER_ENCODED_MAX];
    apr_size_t len = 0;
    *version = 0;
    cx_state_rc rc = cx_state_record_get(st, key, buf, sizeof buf, &len, version);
    if (rc != CX_STATE_OK || len > sizeof buf || cx_breaker_decode(buf, len, b) != 0) {
        b->state = CX_BREAKER_CLOSED;
        b->failures = 0;
        b->until = 0;
    }
    return rc;
}

static cx_state_rc store(const cx_state *st, const char *key, uint64_t version, const cx_breaker_t *b)
{
    char buf[CX_BREAKER_ENCODED_MAX];
    int len = cx_breaker_encode(b, buf);
    return cx_state_record_cas(st, key, version, buf, (apr_size_t)len, 0, NULL);
}

int conduix_provider_admit(request_rec *r, conduix_req_t *ctx, const cx_provider_t *prov)
{
    if (conduix_budget_capped(r, ctx, prov)) {
        CX_RLOG(APLOG_INFO, r, ctx, "CX0701", "skipping %s: its monthly budget is used up and "
                "hard-capped", prov->name);
        return 0;
    }
    const cx_state *st = conduix_shared_state();
    if (!st)
        return 1;
    cx_breaker_conf_t bc;
    breaker_conf(ctx, &bc);
    const char *key = breaker_key(r->pool, prov);
    for (int i = 0; i < CAS_ATTEMPTS; i++) {
        cx_breaker_t cur, next;
        uint64_t version;
        cx_state_rc rc = load(st, key, &cur, &version);
        if (rc != CX_STATE_OK && rc != CX_STATE_NOTFOUND)
            return 1;
        apr_time_t now = apr_time_now();
        switch (cx_breaker_admit(&cur, &bc, now, &next)) {
        case CX_BREAKER_ALLOW:
            return 1;
        case CX_BREAKER_SKIP:
            CX_RLOG(APLOG_INFO, r, ctx, "CX0702", "skipping %s: circuit %s for another %" APR_TIME_T_FMT
                    " ms", prov->name, cx_breaker_state_name(cur.state),
                    apr_time_as_msec(cur.until - now));
            return 0;
        case CX_BREAKER_PROBE:
            rc = store(st, key, version, &next);
            if (rc == CX_STATE_OK) {
                CX_RLOG(APLOG_NOTICE, r, ctx, "CX0703", "circuit for %s half-open: this request is "
                        "the probe", prov->name);
                if (cur.state != next.state)
                    conduix_budget_queue_breaker(r, ctx, prov->name, cur.state, &next, now);
                return 1;
            }
            if (rc != CX_STATE_CONFLICT)
                return 1;
            break;   /* another child changed it first: look again */
        }
    }
    return 0;
}

void conduix_provider_report(request_rec *r, conduix_req_t *ctx, const cx_provider_t *prov,
                             int healthy)
{
    const cx_state *st = conduix_shared_state();
    if (!st)
        return;
    cx_breaker_conf_t bc;
    breaker_conf(ctx, &bc);
    const char *key = breaker_key(r->pool, prov);
    for (int i = 0; i < CAS_ATTEMPTS; i++) {
        cx_breaker_t cur, next;
        uint64_t version;
        cx_state_rc rc = load(st, key, &cur, &version);
        if (rc != CX_STATE_OK && rc != CX_STATE_NOTFOUND)
            return;
        apr_time_t now = apr_time_now();
        int changed = healthy ? cx_breaker_on_success(&cur, &next)
                              : cx_breaker_on_failure(&cur, &bc, now, &next);
        if (!changed)
            return;
        rc = store(st, key, version, &next);
        if (rc == CX_STATE_CONFLICT)
            continue;
        if (rc != CX_STATE_OK) {
            CX_RLOG(APLOG_WARNING, r, ctx, "CX0704", "breaker of %s not updated: %s", prov->name,
                    cx_state_rc_name(rc));
            return;
        }
        if (next.state != cur.state)
            conduix_budget_queue_breaker(r, ctx, prov->name, cur.state, &next, now);
        if (next.state == CX_BREAKER_OPEN && cur.state != CX_BREAKER_OPEN)
            CX_RLOG(APLOG_WARNING, r, ctx, "CX0705", "circuit for %s opened for %d s after %s",
                    prov->name, (int)apr_time_sec(bc.open_for),
                    cur.state == CX_BREAKER_HALF_OPEN
                        ? "a failed probe"
                        : apr_psprintf(r->pool, "%u consecutive failures", (unsigned)next.failures));
        else if (next.state == CX_BREAKER_CLOSED && cur.state != CX_BREAKER_CLOSED)
            CX_RLOG(APLOG_NOTICE, r, ctx, "CX0706", "circuit for %s closed: the provider answered",
                    prov->name);
        return;
    }
}
