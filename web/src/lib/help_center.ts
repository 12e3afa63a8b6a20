// The help center's editor (Settings → Help center): Chatwoot's portals, categories and
// articles as the API shapes them, the calls the screens make, and the pure rules between
// them — a portal's form and body, the article list's query, which locales an article still
// lacks, an article's public address. The rules are unit-tested in tests/unit/help_center.test.mjs.
import { get, post, patch, del } from './api';
import { acc } from './state.svelte';

/** The locales a portal may hold, as the API names them. */
export const HC_LOCALES = ['en', 'pt_BR', 'pl'] as const;
export type HcLocale = (typeof HC_LOCALES)[number];

export type ArticleStatus = 'draft' | 'published' | 'archived';
/** The article list's tabs. */
export const STATUS_TABS = ['all', 'draft', 'published', 'archived'] as const;
export type StatusTab = (typeof STATUS_TABS)[number];

/** One of a portal's locales with its counts (how the API answers `config.allowed_locales`). */
export interface PortalLocale {
  code: string;
  articles_count: number;
  categories_count: number;
}

export interface Portal {
  id: number;
  name: string;
  slug: string;
  color?: string;
  custom_domain?: string;
  header_text?: string;
  homepage_link?: string;
  page_title?: string;
  archived: boolean;
  inbox_id?: number;
  /** The logo, an image uploaded to the account (absent when there is none). */
  logo?: PortalLogo | null;
  config: { default_locale: string; allowed_locales: (PortalLocale | string)[] };
  meta: {
    all_articles_count: number;
    archived_articles_count: number;
    published_count: number;
    draft_articles_count: number;
    mine_articles_count: number;
    categories_count: number;
  };
}

/** A portal's logo as Chatwoot shapes it. */
export interface PortalLogo {
  id: number;
  portal_id: number;
  file_type: string;
  account_id: number;
  file_url: string;
  /** What `blob_id` names in a portal's body. */
  blob_id: number;
  filename: string;
}

/** An uploaded image (`POST …/upload`): where anyone reads it, and its id for `blob_id`. */
export interface Uploaded {
  file_url: string;
  blob_key: string;
  blob_id: number;
}

export interface Category {
  id: number;
  name: string;
  slug: string;
  locale: string;
  description?: string;
  position: number;
  associated_category_id?: number;
  meta: { articles_count: number };
}

/** Another article of the family (a translation), as the API refers to it. */
export interface ArticleRef {
  id: number;
  title: string;
  slug: string;
  locale: string;
  status: ArticleStatus;
}

export interface Article {
  id: number;
  slug: string;
  title: string;
  /** Markdown. */
  content: string;
  description?: string;
  status: ArticleStatus;
  locale: string;
  category_id?: number;
  associated_article_id?: number;
  author_id?: number;
  /** Unix seconds. */
  updated_at: number;
  views: number;
  category?: { id: number; name: string; slug: string; locale: string } | null;
  author?: { id: number; name: string; available_name?: string } | null;
  associated_articles: ArticleRef[];
  root_article?: ArticleRef;
}

export interface ArticleMeta {
  all_articles_count: number;
  draft_articles_count: number;
  published_count: number;
  archived_articles_count: number;
  mine_articles_count: number;
  /** How many articles match the query (its pages). */
  articles_count: number;
  current_page: number;
}

/** Articles per page of the list (the server's). */
export const PER_PAGE = 25;

// ------------------------------------------------------------------ rules

/** The codes of a portal's locales, the default first. */
export function localeCodes(portal: Pick<Portal, 'config'>): string[] {
  const codes = portal.config.allowed_locales.map((l) => (typeof l === 'string' ? l : l.code));
  const d = portal.config.default_locale;
  return codes.includes(d) ? [d, ...codes.filter((c) => c !== d)] : codes;
}

/** A slug from a name, as the server would accept it: lower-case letters, digits and dashes. */
export function slugify(name: string): string {
  return name
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/ł/g, 'l')
    .replace(/Ł/g, 'L')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, 80)
    .replace(/-+$/, '');
}

export interface PortalDraft {
  name: string;
  slug: string;
  color: string;
  custom_domain: string;
  page_title: string;
  header_text: string;
  homepage_link: string;
  allowed_locales: string[];
  default_locale: string;
  /** '' for none. */
  inbox_id: string;
}

