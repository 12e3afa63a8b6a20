//! Tenant isolation, generated from the served route list (`/api/openapi.json` is built from
//! the same registrations as the router, so a new route cannot be missed): account A's
//! administrator attacks account B through every route and gets 403/404; B is unchanged.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use throughline_testkit::{Backend, TestApp, on_both_databases};

use crate::platform::{platform_token, second_account};
use crate::thread;

on_both_databases!(every_route_refuses_another_accounts_data);

/// The objects of one account, by path parameter name.
#[derive(Debug, Clone)]
pub(crate) struct Tenant {
    pub(crate) account_id: i64,
    pub(crate) token: String,
    pub(crate) ids: BTreeMap<&'static str, Value>,
}

pub(crate) async fn seed(t: &TestApp, account_id: i64, token: &str, tag: &str) -> Tenant {
    let call = |m: &'static str, p: String, body: Value| {
        let token = token.to_owned();
        async move { t.call(m, &p, Some(&token), Some(body)).await.expect(200) }
    };
    let acc = |rest: &str| format!("/api/v1/accounts/{account_id}{rest}");
    let inbox = call(
        "POST",
        acc("/inboxes"),
        json!({"name": format!("{tag}-inbox"), "channel": {"type": "api"}}),
    )
    .await;
    let th = thread(t, &inbox, &format!("{tag} secret message")).await;
    let other_visitor = thread(t, &inbox, &format!("{tag} another visitor")).await;
    let contact_id = th.contact_id;
    let agent = call("POST", acc("/agents"), json!({"name": format!("{tag} agent"), "email": format!("agent@{tag}.test"), "role": "agent"})).await;
    let team = call(
        "POST",
        acc("/teams"),
        json!({"name": format!("{tag}-team")}),
    )
    .await;
    let label = call(
        "POST",
        acc("/labels"),
        json!({"title": format!("{tag}-label")}),
    )
    .await;
    let canned = call(
        "POST",
        acc("/canned_responses"),
        json!({"short_code": format!("{tag}-code"), "content": "x"}),
    )
    .await;
    let attr = call("POST", acc("/custom_attribute_definitions"), json!({"attribute_display_name": "A", "attribute_key": format!("{tag}_attr"), "attribute_model": "contact_attribute"})).await;
    let hook = call(
        "POST",
        acc("/webhooks"),
        json!({"url": "http://127.0.0.1:9/hook", "subscriptions": ["contact_created"]}),
    )
    .await;
    let bot = call(
        "POST",
        acc("/agent_bots"),
        json!({"name": format!("{tag} bot")}),
    )
    .await;
    call(
        "POST",
        acc(&format!("/inboxes/{}/set_agent_bot", inbox["id"])),
        json!({"agent_bot": bot["id"]}),
    )
    .await;
    let custom_filter = call(
        "POST",
        acc("/custom_filters"),
        json!({"name": format!("{tag} filter"), "query": {"payload": []}}),
    )
    .await;
    let automation_rule = call(
        "POST",
        acc("/automation_rules"),
        // Inactive: acting on the tenant's own messages during the walk would change the
        // snapshot that proves the attacks changed nothing.
        json!({"name": format!("{tag} rule"), "event_name": "message_created", "active": false,
               "conditions": [], "actions": [{"action_name": "add_label", "action_params": ["x"]}]}),
    )
    .await;
    let global_macro = call(
        "POST",
        acc("/macros"),
        json!({"name": format!("{tag} macro"), "visibility": "global",
               "actions": [{"action_name": "add_label", "action_params": ["x"]}]}),
    )
    .await;
    let sla_policy = call(
        "POST",
        acc("/sla_policies"),
        json!({"name": format!("{tag} SLA"), "first_response_time_threshold": 3600}),
    )
    .await;
    let campaign = call(
        "POST",
        acc("/journey_campaigns"),
        // Inactive, like the rule: the walk must not schedule anything in the tenant.
        json!({"name": format!("{tag} campaign"), "active": false,
               "trigger_event_type": "order_delivered", "kind": "survey"}),
    )
    .await;
    let note = call(
        "POST",
        acc(&format!("/contacts/{contact_id}/notes")),
        json!({"content": "private note"}),
    )
    .await;
    let message = call(
        "POST",
        acc(&format!("/conversations/{}/messages", th.conversation_id)),
        json!({"content": "reply"}),
    )
    .await;
    // An unverified visitor typing a known email makes a merge suggestion.
    call(
        "POST",
        acc("/contacts"),
        json!({"name": "Known", "email": format!("known@{tag}.test")}),
    )
    .await;
    let ident = inbox["inbox_identifier"].as_str().unwrap_or_default();
    // The administrator follows the conversation; the customer writes again: a notification.
    let me = t
        .call("GET", "/api/v1/profile", Some(token), None)
        .await
        .expect(200);
    call(
        "POST",
        acc(&format!(
            "/conversations/{}/participants",
            th.conversation_id
        )),
        json!({"user_ids": [me["id"]]}),
    )
    .await;
    t.call(
        "POST",
        &format!(
            "/public/api/v1/inboxes/{ident}/contacts/{}/conversations/{}/messages",
            th.source_id, th.conversation_id
        ),
        None,
        Some(json!({"content": format!("{tag} anyone there?")})),
    )
    .await
    .expect(200);
    let notification = t
        .eventually(
            std::time::Duration::from_secs(10),
            "the administrator's notification",
            || async {
                let list = t
                    .call("GET", &acc("/notifications"), Some(token), None)
                    .await
                    .expect(200);
                let id = list["data"]["payload"][0]["id"].clone();
                (!id.is_null()).then_some(id)
            },
        )
        .await;
    t.call(
        "POST",
        &format!("/public/api/v1/inboxes/{ident}/contacts"),
        None,
        Some(json!({"email": format!("known@{tag}.test")})),
    )
    .await
    .expect(200);
    let suggestions = t
        .call("GET", &acc("/merge_suggestions"), Some(token), None)
        .await
        .expect(200);
    assert!(suggestions["payload"][0]["id"].is_i64(), "{suggestions}");
    // A help center with a published article, and a draft that must never be public.
    let portal_slug = format!("{tag}-hc");
    call(
        "POST",
        acc("/portals"),
        json!({"name": format!("{tag} help"), "slug": portal_slug}),
    )
    .await;
    let hc_category = call(
        "POST",
        acc(&format!("/portals/{portal_slug}/categories")),
        json!({"name": format!("{tag} basics")}),
    )
    .await;
    call(
        "POST",
        acc(&format!("/portals/{portal_slug}/articles")),
        json!({"title": format!("{tag} public"), "content": "public", "status": "published",
               "category_id": hc_category["payload"]["id"]}),
    )
    .await;
    let draft = call(
        "POST",
        acc(&format!("/portals/{portal_slug}/articles")),
        json!({"title": format!("{tag} draft"), "content": format!("{tag} secret draft")}),
    )
    .await;
    // The AI assistant (Chatwoot's openai hook); the model is never reached in this test.
    let ai_hook = call(
        "POST",
        acc("/integrations/hooks"),
        json!({"app_id": "openai", "settings": {"base_url": "https://models.example.test/v1",
               "api_key": format!("{tag}-model-key")}}),
    )
    .await;
    // An image uploaded for the help center, the portal's logo.
    let upload = crate::uploads::upload_as(
        t,
        account_id,
        token,
        "attachment",
        crate::uploads::png([9, 9, 9, 255]),
        &format!("{tag}-logo.png"),
        "image/png",
    )
    .await
    .expect(200);
    call(
        "PATCH",
        acc(&format!("/portals/{portal_slug}")),
        json!({"blob_id": upload["blob_id"]}),
    )
    .await;
    // A phone line (a Twilio number of its own) and a customer waiting for its call back.
    static LINES: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let line = LINES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    call(
        "POST",
        acc("/channels/twilio_channel"),
        json!({"twilio_channel": {"name": format!("{tag} phone"),
            "account_sid": crate::messaging::twilio::ACCOUNT_SID, "auth_token": "secret-token",
            "phone_number": format!("+1415523{:04}", 1000 + line), "medium": "sms"}}),
    )
    .await;
    let callback = call(
        "POST",
        acc("/callback_requests"),
        json!({"phone_number": "+5511987654321", "note": format!("{tag} wants a call")}),
    )
    .await;
    // A call from its website's widget that nobody took.
    let site = call(
        "POST",
        acc("/inboxes"),
        json!({"name": format!("{tag} site"), "channel": {"type": "web_widget",
            "website_url": "https://site.example", "web_calls": {"enabled": true}}}),
    )
    .await;
    let site_path = format!(
        "/public/api/v1/inboxes/{}/contacts",
        site["inbox_identifier"].as_str().unwrap_or_default()
    );
    let caller = t
        .call("POST", &site_path, None, Some(json!({})))
        .await
        .expect(200);
    let caller_path = format!(
        "{site_path}/{}",
        caller["source_id"].as_str().unwrap_or_default()
    );
    let caller_conversation = t
        .call(
            "POST",
            &format!("{caller_path}/conversations"),
            None,
            Some(json!({})),
        )
        .await
        .expect(200);
    let web_call = t
        .call(
            "POST",
            &format!("{caller_path}/calls"),
            None,
            Some(json!({"conversation_id": caller_conversation["id"]})),
        )
        .await
        .expect(200);
    let mut ids = BTreeMap::new();
    ids.insert("call_id", web_call["call"]["id"].clone());
    ids.insert("callback_request_id", callback["id"].clone());
    ids.insert("upload_id", upload["blob_id"].clone());
    ids.insert("upload_url", upload["file_url"].clone());
    ids.insert("hook_id", ai_hook["id"].clone());
    ids.insert("portal_slug", json!(portal_slug));
    ids.insert("hc_category_id", hc_category["payload"]["id"].clone());
    ids.insert("category_slug", hc_category["payload"]["slug"].clone());
    ids.insert("article_id", draft["payload"]["id"].clone());
    ids.insert("article_slug", draft["payload"]["slug"].clone());
    ids.insert("suggestion_id", suggestions["payload"][0]["id"].clone());
    ids.insert("account_id", json!(account_id));
    ids.insert("inbox_id", inbox["id"].clone());
    ids.insert("inbox_identifier", inbox["inbox_identifier"].clone());
    ids.insert("contact_identifier", json!(th.source_id));
    ids.insert("contact_id", json!(contact_id));
    ids.insert("conversation_id", json!(th.conversation_id));
    ids.insert(
        "other_conversation_id",
        json!(other_visitor.conversation_id),
    );
    ids.insert("message_id", message["id"].clone());
    ids.insert("agent_id", agent["id"].clone());
    ids.insert("team_id", team["id"].clone());
    ids.insert("label_id", label["id"].clone());
    ids.insert("canned_id", canned["id"].clone());
    ids.insert("attribute_id", attr["id"].clone());
    ids.insert("webhook_id", hook["id"].clone());
    ids.insert("bot_id", bot["id"].clone());
    ids.insert("custom_filter_id", custom_filter["id"].clone());
    ids.insert("note_id", note["id"].clone());
    ids.insert("automation_rule_id", automation_rule["id"].clone());
    ids.insert("macro_id", global_macro["payload"]["id"].clone());
    ids.insert("sla_policy_id", sla_policy["payload"]["id"].clone());
    ids.insert("journey_campaign_id", campaign["payload"]["id"].clone());
    ids.insert("notification_id", notification);
    let conversation = t
        .call(
            "GET",
            &acc(&format!("/conversations/{}", th.conversation_id)),
            Some(token),
            None,
        )
        .await
        .expect(200);
    ids.insert("conversation_uuid", conversation["uuid"].clone());
    Tenant {
        account_id,
        token: token.to_owned(),
        ids,
    }
}

