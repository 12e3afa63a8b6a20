//! What Throughline does on its own for each outbox event, besides the account's rules:
//! the inbox's automatic replies, the FAQ bot's answers, the satisfaction survey after resolution (and a reply that
//! answers it), the SLA clocks, the agents' notifications, and a voicemail queued for its
//! transcript. Run by the automation consumer in its batch transaction.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use throughline_core::crypto::ServerKey;
use throughline_core::event::{EventKind, StoredEvent};
use throughline_core::model::Inbox;
use throughline_store::{AccountScope, Conn, Found, StoreError, Tx, conversations, inboxes};

use crate::sla::AccountPolicies;

type Result<T> = std::result::Result<T, StoreError>;

/// What one batch has read already.
#[derive(Default)]
pub struct BatchCache {
    policies: HashMap<i64, AccountPolicies>,
    inboxes: HashMap<i64, Option<Inbox>>,
    /// Accounts with an active journey campaign that sends surveys (their replies are read).
    survey_campaigns: HashMap<i64, bool>,
    /// Inboxes whose agent bot is the built-in FAQ bot.
    faq_bots: HashMap<i64, bool>,
    notifications: crate::notifications::Cache,
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
    if crate::notifications::may_notify(tx.conn(), &mut cache.notifications, event).await? {
        tx.savepoint(NOTIFICATIONS).await?;
        let outcome = crate::notifications::on_event(tx, &mut cache.notifications, event).await;
        close(tx, NOTIFICATIONS, event, outcome).await?;
    }
    let key = tx.store().key().clone();
    if let Some(voicemail) = transcription(tx.conn(), &key, cache, event).await? {
        tx.savepoint(TRANSCRIPTION).await?;
        let outcome = crate::transcription::queue(tx, &voicemail).await;
        close(tx, TRANSCRIPTION, event, outcome).await?;
    }
    let Some(decision) = decide(tx.conn(), &key, cache, event).await? else {
        return Ok(());
    };
    tx.savepoint(SAVEPOINT).await?;
    let outcome = match decision {
        Decision::Journey => crate::journeys::on_business_event(tx, event).await,
        Decision::Conversation {
            conversation_id,
            reading_replies,
            resolved,
            measured,
        } => {
            let scope = AccountScope::system(event.account_id);
            let work = Work {
                scope: &scope,
                conversation_id,
                reading_replies: reading_replies
                    .as_ref()
                    .map(|(i, surveys)| (&**i, *surveys)),
                resolved,
                policies: cache.policies.get(&event.account_id).filter(|_| measured),
            };
            work.run(tx, event).await
        }
    };
    close(tx, SAVEPOINT, event, outcome).await
}

/// Whether anything here may be done for `event`, decided on any connection (a reader, before
/// the consumer takes the writer for a batch that needs nothing).
pub async fn may_act(
    conn: &mut Conn,
    key: &ServerKey,
    cache: &mut BatchCache,
    event: &StoredEvent,
) -> Result<bool> {
    Ok(
        crate::notifications::may_notify(conn, &mut cache.notifications, event).await?
            || transcription(conn, key, cache, event).await?.is_some()
            || decide(conn, key, cache, event).await?.is_some(),
    )
}

/// What an event asks for.
enum Decision {
    /// A business event, for the journey campaigns.
    Journey,
    Conversation {
        conversation_id: i64,
        /// The inbox the customer wrote through, and whether a reply may answer a survey.
        reading_replies: Option<(Box<Inbox>, bool)>,
        resolved: bool,
        /// The account has SLA policies (in the cache).
        measured: bool,
    },
}

