//! Configuration: defaults, then a TOML file, then `THROUGHLINE_*` environment variables, then
//! command-line flags (clap reads the last two). Declared once, passed by value.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Deserialize;

/// Everything `serve` can be told. Every field is optional here; `Config::resolve` fills in
/// the defaults documented in `default_config_toml`.
///
/// The fields' doc comments are `--help` text, written for a terminal (`[default: …]`,
/// `<data-dir>`), not rustdoc markup.
#[derive(Args, Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(rustdoc::broken_intra_doc_links, rustdoc::invalid_html_tags)]
pub struct Settings {
    /// Address to listen on [default: 127.0.0.1:3000]
    #[arg(long, global = true, env = "THROUGHLINE_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Directory for the SQLite database, attachments and the server key [default: ./data]
    #[arg(long, global = true, env = "THROUGHLINE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// sqlite://… or postgres://… [default: sqlite://<data-dir>/throughline.db]
    #[arg(long, global = true, env = "THROUGHLINE_DATABASE_URL")]
    pub database_url: Option<String>,
    /// The URL users and providers reach this server at [default: http://<listen>]
    #[arg(long, global = true, env = "THROUGHLINE_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Server key (32 bytes, base64url) sealing secrets and deriving tokens; shared by all
    /// instances of a deployment [default: generated into <data-dir>/secret.key]
    #[arg(
        long,
        global = true,
        env = "THROUGHLINE_SECRET_KEY",
        hide_env_values = true
    )]
    pub secret_key: Option<String>,
    /// Log format: text or json [default: text]
    #[arg(long, global = true, env = "THROUGHLINE_LOG_FORMAT")]
    pub log_format: Option<String>,
    /// Log filter, e.g. info or throughline=debug [default: info]
    #[arg(long, global = true, env = "THROUGHLINE_LOG")]
    pub log: Option<String>,
    /// Trust X-Forwarded-For (only behind your own reverse proxy) [default: false]
    #[arg(long, global = true, env = "THROUGHLINE_TRUST_PROXY")]
    pub trust_proxy: Option<bool>,
    /// Seconds to wait for a webhook receiver [default: 10]
    #[arg(long, global = true, env = "THROUGHLINE_WEBHOOK_TIMEOUT_SECS")]
    pub webhook_timeout_secs: Option<u64>,
    /// Attempts per webhook delivery before it is marked failed [default: 10]
    #[arg(long, global = true, env = "THROUGHLINE_WEBHOOK_MAX_ATTEMPTS")]
    pub webhook_max_attempts: Option<u32>,
    /// First retry delay of a webhook delivery, doubled each time [default: 10000]
    #[arg(long, global = true, env = "THROUGHLINE_WEBHOOK_RETRY_BASE_MS")]
    pub webhook_retry_base_ms: Option<i64>,
    /// A delivery being sent is retried after this many ms if its sender died [default: 120000]
    #[arg(long, global = true, env = "THROUGHLINE_DELIVERY_LEASE_MS")]
    pub delivery_lease_ms: Option<i64>,
    /// Browser sessions last this many hours [default: 336]
    #[arg(long, global = true, env = "THROUGHLINE_SESSION_TTL_HOURS")]
    pub session_ttl_hours: Option<u64>,
    /// Largest attachment upload in MiB [default: 40]
    #[arg(long, global = true, env = "THROUGHLINE_UPLOAD_LIMIT_MB")]
    pub upload_limit_mb: Option<usize>,
    /// Database connections in the pool [default: 8]
    #[arg(long, global = true, env = "THROUGHLINE_DB_MAX_CONNECTIONS")]
    pub db_max_connections: Option<u32>,
    /// First start only: the administrator's email [default: admin@throughline.local]
    #[arg(long, global = true, env = "THROUGHLINE_ADMIN_EMAIL")]
    pub admin_email: Option<String>,
    /// First start only: the administrator's password [default: generated and printed once]
    #[arg(
        long,
        global = true,
        env = "THROUGHLINE_ADMIN_PASSWORD",
        hide_env_values = true
    )]
    pub admin_password: Option<String>,
    /// First start only: the first account's name [default: My Company]
    #[arg(long, global = true, env = "THROUGHLINE_ACCOUNT_NAME")]
    pub account_name: Option<String>,
    /// Built-in SMTP receiver for email inboxes, e.g. 0.0.0.0:25 [default: off]
    #[arg(long, global = true, env = "THROUGHLINE_SMTP_LISTEN")]
    pub smtp_listen: Option<SocketAddr>,
    /// Host name the SMTP receiver greets with [default: the public URL's host]
    #[arg(long, global = true, env = "THROUGHLINE_SMTP_HOSTNAME")]
    pub smtp_hostname: Option<String>,
    /// PEM certificate chain offering STARTTLS on the SMTP receiver [default: no STARTTLS]
    #[arg(long, global = true, env = "THROUGHLINE_SMTP_TLS_CERT")]
    pub smtp_tls_cert: Option<PathBuf>,
    /// PEM private key for smtp_tls_cert
    #[arg(long, global = true, env = "THROUGHLINE_SMTP_TLS_KEY")]
    pub smtp_tls_key: Option<PathBuf>,
    /// Largest email the SMTP receiver accepts, in MiB [default: 25]
    #[arg(long, global = true, env = "THROUGHLINE_SMTP_MAX_MESSAGE_MB")]
    pub smtp_max_message_mb: Option<usize>,
    /// System mail (invitations, password resets): the SMTP relay's host [default: none, and
    /// the links are shown to administrators instead]
    #[arg(long, global = true, env = "THROUGHLINE_SMTP_ADDRESS")]
    pub smtp_address: Option<String>,
    /// System mail: the relay's port [default: 587]
    #[arg(long, global = true, env = "THROUGHLINE_SMTP_PORT")]
    pub smtp_port: Option<u16>,
    /// System mail: the relay's user name [default: no authentication]
    #[arg(long, global = true, env = "THROUGHLINE_SMTP_USERNAME")]
    pub smtp_username: Option<String>,
    /// System mail: the relay's password
    #[arg(long, global = true, env = "THROUGHLINE_SMTP_PASSWORD")]
    pub smtp_password: Option<String>,
    /// System mail: starttls, tls or none [default: starttls]
    #[arg(long, global = true, env = "THROUGHLINE_SMTP_SECURITY")]
    pub smtp_security: Option<String>,
    /// System mail: the From address, e.g. "Acme Support <support@acme.test>"
    /// [default: throughline@ the public URL's host]
    #[arg(long, global = true, env = "THROUGHLINE_MAILER_SENDER")]
    pub mailer_sender: Option<String>,
    /// Seconds between IMAP polls of a mailbox without IDLE [default: 60]
    #[arg(long, global = true, env = "THROUGHLINE_IMAP_POLL_SECS")]
    pub imap_poll_secs: Option<u64>,
    /// Client API requests per second from one address, burst twice that; 0 = off [default: 100]
    #[arg(long, global = true, env = "THROUGHLINE_PUBLIC_RATE_PER_IP")]
    pub public_rate_per_ip: Option<u32>,
    /// Client API requests per second of one widget visitor; 0 = off [default: 20]
    #[arg(long, global = true, env = "THROUGHLINE_PUBLIC_RATE_PER_VISITOR")]
    pub public_rate_per_visitor: Option<u32>,
    /// Visitor messages per second from one address; 0 = off [default: 60]
    #[arg(long, global = true, env = "THROUGHLINE_PUBLIC_MESSAGE_RATE_PER_IP")]
    pub public_message_rate_per_ip: Option<u32>,
    /// Twilio's REST API [default: `https://api.twilio.com`]
    #[arg(long, global = true, env = "THROUGHLINE_TWILIO_API_URL")]
    pub twilio_api_url: Option<String>,
    /// Meta's Graph API, for WhatsApp Cloud, Messenger and Instagram [default: `https://graph.facebook.com/v22.0`]
    #[arg(long, global = true, env = "THROUGHLINE_META_GRAPH_URL")]
    pub meta_graph_url: Option<String>,
    /// Telegram's Bot API [default: `https://api.telegram.org`]
    #[arg(long, global = true, env = "THROUGHLINE_TELEGRAM_API_URL")]
    pub telegram_api_url: Option<String>,
    /// The Meta app's secret, checking webhooks of inboxes given none of their own
    #[arg(
        long,
        global = true,
        env = "THROUGHLINE_META_APP_SECRET",
        hide_env_values = true
    )]
    pub meta_app_secret: Option<String>,
    /// The token Meta's subscription handshake must present at /bot and /webhooks/instagram
    #[arg(
        long,
        global = true,
        env = "THROUGHLINE_META_VERIFY_TOKEN",
        hide_env_values = true
    )]
    pub meta_verify_token: Option<String>,
    /// Let webhooks, API inbox callbacks and provider files reach loopback, private and
    /// link-local addresses: the outbound address check is off [default: false]
    #[arg(
        long,
        global = true,
        env = "THROUGHLINE_OUTBOUND_ALLOW_PRIVATE_NETWORKS"
    )]
    pub outbound_allow_private_networks: Option<bool>,
    /// Hosts (host or host:port, comma-separated) outbound requests may reach whatever their
    /// address, e.g. n8n.internal:5678 [default: none]
    #[arg(
        long,
        global = true,
        env = "THROUGHLINE_OUTBOUND_ALLOWED_HOSTS",
        value_delimiter = ','
    )]
    pub outbound_allowed_hosts: Option<Vec<String>>,
    /// Bearer token that /metrics asks for; without one, /metrics answers only direct
    /// connections from the loopback interface
    #[arg(
        long,
        global = true,
        env = "THROUGHLINE_METRICS_TOKEN",
        hide_env_values = true
    )]
    pub metrics_token: Option<String>,
    /// Seconds a request head may take from its first byte (and a new connection may stay
    /// silent) [default: 10]
    #[arg(long, global = true, env = "THROUGHLINE_HTTP_HEADER_TIMEOUT_SECS")]
    pub http_header_timeout_secs: Option<u64>,
    /// Seconds an idle keep-alive connection stays open [default: 60]
    #[arg(long, global = true, env = "THROUGHLINE_HTTP_IDLE_TIMEOUT_SECS")]
    pub http_idle_timeout_secs: Option<u64>,
    /// A request body bringing nothing for this many seconds is cut with 408 [default: 15]
    #[arg(long, global = true, env = "THROUGHLINE_HTTP_BODY_TIMEOUT_SECS")]
    pub http_body_timeout_secs: Option<u64>,
    /// Bytes per second a request body must average after its first timeout; 0 = off
    /// [default: 1024]
    #[arg(long, global = true, env = "THROUGHLINE_HTTP_BODY_MIN_RATE")]
    pub http_body_min_rate: Option<u64>,
    /// Open connections in all, kept under the open-file limit; 0 = that limit only
    /// [default: 20000]
    #[arg(long, global = true, env = "THROUGHLINE_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Open connections from one client address (IPv6: one /64); 0 = off
    /// [default: 1000, off with trust_proxy]
    #[arg(long, global = true, env = "THROUGHLINE_MAX_CONNECTIONS_PER_IP")]
    pub max_connections_per_ip: Option<usize>,
    /// Seconds between the server's pings on realtime sockets [default: 30]
    #[arg(long, global = true, env = "THROUGHLINE_WS_PING_INTERVAL_SECS")]
    pub ws_ping_interval_secs: Option<u64>,
    /// A realtime socket silent this many seconds (no pong, no frame) is closed [default: 90]
    #[arg(long, global = true, env = "THROUGHLINE_WS_IDLE_TIMEOUT_SECS")]
    pub ws_idle_timeout_secs: Option<u64>,
}

