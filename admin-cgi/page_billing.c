/* conduix-admin: billing — balance, plan, the credit ledger (paginated) and, for
 * platform operators, credit grants to an organization (cx_store_credit writes the
 * balance and the ledger row in one transaction; the grant is audited in the receiving
 * organization's log). */
#include "admin.h"
#include "cx_json.h"

#include <apr_strings.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_SIZE 50

/* The plans of the public pricing page (000-models-and-pricing). Included credits per
 * plan are a commercial setting not stored in the database yet, so none are shown. */
static const struct {
    const char *id, *name, *summary;
} plans[] = {
    {"explorer", "Explorer", "Prepaid credits, top up any time or automatically at a threshold."},
    {"builder", "Builder", "Subscription plan for teams shipping to production."},
    {"scale", "Scale", "Subscription plan with volume discounts and custom unit pricing."},
    {"enterprise", "Enterprise", "NET-30 invoice, purchase orders, custom MSAs."},
};

int cxa_page_billing(cxa_t *c)
{
    cx_admin_org_t org;
    int rv = cx_admin_org(c->db, c->pool, c->user.org_id, &org);
    if (rv < 0)
        return -1;
    if (rv == 0)
        return cxa_fail(c, 404, "Your organization no longer exists.");
    const char *page_s = cxa_param(c, "page");
    long page = page_s ? strtol(page_s, NULL, 10) : 1;
    if (page < 1 || page > 100000)
        page = 1;
    cx_table_t ledger;
    uint64_t total = 0;
    if (cx_admin_ledger(c->db, c->pool, c->user.org_id, PAGE_SIZE, (page - 1) * PAGE_SIZE, &ledger, &total))
        return -1;
    cxa_set_table(c, "Ledger", &ledger);
    for (int i = 0; i < ledger.rows->nelts; i++) {
        const char *amount = cx_table_get(&ledger, i, "amount_nano");
        cxa_set(c, apr_psprintf(c->pool, "Ledger.%d.amount", i), cxa_credits(c, amount));
        cxa_set_int(c, apr_psprintf(c->pool, "Ledger.%d.negative", i), amount && amount[0] == '-');
        cxa_set(c, apr_psprintf(c->pool, "Ledger.%d.balance", i),
                cxa_credits(c, cx_table_get(&ledger, i, "balance_after_nano")));
    }
    long pages = (long)((total + PAGE_SIZE - 1) / PAGE_SIZE);
    cxa_set_int(c, "Pager.page", page);
    cxa_set_int(c, "Pager.pages", pages ? pages : 1);
    cxa_set_int(c, "Pager.total", (long long)total);
    if (page > 1)
        cxa_set_int(c, "Pager.prev", page - 1);
    if (page < pages)
        cxa_set_int(c, "Pager.next", page + 1);

    cxa_set(c, "Billing.Balance", cx_nano_format_short(c->pool, org.balance_nano));
    cxa_set_int(c, "Billing.Low", org.balance_nano < 5 * CX_NANO_PER_CREDIT);
    cxa_set(c, "Billing.Discount", org.multiplier_ppm != CX_PPM_LIST
            ? apr_psprintf(c->pool, "%.2f%%", (1.0 - org.multiplier_ppm / 1e6) * 100.0) : NULL);
    for (size_t i = 0; i < sizeof plans / sizeof plans[0]; i++) {
        const char *pfx = apr_psprintf(c->pool, "Plans.%d.", (int)i);
        cxa_set(c, apr_pstrcat(c->pool, pfx, "id", NULL), plans[i].id);
        cxa_set(c, apr_pstrcat(c->pool, pfx, "name", NULL), plans[i].name);
        cxa_set(c, apr_pstrcat(c->pool, pfx, "summary", NULL), plans[i].summary);
        cxa_set_int(c, apr_pstrcat(c->pool, pfx, "current", NULL), !strcmp(plans[i].id, org.plan));
    }
    const char *done = cxa_param(c, "done");
    if (done && !strcmp(done, "granted"))
        cxa_flash(c, "ok", "Credits granted.");
    return cxa_render(c, 200, "billing.cs", "Billing");
}

int cxa_page_billing_grant(cxa_t *c)
{
    uint64_t org_id = cxa_param_id(c, "org_id");
    if (!org_id)
        org_id = c->user.org_id;
    cx_nano_t amount;
    const char *note = cxa_param(c, "note");
    const char *amount_s = cxa_param(c, "amount");
    if (!amount_s || cx_nano_parse(amount_s, &amount) || amount <= 0 ||
        amount > 1000000 * CX_NANO_PER_CREDIT) {
        cxa_flash(c, "error", "Grant: enter an amount of credits above zero (at most 1,000,000).");
        return cxa_page_billing(c);
    }
    if (note && strlen(note) > 255) {
        cxa_flash(c, "error", "Grant: the note is limited to 255 characters.");
        return cxa_page_billing(c);
    }
    cx_admin_org_t target;
    int rv = cx_admin_org(c->db, c->pool, org_id, &target);
    if (rv < 0)
        return -1;
    if (rv == 0) {
        cxa_flash(c, "error", "Grant: there is no organization with that id.");
        return cxa_page_billing(c);
    }
    cx_nano_t after = 0;
    const char *err;
    const char *actor = apr_psprintf(c->pool, "operator:%s", c->user.email);
    if (cx_store_credit(c->db, org_id, "grant", amount, note ? note : "operator grant", actor,
                        &after, &err))
        return -1;
    cx_store_audit(c->db, org_id, "operator", c->user.id, c->user.email, c->ip, c->request_id,
                   "credits.grant", apr_psprintf(c->pool, "org:%" APR_UINT64_T_FMT, (apr_uint64_t)org_id),
                   apr_psprintf(c->pool, "{\"amount\":\"%s\",\"balance_after\":\"%s\",\"note\":%s}",
                                cx_nano_format_short(c->pool, amount),
                                cx_nano_format_short(c->pool, after),
                                note ? cx_json_quote(c->pool, note) : "null"));
    return cxa_redirect(c, "/billing?done=granted");
}
