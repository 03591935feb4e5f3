"""Rate limits, spend caps and credits through a real httpd under parallel load
(issue 5, part 2): every refusal with its code and no upstream call, a rate limit
that is exact across every child and thread, and caps and the wallet overshooting
by at most the requests in flight, as docs/governance.md states.

These tests run on an httpd of their own (one per MPM) whose access log records
which child (PID) answered each request, so the prefork runs can show that the
load really spread over several processes. Policies are set with conduixctl on a
fresh key and org before their first request (no per-child cache holds an older
value).

Costs are read from what the gateway reports (x-conduix-cost-credits, usage rows),
never assumed: the simulator's answer to a fixed prompt has fixed token counts."""

from __future__ import annotations

import contextlib
import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import requests

from harness import NANO, Gateway, Httpd, assert_error, wait_for

CHAT = "/v1/chat/completions"
BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello"}]}
RESET_RE = re.compile(r"^(0s|[0-9]+ms|([0-9]+h)?([0-9]+m)?[0-9]+(\.[0-9]+)?s)$")


# --------------------------------------------------------------------- the httpd

class Limits:
    def __init__(self, h: Httpd):
        self.httpd = h
        self.gw = Gateway(h)

    def pids(self, request_ids: set[str], timeout: float = 10) -> set[int]:
        """PIDs of the children that answered these requests (from the access log)."""
        def find():
            found = {}
            try:
                for line in (self.httpd.dir / "pid_log").read_text().splitlines():
                    pid, _, rid = line.partition(" ")
                    if rid.strip() in request_ids:
                        found[rid.strip()] = int(pid)
            except FileNotFoundError:
                pass
            return found if len(found) == len(request_ids) else None
        found = wait_for(find, timeout)
        assert found, "not every request is in the PID log"
        return set(found.values())


@contextlib.contextmanager
def _own_httpd(stack, httpd, name: str, extra_conf):
    """An httpd of the session's MPM with extra_conf (a function of the new httpd), its
    error log checked for bad lines when it stops."""
    h = Httpd(stack.root / ("httpd-%s-%s" % (name, httpd.mpm)), httpd.mpm, stack.mariadb.dsn, stack.sim)
    h.extra_conf = extra_conf(h)
    h.start()
    try:
        yield h
    finally:
        h.stop()
        bad = h.bad_log_lines(0)
        assert not bad, "%s httpd (%s) error log has bad lines:\n%s" % (name, h.mpm, "\n".join(bad))


@pytest.fixture(scope="module")
def lim(stack, httpd):
    with _own_httpd(stack, httpd, "limits", lambda h: "\n".join([
        "ConduixBreakerThreshold 1000000",
        'LogFormat "%P %{x-conduix-request-id}o" conduix_pid',
        'CustomLog "%s/pid_log" conduix_pid' % h.dir,
    ])) as h:
        yield Limits(h)


def post(session_or_none, gw: Gateway, key, body=None, headers=None) -> requests.Response:
    h = dict(key.auth)
    h.update(headers or {})
    fn = session_or_none.post if session_or_none is not None else requests.post
    return fn(gw.url(CHAT), headers=h, json=body or BODY, timeout=60)


def key_set(ctl, key, *args: str) -> None:
    ctl.run("key-set", "--id", str(key.id), *args)


def org_set(ctl, org: int, name: str, value: str) -> None:
    ctl.run("org-set", "--org", str(org), "--name", name, "--value", value)


def cost_of_one(lim, org_factory, key_factory) -> int:
    """What one BODY request costs (nanocredits), measured on a throwaway org."""
    key = key_factory(org_factory("1"))
    r = post(None, lim.gw, key)
    assert r.status_code == 200, r.text[:300]
    cost = int(Decimal(r.headers["x-conduix-cost-credits"]) * NANO)
    assert cost > 0
    return cost


def credits(nano: int) -> str:
    return format(Decimal(nano) / NANO, "f")


def parallel(n: int, fn):
    """Run fn(i) in n threads released together; results in order."""
    barrier = threading.Barrier(n)

    def run(i):
        barrier.wait(timeout=30)
        return fn(i)
    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


# --------------------------------------------------------------------- rate limits

