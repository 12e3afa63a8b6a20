//! Test harness: a real Throughline on port 0 over a fresh SQLite file or PostgreSQL database,
//! an HTTP client, and fakes of the outside world (a webhook receiver, the messaging providers,
//! an OpenAI-compatible model API).
//!
//! Every black-box test runs on both databases through [`on_both_databases!`].

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test helpers fail by panicking.

pub mod fake_model;
pub mod html;
pub mod pg_cluster;
pub mod process;
pub mod providers;
pub mod receiver;
pub mod remote;
pub mod smtp_sink;
pub mod twilio_voice;
pub mod ws;

use std::time::Duration;

use serde_json::{Value, json};
use throughline::{App, Config, Settings};
pub use throughline_store::Backend;
use throughline_store::testing::TestDatabase;

pub const ADMIN_EMAIL: &str = "admin@acme.test";
pub const ADMIN_PASSWORD: &str = "correct-horse-battery";

/// Generates `sqlite` and `postgres` tests from one async story taking a `Backend`.
#[macro_export]
macro_rules! on_both_databases {
    ($($story:ident),* $(,)?) => {
        $(
            mod $story {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$story($crate::Backend::Sqlite).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$story($crate::Backend::Postgres).await;
                }
            }
        )*
    };
}

/// An HTTP answer: status and JSON body (`Value::Null` when the body is not JSON).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Answer {
    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
        self.body
    }
}

pub struct TestApp {
    pub app: App,
    pub base: String,
    pub client: reqwest::Client,
    /// The first administrator's access token and account.
    pub token: String,
    pub account_id: i64,
    pub backend: Backend,
    /// Every request made through `call`, for the contract tests.
    pub log: std::sync::Arc<std::sync::Mutex<Vec<Exchange>>>,
    _db: TestDatabase,
}

/// One request and its answer.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub body: Value,
}

/// An HTTP client for tests, with the TLS provider the workspace builds (ring) installed.
pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

impl TestApp {
    pub async fn start(backend: Backend) -> TestApp {
        Self::start_with(backend, |_| {}).await
    }

