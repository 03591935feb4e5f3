/* conduix-admin: members — list, invite (a one-time link shown once to the inviter;
 * only its SHA-256 is stored), change role, remove (disables the account and ends its
 * sessions), revoke a pending invitation. Rules: nobody changes or removes themselves
 * here; only owners grant or take away the owner role; an organization always keeps
 * at least one owner. Every change is audited. */
#include "admin.h"
#include "cx_json.h"
#include "cx_keys.h"

#include <apr_strings.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static int load(cxa_t *c)
{
    cx_table_t members, invites;
    if (cx_admin_members(c->db, c->pool, c->user.org_id, &members) ||
        cx_admin_invites_pending(c->db, c->pool, c->user.org_id, &invites))
        return -1;
    cxa_set_table(c, "Members", &members);
    for (int i = 0; i < members.rows->nelts; i++) {
        const char *id = cx_table_get(&members, i, "id");
        cx_role_t role = cx_role_parse(cx_table_get(&members, i, "role"));
        int self = id && strtoull(id, NULL, 10) == c->user.id;
        int manageable = !self && !cx_table_get(&members, i, "disabled_at") &&
                         c->user.role >= CX_ROLE_ADMIN &&
                         (role != CX_ROLE_OWNER || c->user.role == CX_ROLE_OWNER);
        cxa_set_int(c, apr_psprintf(c->pool, "Members.%d.self", i), self);
        cxa_set_int(c, apr_psprintf(c->pool, "Members.%d.manageable", i), manageable);
    }
    cxa_set_table(c, "Invites", &invites);
    return 0;
}

static int render(cxa_t *c, int status)
{
    if (load(c))
        return -1;
    return cxa_render(c, status, "members.cs", "Members");
}

int cxa_page_members(cxa_t *c)
{
    static const struct { const char *code, *text; } msgs[] = {
        {"role", "Role changed."},
        {"removed", "Member removed; their sessions have ended."},
        {"revoked", "Invitation revoked; its link no longer works."},
    };
    const char *done = cxa_param(c, "done");
    for (size_t i = 0; done && i < sizeof msgs / sizeof msgs[0]; i++)
        if (!strcmp(done, msgs[i].code))
            cxa_flash(c, "ok", msgs[i].text);
    return render(c, 200);
}

static int email_ok(const char *e)
{
    size_t n = strlen(e);
    const char *at = strchr(e, '@');
    if (n < 3 || n > 320 || !at || at == e || !at[1] || strchr(at + 1, '@'))
        return 0;
    for (const unsigned char *p = (const unsigned char *)e; *p; p++)
        if (*p <= 0x20 || *p == 0x7F || *p == ',' || *p == ';')
            return 0;
    return 1;
}

/* The dashboard's own origin, for the invitation link. */
static const char *origin(cxa_t *c)
{
    const char *host = getenv("HTTP_HOST");
    int ok = host && *host && strlen(host) < 256;
    for (const char *h = host; ok && *h; h++)
        ok = isalnum((unsigned char)*h) || strchr(".-:[]", *h);
    if (!ok)
        host = apr_psprintf(c->pool, "%s:%s", getenv("SERVER_NAME") ? getenv("SERVER_NAME") : "localhost",
                            getenv("SERVER_PORT") ? getenv("SERVER_PORT") : "80");
    return apr_psprintf(c->pool, "%s://%s", c->https ? "https" : "http", host);
}

