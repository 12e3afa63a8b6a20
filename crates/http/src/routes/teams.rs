//! Teams and their members.

use axum::extract::State;
use serde::Deserialize;
use throughline_core::audit::{BOOKKEEPING, Change, kind, record_fields};
use throughline_core::validate::{optional_text, required_text, text_patch};
use throughline_core::views::{AgentView, TeamView};
use throughline_store::{accounts, teams};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Empty, double_option, ok};
use crate::audit::Audit;
use crate::error::ApiResult;
use crate::extract::{AccountCtx, Json, Path};
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(list, create))
        .routes(routes!(show, update, remove))
        .routes(routes!(members, add_members, set_members, remove_members))
}

/// The audit log's entry about a team.
fn audited(
    c: fn(&'static str, i64, &serde_json::Value) -> Change,
    team: &throughline_core::model::Team,
) -> Change {
    c(kind::TEAM, team.id, &record_fields(team, BOOKKEEPING)).named("name", &*team.name)
}

async fn view(
    state: &AppState,
    ctx: &AccountCtx,
    team: &throughline_core::model::Team,
) -> ApiResult<TeamView> {
    let is_member = match ctx.scope.user_id() {
        Some(uid) => {
            let mut conn = state.store.read().await?;
            teams::team_ids_of_user(&mut conn, &ctx.scope, uid)
                .await?
                .contains(&team.id)
        }
        None => false,
    };
    Ok(TeamView::new(team, is_member))
}

#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/teams", tag = "Teams",
    params(("account_id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Vec<TeamView>)))]
async fn list(
    State(state): State<AppState>,
    ctx: AccountCtx,
) -> ApiResult<axum::Json<Vec<TeamView>>> {
    let mut conn = state.store.read().await?;
    let all = teams::list(&mut conn, &ctx.scope).await?;
    let mine = match ctx.scope.user_id() {
        Some(uid) => teams::team_ids_of_user(&mut conn, &ctx.scope, uid).await?,
        None => Vec::new(),
    };
    Ok(axum::Json(
        all.iter()
            .map(|t| TeamView::new(t, mine.contains(&t.id)))
            .collect(),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct TeamBody {
    name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    description: Option<Option<String>>,
    allow_auto_assign: Option<bool>,
}

/// Creates a team (administrators).
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/teams", tag = "Teams",
    params(("account_id" = i64, Path)), request_body = TeamBody, security(("userApiKey" = [])),
    responses((status = 200, body = TeamView), (status = 422, body = crate::error::ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Json(body): Json<TeamBody>,
) -> ApiResult<axum::Json<TeamView>> {
    ctx.require_admin()?;
    let name = required_text("name", body.name.as_deref().unwrap_or_default(), 255)?.to_lowercase();
    let description = body
        .description
        .flatten()
        .map(|d| optional_text("description", &d, 2000))
        .transpose()?
        .flatten();
    let mut tx = state.store.begin().await?;
    let team = teams::create(
        tx.conn(),
        &ctx.scope,
        &name,
        description.as_deref(),
        body.allow_auto_assign.unwrap_or(true),
    )
    .await?;
    audit
        .record(tx.conn(), &ctx.scope, audited(Change::created, &team))
        .await?;
    tx.commit().await?;
    Ok(axum::Json(view(&state, &ctx, &team).await?))
}

#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/teams/{team_id}", tag = "Teams",
    params(("account_id" = i64, Path), ("team_id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = TeamView), (status = 404, body = crate::error::ErrorBody)))]
async fn show(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<TeamView>> {
    let team = {
        let mut conn = state.store.read().await?;
        teams::get(&mut conn, &ctx.scope, id).await?
    };
    Ok(axum::Json(view(&state, &ctx, &team).await?))
}

/// Updates a team (administrators).
#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/teams/{team_id}", tag = "Teams",
    params(("account_id" = i64, Path), ("team_id" = i64, Path)), request_body = TeamBody, security(("userApiKey" = [])),
    responses((status = 200, body = TeamView), (status = 404, body = crate::error::ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Path((_account_id, id)): Path<(i64, i64)>,
    Json(body): Json<TeamBody>,
) -> ApiResult<axum::Json<TeamView>> {
    ctx.require_admin()?;
    let name = body
        .name
        .as_deref()
        .map(|n| required_text("name", n, 255).map(|n| n.to_lowercase()))
        .transpose()?;
    let description = text_patch("description", body.description, 2000)?;
    let mut tx = state.store.begin().await?;
    let before = teams::get(tx.conn(), &ctx.scope, id).await?;
    let team = teams::update(
        tx.conn(),
        &ctx.scope,
        id,
        name.as_deref(),
        description.as_ref().map(|d| d.as_deref()),
        body.allow_auto_assign,
    )
    .await?;
    let change = Change::updated(
        kind::TEAM,
        id,
        &record_fields(&before, BOOKKEEPING),
        &record_fields(&team, BOOKKEEPING),
    )
    .named("name", &*team.name);
    audit.record(tx.conn(), &ctx.scope, change).await?;
    tx.commit().await?;
    Ok(axum::Json(view(&state, &ctx, &team).await?))
}

/// Deletes a team (administrators); its conversations keep their agent, lose the team.
#[utoipa::path(delete, path = "/api/v1/accounts/{account_id}/teams/{team_id}", tag = "Teams",
    params(("account_id" = i64, Path), ("team_id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Empty), (status = 404, body = crate::error::ErrorBody)))]
async fn remove(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<Empty>> {
    ctx.require_admin()?;
    let mut tx = state.store.begin().await?;
    let team = teams::get(tx.conn(), &ctx.scope, id).await?;
    teams::delete(tx.conn(), &ctx.scope, id).await?;
    audit
        .record(tx.conn(), &ctx.scope, audited(Change::destroyed, &team))
        .await?;
    tx.commit().await?;
    Ok(ok())
}

async fn member_views(
    state: &AppState,
    ctx: &AccountCtx,
    team_id: i64,
) -> ApiResult<Vec<AgentView>> {
    let mut conn = state.store.read().await?;
    let ids = teams::member_ids(&mut conn, &ctx.scope, team_id).await?;
    let agents = accounts::agents_by_ids(&mut conn, &ctx.scope, &ids).await?;
    Ok(agents.iter().map(AgentView::from).collect())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct Members {
    user_ids: Vec<i64>,
}

/// Who joined and left the team in this transaction, in the audit log.
async fn record_members(
    conn: &mut throughline_store::Conn,
    ctx: &AccountCtx,
    audit: &Audit,
    team: &throughline_core::model::Team,
    before: &[i64],
) -> ApiResult<()> {
    let after = teams::member_ids(&mut *conn, &ctx.scope, team.id).await?;
    for (user_id, act) in super::membership_changes(before, &after) {
        let change = Change::new(kind::TEAM_MEMBER, team.id, act)
            .with("team_id", team.id)
            .with("user_id", user_id)
            .named("name", &*team.name);
        audit.record(&mut *conn, &ctx.scope, change).await?;
    }
    Ok(())
}

#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/teams/{team_id}/team_members", tag = "Teams",
    params(("account_id" = i64, Path), ("team_id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Vec<AgentView>), (status = 404, body = crate::error::ErrorBody)))]
async fn members(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<Vec<AgentView>>> {
    Ok(axum::Json(member_views(&state, &ctx, id).await?))
}

/// Adds agents to the team (administrators).
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/teams/{team_id}/team_members", tag = "Teams",
    params(("account_id" = i64, Path), ("team_id" = i64, Path)), request_body = Members, security(("userApiKey" = [])),
    responses((status = 200, body = Vec<AgentView>), (status = 422, body = crate::error::ErrorBody)))]
async fn add_members(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Path((_account_id, id)): Path<(i64, i64)>,
    Json(body): Json<Members>,
) -> ApiResult<axum::Json<Vec<AgentView>>> {
    ctx.require_admin()?;
    super::agents_only(&state, &ctx, &body.user_ids).await?;
    let mut tx = state.store.begin().await?;
    let team = teams::get(tx.conn(), &ctx.scope, id).await?;
    let before = teams::member_ids(tx.conn(), &ctx.scope, id).await?;
    teams::add_members(tx.conn(), &ctx.scope, id, &body.user_ids).await?;
    record_members(tx.conn(), &ctx, &audit, &team, &before).await?;
    tx.commit().await?;
    super::routing::routing_changed(&state, ctx.account_id());
    Ok(axum::Json(member_views(&state, &ctx, id).await?))
}

/// Makes the team's members exactly `user_ids` (administrators).
#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/teams/{team_id}/team_members", tag = "Teams",
    params(("account_id" = i64, Path), ("team_id" = i64, Path)), request_body = Members, security(("userApiKey" = [])),
    responses((status = 200, body = Vec<AgentView>), (status = 422, body = crate::error::ErrorBody)))]
async fn set_members(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Path((_account_id, id)): Path<(i64, i64)>,
    Json(body): Json<Members>,
) -> ApiResult<axum::Json<Vec<AgentView>>> {
    ctx.require_admin()?;
    super::agents_only(&state, &ctx, &body.user_ids).await?;
    let mut tx = state.store.begin().await?;
    let team = teams::get(tx.conn(), &ctx.scope, id).await?;
    let before = teams::member_ids(tx.conn(), &ctx.scope, id).await?;
    teams::set_members(tx.conn(), &ctx.scope, id, &body.user_ids).await?;
    record_members(tx.conn(), &ctx, &audit, &team, &before).await?;
    tx.commit().await?;
    super::routing::routing_changed(&state, ctx.account_id());
    Ok(axum::Json(member_views(&state, &ctx, id).await?))
}

/// Removes agents from the team (administrators).
#[utoipa::path(delete, path = "/api/v1/accounts/{account_id}/teams/{team_id}/team_members", tag = "Teams",
    params(("account_id" = i64, Path), ("team_id" = i64, Path)), request_body = Members, security(("userApiKey" = [])),
    responses((status = 200, body = Empty), (status = 404, body = crate::error::ErrorBody)))]
async fn remove_members(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Path((_account_id, id)): Path<(i64, i64)>,
    Json(body): Json<Members>,
) -> ApiResult<axum::Json<Empty>> {
    ctx.require_admin()?;
    super::agents_only(&state, &ctx, &body.user_ids).await?;
    let mut tx = state.store.begin().await?;
    let team = teams::get(tx.conn(), &ctx.scope, id).await?;
    let before = teams::member_ids(tx.conn(), &ctx.scope, id).await?;
    teams::remove_members(tx.conn(), &ctx.scope, id, &body.user_ids).await?;
    record_members(tx.conn(), &ctx, &audit, &team, &before).await?;
    tx.commit().await?;
    super::routing::routing_changed(&state, ctx.account_id());
    Ok(ok())
}