/// The id a path parameter stands for, from the route's shape.
fn param_value(template: &str, name: &str, owner: &Tenant) -> String {
    let id = |k: &str| owner.ids[k].to_string().trim_matches('"').to_owned();
    match name {
        "account_id" => owner.account_id.to_string(),
        "conversation_id" => id("conversation_id"),
        "call_id" => id("call_id"),
        "message_id" => id("message_id"),
        "team_id" => id("team_id"),
        "webhook_id" => id("webhook_id"),
        "inbox_id" => id("inbox_id"),
        "note_id" => id("note_id"),
        "custom_filter_id" => id("custom_filter_id"),
        "automation_rule_id" => id("automation_rule_id"),
        "inbox_identifier" => id("inbox_identifier"),
        "conversation_uuid" => id("conversation_uuid"),
        "contact_identifier" => id("contact_identifier"),
        "portal_slug" => id("portal_slug"),
        "hook_id" => id("hook_id"),
        "category_slug" => id("category_slug"),
        "article_slug" => id("article_slug"),
        "locale" => "en".into(),
        // A Twilio number's voice webhooks (`/twilio/voice/…/{phone}`): no account's number.
        "phone" => "14155550000".into(),
        // `/uploads/{id}/{token}/{file_name}`: the upload's own URL.
        "token" | "file_name" => {
            let url = id("upload_url");
            let mut back = url.rsplit('/');
            let file_name = back.next().unwrap_or_default().to_owned();
            let token = back.next().unwrap_or_default().to_owned();
            if name == "token" { token } else { file_name }
        }
        "delivery_id" => "00000000-0000-0000-0000-000000000000".into(),
        // Any export id: the contact in the same path is what crosses accounts.
        "export_id" => "1".into(),
        "id" => {
            let before = template.split("/{id}").next().unwrap_or_default();
            match before.rsplit('/').next().unwrap_or_default() {
                "contacts" => id("contact_id"),
                "inboxes" => id("inbox_id"),
                "agents" => id("agent_id"),
                "labels" => id("label_id"),
                "canned_responses" => id("canned_id"),
                "custom_attribute_definitions" => id("attribute_id"),
                "agent_bots" => id("bot_id"),
                "merge_suggestions" => id("suggestion_id"),
                "automation_rules" => id("automation_rule_id"),
                "macros" => id("macro_id"),
                "sla_policies" => id("sla_policy_id"),
                "journey_campaigns" => id("journey_campaign_id"),
                "notifications" => id("notification_id"),
                "categories" => id("hc_category_id"),
                "articles" => id("article_id"),
                "uploads" => id("upload_id"),
                "callback_requests" => id("callback_request_id"),
                other => panic!("no id for `{other}` in {template}: add it to this test"),
            }
        }
        other => panic!("unknown path parameter `{other}` in {template}: add it to this test"),
    }
}

