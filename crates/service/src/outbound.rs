//! Dispatching a channel delivery (an agent's reply, an event for an API inbox's callback) to
//! the adapter of its inbox. The delivery sender (jobs) owns leases, retries and the attempt
//! log; this module owns what is sent and how the channel's answer is read.

use std::sync::Arc;

use throughline_channels::outbound::{DeliveryRef, OutgoingFile, OutgoingMessage};
use throughline_channels::registry::Clients;
use throughline_channels::{ChannelAdapter, OutboundMessage, PostOutcome, SendOutcome};
use throughline_core::model::{Delivery, Inbox};
use throughline_core::webhook::Outcome;
use throughline_store::blob::BlobStore;
use throughline_store::email::{self, HeaderRecord};
use throughline_store::{AccountScope, Conn, Result, Store, StoreError, inboxes, messages};

/// What one attempt came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dispatched {
    /// For the delivery log (status, the provider's words).
    pub outcome: PostOutcome,
    /// What the agent is shown on the message if this was the last attempt.
    pub failure_note: Option<String>,
}

impl Dispatched {
    fn retry(error: impl Into<String>) -> Self {
        Self::from_outcome(SendOutcome::temporary(error), None)
    }

    fn give_up(error: impl Into<String>) -> Self {
        Self::from_outcome(SendOutcome::permanent(error), None)
    }

    fn from_outcome(sent: SendOutcome, adapter: Option<(&dyn ChannelAdapter, &str)>) -> Self {
        let (outcome, status, error) = match sent {
            SendOutcome::Accepted { status, .. } => (Outcome::Delivered, status, None),
            SendOutcome::Temporary { reason, status } => (Outcome::Retry, status, Some(reason)),
            SendOutcome::Permanent { reason, status } => (Outcome::GiveUp, status, Some(reason)),
        };
        let failure_note = error.as_deref().map(|e| match adapter {
            Some((a, target)) => a.describe_failure(target, e),
            None => e.to_owned(),
        });
        Self {
            outcome: PostOutcome {
                outcome,
                status,
                error,
            },
            failure_note,
        }
    }
}

/// Sends one channel delivery through its inbox's adapter.
pub async fn dispatch(
    store: &Store,
    blobs: &dyn BlobStore,
    clients: &Clients,
    d: &Delivery,
) -> Dispatched {
    let Some(inbox_id) = d.inbox_id else {
        return Dispatched::give_up("delivery has no target");
    };
    let scope = AccountScope::system(d.account_id);
    let prepared = {
        let mut conn = match store.read().await {
            Ok(c) => c,
            Err(e) => return Dispatched::retry(e.to_string()),
        };
        prepare(&mut conn, store, blobs, clients, &scope, inbox_id, d).await
    };
    let (adapter, out) = match prepared {
        Ok(Ok(p)) => p,
        Ok(Err(refused)) => return refused,
        Err(e) => return Dispatched::retry(e.to_string()),
    };
    // A thread key is recorded before the message leaves (it is deterministic, and recording
    // twice on a retry is a no-op), so a customer's answer can never arrive before we know
    // what it answers.
    if let Some(key) = adapter.thread_key(&out)
        && let Err(e) = remember(store, d, &out, &key).await
    {
        return Dispatched::retry(format!("cannot record the thread key before sending: {e}"));
    }
    let sent = adapter.send(&out).await;
    // The provider's id for what it accepted names the message in its status callbacks.
    if let SendOutcome::Accepted {
        provider_id: Some(id),
        ..
    } = &sent
        && let Err(e) = remember(store, d, &out, id).await
    {
        tracing::warn!(delivery = %d.id, provider_id = %id, error = %e,
            "sent, but the provider's id could not be recorded: its status reports will not be matched");
    }
    Dispatched::from_outcome(sent, Some((adapter.as_ref(), &d.url)))
}

type Prepared = (Arc<dyn ChannelAdapter>, OutboundMessage);

