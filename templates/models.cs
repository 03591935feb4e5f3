<?cs # Models: the catalog with filters, and the organization's BYO endpoints. ?>
<div class="page-head">
  <div>
    <h1>Models</h1>
    <p class="muted"><?cs var:ModelCount ?> models. Prices are credits per 1M tokens (1 credit ≈ 1 USD).</p>
  </div>
  <form method="get" action="<?cs var:Base ?>/models" class="toolbar" aria-label="Filter models">
    <label class="compact">Provider
      <select name="provider"><option value="">All providers</option><?cs each:p = ProviderList ?><option value="<?cs var:p.name ?>"<?cs if:p.name == Filter.provider ?> selected<?cs /if ?>><?cs var:p.label ?></option><?cs /each ?></select>
    </label>
    <label class="compact">Tier
      <select name="tier"><option value="">All tiers</option><?cs each:t = Tiers ?><option value="<?cs var:t ?>"<?cs if:t == Filter.tier ?> selected<?cs /if ?>><?cs var:t ?></option><?cs /each ?></select>
    </label>
    <button type="submit" class="btn btn-secondary">Filter</button>
  </form>
</div>

<section class="card flush">
  <table class="table" id="models">
    <thead><tr><th>Model</th><th>Provider</th><th>Tier</th><th>Swap band</th><th>Region</th><th class="num">Context</th><th>Vision</th><th class="num">Input</th><th class="num">Output</th></tr></thead>
    <tbody>
    <?cs each:m = Models ?><tr>
      <td><div class="strong"><?cs var:m.name ?></div><code class="sub"><?cs var:m.id ?></code></td>
      <td><?cs call:provider_badge(m.provider, m.provider_label) ?></td>
      <td><?cs call:tier_badge(m.tier) ?></td>
      <td><span class="badge band band-<?cs var:m.swap_band ?>"><?cs var:m.swap_band ?></span></td>
      <td><span class="badge region"><?cs var:m.region ?></span></td>
      <td class="num"><?cs var:m.context ?></td>
      <td><?cs if:m.vision == "1" ?><span class="badge yes">vision</span><?cs else ?><span class="muted">text</span><?cs /if ?></td>
      <td class="num"><?cs var:m.input_price ?></td>
      <td class="num"><?cs var:m.output_price ?></td>
    </tr>
    <?cs /each ?></tbody>
  </table>
  <?cs if:ModelCount == "0" ?><p class="empty">No model matches these filters.</p><?cs /if ?>
</section>

<section class="card" id="byo">
  <div class="card-head">
    <h2>Bring your own endpoint</h2>
    <p class="muted">OpenAI-compatible servers of your own, called as <code>byo:&lt;slug&gt;/&lt;model&gt;</code> and never billed in credits. Private, loopback and link-local addresses are refused.</p>
  </div>
  <?cs if:subcount(Byo) == #0 ?><p class="empty">No BYO endpoints yet.</p><?cs else ?>
  <table class="table" id="byo-list">
    <thead><tr><th>Slug</th><th>Base URL</th><th>Region</th><th>Models</th><th>Credential</th><th>Status</th><th>Added</th><?cs if:User.CanEdit == "1" ?><th></th><?cs /if ?></tr></thead>
    <tbody>
    <?cs each:b = Byo ?><tr>
      <td><?cs call:provider_badge("byo", b.slug) ?></td>
      <td><code class="wrap"><?cs var:b.base_url ?></code></td>
      <td><span class="badge region"><?cs var:b.region ?></span></td>
      <td><?cs if:subcount(b.model) == #0 ?><span class="muted">any model</span><?cs /if ?><?cs each:mm = b.model ?><code class="chip"><?cs var:mm ?></code> <?cs /each ?></td>
      <td><?cs if:b.has_credential == "1" ?><span class="badge yes">stored</span><?cs else ?><span class="muted">none</span><?cs /if ?></td>
      <td><?cs if:b.enabled == "1" ?><span class="badge yes">enabled</span><?cs else ?><span class="badge revoked">disabled</span><?cs /if ?></td>
      <td class="muted"><?cs var:b.created_at ?></td>
      <?cs if:User.CanEdit == "1" ?><td class="actions"><form method="post" action="<?cs var:Base ?>/models/byo/remove" class="inline" data-confirm="Remove this BYO endpoint? Requests to it will fail."><?cs call:csrf() ?><input type="hidden" name="slug" value="<?cs var:b.slug ?>"><button type="submit" class="btn btn-danger btn-sm">Remove</button></form></td><?cs /if ?>
    </tr>
    <?cs /each ?></tbody>
  </table>
  <?cs /if ?>
  <?cs if:User.CanEdit == "1" ?>
  <form method="post" action="<?cs var:Base ?>/models/byo/add" class="grid-form" id="byo-add">
    <?cs call:csrf() ?>
    <label>Slug<input name="slug" value="<?cs var:ByoForm.slug ?>" required maxlength="64" pattern="[a-z0-9][a-z0-9_-]*" placeholder="my-vllm"></label>
    <label class="wide">Base URL<input name="base_url" value="<?cs var:ByoForm.base_url ?>" required maxlength="512" placeholder="https://llm.example.com/v1"></label>
    <label>Region<select name="region"><option<?cs if:ByoForm.region == "US" ?> selected<?cs /if ?>>US</option><option<?cs if:ByoForm.region == "EU" ?> selected<?cs /if ?>>EU</option><option<?cs if:ByoForm.region == "APAC" ?> selected<?cs /if ?>>APAC</option></select></label>
    <label class="wide">Models<input name="models" value="<?cs var:ByoForm.models ?>" placeholder="llama-3.1-70b, qwen2.5-coder (empty = any)"></label>
    <label class="wide">Credential<input name="credential" type="password" autocomplete="off" placeholder="API key of the endpoint (optional)"><span class="hint">Sent as the Bearer token; never shown again.</span></label>
    <div class="form-actions"><button type="submit" class="btn btn-primary">Add endpoint</button></div>
  </form>
  <?cs /if ?>
</section>
