// Calls from the website widget as the agent's app reads them: a ringing call from its
// `call_incoming` frame, and the talk time shown during a call. Pure (no DOM, no timers),
// unit-tested in tests/unit/webcalls.test.mjs.

/** A call ringing in my app. */
export interface IncomingCall {
  id: number;
  accountId: number;
  /** The caller's conversation (its display id), when known. */
  conversationId: number | null;
  video: boolean;
  /** The visitor's name, and the website inbox's. */
  caller: string;
  inboxName: string;
  /** When it stops ringing here (ms since the epoch, the server's clock). */
  expiresAt: number;
  iceServers: RTCIceServer[];
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const isId = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

/** Reads a `call_incoming` frame, or null when it is not a well-formed one. */
export function parseIncoming(frame: unknown): IncomingCall | null {
  if (!isRecord(frame) || frame.type !== 'call_incoming' || !isRecord(frame.call)) return null;
  const c = frame.call;
  if (!isId(c.id) || !isId(frame.account_id) || typeof c.expires_at !== 'number') return null;
  const servers = Array.isArray(frame.ice_servers) ? frame.ice_servers.filter(isIceServer) : [];
  return {
    id: c.id,
    accountId: frame.account_id,
    conversationId: isId(c.conversation_id) ? c.conversation_id : null,
    video: c.medium === 'web_video',
    caller: typeof c.contact_name === 'string' ? c.contact_name.trim() : '',
    inboxName: typeof c.inbox_name === 'string' ? c.inbox_name : '',
    expiresAt: c.expires_at * 1000,
    iceServers: servers,
  };
}

function isIceServer(v: unknown): v is RTCIceServer {
  if (!isRecord(v)) return false;
  const urls = v.urls;
  return typeof urls === 'string' || (Array.isArray(urls) && urls.every((u) => typeof u === 'string'));
}

/** A call's talk time as m:ss (h:mm:ss past an hour). */
export function talkTime(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}
