//! Agents: the users of an account and their roles.

use axum::extract::State;
use serde::Deserialize;
use serde_json::json;
use throughline_core::identity::normalize_email;
use throughline_core::model::Availability;
use throughline_core::role::Role;
use throughline_core::validate::required_text;
use throughline_core::views::AgentView;
use throughline_store::accounts::{self, MembershipChanges, NewUser, UserChanges};
use throughline_store::auth;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult};
use crate::extract::{AccountCtx, Json, Path};
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(list, create))
        .routes(routes!(update, remove))
}

/// All agents of the account.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/agents", tag = "Agents",
    params(("account_id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Vec<AgentView>)))]
async fn list(
    State(state): State<AppState>,
    ctx: AccountCtx,
) -> ApiResult<axum::Json<Vec<AgentView>>> {
    let mut conn = state.store.read().await?;
    let agents = accounts::list_agents(&mut conn, &ctx.scope).await?;
    Ok(axum::Json(agents.iter().map(AgentView::from).collect()))
}

fn parse_role(s: &str) -> ApiResult<Role> {
    Role::parse(s).ok_or_else(|| {
        ApiError::invalid("role", "inclusion", "role must be agent or administrator")
    })
}

fn parse_availability(s: &str) -> ApiResult<Availability> {
    Availability::parse(s).ok_or_else(|| {
        ApiError::invalid(
            "availability",
            "inclusion",
            "availability must be online, busy or offline",
        )
    })
}

#[derive(Deserialize, utoipa::ToSchema)]
struct NewAgent {
    name: String,
    email: String,
    /// agent or administrator
    role: String,
    availability_status: Option<String>,
    auto_offline: Option<bool>,
    /// Throughline: an initial password, so the agent can sign in before email invitations
    /// exist. Without one, an administrator sets it later.
    password: Option<String>,
}

/// Adds an agent (administrators). An existing user (same email) joins the account.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/agents", tag = "Agents",
    params(("account_id" = i64, Path)), request_body = NewAgent, security(("userApiKey" = [])),
    responses((status = 200, body = AgentView), (status = 403, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Json(body): Json<NewAgent>,
) -> ApiResult<axum::Json<AgentView>> {
    ctx.require_admin()?;
    let name = required_text("name", &body.name, 255)?;
    let email = normalize_email(&body.email)
        .map_err(|e| ApiError::invalid("email", "invalid", e.to_string()))?;
    let role = parse_role(&body.role)?;
    let password_hash = match body.password {
        Some(p) => Some(super::auth::hash_new_password(p).await?),
        None => None,
    };
    let availability = body
        .availability_status
        .as_deref()
        .map(parse_availability)
        .transpose()?;
    let mut tx = state.store.begin().await?;
    let user = match accounts::find_user_by_email_unscoped(tx.conn(), &email).await? {
        // An existing user keeps their own credentials: another account cannot set them.
        Some(_) if password_hash.is_some() => {
            return Err(ApiError::invalid(
                "password",
                "not_allowed",
                "this user already exists; they sign in with their own password",
            ));
        }
        Some((u, _)) => u,
        None => {
            let u = accounts::create_user(
                tx.conn(),
                NewUser {
                    email,
                    name,
                    display_name: None,
                    password_hash,
                    custom_attributes: json!({}),
                },
            )
            .await?;
            auth::issue_token(tx.conn(), state.store.key(), auth::TokenOwner::User(u.id)).await?;
            u
        }
    };
    if accounts::membership_of(tx.conn(), ctx.account_id(), user.id)
        .await
        .is_ok()
    {
        return Err(ApiError::Conflict {
            field: "email".into(),
        });
    }
    accounts::add_member(
        tx.conn(),
        ctx.account_id(),
        user.id,
        role,
        ctx.caller.user().map(|u| u.id),
    )
    .await?;
    let agent = accounts::update_membership(
        tx.conn(),
        &ctx.scope,
        user.id,
        MembershipChanges {
            role: None,
            availability,
            auto_offline: body.auto_offline,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(axum::Json(AgentView::from(&agent)))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct AgentUpdate {
    name: Option<String>,
    role: Option<String>,
    availability: Option<String>,
    availability_status: Option<String>,
    auto_offline: Option<bool>,
    /// Throughline: sets the agent's password (administrators).
    password: Option<String>,
}

/// Changes an agent's role, availability or name (administrators).
#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/agents/{id}", tag = "Agents",
    params(("account_id" = i64, Path), ("id" = i64, Path)), request_body = AgentUpdate,
    security(("userApiKey" = [])),
    responses((status = 200, body = AgentView), (status = 404, body = crate::error::ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
    Json(body): Json<AgentUpdate>,
) -> ApiResult<axum::Json<AgentView>> {
    ctx.require_admin()?;
    let role = body.role.as_deref().map(parse_role).transpose()?;
    let availability = body
        .availability
        .or(body.availability_status)
        .as_deref()
        .map(parse_availability)
        .transpose()?;
    let name = body
        .name
        .as_deref()
        .map(|n| required_text("name", n, 255))
        .transpose()?;
    let password_hash = match body.password {
        Some(p) => Some(super::auth::hash_new_password(p).await?),
        None => None,
    };
    let mut tx = state.store.begin().await?;
    let current = accounts::get_agent(tx.conn(), &ctx.scope, id).await?;
    if current.membership.role.is_admin()
        && role == Some(Role::Agent)
        && accounts::count_administrators(tx.conn(), ctx.account_id()).await? <= 1
    {
        return Err(ApiError::Unprocessable(
            "the account must keep at least one administrator".into(),
        ));
    }
    // Users may belong to several accounts; only a user who belongs to this account alone may
    // have their global name or password changed by its administrators.
    if (name.is_some() || password_hash.is_some())
        && accounts::memberships_of_user(tx.conn(), id).await?.len() > 1
    {
        return Err(ApiError::Unprocessable(
            "this user also belongs to other accounts; they change their own name and password"
                .into(),
        ));
    }
    if let Some(name) = name {
        accounts::update_user_unscoped(
            tx.conn(),
            id,
            UserChanges {
                name: Some(name),
                ..Default::default()
            },
        )
        .await?;
    }
    if let Some(hash) = password_hash {
        accounts::set_password_unscoped(tx.conn(), id, &hash).await?;
        auth::delete_sessions_of_user(tx.conn(), id).await?;
    }
    let agent = accounts::update_membership(
        tx.conn(),
        &ctx.scope,
        id,
        MembershipChanges {
            role,
            availability,
            auto_offline: body.auto_offline,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(axum::Json(AgentView::from(&agent)))
}

/// Removes an agent from the account (administrators). Their conversations become unassigned.
#[utoipa::path(delete, path = "/api/v1/accounts/{account_id}/agents/{id}", tag = "Agents",
    params(("account_id" = i64, Path), ("id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = super::Empty), (status = 404, body = crate::error::ErrorBody)))]
async fn remove(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<super::Empty>> {
    ctx.require_admin()?;
    let mut tx = state.store.begin().await?;
    let agent = accounts::get_agent(tx.conn(), &ctx.scope, id).await?;
    if agent.membership.role.is_admin()
        && accounts::count_administrators(tx.conn(), ctx.account_id()).await? <= 1
    {
        return Err(ApiError::Unprocessable(
            "the account must keep at least one administrator".into(),
        ));
    }
    accounts::remove_member(tx.conn(), ctx.account_id(), id).await?;
    tx.commit().await?;
    Ok(super::ok())
}
