//! Account webhooks and their delivery log (administrators only).

use axum::extract::State;
use serde::{Deserialize, Serialize};
use throughline_core::event::EventKind;
use throughline_core::model::Delivery;
use throughline_core::validate::{optional_text, text_patch};
use throughline_core::views::WebhookView;
use throughline_store::{inboxes, webhooks};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Empty, double_option, ok};
use crate::audit::Audit;
use crate::error::NotFoundAs;
use crate::error::{ApiError, ApiResult};
use crate::extract::{AccountCtx, Json, Path, Query};
use crate::outbound_url::checked_url;
use crate::state::AppState;

/// What the audit log keeps of a webhook (its signing secret only as "[changed]").
fn audited(hook: &throughline_core::model::Webhook) -> serde_json::Value {
    throughline_core::audit::record_fields(hook, throughline_core::audit::BOOKKEEPING)
}

fn change(
    c: throughline_core::audit::Change,
    hook: &throughline_core::model::Webhook,
) -> throughline_core::audit::Change {
    c.named("url", &*hook.url)
        .named("name", hook.name.clone().unwrap_or_default())
}

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(list, create))
        .routes(routes!(show, update, remove))
        .routes(routes!(rotate_secret))
        .routes(routes!(deliveries))
        .routes(routes!(retry))
}

