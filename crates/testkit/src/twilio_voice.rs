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
//!
//! It also plays Twilio's side of a call queue. `<Enqueue>` puts a call in a named queue whose
//! `waitUrl` the test polls ([`Call::wait`]); the REST Calls API under [`FakeTwilioVoice::media_base`]
//! places outbound calls (an agent's phone: [`FakeTwilioVoice::placed`],
//! [`FakeTwilioVoice::outbound`]) and hangs calls up; `<Dial><Queue>` bridges such a call with
//! the queued caller ([`bridge`]) until both hang up ([`end_bridge`]). Queue state (the queue's
//! SID, who waits in front) is shared by every call of one fake, as Twilio's queues belong to
//! the account.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
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

/// The most `<Number>`s one `<Dial>` rings at once (Twilio's limit).
const MAX_DIAL_NUMBERS: usize = 10;

/// Twilio's default `MaxQueueSize`, sent on every waitUrl request.
const MAX_QUEUE_SIZE: u32 = 1000;

/// `<Enqueue>`'s longest queue name (Twilio's limit).
const MAX_QUEUE_NAME: usize = 64;

/// The `DialCallStatus` values Twilio sends.
const DIAL_STATUSES: &[&str] = &["completed", "busy", "no-answer", "failed", "canceled"];

/// Call statuses after which a call is over: a REST hang-up changes nothing.
const FINAL_STATUSES: &[&str] = &["completed", "busy", "no-answer", "failed", "canceled"];

/// The `StatusCallbackEvent`s the Calls API accepts.
const STATUS_EVENTS: &[&str] = &["initiated", "ringing", "answered", "completed"];

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

/// One call created through the REST Calls API (`POST …/Calls.json`), as asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placed {
    /// `CA` + 32 hex digits, as answered.
    pub sid: String,
    pub to: String,
    pub from: String,
    /// `Url`: the TwiML the callee hears once it answers.
    pub url: String,
    /// `Method` for `Url`, as sent.
    pub method: Option<String>,
    pub status_callback: Option<String>,
    /// `StatusCallbackEvent`s, in order (repeated keys, or one space-separated value).
    pub status_events: Vec<String>,
    /// `Timeout`: seconds to let the callee's phone ring.
    pub timeout: Option<u32>,
}

/// One request made to the fake's REST Calls API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiRequest {
    pub method: String,
    pub path: String,
    /// The form sent (empty for a GET, or when the body was not a form).
    pub params: Vec<(String, String)>,
    /// Whether it was HTTP Basic with the account SID and auth token.
    pub authorized: bool,
    /// What the fake answered.
    pub status: u16,
}

/// What the REST API knows of a call, inbound or placed.
struct CallState {
    direction: &'static str,
    from: String,
    to: String,
    /// Twilio's call status: `queued` once placed (`ringing` for an inbound call not yet
    /// answered), `in-progress` once answered, then what the test's status callbacks say, and
    /// `completed` once the driver ends the call.
    status: String,
    created: SystemTime,
    /// The `Status` of the REST request that ended the call; the driver ends it at its next step.
    ended_by_api: Option<String>,
    /// `StatusCallbackMethod`, as placed.
    status_callback_method: Option<String>,
}

/// A queue of the account: created by the first `<Enqueue>` naming it, as Twilio does.
struct QueueState {
    sid: String,
    /// CallSids waiting, front first.
    members: Vec<String>,
}

#[derive(Default)]
struct Shared {
    /// Recording SID → duration in seconds.
    recordings: HashMap<String, u32>,
    /// Answer recording downloads with this status instead.
    fail: Option<u16>,
    downloads: Vec<Recorded>,
    /// Answer `Calls.json` creation with this status instead.
    calls_fail: Option<u16>,
    placed: Vec<Placed>,
    hung_up: Vec<(String, String)>,
    api_requests: Vec<ApiRequest>,
    /// Every call the fake knows, by SID.
    calls: HashMap<String, CallState>,
    /// Queue name → queue.
    queues: HashMap<String, QueueState>,
}

impl Shared {
    fn leave_queues(&mut self, call_sid: &str) {
        for queue in self.queues.values_mut() {
            queue.members.retain(|m| m != call_sid);
        }
    }
}

#[derive(Clone)]
struct Media {
    account_sid: String,
    auth_token: String,
    shared: Arc<Mutex<Shared>>,
}

/// Twilio's side of one account's calls (inbound, and outbound through its REST Calls API), its
/// queues, and the recordings it keeps.
pub struct FakeTwilioVoice {
    account_sid: String,
    auth_token: String,
    media_base: String,
    client: reqwest::Client,
    shared: Arc<Mutex<Shared>>,
    _server: tokio::task::JoinHandle<()>,
}

impl FakeTwilioVoice {
    /// `account_sid`/`auth_token` sign requests; the fake also serves recordings and the REST
    /// Calls API under its own base URL, behind HTTP Basic auth with them.
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
        let calls = format!("/{API_VERSION}/Accounts/{{account}}/Calls");
        let router = Router::new()
            .route(&format!("{calls}.json"), any(serve_calls))
            .route(&format!("{calls}/{{file}}"), any(serve_calls))
            .fallback(serve_media)
            .with_state(media);
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

    /// `http://127.0.0.1:PORT`, where every `RecordingUrl` points; also the REST API's base (in
    /// place of `https://api.twilio.com`).
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

    /// Every call created through the REST Calls API, in order (refused requests are not
    /// calls: see [`FakeTwilioVoice::api_requests`]).
    pub fn placed(&self) -> Vec<Placed> {
        self.shared.lock().unwrap().placed.clone()
    }

    /// The calls hung up through `POST …/Calls/{sid}.json` (`Status=completed|canceled`), in
    /// order, with the status asked. A `canceled` call that was already answered is listed too,
    /// though Twilio (and the fake) leave it in progress.
    pub fn hung_up_by_api(&self) -> Vec<(String, String)> {
        self.shared.lock().unwrap().hung_up.clone()
    }

    /// Makes `Calls.json` creation answer `status` with Twilio's error JSON (500, 400, 429…)
    /// until `None`; hang-ups still work.
    pub fn set_calls_fail(&self, status: Option<u16>) {
        self.shared.lock().unwrap().calls_fail = status;
    }

    /// Every request made to the REST Calls API so far, refused ones included.
    pub fn api_requests(&self) -> Vec<ApiRequest> {
        self.shared.lock().unwrap().api_requests.clone()
    }

    /// A new inbound call from `from` to `to` (E.164, or `anonymous`) whose Voice URL is
    /// `voice_url` (absolute) and status callback `status_url`. Nothing is sent until
    /// [`Call::ring`].
    pub fn call(&self, voice_url: &str, status_url: Option<&str>, from: &str, to: &str) -> Call {
        self.new_call(
            new_sid("CA"),
            voice_url,
            status_url,
            from,
            to,
            "inbound",
            None,
        )
    }

