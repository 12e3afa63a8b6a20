//! The website chat (web_widget) inbox, server side: settings and snippet, the widget's public
//! configuration, CORS by allowed domains (HTTP and the visitor socket), the visitor's context,
//! attachments within the inbox's limits, offline mode (email offered) and rate limits.

use std::time::Duration;

use serde_json::{Value, json};
use throughline_testkit::ws::{Refused, WsClient};
use throughline_testkit::{Backend, TestApp, on_both_databases, read};

on_both_databases!(
    website_inbox_settings_are_validated_and_shown,
    public_inbox_gives_the_widget_its_config,
    cors_follows_the_allowed_domains,
    visitor_context_is_recorded_on_the_conversation,
    visitor_attachments_follow_the_inbox_limits,
    offline_visitor_gets_the_answer_by_email,
    public_endpoints_are_rate_limited,
    bad_payloads_get_clear_errors,
);

const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 \
                      (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";

async fn widget_inbox(t: &TestApp, channel: Value) -> Value {
    let mut channel = channel;
    channel["type"] = json!("web_widget");
    t.post(
        &t.acc("/inboxes"),
        json!({"name": "Website", "greeting_enabled": true,
               "greeting_message": "Olá! Como podemos ajudar?", "channel": channel}),
    )
    .await
}

fn public(inbox: &Value, rest: &str) -> String {
    format!(
        "/public/api/v1/inboxes/{}{rest}",
        inbox["inbox_identifier"].as_str().unwrap()
    )
}

/// A visitor with a conversation: (source_id, conversation display id).
async fn visitor(t: &TestApp, inbox: &Value) -> (String, i64) {
    let contact = t
        .call("POST", &public(inbox, "/contacts"), None, Some(json!({})))
        .await
        .expect(200);
    let source = contact["source_id"].as_str().unwrap().to_owned();
    let conv = t
        .call(
            "POST",
            &public(inbox, &format!("/contacts/{source}/conversations")),
            None,
            Some(json!({})),
        )
        .await
        .expect(200);
    (source, conv["id"].as_i64().unwrap())
}

async fn website_inbox_settings_are_validated_and_shown(b: Backend) {
    let t = TestApp::start(b).await;
    let inbox = widget_inbox(
        &t,
        json!({
            "website_url": "https://shop.example.com",
            "widget_color": "#1F93FF",
            "welcome_title": "Hi there",
            "welcome_tagline": "We reply in minutes",
            "pre_chat_form_enabled": true,
            "pre_chat_form_options": {"pre_chat_message": "Tell us who you are",
                "pre_chat_fields": [{"name": "email", "required": true, "label": "Email"},
                                    {"name": "name", "required": false}]},
            "hmac_mandatory": false,
            "allowed_domains": ["Example.com", "*.shop.example.com"],
            "max_attachment_size_mb": 5,
            "allowed_attachment_types": ["image/*", "application/pdf"],
        }),
    )
    .await;
    assert_eq!(inbox["channel_type"], "Channel::WebWidget");
    assert_eq!(inbox["widget_color"], "#1f93ff");
    assert_eq!(inbox["welcome_title"], "Hi there");
    assert_eq!(inbox["website_url"], "https://shop.example.com");
    assert_eq!(inbox["pre_chat_form_enabled"], true);
    assert_eq!(
        inbox["pre_chat_form_options"]["pre_chat_fields"][0]["required"],
        true
    );
    assert_eq!(
        inbox["allowed_domains"],
        json!(["example.com", "*.shop.example.com"])
    );
    assert_eq!(inbox["max_attachment_size_mb"], 5);
    assert_eq!(
        inbox["allowed_attachment_types"],
        json!(["image/*", "application/pdf"])
    );
    assert_eq!(inbox["enable_email_collect"], true);
    let ident = inbox["inbox_identifier"].as_str().unwrap();
    assert_eq!(
        inbox["web_widget_script"],
        format!(
            "<script async src=\"{}/widget.js\" data-inbox=\"{ident}\"></script>",
            t.base
        )
    );
    let id = inbox["id"].as_i64().unwrap();
    let shown = t.get(&t.acc(&format!("/inboxes/{id}"))).await;
    assert_eq!(shown["web_widget_script"], inbox["web_widget_script"]);
    let listed = t.get(&t.acc("/inboxes")).await;
    assert_eq!(
        listed["payload"][0]["allowed_domains"],
        inbox["allowed_domains"]
    );

    // Every wrong field is named, with a reason a person can act on.
    let path = t.acc("/inboxes");
    let refused = t
        .admin(
            "POST",
            &path,
            Some(json!({"name": "Bad", "channel": {"type": "web_widget",
                "widget_color": "blue", "allowed_domains": ["exa mple.com"],
                "pre_chat_form_options": {"pre_chat_fields": [{"name": "age"}]}}})),
        )
        .await
        .expect(422);
    let fields: Vec<&str> = refused["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        vec![
            "channel.widget_color",
            "channel.pre_chat_form_options.pre_chat_fields[0].name",
            "channel.allowed_domains"
        ]
    );
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("exa mple.com"),
        "{refused}"
    );
    for bad in [
        json!({"allowed_domains": ["*.com"]}),
        json!({"allowed_domains": 42}),
        json!({"allowed_domains": "shop.example.com, bad_host.example"}),
        json!({"max_attachment_size_mb": 0}),
        json!({"allowed_attachment_types": ["pdf"]}),
        json!({"pre_chat_form_enabled": "yes"}),
        json!({"website_url": "javascript:alert(1)"}),
    ] {
        let mut channel = bad.clone();
        channel["type"] = json!("web_widget");
        t.admin(
            "POST",
            &path,
            Some(json!({"name": "Bad", "channel": channel})),
        )
        .await
        .expect(422);
    }
    // A comma-separated list (Chatwoot's form) is accepted; updates keep the rest.
    let updated = t
        .admin(
            "PATCH",
            &t.acc(&format!("/inboxes/{id}")),
            Some(json!({"channel": {"allowed_domains": "a.example, b.example"}})),
        )
        .await
        .expect(200);
    assert_eq!(
        updated["allowed_domains"],
        json!(["a.example", "b.example"])
    );
    assert_eq!(updated["widget_color"], "#1f93ff");
    t.admin(
        "PATCH",
        &t.acc(&format!("/inboxes/{id}")),
        Some(json!({"channel": {"widget_color": "#12345"}})),
    )
    .await
    .expect(422);
    // An empty list: any site.
    let cleared = t
        .admin(
            "PATCH",
            &t.acc(&format!("/inboxes/{id}")),
            Some(json!({"channel": {"allowed_domains": []}})),
        )
        .await
        .expect(200);
    assert_eq!(cleared["allowed_domains"], json!([]));
    // API inboxes have no snippet.
    let api = t.api_inbox("API", None).await;
    assert!(api.get("web_widget_script").is_none());
}

