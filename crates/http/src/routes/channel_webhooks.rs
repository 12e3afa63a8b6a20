//! Where providers call us. Every entry finds the inbox the request names, hands the raw
//! request to that inbox's channel adapter (verify, parse), stores what it carried through
//! `service::inbound`, and answers the provider only after the commit — so "acknowledged means
//! durable" and de-duplication by the provider's id hold for every channel by construction.
//!
//! - `POST /webhooks/inboxes/{inbox_identifier}`: Throughline's own entry (the email relay).
//! - Chatwoot's provider paths, so a team moving from Chatwoot changes nothing at the
//!   provider: `POST /twilio/callback` and `/twilio/delivery_status`,
//!   `GET|POST /webhooks/whatsapp/{phone_number}`, `POST /webhooks/telegram/{bot_token}`,
//!   `GET|POST /bot` (Messenger) and `GET|POST /webhooks/instagram`.
//!
//! An unknown number, bot or page is a 404 that says nothing of which exist; a bad signature
//! is a 401 logged with the inbox, and nothing is stored.

use std::sync::Arc;

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use throughline_channels::registry::{self, ChannelConfig};
use throughline_channels::{ChannelAdapter, ProviderAnswer, RawInbound, Rejected, Transport};
use throughline_core::messaging::{self, Provider};
use throughline_core::model::Inbox;
use throughline_service::adapters;
use throughline_service::inbound::{Intake, receive_from_channel};
use throughline_store::{inboxes, providers};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult};
use crate::extract::Path;
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(receive))
        .routes(routes!(twilio_callback))
        .routes(routes!(twilio_delivery_status))
        .routes(routes!(whatsapp_handshake, whatsapp_receive))
        .routes(routes!(telegram_receive))
        .routes(routes!(messenger_handshake, messenger_receive))
        .routes(routes!(instagram_handshake, instagram_receive))
}

/// A provider delivers what happened at its end: messages, delivery reports. Verified by the
/// inbox's channel (email: `X-Throughline-Signature: sha256=<HMAC-SHA256 of the body under the
/// inbox's secret>` over the raw RFC 5322 message). A repeat of the same message is answered
/// like the first and stored once.
#[utoipa::path(post, path = "/webhooks/inboxes/{inbox_identifier}", tag = "Channels",
    params(("inbox_identifier" = String, Path)),
    request_body(content = String, content_type = "message/rfc822", description = "The provider's payload, as it sends it"),
    responses((status = 200, description = "Stored; the channel's answer to its provider"),
        (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
        (status = 413, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody),
        (status = 503, body = crate::error::ErrorBody)))]
async fn receive(
    State(state): State<AppState>,
    Path(identifier): Path<String>,
    req: Request,
) -> ApiResult<Response> {
    let inbox = super::public::find_inbox(&state, &identifier).await?;
    let adapter = {
        let mut conn = state.store.read().await?;
        // The outer `?` carries database errors (503); the inner error only says the inbox's
        // channel takes no provider requests (yet).
        adapters::for_inbox(&mut conn, &state.store, &inbox, &state.clients)
            .await?
            .map_err(|_no_adapter| ApiError::NotFound)?
    };
    let (uri, headers, body) = read(&state, req).await?;
    take(&state, &inbox, adapter.as_ref(), &uri, &headers, &body).await
}

/// The request's parts, its body read up to the upload limit. Fails only past the limit or
/// when the provider broke the connection mid-body (then nobody reads the answer).
pub(super) async fn read(state: &AppState, req: Request) -> ApiResult<(Uri, HeaderMap, Bytes)> {
    let (parts, body) = req.into_parts();
    let limit = state.config.upload_limit;
    let body = to_bytes(body, limit).await.map_err(|_too_large| {
        ApiError::TooLarge(format!("the payload is larger than {} MiB", limit >> 20))
    })?;
    Ok((parts.uri, parts.headers, body))
}

/// Verify, parse, store, answer.
async fn take(
    state: &AppState,
    inbox: &Inbox,
    adapter: &dyn ChannelAdapter,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> ApiResult<Response> {
    // Twilio signs the URL it called: ours as the public sees it.
    let url = format!(
        "{}{}",
        state.config.public_url,
        uri.path_and_query().map_or("", |p| p.as_str())
    );
    let raw = RawInbound {
        transport: Transport::Webhook,
        headers,
        body,
        envelope_from: None,
        url: Some(&url),
    };
    if let Err(refusal) = adapter.verify(&raw) {
        tracing::warn!(inbox_id = inbox.id, reason = %refusal.reason,
            "refused a provider request that failed verification");
        return Err(refused(refusal));
    }
    let items = adapter.parse(&raw).map_err(|r| {
        tracing::info!(inbox_id = inbox.id, reason = %r.reason, "refused an unreadable provider request");
        refused(r)
    })?;
    let stored = items.len();
    let intake = Intake {
        store: &state.store,
        blobs: state.blobs.as_ref(),
        inbox,
        adapter,
        media_limit: state.config.upload_limit,
    };
    for item in items {
        // An error here (the database away) answers 503: the provider retries, and the
        // items already stored are recognised by their ids.
        receive_from_channel(intake, item).await?;
    }
    Ok(answer(adapter.answer(stored)))
}

fn answer(a: ProviderAnswer) -> Response {
    let mut resp = Response::new(Body::from(a.body));
    *resp.status_mut() = StatusCode::from_u16(a.status).unwrap_or(StatusCode::OK);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(a.content_type),
    );
    resp.into_response()
}

