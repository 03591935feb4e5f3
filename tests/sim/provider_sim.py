#!/usr/bin/env python3
"""Conduix provider simulator: a stand-in for upstream LLM provider APIs.

Python 3.11 standard library only.  One process, one port, every provider
under a path prefix, so the gateway's base URL for provider X is
``http://HOST:PORT/X/v1``.

Usage::

    provider_sim.py --port N [--host 127.0.0.1] [--ready-file PATH] [--verbose]

``--port 0`` picks a free port; ``--ready-file`` receives the bound port
(written atomically once the socket is listening).  SIGTERM/SIGINT exit 0.

Provider API (OpenAI wire format, any provider slug ``[A-Za-z0-9_.-]+``)
-----------------------------------------------------------------------
``POST /<provider>/v1/chat/completions``  Chat Completions, stream or not.
``GET  /<provider>/v1/models``            model list (two ids per provider).
``GET  /<provider>/v1/models/<id>``       one model object (any id).

All of them require ``Authorization: Bearer <non-empty>`` (else 401,
``code: invalid_api_key``).  Errors use the OpenAI envelope
``{"error":{"message","type","param","code"}}``.

Deterministic content
---------------------
Reply text = ``"Hello from <provider>/<model>."`` followed by
``" You said: <U>"`` where ``<U>`` is the text of the last ``user`` message
with runs of whitespace collapsed to one space, truncated to 200 characters
and stripped (the suffix is omitted when there is no user text).  Text of a
message = its string content, or the ``text`` fields of its content parts
joined by a space.

Token counting
--------------
* ``prompt_tokens`` = number of whitespace-separated words across the text of
  all messages + 3 per message.  (Tool definitions are not counted.)
* ``completion_tokens`` = number of whitespace-separated words in the reply
  (after ``max_tokens`` truncation), times ``n``.  For a tool call it is the
  word count of ``"<function name> <arguments>"`` (2 for the default call).
* ``max_completion_tokens`` (or else ``max_tokens``): if the reply has more
  words than that, it is truncated to that many words and ``finish_reason``
  is ``"length"``.
* Streaming sends one content chunk per word (the word plus the following
  space; the last word has none), so concatenated deltas == the non-stream
  content.

Tools
-----
When the request has ``tools``, the last message has role ``user`` and its
text contains ``weather`` (case-insensitive), the first tool is called with
arguments ``{"location":"Paris"}``: ``content: null``,
``finish_reason: "tool_calls"``.  Streamed like OpenAI: a first chunk with
index/id/type/name and empty arguments, then argument fragments
(``{"``, ``location``, ``":"``, ``Paris``, ``"}``), then the finish chunk.
A conversation whose last message is a tool result gets a normal text reply.

Control API (no auth)
---------------------
``GET    /_sim/health``               ``{"ok": true}``
``POST   /_sim/faults``               queue a fault, returns ``{"ok":true,"fault":{...,"id":N}}``
``GET    /_sim/faults``               active faults
``DELETE /_sim/faults[?provider=p]``  clear all (or one provider's) faults
``DELETE /_sim/requests``             clear the request log only
``POST   /_sim/reset``                clear faults and the request log
``GET    /_sim/requests[?provider=p][&limit=N]``
    ``{"count": <total since reset matching the filter>,
       "requests": [{"provider","method","path","headers"(lower-case names),
                     "body"(parsed JSON or null),"ts","model","stream",
                     "status","fault"}...]}``  (last 1000 kept, oldest first)

Fault spec (``POST /_sim/faults``), every field optional::

    {"provider": "openai",      # slug, or "*" / missing for every provider
     "model": null,             # only requests for this model
     "count": 1,                # next N matching requests; -1 = until cleared
     "status": 503,             # respond with this status + matching envelope
     "delay_ms": 0,             # sleep before answering (works with a 200 too)
     "cut_after_chunks": null,  # stream: send K data events, then close the
                                #   connection without [DONE] or the final
                                #   zero-length chunk; non-stream: send half
                                #   of the body, then close
     "body": null,              # raw body to send instead (dict/list -> JSON;
                                #   status defaults to 200)
     "headers": null,           # extra response headers, e.g. {"retry-after":"2"}
     "close": false,            # close the connection without any response
     "chunk_delay_ms": 0,       # stream: sleep between data events
     "error_type": null, "error_code": null, "message": null}  # envelope overrides

Faults apply to completion endpoints only (not model listing), after auth and
request validation.  Matching faults are consumed oldest first.  Status
envelopes: 429 -> type ``requests`` code ``rate_limit_exceeded``;
5xx -> type ``server_error``; 401 -> ``invalid_api_key``; 404 ->
``model_not_found``; other 4xx -> ``invalid_request_error``.

Adding wire formats
-------------------
``ROUTES`` maps (method, path regex) to (format name, action) and
``FORMATS`` maps a format name to its handler functions (auth, error,
parse, respond, stream, models).  ``parse`` turns a wire request into a
format-neutral ``SimRequest``; ``simulate`` produces a ``SimResult``;
``respond``/``stream`` render it back.  Anthropic Messages
(``/anthropic/v1/messages``) and Gemini
(``/google/v1beta/models/{model}:generateContent``) are to be added as two
more ``FORMATS`` entries plus routes (see the commented placeholders).
"""

from __future__ import annotations

import argparse
import collections
import copy
import http.server
import json
import os
import random
import re
import signal
import socket
import string
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

MAX_BODY = 16 * 1024 * 1024          # larger request bodies -> 413
LOG_KEEP = 1000                      # request log entries kept
LOG_BODY_MAX = 1024 * 1024           # bodies above this are logged as null
REPLY_USER_MAX = 200                 # chars of the user text echoed back
SYSTEM_FINGERPRINT = "fp_conduixsim"

VERBOSE = False


def _log(msg: str) -> None:
    if VERBOSE:
        sys.stderr.write("[provider_sim] %s\n" % msg)
        sys.stderr.flush()


def _rand_id(prefix: str, n: int = 24) -> str:
    alphabet = string.ascii_letters + string.digits
    return prefix + "".join(random.choice(alphabet) for _ in range(n))


