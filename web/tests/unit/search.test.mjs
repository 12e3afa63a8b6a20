// src/lib/search.ts: the words of a search light up in found text as the server matched them —
// word prefixes, case and diacritics aside.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import ts from 'typescript';

const source = readFileSync(new URL('../../src/lib/search.ts', import.meta.url), 'utf8');
const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
const m = await import(`data:text/javascript;base64,${Buffer.from(outputText).toString('base64')}`);

const marked = (runs) => runs.map((r) => (r.hit ? `[${r.text}]` : r.text)).join('');

test('words typed without diacritics light up the written ones', () => {
  assert.equal(marked(m.highlight('Gdzie jest moje zamówienie z Łodzi?', 'zamowienie lodz')), 'Gdzie jest moje [zamówienie] z [Łodz]i?');
  assert.equal(marked(m.highlight('O pedido não chegou', 'NAO cheg')), 'O pedido [não] [cheg]ou');
  assert.equal(marked(m.highlight('Żółta paczka', 'zolta')), '[Żółta] paczka');
});

test('only word starts match, and nothing is lost of the text', () => {
  const text = 'rezamówienie, zamówienie! 42 zł';
  const runs = m.highlight(text, 'zamow 4');
  assert.equal(runs.map((r) => r.text).join(''), text);
  assert.equal(marked(runs), 'rezamówienie, [zamów]ienie! [4]2 zł');
  assert.deepEqual(m.highlight('', 'x'), []);
  assert.equal(marked(m.highlight('no match here', '')), 'no match here');
  assert.deepEqual(m.queryWords('  "*() Łódź, #12 '), ['lodz', '12']);
});