int cxa_page_member_invite(cxa_t *c)
{
    const char *email_in = cxa_param(c, "email");
    cx_role_t role = cx_role_parse(cxa_param(c, "role"));
    cxa_set(c, "Form.email", email_in);
    cxa_set(c, "Form.role", cxa_param(c, "role"));
    if (!email_in || !email_ok(email_in)) {
        cxa_flash(c, "error", "Enter a valid email address.");
        return render(c, 422);
    }
    if (role == CX_ROLE_NONE) {
        cxa_flash(c, "error", "Choose a role.");
        return render(c, 422);
    }
    if (role == CX_ROLE_OWNER && c->user.role != CX_ROLE_OWNER) {
        cxa_flash(c, "error", "Only owners can invite owners.");
        return render(c, 403);
    }
    char *email = apr_pstrdup(c->pool, email_in);
    for (char *p = email; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    cx_admin_user_t existing;
    int rv = cx_admin_user_by_email(c->db, c->pool, email, &existing);
    if (rv < 0)
        return -1;
    if (rv == 1) {
        cxa_flash(c, "error", "An account with this email address exists already.");
        return render(c, 409);
    }
    const char *token = cxa_random_token(c->pool);
    if (!token)
        return -1;
    unsigned char hash[CX_SHA256_LEN];
    cxa_token_hash(token, hash);
    long ttl = cx_admin_platform_long(c->db, c->pool, "dashboard_invite_ttl_seconds", 604800);
    uint64_t invite_id = 0;
    if (cx_db_begin(c->db))
        return -1;
    if (cx_admin_invite_create(c->db, c->user.org_id, email, role, hash, c->user.id, ttl, &invite_id) ||
        cxa_audit(c, "member.invite", email,
                  apr_psprintf(c->pool, "{\"role\":\"%s\",\"invite_id\":%" APR_UINT64_T_FMT "}", cx_role_name(role),
                               (apr_uint64_t)invite_id)) ||
        cx_db_commit(c->db)) {
        cx_db_rollback(c->db);
        return -1;
    }
    cxa_set(c, "NewInvite.Email", email);
    cxa_set(c, "NewInvite.Role", cx_role_name(role));
    cxa_set(c, "NewInvite.Link", apr_pstrcat(c->pool, origin(c), c->base, "/accept?token=", token, NULL));
    cxa_setf(c, "NewInvite.Days", "%ld", (ttl + 86399) / 86400);
    cxa_set(c, "Form.email", NULL);
    cxa_flash(c, "ok", "Invitation created. Send the link below to the new member: it is shown only once.");
    return render(c, 200);
}

/* The target member of a role change or removal, after the rules above. Renders the
 * refusal itself and returns 1; 0 when allowed; -1 on database error. */
static int check_target(cxa_t *c, uint64_t user_id, cx_admin_user_t *target, cx_role_t new_role)
{
    int rv = user_id ? cx_admin_user_by_id(c->db, c->pool, user_id, target) : 0;
    if (rv < 0)
        return -1;
    if (rv == 0 || target->org_id != c->user.org_id || target->disabled) {
        cxa_fail(c, 404, "There is no such member in your organization.");
        return 1;
    }
    if (target->id == c->user.id) {
        cxa_fail(c, 403, "You cannot change or remove your own membership.");
        return 1;
    }
    if ((target->role == CX_ROLE_OWNER || new_role == CX_ROLE_OWNER) && c->user.role != CX_ROLE_OWNER) {
        cxa_fail(c, 403, "Only owners can grant or take away the owner role.");
        return 1;
    }
    if (target->role == CX_ROLE_OWNER && new_role != CX_ROLE_OWNER) {
        uint64_t owners = 0;
        if (cx_admin_count_owners(c->db, c->user.org_id, &owners))
            return -1;
        if (owners <= 1) {
            cxa_fail(c, 409, "An organization needs at least one owner.");
            return 1;
        }
    }
    return 0;
}

int cxa_page_member_role(cxa_t *c)
{
    uint64_t user_id = cxa_param_id(c, "user_id");
    cx_role_t role = cx_role_parse(cxa_param(c, "role"));
    if (role == CX_ROLE_NONE)
        return cxa_fail(c, 422, "Choose a role: owner, admin, member or viewer.");
    cx_admin_user_t target;
    int rv = check_target(c, user_id, &target, role);
    if (rv)
        return rv > 0 ? 0 : -1;
    if (target.role == role)
        return cxa_redirect(c, "/members?done=role");
    if (cx_db_begin(c->db))
        return -1;
    if (cx_admin_set_role(c->db, c->user.org_id, user_id, role) != 1 ||
        cxa_audit(c, "member.role", target.email,
                  apr_psprintf(c->pool, "{\"before\":\"%s\",\"after\":\"%s\"}",
                               cx_role_name(target.role), cx_role_name(role))) ||
        cx_db_commit(c->db)) {
        cx_db_rollback(c->db);
        return -1;
    }
    return cxa_redirect(c, "/members?done=role");
}

int cxa_page_member_remove(cxa_t *c)
{
    uint64_t user_id = cxa_param_id(c, "user_id");
    cx_admin_user_t target;
    int rv = check_target(c, user_id, &target, CX_ROLE_NONE);
    if (rv)
        return rv > 0 ? 0 : -1;
    if (cx_admin_disable_member(c->db, c->user.org_id, user_id) != 1)
        return -1;
    cxa_audit(c, "member.remove", target.email,
              apr_psprintf(c->pool, "{\"role\":\"%s\"}", cx_role_name(target.role)));
    return cxa_redirect(c, "/members?done=removed");
}

int cxa_page_invite_revoke(cxa_t *c)
{
    uint64_t id = cxa_param_id(c, "invite_id");
    int rv = id ? cx_admin_invite_revoke(c->db, c->user.org_id, id) : 0;
    if (rv < 0)
        return -1;
    if (rv == 0)
        return cxa_fail(c, 404, "There is no such pending invitation.");
    cxa_audit(c, "member.invite_revoke", apr_psprintf(c->pool, "invite:%" APR_UINT64_T_FMT, (apr_uint64_t)id), NULL);
    return cxa_redirect(c, "/members?done=revoked");
}
