//! The IoT document's nested permission object, imported and exported exactly (including its
//! spelling `heirarchy_group`; `hierarchy_group` is accepted too). The other catalog modules
//! use the same shape (`{"events": {"view": true, "manage": true}}`), so one object can carry a
//! whole key's permissions.

use serde_json::{Map, Value};

use crate::catalog::{Module, PermSet, Permission, Verb};
use crate::error::ModelError;

fn problem(path: &str, problem: impl Into<String>) -> ModelError {
    ModelError::PermissionJson {
        path: if path.is_empty() {
            "$".to_owned()
        } else {
            path.to_owned()
        },
        problem: problem.into(),
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// Parses a permission object. Missing modules or actions, and `false`, mean deny; an unknown
/// module or action, or a value that is not a boolean, is an error naming its path.
pub fn import(text: &str) -> Result<PermSet, ModelError> {
    let value: Value = serde_json::from_str(text).map_err(|e| problem("", format!("not valid JSON: {e}")))?;
    import_value(&value)
}

pub fn import_value(value: &Value) -> Result<PermSet, ModelError> {
    let mut set = PermSet::EMPTY;
    walk(value, "", &mut set)?;
    Ok(set)
}

fn walk(value: &Value, path: &str, set: &mut PermSet) -> Result<(), ModelError> {
    let Value::Object(map) = value else {
        return Err(problem(path, "expected an object"));
    };
    for (key, value) in map {
        if key.is_empty() || key.contains('.') {
            return Err(problem(&join(path, &format!("{key:?}")), "unknown module"));
        }
        let here = join(path, key);
        let canonical = here.replace("heirarchy_group", "hierarchy_group");
        if let Some(module) = Module::parse(&canonical) {
            read_module(module, value, &here, set)?;
        } else if Module::ALL
            .iter()
            .any(|m| m.name().starts_with(&format!("{canonical}.")))
        {
            walk(value, &here, set)?;
        } else {
            return Err(problem(&here, "unknown module"));
        }
    }
    Ok(())
}

fn read_module(module: Module, value: &Value, path: &str, set: &mut PermSet) -> Result<(), ModelError> {
    let Value::Object(actions) = value else {
        return Err(problem(path, "expected an object of actions"));
    };
    for (action, value) in actions {
        let here = join(path, action);
        let permission = Verb::parse(action)
            .and_then(|verb| Permission::find(module, verb))
            .ok_or_else(|| problem(&here, format!("unknown action for module {}", module.name())))?;
        match value {
            Value::Bool(true) => set.insert(permission),
            Value::Bool(false) => {}
            _ => return Err(problem(&here, "expected true or false")),
        }
    }
    Ok(())
}

/// The modules of the IoT document, in its order.
const IOT_ORDER: [Module; 8] = [
    Module::Telemetry,
    Module::CommandsRpc,
    Module::CommandsQueue,
    Module::Alerts,
    Module::Presence,
    Module::LogicalGroup,
    Module::HierarchyGroup,
    Module::Devices,
];

/// Exports a permission set: every IoT module with every action `true` or `false`, in the IoT
/// document's order and spelling, then any other module the set touches.
pub fn export_value(set: PermSet) -> Value {
    let mut root = Map::new();
    let others = Module::ALL
        .iter()
        .copied()
        .filter(|m| m.info().iot_path.is_none() && m.permissions().any(|p| set.contains(p)));
    for module in IOT_ORDER.into_iter().chain(others) {
        let mut actions = Map::new();
        for p in module.permissions() {
            actions.insert(p.verb().name().to_owned(), Value::Bool(set.contains(p)));
        }
        let default_path = [module.name()];
        let path: &[&str] = module.info().iot_path.unwrap_or(&default_path);
        insert_at(&mut root, path, Value::Object(actions));
    }
    Value::Object(root)
}

fn insert_at(map: &mut Map<String, Value>, path: &[&str], value: Value) {
    match path {
        [] => {}
        [last] => {
            map.insert((*last).to_owned(), value);
        }
        [first, rest @ ..] => {
            let child = map
                .entry((*first).to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(child) = child {
                insert_at(child, rest, value);
            }
        }
    }
}

/// Pretty-printed export.
pub fn export(set: PermSet) -> String {
    // Serializing a `Value` cannot fail (string keys only); fall back to the compact form.
    let value = export_value(set);
    serde_json::to_string_pretty(&value).unwrap_or_else(|_| value.to_string())
}
