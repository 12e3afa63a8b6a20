// Automation rules as the admin screen edits them: the attributes a rule may test on each event,
// the operators each kind of attribute takes, the actions and their parameters, a rule as a
// form draft and back, the checks the server makes, and the rule in words. Macros take the same
// actions: their form's functions are here too (their API shapes in ./macros). Pure functions
// (no Svelte, no DOM), unit-tested in tests/unit/automation.test.mjs and macros.test.mjs.
import type { Macro, Visibility } from './macros';

export const EVENTS = ['conversation_created', 'conversation_updated', 'conversation_opened', 'conversation_resolved',
  'message_created', 'business_event_received', 'channel_switched', 'sla_warning', 'sla_breached'] as const;

/** What an attribute holds, which decides its operators and value input. `code`: a country or
 * language code, compared exactly but typed in. */
export type Kind = 'text' | 'choice' | 'id' | 'labels' | 'flag' | 'number' | 'code';

export interface Attr {
  key: string;
  kind: Kind;
  /** The values a choice takes. */
  choices?: readonly string[];
  /** Where an id's options come from. */
  ids?: 'agents' | 'teams' | 'inboxes';
  /** The only event it exists on. */
  only?: string;
  /** A custom attribute's display name. */
  name?: string;
}

export const STATUSES = ['open', 'resolved', 'pending', 'snoozed'] as const;
export const PRIORITIES = ['urgent', 'high', 'medium', 'low', 'none'] as const;
export const CHANNEL_TYPES = ['api', 'web_widget', 'email', 'sms', 'whatsapp', 'telegram', 'facebook', 'instagram'] as const;
/** A business event's own field: `event.<field>`, the field typed in. */
export const EVENT_FIELD = 'event.';

const MC = 'message_created';
const BE = 'business_event_received';
const text = (key: string, only?: string): Attr => (only ? { key, kind: 'text', only } : { key, kind: 'text' });

export const STANDARD: readonly Attr[] = [
  text('content', MC),
  { key: 'message_type', kind: 'choice', choices: ['incoming', 'outgoing', 'template'], only: MC },
  text('mail_subject', MC),
  { key: 'private_note', kind: 'flag', only: MC },
  { key: 'status', kind: 'choice', choices: STATUSES },
  { key: 'priority', kind: 'choice', choices: PRIORITIES },
  { key: 'assignee_id', kind: 'id', ids: 'agents' },
  { key: 'team_id', kind: 'id', ids: 'teams' },
  { key: 'inbox_id', kind: 'id', ids: 'inboxes' },
  { key: 'channel_type', kind: 'choice', choices: CHANNEL_TYPES },
  { key: 'labels', kind: 'labels' },
  { key: 'browser_language', kind: 'code' },
  { key: 'conversation_language', kind: 'code' },
  text('referer'),
  ...['email', 'phone_number', 'name', 'identifier', 'city', 'company_name'].map((k) => text(k)),
  { key: 'country_code', kind: 'code' },
  text('event_type', BE),
  text('event_title', BE),
  text(EVENT_FIELD, BE),
];

const EQUALITY = ['equal_to', 'not_equal_to', 'is_present', 'is_not_present'];
export const OPERATORS: Record<Kind, readonly string[]> = {
  text: ['equal_to', 'not_equal_to', 'contains', 'does_not_contain', 'starts_with', 'is_present', 'is_not_present'],
  choice: EQUALITY,
  code: EQUALITY,
  id: EQUALITY,
  labels: EQUALITY,
  flag: ['equal_to', 'not_equal_to'],
  number: ['equal_to', 'not_equal_to', 'is_greater_than', 'is_less_than', 'is_present', 'is_not_present'],
};

export const isUnary = (op: string) => op === 'is_present' || op === 'is_not_present';

