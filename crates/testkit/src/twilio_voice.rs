//! A local fake of Twilio Programmable Voice's side of a phone call: it rings Throughline's
//! Voice URL, runs the TwiML it answers the way Twilio would (`<Say>`, `<Play>`, `<Pause>`,
//! `<Gather>`, `<Record>`, `<Redirect>`, `<Hangup>`), posts the caller's keys and recordings
//! to the `action` URLs, sends status and recording-status callbacks, and serves the recordings
//! it made under its own base URL behind HTTP Basic auth, as Twilio's API does.
//!
//! Every request carries Twilio's standard call parameters and an `X-Twilio-Signature`, and can
//! be sent with a wrong signature or none on purpose ([`Call::tamper_next`]). The TwiML is read
//! by a small strict XML parser ([`parse_twiml`]): an answer that is not well-formed TwiML, not
//! served as XML or not a 2xx is reported in [`Answer::error`], never a panic.
//!
//! Requests always use POST: a `method` other than POST on a verb is reported as an error.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::json;

/// Twilio's API version, sent as `ApiVersion` and in recording URLs.
pub const API_VERSION: &str = "2010-04-01";

/// How long Twilio waits for a webhook answer before giving up (its default, 15 s).
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(15);

/// `<Redirect>`s followed in one [`Call::run`] before the fake calls it a loop.
const MAX_REDIRECTS: usize = 20;

/// Twilio's `<Record maxLength>` default (seconds).
const DEFAULT_MAX_LENGTH: u32 = 3600;

/// One request made to the recordings the fake serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// The `Authorization` header as sent.
    pub authorization: Option<String>,
    /// Whether it was HTTP Basic with the account SID and auth token.
    pub authorized: bool,
    /// What the fake answered.
    pub status: u16,
}

#[derive(Default)]
struct Shared {
    /// Recording SID → duration in seconds.
    recordings: HashMap<String, u32>,
    /// Answer recording downloads with this status instead.
    fail: Option<u16>,
    downloads: Vec<Recorded>,
}

#[derive(Clone)]
struct Media {
    account_sid: String,
    auth_token: String,
    shared: Arc<Mutex<Shared>>,
}

/// Twilio's side of inbound calls to one account, and the recordings it keeps.
pub struct FakeTwilioVoice {
    account_sid: String,
    auth_token: String,
    media_base: String,
    client: reqwest::Client,
    shared: Arc<Mutex<Shared>>,
    _server: tokio::task::JoinHandle<()>,
}

impl FakeTwilioVoice {
    /// `account_sid`/`auth_token` sign requests; the fake also serves recordings under its own
    /// base URL.
    pub async fn start(account_sid: &str, auth_token: &str) -> Self {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let media = Media {
            account_sid: account_sid.to_owned(),
            auth_token: auth_token.to_owned(),
            shared: shared.clone(),
        };
        let router = Router::new().fallback(serve_media).with_state(media);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        let _ = rustls::crypto::ring::default_provider().install_default();
        // Twilio does not follow an HTTP redirect as a TwiML answer: a 3xx stays visible.
        let client = reqwest::Client::builder()
            .timeout(WEBHOOK_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        FakeTwilioVoice {
            account_sid: account_sid.to_owned(),
            auth_token: auth_token.to_owned(),
            media_base: format!("http://{addr}"),
            client,
            shared,
            _server: server,
        }
    }

    /// `http://127.0.0.1:PORT`, where every `RecordingUrl` points.
    pub fn media_base(&self) -> String {
        self.media_base.clone()
    }

    /// Makes every recording download answer `status` (404, 500…) until `None`.
    pub fn set_recordings_fail(&self, status: Option<u16>) {
        self.shared.lock().unwrap().fail = status;
    }

    /// Every request made to the recordings so far.
    pub fn downloads(&self) -> Vec<Recorded> {
        self.shared.lock().unwrap().downloads.clone()
    }

    /// A new inbound call from `from` to `to` (E.164, or `anonymous`) whose Voice URL is
    /// `voice_url` (absolute) and status callback `status_url`. Nothing is sent until
    /// [`Call::ring`].
    pub fn call(&self, voice_url: &str, status_url: Option<&str>, from: &str, to: &str) -> Call {
        Call {
            client: self.client.clone(),
            shared: self.shared.clone(),
            media_base: self.media_base.clone(),
            account_sid: self.account_sid.clone(),
            auth_token: self.auth_token.clone(),
            call_sid: new_sid("CA"),
            from: from.to_owned(),
            to: to.to_owned(),
            voice_url: voice_url.to_owned(),
            status_url: status_url.map(str::to_owned),
            extra: Vec::new(),
            rung: false,
            doc_url: voice_url.to_owned(),
            verbs: Vec::new(),
            next: 0,
            waiting: None,
            over: None,
            said: Vec::new(),
            played: Vec::new(),
            recordings: Vec::new(),
            tamper: Mutex::new(None),
            sent: Mutex::new(Vec::new()),
        }
    }
}

/// How the next request is spoiled (for refusal tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tamper {
    /// Signed with another auth token.
    WrongSignature,
    /// Sent without `X-Twilio-Signature`.
    NoSignature,
}

/// What the webhook answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status; 0 when no answer came (connection refused, timeout) or nothing was sent.
    pub status: u16,
    pub body: String,
    /// The TwiML's verbs (empty unless `error` is `None`).
    pub verbs: Vec<Verb>,
    /// The `Content-Type` of the answer.
    pub content_type: Option<String>,
    /// Why Twilio could not use the answer: no answer, not a 2xx, not served as XML, not
    /// well-formed TwiML. Callbacks' answers only need a 2xx.
    pub error: Option<String>,
}

impl Answer {
    fn not_sent(why: &str) -> Answer {
        Answer {
            status: 0,
            body: String::new(),
            verbs: Vec::new(),
            content_type: None,
            error: Some(why.to_owned()),
        }
    }

    fn read(status: u16, content_type: Option<String>, body: String, twiml: bool) -> Answer {
        let mut answer = Answer {
            status,
            body,
            verbs: Vec::new(),
            content_type,
            error: None,
        };
        if !(200..300).contains(&status) {
            answer.error = Some(format!("HTTP {status}: {}", answer.body));
            return answer;
        }
        if !twiml {
            return answer;
        }
        let mime = answer
            .content_type
            .as_deref()
            .and_then(|c| c.split(';').next())
            .map(|c| c.trim().to_ascii_lowercase())
            .unwrap_or_default();
        if !matches!(mime.as_str(), "text/xml" | "application/xml" | "text/html") {
            answer.error = Some(format!(
                "Content-Type {mime:?} is not TwiML (Twilio error 12300)"
            ));
            return answer;
        }
        match parse_twiml(&answer.body) {
            Ok(verbs) => answer.verbs = verbs,
            Err(e) => answer.error = Some(format!("invalid TwiML (Twilio error 12100): {e}")),
        }
        answer
    }

    /// Asserts the answer is usable TwiML and returns its verbs.
    #[track_caller]
    pub fn twiml(&self) -> &[Verb] {
        assert!(
            self.error.is_none(),
            "unusable answer: {:?}; status {}, body: {}",
            self.error,
            self.status,
            self.body
        );
        &self.verbs
    }
}

