//! One table: each figure, its budget (PERFORMANCE.md), the ratio to the budget and to the
//! machine's own limit measured in the same run.

use serde::Serialize;

use super::machine::MachineLimits;

#[derive(Debug, Clone, Copy, Serialize)]
pub enum Direction {
    AtLeast,
    AtMost,
}

#[derive(Debug, Clone, Serialize)]
pub struct Budget {
    pub direction: Direction,
    pub value: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub figure: String,
    pub value: Option<f64>,
    pub unit: &'static str,
    pub budget: Option<Budget>,
    /// The machine limits this figure is compared with, and their values.
    pub machine_limits: Vec<(&'static str, f64)>,
    pub note: Option<String>,
}

impl Row {
    pub fn new(figure: impl Into<String>, value: Option<f64>, unit: &'static str) -> Row {
        Row {
            figure: figure.into(),
            value,
            unit,
            budget: None,
            machine_limits: Vec::new(),
            note: None,
        }
    }

    pub fn at_least(mut self, budget: f64) -> Row {
        self.budget = Some(Budget {
            direction: Direction::AtLeast,
            value: budget,
        });
        self
    }

    pub fn at_most(mut self, budget: f64) -> Row {
        self.budget = Some(Budget {
            direction: Direction::AtMost,
            value: budget,
        });
        self
    }

    pub fn versus(mut self, limit: &'static str, value: f64) -> Row {
        self.machine_limits.push((limit, value));
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Row {
        self.note = Some(note.into());
        self
    }

    /// ≥ 1 means the budget is met.
    pub fn budget_ratio(&self) -> Option<f64> {
        let (v, b) = (self.value?, self.budget.as_ref()?);
        Some(match b.direction {
            Direction::AtLeast => v / b.value,
            Direction::AtMost => b.value / v.max(f64::EPSILON),
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ScaleReport {
    pub scale: String,
    pub database: &'static str,
    pub conversations: usize,
    pub messages: usize,
    pub seed_seconds: f64,
    pub rows: Vec<Row>,
    /// What one message of the peak ingest cost the server.
    pub ingest_cost: super::cost::Cost,
    /// What one email cost the server, when the email phase ran.
    pub email_cost: Option<super::cost::Cost>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub machine: MachineLimits,
    pub cores: usize,
    pub scales: Vec<ScaleReport>,
}

fn number(v: f64) -> String {
    if v >= 100.0 {
        let whole = v.round() as i64;
        let digits = whole.to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

pub fn render(report: &Report) -> String {
    let m = &report.machine;
    let mut out = format!(
        "Machine ({} cores): trivial HTTP {} req/s · single-row durable inserts {} tx/s · \
         WebSocket broadcast {} frames/s\n",
        report.cores,
        number(m.trivial_http_per_sec),
        number(m.single_row_inserts_per_sec),
        number(m.ws_broadcast_per_sec)
    );
    for s in &report.scales {
        out.push_str(&format!(
            "\n{} on {}: {} conversations, {} messages (seeded in {:.0} s)\n\n",
            s.scale,
            s.database,
            number(s.conversations as f64),
            number(s.messages as f64),
            s.seed_seconds
        ));
        out.push_str("| figure | value | budget | vs budget | vs machine limit |\n");
        out.push_str("| --- | ---: | ---: | ---: | --- |\n");
        for r in &s.rows {
            let value = match r.value {
                Some(v) => format!("{} {}", number(v), r.unit),
                None => "—".into(),
            };
            let budget = match &r.budget {
                Some(Budget {
                    direction: Direction::AtLeast,
                    value,
                }) => format!("≥ {} {}", number(*value), r.unit),
                Some(Budget {
                    direction: Direction::AtMost,
                    value,
                }) => format!("≤ {} {}", number(*value), r.unit),
                None => String::new(),
            };
            let ratio = match r.budget_ratio() {
                Some(x) if x >= 1.0 => format!("{x:.2}× ✓"),
                Some(x) => format!("{x:.2}× ✗"),
                None => String::new(),
            };
            let machine = r
                .machine_limits
                .iter()
                .filter(|(_, limit)| *limit > 0.0)
                .filter_map(|(name, limit)| Some(format!("{:.3}× {name}", r.value? / limit)))
                .collect::<Vec<_>>()
                .join("; ");
            let figure = match &r.note {
                Some(n) => format!("{} ({n})", r.figure),
                None => r.figure.clone(),
            };
            out.push_str(&format!(
                "| {figure} | {value} | {budget} | {ratio} | {machine} |\n"
            ));
        }
        out.push_str(&super::cost::render(
            &s.ingest_cost,
            &format!(
                "ingested message (peak ingest, {} messages)",
                s.ingest_cost.messages
            ),
        ));
        if let Some(mail) = &s.email_cost {
            out.push_str(&super::cost::render(
                mail,
                &format!("email (SMTP, {} emails)", mail.messages),
            ));
        }
    }
    if report.scales.len() > 1 {
        out.push_str(
            "\nThroughput by data size (a super-linear cost shows as a falling rate):\n\n",
        );
        out.push_str("| scale | messages stored | ingest msg/s | list p99 ms | search p99 ms |\n");
        out.push_str("| --- | ---: | ---: | ---: | ---: |\n");
        for s in &report.scales {
            let find = |prefix: &str| {
                s.rows
                    .iter()
                    .find(|r| r.figure.starts_with(prefix))
                    .and_then(|r| r.value)
                    .map(number)
                    .unwrap_or_else(|| "—".into())
            };
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                s.scale,
                number(s.messages as f64),
                find("inbound messages ingested"),
                find("conversation list p99"),
                find("message search p99"),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_say_whether_the_budget_is_met() {
        let fast = Row::new("latency", Some(10.0), "ms").at_most(20.0);
        assert_eq!(fast.budget_ratio(), Some(2.0));
        let slow = Row::new("rate", Some(1_000.0), "msg/s").at_least(5_000.0);
        assert_eq!(slow.budget_ratio(), Some(0.2));
        assert_eq!(Row::new("x", None, "ms").at_most(1.0).budget_ratio(), None);
    }

    #[test]
    fn numbers_are_readable() {
        assert_eq!(number(1234567.4), "1,234,567");
        assert_eq!(number(12.345), "12.3");
        assert_eq!(number(0.5), "0.50");
    }
}