/** What an action's parameters are ('' none; `sla`: an SLA policy's id). */
export type Param = '' | 'agent' | 'team' | 'labels' | 'text' | 'url' | 'status' | 'priority' | 'sla';
export const ACTIONS: Record<string, Param> = {
  assign_agent: 'agent', assign_team: 'team', remove_assigned_agent: '', remove_assigned_team: '',
  add_label: 'labels', remove_label: 'labels', send_message: 'text', add_private_note: 'text',
  send_webhook_event: 'url', mute_conversation: '', snooze_conversation: '', resolve_conversation: '',
  open_conversation: '', pending_conversation: '', change_status: 'status', change_priority: 'priority',
  add_sla: 'sla',
};

/** `assign_agent`'s parameter in a macro: whoever runs it. */
export const SELF = 'self';

/** A new action row's parameters: a choice's first option, or none yet. */
export function defaultParams(name: string): string[] {
  const kind = ACTIONS[name];
  return kind === 'team' ? ['0'] : kind === 'status' ? ['open'] : kind === 'priority' ? ['none'] : [];
}

/** Longest delay the server takes (30 days). */
export const MAX_DELAY = 43_200;

/** `GET /custom_attribute_definitions`, the fields read here. */
export interface CustomDefinition {
  attribute_key: string;
  attribute_display_name: string;
  attribute_display_type: string;
  attribute_values?: unknown;
  attribute_model: string;
}

/** The account's custom attributes as the server types them (a key on both models reads the
 * conversation's). */
export function customAttrs(defs: readonly CustomDefinition[]): Attr[] {
  const byKey = new Map<string, Attr>();
  const ordered = [...defs].sort((a, b) => Number(a.attribute_model === 'conversation_attribute') - Number(b.attribute_model === 'conversation_attribute'));
  for (const d of ordered) {
    const type = d.attribute_display_type;
    const values = Array.isArray(d.attribute_values) ? d.attribute_values.filter((v): v is string => typeof v === 'string') : [];
    const attr: Attr = ['number', 'currency', 'percent'].includes(type) ? { key: d.attribute_key, kind: 'number', name: d.attribute_display_name }
      : type === 'checkbox' ? { key: d.attribute_key, kind: 'flag', name: d.attribute_display_name }
      : type === 'list' && values.length ? { key: d.attribute_key, kind: 'choice', choices: values, name: d.attribute_display_name }
      : { key: d.attribute_key, kind: type === 'list' ? 'code' : 'text', name: d.attribute_display_name };
    byKey.set(d.attribute_key, attr);
  }
  return [...byKey.values()];
}

/** The attributes a rule on `event` may test: the standard ones there, then custom ones. */
export function attrsFor(event: string, custom: readonly Attr[]): Attr[] {
  const standard = STANDARD.filter((a) => !a.only || a.only === event);
  return [...standard, ...custom.filter((c) => !STANDARD.some((s) => s.key === c.key))];
}

/** The attribute a condition's key names (`event.order_id` is the `event.` one). */
export function attrOf(key: string, attrs: readonly Attr[]): Attr | undefined {
  return attrs.find((a) => a.key === (key.startsWith(EVENT_FIELD) ? EVENT_FIELD : key));
}

// ------------------------------------------------------------------ the API's shapes

export interface Condition {
  attribute_key: string;
  filter_operator: string;
  values?: unknown[];
  query_operator?: string;
}

export interface RuleAction {
  action_name: string;
  action_params?: unknown[] | null;
}

export interface Rule {
  id: number;
  account_id: number;
  name: string;
  description: string | null;
  event_name: string;
  conditions: Condition[];
  actions: RuleAction[];
  created_on: number;
  updated_on: number;
  active: boolean;
  delay_minutes: number;
}

export interface RunDetail {
  action?: string;
  ok?: boolean;
  error?: string;
}

export interface Run {
  id: number;
  event_id: number;
  event_name: string;
  conversation_id: number | null;
  chain: number[];
  outcome: 'scheduled' | 'acted' | 'failed' | 'lapsed' | 'stopped';
  detail: RunDetail[];
  due_at: number | null;
  created_at: number;
  updated_at: number;
}

export interface Preview {
  checked: number;
  matched: number;
  payload: { conversation_id: number; matched: boolean; actions: string[] }[];
}

