// Every catalogue has every key of the English one, none empty, and nothing left in English
// except words that are the same in every language (brand and technical names).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';

const dir = new URL('../../src/i18n/', import.meta.url);
const load = (name) => JSON.parse(readFileSync(new URL(name, dir), 'utf8'));
const en = load('en.json');
const SAME = new Set(['API', 'SMS', 'WhatsApp', 'Telegram', 'Throughline', 'STARTTLS', 'URL', 'Status', 'Webhooks', 'Agent', 'Administrator', 'Supervisor', 'Port', 'Cc',
  // Brand and product names.
  'Instagram', 'Facebook Messenger', 'Twilio', 'SMS (Twilio)', 'WhatsApp (Twilio)', 'WhatsApp Cloud API', 'Bot',
  // The same word in Portuguese.
  'Macros',
  // Service-level and survey acronyms, used as they are in every language.
  'SLA', 'NPS',
  // Artificial intelligence, as Polish writes it too.
  'AI']);

for (const file of readdirSync(dir).filter((f) => f.endsWith('.json') && f !== 'en.json')) {
  test(`catalogue ${file} is complete and translated`, () => {
    const other = load(file);
    assert.deepEqual(Object.keys(other).sort(), Object.keys(en).sort(), 'same keys as en.json');
    for (const [key, value] of Object.entries(other)) {
      assert.ok(value.trim(), `${file}: ${key} is empty`);
      if (value === en[key]) assert.ok(SAME.has(value), `${file}: ${key} is still English: "${value}"`);
      for (const v of en[key].match(/\{\w+\}/g) ?? []) assert.ok(value.includes(v), `${file}: ${key} lacks ${v}`);
    }
  });
}

test('every key used in the source exists in en.json', () => {
  const files = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = new URL(e.name + (e.isDirectory() ? '/' : ''), d);
      if (e.isDirectory()) walk(p);
      else if (/\.(svelte|ts)$/.test(e.name)) files.push(p);
    }
  };
  walk(new URL('../../src/', import.meta.url));
  const missing = [];
  for (const f of files) {
    for (const [, key] of readFileSync(f, 'utf8').matchAll(/\bt\('([a-z_]+\.[a-zA-Z_.-]+)'/g)) if (!(key in en)) missing.push(key);
  }
  assert.deepEqual(missing, []);
});

test('the widget catalogue is complete in every language', async () => {
  const src = readFileSync(new URL('../../widget/i18n.ts', import.meta.url), 'utf8');
  const blocks = [...src.matchAll(/^  (?:'?[\w-]+'?): \{([\s\S]*?)^  \},/gm)].map((m) => [...m[1].matchAll(/(\w+): '/g)].map((k) => k[1]).sort());
  assert.equal(blocks.length, 3);
  assert.deepEqual(blocks[1], blocks[0]);
  assert.deepEqual(blocks[2], blocks[0]);
});
