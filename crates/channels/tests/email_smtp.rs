#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Real sockets on loopback: the inbound listener spoken to raw and through lettre, and the
//! sender's error classification against it.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use throughline_channels::email::Mailbox;
use throughline_channels::email::compose::{OutgoingAttachment, OutgoingEmail, compose};
use throughline_channels::email::parse::parse_inbound;
use throughline_channels::email::send::{
    SendError, SmtpSettings, TlsMode, send_raw, test_connection,
};
use throughline_channels::email::smtp_server::{
    Deliver, DeliverError, Envelope, Recipients, SmtpServer, SmtpServerConfig, SmtpServerHandle,
};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const CERT: &[u8] = include_bytes!("fixtures/localhost.crt");
const KEY: &[u8] = include_bytes!("fixtures/localhost.key");

// ---------------------------------------------------------------- fixtures

/// Accepts the inbox address, its reply addresses and `fail@` (whose delivery fails).
struct Inboxes;

impl Recipients for Inboxes {
    async fn accepts(&self, rcpt: &str) -> bool {
        let rcpt = rcpt.to_ascii_lowercase();
        rcpt == "support@acme.test"
            || rcpt == "fail@acme.test"
            || (rcpt.starts_with("reply+") && rcpt.ends_with("@acme.test"))
    }
}

/// Records deliveries; refuses anything addressed to `fail@acme.test` as a broken store would.
#[derive(Default)]
struct Mailroom {
    delivered: Mutex<Vec<(Envelope, Vec<u8>)>>,
}

impl Mailroom {
    fn take(&self) -> Vec<(Envelope, Vec<u8>)> {
        std::mem::take(&mut *self.delivered.lock().unwrap())
    }
}

impl Deliver for Mailroom {
    async fn deliver(&self, envelope: Envelope, raw: Vec<u8>) -> Result<(), DeliverError> {
        if envelope.rcpt_to.iter().any(|r| r == "fail@acme.test") {
            return Err(DeliverError::new("database is unavailable"));
        }
        self.delivered.lock().unwrap().push((envelope, raw));
        Ok(())
    }
}

fn config() -> SmtpServerConfig {
    let mut config = SmtpServerConfig::new("mx.acme.test");
    config.max_message_size = 64 * 1024;
    config.max_recipients = 3;
    config.idle_timeout = Duration::from_secs(20);
    config
}

async fn start(config: SmtpServerConfig) -> (SocketAddr, SmtpServerHandle, Arc<Mailroom>) {
    let mailroom = Arc::new(Mailroom::default());
    let (addr, handle) = SmtpServer::bind("127.0.0.1:0", config, Inboxes, Arc::clone(&mailroom))
        .await
        .unwrap();
    (addr, handle, mailroom)
}

fn settings(addr: SocketAddr) -> SmtpSettings {
    SmtpSettings {
        tls: TlsMode::None,
        timeout: Duration::from_secs(10),
        helo_name: Some("client.test".to_owned()),
        ..SmtpSettings::new("127.0.0.1", addr.port())
    }
}

fn tls_server_config() -> Arc<rustls::ServerConfig> {
    let certs = vec![CertificateDer::from_pem_slice(CERT).unwrap()];
    let key = PrivateKeyDer::from_pem_slice(KEY).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    Arc::new(config)
}

/// A hand-driven SMTP client: exact bytes out, whole (multi-line) replies in.
struct Client<S> {
    stream: BufReader<S>,
}

impl Client<TcpStream> {
    async fn connect(addr: SocketAddr) -> Self {
        let mut client = Client {
            stream: BufReader::new(TcpStream::connect(addr).await.unwrap()),
        };
        let greeting = client.reply().await;
        assert!(greeting.starts_with("220 mx.acme.test"), "{greeting}");
        client
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
    async fn send(&mut self, bytes: impl AsRef<[u8]>) {
        self.stream
            .get_mut()
            .write_all(bytes.as_ref())
            .await
            .unwrap();
        self.stream.get_mut().flush().await.unwrap();
    }

    /// One reply; continuation lines (`250-…`) are joined with `\n`. Empty at EOF.
    async fn reply(&mut self) -> String {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            let read =
                tokio::time::timeout(Duration::from_secs(10), self.stream.read_line(&mut line))
                    .await
                    .expect("the server answers within 10 s")
                    .unwrap();
            if read == 0 {
                break;
            }
            let line = line.trim_end_matches(['\r', '\n']).to_owned();
            let last = line.as_bytes().get(3) != Some(&b'-');
            lines.push(line);
            if last {
                break;
            }
        }
        lines.join("\n")
    }