// ------------------------------------------------------------------ drafts

/** A condition as its row edits it: values as text; `field` is a business event's field. */
export interface CondDraft {
  key: string;
  field: string;
  op: string;
  values: string[];
  join: 'and' | 'or';
}

export interface ActDraft {
  name: string;
  params: string[];
}

export interface Draft {
  name: string;
  description: string;
  event_name: string;
  active: boolean;
  delay_minutes: number;
  conditions: CondDraft[];
  actions: ActDraft[];
}

export type Body = Omit<Draft, 'conditions' | 'actions'> & { conditions: Condition[]; actions: RuleAction[] };

const str = (v: unknown): string => (v === null || v === undefined ? '' : String(v));

export function emptyDraft(): Draft {
  return { name: '', description: '', event_name: 'conversation_created', active: true, delay_minutes: 0, conditions: [], actions: [{ name: 'add_label', params: [] }] };
}

/** A new condition row for `attr`: its first operator, no value. */
export function newCondition(attr: Attr): CondDraft {
  return { key: attr.key, field: '', op: OPERATORS[attr.kind][0] ?? 'equal_to', values: [], join: 'and' };
}

export function toDraft(rule: Rule): Draft {
  return {
    name: rule.name,
    description: rule.description ?? '',
    event_name: rule.event_name,
    active: rule.active,
    delay_minutes: rule.delay_minutes ?? 0,
    conditions: (rule.conditions ?? []).map((c) => {
      const field = c.attribute_key.startsWith(EVENT_FIELD) ? c.attribute_key.slice(EVENT_FIELD.length) : '';
      return {
        key: field ? EVENT_FIELD : c.attribute_key, field, op: c.filter_operator,
        values: (c.values ?? []).map(str), join: c.query_operator?.toLowerCase() === 'or' ? 'or' : 'and',
      };
    }),
    actions: actionsDraft(rule.actions),
  };
}

/** Actions (a rule's or a macro's) as their rows edit them. */
export function actionsDraft(actions: readonly RuleAction[] | null | undefined): ActDraft[] {
  return (actions ?? []).map((a) => ({ name: a.action_name, params: (a.action_params ?? []).map(str) }));
}

const NUMERIC = /^-?\d+(\.\d+)?$/;
const num = (v: string): string | number => (NUMERIC.test(v.trim()) ? Number(v) : v);

/** What the API takes: ids and numbers as numbers, flags as booleans, text trimmed. */
export function toBody(d: Draft, attrs: readonly Attr[]): Body {
  return {
    name: d.name.trim(),
    description: d.description.trim(),
    event_name: d.event_name,
    active: d.active,
    delay_minutes: Number(d.delay_minutes),
    conditions: d.conditions.map((c) => {
      const kind = attrOf(c.key, attrs)?.kind;
      const values = isUnary(c.op) ? [] : c.values.filter((v) => v.trim()).map((v): unknown =>
        kind === 'id' || kind === 'number' ? num(v) : kind === 'flag' ? (v === 'true' ? true : v === 'false' ? false : v) : v.trim());
      return { attribute_key: c.key === EVENT_FIELD ? EVENT_FIELD + c.field.trim() : c.key, filter_operator: c.op, values, query_operator: c.join };
    }),
    actions: actionsBody(d.actions),
  };
}

/** Action rows as the API takes them: agent, team and SLA policy ids as numbers, text trimmed. */
export function actionsBody(actions: readonly ActDraft[]): RuleAction[] {
  return actions.map((a) => {
    const kind = ACTIONS[a.name];
    const params = a.params.filter((p) => p.trim()).map((p): unknown => (kind === 'agent' || kind === 'team' || kind === 'sla' ? num(p) : p.trim()));
    return { action_name: a.name, action_params: params };
  });
}

/** The server's checks that need no database, by the field the server would name: the reason
 * as a word (`required`, `values`, `params`, `actions`, `delay`). */
