//! A phone call as the product keeps it: its progress from the provider's status reports
//! (which may arrive late, out of order or twice) and how it ended, for the timeline and the
//! reports (handle time, abandonment, service level).

use serde::{Deserialize, Serialize};

use crate::Millis;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inbound => "inbound",
            Self::Outbound => "outbound",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "inbound" => Some(Self::Inbound),
            "outbound" => Some(Self::Outbound),
            _ => None,
        }
    }
}

/// Where a call is (Twilio's `CallStatus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallState {
    Ringing,
    InProgress,
    Completed,
    Busy,
    NoAnswer,
    Failed,
    Canceled,
}

impl CallState {
    /// Twilio's words (`queued` and `initiated` are a call not yet ringing).
    pub fn from_twilio(s: &str) -> Option<Self> {
        Some(match s {
            "queued" | "initiated" | "ringing" => Self::Ringing,
            "in-progress" | "answered" => Self::InProgress,
            "completed" => Self::Completed,
            "busy" => Self::Busy,
            "no-answer" => Self::NoAnswer,
            "failed" => Self::Failed,
            "canceled" => Self::Canceled,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ringing => "ringing",
            Self::InProgress => "in_progress",
            Self::Completed => "completed",
            Self::Busy => "busy",
            Self::NoAnswer => "no_answer",
            Self::Failed => "failed",
            Self::Canceled => "canceled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Ringing,
            Self::InProgress,
            Self::Completed,
            Self::Busy,
            Self::NoAnswer,
            Self::Failed,
            Self::Canceled,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }

    pub fn is_final(self) -> bool {
        !matches!(self, Self::Ringing | Self::InProgress)
    }
}

/// How a call ended, for people and reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// An agent talked with the caller.
    Answered,
    /// Nobody answered and the caller left no message (or the call never connected).
    Missed,
    /// The caller hung up while waiting (in the menu or the queue).
    Abandoned,
    /// The caller left a voicemail.
    Voicemail,
    /// The caller asked to be called back instead of waiting.
    Callback,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Answered => "answered",
            Self::Missed => "missed",
            Self::Abandoned => "abandoned",
            Self::Voicemail => "voicemail",
            Self::Callback => "callback",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Answered,
            Self::Missed,
            Self::Abandoned,
            Self::Voicemail,
            Self::Callback,
        ]
        .into_iter()
        .find(|o| o.as_str() == s)
    }
}

/// What a call's end means: a voicemail counts over everything; an agent's answer next; then
/// a callback the caller asked for; a caller who hung up after the line picked up (our IVR
/// answers every call) abandoned; a call that never connected was missed.
pub fn outcome(
    final_state: CallState,
    voicemail: bool,
    agent_answered: bool,
    callback: bool,
) -> Outcome {
    if voicemail {
        Outcome::Voicemail
    } else if agent_answered {
        Outcome::Answered
    } else if callback {
        Outcome::Callback
    } else if final_state == CallState::Completed {
        Outcome::Abandoned
    } else {
        Outcome::Missed
    }
}

/// Whether a status report with `sequence` is newer than the last one applied (Twilio's
/// `SequenceNumber`); an older or repeated one changes nothing.
pub fn is_newer(last_applied: Option<i64>, sequence: i64) -> bool {
    last_applied.is_none_or(|last| sequence > last)
}

