//! API keys: rows (never the secret), creation and permission edits.

#![allow(unused_imports)] // each module uses a different part of the model

use serde::{Deserialize, Serialize};
use serde_json::Value;
use steward_model::*;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct KeyRow {
    pub id: i64,
    pub org_id: i64,
    pub name: String,
    /// The visible part: `stw_<prefix>`.
    pub prefix: String,
    pub permissions: PermSet,
    pub scopes: Vec<NodeId>,
    pub enabled: bool,
    pub revoked_at: Option<i64>,
    pub created_by: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub version: i64,
}

/// A key as clients see it: the stored row (prefix, never the secret or its hash) and its
/// permissions in the IoT document's nested JSON as well.
#[derive(Serialize, Debug, Clone, Deserialize)]
pub struct KeyBody {
    #[serde(flatten)]
    pub key: KeyRow,
    pub permissions_json: Value,
}
impl From<KeyRow> for KeyBody {
    fn from(key: KeyRow) -> KeyBody {
        let permissions_json = steward_model::iot_json::export_value(key.permissions);
        KeyBody {
            key,
            permissions_json,
        }
    }
}

/// The creation response: the only time the secret is ever shown.
#[derive(Serialize, Debug, Clone, Deserialize)]
pub struct CreatedKey {
    #[serde(flatten)]
    pub key: KeyBody,
    /// `stw_<prefix>_<random>`; shown once, never stored or logged.
    pub secret: String,
}

#[derive(Deserialize, Debug, Clone, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    pub name: String,
    /// Catalog names (`events.manage`); or
    #[serde(default)]
    pub permissions: Option<Vec<String>>,
    /// the IoT document's nested object. Exactly one of the two.
    #[serde(default)]
    pub permissions_json: Option<Value>,
    /// Hierarchy nodes the key is limited to (their subtrees); empty or absent: the whole org.
    #[serde(default)]
    pub scopes: Vec<NodeId>,
}

#[derive(Deserialize, Debug, Clone, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SetPermissions {
    #[serde(default)]
    pub permissions: Option<Vec<String>>,
    #[serde(default)]
    pub permissions_json: Option<Value>,
    /// Absent: the key keeps its scopes; `[]`: the whole org.
    #[serde(default)]
    pub scopes: Option<Vec<NodeId>>,
}
