"""POST /v1/messages: the Anthropic Messages API inbound, served by any catalog
model through the same pipeline (auth, validation, credits, routing, billing,
headers), answering with Anthropic Messages and Anthropic SSE events."""

from __future__ import annotations

import json

import pytest

from harness import REQUEST_ID_RE, iter_sse

MESSAGES = "/v1/messages"
TOOL = {"name": "get_weather", "description": "Current weather",
        "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}}}


def _headers(key, bearer: bool = False) -> dict:
    h = {"anthropic-version": "2023-06-01"}
    if bearer:
        h["Authorization"] = "Bearer " + key.secret
    else:
        h["x-api-key"] = key.secret
    return h


def _post(gw, key, body, bearer=False, stream=False, headers=None):
    h = _headers(key, bearer) if key is not None else {"anthropic-version": "2023-06-01"}
    h.update(headers or {})
    return gw.post(MESSAGES, json_body=body, headers=h, stream=stream)


def _anthropic_error(r, status: int, etype: str) -> dict:
    assert r.status_code == status, r.text[:500]
    body = r.json()
    assert body["type"] == "error", body
    assert body["error"]["type"] == etype, body
    assert body["error"]["message"], body
    assert REQUEST_ID_RE.match(r.headers.get("x-conduix-request-id", ""))
    return body["error"]


@pytest.mark.parametrize("model,provider", [("claude-haiku-4-5", "anthropic"),
                                            ("gpt-4o-mini", "openai"),
                                            ("gemini-2.5-flash", "google")])
def test_message_from_any_catalog_model(gw, live_key, sim, db, model, provider):
    r = _post(gw, live_key, {"model": model, "max_tokens": 64, "system": "Be terse.",
                             "messages": [{"role": "user", "content": "hello there"}]})
    assert r.status_code == 200, r.text[:500]
    msg = r.json()
    assert msg["type"] == "message" and msg["role"] == "assistant"
    assert msg["id"].startswith("msg_")
    assert msg["model"] == model
    assert msg["stop_reason"] == "end_turn"
    assert msg["stop_sequence"] is None
    assert len(msg["content"]) == 1 and msg["content"][0]["type"] == "text"
    text = msg["content"][0]["text"]
    assert text.startswith("Hello from %s/" % provider) and text.endswith("You said: hello there")
    assert msg["usage"]["input_tokens"] == 2 + 2 + 2 * 3      # system + user, +3 per message
    assert msg["usage"]["output_tokens"] == len(text.split())
    assert r.headers["x-conduix-provider"] == provider
    assert REQUEST_ID_RE.match(r.headers["x-conduix-request-id"])
    assert r.headers.get("x-conduix-cost-credits")
    assert sim.count() == 1
    rows = db.wait_usage_rows(live_key.id, 1)
    assert rows[0]["endpoint"] == "messages"
    assert rows[0]["requested_model"] == model
    assert rows[0]["charged_nano"] > 0


def test_bearer_auth_works_too(gw, live_key, sim):
    r = _post(gw, live_key, {"model": "claude-haiku-4-5", "max_tokens": 16,
                             "messages": [{"role": "user", "content": "hi"}]}, bearer=True)
    assert r.status_code == 200, r.text[:500]


def test_stream_events(gw, live_key, sim, db):
    r = _post(gw, live_key, {"model": "claude-haiku-4-5", "max_tokens": 64, "stream": True,
                             "messages": [{"role": "user", "content": "stream to me"}]}, stream=True)
    assert r.status_code == 200, r.text[:500]
    assert r.headers["content-type"].startswith("text/event-stream")
    events = list(iter_sse(r))
    names = [e.event for e in events]
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
    assert names[1] == "content_block_start" and names[-3] == "content_block_stop"
    assert set(names[2:-3]) == {"content_block_delta"}
    for e in events:
        assert e.json()["type"] == e.event        # the data repeats the event type
    start = events[0].json()["message"]
    assert start["model"] == "claude-haiku-4-5" and start["id"].startswith("msg_")
    text = "".join(e.json()["delta"]["text"] for e in events if e.event == "content_block_delta")
    assert text == "Hello from anthropic/claude-haiku-4-5-20251001. You said: stream to me"
    delta = events[-2].json()
    assert delta["delta"]["stop_reason"] == "end_turn"
    assert delta["usage"]["output_tokens"] == len(text.split())
    assert delta["usage"]["input_tokens"] == 3 + 3
    rows = db.wait_usage_rows(live_key.id, 1)
    assert rows[0]["stream"] == 1 and rows[0]["completion_tokens"] == len(text.split())


@pytest.mark.parametrize("model", ["claude-haiku-4-5", "gpt-4o-mini"])
def test_tool_use(gw, live_key, sim, model):
    body = {"model": model, "max_tokens": 64, "tools": [TOOL],
            "tool_choice": {"type": "auto"},
            "messages": [{"role": "user", "content": "What's the weather?"}]}
    r = _post(gw, live_key, body)
    assert r.status_code == 200, r.text[:500]
    msg = r.json()
    assert msg["stop_reason"] == "tool_use"
    assert msg["content"] == [{"type": "tool_use", "id": msg["content"][0]["id"],
                               "name": "get_weather", "input": {"location": "Paris"}}]
    # and the same streamed: input_json_delta fragments that assemble to the input
    r = _post(gw, live_key, dict(body, stream=True), stream=True)
    events = list(iter_sse(r))
    starts = [e.json() for e in events if e.event == "content_block_start"]
    assert starts[0]["content_block"]["type"] == "tool_use"
    assert starts[0]["content_block"]["name"] == "get_weather"
    frags = "".join(e.json()["delta"]["partial_json"] for e in events
                    if e.event == "content_block_delta")
    assert json.loads(frags) == {"location": "Paris"}
    assert events[-2].json()["delta"]["stop_reason"] == "tool_use"

    # the tool result goes back in the next turn
    tool_id = msg["content"][0]["id"]
    follow = {"model": model, "max_tokens": 64, "tools": [TOOL], "messages": [
        {"role": "user", "content": "What's the weather?"},
        {"role": "assistant", "content": msg["content"]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_id,
                                      "content": "18C and sunny"}]}]}
    r = _post(gw, live_key, follow)
    assert r.status_code == 200, r.text[:500]
    assert r.json()["stop_reason"] == "end_turn"


