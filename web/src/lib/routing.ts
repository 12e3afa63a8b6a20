// Routing as the screens show it: channel kinds, queues as form values, skill names, waiting
// times and today's service level. Pure functions (no Svelte, no DOM), unit-tested in
// tests/unit/routing.test.mjs.
import type { Capacity, CapacityOverride, ChannelKind, LiveWaiting, QueueRef } from './types';

export const KINDS: readonly ChannelKind[] = ['call', 'chat', 'messaging', 'email', 'other'];
/** What a call in progress can keep away (a call always keeps other calls away). */
export const BLOCKABLE: readonly ChannelKind[] = ['chat', 'messaging', 'email', 'other'];
/** The language skills offered as quick picks (the app's languages). */
export const LANGUAGE_SKILLS = ['lang:en', 'lang:pt-BR', 'lang:pl'] as const;
export const LEVELS = [1, 2, 3, 4, 5] as const;

const SKILL_NAME = /^[A-Za-z0-9:._-]{1,64}$/;

/** A skill name the server accepts: 1–64 letters, digits, ':', '-', '_' or '.'. */
export function isSkillName(name: string): boolean {
  return SKILL_NAME.test(name);
}

/** A queue as a select's value: `team:3`, `inbox:1`. */
export function queueKey(queue: QueueRef | null | undefined): string {
  return queue ? `${queue.type}:${queue.id}` : '';
}

export function parseQueueKey(key: string): QueueRef | null {
  const m = /^(team|inbox):(\d+)$/.exec(key);
  return m ? { type: m[1] as QueueRef['type'], id: Number(m[2]) } : null;
}

/** Seconds as the live view counts them: `0:07`, `12:05`, `1:02:03`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}

/** The waiting conversations, longest waiting first (then by display id, for a stable order). */
export function oldestFirst(waiting: readonly LiveWaiting[]): LiveWaiting[] {
  return [...waiting].sort((a, b) => a.waiting_since - b.waiting_since || a.id - b.id);
}

/** The share answered within the target: the server's figure, else answered ones' share;
 * null when nothing was answered. */
export function serviceLevel(answeredWithin: number, answered: number, given?: number | null): number | null {
  if (typeof given === 'number' && Number.isFinite(given)) return Math.min(1, Math.max(0, given));
  return answered > 0 ? Math.min(1, answeredWithin / answered) : null;
}

/** An agent's load of a kind against their capacity, as `1/4`. */
export function loadText(load: Partial<Capacity>, capacity: Partial<Capacity>, kind: ChannelKind): string {
  return `${load[kind] ?? 0}/${capacity[kind] ?? 0}`;
}

/** Capacity overrides as a form edits them ('' = the account's default) and back. */
export function overrideFields(capacity: Partial<CapacityOverride> | null | undefined): Record<ChannelKind, string> {
  const fields = {} as Record<ChannelKind, string>;
  for (const k of KINDS) {
    const v = capacity?.[k];
    fields[k] = typeof v === 'number' ? String(v) : '';
  }
  return fields;
}

export function overrideValues(fields: Record<ChannelKind, string | number | null>): CapacityOverride {
  const capacity = {} as CapacityOverride;
  for (const k of KINDS) {
    const v = fields[k];
    capacity[k] = v === '' || v === null || v === undefined || Number.isNaN(Number(v)) ? null : Number(v);
  }
  return capacity;
}
