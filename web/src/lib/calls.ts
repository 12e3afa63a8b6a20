// Phone calls an agent places (their own phone rings first, then the customer's) and customers
// waiting to be called back (`…/calls`, `…/callback_requests`): the views, the callbacks
// screen's query, its "note a callback request" form as the server's body with the server's
// checks, why a call could not be placed, as a catalogue key, and the wrap-up after a call (its
// disposition and notes: who may write it, the form's checks and body, the server's refusals by
// field). Pure functions (no Svelte, no DOM), unit-tested in tests/unit/calls.test.mjs.

export type CallOutcome = 'answered' | 'missed' | 'abandoned' | 'voicemail' | 'callback';
/** How a call reaches us: a phone line, or the website widget (voice, or voice and video). */
export type CallMedium = 'phone' | 'web_voice' | 'web_video';

/** Whether a call came from the website widget (its `from_number` is then the visitor's name
 * and its `to_number` the inbox's, not numbers). */
export function isWebCall(call: { medium?: string | null }): boolean {
  return call.medium === 'web_voice' || call.medium === 'web_video';
}

/** A call (`GET/POST …/calls`); times in Unix seconds. */
export interface CallView {
  id: number;
  inbox_id: number;
  /** The conversation's display id. */
  conversation_id: number | null;
  contact_id: number | null;
  call_sid: string;
  direction: 'inbound' | 'outbound';
  /** A phone number; for a web call (see `medium`) the visitor's name. */
  from_number: string;
  /** A phone number; for a web call the inbox's name. */
  to_number: string;
  /** phone, web_voice or web_video (absent from servers before web calls: phone). */
  medium?: CallMedium;
  status: string;
  outcome: CallOutcome | null;
  team_id: number | null;
  agent_id: number | null;
  started_at: number;
  answered_at: number | null;
  ended_at: number | null;
  duration: number | null;
  wait_seconds: number | null;
  voicemail_message_id: number | null;
  /** The wrap-up: how the call went, in the team's words, and the agent's notes. */
  disposition: string | null;
  wrap_up_notes: string | null;
  /** Who wrote the wrap-up last, and when. */
  wrapped_up_by: number | null;
  wrapped_up_at: number | null;
  /** An answered call's recording (MP3), a same-origin path played with the session; null when
   * it was not recorded. */
  recording_url: string | null;
  /** The recording's length in seconds. */
  recording_duration: number | null;
}

export type CallbackStatus = 'waiting' | 'called' | 'canceled';
export type CallbackSource = 'ivr' | 'widget' | 'agent';
/** What the callbacks screen shows: one status, or all. */
export const CALLBACK_FILTERS = ['waiting', 'called', 'canceled', 'all'] as const;
export type CallbackFilter = (typeof CALLBACK_FILTERS)[number];

/** A customer who asked to be called back (`…/callback_requests`); times in Unix seconds. */
export interface CallbackView {
  id: number;
  inbox_id: number;
  contact_id: number | null;
  /** The conversation's display id. */
  conversation_id: number | null;
  phone_number: string;
  source: CallbackSource;
  note: string | null;
  /** When the customer would like the call; null: as soon as possible. */
  preferred_at: number | null;
  status: CallbackStatus;
  requested_at: number;
  /** The agent who noted it (source agent). */
  created_by: number | null;
  from_call_id: number | null;
  /** The call placed for it. */
  call_id: number | null;
}

/** The list's path under the account: one status (the waiting first, as they are due), or all. */
export function callbacksPath(filter: CallbackFilter): string {
  return `/callback_requests?status=${filter}`;
}

/** A filter as the address or a select gives it; anything else is the waiting. */
export function filterOf(raw: unknown): CallbackFilter {
  return (CALLBACK_FILTERS as readonly unknown[]).includes(raw) ? (raw as CallbackFilter) : 'waiting';
}

/** Whether an inbox is a phone line (a Twilio number taking calls: it has a Voice URL). */
export function isPhoneLine(inbox: { provider_voice_url?: string | null | undefined }): boolean {
  return Boolean(inbox.provider_voice_url);
}

/** The longest note the server keeps. */
export const MAX_NOTE = 1000;

/** The form noting a callback request. */
export interface CallbackDraft {
  phone: string;
  /** A `datetime-local` value ('' for as soon as possible), in the agent's time zone. */
  preferredAt: string;
  note: string;
}

export type DraftField = 'phone_number' | 'preferred_at' | 'note';
export type DraftProblem = 'blank' | 'international' | 'time' | 'too_long';

/** What is wrong with a number as the server checks it: given, and international ("+", the
 * country code and the number: 8 to 15 digits, spaces, dots, dashes and brackets allowed). */
export function checkPhone(raw: string): 'blank' | 'international' | null {
  const p = raw.trim();
  if (!p) return 'blank';
  if (!p.startsWith('+') || !/^\+[\d\s().-]+$/.test(p)) return 'international';
  const digits = p.replace(/\D/g, '').length;
  return digits >= 8 && digits <= 15 ? null : 'international';
}

/** A `datetime-local` value (`YYYY-MM-DDTHH:MM[:SS]`, the agent's time) as Unix seconds; null
 * when empty or not such a value. */
export function unixOfLocal(value: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value.trim());
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map((x) => Number(x ?? 0)) as [number, number, number, number, number, number];
  const date = new Date(y, mo - 1, d, h, mi, s);
  // A day that does not exist (31 April) rolls over: refused.
  if (date.getFullYear() !== y || date.getMonth() !== mo - 1 || date.getDate() !== d) return null;
  return Math.floor(date.getTime() / 1000);
}

