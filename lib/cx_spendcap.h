/* Conduix spend limits: spend caps, and the wallet figure the credit check uses.
 *
 * Spend caps are hard ceilings on what an organization, or one of its keys,
 * may spend per UTC day and per UTC month (SPEC §6; per-key caps are our
 * addition). Spend is what the wallet paid (usage_events.charged_nano): test keys
 * and cache hits cost nothing, and test keys are never capped.
 *
 * A request is admitted while the spend of every capped period is below its cap
 * (a cap of 0 admits nothing); once a cap is reached, requests get 402
 * spend_cap_exceeded before any upstream call until the period ends or the cap
 * is raised. The spend of a request is only known once it has been answered, so
 * it is counted afterwards: requests admitted together may overshoot a cap by at
 * most what they cost. Exactly: when the last request is admitted the recorded
 * spend is below the cap, so the final spend is below
 *     cap + (cost of the requests admitted but not yet recorded at that moment),
 * that is at most cap + (number of requests in flight) x (largest of their costs).
 *
 * Live spend is kept in shared counters (cx_dbcounter.h) per org or key and period,
 * rebuilt from usage_events when absent. */
#ifndef CX_SPENDCAP_H
#define CX_SPENDCAP_H

#include <stdint.h>
#include <apr_pools.h>
#include <apr_time.h>
#include "cx_price.h"
#include "cx_store.h"

#define CX_SETTING_SPEND_CAP_DAILY "spend_cap_daily"
#define CX_SETTING_SPEND_CAP_MONTHLY "spend_cap_monthly"
#define CX_SPEND_CAP_NONE (-1)

typedef enum { CX_CAP_DAILY = 0, CX_CAP_MONTHLY } cx_cap_period_t;
typedef enum { CX_CAP_ORG = 0, CX_CAP_KEY } cx_cap_scope_t;

typedef struct {
    cx_cap_scope_t scope;
    cx_cap_period_t period;
    uint64_t id;                  /* org id or key id */
    cx_nano_t cap;                /* >= 0 */
    uint64_t org_id;              /* the key's org (key caps; 0 = unknown): rebuilds read
                                     the rollups, which are keyed by org first */
} cx_cap_t;

/* "2026-11-21" (daily) or "2026-11" (monthly): the UTC period holding t. */
const char *cx_cap_period_label(apr_pool_t *p, cx_cap_period_t period, apr_time_t t);

/* The period holding t as [from, to) in the database's UTC DATETIME text, and
 * its end as a time. */
void cx_cap_period_bounds(apr_pool_t *p, cx_cap_period_t period, apr_time_t t, const char **from,
                          const char **to, apr_time_t *end);

/* Shared counter key: "cx:cap:org:12:d:2026-11-21", "cx:cap:key:7:m:2026-11". */
const char *cx_cap_counter_key(apr_pool_t *p, const cx_cap_t *c, apr_time_t t);

/* How long a period's counter lives: past the end of its period, never shorter. */
apr_interval_time_t cx_cap_counter_ttl(cx_cap_period_t period);

/* 1 when spend leaves no room under cap (spend >= cap); CX_SPEND_CAP_NONE never. */
int cx_cap_reached(cx_nano_t spend, cx_nano_t cap);

/* The worst final spend the rule above allows: cap plus inflight requests of at
 * most cost each (saturating). For documentation and tests of the bound. */
cx_nano_t cx_cap_overshoot_bound(cx_nano_t cap, uint64_t inflight, cx_nano_t cost);

/* A cap typed by a person, in credits ("25", "0.5", "1000.000000001"), or
 * "none"/"null" (*nano = CX_SPEND_CAP_NONE). NULL when valid, else a message. */
const char *cx_cap_parse_credits(apr_pool_t *p, const char *text, cx_nano_t *nano);

/* A stored cap (nanocredits as decimal integer text); -1 (none) for NULL, and
 * for malformed text (*malformed set, may be NULL). */
cx_nano_t cx_cap_parse_stored(const char *text, int *malformed);

/* Words for messages: "daily", "monthly"; "organization", "API key". */
const char *cx_cap_period_name(cx_cap_period_t period);
const char *cx_cap_scope_name(cx_cap_scope_t scope);

/* What the org or the key paid in the period holding t, leaving out the row of
 * exclude_request_id (NULL: none) — a request adding its own charge after a rebuild
 * adds it itself, whether or not its row is written yet. Read from the hourly rollups
 * (written in the usage rows' own transactions, so equal to the rows' sum; periods
 * are whole hours), in one statement, so one snapshot: a month of a busy key is a
 * few hundred rollup rows, not hundreds of thousands of usage rows. Every request in
 * flight when a counter is absent (after a restart) runs this. */
int cx_cap_spend_from_usage(cx_db *db, const cx_cap_t *c, apr_time_t t,
                            const char *exclude_request_id, cx_nano_t *spend, const char **err);

/* ---- the wallet ----
 * The credit check must see every charge, whichever child or node made it, without a
 * database query per request. Each child caches an org's balance as read from the
 * database (orgs.balance_nano) together with the value of a shared counter of the
 * org's charges ("cx:wallet:<org>:<YYYY-MM-DD>", raised after each charged request)
 * read just before. The balance now is
 *     cached balance - (counter now - counter at read).
 * The usage row, and with it the debit of orgs.balance_nano, reaches the database a
 * little later (each child's usage writer commits in batches), so a charge can be in
 * the counter and not yet in the balance read. Those charges are counted in a second
 * shared counter per org, "cx:wallet-pending:<org>:<YYYY-MM-DD>" (the day the row was
 * made), raised when the row is queued and lowered once the writer is done with it;
 * the balance at read is what the database says less what is pending (today's and
 * yesterday's counters: a row queued before midnight may be written after it).
 * The three readings are taken counter, pending, database: a charge that moves
 * between them is subtracted twice (on the safe side, for the life of that cache
 * entry); none is missed. The counters are per UTC day so that they never outlive
 * their use: a cached figure from another day, or a counter that went backwards (a
 * restart lost it), means reading the database again. Credits added to the wallet
 * show once the cached figure expires (ConduixKeyCacheTTL). */
const char *cx_wallet_counter_key(apr_pool_t *p, uint64_t org_id, apr_time_t t);
apr_interval_time_t cx_wallet_counter_ttl(void);

/* Charges of this org queued on day t and not yet written to the database. */
const char *cx_wallet_pending_key(apr_pool_t *p, uint64_t org_id, apr_time_t t);
apr_interval_time_t cx_wallet_pending_ttl(void);

/* The balance the database shows less the charges still on their way to it
 * (negative pending, left by a lost counter, counts as none). */
cx_nano_t cx_wallet_balance_at_read(cx_nano_t balance_in_db, int64_t pending);

/* The balance net of what was charged since it was read: 0, or -1 when the counter
 * is behind its value at read (the cached figure cannot be used). */
int cx_wallet_balance_now(cx_nano_t balance_at_read, int64_t counter_at_read, int64_t counter_now,
                          cx_nano_t *out);

#endif