impl Settings {
    /// Fills what `self` leaves open from `lower`.
    fn or(self, lower: Settings) -> Settings {
        Settings {
            listen: self.listen.or(lower.listen),
            data_dir: self.data_dir.or(lower.data_dir),
            database_url: self.database_url.or(lower.database_url),
            public_url: self.public_url.or(lower.public_url),
            secret_key: self.secret_key.or(lower.secret_key),
            log_format: self.log_format.or(lower.log_format),
            log: self.log.or(lower.log),
            trust_proxy: self.trust_proxy.or(lower.trust_proxy),
            webhook_timeout_secs: self.webhook_timeout_secs.or(lower.webhook_timeout_secs),
            webhook_max_attempts: self.webhook_max_attempts.or(lower.webhook_max_attempts),
            webhook_retry_base_ms: self.webhook_retry_base_ms.or(lower.webhook_retry_base_ms),
            delivery_lease_ms: self.delivery_lease_ms.or(lower.delivery_lease_ms),
            session_ttl_hours: self.session_ttl_hours.or(lower.session_ttl_hours),
            upload_limit_mb: self.upload_limit_mb.or(lower.upload_limit_mb),
            db_max_connections: self.db_max_connections.or(lower.db_max_connections),
            admin_email: self.admin_email.or(lower.admin_email),
            admin_password: self.admin_password.or(lower.admin_password),
            account_name: self.account_name.or(lower.account_name),
            smtp_listen: self.smtp_listen.or(lower.smtp_listen),
            smtp_hostname: self.smtp_hostname.or(lower.smtp_hostname),
            smtp_tls_cert: self.smtp_tls_cert.or(lower.smtp_tls_cert),
            smtp_tls_key: self.smtp_tls_key.or(lower.smtp_tls_key),
            smtp_max_message_mb: self.smtp_max_message_mb.or(lower.smtp_max_message_mb),
            smtp_address: self.smtp_address.or(lower.smtp_address),
            smtp_port: self.smtp_port.or(lower.smtp_port),
            smtp_username: self.smtp_username.or(lower.smtp_username),
            smtp_password: self.smtp_password.or(lower.smtp_password),
            smtp_security: self.smtp_security.or(lower.smtp_security),
            mailer_sender: self.mailer_sender.or(lower.mailer_sender),
            imap_poll_secs: self.imap_poll_secs.or(lower.imap_poll_secs),
            public_rate_per_ip: self.public_rate_per_ip.or(lower.public_rate_per_ip),
            public_rate_per_visitor: self
                .public_rate_per_visitor
                .or(lower.public_rate_per_visitor),
            public_message_rate_per_ip: self
                .public_message_rate_per_ip
                .or(lower.public_message_rate_per_ip),
            twilio_api_url: self.twilio_api_url.or(lower.twilio_api_url),
            meta_graph_url: self.meta_graph_url.or(lower.meta_graph_url),
            telegram_api_url: self.telegram_api_url.or(lower.telegram_api_url),
            meta_app_secret: self.meta_app_secret.or(lower.meta_app_secret),
            meta_verify_token: self.meta_verify_token.or(lower.meta_verify_token),
            outbound_allow_private_networks: self
                .outbound_allow_private_networks
                .or(lower.outbound_allow_private_networks),
            outbound_allowed_hosts: self.outbound_allowed_hosts.or(lower.outbound_allowed_hosts),
            metrics_token: self.metrics_token.or(lower.metrics_token),
            http_header_timeout_secs: self
                .http_header_timeout_secs
                .or(lower.http_header_timeout_secs),
            http_idle_timeout_secs: self.http_idle_timeout_secs.or(lower.http_idle_timeout_secs),
            http_body_timeout_secs: self.http_body_timeout_secs.or(lower.http_body_timeout_secs),
            http_body_min_rate: self.http_body_min_rate.or(lower.http_body_min_rate),
            max_connections: self.max_connections.or(lower.max_connections),
            max_connections_per_ip: self.max_connections_per_ip.or(lower.max_connections_per_ip),
            ws_ping_interval_secs: self.ws_ping_interval_secs.or(lower.ws_ping_interval_secs),
            ws_idle_timeout_secs: self.ws_idle_timeout_secs.or(lower.ws_idle_timeout_secs),
        }
    }
}

