//! An OpenAI-compatible model API (OpenAI itself, or a local Ollama, vLLM or llama.cpp server):
//! chat completions, embeddings and speech-to-text, through the one guarded outbound client. Every failure is
//! one of a few kinds the assistant answers differently (a timeout and a rate limit are worth
//! trying again later; a refused address is the administrator's to fix).

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;
use throughline_core::assistant::prompts::ChatMessage;

use crate::outbound_guard::{OutboundClient, Outgoing, SendError};

/// Where a model is and how long to wait for it.
#[derive(Clone, Debug)]
pub struct ModelEndpoint<'a> {
    /// The API's base, `/v1` included.
    pub base_url: &'a str,
    pub api_key: Option<&'a str>,
    pub model: &'a str,
    pub timeout: Duration,
}

/// The longest answer read: a chat answer is a few kilobytes, a batch of embeddings more.
const MAX_ANSWER_BYTES: usize = 8 * 1024 * 1024;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ModelError {
    #[error("the model did not answer within {0} seconds")]
    Timeout(u64),
    #[error("the model's provider is limiting requests (429)")]
    RateLimited,
    #[error("the model's address is refused: {0}")]
    Refused(String),
    #[error("the model's server could not be reached: {0}")]
    Unreachable(String),
    #[error("the model's provider answered {status}: {message}")]
    Rejected { status: u16, message: String },
    #[error("the model's answer could not be read: {0}")]
    Unreadable(String),
}

impl ModelError {
    /// Whether the same request may well succeed later: the model was slow, busy, down or
    /// failed on its side. A refused address, a request the provider turned down (a wrong key,
    /// an unknown model, a file it cannot read) or an answer that makes no sense would fail
    /// the same way again.
    pub fn is_transient(&self) -> bool {
        match self {
            ModelError::Timeout(_) | ModelError::RateLimited | ModelError::Unreachable(_) => true,
            ModelError::Rejected { status, .. } => *status >= 500 || *status == 408,
            ModelError::Refused(_) | ModelError::Unreadable(_) => false,
        }
    }

    /// A stable word for clients (`reason` of a fallback).
    pub fn reason(&self) -> &'static str {
        match self {
            ModelError::Timeout(_) => "timeout",
            ModelError::RateLimited => "rate_limited",
            ModelError::Refused(_) => "refused",
            ModelError::Unreachable(_) => "unreachable",
            ModelError::Rejected { .. } | ModelError::Unreadable(_) => "provider_error",
        }
    }
}

#[derive(Deserialize)]
struct ChatAnswer {
    choices: Vec<Choice>,
}
#[derive(Deserialize)]
struct Choice {
    message: AnswerMessage,
}
#[derive(Deserialize)]
struct AnswerMessage {
    content: Option<String>,
}

#[derive(Deserialize)]
struct EmbeddingsAnswer {
    data: Vec<Embedding>,
}
#[derive(Deserialize)]
struct Embedding {
    index: usize,
    embedding: Vec<f32>,
}

/// The model's reply to `messages` (`choices[0].message.content`).
pub async fn chat(
    client: &OutboundClient,
    endpoint: &ModelEndpoint<'_>,
    messages: &[ChatMessage],
) -> Result<String, ModelError> {
    let body = json!({
        "model": endpoint.model,
        "messages": messages,
        "temperature": 0.3,
    });
    let answer: ChatAnswer = call(client, endpoint, "chat/completions", &body).await?;
    let text = answer
        .choices
        .into_iter()
        .next()
        .and_then(|c| c.message.content)
        .map(|t| t.trim().to_owned())
        .unwrap_or_default();
    if text.is_empty() {
        return Err(ModelError::Unreadable("an empty answer".into()));
    }
    Ok(text)
}

/// One vector per input, in the inputs' order.
pub async fn embed(
    client: &OutboundClient,
    endpoint: &ModelEndpoint<'_>,
    inputs: &[String],
) -> Result<Vec<Vec<f32>>, ModelError> {
    let body = json!({ "model": endpoint.model, "input": inputs });
    let mut answer: EmbeddingsAnswer = call(client, endpoint, "embeddings", &body).await?;
    answer.data.sort_by_key(|e| e.index);
    let complete = answer.data.len() == inputs.len()
        && answer.data.iter().enumerate().all(|(i, e)| e.index == i)
        && answer
            .data
            .iter()
            .all(|e| !e.embedding.is_empty() && e.embedding.iter().all(|x| x.is_finite()));
    if !complete {
        return Err(ModelError::Unreadable(format!(
            "{} embeddings asked, the answer does not hold them all",
            inputs.len()
        )));
    }
    Ok(answer.data.into_iter().map(|e| e.embedding).collect())
}