async fn public_inbox_gives_the_widget_its_config(b: Backend) {
    let t = TestApp::start(b).await;
    let inbox = widget_inbox(
        &t,
        json!({"widget_color": "#ff0000", "welcome_title": "Olá",
               "welcome_tagline": "Respondemos rápido", "hmac_mandatory": true,
               "pre_chat_form_enabled": true,
               "pre_chat_form_options": {"pre_chat_fields": [{"name": "phone_number", "required": true}]},
               "max_attachment_size_mb": 2, "allowed_attachment_types": ["image/png"]}),
    )
    .await;
    let agent = t
        .post(
            &t.acc("/agents"),
            json!({"name": "Maria Silva", "email": "maria@acme.test", "role": "agent"}),
        )
        .await;
    let agent_id = agent["id"].as_i64().unwrap();
    t.post(
        &t.acc("/inbox_members"),
        json!({"inbox_id": inbox["id"], "user_ids": [agent_id]}),
    )
    .await;
    let config = t
        .call("GET", &public(&inbox, ""), None, None)
        .await
        .expect(200);
    assert_eq!(config["widget_color"], "#ff0000");
    assert_eq!(config["welcome_title"], "Olá");
    assert_eq!(config["welcome_tagline"], "Respondemos rápido");
    assert_eq!(config["greeting_enabled"], true);
    assert_eq!(config["greeting_message"], "Olá! Como podemos ajudar?");
    assert_eq!(config["identity_validation_enabled"], true);
    assert_eq!(config["pre_chat_form_enabled"], true);
    assert_eq!(
        config["pre_chat_form_options"]["pre_chat_fields"][0]["name"],
        "phone_number"
    );
    assert_eq!(config["attachments"]["max_size_bytes"], 2 * 1024 * 1024);
    assert_eq!(config["attachments"]["allowed_types"], json!(["image/png"]));
    assert_eq!(config["agents_online"], false);
    assert_eq!(config["enable_email_collect"], true);
    let agents = config["agents"].as_array().unwrap();
    assert_eq!(agents.len(), 1);
    assert_eq!(agents[0]["id"], agent_id);
    assert_eq!(agents[0]["name"], "Maria Silva");
    assert!(agents[0]["avatar_url"].is_string());
    assert_eq!(agents[0]["availability_status"], "offline");
    // Names and pictures only: no email of anyone, no secret.
    let text = config.to_string();
    assert!(!text.contains("maria@acme.test"), "{text}");
    assert!(
        !text.contains(inbox["hmac_token"].as_str().unwrap()),
        "{text}"
    );
    // API inboxes answer as before.
    let api = t.api_inbox("API", None).await;
    let plain = t
        .call("GET", &public(&api, ""), None, None)
        .await
        .expect(200);
    assert!(plain.get("agents").is_none() && plain.get("widget_color").is_none());
}

