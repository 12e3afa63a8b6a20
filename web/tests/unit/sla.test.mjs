// src/lib/sla.ts (SLA policies: thresholds as a number and a unit, the form and its checks,
// the badge's nearest due metric and its state, who hears of an alert), loaded by transpiling
// it with the project's TypeScript (it imports nothing). The clock is passed in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import ts from 'typescript';

const source = readFileSync(new URL('../../src/lib/sla.ts', import.meta.url), 'utf8');
const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
const m = await import(`data:text/javascript;base64,${Buffer.from(outputText).toString('base64')}`);

const en = JSON.parse(readFileSync(new URL('../../src/i18n/en.json', import.meta.url), 'utf8'));
const t = (key, vars = {}) => {
  assert.ok(key in en, `missing ${key}`);
  return Object.entries(vars).reduce((s, [k, v]) => s.replaceAll(`{${k}}`, String(v)), en[key]);
};

test('thresholds: a number and a unit to seconds and back', () => {
  assert.equal(m.toSeconds('1', 'minutes'), 60);
  assert.equal(m.toSeconds('4', 'hours'), 14_400);
  assert.equal(m.toSeconds(2, 'days'), 172_800);
  assert.equal(m.toSeconds('1,5', 'hours'), 5_400, 'a decimal comma');
  assert.equal(m.toSeconds('', 'hours'), null);
  assert.equal(m.toSeconds('  ', 'hours'), null);
  assert.equal(m.toSeconds(null, 'hours'), null);
  assert.ok(Number.isNaN(m.toSeconds('soon', 'hours')));
  assert.deepEqual(m.fromSeconds(60), { amount: '1', unit: 'minutes' });
  assert.deepEqual(m.fromSeconds(5_400), { amount: '90', unit: 'minutes' });
  assert.deepEqual(m.fromSeconds(7_200), { amount: '2', unit: 'hours' });
  assert.deepEqual(m.fromSeconds(86_400 * 3), { amount: '3', unit: 'days' });
  assert.deepEqual(m.fromSeconds(90), { amount: '1.5', unit: 'minutes' });
  assert.deepEqual(m.fromSeconds(null), { amount: '', unit: 'hours' });
  for (const s of [60, 600, 3_600, 5_400, 86_400, 90_000]) {
    const d = m.fromSeconds(s);
    assert.equal(m.toSeconds(d.amount, d.unit), s, `${s} s round trip`);
  }
});

test('a policy’s form to the API’s body and back', () => {
  const policy = {
    id: 3, name: 'Gold', description: 'VIP', first_response_time_threshold: 60, next_response_time_threshold: null,
    resolution_time_threshold: 172_800, only_during_business_hours: true, warning_percent: 50, inbox_ids: [1, 2], labels: ['vip'],
    created_at: 1, updated_at: 2,
  };
  const d = m.toPolicyDraft(policy);
  assert.deepEqual(d.thresholds, { frt: { amount: '1', unit: 'minutes' }, nrt: { amount: '', unit: 'hours' }, rt: { amount: '2', unit: 'days' } });
  const body = m.policyBody({ ...d, name: ' Gold ', labels: [' vip ', ''] });
  assert.deepEqual(body, {
    name: 'Gold', description: 'VIP', first_response_time_threshold: 60, next_response_time_threshold: null,
    resolution_time_threshold: 172_800, only_during_business_hours: true, warning_percent: 50, inbox_ids: [1, 2], labels: ['vip'],
  });
  d.inbox_ids.push(9);
  assert.deepEqual(policy.inbox_ids, [1, 2], 'the draft is a copy');
  const empty = m.emptyPolicy();
  assert.equal(empty.warning_percent, 80);
  assert.equal(m.policyBody(empty).first_response_time_threshold, null);
});

test('the server’s checks, by the field it names', () => {
  const d = m.emptyPolicy();
  assert.deepEqual(m.checkPolicy(d), { name: 'required', first_response_time_threshold: 'none' });
  d.name = 'Fast';
  d.thresholds.frt.amount = '1';
  assert.deepEqual(m.checkPolicy(d), {});
  d.thresholds.rt = { amount: '400', unit: 'days' };
  d.thresholds.nrt = { amount: '-5', unit: 'minutes' };
  d.warning_percent = 100;
  assert.deepEqual(m.checkPolicy(d), { resolution_time_threshold: 'threshold', next_response_time_threshold: 'threshold', warning_percent: 'percent' });
  d.thresholds = { frt: { amount: 'x', unit: 'hours' }, nrt: { amount: '', unit: 'hours' }, rt: { amount: '', unit: 'hours' } };
  d.warning_percent = '';
  assert.deepEqual(m.checkPolicy(d), { first_response_time_threshold: 'threshold', warning_percent: 'percent' });
  d.warning_percent = '12.5';
  d.thresholds.frt = { amount: '0.001', unit: 'minutes' };
  assert.deepEqual(m.checkPolicy(d), { first_response_time_threshold: 'threshold', warning_percent: 'percent' }, 'under a second; a fraction of a percent');
});