pub(crate) fn fill(template: &str, owner: &Tenant, account_of: &Tenant) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').unwrap() + start;
        let name = &rest[start + 1..end];
        let who = if name == "account_id" {
            account_of
        } else {
            owner
        };
        out.push_str(&param_value(template, name, who));
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// A body that would be accepted on the target's own account, referring to the target's ids.
pub(crate) fn body_for(method: &str, template: &str, target: &Tenant) -> Option<Value> {
    let id = |k: &str| target.ids[k].clone();
    let tail = template.rsplit('/').next().unwrap_or_default();
    Some(match (method, tail) {
        ("GET", _) => return None,
        ("DELETE", _)
            if !template.ends_with("members")
                && !template.ends_with("account_users")
                && !template.ends_with("participants") =>
        {
            return None;
        }
        (_, "participants") => json!({"user_ids": [id("agent_id")]}),
        (_, "snooze") => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or_default();
            json!({"snoozed_until": now + 86_400})
        }
        (_, "read_all") => {
            json!({"primary_actor_type": "Conversation", "primary_actor_id": id("conversation_id")})
        }
        (_, "inbox_members") => json!({"inbox_id": id("inbox_id"), "user_ids": [id("agent_id")]}),
        (_, "team_members") => json!({"user_ids": [id("agent_id")]}),
        (_, "set_agent_bot") => json!({"agent_bot": id("bot_id")}),
        (_, "assignments") => json!({"assignee_id": id("agent_id")}),
        (_, "labels") => json!({"labels": ["x"]}),
        (_, "toggle_status") => json!({"status": "resolved"}),
        (_, "toggle_priority") => json!({"priority": "high"}),
        (_, "toggle_typing") => json!({"typing_status": "on"}),
        (_, "custom_attributes") => json!({"custom_attributes": {"k": "v"}}),
        (_, "contact_merge") => {
            json!({"base_contact_id": id("contact_id"), "mergee_contact_id": id("contact_id")})
        }
        (_, "contact_inboxes") => json!({"inbox_id": id("inbox_id")}),
        (_, "conversations") if method == "POST" => {
            json!({"inbox_id": id("inbox_id"), "contact_id": id("contact_id")})
        }
        (_, "messages") | (_, "{message_id}") => {
            json!({"content": "attack", "submitted_values": {}})
        }
        (_, "notes") | (_, "{note_id}") => json!({"content": "attack"}),
        // The widget's report that it was opened, or a contact's business event.
        (_, "events") if template.starts_with("/public/") => {
            json!({"name": "webwidget.triggered"})
        }
        (_, "events") => json!({"event_id": "attack-1", "type": "order_placed"}),
        (_, "execute") => json!({"conversation_ids": [id("conversation_id")]}),
        (_, "filter") => {
            json!({"payload": [{"attribute_key": "name", "filter_operator": "is_present", "values": []}]})
        }
        (_, "account_users") => json!({"user_id": id("agent_id"), "role": "agent"}),
        (_, "opt_outs") => json!({"channels": ["sms"]}),
        (_, "feedback") => json!({"helpful": "yes"}),
        (_, "process_event") => json!({"event": {"name": "summarize",
            "data": {"conversation_display_id": id("conversation_id")}}}),
        (_, "translate") => json!({"target_language": "pl"}),
        // A portal's logo must be an upload of the portal's own account.
        (_, "{portal_slug}") => json!({"name": "attack", "blob_id": id("upload_id")}),
        (_, "hooks") | (_, "{hook_id}") => {
            json!({"app_id": "openai", "status": 0, "settings": {"base_url": "https://attack.test/v1"}})
        }
        (_, "calls") if template.starts_with("/public/") => {
            json!({"conversation_id": id("conversation_id")})
        }
        (_, "calls") => json!({"callback_request_id": id("callback_request_id")}),
        (_, "callback_requests") => {
            json!({"conversation_id": id("conversation_id"), "phone_number": "+5511987654321"})
        }
        (_, "{id}") if template.contains("/callback_requests/") => json!({"status": "canceled"}),
        (_, "{call_id}") => json!({"disposition": "attack", "notes": "attack"}),
        (_, "reorder") => {
            let mut positions = serde_json::Map::new();
            positions.insert(id("article_id").to_string(), json!(1));
            json!({ "positions_hash": positions })
        }
        _ => {
            json!({"name": "attack", "title": "attack", "content": "attack", "short_code": "attack"})
        }
    })
}

