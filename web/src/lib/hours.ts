// An inbox's business hours, holidays and automatic replies as Settings → Inboxes → "Hours &
// replies" edits them: each weekday closed, open all day or open in one or more periods; the
// days closed for holidays; and Chatwoot's `working_hours` array (several entries for one day
// are several periods, Throughline's extension) and back. Pure functions (no Svelte, no DOM),
// unit-tested in tests/unit/hours.test.mjs.

/** Chatwoot's day numbers: 0 Sunday … 6 Saturday. */
export type Weekday = 0 | 1 | 2 | 3 | 4 | 5 | 6;
/** The week as the editor lists it, Monday first. */
export const WEEK: readonly Weekday[] = [1, 2, 3, 4, 5, 6, 0];

/** One entry of Chatwoot's `working_hours`. */
export interface WorkingHoursEntry {
  day_of_week: number;
  closed_all_day: boolean;
  open_all_day?: boolean;
  open_hour?: number | null;
  open_minutes?: number | null;
  close_hour?: number | null;
  close_minutes?: number | null;
}

/** A period of a day as typed: `HH:MM`, the close `24:00` at the end of the day. */
export interface Period {
  open: string;
  close: string;
}

export type DayMode = 'closed' | 'all_day' | 'periods';

export interface DayDraft {
  day: Weekday;
  mode: DayMode;
  /** Kept while another mode is chosen, so switching back loses nothing. */
  periods: Period[];
}

/** A holiday as the API takes it: one date, or a range (inclusive). */
export interface Holiday {
  date?: string;
  from?: string;
  to?: string;
  name?: string;
}

export interface HolidayDraft {
  kind: 'date' | 'range';
  date: string;
  from: string;
  to: string;
  name: string;
}

export const REPLY_TIMES = ['in_a_few_minutes', 'in_a_few_hours', 'in_a_day'] as const;
export const SURVEY_TYPES = ['csat', 'nps'] as const;

/** Time zones offered in the select (any other IANA name may be typed in). */
export const COMMON_ZONES: readonly string[] = [
  'UTC',
  'America/Sao_Paulo', 'America/Manaus', 'America/Recife', 'America/Fortaleza', 'America/Belem', 'America/Cuiaba',
  'America/Noronha', 'America/Argentina/Buenos_Aires', 'America/Santiago', 'America/Bogota', 'America/Lima',
  'America/Mexico_City', 'America/New_York', 'America/Chicago', 'America/Denver', 'America/Los_Angeles',
  'America/Toronto', 'Atlantic/Azores',
  'Europe/Lisbon', 'Europe/London', 'Europe/Dublin', 'Europe/Madrid', 'Europe/Paris', 'Europe/Berlin',
  'Europe/Amsterdam', 'Europe/Rome', 'Europe/Warsaw', 'Europe/Prague', 'Europe/Kyiv', 'Europe/Helsinki',
  'Europe/Istanbul', 'Africa/Luanda', 'Africa/Maputo', 'Africa/Johannesburg', 'Asia/Dubai', 'Asia/Kolkata',
  'Asia/Singapore', 'Asia/Tokyo', 'Australia/Sydney',
];

/** The browser's time zone (the default of an inbox without one), else UTC. */
export function browserZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

/** Whether this JavaScript engine knows the zone (a hint only: the server decides, and also
 * takes Rails' names such as "Brasilia"). */
export function knownZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name.trim() });
    return name.trim() !== '';
  } catch {
    return false;
  }
}

// ------------------------------------------------------------------ times

const TIME = /^(\d{1,2}):(\d{2})$/;

