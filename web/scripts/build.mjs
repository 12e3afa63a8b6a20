// Builds the agent app and the widget, then prints their gzipped sizes and fails when either
// is over the budget of shared/PERFORMANCE.md (agent app initial JS ≤ 200 KB, widget ≤ 30 KB).
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, mkdirSync, existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join, resolve } from 'node:path';

const out = resolve(process.env.THROUGHLINE_WEB_OUT || 'dist');
process.env.THROUGHLINE_WEB_OUT = out;
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const vite = join('node_modules', 'vite', 'bin', 'vite.js');
for (const config of ['vite.app.config.ts', 'vite.widget.config.ts']) {
  execFileSync(process.execPath, [vite, 'build', '--logLevel', 'warn', '--config', config], {
    stdio: 'inherit',
    env: process.env,
  });
}

const gz = (file) => gzipSync(readFileSync(join(out, file)), { level: 9 }).length;
const manifestPath = join(out, '.vite', 'manifest.json');
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
// Initial JS: the entry chunk and everything it imports statically (not dynamic imports).
const initial = new Set();
const visit = (key) => {
  const chunk = manifest[key];
  if (!chunk || initial.has(chunk.file)) return;
  initial.add(chunk.file);
  for (const dep of chunk.imports || []) visit(dep);
};
for (const [key, chunk] of Object.entries(manifest)) if (chunk.isEntry) visit(key);
const appBytes = [...initial].filter((f) => f.endsWith('.js')).reduce((sum, f) => sum + gz(f), 0);
if (!existsSync(join(out, 'widget.js'))) throw new Error('widget.js was not built');
const widgetBytes = gz('widget.js');
rmSync(join(out, '.vite'), { recursive: true, force: true });

const budgets = [
  ['agent app, initial JS', appBytes, 200 * 1024],
  ['chat widget, all JS', widgetBytes, 30 * 1024],
];
let over = false;
for (const [what, size, budget] of budgets) {
  const ok = size <= budget;
  over ||= !ok;
  console.log(
    `${what}: ${(size / 1024).toFixed(1)} KB gzipped (budget ${budget / 1024} KB) ${ok ? 'ok' : 'OVER BUDGET'}`,
  );
}
if (over) {
  console.error('web build over budget (shared/PERFORMANCE.md)');
  process.exit(1);
}
