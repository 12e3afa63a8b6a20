// src/lib/macros.ts (who may change a macro, the order of the list, a run's failures) and the
// macro pieces of src/lib/automation.ts (a macro as a draft and back, the client checks, and
// what macros share with automation rules: action rows, their checks and words, errors by
// field). Both loaded by transpiling them with the project's TypeScript (they import only types).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import ts from 'typescript';

const load = (path) => {
  const source = readFileSync(new URL(`../../src/lib/${path}`, import.meta.url), 'utf8');
  const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
  assert.doesNotMatch(outputText, /^import /m, `${path} imports only types`);
  return import(`data:text/javascript;base64,${Buffer.from(outputText).toString('base64')}`);
};
const a = await load('automation.ts');
const m = await load('macros.ts');

const catalogue = (name) => JSON.parse(readFileSync(new URL(`../../src/i18n/${name}.json`, import.meta.url), 'utf8'));
const en = catalogue('en');
const t = (key, vars = {}) => {
  assert.ok(key in en, `missing ${key}`);
  return Object.entries(vars).reduce((s, [k, v]) => s.replaceAll(`{${k}}`, String(v)), en[key]);
};
const names = { agents: { 5: 'Ana' }, teams: { 2: 'Billing' }, inboxes: {} };
const name = (ids, id) => names[ids][id] ?? `#${id}`;

const macro = {
  id: 7, account_id: 1, name: 'Late order', visibility: 'personal', created_at: 1, updated_at: 1,
  created_by: { id: 3, name: 'Otto' },
  actions: [
    { action_name: 'add_label', action_params: ['late'] },
    { action_name: 'change_status', action_params: ['pending'] },
    { action_name: 'assign_agent', action_params: ['self'] },
    { action_name: 'assign_team', action_params: [2] },
  ],
};

test('a macro as a draft and back: ids as numbers, "self" as is, the visibility only from administrators', () => {
  const d = a.toMacroDraft(macro);
  assert.deepEqual(d, {
    name: 'Late order', visibility: 'personal',
    actions: [{ name: 'add_label', params: ['late'] }, { name: 'change_status', params: ['pending'] }, { name: 'assign_agent', params: ['self'] }, { name: 'assign_team', params: ['2'] }],
  });
  assert.deepEqual(a.macroBody({ ...d, name: '  Late order ' }, false), { name: 'Late order', actions: macro.actions });
  assert.deepEqual(a.macroBody({ ...d, visibility: 'global' }, true), { name: 'Late order', visibility: 'global', actions: macro.actions });
  assert.equal(a.toMacroDraft({ ...macro, visibility: 'odd', actions: null }).visibility, 'personal');
  assert.deepEqual(a.toMacroDraft({ ...macro, actions: null }).actions, []);
  assert.deepEqual(a.emptyMacro(), { name: '', visibility: 'personal', actions: [{ name: 'add_label', params: [] }] });
});

test('the client checks of a macro mirror the server', () => {
  assert.deepEqual(a.checkMacro(a.toMacroDraft(macro)), {});
  assert.deepEqual(a.checkMacro({ name: ' ', visibility: 'personal', actions: [] }), { name: 'required', actions: 'actions' });
  assert.deepEqual(a.checkMacro({ name: 'x', visibility: 'global', actions: [{ name: 'add_label', params: [' '] }, { name: 'assign_team', params: [] }, { name: 'resolve_conversation', params: [] }] }),
    { 'actions[0].action_params': 'params' });
  assert.ok('macros.check.required' in en);
  for (const code of ['actions', 'params']) assert.ok(`automation.check.${code}` in en, code);
});

test('who may change a macro: a global one administrators, a personal one its author', () => {
  const global = { ...macro, visibility: 'global' };
  assert.equal(m.mayChange(global, 3, false), false);
  assert.equal(m.mayChange(global, 9, true), true);
  assert.equal(m.mayChange(macro, 3, false), true);
  assert.equal(m.mayChange(macro, 9, true), false, 'not even an administrator changes another’s personal macro');
  assert.equal(m.mayChange({ ...macro, created_by: undefined }, undefined, true), false);
});

