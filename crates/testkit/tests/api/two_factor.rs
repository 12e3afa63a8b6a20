//! Issue #18: two-factor authentication (TOTP, RFC 6238, with recovery codes) at Chatwoot's
//! paths — enrolment from the profile, the sign-in's second step, codes and recovery codes that
//! work once, throttled wrong codes, turning it off, an account's enforcement — while
//! `api_access_token` keeps working as before.
//!
//! Codes are computed here with `totp-rs` from the secret the enrolment showed, as an
//! authenticator app would. A code works once and the server accepts one step of drift either
//! way, so each use takes the current step or, when that one was used already, the next.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use throughline_testkit::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Answer, Backend, TestApp, on_both_databases, read,
};

on_both_databases!(
    enrolment_needs_a_correct_code_and_then_sign_in_asks_for_one,
    recovery_codes_work_once,
    wrong_codes_are_throttled_like_passwords,
    turning_it_off_needs_the_password_and_a_code,
    an_account_can_require_it_and_then_a_session_may_only_enrol,
);

/// An authenticator app holding one secret.
struct Authenticator {
    totp: totp_rs::Totp,
    last: Option<u64>,
}

fn now_step() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / 30
}

impl Authenticator {
    fn new(secret: &str) -> Self {
        let totp = totp_rs::Builder::new()
            .with_secret(totp_rs::Secret::try_from_base32(secret).unwrap())
            .build()
            .unwrap();
        Self { totp, last: None }
    }

    fn at(&self, step: u64) -> String {
        self.totp.generate(step * 30).to_string()
    }

    /// A fresh code: the current step's, or the next step's when the current one was used.
    fn next(&mut self) -> String {
        let now = now_step();
        let step = self.last.map_or(now, |l| now.max(l + 1));
        assert!(step <= now + 1, "no unused code within the drift window");
        self.last = Some(step);
        self.at(step)
    }

    /// The code used last (a replay).
    fn used(&self) -> String {
        self.at(self.last.unwrap())
    }

    /// Six digits that are no code of any step the server could accept now.
    fn wrong(&self) -> String {
        let now = now_step();
        let valid: Vec<String> = (now - 1..=now + 2).map(|s| self.at(s)).collect();
        let mut n: u32 = self.at(now).parse().unwrap();
        loop {
            n = (n + 1) % 1_000_000;
            let candidate = format!("{n:06}");
            if !valid.contains(&candidate) {
                return candidate;
            }
        }
    }
}

/// `POST /auth/sign_in` from `address` (the harness acts as the trusted proxy when the app
/// trusts one), outside the contract log.
async fn sign_in_from(t: &TestApp, address: &str, body: Value) -> Answer {
    let resp = t
        .client
        .post(t.url("/auth/sign_in"))
        .header("x-forwarded-for", address)
        .json(&body)
        .send()
        .await
        .unwrap();
    read(resp).await
}

async fn sign_in(t: &TestApp, body: Value) -> Answer {
    sign_in_from(t, "127.0.0.1", body).await
}

/// The password step for a user with two-factor authentication: Chatwoot's 206 with an
/// `mfa_token`, and nothing that signs anyone in.
async fn password_step(t: &TestApp, address: &str, email: &str, password: &str) -> String {
    let a = sign_in_from(t, address, json!({"email": email, "password": password})).await;
    assert_eq!(a.status, 206, "{}", a.body);
    assert_eq!(a.body["mfa_required"], true);
    assert!(a.body.get("data").is_none(), "{}", a.body);
    assert!(a.headers.get("set-cookie").is_none(), "no session yet");
    a.body["mfa_token"].as_str().unwrap().to_owned()
}

/// The session cookie (`name=value`) an answer set.
fn cookie(a: &Answer) -> String {
    let raw = a
        .headers
        .get("set-cookie")
        .expect("a session cookie")
        .to_str()
        .unwrap();
    let pair = raw.split(';').next().unwrap().to_owned();
    assert!(pair.starts_with("tl_session=") && pair.len() > 20, "{raw}");
    pair
}