/** The times the server takes (from 2000 to 2100, as Unix seconds). */
const EARLIEST = 946_684_800;
const LATEST = 4_102_444_800;

/** The client's checks of the form, as the server makes them; empty when all pass. */
export function checkCallback(d: CallbackDraft): Partial<Record<DraftField, DraftProblem>> {
  const out: Partial<Record<DraftField, DraftProblem>> = {};
  const phone = checkPhone(d.phone);
  if (phone) out.phone_number = phone;
  if (d.preferredAt.trim()) {
    const at = unixOfLocal(d.preferredAt);
    if (at === null || at < EARLIEST || at >= LATEST) out.preferred_at = 'time';
  }
  if (d.note.trim().length > MAX_NOTE) out.note = 'too_long';
  return out;
}

/** The POST body: the number trimmed, the preferred time and the note only when given. */
export function callbackBody(d: CallbackDraft): { phone_number: string; preferred_at?: number; note?: string } {
  const body: { phone_number: string; preferred_at?: number; note?: string } = { phone_number: d.phone.trim() };
  const at = d.preferredAt.trim() ? unixOfLocal(d.preferredAt) : null;
  if (at !== null) body.preferred_at = at;
  if (d.note.trim()) body.note = d.note.trim();
  return body;
}

/** Why a call was not placed: a catalogue key's last part (`calls.failed.<reason>`). */
export type CallFailure =
  | 'no_agent_phone' | 'no_customer_phone' | 'bad_number' | 'no_line' | 'taken' | 'provider' | 'not_found' | 'other';

/** The reason of a refused `POST …/calls`, from its status and field errors: 422 with no field
 * is the agent's own phone missing from their profile; 409 a callback request called or
 * canceled already; 502 the provider (Twilio) refusing. */
export function callFailure(status: number | undefined, fields: readonly { field: string; code: string }[]): CallFailure {
  if (status === 409) return 'taken';
  if (status === 502) return 'provider';
  if (status === 404) return 'not_found';
  if (status !== 422) return 'other';
  if (!fields.length) return 'no_agent_phone';
  const phone = fields.find((f) => f.field === 'phone_number');
  if (phone) return phone.code === 'blank' ? 'no_customer_phone' : 'bad_number';
  if (fields.some((f) => f.field === 'inbox_id')) return 'no_line';
  return 'other';
}

/** The waiting request of a list after it was called or canceled: gone from the waiting list,
 * replaced by its new state in the others. */
export function afterChange(list: readonly CallbackView[], changed: CallbackView, filter: CallbackFilter): CallbackView[] {
  const shown = filter === 'all' || filter === changed.status;
  return shown ? list.map((x) => (x.id === changed.id ? changed : x)) : list.filter((x) => x.id !== changed.id);
}

// ---------------------------------------------------------------------------------------------
// The wrap-up after a call (`PATCH …/calls/{id}`): its disposition and notes

/** The dispositions offered as suggestions (catalogue keys `wrap_up.choice.<name>`); any other
 * words may be typed. */
export const DISPOSITIONS = ['resolved', 'follow_up', 'sale', 'complaint', 'wrong_number', 'transferred'] as const;
/** The longest disposition and notes the server keeps, in characters. */
export const MAX_DISPOSITION = 64;
export const MAX_WRAP_UP_NOTES = 4000;

export interface WrapUpDraft {
  disposition: string;
  notes: string;
}
export type WrapUpField = 'disposition' | 'notes';

/** Who may wrap a call up: the agent who took it, or a supervisor or an administrator. */
export function mayWrapUp(call: { agent_id?: number | null }, userId: number | null | undefined, supervises: boolean): boolean {
  return supervises || (userId != null && call.agent_id != null && call.agent_id === userId);
}

/** The form for a call's wrap-up as stored (none yet: empty). */
export function wrapUpDraftOf(call: { disposition?: string | null; wrap_up_notes?: string | null }): WrapUpDraft {
  return { disposition: call.disposition ?? '', notes: call.wrap_up_notes ?? '' };
}

/** Characters as the server counts them (code points, not UTF-16 units). */
const length = (s: string) => [...s].length;

/** The client's checks, as the server makes them (trimmed, at most so many characters); empty
 * when both pass. */
export function checkWrapUp(d: WrapUpDraft): Partial<Record<WrapUpField, 'too_long'>> {
  const out: Partial<Record<WrapUpField, 'too_long'>> = {};
  if (length(d.disposition.trim()) > MAX_DISPOSITION) out.disposition = 'too_long';
  if (length(d.notes.trim()) > MAX_WRAP_UP_NOTES) out.notes = 'too_long';
  return out;
}

/** The PATCH body: both fields, trimmed (an emptied one clears what was stored). */
export function wrapUpBody(d: WrapUpDraft): { disposition: string; notes: string } {
  return { disposition: d.disposition.trim(), notes: d.notes.trim() };
}

/** The server's refusals placed by the field they name; the rest (a 403's words…) apart. */
export function wrapUpErrors(errors: readonly { field: string; message: string }[]): { fields: Partial<Record<WrapUpField, string>>; rest: string[] } {
  const out: { fields: Partial<Record<WrapUpField, string>>; rest: string[] } = { fields: {}, rest: [] };
  for (const e of errors) {
    const field = e.field === 'disposition' || e.field === 'notes' || e.field === 'wrap_up_notes' ? (e.field === 'disposition' ? 'disposition' : 'notes') : null;
    if (field) out.fields[field] = out.fields[field] ? `${out.fields[field]}; ${e.message}` : e.message;
    else out.rest.push(e.message);
  }
  return out;
}
