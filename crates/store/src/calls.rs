//! Phone calls: one row per call, found again by the provider's id (a repeated webhook finds
//! the call it named), moved only by newer status reports (`core::voice::call::is_newer`).

use throughline_core::voice::call::{
    self, Call, CallState, CallbackSource, CallbackState, Direction, Outcome,
};
use throughline_core::voice::web_call::Medium;

use crate::Conn;
use crate::clock::now_ms;
use crate::error::{Result, StoreError};
use crate::rows::RowExt;
use crate::scope::{AccountScope, InboxVisibility};
use crate::sql::SqlBuilder;

const COLUMNS: &str = "id, account_id, inbox_id, conversation_id, contact_id, provider_id, \
     direction, medium, from_address, to_address, state, outcome, team_id, agent_id, started_at, \
     queued_at, callback_requested_at, answered_at, ended_at, duration_seconds, voicemail_message_id, last_sequence, created_at, \
     updated_at, disposition, wrap_up_notes, wrapped_up_by, wrapped_up_at, recording_provider_id, \
     recording_url, recording_seconds, recording_blob";

fn row_call(row: &sqlx::any::AnyRow) -> Result<Call> {
    Ok(Call {
        id: row.int("id")?,
        account_id: row.int("account_id")?,
        inbox_id: row.int("inbox_id")?,
        conversation_id: row.opt_int("conversation_id")?,
        contact_id: row.opt_int("contact_id")?,
        provider_id: row.text("provider_id")?,
        direction: row.parsed("direction", Direction::parse)?,
        medium: row.parsed("medium", Medium::parse)?,
        from: row.text("from_address")?,
        to: row.text("to_address")?,
        state: row.parsed("state", CallState::parse)?,
        outcome: row.opt_parsed("outcome", Outcome::parse)?,
        team_id: row.opt_int("team_id")?,
        agent_id: row.opt_int("agent_id")?,
        started_at: row.int("started_at")?,
        queued_at: row.opt_int("queued_at")?,
        callback_requested_at: row.opt_int("callback_requested_at")?,
        answered_at: row.opt_int("answered_at")?,
        ended_at: row.opt_int("ended_at")?,
        duration_seconds: row.opt_int("duration_seconds")?,
        voicemail_message_id: row.opt_int("voicemail_message_id")?,
        disposition: row.opt_text("disposition")?,
        wrap_up_notes: row.opt_text("wrap_up_notes")?,
        wrapped_up_by: row.opt_int("wrapped_up_by")?,
        wrapped_up_at: row.opt_int("wrapped_up_at")?,
        recording_provider_id: row.opt_text("recording_provider_id")?,
        recording_url: row.opt_text("recording_url")?,
        recording_seconds: row.opt_int("recording_seconds")?,
        recording_blob: row.opt_text("recording_blob")?,
        last_sequence: row.opt_int("last_sequence")?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

/// A call as it starts.
#[derive(Clone, Debug)]
pub struct NewCall<'a> {
    pub inbox_id: i64,
    pub provider_id: &'a str,
    pub direction: Direction,
    pub from: &'a str,
    pub to: &'a str,
    pub contact_id: Option<i64>,
    pub conversation_id: Option<i64>,
}

/// Records a phone call, or finds the one already recorded under the provider's id (a repeated
/// webhook): `(call, created)`.
pub async fn start(
    conn: &mut Conn,
    scope: &AccountScope,
    new: &NewCall<'_>,
) -> Result<(Call, bool)> {
    if !scope.sees_inbox(new.inbox_id) {
        return Err(StoreError::NotFound);
    }
    let now = now_ms();
    let inserted = sqlx::query(
        "INSERT INTO calls (account_id, inbox_id, conversation_id, contact_id, provider_id, \
           direction, from_address, to_address, state, started_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'ringing', $9, $9, $9) \
         ON CONFLICT (inbox_id, provider_id) DO NOTHING",
    )
    .bind(scope.account_id())
    .bind(new.inbox_id)
    .bind(new.conversation_id)
    .bind(new.contact_id)
    .bind(new.provider_id)
    .bind(new.direction.as_str())
    .bind(new.from)
    .bind(new.to)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    let call = by_provider(conn, scope, new.inbox_id, new.provider_id)
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok((call, inserted))
}

/// The inbox's call with the provider's id.
pub async fn by_provider(
    conn: &mut Conn,
    scope: &AccountScope,
    inbox_id: i64,
    provider_id: &str,
) -> Result<Option<Call>> {
    if !scope.sees_inbox(inbox_id) {
        return Ok(None);
    }
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM calls WHERE account_id = $1 AND inbox_id = $2 AND provider_id = $3"
    )))
    .bind(scope.account_id())
    .bind(inbox_id)
    .bind(provider_id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(row_call).transpose()
}

