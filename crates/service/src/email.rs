//! One received email, from raw bytes to a message in the right conversation. Both receivers
//! (the SMTP listener and IMAP polling) call [`ingest`]; it reads the bytes with the email
//! adapter and stores the result through [`crate::inbound`], answering after the commit.

use std::time::Duration;

use throughline_channels::email::EmailAdapter;
use throughline_channels::{ChannelAdapter, RawInbound, Transport};
use throughline_store::blob::BlobStore;
use throughline_store::{AccountScope, Result, Store, StoreError, email, inboxes};

pub use crate::inbound::Ingested;
pub use crate::threading::{SUBJECT_MATCH_WINDOW_MS, ThreadedBy};

/// Unused when receiving (the adapter only parses here).
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

/// Where a receiver got the message (for the envelope sender when From is unreadable).
#[derive(Clone, Debug, Default)]
pub struct Envelope {
    pub mail_from: Option<String>,
}

/// Imports one raw email into an email inbox. Never panics on bad input; errors are the
/// store's (worth a retry by the receiver: SMTP answers 451, IMAP keeps its UID).
pub async fn ingest(
    store: &Store,
    blobs: &dyn BlobStore,
    inbox_id: i64,
    raw: &[u8],
    envelope: &Envelope,
) -> Result<Ingested> {
    let lookup = tracing::trace_span!(target: "throughline::stage", "lookup");
    let (inbox, channel) = tracing::Instrument::instrument(
        async {
            let mut conn = store.read().await?;
            let inbox = inboxes::get_unscoped(&mut conn, store.key(), inbox_id).await?;
            let scope = AccountScope::system(inbox.account_id);
            let channel = email::get(&mut conn, store.key(), &scope, inbox_id)
                .await?
                .ok_or(StoreError::NotFound)?;
            Ok::<_, StoreError>((inbox, channel))
        },
        lookup,
    )
    .await?;
    let headers = Default::default();
    let request = RawInbound {
        transport: Transport::Mail,
        headers: &headers,
        body: raw,
        envelope_from: envelope.mail_from.as_deref(),
        url: None,
    };
    // The adapter never refuses an email: unreadable bytes are kept as a message with a note.
    let adapter = EmailAdapter::new(channel, SMTP_TIMEOUT, inbox.hmac_token.clone());
    let parsed = match tracing::trace_span!(target: "throughline::stage", "parse").in_scope(|| {
        adapter
            .verify(&request)
            .and_then(|()| adapter.parse(&request))
    }) {
        Ok(p) => p,
        Err(e) => return Err(StoreError::Refused(e.reason)),
    };
    let mut outcome = Ingested::OwnAddress;
    for inbound in parsed {
        let intake = crate::inbound::Intake {
            store,
            blobs,
            inbox: &inbox,
            adapter: &adapter,
            media_limit: 0,
        };
        outcome = crate::inbound::receive_from_channel(intake, inbound).await?;
    }
    Ok(outcome)
}
