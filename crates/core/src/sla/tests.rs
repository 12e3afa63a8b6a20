use chrono_tz::Tz;
use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::hours::tests::{
    duration_strategy, instant_strategy, local, office_week, schedule, schedule_strategy,
};
use ConversationChange::*;

const SECOND: Millis = 1_000;
const MINUTE: Millis = 60 * SECOND;
const HOUR: Millis = 60 * MINUTE;

fn thresholds(frt: i64, nrt: i64, rt: i64, warning_percent: u8) -> Thresholds {
    Thresholds {
        frt_ms: Some(frt),
        nrt_ms: Some(nrt),
        rt_ms: Some(rt),
        warning_percent,
    }
}

fn warsaw_office() -> Schedule {
    schedule("Europe/Warsaw", office_week(), Value::Null)
}

fn warsaw(m: u32, d: u32, h: u32, min: u32) -> Millis {
    local(Tz::Europe__Warsaw, 2026, m, d, h, min)
}

#[test]
fn metrics_are_named_as_chatwoot_names_them() {
    for metric in Metric::ALL {
        assert_eq!(Metric::parse(metric.as_str()), Some(metric));
        assert_eq!(json!(metric), json!(metric.as_str()));
        assert_eq!(metric.to_string(), metric.as_str());
    }
    assert_eq!(Metric::parse("FRT"), None);
    assert_eq!(
        json!(Alert::Breach(Metric::Nrt)),
        json!({"kind": "breach", "metric": "nrt"})
    );
}

#[test]
fn warnings_come_at_a_clamped_share_of_the_threshold() {
    assert_eq!(warning_at(1_000, 80), 800);
    assert_eq!(warning_at(1_000, 0), 10);
    assert_eq!(warning_at(1_000, 100), 990);
    assert_eq!(warning_at(1_000, u8::MAX), 990);
    assert_eq!(warning_at(-5, 50), 0);
    assert_eq!(
        i128::from(warning_at(i64::MAX, 99)),
        i128::from(i64::MAX) * 99 / 100
    );
}

#[test]
fn thresholds_from_chatwoots_seconds() {
    let t = Thresholds::from_seconds(Some(90.0), None, Some(f64::NAN), 75);
    assert_eq!(t.frt_ms, Some(90_000));
    assert_eq!(t.nrt_ms, None);
    assert_eq!(t.rt_ms, None);
    assert_eq!(t.get(Metric::Frt), Some(90_000));
    assert_eq!(
        Thresholds::from_seconds(Some(-1.0), Some(0.0015), None, 75).nrt_ms,
        Some(2)
    );
    assert_eq!(Thresholds::default().warning_percent, 80);
}

#[test]
fn policies_count_business_hours_only_when_they_say_so() {
    let office = warsaw_office();
    assert_eq!(*counting_schedule(true, &office), office);
    assert!(counting_schedule(false, &office).is_always_open());
}

#[test]
fn a_clock_counts_open_time_while_running() {
    let s = warsaw_office();
    let friday = warsaw(1, 16, 16, 30);
    let monday = warsaw(1, 19, 9, 0);
    let mut clock = Clock::started(friday);
    assert_eq!(clock.elapsed_at(monday + HOUR, &s), 90 * MINUTE);
    assert_eq!(clock.due_at(2 * HOUR, &s), Some(monday + 90 * MINUTE));
    clock.pause(monday + HOUR, &s);
    assert_eq!(clock.elapsed_ms, 90 * MINUTE);
    assert_eq!(clock.elapsed_at(monday + 5 * HOUR, &s), 90 * MINUTE);
    assert_eq!(clock.due_at(2 * HOUR, &s), None);
    clock.pause(monday + 2 * HOUR, &s);
    assert_eq!(clock.elapsed_ms, 90 * MINUTE, "pausing twice counts once");
    clock.resume(monday + 3 * HOUR);
    clock.resume(monday + 4 * HOUR);
    assert_eq!(clock.running_since, Some(monday + 3 * HOUR));
    assert_eq!(
        clock.due_at(2 * HOUR, &s),
        Some(monday + 3 * HOUR + 30 * MINUTE)
    );
    // A threshold already used up is due since the clock resumed.
    assert_eq!(clock.due_at(HOUR, &s), Some(monday + 3 * HOUR));
    // A pause dated before the resume (events out of order) counts nothing.
    clock.pause(monday, &s);
    assert_eq!(clock.elapsed_ms, 90 * MINUTE);
}