    async fn cmd(&mut self, line: &str) -> String {
        self.send(format!("{line}\r\n")).await;
        self.reply().await
    }

    /// EHLO + MAIL + one RCPT, all expected to succeed.
    async fn begin(&mut self, rcpt: &str) {
        assert!(
            self.cmd("EHLO client.test")
                .await
                .starts_with("250-mx.acme.test")
        );
        assert!(
            self.cmd("MAIL FROM:<ana@example.com>")
                .await
                .starts_with("250")
        );
        let reply = self.cmd(&format!("RCPT TO:<{rcpt}>")).await;
        assert!(reply.starts_with("250"), "{reply}");
    }
}

fn strip_received(raw: &[u8]) -> &[u8] {
    assert!(
        raw.starts_with(b"Received: from "),
        "{}",
        String::from_utf8_lossy(raw)
    );
    let end = raw.windows(2).position(|w| w == b"\n\t").unwrap();
    let after = &raw[end + 2..];
    let line_end = after.windows(2).position(|w| w == b"\r\n").unwrap();
    &after[line_end + 2..]
}

// ---------------------------------------------------------------- lettre → listener

#[tokio::test]
async fn composed_message_sent_with_lettre_arrives_intact() {
    let (addr, handle, mailroom) = start(config()).await;
    let email = OutgoingEmail {
        from: Mailbox::with_name("Beatriz (Acme)", "support@acme.test"),
        to: vec![Mailbox::with_name("Ana Souza", "ana@example.com")],
        reply_to: Some(Mailbox::new("reply+tok42@acme.test")),
        subject: "Re: Pedido 42 – atualização".to_owned(),
        message_id: "<0191-out-2@acme.test>".to_owned(),
        in_reply_to: Some("<cust-1@example.com>".to_owned()),
        references: vec![
            "0191-out-0@acme.test".to_owned(),
            "cust-1@example.com".to_owned(),
        ],
        text_body: "Olá Ana,\n.\n..linha com ponto\nSeu pedido saiu.".to_owned(),
        html_body: Some("<p>Olá Ana,</p><p>Seu pedido <b>saiu</b>.</p>".to_owned()),
        attachments: vec![OutgoingAttachment {
            file_name: "nota-fiscal.pdf".to_owned(),
            content_type: "application/pdf".to_owned(),
            data: (0..=255u8).cycle().take(20_000).collect(),
            content_id: None,
        }],
        ..OutgoingEmail::default()
    };
    let raw = compose(&email).unwrap();

    let receipt = send_raw(
        &settings(addr),
        "support@acme.test",
        &["reply+tok42@acme.test".to_owned()],
        &raw,
    )
    .await
    .unwrap();
    assert_eq!(receipt.code, 250);
    assert!(receipt.message.contains("accepted"), "{}", receipt.message);

    let delivered = mailroom.take();
    assert_eq!(delivered.len(), 1);
    let (envelope, received) = &delivered[0];
    assert_eq!(envelope.mail_from, "support@acme.test");
    assert_eq!(envelope.rcpt_to, vec!["reply+tok42@acme.test"]);
    assert_eq!(envelope.helo, "client.test");
    assert!(!envelope.tls);
    assert_eq!(envelope.peer.ip(), addr.ip());
    // Byte-for-byte what we composed, after our trace header. lettre always ends DATA with
    // its own "\r\n.\r\n", so a message that already ends with CRLF gains one empty line.
    let arrived = strip_received(received);
    assert!(raw.ends_with(b"\r\n"));
    assert_eq!(arrived.len(), raw.len() + 2);
    assert!(arrived.starts_with(&raw) && arrived.ends_with(b"\r\n\r\n"));

    let parsed = parse_inbound(received).unwrap();
    assert_eq!(parsed.message_id.as_deref(), Some("0191-out-2@acme.test"));
    assert_eq!(parsed.in_reply_to, vec!["cust-1@example.com"]);
    assert_eq!(
        parsed.references,
        vec!["0191-out-0@acme.test", "cust-1@example.com"]
    );
    assert_eq!(parsed.reply_to, vec![Mailbox::new("reply+tok42@acme.test")]);
    assert_eq!(
        parsed.subject.as_deref(),
        Some("Re: Pedido 42 – atualização")
    );
    assert_eq!(
        parsed.text_body.as_deref(),
        Some("Olá Ana,\n.\n..linha com ponto\nSeu pedido saiu.")
    );
    assert!(parsed.html_body.unwrap().contains("<b>saiu</b>"));
    assert_eq!(parsed.attachments.len(), 1);
    assert_eq!(
        parsed.attachments[0].file_name.as_deref(),
        Some("nota-fiscal.pdf")
    );
    assert_eq!(parsed.attachments[0].data, email.attachments[0].data);
    handle.shutdown().await;
}

