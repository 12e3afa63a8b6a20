//! The router's indexed state and the events that change it.
//!
//! ```text
//!  caller's event                   router                          result
//!  ──────────────                   ──────                          ──────
//!  conversation waits ─► decide_for ─► settled? ─yes─► it (and any item whose widening fell
//!                                       │               due) vs everyone, in order ─► decisions
//!                                       │ improved ──► pass: the improved agents, and it vs
//!                                       │               everyone ─► decisions
//!                                       │ unknown ───► whole pass ─► decisions
//!  capacity freed, agent online ─► release / set_presence / upsert_agent (marks it improved)
//!  timer at next_wake ───────────► decide_all ─► settled: the widened items vs everyone;
//!                                                improved: pass over buckets (queue ×
//!                                                overflow × kind), improved agents only;
//!                                                else a whole pass ─► decisions
//! ```
//!
//! After every decision the router is *settled*: no waiting item has an eligible agent. Only
//! an agent whose room grew (a release, coming online, a new skill), a widening coming due
//! or a new arrival can change that, so an arrival or a widening in a settled router is
//! decided for those items alone, and a pass after a release looks at the released agents
//! alone (a widening due at the same time makes it a whole pass).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::kind::{ChannelKind, PerKind};
use super::policy::{Overflow, Policy};
use super::snapshot::{
    Agent, AgentId, ConversationId, OrderKey, Presence, QueueId, Skill, SkillRequirement, Snapshot,
    WaitingItem,
};
use crate::Millis;

pub(super) type SkillId = u32;
/// Skill requirements or skills as interned ids with a level.
pub(super) type Levels = Vec<(SkillId, u8)>;

/// Beyond this many improved agents a pass looks at everyone.
const MAX_TARGETED: usize = 32;

/// Skill names interned to small ids.
#[derive(Debug, Default)]
pub(super) struct SkillTable {
    ids: HashMap<String, SkillId>,
    names: Vec<String>,
}

impl SkillTable {
    fn intern(&mut self, name: &str) -> SkillId {
        if let Some(id) = self.ids.get(name) {
            return *id;
        }
        let id = self.names.len() as SkillId;
        self.names.push(name.to_owned());
        self.ids.insert(name.to_owned(), id);
        id
    }

    pub(super) fn name(&self, id: SkillId) -> &str {
        self.names.get(id as usize).map_or("", String::as_str)
    }
}

#[derive(Debug)]
pub(super) struct AgentState {
    pub id: AgentId,
    pub presence: Presence,
    pub capacity_override: PerKind<Option<u16>>,
    pub cap: [u16; 5],
    pub load: [u16; 5],
    /// Sorted by skill id.
    pub skills: Levels,
    pub queues: Vec<QueueId>,
    pub idle_since: Millis,
    pub accepts_offers: Option<bool>,
}

/// Occupancy is a sum of `load / capacity` in these units (divisible by 1..=16).
const OCCUPANCY_UNIT: u64 = 720_720;

impl AgentState {
    fn active(&self) -> u8 {
        ChannelKind::ALL
            .iter()
            .filter(|k| self.load[k.index()] > 0)
            .fold(0, |m, k| m | k.bit())
    }

    /// The kinds this agent takes new work of now: online, below capacity, not blocked.
    pub fn room(&self, blocked_by: &[u8; 5]) -> u8 {
        if !self.presence.takes_new_work() {
            return 0;
        }
        let active = self.active();
        ChannelKind::ALL
            .iter()
            .filter(|k| {
                let i = k.index();
                self.load[i] < self.cap[i] && active & blocked_by[i] == 0
            })
            .fold(0, |m, k| m | k.bit())
    }

    pub fn level(&self, skill: SkillId) -> Option<u8> {
        self.skills
            .binary_search_by_key(&skill, |(s, _)| *s)
            .ok()
            .and_then(|i| self.skills.get(i))
            .map(|(_, l)| *l)
    }

    pub fn meets(&self, skill: SkillId, min_level: u8) -> bool {
        self.level(skill).is_some_and(|l| l >= min_level)
    }

    pub fn meets_all(&self, reqs: &[(SkillId, u8)]) -> bool {
        reqs.iter().all(|(s, l)| self.meets(*s, *l))
    }

    pub fn in_queue(&self, q: QueueId) -> bool {
        self.queues.contains(&q)
    }

    /// The share of its capacity the agent would use after taking one more of `kind`.
    pub fn occupancy_with(&self, kind: ChannelKind) -> u64 {
        ChannelKind::ALL
            .iter()
            .map(|k| {
                let i = k.index();
                let load = u64::from(self.load[i]) + u64::from(*k == kind);
                load * OCCUPANCY_UNIT / u64::from(self.cap[i].max(1))
            })
            .sum()
    }
}

