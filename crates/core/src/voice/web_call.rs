//! Calls from the website widget (WebRTC) without I/O: the inbox's setting that allows them
//! (voice, or voice and video, the STUN/TURN servers browsers use, how long an agent's app
//! rings), the signalling messages the server relays between the two browsers (checked, and
//! passed on with only the fields WebRTC needs), and how a web call's end is counted.
//!
//! Media never passes through the server: it relays the offer, the answer and the ICE
//! candidates between the visitor's and the agent's sockets, and keeps the call's record.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::validate::FieldError;
use crate::voice::call::Outcome;

/// How a call reaches us.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Medium {
    /// A phone line (the provider's call).
    Phone,
    /// Voice from the widget, browser to browser.
    WebVoice,
    /// Voice and video from the widget.
    WebVideo,
}

impl Medium {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Phone => "phone",
            Self::WebVoice => "web_voice",
            Self::WebVideo => "web_video",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Phone, Self::WebVoice, Self::WebVideo]
            .into_iter()
            .find(|m| m.as_str() == s)
    }

    pub fn is_web(self) -> bool {
        self != Self::Phone
    }
}

/// A STUN or TURN server as browsers take it (`RTCIceServer`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// A website inbox's `web_calls` setting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebCallSettings {
    /// Visitors may call from the widget.
    pub enabled: bool,
    /// They may turn their camera on (video calls); voice only otherwise.
    pub video: bool,
    /// They may ask to be called back on the phone (a number and a time that suits them),
    /// whether or not they can call from the browser.
    #[serde(default)]
    pub callbacks: bool,
    /// How long one agent's app rings before the next agent's does.
    pub ring_seconds: u32,
    /// None needed when visitor and agent share a network; a TURN server otherwise.
    pub ice_servers: Vec<IceServer>,
}

impl Default for WebCallSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            video: false,
            callbacks: false,
            ring_seconds: DEFAULT_RING_SECONDS,
            ice_servers: Vec::new(),
        }
    }
}

pub const DEFAULT_RING_SECONDS: u32 = 20;
const RING_SECONDS: std::ops::RangeInclusive<u64> = 10..=60;
const MAX_ICE_SERVERS: usize = 10;
const MAX_URLS: usize = 10;
const MAX_TEXT: usize = 512;

impl WebCallSettings {
    /// Reads the setting as an administrator gives it; errors name `channel.web_calls.<field>`.
    /// Missing fields take their defaults.
    pub fn from_json(value: &Value) -> Result<Self, FieldError> {
        let base = "channel.web_calls";
        let Some(object) = value.as_object() else {
            return Err(FieldError::new(
                base,
                "invalid",
                format!("{base} must be an object"),
            ));
        };
        if let Some(unknown) = object.keys().find(|k| {
            ![
                "enabled",
                "video",
                "callbacks",
                "ring_seconds",
                "ice_servers",
            ]
            .contains(&k.as_str())
        }) {
            return Err(FieldError::new(
                &format!("{base}.{unknown}"),
                "unknown",
                format!("{base}.{unknown} is not a web call setting"),
            ));
        }
        let flag = |name: &str| match object.get(name) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(FieldError::new(
                &format!("{base}.{name}"),
                "invalid",
                format!("{base}.{name} must be true or false"),
            )),
        };
        let ring_seconds = match object.get("ring_seconds") {
            None | Some(Value::Null) => DEFAULT_RING_SECONDS,
            Some(v) => match v.as_u64().filter(|n| RING_SECONDS.contains(n)) {
                Some(n) => n as u32,
                None => {
                    return Err(FieldError::new(
                        &format!("{base}.ring_seconds"),
                        "invalid",
                        format!(
                            "{base}.ring_seconds must be a whole number of seconds from {} to {}",
                            RING_SECONDS.start(),
                            RING_SECONDS.end()
                        ),
                    ));
                }
            },
        };
        let ice_servers = match object.get("ice_servers") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(list)) if list.len() <= MAX_ICE_SERVERS => list
                .iter()
                .enumerate()
                .map(|(i, s)| ice_server(&format!("{base}.ice_servers[{i}]"), s))
                .collect::<Result<_, _>>()?,
            Some(_) => {
                return Err(FieldError::new(
                    &format!("{base}.ice_servers"),
                    "invalid",
                    format!(
                        "{base}.ice_servers must be a list of at most {MAX_ICE_SERVERS} servers"
                    ),
                ));
            }
        };
        Ok(Self {
            enabled: flag("enabled")?,
            video: flag("video")?,
            callbacks: flag("callbacks")?,
            ring_seconds,
            ice_servers,
        })
    }

    /// The inbox's setting; unreadable (saved before it was checked) or absent means no calls.
    pub fn of(inbox: &crate::model::Inbox) -> Self {
        inbox
            .settings
            .get("web_calls")
            .filter(|v| !v.is_null())
            .and_then(|v| Self::from_json(v).ok())
            .unwrap_or_default()
    }

    /// The medium a visitor asking for `video` gets, or why they may not call.
    pub fn medium_for(&self, video: bool) -> Result<Medium, &'static str> {
        match (self.enabled, video, self.video) {
            (false, _, _) => Err("calls from the widget are not enabled for this inbox"),
            (true, true, false) => Err("this inbox takes voice calls only"),
            (true, true, true) => Ok(Medium::WebVideo),
            (true, false, _) => Ok(Medium::WebVoice),
        }
    }
}

