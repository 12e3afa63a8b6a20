// Throughline's chat widget: one file, no framework, drawn in a shadow root so the host page's
// styles neither leak in nor out. Loaded by
//   <script async src="https://throughline.example/widget.js" data-inbox="IDENTIFIER"></script>
// It talks to the Client API of that server and to the visitor's realtime socket.
import { catalogues, pickLocale, type Key, type Locale } from './i18n';
import { css } from './style';
import { CallPeer, parseSignal } from '../src/lib/rtc';

/** Contact fields as the visitor or the host page gives them (pre-chat answers, setUser, custom attributes). */
type Fields = Record<string, unknown>;
type Stored = { source_id?: string; conversation_id?: number | undefined; last_event_id?: number; unread?: number };

/** A pre-chat form field as the inbox configures it. */
type PreChatField = { name: string; label?: string; required?: boolean; enabled?: boolean };
/** `GET /public/api/v1/inboxes/{identifier}`: the inbox and how the widget draws itself ({} when it failed). */
type Config = {
  name?: string;
  widget_color?: string;
  welcome_title?: string;
  welcome_tagline?: string;
  agents_online?: boolean;
  agents?: { name: string; avatar_url?: string }[];
  enable_email_collect?: boolean;
  pre_chat_form_enabled?: boolean;
  pre_chat_form_options?: { pre_chat_fields?: PreChatField[]; pre_chat_message?: string };
  attachments?: { max_size_bytes?: number; allowed_types?: string[] };
  allow_messages_after_resolved?: boolean;
  /** Within the inbox's business hours now (always, without hours). */
  open_now?: boolean;
  /** When it next opens (Unix seconds), while closed; absent when it never does. */
  opens_at?: number;
  /** in_a_few_minutes, in_a_few_hours or in_a_day. */
  reply_time?: string;
  /** The help center the help tab searches (`/hc/{slug}/{locale}/…`). */
  help_center?: { slug: string; name: string; default_locale: string; locales: string[] };
  /** An agent bot listens: opening the chat is reported to it (it may greet first). */
  agent_bot?: boolean;
  /** Visitors may call from here (`calls`; `video`: with their camera) and ask to be called
   * back on the phone (`callbacks`). */
  web_calls?: { calls?: boolean; video?: boolean; callbacks?: boolean };
};
/** An article as the help center's public JSON gives it. */
type HelpArticle = { id: number; slug: string; title: string; description?: string | null; link: string; content_html?: string };
type Attachment = { file_type: string; data_url: string; thumb_url?: string; file_name?: string };
type Echo = { echo_id?: string };
/** A satisfaction survey's answer, as the server keeps it on the survey message. */
type SurveyAnswer = { rating?: number | string | null; feedback_message?: string | null };
/** `content_attributes`: the echo of what the visitor sent; on a survey (`input_csat`), its kind and answer. */
type ContentAttributes = Echo & { survey_type?: string; submitted_values?: { csat_survey_response?: SurveyAnswer } };
/** A message as the Client API and the visitor's socket show it. */
type ChatMessage = {
  id?: number;
  content?: string | null;
  /** 0 the visitor's, 1 an agent's, 3 the inbox's own (a survey). */
  message_type?: number;
  /** `input_csat`: a satisfaction survey, drawn as a rating control. */
  content_type?: string;
  created_at?: number;
  /** The conversation's display id. */
  conversation_id?: number;
  echo_id?: string;
  content_attributes?: ContentAttributes;
  additional_attributes?: Echo;
  attachments?: Attachment[];
  sender?: { name?: string; available_name?: string; avatar_url?: string };
};
/** What the visitor's socket sends. */
type Frame =
  | { type: 'ready'; agents_online?: boolean; last_event_id?: number }
  /** `data`: the message for message_* events, `{ id, status }` for conversation_status_changed. */
  | { type: 'event'; id?: number; event: string; conversation_id?: number; data?: ChatMessage & { status?: string } }
  | { type: 'typing'; on: boolean; who?: { type: string; name?: string } }
  | { type: 'presence'; agents_online?: boolean }
  | { type: 'resync' }
  /** A call of mine: an agent took it, a WebRTC signal from them, or it is over. */
  | { type: 'call_accepted'; call_id: number; agent?: { name?: string } }
  | { type: 'call_signal'; call_id: number; data?: unknown }
  | { type: 'call_ended'; call_id: number; outcome?: string | null };
/** What the page may call, as `window.$throughline`. */
type PublicApi = {
  setUser: (identifier: string, user?: Fields) => Promise<void>;
  setCustomAttributes: (attributes: Fields) => Promise<void>;
  setLocale: (locale: string) => void;
  toggle: (force?: boolean) => void;
  reset: () => void;
};
declare global {
  interface Window {
    $throughline?: PublicApi;
  }
}

const script = (document.currentScript as HTMLScriptElement | null) ??
  document.querySelector<HTMLScriptElement>('script[data-inbox][src*="widget.js"]');
const inboxId = script?.dataset.inbox ?? '';
const base = script ? new URL(script.src).origin : location.origin;
const storeKey = `throughline:${inboxId}`;

let locale: Locale = pickLocale(script?.dataset.locale);
const t = (key: Key, vars: Record<string, string | number> = {}) =>
  Object.entries(vars).reduce<string>((s, [k, v]) => s.replaceAll(`{${k}}`, String(v)), catalogues[locale][key]);

let stored: Stored = {};
try {
  stored = JSON.parse(localStorage.getItem(storeKey) ?? '{}');
} catch {
  stored = {};
}
const save = () => localStorage.setItem(storeKey, JSON.stringify(stored));

