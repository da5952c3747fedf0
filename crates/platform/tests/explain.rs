//! Who can do what, and what happened, over real HTTP against a real stewardd on 127.0.0.1:0:
//! `/explain`, `/who-can`, `/preview`, `/audit` and the `/changes` feed, each limited to what
//! the caller may view.

// Tests: a failed step is a failed test, so unwrapping, indexing JSON and panicking are the
// assertions themselves.
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

// Demo ids (steward_model::demo::ids).
const HENRIK_ID: i64 = 4;
const TECH_ID: i64 = 6;
const MANAGEMENT_ID: i64 = 14;
const VIBRATION: i64 = 1;
const THERMAL: i64 = 2;
const WORKFORCE: i64 = 5;
const MANUALS: i64 = 4;

fn principals(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{}:{}",
                e["principal"]["kind"].as_str().unwrap(),
                e["principal"]["id"]
            )
        })
        .collect()
}

async fn grant_thermal_to_henrik(s: &Server, token: &str) {
    let (status, body) = s
        .json(
            Method::PUT,
            &format!("/assets/{THERMAL}/roles"),
            token,
            Some(json!({"grantee": {"kind": "user", "id": HENRIK_ID}, "role": "member"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn explain_names_the_missing_agent_and_flips_after_the_grant() {
    let s = start().await;
    let manager = s.sign_in(MANAGER).await;
    let explain = format!("/explain?principal=user:{HENRIK_ID}&action=asset.run&resource=asset:{WORKFORCE}");
    let (status, decision) = s.json(Method::GET, &explain, &manager, None).await;
    assert_eq!(status, 200, "{decision}");
    assert_eq!(decision["allowed"], false);
    assert_eq!(decision["principal"], json!({"kind": "user", "id": HENRIK_ID}));
    assert_eq!(decision["action"], "asset.run");
    assert_eq!(decision["resource"], json!({"kind": "asset", "id": WORKFORCE}));
    let reasons = decision["reasons"].as_array().unwrap();
    assert_eq!(reasons.len(), 1, "{decision}");
    assert_eq!(reasons[0]["reason"], "cannot_run_agent");
    assert_eq!(reasons[0]["agent"], THERMAL);
    assert_eq!(reasons[0]["message"], "cannot run agent Thermal Inspector");

    let who = format!("/who-can?action=asset.run&resource=asset:{WORKFORCE}");
    let (status, before) = s.json(Method::GET, &who, &manager, None).await;
    assert_eq!(status, 200, "{before}");
    assert!(
        !principals(&before).contains(&format!("user:{HENRIK_ID}")),
        "{before}"
    );

    grant_thermal_to_henrik(&s, &manager).await;

    let (_, decision) = s.json(Method::GET, &explain, &manager, None).await;
    assert_eq!(decision["allowed"], true, "{decision}");
    let messages: Vec<&str> = decision["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages, ["member of workforce Shift Handover, directly"]);

    let (_, after) = s.json(Method::GET, &who, &manager, None).await;
    let henrik = after
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["principal"]["id"] == HENRIK_ID && e["principal"]["kind"] == "user")
        .unwrap_or_else(|| panic!("{after}"));
    assert_eq!(henrik["name"], HENRIK);
    assert_eq!(henrik["decision"]["allowed"], true);
    // And the guard agrees with the explainer.
    let henrik_token = s.sign_in(HENRIK).await;
    assert_eq!(
        s.json(
            Method::POST,
            &format!("/assets/{WORKFORCE}/run"),
            &henrik_token,
            None
        )
        .await
        .0,
        201
    );
}

#[tokio::test]
async fn explain_org_permissions_and_keys_in_words() {
    let s = start().await;
    let manager = s.sign_in(MANAGER).await;

    // `resource` defaults to the org.
    let (status, d) = s
        .json(
            Method::GET,
            &format!("/explain?principal=user:{TECH_ID}&action=events.manage"),
            &manager,
            None,
        )
        .await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["allowed"], true);
    assert_eq!(d["resource"], json!({"kind": "org"}));
    assert_eq!(d["reasons"][0]["reason"], "org_role");
    assert_eq!(d["reasons"][0]["message"], "org role operator includes it");

    let (_, d) = s
        .json(
            Method::GET,
            &format!("/explain?principal=user:{MANAGEMENT_ID}&action=events.manage&resource=org"),
            &manager,
            None,
        )
        .await;
    assert_eq!(d["allowed"], false);
    assert_eq!(d["reasons"][0]["reason"], "org_role_lacks");
    assert_eq!(d["reasons"][0]["lowest"], "operator");

    let (_, d) = s
        .json(
            Method::GET,
            "/explain?principal=key:1&action=users.view",
            &manager,
            None,
        )
        .await;
    assert_eq!(d["allowed"], false);
    assert_eq!(d["reasons"][0]["reason"], "key_lacks");
    assert_eq!(
        d["reasons"][0]["message"],
        "API key \"SCADA North Plant\" lacks users.view"
    );

    // Keys hold catalog permissions only, never project roles.
    let (_, d) = s
        .json(
            Method::GET,
            "/explain?principal=key:1&action=project.view&resource=project:1",
            &manager,
            None,
        )
        .await;
    assert_eq!(d["allowed"], false);
    assert_eq!(d["reasons"][0]["reason"], "key_holds_catalog_only");

    // On a hierarchy node, `#` as displayed works too.
    let (status, d) = s
        .json(
            Method::GET,
            "/explain?principal=user%236&action=presence.listen&resource=node:3",
            &manager,
            None,
        )
        .await;
    assert_eq!((status, &d["allowed"]), (200, &json!(true)), "{d}");
}

#[tokio::test]
async fn explain_refuses_bad_input_and_what_the_caller_cannot_see() {
    let s = start().await;
    let manager = s.sign_in(MANAGER).await;
    for (query, status, code) in [
        ("principal=bob&action=events.view", 400, "invalid_principal"),
        ("principal=user:x&action=events.view", 400, "invalid_principal"),
        ("principal=group:1&action=events.view", 400, "invalid_principal"),
        ("principal=user:3&action=events.fly", 400, "invalid_action"),
        (
            "principal=user:3&action=asset.fly&resource=asset:1",
            400,
            "invalid_action",
        ),
        (
            "principal=user:3&action=events.view&resource=plant",
            400,
            "invalid_resource",
        ),
        (
            "principal=user:3&action=events.view&resource=asset:-1",
            400,
            "invalid_resource",
        ),
        ("principal=user:3", 400, "invalid_query"),
        (
            "principal=user:3&action=events.view&colour=red",
            400,
            "invalid_query",
        ),
        ("principal=user:999&action=events.view", 404, "not_found"),
        ("principal=key:99&action=events.view", 404, "not_found"),
        (
            "principal=user:3&action=asset.run&resource=asset:999",
            404,
            "not_found",
        ),
        (
            "principal=user:3&action=project.view&resource=project:7",
            404,
            "not_found",
        ),
    ] {
        let (got, err) = s
            .json(Method::GET, &format!("/explain?{query}"), &manager, None)
            .await;
        assert_eq!(
            (got, err["code"].as_str()),
            (status, Some(code)),
            "{query}: {err}"
        );
    }
    // The explainer needs users.view; the SCADA key lacks it.
    let (status, _) = s
        .json(
            Method::GET,
            "/explain?principal=user:3&action=events.view",
            &s.scada_key(),
            None,
        )
        .await;
    assert_eq!(status, 403);

    // Management (viewer) sees the manuals it is granted, not the workforce it is not.
    let management = s.sign_in(MANAGEMENT).await;
    let ask =
        |asset: i64| format!("/explain?principal=user:{HENRIK_ID}&action=asset.run&resource=asset:{asset}");
    assert_eq!(s.json(Method::GET, &ask(MANUALS), &management, None).await.0, 200);
    assert_eq!(
        s.json(Method::GET, &ask(WORKFORCE), &management, None).await.0,
        404
    );
    let (status, _) = s
        .json(
            Method::GET,
            &format!("/who-can?action=asset.run&resource=asset:{WORKFORCE}"),
            &management,
            None,
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn who_can_lists_people_and_keys_with_reasons() {
    let s = start().await;
    let manager = s.sign_in(MANAGER).await;
    let (status, list) = s
        .json(
            Method::GET,
            "/who-can?action=events.manage&resource=org",
            &manager,
            None,
        )
        .await;
    assert_eq!(status, 200, "{list}");
    let who = principals(&list);
    // Owner, admin, 3 coordinators, 8 technicians and the SCADA key; not the viewer.
    assert_eq!(who.len(), 14, "{who:?}");
    assert!(who.contains(&"key:1".to_owned()));
    assert!(!who.contains(&format!("user:{MANAGEMENT_ID}")));
    let key = list
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["principal"]["kind"] == "key")
        .unwrap();
    assert_eq!(key["name"], "API key \"SCADA North Plant\"");
    assert_eq!(key["decision"]["reasons"][0]["reason"], "key_permission");
    let tech = list
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["principal"]["id"] == TECH_ID)
        .unwrap();
    assert_eq!(tech["name"], TECH);

    // Projects: org admins by cascade, the editor, members by their role.
    let (_, list) = s
        .json(
            Method::GET,
            "/who-can?action=project.create_assets&resource=project:1",
            &manager,
            None,
        )
        .await;
    let who = principals(&list);
    for expected in ["user:1", "user:2", "user:3", "user:4", "user:5"] {
        assert!(who.contains(&expected.to_owned()), "{who:?}");
    }
    assert!(!who.contains(&format!("user:{TECH_ID}")), "{who:?}");

    for (query, code) in [
        ("action=events.fly", "invalid_action"),
        ("action=events.view&resource=everything", "invalid_resource"),
    ] {
        let (status, err) = s
            .json(Method::GET, &format!("/who-can?{query}"), &manager, None)
            .await;
        assert_eq!((status, err["code"].as_str()), (400, Some(code)), "{query}");
    }
}

#[tokio::test]
async fn preview_lists_gains_and_losses_without_changing_anything() {
    let s = start().await;
    let manager = s.sign_in(MANAGER).await;
    let (status, preview) = s
        .json(
            Method::POST,
            "/preview",
            &manager,
            Some(json!({"change": "set_org_role", "user": MANAGEMENT_ID, "role": "operator"})),
        )
        .await;
    assert_eq!(status, 200, "{preview}");
    let deltas = preview["deltas"].as_array().unwrap();
    let gained: BTreeSet<&str> = deltas.iter().map(|d| d["action"].as_str().unwrap()).collect();
    assert_eq!(
        gained,
        BTreeSet::from([
            "commands.queue.call",
            "commands.rpc.call",
            "events.manage",
            "tasks.manage"
        ])
    );
    assert!(deltas.iter().all(|d| d["gained"] == true && d["on"].is_null()));
    assert!(
        deltas
            .iter()
            .all(|d| d["principal"] == json!({"kind": "user", "id": MANAGEMENT_ID}))
    );
    let events = deltas.iter().find(|d| d["action"] == "events.manage").unwrap();
    assert_eq!(events["text"], "Sofia Management gains events.manage");
    // Nothing changed.
    let (_, user) = s
        .json(Method::GET, &format!("/users/{MANAGEMENT_ID}"), &manager, None)
        .await;
    assert_eq!(user["role"], "viewer");

    // A grant on the missing agent makes the workforce runnable: both show as gains.
    let (_, preview) = s
        .json(
            Method::POST,
            "/preview",
            &manager,
            Some(json!({
                "change": "set_asset_role",
                "grantee": {"kind": "user", "id": HENRIK_ID},
                "asset": THERMAL,
                "role": "member"
            })),
        )
        .await;
    let texts: Vec<&str> = preview["deltas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["text"].as_str().unwrap())
        .collect();
    assert!(
        texts.contains(&"Henrik Larsen gains asset.run on workforce Shift Handover"),
        "{texts:?}"
    );
    assert!(
        texts.contains(&"Henrik Larsen gains asset.run on agent Thermal Inspector"),
        "{texts:?}"
    );

    // A demotion is a loss.
    let (_, preview) = s
        .json(
            Method::POST,
            "/preview",
            &manager,
            Some(json!({"change": "set_org_role", "user": TECH_ID, "role": "viewer"})),
        )
        .await;
    assert!(
        preview["deltas"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["text"] == "Tomás Ortega loses events.manage"),
        "{preview}"
    );

    for (body, status, code) in [
        (
            json!({"change": "set_org_role", "user": 1, "role": "admin"}),
            409,
            "last_owner",
        ),
        (
            json!({"change": "set_org_role", "user": 999, "role": "admin"}),
            404,
            "not_found",
        ),
        (
            json!({"change": "set_org_role", "user": 3, "role": "emperor"}),
            422,
            "invalid_body",
        ),
        (json!({"change": "launch_rockets"}), 422, "invalid_body"),
    ] {
        let (got, err) = s
            .json(Method::POST, "/preview", &manager, Some(body.clone()))
            .await;
        assert_eq!((got, err["code"].as_str()), (status, Some(code)), "{body}: {err}");
    }
}

#[tokio::test]
async fn audit_shows_the_key_creation_and_pages_backwards() {
    let s = start().await;
    let manager = s.sign_in(MANAGER).await;
    let (status, key) = s
        .json(
            Method::POST,
            "/api-keys",
            &manager,
            Some(json!({"name": "Historian", "permissions": ["events.view"]})),
        )
        .await;
    assert_eq!(status, 201, "{key}");
    let target = format!("key:{}", key["id"]);

    let management = s.sign_in(MANAGEMENT).await;
    let (status, entries) = s
        .json(Method::GET, "/audit?action=api_key.create", &management, None)
        .await;
    assert_eq!(status, 200, "{entries}");
    let newest = &entries[0];
    assert_eq!(newest["target"], target.as_str());
    assert_eq!(newest["actor"], "user:2");
    assert_eq!(newest["outcome"], "ok");
    assert_eq!(newest["after"]["name"], "Historian");
    assert!(!entries.to_string().contains(key["secret"].as_str().unwrap()));

    let (_, by_target) = s
        .json(Method::GET, &format!("/audit?target={target}"), &management, None)
        .await;
    assert_eq!(by_target.as_array().unwrap().len(), 1, "{by_target}");

    // Newest first; `before_id` pages back.
    let (_, page) = s.json(Method::GET, "/audit?limit=2", &management, None).await;
    let page = page.as_array().unwrap();
    assert_eq!(page.len(), 2);
    assert!(page[0]["id"].as_i64() > page[1]["id"].as_i64());
    let (_, older) = s
        .json(
            Method::GET,
            &format!("/audit?limit=2&before_id={}", page[1]["id"]),
            &management,
            None,
        )
        .await;
    assert!(older[0]["id"].as_i64() < page[1]["id"].as_i64());

    for (query, code) in [
        ("outcome=maybe", "invalid_outcome"),
        ("limit=0", "invalid_limit"),
        ("limit=-3", "invalid_query"),
    ] {
        let (status, err) = s
            .json(Method::GET, &format!("/audit?{query}"), &management, None)
            .await;
        assert_eq!((status, err["code"].as_str()), (400, Some(code)), "{query}");
    }
    // The SCADA key has no audit.view.
    assert_eq!(s.json(Method::GET, "/audit", &s.scada_key(), None).await.0, 403);
}

fn entities(page: &Value) -> BTreeSet<String> {
    page["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["entity"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_change_feed_moves_its_cursor_and_shows_only_what_the_caller_may_see() {
    let s = start().await;
    let manager = s.sign_in(MANAGER).await;
    let scada = s.scada_key();

    let (status, all) = s
        .json(Method::GET, "/changes?since=0&limit=5000", &manager, None)
        .await;
    assert_eq!(status, 200, "{all}");
    let seen = entities(&all);
    for e in [
        "user",
        "group",
        "project",
        "asset",
        "api_key",
        "equipment",
        "events",
        "tasks",
    ] {
        assert!(seen.contains(e), "{e} missing from {seen:?}");
    }
    let cursor = all["next"].as_i64().unwrap();
    assert_eq!(all["more"], false);

    // The SCADA key (events.manage + equipment.view) sees events and equipment only, and its
    // cursor moves past everything else just the same.
    let (status, mine) = s.json(Method::GET, "/changes?limit=5000", &scada, None).await;
    assert_eq!(status, 200, "{mine}");
    assert_eq!(
        entities(&mine),
        BTreeSet::from(["equipment".to_owned(), "events".to_owned()])
    );
    assert_eq!(mine["next"], cursor);

    // Henrik sees the assets he may view (the vibration agent and the workforce), not the rest.
    let henrik = s.sign_in(HENRIK).await;
    let (_, his) = s.json(Method::GET, "/changes?limit=5000", &henrik, None).await;
    let assets: BTreeSet<i64> = his["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["entity"] == "asset")
        .map(|c| c["entity_id"].as_i64().unwrap())
        .collect();
    assert_eq!(assets, BTreeSet::from([VIBRATION, WORKFORCE]));

    // A new key: the manager gets exactly that change after the cursor; the SCADA key gets an
    // empty page whose cursor still moves on.
    let (_, key) = s
        .json(
            Method::POST,
            "/api-keys",
            &manager,
            Some(json!({"name": "Historian", "permissions": ["events.view"]})),
        )
        .await;
    let (_, page) = s
        .json(Method::GET, &format!("/changes?since={cursor}"), &manager, None)
        .await;
    let changes = page["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{page}");
    assert_eq!(changes[0]["entity"], "api_key");
    assert_eq!(changes[0]["entity_id"], key["id"]);
    assert_eq!(changes[0]["op"], "put");
    assert!(changes[0]["body"].get("secret").is_none());
    let next = page["next"].as_i64().unwrap();
    assert!(next > cursor);
    let (_, page) = s
        .json(Method::GET, &format!("/changes?since={cursor}"), &scada, None)
        .await;
    assert_eq!(page["changes"], json!([]));
    assert_eq!(page["next"], next);
    let (_, page) = s
        .json(Method::GET, &format!("/changes?since={next}"), &manager, None)
        .await;
    assert_eq!((&page["changes"], &page["next"]), (&json!([]), &json!(next)));

    // Small pages say there is more.
    let (_, first) = s.json(Method::GET, "/changes?limit=1", &manager, None).await;
    assert_eq!(first["changes"].as_array().unwrap().len(), 1);
    assert_eq!(first["more"], true);
    assert_eq!(first["next"], first["changes"][0]["seq"]);

    for query in ["since=-1", "limit=0", "limit=9999", "since=abc"] {
        let (status, _) = s
            .json(Method::GET, &format!("/changes?{query}"), &manager, None)
            .await;
        assert_eq!(status, 400, "{query}");
    }
}
