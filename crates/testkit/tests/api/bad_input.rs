//! Bad input gets a precise 4xx, never a 500, and writes nothing.

use serde_json::json;
use throughline_testkit::{Backend, TestApp, on_both_databases};

use crate::thread;

on_both_databases!(malformed_requests_get_precise_errors);
on_both_databases!(nul_characters_are_refused_with_a_4xx);

async fn raw(
    t: &TestApp,
    method: reqwest::Method,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (u16, serde_json::Value) {
    // A fresh connection per case: the server may close one after refusing a body it did not
    // read (413), and a pooled connection reused at that moment fails on the client side.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let mut req = client
        .request(method, t.url(path))
        .header("api_access_token", &t.token);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let a = throughline_testkit::read(req.body(body).send().await.unwrap()).await;
    (a.status, a.body)
}

/// (what, method, path, content type, body, expected status, expected error code)
type Case<'a> = (
    &'a str,
    reqwest::Method,
    String,
    Option<&'a str>,
    Vec<u8>,
    u16,
    &'a str,
);

async fn malformed_requests_get_precise_errors(b: Backend) {
    let t = TestApp::start(b).await;
    let contacts = t.acc("/contacts");
    let cases: Vec<Case> = vec![
        (
            "truncated JSON",
            reqwest::Method::POST,
            contacts.clone(),
            Some("application/json"),
            b"{\"name\": \"Ana\"".to_vec(),
            400,
            "bad_request",
        ),
        (
            "not JSON at all",
            reqwest::Method::POST,
            contacts.clone(),
            Some("application/json"),
            b"<xml/>".to_vec(),
            400,
            "bad_request",
        ),
        (
            "wrong type",
            reqwest::Method::POST,
            contacts.clone(),
            Some("application/json"),
            br#"{"name": 5}"#.to_vec(),
            422,
            "invalid",
        ),
        (
            "wrong content type",
            reqwest::Method::POST,
            contacts.clone(),
            Some("text/plain"),
            b"name=Ana".to_vec(),
            415,
            "unsupported_media_type",
        ),
        (
            "oversized body",
            reqwest::Method::POST,
            contacts.clone(),
            Some("application/json"),
            format!("{{\"name\": \"{}\"}}", "x".repeat(2 * 1024 * 1024)).into_bytes(),
            413,
            "too_large",
        ),
        (
            "invalid id",
            reqwest::Method::GET,
            t.acc("/contacts/abc"),
            None,
            vec![],
            400,
            "bad_request",
        ),
        (
            "invalid account id",
            reqwest::Method::GET,
            "/api/v1/accounts/xyz/contacts".into(),
            None,
            vec![],
            400,
            "bad_request",
        ),
        (
            "unknown id",
            reqwest::Method::GET,
            t.acc("/contacts/123456"),
            None,
            vec![],
            404,
            "not_found",
        ),
        (
            "unknown route",
            reqwest::Method::GET,
            t.acc("/nonsense"),
            None,
            vec![],
            404,
            "not_found",
        ),
        (
            "non-UTF-8 JSON",
            reqwest::Method::POST,
            contacts.clone(),
            Some("application/json"),
            vec![b'{', b'"', 0xff, 0xfe, b'"', b':', b'1', b'}'],
            400,
            "bad_request",
        ),
        (
            "an array where an object belongs",
            reqwest::Method::POST,
            contacts.clone(),
            Some("application/json"),
            b"[1, 2]".to_vec(),
            422,
            "invalid",
        ),
        (
            "deeply nested JSON",
            reqwest::Method::POST,
            contacts.clone(),
            Some("application/json"),
            format!(
                "{{\"custom_attributes\": {{\"a\": {}{}}}}}",
                "[".repeat(10_000),
                "]".repeat(10_000)
            )
            .into_bytes(),
            400,
            "bad_request",
        ),
        (
            "huge number",
            reqwest::Method::POST,
            t.acc("/conversations"),
            Some("application/json"),
            br#"{"inbox_id": 1e400}"#.to_vec(),
            400,
            "bad_request",
        ),
    ];
    for (what, method, path, ct, body, status, code) in cases {
        let (got, body) = raw(&t, method, &path, ct, body).await;
        assert_eq!(got, status, "{what}: {body}");
        assert_eq!(body["error"], code, "{what}: {body}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}"
        );
    }
    assert_eq!(
        t.get(&contacts).await["meta"]["count"],
        0,
        "no partial write"
    );

    // A multi-step write that fails half-way leaves nothing behind: the contact is created
    // before the inbox identity fails, and both roll back together.
    let half = t
        .admin(
            "POST",
            &contacts,
            Some(json!({"name": "Half", "inbox_id": 4242})),
        )
        .await;
    assert_eq!(half.status, 422);
    assert_eq!(t.get(&contacts).await["meta"]["count"], 0);
}

