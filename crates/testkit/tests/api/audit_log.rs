//! The audit log (issue #18): every recorded action, performed through the API, leaves one
//! entry with who did it, to what, from where and what changed — never a secret; only the
//! account's administrators read it, and only their account's; a refused change writes nothing;
//! filters and pages; old entries go by each account's retention.

use std::time::Duration;

use serde_json::{Value, json};
use throughline_store::audit::{self as store_audit, Change, Origin, action, kind};
use throughline_testkit::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Answer, Backend, TestApp, on_both_databases,
};

use crate::platform::second_account;
use crate::{Thread, thread};

on_both_databases!(
    sign_ins_sign_outs_and_tokens_reach_every_account_of_the_user,
    membership_and_role_changes_are_recorded,
    configuration_changes_are_recorded_and_secrets_never_are,
    merges_and_splits_are_recorded,
    only_the_accounts_administrators_read_it,
    refused_changes_write_nothing,
    filters_pages_and_order,
    retention_removes_old_entries_per_account,
);

/// The client address the harness reports as the trusted proxy would (RFC 5737).
const CLIENT: &str = "198.51.100.23";
const WAIT: Duration = Duration::from_secs(10);

/// Throughline behind a proxy it trusts, so each request can say where it comes from.
async fn start(b: Backend) -> TestApp {
    TestApp::start_with(b, |s| s.trust_proxy = Some(true)).await
}

/// A request from `CLIENT` (through the trusted proxy).
async fn send(
    t: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Answer {
    let mut req = t
        .client
        .request(method.parse().unwrap(), t.url(path))
        .header("x-forwarded-for", CLIENT);
    if let Some(token) = token {
        req = req.header("api_access_token", token);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    throughline_testkit::read(req.send().await.unwrap()).await
}

/// As the first administrator, from `CLIENT`.
async fn admin(t: &TestApp, method: &str, path: &str, body: Option<Value>) -> Value {
    send(t, method, path, Some(&t.token.clone()), body)
        .await
        .expect(200)
}

/// Every entry of an account's log (newest first), read with `token`.
async fn log_of(t: &TestApp, account_id: i64, token: &str, query: &str) -> Vec<Value> {
    let mut all = Vec::new();
    for page in 1.. {
        let got = t
            .call(
                "GET",
                &format!(
                    "/api/v1/accounts/{account_id}/audit_logs?per_page=100&page={page}&{query}"
                ),
                Some(token),
                None,
            )
            .await
            .expect(200);
        let list = got["audit_logs"].as_array().unwrap().clone();
        let done = list.len() < 100;
        all.extend(list);
        if done {
            break;
        }
    }
    all
}

async fn log(t: &TestApp) -> Vec<Value> {
    log_of(t, t.account_id, &t.token.clone(), "").await
}

/// The one entry about (`type`, `id`) with `action`; fails showing the whole log.
fn entry<'a>(log: &'a [Value], auditable_type: &str, id: i64, act: &str) -> &'a Value {
    let found: Vec<&Value> = log
        .iter()
        .filter(|e| {
            e["auditable_type"] == auditable_type && e["auditable_id"] == id && e["action"] == act
        })
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one {auditable_type} #{id} {act} entry expected in {}",
        serde_json::to_string_pretty(log).unwrap()
    );
    found[0]
}

/// The first administrator's user id.
async fn admin_id(t: &TestApp) -> i64 {
    t.get("/api/v1/profile").await["id"].as_i64().unwrap()
}

/// Asserts who acted and from where.
#[track_caller]
fn by(e: &Value, user_id: i64, username: &str, address: &str) {
    assert_eq!(e["user_id"], user_id, "{e}");
    assert_eq!(e["user_type"], "User", "{e}");
    assert_eq!(e["username"], username, "{e}");
    assert_eq!(e["remote_address"], address, "{e}");
    assert!(e["created_at"].as_i64().unwrap() > 1_700_000_000, "{e}");
}

#[track_caller]
fn no_secret_in(log: &[Value], secrets: &[&str]) {
    let text = serde_json::to_string(log).unwrap();
    for s in secrets {
        assert!(!s.is_empty());
        assert!(!text.contains(s), "the audit log contains a secret: {s}");
    }
}

