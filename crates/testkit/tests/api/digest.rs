//! The notification digest and Chatwoot's notification settings, on both databases: an agent who
//! leaves a mention unread gets one email in their language through the system mail with each
//! notification they chose, and never twice; what they read in the app, kinds they turned off,
//! and a second pass within the interval send nothing; a relay that refuses gives the lines back.

use std::time::Duration;

use mail_parser::MessageParser;
use serde_json::json;
use throughline_testkit::smtp_sink::Answer;
use throughline_testkit::{Backend, TestApp, on_both_databases};

use crate::{quiet_inbox, thread, unread_count, with_mail};

on_both_databases!(
    an_unread_mention_is_mailed_once_in_the_agents_language,
    notification_settings_are_chatwoots_and_checked,
);

const MINUTE: i64 = 60_000;

fn text_of(data: &[u8]) -> (String, String) {
    let m = MessageParser::default()
        .parse(data)
        .expect("a parsable message");
    (
        m.subject().unwrap_or_default().to_owned(),
        m.body_text(0).unwrap_or_default().into_owned(),
    )
}

async fn an_unread_mention_is_mailed_once_in_the_agents_language(b: Backend) {
    let (t, sink) = with_mail(b).await;
    let digest = t.app.digest().expect("system mail turns the digest on");
    let inbox = quiet_inbox(&t, "Sklep").await;
    let (zofia, zofia_token) = t.agent("zofia@example.pl", "agent").await;
    let (jan, _) = t.agent("jan@example.pl", "agent").await;
    t.post(
        &t.acc("/inbox_members"),
        json!({"inbox_id": inbox["id"], "user_ids": [zofia, jan]}),
    )
    .await;
    t.call(
        "PUT",
        "/api/v1/profile",
        Some(&zofia_token),
        Some(json!({"profile": {"locale": "pl"}})),
    )
    .await
    .expect(200);
    // Jan turned mentions off.
    let jan_token = t
        .call(
            "POST",
            "/auth/sign_in",
            None,
            Some(json!({"email": "jan@example.pl", "password": "agent-password-1"})),
        )
        .await
        .expect(200)["data"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    t.call(
        "PATCH",
        &t.acc("/notification_settings"),
        Some(&jan_token),
        Some(json!({"notification_settings": {"selected_email_flags": ["email_conversation_assignment"]}})),
    )
    .await
    .expect(200);

    let th = thread(&t, &inbox, "Gdzie jest paczka?").await;
    let conv = th.conversation_id;
    t.post(
        &t.acc(&format!("/conversations/{conv}/messages")),
        json!({"content": format!("[@Zofia](mention://user/{zofia}/Zofia) [@Jan](mention://user/{jan}/Jan) zobaczcie zamówienie"),
               "message_type": "outgoing", "private": true}),
    )
    .await;
    t.eventually(Duration::from_secs(10), "both notified", || async {
        let (z, j) = (
            unread_count(&t, &zofia_token).await,
            unread_count(&t, &jan_token).await,
        );
        (z == 1 && j == 1).then_some(())
    })
    .await;

    let now = throughline_store::now_ms();
    // Too soon: an agent at work reads it in the app first.
    let pass = throughline_service::digest::run_once(&t.app.store, &digest, now)
        .await
        .unwrap();
    assert_eq!((pass.sent, pass.failed), (0, 0));

    // The relay refuses once: nothing is lost, the next pass sends it.
    sink.script(vec![Answer::Permanent("mailbox unavailable".into())]);
    let later = now + 11 * MINUTE;
    let pass = throughline_service::digest::run_once(&t.app.store, &digest, later)
        .await
        .unwrap();
    assert_eq!((pass.sent, pass.failed), (0, 1));
    let pass = throughline_service::digest::run_once(&t.app.store, &digest, later + MINUTE)
        .await
        .unwrap();
    assert_eq!(
        (pass.sent, pass.failed),
        (1, 0),
        "only Zofia chose mentions"
    );
    // The refused attempt left nothing behind; the accepted one is the letter.
    let mails = sink.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(mails.len(), 1);
    let last = &mails[0];
    assert_eq!(last.rcpt_to, vec!["<zofia@example.pl>".to_owned()]);
    let (subject, text) = text_of(&last.data);
    let account = t.get(&t.acc("")).await["name"].as_str().unwrap().to_owned();
    assert_eq!(
        subject,
        format!("Nieprzeczytane powiadomienia w {account}: 1")
    );
    assert!(
        text.contains(&format!(
            "Wspomniano o Tobie w rozmowie #{conv}: @Zofia @Jan zobaczcie zamówienie"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("/app/accounts/{}/conversations", t.account_id)),
        "{text}"
    );

    // Never twice.
    let pass = throughline_service::digest::run_once(&t.app.store, &digest, later + 40 * MINUTE)
        .await
        .unwrap();
    assert_eq!((pass.sent, pass.failed), (0, 0));
    assert_eq!(sink.attempts(), 2);
}

async fn notification_settings_are_chatwoots_and_checked(b: Backend) {
    let t = TestApp::start(b).await;
    let (_, agent) = t.agent("agent@example.com", "agent").await;
    let path = t.acc("/notification_settings");
    let first = t.call("GET", &path, Some(&agent), None).await.expect(200);
    assert_eq!(
        first["selected_email_flags"],
        json!([
            "email_conversation_assignment",
            "email_conversation_mention"
        ])
    );
    assert_eq!(first["all_email_flags"].as_array().unwrap().len(), 5);
    let saved = t
        .call(
            "PATCH",
            &path,
            Some(&agent),
            Some(json!({"notification_settings": {"selected_email_flags": ["email_conversation_mention", "email_participating_conversation_new_message"], "selected_push_flags": []}})),
        )
        .await
        .expect(200);
    assert_eq!(
        saved["selected_email_flags"],
        json!([
            "email_conversation_mention",
            "email_participating_conversation_new_message"
        ])
    );
    assert_eq!(saved["selected_push_flags"], json!([]));
    // Each agent has their own; the administrator's are untouched.
    assert_eq!(
        t.get(&path).await["selected_email_flags"],
        first["selected_email_flags"]
    );
    for bad in [
        json!({"selected_email_flags": ["push_conversation_mention"]}),
        json!({"selected_email_flags": "email_conversation_mention"}),
        json!({"selected_push_flags": [1]}),
    ] {
        let a = t
            .call("PATCH", &path, Some(&agent), Some(bad.clone()))
            .await;
        assert!(a.status == 422 || a.status == 400, "{bad}: {:?}", a.body);
    }
}
