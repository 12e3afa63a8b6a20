//! Email ingest through the built-in SMTP receiver: customers' MIME messages in English,
//! Portuguese and Polish (plain and multipart/alternative, replies with References and quoted
//! history) delivered over real SMTP sessions; a message counts when the receiver's 250 came,
//! which it sends only after the message is parsed, threaded and committed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::StreamExt;
use serde_json::json;
use throughline_email::send::{SmtpSender, SmtpSettings, TlsMode};

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
    let mut settings = SmtpSettings::new("127.0.0.1", smtp_port);
    settings.tls = TlsMode::None;
    settings.timeout = Duration::from_secs(60);
    settings.helo_name = Some("customer.example".into());
    let senders: Vec<Arc<SmtpSender>> = (0..sessions.max(1).div_ceil(4))
        .map(|_| SmtpSender::new(&settings).map(Arc::new))
        .collect::<Result<_, _>>()
        .context("SMTP client")?;
    let recipients = vec![INBOX_ADDRESS.to_owned()];
    let (mut accepted, mut failed, mut first_error) = (0, 0, None);
    let started = Instant::now();
    for round in 0..rounds {
        let queue: Vec<usize> = (0..customers)
            .filter(|n| round * customers + n < total)
            .collect();
        let results: Vec<Result<(), String>> = futures::stream::iter(queue)
            .map(|n| {
                let sender = senders[n % senders.len()].clone();
                let recipients = recipients.clone();
                async move {
                    let raw = message(n, round);
                    sender
                        .send_raw(&format!("customer{n}@customer.example"), &recipients, &raw)
                        .await
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                }
            })
            .buffer_unordered(sessions.max(1))
            .inspect(|_| progress.inc(1))
            .collect()
            .await;
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
                let parsed = throughline_email::parse::parse_inbound(&raw).unwrap();
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
