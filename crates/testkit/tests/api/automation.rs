//! Automation rules over the real API: Chatwoot's shapes and who may manage them, each
//! action and each condition operator doing what it says when a customer writes, loops cut
//! short, delayed rules, business events and a customer changing channel, the log, and the
//! dry-run preview.

use std::time::Duration;

use serde_json::{Value, json};
use throughline_testkit::receiver::{Behaviour, Receiver};
use throughline_testkit::{Backend, TestApp, on_both_databases};

use crate::thread;

on_both_databases!(
    rules_are_managed_in_chatwoots_shapes,
    bad_rules_are_refused_naming_the_field,
    each_action_does_what_it_says,
    status_actions_and_unassigning,
    each_operator_decides_as_written,
    a_loop_between_rules_is_cut,
    a_delayed_rule_acts_only_if_still_true,
    business_events_and_a_channel_switch_set_rules_off,
    the_preview_tries_recent_conversations,
);

const WAIT: Duration = Duration::from_secs(15);

fn rule(name: &str, event: &str, conditions: Value, actions: Value) -> Value {
    json!({"name": name, "description": "", "event_name": event, "active": true,
           "conditions": conditions, "actions": actions})
}

async fn create_rule(t: &TestApp, body: Value) -> i64 {
    let saved = t
        .admin("POST", &t.acc("/automation_rules"), Some(body))
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    saved.body["id"].as_i64().unwrap()
}

