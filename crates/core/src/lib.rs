//! Throughline's domain, with no I/O.
//!
//! Everything here is plain data and rules: the conversation status machine, message delivery
//! states, identity normalisation and linking, the conversation finder (continuity across
//! channels), the reply-channel policy, roles, domain event names, webhook signing and retry policy,
//! and the Chatwoot-compatible views that the API, the webhooks and the realtime hub all render.
//! The store, the HTTP layer and the event consumers call into this crate; it calls nothing.

pub mod assistant;
pub mod audit;
pub mod automation;
pub mod contact_csv;
pub mod continuity;
pub mod conversation;
pub mod crypto;
pub mod email;
pub mod event;
pub mod filter;
pub mod help_center;
pub mod hours;
pub mod identity;
pub mod journey;
pub mod linking;
pub mod message;
pub mod messaging;
pub mod model;
pub mod moves;
pub mod notification;
pub mod privacy;
pub mod reply_channel;
pub mod role;
pub mod routing;
pub mod scope;
pub mod sla;
pub mod survey;
pub mod system_mail;
pub mod two_factor;
pub mod validate;
pub mod views;
pub mod visibility;
pub mod voice;
pub mod webhook;
pub mod widget;

/// Milliseconds since the Unix epoch. All stored times use this unit; the API speaks seconds.
pub type Millis = i64;

/// Converts stored milliseconds to the Unix seconds Chatwoot's API uses.
pub fn to_unix_seconds(ms: Millis) -> i64 {
    ms.div_euclid(1000)
}