class SimError(Exception):
    """A request error to be rendered by the format's error function."""

    def __init__(self, status: int, message: str, param: str | None = None,
                 code: str | None = None, etype: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.etype = etype


# --------------------------------------------------------------------------
# Shared state: faults and request log
# --------------------------------------------------------------------------

class SimState:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.faults: list[dict] = []
        self.next_fault_id = 1
        self.log: collections.deque = collections.deque(maxlen=LOG_KEEP)
        self.counts: collections.Counter = collections.Counter()
        self.total = 0

    # -- faults --
    def add_fault(self, spec: Any) -> dict:
        if not isinstance(spec, dict):
            raise SimError(400, "fault spec must be a JSON object")
        f: dict[str, Any] = {}
        prov = spec.get("provider")
        if prov is not None and not isinstance(prov, str):
            raise SimError(400, "provider must be a string", "provider")
        f["provider"] = prov or "*"
        model = spec.get("model")
        if model is not None and not isinstance(model, str):
            raise SimError(400, "model must be a string or null", "model")
        f["model"] = model
        count = spec.get("count", 1)
        if count is None:
            count = 1
        if not _is_int(count) or (count < 1 and count != -1):
            raise SimError(400, "count must be a positive integer or -1", "count")
        f["count"] = count
        status = spec.get("status")
        if status is not None and (not _is_int(status) or not 100 <= status <= 599):
            raise SimError(400, "status must be an HTTP status code or null", "status")
        f["status"] = status
        for key in ("delay_ms", "chunk_delay_ms"):
            v = spec.get(key) or 0
            if not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0:
                raise SimError(400, "%s must be a non-negative number" % key, key)
            f[key] = v
        cut = spec.get("cut_after_chunks")
        if cut is not None and (not _is_int(cut) or cut < 0):
            raise SimError(400, "cut_after_chunks must be a non-negative integer or null",
                           "cut_after_chunks")
        f["cut_after_chunks"] = cut
        f["body"] = spec.get("body")
        headers = spec.get("headers")
        if headers is not None and (not isinstance(headers, dict) or not all(
                isinstance(k, str) and isinstance(v, (str, int)) for k, v in headers.items())):
            raise SimError(400, "headers must be an object of strings", "headers")
        f["headers"] = headers
        f["close"] = bool(spec.get("close", False))
        for key in ("error_type", "error_code", "message", "content_type"):
            v = spec.get(key)
            if v is not None and not isinstance(v, str):
                raise SimError(400, "%s must be a string or null" % key, key)
            f[key] = v
        with self.lock:
            f["id"] = self.next_fault_id
            self.next_fault_id += 1
            f["applied"] = 0
            self.faults.append(f)
            return dict(f)

    def take_fault(self, provider: str, model: str | None) -> dict | None:
        with self.lock:
            for f in self.faults:
                if f["provider"] not in ("*", provider):
                    continue
                if f["model"] is not None and f["model"] != model:
                    continue
                f["applied"] += 1
                if f["count"] != -1:
                    f["count"] -= 1
                    if f["count"] <= 0:
                        self.faults.remove(f)
                return dict(f)
        return None

    def list_faults(self) -> list[dict]:
        with self.lock:
            return [dict(f) for f in self.faults]

    def clear_faults(self, provider: str | None = None) -> int:
        with self.lock:
            before = len(self.faults)
            if provider is None:
                self.faults.clear()
            else:
                self.faults = [f for f in self.faults if f["provider"] != provider]
            return before - len(self.faults)

    # -- request log --
    def record(self, entry: dict) -> dict:
        with self.lock:
            self.log.append(entry)
            self.counts[entry["provider"]] += 1
            self.total += 1
        return entry

    def update(self, entry: dict, **kw: Any) -> None:
        with self.lock:
            entry.update(kw)

    def requests(self, provider: str | None, limit: int | None) -> dict:
        with self.lock:
            if provider is None:
                items = list(self.log)
                count = self.total
            else:
                items = [e for e in self.log if e["provider"] == provider]
                count = self.counts.get(provider, 0)
            if limit is not None:
                items = items[-limit:] if limit > 0 else []
            return {"count": count, "requests": copy.deepcopy(items)}

    def clear_log(self) -> None:
        with self.lock:
            self.log.clear()
            self.counts.clear()
            self.total = 0

    def reset(self) -> None:
        with self.lock:
            self.faults.clear()
            self.log.clear()
            self.counts.clear()
            self.total = 0


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


STATE = SimState()


# --------------------------------------------------------------------------
# Format-neutral request/result and the deterministic "model"
# --------------------------------------------------------------------------

@dataclass
class SimRequest:
    provider: str
    model: str
    messages: list[tuple[str, str]]          # (role, text)
    tools: list[str] = field(default_factory=list)   # function names, in order
    stream: bool = False
    include_usage: bool = False
    max_tokens: int | None = None
    n: int = 1
    extra: dict = field(default_factory=dict)        # format-specific details


@dataclass
class SimResult:
    text: str | None
    words: list[str]
    finish_reason: str
    tool_name: str | None
    tool_arguments: str | None
    tool_call_id: str | None
    prompt_tokens: int
    completion_tokens: int                    # per choice


def count_words(text: str) -> int:
    return len(text.split())


def last_user_text(messages: list[tuple[str, str]]) -> str | None:
    for role, text in reversed(messages):
        if role == "user":
            return text
    return None


def reply_text(provider: str, model: str, user: str | None) -> str:
    text = "Hello from %s/%s." % (provider, model)
    if user:
        u = " ".join(user.split())[:REPLY_USER_MAX].strip()
        if u:
            text += " You said: " + u
    return text


def simulate(req: SimRequest) -> SimResult:
    prompt_tokens = sum(count_words(t) for _, t in req.messages) + 3 * len(req.messages)
    last = req.messages[-1] if req.messages else None
    if (req.tools and last is not None and last[0] == "user"
            and "weather" in last[1].lower()):
        name = req.tools[0]
        args = json.dumps({"location": "Paris"}, separators=(",", ":"))
        return SimResult(text=None, words=[], finish_reason="tool_calls",
                         tool_name=name, tool_arguments=args,
                         tool_call_id=_rand_id("call_"), prompt_tokens=prompt_tokens,
                         completion_tokens=count_words(name + " " + args))
    words = reply_text(req.provider, req.model, last_user_text(req.messages)).split()
    finish = "stop"
    if req.max_tokens is not None and len(words) > req.max_tokens:
        words = words[:req.max_tokens]
        finish = "length"
    return SimResult(text=" ".join(words), words=words, finish_reason=finish,
                     tool_name=None, tool_arguments=None, tool_call_id=None,
                     prompt_tokens=prompt_tokens, completion_tokens=len(words))


# Fragments like a tokenizer would produce: {"  location  ":"  Paris  "}
_ARG_FRAG = re.compile(r'\{"|":"|","|"\}|":|[^"{}:,]+|.', re.S)


def split_arguments(args: str) -> list[str]:
    return _ARG_FRAG.findall(args) or [args]


# --------------------------------------------------------------------------
# OpenAI Chat Completions format
# --------------------------------------------------------------------------

_OPENAI_ROLES = {"system", "developer", "user", "assistant", "tool", "function"}


def openai_auth(headers: dict[str, str], query: dict | None = None) -> SimError | None:
    auth = headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return SimError(401, "You didn't provide an API key. You need to provide your API "
                        "key in an Authorization header using Bearer auth (i.e. "
                        "Authorization: Bearer YOUR_KEY).", None, "invalid_api_key")
    return None


_OPENAI_STATUS_DEFAULTS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    402: ("insufficient_quota", "insufficient_quota",
          "You exceeded your current quota, please check your plan and billing details."),
    403: ("invalid_request_error", "unsupported_country_region_territory",
          "Country, region, or territory not supported"),
    404: ("invalid_request_error", "model_not_found",
          "The model does not exist or you do not have access to it."),
    408: ("server_error", "timeout", "Request timed out."),
    409: ("invalid_request_error", None, "Conflict."),
    413: ("invalid_request_error", "request_too_large", "Request body too large."),
    422: ("invalid_request_error", None, "Unprocessable request."),
    429: ("requests", "rate_limit_exceeded",
          "Rate limit reached on requests per min (RPM): Limit 3, Used 3, Requested 1. "
          "Please try again in 20s."),
    500: ("server_error", None,
          "The server had an error while processing your request. Sorry about that!"),
    502: ("server_error", None, "Bad gateway."),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
    504: ("server_error", None, "Gateway timeout."),
}


