//! Phone calls as the team and reports read them: `GET /api/v1/accounts/{id}/calls`
//! (newest first; `conversation_id` for one conversation's), each with its direction, numbers,
//! times, wait, duration, outcome (answered, missed, abandoned, voicemail, callback), the
//! menu's team and the voicemail message. Agents see the calls of the inboxes they work.
//!
//! `POST …/calls` places a call for the agent (their own phone rings first, then the
//! customer's — Twilio's Calls API), to a conversation's customer, a contact, a number, or for
//! a callback request. Callback requests (`…/callback_requests`) are customers waiting to be
//! called back: asked for in the phone queue, in the widget, or noted by an agent; the waiting
//! come first in the order they are due.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use throughline_core::identity::normalize_phone;
use throughline_core::validate::optional_text;
use throughline_core::voice::call::{Call, CallbackSource, CallbackState};
use throughline_service::voice::{self as voice_service, Outbound, PlaceError};
use throughline_store::calls::{CallbackRequest, NewCallback};
use throughline_store::{AccountScope, accounts, calls, contacts, conversations};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Payload, payload};
use crate::error::{ApiError, ApiResult};
use crate::extract::{AccountCtx, Json, Path, Query};
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(list, place))
        .routes(routes!(wrap_up))
        .routes(routes!(metrics))
        .routes(routes!(recording))
        .routes(routes!(list_callbacks, request_callback))
        .routes(routes!(update_callback))
        .routes(routes!(widget_callback))
}

/// A call (times in Unix seconds, as Chatwoot's views give them).
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct CallView {
    id: i64,
    inbox_id: i64,
    /// The conversation's display id (the caller's conversation, once known).
    conversation_id: Option<i64>,
    contact_id: Option<i64>,
    /// The provider's id (Twilio's `CallSid`).
    call_sid: String,
    /// inbound or outbound.
    direction: &'static str,
    /// phone, web_voice or web_video (from the website widget).
    medium: &'static str,
    from_number: String,
    to_number: String,
    /// ringing, in_progress, completed, busy, no_answer, failed, canceled.
    status: &'static str,
    /// answered, missed, abandoned, voicemail (once the call ended).
    outcome: Option<&'static str>,
    team_id: Option<i64>,
    agent_id: Option<i64>,
    started_at: i64,
    answered_at: Option<i64>,
    ended_at: Option<i64>,
    /// Seconds, as the provider counts them.
    duration: Option<i64>,
    /// Seconds before an agent answered, or until the end.
    wait_seconds: Option<i64>,
    voicemail_message_id: Option<i64>,
    /// The agent's wrap-up: the disposition (the team's word for how it went) and notes.
    disposition: Option<String>,
    wrap_up_notes: Option<String>,
    wrapped_up_by: Option<i64>,
    wrapped_up_at: Option<i64>,
    /// An answered call's recording, played through Throughline with the caller's rights
    /// (`GET …/calls/{id}/recording`); absent when it was not recorded.
    recording_url: Option<String>,
    /// The recording's length in seconds.
    recording_duration: Option<i64>,
}

