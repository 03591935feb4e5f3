"""BYO endpoints (byo:<slug>/<model>) and the SSRF guard in front of them.

The simulator listens on 127.0.0.1, which the guard refuses by default; a second
httpd with `ConduixByoAllowNetworks 127.0.0.1` serves the routing tests. The
refusal tests use loopback-range addresses only (127.0.0.2 with a listening
socket that must never see a connection, ::1, IPv4-mapped, localhost, 0.0.0.0),
so even a broken guard could not send traffic off this machine; the private,
link-local, multicast and reserved ranges are covered by tests/unit/test_ssrf.c
through the same check the gateway calls."""

from __future__ import annotations

import base64
import os
import time
import socket

import pytest

from harness import Gateway, Httpd, iter_sse

SECRET = "byo-secret-" + os.urandom(6).hex()


@pytest.fixture(scope="module")
def byo_gw(httpd, stack):
    """A gateway that allows BYO endpoints on 127.0.0.1 (only)."""
    h = Httpd(stack.root / ("httpd-byo-" + httpd.mpm), httpd.mpm, stack.mariadb.dsn, stack.sim)
    (h.dir / "conf.d").mkdir(parents=True, exist_ok=True)
    (h.dir / "conf.d" / "byo.conf").write_text("ConduixByoAllowNetworks 127.0.0.1\n")
    h.start()
    try:
        yield Gateway(h)
    finally:
        offset = h.log_offset()
        h.stop()
        assert not h.bad_log_lines(offset)


