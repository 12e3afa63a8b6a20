//! `/metrics` through real HTTP on `throughline serve` run as its own process (a fresh
//! process, so every count is this test's): after some traffic the series are there with the
//! values that traffic implies, requests are labelled with their route template (no ids or
//! tokens), and the endpoint is closed without its token — or, with none set, to anything but
//! a direct loopback caller.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use throughline_store::testing::TestDatabase;
use throughline_testkit::Backend;
use throughline_testkit::process::ServerProcess;
use throughline_testkit::receiver::{Behaviour, Receiver};
use throughline_testkit::remote::Remote;
use throughline_testkit::ws::WsClient;

const BIN: &str = env!("CARGO_BIN_EXE_throughline");
const ADMIN: &str = "metrics@acme.test";
const PASSWORD: &str = "a metrics-test passphrase";
const TOKEN: &str = "scrape-token-for-prometheus-0001";
const WAIT: Duration = Duration::from_secs(20);

/// Samples of one scrape: (name, labels) → value.
struct Scrape {
    text: String,
    samples: BTreeMap<(String, BTreeMap<String, String>), f64>,
}

impl Scrape {
    fn parse(text: String) -> Scrape {
        let mut samples = BTreeMap::new();
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let (series, value) = line.rsplit_once(' ').unwrap();
            let value: f64 = match value {
                "+Inf" => f64::INFINITY,
                v => v.parse().unwrap_or_else(|_| panic!("bad value in {line}")),
            };
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => {
                    let rest = rest.strip_suffix('}').unwrap();
                    let mut labels = BTreeMap::new();
                    // Our label values hold no `",`; a parse of the simple case suffices here.
                    for pair in rest.split("\",") {
                        let (k, v) = pair.split_once("=\"").unwrap();
                        labels.insert(k.to_owned(), v.trim_end_matches('"').to_owned());
                    }
                    (name.to_owned(), labels)
                }
                None => (series.to_owned(), BTreeMap::new()),
            };
            samples.insert((name, labels), value);
        }
        Scrape { text, samples }
    }

    fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let labels: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.samples.get(&(name.to_owned(), labels)).copied()
    }

    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels)
            .unwrap_or_else(|| panic!("no {name}{labels:?} in\n{}", self.text))
    }

    fn has_type(&self, name: &str, kind: &str) -> bool {
        self.text.contains(&format!("# TYPE {name} {kind}\n"))
    }
}