pub(super) fn refused(r: Rejected) -> ApiError {
    match r.status {
        401 => ApiError::Unauthorized(r.reason),
        403 => ApiError::Forbidden(r.reason),
        404 => ApiError::NotFound,
        413 => ApiError::TooLarge(r.reason),
        415 => ApiError::UnsupportedMedia(r.reason),
        422 => ApiError::Unprocessable(r.reason),
        _ => ApiError::BadRequest(r.reason),
    }
}

/// The inbox (and its adapter) a provider's webhook names; 404 for anything unknown.
pub(super) async fn provider_inbox(
    state: &AppState,
    provider: Provider,
    route_key: &str,
) -> ApiResult<(Inbox, Arc<dyn ChannelAdapter>)> {
    let mut conn = state.store.read().await?;
    let channel = providers::by_route_unscoped(&mut conn, state.store.key(), provider, route_key)
        .await?
        .ok_or(ApiError::NotFound)?;
    let inbox = inboxes::get_unscoped(&mut conn, state.store.key(), channel.inbox_id).await?;
    let adapter = registry::adapter_for(
        &inbox,
        ChannelConfig::Provider(Box::new(channel.settings)),
        &state.clients,
    )
    .ok_or(ApiError::NotFound)?;
    Ok((inbox, adapter))
}