/// A request carried by the session cookie (as the web app's), outside the contract log.
async fn with_cookie(
    t: &TestApp,
    cookie: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Answer {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = t
        .client
        .request(method, t.url(path))
        .header("cookie", cookie);
    if let Some(b) = body {
        req = req.json(&b);
    }
    read(req.send().await.unwrap()).await
}

/// Enrols the user of `token`: the secret shown, confirmed with a code. Answers the app and
/// the recovery codes.
async fn enrol(t: &TestApp, token: &str) -> (Authenticator, Vec<String>) {
    let setup = t
        .call("POST", "/api/v1/profile/mfa", Some(token), None)
        .await
        .expect(200);
    let mut app = Authenticator::new(setup["secret"].as_str().unwrap());
    let verified = t
        .call(
            "POST",
            "/api/v1/profile/mfa/verify",
            Some(token),
            Some(json!({"otp_code": app.next()})),
        )
        .await
        .expect(200);
    assert_eq!(verified["enabled"], true);
    let codes: Vec<String> = verified["backup_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (app, codes)
}

async fn enrolment_needs_a_correct_code_and_then_sign_in_asks_for_one(b: Backend) {
    let t = TestApp::start(b).await;
    let status = t.get("/api/v1/profile/mfa").await;
    assert_eq!(status["enabled"], false);
    assert_eq!(status["backup_codes_generated"], false);
    assert_eq!(t.get("/api/v1/profile").await["mfa_enabled"], false);

    // The secret, shown once: an otpauth URI, base32, and a QR code drawn by the server.
    let setup = t.post("/api/v1/profile/mfa", json!({})).await;
    let secret = setup["secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 32, "160 bits in base32");
    let uri = setup["provisioning_url"].as_str().unwrap();
    assert!(
        uri.starts_with("otpauth://totp/Throughline:admin%40acme.test?"),
        "{uri}"
    );
    assert!(uri.contains(&format!("secret={secret}")), "{uri}");
    let svg = setup["qr_code_svg"].as_str().unwrap();
    assert!(
        svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
        "{svg}"
    );
    // Sealed at rest: the secret is nowhere in the database in clear.
    let mut conn = t.app.store.read().await.unwrap();
    let stored: String = sqlx::query_scalar("SELECT secret_sealed FROM user_two_factor")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    assert!(stored.starts_with("v1.") && !stored.contains(&secret));

    // Still off until a correct code: the password alone signs in.
    let a = sign_in(
        &t,
        json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);

    let mut app = Authenticator::new(&secret);
    let wrong = t
        .admin(
            "POST",
            "/api/v1/profile/mfa/verify",
            Some(json!({"otp_code": app.wrong()})),
        )
        .await;
    assert_eq!(wrong.status, 422, "{}", wrong.body);
    assert_eq!(wrong.body["errors"][0]["field"], "otp_code");
    assert_eq!(t.get("/api/v1/profile/mfa").await["enabled"], false);

    let verified = t
        .post(
            "/api/v1/profile/mfa/verify",
            json!({"otp_code": app.next()}),
        )
        .await;
    assert_eq!(verified["enabled"], true);
    let codes = verified["backup_codes"].as_array().unwrap();
    assert_eq!(codes.len(), 10);
    let unique: std::collections::BTreeSet<_> = codes.iter().map(|c| c.to_string()).collect();
    assert_eq!(unique.len(), 10);
    // Recovery codes are stored as keyed hashes only.
    let mut conn = t.app.store.read().await.unwrap();
    let hashes: Vec<String> = sqlx::query_scalar("SELECT code_hash FROM user_recovery_codes")
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    assert_eq!(hashes.len(), 10);
    for c in codes {
        let plain = c.as_str().unwrap().replace('-', "");
        assert!(hashes.iter().all(|h| !h.contains(&plain)));
    }
    let again = t
        .admin(
            "POST",
            "/api/v1/profile/mfa/verify",
            Some(json!({"otp_code": app.wrong()})),
        )
        .await;
    assert_eq!(again.status, 422, "already on: {}", again.body);
    let status = t.get("/api/v1/profile/mfa").await;
    assert_eq!(status["enabled"], true);
    assert_eq!(status["backup_codes_generated"], true);
    assert_eq!(status["backup_codes_remaining"], 10);

    // The password now answers an mfa_token, not a session; a wrong code is refused…
    let token = password_step(&t, "127.0.0.1", ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let a = sign_in(&t, json!({"mfa_token": token, "otp_code": app.wrong()})).await;
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(a.headers.get("set-cookie").is_none());
    // …and the right one completes the sign-in with the usual answer and cookie.
    let a = sign_in(&t, json!({"mfa_token": token, "otp_code": app.next()})).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["data"]["email"], ADMIN_EMAIL);
    assert_eq!(a.body["data"]["access_token"], t.token);
    assert_eq!(a.body["data"]["mfa_enabled"], true);
    let session = cookie(&a);
    let me = with_cookie(&t, &session, "GET", "/api/v1/profile", None).await;
    assert_eq!(me.status, 200, "{}", me.body);

    // The mfa_token was single-use.
    let reused = sign_in(&t, json!({"mfa_token": token, "backup_code": codes[0]})).await;
    assert_eq!(reused.status, 401, "{}", reused.body);
    // A code works once: the same code, or an earlier step's, is refused on a fresh token.
    let token = password_step(&t, "127.0.0.1", ADMIN_EMAIL, ADMIN_PASSWORD).await;
    for replay in [app.used(), app.at(app.last.unwrap() - 1)] {
        let a = sign_in(&t, json!({"mfa_token": token, "otp_code": replay})).await;
        assert_eq!(a.status, 400, "{}", a.body);
    }
    // A made-up token is no sign-in.
    let a = sign_in(&t, json!({"mfa_token": "made-up", "otp_code": app.wrong()})).await;
    assert_eq!(a.status, 401, "{}", a.body);

    // API clients with api_access_token are unaffected.
    assert_eq!(t.get("/api/v1/profile").await["email"], ADMIN_EMAIL);
    t.get(&t.acc("/conversations")).await;
}

async fn recovery_codes_work_once(b: Backend) {
    let t = TestApp::start(b).await;
    let (mut app, codes) = enrol(&t, &t.token).await;

    let token = password_step(&t, "127.0.0.1", ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let a = sign_in(&t, json!({"mfa_token": token, "backup_code": codes[0]})).await;
    assert_eq!(a.status, 200, "{}", a.body);
    cookie(&a);

    let token = password_step(&t, "127.0.0.1", ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let a = sign_in(&t, json!({"mfa_token": token, "backup_code": codes[0]})).await;
    assert_eq!(a.status, 400, "a used recovery code: {}", a.body);
    // Typed in capitals without the dash, another one works (in the code field too).
    let typed = codes[1].replace('-', "").to_uppercase();
    let a = sign_in(&t, json!({"mfa_token": token, "otp_code": typed})).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(
        t.get("/api/v1/profile/mfa").await["backup_codes_remaining"],
        8
    );

    // New recovery codes (with a code from the app) replace the old ones.
    let fresh = t
        .post(
            "/api/v1/profile/mfa/backup_codes",
            json!({"otp_code": app.next()}),
        )
        .await["backup_codes"]
        .clone();
    assert_eq!(fresh.as_array().unwrap().len(), 10);
    assert_eq!(
        t.get("/api/v1/profile/mfa").await["backup_codes_remaining"],
        10
    );
    let token = password_step(&t, "127.0.0.1", ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let a = sign_in(&t, json!({"mfa_token": token, "backup_code": codes[2]})).await;
    assert_eq!(a.status, 400, "an old recovery code: {}", a.body);
    let a = sign_in(&t, json!({"mfa_token": token, "backup_code": fresh[0]})).await;
    assert_eq!(a.status, 200, "{}", a.body);
}

/// Documentation addresses (RFC 5737).
const ATTACKER: &str = "198.51.100.7";
const ELSEWHERE: &str = "203.0.113.9";

async fn wrong_codes_are_throttled_like_passwords(b: Backend) {
    let t = TestApp::start_with(b, |s| s.trust_proxy = Some(true)).await;
    let (mut app, _codes) = enrol(&t, &t.token).await;

    // Someone with the password guesses codes: five wrong, then even the right code waits.
    let token = password_step(&t, ATTACKER, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    for _ in 0..5 {
        let a = sign_in_from(
            &t,
            ATTACKER,
            json!({"mfa_token": token, "otp_code": app.wrong()}),
        )
        .await;
        assert_eq!(a.status, 400, "{}", a.body);
    }
    let right = app.next();
    let locked = sign_in_from(&t, ATTACKER, json!({"mfa_token": token, "otp_code": right})).await;
    assert_eq!(locked.status, 429, "{}", locked.body);
    let wait: u64 = locked.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait >= 30, "{wait}");
    // A correct password does not reset the count of wrong codes.
    let token = password_step(&t, ATTACKER, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let a = sign_in_from(&t, ATTACKER, json!({"mfa_token": token, "otp_code": right})).await;
    assert_eq!(a.status, 429, "{}", a.body);

    // The user, from another address, signs in with that same code (it was never spent).
    let token = password_step(&t, ELSEWHERE, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let a = sign_in_from(
        &t,
        ELSEWHERE,
        json!({"mfa_token": token, "otp_code": right}),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
}

async fn turning_it_off_needs_the_password_and_a_code(b: Backend) {
    let t = TestApp::start(b).await;
    let (mut app, _codes) = enrol(&t, &t.token).await;

    let code = app.next();
    let no_password = t
        .admin(
            "DELETE",
            "/api/v1/profile/mfa",
            Some(json!({"password": "wrong-password", "otp_code": code})),
        )
        .await;
    assert_eq!(no_password.status, 422, "{}", no_password.body);
    assert_eq!(no_password.body["errors"][0]["field"], "password");
    for body in [
        json!({"password": ADMIN_PASSWORD, "otp_code": app.wrong()}),
        json!({"password": ADMIN_PASSWORD}),
    ] {
        let a = t.admin("DELETE", "/api/v1/profile/mfa", Some(body)).await;
        assert_eq!(a.status, 422, "{}", a.body);
        assert_eq!(a.body["errors"][0]["field"], "otp_code");
    }
    assert_eq!(t.get("/api/v1/profile/mfa").await["enabled"], true);

    let off = t
        .admin(
            "DELETE",
            "/api/v1/profile/mfa",
            Some(json!({"password": ADMIN_PASSWORD, "otp_code": code})),
        )
        .await
        .expect(200);
    assert_eq!(off["enabled"], false);
    assert_eq!(off["backup_codes_generated"], false);
    // The password alone signs in again.
    let a = sign_in(
        &t,
        json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["data"]["mfa_enabled"], false);
    let again = t
        .admin(
            "DELETE",
            "/api/v1/profile/mfa",
            Some(json!({"password": ADMIN_PASSWORD, "otp_code": code})),
        )
        .await;
    assert_eq!(again.status, 422, "not on: {}", again.body);

    // Both changes are in the account's audit log; the refused attempts are not.
    let log = t
        .get(&t.acc("/audit_logs?auditable_type=User&action=update"))
        .await;
    let changes: Vec<&Value> = log["audit_logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["audited_changes"]["mfa_enabled"])
        .filter(|c| !c.is_null())
        .collect();
    assert_eq!(
        changes,
        [&json!(false), &json!(true)],
        "newest first: {log}"
    );
}

async fn an_account_can_require_it_and_then_a_session_may_only_enrol(b: Backend) {
    let t = TestApp::start(b).await;
    let agent = t
        .post(
            &t.acc("/agents"),
            json!({"name": "Bia", "email": "bia@acme.test", "role": "agent", "password": "agent-password-1"}),
        )
        .await;
    assert_eq!(agent["role"], "agent");
    let agent_signed = sign_in(
        &t,
        json!({"email": "bia@acme.test", "password": "agent-password-1"}),
    )
    .await;
    assert_eq!(agent_signed.status, 200, "{}", agent_signed.body);
    let agent_token = agent_signed.body["data"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let agent_session = cookie(&agent_signed);

    // Administrators set it; a bad value is named; agents may not.
    let bad = t
        .admin(
            "PATCH",
            &t.acc(""),
            Some(json!({"mfa_enforcement": "sometimes"})),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert_eq!(bad.body["errors"][0]["field"], "mfa_enforcement");
    let refused = t
        .call(
            "PATCH",
            &t.acc(""),
            Some(&agent_token),
            Some(json!({"mfa_enforcement": "off"})),
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    let account = t
        .admin(
            "PATCH",
            &t.acc(""),
            Some(json!({"mfa_enforcement": "administrators"})),
        )
        .await
        .expect(200);
    assert_eq!(account["settings"]["mfa_enforcement"], "administrators");

    // "administrators": the administrator, after the password, may only enrol…
    let admin_signed = sign_in(
        &t,
        json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
    )
    .await;
    assert_eq!(admin_signed.status, 200, "{}", admin_signed.body);
    assert_eq!(admin_signed.body["data"]["mfa_enrollment_required"], true);
    assert!(
        admin_signed.body["data"].get("access_token").is_none(),
        "no token that would skip the enrolment: {}",
        admin_signed.body
    );
    let admin_session = cookie(&admin_signed);
    for (method, path, body) in [
        ("GET", t.acc("/conversations"), None),
        ("GET", t.acc(""), None),
        (
            "PUT",
            "/api/v1/profile".to_owned(),
            Some(json!({"name": "Changed"})),
        ),
        (
            "POST",
            "/api/v1/profile/reset_access_token".to_owned(),
            None,
        ),
    ] {
        let a = with_cookie(&t, &admin_session, method, &path, body).await;
        assert_eq!(a.status, 403, "{method} {path}: {}", a.body);
        assert_eq!(a.body["error"], "mfa_enrollment_required");
    }
    let me = with_cookie(&t, &admin_session, "GET", "/api/v1/profile", None).await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.body["mfa_enrollment_required"], true);
    let mfa = with_cookie(&t, &admin_session, "GET", "/api/v1/profile/mfa", None).await;
    assert_eq!(mfa.body["enrollment_required"], true);
    // …while the agent is not concerned, and api_access_token keeps working as before.
    let a = with_cookie(&t, &agent_session, "GET", &t.acc("/conversations"), None).await;
    assert_eq!(a.status, 200, "{}", a.body);
    t.get(&t.acc("/conversations")).await;

    // "everyone": the agent's session is held too, until they enrol — then it continues.
    t.admin(
        "PATCH",
        &t.acc(""),
        Some(json!({"mfa_enforcement": "everyone"})),
    )
    .await
    .expect(200);
    let held = with_cookie(&t, &agent_session, "GET", &t.acc("/conversations"), None).await;
    assert_eq!(held.status, 403, "{}", held.body);
    assert_eq!(held.body["error"], "mfa_enrollment_required");
    let setup = with_cookie(
        &t,
        &agent_session,
        "POST",
        "/api/v1/profile/mfa",
        Some(json!({})),
    )
    .await;
    assert_eq!(setup.status, 200, "{}", setup.body);
    let mut app = Authenticator::new(setup.body["secret"].as_str().unwrap());
    let verified = with_cookie(
        &t,
        &agent_session,
        "POST",
        "/api/v1/profile/mfa/verify",
        Some(json!({"otp_code": app.next()})),
    )
    .await;
    assert_eq!(verified.status, 200, "{}", verified.body);
    assert_eq!(verified.body["backup_codes"].as_array().unwrap().len(), 10);
    let a = with_cookie(&t, &agent_session, "GET", &t.acc("/conversations"), None).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let me = with_cookie(&t, &agent_session, "GET", "/api/v1/profile", None).await;
    assert_eq!(me.body["mfa_enrollment_required"], false);
    assert_eq!(me.body["mfa_enabled"], true);
    assert_eq!(me.body["access_token"], agent_token.as_str());
    // The administrator is still held; the agent's next sign-in asks for a code.
    let a = with_cookie(&t, &admin_session, "GET", &t.acc("/conversations"), None).await;
    assert_eq!(a.status, 403, "{}", a.body);
    password_step(&t, "127.0.0.1", "bia@acme.test", "agent-password-1").await;

    // Off again: nobody is held.
    t.admin("PATCH", &t.acc(""), Some(json!({"mfa_enforcement": "off"})))
        .await
        .expect(200);
    let a = with_cookie(&t, &admin_session, "GET", &t.acc("/conversations"), None).await;
    assert_eq!(a.status, 200, "{}", a.body);
}
