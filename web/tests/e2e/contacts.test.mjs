// The contacts screen and the journey timeline (issue #16). An administrator in Portuguese imports
// a CSV of 1,000 contacts, three of them bad, sees the progress and each bad row reported by its
// row number, then finds an imported contact by a phone number typed as people write it. The
// contact page's timeline shows an order event between two messages of different channels, and
// the conversation sidebar shows the same; every screen passes axe in en, pt-BR and pl. The
// server side is covered by crates/testkit/tests/api/contact_files.rs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, api, axe, signIn, widgetInbox, publicPost, untranslated, shot } from './lib.mjs';

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

const WAIT = { timeout: 30_000 };

async function pageIn(locale) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await signIn(page, locale);
  await page.locator('nav.rail').waitFor(WAIT);
  return { context, page, errors };
}

test('a CSV of 1,000 contacts imports with its 3 bad rows reported', { timeout: 240_000 }, async () => {
  const stamp = Date.now();
  const { id: accountId } = await api('GET', '{acc}');
  const bad = { 101: `Sem Email ${stamp},not-an-email,,`, 502: `Sem Mais ${stamp},,,`, 903: `Telefone ${stamp},,0800 123,` };
  const lines = ['name,email,phone_number,city'];
  for (let i = 0; i < 1000; i += 1) {
    const row = i + 2; // the header is row 1
    lines.push(bad[row] ?? `Cliente ${stamp} ${i},c${i}.${stamp}@example.com,${i === 7 ? `+55 11 9${String(stamp).slice(-4)}-${String(1000 + i)}` : ''},São Paulo`);
  }
  const csv = `${lines.join('\n')}\n`;
  const { context, page, errors } = await pageIn('pt-BR');
  try {
    await page.goto(`${BASE}/app/accounts/${accountId}/contacts`);
    await page.getByRole('heading', { name: 'Contatos', level: 1 }).waitFor(WAIT);
    assert.deepEqual(await axe(page), [], 'the contacts list in pt-BR');
    await page.locator('input[type=file]').setInputFiles({ name: 'clientes.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    const summary = page.locator('.import .summary');
    await summary.waitFor(WAIT);
    await page.locator('.import progress').waitFor({ state: 'detached', timeout: 120_000 });
    assert.match(await summary.innerText(), /1\.000 linhas lidas: 997 criados, 0 atualizados, 3 não importados/);
    const rows = await page.locator('.import table.failed tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((c) => c.innerText)));
    assert.deepEqual(rows.map((r) => [r[0], r[1]]), [['101', 'email'], ['502', 'row'], ['903', 'phone_number']]);
    assert.match(rows[1][2], /não tem e-mail, telefone nem identificador/);
    assert.deepEqual(await axe(page), [], 'the import report in pt-BR');
    assert.deepEqual(await untranslated(page), []);
    await shot(page, 'contacts-import');

    // An imported contact, found by a phone number typed with its punctuation.
    await page.getByRole('searchbox', { name: 'Buscar' }).fill(`9${String(stamp).slice(-4)}-1007`);
    const found = page.locator('table.list tbody tr');
    await page.waitForFunction(() => document.querySelectorAll('table.list tbody tr').length === 1, null, WAIT);
    assert.match(await found.first().innerText(), new RegExp(`Cliente ${stamp} 7`));
    // The export is a download of the same list.
    const href = await page.getByRole('link', { name: 'Exportar CSV' }).getAttribute('href');
    assert.match(href, /\/contacts\/export$/);
    // The link downloads with the browser's session: the imported contacts are in the file.
    const file = await page.request.get(`${BASE}${href}`);
    assert.equal(file.status(), 200);
    assert.match(file.headers()['content-disposition'], /^attachment;/);
    assert.match(await file.text(), new RegExp(`Cliente ${stamp} 999,c999\\.${stamp}@example\\.com`));
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('the journey timeline puts an order between messages of two channels', { timeout: 240_000 }, async () => {
  const stamp = Date.now();
  const { id: accountId } = await api('GET', '{acc}');
  const chat = await widgetInbox(`Timeline chat ${stamp}`);
  const relay = await api('POST', '{acc}/inboxes', { name: `WhatsApp relay ${stamp}`, channel: { type: 'api' } });
  const visitor = await publicPost(chat.inbox_identifier, '/contacts', { name: `Łucja Kamińska ${stamp}`, email: `lucja.${stamp}@example.pl` });
  const conversation = await publicPost(chat.inbox_identifier, `/contacts/${visitor.source_id}/conversations`, {});
  await publicPost(chat.inbox_identifier, `/contacts/${visitor.source_id}/conversations/${conversation.id}/messages`, { content: `Gdzie jest paczka ${stamp}?` });
  const contactId = (await api('GET', `{acc}/conversations/${conversation.id}`)).meta.sender.id;
  await new Promise((r) => setTimeout(r, 30));
  await api('POST', `{acc}/contacts/${contactId}/events`, { event_id: `order-${stamp}`, type: 'order_shipped', title: `Zamówienie ${stamp} wysłane` });
  await new Promise((r) => setTimeout(r, 30));
  const identity = await api('POST', `{acc}/contacts/${contactId}/contact_inboxes`, { inbox_id: relay.id });
  const continued = await api('POST', '{acc}/conversations', { inbox_id: relay.id, contact_id: contactId, source_id: identity.source_id });
  await api('POST', `{acc}/conversations/${continued.id}/messages`, { content: `Dotarła ${stamp}, dziękuję`, message_type: 'incoming', inbox_id: relay.id });

  for (const locale of ['pl', 'en', 'pt-BR']) {
    const { context, page, errors } = await pageIn(locale);
    try {
      await page.goto(`${BASE}/app/accounts/${accountId}/contacts/${contactId}`);
      const timeline = page.locator('.page .timeline');
      await timeline.locator(`li[data-kind=message]`, { hasText: `Dotarła ${stamp}` }).waitFor(WAIT);
      // Newest first: the relayed message, the order, the chat message — each with its channel.
      const order = await timeline.locator('li[data-kind=message], li[data-kind=event]').evaluateAll((lis) =>
        lis.map((li) => `${li.dataset.kind}:${li.dataset.channel}:${li.querySelector('.text, .chip')?.textContent?.trim()}`));
      assert.deepEqual(order, [
        `message:Channel::Api:Dotarła ${stamp}, dziękuję`,
        `event::Zamówienie ${stamp} wysłane`,
        `message:Channel::WebWidget:Gdzie jest paczka ${stamp}?`,
      ]);
      assert.deepEqual(await axe(page), [], `the contact page in ${locale}`);
      assert.deepEqual(await untranslated(page), []);
      if (locale === 'en') await shot(page, 'contact-page');

      // Only business events: the messages leave, the order stays.
      const eventsOnly = page.locator('.page .timeline .kinds label').filter({ has: page.locator('input') });
      const boxes = await eventsOnly.count();
      for (let i = 0; i < boxes; i += 1) {
        const label = eventsOnly.nth(i);
        const kind = ['message', 'conversation', 'call', 'event', 'merge', 'survey'][i];
        if (kind !== 'event') await label.locator('input').uncheck();
      }
      await page.waitForFunction(() => !document.querySelector('.page .timeline li[data-kind=message]'), null, WAIT);
      assert.equal(await timeline.locator('li[data-kind=event]').count(), 1);

      // The conversation's sidebar tells the same story.
      if (locale === 'pl') {
        await page.goto(`${BASE}/app/accounts/${accountId}/conversations/${conversation.id}`);
        const side = page.locator('.journey .timeline');
        await side.locator('li[data-kind=event]').waitFor(WAIT);
        const kinds = await side.locator('li[data-kind=message], li[data-kind=event]').evaluateAll((lis) => lis.map((li) => li.dataset.kind));
        assert.deepEqual(kinds, ['message', 'event', 'message']);
        assert.deepEqual(await axe(page, '.panel'), [], 'the sidebar in pl');
      }
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  }

  // The contacts list in the other two languages passes axe too.
  for (const locale of ['en', 'pl']) {
    const { context, page } = await pageIn(locale);
    try {
      await page.goto(`${BASE}/app/accounts/${accountId}/contacts`);
      await page.locator('table.list tbody tr').first().waitFor(WAIT);
      assert.deepEqual(await axe(page), [], `the contacts list in ${locale}`);
      assert.deepEqual(await untranslated(page), []);
    } finally {
      await context.close();
    }
  }
});
