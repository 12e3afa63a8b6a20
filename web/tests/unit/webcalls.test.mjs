// src/lib/webcalls.ts (a call from the widget ringing in the agent's app, and its talk time)
// and src/lib/rtc.ts's parseSignal (what the socket brings as a WebRTC signal), loaded by
// transpiling them with the project's TypeScript.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import ts from 'typescript';

async function load(path) {
  const source = readFileSync(new URL(path, import.meta.url), 'utf8');
  const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
  return import(`data:text/javascript;base64,${Buffer.from(outputText).toString('base64')}`);
}
const m = await load('../../src/lib/webcalls.ts');
const rtc = await load('../../src/lib/rtc.ts');

const frame = (call = {}, extra = {}) => ({
  type: 'call_incoming', account_id: 1,
  call: { id: 7, inbox_id: 2, conversation_id: 12, medium: 'web_video', contact_name: ' Joana ', inbox_name: 'Loja', expires_at: 1733390030, ...call },
  ice_servers: [{ urls: ['stun:stun.example:3478'] }], ...extra,
});

test('a ringing call from its frame: the fields the app reads, or nothing', () => {
  assert.deepEqual(m.parseIncoming(frame()), {
    id: 7, accountId: 1, conversationId: 12, video: true, caller: 'Joana', inboxName: 'Loja',
    expiresAt: 1733390030000, iceServers: [{ urls: ['stun:stun.example:3478'] }],
  });
  assert.equal(m.parseIncoming(frame({ medium: 'web_voice' })).video, false);
  assert.equal(m.parseIncoming(frame({ conversation_id: null })).conversationId, null);
  assert.deepEqual(m.parseIncoming(frame({}, { ice_servers: [{ urls: 5 }, 'x', { urls: 'turn:t' }] })).iceServers, [{ urls: 'turn:t' }]);
  for (const bad of [null, {}, { type: 'offer' }, frame({ id: 'x' }), frame({ expires_at: undefined }), { ...frame(), account_id: 0 }])
    assert.equal(m.parseIncoming(bad), null);
});

test('talk time reads as m:ss, and h:mm:ss past an hour', () => {
  assert.equal(m.talkTime(0), '0:00');
  assert.equal(m.talkTime(65.9), '1:05');
  assert.equal(m.talkTime(3725), '1:02:05');
  assert.equal(m.talkTime(-3), '0:00');
});

test('signals from the socket: descriptions and candidates, nothing else', () => {
  assert.deepEqual(rtc.parseSignal({ description: { type: 'answer', sdp: 'v=0', extra: 1 } }), { description: { type: 'answer', sdp: 'v=0' } });
  assert.deepEqual(rtc.parseSignal({ candidate: null }), { candidate: null });
  assert.deepEqual(rtc.parseSignal({ candidate: { candidate: 'c', sdpMid: '0', sdpMLineIndex: 0 } }), { candidate: { candidate: 'c', sdpMid: '0', sdpMLineIndex: 0 } });
  assert.deepEqual(rtc.parseSignal({ candidate: { candidate: 'c' } }), { candidate: { candidate: 'c', sdpMid: null, sdpMLineIndex: null } });
  for (const bad of [null, 'x', {}, { description: { type: 'rollback', sdp: '' } }, { candidate: { candidate: 3 } }]) assert.equal(rtc.parseSignal(bad), null);
});
