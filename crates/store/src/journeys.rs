//! Journey campaigns, their sends (one per campaign, contact and business event) and the
//! contacts' opt-outs. What a campaign means is the core's (`core::journey`).

use serde_json::Value;

use crate::Conn;
use crate::clock::now_ms;
use crate::error::{Result, StoreError};
use crate::rows::RowExt;
use crate::scope::AccountScope;

#[derive(Clone, Debug, PartialEq)]
pub struct Campaign {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub active: bool,
    pub trigger_event_type: String,
    /// The campaign's fields as written (checked again by the core when used).
    pub rules: Value,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str =
    "id, account_id, name, active, trigger_event_type, rules, created_at, updated_at";

fn record(row: &sqlx::any::AnyRow) -> Result<Campaign> {
    Ok(Campaign {
        id: row.int("id")?,
        account_id: row.int("account_id")?,
        name: row.text("name")?,
        active: row.flag("active")?,
        trigger_event_type: row.text("trigger_event_type")?,
        rules: row.json("rules")?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

/// Most campaigns one account may hold.
pub const MAX_CAMPAIGNS: i64 = 200;

pub async fn list(conn: &mut Conn, scope: &AccountScope) -> Result<Vec<Campaign>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM journey_campaigns WHERE account_id = $1 ORDER BY id"
    )))
    .bind(scope.account_id())
    .fetch_all(conn)
    .await?;
    rows.iter().map(record).collect()
}

pub async fn get(conn: &mut Conn, scope: &AccountScope, id: i64) -> Result<Campaign> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM journey_campaigns WHERE account_id = $1 AND id = $2"
    )))
    .bind(scope.account_id())
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    record(&row)
}

/// The active campaigns a business event of `event_type` starts.
pub async fn triggered_by(
    conn: &mut Conn,
    account_id: i64,
    event_type: &str,
) -> Result<Vec<Campaign>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM journey_campaigns WHERE account_id = $1 \
         AND trigger_event_type = $2 AND active = $3 ORDER BY id"
    )))
    .bind(account_id)
    .bind(event_type)
    .bind(true)
    .fetch_all(conn)
    .await?;
    rows.iter().map(record).collect()
}

pub struct CampaignFields<'a> {
    pub name: &'a str,
    pub active: bool,
    pub trigger_event_type: &'a str,
    pub rules: &'a Value,
}

pub async fn create(
    conn: &mut Conn,
    scope: &AccountScope,
    f: &CampaignFields<'_>,
) -> Result<Campaign> {
    let count: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM journey_campaigns WHERE account_id = $1")
            .bind(scope.account_id())
            .fetch_one(&mut *conn)
            .await?;
    if count >= MAX_CAMPAIGNS {
        return Err(StoreError::Refused(format!(
            "an account holds at most {MAX_CAMPAIGNS} journey campaigns"
        )));
    }
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO journey_campaigns (account_id, name, active, trigger_event_type, rules, \
           created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {COLUMNS}"
    )))
    .bind(scope.account_id())
    .bind(f.name)
    .bind(f.active)
    .bind(f.trigger_event_type)
    .bind(f.rules.to_string())
    .bind(now_ms())
    .fetch_one(conn)
    .await?;
    record(&row)
}

pub async fn update(
    conn: &mut Conn,
    scope: &AccountScope,
    id: i64,
    f: &CampaignFields<'_>,
) -> Result<Campaign> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE journey_campaigns SET name = $3, active = $4, trigger_event_type = $5, \
           rules = $6, updated_at = $7 WHERE account_id = $1 AND id = $2 RETURNING {COLUMNS}"
    )))
    .bind(scope.account_id())
    .bind(id)
    .bind(f.name)
    .bind(f.active)
    .bind(f.trigger_event_type)
    .bind(f.rules.to_string())
    .bind(now_ms())
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    record(&row)
}

pub async fn delete(conn: &mut Conn, scope: &AccountScope, id: i64) -> Result<()> {
    let done = sqlx::query("DELETE FROM journey_campaigns WHERE account_id = $1 AND id = $2")
        .bind(scope.account_id())
        .bind(id)
        .execute(conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

#[derive(Clone, Debug, PartialEq)]
pub struct Send {
    pub id: i64,
    pub account_id: i64,
    pub campaign_id: i64,
    pub contact_id: i64,
    pub business_event_id: i64,
    /// scheduled, sent, skipped or cancelled.
    pub status: String,
    pub due_at: i64,
    pub detail: Option<String>,
    pub inbox_id: Option<i64>,
    pub message_id: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

const SEND_COLUMNS: &str = "id, account_id, campaign_id, contact_id, business_event_id, status, \
    due_at, detail, inbox_id, message_id, created_at, updated_at";

fn send_record(row: &sqlx::any::AnyRow) -> Result<Send> {
    Ok(Send {
        id: row.int("id")?,
        account_id: row.int("account_id")?,
        campaign_id: row.int("campaign_id")?,
        contact_id: row.int("contact_id")?,
        business_event_id: row.int("business_event_id")?,
        status: row.text("status")?,
        due_at: row.int("due_at")?,
        detail: row.opt_text("detail")?,
        inbox_id: row.opt_int("inbox_id")?,
        message_id: row.opt_int("message_id")?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

/// Schedules the send; nothing when this (campaign, contact, event) was scheduled before.
pub async fn schedule(
    conn: &mut Conn,
    campaign: &Campaign,
    contact_id: i64,
    business_event_id: i64,
    due_at: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO journey_sends (account_id, campaign_id, contact_id, business_event_id, \
           status, due_at, created_at, updated_at) VALUES ($1, $2, $3, $4, 'scheduled', $5, $6, $6) \
         ON CONFLICT (campaign_id, contact_id, business_event_id) DO NOTHING",
    )
    .bind(campaign.account_id)
    .bind(campaign.id)
    .bind(contact_id)
    .bind(business_event_id)
    .bind(due_at)
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// Scheduled sends due at `now`, oldest first.
pub async fn due(conn: &mut Conn, now: i64, limit: i64) -> Result<Vec<Send>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {SEND_COLUMNS} FROM journey_sends WHERE status = 'scheduled' AND due_at <= $1 \
         ORDER BY due_at LIMIT $2"
    )))
    .bind(now)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(send_record).collect()
}

pub async fn next_due(conn: &mut Conn) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT MIN(due_at) FROM journey_sends WHERE status = 'scheduled'")
            .fetch_one(conn)
            .await?,
    )
}