/// A TwiML voice verb. URLs and attributes are as written in the TwiML ("" when absent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verb {
    /// `language` is `en-US` when absent, as Twilio reads it.
    Say {
        language: String,
        voice: Option<String>,
        text: String,
    },
    Play {
        url: String,
    },
    /// `length`, 1 when absent.
    Pause {
        seconds: u32,
    },
    Gather {
        action: String,
        num_digits: Option<u32>,
        timeout: Option<u32>,
        language: Option<String>,
        prompt: Vec<Verb>,
    },
    Record {
        action: String,
        recording_status_callback: Option<String>,
        max_length: Option<u32>,
    },
    Redirect {
        url: String,
    },
    Hangup,
    /// A Twilio verb the fake does not play (`Dial`, `Reject`, `Enqueue`…), by name.
    Other(String),
}

/// Where [`Call::run`] stopped. URLs are absolute (resolved against the document's URL).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reached {
    /// Waiting for [`Call::press`] or [`Call::stay_silent`].
    Gather {
        action: String,
        num_digits: Option<u32>,
        timeout: Option<u32>,
        language: Option<String>,
        prompt: Vec<Verb>,
    },
    /// Waiting for [`Call::record`].
    Record {
        action: String,
        callback: Option<String>,
        max_length: Option<u32>,
    },
    /// A `<Hangup/>` ended the call.
    Hangup,
    /// No verbs were left: Twilio hangs up.
    End,
    /// The caller hung up ([`Call::record`] ends that way, or [`Call::hang_up`]); TwiML
    /// answered afterwards is not run.
    CallerHungUp,
    /// A verb the fake does not play (by name); `run` again goes on after it.
    Other(String),
    /// An answer Twilio could not run ("An application error has occurred"): the call ends.
    Failed(Answer),
}

/// One request the fake sent for a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    pub url: String,
    pub params: Vec<(String, String)>,
    pub status: u16,
}

impl Sent {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Clone, Debug)]
enum Waiting {
    Gather {
        action: String,
        num_digits: Option<u32>,
        reached: Reached,
    },
    Record {
        action: String,
        callback: Option<String>,
        max_length: Option<u32>,
        reached: Reached,
    },
}

/// One inbound call, driven step by step by the test.
pub struct Call {
    client: reqwest::Client,
    shared: Arc<Mutex<Shared>>,
    media_base: String,
    account_sid: String,
    auth_token: String,
    call_sid: String,
    from: String,
    to: String,
    voice_url: String,
    status_url: Option<String>,
    /// Parameters added to (or replacing) the standard ones on every request.
    extra: Vec<(String, String)>,
    rung: bool,
    /// The URL of the TwiML being run (relative URLs resolve against it).
    doc_url: String,
    verbs: Vec<Verb>,
    next: usize,
    waiting: Option<Waiting>,
    /// Set once the call is over; `run` returns it again.
    over: Option<Reached>,
    said: Vec<(String, String)>,
    played: Vec<String>,
    recordings: Vec<String>,
    tamper: Mutex<Option<Tamper>>,
    sent: Mutex<Vec<Sent>>,
}

impl Call {
    /// `CA` + 32 hex digits.
    pub fn sid(&self) -> &str {
        &self.call_sid
    }

    /// Adds a parameter to every request (`CallerName`, `FromCity`…), or replaces a standard one.
    pub fn with_param(mut self, name: &str, value: &str) -> Call {
        self.extra.retain(|(k, _)| k != name);
        self.extra.push((name.to_owned(), value.to_owned()));
        self
    }

    /// POSTs the Voice URL (`CallStatus=ringing`), stores the TwiML answer; returns the HTTP
    /// status and parsed verbs. Ringing again starts the call over (Twilio's retry).
    pub async fn ring(&mut self) -> Answer {
        self.rung = true;
        self.waiting = None;
        self.over = None;
        self.verbs.clear();
        self.next = 0;
        let url = self.voice_url.clone();
        let answer = self.send(&url, self.standard("ringing"), true).await;
        self.load(&url, &answer);
        answer
    }

    /// Runs the current TwiML like Twilio: Say/Play/Pause are noted, Gather waits for
    /// [`Call::press`], Record waits for [`Call::record`], Redirect is followed, Hangup ends.
    /// Returns what it reached (again, when called while waiting or after the call ended).
    pub async fn run(&mut self) -> Reached {
        assert!(self.rung, "ring() the call before run()");
        let mut redirects = 0;
        loop {
            if let Some(over) = &self.over {
                return over.clone();
            }
            match &self.waiting {
                Some(Waiting::Gather { reached, .. } | Waiting::Record { reached, .. }) => {
                    return reached.clone();
                }
                None => {}
            }
            let Some(verb) = self.verbs.get(self.next).cloned() else {
                self.over = Some(Reached::End);
                continue;
            };
            self.next += 1;
            match verb {
                Verb::Say { .. } | Verb::Play { .. } | Verb::Pause { .. } => self.note(&verb),
                Verb::Gather {
                    action,
                    num_digits,
                    timeout,
                    language,
                    prompt,
                } => {
                    for v in &prompt {
                        self.note(v);
                    }
                    let action = self.resolve(&action);
                    let reached = Reached::Gather {
                        action: action.clone(),
                        num_digits,
                        timeout,
                        language,
                        prompt,
                    };
                    self.waiting = Some(Waiting::Gather {
                        action,
                        num_digits,
                        reached,
                    });
                }
                Verb::Record {
                    action,
                    recording_status_callback,
                    max_length,
                } => {
                    let action = self.resolve(&action);
                    let callback = recording_status_callback.map(|c| self.resolve(&c));
                    let reached = Reached::Record {
                        action: action.clone(),
                        callback: callback.clone(),
                        max_length,
                    };
                    self.waiting = Some(Waiting::Record {
                        action,
                        callback,
                        max_length,
                        reached,
                    });
                }
                Verb::Redirect { url } => {
                    redirects += 1;
                    if redirects > MAX_REDIRECTS {
                        let mut failed = Answer::not_sent("too many <Redirect>s in a row");
                        failed.body = url;
                        self.over = Some(Reached::Failed(failed));
                        continue;
                    }
                    let url = self.resolve(&url);
                    let answer = self.send(&url, self.standard("in-progress"), true).await;
                    self.load(&url, &answer);
                }
                Verb::Hangup => self.over = Some(Reached::Hangup),
                Verb::Other(name) => return Reached::Other(name),
            }
        }
    }

    /// Answers the Gather reached with these keys (POST its action with `Digits`, cut to
    /// `numDigits`) and stores the new TwiML.
    pub async fn press(&mut self, digits: &str) -> Answer {
        let Some(Waiting::Gather {
            action, num_digits, ..
        }) = self.waiting.clone()
        else {
            panic!(
                "press() while not at a <Gather> (waiting: {:?})",
                self.waiting
            );
        };
        self.waiting = None;
        let digits: String = match num_digits {
            Some(n) => digits.chars().take(n as usize).collect(),
            None => digits.to_owned(),
        };
        let mut params = self.standard("in-progress");
        params.push(("Digits".into(), digits));
        let answer = self.send(&action, params, true).await;
        self.load(&action, &answer);
        answer
    }

    /// Lets the Gather reached time out: execution falls through to the next verb.
    pub async fn stay_silent(&mut self) -> Reached {
        assert!(
            matches!(self.waiting, Some(Waiting::Gather { .. })),
            "stay_silent() while not at a <Gather> (waiting: {:?})",
            self.waiting
        );
        self.waiting = None;
        self.run().await
    }

