//! A day of a support team driven through the router: 100 agents on shifts with breaks,
//! 10,000 conversations across kinds, languages, teams and priorities, offers that are
//! accepted, declined or left to expire, customers who give up. Seeded and deterministic; it
//! prints the figures (run with `--nocapture`) and asserts only invariants.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use super::bench::Rng;
use super::*;
use crate::conversation::Priority;

const SECOND: Millis = 1_000;
const MINUTE: Millis = 60 * SECOND;
const HOUR: Millis = 60 * MINUTE;

const GENERAL: QueueId = QueueId::Team(1);
const BILLING: QueueId = QueueId::Team(2);
const TECH: QueueId = QueueId::Team(3);
const LANGS: [&str; 3] = ["en", "pt-BR", "pl"];

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    ShiftStart(usize),
    BreakStart(usize),
    BreakEnd(usize),
    ShiftEnd(usize),
    Arrive(usize),
    OfferAnswer(usize, bool),
    Finish(usize),
    Abandon(usize),
    Wake,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    NotYet,
    Waiting,
    Offered(AgentId),
    Assigned(AgentId),
    Done,
    Abandoned,
}

struct Conv {
    item: WaitingItem,
    arrive: Millis,
    handle: Millis,
    patience: Option<Millis>,
    state: State,
    answered_at: Option<Millis>,
}

struct Staff {
    agent: Agent,
    shift: (Millis, Millis),
    load: PerKind<u16>,
    handled: u32,
}

struct Day {
    rng: Rng,
    policy: Policy,
    router: Router,
    staff: Vec<Staff>,
    convs: Vec<Conv>,
    events: BinaryHeap<Reverse<(Millis, u64, Event)>>,
    seq: u64,
    reasons: BTreeMap<&'static str, u32>,
    offers: [u32; 3], // made, declined, expired
    decisions: u32,
    max_waiting: usize,
}

/// Exponentially distributed with this mean, at least a second.
fn exp(rng: &mut Rng, mean: Millis) -> Millis {
    let u = rng.unit().max(1e-12);
    ((-u.ln()) * mean as f64).max(1_000.0) as Millis
}

/// Gini coefficient of non-negative values: 0 is perfectly even.
fn gini(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len() as f64;
    let sum: f64 = v.iter().sum();
    if sum == 0.0 {
        return 0.0;
    }
    let weighted: f64 = v
        .iter()
        .enumerate()
        .map(|(i, x)| (i as f64 + 1.0) * x)
        .sum();
    (2.0 * weighted) / (n * sum) - (n + 1.0) / n
}

impl Day {
    fn schedule(&mut self, at: Millis, e: Event) {
        self.seq += 1;
        self.events.push(Reverse((at, self.seq, e)));
    }

    fn staff_of(&mut self, id: AgentId) -> &mut Staff {
        &mut self.staff[id as usize - 1]
    }

