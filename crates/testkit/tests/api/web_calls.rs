//! Calls from the website widget (WebRTC), over the real HTTP API and sockets: the visitor
//! calls, one agent's app rings at a time (a decline passes it on), the agent who accepts
//! takes the call and the conversation, the two browsers' offer, answer and candidates pass
//! through the sockets between the call's two parties only, and the call lands on the
//! timeline with who talked, how long and how it ended. Strangers — another visitor, an agent
//! not on the call — are refused.

use std::time::Duration;

use serde_json::{Value, json};
use throughline_testkit::ws::WsClient;
use throughline_testkit::{Backend, TestApp, on_both_databases};

on_both_databases!(
    a_visitor_calls_an_agent_declines_another_takes_it_and_their_browsers_connect,
    calls_nobody_can_take_end_missed_and_bad_calls_are_refused,
);

const WAIT: Duration = Duration::from_secs(10);

async fn calling_inbox(t: &TestApp, web_calls: Value, members: &[i64]) -> Value {
    let inbox = t
        .post(
            &t.acc("/inboxes"),
            json!({"name": "Loja", "enable_auto_assignment": false,
                   "channel": {"type": "web_widget",
                   "website_url": "https://loja.example", "web_calls": web_calls}}),
        )
        .await;
    assert!(inbox["id"].is_i64(), "{inbox}");
    t.post(
        &t.acc("/inbox_members"),
        json!({"inbox_id": inbox["id"], "user_ids": members}),
    )
    .await;
    inbox
}

fn public(inbox: &Value, rest: &str) -> String {
    format!(
        "/public/api/v1/inboxes/{}{rest}",
        inbox["inbox_identifier"].as_str().unwrap()
    )
}

/// A visitor with a conversation and their socket: (source id, conversation display id).
async fn visitor(t: &TestApp, inbox: &Value, name: &str) -> (String, i64, WsClient) {
    let contact = t
        .call(
            "POST",
            &public(inbox, "/contacts"),
            None,
            Some(json!({"name": name})),
        )
        .await
        .expect(200);
    let source = contact["source_id"].as_str().unwrap().to_owned();
    let conversation = t
        .call(
            "POST",
            &public(inbox, &format!("/contacts/{source}/conversations")),
            None,
            Some(json!({})),
        )
        .await
        .expect(200);
    let mut ws = WsClient::connect(
        &t.ws_url(&public(inbox, &format!("/contacts/{source}/realtime"))),
        &[],
    )
    .await
    .unwrap_or_else(|e| panic!("visitor socket refused: {e:?}"));
    ws.until("ready", WAIT).await;
    (source, conversation["id"].as_i64().unwrap(), ws)
}

/// The frame of `kind` about `call_id`, skipping others.
async fn frame_about(ws: &mut WsClient, kind: &str, call_id: i64) -> Value {
    loop {
        let f = ws.until(kind, WAIT).await;
        if f["call_id"] == call_id || f["call"]["id"] == call_id {
            return f;
        }
    }
}

/// Whether a frame of `kind` arrives within a short while (for what must not arrive).
async fn hears(ws: &mut WsClient, kind: &str) -> Option<Value> {
    let until = tokio::time::Instant::now() + Duration::from_millis(800);
    loop {
        let left = until.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return None;
        }
        match ws.within(left).await {
            Some(f) if f["type"] == kind => return Some(f),
            Some(_) => continue,
            None => return None,
        }
    }
}

