"""Conduix integration harness: a private MariaDB, the provider simulator and a
real httpd loading mod_conduix from this build tree.

Process management goes through scripts/lib.sh (the same functions scripts/serve
uses), so the tests run the configuration users run. Everything here is plain
Python 3 standard library plus Debian's python3-requests and python3-pymysql.
"""

from __future__ import annotations

import atexit
import decimal
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterator

import pymysql
import requests

REPO = Path(__file__).resolve().parents[2]
LIB_SH = REPO / "scripts" / "lib.sh"
MODULE_SO = REPO / "mod_conduix" / ".libs" / "mod_conduix.so"
CTL = REPO / "cli" / "conduixctl"
SIM = REPO / "tests" / "sim" / "provider_sim.py"
SQL_DIR = REPO / "sql"

PROVIDERS = ["openai", "anthropic", "google", "groq", "together", "mistral", "deepseek",
             "fireworks", "xai", "qwen", "kimi", "glm", "doubao", "sarvam", "krutrim"]
# Providers that speak the OpenAI chat completions wire format upstream.
OPENAI_COMPATIBLE = ["openai", "groq", "together", "mistral", "deepseek", "fireworks", "xai",
                     "qwen", "kimi", "glm", "doubao", "sarvam", "krutrim"]

NANO = Decimal(10) ** 9
REQUEST_ID_RE = re.compile(r"^cx-req-[0-9a-f]{24}$")
DECIMAL_RE = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
# Lines in the httpd error log that mean a test must fail.
BAD_LOG_RE = re.compile(r"\[(crit|alert|emerg)\]|\[[a-z_0-9]+:(crit|alert|emerg)\]|AddressSanitizer"
                        r"|segfault|Segmentation fault|exit signal")


class HarnessError(RuntimeError):
    pass


def sim_credential(provider: str) -> str:
    return "sim-%s-key" % provider


# ---------------------------------------------------------------------------
# cleanup on exit / SIGTERM (scripts/test runs pytest under `timeout`)
# ---------------------------------------------------------------------------

_cleanups: list[Callable[[], None]] = []
_cleanup_lock = threading.Lock()


def register_cleanup(fn: Callable[[], None]) -> Callable[[], None]:
    with _cleanup_lock:
        _cleanups.append(fn)
    return fn


def unregister_cleanup(fn: Callable[[], None]) -> None:
    with _cleanup_lock:
        if fn in _cleanups:
            _cleanups.remove(fn)


def _run_cleanups() -> None:
    while True:
        with _cleanup_lock:
            if not _cleanups:
                return
            fn = _cleanups.pop()
        try:
            fn()
        except Exception:  # noqa: BLE001 - best effort at exit
            pass


atexit.register(_run_cleanups)


def _on_sigterm(signum: int, frame: Any) -> None:
    # Stop the daemons first (they run in their own sessions and would outlive
    # us), then let pytest end the session as on Ctrl-C.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _run_cleanups()
    raise KeyboardInterrupt("SIGTERM")


def install_signal_handlers() -> None:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)


# ---------------------------------------------------------------------------
# scripts/lib.sh
# ---------------------------------------------------------------------------

