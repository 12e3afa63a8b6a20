//! Teams and their members.

use throughline_core::model::Team;

use crate::Conn;
use crate::clock::now_ms;
use crate::error::{Result, StoreError};
use crate::rows::RowExt;
use crate::scope::AccountScope;

const COLUMNS: &str = "id, account_id, name, description, allow_auto_assign, created_at";

fn team(row: &sqlx::any::AnyRow) -> Result<Team> {
    Ok(Team {
        id: row.int("id")?,
        account_id: row.int("account_id")?,
        name: row.text("name")?,
        description: row.opt_text("description")?,
        allow_auto_assign: row.flag("allow_auto_assign")?,
        created_at: row.int("created_at")?,
    })
}

pub async fn list(conn: &mut Conn, scope: &AccountScope) -> Result<Vec<Team>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM teams WHERE account_id = $1 ORDER BY name"
    )))
    .bind(scope.account_id())
    .fetch_all(conn)
    .await?;
    rows.iter().map(team).collect()
}

pub async fn get(conn: &mut Conn, scope: &AccountScope, id: i64) -> Result<Team> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM teams WHERE account_id = $1 AND id = $2"
    )))
    .bind(scope.account_id())
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    team(&row)
}

pub async fn create(
    conn: &mut Conn,
    scope: &AccountScope,
    name: &str,
    description: Option<&str>,
    allow_auto_assign: bool,
) -> Result<Team> {
    let now = now_ms();
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO teams (account_id, name, description, allow_auto_assign, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING {COLUMNS}"
    )))
    .bind(scope.account_id())
    .bind(name)
    .bind(description)
    .bind(allow_auto_assign)
    .bind(now)
    .fetch_one(conn)
    .await?;
    team(&row)
}

pub async fn update(
    conn: &mut Conn,
    scope: &AccountScope,
    id: i64,
    name: Option<&str>,
    description: Option<Option<&str>>,
    allow_auto_assign: Option<bool>,
) -> Result<Team> {
    let current = get(&mut *conn, scope, id).await?;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE teams SET name = $3, description = $4, allow_auto_assign = $5, updated_at = $6 \
         WHERE account_id = $1 AND id = $2 RETURNING {COLUMNS}"
    )))
    .bind(scope.account_id())
    .bind(id)
    .bind(name.unwrap_or(&current.name))
    .bind(description.unwrap_or(current.description.as_deref()))
    .bind(allow_auto_assign.unwrap_or(current.allow_auto_assign))
    .bind(now_ms())
    .fetch_one(conn)
    .await?;
    team(&row)
}

pub async fn delete(conn: &mut Conn, scope: &AccountScope, id: i64) -> Result<()> {
    let done = sqlx::query("DELETE FROM teams WHERE account_id = $1 AND id = $2")
        .bind(scope.account_id())
        .bind(id)
        .execute(conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub async fn member_ids(conn: &mut Conn, scope: &AccountScope, team_id: i64) -> Result<Vec<i64>> {
    get(&mut *conn, scope, team_id).await?;
    Ok(
        sqlx::query_scalar("SELECT user_id FROM team_members WHERE team_id = $1 ORDER BY user_id")
            .bind(team_id)
            .fetch_all(conn)
            .await?,
    )
}

/// Teams of the account that `user_id` belongs to.
pub async fn team_ids_of_user(
    conn: &mut Conn,
    scope: &AccountScope,
    user_id: i64,
) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT tm.team_id FROM team_members tm JOIN teams t ON t.id = tm.team_id \
         WHERE t.account_id = $1 AND tm.user_id = $2",
    )
    .bind(scope.account_id())
    .bind(user_id)
    .fetch_all(conn)
    .await?)
}

/// Adds members; callers check that the users are agents of the account.
pub async fn add_members(
    conn: &mut Conn,
    scope: &AccountScope,
    team_id: i64,
    user_ids: &[i64],
) -> Result<()> {
    get(&mut *conn, scope, team_id).await?;
    let now = now_ms();
    for user_id in user_ids {
        sqlx::query(
            "INSERT INTO team_members (team_id, user_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(team_id)
        .bind(*user_id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub async fn remove_members(
    conn: &mut Conn,
    scope: &AccountScope,
    team_id: i64,
    user_ids: &[i64],
) -> Result<()> {
    get(&mut *conn, scope, team_id).await?;
    for user_id in user_ids {
        sqlx::query("DELETE FROM team_members WHERE team_id = $1 AND user_id = $2")
            .bind(team_id)
            .bind(*user_id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Makes the member list exactly `user_ids`.
pub async fn set_members(
    conn: &mut Conn,
    scope: &AccountScope,
    team_id: i64,
    user_ids: &[i64],
) -> Result<()> {
    let current = member_ids(&mut *conn, scope, team_id).await?;
    let gone: Vec<i64> = current
        .iter()
        .copied()
        .filter(|id| !user_ids.contains(id))
        .collect();
    remove_members(&mut *conn, scope, team_id, &gone).await?;
    add_members(conn, scope, team_id, user_ids).await
}
