"""POST /v1/chat/completions through the gateway to the simulated providers:
non-streaming and SSE streaming, headers, cost, credentials, routing."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from harness import (NANO, OPENAI_COMPATIBLE, REQUEST_ID_RE, DECIMAL_RE, as_decimal, cost_nano,
                     iter_sse, sim_credential)


def _words(text: str) -> int:
    return len(text.split())


def _expected_reply(provider: str, upstream_model: str, user_text: str) -> str:
    return "Hello from %s/%s. You said: %s" % (provider, upstream_model, " ".join(user_text.split()))


def _assert_conduix_headers(r, provider: str, served: str, stream: bool = False) -> None:
    h = r.headers
    assert REQUEST_ID_RE.match(h.get("x-conduix-request-id", "")), \
        "x-conduix-request-id: %r" % h.get("x-conduix-request-id")
    assert h.get("x-conduix-provider") == provider
    assert h.get("x-conduix-model-served") == served
    assert h.get("x-conduix-fallback") == "false"
    lat = h.get("x-conduix-latency-ms", "")
    assert lat.isdigit(), "x-conduix-latency-ms: %r" % lat
    if not stream:
        cost = h.get("x-conduix-cost-credits", "")
        assert DECIMAL_RE.match(cost), "x-conduix-cost-credits: %r" % cost


def _stream_chunks(r):
    """(chunks, raw events) of an SSE response; asserts it ends with one [DONE]."""
    assert r.status_code == 200, r.text[:500]
    ctype = r.headers.get("content-type", "")
    assert ctype.startswith("text/event-stream"), ctype
    events = list(iter_sse(r))
    assert events, "empty stream"
    assert events[-1].data == "[DONE]", "stream does not end with [DONE]: %r" % events[-1].data
    assert [e.data for e in events].count("[DONE]") == 1
    return [e.json() for e in events[:-1]], events


def _openai_compatible_alias(db):
    rows = db.query(
        "SELECT a.alias, a.model_id, COALESCE(a.provider, m.provider) AS provider "
        "FROM model_aliases a JOIN models m ON m.id = a.model_id "
        "WHERE m.enabled = 1 AND a.alias <> a.model_id ORDER BY a.alias")
    rows = [r for r in rows if r["provider"] in OPENAI_COMPATIBLE]
    if not rows:
        pytest.fail("the catalog has no alias of a model served by an OpenAI-compatible provider")
    # prefer an alias that pins the provider of a model served elsewhere too ("provider/model")
    rows.sort(key=lambda r: ("/" not in r["alias"], r["alias"]))
    return rows[0]


# --- non-streaming ------------------------------------------------------------------

def test_chat_non_stream_body(gw, live_key, sim):
    r = gw.chat(live_key, content="ping  one two")
    assert r.status_code == 200, r.text[:500]
    assert r.headers.get("content-type", "").startswith("application/json")
    body = r.json()
    assert body["object"] == "chat.completion"
    assert isinstance(body["id"], str) and body["id"]
    assert isinstance(body["created"], int)
    assert body["model"] == "gpt-4o-mini"
    assert len(body["choices"]) == 1
    choice = body["choices"][0]
    assert choice["index"] == 0
    assert choice["finish_reason"] == "stop"
    assert choice["message"]["role"] == "assistant"
    up = sim.last("openai")
    assert up["path"] == "/openai/v1/chat/completions"
    content = choice["message"]["content"]
    assert content == _expected_reply("openai", up["body"]["model"], "ping one two")
    usage = body["usage"]
    assert usage["prompt_tokens"] == 3 + 3          # three words + 3 per message
    assert usage["completion_tokens"] == _words(content)
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_chat_headers_and_cost(gw, live_key, sim):
    r = gw.chat(live_key, {
        "model": "gpt-4o-mini",
        "messages": [{"role": "system", "content": "You are terse."},
                     {"role": "user", "content": "What is the capital of France?"}]})
    assert r.status_code == 200, r.text[:500]
    _assert_conduix_headers(r, "openai", "gpt-4o-mini")
    usage = r.json()["usage"]
    assert usage["prompt_tokens"] == 3 + 6 + 2 * 3
    entry = gw.model(live_key, "gpt-4o-mini")["conduix"]
    want = cost_nano(usage["prompt_tokens"], usage["completion_tokens"],
                     as_decimal(entry["input_price_per_m_credits"]),
                     as_decimal(entry["output_price_per_m_credits"]))
    got = Decimal(r.headers["x-conduix-cost-credits"])
    assert got * NANO == want, "x-conduix-cost-credits %s != %s" % (got, Decimal(want) / NANO)
    assert want > 0


def test_provider_credential_sent_never_the_customer_key(gw, live_key, sim):
    r = gw.chat(live_key, content="keep my secrets")
    assert r.status_code == 200, r.text[:500]
    assert sim.count() == 1, "expected exactly one upstream call"
    up = sim.last("openai")
    assert up["headers"].get("authorization") == "Bearer " + sim_credential("openai")
    assert live_key.secret not in json.dumps(up), "the customer's key reached the provider"
    assert live_key.secret not in r.text


def test_alias_is_echoed_and_routed(gw, live_key, sim, db):
    a = _openai_compatible_alias(db)
    r = gw.chat(live_key, model=a["alias"], content="alias please")
    assert r.status_code == 200, r.text[:500]
    assert r.json()["model"] == a["alias"]
    _assert_conduix_headers(r, a["provider"], a["model_id"])
    assert sim.count(a["provider"]) == 1
    assert sim.count() == 1


def test_canonical_dated_id_routes(gw, live_key, sim, db):
    """A model served by another OpenAI-compatible provider (not openai)."""
    row = db.query("SELECT id, provider FROM models WHERE enabled=1 AND provider IN ('deepseek',"
                   "'mistral','xai') ORDER BY provider, id LIMIT 1")
    assert row, "no deepseek/mistral/xai model in the catalog"
    r = gw.chat(live_key, model=row[0]["id"], content="hi")
    assert r.status_code == 200, r.text[:500]
    assert r.json()["model"] == row[0]["id"]
    _assert_conduix_headers(r, row[0]["provider"], row[0]["id"])
    up = sim.last(row[0]["provider"])
    assert up["headers"].get("authorization") == "Bearer " + sim_credential(row[0]["provider"])


def test_groq_model_routes_to_groq(gw, live_key, sim):
    groq = sorted(m["id"] for m in gw.models(live_key) if m["conduix"]["provider"] == "groq")
    assert groq, "no groq-served model in /v1/models"
    model = groq[0]
    r = gw.chat(live_key, model=model, content="fast please")
    assert r.status_code == 200, r.text[:500]
    body = r.json()
    assert body["model"] == model
    _assert_conduix_headers(r, "groq", model)
    assert sim.count("groq") == 1
    assert sim.count("openai") == 0
    up = sim.last("groq")
    assert up["path"] == "/groq/v1/chat/completions"
    assert up["headers"].get("authorization") == "Bearer " + sim_credential("groq")
    assert body["choices"][0]["message"]["content"] == \
        _expected_reply("groq", up["body"]["model"], "fast please")


# --- streaming -------------------------------------------------------------------------

def test_stream_without_include_usage(gw, live_key, sim):
    r = gw.chat(live_key, content="tell me a story", stream=True)
    _assert_conduix_headers(r, "openai", "gpt-4o-mini", stream=True)
    chunks, _ = _stream_chunks(r)
    assert chunks
    text = ""
    finish = []
    for c in chunks:
        assert c["object"] == "chat.completion.chunk", c
        assert c["model"] == "gpt-4o-mini", c
        assert not c.get("usage"), "usage chunk sent although the client did not ask: %r" % c
        assert c["choices"], "a chunk with no choices (a usage chunk?): %r" % c
        ch = c["choices"][0]
        text += ch.get("delta", {}).get("content") or ""
        if ch.get("finish_reason"):
            finish.append(ch["finish_reason"])
    assert len({c["id"] for c in chunks}) == 1, "chunk ids differ"
    assert finish == ["stop"]
    up = sim.last("openai")
    assert up["body"]["stream"] is True
    assert up["body"].get("stream_options", {}).get("include_usage") is True, \
        "the gateway must ask the upstream for usage: %r" % up["body"]
    assert text == _expected_reply("openai", up["body"]["model"], "tell me a story")


def test_stream_with_include_usage(gw, live_key, sim):
    r = gw.chat(live_key, content="count my tokens", stream=True,
                stream_options={"include_usage": True})
    _assert_conduix_headers(r, "openai", "gpt-4o-mini", stream=True)
    chunks, _ = _stream_chunks(r)
    for c in chunks:
        assert c["model"] == "gpt-4o-mini", c
    last = chunks[-1]
    assert last["choices"] == [], "the usage chunk comes last with no choices: %r" % last
    text = "".join((c["choices"][0].get("delta", {}).get("content") or "")
                   for c in chunks if c["choices"])
    usage = last["usage"]
    assert usage["prompt_tokens"] == 3 + 3
    assert usage["completion_tokens"] == _words(text)
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    for c in chunks[:-1]:
        assert not c.get("usage"), c


def test_stream_events_are_not_buffered(gw, live_key, sim):
    """Each upstream event reaches the client as it arrives."""
    sim.fault(provider="openai", count=1, chunk_delay_ms=250)
    content = "one two three four five six seven eight"
    r = gw.chat(live_key, content=content, stream=True)
    chunks, events = _stream_chunks(r)
    content_events = [e for e, c in zip(events, chunks)
                      if c["choices"] and c["choices"][0].get("delta", {}).get("content")]
    # ~15 content events 250 ms apart upstream: ~3.5 s between the first and the last
    assert len(content_events) >= 10
    spread = content_events[-1].t - content_events[0].t
    assert spread >= 1.5, "events arrived within %.2fs: the stream was buffered" % spread


def test_groq_stream(gw, live_key, sim):
    groq = sorted(m["id"] for m in gw.models(live_key) if m["conduix"]["provider"] == "groq")
    r = gw.chat(live_key, model=groq[0], content="stream from groq", stream=True)
    _assert_conduix_headers(r, "groq", groq[0], stream=True)
    chunks, _ = _stream_chunks(r)
    assert all(c["model"] == groq[0] for c in chunks)
    assert sim.count("groq") == 1 and sim.count("openai") == 0
