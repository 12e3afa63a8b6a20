//! Automation rules and the built-in touchpoints (automatic replies, surveys, SLA clocks),
//! fed by the outbox; the timer for delayed rules and for SLA warnings and breaches.
//!
//! Each batch of events is one transaction: the rules' actions, their log lines and the
//! durable cursor commit together. A crash before the commit redoes the batch from the old
//! cursor with nothing done; after it, the batch is never seen again. Either way each rule acts
//! once per event. Two processes reading the same batch are kept apart by the log line's
//! unique (rule, event) key: the second one's actions are rolled back (`service::automation`).

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::time::Duration;

use throughline_core::event::StoredEvent;
use throughline_service::automation::{self as engine, AccountRules};
use throughline_service::touchpoints;
use throughline_store::automation as store_rules;
use throughline_store::journeys as store_journeys;
use throughline_store::outbox::{self, Cursor};
use throughline_store::sla as store_sla;
use throughline_store::{Store, StoreError, now_ms};
use tokio::sync::watch;

use crate::JobsConfig;
use crate::consumer::{Batch, CursorSaves, run_lazily};

pub const AUTOMATION_CONSUMER: &str = "automation";

/// How long the log keeps what rules did.
const LOG_RETENTION_MS: i64 = 30 * 24 * 3_600_000;
/// Delayed runs settled per pass.
const DUE_BATCH: i64 = 50;

pub(crate) async fn run(store: Store, config: JobsConfig, mut shutdown: watch::Receiver<bool>) {
    let poll = config.poll_interval;
    let handle = store.clone();
    run_lazily(
        &store,
        AUTOMATION_CONSUMER,
        poll,
        &mut shutdown,
        |batch, saves| {
            let store = handle.clone();
            Box::pin(async move { apply(&store, batch, saves).await })
        },
    )
    .await;
}

async fn apply(store: &Store, batch: &Batch, saves: &mut CursorSaves) -> Result<(), StoreError> {
    let last = batch.last;
    // Most batches ask nothing of rules or touchpoints: decided on a reader, they leave
    // SQLite's one writer to the ingest path (and only move the cursor now and then).
    if !may_act(store, &batch.events).await? {
        if saves.due(last) {
            saves.save(store, last).await?;
        }
        return Ok(());
    }
    let mut tx = store.begin().await?;
    let mark = tx.write_mark().await?;
    let mut accounts: HashMap<i64, AccountRules> = HashMap::new();
    let mut cache = touchpoints::BatchCache::default();
    for (_, event) in &batch.events {
        touchpoints::on_event(&mut tx, &mut cache, event).await?;
        let rules = match accounts.entry(event.account_id) {
            Entry::Occupied(known) => known.into_mut(),
            Entry::Vacant(slot) => {
                slot.insert(AccountRules::load(tx.conn(), event.account_id).await?)
            }
        };
        engine::on_event(&mut tx, rules, event).await?;
    }
    // A batch that changed nothing leaves its cursor for later (see `CursorSaves`): its COMMIT
    // then writes nothing, and SQLite's writer is not held for an fsync.
    if tx.written_since(mark).await? || saves.due(last) {
        outbox::save_cursor(tx.conn(), AUTOMATION_CONSUMER, last).await?;
        tx.commit().await?;
        saves.saved_now(last);
    } else {
        tx.commit().await?;
    }
    Ok(())
}

/// Whether any event of the batch may set off a rule or a touchpoint (on a reader; the write
/// transaction decides again with what it reads there).
async fn may_act(store: &Store, events: &[(Cursor, StoredEvent)]) -> Result<bool, StoreError> {
    let mut conn = store.read().await?;
    let mut accounts: HashMap<i64, AccountRules> = HashMap::new();
    let mut cache = touchpoints::BatchCache::default();
    for (_, event) in events {
        if touchpoints::may_act(&mut conn, store.key(), &mut cache, event).await? {
            return Ok(true);
        }
        let rules = match accounts.entry(event.account_id) {
            Entry::Occupied(known) => known.into_mut(),
            Entry::Vacant(slot) => {
                slot.insert(AccountRules::load(&mut conn, event.account_id).await?)
            }
        };
        if engine::may_act(rules, event) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Settles delayed runs as they come due, and forgets old log lines.
pub(crate) async fn run_timer(
    store: Store,
    config: JobsConfig,
    mut shutdown: watch::Receiver<bool>,
) {
    let idle = (config.poll_interval * 20).max(Duration::from_secs(1));
    let mut ticks = store.outbox_signal();
    let mut last_prune: Option<tokio::time::Instant> = None;
    loop {
        if last_prune.is_none_or(|t| t.elapsed() >= Duration::from_secs(3_600)) {
            last_prune = Some(tokio::time::Instant::now());
            if let Err(e) = prune(&store).await {
                tracing::warn!(error = %e, "could not prune the automation log");
            }
        }
        let rules_next = settle_due(&store).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "delayed automation failed; retrying");
            None
        });
        let sla_next = raise_sla_due(&store).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "SLA alerts failed; retrying");
            None
        });
        let journeys_next = send_journeys_due(&store).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "journey campaigns failed; retrying");
            None
        });
        let wait = match rules_next
            .into_iter()
            .chain(sla_next)
            .chain(journeys_next)
            .min()
        {
            Some(next) => {
                Duration::from_millis(u64::try_from((next - now_ms()).max(10)).unwrap_or(10))
                    .min(idle)
            }
            None => idle,
        };
        // A commit may have started a clock due sooner (a new SLA): look again then.
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = ticks.changed() => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
    }
}

