<?cs # API keys: the new secret (once), minting, the list with edit and revoke. ?>
<div class="page-head">
  <div>
    <h1>API keys</h1>
    <p class="muted"><?cs var:KeysActive ?> active of <?cs var:KeysTotal ?>. Keys authenticate calls to <code>/v1</code>; only a short prefix is kept.</p>
  </div>
</div>

<?cs if:NewKey.Secret ?>
<section class="card secret-card" id="new-key">
  <h2>New key “<?cs var:NewKey.Name ?>”</h2>
  <p>Copy this secret now. It is shown once and cannot be recovered.</p>
  <div class="secret-row"><code id="new-secret" class="secret"><?cs var:NewKey.Secret ?></code><button type="button" class="btn btn-secondary btn-sm" data-copy="new-secret">Copy</button></div>
</section>
<?cs /if ?>

<?cs if:User.CanMint == "1" ?>
<section class="card">
  <details<?cs if:Flash.Kind == "error" ?> open<?cs /if ?> class="mint">
    <summary><span class="btn btn-primary">Create a key</span></summary>
    <form method="post" action="<?cs var:Base ?>/keys/mint" class="grid-form" id="mint-form">
      <?cs call:csrf() ?>
      <label class="wide">Name<input name="name" value="<?cs var:Form.name ?>" required maxlength="200" placeholder="production backend"></label>
      <label>Mode<select name="mode"><option value="live"<?cs if:Form.mode != "test" ?> selected<?cs /if ?>>live</option><option value="test"<?cs if:Form.mode == "test" ?> selected<?cs /if ?>>test (never charged)</option></select></label>
      <fieldset class="wide"><legend>Scopes</legend>
        <label class="check"><input type="checkbox" name="scopes" value="inference"<?cs if:Form.scope_inference ?> checked<?cs /if ?>> inference</label>
        <label class="check"><input type="checkbox" name="scopes" value="account:read"<?cs if:Form.scope_account_read ?> checked<?cs /if ?>> account:read</label>
        <?cs if:User.CanEdit == "1" ?><label class="check"><input type="checkbox" name="scopes" value="keys:write"<?cs if:Form.scope_keys_write ?> checked<?cs /if ?>> keys:write</label><?cs /if ?>
      </fieldset>
      <label class="wide">Allowed models<input name="allowed_models" value="<?cs var:Form.allowed_models ?>" placeholder="empty = every model; e.g. gpt-4o-mini, tier:budget, byo:*"></label>
      <label>Rate limit (req/min)<input name="rate_limit" value="<?cs var:Form.rate_limit ?>" inputmode="numeric" placeholder="none"></label>
      <label>Region<select name="region"><option value="">any</option><option<?cs if:Form.region == "US" ?> selected<?cs /if ?>>US</option><option<?cs if:Form.region == "EU" ?> selected<?cs /if ?>>EU</option><option<?cs if:Form.region == "APAC" ?> selected<?cs /if ?>>APAC</option></select></label>
      <label>PII redaction<select name="pii_mode"><option value="inherit">org default</option><option value="redact"<?cs if:Form.pii_mode == "redact" ?> selected<?cs /if ?>>redact</option><option value="off"<?cs if:Form.pii_mode == "off" ?> selected<?cs /if ?>>off</option></select></label>
      <label>Cheaper-model swaps<select name="swap_mode"><option value="inherit">org default</option><option value="on"<?cs if:Form.swap_mode == "on" ?> selected<?cs /if ?>>on</option><option value="off"<?cs if:Form.swap_mode == "off" ?> selected<?cs /if ?>>off</option></select></label>
      <label>Daily cap (credits)<input name="cap_daily" value="<?cs var:Form.cap_daily ?>" inputmode="decimal" placeholder="none"></label>
      <label>Monthly cap (credits)<input name="cap_monthly" value="<?cs var:Form.cap_monthly ?>" inputmode="decimal" placeholder="none"></label>
      <div class="form-actions"><button type="submit" class="btn btn-primary">Create key</button></div>
    </form>
  </details>
</section>
<?cs /if ?>

<section class="card flush">
  <?cs if:subcount(Keys) == #0 ?><p class="empty">No keys yet.</p><?cs else ?>
  <table class="table" id="keys">
    <thead><tr><th>Name</th><th>Key</th><th>Scopes</th><th>Policy</th><th>Caps (day / month)</th><th>Last used</th><th></th></tr></thead>
    <tbody>
    <?cs each:k = Keys ?><tr class="<?cs if:k.revoked_at ?>revoked<?cs /if ?>" data-key-id="<?cs var:k.id ?>">
      <td><div class="strong key-name"><?cs var:k.name ?></div><span class="sub">created <?cs var:k.created_at ?><?cs if:k.created_by_email ?> by <?cs var:k.created_by_email ?><?cs /if ?></span></td>
      <td class="nowrap"><code><?cs var:k.prefix ?>…</code> <?cs if:k.mode == "test" ?><span class="badge test">test</span><?cs /if ?></td>
      <td><?cs var:k.scopes ?></td>
      <td class="policy">
        <div><span class="k">models</span><?cs if:k.allowed ?><span class="clip"><?cs var:k.allowed ?></span><?cs else ?>all<?cs /if ?></div>
        <div><span class="k">rate</span><?cs if:k.rate_limit_rpm ?><?cs var:k.rate_limit_rpm ?>/min<?cs else ?>unlimited<?cs /if ?></div>
        <div><span class="k">region</span><?cs if:k.region ?><?cs var:k.region ?><?cs else ?>any<?cs /if ?> <span class="k">PII</span><?cs var:k.pii_mode ?> <span class="k">swaps</span><?cs var:k.swap_mode ?></div>
      </td>
      <td class="nowrap"><?cs alt:k.cap_daily ?>–<?cs /alt ?> / <?cs alt:k.cap_monthly ?>–<?cs /alt ?></td>
      <td><?cs if:k.revoked_at ?><span class="badge revoked">revoked</span><span class="sub"><?cs var:k.revoked_at ?></span><?cs elif:k.last_used_at ?><?cs var:k.last_used_at ?><?cs else ?><span class="muted">never</span><?cs /if ?></td>
      <td class="actions"><?cs if:k.can_manage == "1" ?><a class="btn btn-ghost btn-sm" href="<?cs var:Base ?>/keys/edit?id=<?cs var:k.id ?>">Edit</a><form method="post" action="<?cs var:Base ?>/keys/revoke" class="inline" data-confirm="Revoke this key? Calls with it will be refused."><?cs call:csrf() ?><input type="hidden" name="id" value="<?cs var:k.id ?>"><button type="submit" class="btn btn-danger btn-sm">Revoke</button></form><?cs /if ?></td>
    </tr>
    <?cs /each ?></tbody>
  </table>
  <?cs /if ?>
</section>
