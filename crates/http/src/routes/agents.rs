//! Agents: the users of an account and their roles.

use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};
use throughline_core::audit::{CHANGED, Change, action, kind};
use throughline_core::identity::normalize_email;
use throughline_core::model::{Agent, Availability, Invitation};
use throughline_core::role::Role;
use throughline_core::validate::required_text;
use throughline_core::views::AgentView;
use throughline_store::StoreError;
use throughline_store::accounts::{self, MembershipChanges, NewUser, UserChanges};
use throughline_store::auth;
use throughline_store::invitations::{self, InvitationChanges, NewInvitation};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit::Audit;
use crate::error::{ApiError, ApiResult};
use crate::extract::{AccountCtx, Json, Path};
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(list, create))
        .routes(routes!(update, remove))
        .routes(routes!(resend_invitation))
        .routes(routes!(deactivate))
        .routes(routes!(reactivate))
}

/// An agent just added, with what became of a new user's invitation to choose a password.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct AddedAgent {
    #[serde(flatten)]
    agent: AgentView,
    /// Throughline: a new user without a password gets a link to choose one, mailed through
    /// the system mail or, without one, shown here for the administrator to pass on.
    #[serde(skip_serializing_if = "Option::is_none")]
    invitation: Option<super::passwords::InvitationLink>,
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
    let pending = invitations::list(&mut conn, &ctx.scope).await?;
    // Pending invitations sit among the agents by id, as the new users they look like.
    let mut views: Vec<AgentView> = agents
        .iter()
        .map(AgentView::from)
        .chain(pending.iter().map(AgentView::from))
        .collect();
    views.sort_by_key(|v| v.id);
    Ok(axum::Json(views))
}

/// What the audit log keeps of an agent: the same fields whether they are a member or a
/// pending invitation, so the log tells them apart no more than the agents list does.
fn audited_fields(
    name: &str,
    email: &str,
    role: Role,
    availability: Availability,
    auto_offline: bool,
) -> Value {
    json!({"name": name, "email": email, "role": role.as_str(),
        "availability": availability.as_str(), "auto_offline": auto_offline})
}

pub(super) fn member_fields(a: &Agent) -> Value {
    audited_fields(
        &a.user.name,
        &a.user.email,
        a.membership.role,
        a.membership.availability,
        a.membership.auto_offline,
    )
}

fn invitation_fields(i: &Invitation) -> Value {
    audited_fields(&i.name, &i.email, i.role, i.availability, i.auto_offline)
}

/// An `AccountUser` entry about the agent `id`, named as the administrator sees them.
pub(super) fn agent_change(change: Change, id: i64, name: &str, email: &str) -> Change {
    debug_assert_eq!(change.auditable_type, kind::ACCOUNT_USER);
    change
        .named("user_id", id)
        .named("name", name)
        .named("email", email)
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
    /// Throughline: an initial password for a new user. Without one, the new user is invited
    /// to choose theirs through a link (mailed, or shown in the answer's `invitation`). A user
    /// who exists already keeps their own password: this one is not applied.
    password: Option<String>,
}

