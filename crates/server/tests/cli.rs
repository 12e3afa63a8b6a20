//! The `throughline` binary as an operator uses it: a real child process, real flags, real
//! sockets, real signals — on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};
use throughline_store::testing::TestDatabase;
use throughline_testkit::Backend;

/// A `throughline` command with the database chosen by the test and no `THROUGHLINE_*`
/// variable inherited from whoever runs the tests.
fn throughline(db: &TestDatabase, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_throughline"));
    for (name, _) in std::env::vars() {
        if name.starts_with("THROUGHLINE_") {
            cmd.env_remove(name);
        }
    }
    cmd.args(args)
        .arg("--data-dir")
        .arg(&db.dir)
        .arg("--database-url")
        .arg(&db.url)
        .env("THROUGHLINE_LOG", "warn")
        .current_dir(&db.dir);
    cmd
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

/// The value after `label` on the first line of `text` that starts with it.
fn line_value(text: &str, label: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix(label))
        .map(|v| v.trim().to_owned())
}

/// A running `throughline serve` and what it printed until it was ready.
struct Server {
    child: Child,
    url: String,
    banner: String,
}

impl Server {
    fn start(db: &TestDatabase, env: &[(&str, &str)]) -> Self {
        let mut cmd = throughline(db, &["serve"]);
        cmd.arg("--listen").arg("127.0.0.1:0");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn serve");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut banner = String::new();
        let mut url = None;
        // The URL comes first; on the very first start the credentials follow right after it.
        while let Ok(line) = rx.recv_timeout(Duration::from_secs(60)) {
            banner.push_str(&line);
            banner.push('\n');
            if let Some(u) = line_value(&line, "Throughline is ready at") {
                url = Some(u);
                break;
            }
        }
        while let Ok(line) = rx.recv_timeout(Duration::from_millis(1500)) {
            banner.push_str(&line);
            banner.push('\n');
            if line.starts_with("Password:") {
                break;
            }
        }
        let url = url.unwrap_or_else(|| {
            let _ = child.kill();
            panic!("serve never said it was ready; it printed:\n{banner}")
        });
        Self { child, url, banner }
    }

    /// Sends SIGTERM and waits for a clean exit.
    fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success());
        for _ in 0..300 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        panic!("serve did not stop within 15 s of SIGTERM");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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