/// A call on the timeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Call {
    pub id: i64,
    pub account_id: i64,
    pub inbox_id: i64,
    pub conversation_id: Option<i64>,
    pub contact_id: Option<i64>,
    /// The provider's id (Twilio's `CallSid`).
    pub provider_id: String,
    pub direction: Direction,
    /// By phone, or from the widget (voice or video).
    pub medium: crate::voice::web_call::Medium,
    pub from: String,
    pub to: String,
    pub state: CallState,
    pub outcome: Option<Outcome>,
    /// The menu's choice.
    pub team_id: Option<i64>,
    pub agent_id: Option<i64>,
    pub started_at: Millis,
    /// When the caller entered the queue for an agent.
    pub queued_at: Option<Millis>,
    /// When the caller asked to be called back (from the IVR).
    pub callback_requested_at: Option<Millis>,
    pub answered_at: Option<Millis>,
    pub ended_at: Option<Millis>,
    /// Seconds, as the provider counts them.
    pub duration_seconds: Option<i64>,
    /// The voicemail message on the conversation.
    pub voicemail_message_id: Option<i64>,
    /// The agent's wrap-up: how it went in the team's word, and notes.
    pub disposition: Option<String>,
    pub wrap_up_notes: Option<String>,
    pub wrapped_up_by: Option<i64>,
    pub wrapped_up_at: Option<Millis>,
    /// An answered phone call's recording: the provider's id and address (never shown), its
    /// length, and our copy's blob key once fetched.
    pub recording_provider_id: Option<String>,
    pub recording_url: Option<String>,
    pub recording_seconds: Option<i64>,
    pub recording_blob: Option<String>,
    pub last_sequence: Option<i64>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl Call {
    /// Seconds the caller waited before an agent answered, or until the end.
    pub fn wait_seconds(&self) -> Option<i64> {
        let until = self.answered_at.or(self.ended_at)?;
        Some(((until - self.started_at) / 1000).max(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twilio_states_are_read_and_round_trip() {
        assert_eq!(
            CallState::from_twilio("in-progress"),
            Some(CallState::InProgress)
        );
        assert_eq!(
            CallState::from_twilio("no-answer"),
            Some(CallState::NoAnswer)
        );
        assert_eq!(CallState::from_twilio("exploded"), None);
        for s in [
            "ringing",
            "in_progress",
            "completed",
            "busy",
            "no_answer",
            "failed",
            "canceled",
        ] {
            assert_eq!(CallState::parse(s).map(CallState::as_str), Some(s));
        }
        assert!(CallState::Canceled.is_final() && !CallState::InProgress.is_final());
    }

    #[test]
    fn how_a_call_ended() {
        assert_eq!(
            outcome(CallState::Completed, true, false, false),
            Outcome::Voicemail
        );
        assert_eq!(
            outcome(CallState::Completed, false, true, false),
            Outcome::Answered
        );
        assert_eq!(
            outcome(CallState::Completed, false, false, false),
            Outcome::Abandoned
        );
        assert_eq!(
            outcome(CallState::Failed, false, false, false),
            Outcome::Missed
        );
        assert_eq!(
            outcome(CallState::Canceled, false, false, false),
            Outcome::Missed
        );
        assert_eq!(
            outcome(CallState::Completed, false, false, true),
            Outcome::Callback
        );
        assert_eq!(
            outcome(CallState::Completed, false, true, true),
            Outcome::Answered,
            "called back while still on the line: an agent took it"
        );
    }

    #[test]
    fn late_and_repeated_reports_change_nothing() {
        assert!(is_newer(None, 0));
        assert!(is_newer(Some(1), 2));
        assert!(!is_newer(Some(2), 2));
        assert!(!is_newer(Some(3), 1));
    }
}

/// Where a request to be called back came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallbackSource {
    /// A caller pressed the key in the phone queue.
    Ivr,
    /// A visitor asked in the website widget.
    Widget,
    /// An agent noted it for a customer.
    Agent,
}

impl CallbackSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ivr => "ivr",
            Self::Widget => "widget",
            Self::Agent => "agent",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Ivr, Self::Widget, Self::Agent]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

/// Where a callback request is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallbackState {
    /// Waiting for an agent to call.
    Waiting,
    /// An agent placed the call.
    Called,
    /// Withdrawn (by an agent; the customer reached us otherwise).
    Canceled,
}

impl CallbackState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Called => "called",
            Self::Canceled => "canceled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Waiting, Self::Called, Self::Canceled]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}
