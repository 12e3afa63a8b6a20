//! SLA policies (Chatwoot's `sla_policies`), the policy applied to each conversation with its
//! clocks (`applied_slas`), and the warnings and breaches it raised (`sla_events`). The rules
//! that move the clocks are the core's (`core::sla`); this module saves and loads them.

use serde_json::Value;
use throughline_core::sla::Timers;

use crate::Conn;
use crate::clock::now_ms;
use crate::error::{Result, StoreError};
use crate::rows::RowExt;
use crate::scope::AccountScope;

#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub description: Option<String>,
    /// Seconds; `None`: not measured.
    pub first_response_time_threshold: Option<i64>,
    pub next_response_time_threshold: Option<i64>,
    pub resolution_time_threshold: Option<i64>,
    pub only_during_business_hours: bool,
    pub warning_percent: i64,
    /// Inboxes whose new conversations get this policy.
    pub inbox_ids: Vec<i64>,
    /// Labels that give a conversation this policy when added.
    pub labels: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Policy {
    pub fn thresholds(&self) -> throughline_core::sla::Thresholds {
        let ms = |s: Option<i64>| s.map(|s| s.saturating_mul(1000));
        throughline_core::sla::Thresholds {
            frt_ms: ms(self.first_response_time_threshold),
            nrt_ms: ms(self.next_response_time_threshold),
            rt_ms: ms(self.resolution_time_threshold),
            warning_percent: u8::try_from(self.warning_percent.clamp(1, 99)).unwrap_or(80),
        }
    }
}

/// What an administrator writes.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyFields {
    pub name: String,
    pub description: Option<String>,
    pub first_response_time_threshold: Option<i64>,
    pub next_response_time_threshold: Option<i64>,
    pub resolution_time_threshold: Option<i64>,
    pub only_during_business_hours: bool,
    pub warning_percent: i64,
    pub inbox_ids: Vec<i64>,
    pub labels: Vec<String>,
}

/// Most policies one account may hold.
pub const MAX_POLICIES: i64 = 200;

const COLUMNS: &str = "id, account_id, name, description, first_response_time_threshold, \
    next_response_time_threshold, resolution_time_threshold, only_during_business_hours, \
    warning_percent, inbox_ids, labels, created_at, updated_at";

fn record(row: &sqlx::any::AnyRow) -> Result<Policy> {
    let ids = row.json("inbox_ids")?;
    let labels = row.json("labels")?;
    Ok(Policy {
        id: row.int("id")?,
        account_id: row.int("account_id")?,
        name: row.text("name")?,
        description: row.opt_text("description")?,
        first_response_time_threshold: row.opt_int("first_response_time_threshold")?,
        next_response_time_threshold: row.opt_int("next_response_time_threshold")?,
        resolution_time_threshold: row.opt_int("resolution_time_threshold")?,
        only_during_business_hours: row.flag("only_during_business_hours")?,
        warning_percent: row.int("warning_percent")?,
        inbox_ids: ids
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_i64).collect())
            .unwrap_or_default(),
        labels: labels
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

pub async fn list(conn: &mut Conn, scope: &AccountScope) -> Result<Vec<Policy>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM sla_policies WHERE account_id = $1 ORDER BY id"
    )))
    .bind(scope.account_id())
    .fetch_all(conn)
    .await?;
    rows.iter().map(record).collect()
}

pub async fn get(conn: &mut Conn, scope: &AccountScope, id: i64) -> Result<Policy> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM sla_policies WHERE account_id = $1 AND id = $2"
    )))
    .bind(scope.account_id())
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    record(&row)
}

fn ids_json(ids: &[i64]) -> String {
    Value::from(ids.to_vec()).to_string()
}

fn labels_json(labels: &[String]) -> String {
    Value::from(labels.to_vec()).to_string()
}

