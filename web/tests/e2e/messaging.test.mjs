// Messaging channels in the agent app, against a fake of Meta's Graph API (fake-graph.mjs,
// started by scripts/browser-tests as the server's THROUGHLINE_META_GRAPH_URL): an administrator
// creates a WhatsApp Cloud inbox in the settings (the webhook URL and verify token to paste at
// Meta are shown, the credentials check and the template sync go through the fake); a customer's
// signed webhook brings a picture (downloaded from the fake), a place, a reaction, a voice note,
// a document, a contact card and a file Meta will not hand over; the agent
// sees them, and where WhatsApp's window is closed sends an approved template with its
// parameters, which reaches the fake as a `type: template` message.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { BASE, launch, api, axe, signIn, untranslated, shot } from './lib.mjs';

const GRAPH = process.env.FAKE_GRAPH_URL;
const SECRET = process.env.META_APP_SECRET;

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

/** A valid Brazilian mobile number (+55 11 9xxxx-xxxx) unique to this run and role. */
const mobile = (prefix, stamp) => `+55119${prefix}${String(stamp).slice(-7)}`;

/** Posts a WhatsApp Cloud webhook signed as Meta does (HMAC-SHA256 of the body, app secret). */
async function webhook(number, payload) {
  const body = JSON.stringify(payload);
  const signature = `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
  const r = await fetch(`${BASE}/webhooks/whatsapp/${number.replace(/\D/g, '')}`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature }, body,
  });
  assert.equal(r.status, 200, `webhook: ${r.status} ${await r.text()}`);
}

/** The fake's record of what the server sent, once it holds `count` sends (it answers then). */
const sentToMeta = (count) => fetch(`${GRAPH}/__sent?count=${count}`).then((r) => r.json());

test('WhatsApp Cloud: inbox from the settings, media in the timeline, a template when the window is closed', { skip: !GRAPH && 'needs the fake Graph API (scripts/browser-tests)', timeout: 240_000 }, async () => {
  const stamp = Date.now();
  const business = mobile(8, stamp);
  const customer = mobile(7, stamp);
  const stranger = mobile(6, stamp);
  const phoneNumberId = `10${String(stamp).slice(-9)}`;
  const name = `WhatsApp Acme ${stamp}`;
  const sentBefore = (await sentToMeta(0)).length;

  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await signIn(page);
  const accountId = Number(/accounts\/(\d+)/.exec(page.url())[1]);

  // --- The administrator creates the inbox through the settings form.
  await page.goto(`${BASE}/app/accounts/${accountId}/settings/inboxes`);
  await page.selectOption('select[name=channel_kind]', 'whatsapp_cloud');
  const form = page.locator('form.provider-form[data-kind=whatsapp_cloud]');
  await form.waitFor();
  assert.equal(await form.locator('input[name=api_key]').getAttribute('type'), 'password', 'the token is a secret');
  assert.equal(await form.locator('input[name=app_secret]').getAttribute('type'), 'password');
  assert.equal(await form.locator('input[name=bot_token]').count(), 0, 'only the fields WhatsApp Cloud needs');
  await form.locator('input[name=name]').fill(name);
  await form.locator('input[name=phone_number]').fill('12345');
  await form.locator('input[name=phone_number_id]').fill(phoneNumberId);
  await form.locator('input[name=business_account_id]').fill(`20${String(stamp).slice(-9)}`);
  await form.locator('input[name=api_key]').fill(`fake-token-${stamp}`);
  // A number the server refuses: its message is shown by the field.
  await form.getByRole('button', { name: 'Create' }).click();
  await form.locator('#pf-error-phone_number').waitFor();
  assert.match(await form.locator('#pf-error-phone_number').innerText(), /international format/);
  assert.equal(await form.locator('input[name=phone_number]').getAttribute('aria-invalid'), 'true');
  assert.deepEqual(await axe(page), [], 'axe on the new-inbox form with an error');

  await form.locator('input[name=phone_number]').fill(business);
  await form.getByRole('button', { name: 'Create' }).click();
  const details = page.locator('section.provider[data-provider=whatsapp_cloud]');
  await details.waitFor();
  const webhookUrl = await details.getByTestId('provider-webhook-url').innerText();
  assert.ok(webhookUrl.endsWith(`/webhooks/whatsapp/${business}`), `webhook URL to paste at Meta: ${webhookUrl}`);
  const verifyToken = await details.getByTestId('provider-verify-token').innerText();
  assert.ok(verifyToken.length >= 16, `a generated verify token: ${verifyToken}`);
  // Meta's handshake answers with the challenge for that token: it is the one to paste.
  const handshake = await fetch(`${BASE}/webhooks/whatsapp/${business.slice(1)}?hub.mode=subscribe&hub.verify_token=${encodeURIComponent(verifyToken)}&hub.challenge=ch-${stamp}`);
  assert.equal(await handshake.text(), `ch-${stamp}`);
  await details.getByRole('button', { name: 'Copy the callback URL' }).waitFor();

  await details.getByRole('button', { name: 'Test credentials' }).click();
  await details.locator('[data-testid=credentials-report][data-ok=true]').waitFor();
  assert.match(await details.getByTestId('credentials-report').innerText(), /accepted the credentials[\s\S]*Acme Shop/);

  await details.getByRole('button', { name: 'Sync templates' }).click();
  await details.locator('tr[data-template=spring_sale]').waitFor();
  assert.match(await details.locator('tr[data-template=order_update]').innerText(), /order_update\s+en_US\s+UTILITY\s+APPROVED/);
  assert.match(await details.locator('tr[data-template=spring_sale]').innerText(), /REJECTED/);
  assert.equal(await details.locator('[data-testid=credentials-report][data-ok=true]').count(), 1, 'the check still shows after the sync');
  assert.deepEqual(await axe(page), [], 'axe on the inbox details');
  assert.deepEqual(await untranslated(page), []);
  await shot(page, 'messaging-admin');

  // --- A customer writes: a picture (the server fetches it from the fake), a place, a reaction.
  const inbox = (await api('GET', '{acc}/inboxes')).payload.find((i) => i.name === name);
  assert.equal(inbox.provider, 'whatsapp_cloud');
  const waId = customer.slice(1);
  const now = Math.floor(Date.now() / 1000);
  const message = (id, type, content) => ({ from: waId, id, timestamp: String(now), type, [type]: content });
  await webhook(business, {
    object: 'whatsapp_business_account',
    entry: [{ id: inbox.provider_config.business_account_id, changes: [{ field: 'messages', value: {
      messaging_product: 'whatsapp',
      metadata: { display_phone_number: business.slice(1), phone_number_id: phoneNumberId },
      contacts: [{ profile: { name: `Rita Photo ${stamp}` }, wa_id: waId }],
      messages: [
        message(`wamid.in.${stamp}.1`, 'image', { id: `media-${stamp}`, mime_type: 'image/png', sha256: 'x', caption: `Broken parcel ${stamp}` }),
        message(`wamid.in.${stamp}.2`, 'location', { latitude: -23.5613, longitude: -46.6565, name: 'Acme pickup point', address: 'Av. Paulista 1000' }),
        message(`wamid.in.${stamp}.3`, 'reaction', { message_id: `wamid.out.${stamp}`, emoji: '👍' }),
        message(`wamid.in.${stamp}.4`, 'audio', { id: `voice-${stamp}`, mime_type: 'audio/ogg; codecs=opus', voice: true }),
        message(`wamid.in.${stamp}.5`, 'document', { id: `doc-${stamp}`, mime_type: 'application/pdf', filename: `invoice-${stamp}.pdf` }),
        message(`wamid.in.${stamp}.7`, 'image', { id: `gone-${stamp}`, mime_type: 'image/jpeg', caption: `Second photo ${stamp}` }),
        message(`wamid.in.${stamp}.6`, 'contacts', [{ name: { formatted_name: 'Bruno Courier' }, phones: [{ phone: '+55 11 91234-5678', type: 'CELL' }] }]),
      ],
    } }] }],
  });
  const list = await api('GET', `{acc}/conversations?inbox_id=${inbox.id}&status=all&assignee_type=all`);
  const written = list.data.payload[0];
  assert.ok(written, 'the webhook made a conversation');

  await page.goto(`${BASE}/app/accounts/${accountId}/conversations/${written.id}`);
  const picture = page.locator('article.message', { hasText: `Broken parcel ${stamp}` }).locator('li.attachment.image img');
  await picture.waitFor();
  const width = await picture.evaluate((img) => (img.complete && img.naturalWidth ? img.naturalWidth : new Promise((done) => {
    img.addEventListener('load', () => done(img.naturalWidth));
    img.addEventListener('error', () => done(0));
  })));
  assert.equal(width, 64, 'the picture from the fake is rendered');
  assert.match(await picture.locator('xpath=..').getAttribute('href'), /\/rails\/active_storage\/blobs\//, 'a click opens the full file (Active Storage path, as Chatwoot serves files)');
  const place = page.getByTestId('location');
  assert.match(await place.innerText(), /Acme pickup point, Av\. Paulista 1000/);
  const map = place.getByRole('link', { name: /Open on the map/ });
  assert.equal(await map.getAttribute('href'), 'https://www.openstreetmap.org/?mlat=-23.5613&mlon=-46.6565');
  assert.match(await map.getAttribute('rel'), /noopener/);
  assert.match(await page.getByTestId('reaction').innerText(), /reacted .+ to a message/);
  const voice = page.locator('li.attachment.audio');
  assert.equal(await voice.locator('figcaption').innerText(), 'Voice note');
  assert.equal(await voice.locator('audio[controls]').count(), 1);
  const doc = page.locator('li.attachment.file a', { hasText: `invoice-${stamp}.pdf` });
  assert.notEqual(await doc.getAttribute('download'), null, 'a document downloads, named');
  const card = page.locator('.cards .card', { hasText: 'Bruno Courier' });
  assert.equal(await card.getByRole('link', { name: '+55 11 91234-5678' }).getAttribute('href'), 'tel:+5511912345678');
  // A file Meta would not hand over: the message is there, saying what is missing and why.
  const pending = page.locator('article.message', { hasText: `Second photo ${stamp}` }).locator('.pending');
  assert.match(await pending.innerText(), /^A file could not be downloaded yet: image\/jpeg — .*404/);
  assert.match(await page.getByTestId('window-left').innerText(), /^WhatsApp window: \d+ h \d+ min left$/);
  assert.deepEqual(await axe(page), [], 'axe on a conversation with media');
  // Tall enough for the whole timeline in the screenshot.
  await page.setViewportSize({ width: 1280, height: 1400 });
  await page.getByRole('log', { name: 'Messages' }).evaluate((t) => (t.scrollTop = 0));
  await shot(page, 'messaging-media');
  await page.setViewportSize({ width: 1280, height: 900 });

  // --- Someone who never wrote: WhatsApp's window is closed, only a template may go.
  const contact = (await api('POST', '{acc}/contacts', { name: `Sam Template ${stamp}`, phone_number: stranger })).payload.contact;
  const closed = await api('POST', '{acc}/conversations', { inbox_id: inbox.id, contact_id: contact.id });
  const openClosed = async () => {
    await page.goto(`${BASE}/app/accounts/${accountId}/conversations/${closed.id}`);
    await page.locator('.template-picker select[name=template]').waitFor();
  };
  await openClosed();
  assert.match(await page.locator('.window-closed').innerText(), /window/);
  const options = await page.locator('.template-picker select[name=template] option').allInnerTexts();
  assert.ok(options.includes('order_update · en_US') && options.includes('hello_world · en_US'), `approved templates: ${options}`);
  assert.ok(!options.some((o) => o.includes('spring_sale')), 'a rejected template is not offered');
  assert.equal(await page.locator('textarea[name=content]').isVisible(), false, 'no free text outside the window');

  // The pages in Brazilian Portuguese and Polish: nothing untranslated.
  for (const locale of ['pt-BR', 'pl']) {
    await page.evaluate((l) => localStorage.setItem('tl.locale', l), locale);
    await page.goto(`${BASE}/app/accounts/${accountId}/conversations/${written.id}`);
    await page.getByTestId('location').waitFor();
    await page.getByTestId('window-left').waitFor();
    await openClosed();
    await page.selectOption('.template-picker select[name=template]', 'order_update/en_US');
    await page.locator('input[name=template_param_2]').waitFor();
    assert.deepEqual(await untranslated(page), [], `untranslated keys in ${locale}`);
    await shot(page, `messaging-template-${locale}`);
  }
  await page.evaluate(() => localStorage.setItem('tl.locale', 'en'));
  await openClosed();

  await page.selectOption('.template-picker select[name=template]', 'order_update/en_US');
  await page.fill('input[name=template_param_1]', 'Sam');
  assert.equal(await page.getByTestId('template-preview').innerText(), 'Hello Sam, your order {{2}} is on its way.');
  await page.fill('input[name=template_param_2]', `#${stamp}`);
  const filled = `Hello Sam, your order #${stamp} is on its way.`;
  assert.equal(await page.getByTestId('template-preview').innerText(), filled);
  assert.deepEqual(await axe(page), [], 'axe on the template picker');
  await shot(page, 'messaging-template');
  await page.getByRole('button', { name: 'Send template' }).click();

  // The template reaches Meta (the fake) with its parameters, and shows in the timeline.
  // Each call answers once one more send was recorded: the template is awaited, not timed.
  let template;
  for (let count = sentBefore + 1; !template; ) {
    const sent = await sentToMeta(count);
    template = sent.slice(sentBefore).find((s) => s.body.type === 'template' && s.body.to === stranger.slice(1));
    count = sent.length + 1;
  }
  assert.equal(template.path, `/${phoneNumberId}/messages`);
  assert.equal(template.authorization, `Bearer fake-token-${stamp}`, 'with the token typed in the form');
  assert.deepEqual(template.body.template, {
    name: 'order_update', language: { code: 'en_US' },
    components: [{ type: 'body', parameters: [{ type: 'text', text: 'Sam' }, { type: 'text', text: `#${stamp}` }] }],
  });
  await page.locator('article.message.outgoing', { hasText: filled }).waitFor();
  assert.deepEqual(await untranslated(page), []);
  await shot(page, 'messaging-template-sent');
  await context.close();
});

