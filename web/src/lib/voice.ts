// A Twilio SMS inbox's phone settings (issue #19) as Settings → Inboxes edits them: the IVR's
// language, greeting, menu (a key to a team, with a label said per language), the longest
// voicemail, and the call queue (how long a caller waits for an agent, how long each agent's
// phone rings, the hold music, whether callers may press 2 to be called back) and whether
// answered calls are recorded — the inbox's `settings.voice` (crates/core/src/voice/ivr.rs
// `VoiceSettings`). The
// form keeps every language's texts and shows the chosen one's; the body sent is the server's
// shape; the server's refusals (`voice.menu[1].team_id`…) are placed by the row they name.
// Pure functions (no Svelte, no DOM), unit-tested in tests/unit/voice.test.mjs.
import { placeErrors as placeRowErrors, type Place as RowPlace, type PlacedErrors as RowErrors } from './row_errors';

/** The languages the IVR speaks, as the product's locales. */
export const IVR_LANGUAGES = ['en', 'pt-BR', 'pl'] as const;
export type IvrLanguage = (typeof IVR_LANGUAGES)[number];
/** The keys a caller may press. */
export const MENU_KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9'] as const;
export const DEFAULT_VOICEMAIL_SECONDS = 120;
export const MIN_VOICEMAIL_SECONDS = 10;
export const MAX_VOICEMAIL_SECONDS = 600;
/** How long a caller waits in the queue for an agent before voicemail; 0: no queue. */
export const DEFAULT_QUEUE_WAIT_SECONDS = 180;
export const MIN_QUEUE_WAIT_SECONDS = 0;
export const MAX_QUEUE_WAIT_SECONDS = 1800;
/** How long each agent's phone rings before the call goes to the next agent. */
export const DEFAULT_AGENT_RING_SECONDS = 20;
export const MIN_AGENT_RING_SECONDS = 10;
export const MAX_AGENT_RING_SECONDS = 60;
/** The longest hold music address the server keeps. */
export const MAX_URL = 2000;
/** The longest greeting or label the server keeps. */
export const MAX_TEXT = 1000;

/** What callers hear without a greeting of the inbox's own (the server's words, ivr.rs). */
const DEFAULT_GREETINGS: Record<IvrLanguage, string> = {
  en: 'Thank you for calling {name}.',
  'pt-BR': 'Obrigado por ligar para {name}.',
  pl: 'Dziękujemy za telefon do {name}.',
};

export function defaultGreeting(language: IvrLanguage, inboxName: string): string {
  return DEFAULT_GREETINGS[language].replace('{name}', inboxName);
}

/** One menu option being edited; `uid` keys it in the list (rows move when one is removed). */
export interface MenuRowDraft {
  uid: number;
  digit: string;
  team_id: number | null;
  /** Per language; languages not shown are kept as they were. */
  label: Record<string, string>;
}

export interface VoiceDraft {
  language: IvrLanguage;
  greeting: Record<string, string>;
  menu: MenuRowDraft[];
  /** A number input's value: a number, or '' / null when emptied. */
  voicemail_max_seconds: number | string | null;
  queue_max_wait_seconds: number | string | null;
  agent_ring_seconds: number | string | null;
  /** An http(s) audio file's address; '' for none (silence, the place in line told). */
  hold_music_url: string;
  /** Callers about to queue may press 2 to be called back instead, keeping their place. */
  offer_callback: boolean;
  /** Answered calls are recorded (callers hear "This call may be recorded" after the greeting). */
  record_calls: boolean;
  /** The stored settings this form does not edit (a newer server's), sent back as they were. */
  others: Record<string, unknown>;
}

