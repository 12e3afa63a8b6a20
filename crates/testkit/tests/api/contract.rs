//! Contract tests: every 2xx answer of an operation the contract defines validates against the
//! contract's schema (`crates/testkit/contracts/chatwoot-v4.10-swagger.json`, a copy of `shared/contracts/`, OpenAPI 3.0, with
//! `nullable` honoured); and every contract operation Throughline implements is exercised.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::{Map, Value, json};
use throughline_core::crypto::hmac_sha256_hex;
use throughline_testkit::{Backend, Exchange, TestApp, on_both_databases};

use crate::operations_list::shape;
use crate::platform::platform_token;
use crate::thread;

on_both_databases!(responses_match_the_chatwoot_contract);

const CONTRACT: &str = include_str!("../../contracts/chatwoot-v4.10-swagger.json");

/// Where Chatwoot itself answers differently from its published contract, Throughline follows
/// Chatwoot: its clients are written against what it sends. Each entry is (operations whose
/// `METHOD /shape` contains this, the offending field, the Chatwoot source that shows it). The
/// test fails on any other violation, and when an entry is no longer needed.
const KNOWN_CONTRACT_ERRORS: &[(&str, &str, &str)] = &[
    (
        "integrations/hooks",
        "id",
        "app/views/api/v1/models/_hook.json.jbuilder: json.id resource.id (an integer)",
    ),
    (
        "integrations/hooks",
        "account_id",
        "app/views/api/v1/models/_hook.json.jbuilder: json.account_id resource.account_id (an integer)",
    ),
    (
        "integrations/hooks",
        "hook_type",
        "app/models/integrations/hook.rb: enum hook_type { account: 0, inbox: 1 }, sent by name",
    ),
    (
        "/api/v1/accounts/",
        "message_type",
        "app/models/message.rb: enum message_type has template: 3 (greetings, out-of-office, surveys); the contract lists 0–2",
    ),
    (
        "/api/v1/accounts/",
        "content_type",
        "app/models/message.rb: content_type input_csat is the survey message; the contract lists four of Chatwoot's types",
    ),
    (
        "",
        "availability_status",
        "app/models/concerns/availability_statusable.rb returns online|busy|offline; the contract's `available` never occurs",
    ),
    (
        "custom_attribute_definitions",
        "attribute_values",
        "attribute_values is a jsonb array in Chatwoot's schema and is sent as one",
    ),
    (
        "/public/api/v1/",
        "id",
        "public/api/v1/models/_message.json.jbuilder: json.id resource.id (an integer)",
    ),
    (
        "/public/api/v1/",
        "message_type",
        "public/api/v1/models/_message.json.jbuilder: message_type_before_type_cast (an integer)",
    ),
    (
        "/public/api/v1/",
        "created_at",
        "public/api/v1/models/_message.json.jbuilder: created_at.to_i (an integer)",
    ),
    (
        "/public/api/v1/",
        "conversation_id",
        "public/api/v1/models/_message.json.jbuilder: conversation.display_id (an integer)",
    ),
    (
        "/public/api/v1/",
        "content_attributes",
        "public/api/v1/models/_message.json.jbuilder: decorated_content_attributes (an object)",
    ),
    (
        "/public/api/v1/",
        "inbox_id",
        "public/api/v1/models/_conversation.json.jbuilder: json.inbox_id resource.inbox_id (an integer)",
    ),
    (
        "POST /api/v1/accounts/{}/contacts",
        "payload",
        "api/v1/accounts/contacts/create.json.jbuilder: payload is {contact, contact_inbox}, not a list",
    ),
    (
        "",
        "sender_type",
        "messages are rendered with push_event_data: the polymorphic class name (Contact, User, AgentBot)",
    ),
    (
        "",
        "timestamp",
        "api/v1/conversations/partials/_conversation.json.jbuilder: json.timestamp last_activity_at.to_i (an integer)",
    ),
    (
        "audit_logs",
        "action",
        "enterprise/app/controllers/enterprise/devise_overrides/sessions_controller.rb audits sign_in and sign_out (and audit/contact.rb discard): actions beyond the contract's create|update|destroy",
    ),
];

