//! Bodies of outgoing webhook events, shaped like Chatwoot's `webhook_data`.
//!
//! Each body is the event's payload in the outbox (snapshotted when the change happened, so a
//! late or retried delivery still describes the change, not today's state); the sender adds the
//! `event` key.

use serde_json::{Value, json};

use super::{AccountRef, ContactView, ConversationView};
use crate::model::{Identity, Inbox, Message};

/// A conversation as Chatwoot's webhooks carry it (`Conversation#webhook_data`, the
/// `Conversations::EventDataPresenter`): the API's view plus what only the webhook has — the
/// inbox's `channel` and the `contact_inbox`, the customer's identity in the inbox the
/// conversation started in, whose `source_id` is what a bridge replies to. (Chatwoot also
/// sends the identity's `pubsub_token`, a widget visitor's socket credential; it stays here.)
fn conversation_data(conversation: &ConversationView, contact_inbox: Option<&Identity>) -> Value {
    let mut body = serde_json::to_value(conversation).unwrap_or_else(|_| json!({}));
    if let Value::Object(map) = &mut body {
        map.insert("channel".into(), json!(conversation.meta.channel));
        if let Some(ci) = contact_inbox {
            map.insert(
                "contact_inbox".into(),
                json!({
                    "id": ci.id,
                    "contact_id": ci.contact_id,
                    "inbox_id": ci.inbox_id,
                    "source_id": ci.source_id,
                    "hmac_verified": ci.hmac_verified,
                    "created_at": super::iso8601(ci.created_at),
                }),
            );
        }
    }
    body
}

/// `message_created` / `message_updated`.
pub fn message(
    account: &AccountRef,
    inbox: &Inbox,
    message: &Message,
    conversation: &ConversationView,
    contact_inbox: Option<&Identity>,
    sender: Option<Value>,
) -> Value {
    json!({
        "account": account,
        "additional_attributes": message.additional_attributes,
        "content_attributes": super::message::content_attributes(message),
        "content_type": message.content_type.as_str(),
        "content": message.content,
        "conversation": conversation_data(conversation, contact_inbox),
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
    contact_inbox: Option<&Identity>,
    changed_attributes: Option<Value>,
) -> Value {
    let mut body = conversation_data(conversation, contact_inbox);
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
