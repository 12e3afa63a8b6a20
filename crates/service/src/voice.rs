//! Phone calls at work: a call arriving on a phone inbox is recorded and linked to the caller
//! if they are known (by E.164, the same contact as their SMS, WhatsApp or email), the menu's
//! choice names a team, a voicemail arrives through the channel pipeline like any message from
//! that number — so it lands on the caller's one conversation under the continuity rules, its
//! recording downloaded (and retried) as any provider file — and the provider's status
//! reports settle how the call ended.

use serde_json::json;
use throughline_channels::inbound::InboundSender;
use throughline_channels::{ChannelAdapter, Inbound, MediaRef, NormalisedInbound, ThreadHints};
use throughline_core::identity::normalize_phone;
use throughline_core::linking::Evidence;
use throughline_core::model::Inbox;
use throughline_core::voice::call::{Call, CallState, Direction};
use throughline_store::blob::BlobStore;
use throughline_store::calls::{self, NewCall};
use throughline_store::contacts::{self, ContactKey};
use throughline_store::{AccountScope, Store, StoreError, conversations};

use crate::inbound::{Ingested, Intake, receive_from_channel};

type Result<T> = std::result::Result<T, StoreError>;

/// A call arriving on `inbox` from `from` (as the provider wrote it: E.164, or `anonymous`).
/// Repeated webhooks for the same call find the call already recorded.
pub async fn incoming(
    store: &Store,
    inbox: &Inbox,
    provider_id: &str,
    from: &str,
    to: &str,
) -> Result<Call> {
    let scope = AccountScope::system(inbox.account_id);
    let mut conn = store.read().await?;
    let phone = normalize_phone(from, None).ok();
    let contact = match &phone {
        Some(p) => contacts::find_by(&mut conn, &scope, ContactKey::Phone(p)).await?,
        None => None,
    };
    let conversation = match &contact {
        Some(c) => conversations::latest_of_contact(&mut conn, &scope, c.id).await?,
        None => None,
    };
    drop(conn);
    let mut tx = store.begin().await?;
    let (call, _) = calls::start(
        tx.conn(),
        &scope,
        &NewCall {
            inbox_id: inbox.id,
            provider_id,
            direction: Direction::Inbound,
            from: phone.as_deref().unwrap_or(from),
            to,
            contact_id: contact.map(|c| c.id),
            conversation_id: conversation.map(|c| c.id),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(call)
}

/// The call `provider_id` of `inbox`, if recorded.
pub async fn find(store: &Store, inbox: &Inbox, provider_id: &str) -> Result<Option<Call>> {
    let scope = AccountScope::system(inbox.account_id);
    let mut conn = store.read().await?;
    calls::by_provider(&mut conn, &scope, inbox.id, provider_id).await
}

/// The caller chose `team_id` in the menu (a team deleted since the menu was saved is no
/// choice: the voicemail goes to no team).
pub async fn chose_team(store: &Store, call: &Call, team_id: i64) -> Result<()> {
    let scope = AccountScope::system(call.account_id);
    let mut tx = store.begin().await?;
    match throughline_store::teams::get(tx.conn(), &scope, team_id).await {
        Ok(_) => {}
        Err(StoreError::NotFound) => return Ok(()),
        Err(e) => return Err(e),
    }
    calls::set_team(tx.conn(), &scope, call.id, team_id).await?;
    tx.commit().await
}

/// A recording the provider holds: the voicemail's file and length.
pub struct Recording<'a> {
    pub provider_id: &'a str,
    /// The file as the provider serves it (fetched with the inbox's credentials).
    pub url: String,
    pub content_type: &'a str,
    pub seconds: i64,
}

/// The voicemail as a message from the caller: through the channel pipeline (resolved to the
/// contact by number, placed by continuity, the audio fetched as the provider's file and
/// retried if the provider does not hand it over), then on the call; the conversation goes to
/// the team the caller chose. A repeated callback is recognised by the recording's id.
pub async fn voicemail(
    store: &Store,
    blobs: &dyn BlobStore,
    inbox: &Inbox,
    adapter: &dyn ChannelAdapter,
    media_limit: usize,
    call: &Call,
    recording: Recording<'_>,
) -> Result<()> {
    let Ok(phone) = normalize_phone(&call.from, None) else {
        // A withheld number has no conversation to join; the call keeps the outcome.
        tracing::info!(
            call_id = call.id,
            "a voicemail from a withheld number is not kept as a message"
        );
        return Ok(());
    };
    let minutes = recording.seconds / 60;
    let seconds = recording.seconds % 60;
    let message = NormalisedInbound {
        sender: InboundSender {
            source_id: Some(phone.clone()),
            name: None,
            email: None,
            phone: Some(phone),
        },
        external_id: recording.provider_id.to_owned(),
        content: format!("🎙 Voicemail ({minutes}:{seconds:02})"),
        content_attributes: json!({"voice_call": {
            "call_id": call.id, "call_sid": call.provider_id, "kind": "voicemail",
            "from_number": call.from, "to_number": call.to,
            "duration_seconds": recording.seconds,
        }}),
        attachments: Vec::new(),
        media: vec![MediaRef {
            handle: recording.url,
            content_type: Some(recording.content_type.to_owned()),
            file_name: Some(format!("voicemail-{}.mp3", call.provider_id)),
        }],
        // The carrier delivered the call from that number.
        evidence: Evidence::Proven,
        thread: ThreadHints::default(),
        provider_timestamp: None,
        raw: None,
        malformed: false,
        thread_key: None,
    };
    let intake = Intake {
        store,
        blobs,
        inbox,
        adapter,
        media_limit,
    };
    let ingested = receive_from_channel(intake, Inbound::Message(Box::new(message))).await?;
    let Ingested::Message {
        conversation_id,
        message_id,
        ..
    } = ingested
    else {
        return Ok(());
    };
    let scope = AccountScope::system(call.account_id);
    let mut tx = store.begin().await?;
    calls::set_voicemail(tx.conn(), &scope, call.id, message_id, conversation_id).await?;
    if let Some(team_id) = call.team_id {
        let conversation =
            conversations::by_internal_id(tx.conn(), &scope, conversation_id).await?;
        if conversation.team_id.is_none() {
            conversations::assign(&mut tx, &scope, &conversation, None, Some(Some(team_id)))
                .await?;
        }
    }
    tx.commit().await
}

/// A status report from the provider: applied when newer than the last (`sequence`).
pub async fn report(
    store: &Store,
    call: &Call,
    state: CallState,
    sequence: i64,
    duration_seconds: Option<i64>,
) -> Result<bool> {
    let scope = AccountScope::system(call.account_id);
    let mut tx = store.begin().await?;
    let applied = calls::report(tx.conn(), &scope, call, state, sequence, duration_seconds).await?;
    tx.commit().await?;
    Ok(applied)
}