/** The `voice` settings as the server takes and keeps them. */
export interface VoiceSettings {
  language: IvrLanguage;
  greeting: Record<string, string>;
  menu: { digit: string; team_id: number; label: Record<string, string> }[];
  voicemail_max_seconds: number;
  queue_max_wait_seconds: number;
  agent_ring_seconds: number;
  /** null: no hold music. */
  hold_music_url: string | null;
  offer_callback: boolean;
  record_calls: boolean;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A language as the server accepts it (`pt_BR`, `pt-br`, Twilio's `en-US`, `pl-PL`), or null. */
export function languageOf(raw: unknown): IvrLanguage | null {
  if (typeof raw !== 'string') return null;
  const l = raw.trim().toLowerCase().replace('_', '-');
  if (l === 'en' || l === 'en-us') return 'en';
  if (l === 'pt-br') return 'pt-BR';
  if (l === 'pl' || l === 'pl-pl') return 'pl';
  return null;
}

/** Texts per language from the stored settings: known languages, text values only. */
function textsOf(raw: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isObject(raw)) return out;
  for (const [k, v] of Object.entries(raw)) {
    const lang = languageOf(k);
    if (lang && typeof v === 'string') out[lang] = v;
  }
  return out;
}

let nextUid = 1;

/** A new option: the first key no row uses (or 1), no team yet. */
export function newRow(menu: readonly MenuRowDraft[]): MenuRowDraft {
  return { uid: nextUid++, digit: freeKey(menu) ?? '1', team_id: null, label: {} };
}

/** The first key no row uses, or null when all nine are. */
export function freeKey(menu: readonly MenuRowDraft[]): string | null {
  return MENU_KEYS.find((k) => !menu.some((r) => r.digit === k)) ?? null;
}

/** The keys of `settings.voice` the form edits. */
const EDITED = new Set([
  'language', 'greeting', 'menu', 'voicemail_max_seconds', 'queue_max_wait_seconds', 'agent_ring_seconds', 'hold_music_url', 'offer_callback', 'record_calls',
]);

/** The form for an inbox's stored `settings.voice` (absent or unreadable: the defaults). */
export function draftOf(raw: unknown): VoiceDraft {
  const v = isObject(raw) ? raw : {};
  const menu = Array.isArray(v.menu) ? v.menu : [];
  const seconds = Number(v.voicemail_max_seconds);
  return {
    language: languageOf(v.language) ?? 'en',
    greeting: textsOf(v.greeting),
    menu: menu.filter(isObject).map((o) => ({
      uid: nextUid++,
      digit: String(o.digit ?? '').trim(),
      team_id: typeof o.team_id === 'number' && o.team_id > 0 ? o.team_id : null,
      label: textsOf(o.label),
    })),
    voicemail_max_seconds: Number.isInteger(seconds) && seconds > 0 ? seconds : DEFAULT_VOICEMAIL_SECONDS,
    queue_max_wait_seconds: storedSeconds(v.queue_max_wait_seconds, 0) ?? DEFAULT_QUEUE_WAIT_SECONDS,
    agent_ring_seconds: storedSeconds(v.agent_ring_seconds, 1) ?? DEFAULT_AGENT_RING_SECONDS,
    hold_music_url: typeof v.hold_music_url === 'string' ? v.hold_music_url.trim() : '',
    // Offered unless turned off (absent or unreadable: the server's default, on).
    offer_callback: v.offer_callback !== false,
    // Recorded only when turned on (absent or unreadable: the server's default, off).
    record_calls: v.record_calls === true,
    others: Object.fromEntries(Object.entries(v).filter(([k]) => !EDITED.has(k))),
  };
}

/** A stored whole number of seconds, at least `min` (absent, null or unreadable: null). */
function storedSeconds(raw: unknown, min: number): number | null {
  if (typeof raw !== 'number' && typeof raw !== 'string') return null;
  if (typeof raw === 'string' && !raw.trim()) return null;
  const n = Number(raw);
  return Number.isInteger(n) && n >= min ? n : null;
}

/** Trimmed texts, the empty ones left out (empty means the product's words). */
function cleanTexts(texts: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(texts)) {
    const lang = languageOf(k);
    if (lang && typeof v === 'string' && v.trim()) out[lang] = v.trim();
  }
  return out;
}

/** The seconds as a number (null when not a whole number). */
export function secondsOf(v: VoiceDraft['voicemail_max_seconds']): number | null {
  if (v === null || v === '') return null;
  const n = Number(v);
  return Number.isInteger(n) ? n : null;
}

/** The PATCH body (`{ voice: … }`), menu rows in the form's order — row i is `voice.menu[i]`;
 * the settings the form does not edit as they were stored. */
export function voiceBody(d: VoiceDraft): { voice: VoiceSettings & Record<string, unknown> } {
  return {
    voice: {
      ...d.others,
      language: d.language,
      greeting: cleanTexts(d.greeting),
      menu: d.menu.map((r) => ({ digit: r.digit, team_id: r.team_id ?? 0, label: cleanTexts(r.label) })),
      voicemail_max_seconds: secondsOf(d.voicemail_max_seconds) ?? DEFAULT_VOICEMAIL_SECONDS,
      queue_max_wait_seconds: secondsOf(d.queue_max_wait_seconds) ?? DEFAULT_QUEUE_WAIT_SECONDS,
      agent_ring_seconds: secondsOf(d.agent_ring_seconds) ?? DEFAULT_AGENT_RING_SECONDS,
      hold_music_url: d.hold_music_url.trim() || null,
      offer_callback: d.offer_callback,
      record_calls: d.record_calls,
    },
  };
}

/** What is wrong with a row, per control. */
export type RowPart = 'digit' | 'team' | 'label';
export type CheckCode =
  | 'duplicate_key' | 'bad_key' | 'no_team' | 'no_label' | 'too_long' | 'seconds' | 'too_many'
  | 'queue_seconds' | 'ring_seconds' | 'url' | 'url_too_long';
