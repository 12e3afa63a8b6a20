// src/lib/automation.ts (attributes by event, operators by kind, drafts and the API's body, the
// client checks, the rule in words), loaded by transpiling it with the project's TypeScript (it
// imports nothing).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import ts from 'typescript';

const source = readFileSync(new URL('../../src/lib/automation.ts', import.meta.url), 'utf8');
const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
const m = await import(`data:text/javascript;base64,${Buffer.from(outputText).toString('base64')}`);

const en = JSON.parse(readFileSync(new URL('../../src/i18n/en.json', import.meta.url), 'utf8'));
const t = (key, vars = {}) => {
  assert.ok(key in en, `missing ${key}`);
  return Object.entries(vars).reduce((s, [k, v]) => s.replaceAll(`{${k}}`, String(v)), en[key]);
};
const names = { agents: { 5: 'Ana' }, teams: { 2: 'Billing' }, inboxes: { 1: 'Site' }, slaPolicies: { 3: 'Gold' } };
const name = (ids, id) => names[ids][id] ?? `#${id}`;

test('attributes follow the event, custom ones come last', () => {
  const custom = m.customAttrs([
    { attribute_key: 'plan', attribute_display_name: 'Plan', attribute_display_type: 'list', attribute_values: ['free', 'pro'], attribute_model: 'contact_attribute' },
    { attribute_key: 'plan', attribute_display_name: 'Conversation plan', attribute_display_type: 'text', attribute_model: 'conversation_attribute' },
    { attribute_key: 'total', attribute_display_name: 'Total', attribute_display_type: 'currency', attribute_model: 'contact_attribute' },
    { attribute_key: 'vip', attribute_display_name: 'VIP', attribute_display_type: 'checkbox', attribute_model: 'contact_attribute' },
  ]);
  assert.deepEqual(custom.map((a) => [a.key, a.kind, a.name]), [['plan', 'text', 'Conversation plan'], ['total', 'number', 'Total'], ['vip', 'flag', 'VIP']]);
  const keys = (event) => m.attrsFor(event, custom).map((a) => a.key);
  assert.ok(keys('message_created').includes('content'));
  assert.ok(!keys('conversation_created').includes('content'));
  assert.ok(!keys('message_created').includes('event_type'));
  assert.ok(keys('business_event_received').includes('event.'));
  assert.deepEqual(keys('conversation_created').slice(-3), ['plan', 'total', 'vip']);
  assert.equal(m.attrOf('event.order_id', m.attrsFor('business_event_received', [])).key, 'event.');
  for (const a of m.STANDARD) {
    if (a.key !== 'event.') assert.ok(`automation.attr.${a.key}` in en, a.key);
  }
});

test('operators by kind, as the server allows them', () => {
  assert.deepEqual(m.OPERATORS.flag, ['equal_to', 'not_equal_to']);
  assert.ok(m.OPERATORS.text.includes('starts_with'));
  assert.ok(!m.OPERATORS.choice.includes('contains'));
  for (const op of new Set(Object.values(m.OPERATORS).flat())) assert.ok(`automation.op.${op}` in en, op);
  for (const a of Object.keys(m.ACTIONS)) assert.ok(`automation.action.${a}` in en, a);
  for (const e of m.EVENTS) assert.ok(`automation.event.${e}` in en && `automation.when.${e}` in en, e);
});

const rule = {
  id: 1, account_id: 1, name: 'Tag refunds', description: null, event_name: 'message_created', active: true, delay_minutes: 0,
  created_on: 0, updated_on: 0,
  conditions: [
    { attribute_key: 'content', filter_operator: 'contains', values: ['refund'], query_operator: 'and' },
    { attribute_key: 'status', filter_operator: 'equal_to', values: ['open'], query_operator: 'OR' },
    { attribute_key: 'assignee_id', filter_operator: 'is_not_present', values: [] },
  ],
  actions: [{ action_name: 'add_label', action_params: ['refund'] }, { action_name: 'assign_team', action_params: [2] }],
};