/// Takes a due send for this transaction: false when another process took it first.
pub async fn claim(conn: &mut Conn, send: &Send) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE journey_sends SET updated_at = $3 WHERE id = $1 AND status = 'scheduled' \
         AND due_at = $2",
    )
    .bind(send.id)
    .bind(send.due_at)
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// What became of a send.
pub enum Settled<'a> {
    Sent { inbox_id: i64, message_id: i64 },
    Skipped(&'a str),
    Cancelled(&'a str),
    Postponed(i64, &'a str),
}

pub async fn settle(conn: &mut Conn, send_id: i64, outcome: Settled<'_>) -> Result<()> {
    let (status, due, detail, inbox, message) = match outcome {
        Settled::Sent {
            inbox_id,
            message_id,
        } => ("sent", None, None, Some(inbox_id), Some(message_id)),
        Settled::Skipped(why) => ("skipped", None, Some(why), None, None),
        Settled::Cancelled(why) => ("cancelled", None, Some(why), None, None),
        Settled::Postponed(until, why) => ("scheduled", Some(until), Some(why), None, None),
    };
    sqlx::query(
        "UPDATE journey_sends SET status = $2, due_at = COALESCE($3, due_at), detail = $4, \
           inbox_id = $5, message_id = $6, updated_at = $7 WHERE id = $1",
    )
    .bind(send_id)
    .bind(status)
    .bind(due)
    .bind(detail)
    .bind(inbox)
    .bind(message)
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// A send as the log shows it: with its contact's name and the conversation (display id) its
/// message went to.
#[derive(Clone, Debug, PartialEq)]
pub struct LoggedSend {
    pub send: Send,
    pub contact_name: Option<String>,
    pub conversation_display_id: Option<i64>,
}

/// A campaign's sends, newest first.
pub async fn sends_of(
    conn: &mut Conn,
    scope: &AccountScope,
    campaign_id: i64,
    limit: i64,
) -> Result<Vec<LoggedSend>> {
    let columns = SEND_COLUMNS
        .split(", ")
        .map(|c| format!("s.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {columns}, ct.name AS contact_name, c.display_id AS conversation_display_id \
         FROM journey_sends s JOIN contacts ct ON ct.id = s.contact_id \
         LEFT JOIN messages m ON m.id = s.message_id \
         LEFT JOIN conversations c ON c.id = m.conversation_id \
         WHERE s.account_id = $1 AND s.campaign_id = $2 ORDER BY s.id DESC LIMIT $3"
    )))
    .bind(scope.account_id())
    .bind(campaign_id)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(LoggedSend {
                send: send_record(r)?,
                contact_name: r.opt_text("contact_name")?,
                conversation_display_id: r.opt_int("conversation_display_id")?,
            })
        })
        .collect()
}

/// How many campaign messages the contact was sent since `since` (the frequency cap).
pub async fn sent_since(conn: &mut Conn, contact_id: i64, since: i64) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM journey_sends WHERE contact_id = $1 AND status = 'sent' \
         AND updated_at >= $2",
    )
    .bind(contact_id)
    .bind(since)
    .fetch_one(conn)
    .await?)
}

/// Whether the contact had one of `event_types` after `after` (a cancelling event: the
/// order that followed the abandoned cart).
pub async fn later_event(
    conn: &mut Conn,
    contact_id: i64,
    event_types: &[String],
    after: i64,
) -> Result<Option<String>> {
    for t in event_types {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM business_events WHERE contact_id = $1 AND event_type = $2 \
             AND occurred_at > $3 LIMIT 1",
        )
        .bind(contact_id)
        .bind(t)
        .bind(after)
        .fetch_optional(&mut *conn)
        .await?;
        if found.is_some() {
            return Ok(Some(t.clone()));
        }
    }
    Ok(None)
}

/// The channels the contact opted out of (short names, or `all`).
pub async fn opt_outs(conn: &mut Conn, contact_id: i64) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT channel FROM contact_opt_outs WHERE contact_id = $1 ORDER BY channel",
    )
    .bind(contact_id)
    .fetch_all(conn)
    .await?)
}

/// Replaces the contact's opt-outs.
pub async fn set_opt_outs(conn: &mut Conn, contact_id: i64, channels: &[String]) -> Result<()> {
    sqlx::query("DELETE FROM contact_opt_outs WHERE contact_id = $1")
        .bind(contact_id)
        .execute(&mut *conn)
        .await?;
    for c in channels {
        sqlx::query(
            "INSERT INTO contact_opt_outs (contact_id, channel, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (contact_id, channel) DO NOTHING",
        )
        .bind(contact_id)
        .bind(c)
        .bind(now_ms())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// One business event by id (the trigger of a send).
pub async fn event(
    conn: &mut Conn,
    id: i64,
) -> Result<Option<crate::business_events::BusinessEvent>> {
    crate::business_events::by_id(conn, id).await
}
