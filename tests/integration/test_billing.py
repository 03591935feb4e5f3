"""Usage rows, ledger debits and balances: exact integer money (SPEC §7).
Usage rows are written after the response is sent, so counts are polled."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from harness import NANO, REQUEST_ID_RE, as_decimal, assert_error, cost_nano, iter_sse, wait_for


def _header_cost_nano(r) -> int:
    v = Decimal(r.headers["x-conduix-cost-credits"]) * NANO
    assert v == v.to_integral_value(), "cost has more than 9 decimals: %s" % v
    return int(v)


def _catalog_price(db, model: str, provider: str):
    rows = db.query("SELECT input_price_nano, output_price_nano FROM model_deployments "
                    "WHERE model_id=%s AND provider=%s", (model, provider))
    if not rows:
        rows = db.query("SELECT input_price_nano, output_price_nano FROM models WHERE id=%s",
                        (model,))
    assert rows, "no price for %s on %s" % (model, provider)
    return (Decimal(rows[0]["input_price_nano"]) / NANO, Decimal(rows[0]["output_price_nano"]) / NANO)


def _balance_from_body(body) -> Decimal:
    assert isinstance(body, dict), body
    for k in ("balance", "balance_credits", "credits", "available_credits"):
        if k in body:
            return as_decimal(body[k])
    raise AssertionError("no balance field in %r" % body)


def test_one_usage_row_per_request_and_exact_debit(gw, db, ctl, org_factory, key_factory):
    org = org_factory("100")
    key = key_factory(org)
    before = db.balance_nano(org)
    assert before == 100 * NANO
    contents = ["request number %d %s" % (i, "pad " * i) for i in range(10)]
    # several clients at once, so that several children/threads serve them
    with ThreadPoolExecutor(5) as ex:
        responses = list(ex.map(lambda c: gw.chat(key, content=c), contents))
    for r in responses:
        assert r.status_code == 200, r.text[:500]
    ids = [r.headers["x-conduix-request-id"] for r in responses]
    assert all(REQUEST_ID_RE.match(i) for i in ids)
    assert len(set(ids)) == 10, "request ids are not unique"
    header_cost = {r.headers["x-conduix-request-id"]: _header_cost_nano(r) for r in responses}
    usage = {r.headers["x-conduix-request-id"]: r.json()["usage"] for r in responses}
    price_in, price_out = _catalog_price(db, "gpt-4o-mini", "openai")

    rows = db.wait_usage_rows(key.id, 10)
    assert len(rows) == 10, "expected exactly 10 usage rows, got %d" % len(rows)
    assert {row["request_id"] for row in rows} == set(ids)
    for row in rows:
        rid = row["request_id"]
        assert row["org_id"] == org
        assert row["mode"] == "live"
        assert row["status"] == 200
        assert row["stream"] == 0 and row["fallback"] == 0
        assert row["requested_model"] == "gpt-4o-mini"
        assert row["served_model"] == "gpt-4o-mini"
        assert row["provider"] == "openai"
        assert row["prompt_tokens"] == usage[rid]["prompt_tokens"]
        assert row["completion_tokens"] == usage[rid]["completion_tokens"]
        want = cost_nano(row["prompt_tokens"], row["completion_tokens"], price_in, price_out)
        assert row["cost_nano"] == want
        assert row["charged_nano"] == want == header_cost[rid]

    after = db.balance_nano(org)
    total = sum(header_cost.values())
    assert total > 0
    assert before - after == total
    # the same, as exact decimals of credits
    assert Decimal(after) / NANO == Decimal("100") - sum(
        Decimal(r.headers["x-conduix-cost-credits"]) for r in responses)

    ledger = db.ledger_rows(org)
    charges = [l for l in ledger if l["kind"] == "charge"]
    assert sorted(l["request_id"] for l in charges) == sorted(ids)
    for l in charges:
        assert l["amount_nano"] == -header_cost[l["request_id"]]
    assert sum(l["amount_nano"] for l in ledger) == after, "ledger sum != balance"
    assert ledger[-1]["balance_after_nano"] == after
    assert ctl.balance(org) == Decimal(after) / NANO


def test_streams_are_billed_from_upstream_usage(gw, db, sim, org_factory, key_factory):
    org = org_factory("50")
    key = key_factory(org)
    before = db.balance_nano(org)
    ids = []
    for i in range(3):
        r = gw.chat(key, content="stream number %d" % i + " more" * i, stream=True)
        assert r.status_code == 200, r.text[:500]
        ids.append(r.headers["x-conduix-request-id"])
        events = list(iter_sse(r))
        assert events[-1].data == "[DONE]"
    ups = [q for q in sim.requests("openai")["requests"]]
    assert len(ups) == 3
    price_in, price_out = _catalog_price(db, "gpt-4o-mini", "openai")
    rows = db.wait_usage_rows(key.id, 3)
    assert len(rows) == 3
    assert {row["request_id"] for row in rows} == set(ids)
    for i, row in enumerate(sorted(rows, key=lambda r: ids.index(r["request_id"]))):
        assert row["stream"] == 1
        assert row["prompt_tokens"] == 3 + i + 3       # "stream number N" + i * "more" + 3
        assert row["completion_tokens"] > 0
        want = cost_nano(row["prompt_tokens"], row["completion_tokens"], price_in, price_out)
        assert row["cost_nano"] == row["charged_nano"] == want
    assert before - db.balance_nano(org) == sum(r["charged_nano"] for r in rows)


def test_test_key_charges_nothing(gw, db, org_factory, key_factory):
    org = org_factory("5")
    key = key_factory(org, test=True)
    assert key.secret.startswith("cx_test_")
    before = db.balance_nano(org)
    ledger_before = len(db.ledger_rows(org))
    ids = []
    for stream in (False, True, False):
        r = gw.chat(key, content="free as in test", stream=stream)
        assert r.status_code == 200, r.text[:500]
        assert REQUEST_ID_RE.match(r.headers.get("x-conduix-request-id", ""))
        assert r.headers.get("x-conduix-provider") == "openai"
        ids.append(r.headers["x-conduix-request-id"])
        if stream:
            assert list(iter_sse(r))[-1].data == "[DONE]"
        else:
            assert r.json()["usage"]["total_tokens"] > 0
    rows = db.wait_usage_rows(key.id, 3)
    assert len(rows) == 3
    assert {row["request_id"] for row in rows} == set(ids)
    for row in rows:
        assert row["mode"] == "test"
        assert row["charged_nano"] == 0
    assert db.balance_nano(org) == before
    assert len(db.ledger_rows(org)) == ledger_before


def test_account_balance(gw, db, org_factory, key_factory):
    org = org_factory("12.5")
    key = key_factory(org, scopes="inference,account:read")
    r = gw.get("/v1/account/balance", key)
    assert r.status_code == 200, r.text[:500]
    assert _balance_from_body(r.json()) == Decimal("12.5")

    c = gw.chat(key, content="spend a little")
    assert c.status_code == 200, c.text[:500]
    assert db.wait_usage_rows(key.id, 1)
    now = Decimal(db.balance_nano(org)) / NANO
    assert now == Decimal("12.5") - Decimal(c.headers["x-conduix-cost-credits"])
    r = gw.get("/v1/account/balance", key)
    assert r.status_code == 200, r.text[:500]
    assert _balance_from_body(r.json()) == now


def test_account_balance_requires_a_key(gw):
    assert_error(gw.get("/v1/account/balance"), 401, "invalid_api_key")


def test_revoked_key_is_refused_within_5s(gw, org_factory, key_factory, revoke_key):
    key = key_factory(org_factory("10"))
    # warm the per-child key caches: fresh connections land on several children
    for _ in range(8):
        r = gw.chat(key, content="warm")
        assert r.status_code == 200, r.text[:500]
    revoke_key(key)
    revoked_at = time.monotonic()

    def refused():
        r = gw.chat(key, content="still there?")
        return r if r.status_code == 401 else None

    r = wait_for(refused, 7.0, 0.25)
    assert r is not None, "revoked key still accepted 7 s after revocation"
    assert_error(r, 401, "invalid_api_key")
    # after the cache TTL (ConduixKeyCacheTTL 5; +1 s for clocks of one-second
    # resolution) every child and thread refuses it
    delay = revoked_at + 6.0 - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    statuses = [gw.chat(key, content="again").status_code for _ in range(10)]
    assert statuses == [401] * 10, "some children still accept the revoked key: %r" % statuses
