//! Calls from the website widget at work: a visitor's call is recorded on their conversation
//! and rings one agent's app at a time, chosen by the routing rules as a phone call is (the
//! same legs, so an agent on a phone call is not rung for a web call and the other way round);
//! an agent who declines or lets it ring out passes it to the next; nobody free ends it missed.
//! The agent who accepts takes the call and, when nobody had it, the conversation. Either end
//! hangs up; the record keeps who talked, how long, and how it ended.
//!
//! What the parties are told (ringing, taken, over) is the HTTP layer's to send: these
//! functions say what happened.

use std::collections::HashSet;

use throughline_core::voice::call::Call;
use throughline_core::voice::web_call::{self, EndedBy, Medium};
use throughline_store::calls::{self, LegState, NewWebCall};
use throughline_store::{AccountScope, Store, StoreError};

use crate::routing;
use crate::voice::{Presence, in_queue};

type Result<T> = std::result::Result<T, StoreError>;

/// A visitor's call as it starts.
pub struct Dial<'a> {
    pub inbox_id: i64,
    pub conversation_id: i64,
    pub contact_id: i64,
    pub medium: Medium,
    pub visitor_name: &'a str,
    pub inbox_name: &'a str,
}

/// The visitor starts a call: recorded, waiting for an agent. A call of theirs from the widget
/// still open (a tab closed mid-call, a reload) ends first, so it never blocks the new one;
/// it is returned as it ended, so its agent can be told.
pub async fn start(
    store: &Store,
    account_id: i64,
    dial: &Dial<'_>,
    now: i64,
) -> Result<(Call, Option<Call>)> {
    let scope = AccountScope::system(account_id);
    let provider_id = format!("web-{}", throughline_core::crypto::random_token(16));
    let new = NewWebCall {
        inbox_id: dial.inbox_id,
        conversation_id: dial.conversation_id,
        contact_id: dial.contact_id,
        medium: dial.medium,
        provider_id: &provider_id,
        from: dial.visitor_name,
        to: dial.inbox_name,
    };
    let mut tx = store.begin().await?;
    let mut replaced = None;
    if let Some(old) = calls::live_web_call(tx.conn(), &scope, dial.contact_id).await? {
        let outcome = web_call::web_outcome(old.answered_at.is_some(), EndedBy::Lost);
        calls::end_web(tx.conn(), &scope, &old, outcome, now).await?;
        replaced = Some(calls::get(tx.conn(), &scope, old.id).await?);
    }
    let call = calls::start_web(tx.conn(), &scope, &new)
        .await?
        // The old call ended in this transaction: only a call started meanwhile by another
        // tab of the visitor can hold the place, and that one is theirs to use.
        .ok_or(StoreError::Conflict {
            field: "call".into(),
        })?;
    tx.commit().await?;
    Ok((call, replaced))
}

/// What a look for an agent did.
#[derive(Clone, Debug, PartialEq)]
pub enum WebRing {
    /// This agent's app rings now (leg `leg_id`).
    Rang { agent_id: i64, leg_id: i64 },
    /// An agent's app rings for it already.
    AlreadyRinging,
    /// Nobody free: the call ended, missed.
    NobodyFree(Box<Call>),
    /// The call was answered or ended meanwhile.
    Over,
}

/// Rings the next agent for a web call, under the account's routing lock: one the routing
/// rules choose among `reachable` (their app is open), not rung for it before, not ringing or
/// talking on another call. With nobody left the call ends, missed.
pub async fn ring_next(
    store: &Store,
    call_id: i64,
    account_id: i64,
    presence: &Presence,
    reachable: &HashSet<i64>,
    now: i64,
) -> Result<WebRing> {
    let scope = AccountScope::system(account_id);
    let mut tx = store.begin().await?;
    throughline_store::routing::lock_account(&mut tx, account_id).await?;
    let call = calls::get(tx.conn(), &scope, call_id).await?;
    if call.ended_at.is_some() || call.answered_at.is_some() {
        return Ok(WebRing::Over);
    }
    if calls::ringing_leg(tx.conn(), &scope, call.id)
        .await?
        .is_some()
    {
        return Ok(WebRing::AlreadyRinging);
    }
    let mut waiting = in_queue(&call);
    waiting.skip = calls::legs(tx.conn(), &scope, call.id)
        .await?
        .iter()
        .filter_map(|l| l.agent_id)
        .collect();
    waiting.on_calls = calls::agents_on_calls(tx.conn(), &scope).await?;
    let chosen =
        routing::choose_for_call(&mut tx, account_id, presence, &waiting, reachable, now).await?;
    let ring = match chosen {
        Some(decision) => match calls::ring(tx.conn(), &scope, call.id, decision.agent, now).await?
        {
            Some(leg) => WebRing::Rang {
                agent_id: decision.agent,
                leg_id: leg.id,
            },
            None => WebRing::AlreadyRinging,
        },
        None => {
            let outcome = web_call::web_outcome(false, EndedBy::NobodyAnswered);
            calls::end_web(tx.conn(), &scope, &call, outcome, now).await?;
            let ended = calls::get(tx.conn(), &scope, call.id).await?;
            WebRing::NobodyFree(Box::new(ended))
        }
    };
    tx.commit().await?;
    Ok(ring)
}

