//! Bad input gets a precise 4xx, never a 500, and writes nothing.

use serde_json::json;
use throughline_testkit::{Backend, TestApp, on_both_databases};

on_both_databases!(malformed_requests_get_precise_errors);

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
