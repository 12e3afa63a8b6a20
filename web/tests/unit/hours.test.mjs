// src/lib/hours.ts (an inbox's business hours as the editor shows them: Chatwoot's
// working_hours array and back, several periods a day, periods and holidays checked, the
// server's refusals placed by their period), loaded by transpiling it with the project's
// TypeScript (it imports nothing).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import ts from 'typescript';

const source = readFileSync(new URL('../../src/lib/hours.ts', import.meta.url), 'utf8');
const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
const m = await import(`data:text/javascript;base64,${Buffer.from(outputText).toString('base64')}`);

const day = (week, d) => week.find((x) => x.day === d);

test('times: HH:MM to minutes and back, 24:00 the end of the day', () => {
  assert.equal(m.minutesOf('09:30'), 570);
  assert.equal(m.minutesOf('9:05'), 545);
  assert.equal(m.minutesOf('24:00'), 1440);
  for (const bad of ['24:01', '25:00', '12:60', '', '9', '9h', '12:5', 'ab:cd']) assert.equal(m.minutesOf(bad), null, bad);
  assert.equal(m.timeOf(570), '09:30');
  assert.equal(m.timeOf(1440), '24:00');
  assert.equal(m.normalTime(' 9:00 '), '09:00');
  assert.equal(m.normalTime('9h'), '9h', 'not a time: left as typed, for the check to name');
});

test('a period: a time to open, a later time to close', () => {
  assert.equal(m.checkPeriod({ open: '09:00', close: '12:00' }), null);
  assert.equal(m.checkPeriod({ open: '18:00', close: '24:00' }), null, 'closing at the end of the day');
  assert.equal(m.checkPeriod({ open: '24:00', close: '24:00' }), 'open', 'nothing opens at 24:00');
  assert.equal(m.checkPeriod({ open: 'nine', close: '12:00' }), 'open');
  assert.equal(m.checkPeriod({ open: '09:00', close: '' }), 'close');
  assert.equal(m.checkPeriod({ open: '18:00', close: '09:00' }), 'order');
  assert.equal(m.checkPeriod({ open: '09:00', close: '09:00' }), 'order', 'an empty period');
});

test('the editor’s week to Chatwoot’s working_hours: a closed day, all day, several periods', () => {
  const week = m.defaultWeek();
  assert.deepEqual(week.map((d) => d.day), [1, 2, 3, 4, 5, 6, 0], 'Monday first');
  assert.equal(day(week, 0).mode, 'closed');
  assert.equal(day(week, 3).mode, 'periods');
  day(week, 1).periods = [{ open: '09:00', close: '12:00' }, { open: '13:00', close: '18:00' }];
  day(week, 5).mode = 'all_day';
  day(week, 6).periods = [{ open: '10:00', close: '24:00' }];
  day(week, 6).mode = 'periods';
  const { entries, origins } = m.toWorkingHoursWithOrigins(week);
  assert.deepEqual(entries.map((e) => e.day_of_week), [0, 1, 1, 2, 3, 4, 5, 6], 'Sunday first, one entry a period');
  assert.deepEqual(entries[0], { day_of_week: 0, closed_all_day: true, open_all_day: false });
  assert.deepEqual(entries[1], { day_of_week: 1, closed_all_day: false, open_all_day: false, open_hour: 9, open_minutes: 0, close_hour: 12, close_minutes: 0 });
  assert.deepEqual(entries[2], { day_of_week: 1, closed_all_day: false, open_all_day: false, open_hour: 13, open_minutes: 0, close_hour: 18, close_minutes: 0 });
  assert.deepEqual(entries[6], { day_of_week: 5, closed_all_day: false, open_all_day: true });
  assert.deepEqual(entries[7], { day_of_week: 6, closed_all_day: false, open_all_day: false, open_hour: 10, open_minutes: 0, close_hour: 24, close_minutes: 0 });
  assert.deepEqual(origins.slice(0, 3), [{ day: 0, period: null }, { day: 1, period: 0 }, { day: 1, period: 1 }]);
  assert.deepEqual(m.toWorkingHours(week), entries);
  // A day of periods without any is closed.
  const none = m.defaultWeek().map((d) => (d.day === 2 ? { ...d, periods: [] } : d));
  assert.deepEqual(m.toWorkingHours(none).find((e) => e.day_of_week === 2), { day_of_week: 2, closed_all_day: true, open_all_day: false });
});

