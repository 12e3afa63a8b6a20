//! Automation rules (Chatwoot's `automation_rules`): on an event, when the conditions hold,
//! do the actions. This module decides; the jobs crate reads the outbox and acts.
//!
//! - [`EventName`]: what a rule listens to, and which outbox events raise it ([`triggers`]).
//! - [`conditions`]: the attributes a rule may test and the test itself.
//! - [`actions`]: what a rule (or a macro) may do.
//! - [`RuleDraft::checked`]: a rule as an administrator writes it, validated.
//! - [`may_run`]: loops are impossible — the events a rule's actions cause carry the chain of
//!   rules that caused them; a rule never runs on an event it caused (directly or through
//!   another rule), and chains stop at [`MAX_CHAIN`].

pub mod actions;
pub mod conditions;

use std::collections::HashMap;

use serde_json::Value;

use crate::event::EventKind;
use crate::filter::{AttrType, Choices, Condition};
use crate::validate::{FieldError, optional_text, required_text};

pub use actions::Action;
pub use conditions::{Catalog, Fact, Facts};

/// The events a rule can listen to: Chatwoot's, and Throughline's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventName {
    ConversationCreated,
    ConversationUpdated,
    ConversationOpened,
    ConversationResolved,
    MessageCreated,
    /// Another system posted a business event (order, payment, delivery…) on the contact.
    BusinessEventReceived,
    /// The customer wrote through another inbox than their previous message.
    ChannelSwitched,
    /// An SLA metric of the conversation is close to its threshold.
    SlaWarning,
    /// An SLA metric of the conversation passed its threshold.
    SlaBreached,
}

impl EventName {
    pub const ALL: [EventName; 9] = [
        Self::ConversationCreated,
        Self::ConversationUpdated,
        Self::ConversationOpened,
        Self::ConversationResolved,
        Self::MessageCreated,
        Self::BusinessEventReceived,
        Self::ChannelSwitched,
        Self::SlaWarning,
        Self::SlaBreached,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ConversationCreated => "conversation_created",
            Self::ConversationUpdated => "conversation_updated",
            Self::ConversationOpened => "conversation_opened",
            Self::ConversationResolved => "conversation_resolved",
            Self::MessageCreated => "message_created",
            Self::BusinessEventReceived => "business_event_received",
            Self::ChannelSwitched => "channel_switched",
            Self::SlaWarning => "sla_warning",
            Self::SlaBreached => "sla_breached",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == s)
    }
}

/// The rule events an outbox event raises (besides `channel_switched`, which needs the
/// previous message and is decided by the consumer). Activity lines raise nothing: they are
/// Throughline describing a change, not a message.
pub fn triggers(kind: EventKind, payload: &Value) -> Vec<EventName> {
    match kind {
        EventKind::ConversationCreated => vec![EventName::ConversationCreated],
        EventKind::ConversationUpdated => vec![EventName::ConversationUpdated],
        EventKind::ConversationStatusChanged => match payload["status"].as_str() {
            Some("open") => vec![EventName::ConversationOpened],
            Some("resolved") => vec![EventName::ConversationResolved],
            _ => Vec::new(),
        },
        EventKind::MessageCreated => match payload["message_type"].as_str() {
            Some("activity") | None => Vec::new(),
            Some(_) => vec![EventName::MessageCreated],
        },
        EventKind::BusinessEventCreated => vec![EventName::BusinessEventReceived],
        EventKind::SlaWarning => vec![EventName::SlaWarning],
        EventKind::SlaBreached => vec![EventName::SlaBreached],
        _ => Vec::new(),
    }
}

/// The longest chain of rules one event may start (rule A's action raises an event that runs
/// rule B, whose action runs rule C…).
pub const MAX_CHAIN: usize = 3;

/// Whether `rule` may run on an event caused by the rules in `chain` (oldest first).
pub fn may_run(rule: i64, chain: &[i64]) -> bool {
    chain.len() < MAX_CHAIN && !chain.contains(&rule)
}

/// The chain to record on the events `rule`'s actions cause.
pub fn extend_chain(chain: &[i64], rule: i64) -> Vec<i64> {
    let mut next = chain.to_vec();
    next.push(rule);
    next
}

/// Longest delay before a rule's actions run (30 days).
pub const MAX_DELAY_MINUTES: i64 = 43_200;

/// A rule as given to the API (a create, or an update merged over the stored rule).
#[derive(Clone, Debug, Default)]
pub struct RuleDraft {
    pub name: String,
    pub description: Option<String>,
    pub event_name: String,
    pub active: bool,
    pub conditions: Vec<Value>,
    pub actions: Vec<Value>,
    /// Throughline's: run the actions this long after the event, if the conditions still hold.
    pub delay_minutes: i64,
}

