use serde_json::Value;

use crate::model::Inbox;

view! {
    /// An inbox as the application API shows it (Chatwoot's `inbox`).
    pub struct InboxView {
        pub id: i64,
        pub account_id: i64,
        pub name: String,
        pub channel_type: String,
        /// Chatwoot links an inbox to a channel row; Throughline keeps the channel in the inbox,
        /// so this repeats the inbox id.
        pub channel_id: i64,
        pub avatar_url: String,
        pub greeting_enabled: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub greeting_message: Option<String>,
        pub enable_auto_assignment: bool,
        /// `{"max_assignment_limit": N}`, or `{}` without a limit (Chatwoot's shape).
        #[cfg_attr(feature = "openapi", schema(value_type = Object))]
        pub auto_assignment_config: Value,
        pub allow_messages_after_resolved: bool,
        pub lock_to_single_conversation: bool,
        pub hmac_mandatory: bool,
        /// The identity-verification secret; present for administrators only.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub hmac_token: Option<String>,
        /// API channel: the secret its callbacks are signed with (`X-Chatwoot-Signature`, as
        /// Chatwoot 4.13 signs them); present for administrators only.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub secret: Option<String>,
        /// The Client API's inbox identifier.
        pub inbox_identifier: String,
        /// API channel: where Throughline posts outgoing messages.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub webhook_url: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub default_country: Option<String>,
        pub working_hours_enabled: bool,
        pub enable_email_collect: bool,
        pub csat_survey_enabled: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub timezone: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub widget_color: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub website_url: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub welcome_title: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub welcome_tagline: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub out_of_office_message: Option<String>,
        #[cfg_attr(feature = "openapi", schema(value_type = Object))]
        pub settings: Value,
        /// Email inboxes: the address and SMTP/IMAP settings (administrators see the server
        /// settings; passwords are never shown).
        #[serde(flatten, skip_serializing_if = "Option::is_none")]
        pub email_channel: Option<EmailChannelView>,
        /// Website inboxes: the embed snippet, pre-chat form, allowed domains and attachment
        /// limits.
        #[serde(flatten, skip_serializing_if = "Option::is_none")]
        pub widget_channel: Option<WidgetChannelView>,
        /// SMS, WhatsApp, Telegram, Messenger and Instagram inboxes: the provider's identifiers
        /// as Chatwoot names them (`provider`, `phone_number`, `provider_config`,
        /// `message_templates`…), the URL to paste at the provider (`provider_webhook_url`);
        /// never a token or secret.
        #[serde(flatten, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
        pub provider_channel: Option<serde_json::Map<String, Value>>,
    }

    /// The website chat channel's fields on an inbox (Chatwoot's names, plus Throughline's
    /// `allowed_domains` and attachment limits).
    pub struct WidgetChannelView {
        /// One line to paste into the site's pages.
        pub web_widget_script: String,
        pub pre_chat_form_enabled: bool,
        #[cfg_attr(feature = "openapi", schema(value_type = Object))]
        pub pre_chat_form_options: Value,
        /// Host names whose pages may embed the widget (`*.example.com` for subdomains); empty
        /// means any site.
        pub allowed_domains: Vec<String>,
        pub max_attachment_size_mb: u64,
        /// Accepted attachment types (`image/*` families allowed); empty accepts any.
        pub allowed_attachment_types: Vec<String>,
        /// Throughline: calls from the widget (`enabled`, `video`, `ring_seconds`,
        /// `ice_servers`).
        #[cfg_attr(feature = "openapi", schema(value_type = Object))]
        pub web_calls: Value,
    }

    /// The email channel's fields, as Chatwoot names them on an inbox.
    pub struct EmailChannelView {
        pub email: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub forward_to_email: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub signature: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub smtp_enabled: Option<bool>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub smtp_address: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub smtp_port: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub smtp_login: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub smtp_domain: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub smtp_enable_ssl_tls: Option<bool>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub smtp_enable_starttls_auto: Option<bool>,
        /// Whether a password is stored (it is never returned).
        #[serde(skip_serializing_if = "Option::is_none")]
        pub smtp_password_set: Option<bool>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub imap_enabled: Option<bool>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub imap_address: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub imap_port: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub imap_login: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub imap_enable_ssl: Option<bool>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub imap_password_set: Option<bool>,
    }

    /// An inbox as embedded in a contact's identities (`contact_inbox.inbox`).
    pub struct InboxSummary {
        pub id: i64,
        pub name: String,
        pub channel_type: String,
        pub channel_id: i64,
        pub avatar_url: String,
    }

    /// `GET /public/api/v1/inboxes/{identifier}`.
    pub struct PublicInboxView {
        pub identifier: String,
        pub name: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub timezone: Option<String>,
        #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
        pub working_hours: Value,
        pub working_hours_enabled: bool,
        pub csat_survey_enabled: bool,
        pub greeting_enabled: bool,
        pub identity_validation_enabled: bool,
        /// Throughline: an agent who works this inbox is online now (the widget offers to
        /// collect an email otherwise).
        pub agents_online: bool,
        /// Throughline: within the inbox's business hours now (always, without hours).
        pub open_now: bool,
        /// Throughline: when it next opens (Unix seconds), while closed.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub opens_at: Option<i64>,
        /// Website inboxes: what the widget needs to draw itself.
        #[serde(flatten, skip_serializing_if = "Option::is_none")]
        pub widget: Option<PublicWidgetView>,
    }

    /// The widget's configuration, as the public inbox endpoint gives it to the widget.
    pub struct PublicWidgetView {
        #[serde(skip_serializing_if = "Option::is_none")]
        pub widget_color: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub welcome_title: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub welcome_tagline: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub greeting_message: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub reply_time: Option<String>,
        /// Ask for an email when no agent is online.
        pub enable_email_collect: bool,
        pub pre_chat_form_enabled: bool,
        #[cfg_attr(feature = "openapi", schema(value_type = Object))]
        pub pre_chat_form_options: Value,
        pub attachments: PublicAttachmentLimits,
        /// The agents who answer here: names and pictures only.
        pub agents: Vec<PublicAgentView>,
        /// Throughline: the help center the widget's help tab searches, when a portal names
        /// this inbox.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub help_center: Option<PublicHelpCenter>,
        /// Throughline: an agent bot listens to this inbox, so the widget tells it when the
        /// visitor opens the chat (`webwidget_triggered`), contact or not yet.
        pub agent_bot: bool,
        /// Throughline: visitors may call from the widget (`video`: with their camera).
        #[serde(skip_serializing_if = "Option::is_none")]
        pub web_calls: Option<PublicWebCalls>,
    }

    /// Calls from the widget as the widget reads them.
    pub struct PublicWebCalls {
        /// Visitors may call from the browser.
        pub calls: bool,
        /// With their camera.
        pub video: bool,
        /// Visitors may ask to be called back on the phone.
        pub callbacks: bool,
    }

    /// A portal as the widget reads it: where its articles are (`/hc/{slug}/{locale}/…`).
    pub struct PublicHelpCenter {
        pub slug: String,
        pub name: String,
        pub default_locale: String,
        pub locales: Vec<String>,
        /// The portal's logo, when it has one.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub logo_url: Option<String>,
    }

    pub struct PublicAttachmentLimits {
        pub max_size_bytes: u64,
        /// Accepted types (`image/*` families allowed); empty accepts any.
        pub allowed_types: Vec<String>,
    }

    /// An agent as a visitor may see them.
    pub struct PublicAgentView {
        pub id: i64,
        pub name: String,
        pub avatar_url: String,
        /// online, busy or offline.
        pub availability_status: String,
    }
}

