//! A local fake of an OpenAI-compatible model API (`/v1/chat/completions`, `/v1/embeddings`,
//! `/v1/audio/transcriptions`, `/v1/models`), following OpenAI's published request, answer and error shapes. Tests point
//! Throughline's real HTTP client at [`FakeModel::base_url`]; the fake records every request
//! (refused ones too), answers chat completions from canned rules, and can be slow, refuse with
//! a status, or answer garbage — for the whole server or for one kind of endpoint.
//!
//! **Chat.** The answer is the reply of the first rule registered with
//! [`FakeModel::answer_when`] whose needle occurs (case-insensitively) in the content of any
//! message of the request, else the default answer ([`DEFAULT_ANSWER`] until
//! [`FakeModel::set_default_answer`]). Token counts are whitespace word counts. A missing
//! `model` is answered as [`DEFAULT_MODEL`].
//!
//! **Embeddings.** Deterministic bags of words, good enough for tests of semantic search:
//! the text is lower-cased, diacritics are folded (Portuguese, Polish and a few other Latin
//! letters: `devolução` → `devolucao`, `łódź` → `lodz`, `ß` → `ss`), it is split on every
//! character that is not alphanumeric, and words shorter than three characters are dropped.
//! A word registered with [`FakeModel::synonym`]`(a, b)` then counts as `b` (one step, not
//! transitively). Each word adds 1 to one of [`DIMENSIONS`] buckets, chosen by the 64-bit
//! FNV-1a hash of its UTF-8 bytes modulo 64, and the vector is L2-normalised (a text without
//! words stays all zeros). Texts sharing words therefore have a positive cosine, and identical
//! bags of words have cosine 1. `encoding_format: "base64"` is answered as base64 of the
//! little-endian `f32`s, as OpenAI does.
//!
//! **Transcriptions.** `/v1/audio/transcriptions` reads OpenAI's multipart form (`file` with
//! its file name and type, `model`, `language`, `response_format`, `prompt`, `temperature`),
//! records it whole ([`FakeModel::transcription_requests`], the file's bytes included) and
//! answers the text set with [`FakeModel::set_transcript`] ([`DEFAULT_TRANSCRIPT`] until
//! then) as `json` (`{"text"}`, the default), `text` or `verbose_json` (with the `language`
//! sent, else `english`, as Whisper names languages). A form without a file or a model, or a
//! body that is not `multipart/form-data`, is answered 400 as OpenAI does.
//!
//! **Failures.** [`Behaviour::Status`] answers OpenAI's error JSON (`retry-after: 1` with a
//! 429), [`Behaviour::Delay`] sleeps before answering normally, and [`Behaviour::Garbage`]
//! answers 200 with a body that claims to be JSON and is not.
//! [`FakeModel::fail_next_transcriptions`] answers the next transcription requests with the
//! statuses given, one each, before the behaviour applies again (a model that is down for a
//! while). An API key set with [`FakeModel::with_key`] is checked before any behaviour.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Multipart, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};

/// The length of every embedding.
pub const DIMENSIONS: usize = 64;
/// What chat completions answer when no rule matches, until changed.
pub const DEFAULT_ANSWER: &str = "(fake model answer)";
/// The model named in answers when the request named none, and listed before any was seen.
pub const DEFAULT_MODEL: &str = "fake-model";
/// What transcriptions answer until [`FakeModel::set_transcript`].
pub const DEFAULT_TRANSCRIPT: &str = "(fake transcript)";

/// How the fake answers requests of one kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Behaviour {
    /// Answer normally.
    #[default]
    Answer,
    /// Sleep this long, then answer normally (so a client's timeout fires first).
    Delay(Duration),
    /// Answer this status with OpenAI's error JSON (and `retry-after: 1` for 429).
    Status(u16),
    /// Answer 200 with a body that is not JSON.
    Garbage,
}

/// One request the fake received.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// The `Authorization` header as sent.
    pub authorization: Option<String>,
    /// The JSON body (`Value::Null` when there was none or it was not JSON).
    pub body: Value,
}

/// One transcription request as its multipart form arrived.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TranscriptionRequest {
    /// The `file` part's bytes, file name and `Content-Type`.
    pub file: Option<Vec<u8>>,
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    /// Every text field (`model`, `language`, `response_format`…), in the order sent.
    pub fields: Vec<(String, String)>,
}

impl TranscriptionRequest {
    /// A text field as sent (the first, if repeated).
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Chat,
    Embeddings,
    Transcriptions,
    Models,
    Unknown,
}

