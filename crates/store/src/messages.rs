//! Messages: idempotent creation (an external id is unique per inbox), the conversation clocks
//! they move, activity lines, deletion, delivery receipts and attachments.

use serde_json::{Value, json};
use throughline_core::conversation::{ConversationClock, MessageFacts, apply_message};
use throughline_core::event::EventKind;
use throughline_core::message::{ContentType, DeliveryStatus, MessageType, SenderType};
use throughline_core::model::{Attachment, Conversation, Inbox, Message};

use crate::clock::now_ms;
use crate::db::Tx;
use crate::error::{Result, StoreError};
use crate::records::{
    self, ATTACHMENT_COLUMNS, CONTACT_COLUMNS, CONVERSATION_COLUMNS, MESSAGE_COLUMNS,
};
use crate::scope::AccountScope;
use crate::{Conn, events};

#[derive(Clone, Debug)]
pub struct NewMessage {
    /// The inbox the message travels through; `None` picks the conversation's reply channel.
    pub inbox_id: Option<i64>,
    pub identity_id: Option<i64>,
    pub message_type: MessageType,
    pub content: Option<String>,
    pub content_type: ContentType,
    pub content_attributes: Value,
    pub additional_attributes: Value,
    pub private: bool,
    /// The provider's id; a second message with the same id in the same inbox is a duplicate.
    pub source_id: Option<String>,
    pub sender: Option<(SenderType, i64)>,
    pub status: DeliveryStatus,
    pub attachments: Vec<NewAttachment>,
    /// When it was written, for imports; now by default.
    pub created_at: Option<i64>,
}

