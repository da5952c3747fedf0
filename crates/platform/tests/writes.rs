//! Writes over real HTTP against a real stewardd on 127.0.0.1:0: `If-Match` versions,
//! `Idempotency-Key` replays, single-use expiring invites, the last-owner and ownership rules,
//! and the audit trail each of them leaves (changes with before/after, refusals as `denied`).

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
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

const HOUR: i64 = 3_600_000;
const OWNER_ID: i64 = 1;
const MANAGER_ID: i64 = 2;
const TECH_ID: i64 = 6;
const MANAGEMENT_ID: i64 = 14;

/// A request with extra headers; (status, headers, JSON body or Null).
async fn send(
    s: &Server,
    method: Method,
    path: &str,
    token: &str,
    headers: &[(&str, String)],
    body: Option<Value>,
) -> (u16, HeaderMap, Value) {
    let mut req = s.http.request(method, s.url(path)).bearer_auth(token);
    for (name, value) in headers {
        req = req.header(*name, value);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

async fn get(s: &Server, path: &str, token: &str) -> Value {
    let (status, body) = s.json(Method::GET, path, token, None).await;
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

async fn demo_task(s: &Server, token: &str) -> Value {
    let tasks = get(s, "/tasks", token).await;
    tasks
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["title"] == "Inspect FL-301 bearings")
        .unwrap()
        .clone()
}

/// The org's audit records matching a query string, newest first.
async fn audit(s: &Server, token: &str, query: &str) -> Vec<Value> {
    get(s, &format!("/audit?{query}"), token)
        .await
        .as_array()
        .unwrap()
        .clone()
}

async fn count_tasks_titled(s: &Server, token: &str, title: &str) -> usize {
    get(s, "/tasks?limit=1000", token)
        .await
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["title"] == title)
        .count()
}

fn assert_chain_ok(s: &Server) {
    let check = s.state.store.audit_verify().unwrap();
    assert!(check.ok, "{check:?}");
}

// ----- If-Match -----------------------------------------------------------------------------

#[tokio::test]
async fn if_match_refuses_stale_versions_with_the_current_record() {
    let s = start().await;
    let tech = s.sign_in(TECH).await;
    let task = demo_task(&s, &tech).await;
    let id = task["id"].as_i64().unwrap();
    let path = format!("/tasks/{id}");
    let v1 = task["version"].as_i64().unwrap();

    // The right version: 200 and version + 1.
    let (status, _, updated) = send(
        &s,
        Method::PATCH,
        &path,
        &tech,
        &[("if-match", format!("\"{v1}\""))],
        Some(json!({"status": "in_progress"})),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["version"], v1 + 1);
    assert_eq!(updated["status"], "in_progress");

    // A stale version: 412 with the current record, and nothing changes.
    for stale in [format!("\"{v1}\""), v1.to_string(), format!("{}", v1 + 5)] {
        let (status, _, err) = send(
            &s,
            Method::PATCH,
            &path,
            &tech,
            &[("if-match", stale.clone())],
            Some(json!({"status": "done", "title": "Overwritten"})),
        )
        .await;
        assert_eq!(status, 412, "{stale}: {err}");
        assert_eq!(err["code"], "version_conflict");
        assert!(!err["message"].as_str().unwrap().is_empty());
        assert_eq!(err["details"]["current"], updated, "{stale}");
    }
    assert_eq!(get(&s, &path, &tech).await, updated);

    // Malformed If-Match: 400, nothing changes.
    for bad in ["abc", "W/\"2\"", "\"\"", "1.5", "2, 3"] {
        let (status, _, err) = send(
            &s,
            Method::PATCH,
            &path,
            &tech,
            &[("if-match", bad.to_owned())],
            Some(json!({"status": "done"})),
        )
        .await;
        assert_eq!(status, 400, "{bad}: {err}");
        assert_eq!(err["code"], "invalid_if_match", "{bad}");
    }
    assert_eq!(get(&s, &path, &tech).await, updated);

    // Deleting with a stale version is refused too; with the right one it goes.
    let (status, _, err) = send(
        &s,
        Method::DELETE,
        &path,
        &tech,
        &[("if-match", v1.to_string())],
        None,
    )
    .await;
    assert_eq!(status, 412, "{err}");
    assert_eq!(err["details"]["current"], updated);
    let (status, _, _) = send(
        &s,
        Method::DELETE,
        &path,
        &tech,
        &[("if-match", (v1 + 1).to_string())],
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(s.json(Method::GET, &path, &tech, None).await.0, 404);
    assert_chain_ok(&s);
}

#[tokio::test]
async fn if_match_guards_users_groups_and_assets_too() {
    let s = start().await;
    let manager = s.sign_in(MANAGER).await;
    let carmen = s.sign_in(CARMEN).await;
    // (path, who edits, a change); groups have no single-group GET, so read them from the list.
    let cases = [
        ("/users/6", &manager, json!({"role": "member"})),
        ("/groups/1", &manager, json!({"name": "Shift A"})),
        ("/assets/1", &carmen, json!({"name": "Vibration"})),
    ];
    for (path, token, body) in cases {
        let current = if path.starts_with("/groups") {
            get(&s, "/groups", token).await.as_array().unwrap()[0].clone()
        } else {
            get(&s, path, token).await
        };
        let version = current["version"].as_i64().unwrap();
        let (status, _, err) = send(
            &s,
            Method::PATCH,
            path,
            token,
            &[("if-match", (version + 1).to_string())],
            Some(body.clone()),
        )
        .await;
        assert_eq!(status, 412, "{path}: {err}");
        assert_eq!(err["code"], "version_conflict");
        assert_eq!(err["details"]["current"]["version"], version, "{path}");
        let (status, _, err) = send(
            &s,
            Method::PATCH,
            path,
            token,
            &[("if-match", "nope".to_owned())],
            Some(body.clone()),
        )
        .await;
        assert_eq!(status, 400, "{path}: {err}");
        assert_eq!(err["code"], "invalid_if_match");
        let (status, _, after) = send(
            &s,
            Method::PATCH,
            path,
            token,
            &[("if-match", version.to_string())],
            Some(body.clone()),
        )
        .await;
        assert_eq!(status, 200, "{path}: {after}");
        assert_eq!(after["version"], version + 1, "{path}");
    }
}

// ----- Idempotency-Key ----------------------------------------------------------------------

#[tokio::test]
async fn an_idempotency_key_replays_the_first_response() {
    let s = start().await;
    let tech = s.sign_in(TECH).await;
    let body = json!({"title": "Idempotent greasing round"});
    let key = [("idempotency-key", "4b1e-greasing-1".to_owned())];

    let (status, headers, first) = send(&s, Method::POST, "/tasks", &tech, &key, Some(body.clone())).await;
    assert_eq!(status, 201, "{first}");
    assert!(headers.get("idempotent-replay").is_none());
    let (status, headers, second) = send(&s, Method::POST, "/tasks", &tech, &key, Some(body.clone())).await;
    assert_eq!(status, 201, "{second}");
    assert_eq!(headers.get("idempotent-replay").unwrap(), "true");
    assert_eq!(second, first);
    assert_eq!(
        count_tasks_titled(&s, &tech, "Idempotent greasing round").await,
        1
    );
    let creates = audit(
        &s,
        &tech,
        &format!("action=tasks.create&target=tasks:{}", first["id"]),
    )
    .await;
    assert_eq!(creates.len(), 1);

    // The same key with a different request is refused, and writes nothing.
    let (status, _, err) = send(
        &s,
        Method::POST,
        "/tasks",
        &tech,
        &key,
        Some(json!({"title": "Something else"})),
    )
    .await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(err["code"], "idempotency_key_reused");
    assert_eq!(count_tasks_titled(&s, &tech, "Something else").await, 0);
    // So is the same body on another route.
    let (status, _, err) = send(&s, Method::POST, "/events", &tech, &key, Some(body.clone())).await;
    assert_eq!(status, 422, "{err}");

    // Keys belong to their caller: another person's same key is a new request.
    let carmen = s.sign_in(CARMEN).await;
    let (status, headers, other) = send(&s, Method::POST, "/tasks", &carmen, &key, Some(body.clone())).await;
    assert_eq!(status, 201, "{other}");
    assert!(headers.get("idempotent-replay").is_none());
    assert_ne!(other["id"], first["id"]);

    // Without a key, the same body is a second task.
    let (status, _, third) = s_post(&s, &tech, body.clone()).await;
    assert_eq!(status, 201);
    assert_ne!(third["id"], first["id"]);

    // Malformed keys.
    for bad in [String::new(), "k".repeat(201)] {
        let (status, _, err) = send(
            &s,
            Method::POST,
            "/tasks",
            &tech,
            &[("idempotency-key", bad)],
            Some(body.clone()),
        )
        .await;
        assert_eq!(status, 400, "{err}");
        assert_eq!(err["code"], "invalid_idempotency_key");
    }
    assert_chain_ok(&s);
}

async fn s_post(s: &Server, token: &str, body: Value) -> (u16, HeaderMap, Value) {
    send(s, Method::POST, "/tasks", token, &[], Some(body)).await
}

#[tokio::test]
async fn an_idempotent_update_is_applied_once() {
    let s = start().await;
    let tech = s.sign_in(TECH).await;
    let task = demo_task(&s, &tech).await;
    let path = format!("/tasks/{}", task["id"]);
    let key = [("idempotency-key", "patch-once".to_owned())];
    let body = json!({"status": "done"});
    let (status, _, first) = send(&s, Method::PATCH, &path, &tech, &key, Some(body.clone())).await;
    assert_eq!(status, 200, "{first}");
    let (status, headers, second) = send(&s, Method::PATCH, &path, &tech, &key, Some(body)).await;
    assert_eq!(status, 200);
    assert_eq!(headers.get("idempotent-replay").unwrap(), "true");
    assert_eq!(second, first);
    assert_eq!(
        get(&s, &path, &tech).await["version"],
        task["version"].as_i64().unwrap() + 1
    );
}

#[tokio::test]
async fn a_failed_request_does_not_use_up_its_idempotency_key() {
    let s = start().await;
    let tech = s.sign_in(TECH).await;
    let key = [("idempotency-key", "retry-after-fix".to_owned())];
    let (status, _, err) = send(
        &s,
        Method::POST,
        "/tasks",
        &tech,
        &key,
        Some(json!({"title": ""})),
    )
    .await;
    assert_eq!(status, 422, "{err}");
    // Different body, same key: the failed attempt stored nothing to conflict with.
    let (status, _, task) = send(
        &s,
        Method::POST,
        "/tasks",
        &tech,
        &key,
        Some(json!({"title": "Fixed title"})),
    )
    .await;
    assert_eq!(status, 201, "{task}");
}

// Several worker threads, so the requests really overlap on the server (a race between the
// replay check and the write is possible; when it happens the loser gets 409, never a 500).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_with_one_idempotency_key_write_once() {
    let s = start().await;
    let tech = s.sign_in(TECH).await;
    let body = json!({"title": "Raced task"});
    let key = [("idempotency-key", "raced".to_owned())];
    let mut calls = Vec::new();
    for _ in 0..16 {
        calls.push(send(&s, Method::POST, "/tasks", &tech, &key, Some(body.clone())));
    }
    let results = futures_join_all(calls).await;
    let mut ids = std::collections::BTreeSet::new();
    for (status, _, response) in &results {
        assert!(
            *status == 201 || *status == 409,
            "{status}: {response} (never a 5xx)"
        );
        if *status == 201 {
            ids.insert(response["id"].as_i64().unwrap());
        } else {
            assert_eq!(response["code"], "idempotency_conflict", "{response}");
            assert!(!response["message"].as_str().unwrap().is_empty());
        }
    }
    assert_eq!(ids.len(), 1, "{results:?}");
    assert_eq!(count_tasks_titled(&s, &tech, "Raced task").await, 1);
    // A retry after the race gets the stored response.
    let (status, headers, replay) = send(
        &s,
        Method::POST,
        "/tasks",
        &tech,
        &[("idempotency-key", "raced".to_owned())],
        Some(body),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(headers.get("idempotent-replay").unwrap(), "true");
    assert_eq!(replay["id"].as_i64().unwrap(), *ids.first().unwrap());
}

/// Runs the futures at once (on this task) and returns their outputs in order.
async fn futures_join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut pinned: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, slot) in pinned.iter_mut().zip(out.iter_mut()) {
            if slot.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *slot = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().map(Option::unwrap).collect()
}

// ----- invites ------------------------------------------------------------------------------

async fn invite(s: &Server, token: &str, body: Value) -> (u16, Value) {
    s.json(Method::POST, "/invites", token, Some(body)).await
}

async fn accept(s: &Server, token: &str, name: &str, password: &str) -> (u16, Value) {
    let r = s
        .http
        .post(s.url("/invites/accept"))
        .json(&json!({"token": token, "name": name, "password": password}))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn an_invite_is_single_use_and_gives_its_role() {
    let s = start().await;
    let manager = s.sign_in(MANAGER).await;
    let (status, invited) = invite(
        &s,
        &manager,
        json!({"email": "new.tech@northplant.example", "role": "operator"}),
    )
    .await;
    assert_eq!(status, 201, "{invited}");
    assert_eq!(invited["invite"]["role"], "operator");
    assert_eq!(invited["invite"]["expires_at"], T0 + 72 * HOUR);
    assert!(invited["invite"]["used_at"].is_null());
    let token = invited["token"].as_str().unwrap().to_owned();

    // A weak password is refused and does not use the invite up.
    let (status, err) = accept(&s, &token, "New Tech", "short").await;
    assert_eq!(status, 400, "{err}");
    assert_eq!(err["code"], "weak_password");
    let (status, err) = accept(&s, &token, "   ", "a long enough password").await;
    assert_eq!(status, 422, "{err}");

    let (status, user) = accept(&s, &token, "New Tech", "a long enough password").await;
    assert_eq!(status, 201, "{user}");
    assert_eq!(user["role"], "operator");
    assert_eq!(user["email"], "new.tech@northplant.example");
    assert_eq!(user["name"], "New Tech");
    assert_eq!(user["active"], true);
    assert!(!user.to_string().contains("argon2"));

    // The new person signs in and holds the operator's permissions.
    let r = s
        .http
        .post(s.url("/session"))
        .json(&json!({"email": "new.tech@northplant.example", "password": "a long enough password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let new_token = r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = s
        .json(
            Method::POST,
            "/tasks",
            &new_token,
            Some(json!({"title": "First job"})),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = s
        .json(
            Method::POST,
            "/equipment",
            &new_token,
            Some(json!({"title": "Pump"})),
        )
        .await;
    assert_eq!(status, 403);

    // Once only.
    let (status, err) = accept(&s, &token, "Someone Else", "another long password").await;
    assert_eq!(status, 410, "{err}");
    assert_eq!(err["code"], "invite_used");
    // An unknown token is not found.
    let (status, err) = accept(&s, "sti_not_a_real_token", "X", "a long enough password").await;
    assert_eq!(status, 404, "{err}");
    assert_eq!(err["code"], "not_found");

    // An email that already has an account cannot be invited again.
    let (status, err) = invite(&s, &manager, json!({"email": "new.tech@northplant.example"})).await;
    assert_eq!(status, 409, "{err}");
    assert_eq!(err["code"], "email_taken");
    let (status, err) = invite(&s, &manager, json!({"email": "not an email"})).await;
    assert_eq!(status, 422, "{err}");

    // The audit trail has the invite and the new user.
    let invites = audit(&s, &manager, "action=user.invite").await;
    assert_eq!(invites.len(), 1);
    assert_eq!(invites[0]["actor"], format!("user:{MANAGER_ID}"));
    assert_eq!(invites[0]["after"]["role"], "operator");
    let created = audit(
        &s,
        &manager,
        &format!("action=user.create&target=user:{}", user["id"]),
    )
    .await;
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["after"]["role"], "operator");
    assert!(created[0]["before"].is_null());
    assert_chain_ok(&s);
}

#[tokio::test]
async fn an_invite_naming_no_role_gives_viewer() {
    let s = start().await;
    let manager = s.sign_in(MANAGER).await;
    let (status, invited) = invite(&s, &manager, json!({"email": "auditor@northplant.example"})).await;
    assert_eq!(status, 201, "{invited}");
    assert_eq!(invited["invite"]["role"], "viewer");
    let (status, user) = accept(
        &s,
        invited["token"].as_str().unwrap(),
        "Anna Auditor",
        "correct horse battery staple",
    )
    .await;
    assert_eq!(status, 201, "{user}");
    assert_eq!(user["role"], "viewer");
}

#[tokio::test]
async fn an_invite_expires_after_72_hours() {
    let s = start().await;
    let manager = s.sign_in(MANAGER).await;
    let (_, late) = invite(&s, &manager, json!({"email": "late@northplant.example"})).await;
    let (_, in_time) = invite(&s, &manager, json!({"email": "in.time@northplant.example"})).await;

    s.clock.advance_ms(71 * HOUR);
    let (status, user) = accept(
        &s,
        in_time["token"].as_str().unwrap(),
        "In Time",
        "a long enough password",
    )
    .await;
    assert_eq!(status, 201, "{user}");

    s.clock.advance_ms(2 * HOUR);
    let (status, err) = accept(
        &s,
        late["token"].as_str().unwrap(),
        "Too Late",
        "a long enough password",
    )
    .await;
    assert_eq!(status, 410, "{err}");
    assert_eq!(err["code"], "invite_expired");
    // No account was made.
    assert!(
        s.state
            .store
            .credentials_by_email("late@northplant.example")
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn only_owners_make_owners() {
    let s = start().await;
    let manager = s.sign_in(MANAGER).await;
    let owner = s.sign_in(OWNER).await;

    // An admin can invite an admin but not an owner.
    let (status, err) = invite(
        &s,
        &manager,
        json!({"email": "boss@northplant.example", "role": "owner"}),
    )
    .await;
    assert_eq!(status, 403, "{err}");
    let (status, _) = invite(
        &s,
        &owner,
        json!({"email": "boss@northplant.example", "role": "owner"}),
    )
    .await;
    assert_eq!(status, 201);

    // An admin cannot make someone owner, nor change an owner.
    for (id, body) in [
        (TECH_ID, json!({"role": "owner"})),
        (MANAGER_ID, json!({"role": "owner"})),
        (OWNER_ID, json!({"role": "viewer"})),
        (OWNER_ID, json!({"active": false})),
    ] {
        let (status, err) = s
            .json(
                Method::PATCH,
                &format!("/users/{id}"),
                &manager,
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, 403, "{id} {body}: {err}");
        assert_eq!(err["code"], "forbidden");
    }
    assert_eq!(
        get(&s, &format!("/users/{TECH_ID}"), &manager).await["role"],
        "operator"
    );
    assert_eq!(
        get(&s, &format!("/users/{OWNER_ID}"), &manager).await["role"],
        "owner"
    );
    // Those refusals are in the audit trail.
    let denied = audit(&s, &owner, &format!("outcome=denied&actor=user:{MANAGER_ID}")).await;
    assert!(denied.len() >= 5, "{denied:?}");

    // An admin can change other roles.
    let (status, tech) = s
        .json(
            Method::PATCH,
            &format!("/users/{TECH_ID}"),
            &manager,
            Some(json!({"role": "member"})),
        )
        .await;
    assert_eq!(status, 200, "{tech}");
    assert_eq!(tech["role"], "member");
}

#[tokio::test]
async fn the_last_owner_stays_an_owner() {
    let s = start().await;
    let owner = s.sign_in(OWNER).await;
    for body in [
        json!({"role": "admin"}),
        json!({"role": "viewer"}),
        json!({"active": false}),
    ] {
        let (status, err) = s
            .json(
                Method::PATCH,
                &format!("/users/{OWNER_ID}"),
                &owner,
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, 409, "{body}: {err}");
        assert_eq!(err["code"], "last_owner");
    }
    let me = get(&s, &format!("/users/{OWNER_ID}"), &owner).await;
    assert_eq!(me["role"], "owner");
    assert_eq!(me["active"], true);
    assert_eq!(me["version"], 1);

    // The owner makes the manager owner; then either may step down, but not both.
    let (status, marco) = s
        .json(
            Method::PATCH,
            &format!("/users/{MANAGER_ID}"),
            &owner,
            Some(json!({"role": "owner"})),
        )
        .await;
    assert_eq!(status, 200, "{marco}");
    assert_eq!(marco["role"], "owner");
    let (status, olivia) = s
        .json(
            Method::PATCH,
            &format!("/users/{OWNER_ID}"),
            &owner,
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!(status, 200, "{olivia}");
    assert_eq!(olivia["role"], "admin");
    // Olivia is admin now: she can no longer touch the owner.
    let (status, _) = s
        .json(
            Method::PATCH,
            &format!("/users/{MANAGER_ID}"),
            &owner,
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!(status, 403);
    let manager = s.sign_in(MANAGER).await;
    let (status, err) = s
        .json(
            Method::PATCH,
            &format!("/users/{MANAGER_ID}"),
            &manager,
            Some(json!({"active": false})),
        )
        .await;
    assert_eq!(status, 409, "{err}");
    assert_eq!(err["code"], "last_owner");

    // Audit: each role change with before and after.
    let changes = audit(&s, &manager, "action=user.update").await;
    let roles: Vec<(String, String, String)> = changes
        .iter()
        .rev()
        .map(|a| {
            (
                a["target"].as_str().unwrap().to_owned(),
                a["before"]["role"].as_str().unwrap().to_owned(),
                a["after"]["role"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        roles,
        [
            ("user:2".to_owned(), "admin".to_owned(), "owner".to_owned()),
            ("user:1".to_owned(), "owner".to_owned(), "admin".to_owned()),
        ]
    );
    assert_chain_ok(&s);
}

// ----- the audit trail ----------------------------------------------------------------------

#[tokio::test]
async fn every_change_is_audited_with_before_and_after() {
    let s = start().await;
    let tech = s.sign_in(TECH).await;
    let manager = s.sign_in(MANAGER).await;
    let owner = s.sign_in(OWNER).await;

    let (_, task) = s
        .json(Method::POST, "/tasks", &tech, Some(json!({"title": "Audit me"})))
        .await;
    let id = task["id"].as_i64().unwrap();
    let (_, updated) = s
        .json(
            Method::PATCH,
            &format!("/tasks/{id}"),
            &tech,
            Some(json!({"status": "done"})),
        )
        .await;
    let r = s.call(Method::DELETE, &format!("/tasks/{id}"), &tech, None).await;
    assert_eq!(r.status(), 204);
    let (status, _) = s
        .json(
            Method::PUT,
            "/settings",
            &owner,
            Some(json!({"idle_timeout_minutes": 45, "require_totp": false})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = s
        .json(
            Method::PATCH,
            &format!("/users/{TECH_ID}"),
            &manager,
            Some(json!({"active": false})),
        )
        .await;
    assert_eq!(status, 200);

    let trail = audit(&s, &manager, "limit=500").await;
    let find = |action: &str, target: &str| {
        trail
            .iter()
            .find(|a| a["action"] == action && a["target"] == target)
            .unwrap_or_else(|| panic!("no audit record {action} {target}"))
            .clone()
    };
    let target = format!("tasks:{id}");
    let created = find("tasks.create", &target);
    assert!(created["before"].is_null());
    assert_eq!(created["after"], task);
    assert_eq!(created["actor"], format!("user:{TECH_ID}"));
    assert_eq!(created["outcome"], "ok");
    assert_eq!(created["source"], "127.0.0.1");
    assert_eq!(created["at"], T0);
    let update = find("tasks.update", &target);
    assert_eq!(update["before"], task);
    assert_eq!(update["after"], updated);
    let deleted = find("tasks.delete", &target);
    assert_eq!(deleted["before"], updated);
    assert!(deleted["after"].is_null());
    let settings = find("settings.update", "org:1");
    assert_eq!(settings["after"]["idle_timeout_minutes"], 45);
    assert_eq!(settings["actor"], format!("user:{OWNER_ID}"));
    let deactivated = find("user.deactivate", &format!("user:{TECH_ID}"));
    assert_eq!(deactivated["before"]["active"], true);
    assert_eq!(deactivated["after"]["active"], false);
    assert_eq!(deactivated["actor"], format!("user:{MANAGER_ID}"));
    // Newest first.
    let ids: Vec<i64> = trail.iter().map(|a| a["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]));
    assert_chain_ok(&s);
}

#[tokio::test]
async fn a_denied_write_is_audited_as_denied_and_writes_nothing() {
    let s = start().await;
    let management = s.sign_in(MANAGEMENT).await;
    let manager = s.sign_in(MANAGER).await;
    let before = get(&s, "/tasks", &manager).await;

    let (status, err) = s
        .json(
            Method::POST,
            "/tasks",
            &management,
            Some(json!({"title": "Not allowed"})),
        )
        .await;
    assert_eq!(status, 403, "{err}");
    assert_eq!(get(&s, "/tasks", &manager).await, before);

    let denied = audit(&s, &manager, "outcome=denied").await;
    assert_eq!(denied.len(), 1, "{denied:?}");
    let record = &denied[0];
    assert_eq!(record["actor"], format!("user:{MANAGEMENT_ID}"));
    assert_eq!(record["outcome"], "denied");
    assert_eq!(record["action"], "access.denied");
    assert_eq!(record["target"], "/api/v1/tasks");
    assert_eq!(record["after"]["method"], "POST");
    assert_eq!(record["after"]["action"], "tasks.manage");
    assert!(
        record["after"]["reasons"]
            .as_array()
            .is_some_and(|r| !r.is_empty()),
        "{record}"
    );
    // A denied read is not a change: it leaves no record.
    let (status, _) = s.json(Method::GET, "/users", &s.scada_key(), None).await;
    assert_eq!(status, 403);
    assert_eq!(audit(&s, &manager, "outcome=denied").await.len(), 1);
    // The viewer may read the trail, including their own refusal.
    let (status, seen) = s
        .json(Method::GET, "/audit?outcome=denied", &management, None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(seen.as_array().unwrap().len(), 1);
    assert_chain_ok(&s);
}
