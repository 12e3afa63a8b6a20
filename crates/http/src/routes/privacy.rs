//! Privacy tools (LGPD / GDPR), for administrators: export one contact's data, erase one
//! contact completely (with a receipt), and the account's retention policy.
//!
//! Chatwoot's `DELETE …/contacts/{id}` keeps its meaning (the contact and its conversations);
//! `POST …/contacts/{id}/erase` is the complete erasure: copies in the outbox and in webhook
//! deliveries, files, raw emails, merge snapshots, suggestions, business events, thread keys
//! and the search index too, answered with the receipt.

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS,
};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use throughline_core::audit::{Change, action, kind};
use throughline_core::privacy::{RETENTION_KEY, RetentionPolicy};
use throughline_core::to_unix_seconds;
use throughline_store::accounts::{self, AccountChanges};
use throughline_store::privacy::{self, Export, ExportState, Receipt};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Payload, payload};
use crate::audit::Audit;
use crate::error::{ApiError, ApiResult};
use crate::extract::{AccountCtx, Json, Path, Query};
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(request_export))
        .routes(routes!(show_export))
        .routes(routes!(download_export))
        .routes(routes!(erase))
        .routes(routes!(list_receipts))
        .routes(routes!(show_retention, set_retention, remove_retention))
}

#[derive(Serialize, utoipa::ToSchema)]
struct ExportProgress {
    /// Steps done: one per conversation, and one for the contact itself.
    done: i64,
    total: i64,
    percent: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
struct ExportView {
    id: i64,
    contact_id: i64,
    /// pending, running, done or failed.
    status: &'static str,
    progress: ExportProgress,
    /// Bytes of the zip, once done.
    #[serde(skip_serializing_if = "Option::is_none")]
    byte_size: Option<i64>,
    /// Where to download the zip, once done (administrators' token).
    #[serde(skip_serializing_if = "Option::is_none")]
    download_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    created_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    finished_at: Option<i64>,
    /// After this the zip is deleted.
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<i64>,
}

fn export_view(e: &Export) -> ExportView {
    let done = e.state == ExportState::Done;
    let (d, t) = if done {
        (e.total_steps.max(1), e.total_steps.max(1))
    } else {
        (e.done_steps, e.total_steps)
    };
    ExportView {
        id: e.id,
        contact_id: e.contact_id,
        status: e.state.as_str(),
        progress: ExportProgress {
            done: d,
            total: t,
            percent: if t > 0 { d * 100 / t } else { 0 },
        },
        byte_size: e.byte_size.filter(|_| done),
        download_url: done.then(|| {
            format!(
                "/api/v1/accounts/{}/contacts/{}/exports/{}/download",
                e.account_id, e.contact_id, e.id
            )
        }),
        error: e.error.clone(),
        created_at: to_unix_seconds(e.created_at),
        finished_at: e.finished_at.map(to_unix_seconds),
        expires_at: e.expires_at.filter(|_| done).map(to_unix_seconds),
    }
}

/// Starts an export of everything held about a contact: a zip with `contact.json`, one JSON
/// file per conversation with all its messages, the files and the raw emails, and a README.
/// Built in the background; follow it with the export's status.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/contacts/{id}/export", tag = "Privacy",
    params(("account_id" = i64, Path), ("id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 202, body = ExportView), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
async fn request_export(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<(StatusCode, axum::Json<ExportView>)> {
    ctx.require_admin()?;
    let mut tx = state.store.begin().await?;
    let export = privacy::request_export(tx.conn(), &ctx.scope, id).await?;
    let change = Change::new(kind::CONTACT, id, action::EXPORT).with("export_id", export.id);
    audit.record(tx.conn(), &ctx.scope, change).await?;
    tx.commit().await?;
    Ok((StatusCode::ACCEPTED, axum::Json(export_view(&export))))
}

/// An export's progress, and its download link once done.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/contacts/{id}/exports/{export_id}", tag = "Privacy",
    params(("account_id" = i64, Path), ("id" = i64, Path), ("export_id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = ExportView), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
async fn show_export(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id, export_id)): Path<(i64, i64, i64)>,
) -> ApiResult<axum::Json<ExportView>> {
    ctx.require_admin()?;
    let mut conn = state.store.read().await?;
    let export = privacy::get_export(&mut conn, &ctx.scope, id, export_id).await?;
    Ok(axum::Json(export_view(&export)))
}

/// The export's zip (404 until it is done, and after it expired).
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/contacts/{id}/exports/{export_id}/download", tag = "Privacy",
    params(("account_id" = i64, Path), ("id" = i64, Path), ("export_id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, description = "the zip", content_type = "application/zip"),
        (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
async fn download_export(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Path((_account_id, id, export_id)): Path<(i64, i64, i64)>,
) -> ApiResult<Response> {
    ctx.require_admin()?;
    let export = {
        let mut conn = state.store.read().await?;
        privacy::get_export(&mut conn, &ctx.scope, id, export_id).await?
    };
    let key = match (&export.state, &export.blob_key) {
        (ExportState::Done, Some(key)) => key.clone(),
        _ => return Err(ApiError::NotFound),
    };
    let bytes = state.blobs.get(&key).await?;
    let change =
        Change::new(kind::CONTACT, id, action::DOWNLOAD_EXPORT).with("export_id", export_id);
    audit.record_alone(&state.store, &ctx.scope, change).await?;
    Ok((
        [
            (CONTENT_TYPE, "application/zip".to_owned()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"contact-{id}-export-{export_id}.zip\""),
            ),
            (X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (CACHE_CONTROL, "no-store".to_owned()),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Serialize, utoipa::ToSchema)]
struct ReceiptView {
    id: i64,
    /// `contact` (an erasure asked for) or `retention` (a pass of the retention policy).
    kind: String,
    /// The erased contact's former id (it names nothing any more).
    #[serde(skip_serializing_if = "Option::is_none")]
    contact_id: Option<i64>,
    /// The administrator who asked for it; absent for the retention policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    requested_by: Option<i64>,
    /// What was erased: kinds of records and how many of each. No values.
    #[schema(value_type = Object)]
    counts: Value,
    erased_at: i64,
}

fn receipt_view(r: &Receipt) -> ReceiptView {
    ReceiptView {
        id: r.id,
        kind: r.kind.clone(),
        contact_id: r.contact_id,
        requested_by: r.requested_by,
        counts: serde_json::to_value(&r.counts).unwrap_or_else(|_| json!({})),
        erased_at: to_unix_seconds(r.created_at),
    }
}

/// Erases a contact completely: its conversations and messages (private notes too), files
/// and raw emails, identities, notes, labels, business events, merge snapshots and
/// suggestions, email thread keys, the search index entries, and the copies of its data in
/// the event outbox and in webhook deliveries. Answers the receipt, which is also kept.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/contacts/{id}/erase", tag = "Privacy",
    params(("account_id" = i64, Path), ("id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = ReceiptView), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
async fn erase(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<ReceiptView>> {
    ctx.require_admin()?;
    let receipt = throughline_service::privacy::erase_contact(
        &state.store,
        state.blobs.as_ref(),
        &ctx.scope,
        id,
    )
    .await?;
    // The erasure committed in the service's own transaction(s): the entry follows it.
    let change = Change::new(kind::CONTACT, id, action::ERASE).with("receipt_id", receipt.id);
    audit.record_alone(&state.store, &ctx.scope, change).await?;
    Ok(axum::Json(receipt_view(&receipt)))
}

#[derive(Deserialize, utoipa::IntoParams)]
struct PageParam {
    page: Option<i64>,
}

/// Erasure receipts of the account, newest first, 50 per page.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/erasure_receipts", tag = "Privacy",
    params(("account_id" = i64, Path), PageParam), security(("userApiKey" = [])),
    responses((status = 200, body = Payload<Vec<ReceiptView>>), (status = 403, body = crate::error::ErrorBody)))]
async fn list_receipts(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Query(p): Query<PageParam>,
) -> ApiResult<axum::Json<Payload<Vec<ReceiptView>>>> {
    ctx.require_admin()?;
    let page = p.page.unwrap_or(1).clamp(1, 100_000);
    let mut conn = state.store.read().await?;
    let list = privacy::receipts(&mut conn, &ctx.scope, 50, (page - 1) * 50).await?;
    Ok(payload(list.iter().map(receipt_view).collect()))
}

#[derive(Serialize, utoipa::ToSchema)]
struct RetentionView {
    /// `{"resolved_conversations_after_months": N, "action": "delete" | "anonymise"}`, or null
    /// when conversations are kept until deleted by hand.
    #[schema(value_type = Object, nullable)]
    data_retention: Value,
}

async fn current_policy(state: &AppState, ctx: &AccountCtx) -> ApiResult<RetentionView> {
    let mut conn = state.store.read().await?;
    let account = accounts::get_account(&mut conn, ctx.account_id()).await?;
    Ok(RetentionView {
        data_retention: RetentionPolicy::from_settings(&account.settings)
            .map_or(Value::Null, RetentionPolicy::to_json),
    })
}

async fn store_policy(
    state: &AppState,
    ctx: &AccountCtx,
    audit: &Audit,
    value: Value,
) -> ApiResult<()> {
    let mut settings = serde_json::Map::new();
    settings.insert(RETENTION_KEY.into(), value);
    let mut tx = state.store.begin().await?;
    let before = accounts::get_account(tx.conn(), ctx.account_id()).await?;
    let after = accounts::update_account(
        tx.conn(),
        ctx.account_id(),
        AccountChanges {
            settings: Some(Value::Object(settings)),
            ..Default::default()
        },
    )
    .await?;
    let change = super::accounts::account_change(&before, &after);
    audit.record(tx.conn(), &ctx.scope, change).await?;
    tx.commit().await?;
    Ok(())
}

/// The account's retention policy (also shown in the account's `settings`).
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/data_retention", tag = "Privacy",
    params(("account_id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = RetentionView), (status = 403, body = crate::error::ErrorBody)))]
async fn show_retention(
    State(state): State<AppState>,
    ctx: AccountCtx,
) -> ApiResult<axum::Json<RetentionView>> {
    ctx.require_admin()?;
    Ok(axum::Json(current_policy(&state, &ctx).await?))
}

/// Sets the retention policy: resolved conversations older than N months are deleted as an
/// erasure deletes them, or anonymised (texts, files and contact details replaced, counts and
/// times kept for reports). Applied by a timer in bounded batches; 0 months applies to every
/// resolved conversation.
#[utoipa::path(put, path = "/api/v1/accounts/{account_id}/data_retention", tag = "Privacy",
    params(("account_id" = i64, Path)), request_body = Object, security(("userApiKey" = [])),
    responses((status = 200, body = RetentionView), (status = 403, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn set_retention(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Json(body): Json<Value>,
) -> ApiResult<axum::Json<RetentionView>> {
    ctx.require_admin()?;
    let policy = RetentionPolicy::parse(&body).map_err(ApiError::Invalid)?;
    store_policy(&state, &ctx, &audit, policy.to_json()).await?;
    Ok(axum::Json(current_policy(&state, &ctx).await?))
}

/// Turns the retention policy off.
#[utoipa::path(delete, path = "/api/v1/accounts/{account_id}/data_retention", tag = "Privacy",
    params(("account_id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = RetentionView), (status = 403, body = crate::error::ErrorBody)))]
async fn remove_retention(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
) -> ApiResult<axum::Json<RetentionView>> {
    ctx.require_admin()?;
    store_policy(&state, &ctx, &audit, Value::Null).await?;
    Ok(axum::Json(current_policy(&state, &ctx).await?))
}
