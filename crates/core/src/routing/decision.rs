//! What the router decided, and why — in words the product shows.

use serde::{Deserialize, Serialize};

use super::kind::ChannelKind;
use super::snapshot::{AgentId, ConversationId, QueueId};
use crate::Millis;

/// One waiting conversation given (or offered) to one agent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub conversation: ConversationId,
    pub agent: AgentId,
    pub kind: ChannelKind,
    pub action: Action,
    pub reason: Reason,
}

/// Assign at once, or offer to an agent in offer/accept mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action {
    Assign,
    /// The agent accepts or declines before `expires_at`; until then the offer counts as the
    /// agent's load. On a decline or expiry the caller releases that load and offers the
    /// conversation again with the agent in its exclusions.
    Offer {
        expires_at: Millis,
    },
}

/// Why this agent: the rule that chose them. The UI translates from [`Reason::code`] and the
/// data; [`std::fmt::Display`] is the English log line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Reason {
    /// The agent who last helped this contact, within the stickiness window.
    Sticky { agent: AgentId },
    /// The agent has a preferred skill the next best candidate lacks (more preferred skills
    /// matched than anyone else eligible); `skill` names one of them.
    Skill { skill: String },
    /// Nobody in the conversation's own queue could take it after the overflow delay; the
    /// agent comes from the overflow queue (`to`), or from any queue (`to` absent).
    Overflow { from: QueueId, to: Option<QueueId> },
    /// As many preferred skills as the best, and the smallest share of capacity in use.
    LeastLoaded,
    /// Tied on skills and load with another candidate, and idle the longest (equal idle
    /// times: the lower agent id).
    LongestIdle,
    /// The only agent who could take it.
    OnlyEligible,
}

impl Reason {
    /// A stable code for translations and reports.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Sticky { .. } => "sticky",
            Self::Skill { .. } => "skill",
            Self::Overflow { .. } => "overflow",
            Self::LeastLoaded => "least_loaded",
            Self::LongestIdle => "longest_idle",
            Self::OnlyEligible => "only_eligible",
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sticky { agent } => write!(f, "sticky to agent {agent}"),
            Self::Skill { skill } => write!(f, "skill {skill}"),
            Self::Overflow { from, to: Some(to) } => write!(f, "overflow from {from} to {to}"),
            Self::Overflow { from, to: None } => write!(f, "overflow from {from} to any team"),
            Self::LeastLoaded => f.write_str("least loaded"),
            Self::LongestIdle => f.write_str("longest idle"),
            Self::OnlyEligible => f.write_str("only eligible agent"),
        }
    }
}

impl std::fmt::Display for Decision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let verb = match self.action {
            Action::Assign => "assigned to",
            Action::Offer { .. } => "offered to",
        };
        write!(
            f,
            "{} conversation {} {verb} agent {}: {}",
            self.kind, self.conversation, self.agent, self.reason
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_read_as_the_product_shows_them() {
        let cases = [
            (Reason::Sticky { agent: 7 }, "sticky", "sticky to agent 7"),
            (
                Reason::Skill {
                    skill: "lang:pl".into(),
                },
                "skill",
                "skill lang:pl",
            ),
            (
                Reason::Overflow {
                    from: QueueId::Team(3),
                    to: Some(QueueId::Team(5)),
                },
                "overflow",
                "overflow from team 3 to team 5",
            ),
            (
                Reason::Overflow {
                    from: QueueId::Inbox(2),
                    to: None,
                },
                "overflow",
                "overflow from inbox 2 to any team",
            ),
            (Reason::LeastLoaded, "least_loaded", "least loaded"),
            (Reason::LongestIdle, "longest_idle", "longest idle"),
            (Reason::OnlyEligible, "only_eligible", "only eligible agent"),
        ];
        for (reason, code, line) in cases {
            assert_eq!(reason.code(), code);
            assert_eq!(reason.to_string(), line);
            let json = serde_json::to_value(&reason).unwrap();
            assert_eq!(json["code"], code);
            assert_eq!(serde_json::from_value::<Reason>(json).unwrap(), reason);
        }
        let d = Decision {
            conversation: 12,
            agent: 7,
            kind: ChannelKind::Chat,
            action: Action::Offer { expires_at: 5 },
            reason: Reason::Sticky { agent: 7 },
        };
        assert_eq!(
            d.to_string(),
            "chat conversation 12 offered to agent 7: sticky to agent 7"
        );
        assert_eq!(
            serde_json::to_value(&d).unwrap()["reason"],
            serde_json::json!({"code": "sticky", "agent": 7})
        );
    }
}