/// The NUL character, which PostgreSQL cannot store or compare in text, is refused where it
/// enters — a JSON string or key, a query, a path, a multipart field — with a 4xx naming the
/// place, on both databases alike (found by `scripts/api-fuzz`: each was a 500 on PostgreSQL).
async fn nul_characters_are_refused_with_a_4xx(b: Backend) {
    let t = TestApp::start(b).await;
    let inbox = t.api_inbox("App", None).await;
    let ident = inbox["inbox_identifier"].as_str().unwrap().to_owned();
    let th = thread(&t, &inbox, "hello").await;
    let messages = t.acc(&format!("/conversations/{}/messages", th.conversation_id));
    let json = Some("application/json");
    // (what, method, path, content type, body, expected status, the field a 422 names)
    let cases: Vec<Case> = vec![
        (
            "message content",
            reqwest::Method::POST,
            messages.clone(),
            json,
            br#"{"content": "a\u0000b"}"#.to_vec(),
            422,
            "content",
        ),
        (
            "a custom attribute's value",
            reqwest::Method::POST,
            t.acc("/contacts"),
            json,
            br#"{"name": "Ana", "custom_attributes": {"plan": ["x", "\u0000"]}}"#.to_vec(),
            422,
            "custom_attributes.plan[1]",
        ),
        (
            "a custom attribute's key",
            reqwest::Method::POST,
            t.acc("/contacts"),
            json,
            br#"{"name": "Ana", "custom_attributes": {"a\u0000": 1}}"#.to_vec(),
            422,
            "custom_attributes",
        ),
        (
            "a sign-in email",
            reqwest::Method::POST,
            "/auth/sign_in".into(),
            json,
            br#"{"email": "a\u0000@example.com", "password": "x"}"#.to_vec(),
            422,
            "email",
        ),
        (
            "a search query",
            reqwest::Method::GET,
            t.acc("/contacts/search?q=a%00b"),
            None,
            vec![],
            400,
            "",
        ),
        (
            "a canned responses search",
            reqwest::Method::GET,
            t.acc("/canned_responses?search=%00"),
            None,
            vec![],
            400,
            "",
        ),
        (
            "an inbox identifier",
            reqwest::Method::GET,
            "/public/api/v1/inboxes/a%00b".into(),
            None,
            vec![],
            400,
            "",
        ),
        (
            "a visitor's identifier",
            reqwest::Method::GET,
            format!("/public/api/v1/inboxes/{ident}/contacts/x%00y"),
            None,
            vec![],
            400,
            "",
        ),
    ];
    for (what, method, path, ct, body, status, field) in cases {
        let (got, answer) = raw(&t, method, &path, ct, body).await;
        assert_eq!(got, status, "{what}: {answer}");
        assert!(
            answer["message"]
                .as_str()
                .is_some_and(|m| m.contains("NUL")),
            "{what}: {answer}"
        );
        if status == 422 {
            assert_eq!(answer["errors"][0]["field"], field, "{what}: {answer}");
        }
    }
    let form = reqwest::multipart::Form::new().text("content", "a\0b");
    let resp = t
        .client
        .post(t.url(&messages))
        .header("api_access_token", &t.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let multipart = throughline_testkit::read(resp).await;
    assert_eq!(multipart.status, 422, "{}", multipart.body);
    assert_eq!(multipart.body["errors"][0]["field"], "content");

    // A backslash before `u0000` is text, not the NUL character.
    let literal = t
        .post(&messages, json!({"content": "C:\\u0000\\dir"}))
        .await;
    assert_eq!(literal["content"], "C:\\u0000\\dir");
    let listed = t.get(&messages).await;
    let contents: Vec<&str> = listed["payload"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["content"].as_str())
        .collect();
    assert_eq!(
        contents,
        ["hello", "C:\\u0000\\dir"],
        "nothing else was written"
    );
    assert_eq!(t.get(&t.acc("/contacts")).await["meta"]["count"], 1);
}