test('a rule as a draft and back', () => {
  const d = m.toDraft(rule);
  assert.deepEqual(d.conditions[0], { key: 'content', field: '', op: 'contains', values: ['refund'], join: 'and' });
  assert.equal(d.conditions[1].join, 'or');
  assert.deepEqual(d.actions[1], { name: 'assign_team', params: ['2'] });
  const attrs = m.attrsFor('message_created', []);
  const body = m.toBody(d, attrs);
  assert.deepEqual(body.conditions, [
    { attribute_key: 'content', filter_operator: 'contains', values: ['refund'], query_operator: 'and' },
    { attribute_key: 'status', filter_operator: 'equal_to', values: ['open'], query_operator: 'or' },
    { attribute_key: 'assignee_id', filter_operator: 'is_not_present', values: [], query_operator: 'and' },
  ]);
  assert.deepEqual(body.actions, [{ action_name: 'add_label', action_params: ['refund'] }, { action_name: 'assign_team', action_params: [2] }]);
  // Ids as numbers, flags as booleans, a business event's field under `event.`.
  const more = m.toBody({ ...d, event_name: 'business_event_received', conditions: [
    { key: 'inbox_id', field: '', op: 'equal_to', values: ['3'], join: 'and' },
    { key: 'event.', field: 'order_id', op: 'equal_to', values: [' 42 '], join: 'and' },
  ], actions: [{ name: 'assign_agent', params: ['nil'] }] }, m.attrsFor('business_event_received', []));
  assert.deepEqual(more.conditions.map((c) => [c.attribute_key, c.values]), [['inbox_id', [3]], ['event.order_id', ['42']]]);
  assert.deepEqual(more.actions[0].action_params, ['nil']);
  const flag = m.toBody({ ...d, conditions: [{ key: 'private_note', field: '', op: 'equal_to', values: ['true'], join: 'and' }] }, attrs);
  assert.deepEqual(flag.conditions[0].values, [true]);
});

test('the client checks mirror the server', () => {
  assert.deepEqual(m.check(m.toDraft(rule)), {});
  const d = { ...m.emptyDraft(), name: ' ', delay_minutes: 43_201, actions: [] };
  assert.deepEqual(m.check(d), { name: 'required', delay_minutes: 'delay', actions: 'actions' });
  assert.equal(m.check({ ...m.toDraft(rule), delay_minutes: null }).delay_minutes, 'delay');
  assert.equal(m.check({ ...m.toDraft(rule), delay_minutes: 1.5 }).delay_minutes, 'delay');
  const rows = m.check({
    ...m.toDraft(rule),
    conditions: [
      { key: 'content', field: '', op: 'contains', values: [' '], join: 'and' },
      { key: 'email', field: '', op: 'is_present', values: [], join: 'and' },
      { key: 'event.', field: 'a b', op: 'equal_to', values: ['x'], join: 'and' },
    ],
    actions: [{ name: 'send_message', params: [] }, { name: 'assign_team', params: [] }, { name: 'resolve_conversation', params: [] }],
  });
  assert.deepEqual(rows, { 'conditions[0].values': 'values', 'conditions[2].attribute_key': 'field', 'actions[0].action_params': 'params' });
  for (const code of new Set(Object.values({ ...rows, ...m.check(d) }))) assert.ok(`automation.check.${code}` in en, code);
});

test('the rule in words', () => {
  const attrs = m.attrsFor('message_created', []);
  assert.equal(
    m.summary(m.toDraft(rule), attrs, t, name),
    'When a message is created, if content contains “refund” and status is open or assignee is not present, then add label refund, assign team Billing',
  );
  const d = { ...m.emptyDraft(), event_name: 'conversation_created', delay_minutes: 30, actions: [
    { name: 'assign_agent', params: ['5'] }, { name: 'change_priority', params: ['urgent'] }, { name: 'resolve_conversation', params: [] },
  ] };
  assert.equal(
    m.summary(d, attrs, t, name),
    'When a conversation is created, assign agent Ana, change priority to urgent, resolve conversation (30 min later, if the conditions still hold)',
  );
  const channel = { ...d, delay_minutes: 0, conditions: [{ key: 'channel_type', field: '', op: 'equal_to', values: ['whatsapp', 'facebook'], join: 'and' }], actions: [] };
  assert.equal(m.summary(channel, attrs, t, name), 'When a conversation is created, if channel is WhatsApp or Facebook Messenger, then …');
});

test('SLA: the warning and breach events, and add_sla with a policy', () => {
  assert.ok(m.EVENTS.includes('sla_warning') && m.EVENTS.includes('sla_breached'));
  assert.equal(m.ACTIONS.add_sla, 'sla');
  assert.deepEqual(m.defaultParams('add_sla'), [], 'a policy to pick');
  assert.deepEqual(m.checkActions([{ name: 'add_sla', params: [] }]), { 'actions[0].action_params': 'params' });
  assert.deepEqual(m.actionsBody([{ name: 'add_sla', params: ['3'] }]), [{ action_name: 'add_sla', action_params: [3] }], 'the id as a number');
  const d = { ...m.emptyDraft(), event_name: 'sla_breached', actions: [{ name: 'add_label', params: ['late'] }, { name: 'add_sla', params: ['3'] }] };
  assert.equal(m.summary(d, m.attrsFor('sla_breached', []), t, name), 'When an SLA is breached, add label late, apply SLA policy Gold');
  assert.equal(m.summary({ ...d, event_name: 'sla_warning', actions: [] }, [], t, name), 'When an SLA warning is raised, …');
  assert.equal(m.actionsInWords([{ name: 'add_sla', params: ['9'] }], t, name), 'apply SLA policy #9');
});
