//! Agents' notifications and conversation participants over the real API and sockets:
//! mentions in private notes, assignment, new messages for the assignee and participants,
//! Chatwoot's notification and participant operations, and who may reach which.

use std::time::Duration;

use serde_json::{Value, json};
use throughline_testkit::ws::WsClient;
use throughline_testkit::{Backend, TestApp, on_both_databases};

use crate::{quiet_inbox, thread, unread_count};

on_both_databases!(
    a_mention_in_a_note_tells_only_the_mentioned_agent_live,
    notifications_are_read_snoozed_and_deleted_by_their_agent_only,
    assignment_and_new_messages_tell_the_assignee_and_participants,
    participants_must_see_the_conversation,
);

const WAIT: Duration = Duration::from_secs(10);

async fn socket(t: &TestApp, token: &str) -> WsClient {
    let mut ws = WsClient::connect(
        &t.ws_url("/api/v1/realtime"),
        &[("api_access_token", token)],
    )
    .await
    .unwrap_or_else(|e| panic!("agent socket refused: {e:?}"));
    ws.until("ready", WAIT).await;
    ws
}

/// Event frames up to (and including) the first whose `event` is `name`.
async fn frames_until(ws: &mut WsClient, name: &str) -> Vec<Value> {
    let mut seen = Vec::new();
    loop {
        let f = ws.next_event(WAIT).await.expect("socket closed");
        let done = f["event"] == name;
        seen.push(f);
        if done {
            return seen;
        }
    }
}

fn mention(id: i64, name: &str) -> String {
    format!("[@{name}](mention://user/{id}/{name})")
}

/// A private note by the administrator.
async fn note(t: &TestApp, conversation: i64, text: &str) -> Value {
    t.post(
        &t.acc(&format!("/conversations/{conversation}/messages")),
        json!({"content": text, "message_type": "outgoing", "private": true}),
    )
    .await
}

async fn inbox(t: &TestApp) -> Value {
    quiet_inbox(t, "Support").await
}

async fn members(t: &TestApp, inbox: &Value, ids: &[i64]) {
    t.post(
        &t.acc("/inbox_members"),
        json!({"inbox_id": inbox["id"], "user_ids": ids}),
    )
    .await;
}

async fn notifications(t: &TestApp, token: &str) -> Value {
    t.call("GET", &t.acc("/notifications"), Some(token), None)
        .await
        .expect(200)
}

/// Waits until the agent's list satisfies `check`; returns the list.
async fn notifications_when(
    t: &TestApp,
    token: &str,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    t.eventually(WAIT, what, || async {
        let list = notifications(t, token).await;
        check(&list).then_some(list)
    })
    .await
}

fn kinds(list: &Value) -> Vec<String> {
    list["data"]["payload"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["notification_type"].as_str().unwrap().to_owned())
        .collect()
}