    /// The call `placed` through the REST API, for the test to drive as the callee: its Voice
    /// URL is `placed.url`, its status callback `placed.status_callback` (only the events it
    /// asked for are sent, and `completed`), `Direction=outbound-api`. Nothing is sent until
    /// [`Call::answer`]. Panics when the call was not placed through this fake, or asked for
    /// GET (the fake only sends POST).
    pub fn outbound(&self, placed: &Placed) -> Call {
        {
            let s = self.shared.lock().unwrap();
            let Some(state) = s.calls.get(&placed.sid) else {
                panic!(
                    "outbound(): {} was not placed through this fake's Calls API",
                    placed.sid
                );
            };
            for (name, method) in [
                ("Method", placed.method.as_deref()),
                (
                    "StatusCallbackMethod",
                    state.status_callback_method.as_deref(),
                ),
            ] {
                if let Some(m) = method {
                    assert!(
                        m.eq_ignore_ascii_case("POST"),
                        "outbound(): the call was placed with {name}={m}; the fake only sends POST"
                    );
                }
            }
        }
        self.new_call(
            placed.sid.clone(),
            &placed.url,
            placed.status_callback.as_deref(),
            &placed.from,
            &placed.to,
            "outbound-api",
            Some(placed.status_events.clone()),
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn new_call(
        &self,
        call_sid: String,
        voice_url: &str,
        status_url: Option<&str>,
        from: &str,
        to: &str,
        direction: &'static str,
        status_events: Option<Vec<String>>,
    ) -> Call {
        self.shared
            .lock()
            .unwrap()
            .calls
            .entry(call_sid.clone())
            .or_insert_with(|| CallState {
                direction,
                from: from.to_owned(),
                to: to.to_owned(),
                status: "ringing".to_owned(),
                created: SystemTime::now(),
                ended_by_api: None,
                status_callback_method: None,
            });
        Call {
            client: self.client.clone(),
            shared: self.shared.clone(),
            media_base: self.media_base.clone(),
            account_sid: self.account_sid.clone(),
            auth_token: self.auth_token.clone(),
            call_sid,
            direction,
            status_events,
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
        /// `input` takes `speech` (`speech` or `dtmf speech`): words said are heard.
        speech: bool,
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
    /// Puts the call in the queue `name` (`<Enqueue>`'s text).
    Enqueue {
        name: String,
        action: String,
        wait_url: String,
    },
    /// Leaves the queue (only meaningful in a waitUrl's TwiML).
    Leave,
    /// Rings `numbers` (`<Number>` nouns, or the number as the verb's text), or takes the
    /// front caller of `queue` (a `<Queue>` noun, whose `url` is `queue_url`). A `<Dial>` of
    /// nouns the fake does not model (`<Client>`, `<Conference>`, `<Sip>`…) stays
    /// `Other("Dial")`.
    Dial {
        action: String,
        timeout: Option<u32>,
        caller_id: Option<String>,
        numbers: Vec<String>,
        queue: Option<String>,
        queue_url: Option<String>,
        /// `record` asks for a recording (`record-from-answer…`) and names its
        /// `recordingStatusCallback`: told once the bridge ends.
        recording_callback: Option<String>,
    },
    /// A Twilio verb the fake does not play (`Reject`, `Connect`…), by name.
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
    /// In the queue `name`, waiting for [`Call::wait`], [`Call::hang_up_in_queue`] or
    /// [`bridge`]. `action` and `wait_url` are "" when the `<Enqueue>` has none.
    Queued {
        name: String,
        action: String,
        wait_url: String,
    },
    /// At a `<Dial>`, waiting for [`Call::dial_ends`] or (dialing a queue) [`bridge`].
    /// `action` is "" when the `<Dial>` has none.
    Dialing {
        action: String,
        timeout: Option<u32>,
        caller_id: Option<String>,
        numbers: Vec<String>,
        queue: Option<String>,
        queue_url: Option<String>,
    },
    /// Talking with the other party of a [`bridge`] (its CallSid), until [`end_bridge`].
    Bridged { with: String },
    /// A `<Hangup/>` ended the call.
    Hangup,
    /// No verbs were left: Twilio hangs up.
    End,
    /// The caller hung up ([`Call::record`] ends that way, or [`Call::hang_up`],
    /// [`Call::hang_up_in_queue`], and both parties of [`end_bridge`]); TwiML answered
    /// afterwards is not run.
    CallerHungUp,
    /// The server hung the call up through the REST API with this `Status` (`completed`, or
    /// `canceled` before it was answered). The fake sends nothing more for it: no `<Enqueue>`
    /// or `<Dial>` action.
    HungUpByApi { status: String },
    /// A verb the fake does not play (by name), or a `<Leave/>` outside a queue's wait TwiML;
    /// `run` again goes on after it.
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
        speech: bool,
        reached: Reached,
    },
    Record {
        action: String,
        callback: Option<String>,
        max_length: Option<u32>,
        reached: Reached,
    },
    Queue {
        name: String,
        /// Absolute, or "" when there is none (as `wait_url`).
        action: String,
        wait_url: String,
        queue_sid: String,
        reached: Reached,
    },
    Dial {
        /// Absolute, or "" when there is none.
        action: String,
        numbers: Vec<String>,
        queue: Option<String>,
        queue_url: Option<String>,
        /// Absolute: where the bridge's recording is announced.
        recording_callback: Option<String>,
        reached: Reached,
    },
    Bridged {
        /// The other party's CallSid.
        with: String,
        leg: Leg,
    },
}

/// Which side of a [`bridge`] a call is on: what is sent once both hang up.
#[derive(Clone, Debug)]
enum Leg {
    /// The call whose `<Dial><Queue>` took the caller: its Dial action, and where its
    /// recording is announced when the `<Dial>` records.
    Agent {
        action: String,
        recording_callback: Option<String>,
    },
    /// The queued caller: its Enqueue action, its queue and how long it waited.
    Caller {
        action: String,
        queue_sid: String,
        queue_time: u32,
    },
}

/// One call (inbound, or placed through the REST API), driven step by step by the test.
pub struct Call {
    client: reqwest::Client,
    shared: Arc<Mutex<Shared>>,
    media_base: String,
    account_sid: String,
    auth_token: String,
    call_sid: String,
    /// `inbound` or `outbound-api`.
    direction: &'static str,
    /// For a placed call, the `StatusCallbackEvent`s asked (`completed` is always sent).
    status_events: Option<Vec<String>>,
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

    /// `inbound`, or `outbound-api` for a call placed through the REST API.
    pub fn direction(&self) -> &str {
        self.direction
    }

    /// POSTs the Voice URL, stores the TwiML answer; returns the HTTP status and parsed verbs.
    /// An inbound call sends `CallStatus=ringing`, as Twilio does before anyone answers; a
    /// placed call is the callee answering, `CallStatus=in-progress` ([`Call::answer`]).
    /// Ringing again starts the call over (Twilio's retry). A call already hung up through the
    /// REST API sends nothing (status 0).
    pub async fn ring(&mut self) -> Answer {
        if let Some(ended) = self.ended_by_api() {
            return Answer::not_sent(&format!("the call is over: {ended:?}"));
        }
        self.rung = true;
        self.waiting = None;
        self.over = None;
        self.verbs.clear();
        self.next = 0;
        {
            let mut s = self.shared.lock().unwrap();
            s.leave_queues(&self.call_sid);
            if let Some(c) = s.calls.get_mut(&self.call_sid) {
                c.status = "in-progress".to_owned();
            }
        }
        let status = if self.direction == "inbound" {
            "ringing"
        } else {
            "in-progress"
        };
        let url = self.voice_url.clone();
        let answer = self.send(&url, self.standard(status), true).await;
        self.load(&url, &answer);
        answer
    }

    /// The callee of a placed call answers: [`Call::ring`] (which POSTs its Voice URL with
    /// `CallStatus=in-progress`), named for what happens on that side.
    pub async fn answer(&mut self) -> Answer {
        self.ring().await
    }

    /// Runs the current TwiML like Twilio: Say/Play/Pause are noted, Gather waits for
    /// [`Call::press`], Record waits for [`Call::record`], Enqueue waits in the queue
    /// ([`Call::wait`]), Dial waits for [`Call::dial_ends`] or [`bridge`], Redirect is followed,
    /// Hangup ends. Returns what it reached (again, when called while waiting or after the call
    /// ended).
    pub async fn run(&mut self) -> Reached {
        if let Some(ended) = self.ended_by_api() {
            return ended;
        }
        assert!(self.rung, "ring() (or answer()) the call before run()");
        let mut redirects = 0;
        loop {
            if let Some(over) = &self.over {
                return over.clone();
            }
            match &self.waiting {
                Some(
                    Waiting::Gather { reached, .. }
                    | Waiting::Record { reached, .. }
                    | Waiting::Queue { reached, .. }
                    | Waiting::Dial { reached, .. },
                ) => {
                    return reached.clone();
                }
                Some(Waiting::Bridged { with, .. }) => {
                    return Reached::Bridged { with: with.clone() };
                }
                None => {}
            }
            let Some(verb) = self.verbs.get(self.next).cloned() else {
                self.finish(Reached::End);
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
                    speech,
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
                        speech,
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
                        self.finish(Reached::Failed(failed));
                        continue;
                    }
                    let url = self.resolve(&url);
                    let answer = self.send(&url, self.standard("in-progress"), true).await;
                    self.load(&url, &answer);
                }
                Verb::Hangup => self.finish(Reached::Hangup),
                Verb::Enqueue {
                    name,
                    action,
                    wait_url,
                } => {
                    let action = self.resolve_given(&action);
                    let wait_url = self.resolve_given(&wait_url);
                    let queue_sid = self.join_queue(&name);
                    let reached = Reached::Queued {
                        name: name.clone(),
                        action: action.clone(),
                        wait_url: wait_url.clone(),
                    };
                    self.waiting = Some(Waiting::Queue {
                        name,
                        action,
                        wait_url,
                        queue_sid,
                        reached,
                    });
                }
                // Outside a queue's wait TwiML there is nothing to leave.
                Verb::Leave => return Reached::Other("Leave".to_owned()),
                Verb::Dial {
                    action,
                    timeout,
                    caller_id,
                    numbers,
                    queue,
                    queue_url,
                    recording_callback,
                } => {
                    let action = self.resolve_given(&action);
                    let recording_callback = recording_callback.map(|u| self.resolve(&u));
                    let queue_url = queue_url
                        .filter(|u| !u.trim().is_empty())
                        .map(|u| self.resolve(&u));
                    let reached = Reached::Dialing {
                        action: action.clone(),
                        timeout,
                        caller_id,
                        numbers: numbers.clone(),
                        queue: queue.clone(),
                        queue_url: queue_url.clone(),
                    };
                    self.waiting = Some(Waiting::Dial {
                        action,
                        numbers,
                        queue,
                        queue_url,
                        recording_callback,
                        reached,
                    });
                }
                Verb::Other(name) => return Reached::Other(name),
            }
        }
    }

    /// Whether the call waits in a queue (not yet bridged).
    pub fn is_queued(&self) -> bool {
        matches!(self.waiting, Some(Waiting::Queue { .. }))
    }

    /// While queued: one request to the waitUrl (`QueuePosition=position`,
    /// `QueueTime=queue_seconds`, `QueueSid`, `AvgQueueTime` (`queue_seconds`: the fake knows
    /// no other wait), `CurrentQueueSize` (the callers in the queue, at least `position`),
    /// `MaxQueueSize=1000`, `CallStatus=in-progress`) and its TwiML run:
    ///
    /// - Say/Play/Pause are noted as usual; a `<Gather>` is its prompt only (its nested verbs
    ///   are noted, then it times out without keys), as the fake does not drive keys in a queue;
    /// - `<Redirect>` is followed (with the same queue parameters);
    /// - `<Leave/>` POSTs the Enqueue action (`QueueResult=leave`) and runs its TwiML, or goes
    ///   on after `<Enqueue>` when it has no action; returns where that stops;
    /// - `<Hangup/>` POSTs the action with `QueueResult=hangup` (`CallStatus=completed`) and
    ///   ends the call ([`Reached::Hangup`]);
    /// - an unusable answer, or a verb a waitUrl may not use (Record, Dial, Enqueue…), takes the
    ///   caller out of the queue with `QueueResult=error`, then as for `<Leave/>`.
    ///
    /// When the TwiML runs out the caller is still queued (Twilio requests the waitUrl again:
    /// call `wait` again) and [`Reached::Queued`] is returned. Without a waitUrl nothing is sent
    /// (Twilio plays its own hold music). Panics when the call is not queued.
    pub async fn wait(&mut self, position: u32, queue_seconds: u32) -> Reached {
        if let Some(ended) = self.ended_by_api() {
            return ended;
        }
        let Some(Waiting::Queue {
            name,
            wait_url,
            queue_sid,
            reached,
            ..
        }) = self.waiting.clone()
        else {
            panic!(
                "wait() while not in a queue (waiting: {:?}, over: {:?})",
                self.waiting, self.over
            );
        };
        if wait_url.is_empty() {
            return reached;
        }
        let size = self.queue_members(&name).len().max(position as usize);
        let mut params = self.standard("in-progress");
        params.extend(
            [
                ("QueuePosition", position.to_string()),
                ("QueueSid", queue_sid),
                ("QueueTime", queue_seconds.to_string()),
                ("AvgQueueTime", queue_seconds.to_string()),
                ("CurrentQueueSize", size.to_string()),
                ("MaxQueueSize", MAX_QUEUE_SIZE.to_string()),
            ]
            .map(|(k, v)| (k.to_owned(), v)),
        );
        let mut url = wait_url;
        let mut redirects = 0;
        loop {
            let answer = self.send(&url, params.clone(), true).await;
            if answer.error.is_some() {
                return self.leave_queue("error", queue_seconds).await;
            }
            let mut next = None;
            for verb in &answer.verbs {
                match verb {
                    Verb::Say { .. } | Verb::Play { .. } | Verb::Pause { .. } => self.note(verb),
                    Verb::Gather { prompt, .. } => {
                        for v in prompt {
                            self.note(v);
                        }
                    }
                    Verb::Redirect { url: to } => {
                        next = Some(resolve(&url, to));
                        break;
                    }
                    Verb::Leave => return self.leave_queue("leave", queue_seconds).await,
                    Verb::Hangup => {
                        self.dequeue("hangup", queue_seconds, "completed").await;
                        self.finish(Reached::Hangup);
                        return Reached::Hangup;
                    }
                    _ => return self.leave_queue("error", queue_seconds).await,
                }
            }
            let Some(to) = next else {
                return reached;
            };
            redirects += 1;
            if redirects > MAX_REDIRECTS {
                return self.leave_queue("error", queue_seconds).await;
            }
            url = to;
        }
    }

    /// The caller hangs up while queued, after `queue_seconds`: POSTs the Enqueue action (if
    /// any) with `QueueResult=hangup` and `CallStatus=completed`; the call is over
    /// ([`Reached::CallerHungUp`]). Returns that answer (status 0 when there is no action).
    /// Panics when the call is not queued.
    pub async fn hang_up_in_queue(&mut self, queue_seconds: u32) -> Answer {
        if let Some(ended) = self.ended_by_api() {
            return Answer::not_sent(&format!("the call is over: {ended:?}"));
        }
        assert!(
            self.is_queued(),
            "hang_up_in_queue() while not in a queue (waiting: {:?}, over: {:?})",
            self.waiting,
            self.over
        );
        let answer = match self.dequeue("hangup", queue_seconds, "completed").await {
            Some((_, answer)) => answer,
            None => Answer::not_sent("the <Enqueue> has no action"),
        };
        self.finish(Reached::CallerHungUp);
        answer
    }

    /// The `<Dial>` reached ends without a bridge the fake drove (a `<Number>` dial, or a queue
    /// that stayed empty until `timeout`): POSTs the Dial action with `DialCallStatus=status`
    /// (`completed`, `busy`, `no-answer`, `failed` or `canceled`), `DialCallDuration` when given, `DialBridged` (`true` only
    /// for a completed `<Number>` dial: the callee answered) and, for a `<Number>` dial, the
    /// child leg's `DialCallSid`; then runs its TwiML. Without an action, goes on after the
    /// `<Dial>`. Returns where that stops. Panics when the call is not at a `<Dial>`.
    pub async fn dial_ends(&mut self, status: &str, duration: Option<u32>) -> Reached {
        if let Some(ended) = self.ended_by_api() {
            return ended;
        }
        let Some(Waiting::Dial {
            action,
            numbers,
            recording_callback,
            ..
        }) = self.waiting.clone()
        else {
            panic!(
                "dial_ends() while not at a <Dial> (waiting: {:?}, over: {:?})",
                self.waiting, self.over
            );
        };
        assert!(
            DIAL_STATUSES.contains(&status),
            "dial_ends({status:?}): DialCallStatus is one of {DIAL_STATUSES:?}"
        );
        self.waiting = None;
        // A recorded number that answered: its recording is announced as the dial ends.
        if let (Some(url), "completed", false, Some(seconds)) =
            (&recording_callback, status, numbers.is_empty(), duration)
        {
            self.announce_recording(url, seconds).await;
        }
        if action.is_empty() {
            return self.run().await;
        }
        let mut params = self.standard("in-progress");
        params.push(("DialCallStatus".to_owned(), status.to_owned()));
        if !numbers.is_empty() {
            params.push(("DialCallSid".to_owned(), new_sid("CA")));
        }
        if let Some(d) = duration {
            params.push(("DialCallDuration".to_owned(), d.to_string()));
        }
        let bridged = status == "completed" && !numbers.is_empty();
        params.push(("DialBridged".to_owned(), bridged.to_string()));
        let answer = self.send(&action, params, true).await;
        self.load(&action, &answer);
        self.run().await
    }

    /// Answers the Gather reached with these keys (POST its action with `Digits`, cut to
    /// `numDigits`) and stores the new TwiML.
    pub async fn press(&mut self, digits: &str) -> Answer {
        if let Some(ended) = self.ended_by_api() {
            return Answer::not_sent(&format!("the call is over: {ended:?}"));
        }
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

    /// Says `words` to the Gather reached, as Twilio's speech recognition hears them: POSTs its
    /// action with `SpeechResult` and `Confidence` (no `Digits`) and stores the new TwiML.
    /// Panics unless the Gather listens for speech (`input` with `speech`).
    pub async fn say(&mut self, words: &str) -> Answer {
        if let Some(ended) = self.ended_by_api() {
            return Answer::not_sent(&format!("the call is over: {ended:?}"));
        }
        let Some(Waiting::Gather { action, speech, .. }) = self.waiting.clone() else {
            panic!(
                "say() while not at a <Gather> (waiting: {:?})",
                self.waiting
            );
        };
        assert!(speech, "say(): this <Gather> listens for keys only");
        self.waiting = None;
        let mut params = self.standard("in-progress");
        params.push(("SpeechResult".into(), words.to_owned()));
        params.push(("Confidence".into(), "0.92".into()));
        let answer = self.send(&action, params, true).await;
        self.load(&action, &answer);
        answer
    }

    /// Lets the Gather reached time out: execution falls through to the next verb.
    pub async fn stay_silent(&mut self) -> Reached {
        if let Some(ended) = self.ended_by_api() {
            return ended;
        }
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
        if let Some(ended) = self.ended_by_api() {
            let why = format!("the call is over: {ended:?}");
            return (Answer::not_sent(&why), Answer::not_sent(&why));
        }
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
            self.finish(Reached::CallerHungUp);
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

    /// A `<Dial>` that recorded ended after `seconds` of talk: the recording is kept (served at
    /// its `RecordingUrl` like a voicemail's) and announced to `url` (`RecordingSource=DialVerb`,
    /// two channels). The answer is kept with what this call sent ([`Call::sent`]).
    async fn announce_recording(&mut self, url: &str, seconds: u32) -> Answer {
        let recording_sid = new_sid("RE");
        let recording_url = format!(
            "{}/{API_VERSION}/Accounts/{}/Recordings/{recording_sid}",
            self.media_base, self.account_sid
        );
        self.shared
            .lock()
            .unwrap()
            .recordings
            .insert(recording_sid.clone(), seconds);
        self.recordings.push(recording_url.clone());
        let started = SystemTime::now() - Duration::from_secs(u64::from(seconds));
        let params = vec![
            ("AccountSid".to_owned(), self.account_sid.clone()),
            ("CallSid".to_owned(), self.call_sid.clone()),
            ("RecordingSid".to_owned(), recording_sid),
            ("RecordingUrl".to_owned(), recording_url),
            ("RecordingStatus".to_owned(), "completed".to_owned()),
            ("RecordingDuration".to_owned(), seconds.to_string()),
            ("RecordingChannels".to_owned(), "2".to_owned()),
            ("RecordingStartTime".to_owned(), rfc2822(started)),
            ("RecordingSource".to_owned(), "DialVerb".to_owned()),
        ];
        self.send(url, params, false).await
    }

    /// The caller hangs up now (during a Gather, say): nothing is sent, the call is over. At a
    /// `<Dial>` too (Twilio's Dial action is [`Call::dial_ends`]'s). Panics while queued or
    /// bridged, where Twilio posts the Enqueue action: use [`Call::hang_up_in_queue`] or
    /// [`end_bridge`].
    pub fn hang_up(&mut self) {
        assert!(
            !matches!(
                self.waiting,
                Some(Waiting::Queue { .. } | Waiting::Bridged { .. })
            ),
            "hang_up() while queued or bridged: use hang_up_in_queue() or end_bridge() \
             (Twilio posts the <Enqueue> action)"
        );
        self.finish(Reached::CallerHungUp);
    }

    /// A status callback to the number's status URL. `SequenceNumber` is given explicitly so
    /// tests can send them out of order or twice; `duration` is `CallDuration` (for
    /// `completed`). The status also becomes the call's in the REST API. For a placed call, as
    /// with Twilio, only the `StatusCallbackEvent`s asked are sent (`in-progress` is the
    /// `answered` event), and the final statuses always: any other is not sent (status 0).
    pub async fn status(&self, status: &str, sequence: u32, duration: Option<u32>) -> Answer {
        let url = self
            .status_url
            .clone()
            .expect("status() on a call made without a status callback URL");
        if let Some(c) = self.shared.lock().unwrap().calls.get_mut(&self.call_sid) {
            c.status = status.to_owned();
        }
        if let Some(events) = &self.status_events {
            let event = match status {
                "initiated" => "initiated",
                "ringing" => "ringing",
                "in-progress" => "answered",
                _ => "completed",
            };
            if event != "completed" && !events.iter().any(|e| e == event) {
                return Answer::not_sent(&format!(
                    "StatusCallbackEvent did not ask for {event} (CallStatus={status})"
                ));
            }
        }
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
            ("Direction", self.direction),
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
            self.finish(Reached::Failed(answer.clone()));
            return;
        }
        self.doc_url = url.to_owned();
        self.verbs = answer.verbs.clone();
        self.next = 0;
    }

    /// Ends the call: it leaves any queue, and the REST API shows it `completed` (unless it
    /// already ended otherwise).
    fn finish(&mut self, reached: Reached) {
        self.waiting = None;
        self.over = Some(reached);
        let mut s = self.shared.lock().unwrap();
        s.leave_queues(&self.call_sid);
        if let Some(c) = s.calls.get_mut(&self.call_sid)
            && !FINAL_STATUSES.contains(&c.status.as_str())
        {
            c.status = "completed".to_owned();
        }
    }

    /// When the server hung the call up through the REST API: ends it (nothing is sent) and
    /// returns [`Reached::HungUpByApi`]. Checked at every step of the driver, as that is when
    /// the test would notice.
    fn ended_by_api(&mut self) -> Option<Reached> {
        let status = self
            .shared
            .lock()
            .unwrap()
            .calls
            .get(&self.call_sid)
            .and_then(|c| c.ended_by_api.clone())?;
        let reached = Reached::HungUpByApi { status };
        if self.over.as_ref() != Some(&reached) {
            self.finish(reached.clone());
        }
        Some(reached)
    }

    /// Joins the queue `name` (created on demand, as `<Enqueue>` does); returns its SID.
    fn join_queue(&self, name: &str) -> String {
        let mut s = self.shared.lock().unwrap();
        s.leave_queues(&self.call_sid);
        let queue = s
            .queues
            .entry(name.to_owned())
            .or_insert_with(|| QueueState {
                sid: new_sid("QU"),
                members: Vec::new(),
            });
        queue.members.push(self.call_sid.clone());
        queue.sid.clone()
    }

    /// The CallSids waiting in the queue `name`, front first.
    fn queue_members(&self, name: &str) -> Vec<String> {
        self.shared
            .lock()
            .unwrap()
            .queues
            .get(name)
            .map(|q| q.members.clone())
            .unwrap_or_default()
    }

    /// Takes the call out of its queue with `result`: POSTs the Enqueue action (with
    /// `CallStatus=call_status`) when there is one, returning its URL and answer.
    async fn dequeue(
        &mut self,
        result: &str,
        queue_seconds: u32,
        call_status: &str,
    ) -> Option<(String, Answer)> {
        let Some(Waiting::Queue {
            action, queue_sid, ..
        }) = self.waiting.take()
        else {
            return None;
        };
        self.shared.lock().unwrap().leave_queues(&self.call_sid);
        if action.is_empty() {
            return None;
        }
        let mut params = self.standard(call_status);
        params.extend(
            [
                ("QueueResult", result.to_owned()),
                ("QueueSid", queue_sid),
                ("QueueTime", queue_seconds.to_string()),
            ]
            .map(|(k, v)| (k.to_owned(), v)),
        );
        let answer = self.send(&action, params, true).await;
        Some((action, answer))
    }

    /// Leaves the queue with `result` and goes on: with the action's TwiML, or after
    /// `<Enqueue>` when it has no action.
    async fn leave_queue(&mut self, result: &str, queue_seconds: u32) -> Reached {
        if let Some((action, answer)) = self.dequeue(result, queue_seconds, "in-progress").await {
            self.load(&action, &answer);
        }
        self.run().await
    }

    /// Runs a `<Queue url>` document on this (queued) call, before the bridge: Play, Say and
    /// Pause are noted, Redirect is followed. Returns the first answer; a verb Twilio does not
    /// allow there, or an unusable redirected answer, is reported in its `error`.
    async fn whisper(
        &mut self,
        url: &str,
        dequeuing: &str,
        queue_sid: &str,
        queue_seconds: u32,
    ) -> Answer {
        let mut params = self.standard("in-progress");
        params.extend(
            [
                ("QueueSid", queue_sid.to_owned()),
                ("QueueTime", queue_seconds.to_string()),
                ("DequeingCallSid", dequeuing.to_owned()),
            ]
            .map(|(k, v)| (k.to_owned(), v)),
        );
        let mut first = self.send(url, params.clone(), true).await;
        let mut doc_url = url.to_owned();
        let mut verbs = first.verbs.clone();
        let mut redirects = 0;
        loop {
            let mut next = None;
            for verb in &verbs {
                match verb {
                    Verb::Say { .. } | Verb::Play { .. } | Verb::Pause { .. } => self.note(verb),
                    Verb::Redirect { url: to } => {
                        next = Some(resolve(&doc_url, to));
                        break;
                    }
                    other => {
                        refuse(
                            &mut first,
                            format!(
                                "{other:?} is not allowed in a <Queue url> document \
                                 (only Play, Say, Pause, Redirect)"
                            ),
                        );
                        break;
                    }
                }
            }
            let Some(to) = next else {
                return first;
            };
            redirects += 1;
            if redirects > MAX_REDIRECTS {
                refuse(&mut first, "too many <Redirect>s in a row".to_owned());
                return first;
            }
            let answer = self.send(&to, params.clone(), true).await;
            if let Some(e) = &answer.error {
                refuse(&mut first, format!("<Redirect> to {to}: {e}"));
                return first;
            }
            doc_url = to;
            verbs = answer.verbs;
        }
    }

    fn resolve(&self, reference: &str) -> String {
        resolve(&self.doc_url, reference)
    }

    /// An attribute's URL resolved, or "" when it is absent (no request is made then, unlike
    /// `<Gather>`'s action, which defaults to the document).
    fn resolve_given(&self, reference: &str) -> String {
        if reference.trim().is_empty() {
            String::new()
        } else {
            self.resolve(reference)
        }
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

impl Drop for Call {
    /// A dropped call leaves its queue, so it cannot stand in front of a later caller.
    fn drop(&mut self) {
        if let Ok(mut s) = self.shared.lock() {
            s.leave_queues(&self.call_sid);
        }
    }
}

/// Marks `answer` unusable for `why` (the first reason stays), as [`Answer::read`] would.
fn refuse(answer: &mut Answer, why: String) {
    if answer.error.is_none() {
        answer.error = Some(why);
        answer.verbs.clear();
    }
}

/// `agent`, at a `<Dial><Queue>`, takes `caller`, who waits in that queue (at its front) since
/// `queue_seconds`. As Twilio does, the `<Queue>` noun's `url` (if any) is POSTed on the
/// CALLER's call (its standard parameters and CallSid, plus `QueueSid`, `QueueTime` and
/// `DequeingCallSid` = the agent's CallSid) and its Say/Play/Pause are said/played to the
/// caller. Both are then bridged ([`Reached::Bridged`]) until [`end_bridge`]; nothing is sent to
/// the Enqueue or Dial action yet. Returns the url's answer (status 0 when the noun has none);
/// the bridge happens even when that answer is unusable (its `error` says why).
///
/// Panics, with what is wrong, unless the agent is at a `<Dial><Queue>` of the queue the caller
/// waits in, at its front, both calls of one fake.
pub async fn bridge(agent: &mut Call, caller: &mut Call, queue_seconds: u32) -> Answer {
    assert!(
        Arc::ptr_eq(&agent.shared, &caller.shared) && agent.call_sid != caller.call_sid,
        "bridge(): the agent and the caller must be two calls of one fake"
    );
    for call in [&mut *agent, &mut *caller] {
        if let Some(ended) = call.ended_by_api() {
            panic!("bridge(): call {} is over: {ended:?}", call.call_sid);
        }
    }
    let Some(Waiting::Dial {
        action: dial_action,
        queue: Some(queue),
        queue_url,
        recording_callback,
        ..
    }) = agent.waiting.clone()
    else {
        panic!(
            "bridge(): the agent's call {} is not at a <Dial><Queue> (waiting: {:?}, over: {:?})",
            agent.call_sid, agent.waiting, agent.over
        );
    };
    let Some(Waiting::Queue {
        name,
        action: enqueue_action,
        queue_sid,
        ..
    }) = caller.waiting.clone()
    else {
        panic!(
            "bridge(): the caller's call {} is not in a queue (waiting: {:?}, over: {:?})",
            caller.call_sid, caller.waiting, caller.over
        );
    };
    assert_eq!(
        queue, name,
        "bridge(): the agent dials queue {queue:?} but the caller waits in {name:?}"
    );
    let members = caller.queue_members(&name);
    assert_eq!(
        members.first(),
        Some(&caller.call_sid),
        "bridge(): <Dial><Queue> takes the front of {name:?} ({members:?}), not {}",
        caller.call_sid
    );
    let answer = match queue_url {
        Some(url) => {
            caller
                .whisper(&url, &agent.call_sid, &queue_sid, queue_seconds)
                .await
        }
        None => Answer::not_sent("the <Queue> noun has no url"),
    };
    caller.shared.lock().unwrap().leave_queues(&caller.call_sid);
    caller.waiting = Some(Waiting::Bridged {
        with: agent.call_sid.clone(),
        leg: Leg::Caller {
            action: enqueue_action,
            queue_sid,
            queue_time: queue_seconds,
        },
    });
    agent.waiting = Some(Waiting::Bridged {
        with: caller.call_sid.clone(),
        leg: Leg::Agent {
            action: dial_action,
            recording_callback,
        },
    });
    answer
}

/// Both parties of a [`bridge`] hang up after talking `talk_seconds`. Twilio then POSTs the
/// agent's Dial action, if any (`DialCallStatus=completed`, `DialCallSid` = the caller's
/// CallSid, `DialCallDuration=talk_seconds`, `DialBridged=true`), and the caller's Enqueue
/// action, if any (`QueueResult=bridged`, `QueueSid`, `QueueTime` = the wait before the
/// bridge), both with `CallStatus=completed`. Both calls are over ([`Reached::CallerHungUp`]):
/// TwiML answered to the actions is not run. Returns (agent's answer, caller's answer), status 0
/// where there is no action. Panics unless the two are bridged together.
pub async fn end_bridge(
    agent: &mut Call,
    caller: &mut Call,
    talk_seconds: u32,
) -> (Answer, Answer) {
    let Some(Waiting::Bridged {
        with,
        leg: Leg::Agent {
            action: dial_action,
            recording_callback,
        },
    }) = agent.waiting.clone()
    else {
        panic!(
            "end_bridge(): the agent's call {} is not bridged by its <Dial> (waiting: {:?}, \
             over: {:?})",
            agent.call_sid, agent.waiting, agent.over
        );
    };
    assert_eq!(
        with, caller.call_sid,
        "end_bridge(): the agent is bridged with another call"
    );
    let Some(Waiting::Bridged {
        with,
        leg:
            Leg::Caller {
                action: enqueue_action,
                queue_sid,
                queue_time,
            },
    }) = caller.waiting.clone()
    else {
        panic!(
            "end_bridge(): the caller's call {} is not bridged out of a queue (waiting: {:?}, \
             over: {:?})",
            caller.call_sid, caller.waiting, caller.over
        );
    };
    assert_eq!(
        with, agent.call_sid,
        "end_bridge(): the caller is bridged with another call"
    );
    let agent_answer = if dial_action.is_empty() {
        Answer::not_sent("the <Dial> has no action")
    } else {
        let mut params = agent.standard("completed");
        params.extend(
            [
                ("DialCallStatus", "completed".to_owned()),
                ("DialCallSid", caller.call_sid.clone()),
                ("DialCallDuration", talk_seconds.to_string()),
                ("DialBridged", "true".to_owned()),
            ]
            .map(|(k, v)| (k.to_owned(), v)),
        );
        agent.send(&dial_action, params, true).await
    };
    let caller_answer = if enqueue_action.is_empty() {
        Answer::not_sent("the <Enqueue> has no action")
    } else {
        let mut params = caller.standard("completed");
        params.extend(
            [
                ("QueueResult", "bridged".to_owned()),
                ("QueueSid", queue_sid),
                ("QueueTime", queue_time.to_string()),
            ]
            .map(|(k, v)| (k.to_owned(), v)),
        );
        caller.send(&enqueue_action, params, true).await
    };
    if let Some(url) = recording_callback {
        agent.announce_recording(&url, talk_seconds).await;
    }
    agent.finish(Reached::CallerHungUp);
    caller.finish(Reached::CallerHungUp);
    (agent_answer, caller_answer)
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
        unauthorized()
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

// --- REST Calls API ----------------------------------------------------------------------------

/// `POST/GET …/Accounts/{AccountSid}/Calls.json` and `…/Calls/{CallSid}.json`: creates calls,
/// hangs them up, shows them. Every request is noted in [`FakeTwilioVoice::api_requests`].
async fn serve_calls(
    State(media): State<Media>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let authorized = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| basic_auth_ok(a, &media.account_sid, &media.auth_token));
    // A body that is not a form is refused below; a GET has none.
    let form: Option<Vec<(String, String)>> = if body.is_empty() {
        Some(Vec::new())
    } else {
        serde_html_form::from_bytes(&body).ok()
    };
    let mut s = media
        .shared
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let response = if !authorized {
        unauthorized()
    } else {
        match &form {
            Some(params) => calls_api(&media.account_sid, &mut s, &method, &path, params),
            None => twilio_error(400, 21200, "The request body is not form-encoded"),
        }
    };
    s.api_requests.push(ApiRequest {
        method: method.to_string(),
        path,
        params: form.unwrap_or_default(),
        authorized,
        status: response.status().as_u16(),
    });
    response
}

fn calls_api(
    account_sid: &str,
    s: &mut Shared,
    method: &Method,
    path: &str,
    params: &[(String, String)],
) -> Response {
    let not_found = || {
        twilio_error(
            404,
            20404,
            &format!("The requested resource {path} was not found"),
        )
    };
    let prefix = format!("/{API_VERSION}/Accounts/{account_sid}/Calls");
    let Some(rest) = path.strip_prefix(&prefix) else {
        return not_found();
    };
    if rest == ".json" {
        return if *method == Method::POST {
            create_call(account_sid, s, params)
        } else {
            twilio_error(
                405,
                20004,
                "Method not allowed: the fake only creates calls here",
            )
        };
    }
    let Some(sid) = rest
        .strip_prefix('/')
        .and_then(|file| file.strip_suffix(".json"))
        .filter(|sid| s.calls.contains_key(*sid))
    else {
        return not_found();
    };
    match *method {
        Method::GET => call_resource_response(StatusCode::OK, account_sid, sid, s),
        Method::POST => update_call(account_sid, s, sid, params),
        _ => twilio_error(405, 20004, "Method not allowed"),
    }
}

/// The first non-blank value of `name` in a form.
fn form_value<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// `POST …/Calls.json`: validates like Twilio (To, From, Url required, in that order; E.164
/// numbers; absolute URLs; GET or POST methods), then answers 201 with the call resource,
/// `status` `queued`.
fn create_call(account_sid: &str, s: &mut Shared, params: &[(String, String)]) -> Response {
    if let Some(status) = s.calls_fail {
        let (code, message) = match status {
            400 => (21211, "The 'To' number is not a valid phone number."),
            401 => (20003, "Authenticate"),
            404 => (20404, "The requested resource was not found"),
            429 => (20429, "Too Many Requests"),
            _ => (20500, "An internal server error has occurred"),
        };
        return twilio_error(status, code, message);
    }
    let Some(to) = form_value(params, "To") else {
        return twilio_error(400, 21201, "No 'To' number is specified");
    };
    let Some(from) = form_value(params, "From") else {
        return twilio_error(400, 21213, "No 'From' number is specified");
    };
    let Some(url) = form_value(params, "Url") else {
        // Twilio also takes `Twiml` or `ApplicationSid`; the fake only runs a Url's TwiML.
        return twilio_error(400, 21205, "Url is required (the fake takes no Twiml)");
    };
    if !(is_e164(to) || to.starts_with("client:") || to.starts_with("sip:")) {
        return twilio_error(
            400,
            21211,
            &format!("The 'To' number {to} is not a valid phone number."),
        );
    }
    if !(is_e164(from) || from.starts_with("client:")) {
        return twilio_error(
            400,
            21212,
            &format!("The 'From' number {from} is not a valid phone number."),
        );
    }
    if !is_http_url(url) {
        return twilio_error(400, 21205, &format!("Url is not a valid URL: {url}"));
    }
    let status_callback = form_value(params, "StatusCallback");
    if let Some(cb) = status_callback
        && !is_http_url(cb)
    {
        return twilio_error(
            400,
            21200,
            &format!("StatusCallback is not a valid URL: {cb}"),
        );
    }
    for name in ["Method", "StatusCallbackMethod"] {
        if let Some(m) = form_value(params, name)
            && !(m.eq_ignore_ascii_case("GET") || m.eq_ignore_ascii_case("POST"))
        {
            return twilio_error(400, 21200, &format!("{name} must be GET or POST, not {m}"));
        }
    }
    let status_events: Vec<String> = params
        .iter()
        .filter(|(k, _)| k == "StatusCallbackEvent")
        .flat_map(|(_, v)| v.split_whitespace())
        .map(str::to_owned)
        .collect();
    if let Some(bad) = status_events
        .iter()
        .find(|e| !STATUS_EVENTS.contains(&e.as_str()))
    {
        return twilio_error(
            400,
            21200,
            &format!("StatusCallbackEvent {bad:?} is not one of {STATUS_EVENTS:?}"),
        );
    }
    let timeout = match form_value(params, "Timeout").map(str::parse::<u32>) {
        None => None,
        Some(Ok(t)) => Some(t),
        Some(Err(_)) => return twilio_error(400, 21200, "Timeout must be a whole number"),
    };
    let sid = new_sid("CA");
    s.calls.insert(
        sid.clone(),
        CallState {
            direction: "outbound-api",
            from: from.to_owned(),
            to: to.to_owned(),
            status: "queued".to_owned(),
            created: SystemTime::now(),
            ended_by_api: None,
            status_callback_method: form_value(params, "StatusCallbackMethod").map(str::to_owned),
        },
    );
    s.placed.push(Placed {
        sid: sid.clone(),
        to: to.to_owned(),
        from: from.to_owned(),
        url: url.to_owned(),
        method: form_value(params, "Method").map(str::to_owned),
        status_callback: status_callback.map(str::to_owned),
        status_events,
        timeout,
    });
    call_resource_response(StatusCode::CREATED, account_sid, &sid, s)
}

/// `POST …/Calls/{sid}.json` with `Status=completed` (hangs up a call in any state) or
/// `Status=canceled` (only a call not yet answered: `queued`, `initiated` or `ringing`; an
/// answered one stays in progress, as with Twilio). Redirecting a call (`Url`, `Twiml`) is not
/// modelled: 400.
fn update_call(
    account_sid: &str,
    s: &mut Shared,
    sid: &str,
    params: &[(String, String)],
) -> Response {
    let asked = match form_value(params, "Status") {
        Some(status @ ("completed" | "canceled")) => status.to_owned(),
        Some(other) => {
            return twilio_error(
                400,
                21200,
                &format!("Status must be completed or canceled, not {other}"),
            );
        }
        None => {
            return twilio_error(
                400,
                21200,
                "The fake only hangs calls up (Status=completed|canceled); it does not redirect \
                 them",
            );
        }
    };
    if let Some(call) = s.calls.get_mut(sid) {
        let ends = match asked.as_str() {
            "canceled" => matches!(call.status.as_str(), "queued" | "initiated" | "ringing"),
            _ => !FINAL_STATUSES.contains(&call.status.as_str()),
        };
        if ends {
            call.status = asked.clone();
            call.ended_by_api = Some(asked.clone());
        }
    }
    s.hung_up.push((sid.to_owned(), asked));
    call_resource_response(StatusCode::OK, account_sid, sid, s)
}

/// The call resource as Twilio's API shows it (the fields a client reads; prices are null).
fn call_resource_response(
    status: StatusCode,
    account_sid: &str,
    sid: &str,
    s: &Shared,
) -> Response {
    let Some(c) = s.calls.get(sid) else {
        return twilio_error(
            404,
            20404,
            &format!("The requested call {sid} was not found"),
        );
    };
    let uri = format!("/{API_VERSION}/Accounts/{account_sid}/Calls/{sid}");
    let ended = FINAL_STATUSES.contains(&c.status.as_str());
    let body = json!({
        "sid": sid,
        "account_sid": account_sid,
        "parent_call_sid": null,
        "date_created": rfc2822(c.created),
        "date_updated": rfc2822(SystemTime::now()),
        "to": c.to,
        "to_formatted": c.to,
        "from": c.from,
        "from_formatted": c.from,
        "phone_number_sid": null,
        "status": c.status,
        "start_time": null,
        "end_time": if ended { json!(rfc2822(SystemTime::now())) } else { json!(null) },
        "duration": null,
        "price": null,
        "price_unit": "USD",
        "direction": c.direction,
        "answered_by": null,
        "api_version": API_VERSION,
        "forwarded_from": null,
        "group_sid": null,
        "caller_name": null,
        "queue_time": "0",
        "trunk_sid": null,
        "uri": format!("{uri}.json"),
        "subresource_uris": {
            "notifications": format!("{uri}/Notifications.json"),
            "recordings": format!("{uri}/Recordings.json"),
            "payments": format!("{uri}/Payments.json"),
            "events": format!("{uri}/Events.json"),
        },
    });
    (status, axum::Json(body)).into_response()
}

/// `+` and 2 to 15 digits.
fn is_e164(number: &str) -> bool {
    number
        .strip_prefix('+')
        .is_some_and(|d| (2..=15).contains(&d.len()) && d.chars().all(|c| c.is_ascii_digit()))
}

/// An absolute http(s) URL with a host.
fn is_http_url(url: &str) -> bool {
    reqwest::Url::parse(url)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
}

/// Twilio's 401 for a request without the account's credentials.
fn unauthorized() -> Response {
    let mut r = twilio_error(401, 20003, "Authenticate");
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Basic realm=\"Twilio API\""),
    );
    r
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

/// An ID3v2.3 header followed by two silent MPEG-1 Layer III frames (128 kb/s, 44.1 kHz, mono):
/// what every recording is served as in MP3.
pub fn fake_mp3() -> Vec<u8> {
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
    "Echo",
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

/// `<Dial>` nouns the fake does not model: such a `<Dial>` stays [`Verb::Other`].
const OTHER_DIAL_NOUNS: &[&str] = &["Application", "Client", "Conference", "Sim", "Sip"];

/// Refuses an `attr` (`method`, `waitUrlMethod`) other than POST.
fn post_only(el: &Element, attr: &str) -> Result<(), String> {
    match el.attr(attr) {
        Some(m) if !m.eq_ignore_ascii_case("POST") => Err(format!(
            "<{} {attr}=\"{m}\">: the fake only sends POST",
            el.name
        )),
        _ => Ok(()),
    }
}

fn verb(el: &Element, in_gather: bool) -> Result<Verb, String> {
    post_only(el, "method")?;
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
            let speech = match el.attr("input") {
                None | Some("dtmf") => false,
                Some("speech" | "dtmf speech" | "speech dtmf") => true,
                Some(other) => return Err(format!("<Gather input={other:?}> is not an input")),
            };
            Verb::Gather {
                action: el.attr("action").unwrap_or_default().to_owned(),
                num_digits: el.number("numDigits")?,
                timeout: el.number("timeout")?,
                language: el.attr("language").map(str::to_owned),
                speech,
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
        // TaskRouter's `<Enqueue workflowSid>` (with its `<Task>`) is not modelled.
        "Enqueue" if el.attr("workflowSid").is_some() => Verb::Other("Enqueue".to_owned()),
        "Enqueue" => {
            el.no_child_elements()?;
            post_only(el, "waitUrlMethod")?;
            let name = el.text().trim().to_owned();
            if name.is_empty() {
                return Err("<Enqueue> without a queue name".into());
            }
            if name.chars().count() > MAX_QUEUE_NAME {
                return Err(format!(
                    "<Enqueue>: the queue name is longer than {MAX_QUEUE_NAME} characters"
                ));
            }
            Verb::Enqueue {
                name,
                action: el.attr("action").unwrap_or_default().to_owned(),
                wait_url: el.attr("waitUrl").unwrap_or_default().to_owned(),
            }
        }
        "Leave" => {
            el.no_content()?;
            Verb::Leave
        }
        "Dial" => return dial(el),
        name if OTHER_VERBS.contains(&name) => Verb::Other(name.to_owned()),
        name => return Err(format!("<{name}> is not a TwiML voice verb")),
    };
    Ok(verb)
}

/// `<Dial>`: a number as its text, up to ten `<Number>`s, or one `<Queue>`.
fn dial(el: &Element) -> Result<Verb, String> {
    let mut numbers = Vec::new();
    let mut queue = None;
    let mut queue_url = None;
    let mut unmodelled = false;
    let mut nouns = 0;
    for node in &el.children {
        let Node::Element(noun) = node else {
            continue;
        };
        nouns += 1;
        post_only(noun, "method")?;
        match noun.name.as_str() {
            "Number" => {
                noun.no_child_elements()?;
                let number = noun.text().trim().to_owned();
                if number.is_empty() {
                    return Err("<Number> without a number".into());
                }
                numbers.push(number);
            }
            "Queue" => {
                noun.no_child_elements()?;
                let name = noun.text().trim().to_owned();
                if name.is_empty() {
                    return Err("<Queue> without a queue name".into());
                }
                if queue.is_some() {
                    return Err("two <Queue>s in one <Dial>".into());
                }
                queue = Some(name);
                queue_url = noun.attr("url").map(str::to_owned);
            }
            name if OTHER_DIAL_NOUNS.contains(&name) => unmodelled = true,
            name => return Err(format!("<{name}> is not a <Dial> noun")),
        }
    }
    // The verb's own text, not its nouns'.
    let text: String = el
        .children
        .iter()
        .filter_map(|n| match n {
            Node::Text(t) => Some(t.as_str()),
            Node::Element(_) => None,
        })
        .collect();
    let text = text.trim();
    if !text.is_empty() {
        if nouns > 0 {
            return Err(format!("<Dial> holds both the text {text:?} and nouns"));
        }
        numbers.push(text.to_owned());
    }
    if unmodelled {
        return Ok(Verb::Other("Dial".to_owned()));
    }
    if queue.is_some() && !numbers.is_empty() {
        return Err("<Dial> cannot ring <Number>s and a <Queue> at once".into());
    }
    if numbers.len() > MAX_DIAL_NUMBERS {
        return Err(format!(
            "<Dial> holds {} <Number>s (at most {MAX_DIAL_NUMBERS})",
            numbers.len()
        ));
    }
    if queue.is_none() && numbers.is_empty() {
        return Err("<Dial> with nothing to dial".into());
    }
    let records = match el.attr("record") {
        None | Some("do-not-record") => false,
        Some(
            "record-from-answer"
            | "record-from-ringing"
            | "record-from-answer-dual"
            | "record-from-ringing-dual",
        ) => true,
        Some(other) => return Err(format!("<Dial record={other:?}> is not a recording mode")),
    };
    if el
        .attr("recordingStatusCallbackMethod")
        .is_some_and(|m| !m.eq_ignore_ascii_case("POST"))
    {
        return Err("recordingStatusCallbackMethod must be POST here".into());
    }
    Ok(Verb::Dial {
        action: el.attr("action").unwrap_or_default().to_owned(),
        timeout: el.number("timeout")?,
        caller_id: el.attr("callerId").map(str::to_owned),
        numbers,
        queue,
        queue_url,
        recording_callback: el
            .attr("recordingStatusCallback")
            .filter(|_| records)
            .map(str::to_owned),
    })
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
            .push((uri.to_string(), params.clone(), signed));
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
            // A caller's queue (relative URLs resolve against /queue).
            "/queue" => xml(concat!(
                "<Response><Say>Please hold</Say>",
                r#"<Enqueue action="queue-done" method="POST" waitUrl="hold" waitUrlMethod="POST">"#,
                "support-CA1</Enqueue><Say>after the queue</Say></Response>"
            )),
            "/queue-bare" => xml(
                r#"<Response><Enqueue waitUrl="/hold">bare</Enqueue><Say>after the queue</Say></Response>"#,
            ),
            // What the caller hears depends on how long it waited.
            "/hold" => {
                let waited: u32 = param(&params, "QueueTime").unwrap().parse().unwrap();
                let position = param(&params, "QueuePosition").unwrap();
                match waited {
                    13 => xml("<Response><Record/></Response>"),
                    0..60 => xml(&format!(
                        "<Response><Say>You are number {position}</Say>\
                         <Gather numDigits=\"1\"><Say>Press star</Say></Gather>\
                         <Pause length=\"5\"/></Response>"
                    )),
                    60..600 => xml("<Response><Say>Sorry</Say><Leave/><Say>no</Say></Response>"),
                    600..900 => xml("<Response><Hangup/><Say>no</Say></Response>"),
                    _ => xml("<Response><Redirect>hold-more</Redirect></Response>"),
                }
            }
            "/hold-more" => xml("<Response><Say>Still here</Say></Response>"),
            "/queue-done" => match param(&params, "QueueResult") {
                Some("leave") => xml("<Response><Say>Leave a message</Say><Hangup/></Response>"),
                Some("error") => xml("<Response><Say>Something went wrong</Say></Response>"),
                _ => xml("<Response/>"),
            },
            // The agent's leg.
            "/agent" => xml(concat!(
                "<Response><Say>A caller is waiting</Say>",
                r#"<Gather action="agent-key" numDigits="1" timeout="10">"#,
                "<Say>Press 1 to take the call</Say></Gather><Hangup/></Response>"
            )),
            "/agent-key" => xml(concat!(
                r#"<Response><Dial action="agent-done" timeout="20" callerId="+15550001111">"#,
                r#"<Queue url="whisper" method="POST">support-CA1</Queue></Dial>"#,
                "<Say>unreachable</Say></Response>"
            )),
            "/whisper" => xml(
                "<Response><Say>Connecting you to an agent</Say><Redirect>whisper-2</Redirect></Response>",
            ),
            "/whisper-2" => xml("<Response><Play>https://cdn.test/chime.mp3</Play></Response>"),
            "/agent-done" => match param(&params, "DialCallStatus") {
                Some("completed") => xml("<Response/>"),
                _ => xml("<Response><Say>The caller is gone</Say><Hangup/></Response>"),
            },
            "/ring-out" => xml(concat!(
                r#"<Response><Dial timeout="15"><Number>+15551112222</Number>"#,
                "<Number>+15553334444</Number></Dial><Say>after the dial</Say></Response>"
            )),
            "/dial-other" => xml("<Response><Dial><Queue>other</Queue></Dial></Response>"),
            _ => StatusCode::NOT_FOUND.into_response(),
        }
    }

    /// One request to the fake's REST API: (status, JSON body or null).
    async fn rest(
        fake: &FakeTwilioVoice,
        method: reqwest::Method,
        path: &str,
        auth: Option<(&str, &str)>,
        form: &[(&str, &str)],
    ) -> (u16, serde_json::Value) {
        let mut req =
            reqwest::Client::new().request(method, format!("{}{path}", fake.media_base()));
        if let Some((user, password)) = auth {
            req = req.basic_auth(user, Some(password));
        }
        if !form.is_empty() {
            req = req
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(serde_html_form::to_string(form).unwrap());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or_default())
    }

    /// `…/Calls.json`, or `…/Calls/{sid}.json`.
    fn calls_path(sid: Option<&str>) -> String {
        match sid {
            Some(sid) => format!("/2010-04-01/Accounts/{ACCOUNT}/Calls/{sid}.json"),
            None => format!("/2010-04-01/Accounts/{ACCOUNT}/Calls.json"),
        }
    }

    /// The server's part: places the agent's call to +15557654321 answering /agent.
    async fn place_agent_call(fake: &FakeTwilioVoice, app: &App) -> Placed {
        let url = format!("{}/agent", app.base);
        let status = format!("{}/status", app.base);
        let form = [
            ("To", "+15557654321"),
            ("From", "+15550001111"),
            ("Url", url.as_str()),
            ("Method", "POST"),
            ("StatusCallback", status.as_str()),
            ("StatusCallbackEvent", "initiated"),
            ("StatusCallbackEvent", "answered"),
            ("StatusCallbackMethod", "POST"),
            ("Timeout", "25"),
        ];
        let (status, body) = rest(
            fake,
            reqwest::Method::POST,
            &calls_path(None),
            Some((ACCOUNT, TOKEN)),
            &form,
        )
        .await;
        assert_eq!(status, 201, "{body}");
        fake.placed().pop().unwrap()
    }

    /// A caller rung into /queue and waiting in `support-CA1`.
    async fn queued_caller(fake: &FakeTwilioVoice, app: &App) -> Call {
        let mut call = fake.call(
            &format!("{}/queue", app.base),
            Some(&format!("{}/status", app.base)),
            "+5511987654321",
            "+15550001111",
        );
        call.ring().await.twiml();
        assert!(
            matches!(call.run().await, Reached::Queued { .. }),
            "not queued"
        );
        call
    }

    /// The requests the app got on `path` (ignoring the query).
    fn got_on(app: &App, path: &str) -> Vec<Vec<(String, String)>> {
        app.got
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _, _)| p.split('?').next() == Some(path))
            .map(|(_, params, _)| params.clone())
            .collect()
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
                    speech: false,
                    prompt: vec![Verb::Pause { seconds: 1 }]
                },
                Verb::Record {
                    action: String::new(),
                    recording_status_callback: None,
                    max_length: None
                },
                Verb::Hangup,
                Verb::Dial {
                    action: String::new(),
                    timeout: None,
                    caller_id: None,
                    numbers: vec!["+1555".into()],
                    queue: None,
                    queue_url: None,
                    recording_callback: None
                },
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
    fn a_recording_dial_names_its_callback_and_other_modes_are_refused() {
        let verbs = parse_twiml(concat!(
            "<Response>",
            r#"<Dial record="record-from-answer-dual" recordingStatusCallback="/rec?call=1">"#,
            "<Queue>q</Queue></Dial>",
            r#"<Dial record="do-not-record" recordingStatusCallback="/rec"><Queue>q</Queue></Dial>"#,
            "</Response>"
        ))
        .unwrap();
        let callbacks: Vec<_> = verbs
            .iter()
            .map(|v| match v {
                Verb::Dial {
                    recording_callback, ..
                } => recording_callback.clone(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(callbacks, vec![Some("/rec?call=1".to_owned()), None]);
        for bad in [
            r#"<Response><Dial record="yes"><Queue>q</Queue></Dial></Response>"#,
            r#"<Response><Dial record="record-from-answer" recordingStatusCallbackMethod="GET"><Queue>q</Queue></Dial></Response>"#,
        ] {
            assert!(parse_twiml(bad).is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn queue_twiml_is_parsed_strictly() {
        let verbs = parse_twiml(concat!(
            "<Response>",
            r#"<Enqueue action="done" method="post" waitUrl="/hold?x=1&amp;y=2" waitUrlMethod="POST">"#,
            " support &amp; sales </Enqueue>",
            "<Enqueue>plain</Enqueue>",
            r#"<Enqueue workflowSid="WW0"><Task>{}</Task></Enqueue>"#,
            "<Leave/>",
            r#"<Dial action="/dialed" timeout="20" callerId="+15550001111">"#,
            r#" <Queue url="whisper" method="POST">support</Queue> </Dial>"#,
            "<Dial><Number>+15551112222</Number><Number> +15553334444 </Number></Dial>",
            "<Dial><Client>agent</Client></Dial>",
            "</Response>"
        ))
        .unwrap();
        assert_eq!(
            verbs,
            vec![
                Verb::Enqueue {
                    name: "support & sales".into(),
                    action: "done".into(),
                    wait_url: "/hold?x=1&y=2".into()
                },
                Verb::Enqueue {
                    name: "plain".into(),
                    action: String::new(),
                    wait_url: String::new()
                },
                Verb::Other("Enqueue".into()),
                Verb::Leave,
                Verb::Dial {
                    action: "/dialed".into(),
                    timeout: Some(20),
                    caller_id: Some("+15550001111".into()),
                    numbers: vec![],
                    queue: Some("support".into()),
                    queue_url: Some("whisper".into()),
                    recording_callback: None
                },
                Verb::Dial {
                    action: String::new(),
                    timeout: None,
                    caller_id: None,
                    numbers: vec!["+15551112222".into(), "+15553334444".into()],
                    queue: None,
                    queue_url: None,
                    recording_callback: None
                },
                Verb::Other("Dial".into()),
            ]
        );
        let eleven = "<Number>+15551112222</Number>".repeat(11);
        for bad in [
            "<Response><Enqueue/></Response>",
            "<Response><Enqueue>  </Enqueue></Response>",
            "<Response><Enqueue waitUrlMethod=\"GET\">q</Enqueue></Response>",
            "<Response><Enqueue method=\"GET\">q</Enqueue></Response>",
            "<Response><Enqueue><Say>q</Say></Enqueue></Response>",
            &format!("<Response><Enqueue>{}</Enqueue></Response>", "q".repeat(65)),
            "<Response><Enqueue>q</Response>",
            "<Response><Leave>now</Leave></Response>",
            "<Response><Gather><Leave/></Gather></Response>",
            "<Response><Dial></Dial></Response>",
            "<Response><Dial/></Response>",
            "<Response><Dial timeout=\"soon\">+1555</Dial></Response>",
            "<Response><Dial method=\"GET\">+1555</Dial></Response>",
            "<Response><Dial>+1555<Number>+1556</Number></Dial></Response>",
            "<Response><Dial><Queue>a</Queue><Number>+1556</Number></Dial></Response>",
            "<Response><Dial><Queue>a</Queue><Queue>b</Queue></Dial></Response>",
            "<Response><Dial><Queue></Queue></Dial></Response>",
            "<Response><Dial><Queue method=\"GET\">a</Queue></Dial></Response>",
            "<Response><Dial><Number><Say>x</Say></Number></Dial></Response>",
            "<Response><Dial><Number/></Dial></Response>",
            "<Response><Dial><Say>x</Say></Dial></Response>",
            &format!("<Response><Dial>{eleven}</Dial></Response>"),
            "<Response><Gather><Dial>+1555</Dial></Gather></Response>",
        ] {
            assert!(parse_twiml(bad).is_err(), "accepted {bad:?}");
        }
    }

    #[tokio::test]
    async fn calls_api_places_and_hangs_up_calls() {
        let fake = FakeTwilioVoice::start(ACCOUNT, TOKEN).await;
        let app = voice_app().await;
        let base = &app.base;
        let ok = Some((ACCOUNT, TOKEN));
        let post = reqwest::Method::POST;

        let placed = place_agent_call(&fake, &app).await;
        assert!(is_sid(&placed.sid, "CA"), "{}", placed.sid);
        assert_eq!(
            placed,
            Placed {
                sid: placed.sid.clone(),
                to: "+15557654321".into(),
                from: "+15550001111".into(),
                url: format!("{base}/agent"),
                method: Some("POST".into()),
                status_callback: Some(format!("{base}/status")),
                status_events: vec!["initiated".into(), "answered".into()],
                timeout: Some(25),
            }
        );
        let (status, body) = rest(
            &fake,
            reqwest::Method::GET,
            &calls_path(Some(&placed.sid)),
            ok,
            &[],
        )
        .await;
        assert_eq!(status, 200);
        for (field, value) in [
            ("sid", placed.sid.as_str()),
            ("account_sid", ACCOUNT),
            ("to", "+15557654321"),
            ("from", "+15550001111"),
            ("status", "queued"),
            ("direction", "outbound-api"),
            ("api_version", "2010-04-01"),
        ] {
            assert_eq!(body[field], value, "{field}: {body}");
        }
        assert_eq!(
            body["uri"],
            format!("/2010-04-01/Accounts/{ACCOUNT}/Calls/{}.json", placed.sid)
        );

        // Refused: not the account's credentials, or a parameter missing or wrong.
        let url = format!("{base}/agent");
        let full = [
            ("To", "+15557654321"),
            ("From", "+15550001111"),
            ("Url", url.as_str()),
        ];
        for auth in [None, Some((ACCOUNT, "wrong")), Some(("SK0123", TOKEN))] {
            let (status, body) = rest(&fake, post.clone(), &calls_path(None), auth, &full).await;
            assert_eq!(
                (status, body["code"].as_u64()),
                (401, Some(20003)),
                "{auth:?}"
            );
        }
        for (form, code) in [
            (vec![full[1], full[2]], 21201),
            (vec![full[0], full[2]], 21213),
            (vec![full[0], full[1]], 21205),
            (vec![("To", "5557654321"), full[1], full[2]], 21211),
            (vec![full[0], full[1], ("Url", "/agent")], 21205),
            (
                vec![
                    full[0],
                    full[1],
                    full[2],
                    ("StatusCallbackEvent", "bridged"),
                ],
                21200,
            ),
            (vec![full[0], full[1], full[2], ("Method", "PUT")], 21200),
        ] {
            let (status, body) = rest(&fake, post.clone(), &calls_path(None), ok, &form).await;
            assert_eq!(status, 400, "{form:?}: {body}");
            assert_eq!(body["code"], code, "{form:?}: {body}");
            assert_eq!(body["status"], 400);
            assert_eq!(
                body["more_info"],
                format!("https://www.twilio.com/docs/errors/{code}")
            );
        }
        fake.set_calls_fail(Some(500));
        let (status, body) = rest(&fake, post.clone(), &calls_path(None), ok, &full).await;
        assert_eq!((status, body["code"].as_u64()), (500, Some(20500)));
        fake.set_calls_fail(Some(400));
        assert_eq!(
            rest(&fake, post.clone(), &calls_path(None), ok, &full)
                .await
                .0,
            400
        );
        fake.set_calls_fail(None);
        let (status, second) = rest(&fake, post.clone(), &calls_path(None), ok, &full).await;
        assert_eq!(status, 201);
        let second_sid = second["sid"].as_str().unwrap().to_owned();
        let all = fake.placed();
        assert_eq!(all.len(), 2, "refused requests place nothing");
        assert_eq!(
            (
                all[1].method.as_deref(),
                all[1].status_events.len(),
                all[1].timeout
            ),
            (None, 0, None)
        );
        let requests = fake.api_requests();
        assert_eq!(requests.len(), 15);
        assert_eq!(requests.iter().filter(|r| !r.authorized).count(), 3);
        assert_eq!(requests[0].status, 201);
        assert_eq!(
            requests[0]
                .params
                .iter()
                .filter(|(k, _)| k == "StatusCallbackEvent")
                .count(),
            2
        );

        // Status callbacks: only the events asked, and completed.
        let mut agent = fake.outbound(&placed);
        assert_eq!(agent.sid(), placed.sid);
        assert_eq!(agent.direction(), "outbound-api");
        assert_eq!(agent.status("initiated", 0, None).await.status, 200);
        let ringing = agent.status("ringing", 1, None).await;
        assert_eq!(ringing.status, 0, "ringing was not asked for");
        let answered = agent.answer().await;
        assert_eq!(answered.status, 200);
        assert_eq!(agent.status("in-progress", 2, None).await.status, 200);
        let got = got_on(&app, "/agent");
        for (name, value) in [
            ("CallSid", placed.sid.as_str()),
            ("CallStatus", "in-progress"),
            ("Direction", "outbound-api"),
            ("From", "+15550001111"),
            ("To", "+15557654321"),
        ] {
            assert_eq!(param(&got[0], name), Some(value), "{name}");
        }
        let statuses = got_on(&app, "/status");
        assert_eq!(statuses.len(), 2);
        assert_eq!(param(&statuses[0], "CallStatus"), Some("initiated"));
        assert_eq!(param(&statuses[0], "Direction"), Some("outbound-api"));
        assert_eq!(param(&statuses[1], "CallStatus"), Some("in-progress"));

        // Hang-ups: canceled only ends a call not yet answered; completed ends any.
        let hang_up = |sid: String, status: &'static str| {
            let fake = &fake;
            async move {
                rest(
                    fake,
                    reqwest::Method::POST,
                    &calls_path(Some(&sid)),
                    ok,
                    &[("Status", status)],
                )
                .await
            }
        };
        let (status, body) = hang_up(second_sid.clone(), "canceled").await;
        assert_eq!((status, body["status"].as_str()), (200, Some("canceled")));
        let mut unanswered = fake.outbound(&all[1]);
        assert_eq!(unanswered.answer().await.status, 0);
        let canceled = Reached::HungUpByApi {
            status: "canceled".into(),
        };
        assert_eq!(unanswered.run().await, canceled);

        assert!(matches!(agent.run().await, Reached::Gather { .. }));
        let (status, body) = hang_up(placed.sid.clone(), "canceled").await;
        assert_eq!(
            (status, body["status"].as_str()),
            (200, Some("in-progress"))
        );
        assert!(matches!(agent.run().await, Reached::Gather { .. }));
        let (status, body) = hang_up(placed.sid.clone(), "completed").await;
        assert_eq!((status, body["status"].as_str()), (200, Some("completed")));
        let completed = Reached::HungUpByApi {
            status: "completed".into(),
        };
        assert_eq!(agent.run().await, completed);
        assert_eq!(agent.press("1").await.status, 0);
        assert_eq!(agent.run().await, completed);

        let unknown = format!("CA{}", "0".repeat(32));
        let (status, body) = hang_up(unknown, "completed").await;
        assert_eq!((status, body["code"].as_u64()), (404, Some(20404)));
        assert_eq!(hang_up(placed.sid.clone(), "busy").await.0, 400);
        let (status, _) = rest(
            &fake,
            post.clone(),
            &calls_path(Some(&placed.sid)),
            None,
            &[("Status", "completed")],
        )
        .await;
        assert_eq!(status, 401);
        assert_eq!(
            fake.hung_up_by_api(),
            vec![
                (second_sid, "canceled".to_owned()),
                (placed.sid.clone(), "canceled".to_owned()),
                (placed.sid.clone(), "completed".to_owned()),
            ]
        );
        // The recordings are served as before, beside the API.
        assert!(fake.downloads().is_empty());
    }

    #[tokio::test]
    async fn a_queued_caller_waits_then_leaves_by_the_action() {
        let fake = FakeTwilioVoice::start(ACCOUNT, TOKEN).await;
        let app = voice_app().await;
        let base = &app.base;
        let mut call = queued_caller(&fake, &app).await;
        let queued = Reached::Queued {
            name: "support-CA1".into(),
            action: format!("{base}/queue-done"),
            wait_url: format!("{base}/hold"),
        };
        assert_eq!(call.run().await, queued, "run() again stays in the queue");
        assert!(call.is_queued());

        // The wait TwiML runs out: still queued.
        assert_eq!(call.wait(1, 10).await, queued);
        let said: Vec<String> = call.said().into_iter().map(|(_, t)| t).collect();
        assert_eq!(said, ["Please hold", "You are number 1", "Press star"]);
        let holds = got_on(&app, "/hold");
        let queue_sid = param(&holds[0], "QueueSid").unwrap().to_owned();
        assert!(is_sid(&queue_sid, "QU"), "{queue_sid}");
        for (name, value) in [
            ("CallSid", call.sid()),
            ("CallStatus", "in-progress"),
            ("QueuePosition", "1"),
            ("QueueTime", "10"),
            ("AvgQueueTime", "10"),
            ("CurrentQueueSize", "1"),
            ("MaxQueueSize", "1000"),
        ] {
            assert_eq!(param(&holds[0], name), Some(value), "{name}");
        }

        // A <Redirect> in the wait TwiML is followed, with the queue's parameters.
        assert_eq!(call.wait(3, 900).await, queued);
        let more = got_on(&app, "/hold-more");
        assert_eq!(param(&more[0], "QueueTime"), Some("900"));
        assert_eq!(param(&more[0], "CurrentQueueSize"), Some("3"));
        assert_eq!(call.said().last().unwrap().1, "Still here");

        // <Leave/>: the action (QueueResult=leave) and its TwiML.
        assert_eq!(call.wait(1, 75).await, Reached::Hangup);
        assert!(!call.is_queued());
        let said: Vec<String> = call.said().into_iter().map(|(_, t)| t).collect();
        assert_eq!(&said[said.len() - 2..], ["Sorry", "Leave a message"]);
        let done = got_on(&app, "/queue-done");
        assert_eq!(done.len(), 1);
        for (name, value) in [
            ("QueueResult", "leave"),
            ("QueueSid", queue_sid.as_str()),
            ("QueueTime", "75"),
            ("CallStatus", "in-progress"),
        ] {
            assert_eq!(param(&done[0], name), Some(value), "{name}");
        }
        assert!(app.got.lock().unwrap().iter().all(|(_, _, signed)| *signed));
        assert!(call.sent().iter().all(|s| s.status == 200));

        // Without an action, leaving goes on after <Enqueue>.
        let mut bare = fake.call(
            &format!("{base}/queue-bare"),
            None,
            "+15551230000",
            "+15550001111",
        );
        bare.ring().await.twiml();
        assert_eq!(
            bare.run().await,
            Reached::Queued {
                name: "bare".into(),
                action: String::new(),
                wait_url: format!("{base}/hold"),
            }
        );
        assert_eq!(bare.wait(1, 60).await, Reached::End);
        let said: Vec<String> = bare.said().into_iter().map(|(_, t)| t).collect();
        assert_eq!(said, ["Sorry", "after the queue"]);
        assert_eq!(bare.sent().len(), 2);

        // A verb a waitUrl may not use takes the caller out with QueueResult=error.
        let mut broken = queued_caller(&fake, &app).await;
        assert_eq!(broken.wait(1, 13).await, Reached::End);
        assert_eq!(broken.said().last().unwrap().1, "Something went wrong");
        let done = got_on(&app, "/queue-done");
        assert_eq!(param(&done[1], "QueueResult"), Some("error"));
        // The queue outlives its callers: same SID.
        assert_eq!(param(&done[1], "QueueSid"), Some(queue_sid.as_str()));
    }

    #[tokio::test]
    async fn hanging_up_in_the_queue_posts_the_action() {
        let fake = FakeTwilioVoice::start(ACCOUNT, TOKEN).await;
        let app = voice_app().await;
        let mut call = queued_caller(&fake, &app).await;
        let answer = call.hang_up_in_queue(30).await;
        assert_eq!(answer.status, 200);
        assert_eq!(call.run().await, Reached::CallerHungUp);
        assert!(!call.is_queued());
        let done = got_on(&app, "/queue-done");
        for (name, value) in [
            ("CallSid", call.sid()),
            ("QueueResult", "hangup"),
            ("QueueTime", "30"),
            ("CallStatus", "completed"),
        ] {
            assert_eq!(param(&done[0], name), Some(value), "{name}");
        }

        // <Hangup/> in the wait TwiML: QueueResult=hangup too, the call is over.
        let mut second = queued_caller(&fake, &app).await;
        assert_eq!(second.wait(1, 600).await, Reached::Hangup);
        assert_eq!(second.run().await, Reached::Hangup);
        let done = got_on(&app, "/queue-done");
        assert_eq!(param(&done[1], "QueueResult"), Some("hangup"));
        assert_eq!(param(&done[1], "CallStatus"), Some("completed"));
        assert!(!second.said().iter().any(|(_, t)| t == "no"));

        // No action: nothing to post.
        let mut bare = fake.call(
            &format!("{}/queue-bare", app.base),
            None,
            "+15551230000",
            "+15550001111",
        );
        bare.ring().await.twiml();
        bare.run().await;
        let answer = bare.hang_up_in_queue(5).await;
        assert_eq!((answer.status, answer.error.is_some()), (0, true));
        assert_eq!(bare.run().await, Reached::CallerHungUp);
    }

    #[tokio::test]
    async fn an_agent_answers_presses_1_and_is_bridged_with_the_caller() {
        let fake = FakeTwilioVoice::start(ACCOUNT, TOKEN).await;
        let app = voice_app().await;
        let base = &app.base;
        let mut caller = queued_caller(&fake, &app).await;
        assert!(caller.wait(1, 5).await == caller.run().await);

        let placed = place_agent_call(&fake, &app).await;
        let mut agent = fake.outbound(&placed);
        agent.answer().await.twiml();
        assert!(matches!(agent.run().await, Reached::Gather { .. }));
        agent.press("1").await.twiml();
        assert_eq!(
            agent.run().await,
            Reached::Dialing {
                action: format!("{base}/agent-done"),
                timeout: Some(20),
                caller_id: Some("+15550001111".into()),
                numbers: vec![],
                queue: Some("support-CA1".into()),
                queue_url: Some(format!("{base}/whisper")),
            }
        );

        let whisper = bridge(&mut agent, &mut caller, 42).await;
        assert_eq!((whisper.status, &whisper.error), (200, &None));
        // The whisper is the caller's, not the agent's.
        assert_eq!(
            caller.said().last().unwrap().1,
            "Connecting you to an agent"
        );
        assert_eq!(
            caller.played(),
            vec!["https://cdn.test/chime.mp3".to_owned()]
        );
        let agent_said: Vec<String> = agent.said().into_iter().map(|(_, t)| t).collect();
        assert_eq!(
            agent_said,
            ["A caller is waiting", "Press 1 to take the call"]
        );
        assert_eq!(
            agent.run().await,
            Reached::Bridged {
                with: caller.sid().to_owned()
            }
        );
        assert_eq!(
            caller.run().await,
            Reached::Bridged {
                with: agent.sid().to_owned()
            }
        );
        assert!(!caller.is_queued());
        assert!(
            got_on(&app, "/queue-done").is_empty() && got_on(&app, "/agent-done").is_empty(),
            "the actions wait until both hang up"
        );

        let (agent_done, caller_done) = end_bridge(&mut agent, &mut caller, 95).await;
        assert_eq!((agent_done.status, caller_done.status), (200, 200));
        assert_eq!(agent.run().await, Reached::CallerHungUp);
        assert_eq!(caller.run().await, Reached::CallerHungUp);

        let queue_sid = param(&got_on(&app, "/hold")[0], "QueueSid")
            .unwrap()
            .to_owned();
        for path in ["/whisper", "/whisper-2"] {
            let whisper = &got_on(&app, path)[0];
            for (name, value) in [
                ("CallSid", caller.sid()),
                ("Direction", "inbound"),
                ("DequeingCallSid", agent.sid()),
                ("QueueSid", queue_sid.as_str()),
                ("QueueTime", "42"),
            ] {
                assert_eq!(param(whisper, name), Some(value), "{path} {name}");
            }
        }
        let dial_done = &got_on(&app, "/agent-done")[0];
        for (name, value) in [
            ("CallSid", agent.sid()),
            ("Direction", "outbound-api"),
            ("CallStatus", "completed"),
            ("DialCallStatus", "completed"),
            ("DialCallSid", caller.sid()),
            ("DialCallDuration", "95"),
            ("DialBridged", "true"),
        ] {
            assert_eq!(param(dial_done, name), Some(value), "{name}");
        }
        let queue_done = &got_on(&app, "/queue-done")[0];
        for (name, value) in [
            ("CallSid", caller.sid()),
            ("CallStatus", "completed"),
            ("QueueResult", "bridged"),
            ("QueueSid", queue_sid.as_str()),
            ("QueueTime", "42"),
        ] {
            assert_eq!(param(queue_done, name), Some(value), "{name}");
        }
        assert!(app.got.lock().unwrap().iter().all(|(_, _, signed)| *signed));
        let (_, body) = rest(
            &fake,
            reqwest::Method::GET,
            &calls_path(Some(agent.sid())),
            Some((ACCOUNT, TOKEN)),
            &[],
        )
        .await;
        assert_eq!(body["status"], "completed");
    }

    #[tokio::test]
    async fn a_dial_that_ends_unbridged_posts_its_status() {
        let fake = FakeTwilioVoice::start(ACCOUNT, TOKEN).await;
        let app = voice_app().await;

        // Nobody in the queue until the timeout: the action, then its TwiML.
        let placed = place_agent_call(&fake, &app).await;
        let mut agent = fake.outbound(&placed);
        agent.answer().await.twiml();
        agent.run().await;
        agent.press("1").await.twiml();
        assert!(matches!(agent.run().await, Reached::Dialing { .. }));
        assert_eq!(agent.dial_ends("no-answer", None).await, Reached::Hangup);
        let said: Vec<String> = agent.said().into_iter().map(|(_, t)| t).collect();
        assert_eq!(said.last().unwrap(), "The caller is gone");
        assert!(!said.iter().any(|t| t == "unreachable"));
        let done = &got_on(&app, "/agent-done")[0];
        assert_eq!(param(done, "DialCallStatus"), Some("no-answer"));
        assert_eq!(param(done, "DialBridged"), Some("false"));
        assert_eq!(param(done, "CallStatus"), Some("in-progress"));
        assert_eq!(param(done, "DialCallSid"), None);
        assert_eq!(param(done, "DialCallDuration"), None);

        // Numbers without an action: execution goes on after <Dial>.
        let mut call = fake.call(
            &format!("{}/ring-out", app.base),
            None,
            "+15551230000",
            "+15550001111",
        );
        call.ring().await.twiml();
        assert_eq!(
            call.run().await,
            Reached::Dialing {
                action: String::new(),
                timeout: Some(15),
                caller_id: None,
                numbers: vec!["+15551112222".into(), "+15553334444".into()],
                queue: None,
                queue_url: None,
            }
        );
        assert_eq!(call.dial_ends("busy", Some(0)).await, Reached::End);
        assert_eq!(call.said().last().unwrap().1, "after the dial");
        assert_eq!(call.sent().len(), 1);
    }

    #[tokio::test]
    #[should_panic(expected = "dials queue \"other\" but the caller waits in \"support-CA1\"")]
    async fn bridging_another_queue_is_a_test_mistake() {
        let fake = FakeTwilioVoice::start(ACCOUNT, TOKEN).await;
        let app = voice_app().await;
        let mut caller = queued_caller(&fake, &app).await;
        let mut agent = fake.call(
            &format!("{}/dial-other", app.base),
            None,
            "+15557654321",
            "+15550001111",
        );
        agent.ring().await.twiml();
        assert!(matches!(agent.run().await, Reached::Dialing { .. }));
        bridge(&mut agent, &mut caller, 1).await;
    }

    #[test]
    fn timestamps_are_rfc_2822() {
        assert_eq!(rfc2822(UNIX_EPOCH), "Thu, 01 Jan 1970 00:00:00 +0000");
        let at = UNIX_EPOCH + Duration::from_secs(1_709_210_096);
        assert_eq!(rfc2822(at), "Thu, 29 Feb 2024 12:34:56 +0000");
    }
}
