//! Business events posted by other systems on a contact (orders, payments, deliveries,
//! abandoned carts): part of the customer's journey, idempotent by the poster's event id.

use serde::Serialize;
use serde_json::{Value, json};
use throughline_core::event::{EventKind, NewEvent};

use crate::Conn;
use crate::clock::now_ms;
use crate::contacts;
use crate::db::Tx;
use crate::error::{Result, StoreError};
use crate::rows::RowExt;
use crate::scope::AccountScope;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BusinessEvent {
    pub id: i64,
    pub contact_id: i64,
    /// The poster's id for the event; posting it again returns the stored event.
    pub external_id: String,
    pub event_type: String,
    pub title: Option<String>,
    pub properties: Value,
    pub occurred_at: i64,
    pub created_at: i64,
}

#[derive(Clone, Debug)]
pub struct NewBusinessEvent {
    pub external_id: String,
    pub event_type: String,
    pub title: Option<String>,
    pub properties: Value,
    pub occurred_at: Option<i64>,
}

const COLUMNS: &str =
    "id, contact_id, external_id, event_type, title, properties, occurred_at, created_at";

fn record(row: &sqlx::any::AnyRow) -> Result<BusinessEvent> {
    Ok(BusinessEvent {
        id: row.int("id")?,
        contact_id: row.int("contact_id")?,
        external_id: row.text("external_id")?,
        event_type: row.text("event_type")?,
        title: row.opt_text("title")?,
        properties: row.json("properties")?,
        occurred_at: row.int("occurred_at")?,
        created_at: row.int("created_at")?,
    })
}

/// Records the event; `Ok((event, false))` when the same external id was already recorded for
/// this contact. The same id on another contact is a conflict, not a silent move.
pub async fn record_event(
    tx: &mut Tx,
    scope: &AccountScope,
    contact_id: i64,
    new: NewBusinessEvent,
) -> Result<(BusinessEvent, bool)> {
    contacts::get(tx.conn(), scope, contact_id).await?;
    let now = now_ms();
    let inserted = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO business_events (account_id, contact_id, external_id, event_type, title, \
           properties, occurred_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (account_id, external_id) DO NOTHING RETURNING {COLUMNS}"
    )))
    .bind(scope.account_id())
    .bind(contact_id)
    .bind(&new.external_id)
    .bind(&new.event_type)
    .bind(new.title.as_deref())
    .bind(new.properties.to_string())
    .bind(new.occurred_at.unwrap_or(now))
    .bind(now)
    .fetch_optional(tx.conn())
    .await?;
    let Some(row) = inserted else {
        let existing = by_external_id(tx.conn(), scope, &new.external_id).await?;
        if existing.contact_id != contact_id {
            return Err(StoreError::Conflict {
                field: "event_id".into(),
            });
        }
        return Ok((existing, false));
    };
    let event = record(&row)?;
    tx.emit(NewEvent {
        kind: EventKind::BusinessEventCreated,
        account_id: scope.account_id(),
        conversation_id: None,
        contact_id: Some(contact_id),
        inbox_id: None,
        payload: json!({ "business_event": event }),
    })
    .await?;
    Ok((event, true))
}

async fn by_external_id(
    conn: &mut Conn,
    scope: &AccountScope,
    external_id: &str,
) -> Result<BusinessEvent> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM business_events WHERE account_id = $1 AND external_id = $2"
    )))
    .bind(scope.account_id())
    .bind(external_id)
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    record(&row)
}

/// A contact's events, newest first; `event_type` narrows to one kind (e.g. the last orders).
pub async fn of_contact(
    conn: &mut Conn,
    scope: &AccountScope,
    contact_id: i64,
    event_type: Option<&str>,
    limit: i64,
) -> Result<Vec<BusinessEvent>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM business_events WHERE account_id = $1 AND contact_id = $2 \
           AND ($3 = '' OR event_type = $3) \
         ORDER BY occurred_at DESC, id DESC LIMIT $4"
    )))
    .bind(scope.account_id())
    .bind(contact_id)
    .bind(event_type.unwrap_or(""))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(record).collect()
}

/// One event by its id (a journey campaign's trigger), if it still exists.
pub async fn by_id(conn: &mut Conn, id: i64) -> Result<Option<BusinessEvent>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM business_events WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(record).transpose()
}
