//! Credentials: API access tokens (users, agent bots, platform apps), browser sessions, and
//! platform apps with the objects they created.
//!
//! Tokens and session ids are looked up by SHA-256; the plaintext never reaches the database.

use throughline_core::crypto::ServerKey;
use throughline_core::crypto::{random_token, sha256_hex};
use throughline_core::model::AgentBot;

use crate::Conn;
use crate::clock::now_ms;
use crate::error::{Result, StoreError};
use crate::rows::RowExt;
use crate::scope::AccountScope;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenOwner {
    User(i64),
    AgentBot(i64),
    PlatformApp(i64),
}

impl TokenOwner {
    fn parts(self) -> (&'static str, i64) {
        match self {
            TokenOwner::User(id) => ("user", id),
            TokenOwner::AgentBot(id) => ("agent_bot", id),
            TokenOwner::PlatformApp(id) => ("platform_app", id),
        }
    }

    fn from_parts(kind: &str, id: i64) -> Option<Self> {
        Some(match kind {
            "user" => TokenOwner::User(id),
            "agent_bot" => TokenOwner::AgentBot(id),
            "platform_app" => TokenOwner::PlatformApp(id),
            _ => return None,
        })
    }
}

/// Issues a new token for `owner`, replacing any previous one, and returns the plaintext.
pub async fn issue_token(conn: &mut Conn, key: &ServerKey, owner: TokenOwner) -> Result<String> {
    let (kind, id) = owner.parts();
    sqlx::query("DELETE FROM access_tokens WHERE owner_type = $1 AND owner_id = $2")
        .bind(kind)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    let seed = random_token(24);
    let token = key.access_token(&seed);
    sqlx::query(
        "INSERT INTO access_tokens (owner_type, owner_id, token_hash, token_seed, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(kind)
    .bind(id)
    .bind(sha256_hex(token.as_bytes()))
    .bind(seed)
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(token)
}

/// The owner's current token, re-derived from its seed (the profile shows it, as Chatwoot does).
pub async fn current_token(
    conn: &mut Conn,
    key: &ServerKey,
    owner: TokenOwner,
) -> Result<Option<String>> {
    let (kind, id) = owner.parts();
    let seed: Option<String> = sqlx::query_scalar(
        "SELECT token_seed FROM access_tokens WHERE owner_type = $1 AND owner_id = $2 \
         ORDER BY id DESC LIMIT 1",
    )
    .bind(kind)
    .bind(id)
    .fetch_optional(conn)
    .await?;
    Ok(seed.map(|s| key.access_token(&s)))
}

/// Finds whose token this is. Unscoped by nature: the token is the proof.
pub async fn token_owner(conn: &mut Conn, token: &str) -> Result<Option<TokenOwner>> {
    let row = sqlx::query("SELECT owner_type, owner_id FROM access_tokens WHERE token_hash = $1")
        .bind(sha256_hex(token.as_bytes()))
        .fetch_optional(conn)
        .await?;
    Ok(match row {
        Some(r) => TokenOwner::from_parts(&r.text("owner_type")?, r.int("owner_id")?),
        None => None,
    })
}

pub async fn revoke_tokens(conn: &mut Conn, owner: TokenOwner) -> Result<()> {
    let (kind, id) = owner.parts();
    sqlx::query("DELETE FROM access_tokens WHERE owner_type = $1 AND owner_id = $2")
        .bind(kind)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Browser sessions

pub struct NewSession {
    pub user_id: i64,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub ttl_ms: i64,
}

/// Creates a session and returns its secret id (the cookie value).
pub async fn create_session(conn: &mut Conn, new: NewSession) -> Result<String> {
    let secret = random_token(32);
    let now = now_ms();
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, user_agent, ip, created_at, last_seen_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $5, $6)",
    )
    .bind(sha256_hex(secret.as_bytes()))
    .bind(new.user_id)
    .bind(new.user_agent.map(|s| s.chars().take(256).collect::<String>()))
    .bind(new.ip)
    .bind(now)
    .bind(now + new.ttl_ms)
    .execute(conn)
    .await?;
    Ok(secret)
}