    /// Checks each decision against the day's own books, then records it. The router's
    /// loads are compared once the whole batch is booked: one pass may give the same agent
    /// several conversations, and the router has counted them all by the time it returns.
    fn apply(&mut self, now: Millis, ds: Vec<Decision>) {
        let mut touched = BTreeSet::new();
        for d in ds {
            let c = d.conversation as usize;
            assert_eq!(self.convs[c].state, State::Waiting, "{d}");
            let policy = self.policy.clone();
            let required = self.convs[c].item.required.clone();
            let s = self.staff_of(d.agent);
            assert_eq!(s.agent.presence, Presence::Online, "{d}");
            assert!(
                s.load[d.kind] < policy.capacity_of(&s.agent, d.kind),
                "over capacity: {d}"
            );
            for b in ChannelKind::ALL {
                assert!(
                    s.load[b] == 0 || !policy.blocking.blocks(b, d.kind),
                    "blocked: {d}"
                );
            }
            for r in &required {
                let has = s
                    .agent
                    .skills
                    .iter()
                    .any(|k| k.name == r.name && k.level >= r.min_level);
                assert!(has, "{d} lacks {}", r.name);
            }
            s.load[d.kind] += 1;
            touched.insert(d.agent);
            *self.reasons.entry(d.reason.code()).or_default() += 1;
            self.decisions += 1;
            match d.action {
                Action::Assign => self.start(c, d.agent, now),
                Action::Offer { expires_at } => {
                    self.offers[0] += 1;
                    self.convs[c].state = State::Offered(d.agent);
                    match self.rng.weighted(&[85, 10, 5]) {
                        0 => {
                            let at =
                                now + 3 * SECOND + self.rng.below(17 * SECOND as u64) as Millis;
                            self.schedule(at, Event::OfferAnswer(c, true));
                        }
                        1 => {
                            self.offers[1] += 1;
                            let at = now + 2 * SECOND + self.rng.below(8 * SECOND as u64) as Millis;
                            self.schedule(at, Event::OfferAnswer(c, false));
                        }
                        _ => {
                            self.offers[2] += 1;
                            self.schedule(expires_at, Event::OfferAnswer(c, false));
                        }
                    }
                }
            }
        }
        for id in touched {
            let load = self.staff_of(id).load;
            let seen = self.router.agent(id).map(|a| a.load);
            assert_eq!(seen, Some(load), "agent {id}'s load");
        }
        self.max_waiting = self.max_waiting.max(self.router.waiting_len());
    }

    fn start(&mut self, c: usize, agent: AgentId, now: Millis) {
        let conv = &mut self.convs[c];
        conv.state = State::Assigned(agent);
        conv.answered_at = Some(now);
        let end = now + conv.handle;
        self.schedule(end, Event::Finish(c));
    }

    fn presence(&mut self, i: usize, p: Presence, now: Millis) {
        self.staff[i].agent.presence = p;
        let id = self.staff[i].agent.id;
        assert!(self.router.set_presence(id, p));
        let ds = self.router.decide_all(now);
        self.apply(now, ds);
    }

    fn handle(&mut self, now: Millis, e: Event) {
        match e {
            Event::ShiftStart(i) | Event::BreakEnd(i) => self.presence(i, Presence::Online, now),
            Event::BreakStart(i) => self.presence(i, Presence::Away, now),
            Event::ShiftEnd(i) => self.presence(i, Presence::Offline, now),
            Event::Arrive(c) => {
                self.convs[c].state = State::Waiting;
                if let Some(p) = self.convs[c].patience {
                    self.schedule(now + p, Event::Abandon(c));
                }
                let item = self.convs[c].item.clone();
                let ds = self.router.decide_for(item, now);
                self.apply(now, ds);
            }
            Event::OfferAnswer(c, true) => {
                if let State::Offered(a) = self.convs[c].state {
                    self.start(c, a, now);
                }
            }
            Event::OfferAnswer(c, false) => {
                let State::Offered(a) = self.convs[c].state else {
                    return;
                };
                let kind = self.convs[c].item.kind;
                self.staff_of(a).load[kind] -= 1;
                assert!(self.router.release(a, kind, now));
                self.convs[c].state = State::Waiting;
                self.convs[c].item.excluded.push(a);
                let item = self.convs[c].item.clone();
                let ds = self.router.decide_for(item, now);
                self.apply(now, ds);
            }
            Event::Finish(c) => {
                let State::Assigned(a) = self.convs[c].state else {
                    return;
                };
                self.convs[c].state = State::Done;
                let kind = self.convs[c].item.kind;
                let s = self.staff_of(a);
                s.load[kind] -= 1;
                s.handled += 1;
                assert!(self.router.release(a, kind, now));
                let ds = self.router.decide_all(now);
                self.apply(now, ds);
            }
            Event::Abandon(c) => match self.convs[c].state {
                State::Waiting => {
                    assert!(self.router.withdraw(c as ConversationId).is_some());
                    self.convs[c].state = State::Abandoned;
                }
                // Gone while the offer rang: the offer is withdrawn and frees its room.
                State::Offered(a) => {
                    self.convs[c].state = State::Abandoned;
                    let kind = self.convs[c].item.kind;
                    self.staff_of(a).load[kind] -= 1;
                    assert!(self.router.release(a, kind, now));
                    let ds = self.router.decide_all(now);
                    self.apply(now, ds);
                }
                _ => {}
            },
            Event::Wake => {
                let ds = self.router.decide_all(now);
                self.apply(now, ds);
            }
        }
        if let Some(w) = self.router.next_wake()
            && w > now
        {
            self.schedule(w, Event::Wake);
        }
    }
}