#[derive(Clone, PartialEq, Eq, Debug)]
pub enum LogFormat {
    Text,
    Json,
}

/// The resolved configuration.
#[derive(Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub public_url: String,
    pub secret_key: Option<String>,
    pub log_format: LogFormat,
    pub log: String,
    pub trust_proxy: bool,
    pub webhook_timeout_secs: u64,
    pub webhook_max_attempts: u32,
    pub webhook_retry_base_ms: i64,
    pub delivery_lease_ms: i64,
    pub session_ttl_hours: u64,
    pub upload_limit_mb: usize,
    pub db_max_connections: u32,
    /// The bearer token /metrics asks for (None: loopback callers only).
    pub metrics_token: Option<String>,
    /// Whether `public_url` was given (otherwise it follows the bound address).
    pub public_url_explicit: bool,
    pub admin_email: Option<String>,
    pub admin_password: Option<String>,
    pub account_name: Option<String>,
    pub smtp_listen: Option<SocketAddr>,
    pub smtp_hostname: Option<String>,
    /// (certificate chain, private key), both PEM.
    pub smtp_tls: Option<(PathBuf, PathBuf)>,
    pub smtp_max_message_bytes: usize,
    pub imap_poll_secs: u64,
    /// The relay for system mail (invitations, password resets), when one is configured.
    pub system_mail: Option<throughline_service::system_mail::SystemMail>,
    /// Client API rate limits (requests per second; 0 = off).
    pub public_rates: throughline_http::PublicRates,
    /// Where the messaging providers' APIs are, and the Meta app's shared secrets.
    pub providers: throughline_channels::registry::ProviderEndpoints,
    /// Which addresses webhooks, callbacks and provider calls may reach.
    pub outbound: throughline_channels::OutboundPolicy,
    /// HTTP timeouts, connection caps and the realtime sockets' ping policy.
    pub connections: crate::serve::ConnectionLimits,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field(
                "database_url",
                &throughline_store::redact_url(&self.database_url),
            )
            .field("public_url", &self.public_url)
            .field(
                "secret_key",
                &self.secret_key.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Reads the TOML file (if any) under the flags and environment already parsed by clap.
    pub fn load(cli: Settings, file: Option<&Path>) -> anyhow::Result<Config> {
        let from_file = match file {
            Some(path) => read_file(path)?,
            None => {
                let default = Path::new("throughline.toml");
                if default.exists() {
                    read_file(default)?
                } else {
                    Settings::default()
                }
            }
        };
        Config::resolve(cli.or(from_file))
    }

    pub fn resolve(mut s: Settings) -> anyhow::Result<Config> {
        let mail = SystemMailSettings {
            address: s.smtp_address.take(),
            port: s.smtp_port,
            username: s.smtp_username.take(),
            password: s.smtp_password.take(),
            security: s.smtp_security.take(),
            sender: s.mailer_sender.take(),
        };
        let connections = crate::serve::ConnectionLimits::resolve(&s)?;
        let listen = s
            .listen
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 3000)));
        let data_dir = s.data_dir.unwrap_or_else(|| PathBuf::from("./data"));
        let database_url = s
            .database_url
            .unwrap_or_else(|| format!("sqlite://{}/throughline.db", data_dir.display()));
        let public_url_explicit = s.public_url.is_some();
        let public_url = s
            .public_url
            .unwrap_or_else(|| format!("http://{listen}"))
            .trim_end_matches('/')
            .to_owned();
        let log_format = match s.log_format.as_deref().unwrap_or("text") {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => anyhow::bail!("log format must be text or json, not `{other}`"),
        };
        let system_mail = system_mail(mail, &public_url)?;
        let smtp_tls = match (s.smtp_tls_cert, s.smtp_tls_key) {
            (Some(cert), Some(key)) => Some((cert, key)),
            (None, None) => None,
            _ => anyhow::bail!("smtp_tls_cert and smtp_tls_key go together"),
        };
        let providers = {
            let d = throughline_channels::registry::ProviderEndpoints::default();
            let url = |given: Option<String>, default: String| {
                given.map_or(default, |u| u.trim_end_matches('/').to_owned())
            };
            throughline_channels::registry::ProviderEndpoints {
                twilio_api: url(s.twilio_api_url, d.twilio_api),
                meta_graph: url(s.meta_graph_url, d.meta_graph),
                telegram_api: url(s.telegram_api_url, d.telegram_api),
                meta_app_secret: s.meta_app_secret.filter(|v| !v.is_empty()),
                meta_verify_token: s.meta_verify_token.filter(|v| !v.is_empty()),
                public_url: public_url.clone(),
            }
        };
        let outbound = throughline_channels::OutboundPolicy {
            allow_private_networks: s.outbound_allow_private_networks.unwrap_or(false),
            allowed_hosts: s
                .outbound_allowed_hosts
                .unwrap_or_default()
                .into_iter()
                .map(|h| h.trim().to_owned())
                .filter(|h| !h.is_empty())
                .collect(),
        };
        outbound.validate().map_err(|e| anyhow::anyhow!(e))?;
        Ok(Config {
            listen,
            data_dir,
            database_url,
            public_url,
            secret_key: s.secret_key,
            log_format,
            log: s.log.unwrap_or_else(|| "info".into()),
            trust_proxy: s.trust_proxy.unwrap_or(false),
            webhook_timeout_secs: s.webhook_timeout_secs.unwrap_or(10).clamp(1, 120),
            webhook_max_attempts: s.webhook_max_attempts.unwrap_or(10).clamp(1, 50),
            webhook_retry_base_ms: s
                .webhook_retry_base_ms
                .unwrap_or(10_000)
                .clamp(10, 3_600_000),
            delivery_lease_ms: s.delivery_lease_ms.unwrap_or(120_000).clamp(100, 3_600_000),
            session_ttl_hours: s.session_ttl_hours.unwrap_or(336).clamp(1, 24 * 365),
            upload_limit_mb: s.upload_limit_mb.unwrap_or(40).clamp(1, 1024),
            db_max_connections: s.db_max_connections.unwrap_or(8).clamp(2, 200),
            metrics_token: s.metrics_token.filter(|t| !t.trim().is_empty()),
            public_url_explicit,
            admin_email: s.admin_email,
            admin_password: s.admin_password,
            account_name: s.account_name,
            smtp_listen: s.smtp_listen,
            smtp_hostname: s.smtp_hostname,
            smtp_tls,
            smtp_max_message_bytes: s.smtp_max_message_mb.unwrap_or(25).clamp(1, 1024)
                * 1024
                * 1024,
            imap_poll_secs: s.imap_poll_secs.unwrap_or(60).clamp(1, 3600),
            system_mail,
            public_rates: {
                let d = throughline_http::PublicRates::default();
                throughline_http::PublicRates {
                    per_ip: s.public_rate_per_ip.unwrap_or(d.per_ip),
                    per_visitor: s.public_rate_per_visitor.unwrap_or(d.per_visitor),
                    messages_per_ip: s.public_message_rate_per_ip.unwrap_or(d.messages_per_ip),
                }
            },
            providers,
            outbound,
            connections,
        })
    }
}

