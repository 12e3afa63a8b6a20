// The API's views as the agent app reads them: the fields the screens use, typed as the server
// (crates/core/src/views, crates/http/src/routes) sends them. Optional where the server may
// leave a field out (or where the app also accepts Chatwoot's shape); times are Unix seconds.
import type { AppliedSla } from './sla';

/** List endpoints answer a bare array or Chatwoot's `{ payload: [...] }`; the screens take either. */
export type Listing<T> = T[] | { payload: T[] };

export function listOf<T>(answer: Listing<T>): T[] {
  return Array.isArray(answer) ? answer : answer.payload;
}

/** `{ payload: … }`, Chatwoot's envelope. */
export type Payload<T> = { payload: T };

// ------------------------------------------------------------------ people

/** One account of the signed-in user (`profile.accounts`). */
export interface UserAccount {
  id: number;
  name: string;
  /** agent, supervisor or administrator. */
  role: string;
  /** The status the agent chose (online, busy or offline): where presence starts on connecting. */
  availability?: string;
  availability_status?: string;
}

/** `GET /api/v1/profile`, and the `data` of a sign-in. */
export interface Profile {
  id: number;
  name: string;
  available_name: string;
  display_name: string | null;
  message_signature: string | null;
  email: string;
  access_token?: string;
  account_id?: number;
  locale?: string;
  accounts: UserAccount[];
  /** The phone (E.164) rung when the call queue gives this user a phone call; null: none, so
   * the user is never rung. */
  phone_number?: string | null;
  /** Two-factor authentication is on. */
  mfa_enabled?: boolean;
  /** An account requires two-factor authentication of this user, not enrolled yet: the
   * session may only enrol (every other call answers 403 `mfa_enrollment_required`). */
  mfa_enrollment_required?: boolean;
  /** Invitations to other accounts waiting for this user's answer. */
  pending_invitations?: PendingInvitation[];
}

/** An invitation to join an account (`profile.pending_invitations`). */
export interface PendingInvitation {
  id: number;
  account_id: number;
  account_name: string;
  /** agent or administrator. */
  role: string;
  /** Absent when the inviting administrator is gone. */
  inviter_name?: string;
  created_at: number;
}

/** `GET /api/v1/profile/mfa`. */
export interface MfaStatus {
  enabled: boolean;
  backup_codes_generated: boolean;
  backup_codes_remaining: number;
  enrollment_required: boolean;
}

/** `POST /api/v1/profile/mfa`: a new secret, shown once. */
export interface MfaSetup {
  provisioning_url: string;
  secret: string;
  qr_code_svg: string;
}

/** `POST /auth/sign_in` (206) for a user with two-factor authentication. */
export interface MfaChallenge {
  mfa_required: true;
  mfa_token: string;
}

/** `GET /agents`. */
export interface Agent {
  id: number;
  name: string;
  available_name: string;
  email: string;
  role: string;
  /** The stored availability: online, busy or offline. */
  availability_status?: string;
}

export interface Team {
  id: number;
  name: string;
  description?: string;
  /** The signed-in user belongs to it. */
  is_member?: boolean;
}

export interface Label {
  id: number;
  title: string;
  description?: string;
  color: string;
}

export interface CannedResponse {
  id: number;
  short_code: string;
  content: string;
}

// ------------------------------------------------------------------ contacts

/** An inbox as a contact's identity shows it. */
export interface InboxSummary {
  id: number;
  name: string;
  channel_type: string;
}

/** An identity of a contact (`contact_inbox`). */
export interface ContactInbox {
  source_id: string;
  inbox: InboxSummary;
  address?: string;
  hmac_verified: boolean;
}

export interface Contact {
  id: number;
  name: string;
  email?: string;
  phone_number?: string;
  identifier?: string;
  custom_attributes: Record<string, unknown>;
  contact_inboxes?: ContactInbox[];
}

/** A possible duplicate of a contact. */
export interface MergeSuggestion {
  id: number;
  contact_id: number;
  candidate_id: number;
  /** same_address_unverified, ambiguous, similar_email, email_mentioned… */
  reason: string;
  detail?: string | null;
  /** open, dismissed, merged… */
  status: string;
}

/** A business event on a contact's journey (an order, a payment…). */
export interface BusinessEvent {
  id: number;
  type: string;
  title?: string | null;
  /** Whatever the sending system put there; `total` and `currency` are shown when present. */
  properties?: Record<string, unknown>;
  occurred_at: number;
}

