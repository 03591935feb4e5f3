"""The simulator's Anthropic Messages and Gemini wire formats (loopback only).
tests/clients/sim.test.mjs drives the same endpoints with the official SDKs.

Run: /usr/bin/python3 -m pytest tests/sim -q
"""

import json
import os
import subprocess
import sys
import time

import pytest
import requests

SIM = os.path.join(os.path.dirname(os.path.abspath(__file__)), "provider_sim.py")
A_HEADERS = {"x-api-key": "sk-ant-sim", "anthropic-version": "2023-06-01"}
G_HEADERS = {"x-goog-api-key": "AIza-sim"}


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    ready = tmp_path_factory.mktemp("simfmt") / "port"
    proc = subprocess.Popen([sys.executable, SIM, "--port", "0", "--ready-file", str(ready)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 10
    while not (ready.exists() and ready.read_text().strip()):
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            raise RuntimeError("simulator did not start")
        time.sleep(0.02)
    yield "http://127.0.0.1:%d" % int(ready.read_text())
    proc.terminate()
    proc.wait(10)


@pytest.fixture(autouse=True)
def reset(base):
    requests.post(base + "/_sim/reset", timeout=5)


def sse(resp):
    """[(event, data)] of an SSE body (LF or CRLF framed)."""
    out = []
    text = resp.content.decode().replace("\r\n", "\n")
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        event, data = None, []
        for line in block.split("\n"):
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
        out.append((event, json.loads("\n".join(data))))
    return out


# --- Anthropic ------------------------------------------------------------------------

def amsg(base, body, headers=A_HEADERS, **kw):
    return requests.post(base + "/anthropic/v1/messages", json=body, headers=headers, timeout=10, **kw)


ABODY = {"model": "claude-haiku-4-5-20251001", "max_tokens": 64,
         "messages": [{"role": "user", "content": "hello there"}]}


def test_anthropic_message(base):
    r = amsg(base, dict(ABODY, system="Be terse."))
    assert r.status_code == 200
    m = r.json()
    assert m["type"] == "message" and m["role"] == "assistant" and m["id"].startswith("msg_")
    assert m["content"] == [{"type": "text", "text": "Hello from anthropic/claude-haiku-4-5-20251001. "
                                                     "You said: hello there"}]
    assert m["stop_reason"] == "end_turn" and m["stop_sequence"] is None
    assert m["usage"]["input_tokens"] == 2 + 2 + 6
    assert m["usage"]["output_tokens"] == 7
    log = requests.get(base + "/_sim/requests?provider=anthropic", timeout=5).json()
    assert log["requests"][-1]["headers"]["anthropic-version"] == "2023-06-01"


@pytest.mark.parametrize("headers,body,status,etype", [
    ({"anthropic-version": "2023-06-01"}, ABODY, 401, "authentication_error"),
    ({"x-api-key": "k"}, ABODY, 400, "invalid_request_error"),
    (A_HEADERS, {"model": "m", "messages": ABODY["messages"]}, 400, "invalid_request_error"),
    (A_HEADERS, dict(ABODY, messages=[{"role": "user", "content": [{"type": "text", "text": ""}]}]),
     400, "invalid_request_error"),
    (A_HEADERS, dict(ABODY, messages=[{"role": "system", "content": "x"}]), 400,
     "invalid_request_error"),
    (A_HEADERS, dict(ABODY, temperature=1.5), 400, "invalid_request_error"),
    (A_HEADERS, dict(ABODY, messages=[{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/tiff", "data": "x"}}]}]),
     400, "invalid_request_error"),
])
def test_anthropic_errors(base, headers, body, status, etype):
    r = amsg(base, body, headers=headers)
    assert r.status_code == status
    e = r.json()
    assert e["type"] == "error" and e["error"]["type"] == etype and e["error"]["message"]


def test_anthropic_stream_events(base):
    r = amsg(base, dict(ABODY, stream=True), stream=True)
    assert r.headers["content-type"].startswith("text/event-stream")
    evs = sse(r)
    names = [e for e, _ in evs]
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert all(d["type"] == e for e, d in evs)
    assert evs[0][1]["message"]["usage"]["input_tokens"] == 5
    text = "".join(d["delta"]["text"] for e, d in evs if e == "content_block_delta")
    assert text == "Hello from anthropic/claude-haiku-4-5-20251001. You said: hello there"
    assert evs[-2][1]["delta"]["stop_reason"] == "end_turn"
    assert evs[-2][1]["usage"]["output_tokens"] == 7


def test_anthropic_tool_use_and_result(base):
    tools = [{"name": "get_weather", "input_schema": {"type": "object"}}]
    body = dict(ABODY, tools=tools, messages=[{"role": "user", "content": "weather?"}])
    m = amsg(base, body).json()
    assert m["stop_reason"] == "tool_use"
    assert m["content"][0]["type"] == "tool_use" and m["content"][0]["id"].startswith("toolu_")
    assert m["content"][0]["input"] == {"location": "Paris"}
    evs = sse(amsg(base, dict(body, stream=True), stream=True))
    frags = [d["delta"]["partial_json"] for e, d in evs if e == "content_block_delta"]
    assert frags[0] == "" and len(frags) > 2 and json.loads("".join(frags)) == {"location": "Paris"}
    follow = dict(ABODY, tools=tools, messages=[
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": m["content"]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": m["content"][0]["id"],
                                      "content": "sunny"}]}])
    r = amsg(base, follow)
    assert r.status_code == 200 and r.json()["stop_reason"] == "end_turn"


def test_anthropic_faults(base):
    requests.post(base + "/_sim/faults", json={"provider": "anthropic", "status": 529}, timeout=5)
    r = amsg(base, ABODY)
    assert r.status_code == 529 and r.json()["error"]["type"] == "overloaded_error"
    requests.post(base + "/_sim/faults", json={"provider": "anthropic", "cut_after_chunks": 2},
                  timeout=5)
    try:
        r = amsg(base, dict(ABODY, stream=True), stream=True)
        body = b"".join(r.iter_content(None))
    except requests.exceptions.ChunkedEncodingError:
        body = b""
    assert b"message_stop" not in body


# --- Gemini ---------------------------------------------------------------------------

def gen(base, body, model="gemini-2.5-flash", stream=False, alt=True, headers=G_HEADERS):
    method = "streamGenerateContent" if stream else "generateContent"
    url = "%s/google/v1beta/models/%s:%s%s" % (base, model, method, "?alt=sse" if stream and alt else "")
    return requests.post(url, json=body, headers=headers, timeout=10, stream=stream)


GBODY = {"contents": [{"role": "user", "parts": [{"text": "hello there"}]}]}


def test_gemini_generate(base):
    r = gen(base, dict(GBODY, systemInstruction={"parts": [{"text": "Be terse."}]},
                       generationConfig={"temperature": 0.2}))
    assert r.status_code == 200
    d = r.json()
    c = d["candidates"][0]
    assert c["content"] == {"role": "model", "parts": [
        {"text": "Hello from google/gemini-2.5-flash. You said: hello there"}]}
    assert c["finishReason"] == "STOP"
    assert d["usageMetadata"] == {"promptTokenCount": 10, "candidatesTokenCount": 7, "totalTokenCount": 17}
    assert d["modelVersion"] == "gemini-2.5-flash"


def test_gemini_key_in_query_and_snake_case(base):
    url = base + "/google/v1beta/models/gemini-2.5-pro:generateContent?key=AIza-q"
    body = {"contents": [{"role": "user", "parts": [{"text": "look"}, {"inline_data": {
        "mime_type": "image/png", "data": "iVBO"}}]}],
            "system_instruction": {"parts": [{"text": "x"}]},
            "generation_config": {"max_output_tokens": 2}}
    r = requests.post(url, json=body, timeout=10)
    assert r.status_code == 200, r.text
    assert r.json()["candidates"][0]["finishReason"] == "MAX_TOKENS"


@pytest.mark.parametrize("headers,body,status,gstatus", [
    ({}, GBODY, 403, "PERMISSION_DENIED"),
    ({"x-goog-api-key": "bad-key"}, GBODY, 400, "INVALID_ARGUMENT"),
    (G_HEADERS, {"contents": []}, 400, "INVALID_ARGUMENT"),
    (G_HEADERS, {"contents": [{"role": "user", "parts": [{"text": ""}]}]}, 400, "INVALID_ARGUMENT"),
    (G_HEADERS, {"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]}, 400, "INVALID_ARGUMENT"),
    (G_HEADERS, {"contents": [{"role": "user", "parts": [{"functionResponse": {"name": "f",
                                                                             "response": "no"}}]}]},
     400, "INVALID_ARGUMENT"),
])
def test_gemini_errors(base, headers, body, status, gstatus):
    r = gen(base, body, headers=headers)
    assert r.status_code == status
    e = r.json()["error"]
    assert e["code"] == status and e["status"] == gstatus and e["message"]
    if headers.get("x-goog-api-key") == "bad-key":
        assert e["details"][0]["reason"] == "API_KEY_INVALID"


def test_gemini_stream_sse_and_array(base):
    r = gen(base, GBODY, stream=True)
    assert r.headers["content-type"].startswith("text/event-stream")
    raw = r.content
    assert b"\r\n\r\n" in raw and b"[DONE]" not in raw
    docs = [d for _, d in sse(r)]
    assert len(docs) == 7
    assert all("finishReason" not in d["candidates"][0] for d in docs[:-1])
    assert docs[-1]["candidates"][0]["finishReason"] == "STOP"
    assert docs[-1]["usageMetadata"]["candidatesTokenCount"] == 7
    text = "".join(p["text"] for d in docs for p in d["candidates"][0]["content"]["parts"])
    assert text == "Hello from google/gemini-2.5-flash. You said: hello there"
    arr = gen(base, GBODY, stream=True, alt=False).json()
    assert isinstance(arr, list) and arr[-1]["candidates"][0]["finishReason"] == "STOP"


def test_gemini_function_calling(base):
    body = {"contents": [{"role": "user", "parts": [{"text": "weather?"}]}],
            "tools": [{"functionDeclarations": [{"name": "get_weather",
                                                 "parametersJsonSchema": {"type": "object"}}]}]}
    d = gen(base, body).json()
    assert d["candidates"][0]["content"]["parts"] == [
        {"functionCall": {"name": "get_weather", "args": {"location": "Paris"}}}]
    follow = {"contents": body["contents"] + [
        {"role": "model", "parts": d["candidates"][0]["content"]["parts"]},
        {"role": "user", "parts": [{"functionResponse": {"name": "get_weather",
                                                         "response": {"output": "sunny"}}}]}],
        "tools": body["tools"]}
    d = gen(base, follow).json()
    assert "text" in d["candidates"][0]["content"]["parts"][0]


def test_gemini_safety(base):
    d = gen(base, {"contents": [{"role": "user", "parts": [{"text": "say something unsafe"}]}]}).json()
    assert d["candidates"][0]["finishReason"] == "SAFETY"
    assert d["candidates"][0]["content"]["parts"] == []
    d = gen(base, {"contents": [{"role": "user", "parts": [{"text": "blockme"}]}]}).json()
    assert "candidates" not in d and d["promptFeedback"]["blockReason"] == "SAFETY"


def test_gemini_faults(base):
    requests.post(base + "/_sim/faults", json={"provider": "google", "status": 429}, timeout=5)
    r = gen(base, GBODY)
    assert r.status_code == 429 and r.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
