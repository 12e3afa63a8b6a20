//! What goes down a socket, as JSON text frames. Pure functions: a committed event becomes at
//! most one agent frame and one visitor frame, each serialised once however many connections
//! receive it.
//!
//! Agents get the event as the API renders it (messages in their list shape, conversations and
//! contacts as their webhooks carry them). Visitors get only public messages of their
//! conversations, in the Client API's shape (a sender's name and avatar, never an email), and
//! status changes.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use throughline_core::event::{EventKind, StoredEvent};

/// One text frame, with the outbox id it carries (for resuming and de-duplicating).
#[derive(Clone, Debug, PartialEq)]
pub struct Frame {
    pub event_id: Option<i64>,
    pub json: Arc<str>,
}

impl Frame {
    fn new(event_id: Option<i64>, value: &Value) -> Self {
        Self {
            event_id,
            json: Arc::from(value.to_string()),
        }
    }

    /// A frame that is not an outbox event (ready, pong, errors).
    pub fn control(value: &Value) -> Self {
        Self::new(None, value)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Online,
    Busy,
    /// Chosen by the app after the agent has been idle (auto-away), or by hand: keeps open
    /// work, gets nothing new. Ours; Chatwoot's availability has the other three.
    Away,
    Offline,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Online => "online",
            Self::Busy => "busy",
            Self::Away => "away",
            Self::Offline => "offline",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WhoKind {
    User,
    Contact,
}

/// Who is typing or present.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Who {
    #[serde(rename = "type")]
    pub kind: WhoKind,
    pub id: i64,
    pub name: String,
}

fn agent_sees(kind: EventKind) -> bool {
    use EventKind::*;
    matches!(
        kind,
        MessageCreated
            | MessageUpdated
            | ConversationCreated
            | ConversationUpdated
            | ConversationStatusChanged
            | ContactCreated
            | ContactUpdated
            | ContactDeleted
            | ContactMerged
            | BusinessEventCreated
            | ConversationMerged
            | ConversationSplit
            | SlaWarning
            | SlaBreached
            | NotificationCreated
    )
}

/// The one agent an event is for, when it is not for everyone who sees its inbox (a
/// notification reaches only its agent's tabs).
pub fn addressee(e: &StoredEvent) -> Option<i64> {
    match e.kind {
        EventKind::NotificationCreated => e.payload.get("user_id")?.as_i64(),
        _ => None,
    }
}

/// Whether an agent connection (user, inboxes) receives the event.
pub fn agent_receives(
    e: &StoredEvent,
    user_id: i64,
    inboxes: &throughline_core::scope::InboxVisibility,
) -> bool {
    let inbox = conversation_inbox(e).or(e.inbox_id);
    let addressed = match e.kind {
        // A notification without its agent is for nobody.
        EventKind::NotificationCreated => addressee(e) == Some(user_id),
        _ => true,
    };
    addressed && inbox.is_none_or(|i| inboxes.includes(i))
}

fn is_message(kind: EventKind) -> bool {
    matches!(kind, EventKind::MessageCreated | EventKind::MessageUpdated)
}

fn is_conversation(kind: EventKind) -> bool {
    matches!(
        kind,
        EventKind::ConversationCreated
            | EventKind::ConversationUpdated
            | EventKind::ConversationStatusChanged
            | EventKind::ConversationMerged
            | EventKind::ConversationSplit
            | EventKind::SlaWarning
            | EventKind::SlaBreached
    )
}

/// The conversation's display id named by an event, as clients address conversations.
pub fn display_id(e: &StoredEvent) -> Option<i64> {
    if is_message(e.kind) {
        e.payload.pointer("/view/conversation_id")?.as_i64()
    } else if is_conversation(e.kind) {
        e.payload.get("id")?.as_i64()
    } else {
        None
    }
}

/// The inbox of the conversation an event belongs to (a message may have travelled through
/// another inbox than its conversation's).
pub fn conversation_inbox(e: &StoredEvent) -> Option<i64> {
    if is_message(e.kind) {
        e.payload.pointer("/conversation/inbox_id")?.as_i64()
    } else if is_conversation(e.kind) {
        e.payload.get("inbox_id")?.as_i64()
    } else {
        None
    }
}

/// The frame agents of the event's account receive, when it is one they are shown.
pub fn agent_event(e: &StoredEvent) -> Option<Frame> {
    if !agent_sees(e.kind) {
        return None;
    }
    let data = if is_message(e.kind) {
        e.payload.get("view").cloned().unwrap_or(Value::Null)
    } else if e.kind == EventKind::NotificationCreated {
        e.payload
            .get("notification")
            .cloned()
            .unwrap_or(Value::Null)
    } else {
        let mut body = e.payload.clone();
        if let Value::Object(map) = &mut body {
            map.remove("account");
            throughline_core::event::strip_internal_keys(map);
        }
        body
    };
    Some(Frame::new(
        Some(e.id),
        &json!({
            "type": "event",
            "id": e.id,
            "event": e.kind.as_str(),
            "account_id": e.account_id,
            "conversation_id": display_id(e),
            "inbox_id": e.inbox_id,
            "data": data,
        }),
    ))
}

/// The frame a visitor of the event's contact receives, when there is one: public messages
/// (not activity lines, which name agents and internal steps) and status changes.
pub fn visitor_event(e: &StoredEvent) -> Option<Frame> {
    let data = if is_message(e.kind) {
        let view = e.payload.get("view")?;
        let private = view.get("private").and_then(Value::as_bool).unwrap_or(true);
        let kind = view.get("message_type").and_then(Value::as_i64);
        if private || kind == Some(2) {
            return None;
        }
        public_message(view, e.payload.get("sender"))
    } else if e.kind == EventKind::ConversationStatusChanged {
        json!({ "id": display_id(e)?, "status": e.payload.get("status")? })
    } else {
        return None;
    };
    Some(Frame::new(
        Some(e.id),
        &json!({
            "type": "event",
            "id": e.id,
            "event": e.kind.as_str(),
            "conversation_id": display_id(e),
            "data": data,
        }),
    ))
}

const PUBLIC_MESSAGE_FIELDS: [&str; 9] = [
    "id",
    "content",
    "message_type",
    "content_type",
    "content_attributes",
    "created_at",
    "conversation_id",
    "status",
    "attachments",
];

fn public_message(view: &Value, sender: Option<&Value>) -> Value {
    let mut out = Map::new();
    for field in PUBLIC_MESSAGE_FIELDS {
        if let Some(v) = view.get(field) {
            out.insert(field.into(), v.clone());
        }
    }
    if !out.contains_key("attachments") {
        out.insert("attachments".into(), json!([]));
    }
    if let Some(sender) = sender.filter(|s| s.is_object()) {
        let name = sender.get("name").cloned().unwrap_or(json!(""));
        let avatar = sender
            .get("thumbnail")
            .or_else(|| sender.get("avatar_url"))
            .cloned()
            .unwrap_or(json!(""));
        out.insert(
            "sender".into(),
            json!({
                "id": sender.get("id"),
                "name": name,
                "available_name": name,
                "avatar_url": avatar,
                "type": sender.get("type").cloned().unwrap_or(json!("contact")),
            }),
        );
    }
    Value::Object(out)
}

pub fn typing(t: &crate::Typing) -> Frame {
    Frame::control(&json!({
        "type": "typing",
        "account_id": t.account_id,
        "conversation_id": t.conversation_id,
        "on": t.on,
        "private": t.private,
        "who": t.who,
    }))
}

pub fn presence(p: &crate::Presence) -> Frame {
    Frame::control(&json!({
        "type": "presence",
        "account_id": p.account_id,
        "who": Who { kind: WhoKind::User, id: p.user_id, name: p.name.clone() },
        "status": p.status,
    }))
}

/// An offer to its agent (`offer`), or its end (`offer_withdrawn`); times in epoch seconds.
pub fn offer(o: &crate::OfferNotice) -> Frame {
    if o.withdrawn {
        return Frame::control(&json!({
            "type": "offer_withdrawn",
            "account_id": o.account_id,
            "conversation_id": o.conversation_id,
        }));
    }
    Frame::control(&json!({
        "type": "offer",
        "account_id": o.account_id,
        "conversation_id": o.conversation_id,
        "inbox_id": o.inbox_id,
        "contact_name": o.contact_name,
        "channel_kind": o.channel_kind,
        "expires_at": o.expires_at.div_euclid(1_000),
    }))
}

pub fn resync() -> Frame {
    Frame::control(&json!({ "type": "resync" }))
}

/// What a client (an agent's tab or a widget) may send.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    Ping,
    Typing {
        conversation_id: i64,
        on: bool,
        #[serde(default)]
        private: bool,
        /// Agents in several accounts name the account.
        account_id: Option<i64>,
    },
    Presence {
        status: Status,
    },
    /// WebRTC signalling for the other party of a call from the widget (an offer, an answer,
    /// an ICE candidate); the server checks the sender is a party and passes it on.
    CallSignal {
        call_id: i64,
        data: Value,
    },
}