/// The inbox's call with our id.
pub async fn by_id(
    conn: &mut Conn,
    scope: &AccountScope,
    inbox_id: i64,
    id: i64,
) -> Result<Option<Call>> {
    if !scope.sees_inbox(inbox_id) {
        return Ok(None);
    }
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM calls WHERE account_id = $1 AND inbox_id = $2 AND id = $3"
    )))
    .bind(scope.account_id())
    .bind(inbox_id)
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(row_call).transpose()
}

/// The team the caller chose in the menu.
pub async fn set_team(conn: &mut Conn, scope: &AccountScope, id: i64, team_id: i64) -> Result<()> {
    sqlx::query("UPDATE calls SET team_id = $3, updated_at = $4 WHERE account_id = $1 AND id = $2")
        .bind(scope.account_id())
        .bind(id)
        .bind(team_id)
        .bind(now_ms())
        .execute(conn)
        .await?;
    Ok(())
}

/// The voicemail the caller left, as the message on their conversation.
pub async fn set_voicemail(
    conn: &mut Conn,
    scope: &AccountScope,
    id: i64,
    message_id: i64,
    conversation_id: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE calls SET voicemail_message_id = $3, conversation_id = $4, outcome = 'voicemail', \
           contact_id = (SELECT contact_id FROM conversations WHERE id = $4), updated_at = $5 \
         WHERE account_id = $1 AND id = $2",
    )
    .bind(scope.account_id())
    .bind(id)
    .bind(message_id)
    .bind(conversation_id)
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// A status report: applied when newer than the last one applied (`sequence`), else ignored
/// (`false`). A final state ends the call and settles its outcome.
pub async fn report(
    conn: &mut Conn,
    scope: &AccountScope,
    current: &Call,
    state: CallState,
    sequence: i64,
    duration_seconds: Option<i64>,
) -> Result<bool> {
    if !call::is_newer(current.last_sequence, sequence) {
        return Ok(false);
    }
    let now = now_ms();
    let (ended_at, outcome) = if state.is_final() {
        let outcome = call::outcome(
            state,
            current.voicemail_message_id.is_some(),
            current.answered_at.is_some(),
            current.callback_requested_at.is_some(),
        );
        (
            Some(current.ended_at.unwrap_or(now)),
            Some(outcome.as_str()),
        )
    } else {
        (current.ended_at, current.outcome.map(Outcome::as_str))
    };
    // Compared with the stored sequence in the statement too: two reports racing apply once.
    let done = sqlx::query(
        "UPDATE calls SET state = $3, last_sequence = $4, ended_at = $5, outcome = $6, \
           duration_seconds = COALESCE($7, duration_seconds), updated_at = $8 \
         WHERE account_id = $1 AND id = $2 AND (last_sequence IS NULL OR last_sequence < $4)",
    )
    .bind(scope.account_id())
    .bind(current.id)
    .bind(state.as_str())
    .bind(sequence)
    .bind(ended_at)
    .bind(outcome)
    .bind(duration_seconds)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Calls the scope sees, newest first, with their conversation's display id: of one
/// conversation (internal id), or all, at most `limit`.
pub async fn list(
    conn: &mut Conn,
    scope: &AccountScope,
    conversation_id: Option<i64>,
    limit: i64,
) -> Result<Vec<(Call, Option<i64>)>> {
    let columns = COLUMNS
        .split(", ")
        .map(|c| format!("k.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    let mut q = SqlBuilder::new(&format!(
        "SELECT {columns}, v.display_id AS conversation_display_id FROM calls k \
         LEFT JOIN conversations v ON v.id = k.conversation_id WHERE k.account_id = "
    ));
    q.bind(scope.account_id());
    if let Some(id) = conversation_id {
        q.push(" AND k.conversation_id = ").bind(id);
    }
    // The agent's inboxes in the query, so a page holds `limit` calls they may see.
    if let InboxVisibility::Only(ids) = scope.inboxes() {
        q.push(" AND k.inbox_id IN ").bind_list(ids);
    }
    q.push(" ORDER BY k.started_at DESC, k.id DESC LIMIT ")
        .bind(limit);
    let rows = q.build().fetch_all(conn).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        out.push((row_call(r)?, r.opt_int("conversation_display_id")?));
    }
    Ok(out)
}