pub async fn create(conn: &mut Conn, scope: &AccountScope, f: &PolicyFields) -> Result<Policy> {
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sla_policies WHERE account_id = $1")
        .bind(scope.account_id())
        .fetch_one(&mut *conn)
        .await?;
    if count >= MAX_POLICIES {
        return Err(StoreError::Refused(format!(
            "an account holds at most {MAX_POLICIES} SLA policies"
        )));
    }
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO sla_policies (account_id, name, description, first_response_time_threshold, \
           next_response_time_threshold, resolution_time_threshold, only_during_business_hours, \
           warning_percent, inbox_ids, labels, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING {COLUMNS}"
    )))
    .bind(scope.account_id())
    .bind(&f.name)
    .bind(f.description.as_deref())
    .bind(f.first_response_time_threshold)
    .bind(f.next_response_time_threshold)
    .bind(f.resolution_time_threshold)
    .bind(f.only_during_business_hours)
    .bind(f.warning_percent)
    .bind(ids_json(&f.inbox_ids))
    .bind(labels_json(&f.labels))
    .bind(now_ms())
    .fetch_one(conn)
    .await?;
    record(&row)
}

pub async fn update(
    conn: &mut Conn,
    scope: &AccountScope,
    id: i64,
    f: &PolicyFields,
) -> Result<Policy> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE sla_policies SET name = $3, description = $4, first_response_time_threshold = $5, \
           next_response_time_threshold = $6, resolution_time_threshold = $7, \
           only_during_business_hours = $8, warning_percent = $9, inbox_ids = $10, labels = $11, \
           updated_at = $12 WHERE account_id = $1 AND id = $2 RETURNING {COLUMNS}"
    )))
    .bind(scope.account_id())
    .bind(id)
    .bind(&f.name)
    .bind(f.description.as_deref())
    .bind(f.first_response_time_threshold)
    .bind(f.next_response_time_threshold)
    .bind(f.resolution_time_threshold)
    .bind(f.only_during_business_hours)
    .bind(f.warning_percent)
    .bind(ids_json(&f.inbox_ids))
    .bind(labels_json(&f.labels))
    .bind(now_ms())
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    record(&row)
}

/// Deletes the policy; the conversations it was applied to lose it (and their clocks).
pub async fn delete(conn: &mut Conn, scope: &AccountScope, id: i64) -> Result<()> {
    let done = sqlx::query("DELETE FROM sla_policies WHERE account_id = $1 AND id = $2")
        .bind(scope.account_id())
        .bind(id)
        .execute(conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Chatwoot's `sla_status` of an applied policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlaStatus {
    Active,
    Hit,
    Missed,
    ActiveWithMisses,
}

impl SlaStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Hit => "hit",
            Self::Missed => "missed",
            Self::ActiveWithMisses => "active_with_misses",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Active,
            Self::Hit,
            Self::Missed,
            Self::ActiveWithMisses,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }

    /// The status the timers show: finished or not, missed anything or not.
    pub fn of(timers: &Timers) -> Self {
        let states = || [&timers.frt, &timers.nrt, &timers.rt].into_iter().flatten();
        let missed = states().any(|m| m.breached || m.met == Some(false));
        // Still measuring: a clock running, or the resolution clock paused while waiting on
        // the customer. A first or next response left without a verdict by the resolution
        // stops there (as in Chatwoot, a resolved conversation's policy is hit or missed).
        let running = states().any(|m| m.met.is_none() && m.clock.running_since.is_some())
            || timers.rt.as_ref().is_some_and(|m| m.met.is_none());
        match (running, missed) {
            (true, false) => Self::Active,
            (true, true) => Self::ActiveWithMisses,
            (false, false) => Self::Hit,
            (false, true) => Self::Missed,
        }
    }
}

