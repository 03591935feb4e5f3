"""Helpers for the account, keys, usage, audit and dashboard-token tests."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from decimal import Decimal
from typing import Any

from harness import NANO, Key, wait_for

ADMIN_SCOPES = "inference,account:read,keys:write"


def admin_key(key_factory, org_id: int, **kw) -> Key:
    return key_factory(org_id, scopes=ADMIN_SCOPES, **kw)


def reader_key(key_factory, org_id: int, **kw) -> Key:
    return key_factory(org_id, scopes="account:read", **kw)


def request(gw, method: str, path: str, key: Any = None, body: Any = None, raw: str | None = None):
    import requests
    headers = gw._headers(key, None)
    data = None
    if body is not None:
        data = json.dumps(body)
    if raw is not None:
        data = raw
    if data is not None:
        headers["Content-Type"] = "application/json"
    return requests.request(method, gw.url(path), headers=headers, data=data, timeout=30)


def mint(gw, key: Key, body: dict):
    return request(gw, "POST", "/v1/keys", key, body)


def minted_key(resp, org_id: int) -> Key:
    assert resp.status_code == 201, resp.text[:500]
    doc = resp.json()
    return Key(secret=doc["secret"], id=doc["id"], org_id=org_id, test=doc["mode"] == "test")


def wait_status(fn, status: int, timeout: float = 7.0):
    """Poll fn() until it answers status (the key cache holds a policy for up to
    ConduixKeyCacheTTL = 5 s in each child); returns the last response."""
    last = [None]

    def probe():
        last[0] = fn()
        return last[0] if last[0].status_code == status else None
    wait_for(probe, timeout, 0.25)
    return last[0]


def credits(text: str) -> Decimal:
    """An exact money string of the API ("0.000001234") as Decimal credits."""
    assert isinstance(text, str), "money must be a decimal string, got %r" % (text,)
    d = Decimal(text)
    assert (d * NANO) == (d * NANO).to_integral_value(), text
    return d


def nano(text: str) -> int:
    return int(credits(text) * NANO)


# --- HS256 tokens made here, independently of lib/cx_jwt.c ---------------------------

def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt_token(secret: bytes, claims: dict, header: dict | None = None, alg: str = "HS256") -> str:
    header = header or {"alg": alg, "typ": "JWT"}
    signing = b64url(json.dumps(header, separators=(",", ":")).encode()) + "." + \
        b64url(json.dumps(claims, separators=(",", ":")).encode())
    if alg == "none":
        return signing + "."
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    sig = hmac.new(secret, signing.encode(), digest).digest()
    return signing + "." + b64url(sig)


def dashboard_claims(user_id: int, org_id: int, role: str = "admin", ttl: int = 600,
                     issued: int | None = None) -> dict:
    now = int(time.time()) if issued is None else issued
    return {"iss": "conduix", "sub": str(user_id), "org": org_id, "role": role, "iat": now,
            "exp": now + ttl}
