//! What one ingested message costs the server: its process CPU time (from `/proc`, always) and,
//! with `--profile`, the CPU time and SQL statements of each stage of the message path (the
//! server's `THROUGHLINE_PROFILE=1` counters on `/metrics`, see `crate::profile`), sampled
//! before and after the peak ingest and divided by the messages acknowledged.

use std::collections::BTreeMap;

use serde::Serialize;

/// Linux reports `/proc/<pid>/stat` times in USER_HZ ticks, 100 a second on every Linux ABI.
const TICKS_PER_SECOND: f64 = 100.0;

/// The server's counters at one moment.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    /// User + system CPU seconds of the whole process.
    process_cpu_seconds: f64,
    /// Per stage: CPU microseconds and statements, as counted so far (`None`: `/metrics`
    /// could not be read, and the stages are left out rather than the run lost).
    stages: Option<BTreeMap<String, (f64, f64)>>,
}

/// One stage's cost per message.
#[derive(Debug, Clone, Serialize)]
pub struct StageCost {
    pub stage: String,
    pub cpu_us: f64,
    pub statements: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Cost {
    pub messages: usize,
    /// The whole server process's CPU time per message.
    pub process_cpu_us: f64,
    /// Empty without `--profile`.
    pub stages: Vec<StageCost>,
}

/// The process's CPU seconds so far (fields 14 and 15 of `/proc/<pid>/stat`).
fn process_cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / TICKS_PER_SECOND)
}

/// Reads `name{stage="x"} value` lines of the Prometheus text.
fn stage_counters(text: &str, name: &str) -> BTreeMap<String, f64> {
    let prefix = format!("{name}{{stage=\"");
    text.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix(&prefix)?;
            let (stage, value) = rest.split_once("\"}")?;
            Some((stage.to_owned(), value.trim().parse().ok()?))
        })
        .collect()
}

pub async fn sample(client: &reqwest::Client, base: &str, pid: u32) -> Sample {
    let stages = match scrape(client, base).await {
        Ok(text) => Some(stages_of(&text)),
        Err(e) => {
            eprintln!("warning: the server's /metrics could not be read ({e}); no stage costs");
            None
        }
    };
    Sample {
        process_cpu_seconds: process_cpu_seconds(pid).unwrap_or(0.0),
        stages,
    }
}

async fn scrape(client: &reqwest::Client, base: &str) -> anyhow::Result<String> {
    Ok(client
        .get(format!("{base}/metrics"))
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?)
}

fn stages_of(text: &str) -> BTreeMap<String, (f64, f64)> {
    let cpu = stage_counters(text, "throughline_stage_cpu_microseconds_total");
    let statements = stage_counters(text, "throughline_stage_statements_total");
    let mut stages = BTreeMap::new();
    for stage in cpu.keys().chain(statements.keys()) {
        stages.insert(
            stage.clone(),
            (
                cpu.get(stage).copied().unwrap_or(0.0),
                statements.get(stage).copied().unwrap_or(0.0),
            ),
        );
    }
    stages
}

pub fn between(before: &Sample, after: &Sample, messages: usize) -> Cost {
    let per = messages.max(1) as f64;
    let (Some(earlier), Some(later)) = (&before.stages, &after.stages) else {
        return Cost {
            messages,
            process_cpu_us: (after.process_cpu_seconds - before.process_cpu_seconds) * 1e6 / per,
            stages: Vec::new(),
        };
    };
    let mut stages: Vec<StageCost> = later
        .iter()
        .map(|(stage, (cpu, statements))| {
            let (cpu0, statements0) = earlier.get(stage).copied().unwrap_or_default();
            StageCost {
                stage: stage.clone(),
                cpu_us: (cpu - cpu0) / per,
                statements: (statements - statements0) / per,
            }
        })
        .filter(|s| s.cpu_us > 0.0 || s.statements > 0.0)
        .collect();
    stages.sort_by(|a, b| b.cpu_us.total_cmp(&a.cpu_us));
    Cost {
        messages,
        process_cpu_us: (after.process_cpu_seconds - before.process_cpu_seconds) * 1e6 / per,
        stages,
    }
}

/// The per-message table, for the report.
/// The table of `cost` under "Cost of one {what}: server process CPU …".
pub fn render(cost: &Cost, what: &str) -> String {
    let mut out = format!(
        "\nCost of one {what}: server process CPU {:.0} µs\n",
        cost.process_cpu_us
    );
    if cost.stages.is_empty() {
        out.push_str("(run with --profile for the stages)\n");
        return out;
    }
    out.push_str(
        "\n| stage | CPU µs / message | SQL statements / message |\n| --- | ---: | ---: |\n",
    );
    for s in &cost.stages {
        out.push_str(&format!(
            "| {} | {:.1} | {:.2} |\n",
            s.stage, s.cpu_us, s.statements
        ));
    }
    let marked: f64 = cost.stages.iter().map(|s| s.cpu_us).sum();
    let statements: f64 = cost.stages.iter().map(|s| s.statements).sum();
    out.push_str(&format!(
        "| all stages | {marked:.1} | {statements:.2} |\n\
         | outside any stage (hyper, the runtime, sqlx's pools, the profile itself) | {:.1} | |\n",
        (cost.process_cpu_us - marked).max(0.0)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_read_by_stage_and_divided_per_message() {
        let text = "# TYPE throughline_stage_cpu_microseconds_total counter\n\
            throughline_stage_cpu_microseconds_total{stage=\"write\"} 1000\n\
            throughline_stage_statements_total{stage=\"write\"} 40\n\
            throughline_stage_statements_total{stage=\"lookup\"} 8\n\
            throughline_http_requests_total{method=\"GET\"} 3\n";
        let after = Sample {
            process_cpu_seconds: 1.5,
            stages: Some(stages_of(text)),
        };
        assert_eq!(
            after.stages.as_ref().map(BTreeMap::len),
            Some(2),
            "write and lookup, nothing else"
        );
        let before = Sample {
            process_cpu_seconds: 0.5,
            stages: Some([("write".to_owned(), (200.0, 20.0))].into()),
        };
        let cost = between(&before, &after, 4);
        assert_eq!(cost.process_cpu_us, 250_000.0);
        let write = cost.stages.iter().find(|s| s.stage == "write").unwrap();
        assert_eq!((write.cpu_us, write.statements), (200.0, 5.0));
        let lookup = cost.stages.iter().find(|s| s.stage == "lookup").unwrap();
        assert_eq!((lookup.cpu_us, lookup.statements), (0.0, 2.0));
        assert!(render(&cost, "message").contains("| write | 200.0 | 5.00 |"));

        // Without the stages on one side, only the process's CPU is reported.
        let blind = between(&Sample::default(), &after, 4);
        assert_eq!(blind.process_cpu_us, 375_000.0);
        assert!(blind.stages.is_empty());
    }

    #[test]
    fn this_process_has_a_cpu_time() {
        assert!(process_cpu_seconds(std::process::id()).is_some());
    }
}
