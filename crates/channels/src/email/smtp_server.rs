//! The built-in inbound SMTP listener: smtp-proto parses, tokio carries the bytes.
//!
//! A company's MX (or a forwarding rule) delivers here. The listener's promises:
//! - it answers `250` to the final dot only after [`Deliver::deliver`] returned `Ok`, and a
//!   `451` otherwise, so the sending server keeps the message and retries: nothing is lost;
//! - it accepts only the recipients [`Recipients::accepts`] knows (`550 5.1.1` otherwise), so
//!   it is never an open relay;
//! - it enforces the size limit twice: on the `SIZE=` the client declares in `MAIL FROM` and on
//!   the bytes actually received (`552`);
//! - garbage, over-long lines, idle or slow clients and floods of bad commands end in an error
//!   reply or a closed connection, never a panic.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use smtp_proto::request::receiver::{DataReceiver, DummyDataReceiver};
use smtp_proto::{Error as ProtoError, MailFrom, RcptTo, Request};
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio::sync::{Semaphore, watch};
use tokio::task::{JoinHandle, JoinSet};

/// Protocol errors after which a client is disconnected.
const MAX_ERRORS: usize = 10;
/// Longest command line accepted, CRLF included. RFC 5321 allows 512 octets; extensions
/// (long parameters) justify more, but not unbounded buffering.
pub const MAX_COMMAND_LINE: usize = 4096;
/// How long a delivery may take before the client is told to retry.
const DELIVER_TIMEOUT: Duration = Duration::from_secs(300);
const READ_CHUNK: usize = 16 * 1024;

/// Listener settings.
#[derive(Clone)]
pub struct SmtpServerConfig {
    /// Our name in the greeting, EHLO answer and `Received:` header.
    pub hostname: String,
    /// Largest message accepted, in bytes; announced as `SIZE` in EHLO.
    pub max_message_size: usize,
    /// Recipients per transaction; more get `452 4.5.3` (the client sends them later).
    pub max_recipients: usize,
    /// Offer STARTTLS with this configuration; `None` keeps the listener plain text.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// A client silent for this long is disconnected with `421`.
    pub idle_timeout: Duration,
    /// Concurrent sessions; beyond it new connections get `421` and are closed.
    pub max_connections: usize,
}

impl SmtpServerConfig {
    /// Defaults fit for a support inbox: 25 MiB, 100 recipients, 5 minute idle timeout
    /// (RFC 5321 §4.5.3.2), 256 sessions, no TLS.
    pub fn new(hostname: impl Into<String>) -> Self {
        Self {
            hostname: hostname.into(),
            max_message_size: 25 * 1024 * 1024,
            max_recipients: 100,
            tls: None,
            idle_timeout: Duration::from_secs(300),
            max_connections: 256,
        }
    }
}

impl std::fmt::Debug for SmtpServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpServerConfig")
            .field("hostname", &self.hostname)
            .field("max_message_size", &self.max_message_size)
            .field("max_recipients", &self.max_recipients)
            .field("starttls", &self.tls.is_some())
            .field("idle_timeout", &self.idle_timeout)
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

/// Who the message is for, as the SMTP client said (not the headers, which can say anything).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// `MAIL FROM` address; empty for the null sender `<>` used by bounces.
    pub mail_from: String,
    /// Accepted `RCPT TO` addresses, in order, without duplicates.
    pub rcpt_to: Vec<String>,
    pub peer: SocketAddr,
    /// The name the client gave in EHLO/HELO.
    pub helo: String,
    /// Whether the session was upgraded with STARTTLS.
    pub tls: bool,
}

/// Delivery failed; the client gets `451` and retries. The reason is logged, never sent to the
/// client (it may describe our internals).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("delivery failed: {reason}")]
pub struct DeliverError {
    pub reason: String,
}

impl DeliverError {
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
        }
    }
}

/// Decides per `RCPT TO` whether we receive mail for that address (an inbox address or one of
/// its `reply+token` addresses). The address is passed as the client wrote it.
pub trait Recipients: Send + Sync + 'static {
    fn accepts(&self, rcpt: &str) -> impl Future<Output = bool> + Send;
}

