//! Phone calls at work: a call arriving on a phone inbox is recorded and linked to the caller
//! if they are known (by E.164, the same contact as their SMS, WhatsApp or email), the menu's
//! choice names a team, a voicemail arrives through the channel pipeline like any message from
//! that number — so it lands on the caller's one conversation under the continuity rules, its
//! recording downloaded (and retried) as any provider file — and the provider's status
//! reports settle how the call ended.

use serde_json::json;
use std::sync::Arc;
use throughline_channels::inbound::InboundSender;
use throughline_channels::{
    ChannelAdapter, Inbound, MediaRef, NormalisedInbound, PlaceCall, ThreadHints, VoiceCalls,
};
use throughline_core::identity::normalize_phone;
use throughline_core::linking::Evidence;
use throughline_core::model::Inbox;

use throughline_channels::registry::Clients;
use throughline_core::model::ChannelType;
use throughline_core::voice::call::{Call, CallState, CallbackSource, CallbackState, Direction};
use throughline_store::accounts;
use throughline_store::blob::BlobStore;
use throughline_store::calls::{self, Leg, LegState, NewCall, NewCallback};
use throughline_store::contacts::{self, ContactKey};
use throughline_store::{AccountScope, Store, StoreError, conversations};

use crate::inbound::{Ingested, Intake, receive_from_channel};
use crate::routing::{self, CallInQueue};

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

/// The inbox's call with our id (the agent's leg names it).
pub async fn by_id(store: &Store, inbox: &Inbox, id: i64) -> Result<Option<Call>> {
    let scope = AccountScope::system(inbox.account_id);
    let mut conn = store.read().await?;
    calls::by_id(&mut conn, &scope, inbox.id, id).await
}

/// The name of the team a call is for (`None` when it was deleted since).
pub async fn team_name(store: &Store, call: &Call, team_id: i64) -> Result<Option<String>> {
    let scope = AccountScope::system(call.account_id);
    let mut conn = store.read().await?;
    match throughline_store::teams::get(&mut conn, &scope, team_id).await {
        Ok(team) => Ok(Some(team.name)),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
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
    if applied && state.is_final() {
        calls::end_legs(tx.conn(), &scope, call.id).await?;
    }
    tx.commit().await?;
    Ok(applied)
}

/// Where to reach us about an agent's leg (absolute URLs naming the call and the leg).
pub struct LegUrls {
    /// Asked for TwiML when the agent picks up.
    pub answered: String,
    /// Told how the agent's call went.
    pub status: String,
}

/// What a look at the queue did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ring {
    /// An agent's phone rings for the call already.
    AlreadyRinging,
    /// This agent's phone is rung now.
    Rang { agent_id: i64 },
    /// Nobody can take it now (the wait goes on).
    NobodyFree,
    /// The provider would not ring the agent; the next look tries the next one.
    Refused { agent_id: i64, reason: String },
}

/// Agents present in the account as routing sees them.
pub type Presence = std::collections::HashMap<i64, throughline_core::routing::Presence>;

pub(crate) fn in_queue(call: &Call) -> CallInQueue {
    CallInQueue {
        call_id: call.id,
        inbox_id: call.inbox_id,
        team_id: call.team_id,
        contact_id: call.contact_id,
        queued_at: call.queued_at.unwrap_or(call.started_at),
        skip: Vec::new(),
        on_calls: Vec::new(),
    }
}

/// Is anyone at work who could take this call (had they no call now)? If not, the caller
/// leaves a message at once instead of waiting for nobody.
pub async fn someone_takes_calls(
    store: &Store,
    call: &Call,
    presence: &Presence,
    now: i64,
) -> Result<bool> {
    let scope = AccountScope::system(call.account_id);
    let mut tx = store.begin().await?;
    let phones = accounts::member_phones(tx.conn(), &scope).await?;
    let chosen = routing::choose_for_call(
        &mut tx,
        call.account_id,
        presence,
        &in_queue(call),
        &phones.keys().copied().collect(),
        now,
    )
    .await?;
    // Only read: dropped, not committed.
    drop(tx);
    Ok(chosen.is_some())
}

