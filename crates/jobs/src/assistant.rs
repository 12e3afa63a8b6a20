//! The AI assistant's timers. `run_embeddings` keeps help-center articles' embeddings current
//! for semantic search: every few seconds the published articles changed since their embedding
//! (or never embedded) are sent, a batch per account, to the account's embeddings model; a full
//! batch means more are waiting, so the next round starts at once. `run_phrasings` sends the
//! FAQ bot's answers waiting for the model (the bot decides inside the automation transaction,
//! the model is asked here, outside any).

use std::time::Duration;

use throughline_channels::registry::Clients;
use throughline_service::assistant::{Assistant, EMBED_BATCH};
use throughline_store::Store;
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
