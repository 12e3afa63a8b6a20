//! Routing: which agent gets a waiting conversation, and why (issue #15, the pure core).
//!
//! The decision is a pure function over a [`Snapshot`] of agents and waiting items:
//! [`decide`]`(snapshot, policy, now)` returns one [`Decision`] per item it could place, each
//! with the [`Reason`] the product shows. For use in a running server the same rules run
//! incrementally in a [`Router`], which keeps the snapshot indexed and answers an arrival
//! ([`Router::decide_for`]) or a freed capacity ([`Router::release`] then
//! [`Router::decide_all`]) without looking at every item or every agent.
//!
//! # The rules
//!
//! **Channel kinds.** Capacity is counted per [`ChannelKind`]: call (voice), chat (the
//! website widget), messaging (WhatsApp, SMS, Telegram, Messenger, Instagram), email, other
//! (the API channel) — [`ChannelKind::of`] maps each [`crate::model::ChannelType`].
//!
//! **Capacity and blocking.** An agent holds at most its capacity of each kind (its own
//! override, else the account's [`Policy::capacity`]: 1 call, 4 chats, 5 messaging, 8 emails,
//! 5 API by default). The load the caller gives counts unresolved, assigned, non-snoozed
//! conversations and offers awaiting an answer ([`load_of`]). [`BlockingRules`] say which
//! open work keeps new work of another kind away: by default an open call blocks new chats
//! and messaging.
//!
//! **Eligible agent.** An agent may take an item when the agent is online (busy, away and
//! offline agents keep what they have but get nothing new), belongs to the item's queue (its
//! team, or its inbox when it has no team), has every required skill at its minimum level,
//! has room for the item's kind and is not blocked by another kind it holds, and has not
//! declined the item or let an offer of it expire.
//!
//! **Order.** Items are decided by priority (urgent, high, medium, low, none), then by
//! waiting time (first come, first served within a priority), then by conversation id. Each
//! item is decided against the agents' load as updated by the decisions before it, so no
//! agent goes over capacity within a decision. An item nobody can take stays waiting and does
//! not hold back later items that someone else can take (no head-of-line blocking across
//! kinds, queues or skills).
//!
//! **Widening.** Counted from when the item entered its queue (`queued_at`):
//! - before T1 ([`Policy::drop_optional_after_ms`]) the item's preferred skills are required
//!   too; from T1 they only rank the candidates;
//! - from T2 ([`Policy::overflow_after_ms`]), when nobody in its own queue can take it, the
//!   item may go to the agents of its overflow queue ([`Overflow::Queue`]) or to any agent of
//!   the account ([`Overflow::AnyQueue`]), under the same rules.
//!
//! **Choice among the eligible.** In this order:
//! 1. the sticky agent — who last helped the contact — when the item's sticky deadline has
//!    not passed and that agent is eligible in the item's own queue (preferred skills are
//!    not asked of the sticky agent: stickiness outranks them): [`Reason::Sticky`];
//! 2. else the agent of the item's queue matching the most preferred skills, then using the
//!    smallest share of capacity (the sum over kinds of load ÷ capacity, counting this item),
//!    then idle the longest (`idle_since`, moved to `now` by each decision and by a release
//!    that leaves the agent no open work), then the lowest id. The reason names the first
//!    criterion that separated the winner from the runner-up: [`Reason::Skill`] (a
//!    preferred skill the runner-up lacks), [`Reason::LeastLoaded`], [`Reason::LongestIdle`];
//!    [`Reason::OnlyEligible`] when there was no runner-up;
//! 3. else, from T2, the best of the overflow pool by the same ranking: [`Reason::Overflow`].
//!
//! **Offers.** An agent in offer/accept mode ([`Agent::accepts_offers`], else
//! [`Policy::offers`]) gets an [`Action::Offer`] that expires after
//! [`Policy::offer_timeout_ms`]; the router counts it as load at once. On a decline or expiry
//! the caller releases that load ([`Router::release`]) and offers the item again with the
//! agent in its exclusions ([`Router::decide_for`]).
//!
//! **Language.** [`detect_language`] turns a customer's text into `pt-BR`, `pl`, `en`… when
//! whatlang is confident, for the caller to require `lang:<code>`
//! ([`SkillRequirement::language`]).
//!
//! # Cost
//!
//! Agents are indexed by queue with counts of who has room per kind; items sit in buckets
//! (queue × overflow queue × kind) in decision order. An arrival in a settled router looks
//! at its queue's agents only (and the overflow pool when due), and so does an item whose
//! widening falls due; a pass merges the buckets' heads, skips buckets whose agents have no
//! room, stops when nobody has room, remembers requirements that found nobody, and after a
//! release considers only the agents that gained room. [`bench::bench_fixture`] builds the
//! 1,000 agents × 10,000 items case.

pub mod bench;
mod choose;
mod decision;
mod kind;
mod language;
mod policy;
mod router;
mod service_level;
mod settings;
mod snapshot;

#[cfg(test)]
mod oracle;
#[cfg(test)]
mod props;
#[cfg(test)]
mod sim;
#[cfg(test)]
mod tests;

pub use decision::{Action, Decision, Reason};
pub use kind::{BlockingRules, Capacity, ChannelKind, DEFAULT_CAPACITY, PerKind};
pub use language::{MIN_CONFIDENCE, MIN_LETTERS, detect_language, detect_language_with};
pub use policy::{Overflow, Policy};
pub use router::Router;
pub use service_level::DayTally;
pub use settings::{
    AgentProfile, LabelRules, LanguageMode, MAX_CAPACITY, MAX_SKILL_LEVEL, QueueRules,
    Requirements, RoutingSettings, RoutingSettingsPatch, check_skill,
};
pub use snapshot::{
    Agent, AgentId, ConversationId, LANGUAGE_SKILL_PREFIX, Presence, QueueId, Skill,
    SkillRequirement, Snapshot, StickyAgent, WaitingItem, counts_as_load, load_of,
};

use crate::Millis;

/// The decision over a whole snapshot at `now`: every item that can be placed, in the order
/// decided. Pure: the same snapshot, policy and time give the same decisions.
pub fn decide(snapshot: &Snapshot, policy: &Policy, now: Millis) -> Vec<Decision> {
    Router::new(snapshot, policy.clone()).decide_all(now)
}
