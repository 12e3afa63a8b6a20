//! The HTTP layer: thin handlers that authenticate, validate and call the store.
//!
//! Routes are registered through `utoipa_axum`, so the OpenAPI document served at
//! `/api/openapi.json` is generated from the same list the router serves: a route cannot exist
//! without being documented (and the tenant-isolation test walks that list).

pub mod audit;
pub mod error;
pub mod extract;
pub mod fuzzing;
pub mod metrics;
mod outbound_url;
mod public_guard;
mod rails;
pub mod ratelimit;
pub(crate) mod routes;
pub mod state;
mod throttle;
mod web_ui;

use std::sync::Arc;

use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;

pub use error::{ApiError, ApiResult};
pub use extract::auth::{SESSION_COOKIE, TOKEN_HEADER};
pub use ratelimit::PublicRates;
pub use state::{AppState, HttpConfig};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Throughline API",
        description = "Omnichannel customer service. Compatible with Chatwoot's Application, \
                       Client and Platform APIs; Throughline's extensions follow the same style.",
        license(name = "AGPL-3.0-only")
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "Health"), (name = "Auth"), (name = "Profile"), (name = "Account"), (name = "Agents"),
        (name = "Inboxes"), (name = "Contacts"), (name = "Conversations"), (name = "Messages"),
        (name = "Teams"), (name = "Labels"), (name = "Canned Responses"), (name = "Custom Attributes"),
        (name = "Webhooks"), (name = "Agent Bots"), (name = "Attachments"),
        (name = "Client API"), (name = "Realtime"), (name = "Platform")
    )
)]
struct ApiDoc;

struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "userApiKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new(TOKEN_HEADER))),
        );
        components.add_security_scheme(
            "platformAppApiKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new(TOKEN_HEADER))),
        );
        components.add_security_scheme(
            "sessionCookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(SESSION_COOKIE))),
        );
    }
}

/// The routes and their OpenAPI description, before state is attached.
pub fn routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    routes::all(utoipa_axum::router::OpenApiRouter::with_openapi(
        ApiDoc::openapi(),
    ))
    .split_for_parts()
}

/// The OpenAPI document of every route.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().1
}

/// The complete application.
pub fn app(state: AppState) -> Router {
    metrics::install();
    let (router, spec) = routes();
    // Rails's paths (trailing slashes, `.json`) and wrapped bodies, from the served routes.
    let rails = Arc::new(rails::RailsRoutes::from_spec(&spec));
    let spec = Arc::new(spec);
    let upload_limit = state.config.upload_limit;
    let domains = state.clone();
    let app = router
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            public_guard::guard,
        ))
        .layer(axum::Extension(spec))
        .layer(axum::Extension(rails.clone()))
        .layer(axum::extract::DefaultBodyLimit::max(
            state.config.json_limit,
        ))
        .layer(RequestBodyLimitLayer::new(upload_limit))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                tracing::debug_span!("request", method = %req.method(), path = %logged_path(req.uri().path()))
            }),
        )
        .fallback(web_ui::fallback)
        // Outermost, and after the fallback so that it is counted too (as `fallback`).
        .layer(axum::middleware::from_fn(metrics::track))
        .with_state(state);
    // A portal's own domain is served as its /hc/{slug} paths, before anything else routes.
    routes::help_center::domains::served(rails::normalized(app, rails), domains)
}

/// A request's path as logs may show it: Telegram's webhook path carries the bot's token
/// (Chatwoot's path, kept so a team moving changes nothing at Telegram).
fn logged_path(path: &str) -> &str {
    if path.starts_with("/webhooks/telegram/") {
        "/webhooks/telegram/[bot token]"
    } else {
        path
    }
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    use axum::response::IntoResponse;
    ApiError::Internal("a handler panicked".into()).into_response()
}
