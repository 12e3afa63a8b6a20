//! Telegram through the Bot API.
//!
//! Creating the inbox registers our webhook with `setWebhook`
//! (`/webhooks/telegram/{bot_token}`, a `secret_token`, and the updates we read: `message`,
//! `edited_message`, `callback_query`). Telegram then POSTs one `Update` JSON per request with
//! that secret in `X-Telegram-Bot-Api-Secret-Token`, and retries it until it is answered 2xx:
//! update kinds we do not read are answered with nothing stored, so they stop coming back. A
//! message is known by its chat and its id in that chat (`"{chat_id}:{message_id}"`), and the
//! chat is the contact: a group or supergroup is one conversation with several people writing.
//!
//! Every method is called at `{api}/bot{token}/{method}` and answers
//! `{"ok": true, "result": …}` or `{"ok": false, "error_code": …, "description": …}` with the
//! HTTP status matching the code (429 carries `parameters.retry_after`). Files the customer
//! sent are fetched in two steps, `getFile` (a `file_path`, for files up to 20 MB) then
//! `GET {api}/file/bot{token}/{file_path}`; files we send are uploaded as multipart (up to
//! 50 MB).
//!
//! The Bot API has no delivery or read receipts: a message Telegram accepted stays "sent".
//! The bot token is part of every URL, so it is cut out of any error text we keep.

mod parse;
mod send;

use futures::future::BoxFuture;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use throughline_core::crypto::constant_time_eq;
use throughline_core::messaging::TelegramSettings;
use throughline_core::model::ChannelType;
use throughline_core::reply_channel::ReplyRules;

use crate::provider_api::{download, send_json};
use crate::registry::ProviderEndpoints;
use crate::{
    ChannelAdapter, Inbound, InboundAttachment, MediaRef, OutboundMessage, RawInbound, Rejected,
    SendOutcome,
};

pub use parse::parse_update;
use send::{Call, chat_id_value, error_text, plan, reply_parameters};

/// The header Telegram repeats the `secret_token` given to `setWebhook` in.
const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

pub struct TelegramAdapter {
    settings: TelegramSettings,
    http: crate::OutboundClient,
    api: String,
}

impl TelegramAdapter {
    pub fn new(
        settings: TelegramSettings,
        http: crate::OutboundClient,
        endpoints: &ProviderEndpoints,
    ) -> Self {
        Self {
            settings,
            http,
            api: endpoints.telegram_api.trim_end_matches('/').to_owned(),
        }
    }

    fn method_url(&self, method: &str) -> String {
        format!("{}/bot{}/{method}", self.api, self.settings.bot_token)
    }

    fn file_url(&self, file_path: &str) -> String {
        format!(
            "{}/file/bot{}/{}",
            self.api,
            self.settings.bot_token,
            file_path.trim_start_matches('/')
        )
    }

    /// `text` without the bot token, which reqwest's errors quote as part of the URL.
    fn redact(&self, text: String) -> String {
        let token = self.settings.bot_token.trim();
        if token.is_empty() {
            text
        } else {
            text.replace(token, "<bot token>")
        }
    }

    /// A Bot API call whose `result` is needed; Telegram's own `description` when it refuses.
    async fn call(&self, request: crate::Outgoing) -> Result<Value, String> {
        let response = request.send().await.map_err(|e| match e {
            crate::SendError::Refused(r) => self.redact(r.to_string()),
            crate::SendError::Http(e) if e.is_timeout() => {
                "Telegram did not answer in time".to_owned()
            }
            crate::SendError::Http(e) => {
                self.redact(format!("could not reach Telegram: {}", e.without_url()))
            }
        })?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(|e| {
            self.redact(format!(
                "Telegram's answer was cut off: {}",
                e.without_url()
            ))
        })?;
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if body["ok"].as_bool() == Some(true) {
            return Ok(body["result"].clone());
        }
        Err(self.redact(error_text(&body).unwrap_or_else(|| {
            let snippet: String = text.chars().take(300).collect();
            format!("HTTP {status}: {snippet}")
        })))
    }

