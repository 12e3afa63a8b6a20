//! Chatwoot's Client API: a full round trip, identity verification, privacy of visitors.

use serde_json::json;
use throughline_core::crypto::hmac_sha256_hex;
use throughline_testkit::{Backend, TestApp, on_both_databases};

on_both_databases!(
    client_api_round_trip,
    identity_verification_is_enforced,
    a_rotated_identity_secret_replaces_the_old_one_at_once,
    visitors_see_only_their_own_threads,
);

async fn client_api_round_trip(b: Backend) {
    let t = TestApp::start(b).await;
    let inbox = t.api_inbox("App", None).await;
    let ident = inbox["inbox_identifier"].as_str().unwrap();
    let public = t
        .call(
            "GET",
            &format!("/public/api/v1/inboxes/{ident}"),
            None,
            None,
        )
        .await
        .expect(200);
    assert_eq!(public["name"], "App");

    let contact = t
        .call(
            "POST",
            &format!("/public/api/v1/inboxes/{ident}/contacts"),
            None,
            Some(json!({"name": "Jan Kowalski", "email": "Jan@Poczta.example"})),
        )
        .await
        .expect(200);
    assert_eq!(
        contact["email"], "jan@poczta.example",
        "emails are normalised"
    );
    let src = contact["source_id"].as_str().unwrap();
    let base = format!("/public/api/v1/inboxes/{ident}/contacts/{src}");
    assert_eq!(
        t.call("GET", &base, None, None).await.expect(200)["name"],
        "Jan Kowalski"
    );
    let patched = t
        .call(
            "PATCH",
            &base,
            None,
            Some(json!({"phone_number": "+48 512 345 678"})),
        )
        .await
        .expect(200);
    assert_eq!(patched["phone_number"], "+48512345678");

    let conv = t
        .call(
            "POST",
            &format!("{base}/conversations"),
            None,
            Some(json!({})),
        )
        .await
        .expect(200);
    let id = conv["id"].as_i64().unwrap();
    let sent = t
        .call(
            "POST",
            &format!("{base}/conversations/{id}/messages"),
            None,
            Some(json!({"content": "Dzień dobry, gdzie moja paczka?", "echo_id": "e-1"})),
        )
        .await
        .expect(200);
    assert_eq!(sent["message_type"], 0);
    assert_eq!(sent["sender"]["type"], "contact");

    // The agent sees it in the inbox and answers.
    let list = t.get(&t.acc("/conversations")).await;
    assert_eq!(list["data"]["meta"]["all_count"], 1);
    let row = &list["data"]["payload"][0];
    assert_eq!(row["id"], id);
    assert_eq!(row["meta"]["sender"]["name"], "Jan Kowalski");
    assert_eq!(row["unread_count"], 1);
    assert!(row["waiting_since"].as_i64().is_some());
    t.post(
        &t.acc(&format!("/conversations/{id}/messages")),
        json!({"content": "Już sprawdzam!"}),
    )
    .await;
    t.post(
        &t.acc(&format!("/conversations/{id}/messages")),
        json!({"content": "internal: courier delayed", "private": true}),
    )
    .await;

    // The visitor sees the reply but never the private note.
    let msgs = t
        .call(
            "GET",
            &format!("{base}/conversations/{id}/messages"),
            None,
            None,
        )
        .await
        .expect(200);
    let contents: Vec<&str> = msgs
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(
        contents,
        vec!["Dzień dobry, gdzie moja paczka?", "Już sprawdzam!"]
    );
    let agent_msg = &msgs[1];
    assert_eq!(agent_msg["sender"]["type"], "user");
    assert!(
        agent_msg["sender"].get("email").is_none(),
        "agents' emails stay private"
    );

    t.call(
        "POST",
        &format!("{base}/conversations/{id}/toggle_typing"),
        None,
        Some(json!({"typing_status": "on"})),
    )
    .await
    .expect(200);
    assert_eq!(
        t.call(
            "POST",
            &format!("{base}/conversations/{id}/toggle_typing"),
            None,
            Some(json!({"typing_status": "maybe"}))
        )
        .await
        .status,
        422
    );
    t.call(
        "POST",
        &format!("{base}/conversations/{id}/update_last_seen"),
        None,
        None,
    )
    .await
    .expect(200);
    let resolved = t
        .call(
            "POST",
            &format!("{base}/conversations/{id}/toggle_status"),
            None,
            None,
        )
        .await
        .expect(200);
    assert_eq!(resolved["status"], "resolved");
    let all = t
        .call("GET", &format!("{base}/conversations"), None, None)
        .await
        .expect(200);
    assert_eq!(all.as_array().unwrap().len(), 1);
    assert!(all[0]["contact_last_seen_at"].as_i64().is_some());
}

