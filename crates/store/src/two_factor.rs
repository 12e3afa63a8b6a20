//! Two-factor authentication of users: the sealed TOTP secret and the last step a code was
//! accepted for, recovery codes (keyed hashes, each used once), the short-lived sign-in
//! challenges between the password and the code, and whether a user's accounts require it.
//!
//! A user belongs to no single account, so these functions are `_unscoped` like the other
//! user-level ones in `accounts`.

use throughline_core::crypto::{ServerKey, random_token, sha256_hex};
use throughline_core::two_factor::Enforcement;

use crate::Conn;
use crate::accounts;
use crate::clock::now_ms;
use crate::error::{Result, StoreError};
use crate::rows::RowExt;

const RECOVERY_PURPOSE: &str = "recovery-code";

/// A user's second factor as stored.
#[derive(Clone, Debug)]
pub struct TwoFactor {
    /// The TOTP secret, base32, unsealed.
    pub secret: String,
    /// A correct code confirmed the enrolment: sign-in asks for a code.
    pub enabled: bool,
    /// The latest step a code was accepted for.
    pub last_used_step: Option<u64>,
}

/// The user's second factor, if they have started enrolling.
pub async fn get_unscoped(
    conn: &mut Conn,
    key: &ServerKey,
    user_id: i64,
) -> Result<Option<TwoFactor>> {
    let row = sqlx::query(
        "SELECT secret_sealed, enabled_at, last_used_step FROM user_two_factor WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let secret = key
        .unseal(&row.text("secret_sealed")?)
        .map_err(|e| StoreError::Corrupt(format!("two-factor secret of user {user_id}: {e}")))?;
    Ok(Some(TwoFactor {
        secret,
        enabled: row.opt_int("enabled_at")?.is_some(),
        last_used_step: row
            .opt_int("last_used_step")?
            .and_then(|s| u64::try_from(s).ok()),
    }))
}

/// Whether the user has two-factor authentication on.
pub async fn is_enabled_unscoped(conn: &mut Conn, user_id: i64) -> Result<bool> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT user_id FROM user_two_factor WHERE user_id = $1 AND enabled_at IS NOT NULL",
    )
    .bind(user_id)
    .fetch_optional(conn)
    .await?;
    Ok(found.is_some())
}

/// Offers a new secret (replacing one offered before); nothing changes for sign-in until
/// [`enable_unscoped`]. Refused when two-factor authentication is already on.
pub async fn start_enrolment_unscoped(
    conn: &mut Conn,
    key: &ServerKey,
    user_id: i64,
    secret_base32: &str,
) -> Result<()> {
    let now = now_ms();
    let done = sqlx::query(
        "INSERT INTO user_two_factor (user_id, secret_sealed, created_at, updated_at) \
         VALUES ($1, $2, $3, $3) \
         ON CONFLICT (user_id) DO UPDATE SET secret_sealed = excluded.secret_sealed, \
           last_used_step = NULL, updated_at = excluded.updated_at \
         WHERE user_two_factor.enabled_at IS NULL",
    )
    .bind(user_id)
    .bind(key.seal(secret_base32))
    .bind(now)
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::Refused(
            "two-factor authentication is already on".into(),
        ));
    }
    Ok(())
}

/// Records that a code of `step` was accepted, unless a code of this step or a later one was
/// accepted already (then `false`: a code works once). Safe against concurrent uses.
pub async fn accept_step_unscoped(conn: &mut Conn, user_id: i64, step: u64) -> Result<bool> {
    let step = i64::try_from(step).map_err(|_| StoreError::Other("step out of range".into()))?;
    let done = sqlx::query(
        "UPDATE user_two_factor SET last_used_step = $2, updated_at = $3 \
         WHERE user_id = $1 AND (last_used_step IS NULL OR last_used_step < $2)",
    )
    .bind(user_id)
    .bind(step)
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Turns two-factor authentication on (after a correct code).
pub async fn enable_unscoped(conn: &mut Conn, user_id: i64) -> Result<()> {
    let now = now_ms();
    let done = sqlx::query(
        "UPDATE user_two_factor SET enabled_at = $2, updated_at = $2 \
         WHERE user_id = $1 AND enabled_at IS NULL",
    )
    .bind(user_id)
    .bind(now)
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::Refused(
            "two-factor authentication is already on".into(),
        ));
    }
    Ok(())
}

