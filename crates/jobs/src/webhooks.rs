//! Fan-out of outbox events to account webhooks and API-inbox callbacks.
//!
//! For each batch, one transaction writes a delivery row per (target, event) and moves the
//! durable cursor. A crash before the commit redoes the batch; a crash after it finds the rows
//! written. The unique (target, event) key makes a redo harmless. Each event therefore gets
//! exactly one delivery id per target, and receivers deduplicate on it.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;

use serde_json::Value;
use throughline_channels::registry;
use throughline_core::event::{EventKind, StoredEvent};
use throughline_core::model::{AgentBot, Inbox, Webhook};
use throughline_core::webhook;
use throughline_store::outbox::{self, Cursor};
use throughline_store::webhooks::{self as hooks, NewDelivery, Target};
use throughline_store::{AccountScope, Store, StoreError, auth, inboxes};
use tokio::sync::{Notify, watch};

use crate::JobsConfig;
use crate::consumer::{Batch, CursorSaves, run_lazily};

pub const WEBHOOK_CONSUMER: &str = "webhooks";

pub(crate) async fn run(
    store: Store,
    config: JobsConfig,
    deliveries_ready: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
) {
    let poll = config.poll_interval;
    let handle = store.clone();
    run_lazily(
        &store,
        WEBHOOK_CONSUMER,
        poll,
        &mut shutdown,
        |batch, saves| {
            let (store, deliveries_ready) = (handle.clone(), deliveries_ready.clone());
            Box::pin(async move {
                fan_out(&store, batch, saves).await?;
                deliveries_ready.notify_one();
                Ok(())
            })
        },
    )
    .await;
}

/// The body receivers get: the event's snapshot plus `event`, without internal keys.
pub(crate) fn webhook_body(event: &StoredEvent) -> String {
    body_named(event, event.kind.as_str())
}

/// The event's snapshot under the name `name` (an agent bot hears a status change as
/// `conversation_opened` or `conversation_resolved`).
fn body_named(event: &StoredEvent, name: &str) -> String {
    let mut body = event.payload.clone();
    if let Value::Object(map) = &mut body {
        map.remove("view");
        throughline_core::event::strip_internal_keys(map);
        map.insert("event".into(), Value::String(name.into()));
    }
    body.to_string()
}

/// Activity lines are not sent (Chatwoot's `webhook_sendable?`).
fn sendable(event: &StoredEvent) -> bool {
    event.kind.is_webhook_event()
        && !(matches!(
            event.kind,
            EventKind::MessageCreated | EventKind::MessageUpdated
        ) && event.payload["message_type"] == "activity")
}

/// A delivery a batch asks for, decided on a reader before the write transaction.
struct Planned {
    account_id: i64,
    target: Target,
    event_id: i64,
    event_name: &'static str,
    url: String,
    /// Shared by every delivery of one event (rendered once, only when one is wanted).
    payload: std::sync::Arc<String>,
}

async fn fan_out(store: &Store, batch: &Batch, saves: &mut CursorSaves) -> Result<(), StoreError> {
    let last = batch.last;
    let planned = {
        let mut conn = store.read().await?;
        plan(&mut conn, store, &batch.events).await?
    };
    if planned.is_empty() && !saves.due(last) {
        return Ok(());
    }
    let mut tx = store.begin().await?;
    for p in &planned {
        hooks::enqueue(
            tx.conn(),
            NewDelivery {
                account_id: p.account_id,
                target: p.target.clone(),
                event_id: p.event_id,
                event_name: p.event_name,
                url: &p.url,
                payload: &p.payload,
            },
        )
        .await?;
    }
    outbox::save_cursor(tx.conn(), WEBHOOK_CONSUMER, last).await?;
    tx.commit().await?;
    saves.saved_now(last);
    Ok(())
}

/// The account webhooks and channel deliveries each event of the batch asks for.
async fn plan(
    conn: &mut throughline_store::Conn,
    store: &Store,
    batch: &[(Cursor, StoredEvent)],
) -> Result<Vec<Planned>, StoreError> {
    let mut hooks_by_account: HashMap<i64, Vec<Webhook>> = HashMap::new();
    let mut inbox_cache: HashMap<i64, Option<Inbox>> = HashMap::new();
    let mut bot_cache: HashMap<i64, Option<AgentBot>> = HashMap::new();
    let mut planned = Vec::new();
    for (_, event) in batch {
        if !sendable(event) {
            continue;
        }
        let mut body: Option<std::sync::Arc<String>> = None;
        let mut body_of = |event: &StoredEvent| {
            body.get_or_insert_with(|| std::sync::Arc::new(webhook_body(event)))
                .clone()
        };
        if let Entry::Vacant(slot) = hooks_by_account.entry(event.account_id) {
            slot.insert(hooks::for_account(&mut *conn, store.key(), event.account_id).await?);
        }
        let event_name = event.kind.as_str();
        for hook in hooks_by_account
            .get(&event.account_id)
            .into_iter()
            .flatten()
        {
            let subscribed = hook.subscriptions.iter().any(|s| s == event_name);
            let inbox_matches = hook.inbox_id.is_none() || hook.inbox_id == event.inbox_id;
            if subscribed && inbox_matches {
                planned.push(Planned {
                    account_id: event.account_id,
                    target: Target::Webhook(hook.id),
                    event_id: event.id,
                    event_name,
                    url: hook.url.clone(),
                    payload: body_of(event),
                });
            }
        }
        let Some(inbox_id) = event.inbox_id else {
            continue;
        };
        if let Entry::Vacant(slot) = inbox_cache.entry(inbox_id) {
            let scope = AccountScope::system(event.account_id);
            slot.insert(
                match inboxes::get(&mut *conn, store.key(), &scope, inbox_id).await {
                    Ok(i) => Some(i),
                    Err(StoreError::NotFound) => None,
                    Err(e) => return Err(e),
                },
            );
        }
        // What the inbox's channel sends for it: an API inbox's callback, an email.
        if let Some(Some(inbox)) = inbox_cache.get(&inbox_id)
            && let Some(delivery) = registry::delivery_for(inbox, event)
        {
            planned.push(Planned {
                account_id: event.account_id,
                target: Target::ApiInbox {
                    inbox_id,
                    message_id: delivery.message_id,
                },
                event_id: event.id,
                event_name,
                url: delivery.target.clone(),
                payload: body_of(event),
            });
        }
        // The inbox's agent bot, at its outgoing_url.
        let Some(bot_event) = webhook::agent_bot_event(event.kind, &event.payload) else {
            continue;
        };
        if let Entry::Vacant(slot) = bot_cache.entry(inbox_id) {
            let scope = AccountScope::system(event.account_id);
            slot.insert(
                match auth::inbox_agent_bot(&mut *conn, &scope, inbox_id).await {
                    Ok(bot) => bot,
                    Err(StoreError::NotFound) => None,
                    Err(e) => return Err(e),
                },
            );
        }
        if let Some(Some(bot)) = bot_cache.get(&inbox_id)
            && let Some(url) = &bot.outgoing_url
        {
            let payload = if bot_event == event_name {
                body_of(event)
            } else {
                std::sync::Arc::new(body_named(event, bot_event))
            };
            planned.push(Planned {
                account_id: event.account_id,
                target: Target::AgentBot {
                    bot_id: bot.id,
                    inbox_id,
                },
                event_id: event.id,
                event_name: bot_event,
                url: url.clone(),
                payload,
            });
        }
    }
    Ok(planned)
}
