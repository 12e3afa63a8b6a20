//! What Rails accepts and Chatwoot's clients rely on (issue #17): trailing and doubled slashes,
//! the `.json` format suffix, form bodies (urlencoded and multipart) with Rails's nested keys,
//! numbers and flags sent as strings, Rails-style lists in queries, bodies wrapped in their
//! resource's name.
//!
//! The walk is generated from `/api/openapi.json`, like `isolation.rs` (whose seeding, paths and
//! bodies it reuses): six accounts are seeded alike, and every operation is sent to each in
//! lockstep, spelled one way per account. Their states stay alike, so every spelling must get
//! the answer the plain one gets: the same status and the same body shape.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use throughline_testkit::{Answer, Backend, TestApp, on_both_databases};

use crate::isolation::{Tenant, body_for, fill, seed};
use crate::platform::platform_token;
use crate::thread;

on_both_databases!(
    every_route_answers_alike_however_rails_clients_spell_it,
    rails_style_lists_in_queries,
    rails_casting_wrapping_and_its_limits
);

/// How a request is spelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Spelling {
    /// As the OpenAPI document writes it, with a JSON body.
    Plain,
    /// `/path/`
    TrailingSlash,
    /// `/path.json` (API paths only).
    JsonFormat,
    /// `application/x-www-form-urlencoded` with Rails's nested keys.
    Form,
    /// `multipart/form-data`, text fields with Rails's nested keys.
    Multipart,
    /// JSON with every number and flag sent as a string (`"inbox_id": "3"`).
    Strings,
}

const SPELLINGS: [Spelling; 6] = [
    Spelling::Plain,
    Spelling::TrailingSlash,
    Spelling::JsonFormat,
    Spelling::Form,
    Spelling::Multipart,
    Spelling::Strings,
];

/// Where Rails's `(.:format)` is honoured (see `http/src/rails/mod.rs`).
const FORMAT_PREFIXES: [&str; 4] = ["/api/", "/public/api/", "/platform/api/", "/auth/"];

/// Providers' entries: their bodies are the provider's own (signed, read as bytes), not
/// Chatwoot API bodies, so they are sent as the plain spelling sends them.
const PROVIDER_PREFIXES: [&str; 4] = ["/webhooks/", "/twilio/", "/bot", "/attachments/"];

/// One account seeded as `isolation::seed` seeds it, made by its own platform app.
struct World {
    tenant: Tenant,
    platform: String,
    admin_id: i64,
}

async fn world(t: &TestApp, tag: &str) -> World {
    let platform = platform_token(t, &format!("{tag}-app")).await;
    let account = t
        .call(
            "POST",
            "/platform/api/v1/accounts",
            Some(&platform),
            Some(json!({ "name": tag })),
        )
        .await
        .expect(200);
    let user = t
        .call(
            "POST",
            "/platform/api/v1/users",
            Some(&platform),
            Some(json!({"name": format!("{tag} admin"), "email": format!("admin@{tag}.test"), "password": "rails-compat-password-1"})),
        )
        .await
        .expect(200);
    let account_id = account["id"].as_i64().unwrap();
    t.call(
        "POST",
        &format!("/platform/api/v1/accounts/{account_id}/account_users"),
        Some(&platform),
        Some(json!({"user_id": user["id"], "role": "administrator"})),
    )
    .await
    .expect(200);
    let token = user["access_token"].as_str().unwrap();
    World {
        tenant: seed(t, account_id, token, tag).await,
        platform,
        admin_id: user["id"].as_i64().unwrap(),
    }
}

/// The path of an operation in a world, with its real ids.
fn path_for(template: &str, w: &World) -> String {
    if template.starts_with("/platform/") {
        template
            .replace("{account_id}", &w.tenant.account_id.to_string())
            .replace("{id}", &w.admin_id.to_string())
    } else if template.starts_with("/api/v1/profile/invitations/") {
        template.replace("{id}", "999999")
    } else if template.starts_with("/attachments/") {
        "/attachments/1/0123456789abcdef0123456789abcdef/report.json".into()
    } else if template.contains("{phone_number}") || template.contains("{bot_token}") {
        template
            .replace("{phone_number}", "15550001111")
            .replace("{bot_token}", "123456:forged-token-forged-token")
    } else {
        fill(template, &w.tenant, &w.tenant)
    }
}

fn spelled(path: &str, s: Spelling) -> String {
    match s {
        Spelling::TrailingSlash => format!("{path}/"),
        Spelling::JsonFormat if FORMAT_PREFIXES.iter().any(|p| path.starts_with(p)) => {
            format!("{path}.json")
        }
        _ => path.to_owned(),
    }
}