#[tokio::test]
async fn send_raw_to_a_rejected_recipient_is_permanent_with_the_server_text() {
    let (addr, handle, mailroom) = start(config()).await;
    let raw = b"From: support@acme.test\r\nSubject: x\r\n\r\nx\r\n";
    let error = send_raw(
        &settings(addr),
        "support@acme.test",
        &["nobody@acme.test".to_owned()],
        raw,
    )
    .await
    .unwrap_err();
    assert_eq!(
        error,
        SendError::Permanent {
            code: Some(550),
            message: "5.1.1 mailbox unavailable".to_owned()
        }
    );
    assert_eq!(
        error.to_string(),
        "permanent SMTP failure (550): 5.1.1 mailbox unavailable"
    );
    assert!(mailroom.take().is_empty());
    handle.shutdown().await;
}

#[tokio::test]
async fn send_raw_when_delivery_fails_is_temporary_451() {
    let (addr, handle, mailroom) = start(config()).await;
    let raw = b"From: support@acme.test\r\nSubject: x\r\n\r\nx\r\n";
    let error = send_raw(
        &settings(addr),
        "support@acme.test",
        &["fail@acme.test".to_owned()],
        raw,
    )
    .await
    .unwrap_err();
    assert!(error.is_temporary(), "{error:?}");
    assert_eq!(error.code(), Some(451));
    assert_eq!(
        error.message(),
        "4.3.0 Temporary failure, please try again later"
    );
    assert!(mailroom.take().is_empty());
    handle.shutdown().await;
}

#[tokio::test]
async fn send_raw_to_a_closed_port_is_temporary() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let settings = SmtpSettings {
        tls: TlsMode::None,
        timeout: Duration::from_secs(5),
        ..SmtpSettings::new("127.0.0.1", port)
    };
    let error = send_raw(
        &settings,
        "a@acme.test",
        &["b@example.com".to_owned()],
        b"x",
    )
    .await
    .unwrap_err();
    assert!(error.is_temporary(), "{error:?}");
    assert_eq!(error.code(), None);
    assert!(!error.message().is_empty());
}

