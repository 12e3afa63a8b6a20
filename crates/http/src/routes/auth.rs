//! Signing in and out, and the signed-in user's profile.

use std::time::Instant;

use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use throughline_core::crypto;
use throughline_core::model::{Availability, User};
use throughline_core::views::{PendingInvitationView, ProfileView, UserAccountView};
use throughline_store::accounts::{self, UserChanges};
use throughline_store::auth::{self, NewSession, TokenOwner};
use throughline_store::{Conn, Store};
use throughline_store::{invitations, two_factor};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult};
use crate::extract::auth::{SESSION_COOKIE, session_cookie};
use crate::extract::{Caller, Json, PeerAddr};
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(sign_in))
        .routes(routes!(sign_out))
        .routes(routes!(profile, update_profile))
        .routes(routes!(reset_access_token))
}

/// The first step (`email`, `password`) or, for a user with two-factor authentication, the
/// second (`mfa_token` with `otp_code` or `backup_code`), as Chatwoot takes them.
#[derive(Deserialize, utoipa::ToSchema)]
struct SignIn {
    email: Option<String>,
    password: Option<String>,
    /// The second step: the token the first step answered (206).
    mfa_token: Option<String>,
    /// The 6-digit code of the authenticator app.
    otp_code: Option<String>,
    /// A recovery code instead of `otp_code`.
    backup_code: Option<String>,
    /// With `email`, instead of the password: the token of a sign-in link a platform app asked
    /// for (`GET /platform/api/v1/users/{id}/login`), good once.
    sso_auth_token: Option<String>,
}

/// The first step's answer (206) for a user with two-factor authentication: no session, no
/// token, but Chatwoot's `mfa_token`, good for one second step within five minutes.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct MfaChallenge {
    mfa_required: bool,
    mfa_token: String,
}

/// How long the second step may wait after the password.
const MFA_TOKEN_TTL_MS: i64 = 5 * 60 * 1000;

#[derive(serde::Serialize, utoipa::ToSchema)]
struct SignInAnswer {
    data: ProfileView,
}

/// The client address: the socket's peer, or — behind a trusted proxy (`trust_proxy`) — the
/// address that proxy appended to `X-Forwarded-For`, which is the last one. Earlier entries
/// are whatever the client sent and are never used: a client must not pick its own key for
/// rate limits and sign-in throttling.
pub(crate) fn client_ip(
    state: &AppState,
    headers: &HeaderMap,
    peer: Option<std::net::SocketAddr>,
) -> String {
    if state.config.trust_proxy
        && let Some(ip) = forwarded_by_proxy(headers)
    {
        return ip.to_string();
    }
    peer.map(|p| p.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// The last entry of the last `X-Forwarded-For` header, when it is an IP address.
fn forwarded_by_proxy(headers: &HeaderMap) -> Option<std::net::IpAddr> {
    let last_header = headers.get_all("x-forwarded-for").iter().next_back()?;
    let last = last_header.to_str().ok()?.rsplit(',').next()?.trim();
    last.parse().ok()
}

/// Signs in with email and password: answers like Chatwoot (`data.access_token`,
/// `data.account_id`, `data.accounts`) and sets the web app's session cookie. A user with
/// two-factor authentication gets 206 `{mfa_required, mfa_token}` instead, and signs in by
/// posting the token with `otp_code` (or `backup_code`): a wrong code is 400, an expired or
/// used token 401, and wrong codes are throttled like passwords.
#[utoipa::path(post, path = "/auth/sign_in", tag = "Auth", request_body = SignIn, responses(
    (status = 200, body = SignInAnswer), (status = 206, body = MfaChallenge),
    (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody),
    (status = 429, body = crate::error::ErrorBody)))]
