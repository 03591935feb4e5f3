"""Every provider family through httpd: an OpenAI-format client gets the same
answer (shape, text, tool calls, usage, headers, billing) whether an
OpenAI-compatible provider, Anthropic's Messages API or Google's Gemini API
serves it, streamed or not; provider pinning; fallback across formats."""

from __future__ import annotations

import json

import pytest

from harness import NANO, REQUEST_ID_RE, as_decimal, cost_nano, iter_sse, sim_credential

# (family, requested model, provider, upstream model id)
FAMILIES = [
    ("openai-compatible", "groq/llama-4-maverick", "groq", "meta-llama/llama-4-maverick-17b-128e-instruct"),
    ("anthropic", "claude-haiku-4-5", "anthropic", "claude-haiku-4-5-20251001"),
    ("google", "gemini-2.5-flash", "google", "gemini-2.5-flash"),
]
IDS = [f[0] for f in FAMILIES]
TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Current weather",
    "parameters": {"type": "object", "properties": {"location": {"type": "string"}},
                   "required": ["location"]}}}]
PNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="


def _reply(provider: str, upstream: str, user: str) -> str:
    return "Hello from %s/%s. You said: %s" % (provider, upstream, " ".join(user.split()))


def _expected_path(provider: str, upstream: str, stream: bool) -> str:
    if provider == "anthropic":
        return "/anthropic/v1/messages"
    if provider == "google":
        return "/google/v1beta/models/%s:%s" % (
            upstream, "streamGenerateContent?alt=sse" if stream else "generateContent")
    return "/%s/v1/chat/completions" % provider


def _assert_upstream_auth(up: dict, provider: str) -> None:
    h = up["headers"]
    if provider == "anthropic":
        assert h.get("x-api-key") == sim_credential("anthropic")
        assert h.get("anthropic-version") == "2023-06-01"
        assert "authorization" not in h
    elif provider == "google":
        assert h.get("x-goog-api-key") == sim_credential("google")
        assert "authorization" not in h
    else:
        assert h.get("authorization") == "Bearer " + sim_credential(provider)


def _stream(r) -> tuple[list[dict], str]:
    """(chunks, assembled text) of a chat stream that must end with one [DONE]."""
    assert r.status_code == 200, r.text[:500]
    assert r.headers.get("content-type", "").startswith("text/event-stream")
    events = list(iter_sse(r))
    assert events and events[-1].data == "[DONE]", [e.data for e in events[-3:]]
    assert [e.data for e in events].count("[DONE]") == 1
    chunks = [e.json() for e in events[:-1]]
    for c in chunks:
        assert c["object"] == "chat.completion.chunk", c
        assert "error" not in c, c
    text = "".join((c["choices"][0]["delta"].get("content") or "") for c in chunks if c["choices"])
    return chunks, text


def _finish_reasons(chunks: list[dict]) -> list[str]:
    return [c["choices"][0]["finish_reason"] for c in chunks
            if c["choices"] and c["choices"][0].get("finish_reason")]


def _tool_calls_from_stream(chunks: list[dict]) -> dict[int, dict]:
    calls: dict[int, dict] = {}
    for c in chunks:
        if not c["choices"]:
            continue
        for tc in c["choices"][0]["delta"].get("tool_calls") or []:
            slot = calls.setdefault(tc["index"], {"id": None, "name": None, "arguments": ""})
            if tc.get("id"):
                slot["id"] = tc["id"]
            fn = tc.get("function") or {}
            if fn.get("name"):
                slot["name"] = fn["name"]
            slot["arguments"] += fn.get("arguments") or ""
    return calls


# --- plain answers ------------------------------------------------------------------

