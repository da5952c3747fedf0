//! Bad input against every write route of `steward_platform::routes::table()`, over real HTTP
//! against a real stewardd on 127.0.0.1:0: malformed JSON, wrong types, unknown fields, bodies
//! that are not JSON, oversized and deeply nested bodies, ids that are not ids or do not exist,
//! missing and garbage credentials. Every answer must be a 4xx with a JSON `{code, message}`,
//! and a refused request must leave no trace (no audit record, no change, no settings change).

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
use steward_platform::routes::{Need, table};
use steward_platform::store::OrgSettings;

const HUGE_ID: &str = "999999";
const NOT_IDS: [&str; 4] = ["abc", "1.5", "-1x", "99999999999999999999999"];

/// What one write route takes: a body that would pass validation (to reach the id lookup), or
/// none for routes without a body; and bodies with wrong types or values for its fields.
struct Spec {
    valid: Option<Value>,
    wrong: Vec<Value>,
}

fn grantee(kind: &str, id: Value) -> Value {
    json!({ "kind": kind, "id": id })
}

fn record_wrong() -> Vec<Value> {
    vec![
        json!({"title": 5}),
        json!({"title": ["a"]}),
        json!({"title": "T", "status": "exploded"}),
        json!({"title": "T", "status": 3}),
        json!({"title": "T", "body": []}),
        json!({"title": "T", "body": "text"}),
        json!({"title": ""}),
        json!({"title": "x".repeat(201)}),
    ]
}

