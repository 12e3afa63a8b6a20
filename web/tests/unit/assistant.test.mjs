// src/lib/assistant.ts's rules: the account's hook among the apps, a 422 as a fallback (reason
// and articles), language codes as the server keeps them, a message's translations, the draft
// with a suggestion or an article put in, and the settings form's body (only what changed; the
// key kept, replaced or removed) and its field errors. Loaded by transpiling it with the
// project's TypeScript; its imports (the REST client and the account's path) are replaced by
// stubs that record the calls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import ts from 'typescript';

const source = readFileSync(new URL('../../src/lib/assistant.ts', import.meta.url), 'utf8');
const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
const imports = outputText.match(/^import .*$/gm) ?? [];
assert.deepEqual(imports, ["import { get, post, patch, del, ApiError } from './api';", "import { acc } from './state.svelte';"]);
const stubs = `
class ApiError extends Error { constructor(status, code, message, fields = [], body = null) { super(message); this.status = status; this.code = code; this.fields = fields; this.body = body; } }
const calls = []; let answer = null;
const call = (method) => async (path, body) => { calls.push({ method, path, body }); if (answer instanceof Error) throw answer; return answer; };
const get = call('GET'), post = call('POST'), patch = call('PATCH'), del = call('DELETE');
const acc = (p) => \`/api/v1/accounts/1\${p}\`;
export const __calls = calls, __answer = (a) => (answer = a), __ApiError = ApiError;
`;
const ai = await import(`data:text/javascript;base64,${Buffer.from(stubs + outputText.replace(/^import .*$/gm, '')).toString('base64')}`);

const settings = { base_url: 'http://ollama.lan:11434/v1', model: 'llama3.1', embedding_model: null, timeout_seconds: 30, customer_data_inbox_ids: [3, 4], api_key_set: true };
const hook = { id: 9, app_id: 'openai', status: true, account_id: 1, hook_type: 'account', settings };

test('the account’s hook is the openai app’s, or none', () => {
  assert.equal(ai.hookOf([{ id: 'openai', name: 'OpenAI', description: '', enabled: false, hooks: [] }]), null);
  assert.equal(ai.hookOf([]), null);
  assert.deepEqual(ai.hookOf([{ id: 'openai', name: 'OpenAI', description: '', enabled: true, hooks: [hook] }]), hook);
});

test('a 422 is a fallback: its reason and the articles found without AI', () => {
  const body = { error: 'slow', message: 'the model took longer than 30 s', reason: 'timeout', articles: [{ id: 1, title: 'Returns', url: 'https://x/hc/a/articles/returns', cited: false }] };
  const f = ai.fallbackOf(new ai.__ApiError(422, 'slow', body.message, [], body));
  assert.deepEqual(f, { reason: 'timeout', message: 'the model took longer than 30 s', articles: body.articles });
  const invalid = ai.fallbackOf(new ai.__ApiError(422, 'unprocessable_entity', 'conversation_display_id names the conversation', [{ field: 'conversation_display_id', code: 'invalid', message: 'x' }],
    { error: 'unprocessable_entity', message: 'conversation_display_id names the conversation', errors: [{ field: 'conversation_display_id' }] }));
  assert.equal(invalid.reason, 'invalid');
  assert.deepEqual(invalid.articles, []);
  const offline = ai.fallbackOf(new TypeError('Failed to fetch'));
  assert.deepEqual(offline, { reason: 'error', message: 'Failed to fetch', articles: [] });
  assert.equal(ai.reasonKey(f), 'assistant.reason.timeout');
  assert.equal(ai.reasonKey(invalid), null, 'the server’s own words');
  assert.equal(ai.reasonKey(offline), null);
  assert.ok(ai.isCustomerDataOff({ reason: 'customer_data_off', message: '', articles: [] }));
});

test('asking: Chatwoot’s process_event, and a failure as an outcome', async () => {
  ai.__answer({ message: 'Claro! (https://x/hc/a/articles/r)', ai_generated: true, language: 'pt-BR', articles: [{ id: 2, title: 'R', url: 'https://x/hc/a/articles/r', cited: true }] });
  const ok = await ai.ask(9, 'reply_suggestion', { conversation_display_id: 12 });
  assert.equal(ok.ok, true);
  assert.equal(ok.value.articles[0].cited, true);
  assert.deepEqual(ai.__calls.at(-1), { method: 'POST', path: '/api/v1/accounts/1/integrations/hooks/9/process_event', body: { event: { name: 'reply_suggestion', data: { conversation_display_id: 12 } } } });
  ai.__answer(new ai.__ApiError(422, 'x', 'x', [], { error: 'x', message: 'x', reason: 'customer_data_off', articles: [] }));
  const off = await ai.translateMessage(12, 40, 'pl');
  assert.deepEqual(off, { ok: false, fallback: { reason: 'customer_data_off', message: 'x', articles: [] } });
  assert.deepEqual(ai.__calls.at(-1), { method: 'POST', path: '/api/v1/accounts/1/conversations/12/messages/40/translate', body: { target_language: 'pl' } });
});

test('language codes as the server keeps them', () => {
  assert.equal(ai.normaliseLanguage('pt_br'), 'pt-BR');
  assert.equal(ai.normaliseLanguage('PL'), 'pl');
  assert.equal(ai.normaliseLanguage(' en-us '), 'en-US');
});

