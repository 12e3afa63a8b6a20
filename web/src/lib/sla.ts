// SLA policies and the clocks they put on conversations: the API's shapes, a policy as its
// form edits it (thresholds as a number and a unit, the API's seconds and back) with the
// checks the server makes, the badge a conversation shows (its nearest due metric and how it
// stands) and who hears of a warning or breach. Pure functions (no Svelte, no DOM: the clock is
// passed in), unit-tested in tests/unit/sla.test.mjs.

export type Metric = 'frt' | 'nrt' | 'rt';
/** First response, next response, resolution. */
export const METRICS: readonly Metric[] = ['frt', 'nrt', 'rt'];

/** The policy's field of each metric's threshold (seconds; null: not measured). */
export const THRESHOLD_FIELDS = {
  frt: 'first_response_time_threshold',
  nrt: 'next_response_time_threshold',
  rt: 'resolution_time_threshold',
} as const satisfies Record<Metric, string>;

/** `GET …/sla_policies` (`payload`), and the `payload` of a create or update. */
export interface SlaPolicy {
  id: number;
  name: string;
  description?: string | null;
  first_response_time_threshold: number | null;
  next_response_time_threshold: number | null;
  resolution_time_threshold: number | null;
  only_during_business_hours: boolean;
  /** Warn when this share (1–99 %) of a threshold is used up. */
  warning_percent: number;
  /** Inboxes whose new conversations get the policy. */
  inbox_ids: number[];
  /** Labels that give a conversation the policy. */
  labels: string[];
  created_at: number;
  updated_at: number;
}

/** The policy measuring a conversation (`applied_sla` of a conversation). */
export interface AppliedSla {
  id: number;
  sla_id: number;
  sla_status: 'active' | 'hit' | 'missed' | 'active_with_misses' | string;
  sla_name: string;
  sla_first_response_time_threshold?: number | null;
  sla_next_response_time_threshold?: number | null;
  sla_resolution_time_threshold?: number | null;
  sla_only_during_business_hours?: boolean;
  /** When each running metric breaches, Unix seconds. */
  due_at?: Partial<Record<Metric, number>>;
  warned?: string[];
  breached?: string[];
  created_at?: number;
  updated_at?: number;
}

/** `data.sla_event` of the `sla_warning` and `sla_breached` frames. */
export interface SlaEvent {
  id: number;
  event_type: Metric;
  kind: 'warning' | 'breach';
  due_at?: number;
  sla_policy: { id: number; name: string };
  applied_sla_id: number;
}

// ------------------------------------------------------------------ thresholds

export type Unit = 'minutes' | 'hours' | 'days';
export const UNITS: readonly Unit[] = ['minutes', 'hours', 'days'];
export const UNIT_SECONDS: Record<Unit, number> = { minutes: 60, hours: 3_600, days: 86_400 };
/** The server's longest threshold: a year (366 days). */
export const MAX_THRESHOLD = 366 * 86_400;

/** A threshold as typed: the number ('' for not measured) and its unit. */
export interface ThresholdDraft {
  amount: string;
  unit: Unit;
}

/** Seconds from a number and a unit: null when blank, NaN when not a number. Fractions count
 * (1.5 hours is 5400 s), rounded to whole seconds. */
export function toSeconds(amount: string | number | null | undefined, unit: Unit): number | null {
  if (amount === null || amount === undefined) return null;
  const text = String(amount).trim().replace(',', '.');
  if (!text) return null;
  const n = Number(text);
  return Number.isFinite(n) ? Math.round(n * UNIT_SECONDS[unit]) : NaN;
}

/** The largest unit that shows a threshold whole (90 min stays minutes, 7200 s is 2 hours);
 * seconds that are no whole minute show as a fraction of minutes. */
export function fromSeconds(seconds: number | null | undefined): ThresholdDraft {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return { amount: '', unit: 'hours' };
  for (const unit of ['days', 'hours'] as const) {
    if (seconds >= UNIT_SECONDS[unit] && seconds % UNIT_SECONDS[unit] === 0) return { amount: String(seconds / UNIT_SECONDS[unit]), unit };
  }
  return { amount: String(Math.round((seconds / 60) * 100) / 100), unit: 'minutes' };
}

