//! The decision itself: which items, in which order, to which agent, and why.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::ops::Bound::{Excluded, Unbounded};

use super::decision::{Action, Decision, Reason};
use super::kind::ChannelKind;
use super::policy::Overflow;
use super::router::{AgentState, BucketKey, ItemState, Router, Settle};
use super::snapshot::{ConversationId, OrderKey, QueueId, WaitingItem};
use crate::Millis;

/// The agents an item may go to at one stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Pool {
    Queue(QueueId),
    Any,
}

impl Pool {
    fn contains(self, a: &AgentState) -> bool {
        match self {
            Self::Queue(q) => a.in_queue(q),
            Self::Any => true,
        }
    }
}

/// Requirements that found nobody in a pool during this pass: agents only fill up as a pass
/// goes on, so every later item asking the same finds nobody either.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Nobody {
    pool: Pool,
    kind: ChannelKind,
    strict: bool,
    required: u32,
    preferred: u32,
}

/// Candidates compare on this, smallest best: most preferred skills, then the smallest share
/// of capacity in use, then idle the longest, then the lowest id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Rank {
    preferred: Reverse<usize>,
    occupancy: u64,
    idle_since: Millis,
    agent: i64,
}

impl Router {
    /// Decides every waiting item that can be decided now, in order of priority then waiting
    /// time. Stops as soon as no agent has room; after a release or an agent coming online it
    /// looks only at the agents that gained room, and when widenings fall due in a settled
    /// router, only at the items that widened.
    pub fn decide_all(&mut self, now: Millis) -> Vec<Decision> {
        let widened = self.take_due(now);
        let out = match &self.settle {
            Settle::Settled => self.decide_each(widened, now),
            Settle::Improved(slots) if widened.is_empty() => {
                let slots = slots.clone();
                self.pass(now, Some(&slots), None)
            }
            _ => self.pass(now, None, None),
        };
        self.settle = Settle::Settled;
        out
    }

    /// A conversation starts waiting (or waits again, e.g. after a declined offer, with the
    /// agent in its exclusions). In a settled router this looks at the item's own queue
    /// only (and at items whose widening fell due); otherwise it also runs what
    /// [`Router::decide_all`] would, so the result may hold decisions for other items too. An
    /// item nobody can take stays waiting.
    pub fn decide_for(&mut self, item: WaitingItem, now: Millis) -> Vec<Decision> {
        let conversation = item.conversation;
        self.insert_item(item, Some(now));
        let slots = match (&self.settle, self.wake_due(now)) {
            (Settle::Settled, _) => {
                let mut fresh = self.take_due(now);
                fresh.push(conversation);
                return self.decide_each(fresh, now);
            }
            (Settle::Improved(slots), false) => slots.clone(),
            _ => return self.decide_all(now),
        };
        // The older items can only go to the agents whose room grew (everyone else was
        // settled for them), but the new one may go to anyone: it is chosen against everyone
        // at its turn in the pass, or after it when the pass stopped or skipped its bucket
        // first — the improved agents then had no room for it, and nobody else's load moved.
        let mut out = self.pass(now, Some(&slots), Some(conversation));
        out.extend(self.decide_one(conversation, now));
        self.settle = Settle::Settled;
        out
    }

    /// Forgets the widenings due at `now`; returns their items.
    fn take_due(&mut self, now: Millis) -> Vec<ConversationId> {
        let mut out = Vec::new();
        while let Some(&(t, conversation)) = self.widenings.first()
            && t <= now
        {
            self.widenings.pop_first();
            out.push(conversation);
        }
        out
    }

    /// One item against every agent, if it still waits.
    fn decide_one(&mut self, conversation: ConversationId, now: Millis) -> Vec<Decision> {
        let mut nobody = HashSet::new();
        match self.choose(conversation, now, None, &mut nobody) {
            Some((slot, reason)) => self
                .apply(slot, conversation, reason, now)
                .into_iter()
                .collect(),
            None => Vec::new(),
        }
    }

    /// In a settled router, only these items can have gained an agent (a new arrival, a
    /// widening fallen due): everything else still has nobody, and loads only grow as these
    /// are placed. So deciding them alone, in decision order and each against everyone,
    /// decides what a whole pass would.
    fn decide_each(&mut self, mut items: Vec<ConversationId>, now: Millis) -> Vec<Decision> {
        items.sort_unstable();
        items.dedup();
        let mut keys: Vec<_> = items
            .iter()
            .filter_map(|c| self.items.get(c).map(|s| s.key))
            .collect();
        keys.sort_unstable();
        keys.iter()
            .flat_map(|k| self.decide_one(k.conversation, now))
            .collect()
    }