/// The user of a live session. Expired sessions are deleted on sight.
pub async fn session_user(conn: &mut Conn, secret: &str) -> Result<Option<i64>> {
    let hash = sha256_hex(secret.as_bytes());
    let row = sqlx::query("SELECT user_id, expires_at FROM sessions WHERE token_hash = $1")
        .bind(&hash)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else { return Ok(None) };
    if row.int("expires_at")? <= now_ms() {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(&hash)
            .execute(conn)
            .await?;
        return Ok(None);
    }
    Ok(Some(row.int("user_id")?))
}

pub async fn delete_session(conn: &mut Conn, secret: &str) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(sha256_hex(secret.as_bytes()))
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn delete_sessions_of_user(conn: &mut Conn, user_id: i64) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Platform apps

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permissible {
    Account(i64),
    User(i64),
    AgentBot(i64),
}

impl Permissible {
    fn parts(self) -> (&'static str, i64) {
        match self {
            Permissible::Account(id) => ("account", id),
            Permissible::User(id) => ("user", id),
            Permissible::AgentBot(id) => ("agent_bot", id),
        }
    }
}

pub async fn create_platform_app(conn: &mut Conn, name: &str) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO platform_apps (name, created_at) VALUES ($1, $2) RETURNING id",
    )
    .bind(name)
    .bind(now_ms())
    .fetch_one(conn)
    .await?)
}

/// Records that a platform app created (and may therefore manage) an object.
pub async fn grant(conn: &mut Conn, app_id: i64, object: Permissible) -> Result<()> {
    let (kind, id) = object.parts();
    sqlx::query(
        "INSERT INTO platform_app_permissibles (platform_app_id, permissible_type, permissible_id, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(app_id)
    .bind(kind)
    .bind(id)
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn may_manage(conn: &mut Conn, app_id: i64, object: Permissible) -> Result<bool> {
    let (kind, id) = object.parts();
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM platform_app_permissibles \
         WHERE platform_app_id = $1 AND permissible_type = $2 AND permissible_id = $3",
    )
    .bind(app_id)
    .bind(kind)
    .bind(id)
    .fetch_optional(conn)
    .await?;
    Ok(found.is_some())
}

// ---------------------------------------------------------------------------------------------
// Agent bots

fn agent_bot(row: &sqlx::any::AnyRow) -> Result<AgentBot> {
    Ok(AgentBot {
        id: row.int("id")?,
        account_id: row.opt_int("account_id")?,
        name: row.text("name")?,
        description: row.opt_text("description")?,
        outgoing_url: row.opt_text("outgoing_url")?,
        bot_type: row.text("bot_type")?,
        bot_config: row.json("bot_config")?,
        created_at: row.int("created_at")?,
    })
}

const BOT_COLUMNS: &str =
    "id, account_id, name, description, outgoing_url, bot_type, bot_config, created_at";

/// Makes a bot of the account Chatwoot's `webhook` kind or a built-in one, with its settings
/// (already checked).
pub async fn set_agent_bot_kind(
    conn: &mut Conn,
    scope: &AccountScope,
    id: i64,
    bot_type: &str,
    bot_config: &serde_json::Value,
) -> Result<AgentBot> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE agent_bots SET bot_type = $3, bot_config = $4, updated_at = $5 \
         WHERE account_id = $1 AND id = $2 RETURNING {BOT_COLUMNS}"
    )))
    .bind(scope.account_id())
    .bind(id)
    .bind(bot_type)
    .bind(bot_config.to_string())
    .bind(now_ms())
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    agent_bot(&row)
}