/// Every write route must be listed here; a new one fails the test until it is.
fn spec(method: &Method, path: &str) -> Spec {
    let body = |valid: Value, wrong: Vec<Value>| Spec {
        valid: Some(valid),
        wrong,
    };
    let bodiless = || Spec {
        valid: None,
        wrong: vec![],
    };
    let m = method.as_str();
    match (m, path) {
        ("POST", "/api/v1/session") => body(
            json!({}),
            vec![
                json!({"email": 5, "password": "x"}),
                json!({"email": "a@b.example", "password": ["x"]}),
                json!({"email": "a@b.example", "password": "x", "totp": 123456}),
                json!({"email": "a@b.example"}),
            ],
        ),
        ("DELETE", "/api/v1/session")
        | ("POST", "/api/v1/session/totp")
        | ("POST", "/api/v1/session/broker") => bodiless(),
        ("POST", "/api/v1/session/totp/confirm") => {
            body(json!({}), vec![json!({"code": 123456}), json!({"code": null})])
        }
        ("PATCH", "/api/v1/users/{user}") => body(
            json!({"active": true}),
            vec![
                json!({"role": 5}),
                json!({"role": "emperor"}),
                json!({"active": "yes"}),
                json!({"role": ["admin"]}),
            ],
        ),
        ("POST", "/api/v1/invites") => body(
            json!({}),
            vec![
                json!({"email": 5}),
                json!({"email": ["a@b.example"]}),
                json!({"email": "a@b.example", "role": "emperor"}),
                json!({"email": "not an email"}),
                json!({"email": ""}),
            ],
        ),
        ("POST", "/api/v1/invites/accept") => body(
            json!({}),
            vec![
                json!({"token": 5, "name": "N", "password": "a long enough password"}),
                json!({"token": "sti_x", "name": [], "password": "a long enough password"}),
                json!({"token": "sti_x", "name": "N", "password": 123456789012_i64}),
            ],
        ),
        ("PUT", "/api/v1/settings") => body(
            json!({}),
            vec![
                json!({"idle_timeout_minutes": "ten"}),
                json!({"idle_timeout_minutes": 1.5}),
                json!({"idle_timeout_minutes": 0}),
                json!({"idle_timeout_minutes": 1e30}),
                json!({"require_totp": "yes"}),
                json!({"require_totp": true, "idle_timout_minutes": 5}),
            ],
        ),
        ("POST", "/api/v1/groups") | ("POST", "/api/v1/projects") => body(
            json!({}),
            vec![
                json!({"name": 5}),
                json!({"name": []}),
                json!({"name": ""}),
                json!({"name": "   "}),
                json!({"name": "n".repeat(101)}),
            ],
        ),
        ("PATCH", "/api/v1/groups/{group}") => body(
            json!({"name": "G"}),
            vec![json!({"name": []}), json!({"name": ""}), json!({"name": null})],
        ),
        ("DELETE", "/api/v1/groups/{group}")
        | ("PUT", "/api/v1/groups/{group}/members/{user}")
        | ("DELETE", "/api/v1/groups/{group}/members/{user}")
        | ("DELETE", "/api/v1/projects/{project}")
        | ("DELETE", "/api/v1/assets/{asset}")
        | ("DELETE", "/api/v1/tasks/{id}")
        | ("DELETE", "/api/v1/events/{id}")
        | ("DELETE", "/api/v1/equipment/{id}")
        | ("POST", "/api/v1/api-keys/{key}/enable")
        | ("POST", "/api/v1/api-keys/{key}/disable")
        | ("DELETE", "/api/v1/api-keys/{key}") => bodiless(),
        ("PUT", "/api/v1/projects/{project}/roles") => body(
            json!({"grantee": grantee("user", json!(6)), "role": "viewer"}),
            vec![
                json!({"grantee": 6, "role": "viewer"}),
                json!({"grantee": grantee("user", json!(6)), "role": "emperor"}),
                json!({"grantee": grantee("robot", json!(6)), "role": "viewer"}),
                json!({"grantee": grantee("user", json!(-1)), "role": "viewer"}),
                json!({"grantee": grantee("user", json!(99_999_999_999_i64)), "role": "viewer"}),
                json!({"grantee": grantee("user", json!(999_999)), "role": "viewer"}),
                json!({"role": "viewer"}),
            ],
        ),
        ("POST", "/api/v1/projects/{project}/assets") => body(
            json!({"kind": "agent", "name": "A"}),
            vec![
                json!({"kind": "spaceship", "name": "A"}),
                json!({"kind": "agent", "name": 5}),
                json!({"kind": "agent", "name": "A", "agents": "all"}),
                json!({"kind": "agent", "name": "A", "agents": [1]}),
                json!({"kind": "agent", "name": "A", "config": []}),
                json!({"kind": "agent", "name": ""}),
                json!({"kind": "workforce", "name": "W", "agents": [999_999]}),
                json!({"kind": "workforce", "name": "W", "agents": [3]}),
                // The same agent twice.
                json!({"kind": "workforce", "name": "W", "agents": [1, 1]}),
            ],
        ),
        ("PATCH", "/api/v1/assets/{asset}") => body(
            json!({"name": "x"}),
            vec![
                json!({"name": 5}),
                json!({"name": ""}),
                json!({"agents": [2]}),
                json!({"agents": "x"}),
                json!({"config": "x"}),
            ],
        ),
        ("PUT", "/api/v1/assets/{asset}/roles") => body(
            json!({"grantee": grantee("user", json!(6)), "role": "viewer"}),
            vec![
                json!({"grantee": grantee("user", json!(6)), "role": "owner"}),
                json!({"grantee": grantee("group", json!("one")), "role": "viewer"}),
                json!({"grantee": grantee("group", json!(999_999)), "role": "viewer"}),
                json!({"role": "viewer"}),
            ],
        ),
        ("POST", "/api/v1/assets/{asset}/run") => body(
            json!({}),
            vec![
                json!({"title": 5}),
                json!({"title": ""}),
                json!({"input": 1, "extra": 2}),
            ],
        ),
        ("POST", "/api/v1/legacy-import") => body(
            json!({}),
            vec![
                json!({"assignments": {}}),
                json!({"assignments": [{"user": "x", "project": 1, "role": "viewer"}]}),
                json!({"assignments": [{"user": 6, "project": 1, "role": "superuser"}]}),
                json!({"assignments": [{"user": 999_999, "project": 1, "role": "viewer"}]}),
                json!({"assignments": [{"user": 6, "project": 999_999, "role": "viewer"}]}),
                json!({"assignments": [{"user": 6, "project": 1, "role": "viewer"}, {"user": 6}]}),
            ],
        ),
        ("POST", "/api/v1/hierarchy") => body(
            json!({}),
            vec![
                json!({"name": 5}),
                json!({"name": "N", "parent": "root"}),
                json!({"name": "N", "parent": 999_999}),
                json!({"name": "N", "parent": -1}),
                json!({"name": ""}),
            ],
        ),
        ("POST", "/api/v1/tasks") | ("POST", "/api/v1/events") | ("POST", "/api/v1/equipment") => {
            body(json!({}), record_wrong())
        }
        ("PATCH", "/api/v1/tasks/{id}")
        | ("PATCH", "/api/v1/events/{id}")
        | ("PATCH", "/api/v1/equipment/{id}") => body(json!({"title": "x"}), record_wrong()),
        ("POST", "/api/v1/preview") => body(
            json!({}),
            vec![
                json!({"change": "set_org_role", "user": "x", "role": "admin"}),
                json!({"change": "explode"}),
            ],
        ),
        ("POST", "/api/v1/api-keys") => body(
            json!({}),
            vec![
                json!({"name": 5, "permissions": ["events.view"]}),
                json!({"name": "K", "permissions": "all"}),
                json!({"name": "K", "permissions": ["nope.nope"]}),
                json!({"name": "K", "permissions": ["events.view"], "permissions_json": {}}),
                json!({"name": "K", "permissions": ["events.view"], "scopes": "x"}),
                json!({"name": "", "permissions": ["events.view"]}),
            ],
        ),
        ("PUT", "/api/v1/api-keys/{key}/permissions") => body(
            json!({"permissions": ["events.view"]}),
            vec![
                json!({"permissions": 5}),
                json!({"permissions": ["nope"]}),
                json!({"permissions_json": []}),
            ],
        ),
        ("POST", "/api/v1/batch") => body(
            json!({"items": []}),
            vec![
                json!({"items": 5}),
                json!({"items": [{"method": "PATCH"}]}),
                json!({"items": [{"method": "GET", "path": "/api/v1/users"}]}),
                json!({"items": [{"method": "PATCH", "path": "/api/v1/users/6", "x": 1}]}),
            ],
        ),
        ("POST", "/api/v1/devices") => body(
            json!({"name": "Pump"}),
            vec![
                json!({"name": 5}),
                json!({"name": " "}),
                json!({"name": "P", "kind": 5}),
                json!({"name": "P", "node": "one"}),
                json!({"name": "P", "node": 999_999}),
                json!({"name": "P", "groups": [999_999]}),
                json!({"name": "P", "metadata": [1]}),
            ],
        ),
        ("POST", "/api/v1/devices/bulk") => body(
            json!({"devices": [{"name": "Pump"}]}),
            vec![
                json!({"devices": 5}),
                json!({"devices": []}),
                json!({"devices": [{"name": ""}]}),
                json!({"devices": [{"name": "P"}, {"name": "Q", "x": 1}]}),
            ],
        ),
        ("PATCH", "/api/v1/devices/{id}") => body(
            json!({"name": "Pump"}),
            vec![
                json!({"name": 5}),
                json!({"name": ""}),
                json!({"node": "one"}),
                json!({"node": 999_999}),
                json!({"groups": [999_999]}),
                json!({"metadata": "text"}),
            ],
        ),
        ("POST", "/api/v1/logical-groups") | ("PATCH", "/api/v1/logical-groups/{id}") => body(
            json!({"name": "Pumps"}),
            vec![json!({"name": 5}), json!({"name": ""}), json!({"name": null})],
        ),
        ("PATCH", "/api/v1/hierarchy/{id}") => body(
            json!({"name": "Area"}),
            vec![
                json!({"name": 5}),
                json!({"name": ""}),
                json!({"parent": "one"}),
                json!({"parent": 999_999}),
            ],
        ),
        ("POST", "/api/v1/devices/{id}/rpc") => body(
            json!({"method": "ping"}),
            vec![
                json!({"method": 5}),
                json!({"method": " "}),
                json!({"method": "ping", "timeout_ms": 0}),
                json!({"method": "ping", "timeout_ms": 600_000}),
                json!({"method": "ping", "timeout_ms": "soon"}),
                json!({"method": "ping", "colour": "red"}),
            ],
        ),
        ("POST", "/api/v1/devices/{id}/queue") => body(
            json!({"command": "calibrate"}),
            vec![
                json!({"command": 5}),
                json!({"command": ""}),
                json!({"command": "x", "when": "later"}),
            ],
        ),
        ("POST", "/api/v1/alert-rules") | ("PATCH", "/api/v1/alert-rules/{id}") => body(
            json!({"name": "Hot", "condition": {"kind": "threshold", "field": "temp", "op": "above", "value": 80}}),
            vec![
                json!({"name": 5, "condition": {"kind": "offline", "seconds": 60}}),
                json!({"name": "", "condition": {"kind": "offline", "seconds": 60}}),
                json!({"name": "Hot", "condition": {"kind": "offline", "seconds": 0}}),
                json!({"name": "Hot", "condition": {"kind": "offline", "seconds": -5}}),
                json!({"name": "Hot", "condition": {"kind": "offline"}}),
                json!({"name": "Hot", "condition": {"kind": "smoke"}}),
                json!({"name": "Hot", "condition": {"kind": "threshold", "field": "", "op": "above", "value": 1}}),
                json!({"name": "Hot", "condition": {"kind": "threshold", "field": "a b", "op": "above", "value": 1}}),
                json!({"name": "Hot", "condition": {"kind": "threshold", "field": "temp", "op": "sideways", "value": 1}}),
                json!({"name": "Hot", "condition": {"kind": "threshold", "field": "temp", "op": "above", "value": "hot"}}),
                json!({"name": "Hot", "condition": {"kind": "offline", "seconds": 60}, "target": {"logical_group": 999_999}}),
                json!({"name": "Hot", "condition": {"kind": "offline", "seconds": 60}, "target": {"node": 999_999}}),
                json!({"name": "Hot", "condition": {"kind": "offline", "seconds": 60}, "target": {"logical_group": 1, "node": 1}}),
                json!({"name": "Hot", "condition": {"kind": "offline", "seconds": 60}, "target": {"site": 1}}),
                json!({"name": "Hot", "condition": {"kind": "offline", "seconds": 60}, "enabled": "yes"}),
            ],
        ),
        ("DELETE", "/api/v1/alert-rules/{id}")
        | ("DELETE", "/api/v1/devices/{id}")
        | ("POST", "/api/v1/devices/{id}/credentials")
        | ("DELETE", "/api/v1/logical-groups/{id}")
        | ("PUT", "/api/v1/logical-groups/{id}/devices/{device}")
        | ("DELETE", "/api/v1/logical-groups/{id}/devices/{device}")
        | ("DELETE", "/api/v1/hierarchy/{id}") => bodiless(),
        _ => panic!("bad_input.rs has no spec for {m} {path}: add one"),
    }
}

