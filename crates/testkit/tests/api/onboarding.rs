//! A team's onboarding over the real API and a real SMTP conversation: an administrator adds
//! an agent without a password, the invitation goes out through the instance's system mail
//! (or, with none configured, its link is handed to the administrator), the agent chooses a
//! password through the link and signs in; a forgotten password is reset by mail. Links work
//! once, expire, and say nothing of who has an account.

use std::time::Duration;

use mail_parser::MessageParser;
use serde_json::{Value, json};
use throughline_testkit::{Backend, TestApp, on_both_databases};

use crate::with_mail;

on_both_databases!(
    an_invited_agent_chooses_a_password_from_the_mailed_link,
    without_system_mail_the_administrator_gets_the_link,
    a_forgotten_password_is_reset_by_mail_and_ends_old_sessions,
);

const WAIT: Duration = Duration::from_secs(10);

/// The mail's plain text, decoded, and who it went to.
fn letter(data: &[u8]) -> (String, String, String) {
    let m = MessageParser::default()
        .parse(data)
        .expect("a parsable message");
    let to = m
        .to()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .unwrap_or_default()
        .to_owned();
    let subject = m.subject().unwrap_or_default().to_owned();
    let text = m.body_text(0).unwrap_or_default().into_owned();
    (to, subject, text)
}