export function check(d: Draft): Record<string, string> {
  const errors: Record<string, string> = {};
  if (!d.name.trim()) errors.name = 'required';
  // A cleared number input binds null (or '').
  const raw: unknown = d.delay_minutes;
  const delay = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() ? Number(raw) : NaN;
  if (!Number.isInteger(delay) || delay < 0 || delay > MAX_DELAY) errors.delay_minutes = 'delay';
  d.conditions.forEach((c, i) => {
    if (c.key === EVENT_FIELD && !/^[A-Za-z0-9_.]{1,64}$/.test(c.field.trim())) errors[`conditions[${i}].attribute_key`] = 'field';
    if (!isUnary(c.op) && !c.values.some((v) => v.trim())) errors[`conditions[${i}].values`] = 'values';
  });
  return { ...errors, ...checkActions(d.actions) };
}

/** The server's checks of action rows: at least one, each with the value it needs. */
export function checkActions(actions: readonly ActDraft[]): Record<string, string> {
  const errors: Record<string, string> = {};
  if (!actions.length) errors.actions = 'actions';
  actions.forEach((a, i) => {
    const kind = ACTIONS[a.name];
    if (kind && kind !== 'team' && kind !== 'priority' && !a.params.some((p) => p.trim())) errors[`actions[${i}].action_params`] = 'params';
  });
  return errors;
}

/** The messages of `field` and of the fields under it (`actions[0]` → `actions[0].action_params`). */
export function messagesUnder(errors: Record<string, string>, field: string): string {
  return Object.entries(errors).filter(([f]) => f === field || f.startsWith(`${field}.`)).map(([, m]) => m).join('; ');
}

/** A 422's field errors split into those a form shows by its fields (the ones under `fields`,
 * messages of one field joined) and the rest. */
export function byField(errors: readonly { field: string; message: string }[], fields: readonly string[]): { shown: Record<string, string>; rest: string[] } {
  const shown: Record<string, string> = {};
  const rest: string[] = [];
  for (const f of errors) {
    if (fields.some((top) => f.field === top || f.field.startsWith(`${top}.`) || f.field.startsWith(`${top}[`))) shown[f.field] = shown[f.field] ? `${shown[f.field]}; ${f.message}` : f.message;
    else rest.push(f.message);
  }
  return { shown, rest };
}

// ------------------------------------------------------------------ a macro's form

export interface MacroDraft {
  name: string;
  visibility: Visibility;
  actions: ActDraft[];
}

export interface MacroBody {
  name: string;
  visibility?: Visibility;
  actions: RuleAction[];
}

export function emptyMacro(): MacroDraft {
  return { name: '', visibility: 'personal', actions: [{ name: 'add_label', params: [] }] };
}

export function toMacroDraft(m: Macro): MacroDraft {
  return { name: m.name, visibility: m.visibility === 'global' ? 'global' : 'personal', actions: actionsDraft(m.actions) };
}

/** What the API takes. Only administrators choose the visibility (the server keeps agents'
 * macros personal), so theirs alone is sent. */
export function macroBody(d: MacroDraft, admin: boolean): MacroBody {
  const body: MacroBody = { name: d.name.trim(), actions: actionsBody(d.actions) };
  if (admin) body.visibility = d.visibility;
  return body;
}

/** The server's checks that need no database, by field: `required` (the name), `actions`,
 * `params`. */
export function checkMacro(d: MacroDraft): Record<string, string> {
  const errors: Record<string, string> = {};
  if (!d.name.trim()) errors.name = 'required';
  return { ...errors, ...checkActions(d.actions) };
}

// ------------------------------------------------------------------ in words

export type T = (key: string, vars?: Record<string, string | number>) => string;
/** Where records named by id come from. */
export type Records = 'agents' | 'teams' | 'inboxes' | 'slaPolicies';
/** A record's name: an agent's, team's, inbox's or SLA policy's, by id. */
export type Namer = (ids: Records, id: string) => string;

const lower = (s: string) => s.charAt(0).toLocaleLowerCase() + s.slice(1);