async fn sign_in(
    State(state): State<AppState>,
    PeerAddr(peer): PeerAddr,
    headers: HeaderMap,
    Json(body): Json<SignIn>,
) -> ApiResult<Response> {
    let ip = client_ip(&state, &headers, peer);
    if let Some(token) = body.mfa_token.as_deref() {
        return second_step(&state, &headers, ip, token, &body).await;
    }
    if let Some(token) = body.sso_auth_token.as_deref() {
        return link_sign_in(&state, &headers, ip, body.email.as_deref(), token).await;
    }
    let (Some(email), Some(password)) = (body.email.as_deref(), body.password) else {
        return Err(ApiError::invalid(
            if body.email.is_none() {
                "email"
            } else {
                "password"
            },
            "required",
            "email and password are required",
        ));
    };
    let email = email.trim().to_lowercase();
    // Checked before the password, which a locked address does not get to try.
    if let Some(retry_after) = state.throttle.refused(&ip, &email, Instant::now()) {
        return Err(ApiError::TooManyRequests { retry_after });
    }
    let mut conn = state.store.read().await?;
    let found = accounts::find_user_by_email_unscoped(&mut conn, &email).await?;
    drop(conn);
    // Verify against a real hash even for unknown emails, so timing does not reveal accounts.
    let (user, hash) = match found {
        Some((u, Some(h))) => (Some(u), h),
        _ => (None, dummy_hash().to_owned()),
    };
    let verified = tokio::task::spawn_blocking(move || crypto::verify_password(&password, &hash))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    if !verified || user.is_none() {
        crate::audit::sign_in_failed(&state, user.as_ref(), &email, &ip, "password");
    }
    let Some(user) = user.filter(|_| verified) else {
        state.throttle.failed(&ip, &email, Instant::now());
        return Err(ApiError::Unauthorized(
            "Invalid login credentials. Please try again.".into(),
        ));
    };
    state.throttle.succeeded(&ip, &email);

    let mut tx = state.store.begin().await?;
    if two_factor::is_enabled_unscoped(tx.conn(), user.id).await? {
        let mfa_token =
            two_factor::create_challenge_unscoped(tx.conn(), user.id, MFA_TOKEN_TTL_MS).await?;
        tx.commit().await?;
        let challenge = MfaChallenge {
            mfa_required: true,
            mfa_token,
        };
        return Ok((StatusCode::PARTIAL_CONTENT, axum::Json(challenge)).into_response());
    }
    start_session(&state, &headers, ip, &user, tx).await
}

/// The second step: the challenge token and a code (or a recovery code). The token is spent
/// with the code, in one transaction with the new session.
async fn second_step(
    state: &AppState,
    headers: &HeaderMap,
    ip: String,
    token: &str,
    body: &SignIn,
) -> ApiResult<Response> {
    let expired = || {
        ApiError::Unauthorized(
            "This sign-in has expired or was already completed; sign in again.".into(),
        )
    };
    let mut conn = state.store.read().await?;
    let user_id = two_factor::challenge_user_unscoped(&mut conn, token)
        .await?
        .ok_or_else(expired)?;
    let user = accounts::get_user_unscoped(&mut conn, user_id).await?;
    drop(conn);
    if body.otp_code.is_none() && body.backup_code.is_none() {
        return Err(ApiError::invalid(
            "otp_code",
            "required",
            "otp_code or backup_code is required",
        ));
    }
    if let Some(retry_after) = state
        .two_factor_throttle
        .refused(&ip, &user.email, Instant::now())
    {
        return Err(ApiError::TooManyRequests { retry_after });
    }
    let mut tx = state.store.begin().await?;
    let spent = super::two_factor::spend_code(
        tx.conn(),
        state.store.key(),
        user.id,
        body.otp_code.as_deref(),
        body.backup_code.as_deref(),
    )
    .await?;
    if !spent {
        drop(tx);
        crate::audit::sign_in_failed(state, Some(&user), &user.email, &ip, "verification_code");
        state
            .two_factor_throttle
            .failed(&ip, &user.email, Instant::now());
        return Err(ApiError::BadRequest("Invalid verification code.".into()));
    }
    if !two_factor::consume_challenge_unscoped(tx.conn(), token).await? {
        return Err(expired());
    }
    state.two_factor_throttle.succeeded(&ip, &user.email);
    start_session(state, headers, ip, &user, tx).await
}

/// Signs in with a platform app's sign-in link (Chatwoot's `sso_auth_token` with the `email`):
/// the token is spent with the new session, in one transaction. Like Chatwoot, the link stands
/// for the password and the second factor alike: the platform app that made the user vouches
/// for them. A used, expired, forged or another user's token is 401, as a wrong password is.
async fn link_sign_in(
    state: &AppState,
    headers: &HeaderMap,
    ip: String,
    email: Option<&str>,
    token: &str,
) -> ApiResult<Response> {
    let email = email.unwrap_or_default().trim().to_lowercase();
    if email.is_empty() {
        return Err(ApiError::invalid(
            "email",
            "required",
            "email is required with sso_auth_token",
        ));
    }
    if let Some(retry_after) = state.throttle.refused(&ip, &email, Instant::now()) {
        return Err(ApiError::TooManyRequests { retry_after });
    }
    let refused = || {
        ApiError::Unauthorized(
            "This sign-in link has expired or was already used. Please sign in again.".into(),
        )
    };
    let found = {
        let mut conn = state.store.read().await?;
        accounts::find_user_by_email_unscoped(&mut conn, &email).await?
    };
    let Some((user, _)) = found else {
        crate::audit::sign_in_failed(state, None, &email, &ip, "sso_auth_token");
        state.throttle.failed(&ip, &email, Instant::now());
        return Err(refused());
    };
    let mut tx = state.store.begin().await?;
    if !throughline_store::sso::consume_unscoped(tx.conn(), state.store.key(), user.id, token)
        .await?
    {
        drop(tx);
        crate::audit::sign_in_failed(state, Some(&user), &email, &ip, "sso_auth_token");
        state.throttle.failed(&ip, &email, Instant::now());
        return Err(refused());
    }
    state.throttle.succeeded(&ip, &email);
    start_session(state, headers, ip, &user, tx).await
}

