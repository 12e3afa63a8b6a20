//! SMS and WhatsApp through Twilio's Programmable Messaging.
//!
//! Twilio POSTs form-encoded webhooks to `/twilio/callback` (a customer's message) and
//! `/twilio/delivery_status` (our message's progress), signed `X-Twilio-Signature`: base64
//! HMAC-SHA1 under the account's auth token of the URL it called followed by every POST
//! parameter, sorted by name, name and value concatenated. We send through
//! `POST {api}/2010-04-01/Accounts/{sid}/Messages.json` with basic auth (the account or an API
//! key); Twilio fetches the files we send from their signed public links.

use futures::future::BoxFuture;
use serde_json::{Map, Value, json};
use throughline_core::crypto::{constant_time_eq, hmac_sha1_base64};
use throughline_core::linking::Evidence;
use throughline_core::message::DeliveryStatus;
use throughline_core::messaging::{TwilioMedium, TwilioSettings, twilio_address};
use throughline_core::model::ChannelType;
use throughline_core::reply_channel::ReplyRules;

use crate::inbound::{InboundSender, ThreadKey};
use crate::provider_api::{download, form_pairs, send_json};
use crate::registry::ProviderEndpoints;
use crate::{
    ChannelAdapter, Inbound, InboundAttachment, MediaRef, NormalisedInbound, OutboundMessage,
    ProviderAnswer, RawInbound, Rejected, SendOutcome, StatusReport, ThreadHints,
};

/// Twilio's webhooks carry at most this many files (`NumMedia`).
const MAX_MEDIA: usize = 10;

pub struct TwilioAdapter {
    settings: TwilioSettings,
    http: crate::OutboundClient,
    api: String,
    status_callback: String,
}

impl TwilioAdapter {
    pub fn new(
        settings: TwilioSettings,
        http: crate::OutboundClient,
        endpoints: &ProviderEndpoints,
    ) -> Self {
        Self {
            settings,
            http,
            api: endpoints.twilio_api.trim_end_matches('/').to_owned(),
            status_callback: format!(
                "{}/twilio/delivery_status",
                endpoints.public_url.trim_end_matches('/')
            ),
        }
    }

    fn authed(&self, request: crate::Outgoing) -> crate::Outgoing {
        match (&self.settings.api_key_sid, &self.settings.api_key_secret) {
            (Some(sid), Some(secret)) => request.basic_auth(sid, Some(secret)),
            _ => request.basic_auth(&self.settings.account_sid, Some(&self.settings.auth_token)),
        }
    }

    /// Asks Twilio about the account: its own error when the credentials are wrong.
    pub async fn check_credentials(&self) -> Result<Value, String> {
        crate::provider_api::get_json(self.authed(self.http.get(format!(
            "{}/2010-04-01/Accounts/{}.json",
            self.api, self.settings.account_sid
        ))))
        .await
    }

    fn medium_name(&self) -> &'static str {
        match self.settings.medium {
            TwilioMedium::Sms => "SMS",
            TwilioMedium::Whatsapp => "WhatsApp",
        }
    }
}

impl crate::VoiceCalls for TwilioAdapter {
    fn line_number(&self) -> &str {
        self.settings.phone_number.as_deref().unwrap_or_default()
    }

    fn place_call<'a>(
        &'a self,
        call: &'a crate::PlaceCall<'a>,
    ) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(async move {
            let ring = call.ring_seconds.to_string();
            let form: Vec<(&str, &str)> = vec![
                ("To", call.to),
                ("From", call.from),
                ("Url", call.url),
                ("Method", "POST"),
                ("StatusCallback", call.status_callback),
                ("StatusCallbackMethod", "POST"),
                ("StatusCallbackEvent", "answered"),
                ("StatusCallbackEvent", "completed"),
                ("Timeout", &ring),
            ];
            let url = format!(
                "{}/2010-04-01/Accounts/{}/Calls.json",
                self.api, self.settings.account_sid
            );
            match self.call_api(url, &form).await {
                SendOutcome::Accepted {
                    provider_id: Some(sid),
                    ..
                } => Ok(sid),
                SendOutcome::Accepted { .. } => Err("Twilio gave the call no id".into()),
                other => Err(other
                    .reason()
                    .unwrap_or("Twilio refused the call")
                    .to_owned()),
            }
        })
    }

    fn end_call<'a>(&'a self, provider_id: &'a str) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let url = format!(
                "{}/2010-04-01/Accounts/{}/Calls/{provider_id}.json",
                self.api, self.settings.account_sid
            );
            // `completed` hangs up a call whether it rings or is answered.
            match self.call_api(url, &[("Status", "completed")]).await {
                SendOutcome::Accepted { .. } => Ok(()),
                other => Err(other.reason().unwrap_or("Twilio refused").to_owned()),
            }
        })
    }
}

