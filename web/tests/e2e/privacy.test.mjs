// Issue #18: the privacy tools and invitations in the agent app. An administrator exports a
// contact's data from the contact panel (a progress bar, then a zip holding contact.json and the
// conversation), erases the contact through a confirmation that asks for its name (the receipt's
// counts show, the contact's view goes, the API answers 404), sets the data retention policy in
// Settings → Account (the server's 422 shown by the field, the policy read back through the API)
// and finds the erasure among the receipts. A user invited to two other accounts (made through
// the Platform API, with an administrator of their own) declines one and accepts the other, which
// joins the account switcher without a reload. axe on each new screen; pt-BR and pl with no key
// missing. (The server side is covered by crates/testkit/tests/api/privacy.rs and account_security.rs.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';
import { BASE, launch, api, axe, signIn, untranslated, shot } from './lib.mjs';

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

/** A zip's entries, read from its central directory: name → bytes (stored or deflated). */
function unzip(zip) {
  assert.equal(zip.toString('latin1', 0, 4), 'PK\x03\x04', 'a zip starts with a local file header');
  // The end of central directory record: the last PK\5\6 (a comment of up to 64 KB may follow).
  let end = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff) && end < 0; i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) end = i;
  }
  assert.ok(end >= 0, 'the zip has an end of central directory record');
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const entries = new Map();
  for (let n = 0; n < count; n++) {
    assert.equal(zip.readUInt32LE(at), 0x02014b50, 'a central directory entry');
    const method = zip.readUInt16LE(at + 10);
    const size = zip.readUInt32LE(at + 20);
    const [nameLength, extraLength, commentLength] = [28, 30, 32].map((o) => zip.readUInt16LE(at + o));
    const local = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength);
    const data = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const raw = zip.subarray(data, data + size);
    entries.set(name, method === 0 ? raw : method === 8 ? inflateRawSync(raw) : null);
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** A contact of a fresh API inbox with one conversation: a customer's message and a private note. */
let made = 0;
async function contactWithConversation(name, text) {
  const stamp = `${Date.now()}-${++made}`;
  const inbox = await api('POST', '{acc}/inboxes', { name: `Privacy app ${stamp}`, channel: { type: 'api' } });
  const email = `customer.${stamp}@erase.example`;
  const contact = (await api('POST', '{acc}/contacts', { name, email, inbox_id: inbox.id })).payload.contact;
  const conversation = await api('POST', '{acc}/conversations', { inbox_id: inbox.id, contact_id: contact.id });
  await api('POST', `{acc}/conversations/${conversation.id}/messages`, { content: text, message_type: 'incoming' });
  await api('POST', `{acc}/conversations/${conversation.id}/messages`, { content: `Private note about ${name}`, private: true });
  return { contact, conversation, accountId: conversation.account_id };
}

