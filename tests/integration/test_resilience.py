"""Resilience through a real httpd (SPEC §5): fallback chains, circuit breakers
shared by every child, provider budgets with webhook alerts and hard caps, the
response cache, and shared state that survives `apachectl graceful`.

These tests run against an httpd of their own (one per MPM) with a short breaker
period, a 1 s budget refresh, two alert webhooks pointing at a receiver in this
process and an access log that records which child (PID) served each request.
What reached a provider is counted from the simulator's request log.

The chain used throughout is moonshot-v1-8k's (kimi -> glm -> qwen -> openai, all
OpenAI-format providers), read from the catalog, not assumed.
"""

from __future__ import annotations

import decimal
import http.server
import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import requests

from harness import (NANO, Gateway, Httpd, Key, assert_error, iter_sse, wait_for)
from dashboard_client import Dashboard, create_account

MODEL = "moonshot-v1-8k"
OPEN_SECONDS = 4          # ConduixBreakerOpenSeconds of the dedicated httpd
THRESHOLD = 3             # the default of ConduixBreakerThreshold (not set below)
REFRESH = 1               # ConduixCatalogRefresh: budgets are re-read this often


# ---------------------------------------------------------------------------
# a local webhook receiver (stands in for Slack and Teams)
# ---------------------------------------------------------------------------

class Receiver:
    def __init__(self):
        self.posts: list[dict] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                n = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(n)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                with outer.lock:
                    outer.posts.append({"path": self.path, "body": body,
                                        "content_type": self.headers.get("content-type")})
                self.send_response(200)
                self.send_header("content-type", "text/plain")
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def alerts(self, provider: str) -> list[dict]:
        """(format, threshold) of every alert about provider, in arrival order."""
        out = []
        with self.lock:
            posts = list(self.posts)
        for p in posts:
            text = _alert_text(p)
            if text and (" %s " % provider) in text:
                pct = int(text.split("has used ")[1].split("%")[0])
                out.append({"format": p["path"].strip("/"), "pct": pct, "post": p})
        return out

    def clear(self):
        with self.lock:
            self.posts.clear()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def _alert_text(post: dict) -> str | None:
    body = post["body"]
    if not isinstance(body, dict):
        return None
    if post["path"] == "/slack":
        return body.get("text")
    if post["path"] == "/teams":
        card = body["attachments"][0]["content"]
        return card["body"][1]["text"]
    return None


# ---------------------------------------------------------------------------
# the dedicated httpd
# ---------------------------------------------------------------------------

class Resilient:
    def __init__(self, h: Httpd, receiver: Receiver):
        self.httpd = h
        self.receiver = receiver

    @property
    def gw(self) -> Gateway:
        return Gateway(self.httpd)

    @property
    def pid_log(self):
        return self.httpd.dir / "pid_log"

    def pid_of(self, request_id: str, timeout: float = 10) -> int:
        """The PID of the child that served the request (from the access log)."""
        def find():
            try:
                for line in self.pid_log.read_text().splitlines():
                    pid, _, rid = line.partition(" ")
                    if rid.strip() == request_id:
                        return int(pid)
            except FileNotFoundError:
                pass
            return None
        pid = wait_for(find, timeout)
        assert pid, "request %s not in %s" % (request_id, self.pid_log)
        return pid


def _extra_conf(h: Httpd, receiver: Receiver) -> str:
    return "\n".join([
        "ConduixBreakerOpenSeconds %d" % OPEN_SECONDS,
        "ConduixCatalogRefresh %d" % REFRESH,
        "ConduixSharedState shm",
        "ConduixSharedStateSize 8388608",
        "ConduixCacheTTL 600",
        "ConduixBudgetAlert slack %s" % receiver.url("/slack"),
        "ConduixBudgetAlert teams %s" % receiver.url("/teams"),
        'LogFormat "%P %{x-conduix-request-id}o" conduix_pid',
        'CustomLog "%s/pid_log" conduix_pid' % h.dir,
    ])


