// A website inbox's calls from the widget (WebRTC) as Settings → Inboxes edits them: whether
// visitors may call, with their camera or not, how long each agent's app rings, and the STUN/TURN
// servers browsers use to reach each other — the inbox's `web_calls`
// (crates/core/src/voice/web_call.rs `WebCallSettings`). The form keeps the servers as rows (the
// URLs of one server in one field, separated by spaces or commas); the body sent is the server's
// shape; the client checks what the server checks; the server's refusals
// (`channel.web_calls.ice_servers[0].credential`…) are placed by the row they name.
// Pure functions (no Svelte, no DOM), unit-tested in tests/unit/web_call_settings.test.mjs.
import { placeErrors as placeRowErrors, type Place as RowPlace, type PlacedErrors as RowErrors } from './row_errors';

export const DEFAULT_RING_SECONDS = 20;
export const MIN_RING_SECONDS = 10;
export const MAX_RING_SECONDS = 60;
/** The most servers, and the most URLs of one server, the server keeps. */
export const MAX_SERVERS = 10;
export const MAX_URLS = 10;
/** The longest URL, username or credential the server keeps, in bytes (UTF-8). */
export const MAX_TEXT = 512;
/** The schemes browsers take for ICE servers. */
export const SCHEMES = ['stun', 'stuns', 'turn', 'turns'] as const;

/** One STUN or TURN server being edited; `uid` keys it in the list (rows move when one is removed). */
export interface ServerRowDraft {
  uid: number;
  /** One or more URLs, separated by spaces, commas or line breaks. */
  urls: string;
  username: string;
  credential: string;
}

export interface WebCallsDraft {
  enabled: boolean;
  video: boolean;
  /** Visitors may ask to be called back on the phone. */
  callbacks: boolean;
  /** A number input's value: a number, or '' / null when emptied. */
  ring_seconds: number | string | null;
  servers: ServerRowDraft[];
}

/** A server as browsers take it (`RTCIceServer`) and the server keeps it. */
export interface IceServer {
  urls: string[];
  username?: string;
  credential?: string;
}