/// Takes a received message. Must store it durably before returning `Ok`: the client deletes
/// its copy when it sees our `250`.
pub trait Deliver: Send + Sync + 'static {
    fn deliver(
        &self,
        envelope: Envelope,
        raw: Vec<u8>,
    ) -> impl Future<Output = Result<(), DeliverError>> + Send;
}

impl<T: Recipients> Recipients for Arc<T> {
    fn accepts(&self, rcpt: &str) -> impl Future<Output = bool> + Send {
        self.as_ref().accepts(rcpt)
    }
}

impl<T: Deliver> Deliver for Arc<T> {
    fn deliver(
        &self,
        envelope: Envelope,
        raw: Vec<u8>,
    ) -> impl Future<Output = Result<(), DeliverError>> + Send {
        self.as_ref().deliver(envelope, raw)
    }
}

/// Entry point; see [`SmtpServer::bind`].
#[derive(Debug)]
pub struct SmtpServer;

/// Controls a running listener. Dropping it stops the listener as [`Self::shutdown`] does, but
/// without waiting for the sessions to end.
#[derive(Debug)]
pub struct SmtpServerHandle {
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl SmtpServerHandle {
    /// Stops accepting connections, tells idle sessions `421` and waits until every session has
    /// ended. A session in the middle of a delivery finishes it first, so no message that was
    /// being stored is answered with an error.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take()
            && let Err(e) = task.await
        {
            tracing::error!(error = %e, "SMTP listener task failed");
        }
    }
}

impl Drop for SmtpServerHandle {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

impl SmtpServer {
    /// Binds `addr` (port 0 picks a free port) and serves in the background. Returns the bound
    /// address and the handle that stops it.
    pub async fn bind<R: Recipients, D: Deliver>(
        addr: impl ToSocketAddrs,
        config: SmtpServerConfig,
        recipients: R,
        deliver: D,
    ) -> io::Result<(SocketAddr, SmtpServerHandle)> {
        let listener = TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let (shutdown, shutdown_rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            config,
            recipients,
            deliver,
        });
        let task = tokio::spawn(accept_loop(listener, shared, shutdown_rx));
        tracing::info!(%local, "SMTP listener started");
        Ok((
            local,
            SmtpServerHandle {
                shutdown,
                task: Some(task),
            },
        ))
    }
}

struct Shared<R, D> {
    config: SmtpServerConfig,
    recipients: R,
    deliver: D,
}

async fn wait_for_shutdown(rx: &mut watch::Receiver<bool>) {
    loop {
        if *rx.borrow_and_update() {
            return;
        }
        if rx.changed().await.is_err() {
            return;
        }
    }
}

async fn accept_loop<R: Recipients, D: Deliver>(
    listener: TcpListener,
    shared: Arc<Shared<R, D>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(shared.config.max_connections.max(1)));
    let mut sessions = JoinSet::new();
    loop {
        tokio::select! {
            () = wait_for_shutdown(&mut shutdown) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    // SMTP is a dialogue of short lines: without this, replies wait for the
                    // client's delayed ACK (tens of ms per command).
                    let _ = stream.set_nodelay(true);
                    let permit = Arc::clone(&slots).try_acquire_owned();
                    let shared = Arc::clone(&shared);
                    let shutdown = shutdown.clone();
                    // The profile's "smtp" stage: the dialogue, reading DATA, answering.
                    let stage = tracing::trace_span!(target: "throughline::stage", parent: None, "smtp");
                    sessions.spawn(tracing::Instrument::instrument(async move {
                        match permit {
                            Ok(_permit) => run_session(stream, peer, shared, shutdown).await,
                            Err(_) => refuse(stream, &shared.config.hostname).await,
                        }
                    }, stage));
                }
                Err(e) => {
                    // Usually out of file descriptors: back off instead of spinning.
                    tracing::warn!(error = %e, "SMTP accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(finished) = sessions.join_next(), if !sessions.is_empty() => {
                if let Err(e) = finished {
                    tracing::error!(error = %e, "SMTP session task failed");
                }
            }
        }
    }
    drop(listener);
    while let Some(finished) = sessions.join_next().await {
        if let Err(e) = finished {
            tracing::error!(error = %e, "SMTP session task failed");
        }
    }
    tracing::info!("SMTP listener stopped");
}

