//! Chatwoot's bulk actions (`POST /api/v1/accounts/{id}/bulk_actions`): many conversations
//! resolved, snoozed, reopened, assigned to an agent or a team, or labelled at once, from the
//! conversation list's selection.
//!
//! Chatwoot queues a job and answers an empty 200; here each conversation is changed in its own
//! transaction while the request waits, with the same rules as one at a time (who may be
//! assigned, an agent's capacity, status transitions), and the answer says which were changed
//! and why any was not — the same 200, so Chatwoot's clients work unchanged.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use throughline_core::conversation::{Status, StatusRequest};
use throughline_store::{StoreError, conversations};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::conversations::{check_assignment, check_capacity};
use super::{contacts::clean_labels, double_option};
use crate::error::{ApiError, ApiResult};
use crate::extract::{AccountCtx, Json};
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(bulk_update))
}

/// Conversations one request may change.
const MAX_IDS: usize = 250;

#[derive(Deserialize, utoipa::ToSchema)]
struct BulkBody {
    /// `Conversation` (the only kind).
    #[serde(rename = "type")]
    kind: Option<String>,
    /// The conversations' ids (display ids, as every conversation route takes).
    #[serde(default)]
    #[schema(value_type = Vec<i64>)]
    ids: Vec<Value>,
    fields: Option<BulkFields>,
    labels: Option<BulkLabels>,
    /// With `fields.status: snoozed`: until when, Unix seconds (none: until the customer writes).
    snoozed_until: Option<i64>,
}

#[derive(Deserialize, utoipa::ToSchema, Default)]
struct BulkFields {
    /// open, resolved, pending or snoozed.
    status: Option<String>,
    /// An agent, or `null` to unassign.
    #[serde(default, deserialize_with = "double_option")]
    assignee_id: Option<Option<i64>>,
    /// A team, or `null` to take the team away.
    #[serde(default, deserialize_with = "double_option")]
    team_id: Option<Option<i64>>,
}