struct Shared {
    key: Option<String>,
    /// (lower-cased needle, reply), in registration order.
    rules: Vec<(String, String)>,
    default_answer: String,
    /// Folded word → the folded word it counts as.
    synonyms: HashMap<String, String>,
    chat: Behaviour,
    embeddings: Behaviour,
    transcriptions: Behaviour,
    models: Behaviour,
    /// Statuses the next transcription requests get, one each, before `transcriptions`.
    transcription_failures: VecDeque<u16>,
    transcript: String,
    transcription_requests: Vec<TranscriptionRequest>,
    requests: Vec<Recorded>,
    /// Model names seen in requests, first-seen order.
    seen_models: Vec<String>,
    next_id: u64,
}

impl Default for Shared {
    fn default() -> Self {
        Shared {
            key: None,
            rules: Vec::new(),
            default_answer: DEFAULT_ANSWER.to_owned(),
            synonyms: HashMap::new(),
            chat: Behaviour::Answer,
            embeddings: Behaviour::Answer,
            transcriptions: Behaviour::Answer,
            models: Behaviour::Answer,
            transcription_failures: VecDeque::new(),
            transcript: DEFAULT_TRANSCRIPT.to_owned(),
            transcription_requests: Vec::new(),
            requests: Vec::new(),
            seen_models: Vec::new(),
            next_id: 0,
        }
    }
}

pub struct FakeModel {
    url: String,
    shared: Arc<Mutex<Shared>>,
    _server: tokio::task::JoinHandle<()>,
}

impl FakeModel {
    pub async fn start() -> FakeModel {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let router = Router::new().fallback(handle).with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        FakeModel {
            url: format!("http://{addr}"),
            shared,
            _server: server,
        }
    }

    /// `http://127.0.0.1:PORT/v1`: clients append `/chat/completions`, `/embeddings`.
    pub fn base_url(&self) -> String {
        format!("{}/v1", self.url)
    }

    /// Requires `Authorization: Bearer <key>` from now on.
    pub fn with_key(self, key: &str) -> Self {
        self.set_key(Some(key));
        self
    }

    /// Requires `Authorization: Bearer <key>`, or nothing with `None`.
    pub fn set_key(&self, key: Option<&str>) -> &Self {
        self.shared.lock().unwrap().key = key.map(str::to_owned);
        self
    }

    /// Chat completions whose messages contain `needle` (any case) answer `reply`; the first
    /// rule registered wins.
    pub fn answer_when(&self, needle: &str, reply: &str) -> &Self {
        self.shared
            .lock()
            .unwrap()
            .rules
            .push((needle.to_lowercase(), reply.to_owned()));
        self
    }

    /// What chat completions answer when no rule matches.
    pub fn set_default_answer(&self, text: &str) -> &Self {
        self.shared.lock().unwrap().default_answer = text.to_owned();
        self
    }

    /// In embeddings, the word `a` counts as the word `b` (both lower-cased and folded).
    pub fn synonym(&self, a: &str, b: &str) -> &Self {
        self.shared
            .lock()
            .unwrap()
            .synonyms
            .insert(fold_word(a), fold_word(b));
        self
    }

    /// How every endpoint answers from now on.
    pub fn set_behaviour(&self, behaviour: Behaviour) -> &Self {
        let mut s = self.shared.lock().unwrap();
        s.chat = behaviour;
        s.embeddings = behaviour;
        s.transcriptions = behaviour;
        s.models = behaviour;
        drop(s);
        self
    }

    /// How `/v1/chat/completions` answers from now on.
    pub fn set_chat_behaviour(&self, behaviour: Behaviour) -> &Self {
        self.shared.lock().unwrap().chat = behaviour;
        self
    }

    /// How `/v1/embeddings` answers from now on.
    pub fn set_embeddings_behaviour(&self, behaviour: Behaviour) -> &Self {
        self.shared.lock().unwrap().embeddings = behaviour;
        self
    }

    /// How `/v1/audio/transcriptions` answers from now on.
    pub fn set_transcription_behaviour(&self, behaviour: Behaviour) -> &Self {
        self.shared.lock().unwrap().transcriptions = behaviour;
        self
    }

    /// The next transcription requests are answered with these statuses (OpenAI's error JSON),
    /// one each in order; then the transcription behaviour applies again.
    pub fn fail_next_transcriptions(&self, statuses: &[u16]) -> &Self {
        self.shared
            .lock()
            .unwrap()
            .transcription_failures
            .extend(statuses);
        self
    }

    /// What transcriptions answer from now on.
    pub fn set_transcript(&self, text: &str) -> &Self {
        self.shared.lock().unwrap().transcript = text.to_owned();
        self
    }

    /// Every transcription request so far (refused ones included), as its form arrived.
    pub fn transcription_requests(&self) -> Vec<TranscriptionRequest> {
        self.shared.lock().unwrap().transcription_requests.clone()
    }

