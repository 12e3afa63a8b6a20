//! Messaging inboxes' dealings with their provider outside message traffic: checking the
//! credentials an admin pasted (the provider's own error when they are wrong), registering
//! our webhook where the provider takes it by API (Telegram's `setWebhook`), and syncing
//! WhatsApp's approved templates.

use throughline_channels::registry::Clients;
use throughline_channels::{meta, telegram, twilio, whatsapp};
use throughline_core::messaging::ProviderSettings;
use throughline_store::providers::{self, ProviderChannel};
use throughline_store::{AccountScope, Result, Store, StoreError};

/// What the provider said of the credentials: its description of the account, number, bot or
/// page, or its error.
pub async fn check_credentials(
    settings: &ProviderSettings,
    clients: &Clients,
) -> std::result::Result<serde_json::Value, String> {
    let http = clients.http.client().clone();
    let p = &clients.providers;
    match settings.clone() {
        ProviderSettings::Twilio(s) => {
            twilio::TwilioAdapter::new(s, http, p)
                .check_credentials()
                .await
        }
        ProviderSettings::WhatsappCloud(s) => {
            whatsapp::WhatsappAdapter::new(s, http, p)
                .check_credentials()
                .await
        }
        ProviderSettings::Telegram(s) => {
            telegram::TelegramAdapter::new(s, http, p)
                .check_credentials()
                .await
        }
        ProviderSettings::FacebookPage(s) => {
            meta::MetaAdapter::new(meta::Surface::Messenger, s, http, p)
                .check_credentials()
                .await
        }
        ProviderSettings::Instagram(s) => {
            meta::MetaAdapter::new(meta::Surface::Instagram, s, http, p)
                .check_credentials()
                .await
        }
    }
}

/// Registers `/webhooks/telegram/{bot_token}` with its secret at Telegram; other providers
/// take the webhook URL in their console (the admin pastes what the inbox shows).
pub async fn register_webhook(
    settings: &ProviderSettings,
    clients: &Clients,
) -> std::result::Result<(), String> {
    match settings.clone() {
        ProviderSettings::Telegram(s) => {
            let url = format!(
                "{}/webhooks/telegram/{}",
                clients.providers.public_url.trim_end_matches('/'),
                s.bot_token
            );
            telegram::TelegramAdapter::new(s, clients.http.client().clone(), &clients.providers)
                .set_webhook(&url)
                .await
        }
        _ => Ok(()),
    }
}

/// Why templates could not be synced.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("only WhatsApp Cloud inboxes have templates")]
    NotWhatsapp,
    #[error("WhatsApp answered: {0}")]
    Provider(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Fetches the inbox's templates from the WhatsApp Business Management API and keeps them
/// with its settings.
pub async fn sync_templates(
    store: &Store,
    clients: &Clients,
    scope: &AccountScope,
    inbox_id: i64,
) -> std::result::Result<ProviderChannel, SyncError> {
    let channel = {
        let mut conn = store.read().await?;
        providers::get(&mut conn, store.key(), scope, inbox_id)
            .await?
            .ok_or(SyncError::NotWhatsapp)?
    };
    let ProviderSettings::WhatsappCloud(settings) = channel.settings else {
        return Err(SyncError::NotWhatsapp);
    };
    let adapter = whatsapp::WhatsappAdapter::new(
        settings.clone(),
        clients.http.client().clone(),
        &clients.providers,
    );
    let templates = adapter
        .fetch_templates()
        .await
        .map_err(SyncError::Provider)?;
    let mut updated = settings;
    updated.templates = templates;
    updated.templates_synced_at = Some(throughline_store::now_ms());
    Ok(save(
        store,
        scope,
        inbox_id,
        &ProviderSettings::WhatsappCloud(updated),
    )
    .await?)
}

async fn save(
    store: &Store,
    scope: &AccountScope,
    inbox_id: i64,
    settings: &ProviderSettings,
) -> Result<ProviderChannel> {
    let mut tx = store.begin().await?;
    let saved = providers::save(tx.conn(), store.key(), scope, inbox_id, settings).await?;
    tx.commit().await?;
    Ok(saved)
}