/// What B looks like, to prove the attacks changed nothing.
async fn snapshot(t: &TestApp, b: &Tenant) -> Value {
    let get = |rest: String| {
        let token = b.token.clone();
        async move {
            t.call(
                "GET",
                &format!("/api/v1/accounts/{}{rest}", b.account_id),
                Some(&token),
                None,
            )
            .await
            .expect(200)
        }
    };
    let conv = b.ids["conversation_id"].clone();
    let contact = b.ids["contact_id"].clone();
    let mut messages = get(format!("/conversations/{conv}/messages")).await["payload"].clone();
    // Unread counts move when A's visitor-side probes are refused? They must not; keep them.
    if let Value::Array(list) = &mut messages {
        for m in list {
            m.as_object_mut().map(|o| o.remove("conversation"));
        }
    }
    json!({
        "account": get(String::new()).await,
        "agents": get("/agents".into()).await,
        "inboxes": get("/inboxes".into()).await,
        "contact": get(format!("/contacts/{contact}")).await,
        "notes": get(format!("/contacts/{contact}/notes")).await,
        "conversation_status": get(format!("/conversations/{conv}")).await["status"],
        "conversation_labels": get(format!("/conversations/{conv}/labels")).await,
        "messages": messages,
        "teams": get("/teams".into()).await,
        "labels": get("/labels".into()).await,
        "canned": get("/canned_responses".into()).await,
        "attributes": get("/custom_attribute_definitions".into()).await,
        "webhooks": get("/webhooks".into()).await,
        "bots": get("/agent_bots".into()).await,
        "inbox_bot": get(format!("/inboxes/{}/agent_bot", b.ids["inbox_id"])).await,
        "custom_filters": get("/custom_filters".into()).await,
        "automation_rules": get("/automation_rules".into()).await,
        "macros": get("/macros".into()).await,
        "sla_policies": get("/sla_policies".into()).await,
        "journey_campaigns": get("/journey_campaigns".into()).await,
        "opt_outs": get(format!("/contacts/{contact}/opt_outs")).await,
        "csat": get("/csat_survey_responses".into()).await,
        "notifications": get("/notifications".into()).await,
        "participants": get(format!("/conversations/{conv}/participants")).await,
        "portals": get("/portals".into()).await,
        "integrations": get("/integrations/apps".into()).await,
        "articles": get(format!("/portals/{}/articles", b.ids["portal_slug"].as_str().unwrap_or_default())).await,
        // Refused attacks leave nothing in B's audit log either.
        "audit_logs": get("/audit_logs?per_page=100".into()).await,
    })
}

