//! Issue #18, an outside probe's findings: sign-in throttling that cannot lock the right
//! password out from another address, membership of an account only by the invited user's
//! consent, and filter values that are strict for their attribute and operator.

use serde_json::{Value, json};
use throughline_testkit::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Answer, Backend, TestApp, on_both_databases,
};

use crate::platform::second_account;
use crate::thread;

on_both_databases!(
    guessing_slows_only_the_guessing_address,
    adding_an_existing_user_invites_them_and_grants_nothing_until_they_accept,
    filter_values_are_strict_for_their_attribute_and_operator,
);

/// Documentation addresses (RFC 5737): the attacker's and the administrator's.
const ATTACKER: &str = "198.51.100.7";
const ADMIN_ELSEWHERE: &str = "203.0.113.9";

/// Signs in through the harness acting as the trusted proxy: `forwarded` is the
/// `X-Forwarded-For` it sends (the proxy appends the client's address last).
async fn sign_in(t: &TestApp, forwarded: &str, email: &str, password: &str) -> Answer {
    let resp = t
        .client
        .post(t.url("/auth/sign_in"))
        .header("x-forwarded-for", forwarded)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    throughline_testkit::read(resp).await
}

fn retry_after(a: &Answer) -> u64 {
    assert_eq!(a.status, 429, "{}", a.body);
    a.headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a 429 carries Retry-After in seconds")
}