/** A channel type's name (the catalogue names Facebook's inbox kind `facebook_page`). */
export const channelKey = (v: string) => `channel.${v === 'facebook' ? 'facebook_page' : v}`;

/** One value of an attribute, as the screen shows it. */
export function valueLabel(attr: Attr | undefined, v: string, t: T, name: Namer): string {
  switch (attr?.kind) {
    case 'choice':
      if (attr.key === 'status') return t(`status.${v}`);
      if (attr.key === 'priority') return t(`priority.${v}`);
      if (attr.key === 'message_type') return t(`automation.message_type.${v}`);
      if (attr.key === 'channel_type') return t(channelKey(v));
      return v;
    case 'id':
      return attr.ids ? name(attr.ids, v) : v;
    case 'flag':
      return t(v === 'true' ? 'automation.yes' : 'automation.no');
    case 'text':
      return t('automation.quoted', { value: v });
    default:
      return v;
  }
}

export function attrLabel(attr: Attr | undefined, key: string, t: T): string {
  if (attr?.name) return attr.name;
  if (attr?.key === EVENT_FIELD) return t('automation.event_field', { field: key });
  return t(`automation.attr.${key}`);
}

/** One action's parameter, in words. */
export function paramLabel(kind: Param, p: string, t: T, name: Namer): string {
  switch (kind) {
    case 'agent':
      if (p === SELF) return t('macros.self_words');
      return p === 'nil' ? t('automation.nobody') : p === 'last_responding_agent' ? t('automation.last_responding_agent') : name('agents', p);
    case 'team':
      return p === '0' || p === '' ? t('automation.nobody') : name('teams', p);
    case 'text':
      return t('automation.quoted', { value: p });
    case 'status':
      return t(`status.${p}`);
    case 'priority':
      return t(`priority.${p || 'none'}`);
    case 'sla':
      return name('slaPolicies', p);
    default:
      return p;
  }
}

/** The rule in words: "When a message is created, if content contains “refund”, then add
 * label refund". */
export function summary(d: Draft, attrs: readonly Attr[], t: T, name: Namer): string {
  const or = ` ${t('automation.or')} `;
  const conditions = d.conditions.map((c, i) => {
    const attr = attrOf(c.key, attrs);
    const values = c.values.filter((v) => v.trim());
    const label = attrLabel(attr, c.key === EVENT_FIELD ? c.field : c.key, t);
    const words = [attr?.name ? label : lower(label), t(`automation.op.${c.op}`)];
    // Words (open, high) read in lower case; names (WhatsApp, a custom list's values) as they are.
    const asWord = attr?.kind === 'choice' && !attr.name && attr.key !== 'channel_type';
    if (!isUnary(c.op)) words.push(values.length ? values.map((v) => (asWord ? lower : String)(valueLabel(attr, v, t, name))).join(or) : '…');
    const join = i < d.conditions.length - 1 ? ` ${t(`automation.${c.join}`)}` : '';
    return words.join(' ') + join;
  });
  const vars = { event: t(`automation.when.${d.event_name}`), conditions: conditions.join(' '), actions: actionsInWords(d.actions, t, name) || '…' };
  const sentence = t(conditions.length ? 'automation.summary' : 'automation.summary_always', vars);
  const delay = Number(d.delay_minutes);
  return delay > 0 ? `${sentence} ${t('automation.summary_delay', { minutes: delay })}` : sentence;
}

/** Actions in words, lower case, comma-separated: "add label late, change status to pending"
 * ('' for none). */
export function actionsInWords(actions: readonly ActDraft[], t: T, name: Namer): string {
  return actions.map((a) => {
    const kind = ACTIONS[a.name] ?? '';
    const asWord = kind === 'status' || kind === 'priority';
    const params = a.params.filter((p) => p.trim()).map((p) => (asWord ? lower : String)(paramLabel(kind, p, t, name))).join(', ');
    return [lower(a.name in ACTIONS ? t(`automation.action.${a.name}`) : a.name), params].filter(Boolean).join(' ');
  }).join(', ');
}
