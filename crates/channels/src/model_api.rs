//! An OpenAI-compatible model API (OpenAI itself, or a local Ollama, vLLM or llama.cpp server):
//! chat completions and embeddings, through the one guarded outbound client. Every failure is
//! one of a few kinds the assistant answers differently (a timeout and a rate limit are worth
//! trying again later; a refused address is the administrator's to fix).

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;
use throughline_core::assistant::prompts::ChatMessage;

use crate::outbound_guard::{OutboundClient, SendError};

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

async fn call<T: serde::de::DeserializeOwned>(
    client: &OutboundClient,
    endpoint: &ModelEndpoint<'_>,
    path: &str,
    body: &serde_json::Value,
) -> Result<T, ModelError> {
    let url = format!("{}/{path}", endpoint.base_url.trim_end_matches('/'));
    let mut request = client.post(url).timeout(endpoint.timeout).json(body);
    if let Some(key) = endpoint.api_key {
        request = request.bearer_auth(key);
    }
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
}
