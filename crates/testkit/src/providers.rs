//! One local fake of the messaging providers' APIs — Twilio's REST API, Meta's Graph API
//! (WhatsApp Cloud, Messenger, Instagram) and Telegram's Bot API — following their published
//! request and answer shapes. It records every call Throughline makes (so tests assert paths,
//! auth headers and bodies), serves the files customers "sent", and can answer with provider
//! errors or not at all. Signing helpers sign webhooks the way each provider does, written
//! here independently of Throughline's own checks.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};

/// The Meta app secret `TestApp::with_providers` configures instance-wide.
pub const META_APP_SECRET: &str = "fake-meta-app-secret";
/// The handshake token `TestApp::with_providers` configures for /bot and /webhooks/instagram.
pub const META_VERIFY_TOKEN: &str = "fake-meta-verify-token";

/// One call Throughline made.
#[derive(Clone, Debug)]
pub struct Call {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// What the fake answered (its status and JSON), once it has.
    pub answer: Option<(u16, Value)>,
}

impl Call {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// Form fields (Twilio's bodies), in order.
    pub fn form(&self) -> Vec<(String, String)> {
        serde_html_form::from_bytes(&self.body).unwrap_or_default()
    }

    pub fn form_field(&self, name: &str) -> Option<String> {
        self.form()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }
}

/// An answer the fake gives instead of its normal one.
#[derive(Clone, Debug)]
pub enum Misbehave {
    /// Answer this status and body.
    Answer(u16, Value),
    /// Never answer.
    Hang,
}

#[derive(Default)]
struct Shared {
    calls: Vec<Call>,
    next_id: u64,
    /// For send calls: the next answers, in order.
    failures: Vec<Misbehave>,
    /// id → (content type, bytes)
    media: HashMap<String, (String, Vec<u8>)>,
    templates: Vec<Value>,
    /// Every call is refused as badly authenticated, in the provider's words.
    refuse_auth: bool,
    /// Graph API objects by id (a customer's profile).
    nodes: HashMap<String, Value>,
}

#[derive(Clone)]
struct App {
    base: String,
    shared: Arc<Mutex<Shared>>,
}

pub struct FakeProviders {
    pub url: String,
    shared: Arc<Mutex<Shared>>,
    _server: tokio::task::JoinHandle<()>,
}