    /// Finishes the Record reached by hanging up after `seconds` (capped at `maxLength`): POSTs
    /// its action (`RecordingUrl`, `RecordingDuration`, `RecordingSid`, `Digits=hangup`), then
    /// the recording status callback. Returns both answers (the second has status 0 when the
    /// `<Record>` has no `recordingStatusCallback`). The call is over: TwiML answered to the
    /// action is not run, as with Twilio.
    pub async fn record(&mut self, seconds: u32) -> (Answer, Answer) {
        self.record_with(seconds, "hangup").await
    }

    /// [`Call::record`], finished by `finished_by`: `hangup`, or a key the caller pressed (the
    /// call goes on with the action's TwiML).
    pub async fn record_with(&mut self, seconds: u32, finished_by: &str) -> (Answer, Answer) {
        let Some(Waiting::Record {
            action,
            callback,
            max_length,
            ..
        }) = self.waiting.clone()
        else {
            panic!(
                "record() while not at a <Record> (waiting: {:?})",
                self.waiting
            );
        };
        self.waiting = None;
        let duration = seconds.min(max_length.unwrap_or(DEFAULT_MAX_LENGTH));
        let recording_sid = new_sid("RE");
        let recording_url = format!(
            "{}/{API_VERSION}/Accounts/{}/Recordings/{recording_sid}",
            self.media_base, self.account_sid
        );
        self.shared
            .lock()
            .unwrap()
            .recordings
            .insert(recording_sid.clone(), duration);
        self.recordings.push(recording_url.clone());
        let hung_up = finished_by == "hangup";
        let mut params = self.standard(if hung_up { "completed" } else { "in-progress" });
        params.extend([
            ("RecordingUrl".to_owned(), recording_url.clone()),
            ("RecordingDuration".to_owned(), duration.to_string()),
            ("RecordingSid".to_owned(), recording_sid.clone()),
            ("Digits".to_owned(), finished_by.to_owned()),
        ]);
        let action_answer = self.send(&action, params, true).await;
        if hung_up {
            self.over = Some(Reached::CallerHungUp);
        } else {
            self.load(&action, &action_answer);
        }
        let callback_answer = match callback {
            Some(url) => {
                let started = SystemTime::now() - Duration::from_secs(u64::from(duration));
                let params = vec![
                    ("AccountSid".to_owned(), self.account_sid.clone()),
                    ("CallSid".to_owned(), self.call_sid.clone()),
                    ("RecordingSid".to_owned(), recording_sid),
                    ("RecordingUrl".to_owned(), recording_url),
                    ("RecordingStatus".to_owned(), "completed".to_owned()),
                    ("RecordingDuration".to_owned(), duration.to_string()),
                    ("RecordingChannels".to_owned(), "1".to_owned()),
                    ("RecordingStartTime".to_owned(), rfc2822(started)),
                    ("RecordingSource".to_owned(), "RecordVerb".to_owned()),
                ];
                self.send(&url, params, false).await
            }
            None => Answer::not_sent("the <Record> has no recordingStatusCallback"),
        };
        (action_answer, callback_answer)
    }

    /// The caller hangs up now (during a Gather, say): nothing is sent, the call is over.
    pub fn hang_up(&mut self) {
        self.waiting = None;
        self.over = Some(Reached::CallerHungUp);
    }

    /// A status callback to the number's status URL. `SequenceNumber` is given explicitly so
    /// tests can send them out of order or twice; `duration` is `CallDuration` (for
    /// `completed`).
    pub async fn status(&self, status: &str, sequence: u32, duration: Option<u32>) -> Answer {
        let url = self
            .status_url
            .clone()
            .expect("status() on a call made without a status callback URL");
        let mut params = self.standard(status);
        params.extend([
            (
                "CallbackSource".to_owned(),
                "call-progress-events".to_owned(),
            ),
            ("SequenceNumber".to_owned(), sequence.to_string()),
            ("Timestamp".to_owned(), rfc2822(SystemTime::now())),
        ]);
        if let Some(d) = duration {
            params.push(("CallDuration".to_owned(), d.to_string()));
        }
        self.send(&url, params, false).await
    }

    /// Everything said to the caller so far: (language, text).
    pub fn said(&self) -> Vec<(String, String)> {
        self.said.clone()
    }

    /// The URLs `<Play>`ed to the caller so far.
    pub fn played(&self) -> Vec<String> {
        self.played.clone()
    }

    /// The `RecordingUrl`s of this call's recordings (without extension).
    pub fn recordings(&self) -> Vec<String> {
        self.recordings.clone()
    }

    /// Every request sent for this call, with the status it got.
    pub fn sent(&self) -> Vec<Sent> {
        self.sent.lock().unwrap().clone()
    }

    /// Sends the next request (of any kind) with a wrong signature or none.
    pub fn tamper_next(&mut self, how: Tamper) {
        *self.tamper.lock().unwrap() = Some(how);
    }

    /// The parameters Twilio sends on every request of the call.
    fn standard(&self, call_status: &str) -> Vec<(String, String)> {
        let mut params: Vec<(String, String)> = [
            ("CallSid", self.call_sid.as_str()),
            ("AccountSid", self.account_sid.as_str()),
            ("From", self.from.as_str()),
            ("To", self.to.as_str()),
            ("CallStatus", call_status),
            ("Direction", "inbound"),
            ("ApiVersion", API_VERSION),
            ("Caller", self.from.as_str()),
            ("Called", self.to.as_str()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        if let Some(c) = country(&self.from) {
            params.push(("FromCountry".into(), c.into()));
            params.push(("CallerCountry".into(), c.into()));
        }
        if let Some(c) = country(&self.to) {
            params.push(("ToCountry".into(), c.into()));
            params.push(("CalledCountry".into(), c.into()));
        }
        for (k, v) in &self.extra {
            params.retain(|(name, _)| name != k);
            params.push((k.clone(), v.clone()));
        }
        params
    }

    fn note(&mut self, verb: &Verb) {
        match verb {
            Verb::Say { language, text, .. } => self.said.push((language.clone(), text.clone())),
            Verb::Play { url } => self.played.push(url.clone()),
            _ => {}
        }
    }

    /// Stores `answer`'s TwiML as the document being run, or ends the call when Twilio could
    /// not use it.
    fn load(&mut self, url: &str, answer: &Answer) {
        if answer.error.is_some() {
            self.over = Some(Reached::Failed(answer.clone()));
            return;
        }
        self.doc_url = url.to_owned();
        self.verbs = answer.verbs.clone();
        self.next = 0;
    }

    fn resolve(&self, reference: &str) -> String {
        resolve(&self.doc_url, reference)
    }

    async fn send(&self, url: &str, params: Vec<(String, String)>, twiml: bool) -> Answer {
        let tamper = self.tamper.lock().unwrap().take();
        let mut req = self
            .client
            .post(url)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::USER_AGENT, "TwilioProxy/1.1")
            .header(
                "I-Twilio-Idempotency-Token",
                uuid::Uuid::new_v4().to_string(),
            )
            .body(serde_html_form::to_string(&params).unwrap());
        match tamper {
            None => {
                let sig = independent_signature(&self.auth_token, url, &params);
                req = req.header("X-Twilio-Signature", sig);
            }
            Some(Tamper::WrongSignature) => {
                let wrong = format!("{}-not", self.auth_token);
                let sig = independent_signature(&wrong, url, &params);
                req = req.header("X-Twilio-Signature", sig);
            }
            Some(Tamper::NoSignature) => {}
        }
        let answer = match req.send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let content_type = resp
                    .headers()
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let body = resp.text().await.unwrap_or_default();
                Answer::read(status, content_type, body, twiml)
            }
            Err(e) => Answer::not_sent(&format!("no answer: {e}")),
        };
        self.sent.lock().unwrap().push(Sent {
            url: url.to_owned(),
            params,
            status: answer.status,
        });
        answer
    }
}

