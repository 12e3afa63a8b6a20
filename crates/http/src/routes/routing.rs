//! Routing's settings, the agents' routing profiles and the supervisor's live view
//! (issue #15). Chatwoot has no API for these (its capacity and assignment policies are
//! paid features); its own shapes — `enable_auto_assignment` and
//! `auto_assignment_config.max_assignment_limit` — live on the inbox.

use std::collections::HashMap;

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use throughline_core::audit::record_fields;
use throughline_core::routing::{
    AgentProfile, ChannelKind, PerKind, QueueId, RoutingSettings, RoutingSettingsPatch, Skill,
};
use throughline_realtime::Status;
use throughline_store::audit::{Change, kind};
use throughline_store::routing as stored;
use throughline_store::{StoreError, accounts};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit::Audit;
use crate::error::{ApiError, ApiResult};
use crate::extract::{AccountCtx, Json, Path};
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(show_settings, update_settings))
        .routes(routes!(list_agents))
        .routes(routes!(update_agent))
        .routes(routes!(live))
        .routes(routes!(my_offers))
        .routes(routes!(answer_offer))
}

/// The account's routing settings (every member may read them: the app's auto-away uses
/// them).
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/routing/settings", tag = "Routing",
    params(("account_id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Object), (status = 403, body = crate::error::ErrorBody)))]
async fn show_settings(
    State(state): State<AppState>,
    ctx: AccountCtx,
) -> ApiResult<axum::Json<RoutingSettings>> {
    let mut conn = state.store.read().await?;
    Ok(axum::Json(
        stored::settings(&mut conn, ctx.account_id()).await?,
    ))
}

/// Changes the routing settings (administrators); fields not given keep their value.
#[utoipa::path(put, path = "/api/v1/accounts/{account_id}/routing/settings", tag = "Routing",
    params(("account_id" = i64, Path)), request_body = Object, security(("userApiKey" = [])),
    responses((status = 200, body = Object), (status = 403, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn update_settings(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Json(patch): Json<RoutingSettingsPatch>,
) -> ApiResult<axum::Json<RoutingSettings>> {
    ctx.require_admin()?;
    let mut tx = state.store.begin().await?;
    let current = stored::settings(tx.conn(), ctx.account_id()).await?;
    let next = current.patched(patch).map_err(ApiError::Invalid)?;
    check_queues(&state, &ctx, tx.conn(), &next).await?;
    stored::save_settings(tx.conn(), &ctx.scope, &next).await?;
    let change = Change::updated(
        kind::ACCOUNT,
        ctx.account_id(),
        &json!({"routing": record_fields(&current, &[])}),
        &json!({"routing": record_fields(&next, &[])}),
    );
    audit.record(tx.conn(), &ctx.scope, change).await?;
    tx.commit().await?;
    routing_changed(&state, ctx.account_id());
    Ok(axum::Json(next))
}

/// Whoever decides for the account looks at what waits again (settings, skills, capacity,
/// an inbox's or a team's members changed).
pub(super) fn routing_changed(state: &AppState, account_id: i64) {
    state
        .bus
        .publish(throughline_realtime::Signal::RoutingChanged { account_id });
}

/// Every queue the settings name is a team or inbox of this account.
async fn check_queues(
    state: &AppState,
    ctx: &AccountCtx,
    conn: &mut throughline_store::Conn,
    settings: &RoutingSettings,
) -> ApiResult<()> {
    let teams: Vec<i64> = throughline_store::teams::list(&mut *conn, &ctx.scope)
        .await?
        .iter()
        .map(|t| t.id)
        .collect();
    let inboxes: Vec<i64> =
        throughline_store::inboxes::list(&mut *conn, state.store.key(), &ctx.scope)
            .await?
            .iter()
            .map(|i| i.id)
            .collect();
    let exists = |q: &QueueId| match q {
        QueueId::Team(id) => teams.contains(id),
        QueueId::Inbox(id) => inboxes.contains(id),
    };
    let mut errors = Vec::new();
    for (i, rules) in settings.queues.iter().enumerate() {
        for (field, queue) in [
            ("queue", Some(&rules.queue)),
            ("overflow_to", rules.overflow_to.as_ref()),
        ] {
            if let Some(q) = queue.filter(|q| !exists(q)) {
                errors.push(throughline_core::validate::FieldError::new(
                    &format!("queues[{i}].{field}"),
                    "not_found",
                    format!("no {q} in this account"),
                ));
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Invalid(errors))
    }
}

/// A member's routing profile as the settings screen shows it.
#[derive(Serialize, utoipa::ToSchema)]
struct AgentRoutingView {
    id: i64,
    name: String,
    email: String,
    role: &'static str,
    /// Per channel kind; null: the account's capacity.
    #[schema(value_type = Object)]
    capacity: PerKind<Option<u16>>,
    #[schema(value_type = Vec<Object>)]
    skills: Vec<Skill>,
    /// Offers instead of direct assignment; null: the account's setting.
    accepts_offers: Option<bool>,
}

fn agent_view(agent: &throughline_core::model::Agent, profile: AgentProfile) -> AgentRoutingView {
    AgentRoutingView {
        id: agent.user.id,
        name: agent.user.available_name().to_owned(),
        email: agent.user.email.clone(),
        role: agent.membership.role.as_str(),
        capacity: profile.capacity,
        skills: profile.skills,
        accepts_offers: profile.accepts_offers,
    }
}

/// Every member's capacity overrides and skills (supervisors and administrators).
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/routing/agents", tag = "Routing",
    params(("account_id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Vec<AgentRoutingView>), (status = 403, body = crate::error::ErrorBody)))]
async fn list_agents(
    State(state): State<AppState>,
    ctx: AccountCtx,
) -> ApiResult<axum::Json<Vec<AgentRoutingView>>> {
    ctx.require_supervisor()?;
    let mut conn = state.store.read().await?;
    let mut profiles = stored::agent_profiles(&mut conn, ctx.account_id()).await?;
    let agents = accounts::list_agents(&mut conn, &ctx.scope).await?;
    Ok(axum::Json(
        agents
            .iter()
            .map(|a| agent_view(a, profiles.remove(&a.user.id).unwrap_or_default()))
            .collect(),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct AgentRoutingUpdate {
    #[schema(value_type = Option<Object>)]
    capacity: Option<PerKind<Option<u16>>>,
    #[schema(value_type = Option<Vec<Object>>)]
    skills: Option<Vec<Skill>>,
    /// true, false, or null for the account's setting.
    #[serde(default, deserialize_with = "super::double_option")]
    accepts_offers: Option<Option<bool>>,
}

/// Changes a member's capacity overrides or skills (supervisors and administrators).
#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/routing/agents/{id}", tag = "Routing",
    params(("account_id" = i64, Path), ("id" = i64, Path)), request_body = AgentRoutingUpdate,
    security(("userApiKey" = [])),
    responses((status = 200, body = AgentRoutingView), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn update_agent(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Path((_account_id, id)): Path<(i64, i64)>,
    Json(body): Json<AgentRoutingUpdate>,
) -> ApiResult<axum::Json<AgentRoutingView>> {
    ctx.require_supervisor()?;
    let mut tx = state.store.begin().await?;
    let agent = accounts::get_agent(tx.conn(), &ctx.scope, id).await?;
    let before = stored::agent_profiles(tx.conn(), ctx.account_id())
        .await?
        .remove(&id)
        .unwrap_or_default();
    let next = AgentProfile {
        capacity: body.capacity.unwrap_or(before.capacity),
        skills: body.skills.unwrap_or_else(|| before.skills.clone()),
        accepts_offers: body.accepts_offers.unwrap_or(before.accepts_offers),
    }
    .checked()
    .map_err(ApiError::Invalid)?;
    match stored::save_agent_profile(tx.conn(), &ctx.scope, id, &next).await {
        Err(StoreError::NotFound) => return Err(ApiError::NotFound),
        other => other?,
    }
    let change = Change::updated(
        kind::ACCOUNT_USER,
        id,
        &json!({"routing": record_fields(&before, &[])}),
        &json!({"routing": record_fields(&next, &[])}),
    )
    .named("name", agent.user.name.as_str());
    audit.record(tx.conn(), &ctx.scope, change).await?;
    tx.commit().await?;
    routing_changed(&state, ctx.account_id());
    Ok(axum::Json(agent_view(&agent, next)))
}

/// Milliseconds to whole seconds, for the live view.
fn secs(ms: i64) -> i64 {
    ms.div_euclid(1_000)
}

/// What supervisors watch: per queue who waits now and the day's service level, per agent
/// presence and load, and the conversations waiting (supervisors and administrators).
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/routing/live", tag = "Routing",
    params(("account_id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Object), (status = 403, body = crate::error::ErrorBody)))]
async fn live(State(state): State<AppState>, ctx: AccountCtx) -> ApiResult<axum::Json<Value>> {
    ctx.require_supervisor()?;
    let now = throughline_store::now_ms();
    // The day in UTC: accounts have no time zone of their own yet.
    let day_start = now - now.rem_euclid(86_400_000);
    let live = throughline_service::routing::live(&state.store, &ctx.scope, day_start).await?;
    // Connected here: the hub knows best; connected to another instance: its shared row.
    let mut present: HashMap<i64, (&'static str, i64)> = HashMap::new();
    let mut conn = state.store.read().await?;
    let fresh_since = now - stored::PRESENCE_STALE_MS;
    for row in stored::present_elsewhere(&mut conn, ctx.account_id(), None, fresh_since).await? {
        if let Some(p) = throughline_core::routing::Presence::parse(&row.status) {
            present.insert(row.user_id, (p.as_str(), row.since));
        }
    }
    for a in state.hub.presence_of(ctx.account_id()) {
        present.insert(a.user_id, (a.status.as_str(), a.since));
    }
    let members = accounts::list_agents(&mut conn, &ctx.scope).await?;
    drop(conn);
    let loads: HashMap<i64, &throughline_service::routing::AgentLoad> =
        live.agents.iter().map(|a| (a.user_id, a)).collect();
    let agents: Vec<Value> = members
        .iter()
        .map(|m| {
            let here = present.get(&m.user.id);
            let load = loads.get(&m.user.id);
            json!({
                "id": m.user.id,
                "name": m.user.available_name(),
                "role": m.membership.role.as_str(),
                "presence": here.map_or(Status::Offline.as_str(), |p| p.0),
                "presence_since": here.map(|p| secs(p.1)),
                "load": load.map(|l| l.load).unwrap_or_default(),
                "capacity": load.map_or(live.settings.capacity, |l| l.capacity),
            })
        })
        .collect();
    let queues: Vec<Value> = live
        .queues
        .iter()
        .map(|q| {
            json!({
                "queue": q.queue,
                "name": q.name,
                "waiting": q.waiting,
                "longest_wait_seconds": q.oldest.map(|o| secs(now - o).max(0)),
                "answered": q.today.answered,
                "answered_within_target": q.today.answered_within_target,
                "abandoned": q.today.abandoned,
                "service_level": q.today.service_level(),
            })
        })
        .collect();
    let names: HashMap<QueueId, &str> = live
        .queues
        .iter()
        .map(|q| (q.queue, q.name.as_str()))
        .collect();
    let waiting: Vec<Value> = live
        .waiting
        .iter()
        .map(|w| {
            let queue = w.team_id.map_or(QueueId::Inbox(w.inbox_id), QueueId::Team);
            json!({
                "id": w.display_id,
                "inbox_id": w.inbox_id,
                "team_id": w.team_id,
                "queue_name": names.get(&queue).copied(),
                "priority": w.priority.map(|p| p.as_str()),
                "channel_kind": ChannelKind::of(w.channel_type).as_str(),
                "waiting_since": secs(w.waiting_since),
                "contact_name": w.contact_name,
            })
        })
        .collect();
    Ok(axum::Json(json!({
        "now": secs(now),
        "today_since": secs(day_start),
        "service_level_seconds": live.settings.service_level_seconds,
        "queues": queues,
        "agents": agents,
        "waiting": waiting,
    })))
}

/// An offer as the agent's app shows it.
#[derive(Serialize, utoipa::ToSchema)]
struct OfferView {
    /// The conversation's display id.
    conversation_id: i64,
    inbox_id: i64,
    contact_name: Option<String>,
    channel_kind: &'static str,
    /// Epoch seconds.
    expires_at: i64,
}

impl From<&stored::Offer> for OfferView {
    fn from(o: &stored::Offer) -> Self {
        Self {
            conversation_id: o.display_id,
            inbox_id: o.inbox_id,
            contact_name: o.contact_name.clone(),
            channel_kind: ChannelKind::of(o.channel_type).as_str(),
            expires_at: secs(o.expires_at),
        }
    }
}

/// The caller's offers still open (the app shows them again after a reload).
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/routing/offers", tag = "Routing",
    params(("account_id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Vec<OfferView>), (status = 403, body = crate::error::ErrorBody)))]
async fn my_offers(
    State(state): State<AppState>,
    ctx: AccountCtx,
) -> ApiResult<axum::Json<Vec<OfferView>>> {
    let user = ctx.require_user()?;
    let mut conn = state.store.read().await?;
    let offers = stored::offers_of(
        &mut conn,
        ctx.account_id(),
        user.id,
        throughline_store::now_ms(),
    )
    .await?;
    Ok(axum::Json(offers.iter().map(OfferView::from).collect()))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct OfferAnswer {
    /// accept or decline.
    answer: String,
}

/// Accepts (the conversation becomes the caller's) or declines (it is offered to the next
/// agent) a conversation offered to the caller. 409 when the offer is no longer the caller's.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/conversations/{conversation_id}/offer", tag = "Routing",
    params(("account_id" = i64, Path), ("conversation_id" = i64, Path)), request_body = OfferAnswer,
    security(("userApiKey" = [])),
    responses((status = 200, body = Object), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn answer_offer(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
    Json(body): Json<OfferAnswer>,
) -> ApiResult<axum::Json<Value>> {
    let user = ctx.require_user()?.clone();
    let accepted = match body.answer.trim() {
        "accept" => true,
        "decline" => false,
        _ => {
            return Err(ApiError::invalid(
                "answer",
                "inclusion",
                "answer must be accept or decline",
            ));
        }
    };
    let now = throughline_store::now_ms();
    let mut tx = state.store.begin().await?;
    stored::lock_account(&mut tx, ctx.account_id()).await?;
    let c = throughline_store::conversations::get(tx.conn(), &ctx.scope, id).await?;
    let still_waiting =
        c.assignee_id.is_none() && c.status == throughline_core::conversation::Status::Open;
    if !still_waiting || !stored::answer_offer(&mut tx, c.id, user.id, accepted, now).await? {
        return Err(ApiError::Stale(
            "this conversation is no longer offered to you".into(),
        ));
    }
    let inbox =
        throughline_store::inboxes::get(tx.conn(), state.store.key(), &ctx.scope, c.inbox_id)
            .await?;
    let answer = if accepted {
        let updated = throughline_store::conversations::assign(
            &mut tx,
            &ctx.scope,
            &c,
            Some(Some(user.id)),
            None,
        )
        .await?;
        tx.commit().await?;
        let mut conn = state.store.read().await?;
        serde_json::to_value(
            throughline_store::render::conversation(&mut conn, &state.store, updated).await?,
        )
        .map_err(|e| ApiError::Internal(e.to_string()))?
    } else {
        tx.commit().await?;
        routing_changed(&state, ctx.account_id());
        json!({})
    };
    // The caller's other tabs drop the offer.
    state.bus.publish(throughline_realtime::Signal::Offer(
        throughline_realtime::OfferNotice {
            account_id: ctx.account_id(),
            user_id: user.id,
            conversation_id: c.display_id,
            inbox_id: c.inbox_id,
            contact_name: None,
            channel_kind: ChannelKind::of(inbox.channel_type).as_str(),
            expires_at: now,
            withdrawn: true,
        },
    ));
    Ok(axum::Json(answer))
}