async fn every_route_refuses_another_accounts_data(backend: Backend) {
    let t = TestApp::start(backend).await;
    let beta = second_account(&t, "Beta", "admin@beta.test").await;
    let b_id = beta.id;
    let a = seed(&t, t.account_id, &t.token, "alpha").await;
    let b = seed(&t, b_id, &beta.token, "beta").await;
    let before = snapshot(&t, &b).await;

    let other_app = platform_token(&t, "other-app").await;
    // A bot another platform app made, for the Platform API's `agent_bots/{id}`.
    let bot_app = platform_token(&t, "bot-app").await;
    let platform_bot = t
        .call(
            "POST",
            "/platform/api/v1/agent_bots",
            Some(&bot_app),
            Some(json!({"name": "platform bot", "account_id": null})),
        )
        .await
        .expect(200)["id"]
        .to_string();
    let spec = t
        .call("GET", "/api/openapi.json", None, None)
        .await
        .expect(200);
    let mut exercised = 0;
    for (template, item) in spec["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_none() {
                continue;
            }
            let m = method.to_uppercase();
            exercised += 1;
            if template.starts_with("/api/v1/accounts/{account_id}") {
                // B's account, A's token: not a member.
                let path = fill(template, &b, &b);
                let got = t
                    .call(&m, &path, Some(&a.token), body_for(&m, template, &b))
                    .await;
                assert_eq!(
                    got.status, 403,
                    "{m} {path} with another account's token: {}",
                    got.body
                );
                // A's own account with B's ids in the path: nothing found.
                let own = fill(template, &a, &a);
                let mixed = fill(template, &b, &a);
                if mixed != own {
                    let got = t
                        .call(&m, &mixed, Some(&a.token), body_for(&m, template, &a))
                        .await;
                    assert_eq!(
                        got.status, 404,
                        "{m} {mixed} (B's ids in A's account): {}",
                        got.body
                    );
                }
                // A's own path with B's ids in the body: refused as unknown references.
                if body_for(&m, template, &b) != body_for(&m, template, &a) {
                    let got = t
                        .call(&m, &own, Some(&a.token), body_for(&m, template, &b))
                        .await;
                    assert!(
                        [403, 404, 422].contains(&got.status),
                        "{m} {own} with B's ids in the body: {} {}",
                        got.status,
                        got.body
                    );
                }
            } else if template.starts_with("/public/api/v1/inboxes/{inbox_identifier}") {
                if !template.contains("{contact_identifier}") {
                    continue; // The inbox identifier is the credential; nothing to cross.
                }
                // A's inbox with B's contact, and B's conversation under A's visitor.
                let got = t
                    .call(
                        &m,
                        &fill(template, &b, &a).replace(
                            &param_value(template, "inbox_identifier", &b),
                            &param_value(template, "inbox_identifier", &a),
                        ),
                        None,
                        body_for(&m, template, &b),
                    )
                    .await;
                assert_eq!(
                    got.status, 404,
                    "{m} {template} with another inbox's contact: {}",
                    got.body
                );
                if template.contains("{conversation_id}") {
                    // A visitor reaching another visitor's conversation in the same inbox.
                    let own = param_value(template, "conversation_id", &a);
                    let other = a.ids["other_conversation_id"].to_string();
                    assert_ne!(own, other);
                    let path = fill(template, &a, &a).replacen(
                        &format!("/conversations/{own}"),
                        &format!("/conversations/{other}"),
                        1,
                    );
                    let got = t.call(&m, &path, None, body_for(&m, template, &a)).await;
                    assert_eq!(
                        got.status, 404,
                        "{m} {path}: another visitor's conversation: {}",
                        got.body
                    );
                }
            } else if template.starts_with("/platform/api/v1/") {
                if !template.contains('{') {
                    continue; // Creating is not crossing.
                }
                // Another app's token on objects this app did not create.
                let object = if template.starts_with("/platform/api/v1/agent_bots/") {
                    platform_bot.clone()
                } else {
                    beta.admin_id.to_string()
                };
                let path = template
                    .replace("{account_id}", &b_id.to_string())
                    .replace("{id}", &object);
                let got = t
                    .call(&m, &path, Some(&other_app), body_for(&m, template, &b))
                    .await;
                assert_eq!(
                    got.status, 404,
                    "{m} {path} from another platform app: {}",
                    got.body
                );
            } else if template.starts_with("/webhooks/inboxes/{inbox_identifier}") {
                // A provider's entry: no account token counts there, only the channel's own
                // proof (pipeline::provider_webhooks_… tests the signatures). A's token on
                // B's inbox, with a payload signed by nobody, stores nothing in B.
                let path = fill(template, &b, &b);
                let got = t
                    .call(
                        &m,
                        &path,
                        Some(&a.token),
                        Some(json!({"content": "forged"})),
                    )
                    .await;
                assert!(
                    [401, 404].contains(&got.status),
                    "{m} {path} unsigned with another account's token: {} {}",
                    got.status,
                    got.body
                );
            } else if [
                "/twilio/",
                "/webhooks/whatsapp/",
                "/webhooks/telegram/",
                "/bot",
                "/webhooks/instagram",
            ]
            .iter()
            .any(|p| template.starts_with(p))
            {
                // Chatwoot's provider paths name a number, bot or page, never an account: an
                // account token counts for nothing, only the provider's signature does
                // (providers.rs tests them). Unsigned, with A's token: nothing is stored.
                let path = template
                    .replace("{phone_number}", "15550001111")
                    .replace("{bot_token}", "123456:forged-token-forged-token");
                let got = t
                    .call(
                        &m,
                        &path,
                        Some(&a.token),
                        Some(json!({"content": "forged"})),
                    )
                    .await;
                assert!(
                    [401, 403, 404, 422].contains(&got.status),
                    "{m} {path} unsigned with an account's token: {} {}",
                    got.status,
                    got.body
                );
            } else if template.starts_with("/api/v1/profile/invitations/") {
                // Only the invited user finds an invitation (account_security proves it on a
                // real one); with A's token, an id A was never invited to is not found.
                let path = template.replace("{id}", &beta.admin_id.to_string());
                let got = t.call(&m, &path, Some(&a.token), None).await;
                assert_eq!(got.status, 404, "{m} {path}: {}", got.body);
            } else if template.contains("{conversation_uuid}") {
                // A survey is reached by its conversation's unguessable uuid and nothing else:
                // a made-up one, with an account token, finds nothing.
                let path = template.replace(
                    "{conversation_uuid}",
                    "00000000-0000-4000-8000-000000000000",
                );
                let got = t
                    .call(&m, &path, Some(&a.token), Some(json!({"message": {"submitted_values": {"csat_survey_response": {"rating": 1}}}})))
                    .await;
                assert!(
                    [404, 415].contains(&got.status),
                    "{m} {path}: {} {}",
                    got.status,
                    got.body
                );
            } else if template.starts_with("/hc/") {
                // Anyone reads a help center: what must hold is that B's draft is not among
                // it, whatever path or token asks, and that no answer changes it.
                let path = fill(template, &b, &b);
                let req = t
                    .client
                    .request(m.parse().unwrap(), t.url(&path))
                    .header("api_access_token", &a.token);
                let req = match body_for(&m, template, &b) {
                    Some(body) => req.json(&body),
                    None => req,
                };
                let resp = req.send().await.unwrap();
                let status = resp.status().as_u16();
                let text = resp.text().await.unwrap_or_default();
                assert!(
                    !text.contains("beta secret draft") && !text.contains("beta draft"),
                    "{m} {path} shows B's draft: {text}"
                );
                if template.contains("{article_slug}") {
                    assert_eq!(status, 404, "{m} {path}: a draft is not public: {text}");
                } else {
                    assert!([200, 404].contains(&status), "{m} {path}: {status} {text}");
                }
            } else if template.starts_with("/uploads/") {
                // Public by capability: B's upload under another upload's token (A's) is not
                // found, whoever asks.
                let theirs = b.ids["upload_url"].as_str().unwrap_or_default();
                let ours = a.ids["upload_url"].as_str().unwrap_or_default();
                let token_of = |url: &str| url.rsplit('/').nth(1).unwrap_or_default().to_owned();
                let forged = theirs.replacen(&token_of(theirs), &token_of(ours), 1);
                assert_ne!(forged, theirs);
                let path = forged.strip_prefix(&t.base).unwrap_or(&forged).to_owned();
                let got = t.call(&m, &path, Some(&a.token), None).await;
                assert_eq!(got.status, 404, "{m} {path}: another upload's token");
            } else if template.starts_with("/attachments/") {
                let got = t
                    .call(
                        &m,
                        "/attachments/1/0123456789abcdef0123456789abcdef/x.png",
                        None,
                        None,
                    )
                    .await;
                assert_eq!(got.status, 404, "attachment without its capability");
            } else {
                let global = [
                    "/healthz",
                    "/readyz",
                    "/api/openapi.json",
                    // Instance-wide counts, no tenant's data; closed by its own rule
                    // (metrics_token or loopback only): server/tests/metrics.rs.
                    "/metrics",
                    "/auth/sign_in",
                    "/auth/sign_out",
                    // A link's token is the credential, for one user: onboarding.rs proves
                    // links work once, for their user, and forged ones open nothing.
                    "/auth/password",
                    "/auth/password/edit",
                    "/api/v1/profile",
                    "/api/v1/profile/reset_access_token",
                    // The caller's own second factor: no id in the path, nothing of anyone
                    // else's to reach (two_factor.rs covers enrolment and sign-in).
                    "/api/v1/profile/mfa",
                    "/api/v1/profile/mfa/verify",
                    "/api/v1/profile/mfa/backup_codes",
                    // User-scoped: the socket carries only the accounts and inboxes
                    // its user may see; realtime::each_socket_sees_only_what_its_owner_may
                    // proves it with live traffic from two accounts.
                    "/api/v1/realtime",
                ];
                assert!(
                    global.contains(&template.as_str()),
                    "{template} is neither account-, inbox- nor app-scoped: decide how it is isolated and test it here"
                );
            }
        }
    }
    assert!(exercised > 100, "only {exercised} operations found");
    let after = snapshot(&t, &b).await;
    assert_eq!(before, after, "account B changed under attack");
}