/// Opens a browser session and answers the profile, inside `tx`: the end of every sign-in.
async fn start_session(
    state: &AppState,
    headers: &HeaderMap,
    ip: String,
    user: &User,
    mut tx: throughline_store::Tx,
) -> ApiResult<Response> {
    // Every way in ends here: a user deactivated in every account they belong to is refused.
    if accounts::deactivated_everywhere(tx.conn(), user.id).await? {
        return Err(ApiError::Deactivated);
    }
    let secret = auth::create_session(
        tx.conn(),
        NewSession {
            user_id: user.id,
            user_agent: headers
                .get("user-agent")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            ip: Some(ip.clone()),
            ttl_ms: i64::try_from(state.config.session_ttl.as_millis()).unwrap_or(i64::MAX),
        },
    )
    .await?;
    crate::audit::signed_in(tx.conn(), user, &ip).await?;
    accounts::confirm_user_unscoped(tx.conn(), user.id).await?;
    if auth::current_token(tx.conn(), state.store.key(), TokenOwner::User(user.id))
        .await?
        .is_none()
    {
        auth::issue_token(tx.conn(), state.store.key(), TokenOwner::User(user.id)).await?;
    }
    tx.commit().await?;
    let mut conn = state.store.read().await?;
    let data = profile_view(&mut conn, &state.store, user).await?;
    let mut resp = axum::Json(SignInAnswer { data }).into_response();
    resp.headers_mut().insert(
        SET_COOKIE,
        session_cookie_header(state, &secret, state.config.session_ttl.as_secs())?,
    );
    Ok(resp)
}

fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| crypto::hash_password("not-a-real-password").unwrap_or_default())
}

