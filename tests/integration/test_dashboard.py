"""The dashboard (conduix-admin CGI behind the same httpd as the gateway), over HTTP:
sign-in, sessions and throttling, CSRF on every state-changing form, roles, filters fed
with SQL metacharacters, audit and exports, keys end to end with the gateway, BYO SSRF
rules, invitations, operator actions and the usage numbers. The browser suite
(tests/browser) drives the same pages in Chromium."""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io
import json
import re
import time
import urllib.parse
from decimal import Decimal
from pathlib import Path

import pytest

from dashboard_client import Account, Dashboard, create_account, flash, run_cgi
from harness import NANO, Gateway, Httpd, make_tempdir, wait_for

PAGES = ["/", "/usage", "/models", "/keys", "/settings", "/audit", "/billing", "/members",
         "/providers", "/keys/edit?id=1", "/usage.csv", "/audit/export?format=json"]


@pytest.fixture
def tmp(request) -> Path:
    d = make_tempdir("cx-dash-")
    yield d


@pytest.fixture
def account(ctl, org_factory, tmp):
    """account(role, operator=False, org_id=None) -> a dashboard user of a fresh (or given) org."""
    def make(role: str = "owner", operator: bool = False, org_id: int | None = None) -> Account:
        return create_account(ctl, tmp, org_id or org_factory("100"), role, operator)
    return make


@pytest.fixture
def dash(gw):
    return lambda: Dashboard(gw.base_url)


def settings_of(db, org_id: int) -> dict:
    return {r["name"]: r["value"] for r in db.query(
        "SELECT name, value FROM settings WHERE org_id=%s", (org_id,))}


# ---------------------------------------------------------------------------------------
# sessions and sign-in
# ---------------------------------------------------------------------------------------

def test_signed_out_pages_redirect_to_login_and_posts_are_refused(dash):
    d = dash()
    for page in PAGES:
        r = d.get(page)
        assert r.status_code == 303, page
        assert r.headers["location"] == "/dashboard/login", page
    for page in ["/keys/mint", "/settings", "/members/invite", "/logout"]:
        r = d.post(page, {"name": "x"}, csrf="0" * 64)
        assert r.status_code == 403, page
    assert d.get("/login").status_code == 200


def test_login_sets_a_hardened_session_cookie_stored_only_as_a_hash(dash, account, db, gw):
    a = account("admin")
    d = dash()
    r = d.login(a.email, a.password)
    assert r.status_code == 303
    raw = [v for k, v in r.raw.headers.items() if k.lower() == "set-cookie"]
    session = [c for c in raw if c.startswith("cx_session=")]
    assert len(session) == 1, raw
    attrs = [x.strip() for x in session[0].split(";")]
    assert "HttpOnly" in attrs and "SameSite=Strict" in attrs and "Path=/dashboard" in attrs
    assert "Secure" not in attrs   # plain HTTP here; see the TLS test below
    value = attrs[0].split("=", 1)[1]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", value)
    stored = db.query("SELECT token_hash, user_id FROM dashboard_sessions WHERE user_id=%s",
                      (a.user_id,))
    assert [bytes(x["token_hash"]) for x in stored] == [hashlib.sha256(value.encode()).digest()]
    # the JWT for /api/usage: HS256 over the httpd's secret file, handed to the user on
    # the usage page for Authorization: Bearer
    jwt_cookie = [c for c in raw if c.startswith("cx_dashboard_jwt=")]
    assert jwt_cookie and "Path=/dashboard" in jwt_cookie[0] and "HttpOnly" in jwt_cookie[0]
    token = jwt_cookie[0].split(";")[0].split("=", 1)[1]
    header, payload, sig = token.split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    assert json.loads(base64.urlsafe_b64decode(pad(header)))["alg"] == "HS256"
    claims = json.loads(base64.urlsafe_b64decode(pad(payload)))
    assert str(claims["sub"]) == str(a.user_id) and str(claims["org"]) == str(a.org_id)
    assert claims["role"] == "admin" and claims["exp"] > time.time()
    secret = (gw.httpd.dir / "jwt.secret").read_bytes().rstrip(b"\n")
    want = hmac.new(secret, (header + "." + payload).encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64decode(pad(sig)) == want
    assert 'id="api-token" class="secret">%s<' % token in d.get("/usage").text
    # signing out deletes the session row and the cookie
    r = d.post("/logout", {})
    assert r.status_code == 303 and "signed-out" in r.headers["location"]
    assert db.scalar("SELECT COUNT(*) FROM dashboard_sessions WHERE user_id=%s", (a.user_id,)) == 0
    assert d.get("/usage").status_code == 303


def test_session_cookie_is_secure_over_tls(stack, account):
    """HTTPS=on (set by mod_ssl) makes every cookie Secure. Run as httpd would run it."""
    a = account("viewer")
    dsn = stack.mariadb.dsn
    h, cookies, body = run_cgi("GET", "/login", dsn, extra_env={"HTTPS": "on"})
    assert h["status"].startswith("200")
    pre = [c for c in cookies if c.startswith("cx_prelogin=")]
    assert pre and "Secure" in pre[0] and "HttpOnly" in pre[0] and "SameSite=Strict" in pre[0]
    token = re.search(r'name="csrf" value="([0-9a-f]{64})"', body).group(1)
    form = urllib.parse.urlencode({"email": a.email, "password": a.password, "csrf": token})
    h, cookies, _ = run_cgi("POST", "/login", dsn, body=form, cookies=pre[0].split(";")[0],
                            extra_env={"HTTPS": "on"})
    assert h["status"].startswith("303"), h
    session = [c for c in cookies if c.startswith("cx_session=")]
    assert session and [x.strip() for x in session[0].split(";")][-1] == "Secure"


def test_wrong_password_and_unknown_account_get_the_same_answer(dash, account, db):
    a = account("member")
    r1 = dash().login(a.email, "wrong-password")
    r2 = dash().login("nobody-%d@dash.test" % time.time_ns(), "wrong-password")
    assert r1.status_code == r2.status_code == 401
    assert flash(r1.text) == flash(r2.text) == "The email address or password is incorrect."
    assert "cx_session" not in r1.headers.get("set-cookie", "")
    assert db.scalar("SELECT COUNT(*) FROM login_attempts WHERE email=%s AND success=0",
                     (a.email,)) == 1


def test_login_is_throttled_per_account_after_repeated_failures(dash, account):
    a = account("member")
    b = account("member")
    for _ in range(5):
        assert dash().login(a.email, "guess").status_code == 401
    r = dash().login(a.email, a.password)   # right password, but throttled
    assert r.status_code == 429
    assert "Too many failed sign-in attempts" in flash(r.text)
    assert int(r.headers["retry-after"]) > 0
    assert "cx_session" not in r.headers.get("set-cookie", "")
    # another account from the same address is not affected
    assert dash().login(b.email, b.password).status_code == 303


def test_login_is_throttled_per_address(dash, account, db):
    a = account("member")
    n = db.scalar("SELECT value FROM settings WHERE org_id=0 AND name='dashboard_login_max_failures_ip'")
    conn = db.connect()
    try:
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO login_attempts (email, ip, success) VALUES (%s, '127.0.0.1', 0)",
                            [("spray-%d@dash.test" % i,) for i in range(int(n))])
        r = dash().login(a.email, a.password)
        assert r.status_code == 429
    finally:
        with conn.cursor() as cur:
            cur.execute("DELETE FROM login_attempts WHERE email LIKE 'spray-%%@dash.test'")
        conn.close()
    assert dash().login(a.email, a.password).status_code == 303


