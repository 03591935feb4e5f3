"""/v1/keys: minting, listing, editing and revoking keys with an API key; key scopes;
per-key model allowlists on the request path; every change in the audit log."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import pytest

from accounts import (ADMIN_SCOPES, admin_key, credits, mint, minted_key, nano, reader_key, request,
                      wait_status)
from harness import REQUEST_ID_RE, as_decimal, assert_error

INVALID = "invalid_request_error"


def _audit(gw, key, **params):
    q = "&".join("%s=%s" % kv for kv in params.items())
    r = gw.get("/v1/account/audit" + ("?" + q if q else ""), key)
    assert r.status_code == 200, r.text[:500]
    return r.json()["data"]


def test_key_lifecycle_through_the_api(gw, sim, db, org_factory, key_factory):
    """mint -> use -> edit allowlist -> blocked -> revoke -> 401, each step audited."""
    org = org_factory("20")
    admin = admin_key(key_factory, org)

    # mint: the secret is in this answer only
    r = mint(gw, admin, {"name": "workspace:acme-corp", "allowed_models": ["gpt-4o-mini", "gpt-4o"],
                         "rate_limit": 120, "pii_mode": "redact"})
    assert r.status_code == 201, r.text[:500]
    mint_rid = r.headers["x-conduix-request-id"]
    doc = r.json()
    key = minted_key(r, org)
    assert key.secret.startswith("cx_live_") and doc["prefix"] == key.secret[:12]
    assert doc["allowed_models"] == ["gpt-4o-mini", "gpt-4o"]
    assert doc["rate_limit"] == 120 and doc["pii_mode"] == "redact" and doc["scopes"] == ["inference"]
    assert r.headers["Location"] == "/v1/keys/%d" % key.id
    shown = gw.get("/v1/keys/%d" % key.id, admin)
    assert shown.status_code == 200, shown.text[:500]
    assert "secret" not in shown.json() and key.secret not in shown.text
    stored = db.query("SELECT key_hash, prefix, org_id FROM api_keys WHERE id=%s", (key.id,))[0]
    assert stored["org_id"] == org and stored["prefix"] == key.secret[:12]
    assert key.secret.encode() not in stored["key_hash"]

    # use
    used = gw.chat(key, model="gpt-4o-mini", content="first call")
    assert used.status_code == 200, used.text[:500]
    use_rid = used.headers["x-conduix-request-id"]

    # edit the allowlist: gpt-4o-mini is no longer allowed
    r = request(gw, "PATCH", "/v1/keys/%d" % key.id, admin, {"allowed_models": ["gpt-4o"]})
    edited_at = time.monotonic()
    assert r.status_code == 200, r.text[:500]
    edit_rid = r.headers["x-conduix-request-id"]
    assert r.json()["allowed_models"] == ["gpt-4o"]
    assert r.json()["rate_limit"] == 120, "PATCH changed a field it was not given"

    # blocked, before any upstream call. Each child may keep the old policy in its key
    # cache for ConduixKeyCacheTTL (5 s; +1 s for one-second clocks): after that, every
    # child refuses.
    delay = edited_at + 6.0 - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    sim.reset()
    blocked = gw.chat(key, model="gpt-4o-mini", content="now blocked")
    err = assert_error(blocked, 403, "model_not_allowed", "permission_error", param="model")
    assert "gpt-4o-mini" in err["message"]
    assert sim.count() == 0, "a request refused by the allowlist reached a provider"
    blocked_rid = blocked.headers["x-conduix-request-id"]
    ok = gw.chat(key, model="gpt-4o", content="still allowed")
    assert ok.status_code == 200, ok.text[:500]

    # revoke -> 401
    r = request(gw, "DELETE", "/v1/keys/%d" % key.id, admin)
    assert r.status_code == 200, r.text[:500]
    revoke_rid = r.headers["x-conduix-request-id"]
    assert r.json()["revoked"] is True and r.json()["revoked_at"]
    refused = wait_status(lambda: gw.chat(key, model="gpt-4o", content="after revoke"), 401)
    assert_error(refused, 401, "invalid_api_key")
    again = request(gw, "DELETE", "/v1/keys/%d" % key.id, admin)
    assert again.status_code == 200 and again.json()["revoked"] is True

    # the audit trail: one row per step, actor = the calling key, with IP and request id
    events = [e for e in _audit(gw, admin) if e["target"] == "key:%d" % key.id]
    assert [e["action"] for e in events] == ["key.create", "key.update", "request.denied", "key.revoke"], \
        json.dumps(events, indent=1)
    create, update, denied, revoke = events
    for e, rid in ((create, mint_rid), (update, edit_rid), (revoke, revoke_rid)):
        assert e["actor_type"] == "key" and e["actor_id"] == admin.id
        assert e["actor_label"].startswith(admin.secret[:12])
        assert e["ip"] == "127.0.0.1"
        assert e["request_id"] == rid
    assert create["detail"]["after"]["allowed_models"] == ["gpt-4o-mini", "gpt-4o"]
    assert update["detail"] == {"before": {"allowed_models": ["gpt-4o-mini", "gpt-4o"]},
                                "after": {"allowed_models": ["gpt-4o"]}}
    assert denied["actor_id"] == key.id and denied["request_id"] == blocked_rid
    assert denied["detail"] == {"code": "model_not_allowed", "model": "gpt-4o-mini"}
    assert revoke["detail"]["before"] == {"revoked": False} and revoke["detail"]["after"] == {"revoked": True}
    assert len([e for e in _audit(gw, admin) if e["action"] == "key.revoke"
                and e["target"] == "key:%d" % key.id]) == 1, "a second revoke was audited again"
    # the use step: its charged cost, by request id, in the audit API
    r = wait_status(lambda: gw.get("/v1/account/audit?request_id=" + use_rid, admin), 200)
    usage = r.json().get("usage")
    assert usage is not None, r.text[:1000]
    assert usage is not None and usage["request_id"] == use_rid
    assert credits(usage["charged"]) == Decimal(used.headers["x-conduix-cost-credits"])


@pytest.mark.parametrize("body,param", [
    ({}, "name"),
    ({"name": ""}, "name"),
    ({"name": 7}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"name": "tab\there"}, "name"),
    ({"name": "k", "allowed_models": ["gpt-4o-mini", "no-such-model"]}, "allowed_models[1]"),
    ({"name": "k", "allowed_models": "gpt-4o-mini"}, "allowed_models"),
    ({"name": "k", "allowed_models": ["tier:cheap"]}, "allowed_models[0]"),
    ({"name": "k", "allowed_models": ["byo:"]}, "allowed_models[0]"),
    ({"name": "k", "rate_limit": 0}, "rate_limit"),
    ({"name": "k", "rate_limit": "60"}, "rate_limit"),
    ({"name": "k", "pii_mode": "maybe"}, "pii_mode"),
    ({"name": "k", "swap_mode": "sometimes"}, "swap_mode"),
    ({"name": "k", "region": "MARS"}, "region"),
    ({"name": "k", "spend_cap": "-1"}, "spend_cap"),
    ({"name": "k", "spend_cap": {"daily": "abc"}}, "spend_cap.daily"),
    ({"name": "k", "spend_cap": {"weekly": "5"}}, "spend_cap.weekly"),
    ({"name": "k", "scopes": ["admin"]}, "scopes"),
    ({"name": "k", "scopes": []}, "scopes"),
    ({"name": "k", "mode": "prod"}, "mode"),
    ({"name": "k", "colour": "blue"}, "colour"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_mint_validation_names_the_field(gw, db, org_factory, key_factory, body, param):
    org = org_factory("1")
    admin = admin_key(key_factory, org)
    before = db.scalar("SELECT COUNT(*) FROM api_keys WHERE org_id=%s", (org,))
    audit_before = db.scalar("SELECT COUNT(*) FROM audit_log WHERE org_id=%s", (org,))
    r = mint(gw, admin, body)
    err = assert_error(r, 400, None, INVALID, param=param)
    assert param.split("[")[0].split(".")[0] in err["message"]
    assert db.scalar("SELECT COUNT(*) FROM api_keys WHERE org_id=%s", (org,)) == before
    assert db.scalar("SELECT COUNT(*) FROM audit_log WHERE org_id=%s", (org,)) == audit_before


def test_bad_bodies_are_400(gw, org_factory, key_factory):
    admin = admin_key(key_factory, org_factory("1"))
    assert_error(request(gw, "POST", "/v1/keys", admin, raw="{not json"), 400, None, INVALID)
    assert_error(request(gw, "POST", "/v1/keys", admin, raw="[1, 2]"), 400, None, INVALID)
    r = mint(gw, admin, {"name": "k"})
    key_id = r.json()["id"]
    assert_error(request(gw, "PATCH", "/v1/keys/%d" % key_id, admin, {}), 400, None, INVALID)
    assert_error(request(gw, "PATCH", "/v1/keys/%d" % key_id, admin, {"mode": "test"}), 400, None,
                 INVALID, param="mode")
    assert_error(request(gw, "PUT", "/v1/keys/%d" % key_id, admin, {"name": "x"}), 405,
                 "method_not_allowed")


def test_policies_round_trip_and_are_stored(gw, db, org_factory, key_factory):
    org = org_factory("1")
    admin = admin_key(key_factory, org)
    r = mint(gw, admin, {"name": "eu batch", "mode": "test", "region": "EU", "pii_mode": "off",
                         "swap_mode": "on",
                         "rate_limit": 60, "spend_cap": {"daily": "2.5", "monthly": 40},
                         "scopes": "account:read, inference",
                         "allowed_models": ["tier:budget", "together/llama-4-maverick", "byo:*",
                                            "byo:acme/*", "tier:budget"]})
    key = minted_key(r, org)
    doc = r.json()
    assert key.secret.startswith("cx_test_") and doc["mode"] == "test"
    assert doc["scopes"] == ["inference", "account:read"]
    assert doc["allowed_models"] == ["tier:budget", "together/llama-4-maverick", "byo:*", "byo:acme/*"]
    assert doc["spend_cap"] == {"daily": "2.500000000", "monthly": "40.000000000"}
    row = db.query("SELECT * FROM api_keys WHERE id=%s", (key.id,))[0]
    assert (row["mode"], row["region"], row["pii_mode"], row["rate_limit_rpm"]) == ("test", "EU", "off", 60)
    assert row["swap_mode"] == "on" and doc["swap_mode"] == "on"
    assert row["scopes"] == "inference,account:read"
    assert row["spend_cap_daily_nano"] == 2_500_000_000 and row["spend_cap_monthly_nano"] == 40_000_000_000
    assert json.loads(row["allowed_models"]) == doc["allowed_models"]

    # one amount is a monthly cap; null clears; fields not sent stay
    r = request(gw, "PATCH", "/v1/keys/%d" % key.id, admin, {"spend_cap": "12.25", "region": None,
                                                            "name": "eu batch (renamed)"})
    assert r.status_code == 200, r.text[:500]
    doc = r.json()
    assert doc["spend_cap"] == {"daily": "2.500000000", "monthly": "12.250000000"}
    assert doc["region"] is None and doc["name"] == "eu batch (renamed)" and doc["rate_limit"] == 60
    r = request(gw, "PATCH", "/v1/keys/%d" % key.id, admin, {"spend_cap": None, "allowed_models": None,
                                                            "rate_limit": None})
    doc = r.json()
    assert doc["spend_cap"] == {"daily": None, "monthly": None}
    assert doc["allowed_models"] is None and doc["rate_limit"] is None
    row = db.query("SELECT * FROM api_keys WHERE id=%s", (key.id,))[0]
    assert row["spend_cap_daily_nano"] is None and row["allowed_models"] is None
    # a PATCH that changes nothing is not an audit event
    n = db.scalar("SELECT COUNT(*) FROM audit_log WHERE org_id=%s AND action='key.update'", (org,))
    r = request(gw, "PATCH", "/v1/keys/%d" % key.id, admin, {"pii_mode": "off"})
    assert r.status_code == 200
    assert db.scalar("SELECT COUNT(*) FROM audit_log WHERE org_id=%s AND action='key.update'", (org,)) == n


def test_list_is_paginated_and_never_shows_secrets(gw, org_factory, key_factory):
    org = org_factory("1")
    admin = admin_key(key_factory, org)
    secrets = [minted_key(mint(gw, admin, {"name": "k%d" % i}), org).secret for i in range(5)]
    seen, cursor, pages = [], None, 0
    while True:
        r = gw.get("/v1/keys?limit=2" + ("&cursor=" + cursor if cursor else ""), admin)
        assert r.status_code == 200, r.text[:500]
        body = r.json()
        pages += 1
        assert len(body["data"]) <= 2
        for s in secrets + [admin.secret]:
            assert s not in r.text
        for k in body["data"]:
            assert "secret" not in k and "key_hash" not in k and len(k["prefix"]) == 12
        seen += [k["id"] for k in body["data"]]
        if not body["has_more"]:
            assert body["next_cursor"] is None
            break
        cursor = body["next_cursor"]
        assert cursor and not cursor.isdigit()
    assert pages == 3
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == 6   # admin + 5
    assert_error(gw.get("/v1/keys?cursor=garbage", admin), 400, None, INVALID, param="cursor")
    assert_error(gw.get("/v1/keys?limit=0", admin), 400, None, INVALID, param="limit")
    assert_error(gw.get("/v1/keys?page=2", admin), 400, None, INVALID, param="page")


def test_keys_of_other_organizations_are_invisible(gw, org_factory, key_factory):
    org_a, org_b = org_factory("1"), org_factory("1")
    admin_a, admin_b = admin_key(key_factory, org_a), admin_key(key_factory, org_b)
    theirs = minted_key(mint(gw, admin_b, {"name": "b's key"}), org_b)
    for method, body in (("GET", None), ("PATCH", {"name": "hijacked"}), ("DELETE", None)):
        assert_error(request(gw, method, "/v1/keys/%d" % theirs.id, admin_a, body), 404, "not_found")
    listed = gw.get("/v1/keys?limit=100", admin_a).json()["data"]
    assert theirs.id not in [k["id"] for k in listed]
    assert all(k["id"] != admin_b.id for k in listed)
    still = gw.get("/v1/keys/%d" % theirs.id, admin_b).json()
    assert still["name"] == "b's key" and still["revoked"] is False
    assert_error(gw.get("/v1/keys/abc", admin_a), 404, "not_found")


def test_a_key_cannot_grant_scopes_it_lacks(gw, org_factory, key_factory):
    org = org_factory("1")
    writer = key_factory(org, scopes="inference,keys:write")
    r = mint(gw, writer, {"name": "reader", "scopes": ["account:read"]})
    assert_error(r, 403, "insufficient_scope", "permission_error", param="scopes")
    child = minted_key(mint(gw, writer, {"name": "child", "scopes": ["inference", "keys:write"]}), org)
    r = request(gw, "PATCH", "/v1/keys/%d" % child.id, writer, {"scopes": ["inference", "account:read"]})
    assert_error(r, 403, "insufficient_scope", "permission_error", param="scopes")
    # narrowing is fine
    r = request(gw, "PATCH", "/v1/keys/%d" % child.id, writer, {"scopes": ["inference"]})
    assert r.status_code == 200 and r.json()["scopes"] == ["inference"]
    # a test key cannot mint live keys
    test_admin = key_factory(org, scopes=ADMIN_SCOPES, test=True)
    assert_error(mint(gw, test_admin, {"name": "live one"}), 403, "insufficient_scope", param="mode")
    assert minted_key(mint(gw, test_admin, {"name": "test one", "mode": "test"}), org).test


def test_scope_enforcement(gw, sim, org_factory, key_factory):
    org = org_factory("5")
    inference = key_factory(org)                       # the default scope only
    reader = reader_key(key_factory, org)
    writer = key_factory(org, scopes="keys:write")
    for path in ("/v1/account/balance", "/v1/account/usage", "/v1/account/audit",
                 "/v1/account/usage/cx-req-000000000000000000000000", "/v1/keys", "/v1/keys/1"):
        err = assert_error(gw.get(path, inference), 403, "insufficient_scope", "permission_error")
        assert "account:read" in err["message"]
    assert_error(mint(gw, inference, {"name": "x"}), 403, "insufficient_scope")
    assert_error(mint(gw, reader, {"name": "x"}), 403, "insufficient_scope")
    for path in ("/v1/account/usage", "/v1/account/audit"):
        assert_error(gw.get(path, writer), 403, "insufficient_scope")
    # inference endpoints demand "inference": refused before any upstream call
    sim.reset()
    for k in (reader, writer):
        err = assert_error(gw.chat(k), 403, "insufficient_scope", "permission_error")
        assert "inference" in err["message"]
    assert sim.count() == 0
    assert gw.chat(inference).status_code == 200
    for path in ("/v1/account/balance", "/v1/account/usage", "/v1/account/audit", "/v1/keys"):
        assert gw.get(path, reader).status_code == 200, path
    assert gw.get("/v1/keys", writer).status_code == 200
    assert_error(gw.get("/v1/keys"), 401, "invalid_api_key")


def test_allowlists_set_through_the_api_are_enforced(gw, sim, db, org_factory, key_factory):
    """What the keys API stores is what the gateway enforces (the allowlist rules
    themselves belong to governance: test_governance.py, unit/test_allowlist.c)."""
    org = org_factory("5")
    admin = admin_key(key_factory, org)
    budget = minted_key(mint(gw, admin, {"name": "budget only", "allowed_models": ["tier:budget"]}), org)
    assert gw.chat(budget, model="gpt-5-nano").status_code == 200
    sim.reset()
    assert_error(gw.chat(budget, model="gpt-4o-mini"), 403, "model_not_allowed")   # tier mid
    assert sim.count() == 0
    pinned = minted_key(mint(gw, admin, {"name": "maverick", "allowed_models": ["together/llama-4-maverick"]}),
                        org)
    r = gw.chat(pinned, model="together/llama-4-maverick")
    assert r.status_code == 200, r.text[:300]
    assert r.headers["x-conduix-provider"] == "together"
    assert_error(gw.chat(pinned, model="gpt-5-nano"), 403, "model_not_allowed")
    # an empty list allows nothing
    nothing = minted_key(mint(gw, admin, {"name": "frozen", "allowed_models": []}), org)
    assert gw.get("/v1/keys/%d" % nothing.id, admin).json()["allowed_models"] == []
    assert_error(gw.chat(nothing, model="gpt-5-nano"), 403, "model_not_allowed")
    denied = db.query("SELECT actor_id, detail FROM audit_log WHERE org_id=%s AND action='request.denied' "
                      "ORDER BY id", (org,))
    assert [d["actor_id"] for d in denied] == [budget.id, pinned.id, nothing.id]
    assert json.loads(denied[0]["detail"]) == {"code": "model_not_allowed", "model": "gpt-4o-mini"}