// ------------------------------------------------------------------ the form

export interface PolicyDraft {
  name: string;
  description: string;
  thresholds: Record<Metric, ThresholdDraft>;
  only_during_business_hours: boolean;
  warning_percent: number | string | null;
  inbox_ids: number[];
  labels: string[];
}

export interface PolicyBody {
  name: string;
  description: string;
  first_response_time_threshold: number | null;
  next_response_time_threshold: number | null;
  resolution_time_threshold: number | null;
  only_during_business_hours: boolean;
  warning_percent: number;
  inbox_ids: number[];
  labels: string[];
}

export function emptyPolicy(): PolicyDraft {
  return {
    name: '', description: '',
    thresholds: { frt: { amount: '', unit: 'minutes' }, nrt: { amount: '', unit: 'minutes' }, rt: { amount: '', unit: 'hours' } },
    only_during_business_hours: false, warning_percent: 80, inbox_ids: [], labels: [],
  };
}

export function toPolicyDraft(p: SlaPolicy): PolicyDraft {
  return {
    name: p.name,
    description: p.description ?? '',
    thresholds: { frt: fromSeconds(p.first_response_time_threshold), nrt: fromSeconds(p.next_response_time_threshold), rt: fromSeconds(p.resolution_time_threshold) },
    only_during_business_hours: p.only_during_business_hours,
    warning_percent: p.warning_percent ?? 80,
    inbox_ids: [...(p.inbox_ids ?? [])],
    labels: [...(p.labels ?? [])],
  };
}

const percentOf = (v: number | string | null): number => {
  const text = v === null ? '' : String(v).trim();
  return text ? Number(text) : NaN;
};

/** What the API takes: thresholds in seconds (null: not measured), text trimmed. */
export function policyBody(d: PolicyDraft): PolicyBody {
  const seconds = (m: Metric) => toSeconds(d.thresholds[m].amount, d.thresholds[m].unit);
  return {
    name: d.name.trim(),
    description: d.description.trim(),
    first_response_time_threshold: seconds('frt'),
    next_response_time_threshold: seconds('nrt'),
    resolution_time_threshold: seconds('rt'),
    only_during_business_hours: d.only_during_business_hours,
    warning_percent: percentOf(d.warning_percent),
    inbox_ids: [...d.inbox_ids],
    labels: d.labels.map((l) => l.trim()).filter(Boolean),
  };
}

/** The server's checks that need no database, by the field it would name: `required` (the
 * name), `threshold` (not a time from 1 second to a year), `none` (no threshold at all, named
 * on the first response as the server names it), `percent` (the warning share). */
export function checkPolicy(d: PolicyDraft): Record<string, string> {
  const errors: Record<string, string> = {};
  if (!d.name.trim()) errors.name = 'required';
  let any = false;
  for (const m of METRICS) {
    const s = toSeconds(d.thresholds[m].amount, d.thresholds[m].unit);
    if (s === null) continue;
    any = true;
    if (!Number.isFinite(s) || s < 1 || s > MAX_THRESHOLD) errors[THRESHOLD_FIELDS[m]] = 'threshold';
  }
  if (!any) errors[THRESHOLD_FIELDS.frt] = 'none';
  const percent = percentOf(d.warning_percent);
  if (!Number.isInteger(percent) || percent < 1 || percent > 99) errors.warning_percent = 'percent';
  return errors;
}

// ------------------------------------------------------------------ durations in words

export type T = (key: string, vars?: Record<string, string | number>) => string;

/** A duration, short: `12m`, `1h 5m`, `2d 3h` (in the catalogue's words), counted in whole
 * minutes rounded up (what is left of a countdown), at least one minute. */
export function shortDuration(seconds: number, t: T): string {
  const total = Math.max(1, Math.ceil(Math.abs(seconds) / 60));
  const d = Math.floor(total / 1_440);
  const h = Math.floor((total % 1_440) / 60);
  const m = total % 60;
  if (d) return h ? t('sla.duration.dh', { d, h }) : t('sla.duration.d', { d });
  if (h) return m ? t('sla.duration.hm', { h, m }) : t('sla.duration.h', { h });
  return t('sla.duration.m', { m });
}