async fn a_mention_in_a_note_tells_only_the_mentioned_agent_live(b: Backend) {
    let t = TestApp::start(b).await;
    let inbox = inbox(&t).await;
    let (ana, ana_token) = t.agent("ana@acme.test", "agent").await;
    let (bia, bia_token) = t.agent("bia@acme.test", "agent").await;
    let (caio, caio_token) = t.agent("caio@acme.test", "agent").await;
    members(&t, &inbox, &[ana, bia]).await;
    let th = thread(&t, &inbox, "Onde está meu pedido?").await;
    let mut ana_ws = socket(&t, &ana_token).await;
    let mut bia_ws = socket(&t, &bia_token).await;

    let text = format!(
        "{} can you check the order? {} too",
        mention(ana, "Ana"),
        mention(caio, "Caio")
    );
    let written = note(&t, th.conversation_id, &text).await;

    let frames = frames_until(&mut ana_ws, "notification_created").await;
    let live = &frames.last().unwrap()["data"];
    assert_eq!(live["notification_type"], "conversation_mention");
    assert_eq!(live["primary_actor_type"], "Conversation");
    assert_eq!(live["primary_actor_id"], th.conversation_id);
    assert_eq!(live["primary_actor"]["id"], th.conversation_id);
    assert_eq!(live["secondary_actor"]["id"], written["id"]);
    assert_eq!(live["user"]["id"], ana);
    assert_eq!(live["read_at"], Value::Null);
    assert_eq!(
        live["push_message_title"],
        format!(
            "[#{}] @Ana can you check the order? @Caio too",
            th.conversation_id
        )
    );

    // Bia, in the same inbox, sees the note but is told nothing: a later message reaches her
    // socket with no notification before it.
    crate::customer_writes(&t, &th, "ainda esperando").await;
    let bia_frames = frames_until(&mut bia_ws, "message_created").await;
    let bia_frames = [
        bia_frames,
        frames_until(&mut bia_ws, "message_created").await,
    ]
    .concat();
    assert!(
        bia_frames
            .iter()
            .all(|f| f["event"] != "notification_created"),
        "{bia_frames:?}"
    );

    let list = notifications_when(&t, &ana_token, "ana's participating notification", |l| {
        kinds(l) == ["participating_conversation_new_message"]
    })
    .await;
    // One notification per conversation: the newer replaced the mention.
    assert_eq!(list["data"]["meta"]["count"], 1);
    assert_eq!(list["data"]["meta"]["unread_count"], 1);
    assert_eq!(list["data"]["meta"]["current_page"], 1);

    // Caio was mentioned but cannot see the inbox: nothing for him, and he does not follow it.
    assert_eq!(
        notifications(&t, &caio_token).await["data"]["meta"]["count"],
        0
    );
    let participants = t
        .get(&t.acc(&format!(
            "/conversations/{}/participants",
            th.conversation_id
        )))
        .await;
    let ids: Vec<i64> = participants
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [ana]);
    assert_eq!(participants[0]["email"], "ana@acme.test");
    // The author is never told of their own note.
    assert_eq!(
        t.get(&t.acc("/notifications")).await["data"]["meta"]["count"],
        0
    );
    // A public reply's `@` reaches the customer, not a colleague.
    t.post(
        &t.acc(&format!("/conversations/{}/messages", th.conversation_id)),
        json!({"content": format!("{} will help you", mention(bia, "Bia"))}),
    )
    .await;
    crate::customer_writes(&t, &th, "ok").await;
    notifications_when(&t, &ana_token, "ana's next notification", |l| {
        l["data"]["payload"][0]["secondary_actor"]["content"] == "ok"
    })
    .await;
    assert_eq!(
        notifications(&t, &bia_token).await["data"]["meta"]["count"],
        0
    );
}

