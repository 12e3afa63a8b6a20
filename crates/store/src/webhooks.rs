//! Account webhooks and the delivery queue shared by webhooks and API-channel callbacks.

use throughline_core::crypto::{ServerKey, random_token};
use throughline_core::model::{Delivery, DeliveryState, Webhook};

use crate::Conn;
use crate::clock::now_ms;
use crate::error::{Result, StoreError};
use crate::rows::RowExt;
use crate::scope::AccountScope;

const COLUMNS: &str =
    "id, account_id, inbox_id, url, name, subscriptions, secret_sealed, created_at, updated_at";

fn webhook(row: &sqlx::any::AnyRow, key: &ServerKey) -> Result<Webhook> {
    let subscriptions: Vec<String> = serde_json::from_value(row.json("subscriptions")?)
        .map_err(|e| StoreError::Corrupt(format!("webhook subscriptions: {e}")))?;
    Ok(Webhook {
        id: row.int("id")?,
        account_id: row.int("account_id")?,
        inbox_id: row.opt_int("inbox_id")?,
        url: row.text("url")?,
        name: row.opt_text("name")?,
        subscriptions,
        secret: key
            .unseal(&row.text("secret_sealed")?)
            .map_err(|e| StoreError::Corrupt(format!("webhook secret: {e}")))?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

pub async fn list(conn: &mut Conn, key: &ServerKey, scope: &AccountScope) -> Result<Vec<Webhook>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM webhooks WHERE account_id = $1 ORDER BY id"
    )))
    .bind(scope.account_id())
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| webhook(r, key)).collect()
}

pub async fn get(
    conn: &mut Conn,
    key: &ServerKey,
    scope: &AccountScope,
    id: i64,
) -> Result<Webhook> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM webhooks WHERE account_id = $1 AND id = $2"
    )))
    .bind(scope.account_id())
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    webhook(&row, key)
}

pub async fn create(
    conn: &mut Conn,
    key: &ServerKey,
    scope: &AccountScope,
    url: &str,
    name: Option<&str>,
    subscriptions: &[String],
    inbox_id: Option<i64>,
) -> Result<Webhook> {
    let now = now_ms();
    let secret = random_token(24);
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO webhooks (account_id, inbox_id, url, name, subscriptions, secret_sealed, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING {COLUMNS}"
    )))
    .bind(scope.account_id())
    .bind(inbox_id)
    .bind(url)
    .bind(name)
    .bind(serde_json::json!(subscriptions).to_string())
    .bind(key.seal(&secret))
    .bind(now)
    .fetch_one(conn)
    .await?;
    webhook(&row, key)
}

pub async fn update(
    conn: &mut Conn,
    key: &ServerKey,
    scope: &AccountScope,
    id: i64,
    url: Option<&str>,
    name: Option<Option<&str>>,
    subscriptions: Option<&[String]>,
) -> Result<Webhook> {
    let cur = get(&mut *conn, key, scope, id).await?;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE webhooks SET url = $3, name = $4, subscriptions = $5, updated_at = $6 \
         WHERE account_id = $1 AND id = $2 RETURNING {COLUMNS}"
    )))
    .bind(scope.account_id())
    .bind(id)
    .bind(url.unwrap_or(&cur.url))
    .bind(name.unwrap_or(cur.name.as_deref()))
    .bind(serde_json::json!(subscriptions.unwrap_or(&cur.subscriptions)).to_string())
    .bind(now_ms())
    .fetch_one(conn)
    .await?;
    webhook(&row, key)
}

/// A new signing secret: deliveries from now on are signed with it (retries of older ones too).
pub async fn rotate_secret(
    conn: &mut Conn,
    key: &ServerKey,
    scope: &AccountScope,
    id: i64,
) -> Result<Webhook> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE webhooks SET secret_sealed = $3, updated_at = $4 \
         WHERE account_id = $1 AND id = $2 RETURNING {COLUMNS}"
    )))
    .bind(scope.account_id())
    .bind(id)
    .bind(key.seal(&random_token(24)))
    .bind(now_ms())
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    webhook(&row, key)
}