impl NewMessage {
    pub fn text(message_type: MessageType, content: impl Into<String>) -> Self {
        Self {
            inbox_id: None,
            identity_id: None,
            message_type,
            content: Some(content.into()),
            content_type: ContentType::Text,
            content_attributes: json!({}),
            additional_attributes: json!({}),
            private: false,
            source_id: None,
            sender: None,
            status: DeliveryStatus::Sent,
            attachments: Vec::new(),
            created_at: None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct NewAttachment {
    pub file_type: String,
    pub content_type: Option<String>,
    pub file_name: Option<String>,
    pub byte_size: i64,
    pub blob_key: Option<String>,
    pub external_url: Option<String>,
}

/// The outcome of `create`: a new message, or the one already stored under its external id.
#[derive(Clone, Debug)]
pub struct Created {
    pub message: Message,
    pub conversation: Conversation,
    pub duplicate: bool,
    /// The attachments stored with a new message (`None` for a duplicate: not read back).
    pub attachments: Option<Vec<Attachment>>,
}

impl Created {
    /// The new message as written, for rendering without reading it back.
    pub fn written(&self) -> Option<crate::render::Written<'_>> {
        self.attachments
            .as_deref()
            .map(|attachments| crate::render::Written {
                message: &self.message,
                attachments,
            })
    }
}

/// The inbox and identity a reply goes through by default: those of the customer's latest
/// message, else the ones the conversation started with.
pub async fn reply_route(
    conn: &mut Conn,
    conversation: &Conversation,
) -> Result<(i64, Option<i64>)> {
    let row = sqlx::query(
        "SELECT inbox_id, contact_inbox_id FROM messages WHERE conversation_id = $1 \
         AND message_type = 0 ORDER BY id DESC LIMIT 1",
    )
    .bind(conversation.id)
    .fetch_optional(conn)
    .await?;
    Ok(match row {
        Some(r) => {
            use crate::rows::RowExt;
            (r.int("inbox_id")?, r.opt_int("contact_inbox_id")?)
        }
        None => (conversation.inbox_id, conversation.identity_id),
    })
}

pub async fn create(
    tx: &mut Tx,
    scope: &AccountScope,
    conversation: &Conversation,
    new: NewMessage,
) -> Result<Created> {
    create_through(tx, scope, conversation, new, None).await
}

/// As [`create`]; `inbox` is the inbox the message came or goes through when the caller holds
/// it (its event names it without reading it again).
pub async fn create_through(
    tx: &mut Tx,
    scope: &AccountScope,
    conversation: &Conversation,
    new: NewMessage,
    inbox: Option<&Inbox>,
) -> Result<Created> {
    if conversation.account_id != scope.account_id() {
        return Err(StoreError::NotFound);
    }
    // The default route is read only when the message does not name both.
    let (inbox_id, identity_id) = match (new.inbox_id, new.identity_id) {
        (Some(inbox_id), Some(identity_id)) => (inbox_id, Some(identity_id)),
        _ => {
            let (default_inbox, default_identity) = reply_route(tx.conn(), conversation).await?;
            let inbox_id = new.inbox_id.unwrap_or(default_inbox);
            let identity_id = new.identity_id.or(if inbox_id == default_inbox {
                default_identity
            } else {
                None
            });
            (inbox_id, identity_id)
        }
    };
    if !scope.sees_inbox(inbox_id) && scope.user_id().is_some() {
        return Err(StoreError::NotFound);
    }
    let now = new.created_at.unwrap_or_else(now_ms);
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO messages (account_id, conversation_id, inbox_id, contact_inbox_id, \
           message_type, content, content_type, content_attributes, additional_attributes, \
           private, status, source_id, sender_type, sender_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15) \
         ON CONFLICT (inbox_id, source_id) DO NOTHING RETURNING {MESSAGE_COLUMNS}"
    )))
    .bind(scope.account_id())
    .bind(conversation.id)
    .bind(inbox_id)
    .bind(identity_id)
    .bind(new.message_type.code())
    .bind(new.content.as_deref())
    .bind(new.content_type.as_str())
    .bind(new.content_attributes.to_string())
    .bind(new.additional_attributes.to_string())
    .bind(new.private)
    .bind(new.status.as_str())
    .bind(new.source_id.as_deref())
    .bind(new.sender.map(|(t, _)| t.as_str()))
    .bind(new.sender.map(|(_, id)| id))
    .bind(now)
    .fetch_optional(tx.conn())
    .await?;

    let Some(row) = row else {
        // The external id is already stored: a provider's retry. Answer with the original.
        let source_id = new.source_id.as_deref().unwrap_or_default();
        let existing = by_source_id(tx.conn(), scope, inbox_id, source_id).await?;
        let conversation = conversation_by_id(tx.conn(), existing.conversation_id).await?;
        return Ok(Created {
            message: existing,
            conversation,
            duplicate: true,
            attachments: None,
        });
    };
    let message = records::message(&row)?;
    if let Some(text) = message.content.as_deref() {
        crate::search::add_terms(tx.conn(), scope.account_id(), conversation.id, [text]).await?;
    }
    let mut attachments = Vec::with_capacity(new.attachments.len());
    for a in &new.attachments {
        attachments.push(insert_attachment(tx, &message, a).await?);
    }
    let conversation = apply_to_conversation(tx, scope, conversation, &message).await?;
    // The customer who wrote, as updated here: the event's snapshot shows them without
    // reading them again.
    let mut writer = None;
    if message.message_type == MessageType::Incoming
        && let Some((SenderType::Contact, contact_id)) = new.sender
    {
        writer = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE contacts SET last_activity_at = $3 WHERE account_id = $1 AND id = $2 \
             RETURNING {CONTACT_COLUMNS}"
        )))
        .bind(scope.account_id())
        .bind(contact_id)
        .bind(now)
        .fetch_optional(tx.conn())
        .await?
        .map(|row| records::contact(&row))
        .transpose()?;
        if let Some(text) = message.content.as_deref().filter(|_| !message.private) {
            crate::suggestions::from_message(tx, scope, contact_id, text).await?;
        }
    }
    let written = crate::render::Written {
        message: &message,
        attachments: &attachments,
    };
    events::message_written(tx, &conversation, written, inbox, writer.as_ref()).await?;
    Ok(Created {
        message,
        conversation,
        duplicate: false,
        attachments: Some(attachments),
    })
}

