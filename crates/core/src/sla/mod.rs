//! SLA clocks: how long a customer has waited for the first reply (`frt`), for the next reply
//! after writing again (`nrt`), and for the resolution (`rt`), held against the thresholds of an
//! SLA policy (Chatwoot's `sla_policies`).
//!
//! A policy with `only_during_business_hours` counts only the inbox's open time
//! ([`counting_schedule`]); otherwise every millisecond counts. Either way a [`Clock`] counts
//! only while it runs, so a conversation waiting on the customer does not eat its own
//! resolution time.
//!
//! This module is pure: the store keeps a conversation's [`Timers`] with it, feeds it the
//! conversation's changes ([`Timers::apply`]), schedules a check at [`Timers::next_check`], and
//! notifies whatever [`Timers::alerts_due`] returns then.

mod timers;

#[cfg(test)]
mod tests;

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::Millis;
use crate::hours::Schedule;

pub use timers::{Alert, ConversationChange, MetricState, Thresholds, Timers};

/// What is measured, named as Chatwoot names its SLA events' `event_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// First response time: from the conversation's start to the first agent reply.
    Frt,
    /// Next response time: from a customer message after a reply to the agent's next reply.
    Nrt,
    /// Resolution time: from the conversation's start to its resolution.
    Rt,
}

impl Metric {
    pub const ALL: [Metric; 3] = [Self::Frt, Self::Nrt, Self::Rt];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Frt => "frt",
            Self::Nrt => "nrt",
            Self::Rt => "rt",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

impl std::fmt::Display for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The schedule a policy counts in: the inbox's business hours when it says so, otherwise
/// every hour of every day.
pub fn counting_schedule(only_during_business_hours: bool, inbox: &Schedule) -> Cow<'_, Schedule> {
    if only_during_business_hours {
        Cow::Borrowed(inbox)
    } else {
        Cow::Owned(Schedule::always())
    }
}

/// One metric's stopwatch that only counts time while it runs and (optionally) while the
/// schedule is open.
///
/// It stores what it has counted so far and since when it runs, not a deadline: a deadline
/// would go stale whenever the clock pauses or business hours change, while the counted time
/// stays true.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Clock {
    /// Counted time up to the last pause.
    pub elapsed_ms: i64,
    /// Since when it runs; `None` while paused.
    pub running_since: Option<Millis>,
}

impl Clock {
    /// A clock running from `at`, with nothing counted yet.
    pub fn started(at: Millis) -> Self {
        Self {
            elapsed_ms: 0,
            running_since: Some(at),
        }
    }

    pub fn is_running(&self) -> bool {
        self.running_since.is_some()
    }

    /// Stops counting at `at`, keeping the open time since it resumed; a no-op while paused.
    /// A pause before the clock resumed (events out of order) adds nothing.
    pub fn pause(&mut self, at: Millis, schedule: &Schedule) {
        if let Some(since) = self.running_since.take() {
            self.elapsed_ms = self
                .elapsed_ms
                .saturating_add(schedule.business_time_between(since, at));
        }
    }

    /// Counts again from `at`; a no-op while running.
    pub fn resume(&mut self, at: Millis) {
        self.running_since.get_or_insert(at);
    }

    /// Counted time at `at`, including the open time since it resumed if running.
    pub fn elapsed_at(&self, at: Millis, schedule: &Schedule) -> i64 {
        match self.running_since {
            Some(since) => self
                .elapsed_ms
                .saturating_add(schedule.business_time_between(since, at)),
            None => self.elapsed_ms,
        }
    }

    /// When `threshold_ms` of counted time will have passed if it keeps running: `None` if
    /// paused (or the schedule never opens again). A threshold already reached gives the instant
    /// it resumed, which is in the past: the time is up.
    pub fn due_at(&self, threshold_ms: i64, schedule: &Schedule) -> Option<Millis> {
        let since = self.running_since?;
        let remaining = threshold_ms.saturating_sub(self.elapsed_ms).max(0);
        schedule.add_business_time(since, remaining)
    }
}

/// Where a metric stands at a given instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// Still within the time before the warning.
    Pending,
    /// Past the warning, not yet past the threshold.
    Warned,
    /// Past the threshold, and still waiting.
    Breached,
    /// Done within the threshold.
    Met,
    /// Done, late.
    Missed,
}

impl Standing {
    /// Where counted time stands against a threshold: breached only once it exceeds the
    /// threshold, so a reply at the very deadline is still in time.
    pub fn of(elapsed_ms: i64, threshold_ms: i64, warning_percent: u8) -> Self {
        if elapsed_ms > threshold_ms {
            Self::Breached
        } else if elapsed_ms >= warning_at(threshold_ms, warning_percent) {
            Self::Warned
        } else {
            Self::Pending
        }
    }
}

/// The counted time at which a warning is due: `threshold * percent / 100`, with `percent`
/// clamped to 1..=99 so that a warning always comes before the breach.
pub fn warning_at(threshold_ms: i64, percent: u8) -> i64 {
    let percent = i128::from(percent.clamp(1, 99));
    let warning = i128::from(threshold_ms.max(0)) * percent / 100;
    i64::try_from(warning).unwrap_or(i64::MAX)
}
