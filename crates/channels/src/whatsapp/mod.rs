//! WhatsApp Business through Meta's Cloud API.
//!
//! Meta POSTs `whatsapp_business_account` webhooks (messages and statuses of one number) to
//! `/webhooks/whatsapp/{phone_number}`, signed `X-Hub-Signature-256` with the app's secret,
//! after a `GET` subscription handshake with the inbox's verify token. We send through
//! `POST {graph}/{phone_number_id}/messages` with the system user's token; files the customer
//! sent are fetched by id (`GET {graph}/{media_id}` → a URL that needs the same token).

mod parse;

use futures::future::BoxFuture;
use serde_json::{Value, json};
use throughline_core::messaging::WhatsappCloudSettings;
use throughline_core::model::ChannelType;
use throughline_core::reply_channel::ReplyRules;

use crate::provider_api::{self, download, get_json, send_json};
use crate::registry::ProviderEndpoints;
use crate::{
    ChannelAdapter, Inbound, InboundAttachment, MediaRef, OutboundMessage, ProviderAnswer,
    RawInbound, Rejected, SendOutcome,
};

pub use parse::parse_webhook;

pub struct WhatsappAdapter {
    settings: WhatsappCloudSettings,
    http: crate::OutboundClient,
    graph: String,
    app_secret: Option<String>,
}

impl WhatsappAdapter {
    pub fn new(
        settings: WhatsappCloudSettings,
        http: crate::OutboundClient,
        endpoints: &ProviderEndpoints,
    ) -> Self {
        let app_secret = settings
            .app_secret
            .clone()
            .or_else(|| endpoints.meta_app_secret.clone());
        Self {
            settings,
            http,
            graph: endpoints.meta_graph.trim_end_matches('/').to_owned(),
            app_secret,
        }
    }

    /// The inbox's approved templates, as the Business Management API lists them.
    pub async fn fetch_templates(
        &self,
    ) -> Result<Vec<throughline_core::messaging::MessageTemplate>, String> {
        let mut out = Vec::new();
        let mut url = format!(
            "{}/{}/message_templates?limit=100",
            self.graph, self.settings.business_account_id
        );
        // Follow Meta's cursor pages, but never forever.
        for _ in 0..20 {
            let page = get_json(self.http.get(&url).bearer_auth(&self.settings.api_key)).await?;
            for t in page["data"].as_array().into_iter().flatten() {
                let (Some(name), Some(language)) = (t["name"].as_str(), t["language"].as_str())
                else {
                    continue;
                };
                out.push(throughline_core::messaging::MessageTemplate {
                    name: name.to_owned(),
                    language: language.to_owned(),
                    category: t["category"].as_str().map(str::to_owned),
                    status: t["status"].as_str().unwrap_or("UNKNOWN").to_owned(),
                    components: t["components"].clone(),
                });
            }
            match page["paging"]["next"].as_str() {
                Some(next) if next.starts_with(&self.graph) => url = next.to_owned(),
                _ => break,
            }
        }
        Ok(out)
    }

    /// Asks Meta about the number: the provider's own error when the credentials are wrong.
    pub async fn check_credentials(&self) -> Result<Value, String> {
        get_json(
            self.http
                .get(format!("{}/{}", self.graph, self.settings.phone_number_id))
                .bearer_auth(&self.settings.api_key),
        )
        .await
    }

    fn body_for(&self, out: &OutboundMessage) -> Result<Vec<Value>, String> {
        let m = out
            .message
            .as_ref()
            .ok_or("the delivery carries no message")?;
        let to = m
            .channel_address
            .clone()
            .or_else(|| m.phone.clone())
            .map(|a| a.trim_start_matches('+').to_owned())
            .ok_or("the contact has no WhatsApp number")?;
        let envelope = |kind: &str, content: Value| {
            let mut body = json!({
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": to,
                "type": kind,
            });
            body[kind] = content;
            if let Some(quoted) = &m.reply_to_external_id {
                body["context"] = json!({ "message_id": quoted });
            }
            body
        };
        if let Some(params) = &m.template {
            return Ok(vec![envelope("template", template_body(params)?)]);
        }
        let mut bodies = Vec::new();
        for (i, file) in m.attachments.iter().enumerate() {
            let url = file.url.clone().ok_or("an attachment has no public URL")?;
            let kind = media_kind(&file.content_type);
            let mut media = json!({ "link": url });
            if i == 0 && !m.text.trim().is_empty() && kind != "audio" && kind != "sticker" {
                media["caption"] = json!(m.text);
            }
            if kind == "document" {
                media["filename"] = json!(file.file_name);
            }
            bodies.push(envelope(kind, media));
        }
        let captioned = bodies.first().is_some_and(|b| {
            b.pointer(&format!("/{}/caption", b["type"].as_str().unwrap_or("")))
                .is_some()
        });
        if !m.text.trim().is_empty() && !captioned {
            bodies.insert(
                0,
                envelope("text", json!({ "body": m.text, "preview_url": false })),
            );
        }
        if bodies.is_empty() {
            return Err("the message has nothing to send".into());
        }
        Ok(bodies)
    }
}

/// WhatsApp's media families for a MIME type.
fn media_kind(content_type: &str) -> &'static str {
    match content_type.split('/').next().unwrap_or_default() {
        "image" if content_type == "image/webp" => "sticker",
        "image" => "image",
        "audio" => "audio",
        "video" => "video",
        _ => "document",
    }
}