def test_login_form_needs_its_csrf_token(dash, account, db):
    a = account("member")
    d = dash()
    d.get("/login")
    r = d.s.post(d.base + "/login", data={"email": a.email, "password": a.password},
                 allow_redirects=False, timeout=30)
    assert r.status_code == 403
    r = d.s.post(d.base + "/login", data={"email": a.email, "password": a.password, "csrf": "a" * 64},
                 allow_redirects=False, timeout=30)
    assert r.status_code == 403
    assert db.scalar("SELECT COUNT(*) FROM login_attempts WHERE email=%s", (a.email,)) == 0


def test_removed_member_loses_their_session(dash, account, db):
    owner = account("owner")
    m = account("member", org_id=owner.org_id)
    md = dash().login_ok(m)
    assert md.get("/keys").status_code == 200
    od = dash().login_ok(owner)
    r = od.post("/members/remove", {"user_id": m.user_id})
    assert r.status_code == 303
    assert md.get("/keys").status_code == 303
    assert md.login(m.email, m.password).status_code == 401
    assert db.scalar("SELECT COUNT(*) FROM audit_log WHERE org_id=%s AND action='member.remove' "
                     "AND target=%s", (owner.org_id, m.email)) == 1


# ---------------------------------------------------------------------------------------
# CSRF and roles
# ---------------------------------------------------------------------------------------

def snapshot(db, org_id: int) -> dict:
    return {
        "settings": settings_of(db, org_id),
        "keys": db.query("SELECT id, name, revoked_at, rate_limit_rpm FROM api_keys WHERE org_id=%s "
                         "ORDER BY id", (org_id,)),
        "invites": db.scalar("SELECT COUNT(*) FROM invites WHERE org_id=%s", (org_id,)),
        "users": db.query("SELECT id, role, disabled_at FROM users WHERE org_id=%s ORDER BY id", (org_id,)),
        "balance": db.balance_nano(org_id),
        "byo": db.scalar("SELECT COUNT(*) FROM byo_endpoints WHERE org_id=%s", (org_id,)),
        "budget": db.query("SELECT monthly_budget_nano, hard_cap FROM providers WHERE name='mistral'"),
        "webhooks": db.scalar("SELECT COUNT(*) FROM budget_alert_webhooks"),
        "audit": db.scalar("SELECT COUNT(*) FROM audit_log WHERE org_id=%s", (org_id,)),
    }


def state_changing_forms(key_id: int, user_id: int) -> list:
    return [
        ("/settings", {"cap_daily": "1", "cap_monthly": "2"}),
        ("/keys/mint", {"name": "forged key"}),
        ("/keys/edit", {"id": key_id, "name": "renamed", "rate_limit": "1"}),
        ("/keys/revoke", {"id": key_id}),
        ("/members/invite", {"email": "forged@dash.test", "role": "admin"}),
        ("/members/role", {"user_id": user_id, "role": "owner"}),
        ("/members/remove", {"user_id": user_id}),
        ("/models/byo/add", {"slug": "forged", "base_url": "https://93.184.216.34/v1",
                             "region": "US", "models": "m"}),
        ("/models/byo/remove", {"slug": "forged"}),
        ("/billing/grant", {"amount": "1000"}),
        ("/providers/update", {"provider": "mistral", "budget": "1", "hard_cap": "on"}),
        ("/providers/webhooks/add", {"format": "slack", "url": "https://hooks.example.com/x"}),
    ]