test('a message’s translations: the agent’s language first, blanks left out', () => {
  const attributes = { translations: { pl: 'Cześć', en: 'Hello', 'pt-BR': 'Olá', es: ' ', de: 5 } };
  assert.deepEqual(ai.translationsOf(attributes, 'pl'), [['pl', 'Cześć'], ['en', 'Hello'], ['pt-BR', 'Olá']]);
  assert.deepEqual(ai.translationsOf(attributes, 'pt_BR')[0], ['pt-BR', 'Olá']);
  assert.deepEqual(ai.translationsOf(attributes), [['en', 'Hello'], ['pl', 'Cześć'], ['pt-BR', 'Olá']]);
  assert.deepEqual(ai.translationsOf(undefined), []);
  assert.deepEqual(ai.translationsOf({ translations: 'x' }), []);
  assert.deepEqual(ai.withOriginal('pt-BR', 'Meu texto'), { translations: { 'pt-BR': 'Meu texto' } });
});

test('the draft with a suggestion or an article put in', () => {
  assert.equal(ai.insertText('', 'Hello!'), 'Hello!');
  assert.equal(ai.insertText('  \n', 'Hello!'), 'Hello!');
  assert.equal(ai.insertText('Hi Ana,\n', 'Here it is.'), 'Hi Ana,\n\nHere it is.');
  assert.equal(ai.appendLine('See:', ai.articleLine({ title: 'Returns', url: 'https://x/r' })), 'See:\nReturns: https://x/r');
  assert.equal(ai.appendLine('', 'a'), 'a');
  const list = [{ id: 1, title: 'a', url: '', cited: false }, { id: 2, title: 'b', url: '', cited: true }, { id: 3, title: 'c', url: '', cited: false }];
  assert.deepEqual(ai.citedFirst(list).map((a) => a.id), [2, 1, 3]);
});

test('a new hook’s body: everything, the server’s defaults as a start, no key unless typed', () => {
  const draft = ai.draftOf(null);
  assert.equal(draft.base_url, 'https://api.openai.com/v1');
  assert.equal(draft.enabled, true);
  assert.deepEqual(ai.hookBody({ ...draft, base_url: ' http://127.0.0.1:9/v1 ', model: 'fake', inbox_ids: [7] }, null), {
    app_id: 'openai', status: 1,
    settings: { base_url: 'http://127.0.0.1:9/v1', model: 'fake', timeout_seconds: 30, customer_data_inbox_ids: [7] },
  });
  const keyed = ai.hookBody({ ...draft, api_key: ' sk-1 ', embedding_model: 'nomic', timeout_seconds: 'soon' }, null);
  assert.equal(keyed.settings.api_key, 'sk-1');
  assert.equal(keyed.settings.embedding_model, 'nomic');
  assert.equal(keyed.settings.timeout_seconds, 'soon', 'the server names what is wrong');
});

test('an existing hook’s body: only what changed; the key kept, replaced or removed', () => {
  const draft = ai.draftOf(hook);
  assert.deepEqual(ai.hookBody(draft, hook), { status: 1, settings: {} }, 'nothing changed: the key is kept');
  assert.deepEqual(ai.hookBody({ ...draft, enabled: false, inbox_ids: [4, 3] }, hook), { status: 0, settings: {} }, 'the same inboxes in another order');
  assert.deepEqual(ai.hookBody({ ...draft, inbox_ids: [3] }, hook).settings, { customer_data_inbox_ids: [3] });
  assert.deepEqual(ai.hookBody({ ...draft, remove_key: true }, hook).settings, { api_key: null });
  assert.deepEqual(ai.hookBody({ ...draft, api_key: 'sk-2', remove_key: true }, hook).settings, { api_key: 'sk-2' });
  assert.deepEqual(ai.hookBody({ ...draft, embedding_model: 'nomic', timeout_seconds: '60' }, hook).settings, { embedding_model: 'nomic', timeout_seconds: 60 });
  const withEmbeddings = { ...hook, settings: { ...settings, embedding_model: 'nomic', api_key_set: false } };
  assert.deepEqual(ai.hookBody({ ...ai.draftOf(withEmbeddings), embedding_model: ' ' }, withEmbeddings).settings, { embedding_model: null });
  assert.deepEqual(ai.hookBody({ ...ai.draftOf(withEmbeddings), remove_key: true }, withEmbeddings).settings, {}, 'no key to remove');
});

test('the server’s field errors by setting', () => {
  assert.deepEqual(ai.settingErrors([
    { field: 'settings.base_url', message: 'not an http(s) URL' },
    { field: 'settings.customer_data_inbox_ids', message: 'a list' },
    { field: 'status', message: '1 or 0' },
    { field: 'settings.base_url', message: 'loopback' },
  ]), { base_url: 'not an http(s) URL; loopback', customer_data_inbox_ids: 'a list', status: '1 or 0' });
});

test('saving: a POST for a new hook, a PATCH for an existing one, DELETE to remove it', async () => {
  ai.__answer(hook);
  await ai.saveHook(ai.draftOf(null), null);
  assert.equal(ai.__calls.at(-1).method, 'POST');
  assert.equal(ai.__calls.at(-1).path, '/api/v1/accounts/1/integrations/hooks');
  await ai.saveHook(ai.draftOf(hook), hook);
  assert.deepEqual(ai.__calls.at(-1), { method: 'PATCH', path: '/api/v1/accounts/1/integrations/hooks/9', body: { status: 1, settings: {} } });
  await ai.deleteHook(9);
  assert.deepEqual(ai.__calls.at(-1), { method: 'DELETE', path: '/api/v1/accounts/1/integrations/hooks/9', body: undefined });
});
