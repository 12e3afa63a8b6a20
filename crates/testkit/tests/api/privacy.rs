//! Privacy tools (LGPD / GDPR): a contact's data export holds everything the contact page
//! shows; erasing a contact leaves nothing of it in any table, in the blob store or in search,
//! and keeps a receipt; retention deletes or anonymises resolved conversations only, in
//! batches.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use throughline_core::privacy::{ANONYMISED_NAME, ANONYMISED_TEXT};
use throughline_service::email::Ingested;
use throughline_testkit::receiver::{Behaviour, Receiver};
use throughline_testkit::{Backend, TestApp, on_both_databases};

use crate::email::{ingest, mail};

on_both_databases!(
    export_holds_everything_and_erasure_leaves_nothing,
    retention_deletes_resolved_conversations_in_batches,
    retention_anonymises_resolved_conversations_keeping_counts,
    privacy_tools_are_for_administrators_and_check_their_input,
);

const EMAIL: &str = "mariana.unique@privacy.test";
const PHONE: &str = "+5511987654321";
const PHONE_DIGITS: &str = "987654321";
/// A word only the erased contact's data contains (messages, files, raw email, notes, events).
const SECRET: &str = "zebrafrog42";
/// What the other contact wrote: it must survive the erasure.
const OTHER_TEXT: &str = "kiwiparrot77";

/// Every `table.column` whose text holds `needle`, found by walking the schema itself, so a
/// table added later is searched too.
async fn rows_containing(t: &TestApp, needle: &str) -> Vec<String> {
    let mut conn = t.app.store.read().await.unwrap();
    let columns: Vec<(String, String)> = match t.backend {
        Backend::Sqlite => sqlx::query_as(
            "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' ORDER BY m.name, p.name",
        ),
        Backend::Postgres => sqlx::query_as(
            "SELECT table_name::text, column_name::text FROM information_schema.columns \
             WHERE table_schema = 'public' ORDER BY 1, 2",
        ),
    }
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    assert!(columns.len() > 100, "schema looks empty");
    let mut hits = Vec::new();
    for (table, column) in columns {
        // Byte-wise on SQLite, so binary columns (the full-text index's pages) count too.
        let sql = match t.backend {
            Backend::Sqlite => format!(
                "SELECT COUNT(*) FROM \"{table}\" WHERE instr(CAST(\"{column}\" AS BLOB), CAST($1 AS BLOB)) > 0"
            ),
            Backend::Postgres => {
                format!("SELECT COUNT(*) FROM \"{table}\" WHERE CAST(\"{column}\" AS TEXT) LIKE $1")
            }
        };
        let pattern = match t.backend {
            Backend::Sqlite => needle.to_owned(),
            Backend::Postgres => format!("%{needle}%"),
        };
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(pattern)
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        if n > 0 {
            hits.push(format!("{table}.{column} ({n})"));
        }
    }
    hits
}

