//! The help center as Chatwoot's API writes it: portals (named by slug in every path),
//! their categories and articles, under `/api/v1/accounts/{account_id}/portals`.
//! Administrators own portals and categories; every agent writes articles (an agent deletes
//! only their own).

mod articles;
mod categories;
mod portals;

use throughline_core::help_center::{self as hc, Portal, normalise_locale};
use throughline_core::validate::FieldError;
use throughline_store::AccountScope;
use throughline_store::help_center as store;
use utoipa_axum::router::OpenApiRouter;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    articles::routes(categories::routes(portals::routes(r)))
}

pub(super) fn invalid(e: FieldError) -> ApiError {
    ApiError::Invalid(vec![e])
}

/// The scope's portal called `slug`.
pub(super) async fn portal_of(
    state: &AppState,
    scope: &AccountScope,
    slug: &str,
) -> ApiResult<Portal> {
    let mut conn = state.store.read().await?;
    Ok(store::portal_by_slug(&mut conn, scope, slug).await?)
}
pub(super) fn locale_field(field: &str, raw: &str) -> Result<String, FieldError> {
    normalise_locale(raw).map(str::to_owned).ok_or_else(|| {
        FieldError::new(
            field,
            "invalid",
            format!("{field} must be one of {}", hc::LOCALES.join(", ")),
        )
    })
}
/// A locale the portal allows, from what the client sent.
pub(super) fn portal_locale(portal: &Portal, field: &str, raw: &str) -> Result<String, FieldError> {
    let l = locale_field(field, raw)?;
    if portal.allowed_locales.contains(&l) {
        Ok(l)
    } else {
        Err(FieldError::new(
            field,
            "invalid",
            format!(
                "{field} must be one of the portal's locales ({})",
                portal.allowed_locales.join(", ")
            ),
        ))
    }
}
