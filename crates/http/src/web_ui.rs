//! The router's fallback: the embedded agent app and widget (crate `throughline-web`).
//!
//! API prefixes keep their JSON 404; `/widget.js` may be loaded by any site (CORS `*`);
//! hashed assets are cached for a year; any other path without a file extension is a route of
//! the single-page app and gets `index.html`.

use axum::http::{HeaderValue, Method, Uri, header};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

const API_PREFIXES: &[&str] = &[
    "/api/",
    "/public/",
    "/platform/",
    "/auth/",
    "/attachments/",
    "/rails/",
    "/uploads/",
    "/webhooks/",
    "/twilio/",
    "/healthz",
    "/readyz",
    "/metrics",
];

/// The page's Content-Security-Policy: scripts only from this origin (email HTML is further
/// confined to a sandboxed frame without scripts); images may be remote because the agent can
/// allow an email's remote images.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
img-src 'self' data: blob: https: http:; media-src 'self' blob:; connect-src 'self' ws: wss:; \
frame-src 'self' blob: about:; object-src 'none'; base-uri 'none'; form-action 'self'; \
frame-ancestors 'none'";

pub(crate) async fn fallback(method: Method, uri: Uri) -> Response {
    let path = uri.path();
    if !(method == Method::GET || method == Method::HEAD)
        || path == "/api"
        || API_PREFIXES.iter().any(|p| path.starts_with(p))
    {
        return ApiError::NotFound.into_response();
    }
    let file = path.trim_start_matches('/');
    if path == "/widget.js" {
        return match throughline_web::asset("widget.js") {
            Some(asset) => respond(asset, "public, max-age=300", true),
            None => ApiError::NotFound.into_response(),
        };
    }
    if !file.is_empty()
        && file != "index.html"
        && let Some(asset) = throughline_web::asset(file)
    {
        let cache = if asset.immutable {
            "public, max-age=31536000, immutable"
        } else {
            "public, max-age=300"
        };
        return respond(asset, cache, false);
    }
    let last = file.rsplit('/').next().unwrap_or_default();
    if last.contains('.') {
        // A missing file (an old hashed asset, a typo): never answer it with the app's HTML.
        return ApiError::NotFound.into_response();
    }
    let mut response = respond(throughline_web::index(), "no-cache", false);
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    response
}

fn respond(asset: throughline_web::Asset, cache: &'static str, cors: bool) -> Response {
    let mut response = asset.body.into_owned().into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&asset.content_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if cors {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
    }
    response
}
