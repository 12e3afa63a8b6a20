//! SLA policies (Chatwoot's `sla_policies`, an Enterprise feature there): thresholds for the
//! first response, the next response and resolution, counted in the inbox's business hours
//! or around the clock. Every member reads them (the app shows the badges); administrators
//! change them. Throughline adds `warning_percent` and the inboxes and labels whose
//! conversations get the policy without an automation rule.

use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};
use throughline_core::audit::kind;
use throughline_core::validate::{FieldError, optional_text, required_text};
use throughline_core::views::SlaPolicyView;
use throughline_store::audit::Change;
use throughline_store::sla::{self, Policy, PolicyFields};
use throughline_store::{Conn, inboxes};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Payload, payload};
use crate::audit::Audit;
use crate::error::{ApiError, ApiResult};
use crate::extract::{AccountCtx, Json, Path};
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(list, create))
        .routes(routes!(show, update, replace, remove))
        .routes(routes!(metrics))
}

/// The longest threshold: a year.
const MAX_THRESHOLD_SECONDS: i64 = 366 * 24 * 3_600;

#[derive(Deserialize, Default, utoipa::ToSchema)]
struct PolicyFieldsBody {
    name: Option<String>,
    description: Option<String>,
    /// Seconds; null: not measured.
    #[serde(default, deserialize_with = "super::double_option")]
    #[schema(value_type = Option<i64>)]
    first_response_time_threshold: Option<Option<Value>>,
    #[serde(default, deserialize_with = "super::double_option")]
    #[schema(value_type = Option<i64>)]
    next_response_time_threshold: Option<Option<Value>>,
    #[serde(default, deserialize_with = "super::double_option")]
    #[schema(value_type = Option<i64>)]
    resolution_time_threshold: Option<Option<Value>>,
    only_during_business_hours: Option<bool>,
    /// Throughline: warn when this share of a threshold is used up (1–99, default 80).
    warning_percent: Option<i64>,
    /// Throughline: inboxes whose new conversations get this policy.
    inbox_ids: Option<Vec<i64>>,
    /// Throughline: labels that give a conversation this policy when added.
    labels: Option<Vec<String>>,
}

/// Chatwoot wraps the fields in `sla_policy`; top-level fields are taken too.
#[derive(Deserialize, utoipa::ToSchema)]
struct PolicyBody {
    sla_policy: Option<PolicyFieldsBody>,
    #[serde(flatten)]
    fields: PolicyFieldsBody,
}

