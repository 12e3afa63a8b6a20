//! A local SMTP server that records what it is sent: the outside relay an email inbox sends
//! through. It speaks just enough SMTP for lettre (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT),
//! and can be told to refuse messages temporarily or permanently.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// One message as the sink received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// The DATA, dot-unstuffed, without the final `.` line.
    pub data: Vec<u8>,
}

/// What the sink answers at the end of DATA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Accept,
    /// `451 <text>` (the sender should retry).
    Temporary(String),
    /// `550 <text>`.
    Permanent(String),
}

#[derive(Default)]
struct Shared {
    received: Mutex<Vec<Received>>,
    /// Answers to use for the next messages, in order; `Accept` once they run out.
    script: Mutex<Vec<Answer>>,
    attempts: Mutex<usize>,
    arrived: Notify,
}

#[derive(Clone)]
pub struct SmtpSink {
    pub port: u16,
    shared: Arc<Shared>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared::default());
        let s = shared.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move {
                    let _ = session(stream, &s).await;
                });
            }
        });
        SmtpSink { port, shared }
    }

    /// The next messages get these answers, in order.
    pub fn script(&self, answers: Vec<Answer>) {
        *self.shared.script.lock().unwrap() = answers;
    }

    /// Messages accepted so far.
    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// DATA commands completed so far, accepted or not.
    pub fn attempts(&self) -> usize {
        *self.shared.attempts.lock().unwrap()
    }

    /// Waits until at least `n` messages were accepted.
    pub async fn wait_for(&self, n: usize, timeout: std::time::Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.arrived.notified();
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the SMTP sink got {} of {n} messages",
                got.len()
            );
            let _ = tokio::time::timeout(std::time::Duration::from_millis(100), notified).await;
        }
    }
}

async fn session(stream: tokio::net::TcpStream, shared: &Shared) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 sink.test ESMTP ready\r\n").await?;
    let mut mail_from = String::new();
    let mut rcpt_to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let upper = line.trim_end().to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            write
                .write_all(b"250-sink.test\r\n250-8BITMIME\r\n250 SIZE 52428800\r\n")
                .await?;
        } else if upper.starts_with("HELO") {
            write.write_all(b"250 sink.test\r\n").await?;
        } else if upper.starts_with("MAIL FROM:") {
            mail_from = line.trim_end()[10..].trim().to_owned();
            rcpt_to.clear();
            write.write_all(b"250 ok\r\n").await?;
        } else if upper.starts_with("RCPT TO:") {
            rcpt_to.push(line.trim_end()[8..].trim().to_owned());
            write.write_all(b"250 ok\r\n").await?;
        } else if upper == "DATA" {
            write.write_all(b"354 go ahead\r\n").await?;
            let mut data = Vec::new();
            loop {
                let mut raw = Vec::new();
                if lines.read_until(b'\n', &mut raw).await? == 0 {
                    return Ok(());
                }
                if raw == b".\r\n" || raw == b".\n" {
                    break;
                }
                let unstuffed = if raw.starts_with(b"..") {
                    &raw[1..]
                } else {
                    &raw[..]
                };
                data.extend_from_slice(unstuffed);
            }
            *shared.attempts.lock().unwrap() += 1;
            let answer = {
                let mut script = shared.script.lock().unwrap();
                if script.is_empty() {
                    Answer::Accept
                } else {
                    script.remove(0)
                }
            };
            match answer {
                Answer::Accept => {
                    shared.received.lock().unwrap().push(Received {
                        mail_from: mail_from.clone(),
                        rcpt_to: rcpt_to.clone(),
                        data,
                    });
                    shared.arrived.notify_waiters();
                    write.write_all(b"250 queued as 1\r\n").await?;
                }
                Answer::Temporary(text) => {
                    write
                        .write_all(format!("451 {text}\r\n").as_bytes())
                        .await?;
                }
                Answer::Permanent(text) => {
                    write
                        .write_all(format!("550 {text}\r\n").as_bytes())
                        .await?;
                }
            }
        } else if upper == "QUIT" {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else if upper == "RSET" || upper == "NOOP" {
            write.write_all(b"250 ok\r\n").await?;
        } else {
            write.write_all(b"502 not implemented\r\n").await?;
        }
    }
}
