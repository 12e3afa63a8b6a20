//! Merging and splitting conversations of one customer (rules in `core::moves`).
//!
//! Messages move by changing their conversation; nothing is copied. Each move writes a
//! `conversation_moves` record (who, when, which messages) for the audit trail, activity lines
//! in both conversations, and events for agents' screens and the outbox.

use serde_json::{Value, json};
use throughline_core::conversation::{MessageFacts, Status};
use throughline_core::event::{EventKind, NewEvent};
use throughline_core::message::{MessageType, SenderType};
use throughline_core::model::Conversation;
use throughline_core::moves::{self, MessageRef, MoveError};
use throughline_core::views::webhook_body::changed;

use crate::clock::now_ms;
use crate::conversations::{self, NewConversation};
use crate::db::Tx;
use crate::error::{Result, StoreError};
use crate::labels::{self, Tagged};
use crate::records::{self, CONVERSATION_COLUMNS};
use crate::rows::RowExt;
use crate::scope::AccountScope;
use crate::sql::SqlBuilder;
use crate::{Conn, events, messages};

/// One entry of a conversation's move history.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct MoveRecord {
    pub kind: String,
    pub from_conversation_id: i64,
    pub to_conversation_id: i64,
    pub message_ids: Vec<i64>,
    pub user_id: Option<i64>,
    pub created_at: i64,
}

fn rule(e: MoveError) -> StoreError {
    StoreError::Refused(e.to_string())
}

/// Merges `source` into `target`: every message (with its attachments) and label moves to the
/// target; the source is resolved and remembers where it went. Returns the updated target.
pub async fn merge(
    tx: &mut Tx,
    scope: &AccountScope,
    target: &Conversation,
    source: &Conversation,
) -> Result<Conversation> {
    moves::check_merge(target, source).map_err(rule)?;
    let account_id = scope.account_id();
    let moved = message_refs(tx.conn(), account_id, source.id).await?;
    let moved_ids: Vec<i64> = moved.iter().map(|m| m.id).collect();
    sqlx::query(
        "UPDATE messages SET conversation_id = $1 WHERE account_id = $2 AND conversation_id = $3",
    )
    .bind(target.id)
    .bind(account_id)
    .bind(source.id)
    .execute(tx.conn())
    .await?;
    crate::search::rebuild_terms(tx.conn(), account_id, &[target.id, source.id]).await?;

    // Email threading keys follow their messages, so a reply to either thread lands here.
    sqlx::query(
        "UPDATE email_messages SET conversation_id = $1 \
         WHERE account_id = $2 AND conversation_id = $3",
    )
    .bind(target.id)
    .bind(account_id)
    .bind(source.id)
    .execute(tx.conn())
    .await?;

    let mut titles = labels::titles_of(tx.conn(), Tagged::Conversation(target.id)).await?;
    for t in labels::titles_of(tx.conn(), Tagged::Conversation(source.id)).await? {
        if !titles.contains(&t) {
            titles.push(t);
        }
    }
    labels::replace(
        tx.conn(),
        account_id,
        Tagged::Conversation(target.id),
        &titles,
    )
    .await?;

    let target_after = recompute(tx, target).await?;
    let mut closed = source.clone();
    closed.status = Status::Resolved;
    closed.snoozed_until = None;
    set_attribute(
        &mut closed.additional_attributes,
        "merged_into",
        json!(target.display_id),
    );
    let closed = save_moved(tx, &closed).await?;
    record(tx, scope, "merge", source, &target_after, &moved_ids).await?;

    let who = conversations::actor_name(tx.conn(), scope).await?;
    messages::create_activity(
        tx,
        scope,
        &target_after,
        format!(
            "Conversation #{} was merged into this one by {who}",
            source.display_id
        ),
        json!({ "kind": "conversation_merged", "from": source.display_id, "actor": who }),
    )
    .await?;
    messages::create_activity(
        tx,
        scope,
        &closed,
        format!("Merged into conversation #{} by {who}", target.display_id),
        json!({ "kind": "merged_into", "to": target.display_id, "actor": who }),
    )
    .await?;
    emit_move(
        tx,
        EventKind::ConversationMerged,
        source,
        &target_after,
        &moved_ids,
    )
    .await?;
    let diff = changed(&[("status", json!(source.status.as_str()), json!("resolved"))]);
    events::conversation(tx, EventKind::ConversationUpdated, &closed, Some(diff)).await?;
    events::conversation(tx, EventKind::ConversationUpdated, &target_after, None).await?;
    messages::conversation_by_id(tx.conn(), target_after.id).await
}

