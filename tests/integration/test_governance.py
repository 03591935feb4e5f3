"""Governance levers through httpd and the simulator (issue 5, part 1): per-key
allowlists, region pinning (fallbacks included), PII redaction, test keys and
cheaper-model swaps; every rejection with its code and no upstream call; every
lever change audited.

Policies are set with `conduixctl key-set` / `org-set` on a fresh key and org
before their first request, so the per-child caches (ConduixKeyCacheTTL) never
hold an older value during a test."""

from __future__ import annotations

import json
from decimal import Decimal

import pymysql
import pytest

from harness import NANO, REQUEST_ID_RE, as_decimal, assert_error, cost_nano, iter_sse, wait_for

CHAT = "/v1/chat/completions"
E, S, P, C = "[REDACTED_EMAIL]", "[REDACTED_SSN]", "[REDACTED_PHONE]", "[REDACTED_CARD]"
PII_TEXT = ("Reach me at jane.doe@example.com or 555-123-4567; SSN 123-45-6789; "
            "card 4111 1111 1111 1111.")
PII_REDACTED = ("Reach me at %s or %s; SSN %s; card %s." % (E, P, S, C))


# --------------------------------------------------------------------- helpers

def key_set(ctl, key, **fields) -> str:
    """conduixctl key-set --id ID --allowed-models ... (None -> "none")."""
    args = ["key-set", "--id", str(key.id)]
    for name, value in fields.items():
        if name == "allowed_models" and value is not None and not isinstance(value, str):
            value = json.dumps(value)
        args += ["--" + name.replace("_", "-"), "none" if value is None else str(value)]
    return ctl.run(*args).stdout


def org_set(ctl, org_id: int, name: str, value) -> str:
    if not isinstance(value, str):
        value = json.dumps(value)
    return ctl.run("org-set", "--org", str(org_id), "--name", name, "--value", value).stdout


@pytest.fixture
def make_key(org_factory, key_factory, ctl):
    """make_key(org_settings={...}, test=False, **key_fields) -> Key of a fresh org."""
    def make(org_settings: dict | None = None, test: bool = False, credits: str = "100", **fields):
        org = org_factory(credits)
        for name, value in (org_settings or {}).items():
            org_set(ctl, org, name, value)
        key = key_factory(org, test=test)
        if fields:
            key_set(ctl, key, **fields)
        return key
    return make


def rejected_before_upstream(sim, db, key, balance_before):
    assert sim.count() == 0, "a rejected request reached a provider: %r" % sim.requests()
    assert db.balance_nano(key.org_id) == balance_before, "a rejected request was charged"
    assert db.usage_rows(key.id) == []


def served(r, provider: str, model: str, fallback: bool = False):
    assert r.status_code == 200, r.text[:500]
    assert r.headers.get("x-conduix-provider") == provider, dict(r.headers)
    assert r.headers.get("x-conduix-model-served") == model, dict(r.headers)
    assert r.headers.get("x-conduix-fallback") == ("true" if fallback else "false"), dict(r.headers)


def providers_called(sim) -> list[str]:
    return [e["provider"] for e in sim.requests()["requests"]]


def sent_text(sim, provider: str, message: int = 0):
    body = sim.last(provider)["body"]
    return body["messages"][message]["content"]


# --------------------------------------------------------------------- order of checks

def test_checks_run_in_spec_order(gw, sim, make_key):
    """SPEC §4: validation -> model resolution -> allowlist -> region -> credits."""
    key = make_key(credits="0", region="EU", allowed_models=["gpt-4o-mini", "mistral-large-2407"])
    bad_header = {"x-conduix-pii-redact": "maybe"}
    assert_error(gw.chat(key, model="no-such-model", headers=bad_header), 400)
    assert_error(gw.chat(key, model="no-such-model"), 404, "model_not_found")
    assert_error(gw.chat(key, model="gpt-4o"), 403, "model_not_allowed")          # also not in EU
    assert_error(gw.chat(key, model="gpt-4o-mini"), 403, "provider_not_permitted")  # also no credits
    assert_error(gw.chat(key, model="mistral-large-2407"), 402, "insufficient_credits")
    assert sim.count() == 0


# --------------------------------------------------------------------- allowlists

