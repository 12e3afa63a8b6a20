// Journey campaigns as Settings → Journeys edits them: a message or a survey sent some time after
// a business event another system posts on a contact (order_delivered + 3 days → a CSAT survey),
// unless a later event cancels it, outside quiet hours, under a frequency cap. The API's shapes,
// the delay as a number and a unit (the API's minutes and back), a campaign as its form edits it
// with the checks the server makes, and the campaign in words. Pure functions (no Svelte, no
// DOM), unit-tested in tests/unit/journeys.test.mjs.

export type CampaignKind = 'message' | 'survey';
export const KINDS: readonly CampaignKind[] = ['message', 'survey'];
export type SurveyType = 'csat' | 'nps';
export const SURVEY_TYPES: readonly SurveyType[] = ['csat', 'nps'];

/** Quiet hours in the contact's time zone, `HH:MM` (may wrap past midnight: 21:00–08:00). */
export interface QuietHours {
  start: string;
  end: string;
}

/** At most `max` campaign messages to one contact within `days`. */
export interface FrequencyCap {
  max: number;
  days: number;
}

/** Chatwoot's `template_params`: sent when WhatsApp's 24-hour window is closed. */
export interface WhatsappTemplate {
  name: string;
  language?: string;
  processed_params?: unknown;
  [key: string]: unknown;
}

/** `GET …/journey_campaigns` (`payload`), and the `payload` of a create or update. */
export interface Campaign {
  id: number;
  name: string;
  active: boolean;
  trigger_event_type: string;
  delay_minutes?: number | null;
  cancel_on_event_types?: string[] | null;
  kind?: CampaignKind | null;
  message?: string | null;
  survey_type?: SurveyType | null;
  quiet_hours?: QuietHours | null;
  frequency_cap?: FrequencyCap | null;
  whatsapp_template?: WhatsappTemplate | null;
  created_at: number;
  updated_at: number;
}

export type SendStatus = 'scheduled' | 'sent' | 'skipped' | 'cancelled';
export const SEND_STATUSES: readonly SendStatus[] = ['scheduled', 'sent', 'skipped', 'cancelled'];

/** `GET …/journey_campaigns/{id}/sends` (`payload`, newest first): one per contact and event. */
export interface CampaignSend {
  id: number;
  contact_id: number;
  business_event_id: number;
  status: SendStatus | string;
  /** When it is (or was) due, Unix seconds. */
  due_at: number;
  /** Why it was skipped or cancelled. */
  detail?: string | null;
  inbox_id?: number | null;
  message_id?: number | null;
  /** The contact's name, and the conversation (display id) a sent message went to. */
  contact_name?: string | null;
  conversation_id?: number | null;
  created_at: number;
  updated_at: number;
}

/** Business event types offered as suggestions, besides those the account's campaigns name. */
export const COMMON_EVENT_TYPES: readonly string[] = [
  'order_placed', 'order_created', 'order_shipped', 'order_delivered', 'delivery_late', 'cart_abandoned', 'payment_failed',
];

/** The placeholders a campaign's message may use (`{{event.<property>}}`: any property of the
 * event, `order_id` as the example). */
export const PLACEHOLDERS: readonly string[] = ['{{contact.name}}', '{{event.title}}', '{{event.order_id}}'];

/** The server's limits. */
export const MAX_DELAY_MINUTES = 180 * 24 * 60;
export const MAX_CANCEL_TYPES = 20;
export const MAX_MESSAGE = 4_000;
export const CAP_MAX: readonly [number, number] = [1, 100];
export const CAP_DAYS: readonly [number, number] = [1, 365];

// ------------------------------------------------------------------ event types

/** An event type as the events name it: trimmed, lower-case. */
export const normalEventType = (text: string): string => text.trim().toLowerCase();

/** Whether the server takes it as an event type: 1–64 letters, digits, `_`, `.` or `-`. */
export const isEventType = (text: string): boolean => /^[a-z0-9_.-]{1,64}$/.test(text);

/** Event types typed as a list (commas, semicolons or spaces between them), normalised, each
 * once. */
export function parseEventTypes(text: string): string[] {
  return [...new Set(text.split(/[\s,;]+/).map(normalEventType).filter(Boolean))];
}

