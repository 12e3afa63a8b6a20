// src/lib/routing.ts (queues as form values, skill names, waiting times, service level),
// loaded by transpiling it with the project's TypeScript (it imports types only).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import ts from 'typescript';

const source = readFileSync(new URL('../../src/lib/routing.ts', import.meta.url), 'utf8');
const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
const m = await import(`data:text/javascript;base64,${Buffer.from(outputText).toString('base64')}`);

test('skill names as the server accepts them', () => {
  for (const ok of ['vip', 'lang:pt-BR', 'product:billing', 'a.b_c-d', 'x'.repeat(64)]) assert.equal(m.isSkillName(ok), true, ok);
  for (const bad of ['', 'x'.repeat(65), 'has space', 'ção', 'a/b']) assert.equal(m.isSkillName(bad), false, bad);
});

test('queues as select values and back', () => {
  assert.equal(m.queueKey({ type: 'team', id: 3 }), 'team:3');
  assert.equal(m.queueKey(null), '');
  assert.deepEqual(m.parseQueueKey('inbox:12'), { type: 'inbox', id: 12 });
  assert.equal(m.parseQueueKey(''), null);
  assert.equal(m.parseQueueKey('label:1'), null);
});

test('durations count up in minutes and seconds, hours when needed', () => {
  assert.equal(m.formatDuration(0), '0:00');
  assert.equal(m.formatDuration(7.9), '0:07');
  assert.equal(m.formatDuration(75), '1:15');
  assert.equal(m.formatDuration(3723), '1:02:03');
  assert.equal(m.formatDuration(-5), '0:00', 'a clock a little ahead shows no negative wait');
});

test('the waiting list is oldest first', () => {
  const w = (id, since) => ({ id, waiting_since: since });
  assert.deepEqual(m.oldestFirst([w(3, 30), w(1, 10), w(4, 10), w(2, 20)]).map((x) => x.id), [1, 4, 2, 3]);
});

test("service level: the server's figure, else within target over answered", () => {
  assert.equal(m.serviceLevel(8, 11, 0.727), 0.727);
  assert.equal(m.serviceLevel(8, 10, null), 0.8);
  assert.equal(m.serviceLevel(0, 0, null), null, 'nothing answered yet');
  assert.equal(m.serviceLevel(0, 0), null);
});

test('load against capacity, and capacity overrides (blank = the default)', () => {
  const load = { call: 0, chat: 1, messaging: 0, email: 0, other: 0 };
  const capacity = { call: 1, chat: 4, messaging: 5, email: 8, other: 5 };
  assert.equal(m.loadText(load, capacity, 'chat'), '1/4');
  assert.equal(m.loadText({}, capacity, 'email'), '0/8');
  const override = { call: null, chat: 2, messaging: null, email: 0, other: null };
  const fields = m.overrideFields(override);
  assert.deepEqual(fields, { call: '', chat: '2', messaging: '', email: '0', other: '' });
  assert.deepEqual(m.overrideValues(fields), override);
  assert.deepEqual(m.overrideValues({ call: null, chat: 3, messaging: '', email: '7', other: 'x' }), { call: null, chat: 3, messaging: null, email: 7, other: null });
  assert.deepEqual(m.overrideFields(null), { call: '', chat: '', messaging: '', email: '', other: '' });
});
