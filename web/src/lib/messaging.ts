// Messaging channels (WhatsApp, Telegram, SMS, Messenger, Instagram) as the screens show them:
// what a channel recorded about a message, WhatsApp templates and the reply window. Pure
// functions (no Svelte, no DOM), unit-tested in tests/unit/messaging.test.mjs.
import type { ChannelDetails, MessageAttributes, MessageTemplate, SharedLocation } from './types';

/** The details a messaging channel recorded about a message, whichever channel it was. */
export function channelDetails(attributes: MessageAttributes | undefined): ChannelDetails | undefined {
  if (!attributes) return undefined;
  return attributes.whatsapp ?? attributes.telegram ?? attributes.twilio ?? attributes.messenger ?? attributes.instagram;
}

export function isApproved(template: MessageTemplate): boolean {
  return template.status.toUpperCase() === 'APPROVED';
}

/** The text of a template's BODY component (with its `{{1}}` placeholders). */
export function templateBody(template: MessageTemplate): string {
  const components = Array.isArray(template.components) ? template.components : [];
  return components.find((c) => c.type?.toUpperCase() === 'BODY')?.text ?? '';
}

/** The numbers of the `{{n}}` placeholders of a text, each once, in order. */
export function templateParameters(text: string): number[] {
  const found = new Set<number>();
  for (const [, n] of text.matchAll(/\{\{\s*(\d+)\s*\}\}/g)) found.add(Number(n));
  return [...found].sort((a, b) => a - b);
}

/** The text with each `{{n}}` replaced by its value; a placeholder without one stays. */
export function fillTemplate(text: string, values: Record<string, string>): string {
  return text.replace(/\{\{\s*(\d+)\s*\}\}/g, (whole: string, n: string) => {
    const value = values[n];
    return value?.trim() ? value : whole;
  });
}

/** Whole minutes left until `closesAt` (both Unix seconds), rounded up; null once it passed. */
export function timeLeft(closesAt: number, now: number): { hours: number; minutes: number } | null {
  const total = Math.ceil((closesAt - now) / 60);
  if (!(total > 0)) return null;
  return { hours: Math.floor(total / 60), minutes: total % 60 };
}

function coordinate(v: number | string | null | undefined, limit: number): number | null {
  if (v === null || v === undefined || v === '') return null;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) && Math.abs(n) <= limit ? n : null;
}

/** The point of a shared place, when it has valid coordinates. */
export function coordinates(location: SharedLocation): { lat: number; lon: number } | null {
  const lat = coordinate(location.latitude, 90);
  const lon = coordinate(location.longitude, 180);
  return lat === null || lon === null ? null : { lat, lon };
}

/** A plain OpenStreetMap link with a pin at the place (no embedded map, nothing loaded). */
export function mapUrl(location: SharedLocation): string | null {
  const point = coordinates(location);
  return point ? `https://www.openstreetmap.org/?mlat=${point.lat}&mlon=${point.lon}` : null;
}

/** A place's name and address as one line (each channel names them differently). */
export function placeName(location: SharedLocation): string {
  const name = location.name ?? location.title ?? location.label ?? '';
  return [name, location.address ?? ''].map((s) => s.trim()).filter(Boolean).join(', ');
}

export interface ContactCard {
  name: string;
  phones: string[];
  emails: string[];
}

/** The contact cards of a message: WhatsApp's `contacts` list or Telegram's single `contact`. */
export function contactCards(details: ChannelDetails | undefined): ContactCard[] {
  if (!details) return [];
  const cards: ContactCard[] = [];
  for (const c of details.contacts ?? []) {
    const name = c.name?.formatted_name ?? [c.name?.first_name, c.name?.last_name].filter(Boolean).join(' ');
    cards.push({
      name,
      phones: (c.phones ?? []).map((p) => p.phone ?? (p.wa_id ? `+${p.wa_id}` : '')).filter(Boolean),
      emails: (c.emails ?? []).map((e) => e.email ?? '').filter(Boolean),
    });
  }
  const t = details.contact;
  if (t) {
    cards.push({
      name: [t.first_name, t.last_name].filter(Boolean).join(' '),
      phones: t.phone_number ? [t.phone_number] : [],
      emails: [],
    });
  }
  return cards;
}

/** Who wrote a message in a Telegram group (the conversation is the group's; several people
 * write in it); nothing in a private chat. */
export function groupAuthor(details: ChannelDetails | undefined): string | null {
  const type = details?.chat?.type;
  if (!details?.from || !type || type === 'private' || type === 'channel') return null;
  return details.from.name ?? (details.from.username ? `@${details.from.username}` : null);
}
