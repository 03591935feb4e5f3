"""Tests for tests/sim/provider_sim.py (loopback only).

Run: /usr/bin/python3 -m pytest tests/sim -q
"""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests

SIM = os.path.join(os.path.dirname(os.path.abspath(__file__)), "provider_sim.py")
AUTH = {"Authorization": "Bearer sk-provider-openai"}


def start_sim(tmp_path):
    ready = tmp_path / "port"
    proc = subprocess.Popen([sys.executable, SIM, "--port", "0", "--ready-file", str(ready)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 10
    while time.time() < deadline:
        if ready.exists() and ready.read_text().strip():
            return proc, int(ready.read_text())
        if proc.poll() is not None:
            raise RuntimeError("simulator exited: %r" % (proc.stderr.read(),))
        time.sleep(0.02)
    proc.kill()
    raise RuntimeError("simulator did not become ready")


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    proc, port = start_sim(tmp_path_factory.mktemp("sim"))
    yield "http://127.0.0.1:%d" % port
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    # quiet by default: nothing on stderr, even after faults and disconnects
    assert proc.stderr.read() == b""


@pytest.fixture(autouse=True)
def reset(sim):
    requests.post(sim + "/_sim/reset", timeout=5).raise_for_status()
    yield


def chat(sim, provider="openai", headers=AUTH, **body):
    body.setdefault("model", "gpt-4o-mini")
    body.setdefault("messages", [{"role": "user", "content": "hi"}])
    return requests.post("%s/%s/v1/chat/completions" % (sim, provider), json=body,
                         headers=headers, timeout=10, stream=bool(body.get("stream")))


def fault(sim, **spec):
    r = requests.post(sim + "/_sim/faults", json=spec, timeout=5)
    assert r.status_code == 200, r.text
    return r.json()["fault"]


def sse_events(resp):
    """Parse an SSE body into a list of data payloads (str)."""
    text = resp.content.decode()
    assert text.endswith("\n\n")
    out = []
    for block in text.split("\n\n")[:-1]:
        assert block.startswith("data: "), block
        out.append(block[len("data: "):])
    return out


def raw_request(port, path, body, extra_headers=b""):
    """Send one request on a raw socket, read until the server closes."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    data = json.dumps(body).encode()
    s.sendall(b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n"
              b"Authorization: Bearer k\r\nContent-Type: application/json\r\n"
              + extra_headers + b"Content-Length: %d\r\n\r\n" % len(data) + data)
    buf = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    s.close()
    head, _, rest = buf.partition(b"\r\n\r\n")
    return head.decode(), rest


def port_of(sim):
    return int(sim.rsplit(":", 1)[1])


# --------------------------------------------------------------------------

def test_health(sim):
    r = requests.get(sim + "/_sim/health", timeout=5)
    assert r.status_code == 200 and r.json() == {"ok": True}


def test_non_stream_shape_and_tokens(sim):
    msgs = [{"role": "system", "content": "You are  terse."},
            {"role": "user", "content": [{"type": "text", "text": "what is\nup"},
                                         {"type": "image_url", "image_url": {"url": "x"}},
                                         {"type": "text", "text": "today"}]}]
    r = chat(sim, provider="groq", model="llama-4-maverick", messages=msgs)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    assert int(r.headers["content-length"]) == len(r.content)
    j = r.json()
    assert j["id"].startswith("chatcmpl-")
    assert j["object"] == "chat.completion"
    assert isinstance(j["created"], int)
    assert j["model"] == "llama-4-maverick"
    assert "system_fingerprint" in j
    (c,) = j["choices"]
    assert c["index"] == 0 and c["logprobs"] is None and c["finish_reason"] == "stop"
    expected = "Hello from groq/llama-4-maverick. You said: what is up today"
    assert c["message"]["role"] == "assistant"
    assert c["message"]["content"] == expected
    assert c["message"]["refusal"] is None
    u = j["usage"]
    # words: 3 ("You are terse.") + 4 ("what is up today") + 3 per message * 2
    assert u["prompt_tokens"] == 3 + 4 + 6
    assert u["completion_tokens"] == len(expected.split()) == 9
    assert u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"]


def test_user_text_truncated_to_200_chars(sim):
    long = "x" * 500
    j = chat(sim, messages=[{"role": "user", "content": long}]).json()
    assert j["choices"][0]["message"]["content"] == \
        "Hello from openai/gpt-4o-mini. You said: " + "x" * 200


def test_max_tokens_truncation(sim):
    for key in ("max_tokens", "max_completion_tokens"):
        j = chat(sim, **{key: 3}).json()
        assert j["choices"][0]["message"]["content"] == "Hello from openai/gpt-4o-mini."
        assert j["choices"][0]["finish_reason"] == "length"
        assert j["usage"]["completion_tokens"] == 3
    j = chat(sim, max_tokens=100).json()
    assert j["choices"][0]["finish_reason"] == "stop"


def test_stream_framing_with_include_usage(sim):
    text = "one two three four five six seven"
    r = chat(sim, provider="mistral", model="mistral-small", stream=True,
             stream_options={"include_usage": True},
             messages=[{"role": "user", "content": text}])
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in r.headers
    events = sse_events(r)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    ids = {c["id"] for c in chunks}
    assert len(ids) == 1 and ids.pop().startswith("chatcmpl-")
    for c in chunks:
        assert c["object"] == "chat.completion.chunk"
        assert c["model"] == "mistral-small"
        assert "usage" in c
    first, *content, finish, usage = chunks
    assert first["choices"][0]["delta"]["role"] == "assistant"
    assert first["choices"][0]["delta"]["content"] == ""
    assert first["usage"] is None
    expected = "Hello from mistral/mistral-small. You said: " + text
    assert len(content) == len(expected.split())          # one chunk per word
    assert "".join(c["choices"][0]["delta"]["content"] for c in content) == expected
    assert all(c["usage"] is None and c["choices"][0]["finish_reason"] is None
               for c in content)
    assert finish["choices"][0]["delta"] == {}
    assert finish["choices"][0]["finish_reason"] == "stop"
    assert finish["usage"] is None
    assert usage["choices"] == []
    assert usage["usage"]["prompt_tokens"] == 7 + 3
    assert usage["usage"]["completion_tokens"] == len(expected.split())
    assert usage["usage"]["total_tokens"] == 10 + len(expected.split())


def test_stream_without_include_usage(sim):
    events = sse_events(chat(sim, stream=True, max_tokens=2))
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert all("usage" not in c for c in chunks)
    assert all(c["choices"] for c in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks) == "Hello from"


def test_stream_options_requires_stream(sim):
    r = chat(sim, stream_options={"include_usage": True})
    assert r.status_code == 400
    assert r.json()["error"]["param"] == "stream_options"


def test_keep_alive_across_stream_and_non_stream(sim):
    conn = http.client.HTTPConnection("127.0.0.1", port_of(sim), timeout=5)
    socks = set()
    for stream in (True, False, True, False):
        body = json.dumps({"model": "m", "stream": stream,
                           "messages": [{"role": "user", "content": "hi"}]})
        conn.request("POST", "/xai/v1/chat/completions", body=body,
                     headers={"Authorization": "Bearer k", "Content-Type": "application/json"})
        resp = conn.getresponse()
        data = resp.read()
        assert resp.status == 200
        assert (b"data: [DONE]" in data) == stream
        socks.add(id(conn.sock))
    assert len(socks) == 1
    conn.close()


TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"location": {"type": "string"}}}}},
    {"type": "function", "function": {"name": "other"}}]


def test_tool_call_non_stream(sim):
    j = chat(sim, tools=TOOLS, messages=[{"role": "user", "content": "What's the Weather?"}]).json()
    c = j["choices"][0]
    assert c["finish_reason"] == "tool_calls"
    assert c["message"]["content"] is None
    (tc,) = c["message"]["tool_calls"]
    assert tc["id"].startswith("call_") and tc["type"] == "function"
    assert tc["function"]["name"] == "get_weather"
    assert json.loads(tc["function"]["arguments"]) == {"location": "Paris"}
    # no tools -> plain text; last message a tool result -> plain text
    j = chat(sim, messages=[{"role": "user", "content": "weather"}]).json()
    assert j["choices"][0]["finish_reason"] == "stop"
    j = chat(sim, tools=TOOLS, messages=[
        {"role": "user", "content": "weather"},
        {"role": "assistant", "content": None, "tool_calls": [tc]},
        {"role": "tool", "tool_call_id": tc["id"], "content": "sunny"}]).json()
    assert j["choices"][0]["finish_reason"] == "stop"
    assert j["choices"][0]["message"]["content"].endswith("You said: weather")


def test_tool_call_stream_fragments(sim):
    r = chat(sim, stream=True, tools=TOOLS, stream_options={"include_usage": True},
             messages=[{"role": "user", "content": "weather in paris"}])
    events = sse_events(r)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    first = chunks[0]["choices"][0]["delta"]
    assert first["role"] == "assistant"
    tc0 = first["tool_calls"][0]
    assert tc0["index"] == 0 and tc0["id"].startswith("call_") and tc0["type"] == "function"
    assert tc0["function"] == {"name": "get_weather", "arguments": ""}
    frags = []
    for c in chunks[1:]:
        if c["choices"] and "tool_calls" in c["choices"][0]["delta"]:
            t = c["choices"][0]["delta"]["tool_calls"][0]
            assert t["index"] == 0 and "id" not in t
            frags.append(t["function"]["arguments"])
    assert len(frags) >= 3
    assert json.loads("".join(frags)) == {"location": "Paris"}
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 2


def test_validation_envelopes(sim):
    assert chat(sim, model=None).status_code == 400
    r = requests.post(sim + "/openai/v1/chat/completions", headers=AUTH, timeout=5,
                      json={"messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 400
    e = r.json()["error"]
    assert e["type"] == "invalid_request_error" and e["param"] == "model" and e["code"] is None
    assert set(e) == {"message", "type", "param", "code"}
    r = requests.post(sim + "/openai/v1/chat/completions", headers=AUTH, timeout=5,
                      json={"model": "m"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "messages"
    r = requests.post(sim + "/openai/v1/chat/completions", headers=AUTH, timeout=5,
                      data=b"{not json")
    assert r.status_code == 400
    assert r.json()["error"]["type"] == "invalid_request_error"
    r = requests.post(sim + "/openai/v1/chat/completions", headers=AUTH, timeout=5, json=[1])
    assert r.status_code == 400
    r = chat(sim, messages=[{"role": "robot", "content": "x"}])
    assert r.status_code == 400 and r.json()["error"]["param"] == "messages[0].role"
    r = requests.post(sim + "/openai/v1/nope", headers=AUTH, timeout=5, json={})
    assert r.status_code == 404 and "error" in r.json()


def test_auth_envelopes(sim):
    for h in ({}, {"Authorization": "Bearer "}, {"Authorization": "Basic abc"}):
        r = chat(sim, headers=h)
        assert r.status_code == 401
        e = r.json()["error"]
        assert e["code"] == "invalid_api_key" and e["type"] == "invalid_request_error"
    r = requests.get(sim + "/openai/v1/models", timeout=5)
    assert r.status_code == 401


def test_models(sim):
    r = requests.get(sim + "/kimi/v1/models", headers=AUTH, timeout=5)
    j = r.json()
    assert j["object"] == "list" and len(j["data"]) >= 2
    assert all(m["object"] == "model" and m["owned_by"] == "kimi" for m in j["data"])
    r = requests.get(sim + "/kimi/v1/models/kimi-k2", headers=AUTH, timeout=5)
    assert r.json()["id"] == "kimi-k2"


def test_fault_status_count(sim):
    fault(sim, provider="openai", status=503, count=2)
    for _ in range(2):
        r = chat(sim)
        assert r.status_code == 503
        e = r.json()["error"]
        assert e["type"] == "server_error" and set(e) == {"message", "type", "param", "code"}
    assert chat(sim).status_code == 200
    # other providers are unaffected
    fault(sim, provider="openai", status=500)
    assert chat(sim, provider="together").status_code == 200
    assert chat(sim).status_code == 500


def test_fault_429_envelope_and_headers(sim):
    fault(sim, provider="deepseek", status=429, headers={"retry-after": "2"})
    r = chat(sim, provider="deepseek")
    assert r.status_code == 429
    assert r.headers["retry-after"] == "2"
    e = r.json()["error"]
    assert e["type"] == "requests" and e["code"] == "rate_limit_exceeded"


def test_fault_model_filter_and_until_cleared(sim):
    fault(sim, provider="openai", model="gpt-4o", status=502, count=-1)
    assert chat(sim, model="gpt-4o-mini").status_code == 200
    for _ in range(3):
        assert chat(sim, model="gpt-4o").status_code == 502
    assert len(requests.get(sim + "/_sim/faults", timeout=5).json()["faults"]) == 1
    assert requests.delete(sim + "/_sim/faults", timeout=5).json()["cleared"] == 1
    assert chat(sim, model="gpt-4o").status_code == 200


def test_fault_delay(sim):
    fault(sim, provider="openai", delay_ms=300)
    t0 = time.monotonic()
    r = chat(sim)
    assert r.status_code == 200 and time.monotonic() - t0 >= 0.3
    t0 = time.monotonic()
    assert chat(sim).status_code == 200 and time.monotonic() - t0 < 0.3
    fault(sim, provider="openai", delay_ms=200, status=503)
    t0 = time.monotonic()
    assert chat(sim).status_code == 503 and time.monotonic() - t0 >= 0.2


def test_fault_cut_stream(sim):
    fault(sim, provider="openai", cut_after_chunks=3)
    head, rest = raw_request(port_of(sim), "/openai/v1/chat/completions",
                             {"model": "m", "stream": True,
                              "messages": [{"role": "user", "content": "a b c d e f"}]})
    assert head.startswith("HTTP/1.1 200")
    assert "transfer-encoding: chunked" in head.lower()
    assert rest.count(b"data: ") == 3
    assert b"[DONE]" not in rest
    assert not rest.endswith(b"0\r\n\r\n")
    # requests/urllib3 reports the truncated chunked body as an error
    fault(sim, provider="openai", cut_after_chunks=2)
    r = chat(sim, stream=True)
    with pytest.raises(requests.exceptions.RequestException):
        for _ in r.iter_content(None):
            pass
    # the next request is fine again
    assert sse_events(chat(sim, stream=True))[-1] == "[DONE]"


def test_fault_cut_non_stream(sim):
    fault(sim, provider="openai", cut_after_chunks=0)
    head, rest = raw_request(port_of(sim), "/openai/v1/chat/completions",
                             {"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    assert head.startswith("HTTP/1.1 200")
    clen = int([l for l in head.split("\r\n") if l.lower().startswith("content-length:")][0]
               .split(":")[1])
    assert 0 < len(rest) < clen


def test_fault_close_and_body(sim):
    fault(sim, provider="openai", close=True)
    with pytest.raises(requests.exceptions.ConnectionError):
        chat(sim)
    fault(sim, provider="openai", status=400, body={"error": {"message": "custom"}})
    r = chat(sim)
    assert r.status_code == 400 and r.json() == {"error": {"message": "custom"}}


def test_request_log(sim):
    chat(sim, headers={"Authorization": "Bearer sk-upstream-groq", "X-Custom": "1"},
         provider="groq")
    chat(sim, provider="openai")
    chat(sim, provider="openai", stream=True).content
    chat(sim, provider="openai", headers={})
    j = requests.get(sim + "/_sim/requests?provider=openai", timeout=5).json()
    assert j["count"] == 3 and len(j["requests"]) == 3
    assert [e["status"] for e in j["requests"]] == [200, 200, 401]
    assert j["requests"][1]["stream"] is True
    j = requests.get(sim + "/_sim/requests?provider=groq", timeout=5).json()
    assert j["count"] == 1
    e = j["requests"][0]
    assert e["provider"] == "groq"
    assert e["path"] == "/groq/v1/chat/completions"
    assert e["headers"]["authorization"] == "Bearer sk-upstream-groq"
    assert e["headers"]["x-custom"] == "1"
    assert e["body"]["model"] == "gpt-4o-mini"
    assert isinstance(e["ts"], float)
    j = requests.get(sim + "/_sim/requests", timeout=5).json()
    assert j["count"] == 4
    assert requests.get(sim + "/_sim/requests?limit=1", timeout=5).json()["requests"][0][
        "provider"] == "openai"
    requests.post(sim + "/_sim/reset", timeout=5)
    assert requests.get(sim + "/_sim/requests", timeout=5).json() == {"count": 0, "requests": []}


def test_fault_spec_validation(sim):
    r = requests.post(sim + "/_sim/faults", json={"status": "x"}, timeout=5)
    assert r.status_code == 400
    r = requests.post(sim + "/_sim/faults", data=b"{", timeout=5)
    assert r.status_code == 400


def test_body_too_large(sim):
    s = socket.create_connection(("127.0.0.1", port_of(sim)), timeout=5)
    s.sendall(b"POST /openai/v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
              b"Authorization: Bearer k\r\nContent-Length: %d\r\n\r\n{" % (17 * 1024 * 1024))
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    assert data.startswith(b"HTTP/1.1 413")
    assert b"request_too_large" in data


def test_client_disconnect_mid_stream_is_quiet(sim):
    fault(sim, provider="openai", chunk_delay_ms=20)
    s = socket.create_connection(("127.0.0.1", port_of(sim)), timeout=5)
    body = json.dumps({"model": "m", "stream": True,
                       "messages": [{"role": "user", "content": "w " * 50}]}).encode()
    s.sendall(b"POST /openai/v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
              b"Authorization: Bearer k\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    s.recv(1024)
    s.close()
    time.sleep(0.2)
    assert requests.get(sim + "/_sim/health", timeout=5).json() == {"ok": True}


def test_sigterm_exits_cleanly(tmp_path):
    proc, port = start_sim(tmp_path)
    assert requests.get("http://127.0.0.1:%d/_sim/health" % port, timeout=5).ok
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(5) == 0
    assert proc.stderr.read() == b""
