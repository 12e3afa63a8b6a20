//! The rules restated plainly and slowly — every item against every agent — for the property
//! tests to check the router against.

use std::cmp::Reverse;
use std::collections::HashMap;

use super::*;

/// Loads and idle times as decisions are replayed.
#[derive(Clone, Debug)]
pub struct State {
    pub load: HashMap<AgentId, PerKind<u16>>,
    pub idle: HashMap<AgentId, Millis>,
}

impl State {
    pub fn new(s: &Snapshot) -> Self {
        Self {
            load: s.agents.iter().map(|a| (a.id, a.load)).collect(),
            idle: s.agents.iter().map(|a| (a.id, a.idle_since)).collect(),
        }
    }

    pub fn load(&self, a: AgentId) -> PerKind<u16> {
        self.load.get(&a).copied().unwrap_or_default()
    }

    pub fn apply(&mut self, d: &Decision, now: Millis) {
        self.load.entry(d.agent).or_default()[d.kind] += 1;
        let idle = self.idle.entry(d.agent).or_default();
        *idle = (*idle).max(now);
    }
}

pub fn has(a: &Agent, r: &SkillRequirement) -> bool {
    a.skills
        .iter()
        .any(|s| s.name == r.name && s.level >= r.min_level)
}

/// Online, below capacity for the kind, and no open kind blocking it.
pub fn room(p: &Policy, a: &Agent, st: &State, kind: ChannelKind) -> bool {
    let load = st.load(a.id);
    a.presence == Presence::Online
        && load[kind] < p.capacity_of(a, kind)
        && !ChannelKind::ALL
            .iter()
            .any(|b| load[*b] > 0 && p.blocking.blocks(*b, kind))
}

pub fn base_ok(p: &Policy, a: &Agent, it: &WaitingItem, st: &State) -> bool {
    room(p, a, st, it.kind) && !it.excluded.contains(&a.id) && it.required.iter().all(|r| has(a, r))
}

pub fn age(it: &WaitingItem, now: Millis) -> Millis {
    now.saturating_sub(it.queued_at)
}

pub fn strict(p: &Policy, it: &WaitingItem, now: Millis) -> bool {
    !it.preferred.is_empty() && age(it, now) < p.drop_optional_after_ms
}

pub fn overflow_due(p: &Policy, it: &WaitingItem, now: Millis) -> bool {
    p.overflow_after_ms.is_some_and(|t| age(it, now) >= t)
}

/// The overflow pool's membership test, when the item has one.
pub fn in_overflow_pool(p: &Policy, it: &WaitingItem, a: &Agent) -> Option<bool> {
    match p.overflow {
        Overflow::Queue => it.overflow.map(|q| a.queues.contains(&q)),
        Overflow::AnyQueue => Some(true),
    }
}

fn ok_with_preferred(p: &Policy, a: &Agent, it: &WaitingItem, st: &State, now: Millis) -> bool {
    base_ok(p, a, it, st) && (!strict(p, it, now) || it.preferred.iter().all(|r| has(a, r)))
}

pub fn sticky_agent<'a>(
    s: &'a Snapshot,
    p: &Policy,
    it: &WaitingItem,
    st: &State,
    now: Millis,
) -> Option<&'a Agent> {
    let sticky = it.sticky?;
    if now >= sticky.until {
        return None;
    }
    s.agents
        .iter()
        .find(|a| a.id == sticky.agent)
        .filter(|a| a.queues.contains(&it.queue) && base_ok(p, a, it, st))
}

pub fn home<'a>(
    s: &'a Snapshot,
    p: &Policy,
    it: &WaitingItem,
    st: &State,
    now: Millis,
) -> Vec<&'a Agent> {
    s.agents
        .iter()
        .filter(|a| a.queues.contains(&it.queue) && ok_with_preferred(p, a, it, st, now))
        .collect()
}

pub fn overflow<'a>(
    s: &'a Snapshot,
    p: &Policy,
    it: &WaitingItem,
    st: &State,
    now: Millis,
) -> Vec<&'a Agent> {
    if !overflow_due(p, it, now) {
        return Vec::new();
    }
    s.agents
        .iter()
        .filter(|a| {
            in_overflow_pool(p, it, a) == Some(true) && ok_with_preferred(p, a, it, st, now)
        })
        .collect()
}

