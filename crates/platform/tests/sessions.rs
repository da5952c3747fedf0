//! Sessions and sign-in over real HTTP against a real stewardd on 127.0.0.1:0: idle and absolute
//! timeouts, sign-out, TOTP enrolment and single-use codes, throttling of failed attempts, the
//! org's `require_totp` setting, and where tokens may (and may not) travel.

// Tests: unwrapping, indexing JSON and panicking are the assertions themselves.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};
use steward_platform::auth::totp;
use steward_platform::clock::Clock;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;

/// `POST /session` with exactly this body; (status, JSON body).
async fn post_session(s: &Server, body: Value) -> (u16, Value) {
    let r = s.http.post(s.url("/session")).json(&body).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn sign_in_with(s: &Server, name: &str, password: Option<&str>, code: Option<&str>) -> (u16, Value) {
    let (email, real) = s.login_of(name);
    let mut body = json!({ "email": email, "password": password.unwrap_or(&real) });
    if let Some(code) = code {
        body["totp"] = json!(code);
    }
    post_session(s, body).await
}

fn user_id(s: &Server, name: &str) -> i64 {
    let (email, _) = s.login_of(name);
    s.state
        .store
        .credentials_by_email(&email)
        .unwrap()
        .unwrap()
        .user
        .id
}

/// The stored (hex) TOTP secret of a user.
fn stored_secret(s: &Server, name: &str) -> String {
    s.state
        .store
        .credentials(user_id(s, name))
        .unwrap()
        .unwrap()
        .totp_secret
        .expect("a TOTP secret is stored")
}

fn code_now(s: &Server, secret: &str) -> String {
    totp::code_at(secret, s.clock.now_ms()).unwrap()
}

/// A six-digit code that is valid for none of the steps the server accepts now.
fn wrong_code(s: &Server, secret: &str) -> String {
    let now = s.clock.now_ms();
    let valid: Vec<String> = [-30_000, 0, 30_000]
        .iter()
        .map(|d| totp::code_at(secret, now + d).unwrap())
        .collect();
    (0..10)
        .map(|d| d.to_string().repeat(6))
        .find(|c| !valid.contains(c))
        .unwrap()
}

/// RFC 4648 base32 (the `secret=` of an otpauth URI), without padding.
fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits: u64 = 0;
    let mut held = 0;
    let mut out = Vec::new();
    for c in text.trim_end_matches('=').bytes() {
        let value = ALPHABET
            .iter()
            .position(|a| *a == c.to_ascii_uppercase())
            .unwrap_or_else(|| panic!("`{}` is not base32", char::from(c)));
        bits = (bits << 5) | value as u64;
        held += 5;
        if held >= 8 {
            held -= 8;
            out.push(u8::try_from((bits >> held) & 0xff).unwrap());
            bits &= (1 << held) - 1;
        }
    }
    out
}

fn query_param<'a>(uri: &'a str, name: &str) -> Option<&'a str> {
    let (_, query) = uri.split_once('?')?;
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}

async fn put_settings(s: &Server, owner: &str, settings: Value) {
    let (status, body) = s.json(Method::PUT, "/settings", owner, Some(settings)).await;
    assert_eq!(status, 200, "{body}");
}

// ----- timeouts -----------------------------------------------------------------------------

#[tokio::test]
async fn an_idle_session_expires_after_the_default_30_minutes() {
    let s = start().await;
    let tech = s.sign_in(TECH).await;
    let (_, me) = s.json(Method::GET, "/session", &tech, None).await;
    assert_eq!(me["idle_timeout_minutes"], 30, "{me}");

    s.clock.advance_ms(29 * MINUTE);
    assert_eq!(s.json(Method::GET, "/session", &tech, None).await.0, 200);

    s.clock.advance_ms(31 * MINUTE);
    let (status, err) = s.json(Method::GET, "/tasks", &tech, None).await;
    assert_eq!(status, 401, "{err}");
    assert_eq!(err["code"], "session_expired");
    // It stays over: activity after expiry does not revive it.
    let (status, err) = s.json(Method::GET, "/session", &tech, None).await;
    assert_eq!(status, 401);
    assert!(
        err["code"] == "session_ended" || err["code"] == "session_expired",
        "{err}"
    );
    // Signing in again works.
    let again = s.sign_in(TECH).await;
    assert_eq!(s.json(Method::GET, "/session", &again, None).await.0, 200);
}

