/* Governance steps of a chat request (see conduix_governance.h for the order).
 * The decisions are made by lib/; this file reads the request, the key record and
 * the org settings, sends the rejections and sets the response headers. */
#include "conduix_governance.h"
#include "conduix_pipeline.h"
#include "conduix_resilience.h"
#include "cx_pii.h"
#include "cx_ratelimit.h"
#include "cx_swap.h"

#include <apr_strings.h>
#include <string.h>
#include <strings.h>

APLOG_USE_MODULE(conduix);

int conduix_gov_begin(request_rec *r, conduix_req_t *ctx, const char *requested, conduix_gov_t *gov)
{
    (void)ctx;
    memset(gov, 0, sizeof *gov);
    gov->requested = requested;
    gov->pii_header = cx_parse_bool_header(apr_table_get(r->headers_in, "x-conduix-pii-redact"));
    if (gov->pii_header == -2)
        return conduix_send_error(r, CX_E_INVALID_REQUEST,
                                  "The x-conduix-pii-redact header must be true or false.", NULL);
    const char *routing = apr_table_get(r->headers_in, "X-Gateway-Routing");
    if (routing) {
        if (!strcasecmp(routing, "explicit"))
            gov->explicit_routing = 1;
        else if (strcasecmp(routing, "auto"))
            return conduix_send_error(r, CX_E_INVALID_REQUEST,
                                      "The X-Gateway-Routing header must be 'explicit' (send to "
                                      "exactly the requested model) or 'auto'.", NULL);
    }
    return OK;
}

int conduix_gov_allowlist(request_rec *r, conduix_req_t *ctx, const cx_catalog_t *cat,
                          const cx_resolved_t *res, conduix_gov_t *gov)
{
    gov->cat = cat;
    gov->res = res;
    const char *err;
    if (conduix_allowlist(ctx->conf->runtime, r, cat, ctx->key.allowed_models, &gov->allowlist, &err)) {
        /* A stored allowlist we cannot read must not open every model: refuse. */
        CX_RLOG(APLOG_ERR, r, ctx, "CX0501", "key %" APR_UINT64_T_FMT " has a malformed allowlist: %s",
                (apr_uint64_t)ctx->key.key_id, err);
        return conduix_send_error(r, CX_E_MODEL_NOT_ALLOWED,
                                  "This API key's model allowlist is malformed, so no model is "
                                  "allowed; ask an administrator of your organization to fix it.",
                                  "model");
    }
    if (!cx_allowlist_admits_model(gov->allowlist, res->model)) {
        conduix_audit_refusal(r, ctx, "model_not_allowed", gov->requested);
        return conduix_send_error(r, CX_E_MODEL_NOT_ALLOWED,
                                  apr_psprintf(r->pool, "This API key is not allowed to use the "
                                               "model '%s'. Its allowlist admits %d "
                                               "entr%s; ask an administrator to extend it.",
                                               gov->requested, cx_allowlist_size(gov->allowlist),
                                               cx_allowlist_size(gov->allowlist) == 1 ? "y" : "ies"),
                                  "model");
    }
    return OK;
}

int conduix_gov_rate_limit(request_rec *r, conduix_req_t *ctx, conduix_gov_t *gov)
{
    (void)gov;
    if (ctx->key.rate_limit_rpm < 0)
        return OK;   /* no limit */
    const cx_state *st = conduix_shared_state();
    if (!st) {
        /* Counting per child would multiply the limit by the number of children. */
        CX_RLOG(APLOG_WARNING, r, ctx, "CX0520", "rate limit of key %" APR_UINT64_T_FMT " not "
                "enforced: no shared state", (apr_uint64_t)ctx->key.key_id);
        return OK;
    }
    uint64_t limit = (uint64_t)ctx->key.rate_limit_rpm;
    /* apr_off_t_toa, not apr_psprintf: this runs on every request. */
    const char *key = apr_pstrcat(r->pool, "cx:rl:", apr_off_t_toa(r->pool, (apr_off_t)ctx->key.key_id), NULL);
    cx_rl_decision_t d;
    cx_state_rc rc = cx_rl_admit(st, key, limit, apr_time_now(), &d);
    if (rc != CX_STATE_OK) {
        /* Like the breakers: a failing shared state must not stop all traffic. */
        CX_RLOG(APLOG_ERR, r, ctx, "CX0521", "rate limit of key %" APR_UINT64_T_FMT " not "
                "enforced: shared state %s", (apr_uint64_t)ctx->key.key_id, cx_state_rc_name(rc));
        return OK;
    }
    /* err_headers_out: on the answer whatever it is, a 4xx from later checks included. */
    apr_table_setn(r->err_headers_out, "x-ratelimit-limit-requests",
                   apr_off_t_toa(r->pool, (apr_off_t)d.limit));
    apr_table_setn(r->err_headers_out, "x-ratelimit-remaining-requests",
                   apr_off_t_toa(r->pool, (apr_off_t)d.remaining));
    apr_table_setn(r->err_headers_out, "x-ratelimit-reset-requests", cx_rl_duration(r->pool, d.reset));
    if (d.admitted)
        return OK;
    long retry = cx_rl_seconds_ceil(d.retry_after);
    apr_table_setn(r->err_headers_out, "Retry-After", apr_psprintf(r->pool, "%ld", retry));
    return conduix_send_error(r, CX_E_RATE_LIMIT,
                              apr_psprintf(r->pool, "Rate limit reached for this API key: %"
                                           APR_UINT64_T_FMT " requests per minute. Retry in %ld "
                                           "second%s.", (apr_uint64_t)d.limit, retry,
                                           retry == 1 ? "" : "s"), NULL);
}

