// Conduix dashboard in a real browser: Debian's Chromium driven by playwright-core.
// Started by tests/browser/run.py, which brings up MariaDB, the provider simulator and
// httpd (mod_conduix + conduix-admin) and passes the seeded accounts in CX_* variables.
// The tests run in order and build on each other, as a user would: sign in, mint a key,
// call /v1 with curl, find the call on the usage page, change a spend cap and find it in
// the audit log, revoke the key. Screenshots of every page go to $CX_ARTIFACTS.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

const run = promisify(execFile);
const BASE = process.env.CX_BASE_URL;
const DASH = `${BASE}/dashboard`;
const ARTIFACTS = process.env.CX_ARTIFACTS;
const OWNER = { email: process.env.CX_OWNER_EMAIL, password: process.env.CX_OWNER_PASSWORD };
const VIEWER = { email: process.env.CX_VIEWER_EMAIL, password: process.env.CX_VIEWER_PASSWORD };
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

// A payload that would set a global if it ever ran as markup or script.
const XSS_IMG = '<img src=x onerror=window.__cxXss=1>';
const XSS_SCRIPT = '"><script>window.__cxXss=1</script>';
const XSS_SVG = '<svg/onload=window.__cxXss=1>';
const XSS_SLUG = '"><svg/onload=window.__cxXss=1>';   // fits the slug field (32)

const contexts = [];
const alerts = [];   // any alert() is a failure; confirm() comes from data-confirm forms
const state = {};

async function newContext() {
  const dir = mkdtempSync(path.join(tmpdir(), 'cx-chromium-'));
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.CX_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1440, height: 900 },
    acceptDownloads: true,
  });
  contexts.push({ ctx, dir });
  ctx.on('page', watch);
  for (const p of ctx.pages()) watch(p);
  return ctx;
}

function watch(page) {
  page.on('dialog', async (d) => {
    if (d.type() === 'confirm') return d.accept();
    alerts.push(`${d.type()}: ${d.message()}`);
    return d.dismiss();
  });
}

