// Issue #3, must-show 1–4: a visitor on another origin chats through the widget, an agent
// answers live, the visitor sees typing and the reply, reloads with history, the agent
// resolves — in English, Brazilian Portuguese and Polish, with axe and no untranslated key.
// The shop page is served from another origin than the server and embeds /widget.js from the
// server, against a website (web_widget) inbox that allows that origin: cross-origin for real.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, widgetInbox, hostPage, axe, signIn, untranslated, shot, api } from './lib.mjs';

let browser;
let host;
let inbox;
before(async () => {
  browser = await launch();
  inbox = await widgetInbox('Website chat');
  host = await hostPage(inbox.inbox_identifier);
});
after(async () => {
  await browser?.close();
  host?.close();
});

const TEXT = {
  en: { hello: 'Hello, my order has not arrived', reply: 'Sorry about that, let me check.', resolve: 'Resolve', resolved: 'Resolved', all: 'All', start: 'Start chat', send: 'Send' },
  'pt-BR': { hello: 'Olá, meu pedido não chegou', reply: 'Desculpe, vou verificar.', resolve: 'Resolver', resolved: 'Resolvida', all: 'Todas', start: 'Iniciar conversa', send: 'Enviar' },
  pl: { hello: 'Dzień dobry, paczka nie dotarła', reply: 'Przepraszamy, już sprawdzam.', resolve: 'Rozwiąż', resolved: 'Rozwiązana', all: 'Wszystkie', start: 'Rozpocznij czat', send: 'Wyślij' },
};

for (const [locale, text] of Object.entries(TEXT)) {
  test(`widget ↔ agent, live, in ${locale}`, async () => {
    const visitorName = `Visitor ${locale} ${Date.now()}`;
    const agentCtx = await browser.newContext({ locale, viewport: { width: 1280, height: 800 } });
    const visitorCtx = await browser.newContext({ locale, viewport: { width: 1100, height: 760 } });
    const agent = await agentCtx.newPage();
    const visitor = await visitorCtx.newPage();
    const errors = [];
    agent.on('pageerror', (e) => errors.push(`agent: ${e.message}`));
    visitor.on('pageerror', (e) => errors.push(`visitor: ${e.message}`));
    // The widget talks to the server from the shop's origin: every Client API answer carries
    // CORS for that origin, and the visitor's socket goes to the server too.
    const hostOrigin = new URL(host.url).origin;
    assert.notEqual(hostOrigin, new URL(BASE).origin);
    const apiCalls = [];
    const sockets = [];
    visitor.on('response', async (r) => {
      if (r.url().startsWith(`${BASE}/public/`)) apiCalls.push({ url: r.url(), status: r.status(), allow: await r.headerValue('access-control-allow-origin') });
    });
    visitor.on('websocket', (ws) => sockets.push(ws.url()));

    // Agent signs in and watches the All tab.
    await signIn(agent, locale);
    if (locale === 'en') {
      assert.deepEqual(await axe(agent), [], 'axe on the inbox');
    }
    await agent.getByRole('tab', { name: new RegExp(`^${text.all}`) }).click();

    // Visitor opens the widget on another origin, fills the pre-chat form and writes.
    await visitor.goto(host.url);
    const launcher = visitor.locator('#throughline-widget .launcher');
    await launcher.waitFor();
    await launcher.click();
    const panel = visitor.locator('#throughline-widget .panel');
    await panel.locator('input[name=name]').fill(visitorName);
    await panel.locator('input[name=email]').fill(`visitor.${locale.toLowerCase()}.${Date.now()}@example.com`);
    await panel.locator('textarea[name=content]').fill(text.hello);
    await panel.getByRole('button', { name: text.start }).click();
    await panel.locator('.messages li.mine', { hasText: text.hello }).waitFor();
    if (locale === 'en') {
      assert.deepEqual(await axe(visitor, '#throughline-widget'), [], 'axe on the widget');
      await shot(visitor, 'widget');
    }

    // The conversation appears for the agent without a reload.
    const row = agent.locator('[data-conversation]', { hasText: visitorName });
    await row.waitFor({ timeout: 15_000 });
    if (locale === 'en') await shot(agent, 'inbox');
    await row.click();
    await agent.locator('article.message', { hasText: text.hello }).waitFor();

    // Typing reaches the visitor, then the reply.
    const composer = agent.locator('textarea[name=content]');
    await composer.click();
    await composer.pressSequentially('Sor', { delay: 30 });
    await panel.locator('.typing').waitFor({ timeout: 10_000 });
    await composer.fill(text.reply);
    await composer.press('Enter');
    await panel.locator('.messages li.theirs', { hasText: text.reply }).waitFor({ timeout: 10_000 });
    await agent.locator('article.message.outgoing', { hasText: text.reply }).waitFor();
    if (locale === 'en') {
      assert.deepEqual(await axe(agent), [], 'axe on the conversation');
      await shot(agent, 'conversation');
    }

    // The visitor reloads: the history is still there.
    await visitor.reload();
    await visitor.locator('#throughline-widget .launcher').click();
    await panel.locator('.messages li.mine', { hasText: text.hello }).waitFor();
    await panel.locator('.messages li.theirs', { hasText: text.reply }).waitFor();
    assert.ok(apiCalls.length >= 3, `the widget called the Client API: ${JSON.stringify(apiCalls)}`);
    for (const call of apiCalls) assert.equal(call.allow, hostOrigin, `CORS for the shop on ${call.url}`);
    assert.ok(sockets.some((u) => u.startsWith(BASE.replace(/^http/, 'ws') + '/public/')), `visitor socket: ${sockets}`);

    // The agent resolves.
    await agent.getByRole('button', { name: text.resolve, exact: true }).click();
    await agent.locator('.chip.status', { hasText: text.resolved }).waitFor();
    const conversationId = Number(/conversations\/(\d+)/.exec(agent.url())[1]);
    const stored = await api('GET', `{acc}/conversations/${conversationId}`);
    assert.equal(stored.status, 'resolved');

    // No missing catalogue key on any screen visited, no script error.
    assert.deepEqual(await untranslated(agent), [], `untranslated keys in ${locale}`);
    assert.deepEqual(errors, []);
    await agentCtx.close();
    await visitorCtx.close();
  });
}

test('axe on the login page', async () => {
  const page = await browser.newPage();
  await page.goto(`${process.env.BASE_URL}/login`);
  await page.locator('form').waitFor();
  assert.deepEqual(await axe(page), []);
  await page.close();
});
