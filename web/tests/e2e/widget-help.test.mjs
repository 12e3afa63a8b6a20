// The widget's help tab: a website inbox named by a portal shows its help center before the
// chat. In Brazilian Portuguese, on a shop page of another origin: the most read articles
// first, a search typed without diacritics, an article rendered from its Markdown, "was this
// helpful?" counted on the article, and the chat one tap away. Axe on the help tab and on the
// article. A Polish page gets the Polish articles and words. In the agents' app, "Insert
// article" finds a published article and puts its title and public link into the reply.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, widgetInbox, hostPage, axe, api, signIn, customerWrites, untranslated, openWidget } from './lib.mjs';

const WAIT = { timeout: 20_000 };

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** A portal shown by `inbox`'s widget, with articles in Portuguese and Polish. */
async function helpCenter(inbox) {
  const slug = `ajuda-${Date.now()}`;
  await api('POST', '{acc}/portals', {
    name: `Ajuda ${slug}`, slug, inbox_id: inbox.id,
    config: { allowed_locales: ['pt_BR', 'en', 'pl'], default_locale: 'pt_BR' },
  });
  const post = (article) => api('POST', `{acc}/portals/${slug}/articles`, { ...article, status: 'published' });
  const devolver = await post({
    title: 'Como devolver um produto', locale: 'pt_BR', description: 'Devoluções em até 7 dias',
    content: '## Passo a passo\n\n1. Acesse **Meus pedidos**.\n2. Escolha *Devolver*.\n\nVeja a [política de trocas](https://shop.example.com/trocas).',
  });
  await post({ title: 'Formas de pagamento', locale: 'pt_BR', content: 'Aceitamos cartão, boleto e PIX.' });
  await post({ title: 'Zwrot zamówienia', locale: 'pl', content: 'Zamówienie możesz zwrócić w ciągu **14 dni**.' });
  return { slug, devolver: devolver.payload };
}


