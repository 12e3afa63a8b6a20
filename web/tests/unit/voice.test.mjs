// src/lib/voice.ts (a Twilio SMS inbox's phone settings: the IVR form from `settings.voice` and
// back, its checks, the server's refusals placed by row), loaded by transpiling it with the
// project's TypeScript (with lib/row_errors.ts, which places the server's refusals).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import ts from 'typescript';

const load = (file) => {
  const source = readFileSync(new URL(`../../src/lib/${file}`, import.meta.url), 'utf8');
  return ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
};
const asUrl = (js) => `data:text/javascript;base64,${Buffer.from(js).toString('base64')}`;
const rowErrors = asUrl(load('row_errors.ts'));
const m = await import(asUrl(load('voice.ts').replace("'./row_errors'", `'${rowErrors}'`)));

const stored = {
  language: 'pt_BR',
  greeting: { 'pt-BR': 'Olá!', en: 'Hello!', xx: 'dropped' },
  menu: [
    { digit: 1, team_id: 7, label: { 'pt-BR': 'vendas', en: 'sales' } },
    { digit: '2', team_id: 8, label: { pt_BR: 'suporte' } },
  ],
  voicemail_max_seconds: 90,
  queue_max_wait_seconds: 300,
  agent_ring_seconds: 25,
  hold_music_url: 'https://cdn.example.com/hold.mp3',
};

test('no settings: the defaults (English, no menu, 120 seconds)', () => {
  for (const raw of [undefined, null, 'on', [], {}]) {
    const d = m.draftOf(raw);
    assert.equal(d.language, 'en');
    assert.deepEqual(d.greeting, {});
    assert.deepEqual(d.menu, []);
    assert.equal(d.voicemail_max_seconds, 120);
    assert.equal(d.queue_max_wait_seconds, 180);
    assert.equal(d.agent_ring_seconds, 20);
    assert.equal(d.hold_music_url, '');
    assert.equal(d.offer_callback, true, 'callers are offered a call back unless it is turned off');
    assert.equal(d.record_calls, false, 'calls are recorded only once it is turned on');
  }
  assert.deepEqual(m.voiceBody(m.draftOf(null)), {
    voice: { language: 'en', greeting: {}, menu: [], voicemail_max_seconds: 120, queue_max_wait_seconds: 180, agent_ring_seconds: 20, hold_music_url: null, offer_callback: true, record_calls: false },
  });
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
      queue_max_wait_seconds: 300,
      agent_ring_seconds: 25,
      hold_music_url: 'https://cdn.example.com/hold.mp3',
      offer_callback: true,
      record_calls: false,
    },
  });
});

test('the call queue as stored: 0 is no queue (kept), absent or null the defaults, no hold music', () => {
  const d = m.draftOf({ language: 'en', queue_max_wait_seconds: 0, agent_ring_seconds: 60, hold_music_url: null });
  assert.equal(d.queue_max_wait_seconds, 0);
  assert.equal(d.agent_ring_seconds, 60);
  assert.equal(d.hold_music_url, '');
  assert.deepEqual(m.voiceBody(d).voice, {
    language: 'en', greeting: {}, menu: [], voicemail_max_seconds: 120, queue_max_wait_seconds: 0, agent_ring_seconds: 60, hold_music_url: null, offer_callback: true, record_calls: false,
  });
  for (const raw of [{}, { queue_max_wait_seconds: null, agent_ring_seconds: null }, { queue_max_wait_seconds: 'soon', agent_ring_seconds: 2.5 }, { queue_max_wait_seconds: -1, agent_ring_seconds: 0 }]) {
    const o = m.draftOf(raw);
    assert.equal(o.queue_max_wait_seconds, 180, JSON.stringify(raw));
    assert.equal(o.agent_ring_seconds, 20, JSON.stringify(raw));
  }
  assert.equal(m.draftOf({ hold_music_url: 42 }).hold_music_url, '');
});

test('the body: the queue\'s seconds as numbers, the hold music trimmed, empty sent as null', () => {
  const d = m.draftOf(null);
  d.queue_max_wait_seconds = '0';
  d.agent_ring_seconds = '45';
  d.hold_music_url = '  https://cdn.example.com/loop.wav ';
  assert.deepEqual(m.voiceBody(d).voice, {
    language: 'en', greeting: {}, menu: [], voicemail_max_seconds: 120, queue_max_wait_seconds: 0, agent_ring_seconds: 45, hold_music_url: 'https://cdn.example.com/loop.wav',
    offer_callback: true, record_calls: false,
  });
  d.hold_music_url = '   ';
  d.queue_max_wait_seconds = '';
  d.agent_ring_seconds = null;
  const voice = m.voiceBody(d).voice;
  assert.equal(voice.hold_music_url, null);
  assert.equal(voice.queue_max_wait_seconds, 180, 'an emptied field sends the default');
  assert.equal(voice.agent_ring_seconds, 20);
});