let config: Config = {};
let agentsOnline = false;
let open = false;
let messages: ChatMessage[] = [];
let typingName = '';
let pendingUser: Fields = {};
let pendingAttributes: Fields = {};
let socket: WebSocket | null = null;
let retry = 0;
let typingSent = false;
let typingTimer: ReturnType<typeof setTimeout> | undefined;
let status = 'open';
let emailSaved = false;
/** Surveys being answered, by message id: the rating picked, a PATCH under way, a refusal. */
const surveys = new Map<number, { rating?: number; busy?: boolean; failed?: boolean }>();
/** Loads the configuration again when a closed inbox should have opened. */
let hoursTimer: ReturnType<typeof setTimeout> | undefined;
/** The help tab: shown first until the visitor has a conversation. */
let tab: 'chat' | 'help' | undefined;
/** The visitor's call from the widget, from the click until they close its notice. */
type WidgetCall = {
  id?: number;
  video: boolean;
  phase: 'calling' | 'talking' | 'ended';
  /** Why it ended, when not simply hung up (a catalogue key). */
  note?: Key | undefined;
  agentName?: string | undefined;
  iceServers: RTCIceServer[];
  peer?: CallPeer | undefined;
  muted?: boolean;
  cameraOff?: boolean;
};
let webCall: WidgetCall | null = null;
/** "Call me back": the form open, a request under way, what the server kept, or its refusal. */
const callback: { open: boolean; busy?: boolean; sent?: string | undefined; error?: string | undefined } = { open: false };
const help: { query: string; results?: HelpArticle[] | undefined; article?: HelpArticle | undefined; voted?: boolean; loading?: boolean; failed?: boolean } = { query: '' };

/** The answer is the caller's to type (`T`); a failure throws an Error carrying the HTTP status. */
async function call<T>(method: string, path: string, body?: Fields | FormData): Promise<T> {
  const init: RequestInit = { method };
  if (body instanceof FormData) init.body = body;
  else if (body) {
    init.body = JSON.stringify(body);
    init.headers = { 'content-type': 'application/json' };
  }
  const response = await fetch(`${base}/public/api/v1/inboxes/${encodeURIComponent(inboxId)}${path}`, init);
  const data: unknown = await response.json().catch(() => null);
  if (!response.ok) {
    const message = typeof data === 'object' && data !== null && 'message' in data ? data.message : undefined;
    throw Object.assign(new Error(String(message ?? response.statusText)), { status: response.status });
  }
  return data as T;
}

/** The message of what a failed step threw; undefined (the generic sentence) when not an Error. */
const messageOf = (e: unknown) => (e instanceof Error ? e.message : undefined);
/** The HTTP status a failed call() carries. */
const statusOf = (e: unknown) => (e instanceof Error && 'status' in e ? e.status : undefined);

const contactPath = () => `/contacts/${encodeURIComponent(stored.source_id!)}`;

// ---------------------------------------------------------------- DOM
const host = document.createElement('div');
host.id = 'throughline-widget';
const root = host.attachShadow({ mode: 'open' });
/** An `on<event>` listener as the caller declares it (a keydown handler takes a KeyboardEvent):
 * method syntax lets one that expects a narrower event stand for a DOM listener. */
type Listener = { handle(event: Event): void }['handle'];
/** Attributes, `text` for the text content, and `on<event>` listeners; undefined and false are left out. */
type Attrs = Record<string, string | number | boolean | undefined | Listener>;
const el = <K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Node | string)[]) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === 'function') node.addEventListener(k.slice(2), v);
    else if (k === 'text') node.textContent = String(v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  node.append(...children);
  return node;
};

const style = el('style', { text: css });
// Icons are inline SVG paths: they render without emoji or icon fonts on the visitor's system.
const ICONS = {
  chat: 'M4 5.5A2.5 2.5 0 0 1 6.5 3h11A2.5 2.5 0 0 1 20 5.5v8a2.5 2.5 0 0 1-2.5 2.5H10l-4.5 4v-4A2.5 2.5 0 0 1 4 13.5z',
  close: 'M6 6l12 12M18 6 6 18',
  clip: 'M19 11.5l-7.5 7.5a4.8 4.8 0 0 1-6.8-6.8l8-8a3.2 3.2 0 0 1 4.5 4.5l-8 8a1.6 1.6 0 0 1-2.3-2.3l7.3-7.3',
  star: 'M12 3l2.8 5.7 6.2.9-4.5 4.4 1.1 6.2L12 17.3l-5.6 2.9 1.1-6.2L3 9.6l6.2-.9z',
  phone: 'M5 4h4l2 5-2.5 1.5a11 11 0 0 0 5 5L15 13l5 2v4a2 2 0 0 1-2 2A16 16 0 0 1 3 6a2 2 0 0 1 2-2',
  video: 'M3 7a2 2 0 0 1 2-2h9a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2zM16 10l5-3v10l-5-3',
};
function icon(name: keyof typeof ICONS, size = 24): SVGSVGElement {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  for (const [k, v] of Object.entries({ viewBox: '0 0 24 24', width: size, height: size, fill: 'none', stroke: 'currentColor', 'stroke-width': 2, 'stroke-linecap': 'round', 'stroke-linejoin': 'round', 'aria-hidden': 'true', focusable: 'false' }))
    svg.setAttribute(k, String(v));
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', ICONS[name]);
  svg.append(path);
  return svg;
}

const badge = el('span', { class: 'badge', hidden: true });
const launcher = el('button', { class: 'launcher', type: 'button', 'aria-expanded': 'false', onclick: () => toggle() });
const panel = el('section', { class: 'panel', role: 'dialog', 'aria-modal': 'false', hidden: true });
root.append(style, panel, launcher);

/** Someone answers now: an agent of the inbox is online and it is within its business hours. */
const isOnline = () => agentsOnline && config.open_now !== false;

