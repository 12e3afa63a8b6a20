// src/lib/mentions.ts: the composer's `@Name` to Chatwoot's mention markup, and back for display.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import ts from 'typescript';

const source = readFileSync(new URL('../../src/lib/mentions.ts', import.meta.url), 'utf8');
const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
const m = await import(`data:text/javascript;base64,${Buffer.from(outputText).toString('base64')}`);

test('picked agents become mentions; typed names that were not picked stay text', () => {
  const text = '@Ana Souza please check, @Jan will not be told, @Ana Souza again';
  const out = m.encodeMentions(text, [{ id: 12, name: 'Ana Souza' }, { id: 12, name: 'Ana Souza' }]);
  assert.equal(out, '[@Ana Souza](mention://user/12/Ana%20Souza) please check, @Jan will not be told, @Ana Souza again');
  assert.equal(m.encodeMentions('nobody here', [{ id: 3, name: 'Bia' }]), 'nobody here');
  // Encoding twice changes nothing.
  assert.equal(m.encodeMentions(out, [{ id: 12, name: 'Ana Souza' }]), out);
});

test('markup reads back as names, in order, with the text around it', () => {
  const parts = m.mentionParts('Hi [@Ana](mention://user/12/Ana) and [@Billing](mention://team/3/Billing)!');
  assert.deepEqual(parts, [
    { text: 'Hi ' },
    { mention: 'user', id: 12, name: 'Ana' },
    { text: ' and ' },
    { mention: 'team', id: 3, name: 'Billing' },
    { text: '!' },
  ]);
  assert.equal(m.plainMentions('[@Łucja Wiśniewska](mention://user/7/%C5%81ucja) ok'), '@Łucja Wiśniewska ok');
  // Links that are not mentions, and broken markup, are text.
  assert.deepEqual(m.mentionParts('[@x](https://a.test) [@y](mention://contact/1/y)'), [{ text: '[@x](https://a.test) [@y](mention://contact/1/y)' }]);
  assert.deepEqual(m.mentionParts(''), []);
});
