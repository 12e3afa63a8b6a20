//! Property tests: whatever the snapshot, the decisions keep the rules.

use proptest::prelude::*;

use super::oracle::{self, State};
use super::*;
use crate::conversation::Priority;

const QUEUES: [QueueId; 3] = [QueueId::Team(1), QueueId::Team(2), QueueId::Inbox(9)];
const SKILLS: [&str; 4] = ["lang:en", "lang:pl", "product:billing", "vip"];

fn presence(n: u8) -> Presence {
    match n {
        0..=2 => Presence::Online,
        3 => Presence::Busy,
        4 => Presence::Away,
        _ => Presence::Offline,
    }
}

fn priority(n: u8) -> Option<Priority> {
    match n {
        0 => None,
        1 => Some(Priority::Low),
        2 => Some(Priority::Medium),
        3 => Some(Priority::High),
        _ => Some(Priority::Urgent),
    }
}

fn policy_strategy() -> impl Strategy<Value = Policy> {
    (
        proptest::array::uniform5(1u16..4),
        proptest::collection::vec(proptest::bool::weighted(0.2), 25),
        0i64..100,
        proptest::option::of(0i64..150),
        any::<bool>(),
        proptest::bool::weighted(0.2),
    )
        .prop_map(|(cap, blocks, t1, t2, any_queue, offers)| {
            let mut blocking = BlockingRules::none();
            for (i, on) in blocks.iter().enumerate() {
                if *on {
                    blocking.blocks[ChannelKind::ALL[i / 5]].push(ChannelKind::ALL[i % 5]);
                }
            }
            Policy {
                capacity: PerKind::from_array(cap),
                blocking,
                drop_optional_after_ms: t1,
                overflow_after_ms: t2,
                overflow: if any_queue {
                    Overflow::AnyQueue
                } else {
                    Overflow::Queue
                },
                offers,
                ..Policy::default()
            }
        })
}

type AgentSeed = (
    u8,
    u8,
    Vec<(usize, u8)>,
    Option<(usize, u16)>,
    [u16; 5],
    i64,
);

fn agent(i: usize, seed: &AgentSeed, p: &Policy) -> Agent {
    let (pres, queues, skills, cap, load, idle) = seed;
    let mut a = Agent::new(i as AgentId + 1, presence(*pres));
    a.queues = QUEUES
        .iter()
        .enumerate()
        .filter(|(b, _)| queues & (1 << b) != 0)
        .map(|(_, q)| *q)
        .collect();
    a.skills = skills
        .iter()
        .map(|(s, l)| Skill::new(SKILLS[*s], *l))
        .collect();
    if let Some((k, c)) = cap {
        a.capacity[ChannelKind::ALL[*k]] = Some(*c);
    }
    for k in ChannelKind::ALL {
        a.load[k] = load[k.index()].min(p.capacity_of(&a, k));
    }
    a.idle_since = *idle;
    a
}

type ItemSeed = (
    (usize, usize, u8, i64, i64),
    Vec<(usize, u8)>,
    Vec<(usize, u8)>,
    Option<(i64, i64)>,
    Vec<i64>,
    Option<usize>,
);

fn item(i: usize, seed: &ItemSeed) -> WaitingItem {
    let ((queue, kind, prio, since, delay), required, preferred, sticky, excluded, overflow) = seed;
    let mut it = WaitingItem::new(
        100 + i as i64,
        QUEUES[*queue],
        ChannelKind::ALL[*kind],
        *since,
    );
    it.queued_at = since + delay;
    it.priority = priority(*prio);
    it.required = required
        .iter()
        .map(|(s, l)| SkillRequirement::new(SKILLS[*s], *l))
        .collect();
    it.preferred = preferred
        .iter()
        .map(|(s, l)| SkillRequirement::new(SKILLS[*s], *l))
        .collect();
    it.sticky = sticky.map(|(agent, until)| StickyAgent { agent, until });
    it.excluded = excluded.clone();
    it.overflow = overflow.map(|q| QUEUES[q]);
    it
}

fn item_seed() -> impl Strategy<Value = ItemSeed> {
    (
        (0usize..3, 0usize..5, 0u8..5, 0i64..30, 0i64..70),
        proptest::collection::vec((0usize..4, 1u8..3), 0..2),
        proptest::collection::vec((0usize..4, 1u8..3), 0..3),
        proptest::option::of((1i64..7, 50i64..250)),
        proptest::collection::vec(1i64..7, 0..2),
        proptest::option::of(0usize..3),
    )
}