    /// Points the bot's updates at `url`, with the inbox's secret.
    pub async fn set_webhook(&self, url: &str) -> Result<(), String> {
        self.call(self.http.post(self.method_url("setWebhook")).json(&json!({
            "url": url,
            "secret_token": self.settings.secret_token,
            "allowed_updates": ["message", "edited_message", "callback_query"],
        })))
        .await
        .map(|_| ())
    }

    /// `getMe`: the bot Telegram knows by this token, or its error when the token is wrong.
    pub async fn check_credentials(&self) -> Result<Value, String> {
        self.call(self.http.get(self.method_url("getMe"))).await
    }

    /// One call of a send; the provider id is `"{chat}:{message_id}"`, as customers' messages
    /// are known.
    async fn send_call(&self, chat: &str, call: &Call<'_>, reply: Option<&Value>) -> SendOutcome {
        let request = match call {
            Call::Text(text) => {
                let mut body = json!({ "chat_id": chat_id_value(chat), "text": text });
                if let Some(r) = reply {
                    body["reply_parameters"] = r.clone();
                }
                self.http.post(self.method_url("sendMessage")).json(&body)
            }
            Call::Upload {
                file,
                method,
                field,
                caption,
            } => {
                let mut form = Form::new().text("chat_id", chat.to_owned());
                if let Some(c) = caption {
                    form = form.text("caption", (*c).to_owned());
                }
                if let Some(r) = reply {
                    form = form.text("reply_parameters", r.to_string());
                }
                form = form.part(*field, file_part(file));
                self.http.post(self.method_url(method)).multipart(form)
            }
        };
        let outcome = send_json(
            request,
            |v| {
                let result = &v["result"];
                let id = result["message_id"].as_i64()?;
                let chat = result["chat"]["id"]
                    .as_i64()
                    .map_or_else(|| chat.to_owned(), |c| c.to_string());
                Some(format!("{chat}:{id}"))
            },
            error_text,
        )
        .await;
        match outcome {
            SendOutcome::Temporary { reason, status } => SendOutcome::Temporary {
                reason: self.redact(reason),
                status,
            },
            SendOutcome::Permanent { reason, status } => SendOutcome::Permanent {
                reason: self.redact(reason),
                status,
            },
            accepted => accepted,
        }
    }
}

/// A file's multipart part, typed when its content type is a valid MIME type.
fn file_part(file: &crate::outbound::OutgoingFile) -> Part {
    // Control characters would break the part's Content-Disposition line.
    let name: String = file.file_name.chars().filter(|c| !c.is_control()).collect();
    let name = if name.trim().is_empty() {
        "file".to_owned()
    } else {
        name
    };
    let part = || Part::bytes(file.data.clone()).file_name(name.clone());
    // `mime_str` consumes the part even when it refuses the type: try it on an empty one.
    if Part::bytes(Vec::new())
        .mime_str(&file.content_type)
        .is_err()
    {
        return part();
    }
    part()
        .mime_str(&file.content_type)
        .unwrap_or_else(|_| part())
}

impl ChannelAdapter for TelegramAdapter {
    fn channel_type(&self) -> ChannelType {
        ChannelType::Telegram
    }

    fn verify(&self, request: &RawInbound<'_>) -> Result<(), Rejected> {
        let expected = self.settings.secret_token.as_bytes();
        if expected.is_empty() {
            return Err(Rejected::unauthorized(
                "no secret token is configured for this bot, so its updates cannot be verified",
            ));
        }
        let given = request
            .header(SECRET_HEADER)
            .ok_or_else(|| Rejected::unauthorized("X-Telegram-Bot-Api-Secret-Token is missing"))?;
        if constant_time_eq(given.as_bytes(), expected) {
            Ok(())
        } else {
            Err(Rejected::unauthorized(
                "X-Telegram-Bot-Api-Secret-Token is not the secret registered for this bot",
            ))
        }
    }