async fn sign_in_cookie(t: &TestApp, email: &str, password: &str) -> String {
    let resp = t
        .client
        .post(t.url("/auth/sign_in"))
        .header("x-forwarded-for", CLIENT)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

async fn sign_ins_sign_outs_and_tokens_reach_every_account_of_the_user(b: Backend) {
    let t = start(b).await;
    let me = admin_id(&t).await;
    // The first administrator is also a member of Beta (invited there, and accepted).
    let beta = second_account(&t, "Beta", "admin@beta.test").await;
    let invited = t
        .call(
            "POST",
            &format!("/api/v1/accounts/{}/agents", beta.id),
            Some(&beta.token),
            Some(json!({"name": "Acme admin", "email": ADMIN_EMAIL, "role": "agent"})),
        )
        .await
        .expect(200);
    send(
        &t,
        "POST",
        &format!("/api/v1/profile/invitations/{}/accept", invited["id"]),
        Some(&t.token.clone()),
        None,
    )
    .await
    .expect(200);

    // The harness signed in before (from 127.0.0.1, Acme only then).
    let acme = log(&t).await;
    let first = acme
        .iter()
        .find(|e| e["action"] == "sign_in")
        .expect("the harness's sign-in");
    by(first, me, ADMIN_EMAIL, "127.0.0.1");
    assert_eq!(first["auditable_type"], "User");
    assert_eq!(first["auditable_id"], me);

    // An email nobody uses, then a wrong password for a real one.
    let unknown = "nobody-here@acme.test";
    let refused = send(
        &t,
        "POST",
        "/auth/sign_in",
        None,
        Some(json!({"email": unknown, "password": "whatever-1"})),
    )
    .await;
    assert_eq!(refused.status, 401);
    let wrong = "not-the-password-9";
    let refused = send(
        &t,
        "POST",
        "/auth/sign_in",
        None,
        Some(json!({"email": ADMIN_EMAIL, "password": wrong})),
    )
    .await;
    assert_eq!(refused.status, 401);
    // Written after the answer (so timing tells nothing): it appears shortly, in both accounts.
    for account in [t.account_id, beta.id] {
        let token = if account == beta.id {
            beta.token.clone()
        } else {
            t.token.clone()
        };
        let failed = t
            .eventually(WAIT, "the failed sign-in's entry", || {
                let token = token.clone();
                let t = &t;
                async move {
                    log_of(t, account, &token, "action=sign_in_failed")
                        .await
                        .first()
                        .cloned()
                }
            })
            .await;
        assert_eq!(failed["auditable_type"], "User");
        assert_eq!(failed["auditable_id"], me);
        assert!(failed.get("user_id").is_none(), "not signed in: {failed}");
        assert_eq!(failed["username"], ADMIN_EMAIL);
        assert_eq!(failed["remote_address"], CLIENT);
        assert_eq!(failed["audited_changes"], json!({"reason": "password"}));
    }
    // The unknown email is in no account's log.
    for l in [log(&t).await, log_of(&t, beta.id, &beta.token, "").await] {
        assert!(!serde_json::to_string(&l).unwrap().contains(unknown));
    }

    // A sign-in from the client's address, and the browser session's sign-out.
    let cookie = sign_in_cookie(&t, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let out = t
        .client
        .delete(t.url("/auth/sign_out"))
        .header("cookie", &cookie)
        .header("x-forwarded-for", CLIENT)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 200);
    // The access token is replaced.
    let old_token = t.token.clone();
    let profile = admin(&t, "POST", "/api/v1/profile/reset_access_token", None).await;
    let new_token = profile["access_token"].as_str().unwrap().to_owned();
    assert_ne!(new_token, old_token);

    let acme_now = log_of(&t, t.account_id, &new_token, "").await;
    for l in [acme_now, log_of(&t, beta.id, &beta.token, "").await] {
        let signed_in: Vec<&Value> = l
            .iter()
            .filter(|e| e["action"] == "sign_in" && e["remote_address"] == CLIENT)
            .collect();
        assert_eq!(signed_in.len(), 1, "{l:#?}");
        by(signed_in[0], me, ADMIN_EMAIL, CLIENT);
        let out = entry(&l, "User", me, "sign_out");
        by(out, me, ADMIN_EMAIL, CLIENT);
        let reset = entry(&l, "User", me, "update");
        by(reset, me, ADMIN_EMAIL, CLIENT);
        assert_eq!(
            reset["audited_changes"],
            json!({"access_token": "[changed]"})
        );
        // Newest first.
        let ids: Vec<i64> = l.iter().map(|e| e["id"].as_i64().unwrap()).collect();
        assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");
        let session = cookie.split_once('=').unwrap().1;
        no_secret_in(
            &l,
            &[ADMIN_PASSWORD, wrong, &old_token, &new_token, session],
        );
    }
}

async fn membership_and_role_changes_are_recorded(b: Backend) {
    let t = start(b).await;
    let me = admin_id(&t).await;
    let beta = second_account(&t, "Beta", "admin@beta.test").await;
    let gamma = second_account(&t, "Gamma", "admin@gamma.test").await;

    // A new agent, promoted, given a password, then removed.
    let jan = admin(
        &t,
        "POST",
        &t.acc("/agents"),
        Some(json!({"name": "Jan", "email": "jan@acme.test", "role": "agent", "password": "jan-password-1"})),
    )
    .await;
    let jan_id = jan["id"].as_i64().unwrap();
    admin(
        &t,
        "PATCH",
        &t.acc(&format!("/agents/{jan_id}")),
        Some(json!({"role": "administrator"})),
    )
    .await;
    admin(
        &t,
        "PATCH",
        &t.acc(&format!("/agents/{jan_id}")),
        Some(json!({"password": "jan-password-2"})),
    )
    .await;

    // Existing users are invited: one accepts, one declines.
    let ana = admin(
        &t,
        "POST",
        &t.acc("/agents"),
        Some(json!({"name": "Ana (Beta)", "email": "admin@beta.test", "role": "administrator"})),
    )
    .await;
    let ana_pending = ana["id"].as_i64().unwrap();
    send(
        &t,
        "POST",
        &format!("/api/v1/profile/invitations/{ana_pending}/accept"),
        Some(&beta.token),
        None,
    )
    .await
    .expect(200);
    let gil = admin(
        &t,
        "POST",
        &t.acc("/agents"),
        Some(json!({"name": "Gil", "email": "admin@gamma.test", "role": "agent"})),
    )
    .await;
    let gil_pending = gil["id"].as_i64().unwrap();
    send(
        &t,
        "POST",
        &format!("/api/v1/profile/invitations/{gil_pending}/decline"),
        Some(&gamma.token),
        None,
    )
    .await
    .expect(200);

    // Team and inbox membership.
    let team = admin(
        &t,
        "POST",
        &t.acc("/teams"),
        Some(json!({"name": "support"})),
    )
    .await;
    let team_id = team["id"].as_i64().unwrap();
    admin(
        &t,
        "POST",
        &t.acc(&format!("/teams/{team_id}/team_members")),
        Some(json!({"user_ids": [jan_id]})),
    )
    .await;
    admin(
        &t,
        "DELETE",
        &t.acc(&format!("/teams/{team_id}/team_members")),
        Some(json!({"user_ids": [jan_id]})),
    )
    .await;
    let inbox = t.api_inbox("Front desk", None).await;
    let inbox_id = inbox["id"].as_i64().unwrap();
    admin(
        &t,
        "POST",
        &t.acc("/inbox_members"),
        Some(json!({"inbox_id": inbox_id, "user_ids": [jan_id]})),
    )
    .await;
    admin(
        &t,
        "PATCH",
        &t.acc("/inbox_members"),
        Some(json!({"inbox_id": inbox_id, "user_ids": [me]})),
    )
    .await;
    admin(&t, "DELETE", &t.acc(&format!("/agents/{jan_id}")), None).await;

    let l = log(&t).await;
    let created = entry(&l, "AccountUser", jan_id, "create");
    by(created, me, ADMIN_EMAIL, CLIENT);
    assert_eq!(
        created["audited_changes"],
        json!({"name": "Jan", "email": "jan@acme.test", "role": "agent",
            "availability": "online", "auto_offline": true})
    );
    assert_eq!(created["auditable"]["user_id"], jan_id);
    assert_eq!(created["auditable"]["name"], "Jan");
    // Chatwoot's associated account.
    assert_eq!(created["associated_type"], "Account");
    assert_eq!(created["associated_id"], t.account_id);
    let updates: Vec<&Value> = l
        .iter()
        .filter(|e| e["auditable_id"] == jan_id && e["action"] == "update")
        .collect();
    assert_eq!(updates.len(), 2, "{l:#?}");
    // Newest first: the password, then the role.
    assert_eq!(
        updates[1]["audited_changes"],
        json!({"role": ["agent", "administrator"]})
    );
    assert_eq!(
        updates[0]["audited_changes"],
        json!({"password": "[changed]"})
    );
    by(updates[1], me, ADMIN_EMAIL, CLIENT);
    let removed = entry(&l, "AccountUser", jan_id, "destroy");
    assert_eq!(removed["audited_changes"]["role"], "administrator");
    assert_eq!(removed["audited_changes"]["email"], "jan@acme.test");

    // An invitation reads exactly like a new agent: same fields, the typed name and email.
    let invited = entry(&l, "AccountUser", ana_pending, "create");
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(
        keys(&invited["audited_changes"]),
        keys(&created["audited_changes"])
    );
    assert_eq!(invited["audited_changes"]["name"], "Ana (Beta)");
    // The invited user's own id is not revealed.
    assert_ne!(ana_pending, beta.admin_id);
    assert_eq!(invited["auditable"]["user_id"], ana_pending);
    // Accepted by Ana herself, from her address; declined by Gil.
    let accepted = entry(&l, "AccountUser", beta.admin_id, "accept_invitation");
    by(accepted, beta.admin_id, "admin@beta.test", CLIENT);
    assert_eq!(
        accepted["audited_changes"],
        json!({"invitation_id": ana_pending, "role": "administrator"})
    );
    let declined = entry(&l, "AccountUser", gil_pending, "decline_invitation");
    by(declined, gamma.admin_id, "admin@gamma.test", CLIENT);
    assert_eq!(declined["auditable"]["name"], "Gil");

    // Memberships: who joined and left which team and inbox.
    let joined = entry(&l, "TeamMember", team_id, "create");
    assert_eq!(
        joined["audited_changes"],
        json!({"team_id": team_id, "user_id": jan_id})
    );
    assert_eq!(joined["auditable"]["name"], "support");
    entry(&l, "TeamMember", team_id, "destroy");
    let inbox_members: Vec<(String, i64)> = l
        .iter()
        .filter(|e| e["auditable_type"] == "InboxMember")
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["audited_changes"]["user_id"].as_i64().unwrap(),
            )
        })
        .collect();
    // The PATCH made `me` the only member: Jan left, I joined (newest first).
    assert_eq!(
        inbox_members,
        vec![
            ("destroy".to_owned(), jan_id),
            ("create".to_owned(), me),
            ("create".to_owned(), jan_id)
        ]
    );
    no_secret_in(&l, &["jan-password-1", "jan-password-2"]);
}

