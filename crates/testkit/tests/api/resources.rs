//! Account, agents, inboxes and members, teams, labels, canned responses, attribute
//! definitions, agent bots.

use serde_json::json;
use throughline_testkit::{Backend, TestApp, on_both_databases};

on_both_databases!(
    account_and_agents,
    inboxes_and_members,
    teams_and_members,
    labels_canned_and_attributes,
    agent_bots_have_their_own_tokens,
);

async fn account_and_agents(b: Backend) {
    let t = TestApp::start(b).await;
    let account = t.get(&t.acc("")).await;
    assert_eq!(account["name"], "Acme");
    let patched = t
        .admin(
            "PATCH",
            &t.acc(""),
            Some(
                json!({"name": "Acme Lojas", "locale": "pt-BR", "continue_across_channels": false}),
            ),
        )
        .await
        .expect(200);
    assert_eq!(patched["locale"], "pt-BR");
    assert_eq!(patched["settings"]["continue_across_channels"], false);
    assert_eq!(
        t.admin("PATCH", &t.acc(""), Some(json!({"locale": "klingon"})))
            .await
            .status,
        422
    );

    let (agent_id, _) = t.agent("ana@acme.test", "agent").await;
    let agents = t.get(&t.acc("/agents")).await;
    assert_eq!(agents.as_array().unwrap().len(), 2);
    let promoted = t
        .admin(
            "PATCH",
            &t.acc(&format!("/agents/{agent_id}")),
            Some(json!({"role": "administrator", "availability": "busy"})),
        )
        .await
        .expect(200);
    assert_eq!(promoted["role"], "administrator");
    assert_eq!(promoted["availability_status"], "busy");
    assert_eq!(
        t.admin(
            "POST",
            &t.acc("/agents"),
            Some(json!({"name": "x", "email": "ana@acme.test", "role": "agent"}))
        )
        .await
        .status,
        422,
        "already a member"
    );
    assert_eq!(
        t.admin(
            "POST",
            &t.acc("/agents"),
            Some(json!({"name": "x", "email": "y@acme.test", "role": "owner"}))
        )
        .await
        .status,
        422
    );
    t.admin("DELETE", &t.acc(&format!("/agents/{agent_id}")), None)
        .await
        .expect(200);
    // The last administrator cannot leave or be demoted.
    assert_eq!(
        t.admin("DELETE", &t.acc("/agents/1"), None).await.status,
        422
    );
    assert_eq!(
        t.admin("PATCH", &t.acc("/agents/1"), Some(json!({"role": "agent"})))
            .await
            .status,
        422
    );
}