def test_allowlist_blocks_with_403_before_upstream(gw, sim, db, make_key):
    key = make_key(allowed_models=["gpt-4o-mini"])
    before = db.balance_nano(key.org_id)
    for model in ("gpt-4o", "o3", "deepseek-v4-flash", "deepseek/deepseek-v4-flash"):
        r = gw.chat(key, model=model)
        err = assert_error(r, 403, "model_not_allowed", "permission_error", param="model")
        assert model in err["message"]
        assert REQUEST_ID_RE.match(r.headers.get("x-conduix-request-id", ""))
    r = gw.chat(key, model="gpt-4o", stream=True)
    assert_error(r, 403, "model_not_allowed")
    rejected_before_upstream(sim, db, key, before)
    served(gw.chat(key, model="gpt-4o-mini"), "openai", "gpt-4o-mini")


def test_allowlist_matches_aliases_and_pins(gw, sim, make_key):
    # the canonical id admits its aliases and provider pins ...
    key = make_key(allowed_models=["deepseek-chat"])
    served(gw.chat(key, model="deepseek-v3"), "deepseek", "deepseek-chat")
    served(gw.chat(key, model="deepseek/deepseek-chat"), "deepseek", "deepseek-chat")
    # ... and an alias admits the canonical id
    key = make_key(allowed_models=["llama-3.3-70b"])
    served(gw.chat(key, model="llama-3.3-70b-versatile"), "groq", "llama-3.3-70b-versatile")
    served(gw.chat(key, model="together/llama-3.3-70b-versatile"), "together", "llama-3.3-70b-versatile")
    assert_error(gw.chat(key, model="llama-4-maverick"), 403, "model_not_allowed")
    # SPEC/004's example: the dated Claude id admits the short alias. Anthropic has
    # no upstream adapter yet (503 provider_unavailable), but the allowlist passed.
    key = make_key(allowed_models=["claude-haiku-4-5-20251001"])
    for model in ("claude-haiku-4-5", "anthropic/claude-haiku-4-5"):
        r = gw.chat(key, model=model)
        assert r.status_code != 403, r.text
    assert_error(gw.chat(key, model="claude-sonnet-4"), 403, "model_not_allowed")


def test_allowlist_tier(gw, sim, make_key):
    key = make_key(allowed_models=["tier:budget"])
    served(gw.chat(key, model="deepseek-v4-flash"), "deepseek", "deepseek-v4-flash")
    served(gw.chat(key, model="gpt-5-nano"), "openai", "gpt-5-nano")
    for model in ("gpt-4o", "gpt-4o-mini", "o3"):
        assert_error(gw.chat(key, model=model), 403, "model_not_allowed")
    assert providers_called(sim) == ["deepseek", "openai"]


def test_empty_allowlist_admits_nothing(gw, sim, db, make_key):
    key = make_key(allowed_models=[])
    before = db.balance_nano(key.org_id)
    assert_error(gw.chat(key, model="gpt-4o-mini"), 403, "model_not_allowed")
    rejected_before_upstream(sim, db, key, before)


def test_fallbacks_never_route_outside_the_allowlist(gw, sim, make_key):
    # deepseek-chat's chain: deepseek -> llama-4-maverick@groq -> qwen2.5-72b@together -> sarvam-105b
    key = make_key(allowed_models=["deepseek-chat", "sarvam-105b"])
    sim.fault(provider="deepseek", status=503, count=1)
    r = gw.chat(key, model="deepseek-chat")
    served(r, "sarvam", "sarvam-105b", fallback=True)
    assert r.json()["model"] == "deepseek-chat"
    assert providers_called(sim) == ["deepseek", "sarvam"]
    # nothing else allowed: the chain ends after the failed primary
    sim.reset()
    key = make_key(allowed_models=["deepseek-chat"])
    sim.fault(provider="deepseek", status=503, count=1)
    assert_error(gw.chat(key, model="deepseek-chat"), 503, "provider_unavailable")
    assert providers_called(sim) == ["deepseek"]


def test_malformed_stored_allowlist_refuses(gw, sim, db, make_key):
    key = make_key()
    db.execute("UPDATE api_keys SET allowed_models = %s WHERE id = %s", ('["gpt-4o-mini"', key.id))
    before = db.balance_nano(key.org_id)
    err = assert_error(gw.chat(key), 403, "model_not_allowed")
    assert "malformed" in err["message"]
    rejected_before_upstream(sim, db, key, before)


# --------------------------------------------------------------------- region pinning