#[tokio::test]
async fn send_raw_refuses_invalid_addresses_before_connecting() {
    let settings = SmtpSettings::new("127.0.0.1", 9);
    let error = send_raw(
        &settings,
        "a@acme.test",
        &["not an address".to_owned()],
        b"x",
    )
    .await
    .unwrap_err();
    assert!(
        matches!(error, SendError::Permanent { code: None, .. }),
        "{error:?}"
    );
    let error = send_raw(&settings, "a@acme.test", &[], b"x")
        .await
        .unwrap_err();
    assert!(
        matches!(error, SendError::Permanent { code: None, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn test_connection_reports_success_and_the_exact_failure() {
    let (addr, handle, _mailroom) = start(config()).await;
    test_connection(&settings(addr)).await.unwrap();

    // STARTTLS required, but this listener has no TLS: refused without sending anything.
    let starttls = SmtpSettings {
        tls: TlsMode::StartTls,
        ..settings(addr)
    };
    let error = test_connection(&starttls).await.unwrap_err();
    assert!(
        error.message().to_lowercase().contains("starttls"),
        "{error}"
    );
    handle.shutdown().await;

    let mut tls_config = config();
    tls_config.tls = Some(tls_server_config());
    let (addr, handle, _mailroom) = start(tls_config).await;
    let untrusted = SmtpSettings {
        tls: TlsMode::StartTls,
        ..SmtpSettings::new("localhost", addr.port())
    };
    let error = test_connection(&untrusted).await.unwrap_err();
    assert!(error.is_temporary(), "{error:?}");
    assert!(
        error.message().to_lowercase().contains("certificate"),
        "{error}"
    );
    handle.shutdown().await;
}

// ---------------------------------------------------------------- raw SMTP

#[tokio::test]
async fn ehlo_and_simple_commands() {
    let (addr, handle, _mailroom) = start(config()).await;
    let mut c = Client::connect(addr).await;
    assert_eq!(
        c.cmd("MAIL FROM:<a@example.com>").await,
        "503 5.5.1 Send EHLO or HELO first"
    );
    let ehlo = c.cmd("EHLO client.test").await;
    let lines: Vec<&str> = ehlo.lines().collect();
    assert_eq!(lines[0], "250-mx.acme.test Hello client.test");
    assert!(lines.contains(&"250-PIPELINING"), "{ehlo}");
    assert!(lines.contains(&"250-SIZE 65536"), "{ehlo}");
    assert!(lines.last().unwrap().starts_with("250 "), "{ehlo}");
    assert!(!ehlo.contains("STARTTLS"), "{ehlo}");
    assert_eq!(c.cmd("HELO again.test").await, "250 mx.acme.test");
    assert_eq!(c.cmd("NOOP").await, "250 2.0.0 OK");
    assert!(c.cmd("VRFY support").await.starts_with("252 "));
    assert_eq!(
        c.cmd("RCPT TO:<support@acme.test>").await,
        "503 5.5.1 Need MAIL before RCPT"
    );
    assert_eq!(c.cmd("DATA").await, "503 5.5.1 Need MAIL command");
    assert_eq!(c.cmd("STARTTLS").await, "502 5.5.1 Command not implemented");
    assert_eq!(
        c.cmd("AUTH PLAIN AGFAAGI=").await,
        "502 5.5.1 Command not implemented"
    );
    assert_eq!(c.cmd("XYZZY").await, "500 5.5.1 Command unrecognized");
    assert!(
        c.cmd("MAIL FROM:<>").await.starts_with("250 "),
        "null sender is allowed for bounces"
    );
    assert_eq!(
        c.cmd("MAIL FROM:<a@example.com>").await,
        "503 5.5.1 Nested MAIL command"
    );
    assert_eq!(c.cmd("DATA").await, "554 5.5.1 No valid recipients");
    assert_eq!(c.cmd("RSET").await, "250 2.0.0 OK");
    assert!(c.cmd("QUIT").await.starts_with("221 2.0.0"));
    assert_eq!(c.reply().await, "", "connection closed after QUIT");
    handle.shutdown().await;
}

#[tokio::test]
async fn unknown_recipient_gets_550_and_known_one_is_delivered() {
    let (addr, handle, mailroom) = start(config()).await;
    let mut c = Client::connect(addr).await;
    assert!(c.cmd("EHLO client.test").await.starts_with("250"));
    assert!(c.cmd("MAIL FROM:<>").await.starts_with("250"));
    assert_eq!(
        c.cmd("RCPT TO:<someone@elsewhere.test>").await,
        "550 5.1.1 mailbox unavailable"
    );
    assert_eq!(
        c.cmd("RCPT TO:<Support@Acme.test>").await,
        "250 2.1.5 Recipient OK"
    );
    assert_eq!(
        c.cmd("DATA").await,
        "354 Start mail input; end with <CRLF>.<CRLF>"
    );
    c.send("Subject: bounce\r\n\r\nbody\r\n.\r\n").await;
    assert_eq!(c.reply().await, "250 2.0.0 Message accepted for delivery");
    let delivered = mailroom.take();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].0.mail_from, "");
    assert_eq!(delivered[0].0.rcpt_to, vec!["Support@Acme.test"]);
    assert_eq!(
        strip_received(&delivered[0].1),
        b"Subject: bounce\r\n\r\nbody\r\n"
    );
    handle.shutdown().await;
}

#[tokio::test]
async fn oversize_messages_get_552_declared_or_not() {
    let (addr, handle, mailroom) = start(config()).await;
    let mut c = Client::connect(addr).await;
    assert!(c.cmd("EHLO client.test").await.starts_with("250"));
    assert_eq!(
        c.cmd("MAIL FROM:<a@example.com> SIZE=70000").await,
        "552 5.3.4 Message size exceeds fixed maximum message size"
    );
    assert!(
        c.cmd("MAIL FROM:<a@example.com> SIZE=1000")
            .await
            .starts_with("250")
    );
    assert!(
        c.cmd("RCPT TO:<support@acme.test>")
            .await
            .starts_with("250")
    );
    assert!(c.cmd("DATA").await.starts_with("354"));
    let line = format!("{}\r\n", "x".repeat(998));
    for _ in 0..100 {
        c.send(&line).await;
    }
    c.send(".\r\n").await;
    assert_eq!(
        c.reply().await,
        "552 5.3.4 Message exceeds fixed maximum message size"
    );
    // The session goes on and the next message is fine.
    c.begin_again().await;
    assert_eq!(mailroom.take().len(), 1);
    handle.shutdown().await;
}

impl Client<TcpStream> {
    async fn begin_again(&mut self) {
        assert!(
            self.cmd("MAIL FROM:<a@example.com>")
                .await
                .starts_with("250")
        );
        assert!(
            self.cmd("RCPT TO:<support@acme.test>")
                .await
                .starts_with("250")
        );
        assert!(self.cmd("DATA").await.starts_with("354"));
        self.send("Subject: small\r\n\r\nok\r\n.\r\n").await;
        assert_eq!(
            self.reply().await,
            "250 2.0.0 Message accepted for delivery"
        );
    }
}

#[tokio::test]
async fn delivery_failure_gets_451_never_250() {
    let (addr, handle, mailroom) = start(config()).await;
    let mut c = Client::connect(addr).await;
    c.begin("fail@acme.test").await;
    assert!(c.cmd("DATA").await.starts_with("354"));
    c.send("Subject: x\r\n\r\nx\r\n.\r\n").await;
    assert_eq!(
        c.reply().await,
        "451 4.3.0 Temporary failure, please try again later"
    );
    assert!(mailroom.take().is_empty());
    // The transaction was reset: DATA now needs a new MAIL.
    assert_eq!(c.cmd("DATA").await, "503 5.5.1 Need MAIL command");
    handle.shutdown().await;
}

#[tokio::test]
async fn pipelined_commands_are_answered_in_order() {
    let (addr, handle, mailroom) = start(config()).await;
    let mut c = Client::connect(addr).await;
    c.send(
        "EHLO client.test\r\nMAIL FROM:<ana@example.com>\r\nRCPT TO:<support@acme.test>\r\n\
         RCPT TO:<ghost@acme.test>\r\nRCPT TO:<reply+abc@acme.test>\r\nDATA\r\n",
    )
    .await;
    assert!(c.reply().await.starts_with("250-mx.acme.test"));
    assert_eq!(c.reply().await, "250 2.1.0 Sender OK");
    assert_eq!(c.reply().await, "250 2.1.5 Recipient OK");
    assert_eq!(c.reply().await, "550 5.1.1 mailbox unavailable");
    assert_eq!(c.reply().await, "250 2.1.5 Recipient OK");
    assert!(c.reply().await.starts_with("354"));
    // Message, final dot, next transaction and QUIT in one write.
    c.send(
        "Subject: one\r\n\r\nfirst\r\n.\r\nMAIL FROM:<b@example.com>\r\nRCPT TO:<support@acme.test>\r\n\
         DATA\r\nSubject: two\r\n\r\nsecond\r\n.\r\nQUIT\r\n",
    )
    .await;
    assert_eq!(c.reply().await, "250 2.0.0 Message accepted for delivery");
    assert_eq!(c.reply().await, "250 2.1.0 Sender OK");
    assert_eq!(c.reply().await, "250 2.1.5 Recipient OK");
    assert!(c.reply().await.starts_with("354"));
    assert_eq!(c.reply().await, "250 2.0.0 Message accepted for delivery");
    assert!(c.reply().await.starts_with("221"));
    let delivered = mailroom.take();
    assert_eq!(delivered.len(), 2);
    assert_eq!(
        delivered[0].0.rcpt_to,
        vec!["support@acme.test", "reply+abc@acme.test"]
    );
    assert_eq!(
        strip_received(&delivered[0].1),
        b"Subject: one\r\n\r\nfirst\r\n"
    );
    assert_eq!(delivered[1].0.mail_from, "b@example.com");
    assert_eq!(
        strip_received(&delivered[1].1),
        b"Subject: two\r\n\r\nsecond\r\n"
    );
    handle.shutdown().await;
}

#[tokio::test]
async fn dot_stuffing_and_a_terminator_split_across_reads() {
    let (addr, handle, mailroom) = start(config()).await;
    let mut c = Client::connect(addr).await;
    c.begin("support@acme.test").await;
    assert!(c.cmd("DATA").await.starts_with("354"));
    // A stuffed first line, a lone stuffed dot, a stuffed "..", and ".\r\n" inside a line.
    c.send("..first line starts with a dot\r\nSubject: dots\r\n\r\n..\r\n...\r\nnot .\r\n the end")
        .await;
    for piece in ["\r", "\n", ".", "\r", "\n"] {
        tokio::time::sleep(Duration::from_millis(30)).await;
        c.send(piece).await;
    }
    assert_eq!(c.reply().await, "250 2.0.0 Message accepted for delivery");
    let delivered = mailroom.take();
    assert_eq!(
        String::from_utf8_lossy(strip_received(&delivered[0].1)),
        ".first line starts with a dot\r\nSubject: dots\r\n\r\n.\r\n..\r\nnot .\r\n the end\r\n"
    );
    handle.shutdown().await;
}

#[tokio::test]
async fn empty_message_is_accepted() {
    let (addr, handle, mailroom) = start(config()).await;
    let mut c = Client::connect(addr).await;
    c.begin("support@acme.test").await;
    assert!(c.cmd("DATA").await.starts_with("354"));
    assert_eq!(c.cmd(".").await, "250 2.0.0 Message accepted for delivery");
    assert_eq!(strip_received(&mailroom.take()[0].1), b"");
    handle.shutdown().await;
}

#[tokio::test]
async fn too_many_recipients_get_452() {
    let (addr, handle, _mailroom) = start(config()).await;
    let mut c = Client::connect(addr).await;
    c.begin("reply+1@acme.test").await;
    assert!(
        c.cmd("RCPT TO:<reply+2@acme.test>")
            .await
            .starts_with("250")
    );
    assert!(
        c.cmd("RCPT TO:<reply+3@acme.test>")
            .await
            .starts_with("250")
    );
    assert!(
        c.cmd("RCPT TO:<reply+3@acme.test>")
            .await
            .starts_with("250"),
        "duplicates are free"
    );
    assert_eq!(
        c.cmd("RCPT TO:<reply+4@acme.test>").await,
        "452 4.5.3 Too many recipients"
    );
    handle.shutdown().await;
}

#[tokio::test]
async fn garbage_and_long_lines_get_errors_not_crashes() {
    let (addr, handle, _mailroom) = start(config()).await;
    let mut c = Client::connect(addr).await;
    c.send(b"\x00\xff\xfe garbage\r\n").await;
    assert!(c.reply().await.starts_with("500"));
    c.send(format!("NOOP {}\r\n", "a".repeat(10_000))).await;
    assert_eq!(c.reply().await, "500 5.5.2 Line too long");
    assert_eq!(
        c.cmd("NOOP").await,
        "250 2.0.0 OK",
        "the rest of the long line was skipped"
    );
    assert!(c.cmd("MAIL FROM:<broken").await.starts_with("501"));
    assert!(c.cmd("RCPT TO:").await.starts_with("50"));
    // Four errors so far; the tenth ends the session. The server itself keeps serving.
    for _ in 0..5 {
        assert_eq!(c.cmd("BOGUS").await, "500 5.5.1 Command unrecognized");
    }
    assert_eq!(c.cmd("BOGUS").await, "500 5.5.1 Command unrecognized");
    assert_eq!(
        c.reply().await,
        "421 4.7.0 Too many errors, closing connection"
    );
    assert_eq!(c.reply().await, "");
    let mut again = Client::connect(addr).await;
    assert_eq!(again.cmd("NOOP").await, "250 2.0.0 OK");
    handle.shutdown().await;
}

#[tokio::test]
async fn random_bytes_never_take_the_listener_down() {
    let (addr, handle, _mailroom) = start(config()).await;
    // A deterministic pseudo-random stream (xorshift) with a few CR/LF and dots thrown in.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..20 {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let junk: Vec<u8> = (0..4096)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                match state % 16 {
                    0 => b'\n',
                    1 => b'\r',
                    2 => b'.',
                    _ => (state >> 8) as u8,
                }
            })
            .collect();
        let _ = stream.write_all(&junk).await;
    }
    let mut c = Client::connect(addr).await;
    assert_eq!(c.cmd("NOOP").await, "250 2.0.0 OK");
    handle.shutdown().await;
}

