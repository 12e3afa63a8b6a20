// The top bar's search and the keyboard (issue #16): an agent in Polish presses `/`, types a
// Polish word without its diacritics ("zamowienie") and finds the customer's "zamówienie" with
// the word lit up, moves with the arrows and opens the conversation with Enter; `?` shows the
// shortcuts, `/` among them. In English, the results pass axe too. The server side is covered by
// crates/testkit/tests/api/search.rs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, api, axe, signIn, widgetInbox, untranslated, shot, customerWrites } from './lib.mjs';

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

const WAIT = { timeout: 20_000 };

test('search finds a Polish word typed without diacritics, keyboard first', { timeout: 150_000 }, async () => {
  const stamp = Date.now();
  const { id: accountId } = await api('GET', '{acc}');
  const inbox = await widgetInbox(`Search ${stamp}`);
  const wanted = await customerWrites(inbox, `Zofia Wiśniewska ${stamp}`, `Gdzie jest moje zamówienie ${stamp}?`);
  const other = await customerWrites(inbox, `Jan Kamiński ${stamp}`, `Paczka ${stamp} nie dotarła, zamówienie anulowane`);

  for (const locale of ['pl', 'en', 'pt-BR']) {
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    try {
      await signIn(page, locale);
      await page.locator('nav.rail').waitFor(WAIT);
      await page.keyboard.press('/');
      const box = page.locator('#global-search');
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'global-search', '/ focuses the search');
      await box.pressSequentially(`zamowienie ${stamp}`);
      const results = page.locator('[data-testid=search-results]');
      const messages = results.locator('[data-kind=message]');
      await messages.first().waitFor(WAIT);
      assert.equal(await messages.count(), 2, 'both customers wrote the word');
      const first = results.locator(`[data-kind=message][data-conversation="${wanted}"]`);
      assert.equal(await first.locator('mark').first().innerText(), 'zamówienie');
      assert.ok(await results.locator(`[data-kind=message][data-conversation="${other}"] mark`).count() >= 1);
      assert.deepEqual(await axe(page), [], `the open results in ${locale}`);
      assert.deepEqual(await untranslated(page), []);
      if (locale === 'en') await shot(page, 'search');
      // The arrows reach the wanted message; Enter opens its conversation.
      const ids = await results.locator('[role=option]').evaluateAll((els) => els.map((e) => e.id));
      const target = ids.indexOf(await first.getAttribute('id'));
      for (let i = 0; i < target; i += 1) await box.press('ArrowDown');
      assert.equal(await box.getAttribute('aria-activedescendant'), await first.getAttribute('id'));
      await box.press('Enter');
      await page.waitForURL(`${BASE}/app/accounts/${accountId}/conversations/${wanted}`);
      await page.locator('article.message', { hasText: `zamówienie ${stamp}` }).waitFor(WAIT);

      // `?` lists the shortcuts, the search's among them.
      await page.evaluate(() => document.activeElement instanceof HTMLElement && document.activeElement.blur());
      await page.keyboard.press('?');
      const help = page.getByRole('dialog');
      await help.waitFor(WAIT);
      assert.ok((await help.locator('kbd').allInnerTexts()).includes('/'));
      assert.deepEqual(await axe(page, '[role=dialog]'), []);
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  }
});
