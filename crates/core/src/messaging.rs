//! A messaging inbox's provider settings as plain data (Twilio SMS/WhatsApp, WhatsApp Cloud,
//! Telegram, a Facebook page, an Instagram account). The store keeps them sealed and finds an
//! inbox by the key its provider's webhook names; the channel adapters speak the provider's
//! protocol with them. Secrets are never part of a view.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::Millis;
use crate::model::ChannelType;

/// Which provider an inbox talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    Twilio,
    WhatsappCloud,
    Telegram,
    FacebookPage,
    Instagram,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Twilio => "twilio",
            Self::WhatsappCloud => "whatsapp_cloud",
            Self::Telegram => "telegram",
            Self::FacebookPage => "facebook_page",
            Self::Instagram => "instagram",
        }
    }
}

/// Twilio carries SMS and WhatsApp over one API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TwilioMedium {
    Sms,
    Whatsapp,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwilioSettings {
    pub account_sid: String,
    /// Signs Twilio's webhooks; also the API password unless an API key is given.
    pub auth_token: String,
    pub api_key_sid: Option<String>,
    pub api_key_secret: Option<String>,
    /// E.164, when the inbox sends from a number.
    pub phone_number: Option<String>,
    pub messaging_service_sid: Option<String>,
    pub medium: TwilioMedium,
}

/// A WhatsApp Business message template, as the Business Management API lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MessageTemplate {
    pub name: String,
    pub language: String,
    pub category: Option<String>,
    pub status: String,
    /// The template's components (header, body with `{{1}}` parameters, footer, buttons).
    pub components: Value,
}

impl MessageTemplate {
    /// How many `{{n}}` parameters the body asks for.
    pub fn body_parameters(&self) -> usize {
        let body = self
            .components
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| {
                c["type"]
                    .as_str()
                    .is_some_and(|t| t.eq_ignore_ascii_case("body"))
            })
            .and_then(|c| c["text"].as_str())
            .unwrap_or_default();
        let mut highest = 0;
        let mut rest = body;
        while let Some(start) = rest.find("{{") {
            rest = &rest[start + 2..];
            let Some(end) = rest.find("}}") else { break };
            if let Ok(n) = rest[..end].trim().parse::<usize>() {
                highest = highest.max(n);
            }
            rest = &rest[end + 2..];
        }
        highest
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WhatsappCloudSettings {
    /// The business number, E.164 (the webhook path names it).
    pub phone_number: String,
    pub phone_number_id: String,
    pub business_account_id: String,
    /// The system user's access token.
    pub api_key: String,
    /// Echoed back in Meta's `hub.verify_token` handshake.
    pub webhook_verify_token: String,
    /// Meta signs webhooks with the app's secret; the instance-wide one when absent.
    pub app_secret: Option<String>,
    #[serde(default)]
    pub templates: Vec<MessageTemplate>,
    pub templates_synced_at: Option<Millis>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TelegramSettings {
    pub bot_token: String,
    /// Telegram sends it in `X-Telegram-Bot-Api-Secret-Token`; registered with `setWebhook`.
    pub secret_token: String,
    pub bot_name: Option<String>,
}

/// A Facebook page (Messenger) or an Instagram professional account linked to a page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaPageSettings {
    /// The page id (Messenger) or the Instagram account id (webhook `entry[].id`).
    pub page_id: String,
    pub page_access_token: String,
    pub app_secret: Option<String>,
    /// For Meta's subscription handshake; the instance-wide one when absent.
    pub verify_token: Option<String>,
}

/// One inbox's provider and its settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "provider", rename_all = "snake_case")]
pub enum ProviderSettings {
    Twilio(TwilioSettings),
    WhatsappCloud(WhatsappCloudSettings),
    Telegram(TelegramSettings),
    FacebookPage(MetaPageSettings),
    Instagram(MetaPageSettings),
}

impl ProviderSettings {
    pub fn provider(&self) -> Provider {
        match self {
            Self::Twilio(_) => Provider::Twilio,
            Self::WhatsappCloud(_) => Provider::WhatsappCloud,
            Self::Telegram(_) => Provider::Telegram,
            Self::FacebookPage(_) => Provider::FacebookPage,
            Self::Instagram(_) => Provider::Instagram,
        }
    }

