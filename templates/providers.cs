<?cs # Providers (operators): month-to-date spend vs budget, hard caps, alert webhooks, breakers. ?>
<div class="page-head">
  <div>
    <h1>Providers</h1>
    <p class="muted">Platform-wide. List cost of every organization's traffic in <?cs var:Month ?> (UTC): <strong><?cs var:ProvidersTotalCost ?></strong> credits.</p>
  </div>
</div>
<div class="flash flash-info" id="breaker-note"><strong>Circuit breakers:</strong> live breaker state is kept in the gateway's shared memory inside httpd and is not readable by the dashboard process; the Breaker column stays “not reported” until the gateway exposes a status endpoint.</div>
<section class="card flush">
  <table class="table" id="providers">
    <thead><tr><th>Provider</th><th>Region</th><th class="num">Requests</th><th class="num">Spend (MTD)</th><th>Budget use</th><th>Hard cap</th><th>Alerts</th><th>Breaker</th><th></th></tr></thead>
    <tbody>
    <?cs each:p = Providers ?><tr id="provider-<?cs var:p.name ?>">
      <td><?cs call:provider_badge(p.name, p.display_name) ?><?cs if:p.enabled != "1" ?> <span class="badge revoked">disabled</span><?cs /if ?><div class="sub"><?cs var:p.api_format ?> API</div></td>
      <td><span class="badge region"><?cs var:p.region ?></span></td>
      <td class="num"><?cs var:p.month_requests ?></td>
      <td class="num"><?cs var:p.cost ?></td>
      <td><?cs if:p.budget ?><meter class="level-<?cs var:p.level ?>" min="0" max="100" low="70" high="90" optimum="0" value="<?cs var:p.pct_meter ?>"><?cs var:p.pct ?>%</meter> <span class="sub"><?cs var:p.pct ?>% of <?cs var:p.budget ?></span><?cs else ?><span class="muted">no budget</span><?cs /if ?></td>
      <td><?cs if:p.hard_cap == "1" ?><span class="badge warn">on</span><?cs else ?><span class="muted">off</span><?cs /if ?></td>
      <td><?cs if:p.webhook_count != "0" ?><?cs var:p.webhook_count ?> webhook<?cs if:p.webhook_count != "1" ?>s<?cs /if ?><?cs else ?><span class="muted">none</span><?cs /if ?></td>
      <td><span class="badge unknown" title="Breaker state is not reported to the dashboard yet">not reported</span></td>
      <td class="actions">
        <details class="edit">
          <summary class="btn btn-ghost btn-sm">Edit</summary>
          <form method="post" action="<?cs var:Base ?>/providers/update" class="stack provider-form">
            <?cs call:csrf() ?><input type="hidden" name="provider" value="<?cs var:p.name ?>">
            <label>Monthly budget (credits)<input name="budget" value="<?cs var:p.budget ?>" inputmode="decimal" placeholder="no budget"></label>
            <label class="check"><input type="checkbox" name="hard_cap" value="on"<?cs if:p.hard_cap == "1" ?> checked<?cs /if ?>> Hard cap: route around this provider once the budget is spent</label>
            <label>Alert webhooks (70/80/90/100 %)<textarea name="webhooks" rows="3" placeholder="slack https://hooks.slack.com/services/…&#10;teams https://example.webhook.office.com/…"><?cs var:p.webhooks ?></textarea></label>
            <button type="submit" class="btn btn-primary btn-sm">Save</button>
          </form>
        </details>
      </td>
    </tr>
    <?cs /each ?></tbody>
  </table>
</section>