pub async fn create_agent_bot(
    conn: &mut Conn,
    scope: &AccountScope,
    name: &str,
    description: Option<&str>,
    outgoing_url: Option<&str>,
) -> Result<AgentBot> {
    let now = now_ms();
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO agent_bots (account_id, name, description, outgoing_url, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING {BOT_COLUMNS}"
    )))
    .bind(scope.account_id())
    .bind(name)
    .bind(description)
    .bind(outgoing_url)
    .bind(now)
    .fetch_one(conn)
    .await?;
    agent_bot(&row)
}

/// Reads a bot by id across accounts: token authentication needs its account first.
pub async fn get_agent_bot_unscoped(conn: &mut Conn, id: i64) -> Result<AgentBot> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {BOT_COLUMNS} FROM agent_bots WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    agent_bot(&row)
}

pub async fn list_agent_bots(conn: &mut Conn, scope: &AccountScope) -> Result<Vec<AgentBot>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {BOT_COLUMNS} FROM agent_bots WHERE account_id = $1 ORDER BY id"
    )))
    .bind(scope.account_id())
    .fetch_all(conn)
    .await?;
    rows.iter().map(agent_bot).collect()
}

pub async fn delete_agent_bot(conn: &mut Conn, scope: &AccountScope, id: i64) -> Result<()> {
    let done = sqlx::query("DELETE FROM agent_bots WHERE account_id = $1 AND id = $2")
        .bind(scope.account_id())
        .bind(id)
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    revoke_tokens(conn, TokenOwner::AgentBot(id)).await
}

pub async fn update_agent_bot(
    conn: &mut Conn,
    scope: &AccountScope,
    id: i64,
    name: Option<&str>,
    description: Option<Option<&str>>,
    outgoing_url: Option<Option<&str>>,
) -> Result<AgentBot> {
    let current = list_agent_bots(&mut *conn, scope)
        .await?
        .into_iter()
        .find(|b| b.id == id)
        .ok_or(StoreError::NotFound)?;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE agent_bots SET name = $3, description = $4, outgoing_url = $5, updated_at = $6 \
         WHERE account_id = $1 AND id = $2 RETURNING {BOT_COLUMNS}"
    )))
    .bind(scope.account_id())
    .bind(id)
    .bind(name.unwrap_or(&current.name))
    .bind(description.unwrap_or(current.description.as_deref()))
    .bind(outgoing_url.unwrap_or(current.outgoing_url.as_deref()))
    .bind(now_ms())
    .fetch_one(conn)
    .await?;
    agent_bot(&row)
}

/// A bot a platform app creates: for one account (`account_id`) or, without one, a system bot
/// every account may connect to its inboxes (Chatwoot's global bots).
pub async fn create_agent_bot_unscoped(
    conn: &mut Conn,
    account_id: Option<i64>,
    name: &str,
    description: Option<&str>,
    outgoing_url: Option<&str>,
) -> Result<AgentBot> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO agent_bots (account_id, name, description, outgoing_url, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING {BOT_COLUMNS}"
    )))
    .bind(account_id)
    .bind(name)
    .bind(description)
    .bind(outgoing_url)
    .bind(now_ms())
    .fetch_one(conn)
    .await?;
    agent_bot(&row)
}

/// Updates a bot by id, whatever its account (the Platform API, for bots the app created).
/// `account_id`: `Some(None)` makes it a system bot.
pub async fn update_agent_bot_unscoped(
    conn: &mut Conn,
    id: i64,
    account_id: Option<Option<i64>>,
    name: Option<&str>,
    description: Option<Option<&str>>,
    outgoing_url: Option<Option<&str>>,
) -> Result<AgentBot> {
    let current = get_agent_bot_unscoped(&mut *conn, id).await?;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE agent_bots SET account_id = $2, name = $3, description = $4, outgoing_url = $5, \
         updated_at = $6 WHERE id = $1 RETURNING {BOT_COLUMNS}"
    )))
    .bind(id)
    .bind(account_id.unwrap_or(current.account_id))
    .bind(name.unwrap_or(&current.name))
    .bind(description.unwrap_or(current.description.as_deref()))
    .bind(outgoing_url.unwrap_or(current.outgoing_url.as_deref()))
    .bind(now_ms())
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    agent_bot(&row)
}