/// Moves `message_ids` out of `source` into a new conversation of the same contact, which
/// links back to the source and keeps its assignee and team. Returns the new conversation.
pub async fn split(
    tx: &mut Tx,
    scope: &AccountScope,
    source: &Conversation,
    message_ids: &[i64],
) -> Result<Conversation> {
    if moves::merged_into(source).is_some() {
        return Err(rule(MoveError::AlreadyMerged(source.display_id)));
    }
    let account_id = scope.account_id();
    let held = message_refs(tx.conn(), account_id, source.id).await?;
    let refs: Vec<MessageRef> = held
        .iter()
        .map(|m| MessageRef {
            id: m.id,
            message_type: m.facts.message_type,
        })
        .collect();
    let ids = moves::check_split(&refs, message_ids).map_err(rule)?;
    let first = held
        .iter()
        .filter(|m| ids.binary_search(&m.id).is_ok())
        .min_by_key(|m| (m.facts.created_at, m.id))
        .ok_or_else(|| rule(MoveError::NothingToMove))?;

    let mut new = NewConversation::open(source.contact_id, first.inbox_id, first.identity_id);
    new.assignee_id = source.assignee_id;
    new.team_id = source.team_id;
    new.previous_conversation_id = Some(source.id);
    new.additional_attributes = json!({ "split_from": source.display_id });
    let created = conversations::create(tx, scope, new).await?;

    let mut q = SqlBuilder::new("UPDATE messages SET conversation_id = ");
    q.bind(created.id)
        .push(" WHERE account_id = ")
        .bind(account_id)
        .push(" AND conversation_id = ")
        .bind(source.id)
        .push(" AND id IN ")
        .bind_list(&ids);
    q.build().execute(tx.conn()).await?;
    crate::search::rebuild_terms(tx.conn(), account_id, &[created.id, source.id]).await?;
    let mut q = SqlBuilder::new("UPDATE email_messages SET conversation_id = ");
    q.bind(created.id)
        .push(" WHERE account_id = ")
        .bind(account_id)
        .push(" AND message_id IN ")
        .bind_list(&ids);
    q.build().execute(tx.conn()).await?;

    let created = recompute(tx, &created).await?;
    let source_after = recompute(tx, source).await?;
    record(tx, scope, "split", source, &created, &ids).await?;

    let who = conversations::actor_name(tx.conn(), scope).await?;
    messages::create_activity(
        tx,
        scope,
        &created,
        format!("Split out of conversation #{} by {who}", source.display_id),
        json!({ "kind": "split_from", "from": source.display_id, "actor": who }),
    )
    .await?;
    messages::create_activity(
        tx,
        scope,
        &source_after,
        format!(
            "{} message(s) were split out into conversation #{} by {who}",
            ids.len(),
            created.display_id
        ),
        json!({ "kind": "split_into", "to": created.display_id, "count": ids.len(), "actor": who }),
    )
    .await?;
    emit_move(tx, EventKind::ConversationSplit, source, &created, &ids).await?;
    events::conversation(tx, EventKind::ConversationUpdated, &source_after, None).await?;
    messages::conversation_by_id(tx.conn(), created.id).await
}

/// Where messages addressed to `c` belong now: `c` itself, or the conversation it was merged
/// into (followed through repeated merges).
pub async fn current(conn: &mut Conn, c: Conversation) -> Result<Conversation> {
    let mut c = c;
    // Merges refuse already-merged conversations, so chains are short; the bound guards
    // against a hand-edited cycle.
    for _ in 0..16 {
        let Some(display_id) = moves::merged_into(&c) else {
            return Ok(c);
        };
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE account_id = $1 AND display_id = $2"
        )))
        .bind(c.account_id)
        .bind(display_id)
        .fetch_optional(&mut *conn)
        .await?;
        match row {
            Some(row) => c = records::conversation(&row)?,
            None => return Ok(c),
        }
    }
    Ok(c)
}

/// The merges and splits a conversation took part in, newest first.
pub async fn history(
    conn: &mut Conn,
    scope: &AccountScope,
    conversation: &Conversation,
) -> Result<Vec<MoveRecord>> {
    let rows = sqlx::query(
        "SELECT m.kind, f.display_id AS from_display, t.display_id AS to_display, m.message_ids, \
           m.user_id, m.created_at \
         FROM conversation_moves m \
         JOIN conversations f ON f.id = m.from_conversation_id \
         JOIN conversations t ON t.id = m.to_conversation_id \
         WHERE m.account_id = $1 AND (m.from_conversation_id = $2 OR m.to_conversation_id = $2) \
         ORDER BY m.id DESC",
    )
    .bind(scope.account_id())
    .bind(conversation.id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            let ids: Vec<i64> = serde_json::from_str(&row.text("message_ids")?)
                .map_err(|e| StoreError::Corrupt(format!("conversation_moves.message_ids: {e}")))?;
            Ok(MoveRecord {
                kind: row.text("kind")?,
                from_conversation_id: row.int("from_display")?,
                to_conversation_id: row.int("to_display")?,
                message_ids: ids,
                user_id: row.opt_int("user_id")?,
                created_at: row.int("created_at")?,
            })
        })
        .collect()
}

