//! `POST /batch` over real HTTP against a real stewardd: each item gets what it would have got
//! alone (accepted, 412 with the server's record, 403 with the resolver's reasons, 404), with
//! its own audit, change-feed and idempotency records; replaying a batch writes nothing twice;
//! items are decided on the plant as the earlier items left it; a malformed or oversized batch
//! is refused whole, with nothing written.

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
use steward_platform::store::AuditQuery;

const OWNER_ID: i64 = 1;
const MANAGER_ID: i64 = 2;
const TECH_ID: i64 = 6;
const AISHA_ID: i64 = 7;
const SHIFT_A: i64 = 1;
const RELIABILITY: i64 = 1;
const MANAGEMENT_ID: i64 = 14;

fn changes_count(s: &Server) -> usize {
    s.state.store.changes_since(1, 0, 5000).unwrap().len()
}

fn audit(s: &Server, outcome: &str) -> Vec<steward_platform::store::AuditEntry> {
    s.state
        .store
        .audit_page(
            1,
            &AuditQuery {
                outcome: Some(outcome.to_owned()),
                limit: 500,
                ..Default::default()
            },
        )
        .unwrap()
}

async fn version(s: &Server, token: &str, user: i64) -> i64 {
    let (status, body) = s.json(Method::GET, &format!("/users/{user}"), token, None).await;
    assert_eq!(status, 200, "{body}");
    body["version"].as_i64().unwrap()
}

async fn batch(s: &Server, token: &str, items: Value) -> (u16, Value) {
    s.json(Method::POST, "/batch", token, Some(json!({ "items": items })))
        .await
}

