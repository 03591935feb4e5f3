<?cs # Members: invite (link shown once), roles, removal, pending invitations. ?>
<div class="page-head">
  <div>
    <h1>Members</h1>
    <p class="muted">Owners and admins manage members. Viewers can see everything but change nothing.</p>
  </div>
</div>
<?cs if:NewInvite.Link ?>
<section class="card secret-card" id="new-invite">
  <h2>Invitation for <?cs var:NewInvite.Email ?></h2>
  <p>Send this one-time link to the new <?cs var:NewInvite.Role ?>. It is shown only now and expires in <?cs var:NewInvite.Days ?> days.</p>
  <div class="secret-row"><code id="invite-link" class="secret"><?cs var:NewInvite.Link ?></code><button type="button" class="btn btn-secondary btn-sm" data-copy="invite-link">Copy</button></div>
</section>
<?cs /if ?>
<?cs if:User.CanEdit == "1" ?>
<section class="card">
  <div class="card-head"><h2>Invite a member</h2></div>
  <form method="post" action="<?cs var:Base ?>/members/invite" class="grid-form" id="invite-form">
    <?cs call:csrf() ?>
    <label class="wide">Email address<input name="email" value="<?cs var:Form.email ?>" required maxlength="320" placeholder="name@company.com"></label>
    <label>Role<select name="role">
      <option value="viewer"<?cs if:Form.role == "viewer" ?> selected<?cs /if ?>>viewer</option>
      <option value="member"<?cs if:Form.role == "member" || !Form.role ?> selected<?cs /if ?>>member</option>
      <option value="admin"<?cs if:Form.role == "admin" ?> selected<?cs /if ?>>admin</option>
      <?cs if:User.IsOwner == "1" ?><option value="owner"<?cs if:Form.role == "owner" ?> selected<?cs /if ?>>owner</option><?cs /if ?>
    </select></label>
    <div class="form-actions"><button type="submit" class="btn btn-primary">Create invitation</button></div>
  </form>
</section>
<?cs /if ?>
<section class="card flush">
  <table class="table" id="members">
    <thead><tr><th>Member</th><th>Role</th><th>Since</th><th>Status</th><?cs if:User.CanEdit == "1" ?><th>Manage</th><?cs /if ?></tr></thead>
    <tbody>
    <?cs each:m = Members ?><tr<?cs if:m.disabled_at ?> class="revoked"<?cs /if ?>>
      <td><span class="member-email"><?cs var:m.email ?></span><?cs if:m.self == "1" ?> <span class="badge you">you</span><?cs /if ?><?cs if:m.is_operator == "1" ?> <span class="badge operator">operator</span><?cs /if ?></td>
      <td><?cs call:role_badge(m.role) ?></td>
      <td class="muted"><?cs var:m.created_at ?></td>
      <td><?cs if:m.disabled_at ?><span class="badge revoked">removed <?cs var:m.disabled_at ?></span><?cs else ?><span class="badge yes">active</span><?cs /if ?></td>
      <?cs if:User.CanEdit == "1" ?><td class="actions"><?cs if:m.manageable == "1" ?>
        <form method="post" action="<?cs var:Base ?>/members/role" class="inline role-form"><?cs call:csrf() ?><input type="hidden" name="user_id" value="<?cs var:m.id ?>">
          <select name="role" aria-label="Role"><option<?cs if:m.role == "viewer" ?> selected<?cs /if ?>>viewer</option><option<?cs if:m.role == "member" ?> selected<?cs /if ?>>member</option><option<?cs if:m.role == "admin" ?> selected<?cs /if ?>>admin</option><?cs if:User.IsOwner == "1" ?><option<?cs if:m.role == "owner" ?> selected<?cs /if ?>>owner</option><?cs /if ?></select>
          <button type="submit" class="btn btn-ghost btn-sm">Change</button></form>
        <form method="post" action="<?cs var:Base ?>/members/remove" class="inline" data-confirm="Remove this member? Their sessions end now."><?cs call:csrf() ?><input type="hidden" name="user_id" value="<?cs var:m.id ?>"><button type="submit" class="btn btn-danger btn-sm">Remove</button></form>
      <?cs /if ?></td><?cs /if ?>
    </tr>
    <?cs /each ?></tbody>
  </table>
</section>
<section class="card flush">
  <div class="card-head padded"><h2>Pending invitations</h2></div>
  <?cs if:subcount(Invites) == #0 ?><p class="empty">No pending invitations.</p><?cs else ?>
  <table class="table" id="invites">
    <thead><tr><th>Email</th><th>Role</th><th>Invited</th><th>Expires</th><th>By</th><?cs if:User.CanEdit == "1" ?><th></th><?cs /if ?></tr></thead>
    <tbody>
    <?cs each:i = Invites ?><tr>
      <td class="invite-email"><?cs var:i.email ?></td><td><?cs call:role_badge(i.role) ?></td><td class="muted"><?cs var:i.created_at ?></td><td class="muted"><?cs var:i.expires_at ?></td><td class="muted"><?cs var:i.invited_by ?></td>
      <?cs if:User.CanEdit == "1" ?><td class="actions"><form method="post" action="<?cs var:Base ?>/members/invite/revoke" class="inline"><?cs call:csrf() ?><input type="hidden" name="invite_id" value="<?cs var:i.id ?>"><button type="submit" class="btn btn-ghost btn-sm">Revoke</button></form></td><?cs /if ?>
    </tr>
    <?cs /each ?></tbody>
  </table>
  <?cs /if ?>
</section>