export function portalDraft(p: Portal | null): PortalDraft {
  if (!p) {
    return {
      name: '', slug: '', color: '#1f93ff', custom_domain: '', page_title: '', header_text: '', homepage_link: '',
      allowed_locales: ['en'], default_locale: 'en', inbox_id: '',
    };
  }
  return {
    name: p.name,
    slug: p.slug,
    color: p.color ?? '#1f93ff',
    custom_domain: p.custom_domain ?? '',
    page_title: p.page_title ?? '',
    header_text: p.header_text ?? '',
    homepage_link: p.homepage_link ?? '',
    allowed_locales: localeCodes(p),
    default_locale: p.config.default_locale,
    inbox_id: p.inbox_id ? String(p.inbox_id) : '',
  };
}

/** The body of `POST /portals` or `PATCH /portals/{slug}`: blanks as nulls, the locales in the
 * order of HC_LOCALES, the default one of them (the first chosen when it is not). */
export function portalBody(d: PortalDraft) {
  const allowed = HC_LOCALES.filter((l) => d.allowed_locales.includes(l));
  const blank = (s: string) => s.trim() || null;
  return {
    name: d.name.trim(),
    slug: d.slug.trim(),
    color: blank(d.color),
    custom_domain: blank(d.custom_domain),
    page_title: blank(d.page_title),
    header_text: blank(d.header_text),
    homepage_link: blank(d.homepage_link),
    config: { allowed_locales: allowed, default_locale: allowed.includes(d.default_locale as HcLocale) ? d.default_locale : (allowed[0] ?? d.default_locale) },
    inbox_id: d.inbox_id ? Number(d.inbox_id) : null,
  };
}

/** The article list's query string: only what is set. */
export function articlesQuery(q: { locale?: string; query?: string; page?: number; status?: StatusTab; category_slug?: string }): string {
  const params = new URLSearchParams();
  if (q.locale) params.set('locale', q.locale);
  if (q.query?.trim()) params.set('query', q.query.trim());
  if (q.page && q.page > 1) params.set('page', String(q.page));
  if (q.status && q.status !== 'all') params.set('status', q.status);
  if (q.category_slug) params.set('category_slug', q.category_slug);
  const s = params.toString();
  return s ? `?${s}` : '';
}

/** How many articles a status tab holds, from the list's meta. */
export function countOf(meta: ArticleMeta | null, tab: StatusTab): number {
  if (!meta) return 0;
  return {
    all: meta.all_articles_count,
    draft: meta.draft_articles_count,
    published: meta.published_count,
    archived: meta.archived_articles_count,
  }[tab] ?? 0;
}

/** How many pages the list has. */
export function pages(meta: ArticleMeta | null): number {
  return meta ? Math.max(1, Math.ceil(meta.articles_count / PER_PAGE)) : 1;
}

/** The root of an article's translations (what a new translation hangs on). */
export function rootId(a: Pick<Article, 'id' | 'associated_article_id'>): number {
  return a.associated_article_id ?? a.id;
}

/** The portal's locales the article has no version in yet. */
export function missingLocales(a: Pick<Article, 'locale' | 'associated_articles'>, portalLocales: readonly string[]): string[] {
  const have = new Set([a.locale, ...a.associated_articles.map((r) => r.locale)]);
  return portalLocales.filter((l) => !have.has(l));
}

/** The images the server takes for the help center (it checks the bytes too), and its limit. */
export const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'] as const;
export const MAX_IMAGE_BYTES = 5 * 1024 * 1024;

/** Why a chosen file cannot be uploaded, before it is sent: not one of IMAGE_TYPES (an SVG, a
 * PDF) or over MAX_IMAGE_BYTES; null when it may go. */
export function imageProblem(file: { type: string; size: number }): 'type' | 'size' | null {
  if (!(IMAGE_TYPES as readonly string[]).includes(file.type)) return 'type';
  if (file.size > MAX_IMAGE_BYTES) return 'size';
  return null;
}

/** An image in Markdown, `![name](url)`: the name as its description (brackets and
 * backslashes escaped, on one line), the URL as the server gave it. */
export function imageMarkdown(name: string, url: string): string {
  const alt = name.replace(/[\r\n]+/g, ' ').replace(/([\\[\]])/g, '\\$1').trim();
  return `![${alt}](${url.replace(/[ ()<>]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)})`;
}

/** `text` with `insert` in place of the selection [start, end) (both clamped to the text), and
 * where the cursor goes: just after what was inserted. */
