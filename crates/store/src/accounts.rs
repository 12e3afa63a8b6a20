//! Accounts (tenants), users, memberships and agents.

use serde_json::Value;
use throughline_core::model::{Account, Agent, Availability, Membership, User};
use throughline_core::role::Role;

use crate::clock::now_ms;
use crate::error::{Result, StoreError};
use crate::rows::RowExt;
use crate::scope::AccountScope;
use crate::{Conn, crypto_token};

fn account(row: &sqlx::any::AnyRow) -> Result<Account> {
    Ok(Account {
        id: row.int("id")?,
        name: row.text("name")?,
        locale: row.text("locale")?,
        domain: row.opt_text("domain")?,
        support_email: row.opt_text("support_email")?,
        status: row.text("status")?,
        settings: row.json("settings")?,
        custom_attributes: row.json("custom_attributes")?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

const ACCOUNT_COLUMNS: &str = "id, name, locale, domain, support_email, status, settings, \
     custom_attributes, created_at, updated_at";

pub(crate) const USER_COLUMNS: &str = "u.id, u.email, u.name, u.display_name, u.avatar_url, \
     u.message_signature, u.ui_settings, u.custom_attributes, u.locale, u.pubsub_token, \
     u.confirmed_at, u.created_at, u.updated_at";

/// The same columns unqualified, for RETURNING clauses.
const USER_RETURNING: &str = "id, email, name, display_name, avatar_url, message_signature, \
     ui_settings, custom_attributes, locale, pubsub_token, confirmed_at, created_at, updated_at";

pub(crate) fn user(row: &sqlx::any::AnyRow) -> Result<User> {
    Ok(User {
        id: row.int("id")?,
        email: row.text("email")?,
        name: row.text("name")?,
        display_name: row.opt_text("display_name")?,
        avatar_url: row.opt_text("avatar_url")?,
        message_signature: row.opt_text("message_signature")?,
        ui_settings: row.json("ui_settings")?,
        custom_attributes: row.json("custom_attributes")?,
        locale: row.opt_text("locale")?,
        pubsub_token: row.text("pubsub_token")?,
        confirmed_at: row.opt_int("confirmed_at")?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

fn membership(row: &sqlx::any::AnyRow) -> Result<Membership> {
    Ok(Membership {
        account_id: row.int("m_account_id")?,
        user_id: row.int("m_user_id")?,
        role: row.parsed("m_role", Role::parse)?,
        availability: row.parsed("m_availability", Availability::parse)?,
        auto_offline: row.flag("m_auto_offline")?,
        created_at: row.int("m_created_at")?,
        deactivated_at: row.opt_int("m_deactivated_at")?,
    })
}

const MEMBERSHIP_COLUMNS: &str = "m.account_id AS m_account_id, m.user_id AS m_user_id, \
     m.role AS m_role, m.availability AS m_availability, m.auto_offline AS m_auto_offline, \
     m.created_at AS m_created_at, m.deactivated_at AS m_deactivated_at";

// ---------------------------------------------------------------------------------------------
// Accounts

#[derive(Clone, Debug, Default)]
pub struct AccountChanges {
    pub name: Option<String>,
    pub locale: Option<String>,
    pub domain: Option<Option<String>>,
    pub support_email: Option<Option<String>>,
    pub status: Option<String>,
    /// Merged key by key into the stored settings.
    pub settings: Option<Value>,
    pub custom_attributes: Option<Value>,
}

pub async fn create_account(conn: &mut Conn, name: &str, locale: &str) -> Result<Account> {
    let now = now_ms();
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO accounts (name, locale, created_at, updated_at) VALUES ($1, $2, $3, $3) \
         RETURNING {ACCOUNT_COLUMNS}"
    )))
    .bind(name)
    .bind(locale)
    .bind(now)
    .fetch_one(conn)
    .await?;
    account(&row)
}

/// Reads an account by id. Callers must have checked the caller may see it.
pub async fn get_account(conn: &mut Conn, account_id: i64) -> Result<Account> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1"
    )))
    .bind(account_id)
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    account(&row)
}

pub async fn update_account(
    conn: &mut Conn,
    account_id: i64,
    changes: AccountChanges,
) -> Result<Account> {
    let mut current = get_account(&mut *conn, account_id).await?;
    if let Some(v) = changes.name {
        current.name = v;
    }
    if let Some(v) = changes.locale {
        current.locale = v;
    }
    if let Some(v) = changes.domain {
        current.domain = v;
    }
    if let Some(v) = changes.support_email {
        current.support_email = v;
    }
    if let Some(v) = changes.status {
        current.status = v;
    }
    if let Some(Value::Object(patch)) = changes.settings {
        merge_object(&mut current.settings, patch);
    }
    if let Some(Value::Object(patch)) = changes.custom_attributes {
        merge_object(&mut current.custom_attributes, patch);
    }
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE accounts SET name = $2, locale = $3, domain = $4, support_email = $5, \
           status = $6, settings = $7, custom_attributes = $8, updated_at = $9 \
         WHERE id = $1 RETURNING {ACCOUNT_COLUMNS}"
    )))
    .bind(account_id)
    .bind(&current.name)
    .bind(&current.locale)
    .bind(current.domain.as_deref())
    .bind(current.support_email.as_deref())
    .bind(&current.status)
    .bind(current.settings.to_string())
    .bind(current.custom_attributes.to_string())
    .bind(now_ms())
    .fetch_one(conn)
    .await?;
    account(&row)
}

