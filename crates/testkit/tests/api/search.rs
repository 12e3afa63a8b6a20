//! The top bar's search over the real API on both databases: words without their diacritics
//! (Portuguese and Polish, `ł` included), prefixes, notes, contacts and conversation ids, only
//! within the inboxes the caller may see, and bad input told so.

use serde_json::{Value, json};
use throughline_testkit::{Backend, TestApp, on_both_databases};

use crate::thread;

on_both_databases!(
    search_finds_words_typed_without_diacritics_within_what_the_caller_sees,
    search_refuses_what_it_cannot_look_for,
);

async fn search(t: &TestApp, token: Option<&str>, q: &str) -> Value {
    let path = t.acc(&format!("/search?q={}", urlencode(q)));
    match token {
        Some(token) => t.call("GET", &path, Some(token), None).await.expect(200),
        None => t.get(&path).await,
    }
}

fn urlencode(q: &str) -> String {
    q.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn contents(found: &Value) -> Vec<String> {
    found["payload"]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn search_finds_words_typed_without_diacritics_within_what_the_caller_sees(b: Backend) {
    let t = TestApp::start(b).await;
    let shop = t.api_inbox("Loja", None).await;
    let hidden = t.api_inbox("Internal", None).await;
    let polish = thread(&t, &shop, "Gdzie jest moje zamówienie z Łodzi?").await;
    let portuguese = thread(&t, &shop, "O pedido não chegou, preciso de ajuda").await;
    let secret = thread(&t, &hidden, "zamówienie tajne").await;
    t.post(
        &t.acc(&format!(
            "/conversations/{}/messages",
            polish.conversation_id
        )),
        json!({"content": "Sprawdzę paczkę w magazynie", "private": true}),
    )
    .await;

    let found = search(&t, None, "zamowienie").await;
    let mut got = contents(&found);
    got.sort();
    assert_eq!(
        got,
        ["Gdzie jest moje zamówienie z Łodzi?", "zamówienie tajne"],
        "an administrator sees every inbox"
    );
    assert_eq!(
        contents(&search(&t, None, "lodzi").await),
        ["Gdzie jest moje zamówienie z Łodzi?"]
    );
    assert_eq!(
        contents(&search(&t, None, "NAO cheg").await),
        ["O pedido não chegou, preciso de ajuda"]
    );
    // Notes are found too; the private flag comes with them.
    let note = search(&t, None, "paczke").await;
    assert_eq!(note["payload"]["messages"][0]["private"], true);
    assert_eq!(
        note["payload"]["messages"][0]["conversation_id"],
        polish.conversation_id
    );
    assert_eq!(note["payload"]["messages"][0]["inbox"]["name"], "Loja");
    // Every word must be there.
    assert!(contents(&search(&t, None, "zamowienie pedido").await).is_empty());
    // The message's conversation is among the conversations found, with its contact.
    let convs: Vec<i64> = found["payload"]["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert!(convs.contains(&polish.conversation_id), "{found}");
    assert_eq!(
        found["payload"]["conversations"][0]["contact"]["name"],
        "Ana Souza"
    );
    // A display id finds its conversation; a name finds the contact.
    let by_id = search(&t, None, &format!("#{}", portuguese.conversation_id)).await;
    assert_eq!(
        by_id["payload"]["conversations"][0]["id"],
        portuguese.conversation_id
    );
    let by_name = search(&t, None, "souza").await;
    assert!(
        !by_name["payload"]["contacts"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // An agent of the shop's inbox only: nothing of the other inbox.
    let (ana, token) = t.agent("ana@acme.test", "agent").await;
    t.post(
        &t.acc("/inbox_members"),
        json!({"inbox_id": shop["id"], "user_ids": [ana]}),
    )
    .await;
    let seen = search(&t, Some(&token), "zamowienie").await;
    assert_eq!(contents(&seen), ["Gdzie jest moje zamówienie z Łodzi?"]);
    assert!(
        seen["payload"]["conversations"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["id"] != secret.conversation_id),
        "{seen}"
    );
}

async fn search_refuses_what_it_cannot_look_for(b: Backend) {
    let t = TestApp::start(b).await;
    for (q, status) in [("", 422), ("%20%20", 422)] {
        let a = t
            .admin("GET", &t.acc(&format!("/search?q={q}")), None)
            .await;
        assert_eq!(a.status, status, "{q}: {}", a.body);
    }
    let a = t.admin("GET", &t.acc("/search"), None).await;
    assert_eq!(a.status, 422);
    let long = "a".repeat(201);
    let a = t
        .admin("GET", &t.acc(&format!("/search?q={long}")), None)
        .await;
    assert_eq!(a.status, 422);
    // Symbols only: nothing to look for in messages, and no error.
    let found = search(&t, None, "\"*'() & | ! :").await;
    assert_eq!(found["payload"]["messages"], json!([]));
}