async fn configuration_changes_are_recorded_and_secrets_never_are(b: Backend) {
    // Telegram's API at a local fake (setWebhook runs after an inbox is created or changed).
    let fake = throughline_testkit::providers::FakeProviders::start().await;
    let url = fake.url.clone();
    let t = TestApp::start_with(b, move |s| {
        s.trust_proxy = Some(true);
        s.telegram_api_url = Some(url);
    })
    .await;
    let me = admin_id(&t).await;

    // The account's settings.
    admin(
        &t,
        "PATCH",
        &t.acc(""),
        Some(json!({"name": "Acme Ltd", "audit_log_retention_days": 90})),
    )
    .await;

    // An API inbox, changed and deleted.
    let api = admin(
        &t,
        "POST",
        &t.acc("/inboxes"),
        Some(json!({"name": "App", "channel": {"type": "api", "webhook_url": "http://127.0.0.1:9/cb"}})),
    )
    .await;
    let api_id = api["id"].as_i64().unwrap();
    let hmac = api["hmac_token"].as_str().unwrap().to_owned();
    admin(
        &t,
        "PATCH",
        &t.acc(&format!("/inboxes/{api_id}")),
        Some(json!({"name": "Mobile app", "greeting_enabled": true, "greeting_message": "Hi"})),
    )
    .await;
    admin(&t, "DELETE", &t.acc(&format!("/inboxes/{api_id}")), None).await;

    // An email inbox whose SMTP password changes.
    let mail = admin(
        &t,
        "POST",
        &t.acc("/inboxes"),
        Some(
            json!({"name": "Mail", "channel": {"type": "email", "email": "help@acme.test",
            "smtp_enabled": true, "smtp_address": "127.0.0.1", "smtp_port": 2525,
            "smtp_login": "mailer", "smtp_password": "smtp-secret-one",
            "smtp_enable_starttls_auto": false, "smtp_enable_ssl_tls": false}}),
        ),
    )
    .await;
    let mail_id = mail["id"].as_i64().unwrap();
    admin(
        &t,
        "PATCH",
        &t.acc(&format!("/inboxes/{mail_id}")),
        Some(json!({"channel": {"smtp_password": "smtp-secret-two"}})),
    )
    .await;

    // A Telegram inbox whose bot token changes (provider credentials).
    let first_token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";
    let second_token = "123456789:BBHdqTcvCH1vGWJxfSeofSAs0K5PALDsbx";
    let tg = admin(
        &t,
        "POST",
        &t.acc("/inboxes"),
        Some(
            json!({"name": "Telegram", "channel": {"type": "telegram", "bot_token": first_token}}),
        ),
    )
    .await;
    let tg_id = tg["id"].as_i64().unwrap();
    admin(
        &t,
        "PATCH",
        &t.acc(&format!("/inboxes/{tg_id}")),
        Some(json!({"channel": {"bot_token": second_token}})),
    )
    .await;

    // A webhook, an agent bot and a custom attribute: created, changed, deleted.
    let hook = admin(
        &t,
        "POST",
        &t.acc("/webhooks"),
        Some(json!({"url": "http://127.0.0.1:9/hook", "subscriptions": ["message_created"]})),
    )
    .await;
    let hook_id = hook["id"].as_i64().unwrap();
    let hook_secret = hook["secret"].as_str().unwrap().to_owned();
    admin(
        &t,
        "PATCH",
        &t.acc(&format!("/webhooks/{hook_id}")),
        Some(json!({"subscriptions": ["conversation_created"]})),
    )
    .await;
    admin(&t, "DELETE", &t.acc(&format!("/webhooks/{hook_id}")), None).await;
    let bot = admin(
        &t,
        "POST",
        &t.acc("/agent_bots"),
        Some(json!({"name": "Helper"})),
    )
    .await;
    let bot_id = bot["id"].as_i64().unwrap();
    let bot_token = bot["access_token"].as_str().unwrap().to_owned();
    admin(
        &t,
        "PATCH",
        &t.acc(&format!("/agent_bots/{bot_id}")),
        Some(json!({"description": "answers at night"})),
    )
    .await;
    admin(&t, "DELETE", &t.acc(&format!("/agent_bots/{bot_id}")), None).await;
    let attr = admin(
        &t,
        "POST",
        &t.acc("/custom_attribute_definitions"),
        Some(
            json!({"attribute_display_name": "Tier", "attribute_key": "tier",
            "attribute_model": "contact_attribute", "attribute_display_type": "list",
            "attribute_values": ["gold"]}),
        ),
    )
    .await;
    let attr_id = attr["id"].as_i64().unwrap();
    admin(
        &t,
        "PATCH",
        &t.acc(&format!("/custom_attribute_definitions/{attr_id}")),
        Some(json!({"attribute_values": ["gold", "silver"]})),
    )
    .await;
    admin(
        &t,
        "DELETE",
        &t.acc(&format!("/custom_attribute_definitions/{attr_id}")),
        None,
    )
    .await;

    let l = log(&t).await;
    let account = entry(&l, "Account", t.account_id, "update");
    by(account, me, ADMIN_EMAIL, CLIENT);
    assert_eq!(
        account["audited_changes"],
        json!({"name": ["Acme", "Acme Ltd"], "settings.audit_log_retention_days": [null, 90]})
    );

    let created = entry(&l, "Inbox", api_id, "create");
    by(created, me, ADMIN_EMAIL, CLIENT);
    assert_eq!(created["audited_changes"]["name"], "App");
    assert_eq!(
        created["audited_changes"]["webhook_url"],
        "http://127.0.0.1:9/cb"
    );
    assert_eq!(created["audited_changes"]["hmac_token"], "[changed]");
    let changed = entry(&l, "Inbox", api_id, "update");
    assert_eq!(
        changed["audited_changes"],
        json!({"name": ["App", "Mobile app"], "greeting_enabled": [false, true],
            "greeting_message": [null, "Hi"]})
    );
    assert_eq!(changed["auditable"]["name"], "Mobile app");
    let deleted = entry(&l, "Inbox", api_id, "destroy");
    assert_eq!(deleted["audited_changes"]["name"], "Mobile app");

    let mail_created = entry(&l, "Inbox", mail_id, "create");
    assert_eq!(
        mail_created["audited_changes"]["email_channel.smtp.password"],
        "[changed]"
    );
    assert_eq!(
        mail_created["audited_changes"]["email_channel.smtp.login"],
        "mailer"
    );
    let mail_changed = entry(&l, "Inbox", mail_id, "update");
    assert_eq!(
        mail_changed["audited_changes"],
        json!({"email_channel.smtp.password": "[changed]"})
    );
    let tg_changed = entry(&l, "Inbox", tg_id, "update");
    assert_eq!(
        tg_changed["audited_changes"]["provider_channel.bot_token"],
        "[changed]"
    );

    let hook_created = entry(&l, "Webhook", hook_id, "create");
    assert_eq!(hook_created["audited_changes"]["secret"], "[changed]");
    assert_eq!(
        hook_created["audited_changes"]["subscriptions"],
        json!(["message_created"])
    );
    assert_eq!(
        entry(&l, "Webhook", hook_id, "update")["audited_changes"],
        json!({"subscriptions": [["message_created"], ["conversation_created"]]})
    );
    assert_eq!(
        entry(&l, "Webhook", hook_id, "destroy")["auditable"]["url"],
        "http://127.0.0.1:9/hook"
    );
    let bot_created = entry(&l, "AgentBot", bot_id, "create");
    assert_eq!(bot_created["audited_changes"]["access_token"], "[changed]");
    assert_eq!(bot_created["audited_changes"]["name"], "Helper");
    assert_eq!(
        entry(&l, "AgentBot", bot_id, "update")["audited_changes"],
        json!({"description": [null, "answers at night"]})
    );
    entry(&l, "AgentBot", bot_id, "destroy");
    assert_eq!(
        entry(&l, "CustomAttributeDefinition", attr_id, "create")["auditable"]["attribute_key"],
        "tier"
    );
    assert_eq!(
        entry(&l, "CustomAttributeDefinition", attr_id, "update")["audited_changes"],
        json!({"attribute_values": [["gold"], ["gold", "silver"]]})
    );
    entry(&l, "CustomAttributeDefinition", attr_id, "destroy");

    no_secret_in(
        &l,
        &[
            &hmac,
            "smtp-secret-one",
            "smtp-secret-two",
            first_token,
            second_token,
            "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
            &hook_secret,
            &bot_token,
            &t.token,
        ],
    );
}