impl TwilioAdapter {
    /// A form POST to Twilio's Calls API, read like a message send.
    async fn call_api(&self, url: String, form: &[(&str, &str)]) -> SendOutcome {
        let encoded = match serde_html_form::to_string(form) {
            Ok(e) => e,
            Err(e) => return SendOutcome::permanent(format!("cannot encode the call: {e}")),
        };
        send_json(
            self.authed(self.http.post(url))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(encoded),
            |v| v["sid"].as_str().map(str::to_owned),
            twilio_error_words,
        )
        .await
    }
}

/// Twilio's error body in words (`code` and `message`).
fn twilio_error_words(v: &Value) -> Option<String> {
    let code = v["code"].as_i64()?;
    Some(format!(
        "Twilio error {code}: {}",
        v["message"]
            .as_str()
            .unwrap_or_else(|| error_meaning(&code.to_string()))
    ))
}

/// `X-Twilio-Signature` over `url` and the form parameters.
pub fn signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    let mut data = url.to_owned();
    for (k, v) in sorted {
        data.push_str(k);
        data.push_str(v);
    }
    hmac_sha1_base64(auth_token.as_bytes(), data.as_bytes())
}

fn field<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// Reads a Twilio webhook: a customer's message (it has `Body` or `NumMedia`) or a status
/// callback (`MessageStatus` without a body).
pub fn parse_form(body: &[u8]) -> Result<Vec<Inbound>, Rejected> {
    let params = form_pairs(body);
    if params.is_empty() {
        return Err(Rejected::invalid("the webhook has no form parameters"));
    }
    let sid = field(&params, "MessageSid")
        .or_else(|| field(&params, "SmsSid"))
        .ok_or_else(|| Rejected::invalid("MessageSid is missing"))?;
    let is_message = field(&params, "Body").is_some()
        || field(&params, "NumMedia").is_some_and(|n| n != "0")
        || field(&params, "MessageStatus").is_none_or(|s| s == "received" || s == "receiving");
    if !is_message {
        let state = field(&params, "MessageStatus").unwrap_or_default();
        let status = match state {
            "sent" => DeliveryStatus::Sent,
            "delivered" => DeliveryStatus::Delivered,
            "read" => DeliveryStatus::Read,
            "failed" | "undelivered" => DeliveryStatus::Failed,
            _ => DeliveryStatus::Queued,
        };
        let reason = field(&params, "ErrorCode")
            .map(|code| {
                let text = field(&params, "ErrorMessage").unwrap_or_else(|| error_meaning(code));
                format!("Twilio error {code}: {text}")
            })
            .unwrap_or_else(|| format!("Twilio reports the message {state}"));
        return Ok(vec![Inbound::Status(StatusReport {
            thread_key: Some(sid.to_owned()),
            status,
            reason,
            raw: None,
        })]);
    }
    let from = field(&params, "From").ok_or_else(|| Rejected::invalid("From is missing"))?;
    let (medium, number) = match from.strip_prefix("whatsapp:") {
        Some(n) => ("whatsapp", n),
        None => ("sms", from),
    };
    let phone = throughline_core::identity::normalize_phone(number, None)
        .map_err(|_| Rejected::invalid("From is not a phone number"))?;
    let count = field(&params, "NumMedia")
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(0)
        .min(MAX_MEDIA);
    let media = (0..count)
        .filter_map(|i| {
            let url = field(&params, &format!("MediaUrl{i}"))?;
            Some(MediaRef {
                handle: url.to_owned(),
                content_type: field(&params, &format!("MediaContentType{i}")).map(str::to_owned),
                file_name: None,
            })
        })
        .collect();
    let mut details = Map::new();
    details.insert("medium".into(), json!(medium));
    details.insert("to".into(), json!(field(&params, "To")));
    let mut content = field(&params, "Body").unwrap_or_default().to_owned();
    if let (Some(lat), Some(lon)) = (field(&params, "Latitude"), field(&params, "Longitude")) {
        details.insert(
            "location".into(),
            json!({"latitude": lat, "longitude": lon,
            "address": field(&params, "Address"), "label": field(&params, "Label")}),
        );
        if content.is_empty() {
            content = format!("📍 {lat}, {lon}");
        }
    }
    if let Some(button) = field(&params, "ButtonText") {
        details.insert(
            "button".into(),
            json!({"text": button, "payload": field(&params, "ButtonPayload")}),
        );
        if content.is_empty() {
            content = button.to_owned();
        }
    }
    let quoted = field(&params, "OriginalRepliedMessageSid").map(str::to_owned);
    if let Some(q) = &quoted {
        details.insert("in_reply_to_external_id".into(), json!(q));
    }
    let mut new_attributes = Map::new();
    new_attributes.insert("source".into(), json!(medium));
    Ok(vec![Inbound::Message(Box::new(NormalisedInbound {
        sender: InboundSender {
            source_id: Some(phone.clone()),
            name: field(&params, "ProfileName").map(str::to_owned),
            email: None,
            phone: Some(phone),
        },
        external_id: sid.to_owned(),
        content,
        content_attributes: json!({ "twilio": Value::Object(details) }),
        attachments: Vec::new(),
        media,
        // The carrier (or WhatsApp) delivered it from that number.
        evidence: Evidence::Proven,
        thread: ThreadHints {
            referenced_ids: quoted.into_iter().collect(),
            new_conversation_attributes: new_attributes,
            ..ThreadHints::default()
        },
        provider_timestamp: None,
        raw: None,
        malformed: false,
        thread_key: Some(ThreadKey {
            key: sid.to_owned(),
            subject: None,
        }),
    }))])
}

