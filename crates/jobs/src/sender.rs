//! Sends due deliveries, records every attempt, retries with back-off.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use throughline_channels::registry::Clients;
use throughline_channels::{PostOutcome, SignedPost};
use throughline_core::message::DeliveryStatus;
use throughline_core::model::Delivery;
use throughline_core::webhook::{Outcome, RetryPolicy, agent_bot_secret, judge_agent_bot_status};
use throughline_service::outbound::{self, Dispatched};
use throughline_store::blob::BlobStore;
use throughline_store::webhooks as hooks;
use throughline_store::{AccountScope, Store, StoreError, auth, conversations, messages, now_ms};
use tokio::sync::{Notify, Semaphore, watch};

use crate::JobsConfig;

/// Deliveries this sender has open, by id and by target.
#[derive(Default)]
struct InFlight {
    deliveries: HashSet<String>,
    per_url: HashMap<String, usize>,
}

impl InFlight {
    fn busy(&self, per_target: usize) -> hooks::Busy {
        hooks::Busy {
            deliveries: self.deliveries.iter().cloned().collect(),
            urls: self
                .per_url
                .iter()
                .filter(|(_, n)| **n >= per_target)
                .map(|(u, _)| u.clone())
                .collect(),
        }
    }

    fn start(&mut self, d: &Delivery) {
        self.deliveries.insert(d.id.clone());
        *self.per_url.entry(d.url.clone()).or_default() += 1;
    }

    fn finish(&mut self, d: &Delivery) {
        self.deliveries.remove(&d.id);
        if let Some(n) = self.per_url.get_mut(&d.url) {
            *n -= 1;
            if *n == 0 {
                self.per_url.remove(&d.url);
            }
        }
    }
}

pub(crate) async fn run(
    store: Store,
    blobs: Arc<dyn BlobStore>,
    clients: Clients,
    config: JobsConfig,
    ready: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
) {
    let slots = config.sender_concurrency.max(1);
    // A quarter of the slots per receiver: a dead one hangs at most that many.
    let per_target = (slots / 4).max(1);
    let permits = Arc::new(Semaphore::new(slots));
    let in_flight = Arc::new(Mutex::new(InFlight::default()));
    loop {
        if *shutdown.borrow() {
            break;
        }
        let busy = lock(&in_flight).busy(per_target);
        let claimed = match claim(&store, slots, config.delivery_lease_ms, &busy).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "cannot claim deliveries");
                if crate::sleep_or_shutdown(Duration::from_secs(1), &mut shutdown).await {
                    break;
                }
                continue;
            }
        };
        if claimed.is_empty() {
            let wait = match next_due(&store, &busy).await {
                Some(at) => {
                    Duration::from_millis(u64::try_from((at - now_ms()).max(0)).unwrap_or(0))
                }
                None => config.poll_interval * 8,
            }
            .min(config.poll_interval * 8);
            tokio::select! {
                _ = ready.notified() => {}
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => break,
            }
            continue;
        }
        for delivery in claimed {
            let Ok(permit) = permits.clone().acquire_owned().await else {
                break;
            };
            lock(&in_flight).start(&delivery);
            let store = store.clone();
            let clients = clients.clone();
            let blobs = blobs.clone();
            let retry = config.retry;
            let ready = ready.clone();
            let in_flight = in_flight.clone();
            tokio::spawn(async move {
                attempt(&store, blobs.as_ref(), &clients, retry, &delivery).await;
                lock(&in_flight).finish(&delivery);
                drop(permit);
                // A retry may now be due sooner than the sender planned to wake.
                ready.notify_one();
            });
        }
        // Wait for a free slot before claiming more, so claims never outrun sending.
        if let Ok(p) = permits.clone().acquire_owned().await {
            drop(p);
        }
    }
    // Let in-flight sends finish their bookkeeping.
    let _ = tokio::time::timeout(
        Duration::from_secs(15),
        permits.acquire_many(u32::try_from(slots).unwrap_or(1)),
    )
    .await;
}

fn lock(m: &Mutex<InFlight>) -> std::sync::MutexGuard<'_, InFlight> {
    // The bookkeeping stays consistent even if a sending task panicked while holding it.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn claim(
    store: &Store,
    limit: usize,
    lease_ms: i64,
    busy: &hooks::Busy,
) -> Result<Vec<Delivery>, StoreError> {
    let mut tx = store.begin().await?;
    let claimed = hooks::claim_due(
        tx.conn(),
        now_ms(),
        lease_ms,
        i64::try_from(limit).unwrap_or(16),
        busy,
    )
    .await?;
    tx.commit().await?;
    Ok(claimed)
}

