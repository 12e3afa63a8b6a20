//! The conversation finder: which conversation an inbound message from a known contact joins.
//!
//! With the account setting "continue open conversations across channels" (on by default) a
//! customer who emailed yesterday and chats today lands in the same conversation, whatever
//! inbox each message came through. Inboxes that must stay separate opt out; with the setting
//! off, each inbox keeps its own conversations as in Chatwoot. A resolved conversation re-opens
//! when the customer answers within the re-open window; later, a new conversation starts that
//! links to the previous one so the history stays one click away.

use serde::{Deserialize, Serialize};

use crate::Millis;
use crate::conversation::Status;

/// An account's continuity settings, kept in the account's `settings`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    pub continue_across_channels: bool,
    /// How long after resolution a customer's answer re-opens the conversation.
    pub reopen_window_ms: Millis,
}

impl Policy {
    pub const DEFAULT_REOPEN_WINDOW_HOURS: i64 = 72;
    /// The longest re-open window an account can set (90 days).
    pub const MAX_REOPEN_WINDOW_HOURS: i64 = 24 * 90;

    /// Reads the policy from an account's settings object, with defaults for what is absent.
    pub fn from_settings(settings: &serde_json::Value) -> Self {
        let hours = settings
            .get("reopen_window_hours")
            .and_then(serde_json::Value::as_i64)
            .unwrap_or(Self::DEFAULT_REOPEN_WINDOW_HOURS)
            .clamp(0, Self::MAX_REOPEN_WINDOW_HOURS);
        Self {
            continue_across_channels: settings
                .get("continue_across_channels")
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(true),
            reopen_window_ms: hours * 3_600_000,
        }
    }
}

impl Default for Policy {
    fn default() -> Self {
        Self::from_settings(&serde_json::Value::Null)
    }
}

/// The inbox a message arrives through.
#[derive(Clone, Copy, Debug)]
pub struct Arrival {
    pub inbox_id: i64,
    /// The inbox opted out of cross-channel continuity.
    pub keeps_separate: bool,
    /// Chatwoot's `lock_to_single_conversation`: the contact always continues its latest
    /// conversation in this inbox, however long ago it was resolved.
    pub single_conversation: bool,
}

/// One of the contact's conversations.
#[derive(Clone, Copy, Debug)]
pub struct Existing {
    pub id: i64,
    pub inbox_id: i64,
    pub inbox_keeps_separate: bool,
    pub status: Status,
    pub last_activity_at: Millis,
    pub resolved_at: Option<Millis>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// Add to this unresolved conversation.
    Continue(i64),
    /// Re-open this resolved conversation and add to it.
    Reopen(i64),
    /// Start a conversation, linked to the previous one when there is one.
    New { previous: Option<i64> },
}

