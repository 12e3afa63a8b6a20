//! The email receivers: the built-in SMTP listener and IMAP polling. Both hand raw messages to
//! `throughline_service::email::ingest`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use throughline_channels::email::EmailSessions;
use throughline_channels::email::imap::{self, ImapSettings};
use throughline_channels::email::smtp_server::{
    Deliver, DeliverError, Envelope, Recipients, SmtpServer, SmtpServerConfig, SmtpServerHandle,
};
use throughline_channels::email::threading::{REPLY_PREFIX, reply_token};
use throughline_service::email::{self as email_ingest, Ingested};
use throughline_store::blob::BlobStore;
use throughline_store::email::{self, EmailChannel};
use throughline_store::{Store, StoreError};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Config;

/// Routes recipients and messages of the SMTP listener to email inboxes.
struct Inboxes {
    store: Store,
    blobs: Arc<dyn BlobStore>,
}

impl Inboxes {
    /// The inbox receiving for `rcpt`: its own address, or a `reply+<token>@<its domain>`
    /// address whose token is one of its account's conversations.
    async fn inbox_for(&self, rcpt: &str) -> Result<Option<EmailChannel>, StoreError> {
        let Ok(address) = throughline_core::identity::normalize_email(
            rcpt.trim().trim_start_matches('<').trim_end_matches('>'),
        ) else {
            return Ok(None);
        };
        let mut conn = self.store.read().await?;
        if let Some(c) = email::by_address_unscoped(&mut conn, self.store.key(), &address).await? {
            return Ok(Some(c));
        }
        if !address.starts_with(REPLY_PREFIX) {
            return Ok(None);
        }
        let Some((_, domain)) = address.rsplit_once('@') else {
            return Ok(None);
        };
        for channel in email::by_domain_unscoped(&mut conn, self.store.key(), domain).await? {
            if let Some(token) = reply_token(&address, channel.domain()) {
                let known =
                    email::conversation_by_token(&mut conn, channel.account_id, &token).await?;
                if known.is_some() {
                    return Ok(Some(channel));
                }
            }
        }
        Ok(None)
    }
}

impl Recipients for Inboxes {
    async fn accepts(&self, rcpt: &str) -> bool {
        match self.inbox_for(rcpt).await {
            Ok(found) => found.is_some(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot look up an SMTP recipient");
                false
            }
        }
    }
}

impl Deliver for Inboxes {
    async fn deliver(&self, envelope: Envelope, raw: Vec<u8>) -> Result<(), DeliverError> {
        // The profile's "email" stage: what no inner stage (lookup, parse, blobs, resolve,
        // write, render) claims.
        let stage = tracing::trace_span!(target: "throughline::stage", "email");
        tracing::Instrument::instrument(self.deliver_to_inboxes(envelope, raw), stage).await
    }
}

impl Inboxes {
    async fn deliver_to_inboxes(
        &self,
        envelope: Envelope,
        raw: Vec<u8>,
    ) -> Result<(), DeliverError> {
        let mut done: Vec<i64> = Vec::new();
        for rcpt in &envelope.rcpt_to {
            let channel = self
                .inbox_for(rcpt)
                .await
                .map_err(|e| DeliverError::new(format!("cannot store the message now: {e}")))?;
            let Some(channel) = channel else { continue };
            if done.contains(&channel.inbox_id) {
                continue;
            }
            done.push(channel.inbox_id);
            let from = email_ingest::Envelope {
                mail_from: (!envelope.mail_from.is_empty()).then(|| envelope.mail_from.clone()),
            };
            email_ingest::ingest(
                &self.store,
                self.blobs.as_ref(),
                channel.inbox_id,
                &raw,
                &from,
            )
            .await
            .map_err(|e| DeliverError::new(format!("cannot store the message now: {e}")))?;
        }
        Ok(())
    }
}

fn tls_config(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("reading {}", cert.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("reading {}", cert.display()))?;
    let key =
        PrivateKeyDer::from_pem_file(key).with_context(|| format!("reading {}", key.display()))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(certs, key)?;
    Ok(Arc::new(config))
}