def test_posts_without_or_with_a_wrong_csrf_token_are_refused_and_change_nothing(dash, account, db,
                                                                                key_factory):
    owner = account("owner", operator=True)
    other = account("member", org_id=owner.org_id)
    key = key_factory(owner.org_id, name="csrf target")
    d = dash().login_ok(owner)
    foreign = dash().login_ok(account("owner")).csrf()   # a valid token of another session
    before = snapshot(db, owner.org_id)
    for path, form in state_changing_forms(key.id, other.user_id):
        for token in (None, "", "0" * 64, foreign, d.csrf()[:-1] + "x"):
            r = d.post(path, form, csrf=token)
            assert r.status_code == 403, (path, token, r.status_code)
            assert "did not come from this dashboard" in flash(r.text), path
    assert snapshot(db, owner.org_id) == before


def test_a_viewer_cannot_perform_admin_actions(dash, account, db, key_factory):
    owner = account("owner")
    viewer = account("viewer", org_id=owner.org_id)
    member = account("member", org_id=owner.org_id)
    key = key_factory(owner.org_id, name="owned by the org")
    d = dash().login_ok(viewer)
    before = snapshot(db, owner.org_id)
    for path, form in state_changing_forms(key.id, member.user_id):
        r = d.post(path, form)   # with the viewer's own, valid CSRF token
        assert r.status_code == 403, path
    for page in ("/audit", "/audit/export?format=csv", "/providers", "/keys/edit?id=%d" % key.id):
        assert d.get(page).status_code == 403, page
    for page in ("/usage", "/models", "/keys", "/settings", "/billing", "/members"):
        assert d.get(page).status_code == 200, page
    assert 'id="mint-form"' not in d.get("/keys").text
    assert snapshot(db, owner.org_id) == before


def test_members_mint_keys_but_manage_only_their_own(dash, account, db, key_factory):
    owner = account("owner")
    member = account("member", org_id=owner.org_id)
    owners_key = key_factory(owner.org_id, name="owner's key")
    d = dash().login_ok(member)
    r = d.post("/keys/mint", {"name": "member key", "scopes": "inference"})
    assert r.status_code == 200
    secret = re.search(r'id="new-secret" class="secret">(cx_live_[A-Za-z0-9]{40})<', r.text).group(1)
    mine = db.query("SELECT id, created_by_user_id FROM api_keys WHERE org_id=%s AND name='member key'",
                    (owner.org_id,))
    assert len(mine) == 1 and mine[0]["created_by_user_id"] == member.user_id
    assert hashlib.sha256(secret.encode()).digest() == bytes(db.scalar(
        "SELECT key_hash FROM api_keys WHERE id=%s", (mine[0]["id"],)))
    r = d.post("/keys/mint", {"name": "escalate", "scopes": ["inference", "keys:write"]})
    assert r.status_code == 422 and "keys:write" in flash(r.text)
    assert d.post("/keys/revoke", {"id": owners_key.id}).status_code == 403
    assert d.get("/keys/edit?id=%d" % owners_key.id).status_code == 403
    assert db.scalar("SELECT revoked_at FROM api_keys WHERE id=%s", (owners_key.id,)) is None
    assert d.post("/keys/revoke", {"id": mine[0]["id"]}).status_code == 303
    assert db.scalar("SELECT revoked_at FROM api_keys WHERE id=%s", (mine[0]["id"],)) is not None


def test_admins_cannot_touch_owners_and_the_last_owner_stays(dash, account, db):
    owner = account("owner")
    admin = account("admin", org_id=owner.org_id)
    d = dash().login_ok(admin)
    assert d.post("/members/role", {"user_id": owner.user_id, "role": "viewer"}).status_code == 403
    assert d.post("/members/remove", {"user_id": owner.user_id}).status_code == 403
    assert d.post("/members/invite", {"email": "x@dash.test", "role": "owner"}).status_code == 403
    assert d.post("/members/role", {"user_id": admin.user_id, "role": "owner"}).status_code == 403
    od = dash().login_ok(owner)
    assert od.post("/members/role", {"user_id": owner.user_id, "role": "admin"}).status_code == 403
    second = account("owner", org_id=owner.org_id)
    r = od.post("/members/role", {"user_id": second.user_id, "role": "admin"})
    assert r.status_code == 303
    assert db.scalar("SELECT role FROM users WHERE id=%s", (second.user_id,)) == "admin"
    detail = json.loads(db.scalar("SELECT detail FROM audit_log WHERE org_id=%s AND action='member.role'",
                                  (owner.org_id,)))
    assert detail == {"before": "owner", "after": "admin"}


# ---------------------------------------------------------------------------------------
# filters, audit and exports
# ---------------------------------------------------------------------------------------

SQLI = ["' OR '1'='1", "1; DROP TABLE audit_log; --", "\" OR \"\"=\"", "%", "_", "\\",
        "') UNION SELECT password_hash FROM users -- ", "2026-01-01' OR 1=1 #"]


def test_sql_metacharacters_in_every_filter_are_harmless(dash, account, db):
    owner = account("owner")
    d = dash().login_ok(owner)
    d.post("/settings", {"cap_daily": "3"})
    total = db.scalar("SELECT COUNT(*) FROM audit_log")
    users = db.scalar("SELECT COUNT(*) FROM users")
    for p in SQLI:
        for field in ("action", "actor", "request_id"):
            r = d.get("/audit", params={field: p})
            assert r.status_code == 200, (field, p)
            assert 'id="audit"' not in r.text, (field, p)       # nothing matches
            assert "No audit entries match." in r.text
            r = d.get("/audit/export", params={field: p, "format": "json"})
            assert r.status_code == 200 and r.json()["data"] == [], (field, p)
        for field in ("from", "to"):
            r = d.get("/audit", params={field: p})
            assert r.status_code == 400 and "date" in flash(r.text), (field, p)
            r = d.get("/usage", params={field: p})
            assert r.status_code == 200 and "date" in flash(r.text), (field, p)
            assert d.get("/usage.csv", params={field: p}).status_code == 400
        r = d.get("/models", params={"provider": p})
        assert r.status_code == 200 and "Unknown provider filter" in flash(r.text)
        r = d.get("/models", params={"tier": p})
        assert r.status_code == 200 and "Unknown tier filter" in flash(r.text)
        r = d.get("/billing", params={"page": p})
        assert r.status_code == 200
    # the filters still work for real values, and the tables are intact
    assert db.scalar("SELECT COUNT(*) FROM users") == users
    assert db.scalar("SELECT COUNT(*) FROM audit_log") >= total
    r = d.get("/audit", params={"actor": owner.email.split("@")[0], "action": "org.setting.update"})
    assert r.text.count("org.setting.update</span>") == 1