fn session_cookie_header(state: &AppState, value: &str, max_age: u64) -> ApiResult<HeaderValue> {
    let secure = if state.config.cookie_secure {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .map_err(|e| ApiError::Internal(e.to_string()))
}

/// Ends the browser session (the access token stays valid).
#[utoipa::path(delete, path = "/auth/sign_out", tag = "Auth", responses((status = 200, body = super::Empty)))]
async fn sign_out(
    State(state): State<AppState>,
    PeerAddr(peer): PeerAddr,
    headers: HeaderMap,
) -> ApiResult<Response> {
    if let Some(secret) = session_cookie(&headers) {
        let mut tx = state.store.begin().await?;
        crate::audit::signed_out(&state, tx.conn(), &secret, &headers, peer).await?;
        auth::delete_session(tx.conn(), &secret).await?;
        tx.commit().await?;
    }
    let mut resp = super::ok().into_response();
    resp.headers_mut()
        .insert(SET_COOKIE, session_cookie_header(&state, "", 0)?);
    Ok(resp)
}

pub(crate) async fn profile_view(
    conn: &mut Conn,
    store: &Store,
    user: &User,
) -> ApiResult<ProfileView> {
    let memberships = accounts::memberships_of_user(conn, user.id).await?;
    let pending = invitations::pending_for_user_unscoped(conn, user.id).await?;
    let mfa_enabled = two_factor::is_enabled_unscoped(conn, user.id).await?;
    let mfa_enrollment_required =
        !mfa_enabled && two_factor::enrollment_required_unscoped(conn, user.id).await?;
    // Not shown to a user who must enrol first: the token would skip the enrolment.
    let token = if mfa_enrollment_required {
        None
    } else {
        auth::current_token(conn, store.key(), TokenOwner::User(user.id)).await?
    };
    let first = memberships.first();
    let phone_number = accounts::phone_of_unscoped(conn, user.id).await?;
    Ok(ProfileView {
        id: user.id,
        access_token: token,
        account_id: first.map(|(a, _)| a.id),
        available_name: user.available_name().into(),
        avatar_url: user.avatar_url.clone().unwrap_or_default(),
        confirmed: true,
        display_name: user.display_name.clone(),
        message_signature: user.message_signature.clone(),
        email: user.email.clone(),
        name: user.name.clone(),
        provider: "email".into(),
        pubsub_token: user.pubsub_token.clone(),
        role: first.map(|(_, m)| m.role.as_str().to_owned()),
        ui_settings: user.ui_settings.clone(),
        uid: user.email.clone(),
        kind: None,
        custom_attributes: user.custom_attributes.clone(),
        locale: user.locale.clone(),
        accounts: memberships
            .iter()
            .map(|(a, m)| UserAccountView {
                id: a.id,
                name: a.name.clone(),
                status: a.status.clone(),
                role: m.role.as_str().into(),
                availability: m.availability.as_str().into(),
                availability_status: m.availability.as_str().into(),
                auto_offline: m.auto_offline,
                permissions: vec![m.role.as_str().into()],
            })
            .collect(),
        pending_invitations: pending
            .into_iter()
            .map(|p| PendingInvitationView {
                id: p.invitation.id,
                account_id: p.invitation.account_id,
                account_name: p.account_name,
                role: p.invitation.role.as_str().into(),
                inviter_name: p.inviter_name,
                created_at: p.invitation.created_at / 1000,
            })
            .collect(),
        mfa_enabled,
        mfa_enrollment_required,
        phone_number,
    })
}

fn require_user(caller: &Caller) -> ApiResult<&User> {
    caller
        .user()
        .ok_or_else(|| ApiError::Forbidden("agent bots have no profile".into()))
}

/// The signed-in user, with their access token and accounts.
#[utoipa::path(get, path = "/api/v1/profile", tag = "Profile",
    security(("userApiKey" = []), ("sessionCookie" = [])),
    responses((status = 200, body = ProfileView), (status = 401, body = crate::error::ErrorBody)))]
