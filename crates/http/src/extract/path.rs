//! Path parameters with our error answers.

use axum::extract::{FromRequestParts, Path as AxumPath};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

pub struct Path<T>(pub T);

impl<S, T> FromRequestParts<S> for Path<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if parts.uri.path().contains("%00") {
            return Err(ApiError::BadRequest(
                "invalid path: it contains the NUL character (%00)".into(),
            ));
        }
        AxumPath::<T>::from_request_parts(parts, state)
            .await
            .map(|AxumPath(v)| Path(v))
            .map_err(|e| ApiError::BadRequest(format!("invalid path: {}", e.body_text())))
    }
}

/// Query strings likewise.
pub struct Query<T>(pub T);

impl<S, T> FromRequestParts<S> for Query<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        parse_query(query).map(Query)
    }
}

/// Query strings, with repeated keys (`labels[]=a&labels[]=b`) collected into lists as Chatwoot
/// clients send them; structs name such fields `labels[]` with an alias.
/// The NUL character (`%00`), which PostgreSQL cannot store or compare in text, is refused.
fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    if query.contains("%00") {
        return Err(ApiError::BadRequest(
            "invalid query: it contains the NUL character (%00)".into(),
        ));
    }
    serde_html_form::from_str(query)
        .map_err(|e| ApiError::BadRequest(format!("invalid query: {e}")))
}

/// The client's socket address, when the server was started with connect info.
pub struct PeerAddr(pub Option<std::net::SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for PeerAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(PeerAddr(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0),
        ))
    }
}
