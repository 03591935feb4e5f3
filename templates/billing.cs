<?cs # Billing: balance, plan, ledger; operator credit grants. ?>
<div class="page-head">
  <div>
    <h1>Billing</h1>
    <p class="muted">Credits are prepaid; 1 credit ≈ 1 USD. Every movement is in the ledger.</p>
  </div>
</div>
<section class="stats">
  <div class="stat stat-wide"><div class="stat-label">Balance</div><div class="stat-value<?cs if:Billing.Low == "1" ?> low<?cs /if ?>" id="balance"><?cs var:Billing.Balance ?> <small>credits</small></div><?cs if:Billing.Low == "1" ?><div class="stat-sub warn">Running low: add credits or turn on auto-reload in Settings.</div><?cs /if ?></div>
  <div class="stat"><div class="stat-label">Plan</div><div class="stat-value plan-name"><?cs var:Org.Plan ?></div><?cs if:Billing.Discount ?><div class="stat-sub">volume discount <?cs var:Billing.Discount ?></div><?cs /if ?></div>
</section>
<section class="card">
  <div class="card-head"><h2>Plans</h2></div>
  <div class="plans">
    <?cs each:p = Plans ?><div class="plan<?cs if:p.current == "1" ?> current<?cs /if ?>"><div class="plan-title"><?cs var:p.name ?><?cs if:p.current == "1" ?> <span class="badge yes">current</span><?cs /if ?></div><p class="muted"><?cs var:p.summary ?></p></div>
    <?cs /each ?>
  </div>
</section>
<?cs if:User.IsOperator == "1" ?>
<section class="card operator-card">
  <div class="card-head"><h2>Grant credits</h2><span class="badge operator">operator</span></div>
  <form method="post" action="<?cs var:Base ?>/billing/grant" class="grid-form" id="grant-form">
    <?cs call:csrf() ?>
    <label>Organization id<input name="org_id" value="<?cs var:Org.Id ?>" inputmode="numeric"></label>
    <label>Amount (credits)<input name="amount" required inputmode="decimal" placeholder="e.g. 100"></label>
    <label class="wide">Note<input name="note" maxlength="255" placeholder="reason, shown in the ledger"></label>
    <div class="form-actions"><button type="submit" class="btn btn-primary">Grant credits</button></div>
  </form>
</section>
<?cs /if ?>
<section class="card flush">
  <div class="card-head padded"><h2>Ledger</h2><span class="muted"><?cs var:Pager.total ?> entries</span></div>
  <?cs if:subcount(Ledger) == #0 ?><p class="empty">No ledger entries yet.</p><?cs else ?>
  <table class="table" id="ledger">
    <thead><tr><th>When (UTC)</th><th>Kind</th><th class="num">Amount</th><th class="num">Balance after</th><th>Note</th><th>Request</th></tr></thead>
    <tbody>
    <?cs each:l = Ledger ?><tr>
      <td class="nowrap"><?cs var:l.created_at ?></td>
      <td><span class="badge kind kind-<?cs var:l.kind ?>"><?cs var:l.kind ?></span></td>
      <td class="num <?cs if:l.negative == "1" ?>neg<?cs else ?>pos<?cs /if ?>"><?cs var:l.amount ?></td>
      <td class="num"><?cs var:l.balance ?></td>
      <td><?cs var:l.note ?><?cs if:l.kind == "charge" ?><span class="sub">key #<?cs var:l.actor ?></span><?cs elif:l.actor ?><span class="sub"><?cs var:l.actor ?></span><?cs /if ?></td>
      <td><?cs if:l.request_id ?><code><?cs var:l.request_id ?></code><?cs /if ?></td>
    </tr>
    <?cs /each ?></tbody>
  </table>
  <?cs /if ?>
  <nav class="pager" aria-label="Pages">
    <?cs if:Pager.prev ?><a class="btn btn-ghost btn-sm" href="<?cs var:Base ?>/billing?page=<?cs var:Pager.prev ?>">← Newer</a><?cs /if ?>
    <span>Page <?cs var:Pager.page ?> of <?cs var:Pager.pages ?></span>
    <?cs if:Pager.next ?><a class="btn btn-ghost btn-sm" href="<?cs var:Base ?>/billing?page=<?cs var:Pager.next ?>">Older →</a><?cs /if ?>
  </nav>
</section>
