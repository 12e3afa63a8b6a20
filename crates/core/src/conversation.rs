//! The conversation status machine and how a new message changes a conversation.
//!
//! Rules follow what Chatwoot's API exposes: `toggle_status` without a status flips between
//! open and resolved; with one it sets it; a snooze has an optional end (without one the
//! conversation sleeps until the customer writes); an incoming message wakes a resolved or
//! snoozed conversation; the first human reply stamps `first_reply_created_at` and ends the
//! customer's wait.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::Millis;
use crate::message::{MessageType, SenderType};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Open,
    Resolved,
    Pending,
    Snoozed,
}

impl Status {
    pub const ALL: [Status; 4] = [Self::Open, Self::Resolved, Self::Pending, Self::Snoozed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Resolved => "resolved",
            Self::Pending => "pending",
            Self::Snoozed => "snoozed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Unresolved conversations are the ones a customer's next message continues.
    pub fn is_unresolved(self) -> bool {
        self != Self::Resolved
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    Medium,
    High,
    Urgent,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Urgent => "urgent",
        }
    }

    /// Parses Chatwoot's priority values; `"none"` (and null) clear the priority.
    pub fn parse_optional(s: &str) -> Result<Option<Self>, StatusError> {
        Ok(Some(match s {
            "low" => Self::Low,
            "medium" => Self::Medium,
            "high" => Self::High,
            "urgent" => Self::Urgent,
            "none" => return Ok(None),
            other => return Err(StatusError::UnknownPriority(other.to_owned())),
        }))
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum StatusError {
    #[error("unknown status `{0}`: expected open, resolved, pending or snoozed")]
    UnknownStatus(String),
    #[error("unknown priority `{0}`: expected urgent, high, medium, low or none")]
    UnknownPriority(String),
    #[error("snoozed_until must be in the future")]
    SnoozeInThePast,
    #[error("snoozed_until is only allowed with status snoozed")]
    SnoozeWithoutSnoozedStatus,
}

/// What the caller asked `toggle_status` to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusRequest {
    /// No status given: open becomes resolved, anything else becomes open.
    Toggle,
    Set {
        status: Status,
        snoozed_until: Option<Millis>,
    },
}

/// The result of a status request: the new status and snooze end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusOutcome {
    pub status: Status,
    pub snoozed_until: Option<Millis>,
    /// False when the request left the conversation as it was (no event, no activity line).
    pub changed: bool,
}

pub fn apply_status_request(
    current: Status,
    current_snoozed_until: Option<Millis>,
    request: StatusRequest,
    now: Millis,
) -> Result<StatusOutcome, StatusError> {
    let (status, snoozed_until) = match request {
        StatusRequest::Toggle => {
            let next = if current == Status::Open {
                Status::Resolved
            } else {
                Status::Open
            };
            (next, None)
        }
        StatusRequest::Set {
            status,
            snoozed_until,
        } => match (status, snoozed_until) {
            (Status::Snoozed, Some(until)) if until <= now => {
                return Err(StatusError::SnoozeInThePast);
            }
            (Status::Snoozed, until) => (Status::Snoozed, until),
            (_, Some(_)) => return Err(StatusError::SnoozeWithoutSnoozedStatus),
            (other, None) => (other, None),
        },
    };
    Ok(StatusOutcome {
        status,
        snoozed_until,
        changed: status != current || snoozed_until != current_snoozed_until,
    })
}

/// True when a snoozed conversation's timer has run out and it must reopen.
pub fn snooze_expired(status: Status, snoozed_until: Option<Millis>, now: Millis) -> bool {
    status == Status::Snoozed && snoozed_until.is_some_and(|until| until <= now)
}

/// The parts of a conversation a new message can change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConversationClock {
    pub status: Status,
    pub waiting_since: Option<Millis>,
    pub first_reply_created_at: Option<Millis>,
    pub last_activity_at: Millis,
}

/// The message as far as the conversation's clocks care.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageFacts {
    pub message_type: MessageType,
    pub sender_type: Option<SenderType>,
    pub private: bool,
    pub created_at: Millis,
}

