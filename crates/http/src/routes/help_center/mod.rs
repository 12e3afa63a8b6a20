//! The help center: Chatwoot's portals, categories and articles API for the team
//! (`admin`, shaped by `views`), and the public side at `/hc/…` (`public`, rendered by
//! `pages`), also on a portal's own domain (`domains`).

mod admin;
pub(crate) mod domains;
pub(crate) mod pages;
mod public;
mod views;

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    public::routes(admin::routes(r))
}