async fn inboxes_and_members(b: Backend) {
    let t = TestApp::start(b).await;
    let (a1, _) = t.agent("a1@acme.test", "agent").await;
    let (a2, _) = t.agent("a2@acme.test", "agent").await;
    let inbox = t
        .api_inbox("Support", Some("https://example.com/callback"))
        .await;
    let id = inbox["id"].as_i64().unwrap();
    assert_eq!(inbox["channel_type"], "Channel::Api");
    assert_eq!(inbox["webhook_url"], "https://example.com/callback");
    assert!(inbox["hmac_token"].as_str().unwrap().len() >= 20);
    assert_eq!(
        t.get(&t.acc("/inboxes")).await["payload"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let renamed = t.admin("PATCH", &t.acc(&format!("/inboxes/{id}")), Some(json!({"name": "Suporte", "greeting_enabled": true, "greeting_message": "Olá!", "default_country": "br", "timezone": "America/Sao_Paulo"}))).await.expect(200);
    assert_eq!(renamed["name"], "Suporte");
    assert_eq!(renamed["default_country"], "BR");
    assert_eq!(renamed["timezone"], "America/Sao_Paulo");
    assert_eq!(
        t.admin(
            "POST",
            &t.acc("/inboxes"),
            Some(json!({"name": "Mail", "channel": {"type": "email"}}))
        )
        .await
        .status,
        422
    );
    assert_eq!(
        t.admin(
            "POST",
            &t.acc("/inboxes"),
            Some(json!({"name": "X", "channel": {"type": "api", "webhook_url": "ftp://x"}}))
        )
        .await
        .status,
        422
    );
    assert_eq!(
        t.admin(
            "PATCH",
            &t.acc(&format!("/inboxes/{id}")),
            Some(json!({"default_country": "Narnia"}))
        )
        .await
        .status,
        422
    );

    let added = t
        .post(
            &t.acc("/inbox_members"),
            json!({"inbox_id": id, "user_ids": [a1]}),
        )
        .await;
    assert_eq!(added["payload"].as_array().unwrap().len(), 1);
    let set = t
        .admin(
            "PATCH",
            &t.acc("/inbox_members"),
            Some(json!({"inbox_id": id.to_string(), "user_ids": [a2]})),
        )
        .await
        .expect(200);
    assert_eq!(set["payload"][0]["id"], a2);
    assert_eq!(
        t.get(&t.acc(&format!("/inbox_members/{id}"))).await["payload"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    t.admin(
        "DELETE",
        &t.acc("/inbox_members"),
        Some(json!({"inbox_id": id, "user_ids": [a2]})),
    )
    .await
    .expect(200);
    assert_eq!(
        t.get(&t.acc(&format!("/inbox_members/{id}"))).await["payload"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        t.admin(
            "POST",
            &t.acc("/inbox_members"),
            Some(json!({"inbox_id": id, "user_ids": [77_777]}))
        )
        .await
        .status,
        422
    );

    t.admin("DELETE", &t.acc(&format!("/inboxes/{id}")), None)
        .await
        .expect(200);
    assert_eq!(
        t.admin("GET", &t.acc(&format!("/inboxes/{id}")), None)
            .await
            .status,
        404
    );
}

async fn teams_and_members(b: Backend) {
    let t = TestApp::start(b).await;
    let (a1, _) = t.agent("a1@acme.test", "agent").await;
    let team = t
        .post(
            &t.acc("/teams"),
            json!({"name": "Suporte BR", "description": "Clientes do Brasil"}),
        )
        .await;
    let id = team["id"].as_i64().unwrap();
    assert_eq!(
        t.admin(
            "POST",
            &t.acc("/teams"),
            Some(json!({"name": "suporte br"}))
        )
        .await
        .status,
        422,
        "names are unique"
    );
    let members = t
        .post(
            &t.acc(&format!("/teams/{id}/team_members")),
            json!({"user_ids": [a1, 1]}),
        )
        .await;
    assert_eq!(members.as_array().unwrap().len(), 2);
    let shown = t.get(&t.acc(&format!("/teams/{id}"))).await;
    assert_eq!(shown["is_member"], true);
    let set = t
        .admin(
            "PATCH",
            &t.acc(&format!("/teams/{id}/team_members")),
            Some(json!({"user_ids": [a1]})),
        )
        .await
        .expect(200);
    assert_eq!(set.as_array().unwrap().len(), 1);
    t.admin(
        "DELETE",
        &t.acc(&format!("/teams/{id}/team_members")),
        Some(json!({"user_ids": [a1]})),
    )
    .await
    .expect(200);
    assert_eq!(
        t.get(&t.acc(&format!("/teams/{id}/team_members")))
            .await
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let updated = t
        .admin(
            "PATCH",
            &t.acc(&format!("/teams/{id}")),
            Some(json!({"description": null, "allow_auto_assign": false})),
        )
        .await
        .expect(200);
    assert!(updated.get("description").is_none());
    assert_eq!(updated["allow_auto_assign"], false);
    assert_eq!(t.get(&t.acc("/teams")).await.as_array().unwrap().len(), 1);
    t.admin("DELETE", &t.acc(&format!("/teams/{id}")), None)
        .await
        .expect(200);
    assert_eq!(
        t.admin("GET", &t.acc(&format!("/teams/{id}")), None)
            .await
            .status,
        404
    );
}

async fn labels_canned_and_attributes(b: Backend) {
    let t = TestApp::start(b).await;
    let label = t
        .post(
            &t.acc("/labels"),
            json!({"title": "Zamówienie", "color": "#FF0000"}),
        )
        .await;
    assert_eq!(label["title"], "zamówienie");
    assert_eq!(label["color"], "#ff0000");
    assert_eq!(
        t.admin(
            "POST",
            &t.acc("/labels"),
            Some(json!({"title": "x", "color": "red"}))
        )
        .await
        .status,
        422
    );
    let id = label["id"].as_i64().unwrap();
    assert_eq!(
        t.admin(
            "PATCH",
            &t.acc(&format!("/labels/{id}")),
            Some(json!({"show_on_sidebar": false}))
        )
        .await
        .expect(200)["show_on_sidebar"],
        false
    );
    assert_eq!(
        t.get(&t.acc("/labels")).await["payload"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    t.admin("DELETE", &t.acc(&format!("/labels/{id}")), None)
        .await
        .expect(200);

    let (_, agent) = t.agent("agent@acme.test", "agent").await;
    let canned = t
        .call(
            "POST",
            &t.acc("/canned_responses"),
            Some(&agent),
            Some(json!({"short_code": "ola", "content": "Olá! Como posso ajudar?"})),
        )
        .await
        .expect(200);
    assert!(canned["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        t.admin(
            "POST",
            &t.acc("/canned_responses"),
            Some(json!({"short_code": "ola", "content": "dup"}))
        )
        .await
        .status,
        422
    );
    assert_eq!(
        t.admin(
            "POST",
            &t.acc("/canned_responses"),
            Some(json!({"short_code": "two words", "content": "x"}))
        )
        .await
        .status,
        422
    );
    assert_eq!(
        t.get(&t.acc("/canned_responses?search=ajudar"))
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        t.get(&t.acc("/canned_responses?search=nothing"))
            .await
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let cid = canned["id"].as_i64().unwrap();
    t.admin(
        "PATCH",
        &t.acc(&format!("/canned_responses/{cid}")),
        Some(json!({"content": "Oi!"})),
    )
    .await
    .expect(200);
    assert_eq!(
        t.call(
            "DELETE",
            &t.acc(&format!("/canned_responses/{cid}")),
            Some(&agent),
            None
        )
        .await
        .status,
        403
    );
    t.admin("DELETE", &t.acc(&format!("/canned_responses/{cid}")), None)
        .await
        .expect(200);

    let attr = t
        .post(&t.acc("/custom_attribute_definitions"), json!({"attribute_display_name": "Plano", "attribute_key": "plan", "attribute_model": 1, "attribute_display_type": "list", "attribute_values": ["free", "pro"]}))
        .await;
    assert_eq!(attr["attribute_model"], "contact_attribute");
    assert_eq!(attr["attribute_values"], json!(["free", "pro"]));
    let aid = attr["id"].as_i64().unwrap();
    assert_eq!(
        t.get(&t.acc("/custom_attribute_definitions?attribute_model=contact_attribute"))
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        t.get(&t.acc("/custom_attribute_definitions?attribute_model=conversation_attribute"))
            .await
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        t.admin(
            "PATCH",
            &t.acc(&format!("/custom_attribute_definitions/{aid}")),
            Some(json!({"attribute_display_name": "Plan"}))
        )
        .await
        .expect(200)["attribute_display_name"],
        "Plan"
    );
    for bad in [
        json!({"attribute_display_name": "X", "attribute_key": "Bad Key", "attribute_model": "contact_attribute"}),
        json!({"attribute_display_name": "X", "attribute_key": "ok", "attribute_model": "order_attribute"}),
        json!({"attribute_display_name": "X", "attribute_key": "ok2", "attribute_model": "contact_attribute", "attribute_display_type": "color"}),
        json!({"attribute_display_name": "X", "attribute_key": "plan", "attribute_model": "contact_attribute"}),
    ] {
        assert_eq!(
            t.admin(
                "POST",
                &t.acc("/custom_attribute_definitions"),
                Some(bad.clone())
            )
            .await
            .status,
            422,
            "{bad}"
        );
    }
    t.admin(
        "DELETE",
        &t.acc(&format!("/custom_attribute_definitions/{aid}")),
        None,
    )
    .await
    .expect(200);
    assert_eq!(
        t.admin(
            "GET",
            &t.acc(&format!("/custom_attribute_definitions/{aid}")),
            None
        )
        .await
        .status,
        404
    );
}

async fn agent_bots_have_their_own_tokens(b: Backend) {
    let t = TestApp::start(b).await;
    let bot = t
        .post(
            &t.acc("/agent_bots"),
            json!({"name": "Triage bot", "outgoing_url": "https://bot.example/hook"}),
        )
        .await;
    let token = bot["access_token"].as_str().unwrap().to_owned();
    let inbox = t.api_inbox("App", None).await;
    let th = crate::thread(&t, &inbox, "hello bot").await;
    let reply = t
        .call(
            "POST",
            &t.acc(&format!("/conversations/{}/messages", th.conversation_id)),
            Some(&token),
            Some(json!({"content": "I am a bot"})),
        )
        .await
        .expect(200);
    assert_eq!(reply["sender_type"], "AgentBot");
    assert_eq!(reply["sender"]["type"], "agent_bot");
    // A bot reply is not a human first reply.
    assert!(
        t.get(&t.acc(&format!("/conversations/{}", th.conversation_id)))
            .await
            .get("first_reply_created_at")
            .is_none()
    );
    // Bots are not administrators and have no profile.
    assert_eq!(
        t.call("GET", &t.acc("/webhooks"), Some(&token), None)
            .await
            .status,
        403
    );
    assert_eq!(
        t.call("GET", "/api/v1/profile", Some(&token), None)
            .await
            .status,
        403
    );
    assert_eq!(
        t.get(&t.acc(&format!("/agent_bots/{}", bot["id"]))).await["name"],
        "Triage bot"
    );
    assert_eq!(
        t.get(&t.acc("/agent_bots")).await.as_array().unwrap().len(),
        1
    );
    t.admin(
        "DELETE",
        &t.acc(&format!("/agent_bots/{}", bot["id"])),
        None,
    )
    .await
    .expect(200);
    assert_eq!(
        t.call("GET", &t.acc("/conversations"), Some(&token), None)
            .await
            .status,
        401,
        "its token died with it"
    );
}