/// Starts the SMTP receiver when `smtp_listen` is configured.
pub async fn start_smtp(
    config: &Config,
    store: &Store,
    blobs: Arc<dyn BlobStore>,
) -> anyhow::Result<Option<(std::net::SocketAddr, SmtpServerHandle)>> {
    let Some(addr) = config.smtp_listen else {
        return Ok(None);
    };
    let hostname = config.smtp_hostname.clone().unwrap_or_else(|| {
        config
            .public_url
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split(['/', ':']).next())
            .unwrap_or("localhost")
            .to_owned()
    });
    let mut server_config = SmtpServerConfig::new(hostname);
    server_config.max_message_size = config.smtp_max_message_bytes;
    if let Some((cert, key)) = &config.smtp_tls {
        server_config.tls = Some(tls_config(cert, key)?);
    }
    let inboxes = Arc::new(Inboxes {
        store: store.clone(),
        blobs,
    });
    let (local, handle) = SmtpServer::bind(addr, server_config, inboxes.clone(), inboxes)
        .await
        .with_context(|| format!("cannot listen for SMTP on {addr}"))?;
    tracing::info!(%local, "SMTP receiver listening");
    Ok(Some((local, handle)))
}

/// IMAP polling: one task per inbox that fetches by IMAP, restarted when its settings change.
pub struct ImapPollers {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl ImapPollers {
    pub fn start(store: Store, blobs: Arc<dyn BlobStore>, poll: Duration) -> Self {
        let (stop, rx) = watch::channel(false);
        let task = tokio::spawn(supervise(store, blobs, poll, rx));
        Self { stop, task }
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(10), self.task).await;
    }
}

/// How often the list of IMAP inboxes is re-read.
const RESCAN: Duration = Duration::from_secs(2);
const IMAP_TIMEOUT: Duration = Duration::from_secs(30);

async fn supervise(
    store: Store,
    blobs: Arc<dyn BlobStore>,
    poll: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut running: HashMap<i64, (ImapSettings, watch::Sender<bool>, JoinHandle<()>)> =
        HashMap::new();
    loop {
        let wanted: Vec<EmailChannel> = match store.read().await {
            Ok(mut conn) => email::imap_enabled_unscoped(&mut conn, store.key())
                .await
                .unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "cannot list IMAP inboxes");
                    Vec::new()
                }),
            Err(_) => Vec::new(),
        };
        let mut keep = Vec::new();
        for channel in wanted {
            let Some(settings) = channel.imap_settings(IMAP_TIMEOUT) else {
                continue;
            };
            keep.push(channel.inbox_id);
            let current = running.get(&channel.inbox_id).map(|(s, _, _)| s.clone());
            if current.as_ref() == Some(&settings) {
                continue;
            }
            if let Some((_, tx, handle)) = running.remove(&channel.inbox_id) {
                let _ = tx.send(true);
                handle.abort();
            }
            let (tx, rx) = watch::channel(false);
            let handle = tokio::spawn(poll_inbox(
                store.clone(),
                blobs.clone(),
                channel.inbox_id,
                settings.clone(),
                poll,
                rx,
            ));
            running.insert(channel.inbox_id, (settings, tx, handle));
        }
        running.retain(|id, (_, tx, handle)| {
            let keep_it = keep.contains(id);
            if !keep_it {
                let _ = tx.send(true);
                handle.abort();
            }
            keep_it
        });
        tokio::select! {
            _ = tokio::time::sleep(RESCAN) => {}
            _ = stop.changed() => break,
        }
    }
    for (_, (_, tx, handle)) in running {
        let _ = tx.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(5), handle).await;
    }
}

