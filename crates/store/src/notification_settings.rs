//! What each agent wants to be told by email, per account (Chatwoot's notification settings),
//! and the digest's bookkeeping: which agents have unread notifications old enough to mail, and
//! when each was last mailed.

use serde_json::Value;
use throughline_core::notification::flags;

use crate::Conn;
use crate::clock::now_ms;
use crate::error::Result;
use crate::rows::RowExt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// 0 until the agent first saves their choice (the defaults apply until then).
    pub id: i64,
    pub account_id: i64,
    pub user_id: i64,
    pub email_flags: Vec<String>,
    pub push_flags: Vec<String>,
    /// When the agent's last digest went out.
    pub last_digest_at: Option<i64>,
}

fn list_of(v: Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The agent's settings in the account, or the defaults when they never chose.
pub async fn get(conn: &mut Conn, account_id: i64, user_id: i64) -> Result<Settings> {
    let row = sqlx::query(
        "SELECT id, email_flags, push_flags, last_digest_at FROM notification_settings \
         WHERE account_id = $1 AND user_id = $2",
    )
    .bind(account_id)
    .bind(user_id)
    .fetch_optional(conn)
    .await?;
    Ok(match row {
        Some(r) => Settings {
            id: r.int("id")?,
            account_id,
            user_id,
            email_flags: list_of(r.json("email_flags")?),
            push_flags: list_of(r.json("push_flags")?),
            last_digest_at: r.opt_int("last_digest_at")?,
        },
        None => Settings {
            id: 0,
            account_id,
            user_id,
            email_flags: flags::default_email(),
            push_flags: flags::default_push(),
            last_digest_at: None,
        },
    })
}

/// Saves the agent's choice (flags already checked by the caller).
pub async fn set(
    conn: &mut Conn,
    account_id: i64,
    user_id: i64,
    email_flags: &[String],
    push_flags: &[String],
) -> Result<Settings> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO notification_settings \
           (account_id, user_id, email_flags, push_flags, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5) \
         ON CONFLICT (account_id, user_id) DO UPDATE SET email_flags = excluded.email_flags, \
           push_flags = excluded.push_flags, updated_at = excluded.updated_at",
    )
    .bind(account_id)
    .bind(user_id)
    .bind(serde_json::json!(email_flags).to_string())
    .bind(serde_json::json!(push_flags).to_string())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    get(conn, account_id, user_id).await
}

/// Agents (account, user) with unread, unmailed notifications created before `cutoff`, whose
/// last digest is older than `not_since` (one digest per agent per interval), at most `limit`.
/// Deactivated agents are left out.
pub async fn digest_due(
    conn: &mut Conn,
    cutoff: i64,
    not_since: i64,
    limit: i64,
) -> Result<Vec<(i64, i64)>> {
    let rows = sqlx::query(
        "SELECT DISTINCT n.account_id, n.user_id FROM notifications n \
         JOIN account_users au ON au.account_id = n.account_id AND au.user_id = n.user_id \
         LEFT JOIN notification_settings s ON s.account_id = n.account_id AND s.user_id = n.user_id \
         WHERE n.emailed_at IS NULL AND n.read_at IS NULL AND n.created_at <= $1 \
           AND (n.snoozed_until IS NULL OR n.snoozed_until <= $1) \
           AND au.deactivated_at IS NULL \
           AND (s.last_digest_at IS NULL OR s.last_digest_at <= $2) \
         ORDER BY n.account_id, n.user_id LIMIT $3",
    )
    .bind(cutoff)
    .bind(not_since)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.int("account_id")?, r.int("user_id")?)))
        .collect()
}

/// Records when the agent's last digest went out (creating their settings row with the defaults
/// when they never chose, so the interval holds); `None` when a digest could not go out after
/// all and there was none before.
pub async fn digest_sent(
    conn: &mut Conn,
    account_id: i64,
    user_id: i64,
    at: Option<i64>,
) -> Result<()> {
    let current = get(&mut *conn, account_id, user_id).await?;
    if current.id == 0 {
        set(
            &mut *conn,
            account_id,
            user_id,
            &current.email_flags,
            &current.push_flags,
        )
        .await?;
    }
    sqlx::query(
        "UPDATE notification_settings SET last_digest_at = $3 \
         WHERE account_id = $1 AND user_id = $2",
    )
    .bind(account_id)
    .bind(user_id)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}
