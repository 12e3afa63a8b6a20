//! `throughline bench`: builds a seeded data set, starts the server as its own process on it,
//! drives it over real sockets, and prints each figure of `PERFORMANCE.md` beside its budget
//! and the machine's own limits measured in the same run.

mod assignment;
mod child;
mod cost;
mod email;
mod load;
mod machine;
mod providers;
mod report;
mod routing;
mod seed;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use sqlx::Connection;

use crate::config::{Config, Settings};
use child::ServerUnderTest;
use load::{Samples, Target};
use report::{Report, Row, ScaleReport};

#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Data sizes, e.g. `1x,10x`: 1x is 1,000 conversations of 20 messages (the budget's
    /// list and search figures are for 100x).
    #[arg(long, value_delimiter = ',', default_value = "1x")]
    pub scale: Vec<String>,
    /// `sqlite`, or a PostgreSQL server URL on which a scratch database is created and dropped.
    #[arg(long, default_value = "sqlite")]
    pub database: String,
    /// Messages in the peak-ingest phase.
    #[arg(long, default_value_t = 5_000)]
    pub messages: usize,
    /// Concurrent customers sending.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Emails delivered to the built-in SMTP receiver (four per customer, as replies).
    #[arg(long, default_value_t = 2_000)]
    pub emails: usize,
    /// Concurrent SMTP sessions delivering them.
    #[arg(long, default_value_t = 16)]
    pub smtp_sessions: usize,
    /// Messages through each provider's webhook (Twilio, WhatsApp Cloud, Telegram,
    /// Messenger), signed as the provider signs them.
    #[arg(long, default_value_t = 2_000)]
    pub provider_messages: usize,
    /// Customers writing through each provider.
    #[arg(long, default_value_t = 200)]
    pub provider_senders: usize,
    /// Seconds of paced ingest at half the peak rate, for latency.
    #[arg(long, default_value_t = 5)]
    pub latency_seconds: u64,
    /// Idle widget WebSockets held open at once.
    #[arg(long, default_value_t = 10_000)]
    pub sockets: usize,
    /// Agents' sockets for the fan-out figure.
    #[arg(long, default_value_t = 500)]
    pub agents: usize,
    /// Agents online in the auto-assigned inbox of the routing-under-load figure.
    #[arg(long, default_value_t = 50)]
    pub routing_agents: usize,
    /// Conversations opened there (at 25 a second) while messages stream at half the peak.
    #[arg(long, default_value_t = 500)]
    pub routing_conversations: usize,
    /// Where data sets are built [default: a folder under the system's temporary directory].
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// Print JSON instead of the table.
    #[arg(long)]
    pub json: bool,
    /// The phases to run after the peak ingest (which always runs: the others are paced from
    /// its rate), e.g. `--phases latency,list`.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "all")]
    pub phases: Vec<Phase>,
    /// Run the server with `THROUGHLINE_PROFILE=1` and report, per ingested message, the CPU
    /// time and SQL statements of each stage of the message path (the profile itself costs
    /// CPU: compare rates without it).
    #[arg(long)]
    pub profile: bool,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    All,
    /// Half the peak rate, with lists and searches meanwhile.
    Latency,
    /// Lists and searches alone.
    List,
    Fanout,
    Email,
    Providers,
    Routing,
    Sockets,
}

impl BenchArgs {
    fn runs(&self, phase: Phase) -> bool {
        self.phases.contains(&Phase::All) || self.phases.contains(&phase)
    }
}

const ADMIN_EMAIL: &str = "bench@throughline.local";
/// New conversations a second in the routing-under-ingest phase.
const ROUTING_ARRIVALS_PER_SEC: f64 = 25.0;
const ADMIN_PASSWORD: &str = "bench-password-not-secret";

fn parse_scale(s: &str) -> anyhow::Result<usize> {
    let n = s.trim().trim_end_matches(['x', 'X']);
    let n: usize = n
        .parse()
        .with_context(|| format!("--scale {s}: expected a multiple such as 1x or 10x"))?;
    anyhow::ensure!(
        (1..=1_000).contains(&n),
        "--scale {s}: between 1x and 1000x"
    );
    Ok(n)
}

fn bar(len: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg:<34} [{bar:30}] {pos}/{len} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_message(what.to_owned());
    pb
}

