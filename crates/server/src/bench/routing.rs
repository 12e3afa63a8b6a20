//! The routing rows: the core's decision timed in this process over the seeded workload of
//! 1,000 agents and 10,000 waiting conversations (`throughline_core::routing::bench`).

use std::time::Instant;

use throughline_core::Millis;
use throughline_core::routing::{self, bench::bench_fixture};

use super::load::Samples;

/// Arrivals and releases replayed after the first pass.
const EVENTS: usize = 2_000;
const SEED: u64 = 15;

pub struct RoutingFigures {
    /// One arrival decided against the settled router, in milliseconds.
    pub arrival: Samples,
    /// A freed capacity (release, then the pass it calls for), in milliseconds.
    pub release: Samples,
    /// One whole decision over the snapshot as the server reads it (every waiting
    /// conversation, every agent), in milliseconds.
    pub whole_pass_ms: f64,
}

/// Runs the workload on a blocking thread (it is CPU work).
pub async fn measure() -> anyhow::Result<RoutingFigures> {
    Ok(tokio::task::spawn_blocking(run).await?)
}

fn run() -> RoutingFigures {
    let fixture = bench_fixture(1_000, 10_000, EVENTS, SEED);
    let started = Instant::now();
    let _ = routing::decide(&fixture.snapshot, &fixture.policy, fixture.now);
    let whole_pass_ms = ms(started);
    let mut router = fixture.settled_router();
    let mut arrival = Vec::with_capacity(EVENTS);
    let mut release = Vec::with_capacity(EVENTS);
    for (i, (item, (agent, kind))) in fixture.arrivals.iter().zip(&fixture.releases).enumerate() {
        let now = fixture.now + i as Millis;
        let started = Instant::now();
        let _ = router.decide_for(item.clone(), now);
        arrival.push(ms(started));
        let started = Instant::now();
        router.release(*agent, *kind, now);
        let _ = router.decide_all(now);
        release.push(ms(started));
    }
    RoutingFigures {
        arrival: Samples(arrival),
        release: Samples(release),
        whole_pass_ms,
    }
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1_000.0
}
