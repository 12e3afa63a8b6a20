//! Routing as a team configures and watches it, over the real API and sockets: the account's
//! settings and who may change them, agents' skills and capacity deciding who gets a
//! conversation, the detected language, Chatwoot's inbox assignment limit, the supervisor
//! role, the live view, presence from the profile, and capacity on a manual pick.

use std::time::Duration;

use serde_json::{Value, json};
use throughline_testkit::{Backend, TestApp, on_both_databases};

use crate::routing::{WAIT, assignee, eventually_assigned, online};
use crate::thread;

on_both_databases!(
    offers_are_accepted_declined_and_run_out,
    a_preference_nobody_available_has_holds_nothing_back,
    a_preference_is_dropped_when_its_time_comes,
    settings_are_read_by_members_and_changed_by_administrators,
    skills_and_language_decide_who_gets_a_conversation,
    an_inbox_limit_and_a_capacity_override_hold,
    the_live_view_shows_queues_agents_and_who_waits,
    a_manual_pick_respects_capacity_unless_a_supervisor_assigns,
);

async fn settings_are_read_by_members_and_changed_by_administrators(b: Backend) {
    let t = TestApp::start(b).await;
    let (_, agent) = t.agent("ana@acme.test", "agent").await;
    let (_, supervisor) = t.agent("sara@acme.test", "supervisor").await;
    let path = t.acc("/routing/settings");
    let shown = t.call("GET", &path, Some(&agent), None).await.expect(200);
    assert_eq!(
        shown["capacity"],
        json!({"call": 1, "chat": 4, "messaging": 5, "email": 8, "other": 5})
    );
    assert_eq!(shown["call_blocks"], json!(["chat", "messaging"]));
    assert_eq!(shown["auto_away_minutes"], 10);
    assert_eq!(shown["language"], "prefer");
    for token in [&agent, &supervisor] {
        t.call(
            "PUT",
            &path,
            Some(token),
            Some(json!({"sticky_minutes": 1})),
        )
        .await
        .expect(403);
    }
    let saved = t
        .admin(
            "PUT",
            &path,
            Some(json!({"capacity": {"chat": 2}, "language": "require", "overflow_after_seconds": null})),
        )
        .await
        .expect(200);
    assert_eq!(saved["capacity"]["chat"], 2);
    assert_eq!(saved["capacity"]["email"], 8, "kinds not named keep theirs");
    assert_eq!(saved["overflow_after_seconds"], Value::Null);
    let again = t.call("GET", &path, Some(&agent), None).await.expect(200);
    assert_eq!(again, saved);

    // Bad settings are refused, each naming its field, and nothing changes.
    let bad = t
        .admin(
            "PUT",
            &path,
            Some(json!({"capacity": {"chat": 1000}, "call_blocks": ["call"],
                        "queues": [{"queue": {"type": "team", "id": 987654}}],
                        "labels": [{"label": "vip", "required": [{"name": "v i p", "min_level": 9}]}]})),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    let text = bad.body.to_string();
    for field in ["capacity.chat", "call_blocks", "labels[0].required[0].name"] {
        assert!(text.contains(field), "{field} not named in {text}");
    }
    // A queue of no team of this account (checked after the document itself).
    let missing = t
        .admin(
            "PUT",
            &path,
            Some(json!({"queues": [{"queue": {"type": "team", "id": 987654}}]})),
        )
        .await;
    assert_eq!(missing.status, 422, "{}", missing.body);
    assert!(missing.body.to_string().contains("queues[0].queue"));
    for body in [
        json!({"overflow": "sideways"}),
        json!({"capacity": {"chat": -1}}),
        json!({"queues": [{"queue": {"type": "planet", "id": 1}}]}),
        json!([1, 2]),
    ] {
        let a = t.admin("PUT", &path, Some(body.clone())).await;
        assert!(
            (400..500).contains(&a.status),
            "{body} → {} {}",
            a.status,
            a.body
        );
    }
    assert_eq!(
        t.call("GET", &path, Some(&agent), None).await.expect(200),
        saved
    );
    // The change is in the audit log.
    let log = t.get(&t.acc("/audit_logs")).await;
    assert!(log.to_string().contains("routing"), "{log}");
}

async fn skills_and_language_decide_who_gets_a_conversation(b: Backend) {
    let t = TestApp::start(b).await;
    let (ana, ana_token) = t.agent("ana@acme.test", "agent").await;
    let (bruno, bruno_token) = t.agent("bruno@acme.test", "agent").await;
    let (_, agent_token) = t.agent("carla@acme.test", "agent").await;
    let (_, supervisor) = t.agent("sara@acme.test", "supervisor").await;
    let inbox = t.api_inbox("Support", None).await;
    t.post(
        &t.acc("/inbox_members"),
        json!({"inbox_id": inbox["id"], "user_ids": [ana, bruno]}),
    )
    .await;
    t.admin(
        "PUT",
        &t.acc("/routing/settings"),
        Some(json!({"language": "require"})),
    )
    .await
    .expect(200);
    // A supervisor gives Ana Polish; an agent may not touch skills.
    let profile = |id: i64| t.acc(&format!("/routing/agents/{id}"));
    t.call(
        "PATCH",
        &profile(ana),
        Some(&agent_token),
        Some(json!({"skills": []})),
    )
    .await
    .expect(403);
    t.call("GET", &t.acc("/routing/agents"), Some(&agent_token), None)
        .await
        .expect(403);
    let ana_profile = t
        .call(
            "PATCH",
            &profile(ana),
            Some(&supervisor),
            Some(json!({"skills": [{"name": "lang:pl", "level": 3}, {"name": "lang:pl", "level": 1}]})),
        )
        .await
        .expect(200);
    assert_eq!(
        ana_profile["skills"],
        json!([{"name": "lang:pl", "level": 3}])
    );
    let bad = t
        .call(
            "PATCH",
            &profile(ana),
            Some(&supervisor),
            Some(json!({"skills": [{"name": "", "level": 1}], "capacity": {"chat": 500}})),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    t.call(
        "PATCH",
        &profile(999_999),
        Some(&supervisor),
        Some(json!({"skills": []})),
    )
    .await
    .expect(404);
    let listed = t
        .call("GET", &t.acc("/routing/agents"), Some(&supervisor), None)
        .await
        .expect(200);
    let ana_row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == ana)
        .unwrap();
    assert_eq!(ana_row["skills"], json!([{"name": "lang:pl", "level": 3}]));
    assert_eq!(ana_row["capacity"]["chat"], Value::Null);

    let _ana = online(&t, &ana_token).await;
    let _bruno = online(&t, &bruno_token).await;
    // Polish goes to the agent who speaks it, whoever is less loaded.
    for _ in 0..2 {
        let polish = thread(
            &t,
            &inbox,
            "Dzień dobry, mam problem z zamówieniem i potrzebuję pomocy, proszę o kontakt.",
        )
        .await;
        assert_eq!(
            eventually_assigned(&t, polish.conversation_id, "the Polish conversation").await,
            ana
        );
    }
    // Portuguese, required and spoken by nobody: it waits…
    let portuguese = thread(
        &t,
        &inbox,
        "Boa tarde, o meu pedido ainda não chegou e preciso de ajuda com a entrega.",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(assignee(&t, portuguese.conversation_id).await, Value::Null);
    // …until Bruno is given the language: the change itself wakes routing.
    t.call(
        "PATCH",
        &profile(bruno),
        Some(&supervisor),
        Some(json!({"skills": [{"name": "lang:pt-BR", "level": 2}]})),
    )
    .await
    .expect(200);
    assert_eq!(
        eventually_assigned(
            &t,
            portuguese.conversation_id,
            "the Portuguese conversation"
        )
        .await,
        bruno
    );
}

async fn an_inbox_limit_and_a_capacity_override_hold(b: Backend) {
    let t = TestApp::start(b).await;
    let (ana, ana_token) = t.agent("ana@acme.test", "agent").await;
    let (bruno, bruno_token) = t.agent("bruno@acme.test", "agent").await;
    let limited = t.api_inbox("Limited", None).await;
    let other = t.api_inbox("Other", None).await;
    for inbox in [&limited, &other] {
        t.post(
            &t.acc("/inbox_members"),
            json!({"inbox_id": inbox["id"], "user_ids": [ana]}),
        )
        .await;
    }
    // Chatwoot's shape, as its settings page sends it (the number as typed).
    let shown = t
        .admin(
            "PATCH",
            &t.acc(&format!("/inboxes/{}", limited["id"])),
            Some(json!({"auto_assignment_config": {"max_assignment_limit": "1"}})),
        )
        .await
        .expect(200);
    assert_eq!(
        shown["auto_assignment_config"],
        json!({"max_assignment_limit": 1})
    );
    assert_eq!(other["auto_assignment_config"], json!({}));
    for bad in [
        json!({"max_assignment_limit": 0}),
        json!({"max_assignment_limit": "x"}),
        json!("5"),
    ] {
        t.admin(
            "PATCH",
            &t.acc(&format!("/inboxes/{}", limited["id"])),
            Some(json!({"auto_assignment_config": bad})),
        )
        .await
        .expect(422);
    }
    let _ana = online(&t, &ana_token).await;
    let first = thread(&t, &limited, "first").await;
    let second = thread(&t, &limited, "second").await;
    assert_eq!(
        eventually_assigned(&t, first.conversation_id, "the first").await,
        ana
    );
    // The inbox's limit holds though her capacity would take more; another inbox's work
    // still reaches her.
    let elsewhere = thread(&t, &other, "elsewhere").await;
    assert_eq!(
        eventually_assigned(&t, elsewhere.conversation_id, "the other inbox's").await,
        ana
    );
    assert_eq!(assignee(&t, second.conversation_id).await, Value::Null);
    // Lifting the limit (Chatwoot's empty field) lets the second one go to her at once.
    t.admin(
        "PATCH",
        &t.acc(&format!("/inboxes/{}", limited["id"])),
        Some(json!({"auto_assignment_config": {"max_assignment_limit": ""}})),
    )
    .await
    .expect(200);
    assert_eq!(
        eventually_assigned(&t, second.conversation_id, "after the limit is lifted").await,
        ana
    );

    // Bruno's own capacity for API work is 1: he gets one, the next waits for Ana's room.
    t.post(
        &t.acc("/inbox_members"),
        json!({"inbox_id": other["id"], "user_ids": [bruno]}),
    )
    .await;
    t.admin(
        "PATCH",
        &t.acc(&format!("/routing/agents/{bruno}")),
        Some(json!({"capacity": {"other": 1}})),
    )
    .await
    .expect(200);
    t.admin(
        "PUT",
        &t.acc("/routing/settings"),
        Some(json!({"capacity": {"other": 3}})),
    )
    .await
    .expect(200);
    let _bruno = online(&t, &bruno_token).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(
            thread(&t, &other, &format!("more {i}"))
                .await
                .conversation_id,
        );
    }
    t.eventually(WAIT, "Bruno and Ana full", || async {
        let mut bruno_n = 0;
        let mut ana_n = 0;
        for id in &ids {
            match assignee(&t, *id).await.as_i64() {
                Some(a) if a == bruno => bruno_n += 1,
                Some(a) if a == ana => ana_n += 1,
                _ => {}
            }
        }
        // Ana already holds 3 (limit 3 now): only Bruno's one is placed.
        (bruno_n == 1).then_some(ana_n)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut placed = 0;
    for id in &ids {
        if let Some(a) = assignee(&t, *id).await.as_i64() {
            assert!(a == bruno || a == ana);
            placed += 1;
        }
    }
    assert_eq!(placed, 1, "nobody over capacity");
}

async fn the_live_view_shows_queues_agents_and_who_waits(b: Backend) {
    let t = TestApp::start(b).await;
    let (ana, ana_token) = t.agent("ana@acme.test", "agent").await;
    let (sara, supervisor) = t.agent("sara@acme.test", "supervisor").await;
    let inbox = t.api_inbox("Support", None).await;
    let hidden = t.api_inbox("Back office", None).await;
    t.post(
        &t.acc("/inbox_members"),
        json!({"inbox_id": inbox["id"], "user_ids": [ana]}),
    )
    .await;
    let live = t.acc("/routing/live");
    t.call("GET", &live, Some(&ana_token), None)
        .await
        .expect(403);

    // Nobody online: one conversation waits in Support, one in Back office.
    let waiting = thread(&t, &inbox, "Olá").await;
    let back = thread(&t, &hidden, "Internal").await;
    let view = t
        .call("GET", &live, Some(&supervisor), None)
        .await
        .expect(200);
    let queue = |v: &Value, id: &Value| {
        v["queues"]
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["queue"] == json!({"type": "inbox", "id": id}))
            .cloned()
            .unwrap()
    };
    let support = queue(&view, &inbox["id"]);
    assert_eq!(support["name"], "Support");
    assert_eq!(support["waiting"], 1);
    assert!(support["longest_wait_seconds"].as_i64().unwrap() >= 0);
    let listed: Vec<i64> = view["waiting"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_i64().unwrap())
        .collect();
    assert!(listed.contains(&waiting.conversation_id) && listed.contains(&back.conversation_id));
    let row = view["waiting"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["id"] == waiting.conversation_id)
        .unwrap();
    assert_eq!(row["channel_kind"], "other");
    assert_eq!(row["queue_name"], "Support");
    assert_eq!(row["contact_name"], "Ana Souza");
    let agent_row = |v: &Value, id: i64| {
        v["agents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == id)
            .cloned()
            .unwrap()
    };
    assert_eq!(agent_row(&view, ana)["presence"], "offline");
    assert_eq!(agent_row(&view, sara)["role"], "supervisor");

    // A supervisor sees every inbox's conversations, an agent only their own inboxes'.
    let path = t.acc(&format!("/conversations/{}", back.conversation_id));
    t.call("GET", &path, Some(&supervisor), None)
        .await
        .expect(200);
    t.call("GET", &path, Some(&ana_token), None)
        .await
        .expect(404);
    // A supervisor changes presence but not roles.
    t.call(
        "PATCH",
        &t.acc(&format!("/agents/{ana}")),
        Some(&supervisor),
        Some(json!({"role": "administrator"})),
    )
    .await
    .expect(403);

    // Ana connects (her stored availability: online): she takes the waiting conversation.
    let mut socket = online(&t, &ana_token).await;
    eventually_assigned(&t, waiting.conversation_id, "the waiting one").await;
    let view = t
        .eventually(WAIT, "Ana online with one conversation", || async {
            let v = t
                .call("GET", &live, Some(&supervisor), None)
                .await
                .expect(200);
            let a = agent_row(&v, ana);
            (a["presence"] == "online" && a["load"]["other"] == 1).then_some(v)
        })
        .await;
    assert!(agent_row(&view, ana)["presence_since"].as_i64().is_some());
    assert_eq!(agent_row(&view, ana)["capacity"]["other"], 5);
    assert_eq!(queue(&view, &inbox["id"])["waiting"], 0);
    // She answers: the day's tally counts it, within the one-minute target.
    t.call(
        "POST",
        &t.acc(&format!(
            "/conversations/{}/messages",
            waiting.conversation_id
        )),
        Some(&ana_token),
        Some(json!({"content": "Olá! Como posso ajudar?"})),
    )
    .await
    .expect(200);
    let view = t
        .call("GET", &live, Some(&supervisor), None)
        .await
        .expect(200);
    let support = queue(&view, &inbox["id"]);
    assert_eq!(
        (
            support["answered"].clone(),
            support["answered_within_target"].clone()
        ),
        (json!(1), json!(1))
    );
    assert_eq!(support["service_level"], 1.0);

    // The supervisor marks her busy: her socket hears it and so does the live view.
    t.call(
        "PATCH",
        &t.acc(&format!("/agents/{ana}")),
        Some(&supervisor),
        Some(json!({"availability": "busy"})),
    )
    .await
    .expect(200);
    // (Her own arrival was announced on this socket before.)
    while socket.until("presence", WAIT).await["status"] != "busy" {}
    let v = t
        .call("GET", &live, Some(&supervisor), None)
        .await
        .expect(200);
    assert_eq!(agent_row(&v, ana)["presence"], "busy");
    // Busy: a new conversation waits.
    let later = thread(&t, &inbox, "Mais uma").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(assignee(&t, later.conversation_id).await, Value::Null);
    // Ana sets herself online from her profile (Chatwoot's availability): it is hers.
    let profile = t
        .call(
            "PUT",
            "/api/v1/profile",
            Some(&ana_token),
            Some(json!({"profile": {"availability": "online"}})),
        )
        .await
        .expect(200);
    assert_eq!(profile["accounts"][0]["availability"], "online");
    assert_eq!(
        eventually_assigned(&t, later.conversation_id, "after she is back").await,
        ana
    );
    // Away from the app (its auto-away) keeps what she has and takes nothing new.
    socket
        .send_json(&json!({"type": "presence", "status": "away"}))
        .await;
    t.eventually(WAIT, "away in the live view", || async {
        let v = t
            .call("GET", &live, Some(&supervisor), None)
            .await
            .expect(200);
        (agent_row(&v, ana)["presence"] == "away").then_some(())
    })
    .await;
    let while_away = thread(&t, &inbox, "Alguém?").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(assignee(&t, while_away.conversation_id).await, Value::Null);
    let bad = t
        .call(
            "PUT",
            "/api/v1/profile",
            Some(&ana_token),
            Some(json!({"profile": {"availability": "away"}})),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
}

async fn a_manual_pick_respects_capacity_unless_a_supervisor_assigns(b: Backend) {
    let t = TestApp::start(b).await;
    let (ana, _) = t.agent("ana@acme.test", "agent").await;
    let (bruno, bruno_token) = t.agent("bruno@acme.test", "agent").await;
    let (_, supervisor) = t.agent("sara@acme.test", "supervisor").await;
    let inbox = t.api_inbox("Support", None).await;
    t.post(
        &t.acc("/inbox_members"),
        json!({"inbox_id": inbox["id"], "user_ids": [ana, bruno]}),
    )
    .await;
    t.admin(
        "PATCH",
        &t.acc(&format!("/routing/agents/{ana}")),
        Some(json!({"capacity": {"other": 1}})),
    )
    .await
    .expect(200);
    let first = thread(&t, &inbox, "one").await;
    let second = thread(&t, &inbox, "two").await;
    let assign = |id: i64| t.acc(&format!("/conversations/{id}/assignments"));
    t.call(
        "POST",
        &assign(first.conversation_id),
        Some(&bruno_token),
        Some(json!({"assignee_id": ana})),
    )
    .await
    .expect(200);
    // Ana is full: an agent's transfer is refused with the reason…
    let refused = t
        .call(
            "POST",
            &assign(second.conversation_id),
            Some(&bruno_token),
            Some(json!({"assignee_id": ana})),
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused.body.to_string().contains("at_capacity"),
        "{}",
        refused.body
    );
    assert_eq!(assignee(&t, second.conversation_id).await, Value::Null);
    // …re-assigning her own conversation to her is no new load, and Bruno may take it…
    t.call(
        "POST",
        &assign(first.conversation_id),
        Some(&bruno_token),
        Some(json!({"assignee_id": ana})),
    )
    .await
    .expect(200);
    t.call(
        "POST",
        &assign(second.conversation_id),
        Some(&bruno_token),
        Some(json!({"assignee_id": bruno})),
    )
    .await
    .expect(200);
    // …and a supervisor overrides.
    t.call(
        "POST",
        &assign(second.conversation_id),
        Some(&supervisor),
        Some(json!({"assignee_id": ana})),
    )
    .await
    .expect(200);
    assert_eq!(assignee(&t, second.conversation_id).await, json!(ana));
}

/// The customer's language is preferred by default: it sends the chat to an agent who speaks
/// it, and holds it back for nobody when no agent online does (the preference would otherwise
/// be required for `drop_optional_after_seconds`, here an hour).
async fn a_preference_nobody_available_has_holds_nothing_back(b: Backend) {
    let t = TestApp::start(b).await;
    let (ana, ana_token) = t.agent("ana@acme.test", "agent").await;
    let (bruno, bruno_token) = t.agent("bruno@acme.test", "agent").await;
    let site = t
        .post(
            &t.acc("/inboxes"),
            json!({"name": "Site", "channel": {"type": "web_widget", "website_url": "https://acme.test"}}),
        )
        .await;
    t.post(
        &t.acc("/inbox_members"),
        json!({"inbox_id": site["id"], "user_ids": [ana, bruno]}),
    )
    .await;
    t.admin(
        "PUT",
        &t.acc("/routing/settings"),
        Some(json!({"drop_optional_after_seconds": 3600})),
    )
    .await
    .expect(200);
    t.admin(
        "PATCH",
        &t.acc(&format!("/routing/agents/{bruno}")),
        Some(json!({"skills": [{"name": "lang:en", "level": 2}]})),
    )
    .await
    .expect(200);
    t.admin(
        "PATCH",
        &t.acc(&format!("/agents/{ana}")),
        Some(json!({"availability": "offline"})),
    )
    .await
    .expect(200);
    let english = "Hello, is anyone there? I need help with my order, it has not arrived yet.";
    let first = thread(&t, &site, english).await;
    // Ana alone is online (she connects offline, then chooses online): nobody available
    // speaks English, so the preference holds nothing back.
    let mut ana_socket = online(&t, &ana_token).await;
    ana_socket
        .send_json(&json!({"type": "presence", "status": "online"}))
        .await;
    assert_eq!(
        eventually_assigned(&t, first.conversation_id, "the first chat").await,
        ana
    );
    // Bruno, who speaks it, comes online and is given another chat by hand, so he and Ana
    // hold one each and Ana has been idle longer. An English chat waits in the inbox while
    // its auto-assignment is off; turned on, it goes to Bruno for the language (until the
    // preference is dropped, it is required: Ana is not eligible).
    let _bruno_socket = online(&t, &bruno_token).await;
    let inbox_path = t.acc(&format!("/inboxes/{}", site["id"]));
    t.admin(
        "PATCH",
        &inbox_path,
        Some(json!({"enable_auto_assignment": false})),
    )
    .await
    .expect(200);
    let by_hand = thread(&t, &site, "Oi").await;
    t.admin(
        "POST",
        &t.acc(&format!(
            "/conversations/{}/assignments",
            by_hand.conversation_id
        )),
        Some(json!({"assignee_id": bruno})),
    )
    .await
    .expect(200);
    let second = thread(&t, &site, english).await;
    t.admin(
        "PATCH",
        &inbox_path,
        Some(json!({"enable_auto_assignment": true})),
    )
    .await
    .expect(200);
    assert_eq!(
        eventually_assigned(&t, second.conversation_id, "the second chat").await,
        bruno
    );
}

/// A queue prefers `vip`; the only agent with it is online but has no room. The conversation
/// waits for him until the preference is dropped (after one second), then goes to Ana with
/// nothing else happening: the pass that left it waiting woke routing at that moment.
async fn a_preference_is_dropped_when_its_time_comes(b: Backend) {
    let t = TestApp::start(b).await;
    let (ana, ana_token) = t.agent("ana@acme.test", "agent").await;
    let (bruno, bruno_token) = t.agent("bruno@acme.test", "agent").await;
    let inbox = t.api_inbox("VIP line", None).await;
    t.post(
        &t.acc("/inbox_members"),
        json!({"inbox_id": inbox["id"], "user_ids": [ana, bruno]}),
    )
    .await;
    t.admin(
        "PATCH",
        &t.acc(&format!("/routing/agents/{bruno}")),
        Some(json!({"skills": [{"name": "vip", "level": 1}], "capacity": {"other": 0}})),
    )
    .await
    .expect(200);
    t.admin(
        "PUT",
        &t.acc("/routing/settings"),
        Some(json!({"drop_optional_after_seconds": 1,
                    "queues": [{"queue": {"type": "inbox", "id": inbox["id"]},
                                "preferred": [{"name": "vip", "min_level": 1}]}]})),
    )
    .await
    .expect(200);
    let _ana = online(&t, &ana_token).await;
    let _bruno = online(&t, &bruno_token).await;
    let th = thread(&t, &inbox, "Hello").await;
    let created_at = t
        .get(&t.acc(&format!("/conversations/{}", th.conversation_id)))
        .await["created_at"]
        .as_i64()
        .unwrap();
    assert_eq!(
        eventually_assigned(&t, th.conversation_id, "after the preference is dropped").await,
        ana
    );
    let messages = t
        .get(&t.acc(&format!("/conversations/{}/messages", th.conversation_id)))
        .await;
    let line = messages["payload"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["content_attributes"]["activity"]["routing_reason"].is_string())
        .cloned()
        .unwrap();
    // Placed a second or more after it arrived (whole seconds: 1 s later is at least the
    // next second).
    assert!(
        line["created_at"].as_i64().unwrap() > created_at,
        "assigned before the preference was dropped: {line}"
    );
}

/// The next offer frame on a socket: (conversation display id, the frame).
async fn next_offer(ws: &mut throughline_testkit::ws::WsClient, kind: &str) -> (i64, Value) {
    let f = ws.until(kind, WAIT).await;
    (f["conversation_id"].as_i64().unwrap(), f)
}

/// Offer/accept mode for API conversations: the agent's tabs hear the offer, which counts
/// as theirs only once accepted; a decline passes it to the next agent; an offer left
/// unanswered runs out and is withdrawn; an agent set to direct assignment gets no offers.
async fn offers_are_accepted_declined_and_run_out(b: Backend) {
    let t = TestApp::start(b).await;
    let (ana, ana_token) = t.agent("ana@acme.test", "agent").await;
    let (bruno, bruno_token) = t.agent("bruno@acme.test", "agent").await;
    let inbox = t.api_inbox("Offers", None).await;
    t.post(
        &t.acc("/inbox_members"),
        json!({"inbox_id": inbox["id"], "user_ids": [ana, bruno]}),
    )
    .await;
    let bad = t
        .admin(
            "PUT",
            &t.acc("/routing/settings"),
            Some(json!({"offer_timeout_seconds": 1})),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    let saved = t
        .admin(
            "PUT",
            &t.acc("/routing/settings"),
            Some(json!({"offer_kinds": ["other"], "offer_timeout_seconds": 5})),
        )
        .await
        .expect(200);
    assert_eq!(saved["offer_kinds"], json!(["other"]));
    let answer = |id: i64| t.acc(&format!("/conversations/{id}/offer"));
    let offers = t.acc("/routing/offers");

    let mut ana_ws = online(&t, &ana_token).await;
    let first = thread(&t, &inbox, "first").await;
    let (offered, frame) = next_offer(&mut ana_ws, "offer").await;
    assert_eq!(offered, first.conversation_id);
    assert_eq!(frame["channel_kind"], "other");
    assert_eq!(frame["contact_name"], "Ana Souza");
    assert!(frame["expires_at"].as_i64().unwrap() > 0);
    // Offered is not assigned; only Ana has it.
    assert_eq!(assignee(&t, first.conversation_id).await, Value::Null);
    let listed = t
        .call("GET", &offers, Some(&ana_token), None)
        .await
        .expect(200);
    assert_eq!(listed[0]["conversation_id"], first.conversation_id);
    assert_eq!(
        t.call("GET", &offers, Some(&bruno_token), None)
            .await
            .expect(200),
        json!([])
    );
    t.call(
        "POST",
        &answer(first.conversation_id),
        Some(&bruno_token),
        Some(json!({"answer": "accept"})),
    )
    .await
    .expect(409);
    t.call(
        "POST",
        &answer(first.conversation_id),
        Some(&ana_token),
        Some(json!({"answer": "maybe"})),
    )
    .await
    .expect(422);
    let accepted = t
        .call(
            "POST",
            &answer(first.conversation_id),
            Some(&ana_token),
            Some(json!({"answer": "accept"})),
        )
        .await
        .expect(200);
    assert_eq!(accepted["meta"]["assignee"]["id"], ana);
    assert_eq!(assignee(&t, first.conversation_id).await, json!(ana));
    t.call(
        "POST",
        &answer(first.conversation_id),
        Some(&ana_token),
        Some(json!({"answer": "accept"})),
    )
    .await
    .expect(409);
    assert_eq!(
        t.call("GET", &offers, Some(&ana_token), None)
            .await
            .expect(200),
        json!([])
    );

    // Bruno (less loaded) is offered the next one and declines: it goes to Ana.
    let mut bruno_ws = online(&t, &bruno_token).await;
    let second = thread(&t, &inbox, "second").await;
    let (offered, _) = next_offer(&mut bruno_ws, "offer").await;
    assert_eq!(offered, second.conversation_id);
    t.call(
        "POST",
        &answer(second.conversation_id),
        Some(&bruno_token),
        Some(json!({"answer": "decline"})),
    )
    .await
    .expect(200);
    let (offered, _) = next_offer(&mut ana_ws, "offer").await;
    assert_eq!(offered, second.conversation_id);
    // Ana lets it run out: it is withdrawn from her tabs, and with both having passed on it,
    // it waits unassigned.
    let (withdrawn, _) = next_offer(&mut ana_ws, "offer_withdrawn").await;
    assert_eq!(withdrawn, second.conversation_id);
    assert_eq!(assignee(&t, second.conversation_id).await, Value::Null);
    t.call(
        "POST",
        &answer(second.conversation_id),
        Some(&ana_token),
        Some(json!({"answer": "accept"})),
    )
    .await
    .expect(409);

    // Bruno switches to direct assignment: the next one is simply his.
    t.admin(
        "PATCH",
        &t.acc(&format!("/routing/agents/{bruno}")),
        Some(json!({"accepts_offers": false})),
    )
    .await
    .expect(200);
    let third = thread(&t, &inbox, "third").await;
    assert_eq!(
        eventually_assigned(&t, third.conversation_id, "the third").await,
        bruno
    );
}
