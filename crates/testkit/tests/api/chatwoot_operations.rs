//! Chatwoot operations of features Throughline already had (issue #17): the inbox's agent bot,
//! the Platform API's agent bots and sign-in links, and saved filters — in Chatwoot's shapes.

use serde_json::{Value, json};
use throughline_testkit::{Backend, TestApp, on_both_databases};

use crate::platform::platform_token;

on_both_databases!(
    an_inbox_has_the_agent_bot_an_administrator_sets,
    platform_apps_manage_the_agent_bots_they_created,
    a_sign_in_link_signs_its_user_in_once,
    custom_filters_are_each_users_own,
);

async fn an_inbox_has_the_agent_bot_an_administrator_sets(b: Backend) {
    let t = TestApp::start(b).await;
    let inbox = t.api_inbox("Support", None).await;
    let iid = inbox["id"].clone();
    let get_path = t.acc(&format!("/inboxes/{iid}/agent_bot"));
    let set_path = t.acc(&format!("/inboxes/{iid}/set_agent_bot"));
    // None yet: Chatwoot renders `{}`.
    assert_eq!(t.get(&get_path).await, json!({}));

    let bot = t
        .post(
            &t.acc("/agent_bots"),
            json!({"name": "Triage", "outgoing_url": "http://127.0.0.1:9/bot"}),
        )
        .await;
    let other = t
        .post(&t.acc("/agent_bots"), json!({"name": "Night shift"}))
        .await;
    t.admin("POST", &set_path, Some(json!({"agent_bot": bot["id"]})))
        .await
        .expect(200);
    let shown = t.get(&get_path).await;
    assert_eq!(shown["agent_bot"]["id"], bot["id"]);
    assert_eq!(shown["agent_bot"]["name"], "Triage");
    assert_eq!(shown["agent_bot"]["outgoing_url"], "http://127.0.0.1:9/bot");
    assert_eq!(shown["agent_bot"]["bot_type"], "webhook");
    assert_eq!(shown["agent_bot"]["access_token"], bot["access_token"]);
    // The bot's signing secret (Chatwoot 4.13's, apart from its access token), stable.
    let secret = bot["secret"].as_str().unwrap();
    assert_eq!(shown["agent_bot"]["secret"], secret);
    assert_ne!(bot["secret"], bot["access_token"]);
    assert_eq!(
        t.get(&t.acc(&format!("/agent_bots/{}", bot["id"]))).await["secret"],
        secret
    );

    // An agent of the inbox sees which bot, not its credentials, and may not change it.
    let (agent_id, agent) = t.agent("olga@acme.test", "agent").await;
    t.post(
        &t.acc("/inbox_members"),
        json!({"inbox_id": iid, "user_ids": [agent_id]}),
    )
    .await;
    let seen = t
        .call("GET", &get_path, Some(&agent), None)
        .await
        .expect(200);
    assert_eq!(seen["agent_bot"]["id"], bot["id"]);
    assert!(seen["agent_bot"].get("access_token").is_none());
    assert!(seen["agent_bot"].get("secret").is_none());
    t.call(
        "POST",
        &set_path,
        Some(&agent),
        Some(json!({"agent_bot": other["id"]})),
    )
    .await
    .expect(403);
    // An agent outside the inbox does not find it.
    let (_, outsider) = t.agent("outsider@acme.test", "agent").await;
    t.call("GET", &get_path, Some(&outsider), None)
        .await
        .expect(404);

    // Another bot replaces it; unknown bots and nonsense are refused and change nothing.
    t.admin("POST", &set_path, Some(json!({"agent_bot": other["id"]})))
        .await
        .expect(200);
    assert_eq!(t.get(&get_path).await["agent_bot"]["id"], other["id"]);
    t.admin("POST", &set_path, Some(json!({"agent_bot": 999_999})))
        .await
        .expect(404);
    t.admin("POST", &set_path, Some(json!({"agent_bot": "triage"})))
        .await
        .expect(422);
    t.admin("POST", &set_path, Some(json!({"agent_bot": {"id": 1}})))
        .await
        .expect(422);
    assert_eq!(t.get(&get_path).await["agent_bot"]["id"], other["id"]);
    t.admin(
        "POST",
        &t.acc("/inboxes/999999/set_agent_bot"),
        Some(json!({"agent_bot": bot["id"]})),
    )
    .await
    .expect(404);

    // The audit log records the change on the inbox.
    let log = t.get(&t.acc("/audit_logs?per_page=100")).await;
    let entry = log["audit_logs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| {
            e["auditable_type"] == "Inbox"
                && e["audited_changes"]["agent_bot_id"] == json!([bot["id"], other["id"]])
        })
        .cloned();
    assert!(entry.is_some(), "{log}");

    // `null` disconnects; deleting a connected bot disconnects it too.
    t.admin("POST", &set_path, Some(json!({"agent_bot": null})))
        .await
        .expect(200);
    assert_eq!(t.get(&get_path).await, json!({}));
    t.admin("POST", &set_path, Some(json!({"agent_bot": bot["id"]})))
        .await
        .expect(200);
    t.admin(
        "DELETE",
        &t.acc(&format!("/agent_bots/{}", bot["id"])),
        None,
    )
    .await
    .expect(200);
    assert_eq!(t.get(&get_path).await, json!({}));
}

