//! Macros (Chatwoot's `macros`): named lists of actions agents run on conversations with one
//! click. Everyone sees the account's global macros and their own personal ones; agents make
//! personal ones only; a global macro is changed by administrators, a personal one by its
//! author. Running one does its actions in order, as the agent, in one transaction per
//! conversation (unlike Chatwoot, which queues a job: the answer says what was done).

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use throughline_core::audit::kind;
use throughline_core::automation::actions;
use throughline_core::validate::required_text;
use throughline_core::views::AgentView;
use throughline_service::automation::{self as engine, ActionContext};
use throughline_store::audit::Change;
use throughline_store::macros::{self, Macro, MacroFields, Visibility};
use throughline_store::{Conn, accounts, conversations};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::automation_rules::check_references;
use super::{Payload, payload};
use crate::audit::Audit;
use crate::error::{ApiError, ApiResult};
use crate::extract::{AccountCtx, Json, Path};
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(list, create))
        .routes(routes!(show, update, replace, remove))
        .routes(routes!(execute))
}

/// A macro as Chatwoot renders it (`_macro.json.jbuilder`), with its author and last editor.
#[derive(Serialize, utoipa::ToSchema)]
struct MacroView {
    id: i64,
    account_id: i64,
    name: String,
    /// personal or global.
    visibility: &'static str,
    #[schema(value_type = Vec<Object>)]
    actions: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_by: Option<AgentView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_by: Option<AgentView>,
    created_at: i64,
    updated_at: i64,
}

/// The macros as shown, their authors and editors read in one query.
async fn views(conn: &mut Conn, ctx: &AccountCtx, list: &[Macro]) -> ApiResult<Vec<MacroView>> {
    let mut ids: Vec<i64> = list
        .iter()
        .flat_map(|m| [m.created_by, m.updated_by])
        .flatten()
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let agents = if ids.is_empty() {
        Vec::new()
    } else {
        accounts::agents_by_ids(conn, &ctx.scope, &ids).await?
    };
    let agent = |id: Option<i64>| {
        id.and_then(|id| agents.iter().find(|a| a.user.id == id))
            .map(AgentView::from)
    };
    Ok(list
        .iter()
        .map(|m| MacroView {
            id: m.id,
            account_id: m.account_id,
            name: m.name.clone(),
            visibility: m.visibility.as_str(),
            actions: m.actions.clone(),
            created_by: agent(m.created_by),
            updated_by: agent(m.updated_by),
            created_at: m.created_at / 1000,
            updated_at: m.updated_at / 1000,
        })
        .collect())
}

async fn view(conn: &mut Conn, ctx: &AccountCtx, m: &Macro) -> ApiResult<MacroView> {
    let mut one = views(conn, ctx, std::slice::from_ref(m)).await?;
    one.pop().ok_or(ApiError::NotFound)
}

