//! JSON bodies with precise errors: which field, what was expected.

use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Like `axum::Json`, but every failure is one of our 4xx answers.
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/json") || ct.contains("+json"));
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::TooLarge("the request body is too large".into())
                } else {
                    ApiError::BadRequest(format!("cannot read the request body: {e}"))
                }
            })?;
        if !is_json && !bytes.is_empty() {
            return Err(ApiError::UnsupportedMedia(
                "send the body as JSON with Content-Type: application/json".into(),
            ));
        }
        let bytes = if bytes.is_empty() {
            axum::body::Bytes::from_static(b"{}")
        } else {
            bytes
        };
        parse(&bytes).map(Json)
    }
}

pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if let Some(path) = nul_character(bytes) {
        return Err(ApiError::invalid(
            &path,
            "invalid",
            format!("{path} contains the NUL character (\\u0000), which text may not contain"),
        ));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::BadRequest(format!("malformed JSON: {inner}"))
        } else if path.is_empty() || path == "." {
            ApiError::invalid("body", "invalid", inner.to_string())
        } else {
            ApiError::invalid(&path, "invalid", format!("{path}: {inner}"))
        }
    })
}

/// Where a JSON document holds the NUL character (`\u0000`, in a string or a key), which
/// PostgreSQL cannot store in text, as `a.b[0]` (`body` at the top). A raw NUL byte is already
/// malformed JSON; only the escape can carry one, and it is looked for only when the bytes hold
/// one (an odd run of backslashes before `u0000`).
fn nul_character(bytes: &[u8]) -> Option<String> {
    let escaped = bytes.windows(6).enumerate().any(|(i, w)| {
        w == b"\\u0000" && bytes[..i].iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 0
    });
    if !escaped {
        return None;
    }
    // Malformed JSON is left to the parser's own error.
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    find_nul(&value, String::new())
}

fn find_nul(value: &serde_json::Value, path: String) -> Option<String> {
    let here = || {
        if path.is_empty() {
            "body".to_owned()
        } else {
            path.clone()
        }
    };
    match value {
        serde_json::Value::String(s) if s.contains('\0') => Some(here()),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| find_nul(v, format!("{path}[{i}]"))),
        serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| {
            let child = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            if k.contains('\0') {
                Some(here())
            } else {
                find_nul(v, child)
            }
        }),
        _ => None,
    }
}
