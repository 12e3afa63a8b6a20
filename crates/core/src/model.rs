//! The records of the domain, as the store hands them out.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Millis;
use crate::conversation::{Priority, Status};
use crate::identity::AddressKind;
use crate::message::{ContentType, DeliveryStatus, MessageType, SenderType};
use crate::role::Role;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub id: i64,
    pub name: String,
    pub locale: String,
    pub domain: Option<String>,
    pub support_email: Option<String>,
    pub status: String,
    pub settings: Value,
    pub custom_attributes: Value,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl Account {
    /// Account setting: continue a contact's open conversation whatever channel they write
    /// from (on by default).
    pub fn continues_across_channels(&self) -> bool {
        self.settings
            .get("continue_across_channels")
            .and_then(Value::as_bool)
            .unwrap_or(true)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
    pub message_signature: Option<String>,
    pub ui_settings: Value,
    pub custom_attributes: Value,
    pub locale: Option<String>,
    pub pubsub_token: String,
    /// When the user first signed in (or accepted an invitation): Chatwoot's `confirmed`.
    #[serde(default)]
    pub confirmed_at: Option<Millis>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl User {
    /// Chatwoot's `available_name`: the display name when set, else the name.
    pub fn available_name(&self) -> &str {
        self.display_name
            .as_deref()
            .filter(|s| !s.is_empty())
            .unwrap_or(&self.name)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    Online,
    Busy,
    Offline,
}

impl Availability {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Online => "online",
            Self::Busy => "busy",
            Self::Offline => "offline",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "online" | "available" => Self::Online,
            "busy" => Self::Busy,
            "offline" => Self::Offline,
            _ => return None,
        })
    }
}

/// A user's place in one account.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Membership {
    pub account_id: i64,
    pub user_id: i64,
    pub role: Role,
    pub availability: Availability,
    pub auto_offline: bool,
    pub created_at: Millis,
    /// When an administrator deactivated the agent here; the account refuses them until
    /// reactivated.
    pub deactivated_at: Option<Millis>,
}

/// A user together with their membership in the account being looked at.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    pub user: User,
    pub membership: Membership,
}