const UNIT_NAMES = { minutes: 'minute', hours: 'hour', days: 'day' } as const;

/** A threshold in words in `locale`, for the policies' list ("30 minutes", "1 hour", "2
 * dias", "5 minut"); '—' when not measured. */
export function thresholdText(seconds: number | null | undefined, locale: string): string {
  if (seconds === null || seconds === undefined) return '—';
  const { amount, unit } = fromSeconds(seconds);
  return new Intl.NumberFormat(locale, { style: 'unit', unit: UNIT_NAMES[unit], unitDisplay: 'long', maximumFractionDigits: 2 }).format(Number(amount));
}

// ------------------------------------------------------------------ the badge

export type BadgeState = 'ok' | 'warning' | 'breached';

export interface Badge {
  metric: Metric;
  state: BadgeState;
  /** Seconds until due (negative: overdue); null for a breach no longer running. */
  left: number | null;
  /** Unix seconds; null for a breach no longer running. */
  due_at: number | null;
}

/** The share of its threshold below which a running metric turns amber without the server's
 * warning (the server warns at the policy's `warning_percent`). */
export const LOW_SHARE = 0.2;

const thresholdOf = (a: AppliedSla, m: Metric): number | null => {
  const v = a[`sla_${THRESHOLD_FIELDS[m]}` as const];
  return typeof v === 'number' && v > 0 ? v : null;
};

/** What a conversation's badge shows at `now` (Unix seconds): a breached running metric first
 * (the most overdue), else the nearest due one — amber when the server warned of it or less
 * than 20 % of its threshold is left —, else a breach already over (the policy missed);
 * nothing without a policy or once it was hit. */
export function slaBadge(applied: AppliedSla | null | undefined, now: number): Badge | null {
  if (!applied || applied.sla_status === 'hit') return null;
  const warned = applied.warned ?? [];
  const breached = applied.breached ?? [];
  const running = METRICS.flatMap((metric) => {
    const due = applied.due_at?.[metric];
    if (typeof due !== 'number' || !Number.isFinite(due)) return [];
    const left = due - now;
    const threshold = thresholdOf(applied, metric);
    const state: BadgeState = breached.includes(metric) || left <= 0 ? 'breached'
      : warned.includes(metric) || (threshold !== null && left < threshold * LOW_SHARE) ? 'warning' : 'ok';
    return [{ metric, state, left, due_at: due }];
  }).sort((a, b) => a.due_at - b.due_at);
  const late = running.find((r) => r.state === 'breached');
  if (late) return late;
  if (running[0]) return running[0];
  const missed = METRICS.find((m) => breached.includes(m));
  return missed ? { metric: missed, state: 'breached', left: null, due_at: null } : null;
}

/** The badge's text: `FRT 12m`, `NRT overdue 5m`, `RT breached`. */
export function badgeText(b: Badge, t: T): string {
  const metric = t(`sla.metric_short.${b.metric}`);
  if (b.left === null) return t('sla.badge.breached', { metric });
  if (b.left <= 0) return t('sla.badge.overdue', { metric, left: shortDuration(b.left, t) });
  return `${metric} ${shortDuration(b.left, t)}`;
}

// ------------------------------------------------------------------ alerts

/** The conversation fields an alert reads. */
export interface AlertedConversation {
  id: number;
  meta?: { assignee?: { id: number } | null | undefined; team?: { id: number } | null | undefined };
}

/** Whether a warning or breach on this conversation is mine to hear of: I am its assignee, or
 * a member of its team. */
export function alertsMe(c: AlertedConversation, me: number | undefined, myTeams: readonly number[]): boolean {
  const assignee = c.meta?.assignee?.id;
  const team = c.meta?.team?.id;
  return (me !== undefined && assignee === me) || (team !== undefined && myTeams.includes(team));
}

/** The toast of a warning or breach: "SLA breached: first response — conversation #12". */
export function alertText(event: Pick<SlaEvent, 'event_type' | 'kind'>, conversationId: number, t: T): string {
  const metric = t(`sla.metric.${event.event_type}`);
  return t(event.kind === 'breach' ? 'sla.alert.breach' : 'sla.alert.warning', { metric, id: conversationId });
}
