//! Event consumers fed by the transactional outbox, and timers.
//!
//! ```text
//!             commit ──► outbox_events ──┬──► realtime   (in-memory cursor from head) ──► Bus
//!                (tick)                  └──► webhooks   (durable cursor "webhooks")
//!                                              │ one tx: deliveries rows + cursor
//!                                              ▼
//!                                         deliveries ──► sender (claims due rows, POSTs,
//!                                                         retries with back-off)
//!             bus (events + presence) ──► routing: waiting conversations to available agents
//!             timers: snooze ends ──► status change (written like any other change)
//!                     contact exports to build, erased files to delete, retention policies
//!                     a customer's file still at the provider ──► downloaded, attached
//!                     a voicemail queued by automation ──► transcribed by the AI model
//!                     audit log entries past their account's retention ──► deleted
//!             commit ──► outbox_events ──► automation (durable cursor "automation")
//!                                              │ one tx: the rules' actions + log lines + cursor
//!                     delayed rules due ──► acted on if their conditions still hold
//!             housekeeping: outbox events every consumer passed, older than the resume
//!                     window, and finished deliveries past their retention ──► deleted
//!                     conversation tallies (per-tab counts) ──► folded, one row per key
//! ```
//! Every consumer resumes where it stopped after a crash: the realtime one because clients
//! resynchronise from the outbox by event id, the webhook one through its durable cursor, the
//! sender because a delivery is marked done only after the receiver answered 2xx.

mod assistant;
mod audit;
mod automation;
mod consumer;
mod digest;
mod housekeeping;
mod media;
mod privacy;
mod realtime;
mod routing;
mod sender;
mod snooze;
mod tallies;
mod webhooks;

use std::time::Duration;

use throughline_channels::registry::Clients;
use throughline_core::webhook::RetryPolicy;
use throughline_realtime::{Bus, Progress};
use throughline_store::Store;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

pub use automation::AUTOMATION_CONSUMER;
pub use webhooks::WEBHOOK_CONSUMER;

#[derive(Clone, Debug)]
pub struct JobsConfig {
    pub webhook_timeout: Duration,
    pub retry: RetryPolicy,
    /// Deliveries sent at the same time.
    pub sender_concurrency: usize,
    /// How often consumers look for events when no commit woke them (other instances' commits,
    /// PostgreSQL transactions that became visible late).
    pub poll_interval: Duration,
    /// How long a claimed delivery is reserved for the sender that claimed it; if that sender
    /// dies, the delivery is tried again after this.
    pub delivery_lease_ms: i64,
    /// Where the messaging providers' APIs are (channel deliveries).
    pub providers: throughline_channels::registry::ProviderEndpoints,
    /// The largest customer file downloaded from a provider, in bytes.
    pub media_limit: usize,
    /// Which addresses outbound HTTP may reach (webhooks, callbacks, provider files).
    pub outbound: throughline_channels::OutboundPolicy,
    /// How long events stay in the outbox after every consumer passed them: the realtime
    /// resume window (a client away longer refetches its lists).
    pub outbox_retention: Duration,
    /// How long finished deliveries stay in the webhooks' delivery log.
    pub delivery_retention: Duration,
    /// The notification digest, when the instance has system mail.
    pub digest: Option<throughline_service::digest::Digest>,
}

impl Default for JobsConfig {
    fn default() -> Self {
        Self {
            webhook_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            sender_concurrency: 16,
            poll_interval: Duration::from_millis(250),
            delivery_lease_ms: 120_000,
            providers: Default::default(),
            media_limit: 25 << 20,
            outbound: Default::default(),
            outbox_retention: Duration::from_secs(7 * 24 * 3_600),
            delivery_retention: Duration::from_secs(30 * 24 * 3_600),
            digest: None,
        }
    }
}

/// The running consumers.
pub struct Jobs {
    shutdown: watch::Sender<bool>,
    handles: Vec<JoinHandle<()>>,
}