fn ice_server(field: &str, value: &Value) -> Result<IceServer, FieldError> {
    let invalid = |message: String| FieldError::new(field, "invalid", message);
    let Some(object) = value.as_object() else {
        return Err(invalid(format!(
            "{field} must be an object with urls, and username and credential for TURN"
        )));
    };
    let urls: Vec<String> = match object.get("urls") {
        Some(Value::String(s)) => vec![s.trim().to_owned()],
        Some(Value::Array(a)) if !a.is_empty() && a.len() <= MAX_URLS => a
            .iter()
            .map(|u| u.as_str().map(|s| s.trim().to_owned()))
            .collect::<Option<_>>()
            .ok_or_else(|| invalid(format!("{field}.urls must be strings")))?,
        _ => {
            return Err(invalid(format!(
                "{field}.urls must be one URL or a list of at most {MAX_URLS}"
            )));
        }
    };
    let mut turn = false;
    for url in &urls {
        let scheme = url.split(':').next().unwrap_or_default();
        turn |= scheme.starts_with("turn");
        let rest = &url[scheme.len()..];
        if !["stun", "stuns", "turn", "turns"].contains(&scheme)
            || rest.len() < 2
            || url.len() > MAX_TEXT
            || url.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(invalid(format!(
                "`{url}` is not a STUN or TURN URL (stun:host:port, turn:host:port?transport=udp)"
            )));
        }
    }
    let text = |name: &str| -> Result<Option<String>, FieldError> {
        match object.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.len() <= MAX_TEXT => {
                Ok(Some(s.clone()).filter(|s| !s.is_empty()))
            }
            Some(_) => Err(invalid(format!(
                "{field}.{name} must be text of at most {MAX_TEXT} bytes"
            ))),
        }
    };
    let username = text("username")?;
    let credential = text("credential")?;
    if turn && (username.is_none() || credential.is_none()) {
        return Err(FieldError::new(
            &format!("{field}.credential"),
            "blank",
            "a TURN server needs a username and a credential",
        ));
    }
    Ok(IceServer {
        urls,
        username,
        credential,
    })
}

/// The largest session description relayed (a video offer with many codecs is some 10 KB).
pub const MAX_SDP: usize = 12 * 1024;
const MAX_CANDIDATE: usize = 1024;

/// A signalling message from one browser for the other, as the server passes it on: a session
/// description (`{"description": {"type": "offer"|"answer", "sdp": …}}`), an ICE candidate
/// (`{"candidate": {"candidate": …, "sdpMid": …, "sdpMLineIndex": …}}`), or the end of the
/// candidates (`{"candidate": null}`). Only these fields are kept, so nothing else rides along
/// from one party to the other.
pub fn relayed_signal(data: &Value) -> Result<Value, &'static str> {
    let Some(object) = data.as_object() else {
        return Err("a call signal is an object with a description or a candidate");
    };
    match (object.get("description"), object.get("candidate")) {
        (Some(d), None) => {
            let kind = d.get("type").and_then(Value::as_str);
            let sdp = d.get("sdp").and_then(Value::as_str);
            match (kind, sdp) {
                (Some(k @ ("offer" | "answer")), Some(sdp)) if sdp.len() <= MAX_SDP => {
                    Ok(json!({"description": {"type": k, "sdp": sdp}}))
                }
                _ => Err("a description has a type (offer or answer) and an sdp of at most 12 KB"),
            }
        }
        (None, Some(Value::Null)) => Ok(json!({"candidate": null})),
        (None, Some(c)) => {
            let text = c.get("candidate").and_then(Value::as_str);
            let mid = c.get("sdpMid");
            let line = c.get("sdpMLineIndex");
            let mid_ok =
                mid.is_none_or(|m| m.is_null() || m.as_str().is_some_and(|s| s.len() <= 64));
            let line_ok = line.is_none_or(|l| l.is_null() || l.as_u64().is_some_and(|n| n < 64));
            match text {
                Some(t) if t.len() <= MAX_CANDIDATE && mid_ok && line_ok => {
                    let mut out = Map::new();
                    out.insert("candidate".into(), Value::String(t.to_owned()));
                    out.insert("sdpMid".into(), mid.cloned().unwrap_or(Value::Null));
                    out.insert("sdpMLineIndex".into(), line.cloned().unwrap_or(Value::Null));
                    Ok(json!({ "candidate": out }))
                }
                _ => Err("a candidate has its candidate line, sdpMid and sdpMLineIndex"),
            }
        }
        _ => Err("a call signal is an object with a description or a candidate"),
    }
}

/// Who ended a web call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndedBy {
    Visitor,
    Agent,
    /// Nobody took it: every agent's app rang out or declined, or none was free.
    NobodyAnswered,
    /// A party's browser went away without hanging up.
    Lost,
}

