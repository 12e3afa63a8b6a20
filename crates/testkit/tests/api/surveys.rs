//! Satisfaction surveys over the real API: sent after resolution on the channel the customer
//! used last, answered in the widget, on the link page and by replying with a number; one
//! answer per survey, late answers kept as such, Chatwoot's responses API and metrics.

use std::time::Duration;

use serde_json::{Value, json};
use throughline_testkit::{Backend, TestApp, on_both_databases};

use crate::{customer_writes, thread};

on_both_databases!(
    answered_in_the_widget,
    answered_on_the_link_page,
    answered_by_replying_with_a_number,
    nps_and_late_answers,
);

const WAIT: Duration = Duration::from_secs(20);

async fn enable(t: &TestApp, inbox: &Value, extra: Value) {
    let mut body = json!({"csat_survey_enabled": true});
    if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
        b.extend(e);
    }
    t.admin(
        "PATCH",
        &t.acc(&format!("/inboxes/{}", inbox["id"])),
        Some(body),
    )
    .await
    .expect(200);
}

async fn messages(t: &TestApp, display_id: i64) -> Vec<Value> {
    t.get(&t.acc(&format!("/conversations/{display_id}/messages")))
        .await["payload"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// An agent answers and resolves; returns the survey message once it was sent.
async fn answer_and_resolve(t: &TestApp, display_id: i64) -> Value {
    let before = surveys_in(&messages(t, display_id).await).len();
    t.post(
        &t.acc(&format!("/conversations/{display_id}/messages")),
        json!({"content": "Done, anything else?"}),
    )
    .await;
    t.post(
        &t.acc(&format!("/conversations/{display_id}/toggle_status")),
        json!({"status": "resolved"}),
    )
    .await;
    t.eventually(WAIT, "the survey", || async {
        let list = surveys_in(&messages(t, display_id).await);
        (list.len() > before)
            .then(|| list.last().cloned())
            .flatten()
    })
    .await
}

fn surveys_in(list: &[Value]) -> Vec<Value> {
    list.iter()
        .filter(|m| m["content_type"] == "input_csat")
        .cloned()
        .collect()
}

async fn responses(t: &TestApp) -> Vec<Value> {
    t.get(&t.acc("/csat_survey_responses"))
        .await
        .as_array()
        .cloned()
        .unwrap()
}

async fn answered_in_the_widget(b: Backend) {
    let t = TestApp::start(b).await;
    let (_, agent) = t.agent("ana@acme.test", "agent").await;
    let inbox = t
        .post(
            &t.acc("/inboxes"),
            json!({"name": "Website", "channel": {"type": "web_widget", "website_url": "https://shop.example"}}),
        )
        .await;
    enable(&t, &inbox, json!({})).await;
    let th = thread(&t, &inbox, "Where is my parcel?").await;
    let survey = answer_and_resolve(&t, th.conversation_id).await;
    assert_eq!(survey["message_type"], 3);
    assert_eq!(survey["content_attributes"]["survey_type"], "csat");
    // The visitor sees it and answers it in the widget.
    let ident = inbox["inbox_identifier"].as_str().unwrap();
    let base = format!(
        "/public/api/v1/inboxes/{ident}/contacts/{}/conversations/{}/messages",
        th.source_id, th.conversation_id
    );
    let seen = t.call("GET", &base, None, None).await.expect(200);
    let mine = seen
        .as_array()
        .or(seen["payload"].as_array())
        .unwrap()
        .iter()
        .find(|m| m["content_type"] == "input_csat")
        .cloned()
        .expect("the visitor sees the survey");
    let url = format!("{base}/{}", mine["id"]);
    // Out of the scale: refused, nothing recorded.
    let bad = t
        .call(
            "PATCH",
            &url,
            None,
            Some(json!({"submitted_values": {"csat_survey_response": {"rating": 7}}})),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    let bad = t
        .call(
            "PATCH",
            &url,
            None,
            Some(json!({"submitted_values": {"csat_survey_response": {"feedback_message": "no rating"}}})),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(responses(&t).await.is_empty());
    let answered = t
        .call(
            "PATCH",
            &url,
            None,
            Some(json!({"submitted_values": {"csat_survey_response": {"rating": 5, "feedback_message": "Quick and kind"}}})),
        )
        .await
        .expect(200);
    assert_eq!(
        answered["content_attributes"]["submitted_values"]["csat_survey_response"]["rating"],
        5
    );
    // The agent sees it on the timeline, the supervisor in the list.
    let on_timeline = surveys_in(&messages(&t, th.conversation_id).await);
    assert_eq!(
        on_timeline[0]["content_attributes"]["submitted_values"]["csat_survey_response"]["feedback_message"],
        "Quick and kind"
    );
    let list = responses(&t).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["rating"], 5);
    assert_eq!(list[0]["answered_via"], "widget");
    assert_eq!(list[0]["conversation_id"], th.conversation_id);
    assert_eq!(list[0]["late"], false);
    assert!(list[0]["contact"]["id"].as_i64().is_some());
    // Changing the answer keeps one response.
    t.call(
        "PATCH",
        &url,
        None,
        Some(json!({"submitted_values": {"csat_survey_response": {"rating": 4}}})),
    )
    .await
    .expect(200);
    let list = responses(&t).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["rating"], 4);
    assert_eq!(
        list[0]["feedback_message"], "Quick and kind",
        "the comment stays"
    );
    let metrics = t.get(&t.acc("/csat_survey_responses/metrics")).await;
    assert_eq!(metrics["total_count"], 1);
    assert_eq!(metrics["ratings_count"], json!({"4": 1}));
    assert_eq!(metrics["total_sent_messages_count"], 1);
    // Agents do not read the answers (supervisors and administrators do).
    t.call("GET", &t.acc("/csat_survey_responses"), Some(&agent), None)
        .await
        .expect(403);
    // Resolved again with nothing said since: no second survey.
    t.post(
        &t.acc(&format!(
            "/conversations/{}/toggle_status",
            th.conversation_id
        )),
        json!({"status": "open"}),
    )
    .await;
    t.post(
        &t.acc(&format!(
            "/conversations/{}/toggle_status",
            th.conversation_id
        )),
        json!({"status": "resolved"}),
    )
    .await;
    // Another conversation's survey shows the consumer has passed those events.
    let other = thread(&t, &inbox, "One more thing").await;
    answer_and_resolve(&t, other.conversation_id).await;
    assert_eq!(surveys_in(&messages(&t, th.conversation_id).await).len(), 1);
}

async fn answered_on_the_link_page(b: Backend) {
    let t = TestApp::start(b).await;
    let inbox = t.api_inbox("App", None).await;
    enable(&t, &inbox, json!({})).await;
    let th = thread(&t, &inbox, "Hello").await;
    let me = t.get("/api/v1/profile").await["id"].as_i64().unwrap();
    t.post(
        &t.acc(&format!(
            "/conversations/{}/assignments",
            th.conversation_id
        )),
        json!({"assignee_id": me}),
    )
    .await;
    let survey = answer_and_resolve(&t, th.conversation_id).await;
    let conversation = t
        .get(&t.acc(&format!("/conversations/{}", th.conversation_id)))
        .await;
    let uuid = conversation["uuid"].as_str().unwrap().to_owned();
    let link = survey["content_attributes"]["survey_url"].as_str().unwrap();
    assert!(
        link.ends_with(&format!("/survey/responses/{uuid}")),
        "{link}"
    );
    assert!(
        survey["content"].as_str().unwrap().contains(link),
        "the text carries the link"
    );

    let page = reqwest::get(t.url(&format!("/survey/responses/{uuid}")))
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    let html = page.text().await.unwrap();
    assert!(html.contains("name=\"rating\" value=\"5\""), "{html}");
    assert!(html.contains("App"), "the inbox's name");
    // The form, as a browser posts it.
    let client = reqwest::Client::new();
    let posted = client
        .post(t.url(&format!("/survey/responses/{uuid}")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("rating=4&feedback_message=%3Cb%3EGood%3C%2Fb%3E%2C+thanks")
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 200);
    let html = posted.text().await.unwrap();
    assert!(html.contains("Thank you"), "{html}");
    assert!(html.contains("&lt;b&gt;Good&lt;/b&gt;"), "escaped: {html}");
    let missing = client
        .post(t.url(&format!("/survey/responses/{uuid}")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("feedback_message=no+rating")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 422);

    // Chatwoot's public API sees and changes the same answer.
    let public = format!("/public/api/v1/csat_survey/{uuid}");
    let shown = t.call("GET", &public, None, None).await.expect(200);
    assert_eq!(shown["csat_survey_response"]["rating"], 4);
    assert_eq!(shown["conversation_id"], th.conversation_id);
    let changed = t
        .call(
            "PUT",
            &public,
            None,
            Some(json!({"message": {"submitted_values": {"csat_survey_response": {"rating": 5, "feedback_message": "Better"}}}})),
        )
        .await
        .expect(200);
    assert_eq!(changed["csat_survey_response"]["rating"], 5);
    let bad = t
        .call(
            "PUT",
            &public,
            None,
            Some(json!({"message": {"submitted_values": {"csat_survey_response": {"rating": 0}}}})),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    let garbage = t
        .call("PUT", &public, None, Some(json!({"rating": 5})))
        .await;
    assert!(
        garbage.status == 422 || garbage.status == 400,
        "{}",
        garbage.status
    );
    t.call(
        "GET",
        "/public/api/v1/csat_survey/not-a-conversation",
        None,
        None,
    )
    .await
    .expect(404);
    let list = responses(&t).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["rating"], 5);
    assert_eq!(list[0]["answered_via"], "link");
    assert_eq!(list[0]["assigned_agent"]["id"], me);
    // Chatwoot's agent filter, however a Rails client spells the list.
    for query in [
        format!("user_ids[]={me}"),
        format!("user_ids[0]={me}"),
        format!("user_ids={me}"),
        format!("user_ids%5B%5D={me}"),
    ] {
        let found = t
            .get(&t.acc(&format!("/csat_survey_responses?{query}")))
            .await;
        assert_eq!(found.as_array().unwrap().len(), 1, "{query}");
    }
    let nobody = t
        .get(&t.acc("/csat_survey_responses?user_ids[]=987654"))
        .await;
    assert_eq!(nobody, json!([]));
}

async fn answered_by_replying_with_a_number(b: Backend) {
    let t = TestApp::start(b).await;
    let inbox = t.api_inbox("WhatsApp-like", None).await;
    enable(&t, &inbox, json!({})).await;
    let th = thread(&t, &inbox, "My order is late").await;
    answer_and_resolve(&t, th.conversation_id).await;
    customer_writes(&t, &th, "5 - ótimo atendimento").await;
    let first = t
        .eventually(WAIT, "the reply read as an answer", || async {
            let r = responses(&t).await;
            (!r.is_empty()).then_some(r)
        })
        .await;
    assert_eq!(first[0]["rating"], 5);
    assert_eq!(first[0]["feedback_message"], "ótimo atendimento");
    assert_eq!(first[0]["answered_via"], "reply");
    // Words with the rating: the conversation stays open for an agent to read them.
    let c = t
        .get(&t.acc(&format!("/conversations/{}", th.conversation_id)))
        .await;
    assert_eq!(c["status"], "open");

    // Next time only a rating: recorded, and the conversation goes back to resolved.
    answer_and_resolve(&t, th.conversation_id).await;
    customer_writes(&t, &th, "nota 4").await;
    t.eventually(WAIT, "the second answer", || async {
        let r = responses(&t).await;
        (r.len() == 2).then_some(())
    })
    .await;
    let newest = &responses(&t).await[0];
    assert_eq!(newest["rating"], 4);
    assert_eq!(newest["feedback_message"], Value::Null);
    t.eventually(WAIT, "resolved again", || async {
        let c = t
            .get(&t.acc(&format!("/conversations/{}", th.conversation_id)))
            .await;
        (c["status"] == "resolved").then_some(())
    })
    .await;
    // A number that is not an answer ("I ordered 5 items") after an answered survey changes
    // nothing: one answer per survey.
    customer_writes(&t, &th, "3").await;
    let other = thread(&t, &inbox, "another customer").await;
    answer_and_resolve(&t, other.conversation_id).await;
    let r = responses(&t).await;
    assert_eq!(r.len(), 2, "{r:?}");
    assert_eq!(r[0]["rating"], 4);
}

async fn nps_and_late_answers(b: Backend) {
    let t = TestApp::start(b).await;
    let inbox = t.api_inbox("SMS-like", None).await;
    enable(&t, &inbox, json!({"csat_survey_type": "nps"})).await;
    let th = thread(&t, &inbox, "Question").await;
    let survey = answer_and_resolve(&t, th.conversation_id).await;
    assert_eq!(survey["content_attributes"]["survey_type"], "nps");
    assert!(
        survey["content"].as_str().unwrap().contains("0 to 10"),
        "{survey}"
    );
    // The customer answers three weeks later.
    t.age_message(survey["id"].as_i64().unwrap(), 21).await;
    customer_writes(&t, &th, "9").await;
    let r = t
        .eventually(WAIT, "the late answer", || async {
            let r = responses(&t).await;
            (!r.is_empty()).then_some(r)
        })
        .await;
    assert_eq!(r[0]["rating"], 9);
    assert_eq!(r[0]["survey_type"], "nps");
    assert_eq!(r[0]["late"], true);
    let nps_only = t
        .get(&t.acc("/csat_survey_responses?survey_type=nps&rating=9"))
        .await;
    assert_eq!(nps_only.as_array().unwrap().len(), 1);
    let none = t
        .get(&t.acc("/csat_survey_responses?survey_type=csat"))
        .await;
    assert_eq!(none, json!([]));
    t.admin(
        "GET",
        &t.acc("/csat_survey_responses?survey_type=stars"),
        None,
    )
    .await
    .expect(422);
}