/// Calls the scope sees that started in `[since, until)` (ms), of one inbox or all, for the
/// calls report; at most `limit` (the report says when it was cut).
pub async fn started_between(
    conn: &mut Conn,
    scope: &AccountScope,
    since: i64,
    until: i64,
    inbox_id: Option<i64>,
    limit: i64,
) -> Result<Vec<Call>> {
    let mut q = SqlBuilder::new(&format!("SELECT {COLUMNS} FROM calls WHERE account_id = "));
    q.bind(scope.account_id());
    q.push(" AND started_at >= ").bind(since);
    q.push(" AND started_at < ").bind(until);
    if let Some(id) = inbox_id {
        q.push(" AND inbox_id = ").bind(id);
    }
    if let InboxVisibility::Only(ids) = scope.inboxes() {
        q.push(" AND inbox_id IN ").bind_list(ids);
    }
    q.push(" ORDER BY started_at, id LIMIT ").bind(limit);
    let rows = q.build().fetch_all(conn).await?;
    rows.iter().map(row_call).collect()
}

/// The caller entered the queue (the first look at it; later ones keep the first time).
pub async fn queued(conn: &mut Conn, scope: &AccountScope, id: i64, at: i64) -> Result<()> {
    sqlx::query(
        "UPDATE calls SET queued_at = $3, updated_at = $3 \
         WHERE account_id = $1 AND id = $2 AND queued_at IS NULL",
    )
    .bind(scope.account_id())
    .bind(id)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Where an agent's leg of a call is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LegState {
    /// The agent's phone rings (or the provider is being asked to ring it).
    Ringing,
    /// The agent took the call.
    Accepted,
    /// The agent's part of the call is over.
    Done,
    /// Not answered, busy, declined or not taken in time.
    Missed,
    /// The provider could not ring the phone.
    Failed,
}

impl LegState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ringing => "ringing",
            Self::Accepted => "accepted",
            Self::Done => "done",
            Self::Missed => "missed",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Ringing,
            Self::Accepted,
            Self::Done,
            Self::Missed,
            Self::Failed,
        ]
        .into_iter()
        .find(|l| l.as_str() == s)
    }
}

/// One agent rung for a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leg {
    pub id: i64,
    pub call_id: i64,
    pub agent_id: Option<i64>,
    /// The provider's id of the agent's call, once it took it.
    pub provider_id: Option<String>,
    pub state: LegState,
    pub started_at: i64,
    pub ended_at: Option<i64>,
}

const LEG_COLUMNS: &str = "id, call_id, agent_id, provider_id, state, started_at, ended_at";

fn row_leg(row: &sqlx::any::AnyRow) -> Result<Leg> {
    Ok(Leg {
        id: row.int("id")?,
        call_id: row.int("call_id")?,
        agent_id: row.opt_int("agent_id")?,
        provider_id: row.opt_text("provider_id")?,
        state: row.parsed("state", LegState::parse)?,
        started_at: row.int("started_at")?,
        ended_at: row.opt_int("ended_at")?,
    })
}