#[tokio::test]
async fn a_request_every_20_minutes_keeps_a_session_alive() {
    let s = start().await;
    let tech = s.sign_in(TECH).await;
    // Six hours of activity, one request every 20 minutes.
    for round in 0..18 {
        s.clock.advance_ms(20 * MINUTE);
        let (status, body) = s.json(Method::GET, "/tasks", &tech, None).await;
        assert_eq!(status, 200, "round {round}: {body}");
    }
}

#[tokio::test]
async fn the_idle_timeout_is_the_orgs_setting() {
    let s = start().await;
    let owner = s.sign_in(OWNER).await;
    for bad in [0, -5, 24 * 60 + 1] {
        let (status, err) = s
            .json(
                Method::PUT,
                "/settings",
                &owner,
                Some(json!({ "idle_timeout_minutes": bad })),
            )
            .await;
        assert_eq!(status, 422, "{bad}: {err}");
        assert_eq!(err["code"], "invalid_setting");
    }
    put_settings(&s, &owner, json!({ "idle_timeout_minutes": 10 })).await;
    let tech = s.sign_in(TECH).await;
    let (_, me) = s.json(Method::GET, "/session", &tech, None).await;
    assert_eq!(me["idle_timeout_minutes"], 10);

    s.clock.advance_ms(9 * MINUTE);
    assert_eq!(s.json(Method::GET, "/tasks", &tech, None).await.0, 200);
    s.clock.advance_ms(9 * MINUTE);
    assert_eq!(s.json(Method::GET, "/tasks", &tech, None).await.0, 200);
    s.clock.advance_ms(11 * MINUTE);
    let (status, err) = s.json(Method::GET, "/tasks", &tech, None).await;
    assert_eq!(status, 401);
    assert_eq!(err["code"], "session_expired");

    // Lengthening it applies to live sessions too.
    let owner = s.sign_in(OWNER).await;
    put_settings(&s, &owner, json!({ "idle_timeout_minutes": 120 })).await;
    let tech = s.sign_in(TECH).await;
    s.clock.advance_ms(100 * MINUTE);
    assert_eq!(s.json(Method::GET, "/tasks", &tech, None).await.0, 200);
}

#[tokio::test]
async fn a_session_ends_after_12_hours_even_when_active() {
    let s = start().await;
    let (status, signed) = sign_in_with(&s, TECH, None, None).await;
    assert_eq!(status, 201);
    let tech = signed["token"].as_str().unwrap().to_owned();
    assert_eq!(signed["expires_at"], T0 + 12 * HOUR, "{signed}");

    // 11 h 40 min of activity, then 11 h 59 min.
    for _ in 0..35 {
        s.clock.advance_ms(20 * MINUTE);
        assert_eq!(s.json(Method::GET, "/tasks", &tech, None).await.0, 200);
    }
    s.clock.advance_ms(19 * MINUTE);
    assert_eq!(s.json(Method::GET, "/tasks", &tech, None).await.0, 200);
    s.clock.advance_ms(MINUTE);
    let (status, err) = s.json(Method::GET, "/tasks", &tech, None).await;
    assert_eq!(status, 401, "{err}");
    assert_eq!(err["code"], "session_expired");
}

// ----- sign-out and where tokens travel -----------------------------------------------------

#[tokio::test]
async fn signing_out_ends_that_session_only() {
    let s = start().await;
    let first = s.sign_in(TECH).await;
    let second = s.sign_in(TECH).await;
    let r = s.call(Method::DELETE, "/session", &first, None).await;
    assert_eq!(r.status(), 204);
    let (status, err) = s.json(Method::GET, "/session", &first, None).await;
    assert_eq!(status, 401);
    assert_eq!(err["code"], "session_ended");
    // Signing out again with the dead token is refused, not an error.
    assert_eq!(
        s.call(Method::DELETE, "/session", &first, None).await.status(),
        401
    );
    // The user's other session is untouched.
    assert_eq!(s.json(Method::GET, "/session", &second, None).await.0, 200);
}