struct HeldMessage {
    id: i64,
    inbox_id: i64,
    identity_id: Option<i64>,
    facts: MessageFacts,
}

async fn message_refs(
    conn: &mut Conn,
    account_id: i64,
    conversation_id: i64,
) -> Result<Vec<HeldMessage>> {
    let rows = sqlx::query(
        "SELECT id, inbox_id, contact_inbox_id, message_type, sender_type, private, created_at \
         FROM messages WHERE account_id = $1 AND conversation_id = $2 ORDER BY created_at, id",
    )
    .bind(account_id)
    .bind(conversation_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            let code = row.int("message_type")?;
            Ok(HeldMessage {
                id: row.int("id")?,
                inbox_id: row.int("inbox_id")?,
                identity_id: row.opt_int("contact_inbox_id")?,
                facts: MessageFacts {
                    message_type: MessageType::from_code(code)
                        .ok_or_else(|| StoreError::Corrupt(format!("message_type {code}")))?,
                    sender_type: row.opt_parsed("sender_type", SenderType::parse)?,
                    private: row.flag("private")?,
                    created_at: row.int("created_at")?,
                },
            })
        })
        .collect()
}

/// Recomputes a conversation's clocks from the messages it now holds.
async fn recompute(tx: &mut Tx, c: &Conversation) -> Result<Conversation> {
    let held = message_refs(tx.conn(), c.account_id, c.id).await?;
    let facts: Vec<MessageFacts> = held.iter().map(|m| m.facts).collect();
    let clock = moves::recompute_clock(c.status, c.created_at, &facts);
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE conversations SET waiting_since = $3, first_reply_created_at = $4, \
           last_activity_at = $5, updated_at = $6 \
         WHERE account_id = $1 AND id = $2 RETURNING {CONVERSATION_COLUMNS}"
    )))
    .bind(c.account_id)
    .bind(c.id)
    .bind(clock.waiting_since)
    .bind(clock.first_reply_created_at)
    .bind(clock.last_activity_at)
    .bind(now_ms())
    .fetch_one(tx.conn())
    .await?;
    records::conversation(&row)
}

async fn save_moved(tx: &mut Tx, c: &Conversation) -> Result<Conversation> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE conversations SET status = $3, snoozed_until = NULL, additional_attributes = $4, \
           updated_at = $5, \
           resolved_at = CASE WHEN status <> 'resolved' THEN $5 ELSE resolved_at END \
         WHERE account_id = $1 AND id = $2 RETURNING {CONVERSATION_COLUMNS}"
    )))
    .bind(c.account_id)
    .bind(c.id)
    .bind(c.status.as_str())
    .bind(c.additional_attributes.to_string())
    .bind(now_ms())
    .fetch_one(tx.conn())
    .await?;
    records::conversation(&row)
}

async fn record(
    tx: &mut Tx,
    scope: &AccountScope,
    kind: &str,
    from: &Conversation,
    to: &Conversation,
    ids: &[i64],
) -> Result<()> {
    sqlx::query(
        "INSERT INTO conversation_moves (account_id, kind, from_conversation_id, \
           to_conversation_id, message_ids, user_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(scope.account_id())
    .bind(kind)
    .bind(from.id)
    .bind(to.id)
    .bind(serde_json::to_string(ids).unwrap_or_else(|_| "[]".into()))
    .bind(scope.user_id())
    .bind(now_ms())
    .execute(tx.conn())
    .await?;
    Ok(())
}

async fn emit_move(
    tx: &mut Tx,
    kind: EventKind,
    from: &Conversation,
    to: &Conversation,
    ids: &[i64],
) -> Result<()> {
    let account = crate::render::account_ref(tx.conn(), to.account_id).await?;
    tx.emit(NewEvent {
        kind,
        account_id: to.account_id,
        conversation_id: Some(to.id),
        contact_id: Some(to.contact_id),
        inbox_id: Some(to.inbox_id),
        payload: json!({
            "account": account,
            "id": to.display_id,
            "inbox_id": to.inbox_id,
            "from_conversation_id": from.display_id,
            "to_conversation_id": to.display_id,
            "message_ids": ids,
        }),
    })
    .await?;
    Ok(())
}

fn set_attribute(attrs: &mut Value, key: &str, value: Value) {
    if !attrs.is_object() {
        *attrs = json!({});
    }
    if let Value::Object(map) = attrs {
        map.insert(key.into(), value);
    }
}