/// Shift groups: (start hour, end hour, agents). The night shift of the day before covers
/// 00–06, tonight's 22–06.
const SHIFTS: [(i64, i64, usize); 5] = [
    (0, 6, 12),
    (6, 14, 28),
    (9, 17, 25),
    (14, 22, 23),
    (22, 30, 12),
];

fn staff(rng: &mut Rng) -> Vec<Staff> {
    let mut out = Vec::new();
    for (start, end, n) in SHIFTS {
        for j in 0..n {
            let id = out.len() as AgentId + 1;
            let mut a = Agent::new(id, Presence::Offline);
            a.queues
                .push([GENERAL, GENERAL, BILLING, TECH, BILLING, TECH, GENERAL][j % 7]);
            if rng.chance(0.15) {
                a.queues
                    .push([GENERAL, BILLING, TECH][rng.below(3) as usize]);
            }
            a.skills.push(Skill::new("lang:en", 1 + rng.below(3) as u8));
            if j % 5 == 0 || rng.chance(0.15) {
                a.skills.push(Skill::new("lang:pt-BR", 2));
            }
            if j % 5 == 1 || rng.chance(0.1) {
                a.skills.push(Skill::new("lang:pl", 2));
            }
            let product = match a.queues[0] {
                BILLING => "product:billing",
                TECH => "product:tech",
                _ => ["product:billing", "product:tech"][rng.below(2) as usize],
            };
            a.skills.push(Skill::new(product, 1 + rng.below(3) as u8));
            if rng.chance(0.15) {
                a.skills.push(Skill::new("vip", 1));
            }
            if rng.chance(0.1) {
                a.capacity.chat = Some(3);
            }
            a.accepts_offers = rng.chance(0.2).then_some(true);
            out.push(Staff {
                agent: a,
                shift: (start * HOUR, end * HOUR),
                load: PerKind::default(),
                handled: 0,
            });
        }
    }
    out
}

const HOURLY: [u32; 24] = [
    1, 1, 1, 1, 1, 2, 4, 7, 9, 10, 10, 10, 9, 9, 10, 10, 9, 8, 6, 5, 4, 3, 2, 1,
];

fn conversations(rng: &mut Rng, staff: &[Staff], n: usize, policy: &Policy) -> Vec<Conv> {
    let mut times: Vec<Millis> = (0..n)
        .map(|_| rng.weighted(&HOURLY) as Millis * HOUR + rng.below(HOUR as u64) as Millis)
        .collect();
    times.sort_unstable();
    let mut out = Vec::with_capacity(n);
    for (c, at) in times.into_iter().enumerate() {
        let queue = [GENERAL, BILLING, TECH][rng.weighted(&[30, 35, 35])];
        let kind = ChannelKind::ALL[rng.weighted(&[10, 35, 30, 22, 3])];
        let mut it = WaitingItem::new(c as ConversationId, queue, kind, at);
        it.priority = [
            None,
            Some(Priority::Low),
            Some(Priority::Medium),
            Some(Priority::High),
            Some(Priority::Urgent),
        ][rng.weighted(&[50, 15, 20, 12, 3])];
        let lang = LANGS[rng.weighted(&[60, 25, 15])];
        it.required.push(SkillRequirement::language(lang));
        if rng.chance(0.08) {
            it.preferred.push(SkillRequirement::new("vip", 1));
        }
        if queue != GENERAL {
            it.overflow = Some(GENERAL);
            if rng.chance(0.5) {
                let product = if queue == BILLING {
                    "product:billing"
                } else {
                    "product:tech"
                };
                it.preferred.push(SkillRequirement::new(product, 2));
            }
        }
        if rng.chance(0.2) {
            // A returning customer: who helped them before (speaks their language, same queue).
            let helpers: Vec<_> = staff
                .iter()
                .filter(|s| s.agent.queues.contains(&queue))
                .filter(|s| s.agent.skills.iter().any(|k| k.name == it.required[0].name))
                .collect();
            if let Some(s) = helpers.get(rng.below(helpers.len() as u64) as usize) {
                let helped = at - rng.below(48 * HOUR as u64) as Millis;
                it.sticky = Some(StickyAgent {
                    agent: s.agent.id,
                    until: policy.sticky_until(helped),
                });
            }
        }
        let (handle, patience) = match kind {
            ChannelKind::Call => (exp(rng, 6 * MINUTE), Some(exp(rng, 4 * MINUTE))),
            ChannelKind::Chat => (exp(rng, 10 * MINUTE), Some(exp(rng, 6 * MINUTE))),
            ChannelKind::Messaging => (exp(rng, 20 * MINUTE), Some(exp(rng, 4 * HOUR))),
            ChannelKind::Email => (exp(rng, 30 * MINUTE), None),
            ChannelKind::Other => (exp(rng, 12 * MINUTE), None),
        };
        out.push(Conv {
            item: it,
            arrive: at,
            handle,
            patience,
            state: State::NotYet,
            answered_at: None,
        });
    }
    out
}

