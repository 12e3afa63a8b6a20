// src/lib/calls.ts (calls an agent places and customers waiting to be called back): the
// callbacks list's query and filter, a phone line among the inboxes, the "note a callback
// request" form's checks and body, why a call was refused, and the list after a change.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import ts from 'typescript';

const source = readFileSync(new URL('../../src/lib/calls.ts', import.meta.url), 'utf8');
const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
const m = await import(`data:text/javascript;base64,${Buffer.from(outputText).toString('base64')}`);

const en = JSON.parse(readFileSync(new URL('../../src/i18n/en.json', import.meta.url), 'utf8'));

test('the list\'s path for each filter; anything else is the waiting', () => {
  assert.deepEqual([...m.CALLBACK_FILTERS], ['waiting', 'called', 'canceled', 'all']);
  for (const f of m.CALLBACK_FILTERS) {
    assert.equal(m.callbacksPath(f), `/callback_requests?status=${f}`);
    assert.equal(m.filterOf(f), f);
    assert.ok(`callbacks.filter.${f}` in en, f);
  }
  for (const raw of [undefined, null, '', 'WAITING', 'done', 3]) assert.equal(m.filterOf(raw), 'waiting', String(raw));
  for (const s of ['waiting', 'called', 'canceled']) assert.ok(`callbacks.status.${s}` in en, s);
  for (const s of ['ivr', 'widget', 'agent']) assert.ok(`callbacks.source.${s}` in en, s);
});

test('a phone line is an inbox with a Voice URL (a Twilio SMS number)', () => {
  assert.equal(m.isPhoneLine({ provider_voice_url: 'https://tl.example/twilio/voice/call/14155238886' }), true);
  for (const inbox of [{}, { provider_voice_url: null }, { provider_voice_url: '' }, { provider_voice_url: undefined }]) {
    assert.equal(m.isPhoneLine(inbox), false, JSON.stringify(inbox));
  }
});

test('numbers: international, with + and 8 to 15 digits', () => {
  for (const ok of ['+5511987654321', '+48 601 234 567', ' +48601234567 ', '+1 (415) 523-8886', '+44.20.7946.0958']) assert.equal(m.checkPhone(ok), null, ok);
  for (const blank of ['', '   ']) assert.equal(m.checkPhone(blank), 'blank');
  for (const bad of ['601 234 567', '0048601234567', '+48 601 abc', '+1234567', '+1234567890123456', '+', '++48601234567', 'tel:+48601234567']) {
    assert.equal(m.checkPhone(bad), 'international', bad);
  }
});

test('a datetime-local value as Unix seconds, in the local time zone', () => {
  assert.equal(m.unixOfLocal('2030-05-01T14:30'), Math.floor(new Date(2030, 4, 1, 14, 30).getTime() / 1000));
  assert.equal(m.unixOfLocal('2030-05-01T14:30:15'), Math.floor(new Date(2030, 4, 1, 14, 30, 15).getTime() / 1000));
  for (const bad of ['', 'tomorrow', '2030-05-01', '2030-04-31T10:00', '2030-13-01T10:00', '14:30']) assert.equal(m.unixOfLocal(bad), null, bad);
});

test('the form\'s checks, as the server makes them', () => {
  const good = { phone: '+48 601 234 567', preferredAt: '', note: '' };
  assert.deepEqual(m.checkCallback(good), {});
  assert.deepEqual(m.checkCallback({ ...good, preferredAt: '2030-05-01T09:00', note: 'After lunch' }), {});
  assert.deepEqual(m.checkCallback({ ...good, phone: '' }), { phone_number: 'blank' });
  assert.deepEqual(m.checkCallback({ ...good, phone: '601 234 567' }), { phone_number: 'international' });
  assert.deepEqual(m.checkCallback({ ...good, preferredAt: '2030-02-30T09:00' }), { preferred_at: 'time' });
  assert.deepEqual(m.checkCallback({ ...good, preferredAt: '1999-12-31T09:00' }), { preferred_at: 'time' }, 'before 2000');
  assert.deepEqual(m.checkCallback({ ...good, preferredAt: '2100-06-01T09:00' }), { preferred_at: 'time' }, 'from 2100');
  assert.deepEqual(m.checkCallback({ ...good, note: 'x'.repeat(1001) }), { note: 'too_long' });
  assert.deepEqual(m.checkCallback({ ...good, note: ` ${'x'.repeat(1000)} ` }), {}, 'trimmed first');
  for (const code of ['blank', 'international', 'time', 'too_long']) assert.ok(`callbacks.check.${code}` in en, code);
});

test('the body: the number trimmed, the time and the note only when given', () => {
  assert.deepEqual(m.callbackBody({ phone: ' +5511987654321 ', preferredAt: '', note: '  ' }), { phone_number: '+5511987654321' });
  assert.deepEqual(m.callbackBody({ phone: '+5511987654321', preferredAt: '2030-05-01T14:30', note: ' Prefers Portuguese ' }), {
    phone_number: '+5511987654321',
    preferred_at: Math.floor(new Date(2030, 4, 1, 14, 30).getTime() / 1000),
    note: 'Prefers Portuguese',
  });
});

test('why a call was refused, from the status and the fields', () => {
  const cases = [
    [422, [], 'no_agent_phone'],
    [422, [{ field: 'phone_number', code: 'blank' }], 'no_customer_phone'],
    [422, [{ field: 'phone_number', code: 'invalid' }], 'bad_number'],
    [422, [{ field: 'inbox_id', code: 'invalid' }], 'no_line'],
    [422, [{ field: 'note', code: 'too_long' }], 'other'],
    [409, [], 'taken'],
    [502, [], 'provider'],
    [404, [], 'not_found'],
    [500, [], 'other'],
    [undefined, [], 'other'],
  ];
  for (const [status, fields, reason] of cases) {
    assert.equal(m.callFailure(status, fields), reason, `${status} ${JSON.stringify(fields)}`);
    if (reason !== 'other') assert.ok(`calls.failed.${reason}` in en, reason);
  }
  assert.match(en['calls.failed.provider'], /\{words\}/, 'Twilio\'s words are shown');
});

test('after a change: gone from a list of another status, replaced in its own and in all', () => {
  const a = { id: 1, status: 'waiting', phone_number: '+5511987654321' };
  const b = { id: 2, status: 'waiting', phone_number: '+48601234567' };
  const canceled = { ...a, status: 'canceled' };
  assert.deepEqual(m.afterChange([a, b], canceled, 'waiting'), [b]);
  assert.deepEqual(m.afterChange([a, b], canceled, 'all'), [canceled, b]);
  assert.deepEqual(m.afterChange([a, b], canceled, 'canceled'), [canceled, b]);
  assert.deepEqual(m.afterChange([a, b], canceled, 'called'), [b]);
});
