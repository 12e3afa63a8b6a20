use serde_json::Value;

use crate::model::{Agent, AgentBot, Invitation, User};

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
        /// Throughline: when the agent was deactivated in this account (Unix seconds); absent
        /// while active.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub deactivated_at: Option<i64>,
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
        /// Throughline: accounts that invited this user, waiting for them to accept
        /// (`POST /api/v1/profile/invitations/{id}/accept`) or decline.
        pub pending_invitations: Vec<PendingInvitationView>,
        /// Two-factor authentication is on (sign-in asks for a code).
        pub mfa_enabled: bool,
        /// Throughline: an account requires two-factor authentication of this user, who has
        /// not turned it on: a browser session may only enrol (`/api/v1/profile/mfa`), and the
        /// access token is not shown until they have.
        pub mfa_enrollment_required: bool,
        /// Throughline: the user's own phone (E.164), rung for the phone calls the queue
        /// gives them.
        pub phone_number: Option<String>,
    }

    /// An invitation as the invited user sees it in their profile.
    pub struct PendingInvitationView {
        pub id: i64,
        pub account_id: i64,
        pub account_name: String,
        /// agent or administrator
        pub role: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub inviter_name: Option<String>,
        pub created_at: i64,
    }
}

impl From<&Agent> for AgentView {
    fn from(a: &Agent) -> Self {
        Self {
            id: a.user.id,
            account_id: a.membership.account_id,
            availability_status: a.membership.availability.as_str().into(),
            auto_offline: a.membership.auto_offline,
            confirmed: a.user.confirmed_at.is_some(),
            email: a.user.email.clone(),
            available_name: a.user.available_name().into(),
            name: a.user.name.clone(),
            role: a.membership.role.as_str().into(),
            thumbnail: avatar(&a.user.avatar_url),
            deactivated_at: a.membership.deactivated_at.map(crate::to_unix_seconds),
        }
    }
}

/// A pending invitation as the inviting account lists it: only what its administrator typed,
/// shaped exactly like a brand-new agent who has not signed in yet.
impl From<&Invitation> for AgentView {
    fn from(i: &Invitation) -> Self {
        Self {
            id: i.id,
            account_id: i.account_id,
            availability_status: i.availability.as_str().into(),
            auto_offline: i.auto_offline,
            confirmed: false,
            email: i.email.clone(),
            available_name: i.name.clone(),
            name: i.name.clone(),
            role: i.role.as_str().into(),
            thumbnail: String::new(),
            deactivated_at: None,
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
