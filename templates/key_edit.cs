<?cs # Edit the policies of one key. ?>
<div class="page-head">
  <div>
    <h1>Edit key</h1>
    <p class="muted"><code><?cs var:Key.0.prefix ?>…</code> · <?cs var:Key.0.mode ?> · created <?cs var:Key.0.created_at ?></p>
  </div>
  <a class="btn btn-ghost" href="<?cs var:Base ?>/keys">Back to keys</a>
</div>
<section class="card">
  <form method="post" action="<?cs var:Base ?>/keys/edit" class="grid-form" id="edit-form">
    <?cs call:csrf() ?>
    <input type="hidden" name="id" value="<?cs var:Key.0.id ?>">
    <input type="hidden" name="mode" value="<?cs var:Key.0.mode ?>">
    <label class="wide">Name<input name="name" value="<?cs var:Form.name ?>" required maxlength="200"></label>
    <fieldset class="wide"><legend>Scopes</legend>
      <label class="check"><input type="checkbox" name="scopes" value="inference"<?cs if:Form.scope_inference ?> checked<?cs /if ?>> inference</label>
      <label class="check"><input type="checkbox" name="scopes" value="account:read"<?cs if:Form.scope_account_read ?> checked<?cs /if ?>> account:read</label>
      <?cs if:User.CanEdit == "1" ?><label class="check"><input type="checkbox" name="scopes" value="keys:write"<?cs if:Form.scope_keys_write ?> checked<?cs /if ?>> keys:write</label><?cs /if ?>
    </fieldset>
    <label class="wide">Allowed models<input name="allowed_models" value="<?cs var:Form.allowed_models ?>" placeholder="empty = every model"></label>
    <label>Rate limit (req/min)<input name="rate_limit" value="<?cs var:Form.rate_limit ?>" inputmode="numeric" placeholder="none"></label>
    <label>Region<select name="region"><option value="">any</option><option<?cs if:Form.region == "US" ?> selected<?cs /if ?>>US</option><option<?cs if:Form.region == "EU" ?> selected<?cs /if ?>>EU</option><option<?cs if:Form.region == "APAC" ?> selected<?cs /if ?>>APAC</option></select></label>
    <label>PII redaction<select name="pii_mode"><option value="inherit">org default</option><option value="redact"<?cs if:Form.pii_mode == "redact" ?> selected<?cs /if ?>>redact</option><option value="off"<?cs if:Form.pii_mode == "off" ?> selected<?cs /if ?>>off</option></select></label>
      <label>Cheaper-model swaps<select name="swap_mode"><option value="inherit">org default</option><option value="on"<?cs if:Form.swap_mode == "on" ?> selected<?cs /if ?>>on</option><option value="off"<?cs if:Form.swap_mode == "off" ?> selected<?cs /if ?>>off</option></select></label>
    <label>Daily cap (credits)<input name="cap_daily" value="<?cs var:Form.cap_daily ?>" inputmode="decimal" placeholder="none"></label>
    <label>Monthly cap (credits)<input name="cap_monthly" value="<?cs var:Form.cap_monthly ?>" inputmode="decimal" placeholder="none"></label>
    <div class="form-actions"><button type="submit" class="btn btn-primary">Save changes</button></div>
  </form>
</section>
