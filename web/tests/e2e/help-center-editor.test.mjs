// The help center's editor (Settings → Help center). An administrator creates a portal in
// English and Brazilian Portuguese, a category, and an article written in Markdown (a heading
// and a list) whose preview the server renders; saved as a draft its public page is a 404,
// published it shows the title and the list; then its Portuguese translation, hung on the
// original. An image inserted into the article (uploaded, written where the cursor is) shows in
// the preview and on the public page; the portal gets a logo, shown in its public header. Axe
// and the catalogues on the editor. An agent, in Polish, reaches the same screen
// and writes articles, without the portal's and categories' controls. The server side is
// covered by crates/testkit/tests/api/help_center.rs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, api, axe, signIn, signInAs, untranslated, shot } from './lib.mjs';

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

const WAIT = { timeout: 20_000 };
const stamp = Date.now();
const SLUG = `acme-help-${stamp}`;
const NAME = `Acme Help ${stamp}`;
const MARKDOWN = '## Before you start\n\nHave these at hand:\n\n- the order number\n- the original box\n\nThen write to us.';
/** An 8×8 blue PNG. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAYAAADED76LAAAAE0lEQVR4nGOQn/z/Pz7MMDIUAABUsKwBLdjpGAAAAABJRU5ErkJggg==', 'base64');
/** Whether the page's `img` matching `selector` was fetched and decoded. */
const loaded = (page, selector) => page.locator(selector).first().evaluate((img) => img.complete && img.naturalWidth > 0);

