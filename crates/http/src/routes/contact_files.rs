//! Contacts in and out of CSV files: Chatwoot's `POST …/contacts/import` (multipart
//! `import_file`) and an export as a download. Both are for administrators, as in Chatwoot, and
//! both are written to the audit log: a list of every customer is the account's most sensitive
//! file.
//!
//! Chatwoot imports in the background and mails a report; here the file is imported while the
//! request waits (at most `contact_csv::MAX_ROWS` rows, which takes seconds) and the answer is
//! the report itself — counts and every refused row with its row number and field — so the app
//! can show it, and send a long list in parts to show progress. Chatwoot's export mails a link;
//! here `GET …/contacts/export` answers the file.

use axum::extract::{FromRequest, Request, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS,
};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;
use throughline_core::audit::{Change, action, kind};
use throughline_core::contact_csv::{self, Export};
use throughline_core::model::AttributeModel;
use throughline_service::contact_import::{self, ImportReport};
use throughline_store::{attributes, contacts};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::messages::{is_multipart, multipart_error, upload_sized};
use crate::audit::Audit;
use crate::error::{ApiError, ApiResult};
use crate::extract::{AccountCtx, Query};
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(import)).routes(routes!(export))
}

/// A CSV of `MAX_ROWS` rows of a few hundred characters each fits well within this.
const MAX_FILE_BYTES: usize = 8 * 1024 * 1024;

/// Imports contacts from a CSV file (`import_file`): `name`, `email`, `phone_number`,
/// `identifier`; `company_name`, `city` and `country` as additional attributes; any other column
/// as a custom attribute. A row updates the contact with its identifier, email or phone, or
/// creates one. Bad rows are reported and skipped; the rest are imported.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/contacts/import", tag = "Contacts",
    params(("account_id" = i64, Path)), security(("userApiKey" = [])),
    request_body(content_type = "multipart/form-data", description = "`import_file`: the CSV"),
    responses((status = 200, body = Object, description = "total_rows, created, updated, failed[{row, field, code, message}]"),
        (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
        (status = 413, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn import(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    req: Request,
) -> ApiResult<axum::Json<ImportReport>> {
    ctx.require_admin()?;
    let bytes = read_file(&state, req).await?;
    let rows = contact_csv::read(&bytes)
        .map_err(|e| ApiError::invalid("import_file", "invalid", e.to_string()))?;
    let report = contact_import::import(&state.store, &ctx.scope, rows).await?;
    let change = Change::new(kind::ACCOUNT, ctx.account_id(), action::IMPORT_CONTACTS)
        .with("total_rows", report.total_rows)
        .with("created", report.created)
        .with("updated", report.updated)
        .with("failed", report.failed.len());
    audit.record_alone(&state.store, &ctx.scope, change).await?;
    Ok(axum::Json(report))
}

async fn read_file(state: &AppState, req: Request) -> ApiResult<Vec<u8>> {
    if !is_multipart(&req) {
        return Err(ApiError::BadRequest(
            "send the CSV as a multipart form with the file in `import_file`".into(),
        ));
    }
    let req = upload_sized(req, MAX_FILE_BYTES.min(state.config.upload_limit)).await;
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
        if field.name() == Some("import_file") {
            let bytes = field
                .bytes()
                .await
                .map_err(|e| multipart_error(e.status(), e.body_text()))?;
            return Ok(bytes.to_vec());
        }
    }
    Err(ApiError::invalid(
        "import_file",
        "blank",
        "the form has no `import_file`",
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
struct ExportParams {
    /// Only contacts with one of these labels.
    #[serde(default, rename = "labels[]", alias = "labels")]
    labels: Vec<String>,
}

/// Columns before the account's contact attributes; `import` reads this file back.
const COLUMNS: [&str; 11] = [
    "id",
    "name",
    "email",
    "phone_number",
    "identifier",
    "company_name",
    "city",
    "country",
    "labels",
    "created_at",
    "last_activity_at",
];
const PAGE: i64 = 1_000;

/// Every contact (or those with one of `labels[]`) as a CSV file, with a column per contact
/// attribute the account defined.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/contacts/export", tag = "Contacts",
    params(("account_id" = i64, Path), ExportParams), security(("userApiKey" = [])),
    responses((status = 200, description = "the CSV", content_type = "text/csv"),
        (status = 403, body = crate::error::ErrorBody)))]
async fn export(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Query(p): Query<ExportParams>,
) -> ApiResult<Response> {
    ctx.require_admin()?;
    let labels: Vec<String> = p
        .labels
        .iter()
        .map(|l| l.trim().to_lowercase())
        .filter(|l| !l.is_empty())
        .collect();
    let mut conn = state.store.read().await?;
    let keys: Vec<String> = attributes::list(
        &mut conn,
        &ctx.scope,
        Some(AttributeModel::ContactAttribute),
    )
    .await?
    .into_iter()
    .map(|d| d.attribute_key)
    .filter(|k| !COLUMNS.contains(&k.as_str()))
    .collect();
    let header: Vec<&str> = COLUMNS
        .iter()
        .copied()
        .chain(keys.iter().map(String::as_str))
        .collect();
    let mut file = Export::new(&header);
    let mut after = 0;
    let mut count = 0usize;
    loop {
        let page = contacts::export_page(&mut conn, &ctx.scope, &labels, after, PAGE).await?;
        let Some((last, _)) = page.last() else { break };
        after = last.id;
        for (c, labels) in &page {
            let place = |k: &str| text_of(c.additional_attributes.get(k));
            let mut cells = vec![
                c.id.to_string(),
                c.name.clone(),
                c.email.clone().unwrap_or_default(),
                c.phone_number.clone().unwrap_or_default(),
                c.identifier.clone().unwrap_or_default(),
                place("company_name"),
                place("city"),
                place("country"),
                labels.join(", "),
                iso(Some(c.created_at)),
                iso(c.last_activity_at),
            ];
            cells.extend(keys.iter().map(|k| text_of(c.custom_attributes.get(k))));
            file.row(cells.iter().map(String::as_str));
        }
        count += page.len();
    }
    drop(conn);
    let change = Change::new(kind::ACCOUNT, ctx.account_id(), action::EXPORT_CONTACTS)
        .with("contacts", count)
        .with("labels", labels);
    audit.record_alone(&state.store, &ctx.scope, change).await?;
    Ok((
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"contacts-{}.csv\"", ctx.account_id()),
            ),
            (X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (CACHE_CONTROL, "no-store".to_owned()),
        ],
        file.finish(),
    )
        .into_response())
}

fn text_of(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn iso(ms: Option<i64>) -> String {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}
