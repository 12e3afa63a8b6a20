// The AI assistant (Chatwoot's `openai` integration): the account's hook and its settings
// (administrators), what agents ask of it (a reply suggestion, a summary, rewrites and
// translations of a draft, a customer's message translated), and the rules the screens share.
// Every answer is a model's: the screens mark it, and an agent reviews it before a customer
// reads it. When the model cannot help the server answers 422 with a stable `reason` and the
// help-center articles that may answer instead (the fallback without AI).
import { get, post, patch, del, ApiError } from './api';
import { acc } from './state.svelte';

export const APP_ID = 'openai';
/** The server's defaults (OpenAI's own API). */
export const DEFAULT_BASE_URL = 'https://api.openai.com/v1';
export const DEFAULT_MODEL = 'gpt-4o-mini';
export const DEFAULT_TIMEOUT = 30;
export const MAX_TIMEOUT = 120;

/** The rewrites of a draft the composer offers ("Improve"). */
export const REWRITES = ['fix_spelling_grammar', 'shorten', 'expand', 'make_friendly', 'make_formal', 'simplify'] as const;
export type Rewrite = (typeof REWRITES)[number];
export type EventName = 'reply_suggestion' | 'summarize' | 'rephrase' | 'translate' | Rewrite;

/** Why the model did not answer (the 422's `reason`, translated by the screens); `invalid`
 * for a validation error and `error` for any other failure (their messages are shown). */
export const REASONS = ['not_configured', 'disabled', 'customer_data_off', 'timeout', 'rate_limited', 'unreachable', 'refused', 'provider_error'] as const;

/** The catalogue key that explains a failure, when it is one of the stable reasons. */
export function reasonKey(f: Fallback): string | null {
  return (REASONS as readonly string[]).includes(f.reason) ? `assistant.reason.${f.reason}` : null;
}

export interface AssistantSettings {
  base_url: string;
  model: string;
  embedding_model: string | null;
  timeout_seconds: number;
  /** Inboxes whose conversations may be sent to the model. */
  customer_data_inbox_ids: number[];
  /** A key is kept (it is never shown again). */
  api_key_set: boolean;
}

export interface Hook {
  id: number;
  app_id: string;
  /** Enabled. */
  status: boolean;
  account_id: number;
  hook_type: string;
  settings: AssistantSettings;
}

export interface IntegrationApp {
  id: string;
  name: string;
  description: string;
  enabled: boolean;
  hooks: Hook[];
}

/** A help-center article an answer was grounded in; `cited`: the model used it. */
export interface ArticleRef {
  id: number;
  title: string;
  url: string;
  cited: boolean;
}

/** What the assistant wrote. */
export interface Answer {
  message: string;
  ai_generated: boolean;
  /** The language of `message`, when the assistant chose it (a translation, a suggestion). */
  language?: string;
  articles: ArticleRef[];
}

/** Why there is no answer, and the articles that may help instead. */
export interface Fallback {
  reason: string;
  /** The server's words (English), shown when the reason has no translation. */
  message: string;
  articles: ArticleRef[];
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; fallback: Fallback };

export interface EventData {
  conversation_display_id?: number;
  content?: string;
  tone?: string;
  target_language?: string;
  locale?: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

// ------------------------------------------------------------------ the account's hook

/** The account's assistant hook among the integration apps (none when not set up). */
export function hookOf(apps: readonly IntegrationApp[]): Hook | null {
  return apps.find((a) => a.id === APP_ID)?.hooks.find((h) => h.app_id === APP_ID) ?? null;
}

export async function loadHook(): Promise<Hook | null> {
  return hookOf((await get<{ payload: IntegrationApp[] }>(acc('/integrations/apps'))).payload);
}

// ------------------------------------------------------------------ asking the assistant

function articlesOf(v: unknown): ArticleRef[] {
  return Array.isArray(v)
    ? v.filter(isObject).map((a) => ({ id: Number(a.id), title: String(a.title ?? ''), url: String(a.url ?? ''), cited: a.cited === true }))
    : [];
}

/** A failed call as a fallback: the 422's reason and articles; a validation error is
 * `invalid`; anything else (the network, a 404) `error`, with its message to show. */
export function fallbackOf(e: unknown): Fallback {
  const body = e instanceof ApiError && isObject(e.body) ? e.body : {};
  const message = (typeof body.message === 'string' && body.message) || (e instanceof Error ? e.message : '');
  const reason = typeof body.reason === 'string' ? body.reason : Array.isArray(body.errors) ? 'invalid' : 'error';
  return { reason, message, articles: articlesOf(body.articles) };
}

async function outcome<T>(call: Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await call };
  } catch (e) {
    return { ok: false, fallback: fallbackOf(e) };
  }
}

/** One of the assistant's actions (Chatwoot's `process_event`). */
export function ask(hookId: number, name: EventName, data: EventData): Promise<Outcome<Answer>> {
  return outcome(
    post<Answer>(acc(`/integrations/hooks/${hookId}/process_event`), { event: { name, data } }).then((a) => ({ ...a, articles: articlesOf(a.articles) })),
  );
}

export interface Translated {
  content: string;
  ai_generated: boolean;
  language: string;
}

/** A customer's message in `language`, kept on the message by the server. */
export function translateMessage(conversationId: number, messageId: number, language: string): Promise<Outcome<Translated>> {
  return outcome(post<Translated>(acc(`/conversations/${conversationId}/messages/${messageId}/translate`), { target_language: language }));
}

// ------------------------------------------------------------------ texts and languages