def test_audit_filters_pagination_and_exports_agree(dash, account, db):
    owner = account("owner")
    d = dash().login_ok(owner)
    token = d.csrf()
    for i in range(55):
        assert d.post("/settings", {"cap_daily": str(i + 1)}, csrf=token).status_code == 303
    # a value a spreadsheet would evaluate: exported defused
    d.post("/members/invite", {"email": "=1+1@dash.test", "role": "viewer"})
    page1 = d.get("/audit", params={"action": "org.setting.update"})
    assert page1.text.count("org.setting.update</span>") == 50
    assert "1–50 of 55" in page1.text
    page2 = d.get("/audit", params={"action": "org.setting.update", "page": "2"})
    assert page2.text.count("org.setting.update</span>") == 5
    rid = db.scalar("SELECT request_id FROM audit_log WHERE org_id=%s AND action='org.setting.update' "
                    "ORDER BY id LIMIT 1", (owner.org_id,))
    one = d.get("/audit", params={"request_id": rid})
    assert one.text.count("org.setting.update</span>") == 1

    n = db.scalar("SELECT COUNT(*) FROM audit_log WHERE org_id=%s", (owner.org_id,))
    js = d.get("/audit/export", params={"format": "json"})
    assert js.status_code == 200 and "attachment" in js.headers["content-disposition"]
    rows = js.json()["data"]
    assert len(rows) == js.json()["total"] == n
    cs = d.get("/audit/export", params={"format": "csv"})
    assert cs.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(cs.text)))
    assert len(table) == n + 1                       # + the JSON export's own audit row
    assert table[0]["action"] == "audit.export"
    by_id = {str(r["id"]): r for r in rows}
    for t in table[1:]:
        j = by_id[t["id"]]
        assert t["action"] == j["action"] and t["request_id"] == (j["request_id"] or "")
        assert t["actor_label"] == j["actor_label"] and t["created_at"] == j["created_at"]
        if t["action"] == "org.setting.update":
            assert json.loads(t["detail"]) == j["detail"]
            assert j["detail"]["setting"] == "spend_cap_daily"
    invite = [t for t in table if t["action"] == "member.invite"][0]
    assert invite["target"] == "'=1+1@dash.test"
    assert db.scalar("SELECT COUNT(*) FROM audit_log WHERE org_id=%s AND action='audit.export'",
                     (owner.org_id,)) == 2


def test_settings_are_validated_stored_and_audited_with_before_and_after(dash, account, db):
    owner = account("owner")
    d = dash().login_ok(owner)
    r = d.post("/settings", {"cap_daily": "abc"})
    assert r.status_code == 422 and "Daily spend cap" in flash(r.text)
    r = d.post("/settings", {"cap_daily": "50", "cap_monthly": "10"})
    assert r.status_code == 422 and "monthly cap" in flash(r.text)
    r = d.post("/settings", {"never_from": "no-such-model"})
    assert r.status_code == 422
    assert settings_of(db, owner.org_id) == {}
    r = d.post("/settings", {"cap_daily": "12.5", "cap_monthly": "300", "pii_default": "on",
                             "swaps": "on", "never_from": "gpt-4o, claude-haiku-4-5",
                             "never_to": "deepseek-v4-flash", "auto_reload": "on",
                             "reload_threshold": "10", "reload_amount": "50"})
    assert r.status_code == 303 and r.headers["location"].endswith("done=saved")
    s = settings_of(db, owner.org_id)
    assert s["spend_cap_daily"] == str(12_500_000_000)
    assert s["spend_cap_monthly"] == str(300 * 10**9)
    assert s["pii_default"] == "on" and s["swaps_enabled"] == "on"
    assert json.loads(s["swap_never_from"]) == ["gpt-4o", "claude-haiku-4-5"]
    assert json.loads(s["swap_never_to"]) == ["deepseek-v4-flash"]
    assert s["auto_reload_enabled"] == "on" and s["auto_reload_amount_nano"] == str(50 * 10**9)
    rows = db.query("SELECT actor_type, actor_label, ip, request_id, detail FROM audit_log WHERE "
                    "org_id=%s AND action='org.setting.update'", (owner.org_id,))
    assert len(rows) == 9                       # one audited change per setting
    assert {r["request_id"] for r in rows} == {rows[0]["request_id"]}   # one save
    assert all(r["actor_label"] == owner.email and r["ip"] == "127.0.0.1" and
               r["actor_type"] == "user" for r in rows)
    assert re.fullmatch(r"cx-req-[0-9a-f]{24}", rows[0]["request_id"])
    ch = {d["setting"]: d for d in (json.loads(r["detail"]) for r in rows)}
    # caps are audited in credits, as conduixctl and the keys API show them
    assert ch["spend_cap_daily"] == {"setting": "spend_cap_daily", "before": None,
                                     "after": "12.500000000"}
    assert ch["pii_default"]["before"] is None and ch["pii_default"]["after"] == "on"
    assert ch["swap_never_from"]["after"] == ["gpt-4o", "claude-haiku-4-5"]
    # saving the same values again changes and audits nothing
    again = d.get("/settings").text
    form = {m.group(1): m.group(2) for m in re.finditer(r'name="([a-z_]+)"[^>]*value="([^"]*)"', again)}
    form.update({"pii_default": "on", "swaps": "on", "auto_reload": "on"})
    form.pop("csrf", None)
    r = d.post("/settings", form)
    assert r.headers["location"].endswith("done=unchanged")
    assert db.scalar("SELECT COUNT(*) FROM audit_log WHERE org_id=%s AND action='org.setting.update'",
                     (owner.org_id,)) == 9