/// One line of the table: count, answered, share answered within its kind's target (of all
/// that arrived), abandoned, mean and longest wait to an answer.
fn row(label: &str, convs: &[&Conv]) -> String {
    let waits: Vec<(ChannelKind, Millis)> = convs
        .iter()
        .filter_map(|c| c.answered_at.map(|a| (c.item.kind, a - c.arrive)))
        .collect();
    let on_target = waits.iter().filter(|(k, w)| *w <= target(*k)).count();
    let abandoned = convs.iter().filter(|c| c.state == State::Abandoned).count();
    let total: Millis = waits.iter().map(|(_, w)| w).sum();
    let mean = total as f64 / waits.len().max(1) as f64 / 1000.0;
    let max = waits.iter().map(|(_, w)| *w).max().unwrap_or(0) as f64 / 1000.0;
    format!(
        "{:<10} {:>6} {:>9} {:>9.1}% {:>9} {:>9.1}s {:>9.0}s",
        label,
        convs.len(),
        waits.len(),
        100.0 * on_target as f64 / convs.len().max(1) as f64,
        abandoned,
        mean,
        max,
    )
}

/// Answered within this after arriving counts as on target.
fn target(kind: ChannelKind) -> Millis {
    match kind {
        ChannelKind::Call => 20 * SECOND,
        ChannelKind::Chat => 60 * SECOND,
        ChannelKind::Messaging | ChannelKind::Other => 5 * MINUTE,
        ChannelKind::Email => HOUR,
    }
}