int conduix_gov_candidates(request_rec *r, conduix_req_t *ctx, conduix_gov_t *gov,
                           apr_array_header_t **candidates)
{
    apr_array_header_t *all = cx_catalog_candidates(r->pool, gov->res);
    gov->first_choice = all->nelts ? APR_ARRAY_IDX(all, 0, const cx_deployment_t *) : NULL;
    /* Fallbacks are filtered like the primary: never a model the key may not call. */
    apr_array_header_t *allowed = cx_allowlist_filter(r->pool, gov->allowlist, all);
    const char *region = ctx->key.region;
    *candidates = cx_region_filter(r->pool, allowed, region);
    if (region && allowed->nelts > 0 && (*candidates)->nelts == 0)
        return conduix_send_error(r, CX_E_PROVIDER_NOT_PERMITTED,
                                  apr_psprintf(r->pool, "No provider in region %s can serve '%s' "
                                               "for this key, whose data residency is pinned to "
                                               "%s; the request was not sent anywhere.",
                                               region, gov->requested, region),
                                  "model");
    if (region && (*candidates)->nelts < allowed->nelts)
        CX_RLOG(APLOG_DEBUG, r, ctx, "CX0502", "region %s: %d of %d candidates kept", region,
                (*candidates)->nelts, allowed->nelts);
    return OK;
}

static cx_org_settings_t *org_settings(request_rec *r, conduix_req_t *ctx, conduix_gov_t *gov)
{
    if (!gov->org_loaded) {
        conduix_org_settings(ctx->conf->runtime, r, ctx->key.org_id, &gov->org);
        gov->org_loaded = 1;
    }
    return &gov->org;
}