# ---------------------------------------------------------------------------------------
# keys with the gateway, usage numbers
# ---------------------------------------------------------------------------------------

def test_key_minted_in_the_dashboard_works_is_audited_and_dies_when_revoked(dash, account, db, gw):
    owner = account("owner")
    d = dash().login_ok(owner)
    r = d.post("/keys/mint", {"name": "<b>edge</b> key", "mode": "live", "scopes": "inference",
                              "rate_limit": "600", "region": "US", "pii_mode": "redact",
                              "cap_daily": "5", "cap_monthly": "50",
                              "allowed_models": "gpt-4o-mini, tier:budget"})
    assert r.status_code == 200
    assert "&lt;b&gt;edge&lt;/b&gt; key" in r.text and "<b>edge</b>" not in r.text
    secret = re.search(r'id="new-secret" class="secret">([^<]+)<', r.text).group(1)
    row = db.query("SELECT * FROM api_keys WHERE org_id=%s", (owner.org_id,))[0]
    assert (row["rate_limit_rpm"], row["region"], row["pii_mode"]) == (600, "US", "redact")
    assert (row["spend_cap_daily_nano"], row["spend_cap_monthly_nano"]) == (5 * 10**9, 50 * 10**9)
    assert json.loads(row["allowed_models"]) == ["gpt-4o-mini", "tier:budget"]
    assert secret not in d.get("/keys").text
    assert gw.chat(secret).status_code == 200

    r = d.post("/keys/edit", {"id": row["id"], "name": "edge key", "scopes": "inference",
                              "rate_limit": "", "region": "", "pii_mode": "inherit", "cap_daily": "7"})
    assert r.status_code == 303
    after = db.query("SELECT * FROM api_keys WHERE id=%s", (row["id"],))[0]
    assert (after["name"], after["rate_limit_rpm"], after["region"]) == ("edge key", None, None)
    assert after["spend_cap_daily_nano"] == 7 * 10**9 and after["spend_cap_monthly_nano"] is None
    upd = {d["field"]: d for d in (json.loads(x["detail"]) for x in db.query(
        "SELECT detail FROM audit_log WHERE org_id=%s AND action='key.update'", (owner.org_id,)))}
    assert set(upd) == {"allowed_models", "rate_limit", "region", "pii_mode", "name",
                        "spend_cap_daily", "spend_cap_monthly"}
    assert upd["rate_limit"] == {"field": "rate_limit", "before": 600, "after": None}
    assert upd["allowed_models"]["before"] == ["gpt-4o-mini", "tier:budget"]
    assert upd["spend_cap_daily"]["after"] == "7.000000000"   # audited in credits
    assert d.post("/keys/revoke", {"id": row["id"]}).status_code == 303
    assert wait_for(lambda: gw.chat(secret).status_code == 401, 12, 0.5)
    actions = [x["action"] for x in db.query("SELECT action FROM audit_log WHERE org_id=%s ORDER BY id",
                                             (owner.org_id,))]
    assert actions == ["dashboard.login", "key.create"] + ["key.update"] * 7 + ["key.revoke"]
    assert d.post("/keys/edit", {"id": row["id"], "name": "zombie"}).status_code == 409


def test_usage_page_and_csv_match_the_calls_made(dash, account, db, gw, key_factory):
    owner = account("owner")
    key = key_factory(owner.org_id, name="usage key")
    for model in ("gpt-4o-mini", "gpt-4o-mini", "deepseek-v3"):
        assert gw.chat(key, model=model).status_code == 200
    rows = db.wait_usage_rows(key.id, 3)
    assert len(rows) == 3
    spend = sum(int(r["charged_nano"]) for r in rows)
    d = dash().login_ok(owner)
    page = d.get("/usage").text
    assert re.search(r'id="total-requests">3<', page)
    total = re.search(r'id="total-spend">([0-9.]+) <small>', page).group(1)
    assert Decimal(total) * NANO == spend
    assert "deepseek-chat" in page and "prov-deepseek" in page and "prov-openai" in page
    lines = list(csv.DictReader(io.StringIO(d.get("/usage.csv").text)))
    assert sum(int(x["requests"]) for x in lines) == 3
    assert sum(Decimal(x["spend_credits"]) for x in lines) * NANO == spend
    assert {x["model"] for x in lines} == {"gpt-4o-mini", "deepseek-chat"}
    assert sum(int(x["prompt_tokens"]) for x in lines) == sum(int(r["prompt_tokens"]) for r in rows)
    # an empty range is empty, a reversed one is swapped with a message
    assert re.search(r'id="total-requests">0<', d.get("/usage", params={"from": "2001-01-01",
                                                                        "to": "2001-01-31"}).text)
    r = d.get("/usage", params={"from": "2030-01-02", "to": "2030-01-01"})
    assert "swapped" in flash(r.text)


# ---------------------------------------------------------------------------------------
# BYO endpoints, invitations, operator pages, static files, headers
# ---------------------------------------------------------------------------------------