// ------------------------------------------------------------------ inboxes

/** The email channel's settings, flattened onto an email inbox (administrators). */
export interface EmailChannel {
  email?: string;
  signature?: string;
  smtp_enabled?: boolean;
  smtp_address?: string;
  smtp_port?: number;
  smtp_login?: string;
  smtp_domain?: string;
  smtp_enable_ssl_tls?: boolean;
  smtp_enable_starttls_auto?: boolean;
  imap_enabled?: boolean;
  imap_address?: string;
  imap_port?: number;
  imap_login?: string;
  imap_enable_ssl?: boolean;
}

/** A WhatsApp message template as Meta lists it (`message_templates` of a WhatsApp Cloud inbox). */
export interface MessageTemplate {
  name: string;
  language: string;
  category?: string | null;
  /** APPROVED, PENDING, REJECTED… (only approved ones can be sent). */
  status: string;
  /** HEADER, BODY (with `{{1}}` parameters), FOOTER, BUTTONS. */
  components?: TemplateComponent[] | null;
}

export interface TemplateComponent {
  type?: string;
  format?: string;
  text?: string;
}

/** A messaging inbox's provider fields, flattened onto the inbox view (never a token or secret). */
export interface ProviderChannel {
  /** twilio, whatsapp_cloud, telegram, facebook_page or instagram. */
  provider?: string;
  phone_number?: string | null;
  /** Twilio: sms or whatsapp. */
  medium?: string;
  account_sid?: string;
  messaging_service_sid?: string | null;
  provider_config?: {
    phone_number_id?: string;
    business_account_id?: string;
    webhook_verify_token?: string;
    has_app_secret?: boolean;
  };
  /** Messenger / Instagram. */
  page_id?: string;
  verify_token?: string | null;
  has_app_secret?: boolean;
  /** Telegram: the bot's user name, once Telegram said it. */
  bot_name?: string | null;
  message_templates?: MessageTemplate[];
  message_templates_last_updated?: number | null;
  /** The URL to paste at the provider (null for Telegram: Throughline registers it). */
  provider_webhook_url?: string | null;
  /** A Twilio SMS number's Voice URL ("A call comes in") and call status callback (issue #19). */
  provider_voice_url?: string | null;
  provider_voice_status_url?: string | null;
}

export interface Inbox extends EmailChannel, ProviderChannel {
  id: number;
  name: string;
  /** `Channel::Email`, `Channel::WebWidget`, `Channel::Api`, `Channel::Whatsapp`… */
  channel_type: string;
  inbox_identifier: string;
  /** Website inboxes: the embed snippet. */
  web_widget_script?: string;
  /** Chatwoot nests the channel's settings here. */
  channel?: EmailChannel;
  /** The automatic replies, business hours and survey (see ./hours; some are repeated in
   * `settings`, which holds them all). */
  greeting_enabled?: boolean;
  greeting_message?: string | null;
  working_hours_enabled?: boolean;
  timezone?: string | null;
  out_of_office_message?: string | null;
  csat_survey_enabled?: boolean;
  settings?: InboxSettings;
}

/** An inbox's settings object, the fields the app reads. */
export interface InboxSettings {
  working_hours_enabled?: boolean;
  timezone?: string | null;
  /** Chatwoot's entries (./hours `WorkingHoursEntry`). */
  working_hours?: unknown;
  /** `{date, name?}` or `{from, to, name?}`. */
  holidays?: unknown;
  out_of_office_message?: string | null;
  /** in_a_few_minutes, in_a_few_hours or in_a_day. */
  reply_time?: string | null;
  csat_survey_enabled?: boolean;
  /** csat (1–5) or nps (0–10). */
  csat_survey_type?: string | null;
  [key: string]: unknown;
}

/** `POST /inboxes/{id}/test_credentials`: what the provider said, or its own error. */
export interface CredentialsReport {
  ok: boolean;
  provider?: Record<string, unknown> | null;
  provider_error?: string | null;
}

/** `POST /inboxes/{id}/email/test_connection`: one entry per server tried. */
export interface ConnectionReport {
  smtp?: ConnectionCheck;
  imap?: ConnectionCheck;
}

export interface ConnectionCheck {
  ok: boolean;
  error?: string;
}

// ------------------------------------------------------------------ conversations