test('an administrator builds a help center: portal, category, an article previewed, drafted, published and translated', { timeout: 180_000 }, async () => {
  const { id: accountId } = await api('GET', '{acc}');
  // Another portal: the screen lists several and opens the one just made.
  await api('POST', '{acc}/portals', { name: `Other ${stamp}`, slug: `other-${stamp}` });
  const context = await browser.newContext({ viewport: { width: 1366, height: 1000 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await signIn(page, 'en');
    await page.locator('nav.rail a', { hasText: 'Settings' }).click();
    await page.locator('.admin nav a', { hasText: 'Help center' }).click();
    await page.waitForURL(`${BASE}/app/accounts/${accountId}/settings/help_center`);
    await page.getByRole('heading', { level: 1, name: 'Help center' }).waitFor(WAIT);

    // --- A portal in English and Brazilian Portuguese; its slug follows the name until typed.
    await page.getByRole('button', { name: 'New portal' }).click();
    const portalForm = page.locator('[data-testid=portal-form]');
    await portalForm.getByLabel('Name', { exact: true }).fill(NAME);
    const slugField = portalForm.getByLabel('Name in the address (slug)');
    assert.equal(await slugField.inputValue(), SLUG);
    await portalForm.getByRole('checkbox', { name: 'Portuguese (Brazil)' }).check();
    assert.deepEqual(await portalForm.getByLabel('Default language').locator('option').allInnerTexts(), ['English', 'Portuguese (Brazil)']);
    assert.deepEqual(await axe(page), [], 'axe on the portal form');
    await portalForm.getByRole('button', { name: 'Create portal' }).click();
    const portal = page.locator('[data-testid=portal]');
    await portal.getByRole('heading', { name: NAME }).waitFor(WAIT);
    const created = (await api('GET', '{acc}/portals')).payload.find((p) => p.slug === SLUG);
    assert.deepEqual(created.config.allowed_locales.map((l) => l.code), ['en', 'pt_BR']);

    // --- A category, in the portal's language chosen (English).
    await portal.getByRole('tab', { name: 'Categories' }).click();
    const categoryForm = page.locator('[data-testid=category-form]');
    await categoryForm.getByLabel('Name', { exact: true }).fill('Orders');
    await categoryForm.getByLabel('Description').fill('Tracking, returns and refunds');
    await categoryForm.getByRole('button', { name: 'Add category' }).click();
    await page.locator('[data-testid=categories] tr', { hasText: 'Orders' }).waitFor(WAIT);

    // --- An article in Markdown, previewed as the server renders it.
    await portal.getByRole('tab', { name: 'Articles' }).click();
    await page.getByRole('button', { name: 'New article' }).click();
    const editor = page.locator('[data-testid=article-editor]');
    await editor.getByLabel('Title').fill('Returning an order');
    await editor.getByLabel('Description').fill('Send it back within 30 days');
    await editor.getByLabel('Category').selectOption({ label: 'Orders' });
    const content = editor.getByLabel('Content (Markdown)');
    await content.fill(MARKDOWN);
    // An image, uploaded and written where the cursor is (before the last line).
    const at = MARKDOWN.indexOf('Then write');
    await content.evaluate((el, i) => el.setSelectionRange(i, i), at);
    await editor.getByTestId('insert-image-file').setInputFiles({ name: 'map.png', mimeType: 'image/png', buffer: PNG });
    await editor.getByRole('status').filter({ hasText: 'map.png inserted.' }).waitFor(WAIT);
    const written = await content.inputValue();
    const image = written.match(/!\[map\.png\]\((https?:\/\/[^)\s]+\/uploads\/\d+\/[\w-]+\/map\.png)\)/);
    assert.ok(image, written);
    const CONTENT = MARKDOWN.slice(0, at) + image[0] + MARKDOWN.slice(at);
    assert.equal(written, CONTENT);
    assert.equal(await content.evaluate((el) => el.selectionStart), at + image[0].length, 'the cursor after the image');
    await editor.getByRole('tab', { name: 'Preview' }).click();
    const preview = editor.locator('[data-testid=article-preview]');
    await preview.getByRole('heading', { name: 'Before you start' }).waitFor(WAIT);
    assert.deepEqual(await preview.locator('ul li').allInnerTexts(), ['the order number', 'the original box']);
    await preview.getByRole('img', { name: 'map.png' }).waitFor(WAIT);
    assert.equal(await preview.getByRole('img', { name: 'map.png' }).getAttribute('src'), image[1]);
    await page.waitForFunction(() => document.querySelector('[data-testid=article-preview] img')?.naturalWidth > 0, null, WAIT);
    assert.deepEqual(await axe(page), [], 'axe on the editor with its preview');
    await shot(page, 'help-center-editor');
    await editor.getByRole('tab', { name: 'Write' }).click();
    assert.equal(await editor.getByLabel('Content (Markdown)').inputValue(), CONTENT, 'the text survives the preview');

    // --- Saved as a draft: not public.
    await editor.getByRole('button', { name: 'Save draft' }).click();
    await editor.getByRole('status').filter({ hasText: 'Draft saved.' }).waitFor(WAIT);
    assert.equal(await editor.getByTestId('article-status').innerText(), 'Draft');
    const articleSlug = await editor.getByLabel('Name in the address (slug)').inputValue();
    assert.equal(articleSlug, 'returning-an-order');
    const publicUrl = `${BASE}/hc/${SLUG}/articles/${articleSlug}`;
    assert.equal((await fetch(publicUrl)).status, 404, 'a draft is not public');
    assert.equal(await editor.getByRole('link', { name: 'View public page' }).count(), 0);

    // --- Published: the public page shows the title and the rendered list.
    await editor.getByRole('button', { name: 'Publish' }).click();
    await editor.getByRole('status').filter({ hasText: 'Published.' }).waitFor(WAIT);
    assert.equal(await editor.getByTestId('article-status').innerText(), 'Published');
    const link = editor.getByRole('link', { name: 'View public page' });
    assert.equal(await link.getAttribute('href'), `/hc/${SLUG}/articles/${articleSlug}`);
    const reader = await context.newPage();
    const answer = await reader.goto(publicUrl);
    assert.equal(answer.status(), 200);
    await reader.locator('article h1', { hasText: 'Returning an order' }).waitFor(WAIT);
    assert.deepEqual(await reader.locator('article ul li').allInnerTexts(), ['the order number', 'the original box']);
    await reader.locator('article img[alt="map.png"]').waitFor(WAIT);
    await reader.waitForFunction(() => document.querySelector('article img[alt="map.png"]')?.naturalWidth > 0, null, WAIT);
    assert.ok(await loaded(reader, 'article img[alt="map.png"]'), 'the image loads for a reader');
    await reader.close();
    const original = (await api('GET', `{acc}/portals/${SLUG}/articles?locale=en`)).payload.find((a) => a.slug === articleSlug);
    assert.equal(original.status, 'published');
    assert.equal(original.category.name, 'Orders');
    assert.equal(original.content, CONTENT);

    // --- Its Brazilian Portuguese translation, hung on the original.
    const translations = page.locator('section.translations');
    await translations.getByText('No translation yet.').waitFor(WAIT);
    assert.deepEqual(await translations.getByLabel('Translate into').locator('option').allInnerTexts(), ['Portuguese (Brazil)']);
    await translations.getByRole('button', { name: 'Start translation' }).click();
    await editor.getByRole('heading', { name: 'New translation' }).waitFor(WAIT);
    await editor.getByText('Translation of “Returning an order” (English)').waitFor(WAIT);
    assert.equal(await editor.getByLabel('Language').inputValue(), 'pt_BR');
    assert.equal(await editor.getByLabel('Content (Markdown)').inputValue(), CONTENT, 'the words to translate');
    await editor.getByLabel('Title').fill('Como devolver um pedido');
    await editor.getByLabel('Description').fill('Devolva em até 30 dias');
    await editor.getByLabel('Content (Markdown)').fill('## Antes de começar\n\n- o número do pedido\n- a caixa original');
    await editor.getByRole('button', { name: 'Save draft' }).click();
    await editor.getByRole('status').filter({ hasText: 'Draft saved.' }).waitFor(WAIT);
    await translations.locator('li', { hasText: 'Returning an order' }).waitFor(WAIT);
    const pt = (await api('GET', `{acc}/portals/${SLUG}/articles?locale=pt_BR`)).payload;
    assert.equal(pt.length, 1);
    assert.equal(pt[0].title, 'Como devolver um pedido');
    assert.equal(pt[0].associated_article_id, original.id);
    assert.equal(pt[0].status, 'draft');

    // --- The list: status tabs with their counts (of the language shown).
    await editor.getByRole('button', { name: '← Articles' }).click();
    const published = page.getByRole('button', { name: /^Published/ });
    await published.waitFor(WAIT);
    assert.match(await published.innerText(), /Published\s*1/);
    await published.click();
    await page.locator('[data-testid=articles] tr[data-status=published]', { hasText: 'Returning an order' }).waitFor(WAIT);

    assert.deepEqual(await axe(page), [], 'axe on the list');
    assert.deepEqual(await untranslated(page), []);

    // --- The portal edited: its form comes back filled, the change is saved.
    await page.getByRole('button', { name: `Edit portal ${NAME}` }).click();
    const edit = page.locator('[data-testid=portal-form]');
    assert.equal(await edit.getByLabel('Name in the address (slug)').inputValue(), SLUG);
    assert.ok(await edit.getByRole('checkbox', { name: 'Portuguese (Brazil)' }).isChecked());
    await edit.getByLabel('Heading on the home page').fill('How can we help?');
    // A logo: uploaded when chosen, previewed, set with the save.
    const logo = edit.getByTestId('portal-logo');
    await logo.getByText('No logo yet.').waitFor(WAIT);
    await edit.getByTestId('portal-logo-file').setInputFiles({ name: 'acme-logo.png', mimeType: 'image/png', buffer: PNG });
    await logo.getByRole('img', { name: 'Logo preview' }).waitFor(WAIT);
    await logo.getByText('The change applies when you save.').waitFor(WAIT);
    assert.deepEqual(await axe(page), [], 'axe on the portal form with a logo');
    await edit.getByRole('button', { name: 'Save' }).click();
    await edit.waitFor({ state: 'detached', ...WAIT });
    const saved = await api('GET', `{acc}/portals/${SLUG}`);
    assert.equal(saved.header_text, 'How can we help?');
    assert.equal(saved.logo.file_type, 'image/png');
    assert.equal(saved.logo.filename, 'acme-logo.png');
    const home = await context.newPage();
    assert.equal((await home.goto(`${BASE}/hc/${SLUG}/en`)).status(), 200);
    const headerLogo = home.locator('header a.brand img');
    assert.equal(await headerLogo.getAttribute('src'), saved.logo.file_url);
    assert.equal(await headerLogo.getAttribute('alt'), NAME);
    await home.waitForFunction(() => document.querySelector('header a.brand img')?.naturalWidth > 0, null, WAIT);
    assert.equal(await home.locator('meta[property="og:image"]').getAttribute('content'), saved.logo.file_url);
    await home.close();

    // Removed again: the form shows none, the save takes it off the portal.
    await page.getByRole('button', { name: `Edit portal ${NAME}` }).click();
    const again = page.locator('[data-testid=portal-form]');
    await again.getByTestId('portal-logo').getByRole('img', { name: 'Logo preview' }).waitFor(WAIT);
    await again.getByRole('button', { name: 'Remove logo' }).click();
    await again.getByTestId('portal-logo').getByText('No logo yet.').waitFor(WAIT);
    await again.getByRole('button', { name: 'Save' }).click();
    await again.waitFor({ state: 'detached', ...WAIT });
    assert.equal((await api('GET', `{acc}/portals/${SLUG}`)).logo, undefined);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('an agent writes articles in Polish, without the portal’s and categories’ controls', { timeout: 120_000 }, async () => {
  const { id: accountId } = await api('GET', '{acc}');
  const password = 'help-center-agent-1';
  const email = `ola.help.${stamp}@browser.test`;
  await api('POST', '{acc}/agents', { name: `Ola Help ${stamp}`, email, role: 'agent', password });
  const context = await browser.newContext({ viewport: { width: 1366, height: 1000 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await signInAs(page, email, password, 'pl');
    await page.goto(`${BASE}/app/accounts/${accountId}/settings/help_center`);
    await page.getByRole('heading', { level: 1, name: 'Centrum pomocy' }).waitFor(WAIT);
    const row = page.locator(`[data-testid=portals] tr[data-portal="${SLUG}"]`);
    await row.waitFor(WAIT);
    assert.equal(await page.getByRole('button', { name: 'Nowy portal' }).count(), 0, 'portals are the administrators’');
    assert.equal(await row.getByRole('button', { name: `Edytuj portal ${NAME}` }).count(), 0);
    await row.getByRole('button', { name: `Otwórz ${NAME}` }).click();
    const portal = page.locator('[data-testid=portal]');
    await portal.getByRole('heading', { name: NAME }).waitFor(WAIT);
    await page.getByRole('button', { name: /^Opublikowane/ }).waitFor(WAIT);
    assert.match(await page.getByRole('button', { name: /^Opublikowane/ }).innerText(), /Opublikowane\s*1/);

    // An article of their own, previewed in Polish.
    await page.getByRole('button', { name: 'Nowy artykuł' }).click();
    const editor = page.locator('[data-testid=article-editor]');
    await editor.getByLabel('Tytuł').fill(`Śledzenie przesyłki ${stamp}`);
    await editor.getByLabel('Treść (Markdown)').fill('Sprawdź **numer przesyłki** w e-mailu.');
    await editor.getByRole('tab', { name: 'Podgląd' }).click();
    await editor.locator('[data-testid=article-preview] strong', { hasText: 'numer przesyłki' }).waitFor(WAIT);
    await editor.getByRole('button', { name: 'Zapisz szkic' }).click();
    await editor.getByRole('status').filter({ hasText: 'Szkic zapisany.' }).waitFor(WAIT);
    assert.deepEqual(await axe(page), [], 'axe in Polish');
    assert.deepEqual(await untranslated(page), []);

    // Categories to read, not to change.
    await editor.getByRole('button', { name: '← Artykuły' }).click();
    await portal.getByRole('tab', { name: 'Kategorie' }).click();
    await page.locator('[data-testid=categories] tr', { hasText: 'Orders' }).waitFor(WAIT);
    assert.equal(await page.locator('[data-testid=category-form]').count(), 0);
    assert.equal(await page.locator('[data-testid=categories]').getByRole('button').count(), 0);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
