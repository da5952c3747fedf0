//! The route table against the running server, over real HTTP against a real stewardd on
//! 127.0.0.1:0: every route is documented in the OpenAPI document with the permission it needs;
//! every guarded route answers every org role (and the SCADA key) exactly as the resolver
//! decides; and one org can never reach another org's data by id.

// Tests: unwrapping, indexing JSON and panicking are the assertions themselves.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::collections::BTreeSet;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};
use steward_model::{
    Action, AssetId, KeyId, OrgRole, PermSet, Principal, ProjectId, Reason, Resource, UserId,
};
use steward_platform::auth::secrets::hash_password;
use steward_platform::clock::Clock;
use steward_platform::routes::{Need, table};
use steward_platform::store::{Actor, WriteCtx};

/// The only routes that answer without credentials.
const PUBLIC: [(&str, &str); 4] = [
    ("GET", "/api/v1/health"),
    ("GET", "/api/v1/openapi.json"),
    ("POST", "/api/v1/session"),
    ("POST", "/api/v1/invites/accept"),
];

const NO_SUCH_ID: &str = "999999";

fn is_write(method: &Method) -> bool {
    [Method::POST, Method::PUT, Method::PATCH, Method::DELETE].contains(method)
}

/// The route's path under `/api/v1` with every parameter set to `id`.
fn with_ids(template: &str, id: &str) -> String {
    let mut out = template.strip_prefix("/api/v1").unwrap().to_owned();
    for p in ["user", "group", "project", "asset", "id", "key", "device"] {
        out = out.replace(&format!("{{{p}}}"), id);
    }
    assert!(!out.contains('{'), "unknown parameter in {template}");
    out
}

/// A body that no write route accepts (bodies deny unknown fields), so an allowed call is
/// refused after the guard and writes nothing.
fn inert_body(method: &Method) -> Option<Value> {
    is_write(method).then(|| json!({"x": 1}))
}

// ----- (a) the table and the OpenAPI document -----------------------------------------------

#[tokio::test]
async fn every_route_is_in_the_openapi_document_with_its_permission() {
    let s = start().await;
    let r = s.http.get(s.url("/openapi.json")).send().await.unwrap();
    assert_eq!(r.status(), 200, "the document is public");
    let doc: Value = r.json().await.unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().unwrap();

    let mut seen = BTreeSet::new();
    for route in table() {
        let method = route.method.as_str().to_lowercase();
        let label = format!("{} {}", route.method, route.path);
        assert!(
            seen.insert((method.clone(), route.path)),
            "{label} is in the table twice"
        );
        let op = paths
            .get(route.path)
            .and_then(|item| item.get(&method))
            .unwrap_or_else(|| panic!("{label} is missing from openapi.json"));
        let description = op["description"].as_str().unwrap_or_default();
        let expected = match route.need {
            Need::Public => "No authentication.".to_owned(),
            Need::Caller => "Any signed-in user or API key".to_owned(),
            Need::User => "Signed-in users only".to_owned(),
            Need::Org(p) => format!("Needs `{}`.", p.name()),
            Need::Project(a) => format!("Needs `{}` on the project.", a.name()),
            Need::Asset(a) => format!("Needs `{}` on the asset.", a.name()),
        };
        assert!(
            description.starts_with(&expected),
            "{label}: `{description}` should say `{expected}`"
        );
        // Guarded routes declare the bearer scheme; public ones do not.
        let secured = op
            .get("security")
            .and_then(Value::as_array)
            .is_some_and(|s| !s.is_empty());
        assert_eq!(secured, route.need != Need::Public, "{label}");
        // Every path parameter is declared.
        for segment in route.path.split('/').filter(|s| s.starts_with('{')) {
            let name = segment.trim_matches(['{', '}']);
            let declared = op["parameters"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["name"] == name && p["in"] == "path"));
            assert!(declared, "{label}: parameter {name} is not declared");
        }
        // Public exactly when listed.
        let public = PUBLIC.contains(&(route.method.as_str(), route.path));
        assert_eq!(
            route.need == Need::Public,
            public,
            "{label}: unexpected Need::Public"
        );
    }
    // And the document has nothing the table does not.
    let documented: usize = paths
        .values()
        .map(|item| {
            ["get", "post", "put", "patch", "delete"]
                .iter()
                .filter(|m| item.get(**m).is_some())
                .count()
        })
        .sum();
    assert_eq!(documented, seen.len());
    assert!(seen.len() > 50, "{}", seen.len());
}

