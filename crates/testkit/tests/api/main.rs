//! Black-box tests through real HTTP, each on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail by panicking.

mod account_security;
mod agent_bots;
mod agent_deactivation;
mod assistant;
mod audit_log;
mod auth;
mod automation;
mod bad_input;
mod bulk_actions;
mod chatwoot_operations;
mod chatwoot_semantics;
mod chatwoot_webhooks;
mod client_api;
mod clients;
mod clients_more;
mod connections;
mod contact_files;
mod contacts;
mod contract;
mod conversations;
mod digest;
mod email;
mod faq_bot;
mod help_center;
mod help_center_pages;
mod isolation;
mod journeys;
mod macros;
mod messages;
mod messaging;
mod moves;
mod notifications;
mod omnichannel;
mod onboarding;
mod operations_list;
mod outbound_guard;
mod pipeline;
mod platform;
mod privacy;
mod rails_compat;
mod realtime;
mod reliability;
mod resources;
mod routing;
mod routing_settings;
mod search;
mod service_levels;
mod story;
mod surveys;
mod two_factor;
mod uploads;
mod voice;
mod web_calls;
mod web_ui;
mod webhooks;
mod widget;

use serde_json::{Value, json};
use throughline_testkit::smtp_sink::SmtpSink;
use throughline_testkit::{Backend, TestApp};

/// A contact with an identity in `inbox`, and an open conversation with one customer message.
pub struct Thread {
    pub inbox: Value,
    pub source_id: String,
    pub contact_id: i64,
    pub conversation_id: i64,
}

pub async fn thread(t: &TestApp, inbox: &Value, text: &str) -> Thread {
    let ident = inbox["inbox_identifier"].as_str().unwrap();
    let contact = t
        .call(
            "POST",
            &format!("/public/api/v1/inboxes/{ident}/contacts"),
            None,
            Some(json!({"name": "Ana Souza"})),
        )
        .await
        .expect(200);
    let source_id = contact["source_id"].as_str().unwrap().to_owned();
    let conv = t
        .call(
            "POST",
            &format!("/public/api/v1/inboxes/{ident}/contacts/{source_id}/conversations"),
            None,
            Some(json!({})),
        )
        .await
        .expect(200);
    let conversation_id = conv["id"].as_i64().unwrap();
    t.call(
        "POST",
        &format!("/public/api/v1/inboxes/{ident}/contacts/{source_id}/conversations/{conversation_id}/messages"),
        None,
        Some(json!({"content": text})),
    )
    .await
    .expect(200);
    Thread {
        inbox: inbox.clone(),
        source_id,
        contact_id: contact["id"].as_i64().unwrap(),
        conversation_id,
    }
}

/// The thread's customer writes again through the Client API.
pub async fn customer_writes(t: &TestApp, th: &Thread, text: &str) {
    let ident = th.inbox["inbox_identifier"].as_str().unwrap();
    t.call(
        "POST",
        &format!(
            "/public/api/v1/inboxes/{ident}/contacts/{}/conversations/{}/messages",
            th.source_id, th.conversation_id
        ),
        None,
        Some(json!({"content": text})),
    )
    .await
    .expect(200);
}

/// An API inbox that assigns nothing on its own: who holds a conversation follows the test's
/// assignments alone.
pub async fn quiet_inbox(t: &TestApp, name: &str) -> Value {
    let inbox = t.api_inbox(name, None).await;
    t.admin(
        "PATCH",
        &t.acc(&format!("/inboxes/{}", inbox["id"])),
        Some(json!({"enable_auto_assignment": false})),
    )
    .await
    .expect(200);
    inbox
}

/// A server whose system mail goes to a local SMTP sink.
pub async fn with_mail(b: Backend) -> (TestApp, SmtpSink) {
    let sink = SmtpSink::start().await;
    let port = sink.port;
    let t = TestApp::start_with(b, move |s| {
        s.smtp_address = Some("127.0.0.1".into());
        s.smtp_port = Some(port);
        s.smtp_security = Some("none".into());
        s.mailer_sender = Some("Acme Help <help@acme.test>".into());
    })
    .await;
    (t, sink)
}

/// The agent's unread notifications in the account.
pub async fn unread_count(t: &TestApp, token: &str) -> Value {
    t.call(
        "GET",
        &t.acc("/notifications/unread_count"),
        Some(token),
        None,
    )
    .await
    .expect(200)
}

/// The account's audit log entries, newest first.
pub async fn audit_entries(t: &TestApp) -> Vec<Value> {
    t.get(&t.acc("/audit_logs")).await["audit_logs"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}
