<?cs # Organization settings: caps, PII default, swaps and pinning, auto-reload. ?>
<div class="page-head">
  <div>
    <h1>Settings</h1>
    <p class="muted">Organization-wide defaults. Keys can tighten them; every change is written to the audit log.</p>
  </div>
</div>
<?cs if:User.CanEdit != "1" ?><div class="flash flash-info">Only admins and owners can change settings. You are viewing them read-only.</div><?cs /if ?>
<form method="post" action="<?cs var:Base ?>/settings" id="settings-form">
  <?cs call:csrf() ?>
  <fieldset class="card settings-section"<?cs if:User.CanEdit != "1" ?> disabled<?cs /if ?>>
    <h2 class="section-title">Spend caps</h2>
    <p class="muted">Hard ceilings in credits per UTC day and month. Requests beyond a cap get <code>402 spend_cap_exceeded</code> before any provider is called. Empty means no cap.</p>
    <div class="grid-form">
      <label>Daily cap<input name="cap_daily" id="cap_daily" value="<?cs var:Settings.cap_daily ?>" inputmode="decimal" placeholder="no cap"></label>
      <label>Monthly cap<input name="cap_monthly" id="cap_monthly" value="<?cs var:Settings.cap_monthly ?>" inputmode="decimal" placeholder="no cap"></label>
    </div>
  </fieldset>
  <fieldset class="card settings-section"<?cs if:User.CanEdit != "1" ?> disabled<?cs /if ?>>
    <h2 class="section-title">Privacy</h2>
    <label class="check"><input type="checkbox" name="pii_default" value="on"<?cs if:Settings.pii_default == "on" ?> checked<?cs /if ?>> Redact PII by default (emails, phone numbers, US SSNs, card numbers) before prompts leave Conduix</label>
    <p class="hint">Keys may override it; a request may too with <code>x-conduix-pii-redact</code>.</p>
  </fieldset>
  <fieldset class="card settings-section"<?cs if:User.CanEdit != "1" ?> disabled<?cs /if ?>>
    <h2 class="section-title">Cheaper-model swaps</h2>
    <label class="check"><input type="checkbox" name="swaps" value="on"<?cs if:Settings.swaps == "on" ?> checked<?cs /if ?>> Route to the cheapest model of the same swap band when it is safe (never with tools, never from vision to text-only)</label>
    <div class="grid-form">
      <label class="wide">Never swap from<input name="never_from" value="<?cs var:Settings.never_from ?>" placeholder="e.g. gpt-4o, claude-sonnet-4-20250514"></label>
      <label class="wide">Never swap to<input name="never_to" value="<?cs var:Settings.never_to ?>" placeholder="e.g. deepseek-v4-flash"></label>
    </div>
  </fieldset>
  <fieldset class="card settings-section"<?cs if:User.CanEdit != "1" ?> disabled<?cs /if ?>>
    <h2 class="section-title">Auto-reload</h2>
    <label class="check"><input type="checkbox" name="auto_reload" value="on"<?cs if:Settings.auto_reload == "on" ?> checked<?cs /if ?>> Top up automatically when the balance falls below the threshold</label>
    <div class="grid-form">
      <label>Threshold (credits)<input name="reload_threshold" value="<?cs var:Settings.reload_threshold ?>" inputmode="decimal" placeholder="e.g. 10"></label>
      <label>Amount (credits)<input name="reload_amount" value="<?cs var:Settings.reload_amount ?>" inputmode="decimal" placeholder="e.g. 50"></label>
    </div>
  </fieldset>
  <?cs if:User.CanEdit == "1" ?><div class="form-actions sticky"><button type="submit" class="btn btn-primary">Save settings</button></div><?cs /if ?>
</form>
