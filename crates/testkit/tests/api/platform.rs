//! The Platform API, with a platform app token made by the CLI's store call.

use serde_json::json;
use throughline_store::auth::{self, TokenOwner};
use throughline_testkit::{Backend, TestApp, on_both_databases};

on_both_databases!(
    platform_apps_provision_accounts_and_users,
    platform_apps_see_only_what_they_created
);

pub async fn platform_token(t: &TestApp, name: &str) -> String {
    let mut tx = t.app.store.begin().await.unwrap();
    let id = auth::create_platform_app(tx.conn(), name).await.unwrap();
    let token = auth::issue_token(tx.conn(), t.app.store.key(), TokenOwner::PlatformApp(id))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    token
}

/// A second account with its own administrator, made through the Platform API.
pub struct SecondAccount {
    pub id: i64,
    pub admin_id: i64,
    pub token: String,
}

pub async fn second_account(t: &TestApp, name: &str, admin_email: &str) -> SecondAccount {
    let platform = platform_token(t, &format!("{name}-provisioner")).await;
    let account = t
        .call(
            "POST",
            "/platform/api/v1/accounts",
            Some(&platform),
            Some(json!({ "name": name })),
        )
        .await
        .expect(200);
    let user = t
        .call(
            "POST",
            "/platform/api/v1/users",
            Some(&platform),
            Some(json!({"name": format!("{name} admin"), "email": admin_email, "password": "second-account-password-1"})),
        )
        .await
        .expect(200);
    let id = account["id"].as_i64().unwrap();
    t.call(
        "POST",
        &format!("/platform/api/v1/accounts/{id}/account_users"),
        Some(&platform),
        Some(json!({"user_id": user["id"], "role": "administrator"})),
    )
    .await
    .expect(200);
    SecondAccount {
        id,
        admin_id: user["id"].as_i64().unwrap(),
        token: user["access_token"].as_str().unwrap().to_owned(),
    }
}

async fn platform_apps_provision_accounts_and_users(b: Backend) {
    let t = TestApp::start(b).await;
    let token = platform_token(&t, "provisioner").await;
    let call = |m: &'static str, p: String, body: Option<serde_json::Value>| {
        let (t, token) = (&t, token.clone());
        async move { t.call(m, &p, Some(&token), body).await }
    };
    let account = call(
        "POST",
        "/platform/api/v1/accounts".into(),
        Some(json!({"name": "Loja Nova"})),
    )
    .await
    .expect(200);
    let aid = account["id"].as_i64().unwrap();
    let user = call("POST", "/platform/api/v1/users".into(), Some(json!({"name": "Marta", "email": "marta@lojanova.example", "password": "marta-password-1"}))).await.expect(200);
    let uid = user["id"].as_i64().unwrap();
    assert!(user["access_token"].as_str().is_some());
    let au = call(
        "POST",
        format!("/platform/api/v1/accounts/{aid}/account_users"),
        Some(json!({"user_id": uid, "role": "administrator"})),
    )
    .await
    .expect(200);
    assert_eq!(au["role"], "administrator");
    let list = call(
        "GET",
        format!("/platform/api/v1/accounts/{aid}/account_users"),
        None,
    )
    .await
    .expect(200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    // The new user works in the new account.
    let own = t
        .call(
            "GET",
            &format!("/api/v1/accounts/{aid}"),
            Some(user["access_token"].as_str().unwrap()),
            None,
        )
        .await
        .expect(200);
    assert_eq!(own["name"], "Loja Nova");

    assert_eq!(
        call(
            "PATCH",
            format!("/platform/api/v1/accounts/{aid}"),
            Some(json!({"name": "Loja Nova Ltda"}))
        )
        .await
        .expect(200)["name"],
        "Loja Nova Ltda"
    );
    assert_eq!(
        call(
            "PATCH",
            format!("/platform/api/v1/users/{uid}"),
            Some(json!({"display_name": "Marta S."}))
        )
        .await
        .expect(200)["display_name"],
        "Marta S."
    );
    call(
        "DELETE",
        format!("/platform/api/v1/accounts/{aid}/account_users"),
        Some(json!({"user_id": uid})),
    )
    .await
    .expect(200);
    call("DELETE", format!("/platform/api/v1/users/{uid}"), None)
        .await
        .expect(200);
    call("DELETE", format!("/platform/api/v1/accounts/{aid}"), None)
        .await
        .expect(200);
    assert_eq!(
        call("GET", format!("/platform/api/v1/accounts/{aid}"), None)
            .await
            .status,
        404
    );
    // User tokens do not open the Platform API, nor platform tokens the Application API.
    assert_eq!(
        t.call(
            "POST",
            "/platform/api/v1/accounts",
            Some(&t.token),
            Some(json!({"name": "x"}))
        )
        .await
        .status,
        401
    );
    assert_eq!(
        t.call("GET", &t.acc(""), Some(&token), None).await.status,
        401
    );
}

async fn platform_apps_see_only_what_they_created(b: Backend) {
    let t = TestApp::start(b).await;
    let mine = platform_token(&t, "mine").await;
    let theirs = platform_token(&t, "theirs").await;
    let account = t
        .call(
            "POST",
            "/platform/api/v1/accounts",
            Some(&theirs),
            Some(json!({"name": "Theirs"})),
        )
        .await
        .expect(200);
    let user = t
        .call(
            "POST",
            "/platform/api/v1/users",
            Some(&theirs),
            Some(json!({"name": "T", "email": "t@theirs.example"})),
        )
        .await
        .expect(200);
    for (m, p) in [
        (
            "GET",
            format!("/platform/api/v1/accounts/{}", account["id"]),
        ),
        (
            "DELETE",
            format!("/platform/api/v1/accounts/{}", account["id"]),
        ),
        ("GET", format!("/platform/api/v1/users/{}", user["id"])),
        ("GET", format!("/platform/api/v1/accounts/{}", t.account_id)),
    ] {
        assert_eq!(
            t.call(m, &p, Some(&mine), None).await.status,
            404,
            "{m} {p}"
        );
    }
}