#[test]
fn standing_of_counted_time() {
    assert_eq!(Standing::of(0, 100, 80), Standing::Pending);
    assert_eq!(Standing::of(79, 100, 80), Standing::Pending);
    assert_eq!(Standing::of(80, 100, 80), Standing::Warned);
    assert_eq!(Standing::of(100, 100, 80), Standing::Warned);
    assert_eq!(Standing::of(101, 100, 80), Standing::Breached);
    let s = Schedule::always();
    let mut state = MetricState::running(0);
    assert_eq!(state.standing(50, Some(100), 80, &s), Standing::Pending);
    assert_eq!(state.standing(500, None, 80, &s), Standing::Pending);
    state.met = Some(false);
    assert_eq!(state.standing(50, Some(100), 80, &s), Standing::Missed);
    state.met = Some(true);
    assert_eq!(state.standing(500, Some(100), 80, &s), Standing::Met);
}

/// A whole conversation, counted around the clock.
#[test]
fn timers_follow_a_conversation() {
    let s = Schedule::always();
    let t = thresholds(10 * MINUTE, 5 * MINUTE, HOUR, 50);
    let mut timers = Timers::start(0, &t);
    assert!(timers.frt.as_ref().is_some_and(MetricState::is_running));
    assert!(timers.rt.as_ref().is_some_and(MetricState::is_running));
    assert_eq!(timers.nrt, None);
    assert_eq!(
        timers.due_times(&t, &s),
        [(Metric::Frt, 10 * MINUTE), (Metric::Rt, HOUR)]
    );

    // The first response's warning at half its threshold, once.
    assert_eq!(timers.next_check(&t, &s), Some(5 * MINUTE));
    assert_eq!(timers.alerts_due(5 * MINUTE - 1, &t, &s), []);
    assert_eq!(
        timers.alerts_due(5 * MINUTE, &t, &s),
        [Alert::Warning(Metric::Frt)]
    );
    assert_eq!(timers.alerts_due(6 * MINUTE, &t, &s), []);
    assert_eq!(timers.next_check(&t, &s), Some(10 * MINUTE + 1));

    // A customer message before any reply starts nothing.
    timers.apply(CustomerMessage, 7 * MINUTE, &t, &s);
    assert_eq!(timers.nrt, None);

    // Replied in time.
    timers.apply(AgentReply, 8 * MINUTE, &t, &s);
    assert_eq!(timers.first_reply_at, Some(8 * MINUTE));
    let frt = timers.frt.clone().unwrap();
    assert_eq!((frt.met, frt.clock.elapsed_ms), (Some(true), 8 * MINUTE));
    assert_eq!(timers.next_check(&t, &s), Some(30 * MINUTE));

    // The customer writes again, twice: the next response is owed from the first.
    timers.apply(CustomerMessage, 9 * MINUTE, &t, &s);
    timers.apply(CustomerMessage, 10 * MINUTE, &t, &s);
    assert_eq!(timers.nrt, Some(MetricState::running(9 * MINUTE)));
    assert_eq!(timers.next_check(&t, &s), Some(9 * MINUTE + 150 * SECOND));
    // Replied late, before any check ran: the miss is alerted at once, and only once.
    timers.apply(AgentReply, 20 * MINUTE, &t, &s);
    assert_eq!(timers.nrt.as_ref().and_then(|n| n.met), Some(false));
    assert_eq!(timers.first_reply_at, Some(8 * MINUTE));
    assert_eq!(timers.next_check(&t, &s), Some(Millis::MIN));
    assert_eq!(
        timers.alerts_due(20 * MINUTE, &t, &s),
        [Alert::Breach(Metric::Nrt)]
    );
    assert_eq!(timers.alerts_due(21 * MINUTE, &t, &s), []);

    // A new customer message is a new run, with its own alerts.
    timers.apply(CustomerMessage, 22 * MINUTE, &t, &s);
    assert_eq!(timers.nrt, Some(MetricState::running(22 * MINUTE)));
    timers.apply(AgentReply, 23 * MINUTE, &t, &s);
    assert_eq!(timers.nrt.as_ref().and_then(|n| n.met), Some(true));

    // Waiting on the customer pauses the resolution clock.
    timers.apply(WaitingOnCustomer, 25 * MINUTE, &t, &s);
    assert_eq!(timers.next_check(&t, &s), None);
    assert_eq!(timers.due_times(&t, &s), []);
    timers.apply(BackToAgent, 100 * MINUTE, &t, &s);
    assert_eq!(timers.next_check(&t, &s), Some(105 * MINUTE));
    assert_eq!(timers.due_times(&t, &s), [(Metric::Rt, 135 * MINUTE)]);

    timers.apply(Resolved, 110 * MINUTE, &t, &s);
    let rt = timers.rt.clone().unwrap();
    assert_eq!((rt.met, rt.clock.elapsed_ms), (Some(true), 35 * MINUTE));
    assert_eq!(timers.next_check(&t, &s), None);
    assert_eq!(timers.alerts_due(1_000 * HOUR, &t, &s), []);

    // Reopening continues the same resolution run.
    timers.apply(Reopened, 200 * MINUTE, &t, &s);
    assert_eq!(timers.rt.as_ref().map(MetricState::is_running), Some(true));
    assert_eq!(timers.due_times(&t, &s), [(Metric::Rt, 225 * MINUTE)]);
    assert_eq!(
        timers.alerts_due(226 * MINUTE, &t, &s),
        [Alert::Breach(Metric::Rt)]
    );
    timers.apply(Resolved, 230 * MINUTE, &t, &s);
    assert_eq!(timers.rt.as_ref().and_then(|r| r.met), Some(false));
}