#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/webhooks", tag = "Webhooks",
    params(("account_id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Vec<WebhookView>), (status = 403, body = crate::error::ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    ctx: AccountCtx,
) -> ApiResult<axum::Json<Vec<WebhookView>>> {
    ctx.require_admin()?;
    let mut conn = state.store.read().await?;
    Ok(axum::Json(
        webhooks::list(&mut conn, state.store.key(), &ctx.scope)
            .await?
            .iter()
            .map(WebhookView::from)
            .collect(),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct WebhookBody {
    url: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    name: Option<Option<String>>,
    /// Event names: conversation_created, conversation_status_changed, conversation_updated,
    /// contact_created, contact_updated, message_created, message_updated,
    /// conversation_typing_on, conversation_typing_off, webwidget_triggered.
    subscriptions: Option<Vec<String>>,
    /// Only events of this inbox.
    inbox_id: Option<i64>,
}

fn subscriptions(list: &[String]) -> ApiResult<Vec<String>> {
    let mut out = Vec::new();
    for s in list {
        match EventKind::parse(s).filter(|k| k.is_webhook_event()) {
            Some(k) if !out.contains(&k.as_str().to_owned()) => out.push(k.as_str().to_owned()),
            Some(_) => {}
            None => {
                return Err(ApiError::invalid(
                    "subscriptions",
                    "inclusion",
                    format!("unknown event `{s}`"),
                ));
            }
        }
    }
    if out.is_empty() {
        return Err(ApiError::invalid(
            "subscriptions",
            "blank",
            "subscribe to at least one event",
        ));
    }
    Ok(out)
}

/// Creates a webhook (administrators). The answer includes the signing secret.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/webhooks", tag = "Webhooks",
    params(("account_id" = i64, Path)), request_body = WebhookBody, security(("userApiKey" = [])),
    responses((status = 200, body = WebhookView), (status = 422, body = crate::error::ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Json(body): Json<WebhookBody>,
) -> ApiResult<axum::Json<WebhookView>> {
    ctx.require_admin()?;
    let url = checked_url(&state, "url", body.url.as_deref().unwrap_or_default())?;
    let subs = subscriptions(&body.subscriptions.unwrap_or_else(|| {
        EventKind::ALL
            .iter()
            .filter(|k| k.is_webhook_event())
            .map(|k| k.as_str().to_owned())
            .collect()
    }))?;
    let name = body
        .name
        .flatten()
        .map(|n| optional_text("name", &n, 255))
        .transpose()?
        .flatten();
    let mut tx = state.store.begin().await?;
    if let Some(inbox_id) = body.inbox_id {
        inboxes::get(tx.conn(), state.store.key(), &ctx.scope, inbox_id)
            .await
            .not_found_as("inbox_id", "no such inbox")?;
    }
    let hook = webhooks::create(
        tx.conn(),
        state.store.key(),
        &ctx.scope,
        &url,
        name.as_deref(),
        &subs,
        body.inbox_id,
    )
    .await?;
    let created = throughline_core::audit::Change::created(
        throughline_core::audit::kind::WEBHOOK,
        hook.id,
        &audited(&hook),
    );
    audit
        .record(tx.conn(), &ctx.scope, change(created, &hook))
        .await?;
    tx.commit().await?;
    Ok(axum::Json(WebhookView::from(&hook)))
}

#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/webhooks/{webhook_id}", tag = "Webhooks",
    params(("account_id" = i64, Path), ("webhook_id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = WebhookView), (status = 404, body = crate::error::ErrorBody)))]
async fn show(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<WebhookView>> {
    ctx.require_admin()?;
    let mut conn = state.store.read().await?;
    Ok(axum::Json(WebhookView::from(
        &webhooks::get(&mut conn, state.store.key(), &ctx.scope, id).await?,
    )))
}

#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/webhooks/{webhook_id}", tag = "Webhooks",
    params(("account_id" = i64, Path), ("webhook_id" = i64, Path)), request_body = WebhookBody, security(("userApiKey" = [])),
    responses((status = 200, body = WebhookView), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Path((_account_id, id)): Path<(i64, i64)>,
    Json(body): Json<WebhookBody>,
) -> ApiResult<axum::Json<WebhookView>> {
    ctx.require_admin()?;
    let url = body
        .url
        .as_deref()
        .map(|u| checked_url(&state, "url", u))
        .transpose()?;
    let subs = body
        .subscriptions
        .as_deref()
        .map(subscriptions)
        .transpose()?;
    let name = text_patch("name", body.name, 255)?;
    let mut tx = state.store.begin().await?;
    let before = webhooks::get(tx.conn(), state.store.key(), &ctx.scope, id).await?;
    let hook = webhooks::update(
        tx.conn(),
        state.store.key(),
        &ctx.scope,
        id,
        url.as_deref(),
        name.as_ref().map(|n| n.as_deref()),
        subs.as_deref(),
    )
    .await?;
    let updated = throughline_core::audit::Change::updated(
        throughline_core::audit::kind::WEBHOOK,
        id,
        &audited(&before),
        &audited(&hook),
    );
    audit
        .record(tx.conn(), &ctx.scope, change(updated, &hook))
        .await?;
    tx.commit().await?;
    Ok(axum::Json(WebhookView::from(&hook)))
}

#[utoipa::path(delete, path = "/api/v1/accounts/{account_id}/webhooks/{webhook_id}", tag = "Webhooks",
    params(("account_id" = i64, Path), ("webhook_id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Empty), (status = 404, body = crate::error::ErrorBody)))]
async fn remove(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<Empty>> {
    ctx.require_admin()?;
    let mut tx = state.store.begin().await?;
    let hook = webhooks::get(tx.conn(), state.store.key(), &ctx.scope, id).await?;
    webhooks::delete(tx.conn(), &ctx.scope, id).await?;
    let destroyed = throughline_core::audit::Change::destroyed(
        throughline_core::audit::kind::WEBHOOK,
        id,
        &audited(&hook),
    );
    audit
        .record(tx.conn(), &ctx.scope, change(destroyed, &hook))
        .await?;
    tx.commit().await?;
    Ok(ok())
}

/// A new signing secret for the webhook (administrators); the receiver must verify with it from
/// now on. Throughline's (Chatwoot's webhooks keep theirs).
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/webhooks/{webhook_id}/rotate_secret", tag = "Webhooks",
    params(("account_id" = i64, Path), ("webhook_id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = WebhookView), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
async fn rotate_secret(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<WebhookView>> {
    ctx.require_admin()?;
    let mut tx = state.store.begin().await?;
    let hook = webhooks::rotate_secret(tx.conn(), state.store.key(), &ctx.scope, id).await?;
    let rotated = throughline_core::audit::Change::new(
        throughline_core::audit::kind::WEBHOOK,
        id,
        throughline_core::audit::action::UPDATE,
    )
    .with("secret", throughline_core::audit::CHANGED);
    audit
        .record(tx.conn(), &ctx.scope, change(rotated, &hook))
        .await?;
    tx.commit().await?;
    Ok(axum::Json(WebhookView::from(&hook)))
}

/// One delivery of one event to the webhook.
#[derive(Serialize, utoipa::ToSchema)]
struct DeliveryView {
    /// Sent as `X-Throughline-Delivery`; the same on every retry.
    id: String,
    event: String,
    event_id: i64,
    /// pending, delivered or failed.
    state: String,
    attempts: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_status_code: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_attempt_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    delivered_at: Option<i64>,
    created_at: i64,
}

impl From<&Delivery> for DeliveryView {
    fn from(d: &Delivery) -> Self {
        let secs = throughline_core::to_unix_seconds;
        Self {
            id: d.id.clone(),
            event: d.event_name.clone(),
            event_id: d.event_id,
            state: d.state.as_str().into(),
            attempts: d.attempts,
            last_status_code: d.last_status_code,
            last_error: d.last_error.clone(),
            next_attempt_at: (d.state == throughline_core::model::DeliveryState::Pending)
                .then_some(d.next_attempt_at)
                .flatten()
                .map(secs),
            delivered_at: d.delivered_at.map(secs),
            created_at: secs(d.created_at),
        }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
struct DeliveryPage {
    /// Deliveries created before this Unix time (for the next page).
    before: Option<i64>,
    limit: Option<i64>,
}

/// The webhook's deliveries, newest first (administrators).
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/webhooks/{webhook_id}/deliveries", tag = "Webhooks",
    params(("account_id" = i64, Path), ("webhook_id" = i64, Path), DeliveryPage), security(("userApiKey" = [])),
    responses((status = 200, body = Vec<DeliveryView>), (status = 404, body = crate::error::ErrorBody)))]
async fn deliveries(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
    Query(p): Query<DeliveryPage>,
) -> ApiResult<axum::Json<Vec<DeliveryView>>> {
    ctx.require_admin()?;
    let mut conn = state.store.read().await?;
    webhooks::get(&mut conn, state.store.key(), &ctx.scope, id).await?;
    let list = webhooks::deliveries_of_webhook(
        &mut conn,
        &ctx.scope,
        id,
        p.limit.unwrap_or(50).clamp(1, 200),
        p.before.map(|s| s.saturating_mul(1000)),
    )
    .await?;
    Ok(axum::Json(list.iter().map(DeliveryView::from).collect()))
}

/// Sends a failed delivery again, with the same delivery id (administrators).
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/webhooks/{webhook_id}/deliveries/{delivery_id}/retry", tag = "Webhooks",
    params(("account_id" = i64, Path), ("webhook_id" = i64, Path), ("delivery_id" = String, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = DeliveryView), (status = 404, body = crate::error::ErrorBody)))]
async fn retry(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, webhook_id, delivery_id)): Path<(i64, i64, String)>,
) -> ApiResult<axum::Json<DeliveryView>> {
    ctx.require_admin()?;
    let mut tx = state.store.begin().await?;
    let d = webhooks::retry_delivery(tx.conn(), &ctx.scope, &delivery_id).await?;
    if d.webhook_id != Some(webhook_id) {
        return Err(ApiError::NotFound);
    }
    tx.commit().await?;
    Ok(axum::Json(DeliveryView::from(&d)))
}
