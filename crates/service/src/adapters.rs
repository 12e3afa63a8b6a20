//! An inbox's channel adapter, with the settings it needs beyond the inbox row.

use std::sync::Arc;

use throughline_channels::ChannelAdapter;
use throughline_channels::registry::{self, ChannelConfig, Clients, Needs};
use throughline_core::model::Inbox;
use throughline_store::{AccountScope, Conn, Result, Store, email, providers};

/// Why an inbox has no working adapter.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NoAdapter {
    #[error("the inbox has no settings for its channel")]
    MissingSettings,
    #[error("{0} inboxes are not served by an adapter yet")]
    Unsupported(&'static str),
}

/// The adapter of `inbox`; `Ok(Err(_))` when the inbox cannot have one (yet).
pub async fn for_inbox(
    conn: &mut Conn,
    store: &Store,
    inbox: &Inbox,
    clients: &Clients,
) -> Result<std::result::Result<Arc<dyn ChannelAdapter>, NoAdapter>> {
    let scope = AccountScope::system(inbox.account_id);
    let config = match registry::needs_config(inbox.channel_type) {
        Needs::Inbox => ChannelConfig::Inbox,
        Needs::SigningSecret => ChannelConfig::SigningSecret(
            throughline_core::webhook::api_inbox_secret(store.key(), &inbox.identifier),
        ),
        Needs::Email => match email::get(conn, store.key(), &scope, inbox.id).await? {
            Some(c) => ChannelConfig::Email(Box::new(c)),
            None => return Ok(Err(NoAdapter::MissingSettings)),
        },
        Needs::Provider => match providers::get(conn, store.key(), &scope, inbox.id).await? {
            Some(c) => ChannelConfig::Provider(Box::new(c.settings)),
            None => return Ok(Err(NoAdapter::MissingSettings)),
        },
    };
    Ok(registry::adapter_for(inbox, config, clients)
        .ok_or(NoAdapter::Unsupported(inbox.channel_type.as_str())))
}