/// Attaches a file to a stored message (a customer's file that arrived late).
pub async fn add_attachment(
    tx: &mut Tx,
    message: &Message,
    a: &NewAttachment,
) -> Result<Attachment> {
    insert_attachment(tx, message, a).await
}

async fn insert_attachment(
    tx: &mut Tx,
    message: &Message,
    a: &NewAttachment,
) -> Result<Attachment> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO attachments (account_id, message_id, file_type, content_type, file_name, \
           byte_size, blob_key, external_url, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {ATTACHMENT_COLUMNS}"
    )))
    .bind(message.account_id)
    .bind(message.id)
    .bind(&a.file_type)
    .bind(a.content_type.as_deref())
    .bind(a.file_name.as_deref())
    .bind(a.byte_size)
    .bind(a.blob_key.as_deref())
    .bind(a.external_url.as_deref())
    .bind(message.created_at)
    .fetch_one(tx.conn())
    .await?;
    records::attachment(&row)
}

/// Moves the conversation's clocks (and maybe its status) for a new message.
async fn apply_to_conversation(
    tx: &mut Tx,
    scope: &AccountScope,
    conversation: &Conversation,
    message: &Message,
) -> Result<Conversation> {
    let before = ConversationClock {
        status: conversation.status,
        waiting_since: conversation.waiting_since,
        first_reply_created_at: conversation.first_reply_created_at,
        last_activity_at: conversation.last_activity_at,
    };
    let after = apply_message(
        before,
        MessageFacts {
            message_type: message.message_type,
            sender_type: message.sender_type,
            private: message.private,
            created_at: message.created_at,
        },
    );
    if after == before {
        return Ok(conversation.clone());
    }
    let snoozed_until = if after.status == conversation.status {
        conversation.snoozed_until
    } else {
        None
    };
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE conversations SET status = $3, snoozed_until = $4, waiting_since = $5, \
           first_reply_created_at = $6, last_activity_at = $7, updated_at = $8 \
         WHERE account_id = $1 AND id = $2 RETURNING {CONVERSATION_COLUMNS}"
    )))
    .bind(scope.account_id())
    .bind(conversation.id)
    .bind(after.status.as_str())
    .bind(snoozed_until)
    .bind(after.waiting_since)
    .bind(after.first_reply_created_at)
    .bind(after.last_activity_at)
    .bind(now_ms())
    .fetch_one(tx.conn())
    .await?;
    let updated = records::conversation(&row)?;
    if updated.status != conversation.status {
        let changed = throughline_core::views::webhook_body::changed(&[(
            "status",
            json!(conversation.status.as_str()),
            json!(updated.status.as_str()),
        )]);
        events::conversation(
            tx,
            EventKind::ConversationStatusChanged,
            &updated,
            Some(changed.clone()),
        )
        .await?;
        events::conversation(tx, EventKind::ConversationUpdated, &updated, Some(changed)).await?;
    }
    Ok(updated)
}

/// Writes an activity line ("Conversation was marked resolved by Ana"). `activity` carries
/// the structured facts so the agent UI can show the line in the agent's own language.
pub async fn create_activity(
    tx: &mut Tx,
    scope: &AccountScope,
    conversation: &Conversation,
    content: String,
    activity: Value,
) -> Result<Message> {
    let mut new = NewMessage::text(MessageType::Activity, content);
    new.inbox_id = Some(conversation.inbox_id);
    new.identity_id = conversation.identity_id;
    new.content_attributes = json!({ "activity": activity });
    let created = create(tx, scope, conversation, new).await?;
    Ok(created.message)
}

pub(crate) async fn conversation_by_id(conn: &mut Conn, id: i64) -> Result<Conversation> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    records::conversation(&row)
}

pub async fn by_source_id(
    conn: &mut Conn,
    scope: &AccountScope,
    inbox_id: i64,
    source_id: &str,
) -> Result<Message> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE account_id = $1 AND inbox_id = $2 AND source_id = $3"
    )))
    .bind(scope.account_id())
    .bind(inbox_id)
    .bind(source_id)
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    records::message(&row)
}

