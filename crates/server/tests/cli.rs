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
    assert!(server.terminate().success());
}

throughline_testkit::on_both_databases!(
    first_start_prints_credentials_once_and_stops_on_sigterm,
    scripted_install_and_admin_subcommands,
    demo_loads_a_sample_the_api_serves,
);
