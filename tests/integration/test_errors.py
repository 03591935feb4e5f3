"""Every rejection of SPEC §3 that issue 2 covers, with HTTP status and the
OpenAI envelope; rejections are decided before any upstream call and cost
nothing."""

from __future__ import annotations

import json

import pytest

from harness import REQUEST_ID_RE, assert_error

CHAT = "/v1/chat/completions"
GOOD = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}
INVALID = "invalid_request_error"


def _assert_rejected_before_upstream(sim, db=None, org_id=None, balance_before=None):
    assert sim.count() == 0, "a rejected request reached a provider: %r" % sim.requests()
    if db is not None:
        assert db.balance_nano(org_id) == balance_before, "a rejected request was charged"


def _assert_request_id(r):
    assert REQUEST_ID_RE.match(r.headers.get("x-conduix-request-id", "")), \
        "error response without x-conduix-request-id: %r" % dict(r.headers)


# --- authentication ---------------------------------------------------------------

@pytest.mark.parametrize("auth", [
    None,
    "Bearer",
    "Bearer ",
    "Bearer garbage",
    "Basic dXNlcjpwYXNz",
    "Bearer cx_live_short",
    "Bearer cx_live_" + "A1b2C3d4E5" * 4,       # well-formed, unknown
    "Bearer cx_test_" + "Z9y8X7w6V5" * 4,       # well-formed, unknown
    "Bearer sk-proj-" + "a" * 40,               # an OpenAI key is not a Conduix key
], ids=["missing", "bearer-empty", "bearer-space", "garbage", "basic", "short", "unknown-live",
        "unknown-test", "openai-key"])
def test_bad_key_is_401(gw, sim, auth):
    headers = {"Authorization": auth} if auth is not None else {}
    r = gw.post(CHAT, json_body=GOOD, headers=headers)
    assert_error(r, 401, "invalid_api_key", INVALID)
    _assert_rejected_before_upstream(sim)


def test_revoked_key_is_401(gw, sim, org_factory, key_factory, revoke_key):
    key = key_factory(org_factory("10"))
    revoke_key(key)
    r = gw.chat(key)
    assert_error(r, 401, "invalid_api_key", INVALID)
    _assert_rejected_before_upstream(sim)


# --- request validation ---------------------------------------------------------------

def test_bad_json_is_400(gw, sim, db, live_key):
    before = db.balance_nano(live_key.org_id)
    for raw in ['{"model": "gpt-4o-mini", "messages": [', "not json at all", "", "[]", "null"]:
        r = gw.post(CHAT, live_key, data=raw)
        err = assert_error(r, 400, type_=INVALID)
        assert err["message"], raw
        _assert_request_id(r)
    _assert_rejected_before_upstream(sim, db, live_key.org_id, before)


def test_missing_messages_is_400(gw, sim, live_key):
    r = gw.post(CHAT, live_key, json_body={"model": "gpt-4o-mini"})
    err = assert_error(r, 400, type_=INVALID, param="messages")
    assert "messages" in err["message"]
    _assert_request_id(r)
    _assert_rejected_before_upstream(sim)


def test_missing_model_is_400(gw, sim, live_key):
    r = gw.post(CHAT, live_key, json_body={"messages": GOOD["messages"]})
    err = assert_error(r, 400, type_=INVALID, param="model")
    assert "model" in err["message"]
    _assert_rejected_before_upstream(sim)


@pytest.mark.parametrize("field,value", [
    ("temperature", "hot"),
    ("temperature", [1]),
    ("messages", "hello"),
    ("stream", "yes"),
    ("max_tokens", "ten"),
])
def test_wrong_type_is_400_naming_the_field(gw, sim, live_key, field, value):
    body = dict(GOOD)
    body[field] = value
    r = gw.post(CHAT, live_key, json_body=body)
    err = assert_error(r, 400, type_=INVALID, param=field)
    assert field in err["message"], err
    _assert_rejected_before_upstream(sim)


def test_bad_message_entry_names_the_path(gw, sim, live_key):
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "a"}, {"content": "b"}]}
    r = gw.post(CHAT, live_key, json_body=body)
    err = assert_error(r, 400, type_=INVALID)
    assert err["param"] and err["param"].startswith("messages"), err
    _assert_rejected_before_upstream(sim)


def test_body_over_limit_is_413(gw, sim, db, live_key):
    before = db.balance_nano(live_key.org_id)
    big = "x" * (1024 * 1024 + 4096)       # ConduixMaxBodySize 1048576
    body = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": big}]})
    r = gw.post(CHAT, live_key, data=body)
    assert_error(r, 413, "request_too_large", INVALID)
    _assert_rejected_before_upstream(sim, db, live_key.org_id, before)


def test_body_just_under_limit_is_accepted(gw, sim, live_key):
    text = "word " * 50000                   # ~250 KB, well under the limit
    r = gw.chat(live_key, content=text)
    assert r.status_code == 200, r.text[:500]


# --- routing -------------------------------------------------------------------------------

def test_unknown_model_is_404(gw, sim, db, live_key):
    before = db.balance_nano(live_key.org_id)
    r = gw.chat(live_key, model="no-such-model-3000")
    assert_error(r, 404, "model_not_found", INVALID)
    _assert_request_id(r)
    _assert_rejected_before_upstream(sim, db, live_key.org_id, before)


# --- credits ----------------------------------------------------------------------------------

def test_zero_balance_is_402_before_upstream(gw, sim, db, org_factory, key_factory):
    org = org_factory("0")
    key = key_factory(org)
    assert db.balance_nano(org) == 0
    for stream in (False, True):
        r = gw.chat(key, stream=stream)
        assert_error(r, 402, "insufficient_credits", "insufficient_quota")
        _assert_request_id(r)
    _assert_rejected_before_upstream(sim, db, org, 0)


# --- upstream failures ------------------------------------------------------------------------

def test_upstream_400_comes_back_in_the_envelope(gw, sim, db, live_key):
    before = db.balance_nano(live_key.org_id)
    sim.fault(provider="openai", status=400, count=1,
              message="Invalid 'max_tokens': integer below minimum value.")
    r = gw.chat(live_key, max_tokens=1)
    err = assert_error(r, 400, type_=INVALID)
    assert "max_tokens" in err["message"]
    assert sim.count() == 1, "a client error must not be retried or fall over"
    assert r.headers.get("x-conduix-provider") in (None, "openai")
    assert db.balance_nano(live_key.org_id) == before, "a failed request was charged"


@pytest.mark.parametrize("status", [500, 503])
def test_upstream_5xx_is_502_or_503(gw, sim, db, live_key, status):
    before = db.balance_nano(live_key.org_id)
    sim.fault(provider="*", status=status, count=50)     # every provider of any chain fails
    r = gw.chat(live_key)
    assert r.status_code in (502, 503), r.text[:500]
    code = {502: "upstream_error", 503: "provider_unavailable"}[r.status_code]
    assert_error(r, r.status_code, code)
    _assert_request_id(r)
    assert sim.count() >= 1
    assert db.balance_nano(live_key.org_id) == before, "a failed request was charged"


def test_upstream_5xx_on_stream_is_an_error_not_a_clean_stream(gw, sim, live_key):
    sim.fault(provider="*", status=503, count=50)
    r = gw.chat(live_key, stream=True)
    if r.status_code in (502, 503):
        code = {502: "upstream_error", 503: "provider_unavailable"}[r.status_code]
        assert_error(r, r.status_code, code)
    else:
        # headers already sent: the stream must end with an error event, never [DONE]
        assert r.status_code == 200
        assert "data: [DONE]" not in r.text
        assert '"error"' in r.text
