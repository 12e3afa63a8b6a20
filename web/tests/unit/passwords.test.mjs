// src/lib/passwords.ts: the client's password check matches the server's (8 to 128 characters,
// counted as characters, not bytes) and the confirmation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import ts from 'typescript';

const source = readFileSync(new URL('../../src/lib/passwords.ts', import.meta.url), 'utf8');
const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
const m = await import(`data:text/javascript;base64,${Buffer.from(outputText).toString('base64')}`);

test('length is counted in characters, the confirmation must match', () => {
  assert.deepEqual(m.passwordProblem('short', 'short'), { field: 'password', key: 'password.rule' });
  assert.equal(m.passwordProblem('zażółćgę', 'zażółćgę'), null, 'eight characters, more bytes');
  assert.deepEqual(m.passwordProblem('x'.repeat(129), 'x'.repeat(129)), { field: 'password', key: 'password.rule' });
  assert.deepEqual(m.passwordProblem('long-enough', 'long-enougH'), { field: 'password_confirmation', key: 'password.mismatch' });
  assert.equal(m.passwordProblem('long-enough', 'long-enough'), null);
});
