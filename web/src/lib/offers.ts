// Conversations offered to me (offer/accept routing) as the tray shows them: the pending offers
// of the current account, soonest to expire first, each counting down to the server-given
// `expires_at`. Pure (no DOM, no timers: the caller passes the clock — the server's, in
// milliseconds), unit-tested in tests/unit/offers.test.mjs.
import type { ChannelKind, Offer } from './types';

const KINDS: readonly string[] = ['call', 'chat', 'messaging', 'email', 'other'];

/** An offer on screen. */
export interface Held extends Offer {
  /** The seconds its countdown spans: what was left when it was first seen. */
  total: number;
}

const isId = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

/** An offer from a frame or from `GET …/routing/offers`, or null when it is not one (an
 * unknown kind counts as `other`). */
export function parseOffer(value: unknown): Offer | null {
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  if (!isId(v.conversation_id) || typeof v.expires_at !== 'number' || !Number.isFinite(v.expires_at)) return null;
  const kind = typeof v.channel_kind === 'string' && KINDS.includes(v.channel_kind) ? (v.channel_kind as ChannelKind) : 'other';
  return {
    conversation_id: v.conversation_id,
    expires_at: v.expires_at,
    inbox_id: typeof v.inbox_id === 'number' ? v.inbox_id : 0,
    contact_name: typeof v.contact_name === 'string' && v.contact_name.trim() ? v.contact_name : null,
    channel_kind: kind,
  };
}

/** Whole seconds left to answer (rounded up: 0 only once expired). */
export function secondsLeft(offer: Offer, now: number): number {
  return Math.max(0, Math.ceil((offer.expires_at * 1000 - now) / 1000));
}

/** The share of its time left, 0–1 (the countdown bar). */
export function shareLeft(offer: Held, now: number): number {
  if (offer.total <= 0) return 0;
  return Math.min(1, Math.max(0, (offer.expires_at * 1000 - now) / (offer.total * 1000)));
}

const order = (a: Offer, b: Offer) => a.expires_at - b.expires_at || a.conversation_id - b.conversation_id;

function hold(offer: Offer, now: number, before?: Held): Held {
  const total = before && before.expires_at === offer.expires_at ? before.total : secondsLeft(offer, now);
  return { ...offer, total };
}

/** The list with this offer (new, or replacing one of the same conversation); an offer
 * already expired is not added. */
export function addOffer(list: readonly Held[], offer: Offer, now: number): Held[] {
  const rest = list.filter((o) => o.conversation_id !== offer.conversation_id);
  if (secondsLeft(offer, now) === 0) return rest;
  const before = list.find((o) => o.conversation_id === offer.conversation_id);
  return [...rest, hold(offer, now, before)].sort(order);
}

/** The list without the offer of this conversation (answered or withdrawn). */
export function removeOffer(list: readonly Held[], conversationId: number): Held[] {
  return list.filter((o) => o.conversation_id !== conversationId);
}

/** The offers not expired at `now`: the same list when none expired (nothing to redraw). */
export function pendingOffers(list: Held[], now: number): Held[] {
  return list.every((o) => secondsLeft(o, now) > 0) ? list : list.filter((o) => secondsLeft(o, now) > 0);
}

/** The server's list, as answered to a request sent while frames kept coming: its offers,
 * except those withdrawn or answered here since the request (`dropped`), and the offers that
 * came by frame since (`added`) it does not have yet. Expired ones are left out. */
export function reconcile(
  list: readonly Held[],
  answer: readonly Offer[],
  added: ReadonlySet<number>,
  dropped: ReadonlySet<number>,
  now: number,
): Held[] {
  const kept = answer
    .filter((o) => !dropped.has(o.conversation_id))
    .map((o) => hold(o, now, list.find((x) => x.conversation_id === o.conversation_id)));
  const since = list.filter((o) => added.has(o.conversation_id) && !kept.some((k) => k.conversation_id === o.conversation_id));
  return [...kept, ...since].filter((o) => secondsLeft(o, now) > 0).sort(order);
}

/** The offers of `after` that `before` did not have (to announce). */
export function newOffers(before: readonly Offer[], after: readonly Held[]): Held[] {
  return after.filter((o) => !before.some((b) => b.conversation_id === o.conversation_id));
}
