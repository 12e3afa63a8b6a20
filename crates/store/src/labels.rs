//! Labels, and the label sets of contacts and conversations.
//!
//! Like Chatwoot, labels attach by title; a label applied to a record need not exist in the
//! account's label list (the list drives colours and the sidebar).

use throughline_core::model::Label;

use crate::Conn;
use crate::clock::now_ms;
use crate::error::{Result, StoreError};
use crate::rows::RowExt;
use crate::scope::AccountScope;

const COLUMNS: &str = "id, account_id, title, description, color, show_on_sidebar, created_at";

fn label(row: &sqlx::any::AnyRow) -> Result<Label> {
    Ok(Label {
        id: row.int("id")?,
        account_id: row.int("account_id")?,
        title: row.text("title")?,
        description: row.opt_text("description")?,
        color: row.text("color")?,
        show_on_sidebar: row.flag("show_on_sidebar")?,
        created_at: row.int("created_at")?,
    })
}

pub async fn list(conn: &mut Conn, scope: &AccountScope) -> Result<Vec<Label>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM labels WHERE account_id = $1 ORDER BY title"
    )))
    .bind(scope.account_id())
    .fetch_all(conn)
    .await?;
    rows.iter().map(label).collect()
}

pub async fn get(conn: &mut Conn, scope: &AccountScope, id: i64) -> Result<Label> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM labels WHERE account_id = $1 AND id = $2"
    )))
    .bind(scope.account_id())
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    label(&row)
}

pub async fn create(
    conn: &mut Conn,
    scope: &AccountScope,
    title: &str,
    description: Option<&str>,
    color: &str,
    show_on_sidebar: bool,
) -> Result<Label> {
    let now = now_ms();
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO labels (account_id, title, description, color, show_on_sidebar, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {COLUMNS}"
    )))
    .bind(scope.account_id())
    .bind(title)
    .bind(description)
    .bind(color)
    .bind(show_on_sidebar)
    .bind(now)
    .fetch_one(conn)
    .await?;
    label(&row)
}

pub async fn update(
    conn: &mut Conn,
    scope: &AccountScope,
    id: i64,
    title: Option<&str>,
    description: Option<Option<&str>>,
    color: Option<&str>,
    show_on_sidebar: Option<bool>,
) -> Result<Label> {
    let cur = get(&mut *conn, scope, id).await?;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE labels SET title = $3, description = $4, color = $5, show_on_sidebar = $6, \
           updated_at = $7 WHERE account_id = $1 AND id = $2 RETURNING {COLUMNS}"
    )))
    .bind(scope.account_id())
    .bind(id)
    .bind(title.unwrap_or(&cur.title))
    .bind(description.unwrap_or(cur.description.as_deref()))
    .bind(color.unwrap_or(&cur.color))
    .bind(show_on_sidebar.unwrap_or(cur.show_on_sidebar))
    .bind(now_ms())
    .fetch_one(conn)
    .await?;
    label(&row)
}

pub async fn delete(conn: &mut Conn, scope: &AccountScope, id: i64) -> Result<()> {
    let done = sqlx::query("DELETE FROM labels WHERE account_id = $1 AND id = $2")
        .bind(scope.account_id())
        .bind(id)
        .execute(conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Which label set a call is about.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Tagged {
    Contact(i64),
    Conversation(i64),
}

impl Tagged {
    fn table(self) -> (&'static str, &'static str, i64) {
        match self {
            Tagged::Contact(id) => ("contact_labels", "contact_id", id),
            Tagged::Conversation(id) => ("conversation_labels", "conversation_id", id),
        }
    }
}

pub(crate) async fn titles_of(conn: &mut Conn, target: Tagged) -> Result<Vec<String>> {
    let (table, column, id) = target.table();
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT label FROM {table} WHERE {column} = $1 ORDER BY label"
    )))
    .bind(id)
    .fetch_all(conn)
    .await?)
}

/// Replaces the label set; returns the labels added and removed.
pub(crate) async fn replace(
    conn: &mut Conn,
    account_id: i64,
    target: Tagged,
    titles: &[String],
) -> Result<(Vec<String>, Vec<String>)> {
    let (table, column, id) = target.table();
    let current = titles_of(&mut *conn, target).await?;
    let removed: Vec<String> = current
        .iter()
        .filter(|t| !titles.contains(t))
        .cloned()
        .collect();
    let mut added = Vec::new();
    for t in titles {
        if !current.contains(t) && !added.contains(t) {
            added.push(t.clone());
        }
    }
    for t in &removed {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE {column} = $1 AND label = $2"
        )))
        .bind(id)
        .bind(t)
        .execute(&mut *conn)
        .await?;
    }
    for t in &added {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO {table} (account_id, {column}, label) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
        )))
        .bind(account_id)
        .bind(id)
        .bind(t)
        .execute(&mut *conn)
        .await?;
    }
    Ok((added, removed))
}