/// Adds an agent (administrators). A new email becomes a user and an agent at once. The email
/// of a user who exists already (in another account) gets an invitation instead: nothing is
/// granted until that user accepts it from their profile, and the answer (and the agents
/// list) shows only what was typed here, exactly as for a new email, so adding an email never
/// tells whether someone uses it. A new user without a password is invited to choose one
/// (`invitation` in the answer).
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/agents", tag = "Agents",
    params(("account_id" = i64, Path)), request_body = NewAgent, security(("userApiKey" = [])),
    responses((status = 200, body = AddedAgent), (status = 403, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Json(body): Json<NewAgent>,
) -> ApiResult<axum::Json<AddedAgent>> {
    ctx.require_admin()?;
    let name = required_text("name", &body.name, 255)?;
    let email = normalize_email(&body.email)
        .map_err(|e| ApiError::invalid("email", "invalid", e.to_string()))?;
    let role = parse_role(&body.role)?;
    let password_hash = match body.password {
        Some(p) => Some(super::auth::hash_new_password(p).await?),
        None => None,
    };
    let has_password = password_hash.is_some();
    let availability = body
        .availability_status
        .as_deref()
        .map(parse_availability)
        .transpose()?;
    let mut tx = state.store.begin().await?;
    let user = match accounts::find_user_by_email_unscoped(tx.conn(), &email).await? {
        Some((existing, _)) => {
            match accounts::membership_of(tx.conn(), ctx.account_id(), existing.id).await {
                Ok(_) => {
                    return Err(ApiError::Conflict {
                        field: "email".into(),
                    });
                }
                Err(StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
            if invitations::is_invited(tx.conn(), &ctx.scope, existing.id).await? {
                return Err(ApiError::Conflict {
                    field: "email".into(),
                });
            }
            let invitation = invitations::create(
                tx.conn(),
                &ctx.scope,
                NewInvitation {
                    user_id: existing.id,
                    email,
                    name,
                    role,
                    availability: availability.unwrap_or(Availability::Online),
                    auto_offline: body.auto_offline.unwrap_or(true),
                    inviter_id: ctx.caller.user().map(|u| u.id),
                },
            )
            .await?;
            let i = &invitation;
            let change = Change::created(kind::ACCOUNT_USER, i.id, &invitation_fields(i));
            audit
                .record(
                    tx.conn(),
                    &ctx.scope,
                    agent_change(change, i.id, &i.name, &i.email),
                )
                .await?;
            tx.commit().await?;
            let (account_name, locale, inviter) = inviting(&state, &ctx).await?;
            let notice = super::passwords::notify_membership(
                &state,
                &invitation.email,
                &locale,
                &account_name,
                &inviter,
            )
            .await;
            // Answered as a new user's would be: with a password given, no invitation.
            return Ok(axum::Json(AddedAgent {
                agent: AgentView::from(&invitation),
                invitation: (!has_password).then_some(notice),
            }));
        }
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
    let change = Change::created(kind::ACCOUNT_USER, user.id, &member_fields(&agent));
    audit
        .record(
            tx.conn(),
            &ctx.scope,
            agent_change(change, user.id, &agent.user.name, &agent.user.email),
        )
        .await?;
    tx.commit().await?;
    let invitation = if has_password {
        None
    } else {
        Some(send_invitation(&state, &ctx, &agent.user).await?)
    };
    Ok(axum::Json(AddedAgent {
        agent: AgentView::from(&agent),
        invitation,
    }))
}

/// The inviting account's name and language, and who invites (the administrator's name).
async fn inviting(state: &AppState, ctx: &AccountCtx) -> ApiResult<(String, String, String)> {
    let account = {
        let mut conn = state.store.read().await?;
        accounts::get_account(&mut conn, ctx.account_id()).await?
    };
    let inviter = ctx
        .caller
        .user()
        .map_or_else(|| account.name.clone(), |u| u.available_name().to_owned());
    Ok((account.name, account.locale, inviter))
}

/// Opens (again) the new user's link to choose a password, and mails it.
async fn send_invitation(
    state: &AppState,
    ctx: &AccountCtx,
    user: &throughline_core::model::User,
) -> ApiResult<super::passwords::InvitationLink> {
    let (account_name, locale, inviter) = inviting(state, ctx).await?;
    super::passwords::invite(state, user, &account_name, &locale, &inviter).await
}

/// Sends a new link to an agent who has not chosen a password yet (administrators); the
/// earlier link stops working. 422 for an agent who has a password already.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/agents/{id}/resend_invitation", tag = "Agents",
    params(("account_id" = i64, Path), ("id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = super::passwords::InvitationLink), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn resend_invitation(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<super::passwords::InvitationLink>> {
    ctx.require_admin()?;
    let agent = {
        let mut conn = state.store.read().await?;
        let agent = accounts::get_agent(&mut conn, &ctx.scope, id).await?;
        if accounts::password_hash_unscoped(&mut conn, id)
            .await?
            .is_some()
        {
            return Err(ApiError::invalid(
                "id",
                "has_password",
                "this agent has chosen a password already; they can reset it from the sign-in page",
            ));
        }
        agent
    };
    Ok(axum::Json(
        send_invitation(&state, &ctx, &agent.user).await?,
    ))
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

/// Changes an agent's role, availability or name (administrators); supervisors may change
/// only the availability (their live view's presence control).
#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/agents/{id}", tag = "Agents",
    params(("account_id" = i64, Path), ("id" = i64, Path)), request_body = AgentUpdate,
    security(("userApiKey" = [])),
    responses((status = 200, body = AgentView), (status = 404, body = crate::error::ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Path((_account_id, id)): Path<(i64, i64)>,
    Json(body): Json<AgentUpdate>,
) -> ApiResult<axum::Json<AgentView>> {
    let only_availability = body.name.is_none()
        && body.role.is_none()
        && body.auto_offline.is_none()
        && body.password.is_none();
    if !(only_availability && ctx.role.is_some_and(|r| r.supervises())) {
        ctx.require_admin()?;
    }
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
    match invitations::get(tx.conn(), &ctx.scope, id).await {
        Ok(invitation) => {
            // Not a member yet: the invitation changes. A password is not applied — the
            // invited user keeps their own.
            let before = invitation_fields(&invitation);
            let invitation = invitations::update(
                tx.conn(),
                &ctx.scope,
                invitation.id,
                InvitationChanges {
                    name,
                    role,
                    availability,
                    auto_offline: body.auto_offline,
                },
            )
            .await?;
            let i = &invitation;
            let change = Change::updated(kind::ACCOUNT_USER, i.id, &before, &invitation_fields(i));
            audit
                .record(
                    tx.conn(),
                    &ctx.scope,
                    agent_change(change, i.id, &i.name, &i.email),
                )
                .await?;
            tx.commit().await?;
            return Ok(axum::Json(AgentView::from(&invitation)));
        }
        Err(StoreError::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    let current = accounts::get_agent(tx.conn(), &ctx.scope, id).await?;
    if current.membership.role.is_admin()
        && role.is_some_and(|r| !r.is_admin())
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
    let password_changed = password_hash.is_some();
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
    let mut change = Change::updated(
        kind::ACCOUNT_USER,
        id,
        &member_fields(&current),
        &member_fields(&agent),
    );
    if password_changed {
        change = change.with("password", CHANGED);
    }
    audit
        .record(
            tx.conn(),
            &ctx.scope,
            agent_change(change, id, &agent.user.name, &agent.user.email),
        )
        .await?;
    tx.commit().await?;
    if let Some(availability) = availability {
        // Connected here: the new status holds now, for teammates and for routing.
        state
            .hub
            .set_user_status(ctx.account_id(), id, status_of(availability));
    }
    Ok(axum::Json(AgentView::from(&agent)))
}

/// The realtime status an availability stands for.
pub(crate) fn status_of(availability: Availability) -> throughline_realtime::Status {
    use throughline_realtime::Status;
    match availability {
        Availability::Online => Status::Online,
        Availability::Busy => Status::Busy,
        Availability::Offline => Status::Offline,
    }
}

/// Removes an agent from the account (administrators). Their conversations become unassigned.
#[utoipa::path(delete, path = "/api/v1/accounts/{account_id}/agents/{id}", tag = "Agents",
    params(("account_id" = i64, Path), ("id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = super::Empty), (status = 404, body = crate::error::ErrorBody)))]
async fn remove(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<super::Empty>> {
    ctx.require_admin()?;
    let mut tx = state.store.begin().await?;
    // A pending agent is an invitation: removing it withdraws the invitation.
    match invitations::get(tx.conn(), &ctx.scope, id).await {
        Ok(i) => {
            invitations::withdraw(tx.conn(), &ctx.scope, id).await?;
            let change = Change::destroyed(kind::ACCOUNT_USER, id, &invitation_fields(&i));
            audit
                .record(
                    tx.conn(),
                    &ctx.scope,
                    agent_change(change, id, &i.name, &i.email),
                )
                .await?;
            tx.commit().await?;
            return Ok(super::ok());
        }
        Err(StoreError::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    let agent = accounts::get_agent(tx.conn(), &ctx.scope, id).await?;
    if agent.membership.role.is_admin()
        && accounts::count_administrators(tx.conn(), ctx.account_id()).await? <= 1
    {
        return Err(ApiError::Unprocessable(
            "the account must keep at least one administrator".into(),
        ));
    }
    accounts::remove_member(tx.conn(), ctx.account_id(), id).await?;
    let change = Change::destroyed(kind::ACCOUNT_USER, id, &member_fields(&agent));
    audit
        .record(
            tx.conn(),
            &ctx.scope,
            agent_change(change, id, &agent.user.name, &agent.user.email),
        )
        .await?;
    tx.commit().await?;
    // Their open tabs stop hearing the account now, not at their next reconnect.
    state.hub.revoke_agent(ctx.account_id(), id);
    super::routing::routing_changed(&state, ctx.account_id());
    Ok(super::ok())
}

/// Deactivates an agent (administrators): the account refuses them from now on, their open
/// tabs stop hearing it, routing skips them and their unresolved conversations are unassigned
/// so someone else gets them. Their name stays on past conversations; their inboxes and teams
/// are kept for when they are reactivated. A user deactivated in every account they belong to
/// also loses their sessions and API token and may not sign in. Throughline's; Chatwoot only
/// deletes agents.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/agents/{id}/deactivate", tag = "Agents",
    params(("account_id" = i64, Path), ("id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = AgentView), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn deactivate(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<AgentView>> {
    ctx.require_admin()?;
    if ctx.scope.user_id() == Some(id) {
        return Err(ApiError::Unprocessable(
            "you cannot deactivate yourself; ask another administrator".into(),
        ));
    }
    let mut tx = state.store.begin().await?;
    let agent = member_not_invitation(tx.conn(), &ctx, id).await?;
    if agent.membership.deactivated_at.is_some() {
        return Ok(axum::Json(AgentView::from(&agent)));
    }
    if agent.membership.role.is_admin()
        && accounts::count_administrators(tx.conn(), ctx.account_id()).await? <= 1
    {
        return Err(ApiError::Unprocessable(
            "the account must keep at least one administrator".into(),
        ));
    }
    accounts::set_deactivated(
        tx.conn(),
        ctx.account_id(),
        id,
        Some(throughline_store::now_ms()),
    )
    .await?;
    let signed_out = accounts::deactivated_everywhere(tx.conn(), id).await?;
    if signed_out {
        auth::delete_sessions_of_user(tx.conn(), id).await?;
        auth::issue_token(tx.conn(), state.store.key(), auth::TokenOwner::User(id)).await?;
    }
    let change =
        Change::new(kind::ACCOUNT_USER, id, action::DEACTIVATE).with("signed_out", signed_out);
    let view = activation_changed(&state, &ctx, &audit, tx, &agent, change).await?;
    state.hub.revoke_agent(ctx.account_id(), id);
    Ok(view)
}

/// Reactivates a deactivated agent (administrators): they may sign in and work again, in the
/// inboxes and teams they had.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/agents/{id}/reactivate", tag = "Agents",
    params(("account_id" = i64, Path), ("id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = AgentView), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
async fn reactivate(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<AgentView>> {
    ctx.require_admin()?;
    let mut tx = state.store.begin().await?;
    let agent = member_not_invitation(tx.conn(), &ctx, id).await?;
    if agent.membership.deactivated_at.is_none() {
        return Ok(axum::Json(AgentView::from(&agent)));
    }
    accounts::set_deactivated(tx.conn(), ctx.account_id(), id, None).await?;
    let change = Change::new(kind::ACCOUNT_USER, id, action::REACTIVATE);
    activation_changed(&state, &ctx, &audit, tx, &agent, change).await
}

/// The end of a deactivation or reactivation: audited with the change, committed, routing told;
/// the agent as they are now.
async fn activation_changed(
    state: &AppState,
    ctx: &AccountCtx,
    audit: &Audit,
    mut tx: throughline_store::Tx,
    agent: &Agent,
    change: Change,
) -> ApiResult<axum::Json<AgentView>> {
    let id = agent.user.id;
    audit
        .record(
            tx.conn(),
            &ctx.scope,
            agent_change(change, id, &agent.user.name, &agent.user.email),
        )
        .await?;
    let now = accounts::get_agent(tx.conn(), &ctx.scope, id).await?;
    tx.commit().await?;
    super::routing::routing_changed(state, ctx.account_id());
    Ok(axum::Json(AgentView::from(&now)))
}

/// A member of the account; a pending invitation is answered with what to do instead.
async fn member_not_invitation(
    conn: &mut throughline_store::Conn,
    ctx: &AccountCtx,
    id: i64,
) -> ApiResult<Agent> {
    match accounts::get_agent(&mut *conn, &ctx.scope, id).await {
        Ok(agent) => Ok(agent),
        Err(StoreError::NotFound) => match invitations::get(conn, &ctx.scope, id).await {
            Ok(_) => Err(ApiError::Unprocessable(
                "this is a pending invitation; withdraw it instead".into(),
            )),
            Err(StoreError::NotFound) => Err(ApiError::NotFound),
            Err(e) => Err(e.into()),
        },
        Err(e) => Err(e.into()),
    }
}