/// Every leg of a call, oldest first.
pub async fn legs(conn: &mut Conn, scope: &AccountScope, call_id: i64) -> Result<Vec<Leg>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {LEG_COLUMNS} FROM call_legs WHERE account_id = $1 AND call_id = $2 ORDER BY id"
    )))
    .bind(scope.account_id())
    .bind(call_id)
    .fetch_all(conn)
    .await?;
    rows.iter().map(row_leg).collect()
}

/// The agents of the account whose phone rings for a call or who are on one: they are given
/// no other call.
pub async fn agents_on_calls(conn: &mut Conn, scope: &AccountScope) -> Result<Vec<i64>> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT DISTINCT agent_id FROM call_legs \
         WHERE account_id = $1 AND state IN ('ringing', 'accepted') AND agent_id IS NOT NULL",
    )
    .bind(scope.account_id())
    .fetch_all(conn)
    .await?;
    Ok(ids)
}

/// A ringing leg started before `before` whose provider never said how it ended counts as
/// missed, so a lost callback cannot hold a call (or its agent) forever.
pub async fn expire_ringing(
    conn: &mut Conn,
    scope: &AccountScope,
    call_id: i64,
    before: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE call_legs SET state = 'missed', ended_at = $4 \
         WHERE account_id = $1 AND call_id = $2 AND state = 'ringing' AND started_at < $3",
    )
    .bind(scope.account_id())
    .bind(call_id)
    .bind(before)
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// Starts ringing `agent_id` for the call: the new leg, or `None` when another leg of the call
/// rings already (two looks at the queue at once ring one agent).
pub async fn ring(
    conn: &mut Conn,
    scope: &AccountScope,
    call_id: i64,
    agent_id: i64,
    at: i64,
) -> Result<Option<Leg>> {
    let inserted = sqlx::query(
        "INSERT INTO call_legs (account_id, call_id, agent_id, state, started_at) \
         VALUES ($1, $2, $3, 'ringing', $4) ON CONFLICT DO NOTHING",
    )
    .bind(scope.account_id())
    .bind(call_id)
    .bind(agent_id)
    .bind(at)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Ok(None);
    }
    ringing_leg(conn, scope, call_id).await
}

/// The leg of the call ringing now.
pub async fn ringing_leg(
    conn: &mut Conn,
    scope: &AccountScope,
    call_id: i64,
) -> Result<Option<Leg>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {LEG_COLUMNS} FROM call_legs \
         WHERE account_id = $1 AND call_id = $2 AND state = 'ringing'"
    )))
    .bind(scope.account_id())
    .bind(call_id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(row_leg).transpose()
}

/// The leg of the call the provider knows as `provider_id`.
pub async fn leg_by_provider(
    conn: &mut Conn,
    scope: &AccountScope,
    call_id: i64,
    provider_id: &str,
) -> Result<Option<Leg>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {LEG_COLUMNS} FROM call_legs \
         WHERE account_id = $1 AND call_id = $2 AND provider_id = $3"
    )))
    .bind(scope.account_id())
    .bind(call_id)
    .bind(provider_id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(row_leg).transpose()
}