#[tokio::test]
async fn idle_clients_are_disconnected_with_421() {
    let mut config = config();
    config.idle_timeout = Duration::from_millis(300);
    let (addr, handle, _mailroom) = start(config).await;
    let mut c = Client::connect(addr).await;
    assert_eq!(
        c.reply().await,
        "421 4.4.2 mx.acme.test idle timeout, closing connection"
    );
    assert_eq!(c.reply().await, "");
    handle.shutdown().await;
}

#[tokio::test]
async fn shutdown_tells_connected_clients_and_stops_listening() {
    let (addr, handle, _mailroom) = start(config()).await;
    let mut c = Client::connect(addr).await;
    assert_eq!(c.cmd("NOOP").await, "250 2.0.0 OK");
    tokio::time::timeout(Duration::from_secs(10), handle.shutdown())
        .await
        .expect("shutdown completes");
    assert_eq!(
        c.reply().await,
        "421 4.3.2 mx.acme.test service shutting down"
    );
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "no longer listening"
    );
}

#[tokio::test]
async fn connections_beyond_the_limit_are_refused_with_421() {
    let mut config = config();
    config.max_connections = 1;
    let (addr, handle, _mailroom) = start(config).await;
    let mut first = Client::connect(addr).await;
    let mut second = BufReader::new(TcpStream::connect(addr).await.unwrap());
    let mut line = String::new();
    second.read_line(&mut line).await.unwrap();
    assert!(line.starts_with("421 4.3.2"), "{line}");
    assert_eq!(first.cmd("NOOP").await, "250 2.0.0 OK");
    handle.shutdown().await;
}