async fn next_due(store: &Store, busy: &hooks::Busy) -> Option<i64> {
    let mut conn = store.read().await.ok()?;
    hooks::next_due_at(&mut conn, busy).await.ok().flatten()
}

fn seed(id: &str) -> u64 {
    id.bytes().fold(1469598103934665603u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(1099511628211)
    })
}

async fn attempt(
    store: &Store,
    blobs: &dyn BlobStore,
    clients: &Clients,
    retry: throughline_core::webhook::RetryPolicy,
    d: &Delivery,
) {
    let sent = send(store, blobs, clients, d).await;
    let target = match (d.webhook_id, d.inbox_id, d.agent_bot_id) {
        (Some(_), _, _) => "webhook",
        (None, _, Some(_)) => "agent_bot",
        (None, None, None) => "automation",
        (None, Some(_), None) => "channel",
    };
    let retry = if d.agent_bot_id.is_some() {
        RetryPolicy::agent_bot()
    } else {
        retry
    };
    let result = if sent.outcome.outcome == Outcome::Delivered {
        "delivered"
    } else {
        "failed"
    };
    metrics::counter!("throughline_delivery_attempts_total", "target" => target, "result" => result)
        .increment(1);
    match record(store, retry, d, sent).await {
        Ok(true) => {
            metrics::counter!("throughline_deliveries_failed_total", "target" => target)
                .increment(1);
        }
        Ok(false) => {}
        // The lease runs out and the delivery is tried again: at-least-once.
        Err(e) => {
            tracing::warn!(delivery = %d.id, error = %e, "could not record a delivery attempt");
        }
    }
}

/// An account webhook is a signed POST; anything else is its inbox's channel's to send.
async fn send(store: &Store, blobs: &dyn BlobStore, clients: &Clients, d: &Delivery) -> Dispatched {
    if let Some(bot_id) = d.agent_bot_id {
        return agent_bot_post(store, clients, d, bot_id).await;
    }
    let Some(webhook_id) = d.webhook_id else {
        if d.inbox_id.is_none() {
            return automation_post(clients, d).await;
        }
        return outbound::dispatch(store, blobs, clients, d).await;
    };
    let scope = AccountScope::system(d.account_id);
    let hook = {
        let mut conn = match store.read().await {
            Ok(c) => c,
            Err(e) => return unsent(Outcome::Retry, e.to_string()),
        };
        match hooks::get(&mut conn, store.key(), &scope, webhook_id).await {
            Ok(h) => h,
            Err(StoreError::NotFound) => {
                return unsent(Outcome::GiveUp, "the webhook was deleted".into());
            }
            Err(e) => return unsent(Outcome::Retry, e.to_string()),
        }
    };
    let outcome = clients
        .http
        .post(SignedPost {
            url: &d.url,
            body: d.payload.as_bytes(),
            secret: Some(&hook.secret),
            // Chatwoot signs account webhooks with the webhook's own secret, as we do.
            chatwoot_secret: Some(&hook.secret),
            event: &d.event_name,
            delivery_id: &d.id,
            event_id: Some(d.event_id),
            timestamp_secs: now_ms() / 1000,
        })
        .await;
    Dispatched {
        outcome,
        failure_note: None,
    }
}

/// An event for an agent bot: signed with the bot's own secret, as Chatwoot 4.13 signs them.
/// A refusal other than "busy" or "failing" is final (see [`judge_agent_bot_status`]).
async fn agent_bot_post(store: &Store, clients: &Clients, d: &Delivery, bot_id: i64) -> Dispatched {
    let bot = {
        let mut conn = match store.read().await {
            Ok(c) => c,
            Err(e) => return unsent(Outcome::Retry, e.to_string()),
        };
        match auth::get_agent_bot_unscoped(&mut conn, bot_id).await {
            Ok(b) => b,
            Err(StoreError::NotFound) => {
                return unsent(Outcome::GiveUp, "the agent bot was deleted".into());
            }
            Err(e) => return unsent(Outcome::Retry, e.to_string()),
        }
    };
    let secret = agent_bot_secret(store.key(), bot.id, bot.created_at);
    let mut outcome = clients
        .http
        .post(SignedPost {
            url: &d.url,
            body: d.payload.as_bytes(),
            secret: Some(&secret),
            chatwoot_secret: Some(&secret),
            event: &d.event_name,
            delivery_id: &d.id,
            event_id: Some(d.event_id),
            timestamp_secs: now_ms() / 1000,
        })
        .await;
    if let Some(status) = outcome.status {
        outcome.outcome = judge_agent_bot_status(status);
    }
    Dispatched {
        outcome,
        failure_note: None,
    }
}

