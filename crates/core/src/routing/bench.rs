//! A seeded, reproducible routing workload for `throughline bench` and the tests: 1,000
//! agents and 10,000 waiting conversations by default, then a stream of arrivals and
//! releases. Nothing here reads a clock; the caller times the calls.

use super::kind::{ChannelKind, PerKind};
use super::policy::Policy;
use super::router::Router;
use super::snapshot::{
    Agent, AgentId, Presence, QueueId, Skill, SkillRequirement, Snapshot, StickyAgent, WaitingItem,
};
use crate::Millis;
use crate::conversation::Priority;

/// SplitMix64: small, fast and the same on every platform (not for secrets).
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Picks by weight: the index of the chosen weight.
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        let mut x = self.below(u64::from(total)) as u32;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        0
    }
}

/// The workload: a snapshot to index, then events to replay against the [`Router`].
#[derive(Clone, Debug)]
pub struct BenchFixture {
    pub snapshot: Snapshot,
    pub policy: Policy,
    /// The moment of the snapshot; arrival `i` happens at `now + i` ms.
    pub now: Millis,
    /// Conversations that start waiting one by one: [`Router::decide_for`] each.
    pub arrivals: Vec<WaitingItem>,
    /// Conversations that end, one per arrival: [`Router::release`] then
    /// [`Router::decide_all`].
    pub releases: Vec<(AgentId, ChannelKind)>,
}

impl BenchFixture {
    /// The router over the snapshot, after its first pass (settled).
    pub fn settled_router(&self) -> Router {
        let mut r = Router::new(&self.snapshot, self.policy.clone());
        r.decide_all(self.now);
        r
    }
}

const LANGS: [&str; 3] = ["en", "pt-BR", "pl"];
const PRODUCTS: [&str; 3] = ["product:billing", "product:tech", "product:sales"];

