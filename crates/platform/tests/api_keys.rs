//! API keys over real HTTP against a real stewardd on 127.0.0.1:0: the secret shown once,
//! authentication with it, the SCADA scenario, revocation, disable-edit-enable, no escalation,
//! the IoT JSON format, scopes, and org isolation.

// Tests: a failed step is a failed test, so unwrapping, indexing JSON and panicking are the
// assertions themselves.
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
use steward_model::OrgRole;
use steward_platform::auth::secrets;
use steward_platform::store::{Actor, WriteCtx};

/// A request with extra headers (If-Match, Idempotency-Key); returns status, headers, JSON body.
async fn send(
    s: &Server,
    method: Method,
    path: &str,
    token: &str,
    headers: &[(&str, String)],
    body: Option<Value>,
) -> (u16, reqwest::header::HeaderMap, Value) {
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

async fn create_key(s: &Server, token: &str, body: Value) -> Value {
    let (status, key) = s.json(Method::POST, "/api-keys", token, Some(body)).await;
    assert_eq!(status, 201, "{key}");
    key
}

fn is_base62(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// `stw_<8 lowercase letters or digits>_<at least 32 base62>`.
fn assert_key_shape(secret: &str) {
    let rest = secret.strip_prefix("stw_").unwrap_or_else(|| panic!("{secret}"));
    let (prefix, random) = rest.split_once('_').unwrap_or_else(|| panic!("{secret}"));
    assert_eq!(prefix.len(), 8, "{secret}");
    assert!(
        prefix
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
        "{secret}"
    );
    assert!(random.len() >= 32 && is_base62(random), "{secret}");
}

#[tokio::test]
async fn the_secret_is_shown_once_and_authenticates_as_the_scada_scenario() {
    let s = start().await;
    let manager = s.sign_in(MANAGER).await;
    let key = create_key(
        &s,
        &manager,
        json!({"name": "  SCADA South Plant  ", "permissions": ["events.manage", "equipment.view"]}),
    )
    .await;
    let secret = key["secret"].as_str().unwrap().to_owned();
    assert_key_shape(&secret);
    assert_eq!(key["name"], "SCADA South Plant");
    assert_eq!(key["enabled"], true);
    assert_eq!(key["created_by"], "user:2");
    assert_eq!(
        key["permissions"],
        json!(["equipment.view", "events.view", "events.manage"])
    );
    assert_eq!(key["permissions_json"]["events"]["manage"], true);
    assert_eq!(key["permissions_json"]["telemetry"]["listen"], false);
    let prefix = key["prefix"].as_str().unwrap();
    assert!(secret.starts_with(&format!("stw_{prefix}_")), "{key}");
    assert!(key.get("secret_hash").is_none(), "{key}");
    let random = secret.rsplit('_').next().unwrap();

    // Never again: not in the list, not in the detail, not in the audit trail.
    let id = key["id"].as_i64().unwrap();
    let (status, list) = s.json(Method::GET, "/api-keys", &manager, None).await;
    assert_eq!(status, 200);
    let listed = list.as_array().unwrap().iter().find(|k| k["id"] == id).unwrap();
    assert!(listed.get("secret").is_none(), "{listed}");
    assert_eq!(listed["permissions_json"]["events"]["manage"], true);
    let (status, detail) = s
        .json(Method::GET, &format!("/api-keys/{id}"), &manager, None)
        .await;
    assert_eq!(status, 200);
    assert!(detail.get("secret").is_none(), "{detail}");
    let (_, audit) = s.json(Method::GET, "/audit", &manager, None).await;
    for text in [list.to_string(), detail.to_string(), audit.to_string()] {
        assert!(!text.contains(random), "the secret leaked: {text}");
        assert!(!text.contains("secret_hash"), "{text}");
    }

    // The key authenticates as itself and can do exactly what it holds.
    let (status, me) = s.json(Method::GET, "/session", &secret, None).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["principal"], json!({"kind": "key", "id": id}));
    assert_eq!(
        s.json(
            Method::POST,
            "/events",
            &secret,
            Some(json!({"title": "Alarm 7"}))
        )
        .await
        .0,
        201
    );
    assert_eq!(s.json(Method::GET, "/equipment", &secret, None).await.0, 200);
    assert_eq!(s.json(Method::GET, "/users", &secret, None).await.0, 403);
    let (status, denied) = s
        .json(
            Method::POST,
            "/equipment",
            &secret,
            Some(json!({"title": "Pump"})),
        )
        .await;
    assert_eq!(status, 403);
    assert_eq!(denied["details"]["decision"]["reasons"][0]["reason"], "key_lacks");

    // A wrong secret with the right prefix is not the key.
    let forged = format!("stw_{prefix}_{}", "A".repeat(40));
    let (status, body) = s.json(Method::GET, "/equipment", &forged, None).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("bad_credentials")));
}