fn convert(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                match k.as_str() {
                    "$ref" => {
                        let target = v
                            .as_str()
                            .unwrap_or_default()
                            .replace("#/components/schemas/", "#/definitions/");
                        out.insert(k.clone(), Value::String(target));
                    }
                    "nullable" | "example" | "examples" | "xml" | "externalDocs" | "deprecated"
                    | "readOnly" | "writeOnly" => {}
                    _ => {
                        out.insert(k.clone(), convert(v));
                    }
                }
            }
            if map.get("nullable") == Some(&Value::Bool(true)) {
                match out.get("type").cloned() {
                    Some(Value::String(t)) => {
                        out.insert("type".into(), json!([t, "null"]));
                    }
                    _ => {
                        let inner = Value::Object(out);
                        return json!({"anyOf": [inner, {"type": "null"}]});
                    }
                }
                if let Some(Value::Array(e)) = out.get_mut("enum") {
                    e.push(Value::Null);
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(convert).collect()),
        other => other.clone(),
    }
}

fn matches(shape: &str, concrete: &str) -> bool {
    let a: Vec<&str> = shape.split('/').collect();
    let b: Vec<&str> = concrete.trim_end_matches('/').split('/').collect();
    a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| *x == "{}" || x == y)
}

/// Template shapes, most literal first, so `/contacts/search` beats `/contacts/{}`.
fn template_of(shapes: &[String], concrete: &str) -> Option<String> {
    shapes
        .iter()
        .filter(|s| matches(s, concrete))
        .min_by_key(|s| s.matches("{}").count())
        .cloned()
}

