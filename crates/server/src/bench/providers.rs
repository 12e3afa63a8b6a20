//! Provider webhooks: customers writing through Twilio (SMS), WhatsApp's Cloud API, Telegram
//! and Messenger, each request signed as its provider signs it and posted to Chatwoot's path
//! for it; a message counts when the provider's 2xx came (after the commit) and is timed to
//! the agent's socket. A small stand-in for the providers' APIs answers what the server asks
//! of them (Telegram's `setWebhook`, a Messenger profile), so nothing leaves the machine.

use std::sync::{Arc, Mutex};

use anyhow::Context;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::Uri;
use serde_json::{Value, json};
use throughline_core::crypto::hmac_sha256_hex;

use super::load::{Ingest, Target, drive};

const TWILIO_SID: &str = "AC00000000000000000000000000bench0";
const TWILIO_TOKEN: &str = "bench-twilio-auth-token";
const TWILIO_NUMBER: &str = "+14155238886";
const WHATSAPP_NUMBER: &str = "+551130040000";
const WHATSAPP_NUMBER_ID: &str = "109000000000001";
const META_SECRET: &str = "bench-meta-app-secret";
const BOT_TOKEN: &str = "100000001:AAbenchbenchbenchbenchbenchbenchben";
const PAGE_ID: &str = "104000000000001";

/// The channels measured, in the table's order.
#[derive(Clone, Copy, Debug)]
pub enum Channel {
    TwilioSms,
    WhatsappCloud,
    Telegram,
    Messenger,
}

impl Channel {
    pub const ALL: [Channel; 4] = [
        Channel::TwilioSms,
        Channel::WhatsappCloud,
        Channel::Telegram,
        Channel::Messenger,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Channel::TwilioSms => "SMS (Twilio)",
            Channel::WhatsappCloud => "WhatsApp Cloud",
            Channel::Telegram => "Telegram",
            Channel::Messenger => "Messenger",
        }
    }
}

/// Stands in for the providers' APIs: records the secret Telegram is given, answers the rest.
pub struct ProviderApis {
    pub url: String,
    telegram_secret: Arc<Mutex<Option<String>>>,
    task: tokio::task::JoinHandle<()>,
}

async fn answer(
    State(secret): State<Arc<Mutex<Option<String>>>>,
    uri: Uri,
    body: Bytes,
) -> axum::Json<Value> {
    let path = uri.path();
    if path.ends_with("/setWebhook") {
        let args: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        if let Some(s) = args["secret_token"].as_str() {
            *secret.lock().unwrap_or_else(|e| e.into_inner()) = Some(s.to_owned());
        }
        return axum::Json(json!({"ok": true, "result": true}));
    }
    if path.starts_with("/bot") {
        return axum::Json(json!({"ok": true, "result": {"message_id": 1}}));
    }
    let id = path.rsplit('/').next().unwrap_or_default();
    axum::Json(json!({"id": id, "first_name": "Cliente", "last_name": id}))
}

impl ProviderApis {
    pub async fn start() -> anyhow::Result<ProviderApis> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let telegram_secret = Arc::new(Mutex::new(None));
        let router = Router::new()
            .fallback(answer)
            .with_state(telegram_secret.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(ProviderApis {
            url,
            telegram_secret,
            task,
        })
    }