impl FakeProviders {
    pub async fn start() -> FakeProviders {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let url = format!("http://{addr}");
        let shared = Arc::new(Mutex::new(Shared::default()));
        let app = App {
            base: url.clone(),
            shared: shared.clone(),
        };
        let router = Router::new().fallback(handle).with_state(app);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        FakeProviders {
            url,
            shared,
            _server: server,
        }
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<Call> {
        self.shared.lock().unwrap().calls.clone()
    }

    /// Calls whose path ends with `suffix` (e.g. `/messages`, `Messages.json`, `/sendMessage`).
    pub fn calls_to(&self, suffix: &str) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.path.ends_with(suffix))
            .collect()
    }

    /// Waits until `n` calls end with `suffix`.
    pub async fn wait_for(&self, suffix: &str, n: usize) -> Vec<Call> {
        for _ in 0..400 {
            let calls = self.calls_to(suffix);
            if calls.len() >= n {
                return calls;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!(
            "expected {n} calls to …{suffix}, got {:?}",
            self.calls_to(suffix).len()
        );
    }

    /// The next send calls answer these instead (in order).
    pub fn misbehave(&self, answers: Vec<Misbehave>) {
        self.shared.lock().unwrap().failures = answers;
    }

    /// A file the provider holds for a customer's message (WhatsApp media id, Telegram
    /// `file_id`, or the last path segment of a Twilio/Meta media URL).
    pub fn add_media(&self, id: &str, content_type: &str, bytes: &[u8]) {
        self.shared
            .lock()
            .unwrap()
            .media
            .insert(id.to_owned(), (content_type.to_owned(), bytes.to_vec()));
    }

    /// What `GET {graph}/{id}` answers (a Messenger or Instagram profile).
    pub fn set_node(&self, id: &str, node: Value) {
        self.shared
            .lock()
            .unwrap()
            .nodes
            .insert(id.to_owned(), node);
    }

    /// Whether every call is refused as badly authenticated (wrong token or key).
    pub fn refuse_auth(&self, refuse: bool) {
        self.shared.lock().unwrap().refuse_auth = refuse;
    }

    /// The templates the WhatsApp Business Management API lists.
    pub fn set_templates(&self, templates: Vec<Value>) {
        self.shared.lock().unwrap().templates = templates;
    }

    /// A media URL this fake serves (Twilio's and Meta's webhooks carry URLs).
    pub fn media_url(&self, id: &str) -> String {
        format!("{}/media/{id}", self.url)
    }
}

/// Answers a call and records the answer with it.
async fn handle(
    State(app): State<App>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let call = Call {
        method: method.to_string(),
        path: path.clone(),
        query: uri.query().unwrap_or_default().to_owned(),
        headers,
        body: body.to_vec(),
        answer: None,
    };
    let is_send = method == Method::POST
        && (path.ends_with("/messages")
            || path.ends_with("Messages.json")
            || path.contains("/send"));
    let (index, misbehave, id) = {
        let mut s = app.shared.lock().unwrap();
        let refused = s.refuse_auth.then(|| auth_refusal(&path));
        s.calls.push(call.clone());
        s.next_id += 1;
        let m = if refused.is_some() {
            refused
        } else if is_send && !s.failures.is_empty() {
            Some(s.failures.remove(0))
        } else {
            None
        };
        (s.calls.len() - 1, m, s.next_id)
    };
    let response = respond(&app, &call, misbehave, id).await;
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    if let Ok(json) = serde_json::from_slice::<Value>(&bytes) {
        app.shared.lock().unwrap().calls[index].answer = Some((parts.status.as_u16(), json));
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// The provider's answer to one call (`id` makes the ids it hands out unique).
async fn respond(app: &App, call: &Call, misbehave: Option<Misbehave>, id: u64) -> Response {
    let path = call.path.as_str();
    match misbehave {
        Some(Misbehave::Hang) => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return StatusCode::GATEWAY_TIMEOUT.into_response();
        }
        Some(Misbehave::Answer(status, body)) => {
            return (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response();
        }
        None => {}
    }
    // Files, wherever a provider keeps them.
    // Twilio keeps them at …/Messages/MM…/Media/ME…, Telegram at /file/bot…/<path>.
    if let Some(media_id) = path
        .strip_prefix("/media/")
        .or_else(|| path.rsplit_once("/Media/").map(|(_, id)| id))
        .or_else(|| {
            path.rsplit_once("/file/")
                .map(|(_, p)| p.rsplit('/').next().unwrap_or(p))
        })
    {
        let found = app.shared.lock().unwrap().media.get(media_id).cloned();
        return match found {
            Some((ct, bytes)) => ([("content-type", ct)], bytes).into_response(),
            None => StatusCode::NOT_FOUND.into_response(),
        };
    }
    // Twilio
    if path.starts_with("/2010-04-01/Accounts/") {
        if path.ends_with("/Messages.json") {
            let to = call.form_field("To");
            return (
                StatusCode::CREATED,
                axum::Json(json!({"sid": format!("SM{id:032}"), "status": "queued", "to": to})),
            )
                .into_response();
        }
        return axum::Json(
            json!({"sid": path.trim_end_matches(".json").rsplit('/').next(),
            "friendly_name": "Fake account", "status": "active"}),
        )
        .into_response();
    }
    // Telegram
    if let Some(rest) = path.strip_prefix("/bot") {
        let method_name = rest.rsplit('/').next().unwrap_or_default();
        let args = call.json();
        let query: HashMap<String, String> =
            serde_html_form::from_str(&call.query).unwrap_or_default();
        return axum::Json(match method_name {
            "getMe" => {
                json!({"ok": true, "result": {"id": 1, "is_bot": true, "username": "fake_bot"}})
            }
            "setWebhook" => json!({"ok": true, "result": true, "description": "Webhook was set"}),
            "getFile" => {
                let file_id = query
                    .get("file_id")
                    .cloned()
                    .or_else(|| args["file_id"].as_str().map(str::to_owned))
                    .unwrap_or_default();
                let size = app
                    .shared
                    .lock()
                    .unwrap()
                    .media
                    .get(&file_id)
                    .map(|(_, b)| b.len());
                match size {
                    Some(size) => json!({"ok": true, "result": {"file_id": file_id,
                        "file_size": size, "file_path": format!("documents/{file_id}")}}),
                    None => {
                        return (
                            StatusCode::BAD_REQUEST,
                            axum::Json(json!({"ok": false,
                            "error_code": 400, "description": "Bad Request: invalid file_id"})),
                        )
                            .into_response();
                    }
                }
            }
            _ => json!({"ok": true, "result": {"message_id": id, "date": 1_700_000_000,
                "chat": {"id": args["chat_id"], "type": "private"}}}),
        })
        .into_response();
    }
    // Meta Graph
    if path.ends_with("/message_templates") {
        let data = app.shared.lock().unwrap().templates.clone();
        return axum::Json(json!({"data": data, "paging": {}})).into_response();
    }
    if path == "/me/messages" || path.ends_with("/me/messages") {
        return axum::Json(json!({"recipient_id": call.json()["recipient"]["id"],
            "message_id": format!("m_{id}")}))
        .into_response();
    }
    if path.ends_with("/messages") {
        let to = call.json()["to"].clone();
        return axum::Json(json!({"messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": to}],
            "messages": [{"id": format!("wamid.fake{id}")}]}))
        .into_response();
    }
    // GET /{media_id}: WhatsApp's media lookup (or /me, /{phone_number_id}).
    let node = path
        .trim_start_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    if let Some(found) = app.shared.lock().unwrap().nodes.get(&node).cloned() {
        return axum::Json(found).into_response();
    }
    let media = app.shared.lock().unwrap().media.get(&node).cloned();
    match media {
        Some((ct, bytes)) => axum::Json(json!({"url": format!("{}/media/{node}", app.base),
            "mime_type": ct, "file_size": bytes.len(), "id": node}))
        .into_response(),
        None => {
            axum::Json(json!({"id": node, "name": "Fake", "verified_name": "Fake"})).into_response()
        }
    }
}

/// How each provider refuses a call with a wrong token or key.
fn auth_refusal(path: &str) -> Misbehave {
    if path.starts_with("/2010-04-01/") {
        Misbehave::Answer(
            401,
            json!({"code": 20003, "message": "Authenticate",
            "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401}),
        )
    } else if path.starts_with("/bot") || path.starts_with("/file/bot") {
        Misbehave::Answer(
            401,
            json!({"ok": false, "error_code": 401, "description": "Unauthorized"}),
        )
    } else {
        Misbehave::Answer(
            401,
            json!({"error": {"message": "Invalid OAuth access token - Cannot parse access token",
            "type": "OAuthException", "code": 190, "fbtrace_id": "AbCdEf"}}),
        )
    }
}

/// `X-Twilio-Signature`: base64 HMAC-SHA1 of the URL followed by each POST parameter (sorted
/// by name) as name + value.
pub fn twilio_signature(auth_token: &str, url: &str, params: &[(&str, &str)]) -> String {
    let mut sorted = params.to_vec();
    sorted.sort();
    let mut data = url.to_owned();
    for (k, v) in sorted {
        data.push_str(k);
        data.push_str(v);
    }
    let mut mac = <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(auth_token.as_bytes()).unwrap();
    mac.update(data.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The form body of `params`.
pub fn form_body(params: &[(&str, &str)]) -> String {
    serde_html_form::to_string(params).unwrap()
}

/// `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body under the app secret>`.
pub fn hub_signature(app_secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(app_secret.as_bytes()).unwrap();
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// A WhatsApp Cloud webhook carrying `value` for `phone_number_id`.
pub fn whatsapp_webhook(phone_number_id: &str, value: Value) -> Value {
    let mut value = value;
    value["messaging_product"] = json!("whatsapp");
    value["metadata"] =
        json!({"display_phone_number": "15550001111", "phone_number_id": phone_number_id});
    json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398",
        "changes": [{"field": "messages", "value": value}]}]})
}