/// Every file of the blob store, by key, with its bytes.
fn blob_files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path: PathBuf = entry.path();
            if path.is_dir() {
                walk(&path, root, out);
            } else {
                let key = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.insert(key, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// Blob keys the database holds for the given conversations (files, raw emails) and exports.
async fn blob_keys_of(t: &TestApp, conversation_ids: &[i64]) -> BTreeSet<String> {
    let mut conn = t.app.store.read().await.unwrap();
    let mut keys = BTreeSet::new();
    for id in conversation_ids {
        let files: Vec<Option<String>> = sqlx::query_scalar(
            "SELECT a.blob_key FROM attachments a JOIN messages m ON m.id = a.message_id \
             WHERE m.conversation_id = $1",
        )
        .bind(id)
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        let raw: Vec<Option<String>> = sqlx::query_scalar(
            "SELECT raw_blob_key FROM email_messages WHERE conversation_id = $1",
        )
        .bind(id)
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        keys.extend(files.into_iter().chain(raw).flatten());
    }
    keys
}

async fn internal_id(t: &TestApp, display_id: i64) -> i64 {
    let mut conn = t.app.store.read().await.unwrap();
    sqlx::query_scalar("SELECT id FROM conversations WHERE account_id = $1 AND display_id = $2")
        .bind(t.account_id)
        .bind(display_id)
        .fetch_one(&mut *conn)
        .await
        .unwrap()
}

/// An agent's message with one attached file.
async fn reply_with_file(t: &TestApp, display_id: i64, text: &str, name: &str, bytes: &[u8]) {
    let form = reqwest::multipart::Form::new()
        .text("content", text.to_owned())
        .part(
            "attachments[]",
            reqwest::multipart::Part::bytes(bytes.to_vec())
                .file_name(name.to_owned())
                .mime_str("text/plain")
                .unwrap(),
        );
    let answer = t
        .client
        .post(t.url(&t.acc(&format!("/conversations/{display_id}/messages"))))
        .header("api_access_token", &t.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
}

/// A new conversation with the contact (an agent opens it, so it is always a new one), and the
/// customer's message in it through the Client API.
async fn customer_conversation(
    t: &TestApp,
    inbox: &Value,
    (contact_id, source_id): (i64, &str),
    text: &str,
) -> i64 {
    let ident = inbox["inbox_identifier"].as_str().unwrap();
    let conv = t
        .post(
            &t.acc("/conversations"),
            json!({"inbox_id": inbox["id"], "contact_id": contact_id}),
        )
        .await;
    let id = conv["id"].as_i64().unwrap();
    t.call(
        "POST",
        &format!("/public/api/v1/inboxes/{ident}/contacts/{source_id}/conversations/{id}/messages"),
        None,
        Some(json!({"content": text})),
    )
    .await
    .expect(200);
    id
}

/// A contact created by the integration in `inbox` (its email and phone proven).
async fn contact_in(t: &TestApp, inbox: &Value, body: Value) -> (i64, String) {
    let mut body = body;
    body["inbox_id"] = inbox["id"].clone();
    let created = t.post(&t.acc("/contacts"), body).await;
    (
        created["payload"]["contact"]["id"].as_i64().unwrap(),
        created["payload"]["contact_inbox"]["source_id"]
            .as_str()
            .unwrap()
            .to_owned(),
    )
}

async fn messages_of(t: &TestApp, display_id: i64) -> Vec<Value> {
    t.get(&t.acc(&format!("/conversations/{display_id}/messages")))
        .await["payload"]
        .as_array()
        .unwrap()
        .clone()
}

async fn download(t: &TestApp, path: &str) -> (u16, Vec<u8>, String) {
    let resp = t
        .client
        .get(t.url(path))
        .header("api_access_token", &t.token)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let kind = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, resp.bytes().await.unwrap().to_vec(), kind)
}

fn unzip(bytes: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut out = BTreeMap::new();
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).unwrap();
        let mut data = Vec::new();
        f.read_to_end(&mut data).unwrap();
        out.insert(f.name().unwrap().into_owned(), data);
    }
    out
}

