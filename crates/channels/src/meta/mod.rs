//! Messenger (a Facebook page) and Instagram (a professional account linked to a page)
//! through Meta's Graph API.
//!
//! Meta POSTs one app's webhooks for all its pages to a shared path (`/bot` with
//! `object: page`, `/webhooks/instagram` with `object: instagram`), signed
//! `X-Hub-Signature-256` with the app's secret, after a `GET` subscription handshake with a
//! verify token. A body may batch several pages' `entry[]`: each inbox reads only the entries
//! whose `id` is its page's. Customers are named by page-scoped ids only; their names come
//! from the profile API (`GET {graph}/{id}`) with the page's token, and their files as CDN URLs
//! in the webhook. We send through `POST {graph}/me/messages` with the page token: a reply
//! within 24 hours of the customer's last message is a `RESPONSE`; up to 7 days only a
//! person's reply may go, tagged `HUMAN_AGENT`; after that Meta accepts nothing.

mod parse;
mod send;

use futures::future::BoxFuture;
use serde_json::Value;
use throughline_core::crypto::constant_time_eq;
use throughline_core::messaging::MetaPageSettings;
use throughline_core::model::ChannelType;
use throughline_core::reply_channel::ReplyRules;

use crate::provider_api::{self, download};
use crate::registry::ProviderEndpoints;
use crate::{
    ChannelAdapter, Inbound, InboundAttachment, MediaRef, OutboundMessage, ProviderAnswer,
    RawInbound, Rejected, SendOutcome,
};

pub use parse::parse_webhook;

/// Which of Meta's messaging products an inbox speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Surface {
    Messenger,
    Instagram,
}

impl Surface {
    /// The `object` its webhooks carry.
    fn webhook_object(self) -> &'static str {
        match self {
            Self::Messenger => "page",
            Self::Instagram => "instagram",
        }
    }

    /// The key of its details in `content_attributes` and its conversations' `source`.
    fn key(self) -> &'static str {
        match self {
            Self::Messenger => "messenger",
            Self::Instagram => "instagram",
        }
    }

    fn display_name(self) -> &'static str {
        match self {
            Self::Messenger => "Messenger",
            Self::Instagram => "Instagram",
        }
    }

    /// The Send API's longest text, in characters.
    fn text_limit(self) -> usize {
        match self {
            Self::Messenger => 2000,
            Self::Instagram => 1000,
        }
    }
}

pub struct MetaAdapter {
    surface: Surface,
    settings: MetaPageSettings,
    http: crate::OutboundClient,
    graph: String,
    app_secret: Option<String>,
    verify_token: Option<String>,
}

impl MetaAdapter {
    pub fn new(
        surface: Surface,
        settings: MetaPageSettings,
        http: crate::OutboundClient,
        endpoints: &ProviderEndpoints,
    ) -> Self {
        let app_secret = settings
            .app_secret
            .clone()
            .or_else(|| endpoints.meta_app_secret.clone());
        let verify_token = settings
            .verify_token
            .clone()
            .or_else(|| endpoints.meta_verify_token.clone());
        Self {
            surface,
            settings,
            http,
            graph: endpoints.meta_graph.trim_end_matches('/').to_owned(),
            app_secret,
            verify_token,
        }
    }

    /// Asks Meta about the page (`/me` with its token): Meta's own error when the token is
    /// wrong or expired.
    pub async fn check_credentials(&self) -> Result<Value, String> {
        self.graph_get(&format!("{}/me?fields=id,name", self.graph))
            .await
    }

    /// A Graph GET with the page token; an error in Graph's words where it gave some.
    async fn graph_get(&self, url: &str) -> Result<Value, String> {
        let response = self
            .http
            .get(url)
            .bearer_auth(&self.settings.page_access_token)
            .send()
            .await
            .map_err(unsent_reason)?;
        let status = response.status();
        let text = response.text().await.map_err(|e| unreachable_reason(&e))?;
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if !status.is_success() {
            return Err(send::error_text(&body).unwrap_or_else(|| {
                let snippet: String = text.chars().take(300).collect();
                format!("HTTP {}: {snippet}", status.as_u16())
            }));
        }
        if body.is_null() {
            return Err("Meta's answer is not JSON".into());
        }
        Ok(body)
    }