/** What the trigger and cancel inputs suggest: the common types and those the campaigns name,
 * sorted. */
export function knownEventTypes(campaigns: readonly Campaign[]): string[] {
  const named = campaigns.flatMap((c) => [c.trigger_event_type, ...(c.cancel_on_event_types ?? [])]);
  return [...new Set([...COMMON_EVENT_TYPES, ...named].filter(Boolean))].sort();
}

// ------------------------------------------------------------------ the delay

export type DelayUnit = 'minutes' | 'hours' | 'days';
export const DELAY_UNITS: readonly DelayUnit[] = ['minutes', 'hours', 'days'];
export const UNIT_MINUTES: Record<DelayUnit, number> = { minutes: 1, hours: 60, days: 1_440 };

/** A delay as typed: the number and its unit. */
export interface DelayDraft {
  amount: string;
  unit: DelayUnit;
}

/** Minutes from a number and a unit: null when blank, NaN when not a number. Fractions count
 * (1.5 hours is 90 minutes), rounded to whole minutes. */
export function toMinutes(amount: string | number | null | undefined, unit: DelayUnit): number | null {
  if (amount === null || amount === undefined) return null;
  const text = String(amount).trim().replace(',', '.');
  if (!text) return null;
  const n = Number(text);
  return Number.isFinite(n) ? Math.round(n * UNIT_MINUTES[unit]) : NaN;
}

/** The largest unit that shows a delay whole (90 minutes stay minutes, 4320 are 3 days); no
 * delay shows as 0 minutes. */
export function fromMinutes(minutes: number | null | undefined): DelayDraft {
  if (minutes === null || minutes === undefined || !Number.isFinite(minutes) || minutes <= 0) return { amount: '0', unit: 'minutes' };
  for (const unit of ['days', 'hours'] as const) {
    if (minutes % UNIT_MINUTES[unit] === 0) return { amount: String(minutes / UNIT_MINUTES[unit]), unit };
  }
  return { amount: String(Math.round(minutes)), unit: 'minutes' };
}

// ------------------------------------------------------------------ the form

export interface CampaignDraft {
  name: string;
  active: boolean;
  trigger_event_type: string;
  delay: DelayDraft;
  cancel_on_event_types: string[];
  kind: CampaignKind;
  message: string;
  survey_type: SurveyType;
  quiet: boolean;
  quiet_start: string;
  quiet_end: string;
  cap: boolean;
  cap_max: string | number;
  cap_days: string | number;
  template: boolean;
  template_name: string;
  template_language: string;
  /** The stored template's other fields (processed_params…), kept as they were. */
  template_rest: Record<string, unknown>;
}

/** What the API takes (every field: PATCH merges them over the stored ones). */
export interface CampaignBody {
  name: string;
  active: boolean;
  trigger_event_type: string;
  delay_minutes: number;
  cancel_on_event_types: string[];
  kind: CampaignKind;
  message: string | null;
  survey_type: SurveyType | null;
  quiet_hours: QuietHours | null;
  frequency_cap: FrequencyCap | null;
  whatsapp_template: WhatsappTemplate | null;
}

export function emptyCampaign(): CampaignDraft {
  return {
    name: '', active: true, trigger_event_type: '', delay: { amount: '1', unit: 'days' }, cancel_on_event_types: [],
    kind: 'message', message: '', survey_type: 'csat',
    quiet: false, quiet_start: '21:00', quiet_end: '08:00',
    cap: false, cap_max: 1, cap_days: 30,
    template: false, template_name: '', template_language: '', template_rest: {},
  };
}

export function toCampaignDraft(c: Campaign): CampaignDraft {
  const empty = emptyCampaign();
  const { name: templateName, language, ...rest } = c.whatsapp_template ?? { name: '' };
  return {
    name: c.name,
    active: c.active,
    trigger_event_type: c.trigger_event_type ?? '',
    delay: fromMinutes(c.delay_minutes),
    cancel_on_event_types: [...(c.cancel_on_event_types ?? [])],
    kind: c.kind === 'survey' ? 'survey' : 'message',
    message: c.message ?? '',
    survey_type: c.survey_type === 'nps' ? 'nps' : 'csat',
    quiet: Boolean(c.quiet_hours),
    quiet_start: c.quiet_hours?.start ?? empty.quiet_start,
    quiet_end: c.quiet_hours?.end ?? empty.quiet_end,
    cap: Boolean(c.frequency_cap),
    cap_max: c.frequency_cap?.max ?? empty.cap_max,
    cap_days: c.frequency_cap?.days ?? empty.cap_days,
    template: Boolean(c.whatsapp_template),
    template_name: typeof templateName === 'string' ? templateName : '',
    template_language: typeof language === 'string' ? language : '',
    template_rest: c.whatsapp_template ? rest : {},
  };
}