async fn merges_and_splits_are_recorded(b: Backend) {
    let t = start(b).await;
    let me = admin_id(&t).await;
    // Two contacts merged: ids only, nothing of the customer.
    let base = admin(
        &t,
        "POST",
        &t.acc("/contacts"),
        Some(json!({"name": "Carla Private", "email": "carla@private.test"})),
    )
    .await["payload"]["contact"]["id"]
        .as_i64()
        .unwrap();
    let dup = admin(
        &t,
        "POST",
        &t.acc("/contacts"),
        Some(json!({"name": "Carla Duplicate", "phone_number": "+5521987654321"})),
    )
    .await["payload"]["contact"]["id"]
        .as_i64()
        .unwrap();
    admin(
        &t,
        "POST",
        &t.acc("/actions/contact_merge"),
        Some(json!({"base_contact_id": base, "mergee_contact_id": dup})),
    )
    .await;

    // Two conversations of one customer merged, then a message split out.
    let inbox = t.api_inbox("App", None).await;
    let th: Thread = thread(&t, &inbox, "first question").await;
    let ident = inbox["inbox_identifier"].as_str().unwrap();
    let conversations = format!(
        "/public/api/v1/inboxes/{ident}/contacts/{}/conversations",
        th.source_id
    );
    let second = t
        .call("POST", &conversations, None, Some(json!({})))
        .await
        .expect(200)["id"]
        .as_i64()
        .unwrap();
    t.call(
        "POST",
        &format!("{conversations}/{second}/messages"),
        None,
        Some(json!({"content": "second question"})),
    )
    .await
    .expect(200);
    let target = th.conversation_id;
    admin(
        &t,
        "POST",
        &t.acc(&format!("/conversations/{target}/merge")),
        Some(json!({"source_conversation_id": second})),
    )
    .await;
    let messages = t
        .get(&t.acc(&format!("/conversations/{target}/messages")))
        .await["payload"]
        .as_array()
        .unwrap()
        .clone();
    let moved = messages
        .iter()
        .find(|m| m["content"] == "second question")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let created = admin(
        &t,
        "POST",
        &t.acc(&format!("/conversations/{target}/split")),
        Some(json!({"message_ids": [moved]})),
    )
    .await["id"]
        .as_i64()
        .unwrap();

    let l = log(&t).await;
    let merged = entry(&l, "Contact", base, "merge");
    by(merged, me, ADMIN_EMAIL, CLIENT);
    assert_eq!(merged["audited_changes"], json!({"mergee_contact_id": dup}));
    let c_merged = entry(&l, "Conversation", target, "merge");
    by(c_merged, me, ADMIN_EMAIL, CLIENT);
    assert_eq!(
        c_merged["audited_changes"],
        json!({"source_conversation_id": second})
    );
    let split = entry(&l, "Conversation", target, "split");
    assert_eq!(
        split["audited_changes"],
        json!({"new_conversation_id": created, "message_ids": [moved]})
    );
    no_secret_in(
        &l,
        &["Carla", "carla@private.test", "987654321", "question"],
    );
}