/// Where one scale's data lives; PostgreSQL databases are dropped afterwards.
struct Database {
    url: String,
    dir: PathBuf,
    pg: Option<(String, String)>,
}

impl Database {
    async fn create(args: &BenchArgs, root: &std::path::Path, label: &str) -> anyhow::Result<Self> {
        let dir = root.join(label);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        if args.database == "sqlite" {
            return Ok(Database {
                url: format!("sqlite://{}/throughline.db", dir.display()),
                dir,
                pg: None,
            });
        }
        anyhow::ensure!(
            args.database.starts_with("postgres"),
            "--database: `sqlite` or a postgres:// URL"
        );
        let name = format!("throughline_bench_{label}");
        let mut admin = sqlx::postgres::PgConnection::connect(&args.database).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name}"
        )))
        .execute(&mut admin)
        .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await?;
        let base = args
            .database
            .rsplit_once('/')
            .map(|(b, _)| b.to_owned())
            .unwrap_or_else(|| args.database.clone());
        Ok(Database {
            url: format!("{base}/{name}"),
            dir,
            pg: Some((args.database.clone(), name)),
        })
    }

    async fn drop_it(self) {
        // THROUGHLINE_BENCH_KEEP=1 leaves the data set for a look at its queries afterwards.
        if std::env::var_os("THROUGHLINE_BENCH_KEEP").is_some() {
            eprintln!("kept: {}", self.url);
            return;
        }
        if let Some((admin, name)) = self.pg
            && let Ok(mut conn) = sqlx::postgres::PgConnection::connect(&admin).await
        {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut conn)
            .await;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let scales: Vec<(String, usize)> = args
        .scale
        .iter()
        .map(|s| parse_scale(s).map(|n| (format!("{n}x"), n)))
        .collect::<anyhow::Result<_>>()?;
    let root = args
        .work_dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("throughline-bench"));
    std::fs::create_dir_all(&root)?;

    let pb = bar(3, "machine limits");
    let raw_db = Database::create(&args, &root, "raw").await?;
    let machine = machine::MachineLimits {
        trivial_http_per_sec: machine::trivial_http(args.concurrency, Duration::from_secs(3))
            .await?,
        single_row_inserts_per_sec: {
            pb.inc(1);
            machine::single_row_inserts(&raw_db.url, &raw_db.dir, Duration::from_secs(3)).await?
        },
        ws_broadcast_per_sec: {
            pb.inc(1);
            machine::ws_broadcast(500, 200).await?
        },
    };
    raw_db.drop_it().await;
    pb.finish_and_clear();

    let mut report = Report {
        machine,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        scales: Vec::new(),
    };
    for (label, scale) in scales {
        let db = Database::create(&args, &root, &label).await?;
        let result = run_scale(&args, &report.machine, &db, &label, scale).await;
        db.drop_it().await;
        report.scales.push(result?);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{}", report::render(&report));
    }
    Ok(())
}

