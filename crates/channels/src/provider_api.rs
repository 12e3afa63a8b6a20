//! What every provider adapter does with the provider's API: read its answer into a
//! `SendOutcome`, download a file it holds within a size limit, check a Meta-style signature.

use serde_json::Value;
use throughline_core::crypto::{constant_time_eq, hmac_sha256_hex};

use crate::outbound_guard::{Outgoing, SendError};
use crate::{Rejected, SendOutcome};

/// Sends a provider API call and reads the answer: 2xx → accepted with the id `id_of` finds;
/// 408, 425, 429 and 5xx → retried later; other 4xx → refused for good with the provider's
/// words (`error_of`), which the agent is shown.
pub(crate) async fn send_json(
    request: Outgoing,
    id_of: impl Fn(&Value) -> Option<String>,
    error_of: impl Fn(&Value) -> Option<String>,
) -> SendOutcome {
    let response = match request.send().await {
        Ok(r) => r,
        // Refused before connecting: the same until the operator allows the host.
        Err(SendError::Refused(r)) => return SendOutcome::permanent(r.to_string()),
        Err(SendError::Http(e)) if e.is_timeout() => {
            return SendOutcome::temporary("the provider did not answer in time");
        }
        Err(SendError::Http(e)) => return SendOutcome::temporary(describe(e)),
    };
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if (200..300).contains(&status) {
        return SendOutcome::Accepted {
            provider_id: id_of(&body),
            status: Some(status),
        };
    }
    let reason = error_of(&body).unwrap_or_else(|| {
        let snippet: String = text.chars().take(300).collect();
        format!("HTTP {status}: {snippet}")
    });
    if matches!(status, 408 | 425 | 429) || status >= 500 {
        SendOutcome::Temporary {
            reason,
            status: Some(status),
        }
    } else {
        SendOutcome::Permanent {
            reason,
            status: Some(status),
        }
    }
}

/// A GET whose JSON answer is needed (a media lookup, a template list).
pub(crate) async fn get_json(request: Outgoing) -> Result<Value, String> {
    let response = request.send().await.map_err(unsent)?;
    let status = response.status();
    let text = response.text().await.map_err(describe)?;
    if !status.is_success() {
        let snippet: String = text.chars().take(300).collect();
        return Err(format!("HTTP {}: {snippet}", status.as_u16()));
    }
    serde_json::from_str(&text).map_err(|e| format!("the provider's answer is not JSON: {e}"))
}