/// A policy at work on one conversation.
#[derive(Clone, Debug, PartialEq)]
pub struct Applied {
    pub id: i64,
    pub account_id: i64,
    pub conversation_id: i64,
    pub sla_policy_id: i64,
    pub sla_status: SlaStatus,
    pub timers: Timers,
    pub next_check_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

const APPLIED_COLUMNS: &str = "id, account_id, conversation_id, sla_policy_id, sla_status, \
    timers, next_check_at, created_at, updated_at";

fn applied_record(row: &sqlx::any::AnyRow) -> Result<Applied> {
    let timers: Timers = serde_json::from_value(row.json("timers")?)
        .map_err(|e| StoreError::Corrupt(format!("applied_slas.timers: {e}")))?;
    Ok(Applied {
        id: row.int("id")?,
        account_id: row.int("account_id")?,
        conversation_id: row.int("conversation_id")?,
        sla_policy_id: row.int("sla_policy_id")?,
        sla_status: row.parsed("sla_status", SlaStatus::parse)?,
        timers,
        next_check_at: row.opt_int("next_check_at")?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

/// The policy applied to a conversation, if any.
pub async fn applied_to(conn: &mut Conn, conversation_id: i64) -> Result<Option<Applied>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {APPLIED_COLUMNS} FROM applied_slas WHERE conversation_id = $1"
    )))
    .bind(conversation_id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(applied_record).transpose()
}

/// The applied policies of several conversations (list views), by conversation id.
pub async fn applied_to_many(
    conn: &mut Conn,
    account_id: i64,
    conversation_ids: &[i64],
) -> Result<Vec<Applied>> {
    if conversation_ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = conversation_ids
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {APPLIED_COLUMNS} FROM applied_slas WHERE account_id = $1 \
         AND conversation_id IN ({list})"
    )))
    .bind(account_id)
    .fetch_all(conn)
    .await?;
    rows.iter().map(applied_record).collect()
}

/// Applies `policy` to the conversation (replacing one applied before) with fresh clocks.
pub async fn apply(
    conn: &mut Conn,
    account_id: i64,
    conversation_id: i64,
    policy_id: i64,
    timers: &Timers,
    next_check_at: Option<i64>,
) -> Result<Applied> {
    sqlx::query("DELETE FROM applied_slas WHERE conversation_id = $1")
        .bind(conversation_id)
        .execute(&mut *conn)
        .await?;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO applied_slas (account_id, conversation_id, sla_policy_id, sla_status, \
           timers, next_check_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING {APPLIED_COLUMNS}"
    )))
    .bind(account_id)
    .bind(conversation_id)
    .bind(policy_id)
    .bind(SlaStatus::of(timers).as_str())
    .bind(timers_json(timers)?)
    .bind(next_check_at)
    .bind(now_ms())
    .fetch_one(conn)
    .await?;
    applied_record(&row)
}

fn timers_json(timers: &Timers) -> Result<String> {
    serde_json::to_string(timers).map_err(|e| StoreError::Corrupt(format!("sla timers: {e}")))
}

/// Saves moved clocks.
pub async fn save(
    conn: &mut Conn,
    applied_id: i64,
    timers: &Timers,
    next_check_at: Option<i64>,
) -> Result<()> {
    sqlx::query(
        "UPDATE applied_slas SET timers = $2, sla_status = $3, next_check_at = $4, \
           updated_at = $5 WHERE id = $1",
    )
    .bind(applied_id)
    .bind(timers_json(timers)?)
    .bind(SlaStatus::of(timers).as_str())
    .bind(next_check_at)
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// Applied policies with a warning or breach due at `now`, oldest first.
pub async fn due(conn: &mut Conn, now: i64, limit: i64) -> Result<Vec<Applied>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {APPLIED_COLUMNS} FROM applied_slas WHERE next_check_at IS NOT NULL \
         AND next_check_at <= $1 ORDER BY next_check_at LIMIT $2"
    )))
    .bind(now)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(applied_record).collect()
}