    /// The embedding the fake answers for `text`, with the synonyms registered so far.
    pub fn embed(&self, text: &str) -> Vec<f32> {
        let synonyms = self.shared.lock().unwrap().synonyms.clone();
        embedding(text, &synonyms)
    }

    /// Every request so far, refused ones included.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.lock().unwrap().requests.clone()
    }

    /// The bodies of the chat completion requests so far.
    pub fn chat_requests(&self) -> Vec<Value> {
        self.bodies_of("/v1/chat/completions")
    }

    /// The bodies of the embedding requests so far.
    pub fn embedding_requests(&self) -> Vec<Value> {
        self.bodies_of("/v1/embeddings")
    }

    pub fn request_count(&self) -> usize {
        self.shared.lock().unwrap().requests.len()
    }

    /// Waits until at least `n` requests arrived, failing after `timeout`.
    pub async fn wait_for_requests(&self, n: usize, timeout: Duration) -> Vec<Recorded> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let requests = self.requests();
            if requests.len() >= n {
                return requests;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "expected {n} requests to the fake model, got {}",
                requests.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn bodies_of(&self, path: &str) -> Vec<Value> {
        self.shared
            .lock()
            .unwrap()
            .requests
            .iter()
            .filter(|r| r.path == path)
            .map(|r| r.body.clone())
            .collect()
    }
}

/// The cosine of two vectors (0 when either is all zeros).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

async fn handle(
    State(shared): State<Arc<Mutex<Shared>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let endpoint = match (&method, path.as_str()) {
        (&Method::POST, "/v1/chat/completions") => Endpoint::Chat,
        (&Method::POST, "/v1/embeddings") => Endpoint::Embeddings,
        (&Method::POST, "/v1/audio/transcriptions") => Endpoint::Transcriptions,
        (&Method::GET, "/v1/models") => Endpoint::Models,
        _ => Endpoint::Unknown,
    };
    let form = if endpoint == Endpoint::Transcriptions {
        Some(read_form(&headers, body.clone()).await)
    } else {
        None
    };
    let parsed = match &form {
        Some(Ok(form)) => Some(form_summary(form)),
        Some(Err(_)) => None,
        None => serde_json::from_slice::<Value>(&body).ok(),
    };
    let (authorised, behaviour, transcript) = {
        let mut s = shared.lock().unwrap();
        s.requests.push(Recorded {
            method: method.to_string(),
            path: path.clone(),
            authorization: authorization.clone(),
            body: parsed.clone().unwrap_or(Value::Null),
        });
        if let Some(Ok(form)) = &form {
            s.transcription_requests.push(form.clone());
        }
        let authorised = s
            .key
            .as_ref()
            .is_none_or(|k| authorization.as_deref() == Some(format!("Bearer {k}").as_str()));
        let behaviour = match endpoint {
            Endpoint::Chat => s.chat,
            Endpoint::Embeddings => s.embeddings,
            Endpoint::Transcriptions if authorised => match s.transcription_failures.pop_front() {
                Some(status) => Behaviour::Status(status),
                None => s.transcriptions,
            },
            Endpoint::Transcriptions => s.transcriptions,
            Endpoint::Models => s.models,
            Endpoint::Unknown => Behaviour::Answer,
        };
        (authorised, behaviour, s.transcript.clone())
    };
    if !authorised {
        return error(
            401,
            "Incorrect API key provided",
            "invalid_request_error",
            Some("invalid_api_key"),
        );
    }
    match behaviour {
        Behaviour::Answer => {}
        Behaviour::Delay(d) => tokio::time::sleep(d).await,
        Behaviour::Status(code) => return status_error(code),
        Behaviour::Garbage => {
            return (
                [(header::CONTENT_TYPE, "application/json")],
                "<html><body>upstream hiccup</body></html>",
            )
                .into_response();
        }
    }
    if let Some(form) = form {
        return match form {
            Ok(form) => transcription(&shared, &form, &transcript),
            Err(message) => error(400, &message, "invalid_request_error", None),
        };
    }
    match (endpoint, parsed) {
        (Endpoint::Models, _) => models(&shared),
        (Endpoint::Unknown | Endpoint::Transcriptions, _) => unknown(&method, &path),
        (Endpoint::Chat | Endpoint::Embeddings, None) => error(
            400,
            "We could not parse the JSON body of your request. (HINT: This likely means you \
             aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, \
             but what was sent was not valid JSON.)",
            "invalid_request_error",
            None,
        ),
        (Endpoint::Chat, Some(body)) => chat(&shared, &body),
        (Endpoint::Embeddings, Some(body)) => embeddings(&shared, &body),
    }
}