/// Whether the rules let this agent take the item in this state.
pub fn could_take(
    s: &Snapshot,
    p: &Policy,
    it: &WaitingItem,
    a: AgentId,
    st: &State,
    now: Millis,
) -> bool {
    sticky_agent(s, p, it, st, now).is_some_and(|x| x.id == a)
        || home(s, p, it, st, now).iter().any(|x| x.id == a)
        || overflow(s, p, it, st, now).iter().any(|x| x.id == a)
}

/// The preferred skills once each, at the highest level asked, in the item's order.
pub fn preferred_set(it: &WaitingItem) -> Vec<&SkillRequirement> {
    let mut names: Vec<&SkillRequirement> = Vec::new();
    for r in &it.preferred {
        match names.iter_mut().find(|n| n.name == r.name) {
            Some(n) if n.min_level < r.min_level => *n = r,
            Some(_) => {}
            None => names.push(r),
        }
    }
    names
}

pub fn preferred_count(a: &Agent, it: &WaitingItem) -> usize {
    preferred_set(it).iter().filter(|r| has(a, r)).count()
}

/// Sum over kinds of load ÷ capacity, counting the item, in units of 1/720720.
pub fn occupancy(p: &Policy, a: &Agent, st: &State, kind: ChannelKind) -> u64 {
    let load = st.load(a.id);
    ChannelKind::ALL
        .iter()
        .map(|k| {
            let l = u64::from(load[*k]) + u64::from(*k == kind);
            l * 720_720 / u64::from(p.capacity_of(a, *k).max(1))
        })
        .sum()
}

pub fn rank(
    p: &Policy,
    a: &Agent,
    it: &WaitingItem,
    st: &State,
) -> (Reverse<usize>, u64, Millis, AgentId) {
    (
        Reverse(preferred_count(a, it)),
        occupancy(p, a, st, it.kind),
        st.idle.get(&a.id).copied().unwrap_or_default(),
        a.id,
    )
}

/// The winner among candidates and the reason, stated over all candidates.
pub fn pick(
    p: &Policy,
    it: &WaitingItem,
    st: &State,
    cands: &[&Agent],
) -> Option<(AgentId, Reason)> {
    let best = cands.iter().min_by_key(|a| rank(p, a, it, st))?;
    let others: Vec<_> = cands.iter().filter(|a| a.id != best.id).collect();
    let (b_pref, b_occ, _, _) = rank(p, best, it, st);
    let reason = if others.is_empty() {
        Reason::OnlyEligible
    } else if others.iter().all(|o| rank(p, o, it, st).0 > b_pref) {
        // Named after the runner-up: a skill the winner has and the next best lacks.
        let runner_up = others.iter().min_by_key(|o| rank(p, o, it, st));
        let skill = preferred_set(it)
            .iter()
            .find(|r| has(best, r) && runner_up.is_some_and(|o| !has(o, r)))
            .map(|r| r.name.clone())
            .unwrap_or_default();
        Reason::Skill { skill }
    } else if others
        .iter()
        .filter(|o| rank(p, o, it, st).0 == b_pref)
        .all(|o| rank(p, o, it, st).1 > b_occ)
    {
        Reason::LeastLoaded
    } else {
        Reason::LongestIdle
    };
    Some((best.id, reason))
}

/// Every item in order against every agent.
pub fn reference(s: &Snapshot, p: &Policy, now: Millis) -> Vec<Decision> {
    let mut items = s.waiting.clone();
    items.sort_by_key(WaitingItem::order_key);
    let mut st = State::new(s);
    let mut out = Vec::new();
    for it in &items {
        let chosen = if let Some(a) = sticky_agent(s, p, it, &st, now) {
            Some((a.id, Reason::Sticky { agent: a.id }))
        } else if let Some(found) = pick(p, it, &st, &home(s, p, it, &st, now)) {
            Some(found)
        } else {
            let to = match p.overflow {
                Overflow::Queue => it.overflow,
                Overflow::AnyQueue => None,
            };
            pick(p, it, &st, &overflow(s, p, it, &st, now))
                .map(|(a, _)| (a, Reason::Overflow { from: it.queue, to }))
        };
        if let Some((agent, reason)) = chosen {
            let a = s.agents.iter().find(|x| x.id == agent);
            let offers = a.is_some_and(|a| p.offers_to(a));
            let d = Decision {
                conversation: it.conversation,
                agent,
                kind: it.kind,
                action: if offers {
                    Action::Offer {
                        expires_at: now + p.offer_timeout_ms,
                    }
                } else {
                    Action::Assign
                },
                reason,
            };
            st.apply(&d, now);
            out.push(d);
        }
    }
    out
}
