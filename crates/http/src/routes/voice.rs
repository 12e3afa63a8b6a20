//! Phone calls on a Twilio number (issue #19), at Chatwoot's voice paths
//! (`/twilio/voice/call/{phone}`, `/twilio/voice/status/{phone}`,
//! `/twilio/voice/recording_status/{phone}`) and two of ours for the IVR's steps
//! (`/twilio/voice/menu/{phone}`, `/twilio/voice/recorded/{phone}`). The number is a Twilio
//! SMS inbox's: its Voice URL is pointed at `/twilio/voice/call/{digits}`. Every request is
//! verified like the inbox's SMS (`X-Twilio-Signature` over the URL and the form, with the
//! inbox's auth token): a wrong or missing signature is refused and nothing is recorded.
//!
//! ```text
//!  call ─► greeting ─► open + menu ─► Gather ─► key ─► team chosen ─┐
//!                 ├──► open, no menu ───────────────────────────────┤
//!                 └──► closed ─────────────────────────► voicemail  │
//!        someone at work who takes calls? ─ no ──────► voicemail ◄──┤
//!                                           yes ─► Enqueue ◄────────┘
//!  wait (each look): ring the next agent (Calls API) ; hold ; over the wait ─► Leave
//!  left_queue: bridged ─► done ; hung up ─► abandoned ; left ─► voicemail
//!  agent leg: agent ─► whisper, press 1 ─► Dial the caller's queue ; agent_status ─► missed:
//!             the next look rings the next agent
//!  voicemail: Record ─► recorded (goodbye) ; recording_status ─► message on the caller's
//!  conversation (channel pipeline) ; status ─► how the call ended
//! ```
//!
//! The agent's leg is a call Throughline asks Twilio to place to the agent's own phone (their
//! profile's number) and bridges with `<Dial><Queue>`: the caller stays in the queue, hearing
//! the hold, until an agent presses 1. Not yet here: callbacks, calls from the widget.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use throughline_channels::{ChannelAdapter, RawInbound, Transport};
use throughline_core::messaging::{self, Provider};
use throughline_core::model::Inbox;
use throughline_core::routing::Presence;
use throughline_core::voice::call::{Call, CallState, Direction};
use throughline_core::voice::ivr::{self, Onward, Urls, VoiceSettings};
use throughline_core::voice::twiml;
use throughline_service::voice::{self, Recording, Ring};
use throughline_store::routing as stored_routing;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::channel_webhooks::{provider_inbox, read, refused};
use crate::error::{ApiError, ApiResult};
use crate::extract::Path;
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(call))
        .routes(routes!(menu))
        .routes(routes!(wait))
        .routes(routes!(left_queue))
        .routes(routes!(agent))
        .routes(routes!(agent_status))
        .routes(routes!(callback))
        .routes(routes!(outbound))
        .routes(routes!(outbound_dialed))
        .routes(routes!(recorded))
        .routes(routes!(recording_status))
        .routes(routes!(call_recording))
        .routes(routes!(status))
}

/// A verified voice request: its inbox, adapter, form and the phone digits of the path.
struct VoiceRequest {
    inbox: Inbox,
    adapter: Arc<dyn ChannelAdapter>,
    form: Vec<(String, String)>,
    digits: String,
}