async fn platform_apps_manage_the_agent_bots_they_created(b: Backend) {
    let t = TestApp::start(b).await;
    let app = platform_token(&t, "bot-maker").await;
    let other_app = platform_token(&t, "someone-else").await;
    let call = |token: &str, m: &'static str, path: String, body: Option<Value>| {
        let (t, token) = (&t, token.to_owned());
        async move { t.call(m, &path, Some(&token), body).await }
    };
    let account = call(
        &app,
        "POST",
        "/platform/api/v1/accounts".into(),
        Some(json!({"name": "Bots R Us"})),
    )
    .await
    .expect(200);
    let aid = account["id"].as_i64().unwrap();

    let bot = call(
        &app,
        "POST",
        "/platform/api/v1/agent_bots".into(),
        Some(json!({"name": "Concierge", "description": "answers first", "outgoing_url": "http://127.0.0.1:9/concierge", "account_id": aid})),
    )
    .await
    .expect(200);
    let bid = bot["id"].as_i64().unwrap();
    assert_eq!(bot["name"], "Concierge");
    assert_eq!(bot["description"], "answers first");
    assert_eq!(bot["outgoing_url"], "http://127.0.0.1:9/concierge");
    assert_eq!(bot["account_id"], aid);
    assert_eq!(bot["system_bot"], false);
    let bot_token = bot["access_token"].as_str().unwrap().to_owned();
    assert!(bot["secret"].is_string());
    // The bot's token works in its account, and only there.
    t.call(
        "GET",
        &format!("/api/v1/accounts/{aid}/conversations"),
        Some(&bot_token),
        None,
    )
    .await
    .expect(200);
    t.call("GET", &t.acc("/conversations"), Some(&bot_token), None)
        .await
        .expect(403);

    let list = call(&app, "GET", "/platform/api/v1/agent_bots".into(), None)
        .await
        .expect(200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], bid);
    let shown = call(
        &app,
        "GET",
        format!("/platform/api/v1/agent_bots/{bid}"),
        None,
    )
    .await
    .expect(200);
    assert_eq!(shown["access_token"], bot_token.as_str());
    let renamed = call(
        &app,
        "PATCH",
        format!("/platform/api/v1/agent_bots/{bid}"),
        Some(json!({"name": "Concierge 2", "description": null})),
    )
    .await
    .expect(200);
    assert_eq!(renamed["name"], "Concierge 2");
    assert!(renamed.get("description").is_none());
    assert_eq!(renamed["account_id"], aid);

    // An account the app did not create is not the app's to give a bot.
    call(
        &app,
        "POST",
        "/platform/api/v1/agent_bots".into(),
        Some(json!({"name": "Intruder", "account_id": t.account_id})),
    )
    .await
    .expect(422);
    call(
        &app,
        "PATCH",
        format!("/platform/api/v1/agent_bots/{bid}"),
        Some(json!({"account_id": t.account_id})),
    )
    .await
    .expect(422);
    call(
        &app,
        "POST",
        "/platform/api/v1/agent_bots".into(),
        Some(json!({"name": "  "})),
    )
    .await
    .expect(422);

    // Another app sees none of it.
    let theirs = call(
        &other_app,
        "GET",
        "/platform/api/v1/agent_bots".into(),
        None,
    )
    .await
    .expect(200);
    assert_eq!(theirs, json!([]));
    for (m, body) in [
        ("GET", None),
        ("PATCH", Some(json!({"name": "hijacked"}))),
        ("DELETE", None),
    ] {
        call(
            &other_app,
            m,
            format!("/platform/api/v1/agent_bots/{bid}"),
            body,
        )
        .await
        .expect(404);
    }

    // A system bot (no account) is one every account may connect to an inbox.
    let system = call(
        &app,
        "POST",
        "/platform/api/v1/agent_bots".into(),
        Some(json!({"name": "Everyone's bot"})),
    )
    .await
    .expect(200);
    assert_eq!(system["system_bot"], true);
    assert!(system.get("account_id").is_none());
    let inbox = t.api_inbox("Front desk", None).await;
    t.admin(
        "POST",
        &t.acc(&format!("/inboxes/{}/set_agent_bot", inbox["id"])),
        Some(json!({"agent_bot": system["id"]})),
    )
    .await
    .expect(200);
    assert_eq!(
        t.get(&t.acc(&format!("/inboxes/{}/agent_bot", inbox["id"])))
            .await["agent_bot"]["system_bot"],
        true
    );
    // The account's own bot cannot be connected elsewhere.
    t.admin(
        "POST",
        &t.acc(&format!("/inboxes/{}/set_agent_bot", inbox["id"])),
        Some(json!({"agent_bot": bid})),
    )
    .await
    .expect(404);

    call(
        &app,
        "DELETE",
        format!("/platform/api/v1/agent_bots/{bid}"),
        None,
    )
    .await
    .expect(200);
    call(
        &app,
        "GET",
        format!("/platform/api/v1/agent_bots/{bid}"),
        None,
    )
    .await
    .expect(404);
    t.call(
        "GET",
        &format!("/api/v1/accounts/{aid}/conversations"),
        Some(&bot_token),
        None,
    )
    .await
    .expect(401);
}

