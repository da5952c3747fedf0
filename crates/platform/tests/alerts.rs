//! Alert rules over REST against a real stewardd on 127.0.0.1:0: create, read, change (If-Match),
//! delete, with the catalog's permissions, clear refusals that write nothing, the audit trail and
//! the change feed. Evaluation against real devices and the broker is in presence.rs.

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

fn hot(name: &str) -> Value {
    json!({
        "name": name,
        "condition": { "kind": "threshold", "field": "motor.temp", "op": "above", "value": 80.5 },
    })
}

async fn patch(s: &Server, token: &str, id: i64, version: i64, body: Value) -> (u16, Value) {
    let resp = s
        .http
        .patch(s.url(&format!("/alert-rules/{id}")))
        .bearer_auth(token)
        .header("If-Match", version.to_string())
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn alert_rules_are_created_listed_changed_and_deleted_with_their_permissions() {
    let s = start().await;
    let owner = s.sign_in(OWNER).await;
    let viewer = s.sign_in(MANAGEMENT).await;

    // A viewer may list but not create (alerts.create is a member's).
    assert_eq!(
        s.json(Method::POST, "/alert-rules", &viewer, Some(hot("Hot")))
            .await
            .0,
        403
    );
    let (status, rule) = s
        .json(Method::POST, "/alert-rules", &owner, Some(hot("Hot motor")))
        .await;
    assert_eq!(status, 201, "{rule}");
    assert_eq!(rule["enabled"], true);
    assert_eq!(rule["version"], 1);
    assert_eq!(rule["target"], json!({}));
    let id = rule["id"].as_i64().unwrap();

    // After the demo's two rules.
    let (status, listed) = s.json(Method::GET, "/alert-rules", &viewer, None).await;
    assert_eq!(status, 200);
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 3);
    assert_eq!(listed[2], rule);
    let (status, one) = s
        .json(Method::GET, &format!("/alert-rules/{id}"), &viewer, None)
        .await;
    assert_eq!((status, one), (200, rule.clone()));

    // The same name in another case is taken; nothing is written.
    let (status, body) = s
        .json(Method::POST, "/alert-rules", &owner, Some(hot("HOT MOTOR")))
        .await;
    assert_eq!((status, body["code"].as_str()), (409, Some("name_taken")));

    // A logical group target; the group then cannot be deleted while the rule watches it.
    let (_, group) = s
        .json(
            Method::POST,
            "/logical-groups",
            &owner,
            Some(json!({"name": "Pumps"})),
        )
        .await;
    let group_id = group["id"].as_i64().unwrap();
    let (status, changed) = patch(
        &s,
        &owner,
        id,
        1,
        json!({"target": {"logical_group": group_id}, "condition": {"kind": "offline", "seconds": 120}}),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["version"], 2);
    assert_eq!(changed["condition"], json!({"kind": "offline", "seconds": 120}));
    let (status, body) = s
        .json(
            Method::DELETE,
            &format!("/logical-groups/{group_id}"),
            &owner,
            None,
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("group_in_use")),
        "{body}"
    );
    assert!(body["message"].as_str().unwrap().contains("Hot motor"));

    // A stale version is 412 with the current rule; an empty patch is 422.
    let (status, body) = patch(&s, &owner, id, 1, json!({"enabled": false})).await;
    assert_eq!((status, body["code"].as_str()), (412, Some("version_conflict")));
    assert_eq!(body["details"]["current"]["version"], 2);
    let (status, body) = patch(&s, &owner, id, 2, json!({})).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("empty_patch")));
    let (status, body) = patch(&s, &viewer, id, 2, json!({"enabled": false})).await;
    assert_eq!(status, 403, "{body}");
    let (status, off) = patch(&s, &owner, id, 2, json!({"enabled": false})).await;
    assert_eq!((status, off["enabled"].as_bool()), (200, Some(false)));

    // Every change is audited and in the change feed.
    let (_, audit) = s
        .json(
            Method::GET,
            &format!("/audit?target=alert_rule:{id}&limit=50"),
            &owner,
            None,
        )
        .await;
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions.iter().filter(|a| **a == "alerts.update").count(),
        2,
        "{audit}"
    );
    assert!(actions.contains(&"alerts.create"), "{audit}");
    let (_, feed) = s
        .json(Method::GET, "/changes?since=0&limit=5000", &owner, None)
        .await;
    let versions: Vec<i64> = feed["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["entity"] == "alert_rule" && c["entity_id"] == id)
        .map(|c| c["version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, vec![1, 2, 3]);

    // Deleted: gone from the list, the group can go, the feed says so.
    let resp = s
        .http
        .delete(s.url(&format!("/alert-rules/{id}")))
        .bearer_auth(&owner)
        .header("If-Match", "3")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    let (_, listed) = s.json(Method::GET, "/alert-rules", &owner, None).await;
    assert!(
        listed.as_array().unwrap().iter().all(|r| r["id"] != id),
        "{listed}"
    );
    let (status, _) = s
        .json(Method::GET, &format!("/alert-rules/{id}"), &owner, None)
        .await;
    assert_eq!(status, 404);
    let (status, body) = s
        .json(
            Method::DELETE,
            &format!("/logical-groups/{group_id}"),
            &owner,
            None,
        )
        .await;
    assert_eq!(status, 204, "{body}");
}

#[tokio::test]
async fn alert_history_needs_alerts_history_and_refuses_a_bad_limit() {
    let s = start().await;
    let owner = s.sign_in(OWNER).await;
    let (status, body) = s.json(Method::GET, "/alerts", &owner, None).await;
    assert_eq!((status, body), (200, json!([])));
    let (status, body) = s.json(Method::GET, "/alerts?limit=0", &owner, None).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("invalid_limit")));
    let (status, body) = s.json(Method::GET, "/alerts?colour=red", &owner, None).await;
    assert_eq!(status, 400, "{body}");
    // The SCADA key has events and equipment rights only.
    let (status, _) = s.json(Method::GET, "/alerts", &s.scada_key(), None).await;
    assert_eq!(status, 403);
}