pub async fn delete(conn: &mut Conn, scope: &AccountScope, id: i64) -> Result<()> {
    let done = sqlx::query("DELETE FROM webhooks WHERE account_id = $1 AND id = $2")
        .bind(scope.account_id())
        .bind(id)
        .execute(conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Every webhook of an account, for fan-out by the consumer (system scope).
pub async fn for_account(
    conn: &mut Conn,
    key: &ServerKey,
    account_id: i64,
) -> Result<Vec<Webhook>> {
    list(conn, key, &AccountScope::system(account_id)).await
}

// ---------------------------------------------------------------------------------------------
// Deliveries

const DELIVERY_COLUMNS: &str = "id, account_id, webhook_id, inbox_id, message_id, agent_bot_id, event_id, \
     event_name, url, payload, state, attempts, next_attempt_at, last_error, last_status_code, \
     delivered_at, created_at";

fn delivery(row: &sqlx::any::AnyRow) -> Result<Delivery> {
    Ok(Delivery {
        id: row.text("id")?,
        account_id: row.int("account_id")?,
        webhook_id: row.opt_int("webhook_id")?,
        inbox_id: row.opt_int("inbox_id")?,
        message_id: row.opt_int("message_id")?,
        agent_bot_id: row.opt_int("agent_bot_id")?,
        event_id: row.int("event_id")?,
        event_name: row.text("event_name")?,
        url: row.text("url")?,
        payload: row.text("payload")?,
        state: row.parsed("state", DeliveryState::parse)?,
        attempts: row.int("attempts")?,
        next_attempt_at: row.opt_int("next_attempt_at")?,
        last_error: row.opt_text("last_error")?,
        last_status_code: row.opt_int("last_status_code")?,
        delivered_at: row.opt_int("delivered_at")?,
        created_at: row.int("created_at")?,
    })
}

/// Where a delivery goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Webhook(i64),
    /// An API inbox's callback URL; carries the message so a failure can be shown on it.
    ApiInbox {
        inbox_id: i64,
        message_id: Option<i64>,
    },
    /// A URL an automation rule or a macro posts to (`send_webhook_event`): unsigned, as
    /// Chatwoot's; `key` tells the rule's (or macro's) actions apart on one event.
    Automation {
        key: String,
    },
    /// An inbox's agent bot, at its `outgoing_url`; carries the inbox so the delivery log
    /// shows where the event came from.
    AgentBot {
        bot_id: i64,
        inbox_id: i64,
    },
}

pub struct NewDelivery<'a> {
    pub account_id: i64,
    pub target: Target,
    pub event_id: i64,
    pub event_name: &'a str,
    pub url: &'a str,
    pub payload: &'a str,
}

/// Queues a delivery; a second call for the same target and event is a no-op, so a fan-out
/// that is replayed after a crash cannot send an event twice under two ids. An event that no
/// longer exists (erased since the fan-out read it: `privacy`) gets no delivery.
pub async fn enqueue(conn: &mut Conn, d: NewDelivery<'_>) -> Result<()> {
    let (target, webhook_id, inbox_id, message_id, agent_bot_id) = match d.target {
        Target::Webhook(id) => (format!("webhook:{id}"), Some(id), None, None, None),
        Target::Automation { key } => (format!("automation:{key}"), None, None, None, None),
        Target::AgentBot { bot_id, inbox_id } => (
            format!("agent_bot:{bot_id}"),
            None,
            Some(inbox_id),
            None,
            Some(bot_id),
        ),
        Target::ApiInbox {
            inbox_id,
            message_id,
        } => (
            format!("inbox:{inbox_id}"),
            None,
            Some(inbox_id),
            message_id,
            None,
        ),
    };
    let now = now_ms();
    sqlx::query(
        "INSERT INTO deliveries (id, target, account_id, webhook_id, inbox_id, message_id, \
           event_id, event_name, url, payload, state, attempts, next_attempt_at, created_at, updated_at, \
           agent_bot_id) \
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', 0, $11, $11, $11, $12 \
         WHERE EXISTS (SELECT 1 FROM outbox_events WHERE id = $7) \
         ON CONFLICT (target, event_id) DO NOTHING",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(target)
    .bind(d.account_id)
    .bind(webhook_id)
    .bind(inbox_id)
    .bind(message_id)
    .bind(d.event_id)
    .bind(d.event_name)
    .bind(d.url)
    .bind(d.payload)
    .bind(now)
    .bind(agent_bot_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// What a sender is already working on: deliveries in flight, and targets that have as many
/// requests open as they may.
#[derive(Debug, Default, Clone)]
pub struct Busy {
    pub deliveries: Vec<String>,
    pub urls: Vec<String>,
}

impl Busy {
    /// ` AND id NOT IN (…) AND url NOT IN (…)` with placeholders from `$first` on.
    fn condition(&self, first: usize) -> String {
        let mut sql = String::new();
        let mut n = first;
        for (column, values) in [("id", &self.deliveries), ("url", &self.urls)] {
            if values.is_empty() {
                continue;
            }
            let list: Vec<String> = (n..n + values.len()).map(|i| format!("${i}")).collect();
            n += values.len();
            sql.push_str(&format!(" AND {column} NOT IN ({})", list.join(", ")));
        }
        sql
    }

    fn values(&self) -> impl Iterator<Item = &String> {
        self.deliveries.iter().chain(&self.urls)
    }
}

/// Claims up to `limit` due deliveries by pushing their next attempt `lease_ms` into the future,
/// so a second sender (or instance) does not pick them up while this one works on them. A
/// sender that dies mid-flight leaves them to be retried when the lease runs out. Deliveries
/// to `busy` targets wait: one dead receiver must not take every sending slot.
pub async fn claim_due(
    conn: &mut Conn,
    now: i64,
    lease_ms: i64,
    limit: i64,
    busy: &Busy,
) -> Result<Vec<Delivery>> {
    let sql = format!(
        "SELECT id FROM deliveries WHERE state = 'pending' AND next_attempt_at <= $1{} \
         ORDER BY next_attempt_at, created_at LIMIT $2",
        busy.condition(3)
    );
    let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(now)
        .bind(limit);
    for v in busy.values() {
        query = query.bind(v);
    }
    let ids: Vec<String> = query.fetch_all(&mut *conn).await?;
    let mut claimed = Vec::with_capacity(ids.len());
    for id in ids {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE deliveries SET next_attempt_at = $2, updated_at = $3 \
             WHERE id = $1 AND state = 'pending' AND next_attempt_at <= $3 RETURNING {DELIVERY_COLUMNS}"
        )))
        .bind(&id)
        .bind(now + lease_ms)
        .bind(now)
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(r) = row {
            claimed.push(delivery(&r)?);
        }
    }
    Ok(claimed)
}