/// The rule's log, newest first.
async fn runs(t: &TestApp, rule: i64) -> Vec<Value> {
    t.get(&t.acc(&format!("/automation_rules/{rule}/runs")))
        .await["payload"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn eventually_runs(t: &TestApp, rule: i64, count: usize, what: &str) -> Vec<Value> {
    t.eventually(WAIT, what, || async move {
        let r = runs(t, rule).await;
        (r.len() >= count).then_some(r)
    })
    .await
}

async fn conversation(t: &TestApp, display_id: i64) -> Value {
    t.get(&t.acc(&format!("/conversations/{display_id}"))).await
}

async fn labels(t: &TestApp, display_id: i64) -> Vec<String> {
    let l = t
        .get(&t.acc(&format!("/conversations/{display_id}/labels")))
        .await;
    l["payload"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

async fn messages(t: &TestApp, display_id: i64) -> Vec<Value> {
    t.get(&t.acc(&format!("/conversations/{display_id}/messages")))
        .await["payload"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn rules_are_managed_in_chatwoots_shapes(b: Backend) {
    let t = TestApp::start(b).await;
    let (_, agent) = t.agent("ana@acme.test", "agent").await;
    let body = rule(
        "Tag refunds",
        "message_created",
        json!([{"attribute_key": "content", "filter_operator": "contains", "values": ["refund"], "query_operator": null}]),
        json!([{"action_name": "add_label", "action_params": ["refund"]}]),
    );
    // Chatwoot's create answers the rule itself; the rest wrap it in `payload`.
    let created = t
        .admin("POST", &t.acc("/automation_rules"), Some(body.clone()))
        .await
        .expect(200);
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["name"], "Tag refunds");
    assert_eq!(created["event_name"], "message_created");
    assert_eq!(created["active"], true);
    assert_eq!(created["actions"], body["actions"]);
    assert_eq!(created["conditions"], body["conditions"]);
    assert!(created["created_on"].as_i64().unwrap() > 1_700_000_000);
    let list = t.get(&t.acc("/automation_rules")).await;
    assert_eq!(list["payload"].as_array().unwrap().len(), 1);
    let shown = t.get(&t.acc(&format!("/automation_rules/{id}"))).await;
    assert_eq!(shown["payload"]["id"], id);
    let patched = t
        .admin(
            "PATCH",
            &t.acc(&format!("/automation_rules/{id}")),
            Some(json!({"active": false, "name": "Tag refund requests"})),
        )
        .await
        .expect(200);
    assert_eq!(patched["payload"]["active"], false);
    assert_eq!(patched["payload"]["name"], "Tag refund requests");
    assert_eq!(patched["payload"]["actions"], body["actions"], "kept");
    let copy = t
        .admin(
            "POST",
            &t.acc(&format!("/automation_rules/{id}/clone")),
            None,
        )
        .await
        .expect(200);
    let copy_id = copy["payload"]["id"].as_i64().unwrap();
    assert_ne!(copy_id, id);
    assert_eq!(copy["payload"]["name"], "Tag refund requests");

    // Administrators only, as in Chatwoot (which answers 401; we answer 403).
    for (method, path) in [
        ("GET", t.acc("/automation_rules")),
        ("GET", t.acc(&format!("/automation_rules/{id}"))),
        ("DELETE", t.acc(&format!("/automation_rules/{id}"))),
    ] {
        t.call(method, &path, Some(&agent), None).await.expect(403);
    }
    t.call(
        "POST",
        &t.acc("/automation_rules"),
        Some(&agent),
        Some(body),
    )
    .await
    .expect(403);

    t.admin("DELETE", &t.acc(&format!("/automation_rules/{id}")), None)
        .await
        .expect(200);
    t.admin("GET", &t.acc(&format!("/automation_rules/{id}")), None)
        .await
        .expect(404);
    let left = t.get(&t.acc("/automation_rules")).await;
    assert_eq!(left["payload"][0]["id"], copy_id);
    // The audit log has the rule's life.
    let audit = t.get(&t.acc("/audit_logs")).await.to_string();
    assert!(audit.contains("AutomationRule"), "{audit}");
}

async fn bad_rules_are_refused_naming_the_field(b: Backend) {
    let t = TestApp::start(b).await;
    let cases = [
        (
            rule(
                "x",
                "on_tuesday",
                json!([]),
                json!([{"action_name": "resolve_conversation"}]),
            ),
            "event_name",
        ),
        (
            rule(
                " ",
                "message_created",
                json!([]),
                json!([{"action_name": "resolve_conversation"}]),
            ),
            "name",
        ),
        (
            rule("x", "message_created", json!([]), json!([])),
            "actions",
        ),
        (
            rule(
                "x",
                "conversation_created",
                json!([{"attribute_key": "content", "filter_operator": "contains", "values": ["a"]}]),
                json!([{"action_name": "resolve_conversation"}]),
            ),
            "conditions[0].attribute_key",
        ),
        (
            rule(
                "x",
                "message_created",
                json!([{"attribute_key": "status", "filter_operator": "contains", "values": ["o"]}]),
                json!([{"action_name": "resolve_conversation"}]),
            ),
            "conditions[0].filter_operator",
        ),
        (
            rule(
                "x",
                "message_created",
                json!([{"attribute_key": "country_code", "filter_operator": "equal_to", "values": ["Brazil"]}]),
                json!([{"action_name": "resolve_conversation"}]),
            ),
            "conditions[0].values",
        ),
        (
            rule(
                "x",
                "message_created",
                json!([]),
                json!([{"action_name": "resolve_conversation"}, {"action_name": "explode"}]),
            ),
            "actions[1].action_name",
        ),
        (
            rule(
                "x",
                "message_created",
                json!([]),
                json!([{"action_name": "assign_agent", "action_params": [987654]}]),
            ),
            "actions[0].action_params",
        ),
        (
            rule(
                "x",
                "message_created",
                json!([]),
                json!([{"action_name": "assign_team", "action_params": [987654]}]),
            ),
            "actions[0].action_params",
        ),
        (
            rule(
                "x",
                "message_created",
                json!([]),
                json!([{"action_name": "send_webhook_event", "action_params": ["javascript:alert(1)"]}]),
            ),
            "actions[0].action_params",
        ),
        (
            rule(
                "x",
                "message_created",
                json!([]),
                json!([{"action_name": "send_email_to_team", "action_params": [{"message": "x", "team_ids": [1]}]}]),
            ),
            "actions[0].action_name",
        ),
        (
            json!({"name": "x", "event_name": "message_created", "conditions": "content", "actions": []}),
            "conditions",
        ),
        (
            json!({"name": "x", "event_name": "message_created", "delay_minutes": 100000,
                   "actions": [{"action_name": "resolve_conversation"}]}),
            "delay_minutes",
        ),
    ];
    for (body, field) in cases {
        let answer = t
            .admin("POST", &t.acc("/automation_rules"), Some(body.clone()))
            .await;
        assert_eq!(answer.status, 422, "{body} → {}", answer.body);
        assert!(
            answer.body.to_string().contains(&format!("\"{field}\"")),
            "{field} not named for {body}: {}",
            answer.body
        );
    }
    // Nothing was saved.
    let list = t.get(&t.acc("/automation_rules")).await;
    assert_eq!(list["payload"], json!([]));
    t.admin("GET", &t.acc("/automation_rules/987654/runs"), None)
        .await
        .expect(404);
    t.admin("GET", &t.acc("/automation_rules/987654"), None)
        .await
        .expect(404);
}

async fn each_action_does_what_it_says(b: Backend) {
    let t = TestApp::start(b).await;
    let hook = Receiver::start(Behaviour::Accept).await;
    let (agent_id, _) = t.agent("ana@acme.test", "agent").await;
    let inbox = t.api_inbox("Site", None).await;
    let inbox_id = inbox["id"].as_i64().unwrap();
    t.admin(
        "POST",
        &t.acc("/inbox_members"),
        Some(json!({"inbox_id": inbox_id, "user_ids": [agent_id]})),
    )
    .await
    .expect(200);
    let team = t.post(&t.acc("/teams"), json!({"name": "Billing"})).await;
    let team_id = team["id"].as_i64().unwrap();
    let id = create_rule(
        &t,
        rule(
            "Refunds to billing",
            "message_created",
            json!([
                {"attribute_key": "message_type", "filter_operator": "equal_to", "values": ["incoming"], "query_operator": "and"},
                {"attribute_key": "content", "filter_operator": "contains", "values": ["refund"]},
            ]),
            json!([
                {"action_name": "add_label", "action_params": ["refund", "billing"]},
                {"action_name": "assign_team", "action_params": [team_id]},
                {"action_name": "assign_agent", "action_params": [agent_id]},
                {"action_name": "change_priority", "action_params": ["high"]},
                {"action_name": "add_private_note", "action_params": ["Check the order in the ERP"]},
                {"action_name": "send_message", "action_params": ["We got your refund request."]},
                {"action_name": "send_webhook_event", "action_params": [hook.url]},
                {"action_name": "remove_label", "action_params": ["billing"]},
            ]),
        ),
    )
    .await;
    let th = thread(&t, &inbox, "Hello").await;
    crate::customer_writes(&t, &th, "I want a REFUND please").await;
    let log = eventually_runs(&t, id, 1, "the rule ran").await;
    assert_eq!(log.len(), 1, "one message matched: {log:?}");
    assert_eq!(log[0]["outcome"], "acted", "{}", log[0]);
    assert_eq!(log[0]["conversation_id"], th.conversation_id);
    let done: Vec<_> = log[0]["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["action"].as_str().unwrap().to_owned(), d["ok"] == true))
        .collect();
    assert_eq!(done.len(), 8);
    assert!(done.iter().all(|(_, ok)| *ok), "{done:?}");

    assert_eq!(labels(&t, th.conversation_id).await, ["refund"]);
    let c = conversation(&t, th.conversation_id).await;
    assert_eq!(c["meta"]["team"]["id"], team_id);
    assert_eq!(c["meta"]["assignee"]["id"], agent_id);
    assert_eq!(c["priority"], "high");
    let all = messages(&t, th.conversation_id).await;
    let note = all
        .iter()
        .find(|m| m["content"] == "Check the order in the ERP")
        .expect("the private note");
    assert_eq!(note["private"], true);
    let reply = all
        .iter()
        .find(|m| m["content"] == "We got your refund request.")
        .expect("the reply");
    assert_eq!(reply["private"], false);
    assert_eq!(reply["message_type"], 1);
    assert_eq!(reply["content_attributes"]["automation_rule_id"], id);
    // Activity lines name the rule.
    assert!(
        all.iter().any(|m| m["content"]
            .as_str()
            .is_some_and(|s| s.contains("automation rule “Refunds to billing”"))),
        "{all:?}"
    );
    // The webhook: the conversation as Chatwoot's webhook_data, event automation_event.*.
    let got = t
        .eventually(WAIT, "the rule's webhook", || {
            let hook = &hook;
            async move {
                let r = hook.received();
                (!r.is_empty()).then_some(r)
            }
        })
        .await;
    assert_eq!(got[0].body["event"], "automation_event.message_created");
    assert_eq!(got[0].body["id"], th.conversation_id);
    assert!(got[0].header("x-chatwoot-delivery").is_some());

    // A message without the word, and the rule's own reply, set nothing off.
    crate::customer_writes(&t, &th, "thanks").await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(runs(&t, id).await.len(), 1);
}

async fn status_actions_and_unassigning(b: Backend) {
    let t = TestApp::start(b).await;
    let (agent_id, agent) = t.agent("ana@acme.test", "agent").await;
    let inbox = t.api_inbox("Site", None).await;
    let inbox_id = inbox["id"].as_i64().unwrap();
    t.admin(
        "POST",
        &t.acc("/inbox_members"),
        Some(json!({"inbox_id": inbox_id, "user_ids": [agent_id]})),
    )
    .await
    .expect(200);
    let word_rule = |word: &str, actions: Value| {
        rule(
            word,
            "message_created",
            json!([{"attribute_key": "content", "filter_operator": "equal_to", "values": [word]}]),
            actions,
        )
    };
    let snooze = create_rule(
        &t,
        word_rule("snooze", json!([{"action_name": "snooze_conversation"}])),
    )
    .await;
    let pending = create_rule(
        &t,
        word_rule(
            "pending",
            json!([{"action_name": "change_status", "action_params": ["pending"]}]),
        ),
    )
    .await;
    let resolve = create_rule(
        &t,
        word_rule("bye", json!([{"action_name": "resolve_conversation"}])),
    )
    .await;
    let mute = create_rule(
        &t,
        word_rule("stop", json!([{"action_name": "mute_conversation"}])),
    )
    .await;
    let back = create_rule(
        &t,
        word_rule(
            "back",
            json!([
                {"action_name": "open_conversation"},
                {"action_name": "assign_agent", "action_params": ["last_responding_agent"]},
                {"action_name": "remove_assigned_team"},
            ]),
        ),
    )
    .await;
    let th = thread(&t, &inbox, "hi").await;
    let path = t.acc(&format!("/conversations/{}", th.conversation_id));
    let status = |expected: &'static str| {
        let t = &t;
        let path = path.clone();
        async move {
            t.eventually(WAIT, expected, || {
                let path = path.clone();
                async move {
                    let c = t.get(&path).await;
                    (c["status"] == expected).then_some(c)
                }
            })
            .await
        }
    };
    crate::customer_writes(&t, &th, "snooze").await;
    status("snoozed").await;
    assert_eq!(
        eventually_runs(&t, snooze, 1, "snooze ran").await[0]["outcome"],
        "acted"
    );
    crate::customer_writes(&t, &th, "pending").await;
    // The customer's message reopened it first (a snoozed conversation wakes on a reply).
    status("pending").await;
    assert_eq!(
        eventually_runs(&t, pending, 1, "pending ran").await[0]["outcome"],
        "acted"
    );
    crate::customer_writes(&t, &th, "bye").await;
    status("resolved").await;
    assert_eq!(
        eventually_runs(&t, resolve, 1, "resolve ran").await[0]["outcome"],
        "acted"
    );

    // Nobody has replied yet: "last responding agent" cannot be done, and says so; the
    // other actions of the rule are done all the same.
    crate::customer_writes(&t, &th, "back").await;
    let log = eventually_runs(&t, back, 1, "back ran").await;
    assert_eq!(log[0]["outcome"], "failed", "{}", log[0]);
    assert_eq!(log[0]["detail"][0]["ok"], true);
    assert_eq!(log[0]["detail"][1]["ok"], false);
    assert!(
        log[0]["detail"][1]["error"]
            .as_str()
            .unwrap()
            .contains("no agent has replied"),
        "{}",
        log[0]
    );
    status("open").await;
    // After Ana replies, the same rule gives her the conversation back.
    t.call(
        "POST",
        &t.acc(&format!("/conversations/{}/messages", th.conversation_id)),
        Some(&agent),
        Some(json!({"content": "Hi, Ana here"})),
    )
    .await
    .expect(200);
    t.admin(
        "POST",
        &t.acc(&format!(
            "/conversations/{}/assignments",
            th.conversation_id
        )),
        Some(json!({"assignee_id": null})),
    )
    .await
    .expect(200);
    crate::customer_writes(&t, &th, "back").await;
    let log = eventually_runs(&t, back, 2, "back ran again").await;
    assert_eq!(log[0]["outcome"], "acted", "{}", log[0]);
    assert_eq!(
        conversation(&t, th.conversation_id).await["meta"]["assignee"]["id"],
        agent_id
    );

    crate::customer_writes(&t, &th, "stop").await;
    let c = status("resolved").await;
    assert_eq!(c["muted"], true);
    assert_eq!(
        eventually_runs(&t, mute, 1, "mute ran").await[0]["outcome"],
        "acted"
    );
}

async fn each_operator_decides_as_written(b: Backend) {
    let t = TestApp::start(b).await;
    t.admin(
        "POST",
        &t.acc("/custom_attribute_definitions"),
        Some(
            json!({"attribute_display_name": "Plan", "attribute_key": "plan",
                    "attribute_display_type": "text", "attribute_model": "contact_attribute"}),
        ),
    )
    .await
    .expect(200);
    t.admin(
        "POST",
        &t.acc("/custom_attribute_definitions"),
        Some(
            json!({"attribute_display_name": "Orders", "attribute_key": "orders",
                    "attribute_display_type": "number", "attribute_model": "contact_attribute"}),
        ),
    )
    .await
    .expect(200);
    let inbox = t.api_inbox("Site", None).await;
    let th = thread(&t, &inbox, "hello").await;
    t.admin(
        "PUT",
        &t.acc(&format!("/contacts/{}", th.contact_id)),
        Some(
            json!({"email": "Ana@Example.com", "phone_number": "+5511987654321",
                    "custom_attributes": {"plan": "Pro", "orders": 12}}),
        ),
    )
    .await
    .expect(200);
    // (operator case, conditions, should match "Olá, preciso de ajuda com o PEDIDO 123")
    let cases = [
        (
            "equal_to",
            json!([{"attribute_key": "message_type", "filter_operator": "equal_to", "values": ["incoming"]}]),
            true,
        ),
        (
            "not_equal_to",
            json!([{"attribute_key": "status", "filter_operator": "not_equal_to", "values": ["open"]}]),
            false,
        ),
        (
            "contains",
            json!([{"attribute_key": "content", "filter_operator": "contains", "values": ["pedido"]}]),
            true,
        ),
        (
            "does_not_contain",
            json!([{"attribute_key": "content", "filter_operator": "does_not_contain", "values": ["ajuda"]}]),
            false,
        ),
        (
            "starts_with",
            json!([{"attribute_key": "phone_number", "filter_operator": "starts_with", "values": ["+5511"]}]),
            true,
        ),
        (
            "is_present",
            json!([{"attribute_key": "email", "filter_operator": "is_present"}]),
            true,
        ),
        (
            "is_not_present",
            json!([{"attribute_key": "assignee_id", "filter_operator": "is_not_present"}]),
            true,
        ),
        (
            "is_greater_than",
            json!([{"attribute_key": "orders", "filter_operator": "is_greater_than", "values": [10]}]),
            true,
        ),
        (
            "is_less_than",
            json!([{"attribute_key": "orders", "filter_operator": "is_less_than", "values": [10]}]),
            false,
        ),
        (
            "custom equal_to",
            json!([{"attribute_key": "plan", "filter_operator": "equal_to", "values": ["pro"]}]),
            true,
        ),
        (
            "email any case",
            json!([{"attribute_key": "email", "filter_operator": "equal_to", "values": ["ana@example.com"]}]),
            true,
        ),
        (
            "or",
            json!([
            {"attribute_key": "content", "filter_operator": "contains", "values": ["refund"], "query_operator": "or"},
            {"attribute_key": "content", "filter_operator": "contains", "values": ["ajuda"]}]),
            true,
        ),
        (
            "and",
            json!([
            {"attribute_key": "content", "filter_operator": "contains", "values": ["ajuda"], "query_operator": "and"},
            {"attribute_key": "inbox_id", "filter_operator": "equal_to", "values": [987654]}]),
            false,
        ),
    ];
    let mut ids = Vec::new();
    for (name, conditions, expected) in &cases {
        let id = create_rule(
            &t,
            rule(
                name,
                "message_created",
                conditions.clone(),
                json!([{"action_name": "add_private_note", "action_params": [format!("matched {name}")]}]),
            ),
        )
        .await;
        ids.push((id, *name, *expected));
    }
    // A sentinel rule that always matches, last: once it ran, every rule had its turn.
    let sentinel = create_rule(
        &t,
        rule(
            "sentinel",
            "message_created",
            json!([]),
            json!([{"action_name": "add_label", "action_params": ["seen"]}]),
        ),
    )
    .await;
    crate::customer_writes(&t, &th, "Olá, preciso de ajuda com o PEDIDO 123").await;
    eventually_runs(&t, sentinel, 1, "every rule had its turn").await;
    for (id, name, expected) in ids {
        let ran = runs(&t, id).await;
        assert_eq!(!ran.is_empty(), expected, "{name}: {ran:?}");
        if expected {
            assert_eq!(ran[0]["outcome"], "acted", "{name}");
        }
    }
    let notes: Vec<_> = messages(&t, th.conversation_id)
        .await
        .iter()
        .filter(|m| m["private"] == true)
        .map(|m| m["content"].as_str().unwrap().to_owned())
        .collect();
    assert!(notes.contains(&"matched contains".to_owned()), "{notes:?}");
    assert!(!notes.contains(&"matched and".to_owned()), "{notes:?}");
}

async fn a_loop_between_rules_is_cut(b: Backend) {
    let t = TestApp::start(b).await;
    // Each undoes the other: without the chain rule they would run forever.
    let add = create_rule(
        &t,
        rule(
            "add x",
            "conversation_updated",
            json!([{"attribute_key": "labels", "filter_operator": "not_equal_to", "values": ["x"]}]),
            json!([{"action_name": "add_label", "action_params": ["x"]}]),
        ),
    )
    .await;
    let remove = create_rule(
        &t,
        rule(
            "remove x",
            "conversation_updated",
            json!([{"attribute_key": "labels", "filter_operator": "equal_to", "values": ["x"]}]),
            json!([{"action_name": "remove_label", "action_params": ["x"]}]),
        ),
    )
    .await;
    let inbox = t.api_inbox("Site", None).await;
    let th = thread(&t, &inbox, "hi").await;
    // An agent's change starts it.
    t.admin(
        "POST",
        &t.acc(&format!(
            "/conversations/{}/toggle_priority",
            th.conversation_id
        )),
        Some(json!({"priority": "low"})),
    )
    .await
    .expect(200);
    let added = eventually_runs(&t, add, 2, "add x ran and was stopped").await;
    // Give a runaway loop time to show itself.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let added = {
        let again = runs(&t, add).await;
        assert_eq!(again.len(), added.len(), "no more runs: {again:?}");
        again
    };
    let removed = runs(&t, remove).await;
    let outcomes = |r: &[Value]| {
        let mut o: Vec<String> = r
            .iter()
            .map(|x| x["outcome"].as_str().unwrap().to_owned())
            .collect();
        o.sort();
        o
    };
    assert_eq!(outcomes(&added), ["acted", "stopped"], "{added:?}");
    assert_eq!(outcomes(&removed), ["acted"], "{removed:?}");
    let stopped = added.iter().find(|r| r["outcome"] == "stopped").unwrap();
    assert_eq!(stopped["chain"], json!([add, remove]));
    assert!(
        stopped["detail"][0]["error"]
            .as_str()
            .unwrap()
            .contains("own actions")
    );
    assert!(labels(&t, th.conversation_id).await.is_empty());
}

async fn a_delayed_rule_acts_only_if_still_true(b: Backend) {
    let t = TestApp::start(b).await;
    let (agent_id, _) = t.agent("ana@acme.test", "agent").await;
    let id = create_rule(
        &t,
        json!({"name": "Unattended after 30 minutes", "event_name": "conversation_created",
               "delay_minutes": 30,
               "conditions": [{"attribute_key": "assignee_id", "filter_operator": "is_not_present"}],
               "actions": [{"action_name": "add_label", "action_params": ["unattended"]},
                           {"action_name": "change_priority", "action_params": ["urgent"]}]}),
    )
    .await;
    // Auto-assignment is off for this inbox, so both wait unassigned.
    let inbox = t.api_inbox("Site", None).await;
    let inbox_id = inbox["id"].as_i64().unwrap();
    t.admin(
        "PATCH",
        &t.acc(&format!("/inboxes/{inbox_id}")),
        Some(json!({"enable_auto_assignment": false})),
    )
    .await
    .expect(200);
    let waiting = thread(&t, &inbox, "hello?").await;
    let helped = thread(&t, &inbox, "hi").await;
    let log = eventually_runs(&t, id, 2, "both scheduled").await;
    assert!(log.iter().all(|r| r["outcome"] == "scheduled"), "{log:?}");
    assert!(
        labels(&t, waiting.conversation_id).await.is_empty(),
        "not yet"
    );
    t.admin(
        "POST",
        &t.acc(&format!(
            "/conversations/{}/assignments",
            helped.conversation_id
        )),
        Some(json!({"assignee_id": agent_id})),
    )
    .await
    .expect(200);
    t.pass_automation_time(31 * 60).await;
    let settled = t
        .eventually(WAIT, "both settled", || {
            let t = &t;
            async move {
                let r = runs(t, id).await;
                r.iter().all(|x| x["outcome"] != "scheduled").then_some(r)
            }
        })
        .await;
    let outcome_of = |display: i64| {
        settled
            .iter()
            .find(|r| r["conversation_id"] == display)
            .map(|r| r["outcome"].as_str().unwrap().to_owned())
    };
    assert_eq!(
        outcome_of(waiting.conversation_id).as_deref(),
        Some("acted")
    );
    assert_eq!(
        outcome_of(helped.conversation_id).as_deref(),
        Some("lapsed")
    );
    assert_eq!(labels(&t, waiting.conversation_id).await, ["unattended"]);
    assert_eq!(
        conversation(&t, waiting.conversation_id).await["priority"],
        "urgent"
    );
    assert!(labels(&t, helped.conversation_id).await.is_empty());
}

async fn business_events_and_a_channel_switch_set_rules_off(b: Backend) {
    let t = TestApp::start(b).await;
    let delivered = create_rule(
        &t,
        rule(
            "Delivered orders",
            "business_event_received",
            json!([
                {"attribute_key": "event_type", "filter_operator": "equal_to", "values": ["order_delivered"], "query_operator": "and"},
                {"attribute_key": "event.carrier", "filter_operator": "equal_to", "values": ["Correios"]},
            ]),
            json!([{"action_name": "add_private_note", "action_params": ["Order delivered by Correios"]}]),
        ),
    )
    .await;
    let switched = create_rule(
        &t,
        rule(
            "Moved channel",
            "channel_switched",
            json!([]),
            json!([{"action_name": "add_label", "action_params": ["switched"]}]),
        ),
    )
    .await;
    let site = t.api_inbox("Site", None).await;
    let app = t.api_inbox("App", None).await;
    let th = thread(&t, &site, "Where is my order?").await;
    let events = t.acc(&format!("/contacts/{}/events", th.contact_id));
    t.admin(
        "POST",
        &events,
        Some(json!({"event_id": "d-1", "type": "order_shipped", "properties": {"carrier": "Correios"}})),
    )
    .await
    .expect(201);
    t.admin(
        "POST",
        &events,
        Some(json!({"event_id": "d-2", "type": "order_delivered", "properties": {"carrier": "Correios"}})),
    )
    .await
    .expect(201);
    let log = eventually_runs(&t, delivered, 1, "the delivery rule ran").await;
    assert_eq!(log.len(), 1, "only the delivery matched: {log:?}");
    assert_eq!(log[0]["event_name"], "business_event_received");
    assert_eq!(log[0]["conversation_id"], th.conversation_id);
    assert!(
        messages(&t, th.conversation_id)
            .await
            .iter()
            .any(|m| m["content"] == "Order delivered by Correios" && m["private"] == true)
    );
    // The same customer writes again on the site (no switch), then through the app inbox,
    // relayed into the same conversation.
    crate::customer_writes(&t, &th, "still waiting").await;
    assert!(runs(&t, switched).await.is_empty());
    t.admin(
        "POST",
        &t.acc(&format!("/contacts/{}/contact_inboxes", th.contact_id)),
        Some(json!({"inbox_id": app["id"], "source_id": "app-ana"})),
    )
    .await
    .expect(200);
    t.admin(
        "POST",
        &t.acc(&format!("/conversations/{}/messages", th.conversation_id)),
        Some(json!({"content": "from the app", "message_type": "incoming", "inbox_id": app["id"]})),
    )
    .await
    .expect(200);
    let log = eventually_runs(&t, switched, 1, "the switch rule ran").await;
    assert_eq!(log[0]["outcome"], "acted");
    assert_eq!(labels(&t, th.conversation_id).await, ["switched"]);
}

async fn the_preview_tries_recent_conversations(b: Backend) {
    let t = TestApp::start(b).await;
    let inbox = t.api_inbox("Site", None).await;
    let refund = thread(&t, &inbox, "I need a refund").await;
    let other = thread(&t, &inbox, "Hello there").await;
    let body = rule(
        "preview",
        "message_created",
        json!([{"attribute_key": "content", "filter_operator": "contains", "values": ["refund"]}]),
        json!([{"action_name": "add_label", "action_params": ["refund"]}]),
    );
    let p = t
        .admin("POST", &t.acc("/automation_rules/preview"), Some(body))
        .await
        .expect(200);
    assert_eq!(p["checked"], 2);
    assert_eq!(p["matched"], 1);
    let row = |id: i64| {
        p["payload"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["conversation_id"] == id)
            .cloned()
            .unwrap()
    };
    assert_eq!(row(refund.conversation_id)["matched"], true);
    assert_eq!(row(refund.conversation_id)["actions"], json!(["add_label"]));
    assert_eq!(row(other.conversation_id)["matched"], false);
    // Nothing was saved or done.
    assert!(labels(&t, refund.conversation_id).await.is_empty());
    assert_eq!(
        t.get(&t.acc("/automation_rules")).await["payload"],
        json!([])
    );
}