    /// Files are fetched from Meta's CDN (always https) or, where the Graph base is a local
    /// stand-in, from under it; a webhook naming any other place would have us fetch inside
    /// our own network for whoever wrote it.
    fn may_fetch(&self, url: &str) -> Result<reqwest::Url, String> {
        let parsed = reqwest::Url::parse(url).map_err(|_| "the file's URL is not a URL")?;
        if parsed.scheme() == "https" && parsed.host_str().is_some() {
            return Ok(parsed);
        }
        let under_graph = reqwest::Url::parse(&self.graph).is_ok_and(|base| {
            base.scheme() == parsed.scheme()
                && base.host_str() == parsed.host_str()
                && base.port_or_known_default() == parsed.port_or_known_default()
                && parsed.username().is_empty()
                && parsed.password().is_none()
                && path_under(parsed.path(), base.path())
        });
        if under_graph {
            Ok(parsed)
        } else {
            Err(format!(
                "{} named a file at a URL that is neither https nor under the Graph API, so it \
                 was not fetched",
                self.surface.display_name()
            ))
        }
    }
}

/// `path` is `base` or inside it, segment-wise (`/v22.0x` is not under `/v22.0`).
fn path_under(path: &str, base: &str) -> bool {
    let base = base.trim_end_matches('/');
    base.is_empty()
        || path == base
        || path
            .strip_prefix(base)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Why a request was not sent: the outbound guard's refusal, or the transport error.
fn unsent_reason(e: crate::SendError) -> String {
    match e {
        crate::SendError::Refused(r) => r.to_string(),
        crate::SendError::Http(e) => unreachable_reason(&e),
    }
}

fn unreachable_reason(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "Meta did not answer in time".into()
    } else {
        format!("could not reach Meta: {e}")
    }
}

impl ChannelAdapter for MetaAdapter {
    fn channel_type(&self) -> ChannelType {
        match self.surface {
            Surface::Messenger => ChannelType::FacebookPage,
            Surface::Instagram => ChannelType::Instagram,
        }
    }

    fn verify(&self, request: &RawInbound<'_>) -> Result<(), Rejected> {
        provider_api::verify_hub_signature(
            request.header("x-hub-signature-256"),
            request.body,
            self.app_secret.as_deref(),
        )
    }

    fn parse(&self, request: &RawInbound<'_>) -> Result<Vec<Inbound>, Rejected> {
        parse_webhook(request.body, self.surface, &self.settings.page_id)
    }

    fn handshake(&self, query: &str) -> Result<ProviderAnswer, Rejected> {
        provider_api::hub_challenge(query, |token| {
            self.verify_token
                .as_deref()
                .filter(|t| !t.is_empty())
                .is_some_and(|t| constant_time_eq(token.as_bytes(), t.as_bytes()))
        })
    }