/// A threshold in seconds: a whole number (or its text, as forms send it) from 1 second to a
/// year.
fn threshold(
    field: &str,
    given: Option<Option<Value>>,
    current: Option<i64>,
) -> Result<Option<i64>, FieldError> {
    let value = match given {
        None => return Ok(current),
        Some(None) => return Ok(None),
        Some(Some(v)) => v,
    };
    let seconds = match &value {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Value::String(s) if s.trim().is_empty() => return Ok(None),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    match seconds {
        Some(s) if (1..=MAX_THRESHOLD_SECONDS).contains(&s) => Ok(Some(s)),
        _ => Err(FieldError::new(
            field,
            "invalid",
            format!("{field} must be a number of seconds from 1 to {MAX_THRESHOLD_SECONDS}"),
        )),
    }
}

async fn fields_of(
    conn: &mut Conn,
    ctx: &AccountCtx,
    state: &AppState,
    base: Option<&Policy>,
    body: PolicyBody,
) -> ApiResult<PolicyFields> {
    let f = body.sla_policy.unwrap_or(body.fields);
    let mut errors = Vec::new();
    let name = match (f.name, base) {
        (Some(n), _) => required_text("name", &n, 255)
            .map_err(|e| errors.push(e))
            .ok(),
        (None, Some(p)) => Some(p.name.clone()),
        (None, None) => required_text("name", "", 255)
            .map_err(|e| errors.push(e))
            .ok(),
    };
    let description = match (f.description, base) {
        (Some(d), _) => optional_text("description", &d, 2_000)
            .map_err(|e| errors.push(e))
            .ok()
            .flatten(),
        (None, Some(p)) => p.description.clone(),
        (None, None) => None,
    };
    let mut limit = |field: &str, given, current| {
        threshold(field, given, current)
            .map_err(|e| errors.push(e))
            .ok()
            .flatten()
    };
    let frt = limit(
        "first_response_time_threshold",
        f.first_response_time_threshold,
        base.and_then(|p| p.first_response_time_threshold),
    );
    let nrt = limit(
        "next_response_time_threshold",
        f.next_response_time_threshold,
        base.and_then(|p| p.next_response_time_threshold),
    );
    let rt = limit(
        "resolution_time_threshold",
        f.resolution_time_threshold,
        base.and_then(|p| p.resolution_time_threshold),
    );
    if frt.is_none() && nrt.is_none() && rt.is_none() && errors.is_empty() {
        errors.push(FieldError::new(
            "first_response_time_threshold",
            "blank",
            "give at least one threshold (first response, next response or resolution)",
        ));
    }
    let warning_percent = f
        .warning_percent
        .or(base.map(|p| p.warning_percent))
        .unwrap_or(80);
    if !(1..=99).contains(&warning_percent) {
        errors.push(FieldError::new(
            "warning_percent",
            "invalid",
            "warning_percent must be from 1 to 99",
        ));
    }
    let inbox_ids = f
        .inbox_ids
        .or(base.map(|p| p.inbox_ids.clone()))
        .unwrap_or_default();
    let key = state.store.key().clone();
    for (i, id) in inbox_ids.iter().enumerate() {
        if inboxes::get(conn, &key, &ctx.scope, *id).await.is_err() {
            errors.push(FieldError::new(
                &format!("inbox_ids[{i}]"),
                "invalid",
                format!("inbox {id} does not exist in this account"),
            ));
        }
    }
    let mut labels = Vec::new();
    for (i, label) in f
        .labels
        .or(base.map(|p| p.labels.clone()))
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        match required_text(&format!("labels[{i}]"), label, 255) {
            Ok(l)
                if !labels
                    .iter()
                    .any(|have: &String| have.eq_ignore_ascii_case(&l)) =>
            {
                labels.push(l)
            }
            Ok(_) => {}
            Err(e) => errors.push(e),
        }
    }
    if inbox_ids.len() > 100 || labels.len() > 100 {
        errors.push(FieldError::new(
            "inbox_ids",
            "invalid",
            "give at most 100 inboxes and 100 labels",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    Ok(PolicyFields {
        name: name.unwrap_or_default(),
        description,
        first_response_time_threshold: frt,
        next_response_time_threshold: nrt,
        resolution_time_threshold: rt,
        only_during_business_hours: f
            .only_during_business_hours
            .or(base.map(|p| p.only_during_business_hours))
            .unwrap_or(false),
        warning_percent,
        inbox_ids,
        labels,
    })
}

fn audit_record(p: &Policy) -> Value {
    json!(SlaPolicyView::from(p))
}

/// The account's SLA policies.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/sla_policies", tag = "SLA",
    params(("account_id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Object), (status = 403, body = crate::error::ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    ctx: AccountCtx,
) -> ApiResult<axum::Json<Payload<Vec<SlaPolicyView>>>> {
    let mut conn = state.store.read().await?;
    let all = sla::list(&mut conn, &ctx.scope).await?;
    Ok(payload(all.iter().map(SlaPolicyView::from).collect()))
}

#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/sla_policies", tag = "SLA",
    params(("account_id" = i64, Path)), request_body = PolicyBody, security(("userApiKey" = [])),
    responses((status = 200, body = Object), (status = 403, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Json(body): Json<PolicyBody>,
) -> ApiResult<axum::Json<Payload<SlaPolicyView>>> {
    ctx.require_admin()?;
    let mut tx = state.store.begin().await?;
    let fields = fields_of(tx.conn(), &ctx, &state, None, body).await?;
    let saved = sla::create(tx.conn(), &ctx.scope, &fields).await?;
    let change = Change::created(kind::SLA_POLICY, saved.id, &audit_record(&saved));
    audit.record(tx.conn(), &ctx.scope, change).await?;
    tx.commit().await?;
    Ok(payload(SlaPolicyView::from(&saved)))
}

#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/sla_policies/{id}", tag = "SLA",
    params(("account_id" = i64, Path), ("id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Object), (status = 404, body = crate::error::ErrorBody)))]
async fn show(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<Payload<SlaPolicyView>>> {
    let mut conn = state.store.read().await?;
    let p = sla::get(&mut conn, &ctx.scope, id).await?;
    Ok(payload(SlaPolicyView::from(&p)))
}

async fn save_update(
    state: &AppState,
    ctx: &AccountCtx,
    audit: &Audit,
    id: i64,
    body: PolicyBody,
) -> ApiResult<axum::Json<Payload<SlaPolicyView>>> {
    ctx.require_admin()?;
    let mut tx = state.store.begin().await?;
    let before = sla::get(tx.conn(), &ctx.scope, id).await?;
    let fields = fields_of(tx.conn(), ctx, state, Some(&before), body).await?;
    let saved = sla::update(tx.conn(), &ctx.scope, id, &fields).await?;
    let change = Change::updated(
        kind::SLA_POLICY,
        id,
        &audit_record(&before),
        &audit_record(&saved),
    );
    audit.record(tx.conn(), &ctx.scope, change).await?;
    tx.commit().await?;
    Ok(payload(SlaPolicyView::from(&saved)))
}

#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/sla_policies/{id}", tag = "SLA",
    params(("account_id" = i64, Path), ("id" = i64, Path)), request_body = PolicyBody,
    security(("userApiKey" = [])),
    responses((status = 200, body = Object), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Path((_account_id, id)): Path<(i64, i64)>,
    Json(body): Json<PolicyBody>,
) -> ApiResult<axum::Json<Payload<SlaPolicyView>>> {
    save_update(&state, &ctx, &audit, id, body).await
}

#[utoipa::path(put, path = "/api/v1/accounts/{account_id}/sla_policies/{id}", tag = "SLA",
    params(("account_id" = i64, Path), ("id" = i64, Path)), request_body = PolicyBody,
    security(("userApiKey" = [])),
    responses((status = 200, body = Object), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn replace(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Path((_account_id, id)): Path<(i64, i64)>,
    Json(body): Json<PolicyBody>,
) -> ApiResult<axum::Json<Payload<SlaPolicyView>>> {
    save_update(&state, &ctx, &audit, id, body).await
}

/// Deletes the policy; conversations measured by it lose their clocks (their warnings and
/// breaches go with them, as in Chatwoot).
#[utoipa::path(delete, path = "/api/v1/accounts/{account_id}/sla_policies/{id}", tag = "SLA",
    params(("account_id" = i64, Path), ("id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
async fn remove(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<()> {
    ctx.require_admin()?;
    let mut tx = state.store.begin().await?;
    let before = sla::get(tx.conn(), &ctx.scope, id).await?;
    sla::delete(tx.conn(), &ctx.scope, id).await?;
    let change = Change::destroyed(kind::SLA_POLICY, id, &audit_record(&before))
        .named("name", before.name.clone());
    audit.record(tx.conn(), &ctx.scope, change).await?;
    tx.commit().await?;
    Ok(())
}

/// Chatwoot's filters: `since` / `until` (Unix seconds, on when the policy was applied),
/// `sla_policy_id`, `inbox_id`.
#[derive(Deserialize, utoipa::IntoParams)]
struct MetricsFilter {
    since: Option<i64>,
    until: Option<i64>,
    sla_policy_id: Option<i64>,
    inbox_id: Option<i64>,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
struct PolicyMetrics {
    sla_policy_id: i64,
    name: String,
    /// Conversations the policy was applied to.
    applied: i64,
    /// Finished with every metric in time.
    hit: i64,
    /// Missed at least one metric (finished or still open).
    missed: i64,
    /// Still running, nothing missed yet.
    active: i64,
}

/// Chatwoot's `applied_slas/metrics`, and Throughline's breakdown per policy.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct MetricsView {
    total_applied_slas: i64,
    number_of_sla_misses: i64,
    /// Applied policies without a miss, as a percentage ("92.5%").
    hit_rate: String,
    policies: Vec<PolicyMetrics>,
}

/// How the account's SLA policies fared: met and missed, in all and per policy.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/applied_slas/metrics", tag = "SLA",
    params(("account_id" = i64, Path), MetricsFilter), security(("userApiKey" = [])),
    responses((status = 200, body = MetricsView), (status = 403, body = crate::error::ErrorBody)))]
async fn metrics(
    State(state): State<AppState>,
    ctx: AccountCtx,
    crate::extract::Query(f): crate::extract::Query<MetricsFilter>,
) -> ApiResult<axum::Json<MetricsView>> {
    ctx.require_supervisor()?;
    let ms = |s: i64| s.saturating_mul(1000);
    let mut conn = state.store.read().await?;
    let tallies = sla::tally(
        &mut conn,
        &ctx.scope,
        f.since.map_or(0, ms),
        f.until.map_or(i64::MAX, ms),
        f.sla_policy_id,
        f.inbox_id,
    )
    .await?;
    let names: std::collections::HashMap<i64, String> = sla::list(&mut conn, &ctx.scope)
        .await?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect();
    let total: i64 = tallies.iter().map(|t| t.applied).sum();
    let missed: i64 = tallies.iter().map(|t| t.missed).sum();
    let rate = if total == 0 {
        0.0
    } else {
        (total - missed) as f64 * 100.0 / total as f64
    };
    Ok(axum::Json(MetricsView {
        total_applied_slas: total,
        number_of_sla_misses: missed,
        hit_rate: format!("{:.1}%", rate),
        policies: tallies
            .into_iter()
            .map(|t| PolicyMetrics {
                name: names.get(&t.sla_policy_id).cloned().unwrap_or_default(),
                sla_policy_id: t.sla_policy_id,
                applied: t.applied,
                hit: t.hit,
                missed: t.missed,
                active: t.active,
            })
            .collect(),
    }))
}