    /// The server's settings that point it here.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("THROUGHLINE_TWILIO_API_URL".into(), self.url.clone()),
            ("THROUGHLINE_META_GRAPH_URL".into(), self.url.clone()),
            ("THROUGHLINE_TELEGRAM_API_URL".into(), self.url.clone()),
            ("THROUGHLINE_META_APP_SECRET".into(), META_SECRET.into()),
        ]
    }

    fn telegram_secret(&self) -> Option<String> {
        self.telegram_secret
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Drop for ProviderApis {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What signing Telegram's requests needs once the inboxes exist.
pub struct Inboxes {
    telegram_secret: String,
}

async fn create(t: &Target, path: &str, body: Value) -> anyhow::Result<()> {
    let r = t
        .client
        .post(format!("{}/api/v1/accounts/{}{path}", t.base, t.account))
        .header("api_access_token", &t.token)
        .json(&body)
        .send()
        .await?;
    anyhow::ensure!(
        r.status().is_success(),
        "creating a provider inbox: {} {}",
        r.status(),
        r.text().await.unwrap_or_default()
    );
    Ok(())
}

/// One inbox per provider.
pub async fn create_inboxes(t: &Target, apis: &ProviderApis) -> anyhow::Result<Inboxes> {
    create(
        t,
        "/channels/twilio_channel",
        json!({"twilio_channel": {"name": "Bench SMS", "account_sid": TWILIO_SID,
            "auth_token": TWILIO_TOKEN, "phone_number": TWILIO_NUMBER, "medium": "sms"}}),
    )
    .await?;
    create(
        t,
        "/inboxes",
        json!({"name": "Bench WhatsApp", "channel": {"type": "whatsapp",
            "phone_number": WHATSAPP_NUMBER, "provider": "whatsapp_cloud",
            "provider_config": {"api_key": "bench", "phone_number_id": WHATSAPP_NUMBER_ID,
                "business_account_id": "1", "app_secret": META_SECRET}}}),
    )
    .await?;
    create(
        t,
        "/inboxes",
        json!({"name": "Bench Telegram", "channel": {"type": "telegram", "bot_token": BOT_TOKEN}}),
    )
    .await?;
    create(
        t,
        "/inboxes",
        json!({"name": "Bench Messenger", "channel": {"type": "facebook_page",
            "page_id": PAGE_ID, "page_access_token": "bench"}}),
    )
    .await?;
    // The server registers Telegram's webhook after answering; wait for its secret.
    for _ in 0..500 {
        if let Some(telegram_secret) = apis.telegram_secret() {
            return Ok(Inboxes { telegram_secret });
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    anyhow::bail!("the server never registered its Telegram webhook")
}

/// Customer `n`'s number, a São Paulo mobile.
fn phone(n: usize) -> String {
    format!("+551199{:07}", n % 10_000_000)
}

/// The signed request carrying message `tag` from customer `sender` through `channel`.
fn request(
    t: &Target,
    inboxes: &Inboxes,
    channel: Channel,
    sender: usize,
    tag: usize,
) -> reqwest::RequestBuilder {
    let text = format!("bench#{tag} Olá, meu pedido ainda não chegou");
    match channel {
        Channel::TwilioSms => {
            let url = format!("{}/twilio/callback", t.base);
            let params: Vec<(String, String)> = [
                ("MessageSid", format!("SMbench{tag:026}")),
                ("AccountSid", TWILIO_SID.to_owned()),
                ("From", phone(sender)),
                ("To", TWILIO_NUMBER.to_owned()),
                ("Body", text),
                ("NumMedia", "0".to_owned()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
            let signature = throughline_channels::twilio::signature(TWILIO_TOKEN, &url, &params);
            let body = serde_html_form::to_string(&params).unwrap_or_default();
            t.client
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .header("x-twilio-signature", signature)
                .body(body)
        }
        Channel::WhatsappCloud => {
            let from = phone(sender).trim_start_matches('+').to_owned();
            let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "1",
                "changes": [{"field": "messages", "value": {"messaging_product": "whatsapp",
                    "metadata": {"phone_number_id": WHATSAPP_NUMBER_ID},
                    "contacts": [{"wa_id": from, "profile": {"name": format!("Cliente {sender}")}}],
                    "messages": [{"from": from, "id": format!("wamid.bench{tag}"),
                        "timestamp": "1764000000", "type": "text", "text": {"body": text}}]}}]}]})
            .to_string();
            meta_signed(t, "/webhooks/whatsapp/551130040000", body)
        }
        Channel::Telegram => {
            let chat = 500_000 + sender as i64;
            let body = json!({"update_id": tag, "message": {"message_id": tag,
                "from": {"id": chat, "is_bot": false, "first_name": "Cliente"},
                "chat": {"id": chat, "type": "private", "first_name": "Cliente"},
                "date": 1764000000, "text": text}})
            .to_string();
            t.client
                .post(format!("{}/webhooks/telegram/{BOT_TOKEN}", t.base))
                .header("content-type", "application/json")
                .header("x-telegram-bot-api-secret-token", &inboxes.telegram_secret)
                .body(body)
        }
        Channel::Messenger => {
            let body =
                json!({"object": "page", "entry": [{"id": PAGE_ID, "time": 1764000000000_i64,
                "messaging": [{"sender": {"id": format!("{}", 7_000_000 + sender)},
                    "recipient": {"id": PAGE_ID}, "timestamp": 1764000000000_i64,
                    "message": {"mid": format!("m_bench{tag}"), "text": text}}]}]})
                .to_string();
            meta_signed(t, "/bot", body)
        }
    }
}

fn meta_signed(t: &Target, path: &str, body: String) -> reqwest::RequestBuilder {
    let signature = format!(
        "sha256={}",
        hmac_sha256_hex(META_SECRET.as_bytes(), body.as_bytes())
    );
    t.client
        .post(format!("{}{path}", t.base))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", signature)
        .body(body)
}

/// `count` messages from `senders` customers through `channel`. Each customer's first message
/// (which creates the contact and conversation) is sent beforehand and not counted, as the
/// Client API figure's conversations exist before it starts.
#[allow(clippy::too_many_arguments)] // The figure's knobs, named at the one call site.
pub async fn ingest(
    t: &Arc<Target>,
    inboxes: &Inboxes,
    channel: Channel,
    count: usize,
    senders: usize,
    concurrency: usize,
    first_tag: usize,
    progress: &indicatif::ProgressBar,
) -> anyhow::Result<Ingest> {
    let senders = senders.max(1);
    let hidden = indicatif::ProgressBar::hidden();
    let warm = drive(
        t,
        senders,
        concurrency,
        None,
        first_tag,
        &hidden,
        |i, tag| request(t, inboxes, channel, i, tag),
    )
    .await?;
    anyhow::ensure!(
        warm.failed == 0,
        "{}: first messages refused ({})",
        channel.label(),
        warm.first_error.as_deref().unwrap_or("?")
    );
    drive(
        t,
        count,
        concurrency,
        None,
        first_tag + senders,
        progress,
        |i, tag| request(t, inboxes, channel, i % senders, tag),
    )
    .await
    .with_context(|| format!("{} webhooks", channel.label()))
}
