//! Hands composed messages to an SMTP relay (lettre, tokio, rustls with ring).
//!
//! The sender job needs one decision from every failure: retry later or give up and show the
//! agent why. [`SendError`] makes exactly that split and keeps the server's own words, because
//! "550 5.1.1 <ana@example.com>: Recipient address rejected" tells an agent what to fix and
//! "send failed" does not.

use std::error::Error as _;
use std::fmt;
use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::{self, PoolConfig};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use thiserror::Error;

/// How the connection to the relay is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsMode {
    /// Plain text (a relay on localhost or a trusted network).
    None,
    /// Plain connection upgraded with STARTTLS, which is then required (usually port 587).
    #[default]
    StartTls,
    /// TLS from the first byte ("SMTPS", usually port 465).
    Tls,
}

/// One inbox's outgoing server.
#[derive(Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    /// Authenticate (PLAIN or LOGIN) when set.
    pub username: Option<String>,
    pub password: Option<String>,
    /// Limit for connecting and for each command's answer.
    pub timeout: Duration,
    /// The name we announce in EHLO; the machine's host name when `None`.
    pub helo_name: Option<String>,
}

impl SmtpSettings {
    /// Settings with the usual defaults: STARTTLS, no auth, 30 s timeout.
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Self {
            host: host.into(),
            port,
            tls: TlsMode::StartTls,
            username: None,
            password: None,
            timeout: Duration::from_secs(30),
            helo_name: None,
        }
    }
}

/// The password never reaches logs through `{:?}`.
impl fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .field("helo_name", &self.helo_name)
            .finish()
    }
}

/// The relay's final answer to our message (usually `250 2.0.0 Ok: queued as …`), worth
/// storing: its queue id is what the relay's admin asks for when mail goes missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendReceipt {
    pub code: u16,
    pub message: String,
}

/// Why a message was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SendError {
    /// Retry later: a 4xx answer, or the relay could not be reached, timed out, broke the
    /// connection or failed the TLS handshake.
    #[error("temporary SMTP failure{}: {message}", code_suffix(*.code))]
    Temporary { code: Option<u16>, message: String },
    /// Do not retry: a 5xx answer (unknown recipient, rejected content, bad credentials), or
    /// input that can never be sent (invalid address, no recipients).
    #[error("permanent SMTP failure{}: {message}", code_suffix(*.code))]
    Permanent { code: Option<u16>, message: String },
}

fn code_suffix(code: Option<u16>) -> String {
    code.map(|c| format!(" ({c})")).unwrap_or_default()
}

impl SendError {
    pub fn is_temporary(&self) -> bool {
        matches!(self, Self::Temporary { .. })
    }

    /// The SMTP reply code, when the failure was an answer from the server.
    pub fn code(&self) -> Option<u16> {
        match self {
            Self::Temporary { code, .. } | Self::Permanent { code, .. } => *code,
        }
    }

    /// The server's text (or our description when it never answered).
    pub fn message(&self) -> &str {
        match self {
            Self::Temporary { message, .. } | Self::Permanent { message, .. } => message,
        }
    }

    fn invalid(message: impl Into<String>) -> Self {
        Self::Permanent {
            code: None,
            message: message.into(),
        }
    }
}

/// A connection pool to one relay. Keep one per inbox while its queue drains: reusing the
/// connection saves a TLS handshake and AUTH per message.
#[derive(Clone)]
pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl fmt::Debug for SmtpSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSender").finish_non_exhaustive()
    }
}

