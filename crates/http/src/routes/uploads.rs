//! The help center's files: Chatwoot's `POST /api/v1/accounts/{account_id}/upload` (multipart
//! `attachment`, answered `{file_url, blob_key, blob_id}`) for portal logos and images in
//! articles, and the public URL that serves them.
//!
//! Help-center pages are public, so their images are: `GET /uploads/{id}/{token}/{file_name}`
//! needs no sign-in, only the upload's random token, compared in constant time. Only images
//! are taken — PNG, JPEG, GIF and WebP, recognised by their bytes, whatever the client declared
//! — so a file served from this origin can never be a page or a script (no HTML, no SVG), and
//! each is answered with `nosniff` and a Content-Security-Policy that allows nothing.

use axum::extract::{FromRequest, Request, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_SECURITY_POLICY, CONTENT_TYPE,
    X_CONTENT_TYPE_OPTIONS,
};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use throughline_core::crypto::constant_time_eq;
use throughline_core::help_center::Portal;
use throughline_store::blob::new_key;
use throughline_store::uploads::{self, NewUpload, Upload};
use throughline_store::{AccountScope, Conn, Found};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::messages::{is_multipart, multipart_error, upload_sized};
use crate::error::{ApiError, ApiResult};
use crate::extract::{AccountCtx, Path};
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(upload)).routes(routes!(serve))
}

/// The largest image taken, in bytes.
pub(crate) const MAX_BYTES: usize = 5 * 1024 * 1024;
/// Room for the multipart framing around the file.
const FORM_OVERHEAD: usize = 256 * 1024;
/// The public path's first segment (the public guard rate-limits it like `/hc/`).
pub(crate) const PUBLIC_PREFIX: &str = "/uploads/";

/// The image types taken: (content type, file extension), recognised by their first bytes.
pub(crate) fn image_type(bytes: &[u8]) -> Option<(&'static str, &'static str)> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(("image/png", "png"))
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(("image/jpeg", "jpg"))
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some(("image/gif", "gif"))
    } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        Some(("image/webp", "webp"))
    } else {
        None
    }
}

/// A file name safe in a URL path and a header: the client's name without folders, its
/// diacritics folded, anything but letters, digits, `-` and `_` turned into `_`, at most 80
/// characters, with the extension of the type the bytes are.
pub(crate) fn safe_file_name(raw: Option<&str>, extension: &str) -> String {
    let base = raw
        .unwrap_or_default()
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default();
    let stem = base.rsplit_once('.').map_or(base, |(stem, _)| stem);
    let mut out = String::new();
    for c in stem
        .chars()
        .map(throughline_core::help_center::search::fold_char)
    {
        let c = if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
            c
        } else {
            '_'
        };
        if c == '_' && out.ends_with('_') {
            continue;
        }
        out.push(c);
        if out.len() >= 80 {
            break;
        }
    }
    let stem = out.trim_matches(|c| c == '_' || c == '-');
    let stem = if stem.is_empty() { "image" } else { stem };
    format!("{stem}.{extension}")
}

/// The path an upload is served at.
fn public_path(u: &Upload) -> String {
    format!("{PUBLIC_PREFIX}{}/{}/{}", u.id, u.token, u.file_name)
}

/// The absolute URL an upload is served at: this server's public URL and its path.
pub(crate) fn file_url(state: &AppState, u: &Upload) -> String {
    format!(
        "{}{}",
        state.config.public_url.trim_end_matches('/'),
        public_path(u)
    )
}

/// The portal's logo, when it has one (an upload of the portal's account).
pub(crate) async fn portal_logo(conn: &mut Conn, portal: &Portal) -> ApiResult<Option<Upload>> {
    let Some(id) = portal.logo_upload_id else {
        return Ok(None);
    };
    let scope = AccountScope::system(portal.account_id);
    Ok(uploads::get(conn, &scope, id).await.found()?)
}