def test_region_without_provider_is_403(gw, sim, db, make_key):
    key = make_key(region="EU")
    before = db.balance_nano(key.org_id)
    # gpt-4o-mini and its whole chain are US-served
    err = assert_error(gw.chat(key, model="gpt-4o-mini"), 403, "provider_not_permitted",
                       "permission_error", param="model")
    assert "EU" in err["message"]
    assert_error(gw.chat(key, model="deepseek-v4-flash", stream=True), 403, "provider_not_permitted")
    rejected_before_upstream(sim, db, key, before)
    served(gw.chat(key, model="mistral-large-2407"), "mistral", "mistral-large-2407")


def test_region_drops_out_of_region_primary(gw, sim, db, make_key):
    # deepseek-v4-flash: deepseek(US) -> maverick@groq(US) -> sarvam-105b(APAC) -> glm-4-plus(APAC)
    key = make_key(region="APAC")
    for stream in (False, True):
        r = gw.chat(key, model="deepseek-v4-flash", stream=stream)
        # the first in-region candidate is the chain's third choice: a fallback,
        # although nothing failed and it was the first one tried
        served(r, "sarvam", "sarvam-105b", fallback=True)
        if not stream:
            assert r.json()["model"] == "deepseek-v4-flash"
        r.close()
    assert providers_called(sim) == ["sarvam", "sarvam"]
    rows = db.wait_usage_rows(key.id, 2)
    assert [row["fallback"] for row in rows] == [1, 1]


def test_first_choice_is_not_a_fallback(gw, sim, db, make_key):
    # pinned to the primary's own region, the primary serves: not a fallback
    key = make_key(region="US")
    served(gw.chat(key, model="deepseek-v4-flash"), "deepseek", "deepseek-v4-flash", fallback=False)
    # the primary fails in-region: the next in-region candidate is a fallback
    sim.fault(provider="deepseek", status=503, count=1)
    served(gw.chat(key, model="deepseek-v4-flash"), "groq", "llama-4-maverick", fallback=True)
    rows = db.wait_usage_rows(key.id, 2)
    assert [row["fallback"] for row in rows] == [0, 1]


def test_region_fallback_stays_in_region(gw, sim, make_key):
    # qwen-max: qwen(APAC) -> doubao-seed-2.1-pro(APAC) -> glm-4-plus(APAC) -> gpt-4o@openai(US)
    key = make_key(region="APAC")
    sim.fault(provider="qwen", status=503, count=1)
    served(gw.chat(key, model="qwen-max"), "doubao", "doubao-seed-2.1-pro", fallback=True)
    assert providers_called(sim) == ["qwen", "doubao"]
    # every in-region provider down: 503, and the US fallback is never tried
    sim.reset()
    for prov in ("qwen", "doubao", "glm"):
        sim.fault(provider=prov, status=503, count=1)
    assert_error(gw.chat(key, model="qwen-max"), 503, "provider_unavailable")
    assert providers_called(sim) == ["qwen", "doubao", "glm"]
    # an unpinned key falls over to the US provider
    sim.reset()
    free = make_key()
    for prov in ("qwen", "doubao", "glm"):
        sim.fault(provider=prov, status=503, count=1)
    served(gw.chat(free, model="qwen-max"), "openai", "gpt-4o", fallback=True)


def test_region_fallback_stays_in_region_streaming(gw, sim, make_key):
    key = make_key(region="EU")
    sim.fault(provider="mistral", status=503, count=1)
    # mistral-large's fallbacks are US and APAC: nothing left in the EU
    assert_error(gw.chat(key, model="mistral-large-2407", stream=True), 503, "provider_unavailable")
    assert providers_called(sim) == ["mistral"]


# --------------------------------------------------------------------- PII redaction

def test_org_default_redacts(gw, sim, make_key):
    key = make_key(org_settings={"pii_default": "on"})
    r = gw.chat(key, content=PII_TEXT)
    assert r.status_code == 200, r.text
    assert r.headers.get("x-conduix-pii-redacted") == "4"
    assert sent_text(sim, "openai") == PII_REDACTED
    # the simulator echoes what it received: the user sees the redacted text too
    reply = r.json()["choices"][0]["message"]["content"]
    assert "jane.doe@example.com" not in reply and E in reply


def test_redaction_off_by_default(gw, sim, make_key):
    key = make_key()
    r = gw.chat(key, content=PII_TEXT)
    assert r.status_code == 200, r.text
    assert "x-conduix-pii-redacted" not in r.headers
    assert sent_text(sim, "openai") == PII_TEXT