pub(super) fn view(c: &Call, conversation_display_id: Option<i64>) -> CallView {
    let secs = throughline_core::to_unix_seconds;
    CallView {
        id: c.id,
        inbox_id: c.inbox_id,
        conversation_id: conversation_display_id,
        contact_id: c.contact_id,
        call_sid: c.provider_id.clone(),
        direction: c.direction.as_str(),
        medium: c.medium.as_str(),
        from_number: c.from.clone(),
        to_number: c.to.clone(),
        status: c.state.as_str(),
        outcome: c.outcome.map(|o| o.as_str()),
        team_id: c.team_id,
        agent_id: c.agent_id,
        started_at: secs(c.started_at),
        answered_at: c.answered_at.map(secs),
        ended_at: c.ended_at.map(secs),
        duration: c.duration_seconds,
        wait_seconds: c.wait_seconds(),
        voicemail_message_id: c.voicemail_message_id,
        disposition: c.disposition.clone(),
        wrap_up_notes: c.wrap_up_notes.clone(),
        wrapped_up_by: c.wrapped_up_by,
        wrapped_up_at: c.wrapped_up_at.map(secs),
        recording_url: c
            .recording_provider_id
            .as_ref()
            .map(|_| format!("/api/v1/accounts/{}/calls/{}/recording", c.account_id, c.id)),
        recording_duration: c.recording_seconds,
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
struct CallQuery {
    /// One conversation's calls (its display id).
    conversation_id: Option<i64>,
    /// At most this many (default 50, at most 200).
    limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/calls", tag = "Calls",
    params(("account_id" = i64, Path), CallQuery), security(("userApiKey" = [])),
    responses((status = 200, body = Payload<Vec<CallView>>), (status = 404, body = crate::error::ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Query(query): Query<CallQuery>,
) -> ApiResult<axum::Json<Payload<Vec<CallView>>>> {
    let mut conn = state.store.read().await?;
    let conversation = match query.conversation_id {
        Some(display_id) => Some(
            conversations::get(&mut conn, &ctx.scope, display_id)
                .await?
                .id,
        ),
        None => None,
    };
    let limit = query.limit.unwrap_or(50).clamp(1, 200);
    let list = calls::list(&mut conn, &ctx.scope, conversation, limit).await?;
    Ok(payload(list.iter().map(|(c, d)| view(c, *d)).collect()))
}

#[derive(Deserialize, utoipa::IntoParams)]
struct MetricsQuery {
    /// From (Unix seconds; default: 7 days before `until`).
    since: Option<i64>,
    /// Until (Unix seconds, exclusive; default: the end of the current second).
    until: Option<i64>,
    /// One inbox's calls.
    inbox_id: Option<i64>,
    /// The service level's threshold in seconds (default 20).
    service_level_seconds: Option<i64>,
}

/// The most calls one report reads; past it the figures are of the first ones (`truncated`).
const METRICS_LIMIT: i64 = 100_000;

#[derive(Serialize, utoipa::ToSchema)]
struct CallMetricsView {
    since: i64,
    until: i64,
    /// The period held more calls than one report reads: the figures are of the first.
    truncated: bool,
    #[serde(flatten)]
    #[schema(value_type = Object)]
    metrics: throughline_core::voice::report::CallMetrics,
}

/// The calls report (supervisors and administrators): calls in and out, how inbound calls
/// ended, queue waits, the service level, talk time overall and per agent.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/calls/metrics", tag = "Calls",
    params(("account_id" = i64, Path), MetricsQuery), security(("userApiKey" = [])),
    responses((status = 200, body = CallMetricsView), (status = 403, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn metrics(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Query(query): Query<MetricsQuery>,
) -> ApiResult<axum::Json<CallMetricsView>> {
    ctx.require_supervisor()?;
    let now = throughline_core::to_unix_seconds(throughline_store::now_ms());
    // The current second included: a call that began a moment ago counts.
    // Moments from 1970 to the year 9999; anything else is no date.
    const LAST_SECOND: i64 = 253_402_300_799;
    for (field, value) in [("since", query.since), ("until", query.until)] {
        if value.is_some_and(|v| !(0..=LAST_SECOND).contains(&v)) {
            return Err(ApiError::invalid(
                field,
                "invalid",
                format!("{field} is a moment in Unix seconds"),
            ));
        }
    }
    let until = query.until.unwrap_or(now + 1);
    let since = query.since.unwrap_or(until - 7 * 86_400);
    if since >= until || until - since > 366 * 86_400 {
        return Err(ApiError::invalid(
            "since",
            "invalid",
            "since must come before until, at most a year apart",
        ));
    }
    let threshold = query.service_level_seconds.unwrap_or(20);
    if !(1..=3_600).contains(&threshold) {
        return Err(ApiError::invalid(
            "service_level_seconds",
            "invalid",
            "service_level_seconds is from 1 to 3600",
        ));
    }
    let mut conn = state.store.read().await?;
    let list = calls::started_between(
        &mut conn,
        &ctx.scope,
        since.saturating_mul(1000),
        until.saturating_mul(1000),
        query.inbox_id,
        METRICS_LIMIT,
    )
    .await?;
    Ok(axum::Json(CallMetricsView {
        since,
        until,
        truncated: list.len() as i64 >= METRICS_LIMIT,
        metrics: throughline_core::voice::report::metrics(&list, threshold),
    }))
}

/// An answered call's recording (MP3), played through Throughline with the caller's rights —
/// agents hear the calls of the inboxes they work — never from the provider's address. Fetched
/// from the provider now if it could not be when the call ended (502 while it still cannot).
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/calls/{call_id}/recording", tag = "Calls",
    params(("account_id" = i64, Path), ("call_id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, description = "The recording", content_type = "audio/mpeg"),
        (status = 404, body = crate::error::ErrorBody), (status = 502, body = crate::error::ErrorBody)))]
async fn recording(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, call_id)): Path<(i64, i64)>,
) -> ApiResult<axum::response::Response> {
    use axum::http::header::{
        CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS,
    };
    use axum::response::IntoResponse;
    let call = calls::get(&mut *state.store.read().await?, &ctx.scope, call_id).await?;
    let audio = voice_service::play_recording(
        &state.store,
        state.blobs.as_ref(),
        &state.clients,
        state.config.upload_limit,
        &call,
    )
    .await
    .map_err(|e| match e {
        voice_service::RecordingError::NotRecorded => ApiError::NotFound,
        voice_service::RecordingError::Provider(m) => ApiError::BadGateway(m),
        voice_service::RecordingError::Store(e) => e.into(),
    })?;
    Ok((
        [
            (CONTENT_TYPE, "audio/mpeg".to_owned()),
            (
                CONTENT_DISPOSITION,
                format!("inline; filename=\"call-{}.mp3\"", call.id),
            ),
            (X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (CACHE_CONTROL, "private, max-age=3600".to_owned()),
        ],
        audio,
    )
        .into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct WrapUpBody {
    /// How the call went, in the team's words ("resolved", "follow-up", "sale"…); at most 64
    /// characters; empty clears it.
    disposition: Option<String>,
    /// What the agent noted; at most 4,000 characters; empty clears them.
    notes: Option<String>,
}

/// The wrap-up after a call: its disposition and notes. The agent who took the call may write
/// it, as may supervisors and administrators; other agents may not (403).
#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/calls/{call_id}", tag = "Calls",
    params(("account_id" = i64, Path), ("call_id" = i64, Path)), request_body = WrapUpBody,
    security(("userApiKey" = [])),
    responses((status = 200, body = CallView), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn wrap_up(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, call_id)): Path<(i64, i64)>,
    Json(body): Json<WrapUpBody>,
) -> ApiResult<axum::Json<CallView>> {
    let user = ctx.require_user()?;
    let disposition = body
        .disposition
        .as_deref()
        .map(|d| optional_text("disposition", d, 64))
        .transpose()?
        .flatten();
    let notes = body
        .notes
        .as_deref()
        .map(|n| optional_text("notes", n, 4_000))
        .transpose()?
        .flatten();
    let mut tx = state.store.begin().await?;
    let call = calls::get(tx.conn(), &ctx.scope, call_id).await?;
    let supervises = ctx.role.is_some_and(|r| r.supervises());
    if call.agent_id != Some(user.id) && !supervises {
        return Err(ApiError::Forbidden(
            "only the agent who took the call, or a supervisor, wraps it up".into(),
        ));
    }
    // A field left out keeps what was there.
    let disposition = if body.disposition.is_some() {
        disposition
    } else {
        call.disposition.clone()
    };
    let notes = if body.notes.is_some() {
        notes
    } else {
        call.wrap_up_notes.clone()
    };
    let now = throughline_store::now_ms();
    calls::wrap_up(
        tx.conn(),
        &ctx.scope,
        call.id,
        user.id,
        disposition.as_deref(),
        notes.as_deref(),
        now,
    )
    .await?;
    let call = calls::get(tx.conn(), &ctx.scope, call.id).await?;
    let display_id = match call.conversation_id {
        Some(id) => Some(
            conversations::by_internal_id(tx.conn(), &ctx.scope, id)
                .await?
                .display_id,
        ),
        None => None,
    };
    tx.commit().await?;
    Ok(axum::Json(view(&call, display_id)))
}

/// Whom a call or a callback is for: a conversation's customer, a contact, or a number.
#[derive(Default)]
struct Whom {
    /// A conversation (display id): its customer, on it.
    conversation_id: Option<i64>,
    contact_id: Option<i64>,
    /// The number (international, with its country code); the contact's own by default.
    phone_number: Option<String>,
    /// The phone line (a Twilio number's inbox); the conversation's, else the first.
    inbox_id: Option<i64>,
}

/// A phone number people give, as E.164: it must carry its country code (callers and agents
/// are rung from anywhere).
pub(super) fn international(raw: &str) -> ApiResult<String> {
    let raw = raw.trim();
    normalize_phone(raw, None)
        .ok()
        .filter(|_| raw.starts_with('+'))
        .ok_or_else(|| {
            ApiError::invalid(
                "phone_number",
                "invalid",
                "phone_number is an international number with its country code, like +48 601 234 567",
            )
        })
}

/// The phone line calls go through (`preferred` when it takes calls), or why there is none.
async fn line(
    state: &AppState,
    scope: &AccountScope,
    preferred: Option<i64>,
) -> ApiResult<(
    throughline_core::model::Inbox,
    std::sync::Arc<dyn throughline_channels::ChannelAdapter>,
)> {
    voice_service::phone_line(&state.store, &state.clients, scope, preferred)
        .await?
        .ok_or_else(|| {
            ApiError::invalid(
                "inbox_id",
                "invalid",
                "no phone line here takes calls: connect a Twilio number with its own number",
            )
        })
}

/// Who and where, resolved within what the caller sees.
struct Resolved {
    contact_id: Option<i64>,
    conversation_id: Option<i64>,
    phone: String,
    preferred_inbox: Option<i64>,
}

async fn resolve(state: &AppState, scope: &AccountScope, whom: &Whom) -> ApiResult<Resolved> {
    let mut conn = state.store.read().await?;
    let conversation = match whom.conversation_id {
        Some(id) => Some(conversations::get(&mut conn, scope, id).await?),
        None => None,
    };
    let contact_id = whom
        .contact_id
        .or(conversation.as_ref().map(|c| c.contact_id));
    let contact = match contact_id {
        Some(id) => Some(contacts::get(&mut conn, scope, id).await?),
        None => None,
    };
    let raw = whom
        .phone_number
        .clone()
        .filter(|p| !p.trim().is_empty())
        .or_else(|| contact.as_ref().and_then(|c| c.phone_number.clone()))
        .ok_or_else(|| {
            ApiError::invalid(
                "phone_number",
                "blank",
                "phone_number is needed: the customer has no phone number",
            )
        })?;
    let phone = international(&raw)?;
    Ok(Resolved {
        contact_id: contact.map(|c| c.id),
        conversation_id: conversation.as_ref().map(|c| c.id),
        phone,
        preferred_inbox: whom.inbox_id.or(conversation.as_ref().map(|c| c.inbox_id)),
    })
}

#[derive(Deserialize, utoipa::ToSchema)]
struct PlaceBody {
    /// A conversation (display id): its customer, on it.
    conversation_id: Option<i64>,
    contact_id: Option<i64>,
    /// The number (international, with its country code); the contact's own by default.
    phone_number: Option<String>,
    /// The phone line (a Twilio number's inbox); the conversation's, else the first.
    inbox_id: Option<i64>,
    /// Calls back this request's customer (its number and line), marking it called.
    callback_request_id: Option<i64>,
}

/// Places a call for the agent: their own phone (from their profile) rings first; when they
/// pick up, the customer is dialled from the line's number. The call is theirs.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/calls", tag = "Calls",
    params(("account_id" = i64, Path)), request_body = PlaceBody, security(("userApiKey" = [])),
    responses((status = 200, body = CallView), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody),
        (status = 502, body = crate::error::ErrorBody)))]
async fn place(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Json(body): Json<PlaceBody>,
) -> ApiResult<axum::Json<CallView>> {
    let agent = ctx.require_user()?.clone();
    let (resolved, callback) = match body.callback_request_id {
        Some(id) => {
            let mut conn = state.store.read().await?;
            let request = calls::callback(&mut conn, &ctx.scope, id).await?;
            if request.state != CallbackState::Waiting {
                return Err(ApiError::Stale(format!(
                    "callback request {id} was {} already",
                    request.state.as_str()
                )));
            }
            let resolved = Resolved {
                contact_id: request.contact_id,
                conversation_id: request.conversation_id,
                phone: request.phone.clone(),
                preferred_inbox: Some(request.inbox_id),
            };
            (resolved, Some(id))
        }
        None => {
            let whom = Whom {
                conversation_id: body.conversation_id,
                contact_id: body.contact_id,
                phone_number: body.phone_number,
                inbox_id: body.inbox_id,
            };
            (resolve(&state, &ctx.scope, &whom).await?, None)
        }
    };
    let agent_phone = {
        let mut conn = state.store.read().await?;
        accounts::phone_of_unscoped(&mut conn, agent.id).await?
    }
    .ok_or_else(|| {
        ApiError::Unprocessable(
            "your phone is rung first: set your phone number in your profile".into(),
        )
    })?;
    let (inbox, adapter) = line(&state, &ctx.scope, resolved.preferred_inbox).await?;
    let Some(voice_calls) = adapter.voice() else {
        return Err(ApiError::NotFound);
    };
    let base = format!(
        "{}/twilio/voice",
        state.config.public_url.trim_end_matches('/')
    );
    let digits: String = voice_calls
        .line_number()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let placed = voice_service::place(
        &state.store,
        voice_calls,
        &Outbound {
            inbox: &inbox,
            agent_id: agent.id,
            agent_phone: &agent_phone,
            to: &resolved.phone,
            contact_id: resolved.contact_id,
            conversation_id: resolved.conversation_id,
            callback_id: callback,
            answered_url: format!("{base}/outbound/{digits}"),
            status_url: format!("{base}/status/{digits}"),
        },
    )
    .await;
    let call = match placed {
        Ok(call) => call,
        Err(PlaceError::NotWaiting) => {
            return Err(ApiError::Stale(
                "this callback request was called or canceled already".into(),
            ));
        }
        Err(PlaceError::Provider(words)) => return Err(ApiError::BadGateway(words)),
        Err(PlaceError::Store(e)) => return Err(e.into()),
    };
    let display = match call.conversation_id {
        Some(id) => {
            let mut conn = state.store.read().await?;
            Some(
                conversations::by_internal_id(&mut conn, &ctx.scope, id)
                    .await?
                    .display_id,
            )
        }
        None => None,
    };
    Ok(axum::Json(view(&call, display)))
}

/// A callback request (times in Unix seconds).
#[derive(Serialize, utoipa::ToSchema)]
struct CallbackView {
    id: i64,
    inbox_id: i64,
    contact_id: Option<i64>,
    /// The conversation's display id.
    conversation_id: Option<i64>,
    phone_number: String,
    /// ivr, widget or agent.
    source: &'static str,
    note: Option<String>,
    /// When the customer would like the call.
    preferred_at: Option<i64>,
    /// waiting, called or canceled.
    status: &'static str,
    requested_at: i64,
    created_by: Option<i64>,
    /// The call they asked from (the phone queue).
    from_call_id: Option<i64>,
    /// The call placed for it.
    call_id: Option<i64>,
}

fn callback_view(r: &CallbackRequest) -> CallbackView {
    let secs = throughline_core::to_unix_seconds;
    CallbackView {
        id: r.id,
        inbox_id: r.inbox_id,
        contact_id: r.contact_id,
        conversation_id: r.conversation_display_id,
        phone_number: r.phone.clone(),
        source: r.source.as_str(),
        note: r.note.clone(),
        preferred_at: r.preferred_at.map(secs),
        status: r.state.as_str(),
        requested_at: secs(r.requested_at),
        created_by: r.created_by,
        from_call_id: r.from_call_id,
        call_id: r.call_id,
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
struct CallbackQuery {
    /// waiting (the default), called, canceled or all.
    status: Option<String>,
}

/// Customers waiting to be called back (or those called, canceled, all): the waiting in the
/// order they are due.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/callback_requests", tag = "Calls",
    params(("account_id" = i64, Path), CallbackQuery), security(("userApiKey" = [])),
    responses((status = 200, body = Payload<Vec<CallbackView>>), (status = 422, body = crate::error::ErrorBody)))]
async fn list_callbacks(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Query(query): Query<CallbackQuery>,
) -> ApiResult<axum::Json<Payload<Vec<CallbackView>>>> {
    let wanted = match query.status.as_deref() {
        None | Some("") => Some(CallbackState::Waiting),
        Some("all") => None,
        Some(s) => Some(CallbackState::parse(s).ok_or_else(|| {
            ApiError::invalid(
                "status",
                "inclusion",
                "status is waiting, called, canceled or all",
            )
        })?),
    };
    let mut conn = state.store.read().await?;
    let list = calls::callbacks(&mut conn, &ctx.scope, wanted, 200).await?;
    Ok(payload(list.iter().map(callback_view).collect()))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct CallbackBody {
    /// A conversation (display id): its customer, on it.
    conversation_id: Option<i64>,
    contact_id: Option<i64>,
    /// The number (international, with its country code); the contact's own by default.
    phone_number: Option<String>,
    /// The phone line (a Twilio number's inbox); the conversation's, else the first.
    inbox_id: Option<i64>,
    /// When the customer would like the call (Unix seconds).
    preferred_at: Option<i64>,
    note: Option<String>,
}

/// Notes that a customer wants a call back (from a conversation, a contact or a number).
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/callback_requests", tag = "Calls",
    params(("account_id" = i64, Path)), request_body = CallbackBody, security(("userApiKey" = [])),
    responses((status = 200, body = CallbackView), (status = 404, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn request_callback(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Json(body): Json<CallbackBody>,
) -> ApiResult<axum::Json<CallbackView>> {
    let agent = ctx.require_user()?.clone();
    let whom = Whom {
        conversation_id: body.conversation_id,
        contact_id: body.contact_id,
        phone_number: body.phone_number.clone(),
        inbox_id: body.inbox_id,
    };
    let resolved = resolve(&state, &ctx.scope, &whom).await?;
    let note = body
        .note
        .as_deref()
        .map(|n| optional_text("note", n, 1_000))
        .transpose()?
        .flatten();
    let preferred_at = preferred_at(body.preferred_at)?;
    let (inbox, _) = line(&state, &ctx.scope, resolved.preferred_inbox).await?;
    let mut tx = state.store.begin().await?;
    let request = calls::request_callback(
        tx.conn(),
        &ctx.scope,
        &NewCallback {
            inbox_id: inbox.id,
            contact_id: resolved.contact_id,
            conversation_id: resolved.conversation_id,
            phone: &resolved.phone,
            source: CallbackSource::Agent,
            note: note.as_deref(),
            preferred_at,
            requested_at: throughline_store::now_ms(),
            created_by: Some(agent.id),
            from_call_id: None,
        },
    )
    .await?;
    tx.commit().await?;
    let view = callback_view(&request);
    Ok(axum::Json(view))
}

/// A preferred time in Unix seconds, as milliseconds; a time before 2000 or past 2100 is no
/// time anyone meant.
pub(super) fn preferred_at(raw: Option<i64>) -> ApiResult<Option<i64>> {
    match raw {
        None => Ok(None),
        Some(s) if (946_684_800..4_102_444_800).contains(&s) => Ok(Some(s * 1000)),
        Some(_) => Err(ApiError::invalid(
            "preferred_at",
            "invalid",
            "preferred_at is a time in Unix seconds",
        )),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
struct CallbackUpdate {
    /// canceled: withdrawn (the customer reached us otherwise).
    status: String,
}

/// Withdraws a waiting callback request.
#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/callback_requests/{id}", tag = "Calls",
    params(("account_id" = i64, Path), ("id" = i64, Path)), request_body = CallbackUpdate,
    security(("userApiKey" = [])),
    responses((status = 200, body = CallbackView), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn update_callback(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
    Json(body): Json<CallbackUpdate>,
) -> ApiResult<axum::Json<CallbackView>> {
    if body.status != "canceled" {
        return Err(ApiError::invalid(
            "status",
            "inclusion",
            "a callback request can only be canceled here (placing the call marks it called)",
        ));
    }
    let mut tx = state.store.begin().await?;
    calls::callback(tx.conn(), &ctx.scope, id).await?;
    if !calls::settle_callback(tx.conn(), &ctx.scope, id, CallbackState::Canceled, None).await? {
        return Err(ApiError::Stale(format!(
            "callback request {id} is not waiting"
        )));
    }
    let request = calls::callback(tx.conn(), &ctx.scope, id).await?;
    tx.commit().await?;
    let view = callback_view(&request);
    Ok(axum::Json(view))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct WidgetCallbackBody {
    /// The visitor's number (international, with its country code).
    phone_number: String,
    /// When they would like the call (Unix seconds).
    preferred_at: Option<i64>,
    note: Option<String>,
}

/// What the widget shows of the visitor's request.
#[derive(Serialize, utoipa::ToSchema)]
struct WidgetCallbackView {
    id: i64,
    phone_number: String,
    preferred_at: Option<i64>,
    /// waiting, called or canceled.
    status: &'static str,
}

/// "Call me back" in the website widget: the visitor's number and a preferred time join the
/// account's callback requests, on their conversation. Asked again while waiting, the first
/// request stands.
#[utoipa::path(post, path = "/public/api/v1/inboxes/{inbox_identifier}/contacts/{contact_identifier}/callback_requests", tag = "Client API",
    params(("inbox_identifier" = String, Path), ("contact_identifier" = String, Path)),
    request_body = WidgetCallbackBody,
    responses((status = 200, body = WidgetCallbackView), (status = 404, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn widget_callback(
    State(state): State<AppState>,
    Path((inbox_id, contact_id)): Path<(String, String)>,
    Json(body): Json<WidgetCallbackBody>,
) -> ApiResult<axum::Json<WidgetCallbackView>> {
    let phone = international(&body.phone_number)?;
    let note = body
        .note
        .as_deref()
        .map(|n| optional_text("note", n, 1_000))
        .transpose()?
        .flatten();
    let preferred_at = preferred_at(body.preferred_at)?;
    let v = super::public::visitor(&state, &inbox_id, &contact_id).await?;
    // A website asks only when its administrator offers it (the form is in its widget).
    if v.inbox.channel_type == throughline_core::model::ChannelType::WebWidget
        && !throughline_core::voice::web_call::WebCallSettings::of(&v.inbox).callbacks
    {
        return Err(ApiError::Unprocessable(
            "this website does not take callback requests".into(),
        ));
    }
    let system = AccountScope::system(v.inbox.account_id);
    let (line, _) = voice_service::phone_line(&state.store, &state.clients, &system, None)
        .await?
        .ok_or_else(|| ApiError::Unprocessable("this team takes no phone calls".into()))?;
    let conversation = {
        let mut conn = state.store.read().await?;
        v.conversations(&mut conn)
            .await?
            .into_iter()
            .max_by_key(|c| c.id)
    };
    let mut tx = state.store.begin().await?;
    let request = calls::request_callback(
        tx.conn(),
        &system,
        &NewCallback {
            inbox_id: line.id,
            contact_id: Some(v.contact.id),
            conversation_id: conversation.map(|c| c.id),
            phone: &phone,
            source: CallbackSource::Widget,
            note: note.as_deref(),
            preferred_at,
            requested_at: throughline_store::now_ms(),
            created_by: None,
            from_call_id: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(axum::Json(WidgetCallbackView {
        id: request.id,
        phone_number: request.phone,
        preferred_at: request.preferred_at.map(throughline_core::to_unix_seconds),
        status: request.state.as_str(),
    }))
}
