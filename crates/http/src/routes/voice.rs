//! Phone calls on a Twilio number (issue #19), at Chatwoot's voice paths
//! (`/twilio/voice/call/{phone}`, `/twilio/voice/status/{phone}`,
//! `/twilio/voice/recording_status/{phone}`) and two of ours for the IVR's steps
//! (`/twilio/voice/menu/{phone}`, `/twilio/voice/recorded/{phone}`). The number is a Twilio
//! SMS inbox's: its Voice URL is pointed at `/twilio/voice/call/{digits}`. Every request is
//! verified like the inbox's SMS (`X-Twilio-Signature` over the URL and the form, with the
//! inbox's auth token): a wrong or missing signature is refused and nothing is recorded.
//!
//! ```text
//!  call ─► greeting ─► open + menu ─► Gather ─► key ─► team chosen ─► voicemail
//!                 └──► closed / no menu ───────────────────────────► voicemail
//!  voicemail: Record ─► recorded (goodbye) ; recording_status ─► message on the caller's
//!  conversation (channel pipeline) ; status ─► how the call ended
//! ```
//!
//! Not yet here: the queue and agents' phones (`<Enqueue>`/`<Dial>`), callbacks, calls from the
//! widget. Every caller leaves a voicemail for the team the menu chose.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use throughline_channels::{ChannelAdapter, RawInbound, Transport};
use throughline_core::messaging::{self, Provider};
use throughline_core::model::Inbox;
use throughline_core::voice::call::{Call, CallState};
use throughline_core::voice::ivr::{self, Urls, VoiceSettings};
use throughline_core::voice::twiml;
use throughline_service::voice::{self, Recording};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::channel_webhooks::{provider_inbox, read, refused};
use crate::error::{ApiError, ApiResult};
use crate::extract::Path;
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(call))
        .routes(routes!(menu))
        .routes(routes!(recorded))
        .routes(routes!(recording_status))
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

    fn urls(&self, state: &AppState, attempt: u8) -> Urls {
        let base = format!(
            "{}/twilio/voice",
            state.config.public_url.trim_end_matches('/')
        );
        Urls {
            menu: format!("{base}/menu/{}?attempt={attempt}", self.digits),
            recorded: format!("{base}/recorded/{}", self.digits),
            recording: format!("{base}/recording_status/{}", self.digits),
        }
    }

    async fn call(&self, state: &AppState) -> ApiResult<Call> {
        voice::find(&state.store, &self.inbox, self.required("CallSid")?)
            .await?
            .ok_or(ApiError::NotFound)
    }
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
    voice::incoming(&state.store, &v.inbox, sid, from, to).await?;
    let settings = v.settings();
    let hours = throughline_core::hours::Schedule::from_settings(&v.inbox.settings)
        .unwrap_or_else(|_| throughline_core::hours::Schedule::always());
    let open = hours.is_open(throughline_store::now_ms());
    Ok(twiml_response(&ivr::answer(
        &settings,
        &v.inbox.name,
        open,
        &v.urls(&state, 1),
    )))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
struct MenuQuery {
    /// Which try at the menu this is (1, 2).
    attempt: Option<u8>,
}

/// The key the caller pressed in the menu: the team chosen, then voicemail; a key that is no
/// option gets one more try.
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
    let verbs = match settings.choice(digits) {
        Some(option) => {
            voice::chose_team(&state.store, &call, option.team_id).await?;
            ivr::voicemail(&settings, &v.urls(&state, attempt))
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
            // Twilio serves the file with an extension; MP3 is the small one.
            url: format!(
                "{}.mp3",
                url.trim_end_matches(".mp3").trim_end_matches(".wav")
            ),
            content_type: "audio/mpeg",
            seconds,
        },
    )
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
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
