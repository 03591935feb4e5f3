"""Providers over https, as every catalog provider is in production.

The provider simulator serves TLS with a certificate made for this test; httpd trusts it
through SSL_CERT_FILE (the trust store OpenSSL reads). The module's own upstream client
must verify the certificate, stream through it, and refuse a certificate it cannot
verify before any request byte is sent.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from harness import Gateway, HarnessError, Httpd, Simulator, iter_sse, register_cleanup, \
    unregister_cleanup, wait_for

REPO = Path(__file__).resolve().parents[2]
SIM = REPO / "tests" / "sim" / "provider_sim.py"


def make_cert(d: Path, name: str) -> tuple[Path, Path]:
    cert, key = d / (name + ".pem"), d / (name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-days", "1", "-subj", "/CN=" + name, "-addext",
                    "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=30)
    return cert, key


class TlsSimulator(Simulator):
    """The provider simulator behind https."""

    def __init__(self, dirpath: Path, cert: Path, key: Path):
        super().__init__(dirpath)
        self.cert, self.key = cert, key
        self.proc: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return "https://127.0.0.1:%d" % self.port

    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        ready = self.dir / "port"
        self.proc = subprocess.Popen([sys.executable, str(SIM), "--port", "0", "--ready-file", str(ready),
                                      "--tls-cert", str(self.cert), "--tls-key", str(self.key)],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=open(self.dir / "sim.log", "ab"))
        self._cleanup = register_cleanup(self.stop)
        if not wait_for(lambda: ready.exists() and ready.read_text().strip(), 20):
            raise HarnessError("the TLS simulator did not start:\n" + (self.dir / "sim.log").read_text())
        self.port = int(ready.read_text())

    def stop(self) -> None:
        if self._cleanup:
            unregister_cleanup(self._cleanup)
            self._cleanup = None
        if self.proc:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None

    def _req(self, method: str, path: str, **kw):
        r = requests.request(method, self.base + path, timeout=10, verify=str(self.cert), **kw)
        if r.status_code != 200:
            raise HarnessError("simulator %s %s -> %d %s" % (method, path, r.status_code, r.text))
        return r.json()


class TrustingHttpd(Httpd):
    """httpd whose OpenSSL trusts exactly one certificate."""

    def __init__(self, *a, trust: Path, **kw):
        super().__init__(*a, **kw)
        self.trust = trust

    def env(self) -> dict:
        env = super().env()
        env["SSL_CERT_FILE"] = str(self.trust)
        env["SSL_CERT_DIR"] = str(self.dir / "no-such-dir")
        return env


@pytest.fixture(scope="module")
def tls(stack, httpd):
    d = stack.root / ("tls-" + httpd.mpm)
    d.mkdir(parents=True, exist_ok=True)
    cert, key = make_cert(d, "provider")
    stranger, _ = make_cert(d, "stranger")
    sim = TlsSimulator(d / "sim", cert, key)
    sim.start()
    trusted = TrustingHttpd(d / "httpd-trusted", httpd.mpm, stack.mariadb.dsn, sim, trust=cert)
    untrusted = TrustingHttpd(d / "httpd-untrusted", httpd.mpm, stack.mariadb.dsn, sim, trust=stranger)
    trusted.start()
    untrusted.start()
    try:
        yield sim, Gateway(trusted), Gateway(untrusted)
    finally:
        trusted.stop()
        untrusted.stop()
        sim.stop()


def test_a_provider_over_https_answers(tls, live_key):
    sim, gw, _ = tls
    assert sim.base.startswith("https://")
    before = sim.count("openai")
    for _ in range(3):
        r = gw.chat(live_key, model="gpt-4o-mini", content="Hello over TLS")
        assert r.status_code == 200, r.text
        assert r.headers["x-conduix-provider"] == "openai"
        assert r.json()["choices"][0]["message"]["content"]
    assert sim.count("openai") == before + 3
    last = sim.last("openai")
    assert last["body"]["messages"][-1]["content"] == "Hello over TLS"


def test_a_stream_over_https_arrives_whole(tls, live_key):
    _, gw, _ = tls
    r = gw.chat(live_key, model="gpt-4o-mini", content="Stream over TLS", stream=True)
    assert r.status_code == 200, r.text
    events = list(iter_sse(r))
    assert events and events[-1].data == "[DONE]"
    text = "".join((e.json()["choices"][0]["delta"].get("content") or "")
                   for e in events[:-1] if e.json().get("choices"))
    assert text


def test_a_certificate_the_gateway_cannot_verify_gets_no_request(tls, live_key):
    sim, _, gw = tls
    before = sim.count()
    r = gw.chat(live_key, model="gpt-4o-mini", content="Must not be sent")
    assert r.status_code in (502, 503), r.text
    err = r.json()["error"]
    assert err["code"] == "provider_unavailable", err
    assert "could not be verified" in err["message"], err
    assert sim.count() == before   # nothing reached any provider
