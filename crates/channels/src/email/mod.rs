//! The email channel's building blocks, free of any database code.
//!
//! Each module has one job so the store and the jobs can combine them without dragging in the
//! others' concerns:
//!
//! - [`parse`] turns raw RFC 5322 bytes into an [`parse::InboundEmail`] (bodies decoded,
//!   attachments, auto-reply and bounce classification).
//! - [`threading`] extracts the keys a conversation lookup needs; the store does the lookup.
//! - [`quote`] splits a body into what the customer wrote now and the quoted history.
//! - [`sanitize`] makes HTML safe to show in an agent's browser.
//! - [`compose`] builds the raw bytes of an outgoing email with threading headers.
//! - [`send`] hands raw bytes to an SMTP relay and classifies failures as temporary or
//!   permanent.
//! - [`smtp_server`] is the built-in inbound SMTP listener.
//!
//! Raw messages are always kept by the caller (blob store); everything here is derived from them
//! and can be recomputed.

mod adapter;
pub mod compose;
pub mod imap;
pub mod parse;
pub mod quote;
pub mod sanitize;
pub mod send;
mod settings;

pub(crate) use adapter::delivery_for;
pub use adapter::{EMAIL_TARGET_PREFIX, EmailAdapter, RELAY_SIGNATURE_HEADER, markdown_html, read};
pub mod smtp_server;
pub mod threading;

pub use settings::EmailSessions;

/// A mailbox as people see it: an address plus an optional display name.
///
/// The address is always trimmed and lower-cased when it comes from [`parse`], matching
/// `throughline_core::identity::normalize_email`, so the store can compare addresses without
/// caring about how a client capitalised them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Mailbox {
    pub address: String,
    pub name: Option<String>,
}

impl Mailbox {
    /// A mailbox without a display name.
    pub fn new(address: impl Into<String>) -> Self {
        Self {
            address: address.into(),
            name: None,
        }
    }

    /// A mailbox with a display name (`"Ana Souza" <ana@example.com>`).
    pub fn with_name(name: impl Into<String>, address: impl Into<String>) -> Self {
        Self {
            address: address.into(),
            name: Some(name.into()),
        }
    }
}

/// Strips surrounding whitespace and one pair of angle brackets from a Message-ID or address,
/// so ids compare equal whether or not a header or caller kept the brackets.
pub(crate) fn strip_angle_brackets(value: &str) -> &str {
    let trimmed = value.trim();
    trimmed
        .strip_prefix('<')
        .and_then(|rest| rest.strip_suffix('>'))
        .map_or(trimmed, str::trim)
}