/// Turns two-factor authentication off: the secret, recovery codes and open challenges go.
pub async fn disable_unscoped(conn: &mut Conn, user_id: i64) -> Result<()> {
    for sql in [
        "DELETE FROM user_recovery_codes WHERE user_id = $1",
        "DELETE FROM mfa_challenges WHERE user_id = $1",
        "DELETE FROM user_two_factor WHERE user_id = $1",
    ] {
        sqlx::query(sql).bind(user_id).execute(&mut *conn).await?;
    }
    Ok(())
}

/// Replaces the user's recovery codes with `codes` (as shown to them; stored hashed).
pub async fn replace_recovery_codes_unscoped(
    conn: &mut Conn,
    key: &ServerKey,
    user_id: i64,
    codes: &[String],
) -> Result<()> {
    sqlx::query("DELETE FROM user_recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    let now = now_ms();
    for code in codes {
        let Some(normal) = throughline_core::two_factor::normalize_recovery_code(code) else {
            return Err(StoreError::Other("malformed recovery code".into()));
        };
        sqlx::query(
            "INSERT INTO user_recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)",
        )
        .bind(user_id)
        .bind(recovery_hash(key, user_id, &normal))
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

fn recovery_hash(key: &ServerKey, user_id: i64, normalized: &str) -> String {
    key.keyed_hash(RECOVERY_PURPOSE, &format!("{user_id}:{normalized}"))
}

/// Uses one recovery code (already normalised): `true` when it was the user's and unused; it
/// is then spent. Safe against concurrent uses.
pub async fn use_recovery_code_unscoped(
    conn: &mut Conn,
    key: &ServerKey,
    user_id: i64,
    normalized: &str,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE user_recovery_codes SET used_at = $3 \
         WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
    )
    .bind(user_id)
    .bind(recovery_hash(key, user_id, normalized))
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// How many unused recovery codes the user has, and whether any were ever made.
pub async fn recovery_codes_left_unscoped(conn: &mut Conn, user_id: i64) -> Result<(i64, bool)> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS total, \
           COALESCE(SUM(CASE WHEN used_at IS NULL THEN 1 ELSE 0 END), 0) AS unused \
         FROM user_recovery_codes WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_one(conn)
    .await?;
    Ok((row.int("unused")?, row.int("total")? > 0))
}

/// Whether one of the user's accounts requires two-factor authentication of their role there
/// while they have not turned it on: then a browser session may only enrol.
pub async fn enrollment_required_unscoped(conn: &mut Conn, user_id: i64) -> Result<bool> {
    if is_enabled_unscoped(&mut *conn, user_id).await? {
        return Ok(false);
    }
    let memberships = accounts::memberships_of_user(conn, user_id).await?;
    Ok(memberships
        .iter()
        .any(|(a, m)| Enforcement::of_settings(&a.settings).requires(m.role)))
}

/// Opens a sign-in challenge after a correct password: the token (returned, stored hashed)
/// stands for "password checked" for `ttl_ms`.
pub async fn create_challenge_unscoped(
    conn: &mut Conn,
    user_id: i64,
    ttl_ms: i64,
) -> Result<String> {
    let now = now_ms();
    // Challenges nobody finished are swept as new ones open.
    sqlx::query("DELETE FROM mfa_challenges WHERE expires_at <= $1")
        .bind(now)
        .execute(&mut *conn)
        .await?;
    let token = random_token(32);
    sqlx::query(
        "INSERT INTO mfa_challenges (token_hash, user_id, created_at, expires_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(sha256_hex(token.as_bytes()))
    .bind(user_id)
    .bind(now)
    .bind(now.saturating_add(ttl_ms))
    .execute(conn)
    .await?;
    Ok(token)
}

/// The user a live challenge token stands for.
pub async fn challenge_user_unscoped(conn: &mut Conn, token: &str) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT user_id FROM mfa_challenges WHERE token_hash = $1 AND expires_at > $2",
    )
    .bind(sha256_hex(token.as_bytes()))
    .bind(now_ms())
    .fetch_optional(conn)
    .await?)
}

/// Spends a challenge token: `true` for the one caller that does while it is live.
pub async fn consume_challenge_unscoped(conn: &mut Conn, token: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM mfa_challenges WHERE token_hash = $1 AND expires_at > $2")
        .bind(sha256_hex(token.as_bytes()))
        .bind(now_ms())
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}