    pub fn channel_type(&self) -> ChannelType {
        match self {
            Self::Twilio(t) if t.medium == TwilioMedium::Whatsapp => ChannelType::Whatsapp,
            Self::Twilio(_) => ChannelType::Sms,
            Self::WhatsappCloud(_) => ChannelType::Whatsapp,
            Self::Telegram(_) => ChannelType::Telegram,
            Self::FacebookPage(_) => ChannelType::FacebookPage,
            Self::Instagram(_) => ChannelType::Instagram,
        }
    }

    /// The key the provider's webhook names the inbox by: [`twilio_route`], [`whatsapp_route`], [`telegram_route`] or the page id.
    pub fn route_key(&self) -> String {
        match self {
            Self::Twilio(t) => match (&t.messaging_service_sid, &t.phone_number) {
                (Some(service), _) => twilio_route(&t.account_sid, service),
                (None, number) => twilio_route(
                    &t.account_sid,
                    &twilio_address(t.medium, number.as_deref().unwrap_or_default()),
                ),
            },
            Self::WhatsappCloud(w) => whatsapp_route(&w.phone_number),
            Self::Telegram(t) => telegram_route(&t.bot_token),
            Self::FacebookPage(m) | Self::Instagram(m) => m.page_id.clone(),
        }
    }

    /// The handshake token an admin pasted at Meta, for inboxes that have one.
    pub fn verify_token(&self) -> Option<&str> {
        match self {
            Self::WhatsappCloud(w) => Some(&w.webhook_verify_token),
            Self::FacebookPage(m) | Self::Instagram(m) => m.verify_token.as_deref(),
            _ => None,
        }
    }

    /// What the API shows: identifiers, never a token or secret.
    pub fn public_view(&self) -> Value {
        match self {
            Self::Twilio(t) => json!({
                "provider": "twilio",
                "account_sid": t.account_sid,
                "phone_number": t.phone_number,
                "messaging_service_sid": t.messaging_service_sid,
                "medium": t.medium,
                "uses_api_key": t.api_key_sid.is_some(),
            }),
            Self::WhatsappCloud(w) => json!({
                "provider": "whatsapp_cloud",
                "phone_number": w.phone_number,
                "provider_config": {
                    "phone_number_id": w.phone_number_id,
                    "business_account_id": w.business_account_id,
                    "webhook_verify_token": w.webhook_verify_token,
                    "has_app_secret": w.app_secret.is_some(),
                },
                "message_templates": w.templates,
                "message_templates_last_updated": w.templates_synced_at.map(crate::to_unix_seconds),
            }),
            Self::Telegram(t) => json!({
                "provider": "telegram",
                "bot_name": t.bot_name,
            }),
            Self::FacebookPage(m) | Self::Instagram(m) => json!({
                "provider": self.provider().as_str(),
                "page_id": m.page_id,
                "verify_token": m.verify_token,
                "has_app_secret": m.app_secret.is_some(),
            }),
        }
    }
}

/// Twilio's webhooks name the account and the number (`whatsapp:+1555…` for WhatsApp) or the
/// messaging service.
pub fn twilio_route(account_sid: &str, to: &str) -> String {
    format!("{account_sid}/{to}")
}

/// The address Twilio uses for a number on a medium.
pub fn twilio_address(medium: TwilioMedium, number: &str) -> String {
    match medium {
        TwilioMedium::Sms => number.to_owned(),
        TwilioMedium::Whatsapp => format!("whatsapp:{number}"),
    }
}

/// `/webhooks/whatsapp/{phone_number}`: digits only, so `+55 11…`, `5511…` and `%2B5511…`
/// all find the inbox.
pub fn whatsapp_route(phone: &str) -> String {
    phone.chars().filter(char::is_ascii_digit).collect()
}

/// `/webhooks/telegram/{bot_token}` carries the token itself; only its digest is stored as
/// a lookup key.
pub fn telegram_route(bot_token: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bot_token.trim().as_bytes()))
}