/// The provider took the leg on under `provider_id`.
pub async fn leg_placed(
    conn: &mut Conn,
    scope: &AccountScope,
    leg_id: i64,
    provider_id: &str,
) -> Result<()> {
    sqlx::query("UPDATE call_legs SET provider_id = $3 WHERE account_id = $1 AND id = $2")
        .bind(scope.account_id())
        .bind(leg_id)
        .bind(provider_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Moves a leg on from `from` (`false` when it had moved already: a repeated or late report).
pub async fn move_leg(
    conn: &mut Conn,
    scope: &AccountScope,
    leg_id: i64,
    from: &[LegState],
    to: LegState,
) -> Result<bool> {
    let mut q = SqlBuilder::new("UPDATE call_legs SET state = ");
    q.bind(to.as_str());
    if to != LegState::Accepted {
        q.push(", ended_at = ").bind(now_ms());
    }
    q.push(" WHERE account_id = ").bind(scope.account_id());
    q.push(" AND id = ").bind(leg_id);
    let from: Vec<String> = from.iter().map(|s| s.as_str().to_owned()).collect();
    q.push(" AND state IN ").bind_list(&from);
    Ok(q.build().execute(conn).await?.rows_affected() == 1)
}

/// The agent took the call: theirs, answered now — unless it ended or someone took it first.
pub async fn answered_by(
    conn: &mut Conn,
    scope: &AccountScope,
    call_id: i64,
    agent_id: i64,
    at: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE calls SET agent_id = $3, answered_at = $4, updated_at = $4 \
         WHERE account_id = $1 AND id = $2 AND answered_at IS NULL AND ended_at IS NULL",
    )
    .bind(scope.account_id())
    .bind(call_id)
    .bind(agent_id)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The call is over: a leg still ringing was missed, the agent's part is done. The agents'
/// legs that went missing (the provider's report lost) free them too.
pub async fn end_legs(conn: &mut Conn, scope: &AccountScope, call_id: i64) -> Result<()> {
    let now = now_ms();
    for (from, to) in [("ringing", "missed"), ("accepted", "done")] {
        sqlx::query(
            "UPDATE call_legs SET state = $4, ended_at = $5 \
             WHERE account_id = $1 AND call_id = $2 AND state = $3",
        )
        .bind(scope.account_id())
        .bind(call_id)
        .bind(from)
        .bind(to)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The caller asked (in the IVR) to be called back instead of waiting.
pub async fn callback_asked(conn: &mut Conn, scope: &AccountScope, id: i64, at: i64) -> Result<()> {
    sqlx::query(
        "UPDATE calls SET callback_requested_at = $3, updated_at = $3 \
         WHERE account_id = $1 AND id = $2 AND callback_requested_at IS NULL",
    )
    .bind(scope.account_id())
    .bind(id)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The agent who places an outbound call (theirs from the start).
pub async fn set_agent(
    conn: &mut Conn,
    scope: &AccountScope,
    id: i64,
    agent_id: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE calls SET agent_id = $3, updated_at = $4 WHERE account_id = $1 AND id = $2",
    )
    .bind(scope.account_id())
    .bind(id)
    .bind(agent_id)
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// The customer picked up an outbound call at `at` (once: a repeated report changes nothing).
pub async fn customer_answered(
    conn: &mut Conn,
    scope: &AccountScope,
    id: i64,
    at: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE calls SET answered_at = $3, updated_at = $4 \
         WHERE account_id = $1 AND id = $2 AND answered_at IS NULL",
    )
    .bind(scope.account_id())
    .bind(id)
    .bind(at)
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// The agent's wrap-up of a call: its disposition and notes (`None` clears), by whom and when.
pub async fn wrap_up(
    conn: &mut Conn,
    scope: &AccountScope,
    id: i64,
    by: i64,
    disposition: Option<&str>,
    notes: Option<&str>,
    at: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE calls SET disposition = $3, wrap_up_notes = $4, wrapped_up_by = $5, \
           wrapped_up_at = $6, updated_at = $6 WHERE account_id = $1 AND id = $2",
    )
    .bind(scope.account_id())
    .bind(id)
    .bind(disposition)
    .bind(notes)
    .bind(by)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The provider recorded the call: where its recording is (a repeated report changes nothing).
pub async fn recorded(
    conn: &mut Conn,
    scope: &AccountScope,
    id: i64,
    provider_id: &str,
    url: &str,
    seconds: Option<i64>,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE calls SET recording_provider_id = $3, recording_url = $4, recording_seconds = $5, \
           updated_at = $6 WHERE account_id = $1 AND id = $2 AND recording_provider_id IS NULL",
    )
    .bind(scope.account_id())
    .bind(id)
    .bind(provider_id)
    .bind(url)
    .bind(seconds)
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Our copy of the call's recording is stored under `blob`; `false` when another copy was
/// kept first (two plays fetched it at once).
pub async fn recording_kept(
    conn: &mut Conn,
    scope: &AccountScope,
    id: i64,
    blob: &str,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE calls SET recording_blob = $3 \
         WHERE account_id = $1 AND id = $2 AND recording_blob IS NULL",
    )
    .bind(scope.account_id())
    .bind(id)
    .bind(blob)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A call from the website widget as it starts ringing.
#[derive(Clone, Debug)]
pub struct NewWebCall<'a> {
    pub inbox_id: i64,
    pub conversation_id: i64,
    pub contact_id: i64,
    pub medium: Medium,
    /// Our own id for it (there is no provider).
    pub provider_id: &'a str,
    /// The visitor's name, and the inbox's, as the timeline shows the two ends.
    pub from: &'a str,
    pub to: &'a str,
}

/// Records a call from the widget, waiting for an agent from now; `None` when the visitor is
/// in a call from the widget already (one at a time, kept by a unique index, so two tabs or
/// two clicks cannot both ring).
pub async fn start_web(
    conn: &mut Conn,
    scope: &AccountScope,
    new: &NewWebCall<'_>,
) -> Result<Option<Call>> {
    if !scope.sees_inbox(new.inbox_id) || !new.medium.is_web() {
        return Err(StoreError::NotFound);
    }
    let now = now_ms();
    let inserted = sqlx::query(
        "INSERT INTO calls (account_id, inbox_id, conversation_id, contact_id, provider_id, \
           direction, medium, from_address, to_address, state, started_at, queued_at, \
           created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 'inbound', $6, $7, $8, 'ringing', $9, $9, $9, $9) \
         ON CONFLICT DO NOTHING",
    )
    .bind(scope.account_id())
    .bind(new.inbox_id)
    .bind(new.conversation_id)
    .bind(new.contact_id)
    .bind(new.provider_id)
    .bind(new.medium.as_str())
    .bind(new.from)
    .bind(new.to)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Ok(None);
    }
    by_provider(conn, scope, new.inbox_id, new.provider_id).await
}

/// A call of the account by our id, if the scope sees its inbox.
pub async fn get(conn: &mut Conn, scope: &AccountScope, id: i64) -> Result<Call> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM calls WHERE account_id = $1 AND id = $2"
    )))
    .bind(scope.account_id())
    .bind(id)
    .fetch_optional(conn)
    .await?;
    let call = row.as_ref().map(row_call).transpose()?;
    call.filter(|c| scope.sees_inbox(c.inbox_id))
        .ok_or(StoreError::NotFound)
}