async fn only_the_accounts_administrators_read_it(b: Backend) {
    let t = start(b).await;
    let inbox = admin(
        &t,
        "POST",
        &t.acc("/inboxes"),
        Some(json!({"name": "alpha-only-inbox", "channel": {"type": "api"}})),
    )
    .await;
    let (_, agent_token) = t.agent("agent@acme.test", "agent").await;
    let path = t.acc("/audit_logs");
    let refused = t.call("GET", &path, Some(&agent_token), None).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.body.get("audit_logs").is_none());
    let anonymous = t.call("GET", &path, None, None).await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);
    let bot = admin(
        &t,
        "POST",
        &t.acc("/agent_bots"),
        Some(json!({"name": "Bot"})),
    )
    .await;
    let bot_token = bot["access_token"].as_str().unwrap();
    assert_eq!(
        t.call("GET", &path, Some(bot_token), None).await.status,
        403
    );

    // Another account's administrator: refused here, and their own log has none of this.
    let beta = second_account(&t, "Beta", "admin@beta.test").await;
    let crossed = t.call("GET", &path, Some(&beta.token), None).await;
    assert_eq!(crossed.status, 403, "{}", crossed.body);
    let theirs = log_of(&t, beta.id, &beta.token, "").await;
    assert!(!theirs.is_empty(), "Beta's own sign-in is in its log");
    for e in &theirs {
        assert_eq!(e["associated_id"], beta.id, "{e}");
    }
    let text = serde_json::to_string(&theirs).unwrap();
    assert!(!text.contains("alpha-only-inbox") && !text.contains("agent@acme.test"));
    // …while this account's log has them.
    let ours = log(&t).await;
    entry(&ours, "Inbox", inbox["id"].as_i64().unwrap(), "create");
    assert!(ours.iter().all(|e| e["associated_id"] == t.account_id));
    // Nothing changes or deletes an entry through the API.
    let first = ours[0]["id"].as_i64().unwrap();
    for m in ["PATCH", "PUT", "DELETE"] {
        let got = t
            .admin(m, &t.acc(&format!("/audit_logs/{first}")), Some(json!({})))
            .await;
        assert!(
            [404, 405].contains(&got.status),
            "{m}: {} {}",
            got.status,
            got.body
        );
        let got = t.admin(m, &path, Some(json!({}))).await;
        assert!([404, 405].contains(&got.status), "{m}: {}", got.status);
    }
}