#[tokio::test]
async fn the_router_serves_exactly_the_table() {
    let s = start().await;
    for route in table() {
        let label = format!("{} {}", route.method, route.path);
        let r = s
            .http
            .request(route.method.clone(), s.url(&with_ids(route.path, "1")))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        assert_ne!(status, 404, "{label} is not routed");
        assert_ne!(status, 405, "{label} is not routed for its method");
        if route.need != Need::Public {
            assert_eq!(status, 401, "{label} answered without credentials");
        }
    }
}

// ----- (b) every route as every role --------------------------------------------------------

struct Caller {
    label: &'static str,
    token: String,
    principal: Principal,
    /// The org-level permissions the resolver gives it.
    permissions: PermSet,
}

async fn callers(s: &Server) -> Vec<Caller> {
    let plant = s.state.plant(1).unwrap();
    let mut out = Vec::new();
    for (label, name, id, role) in [
        ("owner", OWNER, 1, OrgRole::Owner),
        ("admin", MANAGER, 2, OrgRole::Admin),
        ("member", CARMEN, 3, OrgRole::Member),
        ("operator", TECH, 6, OrgRole::Operator),
        ("viewer", MANAGEMENT, 14, OrgRole::Viewer),
    ] {
        let principal = Principal::User(UserId(id));
        assert_eq!(plant.user(UserId(id)).unwrap().org_role, role, "{name}");
        assert_eq!(plant.org_permissions(principal), role.permissions(), "{name}");
        out.push(Caller {
            label,
            token: s.sign_in(name).await,
            principal,
            permissions: role.permissions(),
        });
    }
    let key = plant.key(KeyId(1)).unwrap();
    out.push(Caller {
        label: "SCADA key",
        token: s.scada_key(),
        principal: Principal::Key(KeyId(1)),
        permissions: key.permissions,
    });
    out
}

fn changes_count(s: &Server) -> usize {
    s.state.store.changes_since(1, 0, 5000).unwrap().len()
}

#[tokio::test]
async fn every_org_route_as_every_role_matches_the_resolver() {
    let s = start().await;
    let callers = callers(&s).await;
    let plant = s.state.plant(1).unwrap();
    let changes_before = changes_count(&s);
    let mut calls = 0;
    let mut denials = 0;
    for route in table() {
        let Need::Org(permission) = route.need else {
            continue;
        };
        let path = with_ids(route.path, NO_SUCH_ID);
        for caller in &callers {
            let label = format!("{} {} as {}", route.method, route.path, caller.label);
            let allowed = caller.permissions.contains(permission);
            // The role table and the resolver agree.
            assert_eq!(
                plant
                    .decide(caller.principal, Action::Org(permission), Resource::Org)
                    .allowed,
                allowed,
                "{label}"
            );
            let (status, body) = s
                .json(
                    route.method.clone(),
                    &path,
                    &caller.token,
                    inert_body(&route.method),
                )
                .await;
            calls += 1;
            if allowed {
                assert_ne!(
                    status,
                    403,
                    "{label} needs {} and holds it: {body}",
                    permission.name()
                );
                assert!(status < 500 && status != 401, "{label}: {status} {body}");
            } else {
                denials += 1;
                assert_eq!(status, 403, "{label} lacks {}: {body}", permission.name());
                assert_eq!(body["code"], "forbidden", "{label}");
                assert_eq!(body["details"]["decision"]["allowed"], false, "{label}: {body}");
            }
        }
    }
    assert!(calls > 200, "{calls}");
    assert!(denials > 50, "{denials}");
    // Every allowed call was refused after the guard: nothing was written.
    assert_eq!(changes_count(&s), changes_before);
    // Every denied write left an audit record.
    let denied_writes = s
        .state
        .store
        .audit_page(
            1,
            &steward_platform::store::AuditQuery {
                outcome: Some("denied".to_owned()),
                limit: 500,
                ..Default::default()
            },
        )
        .unwrap()
        .len();
    let expected: usize = table()
        .iter()
        .filter(|r| is_write(&r.method))
        .filter_map(|r| match r.need {
            Need::Org(p) => Some(callers.iter().filter(|c| !c.permissions.contains(p)).count()),
            _ => None,
        })
        .sum();
    assert_eq!(denied_writes, expected);
}