FORBIDDEN_BYO = ["http://127.0.0.1:8000/v1", "http://localhost/v1", "http://10.0.0.8/v1",
                 "http://172.16.1.1/v1", "http://192.168.0.10/v1", "http://169.254.169.254/latest",
                 "http://100.64.0.1/v1", "http://[::1]/v1", "http://[fe80::1]/v1", "http://[fd00::5]/v1",
                 "http://[::ffff:127.0.0.1]/v1", "http://0.0.0.0/v1", "http://2130706433/v1",
                 "http://0x7f.1/v1", "http://224.0.0.1/v1", "http://192.0.2.1/v1",
                 "ftp://93.184.216.34/v1", "http://user:pw@93.184.216.34/v1", "not a url"]


def test_byo_endpoints_refuse_private_addresses_and_never_show_credentials(dash, account, db):
    owner = account("owner")
    d = dash().login_ok(owner)
    for url in FORBIDDEN_BYO:
        r = d.post("/models/byo/add", {"slug": "x", "base_url": url, "region": "US", "models": "m"})
        assert r.status_code == 422, url
        assert "Base URL refused" in flash(r.text), url
    assert db.scalar("SELECT COUNT(*) FROM byo_endpoints WHERE org_id=%s", (owner.org_id,)) == 0
    r = d.post("/models/byo/add", {"slug": "vllm", "base_url": "https://93.184.216.34/v1",
                                   "region": "EU", "models": "llama-3.1-70b, qwen2.5",
                                   "credential": "sk-secret-byo-value"})
    assert r.status_code == 303
    r = d.post("/models/byo/add", {"slug": "open_one", "base_url": "https://8.8.8.8/v1/", "region": "US"})
    assert r.status_code == 303
    r = d.post("/models/byo/add", {"slug": "vllm", "base_url": "https://8.8.4.4/v1", "region": "US",
                                   "models": "m"})
    assert r.status_code == 409
    rows = {x["slug"]: x for x in db.query("SELECT * FROM byo_endpoints WHERE org_id=%s", (owner.org_id,))}
    # stored sealed (AES-256-GCM, never the secret itself), the URL without its trailing slash
    assert rows["vllm"]["credential"].startswith("v1:")
    assert "sk-secret-byo-value" not in rows["vllm"]["credential"]
    assert json.loads(rows["vllm"]["models"]) == ["llama-3.1-70b", "qwen2.5"]
    assert rows["open_one"]["credential"] is None and rows["open_one"]["models"] is None
    assert rows["open_one"]["base_url"] == "https://8.8.8.8/v1"
    page = d.get("/models").text
    assert "sk-secret-byo-value" not in page and "any model" in page
    audit = db.query("SELECT detail FROM audit_log WHERE org_id=%s AND action='byo.add' ORDER BY id",
                     (owner.org_id,))
    assert len(audit) == 2 and all("sk-secret" not in a["detail"] for a in audit)
    assert json.loads(audit[0]["detail"])["credential"] is True
    assert json.loads(audit[1]["detail"])["credential"] is False
    r = d.post("/models/byo/remove", {"slug": "vllm"})
    assert r.status_code == 303
    assert db.scalar("SELECT COUNT(*) FROM byo_endpoints WHERE org_id=%s", (owner.org_id,)) == 1
    other = dash().login_ok(account("owner"))
    assert other.post("/models/byo/remove", {"slug": "open_one"}).status_code == 404
    assert db.scalar("SELECT COUNT(*) FROM byo_endpoints WHERE org_id=%s", (owner.org_id,)) == 1


def test_operator_allowed_networks_admit_a_private_byo_endpoint(dash, account, db):
    owner = account("owner")
    d = dash().login_ok(owner)
    form = {"slug": "lab", "base_url": "http://10.20.30.40:8000/v1", "region": "US"}
    assert d.post("/models/byo/add", form).status_code == 422
    db.execute("REPLACE INTO settings (org_id, name, value) VALUES (0, 'byo_allow_networks', '10.20.0.0/16')")
    try:
        assert d.post("/models/byo/add", form).status_code == 303
        assert d.post("/models/byo/add", dict(form, slug="lab2", base_url="http://10.21.0.1/v1")
                      ).status_code == 422
    finally:
        db.execute("DELETE FROM settings WHERE org_id=0 AND name='byo_allow_networks'")


@pytest.fixture(scope="module")
def byo_gw(httpd, stack):
    """A gateway (and dashboard) whose operator allows BYO endpoints on 127.0.0.1, where
    the simulator listens: ConduixByoAllowNetworks for the gateway, the platform setting
    byo_allow_networks for the dashboard."""
    h = Httpd(stack.root / ("httpd-dash-byo-" + httpd.mpm), httpd.mpm, stack.mariadb.dsn, stack.sim)
    (h.dir / "conf.d").mkdir(parents=True, exist_ok=True)
    (h.dir / "conf.d" / "byo.conf").write_text("ConduixByoAllowNetworks 127.0.0.1\n")
    h.start()
    stack.db.execute("REPLACE INTO settings (org_id, name, value) VALUES (0, 'byo_allow_networks', "
                     "'127.0.0.1/32')")
    try:
        yield Gateway(h)
    finally:
        stack.db.execute("DELETE FROM settings WHERE org_id=0 AND name='byo_allow_networks'")
        offset = h.log_offset()
        h.stop()
        assert not h.bad_log_lines(offset)


