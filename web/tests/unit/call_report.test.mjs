// src/lib/call_report.ts (Reports → Calls): the periods as `since`/`until`, the service level's
// threshold as typed, the report's query, the headline figures (blank with nothing to measure),
// the table per agent with names, and lengths of time and shares in each language — loaded by
// transpiling it with the project's TypeScript (it imports nothing).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import ts from 'typescript';

const source = readFileSync(new URL('../../src/lib/call_report.ts', import.meta.url), 'utf8');
const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
const m = await import(`data:text/javascript;base64,${Buffer.from(outputText).toString('base64')}`);

const en = JSON.parse(readFileSync(new URL('../../src/i18n/en.json', import.meta.url), 'utf8'));

const metrics = (over = {}) => ({
  since: 0, until: 1, truncated: false, total: 0, inbound: 0, outbound: 0, answered: 0, missed: 0, abandoned: 0, voicemail: 0, callback: 0,
  answer_rate: 0, abandon_rate: 0, average_wait_seconds: 0, longest_wait_seconds: 0, service_level: 0, service_level_seconds: 20,
  talk_seconds: 0, average_talk_seconds: 0, agents: [], ...over,
});

test('every period has its label; the server reads at most a year', () => {
  assert.deepEqual([...m.CALL_PERIODS], ['today', '7', '30', '90', '365']);
  const now = new Date(2026, 4, 14, 15, 30, 12, 400);
  for (const p of m.CALL_PERIODS) {
    assert.ok(`calls_report.period.${p}` in en, p);
    const { since, until } = m.periodRange(p, now);
    assert.ok(since < until, p);
    assert.ok(until - since <= 366 * 86_400, p);
  }
});

test('a period ends just past the current second; today starts at the agent\'s midnight', () => {
  const now = new Date(2026, 4, 14, 15, 30, 12, 400);
  const nowS = Math.floor(now.getTime() / 1000);
  assert.deepEqual(m.periodRange('7', now), { since: nowS + 1 - 7 * 86_400, until: nowS + 1 });
  assert.deepEqual(m.periodRange('365', now), { since: nowS + 1 - 365 * 86_400, until: nowS + 1 });
  const today = m.periodRange('today', now);
  assert.equal(today.since, Math.floor(new Date(2026, 4, 14).getTime() / 1000));
  assert.equal(today.until, nowS + 1);
  // At midnight itself the period is that second.
  const midnight = new Date(2026, 4, 14);
  const r = m.periodRange('today', midnight);
  assert.ok(r.since < r.until);
});

test('the service level\'s threshold: a whole number from 1 to 3600 seconds', () => {
  for (const [raw, v] of [[20, 20], ['45', 45], [' 1 ', 1], [3600, 3600]]) assert.equal(m.serviceLevelOf(raw), v, String(raw));
  for (const raw of [0, 3601, 2.5, '', '  ', null, undefined, 'soon', -5]) assert.equal(m.serviceLevelOf(raw), null, String(raw));
  assert.equal(m.DEFAULT_SERVICE_LEVEL_SECONDS, 20);
});

test('the query: the period, the inbox when one is chosen, the threshold; none while it is invalid', () => {
  const now = new Date(2026, 0, 10, 9, 0, 0);
  const { since, until } = m.periodRange('30', now);
  assert.equal(m.callReportQuery({ inbox: '', period: '30', serviceLevel: 20 }, now), `since=${since}&until=${until}&service_level_seconds=20`);
  assert.equal(m.callReportQuery({ inbox: '7', period: '30', serviceLevel: '30' }, now), `since=${since}&until=${until}&inbox_id=7&service_level_seconds=30`);
  assert.equal(m.callReportQuery({ inbox: '', period: '30', serviceLevel: '' }, now), null);
  assert.equal(m.callReportQuery({ inbox: '', period: '30', serviceLevel: 0 }, now), null);
});