def lib(func: str, *args: str, timeout: float = 180, env: dict | None = None) -> str:
    """Call a scripts/lib.sh function; returns its stdout, raises with stderr."""
    cmd = ["bash", "-c", 'set -uo pipefail; source "$1"; shift; "$@"', "bash",
           str(LIB_SH), func, *[str(a) for a in args]]
    try:
        cp = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                            env=env, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise HarnessError("%s timed out after %ss\n%s" % (func, timeout, e.stderr or "")) from None
    if cp.returncode != 0:
        raise HarnessError("%s %s failed (exit %d):\n%s%s" % (
            func, " ".join(args[:1]), cp.returncode, cp.stdout, cp.stderr))
    return cp.stdout


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(fn: Callable[[], Any], timeout: float, interval: float = 0.1,
             what: str = "condition") -> Any:
    """Poll fn until it returns a truthy value (returned) or timeout (returns the
    last value; callers assert on it)."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


def check_prerequisites() -> list[str]:
    """What is missing to run the integration suite (empty when all is there)."""
    missing = []
    if not MODULE_SO.is_file():
        missing.append("%s (the module is not built: run scripts/test, or "
                       "autoreconf -fi && ./configure --with-apxs=/usr/bin/apxs && make)" % MODULE_SO)
    if not (CTL.is_file() and os.access(CTL, os.X_OK)):
        missing.append("%s (the CLI is not built)" % CTL)
    if not SIM.is_file():
        missing.append("%s (the provider simulator)" % SIM)
    for exe in ("/usr/sbin/apache2", "mariadbd", "mariadb-install-db", "mariadb-admin"):
        if not (os.path.isabs(exe) and os.access(exe, os.X_OK)) and not shutil.which(exe):
            missing.append("%s (Debian packages apache2 / mariadb-server: run scripts/test "
                           "to install them)" % exe)
    return missing


# ---------------------------------------------------------------------------
# MariaDB
# ---------------------------------------------------------------------------

class MariaDB:
    USER = "conduix"
    DBNAME = "conduix"

    def __init__(self, dirpath: Path):
        self.dir = dirpath
        self.password = "cxtest" + os.urandom(8).hex()
        self.socket = ""
        self.dsn = ""
        self._cleanup = None

    def start(self) -> None:
        env = dict(os.environ, CX_MARIADB_FAST="1")
        self._cleanup = register_cleanup(self.stop)
        lib("cx_mariadb_start", str(self.dir), timeout=120, env=env)
        self.dsn = lib("cx_mariadb_bootstrap", str(self.dir), self.password,
                       self.DBNAME, self.USER).strip()
        self.socket = lib("cx_mariadb_socket", str(self.dir)).strip()

    def stop(self) -> None:
        if self._cleanup:
            unregister_cleanup(self._cleanup)
            self._cleanup = None
        lib("cx_mariadb_stop", str(self.dir), timeout=120)

    def connect(self) -> pymysql.connections.Connection:
        return pymysql.connect(unix_socket=self.socket, user=self.USER, password=self.password,
                               database=self.DBNAME, autocommit=True, charset="utf8mb4",
                               connect_timeout=10)


class DB:
    """Fresh autocommit connection per call, so reads always see committed data."""

    def __init__(self, mariadb: MariaDB):
        self.mariadb = mariadb

    def connect(self) -> pymysql.connections.Connection:
        return self.mariadb.connect()

    __call__ = connect

    def query(self, sql: str, args: Any = None) -> list[dict]:
        conn = self.connect()
        try:
            with conn.cursor(pymysql.cursors.DictCursor) as cur:
                cur.execute(sql, args)
                return list(cur.fetchall())
        finally:
            conn.close()

    def scalar(self, sql: str, args: Any = None) -> Any:
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute(sql, args)
                row = cur.fetchone()
                return None if row is None else row[0]
        finally:
            conn.close()

    def execute(self, sql: str, args: Any = None) -> int:
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                return cur.execute(sql, args)
        finally:
            conn.close()

    # --- domain helpers ---
    def balance_nano(self, org_id: int) -> int:
        v = self.scalar("SELECT balance_nano FROM orgs WHERE id=%s", (org_id,))
        if v is None:
            raise AssertionError("org %s does not exist" % org_id)
        return int(v)

    def usage_rows(self, key_id: int) -> list[dict]:
        return self.query("SELECT * FROM usage_events WHERE key_id=%s ORDER BY id", (key_id,))

    def wait_usage_rows(self, key_id: int, n: int, timeout: float = 5.0) -> list[dict]:
        """Usage rows are written after the response: poll until n rows (or timeout),
        then give stragglers a moment so that a duplicate would be seen too."""
        rows = wait_for(lambda: (lambda r: r if len(r) >= n else None)(self.usage_rows(key_id)),
                        timeout, 0.1)
        if rows:
            time.sleep(0.3)
        return self.usage_rows(key_id)

    def ledger_rows(self, org_id: int) -> list[dict]:
        return self.query("SELECT * FROM credit_ledger WHERE org_id=%s ORDER BY id", (org_id,))


# ---------------------------------------------------------------------------
# provider simulator
# ---------------------------------------------------------------------------

class Simulator:
    def __init__(self, dirpath: Path):
        self.dir = dirpath
        self.port = 0
        self._cleanup = None
        self.verify: bool | str = True   # what requests checks the simulator's TLS with

    @property
    def base(self) -> str:
        return "http://127.0.0.1:%d" % self.port

    def url(self, provider: str) -> str:
        # as scripts/lib.sh cx_sim_provider_url: Gemini's API lives under /v1beta
        return "%s/%s/%s" % (self.base, provider, "v1beta" if provider == "google" else "v1")

    def start(self, *tls: str) -> None:
        """tls: a PEM certificate and key, to serve https."""
        self._cleanup = register_cleanup(self.stop)
        self.port = int(lib("cx_sim_start", str(self.dir), *tls, timeout=30).strip())

    def stop(self) -> None:
        if self._cleanup:
            unregister_cleanup(self._cleanup)
            self._cleanup = None
        lib("cx_sim_stop", str(self.dir), timeout=30)

    def _req(self, method: str, path: str, **kw: Any) -> Any:
        r = requests.request(method, self.base + path, timeout=10, verify=self.verify, **kw)
        if r.status_code != 200:
            raise HarnessError("simulator %s %s -> %d %s" % (method, path, r.status_code, r.text))
        return r.json()

    def health(self) -> bool:
        try:
            return bool(self._req("GET", "/_sim/health").get("ok"))
        except (requests.RequestException, HarnessError):
            return False

    def reset(self) -> None:
        self._req("POST", "/_sim/reset")

    def fault(self, **spec: Any) -> dict:
        """Queue a fault, e.g. fault(provider="openai", status=503, count=2)."""
        return self._req("POST", "/_sim/faults", json=spec)

    def clear_faults(self) -> None:
        self._req("DELETE", "/_sim/faults")

    def requests(self, provider: str | None = None) -> dict:
        params = {"provider": provider} if provider else None
        return self._req("GET", "/_sim/requests", params=params)

    def count(self, provider: str | None = None) -> int:
        return int(self.requests(provider)["count"])

    def last(self, provider: str | None = None) -> dict:
        reqs = self.requests(provider)["requests"]
        if not reqs:
            raise AssertionError("the simulator received no request%s" % (
                " for " + provider if provider else ""))
        return reqs[-1]


# ---------------------------------------------------------------------------
# httpd
# ---------------------------------------------------------------------------

class Httpd:
    def __init__(self, dirpath: Path, mpm: str, dsn: str, sim: Simulator,
                 providers: list[str] | None = None, extra_conf: str = ""):
        self.dir = dirpath
        self.mpm = mpm
        self.dsn = dsn
        self.sim = sim
        self.providers = providers or PROVIDERS
        self.extra_conf = extra_conf  # directives written to conf.d/extra.conf
        self.port = 0
        self._cleanup = None

    @property
    def base_url(self) -> str:
        return "http://127.0.0.1:%d" % self.port

    @property
    def error_log(self) -> Path:
        return self.dir / "error_log"

    def env(self) -> dict:
        env = dict(os.environ)
        for p in PROVIDERS:
            env.pop(p.upper() + "_BASE_URL", None)
            env[p.upper() + "_API_KEY"] = sim_credential(p)
        return env

    def provider_lines(self) -> str:
        return "".join("%s %s env:%s_API_KEY\n" % (p, self.sim.url(p), p.upper())
                       for p in self.providers)

    def write_conf(self) -> Path:
        conf = Path(lib("cx_httpd_conf", str(self.dir), self.mpm, str(self.port), self.dsn,
                        self.provider_lines()).strip())
        if self.extra_conf:
            (self.dir / "conf.d" / "extra.conf").write_text(self.extra_conf + "\n")
        return conf

    def graceful(self, timeout: float = 30) -> None:
        """`apachectl graceful`: new children with a re-read configuration while the
        parent (and so the shared state) stays. Returns once the new generation runs."""
        offset = self.log_offset()
        cp = subprocess.run(["/usr/sbin/apache2", "-f", str(self.dir / "httpd.conf"), "-k", "graceful"],
                            capture_output=True, text=True, timeout=timeout, env=self.env(),
                            stdin=subprocess.DEVNULL)
        if cp.returncode != 0:
            raise HarnessError("apache2 -k graceful failed: %s%s" % (cp.stdout, cp.stderr))
        if not wait_for(lambda: "resuming normal operations" in self.log_since(offset), timeout):
            raise HarnessError("httpd did not finish the graceful restart:\n%s" % self.log_since(offset))

    def start(self) -> None:
        last: Exception | None = None
        for _ in range(3):  # a free port can be taken between choosing and binding
            self.port = free_port()
            self.write_conf()
            self._cleanup = register_cleanup(self.stop)
            try:
                lib("cx_httpd_start", str(self.dir), str(self.port), timeout=60, env=self.env())
                return
            except HarnessError as e:
                last = e
                self.stop()
                if "already in use" not in str(e) and "Address already in use" not in str(e):
                    break
        raise HarnessError("httpd (%s MPM) failed to start:\n%s" % (self.mpm, last))

    def stop(self) -> None:
        if self._cleanup:
            unregister_cleanup(self._cleanup)
            self._cleanup = None
        lib("cx_httpd_stop", str(self.dir), timeout=60)

    def log_offset(self) -> int:
        try:
            return self.error_log.stat().st_size
        except FileNotFoundError:
            return 0

    def log_since(self, offset: int) -> str:
        try:
            with open(self.error_log, "rb") as f:
                f.seek(offset)
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def bad_log_lines(self, offset: int = 0) -> list[str]:
        return [line for line in self.log_since(offset).splitlines() if BAD_LOG_RE.search(line)]


# ---------------------------------------------------------------------------
# conduixctl
# ---------------------------------------------------------------------------

@dataclass
class Key:
    secret: str
    id: int
    org_id: int
    test: bool = False

    @property
    def auth(self) -> dict:
        return {"Authorization": "Bearer " + self.secret}


def _last_int(text: str, what: str) -> int:
    for line in reversed(text.strip().splitlines()):
        m = re.search(r"\b(\d+)\b", line)
        if m:
            return int(m.group(1))
    raise HarnessError("conduixctl %s printed no id: %r" % (what, text))


class Ctl:
    def __init__(self, dsn: str):
        self.dsn = dsn

    def run(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        env = dict(os.environ, CONDUIX_DB=self.dsn)
        cp = subprocess.run([str(CTL), *[str(a) for a in args]], capture_output=True, text=True,
                            env=env, timeout=timeout, stdin=subprocess.DEVNULL, cwd=str(REPO))
        if check and cp.returncode != 0:
            raise HarnessError("conduixctl %s failed (exit %d):\nstdout: %s\nstderr: %s" % (
                " ".join(str(a) for a in args), cp.returncode, cp.stdout, cp.stderr))
        return cp

    def migrate(self) -> str:
        return self.run("migrate", "--dir", str(SQL_DIR), timeout=300).stdout

    def org_create(self, name: str, credits: str | None = "100") -> int:
        args = ["org-create", "--name", name]
        if credits is not None:
            args += ["--credits", str(credits)]
        return _last_int(self.run(*args).stdout, "org-create")

    def key_create(self, org_id: int, name: str = "test key", test: bool = False,
                   scopes: str | None = None, allowed_models: Any = None,
                   rate_limit: int | None = None) -> Key:
        args = ["key-create", "--org", str(org_id), "--name", name]
        if test:
            args.append("--test")
        if scopes:
            args += ["--scopes", scopes]
        if allowed_models is not None:
            args += ["--allowed-models", allowed_models if isinstance(allowed_models, str)
                     else json.dumps(allowed_models)]
        if rate_limit is not None:
            args += ["--rate-limit", str(rate_limit)]
        out = self.run(*args).stdout.strip().splitlines()
        if len(out) < 2 or not re.match(r"^cx_(live|test)_[A-Za-z0-9]+$", out[0].strip()):
            raise HarnessError("conduixctl key-create: expected secret and id lines, got %r" % out)
        return Key(secret=out[0].strip(), id=_last_int(out[1], "key-create"), org_id=org_id,
                   test=test)

    def key_revoke(self, key_id: int) -> None:
        self.run("key-revoke", "--id", str(key_id))

    def credits_grant(self, org_id: int, amount: str, note: str | None = None) -> Decimal:
        args = ["credits-grant", "--org", str(org_id), "--amount", str(amount)]
        if note:
            args += ["--note", note]
        return Decimal(self.run(*args).stdout.strip().splitlines()[-1].split()[-1])

    def balance(self, org_id: int) -> Decimal:
        return Decimal(self.run("balance", "--org", str(org_id)).stdout.strip().split()[-1])


# ---------------------------------------------------------------------------
# the gateway, seen by a client
# ---------------------------------------------------------------------------

def json_decimal(resp: requests.Response) -> Any:
    """The response body as JSON with every non-integer number as an exact Decimal."""
    return json.loads(resp.content.decode("utf-8"), parse_float=Decimal)


def as_decimal(v: Any) -> Decimal:
    if isinstance(v, bool) or v is None:
        raise AssertionError("not a decimal: %r" % (v,))
    if isinstance(v, (int, Decimal)):
        return Decimal(v)
    if isinstance(v, float):
        return Decimal(repr(v))
    if isinstance(v, str) and DECIMAL_RE.match(v):
        return Decimal(v)
    raise AssertionError("not a decimal: %r" % (v,))


def cost_nano(prompt_tokens: int, completion_tokens: int, in_price_per_m: Decimal,
              out_price_per_m: Decimal) -> int:
    """Exact cost in nanocredits (prices in credits per 1M tokens), rounded half
    up once per request as lib/cx_price.h specifies."""
    exact = (Decimal(prompt_tokens) * in_price_per_m + Decimal(completion_tokens) * out_price_per_m) \
        * NANO / Decimal(10**6)
    return int(exact.quantize(Decimal(1), rounding=decimal.ROUND_HALF_UP))


@dataclass
class SSEEvent:
    data: str
    event: str | None
    t: float  # time.monotonic() when the event was complete

    def json(self) -> Any:
        return json.loads(self.data)


def iter_sse(resp: requests.Response) -> Iterator[SSEEvent]:
    """Parse an SSE response incrementally as bytes arrive (never the whole body
    at once), stamping each event with its arrival time."""
    buf = b""
    data: list[str] = []
    event: str | None = None
    for chunk in resp.iter_content(chunk_size=None):
        if not chunk:
            continue
        buf += chunk
        while True:
            m = re.search(rb"\r\n|\n|\r", buf)
            if not m:
                break
            if m.group() == b"\r" and m.end() == len(buf):
                break  # maybe the first half of CRLF
            line = buf[:m.start()].decode("utf-8")
            buf = buf[m.end():]
            if line == "":
                if data:
                    yield SSEEvent("\n".join(data), event, time.monotonic())
                data, event = [], None
            elif line.startswith(":"):
                continue
            else:
                field, _, value = line.partition(":")
                if value.startswith(" "):
                    value = value[1:]
                if field == "data":
                    data.append(value)
                elif field == "event":
                    event = value
    if data:
        yield SSEEvent("\n".join(data), event, time.monotonic())


class Gateway:
    def __init__(self, httpd: Httpd):
        self.httpd = httpd
        self.base_url = httpd.base_url
        self.mpm = httpd.mpm

    def url(self, path: str) -> str:
        return self.base_url + path

    @staticmethod
    def _headers(key: Any, extra: dict | None) -> dict:
        h: dict = {}
        if isinstance(key, Key):
            h.update(key.auth)
        elif isinstance(key, str):
            h["Authorization"] = "Bearer " + key
        if extra:
            h.update(extra)
        return h

    def get(self, path: str, key: Any = None, headers: dict | None = None,
            timeout: float = 30) -> requests.Response:
        return requests.get(self.url(path), headers=self._headers(key, headers), timeout=timeout)

    def post(self, path: str, key: Any = None, json_body: Any = None, data: Any = None,
             headers: dict | None = None, stream: bool = False,
             timeout: float = 60) -> requests.Response:
        h = self._headers(key, headers)
        if json_body is not None:
            data = json.dumps(json_body)
        if data is not None and not any(k.lower() == "content-type" for k in h):
            h["Content-Type"] = "application/json"
        return requests.post(self.url(path), headers=h, data=data, stream=stream, timeout=timeout)

    def chat(self, key: Any, body: Any = None, *, model: str = "gpt-4o-mini",
             content: str = "Say hello", stream: bool = False, headers: dict | None = None,
             **extra: Any) -> requests.Response:
        if body is None:
            body = {"model": model, "messages": [{"role": "user", "content": content}]}
            if stream:
                body["stream"] = True
            body.update(extra)
        return self.post("/v1/chat/completions", key, json_body=body, headers=headers,
                         stream=stream)

    def models(self, key: Any) -> list[dict]:
        r = self.get("/v1/models", key)
        if r.status_code != 200:
            raise AssertionError("GET /v1/models -> %d %s" % (r.status_code, r.text[:500]))
        return json_decimal(r)["data"]

    def model(self, key: Any, model_id: str) -> dict:
        r = self.get("/v1/models/" + model_id, key)
        if r.status_code != 200:
            raise AssertionError("GET /v1/models/%s -> %d %s" % (model_id, r.status_code,
                                                                r.text[:500]))
        return json_decimal(r)


def assert_error(resp: requests.Response, status: int, code: str | None = None,
                 type_: str | None = None, param: Any = "__any__") -> dict:
    """Assert an OpenAI error envelope; returns the inner error object."""
    body_text = resp.text[:1000]
    assert resp.status_code == status, "expected HTTP %d, got %d: %s" % (
        status, resp.status_code, body_text)
    ctype = resp.headers.get("content-type", "")
    assert ctype.startswith("application/json"), "error content-type %r: %s" % (ctype, body_text)
    try:
        body = resp.json()
    except ValueError:
        raise AssertionError("error body is not JSON: %r" % body_text) from None
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), \
        "not an OpenAI error envelope: %s" % body_text
    err = body["error"]
    for field in ("message", "type", "param", "code"):
        assert field in err, "error envelope lacks %r: %s" % (field, body_text)
    assert isinstance(err["message"], str) and err["message"], "empty error message: %s" % body_text
    if code is not None:
        assert err["code"] == code, "expected code %r, got %r: %s" % (code, err["code"], body_text)
    if type_ is not None:
        assert err["type"] == type_, "expected type %r, got %r: %s" % (type_, err["type"], body_text)
    if param != "__any__":
        assert err["param"] == param, "expected param %r, got %r: %s" % (param, err["param"],
                                                                         body_text)
    return err


def make_tempdir(prefix: str) -> Path:
    """A temp dir the unprivileged httpd user can traverse (pytest's own tmp dirs
    live under a 0700 directory)."""
    d = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    d.chmod(0o755)
    return d