async fn refused_changes_write_nothing(b: Backend) {
    let t = start(b).await;
    let me = admin_id(&t).await;
    let (_, agent_token) = t.agent("agent@acme.test", "agent").await;
    let team = admin(
        &t,
        "POST",
        &t.acc("/teams"),
        Some(json!({"name": "support"})),
    )
    .await;
    let before = log(&t).await;

    let attempts: Vec<(&str, String, Option<&str>, Value, u16)> = vec![
        (
            "POST",
            t.acc("/agents"),
            None,
            json!({"name": "X", "email": "x@acme.test", "role": "boss"}),
            422,
        ),
        (
            "POST",
            t.acc("/agents"),
            None,
            json!({"name": "X", "email": "agent@acme.test", "role": "agent"}),
            422,
        ),
        (
            "PATCH",
            t.acc(&format!("/agents/{me}")),
            None,
            json!({"role": "agent"}),
            422,
        ),
        (
            "DELETE",
            t.acc(&format!("/agents/{me}")),
            None,
            json!({}),
            422,
        ),
        (
            "PATCH",
            t.acc(""),
            None,
            json!({"audit_log_retention_days": 5}),
            422,
        ),
        (
            "PATCH",
            t.acc(""),
            None,
            json!({"name": "Renamed", "locale": "xx"}),
            422,
        ),
        (
            "POST",
            t.acc("/webhooks"),
            None,
            json!({"url": "http://127.0.0.1:9/h", "subscriptions": ["nope"]}),
            422,
        ),
        (
            "POST",
            t.acc("/inboxes"),
            None,
            json!({"name": "", "channel": {"type": "api"}}),
            422,
        ),
        (
            "POST",
            t.acc(&format!("/teams/{}/team_members", team["id"])),
            None,
            json!({"user_ids": [999_999]}),
            422,
        ),
        (
            "PATCH",
            t.acc("/inboxes/999999"),
            None,
            json!({"name": "ghost"}),
            404,
        ),
        (
            "POST",
            t.acc("/inboxes"),
            Some(&agent_token),
            json!({"name": "Mine", "channel": {"type": "api"}}),
            403,
        ),
        (
            "PATCH",
            t.acc(""),
            Some(&agent_token),
            json!({"name": "Agent's"}),
            403,
        ),
    ];
    for (method, path, token, body, status) in attempts {
        let token = token.map_or_else(|| t.token.clone(), str::to_owned);
        let got = send(&t, method, &path, Some(&token), Some(body)).await;
        assert_eq!(got.status, status, "{method} {path}: {}", got.body);
    }
    // A change that changes nothing is no entry either.
    admin(&t, "PATCH", &t.acc(""), Some(json!({"name": "Acme"}))).await;
    let after = log(&t).await;
    assert_eq!(after, before, "refused changes wrote entries");

    // Written in the change's transaction: rolled back with it.
    let scope = throughline_store::AccountScope::system(t.account_id);
    let mut tx = t.app.store.begin().await.unwrap();
    store_audit::record(
        tx.conn(),
        &scope,
        &Origin::system(),
        Change::new(kind::TEAM, 1, action::DESTROY),
    )
    .await
    .unwrap();
    drop(tx);
    assert_eq!(log(&t).await, before);
    // Append-only: the database refuses to change an entry.
    let mut tx = t.app.store.begin().await.unwrap();
    let changed = sqlx::query("UPDATE audit_logs SET action = 'forged'")
        .execute(tx.conn())
        .await;
    assert!(changed.is_err(), "an entry was changed");
    drop(tx);
    assert_eq!(log(&t).await, before);
}

