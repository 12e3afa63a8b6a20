//! SLA policies at work: which policy a conversation gets (its inbox's or label's, or an
//! automation rule's `add_sla`), its clocks moved by what happens in the conversation, and
//! the warnings and breaches raised when they come due.
//!
//! The clocks are the core's (`core::sla`): this module reads the outbox event, turns it into
//! a `ConversationChange`, and saves the result in the caller's transaction — the automation
//! consumer's for events, the SLA timer's for alerts — so each change counts once.

use serde_json::Value;
use throughline_core::event::{EventKind, StoredEvent};
use throughline_core::hours::Schedule;
use throughline_core::model::{Conversation, Inbox};
use throughline_core::sla::{Alert, ConversationChange, Timers};
use throughline_store::sla::{self as store_sla, Applied, Policy};
use throughline_store::{AccountScope, Found, StoreError, Tx, conversations, inboxes};

type Result<T> = std::result::Result<T, StoreError>;

/// The schedule a policy counts in: the inbox's business hours, or every hour.
pub fn schedule_for(policy: &Policy, inbox: &Inbox) -> Schedule {
    if !policy.only_during_business_hours {
        return Schedule::always();
    }
    Schedule::from_settings(&inbox.settings).unwrap_or_else(|e| {
        tracing::warn!(inbox = inbox.id, error = %e, "business hours unreadable; SLA counts every hour");
        Schedule::always()
    })
}

async fn inbox_of(tx: &mut Tx, c: &Conversation) -> Result<Inbox> {
    let key = tx.store().key().clone();
    inboxes::get(
        tx.conn(),
        &key,
        &AccountScope::system(c.account_id),
        c.inbox_id,
    )
    .await
}

/// Applies `policy` to the conversation from `at` with fresh clocks (replacing another).
pub async fn apply(tx: &mut Tx, c: &Conversation, policy: &Policy, at: i64) -> Result<Applied> {
    let inbox = inbox_of(tx, c).await?;
    let schedule = schedule_for(policy, &inbox);
    let thresholds = policy.thresholds();
    let mut timers = Timers::start(at, &thresholds);
    // A conversation already answered has had its first response.
    if c.first_reply_created_at.is_some() {
        timers.apply(ConversationChange::AgentReply, at, &thresholds, &schedule);
    }
    let next = timers.next_check(&thresholds, &schedule);
    store_sla::apply(tx.conn(), c.account_id, c.id, policy.id, &timers, next).await
}

/// The account's policies, read once per batch.
pub struct AccountPolicies {
    pub policies: Vec<Policy>,
}

impl AccountPolicies {
    pub async fn load(conn: &mut throughline_store::Conn, account_id: i64) -> Result<Self> {
        let policies = store_sla::list(conn, &AccountScope::system(account_id)).await?;
        Ok(Self { policies })
    }

    fn for_inbox(&self, inbox_id: i64) -> Option<&Policy> {
        self.policies
            .iter()
            .find(|p| p.inbox_ids.contains(&inbox_id))
    }

    fn for_labels(&self, labels: &[String]) -> Option<&Policy> {
        self.policies.iter().find(|p| {
            p.labels
                .iter()
                .any(|l| labels.iter().any(|have| have.eq_ignore_ascii_case(l)))
        })
    }

    fn any_by_label(&self) -> bool {
        self.policies.iter().any(|p| !p.labels.is_empty())
    }
}

