// src/lib/web_call_settings.ts (a website inbox's calls from the widget: the form from the
// inbox's `web_calls` and back, the STUN/TURN rows as the `ice_servers` body, the client's checks
// as the server makes them, the server's refusals placed by the row they name), loaded by
// transpiling it with the project's TypeScript (with lib/row_errors.ts, which places the server's refusals).
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
const m = await import(asUrl(load('web_call_settings.ts').replace("'./row_errors'", `'${rowErrors}'`)));

const en = JSON.parse(readFileSync(new URL('../../src/i18n/en.json', import.meta.url), 'utf8'));

const row = (urls, username = '', credential = '') => ({ ...m.newServerRow(), urls, username, credential });
const draft = (servers = [], more = {}) => ({ enabled: true, video: false, callbacks: false, ring_seconds: 20, servers, ...more });

test('nothing stored: calls off, voice only, 20 seconds, no servers', () => {
  for (const raw of [undefined, null, 'on', [], {}]) {
    const d = m.draftOf(raw);
    assert.deepEqual({ ...d, servers: d.servers.length }, { enabled: false, video: false, callbacks: false, ring_seconds: 20, servers: 0 }, JSON.stringify(raw));
  }
  assert.equal(m.DEFAULT_RING_SECONDS, 20);
  assert.equal(m.draftOf({ ring_seconds: 'soon' }).ring_seconds, 20);
  assert.equal(m.draftOf({ enabled: 'yes', video: 1 }).enabled, false, 'only true is on');
});

test('the stored setting as the form shows it: one row per server, its URLs in one field', () => {
  const d = m.draftOf({
    enabled: true,
    video: true,
    ring_seconds: 35,
    ice_servers: [
      { urls: ['stun:stun.example.com:3478', 'stun:stun2.example.com:3478'] },
      { urls: 'turn:turn.example.com:3478?transport=udp', username: 'alice', credential: 's3cret' },
      'not a server',
    ],
  });
  assert.equal(d.enabled, true);
  assert.equal(d.video, true);
  assert.equal(d.callbacks, false);
  assert.equal(m.draftOf({ callbacks: true }).callbacks, true);
  assert.equal(d.ring_seconds, 35);
  assert.deepEqual(d.servers.map(({ uid, ...r }) => r), [
    { urls: 'stun:stun.example.com:3478 stun:stun2.example.com:3478', username: '', credential: '' },
    { urls: 'turn:turn.example.com:3478?transport=udp', username: 'alice', credential: 's3cret' },
  ]);
  assert.notEqual(d.servers[0].uid, d.servers[1].uid, 'each row has its own uid');
});

test('the rows as the ice_servers body: URLs split, empty username and credential left out, blank rows not sent', () => {
  const stun = row(' stun:stun.example.com:3478 ,stun:stun2.example.com:3478\n');
  const blank = row('  ');
  const turn = row('turn:turn.example.com:3478?transport=udp turns:turn.example.com:5349', 'alice', 's3cret');
  const { web_calls, sent } = m.webCallsBody(draft([stun, blank, turn], { video: true, callbacks: true, ring_seconds: '45' }));
  assert.deepEqual(web_calls, {
    enabled: true,
    video: true,
    callbacks: true,
    ring_seconds: 45,
    ice_servers: [
      { urls: ['stun:stun.example.com:3478', 'stun:stun2.example.com:3478'] },
      { urls: ['turn:turn.example.com:3478?transport=udp', 'turns:turn.example.com:5349'], username: 'alice', credential: 's3cret' },
    ],
  });
  assert.deepEqual(sent, [stun.uid, turn.uid], 'row i of the body is the i-th row sent');
  assert.equal(m.webCallsBody(draft([], { ring_seconds: '' })).web_calls.ring_seconds, 20, 'emptied: the default');
  // What the form shows back from what it sent is what it had.
  const again = m.draftOf(web_calls);
  assert.deepEqual(again.servers.map(({ uid, ...r }) => r), [
    { urls: 'stun:stun.example.com:3478 stun:stun2.example.com:3478', username: '', credential: '' },
    { urls: 'turn:turn.example.com:3478?transport=udp turns:turn.example.com:5349', username: 'alice', credential: 's3cret' },
  ]);
});

test('STUN and TURN URLs as the server takes them', () => {
  for (const ok of ['stun:stun.l.google.com:19302', 'stuns:stun.example.com', 'turn:10.0.0.1:3478?transport=udp', 'turns:turn.example.com:443?transport=tcp', 'stun:a1', 'stun:a']) {
    assert.equal(m.isIceUrl(ok), true, ok);
  }
  for (const bad of ['', 'stun:', 'http://turn.example.com', 'turn', 'TURN:host:3478', 'turnx:host', 'stun:host\u0007', `stun:${'a'.repeat(512)}`]) {
    assert.equal(m.isIceUrl(bad), false, JSON.stringify(bad));
  }
  assert.deepEqual(m.urlsOf(' a, b\nc  '), ['a', 'b', 'c']);
});