/// A raw request with headers; answers status, body and headers.
async fn raw(
    t: &TestApp,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> throughline_testkit::Answer {
    let mut req = t.client.request(method.parse().unwrap(), t.url(path));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    read(req.send().await.unwrap()).await
}

fn allow_origin(a: &throughline_testkit::Answer) -> Option<String> {
    a.headers
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap().to_owned())
}

async fn cors_follows_the_allowed_domains(b: Backend) {
    let t = TestApp::start(b).await;
    let inbox = widget_inbox(
        &t,
        json!({"allowed_domains": ["shop.example.com", "*.acme.test"]}),
    )
    .await;
    let preflight = |origin: &'static str, path: String| {
        let t = &t;
        async move {
            raw(
                t,
                "OPTIONS",
                &path,
                &[
                    ("origin", origin),
                    ("access-control-request-method", "POST"),
                    ("access-control-request-headers", "content-type"),
                ],
                None,
            )
            .await
        }
    };
    let contacts = public(&inbox, "/contacts");
    for good in ["https://shop.example.com", "http://www.acme.test:8080"] {
        let ok = preflight(good, contacts.clone()).await;
        assert_eq!(ok.status, 204, "{good}");
        assert_eq!(allow_origin(&ok).as_deref(), Some(good));
        let methods = ok.headers["access-control-allow-methods"].to_str().unwrap();
        assert!(methods.contains("POST") && methods.contains("PATCH"));
        assert!(
            ok.headers["access-control-allow-headers"]
                .to_str()
                .unwrap()
                .contains("content-type")
        );
    }
    for bad in ["https://evil.example", "https://acme.test", "null"] {
        let refused = preflight(bad, contacts.clone()).await;
        assert_eq!(refused.status, 403, "{bad}");
        assert_eq!(allow_origin(&refused), None);
    }
    // Real requests: the allowed page reads the answer; other pages are refused; servers
    // (no Origin) are served without CORS headers.
    let created = raw(
        &t,
        "POST",
        &contacts,
        &[("origin", "https://shop.example.com")],
        Some(json!({"name": "Ana"})),
    )
    .await;
    assert_eq!(created.status, 200);
    assert_eq!(
        allow_origin(&created).as_deref(),
        Some("https://shop.example.com")
    );
    assert!(
        created.headers["vary"]
            .to_str()
            .unwrap()
            .to_lowercase()
            .contains("origin")
    );
    let source = created.body["source_id"].as_str().unwrap().to_owned();
    let refused = raw(
        &t,
        "GET",
        &public(&inbox, &format!("/contacts/{source}")),
        &[("origin", "https://evil.example")],
        None,
    )
    .await;
    assert_eq!(refused.status, 403);
    assert_eq!(allow_origin(&refused), None);
    assert!(
        refused.body["message"]
            .as_str()
            .unwrap()
            .contains("allowed domains")
    );
    let server = raw(&t, "GET", &public(&inbox, ""), &[], None).await;
    assert_eq!(server.status, 200);
    assert_eq!(allow_origin(&server), None);

    // WebSockets ignore CORS: the visitor socket checks Origin itself.
    let ws_path = t.ws_url(&public(&inbox, &format!("/contacts/{source}/realtime")));
    match WsClient::connect(&ws_path, &[("origin", "https://evil.example")]).await {
        Err(Refused::Status(403)) => {}
        Err(other) => panic!("expected 403, got {other:?}"),
        Ok(_) => panic!("a socket from another site was accepted"),
    }
    let mut ws = WsClient::connect(&ws_path, &[("origin", "https://a.acme.test")])
        .await
        .unwrap();
    ws.until("ready", Duration::from_secs(10)).await;
    ws.close().await;

    // An empty list accepts any site (as Chatwoot).
    let open = widget_inbox(&t, json!({})).await;
    let any = preflight("https://anything.example", public(&open, "/contacts")).await;
    assert_eq!(any.status, 204);
    assert_eq!(
        allow_origin(&any).as_deref(),
        Some("https://anything.example")
    );

    // API inboxes keep their behaviour: no CORS answer, no refusal.
    let api = t.api_inbox("API", None).await;
    let api_pre = preflight("https://evil.example", public(&api, "/contacts")).await;
    assert_ne!(api_pre.status, 204);
    assert_eq!(allow_origin(&api_pre), None);
    let api_get = raw(
        &t,
        "GET",
        &public(&api, ""),
        &[("origin", "https://evil.example")],
        None,
    )
    .await;
    assert_eq!(api_get.status, 200);
    assert_eq!(allow_origin(&api_get), None);
}