/// `reference` resolved against `base` (an absent or empty URL is the document itself).
fn resolve(base: &str, reference: &str) -> String {
    let reference = reference.trim();
    if reference.is_empty() {
        return base.to_owned();
    }
    match reqwest::Url::parse(base).and_then(|b| b.join(reference)) {
        Ok(u) => u.to_string(),
        Err(_) => reference.to_owned(),
    }
}

/// `prefix` + 32 lower-case hex digits, like Twilio's SIDs.
fn new_sid(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

/// The ISO country of a few E.164 prefixes (Twilio sends `FromCountry`/`ToCountry`).
fn country(number: &str) -> Option<&'static str> {
    const PREFIXES: &[(&str, &str)] = &[
        ("+351", "PT"),
        ("+1", "US"),
        ("+33", "FR"),
        ("+34", "ES"),
        ("+44", "GB"),
        ("+48", "PL"),
        ("+49", "DE"),
        ("+55", "BR"),
    ];
    PREFIXES
        .iter()
        .find(|(p, _)| number.starts_with(p))
        .map(|(_, c)| *c)
}

/// RFC 2822 date in UTC: `Tue, 06 May 2025 12:34:56 +0000`.
fn rfc2822(at: SystemTime) -> String {
    let secs = at
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {day:02} {} {year} {:02}:{:02}:{:02} +0000",
        WEEKDAYS[days.rem_euclid(7) as usize],
        MONTHS[(month - 1) as usize],
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

// --- Recordings -------------------------------------------------------------------------------

async fn serve_media(
    State(media): State<Media>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let path = uri.path().to_owned();
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let authorized = authorization
        .as_deref()
        .is_some_and(|a| basic_auth_ok(a, &media.account_sid, &media.auth_token));
    let mut s = media.shared.lock().unwrap();
    let prefix = format!("/{API_VERSION}/Accounts/{}/Recordings/", media.account_sid);
    let found = path
        .strip_prefix(&prefix)
        .map(|file| file.split_once('.').unwrap_or((file, "")))
        .filter(|(sid, _)| s.recordings.contains_key(*sid))
        .map(|(_, ext)| ext.to_owned());
    let response = if !authorized {
        let mut r = twilio_error(401, 20003, "Authenticate");
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"Twilio API\""),
        );
        r
    } else if let Some(status) = s.fail {
        twilio_error(status, 20500, "An internal server error has occurred")
    } else {
        match (
            method == Method::GET || method == Method::HEAD,
            found.as_deref(),
        ) {
            (true, Some("mp3")) => {
                ([(header::CONTENT_TYPE, "audio/mpeg")], fake_mp3()).into_response()
            }
            (true, Some("wav" | "")) => {
                ([(header::CONTENT_TYPE, "audio/x-wav")], fake_wav()).into_response()
            }
            _ => twilio_error(
                404,
                20404,
                &format!("The requested resource {path} was not found"),
            ),
        }
    };
    s.downloads.push(Recorded {
        method: method.to_string(),
        path,
        authorization,
        authorized,
        status: response.status().as_u16(),
    });
    response
}

/// Twilio's JSON error body with `status`.
fn twilio_error(status: u16, code: u32, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = json!({"code": code, "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status.as_u16()});
    (status, axum::Json(body)).into_response()
}

fn basic_auth_ok(header_value: &str, user: &str, password: &str) -> bool {
    let Some((scheme, encoded)) = header_value.trim().split_once(' ') else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return false;
    }
    base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .is_ok_and(|decoded| decoded == format!("{user}:{password}").as_bytes())
}

/// An ID3v2.3 header followed by two silent MPEG-1 Layer III frames (128 kb/s, 44.1 kHz, mono).
fn fake_mp3() -> Vec<u8> {
    let mut out = b"ID3\x03\x00\x00\x00\x00\x00\x00".to_vec();
    for _ in 0..2 {
        let frame_start = out.len();
        out.extend_from_slice(&[0xFF, 0xFB, 0x90, 0xC4]);
        // 144 * 128000 / 44100 = 417 bytes a frame, header included.
        out.resize(frame_start + 417, 0);
    }
    out
}

/// A RIFF/WAVE file: 8 kHz, 16-bit mono PCM, 50 ms of silence (Twilio records 8 kHz mono).
fn fake_wav() -> Vec<u8> {
    let data_len: u32 = 800;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&8000u32.to_le_bytes());
    out.extend_from_slice(&16_000u32.to_le_bytes()); // byte rate
    out.extend_from_slice(&2u16.to_le_bytes()); // block align
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    out.resize(44 + data_len as usize, 0);
    out
}

// --- TwiML --------------------------------------------------------------------------------------

/// Twilio's voice verbs the fake knows but does not play: they become [`Verb::Other`].
const OTHER_VERBS: &[&str] = &[
    "Connect",
    "Conversation",
    "Dial",
    "Echo",
    "Enqueue",
    "Leave",
    "Pay",
    "Prompt",
    "Queue",
    "Refer",
    "Reject",
    "Sms",
    "Start",
    "Stop",
];

/// Reads a TwiML voice document: well-formed XML whose root is `<Response>`, holding known
/// verbs nested as Twilio allows. Anything else is an error.
/// Twilio's signature by the testkit's own implementation (`providers::twilio_signature`), not
/// the one Throughline verifies with, so a mistake in ours cannot pass unnoticed.
fn independent_signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let pairs: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    crate::providers::twilio_signature(auth_token, url, &pairs)
}

pub fn parse_twiml(xml: &str) -> Result<Vec<Verb>, String> {
    let root = parse_xml(xml)?;
    if root.name != "Response" {
        return Err(format!(
            "the root element is <{}>, not <Response>",
            root.name
        ));
    }
    let mut verbs = Vec::new();
    for node in &root.children {
        match node {
            Node::Text(t) if t.trim().is_empty() => {}
            Node::Text(t) => return Err(format!("text {:?} directly in <Response>", t.trim())),
            Node::Element(e) => verbs.push(verb(e, false)?),
        }
    }
    Ok(verbs)
}

