//! The invited user's side of an invitation to an account: their pending invitations are listed
//! in the profile (`pending_invitations`); accepting creates the membership with the invited
//! role, declining removes the invitation. Only the invited user finds it: anyone else, the
//! inviting account's administrators included, gets 404.

use axum::extract::State;
use throughline_core::audit::{Change, action, kind};
use throughline_core::views::ProfileView;
use throughline_store::{AccountScope, invitations};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit::Audit;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, Path};
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(accept)).routes(routes!(decline))
}

fn invited_user(caller: &Caller) -> ApiResult<i64> {
    caller
        .user()
        .map(|u| u.id)
        .ok_or_else(|| ApiError::Forbidden("agent bots have no invitations".into()))
}

/// Accepts an invitation: the account appears in the profile with the invited role.
#[utoipa::path(post, path = "/api/v1/profile/invitations/{id}/accept", tag = "Profile",
    params(("id" = i64, Path)), security(("userApiKey" = []), ("sessionCookie" = [])),
    responses((status = 200, body = ProfileView), (status = 404, body = crate::error::ErrorBody)))]
async fn accept(
    State(state): State<AppState>,
    caller: Caller,
    audit: Audit,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<ProfileView>> {
    let user_id = invited_user(&caller)?;
    let mut tx = state.store.begin().await?;
    let m = invitations::accept_unscoped(tx.conn(), user_id, id).await?;
    // In the inviting account's log: the pending agent `id` is now the member `user_id`.
    let user = caller.user().map(|u| (u.name.clone(), u.email.clone()));
    let (name, email) = user.unwrap_or_default();
    let change = Change::new(kind::ACCOUNT_USER, user_id, action::ACCEPT_INVITATION)
        .with("invitation_id", id)
        .with("role", m.role.as_str())
        .named("user_id", user_id)
        .named("name", name)
        .named("email", email);
    audit
        .record(tx.conn(), &AccountScope::system(m.account_id), change)
        .await?;
    tx.commit().await?;
    profile(&state, user_id).await
}

/// Declines an invitation: it is removed, and the account gets nothing.
#[utoipa::path(post, path = "/api/v1/profile/invitations/{id}/decline", tag = "Profile",
    params(("id" = i64, Path)), security(("userApiKey" = []), ("sessionCookie" = [])),
    responses((status = 200, body = ProfileView), (status = 404, body = crate::error::ErrorBody)))]
async fn decline(
    State(state): State<AppState>,
    caller: Caller,
    audit: Audit,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<ProfileView>> {
    let user_id = invited_user(&caller)?;
    let mut tx = state.store.begin().await?;
    let i = invitations::decline_unscoped(tx.conn(), user_id, id).await?;
    // Named as the inviting administrator typed it: the pending agent goes away.
    let change = Change::new(kind::ACCOUNT_USER, id, action::DECLINE_INVITATION)
        .with("role", i.role.as_str())
        .named("user_id", id)
        .named("name", i.name.as_str())
        .named("email", i.email.as_str());
    audit
        .record(tx.conn(), &AccountScope::system(i.account_id), change)
        .await?;
    tx.commit().await?;
    profile(&state, user_id).await
}

async fn profile(state: &AppState, user_id: i64) -> ApiResult<axum::Json<ProfileView>> {
    let mut conn = state.store.read().await?;
    let user = throughline_store::accounts::get_user_unscoped(&mut conn, user_id).await?;
    Ok(axum::Json(
        super::auth::profile_view(&mut conn, &state.store, &user).await?,
    ))
}