const numberOf = (v: string | number | null | undefined): number => {
  const text = v === null || v === undefined ? '' : String(v).trim();
  return text ? Number(text) : NaN;
};

/** `H:MM` or `HH:MM` written `HH:MM`; anything else as typed (the checks refuse it). */
function normalTime(text: string): string {
  const m = /^(\d{1,2}):(\d{2})$/.exec(text.trim());
  return m ? `${m[1]!.padStart(2, '0')}:${m[2]}` : text.trim();
}

const isTime = (text: string): boolean => {
  const m = /^(\d{2}):(\d{2})$/.exec(text);
  return Boolean(m) && Number(m![1]) <= 23 && Number(m![2]) <= 59;
};

/** What the API takes: the delay in minutes (NaN when it is not a number: the checks refuse
 * it), event types normalised, the content of the kind chosen (the other one null), the
 * options switched off as null, text trimmed. */
export function campaignBody(d: CampaignDraft): CampaignBody {
  const minutes = toMinutes(d.delay.amount, d.delay.unit);
  const language = d.template_language.trim();
  return {
    name: d.name.trim(),
    active: d.active,
    trigger_event_type: normalEventType(d.trigger_event_type),
    delay_minutes: minutes === null ? NaN : minutes,
    cancel_on_event_types: d.cancel_on_event_types.map(normalEventType),
    kind: d.kind,
    message: d.kind === 'message' ? d.message.trim() : null,
    survey_type: d.kind === 'survey' ? d.survey_type : null,
    quiet_hours: d.quiet ? { start: normalTime(d.quiet_start), end: normalTime(d.quiet_end) } : null,
    frequency_cap: d.cap ? { max: numberOf(d.cap_max), days: numberOf(d.cap_days) } : null,
    whatsapp_template: d.template
      ? { ...d.template_rest, name: d.template_name.trim(), ...(language ? { language } : {}) }
      : null,
  };
}

const within = (n: number, [low, high]: readonly [number, number]) => Number.isInteger(n) && n >= low && n <= high;

/** The server's checks, by the field it would name: `required` (the name), `event_type` (the
 * trigger or a cancelling type), `too_many` (over 20 cancelling types), `delay` (not a whole
 * number of minutes up to 180 days), `message` (blank or over 4000 characters), `time` (a
 * quiet hour that is no time), `same` (quiet hours ending when they start), `cap` (the
 * frequency cap's numbers), `template` (a WhatsApp template without a name). */
export function checkCampaign(d: CampaignDraft): Record<string, string> {
  const body = campaignBody(d);
  const errors: Record<string, string> = {};
  if (!body.name) errors.name = 'required';
  if (!isEventType(body.trigger_event_type)) errors.trigger_event_type = 'event_type';
  if (!within(body.delay_minutes, [0, MAX_DELAY_MINUTES])) errors.delay_minutes = 'delay';
  if (body.cancel_on_event_types.length > MAX_CANCEL_TYPES) errors.cancel_on_event_types = 'too_many';
  body.cancel_on_event_types.forEach((type, i) => {
    if (!isEventType(type)) errors[`cancel_on_event_types[${i}]`] = 'event_type';
  });
  if (body.kind === 'message' && (!body.message || [...body.message].length > MAX_MESSAGE)) errors.message = 'message';
  if (body.quiet_hours) {
    const { start, end } = body.quiet_hours;
    if (!isTime(start)) errors['quiet_hours.start'] = 'time';
    if (!isTime(end)) errors['quiet_hours.end'] = 'time';
    else if (isTime(start) && start === end) errors['quiet_hours.end'] = 'same';
  }
  if (body.frequency_cap && !(within(body.frequency_cap.max, CAP_MAX) && within(body.frequency_cap.days, CAP_DAYS))) errors.frequency_cap = 'cap';
  if (body.whatsapp_template && !body.whatsapp_template.name) errors.whatsapp_template = 'template';
  return errors;
}

