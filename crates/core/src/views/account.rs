use serde_json::Value;

use super::iso8601;
use crate::model::{
    Account, AttributeModel, CannedResponse, CustomAttributeDefinition, Label, Team, Webhook,
};

view! {
    /// `{id, name}`: how webhooks and the platform API show an account.
    pub struct AccountRef {
        pub id: i64,
        pub name: String,
    }

    /// `GET /api/v1/accounts/{id}` (Chatwoot's `account_detail`).
    pub struct AccountView {
        pub id: i64,
        pub name: String,
        pub locale: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub domain: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub support_email: Option<String>,
        pub status: String,
        pub created_at: String,
        #[cfg_attr(feature = "openapi", schema(value_type = Object))]
        pub settings: Value,
        #[cfg_attr(feature = "openapi", schema(value_type = Object))]
        pub custom_attributes: Value,
        pub features: Vec<String>,
        #[cfg_attr(feature = "openapi", schema(value_type = Object))]
        pub cache_keys: Value,
    }

    pub struct TeamView {
        pub id: i64,
        pub name: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub description: Option<String>,
        pub allow_auto_assign: bool,
        pub account_id: i64,
        pub is_member: bool,
    }

    pub struct LabelView {
        pub id: i64,
        pub title: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub description: Option<String>,
        pub color: String,
        pub show_on_sidebar: bool,
    }

    pub struct CannedResponseView {
        pub id: i64,
        pub account_id: i64,
        pub short_code: String,
        pub content: String,
        pub created_at: String,
        pub updated_at: String,
    }

    pub struct CustomAttributeView {
        pub id: i64,
        pub attribute_display_name: String,
        pub attribute_display_type: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub attribute_description: Option<String>,
        pub attribute_key: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub regex_pattern: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub regex_cue: Option<String>,
        /// Options of a list attribute. The contract types it as a string; Chatwoot sends the
        /// array, and so do we.
        #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
        pub attribute_values: Value,
        pub attribute_model: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub default_value: Option<String>,
        pub created_at: String,
        pub updated_at: String,
    }

    pub struct WebhookView {
        pub id: i64,
        pub url: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub name: Option<String>,
        pub subscriptions: Vec<String>,
        pub account_id: i64,
        /// The signing secret, shown to administrators so receivers can verify signatures.
        pub secret: String,
    }
}

impl From<&Account> for AccountRef {
    fn from(a: &Account) -> Self {
        Self {
            id: a.id,
            name: a.name.clone(),
        }
    }
}

impl From<&Account> for AccountView {
    fn from(a: &Account) -> Self {
        Self {
            id: a.id,
            name: a.name.clone(),
            locale: a.locale.clone(),
            domain: a.domain.clone(),
            support_email: a.support_email.clone(),
            status: a.status.clone(),
            created_at: iso8601(a.created_at),
            settings: a.settings.clone(),
            custom_attributes: a.custom_attributes.clone(),
            features: vec!["continue_across_channels".into()],
            cache_keys: serde_json::json!({}),
        }
    }
}

impl TeamView {
    pub fn new(team: &Team, is_member: bool) -> Self {
        Self {
            id: team.id,
            name: team.name.clone(),
            description: team.description.clone(),
            allow_auto_assign: team.allow_auto_assign,
            account_id: team.account_id,
            is_member,
        }
    }
}

impl From<&Label> for LabelView {
    fn from(l: &Label) -> Self {
        Self {
            id: l.id,
            title: l.title.clone(),
            description: l.description.clone(),
            color: l.color.clone(),
            show_on_sidebar: l.show_on_sidebar,
        }
    }
}

impl From<&CannedResponse> for CannedResponseView {
    fn from(c: &CannedResponse) -> Self {
        Self {
            id: c.id,
            account_id: c.account_id,
            short_code: c.short_code.clone(),
            content: c.content.clone(),
            created_at: iso8601(c.created_at),
            updated_at: iso8601(c.updated_at),
        }
    }
}

impl From<&CustomAttributeDefinition> for CustomAttributeView {
    fn from(d: &CustomAttributeDefinition) -> Self {
        Self {
            id: d.id,
            attribute_display_name: d.attribute_display_name.clone(),
            attribute_display_type: d.attribute_display_type.clone(),
            attribute_description: d.attribute_description.clone(),
            attribute_key: d.attribute_key.clone(),
            regex_pattern: d.regex_pattern.clone(),
            regex_cue: d.regex_cue.clone(),
            attribute_values: d.attribute_values.clone(),
            attribute_model: match d.attribute_model {
                AttributeModel::ConversationAttribute => "conversation_attribute".into(),
                AttributeModel::ContactAttribute => "contact_attribute".into(),
            },
            default_value: d.default_value.clone(),
            created_at: iso8601(d.created_at),
            updated_at: iso8601(d.updated_at),
        }
    }
}

impl From<&Webhook> for WebhookView {
    fn from(w: &Webhook) -> Self {
        Self {
            id: w.id,
            url: w.url.clone(),
            name: w.name.clone(),
            subscriptions: w.subscriptions.clone(),
            account_id: w.account_id,
            secret: w.secret.clone(),
        }
    }
}
