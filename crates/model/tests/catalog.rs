//! The catalog is the one source: names, matrices and the committed docs derive from it.

// Tests: a failed setup step is a failed test, so unwrapping and indexing are what we want.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeSet;

use steward_model::docs;
use steward_model::*;

#[test]
fn every_permission_is_named_module_dot_action_and_parses_back() {
    let mut names = BTreeSet::new();
    for info in Permission::catalog() {
        assert_eq!(info.name, format!("{}.{}", info.module.name(), info.verb.name()));
        assert_eq!(Permission::parse(info.name).unwrap(), info.permission);
        assert!(names.insert(info.name), "duplicate {}", info.name);
        assert!(!info.label.is_empty() && !info.description.is_empty());
    }
    assert_eq!(names.len(), Permission::ALL.len());
}

#[test]
fn the_catalog_holds_the_spec_modules_and_actions() {
    let expect: &[(&str, &[&str])] = &[
        ("agents", &["view", "manage"]),
        ("tools", &["view", "manage"]),
        ("data", &["view", "manage"]),
        ("tasks", &["view", "manage"]),
        ("equipment", &["view", "manage"]),
        ("events", &["view", "manage"]),
        ("users", &["view", "manage"]),
        ("settings", &["view", "manage"]),
        ("api_keys", &["view", "manage"]),
        ("webhooks", &["view", "manage"]),
        ("audit", &["view"]),
        ("usage", &["view"]),
        ("billing", &["manage"]),
        ("organization", &["manage"]),
        ("projects", &["create"]),
        ("telemetry", &["listen"]),
        ("commands.rpc", &["listen", "call"]),
        ("commands.queue", &["call"]),
        (
            "alerts",
            &["listen", "create", "update", "delete", "list", "history"],
        ),
        ("presence", &["listen"]),
        ("logical_group", &["listen", "create", "update", "delete", "list"]),
        (
            "hierarchy_group",
            &["listen", "create", "update", "delete", "list"],
        ),
        ("devices", &["create", "update", "delete", "list"]),
    ];
    let mut total = 0;
    for (module, actions) in expect {
        let m = Module::parse(module).unwrap();
        let got: Vec<&str> = m.permissions().map(|p| p.verb().name()).collect();
        assert_eq!(&got, actions, "{module}");
        total += actions.len();
    }
    assert_eq!(total, Permission::ALL.len());
}

#[test]
fn unknown_names_are_errors_with_a_code() {
    for bad in [
        "",
        "events",
        "events.",
        ".manage",
        "events.fly",
        "teleport.view",
        "manage",
        "fly_events",
    ] {
        let err = Permission::parse(bad).unwrap_err();
        assert_eq!(err.code(), "unknown_permission", "{bad}");
    }
    assert_eq!(
        Permission::parse("heirarchy_group.list").unwrap(),
        Permission::HierarchyGroupList
    );
}

#[test]
fn role_matrix_json_has_every_permission_and_role() {
    let doc = docs::catalog_document();
    let json = serde_json::to_value(&doc).unwrap();
    assert_eq!(
        json["permissions"].as_array().unwrap().len(),
        Permission::ALL.len()
    );
    assert_eq!(json["permissions"][0]["name"], "agents.view");
    let owner: Vec<&str> = json["roles"]["owner"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(owner.len(), Permission::ALL.len());
    let viewer = json["roles"]["viewer"].as_array().unwrap();
    assert!(viewer.iter().any(|v| v == "audit.view"));
    assert!(!viewer.iter().any(|v| v == "tasks.manage"));
}

#[test]
fn committed_permissions_doc_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/permissions.md");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == docs::permissions_markdown(),
        "docs/permissions.md is stale; regenerate it with `cargo xtask docs`"
    );
}