fn read_file(path: &Path) -> anyhow::Result<Settings> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read config file {}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| anyhow::anyhow!("config file {}: {e}", path.display()))
}

/// The documented example printed by `throughline default-config`.
pub fn default_config_toml() -> &'static str {
    r#"# throughline.toml — every setting with its default. Environment variables THROUGHLINE_<NAME>
# (upper case) override this file; command-line flags --<name> (with dashes) override both.

# Address to listen on.
listen = "127.0.0.1:3000"
# SQLite database, attachments and the server key live here.
data_dir = "./data"
# sqlite://path or postgres://user:password@host/db. Default: sqlite://<data_dir>/throughline.db
# database_url = "postgres://throughline@127.0.0.1:5432/throughline"
# How users and providers reach this server (links, cookies). Default: http://<listen>
# public_url = "https://support.example.com"
# 32 bytes, base64url. Seals stored secrets and derives access tokens; every instance of a
# deployment needs the same one. Default: generated once into <data_dir>/secret.key
# secret_key = "…"
# text or json
log_format = "text"
# Log filter (tracing syntax).
log = "info"
# Take the client address from X-Forwarded-For (its last entry, the one your proxy appends);
# enable only behind your own proxy.
trust_proxy = false
# Outgoing webhooks: timeout, attempts, first retry delay (doubles each time, capped at 1 h).
webhook_timeout_secs = 10
webhook_max_attempts = 10
webhook_retry_base_ms = 10000
# A delivery in flight when its sender died is retried after this lease (ms).
delivery_lease_ms = 120000
# Browser sessions (hours).
session_ttl_hours = 336
# Largest attachment upload (MiB).
upload_limit_mb = 40
# Database connections.
db_max_connections = 8
# First start only (better given as THROUGHLINE_ADMIN_EMAIL / THROUGHLINE_ADMIN_PASSWORD):
# the first administrator, and the first account's name. Without a password one is generated
# and printed once.
# admin_email = "admin@throughline.local"
# account_name = "My Company"
# Email inboxes: the built-in SMTP receiver (off unless an address is given), its greeting
# name, STARTTLS certificate and key (PEM; both or neither), and the largest message (MiB).
# smtp_listen = "0.0.0.0:25"
# smtp_hostname = "mail.example.com"
# smtp_tls_cert = "/etc/throughline/smtp.crt"
# smtp_tls_key = "/etc/throughline/smtp.key"
smtp_max_message_mb = 25
# System mail — agents' invitations and password resets — through your SMTP relay (none by
# default: invitation links are then shown to the administrator, and resets are off).
# smtp_address = "smtp.example.com"
smtp_port = 587
# smtp_username = "throughline@example.com"
# smtp_password = "…"
# starttls, tls or none
smtp_security = "starttls"
# Default: Throughline <throughline@<public_url's host>>
# mailer_sender = "Acme Support <support@example.com>"
# Seconds between IMAP polls of mailboxes whose server has no IDLE.
imap_poll_secs = 60
# Rate limits of the Client API (the website widget's endpoints), per second with bursts of
# twice that, per instance; 0 turns one off. Over a limit: 429 with Retry-After.
# Every request from one address (visitors behind one NAT share it):
public_rate_per_ip = 100
# Every request of one visitor:
public_rate_per_visitor = 20
# Messages from one address:
public_message_rate_per_ip = 60
# Messaging providers' APIs (tests point them at local fakes).
twilio_api_url = "https://api.twilio.com"
meta_graph_url = "https://graph.facebook.com/v22.0"
telegram_api_url = "https://api.telegram.org"
# The Meta app's secret (checks X-Hub-Signature-256 for inboxes without their own) and the
# verify token Meta's subscription handshake presents at /bot and /webhooks/instagram.
# meta_app_secret = "…"
# meta_verify_token = "…"
# Outgoing requests — account webhooks, API inbox callbacks, files named in providers'
# webhooks — are refused when their host is, or resolves to, a loopback, private (RFC 1918,
# 100.64/10, fc00::/7), link-local (cloud metadata), multicast or other non-public address.
# The providers' API URLs above are always allowed. For a receiver next door (n8n, a CRM),
# list it as "host" or "host:port" ("[fd00::7]:443" for IPv6); allowing private networks turns
# the check off for every account's URLs.
outbound_allow_private_networks = false
outbound_allowed_hosts = []
# /metrics (Prometheus text format) asks for this bearer token when it is set; without it,
# /metrics answers only direct connections from this machine's loopback interface.
# metrics_token = "…"
# Slow and idle clients. A request head must arrive whole within http_header_timeout_secs of
# its first byte (a new connection that sends nothing is closed after it too); a keep-alive
# connection with no request is closed after http_idle_timeout_secs. A request body must bring
# bytes at least every http_body_timeout_secs and, after that first allowance, average
# http_body_min_rate bytes per second (0: only the first rule); otherwise it is cut with 408.
# WebSockets, once open, are not subject to these.
http_header_timeout_secs = 10
http_idle_timeout_secs = 60
http_body_timeout_secs = 15
http_body_min_rate = 1024
# Open connections (WebSockets included): in all, and from one client address (an IPv6 /64
# counts as one). Over a cap a connection gets 503 with Retry-After and is closed. The total
# is also kept under the process's open-file limit; 0 = that limit only. Behind a reverse proxy
# (trust_proxy) every connection comes from the proxy, so the per-address cap is off unless set
# (default: 1000 without trust_proxy).
max_connections = 20000
# max_connections_per_ip = 1000
# Realtime sockets (agents' tabs, widget visitors): the server pings every
# ws_ping_interval_secs and closes a socket whose client sent nothing, pongs included, for
# ws_idle_timeout_secs (which must be longer).
ws_ping_interval_secs = 30
ws_idle_timeout_secs = 90
"#
}