#[tokio::test]
async fn caller_and_user_routes_as_every_role() {
    let s = start().await;
    let callers = callers(&s).await;
    for route in table() {
        let path = with_ids(route.path, NO_SUCH_ID);
        for caller in &callers {
            let label = format!("{} {} as {}", route.method, route.path, caller.label);
            let is_key = matches!(caller.principal, Principal::Key(_));
            match route.need {
                Need::Caller => {
                    let (status, body) = s
                        .json(
                            route.method.clone(),
                            &path,
                            &caller.token,
                            inert_body(&route.method),
                        )
                        .await;
                    assert!(status == 200 || status == 400, "{label}: {status} {body}");
                }
                Need::User if is_key => {
                    let (status, body) = s
                        .json(
                            route.method.clone(),
                            &path,
                            &caller.token,
                            inert_body(&route.method),
                        )
                        .await;
                    assert_eq!(status, 403, "{label}: {body}");
                }
                // People: only the route that changes nothing with an inert body (signing out
                // or starting an enrolment would).
                Need::User if route.path == "/api/v1/session/totp/confirm" => {
                    let (status, body) = s
                        .json(
                            route.method.clone(),
                            &path,
                            &caller.token,
                            inert_body(&route.method),
                        )
                        .await;
                    assert_eq!(status, 422, "{label}: {body}");
                }
                _ => {}
            }
        }
    }
}

#[tokio::test]
async fn project_and_asset_routes_match_the_resolver() {
    let s = start().await;
    let mut callers = callers(&s).await;
    // Coordinators with project member roles, and asset grants (scenario 4).
    for (label, name, id) in [
        ("Henrik (project member)", HENRIK, 4),
        ("Priya (project member)", "Priya Nair", 5),
    ] {
        callers.push(Caller {
            label,
            token: s.sign_in(name).await,
            principal: Principal::User(UserId(id)),
            permissions: OrgRole::Member.permissions(),
        });
    }
    let plant = s.state.plant(1).unwrap();
    let changes_before = changes_count(&s);
    let mut checked = 0;
    let mut allowed_seen = 0;
    let mut denied_seen = 0;
    for route in table() {
        let (ids, resource): (Vec<u32>, fn(u32) -> Resource) = match route.need {
            Need::Project(_) => (vec![1, 999_999], |id| Resource::Project(ProjectId(id))),
            Need::Asset(_) => (vec![1, 2, 3, 4, 5, 999_999], |id| Resource::Asset(AssetId(id))),
            _ => continue,
        };
        let action = match route.need {
            Need::Project(a) => Action::Project(a),
            Need::Asset(a) => Action::Asset(a),
            _ => unreachable!(),
        };
        for id in ids {
            for caller in &callers {
                let label = format!("{} {} #{id} as {}", route.method, route.path, caller.label);
                let decision = plant.decide(caller.principal, action, resource(id));
                let unknown = decision
                    .reasons
                    .iter()
                    .any(|r| matches!(r, Reason::UnknownResource));
                if decision.allowed && route.method == Method::DELETE {
                    // Allowed deletes would delete; they are exercised below.
                    continue;
                }
                let path = with_ids(route.path, &id.to_string());
                let (status, body) = s
                    .json(
                        route.method.clone(),
                        &path,
                        &caller.token,
                        inert_body(&route.method),
                    )
                    .await;
                checked += 1;
                if unknown {
                    assert_eq!(status, 404, "{label}: {body}");
                } else if decision.allowed {
                    allowed_seen += 1;
                    assert!(
                        ![401, 403, 404].contains(&status) && status < 500,
                        "{label}: allowed by the resolver, got {status} {body}"
                    );
                } else {
                    denied_seen += 1;
                    assert_eq!(status, 403, "{label}: denied by the resolver: {body}");
                    assert_eq!(body["code"], "forbidden");
                }
            }
        }
    }
    assert!(checked > 300, "{checked}");
    assert!(
        allowed_seen > 50 && denied_seen > 50,
        "{allowed_seen} {denied_seen}"
    );
    assert_eq!(changes_count(&s), changes_before);

    // The allowed deletes, once each: an editor deletes an asset, the owner deletes the project.
    let carmen = &callers.iter().find(|c| c.label == "member").unwrap().token;
    assert!(plant.allows(
        Principal::User(UserId(3)),
        steward_model::AssetAction::Delete,
        Resource::Asset(AssetId(4))
    ));
    let r = s.call(Method::DELETE, "/assets/4", carmen, None).await;
    assert_eq!(r.status(), 204);
    let owner = &callers[0].token;
    let r = s.call(Method::DELETE, "/projects/1", owner, None).await;
    assert_eq!(r.status(), 204);
    assert_eq!(s.json(Method::GET, "/projects/1", owner, None).await.0, 404);
}

