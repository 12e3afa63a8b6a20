//! The account's audit log (administrators), in Chatwoot's shape: `audit_logs` newest first
//! with `current_page`, `per_page` and `total_entries`. Append-only: there is no route to
//! change or delete an entry; the retention timer removes entries older than the account's
//! `audit_log_retention_days`.

use axum::extract::State;
use serde::Deserialize;
use throughline_core::views::{AuditLogPage, AuditLogView};
use throughline_store::audit::{self, Filter};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult};
use crate::extract::{AccountCtx, Query};
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(list))
}

/// Chatwoot's page size.
const PER_PAGE: i64 = 15;
const MAX_PER_PAGE: i64 = 100;

#[derive(Deserialize, utoipa::IntoParams)]
struct AuditQuery {
    /// Page number, from 1.
    page: Option<i64>,
    /// Entries per page (default 15, at most 100).
    per_page: Option<i64>,
    /// Only this action: create, update, destroy, sign_in, sign_in_failed, sign_out,
    /// accept_invitation, decline_invitation, merge, split, export, download_export, erase.
    action: Option<String>,
    /// Only records of this type: Account, AccountUser, User, Inbox, InboxMember, Team,
    /// TeamMember, Webhook, AgentBot, CustomAttributeDefinition, Contact, Conversation.
    auditable_type: Option<String>,
    /// Only this record (with `auditable_type`).
    auditable_id: Option<i64>,
    /// Only what this user (or agent bot) did.
    user_id: Option<i64>,
    /// Only entries at or after this Unix time (seconds)…
    since: Option<i64>,
    /// …and before this one.
    until: Option<i64>,
}

fn non_blank(field: &str, v: Option<String>) -> ApiResult<Option<String>> {
    match v.map(|s| s.trim().to_owned()) {
        Some(s) if s.is_empty() => Ok(None),
        Some(s) if s.len() > 64 => Err(ApiError::invalid(
            field,
            "too_long",
            format!("{field} is too long"),
        )),
        other => Ok(other),
    }
}

fn seconds(field: &str, v: Option<i64>) -> ApiResult<Option<i64>> {
    v.map(|s| {
        s.checked_mul(1000).ok_or_else(|| {
            ApiError::invalid(field, "invalid", format!("{field} must be a Unix time"))
        })
    })
    .transpose()
}

/// The account's audit log, newest first (administrators): sign-ins, role and membership
/// changes, inboxes, webhooks, tokens, bots, settings, attribute definitions, merges and
/// splits, data exports and erasures, each with who, from where and what changed.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/audit_logs", tag = "Audit Logs",
    params(("account_id" = i64, Path), AuditQuery), security(("userApiKey" = [])),
    responses((status = 200, body = AuditLogPage), (status = 403, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Query(q): Query<AuditQuery>,
) -> ApiResult<axum::Json<AuditLogPage>> {
    ctx.require_admin()?;
    let page = q.page.unwrap_or(1);
    if !(1..=1_000_000).contains(&page) {
        return Err(ApiError::invalid(
            "page",
            "range",
            "page must be a number from 1",
        ));
    }
    let per_page = q.per_page.unwrap_or(PER_PAGE);
    if !(1..=MAX_PER_PAGE).contains(&per_page) {
        return Err(ApiError::invalid(
            "per_page",
            "range",
            format!("per_page must be between 1 and {MAX_PER_PAGE}"),
        ));
    }
    let filter = Filter {
        action: non_blank("action", q.action)?,
        auditable_type: non_blank("auditable_type", q.auditable_type)?,
        auditable_id: q.auditable_id,
        user_id: q.user_id,
        since: seconds("since", q.since)?,
        until: seconds("until", q.until)?,
    };
    let mut conn = state.store.read().await?;
    let (entries, total) = audit::list(
        &mut conn,
        &ctx.scope,
        &filter,
        per_page,
        (page - 1) * per_page,
    )
    .await?;
    Ok(axum::Json(AuditLogPage {
        audit_logs: entries.iter().map(AuditLogView::from).collect(),
        current_page: page,
        per_page,
        total_entries: total,
    }))
}