/** Minutes since midnight of `HH:MM` (`24:00` is 1440), or null when it is not a time. */
export function minutesOf(text: string): number | null {
  const m = TIME.exec(text.trim());
  if (!m) return null;
  const h = Number(m[1]);
  const min = Number(m[2]);
  if (min > 59 || h > 24 || (h === 24 && min !== 0)) return null;
  return h * 60 + min;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** `HH:MM` from minutes since midnight (1440 is `24:00`). */
export function timeOf(minutes: number): string {
  return `${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`;
}

/** A typed time written the usual way (`9:5` stays as typed: it is not a time). */
export function normalTime(text: string): string {
  const minutes = minutesOf(text);
  return minutes === null ? text.trim() : timeOf(minutes);
}

/** Why a period cannot be saved, as the server would refuse it: `open` (the opening is not a
 * time, or is 24:00), `close` (the closing is not a time) or `order` (it closes before it
 * opens); null when it is fine. */
export function checkPeriod(p: Period): 'open' | 'close' | 'order' | null {
  const open = minutesOf(p.open);
  const close = minutesOf(p.close);
  if (open === null || open >= 24 * 60) return 'open';
  if (close === null) return 'close';
  if (close <= open) return 'order';
  return null;
}

// ------------------------------------------------------------------ the week

export const DEFAULT_PERIOD: Period = { open: '09:00', close: '17:00' };

/** A new inbox's week: Monday to Friday 09:00–17:00. */
export function defaultWeek(): DayDraft[] {
  return WEEK.map((day) => ({ day, mode: day === 0 || day === 6 ? 'closed' : 'periods', periods: [{ ...DEFAULT_PERIOD }] }));
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const int = (v: unknown): number | null => {
  const n = typeof v === 'string' && v.trim() ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) ? n : null;
};

/** The editor's week from Chatwoot's `working_hours` (a list, else the default week). A day
 * without entries, or with only `closed_all_day` ones, is closed; `open_all_day` wins over
 * periods; Chatwoot's 23:59 close reads as the end of the day. */
export function fromWorkingHours(value: unknown): DayDraft[] {
  if (!Array.isArray(value) || !value.length) return defaultWeek();
  return WEEK.map((day) => {
    const entries = value.filter((e): e is Record<string, unknown> => isObject(e) && int(e.day_of_week) === day);
    const open = entries.filter((e) => e.closed_all_day !== true);
    const periods = open
      .filter((e) => e.open_all_day !== true)
      .map((e) => {
        const openAt = (int(e.open_hour) ?? 0) * 60 + (int(e.open_minutes) ?? 0);
        const closeAt = (int(e.close_hour) ?? 0) * 60 + (int(e.close_minutes) ?? 0);
        return { at: openAt, period: { open: timeOf(openAt), close: timeOf(closeAt === 23 * 60 + 59 ? 24 * 60 : closeAt) } };
      })
      .sort((a, b) => a.at - b.at)
      .map((x) => x.period);
    const mode: DayMode = open.some((e) => e.open_all_day === true) ? 'all_day' : periods.length ? 'periods' : 'closed';
    return { day, mode, periods: periods.length ? periods : [{ ...DEFAULT_PERIOD }] };
  });
}

/** Where an entry of the array [`toWorkingHours`] makes comes from: its day and, for a period,
 * its index in the day (null for a closed or all-day entry). */
export interface Origin {
  day: Weekday;
  period: number | null;
}

/** Chatwoot's `working_hours` from the editor's week, Sunday first (as Chatwoot orders it):
 * one entry per closed or all-day day, one per period of the others (`24:00` closes at the end
 * of the day); with where each entry comes from, to show the server's refusal of
 * `working_hours[3]` by its period. */
export function toWorkingHoursWithOrigins(days: readonly DayDraft[]): { entries: WorkingHoursEntry[]; origins: Origin[] } {
  const entries: WorkingHoursEntry[] = [];
  const origins: Origin[] = [];
  const ordered = [...days].sort((a, b) => a.day - b.day);
  for (const d of ordered) {
    if (d.mode === 'closed' || (d.mode === 'periods' && !d.periods.length)) {
      entries.push({ day_of_week: d.day, closed_all_day: true, open_all_day: false });
      origins.push({ day: d.day, period: null });
    } else if (d.mode === 'all_day') {
      entries.push({ day_of_week: d.day, closed_all_day: false, open_all_day: true });
      origins.push({ day: d.day, period: null });
    } else {
      d.periods.forEach((p, i) => {
        const open = minutesOf(p.open);
        const close = minutesOf(p.close);
        entries.push({
          day_of_week: d.day, closed_all_day: false, open_all_day: false,
          open_hour: open === null ? null : Math.floor(open / 60), open_minutes: open === null ? null : open % 60,
          close_hour: close === null ? null : Math.floor(close / 60), close_minutes: close === null ? null : close % 60,
        });
        origins.push({ day: d.day, period: i });
      });
    }
  }
  return { entries, origins };
}

export function toWorkingHours(days: readonly DayDraft[]): WorkingHoursEntry[] {
  return toWorkingHoursWithOrigins(days).entries;
}

/** The week's own checks, by the key the editor shows them under (`1.0`: Monday's first
 * period), the reason as a word (`open`, `close`, `order`). */
export function checkWeek(days: readonly DayDraft[]): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const d of days) {
    if (d.mode !== 'periods') continue;
    d.periods.forEach((p, i) => {
      const problem = checkPeriod(p);
      if (problem) errors[periodKey(d.day, i)] = problem;
    });
  }
  return errors;
}

