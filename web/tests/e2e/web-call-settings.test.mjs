// A website inbox's calls from the widget (WebRTC): an administrator turns them on under Settings →
// Inboxes, with video, a ring of 30 seconds, a STUN server and a TURN server. The video switch is
// off-limits until calls are on. A TURN row without its credential is refused by its row before
// anything is sent; the server's own refusal of such a row (the body changed on its way, as
// another client could send it) is shown by the same row. Saved, the setting is read back through
// the API (the inbox and the inboxes' list) and shown again after a reload; a removed server is
// gone once saved. The section passes axe in en, pt-BR and pl.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, api, axe, signIn, widgetInbox, untranslated, shot } from './lib.mjs';

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

const WAIT = { timeout: 30_000 };
const SECTION = '[data-testid=inbox-web-calls]';

async function openCalls(page, accountId, name) {
  await page.goto(`${BASE}/app/accounts/${accountId}/settings/inboxes`);
  await page.getByRole('button', { name: new RegExp(name) }).click();
  const section = page.locator(SECTION);
  await section.locator('form.web-calls-form').waitFor(WAIT);
  return section;
}

test('a website inbox\'s calls from the widget are set, refused by the row at fault, and kept', { timeout: 240_000 }, async () => {
  const stamp = Date.now();
  const { id: accountId } = await api('GET', '{acc}');
  const inbox = await widgetInbox(`Loja ${stamp}`);
  assert.deepEqual((await api('GET', `{acc}/inboxes/${inbox.id}`)).web_calls, { enabled: false, video: false, callbacks: false, ring_seconds: 20, ice_servers: [] });

  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await signIn(page, 'en');
    let section = await openCalls(page, accountId, `Loja ${stamp}`);
    await section.getByRole('heading', { name: 'Calls from the widget' }).waitFor(WAIT);

    // Nothing set: calls off, video off and not to be chosen, 20 seconds, no servers.
    const enabled = section.getByRole('switch', { name: 'Visitors can call' });
    const video = section.getByRole('switch', { name: 'Video' });
    const ring = section.getByLabel('How long each agent\'s app rings, in seconds');
    assert.equal(await enabled.isChecked(), false);
    assert.equal(await video.isChecked(), false);
    assert.equal(await video.isDisabled(), true, 'video only once calls are on');
    assert.equal(await ring.inputValue(), '20');
    await section.getByText('None are needed when visitors and agents share a network').waitFor(WAIT);
    await section.getByText('No servers:').waitFor(WAIT);

    await enabled.check();
    assert.equal(await video.isDisabled(), false);
    await video.check();
    await ring.fill('30');
    await section.getByRole('button', { name: 'Add a server' }).click();
    await section.getByLabel('URLs of server 1').fill('stun:stun.example.com:3478');
    await section.getByRole('button', { name: 'Add a server' }).click();
    await section.getByLabel('URLs of server 2').fill('turn:turn.example.com:3478?transport=udp');
    await section.getByLabel('Username of server 2').fill('loja');

    // A TURN server without its credential: refused by its row, nothing sent.
    const save = section.getByRole('button', { name: 'Save call settings' });
    await save.click();
    const second = section.locator('li[data-server="1"]');
    const credential = section.getByLabel('Credential of server 2');
    const refused = second.locator('.error[data-part=credential]');
    await refused.filter({ hasText: 'A TURN server needs a credential.' }).waitFor(WAIT);
    assert.equal(await credential.getAttribute('aria-invalid'), 'true');
    assert.equal(await credential.getAttribute('aria-describedby'), await refused.getAttribute('id'));
    assert.equal(await section.getByLabel('Username of server 2').getAttribute('aria-invalid'), null);
    assert.equal(await section.locator('li[data-server="0"] .error').count(), 0, 'the STUN row is fine');
    assert.equal(await section.locator('.field-error').count(), 1, 'only the credential is at fault');
    assert.equal((await api('GET', `{acc}/inboxes/${inbox.id}`)).web_calls.enabled, false, 'nothing was sent');
    assert.deepEqual(await axe(page), [], 'the call settings with a refused row');
    assert.deepEqual(await axe(page, SECTION), [], 'the section itself');

    // The server's own refusal of such a row (its credential dropped on the way) is shown by the
    // same row, in the server's words.
    const inboxUrl = new RegExp(`/api/v1/accounts/${accountId}/inboxes/${inbox.id}$`);
    const tamper = (route) => {
      const request = route.request();
      if (request.method() !== 'PATCH') return route.continue();
      const body = JSON.parse(request.postData());
      delete body.channel.web_calls.ice_servers[1].credential;
      return route.continue({ postData: JSON.stringify(body) });
    };
    await page.route(inboxUrl, tamper);
    await credential.fill('s3cret-turn');
    await save.click();
    await refused.filter({ hasText: 'a TURN server needs a username and a credential' }).waitFor(WAIT);
    assert.equal(await credential.getAttribute('aria-invalid'), 'true');
    assert.equal(await section.locator('.field-error').count(), 1);
    assert.equal(await section.locator('li[data-server="0"] .error').count(), 0);
    await page.unroute(inboxUrl, tamper);
    assert.equal((await api('GET', `{acc}/inboxes/${inbox.id}`)).web_calls.enabled, false, 'the refused setting was not kept');
    await second.scrollIntoViewIfNeeded();
    await shot(page, 'web-call-settings-refused');

    // Saved, and read back through the API.
    await save.click();
    await section.getByRole('status').filter({ hasText: 'Saved' }).waitFor(WAIT);
    assert.equal(await section.locator('.error').count(), 0);
    assert.equal(await credential.getAttribute('aria-invalid'), null);
    const expected = {
      enabled: true,
      video: true,
      callbacks: false,
      ring_seconds: 30,
      ice_servers: [
        { urls: ['stun:stun.example.com:3478'] },
        { urls: ['turn:turn.example.com:3478?transport=udp'], username: 'loja', credential: 's3cret-turn' },
      ],
    };
    assert.deepEqual((await api('GET', `{acc}/inboxes/${inbox.id}`)).web_calls, expected);
    const listed = (await api('GET', '{acc}/inboxes')).payload.find((i) => i.id === inbox.id);
    assert.deepEqual(listed.web_calls, expected, 'the inboxes\' list shows it too');
    assert.deepEqual(await axe(page), [], 'the call settings saved');
    assert.deepEqual(await untranslated(page), []);

    // Kept: reloaded, the form shows what was saved.
    await page.reload();
    section = await openCalls(page, accountId, `Loja ${stamp}`);
    assert.equal(await enabled.isChecked(), true);
    assert.equal(await video.isChecked(), true);
    assert.equal(await ring.inputValue(), '30');
    assert.equal(await section.getByLabel('URLs of server 1').inputValue(), 'stun:stun.example.com:3478');
    assert.equal(await section.getByLabel('URLs of server 2').inputValue(), 'turn:turn.example.com:3478?transport=udp');
    assert.equal(await section.getByLabel('Username of server 2').inputValue(), 'loja');
    assert.equal(await section.getByLabel('Credential of server 2').inputValue(), 's3cret-turn');
    await section.getByRole('button', { name: 'Save call settings' }).scrollIntoViewIfNeeded();
    await shot(page, 'web-call-settings');

    // A server removed, calls on voice only, callbacks offered: kept once saved.
    await section.getByRole('button', { name: 'Remove server 1' }).click();
    assert.equal(await section.getByLabel('URLs of server 1').inputValue(), 'turn:turn.example.com:3478?transport=udp', 'the TURN row moved up');
    await video.uncheck();
    await section.getByRole('switch', { name: 'Visitors can ask to be called back' }).check();
    await section.getByRole('button', { name: 'Save call settings' }).click();
    await section.getByRole('status').filter({ hasText: 'Saved' }).waitFor(WAIT);
    assert.deepEqual((await api('GET', `{acc}/inboxes/${inbox.id}`)).web_calls, {
      enabled: true,
      video: false,
      callbacks: true,
      ring_seconds: 30,
      ice_servers: [{ urls: ['turn:turn.example.com:3478?transport=udp'], username: 'loja', credential: 's3cret-turn' }],
    });
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }

  // The same section in the other two languages: translated, and axe clean.
  for (const [locale, title] of [['pt-BR', 'Chamadas pelo widget'], ['pl', 'Połączenia z widżetu']]) {
    const ctx = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    const p = await ctx.newPage();
    try {
      await signIn(p, locale);
      const section = await openCalls(p, accountId, `Loja ${stamp}`);
      await section.getByRole('heading', { name: title }).waitFor(WAIT);
      assert.deepEqual(await axe(p), [], `the call settings in ${locale}`);
      assert.deepEqual(await axe(p, SECTION), [], `the section in ${locale}`);
      assert.deepEqual(await untranslated(p), []);
    } finally {
      await ctx.close();
    }
  }
});
