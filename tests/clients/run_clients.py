#!/usr/bin/python3
"""Run the official-SDK client suites (node --test tests/clients/*.test.mjs)
against a private stack: MariaDB, the provider simulator and httpd with
mod_conduix from this tree, started and stopped through scripts/lib.sh (the
integration harness's classes). scripts/test calls this; it can be run alone:

    /usr/bin/python3 tests/clients/run_clients.py [--junit FILE] [--mpm event]

node_modules must exist (scripts/lib.sh cx_client_deps runs `npm ci`).
Exits with node's status (non-zero also when httpd logged a crash).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "integration"))

import harness  # noqa: E402
from harness import Ctl, Httpd, MariaDB, Simulator  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--junit", help="write node's JUnit report here")
    ap.add_argument("--mpm", default="event")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    args = ap.parse_args()

    missing = harness.check_prerequisites()
    if not (HERE / "node_modules").is_dir():
        missing.append("tests/clients/node_modules (run: source scripts/lib.sh; cx_client_deps)")
    if missing:
        print("client suites cannot run:\n  " + "\n  ".join(missing), file=sys.stderr)
        return 3
    harness.install_signal_handlers()
    root = harness.make_tempdir("cx-clients-")
    mariadb = MariaDB(root / "mysql")
    sim = Simulator(root / "sim")
    httpd = None
    rc = 1
    try:
        mariadb.start()
        ctl = Ctl(mariadb.dsn)
        ctl.migrate()
        key = ctl.key_create(ctl.org_create("sdk-clients", "100"), name="sdk live key")
        broke = ctl.key_create(ctl.org_create("sdk-clients-broke", "0"), name="sdk broke key")
        sim.start()
        httpd = Httpd(root / ("httpd-" + args.mpm), args.mpm, mariadb.dsn, sim)
        httpd.start()
        env = dict(os.environ, CX_GATEWAY_URL=httpd.base_url, CX_SIM_URL=sim.base,
                   CX_KEY=key.secret, CX_BROKE_KEY=broke.secret, NO_COLOR="1")
        for name in ("OPENAI_BASE_URL", "ANTHROPIC_BASE_URL", "OPENAI_API_KEY", "ANTHROPIC_API_KEY",
                     "GEMINI_API_KEY", "GOOGLE_API_KEY", "ANTHROPIC_AUTH_TOKEN"):
            env.pop(name, None)
        cmd = ["node", "--test", "--test-concurrency=1", "--test-reporter=spec", "--test-reporter-destination=stdout"]
        if args.junit:
            cmd += ["--test-reporter=junit", "--test-reporter-destination=" + args.junit]
        cmd += sorted(str(p.name) for p in HERE.glob("*.test.mjs"))
        try:
            rc = subprocess.run(cmd, cwd=str(HERE), env=env, timeout=300,
                                stdin=subprocess.DEVNULL).returncode
        except subprocess.TimeoutExpired:
            print("node --test timed out after 300s", file=sys.stderr)
            rc = 124
        bad = httpd.bad_log_lines(0)
        if bad:
            print("httpd error log has bad lines:\n  " + "\n  ".join(bad), file=sys.stderr)
            rc = rc or 1
    except harness.HarnessError as e:
        print("client stack failed: %s" % e, file=sys.stderr)
        rc = 1
    finally:
        for stop in ([httpd.stop] if httpd else []) + [sim.stop, mariadb.stop]:
            try:
                stop()
            except Exception as e:  # noqa: BLE001
                print("cleanup: %s" % e, file=sys.stderr)
        if args.keep or rc:
            shutil.rmtree(root / "mysql" / "data", ignore_errors=True)
            print("client suite logs kept in %s" % root, file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