/// Parses one client frame; the error is meant for the client.
pub fn parse_client(text: &str) -> Result<ClientMessage, String> {
    serde_json::from_str(text).map_err(|e| format!("not understood: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message_event(private: bool, message_type: i64) -> StoredEvent {
        StoredEvent {
            id: 41,
            kind: EventKind::MessageCreated,
            account_id: 1,
            conversation_id: Some(900),
            contact_id: Some(7),
            inbox_id: Some(3),
            payload: json!({
                "account": {"id": 1, "name": "Acme"},
                "conversation": {"id": 12, "inbox_id": 5},
                "sender": {"id": 4, "name": "Ana", "email": "ana@acme.example", "type": "user"},
                "view": {
                    "id": 77, "content": "Olá", "message_type": message_type,
                    "content_type": "text", "content_attributes": {}, "created_at": 1,
                    "conversation_id": 12, "status": "sent", "private": private,
                    "sender_id": 4, "source_id": "internal-ref", "account_id": 1
                }
            }),
            created_at: 0,
            automation_chain: Vec::new(),
        }
    }

    fn parse(f: &Frame) -> Value {
        serde_json::from_str(&f.json).unwrap_or(Value::Null)
    }

    #[test]
    fn agents_get_messages_in_their_list_shape_with_the_display_id() {
        let e = message_event(true, 1);
        let f = agent_event(&e).map(|f| parse(&f)).unwrap_or_default();
        assert_eq!(f["type"], "event");
        assert_eq!(f["id"], 41);
        assert_eq!(f["event"], "message_created");
        assert_eq!(f["conversation_id"], 12);
        assert_eq!(f["data"]["id"], 77);
        assert_eq!(f["data"]["private"], true);
        assert_eq!(conversation_inbox(&e), Some(5));
    }

    #[test]
    fn visitors_never_see_private_notes_activity_lines_or_an_agents_email() {
        assert_eq!(visitor_event(&message_event(true, 1)), None);
        assert_eq!(visitor_event(&message_event(false, 2)), None);
        let f = visitor_event(&message_event(false, 1))
            .map(|f| parse(&f))
            .unwrap_or_default();
        assert_eq!(f["data"]["content"], "Olá");
        assert_eq!(f["data"]["sender"]["name"], "Ana");
        let text = f.to_string();
        assert!(!text.contains("ana@acme.example"), "{text}");
        assert!(!text.contains("internal-ref"), "{text}");
        assert!(f.get("account_id").is_none());
    }

    #[test]
    fn internal_events_reach_nobody() {
        let mut e = message_event(false, 1);
        e.kind = EventKind::OutboundRequested;
        assert_eq!(agent_event(&e), None);
        assert_eq!(visitor_event(&e), None);
        e.kind = EventKind::ContactUpdated;
        assert!(agent_event(&e).is_some());
        assert_eq!(visitor_event(&e), None);
    }
}
