//! The WhatsApp bridges that reach Chatwoot in Brazil, replayed request by request against
//! Throughline (issue #17): Evolution API, WAHA and wppconnect-server. Each file names the
//! client's source files and the commit they were read from, and replays the client's main flow
//! with exactly its requests (paths as it writes them, methods, query strings, bodies in the
//! encoding it uses, headers), asserting on exactly the answer fields it reads.
//!
//! A [`Flow`] records every request; a wrong answer is recorded and the flow goes on as far as
//! the client itself could, so one run lists every break (request, our answer, what the client
//! expects). A step whose answer the rest of the flow cannot do without stops the flow there.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{Value, json};
use throughline_testkit::receiver::{Received, Receiver};
use throughline_testkit::{Answer, TestApp, read};

mod evolution;
mod waha;
mod wppconnect;

/// A body as a client sends it.
pub enum Body {
    /// No body at all (not even `{}`).
    Empty,
    /// `application/json` (the client's own Content-Type header, if any, is in its headers).
    Json(Value),
    /// `multipart/form-data`, fields in the order the client appends them.
    Multipart(Vec<Field>),
}

pub enum Field {
    Text(&'static str, String),
    File {
        name: &'static str,
        filename: String,
        mime: &'static str,
        bytes: Vec<u8>,
    },
}

impl Field {
    pub fn text(name: &'static str, value: impl Into<String>) -> Field {
        Field::Text(name, value.into())
    }
}

/// A JPEG as a phone sends it (start and end markers around a JFIF header).
pub const JPEG: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00, 0x00, 0x01,
    0x00, 0x01, 0x00, 0x00, 0xFF, 0xD9,
];

/// A PNG an agent attaches to a reply.
pub const PNG: &[u8] = &[
    0x89, b'P', b'N', b'G', 13, 10, 26, 10, 0, 0, 0, 13, 1, 2, 3, 4,
];

/// One client's flow: its requests in order and every answer that is not what it expects.
pub struct Flow<'a> {
    pub t: &'a TestApp,
    client: &'static str,
    step: usize,
    last: String,
    failures: Vec<String>,
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(max).collect();
        format!("{cut}…")
    }
}

fn describe(body: &Body) -> String {
    match body {
        Body::Empty => "(no body)".into(),
        Body::Json(v) => shorten(&v.to_string(), 600),
        Body::Multipart(fields) => {
            let parts: Vec<String> = fields
                .iter()
                .map(|f| match f {
                    Field::Text(n, v) => format!("{n}={}", shorten(v, 80)),
                    Field::File {
                        name,
                        filename,
                        mime,
                        bytes,
                    } => format!("{name}=@{filename} ({mime}, {} bytes)", bytes.len()),
                })
                .collect();
            format!("multipart [{}]", parts.join(", "))
        }
    }
}

