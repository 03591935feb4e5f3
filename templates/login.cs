<?cs # Sign-in form (public). ?>
<section class="card auth-card">
  <h1>Sign in</h1>
  <p class="muted">Manage keys, spend and routing for your organization.</p>
  <form method="post" action="<?cs var:Base ?>/login" class="stack">
    <?cs call:csrf() ?>
    <label>Email address
      <input type="email" name="email" value="<?cs var:Login.Email ?>" autocomplete="username" required autofocus maxlength="320">
    </label>
    <label>Password
      <input type="password" name="password" autocomplete="current-password" required maxlength="1024">
    </label>
    <button type="submit" class="btn btn-primary btn-block">Sign in</button>
  </form>
  <p class="fine">Access is by invitation from an admin of your organization.</p>
</section>