test('checks of the call queue: the longest wait 0–1800, the ring 10–60, the hold music an http(s) address', () => {
  const d = m.draftOf(stored);
  assert.equal(m.hasProblems(m.checkVoice(d)), false);
  for (const [seconds, bad] of [[-1, true], [0, false], [180, false], ['1800', false], [1801, true], ['', true], [null, true], [1.5, true]]) {
    d.queue_max_wait_seconds = seconds;
    assert.equal(m.checkVoice(d).fields.queue_max_wait_seconds === 'queue_seconds', bad, `wait ${seconds}`);
  }
  d.queue_max_wait_seconds = 180;
  for (const [seconds, bad] of [[5, true], [9, true], [10, false], ['20', false], [60, false], [61, true], ['', true], [null, true], [12.5, true]]) {
    d.agent_ring_seconds = seconds;
    assert.equal(m.checkVoice(d).fields.agent_ring_seconds === 'ring_seconds', bad, `ring ${seconds}`);
  }
  d.agent_ring_seconds = 20;
  for (const [url, code] of [
    ['', null], ['   ', null], ['https://cdn.example.com/hold.mp3', null], ['http://music.example/loop.wav', null], [' https://x/a.mp3 ', null],
    ['javascript:alert(1)', 'url'], ['https://x/a b.mp3', 'url'], ['ftp://x/a.mp3', 'url'], ['cdn.example.com/hold.mp3', 'url'], ['HTTPS://X/A.MP3', 'url'],
    [`https://x/${'a'.repeat(2000)}.mp3`, 'url_too_long'],
  ]) {
    assert.equal(m.checkHoldMusic(url), code, url);
    d.hold_music_url = url;
    assert.equal(m.checkVoice(d).fields.hold_music_url, code ?? undefined, url);
  }
});

test('settings the form does not edit (a newer server\'s) are sent back as they were', () => {
  const d = m.draftOf({ ...stored, offer_callback: false, future: { a: 1 } });
  assert.deepEqual(d.others, { future: { a: 1 } });
  d.agent_ring_seconds = 40;
  const voice = m.voiceBody(d).voice;
  assert.equal(voice.offer_callback, false, 'the form\'s own, kept as stored');
  assert.deepEqual(voice.future, { a: 1 });
  assert.equal(voice.agent_ring_seconds, 40, 'the form\'s own fields are the form\'s');
  assert.deepEqual(m.draftOf(stored).others, {});
  assert.deepEqual(m.draftOf(null).others, {});
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
  assert.deepEqual(m.voiceBody(d).voice, { language: 'pl', greeting: { pl: 'Dzień dobry' }, menu: [{ digit: '3', team_id: 5, label: { pl: 'sprzedaż' } }], voicemail_max_seconds: 300,
    queue_max_wait_seconds: 180, agent_ring_seconds: 20, hold_music_url: null, offer_callback: true, record_calls: false });
});

test('the call back offered in the queue: stored off stays off; on, absent or unreadable is on', () => {
  assert.equal(m.draftOf({ offer_callback: false }).offer_callback, false);
  for (const raw of [{ offer_callback: true }, {}, { offer_callback: null }, { offer_callback: 'no' }]) {
    assert.equal(m.draftOf(raw).offer_callback, true, JSON.stringify(raw));
  }
  const d = m.draftOf(stored);
  d.offer_callback = false;
  assert.equal(m.voiceBody(d).voice.offer_callback, false);
  assert.equal(m.hasProblems(m.checkVoice(d)), false);
  assert.deepEqual(m.placeOf('voice.offer_callback'), { kind: 'field', name: 'offer_callback' });
  assert.deepEqual(m.placeErrors([{ field: 'voice.offer_callback', message: 'offer_callback is true or false' }], d.menu).fields,
    { offer_callback: 'offer_callback is true or false' });
});

test('recording answered calls: stored on stays on; off, absent or unreadable is off', () => {
  assert.equal(m.draftOf({ record_calls: true }).record_calls, true);
  for (const raw of [{ record_calls: false }, {}, { record_calls: null }, { record_calls: 'yes' }, { record_calls: 1 }]) {
    assert.equal(m.draftOf(raw).record_calls, false, JSON.stringify(raw));
  }
  const d = m.draftOf(stored);
  d.record_calls = true;
  assert.equal(m.voiceBody(d).voice.record_calls, true);
  assert.equal(m.voiceBody(d).voice.offer_callback, true, 'the call back offer is its own setting');
  assert.equal(m.hasProblems(m.checkVoice(d)), false);
  assert.deepEqual(m.draftOf({ ...stored, record_calls: true }).others, {}, 'the form edits it: not kept apart');
  assert.deepEqual(m.placeOf('voice.record_calls'), { kind: 'field', name: 'record_calls' });
  assert.deepEqual(m.placeErrors([{ field: 'voice.record_calls', message: 'record_calls is true or false' }], d.menu).fields,
    { record_calls: 'record_calls is true or false' });
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
    { field: 'voice.queue_max_wait_seconds', message: 'queue_max_wait_seconds is from 0 to 1800' },
    { field: 'voice.agent_ring_seconds', message: 'agent_ring_seconds is from 10 to 60' },
    { field: 'voice.hold_music_url', message: 'hold_music_url is an http or https address of an audio file' },
    { field: 'voice.somewhere_else', message: 'not a field of the form' },
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
    queue_max_wait_seconds: 'queue_max_wait_seconds is from 0 to 1800',
    agent_ring_seconds: 'agent_ring_seconds is from 10 to 60',
    hold_music_url: 'hold_music_url is an http or https address of an audio file',
    language: 'en, pt-BR or pl',
  });
  assert.deepEqual(placed.rest, ['not a field of the form', 'an object', 'name is required']);
  assert.deepEqual(m.placeOf('voice.agent_ring_seconds'), { kind: 'field', name: 'agent_ring_seconds' });
  assert.deepEqual(m.placeOf('voice.menu[3]'), { kind: 'row', index: 3, part: 'team' });
  assert.deepEqual(m.placeOf('voice.menu[2].label'), { kind: 'row', index: 2, part: 'label' });
  assert.deepEqual(m.placeOf('voicemail'), { kind: 'other' });
});