/// What Twilio's common delivery error codes mean, for the agent.
fn error_meaning(code: &str) -> &'static str {
    match code {
        "30003" => "the handset is unreachable",
        "30004" => "the message was blocked",
        "30005" => "unknown destination handset",
        "30006" => "the number is a landline or cannot receive SMS",
        "30007" => "the carrier filtered the message",
        "30008" => "unknown error at the carrier",
        "21610" => "the customer replied STOP and unsubscribed",
        "21211" => "the number is not a valid phone number",
        "63016" => "outside WhatsApp's 24-hour window: only an approved template can be sent",
        "63003" => "the WhatsApp recipient is not reachable",
        _ => "see Twilio's error dictionary",
    }
}

impl ChannelAdapter for TwilioAdapter {
    fn channel_type(&self) -> ChannelType {
        match self.settings.medium {
            TwilioMedium::Sms => ChannelType::Sms,
            TwilioMedium::Whatsapp => ChannelType::Whatsapp,
        }
    }

    fn verify(&self, request: &RawInbound<'_>) -> Result<(), Rejected> {
        let given = request
            .header("x-twilio-signature")
            .ok_or_else(|| Rejected::unauthorized("X-Twilio-Signature is missing"))?;
        let url = request
            .url
            .ok_or_else(|| Rejected::unauthorized("the request's URL is unknown"))?;
        let expected = signature(&self.settings.auth_token, url, &form_pairs(request.body));
        if constant_time_eq(expected.as_bytes(), given.trim().as_bytes()) {
            Ok(())
        } else {
            Err(Rejected::unauthorized(
                "X-Twilio-Signature does not match (is THROUGHLINE_PUBLIC_URL the URL Twilio calls?)",
            ))
        }
    }

    fn parse(&self, request: &RawInbound<'_>) -> Result<Vec<Inbound>, Rejected> {
        parse_form(request.body)
    }

    /// An empty TwiML document: Twilio sends no automatic reply.
    fn answer(&self, _stored: usize) -> ProviderAnswer {
        ProviderAnswer {
            status: 200,
            content_type: "text/xml",
            body: b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>".to_vec(),
        }
    }

