//! The one HTTP entry every provider calls (`POST /webhooks/inboxes/{inbox_identifier}`): the
//! inbox is looked up, the raw request handed to its channel adapter (verify, parse), what it
//! carried stored through `service::inbound`, and the provider answered only after the
//! commit — so "acknowledged means durable" and de-duplication by the provider's id hold for
//! every channel by construction. Today the email channel takes raw MIME here, signed with
//! the inbox secret (a mail server's pipe, an inbound-parse relay); the messaging channels
//! plug into the same entry.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use throughline_channels::{RawInbound, Rejected, Transport};
use throughline_service::adapters;
use throughline_service::inbound::receive_from_channel;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult};
use crate::extract::Path;
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(receive))
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
    let (parts, body) = req.into_parts();
    let limit = state.config.upload_limit;
    // Fails only past the limit or when the provider broke the connection mid-body (then
    // nobody reads the answer).
    let body = to_bytes(body, limit).await.map_err(|_too_large| {
        ApiError::TooLarge(format!("the payload is larger than {} MiB", limit >> 20))
    })?;
    let raw = RawInbound {
        transport: Transport::Webhook,
        headers: &parts.headers,
        body: &body,
        envelope_from: None,
    };
    adapter.verify(&raw).map_err(refused)?;
    let items = adapter.parse(&raw).map_err(refused)?;
    let stored = items.len();
    for item in items {
        // An error here (the database away) answers 503: the provider retries, and the
        // items already stored are recognised by their ids.
        receive_from_channel(&state.store, state.blobs.as_ref(), &inbox, item).await?;
    }
    let answer = adapter.answer(stored);
    let mut resp = Response::new(Body::from(answer.body));
    *resp.status_mut() = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(answer.content_type),
    );
    Ok(resp.into_response())
}

fn refused(r: Rejected) -> ApiError {
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