/// The query parameters of a link.
fn query_of(url: &str) -> Vec<(String, String)> {
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
    serde_html_form::from_str(query).unwrap()
}

async fn a_sign_in_link_signs_its_user_in_once(b: Backend) {
    let t = TestApp::start(b).await;
    let app = platform_token(&t, "portal").await;
    let new_user = |email: &'static str| {
        let (t, app) = (&t, app.clone());
        async move {
            t.call(
                "POST",
                "/platform/api/v1/users",
                Some(&app),
                Some(json!({"name": email, "email": email})),
            )
            .await
            .expect(200)
        }
    };
    let user = new_user("marta+portal@lojanova.example").await;
    let other = new_user("rui@lojanova.example").await;
    let uid = user["id"].as_i64().unwrap();
    let link = |id: i64| {
        let (t, app) = (&t, app.clone());
        async move {
            let answer = t
                .call(
                    "GET",
                    &format!("/platform/api/v1/users/{id}/login"),
                    Some(&app),
                    None,
                )
                .await
                .expect(200);
            answer["url"].as_str().unwrap().to_owned()
        }
    };

    // Chatwoot's link: the web app's /app/login with the email and the token.
    let url = link(uid).await;
    assert!(url.starts_with(&format!("{}/app/login?", t.base)), "{url}");
    let q = query_of(&url);
    let email = q.iter().find(|(k, _)| k == "email").unwrap().1.clone();
    let token = q
        .iter()
        .find(|(k, _)| k == "sso_auth_token")
        .unwrap()
        .1
        .clone();
    assert_eq!(email, "marta+portal@lojanova.example");
    // The web app serves the page the link opens.
    assert_eq!(t.raw_get(url.strip_prefix(&t.base).unwrap()).await.0, 200);

    // Another user's email, a changed token, or no email: refused, and the link still works.
    let sign_in = |body: Value| {
        let t = &t;
        async move { t.call("POST", "/auth/sign_in", None, Some(body)).await }
    };
    sign_in(json!({"email": other["email"], "sso_auth_token": token}))
        .await
        .expect(401);
    let mut forged = token.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == '0' { '1' } else { '0' });
    sign_in(json!({"email": email, "sso_auth_token": forged}))
        .await
        .expect(401);
    sign_in(json!({"sso_auth_token": token})).await.expect(422);

    let signed = sign_in(json!({"email": email, "sso_auth_token": token})).await;
    assert_eq!(signed.status, 200, "{}", signed.body);
    assert_eq!(signed.body["data"]["id"], uid);
    assert!(signed.body["data"]["access_token"].is_string());
    let cookie = signed.headers["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    // Once only.
    sign_in(json!({"email": email, "sso_auth_token": token}))
        .await
        .expect(401);

    // A link nobody opened in time does not sign in.
    let late = link(uid).await;
    let late_token = query_of(&late)
        .into_iter()
        .find(|(k, _)| k == "sso_auth_token")
        .unwrap()
        .1;
    let mut tx = t.app.store.begin().await.unwrap();
    sqlx::query("UPDATE sso_tokens SET expires_at = 0")
        .execute(tx.conn())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    sign_in(json!({"email": email, "sso_auth_token": late_token}))
        .await
        .expect(401);

    // Another app's users are not this app's to sign in; nor is a user it did not create.
    let other_app = platform_token(&t, "someone-else").await;
    t.call(
        "GET",
        &format!("/platform/api/v1/users/{uid}/login"),
        Some(&other_app),
        None,
    )
    .await
    .expect(404);
    let admin_id = t.get("/api/v1/profile").await["id"].as_i64().unwrap();
    t.call(
        "GET",
        &format!("/platform/api/v1/users/{admin_id}/login"),
        Some(&app),
        None,
    )
    .await
    .expect(404);
}

