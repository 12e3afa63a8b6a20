//! An account's routing settings.

use serde::{Deserialize, Serialize};

use super::kind::{BlockingRules, Capacity, ChannelKind, DEFAULT_CAPACITY};
use super::snapshot::{Agent, WaitingItem};
use crate::Millis;

/// Where a conversation may go once its own queue has had nobody for
/// [`Policy::overflow_after_ms`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Overflow {
    /// To the agents of the conversation's own overflow queue (none set: it keeps waiting).
    #[default]
    Queue,
    /// To any agent of the account.
    AnyQueue,
}

/// An account's routing policy (kept in its settings; absent fields take the defaults).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Policy {
    /// Capacity per kind for agents without their own.
    pub capacity: Capacity,
    pub blocking: BlockingRules,
    /// T1: until a conversation has been queued this long its preferred skills are required;
    /// afterwards they only rank the agents. 0 makes them preferences from the start.
    pub drop_optional_after_ms: Millis,
    /// T2: after this long in its queue a conversation may go to the overflow agents when
    /// its own queue has nobody. `None`: never.
    pub overflow_after_ms: Option<Millis>,
    pub overflow: Overflow,
    /// How long after an agent last helped a contact that agent is preferred for the
    /// contact's new conversations (see [`Policy::sticky_until`]).
    pub sticky_window_ms: Millis,
    /// Offer/accept mode for agents without their own setting: the decision is an offer the
    /// agent accepts or declines within [`Policy::offer_timeout_ms`].
    pub offers: bool,
    pub offer_timeout_ms: Millis,
}

impl Policy {
    pub const DEFAULT_DROP_OPTIONAL_AFTER_MS: Millis = 30_000;
    pub const DEFAULT_OVERFLOW_AFTER_MS: Millis = 120_000;
    pub const DEFAULT_STICKY_WINDOW_MS: Millis = 24 * 3_600_000;
    pub const DEFAULT_OFFER_TIMEOUT_MS: Millis = 30_000;

    /// The sticky deadline for a contact an agent last helped at `last_helped_at`.
    pub fn sticky_until(&self, last_helped_at: Millis) -> Millis {
        last_helped_at.saturating_add(self.sticky_window_ms)
    }

    /// An agent's capacity for one kind: its own, or the account's.
    pub fn capacity_of(&self, agent: &Agent, kind: ChannelKind) -> u16 {
        agent.capacity[kind].unwrap_or(self.capacity[kind])
    }

    /// Whether the agent has room for one more conversation of this kind: below its capacity
    /// for the kind, and no open kind that blocks it. Presence is not asked: routing also
    /// wants the agent online, while a manual pick or a transfer checks only this (and a
    /// supervisor may override it).
    pub fn has_room(&self, agent: &Agent, kind: ChannelKind) -> bool {
        agent.load[kind] < self.capacity_of(agent, kind)
            && !ChannelKind::ALL
                .iter()
                .any(|open| agent.load[*open] > 0 && self.blocking.blocks(*open, kind))
    }

    /// The next moment after `now` a waiting item widens — drops its preferred skills, or
    /// may overflow — when routing must look at it again though nothing else happened.
    pub fn next_widening(&self, item: &WaitingItem, now: Millis) -> Option<Millis> {
        let drop_preferred = (!item.preferred.is_empty() && self.drop_optional_after_ms > 0)
            .then(|| item.queued_at.saturating_add(self.drop_optional_after_ms));
        let may_overflow = match self.overflow {
            Overflow::Queue => item.overflow.is_some(),
            Overflow::AnyQueue => true,
        };
        let overflow = self
            .overflow_after_ms
            .filter(|_| may_overflow)
            .map(|after| item.queued_at.saturating_add(after));
        [drop_preferred, overflow]
            .into_iter()
            .flatten()
            .filter(|t| *t > now)
            .min()
    }