def openai_error(err: SimError) -> dict:
    dtype, dcode, dmsg = _OPENAI_STATUS_DEFAULTS.get(
        err.status,
        ("server_error", None, "Upstream error.") if err.status >= 500
        else ("invalid_request_error", None, "Request failed."))
    return {"error": {
        "message": err.message or dmsg,
        "type": err.etype or dtype,
        "param": err.param,
        "code": err.code if err.code is not None else dcode,
    }}


def _openai_content_text(content: Any, idx: int) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for j, part in enumerate(content):
            if not isinstance(part, dict):
                raise SimError(400, "Invalid type for 'messages[%d].content[%d]': expected an "
                               "object, but got %s instead." % (idx, j, _jtype(part)),
                               "messages[%d].content[%d]" % (idx, j))
            t = part.get("text")
            if isinstance(t, str):
                texts.append(t)
        return " ".join(texts)
    raise SimError(400, "Invalid type for 'messages[%d].content': expected one of a string "
                   "or array of objects, but got %s instead." % (idx, _jtype(content)),
                   "messages[%d].content" % idx)


def _jtype(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, (int, float)):
        return "a number"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, list):
        return "an array"
    return "an object"


def _opt_positive_int(body: dict, key: str) -> int | None:
    v = body.get(key)
    if v is None:
        return None
    if not _is_int(v):
        raise SimError(400, "Invalid type for '%s': expected an integer, but got %s instead."
                       % (key, _jtype(v)), key)
    if v < 1:
        raise SimError(400, "Invalid '%s': integer below minimum value. Expected a value >= 1, "
                       "but got %d instead." % (key, v), key, "integer_below_min_value")
    return v


def openai_parse(body: Any, params: dict, provider: str) -> SimRequest:
    if not isinstance(body, dict):
        raise SimError(400, "Invalid request body: expected a JSON object.")
    model = body.get("model")
    if model is None:
        raise SimError(400, "you must provide a model parameter", "model")
    if not isinstance(model, str) or not model:
        raise SimError(400, "Invalid type for 'model': expected a string, but got %s instead."
                       % _jtype(model), "model")
    messages = body.get("messages")
    if messages is None:
        raise SimError(400, "Missing required parameter: 'messages'.", "messages")
    if not isinstance(messages, list):
        raise SimError(400, "Invalid type for 'messages': expected an array, but got %s "
                       "instead." % _jtype(messages), "messages")
    if not messages:
        raise SimError(400, "Invalid 'messages': empty array. Expected an array with minimum "
                       "length 1, but got an empty array instead.", "messages")
    msgs: list[tuple[str, str]] = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            raise SimError(400, "Invalid type for 'messages[%d]': expected an object, but got "
                           "%s instead." % (i, _jtype(m)), "messages[%d]" % i)
        role = m.get("role")
        if role is None:
            raise SimError(400, "Missing required parameter: 'messages[%d].role'." % i,
                           "messages[%d].role" % i)
        if role not in _OPENAI_ROLES:
            raise SimError(400, "Invalid value: '%s'. Supported values are: 'system', "
                           "'assistant', 'user', 'function', 'tool', and 'developer'."
                           % (role,), "messages[%d].role" % i)
        msgs.append((role, _openai_content_text(m.get("content"), i)))
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise SimError(400, "Invalid type for 'stream': expected a boolean, but got %s "
                       "instead." % _jtype(stream), "stream")
    stream = bool(stream)
    so = body.get("stream_options")
    include_usage = False
    if so is not None:
        if not stream:
            raise SimError(400, "The 'stream_options' parameter is only allowed when "
                           "'stream' is enabled.", "stream_options")
        if not isinstance(so, dict):
            raise SimError(400, "Invalid type for 'stream_options': expected an object, but "
                           "got %s instead." % _jtype(so), "stream_options")
        include_usage = bool(so.get("include_usage"))
    mt = _opt_positive_int(body, "max_tokens")
    mct = _opt_positive_int(body, "max_completion_tokens")
    n = _opt_positive_int(body, "n") or 1
    if n > 128:
        raise SimError(400, "Invalid 'n': integer above maximum value. Expected a value <= "
                       "128, but got %d instead." % n, "n", "integer_above_max_value")
    tools_in = body.get("tools")
    tools: list[str] = []
    if tools_in is not None:
        if not isinstance(tools_in, list):
            raise SimError(400, "Invalid type for 'tools': expected an array, but got %s "
                           "instead." % _jtype(tools_in), "tools")
        for i, t in enumerate(tools_in):
            fn = t.get("function") if isinstance(t, dict) else None
            name = fn.get("name") if isinstance(fn, dict) else None
            if not isinstance(name, str) or not name:
                raise SimError(400, "Missing required parameter: 'tools[%d].function.name'." % i,
                               "tools[%d].function.name" % i)
            tools.append(name)
    return SimRequest(provider=provider, model=model, messages=msgs, tools=tools,
                      stream=stream, include_usage=include_usage,
                      max_tokens=mct if mct is not None else mt, n=n)


def _openai_usage(req: SimRequest, res: SimResult) -> dict:
    ct = res.completion_tokens * req.n
    return {
        "prompt_tokens": res.prompt_tokens,
        "completion_tokens": ct,
        "total_tokens": res.prompt_tokens + ct,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                      "accepted_prediction_tokens": 0,
                                      "rejected_prediction_tokens": 0},
    }


def openai_respond(req: SimRequest, res: SimResult) -> dict:
    if res.tool_name is not None:
        message = {"role": "assistant", "content": None,
                   "tool_calls": [{"id": res.tool_call_id, "type": "function",
                                   "function": {"name": res.tool_name,
                                                "arguments": res.tool_arguments}}],
                   "refusal": None, "annotations": []}
    else:
        message = {"role": "assistant", "content": res.text, "refusal": None,
                   "annotations": []}
    return {
        "id": _rand_id("chatcmpl-", 29),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": req.model,
        "choices": [{"index": i, "message": copy.deepcopy(message), "logprobs": None,
                     "finish_reason": res.finish_reason} for i in range(req.n)],
        "usage": _openai_usage(req, res),
        "service_tier": "default",
        "system_fingerprint": SYSTEM_FINGERPRINT,
    }


def openai_stream(req: SimRequest, res: SimResult) -> Iterator[bytes]:
    """Yield SSE events (bytes).  The last one is always ``data: [DONE]``."""
    cid = _rand_id("chatcmpl-", 29)
    created = int(time.time())

    def chunk(choices: list[dict], usage: Any = None, usage_chunk: bool = False) -> bytes:
        obj: dict[str, Any] = {"id": cid, "object": "chat.completion.chunk", "created": created,
                               "model": req.model, "service_tier": "default",
                               "system_fingerprint": SYSTEM_FINGERPRINT, "choices": choices}
        if req.include_usage:
            obj["usage"] = usage if usage_chunk else None
        return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"

    def each(delta: dict, finish: str | None = None) -> Iterator[bytes]:
        for i in range(req.n):
            yield chunk([{"index": i, "delta": copy.deepcopy(delta), "logprobs": None,
                          "finish_reason": finish}])

    if res.tool_name is not None:
        yield from each({"role": "assistant", "content": None,
                         "tool_calls": [{"index": 0, "id": res.tool_call_id, "type": "function",
                                         "function": {"name": res.tool_name, "arguments": ""}}],
                         "refusal": None})
        for frag in split_arguments(res.tool_arguments or ""):
            yield from each({"tool_calls": [{"index": 0, "function": {"arguments": frag}}]})
    else:
        yield from each({"role": "assistant", "content": "", "refusal": None})
        last = len(res.words) - 1
        for k, w in enumerate(res.words):
            yield from each({"content": w if k == last else w + " "})
    yield from each({}, res.finish_reason)
    if req.include_usage:
        yield chunk([], _openai_usage(req, res), usage_chunk=True)
    yield b"data: [DONE]\n\n"


