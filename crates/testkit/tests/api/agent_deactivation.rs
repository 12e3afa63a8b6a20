//! Deactivating an agent instead of deleting them, through the real API on both databases: the
//! account refuses them at once (token, session, sign-in), their unresolved conversations are
//! unassigned, their name stays on the history, a user who still works in another account keeps
//! that one, and reactivating lets them back in; only administrators may, never on themselves,
//! never the last administrator.

use serde_json::{Value, json};
use throughline_testkit::{Backend, TestApp, on_both_databases};

use crate::platform::second_account;
use crate::{audit_entries, quiet_inbox, thread};

on_both_databases!(
    a_deactivated_agent_is_shut_out_and_comes_back_when_reactivated,
    deactivation_is_for_administrators_and_keeps_an_administrator,
    a_user_deactivated_in_one_account_keeps_the_other,
);

async fn sign_in(t: &TestApp, email: &str) -> (u16, Value) {
    let a = t
        .call(
            "POST",
            "/auth/sign_in",
            None,
            Some(json!({"email": email, "password": "agent-password-1"})),
        )
        .await;
    (a.status, a.body)
}

async fn a_deactivated_agent_is_shut_out_and_comes_back_when_reactivated(b: Backend) {
    let t = TestApp::start(b).await;
    let inbox = quiet_inbox(&t, "Shop").await;
    let th = thread(&t, &inbox, "Oi").await;
    let resolved = thread(&t, &inbox, "Já resolvido").await;
    let (id, token) = t.agent("agent@example.com", "agent").await;
    t.post(
        &t.acc("/inbox_members"),
        json!({"inbox_id": inbox["id"], "user_ids": [id]}),
    )
    .await;
    for conv in [th.conversation_id, resolved.conversation_id] {
        t.post(
            &t.acc(&format!("/conversations/{conv}/assignments")),
            json!({"assignee_id": id}),
        )
        .await;
    }
    t.post(
        &t.acc(&format!(
            "/conversations/{}/toggle_status",
            resolved.conversation_id
        )),
        json!({"status": "resolved"}),
    )
    .await;
    let list = t.acc("/conversations");
    t.call("GET", &list, Some(&token), None).await.expect(200);

    let agent = t
        .post(&t.acc(&format!("/agents/{id}/deactivate")), json!({}))
        .await;
    assert!(agent["deactivated_at"].as_i64().is_some(), "{agent}");
    // Again: nothing more happens.
    t.post(&t.acc(&format!("/agents/{id}/deactivate")), json!({}))
        .await;

    t.call("GET", &list, Some(&token), None).await.expect(401);
    let (status, body) = sign_in(&t, "agent@example.com").await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "user_deactivated", "{body}");

    // The open conversation is free for someone else; the resolved one keeps its agent's name.
    let open = t
        .get(&t.acc(&format!("/conversations/{}", th.conversation_id)))
        .await;
    assert_eq!(open["meta"]["assignee"], Value::Null, "{open}");
    let done = t
        .get(&t.acc(&format!("/conversations/{}", resolved.conversation_id)))
        .await;
    assert_eq!(done["meta"]["assignee"]["id"], id, "{done}");
    let agents = t.get(&t.acc("/agents")).await;
    let listed = agents
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == id)
        .cloned()
        .unwrap();
    assert!(listed["deactivated_at"].is_number(), "{listed}");
    assert!(
        audit_entries(&t)
            .await
            .iter()
            .any(|e| e["action"] == "deactivate" && e["auditable_id"] == id)
    );

    let back = t
        .post(&t.acc(&format!("/agents/{id}/reactivate")), json!({}))
        .await;
    assert!(back.get("deactivated_at").is_none(), "{back}");
    let (status, body) = sign_in(&t, "agent@example.com").await;
    assert_eq!(status, 200, "{body}");
    let fresh = body["data"]["access_token"].as_str().unwrap().to_owned();
    assert_ne!(fresh, token, "the old token stays revoked");
    t.call("GET", &list, Some(&fresh), None).await.expect(200);
    t.call("GET", &list, Some(&token), None).await.expect(401);
}

async fn deactivation_is_for_administrators_and_keeps_an_administrator(b: Backend) {
    let t = TestApp::start(b).await;
    let (agent_id, agent) = t.agent("agent@example.com", "agent").await;
    let (admin2_id, admin2) = t.agent("second.admin@example.com", "administrator").await;
    let (_, supervisor) = t.agent("supervisor@example.com", "supervisor").await;
    for token in [&agent, &supervisor] {
        t.call(
            "POST",
            &t.acc(&format!("/agents/{agent_id}/deactivate")),
            Some(token),
            None,
        )
        .await
        .expect(403);
    }
    t.admin("POST", &t.acc("/agents/424242/deactivate"), None)
        .await
        .expect(404);
    let profile = t.get("/api/v1/profile").await;
    let me = profile["id"].as_i64().unwrap();
    t.admin("POST", &t.acc(&format!("/agents/{me}/deactivate")), None)
        .await
        .expect(422);
    // The second administrator deactivates the first; then the last one cannot be.
    t.call(
        "POST",
        &t.acc(&format!("/agents/{me}/deactivate")),
        Some(&admin2),
        None,
    )
    .await
    .expect(200);
    // A deactivated administrator's token no longer works here.
    t.admin("GET", &t.acc("/agents"), None).await.expect(401);
    t.call(
        "POST",
        &t.acc(&format!("/agents/{admin2_id}/deactivate")),
        Some(&admin2),
        None,
    )
    .await
    .expect(422);
}

async fn a_user_deactivated_in_one_account_keeps_the_other(b: Backend) {
    let t = TestApp::start(b).await;
    let (id, token) = t.agent("agent@example.com", "agent").await;
    let second = second_account(&t, "Filial", "filial.admin@example.com").await;
    // A user of another account is invited there: a pending invitation is withdrawn, never
    // deactivated; accepted, it is a membership like any other.
    let invited = t
        .call(
            "POST",
            &format!("/api/v1/accounts/{}/agents", second.id),
            Some(&second.token),
            Some(json!({"name": "Agent", "email": "agent@example.com", "role": "agent"})),
        )
        .await
        .expect(200);
    t.call(
        "POST",
        &format!(
            "/api/v1/accounts/{}/agents/{}/deactivate",
            second.id, invited["id"]
        ),
        Some(&second.token),
        None,
    )
    .await
    .expect(422);
    let pending = t
        .call("GET", "/api/v1/profile", Some(&token), None)
        .await
        .expect(200);
    let invitation = pending["pending_invitations"][0]["id"].clone();
    assert!(invitation.is_number(), "{pending}");
    t.call(
        "POST",
        &format!("/api/v1/profile/invitations/{invitation}/accept"),
        Some(&token),
        None,
    )
    .await
    .expect(200);
    let there = format!("/api/v1/accounts/{}/conversations", second.id);
    t.call("GET", &there, Some(&token), None).await.expect(200);

    t.post(&t.acc(&format!("/agents/{id}/deactivate")), json!({}))
        .await;
    let here = t
        .call("GET", &t.acc("/conversations"), Some(&token), None)
        .await;
    assert!(matches!(here.status, 401 | 403 | 404), "{:?}", here.body);
    // Still at work in the other account, with the same token; sign-in still works.
    t.call("GET", &there, Some(&token), None).await.expect(200);
    let (status, body) = sign_in(&t, "agent@example.com").await;
    assert_eq!(status, 200, "{body}");
    let accounts: Vec<i64> = body["data"]["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_i64().unwrap())
        .collect();
    assert_eq!(accounts, vec![second.id]);
}
