//! The calls report's figures from the calls themselves: how many came in and went out, how
//! the inbound ones ended (answered, missed, abandoned, voicemail, callback), how long callers
//! waited in the queue, the service level (the share answered within a threshold), and talk
//! time overall and per agent. Pure: the store hands over the calls of the period.
//!
//! The queue wait runs from when the caller joined the queue (the widget's calls join at once)
//! to the answer; a caller the menu sent straight to voicemail (a closed inbox) never waited
//! for anyone and does not count towards the service level. Talk time runs from the answer to
//! the end.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::voice::call::{Call, Direction, Outcome};

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CallMetrics {
    /// Calls started in the period, both ways.
    pub total: u64,
    pub inbound: u64,
    pub outbound: u64,
    /// Inbound calls that ended, by outcome.
    pub answered: u64,
    pub missed: u64,
    pub abandoned: u64,
    pub voicemail: u64,
    pub callback: u64,
    /// Shares of the inbound calls that ended (0 when none did, as Chatwoot's reports give
    /// figures without data).
    pub answer_rate: f64,
    pub abandon_rate: f64,
    /// Queue waits of inbound calls answered.
    pub average_wait_seconds: f64,
    pub longest_wait_seconds: i64,
    /// Answered within `service_level_seconds`, of the callers who waited in the queue.
    pub service_level: f64,
    pub service_level_seconds: i64,
    /// Talk time of answered calls, both ways.
    pub talk_seconds: i64,
    pub average_talk_seconds: f64,
    pub agents: Vec<AgentCalls>,
}

/// One agent's answered calls.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct AgentCalls {
    pub agent_id: i64,
    pub calls: u64,
    pub talk_seconds: i64,
    pub average_talk_seconds: f64,
}

fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

fn average(sum: i64, n: u64) -> f64 {
    if n == 0 { 0.0 } else { sum as f64 / n as f64 }
}

/// Seconds a caller waited in the queue before an agent answered.
fn queue_wait(call: &Call) -> Option<i64> {
    let answered = call.answered_at?;
    Some(((answered - call.queued_at.unwrap_or(call.started_at)) / 1000).max(0))
}

fn talk(call: &Call) -> Option<i64> {
    Some(((call.ended_at? - call.answered_at?) / 1000).max(0))
}

