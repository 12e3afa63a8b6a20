// Callbacks (issue #19's outbound calls): with a phone line (a Twilio SMS number), the
// navigation offers Callbacks, listing the customers waiting to be called back. A request noted
// through the API is listed with its number, note and source; "Call now" without a phone in the
// agent's profile is refused and the screen says why (the agent's own phone is rung first) with
// a link to the profile; "Cancel request" takes it off the waiting list, and it is found among
// the canceled. The form notes a request: a number without its country code is refused by the
// field, an international one joins the list. In a conversation whose customer has a number,
// "Call" is refused the same way. The screen passes axe in en, pt-BR and pl, nothing
// untranslated. (Twilio is never rung: the browser tests have no fake of it.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, api, axe, signIn, untranslated, shot, widgetInbox, customerWrites } from './lib.mjs';

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

const WAIT = { timeout: 30_000 };
const NUMBER = '+5511987654321';

/** A phone line: the account's, or a new Twilio SMS inbox (creating it does not call Twilio),
 * then `created`. Its number is not voice-settings.test.mjs's (an account's numbers are one
 * inbox's each). */
async function phoneLine(name) {
  const known = (await api('GET', '{acc}/inboxes')).payload.find((i) => i.provider_voice_url);
  if (known) return { line: known, created: false };
  const line = await api('POST', '{acc}/channels/twilio_channel', {
    twilio_channel: { name, account_sid: 'AC0123456789abcdef0123456789abcdef', auth_token: 'secret', phone_number: '+14155238887', medium: 'sms' },
  });
  return { line, created: true };
}

/** The callback requests of a status, as the API lists them. */
const requests = async (status) => (await api('GET', `{acc}/callback_requests?status=${status}`)).payload;

test('callbacks are listed, refused a call without the agent\'s phone, canceled and noted', { timeout: 240_000 }, async () => {
  const stamp = Date.now();
  const { id: accountId } = await api('GET', '{acc}');
  // No phone in the profile: the call cannot start (the agent's own phone is rung first).
  await api('PUT', '/api/v1/profile', { profile: { phone_number: '' } });
  const { line, created } = await phoneLine(`Phone ${stamp}`);
  assert.ok(line.provider_voice_url, 'a phone line');
  try {
    await callbacks(stamp, accountId);
  } finally {
    // An SMS line would become a reply channel of later tests' customers with a phone number
    // (messaging.test.mjs expects WhatsApp's closed window there): gone with its requests.
    if (created) await api('DELETE', `{acc}/inboxes/${line.id}`);
  }
});

