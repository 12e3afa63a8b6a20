//! The JSON shapes Chatwoot clients expect, built from domain records.
//!
//! One set of views serves the REST API, the outgoing webhooks and the realtime stream, so a
//! conversation looks the same wherever it is seen. Times are Unix seconds. Fields without a
//! value are left out rather than sent as `null`: the Chatwoot contract (OpenAPI 3.0) types
//! almost none of them as nullable, and clients read a missing key as empty.

macro_rules! view {
    ($($item:item)*) => {
        $(
            #[derive(Clone, Debug, PartialEq, serde::Serialize)]
            #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
            $item
        )*
    };
}

mod account;
mod audit;
mod contact;
mod conversation;
mod inbox;
mod message;
mod public;
mod sla;
mod user;
pub mod webhook_body;

pub use account::*;
pub use audit::*;
pub use contact::*;
pub use conversation::*;
pub use inbox::*;
pub use message::*;
pub use public::*;
pub use sla::*;
pub use user::*;

pub(crate) fn secs(ms: crate::Millis) -> i64 {
    crate::to_unix_seconds(ms)
}

pub(crate) fn opt_secs(ms: Option<crate::Millis>) -> Option<i64> {
    ms.map(secs)
}

/// RFC 3339 in UTC, for the few Chatwoot fields that are strings (`created_at` of canned
/// responses, accounts, custom attributes).
pub fn iso8601(ms: crate::Millis) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_formats_utc() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(iso8601(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(iso8601(4_107_542_399_000), "2100-02-28T23:59:59.000Z");
    }
}
