<?cs # Accept an invitation: choose a password (public; the token authorizes). ?>
<section class="card auth-card">
  <h1>Join <?cs var:Invite.OrgName ?></h1>
  <p class="muted">You were invited as <?cs call:role_badge(Invite.Role) ?> with the address <strong><?cs var:Invite.Email ?></strong>.</p>
  <form method="post" action="<?cs var:Base ?>/accept" class="stack">
    <?cs call:csrf() ?>
    <input type="hidden" name="token" value="<?cs var:Invite.Token ?>">
    <label>Choose a password
      <input type="password" name="password" autocomplete="new-password" required minlength="<?cs var:Invite.MinPassword ?>" maxlength="1024">
      <span class="hint">At least <?cs var:Invite.MinPassword ?> characters.</span>
    </label>
    <label>Repeat the password
      <input type="password" name="password2" autocomplete="new-password" required minlength="<?cs var:Invite.MinPassword ?>" maxlength="1024">
    </label>
    <button type="submit" class="btn btn-primary btn-block">Create my account</button>
  </form>
</section>