export interface ConversationAttributes {
  /** Set when this conversation was merged into another (its display id). */
  merged_into?: number;
  /** Set when this conversation was split out of another (its display id). */
  split_from?: number;
  [key: string]: unknown;
}

export interface ConversationMeta {
  sender: Contact;
  /** The channel type of the inbox the conversation started in. */
  channel?: string;
  assignee?: Agent | undefined;
  team?: Team | undefined;
}

export interface Conversation {
  /** The display id, unique per account. */
  id: number;
  /** The public id (the survey's link names it). */
  uuid?: string;
  inbox_id: number;
  /** open, resolved, pending or snoozed. */
  status: string;
  snoozed_until?: number | undefined;
  priority?: string | null;
  labels: string[];
  additional_attributes?: ConversationAttributes;
  last_activity_at?: number;
  timestamp?: number;
  unread_count: number;
  /** The latest message, as the list shows it. */
  messages?: Message[];
  last_non_activity_message?: Message;
  /** The SLA policy measuring it, and how it stands (the badges). */
  sla_policy_id?: number;
  applied_sla?: AppliedSla;
  meta: ConversationMeta;
}

/** The assignee-tab counts of `GET /conversations`. */
export interface ConversationCounts {
  mine_count: number;
  unassigned_count: number;
  all_count: number;
}

export interface ConversationList {
  data: { meta: ConversationCounts; payload: Conversation[] };
}

/** `POST /conversations/{id}/toggle_status`. */
export interface ToggleStatusAnswer {
  payload?: { current_status?: string; snoozed_until?: number };
}

/** A channel a reply in a conversation can go through, and why not when it cannot. */
export interface ReplyChannel {
  inbox_id: number;
  inbox_name: string;
  channel_type: string;
  available: boolean;
  /** no_address, visitor_offline, whatsapp_window_closed… */
  reason: string | null;
  /** A sentence for the agent. */
  explanation: string | null;
  default: boolean;
  /** Windowed channels (WhatsApp, Messenger, Instagram): when free-form replies stop, Unix seconds. */
  window_closes_at?: number;
}

// ------------------------------------------------------------------ messages

export interface Attachment {
  id: number;
  /** image, audio, video, file, location or fallback. */
  file_type: string;
  file_name?: string;
  content_type?: string;
  data_url: string;
  thumb_url: string;
}

/** Who wrote a message: a contact, an agent or a bot (the fields they have in common or not). */
export interface MessageSender {
  id: number;
  name: string;
  available_name?: string;
  type?: string;
}

/** The structured facts of an activity line, shown in the agent's language. */
export interface Activity {
  kind?: string;
  actor?: string;
  assignee_id?: number | null;
  team_id?: number | null;
  labels?: string[];
  status?: string;
  priority?: string | null;
  from?: string | number;
  to?: string | number;
  count?: number;
}

/** An email as the server parsed and sanitised it. */
export interface EmailContent {
  subject?: string | null;
  from?: string[];
  from_name?: string;
  to?: string[];
  cc?: string[];
  /** Sanitised HTML: all of it, the reply alone, and the part quoted from earlier mail. */
  html_content?: { full?: string; reply?: string; quoted?: string };
  text_content?: { full?: string; reply?: string; quoted?: string };
  auto_reply?: boolean;
}

/** A place a customer shared (WhatsApp, Telegram, Twilio: numbers or strings; Meta: `title`). */
export interface SharedLocation {
  latitude?: number | string | null;
  longitude?: number | string | null;
  name?: string | null;
  title?: string | null;
  label?: string | null;
  address?: string | null;
}

/** A contact card: WhatsApp's shape (`contacts`) or Telegram's (`contact`). */
export interface SharedContact {
  name?: { formatted_name?: string; first_name?: string; last_name?: string };
  phones?: { phone?: string; wa_id?: string; type?: string }[];
  emails?: { email?: string }[];
  first_name?: string;
  last_name?: string;
  phone_number?: string;
}

/** What a messaging channel recorded about a customer's message (`content_attributes.whatsapp`,
 * `.telegram`, `.twilio`, `.messenger`, `.instagram`). */
export interface ChannelDetails {
  type?: string;
  location?: SharedLocation;
  contacts?: SharedContact[];
  contact?: SharedContact;
  is_reaction?: boolean;
  /** Meta: react or unreact. */
  action?: string;
  emoji?: string;
  in_reply_to_external_id?: string;
  voice?: boolean;
  interactive_reply?: { id?: string; title?: string };
  button?: { text?: string; payload?: string };
  story_mention?: { url?: string | null };
  story_reply?: { id?: string | null; url?: string | null };
  /** Telegram: who wrote (in a group, one of several people). */
  from?: { id?: number; name?: string; username?: string };
  chat?: { id?: number; type?: string; title?: string };
}

