//! Roles within an account and what each may do. Checked on the server for every request.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Administrator,
    /// Between the two: sees every inbox and the live view, moves conversations and changes
    /// agents' presence, skills and capacity, but does not manage the account (Chatwoot's
    /// custom roles are a paid feature; this one is built in).
    Supervisor,
    Agent,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Administrator => "administrator",
            Self::Supervisor => "supervisor",
            Self::Agent => "agent",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "administrator" => Self::Administrator,
            "supervisor" => Self::Supervisor,
            "agent" => Self::Agent,
            _ => return None,
        })
    }

    pub fn is_admin(self) -> bool {
        self == Self::Administrator
    }

    /// Supervisors and administrators: every inbox, the live view, moving others' work.
    pub fn supervises(self) -> bool {
        matches!(self, Self::Administrator | Self::Supervisor)
    }
}

/// Who is acting: an agent or admin, a bot with its own token, or the system itself
/// (timers, channel ingest).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor {
    User {
        id: i64,
        role: Role,
    },
    AgentBot {
        id: i64,
    },
    Contact {
        id: i64,
    },
    System,
    /// An automation rule's actions (named in activity lines as the rule).
    Automation {
        rule_id: i64,
    },
}

impl Actor {
    /// Administrators manage the account: inboxes, agents, teams, webhooks, tokens, settings.
    pub fn can_administer(self) -> bool {
        matches!(
            self,
            Self::User {
                role: Role::Administrator,
                ..
            }
        )
    }

    /// Agents (and bots) see only conversations in inboxes they are members of; supervisors
    /// and administrators see every inbox.
    pub fn sees_all_inboxes(self) -> bool {
        match self {
            Self::User { role, .. } => role.supervises(),
            Self::System | Self::Automation { .. } => true,
            Self::AgentBot { .. } | Self::Contact { .. } => false,
        }
    }
}