def test_byo_endpoint_added_in_the_dashboard_serves_requests(byo_gw, account, db, sim, key_factory):
    owner = account("owner")
    d = Dashboard(byo_gw.base_url).login_ok(owner)
    secret = "byo-dash-secret-%d" % time.time_ns()
    r = d.post("/models/byo/add", {"slug": "lab", "base_url": sim.url("openai"), "region": "US",
                                   "models": "llama-3.1-8b", "credential": secret})
    assert r.status_code == 303, flash(r.text)
    key = key_factory(owner.org_id)
    r = byo_gw.chat(key, model="byo:lab/llama-3.1-8b", content="from the dashboard")
    assert r.status_code == 200, r.text[:300]
    assert r.headers["x-conduix-provider"] == "byo:lab"
    up = sim.last("openai")
    assert up["body"]["model"] == "llama-3.1-8b"
    assert up["headers"]["authorization"] == "Bearer " + secret
    assert secret not in d.get("/models").text
    assert d.post("/models/byo/remove", {"slug": "lab"}).status_code == 303
    r = byo_gw.chat(key, model="byo:lab/llama-3.1-8b")
    assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"


def test_invitation_link_works_once_and_sets_the_password(dash, account, db):
    owner = account("owner")
    d = dash().login_ok(owner)
    email = "invitee-%d@dash.test" % time.time_ns()
    r = d.post("/members/invite", {"email": email, "role": "viewer"})
    assert r.status_code == 200
    link = re.search(r'id="invite-link" class="secret">([^<]+)<', r.text).group(1)
    token = urllib.parse.parse_qs(urllib.parse.urlparse(link).query)["token"][0]
    assert bytes(db.scalar("SELECT token_hash FROM invites WHERE email=%s", (email,))) == \
        hashlib.sha256(token.encode()).digest()
    assert link not in d.get("/members").text          # shown once
    new = dash()
    page = new.get("/accept", params={"token": token})
    assert page.status_code == 200 and email in page.text
    tok = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text).group(1)
    r = new.s.post(new.base + "/accept", data={"token": token, "password": "short", "password2": "short",
                                               "csrf": tok}, allow_redirects=False)
    assert r.status_code == 422
    r = new.s.post(new.base + "/accept", data={"token": token, "password": "long enough pass",
                                               "password2": "long enough pass", "csrf": tok},
                   allow_redirects=False)
    assert r.status_code == 303 and "joined" in r.headers["location"]
    assert new.get("/accept", params={"token": token}).status_code == 404
    user = db.query("SELECT org_id, role FROM users WHERE email=%s", (email,))
    assert user == [{"org_id": owner.org_id, "role": "viewer"}]
    assert new.login(email, "long enough pass").status_code == 303
    assert dash().get("/accept", params={"token": "x" * 43}).status_code == 404


def test_operator_grants_credits_and_sets_provider_budgets(dash, account, db):
    op = account("owner", operator=True)
    plain = account("owner")
    d = dash().login_ok(op)
    before = db.balance_nano(plain.org_id)
    r = d.post("/billing/grant", {"org_id": plain.org_id, "amount": "12.5", "note": "goodwill"})
    assert r.status_code == 303
    assert db.balance_nano(plain.org_id) == before + 12_500_000_000
    led = db.ledger_rows(plain.org_id)[-1]
    assert led["kind"] == "grant" and led["note"] == "goodwill" and op.email in led["actor"]
    g = db.query("SELECT actor_type, actor_label, detail FROM audit_log WHERE org_id=%s AND "
                 "action='credits.grant'", (plain.org_id,))
    assert g[0]["actor_type"] == "operator" and json.loads(g[0]["detail"])["amount"] == "12.50"
    assert d.post("/billing/grant", {"amount": "-5"}).status_code == 200   # refused with a message
    assert db.balance_nano(op.org_id) == 100 * 10**9
    pd = dash().login_ok(plain)
    assert pd.post("/billing/grant", {"amount": "5"}).status_code == 403
    assert pd.get("/providers").status_code == 403

    old = db.query("SELECT monthly_budget_nano, hard_cap FROM providers WHERE name='xai'")[0]
    try:
        r = d.post("/providers/update", {"provider": "xai", "budget": "1500", "hard_cap": "on"})
        assert r.status_code == 303
        p = db.query("SELECT monthly_budget_nano, hard_cap FROM providers WHERE name='xai'")[0]
        assert (p["monthly_budget_nano"], p["hard_cap"]) == (1500 * 10**9, 1)
        detail = json.loads(db.scalar("SELECT detail FROM audit_log WHERE org_id=%s AND "
                                      "action='provider.update'", (op.org_id,)))
        assert detail["budget"]["after"] == "1500.00" and detail["hard_cap"] == {"before": bool(
            old["hard_cap"]), "after": True}
        r = d.post("/providers/update", {"provider": "xai", "budget": "0", "hard_cap": "on"})
        assert "Budget" in flash(r.text)
        r = d.post("/providers/update", {"provider": "xai", "budget": "", "hard_cap": "on"})
        assert "hard cap needs a monthly budget" in flash(r.text)
        assert db.query("SELECT monthly_budget_nano FROM providers WHERE name='xai'")[0][
            "monthly_budget_nano"] == 1500 * 10**9
        page = d.get("/providers").text
        assert 'id="provider-xai"' in page and "% of 1500.00" in page
        assert re.search(r'<tr id="provider-xai">.*?<td class="breaker" data-state="[a-z-]+">', page, re.S)
        assert d.post("/providers/update", {"provider": "nope'--"}).status_code == 404
    finally:
        db.execute("UPDATE providers SET monthly_budget_nano=%s, hard_cap=%s WHERE name='xai'",
                   (old["monthly_budget_nano"], old["hard_cap"]))