async fn visitor_context_is_recorded_on_the_conversation(b: Backend) {
    let t = TestApp::start(b).await;
    let inbox = widget_inbox(&t, json!({})).await;
    let contact = t
        .call("POST", &public(&inbox, "/contacts"), None, Some(json!({})))
        .await
        .expect(200);
    let source = contact["source_id"].as_str().unwrap().to_owned();
    let conv = raw(
        &t,
        "POST",
        &public(&inbox, &format!("/contacts/{source}/conversations")),
        &[
            ("user-agent", CHROME),
            ("accept-language", "pl-PL,pl;q=0.9,en;q=0.8"),
        ],
        Some(
            json!({"referer_url": "https://shop.example.com/cart?item=7",
                    "initiated_at": "Mon Nov 02 2026 10:00:00 GMT+0100",
                    "custom_attributes": {"plan": "gold"}}),
        ),
    )
    .await;
    assert_eq!(conv.status, 200, "{}", conv.body);
    let id = conv.body["id"].as_i64().unwrap();
    let seen = t.get(&t.acc(&format!("/conversations/{id}"))).await;
    let attrs = &seen["additional_attributes"];
    assert_eq!(
        attrs["browser"],
        json!({"browser_name": "Chrome", "browser_version": "124.0.0.0",
               "platform_name": "Windows", "platform_version": "10"})
    );
    assert_eq!(attrs["referer"], "https://shop.example.com/cart?item=7");
    assert_eq!(attrs["browser_language"], "pl-PL");
    assert_eq!(
        attrs["initiated_at"]["timestamp"],
        "Mon Nov 02 2026 10:00:00 GMT+0100"
    );
    assert_eq!(seen["custom_attributes"]["plan"], "gold");

    // Without body fields the headers tell; a page URL that is not http(s) is dropped.
    let conv2 = raw(
        &t,
        "POST",
        &public(&inbox, &format!("/contacts/{source}/conversations")),
        &[
            ("user-agent", CHROME),
            ("referer", "https://www.example.org/pricing"),
            ("accept-language", "pt-BR"),
        ],
        Some(json!({"browser_language": "<b>", "referer_url": "javascript:alert(1)"})),
    )
    .await
    .expect(200);
    let seen2 = t
        .get(&t.acc(&format!("/conversations/{}", conv2["id"])))
        .await;
    assert_eq!(
        seen2["additional_attributes"]["referer"],
        "https://www.example.org/pricing"
    );
    assert_eq!(seen2["additional_attributes"]["browser_language"], "pt-BR");
    assert!(seen2["additional_attributes"]["initiated_at"]["timestamp"].is_string());

    // setCustomAttributes: the public contact update.
    t.call(
        "PATCH",
        &public(&inbox, &format!("/contacts/{source}")),
        None,
        Some(json!({"custom_attributes": {"cart_value": 129.9, "vip": true}})),
    )
    .await
    .expect(200);
    let c = t.get(&t.acc(&format!("/contacts/{}", contact["id"]))).await;
    let payload = if c.get("payload").is_some() {
        &c["payload"]
    } else {
        &c
    };
    assert_eq!(payload["custom_attributes"]["cart_value"], 129.9);
    assert_eq!(payload["custom_attributes"]["vip"], true);
}