#[derive(Deserialize, utoipa::ToSchema, Default)]
struct BulkLabels {
    #[serde(default)]
    add: Vec<String>,
    #[serde(default)]
    remove: Vec<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct BulkFailure {
    id: i64,
    /// not_found, invalid or at_capacity.
    code: &'static str,
    message: String,
}

#[derive(Serialize, utoipa::ToSchema)]
struct BulkAnswer {
    /// The conversations changed.
    updated: Vec<i64>,
    failed: Vec<BulkFailure>,
}

/// What to do to each conversation, checked once for all of them.
struct Plan {
    status: Option<StatusRequest>,
    assignee: Option<Option<i64>>,
    team: Option<Option<i64>>,
    add: Vec<String>,
    remove: Vec<String>,
}

fn ids_of(raw: &[Value]) -> ApiResult<Vec<i64>> {
    if raw.is_empty() {
        return Err(ApiError::invalid(
            "ids",
            "blank",
            "give the conversations' ids",
        ));
    }
    if raw.len() > MAX_IDS {
        return Err(ApiError::invalid(
            "ids",
            "too_long",
            format!("at most {MAX_IDS} conversations at once"),
        ));
    }
    let mut ids = Vec::with_capacity(raw.len());
    for v in raw {
        let id = match v {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::invalid("ids", "invalid", "ids must be conversation ids"))?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

fn plan_of(body: &BulkBody) -> ApiResult<Plan> {
    match body.kind.as_deref() {
        None | Some("Conversation") => {}
        Some(other) => {
            return Err(ApiError::invalid(
                "type",
                "inclusion",
                format!("bulk actions apply to conversations, not `{other}`"),
            ));
        }
    }
    let fields = body.fields.as_ref();
    let status = match fields
        .and_then(|f| f.status.as_deref())
        .filter(|s| !s.is_empty())
    {
        None => {
            if body.snoozed_until.is_some() {
                return Err(ApiError::invalid(
                    "snoozed_until",
                    "invalid",
                    "snoozed_until needs status snoozed",
                ));
            }
            None
        }
        Some(s) => {
            let status = Status::parse(s).ok_or_else(|| {
                ApiError::invalid(
                    "fields.status",
                    "inclusion",
                    format!("unknown status `{s}`: use open, resolved, pending or snoozed"),
                )
            })?;
            if body.snoozed_until.is_some() && status != Status::Snoozed {
                return Err(ApiError::invalid(
                    "snoozed_until",
                    "invalid",
                    "snoozed_until needs status snoozed",
                ));
            }
            Some(StatusRequest::Set {
                status,
                snoozed_until: body.snoozed_until.map(|s| s.saturating_mul(1000)),
            })
        }
    };
    let labels = body.labels.as_ref();
    let plan = Plan {
        status,
        assignee: fields.and_then(|f| f.assignee_id),
        team: fields.and_then(|f| f.team_id),
        add: clean_labels(labels.map_or(&[][..], |l| &l.add))?,
        remove: clean_labels(labels.map_or(&[][..], |l| &l.remove))?,
    };
    if plan.status.is_none()
        && plan.assignee.is_none()
        && plan.team.is_none()
        && plan.add.is_empty()
        && plan.remove.is_empty()
    {
        return Err(ApiError::invalid(
            "fields",
            "blank",
            "say what to change: fields (status, assignee_id, team_id) or labels (add, remove)",
        ));
    }
    Ok(plan)
}

/// Changes many conversations at once: status (with `snoozed_until`), assignee, team, labels
/// added and removed. Each conversation is changed alone; those that cannot be are listed.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/bulk_actions", tag = "Conversations",
    params(("account_id" = i64, Path)), request_body = BulkBody, security(("userApiKey" = [])),
    responses((status = 200, body = BulkAnswer), (status = 422, body = crate::error::ErrorBody)))]
async fn bulk_update(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Json(body): Json<BulkBody>,
) -> ApiResult<axum::Json<BulkAnswer>> {
    let ids = ids_of(&body.ids)?;
    let plan = plan_of(&body)?;
    check_assignment(&state, &ctx, plan.assignee.flatten(), plan.team.flatten()).await?;
    let mut answer = BulkAnswer {
        updated: Vec::new(),
        failed: Vec::new(),
    };
    for id in ids {
        match apply(&state, &ctx, &plan, id).await {
            Ok(()) => answer.updated.push(id),
            Err(ApiError::NotFound) => answer.failed.push(BulkFailure {
                id,
                code: "not_found",
                message: "no such conversation here".into(),
            }),
            Err(ApiError::Invalid(errors)) => answer.failed.push(BulkFailure {
                id,
                code: errors.first().map_or("invalid", |e| e.code),
                message: errors
                    .iter()
                    .map(|e| e.message.clone())
                    .collect::<Vec<_>>()
                    .join("; "),
            }),
            Err(other) => return Err(other),
        }
    }
    Ok(axum::Json(answer))
}

async fn apply(state: &AppState, ctx: &AccountCtx, plan: &Plan, id: i64) -> ApiResult<()> {
    let mut tx = state.store.begin().await?;
    let mut c = conversations::get(tx.conn(), &ctx.scope, id).await?;
    if plan.assignee.is_some() || plan.team.is_some() {
        if let Some(Some(agent)) = plan.assignee {
            check_capacity(state, ctx, tx.conn(), &c, agent).await?;
        }
        c = conversations::assign(&mut tx, &ctx.scope, &c, plan.assignee, plan.team).await?;
    }
    if !plan.add.is_empty() || !plan.remove.is_empty() {
        let mut labels = conversations::labels_of(tx.conn(), &c).await?;
        labels.retain(|l| !plan.remove.contains(l));
        for l in &plan.add {
            if !labels.contains(l) {
                labels.push(l.clone());
            }
        }
        conversations::set_labels(&mut tx, &ctx.scope, &c, &labels).await?;
    }
    if let Some(request) = plan.status {
        conversations::set_status(&mut tx, &ctx.scope, &c, request)
            .await
            .map_err(|e| match e {
                StoreError::Refused(m) => ApiError::invalid("status", "invalid", m),
                other => other.into(),
            })?;
    }
    tx.commit().await?;
    Ok(())
}