    /// One pass over the waiting items in decision order (a merge of the buckets' heads),
    /// skipping buckets whose agents have no room for their kind. With `only`, the pass looks
    /// at those agents alone, except for the `fresh` item, which is chosen against everyone.
    fn pass(
        &mut self,
        now: Millis,
        only: Option<&[usize]>,
        fresh: Option<ConversationId>,
    ) -> Vec<Decision> {
        let mut out = Vec::new();
        let mut nobody = HashSet::new();
        // What found nobody among all agents is not what found nobody among a few.
        let mut nobody_fresh = HashSet::new();
        let mut heads: BinaryHeap<Reverse<(OrderKey, BucketKey)>> = BinaryHeap::new();
        for (bucket, keys) in &self.buckets {
            if let Some(first) = keys.first()
                && self.bucket_live(bucket, only)
            {
                heads.push(Reverse((*first, *bucket)));
            }
        }
        while let Some(Reverse((key, bucket))) = heads.pop() {
            if !self.any_room(only) {
                break;
            }
            if !self.bucket_live(&bucket, only) {
                continue;
            }
            let next = self
                .buckets
                .get(&bucket)
                .and_then(|keys| keys.range((Excluded(key), Unbounded)).next().copied());
            let chosen = if fresh == Some(key.conversation) {
                self.choose(key.conversation, now, None, &mut nobody_fresh)
            } else {
                self.choose(key.conversation, now, only, &mut nobody)
            };
            if let Some((slot, reason)) = chosen
                && let Some(d) = self.apply(slot, key.conversation, reason, now)
            {
                out.push(d);
            }
            if let Some(next) = next {
                heads.push(Reverse((next, bucket)));
            }
        }
        out
    }

    /// The overflow pool an item may use once the overflow delay has passed.
    fn overflow_pool(&self, overflow: Option<QueueId>) -> Option<(Pool, Option<QueueId>)> {
        self.policy.overflow_after_ms?;
        match self.policy.overflow {
            Overflow::Queue => overflow.map(|q| (Pool::Queue(q), Some(q))),
            Overflow::AnyQueue => Some((Pool::Any, None)),
        }
    }

    fn bucket_live(&self, b: &BucketKey, only: Option<&[usize]>) -> bool {
        self.pool_has_room(Pool::Queue(b.queue), b.kind, only)
            || self
                .overflow_pool(b.overflow)
                .is_some_and(|(pool, _)| self.pool_has_room(pool, b.kind, only))
    }

    fn pool_has_room(&self, pool: Pool, kind: ChannelKind, only: Option<&[usize]>) -> bool {
        let i = kind.index();
        match (only, pool) {
            (None, Pool::Queue(q)) => self.free.get(&q).is_some_and(|f| f[i] > 0),
            (None, Pool::Any) => self.free_any[i] > 0,
            (Some(slots), _) => slots
                .iter()
                .filter_map(|s| self.agents.get(*s))
                .any(|a| a.room(&self.blocked_by) & kind.bit() != 0 && pool.contains(a)),
        }
    }

    fn any_room(&self, only: Option<&[usize]>) -> bool {
        match only {
            None => self.free_any.iter().any(|n| *n > 0),
            Some(slots) => slots
                .iter()
                .filter_map(|s| self.agents.get(*s))
                .any(|a| a.room(&self.blocked_by) != 0),
        }
    }

    /// Online, room for the kind and not blocked, not excluded, every required skill.
    fn base_eligible(&self, a: &AgentState, it: &ItemState) -> bool {
        a.room(&self.blocked_by) & it.item.kind.bit() != 0
            && !it.item.excluded.contains(&a.id)
            && a.meets_all(&it.required)
    }

    /// The agent for one item and the rule that chose them: the sticky agent, else the best
    /// of the item's queue, else (after the overflow delay) the best of the overflow pool.
    fn choose(
        &self,
        conversation: ConversationId,
        now: Millis,
        only: Option<&[usize]>,
        nobody: &mut HashSet<Nobody>,
    ) -> Option<(usize, Reason)> {
        let it = self.items.get(&conversation)?;
        let age = now.saturating_sub(it.item.queued_at);
        let strict = !it.preferred.is_empty() && age < self.policy.drop_optional_after_ms;
        if let Some(sticky) = it.item.sticky
            && now < sticky.until
            && let Some(&slot) = self.agent_slot.get(&sticky.agent)
            && let Some(a) = self.agents.get(slot)
            && a.in_queue(it.item.queue)
            && self.base_eligible(a, it)
        {
            return Some((slot, Reason::Sticky { agent: a.id }));
        }
        if let Some(found) = self.best_in(Pool::Queue(it.item.queue), it, strict, only, nobody) {
            return Some(found);
        }
        let overflow_due = self.policy.overflow_after_ms.is_some_and(|t| age >= t);
        if overflow_due && let Some((pool, to)) = self.overflow_pool(it.item.overflow) {
            let from = it.item.queue;
            return self
                .best_in(pool, it, strict, only, nobody)
                .map(|(slot, _)| (slot, Reason::Overflow { from, to }));
        }
        None
    }