def openai_models(provider: str, model_id: str | None) -> dict:
    created = 1700000000
    if model_id is not None:
        return {"id": model_id, "object": "model", "created": created, "owned_by": provider}
    ids = ["%s-sim-small" % provider, "%s-sim-large" % provider]
    return {"object": "list",
            "data": [{"id": i, "object": "model", "created": created, "owned_by": provider}
                     for i in ids]}


# --------------------------------------------------------------------------
# Anthropic Messages format (POST /<provider>/v1/messages)
# --------------------------------------------------------------------------
# As Anthropic's Messages API reference describes it: x-api-key (or the key as a
# Bearer token, as the current SDKs send it) and anthropic-version headers; system as a string or text blocks; messages of
# user/assistant turns whose content is a string or blocks (text, image with a
# base64 or url source, tool_use, tool_result); max_tokens required; tools with
# input_schema.  Answers are Message objects; streams are SSE with "event:"
# lines: message_start, content_block_start, ping, content_block_delta
# (text_delta / input_json_delta), content_block_stop, message_delta (stop_reason,
# cumulative output_tokens), message_stop.  Errors:
# {"type":"error","error":{"type","message"},"request_id"}.

_ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error", 401: "authentication_error", 402: "billing_error",
    403: "permission_error", 404: "not_found_error", 413: "request_too_large",
    429: "rate_limit_error", 500: "api_error", 504: "timeout_error", 529: "overloaded_error",
}
_ANTHROPIC_MEDIA = {"image/jpeg", "image/png", "image/gif", "image/webp"}
_ANTHROPIC_STOP = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}


def anthropic_auth(headers: dict[str, str], query: dict | None = None) -> SimError | None:
    # x-api-key, or the key as a Bearer token (what current official SDKs send)
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if not headers.get("x-api-key", "").strip() and not (scheme.lower() == "bearer" and token.strip()):
        return SimError(401, "x-api-key header is required", etype="authentication_error")
    if not headers.get("anthropic-version", "").strip():
        return SimError(400, "anthropic-version: header is required", etype="invalid_request_error")
    return None


def anthropic_error(err: SimError) -> dict:
    etype = err.etype or _ANTHROPIC_ERROR_TYPES.get(
        err.status, "api_error" if err.status >= 500 else "invalid_request_error")
    default = {"overloaded_error": "Overloaded", "rate_limit_error":
               "Number of request tokens has exceeded your per-minute rate limit",
               "api_error": "Internal server error"}.get(etype, "Invalid request")
    return {"type": "error", "error": {"type": etype, "message": err.message or default},
            "request_id": _rand_id("req_", 24)}


def _anthropic_blocks_text(content: Any, at: str, role: str) -> tuple[str, bool]:
    """(text, only_tool_results) of a message's content, validating the blocks."""
    if isinstance(content, str):
        if not content and role == "user":
            raise SimError(400, "%s: user messages must have non-empty content" % at)
        return content, False
    if not isinstance(content, list) or not content:
        raise SimError(400, "%s: Input should be a valid string or a non-empty list" % at)
    texts: list[str] = []
    kinds = set()
    for j, b in enumerate(content):
        bat = "%s.%d" % (at, j)
        if not isinstance(b, dict) or not isinstance(b.get("type"), str):
            raise SimError(400, "%s: Input should be a valid content block" % bat)
        t = b["type"]
        kinds.add(t)
        if t == "text":
            if not isinstance(b.get("text"), str) or not b["text"]:
                raise SimError(400, "%s: text content blocks must be non-empty" % bat)
            texts.append(b["text"])
        elif t == "image":
            src = b.get("source")
            if not isinstance(src, dict):
                raise SimError(400, "%s.source: Field required" % bat)
            if src.get("type") == "base64":
                if src.get("media_type") not in _ANTHROPIC_MEDIA or not isinstance(src.get("data"), str):
                    raise SimError(400, "%s.source: media_type must be one of %s and data a "
                                   "base64 string" % (bat, sorted(_ANTHROPIC_MEDIA)))
            elif src.get("type") == "url":
                if not str(src.get("url", "")).startswith(("http://", "https://")):
                    raise SimError(400, "%s.source.url: must be an http(s) URL" % bat)
            else:
                raise SimError(400, "%s.source.type: must be 'base64' or 'url'" % bat)
        elif t == "tool_use":
            if role != "assistant":
                raise SimError(400, "%s: tool_use blocks are only allowed in assistant messages" % bat)
            if not isinstance(b.get("id"), str) or not isinstance(b.get("name"), str) \
                    or not isinstance(b.get("input"), dict):
                raise SimError(400, "%s: tool_use needs id, name and an input object" % bat)
        elif t == "tool_result":
            if role != "user":
                raise SimError(400, "%s: tool_result blocks are only allowed in user messages" % bat)
            if not isinstance(b.get("tool_use_id"), str):
                raise SimError(400, "%s.tool_use_id: Field required" % bat)
            c = b.get("content")
            if isinstance(c, str):
                texts.append(c)
            elif isinstance(c, list):
                texts.extend(x.get("text", "") for x in c if isinstance(x, dict))
        elif t in ("thinking", "redacted_thinking", "document"):
            pass
        else:
            raise SimError(400, "%s.type: unknown content block type '%s'" % (bat, t))
    return " ".join(texts), kinds == {"tool_result"}