/// The earliest time a pending delivery that is not `busy` falls due, to sleep until then.
pub async fn next_due_at(conn: &mut Conn, busy: &Busy) -> Result<Option<i64>> {
    let sql = format!(
        "SELECT MIN(next_attempt_at) FROM deliveries WHERE state = 'pending'{}",
        busy.condition(1)
    );
    let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(sql));
    for v in busy.values() {
        query = query.bind(v);
    }
    Ok(query.fetch_one(conn).await?)
}

pub async fn mark_delivered(conn: &mut Conn, id: &str, status_code: i64) -> Result<()> {
    let now = now_ms();
    sqlx::query(
        "UPDATE deliveries SET state = 'delivered', attempts = attempts + 1, last_status_code = $2, \
           last_error = NULL, delivered_at = $3, next_attempt_at = NULL, updated_at = $3 WHERE id = $1",
    )
    .bind(id)
    .bind(status_code)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records a failed attempt: retried at `retry_at`, or given up on when `None`.
pub async fn mark_failed_attempt(
    conn: &mut Conn,
    id: &str,
    status_code: Option<i64>,
    error: &str,
    retry_at: Option<i64>,
) -> Result<()> {
    let state = if retry_at.is_some() {
        "pending"
    } else {
        "failed"
    };
    sqlx::query(
        "UPDATE deliveries SET state = $2, attempts = attempts + 1, last_status_code = $3, \
           last_error = $4, next_attempt_at = $5, updated_at = $6 WHERE id = $1",
    )
    .bind(id)
    .bind(state)
    .bind(status_code)
    .bind(error.chars().take(1000).collect::<String>())
    .bind(retry_at)
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get_delivery(conn: &mut Conn, id: &str) -> Result<Delivery> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    delivery(&row)
}

/// A webhook's deliveries, newest first, for the admins' delivery log.
pub async fn deliveries_of_webhook(
    conn: &mut Conn,
    scope: &AccountScope,
    webhook_id: i64,
    limit: i64,
    before_created_at: Option<i64>,
) -> Result<Vec<Delivery>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE account_id = $1 AND webhook_id = $2 \
         AND ($3 IS NULL OR created_at < $3) ORDER BY created_at DESC, id DESC LIMIT $4"
    )))
    .bind(scope.account_id())
    .bind(webhook_id)
    .bind(before_created_at)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(delivery).collect()
}

/// Puts a failed delivery back in the queue (admin "retry").
pub async fn retry_delivery(conn: &mut Conn, scope: &AccountScope, id: &str) -> Result<Delivery> {
    let now = now_ms();
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE deliveries SET state = 'pending', next_attempt_at = $3, updated_at = $3 \
         WHERE account_id = $1 AND id = $2 AND state = 'failed' RETURNING {DELIVERY_COLUMNS}"
    )))
    .bind(scope.account_id())
    .bind(id)
    .bind(now)
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    delivery(&row)
}

/// Deletes at most `limit` finished deliveries (delivered, or failed and not retried) last
/// touched before `older_than`; pending ones are never removed. Returns how many.
pub async fn prune_deliveries(conn: &mut Conn, older_than: i64, limit: i64) -> Result<u64> {
    let done = sqlx::query(
        "DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries \
           WHERE state IN ('delivered', 'failed') AND updated_at < $1 LIMIT $2)",
    )
    .bind(older_than)
    .bind(limit)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}