def test_operator_manages_budget_alert_webhooks_and_sees_the_gateways_spend(dash, account, db, gw,
                                                                          key_factory):
    op = account("owner", operator=True)
    d = dash().login_ok(op)
    key = key_factory(op.org_id)
    assert gw.chat(key, model="gpt-4o-mini").status_code == 200
    db.wait_usage_rows(key.id, 1)
    # this request cost the provider its list price (tokens at the deployment's price,
    # rounded half up to a nanocredit) ...
    mine = db.query("SELECT u.provider_cost_nano AS got, (CAST(u.prompt_tokens AS DECIMAL(40,0)) * "
                    "d.input_price_nano + CAST(u.completion_tokens AS DECIMAL(40,0)) * d.output_price_nano"
                    " + 500000) DIV 1000000 AS list FROM usage_events u JOIN model_deployments d"
                    " ON d.model_id = u.served_model AND d.provider = u.provider WHERE u.key_id = %s",
                    (key.id,))
    assert len(mine) == 1 and mine[0]["got"] == mine[0]["list"] > 0, mine
    # ... and the page shows the month's spend the gateway rebuilds its counter from
    # (lib/cx_budget.c: the requests' provider costs, this UTC month)
    want = db.scalar(
        "SELECT CAST(COALESCE(SUM(provider_cost_nano), 0) AS CHAR) FROM usage_events"
        " WHERE provider = 'openai'"
        # (no query arguments: pymysql leaves '%' alone). Other tests record usage in
        # other months; the page counts this UTC month only.
        " AND created_at >= DATE_FORMAT(UTC_TIMESTAMP(), '%Y-%m-01')"
        " AND created_at < DATE_FORMAT(UTC_TIMESTAMP() + INTERVAL 1 MONTH, '%Y-%m-01')")
    page = d.get("/providers").text
    row = re.search(r'<tr id="provider-openai">(.*?)</tr>', page, re.S).group(1)
    spend = re.findall(r'<td class="num">([0-9.]+)</td>', row)[1]
    assert Decimal(spend) * NANO == Decimal(want) and Decimal(want) > 0
    ids = []
    try:
        for fmt, url in (("slack", "https://hooks.example.com/a"), ("teams", "https://t.example.com/b")):
            assert d.post("/providers/webhooks/add", {"format": fmt, "url": url}).status_code == 303
        rows = db.query("SELECT id, format, url, enabled FROM budget_alert_webhooks ORDER BY id")
        ids = [r["id"] for r in rows]
        assert [(r["format"], r["url"], r["enabled"]) for r in rows[-2:]] == [
            ("slack", "https://hooks.example.com/a", 1), ("teams", "https://t.example.com/b", 1)]
        for bad in ("ftp://x.example.com/", "https://user:pw@x.example.com/", "not a url"):
            r = d.post("/providers/webhooks/add", {"format": "slack", "url": bad})
            assert "Webhook refused" in flash(r.text), bad
        assert d.post("/providers/webhooks/add", {"format": "email", "url": "https://x.example.com"}
                      ).status_code == 200
        assert db.scalar("SELECT COUNT(*) FROM budget_alert_webhooks") == len(ids)
        assert d.post("/providers/webhooks/remove", {"id": ids[-1]}).status_code == 303
        assert db.scalar("SELECT COUNT(*) FROM budget_alert_webhooks WHERE id=%s", (ids[-1],)) == 0
        acts = [x["action"] for x in db.query("SELECT action FROM audit_log WHERE org_id=%s AND "
                                              "actor_type='operator' AND action LIKE 'alert_webhook.%%' ORDER BY id",
                                              (op.org_id,))]
        assert acts == ["alert_webhook.add", "alert_webhook.add", "alert_webhook.remove"]
        plain = dash().login_ok(account("admin"))
        assert plain.post("/providers/webhooks/add", {"format": "slack",
                                                      "url": "https://x.example.com"}).status_code == 403
    finally:
        for i in ids:
            db.execute("DELETE FROM budget_alert_webhooks WHERE id=%s", (i,))


def test_static_assets_and_security_headers(dash, account):
    d = dash()
    css = d.get("/static/conduix.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert d.get("/static/conduix.js").status_code == 200
    d.login_ok(account("viewer"))
    r = d.get("/usage")
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert r.headers["x-frame-options"] == "DENY" and r.headers["cache-control"] == "no-store"
    assert re.fullmatch(r"cx-req-[0-9a-f]{24}", r.headers["x-conduix-request-id"])
    assert d.get("/no/such/page").status_code == 404
    r = d.s.put(d.base + "/usage", data="x", allow_redirects=False)
    assert r.status_code in (405, 415)


def test_a_daily_cap_saved_in_the_dashboard_is_enforced_by_the_gateway(dash, account, db, gw, sim,
                                                                      key_factory):
    owner = account("owner")
    d = dash().login_ok(owner)
    key = key_factory(owner.org_id)
    first = gw.chat(key, model="gpt-4o-mini")
    assert first.status_code == 200
    db.wait_usage_rows(key.id, 1)
    # A cap below what the org already spent today: the next request must be refused
    # before it reaches a provider (the gateway caches org settings for at most 5 s).
    assert d.post("/settings", {"cap_daily": "0.000000001"}).status_code == 303
    sim.reset()

    def refused():
        r = gw.chat(key, model="gpt-4o-mini")
        return r if r.status_code == 402 else None
    r = wait_for(refused, timeout=8, interval=0.5)
    assert r is not None, "the dashboard's daily cap was not enforced"
    assert r.json()["error"]["code"] == "spend_cap_exceeded"
    calls = sim.count("openai")
    assert gw.chat(key, model="gpt-4o-mini").status_code == 402
    assert sim.count("openai") == calls, "a capped request reached the provider"