def anthropic_parse(body: Any, params: dict, provider: str) -> SimRequest:
    if not isinstance(body, dict):
        raise SimError(400, "body: Input should be an object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise SimError(400, "model: Field required")
    mt = body.get("max_tokens")
    if not _is_int(mt) or mt < 1:
        raise SimError(400, "max_tokens: Field required (an integer >= 1)")
    msgs: list[tuple[str, str]] = []
    system = body.get("system")
    if system is not None:
        if isinstance(system, str):
            msgs.append(("system", system))
        elif isinstance(system, list):
            msgs.append(("system", " ".join(b.get("text", "") for b in system if isinstance(b, dict))))
        else:
            raise SimError(400, "system: Input should be a valid string or list of text blocks")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise SimError(400, "messages: Field required (a non-empty list)")
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ("user", "assistant"):
            raise SimError(400, "messages.%d.role: Input should be 'user' or 'assistant'" % i)
        text, tool_only = _anthropic_blocks_text(m.get("content"), "messages.%d.content" % i, m["role"])
        msgs.append(("tool" if tool_only else m["role"], text))
    tools: list[str] = []
    tools_in = body.get("tools")
    if tools_in is not None:
        if not isinstance(tools_in, list):
            raise SimError(400, "tools: Input should be a valid list")
        for i, t in enumerate(tools_in):
            if not isinstance(t, dict) or not isinstance(t.get("name"), str) \
                    or not isinstance(t.get("input_schema"), dict):
                raise SimError(400, "tools.%d: a tool needs name and input_schema" % i)
            tools.append(t["name"])
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise SimError(400, "stream: Input should be a valid boolean")
    temp = body.get("temperature")
    if temp is not None and (not isinstance(temp, (int, float)) or not 0 <= temp <= 1):
        raise SimError(400, "temperature: Input should be less than or equal to 1")
    return SimRequest(provider=provider, model=model, messages=msgs, tools=tools, stream=stream,
                      include_usage=True, max_tokens=mt, n=1)


def _anthropic_usage(res: SimResult, output_tokens: int | None = None) -> dict:
    return {"input_tokens": res.prompt_tokens, "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": res.completion_tokens if output_tokens is None else output_tokens}


def _anthropic_tool_id(res: SimResult) -> str:
    return "toolu_" + (res.tool_call_id or "call_x")[5:]


def anthropic_respond(req: SimRequest, res: SimResult) -> dict:
    if res.tool_name is not None:
        content = [{"type": "tool_use", "id": _anthropic_tool_id(res), "name": res.tool_name,
                    "input": json.loads(res.tool_arguments or "{}")}]
    else:
        content = [{"type": "text", "text": res.text}] if res.text else []
    return {"id": _rand_id("msg_", 24), "type": "message", "role": "assistant",
            "model": req.model, "content": content,
            "stop_reason": _ANTHROPIC_STOP[res.finish_reason], "stop_sequence": None,
            "usage": _anthropic_usage(res)}


def _sse_event(name: str, obj: dict) -> bytes:
    return ("event: %s\ndata: %s\n\n" % (name, json.dumps(obj, separators=(",", ":")))).encode()


def anthropic_stream(req: SimRequest, res: SimResult) -> Iterator[bytes]:
    """Yield SSE events; the last one is message_stop (never sent on a cut)."""
    msg = {"id": _rand_id("msg_", 24), "type": "message", "role": "assistant",
           "model": req.model, "content": [], "stop_reason": None, "stop_sequence": None,
           "usage": _anthropic_usage(res, 1)}
    yield _sse_event("message_start", {"type": "message_start", "message": msg})
    if res.tool_name is not None:
        yield _sse_event("content_block_start", {
            "type": "content_block_start", "index": 0,
            "content_block": {"type": "tool_use", "id": _anthropic_tool_id(res),
                              "name": res.tool_name, "input": {}}})
        yield _sse_event("ping", {"type": "ping"})
        for frag in [""] + split_arguments(res.tool_arguments or ""):
            yield _sse_event("content_block_delta", {
                "type": "content_block_delta", "index": 0,
                "delta": {"type": "input_json_delta", "partial_json": frag}})
    else:
        yield _sse_event("content_block_start", {
            "type": "content_block_start", "index": 0,
            "content_block": {"type": "text", "text": ""}})
        yield _sse_event("ping", {"type": "ping"})
        last = len(res.words) - 1
        for k, w in enumerate(res.words):
            yield _sse_event("content_block_delta", {
                "type": "content_block_delta", "index": 0,
                "delta": {"type": "text_delta", "text": w if k == last else w + " "}})
    yield _sse_event("content_block_stop", {"type": "content_block_stop", "index": 0})
    yield _sse_event("message_delta", {
        "type": "message_delta",
        "delta": {"stop_reason": _ANTHROPIC_STOP[res.finish_reason], "stop_sequence": None},
        "usage": {"output_tokens": res.completion_tokens}})
    yield _sse_event("message_stop", {"type": "message_stop"})


# --------------------------------------------------------------------------
# Google Gemini format
#   POST /<provider>/v1beta/models/<model>:generateContent
#   POST /<provider>/v1beta/models/<model>:streamGenerateContent?alt=sse
# --------------------------------------------------------------------------
# As Google's Gemini API reference describes it: x-goog-api-key header (or
# ?key=); the model in the path; contents of user/model turns made of parts
# (text, inlineData, fileData, functionCall, functionResponse; the proto JSON
# mapping accepts snake_case names too); systemInstruction; generationConfig
# (maxOutputTokens, candidateCount, ...); tools[].functionDeclarations.  Answers
# are GenerateContentResponse documents (candidates, finishReason,
# usageMetadata); streamGenerateContent with alt=sse sends one such document per
# SSE event (CRLF framed, no terminator: the last one carries finishReason),
# without alt=sse a JSON array of them.  Errors:
# {"error":{"code","message","status"}}.  A key starting with "bad" is answered
# 400 API_KEY_INVALID, as Google answers a wrong key.
# Safety, for tests: a last user text containing "unsafe" ends with finishReason
# SAFETY and no text; one containing "blockme" is a blocked prompt
# (promptFeedback.blockReason SAFETY, no candidates).

_GEMINI_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                  404: "NOT_FOUND", 409: "ABORTED", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL",
                  503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}
_GEMINI_FINISH = {"stop": "STOP", "length": "MAX_TOKENS", "tool_calls": "STOP"}


def _g(d: dict, camel: str) -> Any:
    """A field by its camelCase name or its snake_case twin (proto JSON accepts both)."""
    if camel in d:
        return d[camel]
    return d.get(re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), camel))


def gemini_auth(headers: dict[str, str], query: dict | None = None) -> SimError | None:
    key = headers.get("x-goog-api-key", "").strip() or ((query or {}).get("key") or [""])[0]
    if not key:
        return SimError(403, "Method doesn't allow unregistered callers (callers without "
                        "established identity). Please use API Key or other form of API "
                        "consumer identity to call this API.")
    if key.startswith("bad"):
        e = SimError(400, "API key not valid. Please pass a valid API key.")
        e.code = "API_KEY_INVALID"
        return e
    return None


