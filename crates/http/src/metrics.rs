//! Operations metrics: a recorder for the `metrics` facade that renders Prometheus' text
//! format (0.0.4), and the middleware counting HTTP requests.
//!
//! Every crate records with the facade's macros (`metrics::counter!` in `service` and `jobs`,
//! a no-op until a recorder is installed); this module is that recorder, installed once per
//! process by [`install`]. It is written here rather than taken from
//! `metrics-exporter-prometheus` because what it needs is small — atomic counters and gauges,
//! one fixed-bucket histogram, the text format — while the exporter brings a dozen crates
//! (metrics-util, quanta, evmap, sketches-ddsketch, crossbeam-epoch, a second hashbrown) and a
//! histogram buffer that must be drained by a timer. Values read at scrape time (outbox lag,
//! pools, sockets) are written by `routes::metrics` with [`Text`].
//!
//! Labels never carry raw paths, ids or tokens: HTTP requests are labelled with the route
//! template axum matched (`/api/v1/accounts/{account_id}/conversations/{id}`), `fallback` for
//! anything else (the web app, unknown paths).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Once, RwLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{MatchedPath, Request};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use metrics::{
    Counter, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder, SharedString, Unit,
};

/// Upper bounds (seconds) of the request-latency histogram's buckets.
pub const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// Name and help text of every metric Throughline records, in the order they are rendered
/// first. The README's table lists the same.
pub const DESCRIPTIONS: &[(&str, &str)] = &[
    (
        "throughline_http_requests_total",
        "HTTP requests answered, by method, route template and status class.",
    ),
    (
        "throughline_http_request_duration_seconds",
        "Time to answer an HTTP request (until its headers), by method and route template.",
    ),
    (
        "throughline_inbound_messages_total",
        "Customers' messages stored (duplicates not counted), by channel type.",
    ),
    (
        "throughline_delivery_attempts_total",
        "Delivery attempts (account webhooks and channel sends), by target and result.",
    ),
    (
        "throughline_deliveries_failed_total",
        "Deliveries given up after their last attempt, by target.",
    ),
    (
        "throughline_stage_cpu_microseconds_total",
        "CPU time charged to each stage of the message path (only with THROUGHLINE_PROFILE=1).",
    ),
    (
        "throughline_stage_statements_total",
        "SQL statements run by each stage of the message path (only with THROUGHLINE_PROFILE=1).",
    ),
];

/// A histogram with fixed buckets ([`LATENCY_BUCKETS`]).
#[derive(Default)]
struct Buckets {
    /// Observations in each bucket (not cumulative); the last one is `+Inf`.
    counts: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    /// The sum of observations, as f64 bits.
    sum: AtomicU64,
}

impl HistogramFn for Buckets {
    fn record(&self, value: f64) {
        let slot = LATENCY_BUCKETS
            .iter()
            .position(|le| value <= *le)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.counts[slot].fetch_add(1, Ordering::Relaxed);
        let _ = self
            .sum
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                Some((f64::from_bits(bits) + value).to_bits())
            });
    }
}

/// Every series recorded through the facade.
#[derive(Default)]
pub struct Registry {
    counters: RwLock<HashMap<Key, Arc<AtomicU64>>>,
    gauges: RwLock<HashMap<Key, Arc<AtomicU64>>>,
    histograms: RwLock<HashMap<Key, Arc<Buckets>>>,
    help: RwLock<HashMap<String, String>>,
}

fn entry<T: Default>(map: &RwLock<HashMap<Key, Arc<T>>>, key: &Key) -> Arc<T> {
    if let Ok(read) = map.read()
        && let Some(found) = read.get(key)
    {
        return found.clone();
    }
    match map.write() {
        Ok(mut write) => write.entry(key.clone()).or_default().clone(),
        // A panic while holding the lock: keep counting, unregistered.
        Err(_) => Arc::default(),
    }
}

impl Registry {
    fn describe(&self, key: KeyName, description: SharedString) {
        if let Ok(mut help) = self.help.write() {
            help.insert(key.as_str().to_owned(), description.into_owned());
        }
    }