async fn run_scale(
    args: &BenchArgs,
    machine: &machine::MachineLimits,
    db: &Database,
    label: &str,
    scale: usize,
) -> anyhow::Result<ScaleReport> {
    let postgres = db.pg.is_some();
    // Seed through the store, as the server would have written it.
    let config = Config::resolve(Settings {
        data_dir: Some(db.dir.clone()),
        database_url: Some(db.url.clone()),
        admin_email: Some(ADMIN_EMAIL.into()),
        admin_password: Some(ADMIN_PASSWORD.into()),
        account_name: Some("Bench".into()),
        ..Default::default()
    })?;
    let store = crate::app::open_store(&config).await?;
    crate::app::bootstrap(&store, &config).await?;
    let account_id = {
        let mut conn = store.read().await?;
        let (user, _) =
            throughline_store::accounts::find_user_by_email_unscoped(&mut conn, ADMIN_EMAIL)
                .await?
                .context("the bench administrator")?;
        throughline_store::accounts::memberships_of_user(&mut conn, user.id)
            .await?
            .first()
            .map(|(a, _)| a.id)
            .context("the bench account")?
    };
    let total = (scale * seed::CONVERSATIONS_PER_X) as u64;
    let pb = bar(total, &format!("{label}: seeding"));
    let seeded = Instant::now();
    let data = seed::seed(
        &store,
        account_id,
        scale,
        args.concurrency.max(1),
        args.sockets,
        |n| pb.set_position(n),
    )
    .await?;
    let seed_seconds = seeded.elapsed().as_secs_f64();
    store.close().await;
    pb.finish_and_clear();

    let pb = bar(1, &format!("{label}: starting the server"));
    let provider_apis = providers::ProviderApis::start().await?;
    let mut env = provider_apis.env();
    if args.profile {
        env.push(("THROUGHLINE_PROFILE".into(), "1".into()));
    }
    let server = ServerUnderTest::start(&db.dir, &db.url, &env).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (rest_rss, _) = server.memory().unwrap_or_default();
    pb.finish_and_clear();

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency * 2)
        .timeout(Duration::from_secs(30))
        .build()?;
    let signed: Value = client
        .post(format!("{}/auth/sign_in", server.base))
        .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await?
        .json()
        .await?;
    let target = Arc::new(Target {
        base: server.base.clone(),
        token: signed["data"]["access_token"]
            .as_str()
            .context("sign-in token")?
            .to_owned(),
        account: account_id,
        inbox_identifier: data.inbox_identifier.clone(),
        client,
    });

    // Peak ingest, its cost per message sampled around it.
    let pb = bar(args.messages as u64, &format!("{label}: peak ingest"));
    let sample = || cost::sample(&target.client, &target.base, server.pid());
    let before = sample().await;
    let peak = load::ingest(
        &target,
        &data.writers,
        args.messages,
        args.concurrency,
        None,
        0,
        &pb,
    )
    .await?;
    // Let the consumers (relay, webhooks, automation) finish the last batch before sampling.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let ingest_cost = cost::between(&before, &sample().await, peak.acknowledged);
    pb.finish_and_clear();

    // Half the peak rate, with agents listing and searching meanwhile.
    let half = (peak.rate / 2.0).max(1.0);
    let (paced, busy_list, busy_search) = if args.runs(Phase::Latency) {
        let paced_count = (half * args.latency_seconds as f64) as usize;
        let pb = bar(
            paced_count as u64,
            &format!("{label}: latency at half peak"),
        );
        let stop = Arc::new(AtomicBool::new(false));
        let prober = {
            let (target, stop) = (target.clone(), stop.clone());
            tokio::spawn(
                async move { load::list_and_search(&target, usize::MAX, Some(&stop)).await },
            )
        };
        let paced = load::ingest(
            &target,
            &data.writers,
            paced_count,
            args.concurrency,
            Some(half),
            args.messages,
            &pb,
        )
        .await?;
        stop.store(true, Ordering::Relaxed);
        let (busy_list, busy_search, _) = prober.await?;
        pb.finish_and_clear();
        (Some(paced), busy_list, busy_search)
    } else {
        (None, Samples::default(), Samples::default())
    };

    // Lists and search alone.
    let (list, search, list_failures) = if args.runs(Phase::List) {
        let pb = bar(1, &format!("{label}: list and search"));
        let got = load::list_and_search(&target, 300, None).await;
        pb.finish_and_clear();
        got
    } else {
        (Samples::default(), Samples::default(), 0)
    };

    // Fan-out to many agents.
    let (fan, agents_connected) = if args.runs(Phase::Fanout) {
        let pb = bar(30, &format!("{label}: fan-out to {} agents", args.agents));
        let got = load::fan_out(&target, &data.writers[0], args.agents, 30, &pb).await?;
        pb.finish_and_clear();
        got
    } else {
        (Samples::default(), 0)
    };

    // Email through the SMTP receiver.
    let mail = if args.runs(Phase::Email) {
        let pb = bar(args.emails as u64, &format!("{label}: email ingest"));
        email::create_inbox(&target).await?;
        let before = sample().await;
        let mail = email::ingest(server.smtp_port, args.emails, args.smtp_sessions, &pb).await?;
        let spent = cost::between(&before, &sample().await, mail.accepted);
        pb.finish_and_clear();
        Some((mail, spent))
    } else {
        None
    };

    // Signed provider webhooks, one provider at a time.
    let mut provider_rows = Vec::new();
    let mut first_tag = 10_000_000;
    if args.runs(Phase::Providers) {
        let inboxes = providers::create_inboxes(&target, &provider_apis).await?;
        for channel in providers::Channel::ALL {
            let pb = bar(
                args.provider_messages as u64,
                &format!("{label}: {} webhooks", channel.label()),
            );
            let got = providers::ingest(
                &target,
                &inboxes,
                channel,
                args.provider_messages,
                args.provider_senders,
                args.concurrency,
                first_tag,
                &pb,
            )
            .await?;
            first_tag += args.provider_messages + args.provider_senders;
            pb.finish_and_clear();
            provider_rows.push((channel, got));
        }
    }

    // New conversations auto-assigned while messages stream in.
    let assigned = if args.runs(Phase::Routing) {
        let pb = bar(1, &format!("{label}: routing under ingest"));
        let got = assignment::measure(
            &target,
            &data.writers,
            args.routing_agents,
            args.routing_conversations,
            ROUTING_ARRIVALS_PER_SEC,
            half,
            args.concurrency,
            first_tag,
        )
        .await?;
        pb.finish_and_clear();
        Some(got)
    } else {
        None
    };

    // Idle widget sockets.
    let idle = if args.runs(Phase::Sockets) {
        let pb = bar(data.idle.len() as u64, &format!("{label}: idle sockets"));
        let before = server.memory().map(|m| m.0).unwrap_or_default();
        let (sockets, socket_failures) = load::idle_sockets(&target, &data.idle, &pb).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let with_sockets = server.memory().map(|m| m.0).unwrap_or_default();
        let open_sockets = sockets.len();
        load::close_all(sockets).await;
        pb.finish_and_clear();
        Some((before, with_sockets, open_sockets, socket_failures))
    } else {
        None
    };

    let (_, peak_rss) = server.memory().unwrap_or_default();
    let started_ms = server.started_in.as_secs_f64() * 1000.0;
    server.stop().await;

    // After the server has stopped: the routing decision is CPU work in one process.
    let routed = if args.runs(Phase::Routing) {
        Some(routing::measure().await?)
    } else {
        None
    };
    let ingest_budget = if postgres { 3_000.0 } else { 5_000.0 };
    let mut rows = vec![
        Row::new("start to /readyz", Some(started_ms), "ms").at_most(300.0),
        Row::new("memory at rest (RSS)", Some(rest_rss), "MiB").at_most(40.0),
        Row::new(
            "inbound messages ingested end to end",
            Some(peak.rate),
            "msg/s",
        )
        .at_least(ingest_budget)
        .versus("of trivial HTTP", machine.trivial_http_per_sec)
        .versus(
            "of durable single-row inserts",
            machine.single_row_inserts_per_sec,
        )
        .note(format!(
            "{} senders; {} acknowledged, {} failed, {} never reached the agent{}",
            args.concurrency,
            peak.acknowledged,
            peak.failed,
            peak.unseen,
            peak.first_error
                .as_deref()
                .map(|e| format!(" (first failure: {e})"))
                .unwrap_or_default()
        )),
        Row::new(
            "server CPU per ingested message",
            Some(ingest_cost.process_cpu_us),
            "µs",
        )
        .note("the whole process, from /proc, over the peak ingest"),
        Row::new("latency p99 at peak", peak.latency.percentile(99.0), "ms"),
    ];
    if let Some(paced) = &paced {
        rows.extend([
            Row::new(
                "latency p50 at half peak",
                paced.latency.percentile(50.0),
                "ms",
            ),
            Row::new(
                "latency p99 at half peak",
                paced.latency.percentile(99.0),
                "ms",
            )
            .at_most(20.0)
            .note(format!("{:.0} msg/s paced", half)),
        ]);
    }
    rows.extend([
        Row::new(
            "conversation list p99 (25 rows)",
            list.percentile(99.0),
            "ms",
        )
        .at_most(15.0)
        .note(format!(
            "{} requests, {} failed",
            list.0.len(),
            list_failures
        )),
        Row::new(
            "conversation list p99 while ingesting",
            busy_list.percentile(99.0),
            "ms",
        )
        .at_most(15.0),
        Row::new("message search p99", search.percentile(99.0), "ms")
            .at_most(50.0)
            .note("full-text index, word prefixes"),
        Row::new(
            "message search p99 while ingesting",
            busy_search.percentile(99.0),
            "ms",
        )
        .at_most(50.0),
        Row::new(
            format!("fan-out of one event to {agents_connected} agents p99"),
            fan.percentile(99.0),
            "ms",
        )
        .at_most(50.0),
    ]);
    if let Some((before, with_sockets, open_sockets, socket_failures)) = idle {
        rows.push(
            Row::new("RSS with idle widget sockets", Some(with_sockets), "MiB")
                .at_most(300.0)
                .note(format!(
                    "{open_sockets} open, {socket_failures} refused; {:.1} KiB each",
                    (with_sockets - before).max(0.0) * 1024.0 / open_sockets.max(1) as f64
                )),
        );
    }
    rows.push(Row::new("peak RSS", Some(peak_rss), "MiB"));
    if let Some((mail, spent)) = &mail {
        rows.push(
            Row::new(
                "email: MIME messages parsed, threaded and stored",
                Some(mail.rate),
                "msg/s",
            )
            .at_least(1_000.0)
            .versus("of trivial HTTP", machine.trivial_http_per_sec)
            .versus(
                "of durable single-row inserts",
                machine.single_row_inserts_per_sec,
            )
            .note(format!(
                "{} SMTP sessions; {} accepted, {} refused; server CPU {:.0} µs each{}",
                args.smtp_sessions,
                mail.accepted,
                mail.failed,
                spent.process_cpu_us,
                mail.first_error
                    .as_deref()
                    .map(|e| format!(" (first: {e})"))
                    .unwrap_or_default()
            )),
        );
    }
    for (channel, got) in provider_rows {
        rows.push(
            Row::new(
                format!("signed webhook ingested end to end: {}", channel.label()),
                Some(got.rate),
                "msg/s",
            )
            .at_least(ingest_budget)
            .versus("of trivial HTTP", machine.trivial_http_per_sec)
            .versus(
                "of durable single-row inserts",
                machine.single_row_inserts_per_sec,
            )
            .note(format!(
                "{} senders; {} acknowledged, {} failed, {} never reached the agent; p99 {}{}",
                args.provider_senders,
                got.acknowledged,
                got.failed,
                got.unseen,
                got.latency
                    .percentile(99.0)
                    .map_or("-".to_owned(), |ms| format!("{ms:.1} ms")),
                got.first_error
                    .as_deref()
                    .map(|e| format!(" (first failure: {e})"))
                    .unwrap_or_default()
            )),
        );
    }
    if let (Some(routed), Some(assigned)) = (&routed, &assigned) {
        rows.extend([
            Row::new(
                "routing decision p99 (1,000 agents, 10,000 waiting; an arrival)",
                routed.arrival.percentile(99.0),
                "ms",
            )
            .at_most(1.0)
            .note("the core's incremental router, in memory"),
            Row::new(
                "routing after freed capacity p99 (release + pass)",
                routed.release.percentile(99.0),
                "ms",
            )
            .at_most(1.0),
            Row::new(
                "routing whole pass over the same snapshot",
                Some(routed.whole_pass_ms),
                "ms",
            )
            .note("what the server's auto-assignment runs today, after reading the snapshot"),
            Row::new(
                "new conversation to assignment p50 under ingest",
                assigned.latency.percentile(50.0),
                "ms",
            ),
            Row::new(
                "new conversation to assignment p99 under ingest",
                assigned.latency.percentile(99.0),
                "ms",
            )
            .note(format!(
                "{} opened at {ROUTING_ARRIVALS_PER_SEC:.0}/s, {} agents online, {} never assigned; \
                 meanwhile {:.0} msg/s streamed ({} acknowledged, {} failed)",
                assigned.opened,
                assigned.agents,
                assigned.unassigned,
                assigned.background.rate,
                assigned.background.acknowledged,
                assigned.background.failed,
            )),
        ]);
    }
    rows.push(
        Row::new("30-day report summary", None, "ms")
            .at_most(500.0)
            .note("reports not built yet"),
    );
    rows.retain(|r| r.value.is_some() || r.note.is_some());
    Ok(ScaleReport {
        scale: label.to_owned(),
        database: if postgres { "PostgreSQL" } else { "SQLite" },
        conversations: data.conversations,
        messages: data.messages,
        seed_seconds,
        rows,
        ingest_cost,
        email_cost: mail.map(|(_, spent)| spent),
    })
}