fn is_write(method: &Method) -> bool {
    [Method::POST, Method::PUT, Method::PATCH, Method::DELETE].contains(method)
}

/// The path parameters of a route template.
fn params(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .collect()
}

/// Real demo ids for each path parameter (records by module).
struct Ids {
    task: i64,
    event: i64,
    equipment: i64,
}

impl Ids {
    async fn load(s: &Server, token: &str) -> Ids {
        let first = |v: Value| v.as_array().unwrap()[0]["id"].as_i64().unwrap();
        Ids {
            task: first(s.json(Method::GET, "/tasks", token, None).await.1),
            event: first(s.json(Method::GET, "/events", token, None).await.1),
            equipment: first(s.json(Method::GET, "/equipment", token, None).await.1),
        }
    }

    fn real(&self, template: &str, param: &str) -> String {
        match param {
            // Tomás Ortega, an operator (not the owner, whose changes are refused differently).
            "user" => "6".to_owned(),
            // Shift A, project Line 3 Reliability, the vibration agent, the SCADA key.
            "group" | "project" | "asset" | "key" => "1".to_owned(),
            "id" if template.starts_with("/api/v1/tasks") => self.task.to_string(),
            "id" if template.starts_with("/api/v1/events") => self.event.to_string(),
            "id" if template.starts_with("/api/v1/equipment") => self.equipment.to_string(),
            // The demo's first node (a site with children: not deletable). The demo has no
            // devices or logical groups; their bodies are refused before any lookup.
            "id" if template.starts_with("/api/v1/hierarchy") => "1".to_owned(),
            // The demo's "Overheating" rule.
            "id" if template.starts_with("/api/v1/alert-rules") => "1".to_owned(),
            "id" | "device"
                if template.starts_with("/api/v1/devices")
                    || template.starts_with("/api/v1/logical-groups") =>
            {
                "1".to_owned()
            }
            other => panic!("no demo id for {{{other}}} in {template}"),
        }
    }
}