/// Items that wait for the same agents in the same order: one queue, one overflow, one kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct BucketKey {
    pub queue: QueueId,
    pub overflow: Option<QueueId>,
    pub kind: ChannelKind,
}

#[derive(Debug)]
pub(super) struct ItemState {
    pub item: WaitingItem,
    pub key: OrderKey,
    pub bucket: BucketKey,
    /// Sorted by skill id, one entry per skill.
    pub required: Levels,
    /// In the item's order, one entry per skill.
    pub preferred: Levels,
    /// Interned sets, for remembering which requirements found nobody in a pass.
    pub required_sig: u32,
    pub preferred_sig: u32,
}

#[derive(Debug)]
pub(super) enum Settle {
    /// Anything may be assignable: the next pass looks at every agent.
    Unknown,
    /// No waiting item has an eligible agent.
    Settled,
    /// Settled but for these agents (slots), whose room or skills grew.
    Improved(Vec<usize>),
}

/// The routing state of one account: agents indexed by queue, waiting items by bucket in
/// decision order. Built from a [`Snapshot`], then kept current by the caller's events.
#[derive(Debug)]
pub struct Router {
    pub(super) policy: Policy,
    pub(super) blocked_by: [u8; 5],
    pub(super) skills: SkillTable,
    signatures: HashMap<Levels, u32>,
    pub(super) agents: Vec<AgentState>,
    pub(super) agent_slot: HashMap<AgentId, usize>,
    pub(super) members: HashMap<QueueId, Vec<usize>>,
    /// How many agents of each queue have room for each kind.
    pub(super) free: HashMap<QueueId, [u32; 5]>,
    pub(super) free_any: [u32; 5],
    pub(super) items: HashMap<ConversationId, ItemState>,
    pub(super) buckets: BTreeMap<BucketKey, BTreeSet<OrderKey>>,
    /// Future moments an item widens (drops preferred skills, may overflow).
    pub(super) widenings: BTreeSet<(Millis, ConversationId)>,
    pub(super) settle: Settle,
}

