// Reports → Calls (supervisors and administrators; `GET …/calls/metrics`): the period chosen
// as the server's `since`/`until`, the service level's threshold as typed, the report's query,
// its headline figures (blank where there is nothing to measure) and the table per agent with
// the agents' names, and seconds and shares as the agent's language writes them. Pure functions
// (no Svelte, no DOM: the clock and the locale are passed in), unit-tested in
// tests/unit/call_report.test.mjs.

/** One agent's answered calls. */
export interface AgentCalls {
  agent_id: number;
  calls: number;
  talk_seconds: number;
  average_talk_seconds: number;
}

/** `GET …/calls/metrics`: calls started in [since, until). `answered`…`callback` count the
 * inbound calls that ended; the rates are shares of those (0 when there were none). */
export interface CallMetrics {
  since: number;
  until: number;
  /** The period held more calls than one report reads: the figures are of the first ones. */
  truncated: boolean;
  total: number;
  inbound: number;
  outbound: number;
  answered: number;
  missed: number;
  abandoned: number;
  voicemail: number;
  callback: number;
  answer_rate: number;
  abandon_rate: number;
  average_wait_seconds: number;
  longest_wait_seconds: number;
  service_level: number;
  service_level_seconds: number;
  talk_seconds: number;
  average_talk_seconds: number;
  agents: AgentCalls[];
}

/** The periods offered: since midnight (the agent's time), or the last so many days. The
 * server reads at most a year. */
export const CALL_PERIODS = ['today', '7', '30', '90', '365'] as const;
export type CallPeriod = (typeof CALL_PERIODS)[number];

/** The service level's threshold: the server's default and limits, in seconds. */
export const DEFAULT_SERVICE_LEVEL_SECONDS = 20;
export const MIN_SERVICE_LEVEL_SECONDS = 1;
export const MAX_SERVICE_LEVEL_SECONDS = 3600;

export interface CallReportFilters {
  /** An inbox id, or '' for every inbox. */
  inbox: string;
  period: CallPeriod;
  /** A number input's value: a number, or '' / null when emptied. */
  serviceLevel: number | string | null;
}

/** A period as Unix seconds, `until` exclusive and just past the current second (a call that
 * began a moment ago counts); `today` from the agent's midnight. */
export function periodRange(period: CallPeriod, now: Date): { since: number; until: number } {
  const until = Math.floor(now.getTime() / 1000) + 1;
  if (period === 'today') {
    const midnight = new Date(now.getFullYear(), now.getMonth(), now.getDate());
    return { since: Math.min(Math.floor(midnight.getTime() / 1000), until - 1), until };
  }
  return { since: until - Number(period) * 86_400, until };
}

/** The threshold as typed, when it is a whole number of seconds the server takes; else null. */
export function serviceLevelOf(raw: number | string | null | undefined): number | null {
  if (raw === null || raw === undefined || (typeof raw === 'string' && !raw.trim())) return null;
  const n = Number(raw);
  return Number.isInteger(n) && n >= MIN_SERVICE_LEVEL_SECONDS && n <= MAX_SERVICE_LEVEL_SECONDS ? n : null;
}

/** The report's query (`since`, `until`, `inbox_id`, `service_level_seconds`); null while the
 * threshold is not one the server takes. */
export function callReportQuery(f: CallReportFilters, now: Date): string | null {
  const threshold = serviceLevelOf(f.serviceLevel);
  if (threshold === null) return null;
  const { since, until } = periodRange(f.period, now);
  const q = new URLSearchParams({ since: String(since), until: String(until) });
  if (f.inbox) q.set('inbox_id', f.inbox);
  q.set('service_level_seconds', String(threshold));
  return q.toString();
}

/** The headline figures; null where there is nothing to measure (no inbound call ended: no
 * rates; none answered: no waits; no talk: no average talk). */
export interface Figures {
  inbound: number;
  outbound: number;
  answered: number;
  missed: number;
  abandoned: number;
  voicemail: number;
  callback: number;
  answerRate: number | null;
  abandonRate: number | null;
  serviceLevel: number | null;
  averageWait: number | null;
  longestWait: number | null;
  talk: number;
  averageTalk: number | null;
}

const n = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

export function figuresOf(m: CallMetrics): Figures {
  const ended = n(m.answered) + n(m.missed) + n(m.abandoned) + n(m.voicemail) + n(m.callback);
  const answeredAny = (m.agents ?? []).reduce((sum, a) => sum + n(a.calls), 0) > 0 || n(m.talk_seconds) > 0;
  return {
    inbound: n(m.inbound),
    outbound: n(m.outbound),
    answered: n(m.answered),
    missed: n(m.missed),
    abandoned: n(m.abandoned),
    voicemail: n(m.voicemail),
    callback: n(m.callback),
    answerRate: ended ? n(m.answer_rate) : null,
    abandonRate: ended ? n(m.abandon_rate) : null,
    serviceLevel: ended ? n(m.service_level) : null,
    averageWait: n(m.answered) ? n(m.average_wait_seconds) : null,
    longestWait: n(m.answered) ? n(m.longest_wait_seconds) : null,
    talk: n(m.talk_seconds),
    averageTalk: answeredAny ? n(m.average_talk_seconds) : null,
  };
}

/** An agent of the account, as the reference data lists them. */
export interface AgentRef {
  id: number;
  name?: string | null;
  available_name?: string | null;
}

export interface AgentRow extends AgentCalls {
  /** The agent's name; null for an agent no longer in the account. */
  name: string | null;
}

/** The table per agent: each with their name, the busiest first (then the most talk, then by
 * name, then by id). */
export function agentRows(agents: readonly AgentCalls[] | null | undefined, refs: readonly AgentRef[]): AgentRow[] {
  const named = (id: number) => {
    const a = refs.find((r) => r.id === id);
    return a ? a.available_name || a.name || null : null;
  };
  return (agents ?? [])
    .map((a) => ({ ...a, name: named(a.agent_id) }))
    .sort((a, b) => b.calls - a.calls || b.talk_seconds - a.talk_seconds || (a.name ?? '').localeCompare(b.name ?? '') || a.agent_id - b.agent_id);
}

/** Seconds as the language writes a length of time, rounded to the second: "1 hr 2 min 5 sec",
 * "2 min 5 sec", "45 sec" (pt-BR "2 min 5 s", pl "2 min 5 sek."). */
export function duration(seconds: number, locale: string): string {
  const s = Math.max(0, Math.round(Number.isFinite(seconds) ? seconds : 0));
  const unit = (value: number, u: 'hour' | 'minute' | 'second') =>
    new Intl.NumberFormat(locale, { style: 'unit', unit: u, unitDisplay: 'short' }).format(value);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const parts: string[] = [];
  if (h) parts.push(unit(h, 'hour'));
  if (m || (h && sec)) parts.push(unit(m, 'minute'));
  if (sec || !parts.length) parts.push(unit(sec, 'second'));
  return parts.join(' ');
}

/** A share (0–1) as a whole percentage in the language ("68%", pl "68%"). */
export function percent(share: number, locale: string): string {
  const v = Math.min(1, Math.max(0, Number.isFinite(share) ? share : 0));
  return new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 0 }).format(v);
}