/// A look at the queue for `call` (Twilio asks what the caller hears next): when no agent's
/// phone rings for it, the next agent the routing rules choose — not one rung for it before —
/// is rung through the provider. Their leg is recorded before the provider is asked, under
/// the account's routing lock, so two looks (or two calls) never ring one agent twice.
pub async fn ring_next_agent(
    store: &Store,
    voice_calls: &dyn VoiceCalls,
    call: &Call,
    presence: &Presence,
    ring_seconds: u32,
    urls: &(dyn Fn(&Leg) -> LegUrls + Sync),
    now: i64,
) -> Result<Ring> {
    let scope = AccountScope::system(call.account_id);
    let mut tx = store.begin().await?;
    throughline_store::routing::lock_account(&mut tx, call.account_id).await?;
    calls::queued(tx.conn(), &scope, call.id, now).await?;
    // A leg whose provider never reported back rings no longer.
    let lost = now - (i64::from(ring_seconds) + LOST_LEG_GRACE_SECONDS) * 1000;
    calls::expire_ringing(tx.conn(), &scope, call.id, lost).await?;
    if calls::ringing_leg(tx.conn(), &scope, call.id)
        .await?
        .is_some()
    {
        tx.commit().await?;
        return Ok(Ring::AlreadyRinging);
    }
    let mut waiting = in_queue(call);
    waiting.queued_at = call.queued_at.unwrap_or(now);
    waiting.skip = calls::legs(tx.conn(), &scope, call.id)
        .await?
        .iter()
        .filter_map(|l| l.agent_id)
        .collect();
    waiting.on_calls = calls::agents_on_calls(tx.conn(), &scope).await?;
    let phones = accounts::member_phones(tx.conn(), &scope).await?;
    let Some(decision) = routing::choose_for_call(
        &mut tx,
        call.account_id,
        presence,
        &waiting,
        &phones.keys().copied().collect(),
        now,
    )
    .await?
    else {
        tx.commit().await?;
        return Ok(Ring::NobodyFree);
    };
    let agent_id = decision.agent;
    // Only agents with a phone are candidates; checked before a leg is claimed for them.
    let Some(phone) = phones.get(&agent_id) else {
        tx.commit().await?;
        return Ok(Ring::NobodyFree);
    };
    let Some(leg) = calls::ring(tx.conn(), &scope, call.id, agent_id, now).await? else {
        tx.commit().await?;
        return Ok(Ring::AlreadyRinging);
    };
    tx.commit().await?;
    let to_reach = urls(&leg);
    let placed = voice_calls
        .place_call(&PlaceCall {
            to: phone,
            from: &call.to,
            url: &to_reach.answered,
            status_callback: &to_reach.status,
            ring_seconds,
        })
        .await;
    let mut tx = store.begin().await?;
    let outcome = match placed {
        Ok(provider_id) => {
            calls::leg_placed(tx.conn(), &scope, leg.id, &provider_id).await?;
            tracing::info!(
                call_id = call.id,
                agent_id,
                "ringing an agent for a queued call"
            );
            Ring::Rang { agent_id }
        }
        Err(reason) => {
            calls::move_leg(
                tx.conn(),
                &scope,
                leg.id,
                &[LegState::Ringing],
                LegState::Failed,
            )
            .await?;
            tracing::warn!(call_id = call.id, agent_id, %reason, "the provider would not ring an agent");
            Ring::Refused { agent_id, reason }
        }
    };
    tx.commit().await?;
    Ok(outcome)
}

/// Seconds past the ring time after which a leg the provider said nothing about is missed.
const LOST_LEG_GRACE_SECONDS: i64 = 30;

/// The leg `leg_id` of `call`, if it is the provider's call `provider_id` (a leg the provider
/// has not named yet takes the name).
async fn leg_of(
    tx: &mut throughline_store::Tx,
    scope: &AccountScope,
    call: &Call,
    leg_id: i64,
    provider_id: &str,
) -> Result<Option<Leg>> {
    let Some(leg) = calls::legs(tx.conn(), scope, call.id)
        .await?
        .into_iter()
        .find(|l| l.id == leg_id)
    else {
        return Ok(None);
    };
    match leg.provider_id.as_deref() {
        Some(p) if p == provider_id => Ok(Some(leg)),
        Some(_) => Ok(None),
        None => {
            calls::leg_placed(tx.conn(), scope, leg.id, provider_id).await?;
            Ok(Some(leg))
        }
    }
}

