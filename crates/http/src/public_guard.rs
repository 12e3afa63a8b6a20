//! In front of the Client API (`/public/api/v1/inboxes/{identifier}/…`): rate limits, and CORS
//! for website inboxes. The help center's public pages (`/hc/…`) and their images
//! (`/uploads/…`) get the address's rate limit.
//!
//! ```text
//!  request ──► rate limits (address, visitor, messages) ──► Origin? ──► website inbox?
//!                     │ over                                  │ no         │ no: as before
//!                     ▼                                       ▼            ▼
//!              429 + Retry-After                          handler     allowed_domains
//!                                                                     │ match    │ no match
//!                                                                     ▼          ▼
//!                                                  preflight 204 / handler     403
//!                                                  + Access-Control-Allow-Origin
//! ```
//!
//! A page's Origin is allowed when its host matches the inbox's `allowed_domains` (empty: any
//! site, as Chatwoot) or it is this server's own origin. A request from another site's page is
//! refused outright rather than served without CORS headers: WebSocket handshakes and simple
//! form posts ignore CORS, and a visitor's data is nobody else's. Requests without Origin (servers,
//! SDKs, curl) and API inboxes keep the Client API's behaviour.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN,
    VARY,
};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use throughline_core::model::ChannelType;
use throughline_core::widget;
use throughline_store::inboxes;

use crate::error::ApiError;
use crate::state::AppState;

const PREFIX: &str = "/public/api/v1/inboxes/";

enum Cors {
    /// No Origin, an API inbox, or an unknown one: nothing to add.
    NotApplicable,
    Allowed(HeaderValue),
    Refused,
}

/// (inbox identifier, visitor key `inbox/source_id` when the path names a visitor).
fn parse_path(path: &str) -> Option<(&str, Option<String>)> {
    let rest = path.strip_prefix(PREFIX)?;
    let mut parts = rest.split('/');
    let inbox = parts.next().filter(|s| !s.is_empty())?;
    let visitor = match (parts.next(), parts.next()) {
        (Some("contacts"), Some(source)) if !source.is_empty() => Some(format!("{inbox}/{source}")),
        _ => None,
    };
    Some((inbox, visitor))
}

/// What an inbox admits from pages: nothing to check (not a website inbox) or its domains.
#[derive(Clone, Debug)]
enum Policy {
    NotWebsite,
    Domains(Vec<String>),
}

/// Each inbox's origin policy, remembered for a few seconds: the guard sees every Client API
/// request that carries an Origin (each widget message) and must not add a query to each.
/// Updating an inbox forgets its entry here; another instance sees the change within `TTL`.
#[derive(Debug, Default)]
pub struct OriginPolicies {
    map: Mutex<HashMap<String, (Instant, Policy)>>,
}

const TTL: Duration = Duration::from_secs(10);
const MAX_INBOXES: usize = 10_000;

impl OriginPolicies {
    /// Drops what is remembered of the inbox with this public identifier.
    pub fn forget(&self, identifier: &str) {
        if let Ok(mut map) = self.map.lock() {
            map.remove(identifier);
        }
    }

    fn get(&self, identifier: &str, now: Instant) -> Option<Policy> {
        let map = self.map.lock().ok()?;
        map.get(identifier)
            .filter(|(at, _)| now.saturating_duration_since(*at) < TTL)
            .map(|(_, p)| p.clone())
    }

    fn put(&self, identifier: &str, policy: Policy, now: Instant) {
        if let Ok(mut map) = self.map.lock() {
            if map.len() >= MAX_INBOXES {
                map.retain(|_, (at, _)| now.saturating_duration_since(*at) < TTL);
            }
            if map.len() < MAX_INBOXES {
                map.insert(identifier.to_owned(), (now, policy));
            }
        }
    }
}

async fn policy(state: &AppState, identifier: &str) -> Option<Policy> {
    let now = Instant::now();
    if let Some(p) = state.origin_policies.get(identifier, now) {
        return Some(p);
    }
    let mut conn = state.store.read().await.ok()?;
    // Unknown inboxes and database trouble are the handler's to answer (404, 503).
    let inbox = inboxes::by_identifier_unscoped(&mut conn, state.store.key(), identifier)
        .await
        .ok()?;
    let p = if inbox.channel_type == ChannelType::WebWidget {
        Policy::Domains(widget::domains_of(&inbox))
    } else {
        Policy::NotWebsite
    };
    state.origin_policies.put(identifier, p.clone(), now);
    Some(p)
}