def test_rate_limit_headers_and_429_before_upstream(lim, sim, db, ctl, org_factory, key_factory):
    key = key_factory(org_factory())
    key_set(ctl, key, "--rate-limit", "3")
    other = key_factory(key.org_id)
    key_set(ctl, other, "--rate-limit", "3")
    s = requests.Session()
    try:
        for remaining in (2, 1, 0):
            r = post(s, lim.gw, key)
            assert r.status_code == 200, r.text[:300]
            assert r.headers["x-ratelimit-limit-requests"] == "3"
            assert r.headers["x-ratelimit-remaining-requests"] == str(remaining)
            assert RESET_RE.match(r.headers["x-ratelimit-reset-requests"]), r.headers
            assert "retry-after" not in r.headers
        rows = len(db.wait_usage_rows(key.id, 3))
        before = db.balance_nano(key.org_id)
        sim.reset()
        for stream in (False, True):
            r = post(s, lim.gw, key, body=dict(BODY, stream=stream))
            err = assert_error(r, 429, "rate_limit_exceeded", "requests")
            assert "3 requests per minute" in err["message"]
            retry = int(r.headers["retry-after"])
            # the three admissions leave the window 61 s after their second at the latest
            assert 1 <= retry <= 61, r.headers
            assert r.headers["x-ratelimit-limit-requests"] == "3"
            assert r.headers["x-ratelimit-remaining-requests"] == "0"
            assert RESET_RE.match(r.headers["x-ratelimit-reset-requests"])
        # the refusals reached no provider, cost nothing and wrote no usage row
        assert sim.count() == 0
        assert db.balance_nano(key.org_id) == before
        assert len(db.usage_rows(key.id)) == rows
        # the limit is per key: another key of the org has its own window
        r = post(s, lim.gw, other)
        assert r.status_code == 200 and r.headers["x-ratelimit-remaining-requests"] == "2"
        # a key without a limit gets no rate-limit headers
        r = post(s, lim.gw, key_factory(key.org_id))
        assert r.status_code == 200 and "x-ratelimit-limit-requests" not in r.headers
    finally:
        s.close()


def test_rate_limit_exact_under_parallel_load(lim, sim, db, ctl, org_factory, key_factory):
    """Limit 20, 60 parallel clients on separate connections: exactly 20 succeed and
    the simulator sees exactly 20 requests, on every MPM; on prefork the requests
    are spread over several child processes sharing one window."""
    key = key_factory(org_factory())
    key_set(ctl, key, "--rate-limit", "20")
    # a slow upstream keeps the admitted requests in flight while the others arrive
    sim.fault(provider="openai", delay_ms=150, count=-1)
    results = parallel(60, lambda i: post(None, lim.gw, key))
    ok = [r for r in results if r.status_code == 200]
    refused = [r for r in results if r.status_code == 429]
    assert len(ok) == 20, sorted(r.status_code for r in results)
    assert len(refused) == 40, sorted(r.status_code for r in results)
    assert sim.count() == 20
    for r in refused:
        assert_error(r, 429, "rate_limit_exceeded")
        assert 1 <= int(r.headers["retry-after"]) <= 61
        assert r.headers["x-ratelimit-remaining-requests"] == "0"
    assert sorted(int(r.headers["x-ratelimit-remaining-requests"]) for r in ok) == list(range(20))
    assert len(db.wait_usage_rows(key.id, 20)) == 20
    if lim.httpd.mpm == "prefork":
        pids = lim.pids({r.headers["x-conduix-request-id"] for r in results})
        assert len(pids) >= 2, "the load was served by one child only: %r" % pids
    # the window is still full
    sim.clear_faults()
    assert_error(post(None, lim.gw, key), 429, "rate_limit_exceeded")
    assert sim.count() == 20


def test_checks_run_in_spec_order(lim, sim, ctl, org_factory, key_factory):
    """SPEC §4: allowlist -> rate limit -> region -> spend caps -> credits."""
    org = org_factory("0")
    org_set(ctl, org, "spend_cap_daily", "0")
    key = key_factory(org, allowed_models=["gpt-4o-mini", "mistral-large-2407"])
    key_set(ctl, key, "--region", "EU", "--rate-limit", "2")
    def chat(model):
        return post(None, lim.gw, key, body=dict(BODY, model=model))
    # the allowlist comes first: its refusals do not use the rate limit
    for _ in range(3):
        assert_error(chat("gpt-4o"), 403, "model_not_allowed")
    r = chat("gpt-4o-mini")          # counted, then refused by the region filter
    assert_error(r, 403, "provider_not_permitted")
    assert r.headers["x-ratelimit-remaining-requests"] == "1"
    r = chat("mistral-large-2407")   # counted; the cap comes before the empty wallet
    assert_error(r, 402, "spend_cap_exceeded")
    assert r.headers["x-ratelimit-remaining-requests"] == "0"
    assert_error(chat("mistral-large-2407"), 429, "rate_limit_exceeded")
    assert_error(chat("gpt-4o-mini"), 429, "rate_limit_exceeded")
    assert_error(chat("gpt-4o"), 403, "model_not_allowed")
    assert sim.count() == 0


