//! Single-use sign-in links (Chatwoot's `sso_auth_token`, asked for by a platform app through
//! `GET /platform/api/v1/users/{id}/login`).
//!
//! The token is `{nonce}.{mac}`: a random nonce and a keyed hash, under the server key, of the
//! user it signs in and the nonce. Only its SHA-256 is stored, with the user and an expiry; it
//! is spent by deleting that row. So the database alone can neither reveal a live link nor be
//! given one (a row for a token of one's own making fails the keyed hash), and a link works
//! once, for one user, until it expires.

use throughline_core::crypto::{ServerKey, constant_time_eq, random_token, sha256_hex};

use crate::Conn;
use crate::clock::now_ms;
use crate::error::Result;

const PURPOSE: &str = "sso-login";

fn mac(key: &ServerKey, user_id: i64, nonce: &str) -> String {
    key.keyed_hash(PURPOSE, &format!("{user_id}/{nonce}"))
}

/// Opens a link for `user_id`, good once for `ttl_ms`; returns the token to put in it.
pub async fn issue_unscoped(
    conn: &mut Conn,
    key: &ServerKey,
    user_id: i64,
    platform_app_id: Option<i64>,
    ttl_ms: i64,
) -> Result<String> {
    let now = now_ms();
    // Links nobody opened are swept as new ones are made.
    sqlx::query("DELETE FROM sso_tokens WHERE expires_at <= $1")
        .bind(now)
        .execute(&mut *conn)
        .await?;
    let nonce = random_token(32);
    let token = format!("{nonce}.{}", mac(key, user_id, &nonce));
    sqlx::query(
        "INSERT INTO sso_tokens (token_hash, user_id, platform_app_id, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(sha256_hex(token.as_bytes()))
    .bind(user_id)
    .bind(platform_app_id)
    .bind(now)
    .bind(now.saturating_add(ttl_ms))
    .execute(conn)
    .await?;
    Ok(token)
}

/// Spends `token` for `user_id`: `true` for the one caller that does while it is live and was
/// made for that user by this server.
pub async fn consume_unscoped(
    conn: &mut Conn,
    key: &ServerKey,
    user_id: i64,
    token: &str,
) -> Result<bool> {
    let Some((nonce, given)) = token.split_once('.') else {
        return Ok(false);
    };
    if !constant_time_eq(mac(key, user_id, nonce).as_bytes(), given.as_bytes()) {
        return Ok(false);
    }
    let done = sqlx::query(
        "DELETE FROM sso_tokens WHERE token_hash = $1 AND user_id = $2 AND expires_at > $3",
    )
    .bind(sha256_hex(token.as_bytes()))
    .bind(user_id)
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