/// How a provider names a customer's phone in its webhooks, so an identity an agent creates
/// for a number is the one the customer's first answer finds: the Cloud API's `wa_id` is the
/// digits, Twilio's `From` (and everything else) E.164.
pub fn phone_source_id(provider: Option<Provider>, e164: &str) -> String {
    match provider {
        Some(Provider::WhatsappCloud) => whatsapp_route(e164),
        _ => e164.to_owned(),
    }
}

/// Messenger and Instagram let a page answer for 24 hours after the customer's message, and
/// with the `HUMAN_AGENT` tag (a person, not automation) for 7 days.
pub const META_STANDARD_WINDOW_MS: Millis = 24 * 3_600_000;
pub const META_HUMAN_AGENT_WINDOW_MS: Millis = 7 * 24 * 3_600_000;

/// Why a WhatsApp template cannot be sent: (field, code, sentence).
pub type TemplateProblem = (&'static str, &'static str, String);

/// A WhatsApp template (Chatwoot's `template_params`) must name one of the inbox's approved
/// templates, when they were synced, and give each of its body parameters.
pub fn check_template(
    templates: &[MessageTemplate],
    params: &serde_json::Value,
) -> Result<(), TemplateProblem> {
    let name = params
        .get("name")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default();
    if name.trim().is_empty() {
        return Err((
            "template_params.name",
            "blank",
            "a template needs its name".into(),
        ));
    }
    if templates.is_empty() {
        return Ok(());
    }
    let language = params.get("language").and_then(serde_json::Value::as_str);
    let Some(t) = templates
        .iter()
        .find(|t| t.name == name && language.is_none_or(|l| l == t.language))
    else {
        return Err((
            "template_params.name",
            "unknown_template",
            format!("the inbox has no template `{name}` in that language (sync the templates?)"),
        ));
    };
    if !t.status.eq_ignore_ascii_case("approved") {
        return Err((
            "template_params.name",
            "not_approved",
            format!(
                "the template `{name}` is {}, not approved",
                t.status.to_lowercase()
            ),
        ));
    }
    let given = match params.get("processed_params") {
        Some(serde_json::Value::Object(m)) => m.len(),
        Some(serde_json::Value::Array(a)) => a.len(),
        _ => 0,
    };
    if given < t.body_parameters() {
        return Err((
            "template_params.processed_params",
            "missing",
            format!(
                "the template `{name}` needs {} parameters",
                t.body_parameters()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_stable_and_tolerant() {
        assert_eq!(whatsapp_route("+55 11 98765-4321"), "5511987654321");
        assert_eq!(whatsapp_route("5511987654321"), "5511987654321");
        assert_eq!(telegram_route("123:abc"), telegram_route(" 123:abc "));
        assert_ne!(telegram_route("123:abc"), telegram_route("123:abd"));
        let t = ProviderSettings::Twilio(TwilioSettings {
            account_sid: "AC1".into(),
            auth_token: "t".into(),
            api_key_sid: None,
            api_key_secret: None,
            phone_number: Some("+15550001111".into()),
            messaging_service_sid: None,
            medium: TwilioMedium::Whatsapp,
        });
        assert_eq!(t.route_key(), "AC1/whatsapp:+15550001111");
        assert_eq!(t.channel_type(), ChannelType::Whatsapp);
    }

    #[test]
    fn views_never_carry_secrets() {
        let s = ProviderSettings::WhatsappCloud(WhatsappCloudSettings {
            phone_number: "+5511999990000".into(),
            phone_number_id: "1001".into(),
            business_account_id: "2002".into(),
            api_key: "EAAG-secret".into(),
            webhook_verify_token: "verify-me".into(),
            app_secret: Some("app-secret".into()),
            templates: vec![],
            templates_synced_at: None,
        });
        let text = s.public_view().to_string();
        assert!(!text.contains("EAAG-secret") && !text.contains("app-secret"));
        assert!(text.contains("verify-me"));
    }

    #[test]
    fn template_parameters_are_counted_from_the_body() {
        let t = MessageTemplate {
            name: "order".into(),
            language: "pt_BR".into(),
            category: None,
            status: "APPROVED".into(),
            components: json!([{"type": "HEADER", "text": "{{9}}"},
                {"type": "BODY", "text": "Olá {{1}}, pedido {{2}} saiu {{ 2 }}"}]),
        };
        assert_eq!(t.body_parameters(), 2);
    }
}
