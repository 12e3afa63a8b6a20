//! Throughline's omnichannel extensions to the Application API: business events on a
//! contact's journey, merge suggestions, and the channels a reply can go through.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use throughline_core::reply_channel::Unavailable;
use throughline_core::to_unix_seconds;
use throughline_core::validate::{json_object, optional_text, required_text};
use throughline_store::business_events::{self, BusinessEvent, NewBusinessEvent};
use throughline_store::suggestions::{self, Suggestion};
use throughline_store::{conversations, reply_channels};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Payload, payload};
use crate::error::{ApiError, ApiResult};
use crate::extract::{AccountCtx, Json, Path, Query};
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(list_events, create_event))
        .routes(routes!(contact_suggestions))
        .routes(routes!(account_suggestions))
        .routes(routes!(dismiss_suggestion))
        .routes(routes!(reply_channel_options))
}

/// A business event as the API shows it (times in Unix seconds).
#[derive(Serialize, utoipa::ToSchema)]
struct BusinessEventView {
    id: i64,
    contact_id: i64,
    event_id: String,
    #[serde(rename = "type")]
    event_type: String,
    title: Option<String>,
    #[schema(value_type = Object)]
    properties: Value,
    occurred_at: i64,
    created_at: i64,
}

impl From<&BusinessEvent> for BusinessEventView {
    fn from(e: &BusinessEvent) -> Self {
        Self {
            id: e.id,
            contact_id: e.contact_id,
            event_id: e.external_id.clone(),
            event_type: e.event_type.clone(),
            title: e.title.clone(),
            properties: e.properties.clone(),
            occurred_at: to_unix_seconds(e.occurred_at),
            created_at: to_unix_seconds(e.created_at),
        }
    }
}

/// A business event posted by another system (shop, billing, logistics).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewEventBody {
    /// Your id for the event: posting it again returns the stored event, unchanged.
    event_id: String,
    /// Lower-case name such as `order_placed`, `payment_failed`, `cart_abandoned`.
    #[serde(rename = "type")]
    event_type: String,
    title: Option<String>,
    /// When it happened, Unix seconds; now when absent.
    occurred_at: Option<i64>,
    /// Free-form details (items, total, currency, tracking URL…), at most 16 KB.
    #[schema(value_type = Object)]
    properties: Option<Value>,
}

const MAX_PROPERTIES_BYTES: usize = 16 * 1024;

fn event_type(raw: &str) -> ApiResult<String> {
    let t = raw.trim();
    let ok = !t.is_empty()
        && t.len() <= 64
        && t.starts_with(|c: char| c.is_ascii_lowercase())
        && t.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.');
    if ok {
        Ok(t.to_owned())
    } else {
        Err(ApiError::invalid(
            "type",
            "invalid",
            "type must be 1–64 lower-case letters, digits, `_` or `.`, starting with a letter",
        ))
    }
}

/// Records a business event on the contact's journey; idempotent by `event_id` (201 when
/// recorded, 200 when it already was).
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/contacts/{id}/events", tag = "Journey",
    params(("account_id" = i64, Path), ("id" = i64, Path)), request_body = NewEventBody, security(("userApiKey" = [])),
    responses((status = 201, body = BusinessEventView), (status = 200, body = BusinessEventView),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn create_event(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
    Json(body): Json<NewEventBody>,
) -> ApiResult<(StatusCode, axum::Json<BusinessEventView>)> {
    let external_id = required_text("event_id", &body.event_id, 200)?;
    let event_type = event_type(&body.event_type)?;
    let title = body
        .title
        .as_deref()
        .map(|t| optional_text("title", t, 255))
        .transpose()?
        .flatten();
    let properties = body.properties.unwrap_or_else(|| serde_json::json!({}));
    json_object("properties", &properties)?;
    if properties.to_string().len() > MAX_PROPERTIES_BYTES {
        return Err(ApiError::invalid(
            "properties",
            "too_long",
            "properties must be at most 16 KB of JSON",
        ));
    }
    let occurred_at = match body.occurred_at {
        // Seconds between 1970 and 2200: anything else is a unit mistake (milliseconds).
        Some(s) if !(0..=7_258_118_400).contains(&s) => {
            return Err(ApiError::invalid(
                "occurred_at",
                "invalid",
                "occurred_at must be Unix seconds",
            ));
        }
        Some(s) => Some(s * 1000),
        None => None,
    };
    let mut tx = state.store.begin().await?;
    let (event, created) = business_events::record_event(
        &mut tx,
        &ctx.scope,
        id,
        NewBusinessEvent {
            external_id,
            event_type,
            title,
            properties,
            occurred_at,
        },
    )
    .await?;
    tx.commit().await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, axum::Json(BusinessEventView::from(&event))))
}

#[derive(Deserialize, utoipa::IntoParams)]
struct EventParams {
    /// Only events of this type (e.g. `order_placed` for the last orders).
    #[serde(rename = "type")]
    event_type: Option<String>,
    /// At most this many, newest first (default 50, at most 200).
    limit: Option<i64>,
}

/// The contact's business events, newest first.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/contacts/{id}/events", tag = "Journey",
    params(("account_id" = i64, Path), ("id" = i64, Path), EventParams), security(("userApiKey" = [])),
    responses((status = 200, body = Payload<Vec<BusinessEventView>>), (status = 404, body = crate::error::ErrorBody)))]
async fn list_events(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
    Query(params): Query<EventParams>,
) -> ApiResult<axum::Json<Payload<Vec<BusinessEventView>>>> {
    let event_type = params.event_type.as_deref().map(event_type).transpose()?;
    let limit = params.limit.unwrap_or(50).clamp(1, 200);
    let mut conn = state.store.read().await?;
    throughline_store::contacts::get(&mut conn, &ctx.scope, id).await?;
    let list = business_events::of_contact(&mut conn, &ctx.scope, id, event_type.as_deref(), limit)
        .await?;
    Ok(payload(list.iter().map(BusinessEventView::from).collect()))
}

