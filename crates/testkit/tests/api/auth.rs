//! Signing in, tokens, sessions, throttling, roles.

use serde_json::json;
use throughline_testkit::{ADMIN_EMAIL, ADMIN_PASSWORD, Backend, TestApp, on_both_databases};

on_both_databases!(
    sign_in_answers_like_chatwoot_and_tokens_work,
    wrong_credentials_are_refused_and_throttled,
    session_cookie_works_for_the_web_app_and_refuses_cross_site_writes,
    agents_cannot_administer,
    profile_update_and_token_rotation,
);

async fn sign_in_answers_like_chatwoot_and_tokens_work(b: Backend) {
    let t = TestApp::start(b).await;
    let data = t
        .call(
            "POST",
            "/auth/sign_in",
            None,
            Some(json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})),
        )
        .await
        .expect(200)["data"]
        .clone();
    assert_eq!(data["email"], ADMIN_EMAIL);
    assert_eq!(data["account_id"], t.account_id);
    assert_eq!(data["accounts"][0]["role"], "administrator");
    assert_eq!(
        data["access_token"], t.token,
        "the token is stable across sign-ins"
    );

    let profile = t.get("/api/v1/profile").await;
    assert_eq!(profile["access_token"], t.token);
    assert_eq!(profile["accounts"][0]["name"], "Acme");

    for token in [None, Some("not-a-token")] {
        let a = t.call("GET", "/api/v1/profile", token, None).await;
        assert_eq!(a.status, 401, "{token:?}");
        assert_eq!(a.body["error"], "unauthorized");
    }
}

async fn wrong_credentials_are_refused_and_throttled(b: Backend) {
    let t = TestApp::start(b).await;
    let unknown = t
        .call(
            "POST",
            "/auth/sign_in",
            None,
            Some(json!({"email": "nobody@acme.test", "password": "whatever-123"})),
        )
        .await;
    assert_eq!(unknown.status, 401);
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let a = t
            .call(
                "POST",
                "/auth/sign_in",
                None,
                Some(json!({"email": ADMIN_EMAIL, "password": "wrong-password"})),
            )
            .await;
        statuses.push(a.status);
    }
    assert_eq!(
        statuses,
        vec![401, 401, 401, 401, 401, 429],
        "five tries, then a lock"
    );
    // Locked: even the right password waits.
    let locked = t
        .call(
            "POST",
            "/auth/sign_in",
            None,
            Some(json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})),
        )
        .await;
    assert_eq!(locked.status, 429, "{}", locked.body);
    assert!(locked.headers.get("retry-after").is_some());
}

async fn session_cookie_works_for_the_web_app_and_refuses_cross_site_writes(b: Backend) {
    let t = TestApp::start(b).await;
    let resp = t
        .client
        .post(t.url("/auth/sign_in"))
        .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    let set_cookie = resp
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"),
        "{set_cookie}"
    );
    let cookie = set_cookie.split(';').next().unwrap().to_owned();

    let profile = t
        .client
        .get(t.url("/api/v1/profile"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(profile.status(), 200);

    let path = t.url(&t.acc("/labels"));
    let cross = t
        .client
        .post(&path)
        .header("cookie", &cookie)
        .header("origin", "https://evil.example")
        .json(&json!({"title": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);
    let same = t
        .client
        .post(&path)
        .header("cookie", &cookie)
        .header("origin", t.base.as_str())
        .json(&json!({"title": "ok"}))
        .send()
        .await
        .unwrap();
    assert_eq!(same.status(), 200);

    let out = t
        .client
        .delete(t.url("/auth/sign_out"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 200);
    let after = t
        .client
        .get(t.url("/api/v1/profile"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 401);
}

async fn agents_cannot_administer(b: Backend) {
    let t = TestApp::start(b).await;
    let (_, agent) = t.agent("agent@acme.test", "agent").await;
    let inbox = t.api_inbox("Support", None).await;
    let admin_only = [
        (
            "POST",
            t.acc("/inboxes"),
            Some(json!({"name": "x", "channel": {"type": "api"}})),
        ),
        (
            "PATCH",
            t.acc(&format!("/inboxes/{}", inbox["id"])),
            Some(json!({"name": "y"})),
        ),
        (
            "POST",
            t.acc("/agents"),
            Some(json!({"name": "n", "email": "n@acme.test", "role": "agent"})),
        ),
        ("GET", t.acc("/webhooks"), None),
        (
            "POST",
            t.acc("/webhooks"),
            Some(json!({"url": "http://127.0.0.1:9/h", "subscriptions": ["message_created"]})),
        ),
        ("GET", t.acc("/agent_bots"), None),
        ("POST", t.acc("/teams"), Some(json!({"name": "t"}))),
        ("PATCH", t.acc(""), Some(json!({"name": "Hijacked"}))),
        (
            "POST",
            t.acc("/inbox_members"),
            Some(json!({"inbox_id": inbox["id"], "user_ids": [1]})),
        ),
    ];
    for (method, path, body) in admin_only {
        let a = t.call(method, &path, Some(&agent), body).await;
        assert_eq!(a.status, 403, "{method} {path}: {}", a.body);
    }
    // Agents see only inboxes they are members of.
    let visible = t
        .call("GET", &t.acc("/inboxes"), Some(&agent), None)
        .await
        .expect(200);
    assert_eq!(visible["payload"].as_array().unwrap().len(), 0);
    assert_eq!(t.get(&t.acc("")).await["name"], "Acme", "nothing changed");
}

async fn profile_update_and_token_rotation(b: Backend) {
    let t = TestApp::start(b).await;
    let updated = t
        .admin(
            "PUT",
            "/api/v1/profile",
            Some(json!({"profile": {"display_name": "Boss", "locale": "pt-BR"}})),
        )
        .await
        .expect(200);
    assert_eq!(updated["available_name"], "Boss");
    assert_eq!(updated["locale"], "pt-BR");
    let bad = t
        .admin("PUT", "/api/v1/profile", Some(json!({"locale": "xx"})))
        .await;
    assert_eq!(bad.status, 422);
    let wrong = t
        .admin(
            "PUT",
            "/api/v1/profile",
            Some(json!({"password": "new-password-1", "current_password": "nope"})),
        )
        .await;
    assert_eq!(wrong.status, 422);
    t.admin(
        "PUT",
        "/api/v1/profile",
        Some(json!({"password": "new-password-1", "current_password": ADMIN_PASSWORD})),
    )
    .await
    .expect(200);
    t.call(
        "POST",
        "/auth/sign_in",
        None,
        Some(json!({"email": ADMIN_EMAIL, "password": "new-password-1"})),
    )
    .await
    .expect(200);

    let rotated = t
        .admin("POST", "/api/v1/profile/reset_access_token", None)
        .await
        .expect(200);
    let new_token = rotated["access_token"].as_str().unwrap();
    assert_ne!(new_token, t.token);
    assert_eq!(
        t.call("GET", "/api/v1/profile", Some(&t.token), None)
            .await
            .status,
        401
    );
    assert_eq!(
        t.call("GET", "/api/v1/profile", Some(new_token), None)
            .await
            .status,
        200
    );
}