/// Chatwoot's `template_params` (`name`, `language`, `processed_params` {"1": …}) as a Cloud
/// API template object.
pub fn template_body(params: &Value) -> Result<Value, String> {
    let name = params["name"]
        .as_str()
        .filter(|n| !n.trim().is_empty())
        .ok_or("template_params.name is required")?;
    let language = params["language"].as_str().unwrap_or("en_US");
    let mut ordered: Vec<(usize, String)> = Vec::new();
    match &params["processed_params"] {
        Value::Object(map) => {
            for (k, v) in map {
                let n = k.parse::<usize>().map_err(|_| {
                    format!("template_params.processed_params key `{k}` is not a number")
                })?;
                let text = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                ordered.push((n, text));
            }
        }
        Value::Array(list) => {
            for (i, v) in list.iter().enumerate() {
                ordered.push((
                    i + 1,
                    v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                ));
            }
        }
        _ => {}
    }
    ordered.sort_by_key(|(n, _)| *n);
    let mut template = json!({ "name": name, "language": { "code": language } });
    if !ordered.is_empty() {
        let parameters: Vec<Value> = ordered
            .into_iter()
            .map(|(_, text)| json!({ "type": "text", "text": text }))
            .collect();
        template["components"] = json!([{ "type": "body", "parameters": parameters }]);
    }
    Ok(template)
}

/// The Cloud API's error object, worded for the agent: `(#131047) Re-engagement message —
/// More than 24 hours have passed…`.
fn error_text(body: &Value) -> Option<String> {
    let e = &body["error"];
    let code = e["code"].as_i64()?;
    let message = e["message"].as_str().unwrap_or("error");
    Some(match e["error_data"]["details"].as_str() {
        Some(details) => format!("(#{code}) {message} — {details}"),
        None => format!("(#{code}) {message}"),
    })
}

impl ChannelAdapter for WhatsappAdapter {
    fn channel_type(&self) -> ChannelType {
        ChannelType::Whatsapp
    }

    fn verify(&self, request: &RawInbound<'_>) -> Result<(), Rejected> {
        provider_api::verify_hub_signature(
            request.header("x-hub-signature-256"),
            request.body,
            self.app_secret.as_deref(),
        )
    }

    fn parse(&self, request: &RawInbound<'_>) -> Result<Vec<Inbound>, Rejected> {
        parse_webhook(request.body, &self.settings.phone_number_id)
    }

    fn handshake(&self, query: &str) -> Result<ProviderAnswer, Rejected> {
        provider_api::hub_challenge(query, |token| {
            throughline_core::crypto::constant_time_eq(
                token.as_bytes(),
                self.settings.webhook_verify_token.as_bytes(),
            )
        })
    }

    fn fetch_media<'a>(
        &'a self,
        media: &'a MediaRef,
        limit: usize,
    ) -> BoxFuture<'a, Result<InboundAttachment, String>> {
        Box::pin(async move {
            let info = get_json(
                self.http
                    .get(format!("{}/{}", self.graph, media.handle))
                    .bearer_auth(&self.settings.api_key),
            )
            .await?;
            let url = info["url"]
                .as_str()
                .ok_or("Meta gave no URL for the file")?;
            if info["file_size"].as_u64().is_some_and(|n| n > limit as u64) {
                return Err(format!("the file is larger than {} MiB", limit >> 20));
            }
            let (data, served_type) = download(
                self.http.get(url).bearer_auth(&self.settings.api_key),
                limit,
            )
            .await?;
            Ok(InboundAttachment {
                file_name: media.file_name.clone(),
                content_type: media
                    .content_type
                    .clone()
                    .or(info["mime_type"].as_str().map(str::to_owned))
                    .or(served_type)
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
            let bodies = match self.body_for(out) {
                Ok(b) => b,
                Err(reason) => return SendOutcome::permanent(reason),
            };
            let url = format!("{}/{}/messages", self.graph, self.settings.phone_number_id);
            let mut first = None;
            for body in bodies {
                let sent = send_json(
                    self.http
                        .post(&url)
                        .bearer_auth(&self.settings.api_key)
                        .json(&body),
                    |v| v["messages"][0]["id"].as_str().map(str::to_owned),
                    error_text,
                )
                .await;
                match sent {
                    SendOutcome::Accepted { .. } if first.is_none() => first = Some(sent),
                    SendOutcome::Accepted { .. } => {}
                    failed => return failed,
                }
            }
            first.unwrap_or_else(|| SendOutcome::permanent("nothing was sent"))
        })
    }

    fn describe_failure(&self, _target: &str, error: &str) -> String {
        format!("WhatsApp did not deliver this message: {error}")
    }

    fn reply_rules(&self) -> ReplyRules {
        ReplyRules::for_channel(ChannelType::Whatsapp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chatwoot_template_params_become_a_cloud_api_template() {
        let t = template_body(&json!({
            "name": "order_update", "category": "UTILITY", "language": "pt_BR",
            "processed_params": {"2": "#1042", "1": "Ana"}
        }))
        .unwrap();
        assert_eq!(t["name"], "order_update");
        assert_eq!(t["language"]["code"], "pt_BR");
        assert_eq!(t["components"][0]["parameters"][0]["text"], "Ana");
        assert_eq!(t["components"][0]["parameters"][1]["text"], "#1042");
        assert!(template_body(&json!({"language": "en"})).is_err());
        assert!(template_body(&json!({"name": "x", "processed_params": {"a": "b"}})).is_err());
        assert!(
            template_body(&json!({"name": "hello_world"}))
                .unwrap()
                .get("components")
                .is_none()
        );
    }

    #[test]
    fn cloud_api_errors_are_worded_for_the_agent() {
        let e = json!({"error": {"message": "Re-engagement message", "type": "OAuthException",
            "code": 131047, "error_data": {"details": "More than 24 hours have passed"}}});
        assert_eq!(
            error_text(&e).unwrap(),
            "(#131047) Re-engagement message — More than 24 hours have passed"
        );
        assert!(error_text(&json!({"oops": 1})).is_none());
    }
}