/// The `smtp_*` settings of system mail, as given.
struct SystemMailSettings {
    address: Option<String>,
    port: Option<u16>,
    username: Option<String>,
    password: Option<String>,
    security: Option<String>,
    sender: Option<String>,
}

/// The system mail relay from the `smtp_*` settings: none without `smtp_address`.
fn system_mail(
    s: SystemMailSettings,
    public_url: &str,
) -> anyhow::Result<Option<throughline_service::system_mail::SystemMail>> {
    use throughline_channels::email::Mailbox;
    use throughline_channels::email::send::{SmtpSettings, TlsMode};
    let Some(host) = s
        .address
        .as_deref()
        .map(str::trim)
        .filter(|h| !h.is_empty())
    else {
        return Ok(None);
    };
    let tls = match s.security.as_deref().map(str::trim).unwrap_or("starttls") {
        "starttls" => TlsMode::StartTls,
        "tls" => TlsMode::Tls,
        "none" => TlsMode::None,
        other => anyhow::bail!("smtp_security must be starttls, tls or none, not `{other}`"),
    };
    let mut smtp = SmtpSettings::new(host, s.port.unwrap_or(587));
    smtp.tls = tls;
    smtp.username = s.username.filter(|u| !u.is_empty());
    smtp.password = s.password.filter(|p| !p.is_empty());
    let from = match s.sender.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
        Some(given) => sender(given)?,
        None => {
            let host = public_url
                .split("://")
                .nth(1)
                .unwrap_or(public_url)
                .split(['/', ':'])
                .next()
                .unwrap_or("localhost");
            Mailbox {
                address: format!("throughline@{host}"),
                name: Some("Throughline".into()),
            }
        }
    };
    Ok(Some(throughline_service::system_mail::SystemMail {
        smtp,
        from,
    }))
}