test('the client\'s checks, as the server makes them', () => {
  assert.deepEqual(m.checkWebCalls(draft()), { rows: {}, fields: {} });
  const stun = row('stun:stun.example.com:3478');
  const turn = row('turn:turn.example.com:3478', 'alice', 's3cret');
  assert.equal(m.hasProblems(m.checkWebCalls(draft([stun, turn, row('')]))), false, 'a blank row is not sent, so not checked');

  for (const [ring, bad] of [[10, false], [60, false], ['30', false], [9, true], [61, true], [20.5, true], ['', true], [null, true]]) {
    assert.equal(m.checkWebCalls(draft([], { ring_seconds: ring })).fields.ring_seconds === 'ring_seconds', bad, String(ring));
  }

  const noUser = row('turn:turn.example.com:3478', '', 's3cret');
  const nothing = row('turns:turn.example.com:5349');
  const badUrl = row('http://turn.example.com', 'u', 'p');
  const noUrl = row('', 'alice');
  const long = row('stun:stun.example.com', 'x'.repeat(513));
  const many = row(Array.from({ length: 11 }, (_, i) => `stun:s${i}.example.com`).join(' '));
  const p = m.checkWebCalls(draft([stun, noUser, nothing, badUrl, noUrl, long, many]));
  assert.deepEqual(p.rows, {
    [noUser.uid]: { username: 'turn_username' },
    [nothing.uid]: { username: 'turn_username', credential: 'turn_credential' },
    [badUrl.uid]: { urls: 'bad_url' },
    [noUrl.uid]: { urls: 'no_url' },
    [long.uid]: { username: 'too_long' },
    [many.uid]: { urls: 'too_many_urls' },
  });
  assert.deepEqual(p.fields, {});
  assert.deepEqual(m.checkWebCalls(draft(Array.from({ length: 11 }, () => row('stun:stun.example.com')))).fields, { ice_servers: 'too_many_servers' });
  for (const code of ['ring_seconds', 'too_many_servers', 'no_url', 'bad_url', 'too_many_urls', 'turn_username', 'turn_credential', 'too_long']) {
    assert.ok(`web_calls_settings.check.${code}` in en, code);
  }
});

test('the server\'s refusals, placed by the row and control they name', () => {
  const a = row('stun:stun.example.com');
  const b = row('turn:turn.example.com:3478');
  const placed = m.placeErrors([
    { field: 'channel.web_calls.ice_servers[1].credential', message: 'a TURN server needs a username and a credential' },
    { field: 'channel.web_calls.ice_servers[0]', message: '`http://x` is not a STUN or TURN URL' },
    { field: 'channel.web_calls.ice_servers[0].urls', message: 'urls must be strings' },
    { field: 'web_calls.ice_servers[1].username', message: 'too long' },
    { field: 'channel.web_calls.ice_servers[5]', message: 'a row not sent' },
    { field: 'channel.web_calls.ring_seconds', message: 'from 10 to 60' },
    { field: 'channel.web_calls.ice_servers', message: 'at most 10 servers' },
    { field: 'channel.web_calls.enabled', message: 'true or false' },
    { field: 'channel.web_calls', message: 'must be an object' },
    { field: 'channel.web_calls.colour', message: 'not a web call setting' },
    { field: 'name', message: 'name is required' },
  ], [a.uid, b.uid]);
  assert.deepEqual(placed.rows, {
    [a.uid]: { urls: '`http://x` is not a STUN or TURN URL; urls must be strings' },
    [b.uid]: { credential: 'a TURN server needs a username and a credential', username: 'too long' },
  });
  assert.deepEqual(placed.fields, { ring_seconds: 'from 10 to 60', ice_servers: 'a row not sent; at most 10 servers', enabled: 'true or false' });
  assert.deepEqual(placed.rest, ['must be an object', 'not a web call setting', 'name is required']);
  assert.deepEqual(m.placeOf('channel.web_calls.video'), { kind: 'field', name: 'video' });
  assert.deepEqual(m.placeOf('channel.web_calls.ice_servers[3]'), { kind: 'row', index: 3, part: 'urls' });
  assert.deepEqual(m.placeOf('channel.website_url'), { kind: 'other' });
});

test("the client's own findings in words, by row and by field", async () => {
  const re = await import(rowErrors);
  const words = re.problemWords({ rows: { 7: { credential: 'turn_credential' } }, fields: { ring_seconds: 'ring_seconds' } }, (code) => `said:${code}`);
  assert.deepEqual(words, { rows: { 7: { credential: 'said:turn_credential' } }, fields: { ring_seconds: 'said:ring_seconds' } });
  assert.deepEqual(re.problemWords({ rows: {}, fields: {} }, String), { rows: {}, fields: {} });
});