const TEXTS = {
  en: {
    privacy: 'Privacy', export: 'Export data', progress: 'Export progress', queued: 'Export queued: waiting to start…',
    download: /^Download the zip \(/, erase: 'Erase all data', undo: 'This cannot be undone.', confirm: 'Erase permanently',
    erased: 'Contact erased', messages: 'Messages', conversations: 'Conversations',
  },
  'pt-BR': {
    privacy: 'Privacidade', export: 'Exportar dados', progress: 'Progresso da exportação', queued: 'Exportação na fila: aguardando o início…',
    download: /^Baixar o zip \(/, erase: 'Apagar todos os dados', undo: 'Isto não pode ser desfeito.', confirm: 'Apagar definitivamente',
    erased: 'Contato apagado', messages: 'Mensagens', conversations: 'Conversas',
  },
  pl: {
    privacy: 'Prywatność', export: 'Eksportuj dane', progress: 'Postęp eksportu', queued: 'Eksport w kolejce: czeka na rozpoczęcie…',
    download: /^Pobierz plik zip \(/, erase: 'Usuń wszystkie dane', undo: 'Tego nie można cofnąć.', confirm: 'Usuń na zawsze',
    erased: 'Kontakt usunięty', messages: 'Wiadomości', conversations: 'Rozmowy',
  },
};

/** Export from the contact panel: the bar shows while the first look at the export is held
 * back (so the bar is seen whatever the timer's speed), then the download link; answers the zip. */
async function exportFromPanel(page, locale) {
  const words = TEXTS[locale];
  const privacy = page.locator('aside.panel section.privacy');
  await privacy.getByRole('heading', { name: words.privacy }).waitFor();
  let release;
  const held = new Promise((resolve) => (release = resolve));
  let looks = 0;
  const status = /\/api\/v1\/accounts\/\d+\/contacts\/\d+\/exports\/\d+$/;
  await page.route(status, async (route) => {
    if (looks++ === 0) await held;
    await route.continue();
  });
  await privacy.getByRole('button', { name: words.export }).click();
  const bar = privacy.getByRole('progressbar', { name: words.progress });
  await bar.waitFor();
  assert.equal(await bar.evaluate((b) => b.value), 0, 'a new export starts at 0 %');
  await privacy.getByText(words.queued).waitFor();
  assert.equal(await privacy.getByRole('button', { name: words.export }).isDisabled(), true, 'one export at a time');
  assert.deepEqual(await axe(page, 'aside.panel'), [], `${locale}: axe on the export in progress`);
  assert.deepEqual(await untranslated(page), [], `${locale}: untranslated (export in progress)`);
  if (locale === 'en') await shot(page, 'privacy-export-progress');
  release();
  const link = privacy.getByRole('link', { name: words.download });
  await link.waitFor();
  await page.unroute(status);
  assert.ok(looks >= 1, 'the panel followed the export');
  assert.equal(await bar.count(), 0, 'the bar gives way to the link');
  assert.deepEqual(await axe(page, 'aside.panel'), [], `${locale}: axe on the finished export`);
  assert.deepEqual(await untranslated(page), [], `${locale}: untranslated (export done)`);
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  assert.match(download.suggestedFilename(), /^contact-\d+-export-\d+\.zip$/);
  return { zip: readFileSync(await download.path()), name: download.suggestedFilename() };
}

/** Erase from the contact panel: the confirmation asks for the contact's name. */
async function eraseFromPanel(page, locale, name) {
  const words = TEXTS[locale];
  const privacy = page.locator('aside.panel section.privacy');
  await privacy.getByRole('button', { name: words.erase }).click();
  const form = privacy.locator('form.confirm');
  await form.getByText(words.undo).waitFor();
  const confirm = form.getByRole('button', { name: words.confirm });
  const typed = form.locator('input[name=erase_confirm]');
  assert.equal(await confirm.isDisabled(), true, 'nothing typed: nothing erased');
  await typed.fill(name.slice(0, -1));
  assert.equal(await confirm.isDisabled(), true, 'not quite the name: nothing erased');
  await typed.fill(name);
  assert.equal(await confirm.isDisabled(), false);
  assert.deepEqual(await axe(page, 'aside.panel'), [], `${locale}: axe on the erase confirmation`);
  assert.deepEqual(await untranslated(page), [], `${locale}: untranslated (erase confirmation)`);
  if (locale === 'en') await shot(page, 'privacy-erase-confirm');
  await confirm.click();
}

test('export a contact, erase it through the confirmation, set the retention policy', async () => {
  const stamp = Date.now();
  const name = `Erin Erase ${stamp}`;
  const TEXT = `Please forget me ${stamp}`;
  const { contact, conversation, accountId } = await contactWithConversation(name, TEXT);
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await signIn(page);
  await page.goto(`${BASE}/app/accounts/${accountId}/conversations/${conversation.id}`);
  await page.locator('article.message', { hasText: TEXT }).waitFor();

  // Export: progress, then the zip with contact.json and the conversation's file.
  const { zip, name: fileName } = await exportFromPanel(page, 'en');
  assert.ok(fileName.startsWith(`contact-${contact.id}-export-`), fileName);
  const entries = unzip(zip);
  assert.ok(entries.has('contact.json'), `entries: ${[...entries.keys()]}`);
  assert.ok(entries.has('README.txt'), `entries: ${[...entries.keys()]}`);
  assert.equal(JSON.parse(entries.get('contact.json').toString('utf8')).contact.name, name);
  const file = `conversations/${conversation.id}.json`;
  assert.ok(entries.has(file), `entries: ${[...entries.keys()]}`);
  const messages = JSON.parse(entries.get(file).toString('utf8')).messages.map((m) => m.content);
  assert.ok(messages.includes(TEXT) && messages.includes(`Private note about ${name}`), `messages: ${messages}`);

  // Erase: the receipt's counts show in the shell, the contact's view is gone, the API says 404.
  await eraseFromPanel(page, 'en', name);
  await page.waitForURL(`${BASE}/app/accounts/${accountId}/conversations`);
  const notice = page.locator('section.erased');
  await notice.getByRole('heading', { name: 'Contact erased' }).waitFor();
  const receipt = (await api('GET', '{acc}/erasure_receipts')).payload.find((r) => r.contact_id === contact.id);
  assert.ok(receipt, 'the erasure left a receipt');
  assert.equal(receipt.kind, 'contact');
  assert.equal(receipt.counts.contacts, 1);
  assert.equal(receipt.counts.conversations, 1);
  assert.equal(receipt.counts.private_notes, 1);
  assert.equal(await notice.getAttribute('data-receipt'), String(receipt.id));
  assert.equal(await notice.locator('li[data-kind=conversations]').innerText(), 'Conversations: 1');
  assert.equal(await notice.locator('li[data-kind=messages]').innerText(), `Messages: ${receipt.counts.messages}`);
  assert.equal(await notice.locator('li[data-kind=private_notes]').innerText(), 'Private notes: 1');
  assert.equal(await notice.locator('li').count(), Object.values(receipt.counts).filter((n) => n !== 0).length, 'every count shows');
  assert.equal(await page.locator('aside.panel').count(), 0, 'the contact panel is gone');
  await assert.rejects(api('GET', `{acc}/contacts/${contact.id}`), /: 404 /);
  await assert.rejects(api('GET', `{acc}/conversations/${conversation.id}`), /: 404 /);
  assert.deepEqual(await axe(page, 'section.erased'), [], 'axe on the receipt');
  await shot(page, 'privacy-erased');
  await notice.getByRole('button', { name: 'Dismiss' }).click();
  assert.equal(await notice.count(), 0);

  // Retention in Settings → Account: a bad value is refused by the server, shown by its field.
  try {
    await page.goto(`${BASE}/app/accounts/${accountId}/settings/account`);
    const retention = page.locator('section.retention');
    const action = retention.getByLabel('Resolved conversations');
    await action.waitFor();
    assert.equal(await action.inputValue(), 'off');
    await action.selectOption('anonymise');
    const months = retention.getByLabel('Months after being resolved');
    await months.fill('5000');
    const save = retention.getByRole('button', { name: 'Save the retention policy' });
    await save.click();
    const fieldError = retention.locator('#retention-error-months');
    await fieldError.waitFor();
    assert.match(await fieldError.innerText(), /from 0 to 1200/);
    assert.equal(await months.getAttribute('aria-invalid'), 'true');
    assert.match(await months.getAttribute('aria-describedby'), /retention-error-months/);
    assert.equal((await api('GET', '{acc}/data_retention')).data_retention, null, 'nothing was stored');
    assert.deepEqual(await axe(page, 'section.body'), [], 'axe on the refused retention policy');
    await months.fill('18');
    await save.click();
    await retention.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
    assert.equal(await fieldError.count(), 0);
    assert.deepEqual((await api('GET', '{acc}/data_retention')).data_retention, { resolved_conversations_after_months: 18, action: 'anonymise' });
    // Read back on a fresh page.
    await page.reload();
    await action.waitFor();
    assert.equal(await action.inputValue(), 'anonymise');
    assert.equal(await months.inputValue(), '18');

    // The receipt of the erasure: when, by whom, what.
    const row = page.locator(`section.receipts tr[data-receipt="${receipt.id}"]`);
    const profile = await api('GET', '/api/v1/profile');
    // By whom: the agents' names arrive with the account's reference data.
    await row.locator('td', { hasText: profile.available_name }).waitFor();
    const cells = await row.locator('td').allInnerTexts();
    assert.equal(cells[1], `Contact #${contact.id} erased`);
    assert.equal(cells[2], profile.available_name);
    assert.match(cells[3], /Conversations: 1/);
    assert.match(cells[3], new RegExp(`Messages: ${receipt.counts.messages}\\b`));
    assert.deepEqual(await axe(page, 'section.body'), [], 'axe on the account settings with privacy');
    assert.deepEqual(await untranslated(page), [], 'untranslated (account settings)');
    await shot(page, 'privacy-settings');

    // Off again, from the screen.
    await action.selectOption('off');
    assert.equal(await months.count(), 0, 'no months without a policy');
    await save.click();
    await retention.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
    assert.equal((await api('GET', '{acc}/data_retention')).data_retention, null);
  } finally {
    await api('DELETE', '{acc}/data_retention');
  }
  assert.deepEqual(errors, []);
  await context.close();
});

test('the privacy screens in Brazilian Portuguese and Polish', async () => {
  for (const locale of ['pt-BR', 'pl']) {
    const stamp = Date.now();
    const name = `Łucja Zażółć ${locale} ${stamp}`;
    const { contact, conversation, accountId } = await contactWithConversation(name, `Olá ${stamp}`);
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await signIn(page, locale);
    await page.goto(`${BASE}/app/accounts/${accountId}/conversations/${conversation.id}`);
    await page.locator('article.message', { hasText: `Olá ${stamp}` }).waitFor();
    const { zip } = await exportFromPanel(page, locale);
    assert.ok(unzip(zip).has('contact.json'));
    await eraseFromPanel(page, locale, name);
    const notice = page.locator('section.erased');
    await notice.getByRole('heading', { name: TEXTS[locale].erased }).waitFor();
    assert.equal(await notice.locator('li[data-kind=conversations]').innerText(), `${TEXTS[locale].conversations}: 1`);
    assert.deepEqual(await untranslated(page), [], `${locale}: untranslated (receipt)`);
    assert.deepEqual(await axe(page, 'section.erased'), [], `${locale}: axe on the receipt`);
    await assert.rejects(api('GET', `{acc}/contacts/${contact.id}`), /: 404 /);

    await page.goto(`${BASE}/app/accounts/${accountId}/settings/account`);
    const row = page.locator('section.receipts tbody tr').first();
    await row.waitFor();
    await page.locator('section.retention select[name=retention_action]').selectOption('delete');
    await page.locator('section.retention input[name=retention_months]').waitFor();
    assert.deepEqual(await untranslated(page), [], `${locale}: untranslated (account settings)`);
    assert.deepEqual(await axe(page, 'section.body'), [], `${locale}: axe on the account settings`);
    await shot(page, `privacy-settings-${locale}`);
    assert.deepEqual(errors, []);
    await context.close();
  }
});

// ------------------------------------------------------------------ invitations

/** The Platform API, with the token of the app scripts/browser-tests created. */
async function platform(method, path, body) {
  assert.ok(process.env.PLATFORM_TOKEN, 'PLATFORM_TOKEN (scripts/browser-tests creates a platform app)');
  const r = await fetch(`${BASE}/platform/api/v1${path}`, {
    method, headers: { 'content-type': 'application/json', api_access_token: process.env.PLATFORM_TOKEN },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  assert.ok(r.ok, `${method} ${path}: ${r.status} ${text}`);
  return JSON.parse(text);
}

/** Another account with an administrator of its own (made through the Platform API). */
async function otherAccount(name, admin) {
  const account = await platform('POST', '/accounts', { name });
  await platform('POST', `/accounts/${account.id}/account_users`, { user_id: admin.id, role: 'administrator' });
  return account;
}

/** As the other account's administrator (their own token), add an agent by email: the email
 * of an existing user becomes an invitation. */
async function invite(admin, accountId, email, role) {
  const r = await fetch(`${BASE}/api/v1/accounts/${accountId}/agents`, {
    method: 'POST', headers: { 'content-type': 'application/json', api_access_token: admin.access_token },
    body: JSON.stringify({ name: 'Ivo Invited', email, role }),
  });
  assert.equal(r.status, 200, await r.text());
}

const INVITED_PASSWORD = 'invited-password-1';

async function signInAs(page, email, locale) {
  await page.goto(`${BASE}/login`);
  await page.evaluate((l) => localStorage.setItem('tl.locale', l), locale);
  await page.goto(`${BASE}/login`);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', INVITED_PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForURL(/\/app\/accounts\/\d+\/conversations/);
}

test('an invited user declines one invitation and accepts another: the account joins the switcher', async () => {
  const stamp = Date.now();
  // The invited user: an agent of the suite's account.
  const email = `ivo.${stamp}@browser.test`;
  await api('POST', '{acc}/agents', { name: 'Ivo Invited', email, role: 'agent', password: INVITED_PASSWORD });
  const home = await api('GET', '{acc}');
  // Two other accounts, each with its administrator, who invite the user.
  const inviter = await platform('POST', '/users', { name: `Bea Inviter ${stamp}`, email: `bea.${stamp}@other.test`, password: 'bea-password-1' });
  assert.ok(inviter.access_token);
  const beta = await otherAccount(`Beta Shop ${stamp}`, inviter);
  const gamma = await otherAccount(`Gamma Shop ${stamp}`, inviter);
  await invite(inviter, beta.id, email, 'agent');
  await invite(inviter, gamma.id, email, 'administrator');

  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));

  // The banner in the shell, in Polish and Brazilian Portuguese first.
  const banner = page.locator('section.invitations.banner');
  await signInAs(page, email, 'pl');
  await banner.locator('li', { hasText: `Beta Shop ${stamp}` }).waitFor();
  assert.match(await banner.locator('li', { hasText: `Gamma Shop ${stamp}` }).innerText(), new RegExp(`Bea Inviter ${stamp} zaprasza Cię do konta Gamma Shop ${stamp} jako Administrator`));
  assert.deepEqual(await untranslated(page), [], 'pl: untranslated (invitations)');
  assert.deepEqual(await axe(page, 'section.invitations'), [], 'pl: axe on the invitations');
  await page.evaluate(() => localStorage.setItem('tl.locale', 'pt-BR'));
  await page.reload();
  await banner.getByRole('heading', { name: 'Convites' }).waitFor();
  assert.deepEqual(await untranslated(page), [], 'pt-BR: untranslated (invitations)');
  await page.evaluate(() => localStorage.setItem('tl.locale', 'en'));
  await page.reload();

  // One account only: no switcher yet.
  const switcher = page.locator('nav.rail .switch select');
  await banner.getByRole('heading', { name: 'Invitations' }).waitFor();
  assert.equal(await switcher.count(), 0);
  const betaItem = banner.locator('li', { hasText: `Beta Shop ${stamp}` });
  assert.match(await betaItem.innerText(), new RegExp(`Bea Inviter ${stamp} invited you to join Beta Shop ${stamp} as Agent\\.`));
  assert.deepEqual(await axe(page, 'section.invitations'), [], 'axe on the invitations banner');
  await shot(page, 'invitations-banner');
  // From here on, no page load: a reload would lose this mark.
  await page.evaluate(() => (window.__sameDocument = true));

  // Decline Gamma's in the profile (reached through the rail: same document).
  await page.locator('nav.rail a[href="/app/profile"]').click();
  const section = page.locator('section.invitations:not(.banner)');
  const gammaItem = section.locator('li', { hasText: `Gamma Shop ${stamp}` });
  await gammaItem.waitFor();
  assert.equal(await banner.count(), 0, 'the profile shows them itself');
  assert.deepEqual(await axe(page, 'section.invitations'), [], 'axe on the profile invitations');
  await gammaItem.getByRole('button', { name: 'Decline' }).click();
  await section.getByRole('status').filter({ hasText: `You declined the invitation to Gamma Shop ${stamp}.` }).waitFor();
  assert.equal(await gammaItem.count(), 0);

  // Accept Beta's from the banner: the account joins the switcher at once.
  await page.locator('nav.rail a', { hasText: 'Conversations' }).click();
  await betaItem.getByRole('button', { name: 'Accept' }).click();
  await banner.getByRole('status').filter({ hasText: `You joined Beta Shop ${stamp}.` }).waitFor();
  await switcher.waitFor();
  const options = await switcher.locator('option').allInnerTexts();
  assert.deepEqual(options.sort(), [home.name, `Beta Shop ${stamp}`].sort(), 'the switcher lists both accounts, not the declined one');
  assert.equal(await page.evaluate(() => window.__sameDocument), true, 'no reload');
  assert.deepEqual(await axe(page, 'section.invitations'), [], 'axe after accepting');
  await shot(page, 'invitations-accepted');

  // The server agrees, and the new account opens.
  const profile = await page.evaluate(async () => (await fetch('/api/v1/profile')).json());
  assert.deepEqual(profile.accounts.map((a) => a.id).sort((a, b) => a - b), [home.id, beta.id].sort((a, b) => a - b));
  assert.equal(profile.accounts.find((a) => a.id === beta.id).role, 'agent');
  assert.deepEqual(profile.pending_invitations, []);
  await banner.getByRole('button', { name: `Open Beta Shop ${stamp}` }).click();
  await page.waitForURL(`${BASE}/app/accounts/${beta.id}/conversations`);
  assert.equal(await switcher.inputValue(), String(beta.id));
  await page.getByText('No conversations here.').waitFor();
  assert.equal(await page.getByRole('alert').count(), 0, 'the new account answers its member');
  assert.equal(await page.evaluate(() => window.__sameDocument), true, 'still no reload');
  assert.deepEqual(errors, []);
  await context.close();
});