#[derive(Serialize, utoipa::ToSchema)]
struct SuggestionView {
    id: i64,
    contact_id: i64,
    candidate_id: i64,
    /// same_address_unverified, ambiguous, similar_email, email_mentioned…
    reason: String,
    detail: Option<String>,
    status: String,
    created_at: i64,
}

impl From<&Suggestion> for SuggestionView {
    fn from(s: &Suggestion) -> Self {
        Self {
            id: s.id,
            contact_id: s.contact_id,
            candidate_id: s.candidate_id,
            reason: s.reason.clone(),
            detail: s.detail.clone(),
            status: s.status.clone(),
            created_at: to_unix_seconds(s.created_at),
        }
    }
}

/// Contacts that may be the same person as this one, with the reason.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/contacts/{id}/merge_suggestions", tag = "Journey",
    params(("account_id" = i64, Path), ("id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Payload<Vec<SuggestionView>>), (status = 404, body = crate::error::ErrorBody)))]
async fn contact_suggestions(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<Payload<Vec<SuggestionView>>>> {
    let mut conn = state.store.read().await?;
    throughline_store::contacts::get(&mut conn, &ctx.scope, id).await?;
    let list = suggestions::open(&mut conn, &ctx.scope, Some(id), 100).await?;
    Ok(payload(list.iter().map(SuggestionView::from).collect()))
}

/// Every open merge suggestion of the account, newest first.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/merge_suggestions", tag = "Journey",
    params(("account_id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Payload<Vec<SuggestionView>>)))]
async fn account_suggestions(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path(_account_id): Path<i64>,
) -> ApiResult<axum::Json<Payload<Vec<SuggestionView>>>> {
    let mut conn = state.store.read().await?;
    let list = suggestions::open(&mut conn, &ctx.scope, None, 200).await?;
    Ok(payload(list.iter().map(SuggestionView::from).collect()))
}

/// An agent decided the two contacts are different people.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/merge_suggestions/{id}/dismiss", tag = "Journey",
    params(("account_id" = i64, Path), ("id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = SuggestionView), (status = 404, body = crate::error::ErrorBody)))]
async fn dismiss_suggestion(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<SuggestionView>> {
    let mut tx = state.store.begin().await?;
    let s = suggestions::dismiss(&mut tx, &ctx.scope, id).await?;
    tx.commit().await?;
    Ok(axum::Json(SuggestionView::from(&s)))
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ReplyChannelView {
    inbox_id: i64,
    inbox_name: String,
    /// Chatwoot's channel class, e.g. `Channel::Email`.
    channel_type: String,
    available: bool,
    /// Why it cannot be used now: no_address, visitor_offline, whatsapp_window_closed…
    reason: Option<String>,
    /// A sentence for the agent.
    explanation: Option<String>,
    /// The channel a reply takes when none is chosen.
    default: bool,
    /// Windowed channels (WhatsApp, Messenger, Instagram): when free-form replies stop being
    /// allowed, Unix seconds (past when the window has closed). Absent when the customer
    /// never wrote through the inbox.
    #[serde(skip_serializing_if = "Option::is_none")]
    window_closes_at: Option<i64>,
}

/// The channels a reply in this conversation can go through, the default first among equals,
/// and why the others cannot be used now.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/conversations/{conversation_id}/reply_channels", tag = "Journey",
    params(("account_id" = i64, Path), ("conversation_id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Payload<Vec<ReplyChannelView>>), (status = 404, body = crate::error::ErrorBody)))]
async fn reply_channel_options(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<Payload<Vec<ReplyChannelView>>>> {
    let mut conn = state.store.read().await?;
    let conversation = conversations::get(&mut conn, &ctx.scope, id).await?;
    let options = reply_options(&state, &ctx, &mut conn, &conversation).await?;
    Ok(payload(
        options
            .iter()
            .map(|(inbox, o)| ReplyChannelView {
                inbox_id: inbox.id,
                inbox_name: inbox.name.clone(),
                channel_type: inbox.channel_type.as_str().to_owned(),
                available: o.available,
                reason: o.reason.map(|r| r.as_str().to_owned()),
                explanation: o.reason.map(|r| r.explain().to_owned()),
                default: o.default,
                window_closes_at: o.window_closes_at.map(|ms| ms / 1000),
            })
            .collect(),
    ))
}

/// Checks an agent's chosen reply inbox; the error names the reason.
/// The inboxes that can carry a reply in `conversation`, with the widget visitor's presence
/// taken from the realtime hub.
pub(crate) async fn reply_options(
    state: &AppState,
    ctx: &AccountCtx,
    conn: &mut throughline_store::Conn,
    conversation: &throughline_core::model::Conversation,
) -> ApiResult<
    Vec<(
        throughline_core::model::Inbox,
        throughline_core::reply_channel::ReplyOption,
    )>,
> {
    let online = state
        .hub
        .visitor_online(ctx.account_id(), conversation.contact_id);
    Ok(reply_channels::options(conn, &state.store, &ctx.scope, conversation, Some(online)).await?)
}

pub(crate) fn refuse_unavailable(reason: Option<Unavailable>) -> ApiError {
    match reason {
        Some(r) => ApiError::invalid("inbox_id", r.as_str(), r.explain()),
        None => ApiError::invalid(
            "inbox_id",
            "invalid",
            "this inbox cannot carry a reply in this conversation",
        ),
    }
}
