//! What the router decides over: the agents and the waiting conversations, as the caller
//! saw them at one moment.

use serde::{Deserialize, Serialize};

use super::kind::{ChannelKind, PerKind};
use crate::Millis;
use crate::conversation::{Priority, Status};
use crate::model::Availability;

/// A user's id (the agent).
pub type AgentId = i64;
/// A conversation's id.
pub type ConversationId = i64;

/// The prefix of language skills: `lang:pt-BR`, `lang:pl`, `lang:en`.
pub const LANGUAGE_SKILL_PREFIX: &str = "lang:";

/// Where a conversation waits: its team, or its inbox when it has no team. Agents belong
/// to the queues of their teams and of the inboxes they are members of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum QueueId {
    Team(i64),
    Inbox(i64),
}

impl std::fmt::Display for QueueId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Team(id) => write!(f, "team {id}"),
            Self::Inbox(id) => write!(f, "inbox {id}"),
        }
    }
}

/// An agent's presence as routing sees it. Only `Online` agents get new work; `Busy` and
/// `Away` keep what they have; `Offline` agents' open conversations still count as their
/// load until they are moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    Online,
    Busy,
    Away,
    Offline,
}

impl Presence {
    pub fn takes_new_work(self) -> bool {
        self == Self::Online
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Online => "online",
            Self::Busy => "busy",
            Self::Away => "away",
            Self::Offline => "offline",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Online, Self::Busy, Self::Away, Self::Offline]
            .into_iter()
            .find(|p| p.as_str() == s)
    }
}

impl From<Availability> for Presence {
    fn from(a: Availability) -> Self {
        match a {
            Availability::Online => Self::Online,
            Availability::Busy => Self::Busy,
            Availability::Offline => Self::Offline,
        }
    }
}

/// A skill an agent has, with a level (1 = basic, higher is better).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Skill {
    pub name: String,
    pub level: u8,
}

impl Skill {
    pub fn new(name: impl Into<String>, level: u8) -> Self {
        Self {
            name: name.into(),
            level,
        }
    }
}

/// A skill a conversation asks for: the agent must have it at `min_level` or above.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SkillRequirement {
    pub name: String,
    pub min_level: u8,
}

impl SkillRequirement {
    pub fn new(name: impl Into<String>, min_level: u8) -> Self {
        Self {
            name: name.into(),
            min_level,
        }
    }

    /// `lang:<code>` at level 1, e.g. from [`super::detect_language`].
    pub fn language(code: &str) -> Self {
        Self::new(format!("{LANGUAGE_SKILL_PREFIX}{code}"), 1)
    }
}

/// An agent as the router sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Agent {
    pub id: AgentId,
    pub presence: Presence,
    /// This agent's own capacity where it differs from the account's default.
    pub capacity: PerKind<Option<u16>>,
    /// Open work per kind: unresolved, assigned, not snoozed conversations, plus offers
    /// waiting for an answer ([`load_of`]).
    pub load: PerKind<u16>,
    pub skills: Vec<Skill>,
    /// Teams and inboxes whose conversations this agent takes.
    pub queues: Vec<QueueId>,
    /// When the agent last got work or became idle: the smaller, the longer idle. The router
    /// moves it to `now` when it gives the agent work, and when a release
    /// ([`super::Router::release`]) ends the agent's last open work.
    pub idle_since: Millis,
    /// Offer/accept mode for this agent; `None` follows the account ([`super::Policy::offers`]).
    pub accepts_offers: Option<bool>,
}

impl Agent {
    /// An agent with no skills, no queues, no load and the account's capacity.
    pub fn new(id: AgentId, presence: Presence) -> Self {
        Self {
            id,
            presence,
            capacity: PerKind::default(),
            load: PerKind::default(),
            skills: Vec::new(),
            queues: Vec::new(),
            idle_since: 0,
            accepts_offers: None,
        }
    }
}

/// Whether a conversation assigned to an agent counts toward the agent's capacity: open and
/// pending ones do; a snoozed one does not (it sleeps until its snooze ends or the customer
/// writes, and then counts again); a resolved one does not. Note that
/// [`Status::is_unresolved`] is true of a snoozed conversation: it is not this rule.
pub fn counts_as_load(status: Status) -> bool {
    matches!(status, Status::Open | Status::Pending)
}

/// An agent's load: the kind and status of each conversation assigned to the agent, and the
/// kind of each offer waiting for the agent's answer.
pub fn load_of(
    assigned: impl IntoIterator<Item = (ChannelKind, Status)>,
    offers: impl IntoIterator<Item = ChannelKind>,
) -> PerKind<u16> {
    let mut load = PerKind::<u16>::default();
    let counted = assigned
        .into_iter()
        .filter(|(_, status)| counts_as_load(*status))
        .map(|(kind, _)| kind);
    for kind in counted.chain(offers) {
        load[kind] = load[kind].saturating_add(1);
    }
    load
}

/// The contact's previous agent, preferred until `until`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StickyAgent {
    pub agent: AgentId,
    pub until: Millis,
}

/// A conversation waiting for an agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaitingItem {
    pub conversation: ConversationId,
    pub queue: QueueId,
    pub kind: ChannelKind,
    pub priority: Option<Priority>,
    /// Since when the customer has been waiting: the order within a priority.
    pub waiting_since: Millis,
    /// When it entered this queue: widening counts from here.
    pub queued_at: Millis,
    /// Skills every agent taking it must have.
    pub required: Vec<SkillRequirement>,
    /// Skills wanted but given up after [`super::Policy::drop_optional_after_ms`]; afterwards
    /// they still rank the agents.
    pub preferred: Vec<SkillRequirement>,
    pub sticky: Option<StickyAgent>,
    /// Agents who declined it or let an offer of it expire.
    pub excluded: Vec<AgentId>,
    /// Where it may go after [`super::Policy::overflow_after_ms`] when its own queue has
    /// nobody (with [`super::Overflow::Queue`]).
    pub overflow: Option<QueueId>,
}

impl WaitingItem {
    /// A conversation waiting since `since` in `queue`, with no skills, priority or stickiness.
    pub fn new(
        conversation: ConversationId,
        queue: QueueId,
        kind: ChannelKind,
        since: Millis,
    ) -> Self {
        Self {
            conversation,
            queue,
            kind,
            priority: None,
            waiting_since: since,
            queued_at: since,
            required: Vec::new(),
            preferred: Vec::new(),
            sticky: None,
            excluded: Vec::new(),
            overflow: None,
        }
    }

    /// Its rank in the queue: higher priority first (none last), then longer waiting, then
    /// the lower conversation id, so the order is total.
    pub(crate) fn order_key(&self) -> OrderKey {
        OrderKey {
            urgency: std::cmp::Reverse(priority_rank(self.priority)),
            waiting_since: self.waiting_since,
            conversation: self.conversation,
        }
    }
}

/// Urgent 4, high 3, medium 2, low 1, none 0.
pub(crate) fn priority_rank(p: Option<Priority>) -> u8 {
    match p {
        None => 0,
        Some(Priority::Low) => 1,
        Some(Priority::Medium) => 2,
        Some(Priority::High) => 3,
        Some(Priority::Urgent) => 4,
    }
}

/// The order items are decided in (smallest first).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct OrderKey {
    pub urgency: std::cmp::Reverse<u8>,
    pub waiting_since: Millis,
    pub conversation: ConversationId,
}

/// Agents and waiting conversations at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub agents: Vec<Agent>,
    pub waiting: Vec<WaitingItem>,
}