#[tokio::test]
async fn a_replayed_create_never_returns_the_secret_again() {
    let s = start().await;
    let manager = s.sign_in(MANAGER).await;
    let body = json!({"name": "ERP", "permissions": ["tasks.view"]});
    let idem = [("idempotency-key", "create-erp-key-1".to_owned())];
    let (status, _, first) = send(&s, Method::POST, "/api-keys", &manager, &idem, Some(body.clone())).await;
    assert_eq!(status, 201, "{first}");
    assert!(first["secret"].is_string());
    let (status, headers, again) = send(&s, Method::POST, "/api-keys", &manager, &idem, Some(body)).await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(headers["idempotent-replay"], "true");
    assert_eq!(again["id"], first["id"]);
    assert!(again.get("secret").is_none(), "{again}");
    let (_, list) = s.json(Method::GET, "/api-keys", &manager, None).await;
    assert_eq!(
        list.as_array()
            .unwrap()
            .iter()
            .filter(|k| k["name"] == "ERP")
            .count(),
        1
    );
}

#[tokio::test]
async fn a_revoked_key_fails_on_its_very_next_request() {
    let s = start().await;
    let manager = s.sign_in(MANAGER).await;
    let key = create_key(
        &s,
        &manager,
        json!({"name": "Compromised", "permissions": ["events.view"]}),
    )
    .await;
    let (id, secret) = (
        key["id"].as_i64().unwrap(),
        key["secret"].as_str().unwrap().to_owned(),
    );
    assert_eq!(s.json(Method::GET, "/events", &secret, None).await.0, 200);

    let (status, revoked) = s
        .json(Method::DELETE, &format!("/api-keys/{id}"), &manager, None)
        .await;
    assert_eq!(status, 200, "{revoked}");
    assert!(revoked["revoked_at"].is_i64(), "{revoked}");
    assert_eq!(revoked["enabled"], false);
    assert!(revoked.get("secret").is_none());

    let (status, body) = s.json(Method::GET, "/events", &secret, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("key_revoked")),
        "{body}"
    );

    // Gone for good: revoking, enabling or editing it again is 410.
    for (method, path, body) in [
        (Method::DELETE, format!("/api-keys/{id}"), None),
        (Method::POST, format!("/api-keys/{id}/enable"), None),
        (
            Method::PUT,
            format!("/api-keys/{id}/permissions"),
            Some(json!({"permissions": ["events.view"]})),
        ),
    ] {
        let (status, err) = s.json(method.clone(), &path, &manager, body).await;
        assert_eq!(
            (status, err["code"].as_str()),
            (410, Some("key_revoked")),
            "{method} {path}"
        );
    }
    // Still listed, as revoked.
    let (_, detail) = s
        .json(Method::GET, &format!("/api-keys/{id}"), &manager, None)
        .await;
    assert_eq!(detail["revoked_at"], revoked["revoked_at"]);
}

