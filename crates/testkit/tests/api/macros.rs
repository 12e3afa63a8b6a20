//! Macros over the real API: who sees and changes which (global and personal), Chatwoot's
//! shapes, and running one on conversations as the agent who clicks it.

use serde_json::{Value, json};
use throughline_testkit::receiver::{Behaviour, Receiver};
use throughline_testkit::{Backend, TestApp, on_both_databases};

use crate::thread;

on_both_databases!(
    global_and_personal_macros_are_kept_apart,
    running_a_macro_does_its_actions_as_the_agent,
);

fn body(name: &str, visibility: &str, actions: Value) -> Value {
    json!({"name": name, "visibility": visibility, "actions": actions})
}

async fn global_and_personal_macros_are_kept_apart(b: Backend) {
    let t = TestApp::start(b).await;
    let (_, ana) = t.agent("ana@acme.test", "agent").await;
    let (_, bia) = t.agent("bia@acme.test", "agent").await;
    let path = t.acc("/macros");
    let global = t
        .admin(
            "POST",
            &path,
            Some(body(
                "Close and tag",
                "global",
                json!([
                {"action_name": "add_label", "action_params": ["done"]},
                {"action_name": "resolve_conversation", "action_params": []}]),
            )),
        )
        .await
        .expect(200);
    assert_eq!(global["payload"]["visibility"], "global");
    assert_eq!(global["payload"]["created_by"]["email"], "admin@acme.test");
    let global_id = global["payload"]["id"].as_i64().unwrap();
    // An agent asking for a global macro gets a personal one, as in Chatwoot.
    let mine = t
        .call(
            "POST",
            &path,
            Some(&ana),
            Some(body(
                "Take it",
                "global",
                json!([{"action_name": "assign_agent", "action_params": ["self"]}]),
            )),
        )
        .await
        .expect(200);
    assert_eq!(mine["payload"]["visibility"], "personal");
    let mine_id = mine["payload"]["id"].as_i64().unwrap();
    let names = |v: &Value| -> Vec<String> {
        v["payload"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let for_ana = t.call("GET", &path, Some(&ana), None).await.expect(200);
    assert_eq!(names(&for_ana), ["Close and tag", "Take it"]);
    let for_bia = t.call("GET", &path, Some(&bia), None).await.expect(200);
    assert_eq!(
        names(&for_bia),
        ["Close and tag"],
        "another's personal macro is not shown"
    );
    t.call(
        "GET",
        &t.acc(&format!("/macros/{mine_id}")),
        Some(&bia),
        None,
    )
    .await
    .expect(404);
    // Only administrators change a global macro; only its author a personal one.
    t.call(
        "PATCH",
        &t.acc(&format!("/macros/{global_id}")),
        Some(&ana),
        Some(json!({"name": "x"})),
    )
    .await
    .expect(403);
    t.call(
        "DELETE",
        &t.acc(&format!("/macros/{global_id}")),
        Some(&ana),
        None,
    )
    .await
    .expect(403);
    t.admin(
        "PATCH",
        &t.acc(&format!("/macros/{mine_id}")),
        Some(json!({"name": "x"})),
    )
    .await
    .expect(404);
    let renamed = t
        .call(
            "PATCH",
            &t.acc(&format!("/macros/{mine_id}")),
            Some(&ana),
            Some(json!({"name": "Mine"})),
        )
        .await
        .expect(200);
    assert_eq!(renamed["payload"]["name"], "Mine");
    assert_eq!(
        renamed["payload"]["actions"],
        json!([{"action_name": "assign_agent", "action_params": ["self"]}])
    );
    // Bad macros are refused, naming the field.
    for (bad, field) in [
        (
            body(
                " ",
                "global",
                json!([{"action_name": "resolve_conversation"}]),
            ),
            "name",
        ),
        (
            body(
                "x",
                "everyone",
                json!([{"action_name": "resolve_conversation"}]),
            ),
            "visibility",
        ),
        (body("x", "global", json!([])), "actions"),
        (
            body(
                "x",
                "global",
                json!([{"action_name": "assign_team", "action_params": [987654]}]),
            ),
            "actions[0].action_params",
        ),
    ] {
        let answer = t.admin("POST", &path, Some(bad.clone())).await;
        assert_eq!(answer.status, 422, "{bad}: {}", answer.body);
        assert!(
            answer.body.to_string().contains(&format!("\"{field}\"")),
            "{field}: {}",
            answer.body
        );
    }
    t.call(
        "DELETE",
        &t.acc(&format!("/macros/{mine_id}")),
        Some(&ana),
        None,
    )
    .await
    .expect(200);
    let after = t.call("GET", &path, Some(&ana), None).await.expect(200);
    assert_eq!(names(&after), ["Close and tag"]);
}

async fn running_a_macro_does_its_actions_as_the_agent(b: Backend) {
    let t = TestApp::start(b).await;
    let hook = Receiver::start(Behaviour::Accept).await;
    let (ana_id, ana) = t.agent("ana@acme.test", "agent").await;
    let inbox = t.api_inbox("Site", None).await;
    let inbox_id = inbox["id"].as_i64().unwrap();
    t.admin(
        "POST",
        &t.acc("/inbox_members"),
        Some(json!({"inbox_id": inbox_id, "user_ids": [ana_id]})),
    )
    .await
    .expect(200);
    let first = thread(&t, &inbox, "my order is late").await;
    let second = thread(&t, &inbox, "mine too").await;
    let m = t
        .call(
            "POST",
            &t.acc("/macros"),
            Some(&ana),
            Some(body("Late order", "personal", json!([
                {"action_name": "assign_agent", "action_params": ["self"]},
                {"action_name": "add_label", "action_params": ["late"]},
                {"action_name": "send_message", "action_params": ["Sorry for the wait — checking now."]},
                {"action_name": "send_webhook_event", "action_params": [hook.url]},
                {"action_name": "change_status", "action_params": ["pending"]},
            ]))),
        )
        .await
        .expect(200);
    let id = m["payload"]["id"].as_i64().unwrap();
    let ran = t
        .call(
            "POST",
            &t.acc(&format!("/macros/{id}/execute")),
            Some(&ana),
            Some(json!({"conversation_ids": [first.conversation_id, second.conversation_id]})),
        )
        .await
        .expect(200);
    assert_eq!(ran["payload"].as_array().unwrap().len(), 2);
    for r in ran["payload"].as_array().unwrap() {
        assert!(
            r["results"]
                .as_array()
                .unwrap()
                .iter()
                .all(|x| x["ok"] == true),
            "{r}"
        );
    }
    for display in [first.conversation_id, second.conversation_id] {
        let c = t.get(&t.acc(&format!("/conversations/{display}"))).await;
        assert_eq!(c["meta"]["assignee"]["id"], ana_id);
        assert_eq!(c["status"], "pending");
        let labels = t
            .get(&t.acc(&format!("/conversations/{display}/labels")))
            .await;
        assert_eq!(labels["payload"], json!(["late"]));
        let messages = t
            .get(&t.acc(&format!("/conversations/{display}/messages")))
            .await;
        let reply = messages["payload"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["content"] == "Sorry for the wait — checking now.")
            .cloned()
            .expect("the macro's reply");
        assert_eq!(
            reply["sender"]["id"], ana_id,
            "sent as the agent who ran it"
        );
    }
    let got = t
        .eventually(
            std::time::Duration::from_secs(15),
            "the macro's webhooks",
            || {
                let hook = &hook;
                async move {
                    let r = hook.received();
                    (r.len() >= 2).then_some(r)
                }
            },
        )
        .await;
    assert!(got.iter().all(|r| r.body["event"] == "macro.executed"));
    // A conversation the caller cannot see is not found, and nothing runs.
    let other_inbox = t.api_inbox("Private", None).await;
    let hidden = thread(&t, &other_inbox, "hello").await;
    t.call(
        "POST",
        &t.acc(&format!("/macros/{id}/execute")),
        Some(&ana),
        Some(json!({"conversation_ids": [hidden.conversation_id]})),
    )
    .await
    .expect(404);
    t.call(
        "POST",
        &t.acc(&format!("/macros/{id}/execute")),
        Some(&ana),
        Some(json!({"conversation_ids": []})),
    )
    .await
    .expect(422);
}
