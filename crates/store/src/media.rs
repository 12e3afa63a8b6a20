//! Files customers sent that their provider would not hand over yet: kept with the message they
//! belong to and retried with back-off (`jobs`), then attached when they arrive.

use serde_json::Value;
use throughline_core::event::EventKind;
use throughline_core::model::Message;

use crate::clock::now_ms;
use crate::db::Tx;
use crate::error::Result;
use crate::messages::{self, NewAttachment};
use crate::records::{self, MESSAGE_COLUMNS};
use crate::rows::RowExt;
use crate::{Conn, events};

/// A file still at the provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingFile {
    /// The provider's handle (a media id, a `file_id`, a URL).
    pub handle: String,
    pub content_type: Option<String>,
    pub file_name: Option<String>,
}

/// A pending download due for another attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Due {
    pub id: i64,
    pub account_id: i64,
    pub inbox_id: i64,
    pub message_id: i64,
    pub file: PendingFile,
    pub attempts: i64,
}

/// Records files of a new message to fetch later (in the message's own transaction).
pub async fn hold(
    conn: &mut Conn,
    message: &Message,
    files: &[PendingFile],
    first_attempt_at: i64,
) -> Result<()> {
    for f in files {
        sqlx::query(
            "INSERT INTO pending_media (account_id, inbox_id, message_id, handle, content_type, \
               file_name, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(message.account_id)
        .bind(message.inbox_id)
        .bind(message.id)
        .bind(&f.handle)
        .bind(f.content_type.as_deref())
        .bind(f.file_name.as_deref())
        .bind(first_attempt_at)
        .bind(now_ms())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Up to `limit` downloads due by `now` (every account: the timer works for all).
pub async fn due_unscoped(conn: &mut Conn, now: i64, limit: i64) -> Result<Vec<Due>> {
    let rows = sqlx::query(
        "SELECT id, account_id, inbox_id, message_id, handle, content_type, file_name, attempts \
         FROM pending_media WHERE next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Due {
                id: r.int("id")?,
                account_id: r.int("account_id")?,
                inbox_id: r.int("inbox_id")?,
                message_id: r.int("message_id")?,
                file: PendingFile {
                    handle: r.text("handle")?,
                    content_type: r.opt_text("content_type")?,
                    file_name: r.opt_text("file_name")?,
                },
                attempts: r.int("attempts")?,
            })
        })
        .collect()
}

/// When the next download is due, if any.
pub async fn next_due_unscoped(conn: &mut Conn) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT MIN(next_attempt_at) FROM pending_media")
            .fetch_one(conn)
            .await?,
    )
}

/// Another failed attempt: tried again at `next_attempt_at`.
pub async fn retry_later(
    conn: &mut Conn,
    id: i64,
    error: &str,
    next_attempt_at: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE pending_media SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3 \
         WHERE id = $1",
    )
    .bind(id)
    .bind(error)
    .bind(next_attempt_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The download of `due` ended: attached (`Some`) or given up with `error`. The message's
/// `content_attributes.media_pending` entry for it goes, or records the final error, and the
/// message's update reaches agents' screens.
pub async fn settle(
    tx: &mut Tx,
    due: &Due,
    attachment: Option<&NewAttachment>,
    error: Option<&str>,
) -> Result<Option<Message>> {
    let deleted = sqlx::query("DELETE FROM pending_media WHERE id = $1")
        .bind(due.id)
        .execute(tx.conn())
        .await?;
    if deleted.rows_affected() == 0 {
        // Another instance settled it.
        return Ok(None);
    }
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE account_id = $1 AND id = $2"
    )))
    .bind(due.account_id)
    .bind(due.message_id)
    .fetch_optional(tx.conn())
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let mut message = records::message(&row)?;
    if let Some(a) = attachment {
        messages::add_attachment(tx, &message, a).await?;
    }
    if let Some(Value::Array(pending)) = message.content_attributes.get_mut("media_pending") {
        match error {
            Some(e) => {
                for p in pending.iter_mut() {
                    if p["handle"] == due.file.handle.as_str() {
                        p["error"] = Value::String(e.to_owned());
                        p["given_up"] = Value::Bool(true);
                    }
                }
            }
            None => pending.retain(|p| p["handle"] != due.file.handle.as_str()),
        }
        if pending.is_empty()
            && let Value::Object(map) = &mut message.content_attributes
        {
            map.remove("media_pending");
        }
    }
    message.updated_at = now_ms();
    sqlx::query(
        "UPDATE messages SET content_attributes = $3, updated_at = $4 \
         WHERE account_id = $1 AND id = $2",
    )
    .bind(due.account_id)
    .bind(message.id)
    .bind(message.content_attributes.to_string())
    .bind(message.updated_at)
    .execute(tx.conn())
    .await?;
    let conversation = messages::conversation_by_id(tx.conn(), message.conversation_id).await?;
    events::message(tx, EventKind::MessageUpdated, &conversation, &message).await?;
    Ok(Some(message))
}

/// Forgets provider status reports held this long for a message id that never appeared (a
/// report for a message sent by another system on the same number).
pub async fn forget_stale_receipts(conn: &mut Conn, older_than: i64) -> Result<u64> {
    Ok(
        sqlx::query("DELETE FROM provider_receipts WHERE created_at < $1")
            .bind(older_than)
            .execute(conn)
            .await?
            .rows_affected(),
    )
}
