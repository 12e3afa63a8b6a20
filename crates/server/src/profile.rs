//! `THROUGHLINE_PROFILE=1`: where the server's CPU time and database round trips go, by stage.
//!
//! Code marks a stage of the message path with a TRACE span whose target is
//! [`STAGE_TARGET`] and whose name is the stage (`http`, `lookup`, `write`, `resolve`, `render`,
//! `relay`, `realtime`, `webhooks`, `automation`, `routing`, …). This layer, installed only when
//! profiling, charges each thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`) to the innermost stage
//! running on it, and each SQL statement sqlx reports (target `sqlx::query`; sqlx's SQLite
//! worker thread enters the caller's span, so a statement counts for the stage that asked for
//! it) to the innermost stage around it. Both are counters on `/metrics`
//! (`throughline_stage_cpu_microseconds_total`, `throughline_stage_statements_total`), which
//! `throughline bench --profile` reads before and after its ingest and divides by the messages.
//!
//! Off, the stage spans cost one disabled-callsite check each: no layer asks for them.

use std::cell::RefCell;
use std::time::Duration;

use tracing::span;
use tracing::{Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// The target every stage span uses: `tracing::trace_span!(target: "throughline::stage", "write")`.
pub const STAGE_TARGET: &str = "throughline::stage";
/// Statements that ran outside any marked stage.
const UNMARKED: &str = "unmarked";

/// Whether the environment asks for the profile (`THROUGHLINE_PROFILE=1`).
pub fn requested() -> bool {
    std::env::var("THROUGHLINE_PROFILE").is_ok_and(|v| v == "1" || v == "true")
}

/// The layer, with the filter that lets through only stage spans and sqlx's statements.
pub fn layer<S>() -> impl Layer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    StageLayer.with_filter(
        Targets::new()
            .with_target(STAGE_TARGET, Level::TRACE)
            .with_target("sqlx::query", Level::DEBUG),
    )
}

/// The stage name kept in a stage span's extensions.
struct Stage(&'static str);

/// A stage running on this thread and the thread's CPU clock when it last became innermost.
struct Running {
    id: span::Id,
    stage: &'static str,
    since: Duration,
}

thread_local! {
    static RUNNING: RefCell<Vec<Running>> = const { RefCell::new(Vec::new()) };
}

fn thread_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}

fn charge(stage: &'static str, cpu: Duration) {
    let micros = u64::try_from(cpu.as_micros()).unwrap_or(u64::MAX);
    if micros > 0 {
        metrics::counter!("throughline_stage_cpu_microseconds_total", "stage" => stage)
            .increment(micros);
    }
}

struct StageLayer;

impl StageLayer {
    fn stage_of<S>(id: &span::Id, ctx: &Context<'_, S>) -> Option<&'static str>
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let span = ctx.span(id)?;
        span.extensions().get::<Stage>().map(|s| s.0)
    }
}

impl<S> Layer<S> for StageLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        let meta = attrs.metadata();
        if meta.target() == STAGE_TARGET
            && let Some(span) = ctx.span(id)
        {
            span.extensions_mut().insert(Stage(meta.name()));
        }
    }

    fn on_enter(&self, id: &span::Id, ctx: Context<'_, S>) {
        let Some(stage) = Self::stage_of(id, &ctx) else {
            return;
        };
        let now = thread_cpu();
        RUNNING.with_borrow_mut(|running| {
            if let Some(outer) = running.last_mut() {
                charge(outer.stage, now.saturating_sub(outer.since));
                outer.since = now;
            }
            running.push(Running {
                id: id.clone(),
                stage,
                since: now,
            });
        });
    }

    fn on_exit(&self, id: &span::Id, _ctx: Context<'_, S>) {
        RUNNING.with_borrow_mut(|running| {
            let Some(at) = running.iter().rposition(|r| &r.id == id) else {
                return;
            };
            let now = thread_cpu();
            let innermost = at + 1 == running.len();
            let left = running.remove(at);
            if innermost {
                charge(left.stage, now.saturating_sub(left.since));
                if let Some(outer) = running.last_mut() {
                    outer.since = now;
                }
            }
        });
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        if event.metadata().target() != "sqlx::query" {
            return;
        }
        let stage = ctx
            .event_scope(event)
            .and_then(|scope| {
                scope
                    .into_iter()
                    .find_map(|s| s.extensions().get::<Stage>().map(|s| s.0))
            })
            .unwrap_or(UNMARKED);
        metrics::counter!("throughline_stage_statements_total", "stage" => stage).increment(1);
    }
}