@pytest.mark.parametrize("org_default,key_mode,header,redacts", [
    ("off", "redact", None, True),
    ("on", "off", None, False),
    ("on", "inherit", None, True),
    ("off", "off", "true", True),
    ("on", "redact", "false", False),
    ("off", "inherit", "TRUE", True),
])
def test_redaction_precedence(gw, sim, make_key, org_default, key_mode, header, redacts):
    key = make_key(org_settings={"pii_default": org_default}, pii_mode=key_mode)
    headers = {"x-conduix-pii-redact": header} if header else None
    r = gw.chat(key, content=PII_TEXT, headers=headers)
    assert r.status_code == 200, r.text
    if redacts:
        assert r.headers.get("x-conduix-pii-redacted") == "4"
        assert sent_text(sim, "openai") == PII_REDACTED
    else:
        assert "x-conduix-pii-redacted" not in r.headers
        assert sent_text(sim, "openai") == PII_TEXT


def test_org_setting_change_applies_within_the_cache_ttl(gw, sim, ctl, make_key):
    """Children cache org settings for ConduixKeyCacheTTL (5 s in the test config):
    a change made after the org's first request reaches every child soon after."""
    key = make_key()
    assert "x-conduix-pii-redacted" not in gw.chat(key, content=PII_TEXT).headers
    org_set(ctl, key.org_id, "pii_default", "on")

    def every_child_redacts():
        # several requests in a row, so that (under prefork) several children answer
        return all(gw.chat(key, content=PII_TEXT).headers.get("x-conduix-pii-redacted") == "4"
                   for _ in range(6))
    assert wait_for(every_child_redacts, timeout=20, interval=0.25), \
        "the new org default did not apply within the cache TTL"
    assert sent_text(sim, "openai") == PII_REDACTED


def test_bad_redaction_header_is_400(gw, sim, db, make_key):
    key = make_key()
    before = db.balance_nano(key.org_id)
    err = assert_error(gw.chat(key, headers={"x-conduix-pii-redact": "yes"}), 400,
                       type_="invalid_request_error")
    assert "x-conduix-pii-redact" in err["message"]
    rejected_before_upstream(sim, db, key, before)


def test_redaction_ran_and_found_nothing(gw, sim, make_key):
    key = make_key(pii_mode="redact")
    text = "Release 2.4.59 ships 2024-01-15 to 192.168.1.1 for $1,299.99, order ORD-555-123-4567"
    r = gw.chat(key, content=text)
    assert r.status_code == 200, r.text
    assert r.headers.get("x-conduix-pii-redacted") == "0"
    assert sent_text(sim, "openai") == text


def test_redaction_in_every_message_and_part(gw, sim, make_key):
    key = make_key(pii_mode="redact")
    url = "https://img.example.com/u/jane@example.com/4111111111111111.png"
    body = {"model": "gpt-4o-mini", "messages": [
        {"role": "system", "content": "Escalate to ops@example.com"},
        {"role": "user", "content": [
            {"type": "text", "text": "my number is +44 20 7946 0958"},
            {"type": "image_url", "image_url": {"url": url}}]},
        {"role": "assistant", "content": "Noted: 5555 5555 5555 4444"},
        {"role": "user", "content": "and my SSN: 078-05-1120"}]}
    r = gw.chat(key, body)
    assert r.status_code == 200, r.text
    assert r.headers.get("x-conduix-pii-redacted") == "4"
    got = sim.last("openai")["body"]["messages"]
    assert got[0]["content"] == "Escalate to " + E
    assert got[1]["content"][0] == {"type": "text", "text": "my number is " + P}
    assert got[1]["content"][1]["image_url"]["url"] == url, "an image URL was rewritten"
    assert got[2]["content"] == "Noted: " + C
    assert got[3]["content"] == "and my SSN: " + S


def test_redaction_of_json_escaped_text(gw, sim, make_key):
    """The redactor sees decoded strings; the upstream body is valid JSON again."""
    key = make_key(pii_mode="redact")
    raw = ('{"model":"gpt-4o-mini","messages":[{"role":"user","content":'
           '"mail a\\u0040example.com\\n\\ud83d\\udcde 555\\u002d123\\u002d4567 \\"quoted\\" \\\\ '
           '\\u90ae\\u7bb1 zhang@example.cn"}]}')
    r = gw.post(CHAT, key, data=raw)
    assert r.status_code == 200, r.text
    assert r.headers.get("x-conduix-pii-redacted") == "3"
    assert sent_text(sim, "openai") == "mail %s\n\U0001F4DE %s \"quoted\" \\ 邮箱 %s" % (E, P, E)