test('a visitor finds an answer in the help tab, says it helped, and can still chat', async () => {
  const inbox = await widgetInbox(`Help tab ${Date.now()}`);
  const { slug, devolver } = await helpCenter(inbox);
  const host = await hostPage(inbox.inbox_identifier);
  const ctx = await browser.newContext({ locale: 'pt-BR' });
  const errors = [];
  try {
    const page = await ctx.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    const panel = await openWidget(page, host.url);

    // No conversation yet: the help tab first, with the most read articles.
    const helpTab = panel.getByRole('tab', { name: 'Ajuda' });
    await helpTab.waitFor(WAIT);
    assert.equal(await helpTab.getAttribute('aria-selected'), 'true');
    await panel.getByRole('heading', { name: 'Artigos mais lidos' }).waitFor(WAIT);
    await panel.getByRole('button', { name: /Formas de pagamento/ }).waitFor(WAIT);
    assert.ok(!(await panel.innerText()).includes('Zwrot'), 'only the Portuguese articles');
    assert.deepEqual(await axe(page, '#throughline-widget'), [], 'axe on the help tab');

    // A search typed without diacritics finds the article.
    await panel.getByRole('searchbox', { name: 'Pesquisar na central de ajuda' }).fill('devolucao');
    await panel.getByRole('button', { name: 'Pesquisar', exact: true }).click();
    await panel.getByRole('heading', { name: 'Artigos encontrados' }).waitFor(WAIT);
    const hit = panel.getByRole('button', { name: /Como devolver um produto/ });
    await hit.waitFor(WAIT);
    await hit.click();

    // The article, rendered from its Markdown; its links open in a new tab.
    await panel.getByRole('heading', { name: 'Como devolver um produto' }).waitFor(WAIT);
    const body = panel.locator('.article-body');
    await body.locator('strong', { hasText: 'Meus pedidos' }).waitFor(WAIT);
    assert.equal(await body.locator('ol li').count(), 2);
    assert.equal(await body.locator('a').getAttribute('target'), '_blank');
    const open = panel.getByRole('link', { name: 'Abrir em nova aba' });
    assert.ok((await open.getAttribute('href')).endsWith(`/hc/${slug}/articles/${devolver.slug}`));
    assert.deepEqual(await axe(page, '#throughline-widget'), [], 'axe on the article');

    // "Was this helpful?" — yes, counted on the article.
    await panel.getByText('Isso foi útil?').waitFor(WAIT);
    await panel.getByRole('button', { name: 'Sim', exact: true }).click();
    await panel.getByText('Obrigado por nos contar!').waitFor(WAIT);
    let counted;
    for (let i = 0; i < 40; i++) {
      counted = (await api('GET', `{acc}/portals/${slug}/articles/${devolver.id}`)).payload;
      if (counted.helpful_yes === 1) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(counted.helpful_yes, 1);

    // Still stuck: one tap to the chat's form.
    await panel.getByRole('button', { name: 'Ainda precisa de ajuda? Fale conosco' }).click();
    assert.equal(await panel.getByRole('tab', { name: 'Conversa' }).getAttribute('aria-selected'), 'true');
    await panel.getByRole('button', { name: 'Iniciar conversa' }).waitFor(WAIT);
    assert.deepEqual(errors, []);
  } finally {
    await ctx.close();
    host.close();
  }
});

test('a Polish page gets the Polish articles and words', async () => {
  const inbox = await widgetInbox(`Help tab pl ${Date.now()}`);
  await helpCenter(inbox);
  const host = await hostPage(inbox.inbox_identifier);
  const ctx = await browser.newContext({ locale: 'pl-PL' });
  try {
    const page = await ctx.newPage();
    const panel = await openWidget(page, host.url);
    await panel.getByRole('tab', { name: 'Pomoc' }).waitFor(WAIT);
    await panel.getByRole('heading', { name: 'Popularne artykuły' }).waitFor(WAIT);
    await panel.getByRole('searchbox', { name: 'Szukaj w centrum pomocy' }).fill('zwrot zamowienia');
    await panel.getByRole('button', { name: 'Szukaj', exact: true }).click();
    await panel.getByRole('button', { name: /Zwrot zamówienia/ }).click();
    await panel.locator('.article-body strong', { hasText: '14 dni' }).waitFor(WAIT);
    await panel.getByRole('button', { name: 'Nie', exact: true }).click();
    await panel.getByText('Dziękujemy za opinię!').waitFor(WAIT);
    assert.deepEqual(await axe(page, '#throughline-widget'), [], 'axe in Polish');
  } finally {
    await ctx.close();
    host.close();
  }
});

test('an agent inserts an article link into a reply, in Polish', async () => {
  const inbox = await widgetInbox(`Help composer ${Date.now()}`);
  const { slug } = await helpCenter(inbox);
  const id = await customerWrites(inbox, 'Ola Nowak', 'Jak zwrócić zamówienie?');
  const { id: accountId } = await api('GET', '{acc}');
  const ctx = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  try {
    const page = await ctx.newPage();
    await signIn(page, 'pl');
    await page.goto(`${BASE}/app/accounts/${accountId}/conversations/${id}`);
    await page.getByRole('button', { name: 'Wstaw artykuł' }).click();
    const picker = page.getByRole('group', { name: 'Wstaw artykuł' });
    await picker.getByRole('searchbox', { name: 'Szukaj w centrum pomocy' }).fill('zwrot');
    await picker.getByRole('button', { name: 'Znajdź' }).click();
    await picker.getByRole('button', { name: new RegExp(`Zwrot zamówienia Ajuda ${slug}`) }).click();
    const reply = page.locator('textarea[name=content]');
    const text = await reply.inputValue();
    assert.match(text, new RegExp(`^Zwrot zamówienia: ${BASE.replace(/[.]/g, '\\.')}/hc/${slug}/articles/zwrot-zamowienia$`));
    assert.equal(await picker.count(), 0, 'the picker closes');
    assert.deepEqual(await untranslated(page), []);
    await reply.press('Enter');
    let sent = [];
    for (let i = 0; i < 50 && !sent.length; i++) {
      const list = await api('GET', `{acc}/conversations/${id}/messages`);
      sent = list.payload.filter((m) => m.message_type === 1 && m.content?.includes(`/hc/${slug}/articles/zwrot-zamowienia`));
      if (!sent.length) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(sent.length, 1, 'the reply with the link was sent');
  } finally {
    await ctx.close();
  }
});