/// An account's invitation of an existing user, waiting for that user to accept or decline.
/// `email` and `name` are what the inviter typed; `id` is also the pending agent's id.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Invitation {
    pub id: i64,
    pub account_id: i64,
    pub user_id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub availability: Availability,
    pub auto_offline: bool,
    pub inviter_id: Option<i64>,
    pub created_at: Millis,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgentBot {
    pub id: i64,
    pub account_id: Option<i64>,
    pub name: String,
    pub description: Option<String>,
    pub outgoing_url: Option<String>,
    /// Chatwoot's `webhook` (events go to `outgoing_url`), or Throughline's `faq` (answers
    /// from a help center on its own).
    pub bot_type: String,
    /// The built-in bot's settings (`faq`: its portal).
    pub bot_config: serde_json::Value,
    pub created_at: Millis,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Team {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub description: Option<String>,
    pub allow_auto_assign: bool,
    pub created_at: Millis,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ChannelType {
    Api,
    WebWidget,
    Email,
    Sms,
    Whatsapp,
    Telegram,
    FacebookPage,
    Instagram,
    Voice,
}

impl ChannelType {
    pub const ALL: [ChannelType; 9] = [
        Self::Api,
        Self::WebWidget,
        Self::Email,
        Self::Sms,
        Self::Whatsapp,
        Self::Telegram,
        Self::FacebookPage,
        Self::Instagram,
        Self::Voice,
    ];

    /// Chatwoot's class name, as the API shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Api => "Channel::Api",
            Self::WebWidget => "Channel::WebWidget",
            Self::Email => "Channel::Email",
            Self::Sms => "Channel::Sms",
            Self::Whatsapp => "Channel::Whatsapp",
            Self::Telegram => "Channel::Telegram",
            Self::FacebookPage => "Channel::FacebookPage",
            Self::Instagram => "Channel::Instagram",
            Self::Voice => "Channel::Voice",
        }
    }

    /// Accepts the class name or the short `type` Chatwoot's inbox-creation payload uses.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s || c.short_name() == s)
    }

    pub fn short_name(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::WebWidget => "web_widget",
            Self::Email => "email",
            Self::Sms => "sms",
            Self::Whatsapp => "whatsapp",
            Self::Telegram => "telegram",
            Self::FacebookPage => "facebook_page",
            Self::Instagram => "instagram",
            Self::Voice => "voice",
        }
    }

    /// The kind of address this channel's identities carry.
    pub fn address_kind(self) -> AddressKind {
        match self {
            Self::Api => AddressKind::ApiSource,
            Self::WebWidget => AddressKind::WebVisitor,
            Self::Email => AddressKind::Email,
            Self::Sms | Self::Voice => AddressKind::Phone,
            Self::Whatsapp => AddressKind::WhatsApp,
            Self::Telegram => AddressKind::Telegram,
            Self::FacebookPage => AddressKind::Messenger,
            Self::Instagram => AddressKind::Instagram,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Inbox {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub channel_type: ChannelType,
    /// The public identifier used by the Client API and the widget.
    pub identifier: String,
    pub avatar_url: Option<String>,
    pub greeting_enabled: bool,
    pub greeting_message: Option<String>,
    pub enable_auto_assignment: bool,
    /// Chatwoot's `auto_assignment_config.max_assignment_limit`: auto-assignment gives an
    /// agent no more than this many open conversations of the inbox.
    pub auto_assignment_limit: Option<i64>,
    pub allow_messages_after_resolved: bool,
    pub lock_to_single_conversation: bool,
    pub hmac_mandatory: bool,
    /// The inbox's HMAC secret for identity verification (unsealed by the store).
    pub hmac_token: String,
    /// API channel: where outgoing messages are POSTed.
    pub webhook_url: Option<String>,
    /// Region used to read national phone numbers (e.g. "BR").
    pub default_country: Option<String>,
    /// Channel- and widget-specific settings (welcome texts, colours, working hours…).
    pub settings: Value,
    pub created_at: Millis,
    pub updated_at: Millis,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub email: Option<String>,
    pub phone_number: Option<String>,
    pub identifier: Option<String>,
    pub avatar_url: Option<String>,
    pub blocked: bool,
    pub custom_attributes: Value,
    pub additional_attributes: Value,
    pub last_activity_at: Option<Millis>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// An identity of a contact in one inbox (Chatwoot's `contact_inbox`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    pub id: i64,
    pub account_id: i64,
    pub contact_id: i64,
    pub inbox_id: i64,
    pub source_id: String,
    pub address_kind: Option<AddressKind>,
    pub address: Option<String>,
    pub hmac_verified: bool,
    /// The address was proven (delivered by the provider, signed, or posted with an API token),
    /// so it may link this identity to a contact with the same address.
    pub address_proven: bool,
    pub pubsub_token: String,
    pub created_at: Millis,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    pub id: i64,
    pub account_id: i64,
    /// The number the API and the agents see; unique per account.
    pub display_id: i64,
    pub uuid: String,
    pub contact_id: i64,
    /// The inbox the conversation started in. Each message records its own inbox.
    pub inbox_id: i64,
    pub identity_id: Option<i64>,
    pub status: Status,
    pub snoozed_until: Option<Millis>,
    pub priority: Option<Priority>,
    pub assignee_id: Option<i64>,
    pub team_id: Option<i64>,
    pub custom_attributes: Value,
    pub additional_attributes: Value,
    pub waiting_since: Option<Millis>,
    pub first_reply_created_at: Option<Millis>,
    pub last_activity_at: Millis,
    pub agent_last_seen_at: Option<Millis>,
    pub assignee_last_seen_at: Option<Millis>,
    pub contact_last_seen_at: Option<Millis>,
    pub muted: bool,
    /// The conversation this one continues (a customer wrote after the re-open window).
    pub previous_conversation_id: Option<i64>,
    /// When it was last resolved; the re-open window counts from here.
    pub resolved_at: Option<Millis>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub id: i64,
    pub account_id: i64,
    pub conversation_id: i64,
    /// The inbox (channel) this message travelled through.
    pub inbox_id: i64,
    /// The identity it came from or went to, when the channel has one.
    pub identity_id: Option<i64>,
    pub message_type: MessageType,
    pub content: Option<String>,
    pub content_type: ContentType,
    pub content_attributes: Value,
    pub additional_attributes: Value,
    pub private: bool,
    pub status: DeliveryStatus,
    pub external_error: Option<String>,
    /// The provider's id for this message; unique per inbox, so retries are recognised.
    pub source_id: Option<String>,
    pub sender_type: Option<SenderType>,
    pub sender_id: Option<i64>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    pub id: i64,
    pub account_id: i64,
    pub message_id: i64,
    pub file_type: String,
    pub content_type: Option<String>,
    pub file_name: Option<String>,
    pub byte_size: i64,
    pub blob_key: Option<String>,
    pub external_url: Option<String>,
    pub created_at: Millis,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Label {
    pub id: i64,
    pub account_id: i64,
    pub title: String,
    pub description: Option<String>,
    pub color: String,
    pub show_on_sidebar: bool,
    pub created_at: Millis,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CannedResponse {
    pub id: i64,
    pub account_id: i64,
    pub short_code: String,
    pub content: String,
    pub created_at: Millis,
    pub updated_at: Millis,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttributeModel {
    ConversationAttribute,
    ContactAttribute,
}

impl AttributeModel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ConversationAttribute => "conversation_attribute",
            Self::ContactAttribute => "contact_attribute",
        }
    }

    /// Chatwoot accepts the name or its enum index (0 conversation, 1 contact).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "conversation_attribute" | "0" => Self::ConversationAttribute,
            "contact_attribute" | "1" => Self::ContactAttribute,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CustomAttributeDefinition {
    pub id: i64,
    pub account_id: i64,
    pub attribute_model: AttributeModel,
    pub attribute_key: String,
    pub attribute_display_name: String,
    pub attribute_display_type: String,
    pub attribute_description: Option<String>,
    pub attribute_values: Value,
    pub default_value: Option<String>,
    pub regex_pattern: Option<String>,
    pub regex_cue: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

pub const ATTRIBUTE_DISPLAY_TYPES: [&str; 8] = [
    "text", "number", "currency", "percent", "link", "date", "list", "checkbox",
];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Webhook {
    pub id: i64,
    pub account_id: i64,
    pub inbox_id: Option<i64>,
    pub url: String,
    pub name: Option<String>,
    pub subscriptions: Vec<String>,
    /// Signing secret (unsealed by the store).
    pub secret: String,
    pub created_at: Millis,
    pub updated_at: Millis,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    Pending,
    Delivered,
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "delivered" => Self::Delivered,
            "failed" => Self::Failed,
            _ => return None,
        })
    }
}

/// One event's delivery to one HTTP target (an account webhook or an API inbox's callback).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: String,
    pub account_id: i64,
    pub webhook_id: Option<i64>,
    pub inbox_id: Option<i64>,
    /// The message an API-channel callback carries, so its failure can be shown on it.
    pub message_id: Option<i64>,
    /// The agent bot an event goes to (at its `outgoing_url`, signed with its secret).
    pub agent_bot_id: Option<i64>,
    pub event_id: i64,
    pub event_name: String,
    pub url: String,
    pub payload: String,
    pub state: DeliveryState,
    pub attempts: i64,
    pub next_attempt_at: Option<Millis>,
    pub last_error: Option<String>,
    pub last_status_code: Option<i64>,
    pub delivered_at: Option<Millis>,
    pub created_at: Millis,
}

/// A note agents keep on a contact.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContactNote {
    pub id: i64,
    pub account_id: i64,
    pub contact_id: i64,
    pub user_id: Option<i64>,
    pub content: String,
    pub created_at: Millis,
    pub updated_at: Millis,
}
