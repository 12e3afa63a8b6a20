//! Contacts in and out of CSV files and the contact's journey as one timeline, through the real
//! API on both databases: a thousand-row import with its bad rows reported by row and field and
//! the rest imported, the same file again creating nothing, an export that reads back and
//! escapes spreadsheet formulas, administrators only; the timeline interleaving channels and
//! business events, paged without loss, within what the caller may see.

use serde_json::{Value, json};
use throughline_testkit::{Answer, Backend, TestApp, on_both_databases, read};

use crate::thread;

on_both_databases!(
    a_thousand_rows_import_with_the_bad_ones_reported,
    an_import_matches_contacts_by_their_keys_and_refuses_a_row_that_joins_two,
    the_export_reads_back_and_never_runs_as_a_formula,
    only_administrators_import_or_export_and_bad_files_are_told_so,
    contacts_are_found_by_a_phone_number_typed_as_people_write_it,
    contacts_are_listed_by_the_inbox_they_wrote_through,
    the_timeline_interleaves_channels_and_events_and_pages_without_loss,
    the_timeline_shows_an_agent_only_the_inboxes_they_see,
);

async fn upload(t: &TestApp, token: &str, csv: impl Into<Vec<u8>>) -> Answer {
    let form = reqwest::multipart::Form::new().part(
        "import_file",
        reqwest::multipart::Part::bytes(csv.into())
            .file_name("contacts.csv")
            .mime_str("text/csv")
            .unwrap(),
    );
    let resp = t
        .client
        .post(t.url(&t.acc("/contacts/import")))
        .header("api_access_token", token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    read(resp).await
}

async fn download(t: &TestApp, token: &str, query: &str) -> (u16, String) {
    let resp = t
        .client
        .get(t.url(&t.acc(&format!("/contacts/export{query}"))))
        .header("api_access_token", token)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    if status == 200 {
        assert_eq!(
            resp.headers()["content-type"].to_str().unwrap(),
            "text/csv; charset=utf-8"
        );
        assert!(
            resp.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .starts_with("attachment;")
        );
    }
    (status, resp.text().await.unwrap())
}

fn failed_rows(report: &Value) -> Vec<(i64, String, String)> {
    report["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["row"].as_i64().unwrap(),
                f["field"].as_str().unwrap().to_owned(),
                f["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn contact_by_email(t: &TestApp, email: &str) -> Value {
    let found = t.get(&t.acc(&format!("/contacts/search?q={email}"))).await;
    let list = found["payload"].as_array().unwrap();
    assert_eq!(list.len(), 1, "one contact with {email}: {found}");
    list[0].clone()
}

async fn a_thousand_rows_import_with_the_bad_ones_reported(b: Backend) {
    let t = TestApp::start(b).await;
    let mut csv = String::from("name,email,phone_number,city,plan\n");
    for i in 0..1000 {
        let row = match i {
            // Spreadsheet rows 102, 503 and 904 (the header is row 1).
            100 => "Zły Adres,not-an-email,,Kraków,gold".to_owned(),
            501 => "Bez Numeru,,0800 123,Łódź,".to_owned(),
            902 => "Tylko Imię,,,Gdańsk,".to_owned(),
            _ => format!("Cliente {i},cliente{i}@example.com,,São Paulo,silver"),
        };
        csv.push_str(&row);
        csv.push('\n');
    }
    let report = upload(&t, &t.token, csv.clone()).await.expect(200);
    assert_eq!(report["total_rows"], 1000);
    assert_eq!(report["created"], 997);
    assert_eq!(report["updated"], 0);
    assert_eq!(
        failed_rows(&report),
        vec![
            (102, "email".to_owned(), "invalid".to_owned()),
            (503, "phone_number".to_owned(), "invalid".to_owned()),
            (904, "row".to_owned(), "no_key".to_owned()),
        ]
    );
    let listed = t.get(&t.acc("/contacts")).await;
    assert_eq!(listed["meta"]["count"], 997);
    let one = contact_by_email(&t, "cliente7@example.com").await;
    assert_eq!(one["name"], "Cliente 7");
    assert_eq!(one["additional_attributes"]["city"], "São Paulo");
    assert_eq!(one["custom_attributes"]["plan"], "silver");

    // The same file again: every good row finds its contact; nobody is duplicated.
    let again = upload(&t, &t.token, csv).await.expect(200);
    assert_eq!(
        (again["created"].clone(), again["updated"].clone()),
        (json!(0), json!(997))
    );
    assert_eq!(t.get(&t.acc("/contacts")).await["meta"]["count"], 997);

    // The import is in the audit log, with its counts.
    let imports = crate::audit_entries(&t)
        .await
        .into_iter()
        .filter(|e| e["action"] == "import_contacts")
        .count();
    assert_eq!(imports, 2);
}

async fn an_import_matches_contacts_by_their_keys_and_refuses_a_row_that_joins_two(b: Backend) {
    let t = TestApp::start(b).await;
    let ana = t
        .post(
            &t.acc("/contacts"),
            json!({"name": "Ana", "email": "ana@example.com", "identifier": "crm-1"}),
        )
        .await["payload"]["contact"]
        .clone();
    let bruno = t
        .post(
            &t.acc("/contacts"),
            json!({"name": "Bruno", "phone_number": "+5511912345678"}),
        )
        .await["payload"]["contact"]
        .clone();
    let csv = "identifier;name;email;phone_number;company\n\
               crm-1;Ana Souza;ana.souza@example.com;;Loja da Ana\n\
               ;Bruno Lima;;'+55 11 91234-5678;\n\
               crm-1;Ana?;;+5511912345678;\n";
    let report = upload(&t, &t.token, csv).await.expect(200);
    assert_eq!(report["created"], 0);
    assert_eq!(report["updated"], 2);
    assert_eq!(
        failed_rows(&report),
        vec![(4, "phone_number".to_owned(), "conflict".to_owned())]
    );
    let ana_now = t.get(&t.acc(&format!("/contacts/{}", ana["id"]))).await["payload"].clone();
    assert_eq!(ana_now["name"], "Ana Souza");
    assert_eq!(ana_now["email"], "ana.souza@example.com");
    assert_eq!(
        ana_now["additional_attributes"]["company_name"],
        "Loja da Ana"
    );
    assert_eq!(
        ana_now["phone_number"],
        Value::Null,
        "the refused row changed nothing"
    );
    let bruno_now = t.get(&t.acc(&format!("/contacts/{}", bruno["id"]))).await["payload"].clone();
    assert_eq!(bruno_now["name"], "Bruno Lima");
}

async fn the_export_reads_back_and_never_runs_as_a_formula(b: Backend) {
    let t = TestApp::start(b).await;
    t.post(
        &t.acc("/custom_attribute_definitions"),
        json!({"attribute_display_name": "Plan", "attribute_key": "plan",
               "attribute_display_type": "text", "attribute_model": "contact_attribute"}),
    )
    .await;
    let evil = t
        .post(
            &t.acc("/contacts"),
            json!({"name": "=HYPERLINK(\"http://evil.example\",\"x\")", "email": "evil@example.com",
                   "phone_number": "+48601234567", "custom_attributes": {"plan": "gold"}}),
        )
        .await["payload"]["contact"]["id"]
        .as_i64()
        .unwrap();
    t.post(
        &t.acc(&format!("/contacts/{evil}/labels")),
        json!({"labels": ["vip"]}),
    )
    .await;
    t.post(
        &t.acc("/contacts"),
        json!({"name": "Łucja Wiśniewska", "email": "lucja@example.pl"}),
    )
    .await;

    let (status, all) = download(&t, &t.token, "").await;
    assert_eq!(status, 200);
    let all = all
        .strip_prefix('\u{feff}')
        .expect("a byte-order mark for spreadsheets");
    let mut lines = all.lines();
    assert_eq!(
        lines.next().unwrap(),
        "id,name,email,phone_number,identifier,company_name,city,country,labels,created_at,last_activity_at,plan"
    );
    assert!(
        all.contains("\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\""),
        "{all}"
    );
    assert!(all.contains(",'+48601234567,"), "{all}");
    assert!(all.contains("Łucja Wiśniewska,lucja@example.pl"), "{all}");
    assert!(all.contains(",vip,"), "{all}");
    assert!(all.contains(",gold"), "{all}");

    let (_, vips) = download(&t, &t.token, "?labels[]=vip").await;
    assert_eq!(vips.lines().count(), 2, "{vips}");

    // The file imports back onto the same contacts, unchanged.
    let report = upload(&t, &t.token, all.as_bytes().to_vec())
        .await
        .expect(200);
    assert_eq!(
        (report["created"].clone(), report["updated"].clone()),
        (json!(0), json!(2))
    );
    let back = t.get(&t.acc(&format!("/contacts/{evil}"))).await["payload"].clone();
    assert_eq!(back["name"], "=HYPERLINK(\"http://evil.example\",\"x\")");
    assert_eq!(back["phone_number"], "+48601234567");
}

async fn only_administrators_import_or_export_and_bad_files_are_told_so(b: Backend) {
    let t = TestApp::start(b).await;
    let (_, agent) = t.agent("agent@example.com", "agent").await;
    upload(&t, &agent, "email\na@example.com\n")
        .await
        .expect(403);
    assert_eq!(download(&t, &agent, "").await.0, 403);

    let not_utf8 = upload(
        &t,
        &t.token,
        b"name,email\nJo\xe3o,joao@example.com\n".to_vec(),
    )
    .await
    .expect(422);
    assert!(
        not_utf8["message"].as_str().unwrap().contains("UTF-8"),
        "{not_utf8}"
    );
    upload(&t, &t.token, "plan,tier\ngold,1\n")
        .await
        .expect(422);
    upload(&t, &t.token, "").await.expect(422);
    // An unclosed quote swallows the rest of the file into one cell: that row is refused.
    let quoted = upload(&t, &t.token, "email,name\n\"a@example.com,Ana\n")
        .await
        .expect(200);
    assert_eq!(
        failed_rows(&quoted),
        vec![(2, "row".to_owned(), "columns".to_owned())]
    );
    let json = t
        .admin(
            "POST",
            &t.acc("/contacts/import"),
            Some(json!({"import_file": "x"})),
        )
        .await;
    assert_eq!(json.status, 400);
    assert_eq!(t.get(&t.acc("/contacts")).await["meta"]["count"], 0);
}

async fn contacts_are_found_by_a_phone_number_typed_as_people_write_it(b: Backend) {
    let t = TestApp::start(b).await;
    t.post(
        &t.acc("/contacts"),
        json!({"name": "Ana", "phone_number": "+5511912345678"}),
    )
    .await;
    t.post(
        &t.acc("/contacts"),
        json!({"name": "Jan", "phone_number": "+48601234567"}),
    )
    .await;
    for (typed, who) in [
        ("(11) 91234-5678", "Ana"),
        ("601 234 567", "Jan"),
        ("+48 601-234-567", "Jan"),
    ] {
        let q: String = typed.bytes().map(|b| format!("%{b:02X}")).collect();
        let found = t.get(&t.acc(&format!("/contacts/search?q={q}"))).await;
        let names: Vec<&str> = found["payload"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, vec![who], "{typed}");
    }
}

/// A second channel for the thread's contact: an identity in `inbox`, the conversation that
/// takes it (the open one continues, unless the inbox keeps its conversations separate), and
/// the customer's message through that channel.
async fn write_on(t: &TestApp, inbox: &Value, contact: i64, text: &str) -> i64 {
    let identity = t
        .post(
            &t.acc(&format!("/contacts/{contact}/contact_inboxes")),
            json!({"inbox_id": inbox["id"]}),
        )
        .await;
    let conv = t
        .post(
            &t.acc("/conversations"),
            json!({"inbox_id": inbox["id"], "contact_id": contact,
                   "source_id": identity["source_id"]}),
        )
        .await;
    let id = conv["id"].as_i64().unwrap();
    t.post(
        &t.acc(&format!("/conversations/{id}/messages")),
        json!({"content": text, "message_type": "incoming", "inbox_id": inbox["id"]}),
    )
    .await;
    id
}

async fn timeline(t: &TestApp, token: &str, contact: i64, query: &str) -> Answer {
    t.call(
        "GET",
        &t.acc(&format!("/contacts/{contact}/timeline{query}")),
        Some(token),
        None,
    )
    .await
}

/// (kind, inbox id or 0, text or event type) of each item.
fn summary(page: &Value) -> Vec<(String, i64, String)> {
    page["payload"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let what = i["content"]
                .as_str()
                .or(i["type"].as_str())
                .unwrap_or_default();
            (
                i["kind"].as_str().unwrap().to_owned(),
                i["inbox_id"].as_i64().unwrap_or(0),
                what.to_owned(),
            )
        })
        .collect()
}

async fn tick() {
    // Items are ordered by the millisecond they happened in; a step between them keeps the
    // story's order unambiguous without asserting anything about time.
    tokio::time::sleep(std::time::Duration::from_millis(15)).await;
}

async fn the_timeline_interleaves_channels_and_events_and_pages_without_loss(b: Backend) {
    let t = TestApp::start(b).await;
    let chat = t.api_inbox("Chat", None).await;
    let whatsapp = t.api_inbox("WhatsApp relay", None).await;
    let (chat_id, wa_id) = (
        chat["id"].as_i64().unwrap(),
        whatsapp["id"].as_i64().unwrap(),
    );
    let th = thread(&t, &chat, "Onde está meu pedido?").await;
    let contact = th.contact_id;
    tick().await;
    t.admin(
        "POST",
        &t.acc(&format!("/contacts/{contact}/events")),
        Some(
            json!({"event_id": "order-77", "type": "order_shipped", "title": "Pedido 77 enviado"}),
        ),
    )
    .await
    .expect(201);
    tick().await;
    write_on(&t, &whatsapp, contact, "Chegou, obrigado!").await;

    let page = timeline(&t, &t.token, contact, "?kinds=message,event")
        .await
        .expect(200);
    assert_eq!(
        summary(&page),
        vec![
            ("message".to_owned(), wa_id, "Chegou, obrigado!".to_owned()),
            ("event".to_owned(), 0, "order_shipped".to_owned()),
            (
                "message".to_owned(),
                chat_id,
                "Onde está meu pedido?".to_owned()
            ),
        ]
    );
    assert!(page["meta"].get("next_cursor").is_none(), "{page}");

    // Every kind, a page of two at a time: the same items as one page, none twice.
    let whole = timeline(&t, &t.token, contact, "").await.expect(200);
    let kinds: Vec<&str> = whole["payload"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    // One conversation across both channels.
    assert_eq!(
        kinds.iter().filter(|k| **k == "conversation").count(),
        1,
        "{whole}"
    );
    let mut paged = Vec::new();
    let mut query = "?limit=2".to_owned();
    loop {
        let page = timeline(&t, &t.token, contact, &query).await.expect(200);
        paged.extend(page["payload"].as_array().unwrap().iter().cloned());
        match page["meta"]["next_cursor"].as_str() {
            Some(c) => query = format!("?limit=2&before={c}"),
            None => break,
        }
        assert!(paged.len() <= 20, "paging ends");
    }
    assert_eq!(Value::Array(paged), whole["payload"]);

    timeline(&t, &t.token, contact, "?kinds=orders")
        .await
        .expect(422);
    timeline(&t, &t.token, contact, "?before=yesterday")
        .await
        .expect(422);
    timeline(&t, &t.token, 999_999, "").await.expect(404);
}

async fn the_timeline_shows_an_agent_only_the_inboxes_they_see(b: Backend) {
    let t = TestApp::start(b).await;
    let chat = t.api_inbox("Chat", None).await;
    let hidden = t.api_inbox("Back office", None).await;
    t.admin(
        "PATCH",
        &t.acc(&format!("/inboxes/{}", hidden["id"])),
        Some(json!({"keep_conversations_separate": true})),
    )
    .await
    .expect(200);
    let th = thread(&t, &chat, "Olá").await;
    write_on(&t, &hidden, th.contact_id, "segredo").await;
    let (agent_id, agent) = t.agent("agent@example.com", "agent").await;
    t.post(
        &t.acc("/inbox_members"),
        json!({"inbox_id": chat["id"], "user_ids": [agent_id]}),
    )
    .await;
    let seen = timeline(&t, &agent, th.contact_id, "?kinds=message,conversation")
        .await
        .expect(200);
    let inboxes: Vec<i64> = seen["payload"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["inbox_id"].as_i64().unwrap())
        .collect();
    assert_eq!(inboxes.len(), 2, "{seen}");
    assert!(inboxes.iter().all(|i| json!(i) == chat["id"]), "{seen}");
}

async fn contacts_are_listed_by_the_inbox_they_wrote_through(b: Backend) {
    let t = TestApp::start(b).await;
    let shop = t.api_inbox("Shop", None).await;
    let other = t.api_inbox("Other", None).await;
    let here = thread(&t, &shop, "Oi").await.contact_id;
    let there = thread(&t, &other, "Hi").await.contact_id;
    let ids = |v: Value| -> Vec<i64> {
        v["payload"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect()
    };
    let listed = t
        .get(&t.acc(&format!("/contacts?inbox_id={}", shop["id"])))
        .await;
    assert_eq!(ids(listed.clone()), vec![here]);
    assert_eq!(listed["meta"]["count"], 1);
    let found = t
        .get(&t.acc(&format!("/contacts/search?q=Ana&inbox_id={}", other["id"])))
        .await;
    assert_eq!(ids(found), vec![there]);
    let filtered = t
        .post(
            &t.acc(&format!("/contacts/filter?inbox_id={}", other["id"])),
            json!({"payload": [{"attribute_key": "name", "filter_operator": "contains", "values": ["Ana"]}]}),
        )
        .await;
    assert_eq!(ids(filtered), vec![there]);
    assert_eq!(ids(t.get(&t.acc("/contacts?inbox_id=")).await).len(), 2);
    t.admin("GET", &t.acc("/contacts?inbox_id=shop"), None)
        .await
        .expect(400);
}