    /// Renders every series recorded so far.
    pub fn render(&self, out: &mut Text) {
        let help = self.help.read().map(|h| h.clone()).unwrap_or_default();
        let help_of = |name: &str| {
            DESCRIPTIONS
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, h)| (*h).to_owned())
                .or_else(|| help.get(name).cloned())
        };
        let counters = sorted(&self.counters);
        for (name, series) in group(&counters) {
            out.family(name, help_of(name).as_deref(), "counter");
            for (key, value) in series {
                out.sample(name, &labels(key), value.load(Ordering::Relaxed) as f64);
            }
        }
        let gauges = sorted(&self.gauges);
        for (name, series) in group(&gauges) {
            out.family(name, help_of(name).as_deref(), "gauge");
            for (key, value) in series {
                out.sample(
                    name,
                    &labels(key),
                    f64::from_bits(value.load(Ordering::Relaxed)),
                );
            }
        }
        let histograms = sorted(&self.histograms);
        for (name, series) in group(&histograms) {
            out.family(name, help_of(name).as_deref(), "histogram");
            for (key, buckets) in series {
                let base = labels(key);
                let mut cumulative = 0u64;
                for (i, count) in buckets.counts.iter().enumerate() {
                    cumulative += count.load(Ordering::Relaxed);
                    let le = LATENCY_BUCKETS
                        .get(i)
                        .map_or_else(|| "+Inf".to_owned(), |b| b.to_string());
                    let mut with_le = base.clone();
                    with_le.push(("le".to_owned(), le));
                    out.sample(&format!("{name}_bucket"), &with_le, cumulative as f64);
                }
                out.sample(
                    &format!("{name}_sum"),
                    &base,
                    f64::from_bits(buckets.sum.load(Ordering::Relaxed)),
                );
                out.sample(&format!("{name}_count"), &base, cumulative as f64);
            }
        }
    }
}

/// One series: its key (name and labels) and its value.
type Series<T> = (Key, Arc<T>);

fn sorted<T>(map: &RwLock<HashMap<Key, Arc<T>>>) -> Vec<Series<T>> {
    let mut all: Vec<Series<T>> = map
        .read()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all
}

/// Consecutive series of one name (the input is sorted by key, hence by name).
fn group<T>(series: &[Series<T>]) -> Vec<(&str, &[Series<T>])> {
    let mut out: Vec<(&str, &[Series<T>])> = Vec::new();
    let mut start = 0;
    for i in 1..=series.len() {
        if i == series.len() || series[i].0.name() != series[start].0.name() {
            out.push((series[start].0.name(), &series[start..i]));
            start = i;
        }
    }
    out
}

fn labels(key: &Key) -> Vec<(String, String)> {
    key.labels()
        .map(|l| (l.key().to_owned(), l.value().to_owned()))
        .collect()
}

impl Recorder for Registry {
    fn describe_counter(&self, key: KeyName, _unit: Option<Unit>, description: SharedString) {
        self.describe(key, description);
    }

    fn describe_gauge(&self, key: KeyName, _unit: Option<Unit>, description: SharedString) {
        self.describe(key, description);
    }

    fn describe_histogram(&self, key: KeyName, _unit: Option<Unit>, description: SharedString) {
        self.describe(key, description);
    }

    fn register_counter(&self, key: &Key, _metadata: &Metadata<'_>) -> Counter {
        Counter::from_arc(entry(&self.counters, key))
    }

    fn register_gauge(&self, key: &Key, _metadata: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(entry(&self.gauges, key))
    }

    fn register_histogram(&self, key: &Key, _metadata: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(entry(&self.histograms, key))
    }
}

static REGISTRY: LazyLock<Arc<Registry>> = LazyLock::new(Arc::default);
static INSTALL: Once = Once::new();
static STARTED: LazyLock<(Instant, f64)> = LazyLock::new(|| {
    let unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default();
    (Instant::now(), unix)
});

/// Makes this process's registry the facade's recorder (once; later calls return the same
/// registry) and creates the series that should read 0 before anything happened.
pub fn install() -> Arc<Registry> {
    INSTALL.call_once(|| {
        LazyLock::force(&STARTED);
        if metrics::set_global_recorder(REGISTRY.clone()).is_err() {
            tracing::warn!("another metrics recorder is installed: /metrics shows only its own");
        }
        for channel in throughline_core::model::ChannelType::ALL {
            metrics::counter!("throughline_inbound_messages_total", "channel" => channel.short_name())
                .absolute(0);
        }
        for target in ["webhook", "channel"] {
            for result in ["delivered", "failed"] {
                metrics::counter!("throughline_delivery_attempts_total", "target" => target, "result" => result)
                    .absolute(0);
            }
            metrics::counter!("throughline_deliveries_failed_total", "target" => target)
                .absolute(0);
        }
    });
    REGISTRY.clone()
}

