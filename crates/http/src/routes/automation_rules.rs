//! Automation rules (Chatwoot's `automation_rules`, administrators only): CRUD and clone in
//! Chatwoot's shapes, and Throughline's own `runs` (what each rule did) and `preview` (which
//! of the latest conversations a rule would match). Rules run in the jobs crate, on the outbox.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use throughline_core::audit::kind;
use throughline_core::automation::{Action, CheckedRule, EventName, RuleDraft};
use throughline_core::event::{EventKind, StoredEvent};
use throughline_core::validate::FieldError;
use throughline_service::automation as engine;
use throughline_store::audit::Change;
use throughline_store::automation::{self as rules, Rule, RuleFields, Run};
use throughline_store::{Conn, Found, accounts, conversations, teams};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Payload, payload};
use crate::audit::Audit;
use crate::error::{ApiError, ApiResult};
use crate::extract::{AccountCtx, Json, Path, Query};
use crate::outbound_url::checked_url;
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(list, create))
        .routes(routes!(show, update, replace, remove))
        .routes(routes!(clone_rule))
        .routes(routes!(runs))
        .routes(routes!(preview))
}

/// A rule as Chatwoot renders it (`_automation_rule.json.jbuilder`: `created_on` in Unix
/// seconds), with Throughline's `delay_minutes` and `updated_on`.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct RuleView {
    id: i64,
    account_id: i64,
    name: String,
    description: Option<String>,
    event_name: String,
    #[schema(value_type = Vec<Object>)]
    conditions: Value,
    #[schema(value_type = Vec<Object>)]
    actions: Value,
    created_on: i64,
    updated_on: i64,
    active: bool,
    /// Throughline's: the actions run this many minutes after the event, if the conditions
    /// still hold then (0: at once).
    delay_minutes: i64,
}

impl From<&Rule> for RuleView {
    fn from(r: &Rule) -> Self {
        Self {
            id: r.id,
            account_id: r.account_id,
            name: r.name.clone(),
            description: r.description.clone(),
            event_name: r.event_name.clone(),
            conditions: r.conditions.clone(),
            actions: r.actions.clone(),
            created_on: r.created_at / 1000,
            updated_on: r.updated_at / 1000,
            active: r.active,
            delay_minutes: r.delay_minutes,
        }
    }
}

/// The account's rules, oldest first.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/automation_rules", tag = "Automation Rule",
    params(("account_id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Object), (status = 403, body = crate::error::ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    ctx: AccountCtx,
) -> ApiResult<axum::Json<Payload<Vec<RuleView>>>> {
    ctx.require_admin()?;
    let mut conn = state.store.read().await?;
    let list = rules::list(&mut conn, &ctx.scope).await?;
    Ok(payload(list.iter().map(RuleView::from).collect()))
}

#[derive(Deserialize, Default, Clone, utoipa::ToSchema)]
pub(crate) struct RuleFieldsBody {
    name: Option<String>,
    description: Option<String>,
    /// conversation_created, conversation_updated, conversation_opened,
    /// conversation_resolved, message_created, business_event_received, channel_switched.
    event_name: Option<String>,
    active: Option<bool>,
    #[schema(value_type = Option<Vec<Object>>)]
    conditions: Option<Value>,
    #[schema(value_type = Option<Vec<Object>>)]
    actions: Option<Value>,
    delay_minutes: Option<i64>,
}

/// Chatwoot reads the fields at the top level; `{"automation_rule": {…}}` is taken too.
#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct RuleBody {
    automation_rule: Option<RuleFieldsBody>,
    #[serde(flatten)]
    fields: RuleFieldsBody,
}

impl RuleBody {
    fn fields(self) -> RuleFieldsBody {
        self.automation_rule.unwrap_or(self.fields)
    }
}

fn list_field(field: &str, value: Option<Value>) -> ApiResult<Option<Vec<Value>>> {
    match value {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(Vec::new())),
        Some(Value::Array(items)) => Ok(Some(items)),
        Some(_) => Err(ApiError::invalid(
            field,
            "invalid",
            format!("{field} must be a list"),
        )),
    }
}

/// The draft a body makes over `base` (a stored rule on update; empty on create).
fn draft(base: RuleDraft, f: RuleFieldsBody) -> ApiResult<RuleDraft> {
    Ok(RuleDraft {
        name: f.name.unwrap_or(base.name),
        description: match f.description {
            Some(d) => Some(d),
            None => base.description,
        },
        event_name: f.event_name.unwrap_or(base.event_name),
        active: f.active.unwrap_or(base.active),
        conditions: list_field("conditions", f.conditions)?.unwrap_or(base.conditions),
        actions: list_field("actions", f.actions)?.unwrap_or(base.actions),
        delay_minutes: f.delay_minutes.unwrap_or(base.delay_minutes),
    })
}