#[test]
fn a_day_of_routing() {
    let mut rng = Rng::new(20_261_202);
    let policy = Policy {
        drop_optional_after_ms: 30 * SECOND,
        overflow_after_ms: Some(90 * SECOND),
        ..Policy::default()
    };
    let staff = staff(&mut rng);
    let convs = conversations(&mut rng, &staff, 10_000, &policy);
    let snapshot = Snapshot {
        agents: staff.iter().map(|s| s.agent.clone()).collect(),
        waiting: vec![],
    };
    let mut day = Day {
        rng,
        router: Router::new(&snapshot, policy.clone()),
        policy,
        staff,
        convs,
        events: BinaryHeap::new(),
        seq: 0,
        reasons: BTreeMap::new(),
        offers: [0; 3],
        decisions: 0,
        max_waiting: 0,
    };
    for i in 0..day.staff.len() {
        let (start, end) = day.staff[i].shift;
        let brk = start + 3 * HOUR + day.rng.below(2 * HOUR as u64) as Millis;
        day.schedule(start, Event::ShiftStart(i));
        day.schedule(brk, Event::BreakStart(i));
        day.schedule(brk + 30 * MINUTE, Event::BreakEnd(i));
        day.schedule(end, Event::ShiftEnd(i));
    }
    for c in 0..day.convs.len() {
        let at = day.convs[c].arrive;
        day.schedule(at, Event::Arrive(c));
    }
    let mut last = 0;
    while let Some(Reverse((at, _, e))) = day.events.pop() {
        assert!(at >= last);
        last = at;
        day.handle(at, e);
    }

    // Invariants: every conversation answered and finished, or abandoned; nobody holds work.
    for c in &day.convs {
        assert!(
            matches!(c.state, State::Done | State::Abandoned),
            "{:?} at the end",
            c.state
        );
    }
    assert_eq!(day.router.waiting_len(), 0);
    for s in &day.staff {
        assert_eq!(s.load, PerKind::default());
    }

    // Figures for the note.
    println!(
        "a day of routing: {} agents, {} conversations, {} decisions, up to {} waiting at once",
        day.staff.len(),
        day.convs.len(),
        day.decisions,
        day.max_waiting
    );
    println!(
        "{:<10} {:>6} {:>9} {:>10} {:>9} {:>10} {:>10}",
        "kind", "count", "answered", "on target", "abandoned", "mean wait", "max wait"
    );
    for k in ChannelKind::ALL {
        let of_kind: Vec<_> = day.convs.iter().filter(|c| c.item.kind == k).collect();
        println!(
            "{}  (target {} s)",
            row(k.as_str(), &of_kind),
            target(k) / 1000
        );
    }
    let all: Vec<_> = day.convs.iter().collect();
    println!("{}  (each its kind's target)", row("all", &all));
    let day_shift: Vec<f64> = day
        .staff
        .iter()
        .filter(|s| s.shift.1 - s.shift.0 == 8 * HOUR && s.shift.1 <= 22 * HOUR)
        .map(|s| f64::from(s.handled))
        .collect();
    let per_hour: Vec<f64> = day
        .staff
        .iter()
        .map(|s| f64::from(s.handled) / ((s.shift.1 - s.shift.0) as f64 / HOUR as f64))
        .collect();
    let (min, max) = day_shift
        .iter()
        .fold((f64::MAX, 0.0f64), |(lo, hi), x| (lo.min(*x), hi.max(*x)));
    println!(
        "handled per day-shift agent (8 h, {} agents): min {min}, mean {:.1}, max {max}, Gini {:.3}",
        day_shift.len(),
        day_shift.iter().sum::<f64>() / day_shift.len() as f64,
        gini(&day_shift)
    );
    // The spread above is mostly staffing and skills (a team's traffic over its agents, the
    // few who speak pt-BR or pl); within one team it is closer to what the router does.
    for (name, q) in [("general", GENERAL), ("billing", BILLING), ("tech", TECH)] {
        let team: Vec<f64> = day
            .staff
            .iter()
            .filter(|s| s.shift.1 - s.shift.0 == 8 * HOUR && s.shift.1 <= 22 * HOUR)
            .filter(|s| s.agent.queues.iter().all(|x| *x == q))
            .map(|s| f64::from(s.handled))
            .collect();
        let (min, max) = team
            .iter()
            .fold((f64::MAX, 0.0f64), |(lo, hi), x| (lo.min(*x), hi.max(*x)));
        println!(
            "  {name} only ({} agents): min {min}, mean {:.1}, max {max}, Gini {:.3}",
            team.len(),
            team.iter().sum::<f64>() / team.len().max(1) as f64,
            gini(&team)
        );
    }
    println!(
        "handled per online hour, all {} agents: Gini {:.3}",
        per_hour.len(),
        gini(&per_hour)
    );
    println!("reasons: {:?}", day.reasons);
    println!(
        "offers: {} made, {} declined, {} expired",
        day.offers[0], day.offers[1], day.offers[2]
    );
}

#[test]
fn gini_of_even_and_uneven() {
    assert!(gini(&[3.0, 3.0, 3.0]).abs() < 1e-9);
    assert!((gini(&[0.0, 0.0, 0.0, 4.0]) - 0.75).abs() < 1e-9);
}