enum Body {
    None,
    Json(Value),
    Form(Vec<(String, String)>),
    Multipart(Vec<(String, String)>),
}

/// A JSON body as a Rails client's form sends it: `contact[name]`, `labels[]` for lists of
/// values, `payload[0][attribute_key]` for lists of objects.
fn form_pairs(value: &Value) -> Vec<(String, String)> {
    fn walk(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}[{k}]")
                    };
                    walk(&key, v, out);
                }
            }
            Value::Array(items) => {
                let scalars = items.iter().all(|i| !i.is_object() && !i.is_array());
                for (i, item) in items.iter().enumerate() {
                    let key = if scalars {
                        format!("{prefix}[]")
                    } else {
                        format!("{prefix}[{i}]")
                    };
                    walk(&key, item, out);
                }
            }
            Value::Null => out.push((prefix.to_owned(), String::new())),
            Value::String(s) => out.push((prefix.to_owned(), s.clone())),
            other => out.push((prefix.to_owned(), other.to_string())),
        }
    }
    let mut out = Vec::new();
    walk("", value, &mut out);
    out
}

/// Every number and flag as a string, as clients that build JSON from text send them.
fn stringly(value: Value) -> Value {
    match value {
        Value::Number(n) => Value::String(n.to_string()),
        Value::Bool(b) => Value::String(b.to_string()),
        Value::Array(items) => Value::Array(items.into_iter().map(stringly).collect()),
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (k, stringly(v))).collect())
        }
        other => other,
    }
}

/// Empty lists and objects have no form spelling; every spelling is sent the body without them.
fn without_empties(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, without_empties(v)))
                .filter(|(_, v)| {
                    !(v.as_array().is_some_and(Vec::is_empty)
                        || v.as_object().is_some_and(Map::is_empty))
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_empties).collect()),
        other => other,
    }
}

fn body(s: Spelling, base: Option<Value>, takes_json: bool) -> Body {
    let Some(v) = base else {
        return Body::None;
    };
    if !takes_json {
        return Body::Json(v);
    }
    match s {
        Spelling::Form => Body::Form(form_pairs(&v)),
        Spelling::Multipart => Body::Multipart(form_pairs(&v)),
        Spelling::Strings => Body::Json(stringly(v)),
        _ => Body::Json(v),
    }
}

async fn send(t: &TestApp, method: &str, path: &str, token: Option<&str>, body: Body) -> Answer {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = t.client.request(method, t.url(path));
    if let Some(token) = token {
        req = req.header("api_access_token", token);
    }
    req = match body {
        Body::None => req,
        Body::Json(v) => req.json(&v),
        Body::Form(pairs) => req
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_html_form::to_string(&pairs).unwrap()),
        Body::Multipart(pairs) => {
            let mut form = reqwest::multipart::Form::new();
            for (k, v) in pairs {
                form = form.text(k, v);
            }
            req.multipart(form)
        }
    };
    throughline_testkit::read(req.send().await.unwrap()).await
}

/// A body's shape: its keys and the types of their values (lists as `array`: their lengths can
/// follow background work such as webhook deliveries).
fn shape(v: &Value) -> Value {
    match v {
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), shape(v))).collect())
        }
        Value::Array(_) => json!("array"),
        Value::String(_) => json!("string"),
        Value::Number(_) => json!("number"),
        Value::Bool(_) => json!("bool"),
        Value::Null => json!("null"),
    }
}

/// Reads first, then writes, then the writes that remove what later operations use, then
/// deletions, the Platform API's (accounts, users) last.
fn phase(method: &str, template: &str) -> u8 {
    let consuming = [
        "/erase",
        "/merge",
        "/split",
        "/contact_merge",
        "/dismiss",
        "/reset_access_token",
    ];
    match method {
        "GET" => 0,
        "DELETE" if template.starts_with("/platform/") => 4,
        "DELETE" => 3,
        _ if consuming.iter().any(|c| template.ends_with(c)) => 2,
        _ => 1,
    }
}

