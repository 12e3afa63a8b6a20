//! Voicemails put into words by the account's AI assistant (issue #19): the recording is sent
//! to the assistant's OpenAI-compatible endpoint (`/audio/transcriptions`, the hook's
//! `transcription_model`) and the transcript is kept on the message
//! (`content_attributes.voice_call.transcript`, and below the heading of its text), so agents,
//! search and notifications read what the caller said.
//!
//! ```text
//!  Twilio's recording callback ─► voice::voicemail ─► message + message_created (one commit)
//!  automation consumer (durable cursor) ─► touchpoint: a voicemail, the assistant on, its
//!      inbox's data may be sent ─► voicemail_transcriptions row (in the batch's transaction)
//!  timer ─► claim ─► recording from the blob store ─► model (no transaction held)
//!        ─► transcript + message_updated, row deleted (one transaction)
//!        └► slow, busy or down: again with back-off; refused: given up, logged
//! ```
//!
//! Why this way: the model may take longer than the 15 s Twilio waits for the callback, so it
//! is never asked inside the webhook. The voicemail's `message_created` event is committed
//! with the message, and the automation consumer reads each event once whatever crashes (its
//! cursor moves in the transaction that queues the row) — the path the FAQ bot's answers
//! waiting for the model take (`faq_bot_phrasings`). The model is then asked by a timer like
//! the provider files still to download (`media`), with the deliveries' back-off: a cursor
//! cannot wait for one voicemail whose model is down without holding back every event behind
//! it, a row with its own next attempt can. The voicemail message itself never depends on any
//! of this.

use std::time::Duration;

use throughline_channels::OutboundClient;
use throughline_channels::model_api::{self, Audio, ModelEndpoint, ModelError};
use throughline_core::assistant::APP_ID;
use throughline_core::assistant::transcription::{
    awaits_transcript, clean, ivr_language, language_hint, recording_pending, transcript_language,
};
use throughline_core::crypto::ServerKey;
use throughline_core::event::{EventKind, StoredEvent};
use throughline_core::model::Inbox;
use throughline_core::webhook::RetryPolicy;
use throughline_store::assistant::{self as assistant_store, Hook};
use throughline_store::blob::BlobStore;
use throughline_store::transcriptions::{self as queue, Waiting};
use throughline_store::{AccountScope, Conn, Store, StoreError, Tx, messages, now_ms};

type Result<T> = std::result::Result<T, StoreError>;

/// Voicemails transcribed per round of the timer.
const BATCH: i64 = 4;
/// A claimed voicemail stays with the one asking the model this long past the model's own
/// timeout; if that process died, it is due again after.
const CLAIM_MARGIN_MS: i64 = 60_000;

/// A voicemail to transcribe, as its event asks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queued {
    pub account_id: i64,
    pub message_id: i64,
    /// The IVR's language the caller heard, when the inbox names one.
    pub language: Option<String>,
}

/// Whether `event` brings a voicemail without a transcript: read from the event alone, since
/// almost no event is one.
pub fn is_voicemail(event: &StoredEvent) -> bool {
    event.kind == EventKind::MessageCreated
        && event.payload["message_type"] == "incoming"
        && awaits_transcript(&event.payload["content_attributes"])
}

/// The account's assistant transcribes what arrives through `inbox_id`: it is on, names a
/// speech-to-text model, and the inbox's customer data may be sent to it (the recording is).
fn transcribes(hook: &Hook, inbox_id: i64) -> bool {
    hook.enabled
        && hook.settings.transcription_model.is_some()
        && hook.settings.may_send_conversation(inbox_id)
}

/// What the voicemail `event`, which arrived through `inbox`, asks for (see [`is_voicemail`]):
/// nothing without an assistant that transcribes it.
pub async fn wanted(
    conn: &mut Conn,
    key: &ServerKey,
    inbox: &Inbox,
    event: &StoredEvent,
) -> Result<Option<Queued>> {
    let Some(message_id) = event.payload["id"].as_i64() else {
        return Ok(None);
    };
    let scope = AccountScope::system(event.account_id);
    let hook = assistant_store::hook_of_app(conn, key, &scope, APP_ID).await?;
    if !hook.is_some_and(|h| transcribes(&h, inbox.id)) {
        return Ok(None);
    }
    Ok(Some(Queued {
        account_id: event.account_id,
        message_id,
        language: ivr_language(&inbox.settings),
    }))
}

/// Queues `q` for the timer (in the automation consumer's transaction).
pub async fn queue(tx: &mut Tx, q: &Queued) -> Result<()> {
    queue::queue(tx.conn(), q.account_id, q.message_id, q.language.as_deref()).await
}

/// Where the timer's parts are.
pub struct Transcriber<'a> {
    pub store: &'a Store,
    pub blobs: &'a dyn BlobStore,
    pub client: &'a OutboundClient,
    /// The back-off of a model that is slow, busy or down.
    pub retry: &'a RetryPolicy,
}