pub async fn delete_account(conn: &mut Conn, account_id: i64) -> Result<()> {
    let done = sqlx::query("DELETE FROM accounts WHERE id = $1")
        .bind(account_id)
        .execute(conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub async fn count_accounts(conn: &mut Conn) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
        .fetch_one(conn)
        .await?)
}

/// Merges `patch` into `target` key by key; a null value removes the key.
pub fn merge_object(target: &mut Value, patch: serde_json::Map<String, Value>) {
    if !target.is_object() {
        *target = Value::Object(Default::default());
    }
    if let Value::Object(map) = target {
        for (k, v) in patch {
            if v.is_null() {
                map.remove(&k);
            } else {
                map.insert(k, v);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Users (global: a user may belong to several accounts)

#[derive(Clone, Debug)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub display_name: Option<String>,
    pub password_hash: Option<String>,
    pub custom_attributes: Value,
}

pub async fn create_user(conn: &mut Conn, new: NewUser) -> Result<User> {
    let now = now_ms();
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO users (email, name, display_name, password_hash, custom_attributes, \
           pubsub_token, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING {USER_RETURNING}"
    )))
    .bind(new.email.to_lowercase())
    .bind(&new.name)
    .bind(new.display_name.as_deref())
    .bind(new.password_hash.as_deref())
    .bind(new.custom_attributes.to_string())
    .bind(crypto_token())
    .bind(now)
    .fetch_one(conn)
    .await?;
    user(&row)
}

/// Looks a user up across all accounts. Used by login and the platform API only.
pub async fn find_user_by_email_unscoped(
    conn: &mut Conn,
    email: &str,
) -> Result<Option<(User, Option<String>)>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE u.email = $1"
    )))
    .bind(email.trim().to_lowercase())
    .fetch_optional(conn)
    .await?;
    row.map(|r| Ok((user(&r)?, r.opt_text("password_hash")?)))
        .transpose()
}

/// Reads a user by id, whatever their accounts. Callers establish the right to see them.
pub async fn get_user_unscoped(conn: &mut Conn, user_id: i64) -> Result<User> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1"
    )))
    .bind(user_id)
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    user(&row)
}

#[derive(Clone, Debug, Default)]
pub struct UserChanges {
    pub name: Option<String>,
    pub email: Option<String>,
    pub display_name: Option<Option<String>>,
    pub avatar_url: Option<Option<String>>,
    pub message_signature: Option<Option<String>>,
    pub locale: Option<Option<String>>,
    pub ui_settings: Option<Value>,
    pub custom_attributes: Option<Value>,
}

pub async fn update_user_unscoped(
    conn: &mut Conn,
    user_id: i64,
    changes: UserChanges,
) -> Result<User> {
    let mut u = get_user_unscoped(&mut *conn, user_id).await?;
    if let Some(v) = changes.name {
        u.name = v;
    }
    if let Some(v) = changes.email {
        u.email = v.to_lowercase();
    }
    if let Some(v) = changes.display_name {
        u.display_name = v;
    }
    if let Some(v) = changes.avatar_url {
        u.avatar_url = v;
    }
    if let Some(v) = changes.message_signature {
        u.message_signature = v;
    }
    if let Some(v) = changes.locale {
        u.locale = v;
    }
    if let Some(Value::Object(patch)) = changes.ui_settings {
        merge_object(&mut u.ui_settings, patch);
    }
    if let Some(Value::Object(patch)) = changes.custom_attributes {
        merge_object(&mut u.custom_attributes, patch);
    }
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE users SET name = $2, email = $3, display_name = $4, avatar_url = $5, \
           message_signature = $6, locale = $7, ui_settings = $8, custom_attributes = $9, \
           updated_at = $10 WHERE id = $1 RETURNING {USER_RETURNING}"
    )))
    .bind(user_id)
    .bind(&u.name)
    .bind(&u.email)
    .bind(u.display_name.as_deref())
    .bind(u.avatar_url.as_deref())
    .bind(u.message_signature.as_deref())
    .bind(u.locale.as_deref())
    .bind(u.ui_settings.to_string())
    .bind(u.custom_attributes.to_string())
    .bind(now_ms())
    .fetch_one(conn)
    .await?;
    user(&row)
}

