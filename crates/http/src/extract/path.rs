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

/// Query strings the Rails way (`rails::params`): `labels[]=a&labels[]=b`, `labels[0]=a`,
/// `labels=a&labels=b` and `labels=a` all give a list field its values, `h[k]=v` nests, and
/// values are cast to the field's type (`rails::cast`; an empty value is an absent one).
/// Structs may name list fields `labels[]` with an alias `labels`, as the OpenAPI document shows
/// them. The NUL character (`%00`), which PostgreSQL cannot store or compare in text, is refused.
fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    use crate::rails::cast::{Lenient, Source};
    if query.contains("%00") {
        return Err(ApiError::BadRequest(
            "invalid query: it contains the NUL character (%00)".into(),
        ));
    }
    let params = crate::rails::params::parse_urlencoded(query.as_bytes())
        .map_err(|e| ApiError::BadRequest(format!("invalid query: {e}")))?;
    serde_path_to_error::deserialize(Lenient::new(params, Source::Params)).map_err(|e| {
        let path = e.path().to_string();
        ApiError::BadRequest(format!("invalid query: {path}: {}", e.into_inner()))
    })
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