// ------------------------------------------------------------------ in words

export type T = (key: string, vars?: Record<string, string | number>) => string;

/** The plural category of `n` in `locale` among those the catalogues have (one, few, many,
 * other). */
function plural(n: number, locale: string): 'one' | 'few' | 'many' | 'other' {
  const category = new Intl.PluralRules(locale).select(n);
  return category === 'one' || category === 'few' || category === 'many' ? category : 'other';
}

/** A number of a unit in words, as a delay reads ("3 days", "1 hour", "godzinę"); '…' when it
 * is not a number. */
export function unitWords(n: number, unit: DelayUnit, t: T, locale: string): string {
  if (!Number.isFinite(n)) return '…';
  return t(`journeys.delay.${unit}.${plural(n, locale)}`, { n });
}

/** A delay in minutes, in words in its largest whole unit ("90 minutes", "3 days"). */
export function delayWords(minutes: number, t: T, locale: string): string {
  if (!Number.isFinite(minutes)) return '…';
  const { amount, unit } = fromMinutes(minutes);
  return unitWords(Number(amount), unit, t, locale);
}

/** Event types as a list in words ("order_created or order_cancelled"). */
function listOf(items: readonly string[], locale: string, type: 'conjunction' | 'disjunction'): string {
  return new Intl.ListFormat(locale, { style: 'long', type }).format(items);
}

/** The fields the words read: a campaign, or the body of the form being edited. */
export type CampaignWords = Pick<Campaign, 'trigger_event_type' | 'delay_minutes' | 'cancel_on_event_types' | 'kind' | 'survey_type' | 'quiet_hours' | 'frequency_cap' | 'whatsapp_template'>;

/** A sentence's first letter in upper case. */
const capitalised = (text: string): string => text.charAt(0).toLocaleUpperCase() + text.slice(1);

function when(c: CampaignWords, t: T, locale: string): string {
  const trigger = c.trigger_event_type || '…';
  const minutes = c.delay_minutes ?? 0;
  return minutes === 0 ? t('journeys.words.right_after', { trigger }) : t('journeys.words.after', { delay: delayWords(minutes, t, locale), trigger });
}

/** When it goes: "3 days after order_delivered", "Right after cart_abandoned". */
export function whenWords(c: CampaignWords, t: T, locale: string): string {
  return capitalised(when(c, t, locale));
}

/** What it sends: "a message", "a CSAT survey". */
export function contentWords(c: CampaignWords, t: T): string {
  return c.kind === 'survey' ? t(`journeys.words.survey.${c.survey_type === 'nps' ? 'nps' : 'csat'}`) : t('journeys.words.message');
}

/** The campaign in words: "3 days after order_delivered, a CSAT survey, unless order_created;
 * not between 21:00 and 08:00; at most 1 per 30 days" (the first letter in upper case). */
export function campaignWords(c: CampaignWords, t: T, locale: string): string {
  let text = `${when(c, t, locale)}, ${contentWords(c, t)}`;
  const cancel = (c.cancel_on_event_types ?? []).filter(Boolean);
  if (cancel.length) text += `, ${t('journeys.words.unless', { types: listOf(cancel, locale, 'disjunction') })}`;
  if (c.quiet_hours) text += `; ${t('journeys.words.quiet', { start: c.quiet_hours.start, end: c.quiet_hours.end })}`;
  if (c.frequency_cap) {
    const { max, days } = c.frequency_cap;
    text += `; ${t('journeys.words.cap', { max: Number.isFinite(max) ? max : '…', days: unitWords(days, 'days', t, locale) })}`;
  }
  if (c.whatsapp_template?.name) text += `; ${t('journeys.words.template', { name: c.whatsapp_template.name })}`;
  return capitalised(text);
}

/** What the list's kind column says: "Message", "Survey (NPS)". */
export function kindWords(c: Pick<Campaign, 'kind' | 'survey_type'>, t: T): string {
  return c.kind === 'survey' ? t('journeys.kind.survey', { type: (c.survey_type === 'nps' ? 'nps' : 'csat').toUpperCase() }) : t('journeys.kind.message');
}