@pytest.fixture(scope="module")
def receiver():
    r = Receiver()
    yield r
    r.stop()


@pytest.fixture(scope="module")
def res(stack, httpd, receiver):
    h = Httpd(stack.root / ("httpd-resilience-" + httpd.mpm), httpd.mpm, stack.mariadb.dsn, stack.sim)
    h.extra_conf = _extra_conf(h, receiver)
    h.start()
    try:
        yield Resilient(h, receiver)
    finally:
        h.stop()
        stack.db.execute("UPDATE providers SET monthly_budget_nano = NULL, hard_cap = 0 "
                         "WHERE name IN ('kimi', 'qwen')")
        bad = h.bad_log_lines(0)
        assert not bad, "resilience httpd (%s) error log has bad lines:\n%s" % (h.mpm, "\n".join(bad))


@pytest.fixture(scope="module")
def chain(stack):
    rows = stack.db.query(
        "SELECT c.target_model_id AS model, c.target_provider AS provider, p.api_format "
        "FROM fallback_chains c JOIN providers p ON p.name = c.target_provider "
        "WHERE c.model_id = %s ORDER BY c.position", (MODEL,))
    assert len(rows) >= 3, "the catalog chain of %s is too short: %r" % (MODEL, rows)
    assert all(r["api_format"] == "openai" for r in rows), rows
    assert rows[0]["provider"] == "kimi" and rows[1]["provider"] != "kimi"
    return rows


@pytest.fixture(scope="module")
def healer(stack):
    org = stack.ctl.org_create("resilience-healer", "1000")
    return stack.ctl.key_create(org, name="healer")


def _heal(gw: Gateway, key: Key, provider: str, model: str) -> str:
    """Close the provider's breaker the way production does: a successful call.
    While the breaker is open the pinned request is refused without a call, so
    retry until the open period is over (bounded). Returns the request id."""
    deadline = time.monotonic() + OPEN_SECONDS + 15
    last = None
    while time.monotonic() < deadline:
        last = gw.chat(key, model="%s/%s" % (provider, model), content="heal")
        if last.status_code == 200 and last.headers.get("x-conduix-provider") == provider:
            return last.headers["x-conduix-request-id"]
        time.sleep(0.25)
    raise AssertionError("could not close the breaker of %s: %s %s" % (
        provider, last.status_code if last is not None else None, last.text[:300] if last is not None else ""))


@pytest.fixture(autouse=True)
def closed_breakers(res, chain, healer, sim, stack):
    """Every test starts with every breaker of the chain closed and its failure
    count at zero, the healing calls' usage written (tests that sum a provider's
    spend see them), and with an empty simulator log."""
    healed = [_heal(res.gw, healer, link["provider"], link["model"]) for link in chain]
    _wait_usage_written(stack.db, healed)
    sim.reset()
    yield


def _chat(gw, key, content="Hello", stream=False, **extra):
    return gw.chat(key, model=MODEL, content=content, stream=stream, **extra)


def _served(r) -> tuple[str, str, str]:
    return (r.headers.get("x-conduix-provider"), r.headers.get("x-conduix-model-served"),
            r.headers.get("x-conduix-fallback"))


# ---------------------------------------------------------------------------
# fallback
# ---------------------------------------------------------------------------

