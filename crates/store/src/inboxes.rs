//! Inboxes (one per channel) and their members.

use serde_json::Value;
use throughline_core::model::{ChannelType, Inbox};

use crate::Conn;
use crate::accounts::merge_object;
use crate::clock::now_ms;
use crate::error::{Result, StoreError};
use crate::rows::RowExt;
use crate::scope::AccountScope;
use crate::sql::SqlBuilder;
use throughline_core::crypto::ServerKey;

const COLUMNS: &str = "id, account_id, name, channel_type, identifier, avatar_url, \
     greeting_enabled, greeting_message, enable_auto_assignment, allow_messages_after_resolved, \
     lock_to_single_conversation, hmac_mandatory, hmac_token_sealed, webhook_url, \
     default_country, settings, auto_assignment_limit, created_at, updated_at";

fn inbox(row: &sqlx::any::AnyRow, key: &ServerKey) -> Result<Inbox> {
    let sealed = row.text("hmac_token_sealed")?;
    Ok(Inbox {
        id: row.int("id")?,
        account_id: row.int("account_id")?,
        name: row.text("name")?,
        channel_type: row.parsed("channel_type", ChannelType::parse)?,
        identifier: row.text("identifier")?,
        avatar_url: row.opt_text("avatar_url")?,
        greeting_enabled: row.flag("greeting_enabled")?,
        greeting_message: row.opt_text("greeting_message")?,
        enable_auto_assignment: row.flag("enable_auto_assignment")?,
        auto_assignment_limit: row.opt_int("auto_assignment_limit")?,
        allow_messages_after_resolved: row.flag("allow_messages_after_resolved")?,
        lock_to_single_conversation: row.flag("lock_to_single_conversation")?,
        hmac_mandatory: row.flag("hmac_mandatory")?,
        hmac_token: key
            .unseal(&sealed)
            .map_err(|e| StoreError::Corrupt(format!("inbox hmac token: {e}")))?,
        webhook_url: row.opt_text("webhook_url")?,
        default_country: row.opt_text("default_country")?,
        settings: row.json("settings")?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

#[derive(Clone, Debug)]
pub struct NewInbox {
    pub name: String,
    pub channel_type: ChannelType,
    pub avatar_url: Option<String>,
    pub greeting_enabled: bool,
    pub greeting_message: Option<String>,
    pub enable_auto_assignment: bool,
    pub allow_messages_after_resolved: bool,
    pub lock_to_single_conversation: bool,
    pub hmac_mandatory: bool,
    pub webhook_url: Option<String>,
    pub default_country: Option<String>,
    pub settings: Value,
}

impl NewInbox {
    /// An inbox with the API's defaults: no greeting, automatic assignment on, messages after
    /// resolution reopen the conversation, no identity verification required.
    pub fn new(name: &str, channel_type: ChannelType) -> Self {
        NewInbox {
            name: name.to_owned(),
            channel_type,
            avatar_url: None,
            greeting_enabled: false,
            greeting_message: None,
            enable_auto_assignment: true,
            allow_messages_after_resolved: true,
            lock_to_single_conversation: false,
            hmac_mandatory: false,
            webhook_url: None,
            default_country: None,
            settings: Value::Object(serde_json::Map::new()),
        }
    }
}

pub async fn create(
    conn: &mut Conn,
    key: &ServerKey,
    scope: &AccountScope,
    new: NewInbox,
) -> Result<Inbox> {
    let now = now_ms();
    let hmac_token = throughline_core::crypto::random_token(24);
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO inboxes (account_id, name, channel_type, identifier, avatar_url, \
           greeting_enabled, greeting_message, enable_auto_assignment, \
           allow_messages_after_resolved, lock_to_single_conversation, hmac_mandatory, \
           hmac_token_sealed, webhook_url, default_country, settings, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16) \
         RETURNING {COLUMNS}"
    )))
    .bind(scope.account_id())
    .bind(&new.name)
    .bind(new.channel_type.as_str())
    .bind(crate::crypto_token())
    .bind(new.avatar_url.as_deref())
    .bind(new.greeting_enabled)
    .bind(new.greeting_message.as_deref())
    .bind(new.enable_auto_assignment)
    .bind(new.allow_messages_after_resolved)
    .bind(new.lock_to_single_conversation)
    .bind(new.hmac_mandatory)
    .bind(key.seal(&hmac_token))
    .bind(new.webhook_url.as_deref())
    .bind(new.default_country.as_deref())
    .bind(new.settings.to_string())
    .bind(now)
    .fetch_one(conn)
    .await?;
    inbox(&row, key)
}