async fn scenario(t: &TestApp) {
    let acc = |rest: &str| t.acc(rest);
    // Platform API.
    let platform = platform_token(t, "contract").await;
    let p = |m: &'static str, path: String, body: Option<Value>| {
        let token = platform.clone();
        async move { t.call(m, &path, Some(&token), body).await.expect(200) }
    };
    let account = p(
        "POST",
        "/platform/api/v1/accounts".into(),
        Some(json!({"name": "Contract Co"})),
    )
    .await;
    let pid = account["id"].clone();
    p("GET", format!("/platform/api/v1/accounts/{pid}"), None).await;
    p(
        "PATCH",
        format!("/platform/api/v1/accounts/{pid}"),
        Some(json!({"name": "Contract Co 2"})),
    )
    .await;
    let user = p(
        "POST",
        "/platform/api/v1/users".into(),
        Some(json!({"name": "Pat", "email": "pat@contract.test", "password": "pat-password-1"})),
    )
    .await;
    let uid = user["id"].clone();
    p("GET", format!("/platform/api/v1/users/{uid}"), None).await;
    p("GET", format!("/platform/api/v1/users/{uid}/login"), None).await;
    let pbot = p(
        "POST",
        "/platform/api/v1/agent_bots".into(),
        Some(json!({"name": "Platform bot", "outgoing_url": "http://127.0.0.1:9/bot", "account_id": pid})),
    )
    .await;
    let pbid = pbot["id"].clone();
    p("GET", "/platform/api/v1/agent_bots".into(), None).await;
    p("GET", format!("/platform/api/v1/agent_bots/{pbid}"), None).await;
    p(
        "PATCH",
        format!("/platform/api/v1/agent_bots/{pbid}"),
        Some(json!({"description": "from the platform"})),
    )
    .await;
    p(
        "DELETE",
        format!("/platform/api/v1/agent_bots/{pbid}"),
        None,
    )
    .await;
    p(
        "PATCH",
        format!("/platform/api/v1/users/{uid}"),
        Some(json!({"name": "Patricia"})),
    )
    .await;
    p(
        "POST",
        format!("/platform/api/v1/accounts/{pid}/account_users"),
        Some(json!({"user_id": uid, "role": "agent"})),
    )
    .await;
    p(
        "GET",
        format!("/platform/api/v1/accounts/{pid}/account_users"),
        None,
    )
    .await;
    p(
        "DELETE",
        format!("/platform/api/v1/accounts/{pid}/account_users"),
        Some(json!({"user_id": uid})),
    )
    .await;
    p("DELETE", format!("/platform/api/v1/users/{uid}"), None).await;
    p("DELETE", format!("/platform/api/v1/accounts/{pid}"), None).await;

    // Account, profile, agents.
    t.get("/api/v1/profile").await;
    t.get(&acc("")).await;
    t.admin("PATCH", &acc(""), Some(json!({"name": "Acme"})))
        .await
        .expect(200);
    let agent = t
        .post(
            &acc("/agents"),
            json!({"name": "Olga", "email": "olga@acme.test", "role": "agent"}),
        )
        .await;
    let agent_id = agent["id"].clone();
    t.get(&acc("/agents")).await;
    t.admin(
        "PATCH",
        &acc(&format!("/agents/{agent_id}")),
        Some(json!({"role": "agent"})),
    )
    .await
    .expect(200);

    // Inboxes and members.
    let inbox = t.api_inbox("Contract inbox", None).await;
    let iid = inbox["id"].clone();
    t.get(&acc("/inboxes")).await;
    t.get(&acc(&format!("/inboxes/{iid}"))).await;
    t.admin(
        "PATCH",
        &acc(&format!("/inboxes/{iid}")),
        Some(json!({"hmac_mandatory": false, "greeting_enabled": true, "greeting_message": "Hi"})),
    )
    .await
    .expect(200);
    t.post(
        &acc("/inbox_members"),
        json!({"inbox_id": iid, "user_ids": [agent_id]}),
    )
    .await;
    t.admin(
        "PATCH",
        &acc("/inbox_members"),
        Some(json!({"inbox_id": iid, "user_ids": [agent_id, 1]})),
    )
    .await
    .expect(200);
    t.get(&acc(&format!("/inbox_members/{iid}"))).await;
    t.admin(
        "DELETE",
        &acc("/inbox_members"),
        Some(json!({"inbox_id": iid, "user_ids": [1]})),
    )
    .await
    .expect(200);

    // Teams.
    let team = t
        .post(
            &acc("/teams"),
            json!({"name": "contract-team", "description": "d"}),
        )
        .await;
    let tid = team["id"].clone();
    t.get(&acc("/teams")).await;
    t.get(&acc(&format!("/teams/{tid}"))).await;
    t.admin(
        "PATCH",
        &acc(&format!("/teams/{tid}")),
        Some(json!({"description": "e"})),
    )
    .await
    .expect(200);
    t.post(
        &acc(&format!("/teams/{tid}/team_members")),
        json!({"user_ids": [agent_id]}),
    )
    .await;
    t.admin(
        "PATCH",
        &acc(&format!("/teams/{tid}/team_members")),
        Some(json!({"user_ids": [agent_id, 1]})),
    )
    .await
    .expect(200);
    t.get(&acc(&format!("/teams/{tid}/team_members"))).await;
    t.admin(
        "DELETE",
        &acc(&format!("/teams/{tid}/team_members")),
        Some(json!({"user_ids": [1]})),
    )
    .await
    .expect(200);

    // Canned responses, attributes, webhooks, bots.
    let canned = t
        .post(
            &acc("/canned_responses"),
            json!({"short_code": "hi", "content": "Hello!"}),
        )
        .await;
    t.get(&acc("/canned_responses")).await;
    t.admin(
        "PATCH",
        &acc(&format!("/canned_responses/{}", canned["id"])),
        Some(json!({"content": "Hello there!"})),
    )
    .await
    .expect(200);
    t.admin(
        "DELETE",
        &acc(&format!("/canned_responses/{}", canned["id"])),
        None,
    )
    .await
    .expect(200);
    let attr = t.post(&acc("/custom_attribute_definitions"), json!({"attribute_display_name": "Tier", "attribute_key": "tier", "attribute_model": "contact_attribute", "attribute_display_type": "list", "attribute_values": ["gold"]})).await;
    t.get(&acc(
        "/custom_attribute_definitions?attribute_model=contact_attribute",
    ))
    .await;
    t.get(&acc(&format!(
        "/custom_attribute_definitions/{}",
        attr["id"]
    )))
    .await;
    t.admin(
        "PATCH",
        &acc(&format!("/custom_attribute_definitions/{}", attr["id"])),
        Some(json!({"attribute_description": "Loyalty tier"})),
    )
    .await
    .expect(200);
    t.admin(
        "DELETE",
        &acc(&format!("/custom_attribute_definitions/{}", attr["id"])),
        None,
    )
    .await
    .expect(200);
    let hook = t
        .post(
            &acc("/webhooks"),
            json!({"url": "http://127.0.0.1:9/hook", "subscriptions": ["message_created"]}),
        )
        .await;
    t.get(&acc("/webhooks")).await;
    t.admin(
        "PATCH",
        &acc(&format!("/webhooks/{}", hook["id"])),
        Some(json!({"subscriptions": ["conversation_created"]})),
    )
    .await
    .expect(200);
    t.admin("DELETE", &acc(&format!("/webhooks/{}", hook["id"])), None)
        .await
        .expect(200);
    let bot = t
        .post(&acc("/agent_bots"), json!({"name": "Contract bot"}))
        .await;
    t.get(&acc("/agent_bots")).await;
    t.get(&acc(&format!("/agent_bots/{}", bot["id"]))).await;
    t.admin(
        "PATCH",
        &acc(&format!("/agent_bots/{}", bot["id"])),
        Some(json!({"description": "answers"})),
    )
    .await
    .expect(200);
    t.admin(
        "POST",
        &acc(&format!("/inboxes/{iid}/set_agent_bot")),
        Some(json!({"agent_bot": bot["id"]})),
    )
    .await
    .expect(200);
    t.get(&acc(&format!("/inboxes/{iid}/agent_bot"))).await;
    t.admin("DELETE", &acc(&format!("/agent_bots/{}", bot["id"])), None)
        .await
        .expect(200);

    // The help center: a portal with every field set, a category and an article in it.
    t.post(
        &acc("/portals"),
        json!({"name": "Handbook", "slug": "contract-handbook", "color": "#FFFFFF",
               "custom_domain": "help.contract.test", "header_text": "Handbook",
               "homepage_link": "https://www.example.com/", "page_title": "Handbook",
               "config": {"allowed_locales": ["en", "pt_BR"], "default_locale": "en"}}),
    )
    .await;
    t.get(&acc("/portals")).await;
    t.admin(
        "PATCH",
        &acc("/portals/contract-handbook"),
        Some(json!({"header_text": "The handbook"})),
    )
    .await
    .expect(200);
    let category = t
        .post(
            &acc("/portals/contract-handbook/categories"),
            json!({"name": "Getting started", "description": "First steps", "locale": "en",
                   "position": 1, "icon": "📚"}),
        )
        .await;
    t.post(
        &acc("/portals/contract-handbook/articles"),
        json!({"title": "Article Title", "content": "This is the content", "description": "About it",
               "category_id": category["payload"]["id"], "status": 1, "locale": "en",
               "meta": {"tags": ["article_name"], "title": "article title", "description": "d"}}),
    )
    .await;

    // The AI assistant is Chatwoot's `openai` integration hook.
    let hook = t
        .post(
            &acc("/integrations/hooks"),
            json!({"app_id": "openai", "status": 1, "settings": {"api_key": "sk-contract",
                   "base_url": "https://models.contract.test/v1", "model": "gpt-4o-mini"}}),
        )
        .await;
    t.get(&acc("/integrations/apps")).await;
    t.admin(
        "PATCH",
        &acc(&format!("/integrations/hooks/{}", hook["id"])),
        Some(json!({"status": 0, "settings": {"model": "llama3.1"}})),
    )
    .await
    .expect(200);
    t.admin(
        "DELETE",
        &acc(&format!("/integrations/hooks/{}", hook["id"])),
        None,
    )
    .await
    .expect(200);

    // Saved filters.
    let filter = t
        .post(
            &acc("/custom_filters"),
            json!({"name": "Open", "filter_type": "conversation", "query": {"payload": []}}),
        )
        .await;
    t.get(&acc("/custom_filters?filter_type=conversation"))
        .await;
    t.get(&acc(&format!("/custom_filters/{}", filter["id"])))
        .await;
    t.admin(
        "PATCH",
        &acc(&format!("/custom_filters/{}", filter["id"])),
        Some(json!({"name": "Open ones"})),
    )
    .await
    .expect(200);
    t.admin(
        "DELETE",
        &acc(&format!("/custom_filters/{}", filter["id"])),
        None,
    )
    .await
    .expect(204);

    // Automation rules: create answers the rule unwrapped, the rest in `payload`.
    let rule = t
        .post(
            &acc("/automation_rules"),
            json!({"name": "Label bugs", "description": "bugs", "event_name": "message_created",
                   "active": true,
                   "conditions": [{"attribute_key": "content", "filter_operator": "contains",
                                   "values": ["bug"]}],
                   "actions": [{"action_name": "add_label", "action_params": ["bugs"]}]}),
        )
        .await;
    t.get(&acc("/automation_rules")).await;
    t.get(&acc(&format!("/automation_rules/{}", rule["id"])))
        .await;
    t.admin(
        "PATCH",
        &acc(&format!("/automation_rules/{}", rule["id"])),
        Some(json!({"active": false})),
    )
    .await
    .expect(200);
    t.admin(
        "DELETE",
        &acc(&format!("/automation_rules/{}", rule["id"])),
        None,
    )
    .await
    .expect(200);

    // Client API.
    let ident = inbox["inbox_identifier"].as_str().unwrap().to_owned();
    let pubp = format!("/public/api/v1/inboxes/{ident}");
    t.call("GET", &pubp, None, None).await.expect(200);
    let secret = inbox["hmac_token"].as_str().unwrap();
    let pc = t
        .call("POST", &format!("{pubp}/contacts"), None, Some(json!({"name": "Visitor", "email": "visitor@example.com", "identifier": "v-1", "identifier_hash": hmac_sha256_hex(secret.as_bytes(), b"v-1")})))
        .await
        .expect(200);
    let src = pc["source_id"].as_str().unwrap().to_owned();
    t.call("GET", &format!("{pubp}/contacts/{src}"), None, None)
        .await
        .expect(200);
    t.call(
        "PATCH",
        &format!("{pubp}/contacts/{src}"),
        None,
        Some(json!({"name": "Visitor Two"})),
    )
    .await
    .expect(200);
    let pconv = t
        .call(
            "POST",
            &format!("{pubp}/contacts/{src}/conversations"),
            None,
            Some(json!({})),
        )
        .await
        .expect(200);
    let pcid = pconv["id"].clone();
    t.call(
        "GET",
        &format!("{pubp}/contacts/{src}/conversations"),
        None,
        None,
    )
    .await
    .expect(200);
    t.call(
        "GET",
        &format!("{pubp}/contacts/{src}/conversations/{pcid}"),
        None,
        None,
    )
    .await
    .expect(200);
    let pm = t
        .call(
            "POST",
            &format!("{pubp}/contacts/{src}/conversations/{pcid}/messages"),
            None,
            Some(json!({"content": "hello"})),
        )
        .await
        .expect(200);
    t.call(
        "GET",
        &format!("{pubp}/contacts/{src}/conversations/{pcid}/messages"),
        None,
        None,
    )
    .await
    .expect(200);
    t.call(
        "PATCH",
        &format!(
            "{pubp}/contacts/{src}/conversations/{pcid}/messages/{}",
            pm["id"]
        ),
        None,
        Some(json!({"submitted_values": {"csat_survey_response": {"rating": 5}}})),
    )
    .await
    .expect(200);
    t.call(
        "POST",
        &format!("{pubp}/contacts/{src}/conversations/{pcid}/toggle_typing"),
        None,
        Some(json!({"typing_status": "off"})),
    )
    .await
    .expect(200);
    t.call(
        "POST",
        &format!("{pubp}/contacts/{src}/conversations/{pcid}/update_last_seen"),
        None,
        None,
    )
    .await
    .expect(200);

    // Contacts.
    let created = t.post(&acc("/contacts"), json!({"name": "Carla", "email": "carla@example.com", "phone_number": "+5521987654321", "inbox_id": iid, "custom_attributes": {"tier": "gold"}})).await;
    let cid = created["payload"]["contact"]["id"].clone();
    t.get(&acc("/contacts")).await;
    t.get(&acc(&format!("/contacts/{cid}"))).await;
    t.admin(
        "PUT",
        &acc(&format!("/contacts/{cid}")),
        Some(json!({"name": "Carla M."})),
    )
    .await
    .expect(200);
    t.get(&acc("/contacts/search?q=carla")).await;
    t.post(&acc("/contacts/filter"), json!({"payload": [{"attribute_key": "email", "filter_operator": "contains", "values": ["carla"]}]})).await;
    t.get(&acc(&format!("/contacts/{cid}/conversations"))).await;
    t.post(
        &acc(&format!("/contacts/{cid}/labels")),
        json!({"labels": ["vip"]}),
    )
    .await;
    t.get(&acc(&format!("/contacts/{cid}/labels"))).await;
    t.post(
        &acc(&format!("/contacts/{cid}/contact_inboxes")),
        json!({"inbox_id": iid, "source_id": "carla-2"}),
    )
    .await;
    t.get(&acc(&format!("/contacts/{cid}/contactable_inboxes")))
        .await;
    let other = t
        .post(&acc("/contacts"), json!({"name": "Carla duplicate"}))
        .await["payload"]["contact"]["id"]
        .clone();
    t.post(
        &acc("/actions/contact_merge"),
        json!({"base_contact_id": cid, "mergee_contact_id": other}),
    )
    .await;

    // Conversations and messages.
    let th = thread(t, &inbox, "Preciso de ajuda").await;
    let conv = th.conversation_id;
    t.get(&acc("/conversations")).await;
    t.get(&acc("/conversations/meta")).await;
    t.post(&acc("/conversations/filter"), json!({"payload": [{"attribute_key": "status", "filter_operator": "equal_to", "values": ["open"]}]})).await;
    t.post(
        &acc("/conversations"),
        json!({"source_id": "carla-2", "inbox_id": iid, "message": {"content": "Oi Carla"}}),
    )
    .await;
    t.get(&acc(&format!("/conversations/{conv}"))).await;
    t.admin(
        "PATCH",
        &acc(&format!("/conversations/{conv}")),
        Some(json!({"priority": "high"})),
    )
    .await
    .expect(200);
    t.post(
        &acc(&format!("/conversations/{conv}/toggle_priority")),
        json!({"priority": "low"}),
    )
    .await;
    t.post(
        &acc(&format!("/conversations/{conv}/custom_attributes")),
        json!({"custom_attributes": {"order": "A1"}}),
    )
    .await;
    t.post(
        &acc(&format!("/conversations/{conv}/assignments")),
        json!({"assignee_id": 1}),
    )
    .await;
    t.post(
        &acc(&format!("/conversations/{conv}/labels")),
        json!({"labels": ["billing"]}),
    )
    .await;
    t.get(&acc(&format!("/conversations/{conv}/labels"))).await;
    let msg = t
        .post(
            &acc(&format!("/conversations/{conv}/messages")),
            json!({"content": "Claro!"}),
        )
        .await;
    t.get(&acc(&format!("/conversations/{conv}/messages")))
        .await;
    t.admin(
        "DELETE",
        &acc(&format!("/conversations/{conv}/messages/{}", msg["id"])),
        None,
    )
    .await
    .expect(200);
    t.post(
        &acc(&format!("/conversations/{conv}/toggle_status")),
        json!({"status": "resolved"}),
    )
    .await;
    t.call(
        "POST",
        &format!("{pubp}/contacts/{src}/conversations/{pcid}/toggle_status"),
        None,
        None,
    )
    .await
    .expect(200);

    // The survey after resolution, and its page.
    t.admin(
        "PATCH",
        &acc(&format!("/inboxes/{iid}")),
        Some(json!({"csat_survey_enabled": true})),
    )
    .await
    .expect(200);
    let rated = thread(t, &inbox, "Quero avaliar").await;
    t.post(
        &acc(&format!(
            "/conversations/{}/messages",
            rated.conversation_id
        )),
        json!({"content": "Resolvido!"}),
    )
    .await;
    t.post(
        &acc(&format!(
            "/conversations/{}/toggle_status",
            rated.conversation_id
        )),
        json!({"status": "resolved"}),
    )
    .await;
    let uuid = t
        .eventually(Duration::from_secs(20), "the survey", || async {
            let list = t
                .get(&acc(&format!(
                    "/conversations/{}/messages",
                    rated.conversation_id
                )))
                .await;
            let sent = list["payload"]
                .as_array()
                .is_some_and(|l| l.iter().any(|m| m["content_type"] == "input_csat"));
            let c = t
                .get(&acc(&format!("/conversations/{}", rated.conversation_id)))
                .await;
            sent.then(|| c["uuid"].as_str().map(str::to_owned))
                .flatten()
        })
        .await;
    let page = t
        .call("GET", &format!("/survey/responses/{uuid}"), None, None)
        .await;
    assert_eq!(page.status, 200);

    // Deletions last.
    t.admin("DELETE", &acc(&format!("/teams/{tid}")), None)
        .await
        .expect(200);
    t.admin("DELETE", &acc(&format!("/contacts/{cid}")), None)
        .await
        .expect(200);
    t.admin("DELETE", &acc(&format!("/agents/{agent_id}")), None)
        .await
        .expect(200);

    // What all of the above left in the audit log (sign-ins and merges included).
    t.get(&acc("/audit_logs?per_page=100")).await;
}