/** The `web_calls` setting as the server takes and keeps it. */
export interface WebCallSettings {
  enabled: boolean;
  video: boolean;
  callbacks: boolean;
  ring_seconds: number;
  ice_servers: IceServer[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (v: unknown): string => (typeof v === 'string' ? v : '');

let nextUid = 1;

/** A new, empty server row. */
export function newServerRow(): ServerRowDraft {
  return { uid: nextUid++, urls: '', username: '', credential: '' };
}

/** The form for an inbox's stored `web_calls` (absent or unreadable: calls off, the defaults). */
export function draftOf(raw: unknown): WebCallsDraft {
  const v = isObject(raw) ? raw : {};
  const ring = typeof v.ring_seconds === 'number' && Number.isInteger(v.ring_seconds) && v.ring_seconds > 0 ? v.ring_seconds : DEFAULT_RING_SECONDS;
  const servers = Array.isArray(v.ice_servers) ? v.ice_servers.filter(isObject) : [];
  return {
    enabled: v.enabled === true,
    video: v.video === true,
    callbacks: v.callbacks === true,
    ring_seconds: ring,
    servers: servers.map((s) => ({
      uid: nextUid++,
      urls: (Array.isArray(s.urls) ? s.urls.map(text) : [text(s.urls)]).filter((u) => u.trim()).join(' '),
      username: text(s.username),
      credential: text(s.credential),
    })),
  };
}

/** The URLs of a row's field: split on spaces, commas and line breaks, the empty ones left out. */
export function urlsOf(field: string): string[] {
  return field.split(/[\s,]+/).filter(Boolean);
}

/** Whether a row is left wholly empty (not sent: an added row nobody filled). */
export function isBlankRow(r: ServerRowDraft): boolean {
  return !r.urls.trim() && !r.username && !r.credential;
}

/** The seconds as a whole number (null when not one). */
export function secondsOf(v: WebCallsDraft['ring_seconds']): number | null {
  if (v === null || (typeof v === 'string' && !v.trim())) return null;
  const n = Number(v);
  return Number.isInteger(n) ? n : null;
}

/** The setting to send, and the uids of the rows sent in order — row i is `ice_servers[i]`,
 * so the server's refusals can be placed by the row they name. Wholly empty rows are left out;
 * an empty username or credential is not sent. */
export function webCallsBody(d: WebCallsDraft): { web_calls: WebCallSettings; sent: number[] } {
  const rows = d.servers.filter((r) => !isBlankRow(r));
  return {
    web_calls: {
      enabled: d.enabled,
      video: d.video,
      callbacks: d.callbacks,
      ring_seconds: secondsOf(d.ring_seconds) ?? DEFAULT_RING_SECONDS,
      ice_servers: rows.map((r) => ({
        urls: urlsOf(r.urls),
        ...(r.username ? { username: r.username } : {}),
        ...(r.credential ? { credential: r.credential } : {}),
      })),
    },
    sent: rows.map((r) => r.uid),
  };
}

/** A row's controls. */
export type RowPart = 'urls' | 'username' | 'credential';
/** The form's fields outside the rows, each named as the server names it (`channel.web_calls.<name>`). */
export const FIELDS = ['enabled', 'video', 'callbacks', 'ring_seconds', 'ice_servers'] as const;
export type FieldName = (typeof FIELDS)[number];
export type CheckCode =
  | 'ring_seconds' | 'too_many_servers' | 'no_url' | 'bad_url' | 'too_many_urls' | 'turn_username' | 'turn_credential' | 'too_long';

export interface WebCallsProblems {
  /** By row uid, by control. */
  rows: Record<number, Partial<Record<RowPart, CheckCode>>>;
  fields: Partial<Record<FieldName, CheckCode>>;
}

const bytes = (s: string) => new TextEncoder().encode(s).length;

/** Whether `url` is a STUN or TURN URL as the server takes it (`stun:host:port`,
 * `turn:host:port?transport=udp`…): a known scheme, something after it, no spaces. */
export function isIceUrl(url: string): boolean {
  const scheme = url.split(':')[0] ?? '';
  const rest = url.slice(scheme.length);
  return (SCHEMES as readonly string[]).includes(scheme) && rest.length >= 2 && bytes(url) <= MAX_TEXT && !/[\s\u0000-\u001f\u007f-\u009f]/.test(url);
}

/** Whether a row's URLs include a TURN server (which needs a username and a credential). */
export function isTurn(r: ServerRowDraft): boolean {
  return urlsOf(r.urls).some((u) => u.startsWith('turn'));
}

/** The client's checks, as the server makes them. Empty when all pass. */
export function checkWebCalls(d: WebCallsDraft): WebCallsProblems {
  const rows: WebCallsProblems['rows'] = {};
  const fields: WebCallsProblems['fields'] = {};
  const put = (uid: number, part: RowPart, code: CheckCode) => ((rows[uid] ??= {})[part] ??= code);
  const s = secondsOf(d.ring_seconds);
  if (s === null || s < MIN_RING_SECONDS || s > MAX_RING_SECONDS) fields.ring_seconds = 'ring_seconds';
  const sent = d.servers.filter((r) => !isBlankRow(r));
  if (sent.length > MAX_SERVERS) fields.ice_servers = 'too_many_servers';
  for (const r of sent) {
    const urls = urlsOf(r.urls);
    if (!urls.length) put(r.uid, 'urls', 'no_url');
    else if (urls.length > MAX_URLS) put(r.uid, 'urls', 'too_many_urls');
    else if (!urls.every(isIceUrl)) put(r.uid, 'urls', 'bad_url');
    if (bytes(r.username) > MAX_TEXT) put(r.uid, 'username', 'too_long');
    if (bytes(r.credential) > MAX_TEXT) put(r.uid, 'credential', 'too_long');
    if (isTurn(r)) {
      if (!r.username) put(r.uid, 'username', 'turn_username');
      if (!r.credential) put(r.uid, 'credential', 'turn_credential');
    }
  }
  return { rows, fields };
}

export function hasProblems(p: WebCallsProblems): boolean {
  return Object.keys(p.rows).length > 0 || Object.keys(p.fields).length > 0;
}

/** Where a refused field belongs: a server row's control, a form field, or nowhere shown. */
export type Place = RowPlace<RowPart, FieldName>;

/** The place of a field the server names (`channel.web_calls.ice_servers[0].credential`; also
 * without `channel.`, as the top-level form is named). A server's own fault names the row
 * alone (`ice_servers[0]`: a URL the server refused) — its URLs. */
export function placeOf(field: string): Place {
  const row = /^(?:channel\.)?web_calls\.ice_servers\[(\d+)\](?:\.(urls|username|credential)\b)?/.exec(field);
  if (row) return { kind: 'row', index: Number(row[1]), part: (row[2] as RowPart | undefined) ?? 'urls' };
  const name = /^(?:channel\.)?web_calls\.([a-z_]+)$/.exec(field)?.[1];
  if (name && (FIELDS as readonly string[]).includes(name)) return { kind: 'field', name: name as FieldName };
  return { kind: 'other' };
}

export type PlacedErrors = RowErrors<RowPart, FieldName>;

/** The server's refusals of a body whose rows were `sent` (uids, row i sent as `ice_servers[i]`), placed. */
export function placeErrors(errors: readonly { field: string; message: string }[], sent: readonly number[]): PlacedErrors {
  return placeRowErrors(errors, placeOf, sent, 'ice_servers');
}