/** The header's presence line: its state (online, closed, away) and its sentence. */
function presence(): [string, string] {
  if (isOnline()) return ['online', t('online')];
  const closed = config.open_now === false;
  if (closed && config.opens_at) {
    const at = new Date(config.opens_at * 1000);
    if (at.toDateString() === new Date().toDateString())
      return ['closed', t('back_at', { time: new Intl.DateTimeFormat(locale, { timeStyle: 'short' }).format(at) })];
    // Within the week the weekday says it; further away, the date too.
    const far = at.getTime() - Date.now() > 6 * 86_400_000;
    const when = new Intl.DateTimeFormat(locale, { weekday: 'long', hour: 'numeric', minute: '2-digit', ...(far ? { day: 'numeric', month: 'long' } : {}) });
    return ['closed', t('back_on', { when: when.format(at) })];
  }
  const r = config.reply_time;
  const key: Key = r === 'in_a_few_minutes' ? 'reply_minutes' : r === 'in_a_few_hours' ? 'reply_hours' : r === 'in_a_day' ? 'reply_day' : 'reply_asap';
  return [closed ? 'closed' : 'away', t(key)];
}

function render() {
  launcher.setAttribute('aria-label', open ? t('close') : t('open'));
  launcher.setAttribute('aria-expanded', String(open));
  launcher.replaceChildren(icon(open ? 'close' : 'chat'), badge);
  const unread = stored.unread ?? 0;
  badge.hidden = open || unread === 0;
  badge.textContent = String(unread);
  badge.setAttribute('aria-label', t('unread', { count: unread }));
  if (config.widget_color) host.style.setProperty('--tl-color', config.widget_color);
  panel.hidden = !open;
  if (!open) return;
  panel.setAttribute('aria-label', config.welcome_title || t('title'));
  // The panel is drawn anew: what was typed and where the focus was carry over (`data-keep`).
  const active = root.activeElement as HTMLElement | null;
  const focused = active?.dataset.keep;
  const selection = active instanceof HTMLTextAreaElement ? [active.selectionStart, active.selectionEnd] as const : null;
  const fields = () => panel.querySelectorAll<HTMLInputElement | HTMLTextAreaElement>('input[data-keep], textarea[data-keep]');
  const typed = new Map([...fields()].map((f) => [f.dataset.keep, f.value]));
  const [state, line] = presence();
  const agents = config.agents ?? [];
  const header = el('header', {},
    el('div', { class: 'avatars' }, ...agents.slice(0, 3).map((a) =>
      a.avatar_url ? el('img', { src: a.avatar_url, alt: a.name }) : el('span', { class: 'avatar', title: a.name, text: (a.name ?? '?').slice(0, 1) }))),
    el('div', {},
      el('h2', { text: config.welcome_title || config.name || t('title') }),
      el('p', { class: 'presence', 'data-state': state, text: line }),
      config.welcome_tagline ? el('p', { class: 'tagline', text: config.welcome_tagline }) : ''),
    ...callButtons(),
    // An icon, not a '×' character: the button's name is its label alone (axe: label-content-name-mismatch).
    el('button', { type: 'button', class: 'close', 'aria-label': t('close'), onclick: () => toggle(false) }, icon('close', 20)));
  const chatting = Boolean(stored.conversation_id || stored.source_id);
  const current = config.help_center ? tab ?? (chatting ? 'chat' : 'help') : 'chat';
  const body = current === 'help' ? helpView() : chatting ? conversationView() : preChatView();
  panel.replaceChildren(header, ...(webCall ? [callView()] : []), ...callbackView(), ...(config.help_center ? [tabs(current)] : []), body);
  for (const f of fields()) {
    const value = typed.get(f.dataset.keep);
    if (value) f.value = value;
  }
  const list = panel.querySelector('.messages');
  if (list) list.scrollTop = list.scrollHeight;
  const again = focused ? panel.querySelector<HTMLElement>(`[data-keep="${focused}"]`) : null;
  again?.focus({ preventScroll: true });
  if (again instanceof HTMLTextAreaElement && selection) again.setSelectionRange(selection[0], selection[1]);
}

/** Chat and Help, when the inbox has a help center. */
function tabs(current: 'chat' | 'help'): HTMLElement {
  const button = (name: 'chat' | 'help') => el('button', {
    type: 'button', role: 'tab', id: `tab-${name}`, 'aria-selected': String(current === name), 'aria-controls': 'tab-panel',
    text: t(name === 'chat' ? 'tab_chat' : 'tab_help'),
    onclick: () => { tab = name; if (name === 'help' && !help.results) searchHelp(''); render(); },
  });
  return el('div', { class: 'tabs', role: 'tablist' }, button('chat'), button('help'));
}

/** The portal's locale closest to the widget's. */
function helpLocale(): string {
  const hc = config.help_center!;
  const wanted = locale.replace('-', '_');
  return hc.locales.includes(wanted) ? wanted : hc.default_locale;
}

/** A GET of the help center's public JSON. */
async function helpGet<T>(path: string): Promise<T> {
  const response = await fetch(`${base}/hc/${encodeURIComponent(config.help_center!.slug)}${path}`, { headers: { accept: 'application/json' } });
  if (!response.ok) throw Object.assign(new Error(response.statusText), { status: response.status });
  return response.json() as Promise<T>;
}

/** The articles answering `query`, or the most read without one. */
async function searchHelp(query: string) {
  Object.assign(help, { query, article: undefined, loading: true, failed: false });
  render();
  const params = new URLSearchParams(query ? { query, per_page: '8' } : { sort: 'views', per_page: '6' });
  try {
    help.results = (await helpGet<{ payload: HelpArticle[] }>(`/${helpLocale()}/articles.json?${params}`)).payload;
  } catch {
    help.failed = true;
  }
  help.loading = false;
  render();
}

async function openArticle(slug: string) {
  Object.assign(help, { loading: true, failed: false, voted: false });
  render();
  try {
    help.article = await helpGet<HelpArticle>(`/articles/${encodeURIComponent(slug)}.json`);
  } catch {
    help.failed = true;
  }
  help.loading = false;
  render();
}

/** "Was this helpful?": a form post (no preflight from the host page's origin) asking for JSON. */
async function vote(helpful: boolean) {
  const article = help.article;
  if (!article) return;
  help.voted = true;
  render();
  await fetch(`${base}/hc/${encodeURIComponent(config.help_center!.slug)}/articles/${encodeURIComponent(article.slug)}/feedback`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body: `helpful=${helpful ? 'yes' : 'no'}`,
  }).catch(() => undefined);
}

