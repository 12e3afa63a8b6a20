//! The AI assistant's timers. `run_embeddings` keeps help-center articles' embeddings current
//! for semantic search: every few seconds the published articles changed since their embedding
//! (or never embedded) are sent, a batch per account, to the account's embeddings model; a full
//! batch means more are waiting, so the next round starts at once. `run_phrasings` sends the
//! FAQ bot's answers waiting for the model (the bot decides inside the automation transaction,
//! the model is asked here, outside any). `run_transcriptions` puts voicemails into words, the
//! same way: queued by the automation consumer, transcribed here, retried with the deliveries'
//! back-off while the model is slow, busy or down.

use std::sync::Arc;
use std::time::Duration;

use throughline_channels::registry::Clients;
use throughline_service::assistant::{Assistant, EMBED_BATCH};
use throughline_service::transcription::Transcriber;
use throughline_store::blob::BlobStore;
use throughline_store::{Store, now_ms};
use tokio::sync::watch;

use crate::JobsConfig;

pub(crate) async fn run_embeddings(
    store: Store,
    clients: Clients,
    config: JobsConfig,
    mut shutdown: watch::Receiver<bool>,
) {
    let idle = (config.poll_interval * 20).max(Duration::from_secs(1));
    loop {
        let assistant = Assistant {
            store: &store,
            client: clients.http.client(),
        };
        let wait = match assistant.embed_all().await {
            Ok(n) if n >= EMBED_BATCH as usize => Duration::ZERO,
            Ok(_) => idle,
            Err(e) => {
                tracing::warn!(error = %e, "embedding timer failed");
                idle
            }
        };
        if crate::sleep_or_shutdown(wait, &mut shutdown).await {
            return;
        }
    }
}

pub(crate) async fn run_phrasings(
    store: Store,
    clients: Clients,
    config: JobsConfig,
    mut shutdown: watch::Receiver<bool>,
) {
    // A customer is waiting for each of these: looked for often, and at once again after work.
    let idle = (config.poll_interval * 2).max(Duration::from_millis(100));
    loop {
        let wait = match throughline_service::faq_bot::phrase_waiting(&store, clients.http.client())
            .await
        {
            Ok(n) if n > 0 => Duration::ZERO,
            Ok(_) => idle,
            Err(e) => {
                tracing::warn!(error = %e, "the FAQ bot's phrasing timer failed");
                idle * 10
            }
        };
        if crate::sleep_or_shutdown(wait, &mut shutdown).await {
            return;
        }
    }
}

pub(crate) async fn run_transcriptions(
    store: Store,
    blobs: Arc<dyn BlobStore>,
    clients: Clients,
    config: JobsConfig,
    mut shutdown: watch::Receiver<bool>,
) {
    // An agent may be about to listen to the voicemail: looked for about once a second.
    let idle = (config.poll_interval * 4).max(Duration::from_millis(100));
    loop {
        let transcriber = Transcriber {
            store: &store,
            blobs: blobs.as_ref(),
            client: clients.http.client(),
            retry: &config.retry,
        };
        let wait = match transcriber.run_due().await {
            Ok(Some(next)) => Duration::from_millis(u64::try_from(next - now_ms()).unwrap_or(0))
                .clamp(Duration::from_millis(10), idle),
            Ok(None) => idle,
            Err(e) => {
                tracing::warn!(error = %e, "the voicemail transcription timer failed");
                idle * 5
            }
        };
        if crate::sleep_or_shutdown(wait, &mut shutdown).await {
            return;
        }
    }
}