async fn poll_inbox(
    store: Store,
    blobs: Arc<dyn BlobStore>,
    inbox_id: i64,
    settings: ImapSettings,
    poll: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut backoff = Duration::from_secs(1);
    loop {
        if *stop.borrow() {
            return;
        }
        let result = tokio::select! {
            r = session(&store, blobs.as_ref(), inbox_id, &settings, poll) => r,
            _ = stop.changed() => return,
        };
        if let Err(e) = result {
            tracing::warn!(inbox_id, error = %e, "IMAP polling failed; retrying");
            if let Ok(mut tx) = store.begin().await
                && email::set_imap_error(tx.conn(), inbox_id, &settings.mailbox, &e)
                    .await
                    .is_ok()
            {
                let _ = tx.commit().await;
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = stop.changed() => return,
            }
            backoff = (backoff * 2).min(Duration::from_secs(300));
        } else {
            backoff = Duration::from_secs(1);
        }
    }
}

/// One logged-in session: import what is new, then IDLE (or sleep) and repeat.
async fn session(
    store: &Store,
    blobs: &dyn BlobStore,
    inbox_id: i64,
    settings: &ImapSettings,
    poll: Duration,
) -> Result<(), String> {
    let mut session = imap::connect(settings).await.map_err(|e| e.to_string())?;
    let idle = imap::supports_idle(&mut session, settings.timeout)
        .await
        .map_err(|e| e.to_string())?;
    loop {
        import_new(store, blobs, inbox_id, settings, &mut session).await?;
        if idle {
            session = imap::idle(session, poll.max(Duration::from_secs(1)))
                .await
                .map_err(|e| e.to_string())?;
        } else {
            tokio::time::sleep(poll).await;
        }
    }
}

/// Imports every message beyond the stored position, moving the position after each one (a
/// crash re-imports at most the message in flight, which Message-ID dedup then skips).
async fn import_new(
    store: &Store,
    blobs: &dyn BlobStore,
    inbox_id: i64,
    settings: &ImapSettings,
    session: &mut imap::Session,
) -> Result<(), String> {
    loop {
        let state = {
            let mut conn = store.read().await.map_err(|e| e.to_string())?;
            email::imap_state(&mut conn, inbox_id, &settings.mailbox)
                .await
                .map_err(|e| e.to_string())?
        };
        let (validity, last_uid) = match state {
            Some((v, u)) => (u32::try_from(v).ok(), u32::try_from(u).unwrap_or(0)),
            None => (None, 0),
        };
        let fetched = imap::fetch_new(session, settings, validity, last_uid, 50)
            .await
            .map_err(|e| e.to_string())?;
        if validity != Some(fetched.uid_validity) {
            // A new mailbox (or UIDVALIDITY changed): start from its beginning; Message-ID
            // dedup keeps what was already imported from being imported again.
            let mut tx = store.begin().await.map_err(|e| e.to_string())?;
            email::set_imap_state(
                tx.conn(),
                inbox_id,
                &settings.mailbox,
                i64::from(fetched.uid_validity),
                0,
            )
            .await
            .map_err(|e| e.to_string())?;
            tx.commit().await.map_err(|e| e.to_string())?;
        }
        if fetched.messages.is_empty() {
            return Ok(());
        }
        for (uid, raw) in fetched.messages {
            let outcome = email_ingest::ingest(
                store,
                blobs,
                inbox_id,
                &raw,
                &email_ingest::Envelope::default(),
            )
            .await;
            match outcome {
                Ok(
                    Ingested::Message { .. }
                    | Ingested::Duplicate { .. }
                    | Ingested::Status { .. }
                    | Ingested::Edited { .. }
                    | Ingested::OwnAddress,
                ) => {}
                Err(StoreError::NotFound) => return Err("the inbox was deleted".into()),
                Err(e) => return Err(e.to_string()),
            }
            let mut tx = store.begin().await.map_err(|e| e.to_string())?;
            email::set_imap_state(
                tx.conn(),
                inbox_id,
                &settings.mailbox,
                i64::from(fetched.uid_validity),
                i64::from(uid),
            )
            .await
            .map_err(|e| e.to_string())?;
            tx.commit().await.map_err(|e| e.to_string())?;
        }
    }
}
