//! Choosing a password through a link: an invitation (an administrator added a new user) or a
//! reset the user asked for (Chatwoot's `POST /auth/password` and `PUT /auth/password` with
//! `reset_password_token`). The links are mailed through the instance's system mail; without
//! one, an invitation's link is shown to the administrator who made it, and a reset is not
//! possible (the administrator sets a password instead).
//!
//! A reset request answers the same whether or not the email belongs to anyone, at once (the
//! mail leaves in the background), so it tells nothing about who uses Throughline. Choosing
//! the password does not sign in: the user then signs in as usual, second factor included,
//! and a reset ends every session the user had.

use std::time::Instant;

use axum::extract::State;
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use throughline_channels::email::Mailbox;
use throughline_core::model::User;
use throughline_core::system_mail;
use throughline_store::password_links::{self, Purpose};
use throughline_store::{accounts, auth};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, PeerAddr, Query};
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(request_reset, choose_password))
        .routes(routes!(link_details))
}

/// How long an invitation's link works.
pub(crate) const INVITATION_DAYS: i64 = 7;
/// How long a reset link works.
const RESET_MINUTES: i64 = 60;

/// Where a link's page is in the app.
fn page_url(state: &AppState, token: &str) -> String {
    format!(
        "{}/app/auth/password/edit?reset_password_token={token}",
        state.config.public_url
    )
}

/// What became of an invitation: mailed, or (a new user's link) to be passed on by the
/// administrator.
#[derive(Serialize, Clone, Debug, utoipa::ToSchema)]
pub(crate) struct InvitationLink {
    /// The email went out through the system mail.
    pub email_sent: bool,
    /// Why it did not, as a code for the app to word: `no_system_mail` or `relay_failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_error_code: Option<&'static str>,
    /// Why it did not, in the mail server's or our words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_error: Option<String>,
    /// A new user's link, for the administrator to pass on — only when no email went out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// When `url` stops working (Unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

impl InvitationLink {
    /// The answer after trying to mail `letter` to `to` (not tried without system mail); the
    /// link (with its expiry) is shown only when no email went out.
    async fn after_mailing(
        state: &AppState,
        to: Mailbox,
        letter: &system_mail::Letter,
        link: Option<(String, i64)>,
    ) -> Self {
        let (code, error) = match &state.config.system_mail {
            None => (
                "no_system_mail",
                "no system mail is configured (smtp_address)".to_owned(),
            ),
            Some(mail) => match mail.send(to, letter).await {
                Ok(()) => {
                    return Self {
                        email_sent: true,
                        email_error_code: None,
                        email_error: None,
                        url: None,
                        expires_at: None,
                    };
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the invitation email could not be sent");
                    ("relay_failed", e.to_string())
                }
            },
        };
        let (url, expires_at) = link.unzip();
        Self {
            email_sent: false,
            email_error_code: Some(code),
            email_error: Some(error),
            url,
            expires_at,
        }
    }
}

/// Tells someone who has an account already that they were invited to another (they accept
/// it in their profile). The answer is a new user's when mail goes out, so adding an email
/// does not tell whether someone uses it; without system mail only a new user has a link to
/// show, and the answers differ.
pub(crate) async fn notify_membership(
    state: &AppState,
    email: &str,
    locale: &str,
    account_name: &str,
    inviter: &str,
) -> InvitationLink {
    let letter = system_mail::membership_invitation(
        Some(locale),
        inviter,
        account_name,
        &format!("{}/login", state.config.public_url),
    );
    InvitationLink::after_mailing(state, Mailbox::new(email), &letter, None).await
}

/// Opens an invitation link for a new user (replacing an earlier one) and mails it.
pub(crate) async fn invite(
    state: &AppState,
    user: &User,
    account_name: &str,
    account_locale: &str,
    inviter: &str,
) -> ApiResult<InvitationLink> {
    let (token, expires_at) = {
        let mut tx = state.store.begin().await?;
        let issued = password_links::issue_unscoped(
            tx.conn(),
            state.store.key(),
            user.id,
            Purpose::Invitation,
            INVITATION_DAYS * 86_400_000,
        )
        .await?;
        tx.commit().await?;
        issued
    };
    let url = page_url(state, &token);
    let locale = user.locale.as_deref().unwrap_or(account_locale);
    let letter = system_mail::invitation(
        Some(locale),
        user.available_name(),
        inviter,
        account_name,
        &url,
        INVITATION_DAYS,
    );
    let to = Mailbox {
        address: user.email.clone(),
        name: Some(user.available_name().to_owned()),
    };
    let link = (url, throughline_core::to_unix_seconds(expires_at));
    Ok(InvitationLink::after_mailing(state, to, &letter, Some(link)).await)
}

#[derive(Deserialize, utoipa::ToSchema)]
struct ResetRequest {
    email: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct Said {
    message: String,
}

/// Asks for a reset link by email. The answer is the same for every address.
#[utoipa::path(post, path = "/auth/password", tag = "Auth", request_body = ResetRequest,
    responses((status = 200, body = Said), (status = 422, body = crate::error::ErrorBody),
        (status = 429, body = crate::error::ErrorBody)))]