    /// The best eligible agent of a pool, and why it beat the runner-up.
    fn best_in(
        &self,
        pool: Pool,
        it: &ItemState,
        strict: bool,
        only: Option<&[usize]>,
        nobody: &mut HashSet<Nobody>,
    ) -> Option<(usize, Reason)> {
        let key = Nobody {
            pool,
            kind: it.item.kind,
            strict,
            required: it.required_sig,
            preferred: if strict { it.preferred_sig } else { u32::MAX },
        };
        if nobody.contains(&key) {
            return None;
        }
        let mut best: Option<(Rank, usize)> = None;
        let mut second: Option<(Rank, usize)> = None;
        let mut consider = |slot: usize| {
            let Some(a) = self.agents.get(slot) else {
                return;
            };
            if !self.base_eligible(a, it) || (strict && !a.meets_all(&it.preferred)) {
                return;
            }
            let rank = Rank {
                preferred: Reverse(it.preferred.iter().filter(|(s, l)| a.meets(*s, *l)).count()),
                occupancy: a.occupancy_with(it.item.kind),
                idle_since: a.idle_since,
                agent: a.id,
            };
            match best {
                Some(b) if b.0 <= rank => {
                    if second.is_none_or(|s| rank < s.0) {
                        second = Some((rank, slot));
                    }
                }
                _ => {
                    second = best;
                    best = Some((rank, slot));
                }
            }
        };
        match (only, pool) {
            (Some(slots), _) => {
                for &slot in slots {
                    if self.agents.get(slot).is_some_and(|a| pool.contains(a)) {
                        consider(slot);
                    }
                }
            }
            (None, Pool::Queue(q)) => {
                for &slot in self.members.get(&q).map_or(&[][..], Vec::as_slice) {
                    consider(slot);
                }
            }
            (None, Pool::Any) => (0..self.agents.len()).for_each(&mut consider),
        }
        let Some((rank, slot)) = best else {
            // Exclusions are the item's own: its failure says nothing about the others.
            if it.item.excluded.is_empty() {
                nobody.insert(key);
            }
            return None;
        };
        let reason = match second {
            None => Reason::OnlyEligible,
            Some((other, other_slot)) if rank.preferred != other.preferred => {
                self.distinguishing_skill(it, slot, other_slot)
            }
            Some((other, _)) if rank.occupancy != other.occupancy => Reason::LeastLoaded,
            Some(_) => Reason::LongestIdle,
        };
        Some((slot, reason))
    }

    /// A preferred skill the winner has and the runner-up lacks.
    fn distinguishing_skill(&self, it: &ItemState, winner: usize, runner_up: usize) -> Reason {
        let (Some(w), Some(r)) = (self.agents.get(winner), self.agents.get(runner_up)) else {
            return Reason::LeastLoaded;
        };
        it.preferred
            .iter()
            .find(|(s, l)| w.meets(*s, *l) && !r.meets(*s, *l))
            .map_or(Reason::LeastLoaded, |(s, _)| Reason::Skill {
                skill: self.skills.name(*s).to_owned(),
            })
    }

    /// Gives the item to the agent: the item leaves the queue, the agent's load grows and its
    /// idle time restarts.
    fn apply(
        &mut self,
        slot: usize,
        conversation: ConversationId,
        reason: Reason,
        now: Millis,
    ) -> Option<Decision> {
        let it = self.remove_item(conversation)?;
        let kind = it.item.kind;
        self.with_agent(slot, |a| {
            let l = &mut a.load[kind.index()];
            *l = l.saturating_add(1);
            a.idle_since = a.idle_since.max(now);
        });
        let a = self.agents.get(slot)?;
        let offers = a.accepts_offers.unwrap_or(self.policy.offers);
        Some(Decision {
            conversation,
            agent: a.id,
            kind,
            action: if offers {
                Action::Offer {
                    expires_at: now.saturating_add(self.policy.offer_timeout_ms),
                }
            } else {
                Action::Assign
            },
            reason,
        })
    }
}