impl Transcriber<'_> {
    /// Transcribes the voicemails that are due; returns when the next one is.
    pub async fn run_due(&self) -> Result<Option<i64>> {
        let due = {
            let mut conn = self.store.read().await?;
            queue::due_unscoped(&mut conn, now_ms(), BATCH).await?
        };
        for w in &due {
            match self.transcribe(w).await {
                Ok(()) => {}
                Err(e @ StoreError::Unavailable(_)) => return Err(e),
                // One voicemail that cannot be read holds back none of the others.
                Err(e) => tracing::warn!(message_id = w.message_id, error = %e,
                    "could not transcribe a voicemail"),
            }
        }
        let mut conn = self.store.read().await?;
        queue::next_due_unscoped(&mut conn).await
    }

    async fn transcribe(&self, w: &Waiting) -> Result<()> {
        let scope = AccountScope::system(w.account_id);
        let (hook, message) = {
            let mut conn = self.store.read().await?;
            let hook =
                assistant_store::hook_of_app(&mut conn, self.store.key(), &scope, APP_ID).await?;
            (hook, queue::message(&mut conn, &scope, w).await?)
        };
        let Some(message) = message.filter(|m| awaits_transcript(&m.content_attributes)) else {
            return self.forget(w).await;
        };
        let Some((hook, model)) = hook
            .filter(|h| transcribes(h, message.inbox_id))
            .and_then(|h| h.settings.transcription_model.clone().map(|m| (h, m)))
        else {
            tracing::info!(
                message_id = w.message_id,
                "the AI assistant no longer transcribes this voicemail"
            );
            return self.forget(w).await;
        };
        let attachments = {
            let mut conn = self.store.read().await?;
            messages::attachments_of(&mut conn, &scope, message.id).await?
        };
        let Some((file, key)) = attachments
            .iter()
            .find(|a| a.file_type == "audio")
            .and_then(|a| a.blob_key.as_deref().map(|k| (a, k)))
        else {
            if recording_pending(&message.content_attributes) {
                // The download is retried apart (`media`), from the same first delay on; no
                // attempt of the model's is spent waiting for it.
                let wait = self
                    .retry
                    .next_delay(1, w.id.unsigned_abs())
                    .unwrap_or(self.retry.base_delay_ms);
                let mut tx = self.store.begin().await?;
                queue::retry_later(
                    tx.conn(),
                    w.id,
                    false,
                    "the recording has not arrived yet",
                    now_ms() + wait,
                )
                .await?;
                return tx.commit().await;
            }
            tracing::info!(
                message_id = w.message_id,
                "a voicemail without its recording is not transcribed"
            );
            return self.forget(w).await;
        };
        let timeout = Duration::from_secs(u64::from(hook.settings.timeout_seconds));
        let claimed_until =
            now_ms() + i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX / 2) + CLAIM_MARGIN_MS;
        {
            let mut tx = self.store.begin().await?;
            if !queue::claim(tx.conn(), w, claimed_until).await? {
                // Another process is on it.
                return Ok(());
            }
            tx.commit().await?;
        }
        let bytes = match self.blobs.get(key).await {
            Ok(b) => b,
            Err(StoreError::NotFound) => {
                tracing::warn!(message_id = w.message_id, "a voicemail's recording is gone");
                return self.forget(w).await;
            }
            Err(e) => return Err(e),
        };
        let endpoint = ModelEndpoint {
            base_url: &hook.settings.base_url,
            api_key: hook.api_key.as_deref(),
            model: &model,
            timeout,
        };
        let audio = Audio {
            bytes,
            file_name: file.file_name.as_deref().unwrap_or("voicemail.mp3"),
            content_type: file.content_type.as_deref().unwrap_or("audio/mpeg"),
        };
        let hint = w.language.as_deref().and_then(language_hint);
        let said = model_api::transcribe(self.client, &endpoint, audio, hint.as_deref()).await;
        match said {
            Ok(text) => {
                let Some(transcript) = clean(&text) else {
                    tracing::info!(message_id = w.message_id, "nothing was said in a voicemail");
                    return self.forget(w).await;
                };
                let language = transcript_language(w.language.as_deref(), &transcript);
                let mut tx = self.store.begin().await?;
                queue::settle(&mut tx, w, &transcript, language.as_deref()).await?;
                tx.commit().await
            }
            Err(error) => self.failed(w, &error).await,
        }
    }

    /// Asked again later when the model may well answer then, else given up (the voicemail
    /// stays as it is, without a transcript).
    async fn failed(&self, w: &Waiting, error: &ModelError) -> Result<()> {
        let attempts = u32::try_from(w.attempts + 1).unwrap_or(u32::MAX);
        let delay = error
            .is_transient()
            .then(|| self.retry.next_delay(attempts, w.id.unsigned_abs()))
            .flatten();
        let Some(delay) = delay else {
            tracing::warn!(message_id = w.message_id, attempts, %error,
                "giving up a voicemail's transcript");
            return self.forget(w).await;
        };
        tracing::info!(message_id = w.message_id, attempts, %error,
            "a voicemail's transcript will be asked for again");
        let mut tx = self.store.begin().await?;
        queue::retry_later(tx.conn(), w.id, true, &error.to_string(), now_ms() + delay).await?;
        tx.commit().await
    }

    async fn forget(&self, w: &Waiting) -> Result<()> {
        let mut tx = self.store.begin().await?;
        queue::forget(tx.conn(), w.id).await?;
        tx.commit().await
    }
}