@pytest.mark.parametrize("family,model,provider,upstream", FAMILIES, ids=IDS)
def test_non_stream_same_answer_every_family(gw, live_key, sim, db, family, model, provider, upstream):
    r = gw.chat(live_key, model=model, content="ping  one two")
    assert r.status_code == 200, r.text[:500]
    body = r.json()
    assert body["object"] == "chat.completion"
    assert body["model"] == model
    assert body["id"].startswith("chatcmpl-")
    choice = body["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["content"] == _reply(provider, upstream, "ping one two")
    usage = body["usage"]
    assert usage["prompt_tokens"] == 3 + 3
    assert usage["completion_tokens"] == len(choice["message"]["content"].split())
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    h = r.headers
    assert REQUEST_ID_RE.match(h["x-conduix-request-id"])
    assert h["x-conduix-provider"] == provider
    assert h["x-conduix-fallback"] == "false"
    assert sim.count() == 1 and sim.count(provider) == 1
    up = sim.last(provider)
    assert up["path"] == _expected_path(provider, upstream, False)
    _assert_upstream_auth(up, provider)
    assert live_key.secret not in json.dumps(up)
    # billed from the provider's usage at the served deployment's price
    entry = gw.model(live_key, h["x-conduix-model-served"])["conduix"]
    rows = db.wait_usage_rows(live_key.id, 1)
    assert len(rows) == 1
    assert rows[0]["provider"] == provider
    assert rows[0]["prompt_tokens"] == usage["prompt_tokens"]
    assert rows[0]["completion_tokens"] == usage["completion_tokens"]
    if provider != "groq":   # groq's deployment price differs from the model's list entry
        want = cost_nano(usage["prompt_tokens"], usage["completion_tokens"],
                         as_decimal(entry["input_price_per_m_credits"]),
                         as_decimal(entry["output_price_per_m_credits"]))
        assert rows[0]["charged_nano"] == want
        assert as_decimal(h["x-conduix-cost-credits"]) * NANO == want


def test_anthropic_request_shape(gw, live_key, sim):
    """system -> system, max_tokens from the catalog when omitted, stop -> stop_sequences."""
    r = gw.chat(live_key, {"model": "claude-haiku-4-5", "temperature": 0.3, "stop": "END",
                           "messages": [{"role": "system", "content": "Be terse."},
                                        {"role": "user", "content": "hello"}]})
    assert r.status_code == 200, r.text[:500]
    body = sim.last("anthropic")["body"]
    assert body["model"] == "claude-haiku-4-5-20251001"
    assert body["system"] == "Be terse."
    assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "hello"}]}]
    assert body["max_tokens"] == 8192
    assert body["stop_sequences"] == ["END"]
    assert body["temperature"] == 0.3
    r = gw.chat(live_key, model="claude-haiku-4-5", content="hello", max_tokens=3)
    assert sim.last("anthropic")["body"]["max_tokens"] == 3
    assert r.json()["choices"][0]["finish_reason"] == "length"
    assert r.json()["usage"]["completion_tokens"] == 3


def test_gemini_request_shape(gw, live_key, sim):
    r = gw.chat(live_key, {"model": "gemini-2.5-flash", "max_tokens": 4, "temperature": 0.5,
                           "response_format": {"type": "json_object"},
                           "messages": [{"role": "system", "content": "Be terse."},
                                        {"role": "user", "content": "hello there"},
                                        {"role": "assistant", "content": "Hi."},
                                        {"role": "user", "content": "again"}]})
    assert r.status_code == 200, r.text[:500]
    body = sim.last("google")["body"]
    assert body["systemInstruction"] == {"parts": [{"text": "Be terse."}]}
    assert [c["role"] for c in body["contents"]] == ["user", "model", "user"]
    assert body["generationConfig"] == {"temperature": 0.5, "maxOutputTokens": 4,
                                        "responseMimeType": "application/json"}
    assert r.json()["choices"][0]["finish_reason"] == "length"


# --- streams ---------------------------------------------------------------------------

@pytest.mark.parametrize("family,model,provider,upstream", FAMILIES, ids=IDS)
def test_stream_same_answer_every_family(gw, live_key, sim, db, family, model, provider, upstream):
    r = gw.chat(live_key, model=model, content="tell me a story", stream=True,
                stream_options={"include_usage": True})
    chunks, text = _stream(r)
    assert r.headers["x-conduix-provider"] == provider
    assert text == _reply(provider, upstream, "tell me a story")
    assert _finish_reasons(chunks) == ["stop"]
    assert chunks[0]["choices"][0]["delta"].get("role") == "assistant"
    assert len({c["id"] for c in chunks}) == 1
    assert all(c["model"] == model for c in chunks)
    usage = chunks[-1]["usage"]
    assert chunks[-1]["choices"] == []
    assert usage["prompt_tokens"] == 3 + 4
    assert usage["completion_tokens"] == len(text.split())
    up = sim.last(provider)
    assert up["path"] == _expected_path(provider, upstream, True)
    _assert_upstream_auth(up, provider)
    rows = db.wait_usage_rows(live_key.id, 1)
    assert rows[0]["stream"] == 1 and rows[0]["status"] == 200
    assert rows[0]["completion_tokens"] == usage["completion_tokens"]
    assert rows[0]["charged_nano"] > 0


@pytest.mark.parametrize("family,model,provider,upstream", FAMILIES, ids=IDS)
def test_stream_without_usage_is_still_billed(gw, live_key, sim, db, family, model, provider, upstream):
    r = gw.chat(live_key, model=model, content="count quietly", stream=True)
    chunks, text = _stream(r)
    assert all(c["choices"] and not c.get("usage") for c in chunks)
    rows = db.wait_usage_rows(live_key.id, 1)
    assert rows[0]["completion_tokens"] == len(text.split()) > 0
    assert rows[0]["prompt_tokens"] == 2 + 3