/// The URL of the portal's logo, when it has one.
pub(crate) async fn portal_logo_url(
    state: &AppState,
    conn: &mut Conn,
    portal: &Portal,
) -> ApiResult<Option<String>> {
    Ok(portal_logo(conn, portal)
        .await?
        .map(|u| file_url(state, &u)))
}

/// Chatwoot's answer to an upload.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct UploadView {
    /// Where the file is served, to anyone (`GET /uploads/{id}/{token}/{file_name}`).
    file_url: String,
    /// Where the file is kept in the blob store.
    blob_key: String,
    /// The upload's id: a portal's `blob_id` takes it (its logo).
    blob_id: i64,
}

/// The `attachment` field of a multipart form: its bytes and declared name.
async fn read_attachment(state: &AppState, req: Request) -> ApiResult<(Vec<u8>, Option<String>)> {
    if !is_multipart(&req) {
        return Err(ApiError::BadRequest(
            "send the image as a multipart form with the file in `attachment`".into(),
        ));
    }
    let req = upload_sized(
        req,
        (MAX_BYTES + FORM_OVERHEAD).min(state.config.upload_limit),
    )
    .await;
    let mut form = axum::extract::Multipart::from_request(req, state)
        .await
        .map_err(|e| {
            ApiError::BadRequest(format!("malformed multipart body: {}", e.body_text()))
        })?;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| multipart_error(e.status(), e.body_text()))?
    {
        if field.name() == Some("attachment") {
            let name = field.file_name().map(str::to_owned);
            let bytes = field
                .bytes()
                .await
                .map_err(|e| multipart_error(e.status(), e.body_text()))?;
            return Ok((bytes.to_vec(), name));
        }
    }
    Err(ApiError::invalid(
        "attachment",
        "blank",
        "the form has no `attachment`",
    ))
}

/// Uploads an image for the help center (a portal's logo, an image in an article), as any
/// agent of the account: PNG, JPEG, GIF or WebP (recognised by the bytes; SVG is refused), at
/// most 5 MB. `file_url` serves it to anyone, without signing in; `blob_id` makes it a
/// portal's logo.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/upload", tag = "Help Center",
    params(("account_id" = i64, Path)), security(("userApiKey" = [])),
    request_body(content_type = "multipart/form-data", description = "`attachment`: a PNG, JPEG, GIF or WebP image of at most 5 MB"),
    responses((status = 200, body = UploadView),
        (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
        (status = 413, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn upload(
    State(state): State<AppState>,
    ctx: AccountCtx,
    req: Request,
) -> ApiResult<axum::Json<UploadView>> {
    let (bytes, declared_name) = read_attachment(&state, req).await?;
    if bytes.len() > MAX_BYTES {
        return Err(ApiError::TooLarge(format!(
            "the image is larger than {} MB",
            MAX_BYTES / (1024 * 1024)
        )));
    }
    if bytes.is_empty() {
        return Err(ApiError::invalid(
            "attachment",
            "blank",
            "the attachment is empty",
        ));
    }
    let Some((content_type, extension)) = image_type(&bytes) else {
        return Err(ApiError::invalid(
            "attachment",
            "invalid_type",
            "attachment must be a PNG, JPEG, GIF or WebP image (SVG and other files are not accepted)",
        ));
    };
    let file_name = safe_file_name(declared_name.as_deref(), extension);
    let key = new_key(ctx.account_id());
    let byte_size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
    state.blobs.put(&key, bytes).await?;
    let saved = async {
        let mut tx = state.store.begin().await?;
        let new = NewUpload {
            blob_key: &key,
            file_name: &file_name,
            content_type,
            byte_size,
        };
        let u = uploads::create(tx.conn(), &ctx.scope, &new).await?;
        tx.commit().await?;
        Ok::<_, ApiError>(u)
    }
    .await;
    let u = match saved {
        Ok(u) => u,
        Err(e) => {
            // No row names the file: it would never be served nor deleted.
            if let Err(cause) = state.blobs.delete(&key).await {
                tracing::warn!(%cause, "an unrecorded upload's file stays in the blob store");
            }
            return Err(e);
        }
    };
    Ok(axum::Json(UploadView {
        file_url: file_url(&state, &u),
        blob_key: u.blob_key.clone(),
        blob_id: u.id,
    }))
}

/// Types served as they are; anything else (never stored) would download.
const IMAGE_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];

/// An uploaded image, to anyone with its URL (help-center pages are public).
#[utoipa::path(get, path = "/uploads/{id}/{token}/{file_name}", tag = "Help Center (public)",
    params(("id" = i64, Path), ("token" = String, Path), ("file_name" = String, Path)),
    responses((status = 200, description = "the image"), (status = 404, body = crate::error::ErrorBody)))]