#[tokio::test]
async fn starttls_upgrades_the_session_and_drops_injected_commands() {
    let mut config = config();
    config.tls = Some(tls_server_config());
    let (addr, handle, mailroom) = start(config).await;
    let mut c = Client::connect(addr).await;
    let ehlo = c.cmd("EHLO client.test").await;
    assert!(
        ehlo.contains("250-STARTTLS") || ehlo.contains("250 STARTTLS"),
        "{ehlo}"
    );
    assert_eq!(
        c.cmd("MAIL FROM:<a@example.com>").await,
        "250 2.1.0 Sender OK"
    );
    // A command pipelined after STARTTLS in clear text must not run inside TLS.
    c.send("STARTTLS\r\nRSET\r\n").await;
    assert_eq!(c.reply().await, "220 2.0.0 Ready to start TLS");

    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(CERT).unwrap())
        .unwrap();
    let client_config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client_config));
    let tcp = c.stream.into_inner();
    let tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let mut c = Client {
        stream: BufReader::new(tls),
    };
    // Fresh state after the upgrade (RFC 3207): EHLO again, no STARTTLS offered, no old MAIL.
    assert_eq!(
        c.cmd("MAIL FROM:<a@example.com>").await,
        "503 5.5.1 Send EHLO or HELO first"
    );
    let ehlo = c.cmd("EHLO client.test").await;
    assert!(!ehlo.contains("STARTTLS"), "{ehlo}");
    assert_eq!(c.cmd("STARTTLS").await, "503 5.5.1 TLS already active");
    assert!(c.cmd("MAIL FROM:<a@example.com>").await.starts_with("250"));
    assert!(
        c.cmd("RCPT TO:<support@acme.test>")
            .await
            .starts_with("250")
    );
    assert!(c.cmd("DATA").await.starts_with("354"));
    assert_eq!(
        c.cmd("Subject: secret\r\n\r\nover TLS\r\n.").await,
        "250 2.0.0 Message accepted for delivery"
    );
    let delivered = mailroom.take();
    assert!(delivered[0].0.tls);
    assert!(String::from_utf8_lossy(&delivered[0].1).contains("with ESMTPS;"));
    handle.shutdown().await;
}
