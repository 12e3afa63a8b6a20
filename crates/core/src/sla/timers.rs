//! One conversation's SLA as a small state machine ([`Timers`]), so that the store only saves
//! and loads it.

use serde::{Deserialize, Serialize};

use super::{Clock, Metric, Standing, warning_at};
use crate::Millis;
use crate::hours::Schedule;

/// A policy's thresholds in milliseconds of counted time (`None`: not measured), and when to
/// warn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Thresholds {
    pub frt_ms: Option<i64>,
    pub nrt_ms: Option<i64>,
    pub rt_ms: Option<i64>,
    /// Warn at this percentage of a threshold (clamped to 1..=99).
    pub warning_percent: u8,
}

impl Default for Thresholds {
    /// Nothing measured; warnings at 80 %.
    fn default() -> Self {
        Self {
            frt_ms: None,
            nrt_ms: None,
            rt_ms: None,
            warning_percent: Self::DEFAULT_WARNING_PERCENT,
        }
    }
}

impl Thresholds {
    pub const DEFAULT_WARNING_PERCENT: u8 = 80;

    /// From a policy's thresholds in seconds, as Chatwoot stores them (floats); a missing,
    /// negative or non-finite threshold is not measured.
    pub fn from_seconds(
        frt: Option<f64>,
        nrt: Option<f64>,
        rt: Option<f64>,
        warning_percent: u8,
    ) -> Self {
        let ms = |seconds: Option<f64>| {
            seconds
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map(|s| (s * 1000.0).round() as i64)
        };
        Self {
            frt_ms: ms(frt),
            nrt_ms: ms(nrt),
            rt_ms: ms(rt),
            warning_percent,
        }
    }

    pub fn get(&self, metric: Metric) -> Option<i64> {
        match metric {
            Metric::Frt => self.frt_ms,
            Metric::Nrt => self.nrt_ms,
            Metric::Rt => self.rt_ms,
        }
    }
}

/// What happened to the conversation, as far as its SLA is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationChange {
    /// An incoming message.
    CustomerMessage,
    /// An outgoing message an agent wrote (not a private note, not an automated message).
    AgentReply,
    Resolved,
    /// Resolved → open.
    Reopened,
    /// Status pending or snoozed.
    WaitingOnCustomer,
    /// Pending or snoozed → open.
    BackToAgent,
}

/// Something to notify about a metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "metric")]
pub enum Alert {
    Warning(Metric),
    Breach(Metric),
}

/// One run of a metric: its clock, which alerts it has had, and its verdict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricState {
    pub clock: Clock,
    pub warned: bool,
    pub breached: bool,
    /// `Some(true)` done in time, `Some(false)` done late (or stopped past its threshold),
    /// `None` still owed.
    pub met: Option<bool>,
}

impl MetricState {
    /// A run starting at `at`.
    pub fn running(at: Millis) -> Self {
        Self {
            clock: Clock::started(at),
            warned: false,
            breached: false,
            met: None,
        }
    }

    /// Still owed and counting.
    pub fn is_running(&self) -> bool {
        self.met.is_none() && self.clock.is_running()
    }

    /// Where it stands at `now` against `threshold_ms` (`None`: not measured, so pending until
    /// done).
    pub fn standing(
        &self,
        now: Millis,
        threshold_ms: Option<i64>,
        warning_percent: u8,
        schedule: &Schedule,
    ) -> Standing {
        match (self.met, threshold_ms) {
            (Some(true), _) => Standing::Met,
            (Some(false), _) => Standing::Missed,
            (None, None) => Standing::Pending,
            (None, Some(threshold)) => Standing::of(
                self.clock.elapsed_at(now, schedule),
                threshold,
                warning_percent,
            ),
        }
    }

    /// Done at `at`: the clock stops and the verdict is given.
    fn finish(&mut self, at: Millis, threshold_ms: Option<i64>, schedule: &Schedule) {
        self.clock.pause(at, schedule);
        let in_time = threshold_ms.is_none_or(|threshold| self.clock.elapsed_ms <= threshold);
        self.met = Some(in_time && !self.breached);
    }

    /// Stopped at `at` without being done: only a metric already past its threshold gets a
    /// verdict (a miss).
    fn stop(&mut self, at: Millis, threshold_ms: Option<i64>, schedule: &Schedule) {
        self.clock.pause(at, schedule);
        let past = threshold_ms.is_some_and(|threshold| self.clock.elapsed_ms > threshold);
        if self.breached || past {
            self.met = Some(false);
        }
    }
}