/// What an outbox event changes on the conversation's SLA clocks.
pub fn change_of(event: &StoredEvent) -> Option<ConversationChange> {
    let p = &event.payload;
    match event.kind {
        EventKind::MessageCreated => {
            if p["private"] == Value::Bool(true) {
                return None;
            }
            match p["message_type"].as_str() {
                Some("incoming") if !crate::auto_replies::is_automatic_email(p) => {
                    Some(ConversationChange::CustomerMessage)
                }
                // A person's reply counts; automatic ones (greetings, bots) do not.
                Some("outgoing") if p["view"]["sender_type"] == "User" => {
                    Some(ConversationChange::AgentReply)
                }
                _ => None,
            }
        }
        EventKind::ConversationStatusChanged => {
            let previous = p["changed_attributes"].as_array().and_then(|a| {
                a.iter()
                    .find_map(|c| c["status"]["previous_value"].as_str())
            });
            match (previous, p["status"].as_str()) {
                (_, Some("resolved")) => Some(ConversationChange::Resolved),
                (Some("resolved"), Some("open" | "pending" | "snoozed")) => {
                    Some(ConversationChange::Reopened)
                }
                (_, Some("pending" | "snoozed")) => Some(ConversationChange::WaitingOnCustomer),
                (_, Some("open")) => Some(ConversationChange::BackToAgent),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Moves the conversation's SLA for one outbox event, and applies an inbox's or label's
/// policy to a conversation that has none.
pub async fn on_event(
    tx: &mut Tx,
    policies: &AccountPolicies,
    conversation: &Conversation,
    event: &StoredEvent,
) -> Result<()> {
    let applied = store_sla::applied_to(tx.conn(), conversation.id).await?;
    let Some(applied) = applied else {
        if policies.policies.is_empty() {
            return Ok(());
        }
        let chosen = match event.kind {
            EventKind::ConversationCreated => policies.for_inbox(conversation.inbox_id),
            EventKind::ConversationUpdated if policies.any_by_label() => {
                let labels = conversations::labels_of(tx.conn(), conversation).await?;
                policies.for_labels(&labels)
            }
            _ => None,
        };
        if let Some(policy) = chosen {
            apply(tx, conversation, policy, event.created_at).await?;
        }
        return Ok(());
    };
    let Some(change) = change_of(event) else {
        return Ok(());
    };
    let Some(policy) = policies
        .policies
        .iter()
        .find(|p| p.id == applied.sla_policy_id)
    else {
        return Ok(());
    };
    let inbox = inbox_of(tx, conversation).await?;
    let schedule = schedule_for(policy, &inbox);
    let thresholds = policy.thresholds();
    let mut timers = applied.timers.clone();
    timers.apply(change, event.created_at, &thresholds, &schedule);
    if timers != applied.timers {
        let next = timers.next_check(&thresholds, &schedule);
        store_sla::save(tx.conn(), applied.id, &timers, next).await?;
    }
    Ok(())
}

/// Raises what is due on one applied policy at `now`: each warning and breach once, with
/// its event; saves the clocks and when to look again.
pub async fn raise_due(tx: &mut Tx, applied: &Applied, now: i64) -> Result<()> {
    let scope = AccountScope::system(applied.account_id);
    let Some(conversation) =
        conversations::by_internal_id(tx.conn(), &scope, applied.conversation_id)
            .await
            .found()?
    else {
        return Ok(());
    };
    let policy = store_sla::get(tx.conn(), &scope, applied.sla_policy_id).await?;
    let inbox = inbox_of(tx, &conversation).await?;
    let schedule = schedule_for(&policy, &inbox);
    let thresholds = policy.thresholds();
    let mut timers = applied.timers.clone();
    let due = timers.due_times(&thresholds, &schedule);
    for alert in timers.alerts_due(now, &thresholds, &schedule) {
        let (metric, breach) = match alert {
            Alert::Warning(m) => (m, false),
            Alert::Breach(m) => (m, true),
        };
        let due_at = due.iter().find(|(m, _)| *m == metric).map(|(_, at)| *at);
        store_sla::raise(tx, applied, &policy, &conversation, metric, breach, due_at).await?;
    }
    // Something due now that raised nothing would be looked at again at once, forever.
    let next = timers
        .next_check(&thresholds, &schedule)
        .map(|at| if at <= now { now + 60_000 } else { at });
    store_sla::save(tx.conn(), applied.id, &timers, next).await
}
