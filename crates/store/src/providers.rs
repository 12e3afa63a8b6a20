//! Messaging inboxes' provider settings (sealed whole) and the lookups their webhooks need;
//! provider status reports that arrived before we knew the message id they name.

use throughline_core::crypto::{ServerKey, sha256_hex};
use throughline_core::message::DeliveryStatus;
use throughline_core::messaging::{Provider, ProviderSettings};

use crate::Conn;
use crate::clock::now_ms;
use crate::error::{Result, StoreError};
use crate::rows::RowExt;
use crate::scope::AccountScope;

/// One inbox's provider settings.
#[derive(Clone, Debug, PartialEq)]
pub struct ProviderChannel {
    pub inbox_id: i64,
    pub account_id: i64,
    pub settings: ProviderSettings,
}

const COLUMNS: &str = "inbox_id, account_id, settings_sealed";

fn channel(row: &sqlx::any::AnyRow, key: &ServerKey) -> Result<ProviderChannel> {
    let sealed = row.text("settings_sealed")?;
    let json = key
        .unseal(&sealed)
        .map_err(|e| StoreError::Corrupt(format!("provider settings: {e}")))?;
    let settings = serde_json::from_str(&json)
        .map_err(|e| StoreError::Corrupt(format!("provider settings: {e}")))?;
    Ok(ProviderChannel {
        inbox_id: row.int("inbox_id")?,
        account_id: row.int("account_id")?,
        settings,
    })
}

/// Creates or replaces an inbox's provider settings. Another inbox with the same route (the
/// same number, bot or page) is a `Conflict`.
pub async fn save(
    conn: &mut Conn,
    key: &ServerKey,
    scope: &AccountScope,
    inbox_id: i64,
    settings: &ProviderSettings,
) -> Result<ProviderChannel> {
    if !scope.sees_inbox(inbox_id) {
        return Err(StoreError::NotFound);
    }
    let json = serde_json::to_string(settings)
        .map_err(|e| StoreError::Corrupt(format!("provider settings: {e}")))?;
    let now = now_ms();
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO provider_channels (inbox_id, account_id, provider, route_key, \
           verify_token_digest, settings_sealed, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
         ON CONFLICT (inbox_id) DO UPDATE SET provider = $3, route_key = $4, \
           verify_token_digest = $5, settings_sealed = $6, updated_at = $7 \
         RETURNING {COLUMNS}"
    )))
    .bind(inbox_id)
    .bind(scope.account_id())
    .bind(settings.provider().as_str())
    .bind(settings.route_key())
    .bind(settings.verify_token().map(|t| sha256_hex(t.as_bytes())))
    .bind(key.seal(&json))
    .bind(now)
    .fetch_one(conn)
    .await?;
    channel(&row, key)
}

/// The provider settings of an inbox the scope sees (`None`: not a provider inbox).
pub async fn get(
    conn: &mut Conn,
    key: &ServerKey,
    scope: &AccountScope,
    inbox_id: i64,
) -> Result<Option<ProviderChannel>> {
    if !scope.sees_inbox(inbox_id) {
        return Err(StoreError::NotFound);
    }
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM provider_channels WHERE account_id = $1 AND inbox_id = $2"
    )))
    .bind(scope.account_id())
    .bind(inbox_id)
    .fetch_optional(conn)
    .await?;
    row.map(|r| channel(&r, key)).transpose()
}

/// The inbox a provider's webhook names (across accounts: the provider knows no account).
pub async fn by_route_unscoped(
    conn: &mut Conn,
    key: &ServerKey,
    provider: Provider,
    route_key: &str,
) -> Result<Option<ProviderChannel>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM provider_channels WHERE provider = $1 AND route_key = $2"
    )))
    .bind(provider.as_str())
    .bind(route_key)
    .fetch_optional(conn)
    .await?;
    row.map(|r| channel(&r, key)).transpose()
}

/// Whether some inbox of these providers was set up with this handshake token.
pub async fn verify_token_known(
    conn: &mut Conn,
    providers: &[Provider],
    token: &str,
) -> Result<bool> {
    let digest = sha256_hex(token.as_bytes());
    let rows = sqlx::query("SELECT provider FROM provider_channels WHERE verify_token_digest = $1")
        .bind(digest)
        .fetch_all(conn)
        .await?;
    for r in rows {
        let p = r.text("provider")?;
        if providers.iter().any(|x| x.as_str() == p) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Keeps a status report for a provider message id we have not recorded (yet).
pub async fn hold_receipt(
    conn: &mut Conn,
    account_id: i64,
    inbox_id: i64,
    provider_message_id: &str,
    status: DeliveryStatus,
    reason: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO provider_receipts (account_id, inbox_id, provider_message_id, status, \
           reason, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(account_id)
    .bind(inbox_id)
    .bind(provider_message_id)
    .bind(status.as_str())
    .bind(reason)
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// The held reports for a provider message id, oldest first, removed as they are taken.
pub async fn take_receipts(
    conn: &mut Conn,
    inbox_id: i64,
    provider_message_id: &str,
) -> Result<Vec<(DeliveryStatus, Option<String>)>> {
    let rows = sqlx::query(
        "SELECT status, reason FROM provider_receipts \
         WHERE inbox_id = $1 AND provider_message_id = $2 ORDER BY id",
    )
    .bind(inbox_id)
    .bind(provider_message_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        if let Some(status) = DeliveryStatus::parse(&r.text("status")?) {
            out.push((status, r.opt_text("reason")?));
        }
    }
    if !out.is_empty() {
        sqlx::query(
            "DELETE FROM provider_receipts WHERE inbox_id = $1 AND provider_message_id = $2",
        )
        .bind(inbox_id)
        .bind(provider_message_id)
        .execute(conn)
        .await?;
    }
    Ok(out)
}
