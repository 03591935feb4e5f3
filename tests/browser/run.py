#!/usr/bin/python3
"""Run the dashboard browser suite: Debian's Chromium driven by playwright-core
(node --test), against a real stack — private MariaDB, the provider simulator and
httpd with mod_conduix and the conduix-admin CGI — started through the same
scripts/lib.sh functions as the integration suite (tests/integration/harness.py).

    tests/browser/run.py [--junitxml FILE]

Seeds one organization with an owner (also a platform operator) and a viewer, hands
their credentials to the node tests in the environment, and writes a JUnit XML file
with one <testcase> per node test (scripts/test counts it). Screenshots go to
tests/artifacts/ (gitignored). Exit status: node's, or 1 when the stack failed.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))

import harness  # noqa: E402
from harness import Ctl, Httpd, MariaDB, Simulator  # noqa: E402

CHROMIUM = os.environ.get("CX_CHROMIUM", "/usr/bin/chromium")
NODE_TIMEOUT = 420


def ensure_node_modules() -> None:
    if (HERE / "node_modules" / "playwright-core" / "package.json").is_file():
        return
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True,
                   stdin=subprocess.DEVNULL, timeout=300)


def seed_user(ctl: Ctl, root: Path, org: int, email: str, role: str, operator: bool) -> str:
    password = secrets.token_urlsafe(18)
    pwfile = root / ("pw-" + role)
    pwfile.write_text(password + "\n")
    pwfile.chmod(0o600)
    args = ["user-create", "--org", str(org), "--email", email, "--password-file", str(pwfile),
            "--role", role]
    if operator:
        args.append("--operator")
    ctl.run(*args)
    pwfile.unlink()
    return password


def convert_junit(node_xml: Path, out: Path) -> tuple[int, int]:
    """node's junit reporter nests <testsuite> for tests with subtests and puts leaf
    <testcase>s anywhere; flatten to one standard <testsuite> of leaf cases."""
    cases = []
    if node_xml.is_file():
        try:
            root = ET.parse(node_xml).getroot()
            cases = list(root.iter("testcase"))
        except ET.ParseError:
            cases = []
    suite = ET.Element("testsuite", name="browser")
    failed = skipped = 0
    for c in cases:
        tc = ET.SubElement(suite, "testcase", name=c.get("name", "?"), classname="browser",
                           time=c.get("time", "0"))
        f = c.find("failure")
        if f is not None:
            failed += 1
            ET.SubElement(tc, "failure", message=(f.get("message") or "")[:500]).text = f.text
        elif c.find("skipped") is not None:
            skipped += 1
            ET.SubElement(tc, "skipped")
    if not cases:
        failed = 1
        tc = ET.SubElement(suite, "testcase", name="browser suite ran", classname="browser")
        ET.SubElement(tc, "failure", message="node produced no test results")
    suite.set("tests", str(max(len(cases), 1)))
    suite.set("failures", str(failed))
    suite.set("errors", "0")
    suite.set("skipped", str(skipped))
    ET.ElementTree(suite).write(out, encoding="utf-8", xml_declaration=True)
    return len(cases) - failed - skipped, failed


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--junitxml", default=str(REPO / "tests" / "artifacts" / "browser.xml"))
    args = ap.parse_args()
    artifacts = REPO / "tests" / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    junit = Path(args.junitxml)
    node_xml = junit.with_suffix(".node.xml")
    for f in (junit, node_xml):
        f.unlink(missing_ok=True)

    missing = harness.check_prerequisites()
    if not Path(CHROMIUM).is_file():
        missing.append(CHROMIUM + " (Debian package chromium)")
    if not (REPO / "admin-cgi" / "conduix-admin").is_file():
        missing.append("admin-cgi/conduix-admin (the dashboard CGI is not built)")
    if missing:
        print("browser suite prerequisites missing:\n  " + "\n  ".join(missing), file=sys.stderr)
        convert_junit(node_xml, junit)
        return 1
    ensure_node_modules()

    harness.install_signal_handlers()
    root = harness.make_tempdir("cx-browser-")
    mariadb = MariaDB(root / "mysql")
    sim = Simulator(root / "sim")
    httpd = None
    rc = 1
    try:
        mariadb.start()
        ctl = Ctl(mariadb.dsn)
        ctl.migrate()
        sim.start()
        httpd = Httpd(root / "httpd", "event", mariadb.dsn, sim)
        httpd.start()
        org = ctl.org_create("Acme Labs", "100")
        owner_pw = seed_user(ctl, root, org, "owner@acme.test", "owner", True)
        viewer_pw = seed_user(ctl, root, org, "viewer@acme.test", "viewer", False)
        env = dict(os.environ,
                   CX_BASE_URL=httpd.base_url,
                   CX_OWNER_EMAIL="owner@acme.test", CX_OWNER_PASSWORD=owner_pw,
                   CX_VIEWER_EMAIL="viewer@acme.test", CX_VIEWER_PASSWORD=viewer_pw,
                   CX_ARTIFACTS=str(artifacts), CX_CHROMIUM=CHROMIUM)
        offset = httpd.log_offset()
        cmd = ["node", "--test", "--test-concurrency=1",
               "--test-reporter=spec", "--test-reporter-destination=stdout",
               "--test-reporter=junit", "--test-reporter-destination=" + str(node_xml)]
        cmd += sorted(str(p) for p in HERE.glob("*.test.mjs"))
        try:
            rc = subprocess.run(cmd, cwd=HERE, env=env, stdin=subprocess.DEVNULL,
                                timeout=NODE_TIMEOUT).returncode
        except subprocess.TimeoutExpired:
            print("browser suite timed out after %ds" % NODE_TIMEOUT, file=sys.stderr)
            rc = 1
        bad = httpd.bad_log_lines(offset)
        if bad:
            print("httpd error log has bad lines:\n" + "\n".join(bad), file=sys.stderr)
            rc = rc or 1
    except Exception as e:  # noqa: BLE001 - report and fail the suite
        print("browser suite could not start the stack: %s" % e, file=sys.stderr)
        rc = 1
    finally:
        for stop in ([httpd.stop] if httpd else []) + [sim.stop, mariadb.stop]:
            try:
                stop()
            except Exception as e:  # noqa: BLE001
                print("cleanup: %s" % e, file=sys.stderr)
        if rc == 0 and os.environ.get("CONDUIX_TEST_KEEP") != "1":
            shutil.rmtree(root, ignore_errors=True)
        else:
            shutil.rmtree(root / "mysql" / "data", ignore_errors=True)
            print("browser suite logs kept in %s" % root, file=sys.stderr)
    passed, failed = convert_junit(node_xml, junit)
    if rc != 0 and failed == 0:
        # the suite failed outside a test (stack, log check): count it
        tree = ET.parse(junit)
        s = tree.getroot()
        tc = ET.SubElement(s, "testcase", name="browser suite infrastructure", classname="browser")
        ET.SubElement(tc, "failure", message="exit status %d" % rc)
        s.set("tests", str(int(s.get("tests")) + 1))
        s.set("failures", str(int(s.get("failures")) + 1))
        tree.write(junit, encoding="utf-8", xml_declaration=True)
    print("browser: %d passed, %d failed" % (passed, failed))
    return rc


if __name__ == "__main__":
    sys.exit(main())
