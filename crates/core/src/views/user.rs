use serde_json::Value;

use crate::model::{Agent, AgentBot, User};

/// Gravatar-free placeholder: Throughline makes no request to third parties for avatars.
pub(crate) fn avatar(url: &Option<String>) -> String {
    url.clone().unwrap_or_default()
}

view! {
    /// An agent as `GET /agents` lists it (Chatwoot's `agent`).
    pub struct AgentView {
        pub id: i64,
        pub account_id: i64,
        /// online, busy or offline.
        pub availability_status: String,
        pub auto_offline: bool,
        pub confirmed: bool,
        pub email: String,
        pub available_name: String,
        pub name: String,
        pub role: String,
        pub thumbnail: String,
    }

    /// A user as embedded in conversations and messages (`push_event_data`).
    pub struct UserSummary {
        pub id: i64,
        pub name: String,
        pub available_name: String,
        pub avatar_url: String,
        #[serde(rename = "type")]
        pub kind: String,
        pub availability_status: String,
        pub thumbnail: String,
    }

    /// An agent bot as embedded in messages it sent.
    pub struct AgentBotSummary {
        pub id: i64,
        pub name: String,
        pub avatar_url: String,
        #[serde(rename = "type")]
        pub kind: String,
    }

    /// One account of a user, as the profile and sign-in list them.
    pub struct UserAccountView {
        pub id: i64,
        pub name: String,
        pub status: String,
        pub role: String,
        pub availability: String,
        pub availability_status: String,
        pub auto_offline: bool,
        pub permissions: Vec<String>,
    }

    /// `GET /api/v1/profile` and the platform API's user (Chatwoot's `user`).
    pub struct ProfileView {
        pub id: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub access_token: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub account_id: Option<i64>,
        pub available_name: String,
        pub avatar_url: String,
        pub confirmed: bool,
        pub display_name: Option<String>,
        pub message_signature: Option<String>,
        pub email: String,
        pub name: String,
        pub provider: String,
        pub pubsub_token: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub role: Option<String>,
        #[cfg_attr(feature = "openapi", schema(value_type = Object))]
        pub ui_settings: Value,
        pub uid: String,
        #[serde(rename = "type")]
        pub kind: Option<String>,
        #[cfg_attr(feature = "openapi", schema(value_type = Object))]
        pub custom_attributes: Value,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub locale: Option<String>,
        pub accounts: Vec<UserAccountView>,
    }
}

impl From<&Agent> for AgentView {
    fn from(a: &Agent) -> Self {
        Self {
            id: a.user.id,
            account_id: a.membership.account_id,
            availability_status: a.membership.availability.as_str().into(),
            auto_offline: a.membership.auto_offline,
            confirmed: true,
            email: a.user.email.clone(),
            available_name: a.user.available_name().into(),
            name: a.user.name.clone(),
            role: a.membership.role.as_str().into(),
            thumbnail: avatar(&a.user.avatar_url),
        }
    }
}

impl UserSummary {
    pub fn new(user: &User, availability: &str) -> Self {
        Self {
            id: user.id,
            name: user.name.clone(),
            available_name: user.available_name().into(),
            avatar_url: avatar(&user.avatar_url),
            kind: "user".into(),
            availability_status: availability.into(),
            thumbnail: avatar(&user.avatar_url),
        }
    }
}

impl From<&AgentBot> for AgentBotSummary {
    fn from(b: &AgentBot) -> Self {
        Self {
            id: b.id,
            name: b.name.clone(),
            avatar_url: String::new(),
            kind: "agent_bot".into(),
        }
    }
}