    /// Whether a decision for this agent is an offer rather than an assignment.
    pub fn offers_to(&self, agent: &Agent) -> bool {
        agent.accepts_offers.unwrap_or(self.offers)
    }
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            capacity: DEFAULT_CAPACITY,
            blocking: BlockingRules::default(),
            drop_optional_after_ms: Self::DEFAULT_DROP_OPTIONAL_AFTER_MS,
            overflow_after_ms: Some(Self::DEFAULT_OVERFLOW_AFTER_MS),
            overflow: Overflow::Queue,
            sticky_window_ms: Self::DEFAULT_STICKY_WINDOW_MS,
            offers: false,
            offer_timeout_ms: Self::DEFAULT_OFFER_TIMEOUT_MS,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::{Presence, kind::PerKind};

    #[test]
    fn absent_settings_take_the_defaults() {
        let p: Policy = serde_json::from_value(serde_json::json!({
            "overflow": "any_queue",
            "capacity": {"call": 1, "chat": 2, "messaging": 5, "email": 8, "other": 5}
        }))
        .unwrap();
        assert_eq!(p.overflow, Overflow::AnyQueue);
        assert_eq!(p.capacity.chat, 2);
        assert_eq!(p.blocking, BlockingRules::default());
        assert_eq!(p.overflow_after_ms, Some(Policy::DEFAULT_OVERFLOW_AFTER_MS));
        let back: Policy = serde_json::from_value(serde_json::to_value(&p).unwrap()).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn an_agent_override_wins_over_the_account() {
        let p = Policy::default();
        let mut a = Agent::new(1, Presence::Online);
        assert_eq!(p.capacity_of(&a, ChannelKind::Chat), 4);
        a.capacity = PerKind {
            chat: Some(2),
            ..PerKind::default()
        };
        assert_eq!(p.capacity_of(&a, ChannelKind::Chat), 2);
        assert_eq!(p.capacity_of(&a, ChannelKind::Email), 8);
        assert!(!p.offers_to(&a));
        a.accepts_offers = Some(true);
        assert!(p.offers_to(&a));
        assert_eq!(
            p.sticky_until(1_000),
            1_000 + Policy::DEFAULT_STICKY_WINDOW_MS
        );
    }

    #[test]
    fn widening_wakes_at_the_next_deadline_still_to_come() {
        use crate::routing::{ChannelKind, QueueId, SkillRequirement};
        let p = Policy::default();
        let mut item = WaitingItem::new(1, QueueId::Inbox(1), ChannelKind::Chat, 1_000);
        // Nothing preferred, no overflow queue: nothing to wait for.
        assert_eq!(p.next_widening(&item, 1_000), None);
        item.preferred = vec![SkillRequirement::language("pl")];
        item.overflow = Some(QueueId::Team(2));
        assert_eq!(p.next_widening(&item, 1_000), Some(31_000));
        assert_eq!(p.next_widening(&item, 31_000), Some(121_000));
        assert_eq!(p.next_widening(&item, 121_000), None);
        let any = Policy {
            overflow: Overflow::AnyQueue,
            overflow_after_ms: None,
            ..Policy::default()
        };
        item.preferred.clear();
        assert_eq!(any.next_widening(&item, 0), None);
    }

    #[test]
    fn room_is_capacity_and_blocking() {
        let p = Policy::default();
        let mut a = Agent::new(1, Presence::Offline);
        a.load.chat = 3;
        assert!(p.has_room(&a, ChannelKind::Chat));
        a.load.chat = 4;
        assert!(!p.has_room(&a, ChannelKind::Chat));
        assert!(p.has_room(&a, ChannelKind::Call));
        // On a call: no new chat or messaging, an email still fits, a second call does not.
        a.load = PerKind {
            call: 1,
            ..PerKind::default()
        };
        assert!(!p.has_room(&a, ChannelKind::Chat));
        assert!(!p.has_room(&a, ChannelKind::Messaging));
        assert!(p.has_room(&a, ChannelKind::Email));
        assert!(!p.has_room(&a, ChannelKind::Call));
    }
}