/// When this process started, in seconds since the Unix epoch.
pub fn start_time_seconds() -> f64 {
    STARTED.1
}

/// Counts a request and times it, labelled by its route template (never its raw path).
pub(crate) async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "fallback".to_owned(), |p| p.as_str().to_owned());
    // The profile's outermost stage (`THROUGHLINE_PROFILE=1`); free otherwise.
    let stage = tracing::trace_span!(target: "throughline::stage", "http");
    let response = tracing::Instrument::instrument(next.run(request), stage).await;
    let status = status_class(response.status());
    metrics::counter!("throughline_http_requests_total",
        "method" => method, "route" => route.clone(), "status" => status)
    .increment(1);
    metrics::histogram!("throughline_http_request_duration_seconds",
        "method" => method, "route" => route)
    .record(started.elapsed().as_secs_f64());
    response
}

/// Known methods by name; anything else is `other` (a client cannot invent label values).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

fn status_class(status: StatusCode) -> &'static str {
    match status.as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// Prometheus' text exposition format.
#[derive(Default)]
pub struct Text(String);

impl Text {
    /// `# HELP` and `# TYPE` lines of a family; its samples follow.
    pub fn family(&mut self, name: &str, help: Option<&str>, kind: &str) {
        if let Some(help) = help {
            let help = help.replace('\\', "\\\\").replace('\n', "\\n");
            let _ = writeln!(self.0, "# HELP {name} {help}");
        }
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }

    pub fn sample(&mut self, name: &str, labels: &[(String, String)], value: f64) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                let v = v
                    .replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('\n', "\\n");
                let _ = write!(self.0, "{k}=\"{v}\"");
            }
            self.0.push('}');
        }
        let value = if value.is_nan() {
            "NaN".to_owned()
        } else if value.is_infinite() {
            if value > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
        } else {
            value.to_string()
        };
        let _ = writeln!(self.0, " {value}");
    }

    /// One family with one sample per label set.
    pub fn gauge(&mut self, name: &str, help: &str, samples: &[(Vec<(String, String)>, f64)]) {
        self.family(name, Some(help), "gauge");
        for (labels, value) in samples {
            self.sample(name, labels, *value);
        }
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_format_escapes_and_accumulates() {
        let registry = Registry::default();
        let key = Key::from_parts(
            "t_requests_total",
            vec![metrics::Label::new("route", "/a\"b")],
        );
        let counter =
            registry.register_counter(&key, &Metadata::new("t", metrics::Level::INFO, None));
        counter.increment(2);
        counter.increment(1);
        let h = registry.register_histogram(
            &Key::from_name("t_seconds"),
            &Metadata::new("t", metrics::Level::INFO, None),
        );
        h.record(0.25);
        h.record(0.5);
        h.record(64.0);
        let mut text = Text::default();
        registry.render(&mut text);
        let text = text.into_string();
        assert!(text.contains("# TYPE t_requests_total counter\n"), "{text}");
        assert!(
            text.contains("t_requests_total{route=\"/a\\\"b\"} 3\n"),
            "{text}"
        );
        assert!(text.contains("t_seconds_bucket{le=\"0.1\"} 0\n"), "{text}");
        assert!(text.contains("t_seconds_bucket{le=\"0.25\"} 1\n"), "{text}");
        assert!(text.contains("t_seconds_bucket{le=\"0.5\"} 2\n"), "{text}");
        assert!(text.contains("t_seconds_bucket{le=\"10\"} 2\n"), "{text}");
        assert!(text.contains("t_seconds_bucket{le=\"+Inf\"} 3\n"), "{text}");
        assert!(text.contains("t_seconds_count 3\n"), "{text}");
        assert!(text.contains("t_seconds_sum 64.75\n"), "{text}");
    }

    #[test]
    fn status_classes_and_methods_are_bounded() {
        assert_eq!(status_class(StatusCode::SWITCHING_PROTOCOLS), "1xx");
        assert_eq!(status_class(StatusCode::NOT_FOUND), "4xx");
        assert_eq!(status_class(StatusCode::SERVICE_UNAVAILABLE), "5xx");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
    }
}
