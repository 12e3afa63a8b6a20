use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(openapi_json))
}

#[derive(Serialize, utoipa::ToSchema)]
struct Health {
    status: &'static str,
    database: &'static str,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "Health", responses((status = 200, body = Health)))]
async fn healthz(State(state): State<AppState>) -> axum::Json<Health> {
    axum::Json(Health {
        status: "ok",
        database: state.store.backend().name(),
    })
}

/// The process can serve: the database answers.
#[utoipa::path(get, path = "/readyz", tag = "Health", responses(
    (status = 200, body = Health), (status = 503, body = Health)))]
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let db = state.store.backend().name();
    if state.store.ping().await {
        (
            StatusCode::OK,
            axum::Json(Health {
                status: "ready",
                database: db,
            }),
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(Health {
                status: "database unavailable",
                database: db,
            }),
        )
    }
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "Health", responses((status = 200, description = "OpenAPI 3.1 document")))]
async fn openapi_json(
    axum::Extension(spec): axum::Extension<Arc<utoipa::openapi::OpenApi>>,
) -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json((*spec).clone())
}