fn verb(el: &Element, in_gather: bool) -> Result<Verb, String> {
    if let Some(m) = el.attr("method")
        && !m.eq_ignore_ascii_case("POST")
    {
        return Err(format!(
            "<{} method=\"{m}\">: the fake only sends POST",
            el.name
        ));
    }
    if in_gather && !matches!(el.name.as_str(), "Say" | "Play" | "Pause") {
        return Err(format!("<{}> cannot be nested in <Gather>", el.name));
    }
    let verb = match el.name.as_str() {
        "Say" => Verb::Say {
            language: el.attr("language").unwrap_or("en-US").to_owned(),
            voice: el.attr("voice").map(str::to_owned),
            text: el.text().trim().to_owned(),
        },
        "Play" => {
            el.no_child_elements()?;
            Verb::Play {
                url: el.text().trim().to_owned(),
            }
        }
        "Pause" => {
            el.no_content()?;
            Verb::Pause {
                seconds: el.number("length")?.unwrap_or(1),
            }
        }
        "Gather" => {
            let mut prompt = Vec::new();
            for node in &el.children {
                match node {
                    Node::Text(t) if t.trim().is_empty() => {}
                    Node::Text(t) => {
                        return Err(format!("text {:?} directly in <Gather>", t.trim()));
                    }
                    Node::Element(child) => prompt.push(verb(child, true)?),
                }
            }
            Verb::Gather {
                action: el.attr("action").unwrap_or_default().to_owned(),
                num_digits: el.number("numDigits")?,
                timeout: el.number("timeout")?,
                language: el.attr("language").map(str::to_owned),
                prompt,
            }
        }
        "Record" => {
            el.no_content()?;
            Verb::Record {
                action: el.attr("action").unwrap_or_default().to_owned(),
                recording_status_callback: el.attr("recordingStatusCallback").map(str::to_owned),
                max_length: el.number("maxLength")?,
            }
        }
        "Redirect" => {
            el.no_child_elements()?;
            let url = el.text().trim().to_owned();
            if url.is_empty() {
                return Err("<Redirect> without a URL".into());
            }
            Verb::Redirect { url }
        }
        "Hangup" => {
            el.no_content()?;
            Verb::Hangup
        }
        name if OTHER_VERBS.contains(&name) => Verb::Other(name.to_owned()),
        name => return Err(format!("<{name}> is not a TwiML voice verb")),
    };
    Ok(verb)
}

/// An XML element: name, attributes (in order), children.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Element {
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<Node>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Node {
    Element(Element),
    Text(String),
}

impl Element {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn number(&self, name: &str) -> Result<Option<u32>, String> {
        self.attr(name)
            .map(|v| {
                v.trim()
                    .parse::<u32>()
                    .map_err(|_| format!("<{} {name}=\"{v}\">: not a whole number", self.name))
            })
            .transpose()
    }

    /// The text of the element and its descendants (SSML inside `<Say>`).
    fn text(&self) -> String {
        let mut out = String::new();
        for node in &self.children {
            match node {
                Node::Text(t) => out.push_str(t),
                Node::Element(e) => out.push_str(&e.text()),
            }
        }
        out
    }

    fn no_child_elements(&self) -> Result<(), String> {
        match self.children.iter().find_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        }) {
            Some(child) => Err(format!("<{}> cannot hold <{}>", self.name, child.name)),
            None => Ok(()),
        }
    }

    fn no_content(&self) -> Result<(), String> {
        self.no_child_elements()?;
        if self.text().trim().is_empty() {
            Ok(())
        } else {
            Err(format!("<{}> cannot hold text", self.name))
        }
    }
}

/// How deep elements may nest before the parser gives up.
const MAX_DEPTH: usize = 64;

/// A strict parser for the XML TwiML uses: an optional declaration, comments, processing
/// instructions, elements with quoted attributes, text, CDATA, the five named entities and
/// character references. No DTD.
fn parse_xml(input: &str) -> Result<Element, String> {
    let mut p = XmlParser {
        s: input.strip_prefix('\u{feff}').unwrap_or(input),
        pos: 0,
    };
    p.document()
}

struct XmlParser<'a> {
    s: &'a str,
    pos: usize,
}

impl XmlParser<'_> {
    fn rest(&self) -> &str {
        &self.s[self.pos..]
    }

    fn err(&self, what: &str) -> String {
        let line = self.s[..self.pos].matches('\n').count() + 1;
        format!("{what} (line {line}, byte {})", self.pos)
    }

    fn eat(&mut self, lit: &str) -> bool {
        if self.rest().starts_with(lit) {
            self.pos += lit.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, lit: &str) -> Result<(), String> {
        if self.eat(lit) {
            Ok(())
        } else {
            Err(self.err(&format!("expected {lit:?}")))
        }
    }

    /// Skips XML white space; whether there was any.
    fn skip_ws(&mut self) -> bool {
        let start = self.pos;
        let rest = self.rest();
        let trimmed = rest.trim_start_matches([' ', '\t', '\r', '\n']);
        self.pos += rest.len() - trimmed.len();
        self.pos > start
    }

    /// Moves past `end`, returning what came before it.
    fn until(&mut self, end: &str, what: &str) -> Result<&str, String> {
        let Some(i) = self.rest().find(end) else {
            return Err(self.err(&format!("unterminated {what}")));
        };
        let start = self.pos;
        self.pos += i + end.len();
        Ok(&self.s[start..start + i])
    }

    fn document(&mut self) -> Result<Element, String> {
        if self.rest().starts_with("<?xml")
            && self.rest()[5..].starts_with([' ', '\t', '\r', '\n', '?'])
        {
            self.pos += 5;
            let decl = self.until("?>", "XML declaration")?;
            if !decl.contains("version") {
                return Err(self.err("the XML declaration has no version"));
            }
        }
        self.misc()?;
        if self.rest().starts_with("<!DOCTYPE") {
            return Err(self.err("a DOCTYPE is not allowed"));
        }
        if !self.rest().starts_with('<') {
            return Err(self.err(if self.rest().is_empty() {
                "no root element"
            } else {
                "text before the root element"
            }));
        }
        let root = self.element(0)?;
        self.misc()?;
        if !self.rest().is_empty() {
            return Err(self.err("content after the root element"));
        }
        Ok(root)
    }

    /// White space, comments and processing instructions outside the root element.
    fn misc(&mut self) -> Result<(), String> {
        loop {
            self.skip_ws();
            if self.rest().starts_with("<!--") {
                self.comment()?;
            } else if self.rest().starts_with("<?") {
                self.pi()?;
            } else {
                return Ok(());
            }
        }
    }

    fn comment(&mut self) -> Result<(), String> {
        self.expect("<!--")?;
        let body = self.until("-->", "comment")?;
        if body.contains("--") || body.ends_with('-') {
            return Err(self.err("\"--\" inside a comment"));
        }
        Ok(())
    }

    fn pi(&mut self) -> Result<(), String> {
        self.expect("<?")?;
        let target = self.name()?;
        if target.eq_ignore_ascii_case("xml") {
            return Err(self.err("the XML declaration is only allowed at the very start"));
        }
        self.until("?>", "processing instruction")?;
        Ok(())
    }

    fn name(&mut self) -> Result<String, String> {
        let rest = self.rest();
        let mut end = 0;
        for (i, c) in rest.char_indices() {
            let ok = if i == 0 {
                c.is_alphabetic() || c == '_' || c == ':'
            } else {
                c.is_alphanumeric() || matches!(c, '_' | ':' | '-' | '.')
            };
            if !ok {
                break;
            }
            end = i + c.len_utf8();
        }
        if end == 0 {
            return Err(self.err("expected a name"));
        }
        let name = rest[..end].to_owned();
        self.pos += end;
        Ok(name)
    }

    fn element(&mut self, depth: usize) -> Result<Element, String> {
        if depth > MAX_DEPTH {
            return Err(self.err("elements nested too deep"));
        }
        self.expect("<")?;
        let name = self.name()?;
        let mut el = Element {
            name,
            attrs: Vec::new(),
            children: Vec::new(),
        };
        loop {
            let spaced = self.skip_ws();
            if self.eat("/>") {
                return Ok(el);
            }
            if self.eat(">") {
                break;
            }
            if self.rest().is_empty() {
                return Err(self.err(&format!("unterminated <{}> tag", el.name)));
            }
            if !spaced {
                return Err(self.err(&format!("expected white space in <{}>", el.name)));
            }
            let attr = self.name()?;
            self.skip_ws();
            self.expect("=")?;
            self.skip_ws();
            let quote = match self.rest().chars().next() {
                Some(q @ ('"' | '\'')) => q,
                _ => return Err(self.err(&format!("the value of {attr} is not quoted"))),
            };
            self.pos += 1;
            let raw = self.until(&quote.to_string(), "attribute value")?;
            if raw.contains('<') {
                return Err(self.err(&format!("'<' in the value of {attr}")));
            }
            // Attribute-value normalisation: each white-space character becomes a space.
            let value = unescape(raw)
                .map_err(|e| self.err(&e))?
                .replace(['\t', '\n', '\r'], " ");
            if el.attrs.iter().any(|(k, _)| *k == attr) {
                return Err(self.err(&format!("duplicate attribute {attr}")));
            }
            el.attrs.push((attr, value));
        }
        loop {
            if self.rest().starts_with("</") {
                self.pos += 2;
                let end = self.name()?;
                self.skip_ws();
                self.expect(">")?;
                if end != el.name {
                    return Err(self.err(&format!("</{end}> closes <{}>", el.name)));
                }
                return Ok(el);
            } else if self.rest().starts_with("<!--") {
                self.comment()?;
            } else if self.eat("<![CDATA[") {
                let text = self.until("]]>", "CDATA section")?.to_owned();
                push_text(&mut el.children, &text);
            } else if self.rest().starts_with("<?") {
                self.pi()?;
            } else if self.rest().starts_with("<!") {
                return Err(self.err("unexpected markup declaration"));
            } else if self.rest().starts_with('<') {
                let child = self.element(depth + 1)?;
                el.children.push(Node::Element(child));
            } else if self.rest().is_empty() {
                return Err(self.err(&format!("<{}> is never closed", el.name)));
            } else {
                let end = self.rest().find('<').unwrap_or(self.rest().len());
                let raw = &self.rest()[..end];
                if raw.contains("]]>") {
                    return Err(self.err("\"]]>\" in text"));
                }
                let text = unescape(raw).map_err(|e| self.err(&e))?;
                self.pos += end;
                push_text(&mut el.children, &text);
            }
        }
    }
}

