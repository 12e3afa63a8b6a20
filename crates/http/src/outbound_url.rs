//! URLs an account enters for Throughline to call (webhooks, an API inbox's callback, an agent
//! bot's URL). Names are accepted — what they resolve to is checked each time a request is
//! sent (`throughline_channels::outbound_guard`) — but an IP literal the outbound guard would
//! refuse is refused at once, naming the field.

use throughline_core::validate::{FieldError, http_url};

use crate::state::AppState;

/// [`http_url`], then the outbound guard's verdict on an IP-literal host.
pub(crate) fn checked_url(
    state: &AppState,
    field: &str,
    value: &str,
) -> Result<String, FieldError> {
    let url = http_url(field, value)?;
    state
        .clients
        .http
        .client()
        .guard()
        .check_entered(&url)
        .map_err(|refused| FieldError::new(field, "forbidden_address", refused.for_field(field)))?;
    Ok(url)
}