def test_primary_503_falls_back_with_headers(res, chain, sim, db, live_key):
    sim.fault(provider="kimi", status=503, count=1)
    r = _chat(res.gw, live_key, content="fall over please", temperature=0)
    assert r.status_code == 200, r.text[:500]
    second = chain[1]
    assert _served(r) == (second["provider"], second["model"], "true")
    body = r.json()
    assert body["model"] == MODEL, "the body must echo the requested model"
    assert "Hello from %s/%s" % (second["provider"], second["model"]) in \
        body["choices"][0]["message"]["content"]
    assert sim.count("kimi") == 1 and sim.count(second["provider"]) == 1 and sim.count() == 2
    rows = db.wait_usage_rows(live_key.id, 1)
    assert len(rows) == 1
    assert (rows[0]["provider"], rows[0]["served_model"], rows[0]["fallback"], rows[0]["status"]) == \
        (second["provider"], second["model"], 1, 200)
    # a fallback's answer is not cached as the primary's: once kimi is back, it answers
    sim.reset()
    again = _chat(res.gw, live_key, content="fall over please", temperature=0)
    assert again.headers["x-conduix-cache"] == "MISS"
    assert _served(again) == ("kimi", MODEL, "false")
    assert sim.count("kimi") == 1


def test_every_provider_failing_is_503(res, chain, sim, db, live_key):
    before = db.balance_nano(live_key.org_id)
    for stream in (False, True):
        sim.reset()
        sim.fault(provider="*", status=503, count=-1)
        r = _chat(res.gw, live_key, stream=stream)
        assert_error(r, 503, "provider_unavailable")
        for link in chain:
            assert sim.count(link["provider"]) == 1, \
                "%s was called %d times" % (link["provider"], sim.count(link["provider"]))
        assert sim.count() == len(chain)
    assert db.balance_nano(live_key.org_id) == before, "a failed request was charged"


def test_client_400_is_not_retried_elsewhere(res, chain, sim, db, live_key):
    before = db.balance_nano(live_key.org_id)
    sim.fault(provider="kimi", status=400, count=1, message="Invalid 'max_tokens': too large.")
    r = _chat(res.gw, live_key, max_tokens=100)
    err = assert_error(r, 400, type_="invalid_request_error")
    assert "max_tokens" in err["message"]
    assert sim.count("kimi") == 1
    assert sim.count() == 1, "a client error fell over to another provider"
    assert db.balance_nano(live_key.org_id) == before


def test_stream_cut_midway_ends_with_error_event(res, chain, sim, db, live_key):
    sim.fault(provider="kimi", cut_after_chunks=3, count=1)
    r = _chat(res.gw, live_key, content="one two three four five six seven", stream=True,
              temperature=0)
    assert r.status_code == 200
    events = list(iter_sse(r))
    datas = [e.data for e in events]
    assert "[DONE]" not in datas, "a cut stream must not end cleanly"
    chunks = [json.loads(d) for d in datas]
    assert "error" in chunks[-1], "the last event is not an error: %r" % chunks[-1]
    assert all("error" not in c for c in chunks[:-1])
    assert len(chunks) - 1 >= 1, "the client never saw the first bytes"
    assert sim.count("kimi") == 1
    assert sim.count() == 1, "a stream that had started fell over to another provider"
    # nothing half-finished went into the cache: the same request goes upstream again
    sim.reset()
    again = _chat(res.gw, live_key, content="one two three four five six seven", stream=True,
                  temperature=0)
    assert again.headers.get("x-conduix-cache") == "MISS"
    assert [e.data for e in iter_sse(again)][-1] == "[DONE]"
    assert sim.count("kimi") == 1


# ---------------------------------------------------------------------------
# circuit breakers
# ---------------------------------------------------------------------------

def _fail_kimi(gw, key, n, session=None):
    """n requests whose kimi attempt fails (503); each is served by the fallback."""
    ids = []
    for _ in range(n):
        if session is None:
            r = _chat(gw, key)
        else:
            r = session.post(gw.url("/v1/chat/completions"), headers=key.auth, timeout=30,
                             json={"model": MODEL, "messages": [{"role": "user", "content": "Hello"}]})
        assert r.status_code == 200, r.text[:300]
        assert r.headers["x-conduix-fallback"] == "true"
        ids.append(r.headers["x-conduix-request-id"])
    return ids