fn chat(shared: &Mutex<Shared>, body: &Value) -> Response {
    let Some(messages) = body["messages"].as_array() else {
        return error(
            400,
            "Missing required parameter: 'messages'.",
            "invalid_request_error",
            Some("missing_required_parameter"),
        );
    };
    if messages.is_empty() {
        return error(
            400,
            "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an \
             empty array instead.",
            "invalid_request_error",
            Some("empty_array"),
        );
    }
    let contents: Vec<String> = messages
        .iter()
        .map(|m| content_text(&m["content"]))
        .collect();
    let model = model_of(body);
    let (id, reply) = {
        let mut s = shared.lock().unwrap();
        s.next_id += 1;
        note_model(&mut s, &model);
        let lowered: Vec<String> = contents.iter().map(|c| c.to_lowercase()).collect();
        let reply = s
            .rules
            .iter()
            .find(|(needle, _)| lowered.iter().any(|c| c.contains(needle.as_str())))
            .map_or_else(|| s.default_answer.clone(), |(_, reply)| reply.clone());
        (s.next_id, reply)
    };
    let prompt_tokens: usize = contents.iter().map(|c| words(c)).sum();
    let completion_tokens = words(&reply);
    axum::Json(json!({
        "id": format!("chatcmpl-{id}"),
        "object": "chat.completion",
        "created": now(),
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": reply},
            "logprobs": null,
            "finish_reason": "stop",
        }],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }))
    .into_response()
}

fn embeddings(shared: &Mutex<Shared>, body: &Value) -> Response {
    let inputs: Vec<String> = match &body["input"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_string) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_owned))
            .collect(),
        Value::Null => {
            return error(
                400,
                "Missing required parameter: 'input'.",
                "invalid_request_error",
                Some("missing_required_parameter"),
            );
        }
        _ => {
            return error(
                400,
                "'$.input' is invalid. Please check the API reference: \
                 https://platform.openai.com/docs/api-reference.",
                "invalid_request_error",
                None,
            );
        }
    };
    let model = model_of(body);
    let synonyms = {
        let mut s = shared.lock().unwrap();
        note_model(&mut s, &model);
        s.synonyms.clone()
    };
    let base64 = body["encoding_format"].as_str() == Some("base64");
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(index, text)| {
            let vector = embedding(text, &synonyms);
            let encoded = if base64 {
                let bytes: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();
                json!(base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                json!(vector)
            };
            json!({"object": "embedding", "index": index, "embedding": encoded})
        })
        .collect();
    let tokens: usize = inputs.iter().map(|t| words(t)).sum();
    axum::Json(json!({
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }))
    .into_response()
}

/// The multipart form of a transcription request, or OpenAI's words for why it is not one.
async fn read_form(headers: &HeaderMap, body: Bytes) -> Result<TranscriptionRequest, String> {
    let mut request = axum::http::Request::new(Body::from(body));
    if let Some(ct) = headers.get(header::CONTENT_TYPE) {
        request
            .headers_mut()
            .insert(header::CONTENT_TYPE, ct.clone());
    }
    let mut multipart = Multipart::from_request(request, &())
        .await
        .map_err(|_| "Invalid Content-Type header (expected multipart/form-data).".to_owned())?;
    let mut form = TranscriptionRequest::default();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| format!("Could not parse multipart form: {e}"))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            form.file_name = field.file_name().map(str::to_owned);
            form.content_type = field.content_type().map(str::to_owned);
            let bytes = field
                .bytes()
                .await
                .map_err(|e| format!("Could not parse multipart form: {e}"))?;
            form.file = Some(bytes.to_vec());
        } else {
            let text = field
                .text()
                .await
                .map_err(|e| format!("Could not parse multipart form: {e}"))?;
            form.fields.push((name, text));
        }
    }
    Ok(form)
}

/// What [`Recorded::body`] holds of a transcription request: its fields, and the file's name,
/// type and size.
fn form_summary(form: &TranscriptionRequest) -> Value {
    let mut summary = serde_json::Map::new();
    for (k, v) in &form.fields {
        summary
            .entry(k.clone())
            .or_insert_with(|| Value::String(v.clone()));
    }
    if let Some(bytes) = &form.file {
        summary.insert(
            "file".into(),
            json!({"file_name": form.file_name, "content_type": form.content_type,
                "bytes": bytes.len()}),
        );
    }
    Value::Object(summary)
}