/// The route's path (without the `/api/v1` the harness adds) with each parameter filled in by
/// `fill`.
fn fill(template: &str, value: impl Fn(&str) -> String) -> String {
    let mut out = template.to_owned();
    for p in params(template) {
        out = out.replace(&format!("{{{p}}}"), &value(p));
    }
    out.strip_prefix("/api/v1").unwrap().to_owned()
}

/// What a refused request must not change.
#[derive(Debug, PartialEq)]
struct Trace {
    audit_records: u64,
    changes: usize,
    settings: OrgSettings,
    users: usize,
}

fn trace(s: &Server) -> Trace {
    let store = &s.state.store;
    Trace {
        audit_records: store.audit_verify().unwrap().records,
        changes: store.changes_since(1, 0, 5000).unwrap().len(),
        settings: store.org_settings(1).unwrap(),
        users: store.users(1).unwrap().len(),
    }
}

/// One raw request: (status, content type, body text).
async fn raw(
    s: &Server,
    method: &Method,
    path: &str,
    token: &str,
    content_type: Option<&str>,
    body: Option<Vec<u8>>,
) -> (u16, String, String) {
    let mut req = s.http.request(method.clone(), s.url(path)).bearer_auth(token);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    if let Some(body) = body {
        req = req.body(body);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, ct, r.text().await.unwrap())
}