async fn cors(state: &AppState, identifier: &str, origin: Option<&HeaderValue>) -> Cors {
    let Some(origin) = origin else {
        return Cors::NotApplicable;
    };
    let Some(Policy::Domains(domains)) = policy(state, identifier).await else {
        return Cors::NotApplicable;
    };
    let text = origin.to_str().unwrap_or_default();
    let own = text.trim_end_matches('/') == state.config.public_url.trim_end_matches('/');
    if own || widget::origin_allowed(text, &domains) {
        Cors::Allowed(origin.clone())
    } else {
        Cors::Refused
    }
}

fn allow(resp: &mut Response, origin: HeaderValue) {
    let h = resp.headers_mut();
    h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    h.insert(
        ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("retry-after"),
    );
    h.append(VARY, HeaderValue::from_static("origin"));
}

/// The help center's public pages, and the images they show (`/uploads/…`): anyone may read
/// them, so only the address's rate limit applies; a "was this helpful?" answer counts like a
/// message.
const HELP_CENTER: &str = "/hc/";

async fn help_center(state: &AppState, req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0);
    let ip = crate::routes::client_ip(state, req.headers(), peer);
    let answers = req.method() == Method::POST;
    match state
        .public_limits
        .check(&ip, None, answers, Instant::now())
    {
        Err(retry_after) => ApiError::TooManyRequests { retry_after }.into_response(),
        Ok(()) => next.run(req).await,
    }
}

pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if path.starts_with(HELP_CENTER) || path.starts_with(crate::routes::uploads::PUBLIC_PREFIX) {
        return help_center(&state, req, next).await;
    }
    let Some((identifier, visitor)) = parse_path(req.uri().path()) else {
        return next.run(req).await;
    };
    let identifier = identifier.to_owned();
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0);
    let ip = crate::routes::client_ip(&state, req.headers(), peer);
    let preflight = req.method() == Method::OPTIONS
        && req.headers().contains_key(ACCESS_CONTROL_REQUEST_METHOD);
    let creates_message = req.method() == Method::POST && req.uri().path().ends_with("/messages");
    let limited = if preflight {
        Ok(())
    } else {
        state
            .public_limits
            .check(&ip, visitor.as_deref(), creates_message, Instant::now())
    };
    let cors = cors(&state, &identifier, req.headers().get(ORIGIN)).await;
    let origin = match cors {
        Cors::Refused => {
            return ApiError::Forbidden("this site is not among the chat's allowed domains".into())
                .into_response();
        }
        Cors::Allowed(origin) => Some(origin),
        Cors::NotApplicable => None,
    };
    if preflight && let Some(origin) = &origin {
        let mut resp = StatusCode::NO_CONTENT.into_response();
        allow(&mut resp, origin.clone());
        let h = resp.headers_mut();
        h.insert(
            ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, PATCH, OPTIONS"),
        );
        h.insert(
            ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("content-type"),
        );
        h.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
        return resp;
    }
    let mut resp = match limited {
        Err(retry_after) => ApiError::TooManyRequests { retry_after }.into_response(),
        Ok(()) => next.run(req).await,
    };
    if let Some(origin) = origin {
        allow(&mut resp, origin);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_the_inbox_and_the_visitor() {
        assert_eq!(
            parse_path("/public/api/v1/inboxes/abc"),
            Some(("abc", None))
        );
        assert_eq!(
            parse_path("/public/api/v1/inboxes/abc/contacts"),
            Some(("abc", None))
        );
        assert_eq!(
            parse_path("/public/api/v1/inboxes/abc/contacts/src1/conversations/4/messages"),
            Some(("abc", Some("abc/src1".to_owned())))
        );
        assert_eq!(parse_path("/public/api/v1/inboxes/"), None);
        assert_eq!(parse_path("/api/v1/accounts/1/inboxes"), None);
    }
}