impl VoiceRequest {
    fn field(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    fn required(&self, name: &str) -> ApiResult<&str> {
        self.field(name)
            .ok_or_else(|| ApiError::Unprocessable(format!("{name} is missing")))
    }

    fn settings(&self) -> VoiceSettings {
        // Saved settings were checked; unreadable ones (older) fall back to the defaults.
        match self.inbox.settings.get("voice") {
            Some(raw) if !raw.is_null() => VoiceSettings::from_json(raw).unwrap_or_default(),
            _ => VoiceSettings::default(),
        }
    }

    fn base(&self, state: &AppState) -> String {
        format!(
            "{}/twilio/voice",
            state.config.public_url.trim_end_matches('/')
        )
    }

    fn urls(&self, state: &AppState, attempt: u8) -> Urls {
        let base = self.base(state);
        Urls {
            menu: format!("{base}/menu/{}?attempt={attempt}", self.digits),
            recorded: format!("{base}/recorded/{}", self.digits),
            recording: format!("{base}/recording_status/{}", self.digits),
            wait: format!("{base}/wait/{}", self.digits),
            left_queue: format!("{base}/left_queue/{}", self.digits),
            callback: format!("{base}/callback/{}", self.digits),
        }
    }

    /// Where the recording of `call`'s conversation with an agent is announced (the request
    /// carries the agent's leg's `CallSid`, so the call is named in the URL).
    fn recording_url(&self, state: &AppState, call: &Call) -> String {
        format!(
            "{}/call_recording/{}?call={}",
            self.base(state),
            self.digits,
            call.id
        )
    }

    /// Where an agent's leg of `call` reports (the leg named in the URL: its requests carry
    /// the leg's own `CallSid`).
    fn leg_urls(&self, state: &AppState, call: &Call, leg_id: i64) -> voice::LegUrls {
        let base = self.base(state);
        let which = format!("call={}&leg={leg_id}", call.id);
        voice::LegUrls {
            answered: format!("{base}/agent/{}?{which}", self.digits),
            status: format!("{base}/agent_status/{}?{which}", self.digits),
        }
    }

    /// Through the IVR: into the queue when someone at work could take the call, else (said
    /// so) voicemail. An inbox without a queue takes a message either way.
    async fn onward<'a>(
        &self,
        state: &AppState,
        call: &Call,
        settings: &VoiceSettings,
        queue: &'a str,
    ) -> ApiResult<Onward<'a>> {
        if settings.queue_max_wait_seconds == 0 || self.adapter.voice().is_none() {
            return Ok(Onward::Queue(queue));
        }
        let now = throughline_store::now_ms();
        let presence = presence(state, call.account_id).await?;
        Ok(
            if voice::someone_takes_calls(&state.store, call, &presence, now).await? {
                Onward::Queue(queue)
            } else {
                Onward::Voicemail
            },
        )
    }

    async fn call(&self, state: &AppState) -> ApiResult<Call> {
        voice::find(&state.store, &self.inbox, self.required("CallSid")?)
            .await?
            .ok_or(ApiError::NotFound)
    }

    /// The caller's call a leg belongs to (named by the leg's URL; the inbox's own only).
    async fn call_by_id(&self, state: &AppState, id: i64) -> ApiResult<Call> {
        voice::by_id(&state.store, &self.inbox, id)
            .await?
            .ok_or(ApiError::NotFound)
    }
}

/// The queue a caller waits in: their own, so the agent who takes the call gets them.
fn queue_name(call: &Call) -> String {
    format!("call-{}", call.provider_id)
}

/// Who is at work in the account now, as routing sees it: agents connected here (the hub
/// knows best) and those connected to another instance (their shared row).
pub(super) async fn presence(state: &AppState, account_id: i64) -> ApiResult<voice::Presence> {
    let now = throughline_store::now_ms();
    let mut conn = state.store.read().await?;
    let fresh_since = now - stored_routing::PRESENCE_STALE_MS;
    let mut all = voice::Presence::new();
    for row in stored_routing::present_elsewhere(&mut conn, account_id, None, fresh_since).await? {
        if let Some(p) = Presence::parse(&row.status) {
            all.insert(row.user_id, p);
        }
    }
    for a in state.hub.presence_of(account_id) {
        if let Some(p) = Presence::parse(a.status.as_str()) {
            all.insert(a.user_id, p);
        }
    }
    Ok(all)
}