function helpView(): HTMLElement {
  const wrap = el('div', { class: 'help', role: 'tabpanel', id: 'tab-panel', 'aria-labelledby': 'tab-help' });
  const toChat = el('button', { type: 'button', class: 'primary', text: t('help_still'), onclick: () => { tab = 'chat'; render(); } });
  const article = help.article;
  if (article) {
    const body = el('div', { class: 'article-body' });
    // The server renders and sanitises the article (the same HTML as its public page).
    body.innerHTML = article.content_html ?? '';
    for (const a of body.querySelectorAll('a')) Object.assign(a, { target: '_blank', rel: 'noopener noreferrer' });
    wrap.append(
      el('button', { type: 'button', class: 'link', text: t('help_back'), onclick: () => { help.article = undefined; render(); } }),
      el('h3', { text: article.title }), body,
      el('a', { href: `${base}/${article.link}`, target: '_blank', rel: 'noopener noreferrer', text: t('help_open') }),
      help.voted
        ? el('p', { role: 'status', text: t('help_thanks') })
        : el('div', { class: 'votes' }, el('span', { text: t('help_helpful') }),
          el('button', { type: 'button', text: t('help_yes'), onclick: () => vote(true) }),
          el('button', { type: 'button', text: t('help_no'), onclick: () => vote(false) })),
      toChat);
    return wrap;
  }
  const input = el('input', { type: 'search', name: 'query', value: help.query, 'data-keep': 'help-search' }) as HTMLInputElement;
  const form = el('form', { role: 'search', onsubmit: (e: Event) => { e.preventDefault(); searchHelp(input.value.trim()); } },
    el('label', {}, t('help_search'), input), el('button', { type: 'submit', class: 'primary', text: t('help_search_button') }));
  wrap.append(form);
  if (help.loading) wrap.append(el('p', { role: 'status', text: t('help_loading') }));
  else if (help.failed) wrap.append(el('p', { class: 'error', role: 'alert', text: t('error') }));
  else if (help.results) {
    wrap.append(el('h3', { text: t(help.query ? 'help_results' : 'help_popular') }));
    if (help.results.length === 0) wrap.append(el('p', { text: t('help_none') }));
    else wrap.append(el('ul', { class: 'results' }, ...help.results.map((a) => el('li', {},
      el('button', { type: 'button', onclick: () => openArticle(a.slug) }, el('strong', { text: a.title }), a.description ? el('span', { text: a.description }) : '')))));
  }
  wrap.append(toChat);
  return wrap;
}

function preChatFields(): PreChatField[] {
  const configured = config.pre_chat_form_options?.pre_chat_fields;
  const fields = configured?.length && config.pre_chat_form_enabled !== false
    ? configured.filter((f) => f.enabled !== false)
    : [{ name: 'name', required: false }, { name: 'email', required: false }];
  return fields
    .filter((f) => !pendingUser[f.name])
    .map((f) => (f.name === 'email' && !isOnline() && config.enable_email_collect !== false ? { ...f, required: true } : f));
}

function preChatView(): HTMLElement {
  const fields = preChatFields();
  const form = el('form', { class: 'prechat', onsubmit: (e: Event) => { e.preventDefault(); start(new FormData(form)); } });
  if (!isOnline()) form.append(el('p', { class: 'notice', text: t('offline_help') }));
  if (config.pre_chat_form_options?.pre_chat_message) form.append(el('p', { text: config.pre_chat_form_options.pre_chat_message }));
  for (const f of fields) {
    const key = f.name as Key;
    const type = f.name === 'email' ? 'email' : f.name === 'phone_number' ? 'tel' : 'text';
    form.append(el('label', {}, f.label || t(key), f.required ? el('span', { class: 'req', text: ` (${t('required')})` }) : '',
      el('input', { name: f.name, type, required: f.required || undefined, autocomplete: f.name === 'phone_number' ? 'tel' : f.name })));
  }
  form.append(el('label', {}, t('message'), el('textarea', { name: 'content', required: true, rows: 3 })));
  form.append(el('button', { type: 'submit', class: 'primary', text: t('start') }));
  return form;
}

