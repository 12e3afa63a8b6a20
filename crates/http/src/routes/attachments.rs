//! Attachment downloads by capability URL (see `throughline_store::links`).

use axum::extract::State;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS,
};
use axum::response::{IntoResponse, Response};
use throughline_store::messages;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult};
use crate::extract::Path;
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    // Chatwoot serves files under Active Storage's `/rails/` path and integrations rebuild
    // URLs from it (wppconnect-server keeps `data_url` from `rails/` on); the same signed file
    // answers there. `/attachments/…` stays for links already sent in emails.
    r.routes(routes!(download))
        .route(RAILS_BLOB_ROUTE, axum::routing::get(download))
}

const RAILS_BLOB_ROUTE: &str = "/rails/active_storage/blobs/{id}/{token}/{file_name}";

/// Types a browser may show inline; everything else downloads, so an uploaded HTML or SVG file
/// can never run script in our origin.
const INLINE: [&str; 8] = [
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "audio/mpeg",
    "audio/ogg",
    "video/mp4",
    "application/pdf",
];

#[utoipa::path(get, path = "/attachments/{id}/{token}/{file_name}", tag = "Attachments",
    params(("id" = i64, Path), ("token" = String, Path), ("file_name" = String, Path)),
    responses((status = 200, description = "the file"), (status = 404, body = crate::error::ErrorBody)))]
async fn download(
    State(state): State<AppState>,
    Path((id, token, _file_name)): Path<(i64, String, String)>,
) -> ApiResult<Response> {
    if !state.store.links().verify_attachment(id, &token) {
        return Err(ApiError::NotFound);
    }
    let attachment = {
        let mut conn = state.store.read().await?;
        messages::attachment(&mut conn, id).await?
    };
    let key = attachment.blob_key.as_deref().ok_or(ApiError::NotFound)?;
    let bytes = state.blobs.get(key).await?;
    let content_type = attachment
        .content_type
        .clone()
        .unwrap_or_else(|| "application/octet-stream".into());
    let inline = INLINE.contains(&content_type.as_str());
    let safe_type = if inline {
        content_type
    } else {
        "application/octet-stream".into()
    };
    let name: String = attachment
        .file_name
        .unwrap_or_else(|| "file".into())
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_control() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let disposition = format!(
        "{}; filename=\"{name}\"",
        if inline { "inline" } else { "attachment" }
    );
    Ok((
        [
            (CONTENT_TYPE, safe_type),
            (CONTENT_DISPOSITION, disposition),
            (X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (CACHE_CONTROL, "private, max-age=86400".to_owned()),
        ],
        bytes,
    )
        .into_response())
}