test('the headline figures: counts as given, rates only when an inbound call ended', () => {
  const none = m.figuresOf(metrics({ outbound: 2 }));
  assert.equal(none.outbound, 2);
  assert.equal(none.answerRate, null);
  assert.equal(none.abandonRate, null);
  assert.equal(none.serviceLevel, null);
  assert.equal(none.averageWait, null);
  assert.equal(none.longestWait, null);
  assert.equal(none.averageTalk, null);
  assert.equal(none.talk, 0);

  const missedOnly = m.figuresOf(metrics({ total: 1, inbound: 1, missed: 1 }));
  assert.equal(missedOnly.missed, 1);
  assert.equal(missedOnly.answerRate, 0, 'a missed call makes the answer rate 0%, not blank');
  assert.equal(missedOnly.serviceLevel, 0);
  assert.equal(missedOnly.averageWait, null, 'nobody answered: no wait to average');

  const busy = m.figuresOf(metrics({
    total: 5, inbound: 4, outbound: 1, answered: 3, abandoned: 1, answer_rate: 0.75, abandon_rate: 0.25, average_wait_seconds: 12.5,
    longest_wait_seconds: 30, service_level: 2 / 3, talk_seconds: 600, average_talk_seconds: 150, agents: [{ agent_id: 1, calls: 4, talk_seconds: 600, average_talk_seconds: 150 }],
  }));
  assert.deepEqual(busy, {
    inbound: 4, outbound: 1, answered: 3, missed: 0, abandoned: 1, voicemail: 0, callback: 0, answerRate: 0.75, abandonRate: 0.25, serviceLevel: 2 / 3,
    averageWait: 12.5, longestWait: 30, talk: 600, averageTalk: 150,
  });
  // An older or odd answer (a field missing) reads as 0.
  assert.equal(m.figuresOf({ agents: null }).inbound, 0);
});

test('the table per agent: names from the account\'s agents, the busiest first, a former agent unnamed', () => {
  const refs = [{ id: 1, name: 'Ana Souza', available_name: 'Ana' }, { id: 2, name: 'Bruno Lima', available_name: '' }, { id: 3, name: 'Carla' }];
  const rows = m.agentRows([
    { agent_id: 1, calls: 2, talk_seconds: 100, average_talk_seconds: 50 },
    { agent_id: 9, calls: 5, talk_seconds: 10, average_talk_seconds: 2 },
    { agent_id: 2, calls: 2, talk_seconds: 300, average_talk_seconds: 150 },
    { agent_id: 3, calls: 2, talk_seconds: 100, average_talk_seconds: 50 },
  ], refs);
  assert.deepEqual(rows.map((r) => [r.agent_id, r.name]), [[9, null], [2, 'Bruno Lima'], [1, 'Ana'], [3, 'Carla']]);
  assert.deepEqual(m.agentRows(null, refs), []);
  assert.ok('calls_report.former_agent' in en);
});

test('lengths of time as each language writes them', () => {
  assert.equal(m.duration(0, 'en'), '0 sec');
  assert.equal(m.duration(45.4, 'en'), '45 sec');
  assert.equal(m.duration(125, 'en'), '2 min 5 sec');
  assert.equal(m.duration(120, 'en'), '2 min');
  assert.equal(m.duration(3600, 'en'), '1 hr');
  assert.equal(m.duration(3725, 'en'), '1 hr 2 min 5 sec');
  assert.equal(m.duration(-3, 'en'), '0 sec');
  assert.equal(m.duration(NaN, 'en'), '0 sec');
  assert.equal(m.duration(125, 'pt-BR'), '2 min 5 s');
  assert.equal(m.duration(3725, 'pl'), '1 godz. 2 min 5 sek.');
});

test('shares as whole percentages, kept between 0 and 100', () => {
  assert.equal(m.percent(0.675, 'en'), '68%');
  assert.equal(m.percent(0, 'en'), '0%');
  assert.equal(m.percent(1.2, 'en'), '100%');
  assert.equal(m.percent(NaN, 'en'), '0%');
  assert.match(m.percent(0.5, 'pt-BR'), /^50\s?%$/);
  assert.match(m.percent(0.5, 'pl'), /^50\s?%$/);
});