/// A recording to transcribe, as the customer's provider handed it over.
#[derive(Clone, Debug)]
pub struct Audio<'a> {
    pub bytes: Vec<u8>,
    /// The name the provider reads the format from (`voicemail-….mp3`).
    pub file_name: &'a str,
    pub content_type: &'a str,
}

#[derive(Deserialize)]
struct TranscriptionAnswer {
    text: String,
}

/// What was said in `audio` (OpenAI's `/audio/transcriptions`, `response_format=json`), in the
/// model's words; empty when nothing was. `language`: an ISO-639-1 hint (`pt`, `pl`), else the
/// model detects it.
pub async fn transcribe(
    client: &OutboundClient,
    endpoint: &ModelEndpoint<'_>,
    audio: Audio<'_>,
    language: Option<&str>,
) -> Result<String, ModelError> {
    let file = reqwest::multipart::Part::bytes(audio.bytes)
        .file_name(audio.file_name.to_owned())
        .mime_str(media_type(audio.content_type))
        .map_err(|e| ModelError::Unreadable(format!("the recording's type: {e}")))?;
    let mut form = reqwest::multipart::Form::new()
        .part("file", file)
        .text("model", endpoint.model.to_owned())
        .text("response_format", "json");
    if let Some(language) = language {
        form = form.text("language", language.to_owned());
    }
    let request = post(client, endpoint, "audio/transcriptions").multipart(form);
    let answer: TranscriptionAnswer = answer(request, endpoint).await?;
    Ok(answer.text.trim().to_owned())
}

/// `type/subtype` of a stored content type, parameters dropped; anything else is sent as
/// bytes of no particular type (the provider then goes by the file's name).
fn media_type(content_type: &str) -> &str {
    let bare = content_type.split(';').next().unwrap_or_default().trim();
    let token = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$&^_.+-".contains(c))
    };
    match bare.split_once('/') {
        Some((kind, sub)) if token(kind) && token(sub) => bare,
        _ => "application/octet-stream",
    }
}

fn post(client: &OutboundClient, endpoint: &ModelEndpoint<'_>, path: &str) -> Outgoing {
    let url = format!("{}/{path}", endpoint.base_url.trim_end_matches('/'));
    let mut request = client.post(url).timeout(endpoint.timeout);
    if let Some(key) = endpoint.api_key {
        request = request.bearer_auth(key);
    }
    request
}

async fn call<T: serde::de::DeserializeOwned>(
    client: &OutboundClient,
    endpoint: &ModelEndpoint<'_>,
    path: &str,
    body: &serde_json::Value,
) -> Result<T, ModelError> {
    answer(post(client, endpoint, path).json(body), endpoint).await
}

/// Sends `request` and reads the answer (bounded), each failure as one of [`ModelError`].
async fn answer<T: serde::de::DeserializeOwned>(
    request: Outgoing,
    endpoint: &ModelEndpoint<'_>,
) -> Result<T, ModelError> {
    let seconds = endpoint.timeout.as_secs().max(1);
    let failed = |e: reqwest::Error| {
        if e.is_timeout() {
            ModelError::Timeout(seconds)
        } else {
            ModelError::Unreachable(without_url(&e))
        }
    };
    let mut response = request.send().await.map_err(|e| match e {
        SendError::Refused(r) => ModelError::Refused(r.to_string()),
        SendError::Http(e) => failed(e),
    })?;
    let status = response.status();
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(failed)? {
        if bytes.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(ModelError::Unreadable("the answer is too large".into()));
        }
        bytes.extend_from_slice(&chunk);
    }
    if status.as_u16() == 429 {
        return Err(ModelError::RateLimited);
    }
    if !status.is_success() {
        return Err(ModelError::Rejected {
            status: status.as_u16(),
            message: provider_message(&bytes),
        });
    }
    serde_json::from_slice(&bytes).map_err(|e| ModelError::Unreadable(e.to_string()))
}

/// OpenAI's `{"error": {"message"}}`, else the start of the body.
fn provider_message(body: &[u8]) -> String {
    let parsed: Option<String> = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.pointer("/error/message")
                .or_else(|| v.get("error"))
                .and_then(|m| m.as_str().map(str::to_owned))
        });
    let text = parsed.unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    text.chars().take(300).collect()
}