pub async fn get(
    conn: &mut Conn,
    scope: &AccountScope,
    conversation: &Conversation,
    id: i64,
) -> Result<Message> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE account_id = $1 AND conversation_id = $2 AND id = $3"
    )))
    .bind(scope.account_id())
    .bind(conversation.id)
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    records::message(&row)
}

/// Up to `limit` messages of a conversation, oldest first: the latest ones, or those just
/// before `before` / just after `after` (message ids), as Chatwoot pages them.
pub async fn list(
    conn: &mut Conn,
    scope: &AccountScope,
    conversation: &Conversation,
    before: Option<i64>,
    after: Option<i64>,
    limit: i64,
    include_private: bool,
) -> Result<Vec<Message>> {
    let private_clause = if include_private {
        ""
    } else {
        " AND private = FALSE"
    };
    let rows = if let Some(after) = after {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE account_id = $1 AND conversation_id = $2 \
             AND id > $3{private_clause} ORDER BY id ASC LIMIT $4"
        )))
        .bind(scope.account_id())
        .bind(conversation.id)
        .bind(after)
        .bind(limit)
        .fetch_all(conn)
        .await?
    } else {
        let mut rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE account_id = $1 AND conversation_id = $2 \
             AND ($3 IS NULL OR id < $3){private_clause} ORDER BY id DESC LIMIT $4"
        )))
        .bind(scope.account_id())
        .bind(conversation.id)
        .bind(before)
        .bind(limit)
        .fetch_all(conn)
        .await?;
        rows.reverse();
        rows
    };
    rows.iter().map(records::message).collect()
}

pub const DELETED_CONTENT: &str = "This message was deleted";

/// Soft-deletes a message as Chatwoot does: the row stays (the timeline keeps its place), the
/// content and attachments go.
pub async fn delete(
    tx: &mut Tx,
    scope: &AccountScope,
    conversation: &Conversation,
    id: i64,
) -> Result<Message> {
    let mut message = get(tx.conn(), scope, conversation, id).await?;
    let mut attrs = message.content_attributes.clone();
    if let Value::Object(map) = &mut attrs {
        map.insert("deleted".into(), json!(true));
    }
    let now = now_ms();
    sqlx::query(
        "UPDATE messages SET content = $3, content_attributes = $4, updated_at = $5 \
         WHERE account_id = $1 AND id = $2",
    )
    .bind(scope.account_id())
    .bind(id)
    .bind(DELETED_CONTENT)
    .bind(attrs.to_string())
    .bind(now)
    .execute(tx.conn())
    .await?;
    sqlx::query("DELETE FROM attachments WHERE account_id = $1 AND message_id = $2")
        .bind(scope.account_id())
        .bind(id)
        .execute(tx.conn())
        .await?;
    crate::search::rebuild_terms(tx.conn(), scope.account_id(), &[conversation.id]).await?;
    message.content = Some(DELETED_CONTENT.into());
    message.content_attributes = attrs;
    message.updated_at = now;
    events::message(tx, EventKind::MessageUpdated, conversation, &message).await?;
    Ok(message)
}