def test_redaction_when_streaming(gw, sim, make_key):
    key = make_key(org_settings={"pii_default": "on"})
    r = gw.chat(key, content=PII_TEXT, stream=True)
    assert r.status_code == 200, r.text
    assert r.headers.get("x-conduix-pii-redacted") == "4"
    events = list(iter_sse(r))
    assert events[-1].data == "[DONE]"
    text = "".join((e.json()["choices"][0]["delta"].get("content") or "")
                   for e in events[:-1] if e.json().get("choices"))
    assert "4111" not in text and C in text
    assert sent_text(sim, "openai") == PII_REDACTED


def test_redaction_applies_to_fallback_bodies(gw, sim, make_key):
    key = make_key(pii_mode="redact")
    sim.fault(provider="deepseek", status=503, count=1)
    r = gw.chat(key, model="deepseek-chat", content=PII_TEXT)
    served(r, "groq", "llama-4-maverick", fallback=True)
    assert sent_text(sim, "deepseek") == PII_REDACTED
    assert sent_text(sim, "groq") == PII_REDACTED


# --------------------------------------------------------------------- cheaper-model swaps

SWAPS_ON = {"swaps_enabled": "on"}


def test_swap_to_cheapest_of_the_band(gw, sim, db, make_key):
    # flagship, any region: sarvam-30b ($0.03/$0.12) is the cheapest routable model
    key = make_key(org_settings=SWAPS_ON)
    r = gw.chat(key, model="gpt-4o", content="Summarise this")
    served(r, "sarvam", "sarvam-30b")
    assert r.headers.get("x-gateway-routed-from") == "gpt-4o"
    body = r.json()
    assert body["model"] == "gpt-4o", "the response must echo the requested model"
    assert providers_called(sim) == ["sarvam"]
    # billed at the served model's price, and the usage row says what was asked and served
    u = body["usage"]
    want = cost_nano(u["prompt_tokens"], u["completion_tokens"], Decimal("0.03"), Decimal("0.12"))
    assert as_decimal(r.headers["x-conduix-cost-credits"]) * NANO == want
    rows = db.wait_usage_rows(key.id, 1)
    assert len(rows) == 1
    assert (rows[0]["requested_model"], rows[0]["served_model"], rows[0]["provider"]) == \
        ("gpt-4o", "sarvam-30b", "sarvam")
    assert int(rows[0]["charged_nano"]) == want


def test_swap_respects_region(gw, sim, make_key):
    key = make_key(org_settings=SWAPS_ON, region="US")
    r = gw.chat(key, model="gpt-4o")
    served(r, "deepseek", "deepseek-v4-flash")
    assert r.headers.get("x-gateway-routed-from") == "gpt-4o"
    key = make_key(org_settings=SWAPS_ON, region="EU")
    r = gw.chat(key, model="mistral-large-2407")      # the only EU flagship
    served(r, "mistral", "mistral-large-2407")
    assert "x-gateway-routed-from" not in r.headers


def test_swap_never_across_bands(gw, sim, make_key):
    # deepseek-v4-flash (flagship) is cheaper than gpt-5-nano (cheap-fast), but a
    # cheap-fast request stays in its band
    key = make_key(org_settings=SWAPS_ON, region="US")
    r = gw.chat(key, model="gpt-4o-mini")
    served(r, "openai", "gpt-5-nano")
    assert r.headers.get("x-gateway-routed-from") == "gpt-4o-mini"


def test_swap_never_for_band_none(gw, sim, make_key):
    key = make_key(org_settings=SWAPS_ON, region="US")
    for model, provider in (("o3", "openai"), ("deepseek-reasoner", "deepseek")):
        r = gw.chat(key, model=model)
        served(r, provider, model)
        assert "x-gateway-routed-from" not in r.headers


def test_swap_never_with_tools(gw, sim, make_key):
    key = make_key(org_settings=SWAPS_ON, region="US")
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"location": {"type": "string"}}}}}]
    r = gw.chat(key, model="gpt-4o", content="weather in Paris?", tools=tools)
    served(r, "openai", "gpt-4o")
    assert "x-gateway-routed-from" not in r.headers


