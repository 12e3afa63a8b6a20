//! The `throughline` binary as an operator uses it: a real child process, real flags, real
//! sockets, real signals — on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};
use throughline_store::testing::TestDatabase;
use throughline_testkit::Backend;
use throughline_testkit::process::{self, ServerProcess, line_value};

const BIN: &str = env!("CARGO_BIN_EXE_throughline");

fn throughline(db: &TestDatabase, args: &[&str]) -> Command {
    process::command(Path::new(BIN), db, args)
}

fn run(db: &TestDatabase, args: &[&str]) -> Output {
    let out = throughline(db, args).output().expect("run throughline");
    assert!(
        out.status.success(),
        "throughline {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

struct Server;

impl Server {
    fn start(db: &TestDatabase, env: &[(&str, &str)]) -> ServerProcess {
        ServerProcess::start(Path::new(BIN), db, "127.0.0.1:0", env)
    }
}

async fn sign_in(url: &str, email: &str, password: &str) -> u16 {
    throughline_testkit::http_client()
        .post(format!("{url}/auth/sign_in"))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn get_json(url: &str) -> (u16, Value) {
    let r = throughline_testkit::http_client()
        .get(url)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// First start: migrations run, an account and an administrator are created and the generated
/// password is printed once; the server answers on the address it printed and stops cleanly on
/// SIGTERM; a second start does not print any password again.
async fn first_start_prints_credentials_once_and_stops_on_sigterm(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let server = Server::start(&db, &[]);
    let email = line_value(&server.banner, "Sign in:").expect("admin email printed");
    let password = line_value(&server.banner, "Password:").expect("password printed");
    assert!(password.len() >= 12, "generated password is strong enough");

    let (status, health) = get_json(&format!("{}/healthz", server.url)).await;
    assert_eq!(status, 200, "{health}");
    let (status, ready) = get_json(&format!("{}/readyz", server.url)).await;
    assert_eq!(status, 200, "{ready}");
    assert_eq!(sign_in(&server.url, &email, &password).await, 200);
    assert_eq!(sign_in(&server.url, &email, "wrong password!").await, 401);

    let status = server.terminate();
    assert!(status.success(), "clean exit on SIGTERM, got {status}");

    let again = Server::start(&db, &[]);
    assert!(
        !again.banner.contains("Password:"),
        "the password is shown only on the very first start:\n{}",
        again.banner
    );
    assert_eq!(sign_in(&again.url, &email, &password).await, 200);
    assert!(again.terminate().success());
}

/// Scripted installs give the administrator's email and password; the operator's subcommands
/// (`migrate`, `admin create-user`, `admin reset-password`) then work on the same database.
async fn scripted_install_and_admin_subcommands(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let migrated = stdout_of(&run(&db, &["migrate"]));
    assert!(migrated.contains("up to date"), "{migrated}");

    let server = Server::start(
        &db,
        &[
            ("THROUGHLINE_ADMIN_EMAIL", "Owner@Example.COM"),
            ("THROUGHLINE_ADMIN_PASSWORD", "a scripted passphrase"),
        ],
    );
    assert!(
        server.banner.contains("THROUGHLINE_ADMIN_PASSWORD"),
        "no password is printed when it was given:\n{}",
        server.banner
    );
    assert_eq!(
        sign_in(&server.url, "owner@example.com", "a scripted passphrase").await,
        200
    );

    // A new agent with a generated password, created while the server runs.
    let created = stdout_of(&run(
        &db,
        &[
            "admin",
            "create-user",
            "--email",
            "ana@example.com",
            "--name",
            "Ana Souza",
        ],
    ));
    let generated = line_value(&created, "Password:").expect("generated password printed");
    assert_eq!(
        sign_in(&server.url, "ana@example.com", &generated).await,
        200
    );

    // Adding an existing user again keeps their password.
    let again = stdout_of(&run(
        &db,
        &[
            "admin",
            "create-user",
            "--email",
            "ana@example.com",
            "--name",
            "Ana",
            "--role",
            "administrator",
        ],
    ));
    assert!(again.contains("unchanged"), "{again}");
    assert!(!again.contains("Password:"), "{again}");
    assert_eq!(
        sign_in(&server.url, "ana@example.com", &generated).await,
        200
    );

    // Reset: the old password stops working, the new one works.
    run(
        &db,
        &[
            "admin",
            "reset-password",
            "--email",
            "ana@example.com",
            "--password",
            "a brand new passphrase",
        ],
    );
    assert_eq!(
        sign_in(&server.url, "ana@example.com", &generated).await,
        401
    );
    assert_eq!(
        sign_in(&server.url, "ana@example.com", "a brand new passphrase").await,
        200
    );

    // Mistakes are reported with a message and a failing exit code, not a panic.
    let bad = throughline(
        &db,
        &[
            "admin",
            "reset-password",
            "--email",
            "nobody@example.com",
            "--password",
            "whatever it is",
        ],
    )
    .output()
    .unwrap();
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("no user with email"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(server.terminate().success());
}

/// `demo` loads a realistic sample into the same database `serve` then shows.
async fn demo_loads_a_sample_the_api_serves(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let out = stdout_of(&run(&db, &["demo", "--contacts", "40"]));
    assert!(out.contains("Loaded demo account"), "{out}");
    let password = out
        .rsplit("password: ")
        .next()
        .map(|p| p.trim().to_owned())
        .expect("demo prints the agents' password");

    let server = Server::start(&db, &[]);
    let client = throughline_testkit::http_client();
    let login = client
        .post(format!("{}/auth/sign_in", server.url))
        .json(&json!({ "email": "ana.souza@acme.example", "password": password }))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let body: Value = login.json().await.unwrap();
    let token = body["data"]["access_token"].as_str().unwrap().to_owned();
    let account = body["data"]["account_id"].as_i64().unwrap();
    let convs: Value = client
        .get(format!(
            "{}/api/v1/accounts/{account}/conversations?assignee_type=all&status=all",
            server.url
        ))
        .header("api_access_token", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let count = convs["data"]["meta"]["all_count"].as_i64().unwrap();
    assert!(count >= 40, "demo conversations visible: {convs}");
    let contacts: Value = client
        .get(format!("{}/api/v1/accounts/{account}/contacts", server.url))
        .header("api_access_token", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(contacts["meta"]["count"].as_i64(), Some(40), "{contacts}");

    let get = |path: String| {
        let request = client
            .get(format!("{}/api/v1/accounts/{account}/{path}", server.url))
            .header("api_access_token", &token);
        async move {
            let r = request.send().await.unwrap();
            assert_eq!(r.status(), 200, "GET {path}");
            r.json::<Value>().await.unwrap()
        }
    };
    let inboxes = get("inboxes".into()).await;
    for channel in ["Channel::Email", "Channel::WebWidget", "Channel::Whatsapp"] {
        assert!(
            inboxes["payload"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["channel_type"] == channel),
            "a demo inbox of type {channel}: {inboxes}"
        );
    }

    let mut people = Vec::new();
    for page in 1.. {
        let list = get(format!("contacts?page={page}")).await;
        let batch = list["payload"].as_array().unwrap().clone();
        if batch.is_empty() {
            break;
        }
        people.extend(batch);
    }
    assert_eq!(people.len(), 40);
    // A Polish surname built like an adjective agrees with the bearer: Anna Kowalska, never
    // Anna Kowalski.
    let polish_women = [
        "Anna",
        "Katarzyna",
        "Magdalena",
        "Agnieszka",
        "Zofia",
        "Małgorzata",
    ];
    let names: Vec<&str> = people.iter().filter_map(|c| c["name"].as_str()).collect();
    for name in &names {
        let mut parts = name.split(' ');
        let (first, last) = (parts.next().unwrap(), parts.next().unwrap_or_default());
        assert!(
            !(polish_women.contains(&first) && (last.ends_with("ski") || last.ends_with("cki"))),
            "{name}: a woman's surname in its masculine form"
        );
    }
    assert!(
        names.iter().any(|n| n.ends_with("ska")),
        "some Polish woman with a feminine surname: {names:?}"
    );

    // Customers' journeys: a conversation carried on two channels, and orders, payments and
    // deliveries happening between its messages.
    let (mut across_channels, mut with_events, mut interleaved) = (0, 0, 0);
    for contact in &people {
        let timeline = get(format!("contacts/{}/timeline?limit=200", contact["id"])).await;
        let items = timeline["payload"].as_array().unwrap();
        // Per conversation: the inboxes its messages came through, and when it began and ended.
        let mut conversations: std::collections::HashMap<i64, (Vec<i64>, i64, i64)> =
            Default::default();
        for m in items.iter().filter(|i| i["kind"] == "message") {
            let at = m["at"].as_i64().unwrap();
            let (inboxes, first, last) = conversations
                .entry(m["conversation_id"].as_i64().unwrap())
                .or_insert((Vec::new(), at, at));
            let inbox = m["inbox_id"].as_i64().unwrap();
            if !inboxes.contains(&inbox) {
                inboxes.push(inbox);
            }
            (*first, *last) = ((*first).min(at), (*last).max(at));
        }
        if conversations.values().any(|(i, _, _)| i.len() >= 2) {
            across_channels += 1;
        }
        let events: Vec<&Value> = items.iter().filter(|i| i["kind"] == "event").collect();
        for event in &events {
            assert!(event["type"].as_str().is_some(), "{event}");
            assert!(event["title"].as_str().is_some(), "{event}");
            assert!(event["properties"].is_object(), "{event}");
        }
        if !events.is_empty() {
            with_events += 1;
        }
        let during = |at: i64| conversations.values().any(|(_, f, l)| *f < at && at < *l);
        if events.iter().any(|e| during(e["at"].as_i64().unwrap())) {
            interleaved += 1;
        }
    }
    assert!(
        across_channels > 0,
        "a conversation with messages from two inboxes"
    );
    assert!(with_events > 0, "business events on some contact");
    assert!(
        interleaved > 0,
        "an event between the messages of a conversation"
    );

    let suggestions = get("merge_suggestions".into()).await;
    let reasons: Vec<&str> = suggestions["payload"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["reason"].as_str())
        .collect();
    for reason in [
        "similar_email",
        "same_address_unverified",
        "email_mentioned",
    ] {
        assert!(
            reasons.contains(&reason),
            "a {reason} merge suggestion: {suggestions}"
        );
    }
    assert!(server.terminate().success());
}

throughline_testkit::on_both_databases!(
    first_start_prints_credentials_once_and_stops_on_sigterm,
    scripted_install_and_admin_subcommands,
    demo_loads_a_sample_the_api_serves,
);
