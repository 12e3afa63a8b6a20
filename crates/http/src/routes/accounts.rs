//! The account itself.

use axum::extract::State;
use serde::Deserialize;
use throughline_core::audit::{self as audit_rules, BOOKKEEPING, Change, kind, record_fields};
use throughline_core::model::Account;
use throughline_core::validate::{required_text, text_patch};
use throughline_core::views::AccountView;
use throughline_store::accounts::{self, AccountChanges};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::double_option;
use crate::audit::Audit;
use crate::error::{ApiError, ApiResult};
use crate::extract::{AccountCtx, Json};
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(show, update))
}

/// The account, for any of its members.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}", tag = "Account",
    params(("account_id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = AccountView), (status = 403, body = crate::error::ErrorBody)))]
async fn show(
    State(state): State<AppState>,
    ctx: AccountCtx,
) -> ApiResult<axum::Json<AccountView>> {
    let mut conn = state.store.read().await?;
    let account = accounts::get_account(&mut conn, ctx.account_id()).await?;
    Ok(axum::Json(AccountView::from(&account)))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct AccountUpdate {
    name: Option<String>,
    locale: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    domain: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    support_email: Option<Option<String>>,
    auto_resolve_after: Option<i64>,
    auto_resolve_message: Option<String>,
    /// Throughline: continue a contact's open conversation whatever channel they write from.
    continue_across_channels: Option<bool>,
    /// Throughline: hours after resolution during which a customer's answer re-opens the
    /// conversation (default 72); later, a new conversation links to the old one.
    reopen_window_hours: Option<i64>,
    /// Throughline: who must use two-factor authentication — `off`, `administrators` or
    /// `everyone`. A member it applies to who has not enrolled can, once signed in, only enrol.
    mfa_enforcement: Option<String>,
    #[schema(value_type = Object)]
    custom_attributes: Option<serde_json::Value>,
    /// Throughline: days the audit log keeps its entries (30 to 3650, default 365).
    audit_log_retention_days: Option<i64>,
}

/// The audit log's entry for an account change: every field and setting that differs.
pub(super) fn account_change(before: &Account, after: &Account) -> Change {
    Change::updated(
        kind::ACCOUNT,
        after.id,
        &record_fields(before, BOOKKEEPING),
        &record_fields(after, BOOKKEEPING),
    )
    .named("name", &*after.name)
}

/// Updates the account (administrators).
#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}", tag = "Account",
    params(("account_id" = i64, Path)), request_body = AccountUpdate, security(("userApiKey" = [])),
    responses((status = 200, body = AccountView), (status = 403, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Json(body): Json<AccountUpdate>,
) -> ApiResult<axum::Json<AccountView>> {
    ctx.require_admin()?;
    let mut settings = serde_json::Map::new();
    if let Some(minutes) = body.auto_resolve_after {
        if !(10..=1_439_856).contains(&minutes) {
            return Err(ApiError::invalid(
                "auto_resolve_after",
                "range",
                "auto_resolve_after must be between 10 minutes and 999 days",
            ));
        }
        settings.insert("auto_resolve_after".into(), minutes.into());
    }
    if let Some(m) = body.auto_resolve_message {
        settings.insert("auto_resolve_message".into(), m.into());
    }
    if let Some(v) = body.continue_across_channels {
        settings.insert("continue_across_channels".into(), v.into());
    }
    if let Some(h) = body.reopen_window_hours {
        settings.insert("reopen_window_hours".into(), h.into());
    }
    if let Some(days) = body.audit_log_retention_days {
        let days =
            audit_rules::check_retention_days(days).map_err(|e| ApiError::Invalid(vec![e]))?;
        settings.insert(audit_rules::RETENTION_SETTING.into(), days.into());
    }
    if let Some(e) = body.mfa_enforcement.as_deref() {
        let e = throughline_core::two_factor::Enforcement::parse(e).ok_or_else(|| {
            ApiError::invalid(
                "mfa_enforcement",
                "inclusion",
                "mfa_enforcement must be off, administrators or everyone",
            )
        })?;
        settings.insert(
            throughline_core::two_factor::Enforcement::SETTING.into(),
            e.as_str().into(),
        );
    }
    throughline_store::continuity::validate_settings(&settings)?;
    if let Some(locale) = body.locale.as_deref()
        && !super::auth::LOCALES.contains(&locale)
    {
        return Err(ApiError::invalid(
            "locale",
            "inclusion",
            "locale must be en, pt-BR or pl",
        ));
    }
    if let Some(attrs) = &body.custom_attributes {
        throughline_core::validate::json_object("custom_attributes", attrs)?;
    }
    let support_email = match body.support_email {
        Some(Some(e)) if !e.trim().is_empty() => Some(Some(
            throughline_core::identity::normalize_email(&e)
                .map_err(|err| ApiError::invalid("support_email", "invalid", err.to_string()))?,
        )),
        Some(_) => Some(None),
        None => None,
    };
    let changes = AccountChanges {
        name: body
            .name
            .as_deref()
            .map(|n| required_text("name", n, 255))
            .transpose()?,
        locale: body.locale,
        domain: text_patch("domain", body.domain, 255)?,
        support_email,
        status: None,
        settings: (!settings.is_empty()).then_some(serde_json::Value::Object(settings)),
        custom_attributes: body.custom_attributes,
    };
    let mut tx = state.store.begin().await?;
    let before = accounts::get_account(tx.conn(), ctx.account_id()).await?;
    let account = accounts::update_account(tx.conn(), ctx.account_id(), changes).await?;
    audit
        .record(tx.conn(), &ctx.scope, account_change(&before, &account))
        .await?;
    tx.commit().await?;
    Ok(axum::Json(AccountView::from(&account)))
}
