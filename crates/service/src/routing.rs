//! Auto-assignment: the account's waiting conversations go to its available agents, as the
//! core's router decides (`throughline_core::routing`), inside one transaction that holds the
//! account's routing lock.
//!
//! Who is available comes from the caller (the realtime hub knows who is connected and what
//! status each agent chose); everything else — queues, load, stickiness — is read under the
//! lock, so two deciders (two tasks, two processes) never assign one conversation twice or an
//! agent past capacity.

use std::collections::HashMap;

use throughline_core::Millis;
use throughline_core::routing::{
    self, Action, Agent, ChannelKind, Decision, Policy, Presence, QueueId, Reason, Snapshot,
    StickyAgent, WaitingItem, load_of,
};
use throughline_store::routing::{self as stored, Candidate, Waiting};
use throughline_store::{AccountScope, Store, conversations};

/// Assigns what can be assigned now in `account_id`, given the agents' presence there.
/// Returns the decisions it carried out.
pub async fn assign_waiting(
    store: &Store,
    account_id: i64,
    presence: &HashMap<i64, Presence>,
    now: Millis,
) -> throughline_store::Result<Vec<Decision>> {
    let available: Vec<i64> = presence
        .iter()
        .filter(|(_, p)| p.takes_new_work())
        .map(|(id, _)| *id)
        .collect();
    if available.is_empty() {
        return Ok(Vec::new());
    }
    // Most events leave nothing waiting (our own assignments among them): a read answers
    // that without taking the write lock, which on SQLite every ingest needs too.
    {
        let mut conn = store.read().await?;
        if !stored::anything_waiting(&mut conn, account_id).await? {
            return Ok(Vec::new());
        }
    }
    let mut tx = store.begin().await?;
    stored::lock_account(&mut tx, account_id).await?;
    let waiting = stored::waiting(&mut tx, account_id).await?;
    if waiting.is_empty() {
        return Ok(Vec::new());
    }
    let candidates = stored::candidates(&mut tx, account_id, &available).await?;
    let contacts: Vec<i64> = waiting.iter().map(|w| w.contact_id).collect();
    let helpers = stored::last_helpers(&mut tx, account_id, &contacts).await?;
    let policy = Policy::default();
    let snapshot = snapshot(&waiting, &candidates, &helpers, presence, &policy);
    let decisions = routing::decide(&snapshot, &policy, now);
    let scope = AccountScope::system(account_id);
    for d in &decisions {
        // Direct assignment only: offers need an answer the app does not ask for yet.
        if !matches!(d.action, Action::Assign) {
            continue;
        }
        let conversation = conversations::by_internal_id(tx.conn(), &scope, d.conversation).await?;
        let why = reason_words(&mut tx, &scope, &d.reason).await?;
        conversations::assign_because(
            &mut tx,
            &scope,
            &conversation,
            Some(Some(d.agent)),
            None,
            Some(conversations::AssignReason {
                code: d.reason.code(),
                words: &why,
            }),
        )
        .await?;
        tracing::info!(
            account_id,
            conversation = conversation.display_id,
            agent = d.agent,
            reason = %d.reason,
            "routed"
        );
    }
    tx.commit().await?;
    Ok(decisions)
}

/// The reason as the activity line says it, with names rather than ids.
async fn reason_words(
    tx: &mut throughline_store::Tx,
    scope: &AccountScope,
    reason: &Reason,
) -> throughline_store::Result<String> {
    Ok(match reason {
        Reason::Sticky { .. } => "the contact's previous agent".to_owned(),
        Reason::Skill { skill } => format!("skill {skill}"),
        Reason::Overflow { from, .. } => {
            format!("overflow from {}", queue_name(tx, scope, *from).await?)
        }
        Reason::LeastLoaded => "least loaded".to_owned(),
        Reason::LongestIdle => "longest idle".to_owned(),
        Reason::OnlyEligible => "the only available agent".to_owned(),
    })
}

async fn queue_name(
    tx: &mut throughline_store::Tx,
    scope: &AccountScope,
    queue: QueueId,
) -> throughline_store::Result<String> {
    Ok(match queue {
        QueueId::Team(id) => {
            throughline_store::teams::get(tx.conn(), scope, id)
                .await?
                .name
        }
        QueueId::Inbox(id) => {
            let store = tx.store().clone();
            throughline_store::inboxes::get(tx.conn(), store.key(), scope, id)
                .await?
                .name
        }
    })
}

/// The router's view: every waiting conversation in its queue (its team, else its inbox),
/// every available member with the queues of their inboxes and teams.
fn snapshot(
    waiting: &[Waiting],
    candidates: &[Candidate],
    helpers: &HashMap<i64, (i64, i64)>,
    presence: &HashMap<i64, Presence>,
    policy: &Policy,
) -> Snapshot {
    let agents = candidates
        .iter()
        .map(|c| {
            let mut agent = Agent::new(
                c.user_id,
                presence
                    .get(&c.user_id)
                    .copied()
                    .unwrap_or(Presence::Offline),
            );
            agent.queues = c
                .inboxes
                .iter()
                .map(|i| QueueId::Inbox(*i))
                .chain(c.teams.iter().map(|t| QueueId::Team(*t)))
                .collect();
            agent.load = load_of(
                c.assigned
                    .iter()
                    .map(|(channel, status)| (ChannelKind::of(*channel), *status)),
                [],
            );
            agent.idle_since = c.last_assigned_at;
            agent
        })
        .collect();
    let items = waiting
        .iter()
        .map(|w| {
            let queue = w.team_id.map_or(QueueId::Inbox(w.inbox_id), QueueId::Team);
            let mut item = WaitingItem::new(
                w.id,
                queue,
                ChannelKind::of(w.channel_type),
                w.waiting_since,
            );
            item.priority = w.priority;
            // A team's conversation goes only to team members who work its inbox: nobody
            // else may even see it.
            if w.team_id.is_some() {
                item.excluded = candidates
                    .iter()
                    .filter(|c| !c.inboxes.contains(&w.inbox_id))
                    .map(|c| c.user_id)
                    .collect();
            }
            item.sticky = helpers.get(&w.contact_id).map(|(agent, at)| StickyAgent {
                agent: *agent,
                until: policy.sticky_until(*at),
            });
            item
        })
        .collect();
    Snapshot {
        agents,
        waiting: items,
    }
}

/// An agent went offline (the hub's grace period passed): the live conversations where the
/// customer waits for them go back to the queue, each with its activity line and event, so
/// the next decision gives them to someone present. Returns how many.
pub async fn requeue_unanswered(
    store: &Store,
    account_id: i64,
    agent_id: i64,
) -> throughline_store::Result<usize> {
    let mut tx = store.begin().await?;
    stored::lock_account(&mut tx, account_id).await?;
    let ids = stored::unanswered_live(&mut tx, account_id, agent_id).await?;
    let scope = AccountScope::system(account_id);
    for id in &ids {
        let conversation = conversations::by_internal_id(tx.conn(), &scope, *id).await?;
        conversations::assign(&mut tx, &scope, &conversation, Some(None), None).await?;
    }
    tx.commit().await?;
    if !ids.is_empty() {
        tracing::info!(
            account_id,
            agent_id,
            count = ids.len(),
            "re-queued an offline agent's chats"
        );
    }
    Ok(ids.len())
}