static const char *utc_text(apr_pool_t *p, apr_time_t t)
{
    apr_time_exp_t tm;
    apr_time_exp_gmt(&tm, t);
    return apr_psprintf(p, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                        tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void add_cap(apr_array_header_t *caps, cx_cap_scope_t scope, cx_cap_period_t period,
                    uint64_t id, int64_t cap, uint64_t org_id)
{
    if (cap < 0)
        return;
    cx_cap_t c = {scope, period, id, cap, org_id};
    APR_ARRAY_PUSH(caps, cx_cap_t) = c;
}

int conduix_gov_spend_caps(request_rec *r, conduix_req_t *ctx, conduix_gov_t *gov)
{
    if (!conduix_gov_counts_toward_caps(ctx))
        return OK;
    cx_org_settings_t *org = org_settings(r, ctx, gov);
    apr_array_header_t *caps = apr_array_make(r->pool, 4, sizeof(cx_cap_t));
    add_cap(caps, CX_CAP_KEY, CX_CAP_DAILY, ctx->key.key_id,
            ctx->key.spend_cap_daily_nano, ctx->key.org_id);
    add_cap(caps, CX_CAP_KEY, CX_CAP_MONTHLY, ctx->key.key_id,
            ctx->key.spend_cap_monthly_nano, ctx->key.org_id);
    add_cap(caps, CX_CAP_ORG, CX_CAP_DAILY, ctx->key.org_id,
            org->spend_cap_daily_nano, ctx->key.org_id);
    add_cap(caps, CX_CAP_ORG, CX_CAP_MONTHLY, ctx->key.org_id,
            org->spend_cap_monthly_nano, ctx->key.org_id);
    if (caps->nelts == 0)
        return OK;
    apr_time_t now = apr_time_now();
    for (int i = 0; i < caps->nelts; i++) {
        const cx_cap_t *c = &APR_ARRAY_IDX(caps, i, cx_cap_t);
        cx_nano_t spend;
        if (conduix_spend_current(r, ctx, c, now, &spend) != 0)
            continue;   /* logged; an unknown figure does not stop traffic */
        if (!cx_cap_reached(spend, c->cap))
            continue;
        apr_time_t end;
        const char *from, *to;
        cx_cap_period_bounds(r->pool, c->period, now, &from, &to, &end);
        return conduix_send_error(r, CX_E_SPEND_CAP,
            apr_psprintf(r->pool, "The %s spend cap of this %s is reached: %s of %s credits "
                         "spent %s (UTC). Requests resume at %s, or when an administrator "
                         "raises the cap.", cx_cap_period_name(c->period), cx_cap_scope_name(c->scope),
                         cx_nano_format_short(r->pool, spend), cx_nano_format_short(r->pool, c->cap),
                         c->period == CX_CAP_DAILY ? "today" : "this month", utc_text(r->pool, end)),
            NULL);
    }
    conduix_spend_track(r, caps);
    return OK;
}

int conduix_gov_credits(request_rec *r, conduix_req_t *ctx)
{
    if (ctx->key.mode != CX_KEY_LIVE)
        return OK;   /* test keys are never charged */
    if (conduix_wallet_balance(r, ctx) > 0)
        return OK;
    return conduix_send_error(r, CX_E_INSUFFICIENT_CREDITS,
                              "Your credit balance is exhausted. Top up the wallet to continue.", NULL);
}

void conduix_gov_redact(request_rec *r, conduix_req_t *ctx, json_t *req, conduix_gov_t *gov)
{
    int org_default = 0;
    /* The org setting matters only when neither the header nor the key decides. */
    if (gov->pii_header < 0 && (!ctx->key.pii_mode || !strcmp(ctx->key.pii_mode, "inherit")))
        org_default = org_settings(r, ctx, gov)->pii_default;
    if (!cx_pii_decide(gov->pii_header, ctx->key.pii_mode, org_default))
        return;
    cx_pii_stats_t st = {0};
    gov->pii_redacted = cx_pii_redact_chat(r->pool, req, &st);
    gov->pii_ran = 1;
    apr_table_setn(r->headers_out, "x-conduix-pii-redacted",
                   apr_psprintf(r->pool, "%u", gov->pii_redacted));
    /* Counts only: the redacted values themselves are never logged. */
    CX_RLOG(APLOG_DEBUG, r, ctx, "CX0503", "PII redaction: %u (email %u, ssn %u, phone %u, card %u)",
            st.total, st.found[CX_PII_EMAIL], st.found[CX_PII_SSN], st.found[CX_PII_PHONE],
            st.found[CX_PII_CARD]);
}

/* Can the attempt loop send to d right now? The loop skips a deployment without a
 * base URL or credential (conduix_upstream_endpoint decides both, for every wire
 * format and for BYO): a swap must never pick a model the loop would skip. */
static int routable(void *baton, const cx_deployment_t *d)
{
    conduix_runtime_t *rt = baton;
    const char *base_url, *credential;
    conduix_upstream_endpoint(rt, d, &base_url, &credential);
    return base_url && credential;
}

void conduix_gov_swap(request_rec *r, conduix_req_t *ctx, const json_t *req, conduix_gov_t *gov,
                      apr_array_header_t **candidates)
{
    int org_enabled = 0;
    if (!gov->explicit_routing && (!ctx->key.swap_mode || !strcmp(ctx->key.swap_mode, "inherit")))
        org_enabled = org_settings(r, ctx, gov)->swaps_enabled;
    if (!cx_swap_decide(gov->explicit_routing, ctx->key.swap_mode, org_enabled))
        return;
    cx_org_settings_t *org = org_settings(r, ctx, gov);
    cx_swap_input_t in = {
        .cat = gov->cat,
        .requested = gov->res->model,
        .candidates = *candidates,
        .allowlist = gov->allowlist,
        .region = ctx->key.region,
        .has_tools = cx_swap_request_has_tools(req),
        .has_vision = cx_swap_request_has_vision(req),
        .never_from = org->swap_never_from,
        .never_to = org->swap_never_to,
        .routable = routable,
        .baton = ctx->conf->runtime,
    };
    cx_swap_result_t out;
    cx_swap_choose(r->pool, &in, &out);
    if (out.outcome != CX_SWAP_SWAPPED) {
        CX_RLOG(APLOG_DEBUG, r, ctx, "CX0504", "no swap for %s: %s", gov->requested,
                cx_swap_outcome_name(out.outcome));
        return;
    }
    gov->swapped_to = out.target;
    gov->swap_first = out.candidates->nelts ? APR_ARRAY_IDX(out.candidates, 0, const cx_deployment_t *)
                                            : NULL;
    *candidates = out.candidates;
    apr_table_setn(r->headers_out, "x-gateway-routed-from", gov->requested);
    CX_RLOG(APLOG_INFO, r, ctx, "CX0505", "cheaper-model swap: %s -> %s", gov->requested,
            out.target->id);
}

int conduix_gov_is_fallback(const conduix_gov_t *gov, const cx_deployment_t *served)
{
    if (!served)
        return 0;
    return served != gov->first_choice && !(gov->swapped_to && served == gov->swap_first);
}

int conduix_gov_counts_toward_caps(const conduix_req_t *ctx)
{
    return ctx->key.mode == CX_KEY_LIVE;
}