/// The agent pressed the key on their leg: the call is theirs (and the caller's conversation,
/// when nobody has it) — unless the call ended, someone else took it, or the leg is not this
/// call's ringing one. Returns the agent when the call is theirs.
pub async fn agent_takes(
    store: &Store,
    call: &Call,
    leg_id: i64,
    provider_id: &str,
    now: i64,
) -> Result<Option<i64>> {
    let scope = AccountScope::system(call.account_id);
    let mut tx = store.begin().await?;
    let Some(leg) = leg_of(&mut tx, &scope, call, leg_id, provider_id).await? else {
        return Ok(None);
    };
    let Some(agent_id) = leg.agent_id.filter(|_| leg.state == LegState::Ringing) else {
        return Ok(None);
    };
    if !calls::answered_by(tx.conn(), &scope, call.id, agent_id, now).await? {
        calls::move_leg(
            tx.conn(),
            &scope,
            leg.id,
            &[LegState::Ringing],
            LegState::Missed,
        )
        .await?;
        tx.commit().await?;
        return Ok(None);
    }
    leg_taken(&mut tx, &scope, call, leg.id, agent_id).await?;
    tx.commit().await?;
    tracing::info!(call_id = call.id, agent_id, "an agent took a queued call");
    Ok(Some(agent_id))
}

/// The agent's leg took the call (answered already): the leg is accepted, and the caller's
/// conversation is the agent's when nobody had it. Phone and web calls alike.
pub(crate) async fn leg_taken(
    tx: &mut throughline_store::Tx,
    scope: &AccountScope,
    call: &Call,
    leg_id: i64,
    agent_id: i64,
) -> Result<()> {
    calls::move_leg(
        tx.conn(),
        scope,
        leg_id,
        &[LegState::Ringing],
        LegState::Accepted,
    )
    .await?;
    if let Some(id) = call.conversation_id {
        let conversation = conversations::by_internal_id(tx.conn(), scope, id).await?;
        if conversation.assignee_id.is_none() {
            conversations::assign(tx, scope, &conversation, Some(Some(agent_id)), None).await?;
        }
    }
    Ok(())
}

/// The provider's report on an agent's leg: one that ends before the agent took the call was
/// missed (the next look rings the next agent); one that ends after, the agent's part is done.
pub async fn agent_leg_report(
    store: &Store,
    call: &Call,
    leg_id: i64,
    provider_id: &str,
    state: CallState,
) -> Result<()> {
    if !state.is_final() {
        return Ok(());
    }
    let scope = AccountScope::system(call.account_id);
    let mut tx = store.begin().await?;
    if let Some(leg) = leg_of(&mut tx, &scope, call, leg_id, provider_id).await? {
        let to = if leg.state == LegState::Accepted {
            LegState::Done
        } else {
            LegState::Missed
        };
        calls::move_leg(
            tx.conn(),
            &scope,
            leg.id,
            &[LegState::Ringing, LegState::Accepted],
            to,
        )
        .await?;
    }
    tx.commit().await
}

