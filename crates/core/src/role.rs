//! Roles within an account and what each may do. Checked on the server for every request.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Administrator,
    Agent,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Administrator => "administrator",
            Self::Agent => "agent",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "administrator" => Self::Administrator,
            "agent" => Self::Agent,
            _ => return None,
        })
    }

    pub fn is_admin(self) -> bool {
        self == Self::Administrator
    }
}

/// Who is acting: an agent or admin, a bot with its own token, or the system itself
/// (timers, channel ingest).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor {
    User { id: i64, role: Role },
    AgentBot { id: i64 },
    Contact { id: i64 },
    System,
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

    /// Agents (and bots) see only conversations in inboxes they are members of.
    pub fn sees_all_inboxes(self) -> bool {
        matches!(
            self,
            Self::User {
                role: Role::Administrator,
                ..
            } | Self::System
        )
    }
}