fn form_field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// Twilio names the inbox by account and messaging service, or account and our number (`To`
/// on a customer's message, `From` on a status callback).
async fn twilio(state: AppState, req: Request, our_number_field: &str) -> ApiResult<Response> {
    let (uri, headers, body) = read(&state, req).await?;
    let pairs: Vec<(String, String)> = serde_html_form::from_bytes(&body).unwrap_or_default();
    let account = form_field(&pairs, "AccountSid")
        .ok_or_else(|| ApiError::Unprocessable("AccountSid is missing".into()))?;
    let mut found = None;
    if let Some(service) = form_field(&pairs, "MessagingServiceSid") {
        match provider_inbox(
            &state,
            Provider::Twilio,
            &messaging::twilio_route(account, service),
        )
        .await
        {
            Ok(f) => found = Some(f),
            Err(ApiError::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    let (inbox, adapter) = match found {
        Some(f) => f,
        None => {
            let number = form_field(&pairs, our_number_field)
                .ok_or_else(|| ApiError::Unprocessable(format!("{our_number_field} is missing")))?;
            provider_inbox(
                &state,
                Provider::Twilio,
                &messaging::twilio_route(account, number),
            )
            .await?
        }
    };
    take(&state, &inbox, adapter.as_ref(), &uri, &headers, &body).await
}

/// A customer's SMS or WhatsApp message through Twilio (form-encoded, `X-Twilio-Signature`).
/// Answered with empty TwiML.
#[utoipa::path(post, path = "/twilio/callback", tag = "Channels",
    request_body(content = String, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "Stored"), (status = 401, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn twilio_callback(State(state): State<AppState>, req: Request) -> ApiResult<Response> {
    twilio(state, req, "To").await
}

/// Twilio's status callback for a message we sent (queued → sent → delivered → read, or
/// failed/undelivered with its `ErrorCode`).
#[utoipa::path(post, path = "/twilio/delivery_status", tag = "Channels",
    request_body(content = String, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "Recorded"), (status = 401, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn twilio_delivery_status(
    State(state): State<AppState>,
    req: Request,
) -> ApiResult<Response> {
    twilio(state, req, "From").await
}

/// Meta's subscription handshake for a WhatsApp Cloud number: `hub.challenge` is echoed when
/// `hub.verify_token` is the inbox's.
#[utoipa::path(get, path = "/webhooks/whatsapp/{phone_number}", tag = "Channels",
    params(("phone_number" = String, Path)),
    responses((status = 200, description = "The challenge"), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
async fn whatsapp_handshake(
    State(state): State<AppState>,
    Path(phone): Path<String>,
    uri: Uri,
) -> ApiResult<Response> {
    let (_, adapter) = provider_inbox(
        &state,
        Provider::WhatsappCloud,
        &messaging::whatsapp_route(&phone),
    )
    .await?;
    let query = uri.query().unwrap_or_default();
    adapter.handshake(query).map(answer).map_err(refused)
}

/// WhatsApp Cloud API webhooks (messages and statuses), `X-Hub-Signature-256` with the app
/// secret.
#[utoipa::path(post, path = "/webhooks/whatsapp/{phone_number}", tag = "Channels",
    params(("phone_number" = String, Path)),
    request_body(content = Object, content_type = "application/json"),
    responses((status = 200, description = "Stored"), (status = 401, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn whatsapp_receive(
    State(state): State<AppState>,
    Path(phone): Path<String>,
    req: Request,
) -> ApiResult<Response> {
    let (inbox, adapter) = provider_inbox(
        &state,
        Provider::WhatsappCloud,
        &messaging::whatsapp_route(&phone),
    )
    .await?;
    let (uri, headers, body) = read(&state, req).await?;
    take(&state, &inbox, adapter.as_ref(), &uri, &headers, &body).await
}

/// Telegram Bot API updates, `X-Telegram-Bot-Api-Secret-Token` as registered by `setWebhook`.
#[utoipa::path(post, path = "/webhooks/telegram/{bot_token}", tag = "Channels",
    params(("bot_token" = String, Path)),
    request_body(content = Object, content_type = "application/json"),
    responses((status = 200, description = "Stored"), (status = 401, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn telegram_receive(
    State(state): State<AppState>,
    Path(token): Path<String>,
    req: Request,
) -> ApiResult<Response> {
    let (inbox, adapter) = provider_inbox(
        &state,
        Provider::Telegram,
        &messaging::telegram_route(&token),
    )
    .await?;
    let (uri, headers, body) = read(&state, req).await?;
    take(&state, &inbox, adapter.as_ref(), &uri, &headers, &body).await
}

/// Messenger's and Instagram's shared paths name no page: the handshake accepts the instance's
/// verify token or one an inbox was given.
async fn meta_handshake(state: &AppState, uri: &Uri, surfaces: &[Provider]) -> ApiResult<Response> {
    let query = uri.query().unwrap_or_default();
    let pairs: Vec<(String, String)> =
        serde_html_form::from_bytes(query.as_bytes()).unwrap_or_default();
    let token = form_field(&pairs, "hub.verify_token").unwrap_or_default();
    let instance = state
        .clients
        .providers
        .meta_verify_token
        .as_deref()
        .is_some_and(|t| {
            throughline_core::crypto::constant_time_eq(t.as_bytes(), token.as_bytes())
        });
    let known = instance || {
        let mut conn = state.store.read().await?;
        !token.is_empty() && providers::verify_token_known(&mut conn, surfaces, token).await?
    };
    throughline_channels::hub_challenge(query, |_| known)
        .map(answer)
        .map_err(refused)
}

/// A Messenger or Instagram webhook: each page it names is handed to that page's inbox (which
/// checks the signature and takes only its own entries).
async fn meta_receive(state: AppState, req: Request, provider: Provider) -> ApiResult<Response> {
    let (uri, headers, body) = read(&state, req).await?;
    let root: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::Unprocessable(format!("the webhook is not JSON: {e}")))?;
    let mut pages: Vec<String> = root["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| match &e["id"] {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .collect();
    pages.sort();
    pages.dedup();
    if pages.is_empty() {
        return Err(ApiError::Unprocessable("the webhook names no page".into()));
    }
    // One app's webhooks batch every page it is subscribed to; pages no inbox serves here are
    // skipped (a 404 would make Meta retry, then disable the subscription), but a body that
    // names none of ours is refused as unknown.
    let mut served = Vec::new();
    for page in pages {
        match provider_inbox(&state, provider, &page).await {
            Ok(found) => served.push(found),
            Err(ApiError::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    let mut last = None;
    for (inbox, adapter) in served {
        last = Some(take(&state, &inbox, adapter.as_ref(), &uri, &headers, &body).await?);
    }
    last.ok_or(ApiError::NotFound)
}

/// Messenger's subscription handshake.
#[utoipa::path(get, path = "/bot", tag = "Channels",
    responses((status = 200, description = "The challenge"), (status = 403, body = crate::error::ErrorBody)))]
async fn messenger_handshake(State(state): State<AppState>, uri: Uri) -> ApiResult<Response> {
    meta_handshake(&state, &uri, &[Provider::FacebookPage]).await
}

/// Messenger webhooks (`object: page`), `X-Hub-Signature-256` with the app secret.
#[utoipa::path(post, path = "/bot", tag = "Channels",
    request_body(content = Object, content_type = "application/json"),
    responses((status = 200, description = "Stored"), (status = 401, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn messenger_receive(State(state): State<AppState>, req: Request) -> ApiResult<Response> {
    meta_receive(state, req, Provider::FacebookPage).await
}

/// Instagram's subscription handshake.
#[utoipa::path(get, path = "/webhooks/instagram", tag = "Channels",
    responses((status = 200, description = "The challenge"), (status = 403, body = crate::error::ErrorBody)))]
async fn instagram_handshake(State(state): State<AppState>, uri: Uri) -> ApiResult<Response> {
    meta_handshake(&state, &uri, &[Provider::Instagram]).await
}

/// Instagram messaging webhooks (`object: instagram`).
#[utoipa::path(post, path = "/webhooks/instagram", tag = "Channels",
    request_body(content = Object, content_type = "application/json"),
    responses((status = 200, description = "Stored"), (status = 401, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn instagram_receive(State(state): State<AppState>, req: Request) -> ApiResult<Response> {
    meta_receive(state, req, Provider::Instagram).await
}