/// reqwest's message without the URL (it may carry a key in its query for some servers).
fn without_url(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    if let Some(url) = e.url() {
        s = s.replace(url.as_str(), "the model's address");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_messages_are_read_from_openais_error_shape() {
        assert_eq!(
            provider_message(br#"{"error":{"message":"model not found","type":"x"}}"#),
            "model not found"
        );
        assert_eq!(provider_message(br#"{"error":"overloaded"}"#), "overloaded");
        assert_eq!(provider_message(b"Bad Gateway"), "Bad Gateway");
        assert_eq!(ModelError::Timeout(3).reason(), "timeout");
        assert_eq!(
            ModelError::Rejected {
                status: 500,
                message: String::new()
            }
            .reason(),
            "provider_error"
        );
    }

    #[test]
    fn slow_busy_or_failing_models_are_worth_asking_again() {
        let transient = [
            ModelError::Timeout(30),
            ModelError::RateLimited,
            ModelError::Unreachable("connection refused".into()),
            ModelError::Rejected {
                status: 500,
                message: String::new(),
            },
            ModelError::Rejected {
                status: 503,
                message: String::new(),
            },
        ];
        assert!(transient.iter().all(ModelError::is_transient));
        let permanent = [
            ModelError::Refused("loopback".into()),
            ModelError::Unreadable("not JSON".into()),
            ModelError::Rejected {
                status: 400,
                message: "unsupported file".into(),
            },
            ModelError::Rejected {
                status: 401,
                message: "bad key".into(),
            },
            ModelError::Rejected {
                status: 404,
                message: "no such model".into(),
            },
        ];
        assert!(!permanent.iter().any(ModelError::is_transient));
    }

    #[test]
    fn content_types_are_sent_bare_or_not_at_all() {
        assert_eq!(media_type("audio/mpeg"), "audio/mpeg");
        assert_eq!(media_type("audio/ogg; codecs=opus"), "audio/ogg");
        assert_eq!(media_type("audio"), "application/octet-stream");
        assert_eq!(media_type("audio/mp eg"), "application/octet-stream");
        assert_eq!(media_type(""), "application/octet-stream");
    }

    fn endpoint(base_url: &str) -> ModelEndpoint<'_> {
        ModelEndpoint {
            base_url,
            api_key: Some("sk-1"),
            model: "whisper-1",
            timeout: Duration::from_secs(5),
        }
    }

    fn client() -> OutboundClient {
        OutboundClient::new(
            Duration::from_secs(5),
            &crate::OutboundPolicy::allow_all(),
            &[],
        )
        .unwrap()
    }

    #[tokio::test]
    async fn a_recording_is_sent_as_openais_multipart_form() {
        use crate::test_server::{ScriptedServer, json_reply};
        let server =
            ScriptedServer::start(|_, _| json_reply(200, &json!({"text": " Olá, é a Maria. \n"})))
                .await;
        let base = format!("{}/v1", server.url);
        let audio = Audio {
            bytes: b"ID3\x03fake mp3".to_vec(),
            file_name: "voicemail-CA1.mp3",
            content_type: "audio/mpeg",
        };
        let text = transcribe(&client(), &endpoint(&base), audio, Some("pt"))
            .await
            .unwrap();
        assert_eq!(text, "Olá, é a Maria.");
        let seen = server.seen();
        assert_eq!(seen[0].line, "POST /v1/audio/transcriptions");
        assert!(
            seen[0].head.contains("authorization: bearer sk-1"),
            "{}",
            seen[0].head
        );
        assert!(
            seen[0]
                .head
                .contains("content-type: multipart/form-data; boundary=")
        );
        let body = seen[0].text();
        for part in [
            "name=\"file\"; filename=\"voicemail-CA1.mp3\"\r\nContent-Type: audio/mpeg\r\n\r\nID3\u{3}fake mp3\r\n",
            "name=\"model\"\r\n\r\nwhisper-1\r\n",
            "name=\"response_format\"\r\n\r\njson\r\n",
            "name=\"language\"\r\n\r\npt\r\n",
        ] {
            assert!(body.contains(part), "{part:?} in {body:?}");
        }

        // Without a hint, no language is sent; failures keep their kinds.
        server.then((429, "application/json", b"{}".to_vec()));
        server.then(json_reply(
            400,
            &json!({"error": {"message": "Invalid file format."}}),
        ));
        server.then((200, "application/json", b"{\"words\": []}".to_vec()));
        let again = || Audio {
            bytes: vec![1, 2, 3],
            file_name: "v.wav",
            content_type: "audio/x-wav",
        };
        let e = endpoint(&base);
        assert_eq!(
            transcribe(&client(), &e, again(), None).await,
            Err(ModelError::RateLimited)
        );
        assert_eq!(
            transcribe(&client(), &e, again(), None).await,
            Err(ModelError::Rejected {
                status: 400,
                message: "Invalid file format.".into()
            })
        );
        assert!(matches!(
            transcribe(&client(), &e, again(), None).await,
            Err(ModelError::Unreadable(_))
        ));
        assert!(
            server.seen()[1..]
                .iter()
                .all(|r| !r.text().contains("name=\"language\""))
        );
    }
}