/// Decides from what is cached (reading into the cache what it lacks) whether anything here
/// needs the conversation: most events of most accounts need nothing.
async fn decide(
    conn: &mut Conn,
    key: &ServerKey,
    cache: &mut BatchCache,
    event: &StoredEvent,
) -> Result<Option<Decision>> {
    if !concerns(event.kind) {
        return Ok(None);
    }
    if event.kind == EventKind::BusinessEventCreated {
        return Ok(Some(Decision::Journey));
    }
    let Some(conversation_id) = event.conversation_id else {
        return Ok(None);
    };
    let scope = AccountScope::system(event.account_id);
    let customer_inbox = match event.inbox_id {
        Some(id) if crate::auto_replies::is_customer_message(event) => {
            inbox(conn, key, cache, &scope, id).await?
        }
        _ => None,
    };
    let surveys_by_campaign = match cache.survey_campaigns.entry(event.account_id) {
        Entry::Occupied(known) => *known.get(),
        Entry::Vacant(slot) => *slot.insert(
            throughline_store::journeys::list(&mut *conn, &scope)
                .await?
                .iter()
                .any(|c| c.active && c.rules["kind"] == "survey"),
        ),
    };
    let answers_surveys = |i: &Inbox| surveys_by_campaign || crate::surveys::survey_of(i).is_some();
    let faq_bot = match &customer_inbox {
        Some(i) => match cache.faq_bots.entry(i.id) {
            Entry::Occupied(known) => *known.get(),
            Entry::Vacant(slot) => {
                *slot.insert(crate::faq_bot::of_inbox(&mut *conn, i).await?.is_some())
            }
        },
        None => false,
    };
    let replies = customer_inbox
        .as_ref()
        .is_some_and(|i| crate::auto_replies::may_reply(i) || answers_surveys(i) || faq_bot);
    let resolved = crate::surveys::is_resolution(event);
    let policies = match cache.policies.entry(event.account_id) {
        Entry::Occupied(known) => known.into_mut(),
        Entry::Vacant(slot) => slot.insert(AccountPolicies::load(conn, event.account_id).await?),
    };
    let measured = !policies.policies.is_empty();
    if !replies && !resolved && !measured {
        return Ok(None);
    }
    let reading_replies = customer_inbox.filter(|_| replies).map(|i| {
        let surveys = answers_surveys(&i);
        (Box::new(i), surveys)
    });
    Ok(Some(Decision::Conversation {
        conversation_id,
        reading_replies,
        resolved,
        measured,
    }))
}

const SAVEPOINT: &str = "touchpoints";
const NOTIFICATIONS: &str = "notifications";
const TRANSCRIPTION: &str = "transcription";

/// The transcript a voicemail's event asks for, if the account's assistant makes one.
async fn transcription(
    conn: &mut Conn,
    key: &ServerKey,
    cache: &mut BatchCache,
    event: &StoredEvent,
) -> Result<Option<crate::transcription::Queued>> {
    if !crate::transcription::is_voicemail(event) {
        return Ok(None);
    }
    let Some(inbox_id) = event.inbox_id else {
        return Ok(None);
    };
    let scope = AccountScope::system(event.account_id);
    match inbox(conn, key, cache, &scope, inbox_id).await? {
        Some(inbox) => crate::transcription::wanted(conn, key, &inbox, event).await,
        None => Ok(None),
    }
}

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
            crate::faq_bot::on_customer_message(tx, inbox, &conversation, event).await?;
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
async fn close(
    tx: &mut Tx,
    savepoint: &'static str,
    event: &StoredEvent,
    outcome: Result<()>,
) -> Result<()> {
    match outcome {
        Ok(()) => tx.release(savepoint).await,
        Err(e @ (StoreError::Unavailable(_) | StoreError::Other(_))) => Err(e),
        Err(e) => {
            tracing::warn!(event = event.id, step = savepoint, error = %e, "a built-in step skipped this event");
            tx.roll_back_to(savepoint).await?;
            tx.release(savepoint).await
        }
    }
}

async fn inbox(
    conn: &mut Conn,
    key: &ServerKey,
    cache: &mut BatchCache,
    scope: &AccountScope,
    id: i64,
) -> Result<Option<Inbox>> {
    if let Entry::Vacant(slot) = cache.inboxes.entry(id) {
        slot.insert(inboxes::get(conn, key, scope, id).await.found()?);
    }
    Ok(cache.inboxes.get(&id).cloned().flatten())
}