/// Applies a new message to a conversation's clocks and status.
///
/// - an incoming customer message reopens a resolved or snoozed conversation and starts the
///   wait if none is running;
/// - an outgoing public reply from a human agent ends the wait and, the first time, stamps the
///   first reply (bot replies and private notes do neither);
/// - every message except activity lines counts as activity.
pub fn apply_message(clock: ConversationClock, message: MessageFacts) -> ConversationClock {
    let mut next = clock;
    match message.message_type {
        MessageType::Incoming if !message.private => {
            if matches!(clock.status, Status::Resolved | Status::Snoozed) {
                next.status = Status::Open;
            }
            if clock.waiting_since.is_none() {
                next.waiting_since = Some(message.created_at);
            }
        }
        MessageType::Outgoing | MessageType::Template
            if !message.private && message.sender_type == Some(SenderType::User) =>
        {
            next.waiting_since = None;
            if clock.first_reply_created_at.is_none() {
                next.first_reply_created_at = Some(message.created_at);
            }
        }
        _ => {}
    }
    if message.message_type != MessageType::Activity {
        next.last_activity_at = next.last_activity_at.max(message.created_at);
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NOW: Millis = 1_700_000_000_000;

    fn set(status: Status, until: Option<Millis>) -> StatusRequest {
        StatusRequest::Set {
            status,
            snoozed_until: until,
        }
    }

    #[test]
    fn toggle_flips_between_open_and_resolved() {
        let cases = [
            (Status::Open, Status::Resolved),
            (Status::Resolved, Status::Open),
            (Status::Pending, Status::Open),
            (Status::Snoozed, Status::Open),
        ];
        for (from, to) in cases {
            let out = apply_status_request(from, None, StatusRequest::Toggle, NOW).unwrap();
            assert_eq!(out.status, to, "toggle from {from:?}");
            assert!(out.changed);
            assert_eq!(out.snoozed_until, None);
        }
    }

    #[test]
    fn setting_the_same_status_is_not_a_change() {
        let out = apply_status_request(Status::Open, None, set(Status::Open, None), NOW).unwrap();
        assert!(!out.changed);
    }

    #[test]
    fn snooze_needs_a_future_end_or_none() {
        let out =
            apply_status_request(Status::Open, None, set(Status::Snoozed, Some(NOW + 1)), NOW)
                .unwrap();
        assert_eq!(out.status, Status::Snoozed);
        assert_eq!(out.snoozed_until, Some(NOW + 1));

        let until_reply =
            apply_status_request(Status::Open, None, set(Status::Snoozed, None), NOW).unwrap();
        assert_eq!(until_reply.snoozed_until, None);

        assert_eq!(
            apply_status_request(Status::Open, None, set(Status::Snoozed, Some(NOW)), NOW),
            Err(StatusError::SnoozeInThePast)
        );
        assert_eq!(
            apply_status_request(
                Status::Open,
                None,
                set(Status::Resolved, Some(NOW + 5)),
                NOW
            ),
            Err(StatusError::SnoozeWithoutSnoozedStatus)
        );
    }

    #[test]
    fn leaving_snooze_clears_its_end() {
        let out = apply_status_request(
            Status::Snoozed,
            Some(NOW + 1000),
            set(Status::Open, None),
            NOW,
        )
        .unwrap();
        assert_eq!(out.snoozed_until, None);
        assert!(out.changed);
    }

    #[test]
    fn snooze_expiry() {
        assert!(snooze_expired(Status::Snoozed, Some(NOW), NOW));
        assert!(!snooze_expired(Status::Snoozed, Some(NOW + 1), NOW));
        assert!(!snooze_expired(Status::Snoozed, None, NOW));
        assert!(!snooze_expired(Status::Open, Some(NOW - 1), NOW));
    }

    fn clock(status: Status) -> ConversationClock {
        ConversationClock {
            status,
            waiting_since: None,
            first_reply_created_at: None,
            last_activity_at: NOW - 10,
        }
    }

    fn msg(message_type: MessageType, sender: SenderType, private: bool) -> MessageFacts {
        MessageFacts {
            message_type,
            sender_type: Some(sender),
            private,
            created_at: NOW,
        }
    }

    #[test]
    fn incoming_message_reopens_and_starts_waiting() {
        for status in [Status::Resolved, Status::Snoozed] {
            let next = apply_message(
                clock(status),
                msg(MessageType::Incoming, SenderType::Contact, false),
            );
            assert_eq!(next.status, Status::Open);
            assert_eq!(next.waiting_since, Some(NOW));
            assert_eq!(next.last_activity_at, NOW);
        }
        // A pending (bot-handled) conversation stays with the bot.
        let pending = apply_message(
            clock(Status::Pending),
            msg(MessageType::Incoming, SenderType::Contact, false),
        );
        assert_eq!(pending.status, Status::Pending);
    }

    #[test]
    fn waiting_keeps_its_first_start() {
        let mut c = clock(Status::Open);
        c.waiting_since = Some(NOW - 500);
        let next = apply_message(c, msg(MessageType::Incoming, SenderType::Contact, false));
        assert_eq!(next.waiting_since, Some(NOW - 500));
    }

    #[test]
    fn human_reply_ends_the_wait_and_stamps_first_reply_once() {
        let mut c = clock(Status::Open);
        c.waiting_since = Some(NOW - 500);
        let next = apply_message(c, msg(MessageType::Outgoing, SenderType::User, false));
        assert_eq!(next.waiting_since, None);
        assert_eq!(next.first_reply_created_at, Some(NOW));

        let mut later = next;
        later.waiting_since = Some(NOW + 5);
        let again = apply_message(
            later,
            MessageFacts {
                created_at: NOW + 10,
                ..msg(MessageType::Outgoing, SenderType::User, false)
            },
        );
        assert_eq!(again.first_reply_created_at, Some(NOW));
    }

    #[test]
    fn notes_and_bots_do_not_count_as_replies() {
        let mut c = clock(Status::Open);
        c.waiting_since = Some(NOW - 500);
        for m in [
            msg(MessageType::Outgoing, SenderType::User, true),
            msg(MessageType::Outgoing, SenderType::AgentBot, false),
        ] {
            let next = apply_message(c, m);
            assert_eq!(next.waiting_since, Some(NOW - 500));
            assert_eq!(next.first_reply_created_at, None);
        }
    }

    #[test]
    fn activity_lines_are_not_activity() {
        let next = apply_message(
            clock(Status::Open),
            msg(MessageType::Activity, SenderType::User, false),
        );
        assert_eq!(next.last_activity_at, NOW - 10);
    }

    fn any_status() -> impl Strategy<Value = Status> {
        prop::sample::select(Status::ALL.to_vec())
    }

    fn any_type() -> impl Strategy<Value = MessageType> {
        prop::sample::select(vec![
            MessageType::Incoming,
            MessageType::Outgoing,
            MessageType::Activity,
            MessageType::Template,
        ])
    }

    fn any_sender() -> impl Strategy<Value = SenderType> {
        prop::sample::select(vec![
            SenderType::Contact,
            SenderType::User,
            SenderType::AgentBot,
        ])
    }

    proptest! {
        #[test]
        fn last_activity_never_goes_back(
            status in any_status(), t in any_type(), s in any_sender(), private: bool,
            last in 0i64..2_000_000, at in 0i64..2_000_000,
        ) {
            let c = ConversationClock { status, waiting_since: None, first_reply_created_at: None, last_activity_at: last };
            let next = apply_message(c, MessageFacts { message_type: t, sender_type: Some(s), private, created_at: at });
            prop_assert!(next.last_activity_at >= last);
        }

        #[test]
        fn only_customer_messages_change_status(
            status in any_status(), t in any_type(), s in any_sender(), private: bool,
        ) {
            let c = clock(status);
            let next = apply_message(c, MessageFacts { message_type: t, sender_type: Some(s), private, created_at: NOW });
            if next.status != status {
                prop_assert_eq!(t, MessageType::Incoming);
                prop_assert!(!private);
                prop_assert_eq!(next.status, Status::Open);
            }
        }

        #[test]
        fn first_reply_is_never_overwritten(
            t in any_type(), s in any_sender(), private: bool, first in 0i64..1_000,
        ) {
            let mut c = clock(Status::Open);
            c.first_reply_created_at = Some(first);
            let next = apply_message(c, MessageFacts { message_type: t, sender_type: Some(s), private, created_at: NOW });
            prop_assert_eq!(next.first_reply_created_at, Some(first));
        }
    }
}