fn transcription(shared: &Mutex<Shared>, form: &TranscriptionRequest, text: &str) -> Response {
    if form.file.as_ref().is_none_or(Vec::is_empty) {
        return error(
            400,
            "Missing required parameter: 'file'.",
            "invalid_request_error",
            Some("missing_required_parameter"),
        );
    }
    let Some(model) = form.field("model").filter(|m| !m.is_empty()) else {
        return error(
            400,
            "you must provide a model parameter",
            "invalid_request_error",
            None,
        );
    };
    note_model(&mut shared.lock().unwrap(), model);
    match form.field("response_format").unwrap_or("json") {
        "json" => axum::Json(json!({"text": text})).into_response(),
        "text" => (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("{text}\n"),
        )
            .into_response(),
        "verbose_json" => {
            let language = match form.field("language") {
                Some("pt") => "portuguese",
                Some("pl") => "polish",
                Some("es") => "spanish",
                _ => "english",
            };
            axum::Json(
                json!({"task": "transcribe", "language": language, "duration": 0.1,
                "text": text, "segments": []}),
            )
            .into_response()
        }
        other => error(
            400,
            &format!(
                "response_format '{other}' is not answered by this fake (json, text, \
                 verbose_json)"
            ),
            "invalid_request_error",
            None,
        ),
    }
}

fn models(shared: &Mutex<Shared>) -> Response {
    let mut names = shared.lock().unwrap().seen_models.clone();
    if names.is_empty() {
        names.push(DEFAULT_MODEL.to_owned());
    }
    let data: Vec<Value> = names
        .iter()
        .map(|id| json!({"id": id, "object": "model", "created": 1_700_000_000, "owned_by": "testkit"}))
        .collect();
    axum::Json(json!({"object": "list", "data": data})).into_response()
}

fn unknown(method: &Method, path: &str) -> Response {
    error(
        404,
        &format!("Invalid URL ({method} {path})"),
        "invalid_request_error",
        None,
    )
}

/// OpenAI's error for a status a test asked for.
fn status_error(code: u16) -> Response {
    let (message, kind, error_code) = match code {
        400 => ("Bad request.", "invalid_request_error", None),
        401 => (
            "Incorrect API key provided",
            "invalid_request_error",
            Some("invalid_api_key"),
        ),
        403 => (
            "You are not allowed to sample from this model.",
            "invalid_request_error",
            Some("model_not_allowed"),
        ),
        404 => (
            "The model does not exist or you do not have access to it.",
            "invalid_request_error",
            Some("model_not_found"),
        ),
        429 => (
            "Rate limit reached for requests. Please try again in 1s.",
            "requests",
            Some("rate_limit_exceeded"),
        ),
        500 => (
            "The server had an error while processing your request. Sorry about that!",
            "server_error",
            None,
        ),
        503 => (
            "The engine is currently overloaded, please try again later.",
            "server_error",
            None,
        ),
        c if c >= 500 => ("The fake model failed.", "server_error", None),
        _ => ("The fake model refused.", "invalid_request_error", None),
    };
    let mut response = error(code, message, kind, error_code);
    if code == 429 {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
    }
    response
}

/// `{"error": {message, type, param, code}}` with `status` (500 if it is not a valid status).
fn error(status: u16, message: &str, kind: &str, code: Option<&str>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        axum::Json(json!({"error": {
            "message": message,
            "type": kind,
            "param": null,
            "code": code,
        }})),
    )
        .into_response()
}

/// A message's text: a string, or the `text` of its content parts.
fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

fn model_of(body: &Value) -> String {
    body["model"].as_str().unwrap_or(DEFAULT_MODEL).to_owned()
}

fn note_model(s: &mut Shared, model: &str) {
    if !s.seen_models.iter().any(|m| m == model) {
        s.seen_models.push(model.to_owned());
    }
}