/// One conversation's SLA: each metric's current run (`None`: not measured, or `nrt` not yet
/// started).
///
/// # The rules
///
/// A metric's *verdict* (`met`) is given when what it measures happens: the agent's reply for
/// `frt` and `nrt`, the resolution for `rt`. It is met when its counted time is within the
/// threshold (equal is in time) and no breach was alerted.
///
/// | Change | `frt` | `nrt` | `rt` |
/// |---|---|---|---|
/// | [`Timers::start`] | runs | — | runs |
/// | `AgentReply` | verdict, if it has none | verdict, if running | — |
/// | `CustomerMessage` | — | a fresh run, if an agent has replied and it is not running | — |
/// | `WaitingOnCustomer` | — | — | pauses |
/// | `BackToAgent`, `Reopened` | resumes, if it has no verdict | — | resumes, verdict cleared |
/// | `Resolved` | stops | stops | verdict |
///
/// - *Stops* on resolution: the clock pauses, and the metric gets a verdict only if it is
///   already past its threshold (a miss that nothing can undo, `met: Some(false)`); otherwise it
///   stays without one. A first response still owed resumes when the conversation is reopened
///   (the customer still waits for it, as Chatwoot keeps checking `frt` of an open conversation
///   without a first reply); a next response does not (resolving answered it, as Chatwoot
///   clears `waiting_since`): the next customer message starts a fresh run.
/// - Only `rt` pauses while the conversation waits on the customer (pending or snoozed): the
///   customer's silence delays the resolution, while a reply still owed (`frt`, `nrt`) stays
///   owed — snoozing a conversation does not answer the customer.
/// - Reopening continues the one `rt` run, as Chatwoot keeps one: its counted time, warning
///   and breach carry over, and the next resolution gives a new verdict.
/// - `nrt` is measured only after an agent has replied ([`Timers::first_reply_at`]), so the
///   first wait is `frt`'s alone, whether or not the policy sets `frt`.
///
/// # Alerts
///
/// A warning is due once counted time reaches [`warning_at`] of the threshold, a breach once it
/// exceeds the threshold. Each is returned once per run of a metric; a metric that jumps past
/// both between two checks gets only the breach. A metric that got a late verdict before any
/// breach was alerted (a late reply between two checks) still gets its breach alert, so that
/// every miss is alerted exactly once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Timers {
    pub frt: Option<MetricState>,
    pub nrt: Option<MetricState>,
    pub rt: Option<MetricState>,
    /// When an agent first replied: next responses are measured only after it.
    pub first_reply_at: Option<Millis>,
}

impl Timers {
    /// A conversation's SLA from `at`: `frt` and `rt` run (if the policy sets them), `nrt` waits
    /// for a reply and a customer message after it.
    pub fn start(at: Millis, t: &Thresholds) -> Self {
        Self {
            frt: t.frt_ms.map(|_| MetricState::running(at)),
            nrt: None,
            rt: t.rt_ms.map(|_| MetricState::running(at)),
            first_reply_at: None,
        }
    }

    pub fn get(&self, metric: Metric) -> Option<&MetricState> {
        match metric {
            Metric::Frt => self.frt.as_ref(),
            Metric::Nrt => self.nrt.as_ref(),
            Metric::Rt => self.rt.as_ref(),
        }
    }

    fn get_mut(&mut self, metric: Metric) -> Option<&mut MetricState> {
        match metric {
            Metric::Frt => self.frt.as_mut(),
            Metric::Nrt => self.nrt.as_mut(),
            Metric::Rt => self.rt.as_mut(),
        }
    }