async fn filters_pages_and_order(b: Backend) {
    let t = start(b).await;
    let me = admin_id(&t).await;
    let (agent_id, _) = t.agent("agent@acme.test", "agent").await;
    let mut teams = Vec::new();
    for name in ["one", "two", "three"] {
        let team = admin(&t, "POST", &t.acc("/teams"), Some(json!({"name": name}))).await;
        teams.push(team["id"].as_i64().unwrap());
    }
    admin(
        &t,
        "PATCH",
        &t.acc(&format!("/teams/{}", teams[0])),
        Some(json!({"description": "first"})),
    )
    .await;
    admin(&t, "DELETE", &t.acc(&format!("/teams/{}", teams[1])), None).await;
    let all = log(&t).await;
    let token = t.token.clone();

    let creates = log_of(&t, t.account_id, &token, "action=create").await;
    assert!(creates.iter().all(|e| e["action"] == "create"));
    assert_eq!(
        creates.len(),
        all.iter().filter(|e| e["action"] == "create").count()
    );
    let team_entries = log_of(&t, t.account_id, &token, "auditable_type=Team").await;
    assert_eq!(team_entries.len(), 5, "{team_entries:#?}");
    let one = log_of(
        &t,
        t.account_id,
        &token,
        &format!("auditable_type=Team&auditable_id={}", teams[0]),
    )
    .await;
    let actions: Vec<&str> = one.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["update", "create"]);
    let deleted = log_of(
        &t,
        t.account_id,
        &token,
        "auditable_type=Team&action=destroy",
    )
    .await;
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0]["auditable_id"], teams[1]);
    // By actor: the agent's own sign-in, and nothing the administrator did.
    let by_agent = log_of(&t, t.account_id, &token, &format!("user_id={agent_id}")).await;
    assert_eq!(by_agent.len(), 1, "{by_agent:#?}");
    assert_eq!(by_agent[0]["action"], "sign_in");
    let by_me = log_of(&t, t.account_id, &token, &format!("user_id={me}")).await;
    assert!(by_me.iter().all(|e| e["user_id"] == me));
    assert_eq!(by_me.len() + by_agent.len(), all.len());
    // A time range (Unix seconds, `since` inclusive, `until` exclusive).
    let newest = all[0]["created_at"].as_i64().unwrap();
    let oldest = all[all.len() - 1]["created_at"].as_i64().unwrap();
    let q = |s: String| {
        let (t, token) = (&t, token.clone());
        async move { log_of(t, t.account_id, &token, &s).await }
    };
    assert_eq!(q(format!("since={oldest}&until={}", newest + 1)).await, all);
    assert!(q(format!("since={}", newest + 1)).await.is_empty());
    assert!(q(format!("until={oldest}")).await.is_empty());
    assert_eq!(q(format!("since={newest}")).await.first(), all.first());

    // Pages: newest first, disjoint, the totals Chatwoot's clients read.
    let page = |n: i64| {
        let t = &t;
        async move {
            t.get(&t.acc(&format!("/audit_logs?per_page=2&page={n}")))
                .await
        }
    };
    let (p1, p2) = (page(1).await, page(2).await);
    assert_eq!(p1["current_page"], 1);
    assert_eq!(p2["current_page"], 2);
    assert_eq!(p1["per_page"], 2);
    assert_eq!(p1["total_entries"], all.len());
    let ids = |p: &Value| -> Vec<i64> {
        p["audit_logs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_i64().unwrap())
            .collect()
    };
    let both: Vec<i64> = ids(&p1).into_iter().chain(ids(&p2)).collect();
    let expected: Vec<i64> = all
        .iter()
        .take(4)
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert_eq!(both, expected);
    // Chatwoot's default page size.
    let default = t.get(&t.acc("/audit_logs")).await;
    assert_eq!(default["per_page"], 15);
    assert_eq!(default["current_page"], 1);
    // Bad values are the client's error.
    for (q, status) in [
        ("per_page=0", 422),
        ("per_page=101", 422),
        ("page=0", 422),
        ("page=abc", 400),
    ] {
        let got = t
            .admin("GET", &t.acc(&format!("/audit_logs?{q}")), None)
            .await;
        assert_eq!(got.status, status, "{q}: {}", got.body);
    }
}