class Listener:
    """A socket on 127.0.0.2 that tells whether anything connected to it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.2", 0))
        self.sock.listen(8)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]

    def connected(self) -> bool:
        try:
            conn, _ = self.sock.accept()
            conn.close()
            return True
        except BlockingIOError:
            return False


@pytest.fixture
def listener():
    lst = Listener()
    yield lst
    lst.sock.close()


def _add(ctl, org: int, slug: str, url: str, models: str | None = None, secret: bool = True):
    args = ["byo-add", "--org", str(org), "--slug", slug, "--base-url", url]
    if models is not None:
        args += ["--models", models]
    if secret:
        args += ["--credential-env", "CX_TEST_BYO_SECRET"]
    os.environ["CX_TEST_BYO_SECRET"] = SECRET
    return ctl.run(*args, check=False)


def _forbidden(r, what: str | None = None) -> dict:
    assert r.status_code == 403, r.text[:500]
    err = r.json()["error"]
    assert err["code"] == "upstream_address_forbidden", err
    assert err["type"] == "permission_error"
    if what:
        assert what in err["message"], err["message"]
    return err


def test_byo_credential_is_sealed_at_rest_and_legacy_rows_are_resealed(byo_gw, ctl, sim, db,
                                                                         org_factory, key_factory):
    org = org_factory("5")
    key = key_factory(org)
    assert _add(ctl, org, "sealed", sim.url("openai"), '["llama-3.1-8b"]').returncode == 0
    stored = db.scalar("SELECT credential FROM byo_endpoints WHERE org_id=%s AND slug='sealed'", (org,))
    assert stored.startswith("v1:") and SECRET not in stored
    assert base64.b64decode(stored[3:]).find(SECRET.encode()) < 0
    r = byo_gw.chat(key, model="byo:sealed/llama-3.1-8b", content="sealed")
    assert r.status_code == 200, r.text[:300]
    assert sim.last("openai")["headers"]["authorization"] == "Bearer " + SECRET

    # a sealed value moved into another row (another org) does not open there
    other = org_factory("5")
    other_key = key_factory(other)
    db.execute("INSERT INTO byo_endpoints (org_id, slug, base_url, credential, region, models) "
               "SELECT %s, slug, base_url, credential, region, models FROM byo_endpoints "
               "WHERE org_id=%s AND slug='sealed'", (other, org))
    before = sim.count()
    r = byo_gw.chat(other_key, model="byo:sealed/llama-3.1-8b", content="stolen")
    assert r.status_code == 500 and r.json()["error"]["code"] == "byo_credential_unavailable", r.text
    assert sim.count() == before, "a credential that does not open was still sent"

    # a row stored before sealing keeps working, and byo-reseal encrypts it
    legacy = "legacy-plain-%d" % time.time_ns()
    db.execute("UPDATE byo_endpoints SET credential=%s WHERE org_id=%s AND slug='sealed'", (legacy, org))
    r = byo_gw.chat(key, model="byo:sealed/llama-3.1-8b", content="legacy")
    assert r.status_code == 200 and sim.last("openai")["headers"]["authorization"] == "Bearer " + legacy
    out = ctl.run("byo-reseal").stdout
    assert "sealed" in out and int(out.split()[0]) >= 1, out
    stored = db.scalar("SELECT credential FROM byo_endpoints WHERE org_id=%s AND slug='sealed'", (org,))
    assert stored.startswith("v1:") and legacy not in stored
    r = byo_gw.chat(key, model="byo:sealed/llama-3.1-8b", content="resealed")
    assert r.status_code == 200 and sim.last("openai")["headers"]["authorization"] == "Bearer " + legacy
    assert SECRET not in byo_gw.httpd.log_since(0) and legacy not in byo_gw.httpd.log_since(0)
    # without a key, conduixctl refuses to store a credential rather than keep it in clear
    env_key = os.environ.pop("CONDUIX_SECRET_KEY_FILE")
    try:
        cp = _add(ctl, org, "nokey", sim.url("openai"))
        assert cp.returncode != 0 and "secret key" in cp.stderr
    finally:
        os.environ["CONDUIX_SECRET_KEY_FILE"] = env_key
    assert db.scalar("SELECT COUNT(*) FROM byo_endpoints WHERE org_id=%s AND slug='nokey'", (org,)) == 0


def test_byo_routes_to_the_orgs_endpoint(byo_gw, ctl, sim, db, org_factory, key_factory):
    org = org_factory("5")
    key = key_factory(org)
    cp = _add(ctl, org, "acme", sim.url("openai") + "/", '["llama-3.1-8b"]')
    assert cp.returncode == 0, cp.stderr
    before = db.balance_nano(org)
    r = byo_gw.chat(key, model="byo:acme/llama-3.1-8b", content="own model")
    assert r.status_code == 200, r.text[:500]
    body = r.json()
    assert body["model"] == "byo:acme/llama-3.1-8b"
    assert body["choices"][0]["message"]["content"] == "Hello from openai/llama-3.1-8b. You said: own model"
    assert r.headers["x-conduix-provider"] == "byo:acme"
    assert r.headers["x-conduix-model-served"] == "byo:acme/llama-3.1-8b"
    up = sim.last("openai")
    assert up["path"] == "/openai/v1/chat/completions"
    assert up["body"]["model"] == "llama-3.1-8b"
    assert up["headers"]["authorization"] == "Bearer " + SECRET
    assert key.secret not in str(up)
    rows = db.wait_usage_rows(key.id, 1)
    assert rows[0]["provider"] == "byo:acme" and rows[0]["served_model"] == "byo:acme/llama-3.1-8b"
    assert rows[0]["charged_nano"] == 0 and rows[0]["prompt_tokens"] > 0
    assert db.balance_nano(org) == before, "BYO traffic is paid to the org's own provider"
    assert SECRET not in byo_gw.httpd.log_since(0)

    r = byo_gw.chat(key, model="byo:acme/llama-3.1-8b", content="stream it", stream=True)
    events = list(iter_sse(r))
    assert events[-1].data == "[DONE]"
    text = "".join((e.json()["choices"][0]["delta"].get("content") or "")
                   for e in events[:-1] if e.json()["choices"])
    assert text == "Hello from openai/llama-3.1-8b. You said: stream it"


@pytest.mark.parametrize("allowed,admitted", [
    (["gpt-4o-mini"], False),            # a catalog allowlist admits no BYO model
    (["byo:other/*"], False),            # another endpoint's models only
    (["byo:acme/llama-3.1-70b"], False),
    ([], False),
    (["byo:*"], True),
    (["byo:acme/*"], True),
    (["byo:acme/llama-3.1-8b"], True),
    (["gpt-4o-mini", "byo:acme/*"], True),
])
def test_allowlist_governs_byo_ids(byo_gw, ctl, sim, db, org_factory, key_factory, allowed, admitted):
    org = org_factory("5")
    assert _add(ctl, org, "acme", sim.url("openai"), '["llama-3.1-8b", "llama-3.1-70b"]').returncode == 0
    key = key_factory(org, allowed_models=allowed)
    r = byo_gw.chat(key, model="byo:acme/llama-3.1-8b")
    if admitted:
        assert r.status_code == 200, r.text[:500]
        assert r.headers["x-conduix-provider"] == "byo:acme"
        assert sim.count() == 1
    else:
        assert r.status_code == 403, r.text[:500]
        err = r.json()["error"]
        assert err["code"] == "model_not_allowed" and err["param"] == "model", err
        assert "byo:acme/llama-3.1-8b" in err["message"]
        assert sim.count() == 0, "a refused BYO request reached the endpoint"
        assert db.usage_rows(key.id) == []


def test_byo_unknown_ids_are_404(byo_gw, ctl, sim, org_factory, key_factory):
    org = org_factory("5")
    key = key_factory(org)
    assert _add(ctl, org, "lab", sim.url("openai"), '["m1"]').returncode == 0
    other = key_factory(org_factory("5"))
    for k, model in [(key, "byo:lab/m2"), (key, "byo:nope/m1"), (other, "byo:lab/m1"),
                     (key, "byo:lab/"), (key, "byo:Lab/m1")]:
        r = byo_gw.chat(k, model=model)
        assert r.status_code == 404, (model, r.text[:300])
        assert r.json()["error"]["code"] == "model_not_found"
    assert sim.count() == 0
    assert byo_gw.chat(key, model="byo:lab/m1").status_code == 200


def test_loopback_is_refused_without_the_directive(gw, ctl, sim, db, org_factory, key_factory):
    """The default gateway has no ConduixByoAllowNetworks: the simulator's address
    is loopback and nothing may be sent to it."""
    org = org_factory("5")
    key = key_factory(org)
    assert _add(ctl, org, "local", sim.url("openai")).returncode == 0
    before = db.balance_nano(org)
    for stream in (False, True):
        r = gw.chat(key, model="byo:local/any-model", content="hi", stream=stream)
        _forbidden(r, "127.0.0.1, a loopback address")
    assert sim.count() == 0, "the SSRF guard let a request through"
    assert db.balance_nano(org) == before


@pytest.mark.parametrize("host,cls", [
    ("127.0.0.2", "loopback"),
    ("localhost", "loopback"),
    ("[::1]", "loopback"),
    ("[::ffff:127.0.0.2]", "loopback"),
    ("0.0.0.0", "unspecified"),
    ("2130706434", "loopback"),          # 127.0.0.2 as one number
    ("[::ffff:0.0.0.0]", "unspecified"),
])
def test_every_loopback_form_is_refused_and_nothing_is_sent(gw, byo_gw, ctl, org_factory,
                                                            key_factory, listener, host, cls):
    port = listener.port
    org = org_factory("5")
    key = key_factory(org)
    slug = "t%d" % port
    assert _add(ctl, org, slug, "http://%s:%d/v1" % (host, port)).returncode == 0
    # allowing 127.0.0.1 does not allow its neighbours (localhost may be 127.0.0.1 itself)
    for g in (gw,) if host == "localhost" else (gw, byo_gw):
        r = g.chat(key, model="byo:%s/m" % slug, content="hi")
        err = _forbidden(r, "a %s address" % cls)
        assert host.strip("[]") in err["message"] or host == "2130706434"
    assert not listener.connected(), "a refused address received a connection"


def test_redirects_are_not_followed(byo_gw, ctl, sim, org_factory, key_factory, listener):
    port = listener.port
    org = org_factory("5")
    key = key_factory(org)
    assert _add(ctl, org, "redir", sim.url("openai")).returncode == 0
    sim.fault(provider="openai", status=302, body="",
              headers={"Location": "http://127.0.0.2:%d/v1/chat/completions" % port})
    r = byo_gw.chat(key, model="byo:redir/m", content="hi")
    assert r.status_code in (502, 503), r.text[:300]
    assert sim.count() == 1
    assert not listener.connected(), "the gateway followed a redirect"


def test_cli_manages_endpoints_and_never_prints_the_secret(ctl, org_factory):
    org = org_factory("1")
    cp = _add(ctl, org, "alpha", "https://llm.example.com/v1/", '["a","b"]')
    assert cp.returncode == 0, cp.stderr
    assert cp.stdout.strip().isdigit()
    assert _add(ctl, org, "beta", "http://10.1.2.3:8000/v1", secret=False).returncode == 0
    out = ctl.run("byo-list", "--org", str(org)).stdout
    lines = out.strip().splitlines()
    assert [line.split("\t")[0] for line in lines] == ["byo:alpha", "byo:beta"]
    assert "https://llm.example.com/v1\t" in lines[0]        # trailing slash dropped
    assert '["a","b"]' in lines[0]
    assert SECRET not in out
    dup = _add(ctl, org, "alpha", "https://other.example.com/v1")
    assert dup.returncode != 0 and "alpha" in dup.stderr
    for bad_args, words in [
        (("--slug", "Bad Slug", "--base-url", "https://x.example/v1"), "slug"),
        (("--slug", "ok", "--base-url", "ftp://x.example/v1"), "URL"),
        (("--slug", "ok", "--base-url", "https://u:p@x.example/v1"), "credential"),
        (("--slug", "ok", "--base-url", "https://x.example/v1", "--models", "{}"), "models"),
        (("--slug", "ok", "--base-url", "https://x.example/v1", "--region", "MARS"), "region"),
    ]:
        cp = ctl.run("byo-add", "--org", str(org), *bad_args, check=False)
        assert cp.returncode != 0 and words in cp.stderr, (bad_args, cp.stderr)
    assert ctl.run("byo-remove", "--org", str(org), "--slug", "beta").stdout.strip() == "removed"
    assert ctl.run("byo-remove", "--org", str(org), "--slug", "beta", check=False).returncode != 0
    assert "byo:beta" not in ctl.run("byo-list", "--org", str(org)).stdout