impl<'a> Flow<'a> {
    pub fn new(t: &'a TestApp, client: &'static str) -> Flow<'a> {
        Flow {
            t,
            client,
            step: 0,
            last: String::new(),
            failures: Vec::new(),
        }
    }

    /// Sends one request exactly as given: `path` may carry a query string and a trailing slash.
    pub async fn send(
        &mut self,
        what: &str,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: Body,
    ) -> Answer {
        self.step += 1;
        let method_v = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.t.client.request(method_v, self.t.url(path));
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let summary = describe(&body);
        req = match body {
            Body::Empty => req,
            Body::Json(v) => req.body(serde_json::to_vec(&v).unwrap()),
            Body::Multipart(fields) => {
                let mut form = reqwest::multipart::Form::new();
                for f in fields {
                    form = match f {
                        Field::Text(n, v) => form.text(n, v),
                        Field::File {
                            name,
                            filename,
                            mime,
                            bytes,
                        } => form.part(
                            name,
                            reqwest::multipart::Part::bytes(bytes)
                                .file_name(filename)
                                .mime_str(mime)
                                .unwrap(),
                        ),
                    };
                }
                req.multipart(form)
            }
        };
        let answer = read(req.send().await.unwrap()).await;
        self.last = format!(
            "step {} ({what}): {method} {path} {summary}\n      answered {} {}",
            self.step,
            answer.status,
            shorten(&answer.body.to_string(), 700)
        );
        answer
    }

    /// Records a failure of the last request unless `ok` (one entry per request, listing
    /// everything it expected and did not get).
    pub fn check(&mut self, ok: bool, expects: &str) -> bool {
        if !ok {
            let also = format!("\n      {} expects: {expects}", self.client);
            match self.failures.last_mut() {
                Some(previous) if previous.starts_with(&self.last) => previous.push_str(&also),
                _ => self.failures.push(format!("{}{also}", self.last)),
            }
        }
        ok
    }

    /// The last request was answered with a 2xx (the client throws on anything else).
    pub fn ok(&mut self, answer: &Answer) -> bool {
        self.check(
            (200..300).contains(&answer.status),
            "a 2xx answer (its HTTP client throws on any other status)",
        )
    }

    /// Records a failure about something that is not an HTTP answer (a webhook's payload).
    pub fn check_payload(&mut self, what: &str, ok: bool, expects: &str, payload: &Value) -> bool {
        if !ok {
            self.failures.push(format!(
                "{what}: payload {}\n      {} expects: {expects}",
                shorten(&payload.to_string(), 1500),
                self.client
            ));
        }
        ok
    }

    /// A value the rest of the flow cannot do without: stops here, with everything found so far.
    #[track_caller]
    pub fn need<T>(&mut self, value: Option<T>, expects: &str) -> T {
        match value {
            Some(v) => v,
            None => {
                self.check(false, expects);
                self.stop();
            }
        }
    }

    #[track_caller]
    fn stop(&self) -> ! {
        panic!(
            "{} cannot go on; {} break(s):\n\n{}\n",
            self.client,
            self.failures.len(),
            self.failures.join("\n\n")
        );
    }

    /// Fails the test with every break found.
    #[track_caller]
    pub fn finish(self) {
        if !self.failures.is_empty() {
            let mut out = String::new();
            let _ = write!(
                out,
                "{} ran its flow with {} break(s):\n\n{}\n",
                self.client,
                self.failures.len(),
                self.failures.join("\n\n")
            );
            panic!("{out}");
        }
    }

    /// What an agent sees of a conversation's messages (the agent UI, not the client).
    pub async fn agent_messages(&self, conversation_id: i64) -> Vec<Value> {
        let path = self
            .t
            .acc(&format!("/conversations/{conversation_id}/messages"));
        let list = self.t.get(&path).await;
        list["payload"].as_array().cloned().unwrap_or_default()
    }

    /// Waits until the agent sees the message `id` in `status` (the effect of a status report).
    pub async fn agent_sees_status(&self, conversation_id: i64, id: i64, status: &str) -> Value {
        let mut last = Value::Null;
        for _ in 0..250 {
            let messages = self.agent_messages(conversation_id).await;
            if let Some(m) = messages.iter().find(|m| m["id"] == id) {
                last = m.clone();
                if m["status"] == status {
                    return last;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        last
    }
}

/// An agent's text reply from the agent UI.
pub async fn agent_reply(t: &TestApp, conversation_id: i64, text: &str) -> Value {
    t.post(
        &t.acc(&format!("/conversations/{conversation_id}/messages")),
        json!({"content": text, "message_type": "outgoing", "private": false}),
    )
    .await
}

/// An agent's reply with a picture, uploaded from the agent UI.
pub async fn agent_reply_with_picture(
    t: &TestApp,
    conversation_id: i64,
    caption: &str,
    filename: &str,
) -> Value {
    let form = reqwest::multipart::Form::new()
        .text("content", caption.to_owned())
        .text("message_type", "outgoing")
        .part(
            "attachments[]",
            reqwest::multipart::Part::bytes(PNG.to_vec())
                .file_name(filename.to_owned())
                .mime_str("image/png")
                .unwrap(),
        );
    let resp = t
        .client
        .post(t.url(&t.acc(&format!("/conversations/{conversation_id}/messages"))))
        .header("api_access_token", &t.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    read(resp).await.expect(200)
}

/// The callback carrying the message `id`, as the bridge's webhook endpoint receives it.
pub async fn callback_for(rx: &Receiver, id: &Value) -> Option<Received> {
    for _ in 0..750 {
        if let Some(r) = rx
            .received()
            .into_iter()
            .find(|r| r.body["event"] == "message_created" && r.body["id"] == *id)
        {
            return Some(r);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

/// Downloads a URL as the bridge does to forward a file to WhatsApp: status and bytes.
pub async fn download(t: &TestApp, url: &str) -> (u16, Vec<u8>) {
    match t.client.get(url).send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            (
                status,
                resp.bytes().await.map(|b| b.to_vec()).unwrap_or_default(),
            )
        }
        Err(_) => (0, Vec::new()),
    }
}

/// `value` as an integer id whether the answer sends it as a number or a string.
pub fn id_of(value: &Value) -> Option<i64> {
    value
        .as_i64()
        .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
}

/// JavaScript truthiness, as the bridges test fields (`if (message.attachments)`).
pub fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}
