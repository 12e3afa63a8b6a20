//! A portal on its own domain (`custom_domain`, as Chatwoot serves it from `request.host`): a
//! request whose host is a portal's domain, not this server's, is served as the portal's
//! `/hc/{slug}…` path. `help.acme.com/` is the portal's home, `help.acme.com/pt_BR/articles`
//! its search, `help.acme.com/articles/trocas` an article; links on the pages keep their
//! `/hc/{slug}` form, which the domain serves as it is.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::Uri;
use axum::http::uri::PathAndQuery;
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

/// How long a host's portal (or that it has none) is remembered: each request to a custom
/// domain must not cost a query; a changed domain is seen within this on every process.
const TTL: Duration = Duration::from_secs(30);
/// Hosts remembered at most (a flood of made-up Host headers must not grow memory).
const MAX_HOSTS: usize = 10_000;

/// Each host's portal slug, remembered for [`TTL`].
#[derive(Debug, Default)]
pub struct PortalDomains {
    map: Mutex<HashMap<String, (Instant, Option<String>)>>,
}

impl PortalDomains {
    /// Forgets what is remembered of `host` (its portal's domain changed here).
    pub fn forget(&self, host: &str) {
        if let Ok(mut map) = self.map.lock() {
            map.remove(host);
        }
    }

    fn get(&self, host: &str, now: Instant) -> Option<Option<String>> {
        let map = self.map.lock().ok()?;
        map.get(host)
            .filter(|(at, _)| now.saturating_duration_since(*at) < TTL)
            .map(|(_, slug)| slug.clone())
    }

    fn put(&self, host: &str, slug: Option<String>, now: Instant) {
        if let Ok(mut map) = self.map.lock() {
            if map.len() >= MAX_HOSTS {
                map.retain(|_, (at, _)| now.saturating_duration_since(*at) < TTL);
                if map.len() >= MAX_HOSTS {
                    map.clear();
                }
            }
            map.insert(host.to_owned(), (now, slug));
        }
    }
}

/// `app`, with requests to a portal's domain served as that portal's paths.
pub(crate) fn served(app: Router, state: AppState) -> Router {
    Router::new()
        .fallback_service(app)
        .layer(axum::middleware::from_fn_with_state(state, rewrite))
}

/// The request's host, lower case and without its port, when it may be a portal's domain: not
/// this server's own, not an address, not `localhost`.
fn foreign_host(state: &AppState, req: &Request) -> Option<String> {
    let raw = req
        .headers()
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().host())?;
    let host = raw.rsplit_once(':').map_or(raw, |(h, port)| {
        if port.bytes().all(|b| b.is_ascii_digit()) {
            h
        } else {
            raw
        }
    });
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let own = state
        .config
        .public_url
        .parse::<Uri>()
        .ok()
        .and_then(|u| u.host().map(str::to_ascii_lowercase));
    let literal = host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[');
    (!host.is_empty()
        && !literal
        && host != "localhost"
        && own.as_deref() != Some(host.as_str())
        && host.contains('.'))
    .then_some(host)
}

async fn rewrite(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if let Some(host) = foreign_host(&state, &req)
        && let Some(slug) = slug_of(&state, &host).await
    {
        let path = req.uri().path();
        if !path.starts_with("/hc/") {
            let rest = if path == "/" { "" } else { path };
            let path_and_query = match req.uri().query() {
                Some(q) => format!("/hc/{slug}{rest}?{q}"),
                None => format!("/hc/{slug}{rest}"),
            };
            let mut parts = req.uri().clone().into_parts();
            if let Ok(pq) = PathAndQuery::try_from(path_and_query) {
                parts.path_and_query = Some(pq);
                if let Ok(uri) = Uri::from_parts(parts) {
                    *req.uri_mut() = uri;
                }
            }
        }
    }
    next.run(req).await
}

/// The slug of the portal served on `host`, remembered; a database that cannot answer serves
/// the request as it came.
async fn slug_of(state: &AppState, host: &str) -> Option<String> {
    let now = Instant::now();
    if let Some(known) = state.portal_domains.get(host, now) {
        return known;
    }
    let mut conn = state.store.read().await.ok()?;
    let found = throughline_store::help_center::portal_by_domain(&mut conn, host)
        .await
        .ok()?
        .map(|p| p.slug);
    state.portal_domains.put(host, found.clone(), now);
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_remembered_for_a_while_and_forgotten_on_change() {
        let d = PortalDomains::default();
        let now = Instant::now();
        assert_eq!(d.get("help.acme.com", now), None);
        d.put("help.acme.com", Some("acme".into()), now);
        assert_eq!(d.get("help.acme.com", now), Some(Some("acme".into())));
        assert_eq!(
            d.get("help.acme.com", now + TTL),
            None,
            "stale after the TTL"
        );
        d.forget("help.acme.com");
        assert_eq!(d.get("help.acme.com", now), None);
        d.put("nothing.example", None, now);
        assert_eq!(
            d.get("nothing.example", now),
            Some(None),
            "no portal is remembered too"
        );
    }
}