    fn fetch_media<'a>(
        &'a self,
        media: &'a MediaRef,
        limit: usize,
    ) -> BoxFuture<'a, Result<InboundAttachment, String>> {
        Box::pin(async move {
            let url = self.may_fetch(&media.handle)?;
            // CDN URLs are signed in themselves: the page token is never sent along.
            let (data, served) = download(self.http.get(url), limit).await?;
            // The webhook says only "image" or "file"; the type the file is served with is
            // more precise unless it is the generic one.
            let served = served.filter(|t| !t.is_empty() && t != "application/octet-stream");
            Ok(InboundAttachment {
                file_name: media.file_name.clone(),
                content_type: served
                    .or_else(|| media.content_type.clone())
                    .unwrap_or_else(|| "application/octet-stream".into()),
                data,
            })
        })
    }

    fn sender_name<'a>(&'a self, source_id: &'a str) -> BoxFuture<'a, Option<String>> {
        Box::pin(async move {
            if !parse::plausible_scoped_id(source_id) {
                return None;
            }
            let fields = match self.surface {
                Surface::Messenger => "first_name,last_name",
                Surface::Instagram => "name,username",
            };
            let profile = self
                .graph_get(&format!("{}/{source_id}?fields={fields}", self.graph))
                .await
                .map_err(|reason| {
                    tracing::info!(%reason, "could not look up a Meta sender's name");
                })
                .ok()?;
            profile_name(self.surface, &profile)
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
            let bodies = match send::bodies(self.surface, m, now_ms()) {
                Ok(b) => b,
                Err(reason) => return SendOutcome::permanent(reason),
            };
            let url = format!("{}/me/messages", self.graph);
            let total = bodies.len();
            let mut first = None;
            for (i, body) in bodies.into_iter().enumerate() {
                let sent = match self
                    .http
                    .post(&url)
                    .bearer_auth(&self.settings.page_access_token)
                    .json(&body)
                    .send()
                    .await
                {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        let text = response.text().await.unwrap_or_default();
                        send::outcome(status, &text)
                    }
                    Err(crate::SendError::Refused(r)) => SendOutcome::permanent(r.to_string()),
                    Err(crate::SendError::Http(e)) => {
                        SendOutcome::temporary(unreachable_reason(&e))
                    }
                };
                match sent {
                    SendOutcome::Accepted { .. } if first.is_none() => first = Some(sent),
                    SendOutcome::Accepted { .. } => {}
                    // Parts already delivered cannot be taken back: retrying would send
                    // them to the customer twice, so a later part's failure is final.
                    SendOutcome::Temporary { reason, status }
                    | SendOutcome::Permanent { reason, status }
                        if first.is_some() =>
                    {
                        return SendOutcome::Permanent {
                            reason: format!(
                                "only the first {i} of {total} parts were sent: {reason}"
                            ),
                            status,
                        };
                    }
                    failed => return failed,
                }
            }
            first.unwrap_or_else(|| SendOutcome::permanent("nothing was sent"))
        })
    }

    fn describe_failure(&self, _target: &str, error: &str) -> String {
        format!(
            "{} did not deliver this message: {error}",
            self.surface.display_name()
        )
    }

    fn reply_rules(&self) -> ReplyRules {
        ReplyRules::for_channel(self.channel_type())
    }
}