async fn request_reset(
    State(state): State<AppState>,
    PeerAddr(peer): PeerAddr,
    headers: HeaderMap,
    Json(body): Json<ResetRequest>,
) -> ApiResult<axum::Json<Said>> {
    let email = body.email.unwrap_or_default().trim().to_lowercase();
    if email.is_empty() || email.len() > 320 || !email.contains('@') {
        return Err(ApiError::invalid(
            "email",
            "invalid",
            "give the email address you sign in with",
        ));
    }
    let ip = super::auth::client_ip(&state, &headers, peer);
    // Every request counts: a flood of reset mail to one person, or from one address, stops.
    if let Some(retry_after) = state.reset_throttle.refused(&ip, &email, Instant::now()) {
        return Err(ApiError::TooManyRequests { retry_after });
    }
    state.reset_throttle.failed(&ip, &email, Instant::now());
    let said = Said {
        message: "If an account uses this email, a link to choose a new password is on its way."
            .into(),
    };
    let found = {
        let mut conn = state.store.read().await?;
        accounts::find_user_by_email_unscoped(&mut conn, &email).await?
    };
    let Some((user, _)) = found else {
        return Ok(axum::Json(said));
    };
    let Some(mail) = state.config.system_mail.clone() else {
        tracing::warn!(
            user = user.id,
            "a password reset was asked for, but no system mail is configured"
        );
        return Ok(axum::Json(said));
    };
    let (token, _) = {
        let mut tx = state.store.begin().await?;
        let issued = password_links::issue_unscoped(
            tx.conn(),
            state.store.key(),
            user.id,
            Purpose::Reset,
            RESET_MINUTES * 60_000,
        )
        .await?;
        tx.commit().await?;
        issued
    };
    let letter = system_mail::password_reset(
        user.locale.as_deref(),
        user.available_name(),
        &page_url(&state, &token),
        RESET_MINUTES,
    );
    let to = Mailbox {
        address: user.email.clone(),
        name: Some(user.available_name().to_owned()),
    };
    tokio::spawn(async move {
        if let Err(e) = mail.send(to, &letter).await {
            tracing::warn!(user = user.id, error = %e, "the password reset email could not be sent");
        }
    });
    Ok(axum::Json(said))
}

#[derive(Deserialize, utoipa::IntoParams)]
struct LinkQuery {
    reset_password_token: Option<String>,
}

/// Whom a live link is for, shown on the page that asks for the password.
#[derive(Serialize, utoipa::ToSchema)]
struct LinkDetails {
    email: String,
    name: String,
    /// invitation or reset.
    purpose: &'static str,
    /// Unix seconds.
    expires_at: i64,
}

fn spent() -> ApiError {
    ApiError::Unauthorized("This link has expired or was already used. Ask for a new one.".into())
}

/// The user a link is for, without spending it.
#[utoipa::path(get, path = "/auth/password/edit", tag = "Auth", params(LinkQuery),
    responses((status = 200, body = LinkDetails), (status = 401, body = crate::error::ErrorBody)))]
async fn link_details(
    State(state): State<AppState>,
    Query(q): Query<LinkQuery>,
) -> ApiResult<axum::Json<LinkDetails>> {
    let token = q.reset_password_token.unwrap_or_default();
    let mut conn = state.store.read().await?;
    let link = password_links::peek_unscoped(&mut conn, state.store.key(), token.trim())
        .await?
        .ok_or_else(spent)?;
    let user = accounts::get_user_unscoped(&mut conn, link.user_id).await?;
    Ok(axum::Json(LinkDetails {
        email: user.email.clone(),
        name: user.available_name().to_owned(),
        purpose: link.purpose.as_str(),
        expires_at: throughline_core::to_unix_seconds(link.expires_at),
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct NewPassword {
    reset_password_token: Option<String>,
    password: Option<String>,
    password_confirmation: Option<String>,
}

/// Sets the password a link allows (once). The user then signs in.
#[utoipa::path(put, path = "/auth/password", tag = "Auth", request_body = NewPassword,
    responses((status = 200, body = Said), (status = 401, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
async fn choose_password(
    State(state): State<AppState>,
    PeerAddr(peer): PeerAddr,
    headers: HeaderMap,
    Json(body): Json<NewPassword>,
) -> ApiResult<axum::Json<Said>> {
    let ip = super::auth::client_ip(&state, &headers, peer);
    if let Some(retry_after) = state.reset_throttle.refused(&ip, "", Instant::now()) {
        return Err(ApiError::TooManyRequests { retry_after });
    }
    let password = body.password.unwrap_or_default();
    if body.password_confirmation.as_deref() != Some(password.as_str()) {
        return Err(ApiError::invalid(
            "password_confirmation",
            "confirmation",
            "the two passwords differ",
        ));
    }
    // The policy is checked (and the hash made) before the link is spent.
    let hash = super::auth::hash_new_password(password).await?;
    let token = body.reset_password_token.unwrap_or_default();
    let mut tx = state.store.begin().await?;
    let Some(link) =
        password_links::consume_unscoped(tx.conn(), state.store.key(), token.trim()).await?
    else {
        drop(tx);
        state.reset_throttle.failed(&ip, "", Instant::now());
        return Err(spent());
    };
    accounts::set_password_unscoped(tx.conn(), link.user_id, &hash).await?;
    if link.purpose == Purpose::Reset {
        // Whoever knew the old password is signed out everywhere.
        auth::delete_sessions_of_user(tx.conn(), link.user_id).await?;
    }
    tx.commit().await?;
    Ok(axum::Json(Said {
        message: "Your password is set. Sign in with it.".into(),
    }))
}