def test_breaker_opens_after_n_failures_then_half_opens(res, chain, sim, live_key):
    gw = res.gw
    sim.fault(provider="kimi", status=503, count=-1)
    _fail_kimi(gw, live_key, THRESHOLD)
    assert sim.count("kimi") == THRESHOLD
    # open: the next requests never reach kimi and are served by the fallback
    for _ in range(3):
        r = _chat(gw, live_key)
        assert r.status_code == 200
        assert _served(r)[0] == chain[1]["provider"] and _served(r)[2] == "true"
    assert sim.count("kimi") == THRESHOLD, "an open breaker still called the provider"

    # after the open period one probe goes through; it fails, so the breaker reopens
    time.sleep(OPEN_SECONDS + 0.5)
    r = _chat(gw, live_key)
    assert r.status_code == 200
    assert sim.count("kimi") == THRESHOLD + 1, "no half-open probe after the open period"
    r = _chat(gw, live_key)
    assert sim.count("kimi") == THRESHOLD + 1, "a failed probe did not reopen the breaker"

    # the provider recovers: the next probe succeeds and closes the breaker
    sim.clear_faults()
    time.sleep(OPEN_SECONDS + 0.5)
    r = _chat(gw, live_key)
    assert r.status_code == 200
    assert _served(r) == ("kimi", MODEL, "false")
    r = _chat(gw, live_key)
    assert _served(r) == ("kimi", MODEL, "false")
    assert sim.count("kimi") == THRESHOLD + 3


def _dashboard_breaker(d: Dashboard, provider: str) -> tuple[str, str]:
    """(state, cell text) of the provider's breaker on the dashboard's Providers page."""
    page = d.get("/providers")
    assert page.status_code == 200, page.text[:300]
    m = re.search(r'<tr id="provider-%s">.*?<td class="breaker" data-state="([a-z-]+)">(.*?)</td>'
                  % re.escape(provider), page.text, re.S)
    assert m, "no breaker cell for %s on the Providers page" % provider
    return m.group(1), re.sub(r"<[^>]+>", " ", m.group(2))


def _wait_dashboard_breaker(d: Dashboard, provider: str, want: str) -> tuple[str, str]:
    """The breaker cell once it shows `want` (bounded), else as it is."""
    wait_for(lambda: _dashboard_breaker(d, provider)[0] == want, 15)
    return _dashboard_breaker(d, provider)


def test_dashboard_shows_breaker_transitions_reported_by_the_gateway(res, chain, sim, db, stack,
                                                                    live_key, tmp_path):
    op = create_account(stack.ctl, tmp_path, live_key.org_id, "owner", operator=True)
    d = Dashboard(res.gw.base_url).login_ok(op)
    start = db.scalar("SELECT UTC_TIMESTAMP(6)")
    sim.fault(provider="kimi", status=503, count=-1)
    _fail_kimi(res.gw, live_key, THRESHOLD)
    # reported off the request path: the page catches up shortly after
    state, text = _wait_dashboard_breaker(d, "kimi", "open")
    assert state == "open", text
    assert "after %d failure(s)" % THRESHOLD in text and "until" in text and "reported" in text, text
    row = db.query("SELECT state, failures, open_until > opened_at AS later FROM provider_breaker_state "
                   "WHERE provider = 'kimi'")[0]
    assert (row["state"], row["failures"], row["later"]) == ("open", THRESHOLD, 1)

    # the provider recovers: after the open period the probe succeeds and closes it
    sim.clear_faults()
    time.sleep(OPEN_SECONDS + 0.5)
    assert _served(_chat(res.gw, live_key)) == ("kimi", MODEL, "false")
    state, text = _wait_dashboard_breaker(d, "kimi", "closed")
    assert state == "closed" and "since" in text, text
    def events():
        return db.query("SELECT from_state, to_state FROM provider_breaker_events "
                        "WHERE provider = 'kimi' AND at >= %s ORDER BY at, id", (start,))
    wait_for(lambda: len(events()) >= 3, 10)
    assert [(e["from_state"], e["to_state"]) for e in events()] == [
        ("closed", "open"), ("open", "half-open"), ("half-open", "closed")]