async fn responses_match_the_chatwoot_contract(b: Backend) {
    let t = TestApp::start(b).await;
    scenario(&t).await;
    let exchanges: Vec<Exchange> = t.log.lock().unwrap().clone();

    let contract: Value = serde_json::from_str(CONTRACT).unwrap();
    let mut definitions = Map::new();
    for (name, schema) in contract["components"]["schemas"].as_object().unwrap() {
        definitions.insert(name.clone(), convert(schema));
    }
    // Contract operations by (METHOD, shape) → status → schema.
    let mut operations: BTreeMap<(String, String), BTreeMap<String, Value>> = BTreeMap::new();
    for (path, item) in contract["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            let mut by_status = BTreeMap::new();
            for (status, response) in op["responses"].as_object().unwrap() {
                if let Some(schema) = response.pointer("/content/application~1json/schema") {
                    by_status.insert(status.clone(), schema.clone());
                }
            }
            operations.insert((method.to_uppercase(), shape(path)), by_status);
        }
    }
    let ours: Value = t
        .call("GET", "/api/openapi.json", None, None)
        .await
        .expect(200);
    let our_ops: BTreeSet<(String, String)> = ours["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(p, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |m| (m.to_uppercase(), shape(p)))
        })
        .collect();
    let shapes: Vec<String> = operations.keys().map(|(_, s)| s.clone()).collect();

    let mut failures = Vec::new();
    let mut used_exceptions = BTreeSet::new();
    let mut covered = BTreeSet::new();
    for ex in &exchanges {
        let Some(template) = template_of(&shapes, &ex.path) else {
            continue;
        };
        let key = (ex.method.clone(), template);
        let Some(responses) = operations.get(&key) else {
            continue;
        };
        if !(200..300).contains(&ex.status) {
            continue;
        }
        covered.insert(key.clone());
        let Some(schema) = responses
            .get(&ex.status.to_string())
            .or_else(|| responses.get("200"))
        else {
            continue;
        };
        let mut root = convert(schema);
        if let Value::Object(map) = &mut root {
            map.insert("definitions".into(), Value::Object(definitions.clone()));
        }
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft7)
            .should_validate_formats(false)
            .build(&root)
            .unwrap();
        for error in validator.iter_errors(&ex.body) {
            let operation = format!("{} {}", key.0, key.1);
            let pointer = error.instance_path().to_string();
            let field = pointer.rsplit('/').next().unwrap_or_default().to_owned();
            let known = KNOWN_CONTRACT_ERRORS
                .iter()
                .position(|(op, at, _)| operation.contains(op) && field == *at);
            match known {
                Some(i) => {
                    used_exceptions.insert(i);
                }
                None => failures.push(format!("{operation} {pointer}: {error}")),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} contract violations:\n{}",
        failures.len(),
        failures.join("\n")
    );
    for (i, (op, field, why)) in KNOWN_CONTRACT_ERRORS.iter().enumerate() {
        assert!(
            used_exceptions.contains(&i),
            "exception no longer needed, remove it: {op} {field} ({why})"
        );
    }
    let missing: Vec<String> = operations
        .keys()
        .filter(|k| our_ops.contains(*k) && !covered.contains(*k))
        .map(|(m, p)| format!("{m} {p}"))
        .collect();
    assert!(
        missing.is_empty(),
        "implemented contract operations not exercised: {missing:#?}"
    );
    assert!(
        covered.len() >= 90,
        "only {} contract operations covered",
        covered.len()
    );
    // docs/chatwoot-operations.md says which operations this test exercises: the same list.
    crate::operations_list::check_exercised(&covered);
}
