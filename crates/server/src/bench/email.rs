//! Email ingest through the built-in SMTP receiver: customers' MIME messages in English,
//! Portuguese and Polish (plain and multipart/alternative, replies with References and quoted
//! history) delivered over real SMTP sessions; a message counts when the receiver's 250 came,
//! which it sends only after the message is parsed, threaded and committed.

use std::time::Instant;

use anyhow::Context;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::load::Target;

pub const INBOX_ADDRESS: &str = "support@bench.example";

pub struct EmailIngest {
    pub accepted: usize,
    pub failed: usize,
    /// Accepted messages per second over the whole phase.
    pub rate: f64,
    pub first_error: Option<String>,
}

/// Creates the email inbox the messages are addressed to.
pub async fn create_inbox(t: &Target) -> anyhow::Result<()> {
    let r = t
        .client
        .post(format!("{}/api/v1/accounts/{}/inboxes", t.base, t.account))
        .header("api_access_token", &t.token)
        .json(&json!({
            "name": "Bench email",
            "channel": { "type": "email", "email": INBOX_ADDRESS }
        }))
        .send()
        .await?;
    anyhow::ensure!(
        r.status().is_success(),
        "creating the email inbox: {} {}",
        r.status(),
        r.text().await.unwrap_or_default()
    );
    Ok(())
}

const SUBJECTS: [&str; 3] = [
    "Order {n} has not arrived",
    "Pedido {n} não chegou — preciso de ajuda",
    "Zamówienie {n} nie dotarło, proszę o pomoc",
];
const BODIES: [&str; 3] = [
    "Hello, my order {n} was due on Monday and the tracking page has not moved since.",
    "Olá, meu pedido {n} deveria ter chegado na segunda-feira e o rastreio não mudou.",
    "Dzień dobry, moja paczka {n} miała przyjść w poniedziałek, a śledzenie stoi w miejscu.",
];

/// Message `round` of customer `n`: the first opens a thread, later ones answer the previous
/// one with In-Reply-To/References and quote it.
fn message(n: usize, round: usize) -> Vec<u8> {
    let lang = n % 3;
    let subject = SUBJECTS[lang].replace("{n}", &n.to_string());
    let body = BODIES[lang].replace("{n}", &n.to_string());
    let id = |r: usize| format!("<c{n}-r{r}@customer.example>");
    let mut headers = format!(
        "From: Customer {n} <customer{n}@customer.example>\r\nTo: {INBOX_ADDRESS}\r\n\
         Message-ID: {}\r\nDate: Mon, 23 Nov 2026 10:{:02}:00 +0000\r\nMIME-Version: 1.0\r\n",
        id(round),
        round % 60
    );
    let text = if round == 0 {
        headers.push_str(&format!("Subject: {subject}\r\n"));
        body.clone()
    } else {
        let refs: Vec<String> = (0..round).map(id).collect();
        headers.push_str(&format!(
            "Subject: Re: {subject}\r\nIn-Reply-To: {}\r\nReferences: {}\r\n",
            id(round - 1),
            refs.join(" ")
        ));
        format!("Any news? (message {round})\r\n\r\nOn Monday you wrote:\r\n> {body}\r\n")
    };
    if n.is_multiple_of(2) {
        headers.push_str(
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
        );
        let mut out = headers.into_bytes();
        out.extend_from_slice(text.as_bytes());
        out.extend_from_slice(b"\r\n");
        out
    } else {
        let html = format!(
            "<html><body><p>{}</p><img src=\"https://tracker.example/p.gif\"></body></html>",
            text.replace("\r\n", "<br>")
        );
        headers.push_str("Content-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n");
        let mut out = headers.into_bytes();
        out.extend_from_slice(
            format!(
                "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n\
                 --b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n--b1--\r\n"
            )
            .as_bytes(),
        );
        out
    }
}

/// One SMTP session as a mail server's client holds it: TCP_NODELAY, each command written
/// whole, the session reused for many messages. (lettre, used for sending, writes a message's
/// end marker apart from its body, so Nagle's algorithm adds a delayed-ACK wait to every
/// message; a bench must not measure that.)
struct Session {
    reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
}

impl Session {
    async fn open(port: u16) -> anyhow::Result<Session> {
        let stream = TcpStream::connect(("127.0.0.1", port)).await?;
        stream.set_nodelay(true)?;
        let (r, writer) = stream.into_split();
        let mut s = Session {
            reader: BufReader::new(r),
            writer,
        };
        s.expect(220).await?;
        s.command(b"EHLO customer.example\r\n", 250).await?;
        Ok(s)
    }

