//! Three more real Chatwoot clients replayed against Throughline, request for request (issue
//! #17): an n8n community node, the JavaScript SDK the WhatsApp bridges use, and an agent bot as
//! Chatwoot's own agent-bot examples build one. Each file names the client's files and the
//! commit read, and sends exactly the requests the client sends (paths, query, headers, bodies)
//! and checks exactly the answer fields the client reads.
//!
//! A step that fails does not stop the replay: every failing step is collected (the request,
//! our answer, what the client expects) and the test fails at the end with the whole list. The
//! replay stops early only when the client could not go on either (it needs an id it did not
//! get).

use reqwest::Method;
use serde_json::Value;
use throughline_testkit::{Answer, Exchange, TestApp};

mod agent_bot;
mod chatwoot_sdk;
mod n8n_node;

/// A request body, exactly as the client encodes it.
pub enum Body {
    None,
    /// `Content-Type: application/json` and the JSON text.
    Json(Value),
    /// `multipart/form-data` text fields, in the client's order.
    Form(Vec<(&'static str, String)>),
}

/// One client's run: what it sent, and every step that did not answer as the client needs.
pub struct Replay<'a> {
    t: &'a TestApp,
    client: &'static str,
    step: String,
    request: String,
    answer: Option<Answer>,
    observed: Option<String>,
    failures: Vec<String>,
    reported: bool,
}

impl<'a> Replay<'a> {
    pub fn new(t: &'a TestApp, client: &'static str) -> Self {
        Self {
            t,
            client,
            step: String::new(),
            request: String::new(),
            answer: None,
            observed: None,
            failures: Vec::new(),
            reported: false,
        }
    }

    /// Sends one request with exactly these headers (reqwest adds only `host`,
    /// `content-length` and, for a body, its `content-type`). `path` is appended to the base URL
    /// verbatim, query and all.
    pub async fn send(
        &mut self,
        step: &str,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Body,
    ) -> Answer {
        let mut req = self.t.client.request(
            Method::from_bytes(method.as_bytes()).unwrap(),
            self.t.url(path),
        );
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let shown = match &body {
            Body::None => String::new(),
            Body::Json(v) => format!(" {v}"),
            Body::Form(fields) => format!(" multipart {fields:?}"),
        };
        req = match body {
            Body::None => req,
            Body::Json(v) => req
                .header("content-type", "application/json")
                .body(v.to_string()),
            Body::Form(fields) => {
                let mut form = reqwest::multipart::Form::new();
                for (name, value) in fields {
                    form = form.text(name, value);
                }
                req.multipart(form)
            }
        };
        let answer = throughline_testkit::read(req.send().await.unwrap()).await;
        let names: Vec<&str> = headers.iter().map(|(n, _)| *n).collect();
        self.step = step.to_owned();
        self.request = format!("{method} {path} (headers {names:?}){shown}");
        self.t.log.lock().unwrap().push(Exchange {
            method: method.into(),
            path: path.split('?').next().unwrap_or(path).into(),
            status: answer.status,
            body: answer.body.clone(),
        });
        self.answer = Some(answer.clone());
        self.observed = None;
        answer
    }

    /// Records a failure of the last step when `ok` is false; returns `ok`.
    pub fn check(&mut self, ok: bool, the_client_expects: &str) -> bool {
        if !ok {
            let ours = match (&self.answer, &self.observed) {
                (Some(a), _) => format!("{} {}", a.status, shorten(a.body.to_string())),
                (None, Some(seen)) => shorten(seen.clone()),
                (None, None) => "nothing".into(),
            };
            self.failures.push(format!(
                "[{}] {}\n    request: {}\n    our answer: {ours}\n    the client expects: {the_client_expects}",
                self.client, self.step, self.request
            ));
        }
        ok
    }

    /// Checks the last answer is a 2xx.
    pub fn check_success(&mut self, the_client_expects: &str) -> bool {
        let ok = self
            .answer
            .as_ref()
            .is_some_and(|a| (200..300).contains(&a.status));
        self.check(ok, the_client_expects)
    }

    /// A check that is not about an answer to the client: an event it receives, or what the
    /// agents see after its request. `seen` is shown when a check fails.
    pub fn observe(&mut self, step: &str, what: &str, seen: &Value) {
        self.step = step.to_owned();
        self.request = what.to_owned();
        self.answer = None;
        self.observed = Some(seen.to_string());
    }

    /// What the client carries on with; without it the client stops, and so does the replay.
    pub fn need<T>(&mut self, value: Option<T>, the_client_expects: &str) -> T {
        match value {
            Some(v) => v,
            None => {
                self.check(false, the_client_expects);
                self.failures.push(format!(
                    "[{}] the client cannot go on: replay stopped",
                    self.client
                ));
                self.report();
                unreachable!("report panics when a step failed")
            }
        }
    }

    /// Fails with every failing step.
    pub fn finish(mut self) {
        self.report();
    }

    fn report(&mut self) {
        self.reported = true;
        assert!(
            self.failures.is_empty(),
            "{} failing step(s) of {}:\n{}",
            self.failures.len(),
            self.client,
            self.failures.join("\n")
        );
    }
}

fn shorten(mut text: String) -> String {
    if text.len() > 700 {
        let mut cut = 700;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}

impl Drop for Replay<'_> {
    /// A panic elsewhere (a harness step) must not hide the steps that already failed.
    fn drop(&mut self) {
        if std::thread::panicking() && !self.reported && !self.failures.is_empty() {
            eprintln!(
                "{} failing step(s) of {} before the panic:\n{}",
                self.failures.len(),
                self.client,
                self.failures.join("\n")
            );
        }
    }
}

/// An integer id at `pointer` in `v`.
pub fn id_at(v: &Value, pointer: &str) -> Option<i64> {
    v.pointer(pointer).and_then(Value::as_i64)
}
