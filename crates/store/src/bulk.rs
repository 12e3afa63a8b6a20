//! Bulk writes for building large data sets (the bench's 100x: 100,000 conversations, two
//! million messages): a conversation's history in multi-row inserts, its clocks set once from
//! the core's rules, and no events — history that already happened, as an import would store
//! it. The rows are the ones `messages::create` writes (the message index follows by trigger on
//! SQLite and by index on PostgreSQL; the conversation's words are added here), so lists and
//! search read the same shape.

use throughline_core::conversation::{ConversationClock, MessageFacts, Status, apply_message};
use throughline_core::message::{MessageType, SenderType};
use throughline_core::model::Conversation;

use crate::db::Tx;
use crate::error::{Result, StoreError};
use crate::scope::AccountScope;
use crate::sql::SqlBuilder;

/// One message of a conversation's history.
#[derive(Clone, Debug)]
pub struct PastMessage {
    pub message_type: MessageType,
    pub content: String,
    pub sender: Option<(SenderType, i64)>,
    /// The inbox and identity it came through (customers' messages).
    pub inbox_id: i64,
    pub identity_id: Option<i64>,
    pub created_at: i64,
}

/// Values bound per row; chunks stay under SQLite's 32,766 and PostgreSQL's 65,535 variables.
const COLUMNS_BOUND: usize = 10;
const ROWS_PER_STATEMENT: usize = 3_000 / COLUMNS_BOUND;

/// Stores `history` (oldest first) in `conversation` and moves its clocks as the messages
/// would have, ending `resolved` when asked. Returns the conversation as stored.
pub async fn insert_history(
    tx: &mut Tx,
    scope: &AccountScope,
    conversation: &Conversation,
    history: &[PastMessage],
    resolved: bool,
) -> Result<Conversation> {
    if conversation.account_id != scope.account_id() {
        return Err(StoreError::NotFound);
    }
    for chunk in history.chunks(ROWS_PER_STATEMENT) {
        let mut q = SqlBuilder::new(
            "INSERT INTO messages (account_id, conversation_id, inbox_id, contact_inbox_id, \
               message_type, content, content_type, content_attributes, additional_attributes, \
               private, status, sender_type, sender_id, created_at, updated_at) VALUES ",
        );
        for (i, m) in chunk.iter().enumerate() {
            q.push(if i == 0 { "(" } else { ", (" });
            q.bind(scope.account_id())
                .push(", ")
                .bind(conversation.id)
                .push(", ")
                .bind(m.inbox_id)
                .push(", ")
                .bind(m.identity_id)
                .push(", ")
                .bind(m.message_type.code())
                .push(", ")
                .bind(m.content.as_str())
                .push(", 'text', '{}', '{}', FALSE, 'sent', ")
                .bind(m.sender.map(|(t, _)| t.as_str().to_owned()))
                .push(", ")
                .bind(m.sender.map(|(_, id)| id))
                .push(", ")
                .bind(m.created_at)
                .push(", ")
                .bind(m.created_at)
                .push(")");
        }
        q.build().execute(tx.conn()).await?;
    }
    crate::search::add_terms(
        tx.conn(),
        scope.account_id(),
        conversation.id,
        history.iter().map(|m| m.content.as_str()),
    )
    .await?;
    let mut clock = ConversationClock {
        status: conversation.status,
        waiting_since: conversation.waiting_since,
        first_reply_created_at: conversation.first_reply_created_at,
        last_activity_at: conversation.last_activity_at,
    };
    for m in history {
        clock = apply_message(
            clock,
            MessageFacts {
                message_type: m.message_type,
                sender_type: m.sender.map(|(t, _)| t),
                private: false,
                created_at: m.created_at,
            },
        );
    }
    if resolved {
        clock.status = Status::Resolved;
        clock.waiting_since = None;
    }
    let mut q = SqlBuilder::new("UPDATE conversations SET status = ");
    q.bind(clock.status.as_str())
        .push(", waiting_since = ")
        .bind(clock.waiting_since)
        .push(", first_reply_created_at = ")
        .bind(clock.first_reply_created_at)
        .push(", last_activity_at = ")
        .bind(clock.last_activity_at)
        .push(", updated_at = ")
        .bind(clock.last_activity_at)
        .push(" WHERE account_id = ")
        .bind(scope.account_id())
        .push(" AND id = ")
        .bind(conversation.id);
    q.build().execute(tx.conn()).await?;
    Ok(Conversation {
        status: clock.status,
        waiting_since: clock.waiting_since,
        first_reply_created_at: clock.first_reply_created_at,
        last_activity_at: clock.last_activity_at,
        ..conversation.clone()
    })
}
