//! An email inbox's settings as plain data. The store reads and writes them (passwords
//! sealed); the email channel turns them into SMTP and IMAP sessions.

/// The local-part prefix of per-conversation reply addresses: `reply+<token>@<domain>`.
pub const REPLY_PREFIX: &str = "reply+";

/// How an email inbox sends.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SmtpConfig {
    pub enabled: bool,
    pub address: Option<String>,
    pub port: Option<i64>,
    pub login: Option<String>,
    /// Unsealed; never shown by the API.
    pub password: Option<String>,
    /// HELO name.
    pub domain: Option<String>,
    /// Implicit TLS (port 465).
    pub enable_ssl_tls: bool,
    /// STARTTLS (required when set).
    pub enable_starttls_auto: bool,
}

/// How an email inbox fetches.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImapConfig {
    pub enabled: bool,
    pub address: Option<String>,
    pub port: Option<i64>,
    pub login: Option<String>,
    pub password: Option<String>,
    pub enable_ssl: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmailChannel {
    pub inbox_id: i64,
    pub account_id: i64,
    /// Normalised (lower-case) address, e.g. support@company.example.
    pub email: String,
    pub signature: Option<String>,
    pub smtp: SmtpConfig,
    pub imap: ImapConfig,
}

impl EmailChannel {
    /// The domain of the inbox address: reply addresses are `reply+<token>@<domain>`.
    pub fn domain(&self) -> &str {
        self.email.rsplit_once('@').map_or("", |(_, d)| d)
    }

    /// The per-conversation reply address.
    pub fn reply_address(&self, token: &str) -> String {
        format!("{REPLY_PREFIX}{token}@{}", self.domain())
    }
}

/// The Message-ID we give an outgoing message: stable across retries, so a receiver that got
/// it twice can tell.
pub fn outgoing_message_id(conversation_uuid: &str, message_id: i64, domain: &str) -> String {
    format!("throughline.{conversation_uuid}.{message_id}@{domain}")
}
