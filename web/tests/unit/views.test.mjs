// src/lib/views.ts: a saved view keeps Chatwoot's filter payload and the screen's own filters,
// and gives back exactly those filters; a view made in Chatwoot has no screen state to restore.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import ts from 'typescript';

const source = readFileSync(new URL('../../src/lib/views.ts', import.meta.url), 'utf8');
const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
const m = await import(`data:text/javascript;base64,${Buffer.from(outputText).toString('base64')}`);

const filters = { tab: 'unassigned', status: 'pending', inboxId: '3', teamId: '', label: 'vip', channel: 'whatsapp', sort: 'sort_on_waiting_since' };

test('a conversation view saves Chatwoot conditions joined by and, and the screen state', () => {
  const q = m.conversationViewQuery(filters);
  assert.deepEqual(q.payload, [
    { attribute_key: 'status', filter_operator: 'equal_to', values: ['pending'], query_operator: 'and' },
    { attribute_key: 'inbox_id', filter_operator: 'equal_to', values: [3], query_operator: 'and' },
    { attribute_key: 'labels', filter_operator: 'equal_to', values: ['vip'] },
  ]);
  assert.deepEqual(m.conversationViewFilters({ id: 1, name: 'x', filter_type: 'conversation', query: q }), filters);
});

test('all statuses save no status condition; a Chatwoot folder restores nothing', () => {
  assert.deepEqual(m.conversationViewQuery({ ...filters, status: 'all', inboxId: '', label: '' }).payload, []);
  assert.equal(m.conversationViewFilters({ id: 2, name: 'cw', filter_type: 'conversation', query: { payload: [{ attribute_key: 'status' }] } }), null);
});

test('a damaged saved state falls back to safe defaults', () => {
  const back = m.conversationViewFilters({ id: 3, name: 'x', filter_type: 'conversation', query: { tl_view: { tab: 'everyone', status: 7 } } });
  assert.deepEqual(back, { tab: 'all', status: 'open', inboxId: '', teamId: '', label: '', channel: '', sort: 'latest' });
});