async fn a_visitor_calls_an_agent_declines_another_takes_it_and_their_browsers_connect(b: Backend) {
    let t = TestApp::start(b).await;
    let (ana, ana_token) = t.agent("ana@loja.test", "agent").await;
    let (bruno, bruno_token) = t.agent("bruno@loja.test", "agent").await;
    let inbox = calling_inbox(
        &t,
        json!({"enabled": true, "video": true,
               "ice_servers": [{"urls": "stun:stun.loja.example:3478"}]}),
        &[ana, bruno],
    )
    .await;
    let mut ana_ws = crate::routing::online(&t, &ana_token).await;
    let mut bruno_ws = crate::routing::online(&t, &bruno_token).await;
    let (source, conversation, mut visitor_ws) = visitor(&t, &inbox, "Joana").await;

    // The widget's configuration says calls are possible, and with video.
    let config = t
        .call("GET", &public(&inbox, ""), None, None)
        .await
        .expect(200);
    assert_eq!(
        config["web_calls"],
        json!({"calls": true, "video": true, "callbacks": false}),
        "{config}"
    );

    let placed = t
        .call(
            "POST",
            &public(&inbox, &format!("/contacts/{source}/calls")),
            None,
            Some(json!({"conversation_id": conversation, "video": true})),
        )
        .await
        .expect(200);
    let call_id = placed["call"]["id"].as_i64().unwrap();
    assert_eq!(placed["call"]["medium"], "web_video");
    assert_eq!(placed["call"]["status"], "ringing");
    assert_eq!(placed["call"]["conversation_id"], conversation);
    assert_eq!(
        placed["ice_servers"],
        json!([{"urls": ["stun:stun.loja.example:3478"]}])
    );

    // One agent's app rings; whoever it is declines and the other's rings.
    let first_is_ana = tokio::select! {
        f = frame_about(&mut ana_ws, "call_incoming", call_id) => {
            assert_eq!(f["call"]["contact_name"], "Joana");
            true
        }
        f = frame_about(&mut bruno_ws, "call_incoming", call_id) => {
            assert_eq!(f["call"]["contact_name"], "Joana");
            false
        }
    };
    let (first_token, first_ws, second, second_token, second_ws) = if first_is_ana {
        (&ana_token, &mut ana_ws, bruno, &bruno_token, &mut bruno_ws)
    } else {
        (&bruno_token, &mut bruno_ws, ana, &ana_token, &mut ana_ws)
    };
    let declined = t
        .call(
            "POST",
            &t.acc(&format!("/calls/{call_id}/decline")),
            Some(first_token),
            None,
        )
        .await
        .expect(200);
    assert_eq!(declined["call"]["status"], "ringing");
    frame_about(first_ws, "call_withdrawn", call_id).await;
    let incoming = frame_about(second_ws, "call_incoming", call_id).await;
    assert_eq!(incoming["call"]["medium"], "web_video");
    assert_eq!(incoming["call"]["conversation_id"], conversation);
    assert_eq!(
        incoming["ice_servers"][0]["urls"][0],
        "stun:stun.loja.example:3478"
    );

    // The one who declined can no longer take it; a bot never can.
    let late = t
        .call(
            "POST",
            &t.acc(&format!("/calls/{call_id}/accept")),
            Some(first_token),
            None,
        )
        .await;
    assert_eq!(late.status, 409, "{:?}", late.body);

    let taken = t
        .call(
            "POST",
            &t.acc(&format!("/calls/{call_id}/accept")),
            Some(second_token),
            None,
        )
        .await
        .expect(200);
    assert_eq!(taken["call"]["status"], "in_progress");
    assert_eq!(taken["call"]["agent_id"], second);
    let accepted = frame_about(&mut visitor_ws, "call_accepted", call_id).await;
    assert!(accepted["agent"]["name"].is_string(), "{accepted}");
    // Taking the call took the conversation nobody had.
    assert_eq!(crate::routing::assignee(&t, conversation).await, second);

    // The browsers connect through the sockets: the visitor's offer reaches the agent with only
    // what WebRTC needs, the agent's answer and candidates reach the visitor.
    visitor_ws
        .send_json(&json!({"type": "call_signal", "call_id": call_id,
            "data": {"description": {"type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"}, "note": "x"}}))
        .await;
    let offer = frame_about(second_ws, "call_signal", call_id).await;
    assert_eq!(
        offer["data"],
        json!({"description": {"type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"}})
    );
    second_ws
        .send_json(&json!({"type": "call_signal", "call_id": call_id,
            "data": {"description": {"type": "answer", "sdp": "v=0\r\n"}}}))
        .await;
    let answer = frame_about(&mut visitor_ws, "call_signal", call_id).await;
    assert_eq!(answer["data"]["description"]["type"], "answer");
    let candidate = json!({"candidate": "candidate:1 1 udp 2122260223 192.0.2.2 50000 typ host",
                           "sdpMid": "0", "sdpMLineIndex": 0});
    second_ws
        .send_json(
            &json!({"type": "call_signal", "call_id": call_id, "data": {"candidate": candidate}}),
        )
        .await;
    let heard = frame_about(&mut visitor_ws, "call_signal", call_id).await;
    assert_eq!(heard["data"]["candidate"], candidate);

    // What is not a signal is refused to its sender and passed to nobody.
    visitor_ws
        .send_json(&json!({"type": "call_signal", "call_id": call_id,
            "data": {"description": {"type": "rollback", "sdp": ""}}}))
        .await;
    let refused = visitor_ws.until("error", WAIT).await;
    assert!(
        refused["message"].as_str().unwrap().contains("description"),
        "{refused}"
    );
    assert!(hears(second_ws, "call_signal").await.is_none());

    // Strangers: the agent who declined is no party, nor is another visitor of the inbox.
    first_ws
        .send_json(&json!({"type": "call_signal", "call_id": call_id,
            "data": {"candidate": null}}))
        .await;
    first_ws.until("error", WAIT).await;
    let (other_source, _, mut other_ws) = visitor(&t, &inbox, "Outra").await;
    other_ws
        .send_json(&json!({"type": "call_signal", "call_id": call_id,
            "data": {"candidate": null}}))
        .await;
    other_ws.until("error", WAIT).await;
    assert!(hears(&mut visitor_ws, "call_signal").await.is_none());
    assert!(hears(second_ws, "call_signal").await.is_none());
    let meddling = t
        .call(
            "POST",
            &public(
                &inbox,
                &format!("/contacts/{other_source}/calls/{call_id}/hang_up"),
            ),
            None,
            None,
        )
        .await;
    assert_eq!(meddling.status, 404, "{:?}", meddling.body);
    let not_theirs = t
        .call(
            "POST",
            &t.acc(&format!("/calls/{call_id}/hang_up")),
            Some(first_token),
            None,
        )
        .await;
    assert_eq!(not_theirs.status, 409, "{:?}", not_theirs.body);

    // The agent hangs up: both ends hear it, and the call is on the record.
    let ended = t
        .call(
            "POST",
            &t.acc(&format!("/calls/{call_id}/hang_up")),
            Some(second_token),
            None,
        )
        .await
        .expect(200);
    assert_eq!(ended["call"]["outcome"], "answered");
    let told = frame_about(&mut visitor_ws, "call_ended", call_id).await;
    assert_eq!(told["outcome"], "answered");
    frame_about(second_ws, "call_ended", call_id).await;
    // Hanging up again changes nothing.
    let again = t
        .call(
            "POST",
            &public(
                &inbox,
                &format!("/contacts/{source}/calls/{call_id}/hang_up"),
            ),
            None,
            None,
        )
        .await
        .expect(200);
    assert_eq!(again["call"]["outcome"], "answered");

    // The agent wraps the call up; another agent may not, an administrator may; too long is
    // refused with its field.
    let wrap_path = t.acc(&format!("/calls/{call_id}"));
    let wrapped = t
        .call(
            "PATCH",
            &wrap_path,
            Some(second_token),
            Some(json!({"disposition": " resolved ", "notes": "Trocou o pedido 4411."})),
        )
        .await
        .expect(200);
    assert_eq!(wrapped["disposition"], "resolved");
    assert_eq!(wrapped["wrap_up_notes"], "Trocou o pedido 4411.");
    assert_eq!(wrapped["wrapped_up_by"], second);
    assert!(
        wrapped["recording_url"].is_null(),
        "web calls are not recorded"
    );
    let meddler = t
        .call(
            "PATCH",
            &wrap_path,
            Some(first_token),
            Some(json!({"notes": "not mine"})),
        )
        .await;
    assert_eq!(meddler.status, 403, "{:?}", meddler.body);
    let too_long = t
        .call(
            "PATCH",
            &wrap_path,
            Some(second_token),
            Some(json!({"disposition": "x".repeat(65)})),
        )
        .await;
    assert_eq!(too_long.status, 422, "{:?}", too_long.body);
    assert_eq!(too_long.body["errors"][0]["field"], "disposition");
    let by_admin = t
        .call(
            "PATCH",
            &wrap_path,
            Some(&t.token),
            Some(json!({"disposition": "follow-up"})),
        )
        .await
        .expect(200);
    assert_eq!(by_admin["disposition"], "follow-up");
    assert_eq!(
        by_admin["wrap_up_notes"], "Trocou o pedido 4411.",
        "notes left out are kept"
    );

    let listed = t
        .get(&t.acc(&format!("/calls?conversation_id={conversation}")))
        .await;
    let call = &listed["payload"][0];
    assert_eq!(call["id"], call_id);
    assert_eq!(call["medium"], "web_video");
    assert_eq!(call["outcome"], "answered");
    assert_eq!(call["agent_id"], second);
    assert_eq!(call["status"], "completed");
    assert!(call["duration"].as_i64().is_some_and(|d| d >= 0), "{call}");
    assert!(call["answered_at"].is_i64() && call["ended_at"].is_i64());
    let contact_id = call["contact_id"].as_i64().unwrap();
    let timeline = t
        .get(&t.acc(&format!("/contacts/{contact_id}/timeline")))
        .await;
    let on_timeline = timeline["payload"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "call")
        .cloned()
        .unwrap_or_else(|| panic!("no call on the timeline: {timeline}"));
    assert_eq!(on_timeline["medium"], "web_video");
    assert_eq!(on_timeline["outcome"], "answered");
}