/// A rule that passed every check, with what it will test and do.
#[derive(Clone, Debug)]
pub struct CheckedRule {
    pub name: String,
    pub description: Option<String>,
    pub event: EventName,
    pub active: bool,
    pub conditions: Vec<Condition>,
    pub actions: Vec<Action>,
    pub delay_minutes: i64,
}

impl RuleDraft {
    /// Checks everything that needs no database: every problem, each named by its field.
    pub fn checked(
        &self,
        custom: &HashMap<String, (AttrType, Choices)>,
    ) -> Result<CheckedRule, Vec<FieldError>> {
        let mut errors = Vec::new();
        let name = required_text("name", &self.name, 255).map_err(|e| errors.push(e));
        let description = optional_text(
            "description",
            self.description.as_deref().unwrap_or_default(),
            1_000,
        )
        .map_err(|e| errors.push(e));
        let event = EventName::parse(&self.event_name);
        if event.is_none() {
            errors.push(FieldError::new(
                "event_name",
                "invalid",
                format!(
                    "event_name must be one of {}",
                    EventName::ALL.map(EventName::as_str).join(", ")
                ),
            ));
        }
        if !(0..=MAX_DELAY_MINUTES).contains(&self.delay_minutes) {
            errors.push(FieldError::new(
                "delay_minutes",
                "invalid",
                format!("delay_minutes must be from 0 to {MAX_DELAY_MINUTES}"),
            ));
        }
        let conditions = event.map(|event| {
            crate::filter::parse_items(&self.conditions, "conditions", &Catalog { event, custom })
                .map_err(|e| errors.push(e))
        });
        let actions = actions::parse(&self.actions, "actions").map_err(|e| errors.push(e));
        match (name, description, event, conditions, actions) {
            (Ok(name), Ok(description), Some(event), Some(Ok(conditions)), Ok(actions))
                if errors.is_empty() =>
            {
                Ok(CheckedRule {
                    name,
                    description,
                    event,
                    active: self.active,
                    conditions,
                    actions,
                    delay_minutes: self.delay_minutes,
                })
            }
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn status_changes_raise_opened_and_resolved() {
        let t = |status: &str| {
            triggers(
                EventKind::ConversationStatusChanged,
                &json!({"status": status}),
            )
        };
        assert_eq!(t("open"), vec![EventName::ConversationOpened]);
        assert_eq!(t("resolved"), vec![EventName::ConversationResolved]);
        assert!(t("pending").is_empty());
        assert!(
            triggers(
                EventKind::MessageCreated,
                &json!({"message_type": "activity"})
            )
            .is_empty()
        );
        assert_eq!(
            triggers(
                EventKind::MessageCreated,
                &json!({"message_type": "incoming"})
            ),
            vec![EventName::MessageCreated]
        );
        assert!(triggers(EventKind::ContactUpdated, &json!({})).is_empty());
    }

    #[test]
    fn chains_never_loop_and_stop() {
        assert!(may_run(1, &[]));
        assert!(!may_run(1, &[1]));
        assert!(!may_run(1, &[2, 1]));
        assert!(may_run(3, &[1, 2]));
        assert!(!may_run(4, &[1, 2, 3]));
        // Whatever the rules do, a chain grows by one rule per step and ends.
        let mut chain = Vec::new();
        let mut steps = 0;
        for rule in [1, 2, 1, 3, 4, 5] {
            if may_run(rule, &chain) {
                chain = extend_chain(&chain, rule);
                steps += 1;
            }
        }
        assert_eq!(chain, vec![1, 2, 3]);
        assert_eq!(steps, MAX_CHAIN);
    }

    #[test]
    fn drafts_report_every_problem() {
        let draft = RuleDraft {
            name: " ".into(),
            event_name: "on_tuesday".into(),
            delay_minutes: -1,
            actions: vec![json!({"action_name": "explode"})],
            ..RuleDraft::default()
        };
        let errors = draft.checked(&HashMap::new()).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "name",
                "event_name",
                "delay_minutes",
                "actions[0].action_name"
            ]
        );
        let good = RuleDraft {
            name: "Tag refunds".into(),
            event_name: "message_created".into(),
            active: true,
            conditions: vec![
                json!({"attribute_key": "content", "filter_operator": "contains", "values": ["refund"]}),
            ],
            actions: vec![json!({"action_name": "add_label", "action_params": ["refund"]})],
            ..RuleDraft::default()
        };
        let rule = good.checked(&HashMap::new()).unwrap();
        assert_eq!(rule.event, EventName::MessageCreated);
        assert_eq!(rule.actions, vec![Action::AddLabel(vec!["refund".into()])]);
        let wrong_event = RuleDraft {
            event_name: "conversation_created".into(),
            ..good
        };
        let errors = wrong_event.checked(&HashMap::new()).unwrap_err();
        assert_eq!(errors[0].field, "conditions[0].attribute_key");
    }
}
