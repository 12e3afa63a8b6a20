//! Backups as an operator takes them: `throughline backup` against a SQLite deployment that keeps
//! ingesting messages, `throughline restore` into an empty directory, and a fresh
//! `throughline serve` on it serving the same data — every message acknowledged before the
//! backup started, the attachments byte for byte, and secrets sealed with the server key.
//! PostgreSQL deployments: the command names pg_dump and archives the attachments and the key.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::RngCore;
use serde_json::{Value, json};
use throughline::backup::{MANIFEST_ENTRY, Manifest};
use throughline_core::crypto::{ServerKey, hmac_sha256_hex};
use throughline_store::testing::TestDatabase;
use throughline_store::{AccountScope, Backend, Store, StoreOptions, email};
use throughline_testkit::process::{ServerProcess, command};
use throughline_testkit::receiver::{Behaviour, Receiver};
use throughline_testkit::remote::Remote;

const BIN: &str = env!("CARGO_BIN_EXE_throughline");
const ADMIN: &str = "backup@acme.test";
const PASSWORD: &str = "a backup-test passphrase";
const SMTP_PASSWORD: &str = "relay-password-0042";

/// Runs `throughline <args>` on `db`'s data directory and database.
async fn run(db: &TestDatabase, args: &[&str]) -> Output {
    let mut cmd = command(Path::new(BIN), db, args);
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The manifest: the archive's last entry.
fn manifest_of(archive: &Path) -> Manifest {
    let file = std::fs::File::open(archive).unwrap();
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut names = Vec::new();
    let mut manifest = None;
    for entry in tar.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        if name == MANIFEST_ENTRY {
            let mut json = String::new();
            entry.read_to_string(&mut json).unwrap();
            manifest = Some(serde_json::from_str(&json).unwrap());
        }
        names.push(name);
    }
    assert_eq!(names.last().map(String::as_str), Some(MANIFEST_ENTRY));
    manifest.unwrap()
}