/// Keeps a translation of a message in `content_attributes.translations[locale]` (Chatwoot's
/// place for them), replacing an earlier one of that locale.
pub async fn set_translation(
    tx: &mut Tx,
    scope: &AccountScope,
    conversation: &Conversation,
    id: i64,
    locale: &str,
    text: &str,
) -> Result<Message> {
    let mut message = get(tx.conn(), scope, conversation, id).await?;
    let mut attrs = match message.content_attributes.clone() {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    let translations = attrs.entry("translations").or_insert_with(|| json!({}));
    if !translations.is_object() {
        *translations = json!({});
    }
    if let Value::Object(t) = translations {
        t.insert(locale.to_owned(), json!(text));
    }
    let attrs = Value::Object(attrs);
    let now = now_ms();
    sqlx::query(
        "UPDATE messages SET content_attributes = $3, updated_at = $4 \
         WHERE account_id = $1 AND id = $2",
    )
    .bind(scope.account_id())
    .bind(id)
    .bind(attrs.to_string())
    .bind(now)
    .execute(tx.conn())
    .await?;
    message.content_attributes = attrs;
    message.updated_at = now;
    events::message(tx, EventKind::MessageUpdated, conversation, &message).await?;
    Ok(message)
}

/// Applies a delivery receipt. Stale receipts (a "delivered" after a "read") change nothing.
pub async fn record_delivery(
    tx: &mut Tx,
    scope: &AccountScope,
    message_id: i64,
    reported: DeliveryStatus,
    error: Option<&str>,
) -> Result<Option<Message>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE account_id = $1 AND id = $2"
    )))
    .bind(scope.account_id())
    .bind(message_id)
    .fetch_optional(tx.conn())
    .await?
    .ok_or(StoreError::NotFound)?;
    let mut message = records::message(&row)?;
    let Some(next) = message.status.advance(reported) else {
        return Ok(None);
    };
    let error = if next == DeliveryStatus::Failed {
        error.map(str::to_owned)
    } else {
        None
    };
    let now = now_ms();
    sqlx::query(
        "UPDATE messages SET status = $3, external_error = $4, updated_at = $5 \
         WHERE account_id = $1 AND id = $2",
    )
    .bind(scope.account_id())
    .bind(message_id)
    .bind(next.as_str())
    .bind(error.as_deref())
    .bind(now)
    .execute(tx.conn())
    .await?;
    message.status = next;
    message.external_error = error;
    message.updated_at = now;
    // The earlier text is kept on the message but no longer found by search, as in the
    // message index.
    crate::search::rebuild_terms(tx.conn(), scope.account_id(), &[message.conversation_id]).await?;
    let conversation = conversation_by_id(tx.conn(), message.conversation_id).await?;
    events::message(tx, EventKind::MessageUpdated, &conversation, &message).await?;
    Ok(Some(message))
}

/// The customer has seen the conversation up to `seen_at`: every reply sent or delivered
/// before then becomes read (Chatwoot's `Conversations::UpdateMessageStatusJob` after the
/// Client API's `update_last_seen`), each with its `message_updated` event so integrations and
/// the app show the ticks. Bounded to the latest 500, which covers any real backlog.
pub async fn mark_read_until(
    tx: &mut Tx,
    scope: &AccountScope,
    conversation_id: i64,
    seen_at: i64,
) -> Result<usize> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM messages WHERE account_id = $1 AND conversation_id = $2 \
         AND message_type IN (1, 3) AND private = $3 AND status IN ('sent', 'delivered') \
         AND created_at <= $4 ORDER BY id DESC LIMIT 500",
    )
    .bind(scope.account_id())
    .bind(conversation_id)
    .bind(false)
    .bind(seen_at)
    .fetch_all(tx.conn())
    .await?;
    for id in &ids {
        record_delivery(tx, scope, *id, DeliveryStatus::Read, None).await?;
    }
    Ok(ids.len())
}

pub async fn attachment(conn: &mut Conn, id: i64) -> Result<Attachment> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    records::attachment(&row)
}

/// A message's attachments.
pub async fn attachments_of(
    conn: &mut Conn,
    scope: &AccountScope,
    message_id: i64,
) -> Result<Vec<Attachment>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE account_id = $1 AND message_id = $2 ORDER BY id"
    )))
    .bind(scope.account_id())
    .bind(message_id)
    .fetch_all(conn)
    .await?;
    rows.iter().map(records::attachment).collect()
}

/// Stores what a customer answered to an interactive message (input_select, form, csat).
pub async fn set_submitted_values(
    tx: &mut Tx,
    scope: &AccountScope,
    conversation: &Conversation,
    id: i64,
    values: Value,
) -> Result<Message> {
    let mut message = get(tx.conn(), scope, conversation, id).await?;
    if let Value::Object(map) = &mut message.content_attributes {
        map.insert("submitted_values".into(), values);
    } else {
        message.content_attributes = json!({ "submitted_values": values });
    }
    message.updated_at = now_ms();
    sqlx::query(
        "UPDATE messages SET content_attributes = $3, updated_at = $4 WHERE account_id = $1 AND id = $2",
    )
    .bind(scope.account_id())
    .bind(id)
    .bind(message.content_attributes.to_string())
    .bind(message.updated_at)
    .execute(tx.conn())
    .await?;
    events::message(tx, EventKind::MessageUpdated, conversation, &message).await?;
    Ok(message)
}