/// The contact's call from the widget that has not ended.
pub async fn live_web_call(
    conn: &mut Conn,
    scope: &AccountScope,
    contact_id: i64,
) -> Result<Option<Call>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM calls WHERE account_id = $1 AND contact_id = $2 \
           AND medium <> 'phone' AND ended_at IS NULL"
    )))
    .bind(scope.account_id())
    .bind(contact_id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(row_call).transpose()
}

/// The calls from the widget the agent talks on now.
pub async fn live_web_calls_of_agent(
    conn: &mut Conn,
    scope: &AccountScope,
    agent_id: i64,
) -> Result<Vec<Call>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM calls WHERE account_id = $1 AND agent_id = $2 \
           AND medium <> 'phone' AND ended_at IS NULL"
    )))
    .bind(scope.account_id())
    .bind(agent_id)
    .fetch_all(conn)
    .await?;
    rows.iter().map(row_call).collect()
}

/// The agent took a call from the widget: theirs and talking from `at` — unless it ended or
/// someone took it first.
pub async fn web_answered(
    conn: &mut Conn,
    scope: &AccountScope,
    id: i64,
    agent_id: i64,
    at: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE calls SET agent_id = $3, answered_at = $4, state = 'in_progress', updated_at = $4 \
         WHERE account_id = $1 AND id = $2 AND medium <> 'phone' \
           AND answered_at IS NULL AND ended_at IS NULL",
    )
    .bind(scope.account_id())
    .bind(id)
    .bind(agent_id)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A call from the widget ended at `at` as `outcome` (its talk time counted from the answer),