fn statuses(body: &Value) -> Vec<u64> {
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn mixed_items_each_get_their_own_outcome_and_records() {
    let s = start().await;
    let marco = s.sign_in(MANAGER).await;
    let tech_version = version(&s, &marco, TECH_ID).await;
    let changes_before = changes_count(&s);
    let ok_before = audit(&s, "ok").len();
    let denied_before = audit(&s, "denied").len();
    let items = json!([
        { "method": "PATCH", "path": format!("/api/v1/users/{TECH_ID}"), "if_match": tech_version,
          "idempotency_key": "k-1", "body": { "role": "member" } },
        { "method": "PATCH", "path": format!("/api/v1/users/{AISHA_ID}"), "if_match": 999,
          "idempotency_key": "k-2", "body": { "active": false } },
        // Unmaking the owner needs organization.manage, which an admin lacks.
        { "method": "PATCH", "path": format!("/api/v1/users/{OWNER_ID}"), "idempotency_key": "k-3",
          "body": { "role": "admin" } },
        { "method": "PUT", "path": format!("/api/v1/groups/{SHIFT_A}/members/11"), "idempotency_key": "k-4" },
        { "method": "PUT", "path": format!("/api/v1/projects/{RELIABILITY}/roles"), "idempotency_key": "k-5",
          "body": { "grantee": { "kind": "user", "id": MANAGEMENT_ID }, "role": "member" } },
        { "method": "PATCH", "path": "/api/v1/users/9999", "idempotency_key": "k-6", "body": { "role": "member" } },
        { "method": "PATCH", "path": format!("/api/v1/users/{TECH_ID}"), "idempotency_key": "k-7",
          "body": { "role": "emperor" } },
    ]);
    let (status, body) = batch(&s, &marco, items).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(statuses(&body), vec![200, 412, 403, 200, 200, 404, 422], "{body}");
    let r = &body["results"];
    assert_eq!(r[0]["body"]["role"], "member");
    assert_eq!(r[0]["body"]["version"], tech_version + 1);
    assert_eq!(r[1]["body"]["code"], "version_conflict");
    assert_eq!(r[1]["body"]["details"]["current"]["id"], AISHA_ID, "{}", r[1]);
    assert_eq!(r[2]["body"]["code"], "forbidden");
    assert_eq!(r[2]["body"]["details"]["decision"]["allowed"], false);
    assert_eq!(r[6]["body"]["code"], "invalid_body");
    assert!(
        r[3]["body"]["members"].as_array().unwrap().contains(&json!(11)),
        "{}",
        r[3]
    );

    // Each accepted item left its audit record and feed row; the refusal its denied record.
    assert_eq!(changes_count(&s), changes_before + 3);
    assert_eq!(audit(&s, "ok").len(), ok_before + 3);
    let denied = audit(&s, "denied");
    assert_eq!(denied.len(), denied_before + 1);
    assert_eq!(denied[0].target, format!("/api/v1/users/{OWNER_ID}"));
    let feed = s.state.store.changes_since(1, 0, 5000).unwrap();
    let tail: Vec<(&str, i64)> = feed[changes_before..]
        .iter()
        .map(|c| (c.entity.as_str(), c.entity_id))
        .collect();
    assert_eq!(
        tail,
        vec![
            ("user", TECH_ID),
            ("group", SHIFT_A),
            ("project_grant", RELIABILITY)
        ]
    );
    assert!(s.state.store.audit_verify().unwrap().ok);

    // The plant was reloaded: the resolver sees the new role and membership at once.
    let (_, user) = s
        .json(Method::GET, &format!("/users/{TECH_ID}"), &marco, None)
        .await;
    assert_eq!(user["role"], "member");
    let plant = s.state.plant(1).unwrap();
    let tech = plant.user(steward_model::UserId(6)).unwrap();
    assert_eq!(tech.org_role, steward_model::OrgRole::Member);
    let (_, aisha) = s
        .json(Method::GET, &format!("/users/{AISHA_ID}"), &marco, None)
        .await;
    assert_eq!(aisha["active"], true, "the 412 item changed nothing");
}

#[tokio::test]
async fn replaying_a_batch_answers_the_same_and_writes_nothing_twice() {
    let s = start().await;
    let marco = s.sign_in(MANAGER).await;
    let tech_version = version(&s, &marco, TECH_ID).await;
    let items = json!([
        { "method": "PATCH", "path": format!("/api/v1/users/{TECH_ID}"), "if_match": tech_version,
          "idempotency_key": "r-1", "body": { "role": "member" } },
        { "method": "PATCH", "path": format!("/api/v1/users/{AISHA_ID}"), "if_match": 999,
          "idempotency_key": "r-2", "body": { "active": false } },
        { "method": "DELETE", "path": format!("/api/v1/groups/{SHIFT_A}/members/{TECH_ID}"),
          "idempotency_key": "r-3" },
    ]);
    let (status, first) = batch(&s, &marco, items.clone()).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(statuses(&first), vec![200, 412, 200]);
    let changes = changes_count(&s);
    let ok = audit(&s, "ok").len();

    let (status, again) = batch(&s, &marco, items).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(statuses(&again), vec![200, 412, 200]);
    for i in [0, 2] {
        assert_eq!(again["results"][i]["body"], first["results"][i]["body"]);
        assert_eq!(again["results"][i]["replayed"], true);
        assert_eq!(first["results"][i]["replayed"], false);
    }
    assert_eq!(changes_count(&s), changes, "no double writes");
    assert_eq!(audit(&s, "ok").len(), ok);

    // The keys are the ones a single request would use: sent alone, the same change replays.
    let r = s
        .http
        .patch(s.url(&format!("/users/{TECH_ID}")))
        .bearer_auth(&marco)
        .header("idempotency-key", "r-1")
        .header("if-match", format!("\"{tech_version}\""))
        .json(&json!({ "role": "member" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["idempotent-replay"], "true");
    assert_eq!(changes_count(&s), changes);

    // A key reused for another change is refused for that item only.
    let (_, reused) = batch(
        &s,
        &marco,
        json!([{ "method": "PATCH", "path": format!("/api/v1/users/{AISHA_ID}"), "idempotency_key": "r-1",
                 "body": { "role": "member" } }]),
    )
    .await;
    assert_eq!(statuses(&reused), vec![422]);
    assert_eq!(reused["results"][0]["body"]["code"], "idempotency_key_reused");
}

#[tokio::test]
async fn an_item_the_caller_may_not_do_is_refused_alone() {
    let s = start().await;
    let carmen = s.sign_in(CARMEN).await;
    let marco = s.sign_in(MANAGER).await;
    let changes = changes_count(&s);
    // Carmen (org member, project editor) may neither manage users nor assign project roles.
    let (status, body) = batch(
        &s,
        &carmen,
        json!([
            { "method": "PATCH", "path": format!("/api/v1/users/{TECH_ID}"), "body": { "role": "member" } },
            { "method": "PUT", "path": format!("/api/v1/projects/{RELIABILITY}/roles"),
              "body": { "grantee": { "kind": "user", "id": MANAGEMENT_ID }, "role": "admin" } },
            { "method": "PUT", "path": "/api/v1/projects/77/roles",
              "body": { "grantee": { "kind": "user", "id": MANAGEMENT_ID }, "role": "admin" } },
        ]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(statuses(&body), vec![403, 403, 404], "{body}");
    assert_eq!(changes_count(&s), changes);

    // The admin's items pass except the one about the owner.
    let (_, body) = batch(
        &s,
        &marco,
        json!([
            { "method": "PATCH", "path": format!("/api/v1/users/{TECH_ID}"), "body": { "role": "member" } },
            { "method": "PATCH", "path": format!("/api/v1/users/{OWNER_ID}"), "body": { "active": false } },
            { "method": "PUT", "path": format!("/api/v1/groups/{SHIFT_A}/members/12") },
        ]),
    )
    .await;
    assert_eq!(statuses(&body), vec![200, 403, 200], "{body}");
    assert_eq!(changes_count(&s), changes + 2);
}

#[tokio::test]
async fn items_are_decided_on_the_plant_the_earlier_items_left() {
    let s = start().await;
    let marco = s.sign_in(MANAGER).await;
    let changes = changes_count(&s);
    // Marco demotes himself first: the next item must be decided as a viewer's.
    let (status, body) = batch(
        &s,
        &marco,
        json!([
            { "method": "PATCH", "path": format!("/api/v1/users/{MANAGER_ID}"), "body": { "role": "viewer" } },
            { "method": "PATCH", "path": format!("/api/v1/users/{TECH_ID}"), "body": { "role": "member" } },
            { "method": "PUT", "path": format!("/api/v1/projects/{RELIABILITY}/roles"),
              "body": { "grantee": { "kind": "user", "id": MANAGER_ID }, "role": "admin" } },
        ]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(statuses(&body), vec![200, 403, 403], "{body}");
    assert_eq!(changes_count(&s), changes + 1);

    // Deactivating oneself ends the session for the rest of the batch, as it would alone.
    let owner = s.sign_in(OWNER).await;
    let (_, body) = batch(
        &s,
        &owner,
        json!([
            { "method": "PATCH", "path": format!("/api/v1/users/{MANAGER_ID}"), "body": { "role": "owner" } },
            { "method": "PATCH", "path": format!("/api/v1/users/{OWNER_ID}"), "body": { "active": false } },
            { "method": "PATCH", "path": format!("/api/v1/users/{TECH_ID}"), "body": { "role": "member" } },
        ]),
    )
    .await;
    assert_eq!(statuses(&body), vec![200, 200, 401], "{body}");
    assert_eq!(body["results"][2]["body"]["code"], "session_ended");
}

#[tokio::test]
async fn a_malformed_or_oversized_batch_is_refused_whole() {
    let s = start().await;
    let marco = s.sign_in(MANAGER).await;
    let changes = changes_count(&s);
    let ok = audit(&s, "ok").len();
    let valid = json!({ "method": "PATCH", "path": format!("/api/v1/users/{TECH_ID}"), "body": { "role": "member" } });
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({ "items": 5 }), 400, "invalid_batch"),
        (json!({ "x": 1 }), 400, "invalid_batch"),
        (json!([valid]), 400, "invalid_batch"),
        (
            json!({ "items": [valid, { "method": "PATCH" }] }),
            400,
            "invalid_batch",
        ),
        (
            json!({ "items": [valid, { "method": "PATCH", "path": "/api/v1/users/6", "surprise": 1 }] }),
            400,
            "invalid_batch",
        ),
        (
            json!({ "items": [valid, { "method": "POST", "path": "/api/v1/groups", "body": { "name": "G" } }] }),
            422,
            "batch_item_unsupported",
        ),
        (
            json!({ "items": [valid, { "method": "PUT", "path": "/api/v1/api-keys/1/permissions",
                                       "body": { "permissions": ["events.view"] } }] }),
            422,
            "batch_item_unsupported",
        ),
        (
            json!({ "items": [valid, { "method": "PATCH", "path": "/api/v1/users/abc", "body": {} }] }),
            422,
            "batch_item_unsupported",
        ),
        (
            json!({ "items": [valid, { "method": "PATCH", "path": "/api/v1/users/6", "idempotency_key": "" }] }),
            400,
            "invalid_idempotency_key",
        ),
        (
            json!({ "items": vec![valid.clone(); 1001] }),
            413,
            "batch_too_large",
        ),
    ];
    for (body, expected, code) in cases {
        let (status, answer) = s.json(Method::POST, "/batch", &marco, Some(body.clone())).await;
        assert_eq!(status, expected, "{body}: {answer}");
        assert_eq!(answer["code"], code, "{body}: {answer}");
        assert!(answer["message"].is_string(), "{answer}");
    }
    assert_eq!(changes_count(&s), changes, "nothing written");
    assert_eq!(audit(&s, "ok").len(), ok);

    // An empty batch is nothing to do; without a token, nothing at all.
    let (status, body) = batch(&s, &marco, json!([])).await;
    assert_eq!((status, body), (200, json!({ "results": [] })));
    let r = s
        .http
        .post(s.url("/batch"))
        .json(&json!({ "items": [] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}