async function shot(page, name) {
  // Full-page captures of a scrolled page draw the sticky bars mid-page: start at the top.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

async function signIn(page, who) {
  await page.goto(`${DASH}/login`);
  await page.fill('input[name=email]', who.email);
  await page.fill('input[name=password]', who.password);
  await Promise.all([page.waitForURL(/\/dashboard\/usage/), page.click('button[type=submit]')]);
}

// Nothing injected ran and no injected element exists.
async function assertInert(page, where) {
  assert.equal(await page.evaluate(() => window.__cxXss), undefined, `${where}: a payload executed`);
  const injected = await page.evaluate(() =>
    document.querySelectorAll('[onerror], [onload], script:not([src])').length);
  assert.equal(injected, 0, `${where}: a payload became markup`);
  assert.deepEqual(alerts, [], `${where}: unexpected dialogs`);
}

async function curlChat(secret) {
  const { stdout } = await run('curl', ['-sS', '--max-time', '20', '-o', '-', '-w', '\n%{http_code}',
    `${BASE}/v1/chat/completions`, '-H', `Authorization: Bearer ${secret}`,
    '-H', 'Content-Type: application/json',
    '-d', JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello from the browser test' }] })]);
  const nl = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(nl + 1)), body: stdout.slice(0, nl) };
}

// Bounded polling: reload until check() passes or the deadline; returns the last result.
async function poll(fn, { timeoutMs = 10000, intervalMs = 250 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await fn();
    if (last || Date.now() >= deadline) return last;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

let owner;   // the owner's page, signed in

before(async () => {
  assert.ok(BASE && OWNER.password && VIEWER.password && ARTIFACTS, 'run through tests/browser/run.py');
  const ctx = await newContext();
  owner = await ctx.newPage();
});

after(async () => {
  for (const { ctx, dir } of contexts) {
    await ctx.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
});

test('signed-out visitors are sent to the sign-in page; a wrong password is refused', async () => {
  const resp = await owner.goto(`${DASH}/keys`);
  assert.match(owner.url(), /\/dashboard\/login$/);
  assert.equal(resp.status(), 200);
  await shot(owner, '01-login');
  await owner.fill('input[name=email]', OWNER.email);
  await owner.fill('input[name=password]', 'not the password');
  await owner.click('button[type=submit]');
  await owner.waitForSelector('.flash-error');
  assert.match(await owner.textContent('.flash-error'), /incorrect/);
  await shot(owner, '02-login-refused');
});

test('the owner signs in; the session cookie is HttpOnly and SameSite=Strict', async () => {
  await signIn(owner, OWNER);
  const cookies = await owner.context().cookies(`${DASH}/usage`);
  const session = cookies.find((c) => c.name === 'cx_session');
  assert.ok(session, 'no session cookie');
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, 'Strict');
  assert.equal(session.path, '/dashboard');
  assert.equal(await owner.evaluate(() => document.cookie.includes('cx_session')), false);
  assert.equal(await owner.textContent('.topbar .email'), OWNER.email);
});

test('mint a key: the secret is shown once and works with curl against /v1', async () => {
  await owner.goto(`${DASH}/keys`);
  await owner.click('details.mint summary');
  await owner.fill('#mint-form input[name=name]', 'browser e2e key');
  await owner.fill('#mint-form input[name=cap_daily]', '5');
  await Promise.all([owner.waitForLoadState('load'), owner.click('#mint-form button[type=submit]')]);
  const secret = (await owner.textContent('#new-secret')).trim();
  assert.match(secret, /^cx_live_[A-Za-z0-9]{40}$/);
  await shot(owner, '03-keys-new-secret');
  state.secret = secret;

  await owner.goto(`${DASH}/keys`);
  assert.equal((await owner.content()).includes(secret), false, 'the secret is shown a second time');
  const row = owner.locator('#keys tbody tr', { hasText: 'browser e2e key' });
  assert.match(await row.textContent(), new RegExp(secret.slice(0, 12)));
  state.keyId = await row.getAttribute('data-key-id');

  const r = await curlChat(secret);
  assert.equal(r.status, 200, r.body);
  const body = JSON.parse(r.body);
  assert.equal(body.object, 'chat.completion');
  assert.ok(body.choices[0].message.content.length > 0);
  state.usage = body.usage;
});

test('the call shows up on the usage page with its model, provider and tokens', async () => {
  const seen = await poll(async () => {
    await owner.goto(`${DASH}/usage`);
    return (await owner.textContent('#total-requests')).trim() === '1';
  });
  assert.ok(seen, 'the usage page never showed the request');
  const row = owner.locator('#usage-by-model tbody tr', { hasText: 'gpt-4o-mini' });
  assert.equal(await row.count(), 1);
  const text = await row.textContent();
  assert.match(text, /OpenAI/);
  assert.match(text, new RegExp(String(state.usage.prompt_tokens)));
  assert.ok(await owner.locator('svg.chart rect.bar').count() >= 1, 'no chart bars');
  await shot(owner, '04-usage');

  const csv = await owner.request.get(`${DASH}/usage.csv`);
  assert.equal(csv.status(), 200);
  assert.match(csv.headers()['content-disposition'], /attachment/);
  const lines = (await csv.text()).trim().split(/\r?\n/);
  assert.equal(lines[0].split(',')[0], 'day');
  assert.ok(lines.some((l) => l.includes('"gpt-4o-mini"') && l.includes(',openai,1,')), lines.join('\n'));
});

test('changing the daily spend cap is saved and found in the audit log', async () => {
  await owner.goto(`${DASH}/settings`);
  await owner.fill('#cap_daily', '25');
  await Promise.all([owner.waitForURL(/done=saved/), owner.click('#settings-form button[type=submit]')]);
  assert.equal(await owner.inputValue('#cap_daily'), '25.00');
  await shot(owner, '05-settings');

  await owner.goto(`${DASH}/audit`);
  await owner.selectOption('#audit-filters select[name=action]', 'org.setting.update');
  await Promise.all([owner.waitForURL(/action=org.setting.update/), owner.click('#audit-filters button[type=submit]')]);
  const rows = owner.locator('#audit tbody tr');
  assert.equal(await rows.count(), 1);
  const text = await rows.first().textContent();
  assert.match(text, /"setting":"spend_cap_daily"/);
  assert.match(text, /"after":"25.000000000"/);   // caps are audited in credits
  assert.match(text, new RegExp(OWNER.email.replace('.', '\\.')));
  await shot(owner, '06-audit');

  const json = await owner.request.get(`${DASH}/audit/export?format=json&action=org.setting.update`);
  const doc = await json.json();
  assert.equal(doc.data.length, 1);
  assert.equal(doc.data[0].detail.setting, 'spend_cap_daily');
  assert.equal(doc.data[0].detail.after, '25.000000000');
});

test('revoking the key is audited and the gateway then refuses it', async () => {
  await owner.goto(`${DASH}/keys`);
  const row = owner.locator(`#keys tbody tr[data-key-id="${state.keyId}"]`);
  await Promise.all([owner.waitForURL(/done=revoked/), row.locator('button', { hasText: 'Revoke' }).click()]);
  assert.match(await owner.locator(`#keys tbody tr[data-key-id="${state.keyId}"]`).textContent(), /revoked/);
  // Each httpd child caches keys for ConduixKeyCacheTTL (5 s in the test config): after
  // that every child must refuse the key.
  const revokedAt = Date.now();
  const refused = await poll(async () => (await curlChat(state.secret)).status === 401 && Date.now() - revokedAt > 6000,
    { timeoutMs: 20000, intervalMs: 500 });
  assert.ok(refused, 'the revoked key still works');
  const r = await curlChat(state.secret);
  assert.equal(r.status, 401, r.body);
  assert.equal(JSON.parse(r.body).error.code, 'invalid_api_key', r.body);
  await owner.goto(`${DASH}/audit?action=key.revoke`);
  assert.match(await owner.textContent('#audit tbody'), new RegExp(`key:${state.keyId}`));
});

test('user-controlled fields render inert: key name, member email, BYO slug, audit detail', async () => {
  // key name
  await owner.goto(`${DASH}/keys`);
  await owner.click('details.mint summary');
  await owner.fill('#mint-form input[name=name]', XSS_IMG + XSS_SCRIPT);
  await Promise.all([owner.waitForLoadState('load'), owner.click('#mint-form button[type=submit]')]);
  await owner.goto(`${DASH}/keys`);
  assert.equal(await owner.locator('#keys .key-name', { hasText: XSS_IMG + XSS_SCRIPT }).count(), 1);
  await assertInert(owner, 'keys');

  // member email (invitation list and the one-time link panel)
  await owner.goto(`${DASH}/members`);
  const email = `${XSS_SVG}@evil.test`;
  await owner.fill('#invite-form input[name=email]', email);
  await Promise.all([owner.waitForLoadState('load'), owner.click('#invite-form button[type=submit]')]);
  await owner.waitForSelector('#new-invite');
  await assertInert(owner, 'members (invite created)');
  await owner.goto(`${DASH}/members`);
  assert.equal(await owner.locator('#invites .invite-email', { hasText: email }).count(), 1);
  await assertInert(owner, 'members');

  // BYO slug: refused by validation, echoed back into the form as text
  await owner.goto(`${DASH}/models`);
  await owner.$eval('#byo-add', (f) => { f.noValidate = true; });
  await owner.fill('#byo-add input[name=slug]', XSS_SLUG);
  await owner.fill('#byo-add input[name=base_url]', 'https://93.184.216.34/v1');
  await owner.fill('#byo-add input[name=models]', 'm1');
  await Promise.all([owner.waitForLoadState('load'), owner.click('#byo-add button[type=submit]')]);
  assert.match(await owner.textContent('.flash-error'), /Slug/);
  assert.equal(await owner.inputValue('#byo-add input[name=slug]'), XSS_SLUG);
  await assertInert(owner, 'models (BYO form)');

  // audit detail: the key name travels into key.create's JSON detail
  await owner.goto(`${DASH}/audit?action=key.create`);
  assert.ok((await owner.textContent('#audit tbody')).includes(XSS_IMG), 'payload not in the audit detail');
  await assertInert(owner, 'audit');
});

test('a BYO endpoint on a private address is refused; a public one is added and its credential never shown', async () => {
  await owner.goto(`${DASH}/models`);
  for (const url of ['http://127.0.0.1:8080/v1', 'http://169.254.169.254/latest', 'http://[::1]/v1', 'http://10.1.2.3/v1']) {
    await owner.fill('#byo-add input[name=slug]', 'internal');
    await owner.fill('#byo-add input[name=base_url]', url);
    await owner.fill('#byo-add input[name=models]', 'llama');
    await Promise.all([owner.waitForLoadState('load'), owner.click('#byo-add button[type=submit]')]);
    assert.match(await owner.textContent('.flash-error'), /Base URL refused/, url);
  }
  await owner.fill('#byo-add input[name=slug]', 'my-vllm');
  await owner.fill('#byo-add input[name=base_url]', 'https://93.184.216.34/v1');
  await owner.fill('#byo-add input[name=models]', 'llama-3.1-70b, qwen2.5-coder');
  await owner.fill('#byo-add input[name=credential]', 'sk-byo-very-secret-123');
  await Promise.all([owner.waitForURL(/done=byo-added/), owner.click('#byo-add button[type=submit]')]);
  const row = owner.locator('#byo-list tbody tr', { hasText: 'my-vllm' });
  assert.match(await row.textContent(), /stored/);
  assert.equal((await owner.content()).includes('sk-byo-very-secret-123'), false);
  await shot(owner, '07-models-byo');
});

test('an invitation link lets a new member set a password and sign in', async () => {
  await owner.goto(`${DASH}/members`);
  await owner.fill('#invite-form input[name=email]', 'new.member@acme.test');
  await owner.selectOption('#invite-form select[name=role]', 'member');
  await Promise.all([owner.waitForLoadState('load'), owner.click('#invite-form button[type=submit]')]);
  const link = (await owner.textContent('#invite-link')).trim();
  assert.match(link, /\/dashboard\/accept\?token=[A-Za-z0-9_-]{43}$/);
  await shot(owner, '08-members-invite');

  const ctx = await newContext();
  const page = await ctx.newPage();
  await page.goto(link);
  await shot(page, '09-accept-invite');
  await page.fill('input[name=password]', 'a long enough password');
  await page.fill('input[name=password2]', 'a long enough password');
  await Promise.all([page.waitForURL(/msg=joined/), page.click('button[type=submit]')]);
  await signIn(page, { email: 'new.member@acme.test', password: 'a long enough password' });
  assert.match(await page.textContent('.topbar .badge.role'), /member/);
  const again = await page.goto(link);
  assert.equal(again.status(), 404, 'an invitation link worked twice');
});

test('a viewer sees the dashboard read-only and cannot mint keys', async () => {
  const ctx = await newContext();
  const page = await ctx.newPage();
  await signIn(page, VIEWER);
  await page.goto(`${DASH}/keys`);
  assert.equal(await page.locator('#mint-form').count(), 0);
  await page.goto(`${DASH}/settings`);
  assert.equal(await page.locator('#cap_daily').isDisabled(), true);
  const before = await page.locator('#keys tbody tr').count().catch(() => 0);
  // A forged submission with the viewer's own valid CSRF token is still refused.
  await page.goto(`${DASH}/keys`);
  const resp = await Promise.all([
    page.waitForNavigation(),
    page.evaluate((dash) => {
      const f = document.createElement('form');
      f.method = 'post';
      f.action = `${dash}/keys/mint`;
      for (const [k, v] of [['csrf', document.querySelector('input[name=csrf]').value], ['name', 'viewer key']]) {
        const i = document.createElement('input');
        i.type = 'hidden'; i.name = k; i.value = v; f.appendChild(i);
      }
      document.body.appendChild(f);
      f.submit();
    }, DASH),
  ]).then(([r]) => r);
  assert.equal(resp.status(), 403);
  await shot(page, '10-viewer-forbidden');
  await page.goto(`${DASH}/keys`);
  assert.equal(await page.locator('#keys tbody tr', { hasText: 'viewer key' }).count(), 0);
  assert.ok((await page.locator('#keys tbody tr').count()) >= before);
  const audit = await page.goto(`${DASH}/audit`);
  assert.equal(audit.status(), 403);
});

test('screenshots of every page', async () => {
  const pages = [['usage', '11-usage'], ['models', '12-models'], ['keys', '13-keys'], ['settings', '14-settings'],
    ['audit', '15-audit'], ['billing', '16-billing'], ['members', '17-members'], ['providers', '18-providers']];
  for (const [p, name] of pages) {
    const r = await owner.goto(`${DASH}/${p}`);
    assert.equal(r.status(), 200, p);
    await assertInert(owner, p);
    await shot(owner, name);
  }
  await owner.goto(`${DASH}/keys`);
  assert.equal(await owner.locator('#keys tbody tr', { hasText: 'browser e2e key' }).count(), 1);
  const editable = owner.locator('#keys a', { hasText: 'Edit' }).first();
  await Promise.all([owner.waitForURL(/keys\/edit/), editable.click()]);
  await shot(owner, '19-key-edit');
  const r = await owner.goto(`${DASH}/no-such-page`);
  assert.equal(r.status(), 404);
  await shot(owner, '20-not-found');
  // sign out ends the session
  await owner.goto(`${DASH}/usage`);
  await Promise.all([owner.waitForURL(/msg=signed-out/), owner.click('.topbar form button')]);
  await owner.goto(`${DASH}/usage`);
  assert.match(owner.url(), /\/dashboard\/login$/);
});
