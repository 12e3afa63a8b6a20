//! Chatwoot's bulk actions through the real API on both databases: many conversations resolved,
//! snoozed, assigned and labelled at once, each changed alone (one that cannot be is listed with
//! why, the rest change), within what the caller may see, and bad requests refused whole.

use serde_json::{Value, json};
use throughline_testkit::{Backend, TestApp, on_both_databases};

use crate::{quiet_inbox, thread};

on_both_databases!(
    many_conversations_change_at_once_and_each_failure_is_named,
    bulk_actions_refuse_what_they_cannot_do,
);

async fn conversation(t: &TestApp, id: i64) -> Value {
    t.get(&t.acc(&format!("/conversations/{id}"))).await
}

async fn many_conversations_change_at_once_and_each_failure_is_named(b: Backend) {
    let t = TestApp::start(b).await;
    let shop = quiet_inbox(&t, "Shop").await;
    let hidden = quiet_inbox(&t, "Back office").await;
    let ids: Vec<i64> = [
        thread(&t, &shop, "um").await,
        thread(&t, &shop, "dois").await,
        thread(&t, &shop, "três").await,
    ]
    .iter()
    .map(|th| th.conversation_id)
    .collect();
    let secret = thread(&t, &hidden, "segredo").await.conversation_id;
    let (agent_id, agent) = t.agent("agent@example.com", "agent").await;
    t.post(
        &t.acc("/inbox_members"),
        json!({"inbox_id": shop["id"], "user_ids": [agent_id]}),
    )
    .await;
    t.post(&t.acc("/labels"), json!({"title": "vip"})).await;
    t.post(&t.acc("/labels"), json!({"title": "old"})).await;
    t.post(
        &t.acc(&format!("/conversations/{}/labels", ids[0])),
        json!({"labels": ["old"]}),
    )
    .await;

    let answer = t
        .post(
            &t.acc("/bulk_actions"),
            json!({"type": "Conversation", "ids": [ids[0], ids[1], 999_999],
                   "fields": {"assignee_id": agent_id}, "labels": {"add": ["vip"], "remove": ["old"]}}),
        )
        .await;
    assert_eq!(answer["updated"], json!([ids[0], ids[1]]));
    assert_eq!(answer["failed"][0]["id"], 999_999);
    assert_eq!(answer["failed"][0]["code"], "not_found");
    for id in &ids[..2] {
        let c = conversation(&t, *id).await;
        assert_eq!(c["meta"]["assignee"]["id"], agent_id, "{c}");
        assert_eq!(c["labels"], json!(["vip"]), "{c}");
    }
    assert_eq!(
        conversation(&t, ids[2]).await["meta"]["assignee"],
        Value::Null
    );

    // The agent snoozes what they see; the conversation in an inbox they do not is not theirs.
    let until = 1_900_000_000;
    let snoozed = t
        .call(
            "POST",
            &t.acc("/bulk_actions"),
            Some(&agent),
            Some(json!({"type": "Conversation", "ids": ids.iter().chain([&secret]).collect::<Vec<_>>(),
                        "fields": {"status": "snoozed"}, "snoozed_until": until})),
        )
        .await
        .expect(200);
    assert_eq!(snoozed["updated"], json!(ids));
    assert_eq!(
        snoozed["failed"],
        json!([{"id": secret, "code": "not_found", "message": "no such conversation here"}])
    );
    for id in &ids {
        let c = conversation(&t, *id).await;
        assert_eq!(
            (c["status"].clone(), c["snoozed_until"].clone()),
            (json!("snoozed"), json!(until)),
            "{c}"
        );
    }
    assert_eq!(conversation(&t, secret).await["status"], "open");

    // Resolve all; unassign them.
    let resolved = t
        .post(
            &t.acc("/bulk_actions"),
            json!({"ids": ids.iter().map(|i| i.to_string()).collect::<Vec<_>>(),
                   "fields": {"status": "resolved", "assignee_id": null}}),
        )
        .await;
    assert_eq!(resolved["updated"], json!(ids));
    for id in &ids {
        let c = conversation(&t, *id).await;
        assert_eq!(c["status"], "resolved");
        assert_eq!(c["meta"]["assignee"], Value::Null);
    }
}

async fn bulk_actions_refuse_what_they_cannot_do(b: Backend) {
    let t = TestApp::start(b).await;
    let shop = t.api_inbox("Shop", None).await;
    let id = thread(&t, &shop, "oi").await.conversation_id;
    let many: Vec<i64> = (1..=251).collect();
    for (body, field) in [
        (
            json!({"type": "Contact", "ids": [id], "fields": {"status": "resolved"}}),
            "type",
        ),
        (json!({"ids": [], "fields": {"status": "resolved"}}), "ids"),
        (
            json!({"ids": many, "fields": {"status": "resolved"}}),
            "ids",
        ),
        (
            json!({"ids": ["x"], "fields": {"status": "resolved"}}),
            "ids",
        ),
        (json!({"ids": [id]}), "fields"),
        (
            json!({"ids": [id], "fields": {"status": "closed"}}),
            "fields.status",
        ),
        (
            json!({"ids": [id], "fields": {"status": "open"}, "snoozed_until": 1_900_000_000}),
            "snoozed_until",
        ),
        (
            json!({"ids": [id], "fields": {"assignee_id": 424_242}}),
            "assignee_id",
        ),
        (
            json!({"ids": [id], "fields": {"team_id": 424_242}}),
            "team_id",
        ),
        (json!({"ids": [id], "labels": {"add": [""]}}), "labels[0]"),
    ] {
        let answer = t
            .admin("POST", &t.acc("/bulk_actions"), Some(body.clone()))
            .await;
        assert_eq!(answer.status, 422, "{body}: {:?}", answer.body);
        assert_eq!(
            answer.body["errors"][0]["field"], field,
            "{body}: {:?}",
            answer.body
        );
    }
    assert_eq!(
        t.get(&t.acc(&format!("/conversations/{id}"))).await["status"],
        "open",
        "nothing refused changed anything"
    );
}