#[test]
fn resolving_without_a_reply_suspends_the_first_response() {
    let s = Schedule::always();
    let t = thresholds(10 * MINUTE, 5 * MINUTE, HOUR, 80);
    let mut timers = Timers::start(0, &t);
    timers.apply(Resolved, 4 * MINUTE, &t, &s);
    let frt = timers.frt.clone().unwrap();
    assert_eq!(frt.met, None);
    assert!(!frt.is_running());
    assert_eq!(timers.next_check(&t, &s), None);
    // The time resolved does not count.
    timers.apply(Reopened, 60 * MINUTE, &t, &s);
    assert_eq!(timers.due_times(&t, &s)[0], (Metric::Frt, 66 * MINUTE));
    timers.apply(AgentReply, 65 * MINUTE, &t, &s);
    assert_eq!(timers.frt.as_ref().and_then(|f| f.met), Some(true));
}

#[test]
fn resolving_past_a_threshold_is_a_miss() {
    let s = Schedule::always();
    let t = thresholds(10 * MINUTE, 5 * MINUTE, HOUR, 80);
    let mut timers = Timers::start(0, &t);
    timers.apply(AgentReply, MINUTE, &t, &s);
    timers.apply(CustomerMessage, 2 * MINUTE, &t, &s);
    assert_eq!(
        timers.alerts_due(8 * MINUTE, &t, &s),
        [Alert::Breach(Metric::Nrt)]
    );
    timers.apply(Resolved, 9 * MINUTE, &t, &s);
    assert_eq!(timers.nrt.as_ref().and_then(|n| n.met), Some(false));
    assert_eq!(timers.rt.as_ref().and_then(|r| r.met), Some(true));

    // Stopped past the threshold without an alert: still a miss, alerted once.
    let mut timers = Timers::start(0, &t);
    timers.apply(Resolved, 11 * MINUTE, &t, &s);
    assert_eq!(timers.frt.as_ref().and_then(|f| f.met), Some(false));
    assert_eq!(timers.next_check(&t, &s), Some(Millis::MIN));
    assert_eq!(
        timers.alerts_due(12 * MINUTE, &t, &s),
        [Alert::Breach(Metric::Frt)]
    );
    assert_eq!(timers.next_check(&t, &s), None);
    // A missed first response does not come back on reopening.
    timers.apply(Reopened, 20 * MINUTE, &t, &s);
    assert!(!timers.frt.as_ref().is_some_and(MetricState::is_running));
}

