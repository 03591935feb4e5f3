"""Outbound calls: providers over https, as every catalog provider is in production,
and an egress proxy named in httpd's environment.

The provider simulator serves TLS with a certificate made for this test; httpd trusts it
through SSL_CERT_FILE (the trust store OpenSSL reads). The module's own upstream client
must verify the certificate, stream through it, and refuse a certificate it cannot
verify before any request byte is sent. With http_proxy set, the calls must go through
the proxy (the libcurl path).
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from harness import Gateway, Httpd, Simulator, iter_sse


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
        self.verify = str(cert)

    @property
    def base(self) -> str:
        return "https://127.0.0.1:%d" % self.port

    def start(self) -> None:
        super().start(str(self.cert), str(self.key))


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


# ------------------------------------------------------------- egress proxy

class ForwardProxy:
    """A plain HTTP forward proxy (absolute-form request targets), recording what it
    carried: stands in for an operator's egress proxy."""

    def __init__(self):
        import http.client
        import http.server
        import threading
        seen = self.seen = []

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                from urllib.parse import urlsplit
                u = urlsplit(self.path)
                seen.append(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("proxy-connection", "connection", "host")}
                c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
                c.request("POST", u.path + ("?" + u.query if u.query else ""), body=body, headers=headers)
                r = c.getresponse()
                data = r.read()
                self.send_response(r.status)
                for k, v in r.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                c.close()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.2},
                                       daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class ProxiedHttpd(Httpd):
    def __init__(self, *a, proxy: str, **kw):
        super().__init__(*a, **kw)
        self.proxy = proxy

    def env(self) -> dict:
        env = super().env()
        env["http_proxy"] = self.proxy
        env["no_proxy"] = ""
        return env


def test_an_egress_proxy_from_the_environment_carries_the_calls(stack, httpd, live_key):
    proxy = ForwardProxy()
    h = ProxiedHttpd(stack.root / ("httpd-proxied-" + httpd.mpm), httpd.mpm, stack.mariadb.dsn,
                     stack.sim, proxy="http://127.0.0.1:%d" % proxy.port)
    h.start()
    try:
        r = Gateway(h).chat(live_key, model="gpt-4o-mini", content="Through the proxy")
        assert r.status_code == 200, r.text
        assert r.json()["choices"][0]["message"]["content"]
    finally:
        h.stop()
        proxy.stop()
    assert any(p.startswith(stack.sim.url("openai")) for p in proxy.seen), proxy.seen