def test_swap_vision_only_to_vision(gw, sim, make_key):
    key = make_key(org_settings=SWAPS_ON, region="US")
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "What is in this picture?"},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]}]}
    r = gw.chat(key, body)
    # the cheapest vision model in the US band (deepseek-v4-flash is text-only)
    served(r, "groq", "llama-4-maverick")
    assert r.headers.get("x-gateway-routed-from") == "gpt-4o"
    # the same request without the image may go to a text-only model
    served(gw.chat(key, model="gpt-4o"), "deepseek", "deepseek-v4-flash")


def test_swap_disabled_by_explicit_routing(gw, sim, make_key):
    key = make_key(org_settings=SWAPS_ON)
    r = gw.chat(key, model="gpt-4o", headers={"X-Gateway-Routing": "explicit"})
    served(r, "openai", "gpt-4o")
    assert "x-gateway-routed-from" not in r.headers
    assert_error(gw.chat(key, model="gpt-4o", headers={"X-Gateway-Routing": "cheapest"}), 400,
                 type_="invalid_request_error")


@pytest.mark.parametrize("org,key_mode,swaps", [
    ("off", "inherit", False),
    (None, "inherit", False),      # no setting: swaps are opt-in
    ("on", "off", False),
    ("off", "on", True),
    (None, "on", True),
])
def test_swap_opt_in_precedence(gw, sim, make_key, org, key_mode, swaps):
    settings = {"swaps_enabled": org} if org else None
    key = make_key(org_settings=settings, swap_mode=key_mode, region="US")
    r = gw.chat(key, model="gpt-4o")
    if swaps:
        served(r, "deepseek", "deepseek-v4-flash")
        assert r.headers.get("x-gateway-routed-from") == "gpt-4o"
    else:
        served(r, "openai", "gpt-4o")
        assert "x-gateway-routed-from" not in r.headers


def test_swap_org_pinning(gw, sim, ctl, make_key):
    key = make_key(org_settings={"swaps_enabled": "on", "swap_never_from": ["gpt-4o"]}, region="US")
    r = gw.chat(key, model="gpt-4o")
    served(r, "openai", "gpt-4o")
    assert "x-gateway-routed-from" not in r.headers
    served(gw.chat(key, model="grok-4"), "deepseek", "deepseek-v4-flash")   # others still swap
    # never_to: the next cheapest US flagship is Llama 4 Scout on groq ($0.11/$0.34)
    key = make_key(org_settings={"swaps_enabled": "on", "swap_never_to": ["deepseek-v4-flash"]},
                   region="US")
    r = gw.chat(key, model="gpt-4o")
    served(r, "groq", "meta-llama/Llama-4-Scout-17B-16E-Instruct")
    assert r.headers.get("x-gateway-routed-from") == "gpt-4o"


def test_swap_only_to_allowed_models(gw, sim, make_key):
    key = make_key(org_settings=SWAPS_ON, region="US", allowed_models=["gpt-4o", "deepseek-chat"])
    served(gw.chat(key, model="gpt-4o"), "deepseek", "deepseek-chat")
    key = make_key(org_settings=SWAPS_ON, region="US", allowed_models=["gpt-4o"])
    r = gw.chat(key, model="gpt-4o")
    served(r, "openai", "gpt-4o")
    assert "x-gateway-routed-from" not in r.headers


def test_swap_target_failure_falls_back_to_requested(gw, sim, db, make_key):
    key = make_key(org_settings=SWAPS_ON, region="US")
    sim.fault(provider="deepseek", status=503, count=1)
    r = gw.chat(key, model="gpt-4o")
    # the requested model's own first choice answered: neither a swap nor a fallback
    served(r, "openai", "gpt-4o", fallback=False)
    assert "x-gateway-routed-from" not in r.headers
    assert providers_called(sim) == ["deepseek", "openai"]
    rows = db.wait_usage_rows(key.id, 1)
    assert (rows[0]["requested_model"], rows[0]["served_model"], rows[0]["fallback"]) == \
        ("gpt-4o", "gpt-4o", 0)
    # the swap target answers: a swap, reported as such and not as a fallback
    r = gw.chat(key, model="gpt-4o")
    served(r, "deepseek", "deepseek-v4-flash", fallback=False)
    assert r.headers.get("x-gateway-routed-from") == "gpt-4o"