function conversationView(): HTMLElement {
  const wrap = el('div', { class: 'conversation' });
  const list = el('ol', { class: 'messages', 'aria-live': 'polite', 'aria-label': t('title') });
  for (const m of messages) {
    const mine = m.message_type === 0;
    const who = mine ? t('you') : (m.sender?.available_name || m.sender?.name || t('agent'));
    const survey = m.content_type === 'input_csat' && m.id !== undefined;
    const item = el('li', { class: `${mine ? 'mine' : 'theirs'}${survey ? ' survey-item' : ''}`, 'data-message': m.id ?? '' });
    if (!mine && m.sender?.avatar_url) item.append(el('img', { class: 'face', src: m.sender.avatar_url, alt: '' }));
    const bubble = el('div', { class: 'bubble' }, el('span', { class: 'who', text: who }));
    // A survey's text ends with the link of its page, for channels without buttons: here, the buttons.
    if (survey) bubble.append(surveyView(m));
    else if (m.content) bubble.append(el('p', { text: m.content }));
    for (const a of m.attachments ?? []) {
      bubble.append(a.file_type === 'image'
        ? el('a', { href: a.data_url, target: '_blank', rel: 'noopener noreferrer' }, el('img', { src: a.thumb_url || a.data_url, alt: a.file_name ?? '' }))
        : el('a', { href: a.data_url, target: '_blank', rel: 'noopener noreferrer' }, icon('clip', 14), ` ${a.file_name ?? t('attach')}`));
    }
    if (m.created_at) bubble.append(el('time', { text: new Intl.DateTimeFormat(locale, { timeStyle: 'short' }).format(new Date(m.created_at * 1000)) }));
    item.append(bubble);
    list.append(item);
  }
  wrap.append(list);
  if (typingName) wrap.append(el('p', { class: 'typing', role: 'status', text: t('typing', { name: typingName }) }));
  if (status === 'resolved') wrap.append(el('p', { class: 'notice', text: t('resolved') }));
  if (!isOnline() && !emailSaved && !pendingUser.email) {
    const form = el('form', { class: 'collect', onsubmit: (e: Event) => { e.preventDefault(); collectEmail(String(new FormData(form).get('email') ?? '')); } },
      el('label', {}, t('offline_help'), el('input', { name: 'email', type: 'email', required: true, autocomplete: 'email', 'data-keep': 'email' })),
      el('button', { type: 'submit', text: t('save_email') }));
    wrap.append(form);
  } else if (emailSaved) wrap.append(el('p', { class: 'notice', text: t('email_saved') }));
  const input = el('textarea', { name: 'content', rows: 2, placeholder: t('placeholder'), 'aria-label': t('message'), 'data-keep': 'composer',
    oninput: () => typing(true),
    onkeydown: (e: KeyboardEvent) => { if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); composer.requestSubmit(); } } });
  const file = el('input', { type: 'file', class: 'file', 'aria-label': t('attach') }) as HTMLInputElement;
  const composer = el('form', { class: 'composer', onsubmit: (e: Event) => { e.preventDefault(); send(input as HTMLTextAreaElement, file); } },
    input, el('label', { class: 'attach', title: t('attach') }, el('span', { 'aria-hidden': 'true', text: '📎' }), file),
    el('button', { type: 'submit', class: 'primary', text: t('send') }));
  wrap.append(composer);
  // The composer takes the focus unless the visitor is busy elsewhere in the panel (a survey).
  queueMicrotask(() => (open && !panel.contains(root.activeElement) ? (input as HTMLTextAreaElement).focus({ preventScroll: true }) : null));
  return wrap;
}

/** The rating a survey was answered with, if it was. */
function surveyRating(m: ChatMessage): number | undefined {
  const rating = m.content_attributes?.submitted_values?.csat_survey_response?.rating;
  return rating === undefined || rating === null || rating === '' || !Number.isFinite(Number(rating)) ? undefined : Number(rating);
}

/** A satisfaction survey: CSAT 1–5 stars or NPS 0–10, an optional comment and Send; once answered, thanks. */
function surveyView(m: ChatMessage): HTMLElement {
  const id = m.id ?? 0;
  const nps = m.content_attributes?.survey_type === 'nps';
  const max = nps ? 10 : 5;
  const box = el('div', { class: 'survey', 'data-survey': nps ? 'nps' : 'csat' });
  const answered = surveyRating(m);
  if (answered !== undefined) {
    box.append(el('p', { class: 'thanks', text: t('survey_thanks', { rating: answered, max }) }));
    return box;
  }
  const draft = surveys.get(id) ?? {};
  const question = t(nps ? 'survey_nps' : 'survey_csat');
  const scale = el('div', { class: `scale ${nps ? 'nps' : 'stars'}`, role: 'group', 'aria-label': question });
  for (let n = nps ? 0 : 1; n <= max; n++) {
    const picked = draft.rating !== undefined && (nps ? n === draft.rating : n <= draft.rating);
    scale.append(el('button', {
      type: 'button', class: picked ? 'on' : undefined, 'aria-label': t('rating_of', { n, max }), 'aria-pressed': String(n === draft.rating),
      'data-keep': `s${id}-${n}`, disabled: draft.busy,
      onclick: () => {
        surveys.set(id, { rating: n });
        render();
      },
    }, nps ? String(n) : icon('star', 26)));
  }
  const comment = el('textarea', { name: 'feedback', rows: 2, maxlength: 5000, 'data-keep': `s${id}-c` }) as HTMLTextAreaElement;
  const form = el('form', { onsubmit: (e: Event) => { e.preventDefault(); answerSurvey(m, comment.value); } },
    el('label', {}, t('survey_comment'), comment),
    el('button', { type: 'submit', class: 'primary', disabled: draft.rating === undefined || draft.busy, text: draft.busy ? t('sending') : t('send') }));
  box.append(el('p', { class: 'question', text: question }), scale);
  if (nps) box.append(el('p', { class: 'ends' }, el('span', { text: t('nps_low') }), el('span', { text: t('nps_high') })));
  box.append(form);
  if (draft.failed) box.append(el('p', { class: 'error', role: 'alert', text: t('survey_error') }));
  return box;
}

/** Sends a survey's answer as Chatwoot's widget does (`submitted_values.csat_survey_response`). */
async function answerSurvey(m: ChatMessage, feedback: string) {
  const id = m.id;
  const rating = id === undefined ? undefined : surveys.get(id)?.rating;
  if (id === undefined || rating === undefined || surveys.get(id)?.busy) return;
  const answer: SurveyAnswer = { rating };
  if (feedback.trim()) answer.feedback_message = feedback.trim();
  surveys.set(id, { rating, busy: true });
  render();
  try {
    const updated = await call<ChatMessage>('PATCH', `${contactPath()}/conversations/${m.conversation_id ?? stored.conversation_id}/messages/${id}`,
      { submitted_values: { csat_survey_response: answer } });
    surveys.delete(id);
    // The answer shows at once, even if the server's copy of the message left it out; in place,
    // as the survey may belong to a conversation before the current one.
    const shown: ChatMessage = surveyRating(updated) === undefined
      ? { ...updated, content_attributes: { ...m.content_attributes, ...updated.content_attributes, submitted_values: { csat_survey_response: answer } } }
      : updated;
    const index = messages.findIndex((x) => x.id === id);
    if (index >= 0) messages[index] = { ...messages[index], ...shown, id };
  } catch {
    surveys.set(id, { rating, failed: true });
  }
  render();
}

function showError(message = t('error')) {
  panel.querySelector('.error')?.remove();
  panel.append(el('p', { class: 'error', role: 'alert', text: message }));
}

