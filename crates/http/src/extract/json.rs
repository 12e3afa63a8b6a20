//! Request bodies with precise errors: which field, what was expected.
//!
//! JSON, and what Rails also takes: `application/x-www-form-urlencoded` and multipart forms
//! (their text fields), read with Rack's nested keys into the JSON a JSON client would send
//! (`rails::params`). A body wrapped in its resource's name (`{"team": {…}}`, `team[name]=…`)
//! is opened (`rails::unwrap`), and values are read with Rails-style casting (`rails::cast`:
//! `"contact_id": "1"` fills a number field, `"private": "true"` a flag). Every route taking
//! `Json<T>` takes all three.

use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::rails::cast::{Lenient, Source};
use crate::rails::params::{self, Params};

/// Like `axum::Json`, but every failure is one of our 4xx answers, and forms are taken too.
pub struct Json<T>(pub T);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Json,
    Form,
    Multipart,
    Other,
}

fn kind_of(req: &Request) -> Kind {
    let Some(ct) = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase)
    else {
        return Kind::Other;
    };
    if ct.starts_with("application/json") || ct.contains("+json") {
        Kind::Json
    } else if ct.starts_with("application/x-www-form-urlencoded") {
        Kind::Form
    } else if ct.starts_with("multipart/form-data") {
        Kind::Multipart
    } else {
        Kind::Other
    }
}

impl<S, T> FromRequest<S> for Json<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let kind = kind_of(&req);
        let wrappers = crate::rails::wrappers_of(&req);
        let (value, source) = if kind == Kind::Multipart {
            (multipart(req, state).await?, Source::Params)
        } else {
            let bytes = axum::body::Bytes::from_request(req, state)
                .await
                .map_err(|e| {
                    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                        ApiError::TooLarge("the request body is too large".into())
                    } else {
                        ApiError::BadRequest(format!("cannot read the request body: {e}"))
                    }
                })?;
            match kind {
                _ if bytes.is_empty() => (Value::Object(Map::new()), Source::Json),
                Kind::Json => (parse_value(&bytes)?, Source::Json),
                Kind::Form => (form_value(&bytes)?, Source::Params),
                _ => {
                    return Err(ApiError::UnsupportedMedia(
                        "send the body as JSON with Content-Type: application/json, or as a form \
                         (application/x-www-form-urlencoded or multipart/form-data)"
                            .into(),
                    ));
                }
            }
        };
        read(crate::rails::unwrap(value, &wrappers), source).map(Json)
    }
}

/// A JSON body into `T` (the fuzz targets' entry).
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    read(parse_value(bytes)?, Source::Json)
}

/// An `application/x-www-form-urlencoded` body into `T` (the fuzz targets' entry).
pub fn parse_form<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    read(form_value(bytes)?, Source::Params)
}

fn parse_value(bytes: &[u8]) -> Result<Value, ApiError> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::BadRequest(format!("malformed JSON: {e}")))?;
    refuse_nul(&value)?;
    Ok(value)
}

fn form_value(bytes: &[u8]) -> Result<Value, ApiError> {
    let value = params::parse_urlencoded(bytes)
        .map_err(|e| ApiError::BadRequest(format!("malformed form body: {e}")))?;
    refuse_nul(&value)?;
    Ok(value)
}

/// A multipart form's text fields as params. Files are refused: the routes reading a body this
/// way take none (message attachments are read by the messages routes themselves).
async fn multipart<S: Send + Sync>(req: Request, state: &S) -> Result<Value, ApiError> {
    let mut form = axum::extract::Multipart::from_request(req, state)
        .await
        .map_err(|e| {
            ApiError::BadRequest(format!("malformed multipart body: {}", e.body_text()))
        })?;
    let mut params = Params::default();
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| multipart_error(e.status(), e.body_text()))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        if field.file_name().is_some() {
            return Err(ApiError::invalid(
                &name,
                "invalid",
                format!(
                    "{name}: this operation takes no files (pictures are given by URL, such as \
                     `avatar_url`)"
                ),
            ));
        }
        let text = field
            .text()
            .await
            .map_err(|e| multipart_error(e.status(), e.body_text()))?;
        params
            .insert(&name, Value::String(text))
            .map_err(|e| ApiError::BadRequest(format!("malformed multipart body: {e}")))?;
    }
    let value = params.finish();
    refuse_nul(&value)?;
    Ok(value)
}

fn multipart_error(status: axum::http::StatusCode, text: String) -> ApiError {
    if status == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::TooLarge("the request body is too large".into())
    } else {
        ApiError::BadRequest(format!("malformed multipart body: {text}"))
    }
}

/// Text may not hold the NUL character (`\u0000`, `%00`), which PostgreSQL cannot store.
fn refuse_nul(value: &Value) -> Result<(), ApiError> {
    match find_nul(value, String::new()) {
        Some(path) => Err(ApiError::invalid(
            &path,
            "invalid",
            format!("{path} contains the NUL character (\\u0000), which text may not contain"),
        )),
        None => Ok(()),
    }
}

/// The value into `T`, cast as Rails casts, with the failing field's path in the error.
fn read<T: DeserializeOwned>(value: Value, source: Source) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(Lenient::new(value, source)).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path.is_empty() || path == "." {
            ApiError::invalid("body", "invalid", inner.to_string())
        } else {
            ApiError::invalid(&path, "invalid", format!("{path}: {inner}"))
        }
    })
}

/// Where a value holds the NUL character (in a string or a key), as `a.b[0]` (`body` at the
/// top).
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