/// The caller left the queue unanswered (hung up, or the wait ran out): a phone still ringing
/// for them is missed; its provider id is returned so it can be hung up.
pub async fn left_queue_unanswered(store: &Store, call: &Call) -> Result<Option<String>> {
    let scope = AccountScope::system(call.account_id);
    let mut tx = store.begin().await?;
    let ringing = calls::ringing_leg(tx.conn(), &scope, call.id).await?;
    if let Some(leg) = &ringing {
        calls::move_leg(
            tx.conn(),
            &scope,
            leg.id,
            &[LegState::Ringing],
            LegState::Missed,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(ringing.and_then(|l| l.provider_id))
}

/// The caller pressed the key to be called back instead of waiting: a waiting callback
/// request keeping their place (when they joined), on their conversation, and the call's
/// outcome says so. `false` for a withheld number (nobody to call back).
pub async fn callback_from_queue(store: &Store, call: &Call, now: i64) -> Result<bool> {
    let Ok(phone) = normalize_phone(&call.from, None) else {
        return Ok(false);
    };
    let scope = AccountScope::system(call.account_id);
    let mut tx = store.begin().await?;
    calls::request_callback(
        tx.conn(),
        &scope,
        &NewCallback {
            inbox_id: call.inbox_id,
            contact_id: call.contact_id,
            conversation_id: call.conversation_id,
            phone: &phone,
            source: CallbackSource::Ivr,
            note: None,
            preferred_at: None,
            requested_at: call.queued_at.unwrap_or(call.started_at),
            created_by: None,
            from_call_id: Some(call.id),
        },
    )
    .await?;
    calls::callback_asked(tx.conn(), &scope, call.id, now).await?;
    tx.commit().await?;
    Ok(true)
}

/// The account's phone line the scope sees: `preferred` when it carries calls, else the
/// first that does. With its adapter (which places calls).
pub async fn phone_line(
    store: &Store,
    clients: &Clients,
    scope: &AccountScope,
    preferred: Option<i64>,
) -> Result<Option<(Inbox, Arc<dyn ChannelAdapter>)>> {
    let mut conn = store.read().await?;
    let mut inboxes = throughline_store::inboxes::list(&mut conn, store.key(), scope).await?;
    inboxes.retain(|i| i.channel_type == ChannelType::Sms);
    inboxes.sort_by_key(|i| (Some(i.id) != preferred, i.id));
    for inbox in inboxes {
        if let Ok(adapter) = crate::adapters::for_inbox(&mut conn, store, &inbox, clients).await?
            && adapter.voice().is_some()
        {
            return Ok(Some((inbox, adapter)));
        }
    }
    Ok(None)
}

/// Why a call could not be placed.
#[derive(Debug, thiserror::Error)]
pub enum PlaceError {
    #[error("this callback request was called or canceled already")]
    NotWaiting,
    #[error("{0}")]
    Provider(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A call an agent places to a customer.
pub struct Outbound<'a> {
    pub inbox: &'a Inbox,
    pub agent_id: i64,
    /// The agent's own phone: rung first, then the customer.
    pub agent_phone: &'a str,
    /// The customer (E.164).
    pub to: &'a str,
    pub contact_id: Option<i64>,
    pub conversation_id: Option<i64>,
    /// The request this call honours (claimed first: two agents clicking call once).
    pub callback_id: Option<i64>,
    /// Asked for TwiML when the agent picks up.
    pub answered_url: String,
    /// The call's status reports.
    pub status_url: String,
}

/// Places a call for an agent, agent leg first: the provider rings the agent's phone; when
/// they pick up, the customer is dialled. The call is recorded under the provider's id.
pub async fn place(
    store: &Store,
    voice_calls: &dyn VoiceCalls,
    out: &Outbound<'_>,
) -> std::result::Result<Call, PlaceError> {
    let scope = AccountScope::system(out.inbox.account_id);
    if let Some(id) = out.callback_id {
        let mut tx = store.begin().await?;
        if !calls::settle_callback(tx.conn(), &scope, id, CallbackState::Called, None).await? {
            return Err(PlaceError::NotWaiting);
        }
        tx.commit().await?;
    }
    let from = voice_calls.line_number().to_owned();
    let placed = voice_calls
        .place_call(&PlaceCall {
            to: out.agent_phone,
            from: &from,
            url: &out.answered_url,
            status_callback: &out.status_url,
            ring_seconds: OUTBOUND_RING_SECONDS,
        })
        .await;
    let mut tx = store.begin().await?;
    let provider_id = match placed {
        Ok(id) => id,
        Err(reason) => {
            if let Some(id) = out.callback_id {
                calls::reopen_callback(tx.conn(), &scope, id).await?;
                tx.commit().await?;
            }
            return Err(PlaceError::Provider(reason));
        }
    };
    let (call, _) = calls::start(
        tx.conn(),
        &scope,
        &NewCall {
            inbox_id: out.inbox.id,
            provider_id: &provider_id,
            direction: Direction::Outbound,
            from: &from,
            to: out.to,
            contact_id: out.contact_id,
            conversation_id: out.conversation_id,
        },
    )
    .await?;
    calls::set_agent(tx.conn(), &scope, call.id, out.agent_id).await?;
    if let Some(id) = out.callback_id {
        calls::callback_placed(tx.conn(), &scope, id, call.id).await?;
    }
    let call = calls::by_id(tx.conn(), &scope, out.inbox.id, call.id)
        .await?
        .ok_or(StoreError::NotFound)?;
    tx.commit().await?;
    tracing::info!(
        call_id = call.id,
        agent_id = out.agent_id,
        "an agent placed a call"
    );
    Ok(call)
}

/// How long the agent's own phone rings for a call they placed.
const OUTBOUND_RING_SECONDS: u32 = 30;

/// The customer leg of an outbound call ended (`DialCallStatus`): answered, it lasted
/// `talk_seconds` (its answer is dated back from now).
pub async fn customer_leg_ended(
    store: &Store,
    call: &Call,
    answered: bool,
    talk_seconds: Option<i64>,
    now: i64,
) -> Result<()> {
    if !answered {
        return Ok(());
    }
    let scope = AccountScope::system(call.account_id);
    let mut tx = store.begin().await?;
    let at = now - talk_seconds.unwrap_or(0).max(0) * 1000;
    calls::customer_answered(tx.conn(), &scope, call.id, at.max(call.started_at)).await?;
    tx.commit().await
}

/// The provider recorded an answered call (the `<Dial>` of an agent and a caller): where the
/// recording is, kept on the call once (a repeated report changes nothing). `true` when new.
pub async fn call_recorded(store: &Store, call: &Call, recording: &Recording<'_>) -> Result<bool> {
    let scope = AccountScope::system(call.account_id);
    let mut tx = store.begin().await?;
    let fresh = calls::recorded(
        tx.conn(),
        &scope,
        call.id,
        recording.provider_id,
        &recording.url,
        Some(recording.seconds),
    )
    .await?;
    tx.commit().await?;
    Ok(fresh)
}

/// Why a call's recording cannot be played.
#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    #[error("this call was not recorded")]
    NotRecorded,
    #[error("the provider did not hand the recording over: {0}")]
    Provider(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A call's recording as people play it: our copy, or — not fetched yet (the provider was
/// slow when it announced it) — fetched now from the provider with the line's credentials and
/// kept, so the provider's address is never handed to anyone.
pub async fn recording_audio(
    store: &Store,
    blobs: &dyn BlobStore,
    adapter: &dyn ChannelAdapter,
    limit: usize,
    call: &Call,
) -> std::result::Result<Vec<u8>, RecordingError> {
    if let Some(key) = &call.recording_blob {
        return Ok(blobs.get(key).await?);
    }
    let Some(url) = &call.recording_url else {
        return Err(RecordingError::NotRecorded);
    };
    let media = MediaRef {
        handle: url.clone(),
        content_type: Some("audio/mpeg".into()),
        file_name: Some(format!("call-{}.mp3", call.provider_id)),
    };
    let fetched = adapter
        .fetch_media(&media, limit)
        .await
        .map_err(RecordingError::Provider)?;
    let key = throughline_store::blob::new_key(call.account_id);
    blobs.put(&key, fetched.data.clone()).await?;
    let scope = AccountScope::system(call.account_id);
    let mut tx = store.begin().await?;
    let kept = calls::recording_kept(tx.conn(), &scope, call.id, &key).await?;
    tx.commit().await?;
    if !kept {
        // Another play kept its copy first: this one would be an orphan.
        blobs.delete(&key).await?;
    }
    Ok(fetched.data)
}

/// [`recording_audio`] with the adapter of the call's own line (a recording is fetched with the
/// credentials of the number that took the call).
pub async fn play_recording(
    store: &Store,
    blobs: &dyn BlobStore,
    clients: &Clients,
    limit: usize,
    call: &Call,
) -> std::result::Result<Vec<u8>, RecordingError> {
    if let Some(key) = &call.recording_blob {
        return Ok(blobs.get(key).await?);
    }
    if call.recording_url.is_none() {
        return Err(RecordingError::NotRecorded);
    }
    let mut conn = store.read().await?;
    let scope = AccountScope::system(call.account_id);
    let inbox =
        throughline_store::inboxes::get(&mut conn, store.key(), &scope, call.inbox_id).await?;
    let adapter = crate::adapters::for_inbox(&mut conn, store, &inbox, clients)
        .await?
        .map_err(|e| RecordingError::Provider(e.to_string()))?;
    drop(conn);
    recording_audio(store, blobs, adapter.as_ref(), limit, call).await
}