/// Asserts a refusal: 4xx, a JSON body with a non-empty `code` and `message`. Returns the body.
fn assert_refused(what: &str, status: u16, content_type: &str, text: &str) -> Value {
    assert!(
        (400..500).contains(&status),
        "{what}: expected a 4xx, got {status}: {text}"
    );
    assert!(
        content_type.starts_with("application/json"),
        "{what}: {status} with content type `{content_type}`: {text}"
    );
    let body: Value = serde_json::from_str(text)
        .unwrap_or_else(|e| panic!("{what}: {status} body is not JSON ({e}): {text}"));
    for field in ["code", "message"] {
        assert!(
            body[field].as_str().is_some_and(|v| !v.trim().is_empty()),
            "{what}: `{field}` missing or empty in {body}"
        );
    }
    body
}

/// Sends one bad request and checks it was refused without a trace.
#[allow(clippy::too_many_arguments)] // one request's parts; a struct would only rename them
async fn refused_without_trace(
    s: &Server,
    what: &str,
    method: &Method,
    path: &str,
    token: &str,
    content_type: Option<&str>,
    body: Option<Vec<u8>>,
) -> Value {
    let before = trace(s);
    let (status, ct, text) = raw(s, method, path, token, content_type, body).await;
    let err = assert_refused(what, status, &ct, &text);
    assert_eq!(trace(s), before, "{what}: a refused request left a trace");
    err
}