export function insertAt(text: string, start: number, end: number, insert: string): { text: string; cursor: number } {
  const a = Math.max(0, Math.min(start, text.length));
  const b = Math.max(a, Math.min(end, text.length));
  return { text: text.slice(0, a) + insert + text.slice(b), cursor: a + insert.length };
}

/** Where customers read a published article. */
export function publicPath(portalSlug: string, articleSlug: string): string {
  return `/hc/${encodeURIComponent(portalSlug)}/articles/${encodeURIComponent(articleSlug)}`;
}

export interface ArticleDraft {
  title: string;
  slug: string;
  description: string;
  content: string;
  locale: string;
  /** '' for none. */
  category_id: string;
  associated_article_id: number | null;
}

export function articleDraft(a: Article | null, locale: string): ArticleDraft {
  return {
    title: a?.title ?? '',
    slug: a?.slug ?? '',
    description: a?.description ?? '',
    content: a?.content ?? '',
    locale: a?.locale ?? locale,
    category_id: a?.category_id ? String(a.category_id) : '',
    associated_article_id: a?.associated_article_id ?? null,
  };
}

/** A new version of `source` in `locale`, its words to translate. */
export function translationDraft(source: Article, locale: string): ArticleDraft {
  return { ...articleDraft(source, locale), slug: '', locale, category_id: '', associated_article_id: rootId(source) };
}

/** The body of a create or an update with `status`. */
export function articleBody(d: ArticleDraft, status: ArticleStatus) {
  return {
    title: d.title.trim(),
    ...(d.slug.trim() ? { slug: d.slug.trim() } : {}),
    description: d.description.trim() || null,
    content: d.content,
    locale: d.locale,
    category_id: d.category_id ? Number(d.category_id) : null,
    status,
    ...(d.associated_article_id ? { associated_article_id: d.associated_article_id } : {}),
  };
}

// ------------------------------------------------------------------ calls

const portalPath = (slug: string, rest = '') => acc(`/portals/${encodeURIComponent(slug)}${rest}`);

export const listPortals = async () => (await get<{ payload: Portal[] }>(acc('/portals'))).payload;
/** A portal's body, with `blob_id` (an uploaded image) to make its logo. */
type PortalBody = ReturnType<typeof portalBody> & { blob_id?: number };
export const createPortal = (body: PortalBody) => post<Portal>(acc('/portals'), body);
export const updatePortal = (slug: string, body: Partial<PortalBody> & { archived?: boolean }) => patch<Portal>(portalPath(slug), body);
export const archivePortal = (slug: string) => patch(portalPath(slug, '/archive'), {});
export const removeLogo = (slug: string) => del(portalPath(slug, '/logo'));
/** Uploads an image for the help center (a logo, an image in an article): any agent may. */
export const uploadImage = (file: File) => {
  const form = new FormData();
  form.append('attachment', file, file.name);
  return post<Uploaded>(acc('/upload'), form);
};
export const deletePortal = (slug: string) => del(portalPath(slug));

export const listCategories = async (slug: string) => (await get<{ payload: Category[] }>(portalPath(slug, '/categories'))).payload;
export const createCategory = (slug: string, body: { name: string; slug?: string; description: string | null; locale: string }) =>
  post<{ payload: Category }>(portalPath(slug, '/categories'), body);
export const updateCategory = (slug: string, id: number, body: { name: string; description: string | null }) =>
  patch<{ payload: Category }>(portalPath(slug, `/categories/${id}`), body);
export const deleteCategory = (slug: string, id: number) => del(portalPath(slug, `/categories/${id}`));

export const listArticles = (slug: string, query: string) => get<{ payload: Article[]; meta: ArticleMeta }>(portalPath(slug, `/articles${query}`));
export const getArticle = async (slug: string, id: number) => (await get<{ payload: Article }>(portalPath(slug, `/articles/${id}`))).payload;
export const createArticle = async (slug: string, body: ReturnType<typeof articleBody>) =>
  (await post<{ payload: Article }>(portalPath(slug, '/articles'), body)).payload;
export const updateArticle = async (slug: string, id: number, body: Partial<ReturnType<typeof articleBody>>) =>
  (await patch<{ payload: Article }>(portalPath(slug, `/articles/${id}`), body)).payload;
export const deleteArticle = (slug: string, id: number) => del(portalPath(slug, `/articles/${id}`));
export const previewMarkdown = async (slug: string, content: string) =>
  (await post<{ content_html: string }>(portalPath(slug, '/articles/preview'), { content })).content_html;