impl SmtpSender {
    pub fn new(settings: &SmtpSettings) -> Result<Self, SendError> {
        let host = settings.host.trim();
        if host.is_empty() {
            return Err(SendError::invalid("the SMTP host is empty"));
        }
        let tls_parameters = || {
            TlsParameters::new(host.to_owned())
                .map_err(|e| SendError::invalid(format!("TLS setup failed: {e}")))
        };
        let tls = match settings.tls {
            TlsMode::None => Tls::None,
            TlsMode::StartTls => Tls::Required(tls_parameters()?),
            TlsMode::Tls => Tls::Wrapper(tls_parameters()?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(settings.port)
            .tls(tls)
            .timeout(Some(settings.timeout))
            .pool_config(
                PoolConfig::new()
                    .min_idle(0)
                    .max_size(4)
                    .idle_timeout(Duration::from_secs(60)),
            );
        if let Some(username) = &settings.username {
            let password = settings.password.clone().unwrap_or_default();
            builder = builder.credentials(Credentials::new(username.clone(), password));
        }
        if let Some(name) = settings.helo_name.as_ref().filter(|n| !n.trim().is_empty()) {
            builder = builder.hello_name(ClientId::Domain(name.trim().to_owned()));
        }
        Ok(Self {
            transport: builder.build(),
        })
    }

    /// Sends `raw` (as built by [`crate::email::compose`]) to `recipients`. `envelope_from` is the
    /// return path; empty means the null sender `<>`.
    pub async fn send_raw(
        &self,
        envelope_from: &str,
        recipients: &[String],
        raw: &[u8],
    ) -> Result<SendReceipt, SendError> {
        let envelope = envelope(envelope_from, recipients)?;
        let response = self
            .transport
            .send_raw(&envelope, raw)
            .await
            .map_err(classify)?;
        Ok(SendReceipt {
            code: u16::from(response.code()),
            message: response.message().collect::<Vec<_>>().join(" "),
        })
    }

    /// Connects, says EHLO, upgrades to TLS and authenticates as a send would, then NOOP.
    pub async fn test_connection(&self) -> Result<(), SendError> {
        match self.transport.test_connection().await {
            Ok(true) => Ok(()),
            Ok(false) => Err(SendError::Temporary {
                code: None,
                message: "the server did not answer NOOP after connecting".to_owned(),
            }),
            Err(e) => Err(classify(e)),
        }
    }
}

/// Sends one message with a connection made for it; see [`SmtpSender`] to reuse connections.
pub async fn send_raw(
    settings: &SmtpSettings,
    envelope_from: &str,
    recipients: &[String],
    raw: &[u8],
) -> Result<SendReceipt, SendError> {
    SmtpSender::new(settings)?
        .send_raw(envelope_from, recipients, raw)
        .await
}

/// The admin UI's "test connection": the error carries the server's exact reply or the
/// connection/TLS failure.
pub async fn test_connection(settings: &SmtpSettings) -> Result<(), SendError> {
    SmtpSender::new(settings)?.test_connection().await
}

fn envelope(envelope_from: &str, recipients: &[String]) -> Result<Envelope, SendError> {
    let parse = |address: &str| {
        crate::email::strip_angle_brackets(address)
            .parse::<lettre::Address>()
            .map_err(|e| SendError::invalid(format!("`{address}` is not a valid address: {e}")))
    };
    let from = match crate::email::strip_angle_brackets(envelope_from) {
        "" => None,
        address => Some(parse(address)?),
    };
    let to = recipients
        .iter()
        .map(|r| parse(r))
        .collect::<Result<Vec<_>, _>>()?;
    if to.is_empty() {
        return Err(SendError::invalid("the message has no recipients"));
    }
    Envelope::new(from, to).map_err(|e| SendError::invalid(e.to_string()))
}

/// 4xx and every failure to talk to the server are temporary; 5xx and our own client-side
/// refusals (e.g. no common AUTH mechanism) are permanent.
fn classify(error: smtp::Error) -> SendError {
    let code = error.status().map(u16::from);
    if error.is_permanent() || error.is_transient() {
        // For replies, lettre's source is the server's text with the lines joined.
        let message = error
            .source()
            .map_or_else(|| error.to_string(), |s| s.to_string());
        return if error.is_permanent() {
            SendError::Permanent { code, message }
        } else {
            SendError::Temporary { code, message }
        };
    }
    let message = error.to_string();
    if error.is_client() {
        SendError::Permanent {
            code: None,
            message,
        }
    } else {
        SendError::Temporary {
            code: None,
            message,
        }
    }
}