/// When the next warning or breach is due anywhere.
pub async fn next_due(conn: &mut Conn) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT MIN(next_check_at) FROM applied_slas WHERE next_check_at IS NOT NULL",
    )
    .fetch_one(conn)
    .await?)
}

#[derive(Clone, Debug, PartialEq)]
pub struct SlaEvent {
    pub id: i64,
    pub applied_sla_id: i64,
    pub conversation_id: i64,
    pub sla_policy_id: i64,
    /// frt, nrt, rt.
    pub event_type: String,
    /// warning or breach.
    pub kind: String,
    pub created_at: i64,
}

pub async fn record_event(
    conn: &mut Conn,
    applied: &Applied,
    event_type: &str,
    kind: &str,
) -> Result<SlaEvent> {
    let row = sqlx::query(
        "INSERT INTO sla_events (account_id, applied_sla_id, conversation_id, sla_policy_id, \
           event_type, kind, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         RETURNING id, applied_sla_id, conversation_id, sla_policy_id, event_type, kind, created_at",
    )
    .bind(applied.account_id)
    .bind(applied.id)
    .bind(applied.conversation_id)
    .bind(applied.sla_policy_id)
    .bind(event_type)
    .bind(kind)
    .bind(now_ms())
    .fetch_one(conn)
    .await?;
    event_record(&row)
}

fn event_record(row: &sqlx::any::AnyRow) -> Result<SlaEvent> {
    Ok(SlaEvent {
        id: row.int("id")?,
        applied_sla_id: row.int("applied_sla_id")?,
        conversation_id: row.int("conversation_id")?,
        sla_policy_id: row.int("sla_policy_id")?,
        event_type: row.text("event_type")?,
        kind: row.text("kind")?,
        created_at: row.int("created_at")?,
    })
}

/// A conversation's warnings and breaches, oldest first.
pub async fn events_of(conn: &mut Conn, conversation_id: i64) -> Result<Vec<SlaEvent>> {
    let rows = sqlx::query(
        "SELECT id, applied_sla_id, conversation_id, sla_policy_id, event_type, kind, created_at \
         FROM sla_events WHERE conversation_id = $1 ORDER BY id",
    )
    .bind(conversation_id)
    .fetch_all(conn)
    .await?;
    rows.iter().map(event_record).collect()
}

/// Per policy: conversations it was applied to, and of those how many are finished with
/// every metric met (hit) and how many missed one (missed or active with misses).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PolicyTally {
    pub sla_policy_id: i64,
    pub applied: i64,
    pub hit: i64,
    pub missed: i64,
    pub active: i64,
}

/// What the reports need: met / missed per policy, for conversations a policy was applied to
/// in `[since, until)`, optionally of one policy or one inbox.
pub async fn tally(
    conn: &mut Conn,
    scope: &AccountScope,
    since: i64,
    until: i64,
    policy_id: Option<i64>,
    inbox_id: Option<i64>,
) -> Result<Vec<PolicyTally>> {
    // The filters are integers, formatted in; only the account is bound.
    let mut filter =
        format!("a.account_id = $1 AND a.created_at >= {since} AND a.created_at < {until}");
    if let Some(p) = policy_id {
        filter.push_str(&format!(" AND a.sla_policy_id = {p}"));
    }
    if let Some(i) = inbox_id {
        filter.push_str(&format!(" AND c.inbox_id = {i}"));
    }
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT a.sla_policy_id AS sla_policy_id, a.sla_status AS sla_status, COUNT(*) AS n \
         FROM applied_slas a JOIN conversations c ON c.id = a.conversation_id WHERE {filter} \
         GROUP BY a.sla_policy_id, a.sla_status ORDER BY a.sla_policy_id"
    )))
    .bind(scope.account_id())
    .fetch_all(conn)
    .await?;
    let mut out: Vec<PolicyTally> = Vec::new();
    for row in &rows {
        let id = row.int("sla_policy_id")?;
        let n = row.int("n")?;
        if out.last().is_none_or(|t| t.sla_policy_id != id) {
            out.push(PolicyTally {
                sla_policy_id: id,
                ..PolicyTally::default()
            });
        }
        let Some(t) = out.last_mut() else { continue };
        t.applied += n;
        match row.parsed("sla_status", SlaStatus::parse)? {
            SlaStatus::Hit => t.hit += n,
            SlaStatus::Missed | SlaStatus::ActiveWithMisses => t.missed += n,
            SlaStatus::Active => t.active += n,
        }
    }
    Ok(out)
}