fn form(content: &str, file: Vec<u8>, name: &str, mime: &str) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new()
        .text("content", content.to_owned())
        .part(
            "attachments[]",
            reqwest::multipart::Part::bytes(file)
                .file_name(name.to_owned())
                .mime_str(mime)
                .unwrap(),
        )
}

async fn visitor_attachments_follow_the_inbox_limits(b: Backend) {
    let t = TestApp::start(b).await;
    let inbox = widget_inbox(
        &t,
        json!({"max_attachment_size_mb": 2, "allowed_attachment_types": ["image/*", "application/pdf"]}),
    )
    .await;
    let (source, conv) = visitor(&t, &inbox).await;
    let path = t.url(&public(
        &inbox,
        &format!("/contacts/{source}/conversations/{conv}/messages"),
    ));
    let send = |f: reqwest::multipart::Form| {
        let (t, path) = (&t, path.clone());
        async move { read(t.client.post(path).multipart(f).send().await.unwrap()).await }
    };
    // 1.5 MiB: more than a JSON body may be, within the inbox's limit.
    let mut png = vec![0x89, b'P', b'N', b'G', 13, 10, 26, 10];
    png.resize(1536 * 1024, 7);
    let ok = send(form("my receipt", png.clone(), "receipt.png", "image/png")).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.body["content"], "my receipt");
    assert_eq!(ok.body["attachments"][0]["file_type"], "image");
    let url = ok.body["attachments"][0]["data_url"].as_str().unwrap();
    let bytes = t
        .client
        .get(url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(bytes.len(), png.len());
    // The agent sees it.
    let msgs = t
        .get(&t.acc(&format!("/conversations/{conv}/messages")))
        .await;
    // (Found by its text: the inbox's greeting may land after it.)
    let last = msgs["payload"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["content"] == "my receipt")
        .unwrap()
        .clone();
    assert_eq!(last["attachments"][0]["file_type"], "image");
    assert_eq!(last["message_type"], 0);

    let mut big = png.clone();
    big.resize(2 * 1024 * 1024 + 1, 7);
    let too_big = send(form("", big, "huge.png", "image/png")).await;
    assert_eq!(too_big.status, 413, "{}", too_big.body);
    assert!(too_big.body["message"].as_str().unwrap().contains("2 MiB"));

    let html = send(form(
        "",
        b"<script>x</script>".to_vec(),
        "page.html",
        "text/html",
    ))
    .await;
    assert_eq!(html.status, 415, "{}", html.body);
    assert!(html.body["message"].as_str().unwrap().contains("text/html"));

    let empty = send(form("", Vec::new(), "empty.pdf", "application/pdf")).await;
    assert_eq!(empty.status, 422, "{}", empty.body);

    // A visitor cannot smuggle agent-only fields through the form.
    let sneaky = reqwest::multipart::Form::new()
        .text("content", "hello")
        .text("message_type", "outgoing")
        .text("private", "true");
    let m = send(sneaky).await;
    assert_eq!(m.status, 200);
    assert_eq!(m.body["message_type"], 0);
    let msgs = t
        .get(&t.acc(&format!("/conversations/{conv}/messages")))
        .await;
    let last = msgs["payload"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["content"] == "hello")
        .unwrap()
        .clone();
    assert_eq!(last["message_type"], 0);
    assert_eq!(last["private"], false);

    let broken = t
        .client
        .post(&path)
        .header("content-type", "multipart/form-data; boundary=xyz")
        .body("--xyz\r\nContent-Disposition: form-data; name=\"content\"\r\n\r\nunterminated")
        .send()
        .await
        .unwrap();
    assert_eq!(read(broken).await.status, 400);

    // Without a list, a website inbox still refuses HTML and scripts.
    let plain = widget_inbox(&t, json!({})).await;
    let (s2, c2) = visitor(&t, &plain).await;
    let p2 = t.url(&public(
        &plain,
        &format!("/contacts/{s2}/conversations/{c2}/messages"),
    ));
    let r = read(
        t.client
            .post(p2)
            .multipart(form(
                "",
                b"<svg onload=x>".to_vec(),
                "x.svg",
                "image/svg+xml",
            ))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 415);
}