/// Deletes a bot by id, whatever its account; its token stops working and the inboxes it
/// served lose it.
pub async fn delete_agent_bot_unscoped(conn: &mut Conn, id: i64) -> Result<()> {
    let done = sqlx::query("DELETE FROM agent_bots WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    revoke_tokens(conn, TokenOwner::AgentBot(id)).await
}

/// A bot the account may connect to an inbox: one of its own, or a system bot.
pub async fn connectable_agent_bot(
    conn: &mut Conn,
    scope: &AccountScope,
    id: i64,
) -> Result<AgentBot> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {BOT_COLUMNS} FROM agent_bots WHERE id = $1 AND (account_id = $2 OR account_id IS NULL)"
    )))
    .bind(id)
    .bind(scope.account_id())
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    agent_bot(&row)
}

/// The bot connected to an inbox the scope sees (Chatwoot's `inbox.agent_bot`).
pub async fn inbox_agent_bot(
    conn: &mut Conn,
    scope: &AccountScope,
    inbox_id: i64,
) -> Result<Option<AgentBot>> {
    if !scope.sees_inbox(inbox_id) {
        return Err(StoreError::NotFound);
    }
    let columns = BOT_COLUMNS
        .split(", ")
        .map(|c| format!("b.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {columns} FROM agent_bot_inboxes x JOIN agent_bots b ON b.id = x.agent_bot_id \
         WHERE x.account_id = $1 AND x.inbox_id = $2"
    )))
    .bind(scope.account_id())
    .bind(inbox_id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(agent_bot).transpose()
}

/// Connects `bot_id` to an inbox of the scope's account (replacing any other), or disconnects
/// it with `None`. The bot must be one [`connectable_agent_bot`] finds. Returns the bot that
/// was connected before.
pub async fn set_inbox_agent_bot(
    conn: &mut Conn,
    scope: &AccountScope,
    inbox_id: i64,
    bot_id: Option<i64>,
) -> Result<Option<AgentBot>> {
    let owned: Option<i64> =
        sqlx::query_scalar("SELECT id FROM inboxes WHERE account_id = $1 AND id = $2")
            .bind(scope.account_id())
            .bind(inbox_id)
            .fetch_optional(&mut *conn)
            .await?;
    if owned.is_none() || !scope.sees_inbox(inbox_id) {
        return Err(StoreError::NotFound);
    }
    let before = inbox_agent_bot(&mut *conn, scope, inbox_id).await?;
    match bot_id {
        Some(id) => {
            let bot = connectable_agent_bot(&mut *conn, scope, id).await?;
            let now = now_ms();
            sqlx::query(
                "INSERT INTO agent_bot_inboxes (inbox_id, account_id, agent_bot_id, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $4) \
                 ON CONFLICT (inbox_id) DO UPDATE SET agent_bot_id = $3, updated_at = $4",
            )
            .bind(inbox_id)
            .bind(scope.account_id())
            .bind(bot.id)
            .bind(now)
            .execute(conn)
            .await?;
        }
        None => {
            sqlx::query("DELETE FROM agent_bot_inboxes WHERE account_id = $1 AND inbox_id = $2")
                .bind(scope.account_id())
                .bind(inbox_id)
                .execute(conn)
                .await?;
        }
    }
    Ok(before)
}

/// The bots a platform app created, by id.
pub async fn permitted_agent_bots_unscoped(conn: &mut Conn, app_id: i64) -> Result<Vec<AgentBot>> {
    let columns = BOT_COLUMNS
        .split(", ")
        .map(|c| format!("b.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {columns} FROM platform_app_permissibles p JOIN agent_bots b ON b.id = p.permissible_id \
         WHERE p.platform_app_id = $1 AND p.permissible_type = 'agent_bot' ORDER BY b.id"
    )))
    .bind(app_id)
    .fetch_all(conn)
    .await?;
    rows.iter().map(agent_bot).collect()
}