async fn every_route_answers_alike_however_rails_clients_spell_it(backend: Backend) {
    let t = TestApp::start(backend).await;
    let mut worlds = Vec::new();
    for s in SPELLINGS {
        worlds.push(world(&t, &format!("{s:?}").to_lowercase()).await);
    }
    let spec = t
        .call("GET", "/api/openapi.json", None, None)
        .await
        .expect(200);
    let mut ops = Vec::new();
    for (template, item) in spec["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "patch", "delete"] {
            let Some(op) = item.get(method) else {
                continue;
            };
            let takes_json = op["requestBody"]["content"]
                .get("application/json")
                .is_some()
                && !PROVIDER_PREFIXES.iter().any(|p| template.starts_with(p));
            let m = method.to_uppercase();
            ops.push((phase(&m, template), m, template.clone(), takes_json));
        }
    }
    ops.sort_by_key(|op| op.0);

    let mut tally: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, method, template, takes_json) in &ops {
        *tally.entry("operations").or_default() += 1;
        let mut answers = Vec::new();
        for (s, w) in SPELLINGS.iter().zip(worlds.iter_mut()) {
            let path = spelled(&path_for(template, w), *s);
            let token = if template.starts_with("/platform/") {
                w.platform.clone()
            } else {
                w.tenant.token.clone()
            };
            let base = body_for(method, template, &w.tenant).map(without_empties);
            let has_body = base.is_some();
            let answer = send(&t, method, &path, Some(&token), body(*s, base, *takes_json)).await;
            if template == "/api/v1/profile/reset_access_token"
                && let Some(new) = answer.body["access_token"].as_str()
            {
                w.tenant.token = new.to_owned();
            }
            answers.push((*s, path, has_body, answer));
        }
        let (_, plain_path, _, plain) = &answers[0];
        if (200..300).contains(&plain.status) {
            *tally.entry("answered 2xx").or_default() += 1;
        }
        for (s, path, has_body, a) in &answers[1..] {
            let what = match s {
                Spelling::TrailingSlash => Some("with a trailing slash"),
                Spelling::JsonFormat if path.ends_with(".json") => Some("with .json"),
                Spelling::Form | Spelling::Multipart | Spelling::Strings
                    if *takes_json && *has_body =>
                {
                    Some(match s {
                        Spelling::Form => "with a urlencoded form body",
                        Spelling::Multipart => "with a multipart form body",
                        _ => "with numbers as strings",
                    })
                }
                _ => None,
            };
            assert_eq!(
                a.status, plain.status,
                "{method} {path} ({s:?}) answered unlike {plain_path}: {} vs {}",
                a.body, plain.body
            );
            assert_eq!(
                shape(&a.body),
                shape(&plain.body),
                "{method} {path} ({s:?}) answered a body shaped unlike {plain_path}'s: {} vs {}",
                a.body,
                plain.body
            );
            if let Some(what) = what {
                *tally.entry(what).or_default() += 1;
            }
        }
    }
    eprintln!("rails spellings walked: {tally:?}");
    let count = |k: &str| tally.get(k).copied().unwrap_or_default();
    assert!(count("operations") > 150, "{tally:?}");
    assert_eq!(count("with a trailing slash"), count("operations"));
    assert!(
        count("answered 2xx") > 80,
        "too few operations succeeded: {tally:?}"
    );
    assert!(count("with .json") > 130, "{tally:?}");
    for form in [
        "with a urlencoded form body",
        "with a multipart form body",
        "with numbers as strings",
    ] {
        assert!(count(form) > 50, "{form}: {tally:?}");
    }
}