/// `agents` agents in `agents / 50` teams (and 5 inboxes), mostly online and mostly full;
/// `waiting` conversations across kinds, priorities, languages and products; `events`
/// arrivals and as many releases.
pub fn bench_fixture(agents: usize, waiting: usize, events: usize, seed: u64) -> BenchFixture {
    let mut rng = Rng::new(seed);
    let teams = (agents / 50).max(1) as u64;
    let policy = Policy::default();
    let now: Millis = 10 * 3_600_000;
    let mut snapshot = Snapshot::default();
    for i in 0..agents {
        let id = i as AgentId + 1;
        let presence = match rng.weighted(&[85, 5, 5, 5]) {
            0 => Presence::Online,
            1 => Presence::Busy,
            2 => Presence::Away,
            _ => Presence::Offline,
        };
        let mut a = Agent::new(id, presence);
        a.queues.push(QueueId::Team(i as i64 % teams as i64 + 1));
        if rng.chance(0.3) {
            a.queues.push(QueueId::Team(rng.below(teams) as i64 + 1));
        }
        if rng.chance(0.2) {
            a.queues.push(QueueId::Inbox(rng.below(5) as i64 + 1));
        }
        for (lang, p) in LANGS.iter().zip([0.9, 0.3, 0.15]) {
            if rng.chance(p) {
                a.skills
                    .push(Skill::new(format!("lang:{lang}"), 1 + rng.below(3) as u8));
            }
        }
        for product in PRODUCTS {
            if rng.chance(0.4) {
                a.skills.push(Skill::new(product, 1 + rng.below(3) as u8));
            }
        }
        if rng.chance(0.1) {
            a.skills.push(Skill::new("vip", 1));
        }
        // Mostly full: a call for some, every other kind at capacity or one below.
        let mut load = PerKind::default();
        for k in ChannelKind::ALL {
            let cap = policy.capacity[k];
            load[k] = match k {
                ChannelKind::Call => u16::from(rng.chance(0.3)),
                _ if rng.chance(0.97) => cap,
                _ => cap.saturating_sub(1),
            };
        }
        a.load = load;
        a.idle_since = now - rng.below(3_600_000) as Millis;
        a.accepts_offers = rng.chance(0.1).then_some(true);
        snapshot.agents.push(a);
    }
    let mut next_conversation = 1;
    let mut item = |rng: &mut Rng, since: Millis| {
        let queue = if rng.chance(0.9) {
            QueueId::Team(rng.below(teams) as i64 + 1)
        } else {
            QueueId::Inbox(rng.below(5) as i64 + 1)
        };
        let kind = ChannelKind::ALL[rng.weighted(&[8, 35, 30, 22, 5])];
        let mut it = WaitingItem::new(next_conversation, queue, kind, since);
        next_conversation += 1;
        it.priority = match rng.weighted(&[40, 20, 25, 12, 3]) {
            0 => None,
            1 => Some(Priority::Low),
            2 => Some(Priority::Medium),
            3 => Some(Priority::High),
            _ => Some(Priority::Urgent),
        };
        it.required.push(SkillRequirement::language(
            LANGS[rng.weighted(&[60, 25, 15])],
        ));
        if rng.chance(0.5) {
            it.preferred.push(SkillRequirement::new(
                PRODUCTS[rng.below(3) as usize],
                1 + rng.below(2) as u8,
            ));
        }
        if rng.chance(0.05) {
            it.required.push(SkillRequirement::new("vip", 1));
        }
        if rng.chance(0.2) {
            it.sticky = Some(StickyAgent {
                agent: rng.below(agents as u64) as AgentId + 1,
                until: since + 3_600_000,
            });
        }
        if rng.chance(0.05) {
            it.excluded.push(rng.below(agents as u64) as AgentId + 1);
        }
        if rng.chance(0.5) {
            it.overflow = Some(QueueId::Team(1));
        }
        it
    };
    for _ in 0..waiting {
        let since = now - rng.below(3_600_000) as Millis;
        snapshot.waiting.push(item(&mut rng, since));
    }
    let arrivals = (0..events)
        .map(|i| item(&mut rng, now + i as Millis))
        .collect();
    let loaded: Vec<(AgentId, ChannelKind)> = snapshot
        .agents
        .iter()
        .filter(|a| a.presence == Presence::Online)
        .flat_map(|a| {
            ChannelKind::ALL
                .into_iter()
                .filter(|k| a.load[*k] > 0)
                .map(|k| (a.id, k))
        })
        .collect();
    let releases = (0..events)
        .filter_map(|_| loaded.get(rng.below(loaded.len() as u64) as usize).copied())
        .collect();
    BenchFixture {
        snapshot,
        policy,
        now,
        arrivals,
        releases,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::decide;

    /// Not a timed test: it asserts only invariants. With `--nocapture` it prints how long the
    /// decisions took on this machine, for the note (`--release` for the real figures).
    #[test]
    fn bench_fixture_measurements() {
        use std::time::Instant;
        let fixture = bench_fixture(1_000, 10_000, 2_000, 15);
        let started = Instant::now();
        let mut router = Router::new(&fixture.snapshot, fixture.policy.clone());
        let built = started.elapsed();
        let started = Instant::now();
        let first = router.decide_all(fixture.now);
        let first_pass = started.elapsed();
        let waiting = router.waiting_len();
        let started = Instant::now();
        let pure = decide(&fixture.snapshot, &fixture.policy, fixture.now);
        let pure_time = started.elapsed();
        assert_eq!(pure, first);

        let mut arrive = Vec::new();
        let mut release = Vec::new();
        let mut placed = 0;
        for (i, (item, (agent, kind))) in fixture.arrivals.iter().zip(&fixture.releases).enumerate()
        {
            let now = fixture.now + i as Millis;
            let started = Instant::now();
            placed += router.decide_for(item.clone(), now).len();
            arrive.push(started.elapsed());
            let started = Instant::now();
            router.release(*agent, *kind, now);
            placed += router.decide_all(now).len();
            release.push(started.elapsed());
            assert!(!router.needs_pass(now));
        }
        for a in &fixture.snapshot.agents {
            let now = router.agent(a.id).unwrap();
            for k in ChannelKind::ALL {
                assert!(now.load[k] <= fixture.policy.capacity_of(a, k).max(a.load[k]));
            }
        }
        let pct = |v: &mut Vec<std::time::Duration>, q: f64| {
            v.sort_unstable();
            v[((v.len() - 1) as f64 * q) as usize]
        };
        println!(
            "routing bench: 1,000 agents, {} waiting after the first pass ({} placed by it)",
            waiting,
            first.len()
        );
        println!(
            "  index the snapshot: {built:?}; first full pass: {first_pass:?}; decide(snapshot) all in: {pure_time:?}"
        );
        println!(
            "  arrival (decide_for), {} events: p50 {:?}, p99 {:?}, max {:?}",
            arrive.len(),
            pct(&mut arrive, 0.5),
            pct(&mut arrive, 0.99),
            pct(&mut arrive, 1.0)
        );
        println!(
            "  capacity freed (release + decide_all): p50 {:?}, p99 {:?}, max {:?}; {} placed, {} waiting at the end",
            pct(&mut release, 0.5),
            pct(&mut release, 0.99),
            pct(&mut release, 1.0),
            placed,
            router.waiting_len()
        );
    }
}
