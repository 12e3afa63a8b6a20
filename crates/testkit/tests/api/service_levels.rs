//! Business hours, the greeting and out-of-office replies, and SLA policies over the real API:
//! each automatic reply once per conversation; hours checked when saved and shown to the
//! widget; SLA policies in Chatwoot's shape, applied by inbox, label or rule, their warnings
//! and breaches reaching webhooks, the agents' socket and automation rules.

use std::time::Duration;

use serde_json::{Value, json};
use throughline_testkit::receiver::{Behaviour, Receiver};
use throughline_testkit::ws::WsClient;
use throughline_testkit::{Backend, TestApp, on_both_databases};

use crate::thread;

on_both_databases!(
    greeting_and_out_of_office_are_sent_once_per_conversation,
    business_hours_are_checked_and_shown_to_the_widget,
    sla_policies_are_managed_in_chatwoots_shape,
    an_sla_breach_reaches_webhooks_the_socket_and_rules,
    a_rule_applies_an_sla_and_a_met_policy_is_a_hit,
    business_hours_hold_the_sla_clock,
);

const WAIT: Duration = Duration::from_secs(20);

fn closed_every_day() -> Value {
    Value::Array(
        (0..7)
            .map(|d| json!({"day_of_week": d, "closed_all_day": true}))
            .collect(),
    )
}