#[test]
fn only_measured_metrics_run() {
    let s = Schedule::always();
    let t = Thresholds {
        rt_ms: Some(HOUR),
        ..Thresholds::default()
    };
    let mut timers = Timers::start(0, &t);
    assert_eq!((timers.frt.is_some(), timers.rt.is_some()), (false, true));
    timers.apply(AgentReply, MINUTE, &t, &s);
    assert_eq!(timers.first_reply_at, Some(MINUTE));
    timers.apply(CustomerMessage, 2 * MINUTE, &t, &s);
    assert_eq!(timers.nrt, None);
    // With only `nrt` measured, the first wait is still nobody's.
    let t = Thresholds {
        nrt_ms: Some(MINUTE),
        ..Thresholds::default()
    };
    let mut timers = Timers::start(0, &t);
    timers.apply(CustomerMessage, MINUTE, &t, &s);
    assert_eq!(timers.nrt, None);
    timers.apply(AgentReply, 2 * MINUTE, &t, &s);
    timers.apply(CustomerMessage, 3 * MINUTE, &t, &s);
    assert_eq!(timers.nrt, Some(MetricState::running(3 * MINUTE)));
}

/// A first response owed an hour from Friday 16:30 in a Warsaw office is due Monday 09:30.
#[test]
fn deadlines_skip_closed_hours() {
    let s = warsaw_office();
    let t = Thresholds {
        frt_ms: Some(HOUR),
        ..Thresholds::default()
    };
    let mut timers = Timers::start(warsaw(1, 16, 16, 30), &t);
    assert_eq!(
        timers.due_times(&t, &s),
        [(Metric::Frt, warsaw(1, 19, 9, 30))]
    );
    // 80 %: 48 minutes, 30 of them on Friday.
    assert_eq!(timers.next_check(&t, &s), Some(warsaw(1, 19, 9, 18)));
    assert_eq!(timers.alerts_due(warsaw(1, 18, 12, 0), &t, &s), []);
    assert_eq!(
        timers.alerts_due(warsaw(1, 19, 9, 18), &t, &s),
        [Alert::Warning(Metric::Frt)]
    );
    // At the deadline itself the reply is still in time; a millisecond of open time later, not.
    assert_eq!(timers.next_check(&t, &s), Some(warsaw(1, 19, 9, 30) + 1));
    let mut in_time = timers.clone();
    in_time.apply(AgentReply, warsaw(1, 19, 9, 30), &t, &s);
    assert_eq!(in_time.frt.and_then(|f| f.met), Some(true));
    timers.apply(AgentReply, warsaw(1, 19, 9, 30) + 1, &t, &s);
    assert_eq!(timers.frt.as_ref().and_then(|f| f.met), Some(false));
}

#[test]
fn timers_round_trip_through_json() {
    let s = Schedule::always();
    let t = thresholds(MINUTE, MINUTE, HOUR, 80);
    let mut timers = Timers::start(5, &t);
    timers.apply(AgentReply, 10, &t, &s);
    timers.apply(CustomerMessage, 20, &t, &s);
    let stored = serde_json::to_value(&timers).unwrap();
    assert_eq!(
        stored["frt"],
        json!({"clock": {"elapsed_ms": 5, "running_since": null},
               "warned": false, "breached": false, "met": true})
    );
    assert_eq!(serde_json::from_value::<Timers>(stored).unwrap(), timers);
    assert_eq!(
        serde_json::from_value::<Timers>(json!({})).unwrap(),
        Timers::default()
    );
}