/// Inboxes the scope may see.
pub async fn list(conn: &mut Conn, key: &ServerKey, scope: &AccountScope) -> Result<Vec<Inbox>> {
    let mut q = SqlBuilder::new(&format!(
        "SELECT {COLUMNS} FROM inboxes WHERE account_id = "
    ));
    q.bind(scope.account_id());
    if let crate::scope::InboxVisibility::Only(ids) = scope.inboxes() {
        q.push(" AND id IN ").bind_list(ids);
    }
    q.push(" ORDER BY id");
    let rows = q.build().fetch_all(conn).await?;
    rows.iter().map(|r| inbox(r, key)).collect()
}

pub async fn get(conn: &mut Conn, key: &ServerKey, scope: &AccountScope, id: i64) -> Result<Inbox> {
    if !scope.sees_inbox(id) {
        return Err(StoreError::NotFound);
    }
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM inboxes WHERE account_id = $1 AND id = $2"
    )))
    .bind(scope.account_id())
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    inbox(&row, key)
}

/// An inbox's channel alone (no credentials unsealed): what automation conditions test.
pub async fn channel_type(conn: &mut Conn, scope: &AccountScope, id: i64) -> Result<ChannelType> {
    let row = sqlx::query("SELECT channel_type FROM inboxes WHERE account_id = $1 AND id = $2")
        .bind(scope.account_id())
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or(StoreError::NotFound)?;
    row.parsed("channel_type", ChannelType::parse)
}

/// Reads an inbox by id for rendering records that already belong to its account.
pub async fn get_unscoped(conn: &mut Conn, key: &ServerKey, id: i64) -> Result<Inbox> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM inboxes WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    inbox(&row, key)
}

/// Finds the inbox behind a public identifier (Client API, widget). The identifier is the
/// proof of access, so this is unscoped; callers scope everything after it to its account.
pub async fn by_identifier_unscoped(
    conn: &mut Conn,
    key: &ServerKey,
    identifier: &str,
) -> Result<Inbox> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM inboxes WHERE identifier = $1"
    )))
    .bind(identifier)
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    inbox(&row, key)
}

#[derive(Clone, Debug, Default)]
pub struct InboxChanges {
    pub name: Option<String>,
    pub avatar_url: Option<Option<String>>,
    pub greeting_enabled: Option<bool>,
    pub greeting_message: Option<Option<String>>,
    pub enable_auto_assignment: Option<bool>,
    /// `Some(None)` lifts the limit.
    pub auto_assignment_limit: Option<Option<i64>>,
    pub allow_messages_after_resolved: Option<bool>,
    pub lock_to_single_conversation: Option<bool>,
    pub hmac_mandatory: Option<bool>,
    pub webhook_url: Option<Option<String>>,
    pub default_country: Option<Option<String>>,
    /// Merged key by key into the stored settings.
    pub settings: Option<serde_json::Map<String, Value>>,
}

pub async fn update(
    conn: &mut Conn,
    key: &ServerKey,
    scope: &AccountScope,
    id: i64,
    c: InboxChanges,
) -> Result<Inbox> {
    let mut cur = get(&mut *conn, key, scope, id).await?;
    if let Some(patch) = c.settings {
        merge_object(&mut cur.settings, patch);
    }
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE inboxes SET name = $3, avatar_url = $4, greeting_enabled = $5, \
           greeting_message = $6, enable_auto_assignment = $7, allow_messages_after_resolved = $8, \
           lock_to_single_conversation = $9, hmac_mandatory = $10, webhook_url = $11, \
           default_country = $12, settings = $13, updated_at = $14, \
           auto_assignment_limit = $15 \
         WHERE account_id = $1 AND id = $2 RETURNING {COLUMNS}"
    )))
    .bind(scope.account_id())
    .bind(id)
    .bind(c.name.unwrap_or(cur.name))
    .bind(c.avatar_url.unwrap_or(cur.avatar_url))
    .bind(c.greeting_enabled.unwrap_or(cur.greeting_enabled))
    .bind(c.greeting_message.unwrap_or(cur.greeting_message))
    .bind(
        c.enable_auto_assignment
            .unwrap_or(cur.enable_auto_assignment),
    )
    .bind(
        c.allow_messages_after_resolved
            .unwrap_or(cur.allow_messages_after_resolved),
    )
    .bind(
        c.lock_to_single_conversation
            .unwrap_or(cur.lock_to_single_conversation),
    )
    .bind(c.hmac_mandatory.unwrap_or(cur.hmac_mandatory))
    .bind(c.webhook_url.unwrap_or(cur.webhook_url))
    .bind(c.default_country.unwrap_or(cur.default_country))
    .bind(cur.settings.to_string())
    .bind(now_ms())
    .bind(c.auto_assignment_limit.unwrap_or(cur.auto_assignment_limit))
    .fetch_one(conn)
    .await?;
    inbox(&row, key)
}

