//! The store: the only code that speaks SQL.
//!
//! One schema and one code path for SQLite (embedded default) and PostgreSQL, through sqlx's
//! Any driver with portable SQL (`$n` placeholders, `RETURNING`, `ON CONFLICT`). The few
//! dialect differences live in the migrations and in `outbox::visible_horizon`.
//!
//! Every account-level function takes an [`AccountScope`]; there is no way to read or write a
//! tenant's records without naming the tenant. Functions that cross tenants (login, token
//! lookup, platform API) say so in their names.

pub mod backup;
pub mod blob;
mod clock;
mod db;
mod error;
mod group;
pub mod outbox;
mod rows;
mod sql;

pub use clock::now_ms;
pub use db::{Backend, PoolStats, ReadConn, Store, StoreOptions, Tx, WriteMark, redact_url};
pub use error::{Found, Result, StoreError};
pub use sqlx::AnyConnection as Conn;

pub mod accounts;
pub mod auth;
pub mod scope;

pub use events::webwidget_triggered;
pub use scope::AccountScope;

/// A fresh random token for ids that must be unguessable (pubsub tokens, identifiers).
pub(crate) fn crypto_token() -> String {
    throughline_core::crypto::random_token(24)
}
pub mod attributes;
pub mod audit;
pub mod automation;
pub mod calls;
pub mod canned;
pub mod custom_filters;
pub mod inboxes;
pub mod labels;
pub mod teams;

/// Escapes `%`, `_` and `\` for a LIKE pattern used with `ESCAPE '\'`.
pub(crate) fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
pub mod assistant;
pub mod auto_replies;
pub mod bulk;
pub mod business_events;
pub mod contacts;
pub mod continuity;
pub mod conversations;
pub mod csat;
pub mod email;
mod events;
pub mod filters;
pub mod help_center;
pub mod invitations;
pub mod journeys;
pub mod links;
pub mod macros;
pub mod media;
pub mod messages;
pub mod moves;
pub mod notification_settings;
pub mod notifications;
pub mod password_links;
pub mod privacy;
pub mod providers;
mod records;
pub mod render;
pub mod reply_channels;
pub mod resolve;
pub mod routing;
pub mod search;
pub mod settings;
pub mod sla;
pub mod sso;
pub mod suggestions;
#[cfg(feature = "testing")]
pub mod testing;
pub mod timeline;
pub mod transcriptions;
pub mod two_factor;
pub mod uploads;
pub mod webhooks;