pub async fn set_password_unscoped(
    conn: &mut Conn,
    user_id: i64,
    password_hash: &str,
) -> Result<()> {
    let done = sqlx::query("UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1")
        .bind(user_id)
        .bind(password_hash)
        .bind(now_ms())
        .execute(conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Records the user's first sign-in (Chatwoot's `confirmed`); later calls change nothing.
pub async fn confirm_user_unscoped(conn: &mut Conn, user_id: i64) -> Result<()> {
    sqlx::query("UPDATE users SET confirmed_at = $2 WHERE id = $1 AND confirmed_at IS NULL")
        .bind(user_id)
        .bind(now_ms())
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn password_hash_unscoped(conn: &mut Conn, user_id: i64) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(conn)
            .await?
            .flatten(),
    )
}

pub async fn delete_user_unscoped(conn: &mut Conn, user_id: i64) -> Result<()> {
    sqlx::query("DELETE FROM access_tokens WHERE owner_type = 'user' AND owner_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    let done = sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(user_id)
        .execute(conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Memberships and agents

/// The accounts a user works in (deactivated memberships left out), with their role in each.
pub async fn memberships_of_user(
    conn: &mut Conn,
    user_id: i64,
) -> Result<Vec<(Account, Membership)>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT a.id, a.name, a.locale, a.domain, a.support_email, a.status, a.settings, \
           a.custom_attributes, a.created_at, a.updated_at, {MEMBERSHIP_COLUMNS} \
         FROM account_users m JOIN accounts a ON a.id = m.account_id \
         WHERE m.user_id = $1 AND m.deactivated_at IS NULL ORDER BY a.id"
    )))
    .bind(user_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| Ok((account(r)?, membership(r)?)))
        .collect()
}

/// Adds a user to an account (platform API, CLI, agent invitation).
pub async fn add_member(
    conn: &mut Conn,
    account_id: i64,
    user_id: i64,
    role: Role,
    inviter_id: Option<i64>,
) -> Result<Membership> {
    sqlx::query(
        "INSERT INTO account_users (account_id, user_id, role, inviter_id, created_at) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (account_id, user_id) DO UPDATE SET role = excluded.role",
    )
    .bind(account_id)
    .bind(user_id)
    .bind(role.as_str())
    .bind(inviter_id)
    .bind(now_ms())
    .execute(&mut *conn)
    .await?;
    membership_of(conn, account_id, user_id).await
}

pub async fn membership_of(conn: &mut Conn, account_id: i64, user_id: i64) -> Result<Membership> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {MEMBERSHIP_COLUMNS} FROM account_users m WHERE m.account_id = $1 AND m.user_id = $2"
    )))
    .bind(account_id)
    .bind(user_id)
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    membership(&row)
}

pub async fn remove_member(conn: &mut Conn, account_id: i64, user_id: i64) -> Result<()> {
    let done = sqlx::query("DELETE FROM account_users WHERE account_id = $1 AND user_id = $2")
        .bind(account_id)
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    // Leaving an account also leaves its inboxes and teams, and unassigns its conversations.
    sqlx::query(
        "DELETE FROM inbox_members WHERE user_id = $1 \
         AND inbox_id IN (SELECT id FROM inboxes WHERE account_id = $2)",
    )
    .bind(user_id)
    .bind(account_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "DELETE FROM team_members WHERE user_id = $1 \
         AND team_id IN (SELECT id FROM teams WHERE account_id = $2)",
    )
    .bind(user_id)
    .bind(account_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE conversations SET assignee_id = NULL WHERE account_id = $1 AND assignee_id = $2",
    )
    .bind(account_id)
    .bind(user_id)
    .execute(&mut *conn)
    .await?;
    crate::notifications::forget_member(conn, account_id, user_id).await
}

fn agent_row(row: &sqlx::any::AnyRow) -> Result<Agent> {
    Ok(Agent {
        user: user(row)?,
        membership: membership(row)?,
    })
}

pub async fn list_agents(conn: &mut Conn, scope: &AccountScope) -> Result<Vec<Agent>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS}, {MEMBERSHIP_COLUMNS} FROM account_users m \
         JOIN users u ON u.id = m.user_id WHERE m.account_id = $1 ORDER BY u.id"
    )))
    .bind(scope.account_id())
    .fetch_all(conn)
    .await?;
    rows.iter().map(agent_row).collect()
}

pub async fn get_agent(conn: &mut Conn, scope: &AccountScope, user_id: i64) -> Result<Agent> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS}, {MEMBERSHIP_COLUMNS} FROM account_users m \
         JOIN users u ON u.id = m.user_id WHERE m.account_id = $1 AND m.user_id = $2"
    )))
    .bind(scope.account_id())
    .bind(user_id)
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    agent_row(&row)
}

