//! Links that let a user choose a password: an **invitation** (an administrator added them to
//! an account; they set their first password) or a **reset** (they forgot it).
//!
//! As with the platform's sign-in links (`sso`), the token is `{nonce}.{mac}` — a random nonce
//! and a keyed hash of it under the server key — and only its SHA-256 is stored with the user,
//! the purpose and an expiry. The database alone can neither reveal a live link nor be given
//! one. A link works once: choosing the password deletes it and every other link of the user.

use throughline_core::crypto::{ServerKey, constant_time_eq, random_token, sha256_hex};

use crate::Conn;
use crate::clock::now_ms;
use crate::error::Result;
use crate::rows::RowExt;

const MAC_PURPOSE: &str = "password-link";

/// What a link is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    Invitation,
    Reset,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invitation => "invitation",
            Self::Reset => "reset",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "invitation" => Some(Self::Invitation),
            "reset" => Some(Self::Reset),
            _ => None,
        }
    }
}

/// A live link's user and purpose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub user_id: i64,
    pub purpose: Purpose,
    pub expires_at: i64,
}

fn mac(key: &ServerKey, nonce: &str) -> String {
    key.keyed_hash(MAC_PURPOSE, nonce)
}

/// Whether `token` is one this server made (before any database work).
fn genuine(key: &ServerKey, token: &str) -> bool {
    token.split_once('.').is_some_and(|(nonce, given)| {
        constant_time_eq(mac(key, nonce).as_bytes(), given.as_bytes())
    })
}

/// Opens a link for `user_id`, replacing the user's earlier links of the same purpose; returns
/// the token and when it expires.
pub async fn issue_unscoped(
    conn: &mut Conn,
    key: &ServerKey,
    user_id: i64,
    purpose: Purpose,
    ttl_ms: i64,
) -> Result<(String, i64)> {
    let now = now_ms();
    // Links nobody opened are swept as new ones are made.
    sqlx::query(
        "DELETE FROM password_links WHERE expires_at <= $1 OR (user_id = $2 AND purpose = $3)",
    )
    .bind(now)
    .bind(user_id)
    .bind(purpose.as_str())
    .execute(&mut *conn)
    .await?;
    let nonce = random_token(32);
    let token = format!("{nonce}.{}", mac(key, &nonce));
    let expires_at = now.saturating_add(ttl_ms);
    sqlx::query(
        "INSERT INTO password_links (token_hash, user_id, purpose, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(sha256_hex(token.as_bytes()))
    .bind(user_id)
    .bind(purpose.as_str())
    .bind(now)
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok((token, expires_at))
}

fn link(row: &sqlx::any::AnyRow) -> Result<Link> {
    Ok(Link {
        user_id: row.int("user_id")?,
        purpose: row.parsed("purpose", Purpose::parse)?,
        expires_at: row.int("expires_at")?,
    })
}

/// The live link `token` opens, without spending it (the page that asks for the password).
pub async fn peek_unscoped(conn: &mut Conn, key: &ServerKey, token: &str) -> Result<Option<Link>> {
    if !genuine(key, token) {
        return Ok(None);
    }
    let row = sqlx::query(
        "SELECT user_id, purpose, expires_at FROM password_links \
         WHERE token_hash = $1 AND expires_at > $2",
    )
    .bind(sha256_hex(token.as_bytes()))
    .bind(now_ms())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(link).transpose()
}

/// Spends `token`: its link for the one caller that does while it is live, and every other
/// link of that user with it.
pub async fn consume_unscoped(
    conn: &mut Conn,
    key: &ServerKey,
    token: &str,
) -> Result<Option<Link>> {
    if !genuine(key, token) {
        return Ok(None);
    }
    let row = sqlx::query(
        "DELETE FROM password_links WHERE token_hash = $1 AND expires_at > $2 \
         RETURNING user_id, purpose, expires_at",
    )
    .bind(sha256_hex(token.as_bytes()))
    .bind(now_ms())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(found) = row.as_ref().map(link).transpose()? else {
        return Ok(None);
    };
    sqlx::query("DELETE FROM password_links WHERE user_id = $1")
        .bind(found.user_id)
        .execute(conn)
        .await?;
    Ok(Some(found))
}

/// Whether the user has a live invitation (they have not chosen a password yet).
pub async fn invited_unscoped(conn: &mut Conn, user_id: i64) -> Result<bool> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM password_links WHERE user_id = $1 AND purpose = 'invitation' \
         AND expires_at > $2 LIMIT 1",
    )
    .bind(user_id)
    .bind(now_ms())
    .fetch_optional(conn)
    .await?;
    Ok(found.is_some())
}