async fn calls_nobody_can_take_end_missed_and_bad_calls_are_refused(b: Backend) {
    let t = TestApp::start(b).await;
    let (ana, ana_token) = t.agent("ana@loja.test", "agent").await;
    let voice_only = calling_inbox(&t, json!({"enabled": true}), &[ana]).await;
    let (source, conversation, mut visitor_ws) = visitor(&t, &voice_only, "Marek").await;
    let calls = public(&voice_only, &format!("/contacts/{source}/calls"));

    // Nobody's app is open: the call ends at once, missed, and says so.
    let missed = t
        .call(
            "POST",
            &calls,
            None,
            Some(json!({"conversation_id": conversation})),
        )
        .await
        .expect(200);
    assert_eq!(missed["call"]["medium"], "web_voice");
    assert_eq!(missed["call"]["outcome"], "missed");
    let missed_id = missed["call"]["id"].as_i64().unwrap();
    frame_about(&mut visitor_ws, "call_ended", missed_id).await;

    // Video where the inbox takes voice only; a conversation that is not theirs; no body.
    let video = t
        .call(
            "POST",
            &calls,
            None,
            Some(json!({"conversation_id": conversation, "video": true})),
        )
        .await;
    assert_eq!(video.status, 422, "{:?}", video.body);
    let (_, someone_elses, _other_ws) = visitor(&t, &voice_only, "Other").await;
    let stranger = t
        .call(
            "POST",
            &calls,
            None,
            Some(json!({"conversation_id": someone_elses})),
        )
        .await;
    assert_eq!(stranger.status, 404, "{:?}", stranger.body);
    let garbage = t
        .call("POST", &calls, None, Some(json!({"video": "yes"})))
        .await;
    assert_eq!(garbage.status, 422, "{:?}", garbage.body);
    // An inbox without calls, and settings that are not settings.
    let quiet = calling_inbox(&t, json!({"enabled": false}), &[ana]).await;
    let (quiet_source, quiet_conversation, _quiet_ws) = visitor(&t, &quiet, "Q").await;
    let off = t
        .call(
            "POST",
            &public(&quiet, &format!("/contacts/{quiet_source}/calls")),
            None,
            Some(json!({"conversation_id": quiet_conversation})),
        )
        .await;
    assert_eq!(off.status, 422, "{:?}", off.body);
    let config = t
        .call("GET", &public(&quiet, ""), None, None)
        .await
        .expect(200);
    assert!(config["web_calls"].is_null(), "{config}");
    let bad = t
        .admin(
            "PATCH",
            &t.acc(&format!("/inboxes/{}", quiet["id"])),
            Some(
                json!({"channel": {"web_calls": {"enabled": true, "ring_seconds": 1,
                "ice_servers": [{"urls": "turn:turn.example:3478"}]}}}),
            ),
        )
        .await;
    assert_eq!(bad.status, 422, "{:?}", bad.body);

    // The visitor hangs up while it rings: abandoned, and the ringing app stops.
    let mut ana_ws = crate::routing::online(&t, &ana_token).await;
    let ringing = t
        .call(
            "POST",
            &calls,
            None,
            Some(json!({"conversation_id": conversation})),
        )
        .await
        .expect(200);
    let ringing_id = ringing["call"]["id"].as_i64().unwrap();
    frame_about(&mut ana_ws, "call_incoming", ringing_id).await;
    let gave_up = t
        .call("POST", &format!("{calls}/{ringing_id}/hang_up"), None, None)
        .await
        .expect(200);
    assert_eq!(gave_up["call"]["outcome"], "abandoned");
    frame_about(&mut ana_ws, "call_ended", ringing_id).await;

    // A call left open (a tab that crashed mid-call) ends when the visitor calls again.
    let first = t
        .call(
            "POST",
            &calls,
            None,
            Some(json!({"conversation_id": conversation})),
        )
        .await
        .expect(200);
    let first_id = first["call"]["id"].as_i64().unwrap();
    frame_about(&mut ana_ws, "call_incoming", first_id).await;
    t.call(
        "POST",
        &t.acc(&format!("/calls/{first_id}/accept")),
        Some(&ana_token),
        None,
    )
    .await
    .expect(200);
    let second = t
        .call(
            "POST",
            &calls,
            None,
            Some(json!({"conversation_id": conversation})),
        )
        .await
        .expect(200);
    let second_id = second["call"]["id"].as_i64().unwrap();
    assert_ne!(first_id, second_id);
    let old = frame_about(&mut ana_ws, "call_ended", first_id).await;
    assert_eq!(old["outcome"], "answered");
    // Ana was freed by the old call's end, so the new one rings her.
    frame_about(&mut ana_ws, "call_incoming", second_id).await;
    let listed = t.get(&t.acc("/calls")).await;
    let outcomes: Vec<(i64, Value)> = listed["payload"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_i64().unwrap(), c["outcome"].clone()))
        .collect();
    assert!(
        outcomes.contains(&(missed_id, json!("missed"))),
        "{outcomes:?}"
    );
    assert!(
        outcomes.contains(&(ringing_id, json!("abandoned"))),
        "{outcomes:?}"
    );
    assert!(
        outcomes.contains(&(first_id, json!("answered"))),
        "{outcomes:?}"
    );
    assert!(outcomes.contains(&(second_id, Value::Null)), "{outcomes:?}");

    // The calls report: for supervisors; the figures of these calls.
    let refused = t
        .call("GET", &t.acc("/calls/metrics"), Some(&ana_token), None)
        .await;
    assert_eq!(refused.status, 403, "{:?}", refused.body);
    for query in [
        "since=10&until=5",
        "until=-9223372036854775808",
        "since=9223372036854775807",
        "service_level_seconds=0",
    ] {
        let bad = t
            .call(
                "GET",
                &t.acc(&format!("/calls/metrics?{query}")),
                Some(&t.token),
                None,
            )
            .await;
        assert_eq!(bad.status, 422, "{query}: {:?}", bad.body);
    }
    let report = t
        .get(&t.acc(&format!("/calls/metrics?inbox_id={}", voice_only["id"])))
        .await;
    assert_eq!(report["inbound"], 4, "{report}");
    assert_eq!(report["outbound"], 0);
    assert_eq!(report["answered"], 1);
    assert_eq!(report["missed"], 1);
    assert_eq!(report["abandoned"], 1);
    assert_eq!(report["answer_rate"].as_f64(), Some(1.0 / 3.0));
    assert_eq!(report["service_level_seconds"], 20);
    assert_eq!(report["agents"][0]["agent_id"], ana);
    assert_eq!(report["agents"][0]["calls"], 1);
    assert_eq!(report["truncated"], false);
}
