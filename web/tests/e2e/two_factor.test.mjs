// Issue #18: two-factor authentication in the agent app. A new agent enrols from the profile
// (the QR code and the key on the page, the code computed here as an authenticator app would:
// HMAC-SHA1, RFC 6238), keeps the recovery codes, signs out and back in with a code, then with a
// recovery code; an administrator requires it of everyone from Settings → Account, and a member
// without it can only enrol, then continues. axe on the new screens, pt-BR and pl without
// missing keys. (The server side is covered by crates/testkit/tests/api/two_factor.rs.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { BASE, launch, api, axe, signIn, untranslated, shot } from './lib.mjs';

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

const AGENT_PASSWORD = 'agent-password-1';

function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const c of text.replace(/=+$/, '').toUpperCase()) {
    const i = alphabet.indexOf(c);
    if (i < 0) throw new Error(`not base32: ${c}`);
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** RFC 6238 with RFC 4226's dynamic truncation: the 6-digit code of a 30-second step. */
function totp(secret, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', base32Decode(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const n = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(n).padStart(6, '0');
}

/** An authenticator app: a code works once, so a second use in the same step takes the next
 * step's code (the server accepts one step of drift). */
function authenticator(secret) {
  let last = null;
  return () => {
    const now = Math.floor(Date.now() / 1000 / 30);
    const step = last === null ? now : Math.max(now, last + 1);
    assert.ok(step <= now + 1, 'no unused code within the drift window');
    last = step;
    return totp(secret, step);
  };
}

/** Six digits that are no code of any step the server could accept now. */
function wrongCode(secret) {
  const now = Math.floor(Date.now() / 1000 / 30);
  const valid = new Set([now - 1, now, now + 1, now + 2].map((s) => totp(secret, s)));
  let n = Number(totp(secret, now));
  for (;;) {
    n = (n + 1) % 1_000_000;
    const candidate = String(n).padStart(6, '0');
    if (!valid.has(candidate)) return candidate;
  }
}

/** A new agent with a password, to sign in as (the suite's administrator keeps signing in with
 * a password alone). */
async function newAgent(name) {
  const email = `${name.toLowerCase().replace(/\W+/g, '-')}-${Date.now()}@browser.test`;
  await api('POST', '{acc}/agents', { name, email, role: 'agent', password: AGENT_PASSWORD });
  return email;
}

async function passwordStep(page, email, locale) {
  await page.goto(`${BASE}/login`);
  await page.evaluate((l) => localStorage.setItem('tl.locale', l), locale);
  await page.goto(`${BASE}/login`);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', AGENT_PASSWORD);
  await page.click('button[type=submit]');
}

async function signOut(page) {
  await page.locator('nav.rail button').last().click();
  await page.waitForURL(/\/login$/);
}

test('enrol in the profile, then sign in with a code and with a recovery code', async () => {
  const email = await newAgent('Tess Factor');
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));

  await passwordStep(page, email, 'en');
  await page.waitForURL(/\/app\/accounts\/\d+\/conversations/);
  await page.goto(`${BASE}/app/profile`);
  const section = page.locator('section.two-factor');
  await section.getByRole('button', { name: 'Set up two-factor authentication' }).click();
  const secret = (await section.getByTestId('mfa-secret').innerText()).trim();
  assert.match(secret, /^[A-Z2-7]{32}$/);
  const qr = section.getByRole('img', { name: 'QR code to scan with your authenticator app' });
  await qr.waitFor();
  assert.ok(await qr.evaluate((img) => img.complete && img.naturalWidth > 0), 'the QR code is drawn');
  assert.deepEqual(await axe(page), [], 'axe on the enrolment');
  await shot(page, 'two-factor-enrol');

  const code = authenticator(secret);
  await section.getByLabel('Code from your authenticator app').fill(wrongCode(secret));
  await section.getByRole('button', { name: 'Turn on' }).click();
  await section.getByRole('alert').filter({ hasText: 'That code is wrong or was already used.' }).waitFor();
  await section.getByLabel('Code from your authenticator app').fill(code());
  await section.getByRole('button', { name: 'Turn on' }).click();
  const list = section.getByTestId('recovery-codes');
  await list.waitFor();
  const recovery = (await list.locator('li').allInnerTexts()).map((c) => c.trim());
  assert.equal(recovery.length, 10);
  assert.match(recovery[0], /^[a-z2-9]{5}-[a-z2-9]{5}$/);
  const download = section.getByRole('link', { name: 'Download' });
  assert.equal(await download.getAttribute('download'), 'throughline-recovery-codes.txt');
  assert.ok(decodeURIComponent(await download.getAttribute('href')).includes(recovery[9]));
  assert.deepEqual(await axe(page), [], 'axe on the recovery codes');
  await shot(page, 'two-factor-recovery-codes');
  await section.getByRole('button', { name: 'I have saved them' }).click();
  await section.getByText('Two-factor authentication is on.').waitFor();
  await section.getByText('Recovery codes left: 10').waitFor();
  assert.deepEqual(await axe(page), [], 'axe on the profile with two-factor authentication on');

  // Signed out, the password asks for the second step (here in Polish).
  await signOut(page);
  await passwordStep(page, email, 'pl');
  const step = page.locator('form[aria-labelledby=mfa-title]');
  await step.getByRole('heading', { name: 'Uwierzytelnianie dwuskładnikowe' }).waitFor();
  assert.deepEqual(await axe(page), [], 'axe on the second step');
  assert.deepEqual(await untranslated(page), [], 'untranslated keys in pl');
  await shot(page, 'two-factor-sign-in');
  await step.getByLabel('Kod z aplikacji uwierzytelniającej').fill(code());
  await step.getByRole('button', { name: 'Zweryfikuj' }).click();
  await page.waitForURL(/\/app\/accounts\/\d+\/conversations/);
  await page.goto(`${BASE}/app/profile`);
  await page.getByText('Uwierzytelnianie dwuskładnikowe jest włączone.').waitFor();
  assert.deepEqual(await untranslated(page), [], 'untranslated keys in pl (profile)');

  // And with a recovery code (in Brazilian Portuguese); a used one is refused.
  await signOut(page);
  await passwordStep(page, email, 'pt-BR');
  await step.getByRole('button', { name: 'Usar um código de recuperação' }).click();
  await step.getByLabel('Código de recuperação').fill(recovery[0]);
  await step.getByRole('button', { name: 'Verificar' }).click();
  await page.waitForURL(/\/app\/accounts\/\d+\/conversations/);
  assert.deepEqual(await untranslated(page), [], 'untranslated keys in pt-BR');
  await page.goto(`${BASE}/app/profile`);
  await page.getByText('Códigos de recuperação restantes: 9').waitFor();
  assert.deepEqual(await untranslated(page), [], 'untranslated keys in pt-BR (profile)');
  await signOut(page);
  await passwordStep(page, email, 'pt-BR');
  await step.getByRole('button', { name: 'Usar um código de recuperação' }).click();
  await step.getByLabel('Código de recuperação').fill(recovery[0]);
  await step.getByRole('button', { name: 'Verificar' }).click();
  await step.getByRole('alert').filter({ hasText: 'Esse código de recuperação está errado ou já foi usado.' }).waitFor();
  assert.deepEqual(await untranslated(page), [], 'untranslated keys in pt-BR (second step)');

  assert.deepEqual(errors, []);
  await context.close();
});

