//! The legacy-migration review list over real HTTP: an import keeps its migrated viewers, the
//! list says why and what to choose from, a later project-role change marks the choice, the
//! route needs `users.view`, and another org's list stays apart.

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
use serde_json::json;

const TECH_ID: i64 = 6;
const COORDINATOR_ID: i64 = 3;

#[tokio::test]
async fn an_import_lists_its_viewers_for_review_until_the_admin_chooses() {
    let s = start().await;
    let admin = s.sign_in(MANAGER).await;

    // Nothing imported yet: nothing to review.
    let (status, list) = s.json(Method::GET, "/legacy-review", &admin, None).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list, json!([]));

    let (status, body) = s
        .json(
            Method::POST,
            "/legacy-import",
            &admin,
            Some(json!({"assignments": [
                {"user": TECH_ID, "project": 1, "role": "viewer"},
                {"user": COORDINATOR_ID, "project": 1, "role": "editor"},
            ]})),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    // Only the viewer is listed, with the model's reason and choices, and the role held now.
    let (status, list) = s.json(Method::GET, "/legacy-review", &admin, None).await;
    assert_eq!(status, 200, "{list}");
    let rows = list.as_array().unwrap();
    assert_eq!(rows.len(), 1, "{list}");
    assert_eq!(rows[0]["user"], TECH_ID);
    assert_eq!(rows[0]["project"], 1);
    assert_eq!(rows[0]["migrated_to"], "viewer");
    assert_eq!(rows[0]["current"], "viewer");
    assert_eq!(rows[0]["resolved_to"], json!(null));
    assert_eq!(rows[0]["options"], json!(["chat", "viewer", "member"]));
    assert!(rows[0]["why"].as_str().unwrap().contains("run"), "{list}");

    // The admin chooses member through the ordinary project-role change.
    let (status, body) = s
        .json(
            Method::PUT,
            "/projects/1/roles",
            &admin,
            Some(json!({"grantee": {"kind": "user", "id": TECH_ID}, "role": "member"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, list) = s.json(Method::GET, "/legacy-review", &admin, None).await;
    assert_eq!(list[0]["resolved_to"], "member", "{list}");
    assert_eq!(list[0]["current"], "member", "{list}");

    // Importing again lists the pair afresh, not twice.
    let (status, _) = s
        .json(
            Method::POST,
            "/legacy-import",
            &admin,
            Some(json!({"assignments": [{"user": TECH_ID, "project": 1, "role": "viewer"}]})),
        )
        .await;
    assert_eq!(status, 200);
    let (_, list) = s.json(Method::GET, "/legacy-review", &admin, None).await;
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["resolved_to"], json!(null), "{list}");
}

#[tokio::test]
async fn reading_the_review_needs_users_view() {
    let s = start().await;
    let admin = s.sign_in(MANAGER).await;
    let (status, _) = s
        .json(
            Method::POST,
            "/legacy-import",
            &admin,
            Some(json!({"assignments": [{"user": TECH_ID, "project": 1, "role": "viewer"}]})),
        )
        .await;
    assert_eq!(status, 200);
    // The SCADA key holds events.manage and equipment.view only.
    let (status, body) = s.json(Method::GET, "/legacy-review", &s.scada_key(), None).await;
    assert_eq!(status, 403, "{body}");
    // A technician (operator) views users, so sees the list.
    let tech = s.sign_in(TECH).await;
    let (status, list) = s.json(Method::GET, "/legacy-review", &tech, None).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list.as_array().unwrap().len(), 1);
}