/// Every message of a conversation, oldest first (the API pages backwards with `before`).
async fn all_messages(api: &Remote, conversation: i64) -> Vec<Value> {
    let mut out = Vec::new();
    let mut before: Option<i64> = None;
    loop {
        let page = match before {
            Some(b) => format!("/conversations/{conversation}/messages?before={b}"),
            None => format!("/conversations/{conversation}/messages"),
        };
        let list = api.get(&page).await["payload"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let Some(oldest) = list.first() else { break };
        before = oldest["id"].as_i64();
        let mut list = list;
        list.append(&mut out);
        out = list;
    }
    out
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; n];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_load_restores_what_was_acknowledged_before_it() {
    let source = TestDatabase::new(Backend::Sqlite).await;
    let receiver = Receiver::start(Behaviour::Accept).await;
    let env = [
        ("THROUGHLINE_ADMIN_EMAIL", ADMIN),
        ("THROUGHLINE_ADMIN_PASSWORD", PASSWORD),
        ("THROUGHLINE_WEBHOOK_RETRY_BASE_MS", "50"),
    ];
    let server = ServerProcess::start(Path::new(BIN), &source, "127.0.0.1:0", &env);
    let api = Remote::sign_in(&server.url, ADMIN, PASSWORD).await;

    // Secrets sealed with the server key: a webhook's signing secret and an SMTP password.
    let hook = api
        .post(
            "/webhooks",
            json!({"url": receiver.url, "subscriptions": ["message_created"]}),
        )
        .await;
    let secret = hook["secret"].as_str().unwrap().to_owned();
    let mail = api
        .post(
            "/inboxes",
            json!({"name": "Mail", "channel": {
                "type": "email", "email": "support@acme.test",
                "smtp_address": "127.0.0.1", "smtp_port": 2525,
                "smtp_login": "support", "smtp_password": SMTP_PASSWORD,
            }}),
        )
        .await;
    let mail_inbox = mail["id"].as_i64().unwrap();
    let inbox = api
        .post(
            "/inboxes",
            json!({"name": "Provider", "channel": {"type": "api"}}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let mut conversations = Vec::new();
    for n in 0..3 {
        conversations.push(api.conversation(inbox, &format!("Customer {n}")).await);
    }

    // Attachments: random bytes, so only the same bytes compare equal.
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for (n, size) in [150_000usize, 1, 70_001].into_iter().enumerate() {
        let name = format!("file-{n}.bin");
        let bytes = random_bytes(size);
        let form = reqwest::multipart::Form::new()
            .text("content", format!("attachment {n}"))
            .part(
                "attachments[]",
                reqwest::multipart::Part::bytes(bytes.clone())
                    .file_name(name.clone())
                    .mime_str("application/octet-stream")
                    .unwrap(),
            );
        let sent = api
            .client
            .post(api.url(&format!("/conversations/{}/messages", conversations[n])))
            .header("api_access_token", &api.token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(sent.status(), 200);
        files.insert(name, bytes);
    }

    // The provider: three senders posting customers' messages until told to stop, noting
    // each one acknowledged.
    let api = Arc::new(api);
    let acknowledged: Arc<Mutex<BTreeSet<usize>>> = Arc::default();
    let next = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut senders = Vec::new();
    for _ in 0..3 {
        let (api, conversations, acknowledged, next, stop) = (
            api.clone(),
            conversations.clone(),
            acknowledged.clone(),
            next.clone(),
            stop.clone(),
        );
        senders.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let conversation = conversations[i % conversations.len()];
                let answer = api
                    .try_call(
                        "POST",
                        &api.url(&format!("/conversations/{conversation}/messages")),
                        Some(&json!({
                            "content": format!("message {i}"),
                            "message_type": "incoming",
                            "source_id": format!("bk-{i:05}"),
                        })),
                    )
                    .await
                    .unwrap();
                assert_eq!(answer.status, 200, "{}", answer.body);
                acknowledged.lock().unwrap().insert(i);
            }
        }));
    }
    let wait_for = |n: usize| {
        let acknowledged = acknowledged.clone();
        async move {
            while acknowledged.lock().unwrap().len() < n {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    };
    wait_for(40).await;

    // The backup, while the senders keep going.
    let archive_dir = TestDatabase::new(Backend::Sqlite).await;
    let archive = archive_dir.dir.join("throughline-backup.tar.gz");
    let before_backup = acknowledged.lock().unwrap().clone();
    let out = run(&source, &["backup", archive.to_str().unwrap()]).await;
    let during = acknowledged.lock().unwrap().len() - before_backup.len();
    assert!(out.status.success(), "backup failed:\n{}", text(&out));
    assert!(text(&out).contains("Backup written to"), "{}", text(&out));
    let ack_when_done = acknowledged.lock().unwrap().len();
    wait_for(ack_when_done + 20).await;
    stop.store(true, Ordering::SeqCst);
    for s in senders {
        s.await.unwrap();
    }
    eprintln!(
        "backup test: {} acknowledged before the backup, {during} while it ran, {} in all",
        before_backup.len(),
        acknowledged.lock().unwrap().len()
    );

    let manifest = manifest_of(&archive);
    assert_eq!(manifest.format, "throughline-backup");
    assert_eq!(manifest.throughline_version, env!("CARGO_PKG_VERSION"));
    assert_eq!(manifest.database.backend, "sqlite");
    assert_eq!(
        manifest.database.schema_version,
        Some(throughline_store::backup::latest_migration(Backend::Sqlite))
    );
    assert!(manifest.database.file.is_some());
    assert_eq!(manifest.attachments.files, 3, "{manifest:?}");
    assert_eq!(
        manifest.attachments.bytes,
        files.values().map(|b| b.len() as u64).sum::<u64>()
    );

    // Restore refuses a directory in use, and restores into an empty one.
    let refused = run(&source, &["restore", archive.to_str().unwrap()]).await;
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("is not empty") && text(&refused).contains("--force"),
        "{}",
        text(&refused)
    );
    let restored = TestDatabase::new(Backend::Sqlite).await;
    let out = run(&restored, &["restore", archive.to_str().unwrap()]).await;
    assert!(out.status.success(), "restore failed:\n{}", text(&out));
    let again = run(&restored, &["restore", archive.to_str().unwrap()]).await;
    assert!(!again.status.success(), "{}", text(&again));
    assert!(text(&again).contains("is not empty"), "{}", text(&again));
    assert_eq!(
        std::fs::read_to_string(restored.dir.join("secret.key"))
            .unwrap()
            .trim(),
        std::fs::read_to_string(source.dir.join("secret.key"))
            .unwrap()
            .trim()
    );

    // The original goes away; a fresh server on the restored directory serves the same data.
    let old_token = api.token.clone();
    assert!(server.terminate().success());
    let copy = ServerProcess::start(Path::new(BIN), &restored, "127.0.0.1:0", &env);
    assert!(
        !copy.banner.contains("Password:"),
        "the restored copy started as a new deployment:\n{}",
        copy.banner
    );
    let api = Remote::sign_in(&copy.url, ADMIN, PASSWORD).await;
    let profile = api
        .client
        .get(format!("{}/api/v1/profile", copy.url))
        .header("api_access_token", &old_token)
        .send()
        .await
        .unwrap();
    assert_eq!(profile.status(), 200, "a token issued before the backup");

    let mut stored: BTreeMap<String, usize> = BTreeMap::new();
    let mut restored_files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for conversation in &conversations {
        for m in all_messages(&api, *conversation).await {
            if let Some(source_id) = m["source_id"].as_str() {
                *stored.entry(source_id.to_owned()).or_default() += 1;
            }
            for a in m["attachments"].as_array().into_iter().flatten() {
                let url = a["data_url"].as_str().unwrap();
                assert!(url.starts_with(&copy.url), "{url}");
                let got = api.client.get(url).send().await.unwrap();
                assert_eq!(got.status(), 200, "{url}");
                let name = url.rsplit('/').next().unwrap().to_owned();
                restored_files.insert(name, got.bytes().await.unwrap().to_vec());
            }
        }
    }
    let missing: Vec<usize> = before_backup
        .iter()
        .copied()
        .filter(|i| !stored.contains_key(&format!("bk-{i:05}")))
        .collect();
    assert!(
        missing.is_empty(),
        "acknowledged before the backup, missing from the restored copy: {missing:?}"
    );
    assert!(
        stored.values().all(|n| *n == 1),
        "a message stored twice: {stored:?}"
    );
    let all_acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        stored
            .keys()
            .all(|s| all_acknowledged.iter().any(|i| format!("bk-{i:05}") == *s)),
        "the restored copy has a message nobody acknowledged"
    );
    assert_eq!(
        restored_files, files,
        "attachments' bytes after the restore"
    );

    // The webhook's secret, sealed with the key, still opens: new deliveries are signed with it.
    let conversation = conversations[0];
    let posted = api
        .post(
            &format!("/conversations/{conversation}/messages"),
            json!({"content": "after the restore", "message_type": "incoming", "source_id": "after-restore"}),
        )
        .await;
    let id = posted["id"].as_i64().unwrap();
    let delivery = loop {
        let found = receiver
            .received()
            .into_iter()
            .find(|r| r.body["id"].as_i64() == Some(id));
        if let Some(r) = found {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut signed = delivery
        .header("x-throughline-timestamp")
        .unwrap()
        .into_bytes();
    signed.push(b'.');
    signed.extend_from_slice(&delivery.raw);
    assert_eq!(
        delivery.header("x-throughline-signature").unwrap(),
        format!("sha256={}", hmac_sha256_hex(secret.as_bytes(), &signed))
    );
    assert!(copy.terminate().success());

    // The SMTP password opens with the restored key.
    let key = ServerKey::from_base64(
        std::fs::read_to_string(restored.dir.join("secret.key"))
            .unwrap()
            .trim(),
    )
    .unwrap();
    let store = Store::open(&StoreOptions::new(&restored.url), key)
        .await
        .unwrap();
    let mut conn = store.read().await.unwrap();
    let channel = email::get(
        &mut conn,
        store.key(),
        &AccountScope::system(api.account),
        mail_inbox,
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(channel.smtp.password.as_deref(), Some(SMTP_PASSWORD));
    drop(conn);
    store.close().await;
}

/// `--force` replaces a used directory's database — and its stale WAL, which SQLite would
/// otherwise replay over the restored file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_with_force_replaces_the_database_and_its_wal() {
    let source = TestDatabase::new(Backend::Sqlite).await;
    let out = run(&source, &["migrate"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let blob = source
        .dir
        .join("attachments/1/0199aa00-1111-7000-8000-000000000001");
    std::fs::create_dir_all(blob.parent().unwrap()).unwrap();
    std::fs::write(&blob, b"bytes of a file").unwrap();
    let archive = source.dir.join("copy.tar.gz");
    let out = run(&source, &["backup", archive.to_str().unwrap()]).await;
    assert!(out.status.success(), "{}", text(&out));
    let again = run(&source, &["backup", archive.to_str().unwrap()]).await;
    assert!(
        !again.status.success() && text(&again).contains("already exists"),
        "{}",
        text(&again)
    );

    let target = TestDatabase::new(Backend::Sqlite).await;
    for junk in [
        "throughline.db",
        "throughline.db-wal",
        "secret.key",
        "other",
    ] {
        std::fs::write(target.dir.join(junk), b"not what it seems").unwrap();
    }
    let refused = run(&target, &["restore", archive.to_str().unwrap()]).await;
    assert!(!refused.status.success(), "{}", text(&refused));
    let out = run(&target, &["restore", "--force", archive.to_str().unwrap()]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(!target.dir.join("throughline.db-wal").exists());
    assert_eq!(
        std::fs::read(
            target
                .dir
                .join("attachments/1/0199aa00-1111-7000-8000-000000000001")
        )
        .unwrap(),
        b"bytes of a file"
    );
    assert_eq!(
        std::fs::read_to_string(target.dir.join("secret.key")).unwrap(),
        std::fs::read_to_string(source.dir.join("secret.key")).unwrap()
    );
    let version = throughline_store::backup::check_sqlite_file(&target.dir.join("throughline.db"))
        .await
        .unwrap();
    assert_eq!(
        version,
        throughline_store::backup::latest_migration(Backend::Sqlite)
    );

    // A damaged archive is refused before anything is replaced: one whose database changed by a
    // byte (a valid gzip stream, so only the manifest's digest can tell), and one cut short.
    // (Flipping a byte of the compressed file is no sure damage: a bit deflate never reads can
    // change and leave the content, checksum included, as it was.)
    let mut tar_bytes = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&archive).unwrap())
        .read_to_end(&mut tar_bytes)
        .unwrap();
    // The database is the first entry: its bytes start after the 512-byte header.
    tar_bytes[512 + 4096] ^= 0xff;
    let mut altered = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut altered, &tar_bytes).unwrap();
    let original = std::fs::read(&archive).unwrap();
    for (name, bytes) in [
        ("altered.tar.gz", altered.finish().unwrap()),
        ("cut.tar.gz", original[..original.len() * 2 / 3].to_vec()),
    ] {
        let damaged = source.dir.join(name);
        std::fs::write(&damaged, bytes).unwrap();
        let empty = TestDatabase::new(Backend::Sqlite).await;
        let out = run(&empty, &["restore", damaged.to_str().unwrap()]).await;
        assert!(!out.status.success(), "{name}: {}", text(&out));
        assert!(
            std::fs::read_dir(&empty.dir).unwrap().next().is_none(),
            "{name}: a refused restore leaves the directory as it was"
        );
    }
}

/// On PostgreSQL the database is pg_dump's job: the command says how, and archives the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_backup_names_pg_dump_and_keeps_attachments_and_key() {
    let source = TestDatabase::new(Backend::Postgres).await;
    let out = run(&source, &["migrate"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let blob = source
        .dir
        .join("attachments/7/0199aa00-2222-7000-8000-000000000002");
    std::fs::create_dir_all(blob.parent().unwrap()).unwrap();
    std::fs::write(&blob, b"a customer's photo").unwrap();
    let archive = source.dir.join("pg.tar.gz");
    let out = run(&source, &["backup", archive.to_str().unwrap()]).await;
    assert!(out.status.success(), "{}", text(&out));
    let expected = format!(
        "pg_dump --format=custom --no-owner --file='{}' '{}'",
        source.dir.join("pg.pgdump").display(),
        source.url
    );
    assert!(text(&out).contains(&expected), "{}", text(&out));
    let manifest = manifest_of(&archive);
    assert_eq!(manifest.database.backend, "postgres");
    assert!(manifest.database.file.is_none());
    assert_eq!(
        manifest.database.schema_version,
        Some(throughline_store::backup::latest_migration(
            Backend::Postgres
        ))
    );

    // Restored next to the same database: key and attachments in place.
    let dir = TestDatabase::new(Backend::Sqlite).await;
    let target = PathBuf::from(&dir.dir).join("data");
    let mut cmd = std::process::Command::new(BIN);
    for (name, _) in std::env::vars() {
        if name.starts_with("THROUGHLINE_") {
            cmd.env_remove(name);
        }
    }
    cmd.args(["restore", archive.to_str().unwrap(), "--data-dir"])
        .arg(&target)
        .args(["--database-url", &source.url]);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("pg_restore"), "{}", text(&out));
    assert_eq!(
        std::fs::read(target.join("attachments/7/0199aa00-2222-7000-8000-000000000002")).unwrap(),
        b"a customer's photo"
    );
    assert_eq!(
        std::fs::read_to_string(target.join("secret.key")).unwrap(),
        std::fs::read_to_string(source.dir.join("secret.key")).unwrap()
    );
}