test('the other messaging forms: Twilio SMS and WhatsApp, Messenger, Instagram, Telegram', async () => {
  const stamp = Date.now();
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await signIn(page);
  const accountId = Number(/accounts\/(\d+)/.exec(page.url())[1]);
  await page.goto(`${BASE}/app/accounts/${accountId}/settings/inboxes`);
  const sid = `AC${String(stamp).padStart(32, '0')}`;
  // Creating these inboxes calls no provider; each shows what to paste at its provider.
  const kinds = [
    { kind: 'twilio_sms', fields: { account_sid: sid, auth_token: 'tw-secret', messaging_service_sid: `MG${stamp}` }, secrets: ['auth_token', 'api_key_secret'], url: '/twilio/callback' },
    { kind: 'twilio_whatsapp', fields: { account_sid: sid, auth_token: 'tw-secret', phone_number: mobile(5, stamp) }, secrets: ['auth_token'], url: '/twilio/callback' },
    { kind: 'facebook_page', fields: { page_id: `3${String(stamp).slice(-9)}`, page_access_token: 'page-token', verify_token: `fb-verify-${stamp}` }, secrets: ['page_access_token', 'app_secret'], url: '/bot', token: `fb-verify-${stamp}` },
    { kind: 'instagram', fields: { instagram_id: `4${String(stamp).slice(-9)}`, page_access_token: 'ig-token' }, secrets: ['page_access_token'], url: '/webhooks/instagram' },
  ];
  for (const { kind, fields, secrets, url, token } of kinds) {
    await page.selectOption('select[name=channel_kind]', kind);
    const form = page.locator(`form.provider-form[data-kind=${kind}]`);
    await form.waitFor();
    for (const secret of secrets) assert.equal(await form.locator(`input[name=${secret}]`).getAttribute('type'), 'password', `${kind}: ${secret}`);
    await form.locator('input[name=name]').fill(`${kind} ${stamp}`);
    for (const [name, value] of Object.entries(fields)) await form.locator(`input[name=${name}]`).fill(value);
    await form.getByRole('button', { name: 'Create' }).click();
    const details = page.locator('.detail', { has: page.locator('h2', { hasText: `${kind} ${stamp}` }) });
    await details.waitFor();
    assert.ok((await details.getByTestId('provider-webhook-url').innerText()).endsWith(url), `${kind}: ${url}`);
    if (token) assert.equal(await details.getByTestId('provider-verify-token').innerText(), token);
    // Without one given, the inbox gets a handshake token of its own.
    if (kind === 'instagram') assert.match(await details.getByTestId('provider-verify-token').innerText(), /^\S{16,}$/);
  }
  // Telegram needs only the bot's token, a secret (not submitted: Throughline would call Telegram).
  await page.selectOption('select[name=channel_kind]', 'telegram');
  const telegram = page.locator('form.provider-form[data-kind=telegram]');
  await telegram.waitFor();
  assert.deepEqual(await telegram.locator('input').evaluateAll((inputs) => inputs.map((i) => `${i.name}:${i.type}`)), ['name:text', 'bot_token:password']);
  assert.deepEqual(await axe(page), [], 'axe on the Telegram form');
  assert.deepEqual(await untranslated(page), []);
  await shot(page, 'messaging-admin-forms');
  await context.close();
});