async fn serve(
    State(state): State<AppState>,
    Path((id, token, _file_name)): Path<(i64, String, String)>,
) -> ApiResult<Response> {
    let u = {
        let mut conn = state.store.read().await?;
        uploads::by_id_for_serving(&mut conn, id).await?
    };
    if !constant_time_eq(u.token.as_bytes(), token.as_bytes()) {
        return Err(ApiError::NotFound);
    }
    let bytes = state.blobs.get(&u.blob_key).await?;
    let image = IMAGE_TYPES.contains(&u.content_type.as_str());
    let (content_type, disposition) = if image {
        (u.content_type.clone(), "inline")
    } else {
        ("application/octet-stream".to_owned(), "attachment")
    };
    Ok((
        [
            (CONTENT_TYPE, content_type),
            (
                CONTENT_DISPOSITION,
                format!("{disposition}; filename=\"{}\"", u.file_name),
            ),
            (X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (CONTENT_SECURITY_POLICY, "default-src 'none'".to_owned()),
            // The URL names one file forever: a new image is a new upload.
            (
                CACHE_CONTROL,
                "public, max-age=31536000, immutable".to_owned(),
            ),
        ],
        bytes,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_known_by_their_bytes() {
        assert_eq!(
            image_type(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            Some(("image/png", "png"))
        );
        assert_eq!(
            image_type(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]),
            Some(("image/jpeg", "jpg"))
        );
        assert_eq!(image_type(b"GIF89a\x01\0"), Some(("image/gif", "gif")));
        assert_eq!(image_type(b"GIF87a\x01\0"), Some(("image/gif", "gif")));
        assert_eq!(
            image_type(b"RIFF\x24\0\0\0WEBPVP8 "),
            Some(("image/webp", "webp"))
        );
        for not_an_image in [
            &b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>"[..],
            b"<?xml version=\"1.0\"?><svg/>",
            b"<!doctype html><script>alert(1)</script>",
            b"%PDF-1.7",
            b"RIFF\x24\0\0\0WAVEfmt ",
            b"\x89PN",
            b"",
        ] {
            assert_eq!(image_type(not_an_image), None, "{not_an_image:?}");
        }
    }

    #[test]
    fn file_names_are_safe_in_paths_and_headers() {
        assert_eq!(
            safe_file_name(Some("Instalação da impressora.PNG"), "png"),
            "Instalacao_da_impressora.png"
        );
        assert_eq!(
            safe_file_name(Some("../../etc/passwd"), "png"),
            "passwd.png"
        );
        assert_eq!(
            safe_file_name(Some("C:\\Users\\ana\\logo.jpeg"), "jpg"),
            "logo.jpg"
        );
        assert_eq!(
            safe_file_name(Some("a\"b<c>;%00\r\n.gif"), "gif"),
            "a_b_c_00.gif"
        );
        assert_eq!(
            safe_file_name(Some("zdjęcie łódź.webp"), "webp"),
            "zdjecie_lodz.webp"
        );
        assert_eq!(safe_file_name(Some(".png"), "png"), "image.png");
        assert_eq!(safe_file_name(None, "png"), "image.png");
        assert_eq!(safe_file_name(Some("???"), "png"), "image.png");
        let long = safe_file_name(Some(&"x".repeat(500)), "png");
        assert_eq!(long.len(), 84);
        // A page named `.png` stays an image's name with the image's extension.
        assert_eq!(safe_file_name(Some("page.html"), "png"), "page.png");
    }
}