    fn parse(&self, request: &RawInbound<'_>) -> Result<Vec<Inbound>, Rejected> {
        parse_update(request.body)
    }

    fn fetch_media<'a>(
        &'a self,
        media: &'a MediaRef,
        limit: usize,
    ) -> BoxFuture<'a, Result<InboundAttachment, String>> {
        Box::pin(async move {
            let query = serde_html_form::to_string([("file_id", media.handle.as_str())])
                .map_err(|e| format!("cannot ask Telegram for the file: {e}"))?;
            let file = self
                .call(
                    self.http
                        .get(format!("{}?{query}", self.method_url("getFile"))),
                )
                .await?;
            if file["file_size"].as_u64().is_some_and(|n| n > limit as u64) {
                return Err(format!("the file is larger than {} MiB", limit >> 20));
            }
            let path = file["file_path"]
                .as_str()
                .filter(|p| !p.is_empty())
                .ok_or("Telegram gave no path for the file")?;
            let (data, served_type) = download(self.http.get(self.file_url(path)), limit)
                .await
                .map_err(|e| self.redact(e))?;
            Ok(InboundAttachment {
                file_name: media.file_name.clone().or_else(|| {
                    path.rsplit('/')
                        .next()
                        .filter(|n| !n.is_empty())
                        .map(str::to_owned)
                }),
                content_type: media
                    .content_type
                    .clone()
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
            let Some(m) = &out.message else {
                return SendOutcome::permanent("the delivery carries no message");
            };
            let Some(chat) = m
                .channel_address
                .as_deref()
                .map(str::trim)
                .filter(|c| !c.is_empty())
            else {
                return SendOutcome::permanent(
                    "the contact has no Telegram chat with this bot (they must write to it first)",
                );
            };
            let calls = match plan(m) {
                Ok(c) => c,
                Err(reason) => return SendOutcome::permanent(reason),
            };
            let reply = reply_parameters(chat, m.reply_to_external_id.as_deref());
            let mut first = None;
            for (i, call) in calls.iter().enumerate() {
                let quote = if i == 0 { reply.as_ref() } else { None };
                match self.send_call(chat, call, quote).await {
                    SendOutcome::Accepted { .. } if first.is_some() => {}
                    accepted @ SendOutcome::Accepted { .. } => first = Some(accepted),
                    // The retry repeats the pieces already delivered: a repeated piece is
                    // better than a customer who never gets the rest.
                    failed => return failed,
                }
            }
            first.unwrap_or_else(|| SendOutcome::permanent("nothing was sent"))
        })
    }

    fn describe_failure(&self, _target: &str, error: &str) -> String {
        format!("Telegram did not deliver this message: {error}")
    }

    fn reply_rules(&self) -> ReplyRules {
        ReplyRules::for_channel(ChannelType::Telegram)
    }
}

#[cfg(test)]
mod tests {
    use reqwest::header::{HeaderMap, HeaderValue};

    use super::*;
    use crate::outbound::{DeliveryRef, OutgoingFile, OutgoingMessage};
    use crate::test_server::{ScriptedServer, json_reply};

    const TOKEN: &str = "123456:AAH-test-token";

    /// The Bot API as the adapter meets it: queued answers first, else Telegram's usual ones.
    async fn bot_api() -> ScriptedServer {
        ScriptedServer::start(|request, n| {
            let path = request.path.as_str();
            if path.contains("/file/bot") {
                (200, "image/jpeg", b"JPEG".to_vec())
            } else if path.ends_with("/getMe") {
                json_reply(
                    200,
                    &json!({"ok": true, "result": {"id": 123_456,
                        "is_bot": true, "first_name": "Loja", "username": "loja_bot"}}),
                )
            } else if path.contains("/getFile") {
                json_reply(
                    200,
                    &json!({"ok": true, "result": {"file_id": "AgAD",
                        "file_unique_id": "u", "file_size": 4, "file_path": "photos/file_7.jpg"}}),
                )
            } else if path.ends_with("/setWebhook") {
                json_reply(
                    200,
                    &json!({"ok": true, "result": true, "description": "Webhook was set"}),
                )
            } else {
                // Multipart calls carry the chat as a form field: the real API answers with
                // the chat either way.
                let chat = request.json()["chat_id"].clone();
                let chat = if chat.is_null() { json!(4242) } else { chat };
                json_reply(
                    200,
                    &json!({"ok": true, "result": {"message_id": 100 + n,
                        "date": 1_700_000_000, "chat": {"id": chat, "type": "private"}}}),
                )
            }
        })
        .await
    }