async fn messages(t: &TestApp, display_id: i64) -> Vec<Value> {
    t.get(&t.acc(&format!("/conversations/{display_id}/messages")))
        .await["payload"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn auto_replies(list: &[Value]) -> Vec<String> {
    list.iter()
        .filter(|m| m["message_type"] == 3)
        .filter_map(|m| {
            m["content_attributes"]["auto_reply"]
                .as_str()
                .map(str::to_owned)
        })
        .collect()
}

async fn customer_writes(t: &TestApp, th: &crate::Thread, text: &str) -> Value {
    let ident = th.inbox["inbox_identifier"].as_str().unwrap();
    t.call(
        "POST",
        &format!(
            "/public/api/v1/inboxes/{ident}/contacts/{}/conversations/{}/messages",
            th.source_id, th.conversation_id
        ),
        None,
        Some(json!({"content": text})),
    )
    .await
    .expect(200)
}

async fn agent_replies(t: &TestApp, display_id: i64, text: &str) {
    t.post(
        &t.acc(&format!("/conversations/{display_id}/messages")),
        json!({"content": text}),
    )
    .await;
}

async fn greeting_and_out_of_office_are_sent_once_per_conversation(b: Backend) {
    let t = TestApp::start(b).await;
    let inbox = t.api_inbox("App", None).await;
    let id = inbox["id"].as_i64().unwrap();
    t.admin(
        "PATCH",
        &t.acc(&format!("/inboxes/{id}")),
        Some(
            json!({"greeting_enabled": true, "greeting_message": "Olá! Already on it.",
                    "working_hours_enabled": true, "working_hours": closed_every_day(),
                    "out_of_office_message": "We are closed now."}),
        ),
    )
    .await
    .expect(200);
    let th = thread(&t, &inbox, "Hello?").await;
    let first = t
        .eventually(WAIT, "the greeting and the out-of-office reply", || async {
            let list = messages(&t, th.conversation_id).await;
            (auto_replies(&list).len() == 2).then_some(list)
        })
        .await;
    let replies = auto_replies(&first);
    assert!(replies.contains(&"greeting".into()) && replies.contains(&"out_of_office".into()));
    let greeting = first
        .iter()
        .find(|m| m["content_attributes"]["auto_reply"] == "greeting")
        .unwrap();
    assert_eq!(greeting["content"], "Olá! Already on it.");

    // More messages in the same conversation: nothing again. A second customer's first
    // message (its replies arrive after the first customer's messages were handled) shows
    // the consumer has seen them.
    customer_writes(&t, &th, "Anyone?").await;
    customer_writes(&t, &th, "Hello???").await;
    let other = thread(&t, &inbox, "Hi, second customer here").await;
    t.eventually(WAIT, "the second customer's replies", || async {
        (auto_replies(&messages(&t, other.conversation_id).await).len() == 2).then_some(())
    })
    .await;
    assert_eq!(
        auto_replies(&messages(&t, th.conversation_id).await).len(),
        2
    );

    // Inside business hours (open all day, every day): the greeting only.
    let open: Vec<Value> = (0..7)
        .map(|d| json!({"day_of_week": d, "closed_all_day": false, "open_all_day": true}))
        .collect();
    t.admin(
        "PATCH",
        &t.acc(&format!("/inboxes/{id}")),
        Some(json!({"working_hours": open})),
    )
    .await
    .expect(200);
    let third = thread(&t, &inbox, "Morning!").await;
    let list = t
        .eventually(WAIT, "the greeting", || async {
            let list = messages(&t, third.conversation_id).await;
            (!auto_replies(&list).is_empty()).then_some(list)
        })
        .await;
    let fourth = thread(&t, &inbox, "Another one").await;
    t.eventually(WAIT, "the next greeting", || async {
        (!auto_replies(&messages(&t, fourth.conversation_id).await).is_empty()).then_some(())
    })
    .await;
    assert_eq!(auto_replies(&list), vec!["greeting".to_owned()]);
    assert_eq!(
        auto_replies(&messages(&t, third.conversation_id).await),
        vec!["greeting".to_owned()]
    );
}

async fn business_hours_are_checked_and_shown_to_the_widget(b: Backend) {
    let t = TestApp::start(b).await;
    let inbox = t
        .post(
            &t.acc("/inboxes"),
            json!({"name": "Website", "channel": {"type": "web_widget", "website_url": "https://shop.example"}}),
        )
        .await;
    let id = inbox["id"].as_i64().unwrap();
    let path = t.acc(&format!("/inboxes/{id}"));
    let bad = [
        (json!({"timezone": "Mars/Olympus"}), "timezone"),
        (json!({"timezone": 5}), "timezone"),
        (
            json!({"working_hours": [{"day_of_week": 9, "open_hour": 9, "close_hour": 17}]}),
            "working_hours[0]",
        ),
        (
            json!({"working_hours": [{"day_of_week": 1, "closed_all_day": false,
                   "open_hour": 18, "open_minutes": 0, "close_hour": 9, "close_minutes": 0}]}),
            "working_hours[0]",
        ),
        (json!({"working_hours": "9-17"}), "working_hours"),
        (json!({"holidays": [{"date": "2026-13-40"}]}), "holidays[0]"),
        (
            json!({"working_hours_enabled": "yes"}),
            "working_hours_enabled",
        ),
        (json!({"csat_survey_type": "stars"}), "csat_survey_type"),
    ];
    for (body, field) in bad {
        let answer = t.admin("PATCH", &path, Some(body.clone())).await;
        assert_eq!(answer.status, 422, "{body} → {}", answer.body);
        assert!(
            answer.body.to_string().contains(field),
            "{field} not named for {body}: {}",
            answer.body
        );
    }
    let ident = inbox["inbox_identifier"].as_str().unwrap().to_owned();
    let public = format!("/public/api/v1/inboxes/{ident}");
    // Without hours: open.
    let shown = t.call("GET", &public, None, None).await.expect(200);
    assert_eq!(shown["open_now"], true);
    assert!(shown.get("opens_at").is_none());
    // Several periods a day (Throughline's), a holiday today, closed otherwise: closed now,
    // opening on a later day.
    let today = chrono_like_today();
    let mut hours = Vec::new();
    for d in 0..7 {
        hours.push(
            json!({"day_of_week": d, "closed_all_day": false, "open_hour": 9,
                          "open_minutes": 0, "close_hour": 12, "close_minutes": 0}),
        );
        hours.push(
            json!({"day_of_week": d, "closed_all_day": false, "open_hour": 13,
                          "open_minutes": 0, "close_hour": 18, "close_minutes": 0}),
        );
    }
    let saved = t
        .admin(
            "PATCH",
            &path,
            Some(json!({"working_hours_enabled": true, "timezone": "UTC",
                        "working_hours": hours, "reply_time": "in_a_few_hours",
                        "holidays": [{"date": today, "name": "Closed for inventory"}]})),
        )
        .await
        .expect(200);
    assert_eq!(saved["working_hours_enabled"], true);
    let shown = t.call("GET", &public, None, None).await.expect(200);
    assert_eq!(shown["open_now"], false, "{shown}");
    let opens = shown["opens_at"].as_i64().unwrap();
    let now = now_secs();
    assert!(opens > now, "{opens} should be after now ({now})");
    assert!(
        opens - now <= 2 * 86_400,
        "opens tomorrow morning at the latest"
    );
    assert_eq!(opens % 3_600, 0, "opens on the hour (09:00 or 13:00 UTC)");
    assert_eq!(shown["reply_time"], "in_a_few_hours");
    assert_eq!(shown["working_hours"].as_array().unwrap().len(), 14);
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Today's date in UTC, `YYYY-MM-DD`.
fn chrono_like_today() -> String {
    let days = now_secs().div_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!("{y:04}-{m:02}-{d:02}")
}

async fn sla_policies_are_managed_in_chatwoots_shape(b: Backend) {
    let t = TestApp::start(b).await;
    let (_, agent) = t.agent("ana@acme.test", "agent").await;
    let inbox = t.api_inbox("App", None).await;
    let created = t
        .admin(
            "POST",
            &t.acc("/sla_policies"),
            Some(
                json!({"sla_policy": {"name": "Gold", "description": "VIP customers",
                "first_response_time_threshold": 3600, "next_response_time_threshold": "1800",
                "resolution_time_threshold": 86400, "only_during_business_hours": true,
                "inbox_ids": [inbox["id"]], "labels": ["vip"]}}),
            ),
        )
        .await
        .expect(200);
    let p = &created["payload"];
    let id = p["id"].as_i64().unwrap();
    assert_eq!(p["name"], "Gold");
    assert_eq!(p["first_response_time_threshold"], 3600);
    assert_eq!(p["next_response_time_threshold"], 1800);
    assert_eq!(p["only_during_business_hours"], true);
    assert_eq!(p["warning_percent"], 80);
    assert_eq!(p["labels"], json!(["vip"]));
    // Agents read (the badges need the policies); only administrators change.
    let listed = t
        .call("GET", &t.acc("/sla_policies"), Some(&agent), None)
        .await
        .expect(200);
    assert_eq!(listed["payload"][0]["id"], id);
    t.call(
        "PATCH",
        &t.acc(&format!("/sla_policies/{id}")),
        Some(&agent),
        Some(json!({"name": "Mine"})),
    )
    .await
    .expect(403);
    t.call(
        "DELETE",
        &t.acc(&format!("/sla_policies/{id}")),
        Some(&agent),
        None,
    )
    .await
    .expect(403);
    let patched = t
        .admin(
            "PATCH",
            &t.acc(&format!("/sla_policies/{id}")),
            Some(json!({"next_response_time_threshold": null, "warning_percent": 50})),
        )
        .await
        .expect(200);
    assert_eq!(
        patched["payload"]["next_response_time_threshold"],
        Value::Null
    );
    assert_eq!(
        patched["payload"]["first_response_time_threshold"], 3600,
        "kept"
    );
    assert_eq!(patched["payload"]["warning_percent"], 50);

    let bad = [
        (
            json!({"name": " ", "first_response_time_threshold": 60}),
            "name",
        ),
        (json!({"name": "x"}), "first_response_time_threshold"),
        (
            json!({"name": "x", "first_response_time_threshold": -5}),
            "first_response_time_threshold",
        ),
        (
            json!({"name": "x", "resolution_time_threshold": "soon"}),
            "resolution_time_threshold",
        ),
        (
            json!({"name": "x", "first_response_time_threshold": 60, "warning_percent": 100}),
            "warning_percent",
        ),
        (
            json!({"name": "x", "first_response_time_threshold": 60, "inbox_ids": [987654]}),
            "inbox_ids[0]",
        ),
    ];
    for (body, field) in bad {
        let answer = t
            .admin("POST", &t.acc("/sla_policies"), Some(body.clone()))
            .await;
        assert_eq!(answer.status, 422, "{body} → {}", answer.body);
        assert!(
            answer.body.to_string().contains(&format!("\"{field}\"")),
            "{field}: {}",
            answer.body
        );
    }
    // A rule may only name a policy of its account.
    let rule = t
        .admin(
            "POST",
            &t.acc("/automation_rules"),
            Some(
                json!({"name": "x", "event_name": "conversation_created", "conditions": [],
                        "actions": [{"action_name": "add_sla", "action_params": [987654]}]}),
            ),
        )
        .await;
    assert_eq!(rule.status, 422, "{}", rule.body);
    t.admin("DELETE", &t.acc(&format!("/sla_policies/{id}")), None)
        .await
        .expect(200);
    t.admin("GET", &t.acc(&format!("/sla_policies/{id}")), None)
        .await
        .expect(404);
    let audit = t.get(&t.acc("/audit_logs")).await.to_string();
    assert!(audit.contains("SlaPolicy"), "{audit}");
}

async fn an_sla_breach_reaches_webhooks_the_socket_and_rules(b: Backend) {
    let t = TestApp::start(b).await;
    let hook = Receiver::start(Behaviour::Accept).await;
    t.post(
        &t.acc("/webhooks"),
        json!({"url": hook.url, "subscriptions": ["sla_warning", "sla_breached"]}),
    )
    .await;
    let inbox = t.api_inbox("App", None).await;
    t.post(
        &t.acc("/sla_policies"),
        // A warning at 4 s, the breach at 8 s: apart enough for a busy machine to see both.
        json!({"name": "Fast", "first_response_time_threshold": 8, "warning_percent": 50,
               "inbox_ids": [inbox["id"]]}),
    )
    .await;
    t.post(
        &t.acc("/automation_rules"),
        json!({"name": "Late", "event_name": "sla_breached", "conditions": [],
               "actions": [{"action_name": "add_label", "action_params": ["late"]},
                           {"action_name": "change_priority", "action_params": ["urgent"]}]}),
    )
    .await;
    let mut ws = WsClient::connect(
        &t.ws_url("/api/v1/realtime"),
        &[("api_access_token", &t.token)],
    )
    .await
    .unwrap();
    ws.until("ready", WAIT).await;

    let th = thread(&t, &inbox, "Help, quickly").await;
    let shown = t
        .eventually(WAIT, "the policy on the conversation", || async {
            let c = t
                .get(&t.acc(&format!("/conversations/{}", th.conversation_id)))
                .await;
            c.get("applied_sla").is_some().then_some(c)
        })
        .await;
    assert_eq!(shown["applied_sla"]["sla_name"], "Fast");
    assert!(
        shown["applied_sla"]["due_at"]["frt"].as_i64().is_some(),
        "{shown}"
    );
    assert!(shown["sla_policy_id"].as_i64().is_some());

    let got = t
        .eventually(WAIT, "the warning and the breach", || async {
            let r = hook.received();
            (r.len() >= 2).then_some(r)
        })
        .await;
    // Deliveries run side by side: a retried warning may land after the breach.
    let named = |name: &str| {
        let found: Vec<_> = got.iter().filter(|r| r.body["event"] == name).collect();
        assert_eq!(found.len(), 1, "one {name}: {got:?}");
        found[0].clone()
    };
    named("sla_warning");
    let breach = named("sla_breached");
    assert_eq!(breach.body["id"], th.conversation_id);
    assert_eq!(breach.body["sla_event"]["event_type"], "frt");
    assert_eq!(breach.body["sla_event"]["sla_policy"]["name"], "Fast");
    assert!(
        breach.header("x-chatwoot-signature").is_some(),
        "signed like every webhook"
    );
    let frame = loop {
        let f = ws.next_event(WAIT).await.expect("an sla_breached frame");
        if f["event"] == "sla_breached" {
            break f;
        }
    };
    assert_eq!(frame["conversation_id"], th.conversation_id);
    assert_eq!(frame["data"]["sla_event"]["kind"], "breach");

    // The rule on sla_breached ran.
    let c = t
        .eventually(WAIT, "the rule's label", || async {
            let c = t
                .get(&t.acc(&format!("/conversations/{}", th.conversation_id)))
                .await;
            (c["labels"] == json!(["late"])).then_some(c)
        })
        .await;
    assert_eq!(c["priority"], "urgent");
    assert_eq!(c["applied_sla"]["breached"], json!(["frt"]));
    // The late answer is recorded: the policy was missed.
    agent_replies(&t, th.conversation_id, "Sorry for the wait!").await;
    t.eventually(WAIT, "the policy missed", || async {
        let c = t
            .get(&t.acc(&format!("/conversations/{}", th.conversation_id)))
            .await;
        (c["applied_sla"]["sla_status"] == "missed").then_some(())
    })
    .await;
    // Exactly one warning and one breach, however long we look.
    assert_eq!(hook.received().len(), 2);
    // What the reports read: one policy applied, missed.
    let m = t.get(&t.acc("/applied_slas/metrics")).await;
    assert_eq!(m["total_applied_slas"], 1);
    assert_eq!(m["number_of_sla_misses"], 1);
    assert_eq!(m["hit_rate"], "0.0%");
    assert_eq!(m["policies"][0]["name"], "Fast");
    assert_eq!(m["policies"][0]["missed"], 1);
}

async fn a_rule_applies_an_sla_and_a_met_policy_is_a_hit(b: Backend) {
    let t = TestApp::start(b).await;
    let inbox = t.api_inbox("App", None).await;
    let policy = t
        .post(
            &t.acc("/sla_policies"),
            json!({"name": "Standard", "first_response_time_threshold": 3600,
                   "resolution_time_threshold": 86400}),
        )
        .await;
    let policy_id = policy["payload"]["id"].as_i64().unwrap();
    t.post(
        &t.acc("/automation_rules"),
        json!({"name": "SLA for refunds", "event_name": "message_created",
               "conditions": [{"attribute_key": "content", "filter_operator": "contains", "values": ["refund"]}],
               "actions": [{"action_name": "add_sla", "action_params": [policy_id]}]}),
    )
    .await;
    let plain = thread(&t, &inbox, "Just a question").await;
    let th = thread(&t, &inbox, "I want a refund").await;
    let c = t
        .eventually(WAIT, "the rule's policy", || async {
            let c = t
                .get(&t.acc(&format!("/conversations/{}", th.conversation_id)))
                .await;
            c.get("applied_sla").is_some().then_some(c)
        })
        .await;
    assert_eq!(c["applied_sla"]["sla_id"], policy_id);
    assert_eq!(c["applied_sla"]["sla_status"], "active");
    let due = &c["applied_sla"]["due_at"];
    assert!(due["frt"].as_i64().unwrap() - now_secs() > 3_000, "{due}");
    assert!(due["rt"].as_i64().is_some());
    let other = t
        .get(&t.acc(&format!("/conversations/{}", plain.conversation_id)))
        .await;
    assert!(
        other.get("applied_sla").is_none(),
        "the rule's conditions did not hold"
    );

    agent_replies(&t, th.conversation_id, "Refund on its way").await;
    t.post(
        &t.acc(&format!(
            "/conversations/{}/toggle_status",
            th.conversation_id
        )),
        json!({"status": "resolved"}),
    )
    .await;
    t.eventually(WAIT, "the policy hit", || async {
        let c = t
            .get(&t.acc(&format!("/conversations/{}", th.conversation_id)))
            .await;
        (c["applied_sla"]["sla_status"] == "hit").then_some(())
    })
    .await;
    let m = t
        .get(&t.acc(&format!("/applied_slas/metrics?sla_policy_id={policy_id}")))
        .await;
    assert_eq!(m["total_applied_slas"], 1);
    assert_eq!(m["number_of_sla_misses"], 0);
    assert_eq!(m["hit_rate"], "100.0%");
    assert_eq!(m["policies"][0]["hit"], 1);
    let (_, agent) = t.agent("zeca@acme.test", "agent").await;
    t.call("GET", &t.acc("/applied_slas/metrics"), Some(&agent), None)
        .await
        .expect(403);
    let nothing = t
        .get(&t.acc("/applied_slas/metrics?since=4102444800"))
        .await;
    assert_eq!(nothing["total_applied_slas"], 0);
}

async fn business_hours_hold_the_sla_clock(b: Backend) {
    let t = TestApp::start(b).await;
    let inbox = t.api_inbox("App", None).await;
    let id = inbox["id"].as_i64().unwrap();
    // Open only on the day after tomorrow (UTC): counted in business hours, the first
    // response is due then, not in a minute.
    let weekday = (now_secs().div_euclid(86_400) + 4).rem_euclid(7); // 1970-01-01 was a Thursday
    let open_day = (weekday + 2) % 7;
    let hours: Vec<Value> = (0..7)
        .map(|d| {
            if d == open_day {
                json!({"day_of_week": d, "closed_all_day": false, "open_all_day": true})
            } else {
                json!({"day_of_week": d, "closed_all_day": true})
            }
        })
        .collect();
    t.admin(
        "PATCH",
        &t.acc(&format!("/inboxes/{id}")),
        Some(json!({"working_hours_enabled": true, "timezone": "UTC", "working_hours": hours})),
    )
    .await
    .expect(200);
    t.post(
        &t.acc("/sla_policies"),
        json!({"name": "Office hours", "first_response_time_threshold": 60,
               "only_during_business_hours": true, "inbox_ids": [id]}),
    )
    .await;
    let th = thread(&t, &inbox, "Hello").await;
    let c = t
        .eventually(WAIT, "the policy", || async {
            let c = t
                .get(&t.acc(&format!("/conversations/{}", th.conversation_id)))
                .await;
            c.get("applied_sla").is_some().then_some(c)
        })
        .await;
    let due = c["applied_sla"]["due_at"]["frt"].as_i64().unwrap();
    let opens = (now_secs().div_euclid(86_400) + 2) * 86_400;
    assert_eq!(due, opens + 60, "a minute after the inbox opens");
}