async fn refuse(mut stream: TcpStream, hostname: &str) {
    let reply = format!("421 4.3.2 {hostname} too many connections, try again later\r\n");
    let _ = stream.write_all(reply.as_bytes()).await;
    let _ = stream.shutdown().await;
}

async fn run_session<R: Recipients, D: Deliver>(
    mut stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared<R, D>>,
    shutdown: watch::Receiver<bool>,
) {
    let greeting = format!("220 {} ESMTP Throughline\r\n", shared.config.hostname);
    if stream.write_all(greeting.as_bytes()).await.is_err() {
        return;
    }
    let session = Session {
        shared: Arc::clone(&shared),
        peer,
        shutdown,
    };
    let stream = match session.converse(stream, false).await {
        Ok(Outcome::StartTls(stream)) => stream,
        Ok(Outcome::Closed) => return,
        Err(e) => {
            tracing::debug!(%peer, error = %e, "SMTP session ended with an I/O error");
            return;
        }
    };
    let Some(tls) = shared.config.tls.clone() else {
        return;
    };
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    let handshake = tokio::time::timeout(shared.config.idle_timeout, acceptor.accept(stream));
    match handshake.await {
        Ok(Ok(tls_stream)) => {
            if let Err(e) = session.converse(tls_stream, true).await {
                tracing::debug!(%peer, error = %e, "SMTP session ended with an I/O error");
            }
        }
        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "STARTTLS handshake failed"),
        Err(_) => tracing::debug!(%peer, "STARTTLS handshake timed out"),
    }
}

enum Outcome<S> {
    Closed,
    /// The client asked for STARTTLS and got `220`: upgrade this stream.
    StartTls(S),
}

/// What the reader is doing with incoming bytes.
enum Phase {
    Command(LineReader),
    /// Inside DATA, collecting the message.
    Data(DataReceiver, Vec<u8>),
    /// Inside DATA past the size limit: reading to the final dot, keeping nothing.
    Discard(DummyDataReceiver),
}

impl Phase {
    fn command() -> Self {
        Self::Command(LineReader::default())
    }

    /// A fresh data receiver that knows it starts at the beginning of a line, so a first line
    /// of `.` (empty message) or `..x` (stuffed) is read correctly.
    fn data() -> Self {
        let mut receiver = DataReceiver::new();
        let mut scratch = Vec::new();
        receiver.ingest(&mut b"\r\n".iter(), &mut scratch);
        Self::Data(receiver, Vec::new())
    }
}

/// Assembles command lines across reads, bounded by [`MAX_COMMAND_LINE`].
#[derive(Default)]
struct LineReader {
    line: Vec<u8>,
    /// The current line already exceeded the limit; its bytes are dropped up to the newline.
    overflow: bool,
}

enum Line {
    Complete(Vec<u8>),
    TooLong,
}

impl LineReader {
    /// Consumes bytes up to and including the next LF. `None` when the line is not complete
    /// yet (all of `bytes` was consumed).
    fn read_line(&mut self, bytes: &mut std::slice::Iter<'_, u8>) -> Option<Line> {
        let rest = bytes.as_slice();
        let (segment, complete) = match rest.iter().position(|&b| b == b'\n') {
            Some(pos) => (&rest[..=pos], true),
            None => (rest, false),
        };
        *bytes = rest[segment.len()..].iter();
        if !self.overflow && self.line.len() + segment.len() <= MAX_COMMAND_LINE {
            self.line.extend_from_slice(segment);
        } else {
            self.overflow = true;
            self.line.clear();
        }
        if !complete {
            return None;
        }
        Some(if std::mem::take(&mut self.overflow) {
            Line::TooLong
        } else {
            Line::Complete(std::mem::take(&mut self.line))
        })
    }
}

/// State of the current mail transaction.
#[derive(Default)]
struct Transaction {
    mail_from: Option<String>,
    rcpt_to: Vec<String>,
}

/// What handling one command asks the read loop to do.
enum Next {
    Continue,
    Data,
    StartTls,
    Quit,
}

