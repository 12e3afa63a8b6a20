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

test('a web call is one from the website widget (voice or video), not a phone line\'s', () => {
  assert.equal(m.isWebCall({ medium: 'web_voice' }), true);
  assert.equal(m.isWebCall({ medium: 'web_video' }), true);
  for (const call of [{ medium: 'phone' }, {}, { medium: null }, { medium: 'sms' }]) assert.equal(m.isWebCall(call), false, JSON.stringify(call));
});

test('who may wrap a call up: the agent who took it, or a supervisor or an administrator', () => {
  assert.equal(m.mayWrapUp({ agent_id: 7 }, 7, false), true);
  assert.equal(m.mayWrapUp({ agent_id: 7 }, 8, false), false);
  assert.equal(m.mayWrapUp({ agent_id: 7 }, 8, true), true);
  assert.equal(m.mayWrapUp({ agent_id: null }, 8, true), true, 'a missed call, by a supervisor');
  assert.equal(m.mayWrapUp({ agent_id: null }, 8, false), false);
  assert.equal(m.mayWrapUp({}, undefined, false), false);
  assert.equal(m.mayWrapUp({ agent_id: null }, null, false), false, 'nobody is not the agent of a call nobody took');
});

test('the wrap-up form: from the call, checked as the server checks it, sent trimmed', () => {
  assert.deepEqual(m.wrapUpDraftOf({ disposition: null, wrap_up_notes: null }), { disposition: '', notes: '' });
  assert.deepEqual(m.wrapUpDraftOf({ disposition: 'sale', wrap_up_notes: 'Two seats' }), { disposition: 'sale', notes: 'Two seats' });
  assert.deepEqual(m.checkWrapUp({ disposition: 'resolved', notes: '' }), {});
  assert.deepEqual(m.checkWrapUp({ disposition: ` ${'x'.repeat(64)} `, notes: 'n'.repeat(4000) }), {}, 'trimmed first; the limits themselves pass');
  assert.deepEqual(m.checkWrapUp({ disposition: 'x'.repeat(65), notes: 'n'.repeat(4001) }), { disposition: 'too_long', notes: 'too_long' });
  assert.deepEqual(m.checkWrapUp({ disposition: '😀'.repeat(64), notes: '' }), {}, 'characters, not UTF-16 units');
  assert.deepEqual(m.wrapUpBody({ disposition: '  follow-up ', notes: '\n Call back Monday \n' }), { disposition: 'follow-up', notes: 'Call back Monday' });
  assert.deepEqual(m.wrapUpBody({ disposition: '', notes: ' ' }), { disposition: '', notes: '' }, 'emptied: cleared');
  assert.equal(m.MAX_DISPOSITION, 64);
  assert.equal(m.MAX_WRAP_UP_NOTES, 4000);
});

test('the suggested dispositions each have their words', () => {
  assert.deepEqual([...m.DISPOSITIONS], ['resolved', 'follow_up', 'sale', 'complaint', 'wrong_number', 'transferred']);
  for (const d of m.DISPOSITIONS) assert.ok(`wrap_up.choice.${d}` in en, d);
});

test('the server\'s refusals of a wrap-up, by field', () => {
  assert.deepEqual(m.wrapUpErrors([
    { field: 'disposition', message: 'disposition is too long (maximum is 64 characters)' },
    { field: 'notes', message: 'notes contains control characters' },
  ]), { fields: { disposition: 'disposition is too long (maximum is 64 characters)', notes: 'notes contains control characters' }, rest: [] });
  assert.deepEqual(m.wrapUpErrors([{ field: 'base', message: 'nope' }]), { fields: {}, rest: ['nope'] });
  assert.deepEqual(m.wrapUpErrors([]), { fields: {}, rest: [] });
});
