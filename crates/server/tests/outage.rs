//! When the database goes away the server says so (503, a clear message, `/readyz` failing)
//! instead of hanging or answering 500, and it recovers by itself when the database is back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use sqlx::Connection;
use throughline_store::testing::TestDatabase;
use throughline_testkit::Backend;
use throughline_testkit::pg_cluster::PgCluster;
use throughline_testkit::process::ServerProcess;
use throughline_testkit::receiver::{Behaviour, Receiver};
use throughline_testkit::remote::Remote;

const BIN: &str = env!("CARGO_BIN_EXE_throughline");
const ADMIN: &str = "ops@acme.test";
const PASSWORD: &str = "an outage passphrase";
const ENV: [(&str, &str); 3] = [
    ("THROUGHLINE_ADMIN_EMAIL", ADMIN),
    ("THROUGHLINE_ADMIN_PASSWORD", PASSWORD),
    ("THROUGHLINE_WEBHOOK_RETRY_BASE_MS", "50"),
];

struct Scene {
    api: Remote,
    conversation: i64,
    receiver: Receiver,
    inbox_id: i64,
    /// A Client API visitor of the inbox: (inbox identifier, source id, conversation).
    visitor: (String, String, i64),
}

async fn scene(server: &ServerProcess) -> Scene {
    let api = Remote::sign_in(&server.url, ADMIN, PASSWORD).await;
    let receiver = Receiver::start(Behaviour::Accept).await;
    api.post(
        "/webhooks",
        json!({"url": receiver.url, "subscriptions": ["message_created"]}),
    )
    .await;
    let inbox = api
        .post(
            "/inboxes",
            json!({"name": "Provider", "channel": {"type": "api"}}),
        )
        .await;
    let inbox_id = inbox["id"].as_i64().unwrap();
    let conversation = api.conversation(inbox_id, "Marta Nowak").await;
    let ident = inbox["inbox_identifier"].as_str().unwrap().to_owned();
    let public = format!("{}/public/api/v1/inboxes/{ident}/contacts", api.base);
    let contact = api
        .try_call("POST", &public, Some(&json!({"name": "Kasia"})))
        .await
        .unwrap()
        .expect(200);
    let source = contact["source_id"].as_str().unwrap().to_owned();
    let started = api
        .try_call(
            "POST",
            &format!("{public}/{source}/conversations"),
            Some(&json!({})),
        )
        .await
        .unwrap()
        .expect(200);
    Scene {
        api,
        conversation,
        receiver,
        inbox_id,
        visitor: (ident, source, started["id"].as_i64().unwrap()),
    }
}

/// An outage is an outage on every route that stores a message or a conversation: 503 with
/// the database's absence named, never a field error such as "no such inbox".
fn assert_unavailable(answer: &throughline_testkit::Answer, what: &str) {
    assert_eq!(answer.status, 503, "{what}: {}", answer.body);
    assert_eq!(
        answer.body["error"], "unavailable",
        "{what}: {}",
        answer.body
    );
}

fn message(external_id: &str) -> Value {
    json!({"content": format!("message {external_id}"), "message_type": "incoming", "source_id": external_id})
}

impl Scene {
    async fn post_message(&self, external_id: &str) -> u16 {
        let url = self
            .api
            .url(&format!("/conversations/{}/messages", self.conversation));
        match self
            .api
            .try_call("POST", &url, Some(&message(external_id)))
            .await
        {
            Ok(answer) => {
                if answer.status == 503 {
                    assert_eq!(answer.body["error"], "unavailable", "{}", answer.body);
                    assert!(
                        answer.body["message"]
                            .as_str()
                            .unwrap()
                            .contains("database is unavailable"),
                        "{}",
                        answer.body
                    );
                }
                answer.status
            }
            Err(e) => panic!("the server must answer, not drop the request: {e}"),
        }
    }