// ---------------------------------------------------------------- flow
async function ensureContact(values: Fields = {}) {
  if (stored.source_id) return;
  const body: Fields = { ...values, ...pendingUser };
  if (Object.keys(pendingAttributes).length) body.custom_attributes = pendingAttributes;
  const contact = await call<{ source_id: string }>('POST', '/contacts', body);
  stored.source_id = contact.source_id;
  save();
  connect();
}

async function ensureConversation() {
  if (stored.conversation_id && status !== 'resolved') return;
  const conversation = await call<{ id: number; status?: string }>('POST', `${contactPath()}/conversations`, {
    referer_url: location.href,
    browser_language: navigator.language,
    initiated_at: new Date().toISOString(),
  });
  stored.conversation_id = conversation.id;
  status = conversation.status ?? 'open';
  save();
}

async function start(form: FormData) {
  const values: Record<string, string> = {};
  for (const f of preChatFields()) {
    const v = String(form.get(f.name) ?? '').trim();
    if (v) values[f.name] = v;
  }
  const content = String(form.get('content') ?? '').trim();
  try {
    await ensureContact(values);
    if (values.email) emailSaved = true;
    await ensureConversation();
    await post({ content });
  } catch (e) {
    showError(messageOf(e));
  }
}

async function post(payload: { content?: string; file?: File | undefined }) {
  const echo = `e${Date.now()}${Math.random().toString(36).slice(2, 6)}`;
  let body: Fields | FormData;
  if (payload.file) {
    body = new FormData();
    if (payload.content) body.set('content', payload.content);
    body.set('echo_id', echo);
    body.append('attachments[]', payload.file);
  } else body = { content: payload.content, echo_id: echo };
  const message = await call<ChatMessage>('POST', `${contactPath()}/conversations/${stored.conversation_id}/messages`, body);
  upsert(message);
  render();
}

async function send(input: HTMLTextAreaElement, fileInput: HTMLInputElement) {
  const content = input.value.trim();
  const file = fileInput.files?.[0];
  if (!content && !file) return;
  if (file) {
    const limits = config.attachments;
    if (limits?.max_size_bytes && file.size > limits.max_size_bytes) return showError(t('file_too_large', { size: Math.ceil(limits.max_size_bytes / 1048576) }));
    const types: string[] = limits?.allowed_types ?? [];
    if (types.length && !types.some((ty) => (ty.endsWith('/*') ? file.type.startsWith(ty.slice(0, -1)) : file.type === ty))) return showError(t('file_type'));
  }
  typing(false);
  try {
    if (status === 'resolved' && config.allow_messages_after_resolved === false) {
      stored.conversation_id = undefined;
    }
    await ensureConversation();
    input.value = '';
    await post({ content, file });
  } catch (e) {
    input.value = content;
    showError(messageOf(e));
  }
}

async function collectEmail(email: string) {
  try {
    pendingUser.email = email;
    if (stored.source_id) await call('PATCH', contactPath(), { email });
    emailSaved = true;
    render();
  } catch (e) {
    showError(messageOf(e));
  }
}

function typing(on: boolean) {
  if (!stored.conversation_id) return;
  clearTimeout(typingTimer);
  if (on) typingTimer = setTimeout(() => typing(false), 4000);
  if (on === typingSent) return;
  typingSent = on;
  if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: 'typing', conversation_id: stored.conversation_id, on }));
}

function upsert(m: ChatMessage) {
  if (m.conversation_id && stored.conversation_id && m.conversation_id !== stored.conversation_id) return;
  const echo = m.content_attributes?.echo_id ?? m.additional_attributes?.echo_id ?? m.echo_id;
  const index = messages.findIndex((x) => x.id === m.id || (echo && x.echo_id === echo));
  if (index >= 0) messages[index] = { ...messages[index], ...m };
  else messages.push(m);
  messages.sort((a, b) => (a.created_at ?? 0) - (b.created_at ?? 0) || (a.id ?? 0) - (b.id ?? 0));
}

async function loadHistory() {
  if (!stored.source_id || !stored.conversation_id) return;
  try {
    const list = await call<ChatMessage[] | { payload?: ChatMessage[] }>('GET', `${contactPath()}/conversations/${stored.conversation_id}/messages`);
    messages = [];
    for (const m of (Array.isArray(list) ? list : (list.payload ?? []))) upsert(m);
    const conversation = await call<{ status?: string }>('GET', `${contactPath()}/conversations/${stored.conversation_id}`).catch(() => null);
    if (conversation?.status) status = conversation.status;
  } catch (e) {
    if (statusOf(e) === 404 || statusOf(e) === 401) {
      stored = {};
      save();
    }
  }
  render();
}

function connect() {
  if (!stored.source_id || socket) return;
  const url = new URL(`${base}/public/api/v1/inboxes/${encodeURIComponent(inboxId)}${contactPath()}/realtime`);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  if (stored.last_event_id) url.searchParams.set('after', String(stored.last_event_id));
  const ws = new WebSocket(url);
  socket = ws;
  ws.onmessage = (message) => {
    let frame: Frame;
    try {
      frame = JSON.parse(message.data);
    } catch {
      return;
    }
    if (frame.type === 'ready') {
      retry = 0;
      if (typeof frame.agents_online === 'boolean') agentsOnline = frame.agents_online;
      if (typeof frame.last_event_id === 'number' && !stored.last_event_id) stored.last_event_id = frame.last_event_id;
      save();
      render();
    } else if (frame.type === 'event') {
      if (typeof frame.id === 'number') {
        if (stored.last_event_id && frame.id <= stored.last_event_id) return;
        stored.last_event_id = frame.id;
      }
      const data = frame.data;
      if (/^message_/.test(frame.event) && data) {
        const fresh = !messages.some((m) => m.id === data.id);
        upsert(data);
        if (fresh && (data.message_type === 1 || data.message_type === 3)) {
          typingName = '';
          if (!open) stored.unread = (stored.unread ?? 0) + 1;
        }
      } else if (frame.event === 'conversation_status_changed' && data?.status) {
        status = data.status;
      }
      save();
      render();
    } else if (frame.type === 'typing' && frame.who?.type === 'user') {
      typingName = frame.on ? frame.who.name || t('agent') : '';
      render();
    } else if (frame.type === 'presence' && typeof frame.agents_online === 'boolean') {
      agentsOnline = frame.agents_online;
      render();
    } else if (frame.type === 'resync') {
      loadHistory();
    } else if (frame.type.startsWith('call_')) {
      onCallFrame(frame);
    }
  };
  ws.onclose = () => {
    socket = null;
    setTimeout(connect, Math.min(30_000, 1000 * 2 ** retry++));
  };
}