async fn notifications_are_read_snoozed_and_deleted_by_their_agent_only(b: Backend) {
    let t = TestApp::start(b).await;
    let inbox = inbox(&t).await;
    let (ana, ana_token) = t.agent("ana@acme.test", "agent").await;
    let (bia, bia_token) = t.agent("bia@acme.test", "agent").await;
    members(&t, &inbox, &[ana, bia]).await;
    let first = thread(&t, &inbox, "first").await;
    let second = thread(&t, &inbox, "second").await;
    for th in [&first, &second] {
        note(&t, th.conversation_id, &mention(ana, "Ana")).await;
    }
    let list = notifications_when(&t, &ana_token, "two mentions", |l| {
        l["data"]["meta"]["count"] == 2
    })
    .await;
    assert_eq!(list["data"]["meta"]["unread_count"], 2, "{list}");
    // Newest first, and the page holds what the counts say.
    assert_eq!(
        list["data"]["payload"][0]["primary_actor_id"], second.conversation_id,
        "{list}"
    );
    assert_eq!(list["data"]["payload"].as_array().unwrap().len(), 2);
    let id = list["data"]["payload"][0]["id"].as_i64().unwrap();
    let one = |rest: &str| t.acc(&format!("/notifications/{id}{rest}"));

    // Another agent reaches none of it.
    for (method, path) in [
        ("PATCH", one("")),
        ("DELETE", one("")),
        ("POST", one("/unread")),
    ] {
        t.call(method, &path, Some(&bia_token), None)
            .await
            .expect(404);
    }
    let read = t
        .call("PATCH", &one(""), Some(&ana_token), None)
        .await
        .expect(200);
    assert!(read["read_at"].as_i64().is_some());
    assert_eq!(unread_count(&t, &ana_token).await, 1);
    t.call("POST", &one("/unread"), Some(&ana_token), None)
        .await
        .expect(200);
    assert_eq!(unread_count(&t, &ana_token).await, 2);

    // Read one conversation's, then everything.
    t.call(
        "POST",
        &t.acc("/notifications/read_all"),
        Some(&ana_token),
        Some(json!({"primary_actor_type": "Conversation", "primary_actor_id": first.conversation_id})),
    )
    .await
    .expect(200);
    assert_eq!(unread_count(&t, &ana_token).await, 1);
    t.call(
        "POST",
        &t.acc("/notifications/read_all"),
        Some(&ana_token),
        None,
    )
    .await
    .expect(200);
    assert_eq!(unread_count(&t, &ana_token).await, 0);

    // Opening a conversation reads its notifications.
    t.call("POST", &one("/unread"), Some(&ana_token), None)
        .await
        .expect(200);
    t.call(
        "POST",
        &t.acc(&format!(
            "/conversations/{}/update_last_seen",
            second.conversation_id
        )),
        Some(&ana_token),
        None,
    )
    .await
    .expect(200);
    assert_eq!(unread_count(&t, &ana_token).await, 0);

    // Snoozing: a time in the past or far away is refused; a good one hides it until then.
    for bad in [json!(1), json!("soon"), json!(4_102_444_800_i64 * 10)] {
        let refused = t
            .call(
                "POST",
                &one("/snooze"),
                Some(&ana_token),
                Some(json!({"snoozed_until": bad})),
            )
            .await;
        assert!(
            refused.status == 422 || refused.status == 400,
            "{bad}: {}",
            refused.status
        );
    }
    let later = chrono_now() + 3_600;
    let snoozed = t
        .call(
            "POST",
            &one("/snooze"),
            Some(&ana_token),
            Some(json!({"snoozed_until": later.to_string()})),
        )
        .await
        .expect(200);
    assert_eq!(snoozed["snoozed_until"], later);
    assert_eq!(
        notifications(&t, &ana_token).await["data"]["meta"]["count"],
        1
    );

    // Deleting: the read ones, then one, then all.
    t.call(
        "POST",
        &t.acc("/notifications/destroy_all"),
        Some(&ana_token),
        Some(json!({"type": "read"})),
    )
    .await
    .expect(200);
    assert_eq!(
        notifications(&t, &ana_token).await["data"]["meta"]["count"],
        0
    );
    t.call("DELETE", &one(""), Some(&ana_token), None)
        .await
        .expect(200);
    t.call("DELETE", &one(""), Some(&ana_token), None)
        .await
        .expect(404);
    for bad_page in ["0", "-1", "x"] {
        let answer = t
            .call(
                "GET",
                &t.acc(&format!("/notifications?page={bad_page}")),
                Some(&ana_token),
                None,
            )
            .await;
        assert!(answer.status == 422 || answer.status == 400, "{bad_page}");
    }
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn assignment_and_new_messages_tell_the_assignee_and_participants(b: Backend) {
    let t = TestApp::start(b).await;
    let inbox = inbox(&t).await;
    let (ana, ana_token) = t.agent("ana@acme.test", "agent").await;
    let (bia, bia_token) = t.agent("bia@acme.test", "agent").await;
    members(&t, &inbox, &[ana, bia]).await;
    let given = thread(&t, &inbox, "given to ana").await;
    let taken = thread(&t, &inbox, "taken by bia").await;
    let assign = |conversation: i64, token: String, agent: i64| {
        let t = &t;
        async move {
            t.call(
                "POST",
                &t.acc(&format!("/conversations/{conversation}/assignments")),
                Some(&token),
                Some(json!({"assignee_id": agent})),
            )
            .await
            .expect(200);
        }
    };
    assign(given.conversation_id, t.token.clone(), ana).await;
    assign(taken.conversation_id, bia_token.clone(), bia).await;
    let list = notifications_when(&t, &ana_token, "ana's assignment", |l| {
        l["data"]["meta"]["count"] == 1
    })
    .await;
    assert_eq!(kinds(&list), ["conversation_assignment"]);
    assert_eq!(
        list["data"]["payload"][0]["push_message_title"],
        format!(
            "A conversation (#{}) has been assigned to you",
            given.conversation_id
        )
    );

    // Bia follows Ana's conversation; the customer writes: both are told, each once.
    t.call(
        "POST",
        &t.acc(&format!(
            "/conversations/{}/participants",
            given.conversation_id
        )),
        Some(&ana_token),
        Some(json!({"user_ids": [bia]})),
    )
    .await
    .expect(200);
    crate::customer_writes(&t, &given, "any news?").await;
    let list = notifications_when(&t, &ana_token, "ana's new message", |l| {
        kinds(l) == ["assigned_conversation_new_message"]
    })
    .await;
    assert_eq!(
        list["data"]["payload"][0]["secondary_actor"]["content"],
        "any news?"
    );
    notifications_when(&t, &bia_token, "bia's participating notification", |l| {
        kinds(l) == ["participating_conversation_new_message"]
    })
    .await;
    // Ana's own reply tells Bia, not Ana.
    t.call(
        "POST",
        &t.acc(&format!(
            "/conversations/{}/messages",
            given.conversation_id
        )),
        Some(&ana_token),
        Some(json!({"content": "on its way"})),
    )
    .await
    .expect(200);
    notifications_when(&t, &bia_token, "bia told of ana's reply", |l| {
        l["data"]["payload"][0]["secondary_actor"]["content"] == "on its way"
    })
    .await;
    let ana_list = notifications(&t, &ana_token).await;
    assert_eq!(
        ana_list["data"]["payload"][0]["secondary_actor"]["content"],
        "any news?"
    );
    // Bia took her conversation herself: no news for her of that.
    let bia_list = notifications(&t, &bia_token).await;
    assert!(
        bia_list["data"]["payload"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["primary_actor_id"] != taken.conversation_id),
        "{bia_list}"
    );
}

async fn participants_must_see_the_conversation(b: Backend) {
    let t = TestApp::start(b).await;
    let inbox = inbox(&t).await;
    let (ana, ana_token) = t.agent("ana@acme.test", "agent").await;
    let (bia, _) = t.agent("bia@acme.test", "agent").await;
    let (caio, caio_token) = t.agent("caio@acme.test", "agent").await;
    let (sara, _) = t.agent("sara@acme.test", "supervisor").await;
    members(&t, &inbox, &[ana, bia]).await;
    let th = thread(&t, &inbox, "hello").await;
    let path = t.acc(&format!(
        "/conversations/{}/participants",
        th.conversation_id
    ));

    let added = t
        .call(
            "POST",
            &path,
            Some(&ana_token),
            Some(json!({"user_ids": [bia, sara, bia]})),
        )
        .await
        .expect(200);
    assert_eq!(added.as_array().unwrap().len(), 2);
    // Adding again adds nobody.
    let again = t
        .call(
            "POST",
            &path,
            Some(&ana_token),
            Some(json!({"user_ids": [bia]})),
        )
        .await
        .expect(200);
    assert_eq!(again, json!([]));
    // Someone who cannot see the inbox, or no agent at all, is refused whole.
    for bad in [
        json!([caio]),
        json!([bia, 999_999]),
        json!("x"),
        json!([true]),
    ] {
        let answer = t
            .call(
                "POST",
                &path,
                Some(&ana_token),
                Some(json!({"user_ids": bad})),
            )
            .await;
        assert!(
            answer.status == 422 || answer.status == 400,
            "{bad}: {}",
            answer.status
        );
    }
    t.call("POST", &path, Some(&ana_token), Some(json!({})))
        .await
        .expect(422);
    let flood: Vec<i64> = (1..=5_000).collect();
    for method in ["POST", "PATCH", "DELETE"] {
        t.call(
            method,
            &path,
            Some(&ana_token),
            Some(json!({"user_ids": flood})),
        )
        .await
        .expect(422);
    }
    let set = t
        .call(
            "PATCH",
            &path,
            Some(&ana_token),
            Some(json!({"user_ids": [ana, sara]})),
        )
        .await
        .expect(200);
    let ids: Vec<i64> = set
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [sara, ana]);
    t.call(
        "DELETE",
        &path,
        Some(&ana_token),
        Some(json!({"user_ids": [sara]})),
    )
    .await
    .expect(200);
    let now = t.get(&path).await;
    assert_eq!(now.as_array().unwrap().len(), 1);
    assert_eq!(now[0]["id"], ana);
    // An agent outside the inbox does not reach the conversation at all.
    t.call("GET", &path, Some(&caio_token), None)
        .await
        .expect(404);
    t.call(
        "POST",
        &path,
        Some(&caio_token),
        Some(json!({"user_ids": [caio]})),
    )
    .await
    .expect(404);
    // Leaving the account leaves its conversations.
    t.admin("DELETE", &t.acc(&format!("/agents/{ana}")), None)
        .await
        .expect(200);
    assert_eq!(t.get(&path).await, json!([]));
}
