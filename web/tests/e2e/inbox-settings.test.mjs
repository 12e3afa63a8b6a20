// Every inbox setting editable in the app (issue #16): an administrator in Polish changes a website
// inbox's colour, welcome title and pre-chat form (the phone asked for, required, with a label of
// their own), and the widget on another origin shows exactly that; a refused value shows the
// server's words beside its field; the identity secret is shown on demand and a new one made.
// The settings screen passes axe in en, pt-BR and pl.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, api, axe, signIn, widgetInbox, hostPage, untranslated, shot } from './lib.mjs';

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

const WAIT = { timeout: 30_000 };

test('a widget edited in settings looks and asks as set, on another origin', { timeout: 240_000 }, async () => {
  const stamp = Date.now();
  const { id: accountId } = await api('GET', '{acc}');
  const inbox = await widgetInbox(`Sklep ${stamp}`);
  const host = await hostPage(inbox.inbox_identifier);
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await signIn(page, 'pl');
    await page.goto(`${BASE}/app/accounts/${accountId}/settings/inboxes`);
    await page.getByRole('button', { name: new RegExp(`Sklep ${stamp}`) }).click();
    const settings = page.locator('form.settings');
    await settings.waitFor(WAIT);

    // A refused value: the server's words, beside the field.
    await settings.getByLabel('Strona internetowa').fill('ftp://sklep');
    await settings.getByRole('button', { name: 'Zapisz' }).click();
    await settings.locator('.error', { hasText: 'website_url' }).waitFor(WAIT);
    assert.equal(await settings.getByLabel('Strona internetowa').getAttribute('aria-invalid'), 'true');

    await settings.getByLabel('Strona internetowa').fill('https://sklep.example.pl');
    await settings.locator('input[name=widget_color]').fill('#aa3300');
    await settings.getByLabel('Tytuł powitania').fill(`Witamy w sklepie ${stamp}`);
    await settings.getByLabel('Wysyłaj powitanie w nowych rozmowach').uncheck();
    await settings.locator('input[name=pre_chat_form_enabled]').check();
    await settings.getByLabel('Wiadomość nad formularzem').fill('Podaj swoje dane');
    const phone = settings.locator('tr[data-field=phone_number]');
    await phone.getByLabel('Widoczne: Telefon').check();
    await phone.getByLabel('Wymagane: Telefon').check();
    await phone.getByLabel('Etykieta: Telefon').fill('Numer komórki');
    await settings.getByRole('button', { name: 'Zapisz' }).click();
    await settings.getByRole('status').filter({ hasText: 'Zapisano' }).waitFor(WAIT);
    assert.deepEqual(await axe(page), [], 'the inbox settings in pl');
    assert.deepEqual(await untranslated(page), []);

    // The identity secret: hidden until asked, then replaced by a new one.
    const secret = settings.getByTestId('hmac-token');
    assert.equal(await secret.count(), 0);
    await settings.getByRole('button', { name: 'Pokaż sekret' }).click();
    const before = await secret.innerText();
    page.once('dialog', (d) => d.accept());
    await settings.getByRole('button', { name: 'Utwórz nowy sekret' }).click();
    await page.waitForFunction((old) => document.querySelector('[data-testid=hmac-token]')?.textContent !== old, before, WAIT);
    assert.equal((await api('GET', `{acc}/inboxes/${inbox.id}`)).hmac_token, await secret.innerText());

    // The widget on the shop's origin shows what was set.
    const visitor = await context.newPage();
    await visitor.goto(host.url);
    const launcher = visitor.locator('#throughline-widget .launcher');
    await launcher.waitFor(WAIT);
    const color = await visitor.locator('#throughline-widget').evaluate((el) => getComputedStyle(el).getPropertyValue('--tl-color').trim());
    assert.equal(color.toLowerCase(), '#aa3300');
    await launcher.click();
    const panel = visitor.locator('#throughline-widget .panel');
    await panel.getByRole('heading', { name: `Witamy w sklepie ${stamp}` }).waitFor(WAIT);
    await panel.getByText('Podaj swoje dane').waitFor(WAIT);
    const phoneInput = panel.locator('input[name=phone_number]');
    assert.equal(await phoneInput.getAttribute('required'), '');
    assert.match(await panel.locator('label:has(input[name=phone_number])').innerText(), /Numer komórki/);
    await shot(visitor, 'widget-settings');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
    host.close();
  }

  // The same screen in the other two languages passes axe.
  for (const locale of ['en', 'pt-BR']) {
    const ctx = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    const p = await ctx.newPage();
    try {
      await signIn(p, locale);
      await p.goto(`${BASE}/app/accounts/${accountId}/settings/inboxes`);
      await p.getByRole('button', { name: new RegExp(`Sklep ${stamp}`) }).click();
      await p.locator('form.settings').waitFor(WAIT);
      assert.deepEqual(await axe(p), [], `the inbox settings in ${locale}`);
      assert.deepEqual(await untranslated(p), []);
    } finally {
      await ctx.close();
    }
  }
});