# --------------------------------------------------------------------- spend caps

@pytest.mark.parametrize("how", ["key-daily", "key-monthly", "org-daily", "org-monthly"])
def test_spend_cap_402_before_upstream(lim, sim, db, ctl, org_factory, key_factory, how):
    key = key_factory(org_factory())
    scope, period = how.split("-")
    if scope == "key":
        key_set(ctl, key, "--spend-cap-" + period, "0")
    else:
        org_set(ctl, key.org_id, "spend_cap_" + period, "0")
    before = db.balance_nano(key.org_id)
    for stream in (False, True):
        r = post(None, lim.gw, key, body=dict(BODY, stream=stream))
        err = assert_error(r, 402, "spend_cap_exceeded", "insufficient_quota")
        assert period in err["message"]
        assert ("API key" if scope == "key" else "organization") in err["message"]
        assert re.search(r"resume at \d{4}-\d\d-\d\dT00:00:00Z", err["message"]), err["message"]
    assert sim.count() == 0
    assert db.balance_nano(key.org_id) == before
    assert db.usage_rows(key.id) == []


def test_cap_counts_what_was_spent_and_test_keys_are_never_capped(lim, sim, db, ctl, org_factory,
                                                                   key_factory):
    cost = cost_of_one(lim, org_factory, key_factory)
    sim.reset()
    org = org_factory()
    # room for exactly two requests: admitted while the spend is below the cap
    org_set(ctl, org, "spend_cap_daily", credits(cost + 1))
    live = key_factory(org)
    test_key = key_factory(org, test=True)
    key_set(ctl, test_key, "--spend-cap-daily", "0", "--spend-cap-monthly", "0")
    s = requests.Session()   # one connection: each answer is recorded before the next check
    try:
        assert post(s, lim.gw, live).status_code == 200
        assert post(s, lim.gw, live).status_code == 200
        assert_error(post(s, lim.gw, live), 402, "spend_cap_exceeded")
        # test keys: full path, no charge, never capped (neither the org's cap nor their own)
        for _ in range(3):
            r = post(s, lim.gw, test_key)
            assert r.status_code == 200, r.text[:300]
    finally:
        s.close()
    assert sim.count() == 5
    rows = db.wait_usage_rows(test_key.id, 3)
    assert [int(r["charged_nano"]) for r in rows] == [0, 0, 0]
    assert sum(int(r["charged_nano"]) for r in db.usage_rows(live.id)) == 2 * cost


def _past_spend(db, ctl, key, nano: int) -> None:
    """A charged usage row written earlier today, as if before the shared state
    was (re)created: only the database knows about it. Loaded directly, so its
    rollups are rebuilt as an operator's bulk load would (the gateway writes both in
    one transaction; counters are rebuilt from the rollups)."""
    db.execute("INSERT INTO usage_events (request_id, org_id, key_id, mode, endpoint, "
               "requested_model, served_model, provider, status, prompt_tokens, "
               "completion_tokens, cost_nano, charged_nano) VALUES "
               "(%s, %s, %s, 'live', 'chat.completions', 'gpt-4o-mini', 'gpt-4o-mini', 'openai', "
               "200, 5, 7, %s, %s)", ("cx-req-past-%d-%d" % (key.id, nano), key.org_id, key.id,
                                      nano, nano))
    ctl.run("usage-rebuild-rollups", "--org", str(key.org_id))


def test_cap_counter_rebuilt_from_usage(lim, sim, db, ctl, org_factory, key_factory):
    """Spend the shared state never saw counts: the counter of a period is rebuilt
    from usage_events when the first capped request needs it."""
    # org cap: another key's spend today counts for the org
    org = org_factory()
    spender, key = key_factory(org), key_factory(org)
    _past_spend(db, ctl, spender, 5000)
    org_set(ctl, org, "spend_cap_daily", credits(5000))
    err = assert_error(post(None, lim.gw, key), 402, "spend_cap_exceeded")
    assert "daily" in err["message"] and "organization" in err["message"]
    assert "0.000005 of 0.000005 credits" in err["message"], err["message"]
    # key cap: the key's own spend counts, a sibling key is not affected
    org = org_factory()
    key, sibling = key_factory(org), key_factory(org)
    _past_spend(db, ctl, key, 5000)
    key_set(ctl, key, "--spend-cap-monthly", credits(5000))
    key_set(ctl, sibling, "--spend-cap-monthly", credits(5001))
    err = assert_error(post(None, lim.gw, key), 402, "spend_cap_exceeded")
    assert "monthly" in err["message"] and "API key" in err["message"]
    assert post(None, lim.gw, sibling).status_code == 200
    assert sim.count() == 1
    assert "CX0532" in lim.httpd.log_since(0)


