//! The automatic replies a conversation got (greeting, out of office), claimed by key in the
//! transaction that sends them: whoever claims first sends, a redone batch or a second
//! process finds the claim and does not.

use crate::Conn;
use crate::clock::now_ms;
use crate::error::Result;

/// Claims `key` for the conversation; false if it was claimed before.
pub async fn claim(conn: &mut Conn, conversation_id: i64, key: &str) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO auto_replies (conversation_id, reply_key, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (conversation_id, reply_key) DO NOTHING",
    )
    .bind(conversation_id)
    .bind(key)
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records which message carried the reply claimed under `key`.
pub async fn record_message(
    conn: &mut Conn,
    conversation_id: i64,
    key: &str,
    message_id: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE auto_replies SET message_id = $3 WHERE conversation_id = $1 AND reply_key = $2",
    )
    .bind(conversation_id)
    .bind(key)
    .bind(message_id)
    .execute(conn)
    .await?;
    Ok(())
}