/** A customer's file that could not be downloaded from the provider yet. */
export interface PendingMedia {
  handle?: string;
  content_type?: string | null;
  file_name?: string | null;
  error?: string;
}

export interface MessageAttributes {
  email?: EmailContent;
  /** Why the channel refused the message (status failed). */
  external_error?: string;
  activity?: Activity;
  whatsapp?: ChannelDetails;
  telegram?: ChannelDetails;
  twilio?: ChannelDetails;
  messenger?: ChannelDetails;
  instagram?: ChannelDetails;
  media_pending?: PendingMedia[];
  /** The customer edited the message (Telegram): earlier texts, oldest first, and when. */
  previous_contents?: string[];
  edited_at?: number;
  [key: string]: unknown;
}

export interface Message {
  id: number;
  content?: string | null;
  inbox_id?: number;
  conversation_id?: number;
  /** 0 incoming, 1 outgoing, 2 activity, 3 template. */
  message_type: number;
  /** text, or input_csat for the satisfaction survey. */
  content_type?: string;
  content_attributes?: MessageAttributes;
  private?: boolean;
  /** queued, sent, delivered, read or failed. */
  status?: string;
  created_at: number;
  attachments?: Attachment[];
  sender?: MessageSender;
  conversation?: { assignee_id?: number };
}

// ------------------------------------------------------------------ administration

/** Who an account requires two-factor authentication of. */
export type MfaEnforcement = 'off' | 'administrators' | 'everyone';

export interface Account {
  id: number;
  name: string;
  locale?: string;
  settings?: { continue_across_channels?: boolean; reopen_window_hours?: number; mfa_enforcement?: MfaEnforcement };
  /** Also accepted at the top level. */
  continue_across_channels?: boolean;
  reopen_window_hours?: number;
}

// ------------------------------------------------------------------ privacy

/** A contact export (`POST …/contacts/{id}/export`, `GET …/contacts/{id}/exports/{export_id}`). */
export interface ContactExport {
  id: number;
  contact_id: number;
  status: 'pending' | 'running' | 'done' | 'failed';
  /** Steps: one per conversation and one for the contact. */
  progress: { done: number; total: number; percent: number };
  /** Once done. */
  byte_size?: number;
  download_url?: string;
  error?: string;
  created_at: number;
  finished_at?: number;
  expires_at?: number;
}

/** What an erasure removed (`POST …/contacts/{id}/erase`, `GET …/erasure_receipts`). */
export interface ErasureReceipt {
  id: number;
  /** `contact` (an erasure asked for) or `retention` (a pass of the retention policy). */
  kind: string;
  /** The erased contact's former id. */
  contact_id?: number;
  /** The administrator who asked; absent for the retention policy. */
  requested_by?: number;
  /** Kinds of records and how many of each (no values). */
  counts: Record<string, number>;
  erased_at: number;
}

export type RetentionAction = 'delete' | 'anonymise';

/** `GET|PUT|DELETE …/data_retention`: null when conversations are kept until deleted by hand. */
export interface RetentionView {
  data_retention: { resolved_conversations_after_months: number; action: RetentionAction } | null;
}

export interface Webhook {
  id: number;
  url: string;
  subscriptions?: string[];
}

/** One delivery of one event to a webhook. */
export interface WebhookDelivery {
  /** Sent as `X-Throughline-Delivery`; the same on every retry. */
  id: string;
  event: string;
  /** pending, delivered or failed. */
  state?: string;
  /** What the delivery log reads (Throughline's server sends `state`, not `status`). */
  status?: string;
  attempts?: number;
  last_error?: string;
  /** Read when there is no `last_error` (not sent by Throughline's server). */
  error?: string;
  created_at: number;
}

/** A row of one of the simple resources (agents, teams, labels, canned responses, bots). */
export interface ResourceItem {
  id: number;
  [field: string]: unknown;
}

/** A field of a simple resource's create form. */
export interface ResourceField {
  name: string;
  required?: boolean;
  /** The input's type (text when absent). */
  type?: string;
  textarea?: boolean;
  /** A select of these values, shown through `<optionKey>.<value>` (`role` when absent). */
  options?: string[];
  optionKey?: string;
  /** Set when created, never changed afterwards (an attribute's key and model). */
  fixed?: boolean;
}