    /// Reads one (possibly multi-line) reply and checks its code.
    async fn expect(&mut self, code: u16) -> anyhow::Result<()> {
        let mut line = String::new();
        loop {
            line.clear();
            anyhow::ensure!(
                self.reader.read_line(&mut line).await? > 0,
                "the SMTP server closed the session"
            );
            if line.as_bytes().get(3) != Some(&b'-') {
                break;
            }
        }
        anyhow::ensure!(
            line.get(..3).and_then(|c| c.parse::<u16>().ok()) == Some(code),
            "expected {code}, got: {}",
            line.trim_end()
        );
        Ok(())
    }

    async fn command(&mut self, bytes: &[u8], code: u16) -> anyhow::Result<()> {
        self.writer.write_all(bytes).await?;
        self.expect(code).await
    }

    async fn send(&mut self, from: &str, raw: &[u8]) -> anyhow::Result<()> {
        self.command(format!("MAIL FROM:<{from}>\r\n").as_bytes(), 250)
            .await?;
        self.command(format!("RCPT TO:<{INBOX_ADDRESS}>\r\n").as_bytes(), 250)
            .await?;
        self.command(b"DATA\r\n", 354).await?;
        // Dot-stuffing: the corpus has no line starting with a dot, but keep it honest.
        let mut body = Vec::with_capacity(raw.len() + 8);
        for line in raw.split_inclusive(|b| *b == b'\n') {
            if line.first() == Some(&b'.') {
                body.push(b'.');
            }
            body.extend_from_slice(line);
        }
        if !body.ends_with(b"\r\n") {
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(b".\r\n");
        self.command(&body, 250).await
    }
}

/// Sends `total` messages from `total / 4` customers (four each, in rounds so replies follow
/// what they answer) over `sessions` concurrent SMTP sessions.
pub async fn ingest(
    smtp_port: u16,
    total: usize,
    sessions: usize,
    progress: &indicatif::ProgressBar,
) -> anyhow::Result<EmailIngest> {
    let customers = (total / 4).max(1);
    let rounds = total.div_ceil(customers);
    let sessions = sessions.max(1);
    let mut pool = Vec::with_capacity(sessions);
    for _ in 0..sessions {
        pool.push(Session::open(smtp_port).await.context("SMTP session")?);
    }
    let (mut accepted, mut failed, mut first_error) = (0, 0, None);
    let started = Instant::now();
    for round in 0..rounds {
        let work: Vec<usize> = (0..customers)
            .filter(|n| round * customers + n < total)
            .collect();
        // Session i sends every sessions-th message of the round, one after another.
        let mut tasks = tokio::task::JoinSet::new();
        for (i, mut session) in std::mem::take(&mut pool).into_iter().enumerate() {
            let mine: Vec<usize> = work.iter().copied().skip(i).step_by(sessions).collect();
            let progress = progress.clone();
            tasks.spawn(async move {
                let mut results = Vec::with_capacity(mine.len());
                for n in mine {
                    let raw = message(n, round);
                    let r = session
                        .send(&format!("customer{n}@customer.example"), &raw)
                        .await
                        .map_err(|e| e.to_string());
                    progress.inc(1);
                    results.push(r);
                }
                (session, results)
            });
        }
        while let Some(joined) = tasks.join_next().await {
            let (session, results) = joined?;
            pool.push(session);
            for r in results {
                match r {
                    Ok(()) => accepted += 1,
                    Err(e) => {
                        failed += 1;
                        first_error.get_or_insert(e);
                    }
                }
            }
        }
    }
    Ok(EmailIngest {
        accepted,
        failed,
        rate: accepted as f64 / started.elapsed().as_secs_f64(),
        first_error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_corpus_parses_and_threads_as_intended() {
        for n in 0..6 {
            for round in 0..3 {
                let raw = message(n, round);
                let parsed = throughline_channels::email::parse::parse_inbound(&raw).unwrap();
                assert_eq!(
                    parsed.message_id.as_deref(),
                    Some(format!("c{n}-r{round}@customer.example").as_str())
                );
                assert!(parsed.subject.unwrap().contains(&n.to_string()));
                assert_eq!(
                    parsed.from.unwrap().address,
                    format!("customer{n}@customer.example")
                );
            }
        }
    }
}
