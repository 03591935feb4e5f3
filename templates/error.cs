<?cs # Error page for 4xx/5xx answers. ?>
<section class="card error-card">
  <div class="error-code"><?cs var:Error.Status ?></div>
  <h1><?cs var:Error.Reason ?></h1>
  <p><?cs var:Error.Message ?></p>
  <p><?cs if:User.Email ?><a class="btn btn-secondary" href="<?cs var:Base ?>/usage">Back to the dashboard</a><?cs else ?><a class="btn btn-secondary" href="<?cs var:Base ?>/login">Go to sign in</a><?cs /if ?></p>
</section>
