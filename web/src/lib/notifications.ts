// The agent's notifications (Chatwoot's notifications API): their shape, and their words in the
// agent's language from the type (the server's `push_message_title` is English, for API
// clients). Imports only the mention helpers (tested in node).
import { plainMentions } from './mentions';

export type NotificationType =
  | 'conversation_creation'
  | 'conversation_assignment'
  | 'assigned_conversation_new_message'
  | 'conversation_mention'
  | 'participating_conversation_new_message';

export interface AppNotification {
  id: number;
  account_id: number;
  notification_type: NotificationType;
  push_message_title: string;
  primary_actor_id: number;
  primary_actor: { id: number; inbox_id: number; status: string; meta: { sender: { id: number; name: string } } };
  secondary_actor: null | {
    id: number;
    content: string | null;
    private: boolean;
    sender_type: string | null;
    sender_id: number | null;
    created_at: number;
  };
  read_at: number | null;
  snoozed_until: number | null;
  created_at: number;
  last_activity_at: number;
}

export interface NotificationPage {
  data: { meta: { unread_count: number; count: number; current_page: number }; payload: AppNotification[] };
}

type T = (key: string, vars?: Record<string, string | number>) => string;

/** Who wrote the message a notification is about: an agent by name, else the customer. */
export function authorOf(n: AppNotification, agentName: (id: number) => string | undefined): string {
  const m = n.secondary_actor;
  if (m?.sender_type === 'User' && m.sender_id != null) return agentName(m.sender_id) ?? `#${m.sender_id}`;
  return n.primary_actor.meta.sender.name || '';
}

/** The notification's line in the agent's language. */
export function notificationLine(n: AppNotification, t: T, agentName: (id: number) => string | undefined): string {
  const vars = { id: n.primary_actor_id, name: authorOf(n, agentName) };
  return t(`notifications.type.${n.notification_type}`, vars);
}

/** The message's words, shortened, mentions as names. */
export function excerpt(n: AppNotification, max = 120): string {
  const text = plainMentions(n.secondary_actor?.content ?? '').replace(/\s+/g, ' ').trim();
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** A new notification into the list: an agent has one per conversation, the newest first. */
export function merged(list: AppNotification[], n: AppNotification): AppNotification[] {
  return [n, ...list.filter((x) => x.id !== n.id && x.primary_actor_id !== n.primary_actor_id)];
}
