//! The inbox's automatic replies to a customer's message: the **greeting** (once per
//! conversation, before anyone answered) and the **out-of-office** message (when the message
//! arrives outside the inbox's business hours; once per closed stretch, and not when an agent
//! answered in the last five minutes — they are obviously there, as in Chatwoot).
//!
//! Both run inside the automation consumer's transaction, and each is claimed by key in
//! `auto_replies` before it is written: a batch redone after a crash, or read by a second
//! process, finds the claim and sends nothing. Neither ever answers an automatic email (an
//! out-of-office or a bounce), so two auto-responders cannot talk to each other.

use serde_json::{Value, json};
use throughline_core::event::{EventKind, StoredEvent};
use throughline_core::hours::Schedule;
use throughline_core::message::MessageType;
use throughline_core::model::{ChannelType, Conversation, Inbox};
use throughline_store::messages::{self, NewMessage};
use throughline_store::{AccountScope, StoreError, Tx, auto_replies};

type Result<T> = std::result::Result<T, StoreError>;

/// An agent who answered this recently is at work: no out-of-office message.
const AGENT_RECENTLY_MS: i64 = 5 * 60_000;

pub const GREETING_KEY: &str = "greeting";

/// An automatic message (greeting, out-of-office, survey) as the customer's email,
/// out-of-office and bounce handling must see it.
pub fn is_automatic_email(payload: &Value) -> bool {
    payload["content_attributes"]["email"]["auto_reply"] == json!(true)
}

/// Which automatic reply a message carries (`content_attributes.auto_reply`).
pub fn kind_of(payload: &Value) -> Option<&str> {
    payload["content_attributes"]["auto_reply"].as_str()
}

/// A customer's public message, written by them (not a note, not our own automatic mail).
pub fn is_customer_message(event: &StoredEvent) -> bool {
    event.kind == EventKind::MessageCreated
        && event.payload["message_type"] == "incoming"
        && event.payload["private"] != json!(true)
        && !is_automatic_email(&event.payload)
}

/// Whether the inbox answers customers on its own at all (a greeting, or an out-of-office
/// message with business hours on).
pub fn may_reply(inbox: &Inbox) -> bool {
    inbox.channel_type != ChannelType::Voice
        && ((inbox.greeting_enabled
            && inbox
                .greeting_message
                .as_deref()
                .is_some_and(|t| !t.trim().is_empty()))
            || (inbox.settings["working_hours_enabled"] == json!(true)
                && setting_text(&inbox.settings, "out_of_office_message").is_some()))
}

/// Sends what the inbox answers to the customer's message `event`, if anything.
pub async fn on_customer_message(
    tx: &mut Tx,
    inbox: &Inbox,
    conversation: &Conversation,
    event: &StoredEvent,
) -> Result<()> {
    if !is_customer_message(event) || inbox.channel_type == ChannelType::Voice {
        return Ok(());
    }
    let at = event.created_at;
    let schedule = Schedule::from_settings(&inbox.settings).unwrap_or_else(|e| {
        tracing::warn!(inbox = inbox.id, error = %e, "business hours unreadable; treated as always open");
        Schedule::always()
    });
    let last_reply = messages::last_public_reply_at(tx.conn(), conversation.id).await?;
    if let Some(text) = setting_text(&inbox.settings, "out_of_office_message")
        && !schedule.is_always_open()
        && !schedule.is_open(at)
        && last_reply.is_none_or(|t| at - t > AGENT_RECENTLY_MS)
    {
        // One per closed stretch: the key names the moment the inbox opens again.
        let reopens = schedule.next_open(at).unwrap_or(0);
        let key = format!("out_of_office:{reopens}");
        send(tx, inbox, conversation, &key, "out_of_office", &text).await?;
    }
    if inbox.greeting_enabled
        && let Some(text) = inbox
            .greeting_message
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        && last_reply.is_none()
    {
        send(tx, inbox, conversation, GREETING_KEY, "greeting", text).await?;
    }
    Ok(())
}

fn setting_text(settings: &Value, key: &str) -> Option<String> {
    settings[key]
        .as_str()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

async fn send(
    tx: &mut Tx,
    inbox: &Inbox,
    conversation: &Conversation,
    key: &str,
    kind: &str,
    text: &str,
) -> Result<()> {
    if !auto_replies::claim(tx.conn(), conversation.id, key).await? {
        return Ok(());
    }
    let scope = AccountScope::system(conversation.account_id);
    let mut new = NewMessage::text(MessageType::Template, text);
    // Through the inbox the customer wrote in, so the answer reaches them where they are.
    new.inbox_id = Some(inbox.id);
    new.content_attributes = json!({ "auto_reply": kind });
    let created = messages::create(tx, &scope, conversation, new).await?;
    auto_replies::record_message(tx.conn(), conversation.id, key, created.message.id).await
}