/// its legs with it; `false` when it had ended already (both ends hung up at once).
pub async fn end_web(
    conn: &mut Conn,
    scope: &AccountScope,
    call: &Call,
    outcome: Outcome,
    at: i64,
) -> Result<bool> {
    let duration = call.answered_at.map(|a| ((at - a) / 1000).max(0));
    let done = sqlx::query(
        "UPDATE calls SET state = 'completed', ended_at = $3, outcome = $4, \
           duration_seconds = $5, updated_at = $3 \
         WHERE account_id = $1 AND id = $2 AND medium <> 'phone' AND ended_at IS NULL",
    )
    .bind(scope.account_id())
    .bind(call.id)
    .bind(at)
    .bind(outcome.as_str())
    .bind(duration)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if done {
        end_legs(conn, scope, call.id).await?;
    }
    Ok(done)
}

/// A customer waiting to be called back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallbackRequest {
    pub id: i64,
    pub account_id: i64,
    /// The phone line the call is placed from.
    pub inbox_id: i64,
    pub contact_id: Option<i64>,
    pub conversation_id: Option<i64>,
    pub conversation_display_id: Option<i64>,
    /// E.164.
    pub phone: String,
    pub source: CallbackSource,
    pub note: Option<String>,
    /// When the customer would like the call.
    pub preferred_at: Option<i64>,
    pub state: CallbackState,
    /// When they asked (a caller from the queue keeps their place: when they joined it).
    pub requested_at: i64,
    pub created_by: Option<i64>,
    /// The call they asked from (the IVR's).
    pub from_call_id: Option<i64>,
    /// The call an agent placed for it.
    pub call_id: Option<i64>,
    pub updated_at: i64,
}

/// With the conversation's display id, which is what clients name it by.
const CALLBACK_COLUMNS: &str = "id, account_id, inbox_id, contact_id, conversation_id, phone, \
     source, note, preferred_at, state, requested_at, created_by, from_call_id, call_id, \
     updated_at, (SELECT v.display_id FROM conversations v \
       WHERE v.id = callback_requests.conversation_id) AS conversation_display_id";

/// `SELECT … FROM callback_requests` of the scope's account, ready for more conditions.
fn select_callbacks(scope: &AccountScope) -> SqlBuilder {
    let mut q = SqlBuilder::new(&format!(
        "SELECT {CALLBACK_COLUMNS} FROM callback_requests WHERE account_id = "
    ));
    q.bind(scope.account_id());
    q
}

fn row_callback(row: &sqlx::any::AnyRow) -> Result<CallbackRequest> {
    Ok(CallbackRequest {
        id: row.int("id")?,
        account_id: row.int("account_id")?,
        inbox_id: row.int("inbox_id")?,
        contact_id: row.opt_int("contact_id")?,
        conversation_id: row.opt_int("conversation_id")?,
        conversation_display_id: row.opt_int("conversation_display_id")?,
        phone: row.text("phone")?,
        source: row.parsed("source", CallbackSource::parse)?,
        note: row.opt_text("note")?,
        preferred_at: row.opt_int("preferred_at")?,
        state: row.parsed("state", CallbackState::parse)?,
        requested_at: row.int("requested_at")?,
        created_by: row.opt_int("created_by")?,
        from_call_id: row.opt_int("from_call_id")?,
        call_id: row.opt_int("call_id")?,
        updated_at: row.int("updated_at")?,
    })
}

/// A request to be called back, as it is made.
#[derive(Clone, Debug)]
pub struct NewCallback<'a> {
    pub inbox_id: i64,
    pub contact_id: Option<i64>,
    pub conversation_id: Option<i64>,
    pub phone: &'a str,
    pub source: CallbackSource,
    pub note: Option<&'a str>,
    pub preferred_at: Option<i64>,
    pub requested_at: i64,
    pub created_by: Option<i64>,
    pub from_call_id: Option<i64>,
}