def test_half_open_lets_exactly_one_probe_through(res, chain, sim, live_key):
    gw = res.gw
    sim.fault(provider="kimi", status=503, count=THRESHOLD)
    _fail_kimi(gw, live_key, THRESHOLD)
    time.sleep(OPEN_SECONDS + 0.5)
    # kimi is healthy again but slow: its probe is in flight while the others arrive
    sim.fault(provider="kimi", delay_ms=3000, count=1)
    before = sim.count("kimi")
    with ThreadPoolExecutor(5) as ex:
        futures = [ex.submit(_chat, gw, live_key) for _ in range(5)]
        responses = [f.result() for f in futures]
    assert all(r.status_code == 200 for r in responses), [r.text[:200] for r in responses]
    providers = sorted(r.headers["x-conduix-provider"] for r in responses)
    assert sim.count("kimi") - before == 1, "more than one half-open probe: %r" % providers
    assert providers.count("kimi") == 1
    assert providers.count(chain[1]["provider"]) == 4


def test_breaker_is_shared_by_all_children(res, chain, sim, live_key):
    if res.httpd.mpm != "prefork":
        pytest.skip("needs one process per connection (prefork) to choose the serving child")
    gw = res.gw
    sim.fault(provider="kimi", status=503, count=-1)
    # Failures through one child: a keep-alive connection stays with its prefork child.
    s1 = requests.Session()
    try:
        ids = _fail_kimi(gw, live_key, THRESHOLD, session=s1)
        failing_pids = {res.pid_of(i) for i in ids}
        assert len(failing_pids) == 1, failing_pids
        # While that child is held by s1's connection, a new connection is served by another.
        s2 = requests.Session()
        try:
            r = s2.post(gw.url("/v1/chat/completions"), headers=live_key.auth, timeout=30,
                        json={"model": MODEL, "messages": [{"role": "user", "content": "Hello"}]})
        finally:
            s2.close()
    finally:
        s1.close()
    assert r.status_code == 200, r.text[:300]
    other = res.pid_of(r.headers["x-conduix-request-id"])
    assert other not in failing_pids, "the check request was served by the failing child"
    assert _served(r)[0] == chain[1]["provider"] and _served(r)[2] == "true"
    assert sim.count("kimi") == THRESHOLD, \
        "child %d called kimi although child %s had opened its breaker" % (other, failing_pids)


# ---------------------------------------------------------------------------
# response cache
# ---------------------------------------------------------------------------