/// Writes a warning or breach: its `sla_events` row and its outbox event (`sla_warning` /
/// `sla_breached`), whose body is the conversation as webhooks carry it plus `sla_event`.
pub async fn raise(
    tx: &mut crate::db::Tx,
    applied: &Applied,
    policy: &Policy,
    conversation: &throughline_core::model::Conversation,
    metric: throughline_core::sla::Metric,
    breach: bool,
    due_at: Option<i64>,
) -> Result<SlaEvent> {
    use throughline_core::event::{EventKind, NewEvent};
    use throughline_core::visibility::{AUDIENCE_KEY, Owner};
    let kind_word = if breach { "breach" } else { "warning" };
    let recorded = record_event(tx.conn(), applied, metric.as_str(), kind_word).await?;
    let mut payload = crate::events::conversation_body(tx, conversation, None).await?;
    if let Value::Object(map) = &mut payload {
        map.insert(AUDIENCE_KEY.into(), Owner::of(conversation).to_json());
        map.insert(
            "sla_event".into(),
            serde_json::json!({
                "id": recorded.id,
                "event_type": metric.as_str(),
                "kind": kind_word,
                "due_at": due_at.map(throughline_core::to_unix_seconds),
                "sla_policy": {"id": policy.id, "name": policy.name},
                "applied_sla_id": applied.id,
            }),
        );
    }
    tx.emit(NewEvent {
        kind: if breach {
            EventKind::SlaBreached
        } else {
            EventKind::SlaWarning
        },
        account_id: conversation.account_id,
        conversation_id: Some(conversation.id),
        contact_id: Some(conversation.contact_id),
        inbox_id: Some(conversation.inbox_id),
        payload,
    })
    .await?;
    Ok(recorded)
}

/// Takes the applied policy for raising what is due at `next_check_at`: false when another
/// process took it first (the row stays locked by this transaction until it commits; the
/// other one then finds `next_check_at` moved).
pub async fn claim_due(conn: &mut Conn, applied_id: i64, next_check_at: i64) -> Result<bool> {
    let done =
        sqlx::query("UPDATE applied_slas SET updated_at = $3 WHERE id = $1 AND next_check_at = $2")
            .bind(applied_id)
            .bind(next_check_at)
            .bind(now_ms())
            .execute(conn)
            .await?;
    Ok(done.rows_affected() == 1)
}

impl From<&Policy> for throughline_core::views::SlaPolicyView {
    fn from(p: &Policy) -> Self {
        Self {
            id: p.id,
            name: p.name.clone(),
            description: p.description.clone(),
            first_response_time_threshold: p.first_response_time_threshold,
            next_response_time_threshold: p.next_response_time_threshold,
            resolution_time_threshold: p.resolution_time_threshold,
            only_during_business_hours: p.only_during_business_hours,
            warning_percent: p.warning_percent,
            inbox_ids: p.inbox_ids.clone(),
            labels: p.labels.clone(),
            created_at: throughline_core::to_unix_seconds(p.created_at),
            updated_at: throughline_core::to_unix_seconds(p.updated_at),
        }
    }
}