export interface ResourceConfig {
  /** Under the account, e.g. `/labels`. */
  path: string;
  columns: string[];
  fields: ResourceField[];
  /** `{path}/{id}/<members>` lists and sets the agents of each item (`team_members`). */
  members?: string;
  /** The items' id field when it is not `id`. */
  idKey?: string;
}

// ------------------------------------------------------------------ routing

/** What kind of work a conversation is for an agent (capacity is counted per kind). */
export type ChannelKind = 'call' | 'chat' | 'messaging' | 'email' | 'other';

/** Conversations of each kind an agent holds at once. */
export type Capacity = Record<ChannelKind, number>;
/** An agent's own capacities: null where the account's default applies. */
export type CapacityOverride = Record<ChannelKind, number | null>;

/** A skill a queue or label asks for, at a minimum level (1–5). */
export interface SkillRequirement {
  name: string;
  min_level: number;
}

/** A skill of an agent, at a level (1–5). */
export interface Skill {
  name: string;
  level: number;
}

/** A queue: a team's or an inbox's waiting conversations. */
export interface QueueRef {
  type: 'team' | 'inbox';
  id: number;
}

export interface QueueRule {
  queue: QueueRef;
  required: SkillRequirement[];
  preferred: SkillRequirement[];
  overflow_to: QueueRef | null;
}

export interface LabelRule {
  label: string;
  required: SkillRequirement[];
  preferred: SkillRequirement[];
}

export type OverflowMode = 'queue' | 'any_queue';
export type LanguageMode = 'off' | 'prefer' | 'require';

/** `GET|PUT …/routing/settings`. */
export interface RoutingSettings {
  capacity: Capacity;
  /** Kinds a call in progress keeps away. */
  call_blocks: ChannelKind[];
  drop_optional_after_seconds: number;
  /** null: never overflow. */
  overflow_after_seconds: number | null;
  overflow: OverflowMode;
  /** 0: off. */
  sticky_minutes: number;
  service_level_seconds: number;
  /** 0: no auto-away. */
  auto_away_minutes: number;
  language: LanguageMode;
  queues: QueueRule[];
  labels: LabelRule[];
  /** Kinds whose conversations are offered to an agent, who accepts within
   * `offer_timeout_seconds` (else the next agent gets the offer); empty: assigned directly. */
  offer_kinds: ChannelKind[];
  /** 5–600. */
  offer_timeout_seconds: number;
}

/** `GET …/routing/agents`, `PATCH …/routing/agents/{id}`. */
export interface RoutingAgent {
  id: number;
  name: string;
  email: string;
  role: string;
  capacity: CapacityOverride;
  skills: Skill[];
  /** Offers rather than direct assignment for this agent; null: the account's setting. */
  accepts_offers?: boolean | null;
}

/** A conversation offered to me (`GET …/routing/offers`, the `offer` frame): accepted or
 * declined with `POST …/conversations/{id}/offer`, before `expires_at` (Unix seconds of the
 * server's clock). */
export interface Offer {
  /** The conversation's display id. */
  conversation_id: number;
  expires_at: number;
  inbox_id: number;
  contact_name: string | null;
  channel_kind: ChannelKind;
}

/** A queue of `GET …/routing/live`, with today's figures. */
export interface LiveQueue {
  queue: QueueRef;
  name: string;
  waiting: number;
  /** null when nobody waits. */
  longest_wait_seconds: number | null;
  answered: number;
  answered_within_target: number;
  abandoned: number;
  /** 0–1; null when nothing was answered today. */
  service_level: number | null;
}

export interface LiveAgent {
  id: number;
  name: string;
  role: string;
  presence: string;
  presence_since: number | null;
  load: Capacity;
  capacity: Capacity;
}

export interface LiveWaiting {
  /** The conversation's display id. */
  id: number;
  inbox_id: number;
  team_id: number | null;
  queue_name: string | null;
  priority: string | null;
  channel_kind: ChannelKind;
  waiting_since: number;
  contact_name: string;
}

/** `GET …/routing/live`: times are Unix seconds of the server's clock. */
export interface LiveView {
  now: number;
  today_since: number;
  service_level_seconds: number;
  queues: LiveQueue[];
  agents: LiveAgent[];
  waiting: LiveWaiting[];
}
