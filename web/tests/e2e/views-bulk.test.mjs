// Saved views and bulk actions (issue #16): an agent filters the list to one inbox, saves it as a
// view (Chatwoot's custom filter), comes back to it after a reload, ticks two conversations and
// resolves them at once; the list, the view picker and the bulk bar pass axe in en, pt-BR and pl.
// The server side is covered by crates/testkit/tests/api/bulk_actions.rs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, api, axe, signIn, widgetInbox, untranslated, shot, customerWrites } from './lib.mjs';

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

const WAIT = { timeout: 30_000 };
const TEXT = {
  en: { save: 'Save as view', name: 'View name', saveBtn: 'Save', resolve: 'Resolve', changed: /2 changed, 0 not changed/ },
  'pt-BR': { save: 'Salvar como visualização', name: 'Nome da visualização', saveBtn: 'Salvar', resolve: 'Resolver', changed: /2 alteradas, 0 não alteradas/ },
  pl: { save: 'Zapisz jako widok', name: 'Nazwa widoku', saveBtn: 'Zapisz', resolve: 'Rozwiąż', changed: /Zmieniono: 2, bez zmian: 0/ },
};

for (const [locale, text] of Object.entries(TEXT)) {
  test(`a saved view comes back and two conversations resolve at once, in ${locale}`, { timeout: 180_000 }, async () => {
    const stamp = Date.now();
    const { id: accountId } = await api('GET', '{acc}');
    const inbox = await widgetInbox(`Views ${locale} ${stamp}`);
    await api('PATCH', `{acc}/inboxes/${inbox.id}`, { enable_auto_assignment: false });
    const ids = [];
    for (const who of ['Ana', 'Bruno', 'Carla']) ids.push(await customerWrites(inbox, `${who} ${stamp}`, `Olá ${stamp}`));

    const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    try {
      await signIn(page, locale);
      await page.locator('nav.rail').waitFor(WAIT);
      await page.goto(`${BASE}/app/accounts/${accountId}/conversations`);
      await page.getByRole('tab').nth(2).click();
      await page.locator('.filters select').nth(2).selectOption(String(inbox.id));
      await page.locator(`[data-conversation="${ids[0]}"]`).waitFor(WAIT);
      await page.getByRole('button', { name: text.save }).click();
      await page.getByPlaceholder(text.name).fill(`Queue ${stamp}`);
      await page.locator('.saved form').getByRole('button', { name: text.saveBtn }).click();
      await page.locator('.saved select').locator('option', { hasText: `Queue ${stamp}` }).waitFor({ state: 'attached', ...WAIT });

      // After a reload the view brings the same filters back.
      await page.reload();
      await page.locator('nav.rail').waitFor(WAIT);
      // The inboxes have loaded (the filter's choices) before the view is picked.
      await page.locator('.filters select').nth(2).locator(`option[value="${inbox.id}"]`).waitFor({ state: 'attached', ...WAIT });
      const picker = page.locator('.saved select');
      const value = await picker.locator('option', { hasText: `Queue ${stamp}` }).getAttribute('value');
      await picker.selectOption(value);
      assert.equal(await page.locator('.filters select').nth(2).inputValue(), String(inbox.id));
      await page.locator(`[data-conversation="${ids[2]}"]`).waitFor(WAIT);
      assert.equal(await page.locator('.items [data-conversation]').count(), 3);

      // Two ticked, resolved at once: they leave the open list.
      for (const id of ids.slice(0, 2)) await page.locator(`li:has([data-conversation="${id}"]) input.pick`).check();
      await page.locator('.bulk').waitFor(WAIT);
      assert.deepEqual(await axe(page), [], `the list with the bulk bar in ${locale}`);
      assert.deepEqual(await untranslated(page), []);
      if (locale === 'en') await shot(page, 'bulk-actions');
      await page.locator('.bulk').getByRole('button', { name: text.resolve, exact: true }).click();
      await page.locator('.bulk [role=status]').filter({ hasText: text.changed }).waitFor(WAIT);
      await page.waitForFunction((gone) => gone.every((id) => !document.querySelector(`[data-conversation="${id}"]`)), ids.slice(0, 2), WAIT);
      assert.equal(await page.locator(`[data-conversation="${ids[2]}"]`).count(), 1);
      for (const id of ids.slice(0, 2)) assert.equal((await api('GET', `{acc}/conversations/${id}`)).status, 'resolved');
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });
}