def test_swap_streaming(gw, sim, make_key):
    key = make_key(org_settings=SWAPS_ON, region="US")
    r = gw.chat(key, model="gpt-4o", stream=True)
    assert r.status_code == 200, r.text
    assert r.headers.get("x-gateway-routed-from") == "gpt-4o"
    assert r.headers.get("x-conduix-model-served") == "deepseek-v4-flash"
    events = list(iter_sse(r))
    assert events[-1].data == "[DONE]"
    assert {e.json()["model"] for e in events[:-1]} == {"gpt-4o"}
    assert sim.last("deepseek")["model"] == "deepseek-v4-flash"


# --------------------------------------------------------------------- test keys

def test_test_keys_run_full_governance_and_charge_nothing(gw, sim, db, make_key):
    key = make_key(test=True, org_settings={"swaps_enabled": "on", "pii_default": "on"},
                   allowed_models=["gpt-4o", "deepseek-v4-flash"], region="US")
    before = db.balance_nano(key.org_id)
    assert_error(gw.chat(key, model="gpt-4o-mini"), 403, "model_not_allowed")
    assert sim.count() == 0
    r = gw.chat(key, model="gpt-4o", content=PII_TEXT)
    served(r, "deepseek", "deepseek-v4-flash")
    assert r.headers.get("x-gateway-routed-from") == "gpt-4o"
    assert r.headers.get("x-conduix-pii-redacted") == "4"
    assert sent_text(sim, "deepseek") == PII_REDACTED
    rows = db.wait_usage_rows(key.id, 1)
    assert len(rows) == 1 and rows[0]["mode"] == "test"
    assert int(rows[0]["cost_nano"]) > 0 and int(rows[0]["charged_nano"]) == 0
    assert db.balance_nano(key.org_id) == before
    assert db.ledger_rows(key.org_id)[-1]["kind"] == "grant"    # no charge entry


# --------------------------------------------------------------------- audit

def audit_rows(db, org_id: int) -> list[dict]:
    return db.query("SELECT * FROM audit_log WHERE org_id=%s AND action IN "
                    "('key.update','org.setting.update') ORDER BY id", (org_id,))


def test_key_set_is_audited(ctl, db, org_factory, key_factory):
    key = key_factory(org_factory())
    out = key_set(ctl, key, allowed_models=["gpt-4o-mini", "tier:budget"], region="eu",
                  pii_mode="redact", swap_mode="on", rate_limit=60)
    assert "region: null -> EU" in out
    row = db.query("SELECT allowed_models, region, pii_mode, swap_mode, rate_limit_rpm "
                   "FROM api_keys WHERE id=%s", (key.id,))[0]
    assert json.loads(row["allowed_models"]) == ["gpt-4o-mini", "tier:budget"]
    assert (row["region"], row["pii_mode"], row["swap_mode"], row["rate_limit_rpm"]) == \
        ("EU", "redact", "on", 60)
    rows = audit_rows(db, key.org_id)
    assert len(rows) == 5
    details = {}
    for a in rows:
        assert a["action"] == "key.update" and a["target"] == "key:%d" % key.id
        assert (a["actor_type"], a["actor_label"]) == ("operator", "conduixctl")
        assert a["ip"], "audit row without an IP"
        assert REQUEST_ID_RE.match(a["request_id"] or "")
        d = json.loads(a["detail"])
        details[d["field"]] = (d["before"], d["after"])
    assert len({a["request_id"] for a in rows}) == 1, "one invocation, one request id"
    assert details == {
        "allowed_models": (None, ["gpt-4o-mini", "tier:budget"]),
        "region": (None, "EU"),
        "pii_mode": ("inherit", "redact"),
        "swap_mode": ("inherit", "on"),
        "rate_limit": (None, 60),
    }
    # clearing is a change too; setting the same value again is not
    key_set(ctl, key, allowed_models=None, region="EU")
    rows = audit_rows(db, key.org_id)
    assert len(rows) == 6
    d = json.loads(rows[-1]["detail"])
    assert d == {"field": "allowed_models", "before": ["gpt-4o-mini", "tier:budget"], "after": None}


