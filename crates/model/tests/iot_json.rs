//! The IoT document's permission object: the golden round trip of its full example, and the
//! import rules (spellings, deny by default, errors naming their path).

// Test helpers outside `#[test]` functions fail the test by panicking, which is what we want.
#![allow(clippy::panic)]

use serde_json::Value;
use steward_model::catalog::Source;
use steward_model::iot_json::{export, export_value, import, import_value};
use steward_model::{ModelError, Module, PermSet, Permission};

/// The full permission object of the IoT document, verbatim (including `heirarchy_group`).
const FULL: &str = include_str!("fixtures/iot_full_permissions.json");

fn without_whitespace(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Every permission of the catalog that comes from the IoT document.
fn iot_permissions() -> PermSet {
    PermSet::of(
        Permission::ALL
            .iter()
            .copied()
            .filter(|p| p.module().info().source == Source::Iot),
    )
}

/// The error's path, failing the test if `result` is not a permission-JSON error.
fn error_path(result: Result<PermSet, ModelError>) -> String {
    match result {
        Err(ModelError::PermissionJson { path, problem }) => {
            assert!(!problem.is_empty(), "an error says what is wrong");
            path
        }
        other => panic!("expected a permission JSON error, got {other:?}"),
    }
}

#[test]
fn full_document_imports_to_every_iot_permission() {
    let set = import(FULL).unwrap();
    let expected = iot_permissions();
    // Counted from the catalog: telemetry 1, commands.rpc 2, commands.queue 1, alerts 6,
    // presence 1, logical_group 5, hierarchy_group 5, devices 4.
    assert_eq!(expected.len(), 25);
    assert_eq!(set, expected);
    // The IoT modules are exactly the ones placed in the IoT document's object.
    for module in Module::ALL {
        let in_document = module.info().iot_path.is_some();
        assert_eq!(module.info().source == Source::Iot, in_document, "{module:?}");
        assert_eq!(
            module.permissions().all(|p| set.contains(p)),
            in_document,
            "{module:?}"
        );
    }
}

#[test]
fn export_of_every_iot_permission_is_the_document() {
    let exported = export(iot_permissions());
    assert_eq!(without_whitespace(&exported), without_whitespace(FULL));
    // The compact form is the same object.
    assert_eq!(
        export_value(iot_permissions()),
        serde_json::from_str::<Value>(FULL).unwrap()
    );
}

#[test]
fn export_of_nothing_lists_every_iot_action_as_false() {
    let exported = export(PermSet::EMPTY);
    assert_eq!(
        without_whitespace(&exported),
        without_whitespace(FULL).replace("true", "false")
    );
    assert_eq!(import(&exported).unwrap(), PermSet::EMPTY);
}

#[test]
fn both_hierarchy_spellings_are_accepted() {
    let canonical = import(r#"{"hierarchy_group":{"list":true,"update":true}}"#).unwrap();
    let document = import(r#"{"heirarchy_group":{"list":true,"update":true}}"#).unwrap();
    let expected = PermSet::of([Permission::HierarchyGroupList, Permission::HierarchyGroupUpdate]);
    assert_eq!(canonical, expected);
    assert_eq!(document, expected);
    // Export keeps the document's spelling.
    let exported = export_value(expected);
    assert!(exported.get("heirarchy_group").is_some());
    assert!(exported.get("hierarchy_group").is_none());
}

#[test]
fn missing_modules_actions_and_false_mean_deny() {
    assert_eq!(import("{}").unwrap(), PermSet::EMPTY);
    assert_eq!(import(r#"{"telemetry":{}}"#).unwrap(), PermSet::EMPTY);
    assert_eq!(import(r#"{"commands":{}}"#).unwrap(), PermSet::EMPTY);
    assert_eq!(import(r#"{"commands":{"rpc":{}}}"#).unwrap(), PermSet::EMPTY);
    assert_eq!(
        import(r#"{"telemetry":{"listen":false}}"#).unwrap(),
        PermSet::EMPTY
    );
    assert_eq!(
        import(r#"{"alerts":{"listen":false,"list":true},"commands":{"rpc":{"call":false}}}"#).unwrap(),
        PermSet::of([Permission::AlertsList])
    );
    // `list` does not bring `listen` with it, nor the other way round.
    let listed = import(r#"{"logical_group":{"list":true}}"#).unwrap();
    assert!(!listed.contains(Permission::LogicalGroupListen));
    let listened = import(r#"{"logical_group":{"listen":true}}"#).unwrap();
    assert!(!listened.contains(Permission::LogicalGroupList));
}

#[test]
fn unknown_module_names_its_path() {
    assert_eq!(error_path(import(r#"{"teleport":{}}"#)), "teleport");
    assert_eq!(
        error_path(import(r#"{"commands":{"teleport":{}}}"#)),
        "commands.teleport"
    );
}

#[test]
fn unknown_action_names_its_path() {
    assert_eq!(
        error_path(import(r#"{"commands":{"rpc":{"fly":true}}}"#)),
        "commands.rpc.fly"
    );
    // An action of the catalog that this module does not have is unknown too.
    assert_eq!(
        error_path(import(r#"{"telemetry":{"call":true}}"#)),
        "telemetry.call"
    );
    // Even when the value would deny.
    assert_eq!(
        error_path(import(r#"{"devices":{"listen":false}}"#)),
        "devices.listen"
    );
}

#[test]
fn non_boolean_values_name_their_path() {
    assert_eq!(error_path(import(r#"{"alerts":{"listen":1}}"#)), "alerts.listen");
    assert_eq!(
        error_path(import(r#"{"telemetry":{"listen":"true"}}"#)),
        "telemetry.listen"
    );
    assert_eq!(
        error_path(import(r#"{"commands":{"queue":{"call":null}}}"#)),
        "commands.queue.call"
    );
    assert_eq!(
        error_path(import(r#"{"heirarchy_group":{"list":[true]}}"#)),
        "heirarchy_group.list"
    );
    // A module or group that is not an object.
    assert_eq!(error_path(import(r#"{"telemetry":true}"#)), "telemetry");
    assert_eq!(error_path(import(r#"{"commands":[]}"#)), "commands");
    // The whole document not being an object, or not JSON at all.
    assert_eq!(error_path(import("[]")), "$");
    assert_eq!(error_path(import("true")), "$");
    assert_eq!(error_path(import("{")), "$");
    assert_eq!(error_path(import("")), "$");
}

#[test]
fn scada_set_exports_after_the_iot_modules_and_imports_back() {
    let scada = PermSet::of([Permission::EventsManage, Permission::EquipmentView]);
    let value = export_value(scada);
    let keys: Vec<&str> = value.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "telemetry",
            "commands",
            "alerts",
            "presence",
            "logical_group",
            "heirarchy_group",
            "devices",
            "equipment",
            "events",
        ]
    );
    assert_eq!(
        value["equipment"],
        serde_json::json!({"view": true, "manage": false})
    );
    assert_eq!(value["events"], serde_json::json!({"view": true, "manage": true}));
    // No IoT permission is granted.
    assert!(!without_whitespace(&value["devices"].to_string()).contains("true"));
    assert_eq!(import(&export(scada)).unwrap(), scada);
    assert_eq!(import_value(&value).unwrap(), scada);
    // The maintenance document's name for equipment is accepted on import.
    assert_eq!(
        import(r#"{"assets":{"view":true},"events":{"manage":true}}"#).unwrap(),
        scada
    );
}

#[test]
fn dotted_or_empty_keys_are_not_modules() {
    for bad in [r#"{"commands.rpc":{"call":true}}"#, r#"{"":{}}"#] {
        let err = steward_model::iot_json::import(bad).unwrap_err();
        assert_eq!(err.code(), "invalid_permission_json", "{bad}");
    }
}
