use std::collections::BTreeMap;

use super::secs;
use crate::hours::Schedule;
use crate::sla::{Thresholds, Timers};

view! {
    /// An SLA policy (Chatwoot's `sla_policy`), with Throughline's `warning_percent` and the
    /// inboxes and labels whose conversations get it on their own.
    pub struct SlaPolicyView {
        pub id: i64,
        pub name: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub description: Option<String>,
        /// Seconds.
        pub first_response_time_threshold: Option<i64>,
        pub next_response_time_threshold: Option<i64>,
        pub resolution_time_threshold: Option<i64>,
        pub only_during_business_hours: bool,
        pub warning_percent: i64,
        pub inbox_ids: Vec<i64>,
        pub labels: Vec<String>,
        pub created_at: i64,
        pub updated_at: i64,
    }

    /// The policy measuring a conversation (Chatwoot's `applied_sla`), with when each running
    /// metric breaches (`due_at`, Unix seconds; Throughline's) and which are already warned
    /// or breached — what the list's and the conversation's badges show.
    pub struct AppliedSlaView {
        pub id: i64,
        pub sla_id: i64,
        pub sla_status: String,
        pub sla_name: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub sla_description: Option<String>,
        pub sla_first_response_time_threshold: Option<i64>,
        pub sla_next_response_time_threshold: Option<i64>,
        pub sla_resolution_time_threshold: Option<i64>,
        pub sla_only_during_business_hours: bool,
        /// Running metrics (frt, nrt, rt) and when each breaches.
        pub due_at: BTreeMap<String, i64>,
        pub warned: Vec<String>,
        pub breached: Vec<String>,
        pub created_at: i64,
        pub updated_at: i64,
    }
}

/// An applied policy's stored parts.
pub struct AppliedParts<'a> {
    pub id: i64,
    pub status: &'a str,
    pub timers: &'a Timers,
    pub created_at: crate::Millis,
    pub updated_at: crate::Millis,
}

impl AppliedSlaView {
    pub fn new(a: AppliedParts<'_>, policy: &SlaPolicyView, schedule: &Schedule) -> Self {
        let thresholds = Thresholds {
            frt_ms: policy.first_response_time_threshold.map(|s| s * 1000),
            nrt_ms: policy.next_response_time_threshold.map(|s| s * 1000),
            rt_ms: policy.resolution_time_threshold.map(|s| s * 1000),
            warning_percent: u8::try_from(policy.warning_percent.clamp(1, 99)).unwrap_or(80),
        };
        let due_at = a
            .timers
            .due_times(&thresholds, schedule)
            .into_iter()
            .map(|(m, at)| (m.as_str().to_owned(), crate::to_unix_seconds(at)))
            .collect();
        let mut warned = Vec::new();
        let mut breached = Vec::new();
        for (metric, state) in [
            ("frt", &a.timers.frt),
            ("nrt", &a.timers.nrt),
            ("rt", &a.timers.rt),
        ] {
            if let Some(s) = state {
                if s.breached {
                    breached.push(metric.to_owned());
                } else if s.warned {
                    warned.push(metric.to_owned());
                }
            }
        }
        Self {
            id: a.id,
            sla_id: policy.id,
            sla_status: a.status.to_owned(),
            sla_name: policy.name.clone(),
            sla_description: policy.description.clone(),
            sla_first_response_time_threshold: policy.first_response_time_threshold,
            sla_next_response_time_threshold: policy.next_response_time_threshold,
            sla_resolution_time_threshold: policy.resolution_time_threshold,
            sla_only_during_business_hours: policy.only_during_business_hours,
            due_at,
            warned,
            breached,
            created_at: secs(a.created_at),
            updated_at: secs(a.updated_at),
        }
    }
}