impl Router {
    /// Indexes a snapshot. Nothing is decided yet: call [`Router::decide_all`].
    pub fn new(snapshot: &Snapshot, policy: Policy) -> Self {
        let mut r = Self {
            blocked_by: policy.blocking.blocked_by(),
            policy,
            skills: SkillTable::default(),
            signatures: HashMap::new(),
            agents: Vec::with_capacity(snapshot.agents.len()),
            agent_slot: HashMap::with_capacity(snapshot.agents.len()),
            members: HashMap::new(),
            free: HashMap::new(),
            free_any: [0; 5],
            items: HashMap::with_capacity(snapshot.waiting.len()),
            buckets: BTreeMap::new(),
            widenings: BTreeSet::new(),
            settle: Settle::Unknown,
        };
        for a in &snapshot.agents {
            r.upsert_agent(a);
        }
        for item in &snapshot.waiting {
            r.insert_item(item.clone(), None);
        }
        r.settle = Settle::Unknown;
        r
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Changes the policy; the next pass looks at everything again.
    pub fn set_policy(&mut self, policy: Policy) {
        let snapshot = self.snapshot();
        *self = Self::new(&snapshot, policy);
    }

    /// Adds or replaces an agent (presence, skills, queues, capacity, load).
    pub fn upsert_agent(&mut self, agent: &Agent) {
        let mut skills: Levels = agent
            .skills
            .iter()
            .map(|s| (self.skills.intern(&s.name), s.level))
            .collect();
        skills.sort_unstable();
        // One entry per skill, the highest level.
        skills.reverse();
        skills.dedup_by_key(|(s, _)| *s);
        skills.reverse();
        let mut queues = agent.queues.clone();
        queues.sort_unstable();
        queues.dedup();
        let state = AgentState {
            id: agent.id,
            presence: agent.presence,
            capacity_override: agent.capacity,
            cap: ChannelKind::ALL.map(|k| self.policy.capacity_of(agent, k)),
            load: agent.load.to_array(),
            skills,
            queues,
            idle_since: agent.idle_since,
            accepts_offers: agent.accepts_offers,
        };
        let slot = match self.agent_slot.get(&agent.id) {
            Some(&slot) => {
                self.detach(slot);
                if let Some(a) = self.agents.get_mut(slot) {
                    *a = state;
                }
                slot
            }
            None => {
                self.agents.push(state);
                let slot = self.agents.len() - 1;
                self.agent_slot.insert(agent.id, slot);
                slot
            }
        };
        let room = self.attach(slot);
        if room != 0 {
            self.mark_improved(slot);
        }
    }

    /// The agent's presence changed. Returns false for an unknown agent.
    pub fn set_presence(&mut self, agent: AgentId, presence: Presence) -> bool {
        self.change_agent(agent, |a| a.presence = presence)
    }

    /// One of the agent's conversations of this kind was resolved, snoozed, moved away, or
    /// an offer to the agent was declined or expired, at `now`. When that was the agent's
    /// last open work, the agent is idle from `now`: who has waited longest for work comes
    /// first, not who last got work longest ago (that one may have just finished a long
    /// call). Returns false for an unknown agent.
    pub fn release(&mut self, agent: AgentId, kind: ChannelKind, now: Millis) -> bool {
        self.change_agent(agent, |a| {
            let l = &mut a.load[kind.index()];
            if *l == 0 {
                return;
            }
            *l -= 1;
            if a.load.iter().all(|l| *l == 0) {
                a.idle_since = a.idle_since.max(now);
            }
        })
    }

    /// The agent got a conversation of this kind some other way (assigned by a person).
    pub fn add_load(&mut self, agent: AgentId, kind: ChannelKind) -> bool {
        self.change_agent(agent, |a| {
            let l = &mut a.load[kind.index()];
            *l = l.saturating_add(1);
        })
    }

    /// The conversation stops waiting (the customer left, a person assigned it, it was
    /// resolved). Returns it as it waited.
    pub fn withdraw(&mut self, conversation: ConversationId) -> Option<WaitingItem> {
        self.remove_item(conversation).map(|s| s.item)
    }

    pub fn waiting_len(&self) -> usize {
        self.items.len()
    }

    pub fn is_waiting(&self, conversation: ConversationId) -> bool {
        self.items.contains_key(&conversation)
    }

    /// The agent as the router now sees it (load and idle time move with its decisions).
    pub fn agent(&self, id: AgentId) -> Option<Agent> {
        let a = self.agents.get(*self.agent_slot.get(&id)?)?;
        Some(Agent {
            id: a.id,
            presence: a.presence,
            capacity: a.capacity_override,
            load: PerKind::from_array(a.load),
            skills: a
                .skills
                .iter()
                .map(|(s, l)| Skill::new(self.skills.name(*s), *l))
                .collect(),
            queues: a.queues.clone(),
            idle_since: a.idle_since,
            accepts_offers: a.accepts_offers,
        })
    }

    /// The whole state as a snapshot (agents in the order they were first seen, items in
    /// decision order).
    pub fn snapshot(&self) -> Snapshot {
        let mut keys: Vec<_> = self.items.values().map(|s| s.key).collect();
        keys.sort_unstable();
        Snapshot {
            agents: self
                .agents
                .iter()
                .filter_map(|a| self.agent(a.id))
                .collect(),
            waiting: keys
                .iter()
                .filter_map(|k| self.items.get(&k.conversation))
                .map(|s| s.item.clone())
                .collect(),
        }
    }

    /// The next moment a waiting item widens: call [`Router::decide_all`] then.
    pub fn next_wake(&self) -> Option<Millis> {
        self.widenings.first().map(|(t, _)| *t)
    }

    /// Whether [`Router::decide_all`] at `now` could assign anything that the arrivals
    /// decided so far did not.
    pub fn needs_pass(&self, now: Millis) -> bool {
        !matches!(self.settle, Settle::Settled) || self.wake_due(now)
    }

    pub(super) fn wake_due(&self, now: Millis) -> bool {
        self.widenings.first().is_some_and(|(t, _)| *t <= now)
    }

    /// Adds an item (replacing one with the same conversation).
    pub(super) fn insert_item(&mut self, item: WaitingItem, now: Option<Millis>) {
        self.remove_item(item.conversation);
        let required = self.levels(&item.required, true);
        let preferred = self.levels(&item.preferred, false);
        let required_sig = self.signature(&required);
        let mut sorted = preferred.clone();
        sorted.sort_unstable();
        let preferred_sig = self.signature(&sorted);
        let key = item.order_key();
        let bucket = BucketKey {
            queue: item.queue,
            overflow: item.overflow,
            kind: item.kind,
        };
        for t in self.widening_times(&item, !preferred.is_empty()) {
            if now.is_none_or(|now| t > now) {
                self.widenings.insert((t, item.conversation));
            }
        }
        self.buckets.entry(bucket).or_default().insert(key);
        self.items.insert(
            item.conversation,
            ItemState {
                item,
                key,
                bucket,
                required,
                preferred,
                required_sig,
                preferred_sig,
            },
        );
    }

    pub(super) fn remove_item(&mut self, conversation: ConversationId) -> Option<ItemState> {
        let s = self.items.remove(&conversation)?;
        if let Some(set) = self.buckets.get_mut(&s.bucket) {
            set.remove(&s.key);
            if set.is_empty() {
                self.buckets.remove(&s.bucket);
            }
        }
        for t in self.widening_times(&s.item, !s.preferred.is_empty()) {
            self.widenings.remove(&(t, conversation));
        }
        Some(s)
    }

    /// When the item drops its preferred skills and when it may overflow.
    fn widening_times(&self, item: &WaitingItem, has_preferred: bool) -> Vec<Millis> {
        let mut out = Vec::with_capacity(2);
        if has_preferred && self.policy.drop_optional_after_ms > 0 {
            out.push(
                item.queued_at
                    .saturating_add(self.policy.drop_optional_after_ms),
            );
        }
        let can_overflow = match self.policy.overflow {
            Overflow::Queue => item.overflow.is_some(),
            Overflow::AnyQueue => true,
        };
        if let (true, Some(after)) = (can_overflow, self.policy.overflow_after_ms) {
            out.push(item.queued_at.saturating_add(after));
        }
        out
    }

    /// Requirements as interned ids: one per skill with the highest level asked; `sorted`
    /// orders them by id, otherwise they keep the item's order.
    fn levels(&mut self, reqs: &[SkillRequirement], sorted: bool) -> Levels {
        let mut out: Levels = Vec::with_capacity(reqs.len());
        for r in reqs {
            let id = self.skills.intern(&r.name);
            match out.iter_mut().find(|(s, _)| *s == id) {
                Some(entry) => entry.1 = entry.1.max(r.min_level),
                None => out.push((id, r.min_level)),
            }
        }
        if sorted {
            out.sort_unstable();
        }
        out
    }

    fn signature(&mut self, levels: &Levels) -> u32 {
        let next = self.signatures.len() as u32;
        *self.signatures.entry(levels.clone()).or_insert(next)
    }

    /// Applies a change to an agent that keeps its queues, updating the room counts, and
    /// marks the agent improved when it gained room.
    fn change_agent(&mut self, agent: AgentId, f: impl FnOnce(&mut AgentState)) -> bool {
        let Some(&slot) = self.agent_slot.get(&agent) else {
            return false;
        };
        let (before, after) = self.with_agent(slot, f);
        if after & !before != 0 {
            self.mark_improved(slot);
        }
        true
    }

    /// Runs `f` on the agent in `slot` and keeps the room counts; returns (before, after).
    pub(super) fn with_agent(&mut self, slot: usize, f: impl FnOnce(&mut AgentState)) -> (u8, u8) {
        let blocked_by = self.blocked_by;
        let Some(a) = self.agents.get_mut(slot) else {
            return (0, 0);
        };
        let before = a.room(&blocked_by);
        f(a);
        let after = a.room(&blocked_by);
        if before != after {
            let queues = a.queues.clone();
            self.count(&queues, before, false);
            self.count(&queues, after, true);
        }
        (before, after)
    }

    /// Indexes the agent in `slot` under its queues; returns its room.
    fn attach(&mut self, slot: usize) -> u8 {
        let Some(a) = self.agents.get(slot) else {
            return 0;
        };
        let room = a.room(&self.blocked_by);
        let queues = a.queues.clone();
        for q in &queues {
            self.members.entry(*q).or_default().push(slot);
        }
        self.count(&queues, room, true);
        room
    }

    fn detach(&mut self, slot: usize) {
        let Some(a) = self.agents.get(slot) else {
            return;
        };
        let room = a.room(&self.blocked_by);
        let queues = a.queues.clone();
        for q in &queues {
            if let Some(m) = self.members.get_mut(q) {
                m.retain(|s| *s != slot);
            }
        }
        self.count(&queues, room, false);
    }

    fn count(&mut self, queues: &[QueueId], room: u8, add: bool) {
        for k in ChannelKind::ALL {
            if room & k.bit() == 0 {
                continue;
            }
            let i = k.index();
            let step = |n: &mut u32| {
                *n = if add {
                    n.saturating_add(1)
                } else {
                    n.saturating_sub(1)
                }
            };
            step(&mut self.free_any[i]);
            for q in queues {
                step(&mut self.free.entry(*q).or_insert([0; 5])[i]);
            }
        }
    }

    fn mark_improved(&mut self, slot: usize) {
        match &mut self.settle {
            Settle::Unknown => {}
            Settle::Settled => self.settle = Settle::Improved(vec![slot]),
            Settle::Improved(slots) => {
                if !slots.contains(&slot) {
                    slots.push(slot);
                }
                if slots.len() > MAX_TARGETED {
                    self.settle = Settle::Unknown;
                }
            }
        }
    }
}