async fn custom_filters_are_each_users_own(b: Backend) {
    let t = TestApp::start(b).await;
    let path = t.acc("/custom_filters");
    let query = json!({"payload": [{"attribute_key": "status", "filter_operator": "equal_to", "values": ["open"], "query_operator": null}]});
    // A bare body, as Chatwoot's clients send it (Rails wraps it in `custom_filter`)…
    let open = t
        .post(
            &path,
            json!({"name": "Open ones", "filter_type": "conversation", "query": query}),
        )
        .await;
    assert_eq!(open["name"], "Open ones");
    assert_eq!(open["filter_type"], "conversation");
    assert_eq!(open["query"], query);
    assert!(open["created_at"].as_str().unwrap().ends_with('Z'));
    // …and the wrapped one.
    let vips = t
        .post(
            &path,
            json!({"custom_filter": {"name": "VIPs", "filter_type": "contact", "query": {"payload": []}}}),
        )
        .await;
    assert_eq!(vips["filter_type"], "contact");
    // Without a type: a conversation filter, as in Chatwoot.
    let plain = t.post(&path, json!({"name": "Plain", "query": {}})).await;
    assert_eq!(plain["filter_type"], "conversation");

    let names = |list: &Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&t.get(&path).await), ["Open ones", "Plain"]);
    assert_eq!(
        names(&t.get(&format!("{path}?filter_type=contact")).await),
        ["VIPs"]
    );
    assert_eq!(
        names(&t.get(&format!("{path}?filter_type=report")).await),
        Vec::<String>::new()
    );
    t.admin("GET", &format!("{path}?filter_type=inbox"), None)
        .await
        .expect(422);

    let one = format!("{path}/{}", open["id"]);
    assert_eq!(t.get(&one).await["name"], "Open ones");
    let changed = t
        .admin(
            "PATCH",
            &one,
            Some(json!({"custom_filter": {"name": "Still open", "query": {"payload": []}}})),
        )
        .await
        .expect(200);
    assert_eq!(changed["name"], "Still open");
    assert_eq!(changed["query"], json!({"payload": []}));
    assert_eq!(changed["filter_type"], "conversation");

    // Bad input: 422 naming the field, nothing saved.
    for body in [
        json!({"name": "", "query": {}}),
        json!({"name": "No query"}),
        json!({"name": "List query", "query": []}),
        json!({"name": "Odd type", "filter_type": "inbox", "query": {}}),
    ] {
        let got = t.admin("POST", &path, Some(body.clone())).await;
        assert_eq!(got.status, 422, "{body}: {}", got.body);
    }
    t.admin("PATCH", &one, Some(json!({"query": "status:open"})))
        .await
        .expect(422);

    // Another member — even an administrator — neither sees nor touches them.
    let (_, agent) = t.agent("olga@acme.test", "agent").await;
    let (_, other_admin) = t.agent("boss@acme.test", "administrator").await;
    for token in [&agent, &other_admin] {
        let theirs = t.call("GET", &path, Some(token), None).await.expect(200);
        assert_eq!(theirs, json!([]));
        t.call("GET", &one, Some(token), None).await.expect(404);
        t.call(
            "PATCH",
            &one,
            Some(token),
            Some(json!({"name": "mine now"})),
        )
        .await
        .expect(404);
        t.call("DELETE", &one, Some(token), None).await.expect(404);
    }
    let agents_own = t
        .call(
            "POST",
            &path,
            Some(&agent),
            Some(json!({"name": "Mine", "query": {}})),
        )
        .await
        .expect(200);
    assert_eq!(names(&t.get(&path).await), ["Still open", "Plain"]);
    t.admin("GET", &format!("{path}/{}", agents_own["id"]), None)
        .await
        .expect(404);
    // Agent bots keep no filters.
    let bot = t.post(&t.acc("/agent_bots"), json!({"name": "B"})).await;
    t.call(
        "GET",
        &path,
        Some(bot["access_token"].as_str().unwrap()),
        None,
    )
    .await
    .expect(403);

    // Fifty per user and account.
    for n in 3..50 {
        t.post(&path, json!({"name": format!("F{n}"), "query": {}}))
            .await;
    }
    let over = t
        .admin("POST", &path, Some(json!({"name": "F50", "query": {}})))
        .await;
    assert_eq!(over.status, 422, "{}", over.body);
    t.call(
        "POST",
        &path,
        Some(&agent),
        Some(json!({"name": "Agent's second", "query": {}})),
    )
    .await
    .expect(200);

    t.admin("DELETE", &one, None).await.expect(204);
    t.admin("GET", &one, None).await.expect(404);
    t.admin("DELETE", &one, None).await.expect(404);
}