/// Records a callback request (waiting), or finds the one already waiting for that customer.
pub async fn request_callback(
    conn: &mut Conn,
    scope: &AccountScope,
    new: &NewCallback<'_>,
) -> Result<CallbackRequest> {
    if !scope.sees_inbox(new.inbox_id) {
        return Err(StoreError::NotFound);
    }
    // One waiting request per caller is enough: asked again (from the same call, or for a
    // customer already waiting), the first stands.
    let mut q = select_callbacks(scope);
    match (new.from_call_id, new.contact_id) {
        (Some(from), _) => {
            q.push(" AND from_call_id = ").bind(from);
        }
        (None, Some(contact)) => {
            q.push(" AND state = 'waiting' AND contact_id = ")
                .bind(contact);
        }
        (None, None) => {
            q.push(" AND state = 'waiting' AND contact_id IS NULL AND phone = ")
                .bind(new.phone.to_owned());
        }
    }
    if let Some(existing) = q.build().fetch_optional(&mut *conn).await? {
        return row_callback(&existing);
    }
    let now = now_ms();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO callback_requests (account_id, inbox_id, contact_id, conversation_id, phone, \
           source, note, preferred_at, state, requested_at, created_by, from_call_id, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'waiting', $9, $10, $11, $12) RETURNING id",
    )
    .bind(scope.account_id())
    .bind(new.inbox_id)
    .bind(new.contact_id)
    .bind(new.conversation_id)
    .bind(new.phone)
    .bind(new.source.as_str())
    .bind(new.note)
    .bind(new.preferred_at)
    .bind(new.requested_at)
    .bind(new.created_by)
    .bind(new.from_call_id)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    callback(conn, scope, id).await
}

/// One callback request the scope sees.
pub async fn callback(conn: &mut Conn, scope: &AccountScope, id: i64) -> Result<CallbackRequest> {
    let mut q = select_callbacks(scope);
    q.push(" AND id = ").bind(id);
    if let InboxVisibility::Only(ids) = scope.inboxes() {
        q.push(" AND inbox_id IN ").bind_list(ids);
    }
    let row = q.build().fetch_optional(conn).await?;
    row.as_ref()
        .map(row_callback)
        .transpose()?
        .ok_or(StoreError::NotFound)
}

/// Callback requests the scope sees (in `state` when given): the waiting in the order they
/// are due (the time the customer asked for, else when they asked), others newest first.
pub async fn callbacks(
    conn: &mut Conn,
    scope: &AccountScope,
    state: Option<CallbackState>,
    limit: i64,
) -> Result<Vec<CallbackRequest>> {
    let mut q = select_callbacks(scope);
    if let Some(s) = state {
        q.push(" AND state = ").bind(s.as_str());
    }
    if let InboxVisibility::Only(ids) = scope.inboxes() {
        q.push(" AND inbox_id IN ").bind_list(ids);
    }
    q.push(
        " ORDER BY CASE WHEN state = 'waiting' THEN 0 ELSE 1 END, \
         CASE WHEN state = 'waiting' THEN COALESCE(preferred_at, requested_at) ELSE -updated_at END, \
         id LIMIT ",
    )
    .bind(limit);
    let rows = q.build().fetch_all(conn).await?;
    rows.iter().map(row_callback).collect()
}

/// Moves a waiting request to `to` (with the call placed for it): `false` when it was not
/// waiting any more (two agents clicking at once call once).
pub async fn settle_callback(
    conn: &mut Conn,
    scope: &AccountScope,
    id: i64,
    to: CallbackState,
    call_id: Option<i64>,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE callback_requests SET state = $3, call_id = COALESCE($4, call_id), updated_at = $5 \
         WHERE account_id = $1 AND id = $2 AND state = 'waiting'",
    )
    .bind(scope.account_id())
    .bind(id)
    .bind(to.as_str())
    .bind(call_id)
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The call an agent placed for a callback request they claimed.
pub async fn callback_placed(
    conn: &mut Conn,
    scope: &AccountScope,
    id: i64,
    call_id: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE callback_requests SET call_id = $3, updated_at = $4 WHERE account_id = $1 AND id = $2",
    )
    .bind(scope.account_id())
    .bind(id)
    .bind(call_id)
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// A claimed request whose call could not be placed waits again.
pub async fn reopen_callback(conn: &mut Conn, scope: &AccountScope, id: i64) -> Result<()> {
    sqlx::query(
        "UPDATE callback_requests SET state = 'waiting', updated_at = $3 \
         WHERE account_id = $1 AND id = $2 AND state = 'called' AND call_id IS NULL",
    )
    .bind(scope.account_id())
    .bind(id)
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(())
}