async fn guessing_slows_only_the_guessing_address(b: Backend) {
    // Behind a proxy the server trusts, the client's address is the one the proxy appended.
    let t = TestApp::start_with(b, |s| s.trust_proxy = Some(true)).await;
    for _ in 0..5 {
        let a = sign_in(&t, ATTACKER, ADMIN_EMAIL, "wrong-password").await;
        assert_eq!(a.status, 401, "{}", a.body);
        assert_eq!(a.body["error"], "unauthorized");
        assert_eq!(
            a.body["message"],
            "Invalid login credentials. Please try again."
        );
    }
    // The administrator, from anywhere else, still signs in with the right password. (Before
    // this change the email itself was locked: this answered 429.)
    let admin = sign_in(&t, ADMIN_ELSEWHERE, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(admin.status, 200, "{}", admin.body);
    assert_eq!(admin.body["data"]["email"], ADMIN_EMAIL);

    // The guessing address is slowed, even with the right password, and every attempt it
    // makes while locked doubles its wait. (Before, the wait did not grow: r2 <= r1.)
    let r1 = retry_after(&sign_in(&t, ATTACKER, ADMIN_EMAIL, ADMIN_PASSWORD).await);
    let r2 = retry_after(&sign_in(&t, ATTACKER, ADMIN_EMAIL, "wrong-again").await);
    let r3 = retry_after(&sign_in(&t, ATTACKER, ADMIN_EMAIL, "and-again").await);
    assert!(r1 >= 30, "first wait {r1}");
    assert!(r2 > r1 && r3 > r2, "back-off grows: {r1}, {r2}, {r3}");

    // A client cannot pick its address: what it writes into X-Forwarded-For comes before the
    // entry the proxy appends, and only that last entry counts. (With the first entry, as
    // before, this attacker would have been keyed as the administrator's address.)
    let spoofed = sign_in(
        &t,
        &format!("{ADMIN_ELSEWHERE}, {ATTACKER}"),
        ADMIN_EMAIL,
        ADMIN_PASSWORD,
    )
    .await;
    retry_after(&spoofed);
    // And the administrator's address was not slowed by the attacker's spoofed attempt.
    let again = sign_in(
        &t,
        &format!("{ATTACKER}, {ADMIN_ELSEWHERE}"),
        ADMIN_EMAIL,
        ADMIN_PASSWORD,
    )
    .await;
    assert_eq!(again.status, 200, "{}", again.body);

    // Without a trusted proxy the header is the client's own words and is ignored: every
    // request here comes from 127.0.0.1, so the "other address" is the same one.
    let direct = TestApp::start(b).await;
    for _ in 0..5 {
        let a = sign_in(&direct, ATTACKER, ADMIN_EMAIL, "wrong-password").await;
        assert_eq!(a.status, 401, "{}", a.body);
    }
    retry_after(&sign_in(&direct, ADMIN_ELSEWHERE, ADMIN_EMAIL, ADMIN_PASSWORD).await);
}

/// The answer's exact bytes with the id and email (which differ by nature) blanked: what is
/// left must be the same for an invitation and for a new user.
fn blanked(raw: &str, id: i64, email: &str) -> String {
    raw.replacen(&format!("\"id\":{id},"), "\"id\":0,", 1)
        .replace(email, "EMAIL")
}

async fn add_agent_raw(t: &TestApp, body: Value) -> (u16, String) {
    let resp = t
        .client
        .post(t.url(&t.acc("/agents")))
        .header("api_access_token", &t.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

async fn adding_an_existing_user_invites_them_and_grants_nothing_until_they_accept(b: Backend) {
    // With system mail both are told by email and the answers are alike (without it, only a
    // new user has a link for the administrator to pass on: onboarding.rs).
    let sink = throughline_testkit::smtp_sink::SmtpSink::start().await;
    let port = sink.port;
    let t = TestApp::start_with(b, move |s| {
        s.smtp_address = Some("127.0.0.1".into());
        s.smtp_port = Some(port);
        s.smtp_security = Some("none".into());
    })
    .await;
    let acme = t.account_id;
    let acme_admin_name = t.get("/api/v1/profile").await["name"].clone();
    // Ana administers another account; Acme's administrator knows her email.
    let beta = second_account(&t, "Beta", "ana@beta.test").await;
    let profile_of = |token: String| {
        let t = &t;
        async move {
            t.call("GET", "/api/v1/profile", Some(&token), None)
                .await
                .expect(200)
        }
    };

    // Adding her email answers exactly like adding a brand-new one: the typed name, not hers;
    // not confirmed; an id from the same sequence as new users. (Before: her own name,
    // `confirmed: true`, her old id — and she was a member at once.)
    let typed = |email: &str| json!({"name": "Typed Name", "email": email, "role": "agent"});
    let (s1, invited_raw) = add_agent_raw(&t, typed("ana@beta.test")).await;
    let (s2, fresh_raw) = add_agent_raw(&t, typed("fresh@acme.test")).await;
    assert_eq!((s1, s2), (200, 200), "{invited_raw} / {fresh_raw}");
    let invited: Value = serde_json::from_str(&invited_raw).unwrap();
    let fresh: Value = serde_json::from_str(&fresh_raw).unwrap();
    let (invited_id, fresh_id) = (
        invited["id"].as_i64().unwrap(),
        fresh["id"].as_i64().unwrap(),
    );
    assert_eq!(
        blanked(&invited_raw, invited_id, "ana@beta.test"),
        blanked(&fresh_raw, fresh_id, "fresh@acme.test"),
        "an invitation and a new user must be indistinguishable"
    );
    assert_eq!(invited["invitation"]["email_sent"], true);
    let mailed: Vec<Vec<String>> = sink
        .wait_for(2, std::time::Duration::from_secs(10))
        .await
        .into_iter()
        .map(|m| m.rcpt_to)
        .collect();
    assert!(
        mailed.contains(&vec!["<ana@beta.test>".to_owned()]),
        "{mailed:?}"
    );
    assert!(
        mailed.contains(&vec!["<fresh@acme.test>".to_owned()]),
        "{mailed:?}"
    );
    assert_eq!(invited["name"], "Typed Name");
    assert_eq!(invited["confirmed"], false);
    assert_ne!(invited_id, beta.admin_id, "her user id is not revealed");
    assert_eq!(fresh_id, invited_id + 1, "ids come from one sequence");
    // Ana's password is hers: one given with the invitation is not applied, and the answer is
    // again that of a new email (before: a 422 saying "this user already exists").
    let with_password = |email: &str| json!({"name": "Typed Name", "email": email, "role": "agent", "password": "set-by-acme-1"});
    let gamma = second_account(&t, "Gamma", "gil@gamma.test").await;
    let (s3, pw_invited_raw) = add_agent_raw(&t, with_password("gil@gamma.test")).await;
    let (s4, pw_fresh_raw) = add_agent_raw(&t, with_password("fresh2@acme.test")).await;
    assert_eq!((s3, s4), (200, 200), "{pw_invited_raw} / {pw_fresh_raw}");
    let pw_invited: Value = serde_json::from_str(&pw_invited_raw).unwrap();
    let pw_fresh: Value = serde_json::from_str(&pw_fresh_raw).unwrap();
    assert_eq!(
        blanked(
            &pw_invited_raw,
            pw_invited["id"].as_i64().unwrap(),
            "gil@gamma.test"
        ),
        blanked(
            &pw_fresh_raw,
            pw_fresh["id"].as_i64().unwrap(),
            "fresh2@acme.test"
        ),
    );
    let acme_password = t
        .call(
            "POST",
            "/auth/sign_in",
            None,
            Some(json!({"email": "gil@gamma.test", "password": "set-by-acme-1"})),
        )
        .await;
    assert_eq!(acme_password.status, 401, "Acme set no password for Gil");

    // The agents list shows the invitation as a new agent who has not signed in yet looks.
    let agents = t.get(&t.acc("/agents")).await;
    let row = |id: i64| {
        agents
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("agent {id} listed: {agents}"))
    };
    // (The answer's `invitation` is what became of the email, not part of the agent.)
    let without_invitation = |mut v: Value| {
        v.as_object_mut().map(|o| o.remove("invitation"));
        v
    };
    let (listed_invited, listed_fresh) = (row(invited_id), row(fresh_id));
    assert_eq!(listed_invited, without_invitation(invited.clone()));
    assert_eq!(listed_fresh, without_invitation(fresh.clone()));

    // Nothing is granted: Ana's profile and accounts do not show Acme, and she cannot reach it.
    let profile = profile_of(beta.token.clone()).await;
    let account_ids: Vec<&Value> = profile["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["id"])
        .collect();
    assert_eq!(account_ids, vec![&json!(beta.id)]);
    let blocked = t
        .call(
            "GET",
            &format!("/api/v1/accounts/{acme}/conversations"),
            Some(&beta.token),
            None,
        )
        .await;
    assert_eq!(blocked.status, 403, "{}", blocked.body);
    // She sees who invited her, to what, with which role.
    let pending = profile["pending_invitations"].as_array().unwrap().clone();
    assert_eq!(pending.len(), 1, "{profile}");
    assert_eq!(pending[0]["id"], invited_id);
    assert_eq!(pending[0]["account_id"], acme);
    assert_eq!(pending[0]["account_name"], "Acme");
    assert_eq!(pending[0]["role"], "agent");
    assert_eq!(pending[0]["inviter_name"], acme_admin_name);

    // Nobody else can answer for her: the inviting administrator, or another invitee.
    let accept = format!("/api/v1/profile/invitations/{invited_id}/accept");
    let decline = format!("/api/v1/profile/invitations/{invited_id}/decline");
    for (token, who) in [(&t.token, "the inviter"), (&gamma.token, "another invitee")] {
        for path in [&accept, &decline] {
            let a = t.call("POST", path, Some(token), None).await;
            assert_eq!(a.status, 404, "{who} on {path}: {}", a.body);
        }
    }
    // Adding her again while she has not answered is refused as for a member.
    let (again, _) = add_agent_raw(&t, typed("ana@beta.test")).await;
    assert_eq!(again, 422);

    // Until she answers, the administrator may still change what the invitation grants.
    let changed = t
        .admin(
            "PATCH",
            &t.acc(&format!("/agents/{invited_id}")),
            Some(json!({"role": "administrator"})),
        )
        .await
        .expect(200);
    assert_eq!(changed["role"], "administrator");
    assert_eq!(changed["name"], "Typed Name");
    assert_eq!(changed["confirmed"], false);

    // She accepts: Acme appears with the invited role, and she can reach it.
    let accepted = t
        .call("POST", &accept, Some(&beta.token), None)
        .await
        .expect(200);
    let acme_row = accepted["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == acme)
        .cloned()
        .unwrap_or_else(|| panic!("Acme in her accounts: {accepted}"));
    assert_eq!(acme_row["role"], "administrator");
    assert_eq!(accepted["pending_invitations"], json!([]));
    t.call(
        "GET",
        &format!("/api/v1/accounts/{acme}/conversations"),
        Some(&beta.token),
        None,
    )
    .await
    .expect(200);
    // Now a member, she is listed as herself; accepting twice finds nothing.
    let agents = t.get(&t.acc("/agents")).await;
    let ana = agents
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["email"] == "ana@beta.test")
        .cloned()
        .unwrap();
    assert_eq!(ana["id"], beta.admin_id);
    assert_eq!(ana["role"], "administrator");
    assert_eq!(ana["name"], "Beta admin");
    assert!(
        !agents
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == invited_id),
        "the invitation left the list"
    );
    let twice = t.call("POST", &accept, Some(&beta.token), None).await;
    assert_eq!(twice.status, 404);

    // Removing a pending agent withdraws the invitation: Gil has nothing left to accept.
    let gil_invitation = pw_invited["id"].as_i64().unwrap();
    assert_eq!(
        profile_of(gamma.token.clone()).await["pending_invitations"][0]["id"],
        gil_invitation
    );
    t.admin("DELETE", &t.acc(&format!("/agents/{gil_invitation}")), None)
        .await
        .expect(200);
    assert_eq!(
        profile_of(gamma.token.clone()).await["pending_invitations"],
        json!([])
    );
    let late = t
        .call(
            "POST",
            &format!("/api/v1/profile/invitations/{gil_invitation}/accept"),
            Some(&gamma.token),
            None,
        )
        .await;
    assert_eq!(late.status, 404);
    // Invited again, Gil declines: the account gets nothing and the invitation is gone.
    let (s5, reinvited) = add_agent_raw(&t, typed("gil@gamma.test")).await;
    assert_eq!(s5, 200, "{reinvited}");
    let reinvited: Value = serde_json::from_str(&reinvited).unwrap();
    let declined = t
        .call(
            "POST",
            &format!("/api/v1/profile/invitations/{}/decline", reinvited["id"]),
            Some(&gamma.token),
            None,
        )
        .await
        .expect(200);
    assert_eq!(declined["pending_invitations"], json!([]));
    assert!(
        !declined["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == acme)
    );
    let agents = t.get(&t.acc("/agents")).await;
    assert!(
        !agents
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["email"] == "gil@gamma.test"),
        "{agents}"
    );
}

async fn filter_values_are_strict_for_their_attribute_and_operator(b: Backend) {
    let t = TestApp::start(b).await;
    let old = t
        .post(
            &t.acc("/contacts"),
            json!({"name": "Old Customer", "email": "old@example.test"}),
        )
        .await["payload"]["contact"]["id"]
        .as_i64()
        .unwrap();
    let new = t
        .post(
            &t.acc("/contacts"),
            json!({"name": "New Customer", "email": "new@example.test"}),
        )
        .await["payload"]["contact"]["id"]
        .as_i64()
        .unwrap();
    // The first contact was created three days ago.
    let mut tx = t.app.store.begin().await.unwrap();
    sqlx::query("UPDATE contacts SET created_at = created_at - $1 WHERE id = $2")
        .bind(3 * 86_400_000_i64)
        .bind(old)
        .execute(tx.conn())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let inbox = t.api_inbox("Site", None).await;
    thread(&t, &inbox, "hello").await;

    let filter = |what: &'static str, condition: Value| {
        let t = &t;
        async move {
            t.admin(
                "POST",
                &t.acc(&format!("/{what}/filter")),
                Some(json!({"payload": [condition]})),
            )
            .await
        }
    };
    let cond = |attr: &str, op: &str, values: Value| json!({"attribute_key": attr, "filter_operator": op, "values": values});

    // Each answered 200 before (the first with every contact).
    let refused = [
        (
            "contacts",
            cond(
                "created_at",
                "days_before",
                json!(["1; DROP TABLE contacts"]),
            ),
        ),
        ("contacts", cond("created_at", "days_before", json!([-2]))),
        (
            "contacts",
            cond("created_at", "days_before", json!(["2.5"])),
        ),
        (
            "contacts",
            cond("created_at", "is_greater_than", json!(["last week"])),
        ),
        ("contacts", cond("blocked", "equal_to", json!(["maybe"]))),
        (
            "contacts",
            cond("country_code", "equal_to", json!(["Brazil"])),
        ),
        ("contacts", cond("name", "contains", json!([""]))),
        (
            "conversations",
            cond(
                "created_at",
                "days_before",
                json!(["1; DROP TABLE contacts"]),
            ),
        ),
        (
            "conversations",
            cond("status", "equal_to", json!(["opened"])),
        ),
        (
            "conversations",
            cond("priority", "equal_to", json!(["asap"])),
        ),
        (
            "conversations",
            cond("assignee_id", "equal_to", json!(["1 OR 1=1"])),
        ),
        (
            "conversations",
            cond("inbox_id", "is_greater_than", json!([1.5])),
        ),
        (
            "conversations",
            cond("last_activity_at", "is_less_than", json!(["2024-13-01"])),
        ),
    ];
    for (what, condition) in refused {
        let a = filter(what, condition.clone()).await;
        assert_eq!(a.status, 422, "{what} {condition}: {}", a.body);
        assert_eq!(
            a.body["errors"][0]["field"], "payload[0].values",
            "{}",
            a.body
        );
        let named = format!(
            "payload[0] ({} {})",
            condition["attribute_key"].as_str().unwrap(),
            condition["filter_operator"].as_str().unwrap()
        );
        assert!(
            a.body["message"].as_str().unwrap().starts_with(&named),
            "names the condition: {}",
            a.body
        );
    }

    // Valid values still filter: a count of days as a number or as its digits, an ISO date.
    let ids = |v: &Value| -> Vec<i64> {
        v["payload"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect()
    };
    for days in [json!(["2"]), json!([2])] {
        let a = filter("contacts", cond("created_at", "days_before", days))
            .await
            .expect(200);
        assert_eq!(ids(&a), vec![old], "{a}");
    }
    let mut all = ids(
        &filter("contacts", cond("created_at", "days_before", json!(["0"])))
            .await
            .expect(200),
    );
    all.sort_unstable();
    assert!(all.contains(&old) && all.contains(&new), "{all:?}");
    let since = filter(
        "contacts",
        cond("created_at", "is_greater_than", json!(["2000-01-01"])),
    )
    .await
    .expect(200);
    assert!(ids(&since).contains(&new));
    let open = filter("conversations", cond("status", "equal_to", json!(["open"])))
        .await
        .expect(200);
    assert_eq!(open["payload"].as_array().unwrap().len(), 1, "{open}");
    let recent = filter(
        "conversations",
        cond("last_activity_at", "days_before", json!([1])),
    )
    .await
    .expect(200);
    assert_eq!(recent["payload"], json!([]), "{recent}");
}
