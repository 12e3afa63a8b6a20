// The AI assistant, against a fake OpenAI-compatible server (fake-model.mjs, FAKE_MODEL_URL).
// An administrator sets it up in Settings → AI assistant: a bad address is named next to its
// field, then the fake's address, a model and one inbox whose conversations may be sent. A
// customer asks, in Portuguese, how to return an order; the help center has the answer. The
// agent opens the conversation: "Suggest a reply" puts the model's answer in the draft with the
// cited article's link, marked as written by AI, its source listed; the customer's message is
// translated into the agent's English and labelled as AI's; the agent's English draft is
// translated into the customer's Portuguese and sent with the original kept; "Summarize" shows
// the summary in a panel marked as AI's, kept as a private note. In an inbox whose conversations
// may not be sent, the suggestion falls back to the help center's articles (no request leaves)
// and the controls that read the conversation are put away. Axe on the settings and on the
// composer with the menu open; every string translated. The server side is covered by
// crates/testkit/tests/api/assistant.rs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, api, axe, signIn, widgetInbox, customerWrites, untranslated, shot } from './lib.mjs';

const MODEL = process.env.FAKE_MODEL_URL;
const WAIT = { timeout: 30_000 };
const listOf = (answer) => (Array.isArray(answer) ? answer : (answer?.payload ?? []));

let browser;
before(async () => (browser = await launch()));
after(async () => {
  // Later tests expect no assistant on the account.
  await removeHooks().catch(() => {});
  await browser?.close();
});

async function removeHooks() {
  const apps = listOf(await api('GET', '{acc}/integrations/apps'));
  for (const h of apps.find((a) => a.id === 'openai')?.hooks ?? []) await api('DELETE', `{acc}/integrations/hooks/${h.id}`);
}

/** A portal in Brazilian Portuguese shown by `inbox`, with the article about returns. */
async function helpCenter(inbox, slug) {
  await api('POST', '{acc}/portals', { name: `Loja ${slug}`, slug, inbox_id: inbox.id, config: { allowed_locales: ['pt_BR'], default_locale: 'pt_BR' } });
  const article = await api('POST', `{acc}/portals/${slug}/articles`, {
    title: 'Como devolver um pedido', locale: 'pt_BR', status: 'published',
    content: 'Você pode devolver qualquer pedido em até **30 dias** após a entrega, pela página Meus pedidos.',
  });
  return article.payload ?? article;
}

const modelRequests = async () => (await (await fetch(`${MODEL}/__requests`)).json()).filter((r) => r.path === '/v1/chat/completions');