/// An item arriving at `now`: waiting since about then, queued up to a minute before.
fn arrival(seed: &ItemSeed, now: Millis) -> WaitingItem {
    let mut x = item(99, seed);
    x.waiting_since += now;
    x.queued_at += now - 60;
    x
}

/// A small account: up to 6 agents and 14 waiting items over three queues, with times
/// around the widening thresholds; `now` is 100–199.
fn case() -> impl Strategy<Value = (Snapshot, Policy, Millis)> {
    let agent_seed = (
        0u8..6,
        0u8..8,
        proptest::collection::vec((0usize..4, 1u8..4), 0..4),
        proptest::option::of((0usize..5, 0u16..4)),
        proptest::array::uniform5(0u16..4),
        0i64..50,
    );
    (
        policy_strategy(),
        proptest::collection::vec(agent_seed, 1..7),
        proptest::collection::vec(item_seed(), 0..15),
        100i64..200,
    )
        .prop_map(|(p, agents, items, now)| {
            let snapshot = Snapshot {
                agents: agents
                    .iter()
                    .enumerate()
                    .map(|(i, s)| agent(i, s, &p))
                    .collect(),
                waiting: items.iter().enumerate().map(|(i, s)| item(i, s)).collect(),
            };
            (snapshot, p, now)
        })
}

/// Each decision with the state just before it.
fn replay(s: &Snapshot, now: Millis, ds: &[Decision]) -> Vec<(Decision, WaitingItem, State)> {
    let mut st = State::new(s);
    let mut out = Vec::new();
    for d in ds {
        let it = s.waiting.iter().find(|i| i.conversation == d.conversation);
        let it = it
            .cloned()
            .unwrap_or_else(|| panic!("decided an unknown item: {d}"));
        out.push((d.clone(), it, st.clone()));
        st.apply(d, now);
    }
    out
}

fn agent_of(s: &Snapshot, id: AgentId) -> &Agent {
    s.agents.iter().find(|a| a.id == id).unwrap()
}