def _hammer_until_refused(gw, key, clients: int, code: str, max_each: int = 60):
    """`clients` keep-alive clients each send requests one after another until
    refused with `code`. Returns the number of successes. Each connection's
    requests are handled one at a time, usage recording included, so at most
    `clients` requests are ever admitted and not yet recorded."""
    def client(i):
        s = requests.Session()
        ok = 0
        try:
            for _ in range(max_each):
                r = post(s, gw, key)
                if r.status_code == 200:
                    ok += 1
                    continue
                assert_error(r, 402, code)
                return ok
            raise AssertionError("client %d was never refused" % i)
        finally:
            s.close()
    return sum(parallel(clients, client))


CLIENTS = 6


@pytest.mark.parametrize("where", ["org", "key"])
def test_cap_overshoot_bound_under_parallel_load(lim, sim, db, ctl, org_factory, key_factory, where):
    cost = cost_of_one(lim, org_factory, key_factory)
    sim.reset()
    cap = 10 * cost + cost // 2
    key = key_factory(org_factory())
    if where == "org":
        org_set(ctl, key.org_id, "spend_cap_daily", credits(cap))
    else:
        key_set(ctl, key, "--spend-cap-daily", credits(cap))
    sim.fault(provider="openai", delay_ms=30, count=-1)   # requests overlap
    ok = _hammer_until_refused(lim.gw, key, CLIENTS, "spend_cap_exceeded")
    spent = sum(int(r["charged_nano"]) for r in db.wait_usage_rows(key.id, ok))
    assert spent == ok * cost
    assert sim.count() == ok
    print("cap %d nano, cost %d: %d admitted, spent %d (overshoot %d)" % (cap, cost, ok, spent, spent - cap))
    # the cap was reached (not undershot) and overshot by less than the requests in flight
    assert spent >= cap, (spent, cap)
    assert spent < cap + CLIENTS * cost, "overshoot %d > %d in flight x %d" % (spent - cap, CLIENTS, cost)
    sim.clear_faults()
    assert_error(post(None, lim.gw, key), 402, "spend_cap_exceeded")
    assert sim.count() == ok


def test_credits_overshoot_bound_under_parallel_load(lim, sim, db, org_factory, key_factory):
    cost = cost_of_one(lim, org_factory, key_factory)
    sim.reset()
    wallet = 10 * cost + cost // 2
    org = org_factory(credits(wallet))
    key = key_factory(org)
    sim.fault(provider="openai", delay_ms=30, count=-1)
    ok = _hammer_until_refused(lim.gw, key, CLIENTS, "insufficient_credits")
    db.wait_usage_rows(key.id, ok)
    balance = db.balance_nano(org)
    assert balance == wallet - ok * cost
    assert sim.count() == ok
    print("wallet %d nano, cost %d: %d admitted, balance %d" % (wallet, cost, ok, balance))
    # spent the wallet, and went below zero by less than the requests in flight
    assert balance <= 0, balance
    assert balance > -CLIENTS * cost, "overdrawn by %d > %d in flight x %d" % (-balance, CLIENTS, cost)
    sim.clear_faults()
    assert_error(post(None, lim.gw, key), 402, "insufficient_credits")
    assert sim.count() == ok
    # test keys of the org keep working: they are never charged
    r = post(None, lim.gw, key_factory(org, test=True))
    assert r.status_code == 200, r.text[:300]


@pytest.fixture(scope="module")
def uncached(stack, httpd):
    """An httpd whose children cache no balance (ConduixKeyCacheTTL 0): every credit
    check reads orgs.balance_nano, which the usage writer debits a few milliseconds
    after each answer."""
    with _own_httpd(stack, httpd, "uncached", lambda h: "ConduixKeyCacheTTL 0") as h:
        yield Gateway(h)


def test_back_to_back_requests_spend_the_wallet_exactly(lim, uncached, sim, db, org_factory,
                                                        key_factory):
    """One client, one request at a time, against a balance read from the database on
    every check: each request's charge counts from its answer on, although its debit
    reaches the database later. A wallet of 2.5 requests pays for exactly 3 (the third
    admitted while 0.5 was left), and the fourth is refused without an upstream call."""
    cost = cost_of_one(lim, org_factory, key_factory)
    wallet = 2 * cost + cost // 2
    org = org_factory(credits(wallet))
    key = key_factory(org)
    sim.reset()
    with requests.Session() as s:
        codes = [post(s, uncached, key).status_code for _ in range(6)]
    assert codes == [200, 200, 200, 402, 402, 402], codes
    assert sim.count() == 3
    db.wait_usage_rows(key.id, 3)
    assert db.balance_nano(org) == wallet - 3 * cost