/// Agents of the account among `user_ids`, in the given order; unknown ids are left out.
pub async fn agents_by_ids(
    conn: &mut Conn,
    scope: &AccountScope,
    user_ids: &[i64],
) -> Result<Vec<Agent>> {
    if user_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = crate::sql::SqlBuilder::new(&format!(
        "SELECT {USER_COLUMNS}, {MEMBERSHIP_COLUMNS} FROM account_users m \
         JOIN users u ON u.id = m.user_id WHERE m.account_id = "
    ));
    q.bind(scope.account_id())
        .push(" AND m.user_id IN ")
        .bind_list(user_ids)
        .push(" ORDER BY u.id");
    let rows = q.build().fetch_all(conn).await?;
    rows.iter().map(agent_row).collect()
}

#[derive(Clone, Debug, Default)]
pub struct MembershipChanges {
    pub role: Option<Role>,
    pub availability: Option<Availability>,
    pub auto_offline: Option<bool>,
}

pub async fn update_membership(
    conn: &mut Conn,
    scope: &AccountScope,
    user_id: i64,
    changes: MembershipChanges,
) -> Result<Agent> {
    let current = membership_of(&mut *conn, scope.account_id(), user_id).await?;
    sqlx::query(
        "UPDATE account_users SET role = $3, availability = $4, auto_offline = $5 \
         WHERE account_id = $1 AND user_id = $2",
    )
    .bind(scope.account_id())
    .bind(user_id)
    .bind(changes.role.unwrap_or(current.role).as_str())
    .bind(
        changes
            .availability
            .unwrap_or(current.availability)
            .as_str(),
    )
    .bind(changes.auto_offline.unwrap_or(current.auto_offline))
    .execute(&mut *conn)
    .await?;
    get_agent(conn, scope, user_id).await
}

pub async fn count_administrators(conn: &mut Conn, account_id: i64) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM account_users WHERE account_id = $1 AND role = 'administrator' \
         AND deactivated_at IS NULL",
    )
    .bind(account_id)
    .fetch_one(conn)
    .await?)
}

/// Deactivates an agent in an account (`Some(when)`) or reactivates them (`None`). Deactivating
/// also unassigns their conversations there, so routing hands them to someone else; their
/// inboxes and teams are kept for when they come back.
pub async fn set_deactivated(
    conn: &mut Conn,
    account_id: i64,
    user_id: i64,
    at: Option<i64>,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE account_users SET deactivated_at = $3 WHERE account_id = $1 AND user_id = $2",
    )
    .bind(account_id)
    .bind(user_id)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    if at.is_some() {
        sqlx::query(
            "UPDATE conversations SET assignee_id = NULL \
             WHERE account_id = $1 AND assignee_id = $2 AND status <> 'resolved'",
        )
        .bind(account_id)
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Whether the user belongs to some account and is deactivated in every one: such a user may
/// not sign in.
pub async fn deactivated_everywhere(conn: &mut Conn, user_id: i64) -> Result<bool> {
    let (all, active): (i64, i64) = {
        let row = sqlx::query(
            "SELECT COUNT(*) AS all_n, \
               COALESCE(SUM(CASE WHEN deactivated_at IS NULL THEN 1 ELSE 0 END), 0) AS active_n \
             FROM account_users WHERE user_id = $1",
        )
        .bind(user_id)
        .fetch_one(conn)
        .await?;
        (row.int("all_n")?, row.int("active_n")?)
    };
    Ok(all > 0 && active == 0)
}

/// The user's own phone (E.164), rung for the calls the queue gives them.
pub async fn phone_of_unscoped(conn: &mut Conn, user_id: i64) -> Result<Option<String>> {
    let phone: Option<Option<String>> =
        sqlx::query_scalar("SELECT phone_number FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(conn)
            .await?;
    Ok(phone.flatten())
}

/// Sets (or clears) the user's own phone.
pub async fn set_phone_unscoped(conn: &mut Conn, user_id: i64, phone: Option<&str>) -> Result<()> {
    sqlx::query("UPDATE users SET phone_number = $2, updated_at = $3 WHERE id = $1")
        .bind(user_id)
        .bind(phone)
        .bind(now_ms())
        .execute(conn)
        .await?;
    Ok(())
}

/// The phones of the account's active members who gave one: user → E.164.
pub async fn member_phones(
    conn: &mut Conn,
    scope: &AccountScope,
) -> Result<std::collections::HashMap<i64, String>> {
    let rows = sqlx::query(
        "SELECT u.id, u.phone_number FROM account_users m JOIN users u ON u.id = m.user_id \
         WHERE m.account_id = $1 AND m.deactivated_at IS NULL AND u.phone_number IS NOT NULL",
    )
    .bind(scope.account_id())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.int("id")?, r.text("phone_number")?)))
        .collect()
}