/// Everything the core checks, then what only the account can tell: the agents and teams the
/// actions name, and the URLs they post to.
pub(crate) async fn checked(
    state: &AppState,
    ctx: &AccountCtx,
    conn: &mut Conn,
    draft: &RuleDraft,
) -> ApiResult<CheckedRule> {
    let custom = throughline_store::filters::custom_types(conn, &ctx.scope, None).await?;
    let rule = draft.checked(&custom).map_err(ApiError::Invalid)?;
    check_references(state, ctx, conn, &rule.actions, "actions").await?;
    Ok(rule)
}

/// The agents, teams and URLs that actions name exist in the account (and may be reached).
pub(crate) async fn check_references(
    state: &AppState,
    ctx: &AccountCtx,
    conn: &mut Conn,
    actions: &[Action],
    field: &str,
) -> ApiResult<()> {
    let mut errors = Vec::new();
    for (i, action) in actions.iter().enumerate() {
        let at = format!("{field}[{i}].action_params");
        if let Some(agent) = action.agent()
            && accounts::get_agent(conn, &ctx.scope, agent)
                .await
                .found()?
                .is_none()
        {
            errors.push(FieldError::new(
                &at,
                "invalid",
                format!("user {agent} is not an agent of this account"),
            ));
        }
        if let Some(team) = action.team()
            && teams::get(conn, &ctx.scope, team).await.found()?.is_none()
        {
            errors.push(FieldError::new(
                &at,
                "invalid",
                format!("team {team} does not exist in this account"),
            ));
        }
        if let Some(policy) = action.sla_policy()
            && throughline_store::sla::get(conn, &ctx.scope, policy)
                .await
                .found()?
                .is_none()
        {
            errors.push(FieldError::new(
                &at,
                "invalid",
                format!("SLA policy {policy} does not exist in this account"),
            ));
        }
        if let Some(url) = action.webhook_url()
            && let Err(e) = checked_url(state, &at, url)
        {
            errors.push(e);
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Invalid(errors))
    }
}

fn fields_of(draft: RuleDraft, rule: &CheckedRule) -> RuleFields {
    RuleFields {
        name: rule.name.clone(),
        description: rule.description.clone(),
        event_name: rule.event.as_str().to_owned(),
        conditions: Value::Array(draft.conditions),
        actions: Value::Array(draft.actions),
        active: draft.active,
        delay_minutes: rule.delay_minutes,
    }
}

fn audit_record(r: &Rule) -> Value {
    json!({
        "name": r.name, "event_name": r.event_name, "active": r.active,
        "conditions": r.conditions, "actions": r.actions, "delay_minutes": r.delay_minutes,
    })
}

