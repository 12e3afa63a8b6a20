//! Chatwoot's notification settings (`GET|PATCH /api/v1/accounts/{id}/notification_settings`):
//! what the calling agent is told by email (the digest) and by push, per account.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use throughline_core::notification::flags;
use throughline_store::notification_settings::{self, Settings};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult};
use crate::extract::{AccountCtx, Json};
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(show, update))
}

#[derive(Serialize, utoipa::ToSchema)]
struct SettingsView {
    id: i64,
    account_id: i64,
    user_id: i64,
    all_email_flags: Vec<String>,
    selected_email_flags: Vec<String>,
    all_push_flags: Vec<String>,
    selected_push_flags: Vec<String>,
}

impl From<Settings> for SettingsView {
    fn from(s: Settings) -> Self {
        Self {
            id: s.id,
            account_id: s.account_id,
            user_id: s.user_id,
            all_email_flags: flags::all("email"),
            selected_email_flags: s.email_flags,
            all_push_flags: flags::all("push"),
            selected_push_flags: s.push_flags,
        }
    }
}

fn caller(ctx: &AccountCtx) -> ApiResult<i64> {
    ctx.scope
        .user_id()
        .ok_or_else(|| ApiError::Forbidden("only agents have notification settings".into()))
}

/// The caller's notification settings in this account (the defaults until they choose).
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/notification_settings", tag = "Notifications",
    params(("account_id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = SettingsView), (status = 403, body = crate::error::ErrorBody)))]
async fn show(
    State(state): State<AppState>,
    ctx: AccountCtx,
) -> ApiResult<axum::Json<SettingsView>> {
    let user = caller(&ctx)?;
    let mut conn = state.store.read().await?;
    Ok(axum::Json(
        notification_settings::get(&mut conn, ctx.account_id(), user)
            .await?
            .into(),
    ))
}

#[derive(Deserialize, utoipa::ToSchema, Default)]
struct Flags {
    selected_email_flags: Option<Vec<String>>,
    selected_push_flags: Option<Vec<String>>,
}

/// Chatwoot sends `{notification_settings: {…}}`; a bare object is taken too.
#[derive(Deserialize, utoipa::ToSchema)]
struct SettingsBody {
    notification_settings: Option<Flags>,
    #[serde(flatten)]
    bare: Flags,
}

/// Chooses what reaches the caller by email and by push; a list left out stays as it was.
#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/notification_settings", tag = "Notifications",
    params(("account_id" = i64, Path)), request_body = SettingsBody, security(("userApiKey" = [])),
    responses((status = 200, body = SettingsView), (status = 403, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Json(body): Json<SettingsBody>,
) -> ApiResult<axum::Json<SettingsView>> {
    let user = caller(&ctx)?;
    let given = body.notification_settings.unwrap_or(body.bare);
    let mut tx = state.store.begin().await?;
    let current = notification_settings::get(tx.conn(), ctx.account_id(), user).await?;
    let email = match &given.selected_email_flags {
        Some(list) => flags::checked("selected_email_flags", "email", list)?,
        None => current.email_flags,
    };
    let push = match &given.selected_push_flags {
        Some(list) => flags::checked("selected_push_flags", "push", list)?,
        None => current.push_flags,
    };
    let saved =
        notification_settings::set(tx.conn(), ctx.account_id(), user, &email, &push).await?;
    tx.commit().await?;
    Ok(axum::Json(saved.into()))
}