fn words(text: &str) -> usize {
    text.split_whitespace().count()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The embedding of `text` (see the module documentation).
fn embedding(text: &str, synonyms: &HashMap<String, String>) -> Vec<f32> {
    let mut vector = vec![0.0_f32; DIMENSIONS];
    let folded = fold_word(text);
    for word in folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 3)
    {
        let word = synonyms.get(word).map_or(word, String::as_str);
        let bucket = fnv1a(word.as_bytes()) % DIMENSIONS as u64;
        vector[bucket as usize] += 1.0;
    }
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        for x in &mut vector {
            *x /= norm;
        }
    }
    vector
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Lower-cases and folds diacritics (Portuguese, Polish and common Latin letters).
fn fold_word(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        match c {
            'á' | 'à' | 'â' | 'ã' | 'ä' | 'å' | 'ą' => out.push('a'),
            'é' | 'è' | 'ê' | 'ë' | 'ę' => out.push('e'),
            'í' | 'ì' | 'î' | 'ï' => out.push('i'),
            'ó' | 'ò' | 'ô' | 'õ' | 'ö' => out.push('o'),
            'ú' | 'ù' | 'û' | 'ü' => out.push('u'),
            'ç' | 'ć' => out.push('c'),
            'ñ' | 'ń' => out.push('n'),
            'ł' => out.push('l'),
            'ś' => out.push('s'),
            'ź' | 'ż' => out.push('z'),
            'ß' => out.push_str("ss"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn post(url: &str, key: Option<&str>, body: Value) -> (u16, HeaderMap, Value) {
        let mut req = crate::http_client().post(url).json(&body);
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap_or(Value::Null);
        (status, headers, body)
    }

    async fn ask(fake: &FakeModel, question: &str) -> Value {
        let (status, _, body) = post(
            &format!("{}/chat/completions", fake.base_url()),
            None,
            json!({"model": "gpt-test", "messages": [
                {"role": "system", "content": "You are a helpful support agent."},
                {"role": "user", "content": question},
            ]}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    async fn embed_remote(fake: &FakeModel, input: Value) -> Value {
        let (status, _, body) = post(
            &format!("{}/embeddings", fake.base_url()),
            None,
            json!({"model": "text-embedding-test", "input": input}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    fn vector(v: &Value) -> Vec<f32> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect()
    }

    #[tokio::test]
    async fn fake_model_first_matching_rule_wins() {
        let fake = FakeModel::start().await;
        fake.answer_when("refund", "Refunds take five days.")
            .answer_when("REFUND POLICY", "never chosen");
        let body = ask(&fake, "What is your Refund policy?").await;
        assert_eq!(
            body["choices"][0]["message"]["content"],
            "Refunds take five days."
        );
        assert_eq!(body["choices"][0]["message"]["role"], "assistant");
        assert_eq!(body["choices"][0]["finish_reason"], "stop");
        assert_eq!(body["object"], "chat.completion");
        assert_eq!(body["model"], "gpt-test");
        assert!(body["id"].as_str().unwrap().starts_with("chatcmpl-"));
        assert!(body["created"].as_u64().unwrap() > 1_600_000_000);
        // 6 + 5 words in, 4 out.
        assert_eq!(body["usage"]["prompt_tokens"], 11);
        assert_eq!(body["usage"]["completion_tokens"], 4);
        assert_eq!(body["usage"]["total_tokens"], 15);
        assert_eq!(fake.chat_requests().len(), 1);
        assert_eq!(
            fake.chat_requests()[0]["messages"][1]["content"],
            "What is your Refund policy?"
        );
    }

    #[tokio::test]
    async fn fake_model_default_answer_and_models() {
        let fake = FakeModel::start().await;
        fake.answer_when("refund", "Refunds take five days.");
        let listed = crate::http_client()
            .get(format!("{}/models", fake.base_url()))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap();
        assert_eq!(listed["data"][0]["id"], DEFAULT_MODEL);
        let body = ask(&fake, "Where is my parcel?").await;
        assert_eq!(body["choices"][0]["message"]["content"], DEFAULT_ANSWER);
        fake.set_default_answer("I don't know.");
        let body = ask(&fake, "Where is my parcel?").await;
        assert_eq!(body["choices"][0]["message"]["content"], "I don't know.");
        let listed = crate::http_client()
            .get(format!("{}/models", fake.base_url()))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap();
        assert_eq!(
            listed,
            json!({"object": "list", "data": [{"id": "gpt-test", "object": "model",
                "created": 1_700_000_000, "owned_by": "testkit"}]})
        );
        assert_eq!(fake.request_count(), 4);
    }

    #[tokio::test]
    async fn fake_model_refuses_without_the_key() {
        let fake = FakeModel::start().await.with_key("sk-test");
        let url = format!("{}/chat/completions", fake.base_url());
        let chat = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
        let (status, _, body) = post(&url, None, chat.clone()).await;
        assert_eq!(status, 401);
        assert_eq!(body["error"]["code"], "invalid_api_key");
        assert_eq!(body["error"]["type"], "invalid_request_error");
        assert_eq!(body["error"]["message"], "Incorrect API key provided");
        let (status, _, _) = post(&url, Some("sk-wrong"), chat.clone()).await;
        assert_eq!(status, 401);
        let (status, _, _) = post(&url, Some("sk-test"), chat).await;
        assert_eq!(status, 200);
        let seen = fake.wait_for_requests(3, Duration::from_secs(1)).await;
        let auth: Vec<_> = seen.iter().map(|r| r.authorization.clone()).collect();
        assert_eq!(
            auth,
            [
                None,
                Some("Bearer sk-wrong".to_owned()),
                Some("Bearer sk-test".to_owned())
            ]
        );
        fake.set_key(None);
        let (status, _, _) = post(&url, None, json!({"messages": []})).await;
        assert_eq!(status, 400);
    }

    #[tokio::test]
    async fn fake_model_rejects_bad_requests() {
        let fake = FakeModel::start().await;
        let resp = crate::http_client()
            .post(format!("{}/chat/completions", fake.base_url()))
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 400);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["type"], "invalid_request_error");
        let (status, _, body) = post(
            &format!("{}/chat/completions", fake.base_url()),
            None,
            json!({"model": "m"}),
        )
        .await;
        assert_eq!(status, 400);
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("messages")
        );
        assert_eq!(fake.requests()[0].body, Value::Null);
        assert_eq!(fake.requests()[1].body, json!({"model": "m"}));
    }

    #[tokio::test]
    async fn fake_model_embeddings_are_deterministic() {
        let fake = FakeModel::start().await;
        let one = embed_remote(&fake, json!("Where is my refund?")).await;
        let two = embed_remote(&fake, json!(["where is MY refund", "a b"])).await;
        assert_eq!(one["object"], "list");
        assert_eq!(one["model"], "text-embedding-test");
        assert_eq!(one["usage"]["prompt_tokens"], 4);
        assert_eq!(one["data"][0]["object"], "embedding");
        let a = vector(&one["data"][0]["embedding"]);
        assert_eq!(a.len(), DIMENSIONS);
        assert!((a.iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-5);
        assert_eq!(two["data"][0]["index"], 0);
        assert_eq!(two["data"][1]["index"], 1);
        assert_eq!(vector(&two["data"][0]["embedding"]), a);
        // Only words of three characters or more count.
        assert_eq!(vector(&two["data"][1]["embedding"]), vec![0.0; DIMENSIONS]);
        assert_eq!(fake.embed("Where is my refund?"), a);
        // Diacritics are folded.
        assert_eq!(fake.embed("DEVOLUÇÃO"), fake.embed("devolucao"));
        assert_eq!(fake.embed("Łódź"), fake.embed("lodz"));
        assert!(cosine(&a, &fake.embed("refund please")) > 0.3);
        assert_eq!(fake.embedding_requests().len(), 2);
        // base64 encoding: the little-endian f32s.
        let (_, _, b64) = post(
            &format!("{}/embeddings", fake.base_url()),
            None,
            json!({"model": "m", "input": "Where is my refund?", "encoding_format": "base64"}),
        )
        .await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64["data"][0]["embedding"].as_str().unwrap())
            .unwrap();
        let decoded: Vec<f32> = bytes
            .chunks(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        assert_eq!(decoded, a);
    }

    #[tokio::test]
    async fn fake_model_synonym_joins_two_words() {
        let fake = FakeModel::start().await;
        let before = cosine(&fake.embed("refund"), &fake.embed("devolução"));
        assert!(before < 0.5, "{before}");
        fake.synonym("Devolução", "refund");
        let remote = embed_remote(&fake, json!(["refund", "devolução"])).await;
        let refund = vector(&remote["data"][0]["embedding"]);
        let devolucao = vector(&remote["data"][1]["embedding"]);
        assert!(cosine(&refund, &devolucao) > 0.999);
        assert!(cosine(&fake.embed("pedido de devolucao"), &refund) > 0.5);
    }

    #[tokio::test]
    async fn fake_model_answers_a_status() {
        let fake = FakeModel::start().await;
        fake.set_chat_behaviour(Behaviour::Status(429));
        let chat = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
        let (status, headers, body) =
            post(&format!("{}/chat/completions", fake.base_url()), None, chat).await;
        assert_eq!(status, 429);
        assert_eq!(headers["retry-after"], "1");
        assert_eq!(body["error"]["code"], "rate_limit_exceeded");
        // Embeddings still answer.
        embed_remote(&fake, json!("still fine")).await;
        fake.set_behaviour(Behaviour::Status(503));
        let (status, headers, body) = post(
            &format!("{}/embeddings", fake.base_url()),
            None,
            json!({"input": "x"}),
        )
        .await;
        assert_eq!(status, 503);
        assert!(headers.get("retry-after").is_none());
        assert_eq!(body["error"]["type"], "server_error");
        assert_eq!(fake.request_count(), 3);
    }

    #[tokio::test]
    async fn fake_model_delay_and_garbage() {
        let fake = FakeModel::start().await;
        fake.set_embeddings_behaviour(Behaviour::Delay(Duration::from_secs(5)));
        crate::http_client();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(100))
            .build()
            .unwrap();
        let err = client
            .post(format!("{}/embeddings", fake.base_url()))
            .json(&json!({"model": "m", "input": "slow"}))
            .send()
            .await
            .unwrap_err();
        assert!(err.is_timeout(), "{err}");
        assert_eq!(
            fake.embedding_requests(),
            [json!({"model": "m", "input": "slow"})]
        );
        fake.set_embeddings_behaviour(Behaviour::Delay(Duration::from_millis(10)));
        embed_remote(&fake, json!("slow but fine")).await;
        fake.set_chat_behaviour(Behaviour::Garbage);
        let resp = client
            .post(format!("{}/chat/completions", fake.base_url()))
            .json(&json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        let text = resp.text().await.unwrap();
        assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
    }

    async fn transcribe_remote(
        fake: &FakeModel,
        fields: &[(&str, &str)],
        file: Option<&[u8]>,
    ) -> (u16, String) {
        let mut form = reqwest::multipart::Form::new();
        if let Some(bytes) = file {
            form = form.part(
                "file",
                reqwest::multipart::Part::bytes(bytes.to_vec())
                    .file_name("voicemail-CA1.mp3")
                    .mime_str("audio/mpeg")
                    .unwrap(),
            );
        }
        for (k, v) in fields {
            form = form.text(k.to_string(), v.to_string());
        }
        let resp = crate::http_client()
            .post(format!("{}/audio/transcriptions", fake.base_url()))
            .multipart(form)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    #[tokio::test]
    async fn fake_model_transcribes_a_multipart_form_and_records_it() {
        let fake = FakeModel::start().await;
        let audio = b"ID3\x03\x00 not really mp3 \xff\xfb";
        let (status, body) = transcribe_remote(
            &fake,
            &[
                ("model", "whisper-1"),
                ("language", "pt"),
                ("response_format", "json"),
            ],
            Some(audio),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap(),
            json!({"text": DEFAULT_TRANSCRIPT})
        );
        fake.set_transcript("Olá, aqui é a Maria.");
        let (_, text) = transcribe_remote(
            &fake,
            &[("model", "whisper-1"), ("response_format", "text")],
            Some(audio),
        )
        .await;
        assert_eq!(text, "Olá, aqui é a Maria.\n");
        let (_, verbose) = transcribe_remote(
            &fake,
            &[
                ("model", "whisper-1"),
                ("language", "pl"),
                ("response_format", "verbose_json"),
            ],
            Some(audio),
        )
        .await;
        let verbose: Value = serde_json::from_str(&verbose).unwrap();
        assert_eq!(verbose["language"], "polish");
        assert_eq!(verbose["text"], "Olá, aqui é a Maria.");

        let seen = fake.transcription_requests();
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[0].file.as_deref(), Some(&audio[..]));
        assert_eq!(seen[0].file_name.as_deref(), Some("voicemail-CA1.mp3"));
        assert_eq!(seen[0].content_type.as_deref(), Some("audio/mpeg"));
        assert_eq!(seen[0].field("model"), Some("whisper-1"));
        assert_eq!(seen[0].field("language"), Some("pt"));
        assert_eq!(seen[1].field("language"), None);
        assert_eq!(
            fake.requests()[0].body,
            json!({"model": "whisper-1", "language": "pt", "response_format": "json",
                "file": {"file_name": "voicemail-CA1.mp3", "content_type": "audio/mpeg",
                    "bytes": audio.len()}})
        );

        // What OpenAI refuses.
        let (status, body) = transcribe_remote(&fake, &[("model", "whisper-1")], None).await;
        assert_eq!(status, 400, "{body}");
        assert!(body.contains("'file'"), "{body}");
        let (status, _) = transcribe_remote(&fake, &[], Some(audio)).await;
        assert_eq!(status, 400);
        let (status, _) = transcribe_remote(
            &fake,
            &[("model", "m"), ("response_format", "xml")],
            Some(audio),
        )
        .await;
        assert_eq!(status, 400);
        let (status, _, body) = post(
            &format!("{}/audio/transcriptions", fake.base_url()),
            None,
            json!({"model": "whisper-1"}),
        )
        .await;
        assert_eq!(status, 400);
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("multipart")
        );
    }

    #[tokio::test]
    async fn fake_model_fails_the_next_transcriptions_on_demand() {
        let fake = FakeModel::start().await.with_key("sk-t");
        fake.fail_next_transcriptions(&[500, 429]);
        let url = format!("{}/audio/transcriptions", fake.base_url());
        let send = || async {
            let form = reqwest::multipart::Form::new()
                .part(
                    "file",
                    reqwest::multipart::Part::bytes(vec![1, 2]).file_name("a.wav"),
                )
                .text("model", "whisper-1");
            crate::http_client()
                .post(&url)
                .bearer_auth("sk-t")
                .multipart(form)
                .send()
                .await
                .unwrap()
        };
        let first = send().await;
        assert_eq!(first.status().as_u16(), 500);
        let second = send().await;
        assert_eq!(second.status().as_u16(), 429);
        assert_eq!(second.headers()["retry-after"], "1");
        assert_eq!(send().await.status().as_u16(), 200);
        fake.set_transcription_behaviour(Behaviour::Status(400));
        assert_eq!(send().await.status().as_u16(), 400);
        // Chat is untouched by the transcriptions' failures.
        let (status, _, _) = post(
            &format!("{}/chat/completions", fake.base_url()),
            Some("sk-t"),
            json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(fake.transcription_requests().len(), 4);
    }
}