proptest! {
    /// The router and the plain restatement of the rules decide the same.
    #[test]
    fn the_router_decides_as_the_rules_say((s, p, now) in case()) {
        prop_assert_eq!(decide(&s, &p, now), oracle::reference(&s, &p, now));
    }

    /// Decisions come in decision order; each item is decided once; the offer mode is the
    /// agent's or the account's.
    #[test]
    fn decisions_follow_the_order((s, p, now) in case()) {
        let ds = decide(&s, &p, now);
        let keys: Vec<_> = ds.iter().map(|d| {
            s.waiting.iter().find(|i| i.conversation == d.conversation).unwrap().order_key()
        }).collect();
        prop_assert!(keys.windows(2).all(|w| w[0] < w[1]));
        for d in &ds {
            let offers = p.offers_to(agent_of(&s, d.agent));
            prop_assert_eq!(matches!(d.action, Action::Offer { .. }), offers);
        }
    }

    /// No agent ever goes over capacity for any kind, nor takes a kind another open kind
    /// blocks, nor gets new work unless online, nor lacks a required skill.
    #[test]
    fn capacity_blocking_presence_and_skills_hold((s, p, now) in case()) {
        for (d, it, st) in replay(&s, now, &decide(&s, &p, now)) {
            let a = agent_of(&s, d.agent);
            let load = st.load(a.id);
            prop_assert!(load[d.kind] < p.capacity_of(a, d.kind), "over capacity: {}", d);
            let then = Agent { load, ..a.clone() };
            prop_assert!(p.has_room(&then, d.kind), "no room: {}", d);
            for b in ChannelKind::ALL {
                prop_assert!(load[b] == 0 || !p.blocking.blocks(b, d.kind), "blocked: {}", d);
            }
            prop_assert_eq!(a.presence, Presence::Online);
            prop_assert!(!it.excluded.contains(&a.id));
            for r in &it.required {
                prop_assert!(oracle::has(a, r), "{} lacks {}", d, r.name);
            }
        }
    }

    /// FIFO within a priority: no item is decided while an earlier item of the same
    /// priority, queue and kind that the same agent could take is left waiting; and more
    /// generally nothing is left waiting that someone could have taken at its turn.
    #[test]
    fn nothing_waits_that_someone_could_take((s, p, now) in case()) {
        let ds = decide(&s, &p, now);
        let steps = replay(&s, now, &ds);
        let decided: Vec<_> = ds.iter().map(|d| d.conversation).collect();
        for e in s.waiting.iter().filter(|i| !decided.contains(&i.conversation)) {
            let mut st = State::new(&s);
            for (d, it, _) in &steps {
                if it.order_key() < e.order_key() {
                    st.apply(d, now);
                }
            }
            for a in &s.agents {
                prop_assert!(!oracle::could_take(&s, &p, e, a.id, &st, now),
                    "item {} waits though agent {} could take it", e.conversation, a.id);
            }
            for (d, l, st) in &steps {
                if l.priority == e.priority && l.queue == e.queue && l.kind == e.kind
                    && e.order_key() < l.order_key() {
                    prop_assert!(!oracle::could_take(&s, &p, e, d.agent, st, now),
                        "{} while earlier item {} waits", d, e.conversation);
                }
            }
        }
    }

    /// The sticky agent gets the item exactly when within the window and eligible in the
    /// item's queue.
    #[test]
    fn sticky_only_when_eligible_and_in_time((s, p, now) in case()) {
        for (d, it, st) in replay(&s, now, &decide(&s, &p, now)) {
            let sticky = oracle::sticky_agent(&s, &p, &it, &st, now);
            match &d.reason {
                Reason::Sticky { agent } => {
                    prop_assert_eq!(*agent, d.agent);
                    prop_assert!(it.sticky.is_some_and(|x| x.agent == d.agent && now < x.until));
                    prop_assert_eq!(sticky.map(|a| a.id), Some(d.agent));
                }
                _ => prop_assert!(sticky.is_none(), "{} skipped the sticky agent", d),
            }
        }
    }

    /// Widening only after its time: a missing preferred skill only from T1, an agent
    /// outside the queue only from T2 and only when the queue had nobody.
    #[test]
    fn widening_only_after_its_time((s, p, now) in case()) {
        for (d, it, st) in replay(&s, now, &decide(&s, &p, now)) {
            let a = agent_of(&s, d.agent);
            let age = oracle::age(&it, now);
            let sticky = matches!(d.reason, Reason::Sticky { .. });
            if !sticky && !oracle::preferred_set(&it).iter().all(|r| oracle::has(a, r)) {
                prop_assert!(age >= p.drop_optional_after_ms, "{} before T1", d);
            }
            if !a.queues.contains(&it.queue) {
                prop_assert!(p.overflow_after_ms.is_some_and(|t| age >= t), "{} before T2", d);
                prop_assert!(oracle::home(&s, &p, &it, &st, now).is_empty());
                prop_assert_eq!(oracle::in_overflow_pool(&p, &it, a), Some(true));
                let is_overflow = matches!(d.reason, Reason::Overflow { .. });
                prop_assert!(is_overflow);
            }
        }
    }

    /// Each reason is true of the candidates at the moment of the decision.
    #[test]
    fn every_reason_is_true((s, p, now) in case()) {
        for (d, it, st) in replay(&s, now, &decide(&s, &p, now)) {
            let a = agent_of(&s, d.agent);
            let home = oracle::home(&s, &p, &it, &st, now);
            let pool = if home.is_empty() { oracle::overflow(&s, &p, &it, &st, now) } else { home.clone() };
            let others: Vec<_> = pool.iter().filter(|o| o.id != a.id).collect();
            let r = |x: &Agent| oracle::rank(&p, x, &it, &st);
            match &d.reason {
                Reason::Sticky { .. } => {}
                Reason::Overflow { from, to } => {
                    prop_assert!(home.is_empty());
                    prop_assert_eq!(*from, it.queue);
                    prop_assert!(pool.iter().any(|x| x.id == a.id));
                    match p.overflow {
                        Overflow::Queue => prop_assert_eq!(*to, it.overflow),
                        Overflow::AnyQueue => prop_assert_eq!(*to, None),
                    }
                }
                reason => {
                    prop_assert!(home.iter().any(|x| x.id == a.id), "{} not a candidate", d);
                    prop_assert!(others.iter().all(|o| r(a) < r(o)), "{} not the best", d);
                    match reason {
                        Reason::OnlyEligible => prop_assert!(others.is_empty()),
                        Reason::Skill { skill } => {
                            prop_assert!(a.skills.iter().any(|x| &x.name == skill));
                            prop_assert!(others.iter().all(|o| r(o).0 > r(a).0));
                        }
                        Reason::LeastLoaded => {
                            prop_assert!(!others.is_empty());
                            prop_assert!(others.iter().any(|o| r(o).0 == r(a).0));
                            prop_assert!(others.iter().filter(|o| r(o).0 == r(a).0)
                                .all(|o| r(o).1 > r(a).1));
                        }
                        Reason::LongestIdle => {
                            prop_assert!(others.iter().any(|o| r(o).0 == r(a).0 && r(o).1 == r(a).1));
                        }
                        _ => prop_assert!(false, "unexpected {}", d),
                    }
                }
            }
        }
    }

    /// Used incrementally — settle, then one arrival later on — the router decides what the
    /// pure function decides over the same state.
    #[test]
    fn an_arrival_decides_as_a_whole_pass(
        (s, p, now) in case(),
        seed in item_seed(),
        later in 0i64..80,
    ) {
        let mut router = Router::new(&s, p.clone());
        router.decide_all(now);
        let x = arrival(&seed, now);
        let mut expected_snapshot = router.snapshot();
        expected_snapshot.waiting.push(x.clone());
        let expected = decide(&expected_snapshot, &p, now + later);
        prop_assert_eq!(router.decide_for(x, now + later), expected);
        prop_assert!(!router.needs_pass(now + later));
    }

    /// Settled, then later on — widenings may have fallen due — the router decides what a
    /// whole pass over the same state decides at that moment, and is settled again.
    #[test]
    fn a_later_pass_decides_as_a_whole_pass((s, p, now) in case(), later in 0i64..160) {
        let mut router = Router::new(&s, p.clone());
        router.decide_all(now);
        let expected = decide(&router.snapshot(), &p, now + later);
        prop_assert_eq!(router.decide_all(now + later), expected);
        prop_assert!(!router.needs_pass(now + later));
        prop_assert_eq!(router.decide_all(now + later), vec![]);
    }

    /// An arrival right after a release or an agent coming online, before any pass (a
    /// declined offer comes back this way): the router decides what a whole pass over the
    /// same state, arrival included, decides — the arrival is not limited to the agents
    /// whose room grew.
    #[test]
    fn an_arrival_after_a_release_decides_as_a_whole_pass(
        (s, p, now) in case(),
        who in 0usize..6,
        kind in 0usize..5,
        online in any::<bool>(),
        seed in item_seed(),
        later in 0i64..80,
    ) {
        let mut router = Router::new(&s, p.clone());
        router.decide_all(now);
        let id = s.agents[who % s.agents.len()].id;
        if online {
            router.set_presence(id, Presence::Online);
        } else {
            router.release(id, ChannelKind::ALL[kind], now);
        }
        let x = arrival(&seed, now);
        let mut expected_snapshot = router.snapshot();
        expected_snapshot.waiting.push(x.clone());
        // The same decisions; independent ones (other kinds, other agents) may come in
        // another order after a release.
        let by_conversation = |mut d: Vec<Decision>| {
            d.sort_by_key(|d| d.conversation);
            d
        };
        let expected = by_conversation(decide(&expected_snapshot, &p, now + later));
        prop_assert_eq!(by_conversation(router.decide_for(x, now + later)), expected);
        prop_assert!(!router.needs_pass(now + later));
    }

    /// After a release or an agent coming online, the targeted pass decides what a full
    /// pass over the same state decides.
    #[test]
    fn a_release_decides_as_a_whole_pass(
        (s, p, now) in case(),
        who in 0usize..6,
        kind in 0usize..5,
        online in any::<bool>(),
    ) {
        let mut router = Router::new(&s, p.clone());
        router.decide_all(now);
        let id = s.agents[who % s.agents.len()].id;
        if online {
            router.set_presence(id, Presence::Online);
        } else {
            router.release(id, ChannelKind::ALL[kind], now);
        }
        let expected = decide(&router.snapshot(), &p, now);
        prop_assert_eq!(router.decide_all(now), expected);
        // Settled: nothing more until something changes.
        prop_assert!(!router.needs_pass(now));
        prop_assert_eq!(router.decide_all(now), vec![]);
    }
}
