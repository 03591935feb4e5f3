<?cs # Providers (operators): spend this month vs budget, alerts sent, hard caps, webhooks, breakers. ?>
<div class="page-head">
  <div>
    <h1>Providers</h1>
    <p class="muted">Platform-wide. What each provider bills for <?cs var:Month ?> (UTC; tokens at list price, cache hits excluded): <strong><?cs var:ProvidersTotalSpend ?></strong> credits in total.</p>
  </div>
</div>
<div class="flash flash-info" id="breaker-note"><strong>Circuit breakers</strong> as reported by the gateway: each transition (opened, half-open probe, closed) is written to the database just after it happens, with the gateway's time of the transition (UTC) and when the report arrived. A provider with no report has been closed since reporting began; a gateway restart that cleared its shared memory closes every breaker without a report.</div>
<section class="card flush">
  <table class="table" id="providers">
    <thead><tr><th>Provider</th><th>Region</th><th class="num">Requests</th><th class="num">Spend (MTD)</th><th>Budget use</th><th>Alerts sent</th><th>Hard cap</th><th>Breaker</th><th></th></tr></thead>
    <tbody>
    <?cs each:p = Providers ?><tr id="provider-<?cs var:p.name ?>">
      <td><?cs call:provider_badge(p.name, p.display_name) ?><?cs if:p.enabled != "1" ?> <span class="badge revoked">disabled</span><?cs /if ?><div class="sub"><?cs var:p.api_format ?> API</div></td>
      <td><span class="badge region"><?cs var:p.region ?></span></td>
      <td class="num"><?cs var:p.month_requests ?></td>
      <td class="num"><?cs var:p.spend ?></td>
      <td><?cs if:p.budget ?><meter min="0" max="100" low="70" high="90" optimum="0" value="<?cs var:p.pct_meter ?>"><?cs var:p.pct ?>%</meter> <span class="sub"><?cs var:p.pct ?>% of <?cs var:p.budget ?></span><?cs else ?><span class="muted">no budget</span><?cs /if ?></td>
      <td><?cs if:p.alerts_sent ?><?cs var:p.alerts_sent ?><?cs else ?><span class="muted">none</span><?cs /if ?></td>
      <td><?cs if:p.hard_cap == "1" ?><?cs if:p.capped == "1" ?><span class="badge revoked">capped: routed around</span><?cs else ?><span class="badge warn">on</span><?cs /if ?><?cs else ?><span class="muted">off</span><?cs /if ?></td>
      <td class="breaker" data-state="<?cs if:p.breaker.state ?><?cs var:p.breaker.state ?><?cs else ?>closed<?cs /if ?>"><?cs if:p.breaker.state == "open" ?><span class="badge revoked">open</span><div class="sub">since <?cs var:p.breaker.opened_at ?> UTC after <?cs var:p.breaker.failures ?> failure(s)</div><div class="sub"><?cs if:p.breaker.open_over == "1" ?>open period ended <?cs var:p.breaker.open_until ?>: the next request probes<?cs else ?>until <?cs var:p.breaker.open_until ?> UTC<?cs /if ?></div><?cs elif:p.breaker.state == "half-open" ?><span class="badge warn">half-open</span><div class="sub">probing since <?cs var:p.breaker.updated_at ?> UTC</div><?cs elif:p.breaker.state ?><span class="badge yes">closed</span><div class="sub">since <?cs var:p.breaker.updated_at ?> UTC</div><?cs else ?><span class="badge yes">closed</span><div class="sub">no transition reported</div><?cs /if ?><?cs if:p.breaker.reported_at ?><div class="sub muted">reported <?cs var:p.breaker.reported_at ?> UTC</div><?cs /if ?></td>
      <td class="actions">
        <details class="edit">
          <summary class="btn btn-ghost btn-sm">Edit</summary>
          <form method="post" action="<?cs var:Base ?>/providers/update" class="stack provider-form">
            <?cs call:csrf() ?><input type="hidden" name="provider" value="<?cs var:p.name ?>">
            <label>Monthly budget (credits)<input name="budget" value="<?cs var:p.budget ?>" inputmode="decimal" placeholder="no budget"></label>
            <label class="check"><input type="checkbox" name="hard_cap" value="on"<?cs if:p.hard_cap == "1" ?> checked<?cs /if ?>> Hard cap: route around this provider once the budget is spent</label>
            <button type="submit" class="btn btn-primary btn-sm">Save</button>
          </form>
        </details>
      </td>
    </tr>
    <?cs /each ?></tbody>
  </table>
</section>
<section class="card" id="webhooks">
  <div class="card-head">
    <h2>Budget alert webhooks</h2>
    <p class="muted">Every provider's 70, 80, 90 and 100 % alerts go to each of these, once per threshold and month. Targets set with the <code>ConduixBudgetAlert</code> directive receive them too.</p>
  </div>
  <?cs if:subcount(Webhooks) == #0 ?><p class="empty">No webhooks yet.</p><?cs else ?>
  <table class="table" id="webhook-list">
    <thead><tr><th>Format</th><th>URL</th><th>Status</th><th>Added</th><th></th></tr></thead>
    <tbody>
    <?cs each:h = Webhooks ?><tr>
      <td><span class="badge"><?cs var:h.format ?></span></td>
      <td><code class="wrap"><?cs var:h.url ?></code></td>
      <td><?cs if:h.enabled == "1" ?><span class="badge yes">enabled</span><?cs else ?><span class="badge revoked">disabled</span><?cs /if ?></td>
      <td class="muted"><?cs var:h.created_at ?></td>
      <td class="actions"><form method="post" action="<?cs var:Base ?>/providers/webhooks/remove" class="inline" data-confirm="Remove this webhook?"><?cs call:csrf() ?><input type="hidden" name="id" value="<?cs var:h.id ?>"><button type="submit" class="btn btn-danger btn-sm">Remove</button></form></td>
    </tr>
    <?cs /each ?></tbody>
  </table>
  <?cs /if ?>
  <form method="post" action="<?cs var:Base ?>/providers/webhooks/add" class="grid-form" id="webhook-form">
    <?cs call:csrf() ?>
    <label>Format<select name="format"><option value="slack">Slack</option><option value="teams">Microsoft Teams</option></select></label>
    <label class="wide">Incoming-webhook URL<input name="url" value="<?cs var:HookForm.url ?>" required maxlength="2048" placeholder="https://hooks.slack.com/services/…"></label>
    <div class="form-actions"><button type="submit" class="btn btn-primary">Add webhook</button></div>
  </form>
</section>
