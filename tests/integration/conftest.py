"""Fixtures for the Conduix integration suite.

One private MariaDB and one provider simulator per session; one httpd per MPM
(every test runs under event and prefork; CONDUIX_TEST_MPMS="event" narrows it).
Nothing is built here: scripts/test builds first. CONDUIX_TEST_KEEP=1 keeps the
temp dir (logs, database) for inspection.
"""

from __future__ import annotations

import itertools
import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402
from harness import DB, Ctl, Gateway, Httpd, Key, MariaDB, Simulator  # noqa: E402

MPMS = os.environ.get("CONDUIX_TEST_MPMS", "event prefork").split()

# The shared httpd serves every module in turn; tests that make providers fail on
# purpose must not open a breaker that a later module then runs into. Breakers
# are tested with their defaults in test_resilience.py, on an httpd of its own.
SESSION_EXTRA_CONF = "ConduixBreakerThreshold 1000000"

_counter = itertools.count(1)


class Stack:
    def __init__(self, root: Path, mariadb: MariaDB, sim: Simulator, ctl: Ctl):
        self.root = root
        self.mariadb = mariadb
        self.sim = sim
        self.ctl = ctl
        self.db = DB(mariadb)


SHUTDOWN_PROBLEMS: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    harness.install_signal_handlers()


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Crashes while httpd shut down fail the run (scripts/test counts it)."""
    if SHUTDOWN_PROBLEMS:
        sys.stderr.write("\nFAILED at shutdown:\n%s\n" % "\n".join(SHUTDOWN_PROBLEMS))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def stack(request: pytest.FixtureRequest):
    missing = harness.check_prerequisites()
    if missing:
        pytest.exit("integration prerequisites missing:\n  " + "\n  ".join(missing), returncode=3)
    root = harness.make_tempdir("cx-it-")
    # One BYO credential key for the database: every httpd (cx_httpd_conf) and conduixctl
    # of this run find it through CONDUIX_SECRET_KEY_FILE.
    os.environ["CONDUIX_SECRET_KEY_FILE"] = str(root / "secret.key")
    harness.lib("cx_secret_key_ensure", str(root / "secret.key"))
    mariadb = MariaDB(root / "mysql")
    sim = Simulator(root / "sim")
    ok = False
    try:
        mariadb.start()
        ctl = Ctl(mariadb.dsn)
        ctl.migrate()
        again = ctl.migrate()
        assert ".sql" not in again, "a second migrate applied something: %r" % again
        sim.start()
        ok = True
        yield Stack(root, mariadb, sim, ctl)
    finally:
        for stop in (sim.stop, mariadb.stop):
            try:
                stop()
            except Exception as e:  # noqa: BLE001
                print("cleanup: %s" % e, file=sys.stderr)
        failed = request.session.testsfailed or SHUTDOWN_PROBLEMS
        if os.environ.get("CONDUIX_TEST_KEEP") == "1":
            print("\nintegration temp dir kept: %s" % root, file=sys.stderr)
        elif not ok or failed:
            # keep the logs for the post-mortem, not the 50 MB database
            shutil.rmtree(root / "mysql" / "data", ignore_errors=True)
            print("\nintegration logs kept in %s (httpd-*/error_log, mysql/mysqld.err, "
                  "sim/sim.log)" % root, file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session", params=MPMS)
def httpd(request: pytest.FixtureRequest, stack: Stack):
    h = Httpd(stack.root / ("httpd-" + request.param), request.param, stack.mariadb.dsn, stack.sim,
              extra_conf=SESSION_EXTRA_CONF)
    h.start()
    try:
        yield h
    finally:
        offset = h.log_offset()
        h.stop()
        bad = h.bad_log_lines(offset)
        if bad:
            # Not raised here: a failing session-fixture teardown would be blamed on
            # an unrelated test (or crash pytest under -x). Reported at session end.
            SHUTDOWN_PROBLEMS.append("httpd (%s MPM) error log at shutdown:\n  %s"
                                     % (h.mpm, "\n  ".join(bad)))


@pytest.fixture(scope="module", autouse=True)
def clean_error_log(httpd: Httpd):
    """After each module: no crit/emerg/sanitizer/segfault lines in the error log."""
    start = httpd.log_offset()
    yield
    bad = httpd.bad_log_lines(start)
    assert not bad, "httpd (%s MPM) error log has bad lines:\n%s" % (httpd.mpm, "\n".join(bad))


@pytest.fixture(autouse=True)
def _sim_clean(stack: Stack):
    """Every test starts with no faults and an empty simulator request log."""
    stack.sim.reset()
    yield
    try:
        stack.sim.clear_faults()
    except (harness.HarnessError, OSError, IOError):
        pass  # the simulator is gone (interrupted run); the next setup reports it


@pytest.fixture
def gw(httpd: Httpd) -> Gateway:
    return Gateway(httpd)


@pytest.fixture
def sim(stack: Stack) -> Simulator:
    return stack.sim


@pytest.fixture
def db(stack: Stack) -> DB:
    return stack.db


@pytest.fixture
def ctl(stack: Stack) -> Ctl:
    return stack.ctl


@pytest.fixture
def org_factory(stack: Stack, request: pytest.FixtureRequest):
    """org_factory(credits="100") -> new org id (a fresh org per call)."""
    def make(credits: str | None = "100", name: str | None = None) -> int:
        n = next(_counter)
        return stack.ctl.org_create(name or "it-%s-%d" % (request.node.name[:60], n), credits)
    return make


@pytest.fixture
def key_factory(stack: Stack):
    """key_factory(org_id, test=False, scopes=None, ...) -> Key(secret, id, org_id)."""
    def make(org_id: int, **kw) -> Key:
        kw.setdefault("name", "key-%d" % next(_counter))
        return stack.ctl.key_create(org_id, **kw)
    return make


@pytest.fixture
def revoke_key(stack: Stack):
    def revoke(key: Key | int) -> None:
        stack.ctl.key_revoke(key.id if isinstance(key, Key) else key)
    return revoke


@pytest.fixture
def live_key(org_factory, key_factory) -> Key:
    """A live inference key of a fresh org holding 100 credits."""
    return key_factory(org_factory("100"))