fn push_text(children: &mut Vec<Node>, text: &str) {
    if let Some(Node::Text(last)) = children.last_mut() {
        last.push_str(text);
    } else {
        children.push(Node::Text(text.to_owned()));
    }
}

/// Replaces the five named entities and character references; any other `&` is an error.
fn unescape(raw: &str) -> Result<String, String> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i + 1..];
        let Some(end) = rest.find(';').filter(|&e| e <= 10) else {
            return Err("a bare '&' (write &amp;)".into());
        };
        let entity = &rest[..end];
        let c = match entity {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = if let Some(hex) = entity.strip_prefix("#x") {
                    u32::from_str_radix(hex, 16).ok()
                } else if let Some(dec) = entity.strip_prefix('#') {
                    dec.parse::<u32>().ok()
                } else {
                    None
                };
                code.filter(|&c| c != 0)
                    .and_then(char::from_u32)
                    .ok_or_else(|| format!("unknown entity &{entity};"))?
            }
        };
        out.push(c);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Bytes;

    const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
    const TOKEN: &str = "test-auth-token";

    /// One request the test app got: path and query, form, whether the signature matched.
    type Got = (String, Vec<(String, String)>, bool);

    #[derive(Clone)]
    struct App {
        base: String,
        got: Arc<Mutex<Vec<Got>>>,
    }

    /// A tiny voice app answering fixed TwiML and checking each request's signature.
    async fn voice_app() -> App {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let app = App {
            base: format!("http://{}", listener.local_addr().unwrap()),
            got: Arc::default(),
        };
        let router = Router::new().fallback(answer).with_state(app.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        app
    }

    async fn answer(State(app): State<App>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
        let params: Vec<(String, String)> = serde_html_form::from_bytes(&body).unwrap();
        let url = format!("{}{uri}", app.base);
        let expected = independent_signature(TOKEN, &url, &params);
        let signed = headers
            .get("x-twilio-signature")
            .and_then(|v| v.to_str().ok())
            == Some(expected.as_str());
        app.got
            .lock()
            .unwrap()
            .push((uri.to_string(), params, signed));
        if !signed {
            return (StatusCode::FORBIDDEN, "bad signature").into_response();
        }
        let xml = |body: &str| {
            (
                [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
                format!(r#"<?xml version="1.0" encoding="UTF-8"?>{body}"#),
            )
                .into_response()
        };
        match uri.path() {
            "/voice" => xml(concat!(
                r#"<Response><Say language="pt-BR" voice="Polly.Camila">Olá &amp; bem-vindo</Say>"#,
                r#"<Pause length="1"/><Gather action="menu?step=1" numDigits="1" timeout="5">"#,
                r#"<Say>Press 1 to leave a message</Say><Play>https://cdn.test/beep.mp3</Play>"#,
                r#"</Gather><Say>We did not get that</Say><Redirect>/voice/again</Redirect>"#,
                "</Response>"
            )),
            "/menu" => xml(concat!(
                "<Response>\n  <Say>Speak after the tone</Say>\n",
                r#"  <Record action="/recorded" recordingStatusCallback="recording-status" maxLength="60"/>"#,
                "\n  <Say>not reached</Say>\n</Response>"
            )),
            "/voice/again" => xml("<Response><Say>Goodbye</Say><Hangup/><Say>no</Say></Response>"),
            "/recorded" => xml("<Response><Say>never heard: the caller hung up</Say></Response>"),
            "/recording-status" => StatusCode::NO_CONTENT.into_response(),
            "/status" => StatusCode::OK.into_response(),
            "/broken" => xml("<Response><Say>unclosed</Response>"),
            "/plain" => "hello".into_response(),
            _ => StatusCode::NOT_FOUND.into_response(),
        }
    }

    fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn is_sid(s: &str, prefix: &str) -> bool {
        s.len() == 34 && s.starts_with(prefix) && s[2..].chars().all(|c| c.is_ascii_hexdigit())
    }

    /// Rings /voice, presses 1 and reaches the Record.
    async fn to_record(fake: &FakeTwilioVoice, app: &App) -> Call {
        let mut call = fake.call(
            &format!("{}/voice", app.base),
            Some(&format!("{}/status", app.base)),
            "+5511987654321",
            "+15550001111",
        );
        assert_eq!(call.ring().await.status, 200);
        assert!(matches!(call.run().await, Reached::Gather { .. }));
        call.press("1").await.twiml();
        assert!(matches!(call.run().await, Reached::Record { .. }));
        call
    }

    #[tokio::test]
    async fn gather_record_and_status_signed_like_twilio() {
        let fake = FakeTwilioVoice::start(ACCOUNT, TOKEN).await;
        let app = voice_app().await;
        let base = &app.base;
        let mut call = fake.call(
            &format!("{base}/voice"),
            Some(&format!("{base}/status")),
            "+5511987654321",
            "+15550001111",
        );
        assert!(is_sid(call.sid(), "CA"), "{}", call.sid());

        let rung = call.ring().await;
        assert_eq!(rung.status, 200);
        assert_eq!(
            rung.twiml()[0],
            Verb::Say {
                language: "pt-BR".into(),
                voice: Some("Polly.Camila".into()),
                text: "Olá & bem-vindo".into()
            }
        );
        let reached = call.run().await;
        let Reached::Gather {
            action,
            num_digits,
            timeout,
            prompt,
            ..
        } = &reached
        else {
            panic!("{reached:?}");
        };
        // The relative action resolves against the Voice URL.
        assert_eq!(action, &format!("{base}/menu?step=1"));
        assert_eq!((*num_digits, *timeout), (Some(1), Some(5)));
        assert_eq!(prompt.len(), 2);
        assert_eq!(
            call.run().await,
            reached,
            "run() again waits at the same Gather"
        );
        assert_eq!(
            call.said(),
            vec![
                ("pt-BR".into(), "Olá & bem-vindo".into()),
                ("en-US".into(), "Press 1 to leave a message".into())
            ]
        );
        assert_eq!(call.played(), vec!["https://cdn.test/beep.mp3".to_owned()]);

        // numDigits=1: only the first key is taken.
        let pressed = call.press("12").await;
        assert!(matches!(pressed.twiml()[1], Verb::Record { .. }));
        assert_eq!(
            call.run().await,
            Reached::Record {
                action: format!("{base}/recorded"),
                callback: Some(format!("{base}/recording-status")),
                max_length: Some(60),
            }
        );
        let (action_answer, callback_answer) = call.record(75).await;
        assert_eq!((action_answer.status, callback_answer.status), (200, 204));
        assert_eq!(callback_answer.error, None);
        // The caller hung up: the action's TwiML is not run.
        assert_eq!(call.run().await, Reached::CallerHungUp);
        assert!(!call.said().iter().any(|(_, t)| t.contains("never heard")));

        assert_eq!(call.status("completed", 3, Some(42)).await.status, 200);
        assert_eq!(call.status("completed", 3, Some(42)).await.status, 200);

        let got = app.got.lock().unwrap().clone();
        let paths: Vec<&str> = got.iter().map(|(p, _, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/voice",
                "/menu?step=1",
                "/recorded",
                "/recording-status",
                "/status",
                "/status"
            ]
        );
        assert!(got.iter().all(|(_, _, signed)| *signed), "{got:?}");
        for (path, params, _) in &got {
            assert_eq!(param(params, "CallSid"), Some(call.sid()), "{path}");
            assert_eq!(param(params, "AccountSid"), Some(ACCOUNT), "{path}");
        }
        let (_, ring, _) = &got[0];
        for (name, value) in [
            ("From", "+5511987654321"),
            ("To", "+15550001111"),
            ("Caller", "+5511987654321"),
            ("Called", "+15550001111"),
            ("CallStatus", "ringing"),
            ("Direction", "inbound"),
            ("ApiVersion", "2010-04-01"),
            ("FromCountry", "BR"),
            ("ToCountry", "US"),
        ] {
            assert_eq!(param(ring, name), Some(value), "{name}");
        }
        let (_, press, _) = &got[1];
        assert_eq!(param(press, "Digits"), Some("1"));
        assert_eq!(param(press, "CallStatus"), Some("in-progress"));

        let (_, recorded, _) = &got[2];
        let url = param(recorded, "RecordingUrl").unwrap();
        let sid = param(recorded, "RecordingSid").unwrap();
        assert!(is_sid(sid, "RE"), "{sid}");
        assert_eq!(
            url,
            format!(
                "{}/2010-04-01/Accounts/{ACCOUNT}/Recordings/{sid}",
                fake.media_base()
            )
        );
        assert_eq!(call.recordings(), vec![url.to_owned()]);
        // Capped at maxLength.
        assert_eq!(param(recorded, "RecordingDuration"), Some("60"));
        assert_eq!(param(recorded, "Digits"), Some("hangup"));

        let (_, callback, _) = &got[3];
        for (name, value) in [
            ("RecordingSid", sid),
            ("RecordingUrl", url),
            ("RecordingStatus", "completed"),
            ("RecordingDuration", "60"),
            ("RecordingChannels", "1"),
            ("RecordingSource", "RecordVerb"),
        ] {
            assert_eq!(param(callback, name), Some(value), "{name}");
        }

        let (_, status, _) = &got[4];
        assert_eq!(param(status, "CallStatus"), Some("completed"));
        assert_eq!(
            param(status, "CallbackSource"),
            Some("call-progress-events")
        );
        assert_eq!(param(status, "SequenceNumber"), Some("3"));
        assert_eq!(param(status, "CallDuration"), Some("42"));
        let ts = param(status, "Timestamp").unwrap();
        assert!(ts.ends_with(" +0000") && ts.len() == 31, "{ts}");
        assert_eq!(call.sent().len(), 6);
    }

    #[tokio::test]
    async fn silence_falls_through_to_the_next_verb() {
        let fake = FakeTwilioVoice::start(ACCOUNT, TOKEN).await;
        let app = voice_app().await;
        let mut call = fake.call(
            &format!("{}/voice", app.base),
            None,
            "anonymous",
            "+48221234567",
        );
        call.ring().await.twiml();
        assert!(matches!(call.run().await, Reached::Gather { .. }));
        assert_eq!(call.stay_silent().await, Reached::Hangup);
        let said: Vec<String> = call.said().into_iter().map(|(_, t)| t).collect();
        assert_eq!(
            said,
            [
                "Olá & bem-vindo",
                "Press 1 to leave a message",
                "We did not get that",
                "Goodbye"
            ]
        );
        let got = app.got.lock().unwrap().clone();
        assert_eq!(got[1].0, "/voice/again");
        assert_eq!(param(&got[1].1, "CallStatus"), Some("in-progress"));
        assert_eq!(param(&got[1].1, "Digits"), None);
        assert_eq!(param(&got[0].1, "From"), Some("anonymous"));
        assert_eq!(param(&got[0].1, "FromCountry"), None);
        assert_eq!(param(&got[0].1, "ToCountry"), Some("PL"));
        assert_eq!(call.run().await, Reached::Hangup);
    }

    #[tokio::test]
    async fn recording_downloads_need_basic_auth_and_can_fail() {
        let fake = FakeTwilioVoice::start(ACCOUNT, TOKEN).await;
        let app = voice_app().await;
        let mut call = to_record(&fake, &app).await;
        let (answer, _) = call.record_with(7, "#").await;
        assert_eq!(answer.status, 200);
        // Finished with a key: the action's TwiML goes on.
        assert_eq!(call.run().await, Reached::End);
        assert_eq!(
            call.said().last().unwrap().1,
            "never heard: the caller hung up"
        );
        let got = app.got.lock().unwrap().clone();
        assert_eq!(param(&got[2].1, "Digits"), Some("#"));
        assert_eq!(param(&got[2].1, "CallStatus"), Some("in-progress"));

        let url = call.recordings()[0].clone();
        let client = reqwest::Client::new();
        let get = |path: String, auth: Option<(&str, &str)>| {
            let mut req = client.get(path);
            if let Some((u, p)) = auth {
                req = req.basic_auth(u, Some(p));
            }
            async move {
                let resp = req.send().await.unwrap();
                let status = resp.status().as_u16();
                let ct = resp
                    .headers()
                    .get(header::CONTENT_TYPE)
                    .map(|v| v.to_str().unwrap().to_owned());
                (status, ct, resp.bytes().await.unwrap().to_vec())
            }
        };
        let ok = Some((ACCOUNT, TOKEN));
        let (status, ct, mp3) = get(format!("{url}.mp3"), ok).await;
        assert_eq!((status, ct.as_deref()), (200, Some("audio/mpeg")));
        assert!(mp3.starts_with(b"ID3") && mp3.len() > 300 && mp3[10..12] == [0xFF, 0xFB]);
        let (status, _, wav) = get(format!("{url}.wav"), ok).await;
        assert_eq!(status, 200);
        assert!(wav.starts_with(b"RIFF") && &wav[8..12] == b"WAVE");
        assert_eq!(get(format!("{url}.mp3"), None).await.0, 401);
        assert_eq!(
            get(format!("{url}.mp3"), Some((ACCOUNT, "wrong"))).await.0,
            401
        );
        let unknown = format!(
            "{}/2010-04-01/Accounts/{ACCOUNT}/Recordings/RE{}.mp3",
            fake.media_base(),
            "0".repeat(32)
        );
        assert_eq!(get(unknown, ok).await.0, 404);
        fake.set_recordings_fail(Some(500));
        assert_eq!(get(format!("{url}.mp3"), ok).await.0, 500);
        fake.set_recordings_fail(Some(404));
        assert_eq!(get(format!("{url}.mp3"), ok).await.0, 404);
        fake.set_recordings_fail(None);
        assert_eq!(get(format!("{url}.mp3"), ok).await.0, 200);

        let downloads = fake.downloads();
        let seen: Vec<(bool, u16)> = downloads.iter().map(|d| (d.authorized, d.status)).collect();
        assert_eq!(
            seen,
            [
                (true, 200),
                (true, 200),
                (false, 401),
                (false, 401),
                (true, 404),
                (true, 500),
                (true, 404),
                (true, 200)
            ]
        );
        assert!(downloads[0].path.ends_with(".mp3"));
        assert!(
            downloads[0]
                .authorization
                .as_deref()
                .unwrap()
                .starts_with("Basic ")
        );
    }

    #[tokio::test]
    async fn unusable_answers_and_refusals_are_visible() {
        let fake = FakeTwilioVoice::start(ACCOUNT, TOKEN).await;
        let app = voice_app().await;
        let to = "+15550001111";

        let mut broken = fake.call(&format!("{}/broken", app.base), None, "+15551230000", to);
        let answer = broken.ring().await;
        assert_eq!(answer.status, 200);
        assert!(answer.verbs.is_empty());
        assert!(
            answer
                .error
                .as_deref()
                .unwrap()
                .contains("</Response> closes <Say>"),
            "{answer:?}"
        );
        assert!(matches!(broken.run().await, Reached::Failed(a) if a == answer));

        let mut plain = fake.call(&format!("{}/plain", app.base), None, "+15551230000", to);
        let answer = plain.ring().await;
        assert!(
            answer.error.as_deref().unwrap().contains("12300"),
            "{answer:?}"
        );

        let mut missing = fake.call(&format!("{}/nowhere", app.base), None, "+15551230000", to);
        let answer = missing.ring().await;
        assert_eq!(answer.status, 404);
        assert!(answer.error.is_some());

        let mut refused = fake.call("http://127.0.0.1:1/voice", None, "+15551230000", to);
        let answer = refused.ring().await;
        assert_eq!(answer.status, 0);
        assert!(answer.error.is_some());

        let mut call = fake.call(
            &format!("{}/voice", app.base),
            Some(&format!("{}/status", app.base)),
            "+15551230000",
            to,
        );
        call.tamper_next(Tamper::NoSignature);
        assert_eq!(call.ring().await.status, 403);
        call.tamper_next(Tamper::WrongSignature);
        assert_eq!(call.status("ringing", 0, None).await.status, 403);
        assert_eq!(call.ring().await.status, 200);
        let signed: Vec<bool> = app.got.lock().unwrap().iter().map(|g| g.2).collect();
        assert_eq!(&signed[signed.len() - 3..], [false, false, true]);
    }

    #[test]
    fn relative_urls_resolve_against_the_document() {
        let doc = "http://127.0.0.1:9/twilio/voice/ABC?x=1";
        for (reference, expected) in [
            ("menu", "http://127.0.0.1:9/twilio/voice/menu"),
            ("menu?step=1", "http://127.0.0.1:9/twilio/voice/menu?step=1"),
            ("../record", "http://127.0.0.1:9/twilio/record"),
            ("/status", "http://127.0.0.1:9/status"),
            ("https://other.test/a", "https://other.test/a"),
            ("", doc),
        ] {
            assert_eq!(resolve(doc, reference), expected, "{reference}");
        }
    }

    #[test]
    fn twiml_is_parsed_strictly() {
        let verbs = parse_twiml(concat!(
            "\u{feff}<?xml version='1.0' encoding='UTF-8'?>\n<!-- greeting -->\n",
            "<Response>\n <Say language='en-GB'>Tom &amp; Jerry&#39;s &lt;shop&gt; &#x263A;",
            "<![CDATA[ a<b ]]><break time=\"1s\"/>bye</Say>\n",
            " <Gather><Pause/></Gather> <Record/> <Hangup></Hangup> <Dial>+1555</Dial>\n",
            " <Redirect>\n  next\n </Redirect>\n</Response>\n<!-- end -->\n"
        ))
        .unwrap();
        assert_eq!(
            verbs,
            vec![
                Verb::Say {
                    language: "en-GB".into(),
                    voice: None,
                    text: "Tom & Jerry's <shop> ☺ a<b bye".into()
                },
                Verb::Gather {
                    action: String::new(),
                    num_digits: None,
                    timeout: None,
                    language: None,
                    prompt: vec![Verb::Pause { seconds: 1 }]
                },
                Verb::Record {
                    action: String::new(),
                    recording_status_callback: None,
                    max_length: None
                },
                Verb::Hangup,
                Verb::Other("Dial".into()),
                Verb::Redirect { url: "next".into() },
            ]
        );
        assert_eq!(parse_twiml("<Response/>").unwrap(), vec![]);

        for bad in [
            "",
            "hello",
            "<Response>",
            "<Response><Say>hi</Response>",
            "<Response></Respons>",
            "<Response><Say>a & b</Say></Response>",
            "<Response><Say>&nbsp;</Say></Response>",
            "<Response><Pause length=2/></Response>",
            "<Response><Pause length=\"2\" length=\"3\"/></Response>",
            "<Response><Pause length=\"two\"/></Response>",
            "<Response><Say voice=\"a<b\">x</Say></Response>",
            "<Response><Say language=\"en\"voice=\"x\">x</Say></Response>",
            "<Response/><Response/>",
            "<Response/>trailing",
            " <?xml version=\"1.0\"?><Response/>",
            "<!DOCTYPE Response><Response/>",
            "<Reply><Say>x</Say></Reply>",
            "<Response><Speak>x</Speak></Response>",
            "<Response>loose text</Response>",
            "<Response><Gather><Record/></Gather></Response>",
            "<Response><Hangup>now</Hangup></Response>",
            "<Response><Redirect/></Response>",
            "<Response><Redirect method=\"GET\">/x</Redirect></Response>",
            "<Response><!-- a -- b --></Response>",
        ] {
            assert!(parse_twiml(bad).is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn timestamps_are_rfc_2822() {
        assert_eq!(rfc2822(UNIX_EPOCH), "Thu, 01 Jan 1970 00:00:00 +0000");
        let at = UNIX_EPOCH + Duration::from_secs(1_709_210_096);
        assert_eq!(rfc2822(at), "Thu, 29 Feb 2024 12:34:56 +0000");
    }
}