/// How a web call that ended counts: talked (an agent had answered), abandoned (the visitor
/// hung up while it rang, or their browser left), or missed (nobody took it).
pub fn web_outcome(answered: bool, by: EndedBy) -> Outcome {
    match (answered, by) {
        (true, _) => Outcome::Answered,
        (false, EndedBy::Visitor | EndedBy::Lost) => Outcome::Abandoned,
        (false, EndedBy::Agent | EndedBy::NobodyAnswered) => Outcome::Missed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_read_with_defaults_and_checked() {
        let s = WebCallSettings::from_json(&json!({"enabled": true})).unwrap();
        assert!(s.enabled && !s.video && !s.callbacks);
        assert!(
            WebCallSettings::from_json(&json!({"callbacks": true}))
                .unwrap()
                .callbacks
        );
        assert_eq!(s.ring_seconds, DEFAULT_RING_SECONDS);
        assert_eq!(s.medium_for(false), Ok(Medium::WebVoice));
        assert!(s.medium_for(true).is_err());
        let s = WebCallSettings::from_json(&json!({
            "enabled": true, "video": true, "ring_seconds": 30,
            "ice_servers": [{"urls": "stun:stun.example.org:3478"},
                            {"urls": ["turn:turn.example.org:3478?transport=udp"], "username": "u", "credential": "p"}]
        }))
        .unwrap();
        assert_eq!(s.medium_for(true), Ok(Medium::WebVideo));
        assert_eq!(s.ice_servers.len(), 2);
        assert_eq!(s.ice_servers[0].urls, vec!["stun:stun.example.org:3478"]);
        assert!(WebCallSettings::default().medium_for(false).is_err());
    }

    #[test]
    fn bad_settings_name_their_field() {
        let field = |v: Value| WebCallSettings::from_json(&v).unwrap_err().field;
        assert_eq!(field(json!([])), "channel.web_calls");
        assert_eq!(
            field(json!({"enabled": "yes"})),
            "channel.web_calls.enabled"
        );
        assert_eq!(
            field(json!({"ring_seconds": 5})),
            "channel.web_calls.ring_seconds"
        );
        assert_eq!(field(json!({"colour": 1})), "channel.web_calls.colour");
        assert_eq!(
            field(json!({"ice_servers": [{"urls": "http://example.org"}]})),
            "channel.web_calls.ice_servers[0]"
        );
        assert_eq!(
            field(json!({"ice_servers": [{"urls": "turn:t.example.org"}]})),
            "channel.web_calls.ice_servers[0].credential"
        );
        assert_eq!(
            field(json!({"ice_servers": [{"urls": []}]})),
            "channel.web_calls.ice_servers[0]"
        );
    }

    #[test]
    fn only_descriptions_and_candidates_are_relayed_and_only_their_fields() {
        let offer =
            relayed_signal(&json!({"description": {"type": "offer", "sdp": "v=0", "x": 1}, }));
        assert_eq!(
            offer,
            Ok(json!({"description": {"type": "offer", "sdp": "v=0"}}))
        );
        let c = relayed_signal(
            &json!({"candidate": {"candidate": "candidate:1 1 udp 1 192.0.2.2 5000 typ host", "sdpMid": "0", "sdpMLineIndex": 0, "usernameFragment": "z"}}),
        );
        assert_eq!(
            c,
            Ok(
                json!({"candidate": {"candidate": "candidate:1 1 udp 1 192.0.2.2 5000 typ host", "sdpMid": "0", "sdpMLineIndex": 0}})
            )
        );
        assert_eq!(
            relayed_signal(&json!({"candidate": null})),
            Ok(json!({"candidate": null}))
        );
        for bad in [
            json!("hello"),
            json!({}),
            json!({"description": {"type": "rollback", "sdp": ""}}),
            json!({"description": {"type": "offer", "sdp": "a".repeat(MAX_SDP + 1)}}),
            json!({"description": {"type": "offer", "sdp": "v=0"}, "candidate": null}),
            json!({"candidate": {"candidate": 5}}),
            json!({"candidate": {"candidate": "c", "sdpMLineIndex": -1}}),
        ] {
            assert!(relayed_signal(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn how_a_web_call_counts() {
        assert_eq!(web_outcome(true, EndedBy::Visitor), Outcome::Answered);
        assert_eq!(web_outcome(true, EndedBy::Lost), Outcome::Answered);
        assert_eq!(web_outcome(false, EndedBy::Visitor), Outcome::Abandoned);
        assert_eq!(web_outcome(false, EndedBy::Lost), Outcome::Abandoned);
        assert_eq!(web_outcome(false, EndedBy::NobodyAnswered), Outcome::Missed);
        assert_eq!(web_outcome(false, EndedBy::Agent), Outcome::Missed);
        for m in [Medium::Phone, Medium::WebVoice, Medium::WebVideo] {
            assert_eq!(Medium::parse(m.as_str()), Some(m));
        }
        assert!(!Medium::Phone.is_web() && Medium::WebVideo.is_web());
    }
}
