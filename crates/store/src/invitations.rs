//! Invitations: membership by consent.
//!
//! An administrator who adds the email of a user that exists already (a member of other
//! accounts) does not make them a member: they get an invitation, listed in their profile, and
//! only their acceptance creates the membership. Until then the account knows nothing of them
//! beyond what its administrator typed, and they cannot reach the account.

use throughline_core::model::{Availability, Invitation, Membership};
use throughline_core::role::Role;

use crate::clock::now_ms;
use crate::error::{Result, StoreError};
use crate::rows::RowExt;
use crate::scope::AccountScope;
use crate::{Conn, accounts, crypto_token};

const COLUMNS: &str = "i.id, i.account_id, i.user_id, i.email, i.name, i.role, i.availability, \
     i.auto_offline, i.inviter_id, i.created_at";

/// The same columns unqualified, for RETURNING clauses.
const RETURNING: &str = "id, account_id, user_id, email, name, role, availability, \
     auto_offline, inviter_id, created_at";

fn invitation(row: &sqlx::any::AnyRow) -> Result<Invitation> {
    Ok(Invitation {
        id: row.int("id")?,
        account_id: row.int("account_id")?,
        user_id: row.int("user_id")?,
        email: row.text("email")?,
        name: row.text("name")?,
        role: row.parsed("role", Role::parse)?,
        availability: row.parsed("availability", Availability::parse)?,
        auto_offline: row.flag("auto_offline")?,
        inviter_id: row.opt_int("inviter_id")?,
        created_at: row.int("created_at")?,
    })
}

/// An invitation as the invited user sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct Pending {
    pub invitation: Invitation,
    pub account_name: String,
    pub inviter_name: Option<String>,
}

#[derive(Clone, Debug)]
pub struct NewInvitation {
    pub user_id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub availability: Availability,
    pub auto_offline: bool,
    pub inviter_id: Option<i64>,
}

/// Takes the next id of the users' sequence without keeping a user: a pending agent then
/// carries the id a brand-new user would have had, so ids do not tell an invitation apart.
/// Both dialects never reuse an id (SQLite's AUTOINCREMENT, PostgreSQL's identity).
async fn reserve_user_id(conn: &mut Conn) -> Result<i64> {
    let now = now_ms();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (email, name, pubsub_token, created_at, updated_at) \
         VALUES ($1, '', $2, $3, $3) RETURNING id",
    )
    .bind(format!("reserved-{}@invalid", crypto_token()))
    .bind(crypto_token())
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(id)
}

pub async fn create(
    conn: &mut Conn,
    scope: &AccountScope,
    new: NewInvitation,
) -> Result<Invitation> {
    let id = reserve_user_id(&mut *conn).await?;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO account_invitations (id, account_id, user_id, email, name, role, \
           availability, auto_offline, inviter_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {RETURNING}"
    )))
    .bind(id)
    .bind(scope.account_id())
    .bind(new.user_id)
    .bind(&new.email)
    .bind(&new.name)
    .bind(new.role.as_str())
    .bind(new.availability.as_str())
    .bind(new.auto_offline)
    .bind(new.inviter_id)
    .bind(now_ms())
    .fetch_one(conn)
    .await?;
    invitation(&row)
}

/// The account's invitations still waiting for an answer, by id.
pub async fn list(conn: &mut Conn, scope: &AccountScope) -> Result<Vec<Invitation>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM account_invitations i WHERE i.account_id = $1 ORDER BY i.id"
    )))
    .bind(scope.account_id())
    .fetch_all(conn)
    .await?;
    rows.iter().map(invitation).collect()
}

pub async fn get(conn: &mut Conn, scope: &AccountScope, id: i64) -> Result<Invitation> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM account_invitations i WHERE i.account_id = $1 AND i.id = $2"
    )))
    .bind(scope.account_id())
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    invitation(&row)
}

/// Whether the account has invited `user_id` already.
pub async fn is_invited(conn: &mut Conn, scope: &AccountScope, user_id: i64) -> Result<bool> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM account_invitations WHERE account_id = $1 AND user_id = $2",
    )
    .bind(scope.account_id())
    .bind(user_id)
    .fetch_optional(conn)
    .await?;
    Ok(found.is_some())
}

#[derive(Clone, Debug, Default)]
pub struct InvitationChanges {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub availability: Option<Availability>,
    pub auto_offline: Option<bool>,
}

/// Changes what the account will grant (and the name it shows) before the user answers.
pub async fn update(
    conn: &mut Conn,
    scope: &AccountScope,
    id: i64,
    changes: InvitationChanges,
) -> Result<Invitation> {
    let current = get(&mut *conn, scope, id).await?;
    sqlx::query(
        "UPDATE account_invitations SET name = $3, role = $4, availability = $5, \
           auto_offline = $6 WHERE account_id = $1 AND id = $2",
    )
    .bind(scope.account_id())
    .bind(id)
    .bind(changes.name.unwrap_or(current.name))
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
    get(conn, scope, id).await
}

/// The account takes its invitation back.
pub async fn withdraw(conn: &mut Conn, scope: &AccountScope, id: i64) -> Result<()> {
    let done = sqlx::query("DELETE FROM account_invitations WHERE account_id = $1 AND id = $2")
        .bind(scope.account_id())
        .bind(id)
        .execute(conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// The invitations waiting for `user_id`'s answer, with the inviting account's name.
pub async fn pending_for_user_unscoped(conn: &mut Conn, user_id: i64) -> Result<Vec<Pending>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS}, a.name AS account_name, u.name AS inviter_name \
         FROM account_invitations i JOIN accounts a ON a.id = i.account_id \
         LEFT JOIN users u ON u.id = i.inviter_id \
         WHERE i.user_id = $1 ORDER BY i.id"
    )))
    .bind(user_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Pending {
                invitation: invitation(r)?,
                account_name: r.text("account_name")?,
                inviter_name: r.opt_text("inviter_name")?,
            })
        })
        .collect()
}

/// `user_id` takes `id`'s invitation: the membership it promised is created with the invited
/// role. Any other user's invitation (or none) is not found.
pub async fn accept_unscoped(conn: &mut Conn, user_id: i64, id: i64) -> Result<Membership> {
    let inv = take(&mut *conn, user_id, id).await?;
    accounts::add_member(
        &mut *conn,
        inv.account_id,
        user_id,
        inv.role,
        inv.inviter_id,
    )
    .await?;
    sqlx::query(
        "UPDATE account_users SET availability = $3, auto_offline = $4 \
         WHERE account_id = $1 AND user_id = $2",
    )
    .bind(inv.account_id)
    .bind(user_id)
    .bind(inv.availability.as_str())
    .bind(inv.auto_offline)
    .execute(&mut *conn)
    .await?;
    accounts::confirm_user_unscoped(&mut *conn, user_id).await?;
    accounts::membership_of(conn, inv.account_id, user_id).await
}

/// `user_id` declines `id`'s invitation, which is answered; any other user's is not found.
pub async fn decline_unscoped(conn: &mut Conn, user_id: i64, id: i64) -> Result<Invitation> {
    take(conn, user_id, id).await
}

/// Removes `user_id`'s invitation `id` and returns it.
async fn take(conn: &mut Conn, user_id: i64, id: i64) -> Result<Invitation> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DELETE FROM account_invitations WHERE id = $1 AND user_id = $2 RETURNING {RETURNING}"
    )))
    .bind(id)
    .bind(user_id)
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    invitation(&row)
}