test('an administrator sets up the AI assistant; an agent gets a grounded suggestion, translations both ways and a summary', { timeout: 240_000 }, async () => {
  assert.ok(MODEL, 'FAKE_MODEL_URL is set by scripts/browser-tests');
  await removeHooks();
  const stamp = Date.now();
  const { id: accountId } = await api('GET', '{acc}');
  const inbox = await widgetInbox(`AI shop ${stamp}`);
  const closed = await widgetInbox(`AI closed ${stamp}`);
  const article = await helpCenter(inbox, `loja-ai-${stamp}`);
  await helpCenter(closed, `loja-ai-closed-${stamp}`);
  const question = 'Olá, quero devolver meu pedido que chegou ontem. Como faço a devolução?';
  const id = await customerWrites(inbox, `Ana Souza ${stamp}`, question);
  const closedId = await customerWrites(closed, `Bruno Lima ${stamp}`, question);

  const context = await browser.newContext({ viewport: { width: 1366, height: 1000 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await signIn(page, 'en');

    // --- Settings → AI assistant.
    await page.locator('nav.rail a', { hasText: 'Settings' }).click();
    await page.locator('.admin nav a', { hasText: 'AI assistant' }).click();
    await page.waitForURL(`${BASE}/app/accounts/${accountId}/settings/assistant`);
    await page.getByRole('heading', { level: 1, name: 'AI assistant' }).waitFor(WAIT);
    const form = page.locator('[data-testid=assistant-settings]');
    await form.getByText('The assistant is not set up yet.').waitFor(WAIT);
    assert.equal(await form.getByLabel('Model server (base URL)').inputValue(), 'https://api.openai.com/v1', 'OpenAI’s address to start with');
    await form.getByText('Ollama: http://localhost:11434/v1', { exact: false }).waitFor(WAIT);
    await form.getByText('Private notes are never sent.', { exact: false }).waitFor(WAIT);
    const inboxes = form.locator('[data-testid=assistant-inboxes]');
    assert.equal(await inboxes.getByLabel(inbox.name).isChecked(), false, 'no inbox is sent until chosen');
    assert.deepEqual(await axe(page), [], 'axe on the settings');

    // A bad address is named next to its field; nothing is made.
    await form.getByLabel('Model server (base URL)').fill('ftp://model.example');
    await form.getByRole('button', { name: 'Save', exact: true }).click();
    await form.locator('.field-error[data-field=base_url]').waitFor(WAIT);
    assert.equal(await form.getByLabel('Model server (base URL)').getAttribute('aria-invalid'), 'true');
    assert.equal(listOf(await api('GET', '{acc}/integrations/apps'))[0].hooks.length, 0);

    await form.getByLabel('Model server (base URL)').fill(`${MODEL}/v1`);
    await form.getByLabel('Chat model').fill('fake-chat');
    await inboxes.getByLabel(inbox.name).check();
    await form.getByRole('button', { name: 'Save', exact: true }).click();
    await form.getByRole('status').filter({ hasText: 'Saved.' }).waitFor(WAIT);
    await form.getByText('The assistant is on.').waitFor(WAIT);
    await form.getByText('No key is kept.', { exact: false }).waitFor(WAIT);
    const hook = listOf(await api('GET', '{acc}/integrations/apps'))[0].hooks[0];
    assert.equal(hook.status, true);
    assert.equal(hook.settings.base_url, `${MODEL}/v1`);
    assert.equal(hook.settings.model, 'fake-chat');
    assert.deepEqual(hook.settings.customer_data_inbox_ids, [inbox.id]);
    assert.equal(hook.settings.api_key_set, false);
    assert.deepEqual(await untranslated(page), []);
    await shot(page, 'assistant-settings');

    // --- The conversation: a suggestion grounded in the help center.
    await page.goto(`${BASE}/app/accounts/${accountId}/conversations/${id}`);
    const incoming = page.locator('article.message.incoming', { hasText: 'quero devolver meu pedido' });
    await incoming.waitFor(WAIT);
    const draft = page.locator('textarea[name=content]');
    const toggle = page.getByRole('button', { name: 'AI assistant' });
    await toggle.waitFor(WAIT);
    await toggle.click();
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
    const menu = page.locator('[data-testid=assistant-menu]');
    await menu.getByRole('button', { name: 'Improve the draft' }).click();
    await menu.getByRole('button', { name: 'Fix spelling and grammar' }).waitFor(WAIT);
    assert.equal(await menu.getByRole('button', { name: 'Fix spelling and grammar' }).isDisabled(), true, 'nothing to improve yet');
    assert.deepEqual(await axe(page), [], 'axe on the composer with the AI menu open');
    await shot(page, 'assistant-menu');
    await page.keyboard.press('Escape');
    await menu.waitFor({ state: 'detached' });
    await toggle.click();
    await menu.getByRole('button', { name: 'Suggest a reply' }).click();
    await page.waitForFunction(() => document.querySelector('textarea[name=content]')?.value.includes('Claro!'), null, WAIT);
    const suggested = await draft.inputValue();
    assert.ok(suggested.startsWith('Claro! Você pode devolver o pedido em até 30 dias'), suggested);
    assert.ok(suggested.includes(`/hc/loja-ai-${stamp}/articles/`), `the cited article's link: ${suggested}`);
    assert.ok(!suggested.includes('[1]'));
    await page.locator('[data-testid=ai-mark]', { hasText: 'Written by AI — review before sending.' }).waitFor(WAIT);
    const source = page.locator('[data-testid=assistant-sources] li[data-cited=true]');
    assert.equal(await source.locator('a').innerText(), 'Como devolver um pedido');
    assert.ok((await source.locator('a').getAttribute('href')).endsWith(`/articles/${article.slug}`));
    await source.getByText('Cited').waitFor(WAIT);
    const grounded = (await modelRequests()).at(-1);
    assert.equal(grounded.body.model, 'fake-chat');
    assert.ok(grounded.body.messages[0].content.includes('[1] Como devolver um pedido'), 'the article went as a numbered source');
    assert.equal(grounded.authorization, null, 'no key kept, none sent');
    await shot(page, 'assistant-suggestion');

    // --- The customer's message, translated into the agent's English.
    await incoming.getByRole('button', { name: 'Translate into English' }).click();
    const translation = incoming.locator('[data-testid=translations] .translation[data-language=en]');
    await translation.waitFor(WAIT);
    assert.match(await translation.innerText(), /Translated by AI \(English\)/);
    assert.match(await translation.innerText(), /Hello, I would like to return my order/);
    assert.equal(await incoming.getByRole('button', { name: 'Translate into English' }).count(), 0, 'translated once');
    await incoming.getByRole('button', { name: 'Hide translation' }).click();
    await translation.waitFor({ state: 'detached' });
    await incoming.getByRole('button', { name: 'Show translation' }).click();
    await translation.waitFor(WAIT);
    const kept = listOf(await api('GET', `{acc}/conversations/${id}/messages`)).find((m) => m.message_type === 0);
    assert.equal(kept.content, question, 'the customer’s words stay');
    assert.equal(kept.content_attributes.translations.en, 'Hello, I would like to return my order. How do I do it?');

    // --- The agent's English, into the customer's Portuguese; sent with the original.
    const mine = 'Thanks for writing! You can return the order within 30 days.';
    await draft.fill(mine);
    await toggle.click();
    await menu.getByRole('button', { name: "Translate into the customer's language" }).click();
    await page.waitForFunction(() => document.querySelector('textarea[name=content]')?.value.startsWith('Obrigado'), null, WAIT);
    await page.locator('[data-testid=assistant]').getByText('your original (English) is sent along', { exact: false }).waitFor(WAIT);
    // Undone and done again: the original comes back as written.
    await page.getByRole('button', { name: 'Undo translation' }).click();
    assert.equal(await draft.inputValue(), mine);
    await toggle.click();
    await menu.getByRole('button', { name: "Translate into the customer's language" }).click();
    await page.waitForFunction(() => document.querySelector('textarea[name=content]')?.value.startsWith('Obrigado'), null, WAIT);
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    const sent = page.locator('article.message.outgoing', { hasText: 'Obrigado por escrever!' });
    await sent.waitFor(WAIT);
    assert.equal(await draft.inputValue(), '');
    assert.equal(await page.locator('[data-testid=ai-mark]').count(), 0, 'nothing left to mark');
    const original = sent.locator('[data-testid=original][data-language=en]');
    assert.equal(await original.locator('summary').innerText(), 'Original (English)');
    await original.locator('summary').click();
    await original.getByText(mine).waitFor(WAIT);
    const last = listOf(await api('GET', `{acc}/conversations/${id}/messages`)).at(-1);
    assert.equal(last.content, 'Obrigado por escrever! Você pode devolver o pedido em até 30 dias.');
    assert.deepEqual(last.content_attributes.translations, { en: mine });

    // --- A summary, in a panel marked as AI's, kept as a private note.
    await page.getByRole('button', { name: 'Summarize', exact: true }).click();
    const panel = page.locator('[data-testid=assistant-summary]');
    await panel.locator('[data-testid=summary-text]').waitFor(WAIT);
    assert.match(await panel.locator('[data-testid=summary-text]').innerText(), /The customer wants to return an order/);
    await panel.getByRole('heading', { name: 'Summary AI' }).waitFor(WAIT);
    await panel.getByText('Written by AI', { exact: false }).waitFor(WAIT);
    const summaryRequest = (await modelRequests()).at(-1);
    assert.ok(summaryRequest.body.messages[0].content.includes('in English'), 'in the agent’s language');
    await panel.getByRole('button', { name: 'Add as private note' }).click();
    await panel.getByRole('status').filter({ hasText: 'Added as a private note.' }).waitFor(WAIT);
    const note = page.locator('article.message.note', { hasText: 'The customer wants to return an order' });
    await note.waitFor(WAIT);
    await note.locator('.ai-badge').waitFor(WAIT);
    await panel.getByRole('button', { name: 'Close' }).click();
    await panel.waitFor({ state: 'detached' });
    assert.deepEqual(await untranslated(page), []);
    await shot(page, 'assistant-conversation');

    // --- An inbox whose conversations may not be sent: the articles without AI, no request.
    const asked = (await modelRequests()).length;
    await page.goto(`${BASE}/app/accounts/${accountId}/conversations/${closedId}`);
    await page.locator('article.message.incoming', { hasText: 'quero devolver meu pedido' }).waitFor(WAIT);
    await toggle.waitFor(WAIT);
    await toggle.click();
    await menu.getByRole('button', { name: 'Suggest a reply' }).click();
    const fallback = page.locator('[data-testid=assistant-note][data-reason=customer_data_off]');
    await fallback.waitFor(WAIT);
    assert.match(await fallback.innerText(), /may not be sent to the AI model/);
    await fallback.getByRole('link', { name: 'Como devolver um pedido' }).waitFor(WAIT);
    await fallback.getByRole('button', { name: 'Insert the link to “Como devolver um pedido”' }).click();
    assert.match(await draft.inputValue(), /^Como devolver um pedido: http.*\/hc\/loja-ai-closed-\d+\/articles\//);
    assert.equal(await page.getByRole('button', { name: 'Summarize', exact: true }).count(), 0, 'put away after the note');
    await toggle.click();
    assert.equal(await menu.getByRole('button', { name: 'Suggest a reply' }).count(), 0);
    await menu.getByText("This inbox's conversations are not sent to the AI model", { exact: false }).waitFor(WAIT);
    assert.equal((await modelRequests()).length, asked, 'nothing left for the model');
    assert.deepEqual(await untranslated(page), []);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
