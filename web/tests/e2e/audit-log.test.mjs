// Issue #18: Settings → Audit log. An administrator reads who did what as a sentence in their
// language ("… changed the role of … from Agent to Administrator"), opens the changes (before →
// after, secrets only as "changed"), filters by action, and the screen passes axe. The server
// side is covered by crates/testkit/tests/api/audit_log.rs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, api, axe, signIn, shot } from './lib.mjs';

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

const SENTENCES = {
  en: (name) => `changed the role of ${name} from Agent to Administrator`,
  'pt-BR': (name) => `mudou a função de ${name} de Agente para Administrador`,
  pl: (name) => `zmieniono rolę ${name} z Agent na Administrator`,
};

test('the audit log reads as sentences, with changes on demand, in every language', async () => {
  const stamp = Date.now();
  const name = `Jan Audit ${stamp}`;
  const agent = await api('POST', '{acc}/agents', { name, email: `jan.${stamp}@browser.test`, role: 'agent' });
  await api('PATCH', `{acc}/agents/${agent.id}`, { role: 'administrator' });
  const { id: accountId } = await api('GET', '{acc}');

  for (const locale of ['en', 'pt-BR', 'pl']) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await signIn(page, locale);
    await page.goto(`${BASE}/app/accounts/${accountId}/settings/audit`);
    const entry = page.locator('ol.entries > li', { hasText: name }).filter({ hasText: SENTENCES[locale](name).split(name)[0].trim() }).first();
    await entry.waitFor();
    const text = await entry.locator('.what').innerText();
    // pl's role names may be translated: compare up to the target's name, then the name.
    assert.ok(text.includes(name), text);
    if (locale === 'en') assert.ok(text.endsWith(SENTENCES.en(name)), text);
    // Before → after on demand.
    await entry.getByRole('button', { expanded: false }).click();
    const row = entry.locator('table.changes tr', { hasText: 'role' });
    await row.waitFor();
    assert.deepEqual(
      await row.locator('td').allInnerTexts(),
      ['role', 'agent', 'administrator'],
    );
    await shot(page, `audit-log-${locale}`);
    // Filtering by action keeps only that action.
    await page.locator('form.filters select').first().selectOption('sign_in');
    await page.locator('form.filters button[type=submit]').click();
    await page.waitForFunction(() => {
      const chips = [...document.querySelectorAll('ol.entries .meta .action')].map((c) => c.textContent);
      return chips.length > 0 && new Set(chips).size === 1;
    });
    assert.equal(await page.locator('ol.entries', { hasText: name }).count(), 0, 'only sign-ins are listed');
    const missing = await page.evaluate(() => [
      ...(window.__i18nMissing ?? []),
      ...(document.body.innerText.match(/\baudit\.[a-z_.A-Z]+\b/g) ?? []),
    ]);
    assert.deepEqual(missing, [], `${locale}: untranslated`);
    assert.deepEqual(await axe(page, 'section.body'), [], `${locale}: axe`);
    assert.deepEqual(errors, []);
    await context.close();
  }
});
