//! Journey campaigns over the real API: the story of seed 004 — an order delivered, three
//! days later (a simulated clock) a survey on the channel the customer used last; an opt-out
//! moves the next one to another channel, a full opt-out stops it; an abandoned cart's
//! reminder cancelled by the order that followed; one send per (campaign, contact, event).

use std::time::Duration;

use serde_json::{Value, json};
use throughline_testkit::smtp_sink::SmtpSink;
use throughline_testkit::{Backend, TestApp, on_both_databases};

use crate::thread;

on_both_databases!(
    a_delivered_order_gets_a_survey_three_days_later,
    campaigns_are_checked_and_admins_only,
);

const WAIT: Duration = Duration::from_secs(20);
const THREE_DAYS: i64 = 3 * 24 * 3_600;

async fn messages(t: &TestApp, display_id: i64) -> Vec<Value> {
    t.get(&t.acc(&format!("/conversations/{display_id}/messages")))
        .await["payload"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn sends(t: &TestApp, campaign: i64) -> Vec<Value> {
    t.get(&t.acc(&format!("/journey_campaigns/{campaign}/sends")))
        .await["payload"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn post_event(t: &TestApp, contact: i64, id: &str, kind: &str) -> u16 {
    t.admin(
        "POST",
        &t.acc(&format!("/contacts/{contact}/events")),
        Some(
            json!({"event_id": id, "type": kind, "title": format!("Order {id}"),
                    "properties": {"order_id": id}}),
        ),
    )
    .await
    .status
}

/// Waits until the campaign has `n` sends that are no longer scheduled; returns them all.
async fn settled(t: &TestApp, campaign: i64, n: usize) -> Vec<Value> {
    t.eventually(WAIT, "the campaign's sends settled", || async {
        let all = sends(t, campaign).await;
        let done = all.iter().filter(|s| s["status"] != "scheduled").count();
        (done >= n).then_some(all)
    })
    .await
}

async fn a_delivered_order_gets_a_survey_three_days_later(b: Backend) {
    let t = TestApp::start(b).await;
    let sink = SmtpSink::start().await;
    let app = t.api_inbox("Shop app", None).await;
    t.email_inbox("Support", "support@shop.test", Some(sink.port))
        .await;
    let survey = t
        .post(
            &t.acc("/journey_campaigns"),
            json!({"name": "Delivery survey", "trigger_event_type": "order_delivered",
                   "delay_minutes": 3 * 24 * 60, "kind": "survey", "survey_type": "csat"}),
        )
        .await;
    let survey_id = survey["payload"]["id"].as_i64().unwrap();
    assert_eq!(survey["payload"]["trigger_event_type"], "order_delivered");
    let reminder = t
        .post(
            &t.acc("/journey_campaigns"),
            json!({"name": "Cart reminder", "trigger_event_type": "cart_abandoned",
                   "delay_minutes": 60, "cancel_on_event_types": ["order_created"],
                   "kind": "message", "message": "Oi {{contact.name}}, seu carrinho ainda está aqui!"}),
        )
        .await;
    let reminder_id = reminder["payload"]["id"].as_i64().unwrap();

    // The customer writes through the app (their last channel), and has an email address.
    let th = thread(&t, &app, "Oi, comprei um fone").await;
    t.admin(
        "PUT",
        &t.acc(&format!("/contacts/{}", th.contact_id)),
        Some(json!({"email": "ana@example.test"})),
    )
    .await
    .expect(200);

    // The order is delivered; posting the same event twice schedules one send.
    assert_eq!(
        post_event(&t, th.contact_id, "A-1", "order_delivered").await,
        201
    );
    assert_eq!(
        post_event(&t, th.contact_id, "A-1", "order_delivered").await,
        200
    );
    let scheduled = t
        .eventually(WAIT, "the send scheduled", || async {
            let s = sends(&t, survey_id).await;
            (!s.is_empty()).then_some(s)
        })
        .await;
    assert_eq!(scheduled.len(), 1);
    assert_eq!(scheduled[0]["status"], "scheduled");
    let due = scheduled[0]["due_at"].as_i64().unwrap();
    let now = now_secs();
    assert!(
        (due - now - THREE_DAYS).abs() < 120,
        "due three days from now: {due} vs {now}"
    );

    // Three days pass: the survey goes out through the app, where the customer wrote last.
    t.pass_journey_time(THREE_DAYS).await;
    let done = settled(&t, survey_id, 1).await;
    assert_eq!(done[0]["status"], "sent", "{done:?}");
    assert_eq!(done[0]["inbox_id"], app["id"]);
    assert_eq!(done[0]["conversation_id"], th.conversation_id);
    assert_eq!(done[0]["contact_name"], "Ana Souza");
    let list = messages(&t, th.conversation_id).await;
    let sent = list
        .iter()
        .find(|m| m["content_type"] == "input_csat")
        .expect("the survey in the conversation");
    assert_eq!(sent["content_attributes"]["journey_campaign_id"], survey_id);
    // Answered by a reply, like any survey.
    let ident = app["inbox_identifier"].as_str().unwrap();
    t.call(
        "POST",
        &format!(
            "/public/api/v1/inboxes/{ident}/contacts/{}/conversations/{}/messages",
            th.source_id, th.conversation_id
        ),
        None,
        Some(json!({"content": "5"})),
    )
    .await
    .expect(200);
    t.eventually(WAIT, "the answer", || async {
        let r = t.get(&t.acc("/csat_survey_responses")).await;
        (r.as_array().unwrap().len() == 1).then_some(())
    })
    .await;

    // The customer opts out of the app: the next survey goes by email instead.
    t.admin(
        "PUT",
        &t.acc(&format!("/contacts/{}/opt_outs", th.contact_id)),
        Some(json!({"channels": ["api"]})),
    )
    .await
    .expect(200);
    post_event(&t, th.contact_id, "A-2", "order_delivered").await;
    t.eventually(WAIT, "the second send scheduled", || async {
        (sends(&t, survey_id).await.len() == 2).then_some(())
    })
    .await;
    t.pass_journey_time(THREE_DAYS).await;
    let done = settled(&t, survey_id, 2).await;
    assert_eq!(done[0]["status"], "sent", "{done:?}");
    assert_ne!(
        done[0]["inbox_id"], app["id"],
        "not through the channel opted out of"
    );
    let mail = sink.wait_for(1, WAIT).await;
    assert_eq!(mail[0].rcpt_to, vec!["<ana@example.test>".to_owned()]);
    assert!(String::from_utf8_lossy(&mail[0].data).contains("/survey/responses/"));

    // Opted out of everything: the next one is not sent.
    t.admin(
        "PUT",
        &t.acc(&format!("/contacts/{}/opt_outs", th.contact_id)),
        Some(json!({"channels": ["all"]})),
    )
    .await
    .expect(200);
    post_event(&t, th.contact_id, "A-3", "order_delivered").await;
    t.eventually(WAIT, "the third send scheduled", || async {
        (sends(&t, survey_id).await.len() == 3).then_some(())
    })
    .await;
    t.pass_journey_time(THREE_DAYS).await;
    let done = settled(&t, survey_id, 3).await;
    assert_eq!(done[0]["status"], "skipped", "{done:?}");
    assert!(done[0]["detail"].as_str().unwrap().contains("opted out"));
    let shown = t
        .get(&t.acc(&format!("/contacts/{}/opt_outs", th.contact_id)))
        .await;
    assert_eq!(shown["payload"]["channels"], json!(["all"]));

    // An abandoned cart followed by the order: the reminder is cancelled. Another contact's
    // abandoned cart with no order gets it, with their name filled in.
    t.admin(
        "PUT",
        &t.acc(&format!("/contacts/{}/opt_outs", th.contact_id)),
        Some(json!({"channels": []})),
    )
    .await
    .expect(200);
    post_event(&t, th.contact_id, "C-1", "cart_abandoned").await;
    post_event(&t, th.contact_id, "O-1", "order_created").await;
    let other = thread(&t, &app, "Só olhando").await;
    post_event(&t, other.contact_id, "C-2", "cart_abandoned").await;
    t.eventually(WAIT, "both reminders scheduled", || async {
        (sends(&t, reminder_id).await.len() == 2).then_some(())
    })
    .await;
    t.pass_journey_time(3_600).await;
    let done = settled(&t, reminder_id, 2).await;
    let by_contact = |c: i64| done.iter().find(|s| s["contact_id"] == c).cloned().unwrap();
    assert_eq!(by_contact(th.contact_id)["status"], "cancelled");
    assert!(
        by_contact(th.contact_id)["detail"]
            .as_str()
            .unwrap()
            .contains("order_created")
    );
    assert_eq!(by_contact(other.contact_id)["status"], "sent");
    let reminded = messages(&t, other.conversation_id).await;
    assert!(
        reminded
            .iter()
            .any(|m| m["content"] == "Oi Ana Souza, seu carrinho ainda está aqui!"),
        "{reminded:?}"
    );
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn campaigns_are_checked_and_admins_only(b: Backend) {
    let t = TestApp::start(b).await;
    let (_, agent) = t.agent("rui@acme.test", "agent").await;
    let bad = [
        (
            json!({"trigger_event_type": "order_delivered", "kind": "message", "message": "x"}),
            "name",
        ),
        (
            json!({"name": "x", "trigger_event_type": "Bad Type", "kind": "message", "message": "x"}),
            "trigger_event_type",
        ),
        (
            json!({"name": "x", "trigger_event_type": "a", "kind": "message"}),
            "message",
        ),
        (
            json!({"name": "x", "trigger_event_type": "a", "kind": "fax"}),
            "kind",
        ),
        (
            json!({"name": "x", "trigger_event_type": "a", "kind": "survey", "survey_type": "stars"}),
            "survey_type",
        ),
        (
            json!({"name": "x", "trigger_event_type": "a", "kind": "survey", "delay_minutes": 999999999}),
            "delay_minutes",
        ),
        (
            json!({"name": "x", "trigger_event_type": "a", "kind": "survey", "quiet_hours": {"start": "22:00"}}),
            "quiet_hours.end",
        ),
        (
            json!({"name": "x", "trigger_event_type": "a", "kind": "survey", "frequency_cap": {"max": 0, "days": 1}}),
            "frequency_cap",
        ),
        (
            json!({"name": "x", "trigger_event_type": "a", "kind": "survey", "whatsapp_template": {"language": "pt_BR"}}),
            "whatsapp_template",
        ),
        (json!("not an object"), "body"),
    ];
    for (body, field) in bad {
        let answer = t
            .admin("POST", &t.acc("/journey_campaigns"), Some(body.clone()))
            .await;
        assert_eq!(answer.status, 422, "{body} → {}", answer.body);
        assert!(
            answer.body.to_string().contains(&format!("\"{field}\"")),
            "{field}: {}",
            answer.body
        );
    }
    let made = t
        .post(
            &t.acc("/journey_campaigns"),
            json!({"name": "Win back", "trigger_event_type": "subscription_cancelled",
                   "delay_minutes": 43200, "kind": "message", "message": "We miss you",
                   "quiet_hours": {"start": "21:00", "end": "08:00"},
                   "frequency_cap": {"max": 1, "days": 30}}),
        )
        .await;
    let id = made["payload"]["id"].as_i64().unwrap();
    assert_eq!(made["payload"]["quiet_hours"]["start"], "21:00");
    let paused = t
        .admin(
            "PATCH",
            &t.acc(&format!("/journey_campaigns/{id}")),
            Some(json!({"active": false})),
        )
        .await
        .expect(200);
    assert_eq!(paused["payload"]["active"], false);
    assert_eq!(paused["payload"]["message"], "We miss you", "kept");
    for (method, path) in [
        ("GET", t.acc("/journey_campaigns")),
        ("GET", t.acc(&format!("/journey_campaigns/{id}"))),
        ("GET", t.acc(&format!("/journey_campaigns/{id}/sends"))),
        ("DELETE", t.acc(&format!("/journey_campaigns/{id}"))),
    ] {
        t.call(method, &path, Some(&agent), None).await.expect(403);
    }
    // Opt-outs: only channel names.
    let inbox = t.api_inbox("App", None).await;
    let th = thread(&t, &inbox, "hi").await;
    let refused = t
        .admin(
            "PUT",
            &t.acc(&format!("/contacts/{}/opt_outs", th.contact_id)),
            Some(json!({"channels": ["carrier pigeon"]})),
        )
        .await;
    assert_eq!(refused.status, 422);
    t.admin(
        "PUT",
        &t.acc("/contacts/987654/opt_outs"),
        Some(json!({"channels": []})),
    )
    .await
    .expect(404);
    t.admin("DELETE", &t.acc(&format!("/journey_campaigns/{id}")), None)
        .await
        .expect(200);
    let audit = t.get(&t.acc("/audit_logs")).await.to_string();
    assert!(audit.contains("JourneyCampaign"), "{audit}");
}
