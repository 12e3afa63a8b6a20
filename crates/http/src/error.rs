//! The one error type of the HTTP layer, and its mapping to responses.
//!
//! Every failure answers JSON `{"error": "<stable_code>", "message": "<text>"}` (plus
//! `errors`/`attributes` for field validation), with a precise status. Causes of 5xx are
//! logged, never sent.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use throughline_core::validate::FieldError;
use throughline_store::StoreError;

#[derive(Debug)]
pub enum ApiError {
    /// 400: the request cannot be understood (malformed JSON, bad id in the path).
    BadRequest(String),
    /// 401: no credentials, or wrong ones.
    Unauthorized(String),
    /// 403: authenticated, but not allowed.
    Forbidden(String),
    /// 403 `mfa_enrollment_required` (Chatwoot's code): an account requires two-factor
    /// authentication of this user, who must enrol before doing anything else.
    MfaEnrollmentRequired,
    /// 401 `user_deactivated`: the user is deactivated in every account they belong to.
    Deactivated,
    /// 404
    NotFound,
    /// 409/422: the request collides with existing data.
    Conflict { field: String },
    /// 409: what the request answers is over (an offer that ran out or went elsewhere).
    Stale(String),
    /// 413
    TooLarge(String),
    /// 415
    UnsupportedMedia(String),
    /// 422: well-formed but invalid.
    Invalid(Vec<FieldError>),
    /// 422 with a message and no field.
    Unprocessable(String),
    /// 429 with seconds to wait.
    TooManyRequests { retry_after: u64 },
    /// 502: a provider we asked on the client's behalf answered with an error (its words).
    BadGateway(String),
    /// 503: the database is unavailable; the client may retry.
    Unavailable(String),
    /// 500: a bug or an unexpected failure; the cause is logged, not sent.
    Internal(String),
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable snake_case code, for programs and translations.
    pub error: String,
    /// What went wrong, for people.
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldErrorBody>,
    /// Chatwoot's list of offending attributes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct FieldErrorBody {
    pub field: String,
    pub code: String,
    pub message: String,
}

impl ApiError {
    pub fn invalid(field: &str, code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Invalid(vec![FieldError::new(field, code, message)])
    }

    pub fn forbidden_admin() -> Self {
        ApiError::Forbidden("only administrators of this account may do this".into())
    }

    /// What the client is told, without the status (for errors sent over a socket).
    pub fn client_message(&self) -> String {
        if let ApiError::Internal(cause) | ApiError::Unavailable(cause) = self {
            tracing::error!(%cause, "request failed");
        }
        self.parts().2
    }

    fn parts(&self) -> (StatusCode, &'static str, String) {
        match self {
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, "bad_request", m.clone()),
            ApiError::Unauthorized(m) => (StatusCode::UNAUTHORIZED, "unauthorized", m.clone()),
            ApiError::Forbidden(m) => (StatusCode::FORBIDDEN, "forbidden", m.clone()),
            ApiError::MfaEnrollmentRequired => (
                StatusCode::FORBIDDEN,
                "mfa_enrollment_required",
                "your account requires two-factor authentication: set it up in your profile first"
                    .into(),
            ),
            ApiError::Deactivated => (
                StatusCode::UNAUTHORIZED,
                "user_deactivated",
                "This user has been deactivated. Ask an administrator of your account.".into(),
            ),
            ApiError::NotFound => (
                StatusCode::NOT_FOUND,
                "not_found",
                "Resource could not be found".into(),
            ),
            ApiError::Conflict { field } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "taken",
                format!("{} has already been taken", humanize(field)),
            ),
            ApiError::Stale(m) => (StatusCode::CONFLICT, "conflict", m.clone()),
            ApiError::TooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large", m.clone()),
            ApiError::UnsupportedMedia(m) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                m.clone(),
            ),
            ApiError::Invalid(errors) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                errors
                    .iter()
                    .map(|e| e.message.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            ApiError::Unprocessable(m) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "unprocessable", m.clone())
            }
            ApiError::TooManyRequests { retry_after } => (
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                format!("too many attempts; try again in {retry_after} s"),
            ),
            ApiError::BadGateway(m) => (StatusCode::BAD_GATEWAY, "provider_error", m.clone()),
            ApiError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the database is unavailable; try again shortly".into(),
            ),
            ApiError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "something went wrong on our side; it has been logged".into(),
            ),
        }
    }
}

fn humanize(field: &str) -> String {
    let mut s = field.replace('_', " ");
    if let Some(first) = s.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    s
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message) = self.parts();
        match &self {
            ApiError::Internal(cause) => tracing::error!(%cause, "internal error"),
            ApiError::Unavailable(cause) => tracing::warn!(%cause, "database unavailable"),
            _ => {}
        }
        let (errors, attributes) = match &self {
            ApiError::Invalid(list) => (
                list.iter()
                    .map(|e| FieldErrorBody {
                        field: e.field.clone(),
                        code: e.code.into(),
                        message: e.message.clone(),
                    })
                    .collect(),
                list.iter().map(|e| e.field.clone()).collect(),
            ),
            ApiError::Conflict { field } => (
                vec![FieldErrorBody {
                    field: field.clone(),
                    code: "taken".into(),
                    message: message.clone(),
                }],
                vec![field.clone()],
            ),
            _ => (Vec::new(), Vec::new()),
        };
        let body = ErrorBody {
            error: code.into(),
            message,
            errors,
            attributes,
        };
        let mut resp = (status, axum::Json(body)).into_response();
        if matches!(self, ApiError::TooLarge(_)) {
            // The rest of the body was never read, so the connection cannot carry another
            // request: saying so keeps a client from reusing it (and failing its next request).
            resp.headers_mut().insert(
                axum::http::header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
        }
        if let ApiError::TooManyRequests { retry_after } = self
            && let Ok(v) = retry_after.to_string().parse()
        {
            resp.headers_mut().insert("retry-after", v);
        }
        resp
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::NotFound,
            StoreError::Conflict { field } => ApiError::Conflict { field },
            StoreError::InvalidReference(cause) => {
                // The database's words name constraints and columns: logged, never sent.
                tracing::info!(%cause, "write refused by a constraint");
                ApiError::Unprocessable("a referenced record does not exist".into())
            }
            StoreError::Refused(m) => ApiError::Unprocessable(m),
            StoreError::Unavailable(m) => ApiError::Unavailable(m),
            StoreError::Corrupt(m) | StoreError::Other(m) => ApiError::Internal(m),
        }
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        ApiError::Invalid(vec![e])
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// A store lookup of something the client referenced by a field: only "not found" is the
/// client's mistake (422 on that field); anything else — the database away — keeps its own
/// meaning (503), instead of turning an outage into "no such inbox".
pub trait NotFoundAs<T> {
    fn not_found_as(self, field: &str, message: &'static str) -> ApiResult<T>;
}

impl<T> NotFoundAs<T> for Result<T, StoreError> {
    fn not_found_as(self, field: &str, message: &'static str) -> ApiResult<T> {
        self.map_err(|e| match e {
            StoreError::NotFound => ApiError::invalid(field, "invalid", message),
            other => other.into(),
        })
    }
}