def gemini_error(err: SimError) -> dict:
    status = _GEMINI_STATUS.get(err.status, "INTERNAL" if err.status >= 500 else "INVALID_ARGUMENT")
    body: dict[str, Any] = {"code": err.status, "message": err.message or {
        "RESOURCE_EXHAUSTED": "Resource has been exhausted (e.g. check quota).",
        "UNAVAILABLE": "The model is overloaded. Please try again later.",
        "INTERNAL": "An internal error has occurred.",
        "NOT_FOUND": "models/unknown is not found for API version v1beta."}.get(status, "Request contains an invalid argument."),
        "status": err.etype if err.etype in _GEMINI_STATUS.values() else status}
    if err.code == "API_KEY_INVALID":
        body["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                            "reason": "API_KEY_INVALID", "domain": "googleapis.com"}]
    return {"error": body}


def _gemini_part_text(part: Any, at: str) -> tuple[str, str]:
    """(kind, text) of one part, validating it."""
    if not isinstance(part, dict):
        raise SimError(400, "Invalid value at '%s': expected an object" % at)
    kinds = [k for k in ("text", "inlineData", "fileData", "functionCall", "functionResponse")
             if _g(part, k) is not None]
    if len(kinds) != 1:
        raise SimError(400, "Invalid value at '%s': a part holds exactly one of text, "
                       "inlineData, fileData, functionCall, functionResponse" % at)
    k = kinds[0]
    v = _g(part, k)
    if k == "text":
        if not isinstance(v, str):
            raise SimError(400, "Invalid value at '%s.text': expected a string" % at)
        if not v and not part.get("thought"):
            raise SimError(400, "Unable to submit request because it has an empty text parameter. "
                           "Add a value to the parameter and try again.")
        return k, v
    if k in ("inlineData", "fileData"):
        if not isinstance(v, dict) or not isinstance(_g(v, "mimeType"), str):
            raise SimError(400, "Invalid value at '%s.%s': mimeType is required" % (at, k))
        if k == "inlineData" and not isinstance(v.get("data"), str):
            raise SimError(400, "Invalid value at '%s.inlineData.data': base64 data is required" % at)
        if k == "fileData" and not isinstance(_g(v, "fileUri"), str):
            raise SimError(400, "Invalid value at '%s.fileData.fileUri': required" % at)
        return k, ""
    if not isinstance(v, dict) or not isinstance(v.get("name"), str):
        raise SimError(400, "Invalid value at '%s.%s.name': required" % (at, k))
    if k == "functionResponse":
        if not isinstance(v.get("response"), dict):
            raise SimError(400, "Invalid value at '%s.functionResponse.response': expected an "
                           "object" % at)
        return k, json.dumps(v["response"])
    return k, ""


def gemini_parse(body: Any, params: dict, provider: str) -> SimRequest:
    if not isinstance(body, dict):
        raise SimError(400, "Invalid JSON payload received. Expected an object.")
    model = urllib.parse.unquote(params["model"])
    msgs: list[tuple[str, str]] = []
    si = _g(body, "systemInstruction")
    if si is not None:
        if not isinstance(si, dict) or not isinstance(si.get("parts"), list):
            raise SimError(400, "Invalid value at 'system_instruction': expected parts")
        msgs.append(("system", " ".join(p.get("text", "") for p in si["parts"] if isinstance(p, dict))))
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        raise SimError(400, "* GenerateContentRequest.contents: contents is not specified")
    for i, c in enumerate(contents):
        at = "contents[%d]" % i
        if not isinstance(c, dict):
            raise SimError(400, "Invalid value at '%s': expected an object" % at)
        role = c.get("role", "user")
        if role not in ("user", "model", "function"):
            raise SimError(400, "Please use a valid role: user, model.")
        parts = c.get("parts")
        if not isinstance(parts, list) or not parts:
            raise SimError(400, "* GenerateContentRequest.%s.parts: contents.parts must not be "
                           "empty." % at)
        texts, kinds = [], set()
        for j, part in enumerate(parts):
            k, t = _gemini_part_text(part, "%s.parts[%d]" % (at, j))
            kinds.add(k)
            if t and k == "text":
                texts.append(t)
            elif k == "functionResponse":
                texts.append(t)
        sim_role = "assistant" if role == "model" else \
            "tool" if kinds == {"functionResponse"} else "user"
        msgs.append((sim_role, " ".join(texts)))
    tools: list[str] = []
    for i, t in enumerate(body.get("tools") or []):
        for j, d in enumerate(_g(t, "functionDeclarations") or [] if isinstance(t, dict) else []):
            if not isinstance(d, dict) or not isinstance(d.get("name"), str):
                raise SimError(400, "* GenerateContentRequest.tools[%d].function_declarations[%d]"
                               ".name: Name cannot be empty." % (i, j))
            tools.append(d["name"])
    cfg = _g(body, "generationConfig") or {}
    if not isinstance(cfg, dict):
        raise SimError(400, "Invalid value at 'generation_config': expected an object")
    mt = _g(cfg, "maxOutputTokens")
    n = _g(cfg, "candidateCount") or 1
    if mt is not None and (not _is_int(mt) or mt < 1):
        raise SimError(400, "Invalid value at 'generation_config.max_output_tokens'")
    temp = cfg.get("temperature")
    if temp is not None and (not isinstance(temp, (int, float)) or not 0 <= temp <= 2):
        raise SimError(400, "Invalid value at 'generation_config.temperature'")
    method = params.get("method")
    sse = ((params.get("_query") or {}).get("alt") or [""])[0] == "sse"
    user = last_user_text(msgs) or ""
    return SimRequest(provider=provider, model=model, messages=msgs, tools=tools,
                      stream=method == "streamGenerateContent" and sse, include_usage=True,
                      max_tokens=mt, n=n if _is_int(n) and n > 0 else 1,
                      extra={"array": method == "streamGenerateContent" and not sse,
                             "unsafe": "unsafe" in user.lower() and msgs[-1][0] == "user",
                             "blocked": "blockme" in user.lower() and msgs[-1][0] == "user"})


def _gemini_usage(req: SimRequest, res: SimResult, final: bool = True) -> dict:
    ct = res.completion_tokens * req.n if final else 0
    u = {"promptTokenCount": res.prompt_tokens, "totalTokenCount": res.prompt_tokens + ct}
    if final:
        u["candidatesTokenCount"] = ct
    return u


def _gemini_parts(res: SimResult) -> list[dict]:
    if res.tool_name is not None:
        return [{"functionCall": {"name": res.tool_name,
                                  "args": json.loads(res.tool_arguments or "{}")}}]
    return [{"text": res.text}] if res.text else []


def _gemini_doc(req: SimRequest, candidates: list | None, usage: dict, **extra: Any) -> dict:
    d: dict[str, Any] = {}
    if candidates is not None:
        d["candidates"] = candidates
    d["usageMetadata"] = usage
    d["modelVersion"] = req.model
    d["responseId"] = req.extra.setdefault("response_id", _rand_id("", 22))
    d.update(extra)
    return d


_SAFETY_RATINGS = [{"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH",
                    "blocked": True}]


def _gemini_final(req: SimRequest, res: SimResult) -> dict:
    if req.extra.get("blocked"):
        return _gemini_doc(req, None, _gemini_usage(req, res, final=False),
                           promptFeedback={"blockReason": "SAFETY", "safetyRatings": _SAFETY_RATINGS})
    if req.extra.get("unsafe"):
        return _gemini_doc(req, [{"content": {"role": "model", "parts": []}, "finishReason": "SAFETY",
                                  "index": 0, "safetyRatings": _SAFETY_RATINGS}],
                           _gemini_usage(req, res, final=False))
    return _gemini_doc(req, [{"content": {"role": "model", "parts": _gemini_parts(res)},
                              "finishReason": _GEMINI_FINISH[res.finish_reason], "index": i}
                             for i in range(req.n)], _gemini_usage(req, res))


def gemini_respond(req: SimRequest, res: SimResult) -> Any:
    if req.extra.get("array"):
        return list(json.loads(e[len(b"data: "):].decode()) for e in gemini_stream(req, res))
    return _gemini_final(req, res)


def gemini_stream(req: SimRequest, res: SimResult) -> Iterator[bytes]:
    """One GenerateContentResponse per SSE event; the last carries finishReason."""
    def ev(doc: dict) -> bytes:
        return b"data: " + json.dumps(doc, separators=(",", ":")).encode() + b"\r\n\r\n"

    if req.extra.get("blocked") or req.extra.get("unsafe") or res.tool_name is not None \
            or not res.words:
        yield ev(_gemini_final(req, res))
        return
    words = res.words
    for k, w in enumerate(words[:-1]):
        yield ev(_gemini_doc(req, [{"content": {"role": "model", "parts": [{"text": w + " "}]},
                                    "index": 0}], _gemini_usage(req, res, final=False)))
    yield ev(_gemini_doc(req, [{"content": {"role": "model", "parts": [{"text": words[-1]}]},
                                "finishReason": _GEMINI_FINISH[res.finish_reason], "index": 0}],
                         _gemini_usage(req, res)))


def gemini_models(provider: str, model_id: str | None) -> dict:
    def one(m: str) -> dict:
        return {"name": "models/" + m, "displayName": m, "inputTokenLimit": 1048576,
                "outputTokenLimit": 8192,
                "supportedGenerationMethods": ["generateContent", "countTokens"]}
    if model_id is not None:
        return one(model_id)
    return {"models": [one("%s-sim-small" % provider), one("%s-sim-large" % provider)]}


# --------------------------------------------------------------------------
# Format table and routes
# --------------------------------------------------------------------------

# Each format: auth(headers)->SimError|None, error(SimError)->dict,
# parse(body, path_params, provider)->SimRequest, respond(req,res)->dict,
# stream(req,res)->iterator of SSE event bytes (last event = terminator, which
# cut_after_chunks never sends), models(provider, id|None)->dict.
FORMATS: dict[str, dict[str, Callable[..., Any]]] = {
    "openai": {
        "auth": openai_auth,
        "error": openai_error,
        "parse": openai_parse,
        "respond": openai_respond,
        "stream": openai_stream,
        "models": openai_models,
        "stream_content_type": lambda: "text/event-stream; charset=utf-8",
    },
    "anthropic": {
        "auth": anthropic_auth,
        "error": anthropic_error,
        "parse": anthropic_parse,
        "respond": anthropic_respond,
        "stream": anthropic_stream,
        "models": openai_models,
        "stream_content_type": lambda: "text/event-stream; charset=utf-8",
    },
    "gemini": {
        "auth": gemini_auth,
        "error": gemini_error,
        "parse": gemini_parse,
        "respond": gemini_respond,
        "stream": gemini_stream,
        "models": gemini_models,
        "stream_content_type": lambda: "text/event-stream",
    },
}

_SLUG = r"(?P<provider>[A-Za-z0-9_.-]+)"

# (method, compiled path regex, format name, action)
# action: "complete" (faults apply) | "models" | "model"
ROUTES: list[tuple[str, re.Pattern, str, str]] = [
    ("POST", re.compile(r"^/%s/v1/chat/completions/?$" % _SLUG), "openai", "complete"),
    ("GET", re.compile(r"^/%s/v1/models/?$" % _SLUG), "openai", "models"),
    ("GET", re.compile(r"^/%s/v1/models/(?P<model>[^/]+)$" % _SLUG), "openai", "model"),
    ("POST", re.compile(r"^/%s/v1/messages/?$" % _SLUG), "anthropic", "complete"),
    ("POST", re.compile(r"^/%s/v1beta/models/(?P<model>[^/:]+):(?P<method>generateContent|"
                        r"streamGenerateContent)$" % _SLUG), "gemini", "complete"),
    ("GET", re.compile(r"^/%s/v1beta/models/?$" % _SLUG), "gemini", "models"),
    ("GET", re.compile(r"^/%s/v1beta/models/(?P<model>[^/:]+)$" % _SLUG), "gemini", "model"),
]


def match_route(method: str, path: str) -> tuple[str, str, dict] | None | bool:
    """Return (format, action, params); False if the path exists with
    another method; None if nothing matches."""
    path_matched = False
    for m, rx, fmt, action in ROUTES:
        mo = rx.match(path)
        if mo:
            if m == method:
                return fmt, action, mo.groupdict()
            path_matched = True
    return False if path_matched else None


# --------------------------------------------------------------------------
# HTTP layer
# --------------------------------------------------------------------------

class _Abort(Exception):
    """Connection deliberately dropped (fault injection)."""


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "conduix-provider-sim/1.0"
    sys_version = ""
    timeout = 120  # idle keep-alive connections

    _entry: dict | None = None

    # -- plumbing --
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        if VERBOSE:
            _log("%s %s" % (self.address_string(), format % args))

    def handle(self) -> None:
        try:
            super().handle()
        except (ConnectionError, TimeoutError, _Abort):
            pass
        except OSError as e:
            _log("connection error: %r" % e)

    def send_response(self, code: int, message: str | None = None) -> None:
        if self._entry is not None:
            STATE.update(self._entry, status=code)
        super().send_response(code, message)

    def handle_expect_100(self) -> bool:
        if self._declared_length() > MAX_BODY:
            self._send_too_large()
            return False
        return super().handle_expect_100()

    def _declared_length(self) -> int:
        try:
            return int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return 0

    def _send_too_large(self) -> None:
        self.close_connection = True
        body = json.dumps(openai_error(SimError(
            413, "Request body too large: the limit is %d bytes." % MAX_BODY, None,
            "request_too_large"))).encode()
        self._send_bytes(413, body, "application/json", extra={"Connection": "close"})
        self._lingering_close()

    def _lingering_close(self, max_seconds: float = 2.0) -> None:
        """Half-close and discard what the client still sends (bounded), so
        the unread body does not turn our FIN into an RST that could destroy
        the response before the client reads it."""
        try:
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(0.25)
            deadline = time.monotonic() + max_seconds
            while time.monotonic() < deadline:
                if not self.connection.recv(65536):
                    break
        except OSError:
            pass

    def _read_body(self) -> bytes | None:
        """Read the request body; None means a 413 has been sent."""
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            out = bytearray()
            while True:
                line = self.rfile.readline(1024)
                if not line:
                    raise ConnectionError("eof in chunked body")
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while True:  # trailers
                        t = self.rfile.readline(8192)
                        if t in (b"\r\n", b"\n", b""):
                            break
                    return bytes(out)
                if len(out) + size > MAX_BODY:
                    self._send_too_large()
                    return None
                out += self.rfile.read(size)
                self.rfile.readline(8)
        n = self._declared_length()
        if n > MAX_BODY:
            self._send_too_large()
            return None
        if n <= 0:
            return b""
        data = self.rfile.read(n)
        if len(data) < n:
            raise ConnectionError("short body")
        return data

    def _send_bytes(self, status: int, body: bytes, ctype: str,
                    extra: dict | None = None, cut: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-request-id", _rand_id("req_", 32))
        for k, v in (extra or {}).items():
            self.send_header(k, str(v))
        if cut:
            self.end_headers()
            self.wfile.write(body[:len(body) // 2])
            self._abort()
        # headers and body in one write (what end_headers() does, plus the body)
        self._headers_buffer.append(b"\r\n" + body)
        self.flush_headers()

    def _send_json(self, status: int, obj: Any, extra: dict | None = None,
                   cut: bool = False) -> None:
        self._send_bytes(status, json.dumps(obj).encode(), "application/json",
                         extra=extra, cut=cut)

    def _abort(self) -> None:
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        raise _Abort()

    # -- dispatch --
    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def _dispatch(self, method: str) -> None:
        self._entry = None
        try:
            raw = self._read_body()
        except ValueError:
            self.close_connection = True
            self._send_json(400, openai_error(SimError(400, "Malformed chunked request body.")),
                            extra={"Connection": "close"})
            return
        if raw is None:
            return
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        query = urllib.parse.parse_qs(url.query)
        if path.startswith("/_sim/") or path == "/_sim":
            self._control(method, path, query, raw)
            return
        route = match_route(method, path)
        if not route:
            err = SimError(404 if route is None else 405,
                           "Invalid URL (%s %s)" % (method, path))
            self._send_json(err.status, openai_error(err))
            return
        fmt_name, action, params = route
        params = dict(params, _query=query)
        self._provider(method, path, url, params, fmt_name, action, raw)

    # -- provider endpoints --
    def _provider(self, method: str, path: str, url: urllib.parse.SplitResult, params: dict,
                  fmt_name: str, action: str, raw: bytes) -> None:
        fmt = FORMATS[fmt_name]
        provider = params["provider"]
        headers: dict[str, str] = {}
        for k, v in self.headers.items():
            k = k.lower()
            headers[k] = headers[k] + ", " + v if k in headers else v
        body: Any = None
        parse_error = False
        if raw:
            try:
                body = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                parse_error = True
        entry = {"provider": provider, "method": method,
                 "path": path + ("?" + url.query if url.query else ""),
                 "headers": headers,
                 "body": body if len(raw) <= LOG_BODY_MAX else None,
                 "ts": time.time(), "model": None, "stream": None, "status": None,
                 "fault": None}
        if parse_error:
            entry["body_raw"] = raw[:4096].decode("utf-8", "replace")
        self._entry = STATE.record(entry)
        try:
            err = fmt["auth"](headers, params["_query"])
            if err is not None:
                raise err
            if action == "models":
                self._send_json(200, fmt["models"](provider, None))
                return
            if action == "model":
                self._send_json(200, fmt["models"](provider, urllib.parse.unquote(params["model"])))
                return
            if parse_error:
                raise SimError(400, "We could not parse the JSON body of your request. (HINT: "
                               "This likely means you aren't using your HTTP library correctly. "
                               "The OpenAI API expects a JSON payload, but what was sent was not "
                               "valid JSON.)")
            req: SimRequest = fmt["parse"](body, params, provider)
        except SimError as e:
            self._send_json(e.status, fmt["error"](e))
            return
        STATE.update(entry, model=req.model, stream=req.stream)

        fault = STATE.take_fault(provider, req.model)
        if fault is not None:
            STATE.update(entry, fault=fault["id"])
            self._apply_fault_and_answer(fmt, req, fault)
            return
        self._answer(fmt, req, None)

    def _apply_fault_and_answer(self, fmt: dict, req: SimRequest, fault: dict) -> None:
        if fault["delay_ms"]:
            time.sleep(fault["delay_ms"] / 1000.0)
        if fault["close"]:
            self._abort()
        extra = dict(fault["headers"] or {})
        cut = fault["cut_after_chunks"] is not None
        if fault["body"] is not None:
            b = fault["body"]
            if isinstance(b, str):
                data = b.encode()
                try:
                    json.loads(b)
                    ctype = "application/json"
                except ValueError:
                    ctype = "text/plain; charset=utf-8"
            else:
                data = json.dumps(b).encode()
                ctype = "application/json"
            self._send_bytes(fault["status"] or 200, data, fault["content_type"] or ctype,
                             extra=extra, cut=cut)
            return
        status = fault["status"]
        if status is not None and not 200 <= status < 300:
            msg = fault["message"]
            if msg is None and status == 404:
                msg = ("The model `%s` does not exist or you do not have access to it."
                       % req.model)
            if msg is None and status == 429:
                msg = ("Rate limit reached for %s in organization org-sim on requests per min "
                       "(RPM): Limit 3, Used 3, Requested 1. Please try again in 20s."
                       % req.model)
            e = SimError(status, msg or "", None, fault["error_code"], fault["error_type"])
            self._send_json(status, fmt["error"](e), extra=extra, cut=cut)
            return
        self._answer(fmt, req, fault)

    def _answer(self, fmt: dict, req: SimRequest, fault: dict | None) -> None:
        res = simulate(req)
        extra = dict((fault or {}).get("headers") or {})
        cut_after = (fault or {}).get("cut_after_chunks")
        if not req.stream:
            self._send_json((fault or {}).get("status") or 200, fmt["respond"](req, res),
                            extra=extra, cut=cut_after is not None)
            return
        chunk_delay = ((fault or {}).get("chunk_delay_ms") or 0) / 1000.0
        self.send_response((fault or {}).get("status") or 200)
        self.send_header("Content-Type", fmt["stream_content_type"]())
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("x-request-id", _rand_id("req_", 32))
        for k, v in extra.items():
            self.send_header(k, str(v))
        self.end_headers()
        self.wfile.flush()
        events = list(fmt["stream"](req, res))
        body_events, terminator = events[:-1], events[-1]
        for k, ev in enumerate(body_events):
            if cut_after is not None and k >= cut_after:
                self._abort()
            if chunk_delay and k:
                time.sleep(chunk_delay)
            self._write_chunk(ev)
        if cut_after is not None:
            self._abort()
        self._write_chunk(terminator)
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    # -- control API --
    def _control(self, method: str, path: str, query: dict, raw: bytes) -> None:
        def q(name: str) -> str | None:
            v = query.get(name)
            return v[0] if v else None

        try:
            if path == "/_sim/health" and method == "GET":
                self._send_json(200, {"ok": True})
            elif path == "/_sim/faults" and method == "POST":
                try:
                    spec = json.loads(raw or b"{}")
                except (ValueError, UnicodeDecodeError):
                    raise SimError(400, "fault spec is not valid JSON")
                specs = spec if isinstance(spec, list) else [spec]
                added = [STATE.add_fault(s) for s in specs]
                self._send_json(200, {"ok": True, "fault": added[0] if len(added) == 1 else None,
                                      "faults": added})
            elif path == "/_sim/faults" and method == "GET":
                self._send_json(200, {"faults": STATE.list_faults()})
            elif path == "/_sim/faults" and method == "DELETE":
                self._send_json(200, {"ok": True, "cleared": STATE.clear_faults(q("provider"))})
            elif path == "/_sim/reset" and method == "POST":
                STATE.reset()
                self._send_json(200, {"ok": True})
            elif path == "/_sim/requests" and method == "GET":
                limit = q("limit")
                try:
                    lim = int(limit) if limit is not None else None
                except ValueError:
                    raise SimError(400, "limit must be an integer", "limit")
                self._send_json(200, STATE.requests(q("provider"), lim))
            elif path == "/_sim/requests" and method == "DELETE":
                STATE.clear_log()
                self._send_json(200, {"ok": True})
            else:
                raise SimError(404, "Invalid URL (%s %s)" % (method, path))
        except SimError as e:
            self._send_json(e.status, openai_error(e))


class SimServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, (OSError, _Abort)) and not VERBOSE:
            return
        if VERBOSE:
            super().handle_error(request, client_address)
        else:
            sys.stderr.write("[provider_sim] error handling request from %s: %r\n"
                             % (client_address, exc))


def make_server(host: str, port: int) -> SimServer:
    cls = SimServer
    if ":" in host:
        cls = type("SimServer6", (SimServer,), {"address_family": socket.AF_INET6})
    return cls((host, port), Handler)


def main(argv: list[str] | None = None) -> int:
    global VERBOSE
    ap = argparse.ArgumentParser(description="Conduix upstream LLM provider simulator")
    ap.add_argument("--port", type=int, required=True, help="port to listen on (0 = any free)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--ready-file", help="write the bound port here once listening")
    ap.add_argument("--verbose", action="store_true", help="log every request to stderr")
    ap.add_argument("--tls-cert", help="serve https with this PEM certificate (and --tls-key)")
    ap.add_argument("--tls-key", help="the PEM private key of --tls-cert")
    args = ap.parse_args(argv)
    VERBOSE = args.verbose

    server = make_server(args.host, args.port)
    if args.tls_cert:
        # Providers are https in production: the gateway's TLS client is tested against this.
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    port = server.server_address[1]
    if args.ready_file:
        tmp = "%s.tmp.%d" % (args.ready_file, os.getpid())
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, args.ready_file)
    _log("listening on %s:%d" % (args.host, port))

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