async fn scrape(client: &reqwest::Client, url: &str, token: Option<&str>) -> (u16, String) {
    let mut req = client.get(format!("{url}/metrics"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    if status == 200 {
        assert_eq!(
            resp.headers()["content-type"],
            "text/plain; version=0.0.4; charset=utf-8"
        );
    }
    (status, resp.text().await.unwrap())
}

async fn scrape_until(url: &str, what: &str, done: impl Fn(&Scrape) -> bool) -> Scrape {
    let client = throughline_testkit::http_client();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (status, text) = scrape(&client, url, Some(TOKEN)).await;
        assert_eq!(status, 200, "{text}");
        let s = Scrape::parse(text);
        if done(&s) {
            return s;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}:\n{}",
            s.text
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A Client API visitor of the inbox at `public` with a conversation: (source id, its id).
async fn visitor_with_conversation(client: &reqwest::Client, public: &str) -> (String, i64) {
    let contact: Value = client
        .post(format!("{public}/contacts"))
        .json(&json!({"name": "Visitor"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let source = contact["source_id"].as_str().unwrap().to_owned();
    let conversation: Value = client
        .post(format!("{public}/contacts/{source}/conversations"))
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (source, conversation["id"].as_i64().unwrap())
}

async fn metrics_count_traffic_by_route_template(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let ok = Receiver::start(Behaviour::Accept).await;
    let failing = Receiver::start(Behaviour::AlwaysFail).await;
    let env = [
        ("THROUGHLINE_ADMIN_EMAIL", ADMIN),
        ("THROUGHLINE_ADMIN_PASSWORD", PASSWORD),
        ("THROUGHLINE_METRICS_TOKEN", TOKEN),
        ("THROUGHLINE_WEBHOOK_RETRY_BASE_MS", "20"),
        ("THROUGHLINE_WEBHOOK_MAX_ATTEMPTS", "2"),
        ("THROUGHLINE_OUTBOUND_ALLOW_PRIVATE_NETWORKS", "true"),
    ];
    let server = ServerProcess::start(Path::new(BIN), &db, "127.0.0.1:0", &env);
    let client = throughline_testkit::http_client();

    // Closed without the token, even from this machine.
    let (status, _) = scrape(&client, &server.url, None).await;
    assert_eq!(status, 401);
    let (status, _) = scrape(&client, &server.url, Some("not-the-token")).await;
    assert_eq!(status, 401);

    let api = Remote::sign_in(&server.url, ADMIN, PASSWORD).await;
    for receiver in [&ok, &failing] {
        api.post(
            "/webhooks",
            json!({"url": receiver.url, "subscriptions": ["message_created"]}),
        )
        .await;
    }
    let inbox = api
        .post(
            "/inboxes",
            json!({"name": "Provider", "channel": {"type": "api"}}),
        )
        .await;
    let inbox_id = inbox["id"].as_i64().unwrap();
    let ident = inbox["inbox_identifier"].as_str().unwrap().to_owned();
    let conversation = api.conversation(inbox_id, "Customer").await;

    // Three customers' messages through the Application API, two through the Client API.
    for i in 0..3 {
        api.post(
            &format!("/conversations/{conversation}/messages"),
            json!({"content": format!("hello {i}"), "message_type": "incoming"}),
        )
        .await;
    }
    let public = format!("{}/public/api/v1/inboxes/{ident}", server.url);
    let (source, visitor_conversation) = visitor_with_conversation(&client, &public).await;
    for i in 0..2 {
        let sent = client
            .post(format!(
                "{public}/contacts/{source}/conversations/{visitor_conversation}/messages"
            ))
            .json(&json!({"content": format!("from the widget {i}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(sent.status(), 200);
    }

    // A path with an id: three found, one not.
    for _ in 0..3 {
        api.get(&format!("/conversations/{conversation}")).await;
    }
    let missing = api
        .try_call("GET", &api.url("/conversations/999999"), None)
        .await
        .unwrap();
    assert_eq!(missing.status, 404);
    // No route at all: the fallback, under that one label whatever the path.
    let unknown = client
        .get(format!("{}/api/v1/nothing-here/12345", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);

    // One agent's socket and one visitor's.
    let ws = server.url.replacen("http", "ws", 1);
    let mut agent = WsClient::connect(
        &format!("{ws}/api/v1/realtime"),
        &[("api_access_token", api.token.as_str())],
    )
    .await
    .unwrap();
    agent.until("ready", WAIT).await;
    let mut visitor = WsClient::connect(
        &format!("{ws}/public/api/v1/inboxes/{ident}/contacts/{source}/realtime"),
        &[],
    )
    .await
    .unwrap();
    visitor.until("ready", WAIT).await;

    // Five messages, two webhooks: five deliveries succeed, five fail twice and are given up.
    let s = scrape_until(&server.url, "the deliveries to settle", |s| {
        s.get(
            "throughline_deliveries_failed_total",
            &[("target", "webhook")],
        ) == Some(5.0)
            && s.get(
                "throughline_delivery_attempts_total",
                &[("target", "webhook"), ("result", "delivered")],
            ) == Some(5.0)
            && s.get("throughline_outbox_lag_events", &[("consumer", "webhooks")]) == Some(0.0)
    })
    .await;

    assert!(s.has_type("throughline_http_requests_total", "counter"));
    assert!(s.has_type("throughline_http_request_duration_seconds", "histogram"));
    let one = "/api/v1/accounts/{account_id}/conversations/{conversation_id}";
    let get = |status| [("method", "GET"), ("route", one), ("status", status)];
    assert_eq!(s.value("throughline_http_requests_total", &get("2xx")), 3.0);
    assert_eq!(s.value("throughline_http_requests_total", &get("4xx")), 1.0);
    let timed = [("method", "GET"), ("route", one)];
    assert_eq!(
        s.value("throughline_http_request_duration_seconds_count", &timed),
        4.0
    );
    let mut bucket = timed.to_vec();
    bucket.push(("le", "+Inf"));
    assert_eq!(
        s.value("throughline_http_request_duration_seconds_bucket", &bucket),
        4.0
    );
    assert!(s.value("throughline_http_request_duration_seconds_sum", &timed) > 0.0);
    let widget = "/public/api/v1/inboxes/{inbox_identifier}/contacts/{contact_identifier}/conversations/{conversation_id}/messages";
    assert_eq!(
        s.value(
            "throughline_http_requests_total",
            &[("method", "POST"), ("route", widget), ("status", "2xx")]
        ),
        2.0
    );
    assert_eq!(
        s.value(
            "throughline_http_requests_total",
            &[
                ("method", "GET"),
                ("route", "/api/v1/realtime"),
                ("status", "1xx")
            ]
        ),
        1.0
    );
    assert_eq!(
        s.value(
            "throughline_http_requests_total",
            &[("method", "GET"), ("route", "fallback"), ("status", "4xx")]
        ),
        1.0
    );
    // No raw path, id or token reaches a label.
    for secret in [
        "nothing-here",
        ident.as_str(),
        source.as_str(),
        &format!("/conversations/{conversation}"),
        "/conversations/999999",
        TOKEN,
        api.token.as_str(),
    ] {
        assert!(!s.text.contains(secret), "`{secret}` in\n{}", s.text);
    }

    assert_eq!(
        s.value("throughline_inbound_messages_total", &[("channel", "api")]),
        5.0
    );
    assert_eq!(
        s.value(
            "throughline_inbound_messages_total",
            &[("channel", "email")]
        ),
        0.0
    );
    assert_eq!(
        s.value(
            "throughline_delivery_attempts_total",
            &[("target", "webhook"), ("result", "failed")]
        ),
        10.0
    );
    assert_eq!(
        s.value("throughline_websockets_open", &[("kind", "agent")]),
        1.0
    );
    assert_eq!(
        s.value("throughline_websockets_open", &[("kind", "visitor")]),
        1.0
    );
    let newest = s.value("throughline_outbox_newest_event_id", &[]);
    assert!(newest >= 5.0, "{newest}");
    assert_eq!(s.value("throughline_database_up", &[]), 1.0);

    let pool = match backend {
        Backend::Sqlite => "reader",
        Backend::Postgres => "main",
    };
    let open = s.value("throughline_db_pool_connections", &[("pool", pool)]);
    let idle = s.value("throughline_db_pool_idle_connections", &[("pool", pool)]);
    let max = s.value("throughline_db_pool_max_connections", &[("pool", pool)]);
    assert!(
        open >= 1.0 && idle <= open && open <= max,
        "{open} {idle} {max}"
    );
    assert_eq!(max, 8.0);
    if backend == Backend::Sqlite {
        assert_eq!(
            s.value("throughline_db_pool_max_connections", &[("pool", "writer")]),
            1.0
        );
    }
    assert_eq!(
        s.value(
            "throughline_build_info",
            &[
                ("version", env!("CARGO_PKG_VERSION")),
                ("database", backend.name())
            ]
        ),
        1.0
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let started = s.value("throughline_start_time_seconds", &[]);
    assert!(started <= now && started > now - 3600.0, "{started} {now}");

    // The stage profile is off unless asked for.
    assert!(
        !s.text.contains("throughline_stage_statements_total{"),
        "{}",
        s.text
    );

    // Sockets closed: the gauges follow.
    agent.close().await;
    visitor.close().await;
    scrape_until(&server.url, "the sockets to close", |s| {
        s.get("throughline_websockets_open", &[("kind", "agent")]) == Some(0.0)
            && s.get("throughline_websockets_open", &[("kind", "visitor")]) == Some(0.0)
    })
    .await;
    assert!(server.terminate().success());
}

throughline_testkit::on_both_databases!(metrics_count_traffic_by_route_template);

/// `THROUGHLINE_PROFILE=1`: a customer's messages charge CPU time and SQL statements to the
/// stages of the message path, each statement to the stage that ran it (the grouped write's
/// statements to `write`, its event snapshot's to `render`, the visitor's lookups to `lookup`).
async fn the_profile_charges_each_stage(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let env = [
        ("THROUGHLINE_ADMIN_EMAIL", ADMIN),
        ("THROUGHLINE_ADMIN_PASSWORD", PASSWORD),
        ("THROUGHLINE_METRICS_TOKEN", TOKEN),
        ("THROUGHLINE_PROFILE", "1"),
    ];
    let server = ServerProcess::start(Path::new(BIN), &db, "127.0.0.1:0", &env);
    let client = throughline_testkit::http_client();
    let api = Remote::sign_in(&server.url, ADMIN, PASSWORD).await;
    let inbox = api
        .post(
            "/inboxes",
            json!({"name": "Site", "channel": {"type": "api"}}),
        )
        .await;
    let ident = inbox["inbox_identifier"].as_str().unwrap().to_owned();
    let public = format!("{}/public/api/v1/inboxes/{ident}", server.url);
    let (source, conversation) = visitor_with_conversation(&client, &public).await;
    let statements = |s: &Scrape, stage: &str| {
        s.get("throughline_stage_statements_total", &[("stage", stage)])
            .unwrap_or(0.0)
    };
    let (_, text) = scrape(&client, &server.url, Some(TOKEN)).await;
    let before = Scrape::parse(text);
    for i in 0..3 {
        let sent = client
            .post(format!(
                "{public}/contacts/{source}/conversations/{conversation}/messages"
            ))
            .json(&json!({"content": format!("profiled {i}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(sent.status(), 200);
    }
    let after = scrape_until(&server.url, "the relay to read the messages", |s| {
        statements(s, "relay") > statements(&before, "relay")
    })
    .await;
    for stage in ["lookup", "write", "render"] {
        let ran = statements(&after, stage) - statements(&before, stage);
        // At least one statement per message in each (lookups: inbox, identity, contact,
        // conversation; write: the insert; render: the event's snapshot).
        assert!(ran >= 3.0, "{stage}: {ran} statements\n{}", after.text);
    }
    let http_cpu = after
        .get(
            "throughline_stage_cpu_microseconds_total",
            &[("stage", "http")],
        )
        .unwrap_or(0.0);
    assert!(http_cpu > 0.0, "{}", after.text);
    assert!(server.terminate().success());
}

throughline_testkit::on_both_databases!(the_profile_charges_each_stage);

/// Without a token, only a direct loopback caller gets the metrics; one that came through a
/// proxy (which says so in a forwarding header) gets a 404, as if nothing were there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_token_only_direct_loopback_callers_get_metrics() {
    let db = TestDatabase::new(Backend::Sqlite).await;
    let server = ServerProcess::start(
        Path::new(BIN),
        &db,
        "127.0.0.1:0",
        &[("THROUGHLINE_ADMIN_PASSWORD", PASSWORD)],
    );
    let client = throughline_testkit::http_client();
    let (status, text) = scrape(&client, &server.url, None).await;
    assert_eq!(status, 200);
    assert!(
        text.contains("# TYPE throughline_build_info gauge"),
        "{text}"
    );
    for header in ["x-forwarded-for", "forwarded", "x-real-ip"] {
        let resp = client
            .get(format!("{}/metrics", server.url))
            .header(header, "203.0.113.9")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 404, "{header}");
    }
    // A bearer token means nothing when none is set.
    let (status, _) = scrape(&client, &server.url, Some("anything")).await;
    assert_eq!(status, 200);
    assert!(server.terminate().success());
}