struct Session<R, D> {
    shared: Arc<Shared<R, D>>,
    peer: SocketAddr,
    shutdown: watch::Receiver<bool>,
}

/// Per-connection (per TLS layer) protocol state.
struct Conversation {
    helo: Option<String>,
    transaction: Transaction,
    errors: usize,
    tls: bool,
    out: Vec<u8>,
}

impl Conversation {
    fn reply(&mut self, line: impl AsRef<str>) {
        self.out.extend_from_slice(line.as_ref().as_bytes());
        self.out.extend_from_slice(b"\r\n");
    }
}

impl<R: Recipients, D: Deliver> Session<R, D> {
    fn config(&self) -> &SmtpServerConfig {
        &self.shared.config
    }

    /// Runs the command/response loop on `stream` until QUIT, disconnect, timeout, shutdown or
    /// STARTTLS (then the stream is handed back for the TLS handshake).
    async fn converse<S>(&self, mut stream: S, tls: bool) -> io::Result<Outcome<S>>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let mut shutdown = self.shutdown.clone();
        let mut conv = Conversation {
            helo: None,
            transaction: Transaction::default(),
            errors: 0,
            tls,
            out: Vec::new(),
        };
        let mut phase = Phase::command();
        let mut buf = vec![0u8; READ_CHUNK];
        loop {
            if !conv.out.is_empty() {
                stream.write_all(&conv.out).await?;
                stream.flush().await?;
                conv.out.clear();
            }
            let read = tokio::select! {
                read = tokio::time::timeout(self.config().idle_timeout, stream.read(&mut buf)) => read,
                () = wait_for_shutdown(&mut shutdown) => {
                    conv.reply(format!("421 4.3.2 {} service shutting down", self.config().hostname));
                    return close(stream, &conv.out).await;
                }
            };
            let n = match read {
                Err(_) => {
                    conv.reply(format!(
                        "421 4.4.2 {} idle timeout, closing connection",
                        self.config().hostname
                    ));
                    return close(stream, &conv.out).await;
                }
                Ok(Ok(0)) => return Ok(Outcome::Closed),
                Ok(Ok(n)) => n,
                Ok(Err(e)) => return Err(e),
            };

            let mut bytes = buf[..n].iter();
            while !bytes.as_slice().is_empty() {
                match &mut phase {
                    Phase::Command(reader) => {
                        let request = match reader.read_line(&mut bytes) {
                            None => break,
                            Some(Line::TooLong) => Err(ProtoError::ResponseTooLong),
                            Some(Line::Complete(line)) => {
                                Request::parse(&mut line.iter()).map(Request::into_owned)
                            }
                        };
                        let request = match request {
                            Ok(request) => request,
                            Err(error) => {
                                conv.reply(protocol_error_reply(&error));
                                conv.errors += 1;
                                if conv.errors >= MAX_ERRORS {
                                    conv.reply("421 4.7.0 Too many errors, closing connection");
                                    return close(stream, &conv.out).await;
                                }
                                continue;
                            }
                        };
                        match self.handle(request, &mut conv).await {
                            Next::Continue => {}
                            Next::Data => phase = Phase::data(),
                            Next::Quit => return close(stream, &conv.out).await,
                            Next::StartTls => {
                                // Anything pipelined after STARTTLS was sent in clear text and
                                // must not be executed inside TLS (CVE-2011-0411): dropped.
                                stream.write_all(&conv.out).await?;
                                stream.flush().await?;
                                return Ok(Outcome::StartTls(stream));
                            }
                        }
                    }
                    Phase::Data(receiver, message) => {
                        let complete = receiver.ingest(&mut bytes, message);
                        if complete {
                            let raw = std::mem::take(message);
                            phase = Phase::command();
                            self.finish_data(raw, &mut conv).await;
                        } else if message.len() > self.config().max_message_size {
                            phase = Phase::Discard(DummyDataReceiver::new_data(receiver));
                        }
                    }
                    Phase::Discard(receiver) => {
                        if receiver.ingest(&mut bytes) {
                            phase = Phase::command();
                            conv.transaction = Transaction::default();
                            conv.reply("552 5.3.4 Message exceeds fixed maximum message size");
                        }
                    }
                }
            }
        }
    }

    async fn handle(&self, request: Request<String>, conv: &mut Conversation) -> Next {
        let hostname = &self.config().hostname;
        let next = match request {
            Request::Ehlo { host } => {
                conv.transaction = Transaction::default();
                conv.out
                    .extend_from_slice(self.ehlo_reply(&host, conv.tls).as_bytes());
                conv.helo = Some(host);
                Next::Continue
            }
            Request::Helo { host } => {
                conv.transaction = Transaction::default();
                conv.reply(format!("250 {hostname}"));
                conv.helo = Some(host);
                Next::Continue
            }
            Request::Mail { from } => {
                self.mail(from, conv);
                Next::Continue
            }
            Request::Rcpt { to } => {
                self.rcpt(to, conv).await;
                Next::Continue
            }
            Request::Data => self.data(conv),
            Request::Rset => {
                conv.transaction = Transaction::default();
                conv.reply("250 2.0.0 OK");
                Next::Continue
            }
            Request::Noop { .. } => {
                conv.reply("250 2.0.0 OK");
                Next::Continue
            }
            Request::Quit => {
                conv.reply(format!("221 2.0.0 {hostname} closing connection"));
                Next::Quit
            }
            Request::Vrfy { .. } => {
                conv.reply(
                    "252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery",
                );
                Next::Continue
            }
            Request::StartTls => {
                if self.config().tls.is_none() {
                    conv.reply("502 5.5.1 Command not implemented");
                    Next::Continue
                } else if conv.tls {
                    conv.reply("503 5.5.1 TLS already active");
                    Next::Continue
                } else {
                    conv.reply("220 2.0.0 Ready to start TLS");
                    Next::StartTls
                }
            }
            Request::Lhlo { .. }
            | Request::Bdat { .. }
            | Request::Auth { .. }
            | Request::Expn { .. }
            | Request::Help { .. }
            | Request::Etrn { .. }
            | Request::Atrn { .. }
            | Request::Burl { .. } => {
                conv.reply("502 5.5.1 Command not implemented");
                conv.errors += 1;
                Next::Continue
            }
        };
        if matches!(next, Next::Continue) && conv.errors >= MAX_ERRORS {
            conv.reply("421 4.7.0 Too many errors, closing connection");
            return Next::Quit;
        }
        next
    }

    fn ehlo_reply(&self, client: &str, tls: bool) -> String {
        let config = self.config();
        let mut lines = vec![
            format!("{} Hello {}", config.hostname, printable(client)),
            "PIPELINING".to_owned(),
            format!("SIZE {}", config.max_message_size),
            "8BITMIME".to_owned(),
            "ENHANCEDSTATUSCODES".to_owned(),
            "SMTPUTF8".to_owned(),
        ];
        if config.tls.is_some() && !tls {
            lines.push("STARTTLS".to_owned());
        }
        let last = lines.len() - 1;
        lines
            .iter()
            .enumerate()
            .map(|(i, line)| format!("250{}{line}\r\n", if i == last { ' ' } else { '-' }))
            .collect()
    }

    fn mail(&self, from: MailFrom<String>, conv: &mut Conversation) {
        if conv.helo.is_none() {
            conv.reply("503 5.5.1 Send EHLO or HELO first");
        } else if conv.transaction.mail_from.is_some() {
            conv.reply("503 5.5.1 Nested MAIL command");
        } else if from.size > self.config().max_message_size {
            conv.reply("552 5.3.4 Message size exceeds fixed maximum message size");
        } else {
            conv.transaction.mail_from = Some(from.address);
            conv.reply("250 2.1.0 Sender OK");
        }
    }

    async fn rcpt(&self, to: RcptTo<String>, conv: &mut Conversation) {
        if conv.transaction.mail_from.is_none() {
            conv.reply("503 5.5.1 Need MAIL before RCPT");
        } else if conv.transaction.rcpt_to.contains(&to.address) {
            conv.reply("250 2.1.5 Recipient OK");
        } else if conv.transaction.rcpt_to.len() >= self.config().max_recipients {
            conv.reply("452 4.5.3 Too many recipients");
        } else if self.shared.recipients.accepts(&to.address).await {
            conv.transaction.rcpt_to.push(to.address);
            conv.reply("250 2.1.5 Recipient OK");
        } else {
            conv.errors += 1;
            conv.reply("550 5.1.1 mailbox unavailable");
        }
    }

    fn data(&self, conv: &mut Conversation) -> Next {
        if conv.transaction.mail_from.is_none() {
            conv.reply("503 5.5.1 Need MAIL command");
            Next::Continue
        } else if conv.transaction.rcpt_to.is_empty() {
            conv.reply("554 5.5.1 No valid recipients");
            Next::Continue
        } else {
            conv.reply("354 Start mail input; end with <CRLF>.<CRLF>");
            Next::Data
        }
    }

    /// The final dot arrived: deliver, then answer. The transaction ends either way.
    async fn finish_data(&self, message: Vec<u8>, conv: &mut Conversation) {
        let transaction = std::mem::take(&mut conv.transaction);
        if message.len() > self.config().max_message_size {
            conv.reply("552 5.3.4 Message exceeds fixed maximum message size");
            return;
        }
        let helo = conv.helo.clone().unwrap_or_default();
        let envelope = Envelope {
            mail_from: transaction.mail_from.unwrap_or_default(),
            rcpt_to: transaction.rcpt_to,
            peer: self.peer,
            helo,
            tls: conv.tls,
        };
        let mut raw = self.received_header(&envelope).into_bytes();
        raw.extend_from_slice(&message);
        drop(message);

        let delivery = self.shared.deliver.deliver(envelope, raw);
        match tokio::time::timeout(DELIVER_TIMEOUT, delivery).await {
            Ok(Ok(())) => conv.reply("250 2.0.0 Message accepted for delivery"),
            Ok(Err(e)) => {
                tracing::warn!(peer = %self.peer, reason = %e.reason, "inbound delivery failed");
                conv.reply("451 4.3.0 Temporary failure, please try again later");
            }
            Err(_) => {
                tracing::warn!(peer = %self.peer, "inbound delivery timed out");
                conv.reply("451 4.3.0 Temporary failure, please try again later");
            }
        }
    }

    /// The trace header every MTA adds (RFC 5321 §4.4): who handed us the message and when.
    fn received_header(&self, envelope: &Envelope) -> String {
        let protocol = if envelope.tls { "ESMTPS" } else { "ESMTP" };
        let date = mail_builder::headers::date::Date::now().to_rfc822();
        format!(
            "Received: from {} ([{}])\r\n\tby {} with {protocol}; {date}\r\n",
            printable(&envelope.helo),
            envelope.peer.ip(),
            self.config().hostname,
        )
    }
}