async fn profile(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<axum::Json<ProfileView>> {
    let user = require_user(&caller)?;
    let mut conn = state.store.read().await?;
    Ok(axum::Json(
        profile_view(&mut conn, &state.store, user).await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema, Default)]
struct ProfileFields {
    name: Option<String>,
    display_name: Option<String>,
    email: Option<String>,
    message_signature: Option<String>,
    /// en, pt-BR or pl: the web app's language.
    locale: Option<String>,
    /// Throughline: the phone (international, with its country code) rung when the call queue
    /// gives this user a call; "" clears it.
    phone_number: Option<String>,
    /// online, busy or offline: in `account_id`, else in every account of the user
    /// (Chatwoot's profile `availability`).
    availability: Option<String>,
    account_id: Option<i64>,
    #[schema(value_type = Object)]
    ui_settings: Option<serde_json::Value>,
    password: Option<String>,
    current_password: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
struct ProfileUpdate {
    /// Chatwoot nests the fields under `profile`; flat fields are accepted too.
    profile: Option<ProfileFields>,
    #[serde(flatten)]
    flat: ProfileFields,
}

pub(crate) const LOCALES: [&str; 3] = ["en", "pt-BR", "pl"];

/// Updates the signed-in user's profile; changing the password needs the current one.
#[utoipa::path(put, path = "/api/v1/profile", tag = "Profile", request_body = ProfileUpdate,
    security(("userApiKey" = []), ("sessionCookie" = [])),
    responses((status = 200, body = ProfileView), (status = 422, body = crate::error::ErrorBody)))]
async fn update_profile(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<ProfileUpdate>,
) -> ApiResult<axum::Json<ProfileView>> {
    use throughline_core::validate::{optional_text, required_text};
    let user = require_user(&caller)?.clone();
    let f = body.profile.unwrap_or(body.flat);
    let mut changes = UserChanges {
        name: f
            .name
            .as_deref()
            .map(|n| required_text("name", n, 255))
            .transpose()?,
        display_name: f
            .display_name
            .as_deref()
            .map(|n| optional_text("display_name", n, 255))
            .transpose()?,
        message_signature: f
            .message_signature
            .as_deref()
            .map(|n| optional_text("message_signature", n, 5000))
            .transpose()?,
        ui_settings: f.ui_settings,
        ..Default::default()
    };
    if let Some(email) = f.email.as_deref() {
        changes.email = Some(
            throughline_core::identity::normalize_email(email)
                .map_err(|e| ApiError::invalid("email", "invalid", e.to_string()))?,
        );
    }
    if let Some(locale) = f.locale {
        if !LOCALES.contains(&locale.as_str()) {
            return Err(ApiError::invalid(
                "locale",
                "inclusion",
                "locale must be en, pt-BR or pl",
            ));
        }
        changes.locale = Some(Some(locale));
    }
    let phone = match f.phone_number.as_deref().map(str::trim) {
        None => None,
        Some("") => Some(None),
        // An agent's phone is rung from anywhere: the number carries its country code.
        Some(raw) => Some(Some(super::calls::international(raw)?)),
    };
    let mut tx = state.store.begin().await?;
    if let Some(phone) = phone {
        accounts::set_phone_unscoped(tx.conn(), user.id, phone.as_deref()).await?;
    }
    if let Some(new_password) = f.password {
        let current = f.current_password.unwrap_or_default();
        let hash = accounts::password_hash_unscoped(tx.conn(), user.id)
            .await?
            .unwrap_or_default();
        let ok = tokio::task::spawn_blocking(move || crypto::verify_password(&current, &hash))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        if !ok {
            return Err(ApiError::invalid(
                "current_password",
                "invalid",
                "current password is incorrect",
            ));
        }
        let hash = hash_new_password(new_password).await?;
        accounts::set_password_unscoped(tx.conn(), user.id, &hash).await?;
        // Other browsers signed in with the old password are signed out.
        auth::delete_sessions_of_user(tx.conn(), user.id).await?;
    }
    let updated = accounts::update_user_unscoped(tx.conn(), user.id, changes).await?;
    let mut chosen = Vec::new();
    if let Some(raw) = f.availability.as_deref() {
        let availability = Availability::parse(raw).ok_or_else(|| {
            ApiError::invalid(
                "availability",
                "inclusion",
                "availability must be online, busy or offline",
            )
        })?;
        for (account, _) in accounts::memberships_of_user(tx.conn(), user.id).await? {
            if f.account_id.is_some_and(|a| a != account.id) {
                continue;
            }
            let scope = throughline_store::AccountScope::system(account.id);
            let change = accounts::MembershipChanges {
                availability: Some(availability),
                ..Default::default()
            };
            accounts::update_membership(tx.conn(), &scope, user.id, change).await?;
            chosen.push(account.id);
        }
        if let Some(a) = f.account_id.filter(|a| !chosen.contains(a)) {
            return Err(ApiError::invalid(
                "account_id",
                "invalid",
                format!("you are not a member of account {a}"),
            ));
        }
    }
    tx.commit().await?;
    if let Some(availability) = f.availability.as_deref().and_then(Availability::parse) {
        for account_id in chosen {
            state
                .hub
                .set_user_status(account_id, user.id, super::agents::status_of(availability));
        }
    }
    let mut conn = state.store.read().await?;
    Ok(axum::Json(
        profile_view(&mut conn, &state.store, &updated).await?,
    ))
}

/// Checks the password policy and hashes off the async runtime.
pub(crate) async fn hash_new_password(password: String) -> ApiResult<String> {
    let len = password.chars().count();
    if !(crypto::MIN_PASSWORD_LEN..=crypto::MAX_PASSWORD_LEN).contains(&len) {
        return Err(ApiError::invalid(
            "password",
            "length",
            format!(
                "password must be {} to {} characters",
                crypto::MIN_PASSWORD_LEN,
                crypto::MAX_PASSWORD_LEN
            ),
        ));
    }
    tokio::task::spawn_blocking(move || crypto::hash_password(&password))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// Replaces the signed-in user's access token; the old one stops working at once.
#[utoipa::path(post, path = "/api/v1/profile/reset_access_token", tag = "Profile",
    security(("userApiKey" = []), ("sessionCookie" = [])),
    responses((status = 200, body = ProfileView)))]
async fn reset_access_token(
    State(state): State<AppState>,
    caller: Caller,
    audit: crate::audit::Audit,
) -> ApiResult<axum::Json<ProfileView>> {
    let user = require_user(&caller)?.clone();
    let mut tx = state.store.begin().await?;
    auth::issue_token(tx.conn(), state.store.key(), TokenOwner::User(user.id)).await?;
    crate::audit::token_reset(tx.conn(), &audit, &user).await?;
    tx.commit().await?;
    let mut conn = state.store.read().await?;
    Ok(axum::Json(
        profile_view(&mut conn, &state.store, &user).await?,
    ))
}