/** The form's fields outside the menu rows (each named as the server names it, `voice.<name>`). */
export const FIELDS = [
  'language', 'greeting', 'menu', 'voicemail_max_seconds', 'queue_max_wait_seconds', 'agent_ring_seconds', 'hold_music_url', 'offer_callback', 'record_calls',
] as const;
export type FieldName = (typeof FIELDS)[number];
export interface VoiceProblems {
  /** By row uid, by control. */
  rows: Record<number, Partial<Record<RowPart, CheckCode>>>;
  /** Form-wide: greeting, menu, the seconds, the hold music. */
  fields: Partial<Record<FieldName, CheckCode>>;
}

/** The uids of rows whose key an earlier row already uses. */
export function duplicateKeys(menu: readonly MenuRowDraft[]): number[] {
  const seen = new Set<string>();
  const out: number[] = [];
  for (const r of menu) {
    if (seen.has(r.digit)) out.push(r.uid);
    seen.add(r.digit);
  }
  return out;
}

/** Whether `s` is a whole number from `min` to `max`. */
function within(s: number | null, min: number, max: number): boolean {
  return s !== null && s >= min && s <= max;
}

/** What is wrong with a hold music address as the server checks it (none: empty or fine). */
export function checkHoldMusic(url: string): CheckCode | null {
  const u = url.trim();
  if (!u) return null;
  if (!/^https?:\/\/\S+$/.test(u)) return 'url';
  if (u.length > MAX_URL) return 'url_too_long';
  return null;
}

/** The client's checks, as the server makes them (and a label in the language spoken, which
 * the caller would otherwise hear missing: "For , press 1"). Empty when all pass. */
export function checkVoice(d: VoiceDraft): VoiceProblems {
  const rows: VoiceProblems['rows'] = {};
  const fields: VoiceProblems['fields'] = {};
  const put = (uid: number, part: RowPart, code: CheckCode) => ((rows[uid] ??= {})[part] ??= code);
  const dup = new Set(duplicateKeys(d.menu));
  for (const r of d.menu) {
    if (!(MENU_KEYS as readonly string[]).includes(r.digit)) put(r.uid, 'digit', 'bad_key');
    else if (dup.has(r.uid)) put(r.uid, 'digit', 'duplicate_key');
    if (!r.team_id) put(r.uid, 'team', 'no_team');
    const label = (r.label[d.language] ?? '').trim();
    if (!label) put(r.uid, 'label', 'no_label');
    else if (label.length > MAX_TEXT) put(r.uid, 'label', 'too_long');
  }
  if (d.menu.length > MENU_KEYS.length) fields.menu = 'too_many';
  if (Object.values(d.greeting).some((g) => g.trim().length > MAX_TEXT)) fields.greeting = 'too_long';
  const s = secondsOf(d.voicemail_max_seconds);
  if (!within(s, MIN_VOICEMAIL_SECONDS, MAX_VOICEMAIL_SECONDS)) fields.voicemail_max_seconds = 'seconds';
  if (!within(secondsOf(d.queue_max_wait_seconds), MIN_QUEUE_WAIT_SECONDS, MAX_QUEUE_WAIT_SECONDS)) fields.queue_max_wait_seconds = 'queue_seconds';
  if (!within(secondsOf(d.agent_ring_seconds), MIN_AGENT_RING_SECONDS, MAX_AGENT_RING_SECONDS)) fields.agent_ring_seconds = 'ring_seconds';
  const music = checkHoldMusic(d.hold_music_url);
  if (music) fields.hold_music_url = music;
  return { rows, fields };
}

export function hasProblems(p: VoiceProblems): boolean {
  return Object.keys(p.rows).length > 0 || Object.keys(p.fields).length > 0;
}

/** Where a refused field belongs: a menu row's control, a form field, or nowhere shown. */
export type Place = RowPlace<RowPart, FieldName>;

export function placeOf(field: string): Place {
  const row = /^voice\.menu\[(\d+)\](?:\.(digit|team_id|label)\b)?/.exec(field);
  if (row) {
    const part: RowPart = row[2] === 'team_id' ? 'team' : row[2] === 'label' ? 'label' : row[2] === 'digit' ? 'digit' : 'team';
    return { kind: 'row', index: Number(row[1]), part };
  }
  const name = /^voice\.([a-z_]+)\b/.exec(field)?.[1];
  if (name && (FIELDS as readonly string[]).includes(name)) return { kind: 'field', name: name as FieldName };
  return { kind: 'other' };
}

export type PlacedErrors = RowErrors<RowPart, FieldName>;

/** The server's refusals of a body sent from `menu` (row i sent as `voice.menu[i]`), placed. */
export function placeErrors(errors: readonly { field: string; message: string }[], menu: readonly MenuRowDraft[]): PlacedErrors {
  return placeRowErrors(errors, placeOf, menu.map((r) => r.uid), 'menu');
}