test('Chatwoot’s working_hours to the editor’s week, and back unchanged', () => {
  const stored = [
    { day_of_week: 0, closed_all_day: true, open_hour: null, open_minutes: null, close_hour: null, close_minutes: null },
    { day_of_week: 1, closed_all_day: false, open_hour: 13, open_minutes: 0, close_hour: 18, close_minutes: 0 },
    { day_of_week: 1, closed_all_day: false, open_hour: 9, open_minutes: 0, close_hour: 12, close_minutes: 0 },
    { day_of_week: 2, closed_all_day: false, open_all_day: true },
    { day_of_week: 3, closed_all_day: false, open_hour: '8', open_minutes: '30', close_hour: 23, close_minutes: 59 },
    // Thursday to Saturday: no entry (closed).
  ];
  const week = m.fromWorkingHours(stored);
  assert.deepEqual(day(week, 1), { day: 1, mode: 'periods', periods: [{ open: '09:00', close: '12:00' }, { open: '13:00', close: '18:00' }] }, 'periods in order of the day');
  assert.equal(day(week, 0).mode, 'closed');
  assert.equal(day(week, 2).mode, 'all_day');
  assert.deepEqual(day(week, 3).periods, [{ open: '08:30', close: '24:00' }], 'numbers as text, and 23:59 is the end of the day');
  assert.equal(day(week, 4).mode, 'closed', 'a day without entries is closed');
  assert.deepEqual(day(week, 4).periods, [m.DEFAULT_PERIOD], 'a period ready when it opens');
  const again = m.fromWorkingHours(m.toWorkingHours(week));
  assert.deepEqual(again, week);
  assert.deepEqual(m.fromWorkingHours(null), m.defaultWeek(), 'no hours yet: the default week');
  assert.deepEqual(m.fromWorkingHours([]), m.defaultWeek());
});

test('the week’s checks name the period at fault', () => {
  const week = m.defaultWeek();
  day(week, 1).periods = [{ open: '09:00', close: '12:00' }, { open: '14:00', close: '13:00' }];
  day(week, 2).periods = [{ open: '9', close: '17:00' }];
  day(week, 0).periods = [{ open: 'x', close: 'y' }]; // closed: not checked
  assert.deepEqual(m.checkWeek(week), { '1.1': 'order', '2.0': 'open' });
});

test('the server’s refusals are placed by period, holiday or field', () => {
  const week = m.defaultWeek();
  day(week, 1).periods = [{ open: '09:00', close: '12:00' }, { open: '13:00', close: '18:00' }];
  const { origins } = m.toWorkingHoursWithOrigins(week);
  assert.deepEqual(m.placeOf('working_hours[2].close_hour', origins), { kind: 'week', key: '1.1' });
  assert.deepEqual(m.placeOf('working_hours[0]', origins), { kind: 'week', key: '0' });
  assert.deepEqual(m.placeOf('working_hours[99]', origins), { kind: 'field', name: 'working_hours' });
  assert.deepEqual(m.placeOf('holidays[1].to', origins), { kind: 'holiday', index: 1 });
  assert.deepEqual(m.placeOf('timezone', origins), { kind: 'field', name: 'timezone' });
  assert.deepEqual(m.placeOf('working_hours', origins), { kind: 'field', name: 'working_hours' });
});

test('holidays: a date or a range, a name when given, checked as the server does', () => {
  assert.equal(m.isDate('2026-12-25'), true);
  assert.equal(m.isDate('2026-02-30'), false);
  assert.equal(m.isDate('2026-13-01'), false);
  assert.equal(m.isDate('25/12/2026'), false);
  const list = m.fromHolidays([{ date: '2026-12-25', name: 'Christmas' }, { from: '2026-08-10', to: '2026-08-14' }, 'junk']);
  assert.deepEqual(list, [
    { kind: 'date', date: '2026-12-25', from: '', to: '', name: 'Christmas' },
    { kind: 'range', date: '', from: '2026-08-10', to: '2026-08-14', name: '' },
  ]);
  assert.deepEqual(m.toHolidays(list), [{ date: '2026-12-25', name: 'Christmas' }, { from: '2026-08-10', to: '2026-08-14' }]);
  assert.deepEqual(m.toHolidays([{ ...m.emptyHoliday(), date: '2026-01-01', name: '  New year ' }]), [{ date: '2026-01-01', name: 'New year' }]);
  assert.deepEqual(m.fromHolidays(undefined), []);
  assert.equal(m.checkHoliday(list[0]), null);
  assert.equal(m.checkHoliday(list[1]), null);
  assert.equal(m.checkHoliday(m.emptyHoliday()), 'date');
  assert.equal(m.checkHoliday({ ...m.emptyHoliday('range'), from: '2026-08-14', to: '2026-08-10' }), 'order');
  assert.equal(m.checkHoliday({ ...m.emptyHoliday('range'), from: '2026-08-14', to: '' }), 'date');
  assert.deepEqual(m.sortedHolidays(list).map((h) => h.name), ['', 'Christmas'], 'soonest first');
});

test('time zones: the browser’s by default, a known-zone hint', () => {
  assert.equal(typeof m.browserZone(), 'string');
  assert.ok(m.browserZone().length > 0);
  assert.equal(m.knownZone('America/Sao_Paulo'), true);
  assert.equal(m.knownZone('Mars/Olympus'), false);
  assert.equal(m.knownZone(''), false);
  assert.ok(m.COMMON_ZONES.includes('Europe/Warsaw') && m.COMMON_ZONES.includes('America/Sao_Paulo'));
  assert.equal(new Set(m.COMMON_ZONES).size, m.COMMON_ZONES.length, 'no zone twice');
  for (const z of m.COMMON_ZONES) assert.ok(m.knownZone(z), z);
});