    async fn readyz(&self) -> u16 {
        self.api
            .client
            .get(format!("{}/readyz", self.api.base))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// Retries as a provider would until the server takes the message.
    async fn post_until_accepted(&self, external_id: &str) {
        for _ in 0..120 {
            match self.post_message(external_id).await {
                200 => return,
                503 => tokio::time::sleep(Duration::from_millis(250)).await,
                other => panic!("unexpected {other} while the database comes back"),
            }
        }
        panic!("the server never recovered");
    }

    async fn stored_external_ids(&self) -> Vec<String> {
        let list = self
            .api
            .get(&format!("/conversations/{}/messages", self.conversation))
            .await;
        list["payload"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|m| m["source_id"].as_str().map(str::to_owned))
            .collect()
    }

    async fn delivered(&self, external_id: &str) {
        let content = format!("message {external_id}");
        for _ in 0..200 {
            if self
                .receiver
                .received()
                .iter()
                .any(|r| r.body["content"] == content)
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the webhook for {external_id} never arrived: the consumers did not recover");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restart_answers_503_and_recovers_by_itself() {
    let cluster = tokio::task::spawn_blocking(PgCluster::start).await.unwrap();
    let dir = std::env::temp_dir().join(format!("throughline-outage-{}", uuid_like()));
    std::fs::create_dir_all(&dir).unwrap();
    let server = ServerProcess::start_on(Path::new(BIN), &dir, &cluster.url(), "127.0.0.1:0", &ENV);
    let s = scene(&server).await;
    assert_eq!(s.post_message("before").await, 200);
    s.delivered("before").await;

    cluster.down();
    assert_eq!(s.readyz().await, 503, "readiness reports the outage");
    assert_eq!(s.post_message("during").await, 503);
    let (ident, source, visitor_conversation) = &s.visitor;
    let client_api = s
        .api
        .try_call(
            "POST",
            &format!(
                "{}/public/api/v1/inboxes/{ident}/contacts/{source}/conversations/{visitor_conversation}/messages",
                s.api.base
            ),
            Some(&json!({"content": "are you there?"})),
        )
        .await
        .unwrap();
    assert_unavailable(&client_api, "a Client API message");
    let start = s
        .api
        .try_call(
            "POST",
            &s.api.url("/conversations"),
            Some(&json!({"inbox_id": s.inbox_id, "source_id": source})),
        )
        .await
        .unwrap();
    assert_unavailable(&start, "an Application API conversation");
    let relayed_to_inbox = s
        .api
        .try_call(
            "POST",
            &s.api
                .url(&format!("/conversations/{}/messages", s.conversation)),
            Some(
                &json!({"content": "relayed", "message_type": "incoming", "inbox_id": s.inbox_id}),
            ),
        )
        .await
        .unwrap();
    assert_unavailable(
        &relayed_to_inbox,
        "an Application API relay naming its inbox",
    );

    cluster.up();
    s.post_until_accepted("during").await;
    assert_eq!(s.readyz().await, 200);
    assert_eq!(s.post_message("after").await, 200);
    assert_eq!(
        s.stored_external_ids().await,
        ["before", "during", "after"],
        "each message once, nothing lost"
    );
    s.delivered("after").await;
    assert!(server.terminate().success());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_sqlite_database_answers_503_and_recovers() {
    let db = TestDatabase::new(Backend::Sqlite).await;
    let server = ServerProcess::start(Path::new(BIN), &db, "127.0.0.1:0", &ENV);
    let s = scene(&server).await;
    assert_eq!(s.post_message("before").await, 200);

    // Another process (a backup tool, a careless `sqlite3` shell) holds the write lock.
    let mut intruder = sqlx::sqlite::SqliteConnection::connect(&db.url)
        .await
        .unwrap();
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut intruder)
        .await
        .unwrap();
    assert_eq!(s.post_message("during").await, 503);
    sqlx::query("ROLLBACK")
        .execute(&mut intruder)
        .await
        .unwrap();
    drop(intruder);

    s.post_until_accepted("during").await;
    assert_eq!(
        s.stored_external_ids().await,
        ["before", "during"],
        "each message once, nothing lost"
    );
    s.delivered("during").await;
    assert!(server.terminate().success());
}

fn uuid_like() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}