impl Jobs {
    pub fn start(
        store: Store,
        blobs: std::sync::Arc<dyn throughline_store::blob::BlobStore>,
        bus: Bus,
        progress: Progress,
        config: JobsConfig,
    ) -> Result<Self, String> {
        let clients = Clients::new(
            config.webhook_timeout,
            config.providers.clone(),
            &config.outbound,
        )?;
        let (shutdown, rx) = watch::channel(false);
        let deliveries_ready = std::sync::Arc::new(Notify::new());
        // Subscribed before anything can connect, so no agent's arrival is missed.
        let routing_signals = bus.subscribe();
        /// A consumer runs as one stage of the server's profile (`THROUGHLINE_PROFILE=1`).
        macro_rules! stage {
            ($name:literal, $work:expr) => {
                tracing::Instrument::instrument(
                    $work,
                    tracing::trace_span!(target: "throughline::stage", $name),
                )
            };
        }
        let mut handles = vec![
            tokio::spawn(stage!(
                "routing",
                routing::run(store.clone(), bus.clone(), routing_signals, rx.clone(),)
            )),
            tokio::spawn(stage!(
                "relay",
                realtime::run(store.clone(), bus, progress, config.clone(), rx.clone(),)
            )),
            tokio::spawn(stage!(
                "webhooks",
                webhooks::run(
                    store.clone(),
                    config.clone(),
                    deliveries_ready.clone(),
                    rx.clone(),
                )
            )),
            tokio::spawn(stage!(
                "media",
                media::run(
                    store.clone(),
                    blobs.clone(),
                    clients.clone(),
                    config.clone(),
                    rx.clone(),
                )
            )),
            tokio::spawn(stage!(
                "audit",
                audit::run(store.clone(), config.clone(), rx.clone())
            )),
            tokio::spawn(stage!(
                "automation",
                automation::run(store.clone(), config.clone(), rx.clone())
            )),
            tokio::spawn(stage!(
                "timers",
                automation::run_timer(store.clone(), config.clone(), rx.clone(),)
            )),
            tokio::spawn(stage!(
                "privacy",
                privacy::run(store.clone(), blobs.clone(), config.clone(), rx.clone(),)
            )),
            tokio::spawn(stage!(
                "embeddings",
                assistant::run_embeddings(
                    store.clone(),
                    clients.clone(),
                    config.clone(),
                    rx.clone()
                )
            )),
            tokio::spawn(stage!(
                "faq_phrasing",
                assistant::run_phrasings(
                    store.clone(),
                    clients.clone(),
                    config.clone(),
                    rx.clone()
                )
            )),
            tokio::spawn(stage!(
                "transcriptions",
                assistant::run_transcriptions(
                    store.clone(),
                    blobs.clone(),
                    clients.clone(),
                    config.clone(),
                    rx.clone()
                )
            )),
            tokio::spawn(stage!(
                "sender",
                sender::run(
                    store.clone(),
                    blobs,
                    clients,
                    config.clone(),
                    deliveries_ready,
                    rx.clone(),
                )
            )),
            tokio::spawn(stage!(
                "housekeeping",
                housekeeping::run(store.clone(), config.clone(), rx.clone())
            )),
            tokio::spawn(stage!("tallies", tallies::run(store.clone(), rx.clone()))),
        ];
        if let Some(d) = config.digest.clone() {
            handles.push(tokio::spawn(stage!(
                "digest",
                digest::run(store.clone(), d, rx.clone())
            )));
        }
        handles.push(tokio::spawn(stage!(
            "snooze",
            snooze::run(store, config, rx)
        )));
        Ok(Self { shutdown, handles })
    }

    /// Asks every consumer to finish its current step and waits for them (bounded).
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for h in self.handles {
            let _ = tokio::time::timeout(Duration::from_secs(10), h).await;
        }
    }

    /// Kills the consumers where they stand, as a crash would (tests).
    pub fn abort(self) {
        for h in &self.handles {
            h.abort();
        }
    }
}

/// Sleeps for `d` unless shutdown is asked first; returns true when it is.
pub(crate) async fn sleep_or_shutdown(d: Duration, shutdown: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => *shutdown.borrow(),
        _ = shutdown.changed() => true,
    }
}
