//! What Throughline does on its own for each outbox event, besides the account's rules:
//! the inbox's automatic replies, the satisfaction survey after resolution (and a reply that
//! answers it), and the SLA clocks. Run by the automation consumer in its batch transaction.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use throughline_core::event::{EventKind, StoredEvent};
use throughline_core::model::Inbox;
use throughline_store::{AccountScope, Found, StoreError, Tx, conversations, inboxes};

use crate::sla::AccountPolicies;

type Result<T> = std::result::Result<T, StoreError>;

/// What one batch has read already.
#[derive(Default)]
pub struct BatchCache {
    policies: HashMap<i64, AccountPolicies>,
    inboxes: HashMap<i64, Option<Inbox>>,
    /// Accounts with an active journey campaign that sends surveys (their replies are read).
    survey_campaigns: HashMap<i64, bool>,
}

fn concerns(kind: EventKind) -> bool {
    matches!(
        kind,
        EventKind::MessageCreated
            | EventKind::BusinessEventCreated
            | EventKind::ConversationCreated
            | EventKind::ConversationUpdated
            | EventKind::ConversationStatusChanged
    )
}

pub async fn on_event(tx: &mut Tx, cache: &mut BatchCache, event: &StoredEvent) -> Result<()> {
    if !concerns(event.kind) {
        return Ok(());
    }
    if event.kind == EventKind::BusinessEventCreated {
        tx.savepoint(SAVEPOINT).await?;
        let outcome = crate::journeys::on_business_event(tx, event).await;
        return close(tx, event, outcome).await;
    }
    let Some(conversation_id) = event.conversation_id else {
        return Ok(());
    };
    // Decide from what is cached whether anything here needs the conversation: most events
    // of most accounts need nothing, and this runs inside the consumer's write transaction.
    let scope = AccountScope::system(event.account_id);
    let customer_inbox = match event.inbox_id {
        Some(id) if crate::auto_replies::is_customer_message(event) => {
            inbox(tx, cache, &scope, id).await?
        }
        _ => None,
    };
    let surveys_by_campaign = match cache.survey_campaigns.entry(event.account_id) {
        Entry::Occupied(known) => *known.get(),
        Entry::Vacant(slot) => *slot.insert(
            throughline_store::journeys::list(tx.conn(), &scope)
                .await?
                .iter()
                .any(|c| c.active && c.rules["kind"] == "survey"),
        ),
    };
    let answers_surveys = |i: &Inbox| surveys_by_campaign || crate::surveys::survey_of(i).is_some();
    let replies = customer_inbox
        .as_ref()
        .is_some_and(|i| crate::auto_replies::may_reply(i) || answers_surveys(i));
    let resolved = crate::surveys::is_resolution(event);
    let policies = match cache.policies.entry(event.account_id) {
        Entry::Occupied(known) => known.into_mut(),
        Entry::Vacant(slot) => slot.insert(AccountPolicies::load(tx, event.account_id).await?),
    };
    let measured = !policies.policies.is_empty();
    if !replies && !resolved && !measured {
        return Ok(());
    }
    let reading_replies = customer_inbox
        .as_ref()
        .filter(|_| replies)
        .map(|i| (i, answers_surveys(i)));
    let work = Work {
        scope: &scope,
        conversation_id,
        reading_replies,
        resolved,
        policies: measured.then_some(&*policies),
    };
    tx.savepoint(SAVEPOINT).await?;
    let outcome = work.run(tx, event).await;
    close(tx, event, outcome).await
}

const SAVEPOINT: &str = "touchpoints";

/// What one event needs done, decided from the batch's cache.
struct Work<'a> {
    scope: &'a AccountScope,
    conversation_id: i64,
    /// The inbox the customer wrote through, and whether a reply may answer a survey.
    reading_replies: Option<(&'a Inbox, bool)>,
    resolved: bool,
    policies: Option<&'a AccountPolicies>,
}

impl Work<'_> {
    async fn run(&self, tx: &mut Tx, event: &StoredEvent) -> Result<()> {
        let Some(conversation) =
            conversations::by_internal_id(tx.conn(), self.scope, self.conversation_id)
                .await
                .found()?
        else {
            return Ok(());
        };
        if let Some((inbox, surveys)) = self.reading_replies {
            crate::auto_replies::on_customer_message(tx, inbox, &conversation, event).await?;
            if surveys {
                crate::surveys::on_customer_message(tx, &conversation, event).await?;
            }
        }
        if self.resolved {
            crate::surveys::on_resolved(tx, &conversation, event).await?;
        }
        if let Some(policies) = self.policies {
            crate::sla::on_event(tx, policies, &conversation, event).await?;
        }
        Ok(())
    }
}

/// Ends the event's savepoint. A store that cannot be reached fails the batch (it is redone
/// from its cursor); any other failure (a record gone, data refused) is logged and undone for
/// this event only, so one bad event never holds back the automation behind it.
async fn close(tx: &mut Tx, event: &StoredEvent, outcome: Result<()>) -> Result<()> {
    match outcome {
        Ok(()) => tx.release(SAVEPOINT).await,
        Err(e @ (StoreError::Unavailable(_) | StoreError::Other(_))) => Err(e),
        Err(e) => {
            tracing::warn!(event = event.id, error = %e, "automatic replies, surveys or SLA skipped for this event");
            tx.roll_back_to(SAVEPOINT).await?;
            tx.release(SAVEPOINT).await
        }
    }
}

async fn inbox(
    tx: &mut Tx,
    cache: &mut BatchCache,
    scope: &AccountScope,
    id: i64,
) -> Result<Option<Inbox>> {
    if let Entry::Vacant(slot) = cache.inboxes.entry(id) {
        let key = tx.store().key().clone();
        slot.insert(inboxes::get(tx.conn(), &key, scope, id).await.found()?);
    }
    Ok(cache.inboxes.get(&id).cloned().flatten())
}