@pytest.mark.parametrize("provider,model", [("anthropic", "claude-haiku-4-5"),
                                            ("google", "gemini-2.5-flash")])
def test_stream_cut_ends_with_an_error_event(gw, live_key, sim, provider, model):
    # after 5 events text has reached the client (Anthropic: message_start,
    # content_block_start, ping, 2 deltas), so the stream cannot fall over any more
    sim.fault(provider=provider, cut_after_chunks=5)
    r = gw.chat(live_key, model=model, content="one two three four five", stream=True)
    assert r.status_code == 200
    events = list(iter_sse(r))
    assert events, "empty stream"
    assert all(e.data != "[DONE]" for e in events), "a cut stream must not end cleanly"
    assert "error" in events[-1].json(), events[-1].data
    assert any((e.json().get("choices") or [{}])[0].get("delta", {}).get("content") for e in events[:-1])


# --- tools ---------------------------------------------------------------------------

@pytest.mark.parametrize("family,model,provider,upstream", FAMILIES, ids=IDS)
def test_tool_call_every_family(gw, live_key, sim, family, model, provider, upstream):
    r = gw.chat(live_key, model=model, content="What is the weather?", tools=TOOLS,
                tool_choice="auto")
    assert r.status_code == 200, r.text[:500]
    choice = r.json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    calls = choice["message"]["tool_calls"]
    assert len(calls) == 1
    assert calls[0]["type"] == "function" and calls[0]["id"]
    assert calls[0]["function"]["name"] == "get_weather"
    assert json.loads(calls[0]["function"]["arguments"]) == {"location": "Paris"}
    body = sim.last(provider)["body"]
    if provider == "anthropic":
        assert body["tools"][0]["name"] == "get_weather"
        assert body["tools"][0]["input_schema"]["required"] == ["location"]
        assert body["tool_choice"] == {"type": "auto"}
    elif provider == "google":
        decl = body["tools"][0]["functionDeclarations"][0]
        assert decl["name"] == "get_weather"
        assert decl["parametersJsonSchema"]["required"] == ["location"]
        assert body["toolConfig"] == {"functionCallingConfig": {"mode": "AUTO"}}


@pytest.mark.parametrize("family,model,provider,upstream", FAMILIES, ids=IDS)
def test_streamed_tool_call_every_family(gw, live_key, sim, family, model, provider, upstream):
    r = gw.chat(live_key, model=model, content="weather please", tools=TOOLS, stream=True)
    chunks, text = _stream(r)
    assert text == ""
    assert _finish_reasons(chunks) == ["tool_calls"]
    calls = _tool_calls_from_stream(chunks)
    assert list(calls) == [0]
    assert calls[0]["id"] and calls[0]["name"] == "get_weather"
    assert json.loads(calls[0]["arguments"]) == {"location": "Paris"}


@pytest.mark.parametrize("family,model,provider,upstream", FAMILIES, ids=IDS)
def test_multi_turn_tool_use_every_family(gw, live_key, sim, family, model, provider, upstream):
    messages = [
        {"role": "user", "content": "What is the weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_abc", "type": "function",
             "function": {"name": "get_weather", "arguments": "{\"location\":\"Paris\"}"}}]},
        {"role": "tool", "tool_call_id": "call_abc", "content": "{\"temp_c\": 18}"},
    ]
    r = gw.chat(live_key, {"model": model, "messages": messages, "tools": TOOLS})
    assert r.status_code == 200, r.text[:500]
    choice = r.json()["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert choice["message"]["content"].startswith("Hello from %s/" % provider)
    body = sim.last(provider)["body"]
    if provider == "anthropic":
        assert body["messages"][1] == {"role": "assistant", "content": [
            {"type": "tool_use", "id": "call_abc", "name": "get_weather", "input": {"location": "Paris"}}]}
        assert body["messages"][2] == {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "call_abc", "content": "{\"temp_c\": 18}"}]}
    elif provider == "google":
        assert body["contents"][1] == {"role": "model", "parts": [
            {"functionCall": {"name": "get_weather", "args": {"location": "Paris"}}}]}
        assert body["contents"][2] == {"role": "user", "parts": [
            {"functionResponse": {"name": "get_weather", "response": {"temp_c": 18}}}]}
    else:
        assert body["messages"] == messages


# --- images, unicode, content filters ----------------------------------------------------