def test_cache_hit_makes_no_upstream_call_and_costs_nothing(res, sim, db, org_factory, key_factory):
    gw = res.gw
    org = org_factory("100")
    key = key_factory(org)
    content = "What is the capital of France? %d" % time.monotonic_ns()
    r1 = _chat(gw, key, content=content, temperature=0)
    assert r1.status_code == 200, r1.text[:300]
    assert r1.headers["x-conduix-cache"] == "MISS"
    assert sim.count() == 1
    rows = db.wait_usage_rows(key.id, 1)
    balance_after_first = db.balance_nano(org)
    assert rows[0]["charged_nano"] > 0 and rows[0]["cache_hit"] == 0

    # the same question, members in another order and temperature 0.0: a hit
    body = {"temperature": 0.0, "messages": [{"content": content, "role": "user"}], "model": MODEL}
    r2 = gw.post("/v1/chat/completions", key, json_body=body)
    assert r2.status_code == 200, r2.text[:300]
    assert r2.headers["x-conduix-cache"] == "HIT"
    assert sim.count() == 1, "a cache hit called the provider"
    assert r2.json()["choices"] == r1.json()["choices"]
    assert r2.json()["usage"] == r1.json()["usage"]
    assert r2.json()["model"] == MODEL
    assert Decimal(r2.headers["x-conduix-cost-credits"]) == 0
    assert r2.headers["x-conduix-provider"] == "kimi"

    # replayed as SSE for a stream request, with usage when asked for
    r3 = _chat(gw, key, content=content, temperature=0, stream=True,
               stream_options={"include_usage": True})
    assert r3.headers["x-conduix-cache"] == "HIT"
    events = [e.data for e in iter_sse(r3)]
    assert events[-1] == "[DONE]" and events.count("[DONE]") == 1
    chunks = [json.loads(d) for d in events[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == r1.json()["choices"][0]["message"]["content"]
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] == \
        r1.json()["usage"]["total_tokens"]
    assert all(c["model"] == MODEL for c in chunks)
    assert sim.count() == 1

    rows = db.wait_usage_rows(key.id, 3)
    assert len(rows) == 3
    assert [r["cache_hit"] for r in rows] == [0, 1, 1]
    assert [r["charged_nano"] for r in rows[1:]] == [0, 0]
    assert [r["cost_nano"] for r in rows[1:]] == [0, 0]
    assert db.balance_nano(org) == balance_after_first, "a cache hit was charged"

    # another organization never sees this org's answers
    other = key_factory(org_factory("10"))
    r4 = _chat(gw, other, content=content, temperature=0)
    assert r4.headers["x-conduix-cache"] == "MISS"
    assert sim.count() == 2
    # non-deterministic requests are not cacheable: no header, always upstream
    r5 = _chat(gw, key, content=content, temperature=0.7)
    assert "x-conduix-cache" not in r5.headers
    assert sim.count() == 3


def test_streamed_answer_is_cached_too(res, sim, db, live_key):
    gw = res.gw
    content = "stream me once %d" % time.monotonic_ns()
    r1 = _chat(gw, live_key, content=content, temperature=0, stream=True)
    assert r1.headers["x-conduix-cache"] == "MISS"
    chunks = [json.loads(e.data) for e in iter_sse(r1) if e.data != "[DONE]"]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert sim.count() == 1
    # stored after the response, before its usage row: a non-streamed request then
    # gets the assembled answer
    db.wait_usage_rows(live_key.id, 1)
    r2 = _chat(gw, live_key, content=content, temperature=0)
    assert r2.headers["x-conduix-cache"] == "HIT", "the streamed answer was not cached"
    msg = r2.json()["choices"][0]
    assert msg["message"]["content"] == text
    assert msg["finish_reason"] == "stop"
    assert sim.count() == 1


# ---------------------------------------------------------------------------
# provider budgets
# ---------------------------------------------------------------------------

def _month_spend_nano(db, provider: str) -> int:
    """What the provider billed this UTC month according to usage_events: each
    request's tokens at the deployment's list price, rounded half up once."""
    rows = db.query(
        "SELECT u.prompt_tokens, u.completion_tokens, d.input_price_nano, d.output_price_nano "
        "FROM usage_events u JOIN model_deployments d "
        "  ON d.model_id = u.served_model AND d.provider = u.provider "
        "WHERE u.provider = %s AND u.cache_hit = 0 "
        "  AND u.created_at >= DATE_FORMAT(UTC_TIMESTAMP(), '%%Y-%%m-01')", (provider,))
    total = 0
    for r in rows:
        exact = (Decimal(r["prompt_tokens"]) * r["input_price_nano"]
                 + Decimal(r["completion_tokens"]) * r["output_price_nano"]) / Decimal(10**6)
        total += int(exact.quantize(Decimal(1), rounding=decimal.ROUND_HALF_UP))
    return total


def _wait_usage_written(db, request_ids: list[str]) -> None:
    """Until the usage rows of these requests are committed. Waiting by request id,
    not by a row count: a row of an earlier request (another test's, a healing call's)
    may still be on its way to the database and would otherwise stand in for one of
    these."""
    marks = ", ".join(["%s"] * len(request_ids))
    ok = wait_for(lambda: db.scalar("SELECT COUNT(*) FROM usage_events WHERE request_id IN (%s)"
                                    % marks, tuple(request_ids)) == len(request_ids), 10)
    assert ok, "usage rows of %s not written" % request_ids


def test_hard_cap_makes_routing_fail_over(res, chain, sim, db, live_key):
    gw = res.gw
    # the healing call before this test was billed, so kimi's spend is above 1 nanocredit
    assert wait_for(lambda: _month_spend_nano(db, "kimi") > 0, 10)
    try:
        # a budget without hard cap only alerts: kimi keeps serving
        db.execute("UPDATE providers SET monthly_budget_nano = 1, hard_cap = 0 WHERE name = 'kimi'")
        time.sleep(REFRESH + 1)
        r = _chat(gw, live_key)
        assert _served(r) == ("kimi", MODEL, "false")
        # with the hard cap, a provider over budget is skipped without a call
        db.execute("UPDATE providers SET hard_cap = 1 WHERE name = 'kimi'")
        time.sleep(REFRESH + 1)
        sim.reset()
        for _ in range(2):
            r = _chat(gw, live_key)
            assert r.status_code == 200, r.text[:300]
            assert _served(r) == (chain[1]["provider"], chain[1]["model"], "true")
        assert sim.count("kimi") == 0, "a hard-capped provider was called"
        # a pinned request has nowhere else to go
        r = gw.chat(live_key, model="kimi/" + MODEL)
        assert_error(r, 503, "provider_unavailable")
        assert sim.count("kimi") == 0
    finally:
        db.execute("UPDATE providers SET monthly_budget_nano = NULL, hard_cap = 0 WHERE name = 'kimi'")
    time.sleep(REFRESH + 1)
    r = _chat(gw, live_key)
    assert _served(r) == ("kimi", MODEL, "false")


ALERT_PROVIDER = "qwen"
ALERT_MODEL = "qwen-plus"


def test_each_budget_alert_threshold_fires_exactly_once(res, sim, db, live_key, receiver):
    pinned = "%s/%s" % (ALERT_PROVIDER, ALERT_MODEL)
    month = db.scalar("SELECT DATE_FORMAT(UTC_TIMESTAMP(), '%Y-%m')")
    db.execute("DELETE FROM provider_budget_alerts WHERE provider=%s AND month=%s",
               (ALERT_PROVIDER, month))
    receiver.clear()   # the receiver outlives one MPM's run
    # An expensive request (a long prompt) sets the step; each repeat costs the same.
    prompt = " ".join("word%d" % i for i in range(2000))

    served: list[str] = []   # request ids, in order

    def expensive() -> int:
        r = res.gw.chat(live_key, model=pinned, content=prompt)   # res.gw: the port may change
        assert r.status_code == 200, r.text[:300]
        assert r.headers["x-conduix-provider"] == ALERT_PROVIDER
        served.append(r.headers["x-conduix-request-id"])
        return int(Decimal(r.headers["x-conduix-cost-credits"]) * NANO)

    step = expensive()
    _wait_usage_written(db, served)
    # Whatever the provider spent before (other tests, the other MPM's run), the
    # budget is reached after nine more of these requests.
    spent = _month_spend_nano(db, ALERT_PROVIDER)
    budget = spent + 9 * step
    assert 10 * step <= budget, "each step must be at most a tenth of the budget"

    def reached(spend: int) -> list[int]:
        return [p for p in (70, 80, 90, 100) if spend * 100 >= budget * p]

    def formats_and_pcts():
        return sorted((a["format"], a["pct"]) for a in receiver.alerts(ALERT_PROVIDER))

    try:
        db.execute("UPDATE providers SET monthly_budget_nano=%s, hard_cap=0 WHERE name=%s",
                   (budget, ALERT_PROVIDER))
        time.sleep(REFRESH + 1)
        firing_requests = set()
        for k in range(1, 12):                   # 9 to reach the budget, 2 beyond it
            assert expensive() == step
            spent += step
            expected = reached(spent)
            want = sorted((f, p) for p in expected for f in ("slack", "teams"))
            if len(want) > len(formats_and_pcts()):
                firing_requests.add(k)
                wait_for(lambda: len(formats_and_pcts()) >= len(want), 15)
            else:
                _wait_usage_written(db, served)
                time.sleep(0.3)                  # an extra alert would arrive meanwhile
            assert formats_and_pcts() == want, "after request %d (%d%% of the budget)" % (
                k, spent * 100 // budget)
        assert reached(spent) == [70, 80, 90, 100]
        assert len(firing_requests) >= 3, "the thresholds should fire as the spend grows"
        # the formats
        for a in receiver.alerts(ALERT_PROVIDER):
            body = a["post"]["body"]
            assert a["post"]["content_type"].startswith("application/json")
            if a["format"] == "slack":
                assert list(body) == ["text"]
            else:
                assert body["type"] == "message"
                att = body["attachments"][0]
                assert att["contentType"] == "application/vnd.microsoft.card.adaptive"
                assert att["content"]["type"] == "AdaptiveCard"
                facts = {f["title"]: f["value"] for f in att["content"]["body"][2]["facts"]}
                assert facts["Provider"] == ALERT_PROVIDER and facts["Threshold"] == "%d%%" % a["pct"]
        rows = db.query("SELECT threshold_pct FROM provider_budget_alerts WHERE provider=%s "
                        "AND month=%s ORDER BY threshold_pct", (ALERT_PROVIDER, month))
        assert [r["threshold_pct"] for r in rows] == [70, 80, 90, 100]

        # A full restart loses the shared state; the recorded alerts are not sent again.
        offset = res.httpd.log_offset()
        res.httpd.stop()
        res.httpd.start()
        assert expensive() == step
        _wait_usage_written(db, served)
        time.sleep(1.0)
        assert len(receiver.alerts(ALERT_PROVIDER)) == 8, "alerts were sent again after a restart"
        assert "CX0713" in res.httpd.log_since(offset), "the spend was not rebuilt from usage_events"
    finally:
        db.execute("UPDATE providers SET monthly_budget_nano=NULL, hard_cap=0 WHERE name=%s",
                   (ALERT_PROVIDER,))


# ---------------------------------------------------------------------------
# graceful restart
# ---------------------------------------------------------------------------

def test_shared_state_survives_graceful_restart(res, chain, sim, live_key):
    gw = res.gw
    h = res.httpd
    content = "remember me across a graceful restart %d" % time.monotonic_ns()
    r = _chat(gw, live_key, content=content, temperature=0)
    assert r.headers["x-conduix-cache"] == "MISS"
    # two of the three failures that open kimi's breaker, before the restart
    sim.fault(provider="kimi", status=503, count=THRESHOLD - 1)
    ids = _fail_kimi(gw, live_key, THRESHOLD - 1)
    old_pids = {res.pid_of(i) for i in ids} | {res.pid_of(r.headers["x-conduix-request-id"])}
    offset = h.log_offset()

    h.graceful()
    assert "CX0802" in h.log_since(offset), "the shared state was not kept"

    def new_child(resp):
        return res.pid_of(resp.headers["x-conduix-request-id"]) not in old_pids

    # the cached answer is still there, seen by a child of the new generation
    sim.reset()
    hit = None
    for _ in range(10):
        hit = _chat(gw, live_key, content=content, temperature=0)
        if new_child(hit):
            break
    assert new_child(hit), "no request reached a child of the new generation"
    assert hit.headers["x-conduix-cache"] == "HIT"
    assert sim.count() == 0
    # the failure count survived: one more failure opens the breaker
    sim.fault(provider="kimi", status=503, count=1)
    _fail_kimi(gw, live_key, 1)
    assert sim.count("kimi") == 1
    r = _chat(gw, live_key)
    assert _served(r)[0] == chain[1]["provider"]
    assert sim.count("kimi") == 1, "the breaker did not open: the failure count was lost"