/** The screens, in the three languages, with the phone line there. */
async function callbacks(stamp, accountId) {
  const note = `Prefers Portuguese ${stamp}`;
  const request = await api('POST', '{acc}/callback_requests', { phone_number: NUMBER, note });
  assert.equal(request.status, 'waiting');
  assert.equal(request.source, 'agent');

  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await signIn(page, 'en');
    const link = page.locator('nav.rail').getByRole('link', { name: 'Callbacks' });
    await link.click();
    await page.waitForURL(new RegExp(`/app/accounts/${accountId}/callbacks$`));
    assert.equal(await link.getAttribute('aria-current'), 'page');
    const screen = page.getByTestId('callbacks');
    await screen.getByRole('heading', { name: 'Callbacks', level: 1 }).waitFor(WAIT);
    assert.equal(await screen.getByLabel('Show').inputValue(), 'waiting');

    // Listed: the number, the note, who noted it, when it is wanted.
    const item = screen.locator(`li[data-callback="${request.id}"]`);
    await item.waitFor(WAIT);
    assert.equal(await item.locator('.phone').innerText(), NUMBER);
    const text = await item.innerText();
    assert.match(text, new RegExp(note));
    assert.match(text, /Noted by /);
    assert.match(text, /Preferred time: As soon as possible/);
    assert.match(text, /Requested /);
    assert.deepEqual(await axe(page), [], 'the callbacks in en');
    assert.deepEqual(await untranslated(page), []);

    // Call now, without a phone in the profile: refused, and the screen says why.
    const callNow = item.getByRole('button', { name: 'Call now' });
    assert.equal(await callNow.getAttribute('aria-describedby'), `callback-${request.id}-phone`);
    await callNow.click();
    const problem = item.locator('.call-problem[data-reason=no_agent_phone]');
    await problem.waitFor(WAIT);
    assert.match(await problem.innerText(), /Your own phone is rung first, then the customer's: set your phone number in your profile\./);
    assert.equal(await problem.getAttribute('role'), 'alert');
    await problem.getByRole('link', { name: 'Set your phone in your profile' }).waitFor(WAIT);
    assert.equal((await requests('waiting')).some((r) => r.id === request.id), true, 'still waiting');
    await shot(page, 'callbacks');
    assert.deepEqual(await axe(page), [], 'the callbacks with a refused call');
    assert.deepEqual(await untranslated(page), []);

    // Canceled: off the waiting list, among the canceled.
    await item.getByRole('button', { name: 'Cancel request' }).click();
    await screen.getByRole('status').filter({ hasText: `The request for ${NUMBER} was canceled.` }).waitFor(WAIT);
    await item.waitFor({ state: 'detached', ...WAIT });
    assert.equal((await requests('waiting')).some((r) => r.id === request.id), false);
    assert.equal((await requests('canceled')).find((r) => r.id === request.id)?.status, 'canceled');
    await screen.getByLabel('Show').selectOption('canceled');
    const canceled = screen.locator(`li[data-callback="${request.id}"]`);
    await canceled.waitFor(WAIT);
    assert.equal(await canceled.getAttribute('data-status'), 'canceled');
    assert.equal(await canceled.getByRole('button').count(), 0, 'nothing more to do with it');
    await screen.getByLabel('Show').selectOption('all');
    await canceled.locator('.chip[data-status=canceled]', { hasText: 'Canceled' }).waitFor(WAIT);
    await screen.getByLabel('Show').selectOption('waiting');
    await canceled.waitFor({ state: 'detached', ...WAIT });

    // Noted from the form: a number without its country code is refused by its field…
    await screen.getByText('Note a callback request').click();
    const form = screen.getByRole('form', { name: 'Note a callback request' });
    const phone = form.getByLabel('Phone number');
    await phone.fill('601 234 567');
    await form.getByRole('button', { name: 'Add to the list' }).click();
    const phoneError = form.locator('.field-error[data-field=phone_number]');
    await phoneError.filter({ hasText: 'Enter an international number: +, the country code, then the number.' }).waitFor(WAIT);
    assert.equal(await phone.getAttribute('aria-invalid'), 'true');
    assert.match(await phone.getAttribute('aria-describedby'), /callback-error-phone_number/);
    assert.deepEqual(await axe(page), [], 'the form with a refused number');

    // …an international one joins the list, with its note.
    const polish = `+48 601 ${String(stamp).slice(-3)} ${String(stamp).slice(-6, -3)}`;
    await phone.fill(polish);
    await form.getByLabel('Note (optional)').fill('Evenings only');
    await form.getByRole('button', { name: 'Add to the list' }).click();
    const e164 = polish.replace(/\s/g, '');
    await form.getByRole('status').filter({ hasText: `Added: ${e164} is waiting for a call back.` }).waitFor(WAIT);
    assert.equal(await phone.inputValue(), '', 'the form is cleared');
    assert.equal(await phone.getAttribute('aria-invalid'), null);
    const noted = (await requests('waiting')).find((r) => r.phone_number === e164);
    assert.ok(noted, 'noted');
    assert.equal(noted.note, 'Evenings only');
    const notedItem = screen.locator(`li[data-callback="${noted.id}"]`);
    await notedItem.waitFor(WAIT);
    assert.match(await notedItem.innerText(), /Evenings only/);
    assert.deepEqual(await axe(page), [], 'the callbacks after noting one');
    assert.deepEqual(await untranslated(page), []);
    await api('PATCH', `{acc}/callback_requests/${noted.id}`, { status: 'canceled' });

    // A conversation whose customer has a number: Call, refused the same way.
    const site = await widgetInbox(`Site ${stamp}`);
    const conversationId = await customerWrites(site, `Caller ${stamp}`, 'Please call me');
    const conversation = await api('GET', `{acc}/conversations/${conversationId}`);
    await api('PUT', `{acc}/contacts/${conversation.meta.sender.id}`, { phone_number: `+55119${String(stamp).slice(-8)}` });
    await page.goto(`${BASE}/app/accounts/${accountId}/conversations/${conversationId}`);
    const call = page.getByTestId('call-customer');
    await call.getByRole('button', { name: 'Call' }).click();
    const refused = call.locator('.call-problem[data-reason=no_agent_phone]');
    await refused.waitFor(WAIT);
    assert.match(await refused.innerText(), /set your phone number in your profile/);
    assert.deepEqual(await axe(page, '#contact-panel'), [], 'the contact panel with a refused call');
    assert.deepEqual(await untranslated(page), []);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }

  // The screen in the other two languages, a request waiting: translated, and axe clean.
  const waiting = await api('POST', '{acc}/callback_requests', { phone_number: '+5511987650000', note: 'Depois das 18h' });
  for (const [locale, title] of [['pt-BR', 'Pedidos de retorno'], ['pl', 'Prośby o oddzwonienie']]) {
    const ctx = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    const p = await ctx.newPage();
    try {
      await signIn(p, locale);
      await p.goto(`${BASE}/app/accounts/${accountId}/callbacks`);
      const screen = p.getByTestId('callbacks');
      await screen.getByRole('heading', { name: title }).waitFor(WAIT);
      await screen.locator(`li[data-callback="${waiting.id}"]`).waitFor(WAIT);
      await screen.locator('details.new summary').click();
      assert.deepEqual(await axe(p), [], `the callbacks in ${locale}`);
      assert.deepEqual(await untranslated(p), []);
    } finally {
      await ctx.close();
    }
  }
  await api('PATCH', `{acc}/callback_requests/${waiting.id}`, { status: 'canceled' });
}