/// Picks the conversation for an inbound message of a contact.
pub fn route(policy: Policy, arrival: Arrival, conversations: &[Existing], now: Millis) -> Route {
    let across = policy.continue_across_channels && !arrival.keeps_separate;
    let eligible = conversations
        .iter()
        .filter(|c| c.inbox_id == arrival.inbox_id || (across && !c.inbox_keeps_separate));
    let latest =
        |a: &&Existing, b: &&Existing| (a.last_activity_at, a.id).cmp(&(b.last_activity_at, b.id));
    if let Some(open) = eligible
        .clone()
        .filter(|c| c.status != Status::Resolved)
        .max_by(latest)
    {
        return Route::Continue(open.id);
    }
    let Some(last) = eligible.max_by(latest) else {
        return Route::New { previous: None };
    };
    let resolved_at = last.resolved_at.unwrap_or(last.last_activity_at);
    let within_window = now.saturating_sub(resolved_at) <= policy.reopen_window_ms;
    let locked = arrival.single_conversation && last.inbox_id == arrival.inbox_id;
    if within_window || locked {
        Route::Reopen(last.id)
    } else {
        Route::New {
            previous: Some(last.id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HOUR: Millis = 3_600_000;
    const NOW: Millis = 1_800_000_000_000;

    fn arrival(inbox_id: i64) -> Arrival {
        Arrival {
            inbox_id,
            keeps_separate: false,
            single_conversation: false,
        }
    }

    fn conv(id: i64, inbox_id: i64, status: Status, hours_ago: i64) -> Existing {
        Existing {
            id,
            inbox_id,
            inbox_keeps_separate: false,
            status,
            last_activity_at: NOW - hours_ago * HOUR,
            resolved_at: (status == Status::Resolved).then_some(NOW - hours_ago * HOUR),
        }
    }

    #[test]
    fn an_open_conversation_in_another_inbox_continues() {
        let p = Policy::default();
        let list = [
            conv(1, 10, Status::Open, 30),
            conv(2, 20, Status::Pending, 2),
        ];
        assert_eq!(route(p, arrival(30), &list, NOW), Route::Continue(2));
    }

    #[test]
    fn with_the_setting_off_each_inbox_keeps_its_own() {
        let p = Policy::from_settings(&serde_json::json!({"continue_across_channels": false}));
        let list = [conv(1, 10, Status::Open, 1)];
        assert_eq!(
            route(p, arrival(30), &list, NOW),
            Route::New { previous: None }
        );
        assert_eq!(route(p, arrival(10), &list, NOW), Route::Continue(1));
    }

    #[test]
    fn separate_inboxes_neither_join_nor_are_joined() {
        let p = Policy::default();
        let mut separate = conv(1, 10, Status::Open, 1);
        separate.inbox_keeps_separate = true;
        assert_eq!(
            route(p, arrival(30), &[separate], NOW),
            Route::New { previous: None }
        );
        let mut arriving = arrival(30);
        arriving.keeps_separate = true;
        assert_eq!(
            route(p, arriving, &[conv(2, 10, Status::Open, 1)], NOW),
            Route::New { previous: None }
        );
    }

    #[test]
    fn resolved_reopens_within_the_window_and_links_after_it() {
        let p = Policy::from_settings(&serde_json::json!({"reopen_window_hours": 24}));
        assert_eq!(
            route(p, arrival(30), &[conv(1, 10, Status::Resolved, 23)], NOW),
            Route::Reopen(1)
        );
        assert_eq!(
            route(p, arrival(30), &[conv(1, 10, Status::Resolved, 25)], NOW),
            Route::New { previous: Some(1) }
        );
        let mut locked = arrival(10);
        locked.single_conversation = true;
        assert_eq!(
            route(p, locked, &[conv(1, 10, Status::Resolved, 500)], NOW),
            Route::Reopen(1)
        );
    }

    #[test]
    fn settings_are_read_with_defaults_and_bounds() {
        assert_eq!(
            Policy::default(),
            Policy {
                continue_across_channels: true,
                reopen_window_ms: 72 * HOUR
            }
        );
        let p = Policy::from_settings(&serde_json::json!({"reopen_window_hours": 1_000_000}));
        assert_eq!(p.reopen_window_ms, Policy::MAX_REOPEN_WINDOW_HOURS * HOUR);
    }

    fn arb_existing() -> impl Strategy<Value = Existing> {
        (
            1i64..20,
            1i64..4,
            any::<bool>(),
            proptest::sample::select(Status::ALL.to_vec()),
            0i64..200,
        )
            .prop_map(|(id, inbox, sep, status, hours)| {
                let mut c = conv(id, inbox, status, hours);
                c.inbox_keeps_separate = sep;
                c
            })
    }

    proptest! {
        #[test]
        fn routes_respect_the_rules(
            list in proptest::collection::vec(arb_existing(), 0..8).prop_map(|mut v| {
                for (i, c) in v.iter_mut().enumerate() {
                    c.id = i as i64 + 1;
                }
                v
            }),
            inbox in 1i64..4,
            across in any::<bool>(),
            keeps_separate in any::<bool>(),
            window_hours in 0i64..100,
        ) {
            let policy = Policy { continue_across_channels: across, reopen_window_ms: window_hours * HOUR };
            let arriving = Arrival { inbox_id: inbox, keeps_separate, single_conversation: false };
            let allowed = |c: &Existing| c.inbox_id == inbox
                || (across && !keeps_separate && !c.inbox_keeps_separate);
            match route(policy, arriving, &list, NOW) {
                Route::Continue(id) => {
                    let c = list.iter().find(|c| c.id == id).unwrap();
                    prop_assert!(allowed(c));
                    prop_assert_ne!(c.status, Status::Resolved);
                }
                Route::Reopen(id) => {
                    prop_assert!(list.iter().filter(|c| allowed(c)).all(|c| c.status == Status::Resolved));
                    let c = list.iter().find(|c| c.id == id && allowed(c)).unwrap();
                    prop_assert!(NOW - c.resolved_at.unwrap() <= policy.reopen_window_ms);
                }
                Route::New { previous } => {
                    prop_assert!(list.iter().filter(|c| allowed(c)).all(|c| c.status == Status::Resolved));
                    if let Some(id) = previous {
                        let c = list.iter().find(|c| c.id == id && allowed(c)).unwrap();
                        prop_assert!(NOW - c.resolved_at.unwrap() > policy.reopen_window_ms);
                    } else {
                        prop_assert!(!list.iter().any(allowed));
                    }
                }
            }
        }
    }
}