test('durations, short, rounded up to the minute', () => {
  assert.equal(m.shortDuration(12 * 60, t), '12m');
  assert.equal(m.shortDuration(11 * 60 + 1, t), '12m');
  assert.equal(m.shortDuration(5, t), '1m', 'at least a minute');
  assert.equal(m.shortDuration(3_600 + 5 * 60, t), '1h 5m');
  assert.equal(m.shortDuration(3_600, t), '1h');
  assert.equal(m.shortDuration(2 * 86_400, t), '2d');
  assert.equal(m.shortDuration(2 * 86_400 + 3 * 3_600, t), '2d 3h');
  assert.equal(m.shortDuration(-300, t), '5m', 'overdue by as much');
  assert.equal(m.thresholdText(1_800, 'en'), '30 minutes');
  assert.equal(m.thresholdText(3_600, 'en'), '1 hour');
  assert.equal(m.thresholdText(90, 'en'), '1.5 minutes');
  assert.equal(m.thresholdText(172_800, 'pt-BR'), '2 dias');
  assert.equal(m.thresholdText(300, 'pl'), '5 minut');
  assert.equal(m.thresholdText(null, 'en'), '—');
});

const NOW = 1_750_000_000;
const applied = (extra = {}) => ({
  id: 1, sla_id: 3, sla_status: 'active', sla_name: 'Gold',
  sla_first_response_time_threshold: 3_600, sla_next_response_time_threshold: 1_800, sla_resolution_time_threshold: 86_400,
  due_at: {}, warned: [], breached: [], ...extra,
});

test('the badge: the nearest due metric, amber when warned or nearly due, red when breached or overdue', () => {
  assert.equal(m.slaBadge(null, NOW), null, 'no policy');
  assert.equal(m.slaBadge(applied({ sla_status: 'hit', due_at: { rt: NOW + 60 } }), NOW), null, 'hit');
  assert.equal(m.slaBadge(applied(), NOW), null, 'nothing running, nothing missed');

  const ok = m.slaBadge(applied({ due_at: { frt: NOW + 10 * 60 + 30, rt: NOW + 80_000 } }), NOW);
  assert.deepEqual(ok, { metric: 'frt', state: 'warning', left: 630, due_at: NOW + 630 }, '10½ minutes of an hour: under 20 % left');
  assert.equal(m.badgeText(ok, t), 'FRT 11m');
  const calm = m.slaBadge(applied({ due_at: { frt: NOW + 50 * 60, rt: NOW + 80_000 } }), NOW);
  assert.equal(calm.state, 'ok');
  assert.equal(m.badgeText(calm, t), 'FRT 50m');
  const warned = m.slaBadge(applied({ due_at: { nrt: NOW + 1_000 }, warned: ['nrt'] }), NOW);
  assert.deepEqual([warned.metric, warned.state], ['nrt', 'warning'], 'the server warned');

  const nearest = m.slaBadge(applied({ due_at: { rt: NOW + 3_900, nrt: NOW + 2 * 86_400 } }), NOW);
  assert.equal(nearest.metric, 'rt');
  assert.equal(m.badgeText(nearest, t), 'RT 1h 5m');

  const overdue = m.slaBadge(applied({ due_at: { frt: NOW - 300, rt: NOW + 10 } }), NOW);
  assert.deepEqual([overdue.metric, overdue.state, overdue.left], ['frt', 'breached', -300], 'overdue beats nearer');
  assert.equal(m.badgeText(overdue, t), 'FRT overdue 5m');
  const breached = m.slaBadge(applied({ due_at: { frt: NOW + 30, rt: NOW + 5 } , breached: ['frt'] }), NOW);
  assert.equal(breached.metric, 'frt', 'the server says breached (its clock may be ahead)');
  assert.equal(breached.state, 'breached');

  const missed = m.slaBadge(applied({ sla_status: 'missed', breached: ['frt'] }), NOW);
  assert.deepEqual(missed, { metric: 'frt', state: 'breached', left: null, due_at: null });
  assert.equal(m.badgeText(missed, t), 'FRT breached');
  const withMisses = m.slaBadge(applied({ sla_status: 'active_with_misses', breached: ['frt'], due_at: { rt: NOW + 50_000 } }), NOW);
  assert.deepEqual([withMisses.metric, withMisses.state], ['rt', 'ok'], 'what is still running');
  const noThreshold = m.slaBadge(applied({ sla_resolution_time_threshold: null, due_at: { rt: NOW + 60 } }), NOW);
  assert.equal(noThreshold.state, 'ok', 'without a threshold only the server’s warning turns it amber');
});

test('alerts reach the assignee and the team’s members', () => {
  const c = { id: 12, meta: { assignee: { id: 5 }, team: { id: 2 } } };
  assert.equal(m.alertsMe(c, 5, []), true);
  assert.equal(m.alertsMe(c, 6, [2]), true);
  assert.equal(m.alertsMe(c, 6, [3]), false);
  assert.equal(m.alertsMe({ id: 1, meta: {} }, 6, [2]), false);
  assert.equal(m.alertsMe({ id: 1 }, undefined, []), false);
  assert.equal(m.alertText({ event_type: 'frt', kind: 'breach' }, 12, t), 'SLA breached: first response — conversation #12');
  assert.equal(m.alertText({ event_type: 'rt', kind: 'warning' }, 7, t), 'SLA warning: resolution due soon — conversation #7');
});