async fn export_holds_everything_and_erasure_leaves_nothing(b: Backend) {
    let t = TestApp::start(b).await;
    let rx = Receiver::start(Behaviour::Accept).await;
    t.post(
        &t.acc("/webhooks"),
        json!({"url": rx.url, "subscriptions": [
            "message_created", "message_updated", "conversation_created", "conversation_updated",
            "conversation_status_changed", "contact_created", "contact_updated"]}),
    )
    .await;
    let api = t.api_inbox("App", Some(&rx.url)).await;
    let email_inbox = t.email_inbox("Support", "support@acme.test", None).await;
    t.post(&t.acc("/labels"), json!({"title": "vip"})).await;

    // The contact: email and phone, an attribute, a label, a note, a business event.
    let (contact_id, source_id) = contact_in(
        &t,
        &api,
        json!({"name": "Mariana Silva", "email": EMAIL, "phone_number": PHONE,
               "custom_attributes": {"loyalty": format!("gold-{SECRET}")}}),
    )
    .await;
    t.post(
        &t.acc(&format!("/contacts/{contact_id}/labels")),
        json!({"labels": ["vip"]}),
    )
    .await;
    t.post(
        &t.acc(&format!("/contacts/{contact_id}/notes")),
        json!({"content": format!("prefers WhatsApp {SECRET}")}),
    )
    .await;
    t.admin(
        "POST",
        &t.acc(&format!("/contacts/{contact_id}/events")),
        Some(json!({"event_id": "order-1", "type": "order_placed", "title": format!("Order {SECRET}"),
               "properties": {"total": 120.5, "currency": "BRL"}})),
    )
    .await
    .expect(201);

    // Two conversations on the API channel: customer messages, an agent's file, a private note.
    let first = customer_conversation(
        &t,
        &api,
        (contact_id, &source_id),
        &format!("Olá {SECRET}, meu pedido?"),
    )
    .await;
    reply_with_file(
        &t,
        first,
        "Segue a nota",
        "nota.txt",
        format!("nota fiscal {SECRET}").as_bytes(),
    )
    .await;
    t.post(
        &t.acc(&format!("/conversations/{first}/messages")),
        json!({"content": format!("internal: customer {SECRET} is upset"), "private": true}),
    )
    .await;
    t.post(
        &t.acc(&format!("/conversations/{first}/toggle_status")),
        json!({"status": "resolved"}),
    )
    .await;
    let second = customer_conversation(
        &t,
        &api,
        (contact_id, &source_id),
        &format!("Outra dúvida {SECRET}"),
    )
    .await;

    // An email with an attachment, from her address: a claim only, so a new contact with a
    // merge suggestion, then merged into her by an agent.
    let body = format!(
        "Content-Type: multipart/mixed; boundary=\"zz\"\r\n\r\n--zz\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nBom dia, {SECRET} por email\r\n--zz\r\n\
         Content-Type: text/plain; name=\"boleto.txt\"\r\n\
         Content-Disposition: attachment; filename=\"boleto.txt\"\r\n\r\nboleto {SECRET} anexo\r\n--zz--"
    );
    let raw = mail(
        &format!("Mariana <{EMAIL}>"),
        "support@acme.test",
        "Boleto",
        "m1@privacy.test",
        None,
        &[],
        "",
        &body,
    );
    let Ingested::Message {
        display_id: third, ..
    } = ingest(&t, email_inbox["id"].as_i64().unwrap(), &raw).await
    else {
        panic!("the email was not stored as a message")
    };
    let conv = t.get(&t.acc(&format!("/conversations/{third}"))).await;
    let email_contact = conv["meta"]["sender"]["id"].as_i64().unwrap();
    assert_ne!(email_contact, contact_id, "an email's From is only a claim");
    t.post(
        &t.acc("/actions/contact_merge"),
        json!({"base_contact_id": contact_id, "mergee_contact_id": email_contact}),
    )
    .await;

    // Someone else, who must be left alone.
    let (other_id, other_source) = contact_in(
        &t,
        &api,
        json!({"name": "Other Person", "email": "other@privacy.test"}),
    )
    .await;
    let other_conv = customer_conversation(
        &t,
        &api,
        (other_id, &other_source),
        &format!("Hello {OTHER_TEXT}"),
    )
    .await;
    reply_with_file(
        &t,
        other_conv,
        "Here",
        "other.txt",
        format!("file {OTHER_TEXT}").as_bytes(),
    )
    .await;

    // Webhook deliveries carry her data.
    t.eventually(
        Duration::from_secs(20),
        "deliveries with her messages",
        || {
            let rx = &rx;
            async move {
                rx.received()
                    .iter()
                    .any(|r| contains(&r.raw, SECRET) && r.body["event"] == "message_created")
                    .then_some(())
            }
        },
    )
    .await;

    // ---- Export
    let started = t
        .admin(
            "POST",
            &t.acc(&format!("/contacts/{contact_id}/export")),
            None,
        )
        .await
        .expect(202);
    let export_id = started["id"].as_i64().unwrap();
    assert!(
        ["pending", "running"].contains(&started["status"].as_str().unwrap()),
        "{started}"
    );
    let done = t
        .eventually(Duration::from_secs(60), "the export", || {
            let t = &t;
            async move {
                let e = t
                    .get(&t.acc(&format!("/contacts/{contact_id}/exports/{export_id}")))
                    .await;
                assert_ne!(e["status"], "failed", "{e}");
                (e["status"] == "done").then_some(e)
            }
        })
        .await;
    assert_eq!(done["progress"]["percent"], 100, "{done}");
    let (status, zip_bytes, kind) = download(&t, done["download_url"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(kind, "application/zip");
    assert_eq!(done["byte_size"], zip_bytes.len());
    let files = unzip(&zip_bytes);
    let readme = String::from_utf8(files["README.txt"].clone()).unwrap();
    assert!(
        readme.contains("contact.json") && readme.contains("conversations/"),
        "{readme}"
    );

    // Everything the contact page shows.
    let contact_json: Value = serde_json::from_slice(&files["contact.json"]).unwrap();
    let shown = t.get(&t.acc(&format!("/contacts/{contact_id}"))).await;
    assert_eq!(contact_json["contact"], shown["payload"]);
    assert_eq!(contact_json["contact"]["email"], EMAIL);
    assert_eq!(contact_json["contact"]["phone_number"], PHONE);
    let identities = contact_json["identities"].as_array().unwrap();
    assert_eq!(
        identities.len(),
        shown["payload"]["contact_inboxes"]
            .as_array()
            .unwrap()
            .len()
    );
    assert!(
        identities.len() >= 2,
        "API and email identities: {identities:?}"
    );
    assert_eq!(
        contact_json["labels"],
        t.get(&t.acc(&format!("/contacts/{contact_id}/labels")))
            .await["payload"]
    );
    assert_eq!(
        contact_json["notes"],
        t.get(&t.acc(&format!("/contacts/{contact_id}/notes")))
            .await
    );
    assert_eq!(
        contact_json["business_events"],
        t.get(&t.acc(&format!("/contacts/{contact_id}/events")))
            .await["payload"]
    );
    let open_suggestions = t
        .get(&t.acc(&format!("/contacts/{contact_id}/merge_suggestions")))
        .await;
    for s in open_suggestions["payload"].as_array().unwrap() {
        assert!(
            contact_json["merge_suggestions"]
                .as_array()
                .unwrap()
                .contains(s)
        );
    }
    assert_eq!(
        contact_json["merges"][0]["merged_contact_id"], email_contact,
        "{contact_json}"
    );
    let conversations = t
        .get(&t.acc(&format!("/contacts/{contact_id}/conversations")))
        .await["payload"]
        .as_array()
        .unwrap()
        .clone();
    let displayed: BTreeSet<i64> = conversations
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(displayed, BTreeSet::from([first, second, third]));
    let listed: BTreeSet<i64> = contact_json["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["display_id"].as_i64().unwrap())
        .collect();
    assert_eq!(listed, displayed);
    for display_id in &displayed {
        let file: Value =
            serde_json::from_slice(&files[&format!("conversations/{display_id}.json")]).unwrap();
        assert_eq!(file["conversation"]["id"], *display_id);
        let exported = file["messages"].as_array().unwrap();
        let api_messages = messages_of(&t, *display_id).await;
        assert_eq!(
            exported.len(),
            api_messages.len(),
            "conversation {display_id}"
        );
        for (e, a) in exported.iter().zip(&api_messages) {
            for key in [
                "id",
                "content",
                "content_attributes",
                "private",
                "message_type",
                "created_at",
                "attachments",
            ] {
                assert_eq!(
                    e[key], a[key],
                    "conversation {display_id}, message {}: {key}",
                    a["id"]
                );
            }
        }
    }
    let first_file: Value =
        serde_json::from_slice(&files[&format!("conversations/{first}.json")]).unwrap();
    assert!(
        first_file["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["private"] == true),
        "private notes are exported"
    );
    // The files and the raw email themselves.
    let attached: Vec<&String> = files
        .keys()
        .filter(|k| k.starts_with("attachments/"))
        .collect();
    assert_eq!(attached.len(), 2, "{:?}", files.keys().collect::<Vec<_>>());
    assert!(
        attached
            .iter()
            .any(|k| files[*k] == format!("nota fiscal {SECRET}").into_bytes())
    );
    assert!(
        attached
            .iter()
            .any(|k| contains(&files[*k], &format!("boleto {SECRET} anexo")))
    );
    let emails: Vec<&String> = files.keys().filter(|k| k.starts_with("emails/")).collect();
    assert_eq!(emails.len(), 1);
    assert_eq!(files[emails[0]], raw);
    assert!(
        !files.values().any(|f| contains(f, OTHER_TEXT)),
        "nobody else's data"
    );

    // ---- Erase
    let root = t.app.blobs.root().to_path_buf();
    let her_conversations = [
        internal_id(&t, first).await,
        internal_id(&t, second).await,
        internal_id(&t, third).await,
    ];
    let mut her_keys = blob_keys_of(&t, &her_conversations).await;
    let export_key: String = {
        let mut conn = t.app.store.read().await.unwrap();
        sqlx::query_scalar("SELECT blob_key FROM privacy_exports WHERE id = $1")
            .bind(export_id)
            .fetch_one(&mut *conn)
            .await
            .unwrap()
    };
    her_keys.insert(export_key);
    assert_eq!(
        her_keys.len(),
        4,
        "two files, one raw email, one export: {her_keys:?}"
    );
    let before = blob_files(&root);
    for k in &her_keys {
        assert!(before.contains_key(k), "{k} is on disk before");
    }
    let other_keys = blob_keys_of(&t, &[internal_id(&t, other_conv).await]).await;
    assert_eq!(other_keys.len(), 1);
    for needle in [EMAIL, PHONE_DIGITS, SECRET] {
        assert!(
            !rows_containing(&t, needle).await.is_empty(),
            "{needle} is stored before"
        );
    }

    let receipt = t
        .admin(
            "POST",
            &t.acc(&format!("/contacts/{contact_id}/erase")),
            None,
        )
        .await
        .expect(200);
    assert_eq!(receipt["kind"], "contact");
    assert_eq!(receipt["contact_id"], contact_id);
    assert!(receipt["requested_by"].is_i64());
    let counts = &receipt["counts"];
    assert_eq!(counts["conversations"], 3, "{receipt}");
    assert_eq!(counts["contacts"], 1);
    assert_eq!(counts["merged_contacts"], 1);
    assert_eq!(counts["merge_records"], 1);
    assert_eq!(counts["business_events"], 1);
    assert_eq!(counts["contact_notes"], 1);
    assert_eq!(counts["contact_labels"], 1);
    assert_eq!(counts["attachments"], 2);
    assert_eq!(counts["raw_emails"], 1);
    assert_eq!(counts["private_notes"], 1);
    assert_eq!(counts["exports"], 1);
    assert_eq!(counts["files"], 4);
    assert!(counts["messages"].as_i64().unwrap() >= 5, "{receipt}");
    assert!(counts["identities"].as_i64().unwrap() >= 2, "{receipt}");
    assert!(counts["outbox_events"].as_i64().unwrap() > 0, "{receipt}");
    assert!(counts["deliveries"].as_i64().unwrap() > 0, "{receipt}");
    assert!(
        counts["email_thread_keys"].as_i64().unwrap() >= 1,
        "{receipt}"
    );
    let text = receipt.to_string();
    for needle in [EMAIL, PHONE_DIGITS, SECRET, "Mariana"] {
        assert!(
            !text.contains(needle),
            "the receipt holds no personal data: {text}"
        );
    }
    let kept = t.get(&t.acc("/erasure_receipts")).await;
    assert_eq!(kept["payload"][0], receipt, "the receipt is kept");

    // Nothing of her in any table, column by column.
    for needle in [EMAIL, PHONE_DIGITS, SECRET] {
        assert_eq!(
            rows_containing(&t, needle).await,
            Vec::<String>::new(),
            "{needle}"
        );
    }
    // Nor in the blob store: her files, raw email and export are gone, other files stay.
    let after = blob_files(&root);
    for k in &her_keys {
        assert!(!after.contains_key(k), "{k} is still on disk");
    }
    for k in &other_keys {
        assert!(
            after.contains_key(k),
            "another contact's file {k} was deleted"
        );
    }
    for (k, bytes) in &after {
        assert!(!contains(bytes, SECRET), "{k} still holds her text");
        assert!(!contains(bytes, EMAIL), "{k} still holds her address");
    }
    // Nor through the API.
    t.admin("GET", &t.acc(&format!("/contacts/{contact_id}")), None)
        .await
        .expect(404);
    for display_id in [first, second, third] {
        t.admin("GET", &t.acc(&format!("/conversations/{display_id}")), None)
            .await
            .expect(404);
    }
    t.admin(
        "GET",
        &t.acc(&format!("/contacts/{contact_id}/exports/{export_id}")),
        None,
    )
    .await
    .expect(404);
    let found = t
        .get(&t.acc(&format!("/conversations?status=all&q={SECRET}")))
        .await;
    assert_eq!(found["data"]["payload"], json!([]), "{found}");
    let found = t.get(&t.acc("/contacts/search?q=mariana")).await;
    assert_eq!(found["payload"], json!([]), "{found}");
    let found = t
        .get(&t.acc(&format!("/contacts/search?q={PHONE_DIGITS}")))
        .await;
    assert_eq!(found["payload"], json!([]), "{found}");
    // Everyone else is intact.
    let other = t.get(&t.acc(&format!("/contacts/{other_id}"))).await;
    assert_eq!(other["payload"]["email"], "other@privacy.test");
    let other_messages = messages_of(&t, other_conv).await;
    assert!(
        other_messages
            .iter()
            .any(|m| m["content"] == format!("Hello {OTHER_TEXT}"))
    );
    assert_eq!(
        other_messages
            .iter()
            .map(|m| m["attachments"].as_array().map_or(0, Vec::len))
            .sum::<usize>(),
        1
    );
    let found = t
        .get(&t.acc(&format!("/conversations?status=all&q={OTHER_TEXT}")))
        .await;
    assert_eq!(found["data"]["payload"].as_array().unwrap().len(), 1);
    assert!(!rows_containing(&t, "other@privacy.test").await.is_empty());
    // Erasing again: nothing to erase.
    t.admin(
        "POST",
        &t.acc(&format!("/contacts/{contact_id}/erase")),
        None,
    )
    .await
    .expect(404);
}

/// Sets the account's policy through the API.
async fn set_policy(t: &TestApp, months: i64, action: &str) {
    let got = t
        .admin(
            "PUT",
            &t.acc("/data_retention"),
            Some(json!({"resolved_conversations_after_months": months, "action": action})),
        )
        .await
        .expect(200);
    let stored = if action == "anonymize" {
        "anonymise"
    } else {
        action
    };
    assert_eq!(got["data_retention"]["action"], stored);
    let account = t.get(&t.acc("")).await;
    assert_eq!(
        account["settings"]["data_retention"]["resolved_conversations_after_months"],
        months
    );
}

async fn resolve(t: &TestApp, display_id: i64) {
    t.post(
        &t.acc(&format!("/conversations/{display_id}/toggle_status")),
        json!({"status": "resolved"}),
    )
    .await;
}

async fn pass(
    t: &TestApp,
    batch: i64,
    max_batches: usize,
) -> throughline_service::privacy::RetentionPass {
    throughline_service::privacy::retention_pass(
        &t.app.store,
        t.app.blobs.as_ref(),
        batch,
        max_batches,
    )
    .await
    .unwrap()
}

async fn retention_deletes_resolved_conversations_in_batches(b: Backend) {
    let t = TestApp::start(b).await;
    let api = t.api_inbox("App", None).await;
    // A: one resolved and one open conversation. B and C: one resolved conversation each.
    let (a, a_source) =
        contact_in(&t, &api, json!({"name": "Ana", "email": "ana@keep.test"})).await;
    let a_old = customer_conversation(&t, &api, (a, &a_source), "old question of ana").await;
    let a_open = customer_conversation(&t, &api, (a, &a_source), "still waiting, ana").await;
    let (bee, b_source) = contact_in(
        &t,
        &api,
        json!({"name": "Bea", "phone_number": "+5511911112222"}),
    )
    .await;
    let b_old = customer_conversation(&t, &api, (bee, &b_source), "bea's old words").await;
    reply_with_file(&t, b_old, "file for bea", "bea.txt", b"bea's receipt").await;
    let (c, c_source) = contact_in(&t, &api, json!({"name": "Caio"})).await;
    let c_old = customer_conversation(&t, &api, (c, &c_source), "caio's old words").await;
    let b_keys = blob_keys_of(&t, &[internal_id(&t, b_old).await]).await;
    assert_eq!(b_keys.len(), 1);
    for id in [a_old, b_old, c_old] {
        resolve(&t, id).await;
    }
    let a_open_messages = messages_of(&t, a_open).await;

    // No policy: nothing happens. A year's policy: nothing is old enough.
    assert_eq!(pass(&t, 2, 10).await.batches, 0);
    set_policy(&t, 12, "delete").await;
    assert_eq!(pass(&t, 2, 10).await.batches, 0);
    // Resolved a year and a month ago (as if the test had waited): due now.
    {
        let mut tx = t.app.store.begin().await.unwrap();
        sqlx::query(
            "UPDATE conversations SET resolved_at = resolved_at - $1 WHERE status = 'resolved'",
        )
        .bind(400_i64 * 24 * 3600 * 1000)
        .execute(tx.conn())
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }

    // Batches of two, one batch per pass: the third conversation waits for the next pass.
    let first = pass(&t, 2, 1).await;
    assert_eq!(first.batches, 1);
    assert!(first.more_due);
    let second = pass(&t, 2, 1).await;
    assert_eq!(second.batches, 1);
    assert!(!second.more_due);
    assert_eq!(pass(&t, 2, 1).await.batches, 0);

    for id in [a_old, b_old, c_old] {
        t.admin("GET", &t.acc(&format!("/conversations/{id}")), None)
            .await
            .expect(404);
    }
    // Open conversations and their contact stay; contacts left with nothing go completely.
    assert_eq!(messages_of(&t, a_open).await, a_open_messages);
    assert_eq!(
        t.get(&t.acc(&format!("/contacts/{a}"))).await["payload"]["email"],
        "ana@keep.test"
    );
    for gone in [bee, c] {
        t.admin("GET", &t.acc(&format!("/contacts/{gone}")), None)
            .await
            .expect(404);
    }
    let root = t.app.blobs.root().to_path_buf();
    let files = blob_files(&root);
    for k in &b_keys {
        assert!(
            !files.contains_key(k),
            "an expired conversation's file is deleted"
        );
    }
    for needle in [
        "old question of ana",
        "bea's old words",
        "caio's old words",
        "bea's receipt",
        "11911112222",
    ] {
        assert_eq!(
            rows_containing(&t, needle).await,
            Vec::<String>::new(),
            "{needle}"
        );
    }
    let found = t.get(&t.acc("/conversations?status=all&q=words")).await;
    assert_eq!(found["data"]["payload"], json!([]));
    // Each batch left a receipt, counts only.
    let receipts = t.get(&t.acc("/erasure_receipts")).await["payload"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(receipts.len(), 2);
    assert!(
        receipts
            .iter()
            .all(|r| r["kind"] == "retention" && r.get("requested_by").is_none())
    );
    let total: i64 = receipts
        .iter()
        .map(|r| r["counts"]["conversations"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 3);
    let contacts: i64 = receipts
        .iter()
        .map(|r| r["counts"]["contacts"].as_i64().unwrap_or(0))
        .sum();
    assert_eq!(contacts, 2);

    // Turned off, it stays off.
    let off = t
        .admin("DELETE", &t.acc("/data_retention"), None)
        .await
        .expect(200);
    assert_eq!(off["data_retention"], Value::Null);
    resolve(&t, a_open).await;
    assert_eq!(pass(&t, 10, 10).await.batches, 0);
    assert!(
        messages_of(&t, a_open)
            .await
            .iter()
            .any(|m| m["content"] == "still waiting, ana")
    );
}

async fn retention_anonymises_resolved_conversations_keeping_counts(b: Backend) {
    let t = TestApp::start(b).await;
    let api = t.api_inbox("App", None).await;
    let (d, d_source) = contact_in(
        &t,
        &api,
        json!({"name": "Davi Anon", "email": "davi@anon.test", "phone_number": "+5511933334444"}),
    )
    .await;
    let d_conv = customer_conversation(&t, &api, (d, &d_source), "davi's private words").await;
    reply_with_file(
        &t,
        d_conv,
        "a file for davi",
        "davi.txt",
        b"davi's contract",
    )
    .await;
    let (e, e_source) = contact_in(
        &t,
        &api,
        json!({"name": "Eva Keep", "email": "eva@anon.test"}),
    )
    .await;
    let e_old = customer_conversation(&t, &api, (e, &e_source), "eva's old words").await;
    let e_open = customer_conversation(&t, &api, (e, &e_source), "eva's current words").await;
    let d_keys = blob_keys_of(&t, &[internal_id(&t, d_conv).await]).await;
    resolve(&t, d_conv).await;
    resolve(&t, e_old).await;
    let d_before = messages_of(&t, d_conv).await;
    let e_before = messages_of(&t, e_old).await;

    set_policy(&t, 0, "anonymize").await;
    let done = pass(&t, 10, 10).await;
    assert_eq!(done.batches, 1);
    // Done once: a second pass finds nothing left to anonymise.
    assert_eq!(pass(&t, 10, 10).await.batches, 0);

    // Same messages, same times and kinds; texts and files replaced.
    let d_after = messages_of(&t, d_conv).await;
    assert_eq!(d_after.len(), d_before.len());
    for (before, after) in d_before.iter().zip(&d_after) {
        for key in ["id", "message_type", "created_at", "private", "sender_type"] {
            assert_eq!(before[key], after[key], "{key}");
        }
        if before["message_type"] != 2 {
            assert_eq!(after["content"], ANONYMISED_TEXT);
        }
        assert_eq!(
            before["attachments"].as_array().map_or(0, Vec::len),
            after["attachments"].as_array().map_or(0, Vec::len),
            "attachments are counted still"
        );
    }
    let files = blob_files(t.app.blobs.root());
    for k in &d_keys {
        assert!(!files.contains_key(k), "the file itself is gone");
    }
    let conv = t.get(&t.acc(&format!("/conversations/{d_conv}"))).await;
    assert_eq!(conv["status"], "resolved");
    // Davi had nothing else: his details are placeholders now.
    let davi = t.get(&t.acc(&format!("/contacts/{d}"))).await["payload"].clone();
    assert_eq!(davi["name"], ANONYMISED_NAME);
    assert!(
        davi.get("email").is_none() && davi.get("phone_number").is_none(),
        "{davi}"
    );
    // Eva has an open conversation: her details and that conversation stay.
    let eva = t.get(&t.acc(&format!("/contacts/{e}"))).await["payload"].clone();
    assert_eq!(eva["email"], "eva@anon.test");
    assert_eq!(messages_of(&t, e_old).await.len(), e_before.len());
    assert!(
        messages_of(&t, e_open)
            .await
            .iter()
            .any(|m| m["content"] == "eva's current words")
    );
    for needle in [
        "davi's private words",
        "davi's contract",
        "davi@anon.test",
        "33334444",
        "eva's old words",
    ] {
        assert_eq!(
            rows_containing(&t, needle).await,
            Vec::<String>::new(),
            "{needle}"
        );
    }
    let receipts = t.get(&t.acc("/erasure_receipts")).await["payload"].clone();
    assert_eq!(receipts[0]["kind"], "retention");
    assert_eq!(receipts[0]["counts"]["conversations_anonymised"], 2);
    assert_eq!(receipts[0]["counts"]["contacts_anonymised"], 1);
}

async fn privacy_tools_are_for_administrators_and_check_their_input(b: Backend) {
    let t = TestApp::start(b).await;
    let api = t.api_inbox("App", None).await;
    let (contact_id, _) = contact_in(&t, &api, json!({"name": "Fay"})).await;
    let (_, agent) = t.agent("agent@privacy.test", "agent").await;
    for (method, path) in [
        ("POST", format!("/contacts/{contact_id}/export")),
        ("GET", format!("/contacts/{contact_id}/exports/1")),
        ("GET", format!("/contacts/{contact_id}/exports/1/download")),
        ("POST", format!("/contacts/{contact_id}/erase")),
        ("GET", "/erasure_receipts".to_owned()),
        ("GET", "/data_retention".to_owned()),
        ("PUT", "/data_retention".to_owned()),
        ("DELETE", "/data_retention".to_owned()),
    ] {
        let body = (method == "PUT")
            .then(|| json!({"resolved_conversations_after_months": 1, "action": "delete"}));
        let got = t.call(method, &t.acc(&path), Some(&agent), body).await;
        assert_eq!(got.status, 403, "{method} {path}: {}", got.body);
    }
    t.get(&t.acc(&format!("/contacts/{contact_id}"))).await;
    let bad = t
        .admin(
            "PUT",
            &t.acc("/data_retention"),
            Some(json!({"resolved_conversations_after_months": -3, "action": "shred"})),
        )
        .await
        .expect(422);
    let text = bad.to_string();
    assert!(
        text.contains("data_retention.resolved_conversations_after_months")
            && text.contains("data_retention.action"),
        "{text}"
    );
    t.admin("PUT", &t.acc("/data_retention"), Some(json!("delete")))
        .await
        .expect(422);
    assert_eq!(
        t.get(&t.acc("/data_retention")).await["data_retention"],
        Value::Null
    );
    t.admin("POST", &t.acc("/contacts/999999/export"), None)
        .await
        .expect(404);
    t.admin("POST", &t.acc("/contacts/999999/erase"), None)
        .await
        .expect(404);
    t.admin(
        "GET",
        &t.acc(&format!("/contacts/{contact_id}/exports/999999")),
        None,
    )
    .await
    .expect(404);
    // Chatwoot's plain delete keeps its meaning and answers as before.
    t.admin("DELETE", &t.acc(&format!("/contacts/{contact_id}")), None)
        .await
        .expect(200);
    assert_eq!(
        t.get(&t.acc("/erasure_receipts")).await["payload"],
        json!([])
    );
}