test('an administrator requires it; a member without it can only enrol, then continues', async () => {
  const email = await newAgent('Gate Keeper');
  try {
    // The administrator requires it of everyone from Settings → Account: their own session
    // (no second factor) now shows only the enrolment.
    const admin = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await admin.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await signIn(page);
    const accountId = /accounts\/(\d+)/.exec(page.url())[1];
    await page.goto(`${BASE}/app/accounts/${accountId}/settings/account`);
    const select = page.getByLabel('Require two-factor authentication');
    await select.waitFor();
    assert.equal(await select.inputValue(), 'off');
    await select.selectOption('everyone');
    await page.getByText('This includes you: you will be asked to set it up before you can continue.').waitFor();
    assert.deepEqual(await axe(page), [], 'axe on the account settings');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByRole('heading', { name: 'Set up two-factor authentication' }).waitFor();
    assert.equal((await api('GET', '{acc}')).settings.mfa_enforcement, 'everyone');
    assert.deepEqual(await axe(page), [], 'axe on the enrolment gate');
    assert.deepEqual(errors, []);
    await admin.close();

    // A member without it, signing in (in Brazilian Portuguese), can only enrol; then the app.
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const member = await context.newPage();
    member.on('pageerror', (e) => errors.push(e.message));
    await passwordStep(member, email, 'pt-BR');
    const gate = member.locator('main.gate');
    await gate.getByRole('heading', { name: 'Configure a autenticação de dois fatores' }).waitFor();
    assert.deepEqual(await untranslated(member), [], 'untranslated keys in pt-BR (gate)');
    // Nothing else answers: the conversations list is refused by the server.
    const refused = await member.evaluate(async (id) => (await fetch(`/api/v1/accounts/${id}/conversations`)).status, accountId);
    assert.equal(refused, 403);
    await gate.getByRole('button', { name: 'Configurar a autenticação de dois fatores' }).click();
    const secret = (await gate.getByTestId('mfa-secret').innerText()).trim();
    await gate.getByLabel('Código do seu aplicativo autenticador').fill(authenticator(secret)());
    await gate.getByRole('button', { name: 'Ativar' }).click();
    await gate.getByTestId('recovery-codes').waitFor();
    assert.deepEqual(await axe(member), [], 'axe on the gate with the recovery codes');
    await shot(member, 'two-factor-gate');
    await gate.getByRole('button', { name: 'Já os guardei' }).click();
    await member.locator('nav.rail').waitFor();
    await member.waitForURL(/\/app\/accounts\/\d+\/conversations/);
    assert.deepEqual(await untranslated(member), [], 'untranslated keys in pt-BR (after the gate)');
    const allowed = await member.evaluate(async (id) => (await fetch(`/api/v1/accounts/${id}/conversations`)).status, accountId);
    assert.equal(allowed, 200);
    assert.deepEqual(errors, []);
    await context.close();
  } finally {
    // The other suites sign the administrator in with a password alone.
    await api('PATCH', '{acc}', { mfa_enforcement: 'off' });
  }
});
