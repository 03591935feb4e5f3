<?cs # Usage: range picker, totals, chart of spend and requests per day, breakdowns. ?>
<div class="page-head">
  <div>
    <h1>Usage</h1>
    <p class="muted"><?cs var:Range.from ?> to <?cs var:Range.to ?> (UTC, <?cs var:Range.days ?> days)</p>
  </div>
  <form method="get" action="<?cs var:Base ?>/usage" class="toolbar" aria-label="Date range">
    <label class="compact">From <input type="date" name="from" value="<?cs var:Range.from ?>"></label>
    <label class="compact">To <input type="date" name="to" value="<?cs var:Range.to ?>"></label>
    <button type="submit" class="btn btn-secondary">Apply</button>
    <a class="btn btn-ghost" href="<?cs var:Base ?>/usage.csv?from=<?cs var:url_escape(Range.from) ?>&amp;to=<?cs var:url_escape(Range.to) ?>">Download CSV</a>
  </form>
</div>

<section class="stats">
  <div class="stat"><div class="stat-label">Requests</div><div class="stat-value" id="total-requests"><?cs var:Totals.requests ?></div></div>
  <div class="stat"><div class="stat-label">Tokens</div><div class="stat-value"><?cs var:Totals.tokens ?></div><div class="stat-sub"><?cs var:Totals.prompt_tokens ?> in · <?cs var:Totals.completion_tokens ?> out</div></div>
  <div class="stat"><div class="stat-label">Spend</div><div class="stat-value" id="total-spend"><?cs var:Totals.spend ?> <small>credits</small></div><div class="stat-sub">list cost <?cs var:Totals.cost ?></div></div>
  <div class="stat"><div class="stat-label">Avg. cost per request</div><div class="stat-value"><?cs var:Totals.avg_cost ?></div></div>
</section>

<section class="card">
  <div class="card-head">
    <h2>Spend and requests per day</h2>
    <div class="legend"><span class="swatch swatch-spend"></span>Spend (credits, left) <span class="swatch swatch-req"></span>Requests (right)</div>
  </div>
  <?cs if:Chart.Empty == "1" ?><p class="empty">No traffic in this range yet. Calls made with your keys show up here within seconds.</p><?cs else ?>
  <svg class="chart" viewBox="0 0 <?cs var:Chart.W ?> <?cs var:Chart.H ?>" role="img" aria-label="Spend and requests per day">
    <?cs each:t = Chart.Ticks ?><line class="grid" x1="<?cs var:Chart.Left ?>" x2="<?cs var:Chart.Right ?>" y1="<?cs var:t.y ?>" y2="<?cs var:t.y ?>"/>
    <text class="axis" x="<?cs var:Chart.AxisL ?>" y="<?cs var:t.ty ?>" text-anchor="end"><?cs var:t.spend ?></text>
    <text class="axis axis-req" x="<?cs var:Chart.AxisR ?>" y="<?cs var:t.ty ?>"><?cs var:t.requests ?></text>
    <?cs /each ?><?cs each:b = Chart.Bars ?><rect class="bar" x="<?cs var:b.x ?>" y="<?cs var:b.y ?>" width="<?cs var:b.w ?>" height="<?cs var:b.h ?>" rx="2"><title><?cs var:b.day ?>: <?cs var:b.spend ?> credits, <?cs var:b.requests ?> requests</title></rect>
    <?cs /each ?><polyline class="line" points="<?cs var:Chart.Points ?>"/>
    <?cs each:b = Chart.Bars ?><circle class="dot" cx="<?cs var:b.cx ?>" cy="<?cs var:b.cy ?>" r="2.5"><title><?cs var:b.day ?>: <?cs var:b.requests ?> requests</title></circle>
    <?cs /each ?><?cs each:l = Chart.Labels ?><text class="axis" x="<?cs var:l.x ?>" y="<?cs var:Chart.LabelY ?>" text-anchor="middle"><?cs var:l.text ?></text>
    <?cs /each ?>
  </svg><?cs /if ?>
</section>

<section class="card">
  <div class="card-head"><h2>By model</h2></div>
  <?cs if:subcount(ByModel) == #0 ?><p class="empty">No requests in this range.</p><?cs else ?>
  <table class="table" id="usage-by-model">
    <thead><tr><th>Model</th><th>Provider</th><th class="num">Requests</th><th class="num">Prompt tokens</th><th class="num">Completion tokens</th><th class="num">Spend</th><th class="share-col">Share</th></tr></thead>
    <tbody>
    <?cs each:m = ByModel ?><tr>
      <td><code><?cs var:m.model ?></code></td>
      <td><?cs if:m.provider ?><?cs call:provider_badge(m.provider, m.provider_label) ?><?cs else ?><span class="muted">unknown</span><?cs /if ?></td>
      <td class="num"><?cs var:m.requests ?></td>
      <td class="num"><?cs var:m.prompt_tokens ?></td>
      <td class="num"><?cs var:m.completion_tokens ?></td>
      <td class="num"><?cs var:m.spend ?></td>
      <td class="share-col"><meter min="0" max="100" value="<?cs var:m.share ?>"><?cs var:m.share ?>%</meter></td>
    </tr>
    <?cs /each ?></tbody>
  </table>
  <?cs /if ?>
</section>

<section class="card">
  <div class="card-head"><h2>By key</h2></div>
  <?cs if:subcount(ByKey) == #0 ?><p class="empty">No requests in this range.</p><?cs else ?>
  <table class="table">
    <thead><tr><th>Key</th><th class="num">Requests</th><th class="num">Tokens</th><th class="num">Spend</th></tr></thead>
    <tbody>
    <?cs each:k = ByKey ?><tr><td><?cs var:k.name ?> <span class="muted">#<?cs var:k.key_id ?></span></td><td class="num"><?cs var:k.requests ?></td><td class="num"><?cs var:k.tokens ?></td><td class="num"><?cs var:k.spend ?></td></tr>
    <?cs /each ?></tbody>
  </table>
  <?cs /if ?>
</section>

<?cs if:Api.Token ?>
<section class="card" id="api-access">
  <details>
    <summary class="btn btn-ghost btn-sm">Use these numbers programmatically</summary>
    <p class="muted">The same data as JSON from <code>GET /api/usage</code>, authenticated with the token issued at your sign-in (valid for this session only).</p>
    <pre class="code">curl -H "Authorization: Bearer $TOKEN" "http://&lt;host&gt;/api/usage?<?cs var:Api.Query ?>"</pre>
    <div class="secret-row"><code id="api-token" class="secret"><?cs var:Api.Token ?></code><button type="button" class="btn btn-secondary btn-sm" data-copy="api-token">Copy token</button></div>
  </details>
</section>
<?cs /if ?>