/// A new identity-verification secret (Chatwoot's `hmac_token`) for the inbox: pages signed
/// with the old one stop verifying at once.
pub async fn rotate_hmac_token(
    conn: &mut Conn,
    key: &ServerKey,
    scope: &AccountScope,
    id: i64,
) -> Result<Inbox> {
    let token = throughline_core::crypto::random_token(24);
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE inboxes SET hmac_token_sealed = $3, updated_at = $4 \
         WHERE account_id = $1 AND id = $2 RETURNING {COLUMNS}"
    )))
    .bind(scope.account_id())
    .bind(id)
    .bind(key.seal(&token))
    .bind(now_ms())
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    inbox(&row, key)
}

pub async fn member_ids(
    conn: &mut Conn,
    key: &ServerKey,
    scope: &AccountScope,
    inbox_id: i64,
) -> Result<Vec<i64>> {
    get(&mut *conn, key, scope, inbox_id).await?;
    Ok(
        sqlx::query_scalar(
            "SELECT user_id FROM inbox_members WHERE inbox_id = $1 ORDER BY user_id",
        )
        .bind(inbox_id)
        .fetch_all(conn)
        .await?,
    )
}

/// Adds members; callers check that the users are agents of the account.
pub async fn add_members(
    conn: &mut Conn,
    key: &ServerKey,
    scope: &AccountScope,
    inbox_id: i64,
    user_ids: &[i64],
) -> Result<()> {
    get(&mut *conn, key, scope, inbox_id).await?;
    let now = now_ms();
    for user_id in user_ids {
        sqlx::query(
            "INSERT INTO inbox_members (inbox_id, user_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(inbox_id)
        .bind(*user_id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub async fn remove_members(
    conn: &mut Conn,
    key: &ServerKey,
    scope: &AccountScope,
    inbox_id: i64,
    user_ids: &[i64],
) -> Result<()> {
    get(&mut *conn, key, scope, inbox_id).await?;
    for user_id in user_ids {
        sqlx::query("DELETE FROM inbox_members WHERE inbox_id = $1 AND user_id = $2")
            .bind(inbox_id)
            .bind(*user_id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

pub async fn set_members(
    conn: &mut Conn,
    key: &ServerKey,
    scope: &AccountScope,
    inbox_id: i64,
    user_ids: &[i64],
) -> Result<()> {
    let current = member_ids(&mut *conn, key, scope, inbox_id).await?;
    let gone: Vec<i64> = current
        .iter()
        .copied()
        .filter(|id| !user_ids.contains(id))
        .collect();
    remove_members(&mut *conn, key, scope, inbox_id, &gone).await?;
    add_members(conn, key, scope, inbox_id, user_ids).await
}

pub async fn delete(conn: &mut Conn, scope: &AccountScope, id: i64) -> Result<()> {
    let done = sqlx::query("DELETE FROM inboxes WHERE account_id = $1 AND id = $2")
        .bind(scope.account_id())
        .bind(id)
        .execute(conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// The account's inboxes whose `settings` have `key` set to true (read without secrets).
pub async fn flagged(conn: &mut Conn, account_id: i64, key: &str) -> Result<Vec<i64>> {
    let rows = sqlx::query("SELECT id, settings FROM inboxes WHERE account_id = $1")
        .bind(account_id)
        .fetch_all(conn)
        .await?;
    let mut ids = Vec::new();
    for row in rows {
        let settings: Value = row.json("settings")?;
        if settings.get(key).and_then(Value::as_bool) == Some(true) {
            ids.push(row.int("id")?);
        }
    }
    Ok(ids)
}

/// The account's inboxes of one channel type.
pub async fn ids_by_channel(
    conn: &mut Conn,
    account_id: i64,
    channel: ChannelType,
) -> Result<Vec<i64>> {
    let ids = sqlx::query_scalar(
        "SELECT id FROM inboxes WHERE account_id = $1 AND channel_type = $2 ORDER BY id",
    )
    .bind(account_id)
    .bind(channel.as_str())
    .fetch_all(conn)
    .await?;
    Ok(ids)
}