/** A language code as the server keeps it (`pt_br` → `pt-BR`, `PL` → `pl`). */
export function normaliseLanguage(code: string): string {
  const lower = code.trim().toLowerCase().replace(/_/g, '-');
  const [base, region] = lower.split('-', 2);
  return region ? `${base}-${region.toUpperCase()}` : (base ?? '');
}

/** The translations kept on a message (`content_attributes.translations`), the language
 * `first` (the agent's) first, then by code. */
export function translationsOf(attributes: unknown, first?: string): [string, string][] {
  const kept = isObject(attributes) && isObject(attributes.translations) ? attributes.translations : {};
  const mine = first ? normaliseLanguage(first) : '';
  return Object.entries(kept)
    .filter((e): e is [string, string] => typeof e[1] === 'string' && e[1].trim() !== '')
    .sort(([a], [b]) => (a === mine ? -1 : b === mine ? 1 : a.localeCompare(b)));
}

/** What a message sent with its original carries: the agent's own words, in their language. */
export function withOriginal(language: string, original: string): { translations: Record<string, string> } {
  return { translations: { [normaliseLanguage(language)]: original } };
}

/** The draft with a suggestion put in: the suggestion alone for an empty draft, else after it. */
export function insertText(draft: string, text: string): string {
  return draft.trim() ? `${draft.trimEnd()}\n\n${text}` : text;
}

/** The draft with a line added below it (an article's link). */
export function appendLine(draft: string, line: string): string {
  return draft.trim() ? `${draft.trimEnd()}\n${line}` : line;
}

/** An article as the composer inserts it (as "Insert article" does). */
export function articleLine(a: Pick<ArticleRef, 'title' | 'url'>): string {
  return `${a.title}: ${a.url}`;
}

/** Cited articles first, in the server's order otherwise. */
export function citedFirst(articles: readonly ArticleRef[]): ArticleRef[] {
  return [...articles].sort((a, b) => Number(b.cited) - Number(a.cited));
}

/** Whether the failure means conversations of this inbox may not be sent (the controls that
 * read the conversation are then put away). */
export const isCustomerDataOff = (f: Fallback) => f.reason === 'customer_data_off';

// ------------------------------------------------------------------ the settings form

export interface SettingsDraft {
  enabled: boolean;
  base_url: string;
  model: string;
  embedding_model: string;
  /** A new key typed (empty: keep the one kept). */
  api_key: string;
  /** Remove the kept key on save. */
  remove_key: boolean;
  timeout_seconds: string;
  inbox_ids: number[];
}

export function draftOf(hook: Hook | null): SettingsDraft {
  const s = hook?.settings;
  return {
    enabled: hook?.status ?? true,
    base_url: s?.base_url ?? DEFAULT_BASE_URL,
    model: s?.model ?? DEFAULT_MODEL,
    embedding_model: s?.embedding_model ?? '',
    api_key: '',
    remove_key: false,
    timeout_seconds: String(s?.timeout_seconds ?? DEFAULT_TIMEOUT),
    inbox_ids: [...(s?.customer_data_inbox_ids ?? [])],
  };
}

/** A whole number as typed, or the text itself (the server names what is wrong with it). */
function wholeNumber(text: string): number | string {
  const n = Number(text.trim());
  return text.trim() !== '' && Number.isInteger(n) ? n : text;
}

const sameIds = (a: readonly number[], b: readonly number[]) => a.length === b.length && [...a].sort().join() === [...b].sort().join();

/** The body that saves `draft`: everything for a new hook; for `hook`, only what changed (an
 * omitted `api_key` keeps the key, `null` removes it). */
export function hookBody(draft: SettingsDraft, hook: Hook | null): { app_id?: string; status: 0 | 1; settings: Record<string, unknown> } {
  const s = hook?.settings;
  const settings: Record<string, unknown> = {};
  const set = (name: string, value: unknown, before: unknown) => {
    if (!s || value !== before) settings[name] = value;
  };
  set('base_url', draft.base_url.trim(), s?.base_url);
  set('model', draft.model.trim(), s?.model);
  const embedding = draft.embedding_model.trim() || null;
  if (embedding !== null || (s && s.embedding_model)) set('embedding_model', embedding, s?.embedding_model ?? null);
  set('timeout_seconds', wholeNumber(draft.timeout_seconds), s?.timeout_seconds);
  if (!s || !sameIds(draft.inbox_ids, s.customer_data_inbox_ids)) settings.customer_data_inbox_ids = [...draft.inbox_ids];
  if (draft.api_key.trim()) settings.api_key = draft.api_key.trim();
  else if (draft.remove_key && s?.api_key_set) settings.api_key = null;
  const status = draft.enabled ? 1 : 0;
  return hook ? { status, settings } : { app_id: APP_ID, status, settings };
}

/** A 422's field errors by setting (`settings.base_url` → `base_url`; `status` stays). */
export function settingErrors(errors: readonly { field: string; message: string }[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of errors) {
    const name = e.field.replace(/^settings\./, '').replace(/\[\d+\]$/, '');
    out[name] = out[name] ? `${out[name]}; ${e.message}` : e.message;
  }
  return out;
}

export function saveHook(draft: SettingsDraft, hook: Hook | null): Promise<Hook> {
  const body = hookBody(draft, hook);
  return hook ? patch<Hook>(acc(`/integrations/hooks/${hook.id}`), body) : post<Hook>(acc('/integrations/hooks'), body);
}

export function deleteHook(id: number): Promise<unknown> {
  return del(acc(`/integrations/hooks/${id}`));
}