/// An automation rule's or macro's `send_webhook_event`: the URL the rule names, unsigned as
/// in Chatwoot (a rule has no secret), with the delivery id receivers deduplicate on.
async fn automation_post(clients: &Clients, d: &Delivery) -> Dispatched {
    let outcome = clients
        .http
        .post(SignedPost {
            url: &d.url,
            body: d.payload.as_bytes(),
            secret: None,
            chatwoot_secret: None,
            event: &d.event_name,
            delivery_id: &d.id,
            event_id: Some(d.event_id),
            timestamp_secs: now_ms() / 1000,
        })
        .await;
    Dispatched {
        outcome,
        failure_note: None,
    }
}

fn unsent(outcome: Outcome, error: String) -> Dispatched {
    Dispatched {
        outcome: PostOutcome {
            outcome,
            status: None,
            error: Some(error),
        },
        failure_note: None,
    }
}

async fn record(
    store: &Store,
    retry: throughline_core::webhook::RetryPolicy,
    d: &Delivery,
    sent: Dispatched,
) -> Result<bool, StoreError> {
    let out = sent.outcome;
    let mut tx = store.begin().await?;
    // True once the delivery has had its last attempt and failed.
    let mut gave_up = false;
    let status = out.status.map(i64::from);
    match out.outcome {
        Outcome::Delivered => {
            hooks::mark_delivered(tx.conn(), &d.id, status.unwrap_or(200)).await?
        }
        Outcome::Retry | Outcome::GiveUp => {
            let attempts = u32::try_from(d.attempts + 1).unwrap_or(u32::MAX);
            let next = if out.outcome == Outcome::Retry {
                retry
                    .next_delay(attempts, seed(&d.id))
                    .map(|delay| now_ms() + delay)
            } else {
                None
            };
            gave_up = next.is_none();
            let error = out.error.unwrap_or_else(|| "failed".into());
            hooks::mark_failed_attempt(tx.conn(), &d.id, status, &error, next).await?;
            if gave_up
                && let Some(bot_id) = d.agent_bot_id
                && d.event_name.starts_with("message_")
            {
                hand_over_from_silent_bot(&mut tx, d, bot_id).await?;
            }
            if next.is_none()
                && let Some(message_id) = d.message_id
            {
                // The channel never took the reply: show it failed on the message, in the
                // channel's words.
                let scope = AccountScope::system(d.account_id);
                let reason = sent.failure_note.unwrap_or_else(|| error.clone());
                match messages::record_delivery(
                    &mut tx,
                    &scope,
                    message_id,
                    DeliveryStatus::Failed,
                    Some(&reason),
                )
                .await
                {
                    Ok(_) | Err(StoreError::NotFound) => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }
    tx.commit().await?;
    Ok(gave_up)
}

/// A bot that could not be reached about a customer's message leaves the conversation it holds
/// (`pending`) to the team, as Chatwoot does: opened, with a line saying why, so routing gives
/// it to an agent instead of the customer waiting on a bot that will never answer.
async fn hand_over_from_silent_bot(
    tx: &mut throughline_store::Tx,
    d: &Delivery,
    bot_id: i64,
) -> Result<(), StoreError> {
    let payload: serde_json::Value = serde_json::from_str(&d.payload).unwrap_or_default();
    let Some(display_id) = payload["conversation"]["id"].as_i64() else {
        return Ok(());
    };
    let scope = AccountScope::agent_bot(d.account_id, bot_id);
    let conversation = match conversations::get(tx.conn(), &scope, display_id).await {
        Ok(c) => c,
        Err(StoreError::NotFound) => return Ok(()),
        Err(e) => return Err(e),
    };
    if conversation.status != throughline_core::conversation::Status::Pending {
        return Ok(());
    }
    let request = throughline_core::conversation::StatusRequest::Set {
        status: throughline_core::conversation::Status::Open,
        snoozed_until: None,
    };
    let (opened, _) = conversations::set_status(tx, &scope, &conversation, request).await?;
    messages::create_activity(
        tx,
        &scope,
        &opened,
        "The bot could not be reached, so the conversation was handed to the team".to_owned(),
        serde_json::json!({ "kind": "bot_unreachable", "agent_bot_id": bot_id }),
    )
    .await?;
    Ok(())
}
