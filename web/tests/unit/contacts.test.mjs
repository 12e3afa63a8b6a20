// src/lib/contacts.ts: the contacts screen's filters as Chatwoot's filter payload, an import file
// cut into parts between records (quoted line breaks kept whole) with every refused row renumbered
// to the whole file, and the timeline's query.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import ts from 'typescript';

const source = readFileSync(new URL('../../src/lib/contacts.ts', import.meta.url), 'utf8');
const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
const m = await import(`data:text/javascript;base64,${Buffer.from(outputText).toString('base64')}`);

const now = new Date('2026-12-05T12:00:00Z');
const none = { label: '', activity: '', attributeKey: '', attributeValue: '' };

test('no filter set asks for no filter', () => {
  assert.equal(m.filterPayload(none, now), null);
  assert.equal(m.filterPayload({ ...none, attributeKey: 'plan', attributeValue: '  ' }, now), null);
});

test('filters become conditions joined by and, in the filter language', () => {
  const f = m.filterPayload({ label: 'vip', activity: '30', attributeKey: 'plan', attributeValue: ' gold ' }, now);
  assert.deepEqual(f.payload, [
    { attribute_key: 'labels', filter_operator: 'equal_to', values: ['vip'], query_operator: 'and' },
    { attribute_key: 'last_activity_at', filter_operator: 'is_greater_than', values: ['2026-11-05'], query_operator: 'and' },
    { attribute_key: 'plan', filter_operator: 'equal_to', values: ['gold'] },
  ]);
  const idle = m.filterPayload({ ...none, activity: '-90' }, now);
  assert.deepEqual(idle.payload, [{ attribute_key: 'last_activity_at', filter_operator: 'days_before', values: ['90'] }]);
});

test('a file is cut between records, each part with the header, rows renumbered to the file', () => {
  const file = '\uFEFFname,email\nAna,ana@x.com\n"Bruno\nLima",bruno@x.com\nCaio,caio@x.com\n\nDora,dora@x.com';
  const parts = m.splitCsv(file, 2);
  assert.deepEqual(parts.map((p) => [p.text, p.records, p.firstLine]), [
    ['name,email\nAna,ana@x.com\n"Bruno\nLima",bruno@x.com\n', 2, 2],
    ['name,email\nCaio,caio@x.com\n\n', 2, 5],
    ['name,email\nDora,dora@x.com', 1, 7],
  ]);
  // Dora is row 2 of the third part and line 7 of the file.
  assert.equal(m.rowInFile(parts[2], 2), 7);
  const total = [parts[1], parts[2]].reduce(
    (acc, p, i) => m.addReport(acc, p, { total_rows: 1, created: i, updated: 1 - i, failed: [{ row: 2, field: 'email', code: 'invalid', message: 'x' }] }),
    { total_rows: 0, created: 0, updated: 0, failed: [] },
  );
  assert.deepEqual(total.failed.map((f) => f.row), [5, 7]);
  assert.deepEqual([total.total_rows, total.created, total.updated], [2, 1, 1]);
});

test('a file with only its header has no parts; one without a final line break keeps its last record', () => {
  assert.deepEqual(m.splitCsv('name,email\n', 100), []);
  assert.equal(m.splitCsv('email\na@x.com', 100)[0].records, 1);
  const big = 'email\n' + Array.from({ length: 1000 }, (_, i) => `c${i}@x.com`).join('\n') + '\n';
  const parts = m.splitCsv(big, 250);
  assert.equal(parts.length, 4);
  assert.equal(parts.reduce((n, p) => n + p.records, 0), 1000);
  assert.equal(parts[3].firstLine, 752);
});

test('the timeline asks only for the kinds chosen', () => {
  assert.equal(m.timelineQuery(m.TIMELINE_KINDS), '?limit=30');
  assert.equal(m.timelineQuery(['message', 'event'], '17.message.3', 10), '?kinds=message%2Cevent&before=17.message.3&limit=10');
  assert.equal(m.messageSide({ kind: 'message', message_type: 0 }), 'customer');
  assert.equal(m.messageSide({ kind: 'message', message_type: 1 }), 'team');
});

test('a call on the timeline: a web call by its kind, a phone call by the other party\'s number', () => {
  const en = JSON.parse(readFileSync(new URL('../../src/i18n/en.json', import.meta.url), 'utf8'));
  assert.deepEqual(m.callLine({ kind: 'call', direction: 'inbound', from_number: '+5511987654321', to_number: '+14155238886' }), { key: 'timeline.call_inbound', number: '+5511987654321' });
  assert.deepEqual(m.callLine({ kind: 'call', direction: 'outbound', from_number: '+14155238886', to_number: '+48601234567', medium: 'phone' }), { key: 'timeline.call_outbound', number: '+48601234567' });
  // Web calls carry the visitor's and the inbox's names where phone calls carry numbers: not shown as numbers.
  assert.deepEqual(m.callLine({ kind: 'call', direction: 'inbound', from_number: 'Ana', to_number: 'Loja', medium: 'web_voice' }), { key: 'timeline.web_call_voice', number: '' });
  assert.deepEqual(m.callLine({ kind: 'call', direction: 'inbound', from_number: 'Ana', to_number: 'Loja', medium: 'web_video' }), { key: 'timeline.web_call_video', number: '' });
  for (const key of ['timeline.call_inbound', 'timeline.call_outbound', 'timeline.web_call_voice', 'timeline.web_call_video']) assert.ok(key in en, key);
});

test('a call\'s wrap-up saved: that call\'s item changes, the others stay', () => {
  const items = [
    { kind: 'message', id: 5, at: 3, content: 'hi' },
    { kind: 'call', id: 5, at: 2, outcome: 'missed', agent_id: null, disposition: null, wrap_up_notes: null },
    { kind: 'call', id: 6, at: 1, outcome: 'answered', agent_id: 2, disposition: 'sale', wrap_up_notes: null },
  ];
  const after = m.afterWrapUp(items, { id: 5, disposition: 'wrong number', wrap_up_notes: 'Asked for the bakery', agent_id: 99 });
  assert.deepEqual(after[0], items[0], 'a message with the same id is not the call');
  assert.deepEqual(after[1], { ...items[1], disposition: 'wrong number', wrap_up_notes: 'Asked for the bakery' });
  assert.equal(after[2], items[2]);
  assert.deepEqual(m.afterWrapUp(items, { id: 6, disposition: null, wrap_up_notes: null })[2].disposition, null, 'cleared');
});