/// Adds a rule. Answers the rule itself, unwrapped, as Chatwoot's `create` does.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/automation_rules", tag = "Automation Rule",
    params(("account_id" = i64, Path)), request_body = RuleBody, security(("userApiKey" = [])),
    responses((status = 200, body = RuleView), (status = 403, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Json(body): Json<RuleBody>,
) -> ApiResult<axum::Json<RuleView>> {
    ctx.require_admin()?;
    let base = RuleDraft {
        active: true,
        ..RuleDraft::default()
    };
    let draft = draft(base, body.fields())?;
    let mut tx = state.store.begin().await?;
    let rule = checked(&state, &ctx, tx.conn(), &draft).await?;
    let saved = rules::create(tx.conn(), &ctx.scope, &fields_of(draft, &rule)).await?;
    let change = Change::created(kind::AUTOMATION_RULE, saved.id, &audit_record(&saved));
    audit.record(tx.conn(), &ctx.scope, change).await?;
    tx.commit().await?;
    Ok(axum::Json(RuleView::from(&saved)))
}

#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/automation_rules/{id}", tag = "Automation Rule",
    params(("account_id" = i64, Path), ("id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Object), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
async fn show(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<Payload<RuleView>>> {
    ctx.require_admin()?;
    let mut conn = state.store.read().await?;
    let rule = rules::get(&mut conn, &ctx.scope, id).await?;
    Ok(payload(RuleView::from(&rule)))
}

async fn save_update(
    state: &AppState,
    ctx: &AccountCtx,
    audit: &Audit,
    id: i64,
    body: RuleBody,
) -> ApiResult<axum::Json<Payload<RuleView>>> {
    ctx.require_admin()?;
    let mut tx = state.store.begin().await?;
    let before = rules::get(tx.conn(), &ctx.scope, id).await?;
    let draft = draft(engine::draft_of(&before), body.fields())?;
    let rule = checked(state, ctx, tx.conn(), &draft).await?;
    let saved = rules::update(tx.conn(), &ctx.scope, id, &fields_of(draft, &rule)).await?;
    let change = Change::updated(
        kind::AUTOMATION_RULE,
        id,
        &audit_record(&before),
        &audit_record(&saved),
    );
    audit.record(tx.conn(), &ctx.scope, change).await?;
    tx.commit().await?;
    Ok(payload(RuleView::from(&saved)))
}

/// Changes a rule; fields not given keep their value.
#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/automation_rules/{id}", tag = "Automation Rule",
    params(("account_id" = i64, Path), ("id" = i64, Path)), request_body = RuleBody,
    security(("userApiKey" = [])),
    responses((status = 200, body = Object), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Path((_account_id, id)): Path<(i64, i64)>,
    Json(body): Json<RuleBody>,
) -> ApiResult<axum::Json<Payload<RuleView>>> {
    save_update(&state, &ctx, &audit, id, body).await
}

/// Rails routes PUT like PATCH.
#[utoipa::path(put, path = "/api/v1/accounts/{account_id}/automation_rules/{id}", tag = "Automation Rule",
    params(("account_id" = i64, Path), ("id" = i64, Path)), request_body = RuleBody,
    security(("userApiKey" = [])),
    responses((status = 200, body = Object), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn replace(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Path((_account_id, id)): Path<(i64, i64)>,
    Json(body): Json<RuleBody>,
) -> ApiResult<axum::Json<Payload<RuleView>>> {
    save_update(&state, &ctx, &audit, id, body).await
}

/// Removes a rule and its log; delayed runs it had scheduled are dropped.
#[utoipa::path(delete, path = "/api/v1/accounts/{account_id}/automation_rules/{id}", tag = "Automation Rule",
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
    let before = rules::get(tx.conn(), &ctx.scope, id).await?;
    rules::delete(tx.conn(), &ctx.scope, id).await?;
    let change = Change::destroyed(kind::AUTOMATION_RULE, id, &audit_record(&before))
        .named("name", before.name.clone());
    audit.record(tx.conn(), &ctx.scope, change).await?;
    tx.commit().await?;
    Ok(())
}

/// A copy of the rule (Chatwoot's `clone`), under the same name.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/automation_rules/{automation_rule_id}/clone", tag = "Automation Rule",
    params(("account_id" = i64, Path), ("automation_rule_id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Object), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn clone_rule(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<Payload<RuleView>>> {
    ctx.require_admin()?;
    let mut tx = state.store.begin().await?;
    let original = rules::get(tx.conn(), &ctx.scope, id).await?;
    let fields = RuleFields {
        name: original.name.clone(),
        description: original.description.clone(),
        event_name: original.event_name.clone(),
        conditions: original.conditions.clone(),
        actions: original.actions.clone(),
        active: original.active,
        delay_minutes: original.delay_minutes,
    };
    let saved = rules::create(tx.conn(), &ctx.scope, &fields).await?;
    let change = Change::created(kind::AUTOMATION_RULE, saved.id, &audit_record(&saved));
    audit.record(tx.conn(), &ctx.scope, change).await?;
    tx.commit().await?;
    Ok(payload(RuleView::from(&saved)))
}

#[derive(Deserialize, utoipa::IntoParams)]
struct RunsQuery {
    /// Runs older than this run id (the previous page's last `id`).
    before: Option<i64>,
    /// At most this many (1–100; 25 by default).
    limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct RunView {
    id: i64,
    event_id: i64,
    event_name: String,
    /// The conversation's display id, when the run concerned one that still exists.
    conversation_id: Option<i64>,
    /// The rules whose actions caused the event, oldest first.
    chain: Vec<i64>,
    /// scheduled, acted, failed, lapsed or stopped.
    outcome: String,
    /// One entry per action (`{action, ok, error?}`), or why the run stopped.
    #[schema(value_type = Vec<Object>)]
    detail: Value,
    due_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

/// What a rule did, newest first: each event it matched, the actions done, and errors.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/automation_rules/{id}/runs", tag = "Automation Rule",
    params(("account_id" = i64, Path), ("id" = i64, Path), RunsQuery), security(("userApiKey" = [])),
    responses((status = 200, body = Object), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn runs(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
    Query(q): Query<RunsQuery>,
) -> ApiResult<axum::Json<Payload<Vec<RunView>>>> {
    ctx.require_admin()?;
    let limit = q.limit.unwrap_or(25);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            "invalid",
            "limit must be from 1 to 100",
        ));
    }
    let mut conn = state.store.read().await?;
    rules::get(&mut conn, &ctx.scope, id).await?;
    let list = rules::runs_of(&mut conn, &ctx.scope, id, q.before, limit).await?;
    let mut views = Vec::with_capacity(list.len());
    for run in list {
        views.push(run_view(&mut conn, &ctx, run).await?);
    }
    Ok(payload(views))
}

async fn run_view(conn: &mut Conn, ctx: &AccountCtx, run: Run) -> ApiResult<RunView> {
    let conversation_id = match run.conversation_id {
        Some(id) => conversations::by_internal_id(conn, &ctx.scope, id)
            .await
            .found()?
            .map(|c| c.display_id),
        None => None,
    };
    Ok(RunView {
        id: run.id,
        event_id: run.event_id,
        event_name: run.event_name,
        conversation_id,
        chain: run.chain,
        outcome: run.outcome.as_str().to_owned(),
        detail: run.detail,
        due_at: run.due_at,
        created_at: run.created_at,
        updated_at: run.updated_at,
    })
}

#[derive(Serialize, utoipa::ToSchema)]
struct PreviewRow {
    /// The conversation's display id.
    conversation_id: i64,
    matched: bool,
    /// What the rule would do there (action names, in order), when it matches.
    actions: Vec<&'static str>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct Preview {
    /// How many conversations were tried (the latest, up to 100).
    checked: usize,
    matched: usize,
    payload: Vec<PreviewRow>,
}

/// A dry run: the draft's conditions tried on the account's latest 100 conversations as they
/// are now (for message_created, against each one's latest customer message). Nothing is
/// saved or done.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/automation_rules/preview", tag = "Automation Rule",
    params(("account_id" = i64, Path)), request_body = RuleBody, security(("userApiKey" = [])),
    responses((status = 200, body = Preview), (status = 403, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn preview(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Json(body): Json<RuleBody>,
) -> ApiResult<axum::Json<Preview>> {
    ctx.require_admin()?;
    let base = RuleDraft {
        name: "preview".into(),
        active: true,
        ..RuleDraft::default()
    };
    let draft = draft(base, body.fields())?;
    let mut conn = state.store.read().await?;
    let rule = checked(&state, &ctx, &mut conn, &draft).await?;
    let latest = conversations::latest(&mut conn, &ctx.scope, 100).await?;
    let actions: Vec<&'static str> = rule.actions.iter().map(Action::name).collect();
    let mut rows = Vec::with_capacity(latest.len());
    for c in &latest {
        let event = sample_event(&mut conn, c, rule.event).await?;
        let facts = engine::gather(&mut conn, &ctx.scope, Some(c), &event).await?;
        let matched = throughline_core::automation::conditions::holds(&rule.conditions, &facts);
        rows.push(PreviewRow {
            conversation_id: c.display_id,
            matched,
            actions: if matched { actions.clone() } else { Vec::new() },
        });
    }
    Ok(axum::Json(Preview {
        checked: rows.len(),
        matched: rows.iter().filter(|r| r.matched).count(),
        payload: rows,
    }))
}

/// The event a preview tests the conversation with: its latest customer message for a
/// message rule, the conversation itself for the others.
async fn sample_event(
    conn: &mut Conn,
    c: &throughline_core::model::Conversation,
    event: EventName,
) -> ApiResult<StoredEvent> {
    let mut sample = StoredEvent {
        id: 0,
        kind: EventKind::ConversationUpdated,
        account_id: c.account_id,
        conversation_id: Some(c.id),
        contact_id: Some(c.contact_id),
        inbox_id: Some(c.inbox_id),
        payload: json!({}),
        created_at: c.last_activity_at,
        automation_chain: Vec::new(),
    };
    if matches!(
        event,
        EventName::MessageCreated | EventName::ChannelSwitched
    ) && let Some(m) = throughline_store::messages::latest_incoming(conn, c).await?
    {
        sample.kind = EventKind::MessageCreated;
        sample.payload = json!({
            "content": m.content,
            "message_type": "incoming",
            "private": m.private,
            "content_attributes": m.content_attributes,
            "inbox": { "id": m.inbox_id },
        });
    }
    Ok(sample)
}