async fn offline_visitor_gets_the_answer_by_email(b: Backend) {
    let t = TestApp::start(b).await;
    let inbox = widget_inbox(&t, json!({})).await;
    let email_inbox = t
        .email_inbox("Support mail", "support@acme.test", None)
        .await;
    let (source, conv) = visitor(&t, &inbox).await;
    t.call(
        "POST",
        &public(
            &inbox,
            &format!("/contacts/{source}/conversations/{conv}/messages"),
        ),
        None,
        Some(json!({"content": "Is the blue one in stock?"})),
    )
    .await
    .expect(200);
    // No agent online: the widget asks for an email, given through the contact update.
    let config = t
        .call("GET", &public(&inbox, ""), None, None)
        .await
        .expect(200);
    assert_eq!(config["agents_online"], false);
    assert_eq!(config["enable_email_collect"], true);
    let updated = t
        .call(
            "PATCH",
            &public(&inbox, &format!("/contacts/{source}")),
            None,
            Some(json!({"email": "Visitor@Example.org"})),
        )
        .await
        .expect(200);
    assert_eq!(updated["email"], "visitor@example.org");
    let contact_id = updated["id"].as_i64().unwrap();
    let contact = t.get(&t.acc(&format!("/contacts/{contact_id}"))).await;
    let contact = if contact.get("payload").is_some() {
        contact["payload"].clone()
    } else {
        contact
    };
    assert_eq!(contact["email"], "visitor@example.org");
    // Typed by a visitor: kept, but never proof that links anyone.
    assert!(
        contact["additional_attributes"]["unverified_fields"]
            .to_string()
            .contains("email"),
        "the typed email is flagged: {contact}"
    );

    // The visitor has left (no socket): the chat cannot carry the reply; email can, and is the
    // default.
    let channels_path = t.acc(&format!("/conversations/{conv}/reply_channels"));
    let options = t.get(&channels_path).await;
    let find = |options: &Value, id: &Value| {
        options["payload"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["inbox_id"] == *id)
            .cloned()
            .unwrap()
    };
    let chat = find(&options, &inbox["id"]);
    assert_eq!(chat["available"], false);
    assert_eq!(chat["reason"], "visitor_offline");
    let mail = find(&options, &email_inbox["id"]);
    assert_eq!(mail["available"], true);
    assert_eq!(mail["default"], true);
    let reply = t
        .post(
            &t.acc(&format!("/conversations/{conv}/messages")),
            json!({"content": "Yes, we have it!", "inbox_id": email_inbox["id"]}),
        )
        .await;
    assert_eq!(reply["inbox_id"], email_inbox["id"]);

    // Back on the page: the chat is the default again.
    let ws_path = t.ws_url(&public(&inbox, &format!("/contacts/{source}/realtime")));
    let mut ws = WsClient::connect(&ws_path, &[]).await.unwrap();
    ws.until("ready", Duration::from_secs(10)).await;
    let options = t.get(&channels_path).await;
    let chat = find(&options, &inbox["id"]);
    assert_eq!(chat["available"], true);
    assert_eq!(chat["default"], true);
    ws.close().await;
    t.eventually(Duration::from_secs(10), "the visitor to go offline", || {
        let (t, path, id) = (&t, channels_path.clone(), inbox["id"].clone());
        async move {
            let o = t.get(&path).await;
            (find(&o, &id)["available"] == false).then_some(())
        }
    })
    .await;
}

