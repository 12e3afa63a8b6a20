//! The application layer: the use cases between the HTTP layer, the jobs and the SMTP/IMAP
//! receivers on one side and the store and the channel adapters on the other.
//!
//! Each omnichannel decision is taken here, once:
//! - [`inbound`]: a customer's message from any channel — resolve the sender, thread it
//!   ([`threading`]), store it with its event in one grouped write.
//! - [`conversations`]: start a conversation, saying who starts it.
//! - [`outbound`]: hand a delivery to its inbox's adapter.
//! - [`visitor`]: what a customer on the Client API may see.
//! - [`email`]: one raw email through the email adapter and [`inbound`].
//! - [`automation`]: automation rules and macros; [`auto_replies`] (greeting, out of office),
//!   [`sla`] (policies and their clocks) and [`surveys`] (CSAT/NPS) — all run by the
//!   automation consumer inside its transaction, so each happens once per event.
//! - [`transcription`]: voicemails put into words by the AI assistant's model, queued by the
//!   automation consumer and asked for by a timer.

pub mod adapters;
pub mod assistant;
pub mod auto_replies;
pub mod automation;
pub mod contact_import;
pub mod conversations;
pub mod digest;
pub mod email;
pub mod faq_bot;
pub mod inbound;
pub mod journeys;
pub mod media;
pub mod notifications;
pub mod outbound;
pub mod privacy;
pub mod providers;
pub mod routing;
pub mod sla;
pub mod surveys;
pub mod system_mail;
pub mod threading;
pub mod touchpoints;
pub mod transcription;
pub mod visitor;
pub mod voice;
pub mod web_calls;

pub use inbound::{Ingested, Received};
pub use threading::ThreadedBy;