async fn retention_removes_old_entries_per_account(b: Backend) {
    let t = start(b).await;
    let beta = second_account(&t, "Beta", "admin@beta.test").await;
    for name in ["one", "two", "three"] {
        admin(&t, "POST", &t.acc("/teams"), Some(json!({"name": name}))).await;
    }
    // Acme keeps 30 days; Beta the default year.
    admin(
        &t,
        "PATCH",
        &t.acc(""),
        Some(json!({"audit_log_retention_days": 30})),
    )
    .await;
    assert_eq!(
        t.get(&t.acc("")).await["settings"]["audit_log_retention_days"],
        30
    );
    let acme = log(&t).await.len() as u64;
    let beta_count = log_of(&t, beta.id, &beta.token, "").await.len() as u64;
    assert!(acme >= 5 && beta_count >= 1);
    let day = 86_400_000;
    let now = throughline_store::now_ms();
    let sweep = |at: i64, batch: i64, batches: usize| {
        let store = t.app.store.clone();
        async move {
            store_audit::sweep_expired_unscoped(&store, at, batch, batches)
                .await
                .unwrap()
        }
    };

    // Nothing is old yet.
    assert_eq!(sweep(now, 2, 100).await.deleted, 0);
    // 31 days on: Acme's entries are past its 30 days, two per transaction, one transaction
    // per pass; Beta's are kept.
    let first = sweep(now + 31 * day, 2, 1).await;
    assert_eq!(first.deleted, 2);
    assert!(first.more_due);
    let rest = sweep(now + 31 * day, 2, 100).await;
    assert_eq!(rest.deleted, acme - 2);
    assert!(!rest.more_due);
    assert!(log(&t).await.is_empty());
    assert_eq!(
        log_of(&t, beta.id, &beta.token, "").await.len() as u64,
        beta_count
    );
    // A year and a day on, Beta's go too.
    assert_eq!(sweep(now + 366 * day, 100, 10).await.deleted, beta_count);
    assert!(log_of(&t, beta.id, &beta.token, "").await.is_empty());
}