/// Sends the requests at once and returns the answers. Whatever the machine's speed, they
/// arrive within far less than the seconds the tested buckets would need to refill.
async fn all_at_once(requests: Vec<reqwest::RequestBuilder>) -> Vec<throughline_testkit::Answer> {
    futures::future::join_all(
        requests
            .into_iter()
            .map(|r| async move { read(r.send().await.unwrap()).await }),
    )
    .await
}

async fn public_endpoints_are_rate_limited(b: Backend) {
    let t = TestApp::start_with(b, |s| {
        s.public_rate_per_ip = Some(0);
        s.public_rate_per_visitor = Some(1);
        s.public_message_rate_per_ip = Some(1);
    })
    .await;
    let inbox = widget_inbox(&t, json!({})).await;
    // One visitor: a burst of 2 (creating the conversation took one), then 429 with
    // Retry-After.
    let (source, _) = visitor(&t, &inbox).await;
    let contact_url = t.url(&public(&inbox, &format!("/contacts/{source}")));
    let answers = all_at_once((0..20).map(|_| t.client.get(&contact_url)).collect()).await;
    let ok = answers.iter().filter(|a| a.status == 200).count();
    let limited: Vec<_> = answers.iter().filter(|a| a.status == 429).collect();
    assert_eq!(ok + limited.len(), 20);
    assert!(ok >= 1 && !limited.is_empty(), "{ok} passed");
    assert_eq!(limited[0].body["error"], "too_many_requests");
    let wait: u64 = limited[0].headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait >= 1);
    // Another visitor is not affected.
    let (other, _) = visitor(&t, &inbox).await;
    t.call(
        "GET",
        &public(&inbox, &format!("/contacts/{other}")),
        None,
        None,
    )
    .await
    .expect(200);

    // Messages from one address: burst 2 at 1/s, whatever the visitor.
    let mut requests = Vec::new();
    for _ in 0..12 {
        let (s, c) = visitor(&t, &inbox).await;
        let url = t.url(&public(
            &inbox,
            &format!("/contacts/{s}/conversations/{c}/messages"),
        ));
        requests.push(t.client.post(url).json(&json!({"content": "hi"})));
    }
    let answers = all_at_once(requests).await;
    let ok = answers.iter().filter(|a| a.status == 200).count();
    let limited: Vec<_> = answers.iter().filter(|a| a.status == 429).collect();
    assert_eq!(ok + limited.len(), 12);
    assert!(ok >= 2 && !limited.is_empty(), "{ok} passed");
    assert!(
        limited
            .iter()
            .all(|a| a.headers.contains_key("retry-after"))
    );
}

async fn bad_payloads_get_clear_errors(b: Backend) {
    let t = TestApp::start(b).await;
    let inbox = widget_inbox(&t, json!({})).await;
    let (source, conv) = visitor(&t, &inbox).await;
    let path = t.url(&public(
        &inbox,
        &format!("/contacts/{source}/conversations/{conv}/messages"),
    ));
    let malformed = read(
        t.client
            .post(&path)
            .header("content-type", "application/json")
            .body("{\"content\": ")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(malformed.status, 400);
    assert_eq!(malformed.body["error"], "bad_request");
    let huge = "x".repeat(2 * 1024 * 1024);
    let oversized = read(
        t.client
            .post(&path)
            .json(&json!({"content": huge}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(oversized.status, 413);
    // The unread rest of the body makes the connection unusable: the client is told to drop it,
    // so the next request goes on a fresh one.
    assert_eq!(oversized.headers["connection"], "close");
    let long = "x".repeat(150_001);
    let too_long = t
        .call(
            "POST",
            &public(
                &inbox,
                &format!("/contacts/{source}/conversations/{conv}/messages"),
            ),
            None,
            Some(json!({"content": long})),
        )
        .await;
    assert_eq!(too_long.status, 422);
    let wrong_type = t
        .call(
            "POST",
            &public(&inbox, &format!("/contacts/{source}/conversations")),
            None,
            Some(json!({"custom_attributes": "not an object"})),
        )
        .await;
    assert_eq!(wrong_type.status, 422);
    let unknown = t
        .call("GET", "/public/api/v1/inboxes/no-such-inbox", None, None)
        .await;
    assert_eq!(unknown.status, 404);
}
