<?cs # Audit log: filters, table, pagination, export. ?>
<div class="page-head">
  <div>
    <h1>Audit log</h1>
    <p class="muted">Append-only record of every governance change, with user, address and request id.</p>
  </div>
  <div class="toolbar">
    <a class="btn btn-ghost" href="<?cs var:Base ?>/audit/export?format=csv<?cs if:Filter.query ?>&amp;<?cs var:Filter.query ?><?cs /if ?>">Export CSV</a>
    <a class="btn btn-ghost" href="<?cs var:Base ?>/audit/export?format=json<?cs if:Filter.query ?>&amp;<?cs var:Filter.query ?><?cs /if ?>">Export JSON</a>
  </div>
</div>
<section class="card">
  <form method="get" action="<?cs var:Base ?>/audit" class="filters" id="audit-filters">
    <label class="compact">From<input type="date" name="from" value="<?cs var:Filter.from ?>"></label>
    <label class="compact">To<input type="date" name="to" value="<?cs var:Filter.to ?>"></label>
    <label class="compact">Action<select name="action"><option value="">any</option><?cs each:a = Actions ?><option<?cs if:a.action == Filter.action ?> selected<?cs /if ?>><?cs var:a.action ?></option><?cs /each ?></select></label>
    <label class="compact">Actor<input name="actor" value="<?cs var:Filter.actor ?>" placeholder="email contains"></label>
    <label class="compact">Request id<input name="request_id" value="<?cs var:Filter.request_id ?>" placeholder="cx-req-…"></label>
    <button type="submit" class="btn btn-secondary">Filter</button>
    <a class="btn btn-ghost" href="<?cs var:Base ?>/audit">Reset</a>
  </form>
</section>
<section class="card flush">
  <?cs if:subcount(Audit) == #0 ?><p class="empty">No audit entries match.</p><?cs else ?>
  <table class="table" id="audit">
    <thead><tr><th>When (UTC)</th><th>Action</th><th>Actor</th><th>Target</th><th>Detail</th><th>Request</th></tr></thead>
    <tbody>
    <?cs each:e = Audit ?><tr>
      <td class="nowrap"><?cs var:e.created_at ?></td>
      <td><span class="badge action"><?cs var:e.action ?></span></td>
      <td><div><?cs var:e.actor_label ?></div><span class="sub"><?cs var:e.actor_type ?><?cs if:e.ip ?> · <?cs var:e.ip ?><?cs /if ?></span></td>
      <td><code class="wrap"><?cs var:e.target ?></code></td>
      <td><?cs if:e.detail ?><code class="detail"><?cs var:e.detail ?></code><?cs /if ?></td>
      <td><?cs if:e.request_id ?><a href="<?cs var:Base ?>/audit?request_id=<?cs var:url_escape(e.request_id) ?>"><code><?cs var:e.request_id ?></code></a><?cs /if ?></td>
    </tr>
    <?cs /each ?></tbody>
  </table>
  <?cs /if ?>
  <nav class="pager" aria-label="Pages">
    <span class="muted"><?cs var:Pager.first ?>–<?cs var:Pager.last ?> of <?cs var:Pager.total ?></span>
    <?cs if:Pager.prev ?><a class="btn btn-ghost btn-sm" href="<?cs var:Base ?>/audit?page=<?cs var:Pager.prev ?><?cs if:Filter.query ?>&amp;<?cs var:Filter.query ?><?cs /if ?>">← Newer</a><?cs /if ?>
    <span>Page <?cs var:Pager.page ?> of <?cs var:Pager.pages ?></span>
    <?cs if:Pager.next ?><a class="btn btn-ghost btn-sm" href="<?cs var:Base ?>/audit?page=<?cs var:Pager.next ?><?cs if:Filter.query ?>&amp;<?cs var:Filter.query ?><?cs /if ?>">Older →</a><?cs /if ?>
  </nav>
</section>