// ----- (c) one org cannot reach another's data ----------------------------------------------

struct OtherOrg {
    org: i64,
    token: String,
    user: i64,
}

async fn second_org(s: &Server) -> OtherOrg {
    let ctx = WriteCtx {
        org: 0,
        actor: Actor::System,
        source: "test".to_owned(),
        now: s.clock.now_ms(),
        idempotency: None,
        status: 201,
    };
    let org = s.state.store.create_org(&ctx, "South Plant").unwrap();
    let ctx = WriteCtx { org, ..ctx };
    let password = "south plant owner password";
    let user = s
        .state
        .store
        .create_user(
            &ctx,
            "owner@southplant.example",
            "Sam South",
            OrgRole::Owner,
            &hash_password(password).unwrap(),
        )
        .unwrap();
    let r = s
        .http
        .post(s.url("/session"))
        .json(&json!({"email": "owner@southplant.example", "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let token = r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    OtherOrg {
        org,
        token,
        user: user.id,
    }
}

fn ids_of(list: &Value) -> BTreeSet<i64> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|v| v["id"].as_i64().unwrap())
        .collect()
}

async fn created(s: &Server, path: &str, token: &str, body: Value) -> Value {
    let (status, v) = s.json(Method::POST, path, token, Some(body)).await;
    assert_eq!(status, 201, "POST {path}: {v}");
    v
}