/// The token in a link of ours.
fn token_in(text: &str) -> String {
    let at = text
        .find("/app/auth/password/edit?reset_password_token=")
        .unwrap_or_else(|| panic!("no link in {text}"));
    text[at..]
        .split_once('=')
        .unwrap()
        .1
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

async fn choose(t: &TestApp, token: &str, password: &str, confirmation: &str) -> (u16, Value) {
    let a = t
        .call(
            "PUT",
            "/auth/password",
            None,
            Some(json!({"reset_password_token": token, "password": password, "password_confirmation": confirmation})),
        )
        .await;
    (a.status, a.body)
}

async fn sign_in(t: &TestApp, email: &str, password: &str) -> u16 {
    t.call(
        "POST",
        "/auth/sign_in",
        None,
        Some(json!({"email": email, "password": password})),
    )
    .await
    .status
}

async fn an_invited_agent_chooses_a_password_from_the_mailed_link(b: Backend) {
    let (t, sink) = with_mail(b).await;
    t.admin(
        "PATCH",
        &t.acc(""),
        Some(json!({"name": "Loja Acme", "locale": "pt-BR"})),
    )
    .await
    .expect(200);
    let email = "lucja@acme.test";
    let added = t
        .post(
            &t.acc("/agents"),
            json!({"name": "Łucja Wiśniewska", "email": email, "role": "agent"}),
        )
        .await;
    assert_eq!(added["email"], email, "the agent as Chatwoot shows it");
    assert_eq!(added["invitation"]["email_sent"], true);
    assert!(added["invitation"].get("url").is_none(), "{added}");
    assert!(added["invitation"].get("expires_at").is_none(), "{added}");

    let mail = sink.wait_for(1, WAIT).await;
    assert_eq!(mail[0].rcpt_to, [format!("<{email}>")]);
    assert_eq!(mail[0].mail_from, "<help@acme.test>");
    let (to, subject, text) = letter(&mail[0].data);
    assert_eq!(to, email);
    // In the account's language.
    assert!(subject.contains("Loja Acme"), "{subject}");
    assert!(text.contains("senha"), "{text}");
    assert!(text.contains("Łucja Wiśniewska"), "{text}");
    let token = token_in(&text);

    // Not signed in yet: no password.
    assert_eq!(sign_in(&t, email, "a-good-password-1").await, 401);
    let seen = t
        .call(
            "GET",
            &format!("/auth/password/edit?reset_password_token={token}"),
            None,
            None,
        )
        .await
        .expect(200);
    assert_eq!(seen["email"], email);
    assert_eq!(seen["purpose"], "invitation");
    // The policy and the confirmation are checked before the link is spent.
    let (status, body) = choose(&t, &token, "short", "short").await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = choose(&t, &token, "a-good-password-1", "another-one-22").await;
    assert_eq!(status, 422);
    assert_eq!(body["errors"][0]["field"], "password_confirmation");
    let (status, _) = choose(&t, &token, "a-good-password-1", "a-good-password-1").await;
    assert_eq!(status, 200);
    assert_eq!(sign_in(&t, email, "a-good-password-1").await, 200);
    // Once only.
    let (status, _) = choose(&t, &token, "someone-elses-pass", "someone-elses-pass").await;
    assert_eq!(status, 401);
    t.call(
        "GET",
        &format!("/auth/password/edit?reset_password_token={token}"),
        None,
        None,
    )
    .await
    .expect(401);
    // Forged and mangled tokens open nothing; an address that keeps trying is stopped.
    let mut statuses = Vec::new();
    for forged in [
        "",
        "x",
        "abc.def",
        &format!("{token}x"),
        &token.replace('.', ""),
    ] {
        statuses.push(
            choose(&t, forged, "a-good-password-2", "a-good-password-2")
                .await
                .0,
        );
    }
    assert_eq!(statuses[0], 401);
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    // With a password chosen, there is nothing to resend.
    t.admin(
        "POST",
        &t.acc(&format!("/agents/{}/resend_invitation", added["id"])),
        None,
    )
    .await
    .expect(422);
}

async fn without_system_mail_the_administrator_gets_the_link(b: Backend) {
    let t = TestApp::start(b).await;
    let added = t
        .post(
            &t.acc("/agents"),
            json!({"name": "Jan Kowalski", "email": "jan@acme.test", "role": "agent"}),
        )
        .await;
    assert_eq!(added["invitation"]["email_sent"], false);
    assert_eq!(added["invitation"]["email_error_code"], "no_system_mail");
    let url = added["invitation"]["url"].as_str().unwrap().to_owned();
    assert!(
        url.starts_with(&t.url("/app/auth/password/edit?reset_password_token=")),
        "{url}"
    );
    let first = token_in(&url);
    // An agent may not resend; an administrator gets a new link, and the old one is dead.
    let (_, agent_token) = t.agent("ana@acme.test", "agent").await;
    let resend = t.acc(&format!("/agents/{}/resend_invitation", added["id"]));
    t.call("POST", &resend, Some(&agent_token), None)
        .await
        .expect(403);
    let again = t.admin("POST", &resend, None).await.expect(200);
    let second = token_in(again["url"].as_str().unwrap());
    assert_ne!(first, second);
    let (status, _) = choose(&t, &first, "jan-password-123", "jan-password-123").await;
    assert_eq!(status, 401);
    let (status, _) = choose(&t, &second, "jan-password-123", "jan-password-123").await;
    assert_eq!(status, 200);
    assert_eq!(sign_in(&t, "jan@acme.test", "jan-password-123").await, 200);
    // Someone with an account elsewhere has a password already: no link to show (without
    // system mail, this is how the answer differs from a new user's).
    let beta = crate::platform::second_account(&t, "Beta", "ana@beta.test").await;
    let existing = t
        .post(
            &t.acc("/agents"),
            json!({"name": "Ana", "email": "ana@beta.test", "role": "agent"}),
        )
        .await;
    assert_eq!(existing["invitation"]["email_sent"], false);
    assert!(existing["invitation"].get("url").is_none(), "{existing}");
    assert_ne!(existing["id"], beta.admin_id);
    // A user given a password by the administrator is not invited.
    let with_password = t
        .post(
            &t.acc("/agents"),
            json!({"name": "Bia", "email": "bia@acme.test", "role": "agent", "password": "bia-password-123"}),
        )
        .await;
    assert!(with_password.get("invitation").is_none(), "{with_password}");
}

async fn a_forgotten_password_is_reset_by_mail_and_ends_old_sessions(b: Backend) {
    let (t, sink) = with_mail(b).await;
    let (_, old_token) = t.agent("ana@acme.test", "agent").await;
    t.call(
        "PUT",
        "/api/v1/profile",
        Some(&old_token),
        Some(json!({"locale": "pl"})),
    )
    .await
    .expect(200);
    let session = t
        .call(
            "POST",
            "/auth/sign_in",
            None,
            Some(json!({"email": "ana@acme.test", "password": "agent-password-1"})),
        )
        .await;
    let cookie = session.headers["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();

    // Unknown and known addresses get the same answer; only the known one gets mail.
    let ask = |email: &'static str| {
        let t = &t;
        async move {
            t.call(
                "POST",
                "/auth/password",
                None,
                Some(json!({ "email": email })),
            )
            .await
        }
    };
    let unknown = ask("nobody@acme.test").await;
    let known = ask("ANA@acme.test").await;
    assert_eq!(unknown.status, 200);
    assert_eq!(unknown.body, known.body);
    let mail = sink.wait_for(1, WAIT).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.received().len(), 1, "nothing for the unknown address");
    assert_eq!(mail[0].rcpt_to, ["<ana@acme.test>"]);
    let (_, subject, text) = letter(&mail[0].data);
    assert!(subject.contains("hasła"), "in her language: {subject}");
    let token = token_in(&text);
    let seen = t
        .call(
            "GET",
            &format!("/auth/password/edit?reset_password_token={token}"),
            None,
            None,
        )
        .await
        .expect(200);
    assert_eq!(seen["purpose"], "reset");

    let (status, _) = choose(&t, &token, "brand-new-password", "brand-new-password").await;
    assert_eq!(status, 200);
    assert_eq!(sign_in(&t, "ana@acme.test", "agent-password-1").await, 401);
    assert_eq!(
        sign_in(&t, "ana@acme.test", "brand-new-password").await,
        200
    );
    // The browser session from before the reset is over.
    let profile = t
        .client
        .get(t.url("/api/v1/profile"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(profile.status().as_u16(), 401);

    // Bad requests are told so; a flood is stopped.
    for bad in [
        json!({}),
        json!({"email": ""}),
        json!({"email": "no-at-sign"}),
        json!({"email": 42}),
    ] {
        let a = t
            .call("POST", "/auth/password", None, Some(bad.clone()))
            .await;
        assert!(a.status == 422 || a.status == 400, "{bad}: {}", a.status);
    }
    let mut last = 200;
    for _ in 0..30 {
        last = ask("ana@acme.test").await.status;
        if last == 429 {
            break;
        }
    }
    assert_eq!(last, 429);
}
