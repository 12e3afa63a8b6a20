// src/lib/offers.ts (the offers tray: the pending offers and their countdowns), loaded by
// transpiling it with the project's TypeScript (it imports types only). The clock is passed in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import ts from 'typescript';

const source = readFileSync(new URL('../../src/lib/offers.ts', import.meta.url), 'utf8');
const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
const m = await import(`data:text/javascript;base64,${Buffer.from(outputText).toString('base64')}`);

/** Server seconds as the clock's milliseconds. */
const at = (seconds) => seconds * 1000;
const offer = (id, expires, extra = {}) => ({ conversation_id: id, expires_at: expires, inbox_id: 3, contact_name: 'Maria', channel_kind: 'chat', ...extra });
const ids = (list) => list.map((o) => o.conversation_id);

test('offers from frames and answers: the fields the tray reads, or nothing', () => {
  const frame = { type: 'offer', account_id: 1, conversation_id: 12, expires_at: 1733390030, inbox_id: 3, contact_name: 'Maria', channel_kind: 'chat' };
  assert.deepEqual(m.parseOffer(frame), offer(12, 1733390030));
  assert.equal(m.parseOffer({ ...frame, contact_name: null }).contact_name, null);
  assert.equal(m.parseOffer({ ...frame, contact_name: '  ' }).contact_name, null, 'a blank name is no name');
  assert.equal(m.parseOffer({ ...frame, channel_kind: 'fax' }).channel_kind, 'other');
  for (const bad of [null, 'x', {}, { ...frame, conversation_id: '12' }, { ...frame, conversation_id: 0 }, { ...frame, expires_at: null }, { ...frame, expires_at: Number.NaN }]) {
    assert.equal(m.parseOffer(bad), null, JSON.stringify(bad));
  }
});

test('the countdown: whole seconds left, rounded up, 0 once expired; the bar shrinks from full', () => {
  const o = offer(1, 1030);
  assert.equal(m.secondsLeft(o, at(1000)), 30);
  assert.equal(m.secondsLeft(o, at(1000) + 400), 30, 'rounded up');
  assert.equal(m.secondsLeft(o, at(1029) + 1), 1);
  assert.equal(m.secondsLeft(o, at(1030)), 0);
  assert.equal(m.secondsLeft(o, at(1100)), 0, 'never negative');
  const [held] = m.addOffer([], o, at(1000));
  assert.equal(held.total, 30);
  assert.equal(m.shareLeft(held, at(1000)), 1);
  assert.equal(m.shareLeft(held, at(1015)), 0.5);
  assert.equal(m.shareLeft(held, at(1040)), 0);
  assert.equal(m.shareLeft(held, at(990)), 1, 'a clock a little behind shows a full bar');
  assert.equal(m.shareLeft({ ...held, total: 0 }, at(1000)), 0);
});

test('adding: soonest to expire first, one card per conversation, nothing already expired', () => {
  let list = m.addOffer([], offer(5, 1060), at(1000));
  list = m.addOffer(list, offer(7, 1030), at(1001));
  list = m.addOffer(list, offer(6, 1030), at(1002));
  assert.deepEqual(ids(list), [6, 7, 5]);
  const again = m.addOffer(list, offer(7, 1030, { contact_name: 'Maria Souza' }), at(1010));
  assert.deepEqual(ids(again), [6, 7, 5], 'the same conversation replaces its card');
  assert.equal(again.find((o) => o.conversation_id === 7).contact_name, 'Maria Souza');
  assert.equal(again.find((o) => o.conversation_id === 7).total, 29, 'the same offer keeps its span');
  const reoffered = m.addOffer(again, offer(7, 1070), at(1010));
  assert.equal(reoffered.find((o) => o.conversation_id === 7).total, 60, 'a new offer spans its own time');
  assert.deepEqual(ids(m.addOffer(list, offer(9, 1000), at(1000))), [6, 7, 5], 'already expired: not shown');
  assert.deepEqual(ids(m.removeOffer(list, 7)), [6, 5]);
  assert.deepEqual(ids(m.removeOffer(list, 99)), [6, 7, 5]);
});

test('the tick drops what expired, and keeps the same list when nothing did', () => {
  const list = [offer(1, 1010), offer(2, 1020)].reduce((l, o) => m.addOffer(l, o, at(1000)), []);
  assert.equal(m.pendingOffers(list, at(1009)), list, 'nothing to redraw');
  assert.deepEqual(ids(m.pendingOffers(list, at(1010))), [2], 'dropped when it reaches 0');
  assert.deepEqual(ids(m.pendingOffers(list, at(1020))), []);
});

test("the server's list wins, except what frames changed while it was asked", () => {
  const shown = [offer(1, 1030), offer(2, 1040)].reduce((l, o) => m.addOffer(l, o, at(1000)), []);
  // Asked at 1005: meanwhile a frame offered 3 and another withdrew 2.
  const withThree = m.addOffer(shown, offer(3, 1050), at(1006));
  const current = m.removeOffer(withThree, 2);
  const answer = [offer(1, 1030), offer(2, 1040), offer(4, 1045)];
  const next = m.reconcile(current, answer, new Set([3]), new Set([2]), at(1007));
  assert.deepEqual(ids(next), [1, 4, 3]);
  assert.equal(next[0].total, 30, 'a known offer keeps its span');
  assert.equal(next[1].total, 38, 'a new one spans what is left');
  // Without frames in between: the answer as it is (expired ones left out), whatever was shown.
  assert.deepEqual(ids(m.reconcile(shown, [offer(8, 1020), offer(9, 1003)], new Set(), new Set(), at(1005))), [8]);
  assert.deepEqual(ids(m.reconcile(shown, [], new Set(), new Set(), at(1005))), [], 'gone on the server: gone here');
});

test('the offers to announce are those not shown before', () => {
  const before = [offer(1, 1030)];
  const after = [offer(1, 1030), offer(2, 1040)].reduce((l, o) => m.addOffer(l, o, at(1000)), []);
  assert.deepEqual(ids(m.newOffers(before, after)), [2]);
  assert.deepEqual(ids(m.newOffers(after, after)), []);
});
