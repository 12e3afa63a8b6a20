// src/lib/messaging.ts (templates, the reply window, shared places and cards), loaded by
// transpiling it with the project's TypeScript (it imports types only).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import ts from 'typescript';

const source = readFileSync(new URL('../../src/lib/messaging.ts', import.meta.url), 'utf8');
const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
const m = await import(`data:text/javascript;base64,${Buffer.from(outputText).toString('base64')}`);

const order = {
  name: 'order_update', language: 'pt_BR', category: 'UTILITY', status: 'APPROVED',
  components: [
    { type: 'HEADER', format: 'TEXT', text: 'Pedido' },
    { type: 'BODY', text: 'Olá {{1}}, seu pedido {{2}} saiu. {{1}}, obrigado!' },
    { type: 'FOOTER', text: 'Loja' },
  ],
};

test('template body, its parameters (each once, in order) and the filled text', () => {
  const body = m.templateBody(order);
  assert.equal(body, 'Olá {{1}}, seu pedido {{2}} saiu. {{1}}, obrigado!');
  assert.deepEqual(m.templateParameters(body), [1, 2]);
  assert.deepEqual(m.templateParameters('{{ 10 }} {{2}} {{name}}'), [2, 10]);
  assert.equal(m.fillTemplate(body, { 1: 'Ana', 2: '1234' }), 'Olá Ana, seu pedido 1234 saiu. Ana, obrigado!');
  assert.equal(m.fillTemplate(body, { 1: 'Ana', 2: '  ' }), 'Olá Ana, seu pedido {{2}} saiu. Ana, obrigado!', 'an empty value leaves the placeholder');
  assert.equal(m.templateBody({ ...order, components: null }), '');
  assert.equal(m.isApproved(order), true);
  assert.equal(m.isApproved({ ...order, status: 'rejected' }), false);
});

test('time left in the window, rounded up to the minute; nothing once closed', () => {
  assert.deepEqual(m.timeLeft(1000 + 3 * 3600 + 12 * 60, 1000), { hours: 3, minutes: 12 });
  assert.deepEqual(m.timeLeft(1000 + 61, 1000), { hours: 0, minutes: 2 });
  assert.equal(m.timeLeft(1000, 1000), null);
  assert.equal(m.timeLeft(900, 1000), null);
});

test('places: a plain OpenStreetMap link only for valid coordinates (numbers or strings)', () => {
  assert.equal(m.mapUrl({ latitude: -23.5505, longitude: -46.6333 }), 'https://www.openstreetmap.org/?mlat=-23.5505&mlon=-46.6333');
  assert.equal(m.mapUrl({ latitude: '52.2297', longitude: '21.0122' }), 'https://www.openstreetmap.org/?mlat=52.2297&mlon=21.0122');
  assert.equal(m.mapUrl({ latitude: 'javascript:alert(1)', longitude: 2 }), null);
  assert.equal(m.mapUrl({ latitude: 91, longitude: 2 }), null);
  assert.equal(m.mapUrl({ latitude: null, longitude: 2 }), null);
  assert.equal(m.placeName({ name: 'Loja', address: 'Av. Paulista, 1000' }), 'Loja, Av. Paulista, 1000');
  assert.equal(m.placeName({ title: 'Pin' }), 'Pin');
  assert.equal(m.placeName({}), '');
});

test('contact cards from WhatsApp and Telegram; the author in a Telegram group only', () => {
  assert.deepEqual(
    m.contactCards({ contacts: [{ name: { formatted_name: 'Bruno Lima' }, phones: [{ phone: '+55 11 91234-5678' }, { wa_id: '5511999' }], emails: [{ email: 'b@x.test' }] }] }),
    [{ name: 'Bruno Lima', phones: ['+55 11 91234-5678', '+5511999'], emails: ['b@x.test'] }],
  );
  assert.deepEqual(m.contactCards({ contact: { first_name: 'Ana', last_name: 'Souza', phone_number: '+48501' } }), [{ name: 'Ana Souza', phones: ['+48501'], emails: [] }]);
  assert.deepEqual(m.contactCards(undefined), []);
  assert.equal(m.groupAuthor({ from: { id: 1, name: 'Bruno' }, chat: { id: -5, type: 'supergroup' } }), 'Bruno');
  assert.equal(m.groupAuthor({ from: { id: 1, username: 'bru' }, chat: { id: -5, type: 'group' } }), '@bru');
  assert.equal(m.groupAuthor({ from: { id: 1, name: 'Ana' }, chat: { id: 1, type: 'private' } }), null);
  assert.equal(m.channelDetails({ telegram: { type: 'text' } }).type, 'text');
  assert.equal(m.channelDetails({}), undefined);
});