/// Downloads a file, refusing it past `limit` bytes (read in chunks: a lying or absent
/// Content-Length cannot make us hold more).
pub(crate) async fn download(
    request: Outgoing,
    limit: usize,
) -> Result<(Vec<u8>, Option<String>), String> {
    let mut response = request.send().await.map_err(unsent)?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!(
            "the provider answered HTTP {} for the file",
            status.as_u16()
        ));
    }
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(format!("the file is larger than {} MiB", limit >> 20));
    }
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or(v).trim().to_owned());
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(describe)? {
        if bytes.len() + chunk.len() > limit {
            return Err(format!("the file is larger than {} MiB", limit >> 20));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok((bytes, content_type))
}

/// Why a request was not sent: the guard's refusal (it names the host and port, never the
/// path), or the transport error.
fn unsent(e: SendError) -> String {
    match e {
        SendError::Refused(r) => r.to_string(),
        SendError::Http(e) => describe(e),
    }
}

/// A transport error worded for the agent and the logs, without its URL: some providers'
/// URLs carry a credential (Telegram's bot token).
fn describe(e: reqwest::Error) -> String {
    if e.is_timeout() {
        "the provider did not answer in time".into()
    } else {
        format!("could not reach the provider: {}", e.without_url())
    }
}

/// Meta's `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body under the app secret>`
/// (WhatsApp Cloud, Messenger, Instagram).
pub(crate) fn verify_hub_signature(
    header: Option<&str>,
    body: &[u8],
    app_secret: Option<&str>,
) -> Result<(), Rejected> {
    let Some(secret) = app_secret.filter(|s| !s.is_empty()) else {
        return Err(Rejected::unauthorized(
            "no app secret is configured for this inbox, so its webhooks cannot be verified",
        ));
    };
    let given = header
        .and_then(|h| h.trim().strip_prefix("sha256="))
        .ok_or_else(|| Rejected::unauthorized("X-Hub-Signature-256 is missing"))?;
    let expected = hmac_sha256_hex(secret.as_bytes(), body);
    if constant_time_eq(expected.as_bytes(), given.to_ascii_lowercase().as_bytes()) {
        Ok(())
    } else {
        Err(Rejected::unauthorized(
            "X-Hub-Signature-256 does not match the body",
        ))
    }
}

/// Meta's subscription handshake: `hub.mode=subscribe`, `hub.verify_token`, `hub.challenge`.
/// `accepts` says whether the token is one this inbox (or instance) was given.
pub fn hub_challenge(
    query: &str,
    accepts: impl Fn(&str) -> bool,
) -> Result<crate::ProviderAnswer, Rejected> {
    let mut mode = None;
    let mut token = None;
    let mut challenge = None;
    for (k, v) in form_pairs(query.as_bytes()) {
        match k.as_str() {
            "hub.mode" => mode = Some(v),
            "hub.verify_token" => token = Some(v),
            "hub.challenge" => challenge = Some(v),
            _ => {}
        }
    }
    if mode.as_deref() != Some("subscribe") {
        return Err(Rejected::invalid("hub.mode must be subscribe"));
    }
    let challenge = challenge.ok_or_else(|| Rejected::invalid("hub.challenge is missing"))?;
    match token {
        Some(t) if accepts(&t) => Ok(crate::ProviderAnswer {
            status: 200,
            content_type: "text/plain",
            body: challenge.into_bytes(),
        }),
        _ => Err(Rejected::forbidden("hub.verify_token is not this inbox's")),
    }
}

/// `application/x-www-form-urlencoded` pairs (also a query string), in order.
pub(crate) fn form_pairs(bytes: &[u8]) -> Vec<(String, String)> {
    serde_html_form::from_bytes::<Vec<(String, String)>>(bytes).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_signatures_are_checked_against_the_raw_body() {
        let body = br#"{"object":"page"}"#;
        let sig = format!("sha256={}", hmac_sha256_hex(b"s3cret", body));
        assert!(verify_hub_signature(Some(&sig), body, Some("s3cret")).is_ok());
        assert!(
            verify_hub_signature(
                Some(&sig.to_uppercase().replace("SHA256", "sha256")),
                body,
                Some("s3cret")
            )
            .is_ok()
        );
        assert_eq!(
            verify_hub_signature(Some(&sig), b"{}", Some("s3cret"))
                .unwrap_err()
                .status,
            401
        );
        assert_eq!(
            verify_hub_signature(None, body, Some("s3cret"))
                .unwrap_err()
                .status,
            401
        );
        assert_eq!(
            verify_hub_signature(Some(&sig), body, None)
                .unwrap_err()
                .status,
            401
        );
    }

    #[test]
    fn the_challenge_is_echoed_only_for_the_right_token() {
        let ok = hub_challenge(
            "hub.mode=subscribe&hub.verify_token=abc&hub.challenge=1158201444",
            |t| t == "abc",
        )
        .unwrap();
        assert_eq!(ok.body, b"1158201444");
        assert_eq!(
            hub_challenge(
                "hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1",
                |t| t == "abc"
            )
            .unwrap_err()
            .status,
            403
        );
        assert_eq!(
            hub_challenge("hub.verify_token=abc&hub.challenge=1", |t| t == "abc")
                .unwrap_err()
                .status,
            422
        );
        assert_eq!(hub_challenge("%%%", |_| true).unwrap_err().status, 422);
    }
}
