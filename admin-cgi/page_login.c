/* conduix-admin: sign in, sign out, and accepting an invitation.
 *
 * Throttling: before a password is even checked, recent failures are counted per
 * account (since its last success) and per client address over a window; past either
 * limit the attempt is refused with 429 without verifying anything. Limits and window
 * are platform settings (org 0, see sql/050_dashboard.sql). An unknown email costs the
 * same yescrypt verification as a known one, and both get the same message. */
#include "admin.h"
#include "cx_json.h"
#include "cx_keys.h"
#include "cx_log.h"
#include "cx_password.h"

#include <apr_strings.h>
#include <ctype.h>
#include <string.h>

/* A yescrypt hash of a throwaway string: verified against when the email is unknown so
 * that response time does not reveal which accounts exist. */
static const char timing_hash[] = "$y$j9T$lC.QkLjE9Jbge3WMhUrzu1$TtIAxtmO2Fea687KQ10ormhQQ.4E8wfY.Yvf1Nap2s1";

#define MIN_PASSWORD 12
#define MAX_PASSWORD 1024

static const char *lower(apr_pool_t *p, const char *s)
{
    char *out = apr_pstrdup(p, s);
    for (char *c = out; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    return out;
}

static int render_login(cxa_t *c, int status, const char *error, const char *email)
{
    if (error)
        cxa_flash(c, "error", error);
    cxa_set(c, "Login.Email", email);
    return cxa_render(c, status, "login.cs", "Sign in");
}

int cxa_page_login(cxa_t *c)
{
    if (cxa_session_load(c) == 0 && c->authenticated)
        return cxa_redirect(c, "/usage");
    const char *msg = cxa_param(c, "msg");
    if (msg && !strcmp(msg, "signed-out"))
        cxa_flash(c, "ok", "You are signed out.");
    else if (msg && !strcmp(msg, "joined"))
        cxa_flash(c, "ok", "Your account is ready. Sign in with your new password.");
    return render_login(c, 200, NULL, NULL);
}

int cxa_page_login_post(cxa_t *c)
{
    const char *email_in = cxa_param(c, "email");
    const char *password = cxa_param_raw(c, "password");
    if (!email_in || !password || strlen(email_in) > 320 || strlen(password) > MAX_PASSWORD)
        return render_login(c, 400, "Enter your email address and password.", email_in);
    const char *email = lower(c->pool, email_in);

    long window = cx_admin_platform_long(c->db, c->pool, "dashboard_login_window_seconds", 900);
    long max_account = cx_admin_platform_long(c->db, c->pool, "dashboard_login_max_failures_account", 5);
    long max_ip = cx_admin_platform_long(c->db, c->pool, "dashboard_login_max_failures_ip", 30);
    uint64_t by_account = 0, by_ip = 0;
    if (cx_admin_login_failures(c->db, email, c->ip, window, &by_account, &by_ip))
        return -1;
    if ((long)by_account >= max_account || (long)by_ip >= max_ip) {
        cx_log(CX_LOG_WARN, c->request_id, "CXA0301", "sign-in throttled for %s from %s "
               "(%llu account / %llu address failures)", email, c->ip,
               (unsigned long long)by_account, (unsigned long long)by_ip);
        cxa_header(c, apr_psprintf(c->pool, "Retry-After: %ld", window));
        return render_login(c, 429, apr_psprintf(c->pool, "Too many failed sign-in attempts. "
                                                 "Try again in %ld minutes.", (window + 59) / 60),
                            email_in);
    }

    cx_admin_user_t user;
    int found = cx_admin_user_by_email(c->db, c->pool, email, &user);
    if (found < 0)
        return -1;
    int ok = 0;
    if (found == 1 && !user.disabled && user.password_hash && user.role != CX_ROLE_NONE)
        ok = cx_password_verify(password, user.password_hash);
    else
        (void)cx_password_verify(password, timing_hash);
    if (cx_admin_login_record(c->db, email, c->ip, ok))
        return -1;
    if (!ok)
        return render_login(c, 401, "The email address or password is incorrect.", email_in);

    if (cxa_session_start(c, &user))
        return -1;
    c->user = user;
    c->authenticated = 1;
    cxa_audit(c, "dashboard.login", user.email,
              apr_psprintf(c->pool, "{\"user_agent\":%s}", cx_json_quote(c->pool, c->user_agent)));
    return cxa_redirect(c, "/usage");
}

int cxa_page_logout(cxa_t *c)
{
    cxa_audit(c, "dashboard.logout", c->user.email, NULL);
    cxa_session_end(c);
    return cxa_redirect(c, "/login?msg=signed-out");
}

/* ------------------------------------------------------------------ invitations */

static int find_invite(cxa_t *c, const char *token, cx_admin_invite_t *inv)
{
    if (!token || strlen(token) != 43)
        return 0;
    unsigned char hash[CX_SHA256_LEN];
    cxa_token_hash(token, hash);
    return cx_admin_invite_lookup(c->db, c->pool, hash, inv);
}

static int render_accept(cxa_t *c, int status, const cx_admin_invite_t *inv, const char *token,
                         const char *error)
{
    if (error)
        cxa_flash(c, "error", error);
    cxa_set(c, "Invite.Email", inv->email);
    cxa_set(c, "Invite.OrgName", inv->org_name);
    cxa_set(c, "Invite.Role", cx_role_name(inv->role));
    cxa_set(c, "Invite.Token", token);
    cxa_set_int(c, "Invite.MinPassword", MIN_PASSWORD);
    return cxa_render(c, status, "accept.cs", "Accept invitation");
}

int cxa_page_accept(cxa_t *c)
{
    const char *token = cxa_param(c, "token");
    cx_admin_invite_t inv;
    int rv = find_invite(c, token, &inv);
    if (rv < 0)
        return -1;
    if (rv == 0)
        return cxa_fail(c, 404, "This invitation link is invalid, has been used, was revoked or "
                                "has expired. Ask an admin of your organization for a new one.");
    return render_accept(c, 200, &inv, token, NULL);
}

int cxa_page_accept_post(cxa_t *c)
{
    const char *token = cxa_param(c, "token");
    const char *pw = cxa_param_raw(c, "password"), *pw2 = cxa_param_raw(c, "password2");
    cx_admin_invite_t inv;
    int rv = find_invite(c, token, &inv);
    if (rv < 0)
        return -1;
    if (rv == 0)
        return cxa_fail(c, 404, "This invitation link is invalid, has been used, was revoked or "
                                "has expired.");
    if (!pw || strlen(pw) < MIN_PASSWORD || strlen(pw) > MAX_PASSWORD)
        return render_accept(c, 422, &inv, token,
                             apr_psprintf(c->pool, "Choose a password of at least %d characters.",
                                          MIN_PASSWORD));
    if (!pw2 || strcmp(pw, pw2))
        return render_accept(c, 422, &inv, token, "The two passwords differ.");
    const char *hash = cx_password_hash(c->pool, pw);
    if (!hash)
        return -1;
    uint64_t user_id = 0;
    const char *err;
    rv = cx_admin_invite_accept(c->db, c->pool, &inv, hash, &user_id, &err);
    if (rv < 0)
        return -1;
    if (rv == 1)
        return cxa_fail(c, 409, err);
    cx_store_audit(c->db, inv.org_id, "user", user_id, inv.email, c->ip, c->request_id,
                   "member.join", inv.email,
                   apr_psprintf(c->pool, "{\"role\":\"%s\",\"invite_id\":%" APR_UINT64_T_FMT "}",
                                cx_role_name(inv.role), (apr_uint64_t)inv.id));
    return cxa_redirect(c, "/login?msg=joined");
}
