//! Tenant scoping. Every account-level query takes an `AccountScope`, which names the account
//! and who is acting; agents additionally see only the inboxes they are members of.

use std::sync::Arc;

use throughline_core::role::{Actor, Role};

use crate::Conn;
use crate::error::Result;
use crate::rows::RowExt;

pub use throughline_core::scope::InboxVisibility;

#[derive(Clone, Debug)]
pub struct AccountScope {
    account_id: i64,
    actor: Actor,
    inboxes: InboxVisibility,
}

impl AccountScope {
    /// The whole account, for the system itself (CLI, timers, channel ingest, platform API).
    /// Callers must already have established that the account may be touched.
    pub fn system(account_id: i64) -> Self {
        Self {
            account_id,
            actor: Actor::System,
            inboxes: InboxVisibility::All,
        }
    }

    /// An automation rule acting in its account: every inbox, named as the rule.
    pub fn automation(account_id: i64, rule_id: i64) -> Self {
        Self {
            account_id,
            actor: Actor::Automation { rule_id },
            inboxes: InboxVisibility::All,
        }
    }

    /// An agent bot acting in its own account: bots work on every inbox of it.
    pub fn agent_bot(account_id: i64, bot_id: i64) -> Self {
        Self {
            account_id,
            actor: Actor::AgentBot { id: bot_id },
            inboxes: InboxVisibility::All,
        }
    }

    /// A contact acting through a public inbox (Client API, widget): limited to that inbox.
    pub fn contact(account_id: i64, contact_id: i64, inbox_id: i64) -> Self {
        Self {
            account_id,
            actor: Actor::Contact { id: contact_id },
            inboxes: InboxVisibility::Only(Arc::from([inbox_id])),
        }
    }

    /// A customer whose identity proves who they are: their conversations in every inbox, as
    /// one conversation continues across channels.
    pub fn proven_contact(account_id: i64, contact_id: i64) -> Self {
        Self {
            account_id,
            actor: Actor::Contact { id: contact_id },
            inboxes: InboxVisibility::All,
        }
    }

    pub fn account_id(&self) -> i64 {
        self.account_id
    }

    pub fn actor(&self) -> Actor {
        self.actor
    }

    pub fn inboxes(&self) -> &InboxVisibility {
        &self.inboxes
    }

    pub fn user_id(&self) -> Option<i64> {
        match self.actor {
            Actor::User { id, .. } => Some(id),
            _ => None,
        }
    }

    pub fn can_administer(&self) -> bool {
        self.actor.can_administer() || self.actor == Actor::System
    }

    pub fn sees_inbox(&self, inbox_id: i64) -> bool {
        self.inboxes.includes(inbox_id)
    }
}

/// Resolves a user's scope in an account: `None` when the user is not a member.
pub async fn for_user(
    conn: &mut Conn,
    user_id: i64,
    account_id: i64,
) -> Result<Option<AccountScope>> {
    let row = sqlx::query(
        "SELECT role FROM account_users WHERE account_id = $1 AND user_id = $2 \
         AND deactivated_at IS NULL",
    )
    .bind(account_id)
    .bind(user_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let role = row.parsed("role", Role::parse)?;
    let inboxes = if role.supervises() {
        InboxVisibility::All
    } else {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT m.inbox_id FROM inbox_members m JOIN inboxes i ON i.id = m.inbox_id \
             WHERE m.user_id = $1 AND i.account_id = $2 ORDER BY m.inbox_id",
        )
        .bind(user_id)
        .bind(account_id)
        .fetch_all(&mut *conn)
        .await?;
        InboxVisibility::Only(ids.into())
    };
    Ok(Some(AccountScope {
        account_id,
        actor: Actor::User { id: user_id, role },
        inboxes,
    }))
}