/// The adapter and what it sends; `Ok(Err(_))` when the delivery cannot be sent as stored.
async fn prepare(
    conn: &mut Conn,
    store: &Store,
    blobs: &dyn BlobStore,
    clients: &Clients,
    scope: &AccountScope,
    inbox_id: i64,
    d: &Delivery,
) -> Result<std::result::Result<Prepared, Dispatched>> {
    let inbox = match inboxes::get(conn, store.key(), scope, inbox_id).await {
        Ok(i) => i,
        Err(StoreError::NotFound) => return Ok(Err(Dispatched::give_up("the inbox was deleted"))),
        Err(e) => return Err(e),
    };
    let adapter = match crate::adapters::for_inbox(conn, store, &inbox, clients).await? {
        Ok(a) => a,
        Err(missing) => return Ok(Err(Dispatched::give_up(missing.to_string()))),
    };
    let message = if adapter.needs_message() {
        let Some(message_id) = d.message_id else {
            return Ok(Err(Dispatched::give_up("delivery without a message")));
        };
        match outgoing(conn, store, blobs, scope, &inbox, message_id).await {
            Ok(m) => Some(m),
            Err(StoreError::NotFound) => {
                return Ok(Err(Dispatched::give_up("the message was deleted")));
            }
            Err(e) => return Err(e),
        }
    } else {
        None
    };
    let out = OutboundMessage {
        delivery: DeliveryRef {
            id: d.id.clone(),
            target: d.url.clone(),
            event: d.event_name.clone(),
            event_id: d.event_id,
            payload: d.payload.clone().into_bytes(),
        },
        message,
    };
    Ok(Ok((adapter, out)))
}

async fn outgoing(
    conn: &mut Conn,
    store: &Store,
    blobs: &dyn BlobStore,
    scope: &AccountScope,
    inbox: &Inbox,
    message_id: i64,
) -> Result<OutgoingMessage> {
    let out = email::outgoing(conn, scope, message_id).await?;
    let mut attachments = Vec::with_capacity(out.attachments.len());
    for a in &out.attachments {
        let Some(key) = a.blob_key.as_deref() else {
            continue;
        };
        attachments.push(OutgoingFile {
            file_name: a.file_name.clone().unwrap_or_else(|| "attachment".into()),
            content_type: a
                .content_type
                .clone()
                .unwrap_or_else(|| "application/octet-stream".into()),
            data: blobs.get(key).await?,
            url: Some(store.links().attachment_url(a)),
        });
    }
    let attributes = &out.message.additional_attributes;
    let template = attributes
        .get("template_params")
        .filter(|t| t.is_object())
        .cloned();
    // Chatwoot's `content_attributes.in_reply_to`: the quoted message, by our id; the
    // provider knows it by its own.
    let quoted = out
        .message
        .content_attributes
        .get("in_reply_to")
        .and_then(serde_json::Value::as_i64);
    let reply_to_external_id = match quoted {
        Some(id) => match messages::get(conn, scope, &out.conversation, id).await {
            Ok(m) => m.source_id,
            Err(StoreError::NotFound) => None,
            Err(e) => return Err(e),
        },
        None => None,
    };
    Ok(OutgoingMessage {
        message_id: out.message.id,
        conversation_id: out.conversation.id,
        conversation_uuid: out.conversation.uuid.clone(),
        text: out.message.content.clone().unwrap_or_default(),
        recipient: out.to.clone(),
        agent_name: out.agent_name.clone(),
        inbox_name: inbox.name.clone(),
        thread_keys: out.thread_ids.clone(),
        subject: out.subject.clone(),
        attachments,
        channel_address: out.channel_address.clone(),
        phone: out.phone.clone(),
        template,
        reply_to_external_id,
        last_incoming_at: out.last_incoming_at,
        automatic: out.message.message_type == throughline_core::message::MessageType::Template,
    })
}

async fn remember(store: &Store, d: &Delivery, out: &OutboundMessage, key: &str) -> Result<()> {
    let (Some(m), Some(inbox_id)) = (&out.message, d.inbox_id) else {
        return Ok(());
    };
    let mut tx = store.begin().await?;
    email::record_header(
        tx.conn(),
        HeaderRecord {
            account_id: d.account_id,
            inbox_id,
            conversation_id: m.conversation_id,
            message_id: Some(m.message_id),
            header_id: key,
            direction: "out",
            subject: m.subject.as_deref(),
            raw_blob_key: None,
        },
    )
    .await?;
    tx.commit().await?;
    // Reports the provider sent before this id was recorded (see `inbound::receive_status`),
    // read after the commit so a report held concurrently is never missed by both sides.
    crate::inbound::apply_held_receipts(store, d.account_id, inbox_id, key).await?;
    Ok(())
}
