// src/lib/presence.ts (the chosen status and auto-away), loaded by transpiling it with the
// project's TypeScript. The clock is passed in: no timers here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import ts from 'typescript';

const source = readFileSync(new URL('../../src/lib/presence.ts', import.meta.url), 'utf8');
const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
const { AutoAway, ECHO_MS, isStatus, isStored } = await import(`data:text/javascript;base64,${Buffer.from(outputText).toString('base64')}`);

const MIN = 60_000;

test('an online agent idle for the timeout goes away automatically, and comes back at the next activity', () => {
  const p = new AutoAway('online', 10, 0);
  assert.equal(p.tick(9 * MIN), null, 'not yet');
  assert.equal(p.dueIn(9 * MIN), MIN);
  p.activity(9 * MIN);
  assert.equal(p.tick(18 * MIN), null, 'activity restarts the count');
  assert.equal(p.tick(19 * MIN), 'away');
  assert.equal(p.status, 'away');
  assert.equal(p.automatic, true);
  assert.equal(p.tick(30 * MIN), null, 'sent once');
  assert.equal(p.dueIn(30 * MIN), null);
  assert.equal(p.activity(31 * MIN), 'online');
  assert.equal(p.status, 'online');
  assert.equal(p.automatic, false);
  assert.equal(p.activity(31 * MIN + 10), null, 'nothing more to send');
  assert.equal(p.tick(40 * MIN), null);
  assert.equal(p.tick(41 * MIN + 10), 'away', 'and away again after another idle stretch');
});

test('only an online status goes away by itself', () => {
  for (const status of ['busy', 'offline', 'away']) {
    const p = new AutoAway(status, 1, 0);
    assert.equal(p.tick(60 * MIN), null, status);
    assert.equal(p.status, status);
    assert.equal(p.activity(61 * MIN), null, `${status}: activity changes nothing`);
    assert.equal(p.status, status);
  }
});

test('a manual choice clears the automatic flag', () => {
  const p = new AutoAway('online', 5, 0);
  assert.equal(p.tick(5 * MIN), 'away');
  assert.equal(p.automatic, true);
  // The agent picks Away themselves: activity no longer brings them back.
  assert.equal(p.choose('away', 6 * MIN), 'away');
  assert.equal(p.automatic, false);
  assert.equal(p.activity(7 * MIN), null);
  assert.equal(p.status, 'away');
  // Picking Busy after an automatic away: stays busy.
  const q = new AutoAway('online', 5, 0);
  q.tick(5 * MIN);
  assert.equal(q.choose('busy', 6 * MIN), 'busy');
  assert.equal(q.activity(7 * MIN), null);
  assert.equal(q.status, 'busy');
  // Choosing online restarts the idle count from the choice.
  q.choose('online', 8 * MIN);
  assert.equal(q.tick(12 * MIN), null);
  assert.equal(q.tick(13 * MIN), 'away');
});

test('0 minutes: never away automatically; the timeout can change', () => {
  const p = new AutoAway('online', 0, 0);
  assert.equal(p.tick(24 * 60 * MIN), null);
  assert.equal(p.dueIn(0), null);
  p.setMinutes(2);
  assert.equal(p.minutes, 2);
  assert.equal(p.tick(24 * 60 * MIN), 'away', 'idle since the start');
  const q = new AutoAway('online', Number.NaN, 0);
  assert.equal(q.tick(60 * MIN), null, 'a bad value is no auto-away');
});

test('activity in another window keeps this one from going away', () => {
  const p = new AutoAway('online', 10, 0);
  p.seen(8 * MIN);
  assert.equal(p.tick(12 * MIN), null);
  p.seen(1 * MIN); // older: ignored
  assert.equal(p.tick(18 * MIN), 'away');
  p.seen(19 * MIN);
  assert.equal(p.status, 'away', 'seen elsewhere does not bring this window back');
});

test('what the server says about me: taken, except the echo of what was just sent', () => {
  const p = new AutoAway('online', 10, 0);
  assert.equal(p.told('online', 1000), false, 'no change');
  assert.equal(p.told('offline', 1000), true, 'a supervisor set me offline');
  assert.equal(p.status, 'offline');
  assert.equal(p.tick(60 * MIN), null);

  const q = new AutoAway('online', 10, 0);
  q.tick(10 * MIN); // sends away
  q.activity(10 * MIN + 500); // sends online
  assert.equal(q.told('away', 10 * MIN + 900), false, 'the late echo of away does not override online');
  assert.equal(q.status, 'online');
  assert.equal(q.told('busy', 10 * MIN + 500 + ECHO_MS), true, 'later, a change is taken');
  assert.equal(q.status, 'busy');
  assert.equal(q.automatic, false);

  const r = new AutoAway('online', 10, 0);
  r.tick(10 * MIN);
  assert.equal(r.told('offline', 20 * MIN), true);
  assert.equal(r.automatic, false, 'no longer automatic: activity keeps it offline');
  assert.equal(r.activity(21 * MIN), null);
  assert.equal(r.status, 'offline');
});

test('statuses', () => {
  for (const s of ['online', 'busy', 'away', 'offline']) assert.equal(isStatus(s), true, s);
  for (const s of ['', 'Online', 'dnd', null, 3]) assert.equal(isStatus(s), false, String(s));
  assert.equal(isStored('away'), false, 'away is never stored');
  assert.equal(isStored('busy'), true);
});