    pub async fn start_with(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> TestApp {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let db = TestDatabase::new(backend).await;
        let mut settings = Settings {
            listen: Some("127.0.0.1:0".parse().unwrap()),
            data_dir: Some(db.dir.clone()),
            database_url: Some(db.url.clone()),
            admin_email: Some(ADMIN_EMAIL.into()),
            admin_password: Some(ADMIN_PASSWORD.into()),
            account_name: Some("Acme".into()),
            log: Some("warn".into()),
            webhook_retry_base_ms: Some(50),
            webhook_timeout_secs: Some(2),
            delivery_lease_ms: Some(1_500),
            // Every test client is 127.0.0.1: the suites that drive a thousand visitors would
            // trip the per-address limits. The widget suite turns them on to test them.
            public_rate_per_ip: Some(0),
            public_rate_per_visitor: Some(0),
            public_message_rate_per_ip: Some(0),
            // Likewise the per-address connection cap (the connections suite sets its own).
            max_connections_per_ip: Some(0),
            // Every receiver and provider fake the suites talk to listens on 127.0.0.1, which
            // the outbound guard refuses by default: allowed here, and turned off by the tests
            // of the guard itself (`tests/api/outbound_guard.rs`).
            outbound_allow_private_networks: Some(true),
            ..Default::default()
        };
        tweak(&mut settings);
        let config = Config::resolve(settings).unwrap();
        let app = App::start(config).await.unwrap();
        let base = app.public_url.clone();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let mut t = TestApp {
            app,
            base,
            client,
            token: String::new(),
            account_id: 0,
            backend,
            log: Default::default(),
            _db: db,
        };
        let signed = t
            .call(
                "POST",
                "/auth/sign_in",
                None,
                Some(json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})),
            )
            .await
            .expect(200);
        t.token = signed["data"]["access_token"].as_str().unwrap().to_owned();
        t.account_id = signed["data"]["account_id"].as_i64().unwrap();
        t
    }

    /// Throughline with the messaging providers' APIs (Twilio, Meta's Graph, Telegram) at a
    /// local fake, and an instance-wide Meta app secret and verify token.
    pub async fn with_providers(backend: Backend) -> (TestApp, providers::FakeProviders) {
        let fake = providers::FakeProviders::start().await;
        let url = fake.url.clone();
        let t = Self::start_with(backend, move |s| {
            s.twilio_api_url = Some(url.clone());
            s.meta_graph_url = Some(url.clone());
            s.telegram_api_url = Some(url);
            s.meta_app_secret = Some(providers::META_APP_SECRET.into());
            s.meta_verify_token = Some(providers::META_VERIFY_TOKEN.into());
        })
        .await;
        (t, fake)
    }

    /// POSTs raw bytes with headers (a provider's webhook), outside the contract log.
    pub async fn raw_post(
        &self,
        path: &str,
        content_type: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Answer {
        let mut req = self
            .client
            .post(self.url(path))
            .header("content-type", content_type)
            .body(body);
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        read(req.send().await.unwrap()).await
    }

    /// A GET outside the contract log, answered as text (a provider's handshake).
    pub async fn raw_get(&self, path: &str) -> (u16, String) {
        let resp = self.client.get(self.url(path)).send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.text().await.unwrap_or_default())
    }

    /// Lets `seconds` pass for what the customers wrote: every message is moved that far into
    /// the past (a provider's reply window, a re-open window), as if the test had waited.
    pub async fn pass_time(&self, seconds: i64) {
        let mut tx = self.app.store.begin().await.unwrap();
        sqlx::query("UPDATE messages SET created_at = created_at - $1")
            .bind(seconds * 1000)
            .execute(tx.conn())
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    /// Lets `seconds` pass for delayed automation rules: what they scheduled comes due that
    /// much sooner, as if the test had waited.
    pub async fn pass_automation_time(&self, seconds: i64) {
        let mut tx = self.app.store.begin().await.unwrap();
        sqlx::query("UPDATE automation_runs SET due_at = due_at - $1 WHERE outcome = 'scheduled'")
            .bind(seconds * 1000)
            .execute(tx.conn())
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    /// Lets `seconds` pass for journey campaigns: their scheduled sends come due that much
    /// sooner, as if the test had waited (the story's "three days later").
    pub async fn pass_journey_time(&self, seconds: i64) {
        let mut tx = self.app.store.begin().await.unwrap();
        sqlx::query("UPDATE journey_sends SET due_at = due_at - $1 WHERE status = 'scheduled'")
            .bind(seconds * 1000)
            .execute(tx.conn())
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    /// Moves a message `days` into the past, as if it had been sent then (a survey answered
    /// late).
    pub async fn age_message(&self, message_id: i64, days: i64) {
        let mut tx = self.app.store.begin().await.unwrap();
        sqlx::query("UPDATE messages SET created_at = created_at - $2 WHERE id = $1")
            .bind(message_id)
            .bind(days * 86_400_000)
            .execute(tx.conn())
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// The ws:// URL of a path.
    pub fn ws_url(&self, path: &str) -> String {
        format!("{}{}", self.base.replacen("http", "ws", 1), path)
    }

    /// `/api/v1/accounts/{account_id}` + `rest`.
    pub fn acc(&self, rest: &str) -> String {
        format!("/api/v1/accounts/{}{}", self.account_id, rest)
    }

    /// Any request, with an optional `api_access_token` and JSON body.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let method_v = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.client.request(method_v, self.url(path));
        if let Some(t) = token {
            req = req.header("api_access_token", t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let answer = read(resp).await;
        self.log.lock().unwrap().push(Exchange {
            method: method.into(),
            path: path.split('?').next().unwrap_or(path).into(),
            status: answer.status,
            body: answer.body.clone(),
        });
        answer
    }

    /// A request as the first administrator.
    pub async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        let token = self.token.clone();
        self.call(method, path, Some(&token), body).await
    }

    pub async fn get(&self, path: &str) -> Value {
        self.admin("GET", path, None).await.expect(200)
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        self.admin("POST", path, Some(body)).await.expect(200)
    }

    /// Creates an API inbox and returns it.
    pub async fn api_inbox(&self, name: &str, webhook_url: Option<&str>) -> Value {
        let mut channel = json!({"type": "api"});
        if let Some(u) = webhook_url {
            channel["webhook_url"] = json!(u);
        }
        self.post(
            &self.acc("/inboxes"),
            json!({"name": name, "channel": channel}),
        )
        .await
    }

    /// Creates an email inbox for `address`, sending through an SMTP server on 127.0.0.1:`smtp_port`
    /// (plain, no login) when given.
    pub async fn email_inbox(&self, name: &str, address: &str, smtp_port: Option<u16>) -> Value {
        let mut channel = json!({"type": "email", "email": address});
        if let Some(port) = smtp_port {
            channel["smtp_address"] = json!("127.0.0.1");
            channel["smtp_port"] = json!(port);
            channel["smtp_enable_starttls_auto"] = json!(false);
            channel["smtp_enable_ssl_tls"] = json!(false);
        }
        self.post(
            &self.acc("/inboxes"),
            json!({"name": name, "channel": channel}),
        )
        .await
    }

    /// Creates an agent with a password and returns (user id, access token).
    pub async fn agent(&self, email: &str, role: &str) -> (i64, String) {
        let agent = self
            .post(&self.acc("/agents"), json!({"name": email, "email": email, "role": role, "password": "agent-password-1"}))
            .await;
        let id = agent["id"].as_i64().unwrap();
        let signed = self
            .call(
                "POST",
                "/auth/sign_in",
                None,
                Some(json!({"email": email, "password": "agent-password-1"})),
            )
            .await
            .expect(200);
        (
            id,
            signed["data"]["access_token"].as_str().unwrap().to_owned(),
        )
    }

    /// Polls `check` until it returns `Some`, failing after `timeout`.
    pub async fn eventually<T, F, Fut>(&self, timeout: Duration, what: &str, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(v) = check().await {
                return v;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

pub async fn read(resp: reqwest::Response) -> Answer {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await.unwrap_or_default();
    let is_csv = headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/csv"));
    // A CSV download is kept as its text, so answers can be compared like JSON ones.
    let body = if is_csv {
        Value::String(String::from_utf8_lossy(&bytes).into_owned())
    } else {
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    };
    Answer {
        status,
        body,
        headers,
    }
}