/// Finds the inbox by the account and the number in the path, and checks Twilio's signature
/// over the URL it called.
async fn verified(state: &AppState, phone: &str, req: Request) -> ApiResult<VoiceRequest> {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    if digits.is_empty() || digits.len() > 15 {
        return Err(ApiError::NotFound);
    }
    let (uri, headers, body) = read(state, req).await?;
    let form: Vec<(String, String)> = serde_html_form::from_bytes(&body).unwrap_or_default();
    let account = form
        .iter()
        .find(|(k, _)| k == "AccountSid")
        .map(|(_, v)| v.clone())
        .ok_or_else(|| ApiError::Unprocessable("AccountSid is missing".into()))?;
    let (inbox, adapter) = provider_inbox(
        state,
        Provider::Twilio,
        &messaging::twilio_route(&account, &format!("+{digits}")),
    )
    .await?;
    let url = format!(
        "{}{}",
        state.config.public_url,
        uri.path_and_query().map_or("", |p| p.as_str())
    );
    let raw = RawInbound {
        transport: Transport::Webhook,
        headers: &headers,
        body: &body,
        envelope_from: None,
        url: Some(&url),
    };
    if let Err(refusal) = adapter.verify(&raw) {
        tracing::warn!(inbox_id = inbox.id, reason = %refusal.reason,
            "refused a voice request that failed verification");
        return Err(refused(refusal));
    }
    Ok(VoiceRequest {
        inbox,
        adapter,
        form,
        digits,
    })
}

fn twiml_response(verbs: &[twiml::Verb]) -> Response {
    let mut resp = Response::new(Body::from(twiml::response(verbs)));
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    resp
}