#[tokio::test]
async fn tokens_travel_in_bodies_and_headers_never_in_urls() {
    let s = start().await;
    let (email, password) = s.login_of(TECH);
    let r = s
        .http
        .post(s.url("/session"))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    for (name, value) in r.headers() {
        assert_ne!(name, "location", "sign-in must not redirect with the token");
        assert_ne!(name, "set-cookie", "the token is not a cookie");
        assert!(!value.to_str().unwrap_or("").contains("sts_"), "{name}");
    }
    let signed: Value = r.json().await.unwrap();
    let token = signed["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("sts_"), "{signed}");
    assert_eq!(signed["user"]["email"], email.as_str());
    // No password or secret material in the answer.
    let text = signed.to_string();
    assert!(!text.contains("argon2"), "{text}");
    assert!(!text.contains(&password), "{text}");

    // A token in the query string is not a credential.
    for param in ["token", "access_token", "session", "api_key"] {
        let r = s
            .http
            .get(format!("{}?{param}={token}", s.url("/session")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{param}");
        let err: Value = r.json().await.unwrap();
        assert_eq!(err["code"], "unauthenticated");
    }
    // Sign-in credentials are not accepted from the query string either.
    let r = s
        .http
        .post(format!("{}?email={email}&password={password}", s.url("/session")))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());
    // The header works, and nothing echoes the token back.
    let (status, me) = s.json(Method::GET, "/session", &token, None).await;
    assert_eq!(status, 200);
    assert!(!me.to_string().contains(&token));
}

#[tokio::test]
async fn api_keys_cannot_sign_out_or_enrol_a_second_factor() {
    let s = start().await;
    let key = s.scada_key();
    // A key is a caller: it can ask who it is.
    let (status, me) = s.json(Method::GET, "/session", &key, None).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["principal"]["kind"], "key");
    for (method, path, body) in [
        (Method::DELETE, "/session", None),
        (Method::POST, "/session/totp", None),
        (
            Method::POST,
            "/session/totp/confirm",
            Some(json!({"code": "123456"})),
        ),
    ] {
        let (status, err) = s.json(method.clone(), path, &key, body).await;
        assert_eq!(status, 403, "{method} {path}: {err}");
        assert_eq!(err["code"], "forbidden");
    }
    // The key still works afterwards.
    assert_eq!(s.json(Method::GET, "/equipment", &key, None).await.0, 200);
}

#[tokio::test]
async fn wrong_and_unknown_logins_look_the_same() {
    let s = start().await;
    let (email, _) = s.login_of(TECH);
    let (status, wrong) =
        post_session(&s, json!({"email": email, "password": "not the password at all"})).await;
    assert_eq!(status, 401);
    let (status, unknown) = post_session(
        &s,
        json!({"email": "nobody@northplant.example", "password": "not the password at all"}),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(wrong, unknown);
    assert_eq!(wrong["code"], "invalid_credentials");
}

// ----- TOTP ---------------------------------------------------------------------------------

#[tokio::test]
async fn totp_enrolment_then_codes_are_required_and_single_use() {
    let s = start().await;
    let carmen = s.sign_in(CARMEN).await;

    // Confirming before enrolling is refused.
    let (status, err) = s
        .json(
            Method::POST,
            "/session/totp/confirm",
            &carmen,
            Some(json!({"code": "123456"})),
        )
        .await;
    assert_eq!(status, 409, "{err}");
    assert_eq!(err["code"], "no_enrolment");

    let (status, enrol) = s.json(Method::POST, "/session/totp", &carmen, None).await;
    assert_eq!(status, 200, "{enrol}");
    let uri = enrol["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    assert_eq!(query_param(uri, "issuer"), Some("Steward"), "{uri}");
    // The URI carries the stored secret (hex in the database, base32 in the URI).
    let secret = stored_secret(&s, CARMEN);
    let in_uri = base32_decode(query_param(uri, "secret").unwrap());
    assert_eq!(hex::encode(in_uri), secret);

    // Not on until confirmed: sign-in without a code still works.
    let (status, signed) = sign_in_with(&s, CARMEN, None, None).await;
    assert_eq!(status, 201, "{signed}");
    assert_eq!(signed["user"]["totp_enabled"], false);

    // A wrong code does not confirm; a right one does.
    let (status, err) = s
        .json(
            Method::POST,
            "/session/totp/confirm",
            &carmen,
            Some(json!({"code": wrong_code(&s, &secret)})),
        )
        .await;
    assert_eq!(status, 400, "{err}");
    assert_eq!(err["code"], "invalid_totp");
    let (status, user) = s
        .json(
            Method::POST,
            "/session/totp/confirm",
            &carmen,
            Some(json!({"code": code_now(&s, &secret)})),
        )
        .await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["totp_enabled"], true);
    assert!(user.get("totp_secret").is_none(), "{user}");
    // Enrolling again is refused while it is on.
    let (status, err) = s.json(Method::POST, "/session/totp", &carmen, None).await;
    assert_eq!(status, 409);
    assert_eq!(err["code"], "totp_enrolled");

    // The code used to confirm cannot also sign in.
    let (status, err) = sign_in_with(&s, CARMEN, None, Some(&code_now(&s, &secret))).await;
    assert_eq!(status, 401, "{err}");
    assert_eq!(err["code"], "totp_reused");

    s.clock.advance_ms(30_000);
    let (status, err) = sign_in_with(&s, CARMEN, None, None).await;
    assert_eq!(status, 401, "{err}");
    assert_eq!(err["code"], "totp_required");

    let code = code_now(&s, &secret);
    let (status, signed) = sign_in_with(&s, CARMEN, None, Some(&code)).await;
    assert_eq!(status, 201, "{signed}");
    assert_eq!(signed["user"]["totp_enabled"], true);
    let (status, err) = sign_in_with(&s, CARMEN, None, Some(&code)).await;
    assert_eq!(status, 401, "{err}");
    assert_eq!(err["code"], "totp_reused");
    let (status, err) = sign_in_with(&s, CARMEN, None, Some(&wrong_code(&s, &secret))).await;
    assert_eq!(status, 401, "{err}");
    assert_eq!(err["code"], "invalid_totp");
    // Two failures so far; two more are fine (five lock the account, see below).
    for junk in ["12345", "abcdef"] {
        let (status, err) = sign_in_with(&s, CARMEN, None, Some(junk)).await;
        assert_eq!(status, 401, "{junk:?}: {err}");
        assert_eq!(err["code"], "invalid_totp", "{junk:?}");
    }
    // The next step's code works, and resets the count.
    s.clock.advance_ms(30_000);
    let (status, signed) = sign_in_with(&s, CARMEN, None, Some(&code_now(&s, &secret))).await;
    assert_eq!(status, 201, "{signed}");
    // A code of an earlier step, after a later one was used, is a reuse too.
    let earlier = totp::code_at(&secret, s.clock.now_ms() - 30_000).unwrap();
    assert_eq!(earlier, code);
    let (status, err) = sign_in_with(&s, CARMEN, None, Some(&earlier)).await;
    assert_eq!(status, 401, "{err}");
    assert_eq!(err["code"], "totp_reused");
    // The password is checked first: a right code with a wrong password is no sign-in.
    s.clock.advance_ms(30_000);
    let (status, err) = sign_in_with(
        &s,
        CARMEN,
        Some("wrong password, right code"),
        Some(&code_now(&s, &secret)),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(err["code"], "invalid_credentials");
    // That code was not spent by the failed attempt.
    let (status, signed) = sign_in_with(&s, CARMEN, None, Some(&code_now(&s, &secret))).await;
    assert_eq!(status, 201, "{signed}");
}

#[tokio::test]
async fn wrong_totp_codes_count_towards_the_lockout() {
    let s = start().await;
    let carmen = s.sign_in(CARMEN).await;
    s.json(Method::POST, "/session/totp", &carmen, None).await;
    let secret = stored_secret(&s, CARMEN);
    let (status, _) = s
        .json(
            Method::POST,
            "/session/totp/confirm",
            &carmen,
            Some(json!({"code": code_now(&s, &secret)})),
        )
        .await;
    assert_eq!(status, 200);
    s.clock.advance_ms(30_000);
    for _ in 0..5 {
        let (status, err) = sign_in_with(&s, CARMEN, None, Some(&wrong_code(&s, &secret))).await;
        assert_eq!(status, 401, "{err}");
    }
    let (status, err) = sign_in_with(&s, CARMEN, None, Some(&code_now(&s, &secret))).await;
    assert_eq!(status, 429, "{err}");
    assert_eq!(err["code"], "too_many_attempts");
}

#[tokio::test]
async fn require_totp_lets_a_user_without_a_second_factor_do_nothing_but_enrol_one() {
    let s = start().await;
    // Carmen enrols before the rule is switched on.
    let carmen = s.sign_in(CARMEN).await;
    s.json(Method::POST, "/session/totp", &carmen, None).await;
    let secret = stored_secret(&s, CARMEN);
    let (status, _) = s
        .json(
            Method::POST,
            "/session/totp/confirm",
            &carmen,
            Some(json!({"code": code_now(&s, &secret)})),
        )
        .await;
    assert_eq!(status, 200);

    let owner = s.sign_in(OWNER).await;
    put_settings(
        &s,
        &owner,
        json!({ "idle_timeout_minutes": 30, "require_totp": true }),
    )
    .await;
    let (_, settings) = s.json(Method::GET, "/settings", &owner, None).await;
    assert_eq!(settings["require_totp"], true);

    // Tomás has no authenticator: he gets a session that can only enrol one.
    let (status, signed) = sign_in_with(&s, TECH, None, None).await;
    assert_eq!(status, 201, "{signed}");
    assert_eq!(signed["must_enrol_totp"], true);
    let tomas = signed["token"].as_str().unwrap().to_owned();
    let (status, err) = s.json(Method::GET, "/tasks", &tomas, None).await;
    assert_eq!(status, 403);
    assert_eq!(err["code"], "totp_enrolment_required");
    let (status, _) = s.json(Method::GET, "/session", &tomas, None).await;
    assert_eq!(status, 200);
    let (status, _) = s.json(Method::POST, "/session/totp", &tomas, None).await;
    assert_eq!(status, 200);
    let tomas_secret = stored_secret(&s, TECH);
    let (status, _) = s
        .json(
            Method::POST,
            "/session/totp/confirm",
            &tomas,
            Some(json!({"code": code_now(&s, &tomas_secret)})),
        )
        .await;
    assert_eq!(status, 200);
    // Enrolled: the same session now reaches what his role allows.
    let (status, _) = s.json(Method::GET, "/tasks", &tomas, None).await;
    assert_eq!(status, 200);
    // A wrong password is still just a wrong password (no hint that the account exists).
    let (status, err) = sign_in_with(&s, TECH, Some("not the password at all"), None).await;
    assert_eq!(status, 401);
    assert_eq!(err["code"], "invalid_credentials");

    // Carmen signs in with her code.
    s.clock.advance_ms(30_000);
    let (status, err) = sign_in_with(&s, CARMEN, None, None).await;
    assert_eq!(status, 401);
    assert_eq!(err["code"], "totp_required");
    let (status, signed) = sign_in_with(&s, CARMEN, None, Some(&code_now(&s, &secret))).await;
    assert_eq!(status, 201, "{signed}");

    // From now on Tomás needs his code like everyone else.
    s.clock.advance_ms(30_000);
    let (status, err) = sign_in_with(&s, TECH, None, None).await;
    assert_eq!(status, 401);
    assert_eq!(err["code"], "totp_required");
}

// ----- throttling ---------------------------------------------------------------------------

#[tokio::test]
async fn five_failed_attempts_lock_the_account_until_the_lockout_ends() {
    let s = start().await;
    for attempt in 1..=5 {
        let (status, err) = sign_in_with(&s, HENRIK, Some("wrong password #1"), None).await;
        assert_eq!(status, 401, "attempt {attempt}: {err}");
        assert_eq!(err["code"], "invalid_credentials");
    }
    // Locked: even the right password is refused, and so is a wrong one.
    let (status, err) = sign_in_with(&s, HENRIK, None, None).await;
    assert_eq!(status, 429, "{err}");
    assert_eq!(err["code"], "too_many_attempts");
    assert!(err["message"].as_str().is_some_and(|m| !m.is_empty()));
    let (status, _) = sign_in_with(&s, HENRIK, Some("wrong password #2"), None).await;
    assert_eq!(status, 429);
    // Other people are not affected.
    let (status, _) = sign_in_with(&s, CARMEN, None, None).await;
    assert_eq!(status, 201);

    s.clock.advance_ms(14 * MINUTE);
    let (status, _) = sign_in_with(&s, HENRIK, None, None).await;
    assert_eq!(status, 429);

    // After the lockout the count starts over: one typo is a typo, not another lockout.
    s.clock.advance_ms(2 * MINUTE);
    let (status, err) = sign_in_with(&s, HENRIK, Some("wrong password #3"), None).await;
    assert_eq!(status, 401, "{err}");
    assert_eq!(err["code"], "invalid_credentials");
    let (status, signed) = sign_in_with(&s, HENRIK, None, None).await;
    assert_eq!(status, 201, "{signed}");
}

#[tokio::test]
async fn a_success_resets_the_failure_count() {
    let s = start().await;
    for _ in 0..4 {
        assert_eq!(
            sign_in_with(&s, HENRIK, Some("wrong password"), None).await.0,
            401
        );
    }
    assert_eq!(sign_in_with(&s, HENRIK, None, None).await.0, 201);
    for _ in 0..4 {
        assert_eq!(
            sign_in_with(&s, HENRIK, Some("wrong password"), None).await.0,
            401
        );
    }
    assert_eq!(sign_in_with(&s, HENRIK, None, None).await.0, 201);
}

#[tokio::test]
async fn the_lockout_can_expire_again_and_again() {
    let s = start().await;
    for round in 0..2 {
        for _ in 0..5 {
            assert_eq!(
                sign_in_with(&s, HENRIK, Some("wrong password"), None).await.0,
                401
            );
        }
        assert_eq!(sign_in_with(&s, HENRIK, None, None).await.0, 429, "round {round}");
        s.clock.advance_ms(16 * MINUTE);
    }
    assert_eq!(sign_in_with(&s, HENRIK, None, None).await.0, 201);
}
