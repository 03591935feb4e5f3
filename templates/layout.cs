<?cs
# Conduix dashboard layout. Every page is rendered through this file: it defines the
# shared macros, draws the chrome (sidebar, top bar, messages) and includes the page
# template named by Page.Template. Config.VarEscapeMode = html escapes every var:.
?><?cs
def:csrf() ?><input type="hidden" name="csrf" value="<?cs var:CSRF ?>"><?cs /def ?><?cs
def:provider_badge(p, label) ?><span class="badge prov prov-<?cs var:p ?>"><?cs if:label ?><?cs var:label ?><?cs else ?><?cs var:p ?><?cs /if ?></span><?cs /def ?><?cs
def:tier_badge(t) ?><span class="badge tier tier-<?cs var:t ?>"><?cs var:t ?></span><?cs /def ?><?cs
def:role_badge(r) ?><span class="badge role role-<?cs var:r ?>"><?cs var:r ?></span><?cs /def ?><?cs
def:icon(name) ?><svg class="icon" viewBox="0 0 24 24" aria-hidden="true"><?cs
  if:name == "usage" ?><path d="M4 20V10M10 20V4M16 20v-7M22 20H2"/><?cs
  elif:name == "models" ?><path d="M12 2l9 5v10l-9 5-9-5V7z"/><path d="M12 22V12M21 7l-9 5-9-5"/><?cs
  elif:name == "keys" ?><circle cx="8" cy="15" r="4"/><path d="M11 12l9-9M17 6l3 3M15 8l2 2"/><?cs
  elif:name == "settings" ?><path d="M4 6h10M18 6h2M4 12h4M12 12h8M4 18h12M20 18h0"/><circle cx="16" cy="6" r="2"/><circle cx="10" cy="12" r="2"/><circle cx="18" cy="18" r="2"/><?cs
  elif:name == "audit" ?><path d="M6 2h9l5 5v15H6z"/><path d="M14 2v6h6M9 13h8M9 17h8"/><?cs
  elif:name == "billing" ?><rect x="2" y="5" width="20" height="14" rx="2"/><path d="M2 10h20M6 15h4"/><?cs
  elif:name == "members" ?><circle cx="9" cy="8" r="4"/><path d="M2 21c0-4 3-7 7-7s7 3 7 7M16 4a4 4 0 010 8M22 21c0-3-2-5-4-6"/><?cs
  elif:name == "providers" ?><rect x="3" y="3" width="18" height="7" rx="1"/><rect x="3" y="14" width="18" height="7" rx="1"/><path d="M7 6.5h.01M7 17.5h.01"/><?cs
  /if ?></svg><?cs /def ?><?cs
def:navlink(path, label, name) ?><a class="nav-item<?cs if:Page.Path == path ?> active<?cs /if ?>" href="<?cs var:Base ?><?cs var:path ?>"><?cs call:icon(name) ?><span><?cs var:label ?></span></a><?cs /def ?><?cs
def:flash() ?><?cs if:Flash.Message ?><div class="flash flash-<?cs var:Flash.Kind ?>" role="<?cs if:Flash.Kind == "error" ?>alert<?cs else ?>status<?cs /if ?>"><?cs var:Flash.Message ?></div><?cs /if ?><?cs /def ?><!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title><?cs var:Page.Title ?> · Conduix</title>
<link rel="stylesheet" href="<?cs var:Base ?>/static/conduix.css">
<script src="<?cs var:Base ?>/static/conduix.js" defer></script>
</head>
<?cs if:User.Email ?><body class="app">
<aside class="sidebar"><div class="sidebar-inner">
  <a class="brand" href="<?cs var:Base ?>/usage"><svg class="logo" viewBox="0 0 32 32" aria-hidden="true"><rect width="32" height="32" rx="8"/><path d="M9 16a7 7 0 0111.9-5M23 16a7 7 0 01-11.9 5"/><circle cx="22" cy="10" r="2"/><circle cx="10" cy="22" r="2"/></svg><span>Conduix</span></a>
  <nav class="nav" aria-label="Dashboard">
    <div class="nav-group">Observe</div>
    <?cs call:navlink("/usage", "Usage", "usage") ?>
    <?cs call:navlink("/models", "Models", "models") ?>
    <?cs if:User.CanAudit == "1" ?><?cs call:navlink("/audit", "Audit log", "audit") ?><?cs /if ?>
    <div class="nav-group">Manage</div>
    <?cs call:navlink("/keys", "API keys", "keys") ?>
    <?cs call:navlink("/settings", "Settings", "settings") ?>
    <?cs call:navlink("/members", "Members", "members") ?>
    <?cs call:navlink("/billing", "Billing", "billing") ?>
    <?cs if:User.IsOperator == "1" ?><div class="nav-group">Platform</div>
    <?cs call:navlink("/providers", "Providers", "providers") ?><?cs /if ?>
  </nav>
  <div class="sidebar-foot">Gateway <code>/v1</code> · OpenAI-compatible</div>
</div></aside>
<div class="main">
  <header class="topbar">
    <div class="org"><span class="org-name"><?cs var:Org.Name ?></span><span class="badge plan"><?cs var:Org.Plan ?></span></div>
    <div class="who">
      <span class="email"><?cs var:User.Email ?></span><?cs call:role_badge(User.Role) ?><?cs if:User.IsOperator == "1" ?><span class="badge operator">operator</span><?cs /if ?>
      <form method="post" action="<?cs var:Base ?>/logout" class="inline"><?cs call:csrf() ?><button type="submit" class="btn btn-ghost btn-sm">Sign out</button></form>
    </div>
  </header>
  <main class="content" id="content">
    <?cs call:flash() ?>
<?cs include:Page.Template ?>
  </main>
  <footer class="foot">Request <code><?cs var:RequestId ?></code></footer>
</div>
</body>
<?cs else ?><body class="public">
<main class="public-main">
  <div class="public-brand"><svg class="logo" viewBox="0 0 32 32" aria-hidden="true"><rect width="32" height="32" rx="8"/><path d="M9 16a7 7 0 0111.9-5M23 16a7 7 0 01-11.9 5"/><circle cx="22" cy="10" r="2"/><circle cx="10" cy="22" r="2"/></svg><span>Conduix</span></div>
  <?cs call:flash() ?>
<?cs include:Page.Template ?>
</main>
</body>
<?cs /if ?>
</html>