/// The applied policies of rendered conversations, as their views show them: by conversation
/// id. `settings` gives each inbox's settings (for policies counted in business hours).
pub async fn views_for(
    conn: &mut Conn,
    account_id: i64,
    conversation_ids: &[i64],
    inbox_of: &std::collections::HashMap<i64, i64>,
    settings: &std::collections::HashMap<i64, Value>,
) -> Result<std::collections::HashMap<i64, throughline_core::views::AppliedSlaView>> {
    use throughline_core::hours::Schedule;
    use throughline_core::views::{AppliedParts, AppliedSlaView, SlaPolicyView};
    let mut out = std::collections::HashMap::new();
    let applied = applied_to_many(conn, account_id, conversation_ids).await?;
    if applied.is_empty() {
        return Ok(out);
    }
    let policies: std::collections::HashMap<i64, Policy> =
        list(conn, &AccountScope::system(account_id))
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
    for a in &applied {
        let Some(policy) = policies.get(&a.sla_policy_id) else {
            continue;
        };
        let schedule = if policy.only_during_business_hours {
            inbox_of
                .get(&a.conversation_id)
                .and_then(|inbox| settings.get(inbox))
                .and_then(|s| Schedule::from_settings(s).ok())
                .unwrap_or_else(Schedule::always)
        } else {
            Schedule::always()
        };
        let view = AppliedSlaView::new(
            AppliedParts {
                id: a.id,
                status: a.sla_status.as_str(),
                timers: &a.timers,
                created_at: a.created_at,
                updated_at: a.updated_at,
            },
            &SlaPolicyView::from(policy),
            &schedule,
        );
        out.insert(a.conversation_id, view);
    }
    Ok(out)
}

/// Looks at an applied policy again at `at` (after a failure particular to it).
pub async fn postpone(conn: &mut Conn, applied_id: i64, at: i64) -> Result<()> {
    sqlx::query("UPDATE applied_slas SET next_check_at = $2, updated_at = $3 WHERE id = $1")
        .bind(applied_id)
        .bind(at)
        .bind(now_ms())
        .execute(conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use throughline_core::hours::Schedule;
    use throughline_core::sla::{ConversationChange, Thresholds, Timers};

    use super::SlaStatus;

    const MIN: i64 = 60_000;

    fn thresholds(frt: bool, rt: bool) -> Thresholds {
        Thresholds {
            frt_ms: frt.then_some(10 * MIN),
            nrt_ms: Some(10 * MIN),
            rt_ms: rt.then_some(60 * MIN),
            warning_percent: 80,
        }
    }

    #[test]
    fn a_policy_is_active_until_the_conversation_is_done() {
        let always = Schedule::always();
        let t = thresholds(true, true);
        let mut timers = Timers::start(0, &t);
        assert_eq!(SlaStatus::of(&timers), SlaStatus::Active);
        timers.apply(ConversationChange::AgentReply, 5 * MIN, &t, &always);
        // Waiting on the customer pauses the resolution clock: still active.
        timers.apply(ConversationChange::WaitingOnCustomer, 6 * MIN, &t, &always);
        assert_eq!(SlaStatus::of(&timers), SlaStatus::Active);
        timers.apply(ConversationChange::Resolved, 7 * MIN, &t, &always);
        assert_eq!(SlaStatus::of(&timers), SlaStatus::Hit);
    }

    #[test]
    fn resolved_without_a_reply_is_finished_not_active() {
        let always = Schedule::always();
        // First response only: resolved unanswered within the threshold.
        let t = thresholds(true, false);
        let mut timers = Timers::start(0, &t);
        timers.apply(ConversationChange::Resolved, 5 * MIN, &t, &always);
        assert_eq!(SlaStatus::of(&timers), SlaStatus::Hit);
        // Reopened, the first response is owed again.
        timers.apply(ConversationChange::Reopened, 6 * MIN, &t, &always);
        assert_eq!(SlaStatus::of(&timers), SlaStatus::Active);
        // Past the threshold, then resolved: missed.
        timers.apply(ConversationChange::Resolved, 30 * MIN, &t, &always);
        assert_eq!(SlaStatus::of(&timers), SlaStatus::Missed);
    }
}
