// src/lib/notifications.ts: a notification's words in the agent's language, the excerpt, and
// one notification per conversation in the list.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import ts from 'typescript';

const load = (file) => {
  const source = readFileSync(new URL(`../../src/lib/${file}`, import.meta.url), 'utf8');
  return ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
};
const asUrl = (js) => `data:text/javascript;base64,${Buffer.from(js).toString('base64')}`;
const mentions = asUrl(load('mentions.ts'));
const m = await import(asUrl(load('notifications.ts').replace("'./mentions'", `'${mentions}'`)));

const catalogues = Object.fromEntries(
  ['en', 'pt-BR', 'pl'].map((l) => [l, JSON.parse(readFileSync(new URL(`../../src/i18n/${l}.json`, import.meta.url), 'utf8'))]),
);
const tIn = (locale) => (key, vars = {}) => {
  assert.ok(key in catalogues[locale], `${locale} lacks ${key}`);
  return Object.entries(vars).reduce((s, [k, v]) => s.replaceAll(`{${k}}`, String(v)), catalogues[locale][key]);
};

const note = (over = {}) => ({
  id: 1,
  account_id: 1,
  notification_type: 'conversation_mention',
  push_message_title: '',
  primary_actor_id: 7,
  primary_actor: { id: 7, inbox_id: 1, status: 'open', meta: { sender: { id: 3, name: 'Ana Souza' } } },
  secondary_actor: { id: 9, content: '[@Jan](mention://user/5/Jan)  please\ncheck', private: true, sender_type: 'User', sender_id: 2, created_at: 0 },
  read_at: null,
  snoozed_until: null,
  created_at: 0,
  last_activity_at: 0,
  ...over,
});
const agents = { 2: 'Bia' };
const agentName = (id) => agents[id];

test('every type has words in every language, naming who wrote and the conversation', () => {
  for (const type of ['conversation_creation', 'conversation_assignment', 'assigned_conversation_new_message', 'conversation_mention', 'participating_conversation_new_message']) {
    for (const locale of ['en', 'pt-BR', 'pl']) {
      const line = m.notificationLine(note({ notification_type: type }), tIn(locale), agentName);
      assert.ok(line.includes('7'), `${locale} ${type}: ${line}`);
    }
  }
  assert.equal(m.notificationLine(note(), tIn('en'), agentName), 'Bia mentioned you in #7');
  // A customer's message names the customer.
  const incoming = note({ notification_type: 'assigned_conversation_new_message', secondary_actor: { ...note().secondary_actor, sender_type: 'Contact', sender_id: 3 } });
  assert.equal(m.authorOf(incoming, agentName), 'Ana Souza');
});

test('excerpts read mentions as names and stay short', () => {
  assert.equal(m.excerpt(note()), '@Jan please check');
  assert.equal(m.excerpt(note({ secondary_actor: null })), '');
  assert.equal(m.excerpt(note({ secondary_actor: { ...note().secondary_actor, content: 'x'.repeat(300) } }), 10).length, 10);
});

test('a newer notification replaces its conversation’s older one at the top', () => {
  const list = [note({ id: 1, primary_actor_id: 7 }), note({ id: 2, primary_actor_id: 8 })];
  assert.deepEqual(m.merged(list, note({ id: 3, primary_actor_id: 8 })).map((n) => n.id), [3, 1]);
  assert.deepEqual(m.merged(list, note({ id: 4, primary_actor_id: 9 })).map((n) => n.id), [4, 1, 2]);
});