def test_credits_added_to_an_empty_wallet_apply(lim, sim, ctl, org_factory, key_factory):
    org = org_factory("0")
    key = key_factory(org)
    assert_error(post(None, lim.gw, key), 402, "insufficient_credits")
    assert sim.count() == 0
    ctl.credits_grant(org, "1")
    # children re-read the balance within ConduixKeyCacheTTL (5 s here)
    r = wait_for(lambda: (lambda r: r if r.status_code == 200 else None)(post(None, lim.gw, key)),
                 timeout=15, interval=0.5)
    assert r and r.status_code == 200, "the granted credits were not seen"


# --------------------------------------------------------------------- audit

def test_cap_and_rate_limit_changes_are_audited(ctl, db, org_factory, key_factory):
    key = key_factory(org_factory())
    out = ctl.run("key-set", "--id", str(key.id), "--rate-limit", "60", "--spend-cap-daily", "2.5",
                  "--spend-cap-monthly", "40").stdout
    assert "spend_cap_daily: null -> 2.500000000" in out
    row = db.query("SELECT rate_limit_rpm, spend_cap_daily_nano, spend_cap_monthly_nano "
                   "FROM api_keys WHERE id=%s", (key.id,))[0]
    assert (row["rate_limit_rpm"], row["spend_cap_daily_nano"], row["spend_cap_monthly_nano"]) == \
        (60, 2_500_000_000, 40_000_000_000)
    ctl.run("key-set", "--id", str(key.id), "--spend-cap-daily", "none")
    ctl.run("org-set", "--org", str(key.org_id), "--name", "spend_cap_monthly", "--value", "1000")
    ctl.run("org-set", "--org", str(key.org_id), "--name", "spend_cap_monthly", "--value", "1000.0")
    ctl.run("org-set", "--org", str(key.org_id), "--name", "spend_cap_monthly", "--reset")
    rows = db.query("SELECT action, target, actor_type, ip, request_id, detail FROM audit_log "
                    "WHERE org_id=%s AND action IN ('key.update','org.setting.update') ORDER BY id",
                    (key.org_id,))
    details = [json.loads(r["detail"]) for r in rows]
    assert details == [
        {"field": "rate_limit", "before": None, "after": 60},
        {"field": "spend_cap_daily", "before": None, "after": "2.500000000"},
        {"field": "spend_cap_monthly", "before": None, "after": "40.000000000"},
        {"field": "spend_cap_daily", "before": "2.500000000", "after": None},
        {"setting": "spend_cap_monthly", "before": None, "after": "1000.000000000"},
        # (the same amount typed again wrote nothing)
        {"setting": "spend_cap_monthly", "before": "1000.000000000", "after": None},
    ]
    assert all(r["actor_type"] == "operator" and r["ip"] and r["request_id"] for r in rows)
    assert db.scalar("SELECT COUNT(*) FROM settings WHERE org_id=%s", (key.org_id,)) == 0


@pytest.mark.parametrize("args,complaint", [
    (["--spend-cap-daily", "-1"], "spend_cap_daily"),
    (["--spend-cap-monthly", "12 credits"], "spend_cap_monthly"),
    (["--spend-cap-daily", "1.0000000001"], "spend_cap_daily"),
    (["--rate-limit", "0"], "rate_limit"),
])
def test_key_set_refuses_bad_caps(ctl, db, org_factory, key_factory, args, complaint):
    key = key_factory(org_factory())
    cp = ctl.run("key-set", "--id", str(key.id), *args, check=False)
    assert cp.returncode == 1 and complaint in cp.stderr, cp.stderr
    row = db.query("SELECT rate_limit_rpm, spend_cap_daily_nano, spend_cap_monthly_nano "
                   "FROM api_keys WHERE id=%s", (key.id,))[0]
    assert row == {"rate_limit_rpm": None, "spend_cap_daily_nano": None, "spend_cap_monthly_nano": None}
    cp = ctl.run("org-set", "--org", str(key.org_id), "--name", "spend_cap_daily", "--value", "-5",
                 check=False)
    assert cp.returncode == 1 and "spend_cap_daily" in cp.stderr
    assert db.scalar("SELECT COUNT(*) FROM audit_log WHERE org_id=%s AND action <> 'key.create'",
                     (key.org_id,)) == 0