    fn fetch_media<'a>(
        &'a self,
        media: &'a MediaRef,
        limit: usize,
    ) -> BoxFuture<'a, Result<InboundAttachment, String>> {
        Box::pin(async move {
            // Twilio serves a message's media from its own API only; the account's credentials
            // never go anywhere else (a signed webhook could still name any URL).
            if !media.handle.starts_with(&format!("{}/", self.api)) {
                return Err(format!(
                    "the file is not on Twilio's API ({}), so it was not fetched",
                    self.api
                ));
            }
            let (data, served) = download(self.authed(self.http.get(&media.handle)), limit).await?;
            Ok(InboundAttachment {
                file_name: media.file_name.clone(),
                content_type: media
                    .content_type
                    .clone()
                    .or(served)
                    .unwrap_or_else(|| "application/octet-stream".into()),
                data,
            })
        })
    }

    fn needs_message(&self) -> bool {
        true
    }

    fn send<'a>(&'a self, out: &'a OutboundMessage) -> BoxFuture<'a, SendOutcome> {
        Box::pin(async move {
            let Some(m) = &out.message else {
                return SendOutcome::permanent("the delivery carries no message");
            };
            let Some(to) = m.channel_address.clone().or_else(|| m.phone.clone()) else {
                return SendOutcome::permanent("the contact has no phone number");
            };
            let mut form: Vec<(&str, String)> = vec![
                ("To", twilio_address(self.settings.medium, &to)),
                ("StatusCallback", self.status_callback.clone()),
            ];
            match (
                &self.settings.messaging_service_sid,
                &self.settings.phone_number,
            ) {
                (Some(service), _) => form.push(("MessagingServiceSid", service.clone())),
                (None, Some(number)) => {
                    form.push(("From", twilio_address(self.settings.medium, number)));
                }
                (None, None) => {
                    return SendOutcome::permanent("the inbox has no number to send from");
                }
            }
            if let Some(params) = &m.template {
                // Twilio's WhatsApp templates are Content API items: their SID and variables.
                match params["content_sid"].as_str().or(params["name"].as_str()) {
                    Some(sid) if sid.starts_with("HX") => {
                        form.push(("ContentSid", sid.to_owned()));
                        form.push(("ContentVariables", params["processed_params"].to_string()));
                    }
                    _ => {
                        return SendOutcome::permanent(
                            "a Twilio template needs its Content SID (HX…) as template_params.name",
                        );
                    }
                }
            } else if !m.text.trim().is_empty() {
                form.push(("Body", m.text.clone()));
            }
            for file in &m.attachments {
                match &file.url {
                    Some(url) => form.push(("MediaUrl", url.clone())),
                    None => return SendOutcome::permanent("an attachment has no public URL"),
                }
            }
            let url = format!(
                "{}/2010-04-01/Accounts/{}/Messages.json",
                self.api, self.settings.account_sid
            );
            let encoded = match serde_html_form::to_string(&form) {
                Ok(e) => e,
                Err(e) => return SendOutcome::permanent(format!("cannot encode the message: {e}")),
            };
            send_json(
                self.authed(self.http.post(url))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(encoded),
                |v| v["sid"].as_str().map(str::to_owned),
                twilio_error_words,
            )
            .await
        })
    }

    fn describe_failure(&self, _target: &str, error: &str) -> String {
        format!(
            "{} did not deliver this message: {error}",
            self.medium_name()
        )
    }

    fn voice(&self) -> Option<&dyn crate::VoiceCalls> {
        // Voice rides on the number; a WhatsApp sender, or a messaging service without a
        // number, takes no calls here.
        (self.settings.medium == TwilioMedium::Sms && self.settings.phone_number.is_some())
            .then_some(self as &dyn crate::VoiceCalls)
    }

    fn reply_rules(&self) -> ReplyRules {
        ReplyRules::for_channel(self.channel_type())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_signature_matches_twilios_published_example() {
        // From Twilio's "Webhooks security" guide.
        let params = pairs(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]);
        assert_eq!(
            signature(
                "12345",
                "https://mycompany.com/myapp.php?foo=1&bar=2",
                &params
            ),
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        );
    }

    #[test]
    fn messages_and_status_callbacks_are_told_apart() {
        let msg = b"MessageSid=SM1&AccountSid=AC1&From=whatsapp%3A%2B551187654321&To=whatsapp%3A%2B15550001111&Body=Oi&NumMedia=1&MediaUrl0=https%3A%2F%2Fapi.twilio.com%2Fm%2F1&MediaContentType0=image%2Fjpeg&ProfileName=Ana";
        let items = parse_form(msg).unwrap();
        let Inbound::Message(m) = &items[0] else {
            panic!("a message")
        };
        assert_eq!(m.sender.phone.as_deref(), Some("+5511987654321"));
        assert_eq!(m.media.len(), 1);
        assert_eq!(m.content_attributes["twilio"]["medium"], "whatsapp");
        let status = b"MessageSid=SM2&MessageStatus=undelivered&ErrorCode=30003&AccountSid=AC1";
        let Inbound::Status(s) = &parse_form(status).unwrap()[0] else {
            panic!("a status")
        };
        assert_eq!(s.status, DeliveryStatus::Failed);
        assert!(s.reason.contains("30003") && s.reason.contains("unreachable"));
        assert_eq!(parse_form(b"").unwrap_err().status, 422);
        assert_eq!(parse_form(b"Body=hi").unwrap_err().status, 422);
        assert_eq!(
            parse_form(b"MessageSid=SM3&Body=hi&From=not-a-number")
                .unwrap_err()
                .status,
            422
        );
    }
}
