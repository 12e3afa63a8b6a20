// The agent's WebSocket: resumes with ?after=<last event id> after a drop, drops frames it
// already has (ids ≤ the last seen), and asks listeners to refetch on `resync`.

import type { AppNotification } from './notifications';
import type { SlaEvent } from './sla';
import type { Conversation, Message, Offer } from './types';

/** Who is typing or present. */
export type Who = { type: 'user' | 'contact'; id: number; name: string };

type EventBase = {
  type: 'event';
  /** The event's id: frames come in this order, and a resumed socket starts after the last. */
  id: number;
  account_id: number;
  /** The conversation's display id, for conversation and message events. */
  conversation_id?: number | null;
  inbox_id?: number | null;
};

/** A new or changed message: `data` is the message. */
export type MessageFrame = EventBase & { event: 'message_created' | 'message_updated'; data: Message };
/** Messages moved between two conversations (display ids). */
export type MoveFrame = EventBase & {
  event: 'conversation_merged' | 'conversation_split';
  data: { id: number; from_conversation_id: number; to_conversation_id: number; message_ids: number[] };
};
/** A conversation created or changed: `data` is the conversation, with what changed. */
export type ConversationFrame = EventBase & {
  event: 'conversation_created' | 'conversation_updated' | 'conversation_status_changed';
  data: Conversation & { changed_attributes?: Record<string, unknown> };
};
/** An SLA metric of a conversation nears its threshold (`sla_warning`) or passed it
 * (`sla_breached`): `data` is the conversation, as `conversation_updated` gives it, with the
 * event. */
export type SlaFrame = EventBase & {
  event: 'sla_warning' | 'sla_breached';
  data: Conversation & { sla_event?: SlaEvent };
};
/** Contact and journey events: the screens refetch on them and read no `data`. */
export type ContactFrame = EventBase & {
  event: 'contact_created' | 'contact_updated' | 'contact_deleted' | 'contact_merged' | 'business_event_created';
  data: unknown;
};
/** A new notification of mine (only my tabs hear it): `data` is the notification. */
export type NotificationFrame = EventBase & { event: 'notification_created'; data: AppNotification };
export type EventFrame = MessageFrame | MoveFrame | ConversationFrame | SlaFrame | ContactFrame | NotificationFrame;

/** `conversation_*` events other than merges and splits. */
export function isConversationFrame(frame: EventFrame): frame is ConversationFrame {
  return frame.event.startsWith('conversation_') && frame.event !== 'conversation_merged' && frame.event !== 'conversation_split';
}

export function isSlaFrame(frame: EventFrame): frame is SlaFrame {
  return frame.event === 'sla_warning' || frame.event === 'sla_breached';
}

/** A conversation offered to me (to the offered agent only): accept or decline it before
 * `expires_at`. */
export type OfferFrame = Offer & { type: 'offer'; account_id: number };
/** An offer of mine is no longer mine: it expired, was answered in another window, or was
 * taken away. */
export type OfferWithdrawnFrame = { type: 'offer_withdrawn'; account_id: number; conversation_id: number };

/** What the server sends (and `disconnected`, which the client emits itself when the socket drops). */
export type Frame =
  | { type: 'ready'; last_event_id?: number }
  | EventFrame
  | { type: 'typing'; account_id?: number; conversation_id: number; on: boolean; private?: boolean; who?: Who }
  /** An agent's status changed (online, busy, away or offline). */
  | { type: 'presence'; account_id?: number; who?: Who; status?: string }
  | OfferFrame
  | OfferWithdrawnFrame
  | { type: 'resync' }
  /** Calls from the website widget (components/WebCall.svelte reads them). */
  | { type: 'call_incoming' | 'call_withdrawn' | 'call_signal' | 'call_ended'; account_id?: number; call_id?: number; data?: unknown }
  | { type: 'disconnected' };

/** What the client sends: typing in a conversation, and my presence (for every account of the
 * connection). */
export type ClientFrame =
  | { type: 'typing'; conversation_id: number; account_id: number; on: boolean; private: boolean }
  | { type: 'presence'; status: 'online' | 'busy' | 'away' | 'offline' }
  /** WebRTC signalling for the other end of my call from the widget. */
  | { type: 'call_signal'; call_id: number; data: unknown };

type Listener = (frame: Frame) => void;

export class Realtime {
  private socket: WebSocket | null = null;
  private lastId = 0;
  private listeners = new Set<Listener>();
  private retry = 0;
  private stopped = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  connected = false;

  constructor(private path = '/api/v1/realtime') {}

  start() {
    this.stopped = false;
    this.open();
  }

  stop() {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.socket?.close();
    this.socket = null;
  }

  /** A new socket (resuming after the last event): the server decides at connection which
   * accounts a socket hears, so a membership gained needs one. */
  restart() {
    this.stop();
    this.start();
  }

  on(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  send(frame: ClientFrame) {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(frame));
  }

  private emit(frame: Frame) {
    for (const l of this.listeners) l(frame);
  }

  private open() {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const after = this.lastId ? `?after=${this.lastId}` : '';
    const socket = new WebSocket(`${scheme}://${location.host}${this.path}${after}`);
    this.socket = socket;
    socket.onmessage = (message) => {
      let frame: Frame;
      try {
        frame = JSON.parse(message.data);
      } catch {
        return;
      }
      if (frame.type === 'ready') {
        this.retry = 0;
        this.connected = true;
        if (typeof frame.last_event_id === 'number') this.lastId = Math.max(this.lastId, frame.last_event_id);
      }
      if (frame.type === 'event' && typeof frame.id === 'number') {
        if (frame.id <= this.lastId) return;
        this.lastId = frame.id;
      }
      this.emit(frame);
    };
    socket.onclose = () => {
      this.connected = false;
      this.emit({ type: 'disconnected' });
      if (this.stopped || this.socket !== socket) return;
      const delay = Math.min(30_000, 500 * 2 ** this.retry++);
      this.timer = setTimeout(() => this.open(), delay);
    };
  }
}