/// The number's Voice URL: a call arrives. It is recorded (linked to the caller when their
/// number is a contact's) and answered with the greeting, then the menu or voicemail.
#[utoipa::path(post, path = "/twilio/voice/call/{phone}", tag = "Channels",
    params(("phone" = String, Path, description = "The number's digits")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "TwiML"), (status = 401, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn call(
    State(state): State<AppState>,
    Path(phone): Path<String>,
    req: Request,
) -> ApiResult<Response> {
    let v = verified(&state, &phone, req).await?;
    let sid = v.required("CallSid")?;
    let from = v.field("From").unwrap_or("anonymous");
    let to = v.field("To").unwrap_or_default();
    let call = voice::incoming(&state.store, &v.inbox, sid, from, to).await?;
    let settings = v.settings();
    let hours = throughline_core::hours::Schedule::from_settings(&v.inbox.settings)
        .unwrap_or_else(|_| throughline_core::hours::Schedule::always());
    let open = hours.is_open(throughline_store::now_ms());
    let queue = queue_name(&call);
    let onward = if open && settings.menu.is_empty() {
        v.onward(&state, &call, &settings, &queue).await?
    } else {
        Onward::Voicemail
    };
    Ok(twiml_response(&ivr::answer(
        &settings,
        &v.inbox.name,
        open,
        onward,
        &v.urls(&state, 1),
    )))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
struct MenuQuery {
    /// Which try at the menu this is (1, 2).
    attempt: Option<u8>,
}

/// The key the caller pressed in the menu: the team chosen, then its queue (or voicemail
/// when nobody takes calls); a key that is no option gets one more try.
#[utoipa::path(post, path = "/twilio/voice/menu/{phone}", tag = "Channels",
    params(("phone" = String, Path), MenuQuery),
    request_body(content = String, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "TwiML"), (status = 401, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
async fn menu(
    State(state): State<AppState>,
    Path(phone): Path<String>,
    axum::extract::Query(query): axum::extract::Query<MenuQuery>,
    req: Request,
) -> ApiResult<Response> {
    let v = verified(&state, &phone, req).await?;
    let call = v.call(&state).await?;
    let settings = v.settings();
    let attempt = query.attempt.unwrap_or(1).clamp(1, ivr::MENU_ATTEMPTS);
    let digits = v.field("Digits").unwrap_or_default();
    let chosen = match v.field("SpeechResult") {
        Some(said) if digits.is_empty() => settings.choice_by_speech(said),
        _ => settings.choice(digits),
    };
    let verbs = match chosen {
        Some(option) => {
            voice::chose_team(&state.store, &call, option.team_id).await?;
            let call = v.call(&state).await?;
            let queue = queue_name(&call);
            let onward = v.onward(&state, &call, &settings, &queue).await?;
            ivr::to_people(&settings, onward, &v.urls(&state, attempt))
        }
        None => ivr::not_an_option(&settings, attempt, &v.urls(&state, attempt + 1)),
    };
    Ok(twiml_response(&verbs))
}

/// The caller finished the message: thanks, and the call ends. (The file is announced apart,
/// at `recording_status`.)
#[utoipa::path(post, path = "/twilio/voice/recorded/{phone}", tag = "Channels",
    params(("phone" = String, Path)),
    request_body(content = String, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "TwiML"), (status = 401, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
async fn recorded(
    State(state): State<AppState>,
    Path(phone): Path<String>,
    req: Request,
) -> ApiResult<Response> {
    let v = verified(&state, &phone, req).await?;
    v.call(&state).await?;
    Ok(twiml_response(&ivr::goodbye(&v.settings())))
}

/// The voicemail's file is ready: it becomes a message from the caller on their conversation.
/// A repeated callback is recognised by `RecordingSid`; a failed recording is only logged.
#[utoipa::path(post, path = "/twilio/voice/recording_status/{phone}", tag = "Channels",
    params(("phone" = String, Path)),
    request_body(content = String, content_type = "application/x-www-form-urlencoded"),
    responses((status = 204, description = "Recorded"), (status = 401, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn recording_status(
    State(state): State<AppState>,
    Path(phone): Path<String>,
    req: Request,
) -> ApiResult<Response> {
    let v = verified(&state, &phone, req).await?;
    let call = v.call(&state).await?;
    if v.field("RecordingStatus").is_some_and(|s| s != "completed") {
        tracing::warn!(call_id = call.id, status = ?v.field("RecordingStatus"), "a voicemail recording failed at the provider");
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let sid = v.required("RecordingSid")?;
    let url = v.required("RecordingUrl")?;
    let seconds = v
        .field("RecordingDuration")
        .and_then(|d| d.parse::<i64>().ok())
        .unwrap_or(0)
        .max(0);
    voice::voicemail(
        &state.store,
        state.blobs.as_ref(),
        &v.inbox,
        v.adapter.as_ref(),
        state.config.upload_limit,
        &call,
        Recording {
            provider_id: sid,
            url: mp3(url),
            content_type: "audio/mpeg",
            seconds,
        },
    )
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
struct CallQuery {
    /// The call (Throughline's id).
    call: i64,
}

/// The recording of an answered call is ready (the `<Dial>`'s `recordingStatusCallback`): kept
/// on the call and fetched into our storage at once; should the provider not hand it over now,
/// the first play fetches it. A repeated report is recognised; a failed recording is logged.
#[utoipa::path(post, path = "/twilio/voice/call_recording/{phone}", tag = "Channels",
    params(("phone" = String, Path), CallQuery),
    request_body(content = String, content_type = "application/x-www-form-urlencoded"),
    responses((status = 204, description = "Recorded"), (status = 401, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn call_recording(
    State(state): State<AppState>,
    Path(phone): Path<String>,
    req: Request,
) -> ApiResult<Response> {
    let raw_query = req.uri().query().map(str::to_owned);
    let v = verified(&state, &phone, req).await?;
    let query: CallQuery = serde_html_form::from_str(raw_query.as_deref().unwrap_or_default())
        .map_err(|_| ApiError::Unprocessable("call is a whole number".into()))?;
    let call = v.call_by_id(&state, query.call).await?;
    if v.field("RecordingStatus").is_some_and(|s| s != "completed") {
        tracing::warn!(call_id = call.id, status = ?v.field("RecordingStatus"), "a call recording failed at the provider");
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let recording = Recording {
        provider_id: v.required("RecordingSid")?,
        url: mp3(v.required("RecordingUrl")?),
        content_type: "audio/mpeg",
        seconds: v
            .field("RecordingDuration")
            .and_then(|d| d.parse::<i64>().ok())
            .unwrap_or(0)
            .max(0),
    };
    if voice::call_recorded(&state.store, &call, &recording).await? {
        let call = v.call_by_id(&state, call.id).await?;
        if let Err(e) = voice::recording_audio(
            &state.store,
            state.blobs.as_ref(),
            v.adapter.as_ref(),
            state.config.upload_limit,
            &call,
        )
        .await
        {
            tracing::warn!(call_id = call.id, error = %e, "a call recording will be fetched when first played");
        }
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Twilio serves a recording with an extension; MP3 is the small one.
fn mp3(url: &str) -> String {
    format!(
        "{}.mp3",
        url.trim_end_matches(".mp3").trim_end_matches(".wav")
    )
}

/// The call's progress (the number's status callback). Reports may come late, out of order or
/// twice: only a newer `SequenceNumber` moves the call.
#[utoipa::path(post, path = "/twilio/voice/status/{phone}", tag = "Channels",
    params(("phone" = String, Path)),
    request_body(content = String, content_type = "application/x-www-form-urlencoded"),
    responses((status = 204, description = "Recorded"), (status = 401, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn status(
    State(state): State<AppState>,
    Path(phone): Path<String>,
    req: Request,
) -> ApiResult<Response> {
    let v = verified(&state, &phone, req).await?;
    let call = v.call(&state).await?;
    let state_name = v.required("CallStatus")?;
    let call_state = CallState::from_twilio(state_name)
        .ok_or_else(|| ApiError::Unprocessable(format!("CallStatus {state_name} is unknown")))?;
    // Without a sequence (a number-level callback) the report counts as the latest.
    let sequence = match v.field("SequenceNumber") {
        Some(s) => s
            .parse::<i64>()
            .map_err(|_| ApiError::Unprocessable("SequenceNumber is not a number".into()))?,
        None => call.last_sequence.map_or(0, |l| l + 1),
    };
    let duration = v.field("CallDuration").and_then(|d| d.parse::<i64>().ok());
    voice::report(&state.store, &call, call_state, sequence, duration).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
struct LegQuery {
    /// The caller's call (Throughline's id).
    call: i64,
    /// The agent's leg of it.
    leg: i64,
}

impl LegQuery {
    /// Read after the signature is checked, so an unsigned request is refused as such
    /// whatever its query says.
    fn of(raw: Option<&str>) -> ApiResult<Self> {
        serde_html_form::from_str(raw.unwrap_or_default())
            .map_err(|_| ApiError::Unprocessable("call and leg are whole numbers".into()))
    }
}

/// A caller waits in the queue and Twilio asks what they hear next (`<Enqueue waitUrl>`, at
/// every turn of the hold): when no agent's phone rings for the call, the next agent is rung;
/// the caller hears their place and the hold; past the inbox's longest wait with nobody
/// ringing, they leave the queue for voicemail.
#[utoipa::path(post, path = "/twilio/voice/wait/{phone}", tag = "Channels",
    params(("phone" = String, Path)),
    request_body(content = String, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "TwiML"), (status = 401, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn wait(
    State(state): State<AppState>,
    Path(phone): Path<String>,
    req: Request,
) -> ApiResult<Response> {
    let v = verified(&state, &phone, req).await?;
    let call = v.call(&state).await?;
    let settings = v.settings();
    if call.ended_at.is_some() {
        return Ok(twiml_response(&[twiml::Verb::Hangup]));
    }
    if call.answered_at.is_some() {
        // An agent took it: the bridge comes within a moment.
        return Ok(twiml_response(&[twiml::Verb::Pause { seconds: 2 }]));
    }
    let number = |name: &str| v.field(name).and_then(|n| n.parse::<u32>().ok());
    let waited = number("QueueTime").unwrap_or(0);
    let now = throughline_store::now_ms();
    let ring = match v.adapter.voice() {
        Some(voice_calls) => {
            let presence = presence(&state, call.account_id).await?;
            voice::ring_next_agent(
                &state.store,
                voice_calls,
                &call,
                &presence,
                settings.agent_ring_seconds,
                &|leg| v.leg_urls(&state, &call, leg.id),
                now,
            )
            .await?
        }
        None => Ring::NobodyFree,
    };
    let ringing = matches!(ring, Ring::AlreadyRinging | Ring::Rang { .. });
    if !ringing && waited >= settings.queue_max_wait_seconds {
        return Ok(twiml_response(&ivr::give_up_waiting()));
    }
    Ok(twiml_response(&ivr::hold(
        &settings,
        number("QueuePosition"),
        waited,
    )))
}

/// The caller left the queue (`<Enqueue action>`): after a bridge, nothing more; hung up, a
/// phone still ringing for them stops (the call is abandoned when it ends); the wait ran out
/// (or the queue failed), voicemail.
#[utoipa::path(post, path = "/twilio/voice/left_queue/{phone}", tag = "Channels",
    params(("phone" = String, Path)),
    request_body(content = String, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "TwiML"), (status = 401, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
async fn left_queue(
    State(state): State<AppState>,
    Path(phone): Path<String>,
    req: Request,
) -> ApiResult<Response> {
    let v = verified(&state, &phone, req).await?;
    let call = v.call(&state).await?;
    let result = v.field("QueueResult").unwrap_or("error");
    if matches!(result, "bridged" | "redirected" | "redirected-from-bridged") {
        return Ok(twiml_response(&[]));
    }
    if let Some(ringing) = voice::left_queue_unanswered(&state.store, &call).await?
        && let Some(voice_calls) = v.adapter.voice()
        && let Err(reason) = voice_calls.end_call(&ringing).await
    {
        // The agent's phone stops when its ring time is over anyway.
        tracing::warn!(call_id = call.id, %reason, "could not stop an agent's phone ringing");
    }
    if result == "hangup" {
        return Ok(twiml_response(&[]));
    }
    let settings = v.settings();
    Ok(twiml_response(&ivr::overflow(
        &settings,
        &v.urls(&state, 1),
    )))
}

/// The agent picked up their leg: who calls and the key that takes the call; the key pressed
/// (`Digits`) takes it — bridged to the caller's queue — unless the call ended or someone
/// else took it.
#[utoipa::path(post, path = "/twilio/voice/agent/{phone}", tag = "Channels",
    params(("phone" = String, Path), LegQuery),
    request_body(content = String, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "TwiML"), (status = 401, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn agent(
    State(state): State<AppState>,
    Path(phone): Path<String>,
    req: Request,
) -> ApiResult<Response> {
    let raw_query = req.uri().query().map(str::to_owned);
    let v = verified(&state, &phone, req).await?;
    let query = LegQuery::of(raw_query.as_deref())?;
    let call = v.call_by_id(&state, query.call).await?;
    let leg_sid = v.required("CallSid")?;
    let settings = v.settings();
    let waiting = call.ended_at.is_none() && call.answered_at.is_none();
    let verbs = match v.field("Digits") {
        None if waiting => {
            // The menu's word for the choice, else the team's name.
            let label = settings
                .menu
                .iter()
                .find(|o| Some(o.team_id) == call.team_id)
                .and_then(|o| o.label.get(&settings.language))
                .filter(|l| !l.trim().is_empty())
                .cloned();
            let team = match (label, call.team_id) {
                (Some(label), _) => Some(label),
                (None, Some(id)) => voice::team_name(&state.store, &call, id).await?,
                (None, None) => None,
            };
            let accept = v.leg_urls(&state, &call, query.leg).answered;
            ivr::whisper(&settings, &call.from, team.as_deref(), &accept)
        }
        Some("1") if waiting => {
            let now = throughline_store::now_ms();
            match voice::agent_takes(&state.store, &call, query.leg, leg_sid, now).await? {
                Some(_) => ivr::connect_agent(
                    &settings,
                    &queue_name(&call),
                    &v.recording_url(&state, &call),
                ),
                None => ivr::call_gone(&settings),
            }
        }
        // Another key declines: the leg ends and the next agent is rung.
        Some(_) if waiting => vec![twiml::Verb::Hangup],
        _ => ivr::call_gone(&settings),
    };
    Ok(twiml_response(&verbs))
}

/// How an agent's leg went (its status callback): ended before the agent took the call, it was
/// missed and the next look at the queue rings the next agent.
#[utoipa::path(post, path = "/twilio/voice/agent_status/{phone}", tag = "Channels",
    params(("phone" = String, Path), LegQuery),
    request_body(content = String, content_type = "application/x-www-form-urlencoded"),
    responses((status = 204, description = "Recorded"), (status = 401, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn agent_status(
    State(state): State<AppState>,
    Path(phone): Path<String>,
    req: Request,
) -> ApiResult<Response> {
    let raw_query = req.uri().query().map(str::to_owned);
    let v = verified(&state, &phone, req).await?;
    let query = LegQuery::of(raw_query.as_deref())?;
    let call = v.call_by_id(&state, query.call).await?;
    let leg_sid = v.required("CallSid")?;
    let state_name = v.required("CallStatus")?;
    let leg_state = CallState::from_twilio(state_name)
        .ok_or_else(|| ApiError::Unprocessable(format!("CallStatus {state_name} is unknown")))?;
    voice::agent_leg_report(&state.store, &call, query.leg, leg_sid, leg_state).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The key pressed at the offer to be called back (before the queue): 2 records the request
/// — keeping the caller's place — and ends the call; anything else, or a withheld number,
/// goes on into the queue.
#[utoipa::path(post, path = "/twilio/voice/callback/{phone}", tag = "Channels",
    params(("phone" = String, Path)),
    request_body(content = String, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "TwiML"), (status = 401, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
async fn callback(
    State(state): State<AppState>,
    Path(phone): Path<String>,
    req: Request,
) -> ApiResult<Response> {
    let v = verified(&state, &phone, req).await?;
    let call = v.call(&state).await?;
    let settings = v.settings();
    let now = throughline_store::now_ms();
    if v.field("Digits") == Some("2")
        && voice::callback_from_queue(&state.store, &call, now).await?
    {
        return Ok(twiml_response(&ivr::callback_taken(&settings)));
    }
    Ok(twiml_response(&ivr::enqueue(
        &queue_name(&call),
        &v.urls(&state, 1),
    )))
}

/// The agent picked up the call they placed (its first leg): the customer is dialled.
#[utoipa::path(post, path = "/twilio/voice/outbound/{phone}", tag = "Channels",
    params(("phone" = String, Path)),
    request_body(content = String, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "TwiML"), (status = 401, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
async fn outbound(
    State(state): State<AppState>,
    Path(phone): Path<String>,
    req: Request,
) -> ApiResult<Response> {
    let v = verified(&state, &phone, req).await?;
    let call = v.call(&state).await?;
    if call.direction != Direction::Outbound {
        return Err(ApiError::NotFound);
    }
    let dialed = format!("{}/outbound_dialed/{}", v.base(&state), v.digits);
    Ok(twiml_response(&ivr::dial_customer(
        &v.settings(),
        &call.from,
        &call.to,
        &dialed,
        &v.recording_url(&state, &call),
    )))
}

/// How the customer leg of a placed call ended (`<Dial action>`): answered, for how long.
#[utoipa::path(post, path = "/twilio/voice/outbound_dialed/{phone}", tag = "Channels",
    params(("phone" = String, Path)),
    request_body(content = String, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "TwiML"), (status = 401, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
async fn outbound_dialed(
    State(state): State<AppState>,
    Path(phone): Path<String>,
    req: Request,
) -> ApiResult<Response> {
    let v = verified(&state, &phone, req).await?;
    let call = v.call(&state).await?;
    if call.direction != Direction::Outbound {
        return Err(ApiError::NotFound);
    }
    let answered = v.field("DialCallStatus") == Some("completed");
    let talk = v
        .field("DialCallDuration")
        .and_then(|d| d.parse::<i64>().ok());
    let now = throughline_store::now_ms();
    voice::customer_leg_ended(&state.store, &call, answered, talk, now).await?;
    if answered {
        return Ok(twiml_response(&[twiml::Verb::Hangup]));
    }
    Ok(twiml_response(&ivr::not_reached(&v.settings())))
}
