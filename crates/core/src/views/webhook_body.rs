//! Bodies of outgoing webhook events, shaped like Chatwoot's `webhook_data`.
//!
//! Each body is the event's payload in the outbox (snapshotted when the change happened, so a
//! late or retried delivery still describes the change, not today's state); the sender adds the
//! `event` key.

use serde_json::{Value, json};

use super::{AccountRef, ContactView, ConversationView};
use crate::model::{Inbox, Message};

/// `message_created` / `message_updated`.
pub fn message(
    account: &AccountRef,
    inbox: &Inbox,
    message: &Message,
    conversation: &ConversationView,
    sender: Option<Value>,
) -> Value {
    json!({
        "account": account,
        "additional_attributes": message.additional_attributes,
        "content_attributes": message.content_attributes,
        "content_type": message.content_type.as_str(),
        "content": message.content,
        "conversation": conversation,
        "created_at": super::iso8601(message.created_at),
        "id": message.id,
        "inbox": { "id": inbox.id, "name": inbox.name },
        "message_type": message.message_type.as_str(),
        "private": message.private,
        "sender": sender,
        "source_id": message.source_id,
        "status": message.status.as_str(),
    })
}

/// `conversation_created`, `conversation_updated`, `conversation_status_changed`.
pub fn conversation(
    account: &AccountRef,
    conversation: &ConversationView,
    changed_attributes: Option<Value>,
) -> Value {
    let mut body = serde_json::to_value(conversation).unwrap_or_else(|_| json!({}));
    if let Value::Object(map) = &mut body {
        map.insert("account".into(), json!(account));
        if let Some(changed) = changed_attributes {
            map.insert("changed_attributes".into(), changed);
        }
    }
    body
}

/// `contact_created`, `contact_updated`.
pub fn contact(
    account: &AccountRef,
    contact: &ContactView,
    changed_attributes: Option<Value>,
) -> Value {
    let mut body = serde_json::to_value(contact).unwrap_or_else(|_| json!({}));
    if let Value::Object(map) = &mut body {
        map.insert("account".into(), json!(account));
        map.insert("avatar".into(), json!(contact.thumbnail));
        if let Some(changed) = changed_attributes {
            map.insert("changed_attributes".into(), changed);
        }
    }
    body
}

/// Chatwoot's `changed_attributes`: `[{attr: {previous_value, current_value}}]`.
pub fn changed(attrs: &[(&str, Value, Value)]) -> Value {
    Value::Array(
        attrs
            .iter()
            .map(|(name, previous, current)| {
                json!({ *name: { "previous_value": previous, "current_value": current } })
            })
            .collect(),
    )
}