/// `labels[]=a`, `labels[0]=a`, `labels=a` (and percent-encoded brackets) filter alike on every
/// route taking a list in its query, with or without a trailing slash.
async fn rails_style_lists_in_queries(backend: Backend) {
    let t = TestApp::start(backend).await;
    let inbox = t.api_inbox("Queries", None).await;
    let labelled = thread(&t, &inbox, "labelled").await;
    thread(&t, &inbox, "not labelled").await;
    t.post(&t.acc("/labels"), json!({"title": "vip"})).await;
    let conv = labelled.conversation_id;
    t.post(
        &t.acc(&format!("/conversations/{conv}/labels")),
        json!({"labels": ["vip"]}),
    )
    .await;
    t.post(
        &t.acc(&format!("/contacts/{}/labels", labelled.contact_id)),
        json!({"labels": ["vip"]}),
    )
    .await;
    let spec = t.get("/api/openapi.json").await;
    let mut checked = 0;
    for (template, item) in spec["paths"].as_object().unwrap() {
        let Some(params) = item["get"]["parameters"].as_array() else {
            continue;
        };
        let lists = params.iter().filter(|p| {
            p["in"] == "query"
                && (p["schema"]["type"] == "array"
                    || p["name"].as_str().is_some_and(|n| n.ends_with("[]")))
        });
        for list in lists {
            let name = list["name"].as_str().unwrap().trim_end_matches("[]");
            if name == "user_ids" && template.contains("/csat_survey_responses") {
                // Agents' ids, not labels: surveys::answered_on_the_link_page checks each
                // spelling against a real answer.
                continue;
            }
            let path = template.replace("{account_id}", &t.account_id.to_string());
            assert!(!path.contains('{'), "{template}: give this test its ids");
            // A search needs its words.
            let q = if path.ends_with("/search") {
                "q=Ana&"
            } else {
                ""
            };
            let get = |query: String| {
                let (t, path) = (&t, path.clone());
                async move { t.admin("GET", &format!("{path}?{q}{query}"), None).await }
            };
            let canonical = get(format!("{name}[]=vip")).await.expect(200);
            let unknown = get(format!("{name}[]=nobody")).await.expect(200);
            assert_ne!(canonical, unknown, "{path}: the {name} filter does nothing");
            for spelling in [
                format!("{name}[0]=vip"),
                format!("{name}=vip"),
                format!("{name}%5B%5D=vip"),
            ] {
                let with = get(spelling.clone()).await.expect(200);
                assert_eq!(with, canonical, "{path}?{spelling}");
            }
            // The query string survives the trailing slash's rewrite.
            let slashed = t
                .admin("GET", &format!("{path}/?{q}{name}[]=vip"), None)
                .await
                .expect(200);
            assert_eq!(slashed, canonical, "{path}/?{name}[]=vip");
            checked += 1;
        }
    }
    assert!(
        checked >= 4,
        "only {checked} routes take a list in their query"
    );
    // A number in a query is text by nature; an empty value is an absent one.
    let inbox_id = inbox["id"].as_i64().unwrap();
    let by_inbox = t
        .get(&t.acc(&format!(
            "/conversations?inbox_id={inbox_id}&page=&status=open"
        )))
        .await;
    assert_eq!(by_inbox["data"]["meta"]["all_count"], 2, "{by_inbox}");
    let bad = t
        .admin("GET", &t.acc("/conversations?inbox_id=abc"), None)
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(
        bad.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("inbox_id") && m.contains("whole number")),
        "{}",
        bad.body
    );
}

async fn raw_form(t: &TestApp, method: &str, path: &str, form: &str) -> Answer {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let resp = t
        .client
        .request(method, t.url(path))
        .header("api_access_token", &t.token)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_owned())
        .send()
        .await
        .unwrap();
    throughline_testkit::read(resp).await
}

