//! Entry points for the fuzz targets (`fuzz/`): outside input parsed exactly as the handlers
//! parse it, so a crash found there is a crash a request could cause.

use crate::extract::json;
use crate::routes::{messages, public};

/// The JSON (and form) bodies customers' widgets and integrations send to the Client API, and the body of
/// `POST …/messages` on the Application API. Errors are fine; panics are not.
pub fn client_api_bodies(bytes: &[u8]) {
    let _ = json::parse::<public::PublicContactBody>(bytes);
    let _ = json::parse::<public::PublicConversationBody>(bytes);
    let _ = json::parse::<public::PublicMessageBody>(bytes);
    let _ = json::parse::<messages::NewMessageBody>(bytes);
    // The same bodies sent as forms (Rails's nested keys, values cast to the fields' types).
    let _ = json::parse_form::<public::PublicContactBody>(bytes);
    let _ = json::parse_form::<public::PublicConversationBody>(bytes);
    let _ = json::parse_form::<public::PublicMessageBody>(bytes);
    let _ = json::parse_form::<messages::NewMessageBody>(bytes);
}