// ---- Properties -------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Pausing and resuming at random instants: the clock counts exactly the open time of its
    /// running spans, nothing while paused, and its due instant is when it reaches the
    /// threshold.
    #[test]
    fn a_clock_counts_only_open_running_time(
        s in schedule_strategy(),
        start in instant_strategy(),
        steps in prop::collection::vec((0i64..3 * 24 * HOUR, any::<bool>()), 1..8),
        threshold in duration_strategy(),
    ) {
        let mut clock = Clock::started(start);
        let mut expected = 0;
        let mut running_since = Some(start);
        let mut now = start;
        for (gap, toggle) in steps {
            now += gap;
            let counted_now = expected + running_since.map_or(0, |since| s.business_time_between(since, now));
            prop_assert_eq!(clock.elapsed_at(now, &s), counted_now);
            match clock.due_at(threshold, &s) {
                Some(due) if threshold >= clock.elapsed_ms => {
                    prop_assert_eq!(clock.elapsed_at(due, &s), threshold);
                    if due > clock.running_since.unwrap_or(due) {
                        prop_assert!(clock.elapsed_at(due - 1, &s) < threshold);
                    }
                }
                Some(due) => prop_assert_eq!(Some(due), clock.running_since),
                // Running, it is only unknown when the schedule stops opening first.
                None => prop_assert!(!clock.is_running() || threshold > clock.elapsed_ms),
            }
            if toggle {
                if let Some(since) = running_since.take() {
                    expected += s.business_time_between(since, now);
                    clock.pause(now, &s);
                    prop_assert_eq!(clock.elapsed_ms, expected);
                    // Nothing counts while paused, however long.
                    prop_assert_eq!(clock.elapsed_at(now + 30 * 24 * HOUR, &s), expected);
                } else {
                    running_since = Some(now);
                    clock.resume(now);
                }
            }
        }
    }

    /// Whatever happens to a conversation, alerts come exactly at `next_check` and never
    /// twice for one run.
    #[test]
    fn alerts_come_exactly_at_next_check(
        s in schedule_strategy(),
        start in instant_strategy(),
        limits in (1i64..8 * 60, 1i64..8 * 60, 1i64..24 * 60, 0u8..120),
        changes in prop::collection::vec((0u8..6, 0i64..2 * 24 * HOUR, any::<bool>()), 0..10),
    ) {
        let t = thresholds(limits.0 * MINUTE, limits.1 * MINUTE, limits.2 * MINUTE, limits.3);
        let mut timers = Timers::start(start, &t);
        let mut now = start;
        let mut seen: Vec<Alert> = Vec::new();
        for (kind, gap, check) in changes {
            now += gap;
            if check {
                let alerts = timers.alerts_due(now, &t, &s);
                for alert in &alerts {
                    // A new `nrt` run may alert again; `frt` and `rt` have one run each.
                    if !matches!(alert, Alert::Warning(Metric::Nrt) | Alert::Breach(Metric::Nrt)) {
                        prop_assert!(!seen.contains(alert), "{:?} twice", alert);
                    }
                }
                seen.extend(alerts);
                match timers.next_check(&t, &s) {
                    Some(next) => {
                        prop_assert!(next > now);
                        prop_assert_eq!(timers.clone().alerts_due(next - 1, &t, &s), []);
                        prop_assert!(!timers.clone().alerts_due(next, &t, &s).is_empty());
                    }
                    None => prop_assert_eq!(timers.clone().alerts_due(now + 400 * 24 * HOUR, &t, &s), []),
                }
            }
            let change = [CustomerMessage, AgentReply, Resolved, Reopened, WaitingOnCustomer, BackToAgent][usize::from(kind)];
            timers.apply(change, now, &t, &s);
            for state in [&timers.frt, &timers.nrt, &timers.rt].into_iter().flatten() {
                prop_assert!(!state.breached || state.warned);
                prop_assert!(state.met != Some(true) || !state.breached);
            }
        }
    }
}