/// The global macros and the caller's personal ones.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/macros", tag = "Macros",
    params(("account_id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Object), (status = 403, body = crate::error::ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    ctx: AccountCtx,
) -> ApiResult<axum::Json<Payload<Vec<MacroView>>>> {
    ctx.require_user()?;
    let mut conn = state.store.read().await?;
    let all = macros::visible(&mut conn, &ctx.scope).await?;
    Ok(payload(views(&mut conn, &ctx, &all).await?))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
struct MacroFieldsBody {
    name: Option<String>,
    /// personal (the default; always, for agents) or global.
    visibility: Option<String>,
    #[schema(value_type = Option<Vec<Object>>)]
    actions: Option<Value>,
}

/// Chatwoot reads the fields at the top level; `{"macro": {…}}` is taken too.
#[derive(Deserialize, utoipa::ToSchema)]
struct MacroBody {
    #[serde(rename = "macro")]
    wrapped: Option<MacroFieldsBody>,
    #[serde(flatten)]
    fields: MacroFieldsBody,
}

/// `assign_agent: ["self"]` is whoever runs the macro; stored as written, read as them.
fn with_self(action: &Value, user_id: i64) -> Value {
    let mut a = action.clone();
    if a["action_name"] == "assign_agent" && a["action_params"] == json!(["self"]) {
        a["action_params"] = json!([user_id]);
    }
    a
}

async fn fields_of(
    state: &AppState,
    ctx: &AccountCtx,
    conn: &mut Conn,
    base: Option<&Macro>,
    body: MacroBody,
) -> ApiResult<MacroFields> {
    let f = body.wrapped.unwrap_or(body.fields);
    let name = match (f.name, base) {
        (Some(n), _) => required_text("name", &n, 255)?,
        (None, Some(m)) => m.name.clone(),
        (None, None) => required_text("name", "", 255)?,
    };
    let visibility = match (f.visibility.as_deref(), base) {
        (Some(v), _) => Visibility::parse(v).ok_or_else(|| {
            ApiError::invalid(
                "visibility",
                "inclusion",
                "visibility must be personal or global",
            )
        })?,
        (None, Some(m)) => m.visibility,
        (None, None) => Visibility::Personal,
    };
    // Agents keep personal macros only, as in Chatwoot.
    let visibility = if ctx.scope.can_administer() {
        visibility
    } else {
        Visibility::Personal
    };
    let actions = match (f.actions, base) {
        (Some(Value::Array(items)), _) => items,
        (Some(_), _) => {
            return Err(ApiError::invalid(
                "actions",
                "invalid",
                "actions must be a list",
            ));
        }
        (None, Some(m)) => m.actions.as_array().cloned().unwrap_or_default(),
        (None, None) => Vec::new(),
    };
    let user = ctx.scope.user_id().unwrap_or_default();
    let parsed = actions::parse(
        &actions
            .iter()
            .map(|a| with_self(a, user))
            .collect::<Vec<_>>(),
        "actions",
    )?;
    check_references(state, ctx, conn, &parsed, "actions").await?;
    Ok(MacroFields {
        name,
        visibility,
        actions: Value::Array(actions),
    })
}

fn audit_record(m: &Macro) -> Value {
    json!({"name": m.name, "visibility": m.visibility.as_str(), "actions": m.actions})
}

/// Adds a macro (agents: a personal one).
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/macros", tag = "Macros",
    params(("account_id" = i64, Path)), request_body = MacroBody, security(("userApiKey" = [])),
    responses((status = 200, body = Object), (status = 403, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Json(body): Json<MacroBody>,
) -> ApiResult<axum::Json<Payload<MacroView>>> {
    ctx.require_user()?;
    let mut tx = state.store.begin().await?;
    let fields = fields_of(&state, &ctx, tx.conn(), None, body).await?;
    let saved = macros::create(tx.conn(), &ctx.scope, &fields).await?;
    let change = Change::created(kind::MACRO, saved.id, &audit_record(&saved));
    audit.record(tx.conn(), &ctx.scope, change).await?;
    let shown = view(tx.conn(), &ctx, &saved).await?;
    tx.commit().await?;
    Ok(payload(shown))
}

#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/macros/{id}", tag = "Macros",
    params(("account_id" = i64, Path), ("id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Object), (status = 404, body = crate::error::ErrorBody)))]
async fn show(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<Payload<MacroView>>> {
    ctx.require_user()?;
    let mut conn = state.store.read().await?;
    let m = macros::get(&mut conn, &ctx.scope, id).await?;
    Ok(payload(view(&mut conn, &ctx, &m).await?))
}

/// A global macro is the administrators'; a personal one its author's.
fn may_change(ctx: &AccountCtx, m: &Macro) -> ApiResult<()> {
    let allowed = match m.visibility {
        Visibility::Global => ctx.scope.can_administer(),
        Visibility::Personal => m.created_by.is_some() && m.created_by == ctx.scope.user_id(),
    };
    if allowed {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "only administrators change global macros, and only its author a personal one".into(),
        ))
    }
}

async fn save_update(
    state: &AppState,
    ctx: &AccountCtx,
    audit: &Audit,
    id: i64,
    body: MacroBody,
) -> ApiResult<axum::Json<Payload<MacroView>>> {
    ctx.require_user()?;
    let mut tx = state.store.begin().await?;
    let before = macros::get(tx.conn(), &ctx.scope, id).await?;
    may_change(ctx, &before)?;
    let fields = fields_of(state, ctx, tx.conn(), Some(&before), body).await?;
    let saved = macros::update(tx.conn(), &ctx.scope, id, &fields).await?;
    let change = Change::updated(
        kind::MACRO,
        id,
        &audit_record(&before),
        &audit_record(&saved),
    );
    audit.record(tx.conn(), &ctx.scope, change).await?;
    let shown = view(tx.conn(), ctx, &saved).await?;
    tx.commit().await?;
    Ok(payload(shown))
}

#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/macros/{id}", tag = "Macros",
    params(("account_id" = i64, Path), ("id" = i64, Path)), request_body = MacroBody,
    security(("userApiKey" = [])),
    responses((status = 200, body = Object), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Path((_account_id, id)): Path<(i64, i64)>,
    Json(body): Json<MacroBody>,
) -> ApiResult<axum::Json<Payload<MacroView>>> {
    save_update(&state, &ctx, &audit, id, body).await
}

#[utoipa::path(put, path = "/api/v1/accounts/{account_id}/macros/{id}", tag = "Macros",
    params(("account_id" = i64, Path), ("id" = i64, Path)), request_body = MacroBody,
    security(("userApiKey" = [])),
    responses((status = 200, body = Object), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn replace(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Path((_account_id, id)): Path<(i64, i64)>,
    Json(body): Json<MacroBody>,
) -> ApiResult<axum::Json<Payload<MacroView>>> {
    save_update(&state, &ctx, &audit, id, body).await
}

#[utoipa::path(delete, path = "/api/v1/accounts/{account_id}/macros/{id}", tag = "Macros",
    params(("account_id" = i64, Path), ("id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
async fn remove(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<()> {
    ctx.require_user()?;
    let mut tx = state.store.begin().await?;
    let before = macros::get(tx.conn(), &ctx.scope, id).await?;
    may_change(&ctx, &before)?;
    macros::delete(tx.conn(), &ctx.scope, id).await?;
    let change = Change::destroyed(kind::MACRO, id, &audit_record(&before))
        .named("name", before.name.clone());
    audit.record(tx.conn(), &ctx.scope, change).await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct ExecuteBody {
    /// Conversations by display id (at most 100).
    conversation_ids: Vec<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct Executed {
    conversation_id: i64,
    /// One entry per action: `{action, ok, error?}`.
    #[schema(value_type = Vec<Object>)]
    results: Vec<Value>,
}

/// Runs the macro's actions, in order, on each conversation, as the caller: what the caller
/// may not see is not found, and its changes set automation rules off as the caller's would.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/macros/{id}/execute", tag = "Macros",
    params(("account_id" = i64, Path), ("id" = i64, Path)), request_body = ExecuteBody,
    security(("userApiKey" = [])),
    responses((status = 200, body = Object), (status = 404, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn execute(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
    Json(body): Json<ExecuteBody>,
) -> ApiResult<axum::Json<Payload<Vec<Executed>>>> {
    ctx.require_user()?;
    let user = ctx.scope.user_id().unwrap_or_default();
    if body.conversation_ids.is_empty() || body.conversation_ids.len() > 100 {
        return Err(ApiError::invalid(
            "conversation_ids",
            "invalid",
            "give between 1 and 100 conversation ids",
        ));
    }
    let (found, targets) = {
        let mut conn = state.store.read().await?;
        let m = macros::get(&mut conn, &ctx.scope, id).await?;
        let mut targets = Vec::new();
        for display_id in &body.conversation_ids {
            targets.push(conversations::get(&mut conn, &ctx.scope, *display_id).await?);
        }
        (m, targets)
    };
    let concrete: Vec<Value> = found
        .actions
        .as_array()
        .map(|a| a.iter().map(|x| with_self(x, user)).collect())
        .unwrap_or_default();
    let parsed = actions::parse(&concrete, "actions")?;
    let mut done = Vec::with_capacity(targets.len());
    for conversation in targets {
        let mut tx = state.store.begin().await?;
        let event_id = macros::record_execution(&mut tx, &ctx.scope, &found, &conversation).await?;
        let context = ActionContext {
            scope: ctx.scope.clone(),
            chain: Vec::new(),
            webhook_event: "macro.executed".into(),
            webhook_key: format!("macro:{}", found.id),
            event_id,
            sender: Some(user),
            rule_id: None,
        };
        let results = engine::perform(&mut tx, &context, &conversation, &parsed).await?;
        tx.commit().await?;
        done.push(Executed {
            conversation_id: conversation.display_id,
            results,
        });
    }
    Ok(payload(done))
}