def test_errors_in_anthropic_shape(gw, live_key, sim, db, org_factory, key_factory):
    ok = {"model": "claude-haiku-4-5", "max_tokens": 8, "messages": [{"role": "user", "content": "x"}]}
    _anthropic_error(_post(gw, None, ok), 401, "authentication_error")
    err = _anthropic_error(_post(gw, live_key, {"model": "claude-haiku-4-5",
                                                "messages": ok["messages"]}), 400,
                           "invalid_request_error")
    assert "max_tokens" in err["message"]
    err = _anthropic_error(_post(gw, live_key, dict(ok, model="no-such-model")), 404, "not_found_error")
    assert err["code"] == "model_not_found"
    _anthropic_error(gw.post(MESSAGES, data="{not json", headers=_headers(live_key)), 400,
                     "invalid_request_error")
    broke = key_factory(org_factory("0"))
    err = _anthropic_error(_post(gw, broke, ok), 402, "billing_error")
    assert err["code"] == "insufficient_credits"
    assert sim.count() == 0, "a rejected request reached a provider"
    # an upstream refusal of the request itself, relayed in the Anthropic shape
    sim.fault(provider="anthropic", status=400, message="messages: roles must alternate")
    err = _anthropic_error(_post(gw, live_key, ok), 400, "invalid_request_error")
    assert err["message"] == "messages: roles must alternate"


def test_every_provider_down_is_an_overloaded_error(gw, live_key, sim):
    sim.fault(provider="*", status=503, count=20)
    r = _post(gw, live_key, {"model": "claude-haiku-4-5", "max_tokens": 8,
                             "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code in (502, 503)
    assert r.json()["type"] == "error"
    assert r.json()["error"]["type"] in ("overloaded_error", "api_error")
