"""GET /api/usage with the dashboard's JWT (HS256, signed with ConduixJWTSecretFile):
the same numbers as /v1/account/usage; expired, tampered, unsigned (alg none) and
otherwise wrong tokens are refused. Tokens are signed here with Python's hmac, not
with the code under test (except the conduixctl case, which checks that one)."""

from __future__ import annotations

import itertools
import os
import pwd
import stat
import time

import pytest

from accounts import dashboard_claims, jwt_token, reader_key
from harness import assert_error

_emails = itertools.count(1)


@pytest.fixture
def secret(httpd) -> bytes:
    return (httpd.dir / "jwt.secret").read_bytes().strip()


@pytest.fixture
def dashboard_user(ctl, org_factory, key_factory, gw, monkeypatch):
    """An org with some usage, a dashboard user of it and an account:read key."""
    org = org_factory("10")
    key = key_factory(org)
    for i in range(3):
        r = gw.chat(key, model="gpt-4o-mini" if i else "gpt-5-nano", content="chart me %d" % i)
        assert r.status_code == 200, r.text[:300]
    monkeypatch.setenv("CX_TEST_USER_PW", "correct horse battery")
    out = ctl.run("user-create", "--org", str(org), "--email",
                  "dash%d-%d@example.test" % (os.getpid(), next(_emails)),
                  "--password-env", "CX_TEST_USER_PW", "--role", "viewer").stdout
    user = int(out.strip().splitlines()[-1])
    reader = reader_key(key_factory, org)
    return org, user, reader, key


def _api_usage(gw, token, query="?bucket=day"):
    headers = {"Authorization": "Bearer " + token} if token is not None else {}
    return gw.get("/api/usage" + query, headers=headers)


def _wait_recorded(gw, reader, n):
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        r = gw.get("/v1/account/usage", reader)
        if r.status_code == 200 and r.json()["totals"]["requests"] >= n:
            return
        time.sleep(0.1)
    raise AssertionError("usage not recorded")


def test_valid_token_reads_the_same_numbers_as_the_api(gw, secret, dashboard_user):
    org, user, reader, key = dashboard_user
    _wait_recorded(gw, reader, 3)
    token = jwt_token(secret, dashboard_claims(user, org, role="viewer"))
    for query in ("?bucket=day", "?bucket=day&group_by=model", "?bucket=hour&group_by=provider",
                  "?bucket=day&from=2020-01-01&to=2020-01-02"):
        r = _api_usage(gw, token, query)
        assert r.status_code == 200, r.text[:500]
        api = gw.get("/v1/account/usage" + query, reader)
        assert api.status_code == 200
        assert r.json() == api.json(), query
    body = _api_usage(gw, token).json()
    assert body["bucket"] == "day" and body["org_id"] == org
    assert body["totals"]["requests"] == 3
    # no bucket given: /api/usage charts by day
    assert _api_usage(gw, token, "").json()["bucket"] == "day"
    assert_error(_api_usage(gw, token, "?bucket=week"), 400, None, "invalid_request_error", param="bucket")


def _refused(resp):
    err = assert_error(resp, 401, "invalid_token", "invalid_request_error")
    assert "invalid_token" in resp.headers.get("WWW-Authenticate", "")
    return err


def test_expired_tampered_and_unsigned_tokens_are_refused(gw, secret, dashboard_user, org_factory):
    org, user, reader, key = dashboard_user
    now = int(time.time())
    valid = jwt_token(secret, dashboard_claims(user, org))
    assert _api_usage(gw, valid).status_code == 200

    expired = jwt_token(secret, dashboard_claims(user, org, ttl=60, issued=now - 3600))
    assert "expired" in _refused(_api_usage(gw, expired))["message"]

    # tampered: the payload names another organization, the signature is the valid one's
    other_org = org_factory("1")
    head, _, sig = valid.split(".")
    forged = jwt_token(secret, dashboard_claims(user, other_org)).split(".")[1]
    _refused(_api_usage(gw, ".".join([head, forged, sig])))
    flipped = valid[:-3] + ("A" if valid[-3] != "A" else "B") + valid[-2:]
    _refused(_api_usage(gw, flipped))

    # wrong algorithm: none (unsigned), and HS512 signed with the right secret
    _refused(_api_usage(gw, jwt_token(secret, dashboard_claims(user, org), alg="none")))
    _refused(_api_usage(gw, jwt_token(secret, dashboard_claims(user, org),
                                      header={"alg": "none", "typ": "JWT"}, alg="HS256")))
    _refused(_api_usage(gw, jwt_token(secret, dashboard_claims(user, org), alg="HS512")))
    # wrong secret, foreign issuer
    _refused(_api_usage(gw, jwt_token(b"x" * 48, dashboard_claims(user, org))))
    foreign = dashboard_claims(user, org)
    foreign["iss"] = "someone-else"
    _refused(_api_usage(gw, jwt_token(secret, foreign)))
    # a user who is not in the organization the token names
    _refused(_api_usage(gw, jwt_token(secret, dashboard_claims(user, other_org))))
    # no token, not a bearer token, an API key instead of the dashboard token
    _refused(_api_usage(gw, None))
    _refused(gw.get("/api/usage", headers={"Authorization": "Basic dXNlcjpwYXNz"}))
    assert "API key" in _refused(_api_usage(gw, key.secret))["message"]
    # the valid token still works: the refusals changed nothing
    assert _api_usage(gw, valid).status_code == 200


def test_disabled_user_is_refused(gw, db, secret, dashboard_user):
    org, user, reader, key = dashboard_user
    token = jwt_token(secret, dashboard_claims(user, org))
    assert _api_usage(gw, token).status_code == 200
    db.execute("UPDATE users SET disabled_at = NOW(6) WHERE id=%s", (user,))
    _refused(_api_usage(gw, token))


def test_conduixctl_issues_tokens_the_gateway_accepts(gw, ctl, httpd, dashboard_user):
    org, user, reader, key = dashboard_user
    token = ctl.run("dashboard-token", "--user", str(user), "--secret-file",
                    str(httpd.dir / "jwt.secret"), "--ttl", "120").stdout.strip()
    assert token.count(".") == 2
    r = _api_usage(gw, token)
    assert r.status_code == 200, r.text[:300]
    assert r.json()["org_id"] == org


def test_secret_file_is_private_and_shared_with_the_dashboard(httpd):
    path = httpd.dir / "jwt.secret"
    st = path.stat()
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert len(path.read_bytes().strip()) >= 32
    if os.geteuid() == 0:
        assert pwd.getpwuid(st.st_uid).pw_name == "www-data"   # the CGI runs as the httpd user
    conf = (httpd.dir / "httpd.conf").read_text()
    assert 'ConduixJWTSecretFile "%s"' % path in conf
    assert 'SetEnv CONDUIX_JWT_SECRET_FILE "%s"' % path in conf