/// `Name <address>` or a bare address.
fn sender(given: &str) -> anyhow::Result<throughline_channels::email::Mailbox> {
    let (name, address) = match given.rsplit_once('<') {
        Some((name, rest)) => (
            Some(name.trim().trim_matches('"').to_owned()).filter(|n| !n.is_empty()),
            rest.trim_end().trim_end_matches('>').trim().to_owned(),
        ),
        None => (None, given.to_owned()),
    };
    let address = throughline_core::identity::normalize_email(&address)
        .map_err(|e| anyhow::anyhow!("mailer_sender `{given}`: {e}"))?;
    Ok(throughline_channels::email::Mailbox { address, name })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_documented_values() {
        let c = Config::resolve(Settings::default()).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:3000");
        assert_eq!(c.data_dir, PathBuf::from("./data"));
        assert_eq!(c.database_url, "sqlite://./data/throughline.db");
        assert_eq!(c.public_url, "http://127.0.0.1:3000");
        assert_eq!(c.log_format, LogFormat::Text);
        // The example file parses and says the same.
        let example: Settings = toml::from_str(default_config_toml()).unwrap();
        let from_example = Config::resolve(example).unwrap();
        assert_eq!(from_example.listen, c.listen);
        assert_eq!(from_example.webhook_max_attempts, c.webhook_max_attempts);
        assert_eq!(from_example.session_ttl_hours, c.session_ttl_hours);
        assert_eq!(from_example.public_rates, c.public_rates);
        assert_eq!(from_example.outbound, c.outbound);
        assert!(!c.outbound.allow_private_networks);
        assert_eq!(from_example.connections, c.connections);
    }

    #[test]
    fn system_mail_is_read_and_bad_values_refused() {
        assert!(
            Config::resolve(Settings::default())
                .unwrap()
                .system_mail
                .is_none()
        );
        let file: Settings = toml::from_str(
            "public_url = \"https://help.acme.test\"\nsmtp_address = \"smtp.acme.test\"\n\
             smtp_security = \"tls\"\nsmtp_port = 465\nsmtp_username = \"bot\"\n\
             smtp_password = \"secret\"",
        )
        .unwrap();
        let mail = Config::resolve(file).unwrap().system_mail.unwrap();
        assert_eq!(mail.smtp.host, "smtp.acme.test");
        assert_eq!(mail.smtp.port, 465);
        assert_eq!(
            mail.smtp.tls,
            throughline_channels::email::send::TlsMode::Tls
        );
        assert_eq!(mail.from.address, "throughline@help.acme.test");
        assert!(
            !format!("{mail:?}").contains("secret"),
            "the password stays out of logs"
        );
        let named = Config::resolve(Settings {
            smtp_address: Some("smtp.acme.test".into()),
            mailer_sender: Some("\"Acme Help\" <Help@Acme.test>".into()),
            ..Default::default()
        })
        .unwrap()
        .system_mail
        .unwrap();
        assert_eq!(named.from.address, "help@acme.test");
        assert_eq!(named.from.name.as_deref(), Some("Acme Help"));
        for (security, sender) in [("ssl", "a@b.test"), ("tls", "not an address")] {
            let bad = Settings {
                smtp_address: Some("smtp.acme.test".into()),
                smtp_security: Some(security.into()),
                mailer_sender: Some(sender.into()),
                ..Default::default()
            };
            assert!(Config::resolve(bad).is_err(), "{security} {sender}");
        }
    }

    #[test]
    fn higher_layers_win() {
        let file: Settings =
            toml::from_str("listen = \"0.0.0.0:8080\"\ndata_dir = \"/srv/tl\"").unwrap();
        let cli = Settings {
            listen: Some("127.0.0.1:9000".parse().unwrap()),
            ..Default::default()
        };
        let c = Config::resolve(cli.or(file)).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:9000");
        assert_eq!(c.data_dir, PathBuf::from("/srv/tl"));
        assert_eq!(c.database_url, "sqlite:///srv/tl/throughline.db");
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        assert!(toml::from_str::<Settings>("lisen = \"x\"").is_err());
        assert!(
            Config::resolve(Settings {
                log_format: Some("xml".into()),
                ..Default::default()
            })
            .is_err()
        );
    }

    #[test]
    fn outbound_hosts_are_read_and_bad_ones_refused() {
        let file: Settings = toml::from_str(
            "outbound_allowed_hosts = [\" n8n.lan:5678 \", \"10.0.0.7\"]\n\
             outbound_allow_private_networks = false",
        )
        .unwrap();
        let c = Config::resolve(file).unwrap();
        assert_eq!(c.outbound.allowed_hosts, vec!["n8n.lan:5678", "10.0.0.7"]);
        let err = Config::resolve(Settings {
            outbound_allowed_hosts: Some(vec!["http://n8n.lan/hook".into()]),
            ..Default::default()
        })
        .err()
        .unwrap()
        .to_string();
        assert!(err.contains("outbound_allowed_hosts"), "{err}");
    }

    #[test]
    fn debug_output_hides_secrets() {
        let c = Config::resolve(Settings {
            database_url: Some("postgres://u:hunter2@h/db".into()),
            secret_key: Some("s3cr3t".into()),
            ..Default::default()
        })
        .unwrap();
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("s3cr3t"),
            "{shown}"
        );
    }
}