fn setting_str(settings: &Value, key: &str) -> Option<String> {
    settings.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn setting_bool(settings: &Value, key: &str) -> bool {
    settings.get(key).and_then(Value::as_bool).unwrap_or(false)
}

impl InboxView {
    pub fn new(inbox: &Inbox, show_secrets: bool) -> Self {
        let s = &inbox.settings;
        Self {
            id: inbox.id,
            account_id: inbox.account_id,
            name: inbox.name.clone(),
            channel_type: inbox.channel_type.as_str().into(),
            channel_id: inbox.id,
            avatar_url: super::user::avatar(&inbox.avatar_url),
            greeting_enabled: inbox.greeting_enabled,
            greeting_message: inbox.greeting_message.clone(),
            enable_auto_assignment: inbox.enable_auto_assignment,
            auto_assignment_config: match inbox.auto_assignment_limit {
                Some(limit) => serde_json::json!({"max_assignment_limit": limit}),
                None => serde_json::json!({}),
            },
            allow_messages_after_resolved: inbox.allow_messages_after_resolved,
            lock_to_single_conversation: inbox.lock_to_single_conversation,
            hmac_mandatory: inbox.hmac_mandatory,
            hmac_token: show_secrets.then(|| inbox.hmac_token.clone()),
            secret: None,
            inbox_identifier: inbox.identifier.clone(),
            webhook_url: inbox.webhook_url.clone(),
            default_country: inbox.default_country.clone(),
            working_hours_enabled: setting_bool(s, "working_hours_enabled"),
            enable_email_collect: setting_bool(s, "enable_email_collect"),
            csat_survey_enabled: setting_bool(s, "csat_survey_enabled"),
            timezone: setting_str(s, "timezone"),
            widget_color: setting_str(s, "widget_color"),
            website_url: setting_str(s, "website_url"),
            welcome_title: setting_str(s, "welcome_title"),
            welcome_tagline: setting_str(s, "welcome_tagline"),
            out_of_office_message: setting_str(s, "out_of_office_message"),
            settings: s.clone(),
            email_channel: None,
            widget_channel: None,
            provider_channel: None,
        }
    }
}

impl From<&Inbox> for InboxSummary {
    fn from(inbox: &Inbox) -> Self {
        Self {
            id: inbox.id,
            name: inbox.name.clone(),
            channel_type: inbox.channel_type.as_str().into(),
            channel_id: inbox.id,
            avatar_url: super::user::avatar(&inbox.avatar_url),
        }
    }
}

impl From<&Inbox> for PublicInboxView {
    fn from(inbox: &Inbox) -> Self {
        let s = &inbox.settings;
        Self {
            identifier: inbox.identifier.clone(),
            name: inbox.name.clone(),
            timezone: setting_str(s, "timezone"),
            working_hours: s
                .get("working_hours")
                .cloned()
                .unwrap_or_else(|| Value::Array(vec![])),
            working_hours_enabled: setting_bool(s, "working_hours_enabled"),
            csat_survey_enabled: setting_bool(s, "csat_survey_enabled"),
            greeting_enabled: inbox.greeting_enabled,
            identity_validation_enabled: inbox.hmac_mandatory,
            agents_online: false,
            open_now: true,
            opens_at: None,
            widget: None,
        }
    }
}

fn pre_chat_options(settings: &Value) -> Value {
    settings
        .get("pre_chat_form_options")
        .cloned()
        .unwrap_or_else(|| serde_json::json!({"pre_chat_fields": []}))
}

impl WidgetChannelView {
    /// `public_url` is where this server is reached (the snippet loads `/widget.js` from it);
    /// `upload_limit` the server's largest upload in bytes.
    pub fn new(inbox: &Inbox, public_url: &str, upload_limit: u64) -> Self {
        let s = &inbox.settings;
        let policy = crate::widget::AttachmentPolicy::of(inbox, upload_limit);
        Self {
            web_widget_script: format!(
                "<script async src=\"{}/widget.js\" data-inbox=\"{}\"></script>",
                public_url.trim_end_matches('/'),
                inbox.identifier
            ),
            pre_chat_form_enabled: setting_bool(s, "pre_chat_form_enabled"),
            pre_chat_form_options: pre_chat_options(s),
            allowed_domains: crate::widget::domains_of(inbox),
            max_attachment_size_mb: policy.max_bytes.div_ceil(1024 * 1024),
            allowed_attachment_types: policy.types,
            web_calls: serde_json::to_value(crate::voice::web_call::WebCallSettings::of(inbox))
                .unwrap_or(Value::Null),
        }
    }
}

impl PublicWidgetView {
    pub fn new(inbox: &Inbox, upload_limit: u64, agents: Vec<PublicAgentView>) -> Self {
        let s = &inbox.settings;
        let policy = crate::widget::AttachmentPolicy::of(inbox, upload_limit);
        Self {
            widget_color: setting_str(s, "widget_color"),
            welcome_title: setting_str(s, "welcome_title"),
            welcome_tagline: setting_str(s, "welcome_tagline"),
            greeting_message: inbox
                .greeting_enabled
                .then(|| inbox.greeting_message.clone())
                .flatten(),
            reply_time: setting_str(s, "reply_time"),
            enable_email_collect: setting_bool(s, "enable_email_collect"),
            pre_chat_form_enabled: setting_bool(s, "pre_chat_form_enabled"),
            pre_chat_form_options: pre_chat_options(s),
            attachments: PublicAttachmentLimits {
                max_size_bytes: policy.max_bytes,
                allowed_types: policy.types,
            },
            agents,
            help_center: None,
            agent_bot: false,
            web_calls: {
                let calls = crate::voice::web_call::WebCallSettings::of(inbox);
                (calls.enabled || calls.callbacks).then_some(PublicWebCalls {
                    calls: calls.enabled,
                    video: calls.enabled && calls.video,
                    callbacks: calls.callbacks,
                })
            },
        }
    }
}

impl PublicAgentView {
    pub fn new(user: &crate::model::User, availability_status: &str) -> Self {
        Self {
            id: user.id,
            name: user.available_name().to_owned(),
            avatar_url: super::user::avatar(&user.avatar_url),
            availability_status: availability_status.to_owned(),
        }
    }
}