@pytest.mark.parametrize("provider,model", [("anthropic", "claude-haiku-4-5"),
                                            ("google", "gemini-2.5-flash")])
def test_images_reach_the_provider_in_its_format(gw, live_key, sim, provider, model):
    content = [{"type": "text", "text": "What is in these images?"},
               {"type": "image_url", "image_url": {"url": PNG}},
               {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg", "detail": "low"}}]
    r = gw.chat(live_key, {"model": model, "messages": [{"role": "user", "content": content}]})
    assert r.status_code == 200, r.text[:500]
    data = PNG.split(",", 1)[1]
    body = sim.last(provider)["body"]
    if provider == "anthropic":
        blocks = body["messages"][0]["content"]
        assert blocks[1] == {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                         "data": data}}
        assert blocks[2] == {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}}
    else:
        parts = body["contents"][0]["parts"]
        assert parts[1] == {"inlineData": {"mimeType": "image/png", "data": data}}
        assert parts[2] == {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://example.com/cat.jpg"}}


@pytest.mark.parametrize("family,model,provider,upstream", FAMILIES, ids=IDS)
def test_unicode_round_trip(gw, live_key, sim, family, model, provider, upstream):
    text = "h\u00e9llo w\u00f6rld \u2713 \U0001F600 \u65e5\u672c"
    r = gw.chat(live_key, model=model, content=text)
    assert r.status_code == 200, r.text[:500]
    assert r.json()["choices"][0]["message"]["content"] == _reply(provider, upstream, text)
    r = gw.chat(live_key, model=model, content=text, stream=True)
    _, streamed = _stream(r)
    assert streamed == _reply(provider, upstream, text)


@pytest.mark.parametrize("trigger", ["unsafe", "blockme"])
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_gemini_safety_is_content_filter(gw, live_key, sim, trigger, stream):
    r = gw.chat(live_key, model="gemini-2.5-flash", content="something %s here" % trigger,
                stream=stream)
    if stream:
        chunks, text = _stream(r)
        assert _finish_reasons(chunks) == ["content_filter"]
        assert text == ""
    else:
        assert r.status_code == 200, r.text[:500]
        choice = r.json()["choices"][0]
        assert choice["finish_reason"] == "content_filter"
        assert choice["message"]["content"] == ""


def test_empty_content_messages_are_left_out_for_anthropic(gw, live_key, sim):
    r = gw.chat(live_key, {"model": "claude-haiku-4-5", "messages": [
        {"role": "user", "content": "first"}, {"role": "assistant", "content": ""},
        {"role": "user", "content": "second"}]})
    assert r.status_code == 200, r.text[:500]
    msgs = sim.last("anthropic")["body"]["messages"]
    assert msgs == [{"role": "user", "content": [{"type": "text", "text": "first"},
                                                 {"type": "text", "text": "second"}]}]


def test_untranslatable_request_is_400_before_upstream(gw, live_key, sim, db):
    before = db.balance_nano(live_key.org_id)
    r = gw.chat(live_key, model="claude-haiku-4-5", content="two please", n=2)
    assert r.status_code == 400, r.text[:500]
    err = r.json()["error"]
    assert err["type"] == "invalid_request_error" and err["param"] == "n"
    assert sim.count() == 0
    assert db.balance_nano(live_key.org_id) == before


# --- errors and fallback across formats ---------------------------------------------------

def test_anthropic_client_error_is_relayed_not_retried(gw, live_key, sim, db):
    before = db.balance_nano(live_key.org_id)
    sim.fault(provider="anthropic", status=400, message="messages.0.content: bad block")
    r = gw.chat(live_key, model="claude-haiku-4-5", content="hi")
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["message"] == "messages.0.content: bad block"
    assert err["type"] == "invalid_request_error"
    assert sim.count() == 1
    assert db.balance_nano(live_key.org_id) == before


def test_gemini_client_error_is_relayed_not_retried(gw, live_key, sim):
    sim.fault(provider="google", status=400, message="Invalid value at 'contents[0]'")
    r = gw.chat(live_key, model="gemini-2.5-flash", content="hi")
    assert r.status_code == 400
    assert r.json()["error"]["message"] == "Invalid value at 'contents[0]'"
    assert sim.count() == 1


def test_fallback_crosses_formats(gw, live_key, sim):
    """gpt-4o-mini -> claude-haiku-4-5 (Anthropic) -> gemini-2.5-flash (Gemini)."""
    sim.fault(provider="openai", status=503)
    r = gw.chat(live_key, model="gpt-4o-mini", content="hi")
    assert r.status_code == 200, r.text[:500]
    assert r.headers["x-conduix-provider"] == "anthropic"
    assert r.headers["x-conduix-fallback"] == "true"
    assert r.json()["model"] == "gpt-4o-mini"
    assert r.json()["choices"][0]["message"]["content"].startswith("Hello from anthropic/")

    sim.reset()
    sim.fault(provider="openai", status=503)
    sim.fault(provider="anthropic", status=529)              # overloaded_error
    r = gw.chat(live_key, model="gpt-4o-mini", content="hi", stream=True)
    chunks, text = _stream(r)
    assert r.headers["x-conduix-provider"] == "google"
    assert text.startswith("Hello from google/gemini-2.5-flash.")
    assert sim.count("openai") == 1 and sim.count("anthropic") == 1 and sim.count("google") == 1


def test_anthropic_rate_limit_falls_over(gw, live_key, sim):
    sim.fault(provider="anthropic", status=429)
    r = gw.chat(live_key, model="claude-haiku-4-5", content="hi")
    assert r.status_code == 200, r.text[:500]
    assert r.headers["x-conduix-provider"] != "anthropic"
    assert r.headers["x-conduix-fallback"] == "true"


# --- pinning ----------------------------------------------------------------------------------

def test_provider_pin_reaches_only_that_provider(gw, live_key, sim):
    r = gw.chat(live_key, model="together/llama-4-maverick", content="pinned")
    assert r.status_code == 200, r.text[:500]
    assert r.headers["x-conduix-provider"] == "together"
    assert r.json()["model"] == "together/llama-4-maverick"
    assert sim.count() == 1 and sim.count("together") == 1
    assert sim.last("together")["body"]["model"] == "meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8"
    # a pinned provider that fails is not replaced by another one
    sim.reset()
    sim.fault(provider="together", status=503)
    r = gw.chat(live_key, model="together/llama-4-maverick", content="pinned")
    assert r.status_code in (502, 503), r.text[:500]
    assert sim.count() == 1 and sim.count("together") == 1


def test_bare_id_uses_the_chain(gw, live_key, sim):
    r = gw.chat(live_key, model="llama-4-maverick", content="bare")
    assert r.status_code == 200, r.text[:500]
    assert r.headers["x-conduix-provider"] == "groq"
    sim.reset()
    sim.fault(provider="groq", status=503)
    r = gw.chat(live_key, model="llama-4-maverick", content="bare")
    assert r.status_code == 200, r.text[:500]
    assert r.headers["x-conduix-provider"] != "groq"
    assert r.headers["x-conduix-fallback"] == "true"


def test_error_event_before_any_output_falls_over(gw, live_key, sim):
    """Anthropic may answer 200 and then send `event: error` (overloaded): when
    nothing reached the client yet, the next provider of the chain serves."""
    sse = ('event: message_start\ndata: {"type":"message_start","message":{"id":"msg_x","type":"message",'
           '"role":"assistant","content":[],"model":"claude-haiku-4-5-20251001","stop_reason":null,'
           '"usage":{"input_tokens":3,"output_tokens":1}}}\n\n'
           'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n')
    sim.fault(provider="anthropic", body=sse, content_type="text/event-stream")
    r = gw.chat(live_key, model="claude-haiku-4-5", content="hi", stream=True)
    chunks, text = _stream(r)
    assert r.headers["x-conduix-fallback"] == "true"
    assert r.headers["x-conduix-provider"] != "anthropic"
    assert text.startswith("Hello from ")
    assert sim.count("anthropic") == 1


# --- content coding ----------------------------------------------------------------------

def test_a_compressed_answer_nobody_asked_for_is_refused(gw, live_key, sim):
    """Conduix asks providers for plain answers (it sends no Accept-Encoding). A provider
    that compresses anyway is not passed on as if its bytes were JSON: the attempt fails
    like any bad answer, the next provider serves, and with the provider pinned the
    client gets a clean error."""
    sim.fault(provider="openai", headers={"content-encoding": "gzip"})
    r = gw.chat(live_key, model="gpt-4o-mini", content="plain please")
    assert r.status_code == 200, r.text[:300]
    assert r.headers["x-conduix-provider"] != "openai"
    assert r.json()["choices"][0]["message"]["content"]
    first = sim.requests("openai")["requests"][-1]
    assert "accept-encoding" not in first["headers"], first["headers"]

    # pinned to the provider: no fallback, the client gets the error envelope
    sim.fault(provider="openai", headers={"content-encoding": "br"})
    r = gw.chat(live_key, model="openai/gpt-4o-mini", content="plain please")
    assert r.status_code in (502, 503), r.text[:300]
    err = r.json()["error"]
    assert err["type"] == "server_error" and err["message"], err
