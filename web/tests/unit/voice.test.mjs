// src/lib/voice.ts (a Twilio SMS inbox's phone settings: the IVR form from `settings.voice` and
// back, its checks, the server's refusals placed by row), loaded by transpiling it with the
// project's TypeScript (it imports nothing).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import ts from 'typescript';

const source = readFileSync(new URL('../../src/lib/voice.ts', import.meta.url), 'utf8');
const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
const m = await import(`data:text/javascript;base64,${Buffer.from(outputText).toString('base64')}`);

const stored = {
  language: 'pt_BR',
  greeting: { 'pt-BR': 'Olá!', en: 'Hello!', xx: 'dropped' },
  menu: [
    { digit: 1, team_id: 7, label: { 'pt-BR': 'vendas', en: 'sales' } },
    { digit: '2', team_id: 8, label: { pt_BR: 'suporte' } },
  ],
  voicemail_max_seconds: 90,
};

test('no settings: the defaults (English, no menu, 120 seconds)', () => {
  for (const raw of [undefined, null, 'on', [], {}]) {
    const d = m.draftOf(raw);
    assert.equal(d.language, 'en');
    assert.deepEqual(d.greeting, {});
    assert.deepEqual(d.menu, []);
    assert.equal(d.voicemail_max_seconds, 120);
  }
  assert.deepEqual(m.voiceBody(m.draftOf(null)), { voice: { language: 'en', greeting: {}, menu: [], voicemail_max_seconds: 120 } });
});

test('stored settings read as the server reads them, and are sent back the same', () => {
  const d = m.draftOf(stored);
  assert.equal(d.language, 'pt-BR');
  assert.deepEqual(d.greeting, { 'pt-BR': 'Olá!', en: 'Hello!' });
  assert.deepEqual(d.menu.map((r) => [r.digit, r.team_id, r.label]), [['1', 7, { 'pt-BR': 'vendas', en: 'sales' }], ['2', 8, { 'pt-BR': 'suporte' }]]);
  assert.notEqual(d.menu[0].uid, d.menu[1].uid);
  assert.deepEqual(m.voiceBody(d), {
    voice: {
      language: 'pt-BR',
      greeting: { 'pt-BR': 'Olá!', en: 'Hello!' },
      menu: [{ digit: '1', team_id: 7, label: { 'pt-BR': 'vendas', en: 'sales' } }, { digit: '2', team_id: 8, label: { 'pt-BR': 'suporte' } }],
      voicemail_max_seconds: 90,
    },
  });
});

test('languages as the server accepts them', () => {
  for (const [raw, lang] of [['en', 'en'], ['en-US', 'en'], ['pt-BR', 'pt-BR'], ['pt_BR', 'pt-BR'], ['PT-br', 'pt-BR'], ['pl', 'pl'], ['pl-PL', 'pl']]) assert.equal(m.languageOf(raw), lang, raw);
  for (const raw of ['de', '', null, 3]) assert.equal(m.languageOf(raw), null);
});

test('the body: texts trimmed, empty ones left out (the product\'s words), seconds a number', () => {
  const d = m.draftOf(null);
  d.language = 'pl';
  d.greeting = { pl: '  Dzień dobry  ', en: '   ' };
  d.menu = [{ uid: 1, digit: '3', team_id: 5, label: { pl: ' sprzedaż ', en: '' } }];
  d.voicemail_max_seconds = '300';
  assert.deepEqual(m.voiceBody(d).voice, { language: 'pl', greeting: { pl: 'Dzień dobry' }, menu: [{ digit: '3', team_id: 5, label: { pl: 'sprzedaż' } }], voicemail_max_seconds: 300 });
});

test('the default greeting in the language spoken', () => {
  assert.equal(m.defaultGreeting('en', 'Acme'), 'Thank you for calling Acme.');
  assert.equal(m.defaultGreeting('pt-BR', 'Loja'), 'Obrigado por ligar para Loja.');
  assert.equal(m.defaultGreeting('pl', 'Sklep'), 'Dziękujemy za telefon do Sklep.');
});

test('a new row takes the first key no row uses', () => {
  const menu = [];
  for (let i = 0; i < 3; i++) menu.push(m.newRow(menu));
  assert.deepEqual(menu.map((r) => r.digit), ['1', '2', '3']);
  menu.splice(1, 1);
  assert.equal(m.newRow(menu).digit, '2');
  const full = m.MENU_KEYS.map((digit, i) => ({ uid: i, digit, team_id: 1, label: {} }));
  assert.equal(m.freeKey(full), null);
});

test('checks: a key used twice, no team, no label in the language spoken, seconds out of range', () => {
  const d = m.draftOf(stored);
  assert.equal(m.hasProblems(m.checkVoice(d)), false);
  const [a, b] = d.menu;
  b.digit = '1';
  b.team_id = null;
  d.language = 'en';
  let p = m.checkVoice(d);
  assert.deepEqual(p.rows[b.uid], { digit: 'duplicate_key', team: 'no_team', label: 'no_label' });
  assert.equal(p.rows[a.uid], undefined, 'the first row with the key is fine');
  assert.deepEqual(m.duplicateKeys(d.menu), [b.uid]);
  for (const [seconds, bad] of [[9, true], [10, false], [600, false], [601, true], ['', true], [null, true], [12.5, true], ['120', false]]) {
    d.voicemail_max_seconds = seconds;
    assert.equal(m.checkVoice(d).fields.voicemail_max_seconds === 'seconds', bad, String(seconds));
  }
  d.greeting = { en: 'x'.repeat(1001) };
  assert.equal(m.checkVoice(d).fields.greeting, 'too_long');
  b.digit = '0';
  p = m.checkVoice(d);
  assert.equal(p.rows[b.uid].digit, 'bad_key');
});

test('the server\'s refusals are placed by the row they name', () => {
  const d = m.draftOf(stored);
  const [a, b] = d.menu;
  const placed = m.placeErrors([
    { field: 'voice.menu[1].team_id', message: 'team 8 is not a team of this account' },
    { field: 'voice.menu[0].digit', message: 'key 1 is used twice' },
    { field: 'voice.menu[0].label.de', message: 'voice.menu[0].label.de must be en, pt-BR or pl' },
    { field: 'voice.menu[5].digit', message: 'a menu key is 1 to 9' },
    { field: 'voice.menu', message: 'at most 9' },
    { field: 'voice.greeting.pl', message: 'too long' },
    { field: 'voice.voicemail_max_seconds', message: 'from 10 to 600' },
    { field: 'voice.language', message: 'en, pt-BR or pl' },
    { field: 'voice', message: 'an object' },
    { field: 'name', message: 'name is required' },
  ], d.menu);
  assert.deepEqual(placed.rows, {
    [b.uid]: { team: 'team 8 is not a team of this account' },
    [a.uid]: { digit: 'key 1 is used twice', label: 'voice.menu[0].label.de must be en, pt-BR or pl' },
  });
  assert.deepEqual(placed.fields, {
    menu: 'a menu key is 1 to 9; at most 9',
    greeting: 'too long',
    voicemail_max_seconds: 'from 10 to 600',
    language: 'en, pt-BR or pl',
  });
  assert.deepEqual(placed.rest, ['an object', 'name is required']);
  assert.deepEqual(m.placeOf('voice.menu[3]'), { kind: 'row', index: 3, part: 'team' });
  assert.deepEqual(m.placeOf('voice.menu[2].label'), { kind: 'row', index: 2, part: 'label' });
  assert.deepEqual(m.placeOf('voicemail'), { kind: 'other' });
});
