"""A client for the dashboard (conduix-admin behind httpd), as a browser would use it:
a cookie-keeping session, the CSRF token read from the rendered forms, redirects not
followed unless asked. Used by test_dashboard.py."""

from __future__ import annotations

import html
import os
import re
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parents[2]
CGI = REPO / "admin-cgi" / "conduix-admin"
CSRF_RE = re.compile(r'name="csrf" value="([0-9a-f]{64})"')
FLASH_RE = re.compile(r'class="flash flash-(ok|error|info)"[^>]*>(.*?)</div>', re.S)
ERROR_RE = re.compile(r'class="card error-card">.*?<h1>[^<]*</h1>\s*<p>(.*?)</p>', re.S)


@dataclass
class Account:
    email: str
    password: str
    org_id: int
    user_id: int
    role: str


def create_account(ctl: Any, tmp: Path, org_id: int, role: str, operator: bool = False,
                   email: str | None = None) -> Account:
    email = email or "%s-%s@dash.test" % (role, secrets.token_hex(5))
    password = "pw-" + secrets.token_urlsafe(16)
    pwfile = tmp / ("pw-" + secrets.token_hex(4))
    pwfile.write_text(password + "\n")
    args = ["user-create", "--org", str(org_id), "--email", email, "--password-file", str(pwfile),
            "--role", role]
    if operator:
        args.append("--operator")
    out = ctl.run(*args).stdout.strip().splitlines()
    pwfile.unlink()
    return Account(email, password, org_id, int(out[-1]), role)


class Dashboard:
    def __init__(self, base_url: str):
        self.root = base_url
        self.base = base_url + "/dashboard"
        self.s = requests.Session()
        self.last: requests.Response | None = None

    def get(self, path: str, follow: bool = False, **kw: Any) -> requests.Response:
        r = self.s.get(self.base + path, allow_redirects=follow, timeout=30, **kw)
        self.last = r
        return r

    def csrf(self, path: str = "/usage") -> str:
        """The CSRF token of the current session, read from a rendered form."""
        r = self.get(path)
        m = CSRF_RE.search(r.text)
        assert m, "no CSRF token on %s (HTTP %d)" % (path, r.status_code)
        return m.group(1)

    def post(self, path: str, data: dict | list | None = None, csrf: str | None | bool = True,
             follow: bool = False) -> requests.Response:
        """POST a form; csrf=True reads the session's token, a string sends that token,
        None sends none."""
        fields: list = list(data.items()) if isinstance(data, dict) else list(data or [])
        if csrf is True:
            csrf = self.csrf()
        if csrf:
            fields.append(("csrf", csrf))
        r = self.s.post(self.base + path, data=fields, allow_redirects=follow, timeout=30)
        self.last = r
        return r

    def login(self, email: str, password: str) -> requests.Response:
        page = self.get("/login")
        m = CSRF_RE.search(page.text)
        assert m, "no CSRF token on the login page"
        r = self.s.post(self.base + "/login", data={"email": email, "password": password,
                                                    "csrf": m.group(1)},
                        allow_redirects=False, timeout=30)
        self.last = r
        return r

    def login_ok(self, account: Account) -> "Dashboard":
        r = self.login(account.email, account.password)
        assert r.status_code == 303 and r.headers["location"].endswith("/dashboard/usage"), \
            "login of %s failed: %d %s" % (account.email, r.status_code, flash(r.text))
        return self


def flash(text: str) -> str:
    """The page's message: the flash line, or the error page's explanation."""
    m = FLASH_RE.search(text)
    if m:
        return html.unescape(m.group(2)).strip()
    m = ERROR_RE.search(text)
    return html.unescape(m.group(1)).strip() if m else ""


def run_cgi(method: str, path: str, dsn: str, body: str = "", cookies: str = "",
            extra_env: dict | None = None) -> tuple[dict, list, str]:
    """Run conduix-admin directly as a CGI program (as httpd would) and parse its
    output: (headers, set-cookie lines, body)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PROTOCOL": "HTTP/1.1",
        "REQUEST_METHOD": method, "SCRIPT_NAME": "/dashboard", "PATH_INFO": path,
        "QUERY_STRING": "", "REMOTE_ADDR": "192.0.2.44", "SERVER_NAME": "dash.example",
        "SERVER_PORT": "443", "HTTP_HOST": "dash.example",
        "CONDUIX_DB_DSN": dsn, "CONDUIX_TEMPLATE_DIR": str(REPO / "templates"),
    }
    if body:
        env["CONTENT_TYPE"] = "application/x-www-form-urlencoded"
        env["CONTENT_LENGTH"] = str(len(body.encode()))
    if cookies:
        env["HTTP_COOKIE"] = cookies
    env.update(extra_env or {})
    cp = subprocess.run([str(CGI)], input=body.encode(), env=env, capture_output=True, timeout=30)
    head, _, rest = cp.stdout.decode("utf-8", "replace").partition("\r\n\r\n")
    headers: dict = {}
    cookies_out: list = []
    for line in head.split("\r\n"):
        k, _, v = line.partition(":")
        if k.lower() == "set-cookie":
            cookies_out.append(v.strip())
        elif k:
            headers[k.lower()] = v.strip()
    return headers, cookies_out, rest