    fn adapter(api: &str) -> TelegramAdapter {
        crate::ensure_crypto_provider();
        TelegramAdapter::new(
            TelegramSettings {
                bot_token: TOKEN.into(),
                secret_token: "s3cret-Token_1".into(),
                bot_name: Some("loja_bot".into()),
            },
            crate::OutboundClient::new(
                std::time::Duration::from_secs(10),
                &crate::OutboundPolicy::allow_all(),
                &[],
            )
            .unwrap(),
            &ProviderEndpoints {
                telegram_api: format!("{api}/"),
                ..ProviderEndpoints::default()
            },
        )
    }

    fn outbound(text: &str, attachments: Vec<OutgoingFile>) -> OutboundMessage {
        OutboundMessage {
            delivery: DeliveryRef {
                id: "d1".into(),
                target: "telegram:1".into(),
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
                channel_address: Some("4242".into()),
                phone: None,
                template: None,
                reply_to_external_id: None,
                last_incoming_at: None,
                agent_name: Some("Rita".into()),
                inbox_name: "Loja".into(),
                thread_keys: vec![],
                subject: None,
                attachments,
                automatic: false,
            }),
        }
    }

    fn photo() -> OutgoingFile {
        OutgoingFile {
            file_name: "recibo.png".into(),
            content_type: "image/png".into(),
            data: b"\x89PNG-bytes".to_vec(),
            url: None,
        }
    }

    fn request_with(headers: &HeaderMap) -> RawInbound<'_> {
        RawInbound::webhook(headers, b"{}", "https://example.com/webhooks/telegram/x")
    }

    #[test]
    fn only_the_registered_secret_is_accepted() {
        let a = adapter("http://127.0.0.1:9");
        let mut good = HeaderMap::new();
        good.insert(SECRET_HEADER, HeaderValue::from_static("s3cret-Token_1"));
        assert!(a.verify(&request_with(&good)).is_ok());

        let missing = a.verify(&request_with(&HeaderMap::new())).unwrap_err();
        assert_eq!(missing.status, 401);
        assert!(missing.reason.contains("missing"), "{missing:?}");

        let mut wrong = HeaderMap::new();
        wrong.insert(SECRET_HEADER, HeaderValue::from_static("s3cret-Token_2"));
        let wrong = a.verify(&request_with(&wrong)).unwrap_err();
        assert_eq!(wrong.status, 401);
        assert!(wrong.reason.contains("not the secret"), "{wrong:?}");

        let mut unset = adapter("http://127.0.0.1:9");
        unset.settings.secret_token.clear();
        let mut empty = HeaderMap::new();
        empty.insert(SECRET_HEADER, HeaderValue::from_static(""));
        assert_eq!(unset.verify(&request_with(&empty)).unwrap_err().status, 401);
    }

    #[tokio::test]
    async fn a_reply_is_sent_as_text_quoting_the_customers_message() {
        let api = bot_api().await;
        let a = adapter(&api.url);
        let mut out = outbound("Seu pedido saiu hoje", vec![]);
        if let Some(m) = out.message.as_mut() {
            m.reply_to_external_id = Some("4242:52".into());
        }
        let SendOutcome::Accepted { provider_id, .. } = a.send(&out).await else {
            panic!("accepted")
        };
        let seen = api.seen();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].path, format!("/bot{TOKEN}/sendMessage"));
        assert_eq!(
            seen[0].json(),
            json!({"chat_id": 4242, "text": "Seu pedido saiu hoje",
                "reply_parameters": {"message_id": 52, "allow_sending_without_reply": true}})
        );
        assert_eq!(provider_id, Some(format!("4242:{}", 101)));
    }

    #[tokio::test]
    async fn long_text_goes_in_pieces_and_the_first_names_the_send() {
        let api = bot_api().await;
        let a = adapter(&api.url);
        let text = "ą".repeat(4096 + 10);
        let SendOutcome::Accepted { provider_id, .. } = a.send(&outbound(&text, vec![])).await
        else {
            panic!("accepted")
        };
        let seen = api.seen();
        assert_eq!(seen.len(), 2);
        let texts: Vec<String> = seen
            .iter()
            .map(|s| s.json()["text"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(texts[0].chars().count(), 4096);
        assert_eq!(texts[1], "ą".repeat(10));
        assert_eq!(provider_id.as_deref(), Some("4242:101"));
    }

    #[tokio::test]
    async fn files_are_uploaded_with_the_text_as_caption() {
        let api = bot_api().await;
        let a = adapter(&api.url);
        let voice = OutgoingFile {
            file_name: "audio.ogg".into(),
            content_type: "audio/ogg".into(),
            data: b"OggS".to_vec(),
            url: Some("https://example.com/never-fetched".into()),
        };
        let SendOutcome::Accepted { provider_id, .. } = a
            .send(&outbound("Aqui está o recibo", vec![photo(), voice]))
            .await
        else {
            panic!("accepted")
        };
        let seen = api.seen();
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0].path, format!("/bot{TOKEN}/sendPhoto"));
        assert!(seen[0].head.contains("multipart/form-data"));
        let first = seen[0].text();
        assert!(first.contains("name=\"chat_id\"\r\n\r\n4242"), "{first}");
        assert!(first.contains("name=\"caption\"\r\n\r\nAqui está o recibo"));
        assert!(first.contains("name=\"photo\"; filename=\"recibo.png\""));
        assert!(seen[0].body.windows(10).any(|w| w == b"\x89PNG-bytes"));
        assert_eq!(seen[1].path, format!("/bot{TOKEN}/sendVoice"));
        let second = seen[1].text();
        assert!(second.contains("name=\"voice\"; filename=\"audio.ogg\""));
        assert!(!second.contains("caption"));
        assert!(second.contains("OggS"));
        assert_eq!(provider_id.as_deref(), Some("4242:101"));
    }

    #[tokio::test]
    async fn telegrams_refusals_are_permanent_and_its_limits_temporary() {
        let api = bot_api().await;
        let a = adapter(&api.url);
        api.then(json_reply(
            403,
            &json!({"ok": false, "error_code": 403,
            "description": "Forbidden: bot was blocked by the user"}),
        ));
        assert_eq!(
            a.send(&outbound("Oi", vec![])).await,
            SendOutcome::Permanent {
                reason: "Forbidden: bot was blocked by the user".into(),
                status: Some(403)
            }
        );
        api.then(json_reply(
            429,
            &json!({"ok": false, "error_code": 429,
            "description": "Too Many Requests: retry after 7", "parameters": {"retry_after": 7}}),
        ));
        assert!(matches!(
            a.send(&outbound("Oi", vec![])).await,
            SendOutcome::Temporary { status: Some(429), ref reason } if reason.contains("retry after 7")
        ));
        api.then(json_reply(
            502,
            &json!({"ok": false, "error_code": 502, "description": "Bad Gateway"}),
        ));
        assert!(matches!(
            a.send(&outbound("Oi", vec![])).await,
            SendOutcome::Temporary {
                status: Some(502),
                ..
            }
        ));

        let mut template = outbound("Oi", vec![]);
        if let Some(m) = template.message.as_mut() {
            m.template = Some(json!({"name": "hello_world"}));
        }
        assert!(matches!(
            a.send(&template).await,
            SendOutcome::Permanent { .. }
        ));
        let mut nowhere = outbound("Oi", vec![]);
        if let Some(m) = nowhere.message.as_mut() {
            m.channel_address = None;
        }
        assert!(matches!(
            a.send(&nowhere).await,
            SendOutcome::Permanent { .. }
        ));
        assert_eq!(api.seen().len(), 3, "refused sends never reach Telegram");
    }

    #[tokio::test]
    async fn an_unreachable_api_is_retried_without_showing_the_token() {
        // A server that hangs up on every request: the connection fails the same way each run.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                drop(socket);
            }
        });
        let a = adapter(&url);
        let SendOutcome::Temporary { reason, .. } = a.send(&outbound("Oi", vec![])).await else {
            panic!("temporary")
        };
        assert!(!reason.contains("AAH-test-token"), "{reason}");
        let err = a.check_credentials().await.unwrap_err();
        assert!(!err.contains("AAH-test-token"), "{err}");
    }

    #[tokio::test]
    async fn the_webhook_is_registered_with_its_secret() {
        let api = bot_api().await;
        let a = adapter(&api.url);
        a.set_webhook("https://desk.example.com/webhooks/telegram/123456:AAH-test-token")
            .await
            .unwrap();
        let seen = api.seen();
        assert_eq!(seen[0].path, format!("/bot{TOKEN}/setWebhook"));
        assert_eq!(
            seen[0].json(),
            json!({"url": "https://desk.example.com/webhooks/telegram/123456:AAH-test-token",
                "secret_token": "s3cret-Token_1",
                "allowed_updates": ["message", "edited_message", "callback_query"]})
        );
        api.then(json_reply(
            400,
            &json!({"ok": false, "error_code": 400,
            "description": "Bad Request: bad webhook: HTTPS url must be provided for webhook"}),
        ));
        assert_eq!(
            a.set_webhook("http://insecure").await.unwrap_err(),
            "Bad Request: bad webhook: HTTPS url must be provided for webhook"
        );

        let me = a.check_credentials().await.unwrap();
        assert_eq!(me["username"], "loja_bot");
        api.then(json_reply(
            401,
            &json!({"ok": false, "error_code": 401, "description": "Unauthorized"}),
        ));
        assert_eq!(a.check_credentials().await.unwrap_err(), "Unauthorized");
    }

    #[tokio::test]
    async fn a_customers_file_is_looked_up_then_downloaded() {
        let api = bot_api().await;
        let a = adapter(&api.url);
        let media = MediaRef {
            handle: "AgAD+/=".into(),
            content_type: Some("image/jpeg".into()),
            file_name: None,
        };
        let file = a.fetch_media(&media, 1024).await.unwrap();
        assert_eq!(file.data, b"JPEG");
        assert_eq!(file.content_type, "image/jpeg");
        assert_eq!(file.file_name.as_deref(), Some("file_7.jpg"));
        let seen = api.seen();
        assert_eq!(
            seen[0].path,
            format!("/bot{TOKEN}/getFile?file_id=AgAD%2B%2F%3D")
        );
        assert_eq!(seen[1].path, format!("/file/bot{TOKEN}/photos/file_7.jpg"));

        // Telegram says how big the file is: a file over the limit is not downloaded.
        let err = a.fetch_media(&media, 3).await.unwrap_err();
        assert!(err.contains("larger"), "{err}");
        assert_eq!(api.seen().len(), 3);
        api.then(json_reply(
            400,
            &json!({"ok": false, "error_code": 400,
            "description": "Bad Request: file is too big"}),
        ));
        assert_eq!(
            a.fetch_media(&media, 1024).await.unwrap_err(),
            "Bad Request: file is too big"
        );
    }

    #[test]
    fn failures_are_worded_for_the_agent() {
        let a = adapter("http://127.0.0.1:9");
        assert_eq!(
            a.describe_failure("telegram:1", "Forbidden: bot was blocked by the user"),
            "Telegram did not deliver this message: Forbidden: bot was blocked by the user"
        );
        assert_eq!(
            a.reply_rules(),
            ReplyRules::for_channel(ChannelType::Telegram)
        );
        assert!(a.needs_message());
    }
}