pub fn metrics(calls: &[Call], service_level_seconds: i64) -> CallMetrics {
    let mut m = CallMetrics {
        service_level_seconds,
        ..CallMetrics::default()
    };
    let mut ended_inbound = 0;
    let (mut waits, mut waited, mut within, mut queued) = (0i64, 0u64, 0u64, 0u64);
    let mut talked = 0u64;
    let mut agents: BTreeMap<i64, AgentCalls> = BTreeMap::new();
    for call in calls {
        m.total += 1;
        if call.direction == Direction::Outbound {
            m.outbound += 1;
        } else {
            m.inbound += 1;
            if let Some(outcome) = call.outcome {
                ended_inbound += 1;
                *match outcome {
                    Outcome::Answered => &mut m.answered,
                    Outcome::Missed => &mut m.missed,
                    Outcome::Abandoned => &mut m.abandoned,
                    Outcome::Voicemail => &mut m.voicemail,
                    Outcome::Callback => &mut m.callback,
                } += 1;
                if call.queued_at.is_some() || call.answered_at.is_some() {
                    queued += 1;
                }
            }
            if let Some(wait) = queue_wait(call) {
                waits += wait;
                waited += 1;
                m.longest_wait_seconds = m.longest_wait_seconds.max(wait);
                if wait <= service_level_seconds {
                    within += 1;
                }
            }
        }
        if let Some(seconds) = talk(call) {
            m.talk_seconds += seconds;
            talked += 1;
            if let Some(agent_id) = call.agent_id {
                let a = agents.entry(agent_id).or_insert_with(|| AgentCalls {
                    agent_id,
                    ..AgentCalls::default()
                });
                a.calls += 1;
                a.talk_seconds += seconds;
            }
        }
    }
    m.answer_rate = share(m.answered, ended_inbound);
    m.abandon_rate = share(m.abandoned, ended_inbound);
    m.average_wait_seconds = average(waits, waited);
    m.service_level = share(within, queued);
    m.average_talk_seconds = average(m.talk_seconds, talked);
    m.agents = agents
        .into_values()
        .map(|mut a| {
            a.average_talk_seconds = average(a.talk_seconds, a.calls);
            a
        })
        .collect();
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::voice::call::CallState;
    use crate::voice::web_call::Medium;

    const S: i64 = 1000;

    fn call(direction: Direction, outcome: Option<Outcome>) -> Call {
        Call {
            id: 1,
            account_id: 1,
            inbox_id: 1,
            conversation_id: None,
            contact_id: None,
            provider_id: "CA1".into(),
            direction,
            medium: Medium::Phone,
            from: "+5511987654321".into(),
            to: "+14155550100".into(),
            state: CallState::Completed,
            outcome,
            team_id: None,
            agent_id: None,
            started_at: 0,
            queued_at: None,
            callback_requested_at: None,
            answered_at: None,
            ended_at: Some(60 * S),
            duration_seconds: None,
            voicemail_message_id: None,
            disposition: None,
            wrap_up_notes: None,
            wrapped_up_by: None,
            wrapped_up_at: None,
            recording_provider_id: None,
            recording_url: None,
            recording_seconds: None,
            recording_blob: None,
            last_sequence: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    fn answered(agent: i64, queued: i64, answered: i64, ended: i64) -> Call {
        Call {
            agent_id: Some(agent),
            queued_at: Some(queued * S),
            answered_at: Some(answered * S),
            ended_at: Some(ended * S),
            ..call(Direction::Inbound, Some(Outcome::Answered))
        }
    }

    #[test]
    fn outcomes_waits_service_level_and_talk_time() {
        let calls = vec![
            // Waited 10 s in the queue after 15 s in the menu, talked 120 s.
            answered(7, 15, 25, 145),
            // Waited 40 s, talked 60 s.
            answered(8, 0, 40, 100),
            // Hung up in the queue.
            Call {
                queued_at: Some(5 * S),
                ..call(Direction::Inbound, Some(Outcome::Abandoned))
            },
            // Closed: straight to voicemail, never queued.
            call(Direction::Inbound, Some(Outcome::Voicemail)),
            // Still ringing: counted, not ended.
            Call {
                ended_at: None,
                state: CallState::Ringing,
                ..call(Direction::Inbound, None)
            },
            // An agent's call out, 30 s of talk.
            Call {
                agent_id: Some(7),
                answered_at: Some(10 * S),
                ended_at: Some(40 * S),
                ..call(Direction::Outbound, Some(Outcome::Answered))
            },
        ];
        let m = metrics(&calls, 20);
        assert_eq!((m.total, m.inbound, m.outbound), (6, 5, 1));
        assert_eq!(
            (m.answered, m.missed, m.abandoned, m.voicemail, m.callback),
            (2, 0, 1, 1, 0)
        );
        assert_eq!(m.answer_rate, 0.5);
        assert_eq!(m.abandon_rate, 0.25);
        assert_eq!(m.average_wait_seconds, 25.0);
        assert_eq!(m.longest_wait_seconds, 40);
        // One of the three callers who waited was answered within 20 s.
        assert_eq!(m.service_level, 1.0 / 3.0);
        assert_eq!(m.talk_seconds, 210);
        assert_eq!(m.average_talk_seconds, 70.0);
        assert_eq!(
            m.agents,
            vec![
                AgentCalls {
                    agent_id: 7,
                    calls: 2,
                    talk_seconds: 150,
                    average_talk_seconds: 75.0
                },
                AgentCalls {
                    agent_id: 8,
                    calls: 1,
                    talk_seconds: 60,
                    average_talk_seconds: 60.0
                },
            ]
        );
    }

    #[test]
    fn no_calls_give_zeros_not_a_division_by_zero() {
        let m = metrics(&[], 20);
        assert_eq!(m.total, 0);
        assert_eq!(m.answer_rate, 0.0);
        assert_eq!(m.service_level, 0.0);
        assert_eq!(m.average_talk_seconds, 0.0);
        assert!(m.agents.is_empty());
    }
}
