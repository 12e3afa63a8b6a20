//! Conversations through the Application API.

use std::time::Duration;

use serde_json::json;
use throughline_testkit::{Backend, TestApp, on_both_databases};

use crate::thread;

on_both_databases!(
    status_transitions_follow_chatwoot_rules,
    snoozes_end_by_themselves,
    list_filters_and_counts,
    assignment_labels_priority_and_attributes,
    filter_endpoint_understands_chatwoot_payloads,
    agents_start_conversations_with_a_first_message,
);

async fn status(t: &TestApp, id: i64) -> String {
    t.get(&t.acc(&format!("/conversations/{id}"))).await["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn status_transitions_follow_chatwoot_rules(b: Backend) {
    let t = TestApp::start(b).await;
    let inbox = t.api_inbox("App", None).await;
    let th = thread(&t, &inbox, "Olá").await;
    let id = th.conversation_id;
    let toggle = |body: serde_json::Value| {
        let t = &t;
        async move {
            t.admin(
                "POST",
                &t.acc(&format!("/conversations/{id}/toggle_status")),
                Some(body),
            )
            .await
        }
    };

    let r = toggle(json!({})).await.expect(200);
    assert_eq!(r["payload"]["current_status"], "resolved");
    assert_eq!(r["payload"]["conversation_id"], id);
    assert_eq!(
        toggle(json!({})).await.expect(200)["payload"]["current_status"],
        "open"
    );
    assert_eq!(
        toggle(json!({"status": "pending"})).await.expect(200)["payload"]["current_status"],
        "pending"
    );
    assert_eq!(
        toggle(json!({"status": "resolved"})).await.expect(200)["payload"]["current_status"],
        "resolved"
    );

    // A customer message reopens a resolved conversation.
    let ident = inbox["inbox_identifier"].as_str().unwrap();
    t.call(
        "POST",
        &format!(
            "/public/api/v1/inboxes/{ident}/contacts/{}/conversations/{id}/messages",
            th.source_id
        ),
        None,
        Some(json!({"content": "Ainda preciso de ajuda"})),
    )
    .await
    .expect(200);
    assert_eq!(status(&t, id).await, "open");

    // Snooze until the customer writes, and snooze in the past is refused.
    assert_eq!(
        toggle(json!({"status": "snoozed"})).await.expect(200)["payload"]["current_status"],
        "snoozed"
    );
    let past = toggle(json!({"status": "snoozed", "snoozed_until": 1})).await;
    assert_eq!(past.status, 422);
    assert_eq!(
        status(&t, id).await,
        "snoozed",
        "a refused change changes nothing"
    );
    assert_eq!(toggle(json!({"status": "closed"})).await.status, 422);

    // Activity lines record each change.
    let msgs = t
        .get(&t.acc(&format!("/conversations/{id}/messages")))
        .await;
    let activity: Vec<String> = msgs["payload"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["message_type"] == 2)
        .map(|m| m["content"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        activity,
        vec![
            "Conversation was marked resolved by Administrator",
            "Conversation was reopened by Administrator",
            "Conversation was marked as pending by Administrator",
            "Conversation was marked resolved by Administrator",
            "Conversation was snoozed by Administrator",
        ]
    );
}

async fn snoozes_end_by_themselves(b: Backend) {
    let t = TestApp::start(b).await;
    let inbox = t.api_inbox("App", None).await;
    let id = thread(&t, &inbox, "hello").await.conversation_id;
    let until = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3;
    let r = t
        .post(
            &t.acc(&format!("/conversations/{id}/toggle_status")),
            json!({"status": "snoozed", "snoozed_until": until}),
        )
        .await;
    assert_eq!(r["payload"]["snoozed_until"], until);
    t.eventually(Duration::from_secs(15), "the snooze to end", || {
        let t = &t;
        async move { (status(t, id).await == "open").then_some(()) }
    })
    .await;
    let msgs = t
        .get(&t.acc(&format!("/conversations/{id}/messages")))
        .await;
    assert!(
        msgs["payload"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["content"] == "Conversation was reopened")
    );
}

async fn list_filters_and_counts(b: Backend) {
    let t = TestApp::start(b).await;
    let (agent_id, agent_token) = t.agent("agent@acme.test", "agent").await;
    let a = t.api_inbox("A", None).await;
    let bx = t.api_inbox("B", None).await;
    t.post(
        &t.acc("/inbox_members"),
        json!({"inbox_id": a["id"], "user_ids": [agent_id]}),
    )
    .await;
    let c1 = thread(&t, &a, "zamówienie 1").await.conversation_id;
    let c2 = thread(&t, &a, "order two").await.conversation_id;
    let c3 = thread(&t, &bx, "pedido três").await.conversation_id;
    t.post(
        &t.acc(&format!("/conversations/{c1}/assignments")),
        json!({"assignee_id": agent_id}),
    )
    .await;
    t.post(
        &t.acc(&format!("/conversations/{c2}/labels")),
        json!({"labels": ["vip"]}),
    )
    .await;
    t.post(
        &t.acc(&format!("/conversations/{c3}/toggle_status")),
        json!({"status": "resolved"}),
    )
    .await;

    let ids = |v: &serde_json::Value| -> Vec<i64> {
        let mut ids: Vec<i64> = v["data"]["payload"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect();
        ids.sort_unstable();
        ids
    };
    let open = t.get(&t.acc("/conversations")).await;
    assert_eq!(ids(&open), vec![c1, c2]);
    assert_eq!(
        open["data"]["meta"],
        json!({"mine_count": 0, "unassigned_count": 1, "assigned_count": 1, "all_count": 2})
    );
    assert_eq!(
        ids(&t.get(&t.acc("/conversations?status=all")).await),
        vec![c1, c2, c3]
    );
    assert_eq!(
        ids(&t.get(&t.acc("/conversations?status=resolved")).await),
        vec![c3]
    );
    assert_eq!(
        ids(&t
            .get(&t.acc(&format!("/conversations?inbox_id={}", a["id"])))
            .await),
        vec![c1, c2]
    );
    assert_eq!(
        ids(&t.get(&t.acc("/conversations?labels[]=vip")).await),
        vec![c2]
    );
    assert_eq!(
        ids(&t
            .get(&t.acc("/conversations?assignee_type=unassigned"))
            .await),
        vec![c2]
    );
    assert_eq!(
        ids(&t.get(&t.acc("/conversations?q=ZAMÓWIENIE")).await),
        vec![c1],
        "search is case-insensitive, accents included"
    );
    // Full-text: word prefixes, every word required, in any order; syntax typed by the user is
    // only text.
    let search = |q: &'static str| {
        let t = &t;
        async move {
            ids(&t
                .get(&t.acc(&format!("/conversations?status=all&q={q}")))
                .await)
        }
    };
    assert_eq!(search("zamów").await, vec![c1], "a word prefix");
    assert_eq!(
        search("tr%C3%AAs%20pedido").await,
        vec![c3],
        "all words, any order"
    );
    assert_eq!(
        search("pedido%20order").await,
        Vec::<i64>::new(),
        "every word must match"
    );
    assert_eq!(
        search("rder").await,
        Vec::<i64>::new(),
        "words, not substrings"
    );
    for hostile in ["%22*)(%20OR%20", "a%27%3A*%20%7C%20!", "NEAR(x)", "%5C%5C"] {
        let r = t
            .call(
                "GET",
                &t.acc(&format!("/conversations?status=all&q={hostile}")),
                Some(&t.token),
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{hostile}: {:?}", r.body);
    }
    assert_eq!(
        ids(&t.get(&t.acc("/conversations?channel=api&status=all")).await),
        vec![c1, c2, c3]
    );
    let meta = t.get(&t.acc("/conversations/meta?status=all")).await;
    assert_eq!(meta["meta"]["all_count"], 3);

    // The agent sees only inbox A, and its own tab.
    let mine = t
        .call(
            "GET",
            &t.acc("/conversations?assignee_type=me"),
            Some(&agent_token),
            None,
        )
        .await
        .expect(200);
    assert_eq!(ids(&mine), vec![c1]);
    assert_eq!(mine["data"]["meta"]["mine_count"], 1);
    let agent_all = t
        .call(
            "GET",
            &t.acc("/conversations?status=all"),
            Some(&agent_token),
            None,
        )
        .await
        .expect(200);
    assert_eq!(ids(&agent_all), vec![c1, c2]);
    assert_eq!(
        t.call(
            "GET",
            &t.acc(&format!("/conversations/{c3}")),
            Some(&agent_token),
            None
        )
        .await
        .status,
        404
    );

    assert_eq!(
        t.admin("GET", &t.acc("/conversations?status=nope"), None)
            .await
            .status,
        400
    );
    assert_eq!(
        t.admin("GET", &t.acc("/conversations?sort_by=sideways"), None)
            .await
            .status,
        400
    );
    let by_wait = t
        .get(&t.acc("/conversations?sort_by=sort_on_waiting_since"))
        .await;
    assert_eq!(
        by_wait["data"]["payload"][0]["id"], c1,
        "the longest wait first"
    );
}

async fn assignment_labels_priority_and_attributes(b: Backend) {
    let t = TestApp::start(b).await;
    let (agent_id, _) = t.agent("agent@acme.test", "agent").await;
    let inbox = t.api_inbox("App", None).await;
    let id = thread(&t, &inbox, "help").await.conversation_id;
    let team = t.post(&t.acc("/teams"), json!({"name": "Billing"})).await;
    assert_eq!(team["name"], "billing");

    let assigned = t
        .post(
            &t.acc(&format!("/conversations/{id}/assignments")),
            json!({"assignee_id": agent_id}),
        )
        .await;
    assert_eq!(assigned["id"], agent_id);
    let team_assigned = t
        .post(
            &t.acc(&format!("/conversations/{id}/assignments")),
            json!({"team_id": team["id"]}),
        )
        .await;
    assert_eq!(team_assigned["name"], "billing");
    let shown = t.get(&t.acc(&format!("/conversations/{id}"))).await;
    assert_eq!(shown["meta"]["assignee"]["id"], agent_id);
    assert_eq!(shown["meta"]["team"]["id"], team["id"]);
    t.post(
        &t.acc(&format!("/conversations/{id}/assignments")),
        json!({"assignee_id": null}),
    )
    .await;
    assert!(
        t.get(&t.acc(&format!("/conversations/{id}"))).await["meta"]
            .get("assignee")
            .is_none()
    );
    assert_eq!(
        t.admin(
            "POST",
            &t.acc(&format!("/conversations/{id}/assignments")),
            Some(json!({"assignee_id": 999_999}))
        )
        .await
        .status,
        422
    );

    let labels = t
        .post(
            &t.acc(&format!("/conversations/{id}/labels")),
            json!({"labels": ["Billing", "vip", "vip"]}),
        )
        .await;
    assert_eq!(labels["payload"], json!(["billing", "vip"]));
    assert_eq!(
        t.get(&t.acc(&format!("/conversations/{id}/labels"))).await["payload"],
        json!(["billing", "vip"])
    );
    assert_eq!(
        t.admin(
            "POST",
            &t.acc(&format!("/conversations/{id}/labels")),
            Some(json!({"labels": ["two words"]}))
        )
        .await
        .status,
        422
    );

    t.post(
        &t.acc(&format!("/conversations/{id}/toggle_priority")),
        json!({"priority": "urgent"}),
    )
    .await;
    assert_eq!(
        t.get(&t.acc(&format!("/conversations/{id}"))).await["priority"],
        "urgent"
    );
    let patched = t
        .admin(
            "PATCH",
            &t.acc(&format!("/conversations/{id}")),
            Some(json!({"priority": "none"})),
        )
        .await
        .expect(200);
    assert!(patched.get("priority").is_none());
    assert_eq!(
        t.admin(
            "POST",
            &t.acc(&format!("/conversations/{id}/toggle_priority")),
            Some(json!({"priority": "extreme"}))
        )
        .await
        .status,
        422
    );

    let attrs = t
        .post(
            &t.acc(&format!("/conversations/{id}/custom_attributes")),
            json!({"custom_attributes": {"order_id": "A-17"}}),
        )
        .await;
    assert_eq!(attrs["custom_attributes"]["order_id"], "A-17");
    assert_eq!(
        t.admin(
            "POST",
            &t.acc(&format!("/conversations/{id}/custom_attributes")),
            Some(json!({"custom_attributes": [1]}))
        )
        .await
        .status,
        422
    );

    t.admin(
        "POST",
        &t.acc(&format!("/conversations/{id}/update_last_seen")),
        None,
    )
    .await
    .expect(200);
    assert_eq!(
        t.get(&t.acc(&format!("/conversations/{id}"))).await["unread_count"],
        0
    );
}

async fn filter_endpoint_understands_chatwoot_payloads(b: Backend) {
    let t = TestApp::start(b).await;
    let inbox = t.api_inbox("App", None).await;
    let c1 = thread(&t, &inbox, "one").await.conversation_id;
    let c2 = thread(&t, &inbox, "two").await.conversation_id;
    t.post(&t.acc("/custom_attribute_definitions"), json!({"attribute_display_name": "Order value", "attribute_key": "order_value", "attribute_model": "conversation_attribute", "attribute_display_type": "number"})).await;
    t.post(
        &t.acc(&format!("/conversations/{c1}/custom_attributes")),
        json!({"custom_attributes": {"order_value": 250}}),
    )
    .await;
    t.post(
        &t.acc(&format!("/conversations/{c2}/custom_attributes")),
        json!({"custom_attributes": {"order_value": "not a number"}}),
    )
    .await;
    t.post(
        &t.acc(&format!("/conversations/{c2}/toggle_status")),
        json!({"status": "pending"}),
    )
    .await;

    let run = |payload: serde_json::Value| {
        let t = &t;
        async move {
            t.admin(
                "POST",
                &t.acc("/conversations/filter"),
                Some(json!({"payload": payload})),
            )
            .await
        }
    };
    let ids = |v: serde_json::Value| -> Vec<i64> {
        v["payload"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(ids(run(json!([{"attribute_key": "status", "filter_operator": "equal_to", "values": ["pending"]}])).await.expect(200)), vec![c2]);
    assert_eq!(ids(run(json!([{"attribute_key": "order_value", "filter_operator": "is_greater_than", "values": [100]}])).await.expect(200)), vec![c1]);
    let either = run(json!([
        {"attribute_key": "status", "filter_operator": "equal_to", "values": ["pending"], "query_operator": "or"},
        {"attribute_key": "order_value", "filter_operator": "equal_to", "values": [250]}
    ]))
    .await
    .expect(200);
    let mut both = ids(either);
    both.sort_unstable();
    assert_eq!(both, vec![c1, c2]);
    let bad =
        run(json!([{"attribute_key": "nonsense", "filter_operator": "equal_to", "values": [1]}]))
            .await;
    assert_eq!(bad.status, 422);
    assert_eq!(bad.body["errors"][0]["field"], "payload[0].attribute_key");
}

async fn agents_start_conversations_with_a_first_message(b: Backend) {
    let t = TestApp::start(b).await;
    let inbox = t.api_inbox("Outbound", None).await;
    let contact = t
        .post(
            &t.acc("/contacts"),
            json!({"name": "Łukasz", "email": "lukasz@poczta.example", "inbox_id": inbox["id"]}),
        )
        .await;
    let contact_id = contact["payload"]["contact"]["id"].as_i64().unwrap();
    let source_id = contact["payload"]["contact_inbox"]["source_id"]
        .as_str()
        .unwrap();
    let conv = t.post(&t.acc("/conversations"), json!({"source_id": source_id, "inbox_id": inbox["id"], "message": {"content": "Dzień dobry!"}})).await;
    assert_eq!(conv["meta"]["sender"]["id"], contact_id);
    assert_eq!(conv["messages"][0]["content"], "Dzień dobry!");
    assert!(conv.get("first_reply_created_at").is_some());
    let by_contact = t
        .post(
            &t.acc("/conversations"),
            json!({"contact_id": contact_id, "inbox_id": inbox["id"]}),
        )
        .await;
    assert_ne!(by_contact["id"], conv["id"]);
    assert_eq!(
        t.admin(
            "POST",
            &t.acc("/conversations"),
            Some(json!({"inbox_id": inbox["id"]}))
        )
        .await
        .status,
        422
    );
    assert_eq!(
        t.admin(
            "POST",
            &t.acc("/conversations"),
            Some(json!({"contact_id": contact_id, "inbox_id": 987_654}))
        )
        .await
        .status,
        422
    );
}