/// A customer changed a message they sent (Telegram's `edited_message`): the new text is
/// shown, every earlier text is kept in `content_attributes.previous_contents` (oldest first)
/// with `edited_at` (Unix seconds). Returns `None` when no message of the inbox has that
/// provider id, or when the text is unchanged (a provider's retry).
pub async fn record_edit(
    tx: &mut Tx,
    scope: &AccountScope,
    inbox_id: i64,
    source_id: &str,
    content: &str,
    edited_at: Option<i64>,
) -> Result<Option<Message>> {
    let mut message = match by_source_id(tx.conn(), scope, inbox_id, source_id).await {
        Ok(m) => m,
        Err(StoreError::NotFound) => return Ok(None),
        Err(e) => return Err(e),
    };
    let previous = message.content.clone().unwrap_or_default();
    // Only the customer's own words can be edited by the customer.
    if message.message_type != MessageType::Incoming || previous == content {
        return Ok(None);
    }
    let edited_at = edited_at.unwrap_or_else(|| now_ms() / 1000);
    if !message.content_attributes.is_object() {
        message.content_attributes = json!({});
    }
    if let Value::Object(map) = &mut message.content_attributes {
        let history = map
            .entry("previous_contents")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(list) = history {
            list.push(json!(previous));
        }
        map.insert("edited_at".into(), json!(edited_at));
    }
    message.content = Some(content.to_owned());
    message.updated_at = now_ms();
    sqlx::query(
        "UPDATE messages SET content = $3, content_attributes = $4, updated_at = $5 \
         WHERE account_id = $1 AND id = $2",
    )
    .bind(scope.account_id())
    .bind(message.id)
    .bind(content)
    .bind(message.content_attributes.to_string())
    .bind(message.updated_at)
    .execute(tx.conn())
    .await?;
    // The earlier text is kept on the message but no longer found by search, as in the
    // message index.
    crate::search::rebuild_terms(tx.conn(), scope.account_id(), &[message.conversation_id]).await?;
    let conversation = conversation_by_id(tx.conn(), message.conversation_id).await?;
    events::message(tx, EventKind::MessageUpdated, &conversation, &message).await?;
    Ok(Some(message))
}

/// The customer's latest message in the conversation.
pub async fn latest_incoming(
    conn: &mut Conn,
    conversation: &Conversation,
) -> Result<Option<Message>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 AND message_type = 0 \
         ORDER BY id DESC LIMIT 1"
    )))
    .bind(conversation.id)
    .fetch_optional(conn)
    .await?;
    row.map(|r| records::message(&r)).transpose()
}

/// When someone last answered the customer in the conversation (a public outgoing or
/// template message), if anyone has.
pub async fn last_public_reply_at(conn: &mut Conn, conversation_id: i64) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT MAX(created_at) FROM messages WHERE conversation_id = $1 \
         AND message_type IN (1, 3) AND private = FALSE",
    )
    .bind(conversation_id)
    .fetch_one(conn)
    .await?)
}

/// Whether someone answered the customer publicly after message `after_id`.
pub async fn replied_after(conn: &mut Conn, conversation_id: i64, after_id: i64) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM messages WHERE conversation_id = $1 AND id > $2 \
         AND message_type = 1 AND private = FALSE",
    )
    .bind(conversation_id)
    .bind(after_id)
    .fetch_one(conn)
    .await?;
    Ok(n > 0)
}

/// The customer's messages strictly between two messages of the conversation.
pub async fn incoming_between(
    conn: &mut Conn,
    conversation_id: i64,
    after_id: i64,
    before_id: i64,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM messages WHERE conversation_id = $1 AND id > $2 AND id < $3 \
         AND message_type = 0",
    )
    .bind(conversation_id)
    .bind(after_id)
    .bind(before_id)
    .fetch_one(conn)
    .await?)
}
