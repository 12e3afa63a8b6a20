//! Who acted and from where, for the audit log. A handler that records a change takes an
//! [`Audit`] (after its `AccountCtx`, which has already found the caller) and calls
//! [`Audit::record`] on the connection of the transaction that makes the change:
//!
//! ```ignore
//! audit.record(tx.conn(), &ctx.scope, Change::new(kind::CONTACT, id, action::EXPORT)).await?;
//! ```

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use throughline_store::audit::{Change, Origin, action, kind};
use throughline_store::{AccountScope, Conn, Store, audit};

use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, PeerAddr, Principal};
use crate::state::AppState;

/// The caller (a user or an agent bot, if authenticated) and the client's address as
/// `client_ip` derives it (behind `trust_proxy`, what the proxy appended).
#[derive(Clone, Debug)]
pub struct Audit {
    origin: Origin,
}

/// The client address for the log: `None` when the server has no peer address.
pub(crate) fn remote_address(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    peer: Option<std::net::SocketAddr>,
) -> Option<String> {
    let ip = crate::routes::client_ip(state, headers, peer);
    (ip != "unknown").then_some(ip)
}

impl FromRequestParts<AppState> for Audit {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let PeerAddr(peer) = match PeerAddr::from_request_parts(parts, state).await {
            Ok(p) => p,
            Err(never) => match never {},
        };
        let address = remote_address(state, &parts.headers, peer);
        // Cached by the `AccountCtx` or `Caller` extracted before; anonymous otherwise.
        let caller = match parts.extensions.get::<Caller>() {
            Some(c) => Some(c.clone()),
            None => Caller::from_request_parts(parts, state).await.ok(),
        };
        let origin = match caller.map(|c| c.principal) {
            Some(Principal::User(u)) => Origin::user(u.id, &u.email, address),
            Some(Principal::AgentBot(b)) => Origin::agent_bot(b.id, &b.name, address),
            None => Origin {
                remote_address: address,
                ..Origin::default()
            },
        };
        Ok(Self { origin })
    }
}

impl Audit {
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// The same request, acted by a platform app (its token is not a `Caller`).
    pub fn as_platform_app(&self, app_id: i64) -> Self {
        Self {
            origin: Origin::platform_app(app_id, self.origin.remote_address.clone()),
        }
    }

    /// Records `change` in the transaction of the change (`tx.conn()`).
    pub async fn record(
        &self,
        conn: &mut Conn,
        scope: &AccountScope,
        change: Change,
    ) -> ApiResult<()> {
        Ok(audit::record(conn, scope, &self.origin, change).await?)
    }

    /// Records `change` in a transaction of its own, after a change that committed elsewhere
    /// (a service that runs its own transactions).
    pub async fn record_alone(
        &self,
        store: &Store,
        scope: &AccountScope,
        change: Change,
    ) -> ApiResult<()> {
        Ok(audit::record_alone(store, scope, &self.origin, change).await?)
    }
}

// Sign-ins, sign-outs and access tokens concern a user, not one account: they go to the log of
// every account the user belongs to, with one INSERT.

/// A successful sign-in, in the transaction that opens the session.
pub(crate) async fn signed_in(
    conn: &mut Conn,
    user: &throughline_core::model::User,
    ip: &str,
) -> ApiResult<()> {
    let address = (ip != "unknown").then(|| ip.to_owned());
    let origin = Origin::user(user.id, &user.email, address);
    let change = Change::new(kind::USER, user.id, action::SIGN_IN).named("email", &*user.email);
    audit::record_for_user_unscoped(conn, user.id, &origin, change).await?;
    Ok(())
}

/// A sign-in refused (`reason`: `password`, `verification_code`). For a user who exists it is
/// written to their accounts' logs *after* the answer, in a task of its own, so the answer
/// takes as long for a known email as for an unknown one; an email no account knows gets only
/// a line in the server's log.
pub(crate) fn sign_in_failed(
    state: &AppState,
    user: Option<&throughline_core::model::User>,
    typed_email: &str,
    ip: &str,
    reason: &'static str,
) {
    let address = (ip != "unknown").then(|| ip.to_owned());
    let Some(user) = user else {
        tracing::info!(
            client = ip,
            reason,
            "sign-in failed for an email no account knows"
        );
        return;
    };
    let store = state.store.clone();
    let origin = Origin::anonymous(typed_email, address);
    let change = Change::new(kind::USER, user.id, action::SIGN_IN_FAILED)
        .with("reason", reason)
        .named("email", &*user.email);
    let user_id = user.id;
    tokio::spawn(async move {
        let written = async {
            let mut tx = store.begin().await?;
            audit::record_for_user_unscoped(tx.conn(), user_id, &origin, change).await?;
            tx.commit().await
        };
        if let Err(e) = written.await {
            tracing::warn!(error = %e, user_id, "could not record a failed sign-in");
        }
    });
}

/// A browser session ended (`secret` is its cookie), before the session row goes.
pub(crate) async fn signed_out(
    state: &AppState,
    conn: &mut Conn,
    secret: &str,
    headers: &axum::http::HeaderMap,
    peer: Option<std::net::SocketAddr>,
) -> ApiResult<()> {
    let Some(user_id) = throughline_store::auth::session_user(&mut *conn, secret).await? else {
        return Ok(());
    };
    let user = throughline_store::accounts::get_user_unscoped(&mut *conn, user_id).await?;
    let origin = Origin::user(user.id, &user.email, remote_address(state, headers, peer));
    let change = Change::new(kind::USER, user.id, action::SIGN_OUT).named("email", &*user.email);
    audit::record_for_user_unscoped(conn, user.id, &origin, change).await?;
    Ok(())
}

/// A user replaced their access token (never its value), in the transaction that does it.
/// The user's second factor turned on or off, or its recovery codes renewed (`what`: the
/// field, `value`: what it became), in the transaction of the change.
pub(crate) async fn two_factor_changed(
    conn: &mut Conn,
    audit: &Audit,
    user: &throughline_core::model::User,
    what: &str,
    value: serde_json::Value,
) -> ApiResult<()> {
    let change = Change::new(kind::USER, user.id, action::UPDATE)
        .with(what, value)
        .named("email", &*user.email);
    audit::record_for_user_unscoped(conn, user.id, &audit.origin, change).await?;
    Ok(())
}

pub(crate) async fn token_reset(
    conn: &mut Conn,
    audit: &Audit,
    user: &throughline_core::model::User,
) -> ApiResult<()> {
    let change = Change::new(kind::USER, user.id, action::UPDATE)
        .with("access_token", throughline_core::audit::CHANGED)
        .named("email", &*user.email);
    audit::record_for_user_unscoped(conn, user.id, &audit.origin, change).await?;
    Ok(())
}