test('the list: global macros first, then by name', () => {
  const list = [
    { ...macro, id: 1, name: 'b', visibility: 'personal' },
    { ...macro, id: 2, name: 'z', visibility: 'global' },
    { ...macro, id: 3, name: 'a', visibility: 'personal' },
    { ...macro, id: 4, name: 'c', visibility: 'global' },
  ];
  assert.deepEqual(m.sorted(list).map((x) => x.id), [4, 2, 3, 1]);
  assert.deepEqual(list.map((x) => x.id), [1, 2, 3, 4], 'the list itself is left alone');
});

test('a run’s failures, with their place in the macro', () => {
  assert.deepEqual(m.failures([{ conversation_id: 41, results: [{ action: 'add_label', ok: true }, { action: 'change_status', ok: true }] }]), []);
  assert.deepEqual(m.failures([
    { conversation_id: 41, results: [{ action: 'add_label', ok: true }, { action: 'send_message', ok: false, error: 'outside the reply window' }] },
    { conversation_id: 42, results: [{ action: 'assign_team', ok: false, error: 'team 2 does not exist in this account' }] },
  ]), [
    { action: 'send_message', ok: false, error: 'outside the reply window', conversation_id: 41, index: 1 },
    { action: 'assign_team', ok: false, error: 'team 2 does not exist in this account', conversation_id: 42, index: 0 },
  ]);
  assert.equal(
    t('macros.step_failed', { n: 2, action: t('automation.action.send_message'), error: 'outside the reply window' }),
    'Action 2 (Send message) failed: outside the reply window',
  );
});

test('shared action pieces: defaults, words (with "self"), errors by field', () => {
  assert.deepEqual(a.defaultParams('assign_team'), ['0']);
  assert.deepEqual(a.defaultParams('change_status'), ['open']);
  assert.deepEqual(a.defaultParams('change_priority'), ['none']);
  assert.deepEqual(a.defaultParams('add_label'), []);
  assert.equal(a.SELF, 'self');
  assert.equal(
    a.actionsInWords(a.actionsDraft(macro.actions), t, name),
    'add label late, change status to pending, assign agent whoever runs it, assign team Billing',
  );
  assert.equal(a.actionsInWords([], t, name), '');
  assert.equal(a.actionsInWords([{ name: 'new_thing', params: [] }], t, name), 'new_thing');
  assert.deepEqual(a.actionsBody([{ name: 'assign_agent', params: ['5'] }, { name: 'assign_agent', params: ['self'] }, { name: 'send_message', params: [' hi '] }]), [
    { action_name: 'assign_agent', action_params: [5] },
    { action_name: 'assign_agent', action_params: ['self'] },
    { action_name: 'send_message', action_params: ['hi'] },
  ]);

  const errors = { name: 'Give a name', 'actions[0].action_params': 'unknown label', 'actions[0]': 'odd', 'actions[10]': 'other' };
  assert.equal(a.messagesUnder(errors, 'actions[0]'), 'unknown label; odd');
  assert.equal(a.messagesUnder(errors, 'actions[1]'), '');
  const { shown, rest } = a.byField([
    { field: 'actions[0].action_params', message: 'user 9 is not an agent of this account' },
    { field: 'actions[0].action_params', message: 'again' },
    { field: 'name', message: 'name is required' },
    { field: 'names', message: 'not a field of the form' },
    { field: 'base', message: 'something else' },
  ], ['name', 'actions']);
  assert.deepEqual(shown, { 'actions[0].action_params': 'user 9 is not an agent of this account; again', name: 'name is required' });
  assert.deepEqual(rest, ['not a field of the form', 'something else']);
});

test('every language names the shortcut and the macros screen', () => {
  for (const lang of ['en', 'pt-BR', 'pl']) {
    const c = catalogue(lang);
    for (const key of ['shortcuts.macros', 'admin.macros', 'macros.run', 'macros.self', 'macros.visibility.personal', 'macros.visibility.global']) assert.ok(c[key]?.trim(), `${lang}: ${key}`);
  }
});