/// Strings cast as Rails casts them (and nothing else), bodies wrapped in their resource's name,
/// multipart text fields, and the paths the rewrite leaves alone.
async fn rails_casting_wrapping_and_its_limits(backend: Backend) {
    let t = TestApp::start(backend).await;
    let inbox = t.api_inbox("Bridge", None).await;
    let th = thread(&t, &inbox, "oi").await;
    let inbox_id = inbox["id"].as_i64().unwrap();
    let contact_id = th.contact_id;
    let me = t.get("/api/v1/profile").await["id"].as_i64().unwrap();

    // Evolution API starts a conversation with its ids as strings.
    let conv = t
        .post(
            &t.acc("/conversations"),
            json!({"contact_id": contact_id.to_string(), "inbox_id": inbox_id.to_string(), "status": "pending"}),
        )
        .await;
    assert_eq!(conv["inbox_id"], inbox_id, "{conv}");
    let conv_id = conv["id"].as_i64().unwrap();
    let assigned = t
        .post(
            &t.acc(&format!("/conversations/{conv_id}/assignments")),
            json!({"assignee_id": me.to_string()}),
        )
        .await;
    assert_eq!(assigned["id"], me, "{assigned}");
    let team = t.post(&t.acc("/teams"), json!({"name": "sales"})).await;
    let team_id = team["id"].as_i64().unwrap();
    let members = t
        .post(
            &t.acc(&format!("/teams/{team_id}/team_members")),
            json!({"user_ids": [me.to_string()]}),
        )
        .await;
    assert_eq!(members[0]["id"], me, "{members}");
    let private = t
        .post(
            &t.acc(&format!("/conversations/{conv_id}/messages")),
            json!({"content": "note", "private": "true"}),
        )
        .await;
    assert_eq!(private["private"], true, "{private}");

    // What is not a number (or a flag) is still a 422 naming the field, JSON or form.
    let conversations = t.acc("/conversations");
    let bad = t
        .admin(
            "POST",
            &conversations,
            Some(json!({"contact_id": "abc", "inbox_id": inbox_id.to_string()})),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert_eq!(bad.body["errors"][0]["field"], "contact_id", "{}", bad.body);
    assert!(
        bad.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("whole number")),
        "{}",
        bad.body
    );
    let bad = raw_form(
        &t,
        "POST",
        &conversations,
        &format!("contact_id=1.5&inbox_id={inbox_id}"),
    )
    .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert_eq!(bad.body["errors"][0]["field"], "contact_id", "{}", bad.body);
    let bad = t
        .admin(
            "POST",
            &t.acc(&format!("/conversations/{conv_id}/messages")),
            Some(json!({"content": "x", "private": "maybe"})),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert_eq!(bad.body["errors"][0]["field"], "private", "{}", bad.body);
    // Text is not cast: a number where a name belongs stays a 422.
    let bad = t
        .admin("POST", &t.acc("/contacts"), Some(json!({"name": 5})))
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    // A form's NUL character is refused like JSON's.
    let bad = raw_form(&t, "POST", &t.acc("/contacts"), "name=a%00b").await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert_eq!(bad.body["errors"][0]["field"], "name", "{}", bad.body);
    // A key both a value and nested keys is malformed.
    let bad = raw_form(&t, "POST", &t.acc("/contacts"), "name=a&name[x]=b").await;
    assert_eq!(bad.status, 400, "{}", bad.body);

    // Bodies wrapped in the resource's name, as Chatwoot's controllers read them
    // (`params.require(:team)`), in a form or in JSON; flat keys win.
    let support = raw_form(
        &t,
        "POST",
        &t.acc("/teams"),
        "team[name]=support&team[description]=first+line&team[allow_auto_assign]=0",
    )
    .await
    .expect(200);
    assert_eq!(support["name"], "support", "{support}");
    assert_eq!(support["description"], "first line", "{support}");
    assert_eq!(support["allow_auto_assign"], false, "{support}");
    let billing = t
        .post(
            &t.acc("/teams"),
            json!({"team": {"name": "ignored", "description": "d"}, "name": "billing"}),
        )
        .await;
    assert_eq!(billing["name"], "billing", "{billing}");
    assert_eq!(billing["description"], "d", "{billing}");
    let hi = raw_form(
        &t,
        "POST",
        &t.acc(&format!("/conversations/{conv_id}/messages")),
        "message[content]=hi&message[private]=1",
    )
    .await
    .expect(200);
    assert_eq!(hi["content"], "hi", "{hi}");
    assert_eq!(hi["private"], true, "{hi}");

    // Multipart text fields nest like a form's; a file is refused with the field's name.
    let form = reqwest::multipart::Form::new()
        .text("name", "Bia Lima")
        .text("custom_attributes[plan]", "gold")
        .text("contact[email]", "bia@example.com");
    let resp = t
        .client
        .post(t.url(&t.acc("/contacts")))
        .header("api_access_token", &t.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let bia = throughline_testkit::read(resp).await.expect(200);
    let bia = if bia["payload"]["contact"].is_object() {
        bia["payload"]["contact"].clone()
    } else {
        bia["payload"].clone()
    };
    assert_eq!(bia["name"], "Bia Lima", "{bia}");
    assert_eq!(bia["email"], "bia@example.com", "{bia}");
    assert_eq!(bia["custom_attributes"]["plan"], "gold", "{bia}");
    let form = reqwest::multipart::Form::new()
        .text("name", "With Avatar")
        .part(
            "avatar",
            reqwest::multipart::Part::bytes(b"\x89PNG".to_vec()).file_name("a.png"),
        );
    let resp = t
        .client
        .post(t.url(&t.acc("/contacts")))
        .header("api_access_token", &t.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let refused = throughline_testkit::read(resp).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(
        refused.body["errors"][0]["field"], "avatar",
        "{}",
        refused.body
    );

    // Paths: `.json`, doubled slashes; what the rewrite leaves alone.
    let contact = t.get(&t.acc(&format!("/contacts/{contact_id}"))).await;
    assert_eq!(
        t.get(&t.acc(&format!("/contacts/{contact_id}.json"))).await,
        contact
    );
    let list = t.get(&t.acc("/contacts")).await;
    assert_eq!(
        t.get(&format!("//api/v1/accounts/{}//contacts//", t.account_id))
            .await,
        list
    );
    let doc = t.get("/api/openapi.json").await;
    assert!(doc["openapi"].is_string());
    let missing = t.admin("GET", &t.acc("/nothing-here/"), None).await;
    assert_eq!(missing.status, 404);
    let page = t
        .client
        .get(t.url("/app/accounts/1/conversations/7/"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
}
