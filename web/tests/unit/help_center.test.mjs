// src/lib/help_center.ts's rules: a portal's locales and form body, slugs, the article list's
// query and counts, which languages an article still lacks, a translation's draft and an
// article's body. Loaded by transpiling it with the project's TypeScript; its two imports (the
// REST client and the account's path) are replaced by stubs, the calls being the server's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import ts from 'typescript';

const source = readFileSync(new URL('../../src/lib/help_center.ts', import.meta.url), 'utf8');
const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
const imports = outputText.match(/^import .*$/gm) ?? [];
assert.deepEqual(imports, ["import { get, post, patch, del } from './api';", "import { acc } from './state.svelte';"]);
const stubs = 'const get = () => null, post = get, patch = get, del = get, acc = (p) => `/api/v1/accounts/1${p}`;\n';
const hc = await import(`data:text/javascript;base64,${Buffer.from(stubs + outputText.replace(/^import .*$/gm, '')).toString('base64')}`);

const portal = (allowed, def) => ({ config: { default_locale: def, allowed_locales: allowed } });

test('a portal’s locales: codes from the objects the API answers, the default first', () => {
  const objects = [{ code: 'en', articles_count: 1, categories_count: 0 }, { code: 'pt_BR', articles_count: 0, categories_count: 0 }];
  assert.deepEqual(hc.localeCodes(portal(objects, 'pt_BR')), ['pt_BR', 'en']);
  assert.deepEqual(hc.localeCodes(portal(['pl', 'en'], 'en')), ['en', 'pl']);
});

test('slugs as the server accepts them', () => {
  assert.equal(hc.slugify('Central de Ajuda — Loja'), 'central-de-ajuda-loja');
  assert.equal(hc.slugify('Zwrot zamówienia, łódź'), 'zwrot-zamowienia-lodz');
  assert.equal(hc.slugify('  ¿Qué?  '), 'que');
  assert.equal(hc.slugify('!!!'), '');
  assert.ok(!hc.slugify(`${'a'.repeat(79)} b`).endsWith('-'));
});

test('a portal’s body: blanks as nulls, locales in order, a default among them', () => {
  const d = { ...hc.portalDraft(null), name: ' Help ', slug: 'help', allowed_locales: ['pl', 'pt_BR'], default_locale: 'en', inbox_id: '7' };
  const body = hc.portalBody(d);
  assert.deepEqual(body.config, { allowed_locales: ['pt_BR', 'pl'], default_locale: 'pt_BR' });
  assert.equal(body.name, 'Help');
  assert.equal(body.custom_domain, null);
  assert.equal(body.inbox_id, 7);
  assert.equal(hc.portalBody({ ...d, inbox_id: '' }).inbox_id, null);
  // And back: an answered portal as the form.
  const answered = { name: 'Help', slug: 'help', archived: false, color: '#112233', inbox_id: 3, ...portal([{ code: 'en' }, { code: 'pl' }], 'pl'), meta: {} };
  assert.deepEqual(hc.portalDraft(answered), {
    name: 'Help', slug: 'help', color: '#112233', custom_domain: '', page_title: '', header_text: '', homepage_link: '',
    allowed_locales: ['pl', 'en'], default_locale: 'pl', inbox_id: '3',
  });
});

test('the article list’s query and counts', () => {
  assert.equal(hc.articlesQuery({ locale: 'pt_BR', query: '  devolução ', page: 1, status: 'all' }), '?locale=pt_BR&query=devolu%C3%A7%C3%A3o');
  assert.equal(hc.articlesQuery({ status: 'draft', page: 3 }), '?page=3&status=draft');
  assert.equal(hc.articlesQuery({}), '');
  const meta = { all_articles_count: 30, draft_articles_count: 4, published_count: 25, archived_articles_count: 1, mine_articles_count: 2, articles_count: 26, current_page: 1 };
  assert.deepEqual(hc.STATUS_TABS.map((s) => hc.countOf(meta, s)), [30, 4, 25, 1]);
  assert.equal(hc.countOf(null, 'all'), 0);
  assert.equal(hc.pages(meta), 2);
  assert.equal(hc.pages(null), 1);
});

test('translations: the languages missing, the root they hang on, the draft to translate', () => {
  const article = {
    id: 9, slug: 'returns', title: 'Returns', content: '## Steps', description: 'How', status: 'published', locale: 'en', category_id: 4,
    associated_article_id: 2, associated_articles: [{ id: 2, locale: 'pl', title: 'Zwroty', slug: 'zwroty', status: 'draft' }],
  };
  assert.deepEqual(hc.missingLocales(article, ['en', 'pt_BR', 'pl']), ['pt_BR']);
  assert.equal(hc.rootId(article), 2);
  assert.equal(hc.rootId({ id: 5 }), 5);
  const draft = hc.translationDraft(article, 'pt_BR');
  assert.deepEqual(draft, { title: 'Returns', slug: '', description: 'How', content: '## Steps', locale: 'pt_BR', category_id: '', associated_article_id: 2 });
  assert.deepEqual(hc.articleBody(draft, 'draft'), {
    title: 'Returns', description: 'How', content: '## Steps', locale: 'pt_BR', category_id: null, status: 'draft', associated_article_id: 2,
  });
  const edited = hc.articleDraft(article, 'en');
  assert.equal(hc.articleBody({ ...edited, description: ' ' }, 'published').description, null);
  assert.equal(hc.articleBody(edited, 'published').slug, 'returns');
  assert.equal(hc.articleBody(edited, 'published').category_id, 4);
  assert.equal(hc.publicPath('ajuda', 'como-devolver'), '/hc/ajuda/articles/como-devolver');
});

test('images: only what the server takes, and at most 5 MB', () => {
  for (const type of ['image/png', 'image/jpeg', 'image/gif', 'image/webp']) assert.equal(hc.imageProblem({ type, size: 1000 }), null);
  assert.equal(hc.imageProblem({ type: 'image/svg+xml', size: 10 }), 'type');
  assert.equal(hc.imageProblem({ type: 'application/pdf', size: 10 }), 'type');
  assert.equal(hc.imageProblem({ type: '', size: 10 }), 'type');
  assert.equal(hc.imageProblem({ type: 'image/png', size: 5 * 1024 * 1024 }), null);
  assert.equal(hc.imageProblem({ type: 'image/png', size: 5 * 1024 * 1024 + 1 }), 'size');
});

test('an image in Markdown: its name as the description, on one line, brackets escaped', () => {
  const url = 'https://help.example.com/uploads/3/tok/mapa.png';
  assert.equal(hc.imageMarkdown('mapa.png', url), `![mapa.png](${url})`);
  assert.equal(hc.imageMarkdown('a [b] \\ c\nd.png', url), `![a \\[b\\] \\\\ c d.png](${url})`);
  assert.equal(hc.imageMarkdown('x.png', 'https://h/a b(1).png'), '![x.png](https://h/a%20b%281%29.png)');
});

test('inserting at the cursor replaces the selection and puts the cursor after', () => {
  assert.deepEqual(hc.insertAt('ab', 1, 1, 'X'), { text: 'aXb', cursor: 2 });
  assert.deepEqual(hc.insertAt('abcd', 1, 3, 'X'), { text: 'aXd', cursor: 2 });
  assert.deepEqual(hc.insertAt('ab', 99, 99, 'X'), { text: 'abX', cursor: 3 });
  assert.deepEqual(hc.insertAt('ab', 2, 0, 'X'), { text: 'abX', cursor: 3 });
  assert.deepEqual(hc.insertAt('', 0, 0, 'X'), { text: 'X', cursor: 1 });
});