/// Bodies that are wrong whatever the route: not JSON, not an object, unknown fields.
fn generic_bad_bodies() -> Vec<(&'static str, Option<&'static str>, Vec<u8>)> {
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    vec![
        ("malformed JSON", Some("application/json"), b"{".to_vec()),
        (
            "truncated JSON",
            Some("application/json"),
            br#"{"title": "#.to_vec(),
        ),
        ("trailing garbage", Some("application/json"), br#"{} {}"#.to_vec()),
        (
            "invalid UTF-8",
            Some("application/json"),
            b"{\"title\": \"\xff\xfe\"}".to_vec(),
        ),
        (
            "an unknown field",
            Some("application/json"),
            br#"{"x": 1}"#.to_vec(),
        ),
        ("an array", Some("application/json"), b"[]".to_vec()),
        ("a string", Some("application/json"), br#""text""#.to_vec()),
        ("a number", Some("application/json"), b"42".to_vec()),
        ("null", Some("application/json"), b"null".to_vec()),
        ("deep nesting", Some("application/json"), deep.into_bytes()),
        ("plain text", Some("text/plain"), b"hello".to_vec()),
        ("no content type", None, br#"{"x": 1}"#.to_vec()),
    ]
}

/// A body over the 1 MiB limit: 2 MiB of valid JSON.
fn oversized() -> Vec<u8> {
    format!("{{\"title\": \"{}\"}}", "a".repeat(2 * 1024 * 1024)).into_bytes()
}

#[tokio::test]
async fn every_write_route_refuses_bad_bodies_and_ids_without_a_trace() {
    let s = start().await;
    let owner = s.sign_in(OWNER).await;
    let ids = Ids::load(&s, &owner).await;
    let mut checked = 0;
    let mut routes_with_ids = 0;
    for route in table().into_iter().filter(|r| is_write(&r.method)) {
        let method = route.method.clone();
        let template = route.path;
        let spec = spec(&method, template);
        let real_path = fill(template, |p| ids.real(template, p));
        let label = format!("{method} {template}");

        if spec.valid.is_some() {
            for (kind, content_type, bytes) in generic_bad_bodies() {
                refused_without_trace(
                    &s,
                    &format!("{label} with {kind}"),
                    &method,
                    &real_path,
                    &owner,
                    content_type,
                    Some(bytes),
                )
                .await;
                checked += 1;
            }
            for wrong in &spec.wrong {
                refused_without_trace(
                    &s,
                    &format!("{label} with {wrong}"),
                    &method,
                    &real_path,
                    &owner,
                    Some("application/json"),
                    Some(serde_json::to_vec(wrong).unwrap()),
                )
                .await;
                checked += 1;
            }
            let err = refused_without_trace(
                &s,
                &format!("{label} with 2 MiB"),
                &method,
                &real_path,
                &owner,
                Some("application/json"),
                Some(oversized()),
            )
            .await;
            assert_eq!(err["code"], "body_too_large", "{label}");
            checked += 1;
        }

        let names = params(template);
        if names.is_empty() {
            continue;
        }
        routes_with_ids += 1;
        let valid = spec.valid.as_ref().map(|v| serde_json::to_vec(v).unwrap());
        let content_type = valid.as_ref().map(|_| "application/json");
        // Each parameter in turn: not an id (400), or an id that does not exist (404).
        for name in &names {
            for not_id in NOT_IDS {
                let path = fill(template, |p| {
                    if p == *name {
                        not_id.to_owned()
                    } else {
                        ids.real(template, p)
                    }
                });
                let err = refused_without_trace(
                    &s,
                    &format!("{label} with {{{name}}} = {not_id}"),
                    &method,
                    &path,
                    &owner,
                    content_type,
                    valid.clone(),
                )
                .await;
                assert_eq!(err["code"], "invalid_id", "{label} {not_id}: {err}");
                checked += 1;
            }
            let path = fill(template, |p| {
                if p == *name {
                    HUGE_ID.to_owned()
                } else {
                    ids.real(template, p)
                }
            });
            let before = trace(&s);
            let (status, ct, text) = raw(&s, &method, &path, &owner, content_type, valid.clone()).await;
            let err = assert_refused(&format!("{label} {path}"), status, &ct, &text);
            assert_eq!(status, 404, "{label} {path}: {err}");
            assert_eq!(err["code"], "not_found");
            assert_eq!(trace(&s), before, "{label} {path}");
            checked += 1;
        }
    }
    assert!(routes_with_ids >= 20, "{routes_with_ids}");
    assert!(checked > 500, "{checked}");
    // The owner's session survived all of it.
    assert_eq!(s.json(Method::GET, "/session", &owner, None).await.0, 200);
    assert!(s.state.store.audit_verify().unwrap().ok);
}

#[tokio::test]
async fn bad_bodies_on_public_routes_are_refused_too() {
    let s = start().await;
    for path in ["/session", "/invites/accept"] {
        for (kind, content_type, bytes) in generic_bad_bodies() {
            let before = trace(&s);
            let mut req = s.http.post(s.url(path));
            if let Some(ct) = content_type {
                req = req.header("content-type", ct);
            }
            let r = req.body(bytes).send().await.unwrap();
            let status = r.status().as_u16();
            let ct = r
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default();
            assert_refused(&format!("{path} {kind}"), status, &ct, &r.text().await.unwrap());
            assert_eq!(trace(&s), before);
        }
        let r = s
            .http
            .post(s.url(path))
            .header("content-type", "application/json")
            .body(oversized())
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let ct = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let err = assert_refused(&format!("{path} 2 MiB"), status, &ct, &r.text().await.unwrap());
        assert_eq!(status, 413);
        assert_eq!(err["code"], "body_too_large");
    }
}

#[tokio::test]
async fn bodiless_routes_ignore_a_body_but_never_fail_on_it() {
    let s = start().await;
    let owner = s.sign_in(OWNER).await;
    let ids = Ids::load(&s, &owner).await;
    // Deletes last, so the other routes still find what they act on.
    let mut routes: Vec<_> = table()
        .into_iter()
        .filter(|r| is_write(&r.method) && spec(&r.method, r.path).valid.is_none())
        .collect();
    routes.sort_by_key(|r| r.method == Method::DELETE);
    for route in routes {
        let path = fill(route.path, |p| ids.real(route.path, p));
        // Signing out would end the session the other calls use.
        let token = if route.path == "/api/v1/session" {
            s.sign_in(OWNER).await
        } else {
            owner.clone()
        };
        let (status, ct, text) = raw(
            &s,
            &route.method,
            &path,
            &token,
            Some("application/json"),
            Some(b"{".to_vec()),
        )
        .await;
        let label = format!("{} {path}", route.method);
        assert!(status < 500, "{label}: {status} {text}");
        if status >= 400 {
            assert_refused(&label, status, &ct, &text);
        }
    }
}

#[tokio::test]
async fn a_workforce_cannot_list_an_agent_twice() {
    let s = start().await;
    let carmen = s.sign_in(CARMEN).await;
    let before = trace(&s);
    let (status, err) = s
        .json(
            Method::PATCH,
            "/assets/5",
            &carmen,
            Some(json!({"agents": [1, 2, 1]})),
        )
        .await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(err["code"], "invalid_workforce_agent");
    assert_eq!(trace(&s), before);
    let (_, workforce) = s.json(Method::GET, "/assets/5", &carmen, None).await;
    assert_eq!(workforce["agents"], json!([1, 2]));
}

#[tokio::test]
async fn unknown_routes_and_methods_are_json_errors() {
    let s = start().await;
    let owner = s.sign_in(OWNER).await;
    for (method, url) in [
        (Method::GET, format!("{}/api/v1/nope", s.base)),
        (Method::GET, format!("{}/api/v2/tasks", s.base)),
        (Method::GET, format!("{}/", s.base)),
        (Method::POST, format!("{}/api/v1/tasks/1/frobnicate", s.base)),
        (Method::DELETE, format!("{}/api/v1/", s.base)),
    ] {
        let r = s
            .http
            .request(method.clone(), &url)
            .bearer_auth(&owner)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let ct = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let err = assert_refused(&format!("{method} {url}"), status, &ct, &r.text().await.unwrap());
        assert_eq!(status, 404, "{method} {url}");
        assert_eq!(err["code"], "not_found");
    }
    // A known path with a method it does not have.
    for (method, path) in [
        (Method::PATCH, "/settings"),
        (Method::DELETE, "/tasks"),
        (Method::PUT, "/session"),
        (Method::POST, "/health"),
    ] {
        for token in [Some(owner.as_str()), None] {
            let mut req = s.http.request(method.clone(), s.url(path));
            if let Some(token) = token {
                req = req.bearer_auth(token);
            }
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            let ct = r
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default();
            let label = format!("{method} {path} (token: {})", token.is_some());
            let err = assert_refused(&label, status, &ct, &r.text().await.unwrap());
            assert_eq!(status, 405, "{label}: {err}");
            assert_eq!(err["code"], "method_not_allowed");
        }
    }
}

#[tokio::test]
async fn every_guarded_route_needs_credentials() {
    let s = start().await;
    let owner = s.sign_in(OWNER).await;
    let ids = Ids::load(&s, &owner).await;
    // The SCADA key's real prefix with a wrong secret.
    let scada = s.scada_key();
    let unknown_key = format!("stw_{}_{}", &scada[4..12], "A".repeat(40));
    let garbage = [
        ("garbage", "Bearer garbage".to_owned()),
        (
            "unknown session",
            "Bearer sts_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_owned(),
        ),
        ("malformed key", "Bearer stw_garbage".to_owned()),
        ("unknown key secret", format!("Bearer {unknown_key}")),
        ("empty bearer", "Bearer ".to_owned()),
        ("basic auth", "Basic b3duZXI6cGFzc3dvcmQ=".to_owned()),
        ("no scheme", owner.clone()),
        ("scheme twice", format!("Bearer Bearer {owner}")),
    ];
    let mut guarded = 0;
    for route in table() {
        if route.need == Need::Public {
            continue;
        }
        guarded += 1;
        let path = fill(route.path, |p| ids.real(route.path, p));
        let label = format!("{} {}", route.method, route.path);
        let before = trace(&s);
        let body = is_write(&route.method).then(|| b"{}".to_vec());
        let mut req = s.http.request(route.method.clone(), s.url(&path));
        if let Some(body) = &body {
            req = req.header("content-type", "application/json").body(body.clone());
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let ct = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let err = assert_refused(&label, status, &ct, &r.text().await.unwrap());
        assert_eq!(status, 401, "{label}: {err}");
        assert_eq!(err["code"], "unauthenticated", "{label}");
        for (kind, header) in &garbage {
            let mut req = s
                .http
                .request(route.method.clone(), s.url(&path))
                .header("authorization", header);
            if let Some(body) = &body {
                req = req.header("content-type", "application/json").body(body.clone());
            }
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            let ct = r
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default();
            let err = assert_refused(&format!("{label} {kind}"), status, &ct, &r.text().await.unwrap());
            assert_eq!(status, 401, "{label} {kind}: {err}");
        }
        assert_eq!(trace(&s), before, "{label}");
    }
    assert!(guarded > 40, "{guarded}");
    // A header that is not text.
    let r = s
        .http
        .get(s.url("/session"))
        .header(
            "authorization",
            reqwest::header::HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "bad_credentials");
    // The real session still works.
    assert_eq!(s.json(Method::GET, "/session", &owner, None).await.0, 200);
}

/// Sends a chunked (length-less) request over a plain socket; returns (status, body text).
fn chunked_request(base: &str, path: &str, token: Option<&str>, total: usize) -> (u16, String) {
    use std::io::{Read, Write};
    let addr = base.strip_prefix("http://").unwrap();
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let auth = token.map_or_else(String::new, |t| format!("Authorization: Bearer {t}\r\n"));
    let head = format!(
        "POST /api/v1{path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    let chunk = vec![b' '; 64 * 1024];
    let mut sent = 0;
    while sent < total {
        // The server may answer and close before everything is sent; that is its right.
        let wrote = stream
            .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .and_then(|()| stream.write_all(&chunk))
            .and_then(|()| stream.write_all(b"\r\n"));
        if wrote.is_err() {
            break;
        }
        sent += chunk.len();
    }
    let _ = stream.write_all(b"0\r\n\r\n");
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn an_oversized_body_without_a_length_is_413_json_too() {
    let s = start().await;
    let owner = s.sign_in(OWNER).await;
    for (path, token) in [("/session", None), ("/tasks", Some(owner.clone()))] {
        let before = trace(&s);
        let base = s.base.clone();
        let (status, body) = tokio::task::spawn_blocking(move || {
            chunked_request(&base, path, token.as_deref(), 2 * 1024 * 1024)
        })
        .await
        .unwrap();
        assert_eq!(status, 413, "{path}: {body}");
        // The body may be chunk-encoded on the wire: find the JSON object in it.
        let json = body
            .find('{')
            .and_then(|start| body.rfind('}').map(|end| &body[start..=end]))
            .unwrap_or_else(|| panic!("{path}: no JSON in {body:?}"));
        let err: Value = serde_json::from_str(json).unwrap();
        assert_eq!(err["code"], "body_too_large", "{path}");
        assert_eq!(trace(&s), before);
    }
}
