//! IMAP fetching (async-imap): connect (TLS or plain), log in, read new messages by UID, wait
//! with IDLE when the server offers it.
//!
//! The caller remembers UIDVALIDITY and the last UID it stored; [`fetch_new`] returns what lies
//! beyond, so nothing is imported twice even if the mailbox is shared with other clients (no
//! flags are changed on the server).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures::TryStreamExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// Where and how to fetch.
#[derive(Clone, PartialEq, Eq)]
pub struct ImapSettings {
    pub host: String,
    pub port: u16,
    /// Implicit TLS (port 993); plain otherwise.
    pub tls: bool,
    pub username: String,
    pub password: String,
    pub mailbox: String,
    /// For connecting and for each command.
    pub timeout: Duration,
}

impl fmt::Debug for ImapSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImapSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("mailbox", &self.mailbox)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    #[error("cannot connect to {host}:{port}: {reason}")]
    Connect {
        host: String,
        port: u16,
        reason: String,
    },
    #[error("the IMAP server refused the login: {0}")]
    Login(String),
    /// The server's answer to a command, as it gave it.
    #[error("IMAP error: {0}")]
    Server(String),
    #[error("the IMAP server did not answer within {0:?}")]
    Timeout(Duration),
}

/// Anything async-imap can talk over.
pub trait ImapStream: AsyncRead + AsyncWrite + Unpin + Send + fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + fmt::Debug> ImapStream for T {}

pub type Session = async_imap::Session<Box<dyn ImapStream>>;

fn server(e: async_imap::error::Error) -> ImapError {
    ImapError::Server(e.to_string())
}

async fn timed<T>(
    d: Duration,
    f: impl Future<Output = Result<T, ImapError>>,
) -> Result<T, ImapError> {
    tokio::time::timeout(d, f)
        .await
        .map_err(|_| ImapError::Timeout(d))?
}

fn tls_config() -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
        .unwrap_or_else(|_| {
            rustls::ClientConfig::builder()
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth()
        }),
    )
}

/// Connects and logs in.
pub async fn connect(settings: &ImapSettings) -> Result<Session, ImapError> {
    let connect_error = |reason: String| ImapError::Connect {
        host: settings.host.clone(),
        port: settings.port,
        reason,
    };
    let tcp = timed(settings.timeout, async {
        TcpStream::connect((settings.host.as_str(), settings.port))
            .await
            .map_err(|e| connect_error(e.to_string()))
    })
    .await?;
    let stream: Box<dyn ImapStream> = if settings.tls {
        let name = rustls::pki_types::ServerName::try_from(settings.host.clone())
            .map_err(|e| connect_error(e.to_string()))?;
        let tls = timed(settings.timeout, async {
            tokio_rustls::TlsConnector::from(tls_config())
                .connect(name, tcp)
                .await
                .map_err(|e| connect_error(format!("TLS: {e}")))
        })
        .await?;
        Box::new(tls)
    } else {
        Box::new(tcp)
    };
    let mut client = async_imap::Client::new(stream);
    timed(settings.timeout, async {
        match client.read_response().await {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(connect_error("the server closed the connection".into())),
            Err(e) => Err(connect_error(e.to_string())),
        }
    })
    .await?;
    timed(settings.timeout, async {
        client
            .login(&settings.username, &settings.password)
            .await
            .map_err(|(e, _)| ImapError::Login(e.to_string()))
    })
    .await
}

/// Logs in and selects the mailbox, then logs out: the "test connection" button.
pub async fn test_login(settings: &ImapSettings) -> Result<(), ImapError> {
    let mut session = connect(settings).await?;
    timed(settings.timeout, async {
        session.select(&settings.mailbox).await.map_err(server)?;
        session.logout().await.map_err(server)
    })
    .await
}

/// What a fetch found beyond the caller's position.
#[derive(Debug, Default)]
pub struct Fetched {
    pub uid_validity: u32,
    /// (UID, raw RFC 822 bytes), ascending.
    pub messages: Vec<(u32, Vec<u8>)>,
}

/// Selects the mailbox and fetches messages with a UID above `last_uid` (all of them when the
/// mailbox's UIDVALIDITY differs from `known_validity`), at most `limit`.
pub async fn fetch_new(
    session: &mut Session,
    settings: &ImapSettings,
    known_validity: Option<u32>,
    last_uid: u32,
    limit: usize,
) -> Result<Fetched, ImapError> {
    timed(settings.timeout, async {
        let mailbox = session.select(&settings.mailbox).await.map_err(server)?;
        let uid_validity = mailbox.uid_validity.unwrap_or(0);
        let from = if known_validity == Some(uid_validity) {
            last_uid.saturating_add(1)
        } else {
            1
        };
        // "n:*" always includes the highest UID even when it is below n; filter below.
        let mut messages = Vec::new();
        {
            let stream = session
                .uid_fetch(format!("{from}:*"), "(UID BODY.PEEK[])")
                .await
                .map_err(server)?;
            let fetched: Vec<_> = stream.try_collect().await.map_err(server)?;
            for f in fetched {
                if let (Some(uid), Some(body)) = (f.uid, f.body())
                    && uid >= from
                {
                    messages.push((uid, body.to_vec()));
                }
            }
        }
        messages.sort_by_key(|(uid, _)| *uid);
        messages.truncate(limit);
        Ok(Fetched {
            uid_validity,
            messages,
        })
    })
    .await
}

/// Whether the server offers IDLE.
pub async fn supports_idle(session: &mut Session, timeout: Duration) -> Result<bool, ImapError> {
    timed(timeout, async {
        Ok(session
            .capabilities()
            .await
            .map_err(server)?
            .has_str("IDLE"))
    })
    .await
}

/// Waits in IDLE until the server reports a change or `wait` passes; returns the session.
pub async fn idle(session: Session, wait: Duration) -> Result<Session, ImapError> {
    let mut handle = session.idle();
    handle.init().await.map_err(server)?;
    let (response, _stop) = handle.wait_with_timeout(wait);
    response.await.map_err(server)?;
    handle.done().await.map_err(server)
}