async fn prune(store: &Store) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    store_rules::prune_runs(tx.conn(), now_ms() - LOG_RETENTION_MS).await?;
    tx.commit().await
}

/// Settles what is due; returns when the next delayed run is due.
async fn settle_due(store: &Store) -> Result<Option<i64>, StoreError> {
    let due = {
        let mut conn = store.read().await?;
        store_rules::due_runs(&mut conn, now_ms(), DUE_BATCH).await?
    };
    for run in due {
        let mut tx = store.begin().await?;
        engine::settle_due(&mut tx, &run).await?;
        tx.commit().await?;
    }
    let mut conn = store.read().await?;
    store_rules::next_due(&mut conn).await
}

/// Raises the SLA warnings and breaches that are due, one conversation per transaction;
/// returns when the next one is due.
async fn raise_sla_due(store: &Store) -> Result<Option<i64>, StoreError> {
    let now = now_ms();
    let due = {
        let mut conn = store.read().await?;
        store_sla::due(&mut conn, now, DUE_BATCH).await?
    };
    for applied in due {
        let Some(at) = applied.next_check_at else {
            continue;
        };
        let done = async {
            let mut tx = store.begin().await?;
            // Another process may have raised it already: the claim finds out.
            if store_sla::claim_due(tx.conn(), applied.id, at).await?
                && let Some(current) =
                    store_sla::applied_to(tx.conn(), applied.conversation_id).await?
            {
                throughline_service::sla::raise_due(&mut tx, &current, now).await?;
                tx.commit().await?;
            }
            Ok::<_, StoreError>(())
        }
        .await;
        if let Err(e) = done {
            if unreachable(&e) {
                return Err(e);
            }
            // Something about this one conversation: look again later, not at once forever.
            tracing::warn!(applied_sla = applied.id, error = %e, "SLA alert failed; retried in 5 minutes");
            let mut tx = store.begin().await?;
            store_sla::postpone(tx.conn(), applied.id, now + RETRY_LATER_MS).await?;
            tx.commit().await?;
        }
    }
    let mut conn = store.read().await?;
    store_sla::next_due(&mut conn).await
}

/// A row that failed for its own reasons is looked at again this much later.
const RETRY_LATER_MS: i64 = 5 * 60_000;

/// The database itself failed (not one row's data): stop, and try everything again later.
fn unreachable(e: &StoreError) -> bool {
    matches!(e, StoreError::Unavailable(_) | StoreError::Other(_))
}

/// Sends (or skips, cancels, postpones) the journey campaign sends that are due, one per
/// transaction; returns when the next one is due.
async fn send_journeys_due(store: &Store) -> Result<Option<i64>, StoreError> {
    let now = now_ms();
    let due = {
        let mut conn = store.read().await?;
        store_journeys::due(&mut conn, now, DUE_BATCH).await?
    };
    for send in due {
        let done = async {
            let mut tx = store.begin().await?;
            // Another process may have taken it: the claim finds out.
            if store_journeys::claim(tx.conn(), &send).await? {
                throughline_service::journeys::settle(&mut tx, &send, now).await?;
                tx.commit().await?;
            }
            Ok::<_, StoreError>(())
        }
        .await;
        if let Err(e) = done {
            if unreachable(&e) {
                return Err(e);
            }
            tracing::warn!(send = send.id, error = %e, "journey send failed; retried in 5 minutes");
            let mut tx = store.begin().await?;
            let why = format!("retrying after an error: {e}");
            store_journeys::settle(
                tx.conn(),
                send.id,
                store_journeys::Settled::Postponed(now + RETRY_LATER_MS, &why),
            )
            .await?;
            tx.commit().await?;
        }
    }
    let mut conn = store.read().await?;
    store_journeys::next_due(&mut conn).await
}