#[tokio::test]
async fn permissions_change_only_while_disabled_disable_edit_enable() {
    let s = start().await;
    let manager = s.sign_in(MANAGER).await;
    let key = create_key(
        &s,
        &manager,
        json!({"name": "Historian", "permissions": ["events.view"]}),
    )
    .await;
    let (id, secret) = (
        key["id"].as_i64().unwrap(),
        key["secret"].as_str().unwrap().to_owned(),
    );
    let version = key["version"].as_i64().unwrap();
    let edit = json!({"permissions": ["tasks.view"]});

    let (status, err) = s
        .json(
            Method::PUT,
            &format!("/api-keys/{id}/permissions"),
            &manager,
            Some(edit.clone()),
        )
        .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (409, Some("key_enabled")),
        "{err}"
    );

    // Disable (with If-Match): the key stops working at once.
    let (status, _, disabled) = send(
        &s,
        Method::POST,
        &format!("/api-keys/{id}/disable"),
        &manager,
        &[("if-match", format!("\"{version}\""))],
        None,
    )
    .await;
    assert_eq!(status, 200, "{disabled}");
    assert_eq!(disabled["enabled"], false);
    let (status, body) = s.json(Method::GET, "/events", &secret, None).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("key_disabled")));

    // A stale If-Match is refused with the current record.
    let (status, _, err) = send(
        &s,
        Method::PUT,
        &format!("/api-keys/{id}/permissions"),
        &manager,
        &[("if-match", version.to_string())],
        Some(edit.clone()),
    )
    .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (412, Some("version_conflict")),
        "{err}"
    );
    assert_eq!(err["details"]["current"]["version"], disabled["version"]);

    let (status, _, edited) = send(
        &s,
        Method::PUT,
        &format!("/api-keys/{id}/permissions"),
        &manager,
        &[("if-match", disabled["version"].to_string())],
        Some(edit),
    )
    .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["permissions"], json!(["tasks.view"]));
    assert_eq!(edited["enabled"], false);

    let (status, enabled) = s
        .json(Method::POST, &format!("/api-keys/{id}/enable"), &manager, None)
        .await;
    assert_eq!(status, 200, "{enabled}");
    assert_eq!(enabled["enabled"], true);
    // The new permissions hold, the old ones are gone: no reconnect, the same secret.
    assert_eq!(s.json(Method::GET, "/tasks", &secret, None).await.0, 200);
    assert_eq!(s.json(Method::GET, "/events", &secret, None).await.0, 403);
}