/** Opening the chat is reported once per page (Chatwoot's `webwidget.triggered`) to a
 * listening bot — which needs a contact to greet, so one is made — or for a known visitor. */
let triggered = false;
async function reportOpened() {
  if (triggered || !(config.agent_bot || stored.source_id)) return;
  triggered = true;
  try {
    await ensureContact();
    await call('POST', `${contactPath()}/events`, {
      name: 'webwidget.triggered',
      event_info: {
        initiated_at: { timestamp: new Date().toString() },
        referer: location.href,
        widget_language: locale,
        browser_language: navigator.language,
      },
    });
  } catch {
    // Only a bot's greeting depends on it; the chat works without.
  }
}

function toggle(force?: boolean) {
  open = force ?? !open;
  if (open) {
    stored.unread = 0;
    save();
    void reportOpened();
  }
  render();
}

// ---------------------------------------------------------------- calls
/** Call buttons in the header: when the inbox takes calls, someone is there to answer, and no
 * call is under way. */
function callButtons(): HTMLElement[] {
  if (!config.web_calls?.calls || !isOnline() || (webCall && webCall.phase !== 'ended')) return [];
  const button = (video: boolean) => el('button', { type: 'button', class: 'close call-start', 'aria-label': t(video ? 'call_video' : 'call_voice'),
    onclick: () => startCall(video) }, icon(video ? 'video' : 'phone', 20));
  return [button(false), ...(config.web_calls.video ? [button(true)] : [])];
}

/** The call's box: kept across renders (its video elements keep playing), redrawn inside. */
const callBox = el('section', { class: 'call', 'aria-live': 'polite' });
const remoteVideo = el('video', { class: 'remote', autoplay: true, playsinline: true }) as HTMLVideoElement;
const localVideo = el('video', { class: 'local', autoplay: true, playsinline: true }) as HTMLVideoElement;
localVideo.muted = true;

function callView(): HTMLElement {
  const c = webCall!;
  callBox.setAttribute('aria-label', t(c.video ? 'call_video' : 'call_voice'));
  const line = c.phase === 'calling' ? t('call_calling') : c.phase === 'talking' ? t('call_talking', { name: c.agentName || t('agent') }) : t(c.note ?? 'call_ended');
  const controls = c.phase === 'ended'
    ? [el('button', { type: 'button', text: t('call_close'), onclick: () => { webCall = null; render(); } })]
    : [
      ...(c.phase === 'talking' ? [
        el('button', { type: 'button', 'aria-pressed': String(Boolean(c.muted)), text: t(c.muted ? 'call_unmute' : 'call_mute'),
          onclick: () => { c.muted = !c.muted; c.peer?.mute(c.muted); render(); } }),
        ...(c.video ? [el('button', { type: 'button', 'aria-pressed': String(Boolean(c.cameraOff)), text: t(c.cameraOff ? 'call_camera_on' : 'call_camera_off'),
          onclick: () => { c.cameraOff = !c.cameraOff; c.peer?.camera(!c.cameraOff); render(); } })] : []),
      ] : []),
      el('button', { type: 'button', class: 'hang-up', text: t('call_hang_up'), onclick: () => hangUp() }),
    ];
  remoteVideo.hidden = c.phase !== 'talking';
  remoteVideo.setAttribute('aria-label', t('call_remote', { name: c.agentName || t('agent') }));
  localVideo.hidden = !(c.video && c.phase === 'talking');
  localVideo.setAttribute('aria-label', t('you'));
  callBox.replaceChildren(el('p', { role: 'status', text: line }), remoteVideo, localVideo, el('div', { class: 'call-controls' }, ...controls));
  return callBox;
}

/** "Call me back" (when the inbox offers it): a bar under the header opening a small form —
 * the visitor's number, a time that suits them, a note — sent as a callback request. */
function callbackView(): HTMLElement[] {
  if (!config.web_calls?.callbacks || (webCall && webCall.phase !== 'ended')) return [];
  const bar = el('section', { class: 'call callback', 'aria-label': t('callback_title') });
  if (callback.sent) {
    bar.append(el('p', { role: 'status', text: t('callback_sent', { phone: callback.sent }) }),
      el('div', { class: 'call-controls' }, el('button', { type: 'button', text: t('call_close'), onclick: () => { callback.sent = undefined; render(); } })));
    return [bar];
  }
  if (!callback.open) {
    bar.append(el('div', { class: 'call-controls' }, el('button', { type: 'button', 'aria-expanded': 'false', text: t('callback_open'),
      onclick: () => { callback.open = true; render(); } })));
    return [bar];
  }
  const form = el('form', { class: 'callback-form', onsubmit: (e: Event) => { e.preventDefault(); askCallback(new FormData(form)); } },
    el('label', {}, t('callback_phone'), el('input', { name: 'phone_number', type: 'tel', required: true, autocomplete: 'tel', placeholder: '+55 11 98765 4321', 'data-keep': 'callback-phone' })),
    el('label', {}, t('callback_when'), el('input', { name: 'preferred_at', type: 'datetime-local', 'data-keep': 'callback-when' })),
    el('label', {}, t('callback_note'), el('textarea', { name: 'note', rows: 2, maxlength: 1000, 'data-keep': 'callback-note' })),
    ...(callback.error ? [el('p', { class: 'error', role: 'alert', text: callback.error })] : []),
    el('div', { class: 'call-controls' },
      el('button', { type: 'submit', class: 'primary', disabled: Boolean(callback.busy), text: t('callback_send') }),
      el('button', { type: 'button', text: t('callback_cancel'), onclick: () => { Object.assign(callback, { open: false, error: undefined }); render(); } })));
  bar.append(form);
  return [bar];
}