#[tokio::test]
async fn one_org_cannot_reach_another_orgs_data_by_id() {
    let s = start().await;
    let south = second_org(&s).await;
    let t2 = &south.token;
    let owner = s.sign_in(OWNER).await;

    // South's own data.
    let (_, me) = s.json(Method::GET, "/session", t2, None).await;
    assert_eq!(me["org"], south.org);
    let task2 = created(&s, "/tasks", t2, json!({"title": "South task"})).await;
    let equipment2 = created(&s, "/equipment", t2, json!({"title": "South pump"})).await;
    let group2 = created(&s, "/groups", t2, json!({"name": "South crew"})).await;
    let project2 = created(&s, "/projects", t2, json!({"name": "South project"})).await;
    let asset2 = created(
        &s,
        &format!("/projects/{}/assets", project2["id"]),
        t2,
        json!({"kind": "agent", "name": "South agent"}),
    )
    .await;
    let node2 = created(&s, "/hierarchy", t2, json!({"name": "South site"})).await;
    let key2 = created(
        &s,
        "/api-keys",
        t2,
        json!({"name": "South SCADA", "permissions": ["events.manage", "equipment.view"]}),
    )
    .await;
    let south_key = key2["secret"].as_str().unwrap().to_owned();

    // North's data, by id.
    let (_, north_tasks) = s.json(Method::GET, "/tasks", &owner, None).await;
    let (_, north_events) = s.json(Method::GET, "/events", &owner, None).await;
    let (_, north_equipment) = s.json(Method::GET, "/equipment", &owner, None).await;
    let north_records: Vec<(String, i64)> = [
        ("tasks", &north_tasks),
        ("events", &north_events),
        ("equipment", &north_equipment),
    ]
    .iter()
    .flat_map(|(m, list)| ids_of(list).into_iter().map(|id| ((*m).to_owned(), id)))
    .collect();
    assert!(north_records.len() >= 7);

    let refused = |status: u16, body: &Value, what: &str| {
        assert!(
            status == 404 || status == 403,
            "{what}: expected 404 or 403, got {status}: {body}"
        );
        assert!(body["code"].is_string(), "{what}: {body}");
    };
    for (module, id) in &north_records {
        for (method, body) in [
            (Method::GET, None),
            (Method::PATCH, Some(json!({"title": "Stolen"}))),
            (Method::DELETE, None),
        ] {
            let (status, v) = s.json(method.clone(), &format!("/{module}/{id}"), t2, body).await;
            refused(status, &v, &format!("{method} /{module}/{id}"));
        }
    }
    for id in 1..=15 {
        let (status, v) = s.json(Method::GET, &format!("/users/{id}"), t2, None).await;
        refused(status, &v, &format!("GET /users/{id}"));
        let (status, v) = s
            .json(
                Method::PATCH,
                &format!("/users/{id}"),
                t2,
                Some(json!({"active": false})),
            )
            .await;
        refused(status, &v, &format!("PATCH /users/{id}"));
    }
    let probes: Vec<(Method, String, Option<Value>)> = vec![
        (Method::PATCH, "/groups/1".into(), Some(json!({"name": "Mine"}))),
        (Method::DELETE, "/groups/1".into(), None),
        (Method::PUT, format!("/groups/1/members/{}", south.user), None),
        (Method::PUT, "/groups/1/members/6".into(), None),
        (Method::PUT, format!("/groups/{}/members/6", group2["id"]), None),
        (Method::GET, "/projects/1".into(), None),
        (Method::GET, "/projects/1/assets".into(), None),
        (Method::DELETE, "/projects/1".into(), None),
        (
            Method::PUT,
            "/projects/1/roles".into(),
            Some(json!({"grantee": {"kind": "user", "id": south.user}, "role": "admin"})),
        ),
        (
            Method::POST,
            "/projects/1/assets".into(),
            Some(json!({"kind": "agent", "name": "Planted"})),
        ),
        (
            Method::PUT,
            format!("/projects/{}/roles", project2["id"]),
            Some(json!({"grantee": {"kind": "user", "id": 6}, "role": "viewer"})),
        ),
        (
            Method::PUT,
            format!("/projects/{}/roles", project2["id"]),
            Some(json!({"grantee": {"kind": "group", "id": 1}, "role": "viewer"})),
        ),
        (
            Method::POST,
            "/hierarchy".into(),
            Some(json!({"name": "Under north", "parent": 1})),
        ),
        (
            Method::POST,
            "/legacy-import".into(),
            Some(json!({"assignments": [{"user": 6, "project": 1, "role": "viewer"}]})),
        ),
        (Method::GET, "/api-keys/1".into(), None),
        (
            Method::PUT,
            "/api-keys/1/permissions".into(),
            Some(json!({"permissions": ["events.view"]})),
        ),
        (Method::POST, "/api-keys/1/disable".into(), None),
        (Method::POST, "/api-keys/1/enable".into(), None),
        (Method::DELETE, "/api-keys/1".into(), None),
    ];
    let mut probes = probes;
    for asset in 1..=5 {
        probes.extend([
            (Method::GET, format!("/assets/{asset}"), None),
            (
                Method::PATCH,
                format!("/assets/{asset}"),
                Some(json!({"name": "Mine"})),
            ),
            (
                Method::PUT,
                format!("/assets/{asset}/roles"),
                Some(json!({"grantee": {"kind": "user", "id": south.user}, "role": "admin"})),
            ),
            (Method::POST, format!("/assets/{asset}/run"), None),
            (Method::DELETE, format!("/assets/{asset}"), None),
        ]);
    }
    for (method, path, body) in probes {
        let (status, v) = s.json(method.clone(), &path, t2, body).await;
        refused(status, &v, &format!("{method} {path}"));
    }
    // A workforce cannot list another org's agent.
    let (status, v) = s
        .json(
            Method::POST,
            &format!("/projects/{}/assets", project2["id"]),
            t2,
            Some(json!({"kind": "workforce", "name": "Borrowed", "agents": [1]})),
        )
        .await;
    assert!(status == 422 || status == 404, "{status}: {v}");

    // Lists show only South's data.
    let list = |path: &'static str| {
        let token = t2.clone();
        let s = &s;
        async move {
            let (status, v) = s.json(Method::GET, path, &token, None).await;
            assert_eq!(status, 200, "{path}: {v}");
            v
        }
    };
    assert_eq!(
        ids_of(&list("/tasks").await),
        BTreeSet::from([task2["id"].as_i64().unwrap()])
    );
    assert_eq!(ids_of(&list("/events").await), BTreeSet::new());
    assert_eq!(
        ids_of(&list("/equipment").await),
        BTreeSet::from([equipment2["id"].as_i64().unwrap()])
    );
    assert_eq!(ids_of(&list("/users").await), BTreeSet::from([south.user]));
    assert_eq!(
        ids_of(&list("/groups").await),
        BTreeSet::from([group2["id"].as_i64().unwrap()])
    );
    assert_eq!(
        ids_of(&list("/projects").await),
        BTreeSet::from([project2["id"].as_i64().unwrap()])
    );
    assert_eq!(
        ids_of(&list("/agents").await),
        BTreeSet::from([asset2["id"].as_i64().unwrap()])
    );
    assert_eq!(
        ids_of(&list("/hierarchy").await),
        BTreeSet::from([node2["id"].as_i64().unwrap()])
    );
    assert_eq!(
        ids_of(&list("/api-keys").await),
        BTreeSet::from([key2["id"].as_i64().unwrap()])
    );
    let audit = list("/audit?limit=500").await;
    assert!(!audit.as_array().unwrap().is_empty());
    for record in audit.as_array().unwrap() {
        assert_eq!(record["org_id"], south.org, "{record}");
    }
    let changes = list("/changes?since=0").await;
    let south_ids: BTreeSet<i64> = [&task2, &equipment2, &group2, &project2, &asset2, &node2, &key2]
        .iter()
        .map(|v| v["id"].as_i64().unwrap())
        .chain([south.user])
        .collect();
    for change in changes["changes"].as_array().unwrap() {
        assert!(
            south_ids.contains(&change["entity_id"].as_i64().unwrap()),
            "{change}"
        );
    }

    // North is untouched.
    let (_, olivia) = s.json(Method::GET, "/users/1", &owner, None).await;
    assert_eq!(olivia["active"], true);
    assert_eq!(olivia["role"], "owner");
    assert_eq!(s.json(Method::GET, "/tasks", &owner, None).await.1, north_tasks);
    assert_eq!(
        s.json(Method::GET, "/equipment", &owner, None).await.1,
        north_equipment
    );
    let (_, groups) = s.json(Method::GET, "/groups", &owner, None).await;
    assert_eq!(groups[0]["name"], "Shift A technicians");
    assert_eq!(groups[0]["members"].as_array().unwrap().len(), 4);
    let (_, project) = s.json(Method::GET, "/projects/1", &owner, None).await;
    assert_eq!(project["name"], "Line 3 Reliability");
    let scada = s.scada_key();
    assert_eq!(s.json(Method::GET, "/equipment", &scada, None).await.0, 200);
    let (_, key) = s.json(Method::GET, "/api-keys/1", &owner, None).await;
    assert_eq!(key["enabled"], true);
    assert!(key["revoked_at"].is_null());

    // And the other way round: North's owner and key cannot reach South's ids.
    for path in [
        format!("/tasks/{}", task2["id"]),
        format!("/equipment/{}", equipment2["id"]),
        format!("/users/{}", south.user),
        format!("/projects/{}", project2["id"]),
        format!("/assets/{}", asset2["id"]),
        format!("/api-keys/{}", key2["id"]),
    ] {
        let (status, v) = s.json(Method::GET, &path, &owner, None).await;
        refused(status, &v, &format!("North owner GET {path}"));
    }
    let (status, v) = s
        .json(
            Method::GET,
            &format!("/equipment/{}", equipment2["id"]),
            &scada,
            None,
        )
        .await;
    refused(status, &v, "North key on South equipment");
    let (status, v) = s
        .json(
            Method::GET,
            &format!(
                "/equipment/{}",
                north_records.iter().find(|(m, _)| m == "equipment").unwrap().1
            ),
            &south_key,
            None,
        )
        .await;
    refused(status, &v, "South key on North equipment");
    let (_, seen) = s.json(Method::GET, "/equipment", &south_key, None).await;
    assert_eq!(
        ids_of(&seen),
        BTreeSet::from([equipment2["id"].as_i64().unwrap()])
    );
    assert!(s.state.store.audit_verify().unwrap().ok);
}