#[tokio::test]
async fn nobody_grants_a_key_more_than_they_hold() {
    let s = start().await;
    let manager = s.sign_in(MANAGER).await;
    let owner = s.sign_in(OWNER).await;
    let carmen = s.sign_in(CARMEN).await;
    let management = s.sign_in(MANAGEMENT).await;

    // Admins manage keys but do not hold billing.manage, so they cannot give it.
    let (status, err) = s
        .json(
            Method::POST,
            "/api-keys",
            &manager,
            Some(json!({"name": "Billing bot", "permissions": ["billing.manage", "events.view"]})),
        )
        .await;
    assert_eq!((status, err["code"].as_str()), (403, Some("escalation")), "{err}");
    assert_eq!(err["details"]["missing"], json!(["billing.manage"]));
    let (_, denied) = s
        .json(
            Method::GET,
            "/audit?action=api_key.create&outcome=denied",
            &owner,
            None,
        )
        .await;
    assert_eq!(denied.as_array().unwrap().len(), 1, "{denied}");
    assert_eq!(denied[0]["actor"], "user:2");

    // Members and viewers cannot manage keys at all; viewers may list them.
    let body = json!({"name": "x", "permissions": ["events.view"]});
    assert_eq!(
        s.json(Method::POST, "/api-keys", &carmen, Some(body.clone()))
            .await
            .0,
        403
    );
    assert_eq!(
        s.json(Method::POST, "/api-keys", &management, Some(body)).await.0,
        403
    );
    assert_eq!(s.json(Method::GET, "/api-keys", &management, None).await.0, 200);

    // The owner may; an admin may disable that key but not put billing.manage back to work.
    let key = create_key(
        &s,
        &owner,
        json!({"name": "Billing bot", "permissions": ["billing.manage"]}),
    )
    .await;
    let id = key["id"].as_i64().unwrap();
    assert_eq!(
        s.json(Method::POST, &format!("/api-keys/{id}/disable"), &manager, None)
            .await
            .0,
        200
    );
    let (status, err) = s
        .json(Method::POST, &format!("/api-keys/{id}/enable"), &manager, None)
        .await;
    assert_eq!((status, err["code"].as_str()), (403, Some("escalation")), "{err}");
    let (status, err) = s
        .json(
            Method::PUT,
            &format!("/api-keys/{id}/permissions"),
            &manager,
            Some(json!({"permissions": ["billing.manage", "users.manage"]})),
        )
        .await;
    assert_eq!((status, err["code"].as_str()), (403, Some("escalation")), "{err}");
    assert_eq!(
        s.json(Method::POST, &format!("/api-keys/{id}/enable"), &owner, None)
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn iot_permission_json_imports_and_exports_in_the_documents_spelling() {
    let s = start().await;
    let manager = s.sign_in(MANAGER).await;
    let key = create_key(
        &s,
        &manager,
        json!({
            "name": "Line 3 dashboard",
            "permissions_json": {
                "telemetry": {"listen": true},
                "commands": {"rpc": {"listen": true, "call": false}},
                "heirarchy_group": {"list": true, "listen": true},
                "events": {"view": true}
            }
        }),
    )
    .await;
    assert_eq!(
        key["permissions"],
        json!([
            "events.view",
            "telemetry.listen",
            "commands.rpc.listen",
            "hierarchy_group.listen",
            "hierarchy_group.list"
        ])
    );
    let exported = &key["permissions_json"];
    assert_eq!(exported["heirarchy_group"]["list"], true);
    assert!(exported.get("hierarchy_group").is_none(), "{exported}");
    assert_eq!(exported["commands"]["rpc"]["call"], false);
    assert_eq!(exported["devices"]["delete"], false);
    // The export imports back to the same set.
    let again = create_key(
        &s,
        &manager,
        json!({"name": "Copy", "permissions_json": exported}),
    )
    .await;
    assert_eq!(again["permissions"], key["permissions"]);

    for (body, status, code) in [
        (
            json!({"name": "x", "permissions_json": {"teleportation": {"listen": true}}}),
            422,
            "invalid_permission_json",
        ),
        (
            json!({"name": "x", "permissions_json": {"telemetry": {"listen": "yes"}}}),
            422,
            "invalid_permission_json",
        ),
        (
            json!({"name": "x", "permissions": ["events.fly"]}),
            422,
            "unknown_permission",
        ),
        (
            json!({"name": "x", "permissions": ["events.view"], "permissions_json": {}}),
            422,
            "invalid_permissions",
        ),
        (json!({"name": "x"}), 422, "invalid_permissions"),
        (json!({"name": "   ", "permissions": []}), 422, "invalid_name"),
        (
            json!({"name": "n".repeat(101), "permissions": []}),
            422,
            "invalid_name",
        ),
        (
            json!({"name": "x", "permissions": [], "colour": "red"}),
            422,
            "invalid_body",
        ),
    ] {
        let (got, err) = s
            .json(Method::POST, "/api-keys", &manager, Some(body.clone()))
            .await;
        assert_eq!((got, err["code"].as_str()), (status, Some(code)), "{body}: {err}");
    }
    // The maintenance document's spelling is accepted on import.
    let legacy = create_key(
        &s,
        &manager,
        json!({"name": "Legacy", "permissions": ["view_assets"]}),
    )
    .await;
    assert_eq!(legacy["permissions"], json!(["equipment.view"]));
}

#[tokio::test]
async fn scopes_name_hierarchy_nodes_of_the_org_and_survive_a_permission_edit() {
    let s = start().await;
    let manager = s.sign_in(MANAGER).await;
    let key = create_key(
        &s,
        &manager,
        json!({"name": "Line 3 telemetry", "permissions": ["telemetry.listen"], "scopes": [3, 3]}),
    )
    .await;
    assert_eq!(key["scopes"], json!([3]));
    let id = key["id"].as_i64().unwrap();
    let (status, err) = s
        .json(
            Method::POST,
            "/api-keys",
            &manager,
            Some(json!({"name": "x", "permissions": ["telemetry.listen"], "scopes": [999]})),
        )
        .await;
    assert_eq!((status, err["code"].as_str()), (404, Some("not_found")), "{err}");

    assert_eq!(
        s.json(Method::POST, &format!("/api-keys/{id}/disable"), &manager, None)
            .await
            .0,
        200
    );
    let (status, edited) = s
        .json(
            Method::PUT,
            &format!("/api-keys/{id}/permissions"),
            &manager,
            Some(json!({"permissions": ["telemetry.listen", "presence.listen"]})),
        )
        .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["scopes"], json!([3]));
    let (_, widened) = s
        .json(
            Method::PUT,
            &format!("/api-keys/{id}/permissions"),
            &manager,
            Some(json!({"permissions": ["telemetry.listen"], "scopes": []})),
        )
        .await;
    assert_eq!(widened["scopes"], json!([]));
}

#[tokio::test]
async fn keys_of_another_org_do_not_exist_for_its_admins() {
    let s = start().await;
    let ctx = WriteCtx {
        org: 0,
        actor: Actor::System,
        source: "test".into(),
        now: T0,
        idempotency: None,
        status: 201,
    };
    let org = s.state.store.create_org(&ctx, "South Plant").unwrap();
    let password = "south plant admin password";
    let hash = secrets::hash_password(password).unwrap();
    s.state
        .store
        .create_user(
            &WriteCtx { org, ..ctx },
            "admin@south.example",
            "South Admin",
            OrgRole::Admin,
            &hash,
        )
        .unwrap();
    let (status, signed) = s
        .json(
            Method::POST,
            "/session",
            "",
            Some(json!({"email": "admin@south.example", "password": password})),
        )
        .await;
    assert_eq!(status, 201, "{signed}");
    let south = signed["token"].as_str().unwrap().to_owned();

    // Key 1 is the North Plant's SCADA key.
    let (_, list) = s.json(Method::GET, "/api-keys", &south, None).await;
    assert_eq!(list, json!([]));
    for (method, path, body) in [
        (Method::GET, "/api-keys/1", None),
        (Method::POST, "/api-keys/1/disable", None),
        (Method::POST, "/api-keys/1/enable", None),
        (
            Method::PUT,
            "/api-keys/1/permissions",
            Some(json!({"permissions": []})),
        ),
        (Method::DELETE, "/api-keys/1", None),
    ] {
        let (status, err) = s.json(method.clone(), path, &south, body).await;
        assert_eq!(
            (status, err["code"].as_str()),
            (404, Some("not_found")),
            "{method} {path}"
        );
    }
    assert_eq!(
        s.json(Method::GET, "/equipment", &s.scada_key(), None).await.0,
        200
    );
    assert_eq!(s.json(Method::GET, "/api-keys/abc", &south, None).await.0, 400);
}

/// Requests racing a revoke: each one either finished before the revoke was acknowledged or
/// fails; none that starts after the acknowledgement gets through, and none gets a 5xx.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_racing_a_revoke_never_get_through_after_it() {
    use std::sync::Arc;
    use std::time::Instant;
    let s = Arc::new(start().await);
    let manager = s.sign_in(MANAGER).await;
    let key = create_key(
        &s,
        &manager,
        json!({"name": "Racing", "permissions": ["events.view"]}),
    )
    .await;
    let (id, secret) = (
        key["id"].as_i64().unwrap(),
        key["secret"].as_str().unwrap().to_owned(),
    );
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut workers = Vec::new();
    for _ in 0..4 {
        let (s, secret, stop) = (Arc::clone(&s), secret.clone(), Arc::clone(&stop));
        workers.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let started = Instant::now();
                let status = s
                    .call(Method::GET, "/events", &secret, None)
                    .await
                    .status()
                    .as_u16();
                seen.push((started, status));
            }
            seen
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    let (status, _) = s
        .json(Method::DELETE, &format!("/api-keys/{id}"), &manager, None)
        .await;
    assert_eq!(status, 200);
    let acknowledged = Instant::now();
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut before = 0;
    let mut after = 0;
    for w in workers {
        for (started, status) in w.await.unwrap() {
            assert!(status == 200 || status == 401, "unexpected status {status}");
            if started > acknowledged {
                assert_eq!(status, 401, "a request started after the revoke got through");
                after += 1;
            } else if status == 200 {
                before += 1;
            }
        }
    }
    assert!(
        before > 0 && after > 0,
        "the race needs requests on both sides ({before} before, {after} after)"
    );
}