/// Client-supplied text echoed in replies or headers: visible ASCII only, bounded.
fn printable(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(255)
        .collect();
    if cleaned.is_empty() {
        "unknown".to_owned()
    } else {
        cleaned
    }
}

fn protocol_error_reply(error: &ProtoError) -> String {
    match error {
        ProtoError::UnknownCommand => "500 5.5.1 Command unrecognized".to_owned(),
        ProtoError::ResponseTooLong => "500 5.5.2 Line too long".to_owned(),
        ProtoError::SyntaxError { syntax } => format!("501 5.5.4 Syntax: {syntax}"),
        ProtoError::InvalidSenderAddress => "501 5.1.7 Invalid sender address".to_owned(),
        ProtoError::InvalidRecipientAddress => "501 5.1.3 Invalid recipient address".to_owned(),
        ProtoError::InvalidParameter { param } => format!("501 5.5.4 Invalid parameter {param}"),
        ProtoError::UnsupportedParameter { .. } => "555 5.5.4 Unsupported parameter".to_owned(),
        // A complete line that still "needs more data" is malformed.
        ProtoError::NeedsMoreData { .. } | ProtoError::InvalidResponse { .. } => {
            "500 5.5.1 Command unrecognized".to_owned()
        }
    }
}

async fn close<S: AsyncWrite + Unpin>(mut stream: S, out: &[u8]) -> io::Result<Outcome<S>> {
    stream.write_all(out).await?;
    stream.flush().await?;
    let _ = stream.shutdown().await;
    Ok(Outcome::Closed)
}