/// Why an agent could not take a web call.
#[derive(Debug, thiserror::Error)]
pub enum TakeError {
    #[error("this call is not ringing for you")]
    NotRinging,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The agent accepts the web call ringing in their app: theirs, talking from now, and the
/// visitor's conversation with it when nobody had it.
pub async fn accept(
    store: &Store,
    scope: &AccountScope,
    call_id: i64,
    agent_id: i64,
    now: i64,
) -> std::result::Result<Call, TakeError> {
    let mut tx = store.begin().await?;
    let call = calls::get(tx.conn(), scope, call_id).await?;
    let system = AccountScope::system(call.account_id);
    let leg = calls::ringing_leg(tx.conn(), &system, call.id)
        .await?
        .filter(|l| call.medium.is_web() && l.agent_id == Some(agent_id))
        .ok_or(TakeError::NotRinging)?;
    if !calls::web_answered(tx.conn(), &system, call.id, agent_id, now).await? {
        return Err(TakeError::NotRinging);
    }
    crate::voice::leg_taken(&mut tx, &system, &call, leg.id, agent_id).await?;
    let call = calls::get(tx.conn(), &system, call.id).await?;
    tx.commit().await?;
    tracing::info!(
        call_id = call.id,
        agent_id,
        "an agent took a call from the widget"
    );
    Ok(call)
}

/// The agent's app stops ringing for the call without taking it (declined, or rang out when
/// `leg_id` names the leg that timed out): the leg is missed. `true` when it was still ringing
/// (the next agent is to be rung).
pub async fn pass(
    store: &Store,
    account_id: i64,
    call_id: i64,
    agent_id: i64,
    leg_id: Option<i64>,
) -> Result<bool> {
    let scope = AccountScope::system(account_id);
    let mut tx = store.begin().await?;
    let Some(leg) = calls::ringing_leg(tx.conn(), &scope, call_id)
        .await?
        .filter(|l| l.agent_id == Some(agent_id) && leg_id.is_none_or(|id| id == l.id))
    else {
        return Ok(false);
    };
    let moved = calls::move_leg(
        tx.conn(),
        &scope,
        leg.id,
        &[LegState::Ringing],
        LegState::Missed,
    )
    .await?;
    tx.commit().await?;
    Ok(moved)
}

/// A web call hung up by `by`: ended now unless it had ended. Returns the call as it ended and
/// the agent whose app was still ringing for it, or `None` when it was over already.
pub async fn hang_up(
    store: &Store,
    call: &Call,
    by: EndedBy,
    now: i64,
) -> Result<Option<(Call, Option<i64>)>> {
    let scope = AccountScope::system(call.account_id);
    let mut tx = store.begin().await?;
    let ringing = calls::ringing_leg(tx.conn(), &scope, call.id)
        .await?
        .and_then(|l| l.agent_id);
    // The stored call: its answer time may be newer than the caller's copy.
    let current = calls::get(tx.conn(), &scope, call.id).await?;
    let outcome = web_call::web_outcome(current.answered_at.is_some(), by);
    if !calls::end_web(tx.conn(), &scope, &current, outcome, now).await? {
        return Ok(None);
    }
    let ended = calls::get(tx.conn(), &scope, call.id).await?;
    tx.commit().await?;
    Ok(Some((ended, ringing)))
}

/// The web calls a party that went away (its last tab closed and did not come back) was in:
/// the visitor's open call, or the agent's answered ones in the account.
pub async fn left_behind(store: &Store, account_id: i64, party: Party) -> Result<Vec<Call>> {
    let scope = AccountScope::system(account_id);
    let mut conn = store.read().await?;
    match party {
        Party::Visitor { contact_id } => Ok(calls::live_web_call(&mut conn, &scope, contact_id)
            .await?
            .into_iter()
            .collect()),
        Party::Agent { user_id } => {
            calls::live_web_calls_of_agent(&mut conn, &scope, user_id).await
        }
    }
}

/// One end of a web call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Party {
    Visitor { contact_id: i64 },
    Agent { user_id: i64 },
}

impl Party {
    /// Whether this party is one of the call's ends: its visitor (the call's contact), or the
    /// agent who took it. An agent whose app only rings is not a party yet.
    pub fn is_in(self, call: &Call) -> bool {
        call.medium.is_web()
            && call.ended_at.is_none()
            && match self {
                Self::Visitor { contact_id } => call.contact_id == Some(contact_id),
                Self::Agent { user_id } => call.agent_id == Some(user_id),
            }
    }
}