@pytest.mark.parametrize("args,complaint", [
    (["--region", "MARS"], "region"),
    (["--allowed-models", '["gpt-9"]'], "gpt-9"),
    (["--allowed-models", "gpt-4o"], "JSON"),
    (["--allowed-models", '["tier:gold"]'], "tier"),
    (["--pii-mode", "on"], "pii_mode"),
    (["--swap-mode", "always"], "swap_mode"),
    (["--rate-limit", "0"], "rate_limit"),
    (["--region", "US", "--rate-limit", "-5"], "rate_limit"),
])
def test_key_set_refuses_bad_values(ctl, db, org_factory, key_factory, args, complaint):
    key = key_factory(org_factory())
    cp = ctl.run("key-set", "--id", str(key.id), *args, check=False)
    assert cp.returncode == 1, cp.stdout
    assert complaint in cp.stderr
    row = db.query("SELECT allowed_models, region, pii_mode, swap_mode, rate_limit_rpm "
                   "FROM api_keys WHERE id=%s", (key.id,))[0]
    assert row == {"allowed_models": None, "region": None, "pii_mode": "inherit",
                   "swap_mode": "inherit", "rate_limit_rpm": None}, "a refused change was applied"
    assert audit_rows(db, key.org_id) == []


def test_org_set_is_audited(ctl, db, org_factory):
    org = org_factory()
    org_set(ctl, org, "pii_default", "ON")
    org_set(ctl, org, "swap_never_to", ["deepseek-v4-flash", "deepseek/deepseek-chat"])
    org_set(ctl, org, "pii_default", "on")                  # unchanged: no audit row
    ctl.run("org-set", "--org", str(org), "--name", "pii_default", "--reset")
    settings = {r["name"]: r["value"] for r in
                db.query("SELECT name, value FROM settings WHERE org_id=%s", (org,))}
    assert settings == {"swap_never_to": '["deepseek-v4-flash","deepseek/deepseek-chat"]'}
    rows = audit_rows(db, org)
    assert [(r["action"], r["target"]) for r in rows] == [("org.setting.update", "org:%d" % org)] * 3
    assert [json.loads(r["detail"]) for r in rows] == [
        {"setting": "pii_default", "before": None, "after": "on"},
        {"setting": "swap_never_to", "before": None,
         "after": ["deepseek-v4-flash", "deepseek/deepseek-chat"]},
        {"setting": "pii_default", "before": "on", "after": None},
    ]
    for r in rows:
        assert (r["actor_type"], r["actor_label"]) == ("operator", "conduixctl") and r["ip"]
        assert REQUEST_ID_RE.match(r["request_id"] or "")
    for name, value in (("swaps_enabled", "sometimes"), ("swap_never_from", '["gpt-9"]'),
                        ("dark_mode", "on")):
        cp = ctl.run("org-set", "--org", str(org), "--name", name, "--value", value, check=False)
        assert cp.returncode == 1 and cp.stderr
    assert len(audit_rows(db, org)) == 3


def test_audit_log_is_append_only(ctl, db, org_factory, key_factory):
    key = key_factory(org_factory())
    key_set(ctl, key, region="US")
    row_id = audit_rows(db, key.org_id)[0]["id"]
    with pytest.raises(pymysql.err.MySQLError) as e:
        db.execute("UPDATE audit_log SET detail = '{}' WHERE id = %s", (row_id,))
    assert "append-only" in str(e.value)
    with pytest.raises(pymysql.err.MySQLError) as e:
        db.execute("DELETE FROM audit_log WHERE id = %s", (row_id,))
    assert "append-only" in str(e.value)
    assert json.loads(audit_rows(db, key.org_id)[0]["detail"])["after"] == "US"


def test_key_create_validates_the_allowlist(gw, sim, ctl, db, org_factory, key_factory):
    org = org_factory()
    cp = ctl.run("key-create", "--org", str(org), "--name", "bad", "--allowed-models", '["gpt-9"]',
                 check=False)
    assert cp.returncode == 1 and "gpt-9" in cp.stderr
    assert db.scalar("SELECT COUNT(*) FROM api_keys WHERE org_id=%s", (org,)) == 0
    key = key_factory(org, allowed_models=["claude-haiku-4-5", "gpt-4o-mini"])
    assert json.loads(db.scalar("SELECT allowed_models FROM api_keys WHERE id=%s", (key.id,))) == \
        ["claude-haiku-4-5", "gpt-4o-mini"]
    served(gw.chat(key, model="gpt-4o-mini"), "openai", "gpt-4o-mini")
    assert_error(gw.chat(key, model="gpt-4o"), 403, "model_not_allowed")