/** The key of a period's errors (`1.0`), or of a whole day's (`1`). */
export function periodKey(day: number, period: number | null): string {
  return period === null ? String(day) : `${day}.${period}`;
}

// ------------------------------------------------------------------ holidays

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A real calendar date written YYYY-MM-DD. */
export function isDate(text: string): boolean {
  const m = DATE.exec(text);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
}

export function emptyHoliday(kind: HolidayDraft['kind'] = 'date'): HolidayDraft {
  return { kind, date: '', from: '', to: '', name: '' };
}

export function fromHolidays(value: unknown): HolidayDraft[] {
  if (!Array.isArray(value)) return [];
  return value.filter(isObject).map((h) => {
    const text = (v: unknown) => (typeof v === 'string' ? v : '');
    const range = !text(h.date) && (text(h.from) !== '' || text(h.to) !== '');
    return { kind: range ? 'range' : 'date', date: text(h.date), from: text(h.from), to: text(h.to), name: text(h.name) };
  });
}

/** The API's holidays, in the editor's order (so that `holidays[2]` is its third row); a name
 * only when one was given. */
export function toHolidays(list: readonly HolidayDraft[]): Holiday[] {
  return list.map((h) => {
    const name = h.name.trim();
    const base: Holiday = h.kind === 'range' ? { from: h.from, to: h.to } : { date: h.date };
    return name ? { ...base, name } : base;
  });
}

/** Why a holiday cannot be saved: `date` (a date is missing or not one) or `order` (the range
 * ends before it starts); null when fine. */
export function checkHoliday(h: HolidayDraft): 'date' | 'order' | null {
  if (h.kind === 'date') return isDate(h.date) ? null : 'date';
  if (!isDate(h.from) || !isDate(h.to)) return 'date';
  return h.to < h.from ? 'order' : null;
}

/** Holidays soonest first (ranges by their first day), for the list. */
export function sortedHolidays(list: readonly HolidayDraft[]): HolidayDraft[] {
  const first = (h: HolidayDraft) => (h.kind === 'range' ? h.from : h.date);
  return [...list].sort((a, b) => first(a).localeCompare(first(b)));
}

// ------------------------------------------------------------------ the server's refusals

/** Where a 422's field belongs in the editor: a period or day of the week (`week` with its
 * key), a holiday row (`holiday` with its index), or a field of the form by its name. */
export type Place = { kind: 'week'; key: string } | { kind: 'holiday'; index: number } | { kind: 'field'; name: string };

/** The place of a field the server named (`working_hours[2].close_hour`, `holidays[0].date`,
 * `timezone`), given where the entries sent came from. */
export function placeOf(field: string, origins: readonly Origin[]): Place {
  const hours = /^working_hours\[(\d+)\]/.exec(field);
  if (hours) {
    const origin = origins[Number(hours[1])];
    return origin ? { kind: 'week', key: periodKey(origin.day, origin.period) } : { kind: 'field', name: 'working_hours' };
  }
  const holiday = /^holidays\[(\d+)\]/.exec(field);
  if (holiday) return { kind: 'holiday', index: Number(holiday[1]) };
  return { kind: 'field', name: field.replace(/[[.].*$/, '') };
}
