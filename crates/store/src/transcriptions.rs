//! Voicemails waiting for the AI assistant's speech-to-text model: queued when the voicemail's
//! event is read, claimed by the timer while the model is asked, retried with back-off, and
//! settled — the transcript written on the message with its `message_updated` event — in one
//! transaction that also deletes the row, so a transcript is written once.

use serde_json::{Value, json};
use throughline_core::assistant::transcription::{awaits_transcript, with_transcript};
use throughline_core::event::EventKind;
use throughline_core::model::Message;

use crate::clock::now_ms;
use crate::db::Tx;
use crate::error::Result;
use crate::records::{self, MESSAGE_COLUMNS};
use crate::rows::RowExt;
use crate::scope::AccountScope;
use crate::{Conn, events, messages};

/// A voicemail to transcribe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waiting {
    pub id: i64,
    pub account_id: i64,
    pub message_id: i64,
    /// The IVR's language the caller heard (`pt-BR`, `pl`), when the inbox names one.
    pub language: Option<String>,
    /// Failed attempts so far.
    pub attempts: i64,
    pub next_attempt_at: i64,
}

/// Queues the voicemail `message_id` (once: a second queue of it changes nothing).
pub async fn queue(
    conn: &mut Conn,
    account_id: i64,
    message_id: i64,
    language: Option<&str>,
) -> Result<()> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO voicemail_transcriptions (account_id, message_id, language, next_attempt_at, \
           created_at) VALUES ($1, $2, $3, $4, $4) ON CONFLICT (message_id) DO NOTHING",
    )
    .bind(account_id)
    .bind(message_id)
    .bind(language)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Up to `limit` voicemails due by `now` (every account: the timer works for all).
pub async fn due_unscoped(conn: &mut Conn, now: i64, limit: i64) -> Result<Vec<Waiting>> {
    let rows = sqlx::query(
        "SELECT id, account_id, message_id, language, attempts, next_attempt_at \
         FROM voicemail_transcriptions WHERE next_attempt_at <= $1 \
         ORDER BY next_attempt_at, id LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Waiting {
                id: r.int("id")?,
                account_id: r.int("account_id")?,
                message_id: r.int("message_id")?,
                language: r.opt_text("language")?,
                attempts: r.int("attempts")?,
                next_attempt_at: r.int("next_attempt_at")?,
            })
        })
        .collect()
}

/// When the next voicemail is due, if any is waiting.
pub async fn next_due_unscoped(conn: &mut Conn) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT MIN(next_attempt_at) FROM voicemail_transcriptions")
            .fetch_one(conn)
            .await?,
    )
}

/// Takes `w` for the one asking the model until `until` (after which, if that one died, it is
/// due again). False when another process took it first.
pub async fn claim(conn: &mut Conn, w: &Waiting, until: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE voicemail_transcriptions SET next_attempt_at = $3 \
         WHERE id = $1 AND next_attempt_at = $2",
    )
    .bind(w.id)
    .bind(w.next_attempt_at)
    .bind(until)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Tried again at `next_attempt_at`; `failed`: the model failed (an attempt spent), rather
/// than the recording not having arrived yet.
pub async fn retry_later(
    conn: &mut Conn,
    id: i64,
    failed: bool,
    error: &str,
    next_attempt_at: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE voicemail_transcriptions SET attempts = attempts + $2, last_error = $3, \
           next_attempt_at = $4 WHERE id = $1",
    )
    .bind(id)
    .bind(i64::from(failed))
    .bind(error)
    .bind(next_attempt_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Forgets `id` without a transcript (given up, or nothing to transcribe any more).
pub async fn forget(conn: &mut Conn, id: i64) -> Result<()> {
    sqlx::query("DELETE FROM voicemail_transcriptions WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The voicemail message of `w`, if it still exists.
pub async fn message(
    conn: &mut Conn,
    scope: &AccountScope,
    w: &Waiting,
) -> Result<Option<Message>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE account_id = $1 AND id = $2"
    )))
    .bind(scope.account_id())
    .bind(w.message_id)
    .fetch_optional(conn)
    .await?;
    row.map(|r| records::message(&r)).transpose()
}

/// Writes `transcript` (in `language`, when known) on the voicemail of `w` —
/// `content_attributes.voice_call.transcript` and the message's text below its heading, found
/// by search from now on — and announces the change. Nothing is written when the row was
/// settled or dropped meanwhile (another process, an erasure) or the message no longer waits
/// for a transcript (deleted, anonymised, transcribed already).
pub async fn settle(
    tx: &mut Tx,
    w: &Waiting,
    transcript: &str,
    language: Option<&str>,
) -> Result<Option<Message>> {
    let taken = sqlx::query("DELETE FROM voicemail_transcriptions WHERE id = $1")
        .bind(w.id)
        .execute(tx.conn())
        .await?;
    if taken.rows_affected() == 0 {
        return Ok(None);
    }
    let scope = AccountScope::system(w.account_id);
    let Some(mut message) = message(tx.conn(), &scope, w).await? else {
        return Ok(None);
    };
    if !awaits_transcript(&message.content_attributes) {
        return Ok(None);
    }
    if let Some(Value::Object(call)) = message.content_attributes.get_mut("voice_call") {
        call.insert("transcript".into(), json!(transcript));
        if let Some(language) = language {
            call.insert("transcript_language".into(), json!(language));
        }
    }
    let heading = message.content.clone().unwrap_or_default();
    message.content = Some(with_transcript(&heading, transcript));
    message.updated_at = now_ms();
    sqlx::query(
        "UPDATE messages SET content = $3, content_attributes = $4, updated_at = $5 \
         WHERE account_id = $1 AND id = $2",
    )
    .bind(w.account_id)
    .bind(message.id)
    .bind(message.content.as_deref())
    .bind(message.content_attributes.to_string())
    .bind(message.updated_at)
    .execute(tx.conn())
    .await?;
    // The heading's words are the conversation's already: only the transcript's are new.
    crate::search::add_terms(
        tx.conn(),
        w.account_id,
        message.conversation_id,
        [transcript],
    )
    .await?;
    let conversation = messages::conversation_by_id(tx.conn(), message.conversation_id).await?;
    events::message(tx, EventKind::MessageUpdated, &conversation, &message).await?;
    Ok(Some(message))
}
