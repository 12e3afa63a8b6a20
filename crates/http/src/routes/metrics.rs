//! `GET /metrics`: the operations metrics in Prometheus' text format.
//!
//! Who may read them: with `metrics_token` set, whoever presents it as a bearer token, from
//! anywhere (401 otherwise). Without one, only direct connections from the loopback interface
//! that carry no forwarding header (a reverse proxy on the same machine adds one), and a 404 to
//! everyone else, as if nothing were here.
//!
//! Counters and the latency histogram come from the recorder (`crate::metrics`); what is a
//! state rather than an event is read here, at scrape time: the pools and the sockets from
//! memory, the outbox lag with two index lookups (bounded to two seconds, so an unreachable
//! database shows as `throughline_database_up 0` instead of a hanging scrape).

use std::time::Duration;

use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use throughline_core::crypto;
use throughline_store::backup::{OutboxPositions, outbox_positions};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::extract::PeerAddr;
use crate::metrics::{Text, install, start_time_seconds};
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(metrics))
}

/// Headers a proxy adds: a request carrying one came from elsewhere through the proxy.
const FORWARDING_HEADERS: [&str; 3] = ["x-forwarded-for", "forwarded", "x-real-ip"];

/// Operations metrics (Prometheus text format). With `metrics_token` set, only with
/// `Authorization: Bearer <token>`; without it, only to direct loopback connections.
#[utoipa::path(get, path = "/metrics", tag = "Health", responses(
    (status = 200, description = "Prometheus text format 0.0.4", content_type = "text/plain"),
    (status = 401, body = crate::error::ErrorBody),
    (status = 404, body = crate::error::ErrorBody)))]
async fn metrics(
    State(state): State<AppState>,
    PeerAddr(peer): PeerAddr,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = refuse(&state, peer, &headers) {
        return refused;
    }
    let mut text = Text::default();
    let label = |k: &str, v: &str| (k.to_owned(), v.to_owned());
    text.gauge(
        "throughline_build_info",
        "Always 1: the running version and database.",
        &[(
            vec![
                label("version", env!("CARGO_PKG_VERSION")),
                label("database", state.store.backend().name()),
            ],
            1.0,
        )],
    );
    text.gauge(
        "throughline_start_time_seconds",
        "When this process started, in seconds since the Unix epoch.",
        &[(vec![], start_time_seconds())],
    );
    let pools = state.store.pool_stats();
    text.gauge(
        "throughline_db_pool_connections",
        "Database connections open in each pool.",
        &pools
            .iter()
            .map(|p| (vec![label("pool", p.name)], f64::from(p.size)))
            .collect::<Vec<_>>(),
    );
    text.gauge(
        "throughline_db_pool_idle_connections",
        "Open database connections waiting for work, in each pool.",
        &pools
            .iter()
            .map(|p| (vec![label("pool", p.name)], p.idle as f64))
            .collect::<Vec<_>>(),
    );
    text.gauge(
        "throughline_db_pool_max_connections",
        "The most connections each pool may open.",
        &pools
            .iter()
            .map(|p| (vec![label("pool", p.name)], f64::from(p.max)))
            .collect::<Vec<_>>(),
    );
    let (agents, visitors) = state.hub.connections();
    text.gauge(
        "throughline_websockets_open",
        "Realtime sockets open now: agents' tabs and widget visitors.",
        &[
            (vec![label("kind", "agent")], agents as f64),
            (vec![label("kind", "visitor")], visitors as f64),
        ],
    );
    let positions = read_positions(&state).await;
    text.gauge(
        "throughline_database_up",
        "1 when the database answered this scrape's outbox query within two seconds.",
        &[(vec![], if positions.is_some() { 1.0 } else { 0.0 })],
    );
    if let Some(p) = positions {
        text.gauge(
            "throughline_outbox_newest_event_id",
            "The id of the newest event in the outbox.",
            &[(vec![], p.newest_event_id as f64)],
        );
        text.gauge(
            "throughline_outbox_lag_events",
            "Events each durable consumer has yet to process (newest event id minus its cursor).",
            &p.consumers
                .iter()
                .map(|(consumer, at)| {
                    (
                        vec![label("consumer", consumer)],
                        (p.newest_event_id - at).max(0) as f64,
                    )
                })
                .collect::<Vec<_>>(),
        );
    }
    install().render(&mut text);
    (
        [(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        text.into_string(),
    )
        .into_response()
}

/// The refusal, when this caller may not read the metrics.
fn refuse(
    state: &AppState,
    peer: Option<std::net::SocketAddr>,
    headers: &HeaderMap,
) -> Option<Response> {
    match &state.config.metrics_token {
        Some(token) => {
            let given = headers
                .get(AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim);
            if given.is_some_and(|g| crypto::constant_time_eq(g.as_bytes(), token.as_bytes())) {
                return None;
            }
            let mut refused = ApiError::Unauthorized(
                "the metrics need the bearer token set as metrics_token".into(),
            )
            .into_response();
            refused.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"metrics\""),
            );
            Some(refused)
        }
        None => {
            let direct = peer.is_some_and(|p| p.ip().is_loopback())
                && !FORWARDING_HEADERS.iter().any(|h| headers.contains_key(*h));
            (!direct).then(|| ApiError::NotFound.into_response())
        }
    }
}

async fn read_positions(state: &AppState) -> Option<OutboxPositions> {
    let read = async {
        let mut conn = state.store.read().await?;
        outbox_positions(&mut conn).await
    };
    match tokio::time::timeout(Duration::from_secs(2), read).await {
        Ok(Ok(p)) => Some(p),
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "metrics: outbox positions");
            None
        }
        Err(_) => None,
    }
}