async fn identity_verification_is_enforced(b: Backend) {
    let t = TestApp::start(b).await;
    let inbox = t.api_inbox("Verified", None).await;
    let id = inbox["id"].as_i64().unwrap();
    let updated = t
        .admin(
            "PATCH",
            &t.acc(&format!("/inboxes/{id}")),
            Some(json!({"hmac_mandatory": true})),
        )
        .await
        .expect(200);
    let secret = updated["hmac_token"].as_str().unwrap().to_owned();
    let ident = inbox["inbox_identifier"].as_str().unwrap();
    let path = format!("/public/api/v1/inboxes/{ident}/contacts");

    let missing = t
        .call(
            "POST",
            &path,
            None,
            Some(json!({"identifier": "user-42", "name": "X"})),
        )
        .await;
    assert_eq!(missing.status, 401);
    let forged = t.call("POST", &path, None, Some(json!({"identifier": "user-42", "identifier_hash": hmac_sha256_hex(b"wrong", b"user-42")}))).await;
    assert_eq!(forged.status, 401);
    let good_hash = hmac_sha256_hex(secret.as_bytes(), b"user-42");
    let first = t
        .call(
            "POST",
            &path,
            None,
            Some(
                json!({"identifier": "user-42", "identifier_hash": good_hash, "name": "Verified"}),
            ),
        )
        .await
        .expect(200);
    // A verified identifier finds the same contact again.
    let second = t
        .call(
            "POST",
            &path,
            None,
            Some(json!({"identifier": "user-42", "identifier_hash": good_hash})),
        )
        .await
        .expect(200);
    assert_eq!(first["id"], second["id"]);
    assert_ne!(first["source_id"], second["source_id"]);
    let contacts = t.get(&t.acc("/contacts")).await;
    assert_eq!(contacts["meta"]["count"], 1);
}

async fn visitors_see_only_their_own_threads(b: Backend) {
    let t = TestApp::start(b).await;
    let inbox = t.api_inbox("Shop", None).await;
    let ident = inbox["inbox_identifier"].as_str().unwrap();
    let path = format!("/public/api/v1/inboxes/{ident}/contacts");
    let owner = t
        .call(
            "POST",
            &path,
            None,
            Some(json!({"name": "Owner", "email": "owner@example.com"})),
        )
        .await
        .expect(200);
    let owner_src = owner["source_id"].as_str().unwrap();
    let conv = t
        .call(
            "POST",
            &format!("{path}/{owner_src}/conversations"),
            None,
            Some(json!({})),
        )
        .await
        .expect(200);

    // Someone else claims the owner's email: no link to the owner's record.
    let claimant = t
        .call(
            "POST",
            &path,
            None,
            Some(json!({"name": "Claimant", "email": "owner@example.com"})),
        )
        .await
        .expect(200);
    assert_ne!(claimant["id"], owner["id"]);
    assert!(claimant.get("email").is_none());
    let claimant_src = claimant["source_id"].as_str().unwrap();
    let theirs = t
        .call(
            "GET",
            &format!("{path}/{claimant_src}/conversations"),
            None,
            None,
        )
        .await
        .expect(200);
    assert_eq!(theirs.as_array().unwrap().len(), 0);
    let stolen = t
        .call(
            "GET",
            &format!("{path}/{claimant_src}/conversations/{}", conv["id"]),
            None,
            None,
        )
        .await;
    assert_eq!(stolen.status, 404);
    // Agents can see the claim.
    let record = t
        .get(&t.acc(&format!("/contacts/{}", claimant["id"])))
        .await;
    assert_eq!(
        record["payload"]["additional_attributes"]["claimed_email"],
        "owner@example.com"
    );
}

async fn a_rotated_identity_secret_replaces_the_old_one_at_once(b: Backend) {
    let t = TestApp::start(b).await;
    let inbox = t.api_inbox("Verified", None).await;
    let id = inbox["id"].as_i64().unwrap();
    let old = t
        .admin(
            "PATCH",
            &t.acc(&format!("/inboxes/{id}")),
            Some(json!({"hmac_mandatory": true})),
        )
        .await
        .expect(200)["hmac_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, agent) = t.agent("agent@example.com", "agent").await;
    let rotate = t.acc(&format!("/inboxes/{id}/rotate_hmac_token"));
    t.call("POST", &rotate, Some(&agent), None)
        .await
        .expect(403);
    t.admin("POST", &t.acc("/inboxes/999999/rotate_hmac_token"), None)
        .await
        .expect(404);
    let rotated = t.admin("POST", &rotate, None).await.expect(200);
    let new = rotated["hmac_token"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert_eq!(
        t.get(&t.acc(&format!("/inboxes/{id}"))).await["hmac_token"],
        new.as_str()
    );

    let path = format!(
        "/public/api/v1/inboxes/{}/contacts",
        inbox["inbox_identifier"].as_str().unwrap()
    );
    let signed = |secret: &str| json!({"identifier": "user-7", "identifier_hash": hmac_sha256_hex(secret.as_bytes(), b"user-7")});
    t.call("POST", &path, None, Some(signed(&old)))
        .await
        .expect(401);
    t.call("POST", &path, None, Some(signed(&new)))
        .await
        .expect(200);
    assert!(crate::audit_entries(&t).await.iter().any(
        |e| e["auditable_type"] == "Inbox" && e["audited_changes"]["hmac_token"] == "[changed]"
    ));
}