    /// Applies a change at `at`, by the rules on [`Timers`].
    pub fn apply(
        &mut self,
        change: ConversationChange,
        at: Millis,
        t: &Thresholds,
        schedule: &Schedule,
    ) {
        match change {
            ConversationChange::CustomerMessage => {
                let nrt_running = self.nrt.as_ref().is_some_and(MetricState::is_running);
                if self.first_reply_at.is_some() && t.nrt_ms.is_some() && !nrt_running {
                    self.nrt = Some(MetricState::running(at));
                }
            }
            ConversationChange::AgentReply => {
                self.first_reply_at.get_or_insert(at);
                if let Some(frt) = &mut self.frt
                    && frt.met.is_none()
                {
                    frt.finish(at, t.frt_ms, schedule);
                }
                if let Some(nrt) = &mut self.nrt
                    && nrt.is_running()
                {
                    nrt.finish(at, t.nrt_ms, schedule);
                }
            }
            ConversationChange::WaitingOnCustomer => {
                if let Some(rt) = &mut self.rt
                    && rt.met.is_none()
                {
                    rt.clock.pause(at, schedule);
                }
            }
            ConversationChange::BackToAgent | ConversationChange::Reopened => {
                if let Some(rt) = &mut self.rt {
                    rt.met = None;
                    rt.clock.resume(at);
                }
                if let Some(frt) = &mut self.frt
                    && frt.met.is_none()
                {
                    frt.clock.resume(at);
                }
            }
            ConversationChange::Resolved => {
                if let Some(rt) = &mut self.rt {
                    rt.finish(at, t.rt_ms, schedule);
                }
                for (state, threshold) in [(&mut self.frt, t.frt_ms), (&mut self.nrt, t.nrt_ms)] {
                    if let Some(state) = state
                        && state.met.is_none()
                    {
                        state.stop(at, threshold, schedule);
                    }
                }
            }
        }
    }

    /// The alerts due at `now` that were not returned before, marking them returned: a warning
    /// once counted time reaches the warning, a breach once it exceeds the threshold or the
    /// metric was done late. Metrics the policy does not measure have none.
    pub fn alerts_due(&mut self, now: Millis, t: &Thresholds, schedule: &Schedule) -> Vec<Alert> {
        let mut alerts = Vec::new();
        for metric in Metric::ALL {
            let (Some(state), Some(threshold)) = (self.get_mut(metric), t.get(metric)) else {
                continue;
            };
            if state.breached {
                continue;
            }
            let standing = state.standing(now, Some(threshold), t.warning_percent, schedule);
            match standing {
                Standing::Breached | Standing::Missed => {
                    state.breached = true;
                    state.warned = true;
                    alerts.push(Alert::Breach(metric));
                }
                Standing::Warned if !state.warned => {
                    state.warned = true;
                    alerts.push(Alert::Warning(metric));
                }
                Standing::Warned | Standing::Pending | Standing::Met => {}
            }
        }
        alerts
    }

    /// The earliest instant at which [`Timers::alerts_due`] would return something new: the
    /// warning or breach instant of a running metric. An alert already due gives an instant in
    /// the past — as early as `Millis::MIN` for a metric that stopped past its threshold before
    /// its breach was returned, whose crossing instant is no longer known. `None` when nothing
    /// is pending (or the schedule never opens again).
    pub fn next_check(&self, t: &Thresholds, schedule: &Schedule) -> Option<Millis> {
        Metric::ALL
            .into_iter()
            .filter_map(|metric| {
                let state = self.get(metric)?;
                let threshold = t.get(metric)?;
                if state.breached {
                    return None;
                }
                match state.met {
                    Some(true) => None,
                    Some(false) => Some(Millis::MIN),
                    None if state.clock.is_running() => {
                        let breach = state.clock.due_at(threshold.saturating_add(1), schedule);
                        let warning = (!state.warned)
                            .then(|| {
                                state
                                    .clock
                                    .due_at(warning_at(threshold, t.warning_percent), schedule)
                            })
                            .flatten();
                        breach.into_iter().chain(warning).min()
                    }
                    None => {
                        let standing =
                            Standing::of(state.clock.elapsed_ms, threshold, t.warning_percent);
                        let due = standing == Standing::Breached
                            || (standing == Standing::Warned && !state.warned);
                        due.then_some(Millis::MIN)
                    }
                }
            })
            .min()
    }

    /// For display: each running metric's deadline, the instant its threshold of counted time
    /// is used up (the breach comes right after).
    pub fn due_times(&self, t: &Thresholds, schedule: &Schedule) -> Vec<(Metric, Millis)> {
        Metric::ALL
            .into_iter()
            .filter_map(|metric| {
                let state = self.get(metric).filter(|s| s.is_running())?;
                let due = state.clock.due_at(t.get(metric)?, schedule)?;
                Some((metric, due))
            })
            .collect()
    }
}