/// A display name from the profile API: Messenger's first and last name, Instagram's name or
/// else its @username (a `name` is taken on Messenger too, where a profile has no parts).
fn profile_name(surface: Surface, profile: &Value) -> Option<String> {
    let part = |k: &str| profile[k].as_str().map(str::trim).filter(|s| !s.is_empty());
    let name = match surface {
        Surface::Messenger => {
            let joined = [part("first_name"), part("last_name")]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            Some(joined)
                .filter(|j| !j.is_empty())
                .or(part("name").map(str::to_owned))
        }
        Surface::Instagram => part("name")
            .map(str::to_owned)
            .or(part("username").map(str::to_owned)),
    };
    name.map(|n| n.chars().take(255).collect())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};
    use serde_json::json;
    use throughline_core::crypto::hmac_sha256_hex;

    use crate::outbound::{DeliveryRef, OutgoingMessage};
    use crate::test_server::{Reply, ScriptedServer, json_reply};

    /// A Graph API stand-in answering each request with the next scripted reply, then with a
    /// sent message's answer.
    async fn graph(script: Vec<Reply>) -> ScriptedServer {
        let server = ScriptedServer::start(|_, _| {
            (
                200,
                "application/json",
                br#"{"recipient_id":"1","message_id":"m_default"}"#.to_vec(),
            )
        })
        .await;
        for reply in script {
            server.then(reply);
        }
        server
    }

    fn json_answer(status: u16, body: Value) -> Reply {
        json_reply(status, &body)
    }

    fn outbound(text: &str) -> OutboundMessage {
        OutboundMessage {
            delivery: DeliveryRef {
                id: "d1".into(),
                target: "facebook_page:1".into(),
                event: "message_created".into(),
                event_id: 1,
                payload: Vec::new(),
            },
            message: Some(OutgoingMessage {
                message_id: 1,
                conversation_id: 1,
                conversation_uuid: "u".into(),
                text: text.into(),
                recipient: None,
                channel_address: Some("24012345678901234".into()),
                phone: None,
                template: None,
                reply_to_external_id: None,
                last_incoming_at: Some(now_ms() - 60_000),
                agent_name: Some("Rita".into()),
                inbox_name: "Loja".into(),
                thread_keys: vec![],
                subject: None,
                attachments: vec![],
                automatic: false,
            }),
        }
    }

    fn adapter(surface: Surface, graph: &str, app_secret: Option<&str>) -> MetaAdapter {
        crate::ensure_crypto_provider();
        MetaAdapter::new(
            surface,
            MetaPageSettings {
                page_id: "1234567890".into(),
                page_access_token: "EAAG-page".into(),
                app_secret: app_secret.map(str::to_owned),
                verify_token: Some("verify-me".into()),
            },
            crate::OutboundClient::new(
                std::time::Duration::from_secs(10),
                &crate::OutboundPolicy::allow_all(),
                &[],
            )
            .unwrap(),
            &ProviderEndpoints {
                meta_graph: graph.into(),
                meta_app_secret: Some("instance-secret".into()),
                ..ProviderEndpoints::default()
            },
        )
    }

    fn signed(headers: &mut HeaderMap, value: &str) {
        headers.insert("x-hub-signature-256", HeaderValue::from_str(value).unwrap());
    }

    #[test]
    fn webhooks_are_verified_with_the_app_secret() {
        let a = adapter(
            Surface::Messenger,
            "https://graph.facebook.com/v22.0",
            Some("s3cret"),
        );
        let body = br#"{"object":"page","entry":[]}"#;
        let mut headers = HeaderMap::new();
        fn raw<'a>(h: &'a HeaderMap, body: &'a [u8]) -> RawInbound<'a> {
            RawInbound::webhook(h, body, "https://tl.example/bot")
        }
        assert_eq!(
            a.verify(&raw(&headers, body)).unwrap_err().status,
            401,
            "missing"
        );
        signed(
            &mut headers,
            &format!("sha256={}", hmac_sha256_hex(b"s3cret", body)),
        );
        assert!(a.verify(&raw(&headers, body)).is_ok());
        signed(
            &mut headers,
            &format!("sha256={}", hmac_sha256_hex(b"other", body)),
        );
        assert_eq!(
            a.verify(&raw(&headers, body)).unwrap_err().status,
            401,
            "wrong"
        );
        // Without its own secret the inbox uses the instance's.
        let b = adapter(Surface::Instagram, "https://graph.facebook.com/v22.0", None);
        signed(
            &mut headers,
            &format!("sha256={}", hmac_sha256_hex(b"instance-secret", body)),
        );
        assert!(b.verify(&raw(&headers, body)).is_ok());
    }

    #[test]
    fn the_handshake_takes_only_the_verify_token() {
        let a = adapter(Surface::Messenger, "https://graph.facebook.com/v22.0", None);
        let ok = a
            .handshake("hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=42")
            .unwrap();
        assert_eq!(ok.body, b"42");
        let no = a.handshake("hub.mode=subscribe&hub.verify_token=verify-you&hub.challenge=42");
        assert_eq!(no.unwrap_err().status, 403);
    }

    #[test]
    fn files_are_fetched_only_from_meta_or_the_graph_base() {
        let real = adapter(
            Surface::Messenger,
            "https://graph.facebook.com/v22.0/",
            None,
        );
        assert!(
            real.may_fetch("https://scontent.xx.fbcdn.net/v/x.jpg?oh=1")
                .is_ok()
        );
        assert!(
            real.may_fetch("http://169.254.169.254/latest/meta-data")
                .is_err()
        );
        assert!(real.may_fetch("file:///etc/passwd").is_err());
        assert!(real.may_fetch("not a url").is_err());
        let fake = adapter(Surface::Instagram, "http://127.0.0.1:4321", None);
        assert!(fake.may_fetch("http://127.0.0.1:4321/media/abc").is_ok());
        assert!(fake.may_fetch("http://127.0.0.1:43210/media/abc").is_err());
        assert!(
            fake.may_fetch("http://127.0.0.1:4321@evil.example/media")
                .is_err()
        );
        assert!(fake.may_fetch("http://localhost:4321/media/abc").is_err());
        let versioned = adapter(Surface::Instagram, "http://127.0.0.1:4321/v22.0", None);
        assert!(
            versioned
                .may_fetch("http://127.0.0.1:4321/v22.0/media/x")
                .is_ok()
        );
        assert!(
            versioned
                .may_fetch("http://127.0.0.1:4321/v22.0x/media")
                .is_err()
        );
        assert!(versioned.may_fetch("http://127.0.0.1:4321/admin").is_err());
    }

    #[test]
    fn profile_names() {
        let p = json!({"first_name": "Ana", "last_name": "Silva", "id": "1"});
        assert_eq!(
            profile_name(Surface::Messenger, &p).as_deref(),
            Some("Ana Silva")
        );
        let only_name = json!({"id": "1", "name": "Fake"});
        assert_eq!(
            profile_name(Surface::Messenger, &only_name).as_deref(),
            Some("Fake")
        );
        let ig = json!({"username": "ana.s", "id": "1"});
        assert_eq!(
            profile_name(Surface::Instagram, &ig).as_deref(),
            Some("ana.s")
        );
        assert_eq!(
            profile_name(Surface::Instagram, &json!({"name": " "})),
            None
        );
    }

    #[test]
    fn failures_and_rules_name_the_surface() {
        let a = adapter(Surface::Instagram, "https://graph.facebook.com/v22.0", None);
        assert_eq!(a.channel_type(), ChannelType::Instagram);
        assert_eq!(
            a.describe_failure(
                "instagram:1",
                "(#551) This person isn't available right now."
            ),
            "Instagram did not deliver this message: (#551) This person isn't available right now."
        );
        assert_eq!(
            a.reply_rules(),
            ReplyRules::for_channel(ChannelType::Instagram)
        );
        assert!(a.needs_message());
    }

    #[tokio::test]
    async fn a_reply_goes_to_the_send_api_with_the_page_token() {
        let graph = graph(vec![json_answer(
            200,
            json!({"recipient_id": "24012345678901234", "message_id": "m_first"}),
        )])
        .await;
        let a = adapter(Surface::Messenger, &format!("{}/", graph.url), None);
        let sent = a.send(&outbound(&"a".repeat(2500))).await;
        assert_eq!(
            sent,
            SendOutcome::Accepted {
                provider_id: Some("m_first".into()),
                status: Some(200)
            }
        );
        let seen = graph.seen();
        assert_eq!(seen.len(), 2, "2500 characters are two Messenger messages");
        assert_eq!(seen[0].line, "POST /me/messages");
        assert!(seen[0].head.contains("authorization: bearer eaag-page"));
        let first: Value = serde_json::from_slice(&seen[0].body).unwrap();
        assert_eq!(first["recipient"]["id"], "24012345678901234");
        assert_eq!(first["messaging_type"], "RESPONSE");
        assert_eq!(first["message"]["text"].as_str().unwrap().len(), 2000);
    }

    #[tokio::test]
    async fn a_later_parts_failure_is_final_and_a_rate_limit_is_retried() {
        let limited = json!({"error": {"message": "Calls to this api have exceeded the rate limit.",
            "type": "OAuthException", "code": 613}});
        let graph = graph(vec![
            json_answer(200, json!({"message_id": "m_1"})),
            json_answer(400, limited.clone()),
            json_answer(400, limited),
        ])
        .await;
        let a = adapter(Surface::Instagram, &graph.url, None);
        let SendOutcome::Permanent { reason, .. } = a.send(&outbound(&"b".repeat(1500))).await
        else {
            panic!("a partial send is not retried")
        };
        assert_eq!(
            reason,
            "only the first 1 of 2 parts were sent: (#613) Calls to this api have exceeded the rate limit."
        );
        let SendOutcome::Temporary { reason, .. } = a.send(&outbound("hi")).await else {
            panic!("a rate limit is retried")
        };
        assert!(reason.starts_with("(#613)"), "{reason}");
        let mut closed = outbound("hi");
        if let Some(m) = closed.message.as_mut() {
            m.last_incoming_at = None;
        }
        assert!(matches!(
            a.send(&closed).await,
            SendOutcome::Permanent { .. }
        ));
        assert_eq!(graph.seen().len(), 3, "a closed window sends nothing");
    }

    #[tokio::test]
    async fn credentials_and_names_are_asked_of_the_graph() {
        let graph = graph(vec![
            json_answer(200, json!({"id": "1234567890", "name": "Loja"})),
            json_answer(
                400,
                json!({"error": {"message": "Error validating access token", "type": "OAuthException", "code": 190}}),
            ),
            json_answer(200, json!({"first_name": "Ana", "last_name": "Silva", "id": "1"})),
            json_answer(500, json!({"error": {"message": "x", "code": 2}})),
        ])
        .await;
        let a = adapter(Surface::Messenger, &graph.url, None);
        assert_eq!(a.check_credentials().await.unwrap()["name"], "Loja");
        assert_eq!(
            a.check_credentials().await.unwrap_err(),
            "(#190) Error validating access token"
        );
        assert_eq!(a.sender_name("2401").await.as_deref(), Some("Ana Silva"));
        assert_eq!(a.sender_name("2401").await, None);
        assert_eq!(a.sender_name("../me").await, None, "never asked");
        let seen = graph.seen();
        assert_eq!(seen.len(), 4);
        assert_eq!(seen[0].line, "GET /me?fields=id,name");
        assert!(seen[0].head.contains("authorization: bearer eaag-page"));
        assert_eq!(seen[2].line, "GET /2401?fields=first_name,last_name");
    }

    #[tokio::test]
    async fn a_file_is_downloaded_with_the_type_it_is_served_with() {
        let graph = graph(vec![
            (200, "image/png", b"PNG".to_vec()),
            (200, "application/octet-stream", b"???".to_vec()),
        ])
        .await;
        let a = adapter(Surface::Messenger, &graph.url, None);
        let media = |handle: String| MediaRef {
            handle,
            content_type: Some("image/jpeg".into()),
            file_name: None,
        };
        let png = a
            .fetch_media(&media(format!("{}/media/p", graph.url)), 1 << 20)
            .await
            .unwrap();
        assert_eq!(
            (png.content_type.as_str(), png.data.as_slice()),
            ("image/png", &b"PNG"[..])
        );
        let generic = a
            .fetch_media(&media(format!("{}/media/q", graph.url)), 1 << 20)
            .await
            .unwrap();
        assert_eq!(generic.content_type, "image/jpeg");
        assert!(
            !graph.seen()[0].head.contains("authorization"),
            "no token to a CDN"
        );
        assert!(
            a.fetch_media(&media("http://10.0.0.1/x".into()), 1 << 20)
                .await
                .is_err()
        );
    }
}