async function askCallback(form: FormData) {
  const when = String(form.get('preferred_at') ?? '');
  const note = String(form.get('note') ?? '').trim();
  const body: Fields = { phone_number: String(form.get('phone_number') ?? '').trim() };
  // The visitor's own clock and zone: the server keeps the moment.
  if (when) body.preferred_at = Math.floor(new Date(when).getTime() / 1000);
  if (note) body.note = note;
  Object.assign(callback, { busy: true, error: undefined });
  render();
  try {
    await ensureContact();
    const kept = await call<{ phone_number: string }>('POST', `${contactPath()}/callback_requests`, body);
    Object.assign(callback, { open: false, sent: kept.phone_number });
  } catch (e) {
    callback.error = messageOf(e) || t('error');
  }
  callback.busy = false;
  render();
}

async function startCall(video: boolean) {
  webCall = { video, phase: 'calling', iceServers: [] };
  render();
  try {
    await ensureContact();
    await ensureConversation();
    const answer = await call<{ call: { id: number; outcome?: string | null }; ice_servers?: RTCIceServer[] }>('POST', `${contactPath()}/calls`,
      { conversation_id: stored.conversation_id, video });
    if (!webCall) return;
    webCall.id = answer.call.id;
    webCall.iceServers = answer.ice_servers ?? [];
    if (answer.call.outcome) endCall(answer.call.outcome);
  } catch (e) {
    if (webCall) Object.assign(webCall, { phase: 'ended', note: 'call_failed' });
    showError(messageOf(e));
  }
  render();
}

function endCall(outcome?: string | null) {
  const c = webCall;
  if (!c) return;
  c.peer?.close();
  c.peer = undefined;
  remoteVideo.srcObject = null;
  localVideo.srcObject = null;
  c.note = outcome === 'missed' ? 'call_missed' : c.note;
  c.phase = 'ended';
  render();
}

async function hangUp() {
  const id = webCall?.id;
  endCall();
  if (id !== undefined) await call('POST', `${contactPath()}/calls/${id}/hang_up`).catch(() => undefined);
}

/** An agent took the call: this end offers, with the microphone (and camera). */
async function connectCall(c: WidgetCall) {
  const id = c.id!;
  const peer = new CallPeer({
    iceServers: c.iceServers,
    video: c.video,
    send: (data) => socket?.readyState === WebSocket.OPEN && socket.send(JSON.stringify({ type: 'call_signal', call_id: id, data })),
    onRemote: (stream) => { remoteVideo.srcObject = stream; },
    onState: (state) => { if (state === 'failed' && webCall === c) { c.note = 'call_failed'; hangUp(); } },
  });
  c.peer = peer;
  try {
    await peer.offer();
    localVideo.srcObject = peer.local;
  } catch {
    c.note = 'call_no_media';
    await hangUp();
  }
}

function onCallFrame(frame: Frame) {
  const c = webCall;
  if (!c || !('call_id' in frame) || frame.call_id !== c.id) return;
  if (frame.type === 'call_accepted' && c.phase === 'calling') {
    c.phase = 'talking';
    c.agentName = frame.agent?.name;
    render();
    connectCall(c);
  } else if (frame.type === 'call_signal') {
    const signal = parseSignal(frame.data);
    if (signal) c.peer?.take(signal).catch(() => undefined);
  } else if (frame.type === 'call_ended') {
    endCall(frame.outcome);
  }
}

// ---------------------------------------------------------------- public API
async function setUser(identifier: string, user: Fields = {}) {
  pendingUser = { ...pendingUser, identifier, ...user };
  if (user.phone && !user.phone_number) pendingUser.phone_number = user.phone;
  delete pendingUser.phone;
  if (stored.source_id) await call('PATCH', contactPath(), pendingUser).catch(() => {});
  render();
}

async function setCustomAttributes(attributes: Fields) {
  pendingAttributes = { ...pendingAttributes, ...attributes };
  if (stored.source_id) await call('PATCH', contactPath(), { custom_attributes: pendingAttributes }).catch(() => {});
}

window.$throughline = {
  setUser,
  setCustomAttributes,
  setLocale: (l: string) => {
    locale = pickLocale(l);
    render();
  },
  toggle,
  reset: () => {
    stored = {};
    messages = [];
    save();
    socket?.close();
    render();
  },
};

/** The inbox's configuration; a failed reload keeps the one there was. */
async function loadConfig() {
  try {
    config = await call<Config>('GET', '');
    agentsOnline = Boolean(config.agents_online);
    if (config.help_center && !help.results && !(stored.conversation_id || stored.source_id)) searchHelp('');
  } catch {
    // Nothing to do: at boot the widget draws itself with its defaults.
  }
  watchHours();
  render();
}

/** While the inbox is closed, one reload of the configuration once it should have opened (not
 * before a minute, should the visitor's clock run ahead of the server's). A timer holds a day at
 * most: a later opening is waited for a day at a time. */
function watchHours() {
  clearTimeout(hoursTimer);
  if (config.open_now !== false || !config.opens_at) return;
  const wait = config.opens_at * 1000 - Date.now();
  const day = 86_400_000;
  hoursTimer = setTimeout(wait > day ? watchHours : loadConfig, Math.min(Math.max(wait + 1000, 60_000), day));
}

async function boot() {
  document.body.append(host);
  await loadConfig();
  connect();
  await loadHistory();
  dispatchEvent(new CustomEvent('throughline:ready'));
}

if (document.body) boot();
else addEventListener('DOMContentLoaded', boot);
